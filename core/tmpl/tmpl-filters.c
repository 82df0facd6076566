/*
 * tmpl-filters.c - the filters (`x | f(...)`) and tests (`x is t(...)`),
 * and the tables the parser and the evaluator find them in.
 */
#include "tmpl-int.h"
#include "quote.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*filter_fn)(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			 struct value **out);

#define F_UNDEF_IN 1   /* the input may be Undefined */
#define F_UNDEF_ARGS 2 /* arguments may be Undefined */
#define F_VARARGS 4    /* extra positional arguments */

struct fdef {
	const char *name;
	filter_fn fn;
	const char *params[6];
	int nreq;
	int flags;
};

static const struct fdef filters[];
static const size_t nfilters;

typedef int (*test_fn)(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       int *res);

struct tdef {
	const char *name;
	test_fn fn;
	const char *params[6];
	int nreq;
	int flags;
};

static const struct tdef tests[];
static const size_t ntests;

/* ------------------------------------------------------------------ */
/* Filters */

static int f_default(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	if (tmpl_is_undef(in) || (a[1] && value_truthy(a[1]) && !value_truthy(in)))
		*out = a[0] ? value_ref(a[0]) : value_str("");
	else
		*out = value_ref(in);
	return 0;
}

static int f_mandatory(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	if (tmpl_is_undef(in)) {
		if (a[0]) {
			struct sv m;
			tmpl_sv_of(&m, a[0]);
			tmpl_efail(c, line, "%s", m.s);
			tmpl_sv_free(&m);
			return -1;
		}
		return tmpl_efail(c, line, "mandatory variable not defined: %s",
				  (const char *)in->u.obj.ud);
	}
	*out = value_ref(in);
	return 0;
}

static int f_lower(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(in, 1);
	return 0;
}

static int f_upper(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(in, 2);
	return 0;
}

static int f_capitalize(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	*out = tmpl_recase(in, 3);
	return 0;
}

static int f_title(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = tmpl_recase(in, 4);
	return 0;
}

static int f_replace(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	return tmpl_do_replace(c, line, in, a[0], a[1], a[2], out);
}

static int f_trim(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	return tmpl_do_strip(c, line, in, a[0], 3, out);
}

static int f_split(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	return tmpl_do_split(c, line, in, a[0], a[1], 0, out);
}

static int f_string(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	if (in->type == V_STR) {
		*out = value_ref(in);
		return 0;
	}
	struct buf b = BUF_INIT;
	value_to_str(in, &b);
	*out = tmpl_buf_value(&b);
	return 0;
}

static int f_safe(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	*out = value_ref(in);
	return 0;
}

static int f_length(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	if (in->type == V_STR || in->type == V_LIST || in->type == V_MAP) {
		*out = value_int((long long)value_len(in));
		return 0;
	}
	if (in->type == V_OBJ) {
		struct value *k = tmpl_keys_of(c, line, in);
		if (!k)
			return -1;
		*out = value_int((long long)k->u.list.n);
		value_unref(k);
		return 0;
	}
	return tmpl_efail(c, line, "object of type '%s' has no len()", tmpl_pyname(in));
}

int tmpl_f_join(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct sv sep = {"", 0, BUF_INIT};
	if (a[0])
		tmpl_sv_of(&sep, a[0]);
	struct buf b = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		if (i)
			buf_put(&b, sep.s, sep.n);
		if (a[1]) {
			struct value *x = tmpl_defined(c, tmpl_get_path(c, line, it, a[1]));
			if (!x) {
				rc = -1;
				break;
			}
			value_to_str(x, &b);
			value_unref(x);
		} else {
			value_to_str(it, &b);
		}
		rc = tmpl_str_limit(c, line, b.len);
	}
	tmpl_sv_free(&sep);
	value_unref(l);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

/* Python int(): "0x1f" with base 16, " 12 ", "+3", "1_000". */
static int parse_int(const char *s, size_t n, int base, long long *out)
{
	char tmp[80];
	size_t k = 0;
	while (n && tmpl_is_ws(*s))
		s++, n--;
	while (n && tmpl_is_ws(s[n - 1]))
		n--;
	if (!n || n >= sizeof tmp)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			if (i == 0 || i + 1 == n || !isalnum((unsigned char)s[i - 1]) ||
			    !isalnum((unsigned char)s[i + 1]))
				return -1;
			continue;
		}
		if (s[i] == '\0' || tmpl_is_ws(s[i]))
			return -1;
		tmp[k++] = s[i];
	}
	tmp[k] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(tmp, &end, base);
	if (errno || *end || end == tmp)
		return -1;
	*out = v;
	return 0;
}

static int parse_float(const char *s, size_t n, double *out)
{
	char tmp[80];
	while (n && tmpl_is_ws(*s))
		s++, n--;
	while (n && tmpl_is_ws(s[n - 1]))
		n--;
	if (!n || n >= sizeof tmp || memchr(s, '\0', n))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strpbrk(tmp, "xXpP_"))
		return -1;
	char *end;
	double v = strtod(tmp, &end);
	if (*end || end == tmp)
		return -1;
	*out = v;
	return 0;
}

static int float_to_int(double f, long long *out)
{
	if (!(f > -9223372036854775808.0 && f < 9223372036854775808.0))
		return -1;
	*out = (long long)f;
	return 0;
}

static int f_int(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	long long base = 10, v = 0;
	if (a[1] && tmpl_arg_int(c, line, a[1], "base", &base) < 0)
		return -1;
	if (base != 0 && (base < 2 || base > 36))
		return tmpl_efail(c, line, "int() base must be >= 2 and <= 36, or 0");
	int ok = -1;
	if (tmpl_is_intlike(in)) {
		v = tmpl_ival(in);
		ok = 0;
	} else if (in->type == V_FLOAT) {
		ok = float_to_int(in->u.f, &v);
	} else if (in->type == V_STR) {
		ok = parse_int(in->u.str.s, in->u.str.len, (int)base, &v);
		double f;
		if (ok < 0 && parse_float(in->u.str.s, in->u.str.len, &f) == 0)
			ok = float_to_int(f, &v);
	}
	if (ok < 0)
		*out = a[0] ? value_ref(a[0]) : value_int(0);
	else
		*out = value_int(v);
	return 0;
}

static int f_float(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	double f = 0;
	int ok = -1;
	if (tmpl_is_num(in)) {
		f = tmpl_fval(in);
		ok = 0;
	} else if (in->type == V_STR) {
		ok = parse_float(in->u.str.s, in->u.str.len, &f);
	}
	*out = ok < 0 ? (a[0] ? value_ref(a[0]) : value_float(0)) : value_float(f);
	return 0;
}

/* Ansible's bool: yes/on/1/true (any case) and 1 are true. */
static int f_bool(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	int b = 0;
	if (in->type == V_BOOL) {
		b = in->u.b;
	} else if (in->type == V_STR) {
		static const char *const yes[] = {"yes", "on", "1", "true"};
		for (size_t i = 0; i < 4; i++)
			if (in->u.str.len == strlen(yes[i]) &&
			    !strncasecmp(in->u.str.s, yes[i], in->u.str.len))
				b = 1;
	} else if (tmpl_is_num(in)) {
		b = tmpl_fval(in) == 1.0;
	}
	*out = value_bool(b);
	return 0;
}

