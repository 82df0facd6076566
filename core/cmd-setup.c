/*
 * cmd-setup.c - `ezk setup <c> <steps>`: run steps of roles on the hosts
 * (core/engine.h), as kubeasz's `ezctl setup <c> <step>`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "engine.h"
#include "err.h"
#include "history.h"
#include "targets.h"
#include "value.h"

extern const struct cmd cmd_setup;

/* The run goes into the cluster's history: hosts and config.yml as they
 * were applied, the recap as the message; a run where every host succeeded
 * moves refs/ezk/applied, which `ezk diff` compares against. A history
 * that cannot be written is a warning, not a failed setup. */
static void record(struct cluster *cl, struct engine_opts eo, struct engine *e, int rc)
{
	if (eo.check || !cl->dir)
		return;
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "setup %s: %s", eo.steps, engine_summary(e));
	char *id = NULL;
	int c = history_record(cl->dir, msg.s, &id);
	if (c >= 0 && rc == EZK_OK)
		c = history_mark_applied(cl->dir, id);
	if (c < 0)
		fprintf(stderr, "ezk: warning: history not recorded: %s\n", ezk_err_msg());
	free(id);
	buf_free(&msg);
}

static int run_setup(int argc, char **argv, const struct ezk_globals *g)
{
	static const struct option opts[] = {{"check", no_argument, NULL, 2001},
					     {"diff", no_argument, NULL, 2002},
					     {"tags", required_argument, NULL, 't'},
					     {"skip-tags", required_argument, NULL, 2003},
					     {"verbose", no_argument, NULL, 'v'},
					     {"resume", no_argument, NULL, 2004},
					     RUN_LONGOPTS};
	struct run_opts ro;
	run_opts_init(&ro);
	struct engine_opts eo = {0};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, RUN_SHORTOPTS "t:vC", opts, NULL)) != -1) {
		switch (c) {
		case 2001:
		case 'C': eo.check = true; continue;
		case 2002: eo.diff = true; continue;
		case 't': eo.tags = optarg; continue;
		case 2003: eo.skip_tags = optarg; continue;
		case 'v': eo.verbose++; continue;
		case 2004: eo.resume = true; continue;
		}
		int k = c == '?' ? 0 : run_opts_parse(&ro, c, optarg);
		if (k <= 0) {
			run_opts_free(&ro);
			return k < 0 ? cmd_error(EZK_USAGE)
				     : cmd_usage(&cmd_setup, "bad option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2) {
		run_opts_free(&ro);
		return cmd_usage(&cmd_setup, argc - optind < 1 ? "which cluster?"
					     : argc - optind < 2
						 ? "which steps? (01, 01-03, etcd, all)"
						 : "too many arguments");
	}
	struct cluster *cl;
	if (cluster_open(g->home, argv[optind], ro.extra, &cl) < 0) {
		run_opts_free(&ro);
		return cmd_error(EZK_USAGE);
	}
	eo.steps = argv[optind + 1];
	eo.forks = ro.forks;
	eo.json = ro.json;
	char *path = engine_roles_path();
	eo.roles_path = path;
	struct targets *ts = NULL;
	struct engine *e = NULL;
	int rc;
	if (targets_open(cl, &ro, g->home, &ts) < 0 || engine_open(cl, ts, &eo, &e) < 0) {
		rc = cmd_error(EZK_USAGE);
	} else {
		rc = engine_run(e);
		record(cl, eo, e, rc);
	}
	engine_close(e);
	targets_free(ts);
	free(path);
	cluster_close(cl);
	run_opts_free(&ro);
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
	    "              at a time\n\n"
	    "Options:\n"
	    "      --check              change nothing; say what would change\n"
	    "      --diff               show the changes of files\n"
	    "  -t, --tags T1,T2         only tasks with these tags; --skip-tags the opposite\n"
	    "      --resume             start at the first step the last run did not finish\n"
	    "  -v, --verbose            commands and their output too (secrets "
	    "redacted)\n" RUN_OPTS_HELP "\nExamples:\n"
	    "  ezk setup prod all\n"
	    "  ezk setup prod 02 --check --diff\n"
	    "  ezk setup prod 01-03 -l kube_node\n",
    .complete = "cluster",
    .opts = "--check --diff --tags --skip-tags --resume --verbose " RUN_OPTS_NAMES,
    .run = run_setup,
};
