# Secrets stay out of the history (issue 12, finding 8): every form of a
# password in hosts and config.yml is stored as ********, and so is a
# variable a password is made from; `ezk diff` compares the same way. No
# test host is needed (a play on localhost).
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/noop"
cat >"$R/steps.lua" <<'EOF2'
return { { id = "01", alias = "noop", plays = { { hosts = "localhost", roles = { "noop" } } } } }
EOF2
echo 'command { cmd = "true", changed_when = false }' >"$R/noop/main.lua"
local_cluster c
D=$EZK_HOME/clusters/c
cat >>"$D/hosts" <<'EOF2'
ansible_ssh_pass=Hash#Leak2
ansible_become_pass="Qu0te\"Leak1"
pw_base=Base3Leak
ansible_become_password="{{ pw_base }}-x"
[kube_node]
127.0.0.10 ansible_password='Sq4Leak' other=1
EOF2
cat >>"$D/config.yml" <<'EOF2'
"ansible_ssh_password": Yaml5Leak
ansible_sudo_pass: |
  Block6Leak
  Block7Leak
after_block: kept-in-clear
EOF2
run "$EZK" setup c 01
is "$rc" 0 "setup records the history"
hist=$(git -C "$D" log -p --all)
for leak in Hash Leak2 Qu0te Leak1 Base3Leak Sq4Leak Yaml5Leak Block6Leak Block7Leak; do
	unlike "$hist" "$leak" "the history holds no '$leak'"
done
like "$hist" "kept-in-clear" "... and keeps what is no secret"
like "$(git -C "$D" show HEAD:hosts)" '^pw_base=\*{8}$' "a variable a password is made from is stored as ********"
like "$(git -C "$D" show HEAD:hosts)" "^127.0.0.10 ansible_password='\\*{8}' other=1$" "a host line's password, the rest of the line kept"
like "$(git -C "$D" show HEAD:config.yml)" '^after_block: kept-in-clear$' "the key after a block scalar is kept"
run "$EZK" diff c
like "$out" "^no edits since the last setup" "ezk diff redacts the same way: nothing pending"
sed -i 's/^pw_base=Base3Leak$/pw_base=Base3Leak-changed/' "$D/hosts"
run "$EZK" diff c
unlike "$out" "Base3Leak" "an edit to a secret's source: ezk diff does not show it"

# inventory --host: a variable made from a password is masked too
cat >>"$D/hosts" <<'EOF2'
[kube_node:vars]
derived="user:{{ ansible_password }}@x"
EOF2
run "$EZK" inventory c --host 127.0.0.10
is "$rc" 0 "inventory --host: exit 0"
unlike "$out" "Sq4Leak" "inventory --host: no password, not even inside another variable"
like "$out" '"derived": "user:\*{8}@x"' "... the variable made from it shows ********"

# ezk check: a password in a file others can read
chmod 644 "$D/hosts"
run "$EZK" check c
like "$err" "clusters/c/hosts: warning: holds a password and is readable by every user \(mode 0644\): chmod 600" "check warns about a password in a world-readable hosts"
chmod 600 "$D/hosts"
run "$EZK" check c
unlike "$err" "clusters/c/hosts: warning: holds a password" "... not once it is 0600"

# the history is its owner's only
is "$(stat -c %a "$D/.git")" "700" ".git is 0700"
done_testing
