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
trap '[ -n "$hosts_dirs" ] && "$th" stop $hosts_dirs >/dev/null 2>&1; rm -rf "$tmp"' EXIT
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
	echo "| setup 01-02 (PKI, prepare, 3-member TLS etcd) | 3 hosts | first ${first} ms (changed=$ch1), rerun ${again} ms (changed=$ch2; load $(load)) | $mem | rerun changes nothing; 3x faster than 2.05 s (issue 17) |"
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
# setup, cluster, transport, bundle, workload50; default all) picks rows.
want() { [ -z "${BENCH_ROWS:-}" ] || [[ ",$BENCH_ROWS," == *",$1,"* ]]; }
if [ "$roothosts" = true ]; then
	want rtt && fits 30 "round trip of \`true\`" && rtt_row
	want workload && workload 10 240
	want setup && fits 90 "setup 01-02 (3 hosts)" && setup_row
	want cluster && cluster_rows
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
