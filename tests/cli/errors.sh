# Bad input: every mistake is reported as file:line: message with exit 2,
# never a crash, and nothing in the workspace changes.
. "$(dirname "$0")/../lib.sh" || exit 1

C=$EZK_HOME/clusters/bad
mkdir -p "$C"
GOOD_CONFIG='CLUSTER_NAME: "c1"
CONTEXT_NAME: "context-{{ CLUSTER_NAME }}"
'

# expect_error NAME HOSTS CONFIG REGEX [RC]: RC 2 unless given (a value
# that cannot be evaluated is not malformed input: `inventory --host`
# shows every other variable and exits 1)
expect_error() {
	local name=$1 want=${5:-2}
	printf '%s' "$2" >"$C/hosts"
	printf '%s' "$3" >"$C/config.yml"
	local before
	before=$(md5sum "$C/hosts" "$C/config.yml")
	run "$EZK" inventory bad --list
	if [ "$rc" -eq 0 ]; then
		run "$EZK" inventory bad --host h1
	fi
	is "$rc" "$want" "$name: exit $want"
	like "$err" "$4" "$name: message names file:line"
	no_crash "$name"
	is "$(md5sum "$C/hosts" "$C/config.yml")" "$before" "$name: files untouched"
}

expect_error "unterminated group header" '[etcd]
h1
[kube_master
h1
' "$GOOD_CONFIG" "hosts:3: .*"

expect_error "bad range (reversed)" '[etcd]
node[05:01]
' "$GOOD_CONFIG" "hosts:2: .*range"

expect_error "bad range (not a number)" '[etcd]
h1
node[a:3]
' "$GOOD_CONFIG" "hosts:3: .*range"

expect_error "unbalanced quote" '[etcd]
h1 k8s_nodename='"'"'master-01
' "$GOOD_CONFIG" "hosts:2: .*quot"

expect_error "children loop" '[a:children]
b
[b:children]
a
[a]
h1
' "$GOOD_CONFIG" "hosts:[0-9]+: .*(loop|cycle|itself|recurs)"

expect_error "vars line without =" '[etcd]
h1
[all:vars]
SECURE_PORT
' "$GOOD_CONFIG" "hosts:4: "

expect_error "YAML syntax error" '[etcd]
h1
' 'A: 1
B: [1, 2
C: 3
' "config.yml:[0-9]+: "

expect_error "YAML: a bad mapping" '[etcd]
h1
' 'A: 1
B: x: y
' "config.yml:2: "

expect_error "YAML: not a mapping" '[etcd]
h1
' '- a
- b
' "config.yml:1: "

expect_error "template syntax error in config.yml" '[etcd]
h1
' 'A: 1
B: "{{ A + }}"
' "config.yml:2: .*template"

expect_error "unclosed template in hosts" '[etcd]
h1
[all:vars]
x="{{ base_dir"
' "$GOOD_CONFIG" "hosts:4: .*template"

expect_error "undefined variable" '[etcd]
h1
' 'A: 1
B: "{{ nosuch }}/x"
' "config.yml:2: .*nosuch.*undefined|config.yml:2: .*undefined.*nosuch" 1

expect_error "reference loop" '[etcd]
h1
' 'A: "{{ B }}"
B: "x{{ C }}"
C: "{{ A }}"
' "config.yml:[123]: .*loop" 1

expect_error "self reference" '[etcd]
h1
[all:vars]
base_dir="{{ base_dir }}/x"
' "" "hosts:4: .*loop" 1

expect_error "missing hosts file" '' '' ".*"
rm -f "$C/hosts"
run "$EZK" inventory bad --list
is "$rc" 2 "missing hosts file: exit 2"
like "$err" "bad/hosts: No such file" "missing hosts file is named"

printf '[etcd]\nh1\n' >"$C/hosts"
printf 'A: 1\n' >"$C/config.yml"
run "$EZK" inventory bad --host nosuch
is "$rc" 2 "unknown host: exit 2"
like "$err" "no host 'nosuch'" "unknown host named"

run "$EZK" inventory bad --list -e 'x'
is "$rc" 2 "-e without = exits 2"
run "$EZK" inventory bad --list -e '@/nonexistent.yml'
is "$rc" 2 "-e @missing exits 2"
run "$EZK" inventory nosuch --list
is "$rc" 2 "unknown cluster exits 2"
like "$err" "no cluster 'nosuch'" "unknown cluster named"
run "$EZK" inventory bad
is "$rc" 2 "inventory without --list/--host exits 2"

# Binary garbage never crashes the loaders.
head -c 4096 /dev/urandom >"$C/hosts"
run "$EZK" inventory bad --list
no_crash "random bytes as hosts"
printf '[etcd]\nh1\n' >"$C/hosts"
head -c 4096 /dev/urandom >"$C/config.yml"
run "$EZK" inventory bad --host h1
no_crash "random bytes as config.yml"

done_testing
