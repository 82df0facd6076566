# The test-host harness itself (tests/harness/): hosts boot, are isolated
# from each other and from the machine, accept SSH, and leave nothing behind.
# ezk-test: plain (it never runs ezk: make check, the sanitizer build, leaves it to make test)
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root

ms() { echo $(($(date +%s%N) / 1000000)); }
mounts_of() { grep -c "$1" /proc/self/mountinfo || true; }
# procs_in_mntns NS...: "pid starttime" of processes in those mount namespaces
procs_in_mntns() {
	local want=" $* " p ns
	find /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%h %l\n' 2>/dev/null |
		while read -r p ns; do
			p=${p#/proc/}
			p=${p%/ns}
			case $want in *" $ns "*) echo "$p $(starttime "$p")" ;; esac
		done
}
# starttime PID: its start time; nothing if it is gone or a zombie (a host's
# unshare, reparented to the machine's init, may wait a moment to be reaped)
starttime() {
	local s
	s=$(cat /proc/"$1"/stat 2>/dev/null) || return 0
	s=${s##*) }
	set -- $s
	[ "$1" = Z ] || echo "${20}"
}
# still_alive "pid starttime" lines: those still running (not reused pids)
still_alive() {
	local p st
	while read -r p st; do
		[ -n "$st" ] && [ "$(starttime "$p")" = "$st" ] && echo "$p"
	done
	return 0
}
ssh_opts=() # the harness's options, for hand-made ssh command lines

# ---------------------------------------------------------------- systemd
t0=$(ms)
if th_start 3; then
	pass "3 systemd hosts start"
else
	fail "3 systemd hosts start"
	done_testing
	exit 1
fi
echo "# started 3 systemd hosts in $(($(ms) - t0)) ms"
mapfile -t ssh_opts < <(th_ssh_opts)
is "${#TH_NAMES[@]} ${#TH_ADDRS[@]}" "3 3" "hosts file lists 3 hosts"
is "$(stat -c %a "$TH_KEY")" 600 "root's private key is 0600"
like "${TH_ADDRS[*]}" '^127\.0\.(1[0-9][0-9]|2[0-5][0-9])\.[0-9]+ ' "addresses are 127.0.100.1 upward"

machine_pidns=$(readlink /proc/self/ns/pid)
hostnames="" pidnss="" keys=""
for i in 0 1 2; do
	n=${TH_NAMES[$i]}
	st=$(th_exec $i systemctl is-system-running)
	if [ "$st" = running ] || [ "$st" = degraded ]; then
		pass "$n: systemd is up ($st)"
	else
		fail "$n: systemd is up" "state: $st"
	fi
	[ "$st" = degraded ] && echo "# $n failed units: $(th_exec $i systemctl --failed --no-legend --plain | tr '\n' ' ')"
	is "$(th_exec $i hostname)" "$n" "$n: hostname"
	is "$(th_exec $i cat /proc/1/comm)" systemd "$n: PID 1 is systemd"
	hostnames="$hostnames $(th_exec $i hostname)"
	pidnss="$pidnss $(th_exec $i readlink /proc/self/ns/pid)"
	is "$(th_ssh $i hostname)" "$n" "$n: root logs in with the key on ${TH_ADDRS[$i]}"
	k=$(ssh-keyscan -t ed25519 "${TH_ADDRS[$i]}" 2>/dev/null | cut -d' ' -f2,3)
	is "$(grep "^${TH_ADDRS[$i]} " "$TH_DIR/known_hosts" | cut -d' ' -f2,3)" "$k" "$n: known_hosts holds the key sshd presents"
	keys="$keys $k"
	is "$(th_exec $i sh -c 'ls -A /root; ls -A /root/.ssh')" ".bashrc
.profile
.ssh
authorized_keys" "$n: root's home is clean (nothing of the machine's /root)"
	unlike "$(th_ssh $i 'cat ~/.bashrc ~/.profile; echo $PATH')" 'pyenv|cargo' "$n: no pyenv in root's shell"
done
is "$(echo $hostnames | tr ' ' '\n' | sort -u | wc -l)" 3 "hostnames differ"
is "$(echo $pidnss | tr ' ' '\n' | sort -u | wc -l)" 3 "PID namespaces differ"
unlike "$pidnss" "$machine_pidns" "no host shares the machine's PID namespace"
is "$(echo $keys | tr ' ' '\n' | grep -v ssh-ed25519 | sort -u | wc -l)" 3 "host keys differ"

# exec: exit status and stdin
run th_exec 0 sh -c 'exit 7'
is "$rc" 7 "exec keeps the exit status"
is "$(echo through | th_exec 0 cat)" through "exec passes stdin"

