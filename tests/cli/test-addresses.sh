# Every address a test uses (hosts, pods, Services, CIDRs, certificate SANs,
# /etc/hosts lines) is from 127.0.0.0/8 or RFC 2544's 198.18.0.0/15
# (tests/harness/README.md), never from the private ranges 10/8, 172.16/12
# and 192.168/16 that real sites use: a test must not reach, or read as if it
# reached, somebody's network. This fails on a private IPv4 address in any
# text file under tests/, unless ALLOWED below names the file, the addresses
# it may hold and why.
. "$(dirname "$0")/../lib.sh" || exit 1

# An address as tests write one: a dotted quad, or the forms that make one:
# printf's %d, Ansible's host ranges [1:3] and [1:9:2], a glob's *. Escaped
# dots (as in the pattern 192\.168\.1\.1) are not matched: they are the
# e2e tests' seds that rewrite kubeasz's example addresses to test hosts, and
# their checks that none is left.
oct='([0-9]{1,3}|%[0-9]*d|\[[0-9%d]*:[0-9%d]*(:[0-9%d]+)?\]|\*)'
PRIVATE="(^|[^0-9.])(10\.$oct|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.$oct\.$oct([^0-9]|\$)"

# file <TAB> the addresses it may hold (an extended regex) <TAB> why
ALLOWED="tests/unit/test-inventory.c	192\.168\.1\.[0-9]+	kubeasz's example inventory (\$EZK_SHARED_DATA/kubeasz-example/hosts.multi-node) parsed byte for byte; nothing connects to it
tests/cli/kubeasz-compat.sh	192\.168\.1\.[0-9]+	kubeasz's example inventories parsed byte for byte and their templates evaluated (--host); nothing connects to them
tests/cli/workspace.sh	192\.168\.1\.1	the host of inventories/hosts.allinone, kubeasz's example value, that 'ezk new --aio' copies; nothing connects to it
tests/e2e/network-render.sh	10\.(16\.0\.[01]|96\.0\.0)	kube-ovn's install.sh as upstream publishes it (POD_CIDR, POD_GATEWAY, SVC_CIDR: the lines step 06 must find); no pod or host gets them
tests/e2e/network-node.sh	10\.(16\.0\.[01]|96\.0\.0)	kube-ovn's install.sh as upstream publishes it (POD_CIDR, POD_GATEWAY, SVC_CIDR: the lines step 06 must find); no pod or host gets them"

# The pattern itself, on samples (written with ~ for '.', so that this file
# holds no address it would report).
matches() { printf '%s\n' "$1" | tr '~' . | grep -qE -- "$PRIVATE"; }
for s in '10~0~0~1' 'a=10~255~255~255/8' '"[etcd]\n10~0~0~1\n"' '10~0~0~[1:3]' '"10~0~%d~%d"' \
	'10~9~9~[1:%d]' 'SEL("10~0~0~*")' '172~16~0~11' '172~31~255~255' '192~168~1~1' "'192~168~50~20'"; do
	matches "$s" && pass "caught: $(printf '%s' "$s" | tr '~' .)" || fail "caught: $(printf '%s' "$s" | tr '~' .)"
done
for s in '198~18~0~1' '198~19~0~0/16' '127~0~0~9' '110~0~0~1' '210~0~0~1' '172~15~0~1' '172~32~0~1' \
	'192~169~1~1' 'v1~10~0~1' 'is_f("1_0~5", 10~5)' '10\~0\~0\~1' 'fd00:10:68::/108'; do
	matches "$s" && fail "not caught: $(printf '%s' "$s" | tr '~' .)" || pass "not caught: $(printf '%s' "$s" | tr '~' .)"
done

cd "$EZK_SRC" || exit 1
allowed_re() { printf '%s\n' "$ALLOWED" | awk -F'\t' -v f="$1" '$1 == f { print $2 }'; }
n=0
while IFS= read -r f; do
	n=$((n + 1))
	re=$(allowed_re "$f")
	if [ -z "$re" ]; then
		fail "$f: no private address" "$(grep -nE -- "$PRIVATE" "$f" | head -20)
use 198.18.0.0/15 or 127.0.0.0/8 (tests/harness/README.md), or add the file and why to ALLOWED in $0"
		continue
	fi
	# what is left once the allowed addresses are out
	left=$(grep -nE -- "$PRIVATE" "$f" | sed -E "s/$re/<allowed>/g" | grep -E -- "$PRIVATE")
	[ -z "$left" ] && pass "$f: only its allowed addresses ($re)" ||
		fail "$f: only its allowed addresses ($re)" "$left"
done < <(grep -rlIE -- "$PRIVATE" tests | sort)
[ "$n" -gt 0 ] && pass "the scan sees files under tests/ ($n with a private address)" ||
	fail "the scan sees the allowed files under tests/"

# No stale entry: each allowed file exists and still needs its entry.
while IFS=$'\t' read -r f re why; do
	[ -n "$why" ] || fail "ALLOWED: '$f' has a reason"
	grep -qE -- "$re" "$f" 2>/dev/null && pass "ALLOWED: $f still holds $re" ||
		fail "ALLOWED: $f still holds $re (else remove its entry)"
done <<<"$ALLOWED"

done_testing
