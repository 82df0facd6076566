/* fsutil.c - whole-file reads, atomic writes, trees (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

int file_read(const char *path, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	struct buf b = BUF_INIT;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			buf_free(&b);
			return ezk_fail("%s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		buf_put(&b, tmp, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	*data = buf_detach(&b);
	return 0;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
			     : "not a regular file";
}

int file_read_input(const char *path, size_t max, char **data, size_t *len)
{
	*data = NULL;
	if (len)
		*len = 0;
	/* O_NONBLOCK: opening a FIFO does not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return ezk_fail("%s: cannot read: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ezk_fail("%s: cannot read: %s, not a regular file", path,
				file_kind(st.st_mode));
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return ezk_fail("%s: cannot read: %lld bytes, more than ezk reads (%zu MiB)", path,
				(long long)st.st_size, max >> 20);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	struct buf b = BUF_INIT;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			buf_free(&b);
			return ezk_fail("%s: cannot read: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) { /* it grew while we read */
			close(fd);
			buf_free(&b);
			return ezk_fail("%s: cannot read: more than ezk reads (%zu MiB)", path,
					max >> 20);
		}
		buf_put(&b, tmp, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	*data = buf_detach(&b);
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	struct buf out = BUF_INIT;
	buf_put(&out, a, la);
	buf_putc(&out, '/');
	buf_puts(&out, b);
	return buf_detach(&out);
}

int dir_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	fsync(fd);
	close(fd);
	return 0;
}

/* Renaming over a device, fifo, socket or directory would replace it
 * (once, /dev/null became a regular file that way): refuse instead. */
int file_replaceable(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return ezk_fail("%s: not a regular file; refusing to replace it", path);
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	if (file_replaceable(path) < 0)
		return -1;
	char *dcopy = xstrdup(path);
	char *dir = dirname(dcopy);
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.ezk-tmp-%ld", path, (long)getpid());
	int fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		ezk_fail("%s: %s", tmp.s, strerror(errno));
		goto fail;
	}
	fchmod(fd, mode); /* not subject to umask */
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ezk_fail("%s: %s", tmp.s, strerror(errno));
			close(fd);
			unlink(tmp.s);
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		ezk_fail("%s: %s", tmp.s, strerror(errno));
		unlink(tmp.s);
		goto fail;
	}
	if (rename(tmp.s, path) < 0) {
		ezk_fail("%s: %s", path, strerror(errno));
		unlink(tmp.s);
		goto fail;
	}
	dir_sync(dir);
	free(dcopy);
	buf_free(&tmp);
	return 0;
fail:
	free(dcopy);
	buf_free(&tmp);
	return -1;
}

int file_copy(const char *src, const char *dst, mode_t mode)
{
	char *data;
	size_t len;
	struct stat st;
	if (stat(src, &st) < 0)
		return ezk_fail("%s: %s", src, strerror(errno));
	if (file_read(src, &data, &len) < 0)
		return -1;
	int rc = file_write_atomic(dst, data, len, mode ? mode : (st.st_mode & 07777));
	free(data);
	return rc;
}

int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ezk_fail("%s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST) {
		ezk_fail("%s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ezk_fail("%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return ezk_fail("%s: %s", path, strerror(errno));
		struct dirent *e;
		int rc = 0;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *sub = path_join(path, e->d_name);
			if (remove_tree(sub) < 0)
				rc = -1;
			free(sub);
		}
		closedir(d);
		if (rc < 0)
			return -1;
		if (rmdir(path) < 0)
			return ezk_fail("%s: %s", path, strerror(errno));
		return 0;
	}
	if (unlink(path) < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	return 0;
}

char **split_list(const char *s, char sep, size_t *n)
{
	char **v = NULL;
	*n = 0;
	if (!s)
		return NULL;
	char *copy = xstrdup(s), *save = NULL, seps[2] = {sep, 0};
	for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
		v = xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = xstrdup(t);
	}
	free(copy);
	return v;
}

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int sock_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