static int f_abs(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	if (tmpl_is_intlike(in)) {
		if (tmpl_ival(in) == LLONG_MIN)
			return tmpl_efail(c, line, "integer overflow in abs");
		*out = value_int(llabs(tmpl_ival(in)));
	} else if (in->type == V_FLOAT) {
		*out = value_float(fabs(in->u.f));
	} else {
		return tmpl_efail(c, line, "bad operand type for abs(): '%s'", tmpl_pyname(in));
	}
	return 0;
}

static int f_round(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	long long prec = 0;
	if (!tmpl_is_num(in))
		return tmpl_efail(c, line, "round() needs a number, not %s", tmpl_pyname(in));
	if (a[0] && tmpl_arg_int(c, line, a[0], "precision", &prec) < 0)
		return -1;
	const char *method = "common";
	if (a[1]) {
		if (tmpl_arg_str(c, line, a[1], "method") < 0)
			return -1;
		method = a[1]->u.str.s;
	}
	if (prec < -30 || prec > 30)
		prec = prec < 0 ? -30 : 30;
	double f = tmpl_fval(in), m = pow(10, (double)prec), r;
	if (!strcmp(method, "common"))
		r = nearbyint(f * m) / m;
	else if (!strcmp(method, "ceil"))
		r = ceil(f * m) / m;
	else if (!strcmp(method, "floor"))
		r = floor(f * m) / m;
	else
		return tmpl_efail(c, line, "round() method must be 'common', 'ceil' or 'floor'");
	if (!isfinite(f * m))
		r = f;
	/* Python's round() keeps ints ints; math.ceil/floor results are floats */
	if (tmpl_is_intlike(in) && !strcmp(method, "common") && prec >= 0)
		*out = value_int(tmpl_ival(in));
	else
		*out = value_float(r);
	return 0;
}

static int f_first(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	*out = l->u.list.n ? value_ref(l->u.list.v[0])
			   : tmpl_mkundef(line, "No first item, sequence was empty.");
	value_unref(l);
	return 0;
}

static int f_last(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	*out = l->u.list.n ? value_ref(l->u.list.v[l->u.list.n - 1])
			   : tmpl_mkundef(line, "No last item, sequence was empty.");
	value_unref(l);
	return 0;
}

static int f_list(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	return tmpl_want_seq(c, line, in, out);
}

static int f_reverse(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	if (in->type == V_STR) {
		char *r = xmalloc(in->u.str.len + 1);
		for (size_t i = 0; i < in->u.str.len; i++)
			r[i] = in->u.str.s[in->u.str.len - 1 - i];
		r[in->u.str.len] = '\0';
		*out = value_str_take(r, in->u.str.len);
		return 0;
	}
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct value *r = value_list();
	for (size_t i = l->u.list.n; i-- > 0;)
		value_list_push(r, value_ref(l->u.list.v[i]));
	value_unref(l);
	*out = r;
	return 0;
}

