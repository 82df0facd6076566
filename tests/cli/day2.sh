# The day-2 commands' part that needs no host (tests/e2e/day2.sh runs them
# on a cluster): steps that run only by name (never in a range), that ask
# before they destroy (refused without a terminal unless --yes), that reset
# --resume; restore's checks of the snapshot; options refused with exit 2.
# Plays on localhost, with a steps.lua of the test's own.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1

local_cluster c1
R=$T/roles
export EZK_ROLES=$R:$EZK_SRC/roles
mkdir -p "$R/mark"
cat >"$R/steps.lua" <<'EOF'
return {
  { id = "01", alias = "a", plays = { { hosts = "localhost", roles = { "mark" } } } },
  { id = "02", alias = "b", plays = { { hosts = "localhost", roles = { "mark" } } } },
  { id = "95", alias = "restore", explicit = true, confirm = "replaces everything", plays = {
    { hosts = "localhost", roles = { "mark" } } } },
  { id = "99", alias = "clean", explicit = true, resets = true, confirm = "removes everything", plays = {
    { hosts = "localhost", roles = { "mark" } } } },
}
EOF
cat >"$R/mark/main.lua" <<EOF
local f = assert(io.open("$T/ran", "a"))
f:write((ezk.vars.db_to_restore or "mark"), "\n")
f:close()
EOF
ran() { s=$(cat "$T/ran" 2>/dev/null | wc -l); rm -f "$T/ran"; echo "$s"; }

# ---- explicit: never part of a range
run "$EZK" setup c1 01-99 </dev/null
is "$rc" 0 "setup 01-99: exit 0"
is "$(ran)" 2 "... runs 01 and 02, not the steps that run only by name (95, 99)"
unlike "$err" "confirmation" "... and asks nothing"

# ---- confirm: refused without a terminal, --yes goes on
run "$EZK" setup c1 99 </dev/null
is "$rc" 2 "setup 99 without a terminal: exit 2"
like "$err" "ezk: setup c1 removes everything on 1 host: it asks for confirmation, and stdin is not a terminal: add --yes" \
	"... it says what the step does and that --yes is needed"
is "$(ran)" 0 "... and ran nothing"
run "$EZK" destroy c1 </dev/null
is "$rc" 2 "destroy without a terminal: exit 2"
is "$(ran)" 0 "... ran nothing"
run "$EZK" destroy c1 --yes
is "$rc" 0 "destroy --yes: exit 0"
is "$(ran)" 1 "... ran step 99"
like "$("$EZK" log c1 -n 1)" "destroy: " "... recorded in the history"
run "$EZK" destroy c1 --check </dev/null
is "$rc" 0 "destroy --check asks nothing (it changes nothing): exit 0"
rm -f "$T/ran"

# ---- resets: after 99 ran, --resume starts from the first step again
run "$EZK" setup c1 01-02
run "$EZK" setup c1 01-02 --resume
is "$(ran)" 2 "setup 01-02, then 01-02 --resume: the resume runs nothing (2 runs in all)"
run "$EZK" setup c1 99 --yes
ran >/dev/null
run "$EZK" setup c1 01-02 --resume
is "$(ran)" 2 "setup 01-02 --resume after a clean (99) runs 01 and 02 again"

# ---- restore: the snapshot is checked before anything is asked or run
B=$EZK_HOME/clusters/c1/backup
run "$EZK" restore c1 --yes
is "$rc" 2 "restore with no backup: exit 2"
like "$err" "snapshot.db: no such snapshot \('ezk backup' makes them in .*/clusters/c1/backup\)" "... says where backups go"
mkdir -p "$B"
printf 'etcd snapshot' >"$B/snapshot_20261205101500.db"
ln -s snapshot_20261205101500.db "$B/snapshot.db"
run "$EZK" restore c1 --yes
is "$rc" 2 "a snapshot without its sha256 record: exit 2"
like "$err" "no recorded sha256 for .*snapshot_20261205101500.db: give --sha256 HEX" "... says to give --sha256"
echo "not-a-sum  snapshot_20261205101500.db" >"$B/snapshot_20261205101500.db.sha256"
run "$EZK" restore c1 --yes
is "$rc" 2 "a record that is not a sha256: exit 2"
like "$err" "snapshot_20261205101500.db.sha256:1: .*not a sha256 record" "... with its file:line"
sum=$(sha256sum "$B/snapshot_20261205101500.db" | cut -d' ' -f1)
echo "$sum  snapshot_20261205101500.db" >"$B/snapshot_20261205101500.db.sha256"
printf 'X' >>"$B/snapshot_20261205101500.db"
run "$EZK" restore c1 --yes
is "$rc" 2 "a snapshot whose bytes changed since the record: exit 2"
like "$err" "snapshot_20261205101500.db.sha256:1: .*not $sum as recorded: refusing to restore it; nothing was done" \
	"... the record's file:line and both sums"
is "$(ran)" 0 "... nothing ran"
sum=$(sha256sum "$B/snapshot_20261205101500.db" | cut -d' ' -f1)
run "$EZK" restore c1 "$B/snapshot_20261205101500.db" --sha256 "$(printf %064d 0)" --yes
is "$rc" 2 "--sha256 that is not the file's: exit 2"
run "$EZK" restore c1 --sha256 xyz --yes
is "$rc" 2 "--sha256 xyz: exit 2"
like "$err" "64 hexadecimal digits" "... says what it must be"
run "$EZK" restore c1 snapshot_20261205101500.db --sha256 "$sum" </dev/null
is "$rc" 2 "a good snapshot, no terminal, no --yes: exit 2 (asked first)"
run "$EZK" restore c1 snapshot_20261205101500.db --sha256 "$sum" --yes
is "$rc" 0 "a good snapshot with --sha256 and --yes: exit 0"
is "$(cat "$T/ran")" "$B/snapshot_20261205101500.db" "... the step got the snapshot's path (db_to_restore)"
rm -f "$T/ran"

# ---- options
run "$EZK" backup c1 --keep -1
is "$rc" 2 "backup --keep -1: exit 2"
like "$err" "--keep -1: a number of snapshots" "... says what --keep takes"
run "$EZK" stop
is "$rc" 2 "stop without a cluster: exit 2"
run "$EZK" start c1 c2
is "$rc" 2 "start with two clusters: exit 2"
run "$EZK" destroy nosuch --yes
is "$rc" 2 "destroy of a cluster that does not exist: exit 2"
for c in backup restore start stop destroy; do
	like "$("$EZK" help $c)" "^usage: ezk $c <cluster>" "ezk help $c"
done

done_testing
