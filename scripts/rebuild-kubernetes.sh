#!/bin/bash
# A second build of the test bed's Kubernetes (scripts/build-kubernetes.sh):
# the first build's binaries with another build date stamped into them, so
# every binary differs from the first build's (another sha256, another
# buildDate in `--version -o json`) while the version string stays v1.20.2.
# e2e/cluster upgrades a cluster from one to the other: what `ezk upgrade`
# does with new binaries is proved without a second Kubernetes version.
#
# The build date is the one thing a rebuild of the same source, Go and
# recipe changes (build-kubernetes.sh stamps it with -ldflags -X from
# SOURCE_DATE_EPOCH); it is written here in place of the first build's date,
# byte for byte the same length, instead of compiling again: compiling
# again (from the first build's Go cache, openapi-gen and the links anew)
# cost 395 s on a new machine's CI, this costs seconds. The stamp must be
# found in every binary, and each re-stamped binary must say the new date
# (`--version=raw`, kubectl's `version --client`), or nothing is cached.
#
# Cached in $EZK_CACHE/rebuild/kubernetes/<the first build's dir name>-<key>,
# the key a hash of this script (a change here re-stamps).
#
# Usage: scripts/rebuild-kubernetes.sh            (as root; prints the dir)
#        scripts/rebuild-kubernetes.sh --cached   (the dir if made, else exit 1)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EZK_CACHE:-/var/cache/ezk}
BINS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
# build-kubernetes.sh's default SOURCE_DATE_EPOCH (1610496000), and a later day
OLD=2021-01-13T00:00:00Z
NEW=2021-02-01T00:00:00Z
say() { echo "rebuild-kubernetes: $*" >&2; }
die() { say "$*"; exit 1; }

first=$("$here/build-kubernetes.sh" --cached) || {
	[ "${1:-}" = --cached ] && exit 1
	die "the first build is not there (scripts/build-kubernetes.sh)"
}
key=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-12)
root=$CACHE/rebuild/kubernetes
out=$root/$(basename "$first")-$key
if [ -f "$out/.complete" ]; then
	echo "$out"
	exit 0
fi
[ "${1:-}" = --cached ] && exit 1
[ "$(id -u)" = 0 ] || die "must run as root ($CACHE)"

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
[ -f "$out/.complete" ] && { echo "$out"; exit 0; }
tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
for b in $BINS; do
	n=$(/usr/bin/python3 - "$first/$b" "$tmp/$b" "$OLD" "$NEW" <<'EOF'
import sys
src, dst, old, new = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
assert len(old) == len(new)
data = open(src, "rb").read()
n = data.count(old)
open(dst, "wb").write(data.replace(old, new))
print(n)
EOF
	) || die "$b: could not re-stamp"
	[ "$n" -ge 1 ] || die "$b: the build date $OLD is not in it: is it build-kubernetes.sh's build?"
	chmod 0755 "$tmp/$b"
	# the binary runs and says the new date
	if [ "$b" = kubectl ]; then
		v=$("$tmp/$b" version --client -o json 2>&1 | tr -d ' ' || true)
		v=${v/\"buildDate\":/BuildDate:}
	else
		v=$("$tmp/$b" --version=raw 2>&1 || true)
	fi
	case $v in *"BuildDate:\"$NEW\""*) ;; *) die "$b: re-stamped, it does not say BuildDate $NEW: $(printf '%s' "$v" | head -c 300)" ;; esac
	cmp -s "$first/$b" "$tmp/$b" && die "$b: re-stamped, yet the same bytes"
done
cp "$first/pause.c" "$tmp/pause.c"
printf 'restamped %s\nbuildDate %s -> %s\n' "$first" "$OLD" "$NEW" >"$tmp/BUILDINFO"
touch "$tmp/.complete"
# Older ones (another first build, another key) are dead weight.
for d in "$root"/*; do
	[ -d "$d" ] && [ "$d" != "$tmp" ] && rm -rf "$d"
done
mv "$tmp" "$out"
trap - EXIT
say "re-stamped $BINS: $out"
echo "$out"
