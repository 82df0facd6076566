# One namespace for Lua (roles/lib/README.md): a role or module sees the
# module functions, `ezk` and Lua's standard library, nothing else.
#  - statically: luac's listing of every role and module file (and the
#    bench's role) reads no global but those and assigns none;
#  - at run time, in plays on localhost (no test host needed): the globals a
#    host's Lua state has after the library and the deploy role; a role that
#    assigns a global, or reads an old name, fails at its line;
#    debug.traceback works; ezk.shared lives from one play to the next.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

# Lua 5.4's own globals (the reference manual, 6.1-6.10): untouched.
STD="_G _VERSION assert collectgarbage coroutine debug dofile error getmetatable io ipairs load
loadfile math next os package pairs pcall print rawequal rawget rawlen rawset require select
setmetatable string table tonumber tostring type utf8 warn xpcall"
# The module functions: every module roles/lib/README.md lists.
MODULES=$(awk '/^## The modules/ { on = 1; next } /^## / { on = 0 } on && /^\| `/' \
	"$EZK_SRC/roles/lib/README.md" | cut -d'|' -f2 | grep -o '`[a-z_]*`' | tr -d '`' | sort -u)
[ -n "$MODULES" ] || fail "roles/lib/README.md lists the modules"
# each in the file the README names, a file named after one of its modules
rows=$(awk '/^## The modules/ { on = 1; next } /^## / { on = 0 } on && /^\| `/' "$EZK_SRC/roles/lib/README.md")
misplaced=$(printf '%s\n' "$rows" | while IFS='|' read -r _ mods file _; do
	file=$(echo $file)
	names=$(printf '%s' "$mods" | grep -o '`[a-z_]*`' | tr -d '`')
	for m in $names; do
		grep -q "^ezk.module(\"$m\"" "$EZK_SRC/roles/lib/$file" 2>/dev/null || echo "$m not in $file"
	done
	printf '%s\n' $names | grep -qx "${file%.lua}" || echo "$file is named after none of its modules"
done)
is "$misplaced" "" "every module is in the file roles/lib/README.md names, named after it"
listed=$(printf '%s\n' "$rows" | cut -d'|' -f3 | tr -d ' ' | sort -u | paste -sd' ')
helpers=$(awk '/^## The helper files/ { on = 1; next } /^## / { on = 0 } on && /^\| [a-z_]*\.lua/' \
	"$EZK_SRC/roles/lib/README.md" | cut -d'|' -f2 | tr -d ' ')
is "$listed" "$(cd "$EZK_SRC/roles/lib" && ls *.lua | grep -vx task.lua | grep -vxF "$helpers" | paste -sd' ')" \
	"... and every module file is listed (the helper files in their own table)"
unlike "$(for f in $helpers; do grep -l '^ezk.module(' "$EZK_SRC/roles/lib/$f"; done 2>&1)" . "the helper files define no module"

# ---- static: luac -l lists every global read (GETTABUP _ENV "x") and write
LUAC=$(command -v luac5.4 || true)
if [ -z "$LUAC" ]; then
	skip "luac5.4 (Debian's lua5.4) is not installed"
else
	allowed=" $(echo $STD $MODULES) ezk "
	files=$(cd "$EZK_SRC" && ls roles/*.lua roles/*/*.lua tests/bench/workload/roles/*/*.lua)
	writes="" reads=""
	for f in $files; do
		listing=$("$LUAC" -p -l -l "$EZK_SRC/$f" 2>&1) || { fail "$f compiles" "$listing"; continue; }
		w=$(printf '%s\n' "$listing" | awk -v f="$f" '$3 == "SETTABUP" && /_ENV "/ {
			l = $2; gsub(/[][]/, "", l); n = $0; sub(/.*_ENV "/, "", n); sub(/".*/, "", n); print f ":" l ": " n }')
		r=$(printf '%s\n' "$listing" | awk -v f="$f" -v ok="$allowed" '$3 == "GETTABUP" && /_ENV "/ {
			l = $2; gsub(/[][]/, "", l); n = $0; sub(/.*_ENV "/, "", n); sub(/".*/, "", n)
			if (index(ok, " " n " ") == 0) print f ":" l ": " n }')
		[ -n "$w" ] && writes="$writes$w"$'\n'
		[ -n "$r" ] && reads="$reads$r"$'\n'
	done
	is "$writes" "" "no role or module assigns a global ($(echo $files | wc -w) files)"
	is "$reads" "" "no role or module reads a global but a module, ezk or Lua's own"
	# the check itself sees a leak and an old name
	printf 'LEAK = 1\nlocal x = vars.K8S_VER\n' >"$T/leak.lua"
	listing=$("$LUAC" -p -l -l "$T/leak.lua")
	like "$listing" 'SETTABUP.*_ENV "LEAK"' "luac's listing shows a global assigned"
	like "$listing" 'GETTABUP.*_ENV "vars"' "... and a global read"
