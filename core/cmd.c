/*
 * cmd.c - what every command uses to report bad usage and errors (cmd.h).
 * Kept out of main.c so that library code (targets.c) and the unit tests
 * can link it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cmd.h"
#include "err.h"

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
	fprintf(stderr, "ezk: %s\n", ezk_err_msg());
	return rc;
}
