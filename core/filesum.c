/*
 * filesum.c - the sha256 of the deploy node's files, computed once per run
 * whatever the number of hosts that upload them, and remembered between
 * runs. engine-int.h.
 *
 * A file is known by its path, device, inode, size and mtime (nanoseconds):
 * the same five on a later run mean the same bytes, as make and rsync
 * assume; anything that rewrites the file changes its mtime (and a new
 * file, its inode). The sums of a cluster's runs are kept in
 * clusters/<c>/logs/.sha256-cache (logs/ is never committed), a line per
 * file, written atomically at the end of a run that hashed something. A
 * line that does not parse, or whose file changed, is hashed again: the
 * cache can make a run faster, never wrong.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"

static char *cache_path(const struct engine *e)
{
	if (!e->c || !e->c->dir)
		return NULL;
	char *logs = path_join(e->c->dir, "logs");
	char *p = path_join(logs, ".sha256-cache");
	free(logs);
	return p;
}

static struct file_sum *sum_add(struct engine *e)
{
	e->sums = xrealloc(e->sums, (e->nsums + 1) * sizeof *e->sums);
	struct file_sum *s = &e->sums[e->nsums++];
	memset(s, 0, sizeof *s);
	return s;
}

/* Lines "SHA256 SIZE MTIME_NS DEV INO PATH". Under e->lock. */
static void cache_load(struct engine *e)
{
	e->sums_loaded = true;
	char *p = cache_path(e), *data = NULL;
	size_t len = 0;
	if (!p || file_read(p, &data, &len) < 0) {
		ezk_err_clear();
		free(p);
		return;
	}
	free(p);
	for (char *l = data, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		char sha[65];
		long long size, mt;
		uintmax_t dev, ino;
		int n = 0;
		if (sscanf(l, "%64[0-9a-f] %lld %lld %ju %ju %n", sha, &size, &mt, &dev, &ino,
			   &n) != 5 ||
		    strlen(sha) != 64 || n == 0 || l[n] != '/')
			continue;
		struct file_sum *s = sum_add(e);
		s->path = xstrdup(l + n);
		s->size = size;
		s->mtime_ns = mt;
		s->dev = dev;
		s->ino = ino;
		memcpy(s->sha256, sha, sizeof s->sha256);
	}
	free(data);
}

static struct file_sum *sum_find(struct engine *e, const char *path, const struct stat *st)
{
	long long mt = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	for (size_t i = 0; i < e->nsums; i++) {
		struct file_sum *s = &e->sums[i];
		if (s->size == (long long)st->st_size && s->mtime_ns == mt &&
		    s->ino == (uintmax_t)st->st_ino && s->dev == (uintmax_t)st->st_dev &&
		    !strcmp(s->path, path))
			return s;
	}
	return NULL;
}

/* f's size and sum from what this run or an earlier one hashed, if st
 * says it is the same file; marks it used. */
static bool sum_lookup(struct engine *e, struct ssh_file *f, const struct stat *st)
{
	pthread_mutex_lock(&e->lock);
	if (!e->sums_loaded)
		cache_load(e);
	struct file_sum *s = sum_find(e, f->path, st);
	if (s) {
		f->len = (size_t)s->size;
		memcpy(f->sha256, s->sha256, sizeof f->sha256);
		s->used = true;
	}
	pthread_mutex_unlock(&e->lock);
	return s != NULL;
}

int engine_file_prepare(struct engine *e, struct ssh_file *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0)
		return ezk_fail("%s: %s", f->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ssh_file_prepare(f); /* says what is wrong */
	/* A known file is looked up without waiting for any hashing; a new one
	 * is hashed by one host while the others wait for it (on 2 cores, three
	 * hosts hashing the same binary at once take three times as long), and
	 * looked up again once they have the lock. */
	if (sum_lookup(e, f, &st))
		return 0;
	pthread_mutex_lock(&e->hash_lock);
	if (sum_lookup(e, f, &st)) {
		pthread_mutex_unlock(&e->hash_lock);
		return 0;
	}
	int rc = ssh_file_prepare(f);
	struct stat st2;
	/* (a file that changed while it was hashed is not remembered) */
	if (rc == 0 && stat(f->path, &st2) == 0 && st2.st_size == (off_t)f->len &&
	    st2.st_mtim.tv_sec == st.st_mtim.tv_sec && st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
	    st2.st_ino == st.st_ino) {
		pthread_mutex_lock(&e->lock);
		struct file_sum *s = sum_add(e);
		s->path = xstrdup(f->path);
		s->size = (long long)f->len;
		s->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		s->dev = (uintmax_t)st.st_dev;
		s->ino = (uintmax_t)st.st_ino;
		s->used = true;
		memcpy(s->sha256, f->sha256, sizeof s->sha256);
		e->sums_dirty = true;
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&e->hash_lock);
	return rc;
}

void engine_sums_save(struct engine *e)
{
	if (!e->sums_dirty)
		return;
	char *p = cache_path(e);
	if (!p)
		return;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < e->nsums; i++) {
		struct file_sum *s = &e->sums[i];
		struct stat st;
		/* what this run used, and what it did not use but still is */
		if (strchr(s->path, '\n') ||
		    (!s->used && (stat(s->path, &st) < 0 || sum_find(e, s->path, &st) != s)))
			continue;
		buf_printf(&b, "%s %lld %lld %ju %ju %s\n", s->sha256, s->size, s->mtime_ns, s->dev,
			   s->ino, s->path);
	}
	char *logs = path_join(e->c->dir, "logs");
	if (mkdir_p(logs, 0700) < 0 || file_write_atomic(p, b.s ? b.s : "", b.len, 0600) < 0)
		ezk_err_clear(); /* only a cache: the next run hashes again */
	free(logs);
	buf_free(&b);
	free(p);
	e->sums_dirty = false;
}
