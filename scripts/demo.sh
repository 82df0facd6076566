#!/bin/bash
# make demo: a real three-member TLS etcd cluster on this machine, the way
# ezk installs one anywhere. It installs what is missing (Debian packages),
# builds ezk, boots three local test hosts (tests/harness: systemd and sshd
# in namespaces, each on its own 127.0.x.y), makes the cluster "demo" for
# them, runs `ezk setup demo 01-02` (prepare, then etcd) and shows etcd's
# health on every member. Needs root (the test hosts use namespaces).
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

echo "== workspace: $EZK_HOME"
# Steps 01-02 need etcd only: Kubernetes is copied if this machine has built
# it already (scripts/build-kubernetes.sh), not built here.
scripts/bin-from-debian.sh --no-build "$EZK_HOME"
echo "== etcd and etcdctl from Debian's packages in $EZK_HOME/bin"

echo "== three local test hosts"
th=$(tests/harness/testhosts start 3 | tail -1)
read -r _ A _ < <(sed -n 1p "$th/hosts")
read -r _ B _ < <(sed -n 2p "$th/hosts")
read -r _ C _ < <(sed -n 3p "$th/hosts")
echo "   $A $B $C (state: $th)"

echo "== ezk new demo"
ezk new demo
hosts=$EZK_HOME/clusters/demo/hosts
# the template's example addresses become the test hosts: three masters
# that are also the etcd members, no worker nodes
sed -i -E "s/192\.168\.1\.1\b/$A/g; s/192\.168\.1\.2\b/$B/g; s/192\.168\.1\.3\b/$C/g; /^192\.168\.1\.[45]\b/d" "$hosts"
printf '\n# make demo: the test hosts'"'"' key\nansible_ssh_private_key_file="%s"\n' "$th/id_ed25519" >>"$hosts"

echo "== ezk setup demo 01-02"
ezk setup demo 01-02

echo
echo "== etcd, asked with the certificates in $EZK_HOME/clusters/demo/ssl"
ssl=$EZK_HOME/clusters/demo/ssl
eps="https://$A:2379,https://$B:2379,https://$C:2379"
ctl() { "$EZK_HOME/bin/etcdctl" --endpoints="$eps" --cacert="$ssl/ca.pem" --cert="$ssl/admin.pem" --key="$ssl/admin-key.pem" "$@"; }
ctl endpoint health
ctl endpoint status -w table
ctl member list -w table

cat <<EOF

== done. Try:
   export EZK_HOME=$EZK_HOME
   $src/ezk setup demo 01-02      # again: changed=0, nothing restarted
   $src/ezk ping demo
   $src/ezk log demo
== tear down:
   $src/tests/harness/testhosts stop $th && rm -rf $EZK_HOME
EOF
