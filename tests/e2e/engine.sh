# The engine (ezk setup): steps and plays, failures that stay on their host,
# any_errors_fatal, --resume, Lua errors with file:line, --check, tags,
# serial and run_once, the JSON events, the log and the journal.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home

th_start 3 || { fail "3 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]}
"$EZK" new c1 >/dev/null
HOSTS=$EZK_HOME/clusters/c1/hosts
cat >"$HOSTS" <<EOF
[etcd]
$A
$B
$C
[kube_master]
$A
[kube_node]
$B
$C
[all:vars]
ansible_user=root
EOF
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/one" "$R/two" "$R/bad" "$R/fatal" "$R/tagged" "$R/serial" "$R/local" "$R/once"
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "one", plays = { { hosts = "all", roles = { "one" } } } },
  { id = "02", alias = "two", plays = {
      { hosts = "etcd", roles = { "two" } },
      { hosts = "kube_master", roles = { "one" } },
  } },
  { id = "03", alias = "bad", plays = { { hosts = "kube_node", roles = { "bad" } } } },
  { id = "04", alias = "fatal", plays = {
      { hosts = "etcd", roles = { "fatal" }, any_errors_fatal = true },
      { hosts = "etcd", roles = { "one" } },
  } },
  { id = "05", alias = "tagged", plays = { { hosts = "all", roles = { "tagged" } } } },
  { id = "07", alias = "local", plays = {
      { hosts = "localhost", roles = { "local" } },
      { hosts = "kube_master", roles = { "one" } },
  } },
  { id = "08", alias = "once", plays = { { hosts = "all", roles = { "once" } } } },
  { id = "11", alias = "gone", plays = {
      { hosts = "kube_master", roles = { "two" } },
      { hosts = "kube_node", roles = { "one" } },
  } },
  { id = "12", alias = "localgone", plays = {
      { hosts = "localhost", roles = { "two" } },
      { hosts = "kube_node", roles = { "one" } },
  } },
  { id = "06", alias = "serial", plays = {
      { hosts = "etcd", roles = { "serial" }, serial = 1 },
      { hosts = "etcd", roles = { "one" }, run_once = true },
  } },
}
EOF
cat >"$R/one/main.lua" <<'EOF'
copy { dest = "/etc/ezk-one/conf", content = "node=" .. ezk.vars.inventory_hostname .. "\n" }
command { cmd = "echo ran >> /etc/ezk-one/count", creates = "/etc/ezk-one/count" }
EOF
cat >"$R/two/main.lua" <<'EOF'
-- fails on one host (the one named by -e fail_on=...), fine on the others
if ezk.vars.fail_on == ezk.vars.inventory_hostname then
  command { cmd = "echo broken >&2; exit 4" }
