# Step 06's network plugins where the render comparisons (e2e/network-render,
# e2e/addons-render: -t config, no host) do not reach, without a cluster:
#  - the nodes' part, flannel/node, kube-router/node, calico/node (and
#    kube-ovn/node and cilium/node, which wait for their plugin's pod
#    Running first), on a plain
#    test host: under --check, "would remove" the default bridge config;
#    without the plugin's CNI config, the task fails after its timeout
#    saying why, and the default config stays; with it, the default config
#    goes; a rerun (and --check) changes nothing; -t config leaves the CNI
#    configs alone;
#  - the deploy node's part of flannel, kube-router, calico, kube-ovn (its
#    install.sh filled in), cilium (its values; helm and the chart needed,
#    when helm would run: it is not on this machine, so it never runs here)
#    and step 07's
#    add-ons (plays on localhost), tag apply: the manifest is rendered first,
#    then a missing kubectl, a missing admin kubeconfig, each said; under
#    --check with kubectl there and no cluster, what would be applied.
# A steps.lua of the test's own has only these plays. The addresses are
# 127/8's (the plain host's).
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
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
  { id = "01", alias = "deploy", plays = {
    { hosts = "localhost", roles = { "flannel", "calico", "kube-router", "cilium", "kube-ovn" } } } },
  { id = "02", alias = "nodes", plays = {
    { hosts = "kube_master:kube_node",
      roles = { "flannel/node", "calico/node", "kube-router/node", "cilium/node", "kube-ovn/node" } } } },
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
# kube-ovn/node: kube-ovn-cni Running on the node first (kubectl on the
# node: one of the test's own that says what it is told), then the same
# takeover of its CNI config
kovn_node() { # PHASE: what the test's kubectl says
	hx 0 sh -c "mkdir -p /opt/kube/bin && printf '#!/bin/sh\\necho %s\\n' '$1' >/opt/kube/bin/kubectl && chmod 755 /opt/kube/bin/kubectl"
}
kovn_node Pending
hx 0 sh -c "rm -f /etc/cni/net.d/*; echo '{\"type\": \"bridge\"}' >$DEF"
ev_setup kube-ovn-check c nodes -t apply --check -e CLUSTER_NETWORK=kube-ovn
is "$rc" 0 "kube-ovn: nodes -t apply --check: exit 0"
is "$(st "$A" "kube-ovn-cni Running on node-1")" skipped "kube-ovn: --check: the wait for kube-ovn-cni is skipped"
is "$(st "$A" "remove $DEF")" changed "kube-ovn: --check: the default config would go"
ev_setup kube-ovn-pending c nodes -t apply -e CLUSTER_NETWORK=kube-ovn -e KUBE_OVN_READY_TIMEOUT=1
is "$rc" 1 "kube-ovn: kube-ovn-cni not Running within KUBE_OVN_READY_TIMEOUT: exit 1"
like "$(msg "$A" fail)" "^kube-ovn-cni is not Running on node-1 \(kubectl -n kube-system get pod -l app=kube-ovn-cni -o wide; the install's log is in $CD/logs/kube-ovn-install-\*\.log; is easzlab\.io\.local:5000/kubeovn/kube-ovn:v1\.11\.5 in the offline bundle\?\)$" \
	"kube-ovn: ... and the host's failure says why"
is "$(there $DEF)" yes "kube-ovn: ... the default config stays"
kovn_node Running
ev_setup kube-ovn-noconf c nodes -t apply -e CLUSTER_NETWORK=kube-ovn -e KUBE_OVN_READY_TIMEOUT=1
is "$rc:$(st "$A" "kube-ovn-cni Running on node-1")" 1:ok "kube-ovn: Running, but no CNI config: exit 1"
like "$(msg "$A" fail)" "^kube-ovn-cni's pod did not write /etc/cni/net.d/01-kube-ovn.conflist " "kube-ovn: ... saying which"
hx 0 sh -c "echo '{}' >/etc/cni/net.d/01-kube-ovn.conflist"
ev_setup kube-ovn-up c nodes -t apply -e CLUSTER_NETWORK=kube-ovn
is "$rc:$(st "$A" "file $DEF")" 0:changed "kube-ovn: Running, its config in place: the default config removed"
is "$(there $DEF)" no "kube-ovn: ... it is gone"
ev_setup kube-ovn-again c nodes -t apply -e CLUSTER_NETWORK=kube-ovn
is "$rc:$(ev_changed kube-ovn-again "$A")" 0:0 "kube-ovn: a rerun changes nothing"
hx 0 sh -c "rm -f /opt/kube/bin/kubectl"

