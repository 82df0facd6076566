# Step 06's network plugins where the render comparisons (e2e/network-render,
# e2e/addons-render: -t config, no host) do not reach, without a cluster:
#  - the nodes' part, flannel/node, kube-router/node, calico/node, on a plain
#    test host: under --check, "would remove" the default bridge config;
#    without the plugin's CNI config, the task fails after its timeout
#    saying why, and the default config stays; with it, the default config
#    goes; a rerun (and --check) changes nothing; -t config leaves the CNI
#    configs alone;
#  - the deploy node's part of flannel, kube-router, calico and step 07's
#    add-ons (plays on localhost), tag apply: the manifest is rendered first,
#    then a missing kubectl, a missing admin kubeconfig, each said; under
#    --check with kubectl there and no cluster, what would be applied.
# A steps.lua of the test's own has only these plays. The addresses are
# 127/8's (the plain host's).
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "$EZK_SRC/tests/lib.sh"
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home

th_start --plain 1 || { fail "a plain test host starts"; done_testing; exit 1; }
. "$EZK_SRC/tests/harness/events.sh"
A=${TH_ADDRS[0]}
hx() { th_exec "$@" 2>&1; }

"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cat >"$CD/hosts" <<EOF
[etcd]
$A
[kube_master]
$A k8s_nodename='node-1'
[kube_node]
[all:vars]
ansible_user=root
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="host-gw"
SERVICE_CIDR="198.18.128.0/17"
CLUSTER_CIDR="198.19.0.0/16"
bin_dir="/opt/kube/bin"
ca_dir="/etc/kubernetes/ssl"
EOF
mkdir -p "$T/roles"
cat >"$T/roles/steps.lua" <<'EOF'
return {
  { id = "01", alias = "deploy", plays = { { hosts = "localhost", roles = { "flannel", "calico", "kube-router" } } } },
  { id = "02", alias = "nodes", plays = {
    { hosts = "kube_master:kube_node", roles = { "flannel/node", "calico/node", "kube-router/node" } } } },
  { id = "07", alias = "addons", plays = { { hosts = "localhost", roles = { "cluster-addon" } } } },
}
EOF
export EZK_ROLES=$T/roles:$EZK_SRC/roles
# calico/node copies the deploy node's calico certificate (made by the
# calico role from the cluster's CA): files of the test's own here
mkdir -p "$CD/ssl"
for f in ca calico calico-key; do echo "test $f" >"$CD/ssl/$f.pem"; done
chmod 600 "$CD/ssl/calico-key.pem"

DEF=/etc/cni/net.d/10-default.conf
there() { hx 0 sh -c "[ -e $1 ] && echo yes || echo no"; }
hx 0 sh -c "mkdir -p /etc/cni/net.d"

# ---- the nodes: NAME CONF TIMEOUT_VAR HINT (what the failure says)
node_case() {
	local p=$1 conf=$2 tv=$3 why=$4 w="$1's CNI config on node-1"
	hx 0 sh -c "rm -f /etc/cni/net.d/*; echo '{\"type\": \"bridge\"}' >$DEF"

	ev_setup "$p-check" c nodes -t apply --check -e CLUSTER_NETWORK=$p
	is "$rc" 0 "$p: nodes -t apply --check: exit 0"
	is "$(st "$A" "$w")" skipped "$p: --check: the wait is skipped (no CNI config yet)"
	is "$(st "$A" "remove $DEF")" changed "$p: --check: the default config would go"
	is "$(msg "$A" "remove $DEF")" "would remove it once $conf is in place" "... once the plugin's is in place"
	is "$(there $DEF)" yes "$p: --check: the default config is still there"

	ev_setup "$p-late" c nodes -t apply -e CLUSTER_NETWORK=$p -e "$tv=1"
	is "$rc" 1 "$p: no CNI config within $tv: exit 1"
	is "$(st "$A" "$w")" failed "$p: ... the wait failed"
	is "$(msg "$A" fail)" "$why" "$p: ... and the host's failure says why"
	is "$(there $DEF)" yes "$p: ... the default config stays"

	hx 0 sh -c "echo '{}' >$conf"
	ev_setup "$p-up" c nodes -t apply -e CLUSTER_NETWORK=$p
	is "$rc" 0 "$p: with $conf in place: exit 0"
	is "$(st "$A" "$w")" ok "$p: ... the wait is ok"
	is "$(st "$A" "file $DEF")" changed "$p: ... the default config removed"
	is "$(there $DEF)" no "$p: ... it is gone"
	is "$(there $conf)" yes "$p: ... the plugin's stays"
	ev_setup "$p-again" c nodes -t apply -e CLUSTER_NETWORK=$p
	is "$rc:$(ev_changed "$p-again" "$A")" 0:0 "$p: a rerun changes nothing"
	ev_setup "$p-again-check" c nodes -t apply --check -e CLUSTER_NETWORK=$p
	is "$rc:$(ev_changed "$p-again-check" "$A")" 0:0 "$p: ... nor would --check"
	hx 0 sh -c "echo '{\"type\": \"bridge\"}' >$DEF"
	ev_setup "$p-config" c nodes -t config -e CLUSTER_NETWORK=$p
	is "$rc" 0 "$p: -t config: exit 0"
	is "$(st "$A" "$w")$(st "$A" "file $DEF")" "" "$p: -t config neither waits nor removes"
	is "$(there $DEF)" yes "$p: ... the default config stays"
}
node_case flannel /etc/cni/net.d/10-flannel.conflist FLANNEL_READY_TIMEOUT \
	"flannel's pod did not write /etc/cni/net.d/10-flannel.conflist (kubectl -n kube-system get pod -l app=flannel -o wide; is easzlab.io.local:5000/flannel/flannel:v0.27.4 in the offline bundle?)"
