/* history.c - a cluster's history in clusters/<name>/.git (see history.h). */
#include "history.h"
#include "targets.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <git2.h>
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
#include "inventory.h"
#include "lock.h"
#include "span.h"
#include "value.h"
#include "yamlio.h"

#define APPLIED_REF "refs/ezk/applied"

/* What ezk commits, in this order. */
static const char *const tracked[] = {".gitignore", "hosts", "config.yml", NULL};
/* What `ezk diff` compares. */
static const char *const edited[] = {"hosts", "config.yml", NULL};

static const char gitignore[] =
    "# Written by ezk. ezk commits only hosts, config.yml and this file; the\n"
    "# rest never belongs in the history: private keys and kubeconfigs (ssl/),\n"
    "# run logs, etcd snapshots, ezk's temporary files and its agent's socket.\n"
    "ssl/\n"
    "ssl.bak-*/\n"
    "users/\n"
    "logs/\n"
    "backup/\n"
    "*.ezk-tmp*\n"
    ".ezk-agent*\n"
    "*.kubeconfig\n"
    "*.key\n"
    "*-key.pem\n";

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libgit2(void)
{
	if (git_libgit2_init() < 0) {
		init_rc = -1;
		return;
	}
	/* The history must not depend on who runs ezk: read no configuration
	 * outside the repository (~/.gitconfig, XDG, /etc/gitconfig). */
	static const int levels[] = {GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM,
				     GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
	/* With no global configuration there is no safe.directory either; the
	 * repository is ezk's own (libgit2 runs no hooks), so a workspace owned
	 * by another user (made with sudo, say) is still usable. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

/* Set "what: <libgit2's last message>"; returns -1. */
static int gfail(const char *dir, const char *what)
{
	const git_error *e = git_error_last();
	return ezk_fail("%s: %s: %s", dir, what,
			e && e->message && *e->message ? e->message : "libgit2 error");
}

static int lib_init(void)
{
	pthread_once(&init_once, init_libgit2);
	if (init_rc < 0)
		return gfail("libgit2", "initialisation failed");
	return 0;
}

static int no_history(const char *dir)
{
	return ezk_fail("%s: no history yet (ezk new and ezk setup record it)", dir);
}

/* Open the repository whose work tree is dir (never one above it); make it
 * when create is set. Returns 1 (no message) when missing and !create. */
static int repo_open(const char *dir, int create, git_repository **out)
{
	*out = NULL;
	if (lib_init() < 0)
		return -1;
	if (!dir_exists(dir))
		return ezk_fail("%s: no such cluster directory", dir);
	int rc = git_repository_open_ext(out, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == GIT_ENOTFOUND) {
		if (!create)
			return 1;
		git_repository_init_options o;
		git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		o.flags = GIT_REPOSITORY_INIT_NO_REINIT;
		o.initial_head = "main";
		o.description = "ezk: the history of this cluster's hosts and config.yml";
		rc = git_repository_init_ext(out, dir, &o);
		if (rc < 0)
			return gfail(dir, "cannot start the history");
		return 0;
	}
	if (rc < 0)
		return gfail(dir, "cannot open the history");
	if (git_repository_is_bare(*out)) {
		git_repository_free(*out);
		*out = NULL;
		return ezk_fail("%s: a bare git repository, not a cluster's history", dir);
	}
	return 0;
}

/* HEAD's commit: 0, or 1 when there is none yet (unborn branch). */
static int head_commit(git_repository *repo, const char *dir, git_commit **out)
{
	git_oid id;
	*out = NULL;
	int rc = git_reference_name_to_id(&id, repo, "HEAD");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		return 1;
	if (rc < 0 || git_commit_lookup(out, repo, &id) < 0)
		return gfail(dir, "HEAD");
	return 0;
}

static char *oid_hex(const git_oid *id)
{
	char *s = xmalloc(GIT_OID_HEXSZ + 1);
	git_oid_tostr(s, GIT_OID_HEXSZ + 1, id);
	return s;
}

/* "1a2b3c4  2026-11-22 03:04  first line of the message" */
static void describe(struct buf *out, git_commit *c)
{
	git_buf shortid = {0};
	if (git_object_short_id(&shortid, (const git_object *)c) == 0)
		buf_puts(out, shortid.ptr);
	else
		buf_put(out, git_oid_tostr_s(git_commit_id(c)), 7);
	git_buf_dispose(&shortid);
	time_t t = (time_t)git_commit_time(c);
	struct tm tm;
	char date[32] = "?";
	if (localtime_r(&t, &tm))
		strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
	const char *summary = git_commit_summary(c);
	buf_printf(out, "  %s  %s", date, summary ? summary : "");
}

/* Put one file of the work tree into the index and the tree being built;
 * a missing file is removed from both. */
/* Passwords in hosts or config.yml never enter the history: the value of
 * every ansible_*pass* key, and of every variable a secret's template
 * refers to ({{ pw_base }}), to a fixed point across both files, is stored
 * as ********, and `ezk diff` compares the files on disk the same way. The
 * values are those the INI and YAML readers read: each reader gives the
 * exact bytes of every value (inventory_parse_spans, yaml_load_spans;
 * span.h), and those bytes are replaced, quoted as they were so the stored
 * file still reads. A file that does not parse (a broken edit, which no
 * setup can use) falls back to a textual scanner that errs on the side of
 * hiding: quoted values with escapes, quoted keys, block scalars, an
 * unquoted value to the end of its token (INI) or line (YAML). */
struct keyset {
	char **v;
	size_t n;
};

static bool keyset_has(const struct keyset *ks, const char *k, size_t kl)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strlen(ks->v[i]) == kl && !memcmp(ks->v[i], k, kl))
			return true;
	return false;
}

