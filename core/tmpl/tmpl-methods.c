/*
 * tmpl-methods.c - Python's str, dict and list methods that templates call
 * (s.split(), d.items(), l.index(x), ...), and the range() function.
 */
#include "tmpl-int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Methods: Python's str, dict and list methods that templates call. */

typedef int (*method_fn)(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			 struct value **out);

struct mdef {
	const char *name;
	unsigned types;
	method_fn fn;
	const char *params[6];
	int nreq;
};

#define MT_STR (1u << V_STR)
#define MT_MAP ((1u << V_MAP) | (1u << V_OBJ))
#define MT_LIST (1u << V_LIST)

static int m_split(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	return tmpl_do_split(c, line, self, a[0], a[1], 0, out);
}

static int m_rsplit(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return tmpl_do_split(c, line, self, a[0], a[1], 1, out);
}

static int m_strip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	return tmpl_do_strip(c, line, self, a[0], 3, out);
}

static int m_lstrip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return tmpl_do_strip(c, line, self, a[0], 1, out);
}

static int m_rstrip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return tmpl_do_strip(c, line, self, a[0], 2, out);
}

static int m_replace(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	if (tmpl_arg_str(c, line, a[1], "the new string") < 0)
		return -1;
	return tmpl_do_replace(c, line, self, a[0], a[1], a[2], out);
}

/* startswith/endswith with a string or a list of them */
static int affix(struct ctx *c, int line, struct value *self, struct value *x, int end,
		 struct value **out)
{
	struct value *one[1] = {x};
	struct value **cand = one;
	size_t n = 1;
	if (x->type == V_LIST) {
		cand = x->u.list.v;
		n = x->u.list.n;
	}
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct value *p = cand[i];
		if (tmpl_arg_str(c, line, p, end ? "the suffix" : "the prefix") < 0)
			return -1;
		size_t pl = p->u.str.len, sl = self->u.str.len;
		r = pl <= sl && !memcmp(self->u.str.s + (end ? sl - pl : 0), p->u.str.s, pl);
	}
	*out = value_bool(r);
	return 0;
}

static int m_startswith(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			struct value **out)
{
	return affix(c, line, self, a[0], 0, out);
}

static int m_endswith(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		      struct value **out)
{
	return affix(c, line, self, a[0], 1, out);
}

static int m_join(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		  struct value **out)
{
	struct value *args[2] = {self, NULL};
	return tmpl_f_join(c, line, a[0], args, 2, out);
}

static int m_find(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		  struct value **out)
{
	if (tmpl_arg_str(c, line, a[0], "the substring") < 0)
		return -1;
	const char *f = a[0]->u.str.len
			    ? memmem(self->u.str.s, self->u.str.len, a[0]->u.str.s, a[0]->u.str.len)
			    : self->u.str.s;
	*out = value_int(f ? (long long)(f - self->u.str.s) : -1);
	return 0;
}

static int m_str_count(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		       struct value **out)
{
	if (tmpl_arg_str(c, line, a[0], "the substring") < 0)
		return -1;
	size_t n = 0, pos = 0, sl = a[0]->u.str.len;
	if (!sl) {
		*out = value_int((long long)self->u.str.len + 1);
		return 0;
	}
	const char *f;
	while ((f = memmem(self->u.str.s + pos, self->u.str.len - pos, a[0]->u.str.s, sl))) {
		n++;
		pos = (size_t)(f - self->u.str.s) + sl;
	}
	*out = value_int((long long)n);
	return 0;
}

static int m_splitlines(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			struct value **out)
{
	const char *s = self->u.str.s;
	size_t n = self->u.str.len, st = 0, lines = 1;
	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n' || s[i] == '\r';
	if (tmpl_charge(c, line, lines * STEPS_PER_ITEM) < 0)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n' && s[i] != '\r')
			continue;
		value_list_push(l, value_strn(s + st, i - st));
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		st = i + 1;
	}
	if (st < n)
		value_list_push(l, value_strn(s + st, n - st));
	*out = l;
	return 0;
}

