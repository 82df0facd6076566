# "The internet" on loopback for the offline tests: source after
# tests/lib.sh (it uses $T).
#
#   net_skip_unless_ready      TAP skip + exit 0 unless nginx, docker-registry,
#                              skopeo and openssl are installed
#   net_start [--rate R]       starts, on a loopback address of its own
#                              (127.x.y.z, free ports checked):
#                                nginx  $NET_URL  serving $NET_WWW (files as
#                                       their projects publish them), /token
#                                       (the registry's anonymous bearer
#                                       tokens) and /v2/ (a proxy to the
#                                       registry, so one access log sees every
#                                       transfer); R limits each response's
#                                       rate (nginx limit_rate, e.g. 2m) on
#                                       $NET_SLOW_URL only
#                                nginx  $NET_SLOW_URL: the same, each response
#                                       at most R bytes/s (default 1m)
#                                docker-registry  $NET_REG (host:port) with
#                                       token auth: every request needs a
#                                       Bearer token from $NET_URL/token
#                              stops both on EXIT (with lib.sh's cleanup)
#   net_log                    prints nginx's access log, one line a request:
#                              METHOD URI STATUS BODY_BYTES "RANGE" AUTH (bearer, other or -)
#   net_push OCI_DIR REPO:TAG [skopeo options]
#                              pushes an OCI layout (all its manifests) into
#                              the registry with skopeo
#   oci_layout DIR ARCH FILE... appends one single-layer image (FILE...
#                              at the root of its filesystem) to the OCI
#                              layout DIR (created if missing); sets
#                              OCI_DIGEST to its manifest's digest
#   oci_index DIR              makes DIR's index.json a nested OCI image index
#                              (a multi-arch list) of the manifests in it
#
# The token is a real RS256 JWT with an x5c chain whose certificate is the
# registry's rootcertbundle: docker-registry verifies it as it would a token
# from Docker Hub's auth service. It grants pull and push on the
# repositories listed in NET_REPOS (set it before net_start).

NET_DIR=""
NET_URL=""
NET_SLOW_URL=""
NET_REG=""
NET_ADDR=""
NET_WWW=""
NET_REPOS=${NET_REPOS:-"library/busybox easzlab/pause calico/cni"}
_net_pids=()

net_skip_unless_ready() {
	local missing=""
	for c in nginx docker-registry skopeo openssl; do
		command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || missing="$missing $c"
	done
	if [ -n "$missing" ]; then
		echo "ok 1 - # SKIP not installed:$missing (scripts/install-deps.sh)"
		echo "1..1"
		exit 0
	fi
}