# Isolation of files
probe=/etc/ezk-harness-probe-$$
th_exec 0 sh -c "echo one > $probe"
is "$(th_exec 0 cat $probe)" one "a write inside h1 is visible in h1"
[ ! -e $probe ] && pass "... not on the machine" || fail "... not on the machine"
run th_exec 1 test -e $probe
is "$rc" 1 "... not in h2"
is "$(cat "$(th_upper 0)$probe")" one "... and lands in h1's upper dir"

# Services of the machine do not run in hosts; ssh, journald, logind do.
for u in etcd postgresql getty@tty1 console-getty systemd-timesyncd containerd docker haproxy keepalived chrony nginx; do
	st=$(th_exec 0 systemctl is-active $u.service 2>/dev/null)
	case $st in active | activating | reloading) fail "$u is not running in a host" "state: $st" ;; *) pass "$u is not running in a host ($st)" ;; esac
done
is "$(th_exec 0 systemctl is-active ssh systemd-journald systemd-logind | tr '\n' ' ')" "active active active " "ssh, journald, logind run"
if [ -e /lib/systemd/system/etcd.service ]; then
	like "$(th_exec 0 systemctl is-enabled etcd.service)" 'disabled|masked' "etcd is not enabled in a host"
fi

# Host processes are confined to the host's cgroups (not the machine's root).
like "$(th_exec 0 cat /proc/1/cgroup)" "ezk-testhosts/${TH_DIR##*/}-${TH_NAMES[0]}" "h1's systemd runs in a cgroup of its own"

# adduser: password login and sudo
th_adduser 1 alice 'pw with spaces&$' --sudo
set_pwopts() { # ssh options for a password login to the current hosts
	pwopts=(-F /dev/null -o UserKnownHostsFile="$TH_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null
		-o StrictHostKeyChecking=yes -o PubkeyAuthentication=no
		-o PreferredAuthentications=password,keyboard-interactive
		-o NumberOfPasswordPrompts=1 -o LogLevel=ERROR)
}
set_pwopts
is "$(SSHPASS='pw with spaces&$' sshpass -e ssh "${pwopts[@]}" "alice@${TH_ADDRS[1]}" whoami)" alice "adduser: alice logs in with her password"
run env SSHPASS=wrong sshpass -e ssh "${pwopts[@]}" "alice@${TH_ADDRS[1]}" whoami
isnt_rc=$rc
[ "$isnt_rc" != 0 ] && pass "... not with a wrong one" || fail "... not with a wrong one"
is "$(SSHPASS='pw with spaces&$' sshpass -e ssh "${pwopts[@]}" "alice@${TH_ADDRS[1]}" \
	"printf '%s\n' 'pw with spaces&\$' | sudo -S -p '' id -un")" root "... and sudo with it"
run env SSHPASS='pw with spaces&$' sshpass -e ssh "${pwopts[@]}" "alice@${TH_ADDRS[1]}" "sudo -n true"
[ "$rc" != 0 ] && pass "... sudo asks for the password" || fail "... sudo asks for the password"
is "$(th_exec 1 cat /home/alice/.bashrc)" "# ~/.bashrc (tests/harness/testhosts)" "... with a clean .bashrc"
run th_exec 0 id alice
is "$rc" 1 "alice exists only on h2"

# rekey
old=$(grep "^${TH_ADDRS[0]} " "$TH_DIR/known_hosts")
cp "$TH_DIR/known_hosts" "$T/known_hosts.old"
th_rekey 0
new=$(grep "^${TH_ADDRS[0]} " "$TH_DIR/known_hosts")
[ -n "$new" ] && [ "$new" != "$old" ] && pass "rekey writes a new key to known_hosts" || fail "rekey writes a new key to known_hosts" "$old / $new"
is "$(th_ssh 0 hostname)" "${TH_NAMES[0]}" "... and sshd presents it"
run ssh -F /dev/null -i "$TH_KEY" -o UserKnownHostsFile="$T/known_hosts.old" -o GlobalKnownHostsFile=/dev/null \
	-o StrictHostKeyChecking=yes -o BatchMode=yes "root@${TH_ADDRS[0]}" true
is "$rc" 255 "... the old key is refused by strict checking"
is "$(th_ssh 1 hostname)" "${TH_NAMES[1]}" "... the other hosts keep theirs"

# kill-sshd: sessions die, the port refuses, ssh can be started again
th_ssh 2 'sleep 60' 2>/dev/null &
bg=$!
for _ in $(seq 100); do th_exec 2 pgrep -f 'sleep 60' >/dev/null && break; sleep 0.05; done
th_kill_sshd 2
for _ in $(seq 100); do kill -0 $bg 2>/dev/null || break; sleep 0.05; done
if kill -0 $bg 2>/dev/null; then
	fail "kill-sshd ends the open session"
	kill $bg
