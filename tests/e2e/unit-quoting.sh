# Values written into units and configuration files (issue 12, finding 6):
# hostile path-like settings (a blank, %, $, a quote, a backslash) are
# quoted for each format they go into, so systemd, containerd (TOML) and the
# kubelet (YAML) read back exactly the value of config.yml; what no quoting
# can carry (a newline, a relative path, a ';' in an nginx word) is refused
# by `ezk check` at its file:line, exit 2, and by `ezk setup` before it
# touches a host.
#
# One systemd test host; nothing is written on it: the roles of steps 02-05
# run with --check --diff --json, whose events carry every file's whole
# content (tests/compat/ezk_events.py). Each unit is then read with
# systemd's splitting rules (tests/compat/systemd_argv.py), config.toml with
# tomllib, the YAML files with PyYAML.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
PY=/usr/bin/python3
COMPAT=$EZK_SRC/tests/compat

th_start 1 || { fail "a test host starts"; done_testing; exit 1; }
A=${TH_ADDRS[0]}
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cat >"$CD/hosts" <<HOSTS
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=root
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="flannel"
SERVICE_CIDR="198.18.128.0/17"
CLUSTER_CIDR="198.19.0.0/16"
k8s_nodename=''
HOSTS
# the hostile values, as config.yml sets them (in YAML single quotes: each
# character as it is)
cat >"$T/values" <<'VALUES'
bin_dir	/opt/k b/%n$x"q\
ca_dir	/etc/kube ssl%h'
ETCD_DATA_DIR	/var/lib/my etcd$HOME%%
ETCD_WAL_DIR	/var/lib/wal 'x' ${A}
ETCD_CLUSTER_TOKEN	tok en"$%;
KUBELET_ROOT_DIR	/var/lib/kube let$1 \n
CONTAINERD_ROOT_DIR	/var/lib/ctd "q" #x
CONTAINERD_STATE_DIR	/run/ctd %s
CONTAINERD_CONFIG_DIR	/etc/ctd $X\t
SANDBOX_IMAGE	reg.example:5000/pause:3.10"#x'y
VALUES
while IFS=$'\t' read -r k v; do
	sed -i "/^$k:/d" "$CD/config.yml"
	printf "%s: '%s'\n" "$k" "${v//\'/\'\'}" >>"$CD/config.yml"
done <"$T/values"
val() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$T/values"; }
BIN=$(val bin_dir) CA=$(val ca_dir) DATA=$(val ETCD_DATA_DIR) WAL=$(val ETCD_WAL_DIR)
TOKEN=$(val ETCD_CLUSTER_TOKEN) KROOT=$(val KUBELET_ROOT_DIR) CROOT=$(val CONTAINERD_ROOT_DIR)
CSTATE=$(val CONTAINERD_STATE_DIR) CCONF=$(val CONTAINERD_CONFIG_DIR) PAUSE=$(val SANDBOX_IMAGE)
rx() { printf '%s' "$1" | sed 's/[][\.*^$()|+?{}]/\\&/g'; }

run "$EZK" check c
is "$rc" 0 "ezk check accepts values that can be quoted"
[ "$rc" = 0 ] || echo "$err" | head -5 | sed 's/^/# /'
run "$EZK" inventory c --host "$A"
is "$(printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ETCD_DATA_DIR"])')" "$DATA" \
	"the inventory reads ETCD_DATA_DIR back as written"