static bool keyset_add(struct keyset *ks, const char *k, size_t kl)
{
	if (keyset_has(ks, k, kl))
		return false;
	ks->v = xrealloc(ks->v, (ks->n + 1) * sizeof *ks->v);
	ks->v[ks->n++] = xstrndup(k, kl);
	return true;
}

static void keyset_free(struct keyset *ks)
{
	strv_free(ks->v, ks->n);
	ks->v = NULL;
	ks->n = 0;
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The key of ks that starts at data[i] (a whole word, optionally in quotes
 * of its own), followed by '=' or ':'; 0 if none, else the offset just after
 * the separator. */
static size_t key_at(const struct keyset *ks, const char *data, size_t len, size_t i)
{
	if (i > 0 && word_char(data[i - 1]))
		return 0;
	char q = 0;
	size_t k0 = i;
	if (data[i] == '"' || data[i] == '\'')
		q = data[k0++];
	size_t k1 = k0;
	while (k1 < len && word_char(data[k1]))
		k1++;
	if (k1 == k0 || !keyset_has(ks, data + k0, k1 - k0))
		return 0;
	size_t j = k1;
	if (q) {
		if (j >= len || data[j] != q)
			return 0;
		j++;
	}
	while (j < len && (data[j] == ' ' || data[j] == '\t'))
		j++;
	if (j >= len || (data[j] != '=' && data[j] != ':'))
		return 0;
	return j + 1;
}

/* The value after a separator at data[j]: [*vs, *ve) is what to hide. */
static void value_span(const char *data, size_t len, size_t j, bool yaml, size_t *vs, size_t *ve)
{
	while (j < len && (data[j] == ' ' || data[j] == '\t'))
		j++;
	*vs = j;
	if (j < len && (data[j] == '"' || data[j] == '\'')) {
		char qc = data[j++];
		while (j < len && data[j] != qc) {
			if (qc == '"' && data[j] == '\\' && j + 1 < len)
				j++; /* an escaped character, the quote too */
			else if (!yaml && data[j] == '\n')
				break;
			j++;
			if (yaml && qc == '\'' && j + 1 < len && data[j] == '\'' &&
			    data[j + 1] == '\'')
				j += 2; /* '' inside '...' */
		}
		if (j < len && data[j] == qc)
			j++;
		*ve = j;
		return;
	}
	if (yaml && j < len && (data[j] == '|' || data[j] == '>')) {
		/* a block scalar: the lines indented more than the key's line */
		size_t ls = *vs;
		while (ls > 0 && data[ls - 1] != '\n')
			ls--;
		size_t ind = 0;
		while (ls + ind < len && data[ls + ind] == ' ')
			ind++;
		size_t e = j;
		while (e < len && data[e] != '\n')
			e++;
		for (;;) {
			if (e >= len)
				break;
			size_t n = e + 1, sp = 0;
			while (n + sp < len && data[n + sp] == ' ')
				sp++;
			bool blank = n + sp >= len || data[n + sp] == '\n';
			if (!blank && sp <= ind)
				break;
			e = n + sp;
			while (e < len && data[e] != '\n')
				e++;
		}
		*ve = e;
		return;
	}
	while (j < len && data[j] != '\n' && (yaml || (data[j] != ' ' && data[j] != '\t')))
		j++;
	*ve = j;
}

/* Every identifier inside {{ }} or {% %} of data[vs, ve): a variable a
 * secret is made from. Returns whether one was new. */
static bool add_template_refs(struct keyset *ks, const char *data, size_t vs, size_t ve)
{
	bool added = false;
	for (size_t i = vs; i + 1 < ve; i++) {
		if (data[i] != '{' || (data[i + 1] != '{' && data[i + 1] != '%'))
			continue;
		char close = data[i + 1] == '{' ? '}' : '%';
		size_t j = i + 2;
		while (j + 1 < ve && !(data[j] == close && data[j + 1] == '}')) {
			if (data[j] == '"' || data[j] == '\'') { /* a string literal */
				char q = data[j++];
				while (j < ve && data[j] != q)
					j++;
				j++;
				continue;
			}
			if ((isalpha((unsigned char)data[j]) || data[j] == '_') &&
			    !word_char(data[j - 1])) {
				size_t k = j;
				while (k < ve && word_char(data[k]))
					k++;
				added |= keyset_add(ks, data + j, k - j);
				j = k;
				continue;
			}
			j++;
		}
		i = j;
	}
	return added;
}

/* A file of the cluster as the readers see it: its text and, when it
 * parses, where each variable's value lies (span.h). */
struct source {
	char *data;
	size_t len;
	bool yaml, parsed;
	struct var_spans sp;
};

static bool is_yaml_name(const char *name)
{
	size_t nl = strlen(name);
	return nl >= 4 && (!strcmp(name + nl - 4, ".yml") || !strcmp(name + nl - 4, "yaml"));
}

/* Parse data (taken) as the reader of `name` does, recording spans. */
static void source_parse(struct source *s, const char *name, char *data, size_t len)
{
	*s = (struct source){data, len, is_yaml_name(name), false, {0}};
	if (!data)
		return;
	if (s->yaml) {
		struct value *v = yaml_load_spans(data, len, name, &s->sp);
		s->parsed = v != NULL;
		value_unref(v);
	} else {
		struct inventory *inv = inventory_parse_spans(data, len, name, &s->sp);
		s->parsed = inv != NULL;
		inventory_free(inv);
	}
	ezk_err_clear();
}

static void source_free(struct source *s)
{
	free(s->data);
	var_spans_free(&s->sp);
}

/* Grow ks by the variables the secrets of s are made from; whether one was
 * new. A file that does not parse is read by the textual scanner. */
static bool source_refs(struct keyset *ks, const struct source *s)
{
	bool more = false;
	if (!s->data)
		return false;
	if (s->parsed) {
		for (size_t i = 0; i < s->sp.n; i++) {
			const struct var_span *v = &s->sp.v[i];
			if (keyset_has(ks, v->key, strlen(v->key)))
				more |= add_template_refs(ks, s->data, v->start, v->end);
		}
		return more;
	}
	for (size_t i = 0; i < s->len; i++) {
		size_t j = key_at(ks, s->data, s->len, i);
		if (!j)
			continue;
		size_t vs, ve;
		value_span(s->data, s->len, j, s->yaml, &vs, &ve);
		more |= add_template_refs(ks, s->data, vs, ve);
		i = ve ? ve - 1 : i;
	}
	return more;
}

/* The secret keys: ansible's password variables and, to a fixed point,
 * every variable their values (in any of the sources) are made from. */
static void secret_keys_of(struct source *srcs, size_t n, struct keyset *ks)
{
	for (const char *const *k = secret_var_names; *k; k++)
		keyset_add(ks, *k, strlen(*k));
	for (bool more = true; more;) {
		more = false;
		for (size_t f = 0; f < n; f++)
			more |= source_refs(ks, &srcs[f]);
	}
}

static int cmp_span(const void *a, const void *b)
{
	const struct var_span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* s's text with the value of every key of ks replaced, at the spans its
 * reader gave: quoted as it was (INI: '********', "********" or ********;
 * YAML: "********" or '********', a block scalar too), so the file still
 * reads. */
static char *redact_spans(const struct keyset *ks, struct source *s, size_t *out_len, int *changed)
{
	struct buf b = BUF_INIT;
	*changed = 0;
	if (s->sp.n)
		qsort(s->sp.v, s->sp.n, sizeof *s->sp.v, cmp_span);
	size_t at = 0;
	for (size_t i = 0; i < s->sp.n; i++) {
		const struct var_span *v = &s->sp.v[i];
		size_t vs = v->start, ve = v->end;
		if (vs < at || ve > s->len || !keyset_has(ks, v->key, strlen(v->key)))
			continue;
		if (s->yaml) /* a block scalar's span ends with its line breaks */
			while (ve > vs && strchr(" \t\r\n", s->data[ve - 1]))
				ve--;
		buf_put(&b, s->data + at, vs - at);
		char q = vs < ve ? s->data[vs] : 0;
		if (v->in_quote) {
			buf_puts(&b, "********");
			buf_putc(&b, v->in_quote);
		} else if (q == '\'' || (q == '"' && !s->yaml)) {
			buf_putc(&b, q);
			buf_puts(&b, "********");
			buf_putc(&b, q);
		} else if (s->yaml) {
			buf_puts(&b, "\"********\"");
		} else {
			buf_puts(&b, "********");
		}
		*changed = 1;
		at = ve;
	}
	buf_put(&b, s->data + at, s->len - at);
	*out_len = b.len;
	return buf_detach(&b);
}

static char *redact_with(const struct keyset *ks, const char *data, size_t len, bool yaml,
			 size_t *out_len, int *changed)
{
	struct buf b = BUF_INIT;
	*changed = 0;
	size_t i = 0;
	while (i < len) {
		size_t j = key_at(ks, data, len, i);
		if (!j) {
			buf_putc(&b, data[i++]);
			continue;
		}
		size_t vs, ve;
		value_span(data, len, j, yaml, &vs, &ve);
		buf_put(&b, data + i, vs - i);
		if (ve > vs) {
			char q = data[vs];
			if (q == '"' || q == '\'')
				buf_putc(&b, q);
			else if (yaml && (q == '|' || q == '>'))
				buf_puts(&b, "|\n  ");
			buf_puts(&b, "********");
			if (q == '"' || q == '\'')
				buf_putc(&b, q);
			*changed = 1;
		}
		i = ve;
	}
	*out_len = b.len;
	return buf_detach(&b);
}

/* data, the content of file `name` of cluster dir, secrets redacted: the
 * values the INI or YAML reader finds for the secret keys (and, for a file
 * that does not parse, what the textual scanner finds). The keys come from
 * the cluster's hosts and config.yml on disk and from data itself. */
static char *redact_secrets(const char *dir, const char *name, const char *data, size_t len,
			    size_t *out_len, int *changed)
{
	static const char *const names[2] = {"hosts", "config.yml"};
	struct source srcs[3];
	for (int f = 0; f < 2; f++) {
		char *d = NULL;
		size_t l = 0;
		if (dir) {
			char *p = path_join(dir, names[f]);
			if (file_read_input(p, INPUT_MAX_BYTES, &d, &l) < 0) {
				d = NULL;
				ezk_err_clear();
			}
			free(p);
		}
		source_parse(&srcs[f], names[f], d, l);
	}
	/* data is mostly the file on disk: read once */
	size_t same = 2;
	for (size_t f = 0; f < 2; f++)
		if (!strcmp(name, names[f]) && srcs[f].data && srcs[f].len == len &&
		    (len == 0 || !memcmp(srcs[f].data, data, len)))
			same = f;
	size_t n = 2;
	if (same == 2) {
		char *copy = xmalloc(len + 1);
		if (len)
			memcpy(copy, data, len);
		copy[len] = 0;
		source_parse(&srcs[2], name, copy, len);
		n = 3;
	}
	struct keyset ks = {0};
	secret_keys_of(srcs, n, &ks);
	char *r;
	if (srcs[same].parsed)
		r = redact_spans(&ks, &srcs[same], out_len, changed);
	else
		r = redact_with(&ks, data, len, srcs[same].yaml, out_len, changed);
	keyset_free(&ks);
	for (size_t f = 0; f < n; f++)
		source_free(&srcs[f]);
	return r;
}

static bool has_secrets(const char *dir, const char *name, const char *path)
{
	char *data;
	size_t len, rl;
	int changed = 0;
	if (file_read(path, &data, &len) < 0)
		return false;
	free(redact_secrets(dir, name, data, len, &rl, &changed));
	free(data);
	return changed;
}

int history_file_has_secrets(const char *cluster_dir, const char *name)
{
	char *p = path_join(cluster_dir, name);
	int yes = has_secrets(cluster_dir, name, p);
	free(p);
	return yes;
}

/* The file's content, secrets redacted, as a blob in the tree. */
static int stage_buffer(git_repository *repo, git_treebuilder *tb, const char *dir,
			const char *name, const char *path)
{
	char *data;
	size_t len, rl;
	int changed, rc = 0;
	git_oid id;
	if (file_read(path, &data, &len) < 0)
		return -1;
	char *red = redact_secrets(dir, name, data, len, &rl, &changed);
	if (git_blob_create_from_buffer(&id, repo, red, rl) < 0 ||
	    git_treebuilder_insert(NULL, tb, name, &id, GIT_FILEMODE_BLOB) < 0)
		rc = gfail(dir, name);
	free(red);
	free(data);
	return rc;
}

static int stage(git_repository *repo, git_index *idx, git_treebuilder *tb, const char *dir,
		 const char *name)
{
	char *path = path_join(dir, name);
	struct stat st;
	int rc = 0;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT) {
			rc = ezk_fail("%s: %s", path, strerror(errno));
		} else {
			if (git_treebuilder_get(tb, name) && git_treebuilder_remove(tb, name) < 0)
				rc = gfail(dir, name);
			if (rc == 0 && git_index_remove_bypath(idx, name) < 0)
				rc = gfail(dir, name);
		}
	} else if (S_ISREG(st.st_mode) && has_secrets(dir, name, path)) {
		rc = stage_buffer(repo, tb, dir, name, path);
	} else if (S_ISREG(st.st_mode)) {
		const git_index_entry *e;
		if (git_index_add_bypath(idx, name) < 0 ||
		    !(e = git_index_get_bypath(idx, name, 0)))
			rc = gfail(dir, name);
		else if (git_treebuilder_insert(NULL, tb, name, &e->id, (git_filemode_t)e->mode) <
			 0)
			rc = gfail(dir, name);
	} else {
		/* A symbolic link (to a shared inventory, say): what matters is
		 * what ezk reads, so record the content, not the link. */
		rc = stage_buffer(repo, tb, dir, name, path);
	}
	free(path);
	return rc;
}

