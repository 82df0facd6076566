/*
 * tmpl-helpers.c - what the filters, tests and methods share: argument
 * checks, attribute paths, value sets, a stable sort, Python's str split,
 * strip, replace and case changes, and Python regular expressions run as
 * POSIX ones.
 */
#include "tmpl-int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Helpers for filters and methods */

int tmpl_arg_bool(const struct value *v, int dflt)
{
	return v ? value_truthy(v) : dflt;
}

int tmpl_arg_str(struct ctx *c, int line, const struct value *v, const char *what)
{
	if (v->type != V_STR)
		return tmpl_efail(c, line, "%s must be a string, not %s", what, tmpl_pyname(v));
	return 0;
}

int tmpl_arg_int(struct ctx *c, int line, const struct value *v, const char *what, long long *out)
{
	if (!tmpl_is_intlike(v))
		return tmpl_efail(c, line, "%s must be an integer, not %s", what, tmpl_pyname(v));
	*out = tmpl_ival(v);
	return 0;
}

int tmpl_want_seq(struct ctx *c, int line, struct value *in, struct value **l)
{
	*l = tmpl_iter_list(c, line, in);
	return *l ? 0 : -1;
}

/* A dotted attribute path ("a.b.0") of v, Jinja's `attribute=` argument. */
struct value *tmpl_get_path(struct ctx *c, int line, struct value *v, struct value *path)
{
	if (tmpl_is_intlike(path))
		return tmpl_get_index(c, line, v, tmpl_ival(path));
	struct sv p;
	tmpl_sv_of(&p, path);
	struct value *cur = value_ref(v);
	size_t i = 0;
	do {
		size_t j = i;
		while (j < p.n && p.s[j] != '.')
			j++;
		int digits = j > i;
		for (size_t k = i; k < j; k++)
			digits &= isdigit((unsigned char)p.s[k]) != 0;
		struct value *nx;
		if (digits && j - i < 18 && (cur->type == V_LIST || cur->type == V_STR))
			nx = tmpl_get_index(c, line, cur, strtoll(p.s + i, NULL, 10));
		else
			nx = tmpl_get_key(c, line, cur, p.s + i, j - i);
		value_unref(cur);
		cur = nx;
		i = j + 1;
	} while (cur && !tmpl_is_undef(cur) && i <= p.n);
	tmpl_sv_free(&p);
	return cur;
}

/* A map view of a map or obj: a new reference. */
struct value *tmpl_as_map(struct ctx *c, int line, struct value *v, const char *what)
{
	if (v->type == V_MAP)
		return value_ref(v);
	if (v->type != V_OBJ) {
		tmpl_efail(c, line, "%s expects a dict, got %s", what, tmpl_pyname(v));
		return NULL;
	}
	struct value *keys = tmpl_keys_of(c, line, v);
	if (!keys)
		return NULL;
	struct value *m = value_map();
	for (size_t i = 0; i < keys->u.list.n; i++) {
		struct value *k = keys->u.list.v[i], *e = NULL;
		if (k->type != V_STR)
			continue;
		int r = v->u.obj.ops->get(v->u.obj.ud, k->u.str.s, k->u.str.len, &e);
		if (r < 0) {
			value_unref(e);
			value_unref(keys);
			value_unref(m);
			return NULL;
		}
		if (r == 0 && e)
			value_map_set(m, k->u.str.s, e);
		else
			value_unref(e);
	}
	value_unref(keys);
	return m;
}

struct value *tmpl_pair(struct value *a, struct value *b)
{
	struct value *l = value_list();
	value_list_push(l, a);
	value_list_push(l, b);
	return l;
}

static size_t vhash(const struct value *v, int ci)
{
	size_t h = 1469598103934665603ULL;
	switch (v->type) {
	case V_STR:
		for (size_t i = 0; i < v->u.str.len; i++) {
			unsigned char ch = (unsigned char)v->u.str.s[i];
			h ^= ci ? (unsigned char)tolower(ch) : ch;
			h *= 1099511628211ULL;
		}
		return h;
	case V_BOOL:
	case V_INT: return (size_t)tmpl_ival(v) * 11400714819323198485ULL;
	case V_FLOAT:
		if (v->u.f == floor(v->u.f) && fabs(v->u.f) < 9e18)
			return (size_t)(long long)v->u.f * 11400714819323198485ULL;
		return 7;
	default: return (size_t)v->type + value_len(v);
	}
}

static int vsame(const struct value *a, const struct value *b, int ci)
{
	if (ci && a->type == V_STR && b->type == V_STR) {
		int r;
		tmpl_order(a, b, 1, &r);
		return r == 0;
	}
	return value_equal(a, b);
}

