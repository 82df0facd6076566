/*
 * redact.c - the run's log, with every password the run knows blanked out
 * (in the log, on the terminal, in the recap). engine-int.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine-int.h"
#include "targets.h"

static void add_secret(struct engine *e, const char *pw)
{
	if (!pw || strlen(pw) < 3) /* shorter would blank out ordinary text */
		return;
	for (size_t i = 0; i < e->nsecrets; i++)
		if (!strcmp(e->secrets[i], pw))
			return;
	e->secrets = xrealloc(e->secrets, (e->nsecrets + 1) * sizeof *e->secrets);
	e->secrets[e->nsecrets++] = pw;
}

/* Once per run: the passwords of -k/-K and of every host, without repeats
 * (an [all:vars] password would otherwise be searched for once per host in
 * every line). They stay owned by the targets. */
void secrets_collect(struct engine *e)
{
	add_secret(e, e->ts->password);
	add_secret(e, e->ts->become_password);
	for (size_t i = 0; i < e->ts->n; i++) {
		add_secret(e, e->ts->t[i].password);
		add_secret(e, e->ts->t[i].become_password);
	}
}

void redact(struct engine *e, struct buf *b)
{
	for (size_t k = 0; b->s && k < e->nsecrets; k++) {
		size_t sl = strlen(e->secrets[k]);
		for (char *p; (p = strstr(b->s, e->secrets[k]));)
			memset(p, '*', sl);
	}
}

void engine_log(struct engine *e, const char *host, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%H:%M:%S", &tm);
	buf_printf(&b, "%s %s ", ts, host ? host : "-");
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	buf_put_printable(&b, msg ? msg : "?", false);
	free(msg);
	buf_putc(&b, '\n');
	redact(e, &b);
	pthread_mutex_lock(&e->lock);
	journal_write(e->log_fd, b.s, b.len);
	if (e->o.verbose && !e->o.json)
		fputs(b.s, stderr);
	pthread_mutex_unlock(&e->lock);
	buf_free(&b);
}
