# "The internet" on loopback for the offline tests: source after
# tests/cli/lib.sh (it uses $T).
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
#                                       rate (nginx limit_rate, e.g. 2m)
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
	local rate=0
	[ "${1:-}" = --rate ] && rate=$2
	NET_DIR=$T/internet
	NET_WWW=$NET_DIR/www
	mkdir -p "$NET_WWW" "$NET_DIR/registry" "$NET_DIR/nginx"
	NET_ADDR=$(_net_pick_addr) || {
		echo "net_start: no free loopback address" >&2
		return 1
	}
	NET_URL=http://$NET_ADDR:8080
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
		limit_rate $rate;
		location = /token { default_type application/json; }
		location /v2/ {
			proxy_pass http://$NET_REG;
			proxy_set_header Host \$http_host;
			proxy_buffering off;
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
