# The SSH transport (ssh/) against real sshd on test hosts, through
# build/tools/sshtool (one session per invocation, actions in order):
# key and password auth, sudo with a password, exec framing (NUL bytes,
# 10 MB of stderr, exit codes, stdin, timeouts that kill), uploads that skip
# unchanged files and never leave a partial file, fetch, jump hosts.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home

th_start 3 || { fail "3 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]} C=${TH_ADDRS[2]}
KH=$T/known_hosts
ST="$EZK_TOOL_DIR/sshtool -K $KH -i $TH_KEY"

# ---- key auth, host key pinning
run $ST "$A" exec 'id -un'
is "$rc" 0 "key auth: connects"
like "$out" '^auth=key$' "key auth: the key logged in"
like "$out" "note=pinned new host key for $A \(ssh-ed25519 SHA256:" "first key is pinned and reported"
like "$out" '^root$' "runs as root"
got=$(awk '{print $2, $3}' "$KH")
want=$(grep "^$A " "$TH_DIR/known_hosts" | awk '{print $2, $3}')
is "$got" "$want" "known_hosts holds the key sshd presents"
run $ST -m strict "$A" exec true
unlike "$out" 'note=' "second connect: known key, nothing pinned"
is "$rc" 0 "strict mode accepts a pinned key"
run $ST -m strict "$B" exec true
is "$rc" 1 "strict mode refuses an unknown host"
like "$err" 'unknown host key .* strict' "... and says why"

# ---- the other ways in: ssh-agent, then the user's default keys
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$TH_KEY" 2>/dev/null
run env SSHTOOL_AGENT=1 "$EZK_TOOL_DIR/sshtool" -K "$KH" "$A" exec true
ssh-agent -k >/dev/null 2>&1
unset SSH_AUTH_SOCK SSH_AGENT_PID
like "$out" '^auth=agent$' "ssh-agent: the agent's key logs in"
mkdir -p "$HOME/.ssh"
cp "$TH_KEY" "$HOME/.ssh/id_ed25519"
run env SSHTOOL_DEFAULT_KEYS=1 "$EZK_TOOL_DIR/sshtool" -K "$KH" "$A" exec true
like "$out" '^auth=key$' "~/.ssh/id_ed25519 logs in when nothing else is given"
rm -f "$HOME/.ssh/id_ed25519"
run env SSHTOOL_DEFAULT_KEYS=1 "$EZK_TOOL_DIR/sshtool" -K "$KH" "$A" exec true
is "$rc" 1 "with no key at all: fails"
like "$err" 'authentication failed for root \(tried: nothing' "... saying nothing was there to try"

# ---- exec framing
run $ST "$A" exec -o "$T/o1" -e "$T/e1" 'printf "a\0b\0\n\001EZK"; head -c 10485760 /dev/zero | tr "\0" x >&2; exit 3'
like "$out" 'status=3 timed_out=0' "exit status 3 comes back"
is "$(od -An -c "$T/o1" | tr -s ' ')" " a \0 b \0 \n 001 E Z K" "NUL bytes (and a fake marker start) in stdout are intact"
is "$(wc -c <"$T/e1")" 10485760 "10 MB of stderr, all of it"
is "$(tr -d x <"$T/e1" | wc -c)" 0 "... and only what was written"
codes=""
args=()
for c in 0 1 2 42 126 127 255; do args+=(exec "exit $c"); done
run $ST "$A" "${args[@]}"
is "$(echo "$out" | sed -n 's/^status=\([0-9]*\).*/\1/p' | tr '\n' ' ')" "0 1 2 42 126 127 255 " "exit codes are preserved"
run $ST "$A" exec 'nosuchcommand-ezk'
like "$out" 'status=127' "a missing command is 127"
like "$err" 'not found' "... with the shell's message on stderr"
run $ST "$A" exec 'echo "unterminated'
like "$out" 'status=2' "a syntax error in a command fails that command"
run $ST "$A" exec 'echo "unterminated' exec 'echo still here'
like "$out" 'still here' "... and the session goes on"
printf 'line one\nline two\0tail' >"$T/in"
run $ST "$A" exec -I "$T/in" -o "$T/o2" 'cat'
cmp -s "$T/in" "$T/o2" && pass "stdin bytes reach the command" || fail "stdin bytes reach the command"
run $ST "$A" exec -I "$T/in" 'head -c 3 >/dev/null; echo read-3' exec 'echo next'
like "$out" 'read-3' "a command that reads part of its stdin"
like "$out" 'next' "... leaves no bytes for the shell to run"
run $ST "$A" exec 'cd /tmp && pwd; x=1' exec 'pwd; echo "x=${x:-unset}"'
like "$out" $'/tmp\nstatus=0' "cd inside a command"
like "$out" 'x=unset' "... does not leak into the next command"
like "$(echo "$out" | sed -n 4p)" '^/root$' "... nor does its directory"
run $ST "$A" exec 'printf "%s" "$(printf "l1\nl2\n\nl4")"; echo; echo "q'"'"'uote"'
like "$out" $'l1\nl2\n\nl4' "newlines inside a command survive framing"
like "$out" "q'uote" "quotes survive framing"
run $ST "$A" exec -E 'EZK_A=one two' -E "EZK_B=it's \$HOME" -C /etc 'printf "%s|%s|%s\n" "$EZK_A" "$EZK_B" "$(pwd)"' exec 'echo "${EZK_A:-none}"'
like "$out" "^one two\|it's \\\$HOME\|/etc\$" "environment and working directory reach the command, unexpanded"
like "$out" '^none$' "... and only that command"

# ---- timeout kills the command and its children on the host
t0=$(date +%s%N)
run $ST "$A" exec -T 1000 'sleep 300 & echo $! > /tmp/bg.pid; sleep 301; echo not-reached' exec 'echo alive'
ms=$((($(date +%s%N) - t0) / 1000000))
like "$out" 'status=124 timed_out=1' "a command past its timeout ends with 124"
unlike "$out" 'not-reached' "... before it finished"
like "$out" 'alive' "... and the session goes on"
[ "$ms" -lt 8000 ] && pass "... within seconds ($ms ms)" || fail "... within seconds" "$ms ms"
sleep 0.3
run th_exec 0 sh -c 'pgrep -x sleep; kill -0 $(cat /tmp/bg.pid) 2>/dev/null && echo bg-alive'
is "$out" "" "the command and its background child are gone from the host"

# ---- password auth: a user with a password inside a host
th_adduser 0 alice 'pw-Alice-7f3k' || fail "adduser alice"
run sh -c "printf '%s\n' 'pw-Alice-7f3k' | $EZK_TOOL_DIR/sshtool -K $KH -u alice -P $A exec 'id -un'"
like "$out" '^auth=password$' "password auth as alice"
like "$out" '^alice$' "... runs as alice"
run sh -c "printf '%s\n' 'wrong' | $EZK_TOOL_DIR/sshtool -K $KH -u alice -P $A exec 'id -un'"
is "$rc" 1 "a wrong password fails"
like "$err" 'authentication failed for alice \(tried: password\)' "... saying what was tried"
unlike "$err" 'wrong' "... without echoing the password"

# ---- sudo with a password as a non-root user
th_adduser 1 bob 'pw-Bob-91xq' --sudo || fail "adduser bob"
run sh -c "printf '%s\n%s\n' 'pw-Bob-91xq' 'pw-Bob-91xq' | $EZK_TOOL_DIR/sshtool -K $KH -u bob -P -B $B exec 'id -un' exec -n 'id -un' exec 'cat; echo read-done'"
like "$out" $'^root\nstatus=0' "sudo with a password: the command runs as root"
like "$out" $'^bob\nstatus=0' "no_become: the same session runs as bob"
like "$out" $'^read-done' "the sudo password never reaches a command's stdin"
unlike "$out$err" 'pw-Bob' "... nor its output"
run sh -c "printf '%s\n%s\n' 'pw-Bob-91xq' 'bad-pass' | $EZK_TOOL_DIR/sshtool -K $KH -u bob -P -B $B exec 'id -un'"
is "$rc" 1 "a wrong sudo password fails the host"
like "$err" 'incorrect become password' "... saying so"
run sh -c "printf '%s\n' 'pw-Bob-91xq' | $EZK_TOOL_DIR/sshtool -K $KH -u bob -P -B $B exec 'id -un'"
like "$err" 'needs a password' "sudo without a password says it needs one"
run sh -c "printf '%s\n%s\n' 'pw-Alice-7f3k' 'pw-Alice-7f3k' | $EZK_TOOL_DIR/sshtool -K $KH -u alice -P -B $A exec 'id -un'"
is "$rc" 1 "sudo for a user not in sudoers fails"
like "$err" 'sudo to root failed: .*alice' "... with sudo's own reason"

# ---- secrets never in argv: watch every process while a run holds them
( printf '%s\n%s\n' 'pw-Bob-91xq' 'pw-Bob-91xq' | $EZK_TOOL_DIR/sshtool -K $KH -u bob -P -B "$B" exec 'sleep 2' >/dev/null 2>&1 ) &
bg=$!
seen=""
for _ in $(seq 20); do
	seen="$seen$(ps -eo args= | grep -F 'pw-Bob-91xq' | grep -v grep)"
	sleep 0.1
done
wait $bg
is "$seen" "" "the passwords appear in no process's arguments (ps, machine and hosts)"
keyline=$(sed -n 2p "$TH_KEY")
run sh -c "ps -eo args= | grep -F -- '$keyline' | grep -v grep"
is "$out" "" "the private key appears in no process's arguments"

# ---- uploads
head -c 3000000 /dev/urandom >"$T/f1"
run $ST "$A" upload -M 640 "$T/f1" /opt/ezk-up/f1
like "$err" 'no such directory' "upload into a missing directory fails (no -D)"
run $ST "$A" upload -D -M 640 "$T/f1" /opt/ezk-up/f1
like "$out" 'changed=1 sent=1' "first upload sends the file"
is "$(th_exec 0 sha256sum /opt/ezk-up/f1 | cut -d' ' -f1)" "$(sha256sum "$T/f1" | cut -d' ' -f1)" "... intact"
is "$(th_exec 0 stat -c %a /opt/ezk-up/f1)" 640 "... with its mode"
ino1=$(th_exec 0 stat -c %i /opt/ezk-up/f1)
run $ST "$A" upload -M 640 "$T/f1" /opt/ezk-up/f1
like "$out" 'changed=0 sent=0' "second upload of the same file sends no data"
is "$(th_exec 0 stat -c %i /opt/ezk-up/f1)" "$ino1" "... and does not rewrite it (same inode)"
# the content's stamp: the mtime's nanoseconds from its sha256 (transfer.c)
sum1=$(sha256sum "$T/f1" | cut -d' ' -f1)
stamp=$(printf '%09d' $((0x${sum1:0:8} % 1000000000)))
mt=$(th_exec 0 stat -c %y /opt/ezk-up/f1)
mt=${mt#*.}
is "${mt%% *}" "$stamp" "the file carries the content's stamp in its mtime's nanoseconds"
th_exec 0 sh -c 'printf EZKTESTEZKTEST!! | dd of=/opt/ezk-up/f1 bs=1 seek=100 conv=notrunc 2>/dev/null'
run $ST "$A" upload -M 640 "$T/f1" /opt/ezk-up/f1
like "$out" 'changed=1 sent=1' "content changed on the host, same size (a new mtime): sent again"
th_exec 0 touch /opt/ezk-up/f1
run $ST "$A" upload -M 640 "$T/f1" /opt/ezk-up/f1
like "$out" 'changed=0 sent=0' "the same content without the stamp (touched): hashed, found the same, not sent"
mt=$(th_exec 0 stat -c %y /opt/ezk-up/f1)
mt=${mt#*.}
is "${mt%% *}" "$stamp" "... and stamped again for the next run"
run $ST "$A" upload -M 600 -O nobody "$T/f1" /opt/ezk-up/f1
like "$out" 'changed=1 sent=0' "a mode/owner change alone is fixed in place"
is "$(th_exec 0 stat -c '%a %U' /opt/ezk-up/f1)" "600 nobody" "... mode 600, owner nobody"
printf 'v2' >"$T/f2"
run $ST "$A" upload "$T/f2" /opt/ezk-up/f1
like "$out" 'changed=1 sent=1' "new content is sent"
is "$(th_exec 0 stat -c '%a %U' /opt/ezk-up/f1) $(th_exec 0 cat /opt/ezk-up/f1)" "600 nobody v2" "... keeping the old mode and owner"
is "$(th_exec 0 sh -c 'ls -A /opt/ezk-up')" "f1" "no temporary file is left"
run $ST "$A" upload "$T/f1" /opt/ezk-up
like "$err" 'absolute file path|is a directory' "uploading over a directory is refused"
run $ST "$A" fetch /opt/ezk-up/f1 "$T/back" fetch /nonexistent "$T/none"
like "$out" $'fetched\nmissing' "fetch brings a file back; a missing one is reported"
is "$(cat "$T/back")" v2 "... its content"
[ ! -e "$T/none" ] && pass "... nothing written for the missing one" || fail "... nothing written for the missing one"
head -c 5000000 /dev/urandom >"$T/big5"
run $ST "$A" upload "$T/big5" /opt/ezk-up/big5 fetch /opt/ezk-up/big5 "$T/big5.back"
cmp -s "$T/big5" "$T/big5.back" && pass "5 MB round trip: upload then fetch" || fail "5 MB round trip"

# ---- small files through SFTP (sftp.c): the host starts its sftp-server
# once, and no process per file but the stamp's touch
printf 'small one\n' >"$T/s1"
printf '#!/bin/sh\necho small two\n' >"$T/s2"
run $ST "$A" upload -M 4755 "$T/s1" /opt/ezk-up/s1 upload -M 600 "$T/s2" /opt/ezk-up/s2 exec 'ps -e -o comm= | grep -c "^sftp-server$"'
like "$out" $'changed=1 sent=1\nchanged=1 sent=1' "two small files are sent"
like "$out" $'\n1\n' "... through the host's sftp-server, running for the session"
count() { # the processes the host started for two new files (sftp.c, or the shell's way)
	local n=$1
	shift
	run env SSHTOOL_COUNT=1 "$@" $ST "$A" upload -M 4755 "$T/s1" "/opt/ezk-up/c$n" upload -M 600 "$T/s2" "/opt/ezk-up/d$n"
	printf '%s\n' "$out" | sed -n 's/^cmds=.* procs=//p'
}
p_sftp=$(count 1) p_sh=$(count 2 EZK_SFTP=0)
[ -n "$p_sftp" ] && [ -n "$p_sh" ] && [ "$p_sftp" -le 5 ] && [ $((p_sh - p_sftp)) -ge 4 ] &&
	pass "... two new files cost the host $p_sftp processes (sshd's child, sftp-server, 2 touches, the stat cache's stat), the shell's way $p_sh" ||
	fail "... two new files cost the host $p_sftp processes (want at most 5), the shell's way $p_sh (want 4 more)"
is "$(th_exec 0 cat /opt/ezk-up/s1 /opt/ezk-up/s2)" "$(cat "$T/s1" "$T/s2")" "... intact"
is "$(th_exec 0 stat -c '%a %U' /opt/ezk-up/s1 /opt/ezk-up/s2 | tr '\n' ' ')" "4755 root 600 root " "... with their modes, set bits too"
now=$(date +%s) mt=$(th_exec 0 stat -c %.9Y /opt/ezk-up/s1)
[ "${mt#*.}" = 000000000 ] && [ $((now - ${mt%.*})) -ge 0 ] && [ $((now - ${mt%.*})) -le 60 ] &&
	pass "... its mtime the second it was written (SFTP's stamp: whole seconds)" || fail "... its mtime the second it was written: $mt (now $now)"
run $ST "$A" upload -M 4755 "$T/s1" /opt/ezk-up/s1b upload -M 4755 "$T/s1" /opt/ezk-up/s1b
like "$out" $'changed=1 sent=1\nchanged=0 sent=0' "sent again in the session that wrote it: known by its stamp, nothing sent"
like "$(th_exec 0 stat -c %.9Y /opt/ezk-up/s1b)" '\.000000000$' "... not hashed (the shell would stamp the nanoseconds)"
ino1=$(th_exec 0 stat -c %i /opt/ezk-up/s1)
run $ST "$A" upload -M 4755 "$T/s1" /opt/ezk-up/s1 upload -M 600 "$T/s2" /opt/ezk-up/s2
like "$out" $'changed=0 sent=0\nchanged=0 sent=0' "in a new session (no stamps kept): unchanged, nothing sent"
is "$(th_exec 0 stat -c %i /opt/ezk-up/s1)" "$ino1" "... not rewritten"
sum1=$(sha256sum "$T/s1" | cut -d' ' -f1)
is "$(th_exec 0 stat -c %.9Y /opt/ezk-up/s1 | cut -d. -f2)" "$(printf '%09d' $((0x${sum1:0:8} % 1000000000)))" \
	"... hashed, and stamped by the shell (the content's stamp in the nanoseconds)"
printf 'small one, v2\n' >"$T/s1"
run $ST "$A" upload -M 4755 "$T/s1" /opt/ezk-up/s1
is "$(th_exec 0 cat /opt/ezk-up/s1) $(th_exec 0 stat -c %a /opt/ezk-up/s1)" "small one, v2 4755" "new content replaces the file"
is "$(th_exec 0 sh -c 'ls -A /opt/ezk-up | grep -c ezk-tmp')" 0 "... no temporary file left"
th_exec 0 mkdir -p /opt/ezk-up/ro
th_exec 0 chattr +i /opt/ezk-up/ro 2>/dev/null
if th_exec 0 sh -c 'touch /opt/ezk-up/ro/x 2>/dev/null'; then
	skip "an immutable directory (chattr +i) is not to be had here"
else
	run $ST "$A" upload "$T/s1" /opt/ezk-up/ro/s1
	is "$rc" 1 "SFTP refusing the write (an immutable directory): the upload fails"
	like "$err" 'cannot write /opt/ezk-up/ro/s1: .*(ermission|not permitted)' "... with the server's reason"
	th_exec 0 chattr -i /opt/ezk-up/ro
fi
run env EZK_SFTP=0 $ST "$A" upload "$T/s2" /opt/ezk-up/s3 exec 'ps -e -o comm= | grep -c "^sftp-server$"'
like "$out" $'changed=1 sent=1\n0\n' "EZK_SFTP=0: written by the shell, no sftp-server"
is "$(th_exec 0 cat /opt/ezk-up/s3)" "$(cat "$T/s2")" "... intact"
# no SFTP on the host (no subsystem; one whose program prints a banner):
# the shell writes the file
for sub in '' 'Subsystem sftp /bin/echo Welcome to this host'; do
	th_exec 1 sh -c "sed -i '/^Subsystem/d' /etc/ssh/sshd_config && ${sub:+echo '$sub' >>/etc/ssh/sshd_config &&} systemctl restart ssh.service"
	run $ST "$B" upload -D -M 640 "$T/s1" /opt/ezk-up/s1 exec 'cat /opt/ezk-up/s1; stat -c %a /opt/ezk-up/s1'
	like "$out" $'changed=1 sent=1\nsmall one, v2\n640' "${sub:-no Subsystem line}: the shell writes the file instead"
	th_exec 1 rm -f /opt/ezk-up/s1
done
th_exec 1 sh -c "sed -i '/^Subsystem/d' /etc/ssh/sshd_config && echo 'Subsystem sftp /usr/lib/openssh/sftp-server' >>/etc/ssh/sshd_config && systemctl restart ssh.service"

# ---- one file to many hosts at once, one session each
head -c 20000000 /dev/urandom >"$T/f20"
run "$EZK_TOOL_DIR/sshmany" upload "$TH_KEY" "$TH_DIR/known_hosts" "$T/f20" /var/tmp/f20 "$A" "$B" "$C"
like "$out" 'sent=3 failed=0' "one file to three hosts in parallel"
sum=$(sha256sum "$T/f20" | cut -d' ' -f1)
is "$(for i in 0 1 2; do th_exec $i sha256sum /var/tmp/f20 | cut -d' ' -f1; done | sort -u)" "$sum" "... intact on every host"
run "$EZK_TOOL_DIR/sshmany" upload "$TH_KEY" "$TH_DIR/known_hosts" "$T/f20" /var/tmp/f20 "$A" "$B" "$C"
like "$out" 'sent=0 failed=0' "... and the second time nothing is sent"

# ---- sshd killed in the middle of a 200 MB upload
head -c 209715200 /dev/urandom >"$T/big"
printf 'old' >"$T/old"
$ST "$C" upload -D "$T/old" /srv/ezk/big.bin >/dev/null
$ST "$C" upload "$T/big" /srv/ezk/big.bin >"$T/up.out" 2>"$T/up.err" &
up=$!
for _ in $(seq 100); do
	th_exec 2 sh -c 'ls -A /srv/ezk | grep -q ezk-tmp' && break
	sleep 0.05
done
th_kill_sshd 2
wait $up
urc=$?
is "$urc" 1 "the upload fails when sshd dies"
like "$(cat "$T/up.err")" 'connection lost|lost|Socket error|disconnected' "... as a lost connection"
is "$(th_exec 2 cat /srv/ezk/big.bin)" old "the destination keeps its old content"
th_exec 2 systemctl restart ssh
for _ in $(seq 50); do th_ssh 2 true 2>/dev/null && break; sleep 0.1; done
run $ST "$C" upload "$T/big" /srv/ezk/big.bin
like "$out" 'changed=1 sent=1' "the next upload sends it whole"
is "$(th_exec 2 sha256sum /srv/ezk/big.bin | cut -d' ' -f1)" "$(sha256sum "$T/big" | cut -d' ' -f1)" "... intact"
is "$(th_exec 2 ls -A /srv/ezk)" "big.bin" "... and the temporary residue is gone"

# ---- unreachable: no sshd, and a silent listener
nossh=$(th_free_port)
run $ST -t 2000 -p "$nossh" 127.0.0.1 exec true
is "$rc" 1 "no sshd at the address: fails"
like "$err" 'Connection refused' "... connection refused"
th_silent_listener
t0=$(date +%s%N)
run $ST -t 1500 -p "$TH_SILENT_PORT" 127.0.0.1 exec true
ms=$((($(date +%s%N) - t0) / 1000000))
kill $TH_SILENT_PID 2>/dev/null
is "$rc" 1 "a listener that never speaks SSH: fails"
[ "$ms" -ge 1400 ] && [ "$ms" -lt 6000 ] && pass "... after the connect timeout (${ms} ms for 1500)" ||
	fail "... after the connect timeout" "$ms ms"

# ---- jump host: reach C through A
run $ST -J "root@$A" "$C" exec 'hostname'
like "$out" "^${TH_NAMES[2]}\$" "through a jump host"
run $ST -t 3000 -J "root@127.0.0.1:$(th_free_port)" "$C" exec 'hostname'
is "$rc" 1 "a dead jump host fails the connection (so the jump is really used)"

done_testing
