/*
 * cmd-destroy.c - `ezk destroy <c>`: what ezk installed removed from every
 * host (step 99 clean of roles/steps.lua, kubeasz's DEL_* switches: all
 * parts unless -e DEL_X=no), asked first on a terminal (--yes otherwise), as
 * kubeasz's `ezctl destroy`. It says what it leaves and that a reboot is
 * advised; the cluster's folder (inventory, history, certificates, backups)
 * stays (oprun.h).
 */
#include "cmd.h"
#include "oprun.h"

extern const struct cmd cmd_destroy;

static const struct opt options[] = {
    OPT(OP_OPT_YES, 'y', "yes", NULL, "do not ask (needed when stdin is not a terminal)"),
    OPT(OP_OPT_CHECK, 'C', "check", NULL, "change nothing; say what would go"),
    OPT(OP_OPT_VERBOSE, 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(run_options),
    OPT_END,
};

static int run_destroy(int argc, char **argv, const struct ezk_globals *g)
{
	struct op op;
	op_init(&op, "clean");
	return op_main(&cmd_destroy, argc, argv, g, &op, NULL);
}

const struct cmd cmd_destroy = {
    .name = "destroy",
    .args = "<cluster> [--yes] [--check] [-e DEL_ETCD=no ...] [--json]",
    .summary = "remove what ezk installed from the hosts (step 99 clean)",
    .help = "Runs step 99 clean on every host, asked first on a terminal (type the cluster's\n"
	    "name; --yes: not asked; without a terminal --yes is needed). Per kubeasz's\n"
	    "switches, all \"yes\" here (-e DEL_ETCD=no keeps that part):\n"
	    "  DEL_NODE    the pods (killed), kubelet, kube-proxy, kube-lb, containerd, their\n"
	    "              mounts, the pod network (its interfaces too), their units, configs\n"
	    "              and data\n"
	    "  DEL_MASTER  kube-apiserver, controller-manager, scheduler, their certificates\n"
	    "  DEL_ETCD    etcd and its data (the cluster's state)\n"
	    "  DEL_LB      the ex-lb: haproxy (l4lb) and keepalived\n"
	    "  DEL_CHRONY  chrony stopped and disabled\n"
	    "  DEL_ENV     the lines ezk added to root's .bashrc\n"
	    "and the /etc/hosts block. It leaves, and says so: bin_dir and /opt/cni/bin, step\n"
	    "01's settings files (sysctl, modules, limits, journald) and the persistent\n"
	    "journal, swap off in fstab, the host name, chrony's package and config; and on\n"
	    "the deploy node clusters/<c> (inventory, history, ssl/, backup/). A reboot of\n"
	    "the hosts clears what the kernel keeps (sysctl values, modules, iptables,\n"
	    "routes, calico's tunl0). A second run finds nothing to do. Recorded in the\n"
	    "cluster's history; 'ezk setup <c> all' makes the cluster again.\n",
    .examples = "Examples:\n"
		"  ezk destroy prod\n"
		"  ezk destroy prod --check\n"
		"  ezk destroy prod --yes -e DEL_ETCD=no\n",
    .complete = "cluster",
    .options = options,
    .run = run_destroy,
};