# cilium/node: the same, with cilium's agent pod and 05-cilium.conflist;
# the cilium CLI copied from $EZK_HOME/bin when there, warned of when not
kovn_node Pending
hx 0 sh -c "rm -f /etc/cni/net.d/* /opt/kube/bin/cilium; echo '{\"type\": \"bridge\"}' >$DEF"
ev_setup cilium-check c nodes -t apply --check -e CLUSTER_NETWORK=cilium
is "$rc" 0 "cilium: nodes -t apply --check: exit 0"
is "$(st "$A" "cilium Running on node-1")" skipped "cilium: --check: the wait for its pod is skipped"
is "$(st "$A" "remove $DEF")" changed "cilium: --check: the default config would go"
is "$(msg "$A" "remove $DEF")" "would remove it once /etc/cni/net.d/05-cilium.conflist is in place" \
	"cilium: ... once cilium's is in place"
like "$(msg "$A" "warning")" "$EZK_HOME/bin/cilium is missing: no cilium CLI on the nodes" "cilium: no CLI to copy: warned"
ev_setup cilium-pending c nodes -t apply -e CLUSTER_NETWORK=cilium -e CILIUM_READY_TIMEOUT=1
is "$rc:$(st "$A" "cilium Running on node-1")" 1:failed "cilium: its pod not Running within CILIUM_READY_TIMEOUT: exit 1"
like "$(msg "$A" fail)" "^cilium is not Running on node-1 \(kubectl -n kube-system get pod -l k8s-app=cilium -o wide; helm's log is in $CD/logs/cilium-helm-\*\.log; is easzlab\.io\.local:5000/cilium/cilium:v1\.18\.2 in the offline bundle\?\)$" \
	"cilium: ... and the host's failure says why"
is "$(there $DEF)" yes "cilium: ... the default config stays"
kovn_node Running
ev_setup cilium-noconf c nodes -t apply -e CLUSTER_NETWORK=cilium -e CILIUM_READY_TIMEOUT=1
is "$rc:$(st "$A" "cilium Running on node-1")" 1:ok "cilium: Running, but no CNI config: exit 1"
like "$(msg "$A" fail)" "^cilium's agent did not write /etc/cni/net.d/05-cilium.conflist " "cilium: ... saying which"
is "$(there $DEF)" yes "cilium: ... the default config stays"
hx 0 sh -c "echo '{}' >/etc/cni/net.d/05-cilium.conflist"
mkdir -p "$EZK_HOME/bin"
printf '#!/bin/sh\necho cilium-cli\n' >"$EZK_HOME/bin/cilium"
chmod 755 "$EZK_HOME/bin/cilium"
ev_setup cilium-up c nodes -t apply -e CLUSTER_NETWORK=cilium
is "$rc:$(st "$A" "file $DEF")" 0:changed "cilium: Running, its config in place: the default config removed"
is "$(there $DEF)" no "cilium: ... it is gone"
is "$(hx 0 /opt/kube/bin/cilium)" cilium-cli "cilium: ... the cilium CLI in bin_dir"
ev_setup cilium-again c nodes -t apply -e CLUSTER_NETWORK=cilium
is "$rc:$(ev_changed cilium-again "$A")" 0:0 "cilium: a rerun changes nothing"
ev_setup cilium-again-check c nodes -t apply --check -e CLUSTER_NETWORK=cilium
is "$rc:$(ev_changed cilium-again-check "$A")" 0:0 "cilium: ... nor would --check"
rm -f "$EZK_HOME/bin/cilium"
hx 0 sh -c "rm -f /opt/kube/bin/kubectl /opt/kube/bin/cilium"

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
# kube-ovn: its install.sh filled in first (one of the test's own with
# upstream's lines, where `ezk download` puts it), then kubectl needed
mkdir -p "$EZK_HOME/bin/kube-ovn"
cat >"$EZK_HOME/bin/kube-ovn/install.sh" <<'SH'
#!/usr/bin/env bash
ENABLE_LB=${ENABLE_LB:-true}
ENABLE_NP=${ENABLE_NP:-true}
ENABLE_EIP_SNAT=${ENABLE_EIP_SNAT:-true}
REGISTRY="kubeovn"
VERSION="v1.11.5"
POD_CIDR="10.16.0.0/16"                    # Do NOT overlap with NODE/SVC/JOIN CIDR
POD_GATEWAY="10.16.0.1"
SVC_CIDR="10.96.0.0/12"                    # Do NOT overlap with NODE/POD/JOIN CIDR
LABEL="node-role.kubernetes.io/control-plane"     # The node label to deploy OVN DB
cat <<YAML
            - mountPath: /var/run/containerd
            path: /var/run/containerd
