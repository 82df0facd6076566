# make install PREFIX=... puts a working ezk, its templates and bash
# completion in place; the installed binary finds its templates by itself.
. "$(dirname "$0")/../lib.sh" || exit 1

P=$T/prefix
run make -s -C "$EZK_SRC" install PREFIX="$P"
is "$rc" 0 "make install exits 0"
[ -x "$P/bin/ezk" ] && pass "binary installed" || fail "binary installed" "$err"
[ -f "$P/share/ezk/inventories/hosts.multi-node" ] && pass "templates installed" || fail "templates installed"
[ -f "$P/share/ezk/roles/README.md" ] && pass "roles installed" || fail "roles installed"
[ -f "$P/share/ezk/offline/versions.yml" ] && pass "offline/versions.yml installed" || fail "offline/versions.yml installed"
[ -f "$P/share/bash-completion/completions/ezk" ] && pass "completion installed" || fail "completion installed"
if bash -n "$P/share/bash-completion/completions/ezk" 2>/dev/null; then pass "installed completion is valid bash"; else fail "installed completion is valid bash"; fi
# the manual page ezk(1), made from the command table
man1=$P/share/man/man1/ezk.1
like "$(head -1 "$man1" 2>&1)" '^\.TH EZK 1 ' "ezk(1) installed"
page=$(MANWIDTH=100 man -l "$man1" 2>&1)
for c in $("$EZK" help | sed -n 's/^  \([a-z]*\) .*/\1/p'); do
	like "$page" "^ +ezk $c( |$)" "ezk(1) has the command $c"
done
like "$page" "--host-key-checking MODE" "ezk(1) has the options, from the same tables as ezk help"

# Move the installed tree: the binary finds ../share/ezk wherever it is.
mv "$P" "$T/moved"
run "$T/moved/bin/ezk" new inst
is "$rc" 0 "installed ezk new works after moving the prefix"
run "$T/moved/bin/ezk" check inst
is "$rc" 0 "installed ezk check works"

done_testing
