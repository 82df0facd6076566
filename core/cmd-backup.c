/*
 * cmd-backup.c - `ezk backup <c> [--keep N]`: a snapshot of etcd (the whole
 * cluster's state) from a healthy member, over TLS, into
 * clusters/<c>/backup/snapshot_<time>.db with its sha256 beside it and
 * snapshot.db pointing at the newest, as kubeasz's `ezctl backup`; the
 * newest N are kept. The step is 94 backup of roles/steps.lua (oprun.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "oprun.h"

extern const struct cmd cmd_backup;

enum { OPT_KEEP = 2001 };

static const struct opt options[] = {
    OPT(OPT_KEEP, 0, "keep", "N", "keep the newest N snapshots (default BACKUP_KEEP, 10; 0: all)"),
    OPT(OP_OPT_VERBOSE, 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(run_options),
    OPT_END,
};

static int got(void *ud, int id, const char *value)
{
	struct op *op = ud;
	if (id != OPT_KEEP)
		return op_option(op, id, value);
	char *end;
	long n = strtol(value, &end, 10);
	if (!*value || *end || n < 0 || n > 100000)
		return ezk_fail("--keep %s: a number of snapshots (0 keeps them all)", value);
	op_var(op, "BACKUP_KEEP", value);
	return 0;
}

/* The snapshot the run made: what snapshot.db points at, and its sha256. */
static void done(struct cluster *cl, int rc, bool json, struct buf *msg, void *ud)
{
	(void)ud;
	if (rc != EZK_OK)
		return;
	char *link = path_join(cl->dir, "backup/snapshot.db");
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof target - 1);
	free(link);
	if (n <= 0)
		return;
	target[n] = 0;
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/backup/%s.sha256", cl->dir, target);
	char *sum = NULL;
	size_t len = 0;
	if (file_read(p.s, &sum, &len) == 0 && len >= 64) {
		buf_printf(msg, "backup/%s sha256 %.64s", target, sum);
		if (!json)
			printf("backup: %s/backup/%s (sha256 %.64s)\n", cl->dir, target, sum);
	}
	free(sum);
	buf_free(&p);
}

static int run_backup(int argc, char **argv, const struct ezk_globals *g)
{
	struct op op;
	op_init(&op, "backup");
	op.done = done;
	return op_main(&cmd_backup, argc, argv, g, &op, got);
}

const struct cmd cmd_backup = {
    .name = "backup",
    .args = "<cluster> [--keep N] [--json]",
    .summary = "snapshot etcd into clusters/<c>/backup/ (kept N, sha256 recorded)",
    .help = "Takes a snapshot of etcd, the whole cluster's state, on the first [etcd] member\n"
	    "that answers healthy (etcdctl over TLS with the member's certificate), fetches it\n"
	    "to clusters/<c>/backup/snapshot_<time>.db (0600: it holds the cluster's secrets)\n"
	    "after checking the copy has the member's sha256, records that sha256 in\n"
	    "snapshot_<time>.db.sha256 and points snapshot.db at it, as kubeasz's backup.\n"
	    "Snapshots beyond the newest N (--keep, else BACKUP_KEEP, 10; 0 keeps all) are\n"
	    "removed. 'ezk restore <c>' restores the newest. The backup is recorded in the\n"
	    "cluster's history (ezk log) with its file and sha256.\n",
    .examples = "Examples:\n"
		"  ezk backup prod\n"
		"  ezk backup prod --keep 30\n",
    .complete = "cluster",
    .options = options,
    .run = run_backup,
};