YAML
SH
rm -rf "$CD/yml"
ev_setup kube-ovn-nokubectl c deploy -t apply -e CLUSTER_NETWORK=kube-ovn
is "$rc" 1 "kube-ovn: apply without \$EZK_HOME/bin/kubectl: exit 1"
is "$(st localhost "render install.sh")" changed "kube-ovn: ... install.sh filled in first"
is "$(grep -E '^(ENABLE_LB|ENABLE_NP|ENABLE_EIP_SNAT|REGISTRY|POD_CIDR|POD_GATEWAY|SVC_CIDR|LABEL)=|/var/' "$CD/yml/install.sh" 2>&1)" \
	'ENABLE_LB=${ENABLE_LB:-false}
ENABLE_NP=${ENABLE_NP:-false}
ENABLE_EIP_SNAT=${ENABLE_EIP_SNAT:-false}
REGISTRY="easzlab.io.local:5000/kubeovn"
POD_CIDR="198.19.0.0/16"                    # Do NOT overlap with NODE/SVC/JOIN CIDR
POD_GATEWAY="198.19.0.1"
SVC_CIDR="198.18.128.0/17"                    # Do NOT overlap with NODE/POD/JOIN CIDR
LABEL="kubernetes.io/role=master"     # The node label to deploy OVN DB
            - mountPath: /var/run/containerd
            path: /var/run/containerd' "kube-ovn: ... into yml/install.sh, the rest of each line kept"
is "$(stat -c %a "$CD/yml/install.sh")" 755 "kube-ovn: ... mode 0755"
is "$(msg localhost fail)" "$KUBECTL is missing: put the Kubernetes binaries in $EZK_HOME/bin (scripts/bin-from-debian.sh, or an offline bundle)" \
	"kube-ovn: ... then says kubectl is missing"
ev_setup addons-nokubectl c addons -t apply
is "$rc:$(msg localhost fail)" "1:$KUBECTL is missing: put the Kubernetes binaries in $EZK_HOME/bin (scripts/bin-from-debian.sh, or an offline bundle)" \
	"add-ons: apply without kubectl: exit 1, said"
is "$(st localhost "render coredns")" changed "add-ons: ... coredns rendered first"

# cilium: its values rendered first, then helm and the chart needed (each
# said, naming the file) before the API is reached. helm is not on this
# machine: it is a file here that no case runs (nor the chart, nor a
# kubectl of the test's own that says what it is told)
rm -rf "$CD/yml"
rm -f "$EZK_HOME/bin/helm"
ev_setup cilium-nohelm c deploy -t apply -e CLUSTER_NETWORK=cilium
is "$rc" 1 "cilium: apply without \$EZK_HOME/bin/helm: exit 1"
is "$(st localhost "render cilium-values")" changed "cilium: ... its values rendered first"
[ -s "$CD/yml/cilium-values.yaml" ] && pass "cilium: ... into yml/cilium-values.yaml" ||
	fail "cilium: ... into yml/cilium-values.yaml"
is "$(msg localhost fail)" "$EZK_HOME/bin/helm is missing: helm comes with the offline files ('ezk download -c <cluster>' with CLUSTER_NETWORK cilium, or a bundle made so)" \
	"cilium: ... then says helm is missing"
