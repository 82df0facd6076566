#!/bin/bash
# Run every test: the C unit tests (built by make into $EZK_UNIT_DIR), the
# CLI tests in tests/cli/*.sh and the end-to-end tests in tests/e2e/*.sh (on
# local test hosts, tests/harness/), all of which print TAP lines. Counts them,
# shows failures, and ends with "N passed, N failed, N skipped".
# Usage: tests/run.sh [pattern]   (only tests whose file name contains pattern)
#
# EZK_TEST_JOBS=J (default 1: everything in turn): tests run J at a time.
# The whole-cluster tests (a line "# ezk-test: cluster") run one after the
# other in a lane of their own, started first (they are the longest), beside
# the others in the remaining J-1 lanes. Each test's lines are printed when
# it ends, so the order is the order they end in. (On 2 cores the tests are
# mostly CPU-bound: J=3 beside other work took longer than J=1, and hosts
# missed their 90 s boot at load 40; CI runs J=1.)
# EZK_TEST_CLUSTERS=0 (make check) leaves out the whole-cluster tests and
# those marked "# ezk-test: plain" (each says why the sanitizer build adds
# nothing there: the test bed's own tests never run ezk).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export EZK_SRC=$(cd "$here/.." && pwd)
export EZK_BIN=${EZK_BIN:-$EZK_SRC/ezk}
export EZK_UNIT_DIR=${EZK_UNIT_DIR:-$EZK_SRC/build/tests}
export EZK_TOOL_DIR=${EZK_TOOL_DIR:-$EZK_SRC/build/tools}
export EZK_SHARED_DATA=${EZK_SHARED_DATA:-$EZK_SRC/../shared/data}
# Tests never read the user's workspace or pyenv shims.
unset EZK_HOME EZK_DATA
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pattern=${1:-}
jobs=${EZK_TEST_JOBS:-1}
case $jobs in '' | *[!0-9]* | 0) echo "tests/run.sh: EZK_TEST_JOBS must be a number >= 1, not '$jobs'" >&2; exit 2 ;; esac

passed=0 failed=0 skipped=0 broken=""
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

# run_one ID NAME CMD...: runs one test, writes what it prints to $res/ID.out
# and "passed skipped failed" to $res/ID.cnt (last: its presence says done).
run_one() {
	local id=$1 name=$2
	shift 2
	local log=$res/$id.log start=$(date +%s%N)
	# A hung test fails (its last TAP line shows where) instead of hanging CI.
	# (A test that makes whole clusters gets twice the time: it is not hung
	# at 15 minutes on a loaded 2-core machine.)
	# Whole-cluster tests also take a machine-wide lock: two clusters at once
	# on 2 cores starve etcd (request timeouts), whoever started them.
	local limit=${EZK_TEST_FILE_TIMEOUT:-900} lock=()
	if [ -f "${!#}" ] && grep -q '^# ezk-test: cluster' "${!#}"; then
		limit=$((limit * 2))
		lock=(flock -o /tmp/ezk-cluster-tests.lock) # (-o: the test and its hosts do not inherit it)
	fi
	"${lock[@]}" timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null
	local rc=$?
	local ms=$((($(date +%s%N) - start) / 1000000))
	local p=$(grep -cE '^ok [0-9]+' "$log")
	local s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log")
	local f=$(grep -cE '^not ok [0-9]+' "$log")
	p=$((p - s))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		[ "$f" -eq 0 ] && f=1 # crashed or exited non-zero without saying why
		{
			printf 'FAIL %-40s %4d passed %3d failed (exit %d, %d ms)\n' "$name" "$p" "$f" "$rc" "$ms"
			grep -vE '^ok ' "$log" | head -60 | sed 's/^/    /'
		} >"$res/$id.out"
		echo "$name" >"$res/$id.broken"
	else
		printf 'ok   %-40s %4d passed %3d skipped (%d ms)\n' "$name" "$p" "$s" "$ms" >"$res/$id.out"
	fi
	rm -f "$log"
	echo "$p $s $f" >"$res/$id.cnt.tmp" && mv "$res/$id.cnt.tmp" "$res/$id.cnt"
}

# collect: prints and counts the tests that ended since the last call.
collect() {
	local c id p s f
	for c in "$res"/*.cnt; do
		[ -e "$c" ] || continue
		id=${c%.cnt}
		cat "$id.out"
		read -r p s f <"$c"
		passed=$((passed + p)) skipped=$((skipped + s)) failed=$((failed + f))
		[ -e "$id.broken" ] && broken="$broken $(cat "$id.broken")"
		rm -f "$c" "$id.out" "$id.broken"
	done
}

# The tests, in order: NAME<TAB>CMD ARG (cluster tests in a list of their own).
tests=() clusters=()
for t in "$EZK_UNIT_DIR"/test-*; do
	[ -x "$t" ] || continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	tests+=("unit/$(basename "$t")"$'\t'"$t")
done
for t in "$here"/cli/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	tests+=("cli/$(basename "$t" .sh)"$'\t'"bash"$'\t'"$t")
done
for t in "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	name="e2e/$(basename "$t" .sh)"
	if grep -q '^# ezk-test: cluster' "$t"; then
		# A whole Kubernetes cluster per test: make check
		# (EZK_TEST_CLUSTERS=0) leaves these to make test, which runs
		# every test on the plain build: the sanitizers watch the same
		# engine and transport in the other end-to-end tests, and a
		# second round of clusters would double CI's time.
		if [ "${EZK_TEST_CLUSTERS:-1}" = 0 ]; then
			echo "ok   $name skipped: a whole cluster (make test runs it)"
			skipped=$((skipped + 1))
			continue
		fi
		clusters+=("$name"$'\t'"bash"$'\t'"$t")
		continue
	fi
	if [ "${EZK_TEST_CLUSTERS:-1}" = 0 ] && grep -q '^# ezk-test: plain' "$t"; then
		echo "ok   $name skipped: the plain build's (make test runs it)"
		skipped=$((skipped + 1))
		continue
	fi
	tests+=("$name"$'\t'"bash"$'\t'"$t")
done

# spawn ID ENTRY: run_one in the background for one "NAME<TAB>CMD..." entry.
spawn() {
	local id=$1 a
	IFS=$'\t' read -r -a a <<<"$2"
	run_one "$id" "${a[@]}" &
}

lanes=$jobs n=0 lane=""
if [ "${#clusters[@]}" -gt 0 ] && [ "$jobs" -gt 1 ]; then
	# the cluster lane: one after the other, beside the rest
	(
		i=0
		for e in "${clusters[@]}"; do
			i=$((i + 1))
			IFS=$'\t' read -r -a a <<<"$e"
			run_one "c$i" "${a[@]}"
		done
	) &
	lane=$!
	lanes=$((jobs - 1))
elif [ "${#clusters[@]}" -gt 0 ]; then
	tests+=("${clusters[@]}")
fi
# running: the tests running now, but for the cluster lane
running() { jobs -rp | grep -cvx "${lane:-none}"; }
for e in "${tests[@]}"; do
	while [ "$(running)" -ge "$lanes" ]; do
		wait -n
		collect
	done
	n=$((n + 1))
	spawn "t$n" "$e"
done
# the rest, and the cluster lane, as they end
while [ -n "$(jobs -rp)" ]; do
	wait -n
	collect
done
wait
collect

[ -n "$broken" ] && echo "failed:$broken"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
