/*
 * cmd-inventory.c - `ezk inventory <c> --list | --host <h>`: the inventory as
 * ansible-inventory shows it (--list: groups and the hosts' inventory
 * variables, unevaluated), or one host's variables with config.yml and -e
 * applied and every template evaluated (--host).
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "targets.h"
#include "err.h"
#include "inventory.h"
#include "value.h"

extern const struct cmd cmd_inventory;

static void warn_line(void *ud, const char *msg)
{
	(*(int *)ud)++;
	fprintf(stderr, "%s\n", msg);
}

static const struct opt options[] = {
    OPT('L', 0, "list", NULL,
	"groups and hosts as 'ansible-inventory --list' prints them (_meta.hostvars: the "
	"inventory's own variables, unevaluated)"),
    OPT('H', 0, "host", "HOST",
	"every variable of that host, config.yml and -e applied, templates evaluated"),
    OPT('e', 'e', "extra-vars", "VARS", "k=v, @file.yml or JSON, over config.yml"),
    OPT_END,
};

struct args {
	int list;
	const char *host;
	struct value *extra;
};

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	if (id == 'L')
		a->list = 1;
	else if (id == 'H')
		a->host = value;
	else
		return vars_parse_extra(value, a->extra);
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	int rc = EZK_OK, nbad = 0;
	struct args a = {0, NULL, value_map()};
	int optind = cmd_parse(&cmd_inventory, argc, argv, got, &a);
	int list = a.list;
	const char *host = a.host;
	struct value *extra = a.extra;
	if (optind < 0) {
		value_unref(extra);
		return EZK_USAGE;
	}
	if (argc - optind != 1 || list == !!host) {
		value_unref(extra);
		return cmd_usage(&cmd_inventory, argc - optind != 1
						     ? "which cluster?"
						     : "give one of --list or --host");
	}
	struct cluster *cl;
	if (cluster_open(g->home, argv[optind], extra, &cl) < 0) {
		value_unref(extra);
		return cmd_error(EZK_USAGE);
	}
	value_unref(extra);
	struct value *out = NULL;
	if (list) {
		out = inventory_list_value(cl->inv);
	} else {
		long h = inventory_host_find(cl->inv, host);
		if (h < 0) {
			ezk_fail("%s: no host '%s' in the inventory", cl->hosts_path, host);
			rc = cmd_error(EZK_USAGE);
		} else if (vars_resolve_all(cl, (size_t)h, &out, warn_line, &nbad) < 0) {
			/* every other variable is shown; these are named, file:line */
			fprintf(stderr, "ezk: %d variable%s of %s could not be evaluated\n", nbad,
				nbad == 1 ? "" : "s", host);
			rc = EZK_FAILED;
		}
	}
	if (out) {
		/* passwords are not shown (ansible-inventory shows them) */
		struct value *shown = value_redact_secrets(out);
		value_unref(out);
		out = shown;
		struct buf b = BUF_INIT;
		value_to_json(out, &b, 4, 1);
		buf_putc(&b, '\n');
		fwrite(b.s, 1, b.len, stdout);
		buf_free(&b);
		value_unref(out);
	}
	cluster_close(cl);
	return rc;
}

const struct cmd cmd_inventory = {
    .name = "inventory",
    .args = "<cluster> --list | --host <host> [-e k=v]",
    .summary = "show the inventory as JSON, or one host's resolved variables",
    .help = "--host shows every variable it can evaluate; each one that cannot be is\n"
	    "named on stderr with its file:line (exit 1), as Ansible fails only what uses it.\n"
	    "Passwords (ansible_ssh_pass, ansible_become_pass, ...) are shown as ********.\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};
