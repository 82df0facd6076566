# Steps 01 prepare and 02 etcd end to end, on six systemd test hosts with
# the real etcd (Debian's etcd-server 3.4, pushed from $EZK_HOME/bin):
# the PKI on the deploy node, a three-member TLS cluster that etcdctl uses
# with the certificates in clusters/c/ssl, a rerun that changes nothing and
# restarts nothing, --check, a fourth member (the certificate reissued, the
# members restarted one at a time, nothing else changed), two more at once,
# and an unreachable
# member that stops step 02 before any member starts.
# The inventory is kubeasz's own example/hosts.multi-node (../shared/data)
# with its addresses replaced by the test hosts; without ../shared, ezk's
# template of the same file.
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	skip "etcd-server and etcd-client are not installed (scripts/install-deps.sh)"
	done_testing
	exit 0
fi

th_start 6 || { fail "6 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]} D=${TH_ADDRS[3]} E=${TH_ADDRS[4]} F=${TH_ADDRS[5]}
"$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >/dev/null || fail "bin-from-debian fills \$EZK_HOME/bin"

. "$EZK_SRC/tests/harness/events.sh"
inv() { th_exec "$1" systemctl show etcd -p InvocationID --value; }
hx() { th_exec "$@" 2>&1; }

# ---- an unreachable member stops step 02 before any member starts
"$EZK" new dead >/dev/null
DEAD=$EZK_HOME/clusters/dead
cat >"$DEAD/hosts" <<EOF
[etcd]
$A
$B
gone ansible_host=127.0.0.1 ansible_port=$(th_free_port)
[kube_master]
$A
[kube_node]
$B
[all:vars]
bin_dir="/opt/kube/bin"
ca_dir="/etc/kubernetes/ssl"
EOF
ev_setup dead01 dead 01
is "$rc" 1 "step 01 with an unreachable host: exit 1"
ev_setup dead02 dead 02
is "$rc" 1 "step 02 with an unreachable etcd member: exit 1"
like "$(cat "$T/dead02.tasks")" $'^gone\tconnect\tunreachable\tcannot connect' "... the member is reported unreachable"
for i in 0 1; do
	like "$(ev_recap dead02 ${TH_ADDRS[$i]})" "ok=0 changed=0 failed=0" "... nothing ran on ${TH_ADDRS[$i]}"
	is "$(hx $i sh -c 'test -e /opt/kube/bin/etcd && echo pushed; systemctl is-active etcd')" "inactive" \
		"... no etcd pushed or started on ${TH_ADDRS[$i]}"
done
run "$EZK" setup dead 02 --key "$TH_KEY"
like "$out" "gone unreachable: cannot connect" "plain output: names the unreachable member"
like "$out" "stopped: any_errors_fatal" "... and says the step stopped"

# ---- the cluster: kubeasz's example inventory on the test hosts
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
unlike "$(grep -v '^#' "$CD/hosts")" '192\.168\.1\.[1-5]\b' "every example address replaced"

# --check changes nothing on a host: listing I is every path of host I's
# overlay upper dir (mode, owner, size, mtime, content), as th_upper_digest
# sees them; written_since I LISTING the paths written since. Two writers
# are not ezk, and the paths they write, only those, may change under
# --check (a run on a loaded machine showed both): a running etcd writes its
# own data files (WAL, snapshots, the db) whenever its raft log moves (a
# leader election when a heartbeat comes late, a periodic compaction); and
# systemd makes (and removes) the PrivateTmp directories of a service it
# starts on demand, systemd-hostnamed when a login asks for the host name.
# Anything else written is ezk's doing, and fails the test.
listing() {
	(cd "$(th_upper "$1")" && find . \( -path ./var/log -o -path ./var/lib/sudo -o -path ./var/lib/systemd \) \
		-prune -o -printf '%p %m %u %g %s %T@\n' | sort &&
		find . \( -path ./var/log -o -path ./var/lib/sudo -o -path ./var/lib/systemd \) -prune -o \
			-type f -print0 | sort -z | xargs -0 -r sha256sum)
}
written_since() {
	diff <(printf '%s\n' "$2") <(listing "$1") | sed -n 's/^[<>] \([0-9a-f]\{64\}  \)\{0,1\}\(\.[^ ]*\).*/\2/p' | sort -u
}
NOT_EZK='^\./var/lib/etcd(/member(/(wal|snap)(/[0-9a-f]{16}-[0-9a-f]{16}\.(wal|snap)|/db|/[0-9]\.tmp)?)?)?$'
NOT_EZK=$NOT_EZK'|^\./var/tmp(/systemd-private-[0-9a-f]{32}-[A-Za-z0-9@._-]+\.service-[A-Za-z0-9]{6}(/tmp)?)?$'
# check_untouched NAME I LISTING: host I: nothing written but those
check_untouched() {
	local w
	w=$(written_since "$2" "$3")
	[ -n "$w" ] && printf '# %s: written on %s: %s\n' "$1" "${TH_ADDRS[$2]}" "$(echo $w)"
	is "$(printf '%s\n' "$w" | grep -vE "$NOT_EZK" | grep . | paste -sd' ')" "" "$1: ezk wrote nothing on ${TH_ADDRS[$2]}"
}

# --check on the new cluster: says what it would do, makes nothing (no CA,
# no file on any host)
list0=$(listing 0) list3=$(listing 3)
ev_setup fresh_check c 01-02 --check
is "$rc" 0 "setup c 01-02 --check on a new cluster: exit 0"
[ "$rc" = 0 ] || { grep -E '"failed"|recap' "$T/fresh_check.json" | head -5 | sed 's/^/# /'; }
like "$(ev_titles fresh_check localhost changed)" "cert ca" "... reports the CA it would issue"
like "$(ev_titles fresh_check "$A" changed)" "copy /etc/kubernetes/ssl/etcd.pem" "... and the certificate it would copy"
[ -e "$SSL" ] && fail "--check: no ssl/ made" || pass "--check: no ssl/ made"
check_untouched "--check on a new cluster" 0 "$list0"
check_untouched "--check on a new cluster" 3 "$list3"

ev_setup first01 c 01
is "$rc" 0 "setup c 01: exit 0"
is "$(ev_failed_any first01)" "" "... no host failed"
ev_setup first02 c 02
is "$rc" 0 "setup c 02: exit 0"
is "$(ev_failed_any first02)" "" "... no host failed"
[ "$rc" = 0 ] || { tail -30 "$T/first02.json" | sed 's/^/# /'; }

# the PKI on the deploy node
for f in ca admin kube-controller-manager kube-scheduler kube-proxy etcd; do
	is "$(stat -c %a "$SSL/$f-key.pem" 2>&1) $(stat -c %a "$SSL/$f.pem" 2>&1)" "600 644" "ssl/$f-key.pem 0600, $f.pem 0644"
	[ $f = ca ] && continue
	is "$(openssl verify -CAfile "$SSL/ca.pem" "$SSL/$f.pem" 2>&1)" "$SSL/$f.pem: OK" "openssl: $f.pem is signed by ca.pem"
done
is "$(stat -c %a "$SSL")" "700" "ssl/ is 0700"
like "$(openssl x509 -in "$SSL/ca.pem" -noout -subject -ext basicConstraints | paste -sd' ' -)" "CN ?= ?kubernetes-ca.*CA:TRUE" "ca.pem: kubernetes-ca, a CA"
like "$(openssl x509 -in "$SSL/admin.pem" -noout -subject)" "O ?= ?system:masters, CN ?= ?admin" "admin.pem: CN admin, O system:masters"
like "$(openssl x509 -in "$SSL/admin.pem" -noout -ext extendedKeyUsage)" "TLS Web Client Authentication" "admin.pem: client auth"
sans() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | paste -sd' ' -; }
want_sans=$(printf 'IPAddress:%s\n' 127.0.0.1 "$A" "$B" "$C" | sort | paste -sd' ' -)
is "$(sans "$SSL/etcd.pem")" "$want_sans" "etcd.pem: SANs are 127.0.0.1 and every [etcd] member"
like "$(openssl x509 -in "$SSL/etcd.pem" -noout -ext extendedKeyUsage)" "TLS Web Server Authentication, TLS Web Client Authentication" "etcd.pem: server and client (peer) auth"
like "$(openssl x509 -in "$SSL/etcd.pem" -noout -enddate)" "notAfter=.*20[5-9][0-9]" "etcd.pem: CERT_EXPIRY (438000h: ~50 years)"
is "$(stat -c %a "$CD/kubectl.kubeconfig" 2>&1)" "600" "kubectl.kubeconfig 0600"
is "$($PY - "$CD/kubectl.kubeconfig" "$SSL/admin.pem" <<'EOF'
import base64, sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
u = k["users"][0]["user"]
ok = base64.b64decode(u["client-certificate-data"]) == open(sys.argv[2], "rb").read()
print(k["clusters"][0]["cluster"]["server"], k["current-context"], k["users"][0]["name"], ok)
EOF
)" "https://$A:6443 context-cluster1 admin True" "kubectl.kubeconfig: first master, CONTEXT_NAME, admin's certificate embedded"
for f in kube-controller-manager kube-scheduler kube-proxy; do
	[ -s "$CD/$f.kubeconfig" ] && pass "$f.kubeconfig written" || fail "$f.kubeconfig written"
