# Shared by the CLI tests: TAP output and a private workspace per test file.
# Each test file sources this, calls checks, and ends with `done_testing`.
set -u
: "${EZK_BIN:?}" "${EZK_SRC:?}"
EZK=$EZK_BIN
T=$(mktemp -d /tmp/ezk-test.XXXXXX)
export EZK_HOME=$T/home
trap 'rm -rf "$T"' EXIT
_n=0
_failed=0

pass() { _n=$((_n + 1)); echo "ok $_n - $1"; }
fail() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'; return 0; }
skip() { _n=$((_n + 1)); echo "ok $_n - # SKIP $1"; }

# run CMD...: runs it, keeping $out (stdout), $err (stderr) and $rc.
run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}

# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  $1
want: $2"; fi
}

# like TEXT REGEX NAME (extended regex; the text is one or more lines)
like() {
	if printf '%s\n' "$1" | grep -qE -- "$2"; then pass "$3"; else fail "$3" "text: $1
does not match: $2"; fi
}

unlike() {
	if printf '%s' "$1" | grep -qE -- "$2"; then fail "$3" "text: $1
matches: $2"; else pass "$3"; fi
}

# A crash (signal, sanitizer report) is never an acceptable outcome.
no_crash() {
	if [ "$rc" -ge 128 ] || printf '%s' "$err" | grep -qE 'Sanitizer|runtime error|Segmentation'; then
		fail "$1: no crash" "exit $rc: $err"
	else
		pass "$1: no crash"
	fi
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

PY=/usr/bin/python3
