#!/bin/bash
# testnet-config.sh [--addons] CLUSTER_DIR: a cluster made by `ezk new` (ezk's
# hosts and config.yml templates) set for Kubernetes v1.20.2 on local test
# hosts with a network of their own (tests/harness --net): every address from
# RFC 2544's test range (Services 198.18.128.0/20, pods 198.19.0.0/16), the
# pod network that needs no image (host-gw), kube-proxy in iptables mode, the
# add-ons off (their images are not made on this machine; --addons leaves
# them as `ezk new` wrote them), containerd not raising OOM scores (the test
# hosts are containers) and the test bed's busybox image imported with the
# pause image. make demo, make bench and the cluster tests
# (tests/harness/cluster.sh's tc_cluster, with --addons) use it; the hosts'
# groups are the caller's.
set -eu
addons=off
if [ "${1:-}" = --addons ]; then
	addons=as-new
	shift
fi
cd "${1:?usage: testnet-config.sh [--addons] CLUSTER_DIR}"
sed -i -E 's|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|; s|^PROXY_MODE=.*|PROXY_MODE="iptables"|; s|^CLUSTER_NETWORK=.*|CLUSTER_NETWORK="host-gw"|' hosts
sed -i -E 's|^K8S_VER:.*|K8S_VER: "v1.20.2"|; s|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|' config.yml
if [ "$addons" = off ]; then
	sed -i -E 's/^(dns_install|metricsserver_install|headlamp_install|dashboard_install|local_path_provisioner_install):.*/\1: "no"/; s/^ENABLE_LOCAL_DNS_CACHE:.*/ENABLE_LOCAL_DNS_CACHE: false/' config.yml
fi
cat >>config.yml <<'CONF'

# local test hosts (scripts/testnet-config.sh): containers, where containerd
# cannot raise OOM scores; the test workload's image, made here from Debian's
# busybox, imported from $EZK_HOME/images like the pause image
CONTAINERD_RESTRICT_OOM_SCORE_ADJ: true
EXTRA_IMAGES:
  - "easzlab.io.local:5000/library/busybox:1.35.0"
CONF
# every setting it changes must have been there to change
for k in SERVICE_CIDR CLUSTER_CIDR PROXY_MODE CLUSTER_NETWORK; do
	grep -q "^$k=\"" hosts || { echo "testnet-config.sh: $PWD/hosts has no $k= line" >&2; exit 2; }
done
grep -q '^K8S_VER: "v1.20.2"' config.yml || { echo "testnet-config.sh: $PWD/config.yml has no K8S_VER line" >&2; exit 2; }
