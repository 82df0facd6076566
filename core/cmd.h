/*
 * cmd.h - the command table.
 *
 * Each command lives in its own file, core/cmd-<name>.c, and exports one
 * `const struct cmd cmd_<name>` (as tmux's cmd-NAME.c and git's builtin/NAME.c
 * do). core/main.c lists them in one table; `ezk help`, usage errors and
 * shell completion are all generated from that table, so a command that is
 * not in it does not exist for users.
 *
 * run() gets the arguments after the command name (argv[0] is the command
 * name, as getopt expects) and returns the process exit status:
 *   EZK_OK (0)     everything succeeded
 *   EZK_FAILED (1) some host failed or was unreachable
 *   EZK_USAGE (2)  bad usage or bad input (inventory, config, role)
 */
#ifndef EZK_CMD_H
#define EZK_CMD_H

#include <stdio.h>

#include "err.h" /* EZK_OK, EZK_FAILED, EZK_USAGE */

/* Options every command sees (parsed by main before the command name). */
struct ezk_globals {
	const char *home; /* --home, else $EZK_HOME, else /etc/ezk */
};

/*
 * A command's options, declared once (as git's parse-options.h): the table
 * yields the parsing (cmd_parse), the "Options:" of `ezk help <cmd>` and
 * the shell completion, so the three cannot drift apart.
 *
 *     static const struct opt opts[] = {
 *         OPT('t', 't', "tags", "T1,T2", "only tasks with these tags"),
 *         OPT('C', 'C', "check", NULL, "change nothing; say what would change"),
 *         OPT_GROUP(run_options),    // -l, -f, -u, --key, ... (targets.h's run_opts)
 *         OPT_END,
 *     };
 */
struct opt {
	int id;			 /* what cmd_parse hands the command: a letter or >= 256 */
	char short_name;	 /* 'l', or 0 */
	const char *long_name;	 /* "limit" */
	const char *arg;	 /* the value's name ("PATTERN"), NULL for a flag */
	const char *help;	 /* one line */
	const struct opt *group; /* instead: every option of that table */
};
#define OPT(id, s, l, a, h)                                                                        \
	{                                                                                          \
		(id), (s), (l), (a), (h), NULL                                                     \
	}
#define OPT_GROUP(t)                                                                               \
	{                                                                                          \
		0, 0, NULL, NULL, NULL, (t)                                                        \
	}
#define OPT_END                                                                                    \
	{                                                                                          \
		0, 0, NULL, NULL, NULL, NULL                                                       \
	}

/* The options of commands that reach hosts (struct run_opts, targets.h):
 * their ids are the ones run_opts_parse() takes. conn_options: the same
 * but -l/--limit, for commands that choose their hosts themselves. */
extern const struct opt run_options[], conn_options[];

struct cmd {
	const char *name;
	const char *args;	   /* argument synopsis: "<cluster> [--aio]" */
	const char *summary;	   /* one line for `ezk help` */
	const char *help;	   /* what `ezk help <name>` says before the options */
	const char *examples;	   /* and after them (may be NULL) */
	const char *complete;	   /* what completes the first argument: "cluster" or NULL */
	const struct opt *options; /* NULL: none */
	int (*run)(int argc, char **argv, const struct ezk_globals *g);
};

/* Parse argv (argv[0] the command's name) with c->options: got(ud, id,
 * value) for each option given (value NULL for a flag); it returns 0, or
 * -1 with a message set (err.h) for a bad value. Returns the index of the
 * first operand, or -1 after printing the usage error. */
int cmd_parse(const struct cmd *c, int argc, char **argv,
	      int (*got)(void *ud, int id, const char *value), void *ud);
/* For commands whose only options are the run options: o is initialised
 * and filled; the index of the first operand, or -1 (o freed, usage said). */
struct run_opts;
int cmd_parse_run(const struct cmd *c, int argc, char **argv, struct run_opts *o);
/* "Options:" of `ezk help`, and the long names for completion. */
void cmd_print_options(const struct cmd *c, FILE *f);
void cmd_print_option_names(const struct cmd *c, FILE *f);

extern const struct cmd *const ezk_commands[];
const struct cmd *cmd_find(const char *name);

/* Print "usage: ezk <name> <args>" and a hint to stderr; returns EZK_USAGE. */
int cmd_usage(const struct cmd *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print the current error message (err.h) as "ezk: <msg>" and return rc. */
int cmd_error(int rc);

#endif