_b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# A loopback address nobody listens on, on either port.
_net_pick_addr() {
	local a i
	for i in $(seq 1 50); do
		a=127.$((RANDOM % 100 + 100)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
		if ! ss -ltnH 2>/dev/null | awk '{print $4}' | grep -qE "^($a|0\.0\.0\.0|\*|\[::\]):(8080|5000)$"; then
			ss -ltnH 2>/dev/null | awk '{print $4}' | grep -qE "^$a:8081$" && continue
			echo "$a"
			return 0
		fi
	done
	return 1
}

_net_token() {
	local d=$NET_DIR now hdr claims access="" r sig
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ezk-test-token \
		-keyout "$d/token.key" -out "$d/token.pem" 2>/dev/null || return 1
	now=$(date +%s)
	local x5c
	x5c=$(openssl x509 -in "$d/token.pem" -outform DER | openssl base64 -A)
	hdr=$(printf '{"typ":"JWT","alg":"RS256","x5c":["%s"]}' "$x5c" | _b64url)
	for r in $NET_REPOS; do
		access="$access${access:+,}{\"type\":\"repository\",\"name\":\"$r\",\"actions\":[\"pull\",\"push\"]}"
	done
	claims=$(printf '{"iss":"ezk-test-issuer","sub":"","aud":"ezk-test","exp":%d,"nbf":%d,"iat":%d,"jti":"ezk-%d","access":[%s]}' \
		$((now + 86400)) $((now - 600)) $((now - 600)) "$RANDOM" "$access" | _b64url)
	sig=$(printf '%s.%s' "$hdr" "$claims" | openssl dgst -sha256 -sign "$d/token.key" -binary | _b64url)
	printf '{"token":"%s.%s.%s","expires_in":86400}\n' "$hdr" "$claims" "$sig" >"$d/www/token"
}

net_start() {
	local rate=1m
	[ "${1:-}" = --rate ] && rate=$2
	NET_DIR=$T/internet
	NET_WWW=$NET_DIR/www
	mkdir -p "$NET_WWW" "$NET_DIR/registry" "$NET_DIR/nginx"
	NET_ADDR=$(_net_pick_addr) || {
		echo "net_start: no free loopback address" >&2
		return 1
	}
	NET_URL=http://$NET_ADDR:8080
	NET_SLOW_URL=http://$NET_ADDR:8081
	NET_REG=$NET_ADDR:5000
	_net_token || return 1
	cat >"$NET_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $NET_DIR/registry
  delete:
    enabled: true
http:
  addr: $NET_REG
auth:
  token:
    realm: $NET_URL/token
    service: ezk-test
    issuer: ezk-test-issuer
    rootcertbundle: $NET_DIR/token.pem
EOF
	docker-registry serve "$NET_DIR/registry.yml" >"$NET_DIR/registry.log" 2>&1 &
	_net_pids+=($!)
	cat >"$NET_DIR/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $NET_DIR/nginx/nginx.pid;
error_log $NET_DIR/nginx/error.log;
daemon off;
events { worker_connections 64; }
http {
	log_format ezk '\$request_method \$request_uri \$status \$body_bytes_sent "\$http_range" \$ezk_auth';
	map \$http_authorization \$ezk_auth { "" "-"; "~^Bearer " "bearer"; default "other"; }
	access_log $NET_DIR/access.log ezk;
	client_body_temp_path $NET_DIR/nginx/body;
	proxy_temp_path $NET_DIR/nginx/proxy;
	fastcgi_temp_path $NET_DIR/nginx/fastcgi;
	uwsgi_temp_path $NET_DIR/nginx/uwsgi;
	scgi_temp_path $NET_DIR/nginx/scgi;
	types { application/json json; }
	default_type application/octet-stream;
	sendfile on;
	server {
		listen $NET_ADDR:8080;
		root $NET_WWW;
		location = /token { default_type application/json; }
		location /v2/ {
			proxy_pass http://$NET_REG;
			proxy_set_header Host \$http_host;
			proxy_buffering off;
			proxy_http_version 1.1;
		}
	}
	server {
		listen $NET_ADDR:8081;
		root $NET_WWW;
		limit_rate $rate;
		location = /token { default_type application/json; }
		location /v2/ {
			proxy_pass http://$NET_REG;
			proxy_set_header Host \$http_host;
			proxy_buffering on; # limit_rate is not kept on unbuffered answers
			proxy_http_version 1.1;
		}
	}
}
EOF
	nginx -p "$NET_DIR/nginx" -c "$NET_DIR/nginx.conf" -e "$NET_DIR/nginx/error.log" &
	_net_pids+=($!)
	_net_install_trap
	local i
	for i in $(seq 1 100); do
		if curl -fsS -o /dev/null "$NET_URL/token" 2>/dev/null &&
			curl -sS -o /dev/null "http://$NET_REG/v2/" 2>/dev/null; then
			: >"$NET_DIR/access.log"
			return 0
		fi
		sleep 0.1
	done
	echo "net_start: nginx or docker-registry did not come up:" >&2
	cat "$NET_DIR/nginx/error.log" "$NET_DIR/registry.log" >&2
	return 1
}

net_stop() {
	local p
	for p in "${_net_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_net_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	_net_pids=()
}

_net_trap_set=0
_net_install_trap() {
	[ $_net_trap_set = 1 ] && return
	local prev=""
	eval "set -- $(trap -p EXIT)"
	[ $# -ge 3 ] && prev=$3
	# shellcheck disable=SC2064
	trap "net_stop; $prev" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	_net_trap_set=1
}

net_log() { cat "$NET_DIR/access.log"; }

net_push() {
	local dir=$1 ref=$2
	shift 2
	skopeo copy -q --all --dest-tls-verify=false "$@" "oci:$dir" "docker://$NET_REG/$ref"
}

# ------------------------------------------------------------ OCI layouts
_sha() { sha256sum "$1" | cut -d' ' -f1; }
_size() { stat -c %s "$1"; }

oci_layout() {
	local dir=$1 arch=$2
	shift 2
	local root=$dir.root.$$ f
	mkdir -p "$dir/blobs/sha256" "$root"
	for f in "$@"; do cp -a "$f" "$root/"; done
	(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort |
		tar --no-recursion --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$dir/layer.tar" -T -)
	local diffid ld ls cd cs md ms
	diffid=$(_sha "$dir/layer.tar")
	gzip -n -1 -c "$dir/layer.tar" >"$dir/layer.tgz"
	ld=$(_sha "$dir/layer.tgz")
	ls=$(_size "$dir/layer.tgz")
	mv "$dir/layer.tgz" "$dir/blobs/sha256/$ld"
	rm -rf "$dir/layer.tar" "$root"
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "$diffid" >"$dir/config.json"
	cd=$(_sha "$dir/config.json")
	cs=$(_size "$dir/config.json")
	mv "$dir/config.json" "$dir/blobs/sha256/$cd"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
		"$cd" "$cs" "$ld" "$ls" >"$dir/m.json"
	md=$(_sha "$dir/m.json")
	ms=$(_size "$dir/m.json")
	mv "$dir/m.json" "$dir/blobs/sha256/$md"
	echo "sha256:$md $ms $arch" >>"$dir/manifests"
	OCI_DIGEST=sha256:$md
	_oci_write_index "$dir" flat
}

_oci_write_index() {
	local dir=$1 how=$2 list="" d s a
	while read -r d s a; do
		list="$list${list:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$s,\"platform\":{\"architecture\":\"$a\",\"os\":\"linux\"}}"
	done <"$dir/manifests"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	if [ "$how" = flat ]; then
		printf '{"schemaVersion":2,"manifests":[%s]}' "$list" >"$dir/index.json"
		return
	fi
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$list" >"$dir/list.json"
	d=$(_sha "$dir/list.json")
	s=$(_size "$dir/list.json")
	mv "$dir/list.json" "$dir/blobs/sha256/$d"
	OCI_DIGEST=sha256:$d
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%d}]}' \
		"$d" "$s" >"$dir/index.json"
}

