/*
 * imgsrv.c - the read-only registry of imgsrv.h: OCI archives' blobs served
 * from their tar members' bytes, a thread per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "err.h"
#include "fsutil.h"
#include "imgsrv.h"
#include "value.h"
#include "yamlio.h"

#define INDEX_MAX (1 << 20) /* index.json, a manifest: read whole */
#define REQ_MAX 8192	    /* a request's line and headers */
#define IO_TIMEOUT_S 60	    /* a client silent this long is dropped */
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

struct blob {
	char hex[SHA256_HEX];
	int fd; /* the archive's */
	off_t off;
	long long size;
};

struct tag {
	char *repo, *tag;     /* "easzlab/pause", "3.10" */
	char hex[SHA256_HEX]; /* the descriptor index.json lists */
	char *media_type;
	char *path; /* the archive, for messages */
};

struct imgsrv {
	int lfd, port;
	pthread_t accept_thread;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* conns reached 0 */
	bool stopping;
	char **paths;
	int *fds;
	size_t npaths;
	struct blob *blobs;
	size_t nblobs;
	struct tag *tags;
	size_t ntags;
	int *conns; /* the open connections' sockets */
	size_t nconns, capconns;
	unsigned long served;
};

/* ------------------------------------------------------------ archives */

static long long octal(const char *p, size_t n)
{
	long long v = 0;
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\0'))
		i++;
	if (i < n && (unsigned char)p[i] & 0x80)
		return -1; /* base-256: not what an image archive holds */
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (p[i] - '0');
	return v;
}

static int read_at(int fd, void *p, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* pax "path=" of an extended header's records, or NULL */
static char *pax_path(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		char *end;
		long len = strtol(p + i, &end, 10);
		if (len <= 0 || (size_t)len > n - i || *end != ' ')
			return NULL;
		const char *kv = end + 1, *stop = p + i + len - 1; /* the record's '\n' */
		if (stop > kv && !strncmp(kv, "path=", 5))
			return xstrndup(kv + 5, (size_t)(stop - kv - 5));
		i += (size_t)len;
	}
	return NULL;
}

/* The members of the tar at fd: each blobs/sha256/<hex> file into s->blobs
 * (under s->lock by the caller), index.json into *index. */
static int scan(struct imgsrv *s, const char *path, int fd, struct buf *index)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	off_t off = 0;
	char *longname = NULL;
	int rc = 0, have_index = 0;
	for (;;) {
		unsigned char h[512];
		if (off + 512 > st.st_size || read_at(fd, h, 512, off) < 0) {
			rc = ezk_fail("%s: not an image archive (truncated tar)", path);
			break;
		}
		bool zero = true;
		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero)
			break; /* the end-of-archive blocks */
		long long size = octal((char *)h + 124, 12);
		if (size < 0 || off + 512 + size > st.st_size) {
			rc = ezk_fail("%s: not an image archive (a tar member past its end)", path);
			break;
		}
		char type = (char)h[156];
		off_t data = off + 512;
		off = data + (off_t)((size + 511) / 512 * 512);
		if (type == 'L' || type == 'x') {
			if (size > 65536)
				continue;
			char *b = xmalloc((size_t)size + 1);
			if (read_at(fd, b, (size_t)size, data) < 0) {
				free(b);
				rc = ezk_fail("%s: %s", path, strerror(errno));
				break;
			}
			b[size] = '\0';
			free(longname);
			longname = type == 'L' ? xstrndup(b, strnlen(b, (size_t)size))
					       : pax_path(b, (size_t)size);
			free(b);
			continue;
		}
		char name[256 + 2];
		if (longname) {
			snprintf(name, sizeof name, "%s", longname);
			free(longname);
			longname = NULL;
		} else if (h[345]) /* ustar prefix */
			snprintf(name, sizeof name, "%.155s/%.100s", h + 345, h + 0);
		else
			snprintf(name, sizeof name, "%.100s", h + 0);
		const char *p = name[0] == '.' && name[1] == '/' ? name + 2 : name;
		if (type != '0' && type != '\0')
			continue;
		if (!strcmp(p, "index.json")) {
			if (size > INDEX_MAX) {
				rc = ezk_fail("%s: index.json is larger than 1 MiB", path);
				break;
			}
			buf_reset(index);
			char *b = xmalloc((size_t)size + 1);
			if (read_at(fd, b, (size_t)size, data) < 0)
				rc = ezk_fail("%s: %s", path, strerror(errno));
			else
				buf_put(index, b, (size_t)size);
			free(b);
			have_index = 1;
		} else if (!strncmp(p, "blobs/sha256/", 13) && sha256_hex_ok(p + 13)) {
			s->blobs = xrealloc(s->blobs, (s->nblobs + 1) * sizeof *s->blobs);
			struct blob *b = &s->blobs[s->nblobs++];
			memcpy(b->hex, p + 13, SHA256_HEX);
			b->fd = fd;
			b->off = data;
			b->size = size;
		}
		if (rc)
			break;
	}
	free(longname);
	if (rc == 0 && !have_index)
		rc = ezk_fail("%s: no index.json (not an OCI image archive)", path);
	return rc;
}

