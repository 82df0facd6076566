/*
 * tmpl-eval.c - evaluating a compiled template: walk the tree with a
 * per-render context (struct ctx): a stack of frames for {% set %} and loop
 * variables, then env->lookup for the rest. Also the value operations the
 * language and the filters share (lookup, indexing, slicing, comparison,
 * arithmetic, argument binding), rendering, tmpl_render and tmpl_eval.
 *
 * Undefined is a value: an obj whose ops are undef_ops and whose ud is the
 * message to report ("'foo' is undefined"). It flows through attribute
 * access (as Ansible's AnsibleUndefined does), is accepted by `default` and
 * `is defined`, and is turned into an error wherever it is consumed. It
 * never gets into a list or map and never leaves the template engine.
 */
#include "tmpl-int.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Evaluation context */

int tmpl_efail(const struct ctx *c, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ezk_fail_at(c->t->file, line, "%s", msg);
}

int tmpl_charge(struct ctx *c, int line, unsigned long long n)
{
	c->steps += n;
	if (c->steps > MAX_STEPS)
		return tmpl_efail(c, line, "template too expensive: stopped after %llu steps",
				  MAX_STEPS);
	return 0;
}

/* The cost of a computed value: 1 per 16 bytes, STEPS_PER_ITEM per element. */
static int charge_value(struct ctx *c, int line, const struct value *v)
{
	switch (v->type) {
	case V_STR: return tmpl_charge(c, line, v->u.str.len / 16);
	case V_LIST: return tmpl_charge(c, line, v->u.list.n * STEPS_PER_ITEM);
	case V_MAP: return tmpl_charge(c, line, value_len(v) * STEPS_PER_ITEM);
	default: return 0;
	}
}

/* Undefined */

static void undef_free(void *ud)
{
	free(ud);
}

static int undef_get(void *ud, const char *key, size_t klen, struct value **out)
{
	return 1;
}

static const struct vobj_ops undef_ops = {"Undefined", undef_get, NULL, undef_free};

int tmpl_is_undef(const struct value *v)
{
	return v->type == V_OBJ && v->u.obj.ops == &undef_ops;
}

struct value *tmpl_mkundef(int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return value_set_src(value_obj(&undef_ops, xstrdup(msg)), NULL, line);
}

int tmpl_raise_undef(const struct ctx *c, const struct value *u)
{
	return ezk_fail_at(c->t->file, u->line, "%s", (const char *)u->u.obj.ud);
}

/* v itself, or NULL with the error set if v is NULL or Undefined. */
struct value *tmpl_defined(const struct ctx *c, struct value *v)
{
	if (v && tmpl_is_undef(v)) {
		tmpl_raise_undef(c, v);
		value_unref(v);
		return NULL;
	}
	return v;
}

const char *tmpl_pyname(const struct value *v)
{
	switch (v->type) {
	case V_NULL: return "NoneType";
	case V_BOOL: return "bool";
	case V_INT: return "int";
	case V_FLOAT: return "float";
	case V_STR: return "str";
	case V_LIST: return "list";
	case V_MAP: return "dict";
	case V_OBJ: return tmpl_is_undef(v) ? "Undefined" : v->u.obj.ops->name;
	}
	return "?";
}

/* Jinja's object_type_repr: "None", "dict object", ... */
const char *tmpl_type_repr(const struct value *v, char *b, size_t n)
{
	if (v->type == V_NULL)
		return "None";
	snprintf(b, n, "%s object", tmpl_pyname(v));
	return b;
}

int tmpl_clip(size_t n)
{
	return n > 200 ? 200 : (int)n;
}

int tmpl_is_intlike(const struct value *v)
{
	return v->type == V_INT || v->type == V_BOOL;
}

int tmpl_is_num(const struct value *v)
{
	return tmpl_is_intlike(v) || v->type == V_FLOAT;
}

long long tmpl_ival(const struct value *v)
{
	return v->type == V_INT ? v->u.i : v->u.b;
}

double tmpl_fval(const struct value *v)
{
	return v->type == V_FLOAT ? v->u.f : (double)tmpl_ival(v);
}

void tmpl_sv_of(struct sv *sv, const struct value *v)
{
	sv->tmp = (struct buf)BUF_INIT;
	if (v->type == V_STR) {
		sv->s = v->u.str.s;
		sv->n = v->u.str.len;
	} else {
		value_to_str(v, &sv->tmp);
		sv->s = buf_cstr(&sv->tmp);
		sv->n = sv->tmp.len;
	}
}

void tmpl_sv_free(struct sv *sv)
{
	buf_free(&sv->tmp);
}

struct value *tmpl_buf_value(struct buf *b)
{
	size_t n = b->len;
	return value_str_take(buf_detach(b), n);
}

int tmpl_str_limit(struct ctx *c, int line, size_t n)
{
	if (n > MAX_STR)
		return tmpl_efail(c, line, "string too long (more than %u bytes)", MAX_STR);
	return tmpl_charge(c, line, n / 64);
}

/* Frames */