static int write_gitignore(const char *dir)
{
	char *path = path_join(dir, ".gitignore");
	struct stat st;
	int rc = 0;
	if (lstat(path, &st) < 0)
		rc = file_write_atomic(path, gitignore, sizeof gitignore - 1, 0644);
	free(path);
	return rc;
}

/* Git's lock files that a writer of the history leaves when it is killed
 * mid-write. While this process holds the cluster's lock (lock.h), no other
 * ezk writes the history: one found then is stale, and is removed (before,
 * a stale index.lock turned the history off for every later run). */
static void clear_stale_git_locks(const char *dir)
{
	static const char *const locks[] = {".git/index.lock", ".git/HEAD.lock",
					    ".git/refs/heads/main.lock",
					    ".git/refs/ezk/applied.lock", NULL};
	if (!cluster_lock_held(dir))
		return;
	for (const char *const *l = locks; *l; l++) {
		char *p = path_join(dir, *l);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && unlink(p) == 0)
			fprintf(stderr,
				"ezk: warning: %s: removed a lock file left by an ezk that died "
				"while it wrote the history\n",
				p);
		free(p);
	}
}

/* The history may hold what redaction missed: only its owner reads it. */
static void private_git_dir(const char *dir)
{
	char *g = path_join(dir, ".git");
	struct stat st;
	if (lstat(g, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077))
		chmod(g, st.st_mode & 0700);
	free(g);
}

