# Step 01 (roles/steps.lua as shipped: deploy, chrony, prepare) through
# `ezk setup c 01` on three systemd test hosts: the files prepare writes and
# their contents, the host names, the /etc/hosts block, the admin kubeconfig
# on masters and nodes only, chrony serving and following; warnings (not
# failures) where a test host, like a container, cannot load modules or set
# kernel parameters; a rerun changes nothing; --check changes nothing; --diff
# shows the changes; a service restarts only when its config changed.
#
# Safe for the machine: the hosts share its kernel, clock and network
# namespace. Their /proc/sys is read-only (tests/harness/testhosts), and the
# test proves that the machine's kernel parameters are the same afterwards.
# chronyd runs with -x (it never sets the clock, which is the machine's).
# swap: prepare turns it off, and /proc/swaps is the machine's: with active
# swap on the machine the test is skipped.
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
export LC_ALL=C
t_start=$(date +%s%N)

if [ -n "$(tail -n +2 /proc/swaps)" ]; then
	skip "the machine has active swap: prepare's swapoff in a test host would turn it off"
	done_testing
	exit 0
fi

# The machine's own kernel parameters (and host name), before anything runs.
SYSCTLS="vm/swappiness vm/overcommit_memory vm/max_map_count vm/panic_on_oom kernel/panic kernel/pid_max
kernel/softlockup_panic fs/file-max fs/inotify/max_user_watches fs/inotify/max_user_instances fs/nr_open
net/ipv4/ip_forward net/ipv4/tcp_tw_reuse net/ipv4/tcp_fin_timeout net/ipv4/tcp_keepalive_time
net/core/somaxconn net/ipv4/conf/all/rp_filter net/ipv4/tcp_rmem net/netfilter/nf_conntrack_max
net/bridge/bridge-nf-call-iptables"
machine_sysctls() {
	local p
	for p in $SYSCTLS; do
		printf '%s=%s\n' "$p" "$(tr '\t' ' ' </proc/sys/$p 2>/dev/null || echo absent)"
	done
	hostname
}
machine_before=$(machine_sysctls)

