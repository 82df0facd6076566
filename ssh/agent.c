/*
 * agent.c - sessions kept between runs (ssh_conf.persist_s; see ssh.h,
 * "Persist").
 *
 * The client side: ssh_host_connect() asks the cluster's agent for the host
 * (agent_attach) and from then on ssh_exec() sends each command to it
 * (agent_exec). The agent, `ezk __agent DIR NAME IDLE` (ssh_agent_main),
 * holds one ssh_host per host it was asked for, connected by itself with
 * the transport's own code, and runs the commands on it: the client sees
 * the same results, the host the same resident shell, without a new login
 * when a run follows another within IDLE seconds.
 *
 * The socket: DIR/NAME (DIR: the cluster's directory, NAME carrying a hash
 * of what the agent must share with its clients: the uid, ezk's binary,
 * SSH_AUTH_SOCK, HOME, IDLE), mode 0600, reached through /proc/self/fd so
 * that a long DIR does not matter; the agent serves only its own uid
 * (SO_PEERCRED) and the client talks only to one of its uid.
 *
 * Wire: messages of a u32 length (native order: both ends are this
 * machine's), a type byte and fields (u32, u64, and strings as u32 length
 * + bytes, 0xffffffff for NULL). The client sends 'A' (attach: every field
 * of the target and the conf that decides the session, the key files'
 * stamps) and then 'X' (exec), 'P' (an SFTP write, sftp.c), 'S'
 * (directories fsynced through SFTP) and 'F' (file operations through SFTP,
 * ssh_fs) messages; the agent answers 'a', 'o' (stdout chunks for an
 * out_sink) and 'd' (done) for each exec, 'p' for each write or sync, 'f'
 * for each 'F'.
 *
 * A held host is reused only by an attach whose fields are byte for byte
 * the ones it was made with, when no other client holds it and after a `:`
 * ran on it within a few seconds; a host of the same address attached with
 * other fields (key, user, become, ...) is dropped and connected anew. A
 * client that goes away in the middle of a command drops its host (the
 * session is closed, as when a run is killed without the agent).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fsutil.h"
#include "ssh-int.h"

extern char **environ;

/* ---- the wire ---- */

#define NIL 0xffffffffu

static void put_u32(struct buf *b, uint32_t v)
{
	buf_put(b, &v, sizeof v);
}
static void put_u64(struct buf *b, uint64_t v)
{
	buf_put(b, &v, sizeof v);
}
static void put_mem(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}
static void put_str(struct buf *b, const char *s)
{
	if (!s)
		put_u32(b, NIL);
	else
		put_mem(b, s, strlen(s));
}

struct rd {
	const char *p, *end;
	bool bad;
};
/* n bytes into v (zeros and r->bad when the message is short) */
static void get_bytes(struct rd *r, void *v, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p, n);
	r->p += n;
}
static uint32_t get_u32(struct rd *r)
{
	uint32_t v;
	get_bytes(r, &v, sizeof v);
	return v;
}
static uint64_t get_u64(struct rd *r)
{
	uint64_t v;
	get_bytes(r, &v, sizeof v);
	return v;
}
/* a string field, NUL-terminated in a copy (NULL for NIL); *n its length */
static char *get_str(struct rd *r, size_t *n)
{
	uint32_t len = get_u32(r);
	if (n)
		*n = 0;
	if (r->bad || len == NIL)
		return NULL;
	if ((size_t)(r->end - r->p) < len) {
		r->bad = true;
		return NULL;
	}
	char *s = xmalloc((size_t)len + 1); /* (bytes: NULs too) */
	memcpy(s, r->p, len);
	s[len] = 0;
	r->p += len;
	if (n)
		*n = len;
	return s;
}

static int read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}
static int send_msg(int fd, char type, const struct buf *payload)
{
	uint32_t len = (uint32_t)(payload ? payload->len : 0) + 1;
	char hdr[5];
	memcpy(hdr, &len, 4);
	hdr[4] = type;
	if (sock_send_all(fd, hdr, 5) < 0)
		return -1;
	return payload && payload->len ? sock_send_all(fd, payload->s, payload->len) : 0;
}
/* One message into b (its payload); the type, or -1 at EOF or error. */
static int recv_msg(int fd, struct buf *b)
{
	uint32_t len;
	buf_reset(b);
	if (read_full(fd, &len, 4) < 0 || len == 0 || len > (1u << 30))
		return -1;
	char type;
	if (read_full(fd, &type, 1) < 0)
		return -1;
	buf_grow(b, len);
	if (len > 1 && read_full(fd, b->s, len - 1) < 0)
		return -1;
	b->len = len - 1;
	b->s[b->len] = 0;
	return (unsigned char)type;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}

