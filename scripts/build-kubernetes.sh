#!/bin/bash
# Build Kubernetes' six binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy, kubectl) from Debian 12's `kubernetes`
# source package (upstream v1.20.2 with vendor/), with Debian's golang-go,
# and print the directory that holds them (last line of stdout).
#
# The result is cached under $EZK_CACHE (default /var/cache/ezk), keyed by
# the source package's version, the Go version, the reflect2 package's
# version and this script's own text: only the first run on a machine pays
# for the build (see README: "Kubernetes from Debian's source").
#
# Usage: scripts/build-kubernetes.sh            (as root: installs what it needs)
#        scripts/build-kubernetes.sh --cached   (print the cache dir if built, else exit 1)
#
# What the build does, and why:
# - GOPATH mode as the tree's own scripts (GOPATH/src/k8s.io/kubernetes,
#   GO111MODULE=off, CGO_ENABLED=0: static binaries).
# - The vendored github.com/modern-go/reflect2 v1.0.1 crashes under Go >= 1.18
#   whenever a map is encoded (kube-proxy --write-config-to, kubectl config
#   set-credentials, kube-apiserver on ?pretty=true): it is replaced by
#   Debian's golang-github-modern-go-reflect2-dev (1.0.2).
# - kube-apiserver needs pkg/generated/openapi, which the tarball does not
#   carry: openapi-gen (vendored) is built and run on the packages that ask for
#   it, as Makefile.generated_files does, without the rest of `make
#   generated_files` (the other generated files are in the tarball).
# - The version is stamped with -ldflags as hack/lib/version.sh does, so each
#   binary's --version says v1.20.2.
set -euo pipefail
export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CACHE=${EZK_CACHE:-/var/cache/ezk}
SRC_PKG=kubernetes
K8S_GIT_VERSION=v1.20.2
BINS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
DEPS="golang-go golang-github-modern-go-reflect2-dev"

say() { echo "build-kubernetes: $*" >&2; }
die() {
	say "$*"
	exit 1
}

