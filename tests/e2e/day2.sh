# The day-2 operations on one small cluster (three --net hosts: every host an
# etcd member, one master, two nodes; addresses, pods and Services in
# 198.18.0.0/15): ezk backup, restore, stop, start and destroy.
#
# Proves: backup writes clusters/c/backup/snapshot_<time>.db (0600) with its
# sha256 recorded and snapshot.db pointing at it, and the history says so;
# a snapshot whose bytes differ from the record is refused with the
# record's file:line before anything is asked or touched (exit 2); restore
# without a terminal and without --yes is refused and changes nothing;
# after a backup, a Deployment deleted and a ConfigMap made, restore puts the
# Deployment back (its pods run again) and the ConfigMap is gone, every etcd
# member healthy and every node Ready; stop leaves no component running
# or enabled, a rerun changes nothing, and start brings the cluster back
# (nodes Ready, the Deployment's pods running); destroy --check changes no
# host, destroy says what it leaves and that a reboot is advised, and
# afterwards, on every host, no ezk unit, process or mount is left and no
# file differs from the host's state before setup but those destroy says
# it leaves; a second destroy changes nothing.
# ezk-test: cluster
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
. "$EZK_SRC/tests/harness/cluster.sh"
tc_binaries

th_start --net 3 || { fail "3 --net test hosts start"; done_testing; exit 1; }
. "$EZK_SRC/tests/harness/events.sh"
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]}
hx() { th_exec "$@" 2>&1; }
opfailed() { [ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/$1.tasks" | head -10 | sed 's/^/# /'; }

tc_cluster c <<EOF
[etcd]
@0
@1
@2
[kube_master]
@0 k8s_nodename='master-01'
[kube_node]
@1 k8s_nodename='worker-01'
@2 k8s_nodename='worker-02'
EOF

# ---- a host's state: its files (the overlay's upper dir: what the host
# changed from the machine's root; files and links with their sha256, new
# directories, whiteouts), its mounts, processes and unit files. What every
# login or the host's own systemd writes is left out (var/log's login
# records and journal, var/lib/sudo, var/lib/systemd, /tmp).
hstate() {
	local i=$1 u
	u=$(th_upper "$i")
	(
		cd "$u" || exit 1
		find . \( -path ./var/log/journal -o -path ./var/log/wtmp -o -path ./var/log/btmp -o \
			-path ./var/log/lastlog -o -path ./var/lib/sudo -o -path ./var/lib/systemd -o -path ./tmp -o \
			-path ./var/tmp \) -prune -o -printf '%y %p\n' | while read -r t p; do
			case $t in
			# (a copy in the upper dir the same as the machine's file
			# below it is no change)
			f) cmp -s "$p" "/${p#./}" || echo "file ${p#.} $(sha256sum "$p" | cut -c1-16)" ;;
			l) [ -L "/${p#./}" ] && [ "$(readlink "/${p#./}")" = "$(readlink "$p")" ] ||
				echo "link ${p#.} -> $(readlink "$p")" ;;
			d) [ -d "/${p#./}" ] || echo "dir ${p#.}" ;;
			c) echo "whiteout ${p#.}" ;;
			*) echo "$t ${p#.}" ;;
			esac
		done
	) | LC_ALL=C sort
	hx "$i" sh -c "awk '{print \"mount \" \$5}' /proc/self/mountinfo | sort -u"
	# (less what logins start and end on their own: logind's
	# systemd-user-runtime-dir and the user manager's (sd-pam), seen once
	# in the middle of its work after the test's own SSH logins)
	hx "$i" sh -c "ps -e -o comm= | grep -vx -e ps -e sh -e sort -e awk -e grep -e sed -e systemd-user-ru -e '(sd-pam)' | sed 's/^/process /' | sort -u"
	hx "$i" sh -c "systemctl list-unit-files --no-legend --no-pager | awk '{print \"unit \" \$1}' | sort -u"
}
# (one sorted list, as comm wants it)
hstate_sorted() { hstate "$1" | LC_ALL=C sort -u; }
# the documented leftovers (ezk help destroy; clean/done says them)
LEFT='^(file|link|dir) /opt/(kube|cni)(/|$)|^dir /opt$|^file /etc/(sysctl\.d/95-k8s-sysctl\.conf|modules-load\.d/10-k8s-modules\.conf|modprobe\.d/sctp\.conf|systemd/system\.conf\.d/30-k8s-ulimits\.conf|systemd/journald\.conf\.d/95-k8s-journald\.conf|fstab|hostname) |^dir /etc/systemd/(system\.conf\.d|journald\.conf\.d)$|^dir /etc/modprobe\.d$'
# The hosts' lower root is this machine's, which has Debian's etcd-server and
# containerd installed (the test bed's own packages): their /var/lib/etcd and
# /etc/containerd are ETCD_DATA_DIR and CONTAINERD_CONFIG_DIR, which setup
# takes over (config.toml rewritten) and clean removes, as kubeasz's does.
# On a host without those packages they were not there before setup.
MACHINE='^whiteout /(var/lib/etcd|etc/containerd)$'


