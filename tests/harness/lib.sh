# Test hosts for end-to-end tests: source after tests/lib.sh.
#
#   th_skip_unless_root        TAP skip + exit 0 unless hosts can be made here
#   th_start [--plain | --net] [--prefix P] N
#                              boots N hosts; sets TH_DIR, TH_NAMES[], TH_ADDRS[],
#                              TH_PIDS[], TH_KEY (--net: TH_NET, TH_GW, TH_BRIDGE
#                              too); stops them on EXIT
#   th_exec I CMD...           CMD inside host I (0-based), as root, stdin passed
#   th_ssh I CMD...            OpenSSH as root@host I with TH_KEY (BatchMode,
#                              no user config, strict known_hosts of TH_DIR)
#   th_ssh_opts                prints those ssh options, one per line
#   th_rekey I                 new host key for host I; known_hosts updated
#   th_adduser I USER PW [--sudo]   a user with that password (never in argv)
#   th_kill_sshd I             kills host I's sshd and its sessions
#   th_upper I                 prints host I's overlay upper dir
#   th_put I FILE DEST [MODE]  copies a file of the machine into host I
#   th_wait_for SECONDS CMD... polls CMD each second until it succeeds
#   th_namespaces, th_procs_of NS ID   the hosts' namespaces; "pid starttime"
#                              of every process in them or in their cgroups
#   th_machine_state           the machine's kernel values, iptables, routes
#   th_stop                    stops the hosts now (also done on EXIT)
#
# See tests/harness/testhosts for what a host is.

TH_BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/testhosts
TH_DIR=""
TH_NAMES=()
TH_ADDRS=()
TH_PIDS=()
TH_KEY=""
TH_NET=""    # --net: the hosts' subnet (198.18.K.0/24),
TH_GW=""     # the machine's address on it (198.18.K.1),
TH_BRIDGE="" # and the bridge on the machine (ezkbrK)

th_skip_unless_root() {
	local why=""
	if [ "$(id -u)" != 0 ]; then
		why="test hosts need root"
	elif ! unshare --mount --uts --pid --ipc --fork true 2>/dev/null; then
		why="unshare of mount/uts/pid/ipc namespaces is not permitted here"
	elif ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
		why="sshd is not installed (scripts/install-deps.sh)"
	fi
	if [ -n "$why" ]; then
		echo "ok 1 - # SKIP $why"
		echo "1..1"
		exit 0
	fi
}