static int commit(const char *cluster_dir, const char *message, int allow_empty, char **out_id)
{
	git_repository *repo = NULL;
	git_index *idx = NULL;
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	struct buf msg = BUF_INIT;
	git_oid tree_id, commit_id;
	int rc;

	if (out_id)
		*out_id = NULL;
	clear_stale_git_locks(cluster_dir);
	if ((rc = repo_open(cluster_dir, 1, &repo)) < 0)
		return -1;
	private_git_dir(cluster_dir);
	rc = -1;
	if (write_gitignore(cluster_dir) < 0)
		goto out;
	int have_head = head_commit(repo, cluster_dir, &parent);
	if (have_head < 0)
		goto out;
	if (parent && git_commit_tree(&ptree, parent) < 0) {
		gfail(cluster_dir, "HEAD's tree");
		goto out;
	}
	if (git_repository_index(&idx, repo) < 0 || git_index_read(idx, 0) < 0 ||
	    git_treebuilder_new(&tb, repo, ptree) < 0) {
		gfail(cluster_dir, "index");
		goto out;
	}
	for (const char *const *f = tracked; *f; f++)
		if (stage(repo, idx, tb, cluster_dir, *f) < 0)
			goto out;
	if (git_index_write(idx) < 0 || git_treebuilder_write(&tree_id, tb) < 0) {
		gfail(cluster_dir, "index");
		goto out;
	}
	if (!allow_empty && ptree && git_oid_equal(&tree_id, git_tree_id(ptree))) {
		rc = 1; /* nothing changed: no empty commit */
		goto out;
	}
	char host[256] = "localhost";
	if (gethostname(host, sizeof host - 1) < 0 || !host[0])
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	struct buf email = BUF_INIT;
	buf_printf(&email, "ezk@%s", host);
	int sig_rc = git_signature_now(&sig, "ezk", email.s);
	buf_free(&email);
	buf_puts(&msg, message && *message ? message : "ezk");
	if (msg.s[msg.len - 1] != '\n')
		buf_putc(&msg, '\n');
	const git_commit *parents[1] = {parent};
	if (sig_rc < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_commit_create(&commit_id, repo, "HEAD", sig, sig, NULL, msg.s, tree, parent ? 1 : 0,
			      parents) < 0) {
		gfail(cluster_dir, "commit");
		goto out;
	}
	if (out_id)
		*out_id = oid_hex(&commit_id);
	rc = 0;
out:
	buf_free(&msg);
	git_signature_free(sig);
	git_treebuilder_free(tb);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_index_free(idx);
	git_repository_free(repo);
	return rc;
}

