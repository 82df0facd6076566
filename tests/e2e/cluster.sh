# Bare hosts to a working cluster, and the cluster's promises: steps 01-07
# (`ezk setup c all`) with the pod network that needs no image
# (CLUSTER_NETWORK host-gw), a real Kubernetes v1.20.2 (built from Debian's
# source, scripts/build-kubernetes.sh) on test hosts with networks of their
# own (tests/harness --net): kubeasz's example/hosts.multi-node but for its
# addresses (3 masters that are the etcd members, 2 nodes), and a sixth host
# added as a node at the end. Addresses, pods and Services all in
# 198.18.0.0/15. One cluster for both issues' proofs (a cluster costs
# minutes).
#
# Steps 03-05 (runtime, master, node): 01-05 and all --check on bare hosts
# write nothing anywhere; the deploy node's kubectl reaches the cluster; five
# nodes Ready with kubeasz's labels, masters cordoned; the API through kube-lb
# on every host; the controllers' leases; the API server reaches every
# kubelet over TLS; kubectl logs and exec; the certificates verify; a rerun
# of 01-05 and of all changes and restarts nothing; a new MASTER_CERT_HOSTS
# entry restarts the API servers one at a time while a kubectl loop through
# kube-lb on a node never fails; a master's API server stopped leaves kubectl
# through kube-lb working everywhere.
# Step 06 and all: every pod reaches every other pod's address across
# nodes; a ClusterIP Service answers from every node and from a pod on each
# node; a NodePort answers the deploy node on every node's address; a node
# added to [kube_node] and set up with 05-06 gets routes on every node, and
# its pods are reached.
# ezk upgrade (issue 16) to a second build of v1.20.2 (scripts/rebuild-
# kubernetes.sh: another build date in every binary, the version string
# stays): every
# host runs the new binaries, the API servers restart one at a time while a
# kubectl loop through kube-lb on a node never fails, the workload stays
# available and answers, and a second upgrade changes nothing.
# ezk-test: cluster
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home

# ---- the connected machine: the test bed's binaries and images
# (scripts/bin-from-debian.sh, kubeasz's layout) and the OS packages as
# `ezk download` fetches them (apt, from Debian's registry), in one bundle
CONN=$T/connected
if ! "$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$CONN" >"$T/bin.log" 2>&1; then
	fail "scripts/bin-from-debian.sh fills the connected machine's \$EZK_HOME" "$(tail -5 "$T/bin.log")"
	done_testing
	exit 1
fi
if [ ! -x "$CONN/bin/kubelet" ]; then
	skip "Kubernetes is not built on this machine (scripts/build-kubernetes.sh, run by make test)"
	done_testing
	exit 0
fi
EZK_HOME=$CONN run "$EZK" download --no-binaries --no-images -q -o "$T/site.bundle"
is "$rc" 0 "ezk download --no-binaries --no-images -o: the OS packages, then the bundle"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -5 | sed 's/^/# /'
ls "$CONN"/packages/debian_12/socat_*.deb >/dev/null 2>&1 && pass "... packages/debian_12/ holds socat's .deb" ||
	fail "... packages/debian_12/ holds socat's .deb" "$(ls "$CONN/packages" 2>&1)"
# ---- the site: its deploy node has nothing but the bundle
run "$EZK" bundle import "$T/site.bundle"
is "$rc" 0 "the site: ezk bundle import (verifies, then unpacks into \$EZK_HOME)"
is "$(cd "$EZK_HOME" && find bin images packages -type f | LC_ALL=C sort | xargs sha256sum)" \
	"$(cd "$CONN" && find bin images packages -type f | LC_ALL=C sort | xargs sha256sum)" \
	"... bin/, images/ and packages/ as the connected machine has them"

