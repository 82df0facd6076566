/* offline.c - ezk download's plan and its execution (offline.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "cluster.h"
#include "digest.h"
#include "download.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "oci.h"
#include "offline.h"
#include "progress.h"
#include "tmpl/template.h"
#include "value.h"
#include "yamlio.h"

extern char **environ;

#define BAD (-1)
#define FAILED (-2)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int checksum_lookup(const char *text, const char *name, char hex[65])
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];
		if (n < sizeof line) {
			memcpy(line, p, n);
			line[n] = '\0';
			char h[65] = "", f[900] = "";
			int k = sscanf(line, "%64s %899s", h, f);
			for (char *c = h; *c; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			if (k >= 1 && sha256_hex_ok(h)) {
				const char *fn = f[0] == '*' ? f + 1 : f;
				const char *last = strrchr(fn, '/');
				last = last ? last + 1 : fn;
				if (k == 2 && !strcmp(last, name)) {
					memcpy(hex, h, 65);
					return 0;
				}
				/* a file that is only the digest */
				if (k == 1 && p == text) {
					const char *rest = eol ? eol + 1 : p + n;
					while (*rest == '\n' || *rest == ' ' || *rest == '\r')
						rest++;
					if (!*rest) {
						memcpy(hex, h, 65);
						return 0;
					}
				}
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return ezk_fail("no sha256 for %s in it", name);
}

/* ------------------------------------------------------------ variables */

struct plan {
	const struct offline_opts *o;
	struct cluster *cl;
	size_t local;	   /* the deploy node's host index */
	struct value *doc; /* versions.yml as loaded */
	struct value *locals;
	char arch[32], os[64];
	struct dl *dl;
	struct value *record_bins, *record_imgs;
	struct offline_result *res;
};

static int lookup(void *ud, const char *name, size_t len, struct value **out)
{
	struct plan *p = ud;
	struct value *v = value_map_getn(p->locals, name, len);
	if (v) {
		*out = value_ref(v);
		return 0;
	}
	char *n = xstrndup(name, len);
	int rc = vars_get(p->cl, p->local, n, out);
	free(n);
	return rc;
}

