#!/bin/bash
# ezk download against "the internet" on loopback (tests/harness/internet.sh:
# nginx serving files as their projects publish them, a token-auth
# docker-registry with images pushed by skopeo), then ezk bundle create /
# verify / import, and every way a bundle can be bad.
. "$(dirname "$0")/../lib.sh" || exit 1
. "$EZK_SRC/tests/harness/internet.sh"
net_skip_unless_ready

net_start || { fail "the loopback internet starts"; done_testing; exit 1; }
net_testbed 1 || { fail "the test bed is pushed"; done_testing; exit 1; }
net_sources "$NET_URL"
H=$EZK_HOME
w=$NET_WWW

# ------------------------------------------------------------ download
run "$EZK" download --no-packages -q -e @"$T/sources.yml"
is "$rc" 0 "ezk download exits 0"
no_crash "download"
like "$out" "20 fetched, 0 already there, 0 failed" "it says what it fetched"
k=$w/dl.k8s.io/release/v1.36.3/bin/linux/amd64
same=1
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
	cmp -s "$k/$b" "$H/bin/$b" && [ -x "$H/bin/$b" ] || same=0
done
is "$same" 1 "the Kubernetes binaries are in bin/, executable, as published"
is "$(sh "$H/bin/etcdctl")" "etcdctl 3.6.5" "etcd's archive: etcdctl in bin/"
is "$(sh "$H/bin/containerd-bin/ctr")" "ctr 2.1.4" "containerd's archive: bin/containerd-bin/ctr"
is "$(sh "$H/bin/containerd-bin/runc")" "runc 1.3.1" "runc.amd64 (not arm64) as bin/containerd-bin/runc"
is "$(ls "$H/bin/cni-bin" | tr '\n' ' ')" "bridge host-local loopback portmap " \
	"the CNI plugins in bin/cni-bin (executables only: no LICENSE)"
is "$(sh "$H/bin/crictl"),$(sh "$H/bin/helm"),$(sh "$H/bin/calicoctl")" \
	"crictl v1.34.0,helm v3.19.0,calicoctl v3.32.1" "crictl, helm, calicoctl (CLUSTER_NETWORK calico)"
[ ! -e "$H/bin/containerd-bin/containerd-stress" ] && pass "only the members versions.yml names" ||
	fail "only the members versions.yml names"
is "$(ls "$H/images" | tr '\n' ' ')" \
	"cni_v3.32.1.tar coredns_1.12.3.tar k8s-dns-node-cache_1.26.4.tar kube-controllers_v3.32.1.tar metrics-server_v0.8.0.tar node_v3.32.1.tar pause_3.10.tar " \
	"the images of the default config, named as kubeasz names them"
log=$(net_log)
like "$log" "GET /token\?service=ezk-test&scope=repository%3Acalico%2Fcni%3Apull 200" \
	"an anonymous bearer token was fetched from the registry's realm"
like "$log" "GET /v2/calico/cni/blobs/sha256:[0-9a-f]+ 200 [0-9]+ \"-\" bearer" "blobs are fetched with the token"

