# A Kubernetes cluster made by `ezk setup all` on --net test hosts, for the
# tests of the cluster's lifecycle (e2e/lifecycle, e2e/upgrade). Source it
# after tests/lib.sh, tests/harness/lib.sh and tests/harness/events.sh.
# (e2e/all.sh sets its cluster up from kubeasz's example inventory itself.)
#
#   cl_bin                  scripts/bin-from-debian.sh fills $EZK_HOME; skips
#                           the test (exit 0) when Kubernetes is not built here
#   cl_new NAME SPEC...     `ezk new NAME` for the started --net hosts:
#                           SPEC is GROUP=I,J (test host indexes), e.g.
#                           etcd=0 kube_master=0 kube_node=1,2; host I is named
#                           host-<I+1> (k8s_nodename); the test bed's
#                           addresses (Services 198.18.128.0/20, pods
#                           198.19.0.0/16), host-gw, v1.20.2, the busybox image.
#                           Sets CD (the cluster's folder) and K (kubectl with
#                           its admin kubeconfig, from the deploy node)
#   cl_setup NAME           `ezk setup NAME all` (events in $T/setup.*): a
#                           failed setup ends the test (nothing else would mean
#                           anything)
#   cl_nodes                "name status" of every node, sorted
#   cl_members              etcd's members (their peer addresses), sorted
#   cl_group NAME GROUP     the hosts of a group, as `ezk inventory` reads hosts
#   cl_line I               "<address> k8s_nodename=host-<I+1>": what add-* takes

cl_bin() {
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

cl_line() { printf '%s k8s_nodename=host-%d' "${TH_ADDRS[$1]}" "$(($1 + 1))"; }

cl_new() {
	local name=$1 spec g list i
	shift
	"$EZK" new "$name" >/dev/null || { fail "ezk new $name"; return 1; }
	CD=$EZK_HOME/clusters/$name
	K="$EZK_HOME/bin/kubectl --kubeconfig $CD/kubectl.kubeconfig --request-timeout=20s"
	{
		for g in etcd kube_master kube_node harbor ex_lb chrony; do
			echo "[$g]"
			for spec in "$@"; do
				[ "${spec%%=*}" = "$g" ] || continue
				list=${spec#*=}
				for i in ${list//,/ }; do
					if [ "$g" = etcd ]; then echo "${TH_ADDRS[$i]}"; else cl_line "$i"; echo; fi
				done
			done
			echo
		done
		sed -n '/^\[all:vars\]/,$p' "$CD/hosts" |
			sed -E 's|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|; s|^PROXY_MODE=.*|PROXY_MODE="iptables"|; s|^CLUSTER_NETWORK=.*|CLUSTER_NETWORK="host-gw"|'
	} >"$CD/hosts.new"
	mv "$CD/hosts.new" "$CD/hosts"
	sed -i -E 's|^K8S_VER:.*|K8S_VER: "v1.20.2"|; s|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|' "$CD/config.yml"
	cat >>"$CD/config.yml" <<'EOF'

# the test hosts are containers: containerd cannot raise OOM scores there
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
# the test workload's image, imported from $EZK_HOME/images like the pause image
EXTRA_IMAGES:
  - "easzlab.io.local:5000/library/busybox:1.35.0"
EOF
}

cl_setup() {
	ev_setup setup "$1" all
	if [ "$rc" != 0 ]; then
		fail "setup $1 all: exit 0" "$(grep -P '\t(failed|unreachable)\t' "$T/setup.tasks" | head -10)"
		done_testing
		exit 1
	fi
	pass "setup $1 all: exit 0"
}

cl_nodes() { $K get nodes --no-headers 2>&1 | awk '{print $1, $2}' | sort; }

# etcd's members, asked from the deploy node with the cluster's certificates
cl_members() {
	local ep
	ep=$(cl_group "$1" etcd | head -1)
	ETCDCTL_API=3 "$EZK_HOME/bin/etcdctl" --endpoints="https://$ep:2379" --cacert="$CD/ssl/ca.pem" \
		--cert="$CD/ssl/etcd.pem" --key="$CD/ssl/etcd-key.pem" --dial-timeout=3s --command-timeout=10s \
		member list 2>&1 | awk -F', ' '{ sub("^https://", "", $4); sub(":2380$", "", $4); print $4 }' | sort
}

cl_group() {
	"$EZK" inventory "$1" --list | /usr/bin/python3 -c '
import json, sys
print("\n".join(sorted(json.load(sys.stdin).get(sys.argv[1], {}).get("hosts", []))))' "$2"
}
