/*
 * main.c - ezk's entry point and command table.
 *
 * Global options (--home DIR, -h/--help, --version) may appear anywhere
 * before a lone "--"; everything else goes to the command. The table below
 * is the only list of commands: help and completion read it.
 */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "err.h"
#include "ssh.h"

extern const struct cmd cmd_new, cmd_list, cmd_checkout, cmd_inventory, cmd_check, cmd_ping,
    cmd_keys, cmd_setup, cmd_log, cmd_diff, cmd_download, cmd_bundle, cmd_help, cmd_version,
    cmd_completion;
/* the cluster's lifecycle (issue 16) */
extern const struct cmd cmd_add_node, cmd_add_master, cmd_add_etcd, cmd_del_node, cmd_del_master,
    cmd_del_etcd, cmd_upgrade, cmd_kca_renew, cmd_kcfg_adm;
/* day-2 operations (oprun.h) */
extern const struct cmd cmd_start, cmd_stop, cmd_backup, cmd_restore, cmd_destroy;

const struct cmd *const ezk_commands[] = {
    &cmd_new,
    &cmd_list,
    &cmd_checkout,
    &cmd_inventory,
    &cmd_check,
    &cmd_ping,
    &cmd_keys,
    &cmd_setup,
    &cmd_log,
    &cmd_diff,
    /* the cluster's lifecycle */
    &cmd_add_node,
    &cmd_add_master,
    &cmd_add_etcd,
    &cmd_del_node,
    &cmd_del_master,
    &cmd_del_etcd,
    &cmd_upgrade,
    &cmd_kca_renew,
    &cmd_kcfg_adm,
    /* day-2 operations */
    &cmd_start,
    &cmd_stop,
    &cmd_backup,
    &cmd_restore,
    &cmd_destroy,
    &cmd_download,
    &cmd_bundle,
    &cmd_help,
    &cmd_version,
    &cmd_completion,
    NULL,
};

const struct cmd *cmd_find(const char *name)
{
	for (const struct cmd *const *c = ezk_commands; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

static void short_usage(FILE *f)
{
	fputs("usage: ezk [--home DIR] <command> [args]\n"
	      "Try 'ezk help' for the list of commands.\n",
	      f);
}

int main(int argc, char **argv)
{
	struct ezk_globals g = {0};
	/* A host that drops its connection must not kill the whole run. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "__agent") == 0)
		return ssh_agent_main(argc, argv); /* (ssh.h, "Persist") */
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int n = 0, want_help = 0;

	if (!args)
		return EZK_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				args[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "--home") == 0) {
			if (i + 1 >= argc) {
				fputs("ezk: --home needs a directory\n", stderr);
				free(args);
				return EZK_USAGE;
			}
			g.home = argv[++i];
		} else if (strncmp(a, "--home=", 7) == 0) {
			g.home = a + 7;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			want_help = 1;
		} else if (n == 0 && strcmp(a, "--version") == 0) {
			args[n++] = "version";
		} else {
			args[n++] = argv[i];
		}
	}
	if (!g.home)
		g.home = getenv("EZK_HOME");
	if (!g.home || !*g.home)
		g.home = "/etc/ezk";

	int rc;
	if (n == 0) {
		if (want_help) {
			char *hargv[] = {"help", NULL};
			rc = cmd_help.run(1, hargv, &g);
		} else {
			short_usage(stderr);
			rc = EZK_USAGE;
		}
	} else {
		const struct cmd *c = cmd_find(args[0]);
		if (!c) {
			fprintf(stderr, "ezk: unknown command '%s'\n", args[0]);
			short_usage(stderr);
			rc = EZK_USAGE;
		} else if (want_help) {
			char *hargv[] = {"help", (char *)c->name, NULL};
			rc = cmd_help.run(2, hargv, &g);
		} else {
			rc = c->run(n, args, &g);
		}
	}
	free(args);
	fflush(stdout);
	if (ferror(stdout)) {
		fputs("ezk: error writing output\n", stderr);
		if (rc == 0)
			rc = EZK_FAILED;
	}
	return rc;
}