CHART=$EZK_HOME/bin/charts/cilium-1.18.2.tgz
printf 'not run\n' >"$EZK_HOME/bin/helm"
ev_setup cilium-nochart c deploy -t apply -e CLUSTER_NETWORK=cilium
is "$rc:$(msg localhost fail)" "1:$CHART is missing: cilium's Helm chart 1.18.2 (cilium_ver) comes with the offline files ('ezk download -c <cluster>' with CLUSTER_NETWORK cilium, or a bundle made so)" \
	"cilium: apply without the chart: exit 1, naming it"
mkdir -p "$(dirname "$CHART")"
printf 'a chart\n' >"$CHART"
deploy_kubectl() { printf '#!/bin/sh\n%s\n' "$1" >"$KUBECTL"; chmod 755 "$KUBECTL"; }
deploy_kubectl "exit 1"
rm -rf "$CD/yml"
ev_setup cilium-apply-check c deploy -t apply --check -e CLUSTER_NETWORK=cilium
is "$rc" 0 "cilium: apply --check with no cluster: exit 0"
is "$(st localhost "render cilium-values")" changed "cilium: ... its values would be rendered"
is "$(st localhost "API reachable from the deploy node")" skipped "cilium: ... the API is not waited for"
is "$(st localhost "helm upgrade cilium")" changed "cilium: ... helm would run"
is "$(msg localhost "helm upgrade cilium")" "would run helm upgrade cilium --install -n kube-system -f $CD/yml/cilium-values.yaml $CHART (not run before)" \
	"cilium: ... saying what and why"
[ ! -e "$CD/yml/.applied/cilium-values.yaml" ] && pass "cilium: ... and records nothing" ||
	fail "cilium: ... and records nothing"
# the record of a helm run that ended well (the chart's sha256, the values)
ev_setup cilium-config c deploy -t config -e CLUSTER_NETWORK=cilium
mkdir -p "$CD/yml/.applied"
rec() { { echo "# helm upgrade cilium: chart cilium-1.18.2.tgz sha256 $(sha256sum "$CHART" | cut -d' ' -f1)"
	cat "$CD/yml/cilium-values.yaml"; } >"$CD/yml/.applied/cilium-values.yaml"; }
rec
ev_setup cilium-nods c deploy -t apply --check -e CLUSTER_NETWORK=cilium
like "$rc:$(msg localhost "helm upgrade cilium")" "^0:would run helm upgrade .* \(the DaemonSet kube-system/cilium is missing\)$" \
	"cilium: installed before, but no DaemonSet cilium: helm would run, saying why"
deploy_kubectl "echo daemonset.apps/cilium"
ev_setup cilium-same c deploy -t apply --check -e CLUSTER_NETWORK=cilium
is "$rc:$(st localhost "helm upgrade cilium"):$(ev_changed cilium-same localhost):$(msg localhost "helm upgrade cilium")" "0:ok:0:installed with these values and chart; the DaemonSet cilium is there" \
	"cilium: the same values and chart, the DaemonSet there: helm would not run, nothing would change"
printf 'another chart\n' >"$CHART"
ev_setup cilium-chart c deploy -t apply --check -e CLUSTER_NETWORK=cilium
like "$(msg localhost "helm upgrade cilium")" "^would run helm upgrade .* \(the chart changed\)$" "cilium: another chart: helm would run"
rec
ev_setup cilium-values c deploy -t apply --check -e CLUSTER_NETWORK=cilium -e cilium_hubble_enabled=true
like "$(msg localhost "helm upgrade cilium")" "^would run helm upgrade .* \(the values changed\)$" "cilium: other values: helm would run"
rm -rf "$EZK_HOME/bin/helm" "$EZK_HOME/bin/charts" "$KUBECTL" "$CD/yml"

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
ev_setup kube-ovn-nokcfg c deploy -t apply -e CLUSTER_NETWORK=kube-ovn
is "$rc:$(msg localhost fail)" "1:$KCFG is missing: run step 01 first ('ezk setup <cluster> 01')" \
	"kube-ovn: apply without the admin kubeconfig: exit 1, said"
