/*
 * cmd-diff.c - `ezk diff <cluster>`: the edits to hosts and config.yml that
 * no successful `ezk setup` has applied yet, as a unified diff against what
 * the last one applied (or, before any, against what `ezk new` wrote).
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "history.h"
#include "workspace.h"

extern const struct cmd cmd_diff;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	if (argc != 2)
		return cmd_usage(&cmd_diff, argc < 2 ? "which cluster?" : "too many arguments");
	const char *name = argv[1];
	if (name[0] == '-')
		return cmd_usage(&cmd_diff, "unknown option '%s'", name);
	if (workspace_cluster_exists(g->home, name) < 0)
		return cmd_error(EZK_USAGE);
	char *dir = cluster_dir(g->home, name);
	int rc = EZK_OK, changed;
	int has = history_exists(dir);
	if (has < 0) {
		rc = cmd_error(EZK_USAGE);
	} else if (!has) {
		printf("cluster '%s' has no history yet to compare with (it starts with the "
		       "next 'ezk setup')\n",
		       name);
	} else {
		struct buf b = BUF_INIT;
		if (history_diff(dir, &b, &changed) < 0)
			rc = cmd_error(EZK_USAGE);
		else
			fwrite(b.s, 1, b.len, stdout);
		buf_free(&b);
	}
	free(dir);
	return rc;
}

const struct cmd cmd_diff = {
    .name = "diff",
    .args = "<cluster>",
    .summary = "edits to hosts and config.yml not yet applied by a setup",
    .help = "A unified diff (as 'git diff') of hosts and config.yml against what the last\n"
	    "successful 'ezk setup' applied; before any has succeeded, against what\n"
	    "'ezk new' wrote. Exit 0 whether or not there are edits.\n",
    .complete = "cluster",
    .run = run,
};
