#!/bin/bash
# make bench: the benchmark table. Each row says what it measures and its target.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/ezk-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "| benchmark | size | time | memory | target |"
echo "|---|---|---|---|---|"

# 1. Variables: 5,000 hosts (3 etcd, 3 masters, the rest workers, each with a
# k8s_nodename), kubeasz-style [all:vars], our config.yml; every variable of
# every host resolved with templates evaluated.
"$here/gen-inventory.sh" 5000 >"$tmp/hosts"
sed 's/_cluster_name_/bench/g; s|_ezk_home_|/etc/ezk|g' "$src/inventories/config.yml" >"$tmp/config.yml"
"$src/build/bench/bench-vars" "$tmp/hosts" "$tmp/config.yml" "inventory + config.yml, all vars"
