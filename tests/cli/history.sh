# A cluster's history: `ezk new` commits, `ezk log`, `ezk diff`; checked with
# the git CLI, which must read the same repository. Secrets never enter it.
. "$(dirname "$0")/../lib.sh" || exit 1

if ! command -v git >/dev/null; then
	skip "git is not installed (scripts/install-deps.sh installs it)"
	done_testing
	exit
fi
# The user's git config must not matter to ezk (nor break the checks here).
export HOME=$T/user GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
printf '[user]\n\tname = Someone Else\n[init]\n\tdefaultBranch = trunk\n[core]\n\tabbrev = 12\n' >"$HOME/.gitconfig"
D=$EZK_HOME/clusters/prod
g() { git -C "$D" "$@"; }

run "$EZK" new prod
is "$rc" 0 "new prod exits 0"
is "$err" "" "new prints no warning"
[ -d "$D/.git" ] && pass "new makes clusters/prod/.git" || fail "new makes clusters/prod/.git"
is "$(g log --oneline | wc -l)" 1 "one commit"
is "$(g log -1 --format=%s)" "new: cluster prod from inventories/hosts.multi-node" "its message"
is "$(g log -1 --format='%an <%ae>|%cn')" "ezk <ezk@$(hostname)>|ezk" "author and committer ezk, not the user's git config"
is "$(g rev-parse --abbrev-ref HEAD)" main "branch main"
is "$(g ls-tree --name-only HEAD | tr '\n' ' ')" ".gitignore config.yml hosts " "hosts, config.yml and .gitignore committed"
is "$(g status --porcelain)" "" "git status is clean after new"
g fsck --no-progress >/dev/null 2>&1 && pass "git fsck accepts the repository" || fail "git fsck accepts the repository"

run "$EZK" new aio --aio
is "$(git -C "$EZK_HOME/clusters/aio" log -1 --format=%s)" "new: cluster aio from inventories/hosts.allinone" "--aio names its template"

run "$EZK" log prod
is "$rc" 0 "log exits 0"
is "$(printf '%s\n' "$out" | wc -l)" 1 "log: one entry"
like "$out" "^  $(g rev-parse --short=7 HEAD)  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}  new: cluster prod from inventories/hosts.multi-node$" "log: id (7 digits: ~/.gitconfig's core.abbrev is not read), date, message"
is "$err" "" "log prints nothing on stderr"

run "$EZK" diff prod
is "$rc" 0 "diff with no edits exits 0"
like "$out" "^no edits since the last setup" "diff says there are no edits"
like "$out" "none has succeeded yet" "... and that no setup has succeeded"

# An edit shows up as a unified diff, the way git shows it.
printf '198.18.0.99 k8s_nodename=extra\n' >>"$D/hosts"
run "$EZK" diff prod
is "$rc" 0 "diff with edits exits 0"
like "$out" "^# no setup has succeeded yet" "header: compared with what ezk new wrote"
like "$out" "^diff --git a/hosts b/hosts$" "diff --git a/hosts b/hosts"
like "$out" "^--- a/hosts$" "--- a/hosts"
like "$out" "^\+\+\+ b/hosts$" "+++ b/hosts"
like "$out" "^@@ -[0-9]+,[0-9]+ \+[0-9]+,[0-9]+ @@" "a hunk header"
like "$out" "^\+198\.18\.0\.99 k8s_nodename=extra$" "the added line"
unlike "$out" "config.yml" "config.yml unchanged, not shown"
is "$(printf '%s\n' "$out" | sed 1d)" "$(g -c core.abbrev=7 diff HEAD -- hosts config.yml)" "the same diff as git diff"

