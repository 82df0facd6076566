# The file modules (file, copy, command/shell, lineinfile, blockinfile,
# template, fetch, unarchive) through `ezk setup` on two systemd test hosts:
# a first run changes the hosts, a second changes nothing, a --check run after
# editing the role and the hosts changes nothing on them (th_upper_digest) but
# reports what would change, --diff shows unified diffs, and the failures say
# why (a template error with its file:line).
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home

th_start 2 || { fail "2 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
D=/srv/ezk-t
R=$T/roles/t
mkdir -p "$R/files" "$R/templates" "$T/roles/bad/templates" "$T/fetched" "$T/src/bundle/bin"
export EZK_ROLES=$T/roles:$EZK_SRC/roles

"$EZK" new c1 >/dev/null
cat >"$EZK_HOME/clusters/c1/hosts" <<EOF
[etcd]
$A greeting=hello-a

[kube_master]
$A

[kube_node]
$B

[all:vars]
ansible_user=root
fetch_dir=$T/fetched
EOF

cat >"$T/roles/steps.lua" <<'EOF'
return {
  { id = "01", alias = "t", plays = { { hosts = "all", roles = { "t" } } } },
  { id = "02", alias = "bad", plays = { { hosts = "all", roles = { "bad" } } } },
  { id = "03", alias = "odd", plays = { { hosts = "all", roles = { "odd" } } } },
}
EOF

# ---- version 1 of the role
cat >"$R/defaults.yml" <<'EOF'
greeting: hello-default
t_port: 8080
EOF
printf 'src=1\n' >"$R/files/src.conf"
cat >"$R/templates/t.conf.j2" <<'EOF'
# {{ inventory_hostname }}
greeting: {{ greeting }}
port: {{ t_port }}
extra: {{ extra }}
{% for h in groups['kube_node'] %}
node: {{ h }}
{% endfor %}
EOF
printf 'tool v1\n' >"$T/src/bundle/bin/tool"
printf 'readme v1\n' >"$T/src/bundle/README"
tar -czf "$R/files/bundle.tar.gz" -C "$T/src" bundle

# v1 and v2 differ where v appears; 21 tasks each
role() { # role VERSION: writes main.lua
	local v=$1
	cat >"$R/main.lua" <<EOF
local D = "$D"
local v = $v
file { title = "dir", path = D .. "/d", state = "directory", mode = v == 1 and "0750" or "0755" }
file { title = "v1", path = D .. "/v1", state = "directory" }
file { title = "v2", path = D .. "/v2", state = "directory" }
file { title = "link", path = D .. "/cur", state = "link", src = D .. "/v" .. v }
file { title = "touch", path = D .. (v == 1 and "/d/touched" or "/d/touched2"), state = "touch", mode = "0600" }
file { title = "absent", path = "/srv/ezk-t-junk", state = "absent" }
file { title = "attrs", path = "/etc/ezk-t-existing", state = "file", mode = "0600" }
copy { title = "copy content", dest = D .. "/copy.conf", content = "copy=" .. v .. "\n" }
copy { title = "copy src", dest = D .. "/copy-src.conf", src = "src.conf", mode = "0640" }
command { title = "command", cmd = "touch " .. D .. "/cmd-" .. v, creates = D .. "/cmd-" .. v }
shell { title = "shell", cmd = "echo " .. v .. " > " .. D .. "/shell-out", unless = "grep -qx " .. v .. " " .. D .. "/shell-out" }
lineinfile { title = "li replace", path = D .. "/li.conf", regexp = "^b=", line = "b=" .. (v + 2) }
lineinfile { title = "li after", path = D .. "/li.conf", insertafter = "^\\\\[sec\\\\]", line = "y=2" }
lineinfile { title = "li absent", path = D .. "/li.conf", regexp = v == 1 and "^a=" or "^x=", state = "absent" }
lineinfile { title = "li create", path = D .. "/new/li-new.conf", line = "k=v", create = true, mode = "0640" }
blockinfile { title = "bi main", path = D .. "/bi.conf", create = true,
  block = "host " .. ezk.vars.inventory_hostname .. "\nport " .. v }
blockinfile { title = "bi second", path = D .. "/bi.conf", marker = "## {mark} second", block = "second",
  insertbefore = "BOF", state = v == 1 and "present" or "absent" }
template { title = "template", src = "t.conf.j2", dest = D .. "/t.conf", mode = "0644", vars = { extra = "x" .. v } }
fetch { title = "fetch tree", src = D .. "/t.conf", dest = ezk.vars.fetch_dir .. "/tree", flat = false }
fetch { title = "fetch flat", src = D .. "/fetchme", dest = ezk.vars.fetch_dir .. "/flat-" .. ezk.vars.inventory_hostname .. "/" }
unarchive { title = "unarchive", src = "bundle.tar.gz", dest = "/opt/ezk-t/bundle", extra_opts = { "--strip-components=1" } }
EOF
}
role 1

# ev_setup NAME c1 ARGS..., ev_recap, ev_titles, ev_msg: tests/harness/events.sh
hx() { th_exec "$@" 2>&1; }

# what is on the hosts before the first run
for i in 0 1; do
	th_exec $i sh -c "mkdir -p $D /srv/ezk-t-junk/sub && touch /srv/ezk-t-junk/sub/f &&
		printf 'a=1\nb=2\n[sec]\nx=1\n' >$D/li.conf && chmod 600 $D/li.conf &&
		printf 'keep\n' >$D/bi.conf &&
		printf 'fetch one\n' >$D/fetchme && printf 'e\n' >/etc/ezk-t-existing && chmod 644 /etc/ezk-t-existing"
done

# ---- 1: the first run changes every host
ev_setup first c1 01
is "$rc" 0 "first run: exit 0"
for h in $A $B; do
	is "$(ev_recap first $h)" "ok=0 changed=21 failed=0 skipped=0 unreachable=0" "first run: all 21 tasks changed $h"
done
is "$(hx 0 stat -c '%F %a' $D/d $D/d/touched /etc/ezk-t-existing)" "directory 750
regular empty file 600
regular file 600" "file: directory 0750, touched file 0600, mode of an existing file"
is "$(hx 0 readlink $D/cur)" "$D/v1" "file: link to v1"
is "$(hx 0 sh -c 'test -e /srv/ezk-t-junk && echo there || echo gone')" "gone" "file: absent removed a tree"
is "$(hx 1 cat $D/copy.conf $D/copy-src.conf; hx 1 stat -c %a $D/copy-src.conf)" "copy=1
src=1
640" "copy: content, and src from files/ with a mode"
is "$(hx 0 sh -c "ls $D/cmd-1 && cat $D/shell-out")" "$D/cmd-1
1" "command and shell ran"
is "$(hx 0 cat $D/li.conf)" "b=3
[sec]
y=2
x=1" "lineinfile: regexp replaced, inserted after [sec], a= removed"
is "$(hx 0 stat -c %a $D/li.conf)" 600 "lineinfile: the file's mode is kept"
is "$(hx 1 cat $D/new/li-new.conf; hx 1 stat -c %a $D/new/li-new.conf)" "k=v
640" "lineinfile: create=true made the file and its directory, with the mode"
is "$(hx 1 cat $D/bi.conf)" "## BEGIN second
second
## END second
keep
# BEGIN EZK MANAGED BLOCK
host $B
port 1
# END EZK MANAGED BLOCK" "blockinfile: two blocks, one at BOF with its own marker, one appended"
is "$(hx 0 cat $D/t.conf)" "# $A
greeting: hello-a
port: 8080
extra: x1
node: $B" "template: inventory variable, defaults.yml, vars table, groups (on $A)"
is "$(hx 1 sed -n 2p $D/t.conf)" "greeting: hello-default" "template: defaults.yml where the inventory says nothing (on $B)"
is "$(hx 0 tail -c1 $D/t.conf | od -An -c | tr -d ' ')" '\n' "template: the final newline is kept"
is "$(cat "$T/fetched/tree/$A$D/t.conf" | head -1)" "# $A" "fetch flat=false: dest/<host>/<src path> ($A)"
is "$(cat "$T/fetched/tree/$B$D/t.conf" | head -1)" "# $B" "... ($B)"
is "$(cat "$T/fetched/flat-$A/fetchme")" "fetch one" "fetch flat: dest/ + base name"
is "$(hx 0 cat /opt/ezk-t/bundle/bin/tool /opt/ezk-t/bundle/README)" "tool v1
readme v1" "unarchive: extracted with --strip-components=1"
is "$(hx 0 sh -c 'ls -A /opt/ezk-t/bundle | grep ezk-archive')" "" "unarchive: the uploaded tarball is gone"
like "$(hx 0 cat /opt/ezk-t/bundle/.ezk-unarchive-bundle.tar.gz.sha256)" "^$(sha256sum "$R/files/bundle.tar.gz" | cut -c1-64)\$" "unarchive: marker holds the tarball's sha256"
ino1=$(hx 0 stat -c '%i %Y' /opt/ezk-t/bundle/bin/tool)

# ---- 2: the same again changes nothing
ev_setup second c1 01
is "$rc" 0 "second run: exit 0"
for h in $A $B; do
	is "$(ev_recap second $h)" "ok=21 changed=0 failed=0 skipped=0 unreachable=0" "second run: nothing changed on $h"
done
is "$(hx 0 stat -c '%i %Y' /opt/ezk-t/bundle/bin/tool)" "$ino1" "unarchive: a second run did not extract again (inode, mtime)"
is "$(grep -c " $R/files/src.conf\$" "$EZK_HOME/clusters/c1/logs/.sha256-cache")" 1 \
	"the deploy node's file sums are kept for later runs (logs/.sha256-cache)"

# (src.conf keeps its size below: only its mtime tells the cache it changed,
# and --check must still see "copy src" would change)

# ---- 3: edit the role and the hosts; --check changes nothing but says what would
role 2
printf 'src=2\n' >"$R/files/src.conf"
printf 'added line\n' >>"$R/templates/t.conf.j2"
sed -i 's/^t_port: 8080/t_port: 9090/' "$R/defaults.yml"
printf 'tool v2\n' >"$T/src/bundle/bin/tool"
tar -czf "$R/files/bundle.tar.gz" -C "$T/src" bundle
for i in 0 1; do
	th_exec $i sh -c "mkdir /srv/ezk-t-junk && chmod 644 /etc/ezk-t-existing && printf 'fetch two\n' >$D/fetchme"
done
d0=$(th_upper_digest 0) d1=$(th_upper_digest 1)
ev_setup check c1 01 --check
is "$rc" 0 "--check: exit 0"
would="absent,attrs,bi main,bi second,command,copy content,copy src,dir,fetch flat,li absent,li replace,link,shell,template,touch,unarchive"
for h in $A $B; do
	is "$(ev_titles check $h changed)" "$would" "--check: the would-be changes are reported as changed on $h"
	is "$(ev_titles check $h ok)" "fetch tree,li after,li create,v1,v2" "--check: the rest ok on $h"
done
is "$(ev_msg check $A unarchive)" "would extract bundle.tar.gz into /opt/ezk-t/bundle" "--check: unarchive says it would extract"
is "$(th_upper_digest 0)" "$d0" "--check changed nothing on $A"
is "$(th_upper_digest 1)" "$d1" "--check changed nothing on $B"
is "$(cat "$T/fetched/flat-$A/fetchme")" "fetch one" "--check: fetch did not touch the local file"

# ---- 4: --check --diff (the terminal's output): unified diffs, still nothing changed
t0=$(date +%s%N)
run "$EZK" setup c1 01 --key "$TH_KEY" --check --diff
echo "# setup check-diff: $((($(date +%s%N) - t0) / 1000000)) ms"
printf '%s\n' "$out" >"$T/raw.check-diff"
is "$rc" 0 "--check --diff: exit 0"
for pat in "^--- $D/li.conf \\(before\\)" "^\\+\\+\\+ $D/li.conf \\(after\\)" \
	'^-b=3$' '^\+b=4$' '^-x=1$' \
	'^-port 1$' '^\+port 2$' '^-## BEGIN second$' \
	'^-copy=1$' '^\+copy=2$' '^-src=1$' '^\+src=2$' \
	'^-port: 8080$' '^\+port: 9090$' '^\+added line$' \
	'^-mode: 0750$' '^\+mode: 0755$' "^-src: $D/v1\$" "^\\+src: $D/v2\$" '^-state: absent$' '^\+state: file$' \
	'^-mode: 0644$' '^\+mode: 0600$' '^-state: directory$' \
	'^-fetch one$' '^\+fetch two$' \
	'^\+bundle.tar.gz sha256 [0-9a-f]{64}$'; do
	like "$out" "$pat" "--diff shows $pat"
done
is "$(th_upper_digest 0)" "$d0" "--check --diff changed nothing on $A"
is "$(th_upper_digest 1)" "$d1" "--check --diff changed nothing on $B"

# ---- 5: apply version 2 with --diff
run "$EZK" setup c1 01 --key "$TH_KEY" --diff
is "$rc" 0 "apply v2: exit 0"
like "$out" '^\+b=4$' "apply --diff shows the diff too"
is "$(hx 0 readlink $D/cur)" "$D/v2" "file: link retargeted to v2"
is "$(hx 0 stat -c '%a' $D/d $D/d/touched2 /etc/ezk-t-existing)" "755
600
600" "file: directory mode, new touch, existing file's mode fixed again"
is "$(hx 1 cat $D/li.conf)" "b=4
[sec]
y=2" "lineinfile: replaced again, x= removed, y=2 not inserted twice"
is "$(hx 0 cat $D/bi.conf)" "keep
# BEGIN EZK MANAGED BLOCK
host $A
port 2
# END EZK MANAGED BLOCK" "blockinfile: block updated in place, second block removed with its markers"
is "$(hx 1 sed -n '3p;$p' $D/t.conf)" "port: 9090
added line" "template: the edited template and defaults.yml"
is "$(cat "$T/fetched/flat-$B/fetchme"; sed -n 3p "$T/fetched/tree/$B$D/t.conf")" "fetch two
port: 9090" "fetch: changed files fetched again"
is "$(hx 1 cat /opt/ezk-t/bundle/bin/tool)" "tool v2" "unarchive: the new tarball extracted"
ino2=$(hx 1 stat -c '%i %Y' /opt/ezk-t/bundle/bin/tool)

ev_setup again c1 01
for h in $A $B; do
	is "$(ev_recap again $h)" "ok=21 changed=0 failed=0 skipped=0 unreachable=0" "v2 again: nothing changed on $h"
done
is "$(hx 1 stat -c '%i %Y' /opt/ezk-t/bundle/bin/tool)" "$ino2" "unarchive: not extracted again"

# ---- 6: failures say why; a template error names its file and line
cat >"$T/roles/bad/templates/bad.j2" <<'EOF'
line one
line two {{ greeting }}
line three {{ no_such_var }}
EOF
cat >"$T/roles/bad/main.lua" <<EOF
local D = "$D"
template { title = "bad template", src = "bad.j2", dest = D .. "/bad.conf", ignore_errors = true }
file { title = "rm /", path = "/", state = "absent", ignore_errors = true }
file { title = "missing file", path = D .. "/missing", state = "file", ignore_errors = true }
file { title = "file in the way", path = D .. "/copy.conf", state = "link", src = D .. "/v1", ignore_errors = true }
lineinfile { title = "li missing", path = D .. "/missing.conf", line = "x", ignore_errors = true }
lineinfile { title = "li bad regexp", path = D .. "/li.conf", regexp = "(", line = "x", ignore_errors = true }
blockinfile { title = "bi missing", path = D .. "/missing.conf", block = "x", ignore_errors = true }
fetch { title = "fetch missing", src = D .. "/missing", dest = ezk.vars.fetch_dir .. "/m", ignore_errors = true }
unarchive { title = "unarchive missing", src = "nope.tgz", dest = "/opt/ezk-t/x", ignore_errors = true }
EOF
ev_setup bad c1 02
is "$(ev_titles bad $A failed)" "bad template,bi missing,fetch missing,file in the way,li bad regexp,li missing,missing file,rm /,unarchive missing" "every bad task failed"
like "$(ev_msg bad $A 'bad template')" "bad\\.j2:3: .*no_such_var.* is undefined" "template error: file:line and what"
like "$(ev_msg bad $A 'rm /')" "refusing to remove /" "file absent refuses /"
like "$(ev_msg bad $A 'missing file')" "does not exist" "file state=file: missing path"
like "$(ev_msg bad $A 'file in the way')" "exists and is not a link \\(force=true" "file link: a file in the way"
like "$(ev_msg bad $A 'li missing')" "missing.conf does not exist \\(create=true" "lineinfile: missing file without create"
like "$(ev_msg bad $A 'li bad regexp')" "bad regular expression" "lineinfile: a bad regexp"
like "$(ev_msg bad $A 'fetch missing')" "remote file does not exist" "fetch: missing remote file"
like "$(ev_msg bad $A 'unarchive missing')" "nope.tgz" "unarchive: missing tarball"
is "$(hx 0 sh -c "test -e $D/bad.conf && echo made || echo none; readlink $D/copy.conf || echo file")" "none
file" "failed tasks changed nothing"

# ---- links whose targets look like stat's own output (" -> ", "|") and a
# sysctl.d file without its last newline: known as they are on a rerun
mkdir -p "$T/roles/odd"
cat >"$T/roles/odd/main.lua" <<EOF
file { title = "arrow", path = "$D/odd1", state = "link", src = "$D/a -> b", force = true }
file { title = "bars", path = "$D/odd2", state = "link", src = "$D/x|y|", force = true }
sysctl { title = "no newline", name = "kernel.shmmni", value = 4096, file = "$D/odd.conf" }
EOF
th_exec 0 sh -c "printf '# kept\\nkernel.shmmni = 4096' >$D/odd.conf"
ev_setup odd1 c1 03
is "$(ev_titles odd1 $A changed)" "arrow,bars" "odd links: made on the first run"
is "$(hx 0 readlink $D/odd1 $D/odd2)" "$D/a -> b
$D/x|y|" "... with those targets"
ev_setup odd2 c1 03
is "$(ev_recap odd2 $A)" "ok=3 changed=0 failed=0 skipped=0 unreachable=0" "odd links and the file without its newline: nothing changed on the rerun"
is "$(hx 0 tail -c 4 $D/odd.conf)" "4096" "... the file kept as it was (no newline added)"
