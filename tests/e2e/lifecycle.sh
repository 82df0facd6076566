# The cluster's lifecycle (issue 16): add-node then del-node of a worker,
# add-master then del-master, add-etcd then del-etcd, on a real v1.20.2
# cluster in --net test hosts; one host (C) joins and leaves in each role
# in turn, so each deletion's clean is proved by the next addition.
#
# Proves: after each command, `kubectl get nodes` and `etcdctl member list`
# agree with hosts, and hosts changed by exactly the command's line; the
# history has a commit per command; a deleted host runs nothing of its role
# any more; pods move off a node that leaves; refusals (a host already
# there, the last master, the last etcd member, a master given to del-node,
# a quorum that a removal would break) exit before any host changes; an
# add whose new host cannot be reached leaves hosts, the cluster's folder
# and every host as they were; `setup all` afterwards changes nothing.
# Then, on the same cluster: kcfg-adm makes a user with the view role and
# takes it away; kca-renew replaces the CA and every certificate while the
# workload's containers keep running.
# ezk-test: cluster
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
# (About 15 minutes: make test leaves it out unless EZK_TEST_DAY2_CLUSTERS=1,
# which .ci/run sets when the Kubernetes build came from the cache, so CI
# stays within its time on a new machine. Passed here 105 of 105,
# 2026-12-06: 930 s by hand, 605 s in CI.)
if [ "${EZK_TEST_DAY2_CLUSTERS:-0}" != 1 ]; then
	skip "the lifecycle commands on a whole cluster: about 15 minutes, left out of this run (EZK_TEST_DAY2_CLUSTERS=1 runs it; .ci/run does when Kubernetes was built before)"
	done_testing
	exit 0
fi
th_private_home
. "$EZK_SRC/tests/harness/events.sh"
. "$EZK_SRC/tests/harness/cluster-life.sh"
cl_bin

