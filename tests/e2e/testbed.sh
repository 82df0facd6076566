# The test bed (tests/harness --net hosts, scripts/bin-from-debian.sh):
# - bin-from-debian fills $EZK_HOME/bin and images/ the way the offline
#   bundle will; a second run copies nothing; the images are reproducible;
#   the six Kubernetes binaries (when built on this machine) say v1.20.2 and
#   write their default configs without a crash;
# - three --net hosts: each in a network namespace of its own on 198.18.K.0/24,
#   pinging the others; iptables rules and net.* sysctls of one host are
#   nowhere else; the kernel values a kubelet insists on are presented in the
#   hosts and never set on the machine; a cgroup namespace and pivot_root;
# - containerd from $EZK_HOME/bin in a host imports the pause and busybox
#   archives and runs them (the systemd cgroup driver too), runc exec sees
#   the container's root, busybox's httpd answers the machine and the other
#   hosts;
# - stopping the hosts leaves no namespace, link, cgroup, mount or process,
#   and the machine's kernel values, iptables and routes are what they were.
# e2e/cluster runs Kubernetes itself in such hosts, set up by ezk.
# ezk-test: plain (it never runs ezk: make check, the sanitizer build, leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
ms() { echo $(($(date +%s%N) / 1000000)); }

machine0=$(th_machine_state) # none of it may change

# ------------------------------------------------------------ bin-from-debian
BFD=$EZK_SRC/scripts/bin-from-debian.sh
t0=$(ms)
run "$BFD" --no-build "$EZK_HOME"
t1=$(ms)
is "$rc" 0 "bin-from-debian fills \$EZK_HOME (first run: $((t1 - t0)) ms)"
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
for b in etcd etcdctl containerd-bin/containerd containerd-bin/containerd-shim-runc-v2 \
	containerd-bin/ctr containerd-bin/runc nginx nginx-modules/ngx_stream_module.so \
	cni-bin/bridge cni-bin/host-local cni-bin/loopback cni-bin/portmap; do
	[ -f "$EZK_HOME/bin/$b" ] && [ -x "$EZK_HOME/bin/$b" ] && pass "bin/$b" || fail "bin/$b"
done
like "$out" 'containerd-bin/runc +runc version' "... each binary's version is printed"
kdir=$("$EZK_SRC/scripts/build-kubernetes.sh" --cached 2>/dev/null) || kdir=""
sums1=$(cd "$EZK_HOME" && find bin images -type f -print0 | sort -z | xargs -0 sha256sum)
t0=$(ms)
run "$BFD" --no-build "$EZK_HOME"
t1=$(ms)
is "$rc" 0 "a second run ($((t1 - t0)) ms)"
unlike "$out" ' updated' "... copies and changes nothing"
is "$(cd "$EZK_HOME" && find bin images -type f -print0 | sort -z | xargs -0 sha256sum)" "$sums1" "... every file is the same"
# Reproducible: made anew, the images are the same bytes.
imgs1=$(cd "$EZK_HOME/images" && sha256sum -- *)
rm -rf "$EZK_HOME/images"
run "$BFD" --no-build "$EZK_HOME"
is "$(cd "$EZK_HOME/images" && sha256sum -- *)" "$imgs1" "images are reproducible: made anew, the same bytes"

