/*
 * tmpl-helpers.c - what the filters, tests and methods share: argument
 * checks, attribute paths, value sets, a stable sort, Python's str split,
 * strip, replace and case changes, and Python regular expressions run as
 * POSIX ones.
 */
#include "tmpl-int.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
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

/* Regular expressions: Python syntax mapped onto POSIX extended ones. */

/* glibc expands x+ to xx* and x{m,n} to m..n copies of x while compiling,
 * so nested repetition grows exponentially; the translation below keeps an
 * estimate of the expanded size and refuses what would be too big. */
#define REGEX_MAX_NODES 20000
#define REGEX_MAX_GROUPS 32

int tmpl_py_regex(struct ctx *c, int line, const struct value *pv, int icase, int multiline,
		  regex_t *re)
{
	if (pv->type != V_STR)
		return tmpl_efail(c, line, "the regular expression must be a string, not %s",
				  tmpl_pyname(pv));
	const char *p = pv->u.str.s;
	size_t n = pv->u.str.len;
	if (n > MAX_REGEX)
		return tmpl_efail(c, line, "regular expression too long (more than %d bytes)",
				  MAX_REGEX);
	if (tmpl_charge(c, line, 100 + 8 * n) < 0)
		return -1;
	if (memchr(p, '\0', n))
		return tmpl_efail(c, line, "regular expression contains a NUL byte");
	struct buf b = BUF_INIT;
	const char *why = NULL;
	/* size of the current group so far, of the last atom, per open group */
	size_t cur = 0, last = 0, outer[REGEX_MAX_GROUPS];
	int depth = 0, after_quant = 0;
	if (n >= 4 && !memcmp(p, "(?i)", 4)) {
		icase = 1;
		p += 4;
		n -= 4;
	}
	for (size_t i = 0; i < n && !why; i++) {
		char ch = p[i];
		unsigned long factor = 0; /* set when ch is a quantifier */
		if (ch == '[') {
			buf_putc(&b, '[');
			if (i + 1 < n && p[i + 1] == '^')
				buf_putc(&b, p[++i]);
			if (i + 1 < n && p[i + 1] == ']')
				buf_putc(&b, p[++i]);
			while (++i < n && p[i] != ']') {
				if (p[i] == '\\' && i + 1 < n) {
					char e = p[++i];
					if (e == 'd')
						buf_puts(&b, "0-9");
					else if (e == 's')
						buf_puts(&b, " \t\n\r\f\v");
					else if (e == 'w')
						buf_puts(&b, "[:alnum:]_");
					else if (e == 'n')
						buf_putc(&b, '\n');
					else if (e == 't')
						buf_putc(&b, '\t');
					else
						buf_putc(&b, e);
				} else {
					buf_putc(&b, p[i]);
				}
			}
			if (i >= n) {
				why = "unterminated character set";
				break;
			}
			buf_putc(&b, ']');
			cur++;
			last = 1;
			after_quant = 0;
			continue;
		}
		if (ch == '\\' && i + 1 < n) {
			char e = p[++i];
			switch (e) {
			case 'd': buf_puts(&b, "[0-9]"); break;
			case 'D': buf_puts(&b, "[^0-9]"); break;
			case 's': buf_puts(&b, "[[:space:]]"); break;
			case 'S': buf_puts(&b, "[^[:space:]]"); break;
			case 'w': buf_puts(&b, "[[:alnum:]_]"); break;
			case 'W': buf_puts(&b, "[^[:alnum:]_]"); break;
			case 'n': buf_putc(&b, '\n'); break;
			case 't': buf_putc(&b, '\t'); break;
			case 'A': buf_putc(&b, '^'); break;
			case 'Z': buf_putc(&b, '$'); break;
			default:
				if (e >= '1' && e <= '9')
					why = "backreferences are not supported";
				buf_putc(&b, '\\');
				buf_putc(&b, e);
			}
			cur++;
			last = 1;
			after_quant = 0;
			continue;
		}
		if (ch == '(') {
			if (i + 1 < n && p[i + 1] == '?') {
				if (i + 2 >= n || p[i + 2] != ':') {
					why = "(?...) groups are not supported";
					break;
				}
				i += 2; /* (?:...) is captured here; group numbers shift */
			}
			if (depth == REGEX_MAX_GROUPS) {
				why = "groups nested too deeply";
				break;
			}
			outer[depth++] = cur;
			cur = 0;
			buf_putc(&b, '(');
			after_quant = 0;
			continue;
		}
		if (ch == ')' && depth > 0) {
			last = cur + 1;
			cur = outer[--depth] + last;
			buf_putc(&b, ')');
			after_quant = 0;
			continue;
		}
		if (ch == '*' || ch == '?') {
			factor = 1;
		} else if (ch == '+') {
			factor = 2;
		} else if (ch == '{' && i + 1 < n && isdigit((unsigned char)p[i + 1])) {
			unsigned long m = 0;
			size_t j = i + 1;
			while (j < n && (isdigit((unsigned char)p[j]) || p[j] == ',')) {
				if (p[j] == ',')
					m = 0;
				else if (m <= 1000)
					m = m * 10 + (unsigned long)(p[j] - '0');
				factor = m > factor ? m : factor;
				j++;
			}
			if (factor > 255)
				why = "repetition counts above 255 are not supported";
			if (factor == 0)
				factor = 1;
			/* copy the whole {m,n} */
			buf_put(&b, p + i, j - i);
			i = j - 1;
			if (j < n && p[j] == '}') {
				buf_putc(&b, '}');
				i = j;
			}
		}
		if (factor) {
			if (i + 1 < n && p[i + 1] == '?') {
				why = "non-greedy repetition is not supported";
				break;
			}
			if (after_quant) {
				why = "multiple repeat";
				break;
			}
			cur += last * (factor - 1);
			last *= factor;
			after_quant = 1;
			if (ch != '{')
				buf_putc(&b, ch);
		} else {
			buf_putc(&b, ch);
			after_quant = 0;
			last = 1;
			cur++;
		}
		if (cur > REGEX_MAX_NODES || last > REGEX_MAX_NODES)
			why = "too much repetition";
	}
	if (why) {
		buf_free(&b);
		return tmpl_efail(c, line, "unsupported regular expression '%.*s': %s",
				  tmpl_clip(pv->u.str.len), pv->u.str.s, why);
	}
	int rc = regcomp(re, buf_cstr(&b),
			 REG_EXTENDED | (icase ? REG_ICASE : 0) | (multiline ? REG_NEWLINE : 0));
	buf_free(&b);
	if (rc != 0) {
		char msg[200];
		regerror(rc, re, msg, sizeof msg);
		return tmpl_efail(c, line, "invalid regular expression '%.*s': %s",
				  tmpl_clip(pv->u.str.len), pv->u.str.s, msg);
	}
	return 0;
}