/* Add v (borrowed); 1 if it was new. */
int tmpl_vset_add(struct vset *s, const struct value *v)
{
	if (s->n * 2 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		const struct value **nv = xcalloc(cap, sizeof *nv);
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t h = vhash(s->v[i], s->ci) & (cap - 1);
				while (nv[h])
					h = (h + 1) & (cap - 1);
				nv[h] = s->v[i];
			}
		free(s->v);
		s->v = nv;
		s->cap = cap;
	}
	size_t h = vhash(v, s->ci) & (s->cap - 1);
	while (s->v[h]) {
		if (vsame(s->v[h], v, s->ci))
			return 0;
		h = (h + 1) & (s->cap - 1);
	}
	s->v[h] = v;
	s->n++;
	return 1;
}

int tmpl_vset_has(const struct vset *s, const struct value *v)
{
	if (!s->cap)
		return 0;
	for (size_t h = vhash(v, s->ci) & (s->cap - 1); s->v[h]; h = (h + 1) & (s->cap - 1))
		if (vsame(s->v[h], v, s->ci))
			return 1;
	return 0;
}

/* Stable merge sort of (key, item) pairs; -1 with the error set when two
 * keys cannot be compared. */
int tmpl_sort_pairs(struct ctx *c, int line, struct skey *v, size_t n, int ci, int reverse)
{
	struct skey *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
	int rc = 0;
	for (size_t w = 1; w < n && rc == 0; w *= 2) {
		for (size_t lo = 0; lo < n && rc == 0; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				int r;
				if (tmpl_order(v[i].key, v[j].key, ci, &r) < 0) {
					rc = tmpl_efail(
					    c, line,
					    "'<' not supported between instances of '%s' and '%s'",
					    tmpl_pyname(v[j].key), tmpl_pyname(v[i].key));
					break;
				}
				if (reverse)
					r = -r;
				tmp[k++] = r <= 0 ? v[i++] : v[j++];
			}
			if (rc)
				break;
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
			memcpy(v + lo, tmp + lo, (hi - lo) * sizeof *v);
		}
		if (rc == 0)
			rc = tmpl_charge(c, line, n);
	}
	free(tmp);
	return rc;
}

/* Python str methods, shared by filters and methods. */

int tmpl_is_ws(char ch)
{
	return tmpl_is_space(ch) || (ch >= 0x1c && ch <= 0x1f);
}

static struct value *py_split(const char *s, size_t n, const char *sep, size_t sl,
			      long long maxsplit, int right)
{
	struct value *l = value_list();
	long long count = 0;
	if (sep && !right) {
		size_t pos = 0;
		while (maxsplit < 0 || count < maxsplit) {
			const char *f = memmem(s + pos, n - pos, sep, sl);
			if (!f)
				break;
			value_list_push(l, value_strn(s + pos, (size_t)(f - s) - pos));
			pos = (size_t)(f - s) + sl;
			count++;
		}
		value_list_push(l, value_strn(s + pos, n - pos));
		return l;
	}
	if (sep) {
		size_t end = n;
		while ((maxsplit < 0 || count < maxsplit) && end >= sl) {
			size_t p = end - sl + 1, found = (size_t)-1;
			while (p-- > 0)
				if (!memcmp(s + p, sep, sl)) {
					found = p;
					break;
				}
			if (found == (size_t)-1)
				break;
			value_list_push(l, value_strn(s + found + sl, end - found - sl));
			end = found;
			count++;
		}
		value_list_push(l, value_strn(s, end));
	} else if (!right) {
		size_t i = 0;
		for (;;) {
			while (i < n && tmpl_is_ws(s[i]))
				i++;
			if (i == n)
				break;
			if (maxsplit >= 0 && count >= maxsplit) {
				value_list_push(l, value_strn(s + i, n - i));
				break;
			}
			size_t st = i;
			while (i < n && !tmpl_is_ws(s[i]))
				i++;
			value_list_push(l, value_strn(s + st, i - st));
			count++;
		}
		return l;
	} else {
		size_t i = n;
		for (;;) {
			while (i > 0 && tmpl_is_ws(s[i - 1]))
				i--;
			if (i == 0)
				break;
			if (maxsplit >= 0 && count >= maxsplit) {
				value_list_push(l, value_strn(s, i));
				break;
			}
			size_t end = i;
			while (i > 0 && !tmpl_is_ws(s[i - 1]))
				i--;
			value_list_push(l, value_strn(s + i, end - i));
			count++;
		}
	}
	/* rsplit collected from the right */
	for (size_t i = 0, j = l->u.list.n; i + 1 < j; i++, j--) {
		struct value *t = l->u.list.v[i];
		l->u.list.v[i] = l->u.list.v[j - 1];
		l->u.list.v[j - 1] = t;
	}
	return l;
}

