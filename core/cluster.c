/*
 * cluster.c - loading a cluster and resolving its variables (cluster.h).
 *
 * Nothing is merged per host up front: a look-up walks the layers from the
 * highest (-e) to the lowest (role defaults), each one a hashed map, so
 * 5,000 hosts cost no more memory than their own inventory lines. Resolved
 * values are memoised per host only when a template had to be evaluated.
 */
#include "cluster.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "tmpl/template.h"
#include "value.h"
#include "workspace.h"
#include "yamlio.h"

/* Pointer -> compiled template, open addressing; built at load, read-only after. */
struct tcache {
	const struct value **keys;
	struct tmpl **vals;
	size_t cap, n;
};

struct hoststate {
	struct value *memo;   /* name -> resolved value (only templated ones) */
	struct value *busy;   /* name -> true while being resolved */
	struct value *gnames; /* group_names */
};

struct cluster_priv {
	struct tcache tc;
	struct hoststate *hs;
	pthread_mutex_t lock;
	struct buf trail; /* "a -> b" while resolving, for loop messages */
	struct value *hostvars;
	int depth;
};

#define MAX_RESOLVE_DEPTH 100

static size_t ptr_hash(const void *p)
{
	size_t x = (size_t)p;
	x ^= x >> 17;
	x *= 0xed5ad4bbU;
	x ^= x >> 11;
	return x;
}

static void tc_put(struct tcache *tc, const struct value *k, struct tmpl *t);

