# Differential test: every YAML sample (tests/data/yaml, our config.yml
# template, kubeasz's example config.yml) read by ezk and by PyYAML's
# CSafeLoader (what Ansible uses) must give the same values, or be rejected
# by both at the same line. Known, documented gaps (core/yamlio.h) are
# reported as skips.
. "$(dirname "$0")/../lib.sh" || exit 1

Y2J=$EZK_TOOL_DIR/yaml2json
[ -x "$Y2J" ] || { fail "yaml2json is built (make units)"; done_testing; exit; }
$PY -c 'import yaml; yaml.CSafeLoader' 2>/dev/null || { fail "PyYAML with libyaml is installed (python3-yaml)"; done_testing; exit; }
files="$EZK_SRC/inventories/config.yml $EZK_SRC/tests/data/yaml/*.yml"
[ -f "$EZK_SHARED_DATA/kubeasz-example/config.yml" ] && files="$files $EZK_SHARED_DATA/kubeasz-example/config.yml"
for f in $files; do
	name=${f#"$EZK_SRC"/}
	run "$Y2J" "$f"
	no_crash "$name"
	if [ "$rc" -eq 0 ]; then arg=$out; else arg="-$err"; fi
	r=$($PY "$EZK_SRC/tests/cli/yaml-compare.py" "$f" "$arg")
	case $? in
	0) case $r in known-gap*) skip "$name: $r" ;; *) pass "$name: $r" ;; esac ;;
	*) fail "$name: same as PyYAML" "$r" ;;
	esac
done

done_testing
