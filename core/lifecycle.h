/*
 * lifecycle.h - what the day-2 commands share (add-node, del-master,
 * upgrade, kca-renew, ...): the mechanism around a step of roles/steps.lua
 * that a command runs, with the promises of `ezk setup` and one more, that
 * the inventory changes only when the operation succeeded.
 *
 *     struct lifecycle lc;
 *     int k = lifecycle_parse(&lc, &cmd_add_node, argc, argv, g, NULL, NULL);
 *     if (k < 0) return EZK_USAGE;
 *     if (lifecycle_open(&lc, argv[k], false) < 0) return lifecycle_done(&lc, EZK_USAGE);
 *     ... lc.hosts (the hosts file's text) -> hosts_edit_add() -> new text ...
 *     struct lifecycle_op op = {.steps = "add-node", .vars = v, .run_hosts = t,
 *                               .new_hosts = t, .what = "add-node 10.0.0.7"};
 *     return lifecycle_done(&lc, lifecycle_run(&lc, &op));
 *
 * A run:
 *  1. the cluster must have been set up, with no edit of hosts or config.yml
 *     that no setup applied (`ezk diff`): the command would apply those to
 *     the hosts it touches only (upgrade accepts them: a new K8S_VER is how
 *     an upgrade starts);
 *  2. the inventory to run with (hosts as it is, or the command's edit of
 *     it) is written beside hosts (hosts.ezk-tmp-<command>) and read: every
 *     variable of every host must evaluate and roles/check.lua, then the
 *     check.lua of the step's roles, must find no error (exit 2, nothing
 *     touched);
 *  3. the step runs on it (the command's variables, such as NODE_TO_ADD,
 *     over -e: the plays' hosts may name them);
 *  4. every host succeeded: hosts becomes the new text (renamed over it
 *     atomically); otherwise hosts is left as it was. Either way the run
 *     is a commit of the cluster's history ("add-node 10.0.0.7: <recap>"),
 *     and a success moves refs/ezk/applied (when nothing was pending).
 * One command at a time edits a cluster (a lock on hosts.ezk-tmp-lock).
 */
#ifndef EZK_LIFECYCLE_H
#define EZK_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd.h"
#include "engine.h"
#include "targets.h"

struct cluster;
struct value;

/* -v and the connection options (conn_options): the table every
 * lifecycle command's options include. */
extern const struct opt lifecycle_options[];

struct lifecycle {
	const struct cmd *cmd;
	const struct ezk_globals *g;
	struct run_opts ro;
	int verbose;
	struct cluster *cl; /* the cluster as it is (lifecycle_open) */
	char *hosts;	    /* its hosts file's text */
	size_t hosts_len;
	bool pending; /* edits no setup applied */
	int lock_fd;
};

/* Parse argv with c->options: got(ud, id, value) (may be NULL) first,
 * which returns 1 for an option of the command's own, 0 for one of
 * lifecycle_options, -1 for a bad value (message set). The index of the
 * first operand, or -1 (usage said). */
int lifecycle_parse(struct lifecycle *lc, const struct cmd *c, int argc, char **argv,
		    const struct ezk_globals *g, int (*got)(void *ud, int id, const char *value),
		    void *ud);
/* Open the cluster, take its lock, read hosts, and refuse (-1, message)
 * a cluster never set up or with pending edits (unless allow_edits). */
int lifecycle_open(struct lifecycle *lc, const char *cluster, bool allow_edits);

struct lifecycle_op {
	const char *steps;     /* the step of roles/steps.lua: "add-node" */
	struct value *vars;    /* a map over -e (NODE_TO_ADD, ...), borrowed */
	const char *run_hosts; /* the inventory to run with; NULL: hosts as it is */
	const char *new_hosts; /* hosts after a success; NULL: unchanged */
	const char *what;      /* "add-node 10.0.0.7": messages and the history */
	const char *done_note; /* said after a success (may be NULL) */
};
/* Steps 2-4 above; the exit status (a refusal is said on stderr: 2). */
int lifecycle_run(struct lifecycle *lc, const struct lifecycle_op *op);

/* Refuse with a message (exit 2): "ezk: <command>: <msg>; nothing was
 * changed". */
int lifecycle_refuse(struct lifecycle *lc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Release everything; returns rc. */
int lifecycle_done(struct lifecycle *lc, int rc);

/* add-node, add-master, add-etcd: the operands after the cluster,
 * "<host> [k=v ...] [<host> [k=v ...]] ...", each host appended to group
 * with its variables (a password variable is refused: never in argv),
 * then the step runs with NODE_TO_ADD = the hosts. */
int lifecycle_add(struct lifecycle *lc, int argc, char **argv, const char *group,
		  const char *steps);

/* del-node, del-master, del-etcd: host taken out of each of groups (a
 * NULL-terminated list; the first must hold it, the others may), the step
 * run with NODE_TO_DEL = [host] on that inventory; a host left in no
 * group is kept for the run in [ezk_leaving], so the step can clean it. */
int lifecycle_del(struct lifecycle *lc, const char *host, const char *const *groups,
		  const char *steps);

/* Whether host is in group of the cluster as it is. */
bool lifecycle_in_group(struct lifecycle *lc, const char *host, const char *group);
/* The number of hosts in group. */
size_t lifecycle_group_size(struct lifecycle *lc, const char *group);

#endif
