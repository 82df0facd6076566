#!/bin/bash
# Run every test: the C unit tests (built by make into $EZK_UNIT_DIR), the
# CLI tests in tests/cli/*.sh and the end-to-end tests in tests/e2e/*.sh (on
# local test hosts, tests/harness/), all of which print TAP lines. Counts them,
# shows failures, and ends with "N passed, N failed, N skipped".
# Usage: tests/run.sh [pattern]   (only tests whose file name contains pattern)
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

passed=0 failed=0 skipped=0 broken=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1
	shift
	local start=$(date +%s%N)
	# A hung test fails (its last TAP line shows where) instead of hanging CI.
	# (A test that makes whole clusters gets twice the time: it is not hung
	# at 15 minutes on a loaded 2-core machine.)
	# Whole-cluster tests also take a machine-wide lock: two clusters at once
	# on 2 cores starve etcd (request timeouts), whoever started them.
	local limit=${EZK_TEST_FILE_TIMEOUT:-900} lock=""
	if [ -f "${!#}" ] && grep -q '^# ezk-test: cluster' "${!#}"; then
		limit=$((limit * 2))
		lock="flock -o /tmp/ezk-cluster-tests.lock" # (-o: the test and its hosts do not inherit it)
	fi
	$lock timeout -k 10 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	local ms=$((($(date +%s%N) - start) / 1000000))
	local p=$(grep -cE '^ok [0-9]+' "$log")
	local s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log")
	local f=$(grep -cE '^not ok [0-9]+' "$log")
	p=$((p - s))
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		if [ "$f" -eq 0 ]; then
			failed=$((failed + 1)) # crashed or exited non-zero without saying why
		fi
		broken="$broken $name"
		printf 'FAIL %-40s %4d passed %3d failed (exit %d, %d ms)\n' "$name" "$p" "$f" "$rc" "$ms"
		grep -vE '^ok ' "$log" | head -60 | sed 's/^/    /'
	else
		printf 'ok   %-40s %4d passed %3d skipped (%d ms)\n' "$name" "$p" "$s" "$ms"
	fi
}

for t in "$EZK_UNIT_DIR"/test-*; do
	[ -x "$t" ] || continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$here"/cli/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	run_one "cli/$(basename "$t" .sh)" bash "$t"
done
for t in "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	case $(basename "$t") in *"$pattern"*) ;; *) continue ;; esac
	# A whole Kubernetes cluster per test (a line "# ezk-test: cluster" in
	# the file): make check (EZK_TEST_CLUSTERS=0) leaves these to make
	# test, which runs every test on the plain build: the sanitizers watch
	# the same engine and transport in the other end-to-end tests, and a
	# second round of clusters would double CI's time.
	if [ "${EZK_TEST_CLUSTERS:-1}" = 0 ] && grep -q '^# ezk-test: cluster' "$t"; then
		echo "ok   e2e/$(basename "$t" .sh) skipped: a whole cluster (make test runs it)"
		skipped=$((skipped + 1))
		continue
	fi
	run_one "e2e/$(basename "$t" .sh)" bash "$t"
done

[ -n "$broken" ] && echo "failed:$broken"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