/* "dev:ino:mtime.ns:size" of a file, or "-" (a key replaced at the same
 * path makes another session) */
static void put_stamp(struct buf *b, const char *path)
{
	struct stat st;
	char s[128];
	if (!path || stat(path, &st) < 0)
		snprintf(s, sizeof s, "-");
	else
		snprintf(s, sizeof s, "%lu:%lu:%lld.%09ld:%lld", (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (long long)st.st_size);
	put_str(b, s);
}

/* ---- the client ---- */

static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

/* the socket's name in the cluster's directory */
/* The part of the name that is the process's (the same for every host of a
 * run: made once). */
static uint64_t name_base;
static void name_base_make(void)
{
	uint64_t h = 1469598103934665603ull;
	struct stat st;
	uid_t uid = getuid();
	h = fnv(h, &uid, sizeof uid);
	if (stat("/proc/self/exe", &st) == 0) {
		h = fnv(h, &st.st_dev, sizeof st.st_dev);
		h = fnv(h, &st.st_ino, sizeof st.st_ino);
		h = fnv(h, &st.st_mtim, sizeof st.st_mtim);
	}
	const char *env[] = {getenv("SSH_AUTH_SOCK"), getenv("HOME")};
	for (size_t i = 0; i < 2; i++)
		h = fnv(h, env[i] ? env[i] : "-", env[i] ? strlen(env[i]) + 1 : 1);
	name_base = h;
}

static void agent_name(const struct ssh_conf *c, char *out, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, name_base_make);
	uint64_t h = fnv(name_base, &c->persist_s, sizeof c->persist_s);
	snprintf(out, n, ".ezk-agent-%016llx.sock", (unsigned long long)h);
}

