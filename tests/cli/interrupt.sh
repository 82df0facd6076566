# A run that is stopped leaves a record (issue 12, finding 3): the log and the
# journal are written as the run goes, so SIGKILL keeps every line finished
# before it; SIGINT and SIGTERM start no new task, let the running one end,
# write the recap, the journal ("interrupted") and the history, and exit
# 130/143. Plays on the deploy node only (localhost): no test host is needed.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/quick" "$R/slow"
cat >"$R/steps.lua" <<'EOF2'
return {
  { id = "01", alias = "quick", plays = { { hosts = "localhost", roles = { "quick" } } } },
  { id = "02", alias = "slow", plays = { { hosts = "localhost", roles = { "slow" } } } },
  { id = "03", alias = "after", plays = { { hosts = "localhost", roles = { "quick" } } } },
}
EOF2
cat >"$R/quick/main.lua" <<'EOF2'
command { cmd = "true", changed_when = false }
EOF2
# slow: its first task says it started (a file the test waits for) and waits
# until the test lets it go (another file); its second task leaves a mark
# (it must not start once the run was told to stop)
cat >"$R/slow/main.lua" <<'EOF2'
command { cmd = "touch " .. ezk.vars.gate .. ".in; while [ ! -e " .. ezk.vars.gate .. ".go ]; do sleep 0.05; done", changed_when = false }
command { cmd = "touch " .. ezk.vars.gate .. ".second", changed_when = false }
EOF2
wait_for() {
	local i=0
	while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$1" ]
}
local_cluster c
D=$EZK_HOME/clusters/c
J=$D/logs/journal
newest_log() { ls -t "$D"/logs/*-setup-*.log | head -1; }

# ---- SIGKILL: what was finished is on disk
G=$T/k
"$EZK" setup c 01-03 -e gate="$G" >"$T/k.out" 2>&1 &
pid=$!
wait_for "$G.in" || fail "the run reaches step 02"
kill -9 "$pid"
wait "$pid" 2>/dev/null
touch "$G.go" # (the task's shell outlives ezk: let it end)
log=$(newest_log)
[ -s "$log" ] && pass "SIGKILL: the log is not empty" || fail "SIGKILL: the log is not empty"
like "$(cat "$log")" '\[01 quick\] localhost +ok +command true' "... it holds the task step 01 finished"
like "$(cat "$J")" "	01	\\*	done	[0-9a-f]{64}" "... the journal says step 01 was done"
like "$(tail -1 "$J")" "	02	\\*	started	" "... and that step 02 began (and never ended)"
is "$(stat -c %a "$log") $(stat -c %a "$J")" "600 600" "the log and the journal are 0600"

# ---- SIGINT: the running task ends, no other starts, everything recorded
G=$T/i
before=$(git -C "$D" rev-list --count HEAD)
"$EZK" setup c 01-03 -e gate="$G" >"$T/i.out" 2>"$T/i.err" &
pid=$!
wait_for "$G.in" || fail "the run reaches step 02"
kill -INT "$pid"
# the run says it is stopping before the task it waits for ends
wait_for_text() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	grep -q "$2" "$1"
}
wait_for_text "$T/i.err" "stopping" || fail "the run says it is stopping"
touch "$G.go"
wait "$pid"
is "$?" 130 "SIGINT: exit 130"
[ ! -e "$G.second" ] && pass "... the next task did not start" || fail "... the next task did not start"
like "$(cat "$T/i.err")" "SIGINT: stopping: no new task starts" "... it said so on stderr"
like "$(cat "$T/i.out")" "interrupted by SIGINT" "... the recap says the run was interrupted"
unlike "$(cat "$T/i.out")" "\[03 " "... step 03 never started"
log=$(newest_log)
like "$(cat "$log")" '\[02 slow\] localhost +ok +command touch' "... the task that was running is in the log"
like "$(cat "$log")" "interrupted by SIGINT; steps not started: 03" "... the log names the steps not started"
like "$(cat "$log")" "recap: [0-9]+ hosts: .*\(interrupted by SIGINT\)" "... and ends with the recap"
like "$(grep "	02	" "$J" | tail -1)" "	02	\\*	interrupted	" "the journal: step 02 interrupted"
is "$(git -C "$D" rev-list --count HEAD)" "$((before + 1))" "the history records the interrupted run"
like "$(git -C "$D" log -1 --format=%B)" "interrupted by SIGINT" "... as interrupted"

# ---- SIGTERM: the same, exit 143; JSON says it in the recap
G=$T/t
"$EZK" setup c 02 -e gate="$G" --json >"$T/t.out" 2>"$T/t.err" &
pid=$!
wait_for "$G.in" || fail "the run reaches step 02"
kill -TERM "$pid"
# (with --json, nothing goes to stderr: the log says it is stopping)
wait_for_text "$(newest_log)" "SIGTERM: stopping" || fail "the log says it is stopping"
touch "$G.go"
wait "$pid"
is "$?" 143 "SIGTERM: exit 143"
like "$(tail -1 "$T/t.out")" '^\{"event":"recap",.*"interrupted":"SIGTERM"\}$' "--json: the recap says interrupted"
[ ! -e "$G.second" ] && pass "... the next task did not start" || fail "... the next task did not start"

# ---- a second SIGINT exits at once
G=$T/2
"$EZK" setup c 02 -e gate="$G" >"$T/2.out" 2>"$T/2.err" &
pid=$!
wait_for "$G.in" || fail "the run reaches step 02"
kill -INT "$pid"
wait_for_text "$T/2.err" "stopping" || fail "the run says it is stopping"
kill -INT "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
touch "$G.go" # (lets the task end, and a run that did not exit end too)
wait "$pid"
is "$?" 130 "a second SIGINT: exit 130 at once, the task still running"
like "$(cat "$(newest_log)")" "SIGINT again: exiting now" "... the log says so"

# two runs in one second get a log each
run "$EZK" setup c 01
l1=$(newest_log)
run "$EZK" setup c 01
l2=$(newest_log)
[ "$l1" != "$l2" ] && pass "two runs in a row: two logs" || fail "two runs in a row: two logs" "$l1"
done_testing
