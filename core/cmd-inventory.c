/*
 * cmd-inventory.c - `ezk inventory <c> --list | --host <h>`: the inventory as
 * ansible-inventory shows it (--list: groups and the hosts' inventory
 * variables, unevaluated), or one host's variables with config.yml and -e
 * applied and every template evaluated (--host).
 */
#include <getopt.h>
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
	(void)ud;
	fprintf(stderr, "%s\n", msg);
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	static const struct option opts[] = {{"list", no_argument, NULL, 'L'},
					     {"host", required_argument, NULL, 'H'},
					     {"extra-vars", required_argument, NULL, 'e'},
					     {0}};
	int list = 0, c, rc = EZK_OK;
	const char *host = NULL;
	struct value *extra = value_map();
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
		switch (c) {
		case 'L': list = 1; break;
		case 'H': host = optarg; break;
		case 'e':
			if (vars_parse_extra(optarg, extra) < 0) {
				value_unref(extra);
				return cmd_error(EZK_USAGE);
			}
			break;
		default:
			value_unref(extra);
			return cmd_usage(&cmd_inventory, "bad option '%s'", argv[optind - 1]);
		}
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
		} else if (vars_resolve_all(cl, (size_t)h, &out, warn_line, NULL) < 0) {
			fprintf(stderr, "ezk: variables of %s could not be evaluated\n", host);
			rc = EZK_USAGE;
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
    .help = "Options:\n"
	    "  --list          groups and hosts as 'ansible-inventory --list' prints them\n"
	    "                  (_meta.hostvars holds the inventory's own variables, unevaluated)\n"
	    "  --host <host>   every variable of that host with config.yml and -e applied and\n"
	    "                  templates evaluated; exit 2 naming file:line of any that fail\n"
	    "  -e, --extra-vars k=v|@file.yml|{json}\n"
	    "                  override variables, as ansible-playbook -e\n"
	    "Passwords (ansible_ssh_pass, ansible_become_pass, ...) are shown as ********.\n",
    .complete = "cluster",
    .opts = "--list --host --extra-vars",
    .run = run,
};
