# File operations through the host's SFTP server (ezk.fs, ssh/sftp.c): no
# process on the host. The API itself (stats, reads of files, /proc/sys and
# links, a FIFO never opened, a big file in chunks, mkdir, chmod, symlink,
# rename, a batch of changes ending at its first failure, EZK_SFTP=0); the
# modules that use it (file directory and link, lineinfile's read, sysctl's
# reads) cost a first run no process for those steps and do the same as
# through the shell (EZK_SFTP=0); and a read-only /proc/sys, which SFTP
# cannot see, is still found and said as before. One test host.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
unset EZK_PERSIST

th_start 1 || { fail "1 test host starts"; done_testing; exit 1; }
A=${TH_ADDRS[0]}
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cat >"$CD/hosts" <<EOF
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=root
EOF
R=$T/roles
mkdir -p "$R/api" "$R/mods" "$R/ro"
export EZK_ROLES=$R:$EZK_SRC/roles
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "api", plays = { { hosts = "kube_master", roles = { "api" } } } },
  { id = "02", alias = "mods", plays = { { hosts = "kube_master", roles = { "mods" } } } },
  { id = "03", alias = "ro", plays = { { hosts = "kube_master", roles = { "ro" } } } },
}
EOF
D=/srv/fs
th_exec 0 sh -c "mkdir -p $D && printf 'one\ntwo' >$D/f && head -c 100000 /dev/urandom >$D/big &&
	printf 'a\0b' >$D/nul && ln -s f $D/l && mkfifo $D/fifo && mkdir $D/d && chmod 2775 $D/d"

# ---- the API: each result as "status kind mode size|data|target"
cat >"$R/api/main.lua" <<'EOF'
local D = "/srv/fs"
local function show(r)
  if not r then return "nil" end
  local t = {}
  for _, x in ipairs(r) do
    t[#t + 1] = string.format("%d %s %s %s|%s|%s", x.status, x.kind or "-", x.mode and string.format("%o", x.mode) or "-",
      x.size or "-", x.data and (#x.data > 40 and ("#" .. #x.data .. ":" .. ezk.sha256(x.data):sub(1, 12)) or
      x.data:gsub("%z", "\\0")) or "-", x.target or "-")
  end
  return table.concat(t, ";")
end
ezk.report("lstat", "ok", show(ezk.fs({ { "lstat", D .. "/f" }, { "lstat", D .. "/d" }, { "lstat", D .. "/l" },
  { "lstat", D .. "/nope" }, { "lstat", D .. "/fifo" } })))
ezk.report("read", "ok", show(ezk.fs({ { "read", D .. "/f" }, { "read", D .. "/nul" }, { "read", D .. "/l" },
  { "read", D .. "/fifo" }, { "read", D .. "/nope" }, { "read", D .. "/big" }, { "read", "/proc/sys/kernel/msgmax" },
  { "readlink", D .. "/l" } })))
ezk.report("writes", "ok", show(ezk.fs({ { "mkdir", D .. "/n", "777" }, { "chmod", D .. "/n", "2750" },
  { "symlink", D .. "/n/ln", "../f" }, { "symlink", D .. "/n/tmp", "d" }, { "rename", D .. "/n/tmp", D .. "/n/ln" },
  { "lstat", D .. "/n/ln" } })))
ezk.report("stops", "ok", show(ezk.fs({ { "mkdir", D .. "/no/such", "755" }, { "mkdir", D .. "/n2", "755" } })))
ezk.report("bad", "ok", tostring(pcall(ezk.fs, { { "mkdir", "relative", "755" } })))
EOF
ev_setup api c 01
is "$(ev_failed_any api)" "" "the API run has no failure"
is "$(ev_msg api "$A" lstat)" \
	"0 file 644 7|-|-;0 directory 2775 4096|-|-;0 link 777 1|-|-;2 - - -|-|-;0 other 644 0|-|-" \
	"lstat: a file, a directory (set-id bits too), a link (itself), a missing path (2), a FIFO"
big=$(th_exec 0 sha256sum $D/big | cut -c1-12)
is "$(ev_msg api "$A" read)" \
	"0 file 644 7|one | two|-;0 file 644 3|a\\0b|-;0 link 777 1|-|f;0 other 644 0|-|-;2 - - -|-|-;0 file 644 100000|#100000:$big|-;0 file 644 0|$(th_exec 0 cat /proc/sys/kernel/msgmax) | |-;0 link 777 1|-|f" \
	"read: bytes as they are (a NUL too), a link's target and no content, a FIFO not opened, missing, 100 kB in chunks, /proc/sys; readlink"
is "$(ev_msg api "$A" writes)" "0 - - -|-|-;0 - - -|-|-;0 - - -|-|-;0 - - -|-|-;0 - - -|-|-;0 link 777 1|-|-" \
	"writes: mkdir, chmod, symlink, another symlink renamed over the first"
is "$(th_exec 0 sh -c "stat -c %a $D/n; readlink $D/n/ln; ls -A $D/n")" "2750
d
ln" "... the directory's exact mode, the link replaced (no temporary left)"
like "$(ev_msg api "$A" stops)" "^2 - - -\\|-\\|-;-1 - - -\\|-\\|-$" "a failed change ends the batch: the next is not done (-1)"
is "$(th_exec 0 sh -c "test -e $D/n2 && echo made || echo none")" none "... and the host shows it"
like "$(ev_msg api "$A" bad)" "^false" "a relative path is an error in the role"
# through a kept session (--persist: the agent's SFTP channel, the same
# answers; the second run's session is the first one's)
th_exec 0 sh -c "rm -rf $D/n"
ev_setup apip1 c 01 --persist 30
th_exec 0 sh -c "rm -rf $D/n"
ev_setup apip2 c 01 --persist 30
for t in lstat read writes stops; do
	is "$(ev_msg apip1 "$A" $t) / $(ev_msg apip2 "$A" $t)" "$(ev_msg api "$A" $t) / $(ev_msg api "$A" $t)" \
		"--persist: $t answers the same, from a new and from a kept session"
