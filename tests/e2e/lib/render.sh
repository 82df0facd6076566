# Sourced by the render comparisons (e2e/addons-render, e2e/network-render):
# kubeasz 3.7's templates rendered by Ansible against ezk's manifests for the
# same cluster, with nothing contacted. (In lib/: tests/run.sh runs every
# e2e/*.sh as a test.)
#
# render_setup: kubeasz's cluster made by ezctl's own `new` (its example
# hosts.multi-node and config.yml, the version placeholders filled from
# ezdown) in $KC, its addresses replaced by 198.18/15's; and the test's
# roles/steps.lua: ezk's without step 06's play on the nodes (host-gw's
# routes, the plugins' per-node files and the default CNI config removed
# once the plugin's is there), which -t config leaves alone but which would
# still connect to them (every manifest is rendered on the deploy node).
# Then set_var edits kubeasz's files as a user does, kubeasz_render runs
# Ansible on a playbook of kubeasz's template tasks, ezk_render runs
# `ezk setup <c> STEPS -t config` (and --check --diff first) on a copy of
# them, and tap_compare / tap_lines turn addons-compare.py's lines into TAP.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

KZ=$EZK_SHARED_DATA/kubeasz-3.7
KE=$EZK_SHARED_DATA/kubeasz-example
CMP=$EZK_SRC/tests/e2e/addons-compare.py
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1 \
	ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3

# render_setup: 0 when ready; otherwise the test has said why (skip or
# fail) and ends with done_testing
render_setup() {
	if [ ! -d "$KZ/roles/cluster-addon" ] || [ ! -f "$KE/config.yml" ]; then
		skip "EZK_SHARED_DATA (kubeasz 3.7 and its example) is absent: nothing to compare with"
		return 1
	fi
	command -v ansible-playbook >/dev/null || { fail "ansible-playbook is installed (scripts/install-deps.sh)"; return 1; }

	# ---- kubeasz's cluster, made by ezctl's own new() in a base dir of ours
	KB=$T/kubeasz
	mkdir -p "$KB/example"
	cp "$KE/hosts.multi-node" "$KE/config.yml" "$KB/example/"
	cp "$KZ/ezdown" "$KB/"
	# ezctl ends with `main "$@"`, which insists on /etc/kubeasz: read its
	# functions without that line and call new() in our base dir
	if bash -c 'set -o nounset -o errexit; source <(sed "/^main \"\$@\"$/d" "$1"); BASE=$2; cd "$BASE"; new c' \
		_ "$KZ/ezctl" "$KB" >"$T/ezctl.log" 2>&1 && [ -f "$KB/clusters/c/config.yml" ]; then
		pass "kubeasz's ezctl new made clusters/c (hosts, config.yml)"
	else
		fail "kubeasz's ezctl new made clusters/c" "$(tail -5 "$T/ezctl.log")"
		return 1
	fi
	KC=$KB/clusters/c
	unlike "$(grep -n '__[a-z_]*__' "$KC/config.yml")" . "ezctl new filled in every version placeholder"
	# no address outside the test ranges, though nothing is contacted
	sed -i -E 's/192\.168\.1\.([0-9]+)/198.18.0.\1/g; s|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|' "$KC/hosts"
	sed -i -E 's/192\.168\.1\.([0-9]+)/198.18.0.\1/g; s/"10\.1\.1\.1"/"198.18.200.1"/' "$KC/config.yml"
	unlike "$(grep -vE '^\s*#' "$KC/hosts" "$KC/config.yml")" '(^|[^0-9.])(10\.[0-9]+\.[0-9]+\.[0-9]+|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]+\.[0-9]+|192\.168\.[0-9]+\.[0-9]+)' \
		"no private (RFC 1918) address left in hosts and config.yml"

	# ---- the test's steps.lua (the first such play, two lines: step 06's;
	# the lifecycle commands' steps repeat it)
	mkdir -p "$T/roles"
	awk '!gone && held == "" && /^ *\{ hosts = "kube_master:kube_node",$/ { held = $0; next }
	     held != "" { if ($0 ~ /^ *roles = \{ "host-gw", [^}]*\} \},$/) { gone = 1; held = ""; next }
	                  print held; held = "" }
	     1' "$EZK_SRC/roles/steps.lua" >"$T/roles/steps.lua"
	is "$(diff "$EZK_SRC/roles/steps.lua" "$T/roles/steps.lua" | grep '^<' | grep -c '"host-gw", "flannel/node"')" 1 \
		"... the line removed is the nodes' play of the network plugins"
	is "$(awk '/id = "06"/ { s = 1 } /id = "07"/ { s = 0 } s' "$T/roles/steps.lua" | grep -c 'hosts = "kube_master:kube_node"')" 0 \
		"... and it was step 06's"
	is "$(diff "$EZK_SRC/roles/steps.lua" "$T/roles/steps.lua" | grep -c '^<')" 2 \
		"the test's steps.lua: ezk's without step 06's play on the nodes"
	export EZK_ROLES=$T/roles:$EZK_SRC/roles
}