done
unlike "$(git -C "$CD" ls-files)" 'ssl|kubeconfig|pem' "history: no key, certificate or kubeconfig is tracked"

# the members
EP="https://$A:2379,https://$B:2379,https://$C:2379"
ctl() { etcdctl --cacert="$SSL/ca.pem" --cert="$SSL/etcd.pem" --key="$SSL/etcd-key.pem" --dial-timeout=3s "$@" 2>&1; }
health=$(ctl --endpoints="$EP" endpoint health)
is "$(printf '%s\n' "$health" | grep -c 'is healthy')" 3 "etcdctl with clusters/c/ssl: 3 healthy members over https"
members=$(ctl --endpoints="$EP" member list)
is "$(printf '%s\n' "$members" | grep -c ', started, etcd-')" 3 "member list: 3 started members named etcd-<address>"
is "$(ctl --endpoints="https://$A:2379" put ezk-key "from $A")" "OK" "put on $A"
is "$(ctl --endpoints="https://$C:2379" get ezk-key --print-value-only)" "from $A" "read back from $C"
is "$(etcdctl --cacert="$SSL/ca.pem" --cert="$SSL/admin.pem" --key="$SSL/admin-key.pem" --endpoints="https://$B:2379" get ezk-key --print-value-only 2>&1)" "from $A" "the admin client certificate works too"
# (Each host's own etcd, by process: the hosts share the machine's network
# namespace, where other tests' etcd may listen on :2379 too, and a host's
# ss names only the processes of its own PID namespace.)
listen=$(for i in 0 1 2; do th_exec $i ss -ltnHp 'sport = :2379' | awk '/"etcd"/ { print $4 }'; done | sort | paste -sd' ' -)
is "$listen" "$(printf '%s:2379\n' "$A" "$B" "$C" | sort | paste -sd' ' -)" "clients: https on each member's address only (no plain http on 127.0.0.1, kubeasz's default)"
for i in 0 1 2; do
	h=${TH_ADDRS[$i]}
	is "$(hx $i stat -c %a /etc/kubernetes/ssl/etcd-key.pem /var/lib/etcd | paste -sd' ' -)" "600 700" "$h: etcd-key.pem 0600, data dir 0700"
	like "$(hx $i cat /etc/systemd/system/etcd.service)" "--initial-cluster=etcd-$A=https://$A:2380,etcd-$B=https://$B:2380,etcd-$C=https://$C:2380 " \
		"$h: --initial-cluster from [etcd]"
	is "$(hx $i systemctl is-enabled etcd)" "enabled" "$h: etcd enabled"
	is "$(hx $i hostname)" "master-0$((i + 1))" "$h: hostname is K8S_NODENAME (k8s_nodename from the inventory)"
