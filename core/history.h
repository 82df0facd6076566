/*
 * history.h - a cluster's history: clusters/<name>/.git, kept with libgit2.
 *
 * Every change ezk makes or applies to a cluster is a commit of its `hosts`
 * and `config.yml`; the reference refs/ezk/applied marks what the last
 * fully successful `ezk setup` applied, so `ezk diff` can show the edits
 * not applied yet and `ezk log` the story so far. The directory is an
 * ordinary git repository: `git -C clusters/prod log -p` works too.
 *
 *     ezk new:    history_commit(dir, "new: cluster prod from inventories/...", NULL);
 *
 *     ezk setup (at the end of a run, whatever its outcome):
 *         char *id = NULL;
 *         int rc = history_commit(dir, "setup 02: 3 ok, 0 failed", &id);
 *         if (rc == 1)                    // nothing changed since the last commit
 *             rc = history_head(dir, &id);
 *         if (rc == 0 && every_host_ok)
 *             rc = history_mark_applied(dir, id);
 *         if (rc < 0)                     // never fails the run: warn and go on
 *             fprintf(stderr, "ezk: warning: history: %s\n", ezk_err_msg());
 *         free(id);
 *
 *     ezk log:    history_log(dir, &b, 20);    ezk diff:   history_diff(dir, &b, &changed);
 *
 * Only `hosts`, `config.yml` and `.gitignore` are ever staged by ezk, and the
 * .gitignore ezk writes (when there is none) keeps ssl/ (private keys,
 * kubeconfigs), logs/, backup/ and ezk's temporary files out of any
 * `git add` a user may run there: secrets never enter the history. Commits
 * are made by "ezk <ezk@HOSTNAME>" on branch main, and no git configuration
 * outside the repository (~/.gitconfig, /etc/gitconfig) is read, so the
 * history does not depend on who runs ezk.
 *
 * All functions return -1 with a message (err.h) on failure. Use them from
 * one thread at a time (libgit2 is initialised once, on first use).
 */
#ifndef EZK_HISTORY_H
#define EZK_HISTORY_H

struct buf;

/* Commit the cluster's hosts, config.yml and .gitignore as they are on disk,
 * making the repository (and .gitignore) first if there is none. Returns 0
 * and a new commit, or 1 when nothing changed since HEAD (no empty commit is
 * made; *out_id is NULL then). *out_id (may be NULL) gets the commit's full
 * hex id; the caller frees it. A file that is missing is recorded as
 * deleted. Anything else the user committed there is kept as it is. */
int history_commit(const char *cluster_dir, const char *message, char **out_id);

/* The same, but a commit is made even when the files did not change: a
 * setup run is recorded with its recap whatever it changed. Returns 0. */
int history_record(const char *cluster_dir, const char *message, char **out_id);

/* The full hex id of HEAD (caller frees); -1 when there is no history yet. */
int history_head(const char *cluster_dir, char **out_id);

/* Point refs/ezk/applied at commit_id (full or abbreviated hex, or any
 * revision git understands; NULL means HEAD): what the last successful
 * setup applied. */
int history_mark_applied(const char *cluster_dir, const char *commit_id);

/* Where refs/ezk/applied points (the full hex id; caller frees): 0, or 1
 * (*out_id NULL) when no setup has succeeded yet, -1 (message) when the
 * history cannot be read or there is none. */
int history_applied(const char *cluster_dir, char **out_id);

/* 1 if the cluster has a history (a repository with at least one commit),
 * 0 if not (no repository, or one with no commit yet), -1 (message) if its
 * repository cannot be read. */
int history_exists(const char *cluster_dir);
/* Whether file `name` (hosts, config.yml) of the cluster holds a password
 * (what the history stores as ********). */
int history_file_has_secrets(const char *cluster_dir, const char *name);

/* Append the history to out, newest first, at most max entries (max <= 0:
 * all), one line each: "* " where refs/ezk/applied points, else two
 * blanks; the short id, the local date and time, the first line of the
 * message, and "  (applied)" on the marked one:
 *     * 1a2b3c4  2026-11-22 03:04  setup all: 3 ok  (applied)
 *       9f8e7d6  2026-11-22 02:58  new: cluster prod from inventories/hosts.multi-node
 * -1 when there is no history yet. */
int history_log(const char *cluster_dir, struct buf *out, int max);

/* The edits of hosts and config.yml on disk that the last successful setup
 * did not apply: a diff against the commit refs/ezk/applied points to, or,
 * when no setup has succeeded yet, against the first commit (what
 * `ezk new` wrote). Appends to out what to show: when something changed
 * (*changed = 1) a header line that names the base, "# edits since the
 * last successful setup: <id> <date> <message>" or "# no setup has
 * succeeded yet; edits since the first commit: ...", then a git-style
 * unified diff (diff --git a/hosts b/hosts, ---, +++, @@); otherwise
 * (*changed = 0) one line "no edits since the last setup (<base>)", where
 * <base> starts with "none has succeeded yet; compared with " before any
 * setup succeeded. -1 when there is no history yet. */
int history_diff(const char *cluster_dir, struct buf *out, int *changed);

#endif
