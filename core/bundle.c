/* bundle.c - create, verify and import ezk bundles (bundle.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "bundle.h"
#include "digest.h"
#include "err.h"
#include "fsutil.h"
#include "oci.h"
#include "progress.h"
#include "value.h"
#include "yamlio.h"

#define MANIFEST_NAME "ezk-bundle.json"
#define BAD (-1)
#define LOCAL (-2)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bundle_summary_free(struct bundle_summary *s)
{
	value_unref(s->manifest);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------ what home holds */

struct item {
	char *rel, *abs;
	long long size;
	mode_t mode;
};

struct items {
	struct item *v;
	size_t n, cap;
};

static int skip_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] == '.' || (n > 5 && !strcmp(name + n - 5, ".part")) ||
	       strstr(name, ".tmp") != NULL;
}

static int walk(const char *abs, const char *rel, struct items *it)
{
	DIR *d = opendir(abs);
	if (!d)
		return errno == ENOENT ? 0 : ezk_fail("%s: %s", abs, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (skip_name(de->d_name))
			continue;
		char *a = path_join(abs, de->d_name), *r = path_join(rel, de->d_name);
		struct stat st;
		if (stat(a, &st) < 0) {
			rc = ezk_fail("%s: %s", a, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(a, r, it);
		} else if (S_ISREG(st.st_mode)) {
			if (it->n == it->cap) {
				it->cap = it->cap ? it->cap * 2 : 64;
				it->v = xrealloc(it->v, it->cap * sizeof *it->v);
			}
			it->v[it->n++] = (struct item){r, a, st.st_size, st.st_mode & 0777};
			continue;
		}
		free(a);
		free(r);
	}
	closedir(d);
	return rc;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->rel, ((const struct item *)b)->rel);
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].rel);
		free(it->v[i].abs);
	}
	free(it->v);
}

/* "packages/debian_12/conntrack_1%3a1.4.7-1+b2_amd64.deb" -> its parts. */
static struct value *package_entry(const char *rel)
{
	struct value *m = value_map();
	value_map_set(m, "file", value_str(rel));
	const char *os = rel + strlen("packages/");
	const char *slash = strchr(os, '/');
	if (slash)
		value_map_set(m, "os", value_strn(os, (size_t)(slash - os)));
	const char *base = strrchr(rel, '/') + 1;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".deb")) {
		char *s = xstrndup(base, n - 4);
		char *u1 = strchr(s, '_');
		char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
		if (u1 && u2) {
			*u1 = *u2 = '\0';
			struct buf v = BUF_INIT;
			for (const char *p = u1 + 1; *p; p++) {
				if (p[0] == '%' && p[1] == '3' && (p[2] == 'a' || p[2] == 'A')) {
					buf_putc(&v, ':');
					p += 2;
				} else {
					buf_putc(&v, *p);
				}
			}
			value_map_set(m, "name", value_str(s));
			value_map_set(m, "version", value_str(buf_cstr(&v)));
			value_map_set(m, "arch", value_str(u2 + 1));
			buf_free(&v);
		}
		free(s);
	}
	return m;
}

/* ----------------------------------------------------------- the footer */

struct footer {
	int version;
	long long payload;
	char sha256[SHA256_HEX], manifest_sha256[SHA256_HEX];
	char compression[16];
};

static void footer_write(char out[BUNDLE_FOOTER], const struct footer *f)
{
	memset(out, 0, BUNDLE_FOOTER);
	snprintf(out, BUNDLE_FOOTER,
		 "ezk-bundle 1\npayload %lld\nsha256 %s\nmanifest-sha256 %s\ncompression %s\n",
		 f->payload, f->sha256, f->manifest_sha256, f->compression);
}

