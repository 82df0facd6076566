#!/bin/bash
# make demo: a highly available Kubernetes cluster on this machine, installed
# by ezk from bare hosts with one command, the way it installs one anywhere.
# It installs what is missing (Debian packages), builds ezk, builds
# Kubernetes v1.20.2 from Debian's source if this machine has not yet
# (scripts/build-kubernetes.sh: cached, the first build takes 15-30 minutes),
# boots four local test hosts with a network of their own (tests/harness
# --net: systemd and sshd in namespaces, 198.18.K.x on a bridge), makes the
# cluster "demo" for them (two masters, three etcd members, two nodes),
# runs `ezk setup demo all` and shows the nodes, a Deployment across the
# nodes and a Service answering. Needs root (the test hosts use namespaces).
# EZK_HOME: the workspace (default: a new /tmp/ezk-demo.XXXXXX).
set -eu
cd "$(dirname "$0")/.."
src=$PWD
if [ "$(id -u)" != 0 ]; then
	echo "make demo: the local test hosts need root (namespaces, systemd): run it as root" >&2
	exit 1
fi
scripts/install-deps.sh
make --no-print-directory
export EZK_HOME=${EZK_HOME:-$(mktemp -d /tmp/ezk-demo.XXXXXX)}
if [ -e "$EZK_HOME/clusters/demo" ]; then
	echo "make demo: $EZK_HOME already has a cluster 'demo'; use another EZK_HOME" >&2
	exit 2
fi
ezk() { "$src/ezk" "$@"; }

echo "== Kubernetes v1.20.2 from Debian's source (cached after the first build)"
scripts/build-kubernetes.sh >/dev/null
echo "== workspace: $EZK_HOME"
scripts/bin-from-debian.sh "$EZK_HOME"
echo "== the binaries and images in $EZK_HOME/bin and images/"

echo "== four local test hosts with a network of their own"
th=$(tests/harness/testhosts start --net 4 | tail -1)
read -r _ A _ < <(sed -n 1p "$th/hosts")
read -r _ B _ < <(sed -n 2p "$th/hosts")
read -r _ C _ < <(sed -n 3p "$th/hosts")
read -r _ D _ < <(sed -n 4p "$th/hosts")
echo "   $A $B $C $D (state: $th)"

echo "== ezk new demo"
ezk new demo
cd "$EZK_HOME/clusters/demo"
# the template's [all:vars], read before `cat >hosts` empties the file
allvars=$(sed -n '/^\[all:vars\]/,$p' hosts | tail -n +2)
cat >hosts <<HOSTS
# make demo: two masters, three etcd members, two nodes (local test hosts)
[etcd]
$A
$B
$C

[kube_master]
$A k8s_nodename='master-01'
$B k8s_nodename='master-02'

[kube_node]
$C k8s_nodename='worker-01'
$D k8s_nodename='worker-02'

[ex_lb]

[chrony]

[all:vars]
$allvars
ansible_ssh_private_key_file="$th/id_ed25519"
HOSTS
# addresses from RFC 2544's test range, the pod network that needs no image,
# the add-ons off (their images are not made here), the workload's image
"$src/scripts/testnet-config.sh" "$EZK_HOME/clusters/demo"
cd "$src"

echo "== ezk setup demo all"
ezk setup demo all

K="$EZK_HOME/bin/kubectl --kubeconfig $EZK_HOME/clusters/demo/kubectl.kubeconfig"
echo
echo "== the cluster"
$K get nodes -o wide
echo "== a Deployment of busybox httpd on the nodes, and its Service"
$K create deployment web --image=easzlab.io.local:5000/library/busybox:1.35.0 --replicas=2 \
	-- httpd -f -p 80 -h /var/www >/dev/null
$K expose deployment web --port 80 >/dev/null
$K rollout status deploy/web --timeout=180s
$K get pods -o wide
ip=$($K get svc web -o jsonpath='{.spec.clusterIP}')
echo "== from $C: curl http://$ip/ (the Service)"
tests/harness/testhosts exec "$th" "$C" curl -sS -m 10 "http://$ip/"

cat <<DONE

== done. Try:
   export EZK_HOME=$EZK_HOME
   $src/ezk setup demo all        # again: changed=0, nothing restarted
   $K get pods -A
   $src/ezk ping demo
   $src/ezk log demo
== tear down:
   $src/tests/harness/testhosts stop $th && rm -rf $EZK_HOME
DONE