static int try_connect(int dirfd, const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	struct ucred cr;
	socklen_t cl = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != getuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int spawn_agent(const char *dir, const char *name, int idle)
{
	char idle_s[16];
	snprintf(idle_s, sizeof idle_s, "%d", idle);
	char *argv[] = {"ezk", "__agent", (char *)dir, (char *)name, idle_s, NULL};
	posix_spawnattr_t at;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
	pid_t pid;
	int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc == 0 ? 0 : -1;
}

/* A connection to the cluster's agent, starting it when none answers; -1
 * (with the reason set) when there is none to be had. */
static int agent_socket(const struct ssh_conf *c)
{
	char name[64];
	agent_name(c, name, sizeof name);
	int dirfd = open(c->persist_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return ezk_fail("%s: %s", c->persist_dir, strerror(errno));
	int fd = try_connect(dirfd, name);
	if (fd >= 0) {
		close(dirfd);
		return fd;
	}
	pthread_mutex_lock(&spawn_lock);
	int lk = openat(dirfd, ".ezk-agent.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lk >= 0)
		flock(lk, LOCK_EX);
	fd = try_connect(dirfd, name);
	if (fd < 0) {
		unlinkat(dirfd, name, 0); /* a socket nobody answers on */
		if (spawn_agent(c->persist_dir, name, c->persist_s) == 0)
			for (int i = 0; i < 300 && fd < 0; i++) {
				struct timespec ts = {0, 10 * 1000 * 1000};
				nanosleep(&ts, NULL);
				fd = try_connect(dirfd, name);
			}
	}
	if (lk >= 0)
		close(lk);
	pthread_mutex_unlock(&spawn_lock);
	close(dirfd);
	if (fd < 0)
		return ezk_fail("no agent answered in %s", c->persist_dir);
	return fd;
}

/* The attach message: every field that decides the session. */
static void attach_fields(struct buf *b, const struct ssh_host *h)
{
	const struct ssh_conf *c = h->conf;
	put_str(b, h->name);
	put_str(b, h->addr);
	put_u32(b, (uint32_t)h->port);
	put_str(b, h->user);
	put_str(b, h->key_file);
	put_stamp(b, h->key_file);
	put_str(b, h->password);
	put_str(b, h->jump);
	put_str(b, h->proxy_command);
	put_u32(b, h->become);
	put_str(b, h->become_user);
	put_str(b, h->become_password);
	put_str(b, c->known_hosts);
	put_u32(b, (uint32_t)c->hostkey);
	put_u32(b, (uint32_t)c->connect_timeout_ms);
	put_u32(b, (uint32_t)c->keepalive_s);
	put_str(b, c->key_file);
	put_stamp(b, c->key_file);
	put_u32(b, c->no_default_keys);
	put_u32(b, c->no_agent);
}

static const char *auth_name(const char *s)
{
	static const char *const names[] = {"none", "agent", "key", "password",
					    "keyboard-interactive"};
	for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
		if (strcmp(s, names[i]) == 0)
			return names[i];
	return NULL;
}

void agent_close(struct ssh_host *h)
{
	if (h->agent_fd >= 0)
		close(h->agent_fd);
	h->agent_fd = -1;
	free(h->agent_addr);
	h->agent_addr = NULL;
}

int agent_attach(struct ssh_host *h)
{
	int fd = agent_socket(h->conf);
	if (fd < 0)
		return 1;
	struct buf b = BUF_INIT;
	attach_fields(&b, h);
	int type = send_msg(fd, 'A', &b) < 0 ? -1 : recv_msg(fd, &b);
	if (type != 'a') {
		buf_free(&b);
		close(fd);
		ezk_fail("the agent did not answer");
		return 1;
	}
	struct rd r = {b.s, b.s + b.len, false};
	uint32_t code = get_u32(&r);
	char *msg = get_str(&r, NULL), *note = get_str(&r, NULL), *auth = get_str(&r, NULL);
	char *addr = get_str(&r, NULL);
	int rc;
	if (r.bad || code == 2) { /* busy, or a garbled answer: our own session */
		ezk_fail("the agent: %s", msg ? msg : "a bad answer");
		close(fd);
		rc = 1;
	} else if (code == 1) { /* the agent could not connect: the host's error */
		ezk_fail("%s", msg ? msg : "cannot connect");
		close(fd);
		rc = -1;
	} else {
		h->agent_fd = fd;
		free(h->hostkey_note);
		h->hostkey_note = note;
		note = NULL;
		h->auth = auth_name(auth);
		h->agent_addr = addr;
		addr = NULL;
		h->agent_reused = get_u32(&r) == 1;
		rc = 0;
	}
	free(msg);
	free(note);
	free(auth);
	free(addr);
	buf_free(&b);
	return rc;
}

int agent_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r)
{
	double t0 = clock_ms();
	struct buf b = BUF_INIT;
	char *in_path = NULL;
	if (cmd->in_path && !cmd->in) {
		in_path = realpath(cmd->in_path, NULL);
		if (!in_path) {
			/* as write_file says it: the command runs, the upload fails */
			in_path = xstrdup(cmd->in_path);
		}
	}
	uint32_t flags = (cmd->in ? 1u : 0) | (in_path ? 2u : 0) | (cmd->become ? 8u : 0) |
			 (cmd->no_become ? 16u : 0) | (cmd->out_sink ? 32u : 0) |
			 (h->count_procs ? 64u : 0) | (cmd->read_only ? 128u : 0);
	put_u32(&b, flags);
	put_u32(&b, (uint32_t)cmd->timeout_ms);
	put_u64(&b, cmd->in_len);
	put_str(&b, cmd->script);
	put_str(&b, cmd->cwd);
	if (cmd->in)
		put_mem(&b, cmd->in, cmd->in_len);
	else
		put_u32(&b, NIL);
	put_str(&b, in_path);
	put_str(&b, cmd->lib_name);
	put_str(&b, cmd->lib);
	uint32_t nenv = 0;
	while (cmd->env && cmd->env[nenv])
		nenv++;
	put_u32(&b, nenv);
	for (uint32_t i = 0; i < nenv; i++)
		put_str(&b, cmd->env[i]);
	put_str(&b, cmd->stat_path);
	free(in_path);
	buf_reset(&r->out);
	buf_reset(&r->err);
	r->status = -1;
	r->timed_out = false;
	h->n_cmds++;
	int rc = -1;
	if (send_msg(h->agent_fd, 'X', &b) < 0) {
		ezk_fail("%s: connection lost (ezk's agent is gone)", h->name);
		goto lost;
	}
	for (;;) {
		int type = recv_msg(h->agent_fd, &b);
		if (type == 'o' && cmd->out_sink) {
			if (cmd->out_sink(cmd->out_ud, b.s, b.len) < 0)
				goto lost; /* (the agent then drops the session) */
			continue;
		}
		if (type != 'd') {
			ezk_fail("%s: connection lost (ezk's agent is gone)", h->name);
			goto lost;
		}
		struct rd d = {b.s, b.s + b.len, false};
		uint32_t lost = get_u32(&d);
		int32_t status = (int32_t)get_u32(&d);
		uint32_t timed_out = get_u32(&d);
		int64_t pid = (int64_t)get_u64(&d);
		size_t n;
		char *out = get_str(&d, &n);
		if (out)
			buf_put(&r->out, out, n);
		free(out);
		char *err = get_str(&d, &n);
		if (err)
			buf_put(&r->err, err, n);
		free(err);
		char *msg = get_str(&d, NULL);
		if (d.bad) {
			free(msg);
			ezk_fail("%s: a bad answer from ezk's agent", h->name);
			goto lost;
		}
		if (lost) {
			ezk_fail("%s", msg ? msg : "connection lost");
			free(msg);
			goto lost;
		}
		free(msg);
		r->status = status;
		r->timed_out = timed_out != 0;
		if (h->count_procs && pid > 0) {
			if (h->last_pid > 0 && pid >= h->last_pid)
				h->n_procs += pid - h->last_pid;
			h->last_pid = pid;
		}
		rc = 0;
		break;
	}
	buf_free(&b);
	r->ms = clock_ms() - t0;
	return rc;
lost:
	buf_free(&b);
	agent_close(h);
	return -1;
}

/* One request and its answer of type want (into b). On anything else:
 * "the agent is gone" reported, b freed, the agent dropped, -1. */
static int agent_call(struct ssh_host *h, char type, struct buf *b, char want)
{
	if (send_msg(h->agent_fd, type, b) == 0 && recv_msg(h->agent_fd, b) == want)
		return 0;
	ezk_fail("%s: connection lost (ezk's agent is gone)", h->name);
	buf_free(b);
	agent_close(h);
	return -1;
}

/* An SFTP write (sftp.c: sftp_put) done by the agent on its session; the
 * same results. */
int agent_put(struct ssh_host *h, const char *tmp, const char *dest, const void *data, size_t len,
	      unsigned mode, long long mtime, struct buf *err)
{
	struct buf b = BUF_INIT;
	put_str(&b, tmp);
	put_str(&b, dest);
	put_mem(&b, data, len);
	put_u32(&b, mode);
	put_u64(&b, (uint64_t)mtime);
	if (agent_call(h, 'P', &b, 'p') < 0)
		return -1;
	struct rd d = {b.s, b.s + b.len, false};
	int32_t r = (int32_t)get_u32(&d);
	size_t n;
	char *msg = get_str(&d, &n);
	if (d.bad || r < -1 || r > 2) {
		free(msg);
		ezk_fail("%s: a bad answer from ezk's agent", h->name);
		goto lost;
	}
	if (r < 0) {
		ezk_fail("%s", msg ? msg : "connection lost");
		free(msg);
		goto lost;
	}
	if (r == 2 && msg)
		buf_put(err, msg, n);
	free(msg);
	buf_free(&b);
	return r;
lost:
	buf_free(&b);
	agent_close(h);
	return -1;
}

/* The directory fsyncs (sftp.c: sftp_sync) done by the agent on its
 * session: 0 done, 1 not (the shell must), -1 the agent is gone. */
int agent_sync(struct ssh_host *h, char *const *dirs, size_t n)
{
	struct buf b = BUF_INIT;
	put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_str(&b, dirs[i]);
	if (agent_call(h, 'S', &b, 'p') < 0)
		return -1;
	struct rd d = {b.s, b.s + b.len, false};
	int rc = (int)(int32_t)get_u32(&d);
	buf_free(&b);
	return rc == 0 ? 0 : 1;
}

/* File operations through SFTP (sftp.c: sftp_fs) done by the agent on its
 * session; the same results. */
int agent_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res)
{
	struct buf b = BUF_INIT;
	put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put_u32(&b, (uint32_t)q[i].op);
		put_str(&b, q[i].path);
		put_str(&b, q[i].to);
		put_u32(&b, q[i].mode);
	}
	if (agent_call(h, 'F', &b, 'f') < 0)
		return -1;
	struct rd d = {b.s, b.s + b.len, false};
	int rc = (int)(int32_t)get_u32(&d);
	h->n_cmds += get_u32(&d);
	for (size_t i = 0; rc == 0 && i < n && !d.bad; i++) {
		struct ssh_fs_res *r = &res[i];
		r->status = (int)(int32_t)get_u32(&d);
		r->msg = get_str(&d, NULL);
		r->kind = (char)get_u32(&d);
		r->mode = get_u32(&d);
		r->uid = get_u32(&d);
		r->gid = get_u32(&d);
		r->size = get_u64(&d);
		r->mtime = (long long)get_u64(&d);
		r->data = get_str(&d, &r->len);
		r->target = get_str(&d, NULL);
	}
	buf_free(&b);
	if (d.bad || (rc != 0 && rc != 1)) {
		ssh_fs_res_free(res, n);
		ezk_fail("%s: a bad answer from ezk's agent", h->name);
		agent_close(h);
		return -1;
	}
	return rc;
}

