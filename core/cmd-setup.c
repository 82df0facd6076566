/*
 * cmd-setup.c - `ezk setup <c> <steps>`: run steps of roles on the hosts
 * (core/engine.h), as kubeasz's `ezctl setup <c> <step>`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "engine.h"
#include "err.h"
#include "fsutil.h"
#include "history.h"
#include "lock.h"
#include "oprun.h"
#include "workspace.h"
#include "targets.h"
#include "value.h"

extern const struct cmd cmd_setup;

/* The run goes into the cluster's history: hosts and config.yml as they
 * were applied, the recap as the message (an interrupted or partial run
 * too). refs/ezk/applied, which `ezk diff` compares against, means "every
 * host has this": it moves only when every host succeeded in a run that
 * covered every host with every task (no --limit leaving one out, no tags,
 * not interrupted). A history that cannot be written is a warning, not a
 * failed setup. */
static void record(struct cluster *cl, struct engine_opts eo, struct engine *e, int rc)
{
	if (eo.check || !cl->dir)
		return;
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "setup %s%s%s: %s", eo.steps, eo.limit ? " -l " : "",
		   eo.limit ? eo.limit : "", engine_summary(e));
	if (rc == EZK_OK && !engine_complete(e))
		buf_puts(&msg, "\n\nNot marked applied: the run did not cover every host with "
			       "every task (--limit, tags or interrupted).");
	char *id = NULL;
	int c = history_record(cl->dir, msg.s, &id);
	if (c >= 0 && rc == EZK_OK && engine_complete(e))
		c = history_mark_applied(cl->dir, id);
	if (c < 0)
		fprintf(stderr, "ezk: warning: history not recorded: %s\n", ezk_err_msg());
	free(id);
	buf_free(&msg);
}

enum { OPT_DIFF = 2001, OPT_SKIP_TAGS, OPT_RESUME };

static const struct opt options[] = {
    OPT('C', 'C', "check", NULL, "change nothing; say what would change"),
    OPT(OPT_DIFF, 0, "diff", NULL, "show the changes of files"),
    OPT('t', 't', "tags", "T1,T2", "only tasks with these tags"),
    OPT(OPT_SKIP_TAGS, 0, "skip-tags", "T1,T2", "not the tasks with these tags"),
    OPT(OPT_RESUME, 0, "resume", NULL, "skip the steps done with these inputs"),
    OPT('v', 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT('y', 'y', "yes", NULL, "no question before a step that destroys (99 clean)"),
    OPT_GROUP(run_options),
    OPT_END,
};

struct args {
	struct engine_opts eo;
	struct run_opts ro;
	bool yes;
};

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	switch (id) {
	case 'C': a->eo.check = true; return 0;
	case OPT_DIFF: a->eo.diff = true; return 0;
	case 't': a->eo.tags = value; return 0;
	case OPT_SKIP_TAGS: a->eo.skip_tags = value; return 0;
	case 'v': a->eo.verbose++; return 0;
	case OPT_RESUME: a->eo.resume = true; return 0;
	case 'y': a->yes = true; return 0;
	}
	return run_opts_parse(&a->ro, id, value) < 0 ? -1 : 0;
}

