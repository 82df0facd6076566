# Kubernetes itself in --net test hosts, set up by hand
# (tests/harness/k8s-by-hand.sh), before ezk's roles do it: h1 a master and a
# node, h2 a node; kubelet with the systemd cgroup driver, containerd's CRI,
# kube-proxy in iptables mode, the bridge CNI plugin, routes between the
# nodes' pod subnets; services in 198.18.128.0/20, pods in 198.19.0.0/16.
# Both nodes Ready, a pod on each behind a ClusterIP that answers from both,
# kubectl exec and logs; stopped, nothing is left and the machine is as it
# was. Needs the Kubernetes build (scripts/build-kubernetes.sh): skipped,
# saying so, without it.
# A manual check, not in the suite (tests/e2e/cluster.sh proves the same
# hosts run Kubernetes, set up by ezk): EZK_SRC=$PWD EZK_BIN=$PWD/ezk \
#   bash tests/harness/testbed-cluster.sh
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
ms() { echo $(($(date +%s%N) / 1000000)); }
if ! "$EZK_SRC/scripts/build-kubernetes.sh" --cached >/dev/null 2>&1; then
	skip "Kubernetes is not built on this machine: scripts/build-kubernetes.sh (make test runs it first)"
	done_testing
	exit 0
fi
run "$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$EZK_HOME"
is "$rc" 0 "bin-from-debian fills \$EZK_HOME"
BB=easzlab.io.local:5000/library/busybox:$(dpkg-query -W -f='${Version}' busybox-static | sed 's/^[0-9]*://; s/-.*//')
bbtar=$EZK_HOME/images/busybox_${BB##*:}.tar
pausetar=$EZK_HOME/images/pause_3.10.tar
machine0=$(th_machine_state)

t0=$(ms)
th_start --net 2 || {
	fail "2 --net hosts start"
	done_testing
	exit 1
}
pass "2 --net hosts start ($(($(ms) - t0)) ms, $TH_NET)"
M=${TH_NAMES[0]} W=${TH_NAMES[1]}
api=${TH_ADDRS[0]}
kc() { th_exec 0 /opt/kube/bin/kubectl --kubeconfig /etc/k/kubeconfig "$@"; }
hand() { th_exec "$1" bash -s -- "$2" "$api" <"$EZK_SRC/tests/harness/k8s-by-hand.sh"; }
for i in 0 1; do
	bins="kubelet kube-proxy kubectl containerd-bin/containerd containerd-bin/containerd-shim-runc-v2 containerd-bin/ctr containerd-bin/runc"
	[ $i = 0 ] && bins="$bins kube-apiserver kube-controller-manager kube-scheduler"
	for b in $bins; do th_put $i "$EZK_HOME/bin/$b" "/opt/kube/bin/$b" 755; done
	for b in bridge host-local loopback portmap; do th_put $i "$EZK_HOME/bin/cni-bin/$b" "/opt/cni/bin/$b" 755; done
done

t0=$(ms)
run hand 0 master
is "$rc" 0 "$M: etcd, kube-apiserver, controller-manager, scheduler configured and started"
th_wait_for 180 kc get --raw /readyz
is "$(kc get --raw /readyz 2>&1)" ok "... the apiserver is ready ($(($(ms) - t0)) ms)"
for f in ca.pem admin.pem admin.key; do th_exec 0 cat /etc/k/$f | th_exec 1 sh -c "mkdir -p /etc/k && cat > /etc/k/$f"; done
for i in 0 1; do
	n=${TH_NAMES[$i]}
	run hand $i node
	is "$rc" 0 "$n: containerd started, kubelet and kube-proxy configured"
	th_put $i "$bbtar" /root/busybox.tar
	th_put $i "$pausetar" /root/pause.tar
	th_exec $i /opt/kube/bin/containerd-bin/ctr -n k8s.io images import /root/busybox.tar >/dev/null
	th_exec $i /opt/kube/bin/containerd-bin/ctr -n k8s.io images import /root/pause.tar >/dev/null
	run hand $i kubelet
	is "$rc" 0 "$n: kubelet and kube-proxy started"
done
cidr=()
for i in 0 1; do
	th_wait_for 180 hand $i cni
	cidr[$i]=$(hand $i cni)
	like "${cidr[$i]}" '^198\.19\.[0-9]+\.0/24$' "${TH_NAMES[$i]}: the controller gave it a pod subnet, the bridge CNI config uses it"
done
th_exec 0 ip route add "${cidr[1]}" via "${TH_ADDRS[1]}"
th_exec 1 ip route add "${cidr[0]}" via "${TH_ADDRS[0]}"
ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
for i in 0 1; do
	n=${TH_NAMES[$i]}
	th_wait_for 240 ready "$n"
	ready "$n" && pass "node $n is Ready ($(($(ms) - t0)) ms)" ||
		fail "node $n is Ready" "$(th_exec $i journalctl -u kubelet --no-pager | grep -E ' [EF][0-9]{4} ' | tail -8)"
done

th_wait_for 120 kc get serviceaccount default
kc apply -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Service
	metadata: {name: web}
	spec:
	  selector: {app: web}
	  ports: [{port: 80, targetPort: 80}]
	---
	$(for n in $M $W; do printf '%s\n' "apiVersion: v1" "kind: Pod" \
		"metadata: {name: web-$n, labels: {app: web}}" \
		"spec:" "  nodeName: $n" "  containers:" "  - name: httpd" \
		"    image: $BB" "    imagePullPolicy: Never" \
		"    command: [sh, -c, 'echo serving on \$(hostname); exec httpd -f -p 80 -h /var/www']" "---"; done)
EOF
running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
for n in $M $W; do
	th_wait_for 180 running "web-$n"
	running "web-$n" && pass "pod web-$n runs on $n" || fail "pod web-$n runs" "$(kc describe pod "web-$n" | tail -6)"
done
podip=$(kc get pod "web-$M" -o jsonpath='{.status.podIP}')
like "$podip" '^198\.19\.' "... with addresses from 198.19.0.0/16 ($podip)"
vip=$(kc get service web -o jsonpath='{.spec.clusterIP}')
like "$vip" '^198\.18\.1(2[89]|3[0-9]|4[0-3])\.' "service web has a ClusterIP in 198.18.128.0/20 ($vip)"
# Asked until both pods have answered (kube-proxy picks at random).
seen=" "
for _ in $(seq 60); do
	got=$(th_exec 1 bash -c "exec 3<>/dev/tcp/$vip/80 && printf 'GET /cgi-bin/hostname HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null | tail -1)
	case "$seen" in *" $got "*) ;; *) [ -n "$got" ] && seen="$seen$got " ;; esac
	[ "$(echo $seen | wc -w)" = 2 ] && break
