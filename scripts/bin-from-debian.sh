#!/bin/bash
# Fill $EZK_HOME/bin and $EZK_HOME/images the way the offline bundle will,
# from this machine's Debian packages and Debian's Kubernetes source: for
# `make demo`, the tests, and users of a checkout.
#
# Usage: scripts/bin-from-debian.sh [--no-build] [EZK_HOME]
#        (default EZK_HOME: $EZK_HOME, else ~/.ezk)
#   --no-build   take the Kubernetes binaries only if already built and
#                cached (scripts/build-kubernetes.sh --cached); without it a
#                first run on a machine builds them (as root; see README)
#
# What lands where (kubeasz's layout of its bin/ and down/):
#   bin/kube-apiserver kube-controller-manager kube-scheduler kubelet
#       kube-proxy kubectl      Kubernetes v1.20.2 built from Debian's source
#                               (scripts/build-kubernetes.sh, cached)
#   bin/etcd etcdctl            etcd-server, etcd-client
#   bin/containerd-bin/containerd containerd-shim-runc-v2 ctr runc
#                               containerd, runc
#   bin/cni-bin/*               containernetworking-plugins (/usr/lib/cni)
#   bin/nginx                   nginx (kube-lb), and its stream module in
#   bin/nginx-modules/ngx_stream_module.so  (libnginx-mod-stream: Debian
#                               builds it as a module; load_module it)
#   bin/haproxy bin/keepalived  haproxy, keepalived (step 10 ex-lb: the
#                               balancer in front of the masters, the VIP)
#   images/pause_<tag>.tar      the sandbox image: build/pause/linux/pause.c of
#                               the Kubernetes tree, linked statically
#   images/busybox_<tag>.tar    busybox-static with every applet and an httpd
#                               document root (/var/www, a CGI that says the
#                               host name)
# The images are OCI image-layout archives named for `ctr -n k8s.io images
# import` (index.json carries io.containerd.image.name and
# org.opencontainers.image.ref.name), reproducible: the same inputs give the
# same bytes. Names: EZK_SANDBOX_IMAGE (default config.yml's SANDBOX_IMAGE,
# easzlab.io.local:5000/easzlab/pause:3.10) and EZK_BUSYBOX_IMAGE (default
# easzlab.io.local:5000/library/busybox:<Debian's busybox version>).
# crictl is not packaged in Debian 12 (no cri-tools): not provided.
#
# Only what changed is copied (atomically: a temp file, then rename). Each
# binary's version is printed. Exit 0 when everything is in place; 1 when
# something could not be had (said on stderr); with --no-build, Kubernetes
# not yet built is a note, not an error.
set -euo pipefail
export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

build=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "bin-from-debian: unknown option $1" >&2
		exit 2
		;;
	*) break ;;
	esac
	shift
done
home=${1:-${EZK_HOME:-$HOME/.ezk}}
SANDBOX_IMAGE=${EZK_SANDBOX_IMAGE:-easzlab.io.local:5000/easzlab/pause:3.10}
# Image timestamps (files, config): fixed, so that archives are reproducible.
EPOCH=${SOURCE_DATE_EPOCH:-0}

errors=0
say() { echo "bin-from-debian: $*" >&2; }
err() {
	say "$*"
	errors=$((errors + 1))
}

mkdir -p "$home/bin" "$home/bin/containerd-bin" "$home/bin/cni-bin" \
	"$home/bin/nginx-modules" "$home/images"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# put SRC DEST: DEST becomes a copy of SRC (mode 0755) unless it already is
# one; sets STATE to "updated" or "unchanged".
put() {
	local src=$1 dst=$2
	if cmp -s "$src" "$dst" && [ -x "$dst" ]; then
		STATE=unchanged
		return
	fi
	cp "$src" "$dst.tmp.$$"
	chmod 755 "$dst.tmp.$$"
	mv -f "$dst.tmp.$$" "$dst"
	STATE=updated
}

# row NAME VERSION: one line of the table on stdout.
row() { printf '  %-40s %-44s %s\n' "$1" "$2" "$STATE"; }

