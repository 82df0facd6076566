# Options are declared once per command (core/cmd.h, as git's
# parse-options): `ezk help <cmd>` lists exactly the options the command
# accepts, and bash completion offers the same ones.
. "$(dirname "$0")/../lib.sh" || exit 1

commands=$("$EZK" help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p')
like "$commands" "setup" "ezk help lists the commands"
comp=$("$EZK" completion bash)
for c in $commands; do
	help=$("$EZK" help "$c")
	# "  -C, --check   ..." / "      --diff   ...": the options and whether they take a value
	opts=$(printf '%s\n' "$help" | sed -n '/^Options:$/,/^$/p' | sed -n 's/^ *\(-[A-Za-z], \)\{0,1\}\(--[a-z0-9-]*\)\( [^ ]*\)\{0,1\}  .*/\1\2\3/p')
	listed=$(printf '%s\n' "$opts" | grep -o -- '-[A-Za-z]\b\|--[a-z0-9-]*' | LC_ALL=C sort | paste -sd' ')
	completed=$(printf '%s\n' "$comp" | sed -n "/^    $c)\$/,/;;/p" | sed -n 's/.*compgen -W "\(-[^"]*\)".*/\1/p' | tr ' ' '\n' | LC_ALL=C sort | paste -sd' ')
	is "$completed" "$listed" "$c: completion offers the options 'ezk help $c' lists"
	[ -n "$listed" ] || continue
	# each one listed is accepted (whatever then goes wrong, not the option)
	refused=""
	while read -r line; do
		for o in $(printf '%s\n' "$line" | grep -o -- '-[A-Za-z]\b\|--[a-z0-9-]*'); do
			val=$(printf '%s\n' "$line" | awk '{print $NF}' | grep -v '^-' || true)
			if [ -n "$val" ]; then run "$EZK" "$c" "$o" 1 nocluster; else run "$EZK" "$c" "$o" nocluster; fi
			case $err in *"unknown option"*) refused="$refused $o" ;; esac
		done
	done <<<"$opts"
	is "$refused" "" "$c: every option 'ezk help $c' lists is accepted"
	# the letters some command takes, and a few no command takes: refused
	# where it does not list them (one run each: ASan on a loaded machine
	# makes the 52 letters of every command a quarter of an hour; -h is
	# ezk's own, help, for every command)
	accepted=""
	for l in b C e f k K l m n t T u v a q x Z; do
		case " $listed " in *" -$l "*) continue ;; esac
		run "$EZK" "$c" "-$l" nocluster
		case $err in *"unknown option '-$l'"*) ;; *) accepted="$accepted -$l" ;; esac
	done
	is "$accepted" "" "$c: the one-letter options it does not list are refused"
done
# -C was accepted by setup and documented nowhere
like "$("$EZK" help setup)" "^  -C, --check " "setup's -C is documented (Ansible's short --check)"

done_testing