# the archives: what skopeo and containerd see
dg=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$H/images/cni_v3.32.1.tar" 2>&1)
is "$dg" "$TB_DIGEST_calico_cni" "the manifest list was resolved to linux/amd64 (skopeo reads the archive)"
dg=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$H/images/metrics-server_v0.8.0.tar" 2>&1)
is "$dg" "$TB_DIGEST_easzlab_metrics_server" "a Docker schema 2 image keeps the registry's digest"
ok=1
for f in "$H"/images/*.tar; do
	skopeo copy -q "oci-archive:$f" "oci:$T/roundtrip" >/dev/null 2>&1 || ok=0
done
is "$ok" 1 "every archive copies with skopeo (its blobs match their digests)"
# containerd in a temporary root, for the import the roles will do
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
	c=$T/containerd
	mkdir -p "$c"
	cat >"$c/config.toml" <<EOF2
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.overlayfs"]
[grpc]
  address = "$c/sock"
[ttrpc]
  address = "$c/sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
EOF2
	containerd --config "$c/config.toml" >"$c/log" 2>&1 &
	cpid=$!
	for i in $(seq 1 100); do [ -S "$c/sock" ] && break; sleep 0.1; done
	run ctr -a "$c/sock" -n k8s.io images import --snapshotter native "$H/images/cni_v3.32.1.tar"
	is "$rc" 0 "ctr -n k8s.io images import takes the archive (and unpacks it)"
	ls=$(ctr -a "$c/sock" -n k8s.io images ls -q 2>&1; ctr -a "$c/sock" -n k8s.io images ls 2>&1)
	like "$ls" "easzlab.io.local:5000/easzlab/cni:v3.32.1" "containerd names it as kubeasz's roles expect"
	like "$ls" "${TB_DIGEST_calico_cni}" "... with the upstream manifest digest"
	kill "$cpid"
	wait "$cpid" 2>/dev/null
else
	skip "containerd is not installed: no ctr import check"
fi

# a second run fetches nothing: no request at all
n1=$(net_log | wc -l)
run "$EZK" download --no-packages -q -e @"$T/sources.yml"
is "$rc" 0 "a second ezk download exits 0"
like "$out" "0 fetched, 20 already there" "... finds everything there"
is "$(($(net_log | wc -l) - n1))" 0 "... and sends no request"

# the mirror: docker.io unreachable, the pull goes through REGISTRY_MIRROR
net_sources "$NET_URL" "http://127.0.0.1:9"
run env EZK_HOME="$T/mirror" "$EZK" download --no-binaries --no-packages -q -e @"$T/sources.yml" -e dns_install=no -e metricsserver_install=no -e CLUSTER_NETWORK=none
is "$rc" 0 "docker.io unreachable: download still exits 0"
like "$err" "pulled docker.io/easzlab/pause:3.10 -> images/pause_3.10.tar \(sha256:[0-9a-f]+, through the mirror\)" \
	"... the image came through the mirror"
net_sources "$NET_URL"

# kube-ovn's install.sh, which its release publishes no checksum for: as
# published, in bin/kube-ovn/, recorded with its sha256; kept (no request)
# until kube_ovn_ver names another release
o=$T/ovn
ovn() { run env EZK_HOME="$o" "$EZK" download --no-images --no-packages -q -e @"$T/sources.yml" -e CLUSTER_NETWORK=kube-ovn "$@"; }
ovn
is "$rc" 0 "CLUSTER_NETWORK kube-ovn: download exits 0"
r=$w/raw.githubusercontent.com/kubeovn/kube-ovn
cmp -s "$r/v1.11.5/dist/images/install.sh" "$o/bin/kube-ovn/install.sh" && [ -x "$o/bin/kube-ovn/install.sh" ] &&
	pass "... kube-ovn's install.sh (kube_ovn_ver v1.11.5) in bin/kube-ovn/, executable, as published" ||
	fail "... kube-ovn's install.sh in bin/kube-ovn/, as published"
[ ! -e "$o/bin/calicoctl" ] && pass "... and no calicoctl" || fail "... and no calicoctl"
like "$(tr -d ' \n' <"$o/download.json")" \
	"\"path\":\"bin/kube-ovn/install.sh\",\"url\":\"[^\"]*/kubeovn/kube-ovn/v1.11.5/dist/images/install.sh\",\"sha256\":\"$(sha256sum "$o/bin/kube-ovn/install.sh" | cut -d' ' -f1)\"" \
	"... recorded in download.json with its sha256"
n1=$(net_log | wc -l)
ovn
like "$out" " 0 fetched" "a second run fetches nothing"
is "$(($(net_log | wc -l) - n1))" 0 "... and sends no request"
ovn -e kube_ovn_ver=v1.11.6
is "$rc" 0 "kube_ovn_ver v1.11.6: download exits 0"
like "$(cat "$o/bin/kube-ovn/install.sh")" 'VERSION="v1.11.6"' "... bin/kube-ovn/install.sh is that release's"
ovn -e kube_ovn_ver=v9.9.9
is "$rc" 1 "a kube-ovn release that does not exist: exit 1"
like "$err" "kube-ovn-install: .*v9.9.9.*HTTP 404" "... saying which file is missing"
like "$(cat "$o/bin/kube-ovn/install.sh")" 'VERSION="v1.11.6"' "... and the script there is left as it was"

# cilium: its Helm chart (its repository publishes no checksum: fetched once,
# recorded with its sha256, as kube-ovn's install.sh) and the cilium CLI;
# hubble only with cilium_hubble_enabled; none of them for another network
# (the default download above: calico)
[ ! -e "$H/bin/charts" ] && [ ! -e "$H/bin/cilium" ] && [ ! -e "$H/bin/hubble" ] &&
	pass "calico: no cilium chart, cilium or hubble CLI" || fail "calico: no cilium chart, cilium or hubble CLI"
ci=$T/cilium
cil() {
	run env EZK_HOME="$ci" "$EZK" download --no-images --no-packages -q -e @"$T/sources.yml" \
		-e CLUSTER_NETWORK=cilium "$@"
}
cil
is "$rc" 0 "CLUSTER_NETWORK cilium: download exits 0"
cmp -s "$w/helm.cilium.io/cilium-1.18.2.tgz" "$ci/bin/charts/cilium-1.18.2.tgz" &&
	pass "... cilium's chart (cilium_ver 1.18.2) in bin/charts/, as the repository serves it" ||
	fail "... cilium's chart in bin/charts/, as the repository serves it"
