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
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -DEZK_PREFIX=\"/usr/local\" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(pkg-config --cflags yaml-0.1) -Icore"
LIBS="$(pkg-config --libs yaml-0.1) -lm -lpthread"
CORE="$(ls core/*.c core/tmpl/*.c | grep -v -e '/main.c' -e '/cmd-')"
only=${1:-}
for f in tests/fuzz/fuzz-*.c; do
	name=$(basename "$f" .c)
	[ -n "$only" ] && [ "$name" != "fuzz-$only" ] && continue
	clang $CFLAGS "$f" $CORE $LIBS -o "$out/$name"
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	case $name in
	fuzz-inventory) cp inventories/hosts.* tests/data/inventory/* "$corpus/" 2>/dev/null || true ;;
	fuzz-yaml) cp inventories/config.yml tests/data/yaml/* ../shared/data/kubeasz-example/config.yml "$corpus/" 2>/dev/null || true ;;
	fuzz-template) cp tests/data/templates/*.j2 "$corpus/" ;;
	esac
	echo "== $name for ${secs}s"
	(cd "$out" && "./$name" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "corpus-$name" 2>"$name.log") || {
		echo "$name: FAILED (see $out/$name.log)"
		tail -40 "$out/$name.log"
		exit 1
	}
	grep -E '^stat::number_of_executed_units|^Done' "$out/$name.log" | tail -2
	echo "$name: no sanitizer report in ${secs}s"
done
