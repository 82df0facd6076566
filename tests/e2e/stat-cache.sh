# The stat cache (ssh/shell.c, core/statcache.c): a rerun's file checks
# read their stat from one stat(1) the resident shell took of every path
# the run before checked (clusters/<c>/logs/.stat-paths), so twelve
# unchanged file, copy and stat checks cost the host a process or two, not
# twelve; and the cache is never wrong where it matters: a change ezk makes
# in the middle of a run (a command, on the login shell or through sudo's
# shell) is seen by the next check, a change made between two runs is seen
# by the second (with --persist too, whose kept shell still holds the first
# run's cache), paths the cache cannot hold (a | in the name) and a record
# full of garbage change nothing. Files written through SFTP are known by
# the stamp recorded in logs/.stamps, and without it by their hash. One
# test host.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
unset EZK_PERSIST

th_start 1 || { fail "1 test host starts"; done_testing; exit 1; }
A=${TH_ADDRS[0]}
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cat >"$CD/hosts" <<EOF
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=root
EOF
R=$T/roles
mkdir -p "$R/files" "$R/mid" "$R/sudo"
export EZK_ROLES=$R:$EZK_SRC/roles
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "files", plays = { { hosts = "kube_master", roles = { "files" } } } },
  { id = "02", alias = "mid", plays = { { hosts = "kube_master", roles = { "mid" } } } },
  { id = "03", alias = "sudo", plays = { { hosts = "kube_master", roles = { "sudo" } } } },
}
EOF
# twelve checks that read the cache: 4 directories, 6 uploads, a touched
# file and an ezk.stat; and a path with a | (never cached)
cat >"$R/files/main.lua" <<'EOF'
local D = "/srv/sc"
for _, d in ipairs({ "", "/a", "/b", "/c" }) do file { path = D .. d, state = "directory", mode = "0755" } end
for i = 1, 6 do copy { dest = D .. "/a/f" .. i, content = "file " .. i .. "\n", mode = "0644" } end
file { path = D .. "/b/stamp", state = "touch", mode = "0600" }
local s = ezk.stat(D .. "/c")
ezk.report("stat " .. D .. "/c", "ok", s and (s.type .. " " .. s.mode) or "missing")
copy { title = "bar", dest = D .. "/c/a|b", content = "bar\n", mode = "0644" }
EOF
# a change in the middle of a run: a command changes a mode the cache held;
# the check after it must see it
cat >"$R/mid/main.lua" <<'EOF'
local D = "/srv/sc"
copy { title = "before", dest = D .. "/a/f1", content = "file 1\n", mode = "0644" }
command { title = "chmod", cmd = "chmod 600 " .. D .. "/a/f1" }
copy { title = "after", dest = D .. "/a/f1", content = "file 1\n", mode = "0644" }
EOF
# the same across a host's two shells: bob logs in, the checks run through
# sudo's shell (become), the command in bob's own (become = false)
cat >"$R/sudo/main.lua" <<'EOF'
local F = "/home/bob/sc"
copy { title = "before", dest = F, content = "bob\n", mode = "0644", owner = "bob" }
copy { title = "again", dest = F, content = "bob\n", mode = "0644", owner = "bob" }
command { title = "chmod as bob", cmd = "chmod 600 " .. F, become = false }
copy { title = "after", dest = F, content = "bob\n", mode = "0644", owner = "bob" }
EOF

procs_of() { # NAME: the host processes of the file role's tasks, summed
	/usr/bin/python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "task" and e.get("role") == "files" and e.get("procs", -1) >= 0:
        n += e["procs"]
print(n)' "$T/$1.json"
}

ev_setup first c 01
is "$(ev_failed_any first)" "" "the first run has no failure"
c1=$(ev_changed first "$A")
if [ "${c1:-0}" -ge 12 ]; then pass "the first run makes the files (changed=$c1)"; else fail "the first run makes the files (changed=$c1)"; fi
rec=$CD/logs/.stat-paths
is "$(awk -F'\t' -v h="$A" '$1 == h { print $2 }' "$rec" | sort | tr '\n' ' ')" \
	"/srv/sc/a/f1 /srv/sc/a/f2 /srv/sc/a/f3 /srv/sc/a/f4 /srv/sc/a/f5 /srv/sc/a/f6 /srv/sc/b/stamp /srv/sc/c " \
	"the record holds every path the run checked through the shell, once, and not the one with a | (the directories: through SFTP, no stat)"
is "$(stat -c %a "$rec")" 600 "the record is the user's own (0600)"

EZK_STATS=1 ev_setup again c 01
is "$(ev_changed again "$A")" 0 "the rerun changes nothing"
is "$(ev_msg again "$A" "stat /srv/sc/c")" "directory 0755" "ezk.stat reads the directory from the cache"
n=$(procs_of again)
if [ -n "$n" ] && [ "$n" -le 4 ]; then pass "twelve unchanged checks cost the host $n processes (one stat of them all; twelve without the cache)"
else fail "twelve unchanged checks cost the host at most 4 processes (one stat of them all), not $n"; fi

# the files SFTP wrote (ssh/sftp.c) carry a whole-second mtime, recorded in
# logs/.stamps: the rerun knew them by it (no hash: the count above), and
# left them as they were
srec=$CD/logs/.stamps
is "$(awk -F'\t' -v h="$A" '$1 == h { split($2, w, " "); print w[3] }' "$srec" | sort | grep -c '^/srv/sc/a/f[1-6]$')" 6 \
	"the six uploads' stamps are recorded"
