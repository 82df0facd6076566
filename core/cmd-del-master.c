/*
 * cmd-del-master.c - `ezk del-master`: remove a master: out of every kube-lb, drained, cleaned,
 * deleted, then from hosts (ezctl's del-master; the step is roles/steps.lua's "del-master", the
 * mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "cluster.h"
#include "lifecycle.h"

extern const struct cmd cmd_del_master;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_del_master, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 2)
		return lifecycle_done(
		    &lc, cmd_usage(&cmd_del_master, argc - k < 1   ? "which cluster?"
						    : argc - k < 2 ? "which host?"
								   : "one host at a time"));
	const char *host = argv[k + 1];
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	if (!lifecycle_in_group(&lc, host, "kube_master"))
		return lifecycle_done(&lc, lifecycle_refuse(&lc, "%s is not in [kube_master] of %s",
							    host, lc.cl->hosts_path));
	if (lifecycle_group_size(&lc, "kube_master") < 2)
		return lifecycle_done(&lc,
				      lifecycle_refuse(&lc,
						       "%s is the last master: a cluster needs one "
						       "(add another first: ezk add-master)",
						       host));
	static const char *const groups[] = {"kube_master", "kube_node", NULL};
	return lifecycle_done(&lc, lifecycle_del(&lc, host, groups, "del-master"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_del_master = {
    .name = "del-master",
    .args = "<cluster> <host>",
    .summary = "remove a master: out of every kube-lb, drained, cleaned, deleted, then from hosts",
    .help = "Removes a master, as ezctl del-master. It refuses the last master. Every kube-lb\n"
	    "stops sending to it first; it is drained, its control plane and node\n"
	    "components are stopped and removed (etcd stays if it is a member: del-etcd\n"
	    "removes that), and the node is deleted from the cluster. The kubeconfigs made\n"
	    "on the deploy node point at the first master that stays, the API server\n"
	    "certificate is reissued without the address and the masters restart one at a\n"
	    "time, and /etc/hosts and the pod network follow. Its lines leave [kube_master]\n"
	    "(and [kube_node]) only when all of it succeeded.\n",
    .examples = "Examples:\n"
		"  ezk del-master prod 10.0.0.3\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
