/* progress.c - transfer progress on a terminal or as plain lines (progress.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "progress.h"

struct progress {
	FILE *f;
	int tty;
	char *label;
	long long total, done, from;
	double t0, last_draw, last_line;
	int drawn;
	long long sum_bytes;
	double sum_seconds;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void human_bytes(double n, char *out, size_t len)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	int u = 0;
	while (n >= 1000 && u < 4) {
		n /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%.0f B", n);
	else
		snprintf(out, len, "%.1f %s", n, units[u]);
}

struct progress *progress_new(FILE *f, int tty)
{
	struct progress *p = xcalloc(1, sizeof *p);
	p->f = f;
	p->tty = tty >= 0 ? tty : isatty(fileno(f));
	return p;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	free(p->label);
	free(p);
}

void progress_start(struct progress *p, const char *label, long long total)
{
	if (!p)
		return;
	free(p->label);
	p->label = xstrdup(label);
	p->total = total;
	p->done = p->from = 0;
	p->t0 = p->last_draw = p->last_line = now_s();
	p->drawn = 0;
}

void progress_set_total(struct progress *p, long long total)
{
	if (p)
		p->total = total;
}

void progress_resume_at(struct progress *p, long long from)
{
	if (!p)
		return;
	p->from = from;
	p->done = from;
}

static void status(struct progress *p, struct buf *b, double now)
{
	char d[32], t[32], r[32];
	double secs = now - p->t0;
	double rate = secs > 0 ? (double)(p->done - p->from) / secs : 0;
	human_bytes((double)p->done, d, sizeof d);
	if (p->total > 0) {
		human_bytes((double)p->total, t, sizeof t);
		buf_printf(b, "%s/%s", d, t);
	} else {
		buf_puts(b, d);
	}
	human_bytes(rate, r, sizeof r);
	buf_printf(b, "  %s/s", r);
	if (p->total > 0 && rate > 0 && p->done < p->total) {
		long eta = (long)((double)(p->total - p->done) / rate + 0.5);
		if (eta >= 3600)
			buf_printf(b, "  ETA %ldh%02ldm", eta / 3600, eta / 60 % 60);
		else if (eta >= 60)
			buf_printf(b, "  ETA %ldm%02lds", eta / 60, eta % 60);
		else
			buf_printf(b, "  ETA %lds", eta);
	}
}

void progress_update(struct progress *p, long long done)
{
	if (!p || !p->label)
		return;
	p->done = done;
	double now = now_s();
	struct buf b = BUF_INIT;
	if (p->tty && now - p->last_draw >= 0.1) {
		p->last_draw = now;
		buf_printf(&b, "\r\033[K  %.48s  ", p->label);
		status(p, &b, now);
		fputs(b.s, p->f);
		fflush(p->f);
		p->drawn = 1;
	} else if (!p->tty && now - p->last_line >= 30) {
		p->last_line = now;
		buf_printf(&b, "  %s: ", p->label);
		status(p, &b, now);
		fprintf(p->f, "%s\n", b.s);
		fflush(p->f);
	}
	buf_free(&b);
}

static void clear_line(struct progress *p)
{
	if (p->tty && p->drawn) {
		fputs("\r\033[K", p->f);
		p->drawn = 0;
	}
}

void progress_end(struct progress *p, const char *verb, long long done)
{
	if (!p || !p->label)
		return;
	double secs = now_s() - p->t0;
	long long moved = done - p->from;
	p->sum_bytes += moved > 0 ? moved : 0;
	p->sum_seconds += secs;
	clear_line(p);
	char d[32], r[32];
	human_bytes((double)done, d, sizeof d);
	human_bytes(secs > 0 ? (double)moved / secs : 0, r, sizeof r);
	if (p->from > 0)
		fprintf(p->f, "%s %s: %s in %.1f s (%s/s, resumed at %lld bytes)\n", verb, p->label,
			d, secs, r, p->from);
	else
		fprintf(p->f, "%s %s: %s in %.1f s (%s/s)\n", verb, p->label, d, secs, r);
	fflush(p->f);
	free(p->label);
	p->label = NULL;
}

void progress_note(struct progress *p, const char *fmt, ...)
{
	if (!p)
		return;
	clear_line(p);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
	fputc('\n', p->f);
	fflush(p->f);
}

void progress_totals(const struct progress *p, long long *bytes, double *seconds)
{
	*bytes = p ? p->sum_bytes : 0;
	*seconds = p ? p->sum_seconds : 0;
}