/* Search s[from, n) using glibc's REG_STARTEND: no strlen per call, NUL
 * bytes allowed, and ^ and \b see the text before from. Offsets in m are
 * from s. Charges for the bytes the search may scan. */
int tmpl_rx_exec(struct ctx *c, int line, const regex_t *re, const char *s, size_t from, size_t n,
		 regmatch_t *m, size_t nm, int *found)
{
	if (tmpl_charge(c, line, (n - from) / 64 + 1) < 0)
		return -1;
	m[0].rm_so = (regoff_t)from;
	m[0].rm_eo = (regoff_t)n;
	*found = regexec(re, s, nm, m, REG_STARTEND) == 0;
	return 0;
}

/* Expand a Python replacement template (\1, \g<1>, \\, \n). */
int tmpl_expand_repl(struct ctx *c, int line, const struct sv *r, const char *subj,
		     const regmatch_t *m, size_t nsub, struct buf *out)
{
	for (size_t i = 0; i < r->n; i++) {
		char ch = r->s[i];
		if (ch != '\\' || i + 1 >= r->n) {
			buf_putc(out, ch);
			continue;
		}
		char e = r->s[++i];
		long g = -1;
		if (isdigit((unsigned char)e)) {
			g = e - '0';
			if (i + 1 < r->n && isdigit((unsigned char)r->s[i + 1]))
				g = g * 10 + (r->s[++i] - '0');
		} else if (e == 'g' && i + 1 < r->n && r->s[i + 1] == '<') {
			size_t j = i + 2;
			g = 0;
			while (j < r->n && isdigit((unsigned char)r->s[j]) && g < 100)
				g = g * 10 + (r->s[j++] - '0');
			if (j == i + 2 || j >= r->n || r->s[j] != '>')
				return tmpl_efail(c, line,
						  "bad group reference in the replacement");
			i = j;
		} else if (e == 'n') {
			buf_putc(out, '\n');
			continue;
		} else if (e == 't') {
			buf_putc(out, '\t');
			continue;
		} else if (e == '\\') {
			buf_putc(out, '\\');
			continue;
		} else {
			buf_putc(out, '\\');
			buf_putc(out, e);
			continue;
		}
		if (g < 0 || (size_t)g > nsub || g >= NGROUPS)
			return tmpl_efail(c, line, "invalid group reference %ld", g);
		if (m[g].rm_so >= 0)
			buf_put(out, subj + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
	}
	return 0;
}

int tmpl_rx_sub(struct ctx *c, int line, struct value *in, struct value *pat, struct value *repl,
		struct rxopts o, long long maxcount, struct value **out)
{
	regex_t re;
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
		regmatch_t m[NGROUPS];
		int found;
		if ((rc = tmpl_rx_exec(c, line, &re, s.s, pos, s.n, m, NGROUPS, &found)) < 0 ||
		    !found)
			break;
		size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
		buf_put(&b, s.s + pos, so - pos);
		if ((rc = tmpl_expand_repl(c, line, &r, s.s, m, re.re_nsub, &b)) < 0)
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
	regfree(&re);
	tmpl_sv_free(&s);
	tmpl_sv_free(&r);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}