# step 02 needs its binaries on the deploy node (only compared, never sent)
mkdir -p "$EZK_HOME/bin"
for b in etcd etcdctl; do echo "#!/bin/sh" >"$EZK_HOME/bin/$b"; done
. "$EZK_SRC/tests/harness/events.sh"
digs0=$(th_upper_digest 0)
ev_setup s02 c 02 --check --diff
is "$rc" 0 "setup c 02 --check --diff: exit 0"
[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/s02.tasks" | head -5 | sed 's/^/# /'
# (a step each: steps 04 and 05 both write kube-lb.conf on a host that is
# a master and a node, and --check writes neither)
for s in 03 04 05; do
	ev_setup s$s c $s -t config --check --diff
	is "$rc" 0 "setup c $s -t config --check --diff: exit 0"
	[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/s$s.tasks" | head -5 | sed 's/^/# /'
done
is "$(th_upper_digest 0)" "$digs0" "... nothing was written on the host"
for s in s02 s03 s04 s05; do
	run $PY "$COMPAT/ezk_events.py" "$T/$s.json" "$T/out"
	is "$rc" 0 "$s: the events carry every file's content"
	[ "$rc" = 0 ] || printf '%s\n%s\n' "$out" "$err" | grep -vP '^(file|edit|nodiff)\t' | head -5 | sed 's/^/# /'
done
H=$T/out/$A

# ---- units, read as systemd reads them
argv() { $PY "$COMPAT/systemd_argv.py" "$H/etc/systemd/system/$1"; }
word() { awk -F'\t' -v k="$2" -v i="$3" '$1 == "exec" && $2 == k && $3 == i { print $4 }' <<<"$1"; }
has_word() { W=$3 awk -F'\t' -v k="$2" '$1 == "exec" && $2 == k && $4 == ENVIRON["W"] { f = 1 } END { exit !f }' <<<"$1"; }
setting() { awk -F'\t' -v k="$2" '$1 == "set" && $2 == k { print $3 }' <<<"$1"; }
words_are() { # UNIT KEY WORD... : each word is one argument of KEY in $U
	local u=$1 k=$2 w
	shift 2
	for w in "$@"; do
		if has_word "$U" "$k" "$w"; then
			pass "$u: $k has the argument '$w'"
		else
			fail "$u: $k has the argument '$w'" "$(grep -P "^exec\t$k\t" <<<"$U" | cut -f3- | head -40)"
		fi
	done
}
for u in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy containerd; do
	run argv $u.service
	is "$rc" 0 "$u.service: systemd reads every line of it"
	[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
done
U=$(argv etcd.service)
is "$(word "$U" ExecStart 0)" "$BIN/etcd" "etcd.service: the program is bin_dir's etcd"
is "$(setting "$U" WorkingDirectory)" "$DATA" "etcd.service: WorkingDirectory is ETCD_DATA_DIR"
words_are etcd.service ExecStart "--data-dir=$DATA" "--wal-dir=$WAL" "--initial-cluster-token=$TOKEN" \
	"--cert-file=$CA/etcd.pem" "--trusted-ca-file=$CA/ca.pem"
U=$(argv kube-apiserver.service)
is "$(word "$U" ExecStart 0)" "$BIN/kube-apiserver" "kube-apiserver.service: the program"
words_are kube-apiserver.service ExecStart "--client-ca-file=$CA/ca.pem" "--etcd-keyfile=$CA/kubernetes-key.pem" \
	"--requestheader-allowed-names=aggregator,system:aggregator:kube-apiserver"
U=$(argv kube-controller-manager.service)
is "$(word "$U" ExecStart 0)" "$BIN/kube-controller-manager" "kube-controller-manager.service: the program"
words_are kube-controller-manager.service ExecStart "--root-ca-file=$CA/ca.pem"
U=$(argv kube-scheduler.service)
is "$(word "$U" ExecStart 0)" "$BIN/kube-scheduler" "kube-scheduler.service: the program"
U=$(argv kubelet.service)
is "$(word "$U" ExecStart 0)" "$BIN/kubelet" "kubelet.service: the program"
words_are kubelet.service ExecStart "--root-dir=$KROOT"
U=$(argv kube-proxy.service)
is "$(word "$U" ExecStart 0)" "$BIN/kube-proxy" "kube-proxy.service: the program"
U=$(argv containerd.service)
is "$(word "$U" ExecStart 0)" "$BIN/containerd-bin/containerd" "containerd.service: the program"
words_are containerd.service ExecStart "$CCONF/config.toml"
is "$(setting "$U" Environment)" "PATH=$BIN/containerd-bin:/bin:/sbin:/usr/bin:/usr/sbin" \
	"containerd.service: Environment's PATH"

# ---- containerd's config.toml (TOML), the kubelet's config and crictl's (YAML)
run $PY - "$H$CCONF/config.toml" <<'PY'
import sys, tomllib
t = tomllib.load(open(sys.argv[1], "rb"))
print(t["root"]); print(t["state"]); print(t["grpc"]["address"])
p = t["plugins"]
v3 = p.get("io.containerd.cri.v1.images")
print(v3["pinned_images"]["sandbox"] if v3 else p["io.containerd.grpc.v1.cri"]["sandbox_image"])
print(v3["registry"]["config_path"] if v3 else p["io.containerd.grpc.v1.cri"]["registry"]["config_path"])
PY
is "$rc" 0 "config.toml is TOML"
[ "$rc" = 0 ] || echo "$err" | tail -3 | sed 's/^/# /'
is "$out" "$CROOT
$CSTATE
$CSTATE/containerd.sock
$PAUSE
$CCONF/certs.d" "config.toml: root, state, the socket, the sandbox image and certs.d as config.yml says"
run $PY - "$H/var/lib/kubelet/config.yaml" "$H/etc/crictl.yaml" <<'PY'
import sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
print(k["authentication"]["x509"]["clientCAFile"]); print(k["tlsCertFile"])
print(yaml.safe_load(open(sys.argv[2]))["runtime-endpoint"])
PY
is "$rc" 0 "the kubelet's config.yaml and crictl.yaml are YAML"
[ "$rc" = 0 ] || echo "$err" | tail -3 | sed 's/^/# /'
is "$out" "$CA/ca.pem
$CA/kubelet.pem
unix://$CSTATE/containerd.sock" "config.yaml: clientCAFile and tlsCertFile in ca_dir; crictl.yaml: the socket in CONTAINERD_STATE_DIR"

# ---- what no quoting can carry: refused at its line, before any host
C=$CD/config.yml
cp "$C" "$T/config.saved"
for k in ETCD_DATA_DIR KUBELET_ROOT_DIR CONTAINERD_CONFIG_DIR bin_dir; do
	sed -i "/^$k:/d" "$C"
	printf '%s: "/var/lib/a\\nb"\n' "$k" >>"$C"
	line=$(grep -n "^$k:" "$C" | cut -d: -f1)
	run "$EZK" check c
	is "$rc" 2 "check: a newline in $k is an error"
	like "$err" "clusters/c/config.yml:$line: error: $k '/var/lib/a\\\\nb' cannot be written into .*: it holds a newline" \
		"... naming $k, its file and line and why"
	cp "$T/config.saved" "$C"
done
run "$EZK" check c -e ETCD_DATA_DIR=var/lib/etcd
is "$rc" 2 "check: a relative ETCD_DATA_DIR is an error"
like "$err" "ETCD_DATA_DIR 'var/lib/etcd' cannot be written into the etcd unit: it is not an absolute path" "... saying so"
run "$EZK" check c -e 'SECURE_PORT=64;43'
is "$rc" 2 "check: a SECURE_PORT kube-lb.conf cannot hold is an error"
like "$err" "SECURE_PORT '64;43' cannot be written into kube-lb.conf" "... naming the file"
sed -i "/^ETCD_DATA_DIR:/d" "$C"
printf 'ETCD_DATA_DIR: "/var/lib/a\\nb"\n' >>"$C"
run "$EZK" setup c 02 --check --key "$TH_KEY"
is "$rc" 2 "setup 02 with a newline in ETCD_DATA_DIR: exit 2"
like "$err" "ETCD_DATA_DIR '/var/lib/a\\\\nb' cannot be written into the etcd unit" "... saying why"
unlike "$out$err" "unreachable|cannot connect|ok=" "... before connecting to the host"
done_testing
