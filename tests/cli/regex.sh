# One regular expression engine (core/rx.h): the same Python-style pattern
# matches the same way in lineinfile's regexp= (ezk.regex) and in the
# templates' regex_replace, and both as Python's re does (the reference).
# Plays on localhost: lineinfile edits files under $T.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

# pattern <TAB> text <TAB> replacement: lazy and greedy quantifiers, groups
# (numbered, named, non-capturing, optional), alternation, anchors, classes
CASES=$(
	cat <<'EOF'
^(\w+?)(\d*)=(.*)$	key12=value	[\1|\2|\3]
^(\w+)(\d*)=(.*)$	key12=value	[\1|\2|\3]
(?P<k>[a-z_]+)\s*:\s*"?(?P<v>[^"]*?)"?\s*$	  name: "etcd-1"  	<\g<k>=\g<v>>
^\s*#?\s*(export\s+)?PATH=(.*?)(:\$PATH)?$	# export PATH=/opt/kube/bin:$PATH	\1|\2|\3
(a|ab)(c|bcd)(d*)	abcd	\1-\2-\3
^([^.]+)\.(?:[^.]+)\.(.+)$	k8s.node.example.com	\2 \1
x{2,3}?y	xxxxy	[\g<0>]
\bnode\b(-\d+)?	a node-7 b	(\g<0>|\1)
[\d.]+/\d{1,2}$	CLUSTER_CIDR=198.19.0.0/16	NET
\Aab|cd\Z	xcd	<\g<0>>
(?i)^SWAP\b.*	swap  /swapfile	off
^$	-	empty
EOF
)

mkdir -p "$T/files" "$T/roles/rx"
n=0
: >"$T/want-li"
: >"$T/want-tpl"
{
	echo 'local T = "'"$T"'"'
	echo 'local out = {}'
} >"$T/roles/rx/main.lua"
while IFS=$'\t' read -r pat text repl; do
	n=$((n + 1))
	printf '%s\n' "$text" >"$T/files/$n"
	# the references: Python's m.expand (lineinfile with backrefs replaces the
	# line with it; no match leaves the line) and re.sub(count=1)
	$PY - "$pat" "$text" "$repl" >>"$T/want-li" <<'EOF'
import re, sys
p, s, r = sys.argv[1:]
m = re.search(p, s)
print(m.expand(r) if m else s)
EOF
	$PY - "$pat" "$text" "$repl" >>"$T/want-tpl" <<'EOF'
import re, sys
p, s, r = sys.argv[1:]
print(re.sub(p, r, s, count=1))
EOF
	# long brackets: the pattern and text as they are
	cat >>"$T/roles/rx/main.lua" <<EOF
lineinfile { path = T .. "/files/$n", regexp = [==[$pat]==], line = [==[$repl]==], backrefs = true }
out[#out + 1] = ezk.template("{{ s | regex_replace(p, r, count=1) }}",
  { s = [==[$text]==], p = [==[$pat]==], r = [==[$repl]==] }, "case $n")
EOF
done <<<"$CASES"
cat >>"$T/roles/rx/main.lua" <<'EOF'
local f = assert(io.open(T .. "/got-tpl", "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()
EOF
printf 'return { { id = "01", alias = "rx", plays = { { hosts = "localhost", roles = { "rx" } } } } }\n' \
	>"$T/roles/steps.lua"

local_cluster c1
EZK_ROLES=$T/roles:$EZK_SRC/roles run "$EZK" setup c1 rx
is "$rc" 0 "lineinfile and regex_replace over $n patterns: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$out" | grep -E 'failed|error' | head -5 | sed 's/^/# /'
for i in $(seq 1 "$n"); do
	pat=$(printf '%s\n' "$CASES" | sed -n "${i}p" | cut -f1)
	is "$(cat "$T/files/$i")" "$(sed -n "${i}p" "$T/want-li")" "lineinfile regexp=$pat: as Python's re"
	is "$(sed -n "${i}p" "$T/got-tpl")" "$(sed -n "${i}p" "$T/want-tpl")" "regex_replace('$pat'): as Python's re"
done

# bad patterns are refused alike, with the same words
for bad in '(' 'a++' '(?<=x)y' '\1(a)'; do
	cat >"$T/roles/rx/main.lua" <<EOF
local ok, err = pcall(ezk.regex.compile, [==[$bad]==])
local t, terr = ezk.template("{{ 'x' | regex_replace(p, '') }}", { p = [==[$bad]==] }, "bad")
ezk.report("bad", "ok", tostring(err) .. " ~ " .. tostring(terr))
EOF
	EZK_ROLES=$T/roles:$EZK_SRC/roles run "$EZK" setup c1 rx --json
	why=$(printf '%s\n' "$out" | sed -n 's/.*"task":"bad".*"msg":"bad regular expression [^:]*: \([^~]*\) ~ .*unsupported regular expression [^:]*: \(.*\)","ms".*/\1~\2/p')
	is "${why%%~*}" "${why##*~}" "'$bad': lineinfile and templates say the same ($(printf %s "${why%%~*}"))"
	[ -n "$why" ] || fail "'$bad' is refused" "$out"
done

done_testing
