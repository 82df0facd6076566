# The read-only registry ezk serves images from during step 03 (core/imgsrv.c,
# ezk.image_server), alone, through tests/tools/imgserve, against real
# clients: curl for the protocol's answers, byte for byte; skopeo and ezk's
# own registry client (ocitool pull), each checking every digest; twenty
# pulls at once. Archives it must refuse (two images, a name taken, a
# truncated or foreign file) are refused, saying which and why, and the rest
# served. (Step 03 pulling from it on real containerd: e2e/images.)
. "$(dirname "$0")/../lib.sh" || exit 1

SRV=$EZK_TOOL_DIR/imgserve OCI=$EZK_TOOL_DIR/ocitool
[ -x "$SRV" ] && [ -x "$OCI" ] || { fail "imgserve and ocitool are built (make units)"; done_testing; exit; }
command -v curl >/dev/null || { fail "curl is installed (scripts/install-deps.sh)"; done_testing; exit; }

# mk NAME... > archive: an OCI image-layout tar (pax headers, as Python
# writes them) of one image per NAME, a layer of 300 KiB of random bytes;
# NAME "multi:..." makes a two-platform index (this platform's blobs only)
mk() {
	$PY - "$@" <<'EOF'
import hashlib, io, json, os, sys, tarfile
blobs = {}
def blob(b):
    d = hashlib.sha256(b).hexdigest()
    blobs[d] = b
    return {"digest": "sha256:" + d, "size": len(b)}
def image(arch):
    layer = blob(os.urandom(300 * 1024))
    cfg = blob(json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
         "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")]}
    return dict(blob(json.dumps(m).encode()), mediaType=m["mediaType"], platform={"architecture": arch, "os": "linux"})
ms = []
for n in sys.argv[1:]:
    if n.startswith("multi:"):
        n = n[6:]
        # an index without its own mediaType: the server names it from its JSON
        idx = {"schemaVersion": 2, "manifests": [image("amd64"), image("arm64")]}
        del blobs[idx["manifests"][1]["digest"][7:]]
        d = dict(blob(json.dumps(idx).encode()), mediaType="application/vnd.oci.image.index.v1+json")
    else:
        d = image("amd64")
        del d["platform"]
    d["annotations"] = {"io.containerd.image.name": n, "org.opencontainers.image.ref.name": n.rsplit(":", 1)[-1]}
    ms.append(d)
out = io.BytesIO()
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as t:
    def add(name, b):
        i = tarfile.TarInfo(name)
        i.size = len(b)
        i.pax_headers = {"comment": "ezk test"}
        t.addfile(i, io.BytesIO(b))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", json.dumps({"schemaVersion": 2, "manifests": ms}).encode())
    for d, b in blobs.items():
        add("blobs/sha256/" + d, b)
EOF
}
# field ARCHIVE KEY: index.json's one image's digest, size or mediaType
field() { tar -xOf "$1" index.json | $PY -c 'import json, sys; print(json.load(sys.stdin)["manifests"][0][sys.argv[1]])' "$2"; }
# blobof ARCHIVE DIGEST: a blob's bytes, out of the tar
blobof() { tar -xOf "$1" "blobs/sha256/${2#sha256:}"; }

D=$T/img
mkdir -p "$D"
mk easzlab.io.local:5000/easzlab/pause:3.10 >"$D/pause.tar"
mk docker.io/library/busybox:1.36 >"$D/busybox.tar"
mk multi:easzlab.io.local:5000/ezk/multi:1.0 >"$D/multi.tar"
mk easzlab.io.local:5000/ezk/a:1 easzlab.io.local:5000/ezk/b:1 >"$D/two.tar"
mk other.example:5000/easzlab/pause:3.10 >"$D/clash.tar"
mk easzlab.io.local:5000/notag >"$D/notag.tar"
head -c 100000 "$D/busybox.tar" >"$D/truncated.tar"
head -c 5000 /dev/urandom >"$D/random.tar"

# the server, its stdin a fifo this shell holds open
mkfifo "$T/in"
"$SRV" 127.0.0.1 "$D/pause.tar" "$D/busybox.tar" "$D/multi.tar" "$D/two.tar" "$D/clash.tar" \
	"$D/notag.tar" "$D/truncated.tar" "$D/random.tar" "$D/missing.tar" "$D/pause.tar" \
	<"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