oci_index() { _oci_write_index "$1" nested; }

# ------------------------------------------------------------ the test bed
# net_testbed [BIG_MB]: what offline/versions.yml asks for, as its projects
# publish it, on the loopback internet:
#   files (under $NET_WWW): the Kubernetes binaries with a .sha256 each
#     (kubelet BIG_MB of random bytes, default 1), etcd's tar.gz + SHA256SUMS,
#     containerd's tar.gz + .sha256sum, runc.amd64 + runc.sha256sum, the CNI
#     plugins' tgz (with a LICENSE beside the plugins) + .sha256, crictl's
#     tar.gz + .sha256, helm's tar.gz + .sha256sum, calicoctl + SHA256SUMS,
#     kube-ovn's install.sh (v1.11.5 and v1.11.6; no checksum), the cilium
#     CLI's and hubble's tar.gz + .sha256sum, cilium's Helm chart 1.18.2 (a
#     .tgz as a chart repository serves it; no checksum)
#   images (pushed with skopeo): easzlab/pause (OCI), calico/cni (an OCI
#     index of amd64 + arm64), calico/node (BIG_MB random layer),
#     calico/kube-controllers, coredns/coredns, easzlab/k8s-dns-node-cache,
#     easzlab/metrics-server (pushed as Docker schema 2)
# Sets TB_DIGEST_<repo with / and - as _> to the amd64 manifest digest of
# each image and writes $T/sources.yml (use: -e @$T/sources.yml) pointing
# every source at $1's server: net_sources URL.
NET_REPOS="easzlab/pause calico/cni calico/node calico/kube-controllers coredns/coredns easzlab/k8s-dns-node-cache easzlab/metrics-server"
TB_SRC=""

_tb_bin() { # _tb_bin FILE NAME: a small "binary" that says what it is
	mkdir -p "$(dirname "$1")"
	printf '#!/bin/sh\necho "%s"\n' "$2" >"$1"
	chmod 755 "$1"
}

_tb_tgz() { # _tb_tgz OUT DIR: a tar.gz of DIR's content as projects make them
	tar -C "$2" --owner=0 --group=0 -czf "$1" .
}