end
copy { dest = "/etc/ezk-two", content = "two\n" }
EOF
cat >"$R/bad/main.lua" <<'EOF'
copy { dest = "/etc/ezk-bad", content = "x\n" }
local t = nil
local n = t.field -- line 3: a Lua error
EOF
cat >"$R/fatal/main.lua" <<'EOF'
if ezk.vars.inventory_hostname == ezk.vars.groups.etcd[2] then ezk.fail("this host is broken") end
command { cmd = "sleep 0.3", changed_when = false }
EOF
cat >"$R/tagged/main.lua" <<'EOF'
copy { dest = "/etc/ezk-tag-a", content = "a\n", tags = "a" }
copy { dest = "/etc/ezk-tag-b", content = "b\n", tags = { "b", "x" } }
copy { dest = "/etc/ezk-tag-none", content = "n\n" }
copy { dest = "/etc/ezk-skip", content = "s\n", when = false }
EOF
cat >"$R/serial/main.lua" <<'EOF'
command { cmd = "date +%s%N > /tmp/ezk-serial-start; sleep 0.3; date +%s%N > /tmp/ezk-serial-end" }
EOF
cat >"$R/local/main.lua" <<EOF
copy { dest = "$T/deploy-node/made-here", content = "by " .. ezk.vars.inventory_hostname .. " for " .. #ezk.vars.groups.etcd .. " etcd\n" }
command { cmd = "test -f $T/deploy-node/made-here && hostname", changed_when = false }
if ezk.vars.local_wait then
  command { cmd = "sleep 1.5; date +%s.%N >$T/local-end", changed_when = false }
end
EOF
# ezk.once: the first host computes (and counts itself on the deploy node),
# every host gets the value; a function that returns no string is an error
cat >"$R/once/main.lua" <<EOF
local v = ezk.once("demo", function()
  local f = assert(io.open("$T/once-count", "a")); f:write(ezk.vars.inventory_hostname .. "\\n"); f:close()
  return "computed by " .. ezk.vars.inventory_hostname
end)
copy { dest = "/etc/ezk-once", content = v .. "\\n" }
if ezk.vars.bad_once then ezk.once("bad", function() return nil end) end
EOF
S="$EZK setup c1 --key $TH_KEY"
# want_each STATUS N: "host STATUS N;" for every host, in the order statuses sorts
want_each() { for h in $A $B $C; do echo "$h $1 $2"; done | sort | tr '\n' ';'; }
statuses() { echo "$1" | sed -n 's/.*"host":"\([^"]*\)","status":"\([a-z]*\)".*/\1 \2/p' | sort | uniq -c | awk '{print $2, $3, $1}' | tr '\n' ';'; }

# ---- a step, then again: nothing changes
run $S 01 --json
is "$rc" 0 "setup 01: exit 0"
is "$(statuses "$out")" "$(want_each changed 2)" "first run: every task changed on every host"
like "$(echo "$out" | head -1)" '^\{"event":"task","step":"01","role":"one","task":"copy /etc/ezk-one/conf","host":"[0-9.]+","status":"changed","msg":"","ms":[0-9]+\}$' "task events have the fields docs/events.md names"
like "$(echo "$out" | tail -1)" "^\\{\"event\":\"recap\",\"hosts\":\\{.*\"$A\":\\{\"ok\":0,\"changed\":2,\"failed\":0,\"skipped\":0,\"unreachable\":0\\}.*\\},\"ms\":[0-9]+\\}\$" "the recap is the last line"
is "$(th_exec 1 cat /etc/ezk-one/conf)" "node=$B" "the host's own variables reach its files"
run $S one --json
is "$(statuses "$out")" "$(want_each ok 2)" "second run (by alias): changed=0 everywhere"

# ---- --check leaves hosts untouched, says what would change
th_exec 0 sh -c 'echo edited > /etc/ezk-one/conf'
d0=$(th_upper_digest 0) d1=$(th_upper_digest 1)
run $S 01 --check --diff
is "$rc" 0 "--check: exit 0"
like "$out" "$A +changed +copy /etc/ezk-one/conf" "--check reports the edited file as would-change"
like "$out" "^-edited" "--diff shows the old line"
like "$out" "^\\+node=$A" "... and the new one"
like "$out" 'check mode: nothing changed' "the recap says check mode"
is "$(th_upper_digest 0)" "$d0" "--check changed nothing on the edited host"
is "$(th_upper_digest 1)" "$d1" "... nor on the others"
is "$(th_exec 0 cat /etc/ezk-one/conf)" "edited" "the file is still the edited one"

# ---- a failing host leaves the run, the others go on
run $S 02 -e fail_on=$B --json
is "$rc" 1 "a failed host: exit 1"
like "$out" "\"host\":\"$B\",\"status\":\"failed\",\"msg\":\"exit 4: broken\"" "the failed task says why"
like "$out" "\"host\":\"$A\",\"status\":\"changed\"" "the other hosts go on"
is "$(th_exec 2 cat /etc/ezk-two)" "two" "... and finish the step ($C)"
like "$(echo "$out" | tail -1)" "\"$B\":\\{\"ok\":0,\"changed\":0,\"failed\":1," "the recap counts the failure"
run th_exec 1 test -e /etc/ezk-two
is "$rc" 1 "the failed host stopped at its failed task"

# ---- --resume: starts at the first step that did not finish on every host
run $S 01,02 --resume --json
like "$out" "\"step\":\"02\"" "--resume runs step 02 again (it failed on a host)"
unlike "$out" "\"step\":\"01\"" "... and not step 01, which was done"
is "$rc" 0 "... now every host succeeds"
run $S 01,02 --resume
like "$out" "resume: every step was done" "--resume after success: nothing to do"

# ---- a Lua error names the role file and line, and fails only that host
run $S bad --json
is "$rc" 1 "a Lua error: exit 1"
like "$out" "\"status\":\"failed\",\"msg\":\"$R/bad/main.lua:3: attempt to index a nil value" "the error names the role file and line"
is "$(echo "$out" | grep -c '"task":"copy /etc/ezk-bad","host":"[0-9.]*","status":"changed"')" 2 "the tasks before it ran on both kube_node hosts"

# ---- any_errors_fatal stops the run at that play
run $S fatal --json
is "$rc" 1 "any_errors_fatal: exit 1"
like "$out" "\"status\":\"failed\",\"msg\":\"this host is broken\"" "fail() fails the host with its message"
unlike "$out" '"role":"one"' "the next play does not run"

# ---- every host of a play failed: no hosts left, the run stops there
# (Ansible's NO MORE HOSTS LEFT): a later play on other hosts would only fail
# on what this one did not make; one host of several failing does not stop it
run $S gone -e fail_on=$A --json
is "$rc" 1 "the only host of a play fails: exit 1"
unlike "$out" '"role":"one"' "... the next play (other hosts) does not run"
run $S gone -e fail_on=$A
like "$out" "step 11 gone: stopped: every host of a play failed or is unreachable \\(no hosts left\\)" "... and the run says why"
run $S localgone -e fail_on=localhost --json
is "$rc" 1 "the deploy node fails its play: exit 1"
unlike "$out" '"role":"one"' "... the next play does not run"
run $S localgone -e fail_on=localhost
like "$out" "step 12 localgone: stopped: every host of a play failed or is unreachable \(no hosts left\)" "... as the plain output says"
run $S two -e fail_on=$B --json
is "$rc" 1 "one etcd member of three fails: exit 1"
like "$out" '"role":"one"' "... the next play runs on the others"

# ---- tags, when
run $S tagged -t a,x --json
like "$out" '"task":"copy /etc/ezk-tag-a","host":"[0-9.]*","status":"changed"' "-t a: the task tagged a runs"
like "$out" '"task":"copy /etc/ezk-tag-b","host":"[0-9.]*","status":"changed"' "-t x: the task tagged b,x runs"
unlike "$out" 'ezk-tag-none' "untagged tasks do not run under -t"
run $S tagged --skip-tags b --json
unlike "$out" 'ezk-tag-b' "--skip-tags b skips it"
like "$out" '"task":"copy /etc/ezk-tag-none","host":"[0-9.]*","status":"changed"' "... and runs the rest"
like "$out" '"task":"copy /etc/ezk-skip","host":"[0-9.]*","status":"skipped","msg":"when is false"' "when=false: skipped"

# ---- serial = 1 runs hosts one after another; run_once runs on one host
run $S serial --json
is "$rc" 0 "serial: exit 0"
for i in 0 1 2; do th_exec $i sh -c 'echo $(cat /tmp/ezk-serial-start) $(cat /tmp/ezk-serial-end)'; done | sort -n >"$T/spans"
overlap=$(awk 'NR > 1 && $1 < prev_end { o = 1 } { prev_end = $2 } END { print o + 0 }' "$T/spans")
is "$overlap" 0 "serial = 1: no two hosts ran the play at once"
is "$(echo "$out" | grep -c '"role":"one"')" 2 "run_once: the play's two tasks ran on one host only"

# ---- ezk.once: computed by one host, the same value on all
run $S once --json
is "$rc" 0 "ezk.once: exit 0"
is "$(wc -l <"$T/once-count")" 1 "ezk.once: the function ran once for three hosts"
first=$(cat "$T/once-count")
for i in 0 1 2; do
	is "$(th_exec $i cat /etc/ezk-once)" "computed by $first" "ezk.once: ${TH_ADDRS[$i]} got the first host's value"
done
run $S once --json -e bad_once=1
is "$rc" 1 "ezk.once with a function that returns no string: exit 1"
like "$out" "ezk.once\('bad'\): the function must return a string" "... saying so"

# ---- plays on localhost run on the deploy node itself
run $S local --json
is "$rc" 0 "a play on localhost: exit 0"
is "$(cat "$T/deploy-node/made-here" 2>&1)" "by localhost for 3 etcd" "it ran here, with inventory_hostname localhost and the groups"
like "$out" '"host":"localhost","status":"changed"' "its tasks are reported for host localhost"
like "$(echo "$out" | tail -1)" '"localhost":\{"ok":1,"changed":1,' "... and recapped"
run $S local --json
like "$(echo "$out" | tail -1)" '"localhost":\{"ok":2,"changed":0,' "second run: changed=0 on localhost too"
# the deploy node's files are known by their stamp without a shell
# (ssh/transfer.c local_same); an edit that keeps the size is still seen
printf 'by localhost for 9 etcd\n' >"$T/deploy-node/made-here"
run $S local --json
like "$out" '"task":"copy [^"]*made-here","host":"localhost","status":"changed"' "an edit of a deploy node's file that keeps its size: changed"
is "$(cat "$T/deploy-node/made-here")" "by localhost for 3 etcd" "... and the file is ezk's again"
# the hosts of the run's later plays connect while the deploy node's play
# runs (here a 1.5 s one): the master's sshd took the login before it ended
t0=$(date +%s.%N)
run $S local --json -e local_wait=1
is "$rc" 0 "a slow play on localhost, then one on the master: exit 0"
acc=$(th_exec 0 journalctl -q -o short-unix --since "@${t0%.*}" -t sshd -g 'Accepted publickey' |
	awk -v t0="$t0" '$1 > t0 { print $1; exit }')
end=$(cat "$T/local-end" 2>/dev/null)
is "$(awk -v a="${acc:-0}" -v e="${end:-0}" 'BEGIN { print (a > 0 && e > 0 && a < e) ? "before" : "after" }')" before \
	"the master was connected (sshd $acc) before the localhost play ended ($end)"

# ---- history: every setup is a commit; a fully successful one is "applied"
run "$EZK" log c1
like "$out" '^\* [0-9a-f]{7}  .*  setup local: 4 hosts: ok=[0-9]+ changed=0 failed=0 unreachable=0  \(applied\)$' "ezk log: the last successful setup, marked applied"
like "$out" 'setup fatal: 3 hosts: .*failed=[1-9]' "... a failed one is recorded too"
like "$out" 'new: cluster c1' "... and the cluster's creation"
run "$EZK" diff c1
like "$out" '^no edits since the last setup' "ezk diff: nothing edited since"
echo "# an edit" >>"$HOSTS"
run "$EZK" diff c1
like "$out" '^\+# an edit$' "ezk diff: an edit to hosts shows"
run $S 01 --check
run "$EZK" diff c1
like "$out" '^\+# an edit$' "a --check run applies nothing: the edit still shows"
sed -i '/^# an edit$/d' "$HOSTS"

# ---- secrets: -v shows commands, never passwords; the history stores none
mkdir -p "$R/leak"
cat >"$R/leak/main.lua" <<'EOF'
command { cmd = "echo the password is " .. ezk.vars.ansible_ssh_pass .. " >/dev/null", changed_when = false }
EOF
sed -i 's/^ansible_user=root$/ansible_user=root\nansible_ssh_pass="Sup3r-Secret-77"/' "$HOSTS"
sed -i 's/^}$/  { id = "09", alias = "leak", plays = { { hosts = "kube_master", roles = { "leak" } } } },\n}/' "$R/steps.lua"
run $S leak -v
is "$rc" 0 "-v run: exit 0"
like "$err" "exec: echo the password is \\*+ >/dev/null" "-v shows the command, the password redacted"
unlike "$out$err" 'Sup3r-Secret-77' "the password is nowhere in the output"
log=$(ls -t "$EZK_HOME"/clusters/c1/logs/*-setup-leak.log | head -1)
unlike "$(cat "$log")" 'Sup3r-Secret-77' "... nor in the run's log"
like "$(git -C "$EZK_HOME/clusters/c1" show HEAD:hosts)" 'ansible_ssh_pass="\*+"' "the history stores the hosts file with the password as ********"
unlike "$(git -C "$EZK_HOME/clusters/c1" log -p --all)" 'Sup3r-Secret-77' "... and nowhere in any commit"
run "$EZK" diff c1
like "$out" '^no edits since the last setup' "ezk diff compares the same way: no edits"
sed -i '/^ansible_ssh_pass=/d' "$HOSTS"

# ---- unreachable host
cat >>"$HOSTS" <<EOF
[kube_node]
gone ansible_host=127.0.0.1 ansible_port=$(th_free_port)
EOF
run $S 01 --json -T 2
is "$rc" 1 "an unreachable host: exit 1"
like "$out" '"host":"gone","status":"unreachable","msg":"cannot connect: Connection refused"' "... reported unreachable"
like "$(echo "$out" | tail -1)" '"gone":\{"ok":0,"changed":0,"failed":0,"skipped":0,"unreachable":1\}' "... in the recap"
# connected early (during the localhost play), it is still reported when
# its first play starts, after the deploy node's tasks; and not at all when
# no play reaches it (the deploy node's play fails first)
# (gone is a master too here; step 07: a play on localhost, then the masters)
sed -i "\$a [kube_master]\\n$(grep '^gone ' "$HOSTS")" "$HOSTS"
run $S local --json -T 2
is "$(echo "$out" | grep -n '"host":' | awk -F: '/"host":"gone"/ { g = $1 } /"host":"localhost"/ { l = $1 } END { print (g > l && l > 0) ? "after" : "before" }')" after \
	"an unreachable host is reported after the localhost play before its own"
run $S localgone --json -T 2 -e fail_on=localhost
is "$rc" 1 "the localhost play fails: exit 1"
unlike "$out" '"host":"gone"' "... and the host no play reached is not reported"
sed -i '/^gone/d' "$HOSTS"

# ---- bad input: exit 2 before touching a host
run $S 99
is "$rc" 2 "an unknown step: exit 2"
like "$err" "no step '99'; the steps are: 01 one, 02 two" "... listing the steps"
echo 'return { { id = "01", plays = { { roles = { "one" } } } } }' >"$T/steps-bad.lua"
mkdir -p "$T/r2"
cp "$T/steps-bad.lua" "$T/r2/steps.lua"
run env EZK_ROLES="$T/r2:$EZK_SRC/roles" $S 01
is "$rc" 2 "a play without hosts: exit 2"
like "$err" "steps.lua: step 01, play 1: no hosts" "... naming the file and play"
mkdir -p "$T/r3/one"
cp "$R/steps.lua" "$T/r3/"
echo 'copy { dest = "x" ' >"$T/r3/one/main.lua"
run env EZK_ROLES="$T/r3:$EZK_SRC/roles" $S 01
is "$rc" 2 "a Lua syntax error in a role: exit 2, before any host is touched"
like "$err" "r3/one/main.lua:[0-9]+:" "... naming the file and line"

# ---- the log and the journal
log=$(ls -t "$EZK_HOME"/clusters/c1/logs/*-setup-*.log | head -1)
[ -s "$log" ] && pass "a log of the run in clusters/c1/logs" || fail "a log of the run"
like "$(cat "$EZK_HOME/clusters/c1/logs/journal")" "	01	\\*	done" "the journal records finished steps"

done_testing
