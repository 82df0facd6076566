# The lifecycle commands' refusals (add-node, del-master, ..., kcfg-adm):
# each exits 2 with a message that says why, before any host is reached
# (the inventory's only host, 127.0.0.9, is never contacted: reaching it
# would fail with exit 1), and leaves hosts, the history and the cluster's
# folder as they were. e2e/lifecycle runs the commands themselves.
. "$(dirname "$0")/../lib.sh" || exit 1

local_cluster c
CD=$EZK_HOME/clusters/c
sed -i 's/^CLUSTER_NETWORK=.*/CLUSTER_NETWORK="host-gw"/' "$CD/hosts"
g() { git -C "$CD" "$@"; }
state() { (cd "$CD" && find . \( -path ./.git -o -path ./logs -o -path ./.ezk.lock \) -prune -o -print | LC_ALL=C sort | xargs sha256sum 2>/dev/null | sha256sum); }

for c in add-node add-master add-etcd del-node del-master del-etcd upgrade kca-renew kcfg-adm; do
	run "$EZK" help "$c"
	is "$rc" 0 "ezk help $c"
done

# before any setup succeeded: nothing to add to
g add -A >/dev/null 2>&1
g commit -qm "the test's inventory" >/dev/null 2>&1
run "$EZK" add-node c 127.0.0.10
is "$rc" 2 "add-node before any setup succeeded: exit 2"
like "$err" "no setup of cluster c has succeeded yet" "... saying so"

# as if `setup all` had succeeded (what add-node needs: refs/ezk/applied)
g update-ref refs/ezk/applied HEAD
n0=$(g rev-list --count HEAD)
s0=$(state)

run "$EZK" add-node c 127.0.0.9
is "$rc" 2 "add-node of a host already in [kube_node]: exit 2"
like "$err" "127.0.0.9 is in \[kube_node\] already.*nothing was changed" "... saying so"
run "$EZK" del-master c 127.0.0.9
is "$rc" 2 "del-master of the last master: exit 2"
like "$err" "127.0.0.9 is the last master" "... saying so"
run "$EZK" del-etcd c 127.0.0.9
is "$rc" 2 "del-etcd of the last member: exit 2"
like "$err" "the last etcd member" "... saying so"
run "$EZK" del-node c 127.0.0.9
is "$rc" 2 "del-node of a master: exit 2"
like "$err" "'ezk del-master c 127.0.0.9' removes a master" "... pointing at del-master"
run "$EZK" del-node c 127.0.0.11
is "$rc" 2 "del-node of a host that is not a node: exit 2"
run "$EZK" add-node c 127.0.0.10 ansible_ssh_pass=secret
is "$rc" 2 "a password in the command line: exit 2"
unlike "$err$out" "secret" "... and it is not echoed"
run "$EZK" add-node c k8s_nodename=x 127.0.0.10
is "$rc" 2 "a host variable before its host: exit 2"
run "$EZK" add-node c 127.0.0.10 k8s_nodename=-bad
is "$rc" 2 "add-node whose node name is invalid: exit 2"
like "$err" "node name '-bad' of host 127.0.0.10 is invalid" "... the cluster's check says why"
like "$err" "refused.*nothing was changed" "... and that nothing changed"
ls "$CD" | grep -q 'ezk-tmp-add-node' && fail "... its inventory is not left behind" || pass "... its inventory is not left behind"
run "$EZK" add-node c 127.0.0.10 k8s_nodename=host-1 127.0.0.11 k8s_nodename=host-1
is "$rc" 2 "add-node of two hosts with one node name: exit 2"
like "$err" "is also the name of host 127.0.0.10" "... the cluster's check says why"
run "$EZK" setup c 22
is "$rc" 2 "setup refuses add-node's step"
like "$err" "step 22 add-node is run by 'ezk add-node', not by setup" "... saying whose it is"
run "$EZK" setup c all --check -l 127.0.0.9 -T 1
unlike "$err$out" "add-node|del-node|kca-renew" "setup all runs none of the commands' steps"

# kcfg-adm's own refusals
run "$EZK" kcfg-adm c -A
is "$rc" 2 "kcfg-adm -A without a user: exit 2"
run "$EZK" kcfg-adm c -A -u jack -r root
is "$rc" 2 "kcfg-adm -r root: exit 2"
like "$err" "admin or view" "... the roles it knows"
run "$EZK" kcfg-adm c -A -u jack -e soon
is "$rc" 2 "kcfg-adm -e soon: exit 2"
run "$EZK" kcfg-adm c -A -u ../jack
is "$rc" 2 "kcfg-adm -u ../jack: exit 2"
run "$EZK" kcfg-adm c -A -D -u jack
is "$rc" 2 "kcfg-adm -A -D: exit 2"
run "$EZK" kcfg-adm c -D -u nobody-202601010000
is "$rc" 2 "kcfg-adm -D of a user that is not there: exit 2"
run "$EZK" kcfg-adm c -L
is "$rc" 0 "kcfg-adm -L with no user: exit 0"
is "$out" "USER                             ROLE   EXPIRES" "... the header only"

is "$(g rev-list --count HEAD)" "$n0" "no refusal is in the history"
is "$(state)" "$s0" "... and the cluster's folder is as it was"

# an edit no setup applied: applied to some hosts only, it would half-apply
echo "# an edit" >>"$CD/config.yml"
run "$EZK" add-node c 127.0.0.10
is "$rc" 2 "add-node with an edit no setup applied: exit 2"
like "$err" "edits that no setup applied \('ezk diff c'\)" "... saying so"

done_testing