th_start --net 6 || { fail "6 --net test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]} D=${TH_ADDRS[3]} E=${TH_ADDRS[4]} F=${TH_ADDRS[5]}
. "$EZK_SRC/tests/harness/events.sh"
hx() { th_exec "$@" 2>&1; }

# The hosts cannot reach what the deploy node reaches on its loopback (where
# the offline tests' "internet" lives, tests/harness/internet.sh): a server
# on 127.0.0.1 answers here and not from a host.
port=$((20000 + RANDOM % 20000))
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$CONN" >/dev/null 2>&1 &
web=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" 200 "a server on the deploy node's loopback answers there"
is "$(hx 0 curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" 000 "... and not from a host (its own network)"
kill $web 2>/dev/null; wait $web 2>/dev/null
# A package the bundle carries, taken off one host: step 01 must bring it
# back from the bundle (the test hosts are overlays of this machine, which
# has the others installed).
hx 0 dpkg -r socat >/dev/null
is "$(hx 0 dpkg-query -W -f '${Status}' socat 2>&1 | grep -c 'install ok installed')" 0 "$A: socat removed before setup"
# the failed tasks of a run, as TAP comments (when it did not exit 0)
failed_tasks() { [ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/$1.tasks" | head -10 | sed 's/^/# /'; }

"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
SSL=$CD/ssl
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
sed -i -E 's|^INSTALL_SOURCE:.*|INSTALL_SOURCE: "offline"|' "$CD/config.yml"
cat >>"$CD/config.yml" <<'EOF'

# the test hosts are containers: containerd cannot raise OOM scores there
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
# (no EXTRA_IMAGES: under INSTALL_SOURCE offline every image the bundle
# carries reaches every host, the test workload's busybox with the pause image)
EOF
unlike "$(grep -hv '^ *#' "$CD/hosts" "$CD/config.yml")" '(^|[^0-9.])(10\.[0-9]+\.[0-9]+\.[0-9]+|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]+\.[0-9]+|192\.168\.[0-9]+\.[0-9]+)' \
	"no private (RFC 1918) address in hosts or config.yml"

# ---- --check on bare hosts: reports, writes nothing on any host or in ssl/
digs0=""
for i in 0 1 2 3 4; do digs0="$digs0 $(th_upper_digest $i)"; done
ev_setup check0 c 01-05 --check
is "$rc" 0 "01-05 --check on bare hosts: exit 0"
failed_tasks check0
like "$(ev_titles check0 "$A" changed)" "systemd_unit kube-apiserver.service" "... reports the API server's unit it would write"
like "$(ev_titles check0 "$D" changed)" "template /var/lib/kubelet/config.yaml" "... and a node's kubelet config"
ev_setup checkall c all --check
is "$rc" 0 "all --check on bare hosts: exit 0"
failed_tasks checkall
like "$(ev_titles checkall "$D" changed)" "host-gw: configure worker-01" "... reports the pod network it would configure"
is "$(ev_failed_any checkall)" "" "... and no task failed, ignored or not (no kubectl or API yet is no failure: nothing waited 120 s for one)"
[ -e "$CD/ssl" ] && fail "--check: no ssl/ made" || pass "--check: no ssl/ made"
digs1=""
for i in 0 1 2 3 4; do digs1="$digs1 $(th_upper_digest $i)"; done
is "$digs1" "$digs0" "--check: nothing changed on any of the 5 hosts"

# ---- all, from bare hosts
ev_setup all c all
is "$rc" 0 "setup c all from bare hosts: exit 0"
is "$(ev_failed_any all)" "" "... no host failed"
failed_tasks all
for s in 01 02 03 04 05 06 07; do
	grep -q "\"step\":\"$s\"" "$T/all.json" && pass "... step $s ran" || fail "... step $s ran"
done
like "$(ev_titles all "$A" changed)" "packages from $EZK_HOME/packages/debian_12" "INSTALL_SOURCE offline: $A's packages from the bundle's packages/debian_12"
is "$(hx 0 dpkg-query -W -f '${Status}' socat)" "install ok installed" "... socat is back on $A"
like "$(ev_titles all "$B" ok)" "packages from $EZK_HOME/packages/debian_12" "... $B, which had them, is left as it was"
# the bundle's images, pulled by each host from ezk on the deploy node (the
# bridge address the sessions come from), nothing from anywhere else
for i in 0 1 2 3 4; do
	like "$(ev_msg all "${TH_ADDRS[$i]}" "import easzlab.io.local:5000/easzlab/pause:3.10")" \
		"^pulled from the deploy node \(${TH_GW//./\\.}:[0-9]+\), sha256:[0-9a-f]{64}$" \
		"${TH_ADDRS[$i]}: the bundle's pause image pulled from ezk on the deploy node"
done

K="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=20s"
run $K get --raw /healthz
is "$out" "ok" "the deploy node's kubectl (clusters/c/kubectl.kubeconfig) reaches the API"
for i in 0 1 2 3 4; do
	is "$(hx $i /opt/kube/bin/kubectl --kubeconfig /etc/kubernetes/kubelet.kubeconfig --server https://127.0.0.1:6443 get --raw /healthz)" \
		"ok" "${TH_ADDRS[$i]}: /healthz through kube-lb (127.0.0.1:6443) with the node's credentials"
done
nodes=$($K get nodes --no-headers -o custom-columns='N:.metadata.name,V:.status.nodeInfo.kubeletVersion,R:.metadata.labels.kubernetes\.io/role,U:.spec.unschedulable,S:.status.conditions[?(@.type=="Ready")].status')
is "$(printf '%s\n' "$nodes" | awk '{print $1, $2, $3, $4, $5}')" "master-01 v1.20.2 master true True
master-02 v1.20.2 master true True
master-03 v1.20.2 master true True
worker-01 v1.20.2 node <none> True
worker-02 v1.20.2 node <none> True" "5 nodes Ready, v1.20.2, kubeasz's role labels, the masters (not in kube_node) cordoned"
for l in kube-controller-manager kube-scheduler; do
	like "$($K -n kube-system get lease $l -o jsonpath='{.spec.holderIdentity}')" '^master-0[123]_' "$l holds its leader lease"
done
for n in master-01 master-02 master-03 worker-01 worker-02; do
	is "$($K get --raw /api/v1/nodes/$n/proxy/healthz 2>&1)" "ok" "API server -> kubelet of $n over TLS (cluster CA)"
done
run $K get clusterrolebinding kubernetes-crb -o jsonpath='{.roleRef.name} {.subjects[0].name}'
is "$out" "system:kubelet-api-admin kubernetes" "kubernetes-crb: the API server's user may use the kubelets' API"

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
# kube-proxy writes a new Service's rules on its next sync, after the API
# server told it: wait (at most 60 s) until every host has the rule for it
for i in 0 1 2 3 4; do
	for _ in $(seq 60); do
		hx $i iptables -t nat -S KUBE-SERVICES | grep -q -- "-d $CIP/32 .*--dport 80 " && break
		sleep 1
	done
	hx $i iptables -t nat -S KUBE-SERVICES | grep -q -- "-d $CIP/32 .*--dport 80 " &&
		pass "kube-proxy on ${TH_ADDRS[$i]} has the Service's rule" ||
		fail "kube-proxy on ${TH_ADDRS[$i]} has the Service's rule" \
			"$(hx $i iptables -t nat -S KUBE-SERVICES | head; hx $i journalctl -u kube-proxy --no-pager -n 15)"
done
for i in 0 1 2 3 4; do
	is "$(hx $i curl -s -m 5 "http://$CIP/")" "ezk busybox httpd" "ClusterIP answers on ${TH_ADDRS[$i]}"
	is "$(curl -s -m 5 "http://${TH_ADDRS[$i]}:30080/")" "ezk busybox httpd" "NodePort answers the deploy node on ${TH_ADDRS[$i]}"
done
printf '%s\n' "$pods" | awk '!seen[$3]++' | while read -r p ip node; do
	is "$(get "$p" "$CIP")" "ezk busybox httpd" "ClusterIP answers a pod on $node"
done

# a pod of the test bed's busybox image, imported, never pulled
cat >"$T/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: bb}
spec:
  containers:
  - name: bb
    image: easzlab.io.local:5000/library/busybox:1.35.0
    imagePullPolicy: Never
    command: ["sh", "-c", "echo hello from bb; exec httpd -f -p 80 -h /var/www"]
EOF
run $K apply -f "$T/pod.yaml"
is "$rc" 0 "a busybox pod is accepted"
run $K wait --for=condition=Ready pod/bb --timeout=120s
is "$rc" 0 "... and runs" 
[ "$rc" = 0 ] || $K describe pod bb | tail -15 | sed 's/^/# /'
like "$($K get pod bb -o jsonpath='{.status.podIP} {.spec.nodeName}')" '^198\.19\.[0-9]+\.[0-9]+ worker-0[12]$' "... on a worker, with an address from CLUSTER_CIDR"
is "$($K logs bb 2>&1)" "hello from bb" "kubectl logs"
is "$($K exec bb -- sh -c 'cat /var/www/index.html >/dev/null && ls /bin/busybox && hostname' 2>&1)" "/bin/busybox
bb" "kubectl exec runs in the container's own root filesystem"

# ---- the certificates
ver() { openssl verify -CAfile "$SSL/ca.pem" "$SSL/$1.pem" 2>&1; }
for c in kubernetes aggregator-proxy master-01-kubelet worker-02-kubelet; do
	is "$(ver $c)" "$SSL/$c.pem: OK" "openssl verify $c.pem"
	is "$(stat -c %a "$SSL/$c-key.pem")" "600" "... its key is 0600"
done
san=$(openssl x509 -in "$SSL/kubernetes.pem" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
for n in "IPAddress:127.0.0.1" "IPAddress:$A" "IPAddress:$B" "IPAddress:$C" "IPAddress:198.18.128.1" \
	"IPAddress:198.18.200.1" "DNS:k8s.easzlab.io" "DNS:kubernetes.default.svc.cluster.local"; do
	like "$san" "(^|,)$n(,|$)" "kubernetes.pem names $n"
done
like "$(openssl x509 -in "$SSL/kubernetes.pem" -noout -ext extendedKeyUsage | tail -1)" "TLS Web Server Authentication, TLS Web Client Authentication" "kubernetes.pem: server and client auth"
like "$(openssl x509 -in "$SSL/worker-02-kubelet.pem" -noout -subject)" "O ?= ?system:nodes, CN ?= ?system:node:worker-02" "worker-02-kubelet.pem: CN system:node:worker-02, O system:nodes"
like "$(openssl x509 -in "$SSL/worker-02-kubelet.pem" -noout -ext subjectAltName | tail -1 | tr -d ' ')" "IPAddress:$E" "... and names its address"
is "$(hx 3 stat -c %a /etc/kubernetes/ssl/kubelet-key.pem /etc/kubernetes/kubelet.kubeconfig)" "600
600" "on a node: the kubelet's key and kubeconfig are 0600"

# ---- reruns of 01-05 and of all: change nothing, restart nothing (systemd's
# own restarts of a controller that lost its lease on a loaded machine count
# in NRestarts; ezk's restarts do not)
invs() {
	local i u n
	for i in 0 1 2 3 4; do
		for u in etcd containerd kube-lb kubelet kube-proxy kube-apiserver kube-controller-manager kube-scheduler ezk-host-gw; do
			[ $i -ge 3 ] && case $u in etcd | kube-apiserver | kube-controller-manager | kube-scheduler) continue ;; esac
			# (a oneshot unit, ezk-host-gw, has no NRestarts: 0)
			n=$(th_exec $i systemctl show $u -p NRestarts --value)
			printf '%s/%s %s %s\n' "$i" "$u" "$(th_exec $i systemctl show $u -p InvocationID --value)" "${n:-0}"
		done
	done | sort
}
inv0=$(invs)
for run in 01-05 all; do
	ev_setup rerun$run c $run
	is "$rc" 0 "rerun of $run: exit 0"
	for h in localhost $A $B $C $D $E; do
		is "$(ev_changed rerun$run $h)" "0" "... changed=0 on $h"
	done
	grep -P '\tchanged\t' "$T/rerun$run.tasks" | head -5 | sed 's/^/# /'
done
inv1=$(invs)
is "$(join <(printf '%s\n' "$inv0") <(printf '%s\n' "$inv1") | awk '$2 != $4 && $5 == $3 { print $1 }')" "" \
	"... no service restarted by ezk (InvocationIDs unchanged but for systemd's own restarts)"
join <(printf '%s\n' "$inv0") <(printf '%s\n' "$inv1") | awk '$3 != $5 { print "# note: " $1 " restarted by systemd meanwhile (NRestarts " $3 " -> " $5 ")" }'

# ---- a new name in the API server's certificate: the masters restart one
# at a time, and a kubectl loop through kube-lb on a node never fails. (Its
# request is /healthz without the etcd check: that check has a deadline of
# its own, which a loaded 2-core machine's etcd missed once in CI while no
# API server restarted: the loop is about the API servers' restarts.)
sed -i 's|^  - "198.18.200.1"|  - "198.18.200.1"\n  - "198.18.200.2"|' "$CD/config.yml"
th_exec 3 sh -c 'rm -f /tmp/loop.*; : >/tmp/loop.run; while [ -e /tmp/loop.run ]; do
	if /opt/kube/bin/kubectl --kubeconfig /etc/kubernetes/kubelet.kubeconfig --request-timeout=10s get --raw "/healthz?exclude=etcd" >/dev/null 2>>/tmp/loop.err; then echo >>/tmp/loop.ok; else echo >>/tmp/loop.bad; fi
	sleep 0.1; done' &
loop=$!
ev_setup certhost c 04
th_exec 3 rm -f /tmp/loop.run
wait $loop
is "$rc" 0 "a new MASTER_CERT_HOSTS entry: 04 exit 0"
like "$(ev_msg certhost localhost "cert kubernetes")" "names changed: \+198\.18\.200\.2" "... kubernetes.pem reissued for the new name"
for h in $A $B $C; do
	like "$(ev_titles certhost $h changed)" "kube-apiserver: restart" "... the API server on $h restarted"
	unlike "$(ev_titles certhost $h changed)" "kube-controller-manager: restart|kube-scheduler: restart" "... and nothing else there"
done
# one at a time: each one's (stopped, active again) interval ends before the
# next one's begins (monotonic clocks: the hosts share the machine's kernel)
spans=$(for i in 0 1 2; do
	echo "$(th_exec $i systemctl show kube-apiserver -p InactiveEnterTimestampMonotonic --value)" \
		"$(th_exec $i systemctl show kube-apiserver -p ActiveEnterTimestampMonotonic --value)"
done)
is "$(printf '%s\n' "$spans" | sort -n | awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $2 } END { print bad ? "overlap" : "serial" }')" "serial" "... one master at a time"
[ "$(printf '%s\n' "$spans" | wc -l)" = 3 ] || echo "# spans: $spans"
ok=$(th_exec 3 sh -c 'wc -l </tmp/loop.ok'); bad=$(th_exec 3 sh -c 'cat /tmp/loop.bad 2>/dev/null | wc -l')
[ "$ok" -gt 20 ] && pass "the kubectl loop on $D ran throughout ($ok requests)" || fail "the kubectl loop on $D ran throughout" "$ok requests"
is "$bad" "0" "... and no request failed"
[ "$bad" = 0 ] || th_exec 3 tail -5 /tmp/loop.err | sed 's/^/# /'

# ---- one master's API server down: kube-lb on every host goes to the others
th_exec 0 systemctl stop kube-apiserver
for i in 0 1 2 3 4; do
	is "$(hx $i /opt/kube/bin/kubectl --kubeconfig /etc/kubernetes/kubelet.kubeconfig --request-timeout=10s get --raw /healthz)" \
		"ok" "$A's API server stopped: kubectl through kube-lb on ${TH_ADDRS[$i]} works"
done
th_exec 0 systemctl start kube-apiserver

# ---- a sixth host joins [kube_node]: 01 everywhere (every master and node resolves its name:
# the API server reaches its kubelet by it), 03 on it, then 05-06 everywhere
sed -i "/^\[kube_node\]/a $F k8s_nodename='worker-03'" "$CD/hosts"
ev_setup add01 c 01
is "$rc" 0 "01 with the new node in [kube_node]: exit 0"
failed_tasks add01
for h in $A $B $C $D $E; do
	is "$(ev_titles add01 $h changed)" "hosts_block /etc/hosts" "... on $h only /etc/hosts changed (worker-03's line)"
done
is "$(hx 0 getent hosts worker-03 | awk '{print $1}')" "$F" "... $A resolves worker-03 to $F"
ev_setup add03 c 03 -l "$F"
is "$rc" 0 "the new node: 03 -l $F exit 0"
failed_tasks add03
like "$(ev_msg add03 "$F" "import easzlab.io.local:5000/library/busybox:1.35.0")" "^pulled from the deploy node " \
	"... its images pulled from ezk on the deploy node"
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

# ---- ezk upgrade: the second build of v1.20.2
RB=$("$EZK_SRC/scripts/rebuild-kubernetes.sh" --cached 2>/dev/null) || RB=""
if [ -z "$RB" ] || [ ! -x "$RB/kube-apiserver" ]; then
	skip "ezk upgrade: the second Kubernetes build is not here (scripts/rebuild-kubernetes.sh; make test runs it)"
	done_testing
	exit 0
fi
BINS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
for b in $BINS; do cp "$RB/$b" "$EZK_HOME/bin/$b.new" && mv -f "$EZK_HOME/bin/$b.new" "$EZK_HOME/bin/$b"; done
new_api=$(sha256sum <"$RB/kube-apiserver" | cut -d' ' -f1)
new_kubelet=$(sha256sum <"$RB/kubelet" | cut -d' ' -f1)
[ "$(th_exec 0 sha256sum /opt/kube/bin/kube-apiserver | cut -d' ' -f1)" != "$new_api" ] &&
	pass "the second build's kube-apiserver differs from the running one" ||
	fail "the second build's kube-apiserver differs from the running one" "$RB"
th_exec 3 sh -c 'rm -f /tmp/loop.*; : >/tmp/loop.run; while [ -e /tmp/loop.run ]; do
	if /opt/kube/bin/kubectl --kubeconfig /etc/kubernetes/kubelet.kubeconfig --request-timeout=10s get --raw "/healthz?exclude=etcd" >/dev/null 2>>/tmp/loop.err; then echo >>/tmp/loop.ok; else echo >>/tmp/loop.bad; fi
	sleep 0.1; done' &
loop=$!
ev_op upgrade upgrade c
th_exec 3 rm -f /tmp/loop.run
wait $loop
is "$rc" 0 "ezk upgrade to the second build: exit 0"
failed_tasks upgrade
for i in 0 1 2; do
	is "$(th_exec $i sha256sum /opt/kube/bin/kube-apiserver | cut -d' ' -f1)" "$new_api" "${TH_ADDRS[$i]} runs the new kube-apiserver"
	is "$(th_exec $i sh -c 'sha256sum /proc/$(systemctl show kube-apiserver -p MainPID --value)/exe' | cut -d' ' -f1)" "$new_api" "... the running process is it"
done
for i in 0 1 2 3 4 5; do
	is "$(th_exec $i sh -c 'sha256sum /proc/$(systemctl show kubelet -p MainPID --value)/exe' | cut -d' ' -f1)" "$new_kubelet" "${TH_ADDRS[$i]}'s running kubelet is the new one"
done
spans=$(for i in 0 1 2; do
	echo "$(th_exec $i systemctl show kube-apiserver -p InactiveEnterTimestampMonotonic --value)" \
		"$(th_exec $i systemctl show kube-apiserver -p ActiveEnterTimestampMonotonic --value)"
done)
is "$(printf '%s\n' "$spans" | sort -n | awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $2 } END { print bad ? "overlap" : "serial" }')" "serial" "... the API servers restarted one at a time"
ok=$(th_exec 3 sh -c 'wc -l </tmp/loop.ok'); bad=$(th_exec 3 sh -c 'cat /tmp/loop.bad 2>/dev/null | wc -l')
[ "$ok" -gt 20 ] && pass "the kubectl loop on $D ran throughout the upgrade ($ok requests)" || fail "the kubectl loop on $D ran throughout the upgrade" "$ok requests"
is "$bad" "0" "... and no request failed"
[ "$bad" = 0 ] || th_exec 3 tail -5 /tmp/loop.err | sed 's/^/# /'
$K rollout status deploy/web --timeout=180s >/dev/null 2>&1
is "$($K get deploy web -o jsonpath='{.status.availableReplicas}')" "6" "the workload is available after the upgrade (6 replicas)"
is "$(hx 3 curl -s -m 5 "http://$CIP/")" "ezk busybox httpd" "... and its Service answers"
ready=$($K get nodes --no-headers | grep -c ' Ready')
is "$ready" "6" "every node Ready after the upgrade"
if [ "$ready" != 6 ]; then # (seen once, 5 of 6, in CI: say which and why)
	$K get nodes -o wide 2>&1 | sed 's/^/# /'
	$K get nodes -o jsonpath='{range .items[*]}{.metadata.name} {range .status.conditions[?(@.type=="Ready")]}{.status} {.reason} {.lastHeartbeatTime} {.lastTransitionTime} {.message}{end}{"\n"}{end}' 2>&1 | sed 's/^/# /'
	date -u +'# now %Y-%m-%dT%H:%M:%SZ'
	for i in 0 1 2 3 4 5; do
		echo "# ${TH_ADDRS[$i]}: $(th_exec $i systemctl show kubelet -p ActiveState -p NRestarts -p ExecMainStartTimestamp 2>&1 | tr '\n' ' ')"
		th_exec $i journalctl -u kubelet --no-pager -n 5 2>&1 | sed 's/^/#   /'
	done
fi
is "$($K get nodes --no-headers | grep -c 'SchedulingDisabled')" "3" "... the workers uncordoned (only the 3 masters cordoned, as before)"
ev_op upgrade2 upgrade c
is "$rc" 0 "a second upgrade: exit 0"
for h in $A $B $C $D $E $F; do is "$(ev_changed upgrade2 "$h")" 0 "... changes nothing on $h"; done

done_testing