done
rm -f "$CD"/.ezk-agent-*.sock # (the agent exits)
EZK_SFTP=0 ev_setup api0 c 01
is "$(ev_msg api0 "$A" lstat)" nil "EZK_SFTP=0: ezk.fs says nil (the modules use the shell)"

# ---- the modules: through SFTP, a first run and a rerun of these steps
# start no process on the host (the tools the shell would run log each call
# there: wrappers in the host's own /usr/bin), and do what they do through
# the shell (EZK_SFTP=0, whose calls the log shows)
cat >"$R/mods/main.lua" <<'EOF'
local D = "/srv/m"
file { title = "dir", path = D, state = "directory", mode = "0750" }
file { title = "subdir", path = D .. "/a", state = "directory" }
file { title = "link", path = D .. "/a/l", state = "link", src = "/etc/hostname" }
lineinfile { title = "line", path = "/etc/environment", regexp = "^EZKFS=", line = "EZKFS=1" }
lineinfile { title = "line mode", path = "/etc/default/ezkfs", line = "A=1", create = true, mode = "0640" }
sysctl { title = "sysctl", name = "kernel.msgmni", value = 2345, file = D .. "/90.conf" }
EOF
for t in mkdir ln mv cat grep readlink stat; do
	th_exec 0 sh -c "mv /usr/bin/$t /usr/bin/$t.real && printf '#!/bin/sh\\necho \"$t \$*\" >>/run/ezk-tools.log\\nexec /usr/bin/$t.real \"\$@\"\\n' >/usr/bin/$t && chmod 755 /usr/bin/$t"
done
tools() { th_exec 0 sh -c 'cat.real /run/ezk-tools.log 2>/dev/null; rm -f /run/ezk-tools.log' | awk '{ print $1 }' | sort -u | paste -sd, -; }
state() {
	th_exec 0 sh -c "stat.real -c '%a %F' /srv/m /srv/m/a; readlink.real /srv/m/a/l; grep.real EZKFS /etc/environment;
		stat.real -c %a /etc/default/ezkfs; cat.real /etc/default/ezkfs /srv/m/90.conf /proc/sys/kernel/msgmni" | tr '\n' ' '
}
want="750 directory 755 directory /etc/hostname EZKFS=1 640 A=1 kernel.msgmni = 2345 2345 "
tools >/dev/null
ev_setup mods c 02
is "$(ev_failed_any mods),$(ev_titles mods "$A" changed)" ",dir,line,line mode,link,subdir,sysctl" "modules through SFTP: each changed"
is "$(state)" "$want" "... the host as the role says"
is "$(tools)" "" "... no mkdir, ln, mv, cat, grep, readlink or stat on the host (the write's probe knows the size from the read)"
ev_setup mods2 c 02
is "$(ev_changed mods2 "$A")" 0 "the rerun changes nothing"
is "$(tools)" "" "... and runs none of them"
# the same through the shell
th_exec 0 sh -c "rm -rf /srv/m /etc/default/ezkfs; sed -i '/^EZKFS=/d' /etc/environment; echo 32000 >/proc/sys/kernel/msgmni"
tools >/dev/null
EZK_SFTP=0 ev_setup mods0 c 02
is "$(ev_failed_any mods0),$(ev_titles mods0 "$A" changed)" ",dir,line,line mode,link,subdir,sysctl" "EZK_SFTP=0: the same changes"
is "$(state)" "$want" "... the same host"
for t in dir subdir link line "line mode" sysctl; do
	is "$(ev_msg mods0 "$A" "$t")" "$(ev_msg mods "$A" "$t")" "... $t says the same"
done
like "$(tools)" "cat,.*grep,.*ln,mkdir,mv" "... through cat, grep, ln, mkdir and mv on the host (the log sees them)"
for t in mkdir ln mv cat grep readlink stat; do th_exec 0 mv /usr/bin/$t.real /usr/bin/$t; done

# ---- a read-only /proc/sys (a container's): SFTP reads the values but
# cannot tell; the write finds it, and says so as the shell's check does
cat >"$R/ro/main.lua" <<'EOF'
sysctl { title = "ro optional", name = "kernel.msgmni", value = 3456, file = "/srv/m/92.conf", optional = true }
sysctl { title = "ro", name = "kernel.msgmni", value = 3456, file = "/srv/m/91.conf" }
EOF
th_exec 0 sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys'
ev_setup ro c 03
is "$(st "$A" ro)" failed "read-only /proc/sys: the task fails"
like "$(ev_msg ro "$A" ro)" "/proc/sys/kernel/msgmni is read-only \\(/proc/sys is read-only: a container\\?\\); optional = true" \
	"... saying why, and what optional does"
is "$(st "$A" "ro optional")" changed "optional: the file is written"
like "$(ev_msg ro "$A" "ro optional")" "warning: kernel.msgmni not applied live \\(/proc/sys is read-only: a container\\?\\)" \
	"... with the warning"
is "$(th_exec 0 sh -c 'cat /srv/m/92.conf; test -e /srv/m/91.conf && echo made || echo none; cat /proc/sys/kernel/msgmni' | tr '\n' ' ')" \
	"kernel.msgmni = 3456 none 2345 " "... the live value untouched, the failed task's file not written"
th_exec 0 umount /proc/sys

done_testing