int tmpl_do_split(struct ctx *c, int line, struct value *in, struct value *sepv, struct value *maxv,
		  int right, struct value **out)
{
	long long maxsplit = -1;
	if (sepv && sepv->type == V_NULL)
		sepv = NULL;
	if (sepv && tmpl_arg_str(c, line, sepv, "the separator") < 0)
		return -1;
	if (sepv && sepv->u.str.len == 0)
		return tmpl_efail(c, line, "empty separator");
	if (maxv && tmpl_arg_int(c, line, maxv, "maxsplit", &maxsplit) < 0)
		return -1;
	struct sv s;
	tmpl_sv_of(&s, in);
	/* charge for the pieces before making them */
	size_t pieces = 1;
	if (sepv) {
		const char *f, *sep = sepv->u.str.s;
		for (size_t pos = 0; (f = memmem(s.s + pos, s.n - pos, sep, sepv->u.str.len));
		     pieces++)
			pos = (size_t)(f - s.s) + sepv->u.str.len;
	} else {
		for (size_t i = 0; i < s.n; i++)
			pieces += !tmpl_is_ws(s.s[i]) && (i == 0 || tmpl_is_ws(s.s[i - 1]));
	}
	if (maxsplit >= 0 && (unsigned long long)maxsplit < pieces)
		pieces = (size_t)maxsplit + 1;
	if (tmpl_charge(c, line, pieces * STEPS_PER_ITEM) < 0) {
		tmpl_sv_free(&s);
		return -1;
	}
	*out = py_split(s.s, s.n, sepv ? sepv->u.str.s : NULL, sepv ? sepv->u.str.len : 0, maxsplit,
			right);
	tmpl_sv_free(&s);
	return 0;
}

/* which: 1 left, 2 right, 3 both */
int tmpl_do_strip(struct ctx *c, int line, struct value *in, struct value *chars, int which,
		  struct value **out)
{
	if (chars && chars->type == V_NULL)
		chars = NULL;
	if (chars && tmpl_arg_str(c, line, chars, "the characters to strip") < 0)
		return -1;
	struct sv s;
	tmpl_sv_of(&s, in);
	size_t a = 0, b = s.n;
#define STRIPPABLE(ch)                                                                             \
	(chars ? memchr(chars->u.str.s, (ch), chars->u.str.len) != NULL : tmpl_is_ws(ch))
	if (which & 1)
		while (a < b && STRIPPABLE(s.s[a]))
			a++;
	if (which & 2)
		while (b > a && STRIPPABLE(s.s[b - 1]))
			b--;
#undef STRIPPABLE
	*out = value_strn(s.s + a, b - a);
	tmpl_sv_free(&s);
	return 0;
}

int tmpl_do_replace(struct ctx *c, int line, struct value *in, struct value *old, struct value *new,
		    struct value *countv, struct value **out)
{
	long long count = -1;
	if (tmpl_arg_str(c, line, old, "the old string") < 0)
		return -1;
	if (countv && countv->type != V_NULL && tmpl_arg_int(c, line, countv, "count", &count) < 0)
		return -1;
	struct sv s, r;
	tmpl_sv_of(&s, in);
	tmpl_sv_of(&r, new);
	struct buf b = BUF_INIT;
	const char *o = old->u.str.s;
	size_t on = old->u.str.len, pos = 0;
	int rc = 0;
	for (long long done = 0; count < 0 || done < count; done++) {
		if (on == 0) {
			if (pos > s.n)
				break;
			buf_put(&b, r.s, r.n);
			if (pos < s.n)
				buf_putc(&b, s.s[pos]);
			pos++;
		} else {
			const char *f = memmem(s.s + pos, s.n - pos, o, on);
			if (!f)
				break;
			buf_put(&b, s.s + pos, (size_t)(f - s.s) - pos);
			buf_put(&b, r.s, r.n);
			pos = (size_t)(f - s.s) + on;
		}
		if (b.len > MAX_STR) {
			rc = tmpl_str_limit(c, line, b.len);
			break;
		}
	}
	if (rc == 0 && pos < s.n)
		buf_put(&b, s.s + pos, s.n - pos);
	if (rc == 0)
		rc = tmpl_str_limit(c, line, b.len);
	tmpl_sv_free(&s);
	tmpl_sv_free(&r);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

/* 1 lower, 2 upper, 3 capitalize, 4 title */
struct value *tmpl_recase(struct value *in, int how)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	char *r = xmalloc(s.n + 1);
	int word = 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.s[i];
		int up = how == 2 || (how == 3 && i == 0) || (how == 4 && !word);
		r[i] = (char)(up ? toupper(ch) : tolower(ch));
		word = isalnum(ch) || ch == '\'' || ch >= 0x80;
	}
	r[s.n] = '\0';
	struct value *v = value_str_take(r, s.n);
	tmpl_sv_free(&s);
	return v;
}