static void tc_grow(struct tcache *tc)
{
	struct tcache old = *tc;
	tc->cap = old.cap ? old.cap * 2 : 64;
	tc->n = 0;
	tc->keys = xcalloc(tc->cap, sizeof *tc->keys);
	tc->vals = xcalloc(tc->cap, sizeof *tc->vals);
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			tc_put(tc, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

static void tc_put(struct tcache *tc, const struct value *k, struct tmpl *t)
{
	if ((tc->n + 1) * 2 > tc->cap)
		tc_grow(tc);
	size_t m = tc->cap - 1, h = ptr_hash(k) & m;
	while (tc->keys[h] && tc->keys[h] != k)
		h = (h + 1) & m;
	if (!tc->keys[h])
		tc->n++;
	tc->keys[h] = k;
	tc->vals[h] = t;
}

static struct tmpl *tc_get(const struct tcache *tc, const struct value *k)
{
	if (!tc->cap)
		return NULL;
	size_t m = tc->cap - 1;
	for (size_t h = ptr_hash(k) & m; tc->keys[h]; h = (h + 1) & m)
		if (tc->keys[h] == k)
			return tc->vals[h];
	return NULL;
}

static void tc_free(struct tcache *tc)
{
	for (size_t i = 0; i < tc->cap; i++)
		if (tc->keys[i])
			tmpl_free(tc->vals[i]);
	free(tc->keys);
	free(tc->vals);
}

/* Compile every template inside v (strings in lists and maps too). */
static int compile_all(struct tcache *tc, const struct value *v)
{
	switch (v->type) {
	case V_STR:
		if (tmpl_needed(v->u.str.s, v->u.str.len) && !tc_get(tc, v)) {
			/* Ansible's templar trims blocks for variables too */
			struct tmpl *t =
			    tmpl_compile_ex(v->u.str.s, v->u.str.len, v->file, v->line, 1);
			if (!t)
				return -1;
			tc_put(tc, v, t);
		}
		return 0;
	case V_LIST:
		for (size_t i = 0; i < v->u.list.n; i++)
			if (compile_all(tc, v->u.list.v[i]) < 0)
				return -1;
		return 0;
	case V_MAP:
		for (size_t i = 0; i < value_len(v); i++)
			if (compile_all(tc, value_map_val(v, i)) < 0)
				return -1;
		return 0;
	default: return 0;
	}
}

/* ---- the hostvars magic variable: an obj of objs ---- */

struct hostref {
	struct cluster *c;
	size_t host;
};

static int hostobj_get(void *ud, const char *key, size_t klen, struct value **out)
{
	struct hostref *r = ud;
	char *name = xstrndup(key, klen);
	int rc = vars_get(r->c, r->host, name, out);
	free(name);
	return rc;
}

static struct value *hostobj_keys(void *ud)
{
	struct hostref *r = ud;
	struct value *m = vars_merged(r->c, r->host), *l = value_list();
	for (size_t i = 0; i < value_len(m); i++)
		value_list_push(l, value_str(value_map_key(m, i)));
	value_unref(m);
	return l;
}

static const struct vobj_ops hostobj_ops = {"hostvars", hostobj_get, hostobj_keys, free};

static int hostvars_get(void *ud, const char *key, size_t klen, struct value **out)
{
	struct cluster *c = ud;
	char *name = xstrndup(key, klen);
	long h = inventory_host_find(c->inv, name);
	free(name);
	if (h < 0)
		return 1;
	struct hostref *r = xmalloc(sizeof *r);
	r->c = c;
	r->host = (size_t)h;
	*out = value_obj(&hostobj_ops, r);
	return 0;
}

static struct value *hostvars_keys(void *ud)
{
	struct cluster *c = ud;
	struct value *l = value_list();
	for (size_t i = 0; i < inventory_nhosts(c->inv); i++)
		value_list_push(l, value_str(inventory_host(c->inv, i)));
	return l;
}

static const struct vobj_ops hostvars_ops = {"hostvars", hostvars_get, hostvars_keys, NULL};

/* ---- loading ---- */

int cluster_add_defaults(struct cluster *c, const struct value *map)
{
	pthread_mutex_lock(&c->priv->lock);
	int rc = compile_all(&c->priv->tc, map);
	if (rc == 0)
		for (size_t i = 0; i < value_len(map); i++)
			if (!value_map_get(c->defaults, value_map_key(map, i)))
				value_map_set(c->defaults, value_map_key(map, i),
					      value_ref(value_map_val(map, i)));
	pthread_mutex_unlock(&c->priv->lock);
	return rc;
}

static int cluster_prepare(struct cluster *c)
{
	struct cluster_priv *p = c->priv;
	struct inventory *inv = c->inv;
	if (compile_all(&p->tc, c->defaults) < 0 || compile_all(&p->tc, c->config) < 0 ||
	    compile_all(&p->tc, c->extra) < 0)
		return -1;
	for (size_t g = 0; g < inventory_ngroups(inv); g++)
		if (compile_all(&p->tc, inventory_group_vars(inv, g)) < 0)
			return -1;
	for (size_t h = 0; h < inventory_nhosts(inv); h++)
		if (compile_all(&p->tc, inventory_host_vars(inv, h)) < 0)
			return -1;
	c->groups = inventory_groups_value(inv);
	p->hs = xcalloc(inventory_nhosts(inv) + 1, sizeof *p->hs);
	p->hostvars = value_obj(&hostvars_ops, c);
	return 0;
}

int cluster_load(const char *hosts_path, const char *config_path, struct value *extra,
		 struct cluster **out)
{
	struct cluster *c = xcalloc(1, sizeof *c);
	c->priv = xcalloc(1, sizeof *c->priv);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->priv->lock, &a);
	pthread_mutexattr_destroy(&a);
	c->hosts_path = xstrdup(hosts_path ? hosts_path : "(no inventory)");
	c->config_path = config_path ? xstrdup(config_path) : NULL;
	c->extra = extra ? value_ref(extra) : value_map();
	c->defaults = value_map();
	/* (no hosts_path: an empty inventory, for ezk download) */
	if (!(c->inv =
		  hosts_path ? inventory_load(hosts_path) : inventory_parse("", 0, c->hosts_path)))
		goto fail;
	if (config_path) {
		if (!(c->config = yaml_load_file(config_path)))
			goto fail;
	} else {
		c->config = value_map();
	}
	if (cluster_prepare(c) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	cluster_close(c);
	*out = NULL;
	return -1;
}

int cluster_open(const char *home, const char *name, struct value *extra, struct cluster **out)
{
	*out = NULL;
	if (workspace_cluster_exists(home, name) < 0)
		return -1;
	char *dir = cluster_dir(home, name);
	char *hosts = path_join(dir, "hosts"), *config = path_join(dir, "config.yml");
	/* config.yml is read if there is anything at its path: a directory,
	 * FIFO or device there is an error, not "no settings" */
	struct stat st;
	int rc = cluster_load(hosts, lstat(config, &st) == 0 ? config : NULL, extra, out);
	if (rc == 0) {
		(*out)->name = xstrdup(name);
		(*out)->dir = dir;
	} else {
		free(dir);
	}
	free(hosts);
	free(config);
	return rc;
}

void cluster_close(struct cluster *c)
{
	if (!c)
		return;
	struct cluster_priv *p = c->priv;
	if (p->hs) {
		for (size_t i = 0; i <= inventory_nhosts(c->inv); i++) {
			value_unref(p->hs[i].memo);
			value_unref(p->hs[i].busy);
			value_unref(p->hs[i].gnames);
		}
		free(p->hs);
	}
	tc_free(&p->tc);
	value_unref(p->hostvars);
	buf_free(&p->trail);
	pthread_mutex_destroy(&p->lock);
	free(p);
	inventory_free(c->inv);
	value_unref(c->config);
	value_unref(c->extra);
	value_unref(c->defaults);
	value_unref(c->groups);
	free(c->name);
	free(c->dir);
	free(c->hosts_path);
	free(c->config_path);
	free(c);
}

/* ---- resolution ---- */

/* The raw (unevaluated) value of a name for a host: highest layer wins. */
static struct value *raw_get(struct cluster *c, size_t host, const char *name, size_t len)
{
	struct value *v;
	if ((v = value_map_getn(c->extra, name, len)) || (v = value_map_getn(c->config, name, len)))
		return v;
	if (host == inventory_nhosts(c->inv)) /* the implicit localhost: [all:vars] only */
		return (v = value_map_getn(inventory_group_vars(c->inv, 0), name, len))
			   ? v
			   : value_map_getn(c->defaults, name, len);
	if ((v = value_map_getn(inventory_host_vars(c->inv, host), name, len)))
		return v;
	const size_t *gs;
	size_t n = inventory_host_groups(c->inv, host, &gs);
	while (n--)
		if ((v = value_map_getn(inventory_group_vars(c->inv, gs[n]), name, len)))
			return v;
	return value_map_getn(c->defaults, name, len);
}

struct resolver {
	struct cluster *c;
	size_t host;
};

static int resolve_value(struct cluster *c, size_t host, struct value *raw, struct value **out);

static int magic_get(struct cluster *c, size_t host, const char *name, size_t len,
		     struct value **out)
{
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	bool local = host == inventory_nhosts(c->inv);
	const char *hn = local ? "localhost" : inventory_host(c->inv, host);
	if (IS("inventory_hostname")) {
		*out = value_str(hn);
	} else if (IS("inventory_hostname_short")) {
		const char *dot = strchr(hn, '.');
		*out = dot ? value_strn(hn, (size_t)(dot - hn)) : value_str(hn);
	} else if (IS("groups")) {
		*out = value_ref(c->groups);
	} else if (IS("group_names")) {
		struct hoststate *s = &c->priv->hs[host];
		if (!s->gnames)
			s->gnames = local ? value_list() : inventory_group_names(c->inv, host);
		*out = value_ref(s->gnames);
	} else if (IS("hostvars")) {
		*out = value_ref(c->priv->hostvars);
	} else {
		return 1;
	}
	return 0;
#undef IS
}

static int lookup_cb(void *ud, const char *name, size_t len, struct value **out)
{
	struct resolver *r = ud;
	char *n = xstrndup(name, len);
	int rc = vars_get(r->c, r->host, n, out);
	free(n);
	return rc;
}

static int needs_eval(const struct tcache *tc, const struct value *v)
{
	switch (v->type) {
	case V_STR: return tc_get(tc, v) != NULL;
	case V_LIST:
		for (size_t i = 0; i < v->u.list.n; i++)
			if (needs_eval(tc, v->u.list.v[i]))
				return 1;
		return 0;
	case V_MAP:
		for (size_t i = 0; i < value_len(v); i++)
			if (needs_eval(tc, value_map_val(v, i)))
				return 1;
		return 0;
	default: return 0;
	}
}

static int resolve_value(struct cluster *c, size_t host, struct value *raw, struct value **out)
{
	struct tcache *tc = &c->priv->tc;
	if (!needs_eval(tc, raw)) {
		*out = value_ref(raw);
		return 0;
	}
	if (raw->type == V_STR) {
		struct resolver r = {c, host};
		struct tmpl_env env = {lookup_cb, &r};
		return tmpl_eval(tc_get(tc, raw), &env, out);
	}
	struct value *res = raw->type == V_LIST ? value_list() : value_map();
	size_t n = value_len(raw);
	for (size_t i = 0; i < n; i++) {
		struct value *item = raw->type == V_LIST ? raw->u.list.v[i] : value_map_val(raw, i);
		struct value *ri;
		if (resolve_value(c, host, item, &ri) < 0) {
			value_unref(res);
			return -1;
		}
		if (raw->type == V_LIST)
			value_list_push(res, ri);
		else
			value_map_set(res, value_map_key(raw, i), ri);
	}
	value_set_src(res, raw->file, raw->line);
	*out = res;
	return 0;
}

int vars_get(struct cluster *c, size_t host, const char *name, struct value **out)
{
	struct cluster_priv *p = c->priv;
	size_t len = strlen(name);
	int rc;
	*out = NULL;
	if (host > inventory_nhosts(c->inv))
		return ezk_fail("no host #%zu", host);
	pthread_mutex_lock(&p->lock);
	if ((rc = magic_get(c, host, name, len, out)) == 0)
		goto out;
	struct value *raw = raw_get(c, host, name, len);
	if (!raw) {
		rc = 1;
		goto out;
	}
	if (!needs_eval(&p->tc, raw)) {
		*out = value_ref(raw);
		rc = 0;
		goto out;
	}
	struct hoststate *s = &p->hs[host];
	struct value *m = s->memo ? value_map_get(s->memo, name) : NULL;
	if (m) {
		*out = value_ref(m);
		rc = 0;
		goto out;
	}
	size_t trail_len = p->trail.len;
	if (p->trail.len)
		buf_puts(&p->trail, " -> ");
	buf_puts(&p->trail, name);
	if (s->busy && value_map_get(s->busy, name)) {
		rc = ezk_fail_at(raw->file, raw->line, "reference loop: %s", p->trail.s);
		goto pop;
	}
	if (++p->depth > MAX_RESOLVE_DEPTH) {
		rc = ezk_fail_at(raw->file, raw->line, "variables nested too deeply: %s",
				 p->trail.s);
		p->depth--;
		goto pop;
	}
	if (!s->busy)
		s->busy = value_map();
	value_map_set(s->busy, name, value_bool(1));
	rc = resolve_value(c, host, raw, out);
	value_map_del(s->busy, name);
	p->depth--;
	if (rc == 0) {
		if (!s->memo)
			s->memo = value_map();
		value_map_set(s->memo, name, value_ref(*out));
	}
pop:
	p->trail.len = trail_len;
	if (p->trail.s)
		p->trail.s[trail_len] = '\0';
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static void merge_into(struct value *dst, const struct value *src)
{
	for (size_t i = 0; i < value_len(src); i++)
		value_map_set(dst, value_map_key(src, i), value_ref(value_map_val(src, i)));
}

struct value *vars_merged(struct cluster *c, size_t host)
{
	struct value *m = value_map();
	merge_into(m, c->defaults);
	const size_t *gs;
	size_t n = inventory_host_groups(c->inv, host, &gs);
	for (size_t i = 0; i < n; i++)
		merge_into(m, inventory_group_vars(c->inv, gs[i]));
	merge_into(m, inventory_host_vars(c->inv, host));
	merge_into(m, c->config);
	merge_into(m, c->extra);
	return m;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vars_resolve_all(struct cluster *c, size_t host, struct value **out,
		     void (*warn)(void *ud, const char *msg), void *ud)
{
	struct value *m = vars_merged(c, host);
	size_t n = value_len(m);
	const char **keys = xmalloc((n + 1) * sizeof *keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = value_map_key(m, i);
	qsort(keys, n, sizeof *keys, cmp_str);
	struct value *res = value_map();
	int rc = 0;
	char *first = NULL;
	for (size_t i = 0; i < n; i++) {
		struct value *v;
		if (vars_get(c, host, keys[i], &v) < 0) {
			if (!first)
				first = xstrdup(ezk_err_msg());
			if (warn)
				warn(ud, ezk_err_msg());
			rc = -1;
			continue;
		}
		value_map_set(res, keys[i], v);
	}
	free(keys);
	value_unref(m);
	*out = res; /* what evaluated, even when some did not (Ansible: lazily) */
	if (rc < 0) {
		ezk_fail("%s", first);
		free(first);
	}
	return rc;
}

void vars_forget(struct cluster *c, size_t host)
{
	pthread_mutex_lock(&c->priv->lock);
	struct hoststate *s = &c->priv->hs[host];
	value_unref(s->memo);
	s->memo = NULL;
	pthread_mutex_unlock(&c->priv->lock);
}

/* "k=v k2='two words'" -> strings, shell-like quoting. */
static int parse_kv(const char *arg, struct value *into)
{
	const char *p = arg;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int rc = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		buf_reset(&key);
		buf_reset(&val);
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			buf_putc(&key, *p++);
		if (*p != '=' || key.len == 0) {
			rc = ezk_fail("-e '%s': expected key=value, @file or a YAML/JSON map", arg);
			break;
		}
		p++;
		char q = 0;
		while (*p && (q || (*p != ' ' && *p != '\t'))) {
			if (q && *p == q) {
				q = 0;
				p++;
			} else if (!q && (*p == '\'' || *p == '"')) {
				q = *p++;
			} else if (*p == '\\' && p[1] && q != '\'') {
				buf_putc(&val, p[1]);
				p += 2;
			} else {
				buf_putc(&val, *p++);
			}
		}
		if (q) {
			rc = ezk_fail("-e '%s': unbalanced quote", arg);
			break;
		}
		struct value *v = value_strn(val.s ? val.s : "", val.len);
		value_set_src(v, src_intern("-e"), 0);
		value_map_set(into, buf_cstr(&key), v);
	}
	buf_free(&key);
	buf_free(&val);
	return rc;
}

int vars_parse_extra(const char *arg, struct value *into)
{
	struct value *m = NULL;
	if (arg[0] == '@') {
		char *data;
		size_t len;
		if (file_read_input(arg + 1, INPUT_MAX_BYTES, &data, &len) < 0)
			return -1;
		m = yaml_load_any(data, len, src_intern(arg + 1));
		free(data);
	} else if (arg[0] == '{') {
		m = yaml_load_any(arg, strlen(arg), src_intern("-e"));
	} else {
		return parse_kv(arg, into);
	}
	if (!m)
		return -1;
	if (m->type != V_MAP) {
		value_unref(m);
		return ezk_fail("-e %s: expected a map of variables", arg);
	}
	merge_into(into, m);
	value_unref(m);
	return 0;
}
