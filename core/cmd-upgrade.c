/*
 * cmd-upgrade.c - `ezk upgrade <c>`: the Kubernetes binaries of
 * $EZK_HOME/bin on every master, one at a time, then on the nodes in
 * batches, each drained and uncordoned (ezctl's upgrade; the step is
 * roles/steps.lua's "upgrade", the mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "lifecycle.h"

extern const struct cmd cmd_upgrade;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_upgrade, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 1)
		return lifecycle_done(&lc,
				      cmd_usage(&cmd_upgrade, argc - k < 1 ? "which cluster?"
									   : "too many arguments"));
	/* a new K8S_VER in config.yml is how an upgrade starts */
	if (lifecycle_open(&lc, argv[k], true) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	struct lifecycle_op op = {.steps = "upgrade", .what = "upgrade"};
	return lifecycle_done(&lc, lifecycle_run(&lc, &op));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_upgrade = {
    .name = "upgrade",
    .args = "<cluster>",
    .summary = "new Kubernetes binaries: masters one at a time, then nodes drained in batches",
    .help = "Installs the Kubernetes binaries of $EZK_HOME/bin, as ezctl upgrade: put the\n"
	    "new ones there (and set K8S_VER in config.yml to their version: the run stops\n"
	    "before any host changes when they differ). The masters come first, one at a\n"
	    "time: kube-apiserver, controller-manager and scheduler restart with the new\n"
	    "binaries, each API server taken out of every kube-lb while it restarts and let\n"
	    "in again once it is ready, so the API answers throughout. Then the nodes, a\n"
	    "fifth of them at a time: a node whose kubelet or kube-proxy changes is drained\n"
	    "(its pods move, PodDisruptionBudgets respected), upgraded, Ready again and\n"
	    "uncordoned. A host whose binaries are already the new ones is left alone, so a\n"
	    "second upgrade changes nothing. etcd and containerd are not upgraded here.\n"
	    "The run is a commit of the cluster's history.\n",
    .examples = "Examples:\n"
		"  scripts/bin-from-debian.sh $EZK_HOME   # or: ezk bundle import ...\n"
		"  ezk upgrade prod\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