static void frame_set(struct frame *f, const char *name, size_t len, struct value *v)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->vars[i].len == len && !memcmp(f->vars[i].name, name, len)) {
			value_unref(f->vars[i].v);
			f->vars[i].v = v;
			return;
		}
	if (!f->vars) {
		f->vars = f->inl;
		f->cap = sizeof f->inl / sizeof f->inl[0];
	}
	if (f->n == f->cap) {
		struct var *nv = xmalloc(f->cap * 2 * sizeof *nv);
		memcpy(nv, f->vars, f->n * sizeof *nv);
		if (f->vars != f->inl)
			free(f->vars);
		f->vars = nv;
		f->cap *= 2;
	}
	f->vars[f->n].name = name;
	f->vars[f->n].len = len;
	f->vars[f->n].v = v;
	f->n++;
}

static void frame_free(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		value_unref(f->vars[i].v);
	if (f->vars != f->inl)
		free(f->vars);
	value_unref(f->loop_v);
}

static struct value *frame_loop(struct frame *f)
{
	if (!f->loop_v) {
		struct value *m = value_map();
		long long i = (long long)f->loop_i, n = (long long)f->loop_n;
		value_map_set(m, "index", value_int(i + 1));
		value_map_set(m, "index0", value_int(i));
		value_map_set(m, "revindex", value_int(n - i));
		value_map_set(m, "revindex0", value_int(n - i - 1));
		value_map_set(m, "first", value_bool(i == 0));
		value_map_set(m, "last", value_bool(i == n - 1));
		value_map_set(m, "length", value_int(n));
		f->loop_v = m;
	}
	return value_ref(f->loop_v);
}

static struct value *lookup_name(struct ctx *c, const struct expr *e)
{
	for (struct frame *f = c->fr; f; f = f->up) {
		for (size_t i = f->n; i-- > 0;)
			if (f->vars[i].len == e->nlen && !memcmp(f->vars[i].name, e->name, e->nlen))
				return value_ref(f->vars[i].v);
		if (f->has_loop && e->nlen == 4 && !memcmp(e->name, "loop", 4))
			return frame_loop(f);
	}
	if (c->env && c->env->lookup) {
		struct value *v = NULL;
		int r = c->env->lookup(c->env->ud, e->name, e->nlen, &v);
		if (r < 0) {
			value_unref(v);
			return NULL;
		}
		if (r == 0 && v)
			return v;
		value_unref(v);
	}
	return tmpl_mkundef(e->line, "'%.*s' is undefined", tmpl_clip(e->nlen), e->name);
}

/* o.key / o['key']: a new reference, an Undefined, or NULL on error. */
struct value *tmpl_get_key(struct ctx *c, int line, struct value *o, const char *k, size_t klen)
{
	char tr[80];
	if (tmpl_is_undef(o))
		return value_ref(o);
	if (o->type == V_MAP) {
		struct value *v = value_map_getn(o, k, klen);
		if (v)
			return value_ref(v);
	} else if (o->type == V_OBJ) {
		struct value *v = NULL;
		int r = o->u.obj.ops->get(o->u.obj.ud, k, klen, &v);
		if (r < 0) {
			value_unref(v);
			return NULL;
		}
		if (r == 0 && v)
			return v;
		value_unref(v);
	}
	return tmpl_mkundef(line, "'%s' has no attribute '%.*s'", tmpl_type_repr(o, tr, sizeof tr),
			    tmpl_clip(klen), k);
}

struct value *tmpl_get_index(struct ctx *c, int line, struct value *o, long long i)
{
	char tr[80];
	if (tmpl_is_undef(o))
		return value_ref(o);
	if (o->type == V_LIST || o->type == V_STR) {
		long long n = (long long)value_len(o);
		long long j = i < 0 ? i + n : i;
		if (j >= 0 && j < n)
			return o->type == V_LIST ? value_ref(o->u.list.v[j])
						 : value_strn(o->u.str.s + j, 1);
	} else if (o->type == V_MAP || o->type == V_OBJ) {
		char k[32];
		snprintf(k, sizeof k, "%lld", i);
		return tmpl_get_key(c, line, o, k, strlen(k));
	}
	return tmpl_mkundef(line, "%s has no element %lld", tmpl_type_repr(o, tr, sizeof tr), i);
}

struct value *tmpl_get_item(struct ctx *c, int line, struct value *o, struct value *k)
{
	char tr[80];
	if (tmpl_is_undef(o))
		return value_ref(o);
	if (tmpl_is_undef(k)) {
		tmpl_raise_undef(c, k);
		return NULL;
	}
	if (tmpl_is_intlike(k) && o->type != V_MAP && o->type != V_OBJ)
		return tmpl_get_index(c, line, o, tmpl_ival(k));
	if (k->type == V_STR)
		return tmpl_get_key(c, line, o, k->u.str.s, k->u.str.len);
	if (k->type == V_LIST || k->type == V_MAP || k->type == V_OBJ) {
		if (o->type == V_MAP || o->type == V_OBJ) {
			tmpl_efail(c, line, "unhashable type: '%s'", tmpl_pyname(k));
			return NULL;
		}
		return tmpl_mkundef(line, "%s has no element of type %s",
				    tmpl_type_repr(o, tr, sizeof tr), tmpl_pyname(k));
	}
	struct sv ks;
	tmpl_sv_of(&ks, k);
	struct value *r;
	if (o->type == V_MAP || o->type == V_OBJ)
		r = tmpl_get_key(c, line, o, ks.s, ks.n);
	else
		r = tmpl_mkundef(line, "%s has no element %s", tmpl_type_repr(o, tr, sizeof tr),
				 ks.s);
	tmpl_sv_free(&ks);
	return r;
}