done
for i in 3 4; do
	is "$(hx $i sh -c 'test -e /opt/kube/bin/etcd && echo yes || echo no')" "no" "${TH_ADDRS[$i]} (not in [etcd]): no etcd"
done

# ---- the rerun changes nothing and restarts nothing
inv0="$(inv 0) $(inv 1) $(inv 2)"
ev_setup again c 01-02
is "$rc" 0 "rerun 01-02: exit 0"
for h in localhost "$A" "$B" "$C" "$D" "$E"; do
	is "$(ev_changed again "$h")" 0 "rerun: changed=0 on $h"
done
is "$(inv 0) $(inv 1) $(inv 2)" "$inv0" "rerun: etcd not restarted (same InvocationID on every member)"

# ---- a fourth member: --check first
sha_of() { sha256sum "$@" | cut -d' ' -f1 | paste -sd' ' -; }
pki0=$(sha_of "$SSL/ca.pem" "$SSL/admin.pem" "$SSL/kube-proxy.pem" "$CD/kubectl.kubeconfig")
etcd0=$(sha_of "$SSL/etcd.pem" "$SSL/etcd-key.pem")
sed -i "0,/^$C\$/s//$C\n$D/" "$CD/hosts"
is "$(sed -n '/^\[etcd\]/,/^\[/p' "$CD/hosts" | grep -c '^127\.')" 4 "hosts: $D added to [etcd]"
list0=$(listing 0) list3=$(listing 3)
ev_setup check c 02 --check
is "$rc" 0 "02 --check with a fourth member: exit 0"
like "$(ev_titles check localhost changed)" "cert etcd" "--check: reports the etcd certificate it would reissue"
is "$(sha_of "$SSL/etcd.pem" "$SSL/etcd-key.pem")" "$etcd0" "--check: etcd.pem and its key untouched"
check_untouched "--check with a fourth member" 0 "$list0"
check_untouched "--check with a fourth member" 3 "$list3"