exec 9>"$T/in"
for _ in $(seq 100); do grep -q '^port ' "$T/out" && break; sleep 0.05; done
P=$(sed -n 's/^port //p' "$T/out")
like "$P" '^[0-9]+$' "it listens on a port of the kernel's choice"
U=http://127.0.0.1:$P
refused() { grep "^refused $D/$1" "$T/out"; }
like "$(refused two.tar)" "two\.tar: index\.json must list exactly one image" "an archive of two images: refused, saying why"
like "$(refused clash.tar)" "clash\.tar: its image easzlab/pause:3\.10 is $D/pause\.tar's too" \
	"an image whose repository and tag another archive serves (another registry host): refused, naming both"
like "$(refused notag.tar)" "notag\.tar: the image name easzlab\.io\.local:5000/notag is not host/repository:tag" "a name without a tag: refused"
like "$(refused truncated.tar)" "truncated\.tar: not an image archive \((truncated tar|a tar member past its end)\)" "a truncated archive: refused"
like "$(refused random.tar)" "random\.tar: not an image archive|random\.tar: no index\.json" "random bytes: refused"
like "$(refused missing.tar)" "missing\.tar: No such file or directory" "a file that is not there: refused"
is "$(grep -c "^again $D/pause.tar" "$T/out")" 1 "the same archive twice: served once"

hdr() { curl -s -D - -o "$T/body" "$@" | tr -d '\r'; }
h=$(hdr "$U/v2/")
like "$h" "^HTTP/1\.1 200 " "GET /v2/: 200"
like "$h" "Docker-Distribution-API-Version: registry/2\.0" "... with the API version header"

# a manifest by tag: the descriptor index.json lists, byte for byte
dg=$(field "$D/pause.tar" digest) size=$(field "$D/pause.tar" size)
h=$(hdr -I "$U/v2/easzlab/pause/manifests/3.10")
like "$h" "^HTTP/1\.1 200 " "HEAD a manifest by tag: 200"
like "$h" "Content-Type: application/vnd\.oci\.image\.manifest\.v1\+json" "... its media type"
like "$h" "Docker-Content-Digest: $dg" "... its digest"
like "$h" "Content-Length: $size" "... its size"
is "$(curl -s -I -o /dev/null -w '%{size_download}' "$U/v2/easzlab/pause/manifests/3.10")" 0 "... and no body"
hdr "$U/v2/easzlab/pause/manifests/3.10" >/dev/null
is "sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" "$dg" "GET it: the manifest's bytes"
hdr "$U/v2/library/busybox/manifests/1.36" >/dev/null
is "sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" "$(field "$D/busybox.tar" digest)" \
	"a docker.io image: served under its repository and tag"

# a multi-platform index: the tag gives the index, its manifest by digest
# gets the media type its JSON names; a platform not in the archive is 404
h=$(hdr "$U/v2/ezk/multi/manifests/1.0")
like "$h" "Content-Type: application/vnd\.oci\.image\.index\.v1\+json" "an index by tag: its media type"
m1=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$T/body")
m2=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][1]["digest"])' "$T/body")
h=$(hdr "$U/v2/ezk/multi/manifests/$m1")
like "$h" "^HTTP/1\.1 200 " "its manifest by digest: 200"
like "$h" "Content-Type: application/vnd\.oci\.image\.manifest\.v1\+json" "... the media type its JSON names"
is "sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" "$m1" "... its bytes"
like "$(hdr -I "$U/v2/ezk/multi/manifests/$m2")" "^HTTP/1\.1 404 " "the other platform's manifest (not in the archive): 404"
hdr -I "$U/v2/ezk/multi/manifests/sha256%3A${m1#sha256:}" >"$T/h"
like "$(cat "$T/h")" "^HTTP/1\.1 200 " "a digest with its colon percent-encoded: 200"

