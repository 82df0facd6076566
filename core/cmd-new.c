/*
 * cmd-new.c - `ezk new <cluster> [--aio]`: make clusters/<cluster>/ with a
 * hosts inventory and a config.yml from the templates in inventories/, as
 * kubeasz's `ezctl new` does, and start its history (history.h) with them.
 * It never overwrites an existing cluster.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "history.h"
#include "workspace.h"

extern const struct cmd cmd_new;

static const struct opt options[] = {
    OPT('a', 0, "aio", NULL, "an all-in-one inventory (one host in every group)"),
    OPT_END,
};

static int got(void *ud, int id, const char *value)
{
	(void)id, (void)value;
	*(int *)ud = 1; /* --aio */
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	int aio = 0;
	int optind = cmd_parse(&cmd_new, argc, argv, got, &aio);
	if (optind < 0)
		return EZK_USAGE;
	if (argc - optind != 1)
		return cmd_usage(&cmd_new,
				 argc - optind < 1 ? "which cluster?" : "too many arguments");
	const char *name = argv[optind];
	if (workspace_new(g->home, name, aio) < 0)
		return cmd_error(EZK_USAGE);
	/* The first commit of the history; without it the cluster is still
	 * whole and usable, so a failure only warns. */
	char *dir = cluster_dir(g->home, name);
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "new: cluster %s from inventories/%s", name,
		   aio ? "hosts.allinone" : "hosts.multi-node");
	if (history_commit(dir, msg.s, NULL) < 0)
		fprintf(stderr, "ezk: warning: the cluster's history was not started: %s\n",
			ezk_err_msg());
	buf_free(&msg);
	free(dir);
	printf("cluster '%s' created in %s/clusters/%s\n", name, g->home, name);
	printf("next: edit its hosts and config.yml, then 'ezk check %s'\n", name);
	return EZK_OK;
}

const struct cmd cmd_new = {
    .name = "new",
    .args = "<cluster> [--aio]",
    .summary = "create a cluster's hosts and config.yml from the templates",
    .help = "Cluster names use lower-case letters, digits and '-'. An existing cluster\n"
	    "is never overwritten.\n",
    .options = options,
    .run = run,
};
