/*
 * cmd-checkout.c - `ezk checkout <cluster>`: make a cluster the current one.
 * As kubeasz's `ezctl checkout`, when the cluster has an admin kubeconfig
 * (clusters/<c>/kubectl.kubeconfig) it becomes ~/.kube/config, so kubectl
 * talks to that cluster; a ~/.kube/config with other content is kept
 * beside it first (config.ezk-<time>), never lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd.h"
#include "fsutil.h"
#include "workspace.h"

extern const struct cmd cmd_checkout;

/* A ~/.kube/config that is not some cluster's kubeconfig already (another
 * cluster's, or the user's own) is kept beside it before it is replaced:
 * config.ezk-YYYYmmdd-HHMMSS. *backup: its path, or NULL when nothing was
 * kept (no file, or the same content). */
static int keep_old(const char *src, const char *dst, char **backup)
{
	*backup = NULL;
	char *old = NULL, *new = NULL;
	size_t ol = 0, nl = 0;
	if (!file_exists(dst))
		return 0;
	if (file_read(dst, &old, &ol) < 0)
		return -1;
	int rc = 0;
	if (file_read(src, &new, &nl) < 0)
		rc = -1;
	else if (ol != nl || memcmp(old, new, ol) != 0) {
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s.ezk-%s", dst, stamp);
		if (file_write_atomic(b.s, old, ol, 0600) < 0) {
			buf_free(&b);
			rc = -1;
		} else {
			*backup = buf_detach(&b);
		}
	}
	free(old);
	free(new);
	return rc;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	if (argc != 2)
		return cmd_usage(&cmd_checkout, argc < 2 ? "which cluster?" : "too many arguments");
	const char *name = argv[1];
	if (workspace_cluster_exists(g->home, name) < 0)
		return cmd_error(EZK_USAGE);
	if (workspace_set_current(g->home, name) < 0)
		return cmd_error(EZK_FAILED);
	char *dir = cluster_dir(g->home, name);
	char *kcfg = path_join(dir, "kubectl.kubeconfig");
	const char *home = getenv("HOME");
	int rc = EZK_OK;
	if (file_exists(kcfg) && home && *home) {
		char *kdir = path_join(home, ".kube");
		char *dst = path_join(kdir, "config");
		char *backup = NULL;
		if (mkdir_p(kdir, 0700) < 0 || keep_old(kcfg, dst, &backup) < 0 ||
		    file_copy(kcfg, dst, 0600) < 0)
			rc = cmd_error(EZK_FAILED);
		else
			printf("%s now points at cluster '%s'\n", dst, name);
		if (backup && rc == EZK_OK)
			printf("the previous %s is kept as %s\n", dst, backup);
		free(backup);
		free(kdir);
		free(dst);
	}
	if (rc == EZK_OK)
		printf("current cluster: %s\n", name);
	free(kcfg);
	free(dir);
	return rc;
}

const struct cmd cmd_checkout = {
    .name = "checkout",
    .args = "<cluster>",
    .summary = "make a cluster the current one (and its kubeconfig ~/.kube/config)",
    .help = "",
    .complete = "cluster",
    .run = run,
};
