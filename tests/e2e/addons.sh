# Step 07 (add-ons) on a real Kubernetes v1.20.2 cluster: one master (also
# the etcd member) and one node, test hosts with networks of their own
# (tests/harness --net), made by steps 01-05 as e2e/cluster does. No image
# can be pulled here, so the add-ons' pods never run: what is proved is
# what the API server accepts and what ezk applies.
#
# Proves: every manifest step 07 renders for K8S_VER v1.20.2 passes
# `kubectl apply --dry-run=server` on the real API server (none is skipped:
# every apiVersion they use is served by 1.20; the test says so, and would
# skip and name any that is not), while the v1.36 rendering differs in
# headlamp.yaml alone and is refused for one object, headlamp's Deployment (PodSpec.hostUsers came in 1.25:
# the role's version table leaves it out for 1.20); `--check` on the cluster
# before 07 writes no file and creates no object; 07 applies coredns (its
# Corefile and the kube-dns Service on SERVICE_CIDR's second address, the
# kubelets' clusterDNS), metrics-server (its APIService), headlamp (the login
# tokens filled in by the controller-manager) and local-path-provisioner (its
# StorageClass), and not nodelocaldns (ENABLE_LOCAL_DNS_CACHE false); a rerun
# reports changed=0 and applies nothing (no object's generation or kubectl
# apply time changes); an object deleted by hand is applied again and
# nothing else is; a hand edit stays; ENABLE_LOCAL_DNS_CACHE switched on
# applies nodelocaldns alone, switched off again applies nothing and leaves
# it there with a warning, as kubeasz does; a new corednsVer re-applies
# coredns alone, and --check --diff shows that change first.
# ezk-test: cluster
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home

if ! "$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >"$T/bin.log" 2>&1; then
	fail "scripts/bin-from-debian.sh fills \$EZK_HOME" "$(tail -5 "$T/bin.log")"
	done_testing
	exit 1
fi
if [ ! -x "$EZK_HOME/bin/kubelet" ]; then
	skip "Kubernetes is not built on this machine (scripts/build-kubernetes.sh, run by make test)"
	done_testing
	exit 0
fi

