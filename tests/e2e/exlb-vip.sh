# Step 10 ex-lb's balancer and VIP without a Kubernetes cluster: the ex-lb
# role (haproxy as l4lb, keepalived, Debian's, from $EZK_HOME/bin) on two
# --net hosts in front of a stand-in "master" (busybox httpd on :6443 of a
# third host), run from a steps.lua of the test's own that has only that
# play (the deploy node's check through the VIP, ex-lb/vip, needs a real API:
# tests/e2e/exlb.sh runs the whole step on a cluster). Addresses in
# 198.18.0.0/15; the VIP is .250 of the hosts' /24, which no host has.
#
# Proves: the VIP is on the LB_ROLE=master host only, and a request through
# VIP:EX_APISERVER_PORT reaches the master; keepalived is a BACKUP with the
# other host as its unicast peer on the second host; a rerun changes and
# restarts nothing; while a loop of requests through the VIP runs, stopping
# keepalived, then the balancer, on the host holding the VIP moves it to the
# other host within seconds (starting them brings it back), and the loop
# misses at most a few requests.
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
. "$EZK_SRC/tests/harness/cluster.sh"
for b in haproxy keepalived; do
	if ! command -v $b >/dev/null && [ ! -x /usr/sbin/$b ]; then
		skip "$b is not installed (scripts/install-deps.sh)"
		done_testing
		exit 0
	fi
done
"$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >"$T/bin.log" 2>&1
[ -x "$EZK_HOME/bin/haproxy" ] && [ -x "$EZK_HOME/bin/keepalived" ] || {
	fail "bin-from-debian.sh puts haproxy and keepalived in \$EZK_HOME/bin" "$(tail -5 "$T/bin.log")"
	done_testing
	exit 1
}

th_start --net 3 || { fail "3 --net test hosts start"; done_testing; exit 1; }
. "$EZK_SRC/tests/harness/events.sh"
D=${TH_ADDRS[0]} E=${TH_ADDRS[1]} M=${TH_ADDRS[2]}
VIP=${TH_NET%.*}.250
hx() { th_exec "$@" 2>&1; }

tc_cluster c <<EOF
[etcd]
@2
[kube_master]
@2
[kube_node]
@2
[ex_lb]
@0 LB_ROLE=master EX_APISERVER_VIP=$VIP EX_APISERVER_PORT=8443
@1 LB_ROLE=backup EX_APISERVER_VIP=$VIP EX_APISERVER_PORT=8443
EOF
mkdir -p "$T/roles"
cat >"$T/roles/steps.lua" <<'EOF'
return {
  { id = "10", alias = "ex-lb", plays = { { hosts = "ex_lb", roles = { "ex-lb" }, serial = 1 } } },
}
EOF
export EZK_ROLES=$T/roles:$EZK_SRC/roles

# the stand-in master: an httpd on :6443 that says which host it is
hx 2 sh -c "mkdir -p /tmp/www && echo master-$M >/tmp/www/index.html && busybox httpd -p 6443 -h /tmp/www"
like "$(curl -s -m 5 "http://$M:6443/")" "master-$M" "the stand-in master answers on $M:6443"

ev_setup lb c 10
is "$rc" 0 "setup c 10: exit 0"
[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/lb.tasks" | head -10 | sed 's/^/# /'
vip_on() { th_exec "$1" ip -4 -o addr show 2>/dev/null | grep -qw "$VIP"; }
holder() { if vip_on 0; then echo D; elif vip_on 1; then echo E; else echo none; fi; }
th_wait_for 30 vip_on 0
is "$(holder)" "D" "the VIP is on the LB_ROLE=master host ($D)"
vip_on 1 && fail "... and not on the backup" || pass "... and not on the backup"
like "$(curl -s -m 5 "http://$VIP:8443/")" "master-$M" "a request through $VIP:8443 reaches the master"
like "$(hx 1 cat /etc/keepalived/keepalived.conf)" "state BACKUP" "$E's keepalived is a BACKUP"
like "$(hx 1 cat /etc/keepalived/keepalived.conf | tr -s ' \n' ' ')" "unicast_peer \{ $D \}" "... with $D as its unicast peer"
like "$(hx 0 cat /etc/l4lb/conf/l4lb.cfg)" "server $M $M:6443 check" "l4lb's config balances the master"

invs() { for i in 0 1; do for u in l4lb keepalived; do
	printf '%s/%s %s\n' $i $u "$(th_exec $i systemctl show $u -p InvocationID --value)"
done; done; }
inv0=$(invs)
ev_setup rerun c 10
is "$rc" 0 "rerun of 10: exit 0"
for h in $D $E; do is "$(ev_changed rerun $h)" "0" "... changed=0 on $h"; done
is "$(invs)" "$inv0" "... l4lb and keepalived not restarted"

# ---- failover while a loop of requests runs through the VIP
loop() {
	while [ ! -e "$T/loop.stop" ]; do
		if curl -s -m 3 "http://$VIP:8443/" 2>>"$T/loop.err" | grep -q master; then r=ok; else r=miss; fi
		echo "$(date +%s.%N) $r"
		sleep 0.2
	done
}
loop >"$T/loop.log" &
LOOP=$!
oks() { grep -c ' ok$' "$T/loop.log"; }
more_oks() { local n=$(($(oks) + $1)); th_wait_for 30 sh -c "[ \$(grep -c ' ok\$' '$T/loop.log') -ge $n ]"; }
more_oks 3 || fail "the loop through the VIP works"
moved() {
	local what=$1 to=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	"$@"
	if th_wait_for 20 vip_on "$to"; then
		t1=$(date +%s%N)
		pass "$what: the VIP moved to ${TH_ADDRS[$to]} in $(((t1 - t0) / 1000000)) ms"
	else
		fail "$what: the VIP moved to ${TH_ADDRS[$to]} within 20 s" "holder: $(holder)"
	fi
	more_oks 3 || fail "$what: requests through the VIP work again"
}
moved "keepalived stopped on $D" 1 th_exec 0 systemctl stop keepalived
vip_on 0 && fail "... and left $D" || pass "... and left $D"
moved "keepalived started again on $D (its priority is higher)" 0 th_exec 0 systemctl start keepalived
moved "the balancer (l4lb) stopped on $D" 1 th_exec 0 systemctl stop l4lb
is "$(th_exec 0 systemctl is-active keepalived)" "inactive" "... keepalived stopped with it (bound to l4lb)"
moved "l4lb started again on $D (keepalived with it)" 0 th_exec 0 systemctl start l4lb
kill -0 $LOOP 2>/dev/null && pass "the loop never ended" || fail "the loop never ended"
touch "$T/loop.stop"
wait $LOOP
misses=$(grep -c ' miss$' "$T/loop.log")
echo "# the loop: $(oks) requests answered, $misses missed over 4 moves of the VIP"
if [ "$misses" -le 8 ]; then pass "the loop missed at most a few requests ($misses <= 8)"; else fail "the loop missed at most a few requests" "$misses missed"; fi
is "$(holder)" "D" "the VIP is back on $D"

done_testing
