/*
 * cmd-log.c - `ezk log <cluster> [-n N]`: the cluster's history, newest
 * first: every `ezk new`, `ezk setup`, add and del is a commit of its hosts
 * and config.yml (history.h); '*' marks what the last successful setup
 * applied.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "history.h"
#include "workspace.h"

extern const struct cmd cmd_log;

static const struct opt options[] = {
    OPT('n', 'n', "max-count", "N", "show only the N newest entries"),
    OPT_END,
};

static int got(void *ud, int id, const char *value)
{
	(void)id; /* -n */
	char *end;
	long n = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || n < 1 || n > 1000000)
		return ezk_fail("-n wants a positive number, not '%s'", value);
	*(int *)ud = (int)n;
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	int max = 0;
	int optind = cmd_parse(&cmd_log, argc, argv, got, &max);
	if (optind < 0)
		return EZK_USAGE;
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
    .help = "Each line: the commit, its local date and time, what happened. '*' and\n"
	    "'(applied)' mark what the last successful 'ezk setup' applied. The history\n"
	    "is a git repository in clusters/<cluster>/.git ('git log -p' works there);\n"
	    "it holds hosts and config.yml only, never keys, kubeconfigs or logs.\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
