# ezk new / list / checkout and the workspace location.
. "$(dirname "$0")/../lib.sh" || exit 1

run "$EZK" list
is "$rc" 0 "list on an empty workspace exits 0"
like "$out" "no clusters" "list says there are none"

run "$EZK" new demo
is "$rc" 0 "new demo exits 0"
[ -f "$EZK_HOME/clusters/demo/hosts" ] && pass "hosts created" || fail "hosts created"
[ -f "$EZK_HOME/clusters/demo/config.yml" ] && pass "config.yml created" || fail "config.yml created"
like "$(cat "$EZK_HOME/clusters/demo/hosts")" 'cluster_dir="\{\{ base_dir \}\}/clusters/demo"' "_cluster_name_ replaced"
like "$(cat "$EZK_HOME/clusters/demo/hosts")" "base_dir=\"$EZK_HOME\"" "base_dir is the workspace"
unlike "$(cat "$EZK_HOME/clusters/demo/hosts" "$EZK_HOME/clusters/demo/config.yml")" "_cluster_name_|_ezk_home_" "no placeholder left"
ls -a "$EZK_HOME/clusters" >"$T/ls"
is "$(grep -c '^\.new' "$T/ls")" 0 "no temporary directory left behind"

run "$EZK" inventory demo --list
is "$rc" 0 "inventory demo --list exits 0"
for g in etcd kube_master kube_node; do
	got=$(printf '%s' "$out" | $PY -c "import json,sys; d=json.load(sys.stdin); print(len(d['$g']['hosts']))")
	[ "$got" -gt 0 ] && pass "--list shows group $g ($got hosts)" || fail "--list shows group $g"
done

# An existing cluster is never overwritten.
echo "# my edit" >>"$EZK_HOME/clusters/demo/hosts"
sum=$(md5sum "$EZK_HOME/clusters/demo/hosts" "$EZK_HOME/clusters/demo/config.yml")
run "$EZK" new demo
is "$rc" 2 "new on an existing cluster exits 2"
like "$err" "already exists" "new says it exists"
is "$(md5sum "$EZK_HOME/clusters/demo/hosts" "$EZK_HOME/clusters/demo/config.yml")" "$sum" "existing files untouched"

for bad in Demo -x "a_b" "a.b" "" "a/b" "../x"; do
	run "$EZK" new "$bad"
	is "$rc" 2 "new rejects the name '$bad'"
done
[ ! -e "$T/x" ] && pass "no directory made outside the workspace" || fail "no directory made outside the workspace"
run "$EZK" new 0k-1
is "$rc" 0 "new accepts 0k-1"

# (192.168.1.1: the host of inventories/hosts.allinone, kubeasz's example
# value that `ezk new` copies; nothing connects to it. Allowed by
# tests/cli/test-addresses.sh.)
run "$EZK" new aio --aio
is "$rc" 0 "new --aio exits 0"
run "$EZK" inventory aio --list
hosts=$(printf '%s' "$out" | $PY -c "import json,sys; d=json.load(sys.stdin); print(' '.join(sorted(d['_meta']['hostvars'])))")
is "$hosts" "192.168.1.1" "--aio has one host"
for g in etcd kube_master kube_node; do
	got=$(printf '%s' "$out" | $PY -c "import json,sys; d=json.load(sys.stdin); print(d['$g']['hosts'])")
	is "$got" "['192.168.1.1']" "--aio host is in $g"
done

run "$EZK" list
is "$rc" 0 "list exits 0"
is "$out" "  0k-1
  aio
  demo" "list shows the clusters, none current"

run "$EZK" checkout nosuch
is "$rc" 2 "checkout of a missing cluster exits 2"
like "$err" "no cluster 'nosuch'" "checkout names the missing cluster"

export HOME=$T/userhome
mkdir -p "$HOME"
run "$EZK" checkout demo
is "$rc" 0 "checkout demo exits 0"
run "$EZK" list
like "$out" '^\* demo \(current\)$' "list marks the current cluster"
like "$out" '^  aio$' "others are not marked"
[ ! -e "$HOME/.kube/config" ] && pass "no kubeconfig yet: ~/.kube/config untouched" || fail "no kubeconfig yet"

echo "apiVersion: v1" >"$EZK_HOME/clusters/aio/kubectl.kubeconfig"
run "$EZK" checkout aio
is "$rc" 0 "checkout aio exits 0"
is "$(cat "$HOME/.kube/config" 2>/dev/null)" "apiVersion: v1" "checkout installs the cluster's kubeconfig"
is "$(stat -c %a "$HOME/.kube/config")" 600 "kubeconfig is 0600"
[ -z "$(ls "$HOME/.kube" | grep ezk-)" ] && pass "no backup of a missing config" || fail "no backup of a missing config"
run "$EZK" checkout aio
is "$(ls "$HOME/.kube")" "config" "checkout again: the same content, no backup"
# the user's own kubeconfig is kept, not lost
echo "user: mine" >"$HOME/.kube/config"
run "$EZK" checkout aio
is "$rc" 0 "checkout over the user's own kubeconfig exits 0"
bak=$(ls "$HOME/.kube" | grep '^config\.ezk-[0-9]\{8\}-[0-9]\{6\}$')
is "$(cat "$HOME/.kube/$bak" 2>/dev/null)" "user: mine" "... which is kept as config.ezk-<time>"
is "$(stat -c %a "$HOME/.kube/$bak" 2>/dev/null)" 600 "... 0600"
like "$out" "the previous .*/.kube/config is kept as .*config\.ezk-" "... and says so"
is "$(cat "$HOME/.kube/config")" "apiVersion: v1" "... and the cluster's kubeconfig is installed"

# --home beats EZK_HOME; the default is /etc/ezk.
run "$EZK" --home "$T/other" new x1
is "$rc" 0 "--home DIR new"
[ -d "$T/other/clusters/x1" ] && pass "--home is used" || fail "--home is used"
run "$EZK" list --home "$T/other"
is "$out" "  x1" "--home after the command works too"
run env -u EZK_HOME "$EZK" help
is "$rc" 0 "runs without EZK_HOME"

# An unreadable template directory fails cleanly, leaving nothing.
run env EZK_DATA="$T/nodata" "$EZK" new broken
is "$rc" 2 "new with missing templates exits 2"
[ ! -e "$EZK_HOME/clusters/broken" ] && pass "no half-made cluster" || fail "no half-made cluster"

done_testing