/* Regular expressions: the one engine of rx.h, as lineinfile's. */

int tmpl_py_regex(struct ctx *c, int line, const struct value *pv, int icase, int multiline,
		  struct rx **re)
{
	if (pv->type != V_STR)
		return tmpl_efail(c, line, "the regular expression must be a string, not %s",
				  tmpl_pyname(pv));
	if (pv->u.str.len > MAX_REGEX)
		return tmpl_efail(c, line, "regular expression too long (more than %d bytes)",
				  MAX_REGEX);
	if (tmpl_charge(c, line, 100 + 8 * pv->u.str.len) < 0)
		return -1;
	if (memchr(pv->u.str.s, '\0', pv->u.str.len))
		return tmpl_efail(c, line, "regular expression contains a NUL byte");
	char why[200];
	*re = rx_compile(pv->u.str.s, (long)pv->u.str.len,
			 (icase ? RX_ICASE : 0) | (multiline ? RX_MULTILINE : 0), why, sizeof why);
	if (!*re)
		return tmpl_efail(c, line, "unsupported regular expression '%.*s': %s",
				  tmpl_clip(pv->u.str.len), pv->u.str.s, why);
	return 0;
}

/* Search s[from, n): ^ and \b see the text before from. Offsets in m are
 * from s. Charges for the bytes the search may scan. */
int tmpl_rx_exec(struct ctx *c, int line, const struct rx *re, const char *s, size_t from, size_t n,
		 struct rx_span *m, size_t nm, int *found)
{
	if (tmpl_charge(c, line, (n - from) / 64 + 1) < 0)
		return -1;
	int rc = rx_search(re, s, n, from, m, nm);
	if (rc < 0)
		return tmpl_efail(c, line,
				  "regular expression search over its budget (nested repetition on "
				  "this text)");
	*found = rc;
	return 0;
}

/* Expand a Python replacement template (\1, \g<1>, \g<name>, \\, \n). */
int tmpl_expand_repl(struct ctx *c, int line, const struct rx *re, const struct sv *r,
		     const char *subj, const struct rx_span *m, struct buf *out)
{
	char why[200];
	if (rx_expand(re, r->s, r->n, subj, m, NGROUPS, out, why, sizeof why) < 0)
		return tmpl_efail(c, line, "%s", why);
	return 0;
}

int tmpl_rx_sub(struct ctx *c, int line, struct value *in, struct value *pat, struct value *repl,
		struct rxopts o, long long maxcount, struct value **out)
{
	struct rx *re;
	if (tmpl_py_regex(c, line, pat, tmpl_arg_bool(o.ignorecase, 0),
			  tmpl_arg_bool(o.multiline, 0), &re) < 0)
		return -1;
	struct sv s, r;
	tmpl_sv_of(&s, in);
	tmpl_sv_of(&r, repl);
	struct buf b = BUF_INIT;
	size_t pos = 0;
	int rc = 0;
	long long done = 0;
	while (pos <= s.n && (maxcount <= 0 || done < maxcount)) {
		struct rx_span m[NGROUPS];
		int found;
		if ((rc = tmpl_rx_exec(c, line, re, s.s, pos, s.n, m, NGROUPS, &found)) < 0 ||
		    !found)
			break;
		size_t so = (size_t)m[0].so, eo = (size_t)m[0].eo;
		buf_put(&b, s.s + pos, so - pos);
		if ((rc = tmpl_expand_repl(c, line, re, &r, s.s, m, &b)) < 0)
			break;
		done++;
		if (eo == so) {
			if (so < s.n)
				buf_putc(&b, s.s[so]);
			pos = so + 1;
		} else {
			pos = eo;
		}
		if ((rc = tmpl_str_limit(c, line, b.len)) < 0 || (rc = tmpl_charge(c, line, 1)) < 0)
			break;
	}
	if (rc == 0 && pos < s.n)
		buf_put(&b, s.s + pos, s.n - pos);
	rx_free(re);
	tmpl_sv_free(&s);
	tmpl_sv_free(&r);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}