ev_setup add c 02
is "$rc" 0 "02 with a fourth member: exit 0"
is "$(ev_failed_any add)" "" "... no host failed"
[ "$rc" = 0 ] || { tail -30 "$T/add.json" | sed 's/^/# /'; }
like "$(cat "$T/check.tasks")" "^check	warning	$CD/hosts:[0-9]+: warning: \[etcd\] has 4 members: an even number" "an even number of members warns (etcd/check.lua, before the step)"
like "$(ev_msg add localhost "cert etcd")" "names changed: \+$D" "etcd.pem reissued: its names changed (+$D)"
is "$(sans "$SSL/etcd.pem")" "$(printf 'IPAddress:%s\n' 127.0.0.1 "$A" "$B" "$C" "$D" | sort | paste -sd' ' -)" "etcd.pem now holds the fourth member"
is "$(sha_of "$SSL/ca.pem" "$SSL/admin.pem" "$SSL/kube-proxy.pem" "$CD/kubectl.kubeconfig")" "$pki0" "the CA, other certificates and kubeconfigs unchanged"
is "$(ev_changed add localhost)" 1 "deploy node: only the etcd certificate changed"
inv1="$(inv 0) $(inv 1) $(inv 2)"
n_restarted=0
for k in 1 2 3; do
	[ "$(echo "$inv0" | cut -d' ' -f$k)" != "$(echo "$inv1" | cut -d' ' -f$k)" ] && n_restarted=$((n_restarted + 1))
