/*
 * cmd-del-etcd.c - `ezk del-etcd`: remove an etcd member: member remove, cleaned, the rest
 * restarted one at a time (ezctl's del-etcd; the step is roles/steps.lua's "del-etcd", the
 * mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "cluster.h"
#include "lifecycle.h"

extern const struct cmd cmd_del_etcd;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_del_etcd, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 2)
		return lifecycle_done(&lc, cmd_usage(&cmd_del_etcd, argc - k < 1 ? "which cluster?"
								    : argc - k < 2
									? "which host?"
									: "one host at a time"));
	const char *host = argv[k + 1];
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	if (!lifecycle_in_group(&lc, host, "etcd"))
		return lifecycle_done(&lc, lifecycle_refuse(&lc, "%s is not in [etcd] of %s", host,
							    lc.cl->hosts_path));
	if (lifecycle_group_size(&lc, "etcd") < 2)
		return lifecycle_done(
		    &lc,
		    lifecycle_refuse(
			&lc, "%s is the last etcd member: the cluster's data lives there", host));
	static const char *const groups[] = {"etcd", NULL};
	return lifecycle_done(&lc, lifecycle_del(&lc, host, groups, "del-etcd"));
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_del_etcd = {
    .name = "del-etcd",
    .args = "<cluster> <host>",
    .summary = "remove an etcd member: member remove, cleaned, the rest restarted one at a time",
    .help = "Removes a member from the etcd cluster, as ezctl del-etcd. It refuses the last\n"
	    "member, and, before anything changes, a removal that would leave the cluster\n"
	    "without a quorum (every member must answer: a cluster of N needs N/2+1 of them\n"
	    "for the removal itself, and the members that stay must make the quorum of the\n"
	    "smaller cluster). The API servers stop using it first (--etcd-servers, one\n"
	    "master at a time); then etcdctl member remove, etcd stopped and its data and\n"
	    "unit removed on the host, and the certificate reissued without its address,\n"
	    "the members restarting one at a time. Its line leaves [etcd] only when all of\n"
	    "it succeeded.\n",
    .examples = "Examples:\n"
		"  ezk del-etcd prod 10.0.0.4\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