static const struct tag *find_tag(const struct imgsrv *s, const char *repo, const char *tag)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i].repo, repo) && !strcmp(s->tags[i].tag, tag))
			return &s->tags[i];
	return NULL;
}

static const struct blob *find_blob(const struct imgsrv *s, const char *hex)
{
	for (size_t i = 0; i < s->nblobs; i++)
		if (!strcmp(s->blobs[i].hex, hex))
			return &s->blobs[i];
	return NULL;
}

int imgsrv_add(struct imgsrv *s, const char *path)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->npaths; i++)
		if (!strcmp(s->paths[i], path)) {
			pthread_mutex_unlock(&s->lock);
			return 1;
		}
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf index = BUF_INIT;
	struct value *idx = NULL;
	size_t nblobs0 = s->nblobs;
	if (fd < 0)
		rc = ezk_fail("%s: %s", path, strerror(errno));
	if (rc == 0)
		rc = scan(s, path, fd, &index);
	if (rc == 0 && !(idx = yaml_load_any(index.s ? index.s : "", index.len, path)))
		rc = ezk_fail_prefix("%s: index.json", path);
	const struct value *ms =
	    rc == 0 && idx->type == V_MAP ? value_map_get(idx, "manifests") : NULL;
	if (rc == 0 && (!ms || ms->type != V_LIST || ms->u.list.n != 1))
		rc = ezk_fail("%s: index.json must list exactly one image", path);
	const struct value *d = rc == 0 ? ms->u.list.v[0] : NULL;
	const char *name =
	    value_map_str(d ? value_map_get(d, "annotations") : NULL, "io.containerd.image.name");
	const char *dg = rc == 0 ? digest_parse(value_map_str(d, "digest")) : NULL;
	if (rc == 0 && !dg)
		rc = ezk_fail("%s: index.json: the image has no valid sha256 digest", path);
	if (rc == 0 && !name)
		rc = ezk_fail("%s: index.json has no io.containerd.image.name annotation", path);
	/* "host[:port]/repo:tag": the registry host goes (hosts pull every
	 * name from here), repo and tag are the API's path */
	const char *slash = name ? strchr(name, '/') : NULL;
	const char *colon = slash ? strrchr(slash, ':') : NULL;
	if (rc == 0 && (!slash || !colon || strchr(name, '@')))
		rc = ezk_fail("%s: the image name %s is not host/repository:tag", path, name);
	char *repo = rc == 0 ? xstrndup(slash + 1, (size_t)(colon - slash - 1)) : NULL;
	const struct tag *other = rc == 0 ? find_tag(s, repo, colon + 1) : NULL;
	if (other)
		rc =
		    ezk_fail("%s: its image %s:%s is %s's too", path, repo, colon + 1, other->path);
	if (rc == 0 && !find_blob(s, dg))
		rc = ezk_fail("%s: index.json's image %s is not among its blobs", path, dg);
	if (rc == 0) {
		s->tags = xrealloc(s->tags, (s->ntags + 1) * sizeof *s->tags);
		struct tag *t = &s->tags[s->ntags++];
		t->repo = repo;
		repo = NULL;
		t->tag = xstrdup(colon + 1);
		memcpy(t->hex, dg, SHA256_HEX);
		const char *mt = value_map_str(d, "mediaType");
		t->media_type = xstrdup(mt ? mt : MT_OCI_MANIFEST);
		t->path = xstrdup(path);
		s->paths = xrealloc(s->paths, (s->npaths + 1) * sizeof *s->paths);
		s->fds = xrealloc(s->fds, (s->npaths + 1) * sizeof *s->fds);
		s->paths[s->npaths] = xstrdup(path);
		s->fds[s->npaths++] = fd;
	} else {
		s->nblobs = nblobs0; /* none of its blobs */
		if (fd >= 0)
			close(fd);
	}
	free(repo);
	value_unref(idx);
	buf_free(&index);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ------------------------------------------------------------------ HTTP */