int history_head(const char *cluster_dir, char **out_id)
{
	git_repository *repo;
	git_commit *head = NULL;
	*out_id = NULL;
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_history(cluster_dir);
	rc = head_commit(repo, cluster_dir, &head);
	if (rc == 1)
		rc = no_history(cluster_dir);
	if (rc == 0)
		*out_id = oid_hex(git_commit_id(head));
	git_commit_free(head);
	git_repository_free(repo);
	return rc;
}

int history_mark_applied(const char *cluster_dir, const char *commit_id)
{
	git_repository *repo;
	git_object *obj = NULL, *commit = NULL;
	git_reference *ref = NULL;
	const char *rev = commit_id ? commit_id : "HEAD";
	clear_stale_git_locks(cluster_dir);
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_history(cluster_dir);
	if (git_revparse_single(&obj, repo, rev) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0)
		rc = gfail(cluster_dir, rev);
	else if (git_reference_create(&ref, repo, APPLIED_REF, git_object_id(commit), 1,
				      "ezk: applied") < 0)
		rc = gfail(cluster_dir, APPLIED_REF);
	git_reference_free(ref);
	git_object_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	return rc;
}

int history_applied(const char *cluster_dir, char **out_id)
{
	git_repository *repo;
	git_oid id;
	*out_id = NULL;
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_history(cluster_dir);
	rc = git_reference_name_to_id(&id, repo, APPLIED_REF);
	if (rc == 0)
		*out_id = oid_hex(&id);
	else if (rc == GIT_ENOTFOUND)
		rc = 1;
	else
		rc = gfail(cluster_dir, APPLIED_REF);
	git_repository_free(repo);
	return rc;
}