# first_line CMD...: the first line a command prints (stdout or stderr).
first_line() { { "$@" 2>&1 || true; } | sed -n '1{s/[[:space:]]*$//;p}'; }

# from_debian PKG BIN DEST: a binary of an installed package.
from_debian() {
	local pkg=$1 bin=$2 dst=$3 src
	src=$(command -v "$bin" 2>/dev/null || true)
	if [ -z "$src" ]; then
		err "$bin is not installed (apt-get install $pkg; scripts/install-deps.sh does)"
		return 1
	fi
	put "$src" "$home/bin/$dst"
}

echo "== $home/bin"
from_debian etcd-server etcd etcd && row etcd "$(first_line "$home/bin/etcd" --version)"
from_debian etcd-client etcdctl etcdctl && row etcdctl "$(first_line "$home/bin/etcdctl" version)"
from_debian containerd containerd containerd-bin/containerd &&
	row containerd-bin/containerd "$(first_line "$home/bin/containerd-bin/containerd" --version | cut -d' ' -f1,3)"
from_debian containerd containerd-shim-runc-v2 containerd-bin/containerd-shim-runc-v2 &&
	row containerd-bin/containerd-shim-runc-v2 "containerd-shim-runc-v2 $("$home/bin/containerd-bin/containerd-shim-runc-v2" -v 2>&1 | sed -n 's/^ *Version: *//p')"
from_debian containerd ctr containerd-bin/ctr && row containerd-bin/ctr "$(first_line "$home/bin/containerd-bin/ctr" --version | cut -d' ' -f1,3)"
from_debian runc runc containerd-bin/runc && row containerd-bin/runc "$(first_line "$home/bin/containerd-bin/runc" --version)"
from_debian nginx nginx nginx && row nginx "$(first_line "$home/bin/nginx" -v)"
if [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
	put /usr/lib/nginx/modules/ngx_stream_module.so "$home/bin/nginx-modules/ngx_stream_module.so"
	row nginx-modules/ngx_stream_module.so "libnginx-mod-stream $(dpkg-query -W -f='${Version}' libnginx-mod-stream 2>/dev/null)"
else
	err "nginx's stream module is not installed (apt-get install libnginx-mod-stream)"
fi
from_debian haproxy haproxy haproxy && row haproxy "$(first_line "$home/bin/haproxy" -v | cut -d' ' -f1-3)"
from_debian keepalived keepalived keepalived && row keepalived "$(first_line "$home/bin/keepalived" --version)"
if [ -d /usr/lib/cni ] && [ -x /usr/lib/cni/bridge ]; then
	n=0 changed=0
	for f in /usr/lib/cni/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		put "$f" "$home/bin/cni-bin/${f##*/}"
		n=$((n + 1))
		[ $STATE = unchanged ] || changed=$((changed + 1))
	done
	# Plugins Debian no longer ships are removed too: the bundle is this set.
	for f in "$home/bin/cni-bin"/*; do
		[ -e "$f" ] && [ ! -e "/usr/lib/cni/${f##*/}" ] && rm -f "$f" && changed=$((changed + 1))
	done
	STATE=unchanged
	[ $changed = 0 ] || STATE="updated ($changed)"
	row "cni-bin/ ($n plugins)" "containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins)"
else
	err "the CNI plugins are not installed (apt-get install containernetworking-plugins)"
fi
STATE=-
row crictl "not in Debian 12 (no cri-tools package)"

# ------------------------------------------------------------- Kubernetes
KBINS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
kdir=""
if [ -n "${EZK_KUBERNETES_DIR:-}" ]; then
	kdir=$EZK_KUBERNETES_DIR # binaries built elsewhere, same names
elif kdir=$("$here/build-kubernetes.sh" --cached 2>/dev/null); then
	:
elif [ $build = 0 ]; then
	kdir=""
	say "Kubernetes is not built yet on this machine (--no-build): skipped; scripts/build-kubernetes.sh builds it"
elif [ "$(id -u)" != 0 ]; then
	kdir=""
	err "Kubernetes is not built yet and building it needs root: run scripts/build-kubernetes.sh as root"