is "$(stat -c %a "$srec")" 600 "... the record is the user's own (0600)"
sha=$(printf 'file 1\n' | sha256sum | cut -d' ' -f1)
secs=$(awk -F'\t' -v h="$A" '$1 == h { split($2, w, " "); if (w[3] == "/srv/sc/a/f1") print w[1], w[2] }' "$srec")
is "${secs% *}" "$sha" "... with the content's sha256"
is "$(th_exec 0 stat -c '%.9Y' /srv/sc/a/f1)" "${secs#* }.000000000" "... and the file's mtime, to the nanosecond"
# without the record: each such file is hashed once, found the same, and
# stamped by the shell (the content's stamp in the nanoseconds)
mv "$srec" "$T/stamps.saved"
EZK_STATS=1 ev_setup nostamps c 01
is "$(ev_failed_any nostamps),$(ev_changed nostamps "$A")" ",0" "without the stamps' record: nothing changes"
n=$(procs_of nostamps)
if [ -n "$n" ] && [ "$n" -ge 7 ]; then pass "... each SFTP-written file is hashed and stamped instead ($n processes)"
else fail "... each SFTP-written file is hashed and stamped instead (want at least 7 processes, got $n)"; fi
is "$(th_exec 0 stat -c '%.9Y' /srv/sc/a/f1 | cut -d. -f2)" "$(printf '%09d' $((0x${sha:0:8} % 1000000000)))" \
	"... the content's stamp in the nanoseconds"
# a record of garbage: ignored line by line
printf '%s\n' "$A	$sha 12 /srv/sc/a/f1" "$A	nothex 1 /srv/sc/a/f2" "$A	$sha x /srv/sc/a/f3" "$A" "junk" \
	"$A	$sha 1 relative" "other-host	$sha 1 /srv/sc" >"$srec"
EZK_STATS=1 ev_setup badstamps c 01
is "$(ev_failed_any badstamps),$(ev_changed badstamps "$A")" ",0" "a stamps record of garbage (or a stale stamp): the run is as without it"
is "$(grep -c "^other-host	$sha 1 /srv/sc\$" "$srec")" 1 "... a host the run did not reach keeps its lines"

# changes between runs: each is seen (a new session: the seed's stat is new)
th_exec 0 sh -c 'chmod 600 /srv/sc/a/f2 && chmod 700 /srv/sc/a && printf x >>/srv/sc/a/f3 && rm /srv/sc/b/stamp'
ev_setup between c 01
is "$(ev_titles between "$A" changed)" \
	"copy /srv/sc/a/f2,copy /srv/sc/a/f3,file /srv/sc/a,file /srv/sc/b/stamp" \
	"a mode, a directory's mode, content and a removed file changed between runs are each put back"
is "$(th_exec 0 sh -c 'stat -c %a /srv/sc/a /srv/sc/a/f2 /srv/sc/b/stamp; cat /srv/sc/a/f3' | tr '\n' ' ')" \
	"755 644 600 file 3 " "the host is as the role says"

ev_setup mid c 02
is "$(ev_failed_any mid)" "" "the run with changes in its middle has no failure"
is "$(st "$A" before),$(st "$A" after)" "ok,changed" "a command's chmod in the middle of the run is seen by the next check"

th_adduser 0 bob 'pw-Bob-5cq2' --sudo || fail "adduser bob"
"$EZK" new cb >/dev/null
cat >"$EZK_HOME/clusters/cb/hosts" <<EOF
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=bob
ansible_password=pw-Bob-5cq2
ansible_become=true
ansible_become_password=pw-Bob-5cq2
EOF
ev_setup sudo cb 03
is "$(ev_failed_any sudo)" "" "a run as bob through sudo has no failure"
is "$(st "$A" before),$(st "$A" again),$(st "$A" after)" "changed,ok,changed" \
	"a change made in the login shell is seen by the next check in sudo's shell"
is "$(th_exec 0 stat -c '%a %U' /home/bob/sc)" "644 bob" "... and put back"

# --persist: the kept shell holds the first run's cache (within its 5 s);
# the next run must not read it
ev_setup p1 c 01 --persist 30
is "$(ev_changed p1 "$A")" 0 "a run with --persist: nothing to change"
th_exec 0 chmod 711 /srv/sc/a/f4
ev_setup p2 c 01 --persist 30
like "$(cat "$(ls -t "$CD"/logs/*.log | head -n 1)")" "$A the session ezk's agent kept from an earlier run" "the second run has the kept session"
is "$(ev_titles p2 "$A" changed)" "copy /srv/sc/a/f4" "and sees the change made since, not the kept shell's cache"
pkill -f "ezk __agent $CD" || true

# a record of garbage: ignored line by line
printf '%s\n' "$A	relative/path" "$A	/srv/sc/c/a|b" "$A" "garbage" "$A	/nonexistent/x" \
	"$A	$(head -c 3000 /dev/zero | tr '\0' a)" "other-host	/srv/sc" >"$rec"
EZK_STATS=1 ev_setup garbage c 01
is "$(ev_failed_any garbage),$(ev_changed garbage "$A")" ",0" "a record of garbage: the run is as without it"
is "$(grep -c "^other-host	/srv/sc\$" "$rec")" 1 "a host the run did not reach keeps its lines"
is "$(awk -F'\t' -v h="$A" '$1 == h && ($2 !~ /^\// || $2 ~ /[|]/ || length($2) > 1000)' "$rec")" "" \
	"the record keeps no line a seed cannot hold"
done_testing
