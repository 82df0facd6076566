# Hostile files on the deploy node (issue 12, finding 4): hosts and
# config.yml are read only when they are regular files below a size limit;
# anything else is refused at once, exit 2, with the file and the reason; an
# inventory of more hosts than ezk handles is refused at its line; setup
# needs a config.yml. Every command runs under `timeout`: a FIFO that blocks
# fails the test instead of hanging it.
. "$(dirname "$0")/../lib.sh" || exit 1
export HOME=$T/user
mkdir -p "$HOME"
local_cluster c
D=$EZK_HOME/clusters/c
cp "$D/hosts" "$T/hosts.good"
cp "$D/config.yml" "$T/config.good"
restore() { rm -rf "$D/hosts" "$D/config.yml"; cp "$T/hosts.good" "$D/hosts"; cp "$T/config.good" "$D/config.yml"; }
commits() { git -C "$D" rev-list --count HEAD; }
c0=$(commits)

# tw CMD...: run with a time limit (exit 124 is a hang)
tw() { run timeout 20 "$@"; }

for cmd in "inventory c --list" "check c" "setup c 01"; do
	rm -f "$D/hosts"; ln -s /dev/zero "$D/hosts"
	tw $EZK $cmd
	is "$rc" 2 "hosts -> /dev/zero: $cmd exits 2"
	like "$err" "clusters/c/hosts: cannot read: a character device, not a regular file" "... naming the file and what it is"
done
rm -f "$D/hosts"; mkfifo "$D/hosts"
tw $EZK check c
is "$rc" 2 "hosts a FIFO: exit 2, no wait for a writer"
like "$err" "clusters/c/hosts: cannot read: a FIFO, not a regular file" "... naming the file and what it is"
rm -f "$D/hosts"; mkdir "$D/hosts"
tw $EZK inventory c --list
is "$rc" 2 "hosts a directory: exit 2"
like "$err" "clusters/c/hosts: cannot read: a directory, not a regular file" "... with the reason (it said 'read error')"
rm -rf "$D/hosts"
head -c $((17 << 20)) /dev/zero | tr '\0' '#' >"$D/hosts"
tw $EZK check c
is "$rc" 2 "a 17 MiB hosts file: exit 2"
like "$err" "clusters/c/hosts: cannot read: 17825792 bytes, more than ezk reads \(16 MiB\)" "... saying how big and the limit"
# more hosts than ezk handles: refused at the line that goes over
{ echo "[kube_node]"; echo "127.0.[0:255].[0:255]"; echo "127.1.[0:255].[0:255]"; } >"$D/hosts"
tw $EZK inventory c --list
is "$rc" 2 "131072 hosts from two ranges: exit 2"
like "$err" "clusters/c/hosts:3: more than 100000 hosts; ezk refuses an inventory this large" "... at the line that goes over"
restore
tw $EZK check c
is "$rc" 0 "the good files again: check passes"

# config.yml: anything at its path that is not a regular file is an error
for kind in dir fifo dev; do
	rm -f "$D/config.yml"
	case $kind in
	dir) mkdir "$D/config.yml"; what="a directory" ;;
	fifo) mkfifo "$D/config.yml"; what="a FIFO" ;;
	dev) ln -s /dev/null "$D/config.yml"; what="a character device" ;;
	esac
	tw $EZK check c
	is "$rc" 2 "config.yml $what: check exits 2 (it said '0 errors')"
	like "$err" "clusters/c/config.yml: cannot read: $what, not a regular file" "... naming the file and what it is"
	tw $EZK setup c 01
	is "$rc" 2 "config.yml $what: setup exits 2 (it ran on defaults)"
	rm -rf "$D/config.yml"
done
tw $EZK setup c 01
is "$rc" 2 "no config.yml: setup exits 2"
like "$err" "clusters/c/config.yml: No such file or directory \(setup needs the cluster's settings" "... naming the file"
[ ! -e "$D/ssl" ] && pass "... and touched nothing" || fail "... and touched nothing"
restore

# a config.yml cut at a line end: check says so
head -60 "$T/config.good" >"$D/config.yml"
tw $EZK check c
like "$err" "clusters/c/config.yml: warning: [0-9]+ of the template's [0-9]+ settings are missing \(.*\): was the file cut short\?" "a config.yml cut short: check warns, naming what is missing"
restore
tw $EZK check c
unlike "$err" "cut short" "... not for the whole file"

# -e @file: the same reader
mkfifo "$T/extra.fifo"
tw $EZK inventory c --host 127.0.0.9 -e @"$T/extra.fifo"
is "$rc" 2 "-e @FIFO: exit 2, no wait"
like "$err" "extra.fifo: cannot read: a FIFO, not a regular file" "... naming the file"

is "$(commits)" "$c0" "no refused run wrote the history"
done_testing