/* ---- the agent ---- */

struct held {
	struct held *next;
	char *key; /* the attach message it was made with */
	size_t keylen;
	char *addr;
	uint32_t port;
	struct ssh_conf conf; /* its strings: owned */
	struct ssh_host *h;
	bool busy;
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *held_list;
static int active;	   /* clients connected */
static double last_active; /* clock_ms() when the last one went */

static void held_free(struct held *e)
{
	ssh_host_free(e->h);
	free(e->key);
	free(e->addr);
	free((char *)e->conf.known_hosts);
	free((char *)e->conf.key_file);
	free(e);
}

/* A host as the attach fields say (r: at the start of them), connected. */
static struct held *held_new(struct rd *r, const char *key, size_t keylen)
{
	struct held *e = xcalloc(1, sizeof *e);
	struct ssh_target t = {0};
	char *f[10] = {0};
	f[0] = get_str(r, NULL); /* name */
	f[1] = get_str(r, NULL); /* addr */
	t.port = (int)get_u32(r);
	f[2] = get_str(r, NULL); /* user */
	f[3] = get_str(r, NULL); /* key file */
	free(get_str(r, NULL));
	f[4] = get_str(r, NULL); /* password */
	f[5] = get_str(r, NULL); /* jump */
	f[6] = get_str(r, NULL); /* proxy command */
	t.become = get_u32(r) != 0;
	f[7] = get_str(r, NULL); /* become user */
	f[8] = get_str(r, NULL); /* become password */
	struct ssh_conf c = SSH_CONF_INIT;
	c.known_hosts = get_str(r, NULL);
	c.hostkey = (enum ssh_hostkey_mode)get_u32(r);
	c.connect_timeout_ms = (int)get_u32(r);
	c.keepalive_s = (int)get_u32(r);
	c.key_file = get_str(r, NULL);
	free(get_str(r, NULL));
	c.no_default_keys = get_u32(r) != 0;
	c.no_agent = get_u32(r) != 0;
	e->conf = c;
	t.name = f[0];
	t.addr = f[1];
	t.user = f[2];
	t.key_file = f[3];
	t.password = f[4];
	t.jump = f[5];
	t.proxy_command = f[6];
	t.become_user = f[7];
	t.become_password = f[8];
	e->h = ssh_host_new(&e->conf, &t);
	e->addr = xstrdup(f[1] ? f[1] : "");
	e->port = (uint32_t)t.port;
	e->key = xmalloc(keylen);
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	for (size_t i = 0; i < 10; i++) {
		if (f[i] && (i == 4 || i == 8))
			explicit_bzero(f[i], strlen(f[i]));
		free(f[i]);
	}
	if (r->bad) {
		held_free(e);
		return NULL;
	}
	return e;
}

/* Attach: the held host for this message, reused or made. */
static struct held *attach(const struct buf *m, struct buf *reply)
{
	struct held *e = NULL, **pp;
	bool reused = false;
	const char *why = NULL;
	pthread_mutex_lock(&held_lock);
	for (pp = &held_list; *pp; pp = &(*pp)->next)
		if ((*pp)->keylen == m->len && memcmp((*pp)->key, m->s, m->len) == 0)
			break;
	if (*pp && (*pp)->busy) {
		why = "the host's session is in use by another run";
	} else if (*pp) {
		e = *pp;
		e->busy = true;
		reused = true;
	} else {
		/* the same address with other fields: that session goes */
		struct rd r = {m->s, m->s + m->len, false};
		free(get_str(&r, NULL));
		char *addr = get_str(&r, NULL);
		uint32_t port = get_u32(&r);
		for (pp = &held_list; *pp;) {
			struct held *o = *pp;
			if (!o->busy && o->port == port && addr && strcmp(o->addr, addr) == 0) {
				*pp = o->next;
				held_free(o);
			} else {
				pp = &o->next;
			}
		}
		free(addr);
	}
	pthread_mutex_unlock(&held_lock);
	if (why) {
		put_u32(reply, 2);
		put_str(reply, why);
		return NULL;
	}
	free(e ? e->h->hostkey_note : NULL);
	if (e)
		e->h->hostkey_note = NULL;
	if (reused) {
		/* alive? a `:` within a few seconds, else a new session */
		int ms = e->conf.connect_timeout_ms > 0 && e->conf.connect_timeout_ms < 5000
			     ? e->conf.connect_timeout_ms
			     : 5000;
		if (!ssh_host_connected(e->h) || shell_ping(e->h, ms) < 0) {
			ssh_host_disconnect(e->h);
			reused = false;
		} else if (!session_key_known(e->h)) {
			/* known_hosts no longer vouches for the session's key (a
			 * key removed, replaced): a new connection checks what
			 * the host presents now */
			ssh_host_disconnect(e->h);
			reused = false;
		} else {
			/* a new run: what its shells' stat caches hold (shell.c)
			 * is from the run before; drop it before the first command */
			e->h->sh[0].sc_dirty = e->h->sh[1].sc_dirty = true;
		}
	} else {
		struct rd r = {m->s, m->s + m->len, false};
		e = held_new(&r, m->s, m->len);
		if (!e) {
			put_u32(reply, 2);
			put_str(reply, "a bad attach message");
			return NULL;
		}
		e->busy = true;
		pthread_mutex_lock(&held_lock);
		e->next = held_list;
		held_list = e;
		pthread_mutex_unlock(&held_lock);
	}
	if (!reused) {
		if (ssh_host_connect(e->h) < 0) {
			put_u32(reply, 1);
			put_str(reply, ezk_err_msg());
			pthread_mutex_lock(&held_lock);
			e->busy = false;
			pthread_mutex_unlock(&held_lock);
			return NULL;
		}
	}
	char addr[64];
	put_u32(reply, 0);
	put_str(reply, NULL);
	put_str(reply, ssh_host_hostkey_note(e->h));
	put_str(reply, ssh_host_auth_method(e->h));
	put_str(reply, ssh_host_local_addr(e->h, addr, sizeof addr) == 0 ? addr : NULL);
	put_u32(reply, reused ? 1 : 0);
	return e;
}

struct sink_ud {
	int fd;
	bool gone;
};
static int to_client(void *ud, const void *p, size_t n)
{
	struct sink_ud *s = ud;
	struct buf b = {.s = (char *)p, .len = n};
	if (send_msg(s->fd, 'o', &b) < 0) {
		s->gone = true;
		return -1;
	}
	return 0;
}

/* One exec message: run it on e's host, answer. -1: the client is gone. */
static int exec_one(struct held *e, int fd, const struct buf *m, struct buf *reply)
{
	struct rd r = {m->s, m->s + m->len, false};
	uint32_t flags = get_u32(&r);
	struct ssh_cmd c = {0};
	c.timeout_ms = (int)get_u32(&r);
	c.in_len = (size_t)get_u64(&r);
	char *script = get_str(&r, NULL), *cwd = get_str(&r, NULL);
	size_t inn;
	char *in = get_str(&r, &inn);
	char *in_path = get_str(&r, NULL), *lib_name = get_str(&r, NULL), *lib = get_str(&r, NULL);
	uint32_t nenv = get_u32(&r);
	char **env = NULL;
	if (!r.bad && nenv < 4096) {
		env = xcalloc(nenv + 1, sizeof *env);
		for (uint32_t i = 0; i < nenv; i++)
			env[i] = get_str(&r, NULL);
	}
	char *stat_path = get_str(&r, NULL);
	struct sink_ud su = {fd, false};
	struct ssh_result res = SSH_RESULT_INIT;
	int rc = -1;
	const char *msg = "a bad exec message";
	if (!r.bad && script && env) {
		c.script = script;
		c.cwd = cwd;
		c.in = (flags & 1) ? (in ? in : "") : NULL;
		if (c.in)
			c.in_len = inn;
		c.in_path = (flags & 2) ? in_path : NULL;
		c.become = flags & 8;
		c.no_become = flags & 16;
		c.env = (const char *const *)env;
		c.lib_name = lib_name;
		c.lib = lib;
		c.read_only = flags & 128;
		c.stat_path = stat_path;
		if (flags & 32) {
			c.out_sink = to_client;
			c.out_ud = &su;
		}
		if (((flags & 64) != 0) != e->h->count_procs)
			ssh_host_count_procs(e->h, (flags & 64) != 0);
		rc = ssh_exec(e->h, &c, &res);
		msg = rc < 0 ? ezk_err_msg() : NULL;
	}
	buf_reset(reply);
	put_u32(reply, rc < 0);
	put_u32(reply, (uint32_t)res.status);
	put_u32(reply, res.timed_out);
	put_u64(reply, (uint64_t)(int64_t)(e->h->count_procs ? e->h->last_pid : -1));
	put_mem(reply, res.out.s ? res.out.s : "", res.out.len);
	put_mem(reply, res.err.s ? res.err.s : "", res.err.len);
	put_str(reply, msg);
	ssh_result_free(&res);
	free(script);
	free(cwd);
	free(in);
	free(in_path);
	free(lib_name);
	free(lib);
	free(stat_path);
	for (uint32_t i = 0; env && i < nenv; i++)
		free(env[i]);
	free(env);
	if (su.gone || send_msg(fd, 'd', reply) < 0)
		return -1;
	return 0;
}

/* One SFTP write message: done on e's host, answered. -1: the client is
 * gone. */
static int put_one(struct held *e, int fd, const struct buf *m, struct buf *reply)
{
	struct rd r = {m->s, m->s + m->len, false};
	char *tmp = get_str(&r, NULL), *dest = get_str(&r, NULL);
	size_t n;
	char *data = get_str(&r, &n);
	uint32_t mode = get_u32(&r);
	long long mtime = (long long)get_u64(&r);
	struct buf err = BUF_INIT;
	int rc = -1;
	const char *msg = "a bad put message";
	if (!r.bad && tmp && dest) {
		rc = sftp_put(e->h, tmp, dest, data ? data : "", data ? n : 0, mode, mtime, &err);
		msg = rc < 0 ? ezk_err_msg() : rc == 2 ? buf_cstr(&err) : NULL;
	}
	buf_reset(reply);
	put_u32(reply, (uint32_t)(int32_t)rc);
	put_str(reply, msg);
	free(tmp);
	free(dest);
	free(data);
	buf_free(&err);
	return send_msg(fd, 'p', reply);
}

/* One directory-sync message: done on e's host, answered. */
static int sync_one(struct held *e, int fd, const struct buf *m, struct buf *reply)
{
	struct rd r = {m->s, m->s + m->len, false};
	uint32_t n = get_u32(&r);
	char **dirs = NULL;
	int rc = 1;
	if (!r.bad && n > 0 && n < 65536) {
		dirs = xcalloc(n, sizeof *dirs);
		for (uint32_t i = 0; i < n; i++)
			dirs[i] = get_str(&r, NULL);
		if (!r.bad)
			rc = sftp_sync(e->h, dirs, n);
		for (uint32_t i = 0; i < n; i++)
			free(dirs[i]);
		free(dirs);
	}
	buf_reset(reply);
	put_u32(reply, (uint32_t)rc);
	put_str(reply, NULL);
	return send_msg(fd, 'p', reply);
}

/* One file-operations message: done on e's host, answered. */
static int fs_one(struct held *e, int fd, const struct buf *m, struct buf *reply)
{
	struct rd r = {m->s, m->s + m->len, false};
	uint32_t n = get_u32(&r);
	int rc = 1;
	unsigned long cmds = e->h->n_cmds;
	struct ssh_fs_req *q = NULL;
	struct ssh_fs_res *res = NULL;
	if (!r.bad && n > 0 && n < 65536) {
		q = xcalloc(n, sizeof *q);
		res = xcalloc(n, sizeof *res);
		for (uint32_t i = 0; i < n; i++) {
			q[i].op = (enum ssh_fs_op)get_u32(&r);
			q[i].path = get_str(&r, NULL);
			q[i].to = get_str(&r, NULL);
			q[i].mode = get_u32(&r);
		}
		if (!r.bad)
			rc = sftp_fs(e->h, q, n, res);
	}
	buf_reset(reply);
	put_u32(reply, (uint32_t)rc);
	put_u32(reply, (uint32_t)(e->h->n_cmds - cmds));
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		put_u32(reply, (uint32_t)res[i].status);
		put_str(reply, res[i].msg);
		put_u32(reply, (uint32_t)(unsigned char)res[i].kind);
		put_u32(reply, res[i].mode);
		put_u32(reply, (uint32_t)res[i].uid);
		put_u32(reply, (uint32_t)res[i].gid);
		put_u64(reply, res[i].size);
		put_u64(reply, (uint64_t)res[i].mtime);
		if (res[i].data)
			put_mem(reply, res[i].data, res[i].len);
		else
			put_str(reply, NULL);
		put_str(reply, res[i].target);
	}
	if (res)
		ssh_fs_res_free(res, n);
	for (uint32_t i = 0; q && i < n; i++) {
		free((char *)q[i].path);
		free((char *)q[i].to);
	}
	free(q);
	free(res);
	return send_msg(fd, 'f', reply);
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct buf m = BUF_INIT, reply = BUF_INIT;
	struct held *e = NULL;
	bool drop = false;
	for (;;) {
		int type = recv_msg(fd, &m);
		if (type < 0)
			break;
		buf_reset(&reply);
		if (type == 'A' && !e) {
			e = attach(&m, &reply);
			if (send_msg(fd, 'a', &reply) < 0) {
				drop = true;
				break;
			}
			if (!e)
				break;
		} else if (type == 'X' && e) {
			if (exec_one(e, fd, &m, &reply) < 0) {
				drop = true;
				break;
			}
		} else if (type == 'F' && e) {
			if (fs_one(e, fd, &m, &reply) < 0) {
				drop = true;
				break;
			}
		} else if ((type == 'P' || type == 'S') && e) {
			if ((type == 'P' ? put_one : sync_one)(e, fd, &m, &reply) < 0) {
				drop = true;
				break;
			}
		} else {
			break;
		}
	}
	close(fd);
	buf_free(&m);
	buf_free(&reply);
	pthread_mutex_lock(&held_lock);
	if (e && drop)
		ssh_host_disconnect(e->h); /* next attach: a new session */
	if (e)
		e->busy = false;
	active--;
	last_active = clock_ms();
	pthread_mutex_unlock(&held_lock);
	return NULL;
}