static void reply(int fd, int code, const char *status, const char *body)
{
	char h[512];
	int n = snprintf(h, sizeof h,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Docker-Distribution-API-Version: registry/2.0\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 code, status, strlen(body));
	if (sock_send_all(fd, h, (size_t)n) == 0)
		sock_send_all(fd, body, strlen(body));
}

static void not_found(int fd, const char *code)
{
	char body[160];
	snprintf(body, sizeof body,
		 "{\"errors\":[{\"code\":\"%s\",\"message\":\"not served here\"}]}", code);
	reply(fd, 404, "Not Found", body);
}

/* %XX decoded in place */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '%' && s[1] && s[2]) {
			char hx[3] = {s[1], s[2], 0}, *end;
			long v = strtol(hx, &end, 16);
			if (!*end) {
				*o++ = (char)v;
				s += 2;
				continue;
			}
		}
		*o++ = *s;
	}
	*o = '\0';
}

/* the media type a manifest's JSON names (an index has "manifests") */
static char *sniff_media_type(const struct blob *b)
{
	if (b->size > INDEX_MAX)
		return xstrdup(MT_OCI_MANIFEST);
	char *p = xmalloc((size_t)b->size + 1);
	struct value *v = NULL;
	if (read_at(b->fd, p, (size_t)b->size, b->off) == 0)
		v = yaml_load_any(p, (size_t)b->size, "manifest");
	ezk_err_clear();
	free(p);
	const char *mt = v && v->type == V_MAP ? value_map_str(v, "mediaType") : NULL;
	char *r =
	    xstrdup(mt							     ? mt
		    : v && v->type == V_MAP && value_map_get(v, "manifests") ? MT_OCI_INDEX
									     : MT_OCI_MANIFEST);
	value_unref(v);
	return r;
}

