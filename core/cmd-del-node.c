/*
 * cmd-del-node.c - `ezk del-node`: remove a worker node: drained, cleaned, deleted from the
 * cluster, then from hosts (ezctl's del-node; the step is roles/steps.lua's "del-node", the
 * mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "cluster.h"
#include "lifecycle.h"

extern const struct cmd cmd_del_node;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_del_node, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 2)
		return lifecycle_done(&lc, cmd_usage(&cmd_del_node, argc - k < 1 ? "which cluster?"
								    : argc - k < 2
									? "which host?"
									: "one host at a time"));
	const char *host = argv[k + 1];
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	if (lifecycle_in_group(&lc, host, "kube_master"))
		return lifecycle_done(
		    &lc, lifecycle_refuse(
			     &lc, "%s is in [kube_master]: 'ezk del-master %s %s' removes a master",
			     host, argv[k], host));
	if (!lifecycle_in_group(&lc, host, "kube_node"))
		return lifecycle_done(&lc, lifecycle_refuse(&lc, "%s is not in [kube_node] of %s",
							    host, lc.cl->hosts_path));
	static const char *const groups[] = {"kube_node", NULL};
	return lifecycle_done(&lc, lifecycle_del(&lc, host, groups, "del-node"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_del_node = {
    .name = "del-node",
    .args = "<cluster> <host>",
    .summary = "remove a worker node: drained, cleaned, deleted from the cluster, then from hosts",
    .help = "Removes a worker node, as ezctl del-node: the node is drained (its pods move to\n"
	    "the other nodes; DaemonSets stay), kubelet, kube-proxy, kube-lb, containerd and\n"
	    "the pod network are stopped and removed from the host (its OS settings and the\n"
	    "files of any other role it has, such as etcd, stay), the node is deleted from\n"
	    "the cluster (kubectl delete node), and every other host is brought in step\n"
	    "(/etc/hosts, the routes to its pods). Its line leaves [kube_node] only when all\n"
	    "of it succeeded; running it again finishes a run that failed. A master is\n"
	    "removed with del-master.\n",
    .examples = "Examples:\n"
		"  ezk del-node prod 10.0.0.7\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
