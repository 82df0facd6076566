/*
 * test-history.c - a cluster's history (history.h) in a temporary
 * directory: commits, no empty commits, the applied mark, log and diff,
 * what is never committed, and independence from the user's git config.
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "history.h"
#include "tap.h"

static char *dir;

static void put(const char *name, const char *text)
{
	char *p = path_join(dir, name);
	file_write_atomic(p, text, strlen(text), 0644);
	free(p);
}

static int is_hex40(const char *s)
{
	if (!s || strlen(s) != 40)
		return 0;
	return strspn(s, "0123456789abcdef") == 40;
}

/* The paths in HEAD's tree, space-separated, read with libgit2 itself. */
static char *head_paths(void)
{
	git_repository *repo;
	git_object *obj;
	git_tree *tree;
	struct buf b = BUF_INIT;
	if (git_repository_open(&repo, dir) < 0)
		return xstrdup("(no repo)");
	if (git_revparse_single(&obj, repo, "HEAD^{tree}") == 0) {
		tree = (git_tree *)obj;
		for (size_t i = 0; i < git_tree_entrycount(tree); i++)
			buf_printf(&b, "%s%s", i ? " " : "",
				   git_tree_entry_name(git_tree_entry_byindex(tree, i)));
		git_object_free(obj);
	}
	git_repository_free(repo);
	return buf_detach(&b);
}

