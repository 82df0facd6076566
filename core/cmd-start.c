/*
 * cmd-start.c - `ezk start <c>`: every component ezk installed enabled and
 * started, in the order each needs the one before (etcd, the control
 * plane, the ex-lb, the nodes), as kubeasz's `ezctl start`: what `ezk stop`
 * stopped comes back. The step is 91 start of roles/steps.lua (oprun.h).
 */
#include "cmd.h"
#include "oprun.h"

extern const struct cmd cmd_start;

static const struct opt options[] = {
    OPT(OP_OPT_CHECK, 'C', "check", NULL, "change nothing; say what would start"),
    OPT(OP_OPT_VERBOSE, 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(run_options),
    OPT_END,
};

static int run_start(int argc, char **argv, const struct ezk_globals *g)
{
	struct op op;
	op_init(&op, "start");
	return op_main(&cmd_start, argc, argv, g, &op, NULL);
}

const struct cmd cmd_start = {
    .name = "start",
    .args = "<cluster> [-l limit] [--check] [--json]",
    .summary = "start the cluster: etcd, control plane, ex-lb, nodes (enabled at boot)",
    .help = "Enables at boot and starts every component ezk installed, in this order: etcd\n"
	    "on every member at once (each waited for until healthy), the API server (until\n"
	    "it answers /readyz), controller-manager and scheduler on [kube_master], the\n"
	    "balancer and keepalived on [ex_lb], then containerd, kube-lb, kubelet and\n"
	    "kube-proxy on every master and node (each waited for until Ready). A second run\n"
	    "changes nothing. The run is recorded in the cluster's history (ezk log).\n",
    .examples = "Examples:\n"
		"  ezk start prod\n",
    .complete = "cluster",
    .options = options,
    .run = run_start,
};