/* Slicing with Python's rules. */
static int slice_arg(struct ctx *c, int line, struct value *v, long long *out, int *given)
{
	*given = 0;
	if (!v || v->type == V_NULL)
		return 0;
	if (!tmpl_is_intlike(v))
		return tmpl_efail(c, line, "slice indices must be integers or None, not %s",
				  tmpl_pyname(v));
	*out = tmpl_ival(v);
	*given = 1;
	return 0;
}

static struct value *do_slice(struct ctx *c, int line, struct value *o, struct value *vs[3])
{
	long long start = 0, stop = 0, step = 1;
	int has_start, has_stop, has_step;
	if (o->type != V_LIST && o->type != V_STR) {
		tmpl_efail(c, line, "'%s' object is not subscriptable with a slice",
			   tmpl_pyname(o));
		return NULL;
	}
	if (slice_arg(c, line, vs[0], &start, &has_start) < 0 ||
	    slice_arg(c, line, vs[1], &stop, &has_stop) < 0 ||
	    slice_arg(c, line, vs[2], &step, &has_step) < 0)
		return NULL;
	if (!has_step)
		step = 1;
	if (step == 0) {
		tmpl_efail(c, line, "slice step cannot be zero");
		return NULL;
	}
	if (step < -LLONG_MAX)
		step = -LLONG_MAX;
	long long n = (long long)value_len(o);
	if (!has_start) {
		start = step < 0 ? n - 1 : 0;
	} else {
		if (start < 0)
			start += n;
		if (start < 0)
			start = step < 0 ? -1 : 0;
		else if (start >= n)
			start = step < 0 ? n - 1 : n;
	}
	if (!has_stop) {
		stop = step < 0 ? -1 : n;
	} else {
		if (stop < 0)
			stop += n;
		if (stop < 0)
			stop = step < 0 ? -1 : 0;
		else if (stop >= n)
			stop = step < 0 ? n - 1 : n;
	}
	struct value *l = o->type == V_LIST ? value_list() : NULL;
	struct buf b = BUF_INIT;
	for (long long i = start; step > 0 ? i < stop : i > stop;) {
		if (l)
			value_list_push(l, value_ref(o->u.list.v[i]));
		else
			buf_putc(&b, o->u.str.s[i]);
		if (step > 0 ? stop - i <= step : i - stop <= -step)
			break;
		i += step;
	}
	return l ? l : tmpl_buf_value(&b);
}

/* Ordering as Python's < does; -1 if the types cannot be ordered. With ci,
 * strings compare case-insensitively (Jinja's sort and min/max). */
int tmpl_order(const struct value *a, const struct value *b, int ci, int *res)
{
	if (tmpl_is_num(a) && tmpl_is_num(b)) {
		if (tmpl_is_intlike(a) && tmpl_is_intlike(b)) {
			long long x = tmpl_ival(a), y = tmpl_ival(b);
			*res = x < y ? -1 : x > y;
		} else {
			double x = tmpl_fval(a), y = tmpl_fval(b);
			*res = x < y ? -1 : x > y;
		}
		return 0;
	}
	if (a->type == V_STR && b->type == V_STR) {
		size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
		for (size_t i = 0; i < n; i++) {
			unsigned char x = (unsigned char)a->u.str.s[i],
				      y = (unsigned char)b->u.str.s[i];
			if (ci) {
				x = (unsigned char)tolower(x);
				y = (unsigned char)tolower(y);
			}
			if (x != y) {
				*res = x < y ? -1 : 1;
				return 0;
			}
		}
		*res = a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len;
		return 0;
	}
	if (a->type == V_LIST && b->type == V_LIST) {
		size_t n = a->u.list.n < b->u.list.n ? a->u.list.n : b->u.list.n;
		for (size_t i = 0; i < n; i++)
			if (!value_equal(a->u.list.v[i], b->u.list.v[i]))
				return tmpl_order(a->u.list.v[i], b->u.list.v[i], ci, res);
		*res = a->u.list.n < b->u.list.n ? -1 : a->u.list.n > b->u.list.n;
		return 0;
	}
	return -1;
}

