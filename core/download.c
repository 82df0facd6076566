/* download.c - HTTP fetches with resume and sha256 checks (download.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "digest.h"
#include "download.h"
#include "err.h"
#include "fsutil.h"
#include "progress.h"

struct dl {
	CURL *curl;
	struct progress *prog;
	long last_status;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct dl *dl_new(struct progress *p)
{
	pthread_once(&curl_once, curl_init_once);
	struct dl *d = xcalloc(1, sizeof *d);
	d->curl = curl_easy_init();
	if (!d->curl)
		abort();
	d->prog = p;
	return d;
}

void dl_free(struct dl *d)
{
	if (!d)
		return;
	curl_easy_cleanup(d->curl);
	free(d);
}

long dl_last_status(const struct dl *d)
{
	return d->last_status;
}

void dl_resp_free(struct dl_resp *r)
{
	buf_free(&r->body);
	free(r->content_type);
	free(r->www_auth);
	free(r->docker_digest);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------- headers */

struct hdrs {
	char *content_type, *www_auth, *docker_digest;
	long long range_start; /* Content-Range's first byte, -1 if none */
};

static void hdrs_reset(struct hdrs *h)
{
	free(h->content_type);
	free(h->www_auth);
	free(h->docker_digest);
	memset(h, 0, sizeof *h);
	h->range_start = -1;
}

static char *hdr_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct hdrs *h = ud;
	size_t n = size * nmemb;
	char *v;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		hdrs_reset(h); /* a new response (after a redirect or 100) */
	} else if ((v = hdr_value(p, n, "Content-Type"))) {
		free(h->content_type);
		h->content_type = v;
	} else if ((v = hdr_value(p, n, "WWW-Authenticate"))) {
		free(h->www_auth);
		h->www_auth = v;
	} else if ((v = hdr_value(p, n, "Docker-Content-Digest"))) {
		free(h->docker_digest);
		h->docker_digest = v;
	} else if ((v = hdr_value(p, n, "Content-Range"))) {
		long long a;
		if (sscanf(v, "bytes %lld-", &a) == 1)
			h->range_start = a;
		free(v);
	}
	return n;
}

static struct curl_slist *header_list(const char *const *headers)
{
	struct curl_slist *l = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		l = curl_slist_append(l, headers[i]);
	return l;
}

static void setup(struct dl *d, const char *url, struct curl_slist *hl, struct hdrs *h)
{
	CURL *c = d->curl;
	curl_easy_reset(c);
	const char *t = getenv("EZK_DL_TIMEOUT");
	long timeout = t && atol(t) > 0 ? atol(t) : 30;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ezk/" EZK_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	d->errbuf[0] = '\0';
}

static int curl_failed(struct dl *d, const char *url, CURLcode cc)
{
	return ezk_fail("%s: %s", url, d->errbuf[0] ? d->errbuf : curl_easy_strerror(cc));
}

/* ------------------------------------------------------------ to memory */

struct membody {
	struct buf *b;
	size_t max;
	int too_big;
};

static size_t on_mem(char *p, size_t size, size_t nmemb, void *ud)
{
	struct membody *m = ud;
	size_t n = size * nmemb;
	if (m->b->len + n > m->max) {
		m->too_big = 1;
		return 0;
	}
	buf_put(m->b, p, n);
	return n;
}

int dl_request(struct dl *d, const char *method, const char *url, const char *const *headers,
	       size_t max, struct dl_resp *r)
{
	memset(r, 0, sizeof *r);
	struct hdrs h = {.range_start = -1};
	struct curl_slist *hl = header_list(headers);
	struct membody m = {&r->body, max, 0};
	setup(d, url, hl, &h);
	if (method && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(d->curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_mem);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &m);
	CURLcode cc = curl_easy_perform(d->curl);
	curl_slist_free_all(hl);
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &r->status);
	d->last_status = r->status;
	r->content_type = h.content_type;
	r->www_auth = h.www_auth;
	r->docker_digest = h.docker_digest;
	if (m.too_big) {
		dl_resp_free(r);
		return ezk_fail("%s: the answer is larger than %zu bytes", url, max);
	}
	if (cc != CURLE_OK) {
		dl_resp_free(r);
		return curl_failed(d, url, cc);
	}
	buf_cstr(&r->body); /* a NUL after the bytes, even when empty */
	return 0;
}

