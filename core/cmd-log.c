/*
 * cmd-log.c - `ezk log <cluster> [-n N]`: the cluster's history, newest
 * first: every `ezk new`, `ezk setup`, add and del is a commit of its hosts
 * and config.yml (history.h); '*' marks what the last successful setup
 * applied.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "history.h"
#include "workspace.h"

extern const struct cmd cmd_log;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	static const struct option opts[] = {{"max-count", required_argument, NULL, 'n'}, {0}};
	int max = 0, c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c == 'n') {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 1000000)
				return cmd_usage(&cmd_log, "-n wants a positive number, not '%s'",
						 optarg);
			max = (int)n;
		} else {
			if (optopt == 'n')
				return cmd_usage(&cmd_log, "-n wants a number");
			return cmd_usage(&cmd_log, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage(&cmd_log,
				 argc - optind < 1 ? "which cluster?" : "too many arguments");
	const char *name = argv[optind];
	if (workspace_cluster_exists(g->home, name) < 0)
		return cmd_error(EZK_USAGE);
	char *dir = cluster_dir(g->home, name);
	int rc = EZK_OK;
	int has = history_exists(dir);
	if (has < 0) {
		rc = cmd_error(EZK_USAGE);
	} else if (!has) {
		printf("cluster '%s' has no history yet (it starts with the next 'ezk setup')\n",
		       name);
	} else {
		struct buf b = BUF_INIT;
		if (history_log(dir, &b, max) < 0)
			rc = cmd_error(EZK_USAGE);
		else
			fwrite(b.s, 1, b.len, stdout);
		buf_free(&b);
	}
	free(dir);
	return rc;
}

const struct cmd cmd_log = {
    .name = "log",
    .args = "<cluster> [-n N]",
    .summary = "the cluster's history (new, setup, add, del), newest first",
    .help = "Options:\n"
	    "  -n, --max-count N   show only the N newest entries\n\n"
	    "Each line: the commit, its local date and time, what happened. '*' and\n"
	    "'(applied)' mark what the last successful 'ezk setup' applied. The history\n"
	    "is a git repository in clusters/<cluster>/.git ('git log -p' works there);\n"
	    "it holds hosts and config.yml only, never keys, kubeconfigs or logs.\n",
    .complete = "cluster",
    .opts = "-n --max-count",
    .run = run,
};