net_testbed() {
	local big=${1:-1} w=$NET_WWW s=$T/tb b
	mkdir -p "$s"
	TB_SRC=$s
	# Kubernetes: dl.k8s.io/release/<ver>/bin/linux/<arch>/<name> + .sha256
	local k=$w/dl.k8s.io/release/v1.36.3/bin/linux/amd64
	mkdir -p "$k"
	for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl; do
		_tb_bin "$k/$b" "$b v1.36.3"
	done
	head -c $((big * 1048576)) /dev/urandom >"$k/kubelet"
	for b in "$k"/*; do sha256sum "$b" | cut -d' ' -f1 >"$b.sha256"; done
	# etcd: one SHA256SUMS for the release
	local g=$w/github.com e
	e=$g/etcd-io/etcd/releases/download/v3.6.5
	mkdir -p "$e" "$s/etcd/etcd-v3.6.5-linux-amd64"
	for b in etcd etcdctl etcdutl; do _tb_bin "$s/etcd/etcd-v3.6.5-linux-amd64/$b" "$b 3.6.5"; done
	echo "etcd docs" >"$s/etcd/etcd-v3.6.5-linux-amd64/README.md"
	_tb_tgz "$e/etcd-v3.6.5-linux-amd64.tar.gz" "$s/etcd"
	head -c 100 /dev/urandom >"$e/etcd-v3.6.5-linux-arm64.tar.gz"
	(cd "$e" && sha256sum etcd-v3.6.5-linux-arm64.tar.gz etcd-v3.6.5-linux-amd64.tar.gz >SHA256SUMS)
	# containerd: bin/ inside, "<hex>  <file>" in .sha256sum
	e=$g/containerd/containerd/releases/download/v2.1.4
	mkdir -p "$e" "$s/containerd/bin"
	for b in containerd containerd-shim-runc-v2 ctr containerd-stress; do
		_tb_bin "$s/containerd/bin/$b" "$b 2.1.4"
	done
	_tb_tgz "$e/containerd-2.1.4-linux-amd64.tar.gz" "$s/containerd"
	(cd "$e" && sha256sum containerd-2.1.4-linux-amd64.tar.gz >containerd-2.1.4-linux-amd64.tar.gz.sha256sum)
	# runc: the binary itself, runc.sha256sum lists every arch
	e=$g/opencontainers/runc/releases/download/v1.3.1
	mkdir -p "$e"
	_tb_bin "$e/runc.amd64" "runc 1.3.1"
	_tb_bin "$e/runc.arm64" "runc 1.3.1 arm64"
	(cd "$e" && sha256sum runc.amd64 runc.arm64 >runc.sha256sum)
	# CNI plugins: ./bridge ... and a LICENSE at the top
	e=$g/containernetworking/plugins/releases/download/v1.8.0
	mkdir -p "$e" "$s/cni"
	for b in bridge host-local loopback portmap; do _tb_bin "$s/cni/$b" "cni $b v1.8.0"; done
	echo license >"$s/cni/LICENSE"
	_tb_tgz "$e/cni-plugins-linux-amd64-v1.8.0.tgz" "$s/cni"
	(cd "$e" && sha256sum cni-plugins-linux-amd64-v1.8.0.tgz >cni-plugins-linux-amd64-v1.8.0.tgz.sha256)
	# crictl: the bare hex in .sha256
	e=$g/kubernetes-sigs/cri-tools/releases/download/v1.34.0
	mkdir -p "$e" "$s/crictl"
	_tb_bin "$s/crictl/crictl" "crictl v1.34.0"
	_tb_tgz "$e/crictl-v1.34.0-linux-amd64.tar.gz" "$s/crictl"
	sha256sum "$e/crictl-v1.34.0-linux-amd64.tar.gz" | cut -d' ' -f1 >"$e/crictl-v1.34.0-linux-amd64.tar.gz.sha256"
	# helm: get.helm.sh, linux-amd64/helm inside
	e=$w/get.helm.sh
	mkdir -p "$e" "$s/helm/linux-amd64"
	_tb_bin "$s/helm/linux-amd64/helm" "helm v3.19.0"
	echo license >"$s/helm/linux-amd64/LICENSE"
	_tb_tgz "$e/helm-v3.19.0-linux-amd64.tar.gz" "$s/helm"
	(cd "$e" && sha256sum helm-v3.19.0-linux-amd64.tar.gz >helm-v3.19.0-linux-amd64.tar.gz.sha256sum)
	# calicoctl: the binary, the release's SHA256SUMS
	e=$g/projectcalico/calico/releases/download/v3.32.1
	mkdir -p "$e"
	_tb_bin "$e/calicoctl-linux-amd64" "calicoctl v3.32.1"
	(cd "$e" && sha256sum calicoctl-linux-amd64 >SHA256SUMS)
	# kube-ovn's install.sh: a repository's file at a tag, no checksum
	for e in v1.11.5 v1.11.6; do
		mkdir -p "$w/raw.githubusercontent.com/kubeovn/kube-ovn/$e/dist/images"
		printf '#!/usr/bin/env bash\nREGISTRY="kubeovn"\nVERSION="%s"\n' "$e" \
			>"$w/raw.githubusercontent.com/kubeovn/kube-ovn/$e/dist/images/install.sh"
	done
	# the cilium CLI and hubble: cilium/hubble inside, "<hex>  <file>" in .sha256sum
	e=$g/cilium/cilium-cli/releases/download/v0.18.7
	mkdir -p "$e" "$s/cilium-cli"
	_tb_bin "$s/cilium-cli/cilium" "cilium-cli v0.18.7"
	_tb_tgz "$e/cilium-linux-amd64.tar.gz" "$s/cilium-cli"
	(cd "$e" && sha256sum cilium-linux-amd64.tar.gz >cilium-linux-amd64.tar.gz.sha256sum)
	e=$g/cilium/hubble/releases/download/v1.18.0
	mkdir -p "$e" "$s/hubble"
	_tb_bin "$s/hubble/hubble" "hubble v1.18.0"
	_tb_tgz "$e/hubble-linux-amd64.tar.gz" "$s/hubble"
	(cd "$e" && sha256sum hubble-linux-amd64.tar.gz >hubble-linux-amd64.tar.gz.sha256sum)
	# cilium's Helm chart: the repository's <name>-<version>.tgz, cilium/ inside
	mkdir -p "$w/helm.cilium.io" "$s/chart/cilium"
	printf 'apiVersion: v2\nname: cilium\nversion: 1.18.2\n' >"$s/chart/cilium/Chart.yaml"
	_tb_tgz "$w/helm.cilium.io/cilium-1.18.2.tgz" "$s/chart"

	# images
	local img=$s/img f
	mkdir -p "$img"
	echo pause >"$img/pause"
	oci_layout "$s/pause" amd64 "$img/pause"
	TB_DIGEST_easzlab_pause=$OCI_DIGEST
	net_push "$s/pause" easzlab/pause:3.10 || return 1
	echo cni-amd64 >"$img/cni"
	oci_layout "$s/cni" amd64 "$img/cni" /bin/busybox
	TB_DIGEST_calico_cni=$OCI_DIGEST
	echo cni-arm64 >"$img/cni"
	oci_layout "$s/cni" arm64 "$img/cni"
	TB_DIGEST_calico_cni_arm64=$OCI_DIGEST
	oci_index "$s/cni"
	TB_DIGEST_calico_cni_list=$OCI_DIGEST
	net_push "$s/cni" calico/cni:v3.32.1 || return 1
	head -c $((big * 1048576)) /dev/urandom >"$img/node"
	oci_layout "$s/node" amd64 "$img/node"
	TB_DIGEST_calico_node=$OCI_DIGEST
	net_push "$s/node" calico/node:v3.32.1 || return 1
	for f in calico/kube-controllers:v3.32.1 coredns/coredns:1.12.3 easzlab/k8s-dns-node-cache:1.26.4; do
		echo "$f" >"$img/content"
		oci_layout "$s/${f%%:*}" amd64 "$img/content"
		eval "TB_DIGEST_$(echo "${f%%:*}" | tr '/-' '__')=$OCI_DIGEST"
		net_push "$s/${f%%:*}" "$f" || return 1
	done
	# a Docker schema 2 image (skopeo converts it; its digest is the registry's)
	echo metrics >"$img/content"
	oci_layout "$s/metrics" amd64 "$img/content"
	net_push "$s/metrics" easzlab/metrics-server:v0.8.0 --format v2s2 || return 1
	TB_DIGEST_easzlab_metrics_server=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' \
		"docker://$NET_REG/easzlab/metrics-server:v0.8.0" 2>/dev/null)
	: >"$NET_DIR/access.log"
}

# net_sources URL [DOCKER_IO_URL]: $T/sources.yml, every source on URL's
# server (docker.io's registry at DOCKER_IO_URL, default URL; the mirror URL).
net_sources() {
	local u=$1 d=${2:-$1}
	cat >"$T/sources.yml" <<EOF2
sources:
  k8s: "$u/dl.k8s.io/release"
  github: "$u/github.com"
  helm: "$u/get.helm.sh"
  raw: "$u/raw.githubusercontent.com"
  cilium_charts: "$u/helm.cilium.io"
registries:
  docker.io: "$d"
  registry.k8s.io: "$u"
  quay.io: "$u"
  ghcr.io: "$u"
REGISTRY_MIRROR: "$u"
arch: amd64
EOF2
}
