# Step 03's containerd/images role on two --net test hosts running the
# machine's containerd: each archive of $EZK_HOME/images pulled by the host's
# containerd from ezk's own registry on the deploy node (ezk.image_server, on
# the bridge address the hosts' sessions come from), or with
# IMAGE_PULL_FROM_DEPLOY false streamed over the host's session into `ctr
# images import -`, and over SSH too when the pull fails (a host that cannot
# reach the deploy node: a real firewall rule); no archive file on a host;
# named and checked as its index.json says; a rerun that costs each host one
# command and imports nothing; --check that writes nothing (bare hosts, then
# an image missing); an image held under its name with another digest
# imported again; INSTALL_SOURCE offline (every archive of the folder); an
# earlier ezk's /var/lib/ezk/images removed; an archive whose import leaves
# another digest under its name, and a corrupt one, each failing its task
# with the reason while the host stays reachable. (The host API under it,
# ezk.exec's stdin_file: e2e/exec-stdin-file.)
# ezk-test: plain (roles' knowledge on real hosts: the sanitizers watch the same engine,
# transport and modules in e2e/engine, transport, modules-*: make check leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
if ! BINS=$(command -v containerd containerd-shim-runc-v2 ctr runc | tr '\n' ' ') || [ "$(echo $BINS | wc -w)" != 4 ]; then
	skip "containerd and runc are not installed (scripts/install-deps.sh)"
	done_testing
	exit 0
fi

th_start --net 2 || { fail "2 --net test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
"$EZK_SRC/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >/dev/null 2>&1
IMG=$EZK_HOME/images
BB=easzlab.io.local:5000/library/busybox:1.35.0 PAUSE=easzlab.io.local:5000/easzlab/pause:3.10
if [ ! -f "$IMG/busybox_1.35.0.tar" ] || [ ! -x "$EZK_HOME/bin/containerd-bin/ctr" ]; then
	fail "bin-from-debian made containerd and the busybox image"
	done_testing
	exit 1
fi
# pause is there when Kubernetes was built on this machine; the test needs one
# image besides busybox, so without it a small one is made below
hx() { th_exec "$@" 2>&1; }
ctr() { th_exec "$1" /opt/kube/bin/containerd-bin/ctr --address /run/containerd/containerd.sock -n k8s.io "${@:2}"; }
# held I: "NAME DIGEST" of every image containerd holds on host I by name
held() { ctr "$1" images ls | awk 'NR > 1 && $1 !~ /^sha256:/ { print $1, $3 }' | LC_ALL=C sort; }
# want ARCHIVE...: "NAME DIGEST" as their index.json say
want() {
	local a
	for a in "$@"; do
		tar -xOf "$a" index.json | $PY -c 'import json, sys
m = json.load(sys.stdin)["manifests"][0]
print(m["annotations"]["io.containerd.image.name"], m["digest"])'
	done | LC_ALL=C sort
}
digest_of() { want "$1" | cut -d' ' -f2; }

# mk_image DIR ARCH: the blobs of an image (one layer of 64 KiB of random
# bytes, for ARCH) into DIR/oci/blobs; prints its manifest's "digest size"
mk_image() {
	local d=$1 arch=$2 lt ls cd cs md ms
	mkdir -p "$d/oci/blobs/sha256" "$d/root"
	head -c 65536 /dev/urandom >"$d/root/payload"
	tar -C "$d/root" --owner=0 --group=0 --numeric-owner -cf "$d/layer.tar" payload
	lt=$(sha256sum <"$d/layer.tar" | cut -d' ' -f1) ls=$(stat -c %s "$d/layer.tar")
	mv "$d/layer.tar" "$d/oci/blobs/sha256/$lt"
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/payload"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "$lt" >"$d/c.json"
	cd=$(sha256sum <"$d/c.json" | cut -d' ' -f1) cs=$(stat -c %s "$d/c.json")
	mv "$d/c.json" "$d/oci/blobs/sha256/$cd"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cd" "$cs" "$lt" "$ls" >"$d/m.json"
	md=$(sha256sum <"$d/m.json" | cut -d' ' -f1) ms=$(stat -c %s "$d/m.json")
	mv "$d/m.json" "$d/oci/blobs/sha256/$md"
	echo "$md $ms"
}
# mk_layout_tar DIR OUT INDEX_ENTRIES: DIR's blobs, index.json listing the
# entries, as the archive OUT
mk_layout_tar() {
	printf '{"schemaVersion":2,"manifests":[%s]}' "$3" >"$1/oci/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci/oci-layout"
	tar -C "$1/oci" --owner=0 --group=0 --numeric-owner -cf "$2" oci-layout index.json blobs
	rm -rf "$1"
}
# mk_archive OUT NAME...: an OCI image-layout archive, as `ezk download`
# makes them, of one image per NAME for the machine's platform, index.json
# naming each (one NAME: one image, as ezk's archives hold)
mk_archive() {
	local out=$1 d=$T/mk n m ms sep="" e="" arch
	shift
	arch=$(dpkg --print-architecture)
	rm -rf "$d"
	for n in "$@"; do
		read -r m ms < <(mk_image "$d" "$arch")
		e="$e$sep$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}' \
			"$m" "$ms" "$n" "${n##*:}" "$arch")"
		sep=,
	done
	mk_layout_tar "$d" "$out" "$e"
}
# mk_multi_archive OUT NAME: one image of a registry's multi-arch index, the
# machine's platform and another, with only the machine's blobs (as `ctr
# images export` writes an image pulled for one platform)
mk_multi_archive() {
	local out=$1 n=$2 d=$T/mk arch other m1 s1 m2 s2 id is
	arch=$(dpkg --print-architecture) other=amd64
	[ "$arch" = amd64 ] && other=arm64
	rm -rf "$d"
	read -r m1 s1 < <(mk_image "$d" "$arch")
	read -r m2 s2 < <(mk_image "$d-other" "$other")
	rm -rf "$d-other"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}]}' \
		"$m1" "$s1" "$arch" "$m2" "$s2" "$other" >"$d/i.json"
	id=$(sha256sum <"$d/i.json" | cut -d' ' -f1) is=$(stat -c %s "$d/i.json")
	mv "$d/i.json" "$d/oci/blobs/sha256/$id"
	mk_layout_tar "$d" "$out" "$(printf '{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
		"$id" "$is" "$n" "${n##*:}")"
}
if [ ! -f "$IMG/pause_3.10.tar" ]; then
	mk_archive "$IMG/pause_3.10.tar" "$PAUSE"