self_hash() { sha256sum "$(readlink -f "${BASH_SOURCE[0]}")" | cut -c1-12; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# The source package's version as apt sees it (needs the deb-src line).
src_version() {
	apt-cache showsrc "$SRC_PKG" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1
}

# The key of a build: everything that changes the binaries.
cache_key() {
	local sv=$1
	printf '%s\n' "$sv" "$(pkg_version golang-go)" \
		"$(pkg_version golang-github-modern-go-reflect2-dev)" "$(self_hash)" |
		sha256sum | cut -c1-16
}

cache_dir_for() { echo "$CACHE/kubernetes/$K8S_GIT_VERSION-$1"; }

complete() {
	local d=$1 b
	for b in $BINS; do [ -x "$d/$b" ] || return 1; done
	[ -f "$d/pause.c" ] || return 1
	[ -f "$d/.complete" ]
}

# A deb-src line for the mirror and suite apt already uses for Debian's main.
ensure_deb_src() {
	if apt-cache showsrc "$SRC_PKG" >/dev/null 2>&1 &&
		[ -n "$(src_version)" ]; then
		return 0
	fi
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security |
		head -1 | awk '{print $2}')
	[ -n "$uri" ] || uri=$(grep -hsE '^deb +[^[]*http' /etc/apt/sources.list |
		grep -v security | head -1 | awk '{print $2}')
	[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	say "adding deb-src $uri $codename main (/etc/apt/sources.list.d/ezk-deb-src.sources)"
	cat >/etc/apt/sources.list.d/ezk-deb-src.sources <<EOF
Types: deb-src
URIs: $uri
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update -qq
}

ensure_deps() {
	local missing="" p
	for p in $DEPS rsync; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

if [ "${1:-}" = "--cached" ]; then
	command -v apt-cache >/dev/null || exit 1
	sv=$(src_version) && [ -n "$sv" ] || exit 1
	d=$(cache_dir_for "$(cache_key "$sv")")
	complete "$d" || exit 1
	echo "$d"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, $CACHE)"
ensure_deb_src
ensure_deps
sv=$(src_version)
[ -n "$sv" ] || die "apt-get knows no source package '$SRC_PKG' (deb-src line?)"
key=$(cache_key "$sv")
out=$(cache_dir_for "$key")
if complete "$out"; then
	say "cached: $out (source $sv)"
	echo "$out"
	exit 0
fi

mkdir -p "$CACHE/kubernetes"
# One build at a time on a machine (two `make test` runs share the cache).
exec 9>"$CACHE/kubernetes/.lock"
flock 9
if complete "$out"; then
	echo "$out"
	exit 0
fi

start=$(date +%s)
work="$CACHE/kubernetes/work-$key"
rm -rf "$work"
mkdir -p "$work/src"
say "fetching source $SRC_PKG $sv"
(cd "$work/src" && apt-get source --download-only -qq "$SRC_PKG=$sv" >/dev/null 2>&1) ||
	die "apt-get source $SRC_PKG=$sv failed"
orig=$(ls "$work"/src/*.orig.tar.* | head -1)
[ -f "$orig" ] || die "no .orig tarball in $work/src"
mkdir -p "$work/gopath/src/k8s.io"
tar xf "$orig" -C "$work/gopath/src/k8s.io"
tree=$(find "$work/gopath/src/k8s.io" -mindepth 1 -maxdepth 1 -type d | head -1)
mv "$tree" "$work/gopath/src/k8s.io/kubernetes"
tree="$work/gopath/src/k8s.io/kubernetes"

# reflect2 1.0.2 from Debian in place of the vendored 1.0.1.
r2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$r2/reflect2.go" ] || die "$r2 missing (golang-github-modern-go-reflect2-dev)"
rm -rf "$tree/vendor/github.com/modern-go/reflect2"
mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
cp "$r2"/*.go "$r2"/*.s "$tree/vendor/github.com/modern-go/reflect2/" 2>/dev/null ||
	cp "$r2"/*.go "$tree/vendor/github.com/modern-go/reflect2/"

export GOPATH="$work/gopath" GO111MODULE=off CGO_ENABLED=0
# Go's build cache outlives a build (keyed by content, -trimpath keeps the
# work dir's path out of it): a rebuild after a change of this recipe
# compiles only what changed.
export GOCACHE="$CACHE/kubernetes/gocache" GOTMPDIR="$work/tmp"
unset GOFLAGS
mkdir -p "$GOTMPDIR"
cd "$tree"

# openapi-gen on the packages that carry a +k8s:openapi-gen tag (the KUBE
# target of Makefile.generated_files: the tree's Go dirs, staging named as
# vendor/k8s.io/..., without code-generator and sample-apiserver).
say "generating pkg/generated/openapi"
# (no -trimpath here: the generator finds the standard library through
# runtime.GOROOT(), which -trimpath hides)
go build -o "$work/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
dirs=$(find -H . \( -path ./_\* -o -path ./.\* -o -path ./vendor \) -prune -o \
	-type f -name '*.go' -print |
	sed 's|^./staging/src|vendor|; s|^\./||; s|/[^/]*$||' | LC_ALL=C sort -u |
	grep -v -e '^vendor/k8s.io/code-generator' -e '^vendor/k8s.io/sample-apiserver')
inputs=$(for d in $dirs; do
	# Tags in column 0 of any Go file directly in the dir (not its tests).
	if grep -lq '^// *+k8s:openapi-gen=' "$d"/*.go 2>/dev/null; then
		echo "k8s.io/kubernetes/$d"
	fi
done | paste -sd, -)
[ -n "$inputs" ] || die "no package asks for openapi generation"
"$work/openapi-gen" --logtostderr -v 0 -i "$inputs" \
	-p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
	-h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
	-r "$work/openapi-violations.report" >"$work/openapi-gen.log" 2>&1 ||
	{
		tail -20 "$work/openapi-gen.log" >&2
		die "openapi-gen failed"
	}
[ -s pkg/generated/openapi/zz_generated.openapi.go ] || die "openapi-gen wrote nothing"

# Version stamping, as hack/lib/version.sh does it.
ver_pkg=k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version
ver_pkg2=k8s.io/kubernetes/vendor/k8s.io/component-base/version
build_date=$(date -u -d "@${SOURCE_DATE_EPOCH:-1610496000}" +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for p in $ver_pkg $ver_pkg2; do
	ldflags="$ldflags -X $p.gitVersion=$K8S_GIT_VERSION"
	ldflags="$ldflags -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
	ldflags="$ldflags -X $p.gitMajor=1 -X $p.gitMinor=20"
done

say "building $BINS (go $(go env GOVERSION), $(nproc) cores)"
mkdir -p "$work/out"
pkgs=""
for b in $BINS; do pkgs="$pkgs k8s.io/kubernetes/cmd/$b"; done
# shellcheck disable=SC2086
go build -trimpath -ldflags "$ldflags" -o "$work/out/" $pkgs

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
for b in $BINS; do
	install -m 0755 "$work/out/$b" "$tmp/$b"
done
# The pause container's source, for the sandbox image (scripts/bin-from-debian.sh)
install -m 0644 build/pause/linux/pause.c "$tmp/pause.c"
end=$(date +%s)
printf 'source %s\ngo %s\nreflect2 %s\nseconds %s\n' "$sv" "$(go env GOVERSION)" \
	"$(pkg_version golang-github-modern-go-reflect2-dev)" "$((end - start))" >"$tmp/BUILDINFO"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
cd /
rm -rf "$work"
# Older builds of the same version (other keys) are dead weight.
for d in "$CACHE/kubernetes/$K8S_GIT_VERSION"-*; do
	[ "$d" = "$out" ] || rm -rf "$d"
done
say "built in $((end - start)) s: $out"
echo "$out"
