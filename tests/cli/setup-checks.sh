# setup checks before it connects (issue 12, finding 9): a node name that
# `ezk check` rejects stops `ezk setup 01` before any task runs, and the
# check covers every host whose hostname step 01 sets, etcd-only ones too.
# No test host is needed: the hosts are never contacted.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
local_cluster c
D=$EZK_HOME/clusters/c
sed -i "s/^127.0.0.9$/127.0.0.9 k8s_nodename='node-01.'/" "$D/hosts"
line=$(grep -n "node-01\\." "$D/hosts" | tail -1 | cut -d: -f1) # (the last one set wins)
run "$EZK" check c
is "$rc" 2 "check: an invalid node name is an error"
run "$EZK" setup c 01
is "$rc" 2 "setup 01 with that node name: exit 2"
like "$err" "clusters/c/hosts:$line: error: node name 'node-01.' of host 127.0.0.9 is invalid" "... naming the file and line"
[ ! -e "$D/ssl" ] && pass "... before any task ran (no certificate made)" || fail "... before any task ran (no certificate made)"
unlike "$out$err" "unreachable|cannot connect" "... and before connecting to a host"

# an etcd-only host's name is checked too (step 01 sets its hostname)
local_cluster e
E=$EZK_HOME/clusters/e
sed -i "s/^\[etcd\]$/[etcd]\n127.0.0.8 k8s_nodename='etcd-1.'/" "$E/hosts"
run "$EZK" check e
is "$rc" 2 "check: an etcd-only host with an invalid node name is an error"
like "$err" "clusters/e/hosts:2: error: node name 'etcd-1.' of host 127.0.0.8 is invalid" "... naming its line"
run "$EZK" setup e 01
is "$rc" 2 "setup 01: exit 2 for it too"
[ ! -e "$E/ssl" ] && pass "... before any task ran" || fail "... before any task ran"
# an etcd member that is also a node keeps its one name: not a duplicate
sed -i "s/^127.0.0.8 k8s_nodename='etcd-1.'$/127.0.0.9/" "$E/hosts"
run "$EZK" check e
is "$rc" 0 "a host in etcd and the node groups: one name, no error"
done_testing
