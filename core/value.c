/*
 * value.c - reference-counted values (see value.h).
 *
 * Maps keep keys in insertion order in parallel arrays; once a map holds
 * more than a few keys a hash index (open addressing, FNV-1a) is kept
 * beside them so look-ups stay O(1) for config.yml-sized maps.
 */
#include "value.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vmap {
	size_t n, cap;
	char **keys;
	size_t *klen;
	struct value **vals;
	size_t *idx; /* slots hold position + 1; 0 = empty */
	size_t idxcap;
};

#define MAP_INDEX_MIN 8

static struct value *value_new(enum vtype t)
{
	struct value *v = xcalloc(1, sizeof *v);
	v->type = t;
	v->refs = 1;
	return v;
}

struct value *value_null(void)
{
	return value_new(V_NULL);
}

struct value *value_bool(int b)
{
	struct value *v = value_new(V_BOOL);
	v->u.b = !!b;
	return v;
}

struct value *value_int(long long i)
{
	struct value *v = value_new(V_INT);
	v->u.i = i;
	return v;
}

struct value *value_float(double f)
{
	struct value *v = value_new(V_FLOAT);
	v->u.f = f;
	return v;
}

struct value *value_strn(const char *s, size_t n)
{
	struct value *v = value_new(V_STR);
	v->u.str.s = xstrndup(s, n);
	v->u.str.len = n;
	return v;
}

struct value *value_str(const char *s)
{
	return value_strn(s, strlen(s));
}

struct value *value_str_take(char *s, size_t n)
{
	struct value *v = value_new(V_STR);
	v->u.str.s = s;
	v->u.str.len = n;
	return v;
}

struct value *value_list(void)
{
	return value_new(V_LIST);
}

struct value *value_map(void)
{
	struct value *v = value_new(V_MAP);
	v->u.map = xcalloc(1, sizeof *v->u.map);
	return v;
}

struct value *value_obj(const struct vobj_ops *ops, void *ud)
{
	struct value *v = value_new(V_OBJ);
	v->u.obj.ops = ops;
	v->u.obj.ud = ud;
	return v;
}

struct value *value_ref(struct value *v)
{
	if (v)
		atomic_fetch_add_explicit((_Atomic unsigned *)&v->refs, 1, memory_order_relaxed);
	return v;
}

static void map_free(struct vmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		value_unref(m->vals[i]);
	}
	free(m->keys);
	free(m->klen);
	free(m->vals);
	free(m->idx);
	free(m);
}

