/* cmd-list.c - `ezk list`: the clusters in the workspace, current one marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "value.h"
#include "workspace.h"

extern const struct cmd cmd_list;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	if (argc > 1)
		return cmd_usage(&cmd_list, "unexpected argument '%s'", argv[1]);
	struct value *names = workspace_clusters(g->home);
	char *cur = workspace_current(g->home);
	if (value_len(names) == 0)
		printf("no clusters in %s/clusters (make one with 'ezk new <name>')\n", g->home);
	for (size_t i = 0; i < value_len(names); i++) {
		const char *n = value_list_get(names, i)->u.str.s;
		int is_cur = cur && strcmp(cur, n) == 0;
		printf("%s %s%s\n", is_cur ? "*" : " ", n, is_cur ? " (current)" : "");
	}
	free(cur);
	value_unref(names);
	return EZK_OK;
}

const struct cmd cmd_list = {
    .name = "list",
    .args = "",
    .summary = "list the clusters; the current one is marked with '*'",
    .help = "",
    .run = run,
};
