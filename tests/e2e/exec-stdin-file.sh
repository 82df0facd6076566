# The host API's ezk.exec{stdin_file}: a file of the deploy node streamed as a
# command's stdin, over SSH (a test host) and on the deploy node (a play on
# localhost): 3 MB with NUL bytes whole, a command that reads part of it and
# the session after it, an empty file, a missing file or a directory refused
# as the role's error (not a lost host), not together with stdin, the command
# module passing it on, and --check not running that command.
# (containerd/images streams its archives this way: e2e/images.)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home

th_start 1 || { fail "a test host starts"; done_testing; exit 1; }
A=${TH_ADDRS[0]}
"$EZK" new c >/dev/null
cat >"$EZK_HOME/clusters/c/hosts" <<EOF
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=root
EOF

{ printf 'head\0' && head -c 3000000 /dev/urandom && printf '\0\0tail\n'; } >"$T/blob"
sum=$(sha256sum <"$T/blob" | cut -d' ' -f1)
R=$T/roles
mkdir -p "$R/stream"
cat >"$R/steps.lua" <<'EOF'
return { { id = "01", alias = "stream", plays = {
  { hosts = "kube_master", roles = { "stream" } }, { hosts = "localhost", roles = { "stream" } } } } }
EOF
cat >"$R/stream/main.lua" <<EOF
local f = "$T/blob"
local r = ezk.exec("sha256sum | cut -d' ' -f1", { stdin_file = f })
ezk.report("whole", r.rc == 0 and "ok" or "failed", ezk.trim(r.stdout))
r = ezk.exec("head -c 5 | od -An -c | tr -s ' '", { stdin_file = f })
ezk.report("part", "ok", ezk.trim(r.stdout) .. "; then " .. ezk.trim(ezk.exec("echo next").stdout))
r = ezk.exec("wc -c", { stdin_file = "$T/empty" })
ezk.report("empty", "ok", ezk.trim(r.stdout))
local ok, e = pcall(ezk.exec, "cat", { stdin_file = f .. ".missing" })
ezk.report("missing", ok and "failed" or "ok", tostring(e))
ok, e = pcall(ezk.exec, "cat", { stdin_file = "$T" })
ezk.report("directory", ok and "failed" or "ok", tostring(e))
ok, e = pcall(ezk.exec, "cat", { stdin = "x", stdin_file = f })
ezk.report("both", ok and "failed" or "ok", tostring(e))
command { title = "command", stdin_file = f, changed_when = false,
  cmd = "cat > /tmp/ezk-streamed && [ \"\$(sha256sum < /tmp/ezk-streamed | cut -d' ' -f1)\" = $sum ] && rm /tmp/ezk-streamed" }
EOF
: >"$T/empty"
EZK_ROLES=$R:$EZK_SRC/roles ev_setup stream c 01
is "$rc" 0 "stdin_file: exit 0"
for h in "$A" localhost; do
	is "$(msg "$h" whole)" "$sum" "stdin_file, $h: 3 MB with NUL bytes reach the command whole"
	is "$(msg "$h" part)" 'h e a d \0; then next' "stdin_file, $h: a command that reads part of it, and the session goes on"
	is "$(msg "$h" empty)" 0 "stdin_file, $h: an empty file is an empty stdin"
	like "$(msg "$h" missing)" "stdin_file $T/blob.missing: No such file or directory" "stdin_file, $h: a missing file is the role's error"
	like "$(msg "$h" directory)" "stdin_file $T: not a regular file" "stdin_file, $h: a directory is refused"
	like "$(msg "$h" both)" "stdin and stdin_file are exclusive" "stdin_file, $h: not with stdin"
	is "$(st "$h" command)" ok "stdin_file, $h: the command module passes it on (the bytes whole)"
done
EZK_ROLES=$R:$EZK_SRC/roles ev_setup streamcheck c 01 --check
like "$(msg "$A" command)" "^would run: cat > /tmp/ezk-streamed" "stdin_file under --check: the command does not run"

done_testing