# blobs: whole, and from an offset (a resumed download)
layer=$(blobof "$D/pause.tar" "$dg" | $PY -c 'import json, sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
blobof "$D/pause.tar" "$layer" >"$T/layer"
h=$(hdr "$U/v2/easzlab/pause/blobs/$layer")
like "$h" "^HTTP/1\.1 200 " "GET a layer: 200"
cmp -s "$T/body" "$T/layer" && pass "... its bytes" || fail "... its bytes"
h=$(hdr -H 'Range: bytes=1000-' "$U/v2/easzlab/pause/blobs/$layer")
like "$h" "^HTTP/1\.1 206 " "Range: bytes=1000-: 206"
like "$h" "Content-Range: bytes 1000-307199/307200" "... Content-Range"
tail -c +1001 "$T/layer" >"$T/tail"
cmp -s "$T/body" "$T/tail" && pass "... the bytes from 1000 on" || fail "... the bytes from 1000 on"
h=$(hdr -H 'Range: bytes=10-19' "$U/v2/easzlab/pause/blobs/$layer")
is "$(cat "$T/body")" "$(head -c 20 "$T/layer" | tail -c 10)" "Range: bytes=10-19: those ten bytes"
like "$(hdr -H 'Range: bytes=999999-' "$U/v2/easzlab/pause/blobs/$layer")" "^HTTP/1\.1 416 " "a range past the end: 416"

# what it does not serve
like "$(hdr "$U/v2/easzlab/pause/manifests/9.9")" "^HTTP/1\.1 404 " "an unknown tag: 404"
like "$(cat "$T/body")" '"code":"MANIFEST_UNKNOWN"' "... MANIFEST_UNKNOWN"
like "$(hdr "$U/v2/easzlab/pause/blobs/sha256:$(printf %064d 0)")" "^HTTP/1\.1 404 " "an unknown blob: 404"
like "$(cat "$T/body")" '"code":"BLOB_UNKNOWN"' "... BLOB_UNKNOWN"
like "$(hdr "$U/v2/easzlab/pause/blobs/../../../../etc/passwd")" "^HTTP/1\.1 404 " "a path out of the archives: 404"
like "$(hdr "$U/etc/passwd")" "^HTTP/1\.1 404 " "a path outside /v2: 404"
like "$(hdr -X PUT --data x "$U/v2/easzlab/pause/manifests/3.10")" "^HTTP/1\.1 405 " "PUT (a push): 405"
like "$(hdr -X POST "$U/v2/easzlab/pause/blobs/uploads/")" "^HTTP/1\.1 405 " "POST (an upload): 405"
like "$(hdr "$U/v2/ezk/a/manifests/1")" "^HTTP/1\.1 404 " "the refused archives' images: 404"
hdr "$U/v2/easzlab/pause/tags/list" >/dev/null
is "$(cat "$T/body")" '{"name":"easzlab/pause","tags":["3.10"]}' "tags/list"

# real clients, each checking every digest: ezk's own, and skopeo
run "$OCI" pull "127.0.0.1:$P/easzlab/pause:3.10" easzlab.io.local:5000/easzlab/pause:3.10 "$T/ezk-pause.tar" "$T/store" amd64 "127.0.0.1:$P=$U"
is "$rc" 0 "ezk's registry client pulls from it"
like "$out" "^$dg " "... the manifest's digest"
run "$OCI" pull "127.0.0.1:$P/ezk/multi:1.0" x/multi:1 "$T/ezk-multi.tar" "$T/store" amd64 "127.0.0.1:$P=$U"
like "$out" "^$m1 linux/amd64 1 0$" "... a multi-platform image: resolved to this platform's manifest"
if command -v skopeo >/dev/null; then
	run skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$P/library/busybox:1.36" "oci:$T/sk:bb"
	is "$rc" 0 "skopeo copies an image from it"
	is "sha256:$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$P/library/busybox:1.36" | sha256sum | cut -d' ' -f1)" \
		"$(field "$D/busybox.tar" digest)" "... and reads the archive's manifest, byte for byte"
else
	fail "skopeo is installed (scripts/install-deps.sh)"
fi

# twenty pulls of a layer at once
pids=()
for i in $(seq 20); do
	curl -s -o "$T/par.$i" "$U/v2/easzlab/pause/blobs/$layer" &
	pids+=($!)
done
wait "${pids[@]}"
n=0
for i in $(seq 20); do cmp -s "$T/par.$i" "$T/layer" && n=$((n + 1)); done
is "$n" 20 "twenty concurrent downloads of a layer: each whole"
# a client that connects and says nothing does not stop the others
exec 8<>"/dev/tcp/127.0.0.1/$P"
like "$(hdr -I "$U/v2/easzlab/pause/manifests/3.10")" "^HTTP/1\.1 200 " "a silent client open: the others are answered"

# the end: stdin closed, it stops (the silent client too) and says how much
exec 9>&-
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid"
is "$?" 0 "stdin closed: it stops, exit 0"
exec 8>&-
served=$(sed -n 's/^served //p' "$T/out")
if [[ "$served" =~ ^[0-9]+$ ]] && [ "$served" -ge 21 ]; then
	pass "... saying how many requests it answered ($served: the twenty downloads and the HEAD among them)"
else
	fail "... saying how many requests it answered" "served: '$served', want at least 21"
fi
is "$(cat "$T/err")" "" "... nothing on stderr"
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/v2/")" 000 "... and nothing answers on its port"

run "$SRV" 198.19.255.254
is "$rc" 1 "an address not of this machine: exit 1"
like "$err" "image server: cannot listen on 198\.19\.255\.254: " "... saying why"
run "$SRV" not-an-address
like "$err" "not-an-address is not a numeric address" "a name, not an address: refused"

done_testing