void value_unref(struct value *v)
{
	if (!v)
		return;
	if (atomic_fetch_sub_explicit((_Atomic unsigned *)&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	switch (v->type) {
	case V_STR: free(v->u.str.s); break;
	case V_LIST:
		for (size_t i = 0; i < v->u.list.n; i++)
			value_unref(v->u.list.v[i]);
		free(v->u.list.v);
		break;
	case V_MAP: map_free(v->u.map); break;
	case V_OBJ:
		if (v->u.obj.ops->free)
			v->u.obj.ops->free(v->u.obj.ud);
		break;
	default: break;
	}
	free(v);
}

struct value *value_set_src(struct value *v, const char *file, int line)
{
	v->file = file;
	v->line = line;
	return v;
}

struct value *value_copy(const struct value *v)
{
	struct value *c;
	switch (v->type) {
	case V_LIST:
		c = value_list();
		for (size_t i = 0; i < v->u.list.n; i++)
			value_list_push(c, value_copy(v->u.list.v[i]));
		break;
	case V_MAP:
		c = value_map();
		for (size_t i = 0; i < v->u.map->n; i++)
			value_map_set(c, v->u.map->keys[i], value_copy(v->u.map->vals[i]));
		break;
	case V_STR: c = value_strn(v->u.str.s, v->u.str.len); break;
	case V_OBJ: return value_ref((struct value *)v);
	default:
		c = value_new(v->type);
		c->u = v->u;
		break;
	}
	c->file = v->file;
	c->line = v->line;
	return c;
}

const char *value_type_name(const struct value *v)
{
	static const char *names[] = {"none",	"bool", "int",	"float",
				      "string", "list", "dict", "dict"};
	return v ? names[v->type] : "undefined";
}

void value_list_push(struct value *list, struct value *item)
{
	if (list->u.list.n == list->u.list.cap) {
		list->u.list.cap = list->u.list.cap ? list->u.list.cap * 2 : 4;
		list->u.list.v =
		    xrealloc(list->u.list.v, list->u.list.cap * sizeof *list->u.list.v);
	}
	list->u.list.v[list->u.list.n++] = item;
}

struct value *value_list_get(const struct value *list, size_t i)
{
	return (list->type == V_LIST && i < list->u.list.n) ? list->u.list.v[i] : NULL;
}

static size_t hash_key(const char *k, size_t n)
{
	size_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void map_index_put(struct vmap *m, size_t pos)
{
	size_t mask = m->idxcap - 1;
	size_t h = hash_key(m->keys[pos], m->klen[pos]) & mask;
	while (m->idx[h])
		h = (h + 1) & mask;
	m->idx[h] = pos + 1;
}

static void map_reindex(struct vmap *m)
{
	size_t cap = 16;
	while (cap < m->n * 2)
		cap *= 2;
	free(m->idx);
	m->idx = xcalloc(cap, sizeof *m->idx);
	m->idxcap = cap;
	for (size_t i = 0; i < m->n; i++)
		map_index_put(m, i);
}

static long map_find(const struct vmap *m, const char *key, size_t klen)
{
	if (m->idx) {
		size_t mask = m->idxcap - 1;
		for (size_t h = hash_key(key, klen) & mask; m->idx[h]; h = (h + 1) & mask) {
			size_t p = m->idx[h] - 1;
			if (m->klen[p] == klen && memcmp(m->keys[p], key, klen) == 0)
				return (long)p;
		}
		return -1;
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->klen[i] == klen && memcmp(m->keys[i], key, klen) == 0)
			return (long)i;
	return -1;
}

void value_map_set(struct value *map, const char *key, struct value *v)
{
	struct vmap *m = map->u.map;
	size_t klen = strlen(key);
	long p = map_find(m, key, klen);
	if (p >= 0) {
		value_unref(m->vals[p]);
		m->vals[p] = v;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->keys = xrealloc(m->keys, m->cap * sizeof *m->keys);
		m->klen = xrealloc(m->klen, m->cap * sizeof *m->klen);
		m->vals = xrealloc(m->vals, m->cap * sizeof *m->vals);
	}
	m->keys[m->n] = xstrndup(key, klen);
	m->klen[m->n] = klen;
	m->vals[m->n] = v;
	m->n++;
	if (m->idx && m->n * 2 <= m->idxcap)
		map_index_put(m, m->n - 1);
	else if (m->n >= MAP_INDEX_MIN)
		map_reindex(m);
}

struct value *value_map_getn(const struct value *map, const char *key, size_t klen)
{
	if (!map || map->type != V_MAP)
		return NULL;
	long p = map_find(map->u.map, key, klen);
	return p >= 0 ? map->u.map->vals[p] : NULL;
}

const char *value_map_str(const struct value *m, const char *key)
{
	const struct value *v = m && m->type == V_MAP ? value_map_get(m, key) : NULL;
	return v && v->type == V_STR ? v->u.str.s : NULL;
}

struct value *value_map_get(const struct value *map, const char *key)
{
	return value_map_getn(map, key, strlen(key));
}

int value_map_del(struct value *map, const char *key)
{
	struct vmap *m = map->u.map;
	long p = map_find(m, key, strlen(key));
	if (p < 0)
		return 0;
	free(m->keys[p]);
	value_unref(m->vals[p]);
	size_t rest = m->n - (size_t)p - 1;
	memmove(m->keys + p, m->keys + p + 1, rest * sizeof *m->keys);
	memmove(m->klen + p, m->klen + p + 1, rest * sizeof *m->klen);
	memmove(m->vals + p, m->vals + p + 1, rest * sizeof *m->vals);
	m->n--;
	if (m->idx)
		map_reindex(m);
	return 1;
}

const char *value_map_key(const struct value *map, size_t i)
{
	return i < map->u.map->n ? map->u.map->keys[i] : NULL;
}

struct value *value_map_val(const struct value *map, size_t i)
{
	return i < map->u.map->n ? map->u.map->vals[i] : NULL;
}

size_t value_len(const struct value *v)
{
	if (!v)
		return 0;
	switch (v->type) {
	case V_STR: return v->u.str.len;
	case V_LIST: return v->u.list.n;
	case V_MAP: return v->u.map->n;
	default: return 0;
	}
}

int value_truthy(const struct value *v)
{
	if (!v)
		return 0;
	switch (v->type) {
	case V_NULL: return 0;
	case V_BOOL: return v->u.b;
	case V_INT: return v->u.i != 0;
	case V_FLOAT: return v->u.f != 0.0;
	case V_STR: return v->u.str.len != 0;
	case V_LIST: return v->u.list.n != 0;
	case V_MAP: return v->u.map->n != 0;
	case V_OBJ: return 1;
	}
	return 0;
}

static int is_num(const struct value *v)
{
	return v->type == V_INT || v->type == V_FLOAT || v->type == V_BOOL;
}

static double num(const struct value *v)
{
	return v->type == V_FLOAT ? v->u.f : v->type == V_INT ? (double)v->u.i : (double)v->u.b;
}

int value_equal(const struct value *a, const struct value *b)
{
	if (!a || !b)
		return a == b;
	if (is_num(a) && is_num(b)) {
		if (a->type != V_FLOAT && b->type != V_FLOAT)
			return (a->type == V_INT ? a->u.i : a->u.b) ==
			       (b->type == V_INT ? b->u.i : b->u.b);
		return num(a) == num(b);
	}
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case V_NULL: return 1;
	case V_STR:
		return a->u.str.len == b->u.str.len &&
		       memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	case V_LIST:
		if (a->u.list.n != b->u.list.n)
			return 0;
		for (size_t i = 0; i < a->u.list.n; i++)
			if (!value_equal(a->u.list.v[i], b->u.list.v[i]))
				return 0;
		return 1;
	case V_MAP:
		if (a->u.map->n != b->u.map->n)
			return 0;
		for (size_t i = 0; i < a->u.map->n; i++) {
			struct value *o = value_map_get(b, a->u.map->keys[i]);
			if (!o || !value_equal(a->u.map->vals[i], o))
				return 0;
		}
		return 1;
	case V_OBJ: return a->u.obj.ud == b->u.obj.ud;
	default: return 0;
	}
}

/* Python's repr() of a finite float into out[40]: the fewest digits
 * that read back the same, fixed notation for exponents -4..15. */
void value_float_repr(double f, char *out)
{
	char e[40], dg[24];
	int nd = 0, prec, x;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof e, "%.*e", prec - 1, f);
		if (strtod(e, NULL) == f)
			break;
	}
	const char *p = e + (e[0] == '-');
	for (; *p && *p != 'e'; p++)
		if ((*p >= '0' && *p <= '9'))
			dg[nd++] = *p;
	x = atoi(p + 1);
	while (nd > 1 && dg[nd - 1] == '0')
		nd--;
	char *o = out;
	if (e[0] == '-')
		*o++ = '-';
	if (x >= -4 && x < 16) {
		if (x < 0) {
			o += sprintf(o, "0.");
			for (int i = 0; i < -x - 1; i++)
				*o++ = '0';
			memcpy(o, dg, (size_t)nd), o += nd;
		} else if (nd <= x + 1) {
			memcpy(o, dg, (size_t)nd), o += nd;
			for (int i = nd; i < x + 1; i++)
				*o++ = '0';
			o += sprintf(o, ".0");
		} else {
			memcpy(o, dg, (size_t)x + 1), o += x + 1;
			*o++ = '.';
			memcpy(o, dg + x + 1, (size_t)(nd - x - 1)), o += nd - x - 1;
		}
		*o = '\0';
		return;
	}
	*o++ = dg[0];
	if (nd > 1) {
		*o++ = '.';
		memcpy(o, dg + 1, (size_t)nd - 1), o += nd - 1;
	}
	sprintf(o, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
}

static void put_float(struct buf *out, double f, int json)
{
	if (isnan(f)) {
		buf_puts(out, json ? "NaN" : "nan");
		return;
	}
	if (isinf(f)) {
		buf_puts(out, f < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf"));
		return;
	}
	char tmp[40];
	value_float_repr(f, tmp);
	buf_puts(out, tmp);
}

static void put_repr_str(struct buf *out, const char *s, size_t n)
{
	/* Python picks single quotes unless the string holds ' and no ". */
	char q = (memchr(s, '\'', n) && !memchr(s, '"', n)) ? '"' : '\'';
	buf_putc(out, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == (unsigned char)q || c == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
		} else if (c == '\n')
			buf_puts(out, "\\n");
		else if (c == '\t')
			buf_puts(out, "\\t");
		else if (c == '\r')
			buf_puts(out, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
	buf_putc(out, q);
}

static void put_repr(const struct value *v, struct buf *out);

static void put_obj_items(const struct value *v, struct buf *out, int json, int indent, int depth,
			  int sort_keys);

static void put_repr(const struct value *v, struct buf *out)
{
	if (v->type == V_STR)
		put_repr_str(out, v->u.str.s, v->u.str.len);
	else
		value_to_str(v, out);
}

void value_to_str(const struct value *v, struct buf *out)
{
	switch (v->type) {
	case V_NULL: buf_puts(out, "None"); break;
	case V_BOOL: buf_puts(out, v->u.b ? "True" : "False"); break;
	case V_INT: buf_printf(out, "%lld", v->u.i); break;
	case V_FLOAT: put_float(out, v->u.f, 0); break;
	case V_STR: buf_put(out, v->u.str.s, v->u.str.len); break;
	case V_LIST:
		buf_putc(out, '[');
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i)
				buf_puts(out, ", ");
			put_repr(v->u.list.v[i], out);
		}
		buf_putc(out, ']');
		break;
	case V_MAP:
		buf_putc(out, '{');
		for (size_t i = 0; i < v->u.map->n; i++) {
			if (i)
				buf_puts(out, ", ");
			put_repr_str(out, v->u.map->keys[i], v->u.map->klen[i]);
			buf_puts(out, ": ");
			put_repr(v->u.map->vals[i], out);
		}
		buf_putc(out, '}');
		break;
	case V_OBJ: put_obj_items(v, out, 0, 0, 0, 0); break;
	}
}

static void newline(struct buf *out, int indent, int depth)
{
	if (!indent)
		return;
	buf_putc(out, '\n');
	for (int i = 0; i < indent * depth; i++)
		buf_putc(out, ' ');
}

static void to_json(const struct value *v, struct buf *out, int indent, int depth, int sort_keys);

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void json_map(const struct value *v, struct buf *out, int indent, int depth, int sort_keys)
{
	size_t n = v->u.map->n;
	if (!n) {
		buf_puts(out, "{}");
		return;
	}
	char **keys = xmalloc(n * sizeof *keys);
	memcpy(keys, v->u.map->keys, n * sizeof *keys);
	if (sort_keys)
		qsort(keys, n, sizeof *keys, cmp_keys);
	buf_putc(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(out, ',');
		newline(out, indent, depth + 1);
		buf_json_str(out, keys[i], strlen(keys[i]));
		buf_puts(out, indent ? ": " : ":");
		to_json(value_map_get(v, keys[i]), out, indent, depth + 1, sort_keys);
	}
	newline(out, indent, depth);
	buf_putc(out, '}');
	free(keys);
}

struct value *value_obj_map(const struct value *v)
{
	struct value *m = value_map();
	struct value *keys = v->u.obj.ops->keys ? v->u.obj.ops->keys(v->u.obj.ud) : NULL;
	for (size_t i = 0; keys && keys->type == V_LIST && i < keys->u.list.n; i++) {
		struct value *k = keys->u.list.v[i], *e = NULL;
		if (k->type != V_STR)
			continue;
		if (v->u.obj.ops->get(v->u.obj.ud, k->u.str.s, k->u.str.len, &e) != 0)
			e = value_null();
		value_map_set(m, k->u.str.s, e);
	}
	value_unref(keys);
	return m;
}

/* An obj is shown as the map of its entries. */
static void put_obj_items(const struct value *v, struct buf *out, int json, int indent, int depth,
			  int sort_keys)
{
	struct value *m = value_obj_map(v);
	if (json)
		json_map(m, out, indent, depth, sort_keys);
	else
		value_to_str(m, out);
	value_unref(m);
}

static void to_json(const struct value *v, struct buf *out, int indent, int depth, int sort_keys)
{
	switch (v->type) {
	case V_NULL: buf_puts(out, "null"); break;
	case V_BOOL: buf_puts(out, v->u.b ? "true" : "false"); break;
	case V_INT: buf_printf(out, "%lld", v->u.i); break;
	case V_FLOAT: put_float(out, v->u.f, 1); break;
	case V_STR: buf_json_str(out, v->u.str.s, v->u.str.len); break;
	case V_LIST:
		if (!v->u.list.n) {
			buf_puts(out, "[]");
			break;
		}
		buf_putc(out, '[');
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i)
				buf_putc(out, ',');
			newline(out, indent, depth + 1);
			to_json(v->u.list.v[i], out, indent, depth + 1, sort_keys);
		}
		newline(out, indent, depth);
		buf_putc(out, ']');
		break;
	case V_MAP: json_map(v, out, indent, depth, sort_keys); break;
	case V_OBJ: put_obj_items(v, out, 1, indent, depth, sort_keys); break;
	}
}

void value_to_json(const struct value *v, struct buf *out, int indent, int sort_keys)
{
	to_json(v, out, indent, 0, sort_keys);
}

/* Interned file names: a small append-only list guarded by a mutex. */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t ninterned;

const char *src_intern(const char *file)
{
	const char *r = NULL;
	pthread_mutex_lock(&intern_lock);
	for (size_t i = 0; i < ninterned && !r; i++)
		if (strcmp(interned[i], file) == 0)
			r = interned[i];
	if (!r) {
		interned = xrealloc(interned, (ninterned + 1) * sizeof *interned);
		r = interned[ninterned++] = xstrdup(file);
	}
	pthread_mutex_unlock(&intern_lock);
	return r;
}
