/*
 * cmd-add-node.c - `ezk add-node`: add worker nodes: the host joins [kube_node] once it is a Ready
 * node (ezctl's add-node; the step is roles/steps.lua's "add-node", the mechanism
 * core/lifecycle.h).
 */
#include "cmd.h"
#include "lifecycle.h"

extern const struct cmd cmd_add_node;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_add_node, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k < 2)
		return lifecycle_done(
		    &lc, cmd_usage(&cmd_add_node, argc - k < 1 ? "which cluster?" : "which host?"));
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	return lifecycle_done(
	    &lc, lifecycle_add(&lc, argc - k - 1, argv + k + 1, "kube_node", "add-node"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_add_node = {
    .name = "add-node",
    .args = "<cluster> <host> [k=v ...] [<host> [k=v ...]] ...",
    .summary = "add worker nodes: the host joins [kube_node] once it is a Ready node",
    .help = "Adds one or more hosts to the cluster as worker nodes, as ezctl add-node and\n"
	    "add-nodes: each <host> is an address (or an inventory name) followed by its host\n"
	    "variables (k8s_nodename=worker-03, ansible_port=2222, ...). A host already in\n"
	    "[kube_node] is refused before anything is touched.\n"
	    "\n"
	    "The new hosts come first, and must all be reachable: prepare, containerd,\n"
	    "kube-lb, kubelet and kube-proxy; each is Ready before the others change. Then\n"
	    "every host is brought in step: the /etc/hosts block names the new nodes, and\n"
	    "the pod network routes to their pods (step 06). The hosts file gets the new\n"
	    "lines (at the end of [kube_node]) only when all of it succeeded: a failure\n"
	    "leaves hosts as it was (a new host that cannot be reached: the cluster too),\n"
	    "and running the same add-node again finishes it. The run is a commit of the\n"
	    "cluster's history.\n",
    .examples = "Examples:\n"
		"  ezk add-node prod 10.0.0.7 k8s_nodename=worker-03\n"
		"  ezk add-node prod 10.0.0.8 10.0.0.9 ansible_port=2222\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
