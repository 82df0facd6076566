/*
 * cmd-help.c - `ezk help [command]`: the list of commands, or one command's
 * usage and options. Generated from the command table, so it cannot drift
 * from what the binary accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static void list_commands(void)
{
	puts("ezk - install and run Kubernetes clusters on plain Linux hosts over SSH\n");
	puts("usage: ezk [--home DIR] <command> [args]\n");
	puts("Commands:");
	for (const struct cmd *const *c = ezk_commands; *c; c++) {
		char syn[128];
		snprintf(syn, sizeof syn, "%s %s", (*c)->name, (*c)->args);
		if (strlen(syn) > 36)
			printf("  %s\n  %-36s %s\n", syn, "", (*c)->summary);
		else
			printf("  %-36s %s\n", syn, (*c)->summary);
	}
	puts("\nGlobal options:\n"
	     "  --home DIR   the workspace (default $EZK_HOME, else /etc/ezk)\n"
	     "  -h, --help   help; 'ezk help <command>' for one command\n"
	     "\nExit status: 0 ok; 1 a host failed or was unreachable; 2 bad usage or bad input.");
}

/* roff text: a backslash doubled, a leading . or ' escaped */
static void roff(const char *s)
{
	for (int bol = 1; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", stdout);
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
		bol = *s == '\n';
	}
}

/* a text block as it reads in `ezk help`, kept as is (.nf) */
static void roff_block(const char *s)
{
	if (!s || !*s)
		return;
	puts(".PP\n.nf");
	roff(s);
	if (s[strlen(s) - 1] != '\n')
		putchar('\n');
	puts(".fi");
}

/* ezk(1), from the command table: what `ezk help` says, in one page */
static void man_page(void)
{
	printf(".TH EZK 1 \"\" \"ezk %s\" \"User Commands\"\n", EZK_VERSION);
	puts(".SH NAME\nezk \\- install and run Kubernetes clusters on plain Linux hosts over SSH");
	puts(".SH SYNOPSIS\n.B ezk\n[\\-\\-home DIR] \\fIcommand\\fR [args]");
	puts(".SH DESCRIPTION\n"
	     "ezk reads a cluster's inventory (kubeasz's hosts, Ansible INI) and config.yml\n"
	     "from $EZK_HOME/clusters/<cluster> and runs Lua roles on the hosts in parallel,\n"
	     "agentless, over one SSH session per host. The workspace is $EZK_HOME (default\n"
	     "/etc/ezk; \\-\\-home DIR overrides). See README.md and docs/ of the source.");
	puts(".SH COMMANDS");
	for (const struct cmd *const *c = ezk_commands; *c; c++) {
		printf(".SS \"ezk %s ", (*c)->name);
		roff((*c)->args);
		puts("\"");
		roff((*c)->summary);
		puts(".");
		roff_block((*c)->help);
		if ((*c)->options) {
			puts(".PP\n.nf");
			char *text = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&text, &len);
			cmd_print_options(*c, f);
			fclose(f);
			roff(text);
			free(text);
			puts(".fi");
		}
		roff_block((*c)->examples);
	}
	puts(
	    ".SH EXIT STATUS\n0 ok; 1 a host failed or was unreachable; 2 bad usage or bad input,\n"
	    "reported as file:line: message.");
	puts(".SH ENVIRONMENT\n.TP\nEZK_HOME\nthe workspace (default /etc/ezk)\n.TP\nEZK_ROLES\n"
	     "role folders to search before the installed ones (dir1:dir2)");
	puts(".SH FILES\n$EZK_HOME/clusters/<c>/hosts, config.yml, ssl/, logs/ (the runs and the\n"
	     "journal), .git (the history); $EZK_HOME/bin (what is pushed); "
	     "$EZK_HOME/known_hosts.");
}

static const struct opt options[] = {
    OPT('m', 0, "man", NULL, "ezk(1): the manual page, in roff (make install installs it)"),
    OPT_END,
};

static int got(void *ud, int id, const char *value)
{
	(void)id, (void)value;
	*(int *)ud = 1;
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	extern const struct cmd cmd_help;
	(void)g;
	int man = 0, optind = cmd_parse(&cmd_help, argc, argv, got, &man);
	if (optind < 0)
		return EZK_USAGE;
	argc -= optind - 1, argv += optind - 1;
	if (man) {
		man_page();
		return EZK_OK;
	}
	if (argc > 2)
		return cmd_usage(&cmd_help, "too many arguments");
	if (argc < 2) {
		list_commands();
		return EZK_OK;
	}
	const struct cmd *c = cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "ezk: unknown command '%s'\nTry 'ezk help' for the list.\n",
			argv[1]);
		return EZK_USAGE;
	}
	printf("usage: ezk %s %s\n\n%s\n", c->name, c->args, c->summary);
	if (c->help && *c->help)
		printf("\n%s", c->help);
	if (c->options) {
		putchar('\n');
		cmd_print_options(c, stdout); /* from the table the command parses with */
	}
	if (c->examples)
		printf("\n%s", c->examples);
	return EZK_OK;
}

const struct cmd cmd_help = {
    .name = "help",
    .args = "[command] | --man",
    .summary = "show the commands, or one command's usage",
    .help = "",
    .complete = "command",
    .options = options,
    .run = run,
};
