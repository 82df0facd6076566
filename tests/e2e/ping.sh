# ezk ping and ezk keys push on test hosts: the table, --json events, host
# key pinning and refusal, unreachable hosts that hold nobody up, --limit,
# sudo checks, passwords typed once, and 50 hosts at once.
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

# ---- all reachable
run "$EZK" ping c1 --key "$TH_KEY"
is "$rc" 0 "ping: every host ok, exit 0"
is "$(echo "$out" | head -1 | tr -s ' ')" "HOST USER OS ARCH KERNEL CGROUP MEM LATENCY SKEW RESULT" "a table with a header"
for a in $A $B $C; do
	like "$out" "^$a +root +Debian GNU/Linux [0-9]+ \([a-z]+\) +$(uname -m) +$(uname -r) +v[12] +[0-9]+M +[0-9.]+ms +[-+][0-9]+ms +ok\$" "row for $a"
done
like "$out" '^3 ok, 0 failed, 0 unreachable' "a summary line"
is "$(grep -c 'pinned new host key' <<<"$err")" 3 "three first keys pinned and reported"
is "$(wc -l <"$EZK_HOME/known_hosts")" 3 "known_hosts has them"
run "$EZK" ping c1 --key "$TH_KEY"
is "$rc $err" "0 " "second ping: nothing new to pin"

# ---- --json: one host event each, then the recap
run "$EZK" ping c1 --key "$TH_KEY" --json
is "$rc" 0 "ping --json exit 0"
is "$(echo "$out" | wc -l)" 4 "three host events and a recap"
echo "$out" >"$T/events"
run $PY - "$T/events" "$A $B $C" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
hosts = sys.argv[2].split()
ev = [l for l in lines if l["event"] == "host"]
assert sorted(e["host"] for e in ev) == sorted(hosts), ev
for e in ev:
    assert e["status"] == "ok" and e["msg"] == "", e
    assert e["user"] == "root" and e["os"].startswith("Debian"), e
    assert e["cgroup"] in ("v1", "v2") and e["mem_mb"] > 0 and e["latency_ms"] > 0, e
    assert abs(e["skew_ms"]) < 2000, e
rc = lines[-1]
assert rc["event"] == "recap" and set(rc["hosts"]) == set(hosts), rc
assert all(v == {"ok": 1, "failed": 0, "unreachable": 0} for v in rc["hosts"].values()), rc
print("ok")
EOF
is "$out" ok "events are valid JSON with the fields docs/events.md names"