node_case kube-router /etc/cni/net.d/10-kuberouter.conflist KUBE_ROUTER_READY_TIMEOUT \
	"kube-router's pod did not write /etc/cni/net.d/10-kuberouter.conflist (kubectl -n kube-system get pod -l k8s-app=kube-router -o wide; is easzlab.io.local:5000/cloudnativelabs/kube-router:v2.6.1 in the offline bundle?)"
node_case calico /etc/cni/net.d/10-calico.conflist CALICO_READY_TIMEOUT \
	"calico-node did not write /etc/cni/net.d/10-calico.conflist (kubectl -n kube-system get pod -l k8s-app=calico-node -o wide; are easzlab.io.local:5000/easzlab/{cni,node}:v3.32.1 in the offline bundle? does the node reach etcd: 'https://$A:2379'?)"
# (calico/node's own files, tags certs and config)
like "$(hx 0 cat /etc/calico/calicoctl.cfg)" "etcdEndpoints: \"https://$A:2379\"" "calico: calicoctl.cfg names the etcd member"
is "$(hx 0 stat -c %a /etc/calico/ssl/calico-key.pem)" 600 "calico: the key on the node is 0600"

# ---- the deploy node, tag apply
KUBECTL=$EZK_HOME/bin/kubectl
KCFG=$CD/kubectl.kubeconfig
for p in flannel kube-router; do
	rm -rf "$CD/yml"
	ev_setup "$p-nokubectl" c deploy -t apply -e CLUSTER_NETWORK=$p
	is "$rc" 1 "$p: apply without \$EZK_HOME/bin/kubectl: exit 1"
	is "$(st localhost "render $p")" changed "$p: ... the manifest rendered first"
	[ -s "$CD/yml/$p.yaml" ] && pass "$p: ... into yml/$p.yaml" || fail "$p: ... into yml/$p.yaml"
	is "$(msg localhost fail)" "$KUBECTL is missing: put the Kubernetes binaries in $EZK_HOME/bin (scripts/bin-from-debian.sh, or an offline bundle)" \
		"$p: ... then says kubectl is missing"
done
ev_setup addons-nokubectl c addons -t apply
is "$rc:$(msg localhost fail)" "1:$KUBECTL is missing: put the Kubernetes binaries in $EZK_HOME/bin (scripts/bin-from-debian.sh, or an offline bundle)" \
	"add-ons: apply without kubectl: exit 1, said"
is "$(st localhost "render coredns")" changed "add-ons: ... coredns rendered first"

cached=$("$EZK_SRC/scripts/build-kubernetes.sh" --cached 2>/dev/null)
if [ -z "$cached" ] || [ ! -x "$cached/kubectl" ]; then
	skip "kubectl is not built on this machine (scripts/build-kubernetes.sh): the rest needs it"
	done_testing
	exit
fi
mkdir -p "$EZK_HOME/bin"
cp "$cached/kubectl" "$KUBECTL"
for p in flannel kube-router; do
	ev_setup "$p-nokcfg" c deploy -t apply -e CLUSTER_NETWORK=$p
	is "$rc:$(msg localhost fail)" "1:$KCFG is missing: run step 01 first ('ezk setup <cluster> 01')" \
		"$p: apply without the admin kubeconfig: exit 1, said"
	ev_setup "$p-apply-check" c deploy -t apply --check -e CLUSTER_NETWORK=$p
	is "$rc" 0 "$p: apply --check with no cluster: exit 0"
	is "$(st localhost "API reachable from the deploy node")" skipped "$p: ... the API is not waited for"
	is "$(st localhost "kubectl apply $p")" changed "$p: ... the manifest would be applied"
done
ev_setup addons-nokcfg c addons -t apply
is "$rc:$(msg localhost fail)" "1:$KCFG is missing: run step 01 first ('ezk setup <cluster> 01')" \
	"add-ons: apply without the admin kubeconfig: exit 1, said"
# (the deploy node's calico certificate: none yet, as on a new cluster)
rm -rf "$CD/ssl"
ev_setup calico-apply-check c deploy -t apply --check -e CLUSTER_NETWORK=calico
is "$rc" 0 "calico: apply --check with no cluster: exit 0"
is "$(st localhost "render calico")" changed "calico: ... the manifest would be rendered"
is "$(st localhost "API reachable from the deploy node")" skipped "calico: ... the API is not waited for"
is "$(st localhost "kubectl apply calico-etcd-secrets")" changed "calico: ... its etcd Secret would be applied"
like "$(msg localhost "kubectl apply calico-etcd-secrets")" "would apply \\($CD/ssl/ca.pem made by this run\\)" "... (the certificate made by this run)"
is "$(st localhost "kubectl apply calico")" changed "calico: ... the manifest would be applied"
rm -rf "$CD/yml"
ev_setup addons-apply-check c addons -t apply --check
is "$rc" 0 "add-ons: apply --check with no cluster: exit 0"
is "$(ev_titles addons-apply-check localhost changed)" \
	"kubectl apply coredns,kubectl apply metrics-server,kubectl apply nodelocaldns,render coredns,render metrics-server,render nodelocaldns" \
	"add-ons: ... each one switched on would be rendered and applied"

done_testing