done
is "$n_restarted" 3 "the three members were restarted (new certificate)"
for h in "$A" "$B" "$C"; do
	is "$(ev_titles add "$h" changed)" "copy /etc/kubernetes/ssl/etcd-key.pem,copy /etc/kubernetes/ssl/etcd.pem,etcd: restart (etcd-$h),etcd: restart pending" \
		"$h: only the certificate changed, and etcd restarted for it"
done
like "$(ev_titles add "$D" changed)" "etcd: member add etcd-$D" "$D: added with etcdctl member add before it started"
like "$(hx 3 cat /etc/systemd/system/etcd.service)" "--initial-cluster-state=existing" "$D: joined with --initial-cluster-state=existing"
# initial_cluster I: host I's --initial-cluster, one member a line, sorted
initial_cluster() { hx "$1" cat /etc/systemd/system/etcd.service | sed -n 's/.*--initial-cluster=\([^ ]*\).*/\1/p' | tr ',' '\n' | sort; }
members_of() { for h in "$@"; do echo "etcd-$h=https://$h:2380"; done | sort; }
is "$(initial_cluster 3)" "$(members_of "$A" "$B" "$C" "$D")" "$D: --initial-cluster is the cluster it joined"
EP4="$EP,https://$D:2379"
is "$(ctl --endpoints="$EP4" endpoint health | grep -c 'is healthy')" 4 "4 healthy members"
is "$(ctl --endpoints="$EP4" member list | grep -c ', started, etcd-')" 4 "member list: 4 started"
is "$(ctl --endpoints="https://$D:2379" get ezk-key --print-value-only)" "from $A" "the new member has the data"
# the restarts were one at a time: each member's start after the previous one was healthy
# (hosts share the machine's monotonic clock; parallel restarts would be ms apart)
starts=$(for i in 0 1 2; do th_exec $i systemctl show etcd -p ActiveEnterTimestampMonotonic --value; done | sort -n | paste -sd' ' -)
echo "# restart times (monotonic us): $starts"
is "$(echo "$starts" | awk '{ print ($2 - $1 > 100000 && $3 - $2 > 100000) ? "apart" : "together" }')" "apart" \
	"the members restarted one after another, not together"

inv2="$(inv 0) $(inv 1) $(inv 2) $(inv 3)"
ev_setup again4 c 02
is "$rc" 0 "rerun with four members: exit 0"
for h in localhost "$A" "$B" "$C" "$D"; do
	is "$(ev_changed again4 "$h")" 0 "rerun: changed=0 on $h"
done
is "$(inv 0) $(inv 1) $(inv 2) $(inv 3)" "$inv2" "rerun: no member restarted"

# ---- two more members at once: each is added and started in turn
sed -i "0,/^$D\$/s//$D\n$E\n$F/" "$CD/hosts"
is "$(sed -n '/^\[etcd\]/,/^\[/p' "$CD/hosts" | grep -c '^127\.')" 6 "hosts: $E and $F added to [etcd]"
ev_setup add2 c 02
is "$rc" 0 "02 with two new members: exit 0"
is "$(ev_failed_any add2)" "" "... no host failed"
[ "$rc" = 0 ] || { grep -E 'failed|recap' "$T/add2.json" | tail -5 | sed 's/^/# /'; }
EP6="$EP4,https://$E:2379,https://$F:2379"
is "$(ctl --endpoints="$EP6" endpoint health | grep -c 'is healthy')" 6 "6 healthy members"
is "$(ctl --endpoints="$EP6" member list | grep -c ', started, etcd-')" 6 "member list: 6 started"
is "$(initial_cluster 4)" "$(members_of "$A" "$B" "$C" "$D" "$E")" "$E: joined the cluster of five (itself included)"
is "$(initial_cluster 5)" "$(members_of "$A" "$B" "$C" "$D" "$E" "$F")" "$F: joined the cluster of six, after $E"
ev_setup again6 c 02
for h in localhost "$A" "$B" "$C" "$D" "$E" "$F"; do
	is "$(ev_changed again6 "$h")" 0 "rerun with six: changed=0 on $h"
done

done_testing
