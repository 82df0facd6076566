#!/bin/bash
# gen-inventory.sh N: a kubeasz-style inventory of N hosts (10.x.y.z).
n=${1:-5000}
addr() { echo "10.$(($1 / 65536 % 256)).$(($1 / 256 % 256)).$(($1 % 256 + 1))"; }
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
SERVICE_CIDR="10.68.0.0/16"
CLUSTER_CIDR="172.20.0.0/16"
NODE_PORT_RANGE="30000-32767"
CLUSTER_DNS_DOMAIN="cluster.local"
bin_dir="/opt/kube/bin"
base_dir="/etc/ezk"
cluster_dir="{{ base_dir }}/clusters/bench"
ca_dir="/etc/kubernetes/ssl"
k8s_nodename=''
ansible_python_interpreter=/usr/bin/python3
V
