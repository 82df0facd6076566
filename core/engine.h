/*
 * engine.h - `ezk setup`: steps of plays of roles, run on many hosts at once.
 *
 *     struct engine_opts o = {...};          // steps, limit, check, diff, ...
 *     struct engine *e;
 *     if (engine_open(cluster, targets, &o, &e) < 0) ...;   // loads steps.lua, roles
 *     int rc = engine_run(e);               // EZK_OK / EZK_FAILED
 *     engine_close(e);
 *
 * Steps come from roles/steps.lua (see roles/lib/README.md): each a list of
 * plays; a play is a barrier: its hosts run in parallel (up to --forks),
 * the next play starts when all are done. A host keeps one SSH session and
 * one lua_State for the whole run. A failed or unreachable host leaves the
 * run; the others go on unless the play says any_errors_fatal.
 *
 * Lua is compiled once: every lib .lua file and role main.lua is turned into
 * bytecode at open, and each host's state loads the bytecode.
 *
 * Every task result goes to the report (terminal, --json events, the run's
 * log in clusters/<c>/logs/) and every step's outcome per host to the
 * journal (clusters/<c>/logs/journal), which --resume reads.
 */
#ifndef EZK_ENGINE_H
#define EZK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct cluster;
struct targets;
struct engine;

struct engine_opts {
	const char *steps;	/* "02", "01-03", "etcd", "all" */
	const char *command;	/* the command running them: NULL for setup; the
				 * steps that steps.lua gives to a command
				 * (`command = "add-node"`) run only under it */
	const char *roles_path; /* EZK_ROLES or the default search path */
	const char *tags;	/* -t a,b (NULL: all tasks) */
	const char *skip_tags;	/* --skip-tags */
	const char *limit;	/* -l (NULL: every host) */
	int forks;
	bool check, diff, json, resume;
	int verbose;
};

int engine_open(struct cluster *c, struct targets *ts, const struct engine_opts *o,
		struct engine **out);
/* Run; returns the exit status (0 all ok, 1 a host failed or was
 * unreachable). Errors in steps.lua or roles found before any host was
 * touched return 2 from engine_open instead. */
int engine_run(struct engine *e);
/* 0, or the signal (SIGINT, SIGTERM) that stopped the run: it started no
 * task after it, let the running ones end, wrote the recap, the journal
 * ("interrupted") and the log. The command exits 128 + that number. */
int engine_stopped(struct engine *e);
/* Whether the run covered every host with every task: no --limit that
 * leaves a host out, no -t/--skip-tags, not --check, not stopped. Only such
 * a run, when every host succeeded, moves refs/ezk/applied. */
int engine_complete(struct engine *e);

/* One line: "3 hosts: ok=40 changed=2 failed=0 ..." for the history. */
const char *engine_summary(struct engine *e);
/* The tasks that changed something, on every host of the run so far. */
int engine_changed(const struct engine *e);
/* What a selected step asks before it runs (steps.lua's `confirm`: it
 * destroys or replaces something), or NULL: the command asks the user
 * (oprun.h) between engine_open and engine_run. */
const char *engine_confirm(const struct engine *e);
void engine_close(struct engine *e);

/* The default roles search path: $EZK_ROLES, else the data dir's roles/. */
char *engine_roles_path(void);

#endif
