/*
 * cmd-kcfg-adm.c - `ezk kcfg-adm <c> -A|-D|-L`: users' kubeconfigs with a
 * role and an expiry, as ezctl kcfg-adm (the role is roles/kcfg-adm, run
 * on the deploy node; the listing reads what it wrote in users/).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "lifecycle.h"
#include "pki.h"
#include "value.h"
#include "workspace.h"

extern const struct cmd cmd_kcfg_adm;

struct args {
	char action; /* A, D, L */
	const char *user, *role, *expiry;
};

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	switch (id) {
	case 'A':
	case 'D':
	case 'L':
		if (a->action && a->action != id)
			return ezk_fail("one of -A, -D and -L");
		a->action = (char)id;
		return 1;
	case 'u': a->user = value; return 1;
	case 'r':
	case 't': a->role = value; return 1;
	case 'e': a->expiry = value; return 1;
	}
	return 0;
}

/* a name for a certificate's CN, a file and an RBAC subject */
static int user_ok(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > 63 || u[0] == '-' || u[0] == '.')
		return 0;
	return strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789-._@") == n;
}

/* users/<u>.yaml's "# role: " and "# expires: " lines */
static void header_field(const char *text, const char *key, char *out, size_t n)
{
	const char *p = strstr(text, key);
	snprintf(out, n, "?");
	if (!p)
		return;
	p += strlen(key);
	size_t l = strcspn(p, "\n");
	snprintf(out, n, "%.*s", (int)l, p);
}

static int list(const char *dir)
{
	char *udir = path_join(dir, "users");
	DIR *d = opendir(udir);
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t l = strlen(de->d_name);
		if (l > 11 && !strcmp(de->d_name + l - 11, ".kubeconfig")) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xstrndup(de->d_name, l - 11);
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1], names[j - 1] = t;
		}
	printf("%-32s %-6s %s\n", "USER", "ROLE", "EXPIRES");
	for (size_t i = 0; i < n; i++) {
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s/%s.yaml", udir, names[i]);
		char *text = NULL, role[32], expires[64];
		size_t len;
		if (file_read(p.s, &text, &len) < 0)
			text = xstrdup("");
		header_field(text, "\n# role: ", role, sizeof role);
		header_field(text, "\n# expires: ", expires, sizeof expires);
		printf("%-32s %-6s %s\n", names[i], role, expires);
		free(text);
		buf_free(&p);
		free(names[i]);
	}
	free(names);
	free(udir);
	return EZK_OK;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct args a = {0, NULL, "admin", "4800h"};
	struct lifecycle lc;
	int k = lifecycle_parse(&lc, &cmd_kcfg_adm, argc, argv, g, got, &a);
	if (k < 0)
		return EZK_USAGE;
	if (argc - k != 1)
		return lifecycle_done(&lc, cmd_usage(&cmd_kcfg_adm, argc - k < 1
									? "which cluster?"
									: "too many arguments"));
	if (!a.action)
		return lifecycle_done(
		    &lc, cmd_usage(&cmd_kcfg_adm, "-A (add), -D (delete) or -L (list)?"));
	if (a.action == 'L') {
		if (workspace_cluster_exists(g->home, argv[k]) < 0)
			return lifecycle_done(&lc, cmd_error(EZK_USAGE));
		char *dir = cluster_dir(g->home, argv[k]);
		int rc = list(dir);
		free(dir);
		return lifecycle_done(&lc, rc);
	}
	if (!a.user)
		return lifecycle_done(&lc, cmd_usage(&cmd_kcfg_adm, "which user? (-u NAME)"));
	if (!user_ok(a.user))
		return lifecycle_done(&lc,
				      cmd_usage(&cmd_kcfg_adm,
						"-u '%s': lower-case letters, digits, '-', '.', "
						"'_' and '@', at most 63",
						a.user));
	long long secs;
	if (strcmp(a.role, "admin") && strcmp(a.role, "view"))
		return lifecycle_done(&lc,
				      cmd_usage(&cmd_kcfg_adm, "-r '%s': admin or view", a.role));
	if (pki_parse_lifetime(a.expiry, &secs) < 0)
		return lifecycle_done(
		    &lc, cmd_usage(&cmd_kcfg_adm, "-e '%s': %s", a.expiry, ezk_err_msg()));
	/* no inventory edit: edits no setup applied do not matter here */
	if (lifecycle_open(&lc, argv[k], true) < 0)
		return lifecycle_done(&lc, cmd_error(EZK_USAGE));
	struct buf user = BUF_INIT, what = BUF_INIT;
	if (a.action == 'A') {
		/* a new name each time, as ezctl: a user made again is a new
		 * subject, whom an old certificate does not stand for */
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof stamp, "%Y%m%d%H%M", localtime_r(&t, &tm));
		buf_printf(&user, "%s-%s", a.user, stamp);
		buf_printf(&what, "kcfg-adm: user %s (%s, %s)", user.s, a.role, a.expiry);
	} else {
		buf_puts(&user, a.user);
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s/users/%s.kubeconfig", lc.cl->dir, a.user);
		int there = file_exists(p.s);
		buf_free(&p);
		if (!there) {
			buf_free(&user);
			return lifecycle_done(
			    &lc,
			    lifecycle_refuse(&lc, "no user %s ('ezk kcfg-adm %s -L' lists them)",
					     a.user, argv[k]));
		}
		buf_printf(&what, "kcfg-adm: user %s deleted", user.s);
	}
	struct value *vars = value_map();
	value_map_set(vars, "KCFG_ACTION", value_str(a.action == 'A' ? "add" : "del"));
	value_map_set(vars, "KCFG_USER", value_str(user.s));
	value_map_set(vars, "KCFG_ROLE", value_str(a.role));
	value_map_set(vars, "KCFG_EXPIRY", value_str(a.expiry));
	struct buf note = BUF_INIT;
	if (a.action == 'A')
		buf_printf(&note, "the kubeconfig is %s/users/%s.kubeconfig", lc.cl->dir, user.s);
	struct lifecycle_op op = {.steps = "kcfg-adm",
				  .vars = vars,
				  .what = what.s,
				  .done_note = note.len ? note.s : NULL};
	int rc = lifecycle_run(&lc, &op);
	value_unref(vars);
	buf_free(&note);
	buf_free(&user);
	buf_free(&what);
	return lifecycle_done(&lc, rc);
}

