# The system modules (roles/lib: sysctl, modprobe, swap, hostname,
# hosts_block, systemd_unit, service, package, user, group, wait_for) through
# `ezk setup` on two systemd test hosts: each first run changes the hosts,
# a rerun changes nothing, --check changes nothing (th_upper_digest) and
# reports what it would, --diff shows unified diffs; a service is restarted
# only when something it depends on changed (notify + handler); failures say
# why; state=absent undoes it all.
#
# Safe for the machine: hosts share its kernel, so the only live sysctl
# values are per IPC namespace (kernel.msgmax, kernel.shmmax set; kernel.msgmnb
# asked for the value it already has); net.* is only written to files
# (apply = false). swap is tested on fstab alone and only when the
# machine has no active swap (/proc/swaps is the kernel's).
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home
PY=/usr/bin/python3

t_start=$(date +%s%N)
th_start 2 || { fail "2 test hosts start"; done_testing; exit 1; }
A=${TH_ADDRS[0]} B=${TH_ADDRS[1]}
HOSTS_=("$A" "$B")

# A port on ADDR that nothing listens on (the kernel picks it).
free_port_on() {
	$PY -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}

# ---- the hosts: a swap line in fstab; PackageKit's dpkg hook (a D-Bus call
# that times out after 4 s in a test host) masked so that apt is quick.
swap_ok=yes
if [ -n "$(tail -n +2 /proc/swaps)" ]; then swap_ok=no; fi
for i in 0 1; do
	th_exec $i sh -c 'printf "/ezk-swapfile none swap sw 0 0\n" >> /etc/fstab; systemctl mask --quiet packagekit.service 2>/dev/null; true'
done
msgmnb=$(th_exec 0 cat /proc/sys/kernel/msgmnb)

# ---- a tiny .deb, built here
mkdir -p "$T/pkg/ezk-hello/DEBIAN" "$T/pkg/ezk-hello/usr/share/ezk-hello"
cat >"$T/pkg/ezk-hello/DEBIAN/control" <<EOF
Package: ezk-hello
Version: 1.0
Architecture: all
Maintainer: ezk tests <tests@example.invalid>
Description: a package for ezk's tests
EOF
echo hello >"$T/pkg/ezk-hello/usr/share/ezk-hello/hello"
dpkg-deb --build --root-owner-group "$T/pkg/ezk-hello" "$T/pkg/ezk-hello_1.0_all.deb" >/dev/null ||
	fail "dpkg-deb --build"

# ---- the cluster
# a directory of .deb files, as a bundle's packages/debian_12/: ezk-tool
# needs ezk-lib; ezk-extra is there but not asked for
mkdeb() { # NAME [DEPENDS]
	mkdir -p "$T/repo-src/$1/DEBIAN" "$T/repo-src/$1/usr/share/$1" "$T/repo"
	{
		printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: ezk tests <tests@example.invalid>\n' "$1"
		[ -z "${2:-}" ] || printf 'Depends: %s\n' "$2"
		printf 'Description: ezk test\n'
	} >"$T/repo-src/$1/DEBIAN/control"
	echo "$1" >"$T/repo-src/$1/usr/share/$1/x"
	dpkg-deb --build --root-owner-group "$T/repo-src/$1" "$T/repo/$1_1.0_all.deb" >/dev/null || fail "dpkg-deb --build $1"
}
mkdeb ezk-lib
mkdeb ezk-tool ezk-lib
mkdeb ezk-extra
apt_state() { th_exec 0 sh -c 'ls /var/lib/apt/lists; cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null' | sha256sum; }
lists0=$(apt_state)

"$EZK" new c1 >/dev/null
cat >"$EZK_HOME/clusters/c1/hosts" <<EOF
[etcd]
$A http_port=$(free_port_on "$A") dead_port=$(free_port_on "$A")
$B http_port=$(free_port_on "$B") dead_port=$(free_port_on "$B")

[kube_master]
$A

[kube_node]
$B

[all:vars]
ansible_user=root
SWAP_OK=$([ $swap_ok = yes ] && echo 1 || echo 0)
MSGMNB=$msgmnb
DEB=$T/pkg/ezk-hello_1.0_all.deb
REPO=$T/repo
EOF

