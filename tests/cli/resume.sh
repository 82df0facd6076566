# --resume and refs/ezk/applied tell the truth (issue 12, finding 2): resume
# starts from what the last run with the same inventory and config left
# undone and never skips a step whose inputs changed since it was done; the
# applied ref means "every host has this" and moves only after a run that
# covered every host with every task and succeeded. Plays on the deploy node
# only (localhost): no test host is needed.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/name" "$R/slow"
cat >"$R/steps.lua" <<'EOF2'
return {
  { id = "01", alias = "name", plays = { { hosts = "localhost", roles = { "name" } } } },
  { id = "02", alias = "slow", plays = { { hosts = "localhost", roles = { "slow" } } } },
}
EOF2
# name: writes the inventory's node name into a file, as step 01 sets the
# hostname from k8s_nodename
cat >"$R/name/main.lua" <<'EOF2'
copy { dest = ezk.vars.out, content = tostring(ezk.vars.groups.kube_node and ezk.vars.hostvars[ezk.vars.groups.kube_node[1]].k8s_nodename) .. "\n" }
EOF2
cat >"$R/slow/main.lua" <<'EOF2'
command { cmd = "touch " .. ezk.vars.gate .. ".in; while [ ! -e " .. ezk.vars.gate .. ".go ]; do sleep 0.05; done", changed_when = false }
command { cmd = "true", changed_when = false }
EOF2
wait_for() {
	local i=0
	while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$1" ]
}
local_cluster c
D=$EZK_HOME/clusters/c
H=$D/hosts
O=$T/name
G=$T/gate
touch "$G.go"
applied() { git -C "$D" rev-parse -q --verify refs/ezk/applied 2>/dev/null || echo none; }

sed -i "s/^k8s_nodename=.*/k8s_nodename='old'/" "$H"
run "$EZK" setup c 01-02 -e out="$O" -e gate="$G"
is "$rc" 0 "a first run of 01-02"
is "$(cat "$O")" "old" "... names the node 'old'"
a1=$(applied)
run "$EZK" setup c 01-02 --resume -e out="$O" -e gate="$G"
like "$out" "resume: every step was done" "--resume right after: every step was done"

# the edit, then a run of 01-02 stopped in step 01: --resume must not say done
sed -i "s/^k8s_nodename=.*/k8s_nodename='new'/" "$H"
rm -f "$G.go" "$G.in"
mkdir -p "$R/slowfirst"
cat >"$R/slowfirst/main.lua" <<'EOF2'
command { cmd = "touch " .. ezk.vars.gate .. ".in; while [ ! -e " .. ezk.vars.gate .. ".go ]; do sleep 0.05; done", changed_when = false }
copy { dest = ezk.vars.out, content = tostring(ezk.vars.hostvars[ezk.vars.groups.kube_node[1]].k8s_nodename) .. "\n" }
EOF2
cp "$R/steps.lua" "$T/steps.orig"
sed -i 's/roles = { "name" }/roles = { "slowfirst" }/' "$R/steps.lua"
"$EZK" setup c 01-02 -e out="$O" -e gate="$G" >/dev/null 2>&1 &
pid=$!
wait_for "$G.in" || fail "the run reaches step 01"
kill -9 "$pid"
wait "$pid" 2>/dev/null
touch "$G.go"
cp "$T/steps.orig" "$R/steps.lua"
is "$(cat "$O")" "old" "the killed run did not rename the node"
run "$EZK" setup c 01-02 --resume -e out="$O" -e gate="$G"
is "$rc" 0 "--resume after the killed run: exit 0"
like "$out" "resume: starting at step 01" "... starts at step 01, which the edit changed"
is "$(cat "$O")" "new" "... and the node gets its new name"

# a step done with other inputs is not done: edit, then --resume
sed -i "s/^k8s_nodename=.*/k8s_nodename='newer'/" "$H"
run "$EZK" setup c 01-02 --resume -e out="$O" -e gate="$G"
like "$out" "resume: starting at step 01: hosts, config.yml, -e, --limit or tags changed since it was done" "an edit since the last run: --resume starts at step 01 and says why"
is "$(cat "$O")" "newer" "... and applies it"
sed -i "s/^k8s_nodename=.*/k8s_nodename='newer2'/" "$H"
run "$EZK" setup c 01-02 --resume -e out="$O" -e gate="$G" -e extra=1
like "$out" "resume: starting at step 01" "other -e values: --resume starts at step 01"

# a run interrupted in step 02 (before its second task) resumes at step 02
# (01 was done with these inputs)
rm -f "$G.go" "$G.in"
"$EZK" setup c 01-02 -e out="$O" -e gate="$G" >/dev/null 2>&1 &
pid=$!
wait_for "$G.in" || fail "the run reaches step 02"
kill -INT "$pid"
sleep 0.2
touch "$G.go"
wait "$pid"
is "$?" 130 "a run interrupted in step 02 exits 130"
run "$EZK" setup c 01-02 --resume -e out="$O" -e gate="$G"
like "$out" "resume: starting at step 02: its last run did not finish it" "--resume then starts at step 02"

# ---- refs/ezk/applied moves only when every host has the edit
a2=$(applied)
[ "$a2" != none ] && [ "$a2" != "$a1" ] && pass "a full successful run moves refs/ezk/applied" || fail "a full successful run moves refs/ezk/applied" "$a1 $a2"
run "$EZK" diff c
like "$out" "^no edits since the last setup" "ezk diff: nothing pending"
# a second host; a -l run on one host does not apply the edit to every host
cat >>"$H" <<'EOF2'
[kube_node]
127.0.0.10
EOF2
run "$EZK" setup c 01 -l 127.0.0.9 -e out="$O"
is "$rc" 0 "a -l run on one of two hosts: exit 0"
is "$(applied)" "$a2" "... refs/ezk/applied stays"
run "$EZK" diff c
like "$out" '^\+127\.0\.0\.10$' "... ezk diff still shows the edit"
like "$(git -C "$D" log -1 --format=%B | tr '\n' ' ')" "setup 01 -l 127.0.0.9: .*Not marked applied" "... the history says why"
run "$EZK" setup c 01 -t nothing -e out="$O"
is "$(applied)" "$a2" "a run with -t: refs/ezk/applied stays"
run "$EZK" setup c 01 -e out="$O"
[ "$(applied)" != "$a2" ] && pass "a run on every host moves it" || fail "a run on every host moves it"
run "$EZK" diff c
like "$out" "^no edits since the last setup" "... and ezk diff has nothing pending"
done_testing
