# Output that cannot be forged (issue 12, finding 7): a value with a newline,
# a carriage return or an escape sequence is printed with its control
# characters escaped (\n, \r, \xNN) in every line ezk prints: task lines,
# failure messages, the recap, the log, -v, `ezk check` and error messages.
# Plays on the deploy node only (localhost): no test host is needed.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/echo"
cat >"$R/steps.lua" <<'EOF2'
return {
  { id = "01", alias = "echo", plays = { { hosts = "localhost", roles = { "echo" } } } },
}
EOF2
cat >"$R/echo/main.lua" <<'EOF2'
ezk.log("note " .. ezk.vars.x)
command { cmd = "echo '" .. ezk.vars.x .. "' >/dev/null", changed_when = false }
ezk.fail("stopped: " .. ezk.vars.x)
EOF2
local_cluster c
D=$EZK_HOME/clusters/c
# the value: a newline, then what a task line looks like, a CR and ESC
X='{"x": "a\n[01 echo] localhost       changed  FORGED\rFORGED2\u001b[2J"}'
run "$EZK" setup c 01 -v -e "$X"
is "$rc" 1 "the run fails (the role says so)"
all="$out
$err"
unlike "$all" '^\[01 echo\] localhost +changed +FORGED' "no forged task line in the output"
unlike "$all" $'\r|\x1b' "no carriage return or escape character in the output"
like "$out" 'command echo .a\\n\[01 echo\] localhost +changed +FORGED\\rFORGED2\\x1b\[2J' "the task line shows the value escaped"
like "$out" 'localhost failed: .*stopped: a\\n\[01 echo\]' "... and the recap's failure line"
like "$err" 'note a\\n\[01 echo\]' "... and -v's log lines"
log=$(ls -t "$D"/logs/*-setup-*.log | head -1)
unlike "$(cat "$log")" '^\[01 echo\] localhost +changed +FORGED' "no forged line in the log"
unlike "$(cat "$log")" $'\r|\x1b' "no carriage return or escape character in the log"
like "$(cat "$log")" 'note a\\n\[01 echo\]' "the log shows the value escaped"

# --json escapes as JSON does
run "$EZK" setup c 01 --json -e "$X"
unlike "$out" $'\r|\x1b' "--json: no raw control character"
like "$out" '"msg":"stopped: a\\n\[01 echo\]' "--json: \\n in the string"

# ezk check quotes values in its messages
run "$EZK" check c -e '{"CLUSTER_NETWORK": "calico\nhosts:1: error: FORGED"}'
is "$rc" 2 "check: a bad CLUSTER_NETWORK is an error"
unlike "$err" '^hosts:1: error: FORGED' "... and its message has no forged line"
like "$err" "CLUSTER_NETWORK 'calico\\\\nhosts:1: error: FORGED' is not supported" "... the value escaped"

# an error message with the user's text in it
run "$EZK" setup c $'01\nezk: FORGED'
is "$rc" 2 "an unknown step with a newline: exit 2"
unlike "$err" '^ezk: FORGED' "... the message has no forged line"
done_testing