static int f_unique(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct vset s = {NULL, 0, 0, !tmpl_arg_bool(a[0], 0)};
	struct value *r = value_list(), **keys = xcalloc(l->u.list.n + 1, sizeof *keys);
	int rc = tmpl_charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		keys[i] = a[1] ? tmpl_defined(c, tmpl_get_path(c, line, it, a[1])) : value_ref(it);
		if (!keys[i])
			rc = -1;
		else if (tmpl_vset_add(&s, keys[i]))
			value_list_push(r, value_ref(it));
	}
	for (size_t i = 0; i < l->u.list.n; i++)
		value_unref(keys[i]);
	free(keys);
	free(s.v);
	value_unref(l);
	if (rc < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* sort / min / max share the key extraction */
static struct skey *sort_keys(struct ctx *c, int line, struct value *l, struct value *attr)
{
	size_t n = l->u.list.n;
	struct skey *v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		v[i].item = l->u.list.v[i];
		v[i].key = attr ? tmpl_defined(c, tmpl_get_path(c, line, v[i].item, attr))
				: value_ref(v[i].item);
		if (!v[i].key) {
			for (size_t j = 0; j < i; j++)
				value_unref(v[j].key);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void free_keys(struct skey *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		value_unref(v[i].key);
	free(v);
}

static int f_sort(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	size_t n = l->u.list.n;
	struct skey *v = sort_keys(c, line, l, a[2]);
	if (!v ||
	    tmpl_sort_pairs(c, line, v, n, !tmpl_arg_bool(a[1], 0), tmpl_arg_bool(a[0], 0)) < 0) {
		if (v)
			free_keys(v, n);
		value_unref(l);
		return -1;
	}
	struct value *r = value_list();
	for (size_t i = 0; i < n; i++)
		value_list_push(r, value_ref(v[i].item));
	free_keys(v, n);
	value_unref(l);
	*out = r;
	return 0;
}

static int minmax(struct ctx *c, int line, struct value *in, struct value **a, int want_max,
		  struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	size_t n = l->u.list.n, best = 0;
	struct skey *v = sort_keys(c, line, l, a[1]);
	int rc = v ? 0 : -1;
	for (size_t i = 1; i < n && rc == 0; i++) {
		int r;
		if (tmpl_order(v[i].key, v[best].key, !tmpl_arg_bool(a[0], 0), &r) < 0)
			rc = tmpl_efail(c, line,
					"'<' not supported between instances of '%s' and '%s'",
					tmpl_pyname(v[i].key), tmpl_pyname(v[best].key));
		else if (want_max ? r > 0 : r < 0)
			best = i;
	}
	if (rc == 0)
		*out = n ? value_ref(v[best].item)
			 : tmpl_mkundef(line, "No aggregated item, sequence was empty.");
	if (v)
		free_keys(v, n);
	value_unref(l);
	return rc;
}

static int f_min(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	return minmax(c, line, in, a, 0, out);
}

static int f_max(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	return minmax(c, line, in, a, 1, out);
}

static int f_sum(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct value *acc = a[1] ? value_ref(a[1]) : value_int(0);
	for (size_t i = 0; i < l->u.list.n && acc; i++) {
		struct value *x =
		    a[0] ? tmpl_defined(c, tmpl_get_path(c, line, l->u.list.v[i], a[0]))
			 : value_ref(l->u.list.v[i]);
		struct value *s = x ? tmpl_binop(c, line, OP_ADD, acc, x) : NULL;
		value_unref(x);
		value_unref(acc);
		acc = s;
	}
	value_unref(l);
	*out = acc;
	return acc ? 0 : -1;
}

/* map('filter', args...) or map(attribute='x', default=d) */
static int f_map(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	int f = -1;
	if (!a[0] && !a[1])
		return tmpl_efail(c, line, "map() needs a filter name or attribute=");
	if (a[0]) {
		if (tmpl_arg_str(c, line, a[0], "the filter name") < 0)
			return -1;
		if ((f = tmpl_find_filter(a[0]->u.str.s)) < 0)
			return tmpl_efail(c, line, "no filter named '%s'", a[0]->u.str.s);
	}
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct argv av = {.npos = 0, .nkw = 0};
	for (size_t i = 3; i < na; i++)
		av.pos[av.npos++] = a[i];
	struct value *r = value_list();
	int rc = tmpl_charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *x;
		if (a[0]) {
			x = tmpl_apply_filter(c, line, f, l->u.list.v[i], &av);
		} else {
			x = tmpl_get_path(c, line, l->u.list.v[i], a[1]);
			if (x && tmpl_is_undef(x) && a[2]) {
				value_unref(x);
				x = value_ref(a[2]);
			}
		}
		if (!(x = tmpl_defined(c, x)))
			rc = -1;
		else
			value_list_push(r, x);
	}
	value_unref(l);
	if (rc < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* select/reject/selectattr/rejectattr; attr: a[0] is the attribute */
static int selector(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int attr, int want, struct value **out)
{
	struct value *test = a[attr];
	int t = -1;
	if (test) {
		if (tmpl_arg_str(c, line, test, "the test name") < 0)
			return -1;
		if ((t = tmpl_find_test(test->u.str.s)) < 0)
			return tmpl_efail(c, line, "no test named '%s'", test->u.str.s);
	}
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct argv av = {.npos = 0, .nkw = 0};
	for (size_t i = (size_t)attr + 1; i < na; i++)
		av.pos[av.npos++] = a[i];
	struct value *r = value_list();
	int rc = tmpl_charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		struct value *x = attr ? tmpl_get_path(c, line, it, a[0]) : value_ref(it);
		int res = 0;
		if (!x)
			rc = -1;
		else if (t >= 0)
			rc = tmpl_apply_test(c, line, t, x, &av, &res);
		else
			rc = tmpl_truth(c, x, &res);
		value_unref(x);
		if (rc == 0 && !!res == want)
			value_list_push(r, value_ref(it));
	}
	value_unref(l);
	if (rc < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

static int f_select(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	return selector(c, line, in, a, na, 0, 1, out);
}

static int f_reject(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	return selector(c, line, in, a, na, 0, 0, out);
}

static int f_selectattr(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	return selector(c, line, in, a, na, 1, 1, out);
}

static int f_rejectattr(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	return selector(c, line, in, a, na, 1, 0, out);
}

static int f_regex_replace(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			   struct value **out)
{
	struct value *empty = value_str("");
	long long count = 0;
	int rc = 0;
	if (a[4] && tmpl_arg_int(c, line, a[4], "count", &count) < 0)
		rc = -1;
	if (rc == 0)
		rc = tmpl_rx_sub(c, line, in, a[0] ? a[0] : empty, a[1] ? a[1] : empty,
				 (struct rxopts){a[2], a[3]}, count, out);
	value_unref(empty);
	return rc;
}

static int f_regex_search(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			  struct value **out)
{
	struct rx *re;
	if (tmpl_py_regex(c, line, a[0], tmpl_arg_bool(a[1], 0), tmpl_arg_bool(a[2], 0), &re) < 0)
		return -1;
	struct sv s;
	tmpl_sv_of(&s, in);
	struct rx_span m[NGROUPS];
	int found, rc = tmpl_rx_exec(c, line, re, s.s, 0, s.n, m, NGROUPS, &found);
	if (rc < 0) {
		/* error set */
	} else if (!found) {
		*out = value_null();
	} else if (na <= 3) {
		*out = value_strn(s.s + m[0].so, (size_t)(m[0].eo - m[0].so));
	} else {
		struct value *l = value_list();
		for (size_t i = 3; i < na && rc == 0; i++) {
			struct buf g = BUF_INIT;
			struct sv spec;
			tmpl_sv_of(&spec, a[i]);
			rc = tmpl_expand_repl(c, line, re, &spec, s.s, m, &g);
			tmpl_sv_free(&spec);
			if (rc == 0)
				value_list_push(l, tmpl_buf_value(&g));
			else
				buf_free(&g);
		}
		if (rc < 0)
			value_unref(l);
		else
			*out = l;
	}
	rx_free(re);
	tmpl_sv_free(&s);
	return rc;
}

static int f_regex_findall(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			   struct value **out)
{
	struct rx *re;
	if (tmpl_py_regex(c, line, a[0], tmpl_arg_bool(a[1], 0), tmpl_arg_bool(a[2], 0), &re) < 0)
		return -1;
	struct sv s;
	tmpl_sv_of(&s, in);
	struct value *l = value_list();
	size_t pos = 0;
	int rc = 0;
	while (pos <= s.n && rc == 0) {
		struct rx_span m[NGROUPS];
		int found;
		if ((rc = tmpl_rx_exec(c, line, re, s.s, pos, s.n, m, NGROUPS, &found)) < 0 ||
		    !found)
			break;
		size_t g = (size_t)rx_ngroups(re) >= 1 ? 1 : 0;
		struct value *item;
		if ((size_t)rx_ngroups(re) > 1) {
			item = value_list();
			for (size_t k = 1; k <= (size_t)rx_ngroups(re) && k < NGROUPS; k++)
				value_list_push(
				    item, m[k].so < 0 ? value_str("")
						      : value_strn(s.s + m[k].so,
								   (size_t)(m[k].eo - m[k].so)));
		} else {
			item = m[g].so < 0 ? value_str("")
					   : value_strn(s.s + m[g].so, (size_t)(m[g].eo - m[g].so));
		}
		value_list_push(l, item);
		pos = m[0].eo > m[0].so ? (size_t)m[0].eo : (size_t)m[0].so + 1;
		if (l->u.list.n > MAX_ITEMS)
			rc = tmpl_efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
		else
			rc = tmpl_charge(c, line, STEPS_PER_ITEM * (1 + (size_t)rx_ngroups(re)));
	}
	rx_free(re);
	tmpl_sv_free(&s);
	if (rc < 0) {
		value_unref(l);
		return -1;
	}
	*out = l;
	return 0;
}

static int f_regex_escape(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			  struct value **out)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s.n; i++) {
		if (strchr("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", s.s[i]) && s.s[i])
			buf_putc(&b, '\\');
		buf_putc(&b, s.s[i]);
	}
	tmpl_sv_free(&s);
	*out = tmpl_buf_value(&b);
	return 0;
}

/* JSON as Python's json.dumps prints it: ", " and ": " separators. */
static int json_py(struct ctx *c, int line, struct value *v, struct buf *b, int sort, int html,
		   int depth)
{
	if (depth > 500)
		return tmpl_efail(c, line, "value nested too deeply for JSON");
	if (v->type == V_STR) {
		if (!html) {
			buf_json_str(b, v->u.str.s, v->u.str.len);
			return 0;
		}
		struct buf t = BUF_INIT;
		buf_json_str(&t, v->u.str.s, v->u.str.len);
		for (size_t i = 0; i < t.len; i++) {
			char ch = t.s[i];
			if (ch == '<' || ch == '>' || ch == '&' || ch == '\'')
				buf_printf(b, "\\u%04x", (unsigned)ch);
			else
				buf_putc(b, ch);
		}
		buf_free(&t);
		return 0;
	}
	if (v->type == V_LIST) {
		buf_putc(b, '[');
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i)
				buf_puts(b, ", ");
			if (json_py(c, line, v->u.list.v[i], b, sort, html, depth + 1) < 0)
				return -1;
		}
		buf_putc(b, ']');
		return tmpl_charge(c, line, v->u.list.n);
	}
	if (v->type == V_MAP || v->type == V_OBJ) {
		struct value *m = tmpl_as_map(c, line, v, "to_json");
		if (!m)
			return -1;
		size_t n = value_len(m);
		struct skey *k = xcalloc(n + 1, sizeof *k);
		for (size_t i = 0; i < n; i++) {
			k[i].key = value_str(value_map_key(m, i));
			k[i].item = value_map_val(m, i);
		}
		int rc = sort ? tmpl_sort_pairs(c, line, k, n, 0, 0) : 0;
		if (rc == 0)
			buf_putc(b, '{');
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i)
				buf_puts(b, ", ");
			if ((rc = json_py(c, line, k[i].key, b, sort, html, depth + 1)) < 0)
				break;
			buf_puts(b, ": ");
			rc = json_py(c, line, k[i].item, b, sort, html, depth + 1);
		}
		if (rc == 0)
			buf_putc(b, '}');
		free_keys(k, n);
		value_unref(m);
		return rc;
	}
	value_to_json(v, b, 0, 0);
	return 0;
}