/* isdigit & co: non-empty, every byte in the class */
static int m_is(struct value *self, int (*cls)(int), struct value **out)
{
	int r = self->u.str.len > 0;
	for (size_t i = 0; i < self->u.str.len && r; i++)
		r = cls((unsigned char)self->u.str.s[i]) != 0;
	*out = value_bool(r);
	return 0;
}

static int m_isdigit(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	return m_is(self, isdigit, out);
}

static int m_isalpha(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	return m_is(self, isalpha, out);
}

static int m_isalnum(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	return m_is(self, isalnum, out);
}

static int m_isspace(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	return m_is(self, isspace, out);
}

static int m_islower(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	int r;
	tmpl_t_case(self, 0, &r);
	*out = value_bool(r);
	return 0;
}

static int m_isupper(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	int r;
	tmpl_t_case(self, 1, &r);
	*out = value_bool(r);
	return 0;
}

static int m_lower(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(self, 1);
	return 0;
}

static int m_upper(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(self, 2);
	return 0;
}

static int m_capitalize(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			struct value **out)
{
	*out = tmpl_recase(self, 3);
	return 0;
}

static int m_title(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(self, 4);
	return 0;
}

/* what: 0 items, 1 keys, 2 values */
static int dict_view(struct ctx *c, int line, struct value *self, int what, struct value **out)
{
	struct value *m = tmpl_as_map(c, line, self, "items");
	if (!m)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(m); i++) {
		struct value *k = value_str(value_map_key(m, i)),
			     *v = value_ref(value_map_val(m, i));
		if (what == 0) {
			value_list_push(l, tmpl_pair(k, v));
		} else {
			value_list_push(l, what == 1 ? k : v);
			value_unref(what == 1 ? v : k);
		}
	}
	value_unref(m);
	*out = l;
	return 0;
}

static int m_items(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	return dict_view(c, line, self, 0, out);
}

static int m_keys(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		  struct value **out)
{
	return dict_view(c, line, self, 1, out);
}

static int m_values(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return dict_view(c, line, self, 2, out);
}

static int m_get(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		 struct value **out)
{
	struct value *v = tmpl_get_item(c, line, self, a[0]);
	if (!v)
		return -1;
	if (tmpl_is_undef(v)) {
		value_unref(v);
		v = a[1] ? value_ref(a[1]) : value_null();
	}
	*out = v;
	return 0;
}

static int m_index(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	for (size_t i = 0; i < self->u.list.n; i++)
		if (value_equal(self->u.list.v[i], a[0])) {
			*out = value_int((long long)i);
			return 0;
		}
	return tmpl_efail(c, line, "list.index(x): x not in list");
}

static int m_list_count(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			struct value **out)
{
	long long n = 0;
	for (size_t i = 0; i < self->u.list.n; i++)
		n += value_equal(self->u.list.v[i], a[0]);
	*out = value_int(n);
	return 0;
}