fi

"$EZK" new c >/dev/null
C=$EZK_HOME/clusters/c
sed -i -E "/^192\.168\.1\.[235]\b/d; s/192\.168\.1\.1\b/$A/; s/192\.168\.1\.4\b/$B/" "$C/hosts"
"$EZK_SRC/scripts/testnet-config.sh" "$C"
# Not under test here, so made cheap: each host is given the machine's own
# containerd, runc and CNI plugins (the bytes bin-from-debian.sh took) where
# step 03 puts them, so that its copies find them in place and send nothing.
for i in 0 1; do
	th_exec $i sh -c "mkdir -p /opt/kube/bin/containerd-bin /opt/cni/bin &&
		cp -p $BINS /opt/kube/bin/containerd-bin/ &&
		cp -p /usr/lib/cni/* /opt/cni/bin/"
done

# ---- --check on hosts where containerd is not running yet: writes nothing
d0=$(th_upper_digest 0) d1=$(th_upper_digest 1)
ev_setup check0 c 03 --check
is "$rc" 0 "setup c 03 --check on bare hosts: exit 0"
for h in $A $B; do
	like "$(msg "$h" "import $BB")" "^would import $IMG/busybox_1.35.0.tar \(sha256:[0-9a-f]{64}\)$" \
		"--check, $h: would import busybox (containerd not running: nothing held)"
done
is "$(th_upper_digest 0) $(th_upper_digest 1)" "$d0 $d1" "--check: nothing written on either host"

# ---- the first run: every archive pulled from the deploy node
ev_setup first c 03
is "$rc" 0 "setup c 03: exit 0"
W=$(want "$IMG/busybox_1.35.0.tar" "$IMG/pause_3.10.tar")
for i in 0 1; do
	h=${TH_ADDRS[$i]}
	is "$(ev_titles first "$h" changed | tr , '\n' | grep '^import ' | paste -sd, -)" "import $PAUSE,import $BB" \
		"first run, $h: pause and busybox imported"
	like "$(msg "$h" "import $BB")" "^pulled from the deploy node \(${TH_GW//./\\.}:[0-9]+\), $(digest_of "$IMG/busybox_1.35.0.tar")$" \
		"first run, $h: pulled from ezk on the deploy node's address on the hosts' bridge"
	is "$(held $i)" "$W" "$h: containerd holds each under its index.json's name, with its digest"
	is "$(th_exec $i sh -c 'ls -d /tmp/ezk-pull.* 2>/dev/null | wc -l')" 0 "$h: the pull's hosts dir is gone"
	is "$(th_exec $i sh -c 'grep -c easzlab /etc/hosts; ls /etc/containerd/certs.d')" "0
docker.io
easzlab.io.local:5000" "$h: no /etc/hosts line, containerd's certs.d as step 03 wrote it"
done
# the registry ran only while ezk did
port=$(msg "$A" "import $BB" | sed -n 's/.*:\([0-9]*\)), .*/\1/p')
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$TH_GW:$port/v2/" 2>/dev/null)" 000 \
	"after the run, nothing answers on the registry's address ($TH_GW:$port)"

