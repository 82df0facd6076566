/*
 * cmd-add-master.c - `ezk add-master`: add a master: the API server certificate names it, every
 * kube-lb balances to it (ezctl's add-master; the step is roles/steps.lua's "add-master", the
 * mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "lifecycle.h"

extern const struct cmd cmd_add_master;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_add_master, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k < 2)
		return lifecycle_done(
		    &lc,
		    cmd_usage(&cmd_add_master, argc - k < 1 ? "which cluster?" : "which host?"));
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	return lifecycle_done(
	    &lc, lifecycle_add(&lc, argc - k - 1, argv + k + 1, "kube_master", "add-master"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_add_master = {
    .name = "add-master",
    .args = "<cluster> <host> [k=v ...]",
    .summary = "add a master: the API server certificate names it, every kube-lb balances to it",
    .help = "Adds a host as a master, as ezctl add-master: the control plane (kube-apiserver,\n"
	    "controller-manager, scheduler behind kube-lb) and the node components on it,\n"
	    "cordoned unless it is also in [kube_node]. The new host comes first and must be\n"
	    "reachable. Then the API server certificate is reissued with its address and the\n"
	    "other masters restart one at a time (each taken out of every kube-lb while it\n"
	    "restarts, so the API answers throughout), every kube-lb balances to the new\n"
	    "master, and /etc/hosts and the pod network follow. hosts gets the new line at\n"
	    "the end of [kube_master] only when all of it succeeded.\n",
    .examples = "Examples:\n"
		"  ezk add-master prod 10.0.0.2 k8s_nodename=master-02\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