# set_var FILE KEY VALUE: a setting of kubeasz's hosts ([all:vars], KEY="v")
# or config.yml (KEY: v), in place, as a user edits it
set_var() {
	case $1 in
	hosts) grep -q "^$2=" "$KC/hosts" || fail "hosts sets $2"; sed -i -E "s|^$2=.*|$2=\"$3\"|" "$KC/hosts" ;;
	config) grep -q "^$2:" "$KC/config.yml" || fail "config.yml sets $2"; sed -i -E "s|^$2:.*|$2: $3|" "$KC/config.yml" ;;
	esac
}

# kubeasz_render NAME PLAYBOOK OUT: kubeasz's templates by Ansible into OUT,
# from clusters/c as it is now (`-i hosts -e @config.yml`, as ezctl runs a step)
kubeasz_render() {
	local name=$1 play=$2 kout=$3 t0 r
	mkdir -p "$kout"
	t0=$(date +%s)
	ansible-playbook -i "$KC/hosts" -e "@$KC/config.yml" -e "out=$kout" "$play" >"$T/ansible-$name.log" 2>&1
	r=$?
	echo "# $name: ansible-playbook $(($(date +%s) - t0)) s"
	is "$r" 0 "$name: Ansible renders kubeasz's templates"
	[ "$r" = 0 ] || tail -20 "$T/ansible-$name.log" | sed 's/^/# /'
}

# ezk_render NAME STEPS: ezk's cluster NAME from kubeasz's two files, its
# manifests rendered by `ezk setup NAME STEPS -t config` into
# $EZK_HOME/clusters/NAME/yml; --check --diff first (what the kubeasz
# comparison of every step runs) writes nothing and shows each manifest:
# $shown, their names
ezk_render() {
	local name=$1 steps=$2 y
	"$EZK" new "$name" >/dev/null
	cp "$KC/hosts" "$KC/config.yml" "$EZK_HOME/clusters/$name/"
	y=$EZK_HOME/clusters/$name/yml
	run "$EZK" setup "$name" "$steps" -t config --check --diff
	is "$rc" 0 "$name: ezk setup $steps -t config --check --diff"
	[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -10 | sed 's/^/# /'
	[ -e "$y" ] && fail "$name: --check writes no yml/" || pass "$name: --check writes no yml/"
	shown=$(printf '%s\n' "$out" | sed -n 's|^+++ .*/yml/\(.*\)\.yaml (after)$|\1|p' | sort | paste -sd' ')
	run "$EZK" setup "$name" "$steps" -t config
	is "$rc" 0 "$name: ezk setup $steps -t config renders yml/"
	[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -10 | sed 's/^/# /'
	is "$shown" "$(cd "$y" 2>/dev/null && ls *.yaml 2>/dev/null | sed 's/\.yaml$//' | sort | paste -sd' ')" \
		"$name: --check --diff showed each of them"
}

# tap_compare CONFIG WHAT KUBEASZ EZK [--only ...]: addons-compare.py's
# lines as TAP
tap_compare() {
	local name=$1 addon=$2 theirs=$3 ours=$4
	shift 4
	if [ ! -f "$ours" ]; then fail "$name: ezk rendered $addon" "no $ours"; return; fi
	tap_lines "$name" "$($PY "$CMP" "$addon" "$theirs" "$ours" "$@" 2>&1)"
}
tap_lines() {
	local name=$1 v what detail n=0
	while IFS=$'\t' read -r v what detail; do
		case $v in
		ok) pass "$name: $what"; n=$((n + 1)) ;;
		DIFF) fail "$name: $what" "$detail"; n=$((n + 1)) ;;
		extra) echo "# $name: ezk's object $what (of the chart, not rendered by kubeasz)" ;;
		*) fail "$name: addons-compare.py said something unexpected" "$v $what $detail" ;;
		esac
	done <<<"$2"
	[ "$n" -gt 0 ] || fail "$name: addons-compare.py compared something" "$2"
}