static int to_json(struct ctx *c, int line, struct value *in, int sort, int html,
		   struct value **out)
{
	struct buf b = BUF_INIT;
	if (json_py(c, line, in, &b, sort, html, 0) < 0 || tmpl_str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

static int f_to_json(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	return to_json(c, line, in, tmpl_arg_bool(a[0], 0), 0, out);
}

static int f_tojson(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	return to_json(c, line, in, 1, 1, out);
}

static int f_to_nice_json(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			  struct value **out)
{
	long long indent = 4;
	if (a[0] && tmpl_arg_int(c, line, a[0], "indent", &indent) < 0)
		return -1;
	if (indent < 1 || indent > 16)
		indent = indent < 1 ? 1 : 16;
	struct buf b = BUF_INIT;
	value_to_json(in, &b, (int)indent, a[1] ? value_truthy(a[1]) : 1);
	if (tmpl_str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

static int f_basename(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      struct value **out)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	size_t i = s.n;
	while (i > 0 && s.s[i - 1] != '/')
		i--;
	*out = value_strn(s.s + i, s.n - i);
	tmpl_sv_free(&s);
	return 0;
}

static int f_dirname(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	size_t i = s.n;
	while (i > 0 && s.s[i - 1] != '/')
		i--;
	size_t h = i;
	size_t slashes = 0;
	while (slashes < h && s.s[slashes] == '/')
		slashes++;
	if (slashes != h)
		while (h > 0 && s.s[h - 1] == '/')
			h--;
	*out = value_strn(s.s, h);
	tmpl_sv_free(&s);
	return 0;
}

/* shlex.quote */
static int f_quote(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	int safe = s.n > 0;
	for (size_t i = 0; i < s.n && safe; i++)
		safe = isalnum((unsigned char)s.s[i]) || strchr("@%+=:,./-_", s.s[i]);
	struct buf b = BUF_INIT;
	if (safe) {
		buf_put(&b, s.s, s.n);
	} else {
		buf_putc(&b, '\'');
		for (size_t i = 0; i < s.n; i++) {
			if (s.s[i] == '\'')
				buf_puts(&b, "'\"'\"'");
			else
				buf_putc(&b, s.s[i]);
		}
		buf_putc(&b, '\'');
	}
	tmpl_sv_free(&s);
	*out = tmpl_buf_value(&b);
	return 0;
}

/* systemd_arg, systemd_env, systemd_value, toml_str, yaml_str, conf_word:
 * a value quoted for the format it is written into, or an error when that
 * format cannot hold it (core/quote.h) */
static int quoted(struct ctx *c, int line, struct value *in, enum quote_format f, const char *name,
		  struct value **out)
{
	if (in->type != V_STR && in->type != V_INT && in->type != V_FLOAT)
		return tmpl_efail(c, line, "%s: a string or a number is needed", name);
	struct sv s;
	tmpl_sv_of(&s, in);
	struct buf b = BUF_INIT;
	const char *why;
	int rc = quote_as(f, s.s, s.n, &b, &why);
	tmpl_sv_free(&s);
	if (rc < 0) {
		buf_free(&b);
		return tmpl_efail(c, line, "a value that %s cannot be written by %s", why, name);
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

#define QUOTE_FILTER(fname, fmt)                                                                   \
	static int f_##fname(struct ctx *c, int line, struct value *in, struct value **a,          \
			     size_t na, struct value **out)                                        \
	{                                                                                          \
		(void)a;                                                                           \
		(void)na;                                                                          \
		return quoted(c, line, in, fmt, #fname, out);                                      \
	}
QUOTE_FILTER(systemd_arg, QUOTE_SYSTEMD_ARG)
QUOTE_FILTER(systemd_env, QUOTE_SYSTEMD_ENV)
QUOTE_FILTER(systemd_value, QUOTE_SYSTEMD_VALUE)
QUOTE_FILTER(toml_str, QUOTE_TOML)
QUOTE_FILTER(yaml_str, QUOTE_YAML)
QUOTE_FILTER(conf_word, QUOTE_WORD)

static int f_b64encode(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct sv s;
	tmpl_sv_of(&s, in);
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s.s;
	for (size_t i = 0; i < s.n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		if (i + 1 < s.n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < s.n)
			v |= p[i + 2];
		buf_putc(&b, tbl[(v >> 18) & 63]);
		buf_putc(&b, tbl[(v >> 12) & 63]);
		buf_putc(&b, i + 1 < s.n ? tbl[(v >> 6) & 63] : '=');
		buf_putc(&b, i + 2 < s.n ? tbl[v & 63] : '=');
	}
	tmpl_sv_free(&s);
	if (tmpl_str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

static int f_b64decode(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	struct buf b = BUF_INIT;
	unsigned long acc = 0;
	int bits = 0, pad = 0, bad = 0;
	size_t nchars = 0;
	for (size_t i = 0; i < s.n && !bad; i++) {
		char ch = s.s[i];
		if (tmpl_is_space(ch))
			continue;
		if (ch == '=') {
			pad++;
			nchars++;
			continue;
		}
		int v = b64val(ch);
		if (v < 0 || pad) {
			bad = 1;
			break;
		}
		nchars++;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(&b, (char)((acc >> bits) & 0xff));
		}
	}
	tmpl_sv_free(&s);
	if (bad || nchars % 4 != 0 || pad > 2) {
		buf_free(&b);
		return tmpl_efail(c, line, "b64decode: invalid base64 input");
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

static int f_indent(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    struct value **out)
{
	struct buf ind = BUF_INIT;
	if (!a[0]) {
		buf_puts(&ind, "    ");
	} else if (a[0]->type == V_STR) {
		buf_put(&ind, a[0]->u.str.s, a[0]->u.str.len);
	} else {
		long long w = 0;
		if (tmpl_arg_int(c, line, a[0], "width", &w) < 0)
			return -1;
		if (w > 1000)
			w = 1000;
		for (long long i = 0; i < w; i++)
			buf_putc(&ind, ' ');
	}
	int first = tmpl_arg_bool(a[1], 0), blank = tmpl_arg_bool(a[2], 0);
	struct sv s;
	tmpl_sv_of(&s, in);
	struct buf b = BUF_INIT;
	if (first && (s.n || blank))
		buf_put(&b, ind.s, ind.len);
	int rc = 0;
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.s[i];
		buf_putc(&b, ch);
		if (ch == '\r' && i + 1 < s.n && s.s[i + 1] == '\n')
			buf_putc(&b, s.s[++i]);
		if ((ch == '\n' || ch == '\r') && i + 1 < s.n) {
			char nx = s.s[i + 1];
			if (blank || (nx != '\n' && nx != '\r'))
				buf_put(&b, ind.s, ind.len);
		}
		if (b.len > MAX_STR) {
			rc = tmpl_str_limit(c, line, b.len);
			break;
		}
	}
	if (first && !s.n && !blank)
		buf_put(&b, ind.s, ind.len);
	tmpl_sv_free(&s);
	buf_free(&ind);
	if (rc < 0 || tmpl_str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}

static int f_ternary(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	if (in->type == V_NULL && a[2])
		*out = value_ref(a[2]);
	else
		*out = value_ref(value_truthy(in) ? a[0] : a[1]);
	return 0;
}

static struct value *combine2(struct value *x, struct value *y, int recursive, int depth)
{
	struct value *m = value_map();
	for (size_t i = 0; i < value_len(x); i++)
		value_map_set(m, value_map_key(x, i), value_ref(value_map_val(x, i)));
	for (size_t i = 0; i < value_len(y); i++) {
		const char *k = value_map_key(y, i);
		struct value *yv = value_map_val(y, i), *xv = value_map_get(m, k);
		if (recursive && depth < 100 && xv && xv->type == V_MAP && yv->type == V_MAP)
			value_map_set(m, k, combine2(xv, yv, 1, depth + 1));
		else
			value_map_set(m, k, value_ref(yv));
	}
	return m;
}

static int f_combine(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	if (a[1] && !(a[1]->type == V_STR && !strcmp(a[1]->u.str.s, "replace")))
		return tmpl_efail(c, line, "combine: only list_merge='replace' is supported");
	struct value *acc = tmpl_as_map(c, line, in, "combine");
	for (size_t i = 2; i < na && acc; i++) {
		struct value *lst = a[i]->type == V_LIST ? value_ref(a[i]) : NULL;
		if (!lst) {
			lst = value_list();
			value_list_push(lst, value_ref(a[i]));
		}
		for (size_t j = 0; j < lst->u.list.n && acc; j++) {
			struct value *m = tmpl_as_map(c, line, lst->u.list.v[j], "combine");
			struct value *r = m ? combine2(acc, m, tmpl_arg_bool(a[0], 0), 0) : NULL;
			value_unref(m);
			value_unref(acc);
			acc = r;
		}
		value_unref(lst);
	}
	*out = acc;
	return acc ? 0 : -1;
}

static int f_dict2items(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	const char *kn = "key", *vn = "value";
	if ((a[0] && tmpl_arg_str(c, line, a[0], "key_name") < 0) ||
	    (a[1] && tmpl_arg_str(c, line, a[1], "value_name") < 0))
		return -1;
	if (a[0])
		kn = a[0]->u.str.s;
	if (a[1])
		vn = a[1]->u.str.s;
	struct value *m = tmpl_as_map(c, line, in, "dict2items");
	if (!m)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(m); i++) {
		struct value *e = value_map();
		value_map_set(e, kn, value_str(value_map_key(m, i)));
		value_map_set(e, vn, value_ref(value_map_val(m, i)));
		value_list_push(l, e);
	}
	value_unref(m);
	*out = l;
	return 0;
}

static int f_items2dict(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	struct value *kn = a[0], *vn = a[1], *dk = value_str("key"), *dv = value_str("value");
	struct value *l = NULL, *m = value_map();
	int rc = tmpl_want_seq(c, line, in, &l);
	for (size_t i = 0; rc == 0 && i < l->u.list.n; i++) {
		struct value *k =
		    tmpl_defined(c, tmpl_get_item(c, line, l->u.list.v[i], kn ? kn : dk));
		struct value *v =
		    k ? tmpl_defined(c, tmpl_get_item(c, line, l->u.list.v[i], vn ? vn : dv))
		      : NULL;
		if (!v) {
			rc = -1;
		} else {
			struct sv ks;
			tmpl_sv_of(&ks, k);
			value_map_set(m, ks.s, value_ref(v));
			tmpl_sv_free(&ks);
		}
		value_unref(k);
		value_unref(v);
	}
	value_unref(l);
	value_unref(dk);
	value_unref(dv);
	if (rc < 0) {
		value_unref(m);
		return -1;
	}
	*out = m;
	return 0;
}

static int f_items(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	struct value *m = tmpl_as_map(c, line, in, "items");
	if (!m)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(m); i++)
		value_list_push(
		    l, tmpl_pair(value_str(value_map_key(m, i)), value_ref(value_map_val(m, i))));
	value_unref(m);
	*out = l;
	return 0;
}

static int f_dictsort(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      struct value **out)
{
	struct value *items;
	if (f_items(c, line, in, a, na, &items) < 0)
		return -1;
	int by_value = 0;
	if (a[1]) {
		if (tmpl_arg_str(c, line, a[1], "by") < 0) {
			value_unref(items);
			return -1;
		}
		by_value = !strcmp(a[1]->u.str.s, "value");
	}
	size_t n = items->u.list.n;
	struct skey *k = xcalloc(n + 1, sizeof *k);
	for (size_t i = 0; i < n; i++) {
		k[i].item = items->u.list.v[i];
		k[i].key = value_ref(k[i].item->u.list.v[by_value]);
	}
	int rc = tmpl_sort_pairs(c, line, k, n, !tmpl_arg_bool(a[0], 0), tmpl_arg_bool(a[2], 0));
	struct value *r = value_list();
	for (size_t i = 0; i < n && rc == 0; i++)
		value_list_push(r, value_ref(k[i].item));
	free_keys(k, n);
	value_unref(items);
	if (rc < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

static void flatten_into(struct value *dst, struct value *l, long long levels, int depth)
{
	for (size_t i = 0; i < l->u.list.n; i++) {
		struct value *it = l->u.list.v[i];
		if (it->type == V_LIST && levels != 0 && depth < 200)
			flatten_into(dst, it, levels - 1, depth + 1);
		else if (it->type != V_NULL && dst->u.list.n < MAX_ITEMS)
			value_list_push(dst, value_ref(it));
	}
}

static int f_flatten(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	long long levels = -1;
	if (a[0] && a[0]->type != V_NULL && tmpl_arg_int(c, line, a[0], "levels", &levels) < 0)
		return -1;
	struct value *l;
	if (tmpl_want_seq(c, line, in, &l) < 0)
		return -1;
	struct value *r = value_list();
	flatten_into(r, l, levels, 0);
	value_unref(l);
	if (tmpl_charge(c, line, r->u.list.n) < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* 0 union, 1 difference, 2 intersect, 3 symmetric_difference */
static int setop(struct ctx *c, int line, struct value *in, struct value *other, int op,
		 struct value **out)
{
	struct value *x, *y;
	if (tmpl_want_seq(c, line, in, &x) < 0)
		return -1;
	if (tmpl_want_seq(c, line, other, &y) < 0) {
		value_unref(x);
		return -1;
	}
	struct vset sx = {NULL, 0, 0, 0}, sy = {NULL, 0, 0, 0}, seen = {NULL, 0, 0, 0};
	for (size_t i = 0; i < x->u.list.n; i++)
		tmpl_vset_add(&sx, x->u.list.v[i]);
	for (size_t i = 0; i < y->u.list.n; i++)
		tmpl_vset_add(&sy, y->u.list.v[i]);
	struct value *r = value_list();
	for (size_t i = 0; i < x->u.list.n; i++) {
		struct value *it = x->u.list.v[i];
		int keep = op == 0 || op == 2 ? (op == 0 || tmpl_vset_has(&sy, it))
					      : !tmpl_vset_has(&sy, it);
		if (keep && tmpl_vset_add(&seen, it))
			value_list_push(r, value_ref(it));
	}
	for (size_t i = 0; (op == 0 || op == 3) && i < y->u.list.n; i++) {
		struct value *it = y->u.list.v[i];
		if ((op == 0 || !tmpl_vset_has(&sx, it)) && tmpl_vset_add(&seen, it))
			value_list_push(r, value_ref(it));
	}
	free(sx.v);
	free(sy.v);
	free(seen.v);
	value_unref(x);
	value_unref(y);
	if (tmpl_charge(c, line, r->u.list.n) < 0) {
		value_unref(r);
		return -1;
	}
	*out = r;
	return 0;
}

static int f_union(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	return setop(c, line, in, a[0], 0, out);
}

static int f_difference(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	return setop(c, line, in, a[0], 1, out);
}

static int f_intersect(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	return setop(c, line, in, a[0], 2, out);
}

static int f_symmetric_difference(struct ctx *c, int line, struct value *in, struct value **a,
				  size_t na, struct value **out)
{
	return setop(c, line, in, a[0], 3, out);
}

static const struct fdef filters[] = {
    {"abs", f_abs, {NULL}, 0, 0},
    {"b64decode", f_b64decode, {NULL}, 0, 0},
    {"b64encode", f_b64encode, {NULL}, 0, 0},
    {"basename", f_basename, {NULL}, 0, 0},
    {"bool", f_bool, {NULL}, 0, 0},
    {"capitalize", f_capitalize, {NULL}, 0, 0},
    {"combine", f_combine, {"*recursive", "*list_merge", NULL}, 0, F_VARARGS},
    {"conf_word", f_conf_word, {NULL}, 0, 0},
    {"count", f_length, {NULL}, 0, 0},
    {"d", f_default, {"default_value", "boolean", NULL}, 0, F_UNDEF_IN | F_UNDEF_ARGS},
    {"default", f_default, {"default_value", "boolean", NULL}, 0, F_UNDEF_IN | F_UNDEF_ARGS},
    {"dict2items", f_dict2items, {"key_name", "value_name", NULL}, 0, 0},
    {"dictsort", f_dictsort, {"case_sensitive", "by", "reverse", NULL}, 0, 0},
    {"difference", f_difference, {"b", NULL}, 1, 0},
    {"dirname", f_dirname, {NULL}, 0, 0},
    {"first", f_first, {NULL}, 0, 0},
    {"flatten", f_flatten, {"levels", NULL}, 0, 0},
    {"float", f_float, {"default", NULL}, 0, 0},
    {"indent", f_indent, {"width", "first", "blank", NULL}, 0, 0},
    {"int", f_int, {"default", "base", NULL}, 0, 0},
    {"intersect", f_intersect, {"b", NULL}, 1, 0},
    {"items", f_items, {NULL}, 0, 0},
    {"items2dict", f_items2dict, {"key_name", "value_name", NULL}, 0, 0},
    {"join", tmpl_f_join, {"d", "attribute", NULL}, 0, 0},
    {"last", f_last, {NULL}, 0, 0},
    {"length", f_length, {NULL}, 0, 0},
    {"list", f_list, {NULL}, 0, 0},
    {"lower", f_lower, {NULL}, 0, 0},
    {"mandatory", f_mandatory, {"msg", NULL}, 0, F_UNDEF_IN},
    {"map", f_map, {"filter", "*attribute", "*default", NULL}, 0, F_VARARGS},
    {"max", f_max, {"case_sensitive", "attribute", NULL}, 0, 0},
    {"min", f_min, {"case_sensitive", "attribute", NULL}, 0, 0},
    {"quote", f_quote, {NULL}, 0, 0},
    {"regex_escape", f_regex_escape, {NULL}, 0, 0},
    {"regex_findall", f_regex_findall, {"regex", "ignorecase", "multiline", NULL}, 1, 0},
    {"regex_replace",
     f_regex_replace,
     {"regex", "replace", "ignorecase", "multiline", "count", NULL},
     0,
     0},
    {"regex_search", f_regex_search, {"regex", "*ignorecase", "*multiline", NULL}, 1, F_VARARGS},
    {"reject", f_reject, {"test", NULL}, 0, F_VARARGS},
    {"rejectattr", f_rejectattr, {"attr", "test", NULL}, 1, F_VARARGS},
    {"replace", f_replace, {"old", "new", "count", NULL}, 2, 0},
    {"reverse", f_reverse, {NULL}, 0, 0},
    {"round", f_round, {"precision", "method", NULL}, 0, 0},
    {"safe", f_safe, {NULL}, 0, 0},
    {"select", f_select, {"test", NULL}, 0, F_VARARGS},
    {"selectattr", f_selectattr, {"attr", "test", NULL}, 1, F_VARARGS},
    {"sort", f_sort, {"reverse", "case_sensitive", "attribute", NULL}, 0, 0},
    {"split", f_split, {"sep", "maxsplit", NULL}, 0, 0},
    {"string", f_string, {NULL}, 0, 0},
    {"sum", f_sum, {"attribute", "start", NULL}, 0, 0},
    {"symmetric_difference", f_symmetric_difference, {"b", NULL}, 1, 0},
    {"systemd_arg", f_systemd_arg, {NULL}, 0, 0},
    {"systemd_env", f_systemd_env, {NULL}, 0, 0},
    {"systemd_value", f_systemd_value, {NULL}, 0, 0},
    {"ternary", f_ternary, {"true_val", "false_val", "none_val", NULL}, 2, F_UNDEF_ARGS},
    {"title", f_title, {NULL}, 0, 0},
    {"to_json", f_to_json, {"sort_keys", NULL}, 0, 0},
    {"to_nice_json", f_to_nice_json, {"indent", "sort_keys", NULL}, 0, 0},
    {"tojson", f_tojson, {"indent", NULL}, 0, 0},
    {"toml_str", f_toml_str, {NULL}, 0, 0},
    {"trim", f_trim, {"chars", NULL}, 0, 0},
    {"union", f_union, {"b", NULL}, 1, 0},
    {"unique", f_unique, {"case_sensitive", "attribute", NULL}, 0, 0},
    {"upper", f_upper, {NULL}, 0, 0},
    {"yaml_str", f_yaml_str, {NULL}, 0, 0},
};

static const size_t nfilters = sizeof filters / sizeof filters[0];

int tmpl_find_filter(const char *name)
{
	for (size_t i = 0; i < nfilters; i++)
		if (!strcmp(filters[i].name, name))
			return (int)i;
	return -1;
}

struct value *tmpl_apply_filter(struct ctx *c, int line, int f, struct value *in,
				const struct argv *av)
{
	const struct fdef *d = &filters[f];
	struct value *slots[MAX_SLOTS], *out = NULL;
	size_t ns;
	char what[64];
	if (!(d->flags & F_UNDEF_IN) && tmpl_is_undef(in)) {
		tmpl_raise_undef(c, in);
		return NULL;
	}
	if (!(d->flags & F_UNDEF_ARGS) && tmpl_argv_defined(c, (struct argv *)av) < 0)
		return NULL;
	snprintf(what, sizeof what, "filter '%s'", d->name);
	if (tmpl_bind(c, line, what, d->params, d->nreq, d->flags & F_VARARGS, av, slots, &ns) < 0)
		return NULL;
	if (d->fn(c, line, in, slots, ns, &out) < 0) {
		value_unref(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* Tests */

static int t_defined(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     int *res)
{
	*res = !tmpl_is_undef(in);
	return 0;
}

static int t_undefined(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       int *res)
{
	*res = tmpl_is_undef(in);
	return 0;
}

static int t_none(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	*res = in->type == V_NULL;
	return 0;
}

static int t_string(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int *res)
{
	*res = in->type == V_STR;
	return 0;
}

static int t_number(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int *res)
{
	*res = tmpl_is_num(in);
	return 0;
}

static int t_integer(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     int *res)
{
	*res = in->type == V_INT;
	return 0;
}

static int t_float(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	*res = in->type == V_FLOAT;
	return 0;
}

static int t_boolean(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     int *res)
{
	*res = in->type == V_BOOL;
	return 0;
}

static int t_true(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	*res = in->type == V_BOOL && in->u.b;
	return 0;
}

static int t_false(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	*res = in->type == V_BOOL && !in->u.b;
	return 0;
}

static int t_mapping(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     int *res)
{
	*res = in->type == V_MAP || (in->type == V_OBJ && !tmpl_is_undef(in));
	return 0;
}

static int t_sequence(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      int *res)
{
	*res = in->type == V_STR || in->type == V_LIST || in->type == V_MAP || in->type == V_OBJ;
	return 0;
}

static int t_truthy(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int *res)
{
	*res = value_truthy(in);
	return 0;
}

static int t_falsy(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	*res = !value_truthy(in);
	return 0;
}

static int int_input(struct ctx *c, int line, struct value *in, long long *v)
{
	if (!tmpl_is_intlike(in))
		return tmpl_efail(c, line, "expected an integer, got %s", tmpl_pyname(in));
	*v = tmpl_ival(in);
	return 0;
}

static int t_odd(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	long long v = 0;
	if (int_input(c, line, in, &v) < 0)
		return -1;
	*res = v % 2 != 0;
	return 0;
}

static int t_even(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	long long v = 0;
	if (int_input(c, line, in, &v) < 0)
		return -1;
	*res = v % 2 == 0;
	return 0;
}

static int t_divisibleby(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			 int *res)
{
	long long v = 0, d = 1;
	if (int_input(c, line, in, &v) < 0 || tmpl_arg_int(c, line, a[0], "the divisor", &d) < 0)
		return -1;
	if (d == 0)
		return tmpl_efail(c, line, "integer division or modulo by zero");
	*res = d == -1 || v % d == 0;
	return 0;
}

static int t_cmp(struct ctx *c, int line, struct value *in, struct value *other, int op, int *res)
{
	return tmpl_compare(c, line, op, in, other, res);
}

static int t_eq(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_EQ, res);
}

static int t_ne(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_NE, res);
}

static int t_lt(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_LT, res);
}

static int t_le(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_LE, res);
}

static int t_gt(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_GT, res);
}

static int t_ge(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_cmp(c, line, in, a[0], OP_GE, res);
}

static int t_in(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return tmpl_contains(c, line, a[0], in, res);
}

static int t_contains(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      int *res)
{
	return tmpl_contains(c, line, in, a[0], res);
}

static int t_sameas(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int *res)
{
	struct value *o = a[0];
	/* None, booleans and (small, cached) ints are singletons in Python */
	if (in->type == V_NULL || in->type == V_BOOL || o->type == V_NULL || o->type == V_BOOL ||
	    (in->type == V_INT && o->type == V_INT))
		*res = in->type == o->type && value_equal(in, o);
	else
		*res = in == o;
	return 0;
}

/* str.islower / isupper: some cased character, all of them in that case */
int tmpl_t_case(struct value *in, int upper, int *res)
{
	struct sv s;
	tmpl_sv_of(&s, in);
	int cased = 0, ok = 1;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.s[i];
		if (isalpha(ch)) {
			cased = 1;
			if (upper ? islower(ch) : isupper(ch))
				ok = 0;
		}
	}
	tmpl_sv_free(&s);
	*res = cased && ok;
	return 0;
}

static int t_lower(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return tmpl_t_case(in, 0, res);
}

static int t_upper(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return tmpl_t_case(in, 1, res);
}

/* how: 0 search, 1 match (at the start) */
static int regex_test(struct ctx *c, int line, struct value *in, struct value **a, int how,
		      int *res)
{
	struct rx *re;
	if (in->type != V_STR)
		return tmpl_efail(c, line, "the regex tests need a string, got %s",
				  tmpl_pyname(in));
	if (tmpl_py_regex(c, line, a[0], tmpl_arg_bool(a[1], 0), tmpl_arg_bool(a[2], 0), &re) < 0)
		return -1;
	struct rx_span m[1];
	int found, rc = tmpl_rx_exec(c, line, re, in->u.str.s, 0, in->u.str.len, m, 1, &found);
	*res = rc == 0 && found && (how == 0 || m[0].so == 0);
	rx_free(re);
	return rc;
}

static int t_match(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return regex_test(c, line, in, a, 1, res);
}

static int t_search(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		    int *res)
{
	return regex_test(c, line, in, a, 0, res);
}

static int t_regex(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	int how = 0;
	if (a[3]) {
		if (tmpl_arg_str(c, line, a[3], "match_type") < 0)
			return -1;
		how = !strcmp(a[3]->u.str.s, "match");
	}
	return regex_test(c, line, in, a, how, res);
}

/* Loose version ordering: numbers numerically, words as strings, a number
 * after a word; separators ignored; a leading v skipped. */
static int vercmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	if (an > 1 && (a[0] == 'v' || a[0] == 'V') && isdigit((unsigned char)a[1]))
		i = 1;
	if (bn > 1 && (b[0] == 'v' || b[0] == 'V') && isdigit((unsigned char)b[1]))
		j = 1;
	for (;;) {
		while (i < an && !isalnum((unsigned char)a[i]))
			i++;
		while (j < bn && !isalnum((unsigned char)b[j]))
			j++;
		if (i == an || j == bn)
			return (i < an) - (j < bn);
		int da = isdigit((unsigned char)a[i]) != 0, db = isdigit((unsigned char)b[j]) != 0;
		if (da != db)
			return da ? 1 : -1;
		size_t si = i, sj = j;
		if (da) {
			while (si < an && a[si] == '0')
				si++;
			while (sj < bn && b[sj] == '0')
				sj++;
			i = si;
			j = sj;
			while (i < an && isdigit((unsigned char)a[i]))
				i++;
			while (j < bn && isdigit((unsigned char)b[j]))
				j++;
			if (i - si != j - sj)
				return i - si < j - sj ? -1 : 1;
		} else {
			while (i < an && isalpha((unsigned char)a[i]))
				i++;
			while (j < bn && isalpha((unsigned char)b[j]))
				j++;
		}
		size_t la = i - si, lb = j - sj;
		int r = memcmp(a + si, b + sj, la < lb ? la : lb);
		if (r || la != lb)
			return r ? (r < 0 ? -1 : 1) : (la < lb ? -1 : 1);
	}
}

static int t_version(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     int *res)
{
	static const struct {
		const char *name;
		int op;
	} ops[] = {{"<", OP_LT},  {"lt", OP_LT}, {"<=", OP_LE}, {"le", OP_LE}, {">", OP_GT},
		   {"gt", OP_GT}, {">=", OP_GE}, {"ge", OP_GE}, {"==", OP_EQ}, {"=", OP_EQ},
		   {"eq", OP_EQ}, {"!=", OP_NE}, {"<>", OP_NE}, {"ne", OP_NE}};
	int op = OP_EQ;
	if (a[1]) {
		size_t k;
		if (tmpl_arg_str(c, line, a[1], "the operator") < 0)
			return -1;
		for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
			if (!strcmp(ops[k].name, a[1]->u.str.s))
				break;
		if (k == sizeof ops / sizeof ops[0])
			return tmpl_efail(c, line, "invalid version operator '%.40s'",
					  a[1]->u.str.s);
		op = ops[k].op;
	}
	struct sv x, y;
	tmpl_sv_of(&x, in);
	tmpl_sv_of(&y, a[0]);
	if (!x.n || !y.n) {
		tmpl_sv_free(&x);
		tmpl_sv_free(&y);
		return tmpl_efail(c, line, "version value cannot be empty");
	}
	int r = vercmp(x.s, x.n, y.s, y.n);
	tmpl_sv_free(&x);
	tmpl_sv_free(&y);
	switch (op) {
	case OP_LT: *res = r < 0; break;
	case OP_LE: *res = r <= 0; break;
	case OP_GT: *res = r > 0; break;
	case OP_GE: *res = r >= 0; break;
	case OP_NE: *res = r != 0; break;
	default: *res = r == 0; break;
	}
	return 0;
}

#define T_UNDEF_OK 1

static const struct tdef tests[] = {
    {"!=", t_ne, {"other", NULL}, 1, 0},
    {"<", t_lt, {"other", NULL}, 1, 0},
    {"<=", t_le, {"other", NULL}, 1, 0},
    {"==", t_eq, {"other", NULL}, 1, 0},
    {">", t_gt, {"other", NULL}, 1, 0},
    {">=", t_ge, {"other", NULL}, 1, 0},
    {"boolean", t_boolean, {NULL}, 0, T_UNDEF_OK},
    {"contains", t_contains, {"item", NULL}, 1, 0},
    {"defined", t_defined, {NULL}, 0, T_UNDEF_OK},
    {"divisibleby", t_divisibleby, {"num", NULL}, 1, 0},
    {"eq", t_eq, {"other", NULL}, 1, 0},
    {"equalto", t_eq, {"other", NULL}, 1, 0},
    {"even", t_even, {NULL}, 0, 0},
    {"false", t_false, {NULL}, 0, T_UNDEF_OK},
    {"falsy", t_falsy, {NULL}, 0, 0},
    {"float", t_float, {NULL}, 0, T_UNDEF_OK},
    {"ge", t_ge, {"other", NULL}, 1, 0},
    {"greaterthan", t_gt, {"other", NULL}, 1, 0},
    {"gt", t_gt, {"other", NULL}, 1, 0},
    {"in", t_in, {"seq", NULL}, 1, 0},
    {"integer", t_integer, {NULL}, 0, T_UNDEF_OK},
    {"iterable", t_sequence, {NULL}, 0, 0},
    {"le", t_le, {"other", NULL}, 1, 0},
    {"lessthan", t_lt, {"other", NULL}, 1, 0},
    {"lower", t_lower, {NULL}, 0, 0},
    {"lt", t_lt, {"other", NULL}, 1, 0},
    {"mapping", t_mapping, {NULL}, 0, T_UNDEF_OK},
    {"match", t_match, {"pattern", "ignorecase", "multiline", NULL}, 1, 0},
    {"ne", t_ne, {"other", NULL}, 1, 0},
    {"none", t_none, {NULL}, 0, T_UNDEF_OK},
    {"number", t_number, {NULL}, 0, T_UNDEF_OK},
    {"odd", t_odd, {NULL}, 0, 0},
    {"regex", t_regex, {"pattern", "ignorecase", "multiline", "match_type", NULL}, 1, 0},
    {"sameas", t_sameas, {"other", NULL}, 1, 0},
    {"search", t_search, {"pattern", "ignorecase", "multiline", NULL}, 1, 0},
    {"sequence", t_sequence, {NULL}, 0, 0},
    {"string", t_string, {NULL}, 0, T_UNDEF_OK},
    {"true", t_true, {NULL}, 0, T_UNDEF_OK},
    {"truthy", t_truthy, {NULL}, 0, 0},
    {"undefined", t_undefined, {NULL}, 0, T_UNDEF_OK},
    {"upper", t_upper, {NULL}, 0, 0},
    {"version", t_version, {"version", "operator", "*strict", NULL}, 1, 0},
    {"version_compare", t_version, {"version", "operator", "*strict", NULL}, 1, 0},
};

static const size_t ntests = sizeof tests / sizeof tests[0];

int tmpl_find_test(const char *name)
{
	for (size_t i = 0; i < ntests; i++)
		if (!strcmp(tests[i].name, name))
			return (int)i;
	return -1;
}

int tmpl_apply_test(struct ctx *c, int line, int t, struct value *in, const struct argv *av,
		    int *res)
{
	const struct tdef *d = &tests[t];
	struct value *slots[MAX_SLOTS];
	size_t ns;
	char what[64];
	if (!(d->flags & T_UNDEF_OK) && tmpl_is_undef(in))
		return tmpl_raise_undef(c, in);
	if (tmpl_argv_defined(c, (struct argv *)av) < 0)
		return -1;
	snprintf(what, sizeof what, "test '%s'", d->name);
	if (tmpl_bind(c, line, what, d->params, d->nreq, 0, av, slots, &ns) < 0)
		return -1;
	return d->fn(c, line, in, slots, ns, res);
}