int history_exists(const char *cluster_dir)
{
	git_repository *repo;
	git_commit *head = NULL;
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = head_commit(repo, cluster_dir, &head);
	git_commit_free(head);
	git_repository_free(repo);
	return rc < 0 ? -1 : rc == 0;
}

/* A walk over the history from HEAD; 1 (and a message) when there is none. */
static int walk_start(git_repository *repo, const char *dir, unsigned sort, git_revwalk **out)
{
	*out = NULL;
	if (git_revwalk_new(out, repo) < 0)
		return gfail(dir, "history");
	git_revwalk_sorting(*out, sort);
	int rc = git_revwalk_push_head(*out);
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		no_history(dir);
		return 1;
	}
	if (rc < 0)
		return gfail(dir, "HEAD");
	return 0;
}

int history_log(const char *cluster_dir, struct buf *out, int max)
{
	git_repository *repo;
	git_revwalk *walk = NULL;
	git_oid id, applied;
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_history(cluster_dir);
	int have_applied = git_reference_name_to_id(&applied, repo, APPLIED_REF) == 0;
	rc = walk_start(repo, cluster_dir, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME, &walk);
	if (rc == 1)
		rc = -1;
	for (int n = 0; rc == 0 && (max <= 0 || n < max); n++) {
		int w = git_revwalk_next(&id, walk);
		if (w == GIT_ITEROVER)
			break;
		git_commit *c;
		if (w < 0 || git_commit_lookup(&c, repo, &id) < 0) {
			rc = gfail(cluster_dir, "history");
			break;
		}
		int mark = have_applied && git_oid_equal(&id, &applied);
		buf_puts(out, mark ? "* " : "  ");
		describe(out, c);
		buf_puts(out, mark ? "  (applied)\n" : "\n");
		git_commit_free(c);
	}
	git_revwalk_free(walk);
	git_repository_free(repo);
	return rc;
}