else
	say "building Kubernetes from Debian's source (once per machine; see README)"
	kdir=$("$here/build-kubernetes.sh" | tail -1) || {
		kdir=""
		err "scripts/build-kubernetes.sh failed: no Kubernetes binaries"
	}
fi
if [ -n "$kdir" ]; then
	for b in $KBINS; do
		if [ ! -x "$kdir/$b" ]; then
			err "$kdir/$b is missing"
			continue
		fi
		put "$kdir/$b" "$home/bin/$b"
		if [ $b = kubectl ]; then
			row $b "$(first_line "$home/bin/$b" version --client --short)"
		else
			row $b "$(first_line "$home/bin/$b" --version)"
		fi
	done
	[ -f "$kdir/BUILDINFO" ] && say "Kubernetes from $kdir ($(grep -E '^(source|go|seconds) ' "$kdir/BUILDINFO" | tr '\n' ' '))"
fi

# ----------------------------------------------------------------- images
# json_str S: S as a JSON string (the names here hold no quote or control
# character; checked).
json_str() {
	case $1 in *[\"\\]* | *[[:cntrl:]]*) say "bad character in '$1'" && return 1 ;; esac
	printf '"%s"' "$1"
}

# reftag REF: the tag of an image reference (after the last ':' that is not
# part of a registry's host:port).
reftag() {
	local last=${1##*/}
	case $last in *:*) echo "${last##*:}" ;; *) echo latest ;; esac
}

# tar_dir DIR OUT: DIR's content as a tar with fixed owners, times and order
# (GNU format, no ./ prefix): the same tree gives the same bytes.
tar_dir() {
	(cd "$1" && find . -mindepth 1 | sed 's|^\./||' | sort) |
		tar -C "$1" --no-recursion --owner=0 --group=0 --numeric-owner \
			--mtime="@$EPOCH" --format=gnu -cf "$2" -T -
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# oci_archive NAME ROOTFS CONFIG OUT: an OCI image layout of one layer
# (ROOTFS) and CONFIG (the "config" object of the image config, JSON),
# named NAME, as a tar at OUT. Sets IMG_DIGEST (the manifest's).
oci_archive() {
	local name=$1 rootfs=$2 config=$3 out=$4 d=$tmp/oci.$$ arch tag
	local layer diffid ldigest lsize cfg cdigest csize man mdigest msize
	rm -rf "$d"
	mkdir -p "$d/blobs/sha256"
	arch=$(dpkg --print-architecture)
	tag=$(reftag "$name")
	tar_dir "$rootfs" "$tmp/layer.tar"
	diffid=$(sha "$tmp/layer.tar")
	gzip -9 -n -c "$tmp/layer.tar" >"$tmp/layer.tar.gz"
	ldigest=$(sha "$tmp/layer.tar.gz")
	lsize=$(size "$tmp/layer.tar.gz")
	mv "$tmp/layer.tar.gz" "$d/blobs/sha256/$ldigest"
	printf '{"architecture":"%s","os":"linux","created":"%s","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"ezk scripts/bin-from-debian.sh"}]}' \
		"$arch" "$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)" "$config" "$diffid" \
		"$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/config.json"
	cdigest=$(sha "$tmp/config.json")
	csize=$(size "$tmp/config.json")
	mv "$tmp/config.json" "$d/blobs/sha256/$cdigest"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$cdigest" "$csize" "$ldigest" "$lsize" >"$tmp/manifest.json"
	mdigest=$(sha "$tmp/manifest.json")
	msize=$(size "$tmp/manifest.json")
	mv "$tmp/manifest.json" "$d/blobs/sha256/$mdigest"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":%s,"org.opencontainers.image.ref.name":%s},"platform":{"architecture":"%s","os":"linux"}}]}' \
		"$mdigest" "$msize" "$(json_str "$name")" "$(json_str "$tag")" "$arch" >"$d/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar_dir "$d" "$tmp/image.tar"
	rm -rf "$d"
	if cmp -s "$tmp/image.tar" "$out"; then
		STATE=unchanged
		rm -f "$tmp/image.tar"
	else
		mv -f "$tmp/image.tar" "$out.tmp.$$"
		chmod 644 "$out.tmp.$$"
		mv -f "$out.tmp.$$" "$out"
		STATE=updated
	fi
	IMG_DIGEST=sha256:$mdigest
}

# archive_name REF: images/<last path part, ':' as '_'>.tar
archive_name() {
	local last=${1##*/}
	case $last in *:*) ;; *) last=$last:latest ;; esac
	echo "$home/images/${last//:/_}.tar"
}

