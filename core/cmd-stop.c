/*
 * cmd-stop.c - `ezk stop <c>`: every component ezk installed stopped, in an
 * order where nothing waits on what is gone (the nodes' kube-proxy,
 * kubelet, kube-lb and containerd, the ex-lb, the control plane, etcd) and
 * disabled at boot, as kubeasz's `ezctl stop`; `ezk start` undoes it. The
 * step is 92 stop of roles/steps.lua (oprun.h).
 */
#include "cmd.h"
#include "oprun.h"

extern const struct cmd cmd_stop;

static const struct opt options[] = {
    OPT(OP_OPT_CHECK, 'C', "check", NULL, "change nothing; say what would stop"),
    OPT(OP_OPT_VERBOSE, 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(run_options),
    OPT_END,
};

static int run_stop(int argc, char **argv, const struct ezk_globals *g)
{
	struct op op;
	op_init(&op, "stop");
	return op_main(&cmd_stop, argc, argv, g, &op, NULL);
}

const struct cmd cmd_stop = {
    .name = "stop",
    .args = "<cluster> [-l limit] [--check] [--json]",
    .summary = "stop the cluster: nodes, ex-lb, control plane, etcd (disabled at boot)",
    .help = "Stops every component ezk installed, and disables it at boot, in this order:\n"
	    "on every master and node kube-proxy, kubelet, kube-lb and containerd; on\n"
	    "[ex_lb] keepalived and the balancer; on [kube_master] the scheduler, the\n"
	    "controller-manager and the API server; on [etcd] etcd (its data stays). The\n"
	    "pods' containers keep running under containerd's shims, as with kubeasz; the\n"
	    "kubelet takes them up again. A second run changes nothing. 'ezk start' undoes\n"
	    "it. The run is recorded in the cluster's history (ezk log).\n",
    .examples = "Examples:\n"
		"  ezk stop prod\n"
		"  ezk stop prod --check\n",
    .complete = "cluster",
    .options = options,
    .run = run_stop,
};
