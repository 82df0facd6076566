# A small Kubernetes v1.20.2 cluster on --net test hosts, for the
# end-to-end tests of what runs on a whole cluster (ex-lb, backup, clean).
# Source after tests/lib.sh, tests/harness/lib.sh and (for ev_setup)
# tests/harness/events.sh; start the hosts with th_start --net N.
#
#   tc_binaries        fills $EZK_HOME/bin and images (scripts/bin-from-debian.sh
#                      --no-build); when Kubernetes is not built on this
#                      machine, a TAP skip and exit 0
#   tc_cluster C       `ezk new C`, its hosts file from stdin (the groups; "@I"
#                      stands for TH_ADDRS[I]) with [all:vars] for the test
#                      network (Services 198.18.128.0/20, pods 198.19.0.0/16,
#                      host-gw, kube-proxy in iptables mode), and config.yml for
#                      v1.20.2 in test hosts; sets CD (the cluster's folder)
#                      and K (kubectl with its admin kubeconfig)
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
	local c=$1 i
	"$EZK" new "$c" >/dev/null || { fail "ezk new $c"; return 1; }
	CD=$EZK_HOME/clusters/$c
	local groups
	groups=$(cat)
	for i in "${!TH_ADDRS[@]}"; do
		groups=$(printf '%s\n' "$groups" | sed -E "s/@$i\b/${TH_ADDRS[$i]}/g")
	done
	cat >"$CD/hosts" <<EOF
$groups

[all:vars]
SECURE_PORT="6443"
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="host-gw"
PROXY_MODE="iptables"
SERVICE_CIDR="198.18.128.0/20"
CLUSTER_CIDR="198.19.0.0/16"
NODE_PORT_RANGE="30000-32767"
CLUSTER_DNS_DOMAIN="cluster.local"
bin_dir="/opt/kube/bin"
base_dir="$EZK_HOME"
cluster_dir="{{ base_dir }}/clusters/$c"
ca_dir="/etc/kubernetes/ssl"
k8s_nodename=''
EOF
	sed -i -E 's|^K8S_VER:.*|K8S_VER: "v1.20.2"|; s|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|' "$CD/config.yml"
	cat >>"$CD/config.yml" <<'EOF'

# the test hosts are containers: containerd cannot raise OOM scores there
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
# the test workload's image, imported from $EZK_HOME/images like the pause image
EXTRA_IMAGES:
  - "easzlab.io.local:5000/library/busybox:1.35.0"
EOF
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