static void serve(struct imgsrv *s, int fd, const char *req)
{
	char method[8], target[1024];
	if (sscanf(req, "%7s %1023s", method, target) != 2) {
		reply(fd, 400, "Bad Request", "{}");
		return;
	}
	bool head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		reply(fd, 405, "Method Not Allowed", "{}");
		return;
	}
	char *q = strchr(target, '?');
	if (q)
		*q = '\0';
	unescape(target);
	if (!strcmp(target, "/v2/") || !strcmp(target, "/v2")) {
		reply(fd, 200, "OK", "{}");
		return;
	}
	size_t tl = strlen(target);
	if (!strncmp(target, "/v2/", 4) && tl > 14 && !strcmp(target + tl - 10, "/tags/list")) {
		/* what skopeo inspect and the like ask first */
		target[tl - 10] = '\0';
		struct buf b = BUF_INIT;
		buf_puts(&b, "{\"name\":");
		buf_json_str(&b, target + 4, strlen(target + 4));
		buf_puts(&b, ",\"tags\":[");
		size_t n = 0;
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->ntags; i++)
			if (!strcmp(s->tags[i].repo, target + 4)) {
				buf_puts(&b, n++ ? "," : "");
				buf_json_str(&b, s->tags[i].tag, strlen(s->tags[i].tag));
			}
		pthread_mutex_unlock(&s->lock);
		buf_puts(&b, "]}");
		if (n)
			reply(fd, 200, "OK", b.s);
		else
			not_found(fd, "NAME_UNKNOWN");
		buf_free(&b);
		return;
	}
	char *m = strstr(target, "/manifests/"), *bl = strstr(target, "/blobs/");
	if (strncmp(target, "/v2/", 4) || (!m && !bl)) {
		not_found(fd, "NAME_UNKNOWN");
		return;
	}
	bool manifest = m && (!bl || m > bl);
	char *sep = manifest ? m : bl;
	*sep = '\0';
	const char *repo = target + 4, *ref = sep + (manifest ? 11 : 7);

	long long start = 0, end = -1; /* Range: bytes=start-[end] */
	const char *r = strcasestr(req, "\r\nRange: bytes=");
	if (r) {
		char *e;
		start = strtoll(r + 15, &e, 10);
		if (*e == '-' && e[1] >= '0' && e[1] <= '9')
			end = strtoll(e + 1, NULL, 10);
	}

	struct blob b = {.fd = -1};
	char *mt = NULL;
	pthread_mutex_lock(&s->lock);
	const char *hex = digest_parse(ref);
	if (manifest && !hex) {
		const struct tag *t = find_tag(s, repo, ref);
		if (t) {
			hex = t->hex;
			mt = xstrdup(t->media_type);
		}
	}
	const struct blob *found = hex ? find_blob(s, hex) : NULL;
	if (found)
		b = *found;
	pthread_mutex_unlock(&s->lock);
	if (b.fd < 0) {
		free(mt);
		not_found(fd, manifest ? "MANIFEST_UNKNOWN" : "BLOB_UNKNOWN");
		return;
	}
	if (manifest && !mt)
		mt = sniff_media_type(&b);
	if (end < 0 || end >= b.size)
		end = b.size - 1;
	if (start < 0 || (start > end && b.size > 0)) {
		free(mt);
		reply(fd, 416, "Range Not Satisfiable", "{}");
		return;
	}
	long long len = b.size > 0 ? end - start + 1 : 0;
	char h[768];
	int n = snprintf(h, sizeof h,
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
			 "Docker-Content-Digest: sha256:%s\r\nDocker-Distribution-API-Version: "
			 "registry/2.0\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
			 r ? "206 Partial Content" : "200 OK", mt ? mt : "application/octet-stream",
			 len, b.hex);
	if (r)
		n += snprintf(h + n, sizeof h - (size_t)n,
			      "Content-Range: bytes %lld-%lld/%lld\r\n", start, end, b.size);
	n += snprintf(h + n, sizeof h - (size_t)n, "\r\n");
	free(mt);
	if (sock_send_all(fd, h, (size_t)n) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	s->served++;
	pthread_mutex_unlock(&s->lock);
	if (head)
		return;
	off_t off = b.off + start;
	while (len > 0) {
		ssize_t w = sendfile(fd, b.fd, &off, len > (1 << 30) ? (1 << 30) : (size_t)len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		len -= w;
	}
}

struct conn {
	struct imgsrv *s;
	int fd;
};

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct imgsrv *s = c->s;
	int fd = c->fd;
	free(c);
	char req[REQ_MAX + 1];
	size_t got = 0;
	while (got < REQ_MAX) {
		ssize_t n = recv(fd, req + got, REQ_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n")) {
			serve(s, fd, req);
			break;
		}
	}
	shutdown(fd, SHUT_WR);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nconns; i++)
		if (s->conns[i] == fd) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	close(fd);
	if (s->nconns == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct imgsrv *s = arg;
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_mutex_lock(&s->lock);
		bool stop = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			usleep(10000); /* EMFILE and the like: let connections end */
			continue;
		}
		struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		struct conn *c = xmalloc(sizeof *c);
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		if (s->nconns == s->capconns) {
			s->capconns = s->capconns ? s->capconns * 2 : 16;
			s->conns = xrealloc(s->conns, s->capconns * sizeof *s->conns);
		}
		s->conns[s->nconns++] = fd;
		pthread_mutex_unlock(&s->lock);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, c) != 0) {
			pthread_mutex_lock(&s->lock);
			s->conns[s->nconns - 1] = -1;
			s->nconns--;
			pthread_mutex_unlock(&s->lock);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
}

struct imgsrv *imgsrv_start(const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		sl = sizeof *a6;
	} else {
		ezk_fail("image server: %s is not a numeric address", addr);
		return NULL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		ezk_fail("image server: cannot listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct imgsrv *s = xcalloc(1, sizeof *s);
	s->lfd = fd;
	s->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
		ezk_fail("image server: no thread: %s", strerror(errno));
		close(fd);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->idle);
		free(s);
		return NULL;
	}
	return s;
}

int imgsrv_port(const struct imgsrv *s)
{
	return s->port;
}

unsigned long imgsrv_served(struct imgsrv *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned long n = s->served;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void imgsrv_stop(struct imgsrv *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	shutdown(s->lfd, SHUT_RDWR); /* wakes accept(2) */
	pthread_join(s->accept_thread, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nconns; i++)
		shutdown(s->conns[i], SHUT_RDWR);
	while (s->nconns > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->npaths; i++) {
		close(s->fds[i]);
		free(s->paths[i]);
	}
	for (size_t i = 0; i < s->ntags; i++) {
		free(s->tags[i].repo);
		free(s->tags[i].tag);
		free(s->tags[i].media_type);
		free(s->tags[i].path);
	}
	free(s->paths);
	free(s->fds);
	free(s->blobs);
	free(s->tags);
	free(s->conns);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s);
}