# mutant_test PLUGIN FILE KUBEASZ SED-EXPR FACET WHAT [COMPARE-OPTIONS]:
# ezk's FILE with one value changed against kubeasz's: addons-compare.py
# must say DIFF for FACET (a comparison that cannot fail proves nothing)
mutant_test() {
	local plugin=$1 file=$2 theirs=$3 expr=$4 facet=$5 what=$6 m=$T/mutant.yaml o
	shift 6
	sed "$expr" "$file" >"$m"
	if cmp -s "$m" "$file"; then fail "mutant $what: the edit changed the file"; return; fi
	o=$($PY "$CMP" "$plugin" "$theirs" "$m" "$@" 2>&1)
	like "$(printf '%s\n' "$o" | grep -P '^DIFF\t' | cut -f2)" "$plugin: $facet" "the comparer fails on $what ($facet)"
}

# offline_images NAME MANIFEST: every image MANIFEST (ezk's, of cluster NAME;
# or a Helm values file's image.repository/tag) runs is one `ezk download -c NAME` fetches: offline/versions.yml's images
# whose `when` holds for that cluster, named as they are in containerd
# (versions.yml's values, then the cluster's hosts and config.yml; Jinja2,
# as Ansible, evaluates the templates)
offline_images() {
	local name=$1 manifest=$2 o
	o=$($PY - "$EZK_SRC/offline/versions.yml" "$KC/hosts" "$KC/config.yml" "$manifest" <<'PY'
import re, sys, yaml, jinja2
v = yaml.safe_load(open(sys.argv[1]))
for l in open(sys.argv[2]):  # [all:vars] KEY="value"
    m = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)="?([^"]*)"?\s*$', l)
    if m:
        v[m.group(1)] = m.group(2)
c = yaml.safe_load(open(sys.argv[3]))
v.update({k: c[k] for k in c if k in v})
env = jinja2.Environment()
env.filters["bool"] = lambda x: x if isinstance(x, bool) else str(x).lower() in ("true", "yes", "on", "1", "y")  # Ansible's
def r(t):
    return env.from_string(str(t)).render(**v)
have = set()
for i in v["images"]:
    if "when" in i and r("{{ %s }}" % i["when"]) != "True":
        continue
    ref = r(i["ref"])
    have.add(r(i["name"]) if "name" in i else "%s/easzlab/%s" % (v["local_registry"], ref.rsplit("/", 1)[1]))
want = set()
def values_images(o, path=""):  # a Helm values file: {repository, tag} anywhere
    if isinstance(o, dict):
        if isinstance(o.get("repository"), str) and "tag" in o:
            # (cilium's chart names its operator <repository>-generic)
            suffix = "-generic" if path == ".operator.image" else ""
            want.add("%s%s:%s" % (o["repository"], suffix, o["tag"]))
        for k, x in o.items():
            values_images(x, path + "." + k)
for d in yaml.safe_load_all(open(sys.argv[4])):
    if d and "kind" not in d:
        values_images(d)
        continue
    spec = ((d or {}).get("spec") or {}).get("template", {}).get("spec") or {}
    for k in ("initContainers", "containers"):
        want.update(c["image"] for c in spec.get(k) or [])
print("\n".join("%s\t%s" % ("ok" if w in have else "missing", w) for w in sorted(want)))
PY
	)
	[ -n "$o" ] || { fail "$name: the manifest runs images" "$o"; return; }
	local v img
	while IFS=$'\t' read -r v img; do
		is "$v" ok "$name: $img is in the offline images (offline/versions.yml)"
	done <<<"$o"
}