static const struct mdef methods[] = {
    {"split", MT_STR, m_split, {"sep", "maxsplit", NULL}, 0},
    {"rsplit", MT_STR, m_rsplit, {"sep", "maxsplit", NULL}, 0},
    {"strip", MT_STR, m_strip, {"chars", NULL}, 0},
    {"lstrip", MT_STR, m_lstrip, {"chars", NULL}, 0},
    {"rstrip", MT_STR, m_rstrip, {"chars", NULL}, 0},
    {"lower", MT_STR, m_lower, {NULL}, 0},
    {"upper", MT_STR, m_upper, {NULL}, 0},
    {"capitalize", MT_STR, m_capitalize, {NULL}, 0},
    {"title", MT_STR, m_title, {NULL}, 0},
    {"startswith", MT_STR, m_startswith, {"prefix", NULL}, 1},
    {"endswith", MT_STR, m_endswith, {"suffix", NULL}, 1},
    {"replace", MT_STR, m_replace, {"old", "new", "count", NULL}, 2},
    {"join", MT_STR, m_join, {"iterable", NULL}, 1},
    {"find", MT_STR, m_find, {"sub", NULL}, 1},
    {"count", MT_STR, m_str_count, {"sub", NULL}, 1},
    {"splitlines", MT_STR, m_splitlines, {NULL}, 0},
    {"isdigit", MT_STR, m_isdigit, {NULL}, 0},
    {"isalpha", MT_STR, m_isalpha, {NULL}, 0},
    {"isalnum", MT_STR, m_isalnum, {NULL}, 0},
    {"isspace", MT_STR, m_isspace, {NULL}, 0},
    {"islower", MT_STR, m_islower, {NULL}, 0},
    {"isupper", MT_STR, m_isupper, {NULL}, 0},
    {"items", MT_MAP, m_items, {NULL}, 0},
    {"keys", MT_MAP, m_keys, {NULL}, 0},
    {"values", MT_MAP, m_values, {NULL}, 0},
    {"get", MT_MAP, m_get, {"key", "default", NULL}, 1},
    {"index", MT_LIST, m_index, {"value", NULL}, 1},
    {"count", MT_LIST, m_list_count, {"value", NULL}, 1},
};

struct value *tmpl_call_method(struct ctx *c, const struct expr *e, struct value *self,
			       const struct argv *av)
{
	char tr[80], what[80];
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		const struct mdef *m = &methods[i];
		if (!(m->types & (1u << self->type)) || strlen(m->name) != e->nlen ||
		    memcmp(m->name, e->name, e->nlen))
			continue;
		struct value *slots[MAX_SLOTS], *out = NULL;
		size_t ns;
		snprintf(what, sizeof what, "%s.%s()", tmpl_pyname(self), m->name);
		if (tmpl_bind(c, e->line, what, m->params, m->nreq, 0, av, slots, &ns) < 0)
			return NULL;
		if (m->fn(c, e->line, self, slots, ns, &out) < 0) {
			value_unref(out);
			return NULL;
		}
		return out;
	}
	tmpl_efail(c, e->line, "'%s' has no method '%.*s'", tmpl_type_repr(self, tr, sizeof tr),
		   tmpl_clip(e->nlen), e->name);
	return NULL;
}

struct value *tmpl_fn_range(struct ctx *c, const struct expr *e, const struct argv *av)
{
	long long a[3] = {0, 0, 1};
	if (av->nkw || av->npos < 1 || av->npos > 3) {
		tmpl_efail(c, e->line, "range() takes 1 to 3 integer arguments");
		return NULL;
	}
	for (size_t i = 0; i < av->npos; i++)
		if (tmpl_arg_int(c, e->line, av->pos[i], "range() argument",
				 &a[av->npos == 1 ? 1 : i]) < 0)
			return NULL;
	long long start = a[0], stop = a[1], step = a[2];
	if (step == 0) {
		tmpl_efail(c, e->line, "range() step must not be zero");
		return NULL;
	}
	unsigned long long n = 0;
	if (step > 0 && start < stop)
		n = ((unsigned long long)stop - (unsigned long long)start - 1) /
			(unsigned long long)step +
		    1;
	else if (step < 0 && start > stop)
		n = ((unsigned long long)start - (unsigned long long)stop - 1) /
			(0ULL - (unsigned long long)step) +
		    1;
	if (n > MAX_RANGE) {
		tmpl_efail(c, e->line, "range() too large (more than %d items)", MAX_RANGE);
		return NULL;
	}
	if (tmpl_charge(c, e->line, n) < 0)
		return NULL;
	struct value *l = value_list();
	for (unsigned long long i = 0; i < n; i++)
		value_list_push(l, value_int((long long)((unsigned long long)start +
							 i * (unsigned long long)step)));
	return l;
}