/* A template of versions.yml (a string value) rendered to a string. */
static char *render(struct plan *p, const struct value *v, const char *what)
{
	if (!v || v->type != V_STR) {
		ezk_fail_at(p->o->versions, v ? v->line : 0, "%s must be a string", what);
		return NULL;
	}
	struct tmpl *t =
	    tmpl_compile(v->u.str.s, v->u.str.len, v->file ? v->file : p->o->versions, v->line);
	if (!t)
		return NULL;
	struct tmpl_env env = {lookup, p};
	struct buf out = BUF_INIT;
	int rc = tmpl_render(t, &env, &out);
	tmpl_free(t);
	if (rc < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

/* when: a condition (absent: true). 1 true, 0 false, -1 error. */
static int when(struct plan *p, const struct value *entry)
{
	const struct value *w = value_map_get(entry, "when");
	if (!w)
		return 1;
	if (w->type == V_BOOL)
		return w->u.b;
	if (w->type != V_STR)
		return ezk_fail_at(p->o->versions, w->line, "when must be a condition");
	struct buf src = BUF_INIT;
	buf_printf(&src, "{{ (%s) | bool }}", w->u.str.s);
	struct tmpl *t = tmpl_compile(src.s, src.len, p->o->versions, w->line);
	buf_free(&src);
	if (!t)
		return -1;
	struct tmpl_env env = {lookup, p};
	struct value *r = NULL;
	int rc = tmpl_eval(t, &env, &r);
	tmpl_free(t);
	if (rc < 0)
		return -1;
	int yes = value_truthy(r);
	value_unref(r);
	return yes;
}

static char *var_str(struct plan *p, const char *name)
{
	struct value *v = NULL;
	if (vars_get(p->cl, p->local, name, &v) != 0)
		return NULL;
	struct buf b = BUF_INIT;
	if (v->type != V_NULL)
		value_to_str(v, &b);
	value_unref(v);
	return buf_detach(&b);
}

/* ------------------------------------------------------------- binaries */

static char *cache_path(struct plan *p, const char *url)
{
	const char *s = strstr(url, "://");
	s = s ? s + 3 : url;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/down/", p->o->home);
	for (; *s && *s != '?' && *s != '#'; s++)
		buf_putc(&b, *s);
	/* no way out of down/ */
	if (strstr(b.s, "/../") || strstr(b.s, "/./") ||
	    (b.len >= 3 && !strcmp(b.s + b.len - 3, "/..")))
		return buf_free(&b), NULL;
	return buf_detach(&b);
}

static const char *base_name(const char *url)
{
	const char *q = strrchr(url, '/');
	return q ? q + 1 : url;
}

/* The sha256 of url's file, from its project's checksum file (cached). */
static int expected_sha(struct plan *p, const char *url, const char *sums_url, char hex[65])
{
	char *cache = cache_path(p, sums_url);
	if (!cache)
		return ezk_fail("%s: not a usable URL", sums_url);
	int rc = 0;
	if (!file_exists(cache))
		rc = dl_file(p->dl, sums_url, NULL, cache, NULL, -1, 0644, base_name(sums_url));
	char *text = NULL;
	size_t len;
	if (rc >= 0 && file_read(cache, &text, &len) == 0) {
		rc = checksum_lookup(text, base_name(url), hex);
		if (rc < 0) {
			ezk_fail_prefix("%s", sums_url);
			unlink(cache); /* a later run asks again */
		}
	} else {
		rc = -1;
	}
	free(text);
	free(cache);
	return rc;
}

static void record_bin(struct plan *p, const char *dest, const char *url, const char *hex)
{
	struct value *m = value_map();
	value_map_set(m, "path", value_str(dest));
	value_map_set(m, "url", value_str(url));
	value_map_set(m, "sha256", value_str(hex));
	value_list_push(p->record_bins, m);
}

/* Write data to dest (0755) unless dest already has it; want: its sha256. */
static int put_exec(const char *dest, const struct buf *data, const char *want, int *changed)
{
	char have[SHA256_HEX];
	struct stat st;
	int rc = 0;
	if (stat(dest, &st) == 0 && (st.st_mode & 0111) && sha256_file(dest, have, NULL) == 0 &&
	    !strcmp(have, want)) {
		*changed = 0;
	} else {
		char *dir = xstrdup(dest), *sl = strrchr(dir, '/');
		if (sl)
			*sl = '\0';
		rc = mkdir_p(dir, 0755);
		free(dir);
		if (rc == 0)
			rc = file_write_atomic(dest, data->s ? data->s : "", data->len, 0755);
		*changed = 1;
	}
	return rc;
}

/* Write the current archive member to dest unless dest already has it. */
static int extract_member(struct archive *a, const char *dest, int *changed)
{
	struct buf data = BUF_INIT;
	char block[1 << 16];
	la_ssize_t n;
	while ((n = archive_read_data(a, block, sizeof block)) > 0)
		buf_put(&data, block, (size_t)n);
	if (n < 0) {
		buf_free(&data);
		return ezk_fail("%s", archive_error_string(a));
	}
	char want[SHA256_HEX];
	sha256_buf(data.s ? data.s : "", data.len, want);
	int rc = put_exec(dest, &data, want, changed);
	buf_free(&data);
	return rc;
}

/* A file whose project publishes no checksum (kube-ovn's install.sh): fetched
 * once into down/ as its URL names it (a release tag's file), then written to
 * dest when dest does not have it; hex: its sha256, for download.json. -1
 * bad input, -2 fetch failed; *fetched: whether a request was made. */
static int unverified(struct plan *p, const char *url, const char *dest, const char *label,
		      char hex[65], int *fetched)
{
	char *cache = cache_path(p, url);
	if (!cache)
		return ezk_fail("%s: not a usable URL", url);
	*fetched = 0;
	int rc = 0;
	if (!file_exists(cache)) {
		rc = dl_file(p->dl, url, NULL, cache, NULL, -1, 0644, base_name(url)) < 0 ? FAILED
											  : 0;
		*fetched = rc == 0;
	}
	struct buf data = BUF_INIT;
	char *text = NULL;
	size_t len = 0;
	if (rc == 0 && file_read(cache, &text, &len) < 0)
		rc = FAILED;
	if (rc == 0) {
		buf_put(&data, text, len);
		sha256_buf(data.s ? data.s : "", data.len, hex);
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s", p->o->home, dest);
		int changed = 0;
		if (put_exec(path.s, &data, hex, &changed) < 0)
			rc = FAILED;
		buf_free(&path);
	}
	if (rc == FAILED)
		fprintf(stderr, "ezk: %s: %s\n", label, ezk_err_msg());
	free(text);
	buf_free(&data);
	free(cache);
	return rc;
}

static int extract(struct plan *p, const char *archive, const struct value *map, int *nfiles)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	int rc = archive_read_open_filename(a, archive, 1 << 16) == ARCHIVE_OK
		     ? 0
		     : ezk_fail("%s: %s", archive, archive_error_string(a));
	struct value *done = value_map();
	const struct value *star = value_map_get(map, "*");
	struct archive_entry *e;
	while (rc == 0) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = ezk_fail("%s: %s", archive, archive_error_string(a));
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		const char *path = archive_entry_pathname(e);
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		const char *name = base_name(path);
		const struct value *to = value_map_get(map, name);
		struct buf dest = BUF_INIT;
		if (to && to->type == V_STR) {
			buf_printf(&dest, "%s/%s", p->o->home, to->u.str.s);
		} else if (star && star->type == V_STR && !strchr(path, '/') && *name != '.' &&
			   (archive_entry_perm(e) & 0111)) {
			buf_printf(&dest, "%s/%s", p->o->home, star->u.str.s);
			if (dest.s[dest.len - 1] != '/')
				buf_putc(&dest, '/');
			buf_puts(&dest, name);
		} else {
			continue;
		}
		int changed = 0;
		rc = extract_member(a, dest.s, &changed);
		value_map_set(done, name, value_bool(1));
		(*nfiles)++;
		buf_free(&dest);
	}
	for (size_t i = 0; rc == 0 && i < value_len(map); i++) {
		const char *k = value_map_key(map, i);
		if (strcmp(k, "*") != 0 && !value_map_get(done, k))
			rc = ezk_fail("%s: has no file %s", archive, k);
	}
	value_unref(done);
	archive_read_free(a);
	return rc;
}