"$EZK" ping c --key "$TH_KEY" >/dev/null 2>&1
for i in 0 1 2; do hstate_sorted $i >"$T/before.$i"; done
like "$(cat "$T/before.0")" '^process sshd' "the hosts' state before setup is taken (processes)"

ev_setup all c all
is "$rc" 0 "setup c all: exit 0"
opfailed all
tc_web 2 && pass "a Deployment web of 2 pods runs" || fail "a Deployment web of 2 pods runs" "$($K get pods -o wide 2>&1)"
CTL="ETCDCTL_API=3 /opt/kube/bin/etcdctl --cacert=/etc/kubernetes/ssl/ca.pem --cert=/etc/kubernetes/ssl/etcd.pem --key=/etc/kubernetes/ssl/etcd-key.pem"
etcd_health() { hx 0 sh -c "$CTL --endpoints=https://$A:2379,https://$B:2379,https://$C:2379 endpoint health 2>&1 | grep -c 'is healthy'"; }
nodes_ready() { $K get nodes --no-headers 2>/dev/null | awk '$2 ~ /^Ready(,|$)/' | wc -l; }

# ---- backup
ev_op backup backup c
is "$rc" 0 "ezk backup c: exit 0"
opfailed backup
snap=$(readlink "$CD/backup/snapshot.db")
like "$snap" '^snapshot_[0-9]{14}\.db$' "backup/snapshot.db points at snapshot_<time>.db"
is "$(stat -c %a "$CD/backup/$snap" 2>&1)" "600" "... which is 0600 (it holds the cluster's secrets)"
is "$(cut -d' ' -f1 "$CD/backup/$snap.sha256" 2>&1)" "$(sha256sum "$CD/backup/$snap" | cut -d' ' -f1)" "... and its sha256 is recorded beside it"
[ "$(stat -c %s "$CD/backup/$snap")" -gt 100000 ] && pass "... a snapshot of some size" || fail "... a snapshot of some size"
like "$("$EZK" log c -n 1)" "backup: backup/$snap sha256 [0-9a-f]{64}" "ezk log: the backup with its file and sha256"
is "$(hx 0 ls /var/lib/ezk/backup 2>&1)" "" "the member's copy is gone"

# ---- a snapshot that is not what was recorded: refused first
cp "$CD/backup/$snap" "$T/bad.db" && printf x >>"$T/bad.db"
cp "$CD/backup/$snap.sha256" "$T/bad.db.sha256"
run "$EZK" restore c "$T/bad.db" --yes --key "$TH_KEY"
is "$rc" 2 "restore of a snapshot whose sha256 differs from its record: exit 2"
like "$err" "$T/bad.db.sha256:1: .*refusing to restore it; nothing was done" "... the record named with file:line"
run "$EZK" restore c --key "$TH_KEY" </dev/null
is "$rc" 2 "restore without a terminal and without --yes: exit 2"
like "$err" "add --yes to go on. Nothing was done." "... says --yes is needed"
is "$(hx 0 ls /var/lib/ezk/restore 2>&1 | grep -c 'No such')" "1" "... and sent nothing to the members"

# ---- the state changes, then the restore takes it back
$K delete deploy web --wait=true >/dev/null && pass "Deployment web deleted" || fail "Deployment web deleted"
$K create configmap after-backup --from-literal=a=b >/dev/null && pass "a ConfigMap made after the backup" || fail "a ConfigMap made after the backup"
run $K get deploy web
like "$err" "NotFound" "... it is gone"
ev_op restore restore c --yes
is "$rc" 0 "ezk restore c --yes: exit 0"
opfailed restore
like "$("$EZK" log c -n 1)" "^.*restore: .*backup/$snap" "ezk log: the restore with its snapshot"
run $K get deploy web -o jsonpath='{.spec.replicas}'
is "$out" "2" "the Deployment web is back"
run $K get configmap after-backup
like "$err" "NotFound" "the ConfigMap made after the backup is gone"
$K rollout status deploy/web --timeout=180s >/dev/null 2>&1 && pass "... and its 2 pods run again" || fail "... and its 2 pods run again" "$($K get pods -o wide 2>&1)"
is "$(etcd_health)" "3" "every etcd member is healthy"
is "$(hx 0 sh -c "$CTL --endpoints=https://$A:2379 member list 2>&1 | wc -l")" "3" "... and etcd has 3 members"
is "$(nodes_ready)" "3" "every node is Ready"
run $K get --raw /readyz
is "$out" "ok" "the API is ready"
[ -d "$(th_upper 0)/var/lib/etcd.before-restore/member" ] && pass "the member's old data is kept in ETCD_DATA_DIR.before-restore" ||
	fail "the member's old data is kept"

