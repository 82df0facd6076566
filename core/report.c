/*
 * report.c - tables and JSON event lines. See report.h.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void table_row(struct table *t, const char *const *cells)
{
	size_t n = 0;
	while (cells[n])
		n++;
	char **row = xcalloc(n + 1, sizeof *row);
	for (size_t i = 0; i < n; i++)
		row[i] = xstrdup(cells[i]);
	t->rows = xrealloc(t->rows, (t->n + 1) * sizeof *t->rows);
	t->rows[t->n++] = row;
	if (n > t->ncols)
		t->ncols = n;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void table_print(const struct table *t, FILE *out)
{
	size_t *w = xcalloc(t->ncols + 1, sizeof *w);
	for (size_t r = 0; r < t->n; r++)
		for (size_t c = 0; t->rows[r][c]; c++)
			if (width(t->rows[r][c]) > w[c])
				w[c] = width(t->rows[r][c]);
	pthread_mutex_lock(&out_lock);
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; t->rows[r][c]; c++) {
			const char *cell = t->rows[r][c];
			bool last = !t->rows[r][c + 1];
			fputs(cell, out);
			if (!last)
				fprintf(out, "%*s", (int)(w[c] - width(cell) + 2), "");
		}
		fputc('\n', out);
	}
	fflush(out);
	pthread_mutex_unlock(&out_lock);
	free(w);
}

void table_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; t->rows[r][c]; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
	memset(t, 0, sizeof *t);
}

void json_event_begin(struct buf *b, const char *event)
{
	buf_reset(b);
	buf_puts(b, "{\"event\":");
	buf_json_str(b, event, strlen(event));
}

static void key(struct buf *b, const char *k)
{
	buf_putc(b, ',');
	buf_json_str(b, k, strlen(k));
	buf_putc(b, ':');
}

void json_field_str(struct buf *b, const char *k, const char *val)
{
	key(b, k);
	if (val)
		buf_json_str(b, val, strlen(val));
	else
		buf_puts(b, "null");
}

void json_field_num(struct buf *b, const char *k, double val)
{
	key(b, k);
	if (isfinite(val))
		buf_printf(b, "%.3f", val);
	else
		buf_puts(b, "null");
}

void json_field_int(struct buf *b, const char *k, long long val)
{
	key(b, k);
	buf_printf(b, "%lld", val);
}

void json_field_raw(struct buf *b, const char *k, const char *json)
{
	key(b, k);
	buf_puts(b, json);
}

void json_event_emit(struct buf *b, FILE *out)
{
	buf_puts(b, "}\n");
	pthread_mutex_lock(&out_lock);
	fwrite(b->s, 1, b->len, out);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
	buf_reset(b);
}

const char *msg_for_host(const char *msg, const char *host)
{
	size_t n = strlen(host);
	if (msg && !strncmp(msg, host, n) && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}
