/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 *     struct buf b = BUF_INIT;
 *     buf_puts(&b, "hello ");
 *     buf_printf(&b, "%d", 42);
 *     use(b.s, b.len);
 *     buf_free(&b);
 *
 * Allocation failure aborts the process (ezk treats out-of-memory as fatal,
 * like git's xmalloc), so callers never check appends.
 */
#ifndef EZK_BUF_H
#define EZK_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct buf {
	char *s; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void buf_grow(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) EZK_PRINTF(2, 3);
/* The value of a hexadecimal digit, or -1 (for the escape readers). */
int hex_value(char c);
/* Append a Unicode code point as UTF-8 (1 to 4 bytes). */
void buf_put_utf8(struct buf *b, unsigned long cp);
/* Append s for a line of text a person reads (the output, a log): control
 * characters (below 0x20, and 0x7f) as \n, \r, \t or \xNN, so a value
 * cannot end the line and forge the next one or drive the terminal.
 * keep_nl keeps newlines and tabs as they are (a diff's lines). */
void buf_put_printable(struct buf *b, const char *s, bool keep_nl);
/* Escape the control characters of b->s from offset `from` on, in place. */
void buf_make_printable(struct buf *b, size_t from, bool keep_nl);
/* Append s as a JSON string literal, quotes included. */
void buf_json_str(struct buf *b, const char *s, size_t n);
const char *buf_cstr(struct buf *b); /* "" when empty */
void buf_reset(struct buf *b);
/* Hand the string to the caller (who frees it); b is empty afterwards. */
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);

/* Allocation that aborts on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