int tmpl_contains(struct ctx *c, int line, struct value *hay, struct value *needle, int *res)
{
	*res = 0;
	switch (hay->type) {
	case V_STR:
		if (needle->type != V_STR)
			return tmpl_efail(c, line,
					  "'in <string>' requires string as left operand, not %s",
					  tmpl_pyname(needle));
		*res = needle->u.str.len == 0 ||
		       memmem(hay->u.str.s, hay->u.str.len, needle->u.str.s, needle->u.str.len);
		return 0;
	case V_LIST:
		for (size_t i = 0; i < hay->u.list.n && !*res; i++)
			*res = value_equal(hay->u.list.v[i], needle);
		return tmpl_charge(c, line, hay->u.list.n / 16);
	case V_MAP:
	case V_OBJ:
		if (needle->type == V_LIST || needle->type == V_MAP)
			return tmpl_efail(c, line, "unhashable type: '%s'", tmpl_pyname(needle));
		if (needle->type != V_STR)
			return 0;
		if (hay->type == V_MAP) {
			*res = value_map_getn(hay, needle->u.str.s, needle->u.str.len) != NULL;
		} else {
			struct value *v = NULL;
			int r = hay->u.obj.ops->get(hay->u.obj.ud, needle->u.str.s,
						    needle->u.str.len, &v);
			value_unref(v);
			if (r < 0)
				return -1;
			*res = r == 0;
		}
		return 0;
	default:
		return tmpl_efail(c, line, "argument of type '%s' is not iterable",
				  tmpl_pyname(hay));
	}
}

int tmpl_compare(struct ctx *c, int line, int op, struct value *l, struct value *r, int *res)
{
	int o;
	switch (op) {
	case OP_EQ: *res = value_equal(l, r); return 0;
	case OP_NE: *res = !value_equal(l, r); return 0;
	case OP_IN: return tmpl_contains(c, line, r, l, res);
	case OP_NOTIN:
		if (tmpl_contains(c, line, r, l, res) < 0)
			return -1;
		*res = !*res;
		return 0;
	default: break;
	}
	if (tmpl_order(l, r, 0, &o) < 0)
		return tmpl_efail(c, line, "'%s' not supported between instances of '%s' and '%s'",
				  tmpl_op_names[op], tmpl_pyname(l), tmpl_pyname(r));
	switch (op) {
	case OP_LT: *res = o < 0; break;
	case OP_LE: *res = o <= 0; break;
	case OP_GT: *res = o > 0; break;
	default: *res = o >= 0; break;
	}
	return 0;
}

/* Keys of a map or obj as a new list. */
struct value *tmpl_keys_of(struct ctx *c, int line, struct value *v)
{
	if (v->type == V_MAP) {
		struct value *l = value_list();
		for (size_t i = 0; i < value_len(v); i++)
			value_list_push(l, value_str(value_map_key(v, i)));
		return l;
	}
	struct value *k = v->u.obj.ops->keys ? v->u.obj.ops->keys(v->u.obj.ud) : NULL;
	if (!k || k->type != V_LIST) {
		value_unref(k);
		tmpl_efail(c, line, "'%s' object cannot be iterated", tmpl_pyname(v));
		return NULL;
	}
	return k;
}

/* The elements a for loop or a filter iterates: a new list. */
struct value *tmpl_iter_list(struct ctx *c, int line, struct value *v)
{
	switch (v->type) {
	case V_LIST: return value_ref(v);
	case V_MAP:
	case V_OBJ: return tmpl_keys_of(c, line, v);
	case V_STR: {
		if (tmpl_charge(c, line, v->u.str.len * STEPS_PER_ITEM) < 0)
			return NULL;
		struct value *l = value_list();
		const unsigned char *s = (const unsigned char *)v->u.str.s;
		size_t n = v->u.str.len;
		for (size_t i = 0; i < n;) {
			size_t k = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 1;
			if (k > n - i)
				k = n - i;
			value_list_push(l, value_strn((const char *)s + i, k));
			i += k;
		}
		return l;
	}
	default: tmpl_efail(c, line, "'%s' object is not iterable", tmpl_pyname(v)); return NULL;
	}
}

/* Arithmetic */

static struct value *int_pow(struct ctx *c, int line, long long a, long long b)
{
	long long r = 1;
	while (b > 0) {
		if ((b & 1) && __builtin_mul_overflow(r, a, &r))
			goto overflow;
		b >>= 1;
		if (b && __builtin_mul_overflow(a, a, &a))
			goto overflow;
	}
	return value_int(r);
overflow:
	tmpl_efail(c, line, "integer overflow in '**'");
	return NULL;
}

static struct value *repeat(struct ctx *c, int line, struct value *seq, long long count)
{
	size_t n = value_len(seq);
	if (count < 0)
		count = 0;
	if (seq->type == V_STR) {
		if (n && (unsigned long long)count > MAX_STR / n) {
			tmpl_efail(c, line, "string too long (more than %u bytes)", MAX_STR);
			return NULL;
		}
		if (tmpl_str_limit(c, line, n * (size_t)count) < 0)
			return NULL;
		size_t total = n * (size_t)count;
		char *r = xmalloc(total + 1);
		if (total) {
			memcpy(r, seq->u.str.s, n);
			for (size_t done = n; done < total;) {
				size_t k = done < total - done ? done : total - done;
				memcpy(r + done, r, k);
				done += k;
			}
		}
		r[total] = '\0';
		return value_str_take(r, total);
	}
	if (n && (unsigned long long)count > MAX_ITEMS / n) {
		tmpl_efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
		return NULL;
	}
	if (tmpl_charge(c, line, n * (size_t)count * STEPS_PER_ITEM) < 0)
		return NULL;
	struct value *l = value_list();
	for (long long i = 0; n && i < count; i++) /* [] * 10**9 is [] at once */
		for (size_t j = 0; j < n; j++)
			value_list_push(l, value_ref(seq->u.list.v[j]));
	return l;
}