# The EXIT trap lib.sh set (rm -rf "$T") is kept, run after th_stop.
_th_trap_set=0
_th_install_trap() {
	[ $_th_trap_set = 1 ] && return
	local prev=""
	eval "set -- $(trap -p EXIT)"
	[ $# -ge 3 ] && prev=$3
	# shellcheck disable=SC2064
	trap "th_stop; $prev" EXIT
	# Interrupted tests still stop their hosts (INT/TERM otherwise skip EXIT).
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	_th_trap_set=1
}

th_start() {
	local out name addr pid
	_th_install_trap
	[ -z "$TH_DIR" ] || th_stop
	# --owner: if this test dies without its EXIT trap, the next start on
	# the machine stops its hosts.
	out=$("$TH_BIN" start --owner $$ "$@") || {
		echo "# th_start $*: testhosts start failed" >&2
		return 1
	}
	TH_DIR=${out##*$'\n'}
	TH_KEY=$TH_DIR/id_ed25519
	TH_NAMES=() TH_ADDRS=() TH_PIDS=()
	while read -r name addr pid; do
		TH_NAMES+=("$name")
		TH_ADDRS+=("$addr")
		TH_PIDS+=("$pid")
	done <"$TH_DIR/hosts"
	TH_NET="" TH_GW="" TH_BRIDGE=""
	if [ -f "$TH_DIR/net" ]; then
		read -r _ TH_NET TH_GW TH_BRIDGE <"$TH_DIR/net"
	fi
}

th_stop() {
	[ -n "$TH_DIR" ] || return 0
	"$TH_BIN" stop "$TH_DIR" || echo "# th_stop: stopping $TH_DIR failed" >&2
	TH_DIR=""
	TH_NAMES=() TH_ADDRS=() TH_PIDS=()
	TH_NET="" TH_GW="" TH_BRIDGE=""
}

_th_need() {
	[ -n "$TH_DIR" ] || { echo "# test hosts are not started" >&2; return 1; }
	[ -n "${TH_NAMES[$1]:-}" ] || { echo "# no test host $1" >&2; return 1; }
}

th_exec() {
	_th_need "$1" || return 1
	local i=$1
	shift
	"$TH_BIN" exec "$TH_DIR" "${TH_NAMES[$i]}" "$@"
}

th_ssh_opts() {
	printf '%s\n' -F /dev/null -i "$TH_KEY" -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$TH_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 \
		-o LogLevel=ERROR
}

th_ssh() {
	_th_need "$1" || return 1
	local i=$1 opts
	shift
	mapfile -t opts < <(th_ssh_opts)
	ssh "${opts[@]}" "root@${TH_ADDRS[$i]}" "$@"
}

th_rekey() {
	_th_need "$1" || return 1
	"$TH_BIN" rekey "$TH_DIR" "${TH_NAMES[$1]}"
}

# th_adduser I USER PASSWORD [--sudo]: the password goes on stdin.
th_adduser() {
	_th_need "$1" || return 1
	printf '%s\n' "$3" | "$TH_BIN" adduser "$TH_DIR" "${TH_NAMES[$1]}" "$2" - ${4:+"$4"}
}

th_kill_sshd() {
	_th_need "$1" || return 1
	"$TH_BIN" kill-sshd "$TH_DIR" "${TH_NAMES[$1]}"
}

th_upper() {
	_th_need "$1" || return 1
	echo "$TH_DIR/upper/${TH_NAMES[$1]}"
}

# Addresses where no SSH server answers, for "unreachable" tests. Ports are
# picked by the kernel, so tests running at once never collide.
# th_free_port: a port on 127.0.0.1 that nothing listens on.
th_free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# th_silent_listener: a listener on 127.0.0.1 that accepts and never speaks
# (connect succeeds, the SSH handshake times out). Sets TH_SILENT_PORT and
# TH_SILENT_PID; it goes away by itself after 60 s, or kill it.
th_silent_listener() {
	local f
	f=$(mktemp)
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(60)' "$f" &
	TH_SILENT_PID=$!
	for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.02; done
	TH_SILENT_PORT=$(cat "$f")
	rm -f "$f"
}

# th_private_home: HOME in the test's temp dir and no ssh-agent, so that no
# key or config of the machine's user takes part in a test.
th_private_home() {
	unset SSH_AUTH_SOCK
	export HOME=$T/user
	mkdir -p "$HOME"
}

# th_upper_digest I: one checksum of what host I changed (its overlay upper
# dir: paths, modes, owners, sizes, mtimes and contents), leaving out what
# every SSH login writes (var/log: wtmp, lastlog, journal; var/lib/sudo).
# Equal digests before and after a --check run prove it changed nothing.
th_upper_digest() {
	_th_need "$1" || return 1
	local u
	u=$(th_upper "$1")
	(
		cd "$u" || exit 1
		find . \( -path ./var/log -o -path ./var/lib/sudo -o -path ./var/lib/systemd \) -prune -o \
			-printf '%p %m %u %g %s %T@\n' | sort
		find . \( -path ./var/log -o -path ./var/lib/sudo -o -path ./var/lib/systemd \) -prune -o \
			-type f -print0 | sort -z | xargs -0 -r sha256sum
	) | sha256sum | cut -d' ' -f1
}

# th_put I FILE DEST [MODE]: FILE (on the machine) becomes DEST in host I
# (its directory made), mode MODE (default 644).
th_put() {
	th_exec "$1" sh -c "mkdir -p \"\$(dirname '$3')\" && cat > '$3' && chmod ${4:-644} '$3'" <"$2"
}

# th_wait_for SECONDS CMD...: runs CMD each second until it succeeds (for
# what takes its time: a node becoming Ready); fails after SECONDS.
th_wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 1
	done
}

# th_namespaces: the net, pid, mount and cgroup namespaces of the current
# hosts (their PID 1s), for th_procs_of once they are stopped.
th_namespaces() {
	local p ns
	for p in "${TH_PIDS[@]}"; do
		for ns in net pid mnt cgroup; do readlink "/proc/$p/ns/$ns" 2>/dev/null; done
	done | tr '\n' ' '
}

# th_procs_of NAMESPACES STATEID: "pid starttime" of every process in those
# namespaces (th_namespaces) or in the cgroups of the hosts of state dir
# STATEID (containers have namespaces of their own). Zombies are left out
# (a host's unshare, reparented to the machine's init, may wait a moment to
# be reaped). Taken before th_stop and after: namespace inode numbers are
# recycled, pid and start time are not.
th_procs_of() {
	local nsl=" $1 " id=$2 p s
	{
		find /proc/[0-9]*/ns -maxdepth 1 \( -name net -o -name pid -o -name mnt -o -name cgroup \) \
			-printf '%h %l\n' 2>/dev/null |
			awk -v nsl="$nsl" '$2 != "" && index(nsl, " " $2 " ") { sub("/ns$", "", $1); sub("^/proc/", "", $1); print $1 }'
		grep -l "/ezk-testhosts/$id-" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3
	} | sort -u | while read -r p; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) } # the fields after the command name: state first
		set -- $s
		[ "$1" = Z ] || echo "$p ${20}"
	done
}

# th_machine_state: what --net hosts must never change on the machine: its
# kernel values (the kubelet's, forwarding, conntrack), its iptables and its
# routes other than to 198.18.0.0/15. Equal before and after a test.
th_machine_state() {
	local k
	for k in net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.all.route_localnet \
		net.bridge.bridge-nf-call-iptables net.netfilter.nf_conntrack_max kernel.panic_on_oops \
		kernel.panic vm.overcommit_memory vm.panic_on_oom vm.swappiness; do
		echo "$k=$(sysctl -n "$k" 2>/dev/null)"
	done
	iptables-save 2>/dev/null | grep -v '^#'
	ip -4 route show table all 2>/dev/null | grep -vE '198\.1[89]\.' | sort
}
