/*
 * statcache.c - the paths each host's stat cache starts with (ssh.h:
 * ssh_host_stat_seed; the cache itself is the resident shell's, shell.c).
 *
 * A run's checks ask about the same paths as the run before: a rerun's
 * first check takes one stat(1) of all of them, and the checks after it
 * none. The paths a run's commands named (stat_path) are kept in
 * clusters/<c>/logs/.stat-paths (logs/ is never committed), a line "HOST
 * TAB PATH" each, this run's first, then those of earlier runs it did not
 * name (up to 1024 a host), written atomically at the end of a run when
 * they changed. A seed is only a list of paths to stat: a wrong, stale or
 * missing one makes a check no slower than without it, never wrong.
 *
 * Beside it, clusters/<c>/logs/.stamps: "HOST TAB SHA256 SECS PATH", the
 * stamps of the files SFTP wrote (ssh.h: ssh_host_stamp_seed), each host's
 * written whole at the end of a run that opened it. A missing or stale
 * stamp costs a hash, never a wrong answer: a file is taken for the same
 * only with the recorded size and an mtime of exactly SECS.000000000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"
#include "ssh.h"
#include "targets.h"

#define PER_HOST 1024

static char *rec_path(const struct engine *e, const char *name)
{
	if (!e->c || !e->c->dir)
		return NULL;
	char *logs = path_join(e->c->dir, "logs");
	char *p = path_join(logs, name);
	free(logs);
	return p;
}

static char *rec_load(const struct engine *e, const char *name)
{
	char *p = rec_path(e, name), *rec = NULL;
	size_t len = 0;
	if (!p || file_read(p, &rec, &len) < 0) {
		ezk_err_clear();
		rec = NULL;
	}
	free(p);
	return rec;
}

/* Write the record when it changed (only a seed: a failure is no error). */
static void rec_save(const struct engine *e, const char *name, const char *old, const struct buf *b)
{
	if (strcmp(old ? old : "", b->s ? b->s : "") == 0)
		return;
	char *p = rec_path(e, name);
	char *logs = p ? path_join(e->c->dir, "logs") : NULL;
	if (p &&
	    (mkdir_p(logs, 0700) < 0 || file_write_atomic(p, b->s ? b->s : "", b->len, 0600) < 0))
		ezk_err_clear();
	free(logs);
	free(p);
}

void engine_stat_load(struct engine *e)
{
	e->stat_rec = rec_load(e, ".stat-paths");
	e->stamp_rec = rec_load(e, ".stamps");
}

/* Calls fn(ud, path, len) for each of host's lines in rec. */
static void each_line(const char *rec, const char *host,
		      void (*fn)(void *ud, const char *path, size_t len), void *ud)
{
	size_t hl = strlen(host);
	for (const char *l = rec; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n > hl + 1 && l[hl] == '\t' && memcmp(l, host, hl) == 0)
			fn(ud, l + hl + 1, n - hl - 1);
		l = nl ? nl + 1 : l + n;
	}
}

struct strs {
	char **v;
	size_t n, max;
};

static void add_path(void *ud, const char *path, size_t len)
{
	struct strs *s = ud;
	if (s->n >= s->max)
		return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n] = xmalloc(len + 1);
	memcpy(s->v[s->n], path, len);
	s->v[s->n++][len] = 0;
}

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

void engine_stat_seed(const struct engine *e, struct ssh_host *h)
{
	struct strs s = {.max = PER_HOST};
	each_line(e->stat_rec, ssh_host_name(h), add_path, &s);
	ssh_host_stat_seed(h, (const char *const *)s.v, s.n);
	strs_free(&s);
	s = (struct strs){.max = (size_t)-1};
	each_line(e->stamp_rec, ssh_host_name(h), add_path, &s);
	ssh_host_stamp_seed(h, (const char *const *)s.v, s.n);
	strs_free(&s);
}

struct merge {
	struct buf *b;
	const char *host;
	const char *const *run; /* this run's paths */
	size_t nrun, n;
};

static void keep_old(void *ud, const char *path, size_t len)
{
	struct merge *m = ud;
	/* what a seed cannot hold (ssh/shell.c): not kept */
	if (m->n >= PER_HOST || len >= 1024 || path[0] != '/' || memchr(path, '|', len))
		return;
	for (size_t i = 0; i < m->nrun; i++)
		if (strlen(m->run[i]) == len && memcmp(m->run[i], path, len) == 0)
			return;
	buf_printf(m->b, "%s\t%.*s\n", m->host, (int)len, path);
	m->n++;
}

/* A line of the old record whose host is not in this run: kept. */
static bool host_in_run(const struct engine *e, const char *l, size_t n)
{
	for (size_t i = 0; i < e->ts->n; i++) {
		struct hostrun *h = &e->hosts[i];
		if (!h->ssh)
			continue;
		const char *name = ssh_host_name(h->ssh);
		size_t hl = strlen(name);
		if (n > hl && l[hl] == '\t' && memcmp(l, name, hl) == 0)
			return true;
	}
	return false;
}

/* .stamps: each host this run opened, whole; the others' lines kept */
static void stamps_save(struct engine *e)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < e->ts->n; i++) {
		struct hostrun *h = &e->hosts[i];
		if (!h->ssh)
			continue;
		const char *const *l;
		size_t n = ssh_host_stamps(h->ssh, &l);
		for (size_t k = 0; k < n; k++)
			buf_printf(&b, "%s\t%s\n", ssh_host_name(h->ssh), l[k]);
	}
	for (const char *l = e->stamp_rec; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (memchr(l, '\t', n) && !host_in_run(e, l, n))
			buf_printf(&b, "%.*s\n", (int)n, l);
		l = nl ? nl + 1 : l + n;
	}
	rec_save(e, ".stamps", e->stamp_rec, &b);
	buf_free(&b);
}

void engine_stat_save(struct engine *e)
{
	if (!e->hosts || !e->ts) { /* (a run that never started) */
		free(e->stat_rec);
		free(e->stamp_rec);
		e->stat_rec = e->stamp_rec = NULL;
		return;
	}
	stamps_save(e);
	free(e->stamp_rec);
	e->stamp_rec = NULL;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < e->ts->n; i++) {
		struct hostrun *h = &e->hosts[i];
		if (!h->ssh)
			continue;
		const char *const *run;
		size_t n = ssh_host_stat_paths(h->ssh, &run);
		struct merge m = {&b, ssh_host_name(h->ssh), run, n, 0};
		for (size_t k = 0; k < n && m.n < PER_HOST; k++, m.n++)
			buf_printf(&b, "%s\t%s\n", m.host, run[k]);
		if (e->stat_rec)
			each_line(e->stat_rec, m.host, keep_old, &m);
	}
	for (const char *l = e->stat_rec; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		const char *tab = memchr(l, '\t', n);
		/* another host's line, if a seed could hold it */
		if (tab && tab > l && tab[1] == '/' && !memchr(tab, '|', (size_t)(l + n - tab)) &&
		    l + n - tab < 1024 && !host_in_run(e, l, n))
			buf_printf(&b, "%.*s\n", (int)n, l);
		l = nl ? nl + 1 : l + n;
	}
	rec_save(e, ".stat-paths", e->stat_rec, &b);
	buf_free(&b);
	free(e->stat_rec);
	e->stat_rec = NULL;
}