/* 0 ok; 1 not a footer at all; -1 a footer that is damaged (message). */
static int footer_parse(const char *file, const char in[BUNDLE_FOOTER], struct footer *f)
{
	memset(f, 0, sizeof *f);
	if (strncmp(in, "ezk-bundle ", 11) != 0)
		return 1;
	const char *end = memchr(in, '\0', BUNDLE_FOOTER);
	if (!end)
		return ezk_fail("%s: the footer is damaged (no end)", file);
	for (const char *p = end; p < in + BUNDLE_FOOTER; p++)
		if (*p)
			return ezk_fail("%s: the footer is damaged (bytes after its text)", file);
	int n = 0;
	if (sscanf(in,
		   "ezk-bundle %d\npayload %lld\nsha256 %64s\nmanifest-sha256 %64s\ncompression "
		   "%15s\n%n",
		   &f->version, &f->payload, f->sha256, f->manifest_sha256, f->compression,
		   &n) != 5 ||
	    in + n != end)
		return ezk_fail("%s: the footer is damaged", file);
	if (f->version != 1)
		return ezk_fail(
		    "%s: bundle format %d; this ezk reads format 1 (a newer ezk made it)", file,
		    f->version);
	if (!sha256_hex_ok(f->sha256) || !sha256_hex_ok(f->manifest_sha256) || f->payload < 0)
		return ezk_fail("%s: the footer is damaged", file);
	return 0;
}

/* ---------------------------------------------------------------- create */

struct writer {
	int fd;
	struct sha256 payload, whole;
	long long bytes;
	int err;
};

static la_ssize_t w_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct writer *w = ud;
	(void)a;
	for (size_t off = 0; off < n;) {
		ssize_t r = write(w->fd, (const char *)buf + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			w->err = errno;
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		off += (size_t)r;
	}
	sha256_update(&w->payload, buf, n);
	sha256_update(&w->whole, buf, n);
	w->bytes += (long long)n;
	return (la_ssize_t)n;
}

static int entry_header(struct archive *a, const char *path, long long size, mode_t mode)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, mode);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : ezk_fail("%s", archive_error_string(a));
}

