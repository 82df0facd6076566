# Sessions kept between runs (--persist, EZK_PERSIST; ssh/agent.c): the
# second run finds the first run's resident shells (same PID on the host,
# same TCP connection, no new login) and gets the same results through the
# agent (exit codes, NUL bytes, a 2 MB upload from a file, a lib whose text
# changed redefined); a run without it, or with another key, makes its own
# session; two runs at once both work; the agent dies (kill -9, the host's
# sshd gone, a client killed in the middle of a command) and the next run
# still works; a host key removed from known_hosts makes a new connection
# that pins the host's new key; the agent serves only its uid, names no
# secret, exits when idle and when its socket goes.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
unset EZK_PERSIST

th_start 2 || { fail "2 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cat >"$CD/hosts" <<EOF
[etcd]
$A
[kube_master]
$A
[kube_node]
$B
[all:vars]
ansible_user=root
EOF

head -c 2097152 /dev/urandom >"$T/big"
bigsum=$(sha256sum <"$T/big" | cut -d' ' -f1)
R=$T/roles
mkdir -p "$R/probe" "$R/slow"
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "probe", plays = { { hosts = "kube_master:kube_node", roles = { "probe" } } } },
  { id = "02", alias = "slow", plays = { { hosts = "kube_master", roles = { "slow" } } } },
}
EOF
probe_role() { # LIBTEXT
	cat >"$R/probe/main.lua" <<EOF
ezk.report("shell", "ok", ezk.trim(ezk.exec("echo \$\$").stdout))
local r = ezk.exec("ezk_t_say", { lib = "ezk_t_say() { echo $1; }", lib_name = "ezk_t_say" })
ezk.report("lib", "ok", ezk.trim(r.stdout))
r = ezk.exec("printf 'a\\\\0b'; echo err >&2; exit 7")
ezk.report("rc", "ok", r.rc .. " " .. #r.stdout .. " " .. ezk.trim(r.stderr))
copy { src = "$T/big", dest = "/tmp/ezk-persist-big" }
ezk.report("big", "ok", ezk.trim(ezk.exec("sha256sum </tmp/ezk-persist-big | cut -c1-64").stdout))
r = ezk.exec("sleep 5", { timeout = 1 })
ezk.report("timeout", "ok", tostring(r.timed_out))
EOF
}
cat >"$R/slow/main.lua" <<'EOF'
ezk.exec("sleep 6")
EOF
probe_role one
export EZK_ROLES=$R:$EZK_SRC/roles

# agent_pid [IDLE]: the cluster's agent (ezk-agent), the one for IDLE
# seconds (default 30)
agent_pid() {
	local p
	for p in $(pgrep -x ezk-agent); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "^ezk __agent $CD \.ezk-agent-[0-9a-f]*\.sock ${1:-30} \$"; then
			echo "$p"
		fi
	done
}
# conns PID ADDR: the agent's TCP connections to ADDR:22, as local ports
conns() {
	ss -Htnp state established "( dport = :22 )" 2>/dev/null |
		awk -v a="$2:22" -v p="pid=$1," '$4 == a && index($0, p) { n = split($3, x, ":"); print x[n] }' | sort | tr '\n' ' '
}

# ---- the first run starts the agent
ev_setup first c 01 --persist 30
is "$rc" 0 "--persist 30: exit 0"
is "$(ev_failed_any first)" "" "... every host ok"
pid=$(agent_pid)
is "$(echo "$pid" | wc -w)" 1 "one agent for the cluster, named ezk-agent"
sock=$(ls "$CD"/.ezk-agent-*.sock 2>/dev/null)
is "$(stat -c '%F %a %U' "$sock" 2>/dev/null)" "socket 600 root" "its socket in the cluster's directory, 0600"
is "$(tr '\0' ' ' <"/proc/$pid/cmdline" | wc -w)" 5 "its arguments: the directory, the socket's name, the idle seconds, nothing else"
shA=$(msg "$A" shell) shB=$(msg "$B" shell)
portA=$(conns "$pid" "$A") portB=$(conns "$pid" "$B")
like "$portA" '^[0-9]+ $' "the agent holds one connection to $A"
like "$portB" '^[0-9]+ $' "... and one to $B"
for h in "$A" "$B"; do
	is "$(msg "$h" lib)" one "$h: a lib through the agent"
	is "$(msg "$h" rc)" "7 3 err" "$h: exit status, stdout with a NUL byte, stderr"
	is "$(msg "$h" big)" "$bigsum" "$h: a 2 MB file from the deploy node, whole"
	is "$(msg "$h" timeout)" true "$h: a timeout kills and says so"
done

# ---- the rerun reuses the sessions: same shells, same connections
probe_role two
ev_setup second c 01 --persist 30
is "$rc" 0 "rerun: exit 0"
is "$(msg "$A" shell) $(msg "$B" shell)" "$shA $shB" "rerun: the same resident shells (PIDs on the hosts)"
is "$(conns "$pid" "$A")$(conns "$pid" "$B")" "$portA$portB" "... over the same TCP connections"
is "$(agent_pid)" "$pid" "... kept by the same agent"
is "$(msg "$A" lib) $(msg "$B" lib)" "two two" "a lib whose text changed under the same name: defined anew"
is "$(msg "$A" big)" "$bigsum" "the file again (nothing sent: it is there)"
log=$(ls -t "$CD"/logs/*-setup-*.log | head -1)
like "$(cat "$log")" "$A the session ezk's agent kept from an earlier run \(--persist\)" "the run's log says so"
EZK_PERSIST=30 ev_setup env c 01
is "$(msg "$A" shell)" "$shA" "EZK_PERSIST=30 in the environment: the same"

# ---- without it, or with another key: a session of the run's own
EZK_PERSIST= ev_setup plain c 01
is "$rc" 0 "without --persist: exit 0"
isnt_sh=$(msg "$A" shell)
[ -n "$isnt_sh" ] && [ "$isnt_sh" != "$shA" ] && pass "... its own session (another shell)" || fail "... its own session (another shell)" "$isnt_sh vs $shA"
is "$(conns "$pid" "$A")" "$portA" "... the agent's stays"
cp "$TH_KEY" "$T/key2"
"$EZK" setup c 01 --key "$T/key2" --json --persist 30 >"$T/key2.json" 2>&1
is "$?" 0 "another key file: exit 0"
newA=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "task" and e.get("host") == sys.argv[2] and e.get("task") == "shell": print(e["msg"])' "$T/key2.json" "$A")
[ -n "$newA" ] && [ "$newA" != "$shA" ] && pass "... a new session for it" || fail "... a new session for it" "$newA vs $shA"
c2=$(conns "$pid" "$A")
like "$c2" '^[0-9]+ $' "... and the old one dropped: one connection to $A"
[ "$c2" != "$portA" ] && pass "... a new one" || fail "... a new one" "$c2"

# ---- a session in use by a run: another command makes its own (ping does
# not take the cluster's lock)
"$EZK" setup c 02 --key "$T/key2" --json --persist 30 >"$T/p1.json" 2>&1 &
p1=$!
th_wait_for 10 th_exec 0 pgrep -x sleep
run "$EZK" ping c --key "$T/key2" --persist 30 -l "$A"
is "$rc" 0 "ezk ping while a run holds the kept session: exit 0 (a session of its own)"
wait "$p1"
is "$?" 0 "... and the run: exit 0"
is "$(conns "$pid" "$A")" "$c2" "... the agent's session is the same"

# ---- a client killed in the middle of a command: its session is dropped
"$EZK" setup c 02 --key "$T/key2" --json --persist 30 >/dev/null 2>&1 &
p1=$!
th_wait_for 10 th_exec 0 pgrep -x sleep
kill -9 "$p1"
wait "$p1" 2>/dev/null
none_to_A() { [ -z "$(conns "$pid" "$A")" ]; }
th_wait_for 20 none_to_A
is "$(conns "$pid" "$A")" "" "a client killed mid-command: the agent closes that session once the command ends"
ev_setup afterkill c 01 --key "$T/key2" --persist 30
is "$rc" 0 "... and the next run connects anew: exit 0"

# ---- the agent killed: its stale socket is replaced
kill -9 "$pid"
th_wait_for 5 sh -c "! kill -0 $pid 2>/dev/null"
ev_setup afterkill9 c 01 --persist 30
is "$rc" 0 "the agent killed (kill -9): the next run starts another, exit 0"
pid2=$(agent_pid)
[ -n "$pid2" ] && [ "$pid2" != "$pid" ] && pass "... a new agent" || fail "... a new agent" "$pid2"
pid=$pid2

# ---- the host's sshd and sessions gone: unreachable as without the agent
th_kill_sshd 1
ev_setup nosshd c 01 --persist 30
is "$rc" 1 "$B's sshd gone: exit 1"
like "$(ev_recap nosshd "$B")" "unreachable=1" "... $B unreachable"
like "$(grep -F "$B"$'\t'connect "$T/nosshd.tasks")" "refused" "... connection refused, as a new connection says"
like "$(ev_recap nosshd "$A")" "failed=0 skipped=0 unreachable=0" "... $A ok on its kept session"

# ---- a host key removed from known_hosts: a new connection pins the new one
th_rekey 0
ssh-keygen -q -f "$EZK_HOME/known_hosts" -R "$A" >/dev/null 2>&1
ev_setup rekey c 01 -l "$A" --persist 30
is "$rc" 0 "$A rekeyed, its old key removed from known_hosts: exit 0"
new=$(grep "^$A " "$TH_DIR/known_hosts" | awk '{print $3}')
is "$(grep "^$A " "$EZK_HOME/known_hosts" | awk '{print $3}')" "$new" "... the key it has now is pinned (a new connection, not the kept one)"
log=$(ls -t "$CD"/logs/*-setup-*.log | head -1)
like "$(cat "$log")" "pinned new host key for $A" "... and the run's log says so"

# ---- only our uid: a socket others can reach still answers nobody else
# (a link to it where anyone may go, the socket 0666)
pub=$(mktemp -d /tmp/ezk-persist.XXXXXX)
chmod 755 "$pub"
ln "$sock" "$pub/s"
chmod 666 "$sock"
run setpriv --reuid=nobody --regid=nogroup --clear-groups python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5)
s.connect(sys.argv[1])
try:
    print("answer:", len(s.recv(100)))
except OSError as e:
    print("error:", e)' "$pub/s"
is "$out" "answer: 0" "another uid: closed at once, without a word (SO_PEERCRED)"
chmod 600 "$sock"
rm -rf "$pub"

# ---- idle: the agent exits and removes its socket; its socket removed: it exits
ev_setup idle c 01 -l "$A" --persist 2
is "$rc" 0 "--persist 2: exit 0"
ip=$(agent_pid 2)
is "$(echo "$ip" | wc -w)" 1 "... an agent of its own (the idle time is part of its name)"
th_wait_for 15 sh -c "! kill -0 $ip 2>/dev/null"
is "$(kill -0 "$ip" 2>/dev/null && echo alive || echo gone)" gone "2 s idle: it exits"
is "$(ls "$CD"/.ezk-agent-*.sock | wc -l)" 1 "... its socket removed (the 30 s agent's is there)"
rm -f "$sock"
th_wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
is "$(kill -0 "$pid" 2>/dev/null && echo alive || echo gone)" gone "its socket removed (the cluster's directory gone): the agent exits"

run "$EZK" help setup
like "$out" "--persist SECONDS" "ezk help setup: --persist"
run "$EZK" setup c 01 --persist x
is "$rc" 2 "--persist x: exit 2"
like "$err" "--persist wants seconds" "... saying what it wants"

done_testing
