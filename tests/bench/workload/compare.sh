#!/bin/bash
# compare.sh N [--plain]: the benchmark workload (21 tasks) on N test hosts,
# first run and rerun, with ezk and then with ansible-playbook, each tool on
# fresh hosts of its own. Prints two rows of the bench table (first run,
# rerun), or a row saying FAILED and why instead of a number.
#
# --plain: sshd-only hosts (no systemd): the service task is skipped by both.
# EZK_BIN (default ./ezk of the checkout); EZK_WL_KEEP=1 keeps the outputs
# (in /tmp/ezk-wl.*); needs root (test hosts).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
th=$src/tests/harness/testhosts
ezk=${EZK_BIN:-$src/ezk}
n=${1:?usage: compare.sh N [--plain]}
plain=${2:-}
systemd=true
[ "$plain" = --plain ] && systemd=false
ntasks=21

tmp=$(mktemp -d /tmp/ezk-wl.XXXXXX)
sd=""
cleanup() {
	[ -n "$sd" ] && "$th" stop "$sd" >/dev/null 2>&1
	if [ -n "${EZK_WL_KEEP:-}" ]; then echo "compare.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT # (make bench's time budget: the hosts still stop)
ms_now() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk -v ms="$1" 'BEGIN { printf (ms < 10000 ? "%.2f" : "%.0f"), ms / 1000 }'; }

start_hosts() { # fresh hosts for one tool: sets sd
	sd=$("$th" start ${plain:+"$plain"} --prefix wl- "$n" 2>"$tmp/th.err" | tail -1)
	if [ ! -f "$sd/hosts" ] || [ "$(wc -l <"$sd/hosts")" != "$n" ]; then
		sd=""
		return 1
	fi
	"$here/gen-inventory.sh" "$sd" "$systemd" >"$tmp/hosts"
}
stop_hosts() {
	"$th" stop "$sd" >/dev/null 2>&1 || true
	sd=""
}

# ezk_run NAME [ARGS]: one `ezk setup`; sets ms, mem; "" in err when it succeeded
ezk_run() {
	local t0 rc=0 run=$1
	shift
	t0=$(ms_now)
	EZK_STATS=1 EZK_ROLES=$here/roles:$src/roles /usr/bin/time -f %M -o "$tmp/rss" \
		"$ezk" --home "$tmp/home" setup bench 01 --key "$sd/id_ed25519" --forks "$n" \
		--host-key-checking strict --json "$@" >"$tmp/ezk-$run.json" 2>"$tmp/ezk-$run.err" || rc=$?
	ms=$(($(ms_now) - t0))
	mem=$(($(tail -1 "$tmp/rss") / 1024))
	err=$(python3 - "$tmp/ezk-$run.json" "$n" "$run" "$rc" <<'EOF'
import json, sys
path, n, run, rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
try:
    recap = [e for e in map(json.loads, open(path)) if e.get("event") == "recap"][-1]["hosts"]
except Exception as ex:
    print(f"no recap (exit {rc})"); sys.exit()
bad = [h for h, c in recap.items() if c["failed"] or c["unreachable"]]
changed = sum(c["changed"] for c in recap.values())
if rc or bad or len(recap) != n:
    print(f"exit {rc}, {len(recap)} hosts, failed/unreachable: {' '.join(bad[:3]) or '-'}")
elif run.startswith("rerun") and changed:
    print(f"not idempotent: {changed} tasks changed on the rerun")
elif run == "first" and changed < n * 18:
    print(f"only {changed} tasks changed on the first run")
EOF
)
}

# ansible_run NAME: one ansible-playbook; sets ms, mem, err as ezk_run
ansible_run() {
	local t0 rc=0
	t0=$(ms_now)
	ANSIBLE_CONFIG=$tmp/ansible.cfg /usr/bin/time -f %M -o "$tmp/rss" \
		/usr/bin/ansible-playbook "$here/playbook.yml" >"$tmp/ansible-$1.out" 2>"$tmp/ansible-$1.err" || rc=$?
	ms=$(($(ms_now) - t0))
	mem=$(($(tail -1 "$tmp/rss") / 1024))
	local results bad changed
	results=$(grep -cE '^node[0-9]+ \| (SUCCESS|CHANGED|SKIPPED|FAILED!|UNREACHABLE!)' "$tmp/ansible-$1.out" || true)
	bad=$(grep -cE '^node[0-9]+ \| (FAILED!|UNREACHABLE!)' "$tmp/ansible-$1.out" || true)
	changed=$(grep -cE '^node[0-9]+ \| CHANGED' "$tmp/ansible-$1.out" || true)
	err=""
	if [ "$rc" != 0 ] || [ "$bad" != 0 ] || [ "$results" != $((n * ntasks)) ]; then
		err="exit $rc, $bad failed/unreachable, $results of $((n * ntasks)) results"
	elif [ "$1" = rerun ] && [ "$changed" != 0 ]; then
		err="not idempotent: $changed tasks changed on the rerun"
	elif [ "$1" = first ] && [ "$changed" -lt $((n * 18)) ]; then
		err="only $changed tasks changed on the first run"
	fi
}