int ssh_agent_main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	const char *dir = argv[2], *name = argv[3];
	int idle = atoi(argv[4]);
	if (idle < 1 || strchr(name, '/'))
		return 2;
	close_range(3, ~0u, 0);
	prctl(PR_SET_NAME, "ezk-agent");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* (dir may be relative to the client's directory; then none is held) */
	if (dirfd < 0 || chdir("/") < 0)
		return 1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);
	int b = lfd < 0 ? -1 : bind(lfd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (b < 0 || listen(lfd, 64) < 0)
		return 1; /* another agent won the race */
	struct stat me;
	if (fchmodat(dirfd, name, 0600, 0) < 0 ||
	    fstatat(dirfd, name, &me, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	pthread_attr_t pa;
	pthread_attr_init(&pa);
	pthread_attr_setdetachstate(&pa, PTHREAD_CREATE_DETACHED);
	last_active = clock_ms();
	for (;;) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int n = poll(&p, 1, 1000);
		if (n > 0) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			struct ucred cr;
			socklen_t cl = sizeof cr;
			pthread_t t;
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
			    cr.uid != getuid()) {
				close(fd);
				continue;
			}
			pthread_mutex_lock(&held_lock);
			active++;
			pthread_mutex_unlock(&held_lock);
			if (pthread_create(&t, &pa, serve, (void *)(intptr_t)fd) != 0) {
				close(fd);
				pthread_mutex_lock(&held_lock);
				active--;
				pthread_mutex_unlock(&held_lock);
			}
			continue;
		}
		/* the socket removed or replaced (the cluster's directory gone):
		 * no client can come any more */
		struct stat st;
		bool gone = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    st.st_ino != me.st_ino || st.st_dev != me.st_dev;
		pthread_mutex_lock(&held_lock);
		bool idle_out = active == 0 && clock_ms() - last_active >= idle * 1000.0;
		pthread_mutex_unlock(&held_lock);
		if (gone || idle_out) {
			if (!gone)
				unlinkat(dirfd, name, 0);
			close(lfd);
			break;
		}
	}
	/* the sessions end as a run's do (the shells read end of input) */
	pthread_mutex_lock(&held_lock);
	for (struct held *e = held_list, *next; e; e = next) {
		next = e->next;
		if (!e->busy)
			held_free(e);
	}
	held_list = NULL;
	bool busy = active > 0;
	pthread_mutex_unlock(&held_lock);
	if (busy)
		_exit(0);
	return 0;
}