# ---- stop, then start
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler kube-lb kubelet kube-proxy containerd"
states() { for i in 0 1 2; do hx $i systemctl is-active $COMPONENTS | sort | uniq -c | tr -s ' \n' ' '; echo; done; }
ev_op stop stop c
is "$rc" 0 "ezk stop c: exit 0"
opfailed stop
is "$(states | grep -vc '^ *[0-9]* inactive *$')" "0" "... nothing is active on any host"
is "$(hx 1 systemctl is-enabled kubelet)" "disabled" "... kubelet is disabled at boot"
run $K get --raw /healthz
[ "$rc" != 0 ] && pass "... the API does not answer" || fail "... the API does not answer"
ev_op stop2 stop c
is "$rc" 0 "ezk stop again: exit 0"
for h in $A $B $C; do is "$(ev_changed stop2 $h)" "0" "... changed=0 on $h"; done
ev_op start start c
is "$rc" 0 "ezk start c: exit 0"
opfailed start
is "$(nodes_ready)" "3" "... every node is Ready"
is "$(etcd_health)" "3" "... every etcd member is healthy"
is "$(hx 2 systemctl is-enabled kubelet kube-proxy etcd | sort -u)" "enabled" "... enabled at boot again"
$K rollout status deploy/web --timeout=180s >/dev/null 2>&1 && pass "... the Deployment's pods run" || fail "... the Deployment's pods run" "$($K get pods -o wide 2>&1)"
ev_op start2 start c
is "$rc" 0 "ezk start again: exit 0"
for h in $A $B $C; do is "$(ev_changed start2 $h)" "0" "... changed=0 on $h"; done

# ---- destroy
run "$EZK" destroy c --key "$TH_KEY" </dev/null
is "$rc" 2 "destroy without a terminal and without --yes: exit 2"
is "$(hx 1 systemctl is-active kubelet)" "active" "... and the cluster still runs"
# (a running cluster writes its data all the time: the hosts' /etc and
# /opt, and what runs, are what --check must leave alone)
etc_digest() { (cd "$(th_upper "$1")" && find etc opt -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }
d0="" a0=""
for i in 0 1 2; do d0="$d0 $(etc_digest $i)"; done
a0=$(states)
ev_op dcheck destroy c --check
is "$rc" 0 "destroy --check: exit 0"
like "$(ev_titles dcheck "$B" changed)" "systemd_unit kubelet.service" "... says it would remove kubelet's unit"
d1=""
for i in 0 1 2; do d1="$d1 $(etc_digest $i)"; done
is "$d1" "$d0" "... and changes no file in /etc or /opt on any host"
is "$(states)" "$a0" "... and stops nothing"
ev_op destroy destroy c --yes
is "$rc" 0 "ezk destroy c --yes: exit 0"
opfailed destroy
like "$tasks" "clean leaves on the hosts: /opt/kube/bin and /opt/cni/bin" "destroy says what it leaves"
like "$tasks" "reboot the hosts" "... and that a reboot is advised"
like "$("$EZK" log c -n 1)" "^.*destroy: " "ezk log: the destroy"
for i in 0 1 2; do
	h=${TH_ADDRS[$i]}
	hstate_sorted $i >"$T/after.$i"
	LC_ALL=C comm -13 "$T/before.$i" "$T/after.$i" >"$T/new.$i"
	is "$(grep -vE "$LEFT" "$T/new.$i" | grep -vE "$MACHINE" | grep -v '^unit ' | grep -v '^process ' | grep -v '^mount ')" "" \
		"$h: no file left but what destroy says it leaves"
	is "$(grep '^unit ' "$T/new.$i")" "" "$h: no unit left"
	is "$(grep '^process ' "$T/new.$i")" "" "$h: no process left"
	is "$(grep '^mount ' "$T/new.$i")" "" "$h: no mount left"
	is "$(LC_ALL=C comm -23 "$T/before.$i" "$T/after.$i" | grep -E '^(file|link|dir|whiteout) ' | grep -vE "$LEFT")" "" "$h: nothing of the host's before setup is gone or changed"
done
ev_op destroy2 destroy c --yes
is "$rc" 0 "destroy again: exit 0"
for h in $A $B $C; do is "$(ev_changed destroy2 $h)" "0" "... changed=0 on $h"; done
grep -P '\tchanged\t' "$T/destroy2.tasks" | head -8 | sed 's/^/# /'

done_testing
