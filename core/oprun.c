/*
 * oprun.c - day-2 operations: a step of roles/steps.lua run by its own
 * command, asked for when it destroys, recorded in the history (oprun.h).
 */
#include "oprun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "lock.h"
#include "history.h"
#include "inventory.h"
#include "value.h"

void op_init(struct op *op, const char *steps)
{
	memset(op, 0, sizeof *op);
	op->steps = steps;
	run_opts_init(&op->ro);
}

int op_option(struct op *op, int id, const char *value)
{
	switch (id) {
	case OP_OPT_CHECK: op->eo.check = true; return 0;
	case OP_OPT_DIFF: op->eo.diff = true; return 0;
	case OP_OPT_VERBOSE: op->eo.verbose++; return 0;
	case OP_OPT_YES: op->yes = true; return 0;
	}
	int r = run_opts_parse(&op->ro, id, value);
	if (r == 0)
		return ezk_fail("option %d is not an operation's", id);
	return r < 0 ? -1 : 0;
}

static int op_got(void *op, int id, const char *value)
{
	return op_option(op, id, value);
}

int op_main(const struct cmd *c, int argc, char **argv, const struct ezk_globals *g, struct op *op,
	    int (*got)(void *op, int id, const char *value))
{
	int k = cmd_parse(c, argc, argv, got ? got : op_got, op);
	if (k < 0) {
		run_opts_free(&op->ro);
		return EZK_USAGE;
	}
	if (argc - k != 1) {
		run_opts_free(&op->ro);
		return cmd_usage(c, argc - k < 1 ? "which cluster?" : "too many arguments");
	}
	return op_run(c, g, argv[k], op);
}

void op_var(struct op *op, const char *name, const char *value)
{
	value_map_set(op->ro.extra, name, value_str(value));
}

int op_confirm(struct engine *e, const struct cluster *cl, const char *command, size_t nhosts,
	       bool check, bool yes)
{
	const char *what = engine_confirm(e);
	if (!what || check || yes)
		return 0;
	const char *name = cl->name ? cl->name : "?";
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"ezk: %s %s %s on %zu host%s: it asks for confirmation, and stdin is not "
			"a terminal: add --yes to go on. Nothing was done.\n",
			command, name, what, nhosts, nhosts == 1 ? "" : "s");
		return EZK_USAGE;
	}
	fprintf(stderr, "ezk %s %s %s on %zu host%s:", command, name, what, nhosts,
		nhosts == 1 ? "" : "s");
	size_t shown = 0;
	for (size_t i = 0; i < inventory_nhosts(cl->inv) && shown < 8; i++, shown++)
		fprintf(stderr, " %s", inventory_host(cl->inv, i));
	fprintf(stderr, "%s\nType the cluster's name (%s) to go on: ",
		shown < inventory_nhosts(cl->inv) ? " ..." : "", name);
	fflush(stderr);
	char line[256];
	bool ok = fgets(line, sizeof line, stdin) != NULL;
	if (ok) {
		line[strcspn(line, "\r\n")] = 0;
		ok = strcmp(line, name) == 0;
	}
	if (!ok) {
		fputs("ezk: not confirmed: nothing was done\n", stderr);
		return EZK_USAGE;
	}
	return 0;
}

/* "<command>: <what it made>: <recap>" in the history, whatever the
 * outcome; refs/ezk/applied stays where the last setup put it. A history
 * that cannot be written is a warning, not a failed operation. */
static void record(const struct cmd *c, struct cluster *cl, struct op *op, struct engine *e, int rc)
{
	if (op->eo.check || !cl->dir)
		return;
	struct buf made = BUF_INIT, msg = BUF_INIT;
	if (op->done)
		op->done(cl, rc, op->ro.json, &made, op->ud);
	buf_printf(&msg, "%s", c->name);
	if (op->ro.limit)
		buf_printf(&msg, " -l %s", op->ro.limit);
	buf_printf(&msg, ": %s%s%s", made.len ? made.s : "", made.len ? ": " : "",
		   engine_summary(e));
	char *id = NULL;
	if (history_record(cl->dir, msg.s, &id) < 0)
		fprintf(stderr, "ezk: warning: history not recorded: %s\n", ezk_err_msg());
	free(id);
	buf_free(&made);
	buf_free(&msg);
}

int op_run(const struct cmd *c, const struct ezk_globals *g, const char *name, struct op *op)
{
	struct cluster *cl;
	if (cluster_open(g->home, name, op->ro.extra, &cl) < 0) {
		run_opts_free(&op->ro);
		return cmd_error(EZK_USAGE);
	}
	/* one run per cluster, setup's lock (lock.h): held until the process
	 * ends, when the kernel drops it */
	struct cluster_lock *lk = NULL;
	if (cluster_lock(cl->dir, c->name, &lk, NULL) != 0) {
		cluster_close(cl);
		run_opts_free(&op->ro);
		return cmd_error(EZK_USAGE);
	}
	struct engine_opts eo = op->eo;
	eo.command = c->name;
	eo.steps = op->steps;
	eo.forks = op->ro.forks;
	eo.json = op->ro.json;
	char *path = engine_roles_path();
	eo.roles_path = path;
	struct targets *ts = NULL;
	struct engine *e = NULL;
	int rc;
	if (targets_open(cl, &op->ro, g->home, &ts) < 0 || engine_open(cl, ts, &eo, &e) < 0) {
		rc = cmd_error(EZK_USAGE);
	} else if ((rc = op_confirm(e, cl, c->name, ts->n, eo.check, op->yes)) == 0) {
		rc = engine_run(e);
		record(c, cl, op, e, rc);
	}
	engine_close(e);
	targets_free(ts);
	free(path);
	cluster_close(cl);
	run_opts_free(&op->ro);
	return rc;
}
