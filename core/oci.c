/* oci.c - the registry v2 client and OCI image-layout archives (oci.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "digest.h"
#include "download.h"
#include "err.h"
#include "fsutil.h"
#include "oci.h"
#include "value.h"
#include "yamlio.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MANIFEST_MAX (4u << 20)

/* ----------------------------------------------------------- references */

static int tag_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return 0;
	return 1;
}

static int repo_ok(const char *r)
{
	if (!*r || *r == '/' || r[strlen(r) - 1] == '/')
		return 0;
	for (const char *p = r; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		      strchr("._-/", *p)))
			return 0;
	return strstr(r, "//") == NULL && strstr(r, "..") == NULL;
}

int oci_ref_parse(const char *s, struct oci_ref *r)
{
	memset(r, 0, sizeof *r);
	char *work = xstrdup(s);
	char *at = strchr(work, '@');
	if (at) {
		*at = '\0';
		if (!digest_parse(at + 1)) {
			free(work);
			return ezk_fail("image '%s': the digest is not sha256:<64 hex digits>", s);
		}
		r->digest = xstrdup(at + 1);
	}
	char *slash = strchr(work, '/');
	char *path = work;
	if (slash &&
	    (memchr(work, '.', (size_t)(slash - work)) ||
	     memchr(work, ':', (size_t)(slash - work)) || strncmp(work, "localhost/", 10) == 0)) {
		r->registry = xstrndup(work, (size_t)(slash - work));
		path = slash + 1;
	} else {
		r->registry = xstrdup("docker.io");
	}
	if (strcmp(r->registry, "index.docker.io") == 0 ||
	    strcmp(r->registry, "registry-1.docker.io") == 0) {
		free(r->registry);
		r->registry = xstrdup("docker.io");
	}
	char *last = strrchr(path, '/');
	char *colon = strrchr(last ? last : path, ':');
	if (colon) {
		*colon = '\0';
		r->tag = xstrdup(colon + 1);
	} else if (!r->digest) {
		r->tag = xstrdup("latest");
	}
	if (strcmp(r->registry, "docker.io") == 0 && !strchr(path, '/')) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "library/%s", path);
		r->repo = buf_detach(&b);
	} else {
		r->repo = xstrdup(path);
	}
	free(work);
	if (!repo_ok(r->repo) || (r->tag && !tag_ok(r->tag)) || !*r->registry) {
		oci_ref_free(r);
		return ezk_fail(
		    "image '%s': not a valid reference ([registry/]repository[:tag][@digest])", s);
	}
	return 0;
}

void oci_ref_free(struct oci_ref *r)
{
	free(r->registry);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof *r);
}

char *oci_ref_str(const struct oci_ref *r)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", r->registry, r->repo);
	if (r->tag)
		buf_printf(&b, ":%s", r->tag);
	if (r->digest)
		buf_printf(&b, "@%s", r->digest);
	return buf_detach(&b);
}

char *oci_archive_name(const char *name)
{
	const char *last = strrchr(name, '/');
	last = last ? last + 1 : name;
	const char *at = strchr(last, '@');
	size_t n = at ? (size_t)(at - last) : strlen(last);
	struct buf b = BUF_INIT;
	buf_put(&b, last, n);
	if (!memchr(last, ':', n))
		buf_puts(&b, ":latest");
	for (size_t i = 0; i < b.len; i++)
		if (b.s[i] == ':')
			b.s[i] = '_';
	buf_puts(&b, ".tar");
	return buf_detach(&b);
}

const char *oci_host_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0 || strcmp(u.machine, "arm64") == 0)
		return "arm64";
	if (strncmp(u.machine, "armv7", 5) == 0)
		return "arm";
	if (strcmp(u.machine, "ppc64le") == 0 || strcmp(u.machine, "s390x") == 0 ||
	    strcmp(u.machine, "riscv64") == 0)
		return u.machine[0] == 'p' ? "ppc64le" : u.machine[0] == 's' ? "s390x" : "riscv64";
	if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
		return "386";
	return "amd64";
}

/* ------------------------------------------------------------- JSON bits */

