# Shared by the CLI tests: TAP output and a private workspace per test file.
# Each test file sources this (`. "${EZK_SRC:?}/tests/lib.sh" || exit 1`:
# a test run by hand without tests/run.sh's variables stops there, before
# "$T/..." could name a path under /, which is every test host's lower
# layer), calls checks, and ends with `done_testing`.
set -u
: "${EZK_BIN:?}" "${EZK_SRC:?}"
EZK=$EZK_BIN
T=$(mktemp -d /tmp/ezk-test.XXXXXX) && [ -d "$T" ] || { echo "tests/lib.sh: no private folder" >&2; exit 1; }
export EZK_HOME=$T/home
trap 'rm -rf "$T"' EXIT
_n=0
_failed=0

pass() { _n=$((_n + 1)); echo "ok $_n - $1"; }
fail() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'; return 0; }
skip() { _n=$((_n + 1)); echo "ok $_n - # SKIP $1"; }

# run CMD...: runs it, keeping $out (stdout), $err (stderr) and $rc.
run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}

# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  $1
want: $2"; fi
}

# like TEXT REGEX NAME (extended regex; the text is one or more lines)
like() {
	if printf '%s\n' "$1" | grep -qE -- "$2"; then pass "$3"; else fail "$3" "text: $1
does not match: $2"; fi
}

unlike() {
	if printf '%s' "$1" | grep -qE -- "$2"; then fail "$3" "text: $1
matches: $2"; else pass "$3"; fi
}

# A crash (signal, sanitizer report) is never an acceptable outcome.
no_crash() {
	if [ "$rc" -ge 128 ] || printf '%s' "$err" | grep -qE 'Sanitizer|runtime error|Segmentation'; then
		fail "$1: no crash" "exit $rc: $err"
	else
		pass "$1: no crash"
	fi
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

PY=/usr/bin/python3

# local_cluster NAME: `ezk new NAME` with a hosts file of one host, 127.0.0.9
# in etcd, kube_master and kube_node, never contacted (for plays on
# localhost), and the [all:vars] `ezk check` wants.
local_cluster() {
	"$EZK" new "$1" >/dev/null || fail "ezk new $1"
	cat >"$EZK_HOME/clusters/$1/hosts" <<'EOF'
[etcd]
127.0.0.9
[kube_master]
127.0.0.9
[kube_node]
127.0.0.9
[all:vars]
ansible_user=root
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="calico"
SERVICE_CIDR="198.18.128.0/17"
CLUSTER_CIDR="198.19.0.0/16"
k8s_nodename=''
EOF
}