# ---- IMAGE_PULL_FROM_DEPLOY false: streamed over the session
for i in 0 1; do ctr $i images rm "$BB" "$PAUSE" >/dev/null; done
ev_setup ssh c 03 -e IMAGE_PULL_FROM_DEPLOY=false
is "$rc" 0 "IMAGE_PULL_FROM_DEPLOY=false: exit 0"
for i in 0 1; do
	h=${TH_ADDRS[$i]}
	is "$(ev_titles ssh "$h" changed | tr , '\n' | grep '^import ' | paste -sd, -)" "import $PAUSE,import $BB" \
		"over SSH, $h: pause and busybox imported"
	unlike "$(msg "$h" "import $BB")" "pulled" "over SSH, $h: not pulled"
	is "$(held $i)" "$W" "over SSH, $h: containerd holds each with its digest"
done
# no file the hosts wrote holds an archive's bytes (their overlay's upper
# dir, their own /tmp, /run and /root): nothing was written but containerd's
# content, and no /var/lib/ezk/images (where ezk copied them before)
bbsize=$(stat -c %s "$IMG/busybox_1.35.0.tar") bbsum=$(sha256sum <"$IMG/busybox_1.35.0.tar" | cut -d' ' -f1)
for i in 0 1; do
	got=$({ find "$(th_upper $i)" -type f -size "${bbsize}c" -print0 | xargs -0 -r sha256sum
		th_exec $i sh -c "find /tmp /run /root -type f -size ${bbsize}c -print0 | xargs -0 -r sha256sum
			test -e /var/lib/ezk/images && echo images-dir"; } | grep -e "$bbsum" -e images-dir)
	is "$got" "" "${TH_ADDRS[$i]}: no archive on the host (no file of busybox_1.35.0.tar's bytes, no /var/lib/ezk/images)"
done
is "$(ctr 0 run --rm "$BB" t1 sh -c 'echo hello from $(id -un)')" "hello from root" "the streamed busybox runs"

# ---- rerun: one command a host, nothing imported
EZK_STATS=1 ev_setup rerun c 03
is "$rc" 0 "rerun: exit 0"
for h in $A $B; do
	is "$(ev_changed rerun "$h")" 0 "rerun, $h: changed=0"
	is "$(msg "$h" "import $BB")" "containerd holds $(digest_of "$IMG/busybox_1.35.0.tar")" "rerun, $h: busybox is ok, held with its digest"
	is "$($PY -c 'import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "task" and e.get("role") == "containerd/images" and e.get("host") == sys.argv[2]:
        n += e.get("cmds", 0)
print(n)' "$T/rerun.json" "$h")" 1 "rerun, $h: the image role ran one command on the host (ctr images check)"
done

# ---- --check with an image missing on B and an earlier ezk's archives on A
ctr 1 images rm "$BB" >/dev/null
th_exec 0 sh -c 'mkdir -p /var/lib/ezk/images && head -c 1000 /dev/zero >/var/lib/ezk/images/busybox_1.35.0.tar'
hb=$(held 1) d0=$(th_upper_digest 0) d1=$(th_upper_digest 1)
ev_setup check1 c 03 --check
is "$rc" 0 "--check: exit 0"
like "$(msg "$B" "import $BB")" "^would import $IMG/busybox_1.35.0.tar" "--check, $B: would import the missing busybox"
is "$(st "$B" "import $PAUSE")" ok "--check, $B: pause is ok"
is "$(st "$A" "remove /var/lib/ezk/images") $(msg "$A" "remove /var/lib/ezk/images")" \
	"changed would remove the archives an earlier ezk copied there (images are streamed now)" \
	"--check, $A: would remove /var/lib/ezk/images"
is "$(held 1)" "$hb" "--check: $B's containerd holds what it held"
is "$(th_upper_digest 0) $(th_upper_digest 1)" "$d0 $d1" "--check: nothing written on either host"
ev_setup again c 03
is "$rc" 0 "the run after: exit 0"
is "$(ev_titles again "$B" changed)" "import $BB" "$B: busybox imported again, nothing else changed"
is "$(ev_titles again "$A" changed)" "remove /var/lib/ezk/images" "$A: the old archives removed, nothing else changed"
is "$(hx 0 sh -c 'test -e /var/lib/ezk/images && echo there || echo gone')" gone "$A: /var/lib/ezk/images is gone"
is "$(held 1)" "$W" "$B: holds both images again"

# ---- another digest under busybox's name: imported again
ctr 0 images tag --force "$PAUSE" "$BB" >/dev/null
ev_setup stale c 03 -l "$A"
is "$(ev_titles stale "$A" changed)" "import $BB" "$A: busybox's name held another digest: imported again"
is "$(held 0)" "$W" "$A: ... and holds the archive's digest under it"

# ---- INSTALL_SOURCE offline: every archive of the folder
sed -i 's/^INSTALL_SOURCE:.*/INSTALL_SOURCE: "offline"/' "$C/config.yml"
X=easzlab.io.local:5000/ezk/extra:1.0
mk_archive "$IMG/extra_1.0.tar" "$X"
ev_setup offline c 03
is "$rc" 0 "offline: exit 0"
W=$(want "$IMG"/*.tar)
for i in 0 1; do
	h=${TH_ADDRS[$i]}
	is "$(ev_titles offline "$h" changed)" "import $X" "offline, $h: the folder's other archive imported, nothing else"
	is "$(held $i)" "$W" "offline, $h: containerd holds the three images"
done

# ---- a multi-arch image (an index of two platforms, this one's blobs
# only): complete and unpacked for this host's platform, so held, and a rerun
# leaves it alone
M=easzlab.io.local:5000/ezk/multi:1.0
mk_multi_archive "$IMG/multi_1.0.tar" "$M"
ev_setup multi c 03 -l "$A"
is "$(ev_titles multi "$A" changed)" "import $M" "a multi-arch archive: imported"
like "$(ctr 0 images check | awk -v n="$M" '$1 == n { print $3, $4, $NF }')" \
	"^$(digest_of "$IMG/multi_1.0.tar") complete true$" "... containerd holds the index, complete for this platform (one of two), unpacked"
ev_setup multi2 c 03 -l "$A"
is "$(ev_changed multi2 "$A")" 0 "... a rerun leaves it alone (changed=0)"
rm -f "$IMG/multi_1.0.tar"
ctr 0 images rm "$M" >/dev/null

# ---- an archive of two images: refused on the deploy node (which of them
# containerd would end up naming is not the archive's to say)
Y=easzlab.io.local:5000/ezk/twice:1.0
mk_archive "$IMG/twice_1.0.tar" "$Y" "$Y"
ev_setup twice c 03 -l "$A"
is "$rc" 1 "an archive of two images: exit 1"
like "$(ev_msg twice "$A" "lua error")" "twice_1\.0\.tar: its index\.json must list exactly one image \(it has 2 digests, 2 names\)" \
	"... the deploy node says why"
is "$(held 0 | grep -c twice)" 0 "... nothing of it imported"
rm -f "$IMG/twice_1.0.tar"

# ---- the import leaves another digest under the name: the task fails saying
# both. (Another client retagging the name between the import and the check
# stands in for whatever could: the image role alone, with a ctr that does
# `images import`, then tags pause under the imported name, as a race would.)
R2=$T/roles-race
mkdir -p "$R2"
cat >"$R2/steps.lua" <<'EOF'
return { { id = "03", alias = "runtime", plays = {
  { hosts = "kube_master:kube_node", roles = { "containerd/images" } } } } }
EOF
th_exec 1 sh -c 'mkdir -p /opt/ezk-race/containerd-bin && cat >/opt/ezk-race/containerd-bin/ctr && chmod 755 /opt/ezk-race/containerd-bin/ctr' <<EOF
#!/bin/sh
/opt/kube/bin/containerd-bin/ctr "\$@" || exit
case "\$*" in
*" images import "* | *" images pull "*) /opt/kube/bin/containerd-bin/ctr -n k8s.io images tag --force "$PAUSE" "$X" >/dev/null ;;
esac
EOF
ctr 1 images rm "$X" >/dev/null
EZK_ROLES=$R2:$EZK_SRC/roles ev_setup race c 03 -l "$B" -e bin_dir=/opt/ezk-race -e IMAGE_PULL_FROM_DEPLOY=false
is "$rc" 1 "the image is not the expected one after its import: exit 1"
is "$(st "$B" "import $X")" failed "... its import task failed"
is "$(msg "$B" "import $X")" "exit 1: imported $IMG/extra_1.0.tar, but containerd holds $(digest_of "$IMG/pause_3.10.tar") (complete, unpacked: true) under $X, not $(digest_of "$IMG/extra_1.0.tar")" \
	"... saying what containerd holds and what was expected"
is "$(ev_recap race "$B" | grep -o 'unreachable=[0-9]*')" unreachable=0 "... the host stays reachable"
ctr 1 images rm "$X" >/dev/null
EZK_ROLES=$R2:$EZK_SRC/roles ev_setup race2 c 03 -l "$B" -e bin_dir=/opt/ezk-race
is "$rc" 1 "the image is not the expected one after its pull: exit 1"
is "$(st "$B" "import $X")" failed "... its task failed"
like "$(msg "$B" "import $X")" "^pulled $X from the deploy node \(${TH_GW//./\\.}:[0-9]+\), but containerd holds $(digest_of "$IMG/pause_3.10.tar") \(complete, unpacked: true\) under it, not $(digest_of "$IMG/extra_1.0.tar")$" \
	"... saying what containerd holds and what was expected"
is "$(ev_recap race2 "$B" | grep -o 'unreachable=[0-9]*')" unreachable=0 "... the host stays reachable"

# ---- a host that cannot reach the deploy node but over SSH (a firewall
# rule on the host rejects every other TCP connection to the machine): the
# pull fails, ezk warns and streams the images over the session
ctr 0 images rm "$BB" >/dev/null
th_exec 0 iptables -I OUTPUT -d "$TH_GW" -p tcp ! --sport 22 -j REJECT --reject-with tcp-reset
ev_setup walled c 03 -l "$A"
is "$rc" 0 "a host that cannot reach the deploy node's registry: exit 0"
like "$(msg "$A" warning)" "^warning: the pull from the deploy node \(${TH_GW//./\\.}:[0-9]+\) failed: $BB: .*connection refused.*; 1 image\(s\) imported over SSH instead$" \
	"... the pull failed: warned, saying why"
is "$(ev_titles walled "$A" changed)" "import $BB" "... busybox imported, nothing else changed"
unlike "$(msg "$A" "import $BB")" "pulled" "... over SSH"
is "$(held 0)" "$W" "... containerd holds the three images"
th_exec 0 iptables -D OUTPUT -d "$TH_GW" -p tcp ! --sport 22 -j REJECT --reject-with tcp-reset

# ---- a corrupt archive: containerd checks each blob's digest as it writes
# it (a fresh image: content containerd holds already is not written again)
mk_archive "$IMG/bad_1.0.tar" easzlab.io.local:5000/ezk/bad:1.0
$PY - "$IMG/bad_1.0.tar" <<'EOF'
import sys, tarfile
p = sys.argv[1]
with tarfile.open(p) as t:
    m = max((m for m in t.getmembers() if m.name.startswith("blobs/")), key=lambda m: m.size)
with open(p, "r+b") as f:
    f.seek(m.offset_data + m.size // 2)
    b = f.read(1)
    f.seek(m.offset_data + m.size // 2)
    f.write(bytes([b[0] ^ 0xff]))
EOF
ev_setup corrupt c 03 -l "$B"
is "$rc" 1 "a corrupt archive: exit 1"
is "$(st "$B" "import easzlab.io.local:5000/ezk/bad:1.0")" failed "... its import task failed"
like "$(msg "$B" "import easzlab.io.local:5000/ezk/bad:1.0")" "^exit 1: .*(digest|unexpected)" "... with containerd's reason"
is "$(ev_recap corrupt "$B" | grep -o 'unreachable=[0-9]*')" unreachable=0 "... the host stays reachable"
# containerd keeps the name, pointing at the right digest, its content
# incomplete: the next run is not fooled into calling it held
like "$(ctr 1 images check | awk '$1 == "easzlab.io.local:5000/ezk/bad:1.0" { print $3, $4 }')" \
	"^$(digest_of "$IMG/bad_1.0.tar") incomplete" "(containerd keeps the failed image's name, its content incomplete)"
ev_setup corrupt2 c 03 -l "$B"
is "$(st "$B" "import easzlab.io.local:5000/ezk/bad:1.0")" failed "... the next run imports it again (and fails again): an incomplete image is not held"
rm -f "$IMG/bad_1.0.tar"
ctr 1 images rm easzlab.io.local:5000/ezk/bad:1.0 >/dev/null
ev_setup after c 03
is "$rc" 0 "without the bad archives: exit 0"
is "$(ev_titles after "$A" changed)|$(ev_titles after "$B" changed)" "|import $X" \
	"... the race's image imported again on $B, nothing else changed"
is "$(held 0)|$(held 1)" "$W|$W" "... both hosts hold the three images, each with its archive's digest"

done_testing