else
	pass "kill-sshd ends the open session"
fi
wait $bg 2>/dev/null
run ssh "${ssh_opts[@]}" "root@${TH_ADDRS[2]}" true
like "$err" 'Connection refused' "... and the port refuses connections"
is "$(th_exec 2 pgrep -c -x sshd)" 0 "... no sshd left in the host"
th_exec 2 systemctl start ssh
is "$(th_ssh 2 hostname)" "${TH_NAMES[2]}" "systemctl start ssh brings it back"

# stop
dir=$TH_DIR
addrs=("${TH_ADDRS[@]}")
pids=$(cut -d' ' -f3 "$TH_DIR/hosts")
nss=""
for p in $pids; do nss="$nss $(readlink /proc/$p/ns/mnt)"; done
inside=$(procs_in_mntns $nss) # (inode numbers are recycled: compare pids)
cgid=${TH_DIR##*/}
t0=$(ms)
th_stop
echo "# stopped 3 systemd hosts in $(($(ms) - t0)) ms"
left=""
for p in $pids; do [ -e /proc/$p ] && left="$left $p"; done
is "$left" "" "stop: hosts' PID 1 gone"
like "$(echo "$inside" | wc -l)" '^[0-9]{2,}$' "(there were $(echo "$inside" | wc -l) processes in the hosts)"
is "$(echo "$inside" | still_alive | tr '\n' ' ')" "" "stop: none of them is left"
is "$(mounts_of "$dir")" 0 "stop: no mount left"
[ ! -e "$dir" ] && pass "stop: state dir removed" || fail "stop: state dir removed" "$(ls -la "$dir")"
is "$(find /sys/fs/cgroup -maxdepth 3 -name "$cgid-*" 2>/dev/null)" "" "stop: no cgroup left"
run ssh "${ssh_opts[@]}" "root@${addrs[0]}" true
like "$err" 'Connection refused' "stop: the addresses refuse connections"

# ---------------------------------------------------------------- plain
t0=$(ms)
if th_start --plain 20; then
	pass "20 plain hosts start"
else
	fail "20 plain hosts start"
	done_testing
	exit 1
fi
echo "# started 20 plain hosts in $(($(ms) - t0)) ms"
mapfile -t ssh_opts < <(th_ssh_opts)
is "${#TH_NAMES[@]}" 20 "hosts file lists 20 hosts"
reused=""
for a in "${addrs[@]}"; do case " ${TH_ADDRS[*]} " in *" $a "*) reused="$reused $a" ;; esac; done
is "$reused" "" "addresses of stopped hosts are not handed out again at once"
is "$(th_exec 19 cat /proc/1/comm)" sshd "PID 1 is sshd"
for i in $(seq 0 19); do
	th_ssh $i hostname >"$T/plain.$i" 2>&1 &
done
wait
bad=""
for i in $(seq 0 19); do
	[ "$(cat "$T/plain.$i")" = "${TH_NAMES[$i]}" ] || bad="$bad ${TH_NAMES[$i]}:$(cat "$T/plain.$i")"
done
is "$bad" "" "every plain host accepts root's key and has its own name"
th_adduser 3 bob secret
set_pwopts
is "$(SSHPASS=secret sshpass -e ssh "${pwopts[@]}" "bob@${TH_ADDRS[3]}" whoami)" bob "plain: password login"
old=$(grep "^${TH_ADDRS[4]} " "$TH_DIR/known_hosts")
th_rekey 4
new=$(grep "^${TH_ADDRS[4]} " "$TH_DIR/known_hosts")
[ "$new" != "$old" ] && pass "plain: rekey" || fail "plain: rekey"
is "$(th_ssh 4 hostname)" "${TH_NAMES[4]}" "plain: ... sshd presents the new key"

dir=$TH_DIR
pids=$(cut -d' ' -f3 "$TH_DIR/hosts")
nss=""
for p in $pids; do nss="$nss $(readlink /proc/$p/ns/mnt)"; done
inside=$(procs_in_mntns $nss)
t0=$(ms)
th_stop
echo "# stopped 20 plain hosts in $(($(ms) - t0)) ms"
left=""
for p in $pids; do [ -e /proc/$p ] && left="$left $p"; done
is "$left" "" "plain stop: hosts' PID 1 gone"
is "$(echo "$inside" | still_alive | tr '\n' ' ')" "" "plain stop: none of the hosts' $(echo "$inside" | wc -l) processes is left"
is "$(mounts_of "$dir")" 0 "plain stop: no mount left"
[ ! -e "$dir" ] && pass "plain stop: state dir removed" || fail "plain stop: state dir removed"

done_testing