static int add_file(struct archive *a, const struct item *it, mode_t mode, char hex[SHA256_HEX],
		    struct progress *prog, long long *done)
{
	int fd = open(it->abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ezk_fail("%s: %s", it->abs, strerror(errno));
	if (entry_header(a, it->rel, it->size, mode) < 0) {
		close(fd);
		return LOCAL;
	}
	static _Thread_local char block[1 << 17];
	struct sha256 h;
	sha256_init(&h);
	long long n = 0;
	ssize_t r;
	int rc = 0;
	while ((r = read(fd, block, sizeof block)) > 0) {
		if (n + r > it->size) {
			rc = ezk_fail("%s: changed while it was being packed", it->abs);
			break;
		}
		sha256_update(&h, block, (size_t)r);
		if (archive_write_data(a, block, (size_t)r) != r) {
			rc = ezk_fail("%s", archive_error_string(a));
			break;
		}
		n += r;
		*done += r;
		progress_update(prog, *done);
	}
	if (rc == 0 && r < 0)
		rc = ezk_fail("%s: %s", it->abs, strerror(errno));
	if (rc == 0 && n != it->size)
		rc = ezk_fail("%s: changed while it was being packed", it->abs);
	close(fd);
	if (rc < 0) {
		sha256_abort(&h);
		return LOCAL;
	}
	sha256_final(&h, hex);
	return 0;
}

static char *iso_now(void)
{
	char s[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

static struct value *read_download_json(const char *home)
{
	char *p = path_join(home, "download.json");
	struct value *v = NULL;
	if (file_exists(p)) {
		v = yaml_load_file(p);
		if (!v)
			ezk_err_clear();
	}
	free(p);
	return v;
}

int bundle_create(const char *home, const char *file, const struct bundle_opts *o,
		  struct bundle_summary *s)
{
	memset(s, 0, sizeof *s);
	double t0 = now_s();
	const char *compress = o && o->compress ? o->compress : "none";
	struct progress *prog = o ? o->prog : NULL;
	if (strcmp(compress, "none") && strcmp(compress, "zstd") && strcmp(compress, "gzip"))
		return ezk_fail("--compress %s: use none, zstd or gzip", compress);
	struct items it = {0};
	static const char *const tops[] = {"bin", "images", "packages"};
	for (size_t i = 0; i < 3; i++) {
		char *a = path_join(home, tops[i]);
		int rc = walk(a, tops[i], &it);
		free(a);
		if (rc < 0) {
			items_free(&it);
			return LOCAL;
		}
	}
	if (it.n == 0) {
		items_free(&it);
		return ezk_fail("%s: nothing to bundle (bin/, images/ and packages/ are empty): "
				"run 'ezk download' (or scripts/bin-from-debian.sh) first",
				home);
	}
	qsort(it.v, it.n, sizeof *it.v, item_cmp);

	struct value *man = value_map(), *files = value_list(), *images = value_list(),
		     *pkgs = value_list(), *oses = value_list();
	struct value *dj = read_download_json(home);
	const char *arch = NULL;
	long long total = 0;
	int rc = 0;
	/* images: their names and digests, from each archive's index.json */
	for (size_t i = 0; rc == 0 && i < it.n; i++) {
		total += it.v[i].size;
		if (strncmp(it.v[i].rel, "images/", 7) == 0) {
			size_t n = strlen(it.v[i].rel);
			if (n < 5 || strcmp(it.v[i].rel + n - 4, ".tar") != 0)
				continue;
			struct oci_archive_info in;
			if (oci_archive_read(it.v[i].abs, 0, &in) < 0) {
				rc = BAD;
				break;
			}
			struct value *m = value_map();
			value_map_set(m, "file", value_str(it.v[i].rel));
			value_map_set(m, "name", value_str(in.name));
			value_map_set(m, "tag", in.tag ? value_str(in.tag) : value_null());
			value_map_set(m, "digest", value_str(in.digest));
			value_map_set(m, "platform",
				      in.platform ? value_str(in.platform) : value_null());
			value_map_set(m, "source", in.source ? value_str(in.source) : value_null());
			value_list_push(images, m);
			if (in.platform && !arch) {
				const char *sl = strchr(in.platform, '/');
				static _Thread_local char a[32];
				snprintf(a, sizeof a, "%.*s", (int)strcspn(sl ? sl + 1 : "", "/"),
					 sl ? sl + 1 : "");
				arch = a;
			}
			oci_archive_info_free(&in);
		} else if (strncmp(it.v[i].rel, "packages/", 9) == 0) {
			struct value *p = package_entry(it.v[i].rel);
			const struct value *osv = value_map_get(p, "os");
			int seen = 0;
			for (size_t k = 0; osv && k < value_len(oses); k++)
				seen |= value_equal(value_list_get(oses, k), osv);
			if (osv && !seen)
				value_list_push(oses, value_ref((struct value *)osv));
			value_list_push(pkgs, p);
		}
	}
	const struct value *djarch = dj ? value_map_get(dj, "arch") : NULL;
	if (djarch && djarch->type == V_STR)
		arch = djarch->u.str.s;
	if (!arch)
		arch = oci_host_arch();

	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmpXXXXXX", file);
	int fd = rc == 0 ? mkstemp(tmp.s) : -1;
	if (rc == 0 && fd < 0)
		rc = ezk_fail("%s: %s", file, strerror(errno)), rc = LOCAL;
	struct writer w = {.fd = fd};
	sha256_init(&w.payload);
	sha256_init(&w.whole);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (!strcmp(compress, "zstd"))
		archive_write_add_filter_zstd(a);
	else if (!strcmp(compress, "gzip"))
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (rc == 0 && archive_write_open2(a, &w, NULL, w_write, NULL, NULL) != ARCHIVE_OK)
		rc = ezk_fail("%s: %s", file, archive_error_string(a)), rc = LOCAL;
	long long done = 0;
	progress_start(prog, file, total);
	for (size_t i = 0; rc == 0 && i < it.n; i++) {
		mode_t mode = strncmp(it.v[i].rel, "bin/", 4) == 0 ? 0755 : 0644;
		char hex[SHA256_HEX];
		rc = add_file(a, &it.v[i], mode, hex, prog, &done);
		if (rc < 0)
			break;
		struct value *f = value_map();
		char ms[8];
		snprintf(ms, sizeof ms, "%04o", (unsigned)mode);
		value_map_set(f, "path", value_str(it.v[i].rel));
		value_map_set(f, "size", value_int(it.v[i].size));
		value_map_set(f, "sha256", value_str(hex));
		value_map_set(f, "mode", value_str(ms));
		value_list_push(files, f);
	}
	struct footer ft = {.version = 1};
	if (rc == 0) {
		char *created = iso_now();
		value_map_set(man, "format", value_str("ezk-bundle/1"));
		value_map_set(man, "created", value_str(created));
		value_map_set(man, "ezk", value_str(EZK_VERSION));
		value_map_set(man, "arch", value_str(arch));
		value_map_set(man, "os", value_ref(oses));
		const struct value *vs = dj ? value_map_get(dj, "versions") : NULL;
		value_map_set(man, "versions",
			      vs && vs->type == V_MAP ? value_ref((struct value *)vs)
						      : value_map());
		value_map_set(man, "files", value_ref(files));
		value_map_set(man, "images", value_ref(images));
		value_map_set(man, "packages", value_ref(pkgs));
		value_map_set(man, "bytes", value_int(total));
		free(created);
		struct buf js = BUF_INIT;
		value_to_json(man, &js, 1, 0);
		buf_putc(&js, '\n');
		sha256_buf(js.s, js.len, ft.manifest_sha256);
		if (entry_header(a, MANIFEST_NAME, (long long)js.len, 0644) < 0 ||
		    archive_write_data(a, js.s, js.len) != (la_ssize_t)js.len)
			rc = ezk_fail("%s: %s", file, archive_error_string(a)), rc = LOCAL;
		buf_free(&js);
	}
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = ezk_fail("%s: %s", file, archive_error_string(a)), rc = LOCAL;
	archive_write_free(a);
	progress_end(prog, "packed", done);
	if (rc == 0) {
		char foot[BUNDLE_FOOTER];
		ft.payload = w.bytes;
		sha256_final(&w.payload, ft.sha256);
		snprintf(ft.compression, sizeof ft.compression, "%s", compress);
		footer_write(foot, &ft);
		sha256_update(&w.whole, foot, BUNDLE_FOOTER);
		if (write(fd, foot, BUNDLE_FOOTER) != BUNDLE_FOOTER || fchmod(fd, 0644) < 0 ||
		    fsync(fd) < 0)
			rc = ezk_fail("%s: %s", file, strerror(errno)), rc = LOCAL;
		s->file_size = w.bytes + BUNDLE_FOOTER;
	} else {
		sha256_abort(&w.payload);
	}
	if (rc == 0)
		sha256_final(&w.whole, s->sha256);
	else
		sha256_abort(&w.whole);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp.s, file) < 0)
		rc = ezk_fail("%s: %s", file, strerror(errno)), rc = LOCAL;
	if (rc < 0 && fd >= 0)
		unlink(tmp.s);
	if (rc == 0) {
		char *dir = xstrdup(file), *sl = strrchr(dir, '/');
		if (sl) {
			*sl = '\0';
			dir_sync(*dir ? dir : "/");
		} else {
			dir_sync(".");
		}
		free(dir);
		s->files = (long long)value_len(files);
		s->images = (long long)value_len(images);
		s->packages = (long long)value_len(pkgs);
		s->bytes = total;
		s->manifest = value_ref(man);
	}
	s->seconds = now_s() - t0;
	buf_free(&tmp);
	value_unref(files);
	value_unref(images);
	value_unref(pkgs);
	value_unref(oses);
	value_unref(man);
	value_unref(dj);
	items_free(&it);
	return rc;
}

/* ------------------------------------------------------ verify / import */

struct reader {
	const char *file;
	int fd;
	long long payload, pos;
	struct sha256 ph, wh;
	char block[1 << 17];
	int err;
};

static la_ssize_t r_read(struct archive *a, void *ud, const void **out)
{
	struct reader *r = ud;
	long long left = r->payload - r->pos;
	size_t want = left < (long long)sizeof r->block ? (size_t)left : sizeof r->block;
	if (want == 0)
		return 0;
	ssize_t n;
	do
		n = read(r->fd, r->block, want);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	sha256_update(&r->ph, r->block, (size_t)n);
	sha256_update(&r->wh, r->block, (size_t)n);
	r->pos += n;
	*out = r->block;
	return n;
}

/* A member's name is one ezk would have written. */
static int member_ok(const char *p)
{
	if (!strcmp(p, MANIFEST_NAME))
		return 1;
	if (strncmp(p, "bin/", 4) && strncmp(p, "images/", 7) && strncmp(p, "packages/", 9))
		return 0;
	if (strstr(p, "//") || p[strlen(p) - 1] == '/')
		return 0;
	for (const char *c = p; *c; c++)
		if ((c == p || c[-1] == '/') && c[0] == '.' &&
		    (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || !c[2]))))
			return 0;
	return 1;
}

