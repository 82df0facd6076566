/* lock.c - one run per cluster (see lock.h). */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"

struct cluster_lock {
	int fd;
	char *dir; /* realpath */
	struct cluster_lock *next;
};

/* The locks this process holds (a day-2 command may hold one cluster's
 * while it reads another's). */
static struct cluster_lock *held;
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static char *real_dir(const char *dir)
{
	char *r = realpath(dir, NULL);
	return r ? r : xstrdup(dir);
}

/* What the holder wrote in the file: "what, since date" (or "" if unread). */
static void holder_note(int fd, struct buf *out)
{
	char line[512];
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	if (n <= 0)
		return;
	line[n] = 0;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	char *what = strchr(line, '\t');
	char *since = what ? strchr(what + 1, '\t') : NULL;
	if (!what || !since)
		return;
	*since++ = 0;
	for (char *p = what + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	buf_printf(out, " (ezk %s, since %s)", what + 1, since);
}

int cluster_lock(const char *dir, const char *what, struct cluster_lock **out, char **held_by)
{
	*out = NULL;
	if (held_by)
		*held_by = NULL;
	char *path = path_join(dir, ".ezk.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int rc = ezk_fail("%s: cannot make the cluster's lock: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e != EACCES && e != EAGAIN) {
			close(fd);
			int rc = ezk_fail("%s: cannot lock: %s", path, strerror(e));
			free(path);
			return rc;
		}
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		long pid = 0;
		if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
			pid = (long)q.l_pid;
		struct buf who = BUF_INIT;
		if (pid > 0)
			buf_printf(&who, "pid %ld", pid);
		else
			buf_puts(&who, "another process");
		holder_note(fd, &who);
		close(fd);
		ezk_fail("%s: another ezk is working on this cluster: %s; one run at a time "
			 "(this one changed nothing)",
			 dir, who.s);
		if (held_by)
			*held_by = buf_detach(&who);
		else
			buf_free(&who);
		free(path);
		return 1;
	}
	free(path);
	fchmod(fd, 0600);
	char stamp[32] = "?";
	time_t t = time(NULL);
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
	struct buf line = BUF_INIT;
	buf_printf(&line, "%ld\t%s\t%s\n", (long)getpid(), what ? what : "", stamp);
	if (ftruncate(fd, 0) == 0 && pwrite(fd, line.s, line.len, 0) < 0) {
		/* the note is for messages only */
	}
	buf_free(&line);
	struct cluster_lock *l = xcalloc(1, sizeof *l);
	l->fd = fd;
	l->dir = real_dir(dir);
	pthread_mutex_lock(&held_mu);
	l->next = held;
	held = l;
	pthread_mutex_unlock(&held_mu);
	*out = l;
	return 0;
}

void cluster_unlock(struct cluster_lock *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&held_mu);
	for (struct cluster_lock **p = &held; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	pthread_mutex_unlock(&held_mu);
	/* the note goes first: a reader that still sees the file locked reads
	 * it before we drop the lock */
	if (ftruncate(l->fd, 0) < 0) {
		/* nothing to do: closing releases the lock all the same */
	}
	close(l->fd);
	free(l->dir);
	free(l);
}

int cluster_lock_held(const char *dir)
{
	char *r = real_dir(dir);
	int yes = 0;
	pthread_mutex_lock(&held_mu);
	for (struct cluster_lock *l = held; l && !yes; l = l->next)
		yes = !strcmp(l->dir, r);
	pthread_mutex_unlock(&held_mu);
	free(r);
	return yes;
}