struct value *tmpl_binop(struct ctx *c, int line, int op, struct value *l, struct value *r)
{
	if (op == OP_TILDE) {
		struct buf b = BUF_INIT;
		value_to_str(l, &b);
		value_to_str(r, &b);
		if (tmpl_str_limit(c, line, b.len) < 0) {
			buf_free(&b);
			return NULL;
		}
		return tmpl_buf_value(&b);
	}
	if (tmpl_is_num(l) && tmpl_is_num(r)) {
		if (tmpl_is_intlike(l) && tmpl_is_intlike(r) && op != OP_DIV) {
			long long a = tmpl_ival(l), b = tmpl_ival(r), x;
			switch (op) {
			case OP_ADD:
				if (__builtin_add_overflow(a, b, &x))
					break;
				return value_int(x);
			case OP_SUB:
				if (__builtin_sub_overflow(a, b, &x))
					break;
				return value_int(x);
			case OP_MUL:
				if (__builtin_mul_overflow(a, b, &x))
					break;
				return value_int(x);
			case OP_FLOORDIV:
			case OP_MOD:
				if (b == 0) {
					tmpl_efail(c, line, "integer division or modulo by zero");
					return NULL;
				}
				if (b == -1) {
					if (op == OP_MOD)
						return value_int(0);
					if (a == LLONG_MIN)
						break;
					return value_int(-a);
				}
				x = op == OP_MOD ? a % b : a / b;
				if (op == OP_MOD && x != 0 && ((x < 0) != (b < 0)))
					x += b;
				if (op == OP_FLOORDIV && a % b != 0 && ((a < 0) != (b < 0)))
					x--;
				return value_int(x);
			case OP_POW:
				if (b >= 0)
					return int_pow(c, line, a, b);
				if (a == 0) {
					tmpl_efail(c, line,
						   "0 cannot be raised to a negative power");
					return NULL;
				}
				return value_float(pow((double)a, (double)b));
			}
			tmpl_efail(c, line, "integer overflow in '%s'", tmpl_op_names[op]);
			return NULL;
		}
		double a = tmpl_fval(l), b = tmpl_fval(r);
		switch (op) {
		case OP_ADD: return value_float(a + b);
		case OP_SUB: return value_float(a - b);
		case OP_MUL: return value_float(a * b);
		case OP_DIV:
		case OP_FLOORDIV:
		case OP_MOD:
			if (b == 0) {
				tmpl_efail(c, line, "division by zero");
				return NULL;
			}
			if (op == OP_DIV)
				return value_float(a / b);
			if (op == OP_FLOORDIV)
				return value_float(floor(a / b));
			double m = fmod(a, b);
			if (m != 0 && ((m < 0) != (b < 0)))
				m += b;
			return value_float(m);
		case OP_POW:
			if (a == 0 && b < 0) {
				tmpl_efail(c, line, "0.0 cannot be raised to a negative power");
				return NULL;
			}
			if (a < 0 && b != floor(b)) {
				tmpl_efail(
				    c, line,
				    "negative number cannot be raised to a fractional power");
				return NULL;
			}
			return value_float(pow(a, b));
		}
	}
	if (op == OP_ADD && l->type == V_STR && r->type == V_STR) {
		if (tmpl_str_limit(c, line, l->u.str.len + r->u.str.len) < 0)
			return NULL;
		struct buf b = BUF_INIT;
		buf_put(&b, l->u.str.s, l->u.str.len);
		buf_put(&b, r->u.str.s, r->u.str.len);
		return tmpl_buf_value(&b);
	}
	if (op == OP_ADD && l->type == V_LIST && r->type == V_LIST) {
		if (l->u.list.n + r->u.list.n > MAX_ITEMS) {
			tmpl_efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
			return NULL;
		}
		if (tmpl_charge(c, line, l->u.list.n + r->u.list.n) < 0)
			return NULL;
		struct value *x = value_list();
		for (size_t i = 0; i < l->u.list.n; i++)
			value_list_push(x, value_ref(l->u.list.v[i]));
		for (size_t i = 0; i < r->u.list.n; i++)
			value_list_push(x, value_ref(r->u.list.v[i]));
		return x;
	}
	if (op == OP_MUL && (l->type == V_STR || l->type == V_LIST) && tmpl_is_intlike(r))
		return repeat(c, line, l, tmpl_ival(r));
	if (op == OP_MUL && (r->type == V_STR || r->type == V_LIST) && tmpl_is_intlike(l))
		return repeat(c, line, r, tmpl_ival(l));
	tmpl_efail(c, line, "unsupported operand type(s) for %s: '%s' and '%s'", tmpl_op_names[op],
		   tmpl_pyname(l), tmpl_pyname(r));
	return NULL;
}

int tmpl_truth(struct ctx *c, struct value *v, int *t)
{
	if (tmpl_is_undef(v))
		return tmpl_raise_undef(c, v);
	*t = value_truthy(v);
	return 0;
}

static void argv_free(struct argv *av)
{
	for (size_t i = 0; i < av->npos; i++)
		value_unref(av->pos[i]);
	for (size_t i = 0; i < av->nkw; i++)
		value_unref(av->kwv[i]);
	av->npos = av->nkw = 0;
}