th_start 3 || { fail "3 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]}
H=("$A" "$B" "$C")
NA=k8s-${A//./-} NB=k8s-${B//./-} NC=etcd-3

# chronyd: installed on the machine, so on every host; never enabled there
# (the harness disables or masks it: every host would start it). Unmasked
# here, and run with -x: the clock is the machine's (CLOCK_REALTIME is not
# namespaced), so a chronyd in a test host must never steer it; with -x it
# still measures its sources and serves time, which is what the test
# checks. The role leaves /etc/default/chrony alone (a real host wants the
# distribution's options).
for i in 0 1 2; do
	th_exec $i sh -c 'systemctl unmask --quiet chrony.service 2>/dev/null
		sed -i "s/^DAEMON_OPTS=.*/DAEMON_OPTS=\"-F 1 -x\"/" /etc/default/chrony
		grep -q "^DAEMON_OPTS=\"-F 1 -x\"" /etc/default/chrony' ||
		fail "host $i: chronyd set to -x" "$(th_exec $i cat /etc/default/chrony)"
done

# ---- the cluster: A master, B node, C etcd only; A serves time
"$EZK" new c >/dev/null
HOSTS=$EZK_HOME/clusters/c/hosts
vars=$(sed -n '/^\[all:vars\]/,$p' "$HOSTS" | sed 's/^PROXY_MODE=.*/PROXY_MODE="ipvs"/')
cat >"$HOSTS" <<EOF
[etcd]
$A
$B
$C k8s_nodename='Etcd_3'

[kube_master]
$A

[kube_node]
$B

[chrony]
$A

# [ex_lb] stays empty: the chrony play (kube_master:kube_node:etcd:ex_lb:chrony)
# still runs on the others
[ex_lb]

$vars
ansible_user=root
EOF
KC=$EZK_HOME/clusters/c/kubectl.kubeconfig

PY=/usr/bin/python3
# setup_json NAME ARGS...: `ezk setup c ARGS --json` (tests/harness/events.sh)
setup_json() { ev_setup "$1" c "${@:2}"; }
recaps() { printf '%s\n' "$tasks" | awk -F'\t' '$1 == "recap" { print $2, $3 }' | sed 's/ ok=[0-9]* / /; s/ skipped=[0-9]* / /' | sort | tr '\n' ';'; }
# the recap every host of the run should have: changed=N failed=0 unreachable=0
want_recaps() {
	local h
	for h in localhost "${H[@]}"; do echo "$h changed=$1 failed=0 unreachable=0"; done | sort | tr '\n' ';'
}
show_bad() { printf '%s\n' "$tasks" | grep -E $'\t(changed|failed)\t' | head -20 | sed 's/^/# /'; sed 's/^/# /' "$T/$1.err" | head -20; }
likez() {
	if printf '%s\n' "$1" | $PY -c 'import re, sys; sys.exit(0 if re.search(sys.argv[1], sys.stdin.read()) else 1)' "$2"; then
		pass "$3"
	else
		fail "$3" "does not match: $2"
	fi
}
svc_id() { th_exec "$1" systemctl show -p InvocationID --value "$2"; }

# ---- what the files must say
sysctl_want() {
	{
		printf '%s\n' "net.ipv4.ip_forward = 1" "net.ipv4.tcp_tw_reuse = 2" "net.ipv4.tcp_timestamps = 1" \
			"net.ipv4.tcp_fin_timeout = 30" "net.core.somaxconn = 65535" "net.core.netdev_max_backlog = 65536" \
			"net.ipv4.tcp_max_syn_backlog = 65536" "net.ipv4.tcp_rmem = 4096 12582912 16777216" \
			"net.ipv4.tcp_wmem = 4096 12582912 16777216" "net.netfilter.nf_conntrack_max = 1048576" \
			"fs.file-max = 2097152" "fs.inotify.max_user_instances = 8192" "fs.inotify.max_user_watches = 524288" \
			"vm.swappiness = 0" "vm.max_map_count = 262144" "vm.overcommit_memory = 1" "vm.panic_on_oom = 0" \
			"kernel.panic = 10" "kernel.pid_max = 4194304" "kernel.softlockup_panic = 1" \
			"net.bridge.bridge-nf-call-iptables = 1" "net.bridge.bridge-nf-call-ip6tables = 1" \
			"net.bridge.bridge-nf-call-arptables = 1" "net.ipv4.conf.all.rp_filter = 0" \
			"net.ipv4.conf.default.rp_filter = 0"
		[ "$1" = ipvs ] && printf '%s\n' "net.ipv4.tcp_keepalive_time = 600" "net.ipv4.tcp_keepalive_intvl = 30" \
			"net.ipv4.tcp_keepalive_probes = 10"
		[ -e /proc/sys/fs/may_detach_mounts ] && echo "fs.may_detach_mounts = 1"
		[ -e /proc/sys/net/ipv4/tcp_tw_recycle ] && echo "net.ipv4.tcp_tw_recycle = 0"
	} | sort
}
MODULES="overlay br_netfilter ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack dm_snapshot dm_thin_pool"
# the /etc/hosts block: masters and nodes (not C, etcd only), by address
hosts_block_want() {
	echo "### BEGIN KUBEASZ MANAGED BLOCK"
	printf '%s %s\n' "$A" "$NA" "$B" "$NB" | sort -t. -k1,1n -k2,2n -k3,3n -k4,4n
	echo "### END KUBEASZ MANAGED BLOCK"
}
hosts_block() { th_exec "$1" sed -n '/^### BEGIN KUBEASZ MANAGED BLOCK/,/^### END KUBEASZ MANAGED BLOCK/p' /etc/hosts; }

[ -f "$EZK_SRC/roles/deploy/main.lua" ] || fail "roles/deploy/main.lua exists (step 01's first play)"
journald0=$(svc_id 0 systemd-journald)

# ================================================================ first run
t0=$(date +%s%N)
setup_json run1 01
echo "# first run: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "first run: exit 0"
[ "$rc" = 0 ] || show_bad run1
unlike "$tasks" $'\tfailed\t' "first run: no task failed"
like "$tasks" "^localhost"$'\t' "the deploy play ran on the deploy node"

for i in 0 1 2; do
	h=${H[$i]}
	is "$(st "$h" "sysctl 95-k8s-sysctl.conf")" changed "sysctl ($h): changed (the file written)"
	like "$(msg "$h" "sysctl 95-k8s-sysctl.conf")" "warning: [a-z0-9_., -]+ not applied live \(/proc/sys is read-only: a container\?\)" \
		"sysctl ($h): a warning, not a failure, for values /proc/sys cannot take"
	if [ ! -e /proc/sys/net/bridge ]; then
		like "$(msg "$h" "sysctl 95-k8s-sysctl.conf")" "warning: [^;]*net\.bridge\.bridge-nf-call-iptables[^;]* absent: not applied" \
			"sysctl ($h): a warning for parameters the kernel lacks (br_netfilter not loaded)"
	fi
	like "$(msg "$h" "modprobe overlay,br_netfilter,ip_vs,ip_vs_rr,ip_vs_wrr,ip_vs_sh,nf_conntrack,dm_snapshot,dm_thin_pool")" \
		"warning: [a-z_, ]+ not loaded \(optional\)" "modprobe ($h): a warning, not a failure, without module files"
	is "$(th_exec $i cat /etc/sysctl.d/95-k8s-sysctl.conf)" "$(sysctl_want ipvs)" \
		"sysctl ($h): kubeasz's table in 95-k8s-sysctl.conf (keepalive: PROXY_MODE=ipvs)"
	is "$(th_exec $i cat /etc/modules-load.d/10-k8s-modules.conf | tr '\n' ' ')" "$MODULES " \
		"modules ($h): persisted in 10-k8s-modules.conf"
	is "$(th_exec $i cat /etc/modprobe.d/sctp.conf)" "install sctp /bin/true" "sctp ($h): never loaded"
	is "$(th_exec $i cat /etc/systemd/system.conf.d/30-k8s-ulimits.conf)" "[Manager]
DefaultLimitCORE=infinity
DefaultLimitNOFILE=100000
DefaultLimitNPROC=100000" "limits ($h): 30-k8s-ulimits.conf"
	is "$(th_exec $i grep -v '^#' /etc/systemd/journald.conf.d/95-k8s-journald.conf)" "[Journal]
Storage=persistent
SystemMaxUse=2G
SystemMaxFileSize=200M
MaxRetentionSec=2week
ForwardToSyslog=no
ForwardToWall=no" "journald ($h): 95-k8s-journald.conf"
	is "$(th_exec $i sh -c 'for d in /var/log/journal /opt/kube/bin /etc/kubernetes/ssl /root/.kube; do [ -d $d ] && echo $d; done' | tr '\n' ' ')" \
		"/var/log/journal /opt/kube/bin /etc/kubernetes/ssl /root/.kube " "directories ($h): journal, bin_dir, ca_dir, /root/.kube"
	is "$(th_exec $i grep -c '^export PATH=/opt/kube/bin:\$PATH ' /root/.bashrc)" 1 "bashrc ($h): bin_dir on PATH, once"
	is "$(hosts_block $i)" "$(hosts_block_want)" "/etc/hosts ($h): the node names of masters and nodes, sorted"
	like "$(th_exec $i cat /etc/hosts)" "^127\.0\.0\.1[[:space:]]+localhost" "/etc/hosts ($h): the lines outside the block kept"
done
is "$(th_exec 0 sh -c 'hostname; cat /etc/hostname' | tr '\n' ' ')" "$NA $NA " "hostname ($A): K8S_NODENAME, live and /etc/hostname"
is "$(th_exec 1 sh -c 'hostname; cat /etc/hostname' | tr '\n' ' ')" "$NB $NB " "hostname ($B): K8S_NODENAME"
is "$(th_exec 2 sh -c 'hostname; cat /etc/hostname' | tr '\n' ' ')" "$NC $NC " "hostname ($C): k8s_nodename 'Etcd_3' as K8S_NODENAME makes it"

# the admin kubeconfig: masters and nodes, not etcd-only hosts
if [ -f "$KC" ]; then
	for i in 0 1; do
		is "$(th_exec $i stat -c %a /root/.kube/config) $(th_exec $i sha256sum /root/.kube/config | cut -d' ' -f1)" \
			"600 $(sha256sum "$KC" | cut -d' ' -f1)" "kubeconfig (${H[$i]}): /root/.kube/config is the deploy node's kubectl.kubeconfig, 0600"
	done
	run th_exec 2 test -e /root/.kube/config
	is "$rc" 1 "kubeconfig ($C): none on an etcd-only host"
else
	fail "the deploy role made $KC"
fi

# journald restarted once: its drop-in changed
[ "$(svc_id 0 systemd-journald)" != "$journald0" ] && pass "journald ($A): restarted (the drop-in changed)" ||
	fail "journald ($A): restarted (the drop-in changed)"

# chrony: A serves, B and C follow it
conf_a=$(th_exec 0 cat /etc/chrony/chrony.conf)
for l in "server ntp1.aliyun.com iburst" "server time1.cloud.tencent.com iburst" "server 0.cn.pool.ntp.org iburst" \
	"pool pool.ntp.org iburst" "local stratum 10" "allow 0.0.0.0/0" "bindaddress $A" "driftfile /var/lib/chrony/drift" \
	"makestep 1.0 3" "rtcsync" "dumpdir /var/lib/chrony" "maxupdateskew 100.0" "stratumweight 0" "logdir /var/log/chrony" \
	"log statistics measurements tracking" "noclientlog"; do
	like "$conf_a" "^$l\$" "chrony server ($A): $l"
done
for i in 1 2; do
	conf=$(th_exec $i cat /etc/chrony/chrony.conf)
	is "$(echo "$conf" | grep -E '^(server|pool|local) ')" "server $A iburst" "chrony client (${H[$i]}): its only source is the server"
	like "$conf" "^bindaddress ${H[$i]}\$" "chrony client (${H[$i]}): serves on its own address"
	like "$conf" "^allow 0.0.0.0/0\$" "chrony client (${H[$i]}): kubeasz's common lines"
done
for i in 0 1 2; do
	is "$(th_exec $i systemctl is-active chrony) $(th_exec $i systemctl is-enabled chrony)" "active enabled" \
		"chrony (${H[$i]}): running and enabled"
done
# the clients reach the server: it is a source with replies (Reach not 0)
for i in 1 2; do
	src=""
	for _ in $(seq 60); do
		src=$(th_exec $i chronyc -n -c sources 2>/dev/null | awk -F, -v a="$A" '$3 == a')
		[ -n "$src" ] && [ "$(echo "$src" | cut -d, -f6)" != 0 ] && break
		sleep 0.25
	done
	like "$src" "^\^,.,$A,10,[0-9]+,[1-7][0-7]*," "chrony client (${H[$i]}): chronyc sources lists $A (stratum 10) with replies"
done

# ================================================================ rerun
ids="$(svc_id 0 chrony) $(svc_id 1 chrony) $(svc_id 2 chrony) $(svc_id 0 systemd-journald)"
t0=$(date +%s%N)
setup_json run2 01
echo "# rerun: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "rerun: exit 0"
is "$(recaps)" "$(want_recaps 0)" "rerun: changed=0 on every host (and on the deploy node)"
unlike "$tasks" $'\t(changed|failed)\t' "rerun: no task changed or failed"
[ "$rc" = 0 ] && [ "$(recaps)" = "$(want_recaps 0)" ] || show_bad run2
like "$(msg "$A" "sysctl 95-k8s-sysctl.conf")" "not applied live \(/proc/sys is read-only: a container\?\)" "rerun: the same sysctl warning"
is "$(svc_id 0 chrony) $(svc_id 1 chrony) $(svc_id 2 chrony) $(svc_id 0 systemd-journald)" "$ids" \
	"rerun: chrony and journald not restarted"

# ================================================================ --check
# Changed behind ezk's back: a sysctl line, the journald drop-in, the hosts
# block, a client's chrony.conf, the host name.
th_exec 1 sed -i '/^vm.swappiness/d' /etc/sysctl.d/95-k8s-sysctl.conf
th_exec 0 sh -c 'echo "SystemMaxUse=1G" >> /etc/systemd/journald.conf.d/95-k8s-journald.conf'
th_exec 2 sed -i "/ $NA\$/d" /etc/hosts
th_exec 1 sh -c 'echo "# edited" >> /etc/chrony/chrony.conf'
th_exec 2 hostname edited
sleep 1 # mtimes: a write in the same second would still change the digest
d0=$(th_upper_digest 0) d1=$(th_upper_digest 1) d2=$(th_upper_digest 2)
setup_json check 01 --check
is "$rc" 0 "--check: exit 0"
is "$(th_upper_digest 0) $(th_upper_digest 1) $(th_upper_digest 2)" "$d0 $d1 $d2" "--check: nothing changed on any host (th_upper_digest)"
is "$(st "$B" "sysctl 95-k8s-sysctl.conf") $(st "$A" "copy /etc/systemd/journald.conf.d/95-k8s-journald.conf") $(st "$C" "hosts_block /etc/hosts") $(st "$B" "template /etc/chrony/chrony.conf") $(st "$C" "hostname $NC")" \
	"changed changed changed changed changed" "--check: says what would change"
is "$(st "$A" "sysctl 95-k8s-sysctl.conf") $(st "$A" "hosts_block /etc/hosts") $(st "$C" "template /etc/chrony/chrony.conf")" "ok ok ok" \
	"--check: ... and only that"
is "$(th_exec 2 hostname) $(svc_id 0 systemd-journald) $(svc_id 1 chrony)" "edited $(echo "$ids" | cut -d' ' -f4) $(echo "$ids" | cut -d' ' -f2)" \
	"--check: no host name set, no service restarted"

# ================================================================ --diff
# and PROXY_MODE no longer ipvs: the keepalive lines leave the file
run "$EZK" setup c 01 --diff -e PROXY_MODE=nftables --key "$TH_KEY"
is "$rc" 0 "--diff run: exit 0"
[ "$rc" = 0 ] || echo "$out" | grep -E 'failed|error' | head | sed 's/^/# /'
likez "$out" '\n--- /etc/sysctl.d/95-k8s-sysctl.conf \(before\)\n\+\+\+ /etc/sysctl.d/95-k8s-sysctl.conf \(after\)\n@@[^\n]*@@\n( [^\n]*\n)*\+vm.swappiness = 0\n' \
	"--diff: the sysctl file's unified diff"
likez "$out" '\n\+\+\+ /etc/sysctl.d/95-k8s-sysctl.conf \(after\)\n@@[^\n]*@@\n([ -][^\n]*\n)*-net.ipv4.tcp_keepalive_time = 600\n' \
	"--diff: PROXY_MODE=nftables takes the keepalive lines out"
likez "$out" '\n\+\+\+ /etc/systemd/journald.conf.d/95-k8s-journald.conf \(after\)\n@@[^\n]*@@\n( [^\n]*\n)*-SystemMaxUse=1G\n' \
	"--diff: the journald drop-in"
likez "$out" "\\n\\+\\+\\+ /etc/hosts \\(after\\)\\n@@[^\\n]*@@\\n( [^\\n]*\\n)*\\+${A//./\\.} $NA\\n" "--diff: the hosts block"
likez "$out" '\n\+\+\+ /etc/chrony/chrony.conf \(after\)\n@@[^\n]*@@\n( [^\n]*\n)*-# edited\n' "--diff: chrony.conf"
is "$(th_exec 1 grep -c keepalive /etc/sysctl.d/95-k8s-sysctl.conf) $(th_exec 1 grep -c '^vm.swappiness = 0$' /etc/sysctl.d/95-k8s-sysctl.conf)" \
	"0 1" "--diff run: the file has the line back and no keepalive lines"
is "$(th_exec 1 cat /etc/sysctl.d/95-k8s-sysctl.conf | sort)" "$(sysctl_want nftables)" "--diff run: the sysctl file is kubeasz's table for nftables"
is "$(hosts_block 2) $(th_exec 2 hostname)" "$(hosts_block_want) $NC" "--diff run: block and host name restored"
[ "$(svc_id 0 systemd-journald)" != "$(echo "$ids" | cut -d' ' -f4)" ] && pass "--diff run: journald restarted on $A (its drop-in changed)" ||
	fail "--diff run: journald restarted on $A (its drop-in changed)"
[ "$(svc_id 1 chrony)" != "$(echo "$ids" | cut -d' ' -f2)" ] && pass "--diff run: chrony restarted on $B (its config changed)" ||
	fail "--diff run: chrony restarted on $B (its config changed)"
is "$(svc_id 0 chrony) $(svc_id 2 chrony)" "$(echo "$ids" | cut -d' ' -f1,3)" "--diff run: ... and not where the config was the same"
setup_json run3 01 -e PROXY_MODE=nftables
is "$(recaps)" "$(want_recaps 0)" "rerun with PROXY_MODE=nftables: changed=0 on every host"
[ "$(recaps)" = "$(want_recaps 0)" ] || show_bad run3

# ================================================================ sysctl's optional
# The module itself, where /proc/sys is read-only (a test role in front of
# the real ones): without optional a value it cannot set fails and nothing
# is written; with optional an absent parameter is persisted with a
# warning; a parameter read-only by nature fails either way.
mkdir -p "$T/roles/ro"
cat >"$T/roles/steps.lua" <<'EOF'
return { { id = "01", alias = "ro", plays = { { hosts = "etcd", roles = { "ro" } } } } }
EOF
cat >"$T/roles/ro/main.lua" <<'EOF'
local other = tostring(ezk.vars.SWAPPINESS) == "7" and 8 or 7
sysctl { title = "R not optional", name = "vm.swappiness", value = other, file = "/etc/sysctl.d/90-ezk-ro.conf",
         ignore_errors = true }
sysctl { title = "R absent optional", name = "kernel.ezk_no_such_param", value = 1, optional = true,
         file = "/etc/sysctl.d/90-ezk-ro.conf" }
sysctl { title = "R read-only parameter", name = "kernel.ngroups_max", value = 1, optional = true,
         file = "/etc/sysctl.d/90-ezk-ro.conf", ignore_errors = true }
EOF
EZK_ROLES=$T/roles:$EZK_SRC/roles setup_json ro 01 -e SWAPPINESS="$(cat /proc/sys/vm/swappiness)"
is "$rc" 0 "sysctl optional: exit 0"
is "$(st "$A" "R not optional")" failed "sysctl without optional: a value /proc/sys cannot take fails"
like "$(msg "$A" "R not optional")" "^cannot set vm\.swappiness to [78] \(it is [0-9]+\): /proc/sys/vm/swappiness is read-only \(/proc/sys is read-only: a container\?\)" \
	"... saying why"
is "$(st "$A" "R absent optional") $(msg "$A" "R absent optional")" "changed warning: kernel.ezk_no_such_param absent: not applied" \
	"sysctl optional: an absent parameter is a warning"
is "$(th_exec 0 cat /etc/sysctl.d/90-ezk-ro.conf)" "kernel.ezk_no_such_param = 1" "... persisted; the failed one is not"
is "$(st "$A" "R read-only parameter")" failed "sysctl optional: a read-only parameter still fails"
like "$(msg "$A" "R read-only parameter")" "a read-only kernel parameter" "... saying so"

# ================================================================ the machine
is "$(machine_sysctls)" "$machine_before" "the machine's kernel parameters and host name are as they were"

echo "# total: $((($(date +%s%N) - t_start) / 1000000)) ms"
done_testing