# ---- --limit
run "$EZK" ping c1 --key "$TH_KEY" -l kube_node --json
is "$(echo "$out" | grep -c '"event":"host"')" 2 "-l kube_node: two hosts"
run "$EZK" ping c1 --key "$TH_KEY" -l "all:!kube_node" --json
like "$out" "\"host\":\"$A\"" "-l all:!kube_node: the master"
is "$(echo "$out" | grep -c '"event":"host"')" 1 "... only"
run "$EZK" ping c1 --key "$TH_KEY" -l "etcd:&kube_node:!$C" --json
is "$(echo "$out" | grep '"event":"host"' | sed 's/.*"host":"\([^"]*\)".*/\1/')" "$B" "-l etcd:&kube_node:!C"
run "$EZK" ping c1 --key "$TH_KEY" -l nosuchgroup
is "$rc" 2 "-l naming nothing: exit 2"
like "$err" "no host or group .* matches 'nosuchgroup'" "... and says so"

# ---- a changed host key is refused; the others go on
th_rekey 1
run "$EZK" ping c1 --key "$TH_KEY"
is "$rc" 1 "a changed host key: exit 1"
like "$out" "^$B .*unreachable: host key changed .* ssh-keygen -f '$EZK_HOME/known_hosts' -R '$B'" "... that host refused, with how to remove the stale key"
like "$out" "^$A .* ok\$" "... the others proceed ($A)"
like "$out" "^$C .* ok\$" "... ($C)"
ssh-keygen -q -f "$EZK_HOME/known_hosts" -R "$B" >/dev/null 2>&1
run "$EZK" ping c1 --key "$TH_KEY" -l "$B"
is "$rc" 0 "after the hint's command, the new key is pinned"
like "$err" "pinned new host key for $B" "... and reported"
run "$EZK" ping c1 --key "$TH_KEY" --host-key-checking=off -l "$B"
is "$rc" 0 "--host-key-checking=off connects"

# ---- unreachable hosts hold nobody up
nossh=$(th_free_port)
th_silent_listener
cat >>"$HOSTS" <<EOF

[kube_node]
nosshd ansible_host=127.0.0.1 ansible_port=$nossh
silent ansible_host=127.0.0.1 ansible_port=$TH_SILENT_PORT
EOF
t0=$(date +%s%N)
run "$EZK" ping c1 --key "$TH_KEY" -T 2 --json
ms=$((($(date +%s%N) - t0) / 1000000))
kill $TH_SILENT_PID 2>/dev/null
is "$rc" 1 "unreachable hosts: exit 1"
like "$out" '"host":"nosshd","status":"unreachable","msg":"cannot connect: Connection refused"' "no sshd: unreachable, connection refused"
like "$out" '"host":"silent","status":"unreachable","msg":"cannot connect: .*[Tt]imeout' "silent listener: unreachable after the timeout"
is "$(echo "$out" | grep -c '"status":"ok"')" 3 "the three real hosts are ok"
[ "$ms" -lt 4500 ] && pass "the whole ping took about the connect timeout (${ms} ms, -T 2)" ||
	fail "the whole ping took about the connect timeout" "$ms ms"
sed -i '/^nosshd\|^silent/d' "$HOSTS"

# ---- sudo: a non-root user that becomes, with the password from the inventory and -K
th_adduser 0 dave 'pw-Dave-x81' --sudo
cat >"$EZK_HOME/clusters/c1/hosts" <<EOF
[etcd]
$A ansible_user=dave ansible_ssh_pass=pw-Dave-x81 ansible_become=true ansible_become_password=pw-Dave-x81

[kube_master]
$A

[kube_node]
$A
EOF
run "$EZK" ping c1 --json
is "$rc" 0 "user with ansible_ssh_pass and ansible_become_password: ok"
like "$out" '"user":"dave"' "... as dave"
unlike "$out$err" 'pw-Dave' "the passwords are not in the output"
# a named key goes first, before "none" (session.c: authenticate); one the
# host refuses leaves the rest as before: here the inventory's password
ssh-keygen -q -t ed25519 -N '' -C stray -f "$T/stray" </dev/null
run "$EZK" ping c1 --key "$T/stray" --json
is "$rc" 0 "a named key the host refuses, then the password: ok"
like "$out" '"user":"dave"' "... as dave"
sed -i 's/ ansible_become_password=pw-Dave-x81//' "$HOSTS"
run "$EZK" ping c1
is "$rc" 1 "become without a password: exit 1"
like "$out" "failed: sudo to root needs a password" "... the host failed, saying why"
run sh -c "printf 'pw-Dave-x81\n' | '$EZK' ping c1 -K --json"
is "$rc" 0 "-K reads the become password (stdin when not a terminal)"
run sh -c "printf 'nope\n' | '$EZK' ping c1 -K --json"
like "$out" '"status":"failed","msg":"sudo to root: incorrect become password"' "a wrong -K password: failed"

# ---- -k -K on a terminal: prompts, no echo
cat >"$HOSTS" <<EOF
[etcd]
$A ansible_user=dave ansible_become=true
[kube_master]
$A
[kube_node]
$A
EOF
run $PY - "$EZK" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "ping", "c1", "-k", "-K"])
out = b""
def until(want):
    global out
    while want not in out:
        chunk = os.read(fd, 1024)
        if not chunk:
            raise SystemExit("EOF before %r: %r" % (want, out))
        out += chunk
until(b"SSH password: ")
os.write(fd, b"pw-Dave-x81\n")
until(b"BECOME password")
os.write(fd, b"\n")  # empty: the SSH password, as Ansible does
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, st = os.waitpid(pid, 0)
text = out.decode()
print("exit=%d" % os.waitstatus_to_exitcode(st))
print("echoed" if "pw-Dave" in text else "not echoed")
print(text)
EOF
like "$out" '^exit=0' "-k -K from a terminal: both prompts answered, ping ok (empty become password = SSH password)"
like "$out" '^not echoed' "... the typed password is not echoed"
like "$out" "$A +dave .* ok" "... as dave, sudo checked"

# ---- ProxyJump from ansible_ssh_common_args
cat >"$HOSTS" <<EOF
[etcd]
$C ansible_ssh_common_args='-o ProxyJump=root@$A'
[kube_master]
$C
[kube_node]
$B ansible_ssh_common_args='-J root@127.0.0.1:$(th_free_port)'
EOF
# (the default connect timeout: a jump on a loaded machine may take more
# than a few seconds; the dead jump host refuses at once)
run "$EZK" ping c1 --key "$TH_KEY" --json
like "$out" "\"host\":\"$C\",\"status\":\"ok\"" "ProxyJump in ansible_ssh_common_args: reached through the jump host"
like "$out" "\"host\":\"$B\",\"status\":\"unreachable\"" "-J to a dead jump host: unreachable (the jump is really used)"

