# Variable precedence as Ansible runs kubeasz: [all:vars] < parent group <
# child group < host vars < config.yml < -e; templates see the winner.
. "$(dirname "$0")/../lib.sh" || exit 1

C=$EZK_HOME/clusters/p
mkdir -p "$C"
cat >"$C/hosts" <<'H'
[etcd]
h1 hv=host who=host
h2

[kube_master]
h1

[kube_node]
h2 ansible_port=2222 ansible_user=ops

[k8s:children]
kube_master
kube_node

[all:vars]
av=all
gv=all
who=all
cv=all
ev=all
greeting="hello {{ who }}"

[k8s:vars]
gv=k8s
who=k8s

[kube_master:vars]
gv=master
H
cat >"$C/config.yml" <<'Y'
cv: config
ev: config
list_from_config: [1, two, {three: 3}]
who_upper: "{{ who | upper }}"
port_plus: "{{ ansible_port | default(22) | int + 1 }}"
Y
hv() { $PY -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

run "$EZK" inventory p --host h1
is "$rc" 0 "--host h1 exits 0"
is "$(printf '%s' "$out" | hv av)" "all" "[all:vars] applies"
is "$(printf '%s' "$out" | hv gv)" "master" "child group beats parent and all"
is "$(printf '%s' "$out" | hv who)" "host" "host var beats groups"
is "$(printf '%s' "$out" | hv greeting)" "hello host" "a template sees the winning value"
is "$(printf '%s' "$out" | hv who_upper)" "HOST" "config.yml templates see host vars"
is "$(printf '%s' "$out" | hv cv)" "config" "config.yml beats inventory"
is "$(printf '%s' "$out" | hv port_plus)" "23" "default filter and arithmetic"
is "$(printf '%s' "$out" | hv list_from_config)" "[1, 'two', {'three': 3}]" "nested config values"

run "$EZK" inventory p --host h2
is "$(printf '%s' "$out" | hv gv)" "k8s" "h2 gets its group's var"
is "$(printf '%s' "$out" | hv greeting)" "hello k8s" "h2's template sees k8s"
is "$(printf '%s' "$out" | hv port_plus)" "2223" "h2's ansible_port"
is "$(printf '%s' "$out" | hv ansible_user)" "ops" "h2's ansible_user"

run "$EZK" inventory p --host h1 -e ev=cli -e 'cv=from\ cli who=cli'
is "$(printf '%s' "$out" | hv ev)" "cli" "-e beats config.yml"
is "$(printf '%s' "$out" | hv cv)" "from cli" "-e k=v with an escaped space"
is "$(printf '%s' "$out" | hv greeting)" "hello cli" "-e reaches templates"

printf 'ev: from-file\nnum: 7\n' >"$T/extra.yml"
run "$EZK" inventory p --host h1 -e "@$T/extra.yml"
is "$(printf '%s' "$out" | hv ev)" "from-file" "-e @file.yml"
is "$(printf '%s' "$out" | hv num)" "7" "-e @file keeps types"
run "$EZK" inventory p --host h1 -e '{"ev": "json", "n": [1,2]}'
is "$(printf '%s' "$out" | hv ev)" "json" "-e JSON"

# hostvars and group_names reach across hosts.
cat >>"$C/config.yml" <<'Y'
other_user: "{{ hostvars['h2']['ansible_user'] }}"
h2_greeting: "{{ hostvars['h2'].greeting }}"
my_groups: "{{ group_names | join(',') }}"
masters: "{{ groups['kube_master'] | length }}"
Y
run "$EZK" inventory p --host h1
is "$rc" 0 "cross-host templates evaluate"
is "$(printf '%s' "$out" | hv other_user)" "ops" "hostvars['h2']['ansible_user']"
is "$(printf '%s' "$out" | hv h2_greeting)" "hello k8s" "hostvars evaluates in h2's context"
is "$(printf '%s' "$out" | hv my_groups)" "etcd,k8s,kube_master" "group_names (sorted, with parents)"
is "$(printf '%s' "$out" | hv masters)" "1" "groups['kube_master'] | length"

done_testing