/* Is the beginning of this file an ezk bundle's payload? (for "truncated"
 * versus "not an ezk bundle" when the footer is missing) */
static int looks_like_payload(const char *file)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	struct archive_entry *e;
	int yes = archive_read_open_filename(a, file, 1 << 16) == ARCHIVE_OK &&
		  archive_read_next_header(a, &e) == ARCHIVE_OK &&
		  member_ok(archive_entry_pathname(e));
	archive_read_free(a);
	return yes;
}

static int write_all(int fd, const void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const char *)p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int check_manifest(const char *file, struct value *man, struct value *seen)
{
	const struct value *fmt = value_map_get(man, "format");
	if (!fmt || fmt->type != V_STR || strcmp(fmt->u.str.s, "ezk-bundle/1") != 0)
		return ezk_fail("%s: %s: not format ezk-bundle/1", file, MANIFEST_NAME);
	const struct value *files = value_map_get(man, "files");
	if (!files || files->type != V_LIST)
		return ezk_fail("%s: %s: no file list", file, MANIFEST_NAME);
	for (size_t i = 0; i < files->u.list.n; i++) {
		const struct value *f = files->u.list.v[i];
		const struct value *p = value_map_get(f, "path"), *h = value_map_get(f, "sha256");
		const struct value *z = value_map_get(f, "size");
		if (!p || p->type != V_STR || !h || h->type != V_STR || !z || z->type != V_INT)
			return ezk_fail("%s: %s: file %zu is incomplete", file, MANIFEST_NAME,
					i + 1);
		const struct value *got = value_map_get(seen, p->u.str.s);
		if (!got)
			return ezk_fail("%s: %s is in the manifest but not in the bundle", file,
					p->u.str.s);
		const struct value *gh = value_map_get(got, "sha256");
		const struct value *gz = value_map_get(got, "size");
		if (gz->u.i != z->u.i)
			return ezk_fail("%s: %s: %lld bytes, the manifest says %lld", file,
					p->u.str.s, gz->u.i, z->u.i);
		if (strcmp(gh->u.str.s, h->u.str.s) != 0)
			return ezk_fail("%s: %s: sha256 %s, the manifest says %s (damaged)", file,
					p->u.str.s, gh->u.str.s, h->u.str.s);
		value_map_set((struct value *)got, "listed", value_bool(1));
	}
	for (size_t i = 0; i < value_len(seen); i++)
		if (!value_map_get(value_map_val(seen, i), "listed"))
			return ezk_fail("%s: %s is in the bundle but not in its manifest", file,
					value_map_key(seen, i));
	return 0;
}