static long long jint(const struct value *m, const char *k)
{
	const struct value *v = m && m->type == V_MAP ? value_map_get(m, k) : NULL;
	return v && v->type == V_INT ? v->u.i : -1;
}

static struct value *jparse(const char *text, size_t len, const char *what)
{
	struct value *v = yaml_load_any(text, len, what);
	if (v && v->type != V_MAP) {
		value_unref(v);
		ezk_fail("%s: not a JSON object", what);
		return NULL;
	}
	return v;
}

/* ---------------------------------------------------------------- client */

struct token {
	char *key; /* "<base> <repo>" */
	char *header;
	struct token *next;
};

struct oci_client {
	struct dl *dl;
	struct oci_opts o;
	struct token *tokens;
};

struct oci_client *oci_client_new(struct dl *dl, const struct oci_opts *o)
{
	struct oci_client *c = xcalloc(1, sizeof *c);
	c->dl = dl;
	c->o = *o;
	if (!c->o.os)
		c->o.os = "linux";
	if (!c->o.arch)
		c->o.arch = oci_host_arch();
	return c;
}

void oci_client_free(struct oci_client *c)
{
	if (!c)
		return;
	for (struct token *t = c->tokens, *n; t; t = n) {
		n = t->next;
		free(t->key);
		free(t->header);
		free(t);
	}
	free(c);
}

void oci_pulled_free(struct oci_pulled *p)
{
	free(p->media_type);
	free(p->platform);
	memset(p, 0, sizeof *p);
}

static char *endpoint(const struct oci_client *c, const char *registry)
{
	const struct value *v = c->o.registries && c->o.registries->type == V_MAP
				    ? value_map_get(c->o.registries, registry)
				    : NULL;
	struct buf b = BUF_INIT;
	if (v && v->type == V_STR && v->u.str.len)
		buf_puts(&b, v->u.str.s);
	else
		buf_printf(&b, "https://%s", registry);
	while (b.len && b.s[b.len - 1] == '/')
		b.s[--b.len] = '\0';
	return buf_detach(&b);
}

static struct token **token_slot(struct oci_client *c, const char *base, const char *repo)
{
	struct buf k = BUF_INIT;
	buf_printf(&k, "%s %s", base, repo);
	struct token **t = &c->tokens;
	while (*t && strcmp((*t)->key, k.s) != 0)
		t = &(*t)->next;
	if (!*t) {
		*t = xcalloc(1, sizeof **t);
		(*t)->key = buf_detach(&k);
	}
	buf_free(&k);
	return t;
}

/* key="value" out of a WWW-Authenticate challenge. */
static char *challenge_param(const char *h, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = h; (p = strcasestr(p, key)); p += k) {
		if (p > h && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *q = p + k;
		if (*q != '=')
			continue;
		q++;
		if (*q == '"') {
			const char *e = strchr(q + 1, '"');
			return e ? xstrndup(q + 1, (size_t)(e - q - 1)) : NULL;
		}
		size_t n = strcspn(q, ", ");
		return xstrndup(q, n);
	}
	return NULL;
}