sed -i 's/^CALICO_NETWORKING_BACKEND:.*/CALICO_NETWORKING_BACKEND: "vxlan"/' "$D/config.yml"
run "$EZK" diff prod
like "$out" "^diff --git a/config.yml b/config.yml$" "a config.yml edit shows too"
like "$out" '^\+CALICO_NETWORKING_BACKEND: "vxlan"$' "... its new line"
like "$out" '^-CALICO_NETWORKING_BACKEND: "bird"$' "... and its old one"

# Private keys, kubeconfigs, logs and temporary files never enter the history.
mkdir -p "$D/ssl" "$D/logs" "$D/backup"
echo "-----BEGIN PRIVATE KEY----- secret" >"$D/ssl/ca-key.pem"
echo "cert" >"$D/ssl/ca.pem"
echo "token: secret" >"$D/kubectl.kubeconfig"
echo "log" >"$D/logs/run.log"
echo "snap" >"$D/backup/snap.db"
echo "half" >"$D/hosts.ezk-tmp-123"
echo "key" >"$D/id.key"
like "$(g status --porcelain --ignored)" "!! ssl/" "git ignores ssl/"
unlike "$(g status --porcelain)" "ssl|kubeconfig|logs|backup|ezk-tmp|\.key" "git status shows none of them as untracked"
unlike "$(g log --all --name-only --format=)" "ssl|kubeconfig|logs|backup|ezk-tmp|\.key" "none of them in any commit"
if g grep -q secret $(g rev-list --all) 2>/dev/null; then fail "no secret in the history"; else pass "no secret in the history"; fi

# Edits are not committed by log or diff; the clusters list is unchanged.
is "$(g log --oneline | wc -l)" 1 "log and diff commit nothing"
run "$EZK" list
is "$out" "  aio
  prod" "list shows the clusters, not .git"

run "$EZK" log prod -n 1
is "$rc" 0 "log -n 1 exits 0"
run "$EZK" log prod --max-count=1
is "$rc" 0 "log --max-count=1 exits 0"
for bad in 0 -1 x ""; do
	run "$EZK" log prod -n "$bad"
	is "$rc" 2 "log -n '$bad' exits 2"
done
like "$err" "usage: ezk log" "bad -n prints the usage"

# Unknown clusters and bad usage.
run "$EZK" log nosuch
is "$rc" 2 "log of an unknown cluster exits 2"
like "$err" "no cluster 'nosuch'" "... naming it"
is "$out" "" "... with nothing on stdout"
run "$EZK" diff nosuch
is "$rc" 2 "diff of an unknown cluster exits 2"
like "$err" "no cluster 'nosuch'" "... naming it"
run "$EZK" log
is "$rc" 2 "log without a cluster exits 2"
like "$err" "which cluster" "... asking which"
run "$EZK" diff
is "$rc" 2 "diff without a cluster exits 2"
run "$EZK" diff prod aio
is "$rc" 2 "diff with two clusters exits 2"
run "$EZK" log ../x
is "$rc" 2 "log rejects a bad name"

# A cluster from before the history (or whose first commit failed).
mkdir -p "$EZK_HOME/clusters/old"
cp "$D/hosts" "$D/config.yml" "$EZK_HOME/clusters/old/"
run "$EZK" log old
is "$rc" 0 "log of a cluster without history exits 0"
like "$out" "no history yet" "... saying it has none"
run "$EZK" diff old
is "$rc" 0 "diff of a cluster without history exits 0"
like "$out" "no history yet" "... saying it has none"
[ ! -e "$EZK_HOME/clusters/old/.git" ] && pass "log and diff do not start a history" || fail "log and diff do not start a history"

# The workspace inside another git repository: the cluster keeps its own.
git init -q "$T/outer"
run env EZK_HOME="$T/outer/ws" "$EZK" new inner
is "$rc" 0 "new inside another git repository exits 0"
is "$(git -C "$T/outer/ws/clusters/inner" rev-parse --show-toplevel)" "$T/outer/ws/clusters/inner" "the cluster has its own repository"
is "$(git -C "$T/outer" log --oneline 2>/dev/null | wc -l)" 0 "the outer repository got no commit"

