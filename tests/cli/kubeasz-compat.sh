# kubeasz's own example inventories load unmodified and parse as Ansible
# parses them: `ezk inventory --list` is compared with `ansible-inventory
# --list` (Debian's ansible) on group membership and every host variable
# that holds no template. Then --host evaluates kubeasz's templates.
. "$(dirname "$0")/../lib.sh" || exit 1

command -v ansible-inventory >/dev/null || { fail "ansible-inventory is installed (scripts/install-deps.sh)"; done_testing; exit; }
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False

# compare NAME HOSTS_FILE
compare() {
	local name=$1 file=$2
	rm -rf "$EZK_HOME/clusters/$name"
	mkdir -p "$EZK_HOME/clusters/$name"
	cp "$file" "$EZK_HOME/clusters/$name/hosts"
	run "$EZK" inventory "$name" --list
	is "$rc" 0 "$name: ezk inventory --list exits 0"
	printf '%s' "$out" >"$T/ezk.json"
	ansible-inventory -i "$file" --list >"$T/ansible.json" 2>"$T/ansible.err"
	local r
	r=$($PY "$EZK_SRC/tests/cli/compare-inventory.py" "$T/ezk.json" "$T/ansible.json")
	if [ $? -eq 0 ]; then pass "$name: same as ansible-inventory (${r##*$'\n'})"; else fail "$name: same as ansible-inventory" "$r"; fi
}

KE=$EZK_SHARED_DATA/kubeasz-example
if [ -d "$KE" ]; then
	compare multi "$KE/hosts.multi-node"
	compare allinone "$KE/hosts.allinone"
else
	skip "kubeasz example not present at $KE"
fi
# Our own samples: ranges, children, every literal type, quoting, ports.
for f in "$EZK_SRC"/tests/data/inventory/*.ini; do
	[ -f "$f" ] || continue
	b=$(basename "$f" .ini)
	case $b in bad-*) continue ;; esac
	compare "s-$(echo "$b" | tr '_.' '--')" "$f"
done
# Our templates as `ezk new` writes them.
run "$EZK" new tpl
compare tpl-copy "$EZK_HOME/clusters/tpl/hosts"

# --host evaluates kubeasz's templates with its config.yml applied.
# (192.168.1.x here: the hosts of kubeasz's own example, read byte for byte;
# nothing connects to them. Allowed by tests/cli/test-addresses.sh.)
if [ -d "$KE" ]; then
	c=$EZK_HOME/clusters/multi
	cp "$KE/hosts.multi-node" "$c/hosts"
	# What `ezctl new` (and `ezk new`) does: fill in the version placeholders.
	sed -e 's/__calico__/v3.28.1/; s/__[a-z_]*__/v1.0.0/g' "$KE/config.yml" >"$c/config.yml"
	hv() { $PY -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
	run "$EZK" inventory multi --host 192.168.1.1
	is "$rc" 0 "--host 192.168.1.1 exits 0"
	is "$(printf '%s' "$out" | hv K8S_NODENAME)" "master-01" "K8S_NODENAME from k8s_nodename='master-01'"
	is "$(printf '%s' "$out" | hv CONTEXT_NAME)" "context-cluster1" "CONTEXT_NAME is context-cluster1"
	is "$(printf '%s' "$out" | hv cluster_dir)" "/etc/kubeasz/clusters/_cluster_name_" "cluster_dir from base_dir"
	is "$(printf '%s' "$out" | hv IP_AUTODETECTION_METHOD)" "can-reach=192.168.1.1" "groups['kube_master'][0]"
	is "$(printf '%s' "$out" | hv calico_ver_main)" "v3.28" "calico_ver.split('.')"
	is "$(printf '%s' "$out" | hv HARBOR_REGISTRY)" "harbor.easzlab.io.local:8443" "HARBOR_REGISTRY joins two vars"
	is "$(printf '%s' "$out" | hv INSECURE_REG)" "['http://easzlab.io.local:5000', 'https://reg.yourcompany.com']" "a list from config.yml"
	is "$(printf '%s' "$out" | hv MAX_PODS)" "110" "an int from config.yml"
	is "$(printf '%s' "$out" | hv OS_HARDEN)" "False" "a YAML bool from config.yml"

	# k8s_nodename='' -> k8s-<ip with dashes>
	cp "$KE/hosts.allinone" "$c/hosts"
	run "$EZK" inventory multi --host 192.168.1.1
	is "$(printf '%s' "$out" | hv K8S_NODENAME)" "k8s-192-168-1-1" "K8S_NODENAME with k8s_nodename=''"

	# Unmodified, the example still has version placeholders that a template
	# cannot split: --host names the file and line of the one that fails.
	cp "$KE/hosts.multi-node" "$c/hosts"
	cp "$KE/config.yml" "$c/config.yml"
	run "$EZK" inventory multi --host 192.168.1.1
	is "$rc" 1 "--host with an unevaluable template exits 1"
	line=$(grep -n '^calico_ver_main:' "$KE/config.yml" | cut -d: -f1)
	like "$err" "config.yml:$line: " "the failing variable's file:line is named"
	is "$(printf '%s' "$out" | hv CLUSTER_NETWORK)" "calico" "... and every variable that evaluates is shown (Ansible evaluates lazily)"
	is "$(printf '%s' "$out" | hv calico_ver)" "__calico__" "... the placeholder itself too"
	is "$(printf '%s' "$out" | $PY -c 'import json,sys; print("calico_ver_main" in json.load(sys.stdin))')" "False" "... not the one that fails"
	no_crash "--host on the raw example"
	run "$EZK" check multi
	is "$rc" 2 "check on the raw example reports the error"
	line=$(grep -n '^calico_ver:' "$KE/config.yml" | cut -d: -f1)
	like "$err" "config.yml:$line: warning: calico_ver holds the placeholder '__calico__'" "check names an unfilled placeholder"
else
	skip "kubeasz example not present at $KE"
fi

done_testing
