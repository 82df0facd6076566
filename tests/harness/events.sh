# The JSON events of `ezk setup`, for the end-to-end tests. Sourced after
# tests/lib.sh and tests/harness/lib.sh (it uses $T, $EZK, $TH_KEY).
#
#   ev_setup NAME CLUSTER ARGS...  `ezk setup CLUSTER ARGS --key $TH_KEY --json`;
#       sets rc, out and err; keeps $T/NAME.json (the events), $T/NAME.err, and
#       $T/NAME.tasks: "HOST<TAB>TASK<TAB>STATUS<TAB>MSG" per task event (a
#       newline in MSG as " | "), "check<TAB>LEVEL<TAB>MSG" per finding of the
#       roles' checks and "recap<TAB>HOST<TAB>ok=N changed=N failed=N
#       skipped=N unreachable=N" per host; $tasks is that file's text. A line
#       that is not a JSON event, or no recap at the end, fails the test (a
#       "broken<TAB>why" line, which ev_failed_any reports).
#   ev_recap NAME HOST             the host's recap ("ok=.. changed=.. ...")
#   ev_changed NAME HOST           its changed count
#   ev_failed_any NAME             the recap lines with a failed or unreachable host
#                                  (and the broken line, if the events were)
#   ev_titles NAME HOST STATUS     its tasks with that status: titles, sorted, comma-separated
#   ev_msg NAME HOST TITLE         that task's msg (the last task of that title)
#   st HOST TITLE, msg HOST TITLE  a task's status, msg in the last ev_setup ("" if none)

_EV_PY=$T/.events.py
cat >"$_EV_PY" <<'EOF'
import json, sys
# Every line of `ezk setup --json` is one JSON event and the last is the
# recap: anything else is a broken stream, said on stderr with exit 1.
recap = None
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
        if not isinstance(e, dict) or "event" not in e:
            raise ValueError("not an event")
    except ValueError as x:
        sys.exit("line %d is not a JSON event (%s): %s" % (n, x, line.strip()[:200]))
    if recap is not None:
        sys.exit("line %d: an event after the recap" % n)
    if e["event"] == "task":
        print("\t".join([e["host"], e["task"], e["status"], (e.get("msg") or "").replace("\n", " | ")]))
    elif e["event"] == "check":
        print("\t".join(["check", e["level"], e["msg"].replace("\n", " | ")]))
    elif e["event"] == "recap":
        recap = e
        for h, v in sorted(e["hosts"].items()):
            print("recap\t%s\tok=%d changed=%d failed=%d skipped=%d unreachable=%d" % (
                h, v["ok"], v["changed"], v["failed"], v["skipped"], v["unreachable"]))
if recap is None:
    sys.exit("no recap event")
EOF

ev_setup() {
	local name=$1 c=$2 t0
	shift 2
	t0=$(date +%s%N)
	"$EZK" setup "$c" "$@" --key "$TH_KEY" --json >"$T/$name.json" 2>"$T/$name.err"
	rc=$?
	echo "# setup $name ($c $*): $((($(date +%s%N) - t0) / 1000000)) ms, exit $rc"
	out=$(cat "$T/$name.json")
	err=$(cat "$T/$name.err")
	if ! /usr/bin/python3 "$_EV_PY" "$T/$name.json" >"$T/$name.tasks" 2>"$T/$name.broken"; then
		# a broken stream fails the test here, and every question about it
		# after (ev_failed_any says so instead of "")
		fail "$name: ezk setup's JSON events are whole" "$(cat "$T/$name.broken")"
		printf 'broken\t%s\n' "$(head -c 300 "$T/$name.broken")" >>"$T/$name.tasks"
	fi
	tasks=$(cat "$T/$name.tasks")
}
ev_recap() { awk -F'\t' -v h="$2" '$1 == "recap" && $2 == h { print $3 }' "$T/$1.tasks"; }
ev_changed() { ev_recap "$1" "$2" | sed -n 's/.*changed=\([0-9]*\).*/\1/p'; }
ev_failed_any() { awk -F'\t' '$1 == "broken" || ($1 == "recap" && ($3 ~ /failed=[1-9]/ || $3 ~ /unreachable=[1-9]/))' "$T/$1.tasks"; }
ev_titles() {
	awk -F'\t' -v h="$2" -v s="$3" '$1 == h && $3 == s { print $2 }' "$T/$1.tasks" | LC_ALL=C sort | paste -sd, -
}
ev_msg() { awk -F'\t' -v h="$2" -v t="$3" '$1 == h && $2 == t { print $4 }' "$T/$1.tasks" | tail -n 1; }
st() { printf '%s\n' "$tasks" | awk -F'\t' -v h="$1" -v t="$2" '$1 == h && $2 == t { print $3 }' | tail -n 1; }
msg() { printf '%s\n' "$tasks" | awk -F'\t' -v h="$1" -v t="$2" '$1 == h && $2 == t { print $4 }' | tail -n 1; }

# ev_op NAME COMMAND CLUSTER ARGS...: as ev_setup, for the commands that run
# steps besides setup (`ezk backup`, `restore`, `start`, `stop`, `destroy`):
# the same events, files and variables.
ev_op() {
	local name=$1 cmd=$2 c=$3 t0
	shift 3
	t0=$(date +%s%N)
	"$EZK" "$cmd" "$c" "$@" --key "$TH_KEY" --json >"$T/$name.json" 2>"$T/$name.err" </dev/null
	rc=$?
	echo "# $cmd $name ($c $*): $((($(date +%s%N) - t0) / 1000000)) ms, exit $rc"
	out=$(cat "$T/$name.json")
	err=$(cat "$T/$name.err")
	if ! /usr/bin/python3 "$_EV_PY" "$T/$name.json" >"$T/$name.tasks" 2>"$T/$name.broken"; then
		fail "$name: ezk $cmd's JSON events are whole" "$(cat "$T/$name.broken")"
		printf 'broken\t%s\n' "$(head -c 300 "$T/$name.broken")" >>"$T/$name.tasks"
	fi
	tasks=$(cat "$T/$name.tasks")
}
