/*
 * cmd-kca-renew.c - `ezk kca-renew <c>`: a new CA and every certificate and
 * kubeconfig reissued, the API answering throughout (ezctl's kca-renew;
 * the step is roles/steps.lua's "kca-renew", which roles/kca-renew/main.lua
 * explains; the mechanism core/lifecycle.h).
 */
#include "cmd.h"
#include "lifecycle.h"
#include "value.h"

extern const struct cmd cmd_kca_renew;

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_kca_renew, argc, argv, g, NULL, NULL);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 1)
		return lifecycle_done(&lc, cmd_usage(&cmd_kca_renew, argc - k < 1
									 ? "which cluster?"
									 : "too many arguments"));
	if (lifecycle_open(&lc, argv[k], false) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	/* the renewal makes its CA itself: step 01's CHANGE_CA would replace
	 * it again on each of its phases */
	struct value *vars = value_map();
	value_map_set(vars, "CHANGE_CA", value_bool(0));
	struct lifecycle_op op = {.steps = "kca-renew", .vars = vars, .what = "kca-renew"};
	int rc = lifecycle_run(&lc, &op);
	value_unref(vars);
	return lifecycle_done(&lc, rc);
}

static const struct opt options[] = {
    OPT_GROUP(lifecycle_options),
    OPT_END,
};

const struct cmd cmd_kca_renew = {
    .name = "kca-renew",
    .args = "<cluster>",
    .summary = "a new CA and every certificate, components restarted with the API up",
    .help = "Replaces the cluster's CA and reissues every certificate and kubeconfig made\n"
	    "from it (etcd, the API servers, the controllers, the kubelets, kube-proxy,\n"
	    "admin), as ezctl kca-renew: for a CA or an admin kubeconfig that leaked, or a CA\n"
	    "near its end. ssl/ is kept first as ssl.bak-<time>. Unlike a replacement at once,\n"
	    "which cuts every component off from the others until all restarted, it goes in\n"
	    "three phases, each copied to every host and restarted one etcd member and one\n"
	    "master at a time: every component trusts both CAs; then every certificate is\n"
	    "the new CA's; then the old CA is trusted no more. The API answers throughout\n"
	    "(with two masters or more, and three etcd members or more) and pods keep\n"
	    "running: containers outlive their kubelet's restart.\n\n"
	    "ServiceAccount tokens (in Secrets, before 1.24) were signed by the old CA's key:\n"
	    "they stay valid, the old CA being kept in ssl/ca-previous.pem for the API\n"
	    "servers to verify them (its key signs nothing any more). A pod's ServiceAccount\n"
	    "gets both CAs in the first phase, but a process reads it when it starts: the\n"
	    "Deployments and DaemonSets of kube-system (the add-ons, the network plugin) are\n"
	    "restarted then; restart your own pods that use the API after the run (it says\n"
	    "so). calico's etcd certificate follows the CA in each phase, its pods\n"
	    "restarted. To retire the old tokens: delete their Secrets (new ones are signed\n"
	    "with the new key), restart the pods that use them, remove ssl/ca-previous.pem\n"
	    "and run 'ezk setup <c> 04'. kubeconfigs made by kcfg-adm were signed by the old\n"
	    "CA: make them again. A run that stops goes on where it was when run again\n"
	    "(ssl/kca-renew.state).\n",
    .examples = "Examples:\n"
		"  ezk kca-renew prod\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
