/*
 * err.h - one error message per thread.
 *
 * Every ezk function that can fail returns an int (0 on success, -1 on
 * failure) or a pointer (NULL on failure) and leaves a human-readable
 * message in a per-thread buffer, the way libgit2's git_error_last() works.
 * The caller either handles the failure or passes it up unchanged; the
 * outermost caller prints ezk_err_msg().
 *
 * Messages about user input always start with "file:line: " so a user can
 * jump to the mistake: use ezk_fail_at() for those.
 *
 *     if (parse(...) < 0)
 *         return -1;                       // message already set
 *     return ezk_fail_at(path, line, "unterminated group header");
 */
#ifndef EZK_ERR_H
#define EZK_ERR_H

#include <stdarg.h>

/* ezk's exit statuses, the library's results for a run too (engine_run):
 * EZK_OK everything succeeded; EZK_FAILED some host failed or was
 * unreachable; EZK_USAGE bad usage or bad input (inventory, config, role) */
enum { EZK_OK = 0, EZK_FAILED = 1, EZK_USAGE = 2 };

#if defined(__GNUC__)
#define EZK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EZK_PRINTF(a, b)
#endif

/* Set the message (printf-style); always returns -1. */
int ezk_fail(const char *fmt, ...) EZK_PRINTF(1, 2);
/* Set "file:line: message"; line <= 0 omits the line. Returns -1. */
int ezk_fail_at(const char *file, int line, const char *fmt, ...) EZK_PRINTF(3, 4);
int ezk_vfail(const char *fmt, va_list ap);
/* Prefix the current message with "prefix: " (adds context on the way up). */
int ezk_fail_prefix(const char *fmt, ...) EZK_PRINTF(1, 2);
/* The last message of this thread ("" if none). */
const char *ezk_err_msg(void);
void ezk_err_clear(void);

#endif