th_start --net 3 || { fail "3 --net test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]}
hx() { th_exec "$@" 2>&1; }
# an address of the hosts' network where no host answers
NOBODY=${TH_NET%.*}.250

cl_new c etcd=0 kube_master=0 kube_node=1
cl_setup c

# life NAME CMD ARGS...: `ezk CMD c ARGS --json`, events in $T/NAME.*
life() {
	local name=$1 cmd=$2 t0
	shift 2
	t0=$(date +%s%N)
	"$EZK" "$cmd" c "$@" --key "$TH_KEY" --json >"$T/$name.json" 2>"$T/$name.err"
	rc=$?
	echo "# $cmd $*: $((($(date +%s%N) - t0) / 1000000)) ms, exit $rc"
	if ! /usr/bin/python3 "$_EV_PY" "$T/$name.json" >"$T/$name.tasks" 2>"$T/$name.broken"; then
		[ -s "$T/$name.json" ] && fail "$name: the JSON events are whole" "$(cat "$T/$name.broken")"
	fi
	[ "$rc" = 0 ] || { grep -P '\t(failed|unreachable)\t' "$T/$name.tasks" | head -10; tail -5 "$T/$name.err"; } | sed 's/^/# /'
}
# rerun NAME: `setup c all` changes nothing anywhere
rerun() {
	ev_setup "$1" c all
	is "$rc" 0 "$1: setup all afterwards: exit 0"
	local h bad=""
	for h in localhost $A $B $C; do
		c=$(ev_changed "$1" "$h")
		[ -z "$c" ] || [ "$c" = 0 ] || bad="$bad $h:$c"
	done
	is "$bad" "" "$1: ... changed=0 on every host"
	[ -z "$bad" ] || grep -P '\tchanged\t' "$T/$1.tasks" | head -8 | sed 's/^/# /'
}
commits() { git -C "$CD" rev-list --count HEAD; }
# cfg_digest I: one checksum of what ezk installs on host I (paths, modes,
# owners, sizes, mtimes and contents of its overlay's etc, opt, root, usr and
# var/lib/ezk): th_upper_digest's whole overlay changes on its own in a
# running cluster (etcd's data, kubelet's state, containerd's, logs)
cfg_digest() {
	(
		cd "$(th_upper "$1")" || exit 1
		set -- $(ls -d etc opt root usr var/lib/ezk 2>/dev/null)
		find "$@" -path root/.kube/cache -prune -o -printf '%p %m %u %g %s %T@\n' | sort
		find "$@" -path root/.kube/cache -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum
	) | sha256sum | cut -d' ' -f1
}
lastlog() { git -C "$CD" log -1 --format=%s; }

is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready" "the cluster: a master and a node"

# ---- refusals: exit 2, nothing touched (no host is even reached)
cp "$CD/hosts" "$T/hosts.0"
n0=$(commits)
run "$EZK" add-node c "$B" --key "$TH_KEY"
is "$rc" 2 "add-node of a host already in [kube_node]: exit 2"
like "$err" "$B is in \[kube_node\] already" "... saying so"
run "$EZK" del-master c "$A" --key "$TH_KEY"
is "$rc" 2 "del-master of the last master: exit 2"
like "$err" "last master" "... saying so"
run "$EZK" del-etcd c "$A" --key "$TH_KEY"
is "$rc" 2 "del-etcd of the last member: exit 2"
run "$EZK" del-node c "$A" --key "$TH_KEY"
is "$rc" 2 "del-node of a master: exit 2"
like "$err" "del-master" "... pointing at del-master"
run "$EZK" add-node c "$C" ansible_ssh_pass=x --key "$TH_KEY"
is "$rc" 2 "a password in the command line: exit 2"
is "$(commits)" "$n0" "... no run recorded"
cmp -s "$CD/hosts" "$T/hosts.0" && pass "... hosts untouched" || fail "... hosts untouched"

# ---- a failed add: the new host cannot be reached
ssl0=$(cd "$CD/ssl" && ls | sort | paste -sd' ')
digs0="$(cfg_digest 0) $(cfg_digest 1)"
nodes0=$(cl_nodes)
life failadd add-node "$NOBODY" k8s_nodename=host-9 -T 3
is "$rc" 1 "add-node of a host that cannot be reached: exit 1"
like "$(cat "$T/failadd.err")" "hosts unchanged.*nothing was changed" "... saying nothing changed"
cmp -s "$CD/hosts" "$T/hosts.0" && pass "... hosts as it was" || fail "... hosts as it was" "$(diff "$T/hosts.0" "$CD/hosts")"
is "$(cd "$CD/ssl" && ls | sort | paste -sd' ')" "$ssl0" "... no certificate made"
is "$(cfg_digest 0) $(cfg_digest 1)" "$digs0" "... no host changed (what ezk installs there)"
is "$(cl_nodes)" "$nodes0" "... the cluster's nodes as they were"
like "$(lastlog)" "^add-node $NOBODY failed" "... the attempt is in the history"
is "$(git -C "$CD" rev-parse refs/ezk/applied)" "$(git -C "$CD" rev-parse HEAD~1)" "... and did not move refs/ezk/applied"

# ---- add-node, then del-node
life addnode add-node $(cl_line 2)
is "$rc" 0 "add-node $C: exit 0"
is "$(cl_group c kube_node | paste -sd' ')" "$(printf '%s\n' "$B" "$C" | sort | paste -sd' ')" "... hosts: $C in [kube_node]"
is "$(diff "$T/hosts.0" "$CD/hosts" | grep '^[<>]')" "> $(cl_line 2)" "... one line added to hosts"
is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready
host-3 Ready" "... kubectl get nodes agrees"
like "$(lastlog)" "^add-node $C: " "... a commit of the history"
is "$(git -C "$CD" rev-parse refs/ezk/applied)" "$(git -C "$CD" rev-parse HEAD)" "... marked applied"
sub3=$($K get node host-3 -o jsonpath='{.spec.podCIDR}')
for i in 0 1; do
	like "$(hx $i ip -4 route show proto 186)" "^$sub3 via $C " "${TH_ADDRS[$i]} routes host-3's pods through $C"
done
for i in 0 1 2; do
	like "$(hx $i cat /etc/hosts)" "$C host-3" "${TH_ADDRS[$i]} names host-3 in /etc/hosts"
done
rerun rerun-addnode

cat >"$T/web.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
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
EOF
run $K apply -f "$T/web.yaml"
run $K rollout status deploy/web --timeout=180s
is "$rc" 0 "a Deployment of 2 pods"
is "$($K get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | paste -sd' ')" \
	"host-2 host-3" "... one on each node"
cp "$CD/hosts" "$T/hosts.1"
life delnode del-node "$C"
is "$rc" 0 "del-node $C: exit 0"
is "$(cl_group c kube_node)" "$B" "... hosts: $C out of [kube_node]"
is "$(diff "$T/hosts.1" "$CD/hosts" | grep '^[<>]')" "< $(cl_line 2)" "... its line removed"
is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready" "... kubectl get nodes agrees"
run $K rollout status deploy/web --timeout=180s
is "$($K get pods -l app=web --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | paste -sd' ')" \
	"host-2 host-2" "... its pod moved to the other node"
like "$(grep -P '\tchanged\t' "$T/delnode.tasks" | cut -f2)" "drain host-3" "... drained first"
# (processes by their names, never -f: this sh's own command line names
# the paths; the machine's Debian containerd.service in /lib is not ezk's)
is "$(hx 2 sh -c 'pgrep -x kubelet; pgrep -x kube-proxy; pgrep -x containerd; pgrep containerd-shim; pgrep -x kube-lb; ip -4 route show proto 186; ls /var/lib/kubelet /etc/kube-lb /etc/cni/net.d /etc/systemd/system/kubelet.service /etc/systemd/system/containerd.service /etc/systemd/system/kube-lb.service 2>/dev/null')" "" \
	"... $C runs nothing of a node and keeps none of its files"
for i in 0 1; do
	unlike "$(hx $i ip -4 route show proto 186)" "via $C " "${TH_ADDRS[$i]} no longer routes to $C"
done
for i in 0 1; do
	unlike "$(hx $i cat /etc/hosts)" "host-3" "${TH_ADDRS[$i]} no longer names host-3 in /etc/hosts"
done
[ -e "$CD/ssl/host-3-kubelet.pem" ] && fail "... its kubelet certificate gone from ssl/" || pass "... its kubelet certificate gone from ssl/"
like "$(lastlog)" "^del-node $C: " "... a commit of the history"

# ---- add-master, then del-master (the same host, cleaned by del-node)
cp "$CD/hosts" "$T/hosts.2"
life addmaster add-master $(cl_line 2)
is "$rc" 0 "add-master $C: exit 0"
is "$(cl_group c kube_master | paste -sd' ')" "$(printf '%s\n' "$A" "$C" | sort | paste -sd' ')" "... hosts: $C in [kube_master]"
is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready
host-3 Ready,SchedulingDisabled" "... kubectl get nodes agrees (a master: cordoned)"
like "$(openssl x509 -in "$CD/ssl/kubernetes.pem" -noout -ext subjectAltName)" "IP Address:$C\b" "... the API server certificate names it"
like "$(hx 1 cat /etc/kube-lb/conf/kube-lb.conf)" "server $C:6443" "... kube-lb on the node balances to it"
is "$(curl -s -m 5 --cacert "$CD/ssl/ca.pem" --cert "$CD/ssl/admin.pem" --key "$CD/ssl/admin-key.pem" "https://$C:6443/readyz")" "ok" "... its API server answers"
rerun rerun-addmaster
life delmaster del-master "$C"
is "$rc" 0 "del-master $C: exit 0"
cmp -s "$CD/hosts" "$T/hosts.2" && pass "... hosts as before add-master" || fail "... hosts as before add-master" "$(diff "$T/hosts.2" "$CD/hosts")"
is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready" "... kubectl get nodes agrees"
unlike "$(hx 1 cat /etc/kube-lb/conf/kube-lb.conf)" "$C" "... kube-lb on the node no longer names it"
unlike "$(openssl x509 -in "$CD/ssl/kubernetes.pem" -noout -ext subjectAltName)" "IP Address:$C\b" "... nor the API server certificate"
is "$(hx 2 sh -c 'pgrep -x kube-apiserver; pgrep -x kube-scheduler; pgrep -x kubelet; ls /etc/kubernetes/ssl 2>/dev/null')" "" \
	"... $C runs no control plane and keeps no certificate (the CA's key included)"

# ---- add-etcd, then del-etcd
life addetcd add-etcd "${TH_ADDRS[2]}"
is "$rc" 0 "add-etcd $C: exit 0"
is "$(cl_group c etcd | paste -sd' ')" "$(printf '%s\n' "$A" "$C" | sort | paste -sd' ')" "... hosts: $C in [etcd]"
is "$(cl_members c | paste -sd' ')" "$(printf '%s\n' "$A" "$C" | sort | paste -sd' ')" "... etcdctl member list agrees"
like "$(hx 0 systemctl cat kube-apiserver)" "etcd-servers=https://$A:2379,https://$C:2379" "... the API server uses it"
like "$(cat "$T/addetcd.tasks" "$T/addetcd.err")" "even number" "... warned: an even number of members"
rerun rerun-addetcd
# a removal that would break the quorum: with one of two members stopped
cp "$CD/hosts" "$T/hosts.3"
hx 2 systemctl stop etcd
life quorum del-etcd "$A"
is "$rc" 1 "del-etcd while the other member is down: exit 1"
like "$(cat "$T/quorum.tasks")" "would break etcd's quorum: 1 of 2 members answer \\(the removal needs 2\\)" "... refused: the quorum"
cmp -s "$CD/hosts" "$T/hosts.3" && pass "... hosts unchanged" || fail "... hosts unchanged"
hx 2 systemctl start etcd
th_wait_for 120 cl_members c && is "$(cl_members c | paste -sd' ')" "$(printf '%s\n' "$A" "$C" | sort | paste -sd' ')" "... both still members"
th_wait_for 120 $K get --raw /readyz
life deletcd del-etcd "$C"
is "$rc" 0 "del-etcd $C: exit 0"
is "$(cl_group c etcd)" "$A" "... hosts: $C out of [etcd]"
is "$(cl_members c)" "$A" "... etcdctl member list agrees"
unlike "$(hx 0 systemctl cat kube-apiserver)" "$C:2379" "... the API server no longer uses it"
is "$(hx 2 sh -c 'pgrep -x etcd; ls /var/lib/etcd 2>/dev/null')" "" "... $C runs no etcd and keeps no data"
cmp -s "$CD/hosts" "$T/hosts.2" && pass "hosts as it was before the adds" || fail "hosts as it was before the adds" "$(diff "$T/hosts.2" "$CD/hosts")"
rerun rerun-end
is "$($K get deploy web -o jsonpath='{.status.availableReplicas}')" "2" "the workload ran through it all"

# ---- kcfg-adm: a user's kubeconfig with the view role, then without it
n0=$(commits)
run "$EZK" kcfg-adm c -A -u jack -r view -e 240h
is "$rc" 0 "kcfg-adm -A -u jack -r view -e 240h: exit 0"
run "$EZK" kcfg-adm c -L
U=$(printf '%s\n' "$out" | awk '$1 ~ /^jack-/ {print $1}')
like "$U" "^jack-[0-9]{12}$" "... the user jack-<time>"
like "$out" "$U +view " "... -L lists it, with its role"
KU="$EZK_HOME/bin/kubectl --kubeconfig $CD/users/$U.kubeconfig --request-timeout=20s"
# (view: namespaced objects and namespaces, not nodes)
run $KU get pods -A -o name
is "$rc" 0 "... its kubeconfig reads the pods of every namespace"
[ "$rc" = 0 ] || printf '%s\n' "$err" | head -3 | sed 's/^/# /'
# (kept: -D removes users/<u>.kubeconfig; the certificate stays valid until
# it expires, and what it may do is the binding's)
cp "$CD/users/$U.kubeconfig" "$T/jack.kubeconfig"
run $KU create namespace jacks
like "$err" "Forbidden" "... but may not write (view)"
end=$(date -d "$(openssl x509 -in "$CD/ssl/$U.pem" -noout -enddate | cut -d= -f2)" +%s)
left=$((end - $(date +%s)))
[ "$left" -gt $((239 * 3600)) ] && [ "$left" -le $((240 * 3600)) ] && pass "... its certificate lives 240h" || fail "... its certificate lives 240h" "$left s"
is "$(git -C "$CD" ls-files | grep -c "$U")" "0" "... neither its key nor its kubeconfig in the history"
run "$EZK" kcfg-adm c -D -u "$U"
is "$rc" 0 "kcfg-adm -D -u $U: exit 0"
run $EZK_HOME/bin/kubectl --kubeconfig "$T/jack.kubeconfig" --request-timeout=20s get pods -A -o name
like "$err" "Forbidden" "... the user may do nothing any more"
[ -e "$CD/users/$U.kubeconfig" ] && fail "... its kubeconfig gone" || pass "... its kubeconfig gone"
is "$(commits)" "$((n0 + 2))" "... each a commit of the history"

# ---- kca-renew: a new CA and every certificate, the workload running on
serials() {
	local f
	for f in "$CD"/ssl/*.pem; do
		case $f in *-key.pem | */ca-previous.pem) continue ;; esac
		printf '%s %s\n' "${f##*/}" "$(openssl x509 -in "$f" -noout -serial)"
	done
}
serials >"$T/serials.0"
ctrs() { $K get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.containerStatuses[0].containerID}{"\n"}{end}' | sort; }
ctrs0=$(ctrs)
# a kube-system Deployment whose pod is ready (the test bed has no add-on
# images: theirs are not): its restart is waited for
$K -n kube-system create deployment api-client --image=easzlab.io.local:5000/library/busybox:1.35.0 \
	-- sleep 100000 >/dev/null 2>&1