/* One binary (or archive of binaries). -1 bad input, -2 fetch failed. */
static int one_binary(struct plan *p, const struct value *b, const char *label)
{
	char *url = render(p, value_map_get(b, "url"), "url");
	if (!url)
		return BAD;
	value_map_set(p->locals, "url", value_str(url));
	/* no sha256: a file its project publishes no checksum for */
	const struct value *sv = value_map_get(b, "sha256");
	char *sums = sv ? render(p, sv, "sha256") : NULL;
	const struct value *dv = value_map_get(b, "dest"), *xv = value_map_get(b, "extract");
	char *dest = dv ? render(p, dv, "dest") : NULL;
	int rc = 0;
	if ((sv && !sums) || (dv && !dest)) {
		rc = BAD;
	} else if (!dv && (!xv || xv->type != V_MAP)) {
		rc = ezk_fail_at(p->o->versions, b->line, "%s: needs dest or extract", label);
	} else if (!sv && !dv) {
		rc = ezk_fail_at(p->o->versions, b->line,
				 "%s: an archive needs sha256 (only a dest file may have none)",
				 label);
	}
	char hex[65];
	if (rc == 0 && !sv) {
		int fetched = 0;
		rc = unverified(p, url, dest, label, hex, &fetched);
		if (rc == 0) {
			fetched ? p->res->fetched++ : p->res->present++;
			record_bin(p, dest, url, hex);
		}
	} else if (rc == 0 && expected_sha(p, url, sums, hex) < 0) {
		fprintf(stderr, "ezk: %s: %s\n", label, ezk_err_msg());
		rc = FAILED;
	}
	if (rc == 0 && sv && dest) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s", p->o->home, dest);
		int r = dl_file(p->dl, url, NULL, path.s, hex, -1, 0755, base_name(url));
		if (r < 0) {
			fprintf(stderr, "ezk: %s: %s\n", label, ezk_err_msg());
			rc = FAILED;
		} else {
			r == 1 ? p->res->present++ : p->res->fetched++;
			record_bin(p, dest, url, hex);
		}
		buf_free(&path);
	} else if (rc == 0 && sv) {
		/* render the extract map's targets */
		struct value *map = value_map();
		for (size_t i = 0; rc == 0 && i < value_len(xv); i++) {
			char *to = render(p, value_map_val(xv, i), "extract");
			if (!to)
				rc = BAD;
			else
				value_map_set(map, value_map_key(xv, i), value_str(to));
			free(to);
		}
		char *cache = rc == 0 ? cache_path(p, url) : NULL;
		if (rc == 0 && !cache)
			rc = ezk_fail_at(p->o->versions, b->line, "%s: not a usable URL", url);
		int r =
		    rc == 0 ? dl_file(p->dl, url, NULL, cache, hex, -1, 0644, base_name(url)) : -1;
		if (rc == 0 && r < 0) {
			fprintf(stderr, "ezk: %s: %s\n", label, ezk_err_msg());
			rc = FAILED;
		}
		int n = 0;
		if (rc == 0 && extract(p, cache, map, &n) < 0) {
			fprintf(stderr, "ezk: %s: %s\n", label, ezk_err_msg());
			rc = FAILED;
		}
		if (rc == 0) {
			r == 1 ? p->res->present++ : p->res->fetched++;
			for (size_t i = 0; i < value_len(map); i++)
				record_bin(p, value_map_val(map, i)->u.str.s, url, hex);
		}
		free(cache);
		value_unref(map);
	}
	value_map_del(p->locals, "url");
	free(url);
	free(sums);
	free(dest);
	if (rc == FAILED)
		p->res->failed++;
	return rc;
}