static void url_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-._~", ch))
			buf_putc(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

/* Answer a 401: fetch an anonymous token from the challenge's realm. */
static int fetch_token(struct oci_client *c, const char *base, const char *repo,
		       const char *challenge)
{
	if (!challenge || strncasecmp(challenge, "Bearer", 6) != 0)
		return ezk_fail("%s: the registry wants %s authentication (only anonymous bearer "
				"tokens are supported)",
				base, challenge ? challenge : "unknown");
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *scope = challenge_param(challenge, "scope");
	if (!realm) {
		free(service);
		free(scope);
		return ezk_fail("%s: a Bearer challenge without a realm", base);
	}
	struct buf url = BUF_INIT;
	buf_puts(&url, realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service) {
		buf_printf(&url, "%cservice=", sep);
		url_escape(&url, service);
		sep = '&';
	}
	buf_printf(&url, "%cscope=", sep);
	if (scope) {
		url_escape(&url, scope);
	} else {
		struct buf s = BUF_INIT;
		buf_printf(&s, "repository:%s:pull", repo);
		url_escape(&url, s.s);
		buf_free(&s);
	}
	struct dl_resp r;
	int rc = dl_get(c->dl, url.s, NULL, 1 << 20, &r);
	if (rc == 0 && r.status != 200)
		rc = ezk_fail("%s: token request answered HTTP %ld", realm, r.status);
	struct value *j = NULL;
	if (rc == 0 && !(j = jparse(r.body.s, r.body.len, realm)))
		rc = -1;
	const char *tok = value_map_str(j, "token");
	if (!tok || !*tok)
		tok = value_map_str(j, "access_token");
	if (rc == 0 && (!tok || !*tok))
		rc = ezk_fail("%s: the token answer has no token", realm);
	if (rc == 0) {
		struct token **t = token_slot(c, base, repo);
		free((*t)->header);
		struct buf h = BUF_INIT;
		buf_printf(&h, "Authorization: Bearer %s", tok);
		(*t)->header = buf_detach(&h);
	}
	value_unref(j);
	dl_resp_free(&r);
	buf_free(&url);
	free(realm);
	free(service);
	free(scope);
	return rc;
}

/* GET with the repository's token; on 401 fetch a token and ask again. */
static int registry_get(struct oci_client *c, const char *base, const char *repo, const char *url,
			const char *accept, struct dl_resp *r)
{
	for (int round = 0; round < 2; round++) {
		struct token **t = token_slot(c, base, repo);
		const char *hdrs[3] = {accept, (*t)->header, NULL};
		if (!accept) {
			hdrs[0] = (*t)->header;
			hdrs[1] = NULL;
		}
		if (dl_get(c->dl, url, hdrs, MANIFEST_MAX, r) < 0)
			return -1;
		if (r->status != 401 || round == 1)
			return 0;
		char *ch = r->www_auth ? xstrdup(r->www_auth) : NULL;
		dl_resp_free(r);
		int rc = fetch_token(c, base, repo, ch);
		free(ch);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const char *ACCEPT =
    "Accept: " MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST;

/* A manifest by tag or digest, its bytes checked. */
static int get_manifest(struct oci_client *c, const char *base, const char *repo, const char *ref,
			struct buf *body, char **media_type, char digest[72])
{
	struct buf url = BUF_INIT;
	buf_printf(&url, "%s/v2/%s/manifests/%s", base, repo, ref);
	struct dl_resp r;
	int rc = registry_get(c, base, repo, url.s, ACCEPT, &r);
	if (rc == 0 && r.status != 200)
		rc = ezk_fail("%s: HTTP %ld%s", url.s, r.status,
			      r.status == 404 ? " (no such image or tag)" : "");
	char hex[SHA256_HEX];
	if (rc == 0) {
		sha256_buf(r.body.s, r.body.len, hex);
		const char *want = digest_parse(ref);
		const char *said = r.docker_digest ? digest_parse(r.docker_digest) : NULL;
		if (want && strcmp(want, hex) != 0)
			rc = ezk_fail("%s: the manifest's sha256 is %s, not the digest asked for",
				      url.s, hex);
		else if (said && strcmp(said, hex) != 0)
			rc = ezk_fail("%s: the manifest's sha256 is %s, the registry said %s",
				      url.s, hex, r.docker_digest);
	}
	if (rc == 0) {
		snprintf(digest, 72, "sha256:%s", hex);
		buf_reset(body);
		buf_put(body, r.body.s ? r.body.s : "", r.body.len);
		char *mt = NULL;
		if (r.content_type && *r.content_type) {
			size_t n = strcspn(r.content_type, ";");
			mt = xstrndup(r.content_type, n);
			while (n && mt[n - 1] == ' ')
				mt[--n] = '\0';
		}
		*media_type = mt;
	}
	dl_resp_free(&r);
	buf_free(&url);
	return rc;
}

static int is_list(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

static int is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

/* The entry of a list for our platform; NULL with a message listing what
 * the list offers. */
static const struct value *pick_platform(const struct oci_client *c, const struct value *list,
					 const char *what)
{
	const struct value *ms = value_map_get(list, "manifests");
	if (!ms || ms->type != V_LIST)
		return ezk_fail("%s: a manifest list without manifests", what), NULL;
	const struct value *best = NULL;
	struct buf offers = BUF_INIT;
	for (size_t i = 0; i < ms->u.list.n; i++) {
		const struct value *m = ms->u.list.v[i];
		const struct value *p = m->type == V_MAP ? value_map_get(m, "platform") : NULL;
		const char *os = value_map_str(p, "os"), *arch = value_map_str(p, "architecture");
		const char *var = value_map_str(p, "variant");
		if (!os || !arch)
			continue;
		buf_printf(&offers, "%s%s/%s%s%s", offers.len ? ", " : "", os, arch, var ? "/" : "",
			   var ? var : "");
		if (strcmp(os, c->o.os) != 0 || strcmp(arch, c->o.arch) != 0)
			continue;
		if (c->o.variant && *c->o.variant && (!var || strcmp(var, c->o.variant) != 0))
			continue;
		if (!best)
			best = m;
	}
	if (!best)
		ezk_fail("%s: no image for %s/%s%s%s in the list (it has: %s)", what, c->o.os,
			 c->o.arch, c->o.variant ? "/" : "", c->o.variant ? c->o.variant : "",
			 offers.len ? offers.s : "nothing");
	buf_free(&offers);
	return best;
}

static char *blob_path(const char *store, const char *hex)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/sha256/%s", store, hex);
	return buf_detach(&b);
}

static int fetch_blob(struct oci_client *c, const char *base, const char *repo,
		      const struct value *desc, const char *what)
{
	const char *dg = value_map_str(desc, "digest");
	const char *hex = digest_parse(dg);
	long long size = jint(desc, "size");
	if (!hex)
		return ezk_fail("%s: a descriptor without a valid sha256 digest", what);
	char *dest = blob_path(c->o.store, hex);
	struct buf url = BUF_INIT, label = BUF_INIT;
	buf_printf(&url, "%s/v2/%s/blobs/%s", base, repo, dg);
	buf_printf(&label, "%s@%.19s", repo, dg);
	int rc = -1;
	for (int round = 0; round < 2; round++) {
		struct token **t = token_slot(c, base, repo);
		const char *hdrs[2] = {(*t)->header, NULL};
		rc = dl_file(c->dl, url.s, hdrs, dest, hex, size, 0644, label.s);
		if (rc >= 0 || dl_last_status(c->dl) != 401 || round == 1)
			break;
		/* the token expired during a long pull: a new one */
		struct dl_resp r;
		if (dl_request(c->dl, "HEAD", url.s, NULL, 0, &r) < 0)
			break;
		int tr = fetch_token(c, base, repo, r.www_auth);
		dl_resp_free(&r);
		if (tr < 0)
			break;
	}
	buf_free(&url);
	buf_free(&label);
	free(dest);
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------- archives */

static int put_entry(struct archive *a, const char *path, long long size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : ezk_fail("%s", archive_error_string(a));
}

static int put_bytes(struct archive *a, const char *path, const void *data, size_t n)
{
	if (put_entry(a, path, (long long)n) < 0)
		return -1;
	if (n && archive_write_data(a, data, n) != (la_ssize_t)n)
		return ezk_fail("%s", archive_error_string(a));
	return 0;
}

static int put_file(struct archive *a, const char *path, const char *src)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return ezk_fail("%s: %s", src, strerror(errno));
	}
	int rc = put_entry(a, path, (long long)st.st_size);
	static _Thread_local char block[1 << 17];
	ssize_t n;
	while (rc == 0 && (n = read(fd, block, sizeof block)) > 0)
		if (archive_write_data(a, block, (size_t)n) != n)
			rc = ezk_fail("%s", archive_error_string(a));
	close(fd);
	return rc;
}

/* Write the layout tar of one manifest whose blobs are in the store. */
static int write_archive(const struct oci_client *c, const char *out, const char *name,
			 const char *source, const char *digest, const char *media_type,
			 const struct buf *manifest, const struct value *m)
{
	const char *tag = strrchr(name, ':');
	const char *slash = strrchr(name, '/');
	if (!tag || (slash && tag < slash))
		tag = "latest";
	else
		tag++;
	struct buf idx = BUF_INIT;
	buf_printf(&idx, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":",
		   MT_OCI_INDEX);
	buf_json_str(&idx, media_type, strlen(media_type));
	buf_printf(&idx, ",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{", digest,
		   manifest->len);
	buf_puts(&idx, "\"io.containerd.image.name\":");
	buf_json_str(&idx, name, strlen(name));
	buf_puts(&idx, ",\"org.opencontainers.image.ref.name\":");
	buf_json_str(&idx, tag, strlen(tag));
	buf_puts(&idx, ",\"io.ezk.image.source\":");
	buf_json_str(&idx, source, strlen(source));
	buf_printf(&idx, "},\"platform\":{\"architecture\":\"%s\",\"os\":\"%s\"", c->o.arch,
		   c->o.os);
	if (c->o.variant && *c->o.variant)
		buf_printf(&idx, ",\"variant\":\"%s\"", c->o.variant);
	buf_puts(&idx, "}}]}");

	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmpXXXXXX", out);
	int fd = mkstemp(tmp.s);
	if (fd < 0) {
		int e = errno;
		buf_free(&idx);
		buf_free(&tmp);
		return ezk_fail("%s: %s", out, strerror(e));
	}
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	int rc = archive_write_open_fd(a, fd) == ARCHIVE_OK
		     ? 0
		     : ezk_fail("%s: %s", out, archive_error_string(a));
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (rc == 0)
		rc = put_bytes(a, "oci-layout", layout, sizeof layout - 1);
	if (rc == 0)
		rc = put_bytes(a, "index.json", idx.s, idx.len);
	struct buf p = BUF_INIT;
	if (rc == 0) {
		buf_printf(&p, "blobs/sha256/%s", digest + 7);
		rc = put_bytes(a, p.s, manifest->s, manifest->len);
	}
	const struct value *cfg = value_map_get(m, "config");
	const struct value *layers = value_map_get(m, "layers");
	size_t nl = layers && layers->type == V_LIST ? layers->u.list.n : 0;
	/* a blob listed twice (an empty layer) goes in once */
	struct value *seen = value_map();
	for (size_t i = 0; rc == 0 && i <= nl; i++) {
		const struct value *d = i == 0 ? cfg : layers->u.list.v[i - 1];
		const char *hex = digest_parse(value_map_str(d, "digest"));
		if (!hex || value_map_get(seen, hex))
			continue;
		value_map_set(seen, hex, value_bool(1));
		char *src = blob_path(c->o.store, hex);
		buf_reset(&p);
		buf_printf(&p, "blobs/sha256/%s", hex);
		rc = put_file(a, p.s, src);
		free(src);
	}
	value_unref(seen);
	buf_free(&p);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = ezk_fail("%s: %s", out, archive_error_string(a));
	archive_write_free(a);
	if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		rc = ezk_fail("%s: %s", out, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp.s, out) < 0)
		rc = ezk_fail("%s: %s", out, strerror(errno));
	if (rc < 0)
		unlink(tmp.s);
	else {
		char *dir = xstrdup(out);
		char *sl = strrchr(dir, '/');
		if (sl) {
			*sl = '\0';
			dir_sync(dir);
		}
		free(dir);
	}
	buf_free(&tmp);
	buf_free(&idx);
	return rc;
}

/* One pull from one endpoint. */
static int pull_from(struct oci_client *c, const char *base, const struct oci_ref *r,
		     const char *source, const char *name, const char *out, struct oci_pulled *got)
{
	struct buf body = BUF_INIT;
	char *mt = NULL;
	char digest[72];
	struct value *m = NULL;
	char *what = oci_ref_str(r);
	int rc = get_manifest(c, base, r->repo, r->digest ? r->digest : r->tag, &body, &mt, digest);
	if (rc == 0 && !(m = jparse(body.s, body.len, what)))
		rc = -1;
	if (rc == 0 && !mt) {
		const char *inner = value_map_str(m, "mediaType");
		mt = xstrdup(inner			     ? inner
			     : value_map_get(m, "manifests") ? MT_OCI_INDEX
							     : MT_OCI_MANIFEST);
	}
	if (rc == 0 && is_list(mt)) {
		const struct value *pick = pick_platform(c, m, what);
		const char *dg = pick ? value_map_str(pick, "digest") : NULL;
		if (!pick)
			rc = -1;
		else if (!digest_parse(dg))
			rc = ezk_fail("%s: a list entry without a valid digest", what);
		char *dgc = dg ? xstrdup(dg) : NULL;
		value_unref(m);
		m = NULL;
		free(mt);
		mt = NULL;
		if (rc == 0)
			rc = get_manifest(c, base, r->repo, dgc, &body, &mt, digest);
		free(dgc);
		if (rc == 0 && !(m = jparse(body.s, body.len, what)))
			rc = -1;
		if (rc == 0 && !mt) {
			const char *inner = value_map_str(m, "mediaType");
			mt = xstrdup(inner ? inner : MT_OCI_MANIFEST);
		}
		got->from_list = 1;
	}
	if (rc == 0 && !is_manifest(mt))
		rc = ezk_fail("%s: unsupported manifest type %s (OCI or Docker v2 schema 2 "
			      "wanted)",
			      what, mt);
	long long total = 0;
	if (rc == 0) {
		const struct value *cfg = value_map_get(m, "config");
		const struct value *layers = value_map_get(m, "layers");
		if (!cfg || !layers || layers->type != V_LIST)
			rc = ezk_fail("%s: a manifest without config or layers", what);
		for (size_t i = 0; rc == 0 && i <= layers->u.list.n; i++) {
			const struct value *d = i == 0 ? cfg : layers->u.list.v[i - 1];
			rc = fetch_blob(c, base, r->repo, d, what);
			total += jint(d, "size") > 0 ? jint(d, "size") : 0;
		}
	}
	if (rc == 0)
		rc = write_archive(c, out, name, source, digest, mt, &body, m);
	if (rc == 0) {
		memcpy(got->digest, digest, sizeof digest);
		got->media_type = xstrdup(mt);
		struct buf pf = BUF_INIT;
		buf_printf(&pf, "%s/%s%s%s", c->o.os, c->o.arch, c->o.variant ? "/" : "",
			   c->o.variant ? c->o.variant : "");
		got->platform = buf_detach(&pf);
		got->size = total;
	}
	value_unref(m);
	free(mt);
	free(what);
	buf_free(&body);
	return rc;
}

int oci_pull(struct oci_client *c, const char *ref, const char *name, const char *out_tar,
	     struct oci_pulled *got)
{
	memset(got, 0, sizeof *got);
	struct oci_ref r;
	if (oci_ref_parse(ref, &r) < 0)
		return -1;
	char *source = oci_ref_str(&r);
	/* Already pulled: the same name from the same source, every blob whole. */
	struct oci_archive_info have;
	if (file_exists(out_tar) && oci_archive_read(out_tar, 1, &have) == 0) {
		int same = have.name && !strcmp(have.name, name) && have.source &&
			   !strcmp(have.source, source) && have.platform &&
			   strstr(have.platform, c->o.arch);
		if (same) {
			memcpy(got->digest, have.digest, sizeof got->digest);
			got->platform = xstrdup(have.platform);
			got->size = have.size;
		}
		oci_archive_info_free(&have);
		if (same) {
			free(source);
			oci_ref_free(&r);
			return 1;
		}
	}
	ezk_err_clear();
	if (mkdir_p(c->o.store, 0755) < 0) {
		free(source);
		oci_ref_free(&r);
		return -1;
	}
	char *base = endpoint(c, r.registry);
	int rc = pull_from(c, base, &r, source, name, out_tar, got);
	if (rc < 0 && strcmp(r.registry, "docker.io") == 0 && c->o.docker_mirror &&
	    *c->o.docker_mirror) {
		struct buf first = BUF_INIT;
		buf_puts(&first, ezk_err_msg());
		free(base);
		base = xstrdup(c->o.docker_mirror);
		while (*base && base[strlen(base) - 1] == '/')
			base[strlen(base) - 1] = '\0';
		oci_pulled_free(got);
		rc = pull_from(c, base, &r, source, name, out_tar, got);
		if (rc == 0)
			got->from_mirror = 1;
		else
			ezk_fail_prefix("%s; through the mirror %s", first.s, base);
		buf_free(&first);
	}
	free(base);
	free(source);
	oci_ref_free(&r);
	return rc;
}

/* ------------------------------------------------------ reading archives */

struct blobrec {
	char hex[SHA256_HEX];
	char name[SHA256_HEX];
	long long size;
	struct buf small; /* content when small (manifests, configs) */
};

void oci_archive_info_free(struct oci_archive_info *info)
{
	free(info->name);
	free(info->tag);
	free(info->source);
	free(info->platform);
	memset(info, 0, sizeof *info);
}

static struct blobrec *find_blob(struct blobrec *b, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].name, hex))
			return &b[i];
	return NULL;
}

