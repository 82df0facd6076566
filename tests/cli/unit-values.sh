# Values written into systemd units (issue 12, finding 6): a value systemd
# would split at a blank or expand (%, $) is refused by `ezk check`, and by
# `ezk setup` before it touches a host, naming the file and line. No test
# host is needed: the hosts are never contacted.
. "$(dirname "$0")/../lib.sh"
export HOME=$T/user
mkdir -p "$HOME"
local_cluster c
C=$EZK_HOME/clusters/c/config.yml
sed -i 's|^ETCD_DATA_DIR: .*|ETCD_DATA_DIR: "/var/lib/my etcd"|' "$C"
line=$(grep -n '^ETCD_DATA_DIR:' "$C" | cut -d: -f1)
run "$EZK" check c
is "$rc" 2 "check: an ETCD_DATA_DIR with a space is an error"
like "$err" "clusters/c/config.yml:$line: error: ETCD_DATA_DIR '/var/lib/my etcd' cannot be written into the etcd unit as is" "... at its line"
run "$EZK" setup c 02
is "$rc" 2 "setup 02: exit 2"
like "$err" "ETCD_DATA_DIR '/var/lib/my etcd' cannot be written into the etcd unit" "... saying why"
unlike "$out$err" "unreachable|cannot connect" "... before connecting to a host"
sed -i 's|^ETCD_DATA_DIR: .*|ETCD_DATA_DIR: "/var/lib/etcd"|' "$C"
for bad in 'etcd%n' 'a$b' 'x y'; do
	run "$EZK" check c -e "ETCD_CLUSTER_TOKEN=$bad"
	is "$rc" 2 "check: ETCD_CLUSTER_TOKEN '$bad' is an error"
done
run "$EZK" check c -e 'bin_dir=/opt/$HOME/bin'
is "$rc" 2 "check: a bin_dir with \$ is an error"
run "$EZK" check c -e 'ETCD_WAL_DIR=relative/wal'
is "$rc" 2 "check: a relative ETCD_WAL_DIR is an error"
run "$EZK" check c
is "$rc" 0 "the template's values pass"
done_testing
