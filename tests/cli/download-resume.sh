#!/bin/bash
# Killing `ezk download` halfway and running it again fetches only what is
# missing: the partial files are resumed with HTTP ranges, and nginx's
# access log shows no completed file sent twice. The sources are the
# loopback internet's rate-limited port (1 MB/s a response), so an 8 MB
# binary and an 8 MB image layer take seconds: time to kill the run in the
# middle of each.
. "$(dirname "$0")/../lib.sh" || exit 1
. "$EZK_SRC/tests/harness/internet.sh"
net_skip_unless_ready

net_start --rate 1m || { fail "the loopback internet starts"; done_testing; exit 1; }
net_testbed 8 || { fail "the test bed is pushed"; done_testing; exit 1; }
net_sources "$NET_SLOW_URL"
H=$EZK_HOME

# wait_for FILE BYTES: until FILE has at least BYTES (60 s at most)
wait_for() {
	local i
	for i in $(seq 1 1200); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# 1: killed (SIGKILL) in the middle of bin/kubelet
"$EZK" download --no-packages -q -e @"$T/sources.yml" >"$T/run1.log" 2>&1 &
pid=$!
if wait_for "$H/bin/kubelet.part" 2000000; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	pass "run 1 killed (SIGKILL) with bin/kubelet.part at $(stat -c %s "$H/bin/kubelet.part") bytes"
else
	fail "run 1 was in the middle of bin/kubelet" "$(cat "$T/run1.log")"
fi
[ ! -e "$H/bin/kubelet" ] && pass "no bin/kubelet yet (only its part)" || fail "no bin/kubelet yet"

# 2: stopped (SIGTERM; a background job of a script ignores SIGINT) in the middle of calico/node's big layer
node_layer=$(sed -n 's/.*"layers":\[{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' \
	"$TB_SRC/node/blobs/sha256/${TB_DIGEST_calico_node#sha256:}")
"$EZK" download --no-packages -q -e @"$T/sources.yml" >"$T/run2.log" 2>&1 &
pid=$!
if wait_for "$H/down/blobs/sha256/$node_layer.part" 2000000; then
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	pass "run 2 stopped (SIGTERM) in the middle of calico/node's layer ($(stat -c %s "$H/down/blobs/sha256/$node_layer.part" 2>&1) bytes)"
else
	fail "run 2 was in the middle of calico/node's layer" "$(cat "$T/run2.log")"
fi
like "$(cat "$T/run2.log")" "fetched kubelet: .*resumed at [0-9]+ bytes" "run 2 resumed bin/kubelet"

# 3: to the end
run "$EZK" download --no-packages -q -e @"$T/sources.yml"
is "$rc" 0 "run 3 finishes"
like "$err" "fetched calico/node@sha256:${node_layer:0:12}: .*resumed at [0-9]+ bytes" \
	"run 3 resumed the layer"
cmp -s "$NET_WWW/dl.k8s.io/release/v1.36.3/bin/linux/amd64/kubelet" "$H/bin/kubelet" &&
	pass "bin/kubelet is whole and right" || fail "bin/kubelet is whole and right"
dg=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$H/images/node_v3.32.1.tar" 2>&1)
is "$dg" "$TB_DIGEST_calico_node" "images/node_v3.32.1.tar is whole and right"

# the server's view: no completed file sent twice, the rest by ranges
sizes() { # URI -> size of what it serves
	case $1 in
	/v2/*/blobs/sha256:*)
		local f
		f=$(stat -c %s "$TB_SRC"/*/blobs/sha256/"${1##*sha256:}" 2>/dev/null | head -1)
		echo "${f:--1}"
		;;
	/v2/* | /token*) echo -1 ;;
	*) stat -c %s "$NET_WWW$1" 2>/dev/null || echo -1 ;;
	esac
}
twice="" ranged=0
while read -r uri n; do
	[ "$n" -gt 1 ] || continue
	twice="$twice $uri"
done < <(net_log | while read -r m uri st bytes range auth; do
	s=$(sizes "$uri")
	[ "$s" -ge 0 ] && [ "$st" = 200 ] && [ "$bytes" = "$s" ] && echo "$uri"
done | sort | uniq -c | awk '{print $2, $1}')
is "${twice:-none}" none "nginx's log: no completed file was sent twice"
ranged=$(net_log | awk '$3 == 206 && $5 ~ /^"bytes=[0-9]+-"$/' | wc -l)
[ "$ranged" -ge 2 ] && pass "the rest came as ranges ($ranged answers 206 to bytes=N-)" ||
	fail "the rest came as ranges" "$(net_log)"
like "$(net_log)" "GET /dl.k8s.io/release/v1.36.3/bin/linux/amd64/kubelet 206 [0-9]+ \"bytes=[0-9]+-\"" \
	"... kubelet among them"
like "$(net_log)" "GET /v2/calico/node/blobs/sha256:$node_layer 206 [0-9]+ \"bytes=[0-9]+-\" bearer" \
	"... the layer among them (through the registry, with its token)"

# 4: nothing left to do
n=$(net_log | wc -l)
run "$EZK" download --no-packages -q -e @"$T/sources.yml"
is "$rc:$(($(net_log | wc -l) - n))" "0:0" "a fourth run sends no request"

done_testing
