/*
 * cmd-checkout.c - `ezk checkout <cluster>`: make a cluster the current one.
 * As kubeasz's `ezctl checkout`, when the cluster has an admin kubeconfig
 * (clusters/<c>/kubectl.kubeconfig) it becomes ~/.kube/config, so kubectl
 * talks to that cluster.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cmd.h"
#include "fsutil.h"
#include "workspace.h"

extern const struct cmd cmd_checkout;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	if (argc != 2)
		return cmd_usage(&cmd_checkout, argc < 2 ? "which cluster?" : "too many arguments");
	const char *name = argv[1];
	if (workspace_cluster_exists(g->home, name) < 0)
		return cmd_error(EZK_USAGE);
	if (workspace_set_current(g->home, name) < 0)
		return cmd_error(EZK_FAILED);
	char *dir = cluster_dir(g->home, name);
	char *kcfg = path_join(dir, "kubectl.kubeconfig");
	const char *home = getenv("HOME");
	int rc = EZK_OK;
	if (file_exists(kcfg) && home && *home) {
		char *kdir = path_join(home, ".kube");
		char *dst = path_join(kdir, "config");
		if (mkdir_p(kdir, 0700) < 0 || file_copy(kcfg, dst, 0600) < 0)
			rc = cmd_error(EZK_FAILED);
		else
			printf("%s now points at cluster '%s'\n", dst, name);
		free(kdir);
		free(dst);
	}
	if (rc == EZK_OK)
		printf("current cluster: %s\n", name);
	free(kcfg);
	free(dir);
	return rc;
}

const struct cmd cmd_checkout = {
    .name = "checkout",
    .args = "<cluster>",
    .summary = "make a cluster the current one (and its kubeconfig ~/.kube/config)",
    .help = "",
    .complete = "cluster",
    .run = run,
};