static const struct opt options[] = {
    OPT('A', 'A', "add", NULL, "add a user: a certificate, its kubeconfig, a binding"),
    OPT('D', 'D', "delete", NULL, "delete a user: the binding and the files"),
    OPT('L', 'L', "list", NULL, "list the users, their role and expiry"),
    OPT('u', 'u', "user", "NAME", "the user (-A: a prefix; -YYYYmmddHHMM is added)"),
    OPT('r', 'r', "role", "admin|view", "cluster-admin, or view (default admin)"),
    OPT('t', 't', "type", "admin|view", "the same as --role (ezctl's name)"),
    OPT('e', 'e', "expiry", "DURATION", "the certificate's life: 240h, 90d (default 4800h)"),
    OPT('v', 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT(RUN_OPT_JSON, 0, "json", NULL, "one JSON object per line"),
    OPT_END,
};

const struct cmd cmd_kcfg_adm = {
    .name = "kcfg-adm",
    .args = "<cluster> -A -u USER [-r admin|view] [-e EXPIRY] | -D -u USER | -L",
    .summary = "users' kubeconfigs: a client certificate with an expiry, bound to a role",
    .help = "Manages kubeconfigs for people and tools, as ezctl kcfg-adm. -A makes a user\n"
	    "USER-<YYYYmmddHHMM> (a new name each time: a user made again is not the one an\n"
	    "old certificate names): a client certificate signed by the cluster's CA that\n"
	    "expires after -e (ssl/<user>.pem), its kubeconfig (users/<user>.kubeconfig, for\n"
	    "the first master), and the ClusterRoleBinding crb-<user> to cluster-admin (-r\n"
	    "admin) or view (-r view). -D deletes the binding, which takes the user's rights\n"
	    "away (Kubernetes cannot revoke a certificate), and the files. -L lists the users\n"
	    "ezk made, their role and expiry. Each -A and -D is a commit of the cluster's\n"
	    "history (never the keys or kubeconfigs).\n",
    .examples = "Examples:\n"
		"  ezk kcfg-adm prod -A -u jack -r view -e 240h\n"
		"  ezk kcfg-adm prod -L\n"
		"  ezk kcfg-adm prod -D -u jack-202612051930\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
