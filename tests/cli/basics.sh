# The command table: help, version, usage errors, completion.
. "$(dirname "$0")/../lib.sh" || exit 1

run "$EZK" help
is "$rc" 0 "ezk help exits 0"
for c in new list checkout inventory check help version completion; do
	like "$out" "^  $c " "ezk help lists $c"
done

run "$EZK" --help
is "$rc" 0 "ezk --help exits 0"
like "$out" "Commands:" "ezk --help shows the commands"

run "$EZK" help new
is "$rc" 0 "ezk help new exits 0"
like "$out" "usage: ezk new <cluster> \[--aio\]" "ezk help new shows usage"
like "$out" "--aio" "ezk help new shows options"

run "$EZK" new --help
is "$rc" 0 "ezk new --help exits 0"
like "$out" "usage: ezk new" "ezk new --help shows the command's help"

run "$EZK" help nosuch
is "$rc" 2 "help for an unknown command exits 2"

run "$EZK" version
is "$rc" 0 "ezk version exits 0"
like "$out" "^ezk [0-9]+\.[0-9]+\.[0-9]+" "version line"
like "$out" "libssh .*libyaml .*Lua 5\.4.*libgit2 " "library versions"

run "$EZK" --version
is "$rc" 0 "ezk --version exits 0"

run "$EZK"
is "$rc" 2 "no command exits 2"
like "$err" "usage: ezk" "no command prints usage"

run "$EZK" frobnicate
is "$rc" 2 "unknown command exits 2"
like "$err" "unknown command 'frobnicate'" "unknown command is named"
like "$err" "usage: ezk" "unknown command prints usage"

run "$EZK" new --bogus x
is "$rc" 2 "bad flag exits 2"
like "$err" "unknown option '--bogus'" "bad flag is named"
like "$err" "usage: ezk new" "bad flag prints the command's usage"

run "$EZK" list extra
is "$rc" 2 "unexpected argument exits 2"

run "$EZK" --home
is "$rc" 2 "--home without a directory exits 2"

run "$EZK" completion bash
is "$rc" 0 "completion bash exits 0"
printf '%s\n' "$out" >"$T/comp.bash"
if bash -n "$T/comp.bash"; then pass "completion script is valid bash"; else fail "completion script is valid bash"; fi
like "$out" "complete -F _ezk ezk" "completion registers _ezk"

# Completion works: load it and ask for completions as bash would.
mkdir -p "$EZK_HOME/clusters/alpha" "$EZK_HOME/clusters/beta"
got=$(bash -c '. "$1"; COMP_WORDS=(ezk ch); COMP_CWORD=1; _ezk; echo "${COMPREPLY[*]}"' _ "$T/comp.bash")
is "$got" "checkout check" "completes command names"
got=$(bash -c '. "$1"; COMP_WORDS=(ezk inventory a); COMP_CWORD=2; _ezk; echo "${COMPREPLY[*]}"' _ "$T/comp.bash")
is "$got" "alpha" "completes cluster names from the workspace"
got=$(bash -c '. "$1"; COMP_WORDS=(ezk inventory alpha --l); COMP_CWORD=3; _ezk; echo "${COMPREPLY[*]}"' _ "$T/comp.bash")
is "$got" "--list" "completes a command's options"

run "$EZK" completion zsh
is "$rc" 2 "an unsupported shell exits 2"

done_testing