static struct value *eval(struct ctx *c, const struct expr *e);

static int eval_args(struct ctx *c, const struct expr *e, struct argv *av)
{
	av->npos = av->nkw = 0;
	if (e->nargs > MAX_ARGS)
		return tmpl_efail(c, e->line, "too many arguments (at most %d)", MAX_ARGS);
	for (size_t i = 0; i < e->nargs; i++) {
		struct value *v = eval(c, e->args[i].e);
		if (!v) {
			argv_free(av);
			return -1;
		}
		if (e->args[i].name) {
			av->kwn[av->nkw] = e->args[i].name;
			av->kwv[av->nkw++] = v;
		} else {
			av->pos[av->npos++] = v;
		}
	}
	return 0;
}

int tmpl_argv_defined(struct ctx *c, struct argv *av)
{
	for (size_t i = 0; i < av->npos; i++)
		if (tmpl_is_undef(av->pos[i]))
			return tmpl_raise_undef(c, av->pos[i]);
	for (size_t i = 0; i < av->nkw; i++)
		if (tmpl_is_undef(av->kwv[i]))
			return tmpl_raise_undef(c, av->kwv[i]);
	return 0;
}

/* Match arguments to parameters. params is NULL-terminated; names starting
 * with '*' are keyword-only and come last. With varargs, positional
 * arguments beyond the positional parameters follow all parameters in
 * slots. Slots are borrowed from av; absent optional ones are NULL. */
