#!/bin/bash
# make demo: build ezk, make a cluster in a scratch workspace and show what
# ezk knows about it. (The SSH transport and the install steps will extend
# this into a real local etcd cluster.)
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make --no-print-directory
export EZK_HOME=${EZK_HOME:-$(mktemp -d /tmp/ezk-demo.XXXXXX)}
echo "== workspace: $EZK_HOME"
./ezk new demo
echo "== ezk check demo"
./ezk check demo
echo "== ezk inventory demo --host 192.168.1.4 (selected variables)"
./ezk inventory demo --host 192.168.1.4 | grep -E '"(K8S_NODENAME|CONTEXT_NAME|cluster_dir|IP_AUTODETECTION_METHOD|calico_ver_main)"'
echo "== remove the scratch workspace with: rm -rf $EZK_HOME"
