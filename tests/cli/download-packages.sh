#!/bin/bash
# ezk download's OS packages: apt on this machine (Debian 12, which reaches
# Debian's archive), the dependency closure of a small list as a fresh host
# lacks it, less what every Debian host has (Priority: required); a second
# run fetches nothing; the bundle lists them.
. "$(dirname "$0")/../lib.sh" || exit 1

. /etc/os-release 2>/dev/null
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ] || ! command -v apt-get >/dev/null; then
	skip "packages are fetched with apt on Debian 12; this is ${ID:-?} ${VERSION_ID:-?}"
	done_testing
	exit 0
fi
P=$EZK_HOME/packages/debian_12
list='{"packages": {"debian_12": ["jq", "libc6"]}}'
run "$EZK" download --no-binaries --no-images -q -e "$list"
is "$rc" 0 "ezk download of jq's packages exits 0" "$err"
names=$(ls "$P" | sed 's/_.*//' | sort | tr '\n' ' ')
like "$names" "^jq libc6 libjq1 libonig5 $" "jq, its libraries, and libc6 because it was asked for"
unlike "$names" "libgcc-s1|gcc-12-base" "dependencies every host has (required, essential and their dependencies) are left out"
ok=1
for f in "$P"/*.deb; do dpkg-deb -I "$f" >/dev/null 2>&1 || ok=0; done
is "$ok" 1 "each is a whole .deb (dpkg-deb reads it)"
run "$EZK" download --no-binaries --no-images -q -e "$list"
like "$out" "0 fetched, 4 already there" "a second run fetches nothing"
run "$EZK" download --no-binaries --no-images -q -e '{"packages": {"debian_12": ["jq"]}}'
is "$(ls "$P" | sed 's/_.*//' | sort | tr '\n' ' ')" "jq libjq1 libonig5 " \
	"a shorter list: the .deb files no longer needed are removed"
# a package whose .deb this machine's apt keeps in /var/cache/apt/archives
# (install-deps installed it) is fetched all the same
cached=$(ls /var/cache/apt/archives/ 2>/dev/null | grep -m1 -E '^socat_.*\.deb$' || true)
if [ -n "$cached" ] && dpkg-query -W socat >/dev/null 2>&1; then
	run "$EZK" download --no-binaries --no-images -q -e '{"packages": {"debian_12": ["jq", "socat"]}}'
	is "$rc" 0 "a package in apt's archive cache: exit 0" "$err"
	ls "$P"/socat_*.deb >/dev/null 2>&1 && pass "... and its .deb is fetched ($cached is in apt's cache)" ||
		fail "... and its .deb is fetched ($cached is in apt's cache)" "$(ls "$P")"
	run "$EZK" download --no-binaries --no-images -q -e '{"packages": {"debian_12": ["jq"]}}'
else
	skip "socat's .deb is not in /var/cache/apt/archives here"
fi
run "$EZK" bundle create "$T/p.ezk" -q
like "$out" "3 packages" "the bundle counts them"
like "$(tar -xOf "$T/p.ezk" ezk-bundle.json)" "\"name\": \"libjq1\"" "... and its manifest lists them"
done_testing
