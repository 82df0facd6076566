/*
 * sftp.c - small uploads written through the host's SFTP server: no
 * process on the host per file (ssh.h, "Transfers").
 *
 * The shell's way to write a file takes three processes on the host (dd
 * writes and fsyncs, touch stamps, mv renames), and on a slow machine a
 * process costs more than everything else a task does. OpenSSH's
 * sftp-server, started once per session on a channel of its own, does the
 * same work in requests: open the temporary file, write, fsync
 * (fsync@openssh.com), set its mode, close, rename it over the destination
 * (posix-rename@openssh.com: atomic, like mv); the mtime it sets (whole
 * seconds) is the stamp the next probe knows the file by (transfer.c,
 * ssh_host_stamp_seed). Only SFTP version 3 as
 * OpenSSH speaks it, and only these requests, so this is a small client of
 * its own (libssh 0.10's renames refuse an existing destination, and its
 * writes wait for each reply).
 *
 * Round trips: open; then write, fsync, setstat and close sent together,
 * their replies read together; then the rename, only when all of them
 * succeeded (a failed write must never reach the destination); on a
 * failure the temporary file is removed.
 *
 * The same server does the modules' stats, reads, directories, links and
 * renames (ssh_fs, below): lstat, open, read, close, readlink, mkdir,
 * setstat, symlink (OpenSSH's order: target, then link) and posix-rename.
 *
 * No SFTP to be had (no subsystem, a login shell that prints, no such
 * extensions) or its channel failing: sftp_put and sftp_fs return 1 and
 * the caller uses the shell; the session never depends on it. EZK_SFTP=0
 * turns it off.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ssh-int.h"

enum {
	FXP_INIT = 1,
	FXP_VERSION = 2,
	FXP_OPEN = 3,
	FXP_CLOSE = 4,
	FXP_WRITE = 6,
	FXP_FSETSTAT = 10,
	FXP_REMOVE = 13,
	FXP_STATUS = 101,
	FXP_HANDLE = 102,
	FXP_EXTENDED = 200
};
enum { FXF_READ = 0x01, FXF_WRITE = 0x02, FXF_CREAT = 0x08, FXF_EXCL = 0x20 };
enum { ATTR_PERMISSIONS = 0x04, ATTR_ACMODTIME = 0x08 };

#define INIT_MS 10000	 /* the server's VERSION: else no SFTP here */
#define REPLY_MS 300000	 /* one reply (an fsync may be slow) */
#define CHUNK 32768	 /* bytes per write request */
#define MAX_PACKET 65536 /* replies here are small */

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char c[4] = {v >> 24, v >> 16, v >> 8, v};
	buf_put(b, c, 4);
}
static void put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}
static void put_mem(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}
static void put_str(struct buf *b, const char *s)
{
	put_mem(b, s, strlen(s));
}
static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Start a request of type t at the end of b (its length patched by
 * req_end(b, where it started)); returns its id. */
static uint32_t req_begin(struct ssh_host *h, struct buf *b, int t)
{
	put_u32(b, 0);
	buf_putc(b, (char)t);
	uint32_t id = ++h->sftp_id;
	put_u32(b, id);
	return id;
}
static void req_end(struct buf *b, size_t at)
{
	uint32_t n = (uint32_t)(b->len - at - 4);
	unsigned char c[4] = {n >> 24, n >> 16, n >> 8, n};
	memcpy(b->s + at, c, 4);
}