static int binaries(struct plan *p)
{
	const struct value *list = value_map_get(p->doc, "binaries");
	if (!list)
		return 0;
	if (list->type != V_LIST)
		return ezk_fail_at(p->o->versions, list->line, "binaries must be a list");
	int worst = 0;
	for (size_t i = 0; i < list->u.list.n; i++) {
		const struct value *b = list->u.list.v[i];
		const struct value *name = value_map_get(b, "name");
		const char *label = name && name->type == V_STR ? name->u.str.s : "binary";
		int w = b->type == V_MAP ? when(p, b) : -1;
		if (w < 0)
			return b->type == V_MAP ? BAD
						: ezk_fail_at(p->o->versions, b->line,
							      "binaries: each entry is a map");
		if (!w)
			continue;
		const struct value *files = value_map_get(b, "files");
		size_t n = files && files->type == V_LIST ? files->u.list.n : 1;
		for (size_t k = 0; k < n; k++) {
			if (files && files->type == V_LIST)
				value_map_set(p->locals, "item", value_ref(files->u.list.v[k]));
			int rc = one_binary(p, b, label);
			value_map_del(p->locals, "item");
			if (rc == BAD)
				return BAD;
			if (rc < 0)
				worst = FAILED;
		}
	}
	return worst;
}

/* --------------------------------------------------------------- images */

static int images(struct plan *p)
{
	const struct value *list = value_map_get(p->doc, "images");
	if (!list)
		return 0;
	if (list->type != V_LIST)
		return ezk_fail_at(p->o->versions, list->line, "images must be a list");
	struct value *regs = NULL;
	vars_get(p->cl, p->local, "registries", &regs);
	char *mirror = var_str(p, "REGISTRY_MIRROR");
	char *localreg = var_str(p, "local_registry");
	struct buf store = BUF_INIT;
	buf_printf(&store, "%s/down/blobs", p->o->home);
	struct oci_opts oo = {.registries = regs,
			      .docker_mirror = mirror,
			      .os = "linux",
			      .arch = p->arch,
			      .store = store.s};
	struct oci_client *c = oci_client_new(p->dl, &oo);
	int worst = 0;
	for (size_t i = 0; i < list->u.list.n; i++) {
		const struct value *e = list->u.list.v[i];
		int w = e->type == V_MAP ? when(p, e) : -1;
		if (w < 0) {
			if (e->type != V_MAP)
				ezk_fail_at(p->o->versions, e->line, "images: each entry is a map");
			worst = BAD;
			break;
		}
		if (!w)
			continue;
		char *ref = render(p, value_map_get(e, "ref"), "ref");
		char *name = NULL;
		if (ref && value_map_get(e, "name")) {
			name = render(p, value_map_get(e, "name"), "name");
		} else if (ref) {
			const char *last = strrchr(ref, '/');
			struct buf b = BUF_INIT;
			buf_printf(&b, "%s/easzlab/%s",
				   localreg && *localreg ? localreg : "docker.io",
				   last ? last + 1 : ref);
			name = buf_detach(&b);
		}
		if (!ref || !name) {
			free(ref);
			free(name);
			worst = BAD;
			break;
		}
		char *an = oci_archive_name(name);
		struct buf out = BUF_INIT;
		buf_printf(&out, "%s/images", p->o->home);
		int rc = mkdir_p(out.s, 0755);
		buf_printf(&out, "/%s", an);
		struct oci_pulled got;
		memset(&got, 0, sizeof got);
		if (rc == 0)
			rc = oci_pull(c, ref, name, out.s, &got);
		if (rc < 0) {
			fprintf(stderr, "ezk: image %s: %s\n", ref, ezk_err_msg());
			p->res->failed++;
			worst = FAILED;
		} else {
			rc == 1 ? p->res->present++ : p->res->fetched++;
			progress_note(p->o->prog, "%s %s -> images/%s (%s%s)",
				      rc == 1 ? "present" : "pulled", ref, an, got.digest,
				      got.from_mirror ? ", through the mirror" : "");
			struct value *m = value_map();
			value_map_set(m, "ref", value_str(ref));
			value_map_set(m, "name", value_str(name));
			value_map_set(m, "file", value_str(out.s + strlen(p->o->home) + 1));
			value_map_set(m, "digest", value_str(got.digest));
			value_map_set(m, "platform",
				      got.platform ? value_str(got.platform) : value_null());
			value_list_push(p->record_imgs, m);
		}
		oci_pulled_free(&got);
		buf_free(&out);
		free(an);
		free(ref);
		free(name);
	}
	oci_client_free(c);
	buf_free(&store);
	free(mirror);
	free(localreg);
	value_unref(regs);
	return worst;
}