echo "== $home/images"
# pause: the Kubernetes tree's pause.c, static.
if [ -n "$kdir" ] && [ -f "$kdir/pause.c" ]; then
	r=$tmp/pause-root
	mkdir -p "$r"
	if gcc -Os -Wall -Werror -static -DVERSION="k8s-$("$home/bin/kubelet" --version | awk '{print $2}')" \
		-o "$r/pause" "$kdir/pause.c" 2>"$tmp/gcc.log" && strip "$r/pause"; then
		chmod 755 "$r/pause"
		out=$(archive_name "$SANDBOX_IMAGE")
		oci_archive "$SANDBOX_IMAGE" "$r" \
			'{"User":"65535:65535","Entrypoint":["/pause"],"Labels":{"org.opencontainers.image.source":"kubernetes build/pause/linux/pause.c (Debian source package, built statically by ezk)"}}' \
			"$out"
		row "${out##*/}" "$SANDBOX_IMAGE"
		echo "      $IMG_DIGEST"
	else
		cat "$tmp/gcc.log" >&2
		err "pause.c does not build statically (libc6-dev: gcc -static)"
	fi
else
	say "no pause image: it is built from the Kubernetes tree's pause.c (comes with the Kubernetes build)"
	[ $build = 0 ] || errors=$((errors + 1))
fi

# busybox: busybox-static with every applet.
bb=$(command -v busybox 2>/dev/null || true)
if [ -n "$bb" ] && file_is_static=$(LC_ALL=C readelf -d "$bb" 2>/dev/null | grep -c NEEDED || true) &&
	[ "$file_is_static" = 0 ]; then
	bbver=$(dpkg-query -W -f='${Version}' busybox-static)
	bbtag=${bbver#*:}
	bbtag=${bbtag%%-*}
	BUSYBOX_IMAGE=${EZK_BUSYBOX_IMAGE:-easzlab.io.local:5000/library/busybox:$bbtag}
	r=$tmp/busybox-root
	mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/tmp" "$r/var/www/cgi-bin" "$r/dev" "$r/proc" "$r/sys"
	cp "$bb" "$r/bin/busybox"
	# Every applet a hard link in /bin, as the busybox images of Docker Hub
	# have them (links to the running binary: this copy).
	"$r/bin/busybox" --install "$r/bin"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	printf 'ezk busybox httpd\n' >"$r/var/www/index.html"
	# GET /cgi-bin/hostname: which pod answered (service tests).
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nhostname\n' >"$r/var/www/cgi-bin/hostname"
	chmod 755 "$r" "$r/bin" "$r/etc" "$r/var" "$r/var/www" "$r/var/www/cgi-bin" "$r/dev" "$r/proc" "$r/sys" \
		"$r/bin/busybox" "$r/var/www/cgi-bin/hostname"
	find "$r" -mindepth 1 -type d -exec chmod 755 {} +
	chmod 700 "$r/root"
	chmod 1777 "$r/tmp"
	chmod 644 "$r/etc/passwd" "$r/etc/group" "$r/var/www/index.html"
	out=$(archive_name "$BUSYBOX_IMAGE")
	oci_archive "$BUSYBOX_IMAGE" "$r" \
		'{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/","Labels":{"org.opencontainers.image.source":"Debian busybox-static, packed by ezk","ezk.httpd":"httpd -f -p 80 -h /var/www (GET /cgi-bin/hostname says which pod answered)"}}' \
		"$out"
	row "${out##*/}" "$BUSYBOX_IMAGE"
	echo "      $IMG_DIGEST"
else
	err "busybox-static is not installed (a static /bin/busybox; apt-get install busybox-static)"
fi

if [ $errors -gt 0 ]; then
	say "$errors thing(s) missing (above)"
	exit 1
fi