static int read_bundle(const char *file, const char *home, struct progress *prog,
		       struct bundle_summary *s)
{
	memset(s, 0, sizeof *s);
	double t0 = now_s();
	struct reader *r = xcalloc(1, sizeof *r);
	r->file = file;
	r->fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (r->fd < 0 || fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno, opened = r->fd >= 0;
		if (opened)
			close(r->fd);
		free(r);
		return ezk_fail("%s: %s", file, opened ? "not a regular file" : strerror(e));
	}
	int rc = 0;
	struct footer ft;
	char foot[BUNDLE_FOOTER];
	if (st.st_size < BUNDLE_FOOTER ||
	    pread(r->fd, foot, BUNDLE_FOOTER, st.st_size - BUNDLE_FOOTER) != BUNDLE_FOOTER) {
		rc = 1;
	} else {
		rc = footer_parse(file, foot, &ft);
	}
	if (rc == 1)
		rc = looks_like_payload(file)
			 ? ezk_fail("%s: truncated: the ezk-bundle footer at its end is missing "
				    "(%lld bytes left)",
				    file, (long long)st.st_size)
			 : ezk_fail("%s: not an ezk bundle (no ezk-bundle footer)", file);
	if (rc == 0 && ft.payload != (long long)st.st_size - BUNDLE_FOOTER)
		rc = ezk_fail("%s: %lld bytes, the footer says %lld: truncated or damaged", file,
			      (long long)st.st_size, ft.payload + BUNDLE_FOOTER);
	if (rc < 0) {
		close(r->fd);
		free(r);
		s->seconds = now_s() - t0;
		return BAD;
	}
	r->payload = ft.payload;
	sha256_init(&r->ph);
	sha256_init(&r->wh);