static int send_all(struct ssh_host *h, const struct buf *b)
{
	size_t off = 0;
	while (off < b->len) {
		int n = ssh_channel_write(h->sftp, b->s + off, (uint32_t)(b->len - off));
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int read_full(struct ssh_host *h, void *p, size_t n, int ms)
{
	char *c = p;
	while (n) {
		int r = ssh_channel_read_timeout(h->sftp, c, (uint32_t)n, 0, ms);
		if (r <= 0)
			return -1; /* error, end of file or no answer in time */
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One reply into b (type byte first); its type, or -1 (channel failed). */
static int reply(struct ssh_host *h, struct buf *b, int ms)
{
	unsigned char len[4];
	if (read_full(h, len, 4, ms) < 0)
		return -1;
	uint32_t n = get_u32(len);
	if (n < 5 || n > MAX_PACKET)
		return -1;
	buf_reset(b);
	buf_grow(b, n);
	if (read_full(h, b->s, n, ms) < 0)
		return -1;
	b->len = n;
	return (unsigned char)b->s[0];
}

/* A STATUS reply's code (0 ok), its message in msg; -1 not a status for
 * id. */
static long status_of(const struct buf *b, uint32_t id, struct buf *msg)
{
	const unsigned char *p = (const unsigned char *)b->s;
	if (b->len < 9 || p[0] != FXP_STATUS || get_u32(p + 1) != id)
		return -1;
	uint32_t code = get_u32(p + 5);
	if (msg && code != 0) {
		buf_reset(msg);
		if (b->len >= 13) {
			uint32_t n = get_u32(p + 9);
			if (n <= b->len - 13)
				buf_put(msg, p + 13, n);
		}
		if (!msg->len)
			buf_printf(msg, "SFTP status %u", (unsigned)code);
	}
	return code;
}

void sftp_close(struct ssh_host *h)
{
	if (h->sftp) {
		ssh_channel_close(h->sftp);
		ssh_channel_free(h->sftp);
		h->sftp = NULL;
	}
}

/* The channel failed: no more SFTP this session; 1 (use the shell). */
static int give_up(struct ssh_host *h)
{
	sftp_close(h);
	h->sftp_state = SFTP_NONE;
	return 1;
}

/* Whether the extension name (version "1") is in a VERSION reply. */
static bool has_ext(const struct buf *b, const char *name)
{
	const unsigned char *p = (const unsigned char *)b->s + 5,
			    *e = (const unsigned char *)b->s + b->len;
	size_t nl = strlen(name);
	while (e - p >= 4) {
		uint32_t n = get_u32(p);
		if ((size_t)(e - p - 4) < n)
			return false;
		const unsigned char *k = p + 4;
		p = k + n;
		if (e - p < 4)
			return false;
		uint32_t m = get_u32(p);
		if ((size_t)(e - p - 4) < m)
			return false;
		const unsigned char *v = p + 4;
		p = v + m;
		if (n == nl && memcmp(k, name, n) == 0)
			return m == 1 && v[0] == '1';
	}
	return false;
}

bool sftp_wanted(void)
{
	const char *env = getenv("EZK_SFTP");
	return !env || strcmp(env, "0") != 0;
}

/* The server, started on first use: 0 up, 1 none to be had. */
static int sftp_start(struct ssh_host *h)
{
	if (h->sftp_state == SFTP_UP && h->sftp)
		return 0;
	if (h->sftp_state == SFTP_NONE)
		return 1;
	if (!sftp_wanted())
		return give_up(h);
	h->sftp = ssh_channel_new(h->s);
	if (!h->sftp || open_channel(h, h->sftp) != SSH_OK ||
	    ssh_channel_request_subsystem(h->sftp, "sftp") != SSH_OK)
		return give_up(h);
	struct buf b = BUF_INIT;
	put_u32(&b, 5);
	buf_putc(&b, FXP_INIT);
	put_u32(&b, 3);
	int ok = send_all(h, &b) == 0 && reply(h, &b, INIT_MS) == FXP_VERSION && b.len >= 5 &&
		 get_u32((const unsigned char *)b.s + 1) == 3 &&
		 has_ext(&b, "posix-rename@openssh.com") && has_ext(&b, "fsync@openssh.com");
	buf_free(&b);
	if (!ok)
		return give_up(h);
	h->sftp_state = SFTP_UP;
	return 0;
}

/* Remove path (a temporary file), waiting for the answer. */
static void remove_tmp(struct ssh_host *h, const char *path, struct buf *b)
{
	buf_reset(b);
	size_t at = b->len;
	uint32_t id = req_begin(h, b, FXP_REMOVE);
	put_str(b, path);
	req_end(b, at);
	if (send_all(h, b) < 0 || reply(h, b, REPLY_MS) < 0 || status_of(b, id, NULL) < 0)
		give_up(h);
}

int sftp_put(struct ssh_host *h, const char *tmp, const char *dest, const void *data, size_t len,
	     unsigned mode, long long mtime, struct buf *err)
{
	if (!h->s || h->local)
		return 1;
	if (sftp_start(h) != 0)
		return 1;
	struct buf b = BUF_INIT, msg = BUF_INIT;
	int rc = 1;

	/* open: the temporary file, new, readable by its owner alone until
	 * its mode is set */
	size_t at = 0;
	uint32_t id = req_begin(h, &b, FXP_OPEN);
	put_str(&b, tmp);
	put_u32(&b, FXF_WRITE | FXF_CREAT | FXF_EXCL);
	put_u32(&b, ATTR_PERMISSIONS);
	put_u32(&b, 0600);
	req_end(&b, at);
	if (send_all(h, &b) < 0)
		goto channel;
	int t = reply(h, &b, REPLY_MS);
	if (t < 0)
		goto channel;
	if (t != FXP_HANDLE) {
		if (status_of(&b, id, &msg) <= 0)
			goto channel;
		rc = 2; /* nothing was made */
		goto out;
	}
	if (b.len < 9 || get_u32((const unsigned char *)b.s + 5) > b.len - 9 ||
	    get_u32((const unsigned char *)b.s + 1) != id)
		goto channel;
	size_t hlen = get_u32((const unsigned char *)b.s + 5);
	char *handle = xmalloc(hlen + 1);
	memcpy(handle, b.s + 9, hlen);

	/* write, fsync, mode, close: sent together */
	uint32_t first = h->sftp_id + 1;
	buf_reset(&b);
	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		at = b.len;
		req_begin(h, &b, FXP_WRITE);
		put_mem(&b, handle, hlen);
		put_u64(&b, off);
		put_mem(&b, (const char *)data + off, n);
		req_end(&b, at);
	}
	at = b.len;
	req_begin(h, &b, FXP_EXTENDED);
	put_str(&b, "fsync@openssh.com");
	put_mem(&b, handle, hlen);
	req_end(&b, at);
	at = b.len;
	req_begin(h, &b, FXP_FSETSTAT);
	put_mem(&b, handle, hlen);
	put_u32(&b, ATTR_PERMISSIONS | ATTR_ACMODTIME);
	put_u32(&b, mode & 07777);
	put_u32(&b, (uint32_t)mtime); /* atime */
	put_u32(&b, (uint32_t)mtime);
	req_end(&b, at);
	at = b.len;
	uint32_t last = req_begin(h, &b, FXP_CLOSE);
	put_mem(&b, handle, hlen);
	req_end(&b, at);
	free(handle);
	if (send_all(h, &b) < 0)
		goto channel;
	bool failed = false;
	for (uint32_t i = first; i <= last; i++) {
		if (reply(h, &b, REPLY_MS) < 0)
			goto channel;
		long st = status_of(&b, i, failed ? NULL : &msg);
		if (st < 0)
			goto channel;
		failed = failed || st != 0;
	}
	if (failed) {
		remove_tmp(h, tmp, &b);
		rc = 2;
		goto out;
	}

	/* the rename, atomic over what is there */
	buf_reset(&b);
	at = 0;
	id = req_begin(h, &b, FXP_EXTENDED);
	put_str(&b, "posix-rename@openssh.com");
	put_str(&b, tmp);
	put_str(&b, dest);
	req_end(&b, at);
	if (send_all(h, &b) < 0 || reply(h, &b, REPLY_MS) < 0)
		goto channel;
	long st = status_of(&b, id, &msg);
	if (st < 0)
		goto channel;
	if (st != 0) {
		remove_tmp(h, tmp, &b);
		rc = 2;
		goto out;
	}
	rc = 0;
	goto out;
channel:
	/* (the shells' stat caches: below) */
	/* what the channel left (a temporary file at most) the next probe
	 * removes; the shell writes the file instead */
	rc = give_up(h);
out:
	/* what the resident shells' stat caches hold of dest may be old */
	h->sh[0].sc_dirty = h->sh[1].sc_dirty = true;
	if (rc == 2 && err)
		buf_put(err, msg.s, msg.len);
	buf_free(&b);
	buf_free(&msg);
	return rc;
}

int sftp_sync(struct ssh_host *h, char *const *dirs, size_t n)
{
	if (!h->s || h->local || h->sftp_state != SFTP_UP || !h->sftp)
		return 1;
	/* open them all (a directory opened for reading), then fsync and
	 * close each that opened; what fails is passed over, as `sync`'s
	 * errors are */
	struct buf b = BUF_INIT;
	uint32_t first = h->sftp_id + 1;
	for (size_t i = 0; i < n; i++) {
		size_t at = b.len;
		req_begin(h, &b, FXP_OPEN);
		put_str(&b, dirs[i]);
		put_u32(&b, FXF_READ);
		put_u32(&b, 0);
		req_end(&b, at);
	}
	struct buf reqs = BUF_INIT;
	size_t nreq = 0;
	if (send_all(h, &b) < 0)
		goto channel;
	for (size_t i = 0; i < n; i++) {
		if (reply(h, &b, REPLY_MS) < 0)
			goto channel;
		const unsigned char *p = (const unsigned char *)b.s;
		if (b.len < 5 || get_u32(p + 1) != first + i)
			goto channel;
		if (p[0] != FXP_HANDLE)
			continue;
		if (b.len < 9 || get_u32(p + 5) > b.len - 9)
			goto channel;
		size_t at = reqs.len;
		req_begin(h, &reqs, FXP_EXTENDED);
		put_str(&reqs, "fsync@openssh.com");
		put_mem(&reqs, p + 9, get_u32(p + 5));
		req_end(&reqs, at);
		at = reqs.len;
		req_begin(h, &reqs, FXP_CLOSE);
		put_mem(&reqs, p + 9, get_u32(p + 5));
		req_end(&reqs, at);
		nreq += 2;
	}
	if (nreq && send_all(h, &reqs) < 0)
		goto channel;
	for (size_t i = 0; i < nreq; i++)
		if (reply(h, &b, REPLY_MS) != FXP_STATUS)
			goto channel;
	buf_free(&b);
	buf_free(&reqs);
	return 0;
channel:
	buf_free(&b);
	buf_free(&reqs);
	return give_up(h);
}

/* ---- ssh_fs: stats, reads, mkdir, chmod, links and renames ---- */

enum {
	FXP_READ = 5,
	FXP_LSTAT = 7,
	FXP_SETSTAT = 9,
	FXP_MKDIR = 14,
	FXP_READLINK = 19,
	FXP_SYMLINK = 20,
	FXP_DATA = 103,
	FXP_NAME = 104,
	FXP_ATTRS = 105
};
enum { ATTR_SIZE = 0x01, ATTR_UIDGID = 0x02, ATTR_EXTENDED = 0x80000000u };
#define READ_MAX (1u << 20) /* a read bigger than this: the shell's */

static bool is_write(enum ssh_fs_op op)
{
	return op == SSH_FS_MKDIR || op == SSH_FS_CHMOD || op == SSH_FS_SYMLINK ||
	       op == SSH_FS_RENAME;
}

/* An ATTRS reply (b) for id into r; false: not one. */
static bool attrs_of(const struct buf *b, uint32_t id, struct ssh_fs_res *r)
{
	const unsigned char *p = (const unsigned char *)b->s, *e = p + b->len;
	if (b->len < 9 || p[0] != FXP_ATTRS || get_u32(p + 1) != id)
		return false;
	uint32_t fl = get_u32(p + 5);
	p += 9;
#define NEED(n)                                                                                    \
	if (e - p < (n))                                                                           \
	return false
	if (fl & ATTR_SIZE) {
		NEED(8);
		r->size = (unsigned long long)get_u32(p) << 32 | get_u32(p + 4);
		p += 8;
	}
	if (fl & ATTR_UIDGID) {
		NEED(8);
		r->uid = get_u32(p);
		r->gid = get_u32(p + 4);
		p += 8;
	}
	if (!(fl & ATTR_PERMISSIONS))
		return false; /* no kind to tell */
	NEED(4);
	uint32_t m = get_u32(p);
	p += 4;
	if (fl & ATTR_ACMODTIME) {
		NEED(8);
		r->mtime = get_u32(p + 4);
	}
#undef NEED
	r->mode = m & 07777;
	switch (m & 0170000) {
	case 0100000: r->kind = 'f'; break;
	case 0040000: r->kind = 'd'; break;
	case 0120000: r->kind = 'l'; break;
	default: r->kind = 'o'; break;
	}
	return true;
}

/* A reply for id that is a status: its code into r (0 or the server's),
 * its message; false: not a status for id. */
static bool status_into(const struct buf *b, uint32_t id, struct ssh_fs_res *r)
{
	struct buf msg = BUF_INIT;
	long st = status_of(b, id, &msg);
	if (st < 0) {
		buf_free(&msg);
		return false;
	}
	r->status = (int)st;
	if (st != 0 && !r->msg)
		r->msg = buf_detach(&msg);
	buf_free(&msg);
	return true;
}

/* A NAME reply's first name (READLINK), copied; NULL: not one. */
static char *name_of(const struct buf *b, uint32_t id)
{
	const unsigned char *p = (const unsigned char *)b->s;
	if (b->len < 13 || p[0] != FXP_NAME || get_u32(p + 1) != id || get_u32(p + 5) < 1)
		return NULL;
	uint32_t n = get_u32(p + 9);
	if (n > b->len - 13)
		return NULL;
	char *s = xmalloc((size_t)n + 1);
	memcpy(s, p + 13, n);
	s[n] = 0;
	return s;
}

static void put_path_req(struct ssh_host *h, struct buf *b, int type, const char *path)
{
	size_t at = b->len;
	req_begin(h, b, type);
	put_str(b, path);
	req_end(b, at);
}

/* The changes, one request each in order, the first failure ending them. */
static int fs_writes(struct ssh_host *h, const struct ssh_fs_req *q, size_t n,
		     struct ssh_fs_res *res)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	for (; i < n; i++) {
		buf_reset(&b);
		size_t at = 0;
		uint32_t id;
		switch (q[i].op) {
		case SSH_FS_MKDIR:
		case SSH_FS_CHMOD:
			id = req_begin(h, &b, q[i].op == SSH_FS_MKDIR ? FXP_MKDIR : FXP_SETSTAT);
			put_str(&b, q[i].path);
			put_u32(&b, ATTR_PERMISSIONS);
			put_u32(&b, q[i].mode & 07777);
			break;
		case SSH_FS_SYMLINK: /* OpenSSH's order: the target, then the link */
			id = req_begin(h, &b, FXP_SYMLINK);
			put_str(&b, q[i].to);
			put_str(&b, q[i].path);
			break;
		case SSH_FS_RENAME:
			id = req_begin(h, &b, FXP_EXTENDED);
			put_str(&b, "posix-rename@openssh.com");
			put_str(&b, q[i].path);
			put_str(&b, q[i].to);
			break;
		default:
			id = req_begin(h, &b, FXP_LSTAT);
			put_str(&b, q[i].path);
			break;
		}
		req_end(&b, at);
		if (send_all(h, &b) < 0 || reply(h, &b, REPLY_MS) < 0)
			goto channel;
		if (!(q[i].op == SSH_FS_LSTAT && attrs_of(&b, id, &res[i])) &&
		    !status_into(&b, id, &res[i]))
			goto channel;
		if (res[i].status != 0 && is_write(q[i].op))
			break;
		h->n_cmds++;
	}
	for (i++; i < n; i++)
		res[i].status = -1; /* not done: an earlier change failed */
	buf_free(&b);
	return 0;
channel:
	buf_free(&b);
	return give_up(h);
}

/* Stats, links and reads, in rounds: every lstat; then the open of each
 * regular file to read (a link's readlink); then its reads; then the
 * closes. */
static int fs_reads(struct ssh_host *h, const struct ssh_fs_req *q, size_t n,
		    struct ssh_fs_res *res)
{
	struct buf b = BUF_INIT, out = BUF_INIT;
	char **handle = xcalloc(n, sizeof *handle);
	size_t *hlen = xcalloc(n, sizeof *hlen);
	uint32_t *ids = xcalloc(n, sizeof *ids);
	bool *done = xcalloc(n, sizeof *done);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		ids[i] = h->sftp_id + 1;
		put_path_req(h, &out, FXP_LSTAT, q[i].path);
	}
	if (send_all(h, &out) < 0)
		goto channel;
	for (size_t i = 0; i < n; i++)
		if (reply(h, &b, REPLY_MS) < 0 ||
		    (!attrs_of(&b, ids[i], &res[i]) && !status_into(&b, ids[i], &res[i])))
			goto channel;
	h->n_cmds++;

	/* a regular file to read: open it; a link: where it points */
	buf_reset(&out);
	size_t nx = 0;
	for (size_t i = 0; i < n; i++) {
		ids[i] = 0;
		if (res[i].status != 0 || q[i].op == SSH_FS_LSTAT)
			continue;
		if (res[i].kind == 'l') {
			ids[i] = h->sftp_id + 1;
			put_path_req(h, &out, FXP_READLINK, q[i].path);
		} else if (res[i].kind == 'f' && q[i].op == SSH_FS_READ) {
			size_t at = out.len;
			ids[i] = req_begin(h, &out, FXP_OPEN);
			put_str(&out, q[i].path);
			put_u32(&out, FXF_READ);
			put_u32(&out, 0);
			req_end(&out, at);
		} else {
			continue;
		}
		nx++;
	}
	if (nx && send_all(h, &out) < 0)
		goto channel;
	for (size_t i = 0; i < n && nx; i++) {
		if (!ids[i])
			continue;
		if (reply(h, &b, REPLY_MS) < 0)
			goto channel;
		const unsigned char *p = (const unsigned char *)b.s;
		if (res[i].kind == 'l') {
			res[i].target = name_of(&b, ids[i]);
			if (!res[i].target && !status_into(&b, ids[i], &res[i]))
				goto channel;
		} else if (b.len >= 9 && p[0] == FXP_HANDLE && get_u32(p + 1) == ids[i] &&
			   get_u32(p + 5) <= b.len - 9) {
			hlen[i] = get_u32(p + 5);
			handle[i] = xmalloc(hlen[i] + 1);
			memcpy(handle[i], p + 9, hlen[i]);
		} else if (!status_into(&b, ids[i], &res[i])) {
			goto channel;
		}
	}
	if (nx)
		h->n_cmds++;

	/* the reads: a round for every file not at its end yet (a reply
	 * shorter than asked is the end: /proc/sys answers only a read from
	 * the start, whole) */
	struct buf *data = xcalloc(n, sizeof *data);
	for (;;) {
		buf_reset(&out);
		size_t nr = 0;
		for (size_t i = 0; i < n; i++) {
			if (!handle[i] || done[i])
				continue;
			if (data[i].len >= READ_MAX) {
				rc = 1; /* too big: the shell's */
				done[i] = true;
				continue;
			}
			size_t at = out.len;
			ids[i] = req_begin(h, &out, FXP_READ);
			put_mem(&out, handle[i], hlen[i]);
			put_u64(&out, data[i].len);
			put_u32(&out, CHUNK);
			req_end(&out, at);
			nr++;
		}
		if (!nr)
			break;
		if (send_all(h, &out) < 0)
			goto channel_data;
		h->n_cmds++;
		for (size_t i = 0; i < n; i++) {
			if (!handle[i] || done[i])
				continue;
			if (reply(h, &b, REPLY_MS) < 0)
				goto channel_data;
			const unsigned char *p = (const unsigned char *)b.s;
			if (b.len >= 9 && p[0] == FXP_DATA && get_u32(p + 1) == ids[i] &&
			    get_u32(p + 5) <= b.len - 9) {
				uint32_t got = get_u32(p + 5);
				buf_put(&data[i], p + 9, got);
				done[i] = got < CHUNK;
			} else if (status_into(&b, ids[i], &res[i])) {
				if (res[i].status == 1) { /* end of file */
					res[i].status = 0;
					free(res[i].msg);
					res[i].msg = NULL;
				}
				done[i] = true;
			} else {
				goto channel_data;
			}
		}
	}

	/* the closes */
	buf_reset(&out);
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!handle[i])
			continue;
		size_t at = out.len;
		req_begin(h, &out, FXP_CLOSE);
		put_mem(&out, handle[i], hlen[i]);
		req_end(&out, at);
		nc++;
	}
	if (nc && send_all(h, &out) < 0)
		goto channel_data;
	for (size_t i = 0; i < nc; i++)
		if (reply(h, &b, REPLY_MS) != FXP_STATUS)
			goto channel_data;
	for (size_t i = 0; i < n; i++) {
		if (handle[i] && res[i].status == 0) {
			res[i].len = data[i].len;
			res[i].data = data[i].len ? buf_detach(&data[i]) : xstrdup("");
		}
		buf_free(&data[i]);
	}
	free(data);
	goto out;
