/*
 * report.h - what commands that act on hosts print: an aligned table on
 * the terminal, or with --json one JSON object per line, each with an
 * "event" field (docs/events.md). Events may be emitted from worker threads;
 * each line is written whole.
 *
 *     struct table t = TABLE_INIT;
 *     table_row(&t, (const char *[]){"HOST", "RESULT", NULL});
 *     table_row(&t, (const char *[]){"10.0.0.1", "ok", NULL});
 *     table_print(&t, stdout);   // columns padded to the widest cell
 *     table_free(&t);
 *
 *     struct buf e = BUF_INIT;
 *     json_event_begin(&e, "host");            // {"event":"host"
 *     json_field_str(&e, "host", "10.0.0.1");  // ,"host":"10.0.0.1"
 *     json_event_emit(&e, stdout);             // }\n, locked; resets e
 */
#ifndef EZK_REPORT_H
#define EZK_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"

struct table {
	char ***rows;
	size_t n;
	size_t ncols;
};
#define TABLE_INIT                                                                                 \
	{                                                                                          \
		0                                                                                  \
	}

/* Copies the cells (a NULL-terminated array). */
void table_row(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

/* msg without a leading "host: " (the transport names the host in its
 * messages; a row or an event that has a host field need not). */
const char *msg_for_host(const char *msg, const char *host);

void json_event_begin(struct buf *b, const char *event);
void json_field_str(struct buf *b, const char *key, const char *val); /* NULL: null */
void json_field_num(struct buf *b, const char *key, double val);
void json_field_int(struct buf *b, const char *key, long long val);
/* Append raw JSON (already encoded) as the value of key. */
void json_field_raw(struct buf *b, const char *key, const char *json);
void json_event_emit(struct buf *b, FILE *out);

#endif