# A broken .git is reported, not a crash.
mkdir -p "$EZK_HOME/clusters/broken"
cp "$D/hosts" "$D/config.yml" "$EZK_HOME/clusters/broken/"
echo "gitdir: /nonexistent" >"$EZK_HOME/clusters/broken/.git"
run "$EZK" log broken
no_crash "log with a broken .git"
run "$EZK" diff broken
no_crash "diff with a broken .git"

# A history that cannot be started does not lose the cluster: on a tmpfs
# with few inodes, some sizes leave room for the cluster but not for .git.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	mkdir -p "$T/tiny"
	unshare -m sh -c '
		for n in 3 4 5 6 7 8 10 12 16 24 32 64; do
			mount -t tmpfs -o nr_inodes=$n none "$1" || exit 1
			EZK_HOME=$1 "$2" new c >/dev/null 2>"$1.err"
			rc=$?
			[ -f "$1/clusters/c/hosts" ] && [ -f "$1/clusters/c/config.yml" ] && made=1 || made=0
			git -C "$1/clusters/c" log --oneline >/dev/null 2>&1 && hist=1 || hist=0
			printf "%s %s %s %s %s\n" $n $rc $made $hist "$(tr "\n" " " <"$1.err")"
			umount "$1"
		done' sh "$T/tiny" "$EZK" >"$T/tiny.log" 2>&1 </dev/null
	bad=$(awk '!(($2 == 2 && $3 == 0) || ($2 == 0 && $3 == 1))' "$T/tiny.log")
	is "$bad" "" "out of inodes: new fails whole (exit 2) or makes the cluster (exit 0)"
	warned=$(awk '$2 == 0 && $4 == 0 && /warning: the cluster.s history was not started: .*No space left/' "$T/tiny.log" | wc -l)
	[ "$warned" -gt 0 ] && pass "no room for .git: the cluster is kept, exit 0, a warning ($warned sizes)" ||
		fail "no room for .git: the cluster is kept, exit 0, a warning" "$(cat "$T/tiny.log")"
	silent=$(awk '$2 == 0 && $4 == 0 && !/warning/' "$T/tiny.log")
	is "$silent" "" "never a cluster without history and without a warning"
	grep -qE '^64 0 1 1 *$' "$T/tiny.log" && pass "with room enough: history and no warning" ||
		fail "with room enough: history and no warning" "$(cat "$T/tiny.log")"
else
	skip "out-of-space checks need root and mount namespaces"
fi

run "$EZK" help log
is "$rc" 0 "help log exits 0"
like "$out" "max-count" "help log shows -n"
run "$EZK" help
like "$out" "diff" "help lists diff"
like "$out" "log" "help lists log"

# ezk inventory shows no password (ansible-inventory does): --host and --list
run "$EZK" new sec
printf '[etcd]\n198.18.0.1 ansible_become_password=BecomeSecret9\n[kube_master]\n198.18.0.1\n[kube_node]\n198.18.0.1\n[all:vars]\nk8s_nodename=''\nansible_ssh_pass=SshSecret7\n' >"$EZK_HOME/clusters/sec/hosts"
run "$EZK" inventory sec --host 198.18.0.1
is "$rc" 0 "inventory --host with passwords: exit 0"
unlike "$out" "SshSecret7|BecomeSecret9" "inventory --host: no password shown"
like "$out" '"ansible_ssh_pass": "\*\*\*\*\*\*\*\*"' "... ansible_ssh_pass as ********"
like "$out" '"ansible_become_password": "\*\*\*\*\*\*\*\*"' "... ansible_become_password as ********"
run "$EZK" inventory sec --list
unlike "$out" "SshSecret7|BecomeSecret9" "inventory --list: no password shown"
like "$out" '"ansible_become_password": "\*\*\*\*\*\*\*\*"' "... the host's as ********"

done_testing
