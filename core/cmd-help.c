/*
 * cmd-help.c - `ezk help [command]`: the list of commands, or one command's
 * usage and options. Generated from the command table, so it cannot drift
 * from what the binary accepts.
 */
#include <stdio.h>
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

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	(void)g;
	if (argc > 2) {
		extern const struct cmd cmd_help;
		return cmd_usage(&cmd_help, "too many arguments");
	}
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
    .args = "[command]",
    .summary = "show the commands, or one command's usage",
    .help = "",
    .complete = "command",
    .run = run,
};
