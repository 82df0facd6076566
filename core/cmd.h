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

enum { EZK_OK = 0, EZK_FAILED = 1, EZK_USAGE = 2 };

/* Options every command sees (parsed by main before the command name). */
struct ezk_globals {
	const char *home; /* --home, else $EZK_HOME, else /etc/ezk */
};

struct cmd {
	const char *name;
	const char *args;     /* argument synopsis: "<cluster> [--aio]" */
	const char *summary;  /* one line for `ezk help` */
	const char *help;     /* the rest of `ezk help <name>`: options, examples */
	const char *complete; /* what completes the first argument: "cluster" or NULL */
	const char *opts;     /* its options, space-separated, for completion */
	int (*run)(int argc, char **argv, const struct ezk_globals *g);
};

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