/* ------------------------------------------------------------- packages */

/* Run argv (in dir when given), stdout into out; stderr passed through
 * unless quiet. Returns the exit status, -1 when it could not start. */
static int run_capture(char *const argv[], const char *dir, struct buf *out, struct buf *err)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return ezk_fail("pipe: %s", strerror(errno));
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return ezk_fail("pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	if (dir)
		posix_spawn_file_actions_addchdir_np(&fa, dir);
	pid_t pid;
	int se = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (se != 0) {
		close(po[0]);
		close(pe[0]);
		return ezk_fail("%s: %s", argv[0], strerror(se));
	}
	struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	int open_n = 2;
	while (open_n > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[8192];
			ssize_t n = read(fds[i].fd, tmp, sizeof tmp);
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_n--;
				continue;
			}
			struct buf *b = i == 0 ? out : err;
			if (b->len < (16u << 20))
				buf_put(b, tmp, (size_t)n);
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int mkdir_p_parent(const char *path)
{
	char *dir = xstrdup(path), *sl = strrchr(dir, '/');
	int rc = 0;
	if (sl) {
		*sl = '\0';
		rc = mkdir_p(dir, 0755);
	}
	free(dir);
	return rc;
}

/* "debian_12" of this machine, from /etc/os-release. */
static char *machine_os(void)
{
	char *text = NULL;
	size_t len;
	if (file_read("/etc/os-release", &text, &len) < 0) {
		ezk_err_clear();
		return xstrdup("unknown");
	}
	char id[64] = "", ver[64] = "";
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		char *dst = !strncmp(l, "ID=", 3)	     ? id
			    : !strncmp(l, "VERSION_ID=", 11) ? ver
							     : NULL;
		if (!dst)
			continue;
		const char *v = strchr(l, '=') + 1;
		size_t k = 0;
		for (; *v && k < 63; v++)
			if (*v != '"')
				dst[k++] = *v;
		dst[k] = '\0';
	}
	free(text);
	char *dot = strchr(ver, '.');
	if (dot)
		*dot = '\0';
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s_%s", id, ver);
	return buf_detach(&b);
}

static char *url_decode(const char *s)
{
	struct buf b = BUF_INIT;
	for (; *s; s++) {
		if (s[0] == '%' && hex_value(s[1]) >= 0 && hex_value(s[2]) >= 0) {
			buf_putc(&b, (char)(hex_value(s[1]) * 16 + hex_value(s[2])));
			s += 2;
		} else {
			buf_putc(&b, *s);
		}
	}
	return buf_detach(&b);
}