fi

# ---- at run time: plays on localhost
local_cluster c1
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/globals" "$R/leak" "$R/oldname" "$R/trace" "$R/keep"
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "globals", plays = {
    { hosts = "localhost", roles = { "deploy", "globals" } } } },
  { id = "02", alias = "leak", plays = { { hosts = "localhost", roles = { "leak" } } } },
  { id = "03", alias = "oldname", plays = { { hosts = "localhost", roles = { "oldname" } } } },
  { id = "04", alias = "trace", plays = { { hosts = "localhost", roles = { "trace" } } } },
  { id = "05", alias = "keep", plays = {
    { hosts = "localhost", roles = { "keep" } },
    { hosts = "localhost", roles = { "keep/read" } } } },
}
EOF
cat >"$R/globals/main.lua" <<'EOF'
local names = {}
for k in pairs(_G) do names[#names + 1] = tostring(k) end
table.sort(names)
ezk.report("globals", "ok", table.concat(names, " "))
ezk.report("modules", "ok", table.concat(ezk.modules(), " "))
EOF
cat >"$R/leak/main.lua" <<'EOF'
local ok = 1
LEAKED = ok -- line 2
EOF
cat >"$R/oldname/main.lua" <<'EOF'
-- a role written against the names before the ezk namespace
copy { dest = "/nonexistent", content = vars.K8S_VER } -- line 2
EOF
cat >"$R/trace/main.lua" <<'EOF'
ezk.report("traceback", "ok", (debug.traceback("where", 1):gsub("\n", " ")))
ezk.report("debug library", "ok", type(debug.getinfo) .. " " .. type(ezk.debug))
EOF
cat >"$R/keep/main.lua" <<'EOF'
ezk.shared.keep = { note = "from the first play" }
EOF
cat >"$R/keep/read.lua" <<'EOF'
ezk.report("shared", "ok", ezk.shared.keep and ezk.shared.keep.note or "nothing")
EOF
msg_of() { printf '%s\n' "$out" | $PY -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("event") == "task" and e["task"] == sys.argv[1]:
        print(e["msg"])' "$1"; }

run "$EZK" setup c1 globals --json
is "$rc" 0 "the deploy role and a role listing the globals run on localhost"
got=$(msg_of globals | tr ' ' '\n' | LC_ALL=C sort | paste -sd' ')
want=$(printf '%s\n' $STD ezk $MODULES | LC_ALL=C sort -u | paste -sd' ')
is "$got" "$want" "the globals: Lua's own, ezk and the module functions, nothing else"
is "$(msg_of modules)" "$(echo $MODULES)" "the modules defined are the ones roles/lib/README.md lists"
missing=$(echo $STD | tr ' ' '\n' | grep -vxF -f <(msg_of globals | tr ' ' '\n') | paste -sd' ')
is "$missing" "" "every global of Lua's own is still there"

run "$EZK" setup c1 leak --json
is "$rc" 1 "a role that assigns a global fails"
like "$out" "\"msg\":\"$R/leak/main.lua:2: assignment to the global 'LEAKED'" "... at its line, naming the global"

run "$EZK" setup c1 oldname --json
is "$rc" 1 "a role using a name from before the namespace fails"
like "$out" "\"msg\":\"$R/oldname/main.lua:2: no global 'vars' \\(it is ezk.vars now\\)" "... at its line, saying the new name"

run "$EZK" setup c1 trace --json
is "$rc" 0 "debug.traceback inside a role"
like "$(msg_of traceback)" "^where stack traceback: .*trace/main.lua:1" "debug.traceback is Lua's, and names the role's line"
is "$(msg_of 'debug library')" "function function" "Lua's debug library and ezk.debug, side by side"

run "$EZK" setup c1 keep --json
is "$(msg_of shared)" "from the first play" "ezk.shared: what a role keeps is there in its later phase's play"

done_testing
