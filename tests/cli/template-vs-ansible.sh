# Differential test: the variable templates in tests/data/templates/
# vars-cases.yml evaluated by ezk and by Ansible itself (ansible-playbook,
# debug of each variable on a local host): the same text, or both fail.
. "$(dirname "$0")/../lib.sh" || exit 1

command -v ansible-playbook >/dev/null || { fail "ansible-playbook is installed (scripts/install-deps.sh)"; done_testing; exit; }
VG=$EZK_TOOL_DIR/vars-get
[ -x "$VG" ] || { fail "vars-get is built (make units)"; done_testing; exit; }
CASES=$EZK_SRC/tests/data/templates/vars-cases.yml
cat >"$T/hosts" <<'H'
[kube_master]
n1 ansible_connection=local k8s_nodename='master-01'
[kube_node]
n1
n2 ansible_connection=local k8s_nodename='worker-02'
[etcd]
n1
H
names=$(grep -o '^t_[a-z0-9_]*' "$CASES")
# One debug task per case, so a failing case fails alone.
{
	printf -- '- hosts: n1\n  gather_facts: false\n  tasks:\n'
	for n in $names; do
		printf '    - name: %s\n      debug:\n        msg: "{{ %s }}"\n      ignore_errors: true\n' "$n" "$n"
	done
} >"$T/play.yml"
ANSIBLE_STDOUT_CALLBACK=json ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
	ansible-playbook -i "$T/hosts" -e "@$CASES" "$T/play.yml" >"$T/ansible.json" 2>"$T/ansible.err"
# shellcheck disable=SC2086
"$VG" "$T/hosts" "$CASES" n1 $names >"$T/ezk.jsonl" 2>"$T/ezk.err"
is "$?" 0 "vars-get runs"
$PY - "$T/ansible.json" "$T/ezk.jsonl" <<'PY' >"$T/result"
import json, sys
play = json.load(open(sys.argv[1]))
ans = {}
for t in play["plays"][0]["tasks"]:
    r = t["hosts"]["n1"]
    ans[t["task"]["name"]] = ("error", r.get("msg", "")) if r.get("failed") else ("ok", r["msg"])
for line in open(sys.argv[2]):
    e = json.loads(line)
    kind, a = ans[e["name"]]
    ours = ("error", e["error"]) if "error" in e else ("ok", e["str"])
    if kind == "ok":
        want = a if isinstance(a, str) else str(a)
        good = ours[0] == "ok" and ours[1] == want
    else:
        want = "an error: " + a.splitlines()[0][:150]
        good = ours[0] == "error"
    print("%s\t%s\t%s" % ("ok" if good else "DIFF", e["name"], "" if good else "ezk %r, ansible %r" % (ours[1], want)))
PY
n=0
while IFS=$'\t' read -r verdict name detail; do
	n=$((n + 1))
	if [ "$verdict" = ok ]; then pass "$name: as Ansible"; else fail "$name: as Ansible" "$detail"; fi
done <"$T/result"
[ "$n" -gt 40 ] && pass "$n cases compared" || fail "cases compared" "$(cat "$T/ansible.err" | head -20)"

done_testing
