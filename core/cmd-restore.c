/*
 * cmd-restore.c - `ezk restore <c> [FILE]`: the cluster's state put back
 * from an etcd snapshot (default: clusters/<c>/backup/snapshot.db, the
 * newest `ezk backup` made), as kubeasz's `ezctl restore`: after checking
 * the file against its recorded sha256 here (a mismatch is refused before
 * anything is asked or touched: exit 2), the step 95 restore of
 * roles/steps.lua restores it on every member beside its data, stops the
 * API servers, controllers, kubelets and kube-proxies and etcd, puts the
 * restored data in place, and starts etcd, the control plane and the nodes
 * again (oprun.h).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "oprun.h"
#include "ssh.h"
#include "workspace.h"

extern const struct cmd cmd_restore;

enum { OPT_SHA256 = 2001 };

static const struct opt options[] = {
    OPT(OPT_SHA256, 0, "sha256", "HEX",
	"the snapshot's sha256, for a file ezk backup did not make"),
    OPT(OP_OPT_YES, 'y', "yes", NULL, "do not ask (needed when stdin is not a terminal)"),
    OPT(OP_OPT_VERBOSE, 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(run_options),
    OPT_END,
};

struct args {
	struct op op;
	const char *sha256; /* --sha256 */
	char *file;	    /* the snapshot, resolved */
};

static int is_sha256(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	if (id != OPT_SHA256)
		return op_option(&a->op, id, value);
	if (!is_sha256(value, strlen(value)))
		return ezk_fail("--sha256 %s: 64 hexadecimal digits", value);
	a->sha256 = value;
	return 0;
}

/* The snapshot FILE names, and the sha256 it must have: a name is one of
 * the cluster's backup folder, a path is taken as it is; a link is
 * followed (snapshot.db), and its target's record read (<file>.sha256,
 * sha256sum's format). Then the file is hashed and compared. */
static int check_snapshot(const char *dir, const char *arg, const char *given, char **out,
			  char **sum_out)
{
	char *path = strchr(arg, '/') ? xstrdup(arg) : path_join(dir, arg);
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		int r = ezk_fail("%s: no such snapshot ('ezk backup' makes them in %s)", path, dir);
		free(path);
		return r;
	}
	free(path);
	char want[65] = "";
	if (given) {
		snprintf(want, sizeof want, "%s", given);
	} else {
		struct buf rec = BUF_INIT;
		buf_printf(&rec, "%s.sha256", real);
		char *data = NULL;
		size_t len = 0;
		if (file_read(rec.s, &data, &len) < 0) {
			ezk_fail("%s: no recorded sha256 for %s: give --sha256 HEX for a snapshot "
				 "'ezk backup' did not make",
				 rec.s, real);
			buf_free(&rec);
			return -1;
		}
		size_t n = strcspn(data, " \t\n");
		if (!is_sha256(data, n)) {
			ezk_fail_at(rec.s, 1,
				    "not a sha256 record (sha256sum's format: HEX  NAME)");
			free(data);
			buf_free(&rec);
			return -1;
		}
		memcpy(want, data, 64);
		want[64] = 0;
		free(data);
		buf_free(&rec);
	}
	for (char *p = want; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	struct ssh_file f = {.path = real};
	if (ssh_file_prepare(&f) < 0)
		return -1;
	if (strcmp(f.sha256, want) != 0) {
		if (given)
			return ezk_fail(
			    "%s has sha256 %s, not %s (--sha256): refusing to restore it; "
			    "nothing was done",
			    real, f.sha256, want);
		struct buf rec = BUF_INIT;
		buf_printf(&rec, "%s.sha256", real);
		ezk_fail_at(rec.s, 1,
			    "%s has sha256 %s, not %s as recorded: refusing to restore it; nothing "
			    "was done",
			    real, f.sha256, want);
		buf_free(&rec);
		return -1;
	}
	*out = xstrdup(real);
	*sum_out = xstrdup(want);
	return 0;
}

static void done(struct cluster *cl, int rc, bool json, struct buf *msg, void *ud)
{
	struct args *a = ud;
	(void)cl;
	(void)json;
	(void)rc;
	buf_printf(msg, "%s", a->file);
}

static int run_restore(int argc, char **argv, const struct ezk_globals *g)
{
	struct args a = {0};
	op_init(&a.op, "restore");
	int k = cmd_parse(&cmd_restore, argc, argv, got, &a);
	if (k < 0) {
		run_opts_free(&a.op.ro);
		return EZK_USAGE;
	}
	if (argc - k < 1 || argc - k > 2) {
		run_opts_free(&a.op.ro);
		return cmd_usage(&cmd_restore,
				 argc - k < 1 ? "which cluster?" : "too many arguments");
	}
	const char *name = argv[k];
	if (workspace_cluster_exists(g->home, name) < 0) {
		run_opts_free(&a.op.ro);
		return cmd_error(EZK_USAGE);
	}
	char *cdir = cluster_dir(g->home, name), *bdir = path_join(cdir, "backup");
	char *sum = NULL;
	int rc = check_snapshot(bdir, argc - k == 2 ? argv[k + 1] : "snapshot.db", a.sha256,
				&a.file, &sum);
	free(cdir);
	free(bdir);
	if (rc < 0) {
		run_opts_free(&a.op.ro);
		return cmd_error(EZK_USAGE);
	}
	op_var(&a.op, "db_to_restore", a.file);
	op_var(&a.op, "EZK_RESTORE_SHA256", sum);
	free(sum);
	a.op.done = done;
	a.op.ud = &a;
	rc = op_run(&cmd_restore, g, name, &a.op);
	free(a.file);
	return rc;
}

const struct cmd cmd_restore = {
    .name = "restore",
    .args = "<cluster> [FILE] [--sha256 HEX] [--yes] [--json]",
    .summary = "put the cluster's state back from an etcd snapshot (default: the newest)",
    .help = "Restores an etcd snapshot on every [etcd] member: FILE is a name in\n"
	    "clusters/<c>/backup/ (default snapshot.db, the newest 'ezk backup' made) or a\n"
	    "path. It must have the sha256 recorded beside it (FILE.sha256, which ezk backup\n"
	    "writes) or given with --sha256: otherwise nothing is done (exit 2). Then, asked\n"
	    "on the terminal (--yes: not asked; without a terminal --yes is needed):\n"
	    "  - on every member, the snapshot is uploaded, checked, and restored beside\n"
	    "    etcd's data with the member's name and peer URL and [etcd] as the initial\n"
	    "    cluster (etcdctl for etcd 3.4, etcdutl from 3.5); a member that cannot\n"
	    "    stops it here, before anything stopped;\n"
	    "  - kube-proxy, the kubelets, the scheduler, the controller-manager and the\n"
	    "    API servers stop; etcd stops on every member, the restored data takes the\n"
	    "    place of the old (kept in <ETCD_DATA_DIR>.before-restore until the next\n"
	    "    restore), etcd starts and is waited for;\n"
	    "  - the control plane starts (the API until /readyz), then the nodes (until\n"
	    "    Ready).\n"
	    "The restore is recorded in the cluster's history (ezk log).\n",
    .examples = "Examples:\n"
		"  ezk restore prod\n"
		"  ezk restore prod snapshot_20261205101500.db --yes\n"
		"  ezk restore prod /mnt/old/etcd.db --sha256 9f86d08...\n",
    .complete = "cluster",
    .options = options,
    .run = run_restore,
};
