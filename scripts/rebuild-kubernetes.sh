#!/bin/bash
# A second build of the test bed's Kubernetes (scripts/build-kubernetes.sh):
# the same source, Go and recipe, stamped with another build date, so every
# binary differs from the first build (another sha256, another buildDate in
# `--version -o json`) while the version string stays v1.20.2. e2e/upgrade
# upgrades a cluster from one build to the other: what `ezk upgrade` does
# with new binaries is proved without a second Kubernetes version.
#
# It runs build-kubernetes.sh itself, unchanged (its text keys its cache),
# with SOURCE_DATE_EPOCH (which it honours for the build date) and a cache
# root of its own, $EZK_CACHE/rebuild, whose Go build cache is the first
# build's: every package compiles from that cache, only openapi-gen and the
# links run again.
#
# Usage: scripts/rebuild-kubernetes.sh            (as root; prints the dir)
#        scripts/rebuild-kubernetes.sh --cached   (the dir if built, else exit 1)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EZK_CACHE:-/var/cache/ezk}
# 2021-02-01, after the first build's 2021-01-13
EPOCH=1612137600
root=$CACHE/rebuild
if [ "${1:-}" != "--cached" ]; then
	[ "$(id -u)" = 0 ] || { echo "rebuild-kubernetes: must run as root" >&2; exit 1; }
	mkdir -p "$root/kubernetes" "$CACHE/kubernetes/gocache"
	[ -L "$root/kubernetes/gocache" ] || ln -sfn "$CACHE/kubernetes/gocache" "$root/kubernetes/gocache"
fi
EZK_CACHE=$root SOURCE_DATE_EPOCH=$EPOCH exec "$here/build-kubernetes.sh" "$@"