static int run_setup(int argc, char **argv, const struct ezk_globals *g)
{
	struct args a = {{0}, {0}, false};
	run_opts_init(&a.ro);
	int optind = cmd_parse(&cmd_setup, argc, argv, got, &a);
	struct engine_opts eo = a.eo;
	struct run_opts ro = a.ro;
	if (optind < 0) {
		run_opts_free(&ro);
		return EZK_USAGE;
	}
	if (argc - optind != 2) {
		run_opts_free(&ro);
		return cmd_usage(&cmd_setup, argc - optind < 1 ? "which cluster?"
					     : argc - optind < 2
						 ? "which steps? (01, 01-03, etcd, all)"
						 : "too many arguments");
	}
	/* one run per cluster: the lock comes before anything is read */
	if (workspace_cluster_exists(g->home, argv[optind]) < 0) {
		run_opts_free(&ro);
		return cmd_error(EZK_USAGE);
	}
	char *dir = cluster_dir(g->home, argv[optind]);
	struct buf what = BUF_INIT;
	buf_printf(&what, "setup %s", argv[optind + 1]);
	struct cluster_lock *lk = NULL;
	int lrc = cluster_lock(dir, what.s, &lk, NULL);
	buf_free(&what);
	free(dir);
	if (lrc != 0) {
		run_opts_free(&ro);
		return cmd_error(EZK_USAGE);
	}
	/* read-only commands run on defaults without config.yml; setup would
	 * install a cluster nobody configured */
	char *cfg = cluster_dir(g->home, argv[optind]);
	char *cfgp = path_join(cfg, "config.yml");
	free(cfg);
	struct stat cst;
	if (lstat(cfgp, &cst) < 0) {
		fprintf(stderr,
			"ezk: %s: %s (setup needs the cluster's settings: 'ezk new' writes them)\n",
			cfgp, strerror(errno));
		free(cfgp);
		run_opts_free(&ro);
		cluster_unlock(lk);
		return EZK_USAGE;
	}
	free(cfgp);
	struct cluster *cl;
	if (cluster_open(g->home, argv[optind], ro.extra, &cl) < 0) {
		run_opts_free(&ro);
		cluster_unlock(lk);
		return cmd_error(EZK_USAGE);
	}
	eo.steps = argv[optind + 1];
	eo.limit = ro.limit;
	eo.forks = ro.forks;
	eo.json = ro.json;
	char *path = engine_roles_path();
	eo.roles_path = path;
	struct targets *ts = NULL;
	struct engine *e = NULL;
	int rc;
	if (targets_open(cl, &ro, g->home, &ts) < 0 || engine_open(cl, ts, &eo, &e) < 0) {
		rc = cmd_error(EZK_USAGE);
	} else if ((rc = op_confirm(e, cl, "setup", ts->n, eo.check, a.yes)) == 0) {
		rc = engine_run(e);
		record(cl, eo, e, rc);
	}
	engine_close(e);
	targets_free(ts);
	free(path);
	cluster_close(cl);
	run_opts_free(&ro);
	cluster_unlock(lk);
	return rc;
}

const struct cmd cmd_setup = {
    .name = "setup",
    .args = "<cluster> <steps> [-l limit] [--check] [--diff] [--json] [-e k=v]",
    .summary = "run install steps on the hosts (01-07, 10, 11, 90 all, or their names)",
    .help = "Runs the steps of roles/steps.lua on the cluster's hosts: a step number (02), a\n"
	    "range (01-03), a list (01,03), a name (etcd) or all. Each play of a step runs on\n"
	    "its hosts in parallel; a host that fails leaves the run and the others go on.\n"
	    "A second run on an unchanged cluster changes nothing.\n\n"
	    "Steps so far:\n"
	    "  01 prepare  the CA, certificates and kubeconfigs in clusters/<c>/ssl and\n"
	    "              clusters/<c>; swap, kernel modules, sysctl, limits, journald,\n"
	    "              hostname, /etc/hosts and chrony on the hosts\n"
	    "  02 etcd     a TLS etcd cluster from [etcd] (etcd, etcdctl from $EZK_HOME/bin);\n"
	    "              rerun after adding a member: it joins, the others restart one\n"
	    "              at a time\n"
	    "  03 runtime  containerd, runc, the CNI plugins; offline images imported\n"
	    "  04 master   kube-lb, kube-apiserver, controller-manager, scheduler on\n"
	    "              [kube_master]; changed ones restart one master at a time\n"
	    "  05 node     kube-lb, kubelet, kube-proxy on [kube_node]; nodes Ready,\n"
	    "              labelled, masters cordoned\n"
	    "  06 network  CLUSTER_NETWORK host-gw: each node's pod subnet routed\n"
	    "              through it (no image; nodes on one L2 segment)\n"
	    "  10 ex-lb    haproxy in front of every master on EX_APISERVER_PORT and\n"
	    "              keepalived holding EX_APISERVER_VIP on [ex_lb]\n"
	    "A step that is made of steps (90 all: 01..07) runs them; before any host is\n"
	    "touched, the check.lua of every role of the steps runs ('ezk check').\n"
	    "The day-2 steps run only when named, never in a range (01-99): 91 start,\n"
	    "92 stop, 94 backup, 95 restore and 99 clean, which their commands run (ezk\n"
	    "start, stop, backup, restore, destroy). 95 and 99 ask first (--yes).\n\n"
	    "One run per cluster: a second setup while one runs exits 2, naming its pid.\n"
	    "Ctrl-C or SIGTERM: no task starts after it, the running ones finish, the\n"
	    "run is recorded as interrupted (exit 130/143); a second Ctrl-C exits at once.\n"
	    "--resume skips the steps done with the same hosts, config.yml, -e, -l and\n"
	    "tags, and starts at the first other one.\n",
    .examples = "Examples:\n"
		"  ezk setup prod all\n"
		"  ezk setup prod 02 --check --diff\n"
		"  ezk setup prod 01-03 -l kube_node\n",
    .complete = "cluster",
    .options = options,
    .run = run_setup,
};
