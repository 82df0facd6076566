/*
 * oprun.h - day-2 operations: the commands besides setup that run a step of
 * roles/steps.lua on the cluster (ezk backup runs the step "backup", ezk
 * destroy the step "clean", ...), through the same engine, with the same
 * run options, output and --json events, and a commit in the cluster's
 * history. What an operation does is its step's roles; its command file
 * only turns arguments into variables and says what it made.
 *
 *     struct op op;
 *     op_init(&op, "backup");
 *     int k = cmd_parse(&cmd_backup, argc, argv, got, &op);  // got: its own
 *                                           // options, else op_option()
 *     op_var(&op, "BACKUP_KEEP", "5");      // a variable, over config.yml
 *     return op_run(&cmd_backup, g, argv[k], &op);            // frees op
 *
 * Options op_option() takes (a command lists those it accepts in its table):
 * -C/--check, --diff, -v/--verbose, -y/--yes and the run options (-l, -f,
 * --key, --json, -e, ...: targets.h).
 *
 * A step that asks before it runs (steps.lua's `confirm`: it destroys or
 * replaces what the cluster holds) is confirmed on a terminal by typing the
 * cluster's name, unless --yes; without a terminal and without --yes it is
 * refused (exit 2) before any host is touched. Under --check nothing is
 * asked and nothing recorded.
 *
 * Part of the CLI, as cmd.c (it prints, asks on the terminal, and its
 * commands' tables use cmd.h); setup asks with op_confirm() too.
 */
#ifndef EZK_OPRUN_H
#define EZK_OPRUN_H

#include <stdbool.h>

#include "engine.h"
#include "targets.h"

struct buf;
struct cluster;
struct cmd;
struct ezk_globals;

/* ids of the options op_option() takes besides the run options */
enum { OP_OPT_CHECK = 'C', OP_OPT_VERBOSE = 'v', OP_OPT_YES = 'y', OP_OPT_DIFF = 3001 };

struct op {
	const char *steps;     /* the step(s) it runs: "backup" */
	struct engine_opts eo; /* check, diff, verbose */
	struct run_opts ro;    /* -l, --json, -e (a map), ... */
	bool yes;	       /* -y/--yes: no confirmation asked */
	/* After the run (never under --check): what the history's message
	 * says after "<command>: " (what the operation made); it may print
	 * it too (not with --json: stdout holds the events only). rc is the
	 * run's exit status. NULL: the recap alone. */
	void (*done)(struct cluster *cl, int rc, bool json, struct buf *msg, void *ud);
	void *ud;
};

void op_init(struct op *op, const char *steps);
/* One option of cmd_parse: 0, or -1 (message set) for a bad value or an
 * option that is not one of op's. */
int op_option(struct op *op, int id, const char *value);
/* A variable the operation sets for the run, over config.yml and -e. */
void op_var(struct op *op, const char *name, const char *value);
/* Open the cluster, run the steps, record the run in the history; returns
 * the exit status (EZK_OK, EZK_FAILED, EZK_USAGE). Frees what op holds. */
int op_run(const struct cmd *c, const struct ezk_globals *g, const char *cluster, struct op *op);
/* The whole command when its one operand is the cluster: argv parsed with
 * c's options (got: the command's own, NULL when op_option takes them
 * all; got's ud is op), then op_run. */
int op_main(const struct cmd *c, int argc, char **argv, const struct ezk_globals *g, struct op *op,
	    int (*got)(void *op, int id, const char *value));

/* Before engine_run: what engine_confirm() says, asked (0: go on) or
 * refused (EZK_USAGE, said on stderr). Not asked under check or with yes. */
struct engine;
int op_confirm(struct engine *e, const struct cluster *cl, const char *command, size_t nhosts,
	       bool check, bool yes);

#endif
