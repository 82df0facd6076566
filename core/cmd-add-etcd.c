/*
 * cmd-add-etcd.c - `ezk add-etcd`: add an etcd member: it joins the running cluster, the API
 * servers use it (ezctl's add-etcd; the step is roles/steps.lua's "add-etcd", the mechanism
 * core/lifecycle.h).
 */
#include "cmd.h"
#include "lifecycle.h"

extern const struct cmd cmd_add_etcd;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_add_etcd, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k < 2)
		return lifecycle_done(
		    &lc, cmd_usage(&cmd_add_etcd, argc - k < 1 ? "which cluster?" : "which host?"));
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	return lifecycle_done(&lc,
			      lifecycle_add(&lc, argc - k - 1, argv + k + 1, "etcd", "add-etcd"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_add_etcd = {
    .name = "add-etcd",
    .args = "<cluster> <host> [k=v ...]",
    .summary = "add an etcd member: it joins the running cluster, the API servers use it",
    .help = "Adds a host to the etcd cluster, as ezctl add-etcd: the new member is prepared,\n"
	    "added (etcdctl member add) and started with the cluster as it is, and healthy\n"
	    "before anything else restarts; the etcd certificate is reissued with its\n"
	    "address and the other members restart one at a time (the cluster keeps its\n"
	    "quorum); then the API servers' --etcd-servers names it and they restart one\n"
	    "master at a time. An even number of members is warned about (no more failures\n"
	    "tolerated than with one fewer). hosts gets the new line only when all of it\n"
	    "succeeded.\n",
    .examples = "Examples:\n"
		"  ezk add-etcd prod 10.0.0.4\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
