#!/bin/bash
# make fuzz: build each tests/fuzz/fuzz-*.c with libFuzzer + ASan + UBSan and
# run it for FUZZ_SECONDS (default 60), seeded from tests/data and the
# templates. Fails on the first sanitizer report or crash; the input that
# caused it is left in build-fuzz/.
set -eu
cd "$(dirname "$0")/../.."
scripts/install-deps.sh --fuzz
secs=${FUZZ_SECONDS:-60}
out=build-fuzz
mkdir -p "$out"
# (the whole engine is linked: the readers' files reach fsutil, err, ...,
# which reach the rest; the same packages as the Makefile's)
PKGS="libssh yaml-0.1 lua5.4 libgit2 libarchive libcrypto libcurl"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -DEZK_PREFIX=\"/usr/local\" -DEZK_VERSION=\"fuzz\" -DINVENTORY_MAX_RANGE=2000 -DINVENTORY_MAX_HOSTS=2000 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(pkg-config --cflags $PKGS) -Icore -Issh"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
CORE="$(ls core/*.c core/tmpl/*.c ssh/*.c | grep -v -e '/main.c' -e '/cmd-')"
only=${1:-}
# the engine as an archive: a target links only the objects it reaches
LIBCFLAGS=${CFLAGS/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}
rm -f "$out/libezk-fuzz.a"
for c in $CORE; do
	o=$out/obj/${c%.c}.o
	mkdir -p "$(dirname "$o")"
	# (rebuilt when its source or any header is newer)
	[ "$o" -nt "$c" ] && [ -z "$(find core ssh -name '*.h' -newer "$o" | head -1)" ] ||
		clang $LIBCFLAGS -c "$c" -o "$o"
	objs="${objs:-} $o"
done
ar rcs "$out/libezk-fuzz.a" $objs
for f in tests/fuzz/fuzz-*.c; do
	name=$(basename "$f" .c)
	[ -n "$only" ] && [ "$name" != "fuzz-$only" ] && continue
	clang $CFLAGS "$f" "$out/libezk-fuzz.a" $LIBS -o "$out/$name"
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	case $name in
	fuzz-inventory) cp inventories/hosts.* tests/data/inventory/* "$corpus/" 2>/dev/null || true ;;
	fuzz-yaml) cp inventories/config.yml tests/data/yaml/* ../shared/data/kubeasz-example/config.yml "$corpus/" 2>/dev/null || true ;;
	fuzz-template) cp tests/data/templates/*.j2 "$corpus/" ;;
	esac
	# a dictionary of the format's syntax, when there is one (tests/fuzz/*.dict)
	dict=
	[ -f "tests/fuzz/${name#fuzz-}.dict" ] && dict=-dict=$PWD/tests/fuzz/${name#fuzz-}.dict
	echo "== $name for ${secs}s${dict:+ (with ${dict#-dict=})}"
	(cd "$out" && "./$name" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 $dict "corpus-$name" 2>"$name.log") || {
		echo "$name: FAILED (see $out/$name.log)"
		tail -40 "$out/$name.log"
		exit 1
	}
	grep -E '^stat::number_of_executed_units|^Done' "$out/$name.log" | tail -2
	echo "$name: no sanitizer report in ${secs}s"
done
