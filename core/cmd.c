/*
 * cmd.c - what every command shares (cmd.h): the options tables turned
 * into getopt_long's, into `ezk help`'s "Options:" and into completion
 * words; usage and error messages. The library (core/ outside cmd-*.c)
 * does not use this file.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "targets.h"

/* The run options: their ids are run_opts_parse()'s (targets.c). The
 * commands that pick their hosts themselves (add-node, upgrade, ...) take
 * conn_options: all of them but -l. */
const struct opt conn_options[] = {
    OPT('f', 'f', "forks", "N", "hosts at once (default 50)"),
    OPT('u', 'u', "user", "USER", "login user where ansible_user is not set"),
    OPT(RUN_OPT_KEY, 0, "key", "FILE", "private key (also ansible_ssh_private_key_file)"),
    OPT(RUN_OPT_KEY, 0, "private-key", "FILE", "the same as --key"),
    OPT('k', 'k', "ask-pass", NULL, "ask for the SSH password (stdin when not a terminal)"),
    OPT('b', 'b', "become", NULL, "sudo on the hosts (also ansible_become)"),
    OPT(RUN_OPT_BECOME_USER, 0, "become-user", "USER", "sudo to USER (default root)"),
    OPT('K', 'K', "ask-become-pass", NULL, "ask for the sudo password"),
    OPT(RUN_OPT_JUMP, 0, "jump", "[U@]HOST[:P]", "reach the hosts through a jump host"),
    OPT('T', 'T', "timeout", "SECONDS", "connect timeout (default 10)"),
    OPT(RUN_OPT_PERSIST, 0, "persist", "SECONDS",
	"keep the sessions for the next run (default EZK_PERSIST, else 0: off)"),
    OPT(RUN_OPT_HOSTKEY, 0, "host-key-checking", "MODE", "accept-new (default), strict or off"),
    OPT(RUN_OPT_JSON, 0, "json", NULL, "one JSON object per line"),
    OPT('e', 'e', "extra-vars", "VARS", "k=v, @file.yml or JSON, over config.yml"),
    OPT_END,
};
const struct opt run_options[] = {
    OPT('l', 'l', "limit", "PATTERN", "only these hosts/groups (a,b  all:!g  g:&h  10.0.0.*)"),
    OPT_GROUP(conn_options),
    OPT_END,
};

#define MAX_OPTS 64

/* the table with its groups expanded */
static size_t flatten(const struct opt *t, const struct opt **out, size_t n)
{
	for (; t && (t->id || t->group); t++) {
		if (t->group)
			n = flatten(t->group, out, n);
		else if (n < MAX_OPTS)
			out[n++] = t;
	}
	return n;
}

int cmd_parse(const struct cmd *c, int argc, char **argv,
	      int (*got)(void *ud, int id, const char *value), void *ud)
{
	const struct opt *all[MAX_OPTS];
	size_t n = flatten(c->options, all, 0);
	struct option lo[MAX_OPTS + 1];
	char so[2 * MAX_OPTS + 2] = ":";
	size_t sl = 1;
	for (size_t i = 0; i < n; i++) {
		lo[i] = (struct option){all[i]->long_name,
					all[i]->arg ? required_argument : no_argument, NULL,
					all[i]->id};
		if (all[i]->short_name) {
			so[sl++] = all[i]->short_name;
			if (all[i]->arg)
				so[sl++] = ':';
		}
	}
	so[sl] = 0;
	lo[n] = (struct option){0};
	opterr = 0;
	optind = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (ch == '?') {
			cmd_usage(c, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if (ch == ':') {
			cmd_usage(c, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (got(ud, ch, optarg) < 0) {
			cmd_usage(c, "%s", ezk_err_msg());
			return -1;
		}
	}
	return optind;
}

static int got_run(void *ud, int id, const char *value)
{
	return run_opts_parse(ud, id, value) < 0 ? -1 : 0;
}

int cmd_parse_run(const struct cmd *c, int argc, char **argv, struct run_opts *o)
{
	run_opts_init(o);
	int k = cmd_parse(c, argc, argv, got_run, o);
	if (k < 0)
		run_opts_free(o);
	return k;
}

void cmd_print_options(const struct cmd *c, FILE *f)
{
	const struct opt *all[MAX_OPTS];
	size_t n = flatten(c->options, all, 0);
	if (!n)
		return;
	fputs("Options:\n", f);
	for (size_t i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		if (all[i]->short_name)
			buf_printf(&b, "  -%c, --%s", all[i]->short_name, all[i]->long_name);
		else
			buf_printf(&b, "      --%s", all[i]->long_name);
		if (all[i]->arg)
			buf_printf(&b, " %s", all[i]->arg);
		/* two blanks at least between the option and its line */
		fprintf(f, "%-*s %s\n", b.len < 27 ? 28 : (int)b.len + 1, b.s, all[i]->help);
		buf_free(&b);
	}
}

void cmd_print_option_names(const struct cmd *c, FILE *f)
{
	const struct opt *all[MAX_OPTS];
	size_t n = flatten(c->options, all, 0);
	for (size_t i = 0; i < n; i++) {
		if (all[i]->short_name)
			fprintf(f, "-%c ", all[i]->short_name);
		fprintf(f, "--%s%s", all[i]->long_name, i + 1 < n ? " " : "");
	}
}

int cmd_usage(const struct cmd *c, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		fputs("ezk: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: ezk %s %s\n", c->name, c->args);
	fprintf(stderr, "Try 'ezk help %s' for more.\n", c->name);
	return EZK_USAGE;
}

int cmd_error(int rc)
{
	struct buf b = BUF_INIT;
	buf_put_printable(&b, ezk_err_msg(), false);
	fprintf(stderr, "ezk: %s\n", buf_cstr(&b));
	buf_free(&b);
	return rc;
}
