# `ezk setup c all` from bare hosts to a working cluster, with the pod
# network that needs no image (CLUSTER_NETWORK host-gw): on five test hosts
# with networks of their own (tests/harness --net), kubeasz's example
# hosts.multi-node but for its addresses (3 masters = etcd, 2 nodes), and a
# sixth host added as a node afterwards. Addresses, pods and Services in
# 198.18.0.0/15.
#
# Proves: `all --check` on bare hosts writes nothing; `all` exits 0, every
# node Ready; a Deployment of 4 busybox httpd pods (the test bed's image,
# never pulled) on the nodes; every pod reaches every other pod's address
# across nodes; a ClusterIP Service answers from every node and from a pod
# on each node; a NodePort answers from the deploy node on every node's
# address; a rerun of `all` changes and restarts nothing; a node added to
# [kube_node] and set up with 05-06 gets routes on every node, and its pods
# are reached from the others.
# ezk-test: cluster
. "$EZK_SRC/tests/lib.sh"
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

th_start --net 6 || { fail "6 --net test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]} D=${TH_ADDRS[3]} E=${TH_ADDRS[4]} F=${TH_ADDRS[5]}
. "$EZK_SRC/tests/harness/events.sh"
hx() { th_exec "$@" 2>&1; }
# the failed tasks of a run, as TAP comments (when it did not exit 0)
failed_tasks() { [ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/$1.tasks" | head -10 | sed 's/^/# /'; }

"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
src=$EZK_SHARED_DATA/kubeasz-example/hosts.multi-node
if [ -f "$src" ]; then
	cp "$src" "$CD/hosts"
	pass "inventory: kubeasz's example/hosts.multi-node"
else
	skip "../shared/data is absent: ezk's own hosts.multi-node template instead of kubeasz's file"
fi
sed -i -E "s/192\.168\.1\.1\b/$A/g; s/192\.168\.1\.2\b/$B/g; s/192\.168\.1\.3\b/$C/g; s/192\.168\.1\.4\b/$D/g; s/192\.168\.1\.5\b/$E/g" "$CD/hosts"
sed -i -E 's|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|; s|^PROXY_MODE=.*|PROXY_MODE="iptables"|; s|^CLUSTER_NETWORK=.*|CLUSTER_NETWORK="host-gw"|' "$CD/hosts"
sed -i -E 's|^K8S_VER:.*|K8S_VER: "v1.20.2"|; s|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|' "$CD/config.yml"
cat >>"$CD/config.yml" <<'EOF'

# the test hosts are containers: containerd cannot raise OOM scores there
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
# the test workload's image, imported from $EZK_HOME/images like the pause image
EXTRA_IMAGES:
  - "easzlab.io.local:5000/library/busybox:1.35.0"
EOF
unlike "$(grep -hv '^ *#' "$CD/hosts" "$CD/config.yml")" '(^|[^0-9.])(10\.[0-9]+\.[0-9]+\.[0-9]+|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]+\.[0-9]+|192\.168\.[0-9]+\.[0-9]+)' \
	"no private (RFC 1918) address in hosts or config.yml"

# ---- all --check on bare hosts: writes nothing anywhere
digs0=""
for i in 0 1 2 3 4; do digs0="$digs0 $(th_upper_digest $i)"; done
ev_setup check0 c all --check
is "$rc" 0 "all --check on bare hosts: exit 0"
[ "$rc" = 0 ] || grep -P '\tfailed\t' "$T/check0.tasks" | head -5 | sed 's/^/# /'
like "$(ev_titles check0 "$D" changed)" "host-gw: configure worker-01" "... reports the pod network it would configure"
[ -e "$CD/ssl" ] && fail "all --check: no ssl/ made" || pass "all --check: no ssl/ made"
digs1=""
for i in 0 1 2 3 4; do digs1="$digs1 $(th_upper_digest $i)"; done
is "$digs1" "$digs0" "all --check: nothing changed on any host"

# ---- all
ev_setup all c all
is "$rc" 0 "setup c all from bare hosts: exit 0"
is "$(ev_failed_any all)" "" "... no host failed"
[ "$rc" = 0 ] || grep -P '\tfailed\t' "$T/all.tasks" | head -10 | sed 's/^/# /'
K="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=20s"
is "$($K get nodes --no-headers | awk '{print $1, $2}')" "master-01 Ready,SchedulingDisabled
master-02 Ready,SchedulingDisabled
master-03 Ready,SchedulingDisabled
worker-01 Ready
worker-02 Ready" "every node Ready"
for i in 0 3; do
	is "$(hx $i ls /etc/cni/net.d)" "10-host-gw.conflist" "${TH_ADDRS[$i]}: the host-gw CNI config, kubeasz's default bridge config gone"
done

cat >"$T/web.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: easzlab.io.local:5000/library/busybox:1.35.0
        imagePullPolicy: Never
        command: ["httpd", "-f", "-p", "80", "-h", "/var/www"]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
EOF
run $K apply -f "$T/web.yaml"
is "$rc" 0 "a Deployment of 4 busybox httpd pods and a NodePort Service"
run $K rollout status deploy/web --timeout=180s
is "$rc" 0 "... rolled out"
pods=$($K get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}')
is "$(printf '%s\n' "$pods" | awk '{print $3}' | sort -u | paste -sd' ')" "worker-01 worker-02" "... spread over both nodes"
get() { # get POD URL: the first line an HTTP GET of URL gets from inside POD
	$K exec "$1" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $2 80 | tail -n 1" 2>&1
}
printf '%s\n' "$pods" | while read -r p ip node; do
	printf '%s\n' "$pods" | while read -r q qip qnode; do
		is "$(get "$p" "$qip")" "ezk busybox httpd" "pod on $node reaches pod $qip on $qnode"
	done
done
CIP=$($K get svc web -o jsonpath='{.spec.clusterIP}')
like "$CIP" '^198\.18\.1(2[89]|3[0-9]|4[0-3])\.' "the Service's ClusterIP is in SERVICE_CIDR"
for i in 0 1 2 3 4; do
	is "$(hx $i curl -s -m 5 "http://$CIP/")" "ezk busybox httpd" "ClusterIP answers on ${TH_ADDRS[$i]}"
	is "$(curl -s -m 5 "http://${TH_ADDRS[$i]}:30080/")" "ezk busybox httpd" "NodePort answers the deploy node on ${TH_ADDRS[$i]}"
done
printf '%s\n' "$pods" | awk '!seen[$3]++' | while read -r p ip node; do
	is "$(get "$p" "$CIP")" "ezk busybox httpd" "ClusterIP answers a pod on $node"
done

# ---- rerun: changes nothing, restarts nothing (systemd's own restarts of a
# controller that lost its lease on a loaded machine count in NRestarts)
invs() {
	local i u
	for i in 0 1 2 3 4; do
		for u in etcd containerd kube-lb kubelet kube-proxy kube-apiserver kube-controller-manager kube-scheduler; do
			[ $i -ge 3 ] && case $u in etcd | kube-apiserver | kube-controller-manager | kube-scheduler) continue ;; esac
			printf '%s/%s %s %s\n' "$i" "$u" "$(th_exec $i systemctl show $u -p InvocationID --value)" \
				"$(th_exec $i systemctl show $u -p NRestarts --value)"
		done
	done | sort
}
inv0=$(invs)
ev_setup rerun c all
is "$rc" 0 "rerun of all: exit 0"
for h in localhost $A $B $C $D $E; do
	is "$(ev_changed rerun $h)" "0" "... changed=0 on $h"
done
grep -P '\tchanged\t' "$T/rerun.tasks" | head -5 | sed 's/^/# /'
is "$(join <(printf '%s\n' "$inv0") <(invs) | awk '$2 != $4 && $5 == $3 { print $1 }')" "" \
	"... no service restarted (InvocationIDs unchanged but for systemd's own restarts)"

# ---- a sixth host joins [kube_node]: 01 and 03 on it, then 05-06 everywhere
sed -i "/^\[kube_node\]/a $F k8s_nodename='worker-03'" "$CD/hosts"
ev_setup add01 c 01,03 -l "$F"
is "$rc" 0 "the new node: 01,03 -l $F exit 0"
failed_tasks add01
ev_setup add56 c 05-06
is "$rc" 0 "05-06 with the new node in [kube_node]: exit 0"
failed_tasks add56
is "$($K get node worker-03 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" "True" "worker-03 is Ready"
sub=$($K get node worker-03 -o jsonpath='{.spec.podCIDR}')
for i in 0 1 2 3 4; do
	like "$(hx $i ip -4 route show proto 186)" "^$sub via $F " "${TH_ADDRS[$i]} routes worker-03's pods ($sub) through $F"
done
for h in $A $B $C $D $E; do
	like "$(ev_titles add56 $h changed)" "host-gw: routes to 5 other nodes' pods" "... $h's routes were brought in step"
done
run $K scale deploy/web --replicas=6
$K rollout status deploy/web --timeout=180s >/dev/null 2>&1
np=$($K get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.podIP} {.metadata.name}{"\n"}{end}' | grep '^worker-03 ' | head -1)
if [ -n "$np" ]; then
	set -- $np
	printf '%s\n' "$pods" | awk '!seen[$3]++' | while read -r p ip node; do
		is "$(get "$p" "$2")" "ezk busybox httpd" "a pod on $node reaches worker-03's pod $2"
	done
	is "$(get "$3" "$(printf '%s\n' "$pods" | head -1 | cut -d' ' -f2)")" "ezk busybox httpd" "worker-03's pod reaches the others"
else
	fail "a pod runs on worker-03 after scaling to 6" "$($K get pods -o wide)"
fi

done_testing
