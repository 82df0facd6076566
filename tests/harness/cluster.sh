# A small Kubernetes v1.20.2 cluster on --net test hosts, for the
# end-to-end tests of what runs on a whole cluster (ex-lb, backup, clean).
# Source after tests/lib.sh, tests/harness/lib.sh and (for ev_setup)
# tests/harness/events.sh; start the hosts with th_start --net N.
#
#   tc_binaries        fills $EZK_HOME/bin and images (scripts/bin-from-debian.sh
#                      --no-build); when Kubernetes is not built on this
#                      machine, a TAP skip and exit 0
#   tc_cluster C       `ezk new C`, its hosts file from stdin (the groups; "@I"
#                      stands for TH_ADDRS[I]) and the template's [all:vars],
#                      both files set for the test network and v1.20.2 in test
#                      hosts by scripts/testnet-config.sh --addons (Services
#                      198.18.128.0/20, pods 198.19.0.0/16, host-gw, kube-proxy
#                      in iptables mode; the add-ons as `ezk new` has them);
#                      sets CD (the cluster's folder) and K (kubectl with its
#                      admin kubeconfig)
#   tc_web N           a Deployment "web" of N busybox httpd pods (the test
#                      bed's image, never pulled) and its Service; waits for it
#   tc_failed NAME     the failed tasks of `ev_setup NAME ...`, as TAP comments,
#                      when it did not exit 0
#
# Every address is in 198.18.0.0/15 (tests/harness/README.md).

tc_binaries() {
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
}

tc_cluster() {
	local c=$1 i groups allvars
	"$EZK" new "$c" >/dev/null || { fail "ezk new $c"; return 1; }
	CD=$EZK_HOME/clusters/$c
	groups=$(cat)
	for i in "${!TH_ADDRS[@]}"; do
		groups=$(printf '%s\n' "$groups" | sed -E "s/@$i\b/${TH_ADDRS[$i]}/g")
	done
	# the template's [all:vars] after the test's groups (as make demo writes
	# its hosts), then the test network's settings, written once for the
	# demo, the bench and these tests: scripts/testnet-config.sh (the
	# add-ons as `ezk new` has them)
	allvars=$(sed -n '/^\[all:vars\]/,$p' "$CD/hosts")
	printf '%s\n\n%s\n' "$groups" "$allvars" >"$CD/hosts"
	"$EZK_SRC/scripts/testnet-config.sh" --addons "$CD" || { fail "scripts/testnet-config.sh $CD"; return 1; }
	K="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=20s"
}

tc_web() {
	cat >"$T/web.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
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
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
EOF
	$K apply -f "$T/web.yaml" >/dev/null && $K rollout status deploy/web --timeout=180s >/dev/null
}

tc_failed() {
	[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/$1.tasks" | head -10 | sed 's/^/# /'
}
