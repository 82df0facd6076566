# Values written into systemd units (issue 12, finding 6): a value the unit
# can hold quoted (a blank, %, $) is accepted, and e2e/unit-quoting proves
# systemd reads it back; one no quoting can carry (a newline, a relative
# path) is refused by `ezk check`, and by `ezk setup` before it touches a
# host, naming the file and line. No test host is needed: the hosts are
# never contacted.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
local_cluster c
C=$EZK_HOME/clusters/c/config.yml
sed -i 's|^ETCD_DATA_DIR: .*|ETCD_DATA_DIR: "/var/lib/my etcd"|' "$C"
run "$EZK" check c
is "$rc" 0 "check: an ETCD_DATA_DIR with a space is quoted in the unit, not refused"
sed -i 's|^ETCD_DATA_DIR: .*|ETCD_DATA_DIR: "/var/lib/my\\netcd"|' "$C"
line=$(grep -n '^ETCD_DATA_DIR:' "$C" | cut -d: -f1)
run "$EZK" check c
is "$rc" 2 "check: an ETCD_DATA_DIR with a newline is an error"
like "$err" "clusters/c/config.yml:$line: error: ETCD_DATA_DIR '/var/lib/my\\\\netcd' cannot be written into the etcd unit: it holds a newline" "... at its line"
run "$EZK" setup c 02
is "$rc" 2 "setup 02: exit 2"
like "$err" "ETCD_DATA_DIR '/var/lib/my\\\\netcd' cannot be written into the etcd unit" "... saying why"
unlike "$out$err" "unreachable|cannot connect" "... before connecting to a host"
sed -i 's|^ETCD_DATA_DIR: .*|ETCD_DATA_DIR: "/var/lib/etcd"|' "$C"
for good in 'etcd%n' 'a$b' 'x y'; do
	run "$EZK" check c -e "{\"ETCD_CLUSTER_TOKEN\": \"$good\"}"
	is "$rc" 0 "check: ETCD_CLUSTER_TOKEN '$good' is quoted, not refused"
done
run "$EZK" check c -e 'bin_dir=/opt/$HOME/bin'
is "$rc" 0 "check: a bin_dir with \$ is quoted, not refused"
run "$EZK" check c -e 'ETCD_WAL_DIR=relative/wal'
is "$rc" 2 "check: a relative ETCD_WAL_DIR is an error"
like "$err" "ETCD_WAL_DIR 'relative/wal' cannot be written into the etcd unit: it is not an absolute path" "... saying why"
run "$EZK" check c -e 'KUBELET_ROOT_DIR=kubelet'
is "$rc" 2 "check: a relative KUBELET_ROOT_DIR is an error"
run "$EZK" check c -e '{"SECURE_PORT": "6443 x"}'
is "$rc" 2 "check: a SECURE_PORT with a blank is an error (nginx would split it)"
like "$err" "SECURE_PORT '6443 x' cannot be written into kube-lb.conf: it holds a blank" "... naming kube-lb.conf"
run "$EZK" check c -e '{"corednsVer": "1.12 x"}'
is "$rc" 2 "check: an add-on version with a blank is an error (the manifests' words)"
like "$err" "corednsVer '1.12 x' cannot be written into the add-ons' manifests: it holds a blank" "... saying so"
run "$EZK" check c
is "$rc" 0 "the template's values pass"
done_testing
