/*
 * filesum.c - the sha256 of the deploy node's files, computed once per run
 * whatever the number of hosts that upload them. engine-int.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine-int.h"
#include "err.h"

int engine_file_prepare(struct engine *e, struct ssh_file *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0)
		return ezk_fail("%s: %s", f->path, strerror(errno));
	long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nsums; i++) {
		struct file_sum *s = &e->sums[i];
		if (!strcmp(s->path, f->path) && s->size == (long long)st.st_size &&
		    s->mtime_ns == mt) {
			f->len = (size_t)s->size;
			memcpy(f->sha256, s->sha256, sizeof f->sha256);
			pthread_mutex_unlock(&e->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&e->lock);
	/* Hash outside the lock; two hosts may both hash a file the first time. */
	if (ssh_file_prepare(f) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	e->sums = xrealloc(e->sums, (e->nsums + 1) * sizeof *e->sums);
	struct file_sum *s = &e->sums[e->nsums++];
	s->path = xstrdup(f->path);
	s->size = (long long)f->len;
	s->mtime_ns = mt;
	memcpy(s->sha256, f->sha256, sizeof s->sha256);
	pthread_mutex_unlock(&e->lock);
	return 0;
}
