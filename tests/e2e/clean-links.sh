# ezk destroy (step 99 clean) removes the interfaces the pod networks ezk
# installs leave on a node (roles/clean/main.lua's LINKS), without a
# cluster: two --net test hosts (a network namespace each), on the first the
# links made by hand with their plugins' names (the kinds this kernel has:
# bridge, vxlan, veth; a bridge stands in for the plugins' dummies, ipip and
# ip6tnl devices, whose kinds it lacks), and links that are not a plugin's.
# Proves: --check removes nothing and says it would; destroy deletes every
# plugin link, leaves the others (a tun0 that is no ipip tunnel, a bridge of
# another name, eth0); on the host without such links the task is one
# listing that changes nothing; a second destroy changes nothing; what
# destroy says it leaves no longer names interfaces. Addresses: 198.18/15's.
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
. "$EZK_SRC/tests/harness/cluster.sh"

th_start --net 2 || { fail "2 --net test hosts start"; done_testing; exit 1; }
. "$EZK_SRC/tests/harness/events.sh"
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
hx() { th_exec "$@" 2>&1; }
tc_cluster c <<EOF
[etcd]
@0
[kube_master]
@0 k8s_nodename='master-01'
[kube_node]
@1 k8s_nodename='worker-01'
EOF

# ---- the links, on the first host
PLUGIN="mynet0 cni0 kube-bridge flannel.1 vxlan.calico cali0123456789a cilium_host cilium_net cilium_vxlan kube-ipvs0 nodelocaldns kube-dummy-if tunl0"
KEEP="tun0 tun-1a2b3c4d5e6 br-keep calico eth0 lo"
made=$(hx 0 sh -ec '
	for b in mynet0 cni0 kube-bridge kube-ipvs0 nodelocaldns kube-dummy-if tunl0 tun0 tun-1a2b3c4d5e6 br-keep calico; do
		ip link add "$b" type bridge
	done
	ip link add flannel.1 type vxlan id 1 dev eth0 dstport 8472
	ip link add vxlan.calico type vxlan id 4096 dev eth0 dstport 4789
	ip link add cilium_vxlan type vxlan id 2 dev eth0 dstport 8473
	ip link add cali0123456789a type veth peer name podend0
	ip link add cilium_host type veth peer name cilium_net
	for l in cni0 flannel.1 tunl0 cilium_host; do ip link set "$l" up; done
	ip addr add 198.19.7.1/24 dev cni0
	echo made')
is "$made" made "the links are made on $A (bridges, vxlan, veth pairs)"
links() { hx "$1" ip -o link show | awk -F': ' '{ n = $2; sub(/@.*/, "", n); print n }' | sort | paste -sd' '; }
before=$(links 0)
before_b=$(links 1)
has_all() { local l; for l in $2; do case " $1 " in *" $l "*) ;; *) echo "$l missing"; return; esac; done; echo all; }
has_none() { local l; for l in $2; do case " $1 " in *" $l "*) echo "$l there"; return; esac; done; echo none; }
is "$(has_all "$before" "$PLUGIN $KEEP podend0")" all "... all of them are there"

T_LINKS="the pod network's interfaces"
ev_op dcheck destroy c --check
is "$rc" 0 "destroy --check: exit 0"
is "$(st "$A" "$T_LINKS")" changed "... on $A: would delete the plugins' links"
is "$(st "$B" "$T_LINKS")" ok "... on $B (none): nothing to do"
is "$(links 0)" "$before" "... and deletes nothing"

ev_op destroy destroy c --yes
is "$rc" 0 "destroy --yes: exit 0"
[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/destroy.tasks" | head -10 | sed 's/^/# /'
is "$(st "$A" "$T_LINKS")" changed "... on $A: the plugins' links deleted"
after=$(links 0)
is "$(has_none "$after" "$PLUGIN podend0")" none "... none of them is left (a veth's peer goes with it)"
is "$(has_all "$after" "$KEEP")" all "... the others stay (a tun0 and a tun-<hex> that are no ipip tunnel, other bridges, eth0)"
like "$(hx 0 ip -o link show eth0)" "state UP" "... eth0 is up"
is "$(st "$B" "$T_LINKS")" ok "... on $B: one listing, nothing deleted"
is "$(msg "$B" "$T_LINKS")" "unless succeeded" "... (the listing found none)"
is "$(links 1)" "$before_b" "... its links are as they were"
unlike "$(msg localhost warning)" "interfaces and routes" "destroy no longer says the interfaces stay"
like "$tasks" "reboot the hosts: .*the pod networks' interfaces are gone" "... it says they are gone"

ev_op destroy2 destroy c --yes
is "$rc" 0 "destroy again: exit 0"
for h in $A $B; do is "$(ev_changed destroy2 $h)" 0 "... changed=0 on $h"; done
is "$(st "$A" "$T_LINKS")" ok "... the links' task is ok on $A"
is "$(links 0)" "$after" "... and the links are as the first destroy left them"

done_testing