int dl_get(struct dl *d, const char *url, const char *const *headers, size_t max, struct dl_resp *r)
{
	return dl_request(d, NULL, url, headers, max, r);
}

/* --------------------------------------------------------------- to file */

struct filebody {
	struct dl *d;
	int fd;
	long long offset; /* bytes of the part kept from before */
	long long written;
	long long want_size;
	struct sha256 *h;
	int decided, err;
	struct hdrs *hdrs;
	struct buf errbody; /* an error answer's first bytes, for the message */
};

static size_t on_file(char *p, size_t size, size_t nmemb, void *ud)
{
	struct filebody *f = ud;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(f->d->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!f->decided) {
		f->decided = 1;
		if (status == 206 && f->hdrs->range_start == f->offset) {
			/* the rest of the part: append */
		} else if (status == 200 || status == 206) {
			/* the whole file, or a range we did not ask for: start over
			 * (the part is emptied; the next attempt fetches it all) */
			if (status == 206) {
				f->err = EPROTO;
				if (ftruncate(f->fd, 0) < 0)
					f->err = errno;
				return 0;
			}
			sha256_abort(f->h);
			sha256_init(f->h);
			if (ftruncate(f->fd, 0) < 0 || lseek(f->fd, 0, SEEK_SET) < 0) {
				f->err = errno;
				return 0;
			}
			f->offset = 0;
			progress_resume_at(f->d->prog, 0);
		}
	}
	if (status != 200 && status != 206) {
		if (f->errbody.len < 512)
			buf_put(&f->errbody, p, n < 512 ? n : 512);
		return n;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(f->fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			f->err = errno;
			return 0;
		}
		off += (size_t)w;
	}
	sha256_update(f->h, p, n);
	f->written += (long long)n;
	return n;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	struct filebody *f = ud;
	(void)ultotal;
	(void)ulnow;
	(void)dlnow;
	if (f->d->prog) {
		if (f->want_size < 0 && dltotal > 0)
			progress_set_total(f->d->prog, f->offset + (long long)dltotal);
		progress_update(f->d->prog, f->offset + f->written);
	}
	return 0;
}

/* One attempt at the transfer into an open part file. 0 done (status 200
 * or 206), 1 the server says the range is past the end (416), -1 error. */
static int fetch_part(struct dl *d, const char *url, struct curl_slist *hl, int fd, long long have,
		      struct sha256 *h, long long want_size, long long *len)
{
	struct hdrs hd = {.range_start = -1};
	struct filebody f = {
	    .d = d, .fd = fd, .offset = have, .want_size = want_size, .h = h, .hdrs = &hd};
	char range[48];
	setup(d, url, hl, &hd);
	if (have > 0) {
		snprintf(range, sizeof range, "%lld-", have);
		curl_easy_setopt(d->curl, CURLOPT_RANGE, range);
	}
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_file);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, &f);
	CURLcode cc = curl_easy_perform(d->curl);
	long status = 0;
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	d->last_status = status;
	hdrs_reset(&hd);
	free(hd.content_type);
	*len = f.offset + f.written;
	int rc = 0;
	if (f.err == EPROTO)
		rc = ezk_fail("%s: the server sent another range than asked", url);
	else if (f.err)
		rc = ezk_fail("%s", strerror(f.err));
	else if (status == 416 && have > 0)
		rc = 1;
	else if (cc != CURLE_OK && status != 200 && status != 206 && status != 0)
		rc = ezk_fail("%s: HTTP %ld", url, status);
	else if (cc != CURLE_OK)
		rc = curl_failed(d, url, cc);
	else if (status != 200 && status != 206)
		rc = ezk_fail("%s: HTTP %ld%s%.*s", url, status, f.errbody.len ? ": " : "",
			      (int)(f.errbody.len > 200 ? 200 : f.errbody.len),
			      f.errbody.s ? f.errbody.s : "");
	buf_free(&f.errbody);
	return rc;
}