# ---- keys push: a password typed once, then the key alone
th_adduser 1 erin 'pw-Erin-553' || fail "adduser erin"
th_adduser 2 erin 'pw-Erin-553' || fail "adduser erin"
cat >"$HOSTS" <<EOF
[etcd]
$B
$C
[kube_master]
$B
[kube_node]
$C
[all:vars]
ansible_user=erin
EOF
run "$EZK" ping c1
is "$rc" 1 "before keys push: erin has no key"
( sleep 0.2; for _ in $(seq 15); do ps -eo args= | grep -F 'pw-Erin' | grep -v grep; sleep 0.1; done ) >"$T/ps-watch" &
watch=$!
printf 'pw-Erin-553\n' >"$T/pw" # a file: the test's own argv must not hold it either
run "$EZK" keys push c1 <"$T/pw"
is "$rc" 0 "keys push: exit 0"
wait $watch
is "$(cat "$T/ps-watch")" "" "the password is in no process's arguments while keys push runs"
like "$err" "made a new key $HOME/.ssh/id_ed25519" "no key on this machine: one is made"
is "$(stat -c %a "$HOME/.ssh/id_ed25519")" 600 "... its private half 0600"
like "$out" "^$B +erin +ok: added" "key added on $B"
like "$out" "^$C +erin +ok: added" "key added on $C"
run "$EZK" ping c1
is "$rc" 0 "after keys push: ping needs no password"
run sh -c "printf 'pw-Erin-553\n' | '$EZK' keys push c1 --json"
is "$rc" 0 "second keys push: exit 0"
is "$(echo "$out" | grep -c '"msg":"present","changed":false')" 2 "... the key is present on both, nothing changed"
is "$(th_exec 1 grep -c ezk@ /home/erin/.ssh/authorized_keys)" 1 "authorized_keys holds the key once"
is "$(th_exec 1 stat -c '%a %U' /home/erin/.ssh/authorized_keys /home/erin/.ssh)" "600 erin
700 erin" "... with sshd's modes and owner"
th_adduser 1 fred 'pw-Fred-0k2' || fail "adduser fred"
run sh -c "printf 'wrong\n' | '$EZK' keys push c1 -l $B -e ansible_user=fred"
is "$rc" 1 "keys push with a wrong password: exit 1"
like "$out" "unreachable: authentication failed for fred \\(tried: key ~/.ssh/id_ed25519, password\\)" "... the host is reported unreachable, saying what was tried"
unlike "$out$err" 'wrong' "... without the password in the output"
run sh -c "printf 'wrong\n' | '$EZK' keys push c1 -l $B -e ansible_user=fred --key '$T/stray'"
is "$rc" 1 "a refused named key and a wrong password: exit 1"
like "$out" "authentication failed for fred \\(tried: key $T/stray, " "... the named key tried first, and said"
is "$(echo "$out" | grep -o "key $T/stray" | wc -l)" 1 "... once"

# ---- 50 hosts at once (sshd as PID 1)
th_stop
th_start --plain 50 || { fail "50 plain test hosts start"; done_testing; exit 1; }
{
	echo "[etcd]"
	echo "${TH_ADDRS[0]}"
	echo "[kube_master]"
	echo "${TH_ADDRS[0]}"
	echo "[kube_node]"
	printf '%s\n' "${TH_ADDRS[@]}"
	echo "[all:vars]"
	echo "ansible_user=root"
} >"$HOSTS"
t0=$(date +%s%N)
run "$EZK" ping c1 --key "$TH_KEY"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# ping of 50 hosts: $ms ms"
is "$rc" 0 "ping 50 hosts: exit 0"
is "$(echo "$out" | grep -cE '^127\.0\.[0-9]+\.[0-9]+ .* ok$')" 50 "one ok row per host"
like "$out" '^50 ok, 0 failed, 0 unreachable' "... 50 ok"
run "$EZK" ping c1 --key "$TH_KEY" --json
is "$(echo "$out" | grep -c '"event":"host"')" 50 "--json: one host event each"
is "$(echo "$out" | grep '"event":"host"' | sed 's/.*"host":"\([^"]*\)".*/\1/' | sort -u | wc -l)" 50 "... for 50 different hosts"
run "$EZK" ping c1 --key "$TH_KEY" --forks 5 --json
is "$(echo "$out" | grep -c '"status":"ok"')" 50 "--forks 5: still all 50"

done_testing