is "$(sh "$ci/bin/cilium")" "cilium-cli v0.18.7" "... the cilium CLI in bin/"
[ ! -e "$ci/bin/hubble" ] && [ ! -e "$ci/bin/calicoctl" ] &&
	pass "... no hubble (cilium_hubble_enabled false), no calicoctl" ||
	fail "... no hubble (cilium_hubble_enabled false), no calicoctl"
chs=$(sha256sum "$ci/bin/charts/cilium-1.18.2.tgz" | cut -d' ' -f1)
like "$(tr -d ' \n' <"$ci/download.json")" \
	"\"path\":\"bin/charts/cilium-1.18.2.tgz\",\"url\":\"[^\"]*/helm.cilium.io/cilium-1.18.2.tgz\",\"sha256\":\"$chs\"" \
	"... the chart recorded in download.json with its sha256"
n1=$(net_log | wc -l)
cil
like "$out" " 0 fetched" "a second run fetches nothing"
is "$(($(net_log | wc -l) - n1))" 0 "... and sends no request"
cil -e cilium_hubble_enabled=true
is "$rc:$(sh "$ci/bin/hubble")" "0:hubble v1.18.0" "cilium_hubble_enabled: the hubble CLI in bin/ too"
run env EZK_HOME="$ci" "$EZK" bundle create "$T/cilium.ezk" -q
is "$rc" 0 "a bundle of the cilium home"
like "$(tar -xOf "$T/cilium.ezk" ezk-bundle.json 2>/dev/null | tr -d ' \n')" \
	"\"path\":\"bin/charts/cilium-1.18.2.tgz\"[^}]*\"sha256\":\"$chs\"" \
	"... its manifest names the chart with its sha256"
run env EZK_HOME="$T/cilium-site" "$EZK" bundle import "$T/cilium.ezk" -q
is "$rc" 0 "... verified and imported"
cmp -s "$ci/bin/charts/cilium-1.18.2.tgz" "$T/cilium-site/bin/charts/cilium-1.18.2.tgz" &&
	pass "... the chart where step 06 looks for it" || fail "... the chart where step 06 looks for it"

# bad input and failures
run "$EZK" download --no-packages -q -e @"$T/sources.yml" -e K8S_VER=v9.9.9
is "$rc" 1 "a version that does not exist: exit 1"
like "$err" "kubernetes: .*v9.9.9.*HTTP 404" "... saying which file is missing"
printf 'binaries: [\n' >"$T/bad.yml"
run "$EZK" download --versions "$T/bad.yml"
is "$rc" 2 "a broken versions file: exit 2"
like "$err" "bad.yml:[0-9]+" "... with file:line"
# a published checksum that does not match: nothing appears
echo tampered >>"$k/kubectl"
run env EZK_HOME="$T/tamper" "$EZK" download --no-images --no-packages -q -e @"$T/sources.yml"
is "$rc" 1 "a binary whose sha256 is not the published one: exit 1"
like "$err" "kubectl: sha256 [0-9a-f]+, expected" "... naming it"
[ ! -e "$T/tamper/bin/kubectl" ] && [ ! -e "$T/tamper/bin/kubectl.part" ] &&
	pass "... and bin/kubectl does not appear (nor a part of it)" || fail "... and bin/kubectl does not appear"

# ------------------------------------------------------------ bundles
run "$EZK" bundle create "$T/b.ezk" -q
is "$rc" 0 "bundle create"
like "$out" "created .*b.ezk: 27 files \(7 images, 0 packages\)" "... counts what it packed"
sum=$(sha256sum "$T/b.ezk" | cut -d' ' -f1)
like "$out" "^$sum  " "... and prints the file's sha256 as sha256sum does"
run "$EZK" bundle verify "$T/b.ezk" -q
is "$rc" 0 "bundle verify passes"
man=$(tar -xOf "$T/b.ezk" ezk-bundle.json 2>/dev/null)
like "$man" "\"K8S_VER\": \"v1.36.3\"" "the manifest has the versions"
like "$man" "\"digest\": \"$TB_DIGEST_calico_cni\"" "... every image's digest"
like "$man" "\"path\": \"bin/kubelet\"" "... every file"
tar -tf "$T/b.ezk" >/dev/null 2>&1 && pass "tar reads the bundle as it is" || fail "tar reads the bundle as it is"

