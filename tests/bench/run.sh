#!/bin/bash
# make bench: the benchmark table. Each row says what it measures and its target.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/ezk-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The table takes at most BENCH_BUDGET seconds (default 600; 0: no limit):
# a part that would not fit prints a row saying it was skipped. On a loaded
# machine the 50-host rows (Ansible takes minutes a run there) do not fit:
# BENCH_BUDGET=0 make bench prints them all.
budget=${BENCH_BUDGET:-600}
bench_t0=$(date +%s)
left() { # seconds left of the budget (a large number without one)
	[ "$budget" = 0 ] && { echo 999999; return; }
	echo $((budget - ($(date +%s) - bench_t0)))
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "Machine: $(nproc) cores, load average $(load) at the start (timings on a shared machine"
echo "are noisy: each tool's row is measured in the same run, its load noted)."
echo
echo "| benchmark | size | time | memory | target |"
echo "|---|---|---|---|---|"

# 1. Variables: 5,000 hosts (3 etcd, 3 masters, the rest workers, each with a
# k8s_nodename), kubeasz-style [all:vars], our config.yml; every variable of
# every host resolved with templates evaluated.
"$here/gen-inventory.sh" 5000 >"$tmp/hosts"
sed 's/_cluster_name_/bench/g; s|_ezk_home_|/etc/ezk|g' "$src/inventories/config.yml" >"$tmp/config.yml"
"$src/build/bench/bench-vars" "$tmp/hosts" "$tmp/config.yml" "inventory + config.yml, all vars"

# Bundles: a home of 384 MB (three 128 MB binaries of random bytes, as
# incompressible as images' layers), packed, verified and imported; the
# files are in the page cache (this measures ezk, not the disk).
bundle_row() { # LABEL TARGET CMD...
	local label=$1 target=$2 t0 ms mem
	shift 2
	t0=$(date +%s%N)
	mem=$(/usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 && echo "$(($(cat "$tmp/rss") / 1024)) MiB")
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "| $label | $mb MB | $ms ms ($((mb * 1000 / (ms > 0 ? ms : 1))) MB/s) | ${mem:-failed} | $target |"
}
bundle_rows() {
	bh=$tmp/bundle-home
	mkdir -p "$bh/bin"
	for i in 1 2 3; do head -c 134217728 /dev/urandom >"$bh/bin/big$i"; done
	mb=384
	bundle_row "ezk bundle create (no compression)" "≥ 100 MB/s, files fsynced" env EZK_HOME="$bh" "$src/ezk" bundle create "$tmp/b.ezk" -q
	bundle_row "ezk bundle verify" "≥ sha256sum's rate" "$src/ezk" bundle verify "$tmp/b.ezk" -q
	bundle_row "ezk bundle import (verify, unpack, fsync, rename)" "≥ 100 MB/s" env EZK_HOME="$tmp/site" "$src/ezk" bundle import "$tmp/b.ezk" -q
	bundle_row "ezk bundle create --compress zstd" "random bytes: the cost of zstd" env EZK_HOME="$bh" "$src/ezk" bundle create "$tmp/z.ezk" -q -z zstd
	bundle_row "ezk bundle verify (zstd)" "≥ sha256sum's rate" "$src/ezk" bundle verify "$tmp/z.ezk" -q
	t0=$(date +%s%N)
	sha256sum "$tmp/b.ezk" >/dev/null
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "| sha256sum of the same bundle, for scale | $mb MB | $ms ms ($((mb * 1000 / (ms > 0 ? ms : 1))) MB/s) | - | - |"
	rm -rf "$bh" "$tmp/site" "$tmp/b.ezk" "$tmp/z.ezk"
}

# 2-5. The transport, on test hosts (tests/harness/testhosts): needs root.
th=$src/tests/harness/testhosts
roothosts=true
if [ "$(id -u)" != 0 ] || ! unshare --mount --uts --pid --ipc --fork true 2>/dev/null; then
	roothosts=false
fi
hosts_dirs=""
reg_pids=() # the registry rows' docker-registry
trap '[ ${#reg_pids[@]} -gt 0 ] && kill "${reg_pids[@]}" 2>/dev/null; [ -n "$hosts_dirs" ] && "$th" stop $hosts_dirs >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# rss CMD...: run it, keep its stdout in $tmp/out, print its peak RSS in MiB
rss() {
	/usr/bin/time -f %M -o "$tmp/rss" "$@" >"$tmp/out"
	echo "$(($(cat "$tmp/rss") / 1024)) MiB"
}
sshopts() { # OpenSSH with the harness's key and known hosts, no user config
	echo "-F /dev/null -i $1/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=$1/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR"
}

rtt_row() {
	# 2. Round trip of `true` on one systemd host (PAM and logind as on a real host).
	d1=$("$th" start 1 2>/dev/null | tail -1)
	hosts_dirs="$d1"
	a1=$(awk '{print $2; exit}' "$d1/hosts")
	# The floor: a plain resident sh reading `true; echo MARK` lines on a channel
	# of its own, measured alternately with ezk's round trips in the same run.
	mem=$(rss "$src/build/tools/sshtool" -K "$d1/known_hosts" -i "$d1/id_ed25519" -m strict "$a1" floor 1000)
	med=$(sed -n 's/.*rtt_us median=\([0-9]*\).*/\1/p' "$tmp/out")
	floor=$(sed -n 's/.*floor_us median=\([0-9]*\).*/\1/p' "$tmp/out")
	# OpenSSH for scale: a ControlMaster, then 200 commands through it.
	o=$(sshopts "$d1")
	# shellcheck disable=SC2086
	ssh $o -o ControlMaster=yes -o ControlPath="$tmp/cm1" -o ControlPersist=60 -fN "root@$a1"
	t0=$(ms_now)
	# shellcheck disable=SC2086
	for _ in $(seq 200); do ssh $o -o ControlPath="$tmp/cm1" "root@$a1" true; done
	cm=$((($(ms_now) - t0) * 1000 / 200))
	# shellcheck disable=SC2086
	ssh $o -o ControlPath="$tmp/cm1" -O exit "root@$a1" 2>/dev/null
	xf=$(awk -v a="$med" -v b="$floor" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
	echo "| round trip of \`true\`, one host (median of 1000) | 1 host | ${med} µs, ${xf}x a plain resident sh's ${floor} µs (OpenSSH ControlMaster: ${cm} µs; load $(load)) | $mem | ≤ 2x the plain resident sh |"
	"$th" stop "$d1" >/dev/null 2>&1
	hosts_dirs=""
}

many_rows() {
	# 3-5 on 20 hosts with sshd as PID 1.
	d20=$("$th" start --plain 20 2>/dev/null | tail -1)
	hosts_dirs="$d20"
	mapfile -t addrs < <(awk '{print $2}' "$d20/hosts")
	o=$(sshopts "$d20")

	# 3. 200 commands on each of 20 hosts, connections included, both sides.
	mem=$(rss "$src/build/tools/sshmany" cmds "$d20/id_ed25519" "$d20/known_hosts" 200 "${addrs[@]}")
	ezk_ms=$(sed -n 's/.*ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	t0=$(ms_now)
	for a in "${addrs[@]}"; do
		# shellcheck disable=SC2086
		ssh $o -o ControlMaster=yes -o ControlPath="$tmp/cm-$a" -o ControlPersist=60 -fN "root@$a" &
	done
	wait
	for a in "${addrs[@]}"; do
		# shellcheck disable=SC2086
		(for _ in $(seq 200); do ssh $o -o ControlPath="$tmp/cm-$a" "root@$a" true; done) &
	done
	wait
	ossh_ms=$(($(ms_now) - t0))
	for a in "${addrs[@]}"; do
		# shellcheck disable=SC2086
		ssh $o -o ControlPath="$tmp/cm-$a" -O exit "root@$a" 2>/dev/null
	done
	ratio=$(awk -v a="$ossh_ms" -v b="$ezk_ms" 'BEGIN { printf "%.0f", a / (b > 0 ? b : 1) }')
	echo "| 200 commands on each of 20 hosts | 4,000 commands | ezk ${ezk_ms} ms, OpenSSH ControlMaster ${ossh_ms} ms: ${ratio}x | $mem | ezk at least 10x faster |"

	# 4. 1 GiB to one host, against scp (same host, another file name).
	head -c 1073741824 /dev/urandom >"$tmp/big"
	mem=$(rss "$src/build/tools/sshmany" upload "$d20/id_ed25519" "$d20/known_hosts" "$tmp/big" /root/big.ezk "${addrs[0]}")
	ezk_ms=$(sed -n 's/.* ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	prep=$(sed -n 's/.*prepare_ms=\([0-9]*\).*/\1/p' "$tmp/out")
	t0=$(ms_now)
	# shellcheck disable=SC2086
	scp -q $o "$tmp/big" "root@${addrs[0]}:/root/big.scp"
	scp_ms=$(($(ms_now) - t0))
	rate() { awk -v ms="$1" 'BEGIN { printf "%.0f", 1024 / (ms / 1000) }'; }
	pct=$(awk -v e="$ezk_ms" -v s="$scp_ms" 'BEGIN { printf "%.0f", 100 * s / e }')
	echo "| 1 GiB upload to one host, against scp | 1 GiB | ezk $(rate "$ezk_ms") MB/s (${ezk_ms} ms, sha256 ${prep} ms, fsync), scp $(rate "$scp_ms") MB/s: ${pct}% | $mem | at least 80% of scp |"
	rm -f "$tmp/big"
	"$th" exec "$d20" "${addrs[0]}" rm -f /root/big.ezk /root/big.scp

	# 5. One 200 MB file to 20 hosts, then again (nothing to send).
	head -c 209715200 /dev/urandom >"$tmp/f200"
	mem=$(rss "$src/build/tools/sshmany" upload "$d20/id_ed25519" "$d20/known_hosts" "$tmp/f200" /root/f200 "${addrs[@]}")
	first=$(sed -n 's/.* ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmp/out")
	"$src/build/tools/sshmany" upload "$d20/id_ed25519" "$d20/known_hosts" "$tmp/f200" /root/f200 "${addrs[@]}" >"$tmp/out"
	again=$(sed -n 's/.* ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	sent2=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmp/out")
	echo "| one 200 MB file to 20 hosts | 4 GB | ${first} ms (sent to $sent), again ${again} ms (sent to $sent2) | $mem | second run sends nothing |"
	rm -f "$tmp/f200"
	for a in "${addrs[@]}"; do "$th" exec "$d20" "$a" rm -f /root/f200; done

	# 5b. What an install pushes (issue 15): the binaries and images that
	# scripts/bin-from-debian.sh (or a bundle) puts in $EZK_HOME, bin/ and
	# images/, to 20 hosts, one session each and the files in turn (as
	# setup's copies), then again (nothing to send); against scp -r of the
	# same tree to the same hosts, 20 at once, in the same run.
	bt=$tmp/tree-home
	"$src/scripts/bin-from-debian.sh" --no-build "$bt" >/dev/null 2>&1 || true
	mem=$(rss "$src/build/tools/sshmany" tree "$d20/id_ed25519" "$d20/known_hosts" "$bt" /root/tree.ezk "${addrs[@]}")
	first=$(sed -n 's/.* ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	files=$(sed -n 's/.*files=\([0-9]*\).*/\1/p' "$tmp/out")
	bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$tmp/out")
	"$src/build/tools/sshmany" tree "$d20/id_ed25519" "$d20/known_hosts" "$bt" /root/tree.ezk "${addrs[@]}" >"$tmp/out"
	again=$(sed -n 's/.* ms=\([0-9]*\) connect.*/\1/p' "$tmp/out")
	sent2=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmp/out")
	for a in "${addrs[@]}"; do "$th" exec "$d20" "$a" rm -rf /root/tree.ezk; done
	t0=$(ms_now)
	for a in "${addrs[@]}"; do
		# shellcheck disable=SC2086
		scp -q -r $o "$bt" "root@$a:/root/tree.scp" &
	done
	wait
	scp_ms=$(($(ms_now) - t0))
	for a in "${addrs[@]}"; do "$th" exec "$d20" "$a" rm -rf /root/tree.scp; done
	mbs() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.0f", b * 20 / 1e6 / (ms > 0 ? ms / 1000 : 1) }'; }
	echo "| the install's binaries and images to 20 hosts, against scp -r | $files files, $((bytes / 1048576)) MiB a host | ezk $(mbs "$first") MB/s in all (${first} ms, sha256 checked, fsync), again ${again} ms (files sent: $sent2); scp -r $(mbs "$scp_ms") MB/s (${scp_ms} ms) | $mem | at least 80% of scp's rate; again sends nothing |"
	rm -rf "$bt"
	"$th" stop "$d20" >/dev/null 2>&1
	hosts_dirs=""
}

setup_row() {
	# 6. Steps 01 and 02 on 3 systemd hosts (ezk's hosts.multi-node template,
	# the three masters also the etcd members): the PKI, prepare, a TLS etcd
	# cluster; then the rerun (changed=0, nothing restarted).
	d3=$("$th" start 3 2>/dev/null | tail -1)
	hosts_dirs="$d3"
	mapfile -t a3 < <(awk '{print $2}' "$d3/hosts")
	export EZK_HOME=$tmp/home
	"$src/ezk" new bench >/dev/null
	sed -i -E "s/192\.168\.1\.1\b/${a3[0]}/g; s/192\.168\.1\.2\b/${a3[1]}/g; s/192\.168\.1\.3\b/${a3[2]}/g; /^192\.168\.1\.[45]\b/d" "$EZK_HOME/clusters/bench/hosts"
	"$src/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >/dev/null
	t0=$(ms_now)
	mem=$(rss "$src/ezk" setup bench 01-02 --key "$d3/id_ed25519" --json) || true
	first=$(($(ms_now) - t0))
	ch1=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	t0=$(ms_now)
	"$src/ezk" setup bench 01-02 --key "$d3/id_ed25519" --json >"$tmp/out" || true
	again=$(($(ms_now) - t0))
	ch2=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	# --persist 60 (ssh/agent.c): a rerun that starts the agent, then one
	# that finds the sessions it kept
	"$src/ezk" setup bench 01-02 --key "$d3/id_ed25519" --json --persist 60 >"$tmp/out" || true
	t0=$(ms_now)
	"$src/ezk" setup bench 01-02 --key "$d3/id_ed25519" --json --persist 60 >"$tmp/out" || true
	kept=$(($(ms_now) - t0))
	ch3=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	rm -f "$EZK_HOME"/clusters/bench/.ezk-agent-*.sock # (the agent exits)
	echo "| setup 01-02 (PKI, prepare, 3-member TLS etcd) | 3 hosts | first ${first} ms (changed=$ch1), rerun ${again} ms (changed=$ch2), rerun with --persist 60 ${kept} ms (changed=$ch3; load $(load)) | $mem | rerun changes nothing; 3x faster than 2.05 s (issue 17) |"
	unset EZK_HOME
	"$th" stop "$d3" >/dev/null 2>&1
	hosts_dirs=""
}

# 11-12. A whole cluster (issues 13 and 14): Kubernetes v1.20.2 on 5 test
# hosts with a network of their own, ezk's hosts.multi-node as it is but for
# its addresses (3 masters that are the etcd members, 2 nodes), set for the
# test network by scripts/testnet-config.sh (host-gw, add-ons off). Each row
# on fresh hosts: `setup 01-05` first run and rerun, then `setup all` first
# run and rerun. Needs Kubernetes built here (scripts/build-kubernetes.sh).
cluster_row() { # STEPS LABEL
	local steps=$1 label=$2 d5 a5 first again ch1 ch2 mem
	d5=$("$th" start --net 5 2>/dev/null | tail -1)
	hosts_dirs="$d5"
	mapfile -t a5 < <(awk '{print $2}' "$d5/hosts")
	export EZK_HOME=$tmp/khome
	# (a fresh cluster; bin/ and images/ stay: the second row's
	# bin-from-debian then copies nothing)
	rm -rf "$EZK_HOME/clusters" "$EZK_HOME/logs"
	"$src/ezk" new bench >/dev/null
	sed -i -E "s/192\.168\.1\.1\b/${a5[0]}/g; s/192\.168\.1\.2\b/${a5[1]}/g; s/192\.168\.1\.3\b/${a5[2]}/g; s/192\.168\.1\.4\b/${a5[3]}/g; s/192\.168\.1\.5\b/${a5[4]}/g" "$EZK_HOME/clusters/bench/hosts"
	"$src/scripts/testnet-config.sh" "$EZK_HOME/clusters/bench"
	"$src/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >/dev/null
	t0=$(ms_now)
	mem=$(rss "$src/ezk" setup bench "$steps" --key "$d5/id_ed25519" --json -y) || mem="failed"
	first=$(($(ms_now) - t0))
	ch1=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	t0=$(ms_now)
	"$src/ezk" setup bench "$steps" --key "$d5/id_ed25519" --json -y >"$tmp/out" || mem="rerun failed"
	again=$(($(ms_now) - t0))
	ch2=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	echo "| $label | 5 hosts | first ${first} ms (changed=$ch1), rerun ${again} ms (changed=$ch2; load $(load)) | $mem | rerun changes nothing |"
	unset EZK_HOME
	"$th" stop "$d5" >/dev/null 2>&1
	hosts_dirs=""
}
cluster_rows() {
	if ! "$src/scripts/build-kubernetes.sh" --cached >/dev/null 2>&1; then
		echo "| setup 01-05 / all, a v1.20.2 cluster | - | skipped: Kubernetes is not built here (scripts/build-kubernetes.sh) | - | - |"
		return
	fi
	fits 240 "setup 01-05 on 5 hosts (a v1.20.2 cluster)" &&
		cluster_row 01-05 "setup 01-05 (containerd, HA control plane, nodes Ready)"
	fits 260 "setup all on 5 hosts (a v1.20.2 cluster)" &&
		cluster_row all "setup all from bare hosts (01-07: host-gw, add-ons off)"
	return 0 # (a row that does not fit is said, and the bench goes on: set -e)
}

# 13-15. Offline images (issue 15): how the archives of $EZK_HOME/images reach
# every host's containerd (k8s.io), measured both ways on the same --net
# hosts in the same run, N=5 and, when it fits, N=10:
#  - SSH: ezk's own role, containerd/images (step 03's second role: one
#    `ctr images check` a host, then each archive containerd does not hold
#    with its digest streamed over the host's session into `ctr images
#    import -`, no file on the host), run alone by a steps.lua of the
#    bench's own in front of the roles path, IMAGE_PULL_FROM_DEPLOY false;
#    first run and rerun;
#  - ezk's registry: the same role as step 03 runs it by default (each host
#    pulls what it lacks from ezk's read-only registry on the deploy node,
#    core/imgsrv.c, all its images in one command); first run;
#  - registry, as kubeasz: Debian's docker-registry on the deploy node, plain
#    HTTP on the hosts' bridge address ($gw:5000, as kubeasz's
#    easzlab.io.local:5000 is), the archives pushed with skopeo (timed apart:
#    a one-time cost on the deploy node), each host's /etc/hosts naming
#    easzlab.io.local and ezk's certs.d/easzlab.io.local:5000/hosts.toml
#    (INSECURE_REG) saying http; then every host, all at once, pulls every
#    image with `ctr images pull --hosts-dir /etc/containerd/certs.d` (the
#    hosts.toml resolution containerd's CRI uses for the kubelet's pulls;
#    crictl is not in Debian 12): first pull, then again with the images
#    present.
# The images: the test bed's (pause when Kubernetes is built here, busybox)
# and, so that rates mean something, one of REG_BIG_MB (96) MiB of random
# bytes in one gzip layer, as incompressible as real layers. Between the ways
# the images are removed (`images rm --sync`: content and snapshots go) and
# so are the SSH way's archives on the hosts. Both ways' client on the host
# is ctr (import, pull), streaming content into containerd over its socket.
# The timed parts of each N hold the machine-wide lock of the cluster tests
# (tests/run.sh), so neither runs beside the other; booting the hosts and
# installing containerd do not.

# reg_archive NAME MB OUT: an OCI image-layout archive named NAME (as
# `ezk download` makes them: io.containerd.image.name in index.json) of one
# gzip layer holding /payload, MB MiB of random bytes
reg_archive() {
	local name=$1 mb=$2 out=$3 d=$tmp/regimg diffid ld ls cd cs md ms
	local arch now
	rm -rf "$d" && mkdir -p "$d/root" "$d/oci/blobs/sha256"
	head -c $((mb * 1048576)) /dev/urandom >"$d/root/payload"
	tar -C "$d/root" --owner=0 --group=0 --numeric-owner -cf "$d/layer.tar" payload
	diffid=$(sha256sum <"$d/layer.tar" | cut -d' ' -f1)
	gzip -1 -n -c "$d/layer.tar" >"$d/layer.gz"
	ld=$(sha256sum <"$d/layer.gz" | cut -d' ' -f1) ls=$(stat -c %s "$d/layer.gz")
	mv "$d/layer.gz" "$d/oci/blobs/sha256/$ld"
	arch=$(dpkg --print-architecture) now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	printf '{"architecture":"%s","os":"linux","created":"%s","config":{"Cmd":["/payload"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$arch" "$now" "$diffid" >"$d/c.json"
	cd=$(sha256sum <"$d/c.json" | cut -d' ' -f1) cs=$(stat -c %s "$d/c.json")
	mv "$d/c.json" "$d/oci/blobs/sha256/$cd"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$cd" "$cs" "$ld" "$ls" >"$d/m.json"
	md=$(sha256sum <"$d/m.json" | cut -d' ' -f1) ms=$(stat -c %s "$d/m.json")
	mv "$d/m.json" "$d/oci/blobs/sha256/$md"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
		"$md" "$ms" "$name" "${name##*:}" "$arch" >"$d/oci/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci/oci-layout"
	tar -C "$d/oci" --owner=0 --group=0 --numeric-owner -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}
# reg_lock SECONDS: the machine-wide lock of the cluster tests, waiting at
# most SECONDS for a cluster test to end; reg_unlock lets it go
reg_lock() {
	exec {reg_lockfd}>>/tmp/ezk-cluster-tests.lock
	flock -w "$1" "$reg_lockfd"
}
reg_unlock() {
	flock -u "$reg_lockfd"
	exec {reg_lockfd}>&-
}
# reg_on CMD: run CMD (sh) in each of the hosts ${ra[@]:0:$rn}, all at once;
# fails if one failed
reg_on() {
	local a rc=0 pids=()
	for a in "${ra[@]:0:$rn}"; do
		"$th" exec "$rd" "$a" sh -c "$1" >"$tmp/on-$a" 2>&1 &
		pids+=($!)
	done
	for a in "${pids[@]}"; do wait "$a" || rc=1; done
	return $rc
}
# reg_check: every host holds every image under its name with the archive's
# digest (whichever way it came; containerd's CRI adds a sha256:<config>
# name of its own for each image, as it does for the kubelet's pulls)
reg_check() {
	local a
	reg_on "$rctr images ls | awk 'NR > 1 && \$1 !~ /^sha256:/ { print \$1, \$3 }' | LC_ALL=C sort" || return 1
	for a in "${ra[@]:0:$rn}"; do
		if ! cmp -s "$tmp/on-$a" "$tmp/reg-want"; then
			{ echo "registry rows: $a holds:" && cat "$tmp/on-$a"; } >&2
			return 1
		fi
	done
}
# reg_clear: every image out of containerd (the CRI's names too: then content
# and snapshots go), and /var/lib/ezk/images (where an earlier ezk copied its
# archives) off the hosts
reg_clear() {
	reg_on "$rctr images rm --sync \$($rctr images ls -q) >/dev/null && rm -rf /var/lib/ezk/images &&
		test \"\$($rctr content ls -q | wc -l)\" = 0 && test \"\$($rctr snapshots ls | wc -l)\" -le 1"
}
# reg_ezk: ezk's containerd/images role alone on the first $rn hosts; sets
# reg_ms, reg_ch (changed) and reg_mem
reg_ezk() {
	local t0 lim
	lim=$(printf '%s:' "${ra[@]:0:$rn}")
	t0=$(ms_now)
	reg_mem=$(EZK_ROLES="$tmp/regroles:$src/roles" rss "$src/ezk" setup bench 03 -l "${lim%:}" --key "$rd/id_ed25519" --json -y "$@") || reg_mem=failed
	reg_ms=$(($(ms_now) - t0))
	reg_ch=$(tail -1 "$tmp/out" | grep -o '"changed":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
}
# reg_pull: every host pulls every image from the registry, all at once, each
# its images in turn (as a kubelet pulls: one at a time); sets reg_ms
reg_pull() {
	local t0 a rc=0 pids=() o
	o=$(sshopts "$rd")
	t0=$(ms_now)
	for a in "${ra[@]:0:$rn}"; do
		# shellcheck disable=SC2086,SC2029
		ssh $o "root@$a" "for r in $rrefs; do $rctr images pull --hosts-dir /etc/containerd/certs.d --snapshotter overlayfs \$r >/dev/null || exit 1; done" >"$tmp/pull-$a" 2>&1 &
		pids+=($!)
	done
	for a in "${pids[@]}"; do wait "$a" || rc=1; done
	reg_ms=$(($(ms_now) - t0))
	return $rc
}
reg_s() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
reg_rate() { awk -v b="$rbytes" -v n="$2" -v ms="$1" 'BEGIN { printf "%.0f", b * n / 1e6 / (ms > 0 ? ms / 1000 : 1) }'; }
# reg_split: from the --json events of ezk's run in $tmp/out, the seconds a
# host spent on average in the role's imports (each archive streamed into
# ctr images import)
reg_split() {
	awk -v n="$rn" '/"event":"task"/ {
		ms = $0; sub(/.*"ms":/, "", ms); sub(/[^0-9].*/, "", ms)
		if ($0 ~ /"task":"import /) i += ms
	} END { printf "imports %.1f s a host", i / n / 1000 }' "$tmp/out"
}
# reg_measure N: the two ways on the first N hosts, under the lock
reg_measure() {
	rn=$1
	local size="$rn hosts, $rcount images, $((rbytes / 1000000)) MB a host"
	local ssh1 ch1 mem split ssh2 ch2 l1 l2 pull1 pull2 l3 l4 ok1=ok ok2=ok ok3=ok push="" t0 f ref waited
	local own own_ch own_mem l5
	fits $((rn * 10 + 10)) "offline images on $rn hosts, SSH and registry" || return 1
	t0=$(ms_now)
	if ! reg_lock $(($(left) - rn * 10 - 10)); then
		echo "| offline images on $rn hosts, SSH and registry | - | skipped: a cluster test held /tmp/ezk-cluster-tests.lock past the budget | - | - |"
		return 1
	fi
	waited=$(($(ms_now) - t0))
	reg_clear || { reg_unlock; echo "| offline images on $rn hosts | - | FAILED: could not clear the hosts' images | - | - |"; return 1; }
	reg_ezk -e IMAGE_PULL_FROM_DEPLOY=false
	ssh1=$reg_ms ch1=$reg_ch mem=$reg_mem l1=$(load) split=$(reg_split)
	reg_check || ok1="FAILED: not every image on every host"
	reg_ezk -e IMAGE_PULL_FROM_DEPLOY=false
	ssh2=$reg_ms ch2=$reg_ch l2=$(load)
	reg_clear || ok3="FAILED: could not clear the hosts' images"
	reg_ezk
	own=$reg_ms own_ch=$reg_ch own_mem=$reg_mem l5=$(load)
	reg_check || ok3="FAILED: not every image on every host"
	grep -q '"msg":"pulled from the deploy node' "$tmp/out" || ok3="FAILED: not pulled from the deploy node"
	if [ -z "$rpushed" ]; then
		t0=$(ms_now)
		for f in "${rfiles[@]}"; do
			ref=$(tar -xOf "$f" index.json | sed -n 's/.*"io\.containerd\.image\.name":"\([^"]*\)".*/\1/p')
			skopeo copy -q --dest-tls-verify=false "oci-archive:$f" "docker://$gw:5000/${ref#*/}" >"$tmp/push.log" 2>&1 || rpushed=failed
		done
		[ -z "$rpushed" ] && rpushed=$(($(ms_now) - t0))
		push="| offline images: push into docker-registry on the deploy node (skopeo, plain HTTP; once) | $rcount images, $((rbytes / 1000000)) MB | $(reg_s "$rpushed") s ($(reg_rate "$rpushed" 1) MB/s; load $(load)) | - | a one-time cost |"
	fi
	reg_clear || ok2="FAILED: could not clear the hosts' images"
	reg_pull || ok2="FAILED: a pull failed ($(cat "$tmp"/pull-* | tail -1))"
	pull1=$reg_ms l3=$(load)
	reg_check || ok2="FAILED: not every image on every host"
	reg_pull || ok2="FAILED: a second pull failed"
	pull2=$reg_ms l4=$(load)
	reg_unlock
	echo "| offline images, SSH: ezk's containerd/images (streamed into ctr images import -) | $size | $ok1: first $(reg_s "$ssh1") s ($(reg_rate "$ssh1" "$rn") MB/s in all; $split; changed=$ch1; load $l1), rerun $(reg_s "$ssh2") s (changed=$ch2; load $l2) | $mem | the faster way is README's |"
	echo "| offline images, ezk's registry: each host pulls from ezk on the deploy node (step 03's default) | $size | $ok3: first $(reg_s "$own") s ($(reg_rate "$own" "$rn") MB/s in all; changed=$own_ch; load $l5); a rerun is the SSH row's (one check a host) | $own_mem | the way step 03 takes |"
	[ -n "$push" ] && echo "$push"
	echo "| offline images, registry: ctr images pull --hosts-dir (certs.d, plain HTTP) | $size | $ok2: first $(reg_s "$pull1") s ($(reg_rate "$pull1" "$rn") MB/s in all; load $l3), again $(reg_s "$pull2") s (images present; load $l4) | registry $(awk '/VmHWM/ { printf "%d MiB", $2 / 1024 }' "/proc/${reg_pids[0]}/status" 2>/dev/null) | the faster way is README's |"
	reg_bed="$reg_bed, waited $(reg_s "$waited") s for the lock (N=$rn)"
}
reg_rows() {
	local n=10 a t0 tboot tctd
	if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
		echo "| offline images, SSH against a registry | - | skipped: needs Debian's docker-registry and skopeo | - | - |"
		return
	fi
	# ~4 min in all with 10 hosts at load 25, half that with 5
	fits 240 "offline images on 10 hosts, SSH and registry" >/dev/null || n=5
	t0=$(ms_now)
	export EZK_HOME=$tmp/rhome
	rm -rf "$EZK_HOME"
	"$src/scripts/bin-from-debian.sh" --no-build "$EZK_HOME" >/dev/null 2>&1 || true
	if [ ! -x "$EZK_HOME/bin/containerd-bin/containerd" ] || [ ! -f "$EZK_HOME/images/busybox_1.35.0.tar" ]; then
		echo "| offline images, SSH against a registry | - | skipped: scripts/bin-from-debian.sh made no containerd or busybox image | - | - |"
		return
	fi
	reg_archive "easzlab.io.local:5000/ezk/bench-big:1.0" "${REG_BIG_MB:-96}" "$EZK_HOME/images/bench-big_1.0.tar"
	rfiles=("$EZK_HOME"/images/*.tar) rcount=${#rfiles[@]} rbytes=0 rrefs="" rpushed=""
	: >"$tmp/reg-want"
	for a in "${rfiles[@]}"; do
		rbytes=$((rbytes + $(stat -c %s "$a")))
		{ tar -xOf "$a" index.json && echo; } | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*"io\.containerd\.image\.name":"\([^"]*\)".*/\2 \1/p' >>"$tmp/reg-want"
	done
	LC_ALL=C sort -o "$tmp/reg-want" "$tmp/reg-want"
	rrefs=$(cut -d' ' -f1 "$tmp/reg-want" | tr '\n' ' ')
	rctr="/opt/kube/bin/containerd-bin/ctr --address /run/containerd/containerd.sock -n k8s.io"
	# the hosts, containerd installed by step 03 with no image to import
	rd=$("$th" start --net "$n" 2>/dev/null | tail -1) || rd=""
	if [ -z "$rd" ] || [ ! -f "$rd/net" ]; then
		echo "| offline images, SSH against a registry | - | FAILED: $n --net hosts did not start (load $(load)) | - | - |"
		return
	fi
	hosts_dirs="$rd"
	tboot=$(($(ms_now) - t0)) t0=$(ms_now)
	mapfile -t ra < <(awk '{print $2}' "$rd/hosts")
	read -r _ _ gw _ <"$rd/net"
	"$src/ezk" new bench >/dev/null
	sed -i -E "s/192\.168\.1\.1\b/${ra[0]}/g; s/192\.168\.1\.2\b/${ra[1]}/g; s/192\.168\.1\.3\b/${ra[2]}/g; s/192\.168\.1\.4\b/${ra[3]}/g; s/192\.168\.1\.5\b/${ra[4]}/g" "$EZK_HOME/clusters/bench/hosts"
	for ((a = 5; a < n; a++)); do
		sed -i "/k8s_nodename='worker-02'/a ${ra[a]} k8s_nodename='worker-0$((a - 2))'" "$EZK_HOME/clusters/bench/hosts"
	done
	"$src/scripts/testnet-config.sh" "$EZK_HOME/clusters/bench"
	sed -i 's/^INSTALL_SOURCE:.*/INSTALL_SOURCE: "offline"/' "$EZK_HOME/clusters/bench/config.yml"
	mkdir -p "$tmp/regroles"
	cat >"$tmp/regroles/steps.lua" <<'LUA'
-- make bench's registry rows: step 03's image role alone (containerd runs)
return { { id = "03", alias = "runtime", plays = {
  { hosts = "kube_master:kube_node", roles = { "containerd/images" } } } } }
LUA
	# Not measured here, so made cheap: each host is given the machine's own
	# containerd, runc and CNI plugins (the bytes bin-from-debian.sh took,
	# seen through the host's overlay) where step 03 puts them, so that its
	# copies find them in place and send nothing.
	rn=$n
	reg_on "mkdir -p /opt/kube/bin/containerd-bin /opt/cni/bin &&
		cp -p $(command -v containerd containerd-shim-runc-v2 ctr runc | tr '\n' ' ') /opt/kube/bin/containerd-bin/ &&
		cp -p /usr/lib/cni/* /opt/cni/bin/" || true
	mv "$EZK_HOME/images" "$EZK_HOME/images.off" && mkdir "$EZK_HOME/images"
	"$src/ezk" setup bench 03 --key "$rd/id_ed25519" --json -y >"$tmp/out" 2>&1 || {
		echo "| offline images, SSH against a registry | - | FAILED: ezk setup 03 (containerd) on $n hosts: $(tail -c 300 "$tmp/out" | tr '\n|' '  ') | - | - |"
		return
	}
	rmdir "$EZK_HOME/images" && mv "$EZK_HOME/images.off" "$EZK_HOME/images"
	tctd=$(($(ms_now) - t0))
	# kubeasz's step 01 line; ezk's step 03 wrote certs.d/easzlab.io.local:5000
	if ! reg_on "printf '%s easzlab.io.local\n' $gw >>/etc/hosts && grep -q '^server = \"http://easzlab.io.local:5000\"' /etc/containerd/certs.d/easzlab.io.local:5000/hosts.toml"; then
		echo "| offline images, SSH against a registry | - | FAILED: no /etc/hosts line or no certs.d/easzlab.io.local:5000/hosts.toml | - | - |"
		return
	fi
	mkdir -p "$tmp/registry"
	cat >"$tmp/registry.yml" <<REG
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/registry
http:
  addr: $gw:5000
REG
	docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
	reg_pids=($!)
	for a in $(seq 50); do curl -fsS -o /dev/null "http://$gw:5000/v2/" 2>/dev/null && break; sleep 0.1; done
	reg_bed="the images and $n --net hosts $(reg_s "$tboot") s, containerd on them (ezk setup 03) $(reg_s "$tctd") s"
	if reg_measure 5 && [ "$n" = 10 ]; then reg_measure 10 || true; fi
	[ "$n" = 10 ] || echo "| offline images on 10 hosts | - | skipped: $(left) s left of the ${budget} s budget (BENCH_BUDGET=0: no limit) | - | - |"
	echo "| offline images: the rows' setup, not measured | $n hosts | $reg_bed | - | - |"
}
registry_rows() {
	rd=""
	reg_rows || true
	if [ ${#reg_pids[@]} -gt 0 ]; then
		kill "${reg_pids[@]}" 2>/dev/null
		wait "${reg_pids[@]}" 2>/dev/null || true
		reg_pids=()
	fi
	unset EZK_HOME
	[ -n "$rd" ] && "$th" stop "$rd" >/dev/null 2>&1
	hosts_dirs=""
}

# 7-10. The headline: 21 common tasks (files, copies, templates, lineinfile,
# sysctl, a command with creates, a systemd service, a link, a touch) written
# once as an ezk role and once as an Ansible playbook
# (tests/bench/workload/), first run and rerun, each tool on fresh hosts:
# 10 systemd hosts, then 50 sshd-only hosts (50 systemd hosts do not boot in
# time on 2 cores; the service task is skipped there by both tools).
# ansible-playbook: forks = hosts, pipelining, ControlPersist, no facts.
# Ansible takes ~2.5 min a run at 50 hosts: the slowest rows of the table.

# fits SECONDS WHAT: whether a part estimated to take SECONDS still fits the
# budget; if not, its row says it was skipped
fits() {
	[ "$(left)" -ge "$1" ] && return 0
	echo "| $2 | - | skipped: $(left) s left of the ${budget} s budget, it takes ~$1 s here (BENCH_BUDGET=0: no limit) | - | - |"
	return 1
}
# workload N [--plain]: the two rows of workload/compare.sh, within the budget
workload() {
	local n=$1 est=$2 rc=0
	shift 2
	fits "$est" "21 tasks on $n hosts, ezk and ansible-playbook" || return 0
	timeout -k 60 "$(left)" "$here/workload/compare.sh" "$n" "$@" || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 143 ]; then
		echo "| 21 tasks on $n hosts | - | skipped: over the ${budget} s budget (BENCH_BUDGET=0: no limit) | - | - |"
	elif [ "$rc" != 0 ]; then
		echo "| 21 tasks on $n hosts | - | FAILED: workload/compare.sh exit $rc | - | ezk at least 50x faster |"
	fi
}

# The order puts the rows issue 17 asks about first: what does not fit the
# budget is the large-scale rows. BENCH_ROWS (a comma list of rtt, workload,
# setup, cluster, registry, transport, bundle, workload50; default all) picks
# rows.
want() { [ -z "${BENCH_ROWS:-}" ] || [[ ",$BENCH_ROWS," == *",$1,"* ]]; }
if [ "$roothosts" = true ]; then
	want rtt && fits 30 "round trip of \`true\`" && rtt_row
	want workload && workload 10 240
	want setup && fits 90 "setup 01-02 (3 hosts)" && setup_row
	want cluster && cluster_rows
	want registry && fits 120 "offline images on 5 hosts, SSH and registry" && registry_rows
	want transport && fits 240 "the transport on 20 hosts (200 commands each, 1 GiB, 200 MB and the install's files to 20)" && many_rows
else
	echo "| transport, workload and cluster rows | - | skipped: test hosts need root | - | - |"
fi
want bundle && fits 60 "ezk bundle create/verify/import (384 MB)" && bundle_rows
if [ "$roothosts" = true ]; then
	want workload50 && workload 50 600 --plain
fi

# (a row left out by BENCH_ROWS is no failure)
exit 0