	char *stage = NULL;
	if (home) {
		if (mkdir_p(home, 0755) < 0)
			rc = LOCAL;
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s/.import-XXXXXX", home);
		stage = buf_detach(&b);
		if (rc == 0 && !mkdtemp(stage))
			rc = ezk_fail("%s: %s", stage, strerror(errno)), rc = LOCAL;
	}
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (rc == 0 && archive_read_open(a, r, NULL, r_read, NULL) != ARCHIVE_OK)
		rc = ezk_fail("%s: %s", file, archive_error_string(a));
	struct value *seen = value_map(), *man = NULL;
	struct buf mtext = BUF_INIT;
	static _Thread_local char block[1 << 17];
	progress_start(prog, file, ft.payload);
	while (rc == 0) {
		struct archive_entry *e;
		int h = archive_read_next_header(a, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h != ARCHIVE_OK) {
			rc = r->err ? ezk_fail("%s: %s", file, strerror(r->err))
				    : ezk_fail("%s: damaged (%s)", file, archive_error_string(a));
			break;
		}
		const char *p = archive_entry_pathname(e);
		if (!p || !member_ok(p)) {
			rc = ezk_fail("%s: member '%s' is not one ezk writes (bin/, images/, "
				      "packages/ only)",
				      file, p ? p : "");
			break;
		}
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
			rc = ezk_fail("%s: member '%s' is not a regular file", file, p);
			break;
		}
		if (value_map_get(seen, p)) {
			rc = ezk_fail("%s: member '%s' appears twice", file, p);
			break;
		}
		int is_man = !strcmp(p, MANIFEST_NAME);
		int out = -1;
		char *dest = NULL;
		if (home && !is_man) {
			dest = path_join(stage, p);
			char *sl = strrchr(dest, '/');
			*sl = '\0';
			if (mkdir_p(dest, 0755) < 0)
				rc = LOCAL;
			*sl = '/';
			if (rc == 0 &&
			    (out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
				rc = ezk_fail("%s: %s", dest, strerror(errno)), rc = LOCAL;
		}
		struct sha256 fh;
		sha256_init(&fh);
		long long n = 0;
		la_ssize_t got;
		while (rc == 0 && (got = archive_read_data(a, block, sizeof block)) != 0) {
			if (got < 0) {
				rc = r->err ? ezk_fail("%s: %s", file, strerror(r->err))
					    : ezk_fail("%s: %s: damaged (%s)", file, p,
						       archive_error_string(a));
				break;
			}
			sha256_update(&fh, block, (size_t)got);
			n += got;
			if (is_man && mtext.len < (64u << 20))
				buf_put(&mtext, block, (size_t)got);
			if (out >= 0 && write_all(out, block, (size_t)got) < 0)
				rc = ezk_fail("%s: %s", dest, strerror(errno)), rc = LOCAL;
			progress_update(prog, r->pos);
		}
		char hex[SHA256_HEX];
		sha256_final(&fh, hex);
		if (out >= 0) {
			mode_t mode = (mode_t)archive_entry_perm(e) & 0755;
			if (rc == 0 && (fchmod(out, mode ? mode : 0644) < 0 || fsync(out) < 0))
				rc = ezk_fail("%s: %s", dest, strerror(errno)), rc = LOCAL;
			close(out);
		}
		free(dest);
		if (rc < 0)
			break;
		if (is_man)
			continue; /* checked against the footer below */
		struct value *rec = value_map();
		value_map_set(rec, "sha256", value_str(hex));
		value_map_set(rec, "size", value_int(n));
		value_map_set(seen, p, rec);
		s->bytes += n;
	}
	/* what libarchive did not need (the tar's last padding) is hashed too */
	if (rc == 0) {
		const void *dummy;
		la_ssize_t k;
		while ((k = r_read(a, r, &dummy)) > 0)
			;
		if (k < 0)
			rc = ezk_fail("%s: %s", file, strerror(r->err));
	}
	progress_end(prog, home ? "imported" : "verified", r->pos);
	char ph[SHA256_HEX], wh[SHA256_HEX];
	sha256_final(&r->ph, ph);
	sha256_update(&r->wh, foot, BUNDLE_FOOTER);
	sha256_final(&r->wh, wh);
	if (rc == 0 && strcmp(ph, ft.sha256) != 0)
		rc = ezk_fail("%s: damaged: the payload's sha256 is %s, the footer says %s", file,
			      ph, ft.sha256);
	if (rc == 0 && !mtext.len)
		rc = ezk_fail("%s: no %s in the bundle", file, MANIFEST_NAME);
	if (rc == 0) {
		char mh[SHA256_HEX];
		sha256_buf(mtext.s, mtext.len, mh);
		if (strcmp(mh, ft.manifest_sha256) != 0)
			rc = ezk_fail("%s: %s: sha256 %s, the footer says %s (damaged)", file,
				      MANIFEST_NAME, mh, ft.manifest_sha256);
	}
	if (rc == 0 && !(man = yaml_load_any(mtext.s, mtext.len, MANIFEST_NAME)))
		rc = ezk_fail_prefix("%s", file);
	if (rc == 0 && man->type != V_MAP)
		rc = ezk_fail("%s: %s is not an object", file, MANIFEST_NAME);
	if (rc == 0)
		rc = check_manifest(file, man, seen);
	archive_read_free(a);
	close(r->fd);

	/* all checks passed: move the files into place */
	if (rc == 0 && home) {
		const struct value *files = value_map_get(man, "files");
		for (size_t i = 0; rc == 0 && i < files->u.list.n; i++) {
			const char *p = value_map_get(files->u.list.v[i], "path")->u.str.s;
			char *from = path_join(stage, p), *to = path_join(home, p);
			char *dir = xstrdup(to), *sl = strrchr(dir, '/');
			*sl = '\0';
			if (mkdir_p(dir, 0755) < 0 || file_replaceable(to) < 0)
				rc = LOCAL;
			else if (rename(from, to) < 0)
				rc = ezk_fail("%s: %s", to, strerror(errno)), rc = LOCAL;
			else
				dir_sync(dir);
			free(dir);
			free(from);
			free(to);
		}
		if (rc == 0) {
			char *bj = path_join(home, "bundle.json");
			if (file_write_atomic(bj, mtext.s, mtext.len, 0644) < 0)
				rc = LOCAL;
			free(bj);
		}
	}
	if (stage) {
		remove_tree(stage);
		free(stage);
	}
	if (rc == 0) {
		s->files = (long long)value_len(value_map_get(man, "files"));
		s->images = (long long)value_len(value_map_get(man, "images"));
		s->packages = (long long)value_len(value_map_get(man, "packages"));
		s->manifest = value_ref(man);
		s->file_size = st.st_size;
		memcpy(s->sha256, wh, SHA256_HEX);
	}
	s->seconds = now_s() - t0;
	buf_free(&mtext);
	value_unref(seen);
	value_unref(man);
	free(r);
	return rc == 0 ? 0 : rc == LOCAL ? LOCAL : BAD;
}

int bundle_verify(const char *file, struct progress *prog, struct bundle_summary *s)
{
	return read_bundle(file, NULL, prog, s);
}

int bundle_import(const char *file, const char *home, struct progress *prog,
		  struct bundle_summary *s)
{
	return read_bundle(file, home, prog, s);
}