# per_task: from the rerun's task events (EZK_STATS), each module's commands
# (round trips) and host processes per unchanged task, over every host
per_task() {
	python3 - "$tmp/ezk-rerun.json" <<'EOF'
import json, sys
from collections import defaultdict
agg = defaultdict(lambda: [0, 0, 0, 0])  # tasks, cmds, tasks with procs, procs
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") != "task" or e.get("status") != "ok" or "cmds" not in e:
        continue
    a = agg[e["module"]]
    a[0] += 1
    a[1] += e["cmds"]
    if e["procs"] >= 0:
        a[2] += 1
        a[3] += e["procs"]
out, tc, tp, nt, npt = [], 0, 0, 0, 0
for m, (t, c, pt, p) in sorted(agg.items()):
    out.append(f"{m} {c / t:.3g}/{p / pt:.1f}" if pt else f"{m} {c / t:.3g}/-")
    nt, tc, npt, tp = nt + t, tc + c, npt + pt, tp + p
if nt:
    print(f"{tc / nt:.2f} round trips, {tp / max(npt, 1):.1f} processes a task: " + ", ".join(out))
EOF
}

stats="" own=""
declare -A res
# ---- ezk
if start_hosts; then
	if "$ezk" --home "$tmp/home" new bench >/dev/null 2>"$tmp/new.err"; then
		cp "$tmp/hosts" "$tmp/home/clusters/bench/hosts"
		cp "$sd/known_hosts" "$tmp/home/known_hosts"
		# --persist 60: the sessions kept between runs, as the
		# ControlPersist=60s ansible.cfg gives Ansible below; the
		# rerun once more without it, for the table
		for run in first rerun; do
			ezk_run $run --persist 60
			res[ezk_$run]="$ms $mem $err"
		done
		ezk_run rerun-own
		[ -z "$err" ] && own="$(secs "$ms") s" || own="failed ($err)"
		rm -f "$tmp"/home/clusters/bench/.ezk-agent-*.sock # (the agent exits)
		[ -z "$err" ] && stats=$(per_task 2>/dev/null)
	else
		res[ezk_first]="0 0 ezk new failed: $(head -1 "$tmp/new.err")"
		res[ezk_rerun]=${res[ezk_first]}
	fi
	stop_hosts
else
	res[ezk_first]="0 0 $n test hosts did not start: $(head -1 "$tmp/th.err")"
	res[ezk_rerun]=${res[ezk_first]}
fi

# ---- ansible-playbook: forks = hosts, pipelining, ControlPersist, no facts
noansible=""
if [ ! -x /usr/bin/ansible-playbook ] ||
	! ls /usr/lib/python3/dist-packages/ansible_collections/ansible/posix >/dev/null 2>&1; then
	noansible="not installed (Debian's ansible: scripts/install-deps.sh)"
elif start_hosts; then
	mkdir -p "$tmp/cp"
	cat >"$tmp/ansible.cfg" <<EOF
[defaults]
inventory = $tmp/hosts
forks = $n
host_key_checking = True
private_key_file = $sd/id_ed25519
interpreter_python = /usr/bin/python3
gathering = explicit
stdout_callback = minimal
retry_files_enabled = False
nocows = 1

[ssh_connection]
pipelining = True
control_path_dir = $tmp/cp
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -F /dev/null -o UserKnownHostsFile=$sd/known_hosts
EOF
	for run in first rerun; do
		ansible_run $run
		res[ansible_$run]="$ms $mem $err"
	done
	stop_hosts
else
	res[ansible_first]="0 0 $n test hosts did not start: $(head -1 "$tmp/th.err")"
	res[ansible_rerun]=${res[ansible_first]}
fi

what="$ntasks tasks"
[ "$systemd" = false ] && what="$ntasks tasks (service task skipped: sshd-only hosts)"
for run in first rerun; do
	read -r ems emem eerr <<<"${res[ezk_$run]}"
	read -r ams amem aerr <<<"${res[ansible_$run]:-0 0}"
	label="$what on $n hosts, $([ $run = first ] && echo "first run" || echo "rerun (changed=0)")"
	target="ezk at least $([ $run = first ] && echo 25 || echo 50)x faster"
	if [ -n "$eerr" ] || { [ -n "$aerr" ] && [ -z "$noansible" ]; }; then
		echo "| $label | $((n * ntasks)) tasks | FAILED: ${eerr:+ezk: $eerr}${eerr:+${aerr:+; }}${aerr:+ansible-playbook: $aerr} | - | $target |"
		continue
	fi
	if [ -n "$noansible" ]; then
		extra=""
	[ "$run" = rerun ] && extra=" (--persist 60; without it $own)"
	echo "| $label | $((n * ntasks)) tasks | ezk $(secs "$ems") s$extra, ansible-playbook $noansible | ezk $emem MiB | $target |"
		continue
	fi
	ratio=$(awk -v a="$ams" -v e="$ems" 'BEGIN { printf "%.0f", a / (e > 0 ? e : 1) }')
	extra=""
	[ "$run" = rerun ] && extra=" (--persist 60; without it $own)"
	echo "| $label | $((n * ntasks)) tasks | ezk $(secs "$ems") s$extra, ansible-playbook $(secs "$ams") s: ${ratio}x (load $(cut -d' ' -f1 /proc/loadavg)) | ezk $emem MiB, ansible-playbook $amem MiB (its largest process) | $target |"
done
# what an unchanged task costs a host (the rerun; per module: round trips/processes)
if [ -n "$stats" ]; then
	echo "| per unchanged task on $n hosts (ezk rerun; module round trips/processes) | $((n * ntasks)) tasks | $stats | - | 1 round trip; processes: what the check needs |"
fi
