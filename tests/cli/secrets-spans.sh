# Secrets in the history (issue 12, finding 8), read as the INI and YAML
# readers read them: the history's redaction replaces the exact bytes of
# each value the readers give (core/span.h), so the forms a text scanner
# cuts short are stored as ******** whole: a [vars] value with a blank (the
# rest of the line is the value), a host-line token quoted whole or with
# an escaped blank, a YAML plain scalar over two lines, a YAML complex key
# (? k : v). What only looks like a password inside another value is kept.
# Files that hold secrets are 0600 under umask 022 (logs, journal), the
# history is its owner's only, and `ezk check` warns about a hosts file
# others can read. No test host is needed (a play on localhost).
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
umask 022
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/noop"
cat >"$R/steps.lua" <<'STEPS'
return { { id = "01", alias = "noop", plays = { { hosts = "localhost", roles = { "noop" } } } } }
STEPS
echo 'command { cmd = "true", changed_when = false }' >"$R/noop/main.lua"
local_cluster c
D=$EZK_HOME/clusters/c
cat >>"$D/hosts" <<'HOSTS'
ansible_become_pass=Two Words8Leak
motd="ansible_ssh_pass=not-a-secret"
[kube_node]
127.0.0.10 "ansible_password=Sp ace10Leak" other=1
127.0.0.11 ansible_ssh_pass=a\ b11Leak other=2
HOSTS
cat >>"$D/config.yml" <<'YAML'
ansible_ssh_pass: first12Leak
  second13Leak
? ansible_sudo_pass
: Complex15Leak
note: "ansible_ssh_password: kept-as-is"
YAML
run "$EZK" inventory c --host 127.0.0.10
is "$rc" 0 "the files parse (inventory --host: exit 0)"
run "$EZK" setup c 01
is "$rc" 0 "setup records the history"
hist=$(git -C "$D" log -p --all)
for leak in Words8Leak ace10Leak b11Leak first12Leak second13Leak Complex15Leak; do
	unlike "$hist" "$leak" "the history holds no '$leak'"
done
H=$(git -C "$D" show HEAD:hosts)
Y=$(git -C "$D" show HEAD:config.yml)
like "$H" '^ansible_become_pass=\*{8}$' "a [vars] value with a blank: the whole rest of the line"
like "$H" '^127\.0\.0\.10 "ansible_password=\*{8}" other=1$' "a host token quoted whole: still one quoted token"
like "$H" '^127\.0\.0\.11 ansible_ssh_pass=\*{8} other=2$' "a host token with an escaped blank: the whole token's value"
like "$H" '^motd="ansible_ssh_pass=not-a-secret"$' "a value that only looks like a password is kept"
like "$Y" '^note: "ansible_ssh_password: kept-as-is"$' "... in config.yml too"
like "$Y" '^ansible_ssh_pass: "\*{8}"$' "a plain scalar over two lines: both"
like "$Y" '^: "\*{8}"$' "a complex key's value"
# what the history stores still reads as the same variables
printf '%s\n' "$H" >"$T/hosts.stored"
printf '%s\n' "$Y" >"$T/config.stored"
mkdir -p "$EZK_HOME/clusters/s"
cp "$T/hosts.stored" "$EZK_HOME/clusters/s/hosts"
cp "$T/config.stored" "$EZK_HOME/clusters/s/config.yml"
run "$EZK" inventory s --host 127.0.0.10
is "$rc" 0 "the stored files parse"
like "$out" '"ansible_password": "\*{8}"' "... the host token's value is ********"
like "$out" '"other": 1' "... the token after it is still its own"
run "$EZK" diff c
like "$out" "^no edits since the last setup" "ezk diff redacts the same way: nothing pending"

# files that hold secrets: 0600 under umask 022; the history its owner's
for f in "$D"/logs/*; do
	[ -f "$f" ] || continue
	is "$(stat -c %a "$f")" 600 "$(basename "$f") is 0600 under umask 022"
done
is "$(stat -c %a "$D/.git")" 700 ".git is 0700 (its objects are its owner's only)"
others=$(find "$D/.git" -perm -o=r -type f 2>/dev/null | head -1)
dirs_ok=$(find "$D/.git" -maxdepth 0 -perm -o=x | wc -l)
is "$dirs_ok" 0 "... others cannot enter it to read an object${others:+ (such as ${others#$D/})}"

# ezk check: a password in a hosts file others can read
chmod 644 "$D/hosts"
run "$EZK" check c
like "$err" "clusters/c/hosts: warning: holds a password and is readable by every user \(mode 0644\): chmod 600" "check warns about a password in a world-readable hosts"
done_testing