static char *head_author(void)
{
	git_repository *repo;
	git_object *obj;
	struct buf b = BUF_INIT;
	if (git_repository_open(&repo, dir) < 0)
		return xstrdup("(no repo)");
	if (git_revparse_single(&obj, repo, "HEAD^{commit}") == 0) {
		const git_signature *a = git_commit_author((git_commit *)obj);
		const git_signature *c = git_commit_committer((git_commit *)obj);
		buf_printf(&b, "%s <%s> / %s", a->name, a->email, c->name);
		git_object_free(obj);
	}
	git_reference *head;
	if (git_repository_head(&head, repo) == 0) {
		buf_printf(&b, " on %s", git_reference_name(head));
		git_reference_free(head);
	}
	git_repository_free(repo);
	return buf_detach(&b);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

int main(void)
{
	char tmp[] = "/tmp/ezk-test-history.XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	/* A user's git config that ezk must ignore. */
	char *home = path_join(tmp, "home");
	mkdir(home, 0755);
	char *gitconfig = path_join(home, ".gitconfig");
	const char *cfg = "[user]\n\tname = Mallory\n\temail = m@example.com\n"
			  "[init]\n\tdefaultBranch = trunk\n";
	file_write_atomic(gitconfig, cfg, strlen(cfg), 0644);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	git_libgit2_init();

	dir = path_join(tmp, "prod");
	char *id = (char *)"sentinel", *id2 = NULL, *head = NULL, *s;
	struct buf b = BUF_INIT;
	int changed = -1;

	/* No cluster directory, no repository. */
	ok(history_commit(dir, "x", &id) < 0 && id == NULL, "commit needs the cluster directory");
	mkdir(dir, 0755);
	ok(!history_exists(dir), "no history in a new directory");
	ok(history_log(dir, &b, 0) < 0, "log without a history fails");
	ok(strstr(ezk_err_msg(), "no history yet") != NULL, "... saying there is none");
	ok(history_head(dir, &head) < 0 && head == NULL, "no HEAD without a history");
	ok(history_diff(dir, &b, &changed) < 0 && changed == 0, "no diff without a history");
	ok(history_mark_applied(dir, NULL) < 0, "nothing to mark without a history");
	ok(b.len == 0, "nothing written on failure");

	/* The first commit. */
	put("hosts", "[etcd]\n198.18.0.1\n");
	put("config.yml", "CLUSTER_NETWORK: calico\n");
	char *ssl = path_join(dir, "ssl");
	mkdir_p(ssl, 0700);
	free(ssl);
	put("ssl/ca-key.pem", "-----BEGIN PRIVATE KEY-----\nsecret\n");
	put("ssl/ca.pem", "-----BEGIN CERTIFICATE-----\n");
	put("kubectl.kubeconfig", "token: secret\n");
	put("notes.txt", "not ours\n");
	ok(history_commit(dir, "new: cluster prod from inventories/hosts.multi-node", &id) == 0,
	   "first commit");
	ok(is_hex40(id), "returns the full hex id");
	ok(history_exists(dir), "now there is a history");
	s = head_paths();
	is_str(s, ".gitignore config.yml hosts", "only hosts, config.yml and .gitignore committed");
	free(s);
	s = head_author();
	ok(strncmp(s, "ezk <ezk@", 9) == 0 && strstr(s, "/ ezk on refs/heads/main"),
	   "author and committer ezk, branch main, whatever ~/.gitconfig says");
	if (!(strncmp(s, "ezk <ezk@", 9) == 0 && strstr(s, "/ ezk on refs/heads/main")))
		printf("#   got: %s\n", s);
	free(s);
	char *gi_path = path_join(dir, ".gitignore"), *gi;
	size_t gi_len;
	ok(file_read(gi_path, &gi, &gi_len) == 0 && strstr(gi, "\nssl/\n") &&
	       strstr(gi, "\nlogs/\n") && strstr(gi, "\nbackup/\n") && strstr(gi, "*.ezk-tmp*") &&
	       strstr(gi, "\n.ezk-agent*\n"),
	   ".gitignore keeps ssl/, logs/, backup/, temporary files and the agent's socket out");
	free(gi);
	ok(history_head(dir, &head) == 0 && head && strcmp(head, id) == 0, "HEAD is that commit");
	free(head);
	head = NULL;

	/* Nothing changed: no empty commit. */
	ok(history_commit(dir, "setup 01: nothing", &id2) == 1 && id2 == NULL,
	   "no change: returns 1, no id");
	ok(history_head(dir, &head) == 0 && strcmp(head, id) == 0, "... and HEAD did not move");
	free(head);
	head = NULL;
	put("ssl/etcd-key.pem", "secret 2\n");
	ok(history_commit(dir, "setup 02: certs", NULL) == 1, "a new key in ssl/ is no change");

	/* Log. */
	ok(history_log(dir, &b, 0) == 0, "log");
	ok(count_lines(b.s) == 1, "one entry");
	ok(strncmp(b.s, "  ", 2) == 0 && strncmp(b.s + 2, id, 7) == 0, "short id, not marked");
	ok(strstr(b.s, "  new: cluster prod from inventories/hosts.multi-node\n") != NULL,
	   "the message");
	ok(b.len > 30 && b.s[11] == '2' && b.s[15] == '-' && b.s[18] == '-' && b.s[24] == ':' &&
	       b.s[27] == ' ',
	   "a date and time: YYYY-MM-DD HH:MM");
	if (!(b.len > 30 && b.s[24] == ':'))
		printf("#   got: %s", b.s);
	buf_reset(&b);

	/* Diff before any setup: against the first commit. */
	ok(history_diff(dir, &b, &changed) == 0 && changed == 0, "no edits yet");
	ok(strncmp(b.s, "no edits since the last setup (none has succeeded yet", 53) == 0,
	   "... says so, and that no setup succeeded");
	buf_reset(&b);
	put("hosts", "[etcd]\n198.18.0.1\n198.18.0.2\n");
	ok(history_diff(dir, &b, &changed) == 0 && changed == 1, "an edit to hosts is seen");
	ok(strncmp(b.s, "# no setup has succeeded yet", 28) == 0, "header: against the first");
	ok(strstr(b.s, "\ndiff --git a/hosts b/hosts\n") && strstr(b.s, "\n--- a/hosts\n") &&
	       strstr(b.s, "\n+++ b/hosts\n") && strstr(b.s, "\n@@ -1,2 +1,3 @@\n") &&
	       strstr(b.s, "\n+198.18.0.2\n"),
	   "a git-style unified diff");
	ok(!strstr(b.s, "config.yml"), "config.yml unchanged: not in the diff");
	buf_reset(&b);

	/* A second commit, then the applied mark. */
	ok(history_commit(dir, "setup all: 1 ok, 0 failed\n\ndetails here", &id2) == 0 &&
	       is_hex40(id2) && strcmp(id, id2) != 0,
	   "the edit is a new commit");
	ok(history_mark_applied(dir, id2) == 0, "mark it applied");
	ok(history_diff(dir, &b, &changed) == 0 && changed == 0, "no edits since the mark");
	ok(strncmp(b.s, "no edits since the last setup (", 31) == 0 &&
	       !strstr(b.s, "none has succeeded"),
	   "... the last setup");
	buf_reset(&b);
	ok(history_log(dir, &b, 0) == 0 && count_lines(b.s) == 2, "log: two entries");
	ok(strncmp(b.s, "* ", 2) == 0 && strncmp(b.s + 2, id2, 7) == 0, "newest first, marked");
	ok(strstr(b.s, "setup all: 1 ok, 0 failed  (applied)\n") != NULL,
	   "first line of the message, (applied)");
	ok(!strstr(b.s, "details here"), "only the first line");
	char *second = strchr(b.s, '\n') + 1;
	ok(strncmp(second, "  ", 2) == 0 && strncmp(second + 2, id, 7) == 0 &&
	       !strstr(second, "(applied)"),
	   "the older one unmarked");
	buf_reset(&b);
	ok(history_log(dir, &b, 1) == 0 && count_lines(b.s) == 1, "log max 1: one entry");
	buf_reset(&b);

	/* Marks by short id and by HEAD; bad ids. */
	char short_id[8];
	memcpy(short_id, id, 7);
	short_id[7] = '\0';
	ok(history_mark_applied(dir, short_id) == 0, "mark by short id");
	history_log(dir, &b, 0);
	second = strchr(b.s, '\n') + 1;
	ok(strncmp(b.s, "  ", 2) == 0 && strncmp(second, "* ", 2) == 0, "the mark moved back");
	buf_reset(&b);
	ok(history_diff(dir, &b, &changed) == 0 && changed == 1 &&
	       strncmp(b.s, "# edits since the last successful setup: ", 41) == 0,
	   "diff against the applied commit");
	buf_reset(&b);
	ok(history_mark_applied(dir, NULL) == 0, "mark HEAD");
	ok(history_mark_applied(dir, "0123456789abcdef0123456789abcdef01234567") < 0,
	   "an unknown commit is refused");
	ok(strstr(ezk_err_msg(), dir) != NULL, "... naming the cluster directory");

	/* Deleting and adding files. */
	char *cfg_path = path_join(dir, "config.yml");
	unlink(cfg_path);
	ok(history_diff(dir, &b, &changed) == 0 && changed == 1 &&
	       strstr(b.s, "deleted file mode 100644\n") && strstr(b.s, "+++ /dev/null\n"),
	   "a deleted config.yml is a deletion");
	buf_reset(&b);
	ok(history_commit(dir, "del config", NULL) == 0, "commit the deletion");
	s = head_paths();
	is_str(s, ".gitignore hosts", "config.yml gone from the tree");
	free(s);
	put("config.yml", "CLUSTER_NETWORK: cilium\n");
	ok(history_commit(dir, "add config", NULL) == 0, "commit it again");
	history_mark_applied(dir, NULL);

	/* A symbolic link: its content is what counts. */
	char *shared = path_join(tmp, "shared-hosts"), *hosts = path_join(dir, "hosts");
	file_write_atomic(shared, "[etcd]\n198.18.9.9\n", 18, 0644);
	unlink(hosts);
	ok(symlink(shared, hosts) == 0, "hosts becomes a symbolic link");
	ok(history_diff(dir, &b, &changed) == 0 && changed == 1 && strstr(b.s, "+198.18.9.9\n"),
	   "diff follows the link");
	buf_reset(&b);
	ok(history_commit(dir, "linked hosts", NULL) == 0, "commit through the link");
	ok(history_diff(dir, &b, &changed) == 0 && changed == 1, "still not applied");
	buf_reset(&b);
	ok(history_commit(dir, "again", NULL) == 1, "no change through the link");

	/* A directory inside another history has none of its own. */
	char *inner = path_join(dir, "backup");
	mkdir(inner, 0755);
	ok(!history_exists(inner), "a repository above does not count");
	ok(history_log(inner, &b, 0) < 0, "... nor is its log shown");

	/* The user's own .gitignore is kept. */
	file_write_atomic(gi_path, "mine\n", 5, 0644);
	ok(history_commit(dir, "user gitignore", NULL) == 0, "an edited .gitignore is committed");
	char *data;
	size_t len;
	ok(file_read(gi_path, &data, &len) == 0 && strcmp(data, "mine\n") == 0,
	   "... and not rewritten");
	free(data);

	buf_free(&b);
	free(id);
	free(id2);
	free(head);
	free(inner);
	free(shared);
	free(hosts);
	free(cfg_path);
	free(gi_path);
	free(gitconfig);
	free(home);
	free(dir);
	git_libgit2_shutdown();
	remove_tree(tmp);
	return tap_done();
}