static int part_open(const char *part, long long *have)
{
	int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ezk_fail("%s: %s", part, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ezk_fail("%s: not a regular file", part);
	}
	*have = st.st_size;
	return fd;
}

int dl_file(struct dl *d, const char *url, const char *const *headers, const char *dest,
	    const char *want_hex, long long want_size, mode_t mode, const char *label)
{
	d->last_status = 0;
	if (want_hex && file_exists(dest)) {
		char got[SHA256_HEX];
		long long size;
		if (sha256_file(dest, got, &size) == 0 && strcmp(got, want_hex) == 0)
			return 1;
	}
	if (file_replaceable(dest) < 0)
		return -1;
	char *slash = strrchr(dest, '/');
	if (slash) {
		char *dir = xstrndup(dest, (size_t)(slash - dest));
		int rc = mkdir_p(dir, 0755);
		free(dir);
		if (rc < 0)
			return -1;
	}
	struct buf part = BUF_INIT;
	buf_printf(&part, "%s.part", dest);
	struct curl_slist *hl = header_list(headers);
	int rc = -1;
	for (int attempt = 0; attempt < 4; attempt++) {
		long long have = 0, len = 0;
		int fd = part_open(part.s, &have);
		if (fd < 0)
			break;
		struct sha256 h;
		sha256_init(&h);
		if (want_size >= 0 && have > want_size)
			have = 0; /* longer than the file: useless */
		if (have > 0 && sha256_fd_prefix(fd, have, &h) < 0) {
			have = 0;
			sha256_abort(&h);
			sha256_init(&h);
		}
		if (ftruncate(fd, have) < 0 || lseek(fd, have, SEEK_SET) < 0) {
			rc = ezk_fail("%s: %s", part.s, strerror(errno));
			sha256_abort(&h);
			close(fd);
			break;
		}
		progress_start(d->prog, label, want_size);
		progress_resume_at(d->prog, have);
		int fr = fetch_part(d, url, hl, fd, have, &h, want_size, &len);
		if (fr < 0) {
			sha256_abort(&h);
			close(fd);
			progress_end(d->prog, "interrupted", len);
			long st = d->last_status;
			/* an HTTP answer is final; a broken connection is tried again */
			if (st >= 400 && st != 408 && st != 429 && st < 500)
				break;
			if (attempt == 3)
				break;
			progress_note(d->prog, "  retrying %s: %s", label, ezk_err_msg());
			sleep((unsigned)(1 + attempt));
			continue;
		}
		char got[SHA256_HEX];
		sha256_final(&h, got);
		int bad = (want_hex && strcmp(got, want_hex) != 0) ||
			  (want_size >= 0 && len != want_size);
		if (bad) {
			close(fd);
			unlink(part.s);
			progress_end(d->prog, "discarded", len);
			if (want_size >= 0 && len != want_size)
				ezk_fail("%s: %lld bytes, expected %lld", url, len, want_size);
			else
				ezk_fail("%s: sha256 %s, expected %s", url, got, want_hex);
			if (attempt >= 1)
				break; /* fetched whole and still wrong: the source is bad */
			continue;      /* the part was wrong: once more from the start */
		}
		if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
			rc = ezk_fail("%s: %s", part.s, strerror(errno));
			close(fd);
			break;
		}
		close(fd);
		if (rename(part.s, dest) < 0) {
			rc = ezk_fail("%s: %s", dest, strerror(errno));
			break;
		}
		if (slash) {
			char *dir = xstrndup(dest, (size_t)(slash - dest));
			dir_sync(dir);
			free(dir);
		}
		progress_end(d->prog, "fetched", len);
		rc = 0;
		break;
	}
	curl_slist_free_all(hl);
	buf_free(&part);
	return rc;
}