static int packages(struct plan *p)
{
	if (!p->os[0])
		return 0;
	const struct value *all = value_map_get(p->doc, "packages");
	const struct value *list = all && all->type == V_MAP ? value_map_get(all, p->os) : NULL;
	struct value *over = NULL;
	/* -e packages=... or a cluster's own list win over versions.yml's */
	if (vars_get(p->cl, p->local, "packages", &over) == 0 && over->type == V_MAP &&
	    value_map_get(over, p->os))
		list = value_map_get(over, p->os);
	if (!list || list->type != V_LIST) {
		value_unref(over);
		return ezk_fail_at(p->o->versions, all ? all->line : 0,
				   "packages has no list for %s (the hosts' OS, setting os; -e os= "
				   "fetches no packages)",
				   p->os);
	}
	if (list->u.list.n == 0) {
		value_unref(over);
		return 0;
	}
	char *mos = machine_os();
	if (strcmp(mos, p->os) != 0) {
		ezk_fail("packages for %s are fetched with apt on a %s machine; this one runs %s "
			 "(-e os= skips the packages)",
			 p->os, p->os, mos);
		free(mos);
		value_unref(over);
		return BAD;
	}
	free(mos);
	int rc = 0;
	struct buf dir = BUF_INIT, status = BUF_INIT, o1 = BUF_INIT, e1 = BUF_INIT, arch = BUF_INIT;
	buf_printf(&dir, "%s/packages/%s", p->o->home, p->os);
	buf_printf(&status, "%s/down/apt-empty-status", p->o->home);
	/* an empty archive cache too: apt prints no URI for a file that this
	 * machine's /var/cache/apt/archives holds already */
	buf_printf(&arch, "%s/down/apt-archives/partial", p->o->home);
	if (mkdir_p(dir.s, 0755) < 0 || mkdir_p_parent(status.s) < 0 || mkdir_p(arch.s, 0755) < 0 ||
	    file_write_atomic(status.s, "", 0, 0644) < 0) {
		fprintf(stderr, "ezk: packages: %s\n", ezk_err_msg());
		rc = FAILED;
	}
	/* the closure a fresh host lacks: apt with an empty dpkg status */
	struct buf st_opt = BUF_INIT, ar_opt = BUF_INIT;
	buf_printf(&st_opt, "Dir::State::status=%s", status.s);
	buf_printf(&ar_opt, "Dir::Cache::archives=%s/down/apt-archives", p->o->home);
	size_t n = list->u.list.n;
	char **argv = xcalloc(n + 16, sizeof *argv);
	size_t k = 0;
	argv[k++] = "apt-get";
	argv[k++] = "-q";
	argv[k++] = "-o";
	argv[k++] = st_opt.s;
	argv[k++] = "-o";
	argv[k++] = ar_opt.s;
	argv[k++] = "-o";
	argv[k++] = "Debug::NoLocking=1";
	argv[k++] = "--print-uris";
	argv[k++] = "--no-install-recommends";
	argv[k++] = "-y";
	argv[k++] = "install";
	for (size_t i = 0; i < n; i++) {
		const struct value *v = list->u.list.v[i];
		if (v->type != V_STR) {
			rc = ezk_fail("packages.%s: names must be strings", p->os);
			break;
		}
		argv[k++] = v->u.str.s;
	}
	int x = rc == 0 ? run_capture(argv, NULL, &o1, &e1) : -1;
	if (rc == 0 && x != 0) {
		fprintf(stderr,
			"ezk: packages: apt-get --print-uris install ... failed (exit %d): %s\n", x,
			x < 0	 ? ezk_err_msg()
			: e1.len ? e1.s
				 : "");
		p->res->failed++;
		rc = FAILED;
	}
	/* 'URL' FILE SIZE HASH  ->  name, version, file */
	struct value *want = value_map(); /* file -> "name=version" */
	for (char *l = o1.s ? strtok(o1.s, "\n") : NULL; rc == 0 && l; l = strtok(NULL, "\n")) {
		if (l[0] != '\'')
			continue;
		char url[2048], file[512];
		if (sscanf(l, "'%2047[^']' %511s", url, file) != 2)
			continue;
		char *dec = url_decode(file);
		char *u1 = strchr(dec, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
		if (u1 && u2) {
			struct buf nv = BUF_INIT;
			buf_printf(&nv, "%.*s=%.*s", (int)(u1 - dec), dec, (int)(u2 - u1 - 1),
				   u1 + 1);
			value_map_set(want, file, value_str(nv.s));
			buf_free(&nv);
		}
		free(dec);
	}
	/* drop what every host of the OS has unless asked for: the packages
	 * that are required or essential, and what they depend on (the set
	 * debootstrap's minbase installs), as this machine of the same OS has
	 * them */
	if (rc == 0 && value_len(want) > 0) {
		struct buf o2 = BUF_INIT, e2 = BUF_INIT, o3 = BUF_INIT, e3 = BUF_INIT;
		char *q[] = {"dpkg-query", "-W", "-f=${Package} ${Priority} ${Essential}\n", NULL};
		struct value *req = value_list();
		if (run_capture(q, NULL, &o2, &e2) == 0 && o2.s)
			for (char *l = strtok(o2.s, "\n"); l; l = strtok(NULL, "\n")) {
				char nm[256], pr[64] = "", es[16] = "";
				if (sscanf(l, "%255s %63s %15s", nm, pr, es) >= 2 &&
				    (!strcmp(pr, "required") || !strcmp(es, "yes")))
					value_list_push(req, value_str(nm));
			}
		size_t m = value_len(req);
		char **av = xcalloc(m + 12, sizeof *av);
		size_t j = 0;
		const char *fixed[] = {"apt-cache",	 "depends",	    "--recurse",
				       "--installed",	 "--no-recommends", "--no-suggests",
				       "--no-conflicts", "--no-breaks",	    "--no-replaces",
				       "--no-enhances"};
		for (size_t i = 0; i < 10; i++)
			av[j++] = (char *)fixed[i];
		for (size_t i = 0; i < m; i++)
			av[j++] = value_list_get(req, i)->u.str.s;
		struct value *base = value_map();
		if (m && run_capture(av, NULL, &o3, &e3) == 0 && o3.s)
			for (char *l = strtok(o3.s, "\n"); l; l = strtok(NULL, "\n"))
				if (l[0] != ' ' && l[0] != '<') {
					l[strcspn(l, ":")] = '\0'; /* libc6:amd64 */
					value_map_set(base, l, value_bool(1));
				}
		for (size_t i = value_len(want); i-- > 0;) {
			const char *nv = value_map_val(want, i)->u.str.s;
			char *nm = xstrndup(nv, strcspn(nv, "="));
			int asked = 0;
			for (size_t k2 = 0; k2 < n; k2++)
				asked |= !strcmp(list->u.list.v[k2]->u.str.s, nm);
			if (!asked && value_map_get(base, nm)) {
				char *key = xstrdup(value_map_key(want, i));
				value_map_del(want, key);
				free(key);
			}
			free(nm);
		}
		value_unref(base);
		value_unref(req);
		free(av);
		buf_free(&o2);
		buf_free(&e2);
		buf_free(&o3);
		buf_free(&e3);
	}
	/* fetch what is missing (apt checks each against the signed archive) */
	struct value *missing = value_list();
	for (size_t i = 0; rc == 0 && i < value_len(want); i++) {
		char *f = path_join(dir.s, value_map_key(want, i));
		if (!file_exists(f))
			value_list_push(missing, value_ref(value_map_val(want, i)));
		else
			p->res->present++;
		free(f);
	}
	if (rc == 0 && value_len(missing) > 0) {
		size_t m = value_len(missing);
		char **av = xcalloc(m + 8, sizeof *av);
		size_t j = 0;
		av[j++] = "apt-get";
		av[j++] = "-q";
		av[j++] = "-o";
		av[j++] = "Debug::NoLocking=1";
		av[j++] = "download";
		for (size_t i = 0; i < m; i++)
			av[j++] = value_list_get(missing, i)->u.str.s;
		struct buf o3 = BUF_INIT, e3 = BUF_INIT;
		progress_note(p->o->prog, "apt-get download: %zu packages into packages/%s", m,
			      p->os);
		int y = run_capture(av, dir.s, &o3, &e3);
		if (y != 0) {
			fprintf(stderr, "ezk: apt-get download failed (exit %d): %s\n", y,
				e3.len ? e3.s : "");
			p->res->failed++;
			rc = FAILED;
		} else {
			p->res->fetched += (int)m;
		}
		free(av);
		buf_free(&o3);
		buf_free(&e3);
	}
	/* .deb files of older runs that the closure no longer has */
	if (rc == 0) {
		char *cmd[] = {"ls", "-1", dir.s, NULL};
		struct buf o4 = BUF_INIT, e4 = BUF_INIT;
		if (run_capture(cmd, NULL, &o4, &e4) == 0 && o4.s)
			for (char *l = strtok(o4.s, "\n"); l; l = strtok(NULL, "\n")) {
				size_t ln = strlen(l);
				if (ln > 4 && !strcmp(l + ln - 4, ".deb") &&
				    !value_map_get(want, l)) {
					char *f = path_join(dir.s, l);
					unlink(f);
					free(f);
				}
			}
		buf_free(&o4);
		buf_free(&e4);
		p->res->packages = (int)value_len(want);
	}
	value_unref(missing);
	value_unref(want);
	free(argv);
	value_unref(over);
	buf_free(&st_opt);
	buf_free(&ar_opt);
	buf_free(&arch);
	buf_free(&dir);
	buf_free(&status);
	buf_free(&o1);
	buf_free(&e1);
	return rc;
}

/* ------------------------------------------------------------------ run */

static struct value *versions_record(struct plan *p)
{
	struct value *v = value_map();
	for (size_t i = 0; i < value_len(p->doc); i++) {
		const char *k = value_map_key(p->doc, i);
		size_t n = strlen(k);
		int is_ver = (n > 4 && (!strcmp(k + n - 4, "_ver") || !strcmp(k + n - 3, "Ver") ||
					!strcmp(k + n - 4, "_VER")));
		if (!is_ver)
			continue;
		char *s = var_str(p, k);
		if (s)
			value_map_set(v, k, value_str(s));
		else
			ezk_err_clear();
		free(s);
	}
	return v;
}

int offline_download(const struct offline_opts *o, struct offline_result *r)
{
	memset(r, 0, sizeof *r);
	double t0 = now_s();
	struct plan p = {.o = o, .res = r};
	p.doc = yaml_load_file(o->versions);
	if (!p.doc)
		return BAD;
	/* the scalar and map settings are the cluster's lowest defaults */
	struct value *defs = value_map();
	for (size_t i = 0; i < value_len(p.doc); i++) {
		const char *k = value_map_key(p.doc, i);
		if (strcmp(k, "binaries") && strcmp(k, "images") && strcmp(k, "packages"))
			value_map_set(defs, k, value_ref(value_map_val(p.doc, i)));
	}
	int rc;
	if (o->cluster)
		rc = cluster_open(o->home, o->cluster, o->extra, &p.cl);
	else
		rc = cluster_load(NULL, NULL, o->extra, &p.cl);
	if (rc == 0)
		rc = cluster_add_defaults(p.cl, defs);
	value_unref(defs);
	if (rc < 0) {
		value_unref(p.doc);
		cluster_close(p.cl);
		return BAD;
	}
	p.local = inventory_nhosts(p.cl->inv);
	p.locals = value_map();
	char *arch = var_str(&p, "arch"), *os = var_str(&p, "os");
	if (!arch || !os) {
		rc = BAD;
	} else {
		snprintf(p.arch, sizeof p.arch, "%s", *arch ? arch : oci_host_arch());
		snprintf(p.os, sizeof p.os, "%s", os);
		value_map_set(p.locals, "arch", value_str(p.arch));
		value_map_set(p.locals, "os", value_str(p.os));
	}
	free(arch);
	free(os);
	p.dl = dl_new(o->prog);
	p.record_bins = value_list();
	p.record_imgs = value_list();
	int worst = rc;
	if (worst == 0 && o->binaries) {
		rc = binaries(&p);
		worst = rc == BAD ? BAD : rc < 0 ? FAILED : worst;
	}
	if (worst != BAD && o->images) {
		rc = images(&p);
		worst = rc == BAD ? BAD : rc < 0 ? FAILED : worst;
	}
	if (worst != BAD && o->packages) {
		rc = packages(&p);
		worst = rc == BAD ? BAD : rc < 0 ? FAILED : worst;
	}
	/* download.json describes a home that has everything; a run with
	 * failures leaves the last one */
	if (worst == 0) {
		struct value *rec = value_map();
		value_map_set(rec, "arch", value_str(p.arch));
		value_map_set(rec, "os", value_str(p.os));
		value_map_set(rec, "versions", versions_record(&p));
		value_map_set(rec, "binaries", value_ref(p.record_bins));
		value_map_set(rec, "images", value_ref(p.record_imgs));
		struct buf js = BUF_INIT;
		value_to_json(rec, &js, 1, 0);
		buf_putc(&js, '\n');
		char *path = path_join(o->home, "download.json");
		if (mkdir_p(o->home, 0755) < 0 || file_write_atomic(path, js.s, js.len, 0644) < 0) {
			fprintf(stderr, "ezk: %s\n", ezk_err_msg());
			worst = FAILED;
		}
		free(path);
		buf_free(&js);
		value_unref(rec);
	}
	double secs;
	progress_totals(o->prog, &r->bytes, &secs);
	r->seconds = now_s() - t0;
	value_unref(p.record_bins);
	value_unref(p.record_imgs);
	dl_free(p.dl);
	value_unref(p.locals);
	value_unref(p.doc);
	cluster_close(p.cl);
	return worst;
}