ev_setup kube-ovn-apply-check c deploy -t apply --check -e CLUSTER_NETWORK=kube-ovn
is "$rc" 0 "kube-ovn: apply --check with no cluster: exit 0"
is "$(st localhost "kube-ovn's install.sh")" changed "kube-ovn: ... install.sh would run"
is "$(msg localhost "kube-ovn's install.sh")" "would run yml/install.sh (not run before)" "kube-ovn: ... saying why"
ev_setup addons-nokcfg c addons -t apply
is "$rc:$(msg localhost fail)" "1:$KCFG is missing: run step 01 first ('ezk setup <cluster> 01')" \
	"add-ons: apply without the admin kubeconfig: exit 1, said"
# (the deploy node's calico certificate: none yet, as on a new cluster)
RESTART="restart calico-node, calico-kube-controllers (calico-etcd-secrets changed)"
rm -rf "$CD/ssl"
ev_setup calico-apply-check c deploy -t apply --check -e CLUSTER_NETWORK=calico
is "$rc" 0 "calico: apply --check with no cluster: exit 0"
is "$(st localhost "render calico")" changed "calico: ... the manifest would be rendered"
is "$(st localhost "API reachable from the deploy node")" skipped "calico: ... the API is not waited for"
is "$(st localhost "kubectl apply calico-etcd-secrets")" changed "calico: ... its etcd Secret would be applied"
like "$(msg localhost "kubectl apply calico-etcd-secrets")" "would apply \\($CD/ssl/ca.pem made by this run\\)" "... (the certificate made by this run)"
is "$(st localhost "kubectl apply calico")" changed "calico: ... the manifest would be applied"
is "$(st localhost "$RESTART")" "" "calico: ... a new cluster's calico is not restarted"
# calico-node and calico-kube-controllers read their etcd Secret when they
# start: restarted when it changed on a cluster that had it (a certificate
# reissued: kca-renew's phases), not when it is applied the first time
mkdir -p "$CD/ssl"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CD/ssl/ca-key.pem" -out "$CD/ssl/ca.pem" \
	-subj "/CN=kubernetes-ca/O=k8s" -days 3650 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$CD/ssl/calico-key.pem" -subj "/CN=calico/O=k8s" 2>/dev/null |
	openssl x509 -req -CA "$CD/ssl/ca.pem" -CAkey "$CD/ssl/ca-key.pem" -CAcreateserial -days 3650 \
		-out "$CD/ssl/calico.pem" 2>/dev/null
rm -rf "$CD/yml/.applied"
ev_setup calico-secret-first c deploy -t apply --check -e CLUSTER_NETWORK=calico
is "$rc:$(st localhost "kubectl apply calico-etcd-secrets")" 0:changed "calico: the Secret from the certificate would be applied"
is "$(st localhost "$RESTART")" "" "calico: ... the first time, nothing restarted"
mkdir -p "$CD/yml/.applied"
echo "# the Secret of an earlier certificate" >"$CD/yml/.applied/calico-etcd-secrets.yaml"
ev_setup calico-secret-changed c deploy -t apply --check -e CLUSTER_NETWORK=calico
is "$rc:$(st localhost "kubectl apply calico-etcd-secrets")" 0:changed "calico: a changed Secret would be applied"
is "$(st localhost "$RESTART")" changed "calico: ... and calico's pods restarted"
like "$(msg localhost "$RESTART")" "would run: .*rollout restart daemonset/calico-node deployment/calico-kube-controllers && .*rollout status daemonset/calico-node --timeout=180s" \
	"calico: ... and waited for (CALICO_READY_TIMEOUT for each of the 1 node)"
rm -rf "$CD/yml"
ev_setup addons-apply-check c addons -t apply --check
is "$rc" 0 "add-ons: apply --check with no cluster: exit 0"
is "$(ev_titles addons-apply-check localhost changed)" \
	"kubectl apply coredns,kubectl apply metrics-server,kubectl apply nodelocaldns,render coredns,render metrics-server,render nodelocaldns" \
	"add-ons: ... each one switched on would be rendered and applied"

done_testing
