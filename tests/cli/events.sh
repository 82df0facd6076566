# tests/harness/events.sh reads `ezk setup --json` for the e2e tests: a
# broken event stream must fail the test that reads it, never pass it by
# accident (ev_failed_any used to answer "" when the events did not parse).
# Fed by a stand-in for ezk that prints a given stream: no host needed.
. "$(dirname "$0")/../lib.sh" || exit 1

task='{"event":"task","step":"01","role":"r","task":"t","host":"h1","status":"ok","msg":"","ms":1}'
recap='{"event":"recap","hosts":{"h1":{"ok":1,"changed":0,"failed":0,"skipped":0,"unreachable":0}},"ms":2}'

# feed NAME LINES...: a test file that sources lib.sh and events.sh and
# reads the stream with ev_setup; its TAP output in $fed, its status in $frc
feed() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$T/$name.stream"
	printf '#!/bin/sh\ncat %s\n' "$T/$name.stream" >"$T/$name.ezk"
	chmod +x "$T/$name.ezk"
	cat >"$T/$name.t" <<EOF
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
EZK=$T/$name.ezk TH_KEY=
. "$EZK_SRC/tests/harness/events.sh"
ev_setup s c 01
is "\$(ev_failed_any s)" "" "no host failed"
done_testing
EOF
	fed=$(bash "$T/$name.t" 2>&1)
	frc=$?
}

feed good "$task" "$recap"
is "$frc" 0 "a whole stream: the reading test passes"
unlike "$fed" "not ok" "... every check ok"

feed broken "$task" '{"event":"task","host":"h1","status":' "$recap"
is "$frc" 1 "a broken line: the reading test fails"
like "$fed" "not ok 1 - s: ezk setup's JSON events are whole" "... saying the events are broken"
like "$fed" "line 2 is not a JSON event" "... and which line"
like "$fed" "not ok 2 - no host failed" "... and ev_failed_any does not answer \"\" for it"

feed text "$task" "ezk: something printed on stdout" "$recap"
is "$frc" 1 "a line that is not JSON at all fails it too"

feed norecap "$task"
is "$frc" 1 "a stream without its recap (ezk died) fails it"
like "$fed" "no recap event" "... saying so"

feed after "$task" "$recap" "$task"
is "$frc" 1 "an event after the recap fails it"

done_testing
