#!/bin/bash
# gen-inventory.sh N: a kubeasz-style inventory of N hosts, 198.18.y.z: N up
# to 32,512 distinct addresses, all in 198.18.0.0/17 (out of SERVICE_CIDR).
n=${1:-5000}
addr() { echo "198.18.$(($1 / 254 % 128)).$(($1 % 254 + 1))"; }
echo "[etcd]"
for i in 0 1 2; do addr $i; done
echo "[kube_master]"
for i in 0 1 2; do echo "$(addr $i) k8s_nodename='master-$i'"; done
echo "[kube_node]"
for ((i = 3; i < n; i++)); do echo "$(addr $i) k8s_nodename='worker-$i'"; done
cat <<'V'
[harbor]
[ex_lb]
[chrony]
[all:vars]
SECURE_PORT="6443"
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="calico"
PROXY_MODE="nftables"
SERVICE_CIDR="198.18.128.0/17"
CLUSTER_CIDR="198.19.0.0/16"
NODE_PORT_RANGE="30000-32767"
CLUSTER_DNS_DOMAIN="cluster.local"
bin_dir="/opt/kube/bin"
base_dir="/etc/ezk"
cluster_dir="{{ base_dir }}/clusters/bench"
ca_dir="/etc/kubernetes/ssl"
k8s_nodename=''
ansible_python_interpreter=/usr/bin/python3
V
