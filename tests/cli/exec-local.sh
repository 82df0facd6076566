# ezk.exec_local (core/luadeploy.c): a program on the deploy node, no
# shell, from a play on localhost: a path runs as given, a bare name is
# looked up in PATH (cluster-backup's `install -d` and `rm -f`, which
# never ran before: posix_spawn took "rm" as a path), a program that
# cannot run is rc 127 with why, and the output and exit status come back.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

local_cluster c
R=$T/roles
mkdir -p "$R/exec"
cat >"$R/steps.lua" <<'LUA'
return { { id = "01", alias = "exec", plays = { { hosts = "localhost", roles = { "exec" } } } } }
LUA
cat >"$R/exec/main.lua" <<LUA
local out = assert(io.open("$T/exec.out", "w"))
local function show(argv)
  local r = ezk.exec_local(argv)
  out:write(table.concat(argv, " "), " => ", r.rc, " [", (r.stdout or ""):gsub("\n", "|"), "] [",
            (r.stderr or ""):gsub("\n", "|"), "]\n")
end
show({ "/bin/echo", "by path" })
show({ "echo", "by name" })
show({ "install", "-d", "-m", "0700", "$T/made" })
show({ "sh", "-c", "echo out; echo err >&2; exit 3" })
show({ "ezk-no-such-program" })
show({ "./ezk-no-such-program" })
out:close()
LUA
export EZK_ROLES=$R:$EZK_SRC/roles
run "$EZK" setup c 01
is "$rc" 0 "a play on localhost runs programs with ezk.exec_local"
is "$(sed -n 1p "$T/exec.out")" "/bin/echo by path => 0 [by path|] []" "a path runs as given"
is "$(sed -n 2p "$T/exec.out")" "echo by name => 0 [by name|] []" "a bare name is looked up in PATH"
is "$(sed -n 3p "$T/exec.out" | cut -d' ' -f1-7):$(stat -c %a "$T/made" 2>&1)" "install -d -m 0700 $T/made => 0:700" \
	"... (cluster-backup's install -d of its folder)"
is "$(sed -n 4p "$T/exec.out")" "sh -c echo out; echo err >&2; exit 3 => 3 [out|] [err|]" "stdout, stderr and the exit status come back"
like "$(sed -n 5p "$T/exec.out")" "^ezk-no-such-program => 127 \\[\\] \\[ezk-no-such-program: No such file or directory\\]" \
	"a name not in PATH: rc 127, saying why"
like "$(sed -n 6p "$T/exec.out")" "^\\./ezk-no-such-program => 127 \\[\\] \\[\\./ezk-no-such-program: No such file" \
	"a path that is not there: rc 127, saying why"

done_testing
