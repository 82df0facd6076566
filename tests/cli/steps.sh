# steps.lua is the only place that knows the steps: a step made of steps
# ("90 all"), and the roles' checks (roles/check.lua, roles/<role>/check.lua)
# that `ezk check` runs, and `ezk setup` before any host is touched. Plays
# on localhost: no test host needed.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

local_cluster c1
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/mark" "$R/picky" "$R/grumpy" "$R/other" "$R/uses"
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "a", plays = { { hosts = "localhost", roles = { "mark" } } } },
  { id = "02", alias = "b", plays = { { hosts = "localhost", roles = { "mark" } } } },
  { id = "03", alias = "c", plays = {} },
  { id = "90", alias = "all", steps = { "01", "02", "03" } },
  { id = "91", alias = "twice", steps = { "02", "90" } },
  { id = "92", alias = "picky", plays = { { hosts = "localhost", roles = { "picky/run" } } } },
  { id = "93", alias = "grumpy", plays = { { hosts = "localhost", roles = { "grumpy" } } } },
  { id = "94", alias = "lazy", plays = { { hosts = "localhost", roles = { "other", "uses" } } } },
}
EOF
cat >"$R/mark/main.lua" <<EOF
local f = assert(io.open("$T/ran", "a"))
f:write(ezk.vars.step_note or "mark", "\n")
f:close()
EOF
printf 'ezk.report("picky", "ok", "ran")\n' >"$R/picky/run.lua"
cat >"$R/picky/check.lua" <<'EOF'
-- a role's own check: a warning that points at the inventory's line
ezk.warning(ezk.host_at(ezk.hosts[1]), "picky: host " .. ezk.hosts[1] .. " looks odd")
EOF
printf 'ezk.report("grumpy", "ok", "ran")\n' >"$R/grumpy/main.lua"
cat >"$R/grumpy/check.lua" <<'EOF'
local v, at = ezk.var(ezk.hosts[1], "CLUSTER_NETWORK")
ezk.error(at, "grumpy: CLUSTER_NETWORK " .. v .. " will not do")
EOF

ran() { s=$(cat "$T/ran" 2>/dev/null | wc -l); rm -f "$T/ran"; echo "$s"; }

run "$EZK" setup c1 all
is "$rc" 0 "setup all: exit 0"
is "$(ran)" 2 "all runs the steps steps.lua lists for it (01 and 02)"
like "$out" "step 03 c: no plays yet" "... 03 among them"
run "$EZK" setup c1 90
is "$(ran)" 2 "90 runs the same steps as all"
like "$out" "step 03 c: no plays yet" "... 03 among them"
run "$EZK" setup c1 twice
is "$(ran)" 2 "a step named twice (02, and in 90) runs once"
run "$EZK" setup c1 01-91
is "$rc" 0 "a range over steps made of steps"
unlike "$err" "error" "... no error"

# the real steps.lua: 90 and all are one step made of 01..07
R2=$EZK_SRC/roles/steps.lua
like "$(grep -E 'id = "90"' "$R2")" 'alias = "all", steps = \{ "01", "02", "03", "04", "05", "06", "07" \}' \
	"roles/steps.lua: 90 all is 01..07, in steps.lua, not in the engine"

# ---- a step id or alias named twice is refused (it used to run the first)
cp "$R/steps.lua" "$T/steps.good"
sed -i 's/{ id = "02", alias = "b"/{ id = "01", alias = "b"/' "$R/steps.lua"
run "$EZK" setup c1 a
is "$rc" 2 "two steps with the id 01: exit 2"
like "$err" "steps.lua: steps 1 and 2 are both named '01'" "... naming both"
cp "$T/steps.good" "$R/steps.lua"
sed -i 's/{ id = "03", alias = "c"/{ id = "03", alias = "a"/' "$R/steps.lua"
run "$EZK" setup c1 02
like "$err" "steps.lua: steps 1 and 3 are both named 'a'" "an alias named twice too"
cp "$T/steps.good" "$R/steps.lua"

# ---- the roles' checks before a step runs
run "$EZK" setup c1 picky --json
is "$rc" 0 "a role's check.lua warning does not stop its step"
like "$out" '^\{"event":"check","level":"warning","msg":"[^"]*/hosts:2: warning: picky: host 127.0.0.9 looks odd"\}' \
	"... it is a check event, pointing at the inventory line"
like "$out" '"task":"picky","host":"localhost","status":"ok","msg":"ran"' "... and the step ran"
run "$EZK" setup c1 picky
like "$err" "hosts:2: warning: picky: host 127.0.0.9 looks odd" "without --json: on stderr as 'ezk check' says it"
run "$EZK" setup c1 grumpy
is "$rc" 2 "a role's check.lua error: exit 2"
like "$err" "hosts:[0-9]+: error: grumpy: CLUSTER_NETWORK calico will not do" "... the error, with its file:line"
like "$err" "1 error in the roles' checks: nothing was run" "... and nothing ran"
unlike "$out" "ran" "... the role did not run"
run "$EZK" setup c1 a
unlike "$err" "picky|grumpy" "only the checks of the roles of the steps run"

