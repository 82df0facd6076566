#!/bin/sh
# Fill $EZK_HOME/bin with what the install steps push, from this machine's
# Debian packages (etcd-server, etcd-client): for the tests and `make demo`.
# The offline bundle (ezk download / bundle import) is the general way.
# Usage: tests/bin-from-debian.sh [EZK_HOME]   (default: $EZK_HOME, ~/.ezk)
set -eu
home=${1:-${EZK_HOME:-$HOME/.ezk}}
mkdir -p "$home/bin"
for b in etcd etcdctl; do
	src=$(command -v "$b" 2>/dev/null || true)
	if [ -z "$src" ]; then
		echo "bin-from-debian: $b is not installed (apt-get install etcd-server etcd-client)" >&2
		exit 1
	fi
	if ! cmp -s "$src" "$home/bin/$b"; then
		cp "$src" "$home/bin/.$b.tmp"
		chmod 755 "$home/bin/.$b.tmp"
		mv -f "$home/bin/.$b.tmp" "$home/bin/$b"
	fi
done