BB=easzlab.io.local:5000/library/busybox:$(dpkg-query -W -f='${Version}' busybox-static | sed 's/^[0-9]*://; s/-.*//')
PAUSE=easzlab.io.local:5000/easzlab/pause:3.10
bbtar=$EZK_HOME/images/busybox_${BB##*:}.tar
pausetar=$EZK_HOME/images/pause_3.10.tar
[ -f "$bbtar" ] && pass "images/${bbtar##*/}" || fail "images/${bbtar##*/}"
like "$(tar -xOf "$bbtar" index.json)" "\"io.containerd.image.name\":\"$BB\".*\"org.opencontainers.image.ref.name\":\"${BB##*:}\"" \
	"... index.json names it $BB"

if [ -n "$kdir" ]; then
	pass "Kubernetes is built on this machine ($kdir: $(grep -E '^seconds ' "$kdir/BUILDINFO" 2>/dev/null))"
	for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
		run "$EZK_HOME/bin/$b" --version
		is "$out" "Kubernetes v1.20.2" "bin/$b --version"
	done
	run "$EZK_HOME/bin/kubectl" version --client --short
	is "$out" "Client Version: v1.20.2" "bin/kubectl version --client"
	run "$EZK_HOME/bin/kube-proxy" --write-config-to "$T/kube-proxy.yaml"
	no_crash "kube-proxy --write-config-to"
	like "$(cat "$T/kube-proxy.yaml" 2>/dev/null)" '^kind: KubeProxyConfiguration' "... writes its default config"
	# (kube-scheduler 1.20 wants a kubeconfig even for this; it connects nowhere)
	printf '%s\n' "apiVersion: v1" "kind: Config" "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]" \
		"contexts: [{name: c, context: {cluster: c, user: u}}]" "current-context: c" "users: [{name: u, user: {token: x}}]" >"$T/dummy.kubeconfig"
	run "$EZK_HOME/bin/kube-scheduler" --kubeconfig "$T/dummy.kubeconfig" --write-config-to "$T/kube-scheduler.yaml"
	no_crash "kube-scheduler --write-config-to"
	like "$(cat "$T/kube-scheduler.yaml" 2>/dev/null)" '^kind: KubeSchedulerConfiguration' "... writes its default config"
	# The map-encoding crash of reflect2 1.0.1 under Go >= 1.18 (Debian's kubectl 1.20 has it)
	run "$EZK_HOME/bin/kubectl" --kubeconfig "$T/kc" config set-credentials u --token=secret
	no_crash "kubectl config set-credentials"
	like "$("$EZK_HOME/bin/kubectl" --kubeconfig "$T/kc" config view -o json 2>&1)" '"name": "u"' "... and config view"
	[ -f "$pausetar" ] && pass "images/${pausetar##*/}" || fail "images/${pausetar##*/}"
else
	skip "Kubernetes is not built on this machine: scripts/build-kubernetes.sh (make test runs it first)"
fi

# ------------------------------------------------------------- --net hosts
t0=$(ms)
th_start --net 3 || {
	fail "3 --net hosts start"
	done_testing
	exit 1
}
pass "3 --net hosts start ($(($(ms) - t0)) ms, $TH_NET)"
like "$TH_NET $TH_GW ${TH_ADDRS[*]}" '^198\.18\.[0-9]+\.0/24 198\.18\.[0-9]+\.1 (198\.18\.[0-9]+\.[0-9]+ ?){3}$' \
	"subnet, gateway and addresses from 198.18.0.0/15"
K=${TH_NET#198.18.}
K=${K%%.*}
is "$(ip -br -4 addr show dev "$TH_BRIDGE" 2>/dev/null | awk '{print $3}')" "$TH_GW/24" "the machine has $TH_GW on $TH_BRIDGE"

machine_net=$(readlink /proc/self/ns/net)
nets="" cgns=""
for i in 0 1 2; do
	n=${TH_NAMES[$i]} a=${TH_ADDRS[$i]}
	is "$(th_exec $i systemctl is-system-running)" running "$n: systemd is up"
	nets="$nets $(th_exec $i readlink /proc/1/ns/net)"
	cgns="$cgns $(th_exec $i readlink /proc/1/ns/cgroup)"
	is "$(th_exec $i ip -o -4 addr show | awk '{print $2, $4}' | tr '\n' ' ')" "lo 127.0.0.1/8 eth0 $a/24 " \
		"$n: lo and eth0 with $a, nothing else"
	is "$(th_exec $i ip -4 route | tr '\n' ' ' | sed 's/  */ /g')" \
		"default via $TH_GW dev eth0 $TH_NET dev eth0 proto kernel scope link src $a " "$n: its routes"
	is "$(th_exec $i ss -Hltn sport = :22 | awk '{print $4}' | sort -u | tr '\n' ' ')" "$a:22 " "$n: sshd listens on $a"
	is "$(th_ssh $i hostname)" "$n" "$n: the machine logs in over SSH at $a"
	ok=""
	for j in 0 1 2; do
		[ $j = $i ] && continue
		th_exec $i ping -c 1 -W 5 "${TH_ADDRS[$j]}" >/dev/null && ok="$ok ${TH_NAMES[$j]}"
	done
	is "$ok" "$(for j in 0 1 2; do [ $j = $i ] || printf ' %s' "${TH_NAMES[$j]}"; done)" "$n pings the others"
	is "$(th_exec $i ls /sys/class/net | tr '\n' ' ')" "eth0 lo " "$n: /sys/class/net is its own"
	like "$(th_exec $i cat /run/ezk-testhost)" "EZK_TESTHOST_ADDRESS=$a" "$n: /run/ezk-testhost describes it"
done
is "$(echo $nets | tr ' ' '\n' | sort -u | wc -l)" 3 "three network namespaces"
unlike "$nets" "$machine_net" "... none the machine's"
is "$(echo $cgns | tr ' ' '\n' | sort -u | wc -l)" 3 "three cgroup namespaces"
is "$(th_exec 0 bash -c "exec 3<>/dev/tcp/${TH_ADDRS[1]}/22 && head -c 7 <&3")" "SSH-2.0" "h1 reaches h2's sshd over TCP"

# iptables: a host's rules are its own, and real (a DROP in h1 stops h2's
# ping, not h3's).
th_exec 0 iptables -w -N EZK-TESTBED
th_exec 0 iptables -w -A INPUT -p icmp -s "${TH_ADDRS[1]}" -j EZK-TESTBED
th_exec 0 iptables -w -A EZK-TESTBED -j DROP
like "$(th_exec 0 iptables -w -S)" 'EZK-TESTBED' "h1 has its iptables chain"
unlike "$(th_exec 1 iptables -w -S; th_exec 2 iptables -w -S)" 'EZK-TESTBED' "... h2 and h3 do not"
unlike "$(iptables-save 2>/dev/null)" 'EZK-TESTBED' "... nor the machine"
run th_exec 1 ping -c 1 -W 2 "${TH_ADDRS[0]}"
isnt=$rc
[ "$isnt" != 0 ] && pass "h1's rule drops h2's ping" || fail "h1's rule drops h2's ping"
run th_exec 2 ping -c 1 -W 5 "${TH_ADDRS[0]}"
is "$rc" 0 "... not h3's"

# sysctls: net.* is each host's own; the kubelet's kernel values are
# presented; the rest of /proc/sys is read-only.
netvals() { th_exec "$1" sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.route_localnet | tr '\n' ' '; }
before0=$(netvals 0) before1=$(netvals 1) before2=$(netvals 2)
like "$before0" '^[01] [01] $' "h1 reads its net.ipv4.ip_forward and route_localnet ($before0)"
set -- $before0
th_exec 0 sysctl -q -w net.ipv4.ip_forward=$((1 - $1)) net.ipv4.conf.all.route_localnet=$((1 - $2))
is "$(netvals 0)" "$((1 - $1)) $((1 - $2)) " "h1 changes them"
is "$(netvals 1)" "$before1" "... h2 keeps its own"
is "$(netvals 2)" "$before2" "... so does h3"
is "$(th_exec 0 sysctl -n net.bridge.bridge-nf-call-iptables)" 1 "h1 has br_netfilter's net.bridge.bridge-nf-call-iptables"
is "$(th_exec 0 sysctl -n vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes | tr '\n' ' ')" "1 0 10 1 1000000 25000000 " \
	"the kernel values a kubelet insists on are presented"
th_exec 0 sh -c 'echo 0 > /proc/sys/kernel/panic_on_oops; echo 65536 > /proc/sys/net/netfilter/nf_conntrack_max'
is "$(th_exec 0 sysctl -n kernel.panic_on_oops net.netfilter.nf_conntrack_max | tr '\n' ' ')" "0 65536 " \
	"... writable in the host (as kubelet and kube-proxy write them)"
is "$(th_exec 1 sysctl -n kernel.panic_on_oops)" 1 "... h2 keeps its own"
run th_exec 0 sysctl -w vm.swappiness=7
[ "$rc" != 0 ] && pass "vm.swappiness (the machine's) is read-only in a host" || fail "vm.swappiness is read-only in a host"
is "$(th_machine_state)" "$machine0" "the machine's kernel values, iptables and routes are unchanged"

# cgroups: a namespace rooted at the host's own cgroup, the hierarchies
# mounted inside; pivot_root (no machine mount in the host's table).
like "$(th_exec 0 cat /proc/1/cgroup)" '^[0-9]+:memory:/init\.scope$' "h1's systemd sees its cgroup as /init.scope"
is "$(th_exec 0 sh -c 'cat /proc/self/cgroup | cut -d: -f3 | sort -u')" "/" "th_exec runs in the host's root cgroup"
[ -d "/sys/fs/cgroup/memory/ezk-testhosts/${TH_DIR##*/}-${TH_NAMES[0]}/init.scope" ] &&
	pass "... which is the machine's ezk-testhosts/${TH_DIR##*/}-${TH_NAMES[0]}" || fail "... the machine's ezk-testhosts cgroup"
is "$(th_exec 0 sh -c 'cat /sys/fs/cgroup/cpuset/cpuset.cpus')" "$(cat /sys/fs/cgroup/cpuset/cpuset.cpus)" "h1's cpuset has the machine's CPUs"
unlike "$(th_exec 0 awk '{print $5}' /proc/self/mountinfo)" "^($TH_DIR|/work|/tmp/)" "h1's mount points are its own: nothing of the machine's (pivot_root)"
is "$(th_exec 0 findmnt -n -o FSTYPE /var/lib/containerd)" tmpfs "/var/lib/containerd is a tmpfs (overlayfs snapshots)"

# ---------------------------------------------- containerd in a --net host
# The bundle's containerd, as a unit like kubeasz's, the systemd cgroup
# driver for CRI; images from $EZK_HOME/images.
for b in containerd containerd-shim-runc-v2 ctr runc; do
	th_put 0 "$EZK_HOME/bin/containerd-bin/$b" "/opt/kube/bin/containerd-bin/$b" 755
done
th_exec 0 sh -c 'mkdir -p /etc/containerd && cat > /etc/containerd/config.toml' <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
EOF
th_exec 0 sh -c 'cat > /etc/systemd/system/containerd.service' <<'EOF'
[Unit]
Description=containerd (e2e/testbed)
After=network.target
[Service]
Environment="PATH=/opt/kube/bin/containerd-bin:/bin:/sbin:/usr/bin:/usr/sbin"
ExecStart=/opt/kube/bin/containerd-bin/containerd --config /etc/containerd/config.toml
Type=notify
Delegate=yes
KillMode=process
OOMScoreAdjust=-999
LimitNOFILE=1048576
EOF
th_exec 0 systemctl daemon-reload
run th_exec 0 systemctl start containerd
is "$rc" 0 "containerd starts in h1"
[ "$rc" = 0 ] || th_exec 0 journalctl -u containerd --no-pager | tail -20 | sed 's/^/# /'
ctr() { th_exec 0 /opt/kube/bin/containerd-bin/ctr -n k8s.io "$@"; }
th_put 0 "$bbtar" /root/busybox.tar
run ctr images import /root/busybox.tar
is "$rc" 0 "ctr images import ${bbtar##*/}"
if [ -f "$pausetar" ]; then
	th_put 0 "$pausetar" /root/pause.tar
	run ctr images import /root/pause.tar
	is "$rc" 0 "ctr images import ${pausetar##*/}"
fi
like "$(ctr images ls -q)" "^$BB\$" "... the image has its full name"
is "$(ctr run --rm "$BB" t1 sh -c 'echo hello from $(busybox | head -1 | cut -d" " -f2) as $(id -un)')" \
	"hello from v${BB##*:} as root" "ctr run runs busybox"
like "$(ctr run --rm --runc-systemd-cgroup --cgroup system.slice:ezk:t2 "$BB" t2 cat /proc/self/cgroup)" \
	'^[0-9]+:memory:/system\.slice/ezk-t2\.scope$' "... with the systemd cgroup driver: a scope of the host's systemd"
ctr run -d "$BB" t3 sleep 600 >/dev/null
is "$(ctr task exec --exec-id e1 t3 ls / | tr '\n' ' ')" "bin dev etc proc root run sys tmp var " \
	"ctr task exec sees the container's root"
is "$(th_exec 0 /opt/kube/bin/containerd-bin/runc --root /run/containerd/runc/k8s.io exec t3 cat /etc/passwd | head -1)" \
	"root:x:0:0:root:/root:/bin/sh" "runc exec sees the container's root filesystem, not the host's"
if [ -f "$pausetar" ]; then
	like "$(ctr run --rm "$PAUSE" p0 /pause -v 2>&1)" '^pause\.c k8s-v1\.20\.2' "the pause image runs"
	ctr run -d "$PAUSE" p1 >/dev/null
	like "$(ctr task ls)" 'p1 +[0-9]+ +RUNNING' "... and keeps running"
	is "$(th_exec 0 sh -c 'ps -o uid= -p $(pgrep -x pause)' | tr -d ' ')" 65535 "... as 65535"
fi
# busybox's httpd in the host's network: the machine and h2 ask it.
ctr run -d --net-host "$BB" web httpd -f -p "${TH_ADDRS[0]}:8080" -h /var/www >/dev/null
got=""
for _ in $(seq 100); do
	got=$(th_exec 1 bash -c "exec 3<>/dev/tcp/${TH_ADDRS[0]}/8080 && printf 'GET /cgi-bin/hostname HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null | tail -1) && [ -n "$got" ] && break
	sleep 0.05
done
is "$got" "${TH_NAMES[0]}" "h2 gets h1's busybox httpd (GET /cgi-bin/hostname)"
got=$(bash -c "exec 3<>/dev/tcp/${TH_ADDRS[0]}/8080 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null | tail -1)
is "$got" "ezk busybox httpd" "... and the machine gets its index.html"

# ----------------------------------------------------------------- stop
dir=$TH_DIR
cgid=${TH_DIR##*/}
br=$TH_BRIDGE net=$TH_NET
nsl=$(th_namespaces)
inside=$(th_procs_of "$nsl" "$cgid")
t3pid=$(head -1 "/sys/fs/cgroup/pids/ezk-testhosts/$cgid-${TH_NAMES[0]}/k8s.io/t3/cgroup.procs" 2>/dev/null)
like "$inside" "^${t3pid:-none} " "(container t3's sleep is among the hosts' processes)"
like "$(echo "$inside" | wc -l)" '^[0-9]{2,}$' "(there were $(echo "$inside" | wc -l) processes in the hosts)"
t0=$(ms)
th_stop
echo "# stopped 3 --net hosts in $(($(ms) - t0)) ms"
is "$(comm -12 <(echo "$inside" | sort) <(th_procs_of "$nsl" "$cgid" | sort) | tr '\n' ' ')" "" \
	"stop: no process of the hosts is left, in their namespaces or cgroups"
is "$(ip -o link show 2>/dev/null | grep -oE "^[0-9]+: (ezkv${K}h[0-9]+|$br)[@:]")" "" "stop: no veth, no bridge"
is "$(grep -c "$dir" /proc/self/mountinfo)" 0 "stop: no mount left"
is "$(find /sys/fs/cgroup -maxdepth 3 -name "$cgid-*" 2>/dev/null)" "" "stop: no cgroup left"
[ ! -e "$dir" ] && pass "stop: state dir removed" || fail "stop: state dir removed"
is "$(th_machine_state)" "$machine0" "the machine's kernel values, iptables and routes are as they were"
is "$(ip -4 route show table all 2>/dev/null | grep -c "198\.18\.$K\.")" 0 "... and none to $net is left"

done_testing
