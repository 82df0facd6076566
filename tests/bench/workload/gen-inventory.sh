#!/bin/bash
# gen-inventory.sh STATEDIR [systemd]: the benchmark workload's INI inventory
# for the test hosts of a `testhosts start` state dir, read alike by ezk and
# by Ansible. systemd: true (default) when the hosts run systemd, false for
# --plain hosts (the service task is then skipped by both tools).
set -eu
sd=${1:?usage: gen-inventory.sh STATEDIR [true|false]}
systemd=${2:-true}
echo "[bench]"
awk '{ printf "node%02d ansible_host=%s node_index=%d\n", NR, $2, NR }' "$sd/hosts"
cat <<VARS

[bench:vars]
app_port=8080

[all:vars]
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
bench_systemd=$systemd
VARS