# ---- a variable that cannot be evaluated fails where it is used (Ansible
# evaluates lazily): kubeasz's example config.yml with a placeholder left in
printf 'ezk.report("network", "ok", ezk.vars.CLUSTER_NETWORK)\n' >"$R/other/main.lua"
printf '\nezk.report("calico", "ok", ezk.vars.calico_ver_main)\n' >"$R/uses/main.lua"
cp "$EZK_HOME/clusters/c1/config.yml" "$T/config.good"
cat >>"$EZK_HOME/clusters/c1/config.yml" <<'EOF'
calico_ver: "__calico__"
calico_ver_main: "{{ calico_ver.split('.')[0] }}.{{ calico_ver.split('.')[1] }}"
EOF
bad_line=$(grep -n '^calico_ver_main:' "$EZK_HOME/clusters/c1/config.yml" | cut -d: -f1)
run "$EZK" setup c1 lazy --json
is "$rc" 1 "setup: the host that uses it fails (exit 1), not the run (exit 2)"
like "$out" '"task":"network","host":"localhost","status":"ok","msg":"calico"' "a task that does not use it runs"
like "$out" "\"status\":\"failed\",\"msg\":\"$R/uses/main.lua:2: [^\"]*config.yml:$bad_line: " \
	"the task that uses it fails, naming the role's line and the variable's file:line"
run "$EZK" inventory c1 --host 127.0.0.9
is "$rc" 1 "inventory --host: exit 1"
like "$err" "config.yml:$bad_line: " "... naming the variable it cannot evaluate"
like "$out" '"CLUSTER_NETWORK": "calico"' "... and showing every other"
cp "$T/config.good" "$EZK_HOME/clusters/c1/config.yml"

# ---- ezk check runs every check.lua
run "$EZK" check c1
is "$rc" 2 "ezk check: a role's error: exit 2"
like "$err" "hosts:2: warning: picky: host 127.0.0.9 looks odd" "ezk check runs every role's check.lua"
like "$err" "error: grumpy: CLUSTER_NETWORK calico" "... errors too"
printf 'local x = nil\nx.y = 1\n' >"$R/grumpy/check.lua"
run "$EZK" check c1
is "$rc" 2 "a check.lua with a Lua error: exit 2"
like "$err" "grumpy/check.lua:2: .*attempt to index a nil value" "... said with its file:line"

# ---- CLUSTER_NETWORK's values are Lua's (roles/check.lua): a new one is a
# Lua change; here a roles folder of the test's own adds one
printf 'CLUSTER_NETWORK: "weave"\n' >>"$EZK_HOME/clusters/c1/config.yml"
rm -f "$R/grumpy/check.lua"
EZK_ROLES=$EZK_SRC/roles run "$EZK" check c1
like "$err" "error: CLUSTER_NETWORK 'weave' is not supported" "weave is not a CLUSTER_NETWORK roles/check.lua knows"
sed 's/local NETWORKS = { "calico"/local NETWORKS = { "weave", "calico"/' "$EZK_SRC/roles/check.lua" >"$R/check.lua"
run "$EZK" check c1
unlike "$err" "CLUSTER_NETWORK" "the same ezk accepts it once a check.lua on the roles path lists it"

# ezk's own steps.lua: the steps that change the cluster's hosts or its
# certificates end with step 06's plays (the pod network follows them:
# host-gw's routes to a new node, calico's etcd certificate after a new CA),
# kca-renew after each of its three phases
if command -v lua5.4 >/dev/null; then
	is "$(lua5.4 - "$EZK_SRC/roles/steps.lua" <<'EOF'
local steps = dofile(arg[1])
local by = {}
for _, s in ipairs(steps) do by[s.alias] = s end
local function key(p) return p.hosts .. "=" .. table.concat(p.roles, ",") end
local net = {}
for _, p in ipairs(by.network.plays) do net[#net + 1] = key(p) end
local out = {}
for _, a in ipairs({ "add-node", "add-master", "del-node", "del-master", "kca-renew" }) do
  local plays, n = by[a].plays, 0
  for i = 1, #plays - #net + 1 do
    local ok = true
    for j = 1, #net do if key(plays[i + j - 1]) ~= net[j] then ok = false break end end
    if ok then n = n + 1 end
  end
  out[#out + 1] = a .. ":" .. n
end
print(#net .. " " .. table.concat(out, " "))
EOF
)" "3 add-node:1 add-master:1 del-node:1 del-master:1 kca-renew:3" \
		"steps.lua: add-node, add-master, del-node, del-master run step 06's plays, kca-renew after each phase"
else
	skip "lua5.4 (Debian's) is not installed"
fi

done_testing
