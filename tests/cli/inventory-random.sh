# Differential test: random inventories (seeded, reproducible) parsed by ezk
# and by ansible-inventory must agree on groups and variables. A failure
# prints the seed: `tests/cli/gen-inventory.py SEED` rebuilds the file.
. "$(dirname "$0")/../lib.sh" || exit 1

command -v ansible-inventory >/dev/null || { fail "ansible-inventory is installed (scripts/install-deps.sh)"; done_testing; exit; }
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
C=$EZK_HOME/clusters/r
mkdir -p "$C"
seeds=${EZK_RANDOM_SEEDS:-$(seq 1 16)}
for seed in $seeds; do
	$PY "$EZK_SRC/tests/cli/gen-inventory.py" "$seed" >"$C/hosts"
	ansible-inventory -i "$C/hosts" --list >"$T/ansible.json" 2>"$T/ansible.err"
	arc=$?
	run "$EZK" inventory r --list
	if [ $arc -ne 0 ] || grep -q "with ini plugin\|Unable to parse" "$T/ansible.err"; then
		# Ansible rejects it: ezk must reject it too, with file:line.
		is "$rc" 2 "seed $seed: ansible rejects it, so does ezk"
		aline=$(grep -o "hosts:[0-9]*:" "$T/ansible.err" | head -1)
		like "$err" "${aline:-hosts:[0-9]+:} " "seed $seed: at the line ansible names (${aline:-none})"
		continue
	fi
	if [ "$rc" -ne 0 ]; then
		# Where ezk is stricter than Ansible (inventory.h lists the cases).
		like "$err" "hosts:[0-9]+: .*(range|group name)" "seed $seed: ezk is stricter here, with file:line"
		continue
	fi
	printf '%s' "$out" >"$T/ezk.json"
	r=$($PY "$EZK_SRC/tests/cli/compare-inventory.py" "$T/ezk.json" "$T/ansible.json")
	if [ $? -eq 0 ]; then pass "seed $seed: same as ansible-inventory (${r##*$'\n'})"; else fail "seed $seed: same as ansible-inventory" "$r"; fi
done

done_testing