channel_data:
	for (size_t i = 0; i < n; i++)
		buf_free(&data[i]);
	free(data);
channel:
	rc = give_up(h);
out:
	for (size_t i = 0; i < n; i++)
		free(handle[i]);
	free(handle);
	free(hlen);
	free(ids);
	free(done);
	buf_free(&b);
	buf_free(&out);
	return rc;
}

int sftp_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res)
{
	for (size_t i = 0; i < n; i++)
		res[i] = (struct ssh_fs_res){0};
	if (!h->s || h->local || !n)
		return 1;
	if (sftp_start(h) != 0)
		return 1;
	bool writes = false;
	for (size_t i = 0; i < n; i++)
		writes = writes || is_write(q[i].op);
	int rc = writes ? fs_writes(h, q, n, res) : fs_reads(h, q, n, res);
	if (writes) /* what the resident shells' stat caches hold may be old */
		h->sh[0].sc_dirty = h->sh[1].sc_dirty = true;
	if (rc != 0)
		ssh_fs_res_free(res, n);
	return rc;
}

void ssh_fs_res_free(struct ssh_fs_res *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(res[i].msg);
		free(res[i].data);
		free(res[i].target);
		res[i] = (struct ssh_fs_res){0};
	}
}

int ssh_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res)
{
	for (size_t i = 0; i < n; i++)
		res[i] = (struct ssh_fs_res){0};
	if (h->local || !sftp_wanted())
		return 1;
	if (h->agent_fd < 0)
		return sftp_fs(h, q, n, res);
	int rc = agent_fs(h, q, n, res);
	if (rc == 0) /* (the agent's own is the one used) */
		h->sftp_state = SFTP_UP;
	return rc;
}