/* The commit `ezk diff` compares with: refs/ezk/applied, else the first. */
static int diff_base(git_repository *repo, const char *dir, git_commit **out, int *applied)
{
	git_oid id;
	*out = NULL;
	*applied = git_reference_name_to_id(&id, repo, APPLIED_REF) == 0;
	if (!*applied) {
		git_revwalk *walk;
		int rc = walk_start(repo, dir, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE, &walk);
		if (rc == 0 && git_revwalk_next(&id, walk) < 0)
			rc = gfail(dir, "history");
		git_revwalk_free(walk);
		if (rc != 0)
			return -1;
	}
	if (git_commit_lookup(out, repo, &id) < 0)
		return gfail(dir, *applied ? APPLIED_REF : "the first commit");
	return 0;
}

/* Append the diff of one file (base blob against the work tree). */
static int diff_file(git_repository *repo, git_tree *base, const char *dir, const char *name,
		     struct buf *out)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	git_patch *patch = NULL;
	char *path = path_join(dir, name), *data = NULL;
	size_t len = 0;
	struct stat st;
	int rc = 0;

	int grc = git_tree_entry_bypath(&te, base, name);
	if (grc < 0 && grc != GIT_ENOTFOUND) {
		rc = gfail(dir, name);
		goto out;
	}
	if (te && git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
		rc = gfail(dir, name);
		goto out;
	}
	if (stat(path, &st) == 0) {
		if (file_read(path, &data, &len) < 0) {
			rc = -1;
			goto out;
		}
		int red;
		char *r = redact_secrets(dir, name, data, len, &len, &red);
		free(data);
		data = r;
	} else if (errno != ENOENT) {
		rc = ezk_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	if (!blob && !data)
		goto out;
	git_diff_options o;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if (git_patch_from_buffers(&patch, blob ? git_blob_rawcontent(blob) : NULL,
				   blob ? (size_t)git_blob_rawsize(blob) : 0, name, data, len, name,
				   &o) < 0) {
		rc = gfail(dir, name);
		goto out;
	}
	if (git_patch_get_delta(patch)->status == GIT_DELTA_UNMODIFIED)
		goto out;
	git_buf text = {0};
	if (git_patch_to_buf(&text, patch) < 0)
		rc = gfail(dir, name);
	else if (text.size)
		buf_put(out, text.ptr, text.size);
	git_buf_dispose(&text);
out:
	git_patch_free(patch);
	free(data);
	free(path);
	git_blob_free(blob);
	git_tree_entry_free(te);
	return rc;
}