done
is "$(echo $seen | tr ' ' '\n' | sort | tr '\n' ' ')" "$(printf 'web-%s\n' $M $W | sort | tr '\n' ' ')" \
	"$W reaches both pods, one on each node, through the ClusterIP (kube-proxy, routes between nodes)"
is "$(kc exec "web-$W" -- sh -c "printf 'GET /cgi-bin/hostname HTTP/1.0\r\n\r\n' | nc $podip 80 | tail -1")" \
	"web-$M" "kubectl exec: the pod on $W reaches the pod on $M by its address"
is "$(kc exec "web-$M" -- ls / | tr '\n' ' ')" "bin dev etc proc root sys tmp var " "kubectl exec sees the pod's root filesystem"
is "$(kc logs "web-$W")" "serving on web-$W" "kubectl logs"
th_exec 0 test -d /sys/fs/cgroup/memory/kubepods.slice/kubepods-besteffort.slice &&
	pass "the pods' cgroups are systemd slices in $M's own cgroup" || fail "kubepods.slice in $M"
like "$(th_exec 1 iptables -w -t nat -S KUBE-SERVICES)" "$vip/32" "kube-proxy's rules are in $W's iptables"
is "$(th_exec 1 sysctl -n net.netfilter.nf_conntrack_max)" 131072 "kube-proxy set nf_conntrack_max (the host's presented value)"

# ---- stop
dir=$TH_DIR id=${TH_DIR##*/} br=$TH_BRIDGE
nsl=$(th_namespaces)
inside=$(th_procs_of "$nsl" "$id")
t0=$(ms)
th_stop
echo "# stopped 2 --net hosts with a cluster in $(($(ms) - t0)) ms"
is "$(comm -12 <(echo "$inside" | sort) <(th_procs_of "$nsl" "$id" | sort) | tr '\n' ' ')" "" \
	"stop: none of the hosts' $(echo "$inside" | wc -l) processes is left"
is "$(ip -o link show 2>/dev/null | grep -oE "^[0-9]+: $br[@:]")" "" "stop: no bridge"
is "$(find /sys/fs/cgroup -maxdepth 3 -name "$id-*" 2>/dev/null)" "" "stop: no cgroup left"
is "$(grep -c "$dir" /proc/self/mountinfo)" 0 "stop: no mount left"
is "$(th_machine_state)" "$machine0" "the machine's kernel values, iptables and routes are as they were"

done_testing