static int check_desc(const char *path, struct blobrec *blobs, size_t nb, const struct value *d,
		      const char *what)
{
	const char *hex = digest_parse(value_map_str(d, "digest"));
	if (!hex)
		return ezk_fail("%s: the %s has no valid digest", path, what);
	struct blobrec *b = find_blob(blobs, nb, hex);
	if (!b)
		return ezk_fail("%s: the %s blob sha256:%.12s... is missing", path, what, hex);
	if (strcmp(b->hex, b->name) != 0)
		return ezk_fail("%s: blob sha256:%.12s... has sha256 %.12s... (damaged)", path,
				b->name, b->hex);
	long long size = jint(d, "size");
	if (size >= 0 && size != b->size)
		return ezk_fail("%s: the %s blob sha256:%.12s... has %lld bytes, the manifest says "
				"%lld",
				path, what, hex, b->size, size);
	return 0;
}

int oci_archive_read(const char *path, int verify, struct oci_archive_info *info)
{
	memset(info, 0, sizeof *info);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	struct blobrec *blobs = NULL;
	size_t nb = 0, cap = 0;
	struct buf index = BUF_INIT;
	int have_index = 0, rc = 0;
	struct value *idx = NULL, *man = NULL;
	struct stat st;
	if (stat(path, &st) < 0)
		rc = ezk_fail("%s: %s", path, strerror(errno));
	else
		info->size = st.st_size;
	if (rc == 0 && archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		rc = ezk_fail("%s: %s", path, archive_error_string(a));
	struct archive_entry *e;
	while (rc == 0) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = ezk_fail("%s: not an image archive (%s)", path,
				      archive_error_string(a));
			break;
		}
		const char *p = archive_entry_pathname(e);
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		if (!strcmp(p, "index.json")) {
			have_index = 1;
			char block[8192];
			la_ssize_t n;
			while ((n = archive_read_data(a, block, sizeof block)) > 0 &&
			       index.len < MANIFEST_MAX)
				buf_put(&index, block, (size_t)n);
			if (n < 0)
				rc = ezk_fail("%s: %s", path, archive_error_string(a));
		} else if (verify && !strncmp(p, "blobs/sha256/", 13) && sha256_hex_ok(p + 13) &&
			   archive_entry_filetype(e) == AE_IFREG) {
			if (nb == cap) {
				cap = cap ? cap * 2 : 16;
				blobs = xrealloc(blobs, cap * sizeof *blobs);
			}
			struct blobrec *b = &blobs[nb++];
			memset(b, 0, sizeof *b);
			memcpy(b->name, p + 13, SHA256_HEX);
			struct sha256 h;
			sha256_init(&h);
			char block[1 << 16];
			la_ssize_t n;
			while ((n = archive_read_data(a, block, sizeof block)) > 0) {
				sha256_update(&h, block, (size_t)n);
				if (b->size + n <= (long long)MANIFEST_MAX)
					buf_put(&b->small, block, (size_t)n);
				b->size += n;
			}
			sha256_final(&h, b->hex);
			if (n < 0)
				rc = ezk_fail("%s: %s", path, archive_error_string(a));
		} else {
			archive_read_data_skip(a);
		}
	}
	if (rc == 0 && !have_index)
		rc = ezk_fail("%s: no index.json (not an OCI image archive)", path);
	if (rc == 0 && !(idx = jparse(index.s ? index.s : "", index.len, path)))
		rc = ezk_fail_prefix("%s: index.json", path);
	const struct value *ms = idx ? value_map_get(idx, "manifests") : NULL;
	if (rc == 0 && (!ms || ms->type != V_LIST || ms->u.list.n != 1))
		rc = ezk_fail("%s: index.json must list exactly one image", path);
	const struct value *d = rc == 0 ? ms->u.list.v[0] : NULL;
	const struct value *ann = d ? value_map_get(d, "annotations") : NULL;
	if (rc == 0) {
		const char *dg = value_map_str(d, "digest");
		if (!digest_parse(dg))
			rc = ezk_fail("%s: index.json: the image has no valid digest", path);
		else
			snprintf(info->digest, sizeof info->digest, "%s", dg);
		const char *s;
		if ((s = value_map_str(ann, "io.containerd.image.name")))
			info->name = xstrdup(s);
		if ((s = value_map_str(ann, "org.opencontainers.image.ref.name")))
			info->tag = xstrdup(s);
		if ((s = value_map_str(ann, "io.ezk.image.source")))
			info->source = xstrdup(s);
		const struct value *pf = value_map_get(d, "platform");
		const char *pos = value_map_str(pf, "os"),
			   *parch = value_map_str(pf, "architecture");
		const char *pvar = value_map_str(pf, "variant");
		if (pos && parch) {
			struct buf b = BUF_INIT;
			buf_printf(&b, "%s/%s", pos, parch);
			if (pvar)
				buf_printf(&b, "/%s", pvar);
			info->platform = buf_detach(&b);
		}
		if (rc == 0 && !info->name)
			rc = ezk_fail("%s: index.json has no io.containerd.image.name annotation "
				      "(containerd would import it without a name)",
				      path);
	}
	if (rc == 0 && verify) {
		rc = check_desc(path, blobs, nb, d, "manifest");
		struct blobrec *mb = rc == 0 ? find_blob(blobs, nb, info->digest + 7) : NULL;
		if (rc == 0 && !(man = jparse(mb->small.s ? mb->small.s : "", mb->small.len, path)))
			rc = ezk_fail_prefix("%s: the manifest", path);
		const struct value *layers = man ? value_map_get(man, "layers") : NULL;
		if (rc == 0)
			rc = check_desc(path, blobs, nb, value_map_get(man, "config"), "config");
		if (rc == 0 && (!layers || layers->type != V_LIST))
			rc = ezk_fail("%s: the manifest lists no layers", path);
		for (size_t i = 0; rc == 0 && i < layers->u.list.n; i++)
			rc = check_desc(path, blobs, nb, layers->u.list.v[i], "layer");
		if (rc == 0 && !info->platform) {
			const char *ch =
			    digest_parse(value_map_str(value_map_get(man, "config"), "digest"));
			struct blobrec *cb = find_blob(blobs, nb, ch);
			struct value *cfg =
			    cb ? jparse(cb->small.s ? cb->small.s : "", cb->small.len, path) : NULL;
			const char *cos = value_map_str(cfg, "os"),
				   *carch = value_map_str(cfg, "architecture");
			if (cos && carch) {
				struct buf b = BUF_INIT;
				buf_printf(&b, "%s/%s", cos, carch);
				info->platform = buf_detach(&b);
			}
			value_unref(cfg);
			ezk_err_clear();
		}
	}
	for (size_t i = 0; i < nb; i++)
		buf_free(&blobs[i].small);
	free(blobs);
	value_unref(idx);
	value_unref(man);
	buf_free(&index);
	archive_read_free(a);
	if (rc < 0)
		oci_archive_info_free(info);
	return rc;
}