$K -n kube-system patch deployment api-client -p '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","imagePullPolicy":"Never"}]}}}}' >/dev/null 2>&1
run $K -n kube-system rollout status deployment/api-client --timeout=120s
is "$rc" 0 "kca-renew: before it, a kube-system Deployment with a pod ready"
client0=$($K -n kube-system get pods -l app=api-client -o name)
life kcarenew kca-renew
is "$rc" 0 "kca-renew: exit 0"
serials >"$T/serials.1"
is "$(cut -d' ' -f1 "$T/serials.1" | paste -sd' ')" "$(cut -d' ' -f1 "$T/serials.0" | paste -sd' ')" "... the same certificates"
is "$(join "$T/serials.0" "$T/serials.1" | awk '$2 == $3' | cut -d' ' -f1 | paste -sd' ')" "" "... every one with a new serial"
is "$(grep -c BEGIN "$CD/ssl/ca.pem")" "1" "... ca.pem is one CA, the new one"
for h in 0 1; do
	is "$(hx $h sha256sum /etc/kubernetes/ssl/ca.pem | cut -d' ' -f1)" "$(sha256sum "$CD/ssl/ca.pem" | cut -d' ' -f1)" "... ${TH_ADDRS[$h]} trusts the new CA"
done
ls -d "$CD"/ssl.bak-* >/dev/null 2>&1 && pass "... the old ssl/ kept" || fail "... the old ssl/ kept"
is "$(cl_nodes)" "host-1 Ready,SchedulingDisabled
host-2 Ready" "... the nodes Ready"
is "$(cl_members c)" "$A" "... etcd answers with the new certificates"
is "$(ctrs)" "$ctrs0" "... the workload's containers kept running"
# kube-system's API clients (the add-ons) read their ServiceAccount's
# ca.crt when they start: restarted in the first phase, once it held both
# CAs; the user's own pods are left to the user, who is told
tasks=$(cat "$T/kcarenew.tasks")
is "$(st localhost "kube-system's ServiceAccounts trust the old CA and the new one")" ok \
	"... kube-system's ServiceAccounts' ca.crt held both CAs"
like "$(ev_titles kcarenew localhost changed)" "restart kube-system's API clients \([1-9][0-9]*, " "... then its API clients were restarted"
is "$($K -n kube-system get deployments,daemonsets -o jsonpath='{range .items[*]}{.metadata.name}={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}{"\n"}{end}' | grep -c '=$')" 0 \
	"... every Deployment and DaemonSet of kube-system"
like "$(ev_titles kcarenew localhost changed)" "restart kube-system's API clients \([1-9][0-9]*, [1-9][0-9]* with pods ready\)" \
	"... the ready ones waited for"
client1=$($K -n kube-system get pods -l app=api-client --field-selector=status.phase=Running -o name)
[ -n "$client1" ] && [ "$client1" != "$client0" ] && pass "... its pod a new one, running" ||
	fail "... its pod a new one, running" "before: $client0, after: $client1"
$K -n kube-system delete deployment api-client --wait=false >/dev/null 2>&1
like "$(grep -h 'use the Kubernetes API' "$T/kcarenew.json" "$T/kcarenew.err" | head -1)" "restart them" "... and the user is told about their own"
rerun rerun-kca

done_testing