int tmpl_bind(struct ctx *c, int line, const char *what, const char *const *params, int nreq,
	      int varargs, const struct argv *av, struct value **slots, size_t *nslots)
{
	size_t np = 0, npos = 0;
	while (np < MAX_PARAMS - 1 && params[np]) {
		if (params[np][0] != '*')
			npos = np + 1;
		np++;
	}
	for (size_t i = 0; i < np; i++)
		slots[i] = NULL;
	size_t ns = np;
	for (size_t i = 0; i < av->npos; i++) {
		if (i < npos)
			slots[i] = av->pos[i];
		else if (varargs && ns < MAX_SLOTS)
			slots[ns++] = av->pos[i];
		else
			return tmpl_efail(c, line,
					  "%s takes at most %zu positional argument%s (%zu given)",
					  what, npos, npos == 1 ? "" : "s", av->npos);
	}
	for (size_t k = 0; k < av->nkw; k++) {
		size_t j;
		for (j = 0; j < np; j++) {
			const char *pn = params[j][0] == '*' ? params[j] + 1 : params[j];
			if (!strcmp(pn, av->kwn[k]))
				break;
		}
		if (j == np)
			return tmpl_efail(c, line, "%s got an unexpected keyword argument '%s'",
					  what, av->kwn[k]);
		if (slots[j])
			return tmpl_efail(c, line, "%s got multiple values for argument '%s'", what,
					  av->kwn[k]);
		slots[j] = av->kwv[k];
	}
	for (int i = 0; i < nreq; i++)
		if (!slots[i])
			return tmpl_efail(c, line, "%s is missing its argument '%s'", what,
					  params[i][0] == '*' ? params[i] + 1 : params[i]);
	*nslots = ns;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Evaluation */

static struct value *eval_defined(struct ctx *c, const struct expr *e)
{
	return tmpl_defined(c, eval(c, e));
}

static struct value *eval_cmp(struct ctx *c, const struct expr *e)
{
	struct value *l = eval_defined(c, e->a);
	if (!l)
		return NULL;
	int res = 1;
	for (size_t i = 0; i < e->nargs && res; i++) {
		struct value *r = eval_defined(c, e->args[i].e);
		if (!r || tmpl_compare(c, e->line, e->ops[i], l, r, &res) < 0) {
			value_unref(l);
			value_unref(r);
			return NULL;
		}
		value_unref(l);
		l = r;
	}
	value_unref(l);
	return value_bool(res);
}

static struct value *eval_collection(struct ctx *c, const struct expr *e)
{
	int dict = e->k == E_DICT;
	if (tmpl_charge(c, e->line, e->nargs * STEPS_PER_ITEM) < 0)
		return NULL;
	struct value *r = dict ? value_map() : value_list();
	for (size_t i = 0; i < e->nargs; i += dict ? 2 : 1) {
		struct value *k = eval_defined(c, e->args[i].e), *v = NULL;
		if (k && dict) {
			if (k->type == V_LIST || k->type == V_MAP || k->type == V_OBJ) {
				tmpl_efail(c, e->line, "unhashable type: '%s'", tmpl_pyname(k));
			} else if ((v = eval_defined(c, e->args[i + 1].e))) {
				struct sv ks;
				tmpl_sv_of(&ks, k);
				value_map_set(r, ks.s, v);
				tmpl_sv_free(&ks);
			}
			value_unref(k);
			k = v;
		} else if (k) {
			value_list_push(r, k);
		}
		if (!k) {
			value_unref(r);
			return NULL;
		}
	}
	return r;
}

static struct value *eval(struct ctx *c, const struct expr *e)
{
	struct value *a = NULL, *b = NULL, *r = NULL;
	struct argv av;
	int t;
	if (tmpl_charge(c, e->line, 1) < 0)
		return NULL;
	switch (e->k) {
	case E_CONST: return value_ref(e->v);
	case E_NAME: return lookup_name(c, e);
	case E_ATTR:
		if (!(a = eval(c, e->a)))
			return NULL;
		r = tmpl_get_key(c, e->line, a, e->name, e->nlen);
		break;
	case E_ITEM:
		if ((a = eval(c, e->a)) && (b = eval(c, e->b)))
			r = tmpl_get_item(c, e->line, a, b);
		break;
	case E_SLICE: {
		struct value *parts[3] = {NULL, NULL, NULL};
		int ok = (a = eval_defined(c, e->a)) != NULL;
		for (int k = 0; k < 3 && ok; k++)
			if (e->args[k].e && !(parts[k] = eval_defined(c, e->args[k].e)))
				ok = 0;
		if (ok)
			r = do_slice(c, e->line, a, parts);
		for (int k = 0; k < 3; k++)
			value_unref(parts[k]);
		break;
	}
	case E_CALL:
		if (eval_args(c, e, &av) < 0)
			return NULL;
		if (tmpl_argv_defined(c, &av) == 0) {
			if (e->nlen == 5 && !memcmp(e->name, "range", 5))
				r = tmpl_fn_range(c, e, &av);
			else
				tmpl_efail(c, e->line, "unknown function '%.*s'",
					   tmpl_clip(e->nlen), e->name);
		}
		argv_free(&av);
		break;
	case E_METHOD:
		if (!(a = eval_defined(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		if (tmpl_argv_defined(c, &av) == 0)
			r = tmpl_call_method(c, e, a, &av);
		argv_free(&av);
		break;
	case E_FILTER:
		if (e->op < 0) {
			tmpl_efail(c, e->line, "no filter named '%s'", e->name);
			return NULL;
		}
		if (!(a = eval(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		r = tmpl_apply_filter(c, e->line, e->op, a, &av);
		argv_free(&av);
		break;
	case E_TEST:
		if (e->op < 0) {
			tmpl_efail(c, e->line, "no test named '%s'", e->name);
			return NULL;
		}
		if (!(a = eval(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		if (tmpl_apply_test(c, e->line, e->op, a, &av, &t) == 0)
			r = value_bool(e->neg ? !t : t);
		argv_free(&av);
		break;
	case E_BIN:
		if ((a = eval_defined(c, e->a)) && (b = eval_defined(c, e->b)))
			r = tmpl_binop(c, e->line, e->op, a, b);
		break;
	case E_NEG:
	case E_POS:
		if (!(a = eval_defined(c, e->a)))
			break;
		if (!tmpl_is_num(a))
			tmpl_efail(c, e->line, "bad operand type for unary %s: '%s'",
				   e->k == E_NEG ? "-" : "+", tmpl_pyname(a));
		else if (e->k == E_POS)
			r = a->type == V_BOOL ? value_int(a->u.b) : value_ref(a);
		else if (a->type == V_FLOAT)
			r = value_float(-a->u.f);
		else if (tmpl_ival(a) == LLONG_MIN)
			tmpl_efail(c, e->line, "integer overflow in unary -");
		else
			r = value_int(-tmpl_ival(a));
		break;
	case E_NOT:
		if ((a = eval(c, e->a)) && tmpl_truth(c, a, &t) == 0)
			r = value_bool(!t);
		break;
	case E_AND:
	case E_OR:
		if (!(a = eval(c, e->a)) || tmpl_truth(c, a, &t) < 0)
			break;
		if (t == (e->k == E_OR))
			return a;
		value_unref(a);
		return eval(c, e->b);
	case E_COND:
		if (!(a = eval(c, e->a)) || tmpl_truth(c, a, &t) < 0)
			break;
		value_unref(a);
		if (t)
			return eval(c, e->b);
		if (e->c)
			return eval(c, e->c);
		return tmpl_mkundef(e->line,
				    "the inline if-expression evaluated to false and no else "
				    "section was defined");
	case E_LIST:
	case E_DICT: return eval_collection(c, e);
	case E_CMP: return eval_cmp(c, e);
	}
	value_unref(a);
	value_unref(b);
	if (r && e->k != E_ATTR && e->k != E_ITEM && charge_value(c, e->line, r) < 0) {
		value_unref(r);
		return NULL;
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* Rendering */

static int check_out(struct ctx *c, int line)
{
	if (c->out->len - c->out_start > MAX_OUTPUT)
		return tmpl_efail(c, line, "template output too large (more than %u bytes)",
				  MAX_OUTPUT);
	return tmpl_charge(c, line, 0);
}

/* Bind the loop or set targets of n to v (borrowed). */
static int bind_targets(struct ctx *c, const struct node *n, struct frame *f, struct value *v)
{
	if (n->nnames == 1) {
		frame_set(f, n->names[0], n->nlens[0], value_ref(v));
		return 0;
	}
	if (tmpl_is_undef(v))
		return tmpl_raise_undef(c, v);
	if (v->type != V_LIST)
		return tmpl_efail(c, n->line, "cannot unpack a %s into %d variables",
				  tmpl_pyname(v), n->nnames);
	if (v->u.list.n != (size_t)n->nnames)
		return tmpl_efail(c, n->line, "%s values to unpack (expected %d, got %zu)",
				  v->u.list.n > (size_t)n->nnames ? "too many" : "not enough",
				  n->nnames, v->u.list.n);
	for (int i = 0; i < n->nnames; i++)
		frame_set(f, n->names[i], n->nlens[i], value_ref(v->u.list.v[i]));
	return 0;
}

static int render_body(struct ctx *c, const struct body *b);

static int render_for(struct ctx *c, const struct node *n)
{
	struct value *seq = eval_defined(c, n->e), *items;
	if (!seq)
		return -1;
	items = tmpl_iter_list(c, n->line, seq);
	value_unref(seq);
	if (!items)
		return -1;
	int rc = 0;
	if (n->filter) {
		struct value *kept = value_list();
		for (size_t i = 0; i < items->u.list.n && rc == 0; i++) {
			struct frame f = {.up = c->fr};
			struct value *v = NULL;
			int t = 0;
			rc = bind_targets(c, n, &f, items->u.list.v[i]);
			if (rc == 0) {
				c->fr = &f;
				v = eval(c, n->filter);
				c->fr = f.up;
				rc = v ? tmpl_truth(c, v, &t) : -1;
			}
			value_unref(v);
			frame_free(&f);
			if (rc == 0 && t)
				value_list_push(kept, value_ref(items->u.list.v[i]));
		}
		value_unref(items);
		items = kept;
	}
	size_t cnt = items->u.list.n;
	for (size_t i = 0; i < cnt && rc == 0; i++) {
		struct frame f = {.up = c->fr, .has_loop = 1, .loop_i = i, .loop_n = cnt};
		rc = tmpl_charge(c, n->line, 1);
		if (rc == 0)
			rc = bind_targets(c, n, &f, items->u.list.v[i]);
		if (rc == 0) {
			c->fr = &f;
			rc = render_body(c, &n->body);
			c->fr = f.up;
		}
		frame_free(&f);
	}
	if (rc == 0 && cnt == 0)
		rc = render_body(c, &n->els);
	value_unref(items);
	return rc;
}

static int render_node(struct ctx *c, const struct node *n)
{
	struct value *v;
	int t;
	if (tmpl_charge(c, n->line, 1) < 0)
		return -1;
	switch (n->k) {
	case N_TEXT: buf_put(c->out, n->s, n->len); return check_out(c, n->line);
	case N_OUT:
		if (!(v = eval_defined(c, n->e)))
			return -1;
		/* Ansible's finalize: None prints as nothing */
		size_t before = c->out->len;
		if (v->type == V_STR)
			buf_put(c->out, v->u.str.s, v->u.str.len);
		else if (v->type != V_NULL)
			value_to_str(v, c->out);
		value_unref(v);
		if (tmpl_charge(c, n->line, (c->out->len - before) / 64) < 0)
			return -1;
		return check_out(c, n->line);
	case N_IF:
		for (size_t i = 0; i < n->nbr; i++) {
			if (!(v = eval(c, n->br[i].cond)))
				return -1;
			int rc = tmpl_truth(c, v, &t);
			value_unref(v);
			if (rc < 0)
				return -1;
			if (t)
				return render_body(c, &n->br[i].body);
		}
		return render_body(c, &n->els);
	case N_FOR: return render_for(c, n);
	case N_SET: {
		if (!(v = eval(c, n->e)))
			return -1;
		int rc = bind_targets(c, n, c->fr, v);
		value_unref(v);
		return rc;
	}
	case N_SETBLOCK: {
		struct buf tmp = BUF_INIT, *saved = c->out;
		size_t saved_start = c->out_start;
		c->out = &tmp;
		c->out_start = 0;
		int rc = render_body(c, &n->body);
		c->out = saved;
		c->out_start = saved_start;
		if (rc < 0) {
			buf_free(&tmp);
			return -1;
		}
		frame_set(c->fr, n->names[0], n->nlens[0], tmpl_buf_value(&tmp));
		return 0;
	}
	}
	return 0;
}

static int render_body(struct ctx *c, const struct body *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (render_node(c, b->v[i]) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* API: rendering */

int tmpl_render(const struct tmpl *t, const struct tmpl_env *env, struct buf *out)
{
	struct frame top;
	memset(&top, 0, sizeof top);
	struct ctx c = {t, env, &top, 0, out, out->len};
	int rc = render_body(&c, &t->body);
	frame_free(&top);
	return rc;
}

int tmpl_eval(const struct tmpl *t, const struct tmpl_env *env, struct value **out)
{
	*out = NULL;
	if (t->native) {
		struct frame top;
		memset(&top, 0, sizeof top);
		struct buf none = BUF_INIT;
		struct ctx c = {t, env, &top, 0, &none, 0};
		struct value *v = eval_defined(&c, t->native);
		frame_free(&top);
		if (!v)
			return -1;
		*out = v;
		return 0;
	}
	struct buf b = BUF_INIT;
	if (tmpl_render(t, env, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = tmpl_buf_value(&b);
	return 0;
}