int history_diff(const char *cluster_dir, struct buf *out, int *changed)
{
	git_repository *repo;
	git_commit *base = NULL;
	git_tree *tree = NULL;
	struct buf patch = BUF_INIT;
	int applied;
	*changed = 0;
	int rc = repo_open(cluster_dir, 0, &repo);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_history(cluster_dir);
	rc = diff_base(repo, cluster_dir, &base, &applied);
	if (rc == 0 && git_commit_tree(&tree, base) < 0)
		rc = gfail(cluster_dir, "tree");
	for (const char *const *f = edited; rc == 0 && *f; f++)
		rc = diff_file(repo, tree, cluster_dir, *f, &patch);
	if (rc == 0) {
		*changed = patch.len > 0;
		if (*changed) {
			buf_puts(out, applied ? "# edits since the last successful setup: "
					      : "# no setup has succeeded yet; edits since the "
						"first commit: ");
			describe(out, base);
			buf_putc(out, '\n');
			buf_put(out, patch.s, patch.len);
		} else {
			buf_puts(out, applied ? "no edits since the last setup ("
					      : "no edits since the last setup (none has "
						"succeeded yet; compared with ");
			describe(out, base);
			buf_puts(out, ")\n");
		}
	}
	buf_free(&patch);
	git_tree_free(tree);
	git_commit_free(base);
	git_repository_free(repo);
	return rc;
}

int history_commit(const char *cluster_dir, const char *message, char **out_id)
{
	return commit(cluster_dir, message, 0, out_id);
}

int history_record(const char *cluster_dir, const char *message, char **out_id)
{
	return commit(cluster_dir, message, 1, out_id);
}