th_start --net 2 || { fail "2 --net test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
. "$EZK_SRC/tests/harness/events.sh"

# ---- the cluster: ezk's hosts template cut down to one master and one node
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
Y=$CD/yml
sed -i -E "/^192\.168\.1\.[235]( |$)/d; s/192\.168\.1\.1\b/$A/g; s/192\.168\.1\.4\b/$B/g" "$CD/hosts"
sed -i -E 's|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|; s|^PROXY_MODE=.*|PROXY_MODE="iptables"|' "$CD/hosts"
unlike "$(grep -vE '^\s*#' "$CD/hosts")" '(192\.168|(^|[^0-9])10\.[0-9]+\.|172\.(1[6-9]|2[0-9]|3[01]))\.' "no private (RFC 1918) address left in hosts"
is "$(sed -n '/^\[etcd\]/,/^\[harbor\]/p' "$CD/hosts" | grep -E '^[0-9]' | awk '{print $1, $2}')" "$A 
$A k8s_nodename='master-01'
$B k8s_nodename='worker-01'" "hosts: $A is the etcd member and master-01, $B is worker-01"
# setcfg KEY VALUE: a line of config.yml, as a user edits it
setcfg() {
	grep -q "^$1:" "$CD/config.yml" || fail "config.yml sets $1"
	sed -i -E "s|^$1:.*|$1: $2|" "$CD/config.yml"
}
setcfg K8S_VER '"v1.20.2"'
sed -i -E 's|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|' "$CD/config.yml"
setcfg ENABLE_LOCAL_DNS_CACHE false
setcfg headlamp_install '"yes"'
setcfg local_path_provisioner_install '"yes"'
cat >>"$CD/config.yml" <<'EOF'

# the test hosts are containers: containerd cannot raise OOM scores there
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
EOF
unlike "$(grep -vE '^\s*#' "$CD/config.yml")" '"(10\.[0-9]+\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.)' "no private address in config.yml"

ev_setup cluster c 01-05
is "$rc" 0 "setup c 01-05: a cluster of one master and one node"
is "$(ev_failed_any cluster)" "" "... no host failed"
[ "$rc" = 0 ] || { grep -E 'failed' "$T/cluster.tasks" | head -10 | sed 's/^/# /'; done_testing; exit 1; }
K="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=30s"
# kubectl's discovery complains on stderr while metrics-server's APIService
# has no pod behind it; the checks below read stdout
k() { $K "$@" 2>>"$T/kubectl.err"; }
is "$(k get nodes --no-headers -o custom-columns=N:.metadata.name,S:'.status.conditions[?(@.type=="Ready")].status' | awk '{print $1, $2}')" \
	"master-01 True
worker-01 True" "both nodes Ready"

# every object of every manifest in yml/: "kind/namespace/name generation
# time", the time kubectl apply last changed it (its managedFields entry).
# Not the resourceVersion: the controllers write the objects' status (a
# Deployment whose pods cannot pull, a token filled in) whenever they like.
rvs() {
	local f
	for f in "$Y"/*.yaml; do
		k get -f "$f" --ignore-not-found -o jsonpath='{range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} {.metadata.generation} {.metadata.managedFields[?(@.manager=="kubectl-client-side-apply")].time}{"\n"}{end}'
	done | LC_ALL=C sort
}
# written RV0 RV1: the objects whose line is new in RV1 (made, or changed
# by kubectl apply)
written() { LC_ALL=C comm -13 <(printf '%s\n' "$1") <(printf '%s\n' "$2") | awk '{print $1}'; }
# the add-ons' objects in the cluster, by name
addon_objects() {
	{
		k get -n kube-system deploy,ds,svc,cm,sa -o name | grep -E 'coredns|kube-dns|node-local-dns|metrics-server|headlamp|local-path'
		k get apiservice/v1beta1.metrics.k8s.io storageclass/local-path -o name
	} | LC_ALL=C sort
}

# ---- --check before 07: nothing written, nothing applied
ev_setup check0 c 07 --check
is "$rc" 0 "07 --check on the cluster before 07: exit 0"
is "$(ev_titles check0 localhost changed)" \
	"kubectl apply coredns,kubectl apply headlamp,kubectl apply local-path-provisioner,kubectl apply metrics-server,render coredns,render headlamp,render local-path-provisioner,render metrics-server" \
	"... reports the four add-ons switched on, each rendered and applied (not nodelocaldns: ENABLE_LOCAL_DNS_CACHE false)"
like "$(ev_msg check0 localhost "kubectl apply coredns")" "would apply \(not applied before\)" "... 'would apply (not applied before)'"
[ -e "$Y" ] && fail "--check: no yml/ written" || pass "--check: no yml/ written"
is "$(addon_objects)" "" "--check: no add-on object in the cluster"

# ---- the manifests for v1.20.2 against the real API server, not applied:
# -t config renders them (the apply is tagged apply)
ev_setup render c 07 -t config
is "$rc" 0 "07 -t config renders yml/ without applying"
is "$(cd "$Y" && ls)" "coredns.yaml
headlamp.yaml
local-path-provisioner.yaml
metrics-server.yaml" "... coredns, headlamp, local-path-provisioner, metrics-server"
is "$(stat -c %a "$Y/coredns.yaml")" "644" "... 0644"
is "$(addon_objects)" "" "... and nothing applied"
# nodelocaldns too (off in this config.yml): in another cluster dir with
# the same settings, the cache on, and both kube-proxy modes
for v in iptables ipvs; do
	"$EZK" new "dns-$v" >/dev/null
	cp "$CD/hosts" "$CD/config.yml" "$EZK_HOME/clusters/dns-$v/"
	run "$EZK" setup "dns-$v" 07 -t config -e ENABLE_LOCAL_DNS_CACHE=true -e PROXY_MODE=$v
	is "$rc" 0 "07 -t config with ENABLE_LOCAL_DNS_CACHE, PROXY_MODE $v: renders nodelocaldns"
done
# the v1.36 rendering (kubeasz's K8S_VER) of the same, for the contrast
"$EZK" new v136 >/dev/null
cp "$CD/hosts" "$CD/config.yml" "$EZK_HOME/clusters/v136/"
run "$EZK" setup v136 07 -t config -e K8S_VER=v1.36.3
is "$rc" 0 "07 -t config for K8S_VER v1.36.3 renders"

# (the machine may be loaded: dry runs get two minutes each)
KD="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=120s"
served=$(k api-versions)
printf '%s\n' "$served" >"$T/served"
# dry FILE...: each manifest through one `kubectl apply --dry-run=server`,
# and the objects it did not pass (kubectl stops at an object it refuses)
# one by one; prints "<file> <object> ok", "<file> <object> refused",
# "<file> <object> skipped: <apiVersion> is not served" (left out) and
# "<file> error: <kubectl's message>"
dry() {
	local f b want id rest n
	for f in "$@"; do
		b=$(basename "$f")
		rm -rf "$T/dry" && mkdir -p "$T/dry"
		want=$($PY - "$f" "$T/served" "$T/dry" <<'PY'
import sys, yaml
served = set(open(sys.argv[2]).read().split())
keep = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d:
        continue
    av = d["apiVersion"]
    group = av.split("/")[0] if "/" in av else ""
    oid = "%s%s/%s" % (d["kind"].lower(), "." + group if group else "", d["metadata"]["name"])
    if av in served:
        keep.append(d)
        yaml.safe_dump(d, open("%s/%03d.yaml" % (sys.argv[3], len(keep)), "w"))
        print(oid, len(keep))
    else:
        print(oid, "skipped: %s is not served" % av)
yaml.safe_dump_all(keep, open(sys.argv[3] + "/all.yaml", "w"))
PY
)
		$KD apply --dry-run=server -f "$T/dry/all.yaml" >"$T/dry.out" 2>"$T/dry.err"
		printf '%s\n' "$want" | while read -r id rest; do
			case $rest in
			skipped*) echo "$b $id $rest" ;;
			*)
				if grep -qE "^$id (created|configured|unchanged) \(server dry run\)$" "$T/dry.out" ||
					$KD apply --dry-run=server -f "$T/dry/$(printf %03d "$rest").yaml" >/dev/null 2>>"$T/dry.err"; then
					echo "$b $id ok"
				else
					echo "$b $id refused"
				fi ;;
			esac
		done
		grep -vE '^[IWEF][0-9]{4} ' "$T/dry.err" | sort -u | sed "s|^|$b error: |"
	done
}
t0=$(date +%s)
res=$(dry "$Y"/*.yaml "$EZK_HOME"/clusters/dns-*/yml/nodelocaldns.yaml)
n_ok=$(printf '%s\n' "$res" | grep -c ' ok$')
is "$(printf '%s\n' "$res" | grep -v ' ok$')" "" "every object of the v1.20.2 rendering passes kubectl apply --dry-run=server ($n_ok objects)"
[ "$n_ok" = 44 ] && pass "... the 34 of 4 add-ons, and both nodelocaldns variants' 5" || fail "... all 44 objects seen" "$n_ok"
is "$(printf '%s\n' "$res" | grep -c ' skipped')" "0" "none skipped: every apiVersion the add-ons use is served by v1.20.2"
# the v1.36 rendering differs in headlamp alone (the version table's one row)
is "$(for f in "$EZK_HOME"/clusters/v136/yml/*.yaml; do cmp -s "$f" "$Y/$(basename "$f")" || basename "$f"; done)" \
	"headlamp.yaml" "the v1.36 rendering differs from the v1.20.2 one in headlamp.yaml alone"
res=$(dry "$EZK_HOME"/clusters/v136/yml/headlamp.yaml)
echo "# dry runs: $(($(date +%s) - t0)) s"
is "$(printf '%s\n' "$res" | grep -v ' ok$' | grep -v ' error: ')" "headlamp.yaml deployment.apps/headlamp refused" \
	"... whose Deployment alone v1.20.2 refuses"
like "$(printf '%s\n' "$res" | grep ' error: ')" 'unknown field "hostUsers"' "... for PodSpec.hostUsers (1.25), which the version table leaves out for v1.20.2"
is "$(addon_objects)" "" "the dry runs created nothing"

# ---- 07: the add-ons applied
ev_setup first c 07
is "$rc" 0 "setup c 07: exit 0"
[ "$rc" = 0 ] || grep -E 'failed' "$T/first.tasks" | head -5 | sed 's/^/# /'
is "$(ev_titles first localhost changed)" \
	"kubectl apply coredns,kubectl apply headlamp,kubectl apply local-path-provisioner,kubectl apply metrics-server" \
	"... applies coredns, headlamp, local-path-provisioner and metrics-server (rendered already: not rendered again)"
like "$(ev_msg first localhost "kubectl apply coredns")" "^not applied before: .*deployment.apps/coredns created" "... kubectl created them"
is "$(addon_objects)" "apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io
configmap/coredns
configmap/local-path-config
deployment.apps/coredns
deployment.apps/headlamp
deployment.apps/local-path-provisioner
deployment.apps/metrics-server
service/headlamp
service/kube-dns
service/metrics-server
serviceaccount/coredns
serviceaccount/headlamp
serviceaccount/headlamp-admin-user
serviceaccount/headlamp-read-user
serviceaccount/local-path-provisioner-service-account
serviceaccount/metrics-server
storageclass.storage.k8s.io/local-path" "the add-ons' objects are in the cluster; no node-local-dns"
is "$(k -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}')" "198.18.128.2" "kube-dns on 198.18.128.2: SERVICE_CIDR's second address"
is "$(th_exec 1 sed -n '/^clusterDNS:/,/^[a-zA-Z]/p' /var/lib/kubelet/config.yaml | grep -oE '[0-9]+\.[0-9.]+' | head -1)" "198.18.128.2" \
	"... worker-01's kubelet gives pods that address (step 05, the cache off)"
is "$(k -n kube-system get cm coredns -o jsonpath='{.data.Corefile}')" \
	"$($PY -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap": print(d["data"]["Corefile"], end="")' "$Y/coredns.yaml")" \
	"the Corefile in the cluster is the one rendered"
like "$(k -n kube-system get cm coredns -o jsonpath='{.data.Corefile}')" "kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{" "... serving CLUSTER_DNS_DOMAIN cluster.local"
is "$(k -n kube-system get deploy coredns -o jsonpath='{.spec.template.spec.containers[0].image}')" \
	"easzlab.io.local:5000/easzlab/coredns:$(sed -n 's/^corednsVer: *"\(.*\)"/\1/p' "$CD/config.yml")" "coredns's image: corednsVer from the local registry"
is "$(k get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.spec.service.namespace}/{.spec.service.name}')" "kube-system/metrics-server" \
	"metrics.k8s.io is served by the metrics-server Service"
is "$(k get storageclass local-path -o jsonpath='{.provisioner} {.volumeBindingMode}')" "rancher.io/local-path WaitForFirstConsumer" "StorageClass local-path"
tok=""
for i in $(seq 1 30); do
	tok=$(k -n kube-system get secret headlamp-admin-user -o jsonpath='{.data.token}')
	[ -n "$tok" ] && break
	sleep 1
done
[ -n "$tok" ] && pass "headlamp-admin-user's token is filled in by the controller-manager" || fail "headlamp-admin-user's token is filled in"
is "$(k get clusterrolebinding headlamp-read-user -o jsonpath='{.roleRef.name}')" "view" "headlamp-read-user may view"
is "$(ls -a "$Y/.applied" | grep -c yaml)" "4" "yml/.applied/ records the 4 manifests applied"

# ---- rerun: nothing applied
rv0=$(rvs)
ev_setup rerun c 07
is "$rc" 0 "rerun of 07: exit 0"
is "$(ev_changed rerun localhost)" "0" "... changed=0 on localhost"
is "$(ev_msg rerun localhost "kubectl apply metrics-server")" "applied, every object there" "... each add-on: applied, every object there"
rv1=$(rvs)
is "$(written "$rv0" "$rv1")" "" "... and no object written by kubectl apply ($(printf '%s\n' "$rv0" | wc -l) objects: generation and kubectl's time the same)"

# ---- an object deleted by hand comes back, the rest is left alone
k -n kube-system delete svc metrics-server >/dev/null
k -n kube-system patch cm coredns --type merge -p '{"data":{"Corefile":".:53 {\n    errors\n}\n"}}' >/dev/null
edited=$(k -n kube-system get cm coredns -o jsonpath='{.metadata.resourceVersion}')
rv0=$(rvs)
ev_setup missing c 07
is "$rc" 0 "07 after metrics-server's Service was deleted: exit 0"
is "$(ev_titles missing localhost changed)" "kubectl apply metrics-server" "... applies metrics-server alone"
like "$(ev_msg missing localhost "kubectl apply metrics-server")" "^objects missing: .*service/metrics-server created" "... because an object was missing: the Service is made again"
k -n kube-system get svc metrics-server -o name >/dev/null && pass "... and is there" || fail "the Service is there again"
is "$(k -n kube-system get cm coredns -o jsonpath='{.metadata.resourceVersion}')" "$edited" "the coredns ConfigMap edited by hand is left as it is"
rv1=$(rvs)
is "$(written "$rv0" "$rv1")" "Service/kube-system/metrics-server" "... the only object written"
k apply -f "$Y/coredns.yaml" >/dev/null # the edit undone, for what follows

# ---- the local DNS cache switched on: nodelocaldns alone applied
setcfg ENABLE_LOCAL_DNS_CACHE true
rv0=$(rvs)
ev_setup cacheon c 07
is "$rc" 0 "ENABLE_LOCAL_DNS_CACHE true: 07 exit 0"
is "$(ev_titles cacheon localhost changed)" "kubectl apply nodelocaldns,render nodelocaldns" "... renders and applies nodelocaldns alone"
is "$(k -n kube-system get ds node-local-dns -o jsonpath='{.spec.template.spec.containers[0].args}')" \
	'["-localip","169.254.20.10,198.18.128.2","-conf","/etc/Corefile","-upstreamsvc","kube-dns-upstream"]' \
	"... the iptables variant (PROXY_MODE iptables): the cache on LOCAL_DNS_CACHE and kube-dns's address"
rv1=$(rvs)
is "$(written "$rv0" "$rv1")" "ConfigMap/kube-system/node-local-dns
DaemonSet/kube-system/node-local-dns
Service/kube-system/kube-dns-upstream
Service/kube-system/node-local-dns
ServiceAccount/kube-system/node-local-dns" "... its 5 objects made, no other object written"

# ---- and off again: not applied, left in the cluster, said
setcfg ENABLE_LOCAL_DNS_CACHE false
rv0=$(rvs)
ev_setup cacheoff c 07
is "$rc" 0 "ENABLE_LOCAL_DNS_CACHE false again: 07 exit 0"
is "$(ev_changed cacheoff localhost)" "0" "... changed=0: nothing applied"
like "$(awk -F'\t' '$1 == "localhost" && $2 == "warning" { print $4 }' "$T/cacheoff.tasks")" \
	"nodelocaldns is off \(ENABLE_LOCAL_DNS_CACHE: false\) but what ezk applied earlier is still in the cluster.*kubectl delete -f .*/yml/\.applied/nodelocaldns\.yaml" \
	"... a warning: nodelocaldns stays (as kubeasz) and how to remove it"
is "$(written "$rv0" "$(rvs)")" "" "... node-local-dns left as it was, nothing written"

# ---- a new corednsVer: --check --diff shows it, then coredns alone applied
setcfg corednsVer '"1.11.1"'
ev_setup cdiff c 07 --check --diff
is "$rc" 0 "a new corednsVer: 07 --check --diff exit 0"
is "$(ev_titles cdiff localhost changed)" "kubectl apply coredns,render coredns" "... would render and apply coredns alone"
like "$(ev_msg cdiff localhost "kubectl apply coredns")" "would apply \(manifest changed\)" "... because its manifest changed"
like "$(cat "$T/cdiff.json")" '\+ +image: easzlab\.io\.local:5000/easzlab/coredns:1\.11\.1' "... the diff shows the new image"
rv0=$(rvs)
ev_setup cver c 07
is "$rc" 0 "a new corednsVer: 07 exit 0"
is "$(ev_titles cver localhost changed)" "kubectl apply coredns,render coredns" "... renders and applies coredns alone"
like "$(ev_msg cver localhost "kubectl apply coredns")" "^manifest changed: deployment.apps/coredns configured$" "... kubectl configured the Deployment alone"
is "$(k -n kube-system get deploy coredns -o jsonpath='{.spec.template.spec.containers[0].image}')" "easzlab.io.local:5000/easzlab/coredns:1.11.1" "... with the new image"
rv1=$(rvs)
is "$(written "$rv0" "$rv1")" "Deployment/kube-system/coredns" "... the only object written"

done_testing