# ---- the roles
mkdir -p "$T/roles/t/templates" "$T/roles/t2" "$T/roles/f" "$T/roles/gone"
cat >"$T/roles/steps.lua" <<'EOF'
return {
  { id = "01", alias = "t", plays = { { hosts = "all", roles = { "t", "t2" } } } },
  { id = "02", alias = "f", plays = { { hosts = "all", roles = { "f" } } } },
  { id = "03", alias = "gone", plays = { { hosts = "all", roles = { "gone" } } } },
}
EOF
cat >"$T/roles/t/templates/ezk-http.service.j2" <<'EOF'
[Unit]
Description=ezk test http server on {{ inventory_hostname }}
[Service]
ExecStart=/usr/bin/python3 -m http.server --bind {{ inventory_hostname }} {{ http_port }} --directory /usr/share/ezk-http
EOF
cat >"$T/roles/t/main.lua" <<'EOF'
local me = ezk.vars.inventory_hostname
local P2 = tostring(ezk.vars.PHASE) == "2"
local tag = me:gsub("%.", "-")

sysctl { title = "T sysctl live", name = "kernel.msgmax", value = P2 and 32768 or 16384 }
sysctl { title = "T sysctl file only", name = "net.ipv4.ip_forward", value = 1, apply = false }
sysctl { title = "T sysctl values", values = { ["kernel.msgmnb"] = ezk.vars.MSGMNB, ["kernel.shmmax"] = "68719476736" } }
modprobe { title = "T modprobe own file", name = "ezk_test_mod", optional = true }
modprobe { title = "T modprobe shared file", optional = true, persist = "10-k8s-modules.conf",
  name = P2 and { "ezk_mod_a", "ezk_mod_b", "ezk_mod_c" } or { "ezk_mod_a", "ezk_mod_b" } }