# one flipped byte anywhere fails verify and import, naming the file
size=$(stat -c %s "$T/b.ezk")
kub=$(tar -tvf "$T/b.ezk" | head -1 >/dev/null; python3 - "$T/b.ezk" <<'PY'
import sys, tarfile
t = tarfile.open(sys.argv[1])
for m in t.getmembers():
    if m.name == "bin/kubelet":
        print(m.offset_data + 1000)
PY
)
before=$(cd "$H" && find bin images -type f -exec sha256sum {} + | sort | sha256sum)
for spot in "kubelet data:$kub" "first tar header:100" "manifest:$((size - 512 - 1500))" \
	"end of the tar:$((size - 513))" "footer:$((size - 400))" "last byte:$((size - 1))"; do
	name=${spot%%:*} off=${spot##*:}
	cp "$T/b.ezk" "$T/bad.ezk"
	python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^0x20]))" "$T/bad.ezk" "$off"
	run "$EZK" bundle verify "$T/bad.ezk" -q
	is "$rc" 2 "a flipped byte ($name): verify exits 2"
	like "$err" "bad.ezk" "... naming the file ($err)"
	run "$EZK" bundle import "$T/bad.ezk" -q
	is "$rc" 2 "a flipped byte ($name): import exits 2"
done
after=$(cd "$H" && find bin images -type f -exec sha256sum {} + | sort | sha256sum)
is "$after" "$before" "refused imports changed nothing in \$EZK_HOME"
is "$(ls -d "$H"/.import-* 2>/dev/null | wc -l)" 0 "... and left no staging directory"

head -c $((size / 2)) "$T/b.ezk" >"$T/half.ezk"
run "$EZK" bundle verify "$T/half.ezk"
is "$rc" 2 "a truncated bundle: verify exits 2"
like "$err" "half.ezk: truncated" "... saying it is truncated"
head -c $((size - 100)) "$T/b.ezk" >"$T/short.ezk"
run "$EZK" bundle import "$T/short.ezk"
is "$rc" 2 "a bundle missing its last 100 bytes: import exits 2"
like "$err" "short.ezk: truncated" "... truncated"
cp "$T/b.ezk" "$T/long.ezk"
echo extra >>"$T/long.ezk"
run "$EZK" bundle verify "$T/long.ezk"
is "$rc" 2 "a bundle with bytes appended: exit 2"
head -c 100000 /dev/urandom >"$T/foreign.ezk"
run "$EZK" bundle verify "$T/foreign.ezk"
is "$rc" 2 "a foreign file: verify exits 2"
like "$err" "foreign.ezk: not an ezk bundle" "... not an ezk bundle"
run "$EZK" bundle verify "$T/nothing.ezk"
is "$rc" 2 "a missing file: exit 2"

# import on the other side of the gap: the same layout
run env EZK_HOME="$T/site" "$EZK" bundle import "$T/b.ezk" -q
is "$rc" 0 "bundle import into an empty home"
d=$(diff -r "$H/bin" "$T/site/bin" && diff -r "$H/images" "$T/site/images" && echo same)
is "$d" same "the imported bin/ and images/ are the downloaded ones"
[ -x "$T/site/bin/kubelet" ] && [ -x "$T/site/bin/cni-bin/bridge" ] && pass "binaries are executable" ||
	fail "binaries are executable"
like "$(cat "$T/site/bundle.json")" "\"format\": \"ezk-bundle/1\"" "the manifest is kept as bundle.json"
run env EZK_HOME="$T/site" "$EZK" bundle import "$T/b.ezk" -q
is "$rc" 0 "importing the same bundle again works"

# a bundle of a home filled by hand (as scripts/bin-from-debian.sh does)
mkdir -p "$T/hand/bin/cni-bin" "$T/hand/images"
cp /bin/true "$T/hand/bin/etcd"
cp /bin/true "$T/hand/bin/cni-bin/bridge"
cp "$H/images/pause_3.10.tar" "$T/hand/images/"
run env EZK_HOME="$T/hand" "$EZK" bundle create "$T/hand.ezk" -q --compress zstd
is "$rc" 0 "a bundle of a hand-filled home (zstd)"
run env EZK_HOME="$T/hand2" "$EZK" bundle import "$T/hand.ezk" -q
is "$rc" 0 "... imports"
d=$(diff -r "$T/hand/bin" "$T/hand2/bin" && diff -r "$T/hand/images" "$T/hand2/images" && echo same)
is "$d" same "... into the same layout"
run env EZK_HOME="$T/empty" "$EZK" bundle create "$T/empty.ezk"
is "$rc" 2 "nothing to bundle: exit 2"
like "$err" "nothing to bundle" "... saying so"

done_testing