swap { title = "T swap", when = tostring(ezk.vars.SWAP_OK) == "1" }
hostname { title = "T hostname", name = (P2 and "p2-" or "node-") .. tag }
local entries = { { "198.18.0.1", "ezk-m1", "ezk-m1.cluster" }, "198.18.0.2   ezk-n1", { ip = "198.18.0.3", names = { "ezk-n2" } } }
if P2 then entries[#entries + 1] = "198.18.0.4 ezk-n3" end
hosts_block { title = "T hosts", entries = entries }
group { title = "T group", name = "ezkg", gid = P2 and 2346 or 2345 }
user { title = "T user", name = "ezku", uid = 2345, group = "ezkg", groups = { "users" }, home = "/home/ezku",
  shell = P2 and "/bin/bash" or "/bin/sh" }
systemd_unit { title = "T unit", name = "ezk-demo", notify = "restart demo", content =
  "[Unit]\nDescription=ezk demo" .. (P2 and " v2" or "") .. "\n[Service]\nExecStart=/bin/sleep infinity\n" ..
  "[Install]\nWantedBy=multi-user.target\n" }
copy { title = "T demo conf", dest = "/etc/ezk-demo.conf", content = "v=" .. tostring(ezk.vars.DEMO_CONF or "a") .. "\n",
  notify = "restart demo" }
service { title = "T demo service", name = "ezk-demo", state = "started", enabled = true }
systemd_unit { title = "T http unit", name = "ezk-http.service", template = "ezk-http.service.j2" }
command { title = "T http dir", cmd = "mkdir -p /usr/share/ezk-http", creates = "/usr/share/ezk-http" }
service { title = "T http service", name = "ezk-http", state = "started" }
wait_for { title = "T wait port", port = ezk.vars.http_port, host = me, timeout = 20 }
wait_for { title = "T wait url", url = "http://" .. me .. ":" .. tostring(ezk.vars.http_port) .. "/", timeout = 20 }
wait_for { title = "T wait cmd", cmd = "systemctl is-active ezk-demo", timeout = 20 }
package { title = "T pkg installed", name = "coreutils" }
package { title = "T pkg deb", deb = ezk.vars.DEB }
package { title = "T pkg repo", name = "ezk-tool", repo = ezk.vars.REPO }
if P2 then
  copy { title = "T flag", dest = "/etc/ezk-flag", content = "x\n" }
  wait_for { title = "T wait path", path = "/etc/ezk-flag", timeout = 5 }
end
ezk.handler("restart demo", function() service { title = "T restart demo", name = "ezk-demo", state = "restarted" } end)
EOF
cat >"$T/roles/t2/main.lua" <<'EOF'
local P2 = tostring(ezk.vars.PHASE) == "2"
systemd_unit { title = "T2 idle unit", name = "ezk-idle", content = "[Unit]\nDescription=ezk idle " ..
  (P2 and "v2" or "v1") .. "\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n" }
service { title = "T2 idle service", name = "ezk-idle", state = "started", when = not P2 }
EOF
cat >"$T/roles/f/main.lua" <<'EOF'
local me = ezk.vars.inventory_hostname
modprobe { title = "F modprobe fake ok", name = "ezk_fake_mod", persist = false }
modprobe { title = "F modprobe missing", name = "ezk_no_such_module", persist = false, ignore_errors = true }
modprobe { title = "F modprobe optional", name = "ezk_no_such_module", persist = false, optional = true }
sysctl { title = "F sysctl unknown", name = "kernel.ezk_no_such_param", value = 1, ignore_errors = true }
sysctl { title = "F sysctl bad name", name = "kernel/../../etc/passwd", value = 1, ignore_errors = true }
wait_for { title = "F wait timeout", port = ezk.vars.dead_port, host = me, timeout = 1, ignore_errors = true }
wait_for { title = "F wait stopped", port = ezk.vars.dead_port, host = me, state = "stopped", timeout = 5 }
wait_for { title = "F wait cmd timeout", cmd = "echo not-yet >&2; exit 3", timeout = 1, sleep = 0.2, ignore_errors = true }
service { title = "F service no unit", name = "ezk-nonexistent", state = "started", ignore_errors = true }
service { title = "F service no unit stopped", name = "ezk-nonexistent", state = "stopped", enabled = false }
systemd_unit { title = "F bad unit", name = "ezk-bad", content =
  "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo ezk-bad-says-no; exit 7'\n" }
service { title = "F service start fails", name = "ezk-bad", state = "started", ignore_errors = true }
user { title = "F user bad group", name = "ezkx", group = "ezk-no-such-group", ignore_errors = true }
package { title = "F pkg unknown", name = "ezk-no-such-package", ignore_errors = true }
service { title = "F reload http", name = "ezk-http", state = "reloaded" }
service { title = "F mask etc unit", name = "ezk-idle", masked = true, ignore_errors = true }
EOF
cat >"$T/roles/gone/main.lua" <<'EOF'
local me = ezk.vars.inventory_hostname
service { title = "G stop http", name = "ezk-http", state = "stopped" }
wait_for { title = "G wait port closed", port = ezk.vars.http_port, host = me, state = "stopped", timeout = 10 }
service { title = "G stop demo", name = "ezk-demo", state = "stopped", enabled = false }
systemd_unit { title = "G unit absent", name = "ezk-demo", state = "absent" }
service { title = "G demo gone", name = "ezk-demo", state = "stopped" }
package { title = "G pkg absent", name = "ezk-hello", state = "absent" }
user { title = "G user absent", name = "ezku", state = "absent", remove = true }
group { title = "G group absent", name = "ezkg", state = "absent" }
hosts_block { title = "G hosts absent", state = "absent" }
sysctl { title = "G sysctl absent", name = "kernel.shmmax", state = "absent" }
modprobe { title = "G modprobe absent", name = "ezk_test_mod", state = "absent" }
modprobe { title = "G modprobe absent shared", name = "ezk_mod_b", state = "absent", persist = "10-k8s-modules.conf" }
systemd_unit { title = "G vendor unit", name = "ezk-vendor", dest = "/usr/lib/systemd/system/ezk-vendor.service",
  content = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n" }
service { title = "G vendor started", name = "ezk-vendor", state = "started", when = tostring(ezk.vars.MASK) ~= "1" }
service { title = "G mask vendor", name = "ezk-vendor", state = "stopped", masked = true, when = tostring(ezk.vars.MASK) == "1" }
EOF
export EZK_ROLES=$T/roles:$EZK_SRC/roles

# setup_json NAME ARGS...: `ezk setup c1 ARGS --json` (tests/harness/events.sh:
# $tasks, st HOST TITLE and msg HOST TITLE of the last run)
setup_json() { ev_setup "$1" c1 "${@:2}"; }
# both TITLE STATUS WHAT: that status on both hosts
both() {
	is "$(st "$A" "$1") $(st "$B" "$1")" "$2 $2" "$3: $1 $2 on both hosts"
}
recap_changed() { printf '%s\n' "$tasks" | awk -F'\t' -v h="$1" '$1 == "recap" && $2 == h { print $3 }' | sed 's/.*changed=\([0-9]*\).*/\1/'; }
no_changes() {
	is "$(recap_changed "$A") $(recap_changed "$B")" "0 0" "$1: changed=0 on every host"
	unlike "$tasks" $'\t(changed|failed)\t' "$1: no task changed or failed"
}
# likez TEXT REGEX NAME: a Python regex over the whole text (multi-line)
likez() {
	if printf '%s\n' "$1" | $PY -c 'import re, sys; sys.exit(0 if re.search(sys.argv[1], sys.stdin.read()) else 1)' "$2"; then
		pass "$3"
	else
		fail "$3" "does not match: $2"
	fi
}
demo_ts() { th_exec "$1" systemctl show -p ActiveEnterTimestampMonotonic -p InvocationID --value ezk-demo | tr '\n' ' '; }

# ================================================================ first run
t0=$(date +%s%N)
setup_json run1 01
echo "# first run: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "first run: exit 0"
[ "$rc" = 0 ] || { echo "$tasks" | grep -v $'\tok\t' | sed 's/^/# /'; cat "$T/run1.err" | sed 's/^/# /'; }
for t in "T sysctl live" "T sysctl file only" "T sysctl values" "T modprobe own file" "T modprobe shared file" \
	"T hostname" "T hosts" "T group" "T user" "T unit" "T demo conf" "T demo service" "T http unit" \
	"T http service" "T pkg deb" "T pkg repo" "T2 idle unit" "T2 idle service"; do
	both "$t" changed "first run"
done
like "$(msg "$A" "T pkg repo")" "^install ezk-tool from $T/repo" "package repo: says what it installed, from where"
# The unit and its config notified "restart demo" before "T demo service" first started it: a
# restart then would only start it twice.
both "T restart demo" ok "first run: the handler ran"
like "$(msg "$A" "T restart demo")" "^started by this role after what notified the restart: not restarted" \
	"first run: a service the role started after the change is not restarted again"
if [ $swap_ok = yes ]; then both "T swap" changed "first run"; else skip "the machine has active swap: swap not run"; fi
for t in "T wait port" "T wait url" "T wait cmd" "T pkg installed"; do
	both "$t" ok "first run"
done
like "$(msg "$A" "T modprobe own file")" "^warning: ezk_test_mod not loaded \(optional\): (modprobe is not installed|modprobe: FATAL: Module ezk_test_mod not found)" \
	"modprobe optional: the warning says why"
is "$(msg "$A" "T demo service")" "enable, start" "service: a unit systemd has not loaded yet needs no daemon-reload: enable, start"
like "$(msg "$A" "T pkg deb")" "install ezk-hello 1.0 \(ezk-hello_1.0_all.deb\)" "package deb: says what it installed"

for i in 0 1; do
	h=${HOSTS_[$i]} tag=${HOSTS_[$i]//./-}
	is "$(th_exec $i cat /etc/sysctl.d/95-k8s-sysctl.conf)" "kernel.msgmax = 16384
net.ipv4.ip_forward = 1
kernel.msgmnb = $msgmnb
kernel.shmmax = 68719476736" "sysctl ($h): one line per key in kubeasz's file"
	is "$(th_exec $i cat /proc/sys/kernel/msgmax /proc/sys/kernel/shmmax | tr '\n' ' ')" "16384 68719476736 " \
		"sysctl ($h): live values set (per IPC namespace)"
	is "$(th_exec $i cat /etc/modules-load.d/ezk_test_mod.conf)" "ezk_test_mod" "modprobe ($h): persisted in its own file"
	is "$(th_exec $i cat /etc/modules-load.d/10-k8s-modules.conf | tr '\n' ' ')" "ezk_mod_a ezk_mod_b " \
		"modprobe ($h): a shared file, a line per module"
	[ $swap_ok = yes ] && is "$(th_exec $i grep ezk-swapfile /etc/fstab)" "#/ezk-swapfile none swap sw 0 0" \
		"swap ($h): the fstab line commented out"
	is "$(th_exec $i sh -c 'hostname; cat /etc/hostname' | tr '\n' ' ')" "node-$tag node-$tag " "hostname ($h): live and /etc/hostname"
	is "$(th_exec $i sed -n '/^# BEGIN EZK MANAGED/,/^# END EZK MANAGED/p' /etc/hosts)" "# BEGIN EZK MANAGED
198.18.0.1 ezk-m1 ezk-m1.cluster
198.18.0.2 ezk-n1
198.18.0.3 ezk-n2
# END EZK MANAGED" "hosts_block ($h): the marked block"
	like "$(th_exec $i cat /etc/hosts)" "^127\.0\.0\.1[[:space:]]+localhost" "hosts_block ($h): the lines outside the block kept"
	is "$(th_exec $i getent group ezkg)" "ezkg:x:2345:" "group ($h): gid 2345"
	is "$(th_exec $i sh -c 'getent passwd ezku; id -Gn ezku')" "ezku:x:2345:2345::/home/ezku:/bin/sh
ezkg users" "user ($h): uid, primary group, home, shell, groups"
	is "$(th_exec $i systemctl is-active ezk-demo ezk-http ezk-idle | tr '\n' ' ')" "active active active " \
		"service ($h): the services run"
	is "$(th_exec $i systemctl is-enabled ezk-demo)" "enabled" "service ($h): enabled"
	like "$(th_exec $i cat /etc/systemd/system/ezk-http.service)" "--bind $h " "systemd_unit ($h): template rendered with the host's variables"
	is "$(th_exec $i dpkg-query -W -f='${Version} ${Status}' ezk-hello)" "1.0 install ok installed" "package ($h): the .deb is installed"
	is "$(th_exec $i sh -c 'for p in ezk-tool ezk-lib ezk-extra; do dpkg-query -W -f="\${Package} \${Status}," $p 2>/dev/null || printf "%s none," $p; done')" \
		"ezk-tool install ok installed,ezk-lib install ok installed,ezk-extra none," "package repo ($h): the name and its dependency from the directory, nothing else"
done
is "$(apt_state)" "$lists0" "package repo: the host's apt sources and lists untouched"

# ================================================================ rerun
ts_a=$(demo_ts 0) ts_b=$(demo_ts 1)
t0=$(date +%s%N)
setup_json run2 01 -v
echo "# rerun: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "rerun: exit 0"
no_changes "rerun"
log=$(ls -t "$EZK_HOME"/clusters/c1/logs/*-setup-*.log | head -n 1)
[ "$(grep -c 'dpkg-query -W' "$log")" -gt 0 ] && pass "rerun: the package check ran (the -v log shows its exec)" ||
	fail "rerun: the package check ran (the -v log shows its exec)"
is "$(grep -cE 'apt-get (install|remove|purge)|dpkg -i |(dnf|yum) (install|remove)' "$log")" 0 \
	"rerun: installed packages did not run the package manager"
is "$(grep -cE '^(did=|reloaded$)|exec: systemctl daemon-reload' "$log")" 0 "rerun: no daemon-reload, start, enable or restart"
is "$(demo_ts 0)$(demo_ts 1)" "$ts_a$ts_b" "rerun: the demo service was not restarted (same InvocationID and start time)"

# ================================================================ restart contract
setup_json conf 01 -e DEMO_CONF=b
is "$(st "$A" "T demo conf") $(st "$A" "T restart demo") $(st "$B" "T restart demo")" "changed changed changed" \
	"a changed config file notifies: the handler restarts the service"
is "$(st "$A" "T unit")" ok "... the unit itself did not change"
[ "$(demo_ts 0)" != "$ts_a" ] && [ "$(demo_ts 1)" != "$ts_b" ] && pass "... it really restarted (new InvocationID and start time)" ||
	fail "... it really restarted" "before: $ts_a / $ts_b, after: $(demo_ts 0) / $(demo_ts 1)"
ts_a=$(demo_ts 0) ts_b=$(demo_ts 1)
setup_json conf2 01 -e DEMO_CONF=b
no_changes "rerun with the same config"
is "$(st "$A" "T restart demo")" "" "... the handler did not run"
is "$(demo_ts 0)$(demo_ts 1)" "$ts_a$ts_b" "... and the service kept running as it was"

# ================================================================ --check
# The role changes (PHASE=2) and the hosts change behind ezk's back.
for i in 0 1; do
	th_exec $i sh -c 'printf "/ezk-swap2 none swap defaults 0 0\n" >> /etc/fstab; systemctl stop ezk-demo; dpkg -r ezk-hello >/dev/null 2>&1'
done
sleep 1 # mtimes: a write in the same second would still change the digest
d0=$(th_upper_digest 0) d1=$(th_upper_digest 1)
setup_json check 01 -e DEMO_CONF=b -e PHASE=2 --check
is "$rc" 0 "--check: exit 0"
is "$(th_upper_digest 0) $(th_upper_digest 1)" "$d0 $d1" "--check: nothing changed on either host (th_upper_digest)"
for t in "T sysctl live" "T modprobe shared file" "T hostname" "T hosts" "T group" "T user" "T unit" "T demo service" \
	"T pkg deb" "T flag" "T2 idle unit"; do
	both "$t" changed "--check"
done
both "T restart demo" ok "--check: the service would be started after the changes: no restart besides"
[ $swap_ok = yes ] && both "T swap" changed "--check"
for t in "T sysctl file only" "T sysctl values" "T modprobe own file" "T demo conf" "T http service" "T wait port" "T pkg installed"; do
	both "$t" ok "--check"
done
both "T wait path" skipped "--check: a wait on what the run would make"
like "$(msg "$A" "T wait path")" "check mode: /etc/ezk-flag is not started now; the run would wait up to 5 s" "... says so"
both "T wait cmd" skipped "--check: a wait on a service check mode did not start"
like "$(msg "$A" "T demo service")" "would start" "--check: service says what it would do"
like "$(msg "$A" "T pkg deb")" "would install ezk-hello 1.0" "--check: package says what it would install"
like "$(msg "$A" "T user")" "would modify user ezku" "--check: user says what it would do"
is "$(th_exec 0 cat /proc/sys/kernel/msgmax) $(th_exec 0 hostname)" "16384 node-${A//./-}" "--check: live values untouched"

# ================================================================ --diff
t0=$(date +%s%N)
run "$EZK" setup c1 01 -e DEMO_CONF=b -e PHASE=2 --diff --key "$TH_KEY"
echo "# --diff run: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "--diff run: exit 0"
[ "$rc" = 0 ] || echo "$out" | grep -E 'failed|error' | sed 's/^/# /'
likez "$out" '\n--- /etc/sysctl.d/95-k8s-sysctl.conf \(before\)\n\+\+\+ /etc/sysctl.d/95-k8s-sysctl.conf \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-kernel.msgmax = 16384\n\+kernel.msgmax = 32768\n' \
	"--diff: sysctl shows the file's unified diff"
likez "$out" '\n--- /proc/sys \(live\) \(before\)\n\+\+\+ /proc/sys \(live\) \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-kernel.msgmax = 16384\n\+kernel.msgmax = 32768\n' \
	"--diff: ... and the live value"
likez "$out" '\n\+\+\+ /etc/modules-load.d/10-k8s-modules.conf \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*\+ezk_mod_c\n' "--diff: modprobe's file"
[ $swap_ok = yes ] && likez "$out" '\n\+\+\+ /etc/fstab \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-/ezk-swap2 none swap defaults 0 0\n\+#/ezk-swap2 none swap defaults 0 0\n' "--diff: swap's fstab"
likez "$out" '\n\+\+\+ /etc/hostname \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-node-[0-9-]+\n\+p2-[0-9-]+\n' "--diff: /etc/hostname"
likez "$out" '\n\+\+\+ /etc/hosts \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*\+198.18.0.4 ezk-n3\n' "--diff: /etc/hosts"
likez "$out" '\n\+\+\+ /etc/systemd/system/ezk-demo.service \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-Description=ezk demo\n\+Description=ezk demo v2\n' "--diff: the unit file"
likez "$out" '\n\+\+\+ user ezku \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-shell: /bin/sh\n\+shell: /bin/bash\n' "--diff: user's fields"
likez "$out" '\n\+\+\+ group ezkg \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-gid: 2345\n\+gid: 2346\n' "--diff: group's gid"
likez "$out" '\n\+\+\+ packages \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*\+ezk-hello 1.0 \(ezk-hello_1.0_all.deb\)\n' "--diff: package"
likez "$out" '\n\+\+\+ ezk-demo \(state\) \(after\)\n(@@[^\n]*@@\n)?( [^\n]*\n)*-active: inactive\n\+active: active\n' "--diff: service's state"
like "$out" "T restart demo" "--diff run: the changed unit notified the handler"
for i in 0 1; do
	h=${HOSTS_[$i]} tag=${HOSTS_[$i]//./-}
	is "$(th_exec $i sh -c 'cat /proc/sys/kernel/msgmax; grep msgmax /etc/sysctl.d/95-k8s-sysctl.conf; hostname; cat /etc/hostname' | tr '\n' ' ')" \
		"32768 kernel.msgmax = 32768 p2-$tag p2-$tag " "--diff run ($h): sysctl line edited in place, live value, host name"
	is "$(th_exec $i sh -c 'getent group ezkg; getent passwd ezku')" "ezkg:x:2346:
ezku:x:2345:2346::/home/ezku:/bin/bash" "--diff run ($h): group and user changed"
	[ $swap_ok = yes ] && is "$(th_exec $i grep -c '^#/ezk-swap' /etc/fstab)" 2 "--diff run ($h): both swap lines commented"
	is "$(th_exec $i systemctl show -p NeedDaemonReload --value ezk-idle) $(th_exec $i systemctl show -p Description --value ezk-idle)" "no ezk idle v2" \
		"--diff run ($h): a unit changed with no service task after it was reloaded at the end of the role"
	is "$(th_exec $i systemctl is-active ezk-demo)" active "--diff run ($h): the stopped service started again"
	is "$(th_exec $i systemctl show -p Description --value ezk-demo)" "ezk demo v2" \
		"--diff run ($h): a loaded unit whose file changed: daemon-reload, systemd has the new file"
done
setup_json run3 01 -e DEMO_CONF=b -e PHASE=2
is "$rc" 0 "rerun of the changed role: exit 0"
no_changes "rerun of the changed role"

# ================================================================ failures
# A STAND-IN modprobe in the hosts (this machine has no /lib/modules, so the real one
# can load nothing): it loads ezk_fake_* and knows no other module (the
# machine has no loadable modules): the paths where modprobe runs.
for i in 0 1; do
	th_exec $i sh -c 'cat > /usr/local/sbin/modprobe && chmod 755 /usr/local/sbin/modprobe' <<'EOF'
#!/bin/sh
[ "$1" = -r ] && shift
[ "$1" = -- ] && shift
case $1 in ezk_fake_*) exit 0 ;; esac
echo "modprobe: FATAL: Module $1 not found in directory /lib/modules/$(uname -r)" >&2
exit 1
EOF
done
t0=$(date +%s%N)
setup_json fail 02
echo "# failures: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$rc" 0 "failures with ignore_errors: exit 0"
both "F modprobe fake ok" changed "modprobe that loads the module"
is "$(msg "$A" "F modprobe fake ok")" "load ezk_fake_mod" "... says so"
both "F modprobe missing" failed "a module that cannot be loaded"
is "$(msg "$A" "F modprobe missing")" "modprobe ezk_no_such_module failed: modprobe: FATAL: Module ezk_no_such_module not found in directory /lib/modules/$(uname -r)" "... says why, in modprobe's words"
both "F modprobe optional" ok "optional = true"
like "$(msg "$A" "F modprobe optional")" "^warning: ezk_no_such_module not loaded \(optional\): ." "... with a warning"
both "F sysctl unknown" failed "an unknown kernel parameter"
like "$(msg "$A" "F sysctl unknown")" "no such kernel parameter: kernel.ezk_no_such_param" "... says so"
like "$(msg "$A" "F sysctl bad name")" "bad parameter name" "a parameter name that is a path is refused"
both "F wait timeout" failed "wait_for a port nobody opens"
like "$(msg "$A" "F wait timeout")" "^timed out after 1 s waiting for $A:[0-9]+ to be started: .*(refused|failed)" "... times out, saying what and why"
both "F wait stopped" ok "wait_for state=stopped on a closed port"
like "$(msg "$A" "F wait cmd timeout")" "^timed out after 1 s waiting for .echo not-yet >&2; exit 3. to be started: not-yet" \
	"wait_for cmd: the command's last error in the message"
both "F service no unit" failed "service: a unit that does not exist"
like "$(msg "$A" "F service no unit")" "no unit named ezk-nonexistent" "... says so"
both "F service no unit stopped" ok "service: stopped/disabled and no such unit is ok"
both "F service start fails" failed "service: a start that fails"
like "$(msg "$A" "F service start fails")" "systemctl start ezk-bad failed: .*ezk-bad" "... with systemctl's words and the unit's status"
both "F user bad group" failed "user with a group that does not exist"
like "$(msg "$A" "F user bad group")" "useradd ezkx: .*ezk-no-such-group" "... useradd's message"
both "F pkg unknown" failed "package unknown to apt"
like "$(msg "$A" "F pkg unknown")" "install failed \(exit [0-9]+\):.*ezk-no-such-package" "... apt's message"
both "F reload http" changed "service state=reloaded"
like "$(msg "$A" "F reload http")" "^reload$" "... reloads (reload-or-restart)"
both "F mask etc unit" failed "service masked=true on a unit whose file is in /etc"
like "$(msg "$A" "F mask etc unit")" "systemctl mask ezk-idle failed: .*already exists" "... systemd's reason"

# ================================================================ absent
setup_json gone 03
is "$rc" 0 "state=absent: exit 0"

for t in "G stop http" "G stop demo" "G unit absent" "G pkg absent" "G user absent" "G group absent" "G hosts absent" \
	"G sysctl absent" "G modprobe absent" "G modprobe absent shared" "G vendor unit" "G vendor started"; do
	both "$t" changed "absent"
done
both "G demo gone" ok "service stopped after its unit was removed"
setup_json mask 03 -e MASK=1
is "$rc" 0 "masking: exit 0"
both "G mask vendor" changed "service masked=true, state=stopped"
like "$(msg "$A" "G mask vendor")" "^mask, stop$" "... masks, then stops"
for i in 0 1; do
	h=${HOSTS_[$i]}
	is "$(th_exec $i sh -c 'getent passwd ezku; getent group ezkg; grep -c EZK /etc/hosts; grep -c shmmax /etc/sysctl.d/95-k8s-sysctl.conf;
		ls /etc/modules-load.d/; cat /etc/modules-load.d/10-k8s-modules.conf; ls /etc/systemd/system/ezk-demo.service 2>&1;
		dpkg-query -W ezk-hello 2>&1; [ -d /home/ezku ] || echo nohome; systemctl is-enabled ezk-vendor; systemctl is-active ezk-vendor' | tr '\n' ' ')" \
		"0 0 10-k8s-modules.conf modules.conf ezk_mod_a ezk_mod_c ls: cannot access '/etc/systemd/system/ezk-demo.service': No such file or directory dpkg-query: no packages found matching ezk-hello nohome masked inactive " \
		"absent ($h): user, group, block, line, module files, unit, package gone; a vendor unit masked and stopped"
done
setup_json gone2 03 -e MASK=1
is "$rc" 0 "state=absent again: exit 0"
no_changes "state=absent again"

echo "# total: $((($(date +%s%N) - t_start) / 1000000)) ms"
done_testing
