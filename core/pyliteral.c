/*
 * pyliteral.c - a recursive-descent reader for the Python literals that
 * ast.literal_eval() accepts (see pyliteral.h for the subset and its gaps).
 *
 * Every failure, whether Python would call it a SyntaxError or a
 * "malformed node", means the same thing to the caller: not a literal, keep
 * the raw text. So the reader just returns NULL and unwinds.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyliteral.h"

/* Python 3.11 accepts a little over 200 nested brackets; stop there so a
 * hostile inventory cannot exhaust the C stack. */
#define MAX_DEPTH 200

struct pl {
	const char *p, *end;
	const char *file;
	int line;
	int depth;
};

/* What an expression was, for the unary minus rule: literal_eval allows
 * -x only when x is a number constant, not -(-1) nor -True. */
enum kind { K_OTHER, K_NUMBER };

static struct value *parse_expr(struct pl *P, enum kind *kind);

static struct value *src(struct pl *P, struct value *v)
{
	return value_set_src(v, P->file, P->line);
}

static int is_ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Spaces, tabs, form feeds and a comment up to the end. */
static void skip_ws(struct pl *P)
{
	while (P->p < P->end) {
		char c = *P->p;
		if (c == ' ' || c == '\t' || c == '\f') {
			P->p++;
		} else if (c == '#') {
			P->p = P->end;
		} else {
			break;
		}
	}
}

static int peek(struct pl *P)
{
	return P->p < P->end ? (unsigned char)*P->p : -1;
}

static int at(struct pl *P, size_t off)
{
	return P->p + off < P->end ? (unsigned char)P->p[off] : -1;
}

/* ---- numbers ---- */

/* digit (["_"] digit)* where digit satisfies ok(); returns digits read. */
static size_t digitpart(struct pl *P, struct buf *out, int base)
{
	size_t n = 0;
	for (;;) {
		int c = peek(P);
		int d = c >= 0 ? hex_value((char)c) : -1;
		if (d >= 0 && d < base) {
			buf_putc(out, (char)c);
			P->p++;
			n++;
			continue;
		}
		if (c == '_' && n > 0) {
			int c2 = at(P, 1);
			int d2 = c2 >= 0 ? hex_value((char)c2) : -1;
			if (d2 >= 0 && d2 < base) {
				P->p++;
				continue;
			}
		}
		return n;
	}
}

static struct value *int_from(struct pl *P, const char *digits, int base)
{
	unsigned long long v = 0;
	for (const char *d = digits; *d; d++) {
		unsigned h = (unsigned)hex_value(*d);
		if (v > (ULLONG_MAX - h) / (unsigned)base)
			return NULL;
		v = v * (unsigned)base + h;
	}
	if (v > (unsigned long long)LLONG_MAX)
		return NULL; /* a big int: kept as the raw string */
	return src(P, value_int((long long)v));
}

static struct value *parse_number(struct pl *P)
{
	struct buf b = BUF_INIT;
	struct value *v = NULL;
	int c1 = at(P, 1);

	if (peek(P) == '0' && c1 >= 0 && strchr("xXoObB", c1)) {
		int base = (c1 == 'x' || c1 == 'X') ? 16 : (c1 == 'o' || c1 == 'O') ? 8 : 2;
		P->p += 2;
		if (peek(P) == '_')
			P->p++; /* 0x_ff is allowed */
		if (digitpart(P, &b, base) == 0 ||
		    (peek(P) >= 0 && is_ident_char((unsigned char)peek(P))))
			goto out;
		v = int_from(P, buf_cstr(&b), base);
		goto out;
	}

	size_t nint = digitpart(P, &b, 10);
	int is_float = 0;
	if (peek(P) == '.') {
		/* "1." and ".5" but not "." alone */
		P->p++;
		buf_putc(&b, '.');
		size_t nfrac = digitpart(P, &b, 10);
		if (nint == 0 && nfrac == 0)
			goto out;
		is_float = 1;
	}
	if (nint == 0 && !is_float)
		goto out;
	if (peek(P) == 'e' || peek(P) == 'E') {
		P->p++;
		buf_putc(&b, 'e');
		if (peek(P) == '+' || peek(P) == '-') {
			buf_putc(&b, (char)peek(P));
			P->p++;
		}
		if (digitpart(P, &b, 10) == 0)
			goto out;
		is_float = 1;
	}
	/* 1j (complex), 1abc, 1_ and 1__0 all end up here */
	if (peek(P) >= 0 && is_ident_char((unsigned char)peek(P)))
		goto out;
	if (is_float) {
		v = src(P, value_float(strtod(buf_cstr(&b), NULL)));
	} else {
		const char *d = buf_cstr(&b);
		if (d[0] == '0') {
			/* "00" is 0, "010" is a syntax error in Python 3 */
			for (const char *q = d; *q; q++)
				if (*q != '0')
					goto out;
		}
		v = int_from(P, d, 10);
	}
out:
	buf_free(&b);
	return v;
}

/* ---- strings ---- */

int py_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned long cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* Reads `count` hex digits into *cp; 0 if there are fewer. */
static int read_hex(struct pl *P, int count, unsigned long *cp)
{
	unsigned long v = 0;
	for (int i = 0; i < count; i++) {
		int c = peek(P);
		int h = c >= 0 ? hex_value((char)c) : -1;
		if (h < 0)
			return 0;
		v = v * 16 + (unsigned long)h;
		P->p++;
	}
	*cp = v;
	return 1;
}

/* One escape after the backslash (already consumed). Returns 0 on a
 * syntax error or an escape ezk does not model. */
static int read_escape(struct pl *P, struct buf *out, int bytes)
{
	int c = peek(P);
	unsigned long cp;
	if (c < 0)
		return 0;
	P->p++;
	switch (c) {
	case '\\': buf_putc(out, '\\'); return 1;
	case '\'': buf_putc(out, '\''); return 1;
	case '"': buf_putc(out, '"'); return 1;
	case 'a': buf_putc(out, '\a'); return 1;
	case 'b': buf_putc(out, '\b'); return 1;
	case 'f': buf_putc(out, '\f'); return 1;
	case 'n': buf_putc(out, '\n'); return 1;
	case 'r': buf_putc(out, '\r'); return 1;
	case 't': buf_putc(out, '\t'); return 1;
	case 'v': buf_putc(out, '\v'); return 1;
	case 'x':
		if (!read_hex(P, 2, &cp))
			return 0;
		if (bytes)
			buf_putc(out, (char)cp);
		else
			buf_put_utf8(out, cp);
		return 1;
	case 'u':
	case 'U':
		if (bytes)
			break;
		if (!read_hex(P, c == 'u' ? 4 : 8, &cp) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		buf_put_utf8(out, cp);
		return 1;
	case 'N':
		if (bytes)
			break;
		return 0; /* \N{name}: no Unicode name table here */
	default:
		if (c >= '0' && c <= '7') {
			cp = (unsigned long)(c - '0');
			for (int i = 0; i < 2 && peek(P) >= '0' && peek(P) <= '7'; i++) {
				cp = cp * 8 + (unsigned long)(peek(P) - '0');
				P->p++;
			}
			if (bytes)
				buf_putc(out, (char)(cp & 0xFF));
			else
				buf_put_utf8(out, cp);
			return 1;
		}
		break;
	}
	/* Unknown escapes keep the backslash, as Python does. */
	buf_putc(out, '\\');
	P->p--;
	return 1;
}

/* If a string literal starts here, its prefix length; -1 otherwise. */
static int string_start(struct pl *P, int *raw, int *bytes, int *fstr)
{
	size_t n = 0;
	*raw = *bytes = *fstr = 0;
	int u = 0;
	while (n < 3 && at(P, n) >= 0 && strchr("rRbBuUfF", at(P, n))) {
		switch (at(P, n)) {
		case 'r':
		case 'R': *raw += 1; break;
		case 'b':
		case 'B': *bytes += 1; break;
		case 'u':
		case 'U': u++; break;
		default: *fstr += 1; break;
		}
		n++;
	}
	if (at(P, n) != '\'' && at(P, n) != '"')
		return -1;
	if (n > 2 || *raw > 1 || *bytes > 1 || u > 1 || *fstr > 1 || (u && n > 1) ||
	    (*bytes && *fstr))
		return -2; /* looks like a prefix, but not a valid one */
	return (int)n;
}

/* One literal, appended to out. */
static int read_string(struct pl *P, struct buf *out, int raw, int bytes)
{
	char q = *P->p;
	int triple = at(P, 1) == q && at(P, 2) == q;
	P->p += triple ? 3 : 1;
	for (;;) {
		int c = peek(P);
		if (c < 0)
			return 0;
		if (c == q && (!triple || (at(P, 1) == q && at(P, 2) == q))) {
			P->p += triple ? 3 : 1;
			return 1;
		}
		if (bytes && c >= 0x80)
			return 0; /* bytes can only contain ASCII literal characters */
		if (c == '\\') {
			P->p++;
			if (raw) {
				if (peek(P) < 0)
					return 0;
				buf_putc(out, '\\');
				buf_putc(out, *P->p++);
				continue;
			}
			if (!read_escape(P, out, bytes))
				return 0;
			continue;
		}
		if (c == '\n' && !triple)
			return 0;
		buf_putc(out, (char)c);
		P->p++;
	}
}

static struct value *parse_strings(struct pl *P)
{
	struct buf b = BUF_INIT;
	int first_bytes = -1;
	for (;;) {
		int raw, bytes, fstr;
		int n = string_start(P, &raw, &bytes, &fstr);
		if (n < 0) {
			if (first_bytes < 0 || n == -2)
				goto fail;
			break;
		}
		if (fstr)
			goto fail; /* f-strings are JoinedStr, not literals */
		if (first_bytes >= 0 && first_bytes != bytes)
			goto fail; /* cannot mix bytes and str */
		first_bytes = bytes;
		P->p += n;
		if (!read_string(P, &b, raw, bytes))
			goto fail;
		skip_ws(P);
	}
	/* Ansible's to_text() decodes bytes as UTF-8; anything else would need
	 * surrogate escapes ezk cannot hold. */
	if (first_bytes && !py_utf8_valid(buf_cstr(&b), b.len))
		goto fail;
	size_t len = b.len;
	char *s = buf_detach(&b);
	if (!s)
		s = xstrdup("");
	return src(P, value_str_take(s, len));
fail:
	buf_free(&b);
	return NULL;
}

/* ---- containers ---- */

/* Python's repr() of a finite float: the shortest digits that read back
 * the same, fixed notation for exponents -4..15, else 1.5e+16. */
static void float_repr(double f, struct buf *out)
{
	char tmp[64];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	/* tmp is [-]d[.ddd]e[+-]xx */
	char digits[32];
	size_t nd = 0;
	const char *p = tmp;
	int neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	int exp = atoi(p + 1);
	if (neg)
		buf_putc(out, '-');
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			buf_puts(out, "0.");
			for (int i = -1; i > exp; i--)
				buf_putc(out, '0');
			buf_put(out, digits, nd);
		} else {
			for (int i = 0; i <= exp; i++)
				buf_putc(out, (size_t)i < nd ? digits[i] : '0');
			buf_putc(out, '.');
			if ((size_t)exp + 1 < nd)
				buf_put(out, digits + exp + 1, nd - (size_t)exp - 1);
			else
				buf_putc(out, '0');
		}
	} else {
		buf_putc(out, digits[0]);
		if (nd > 1) {
			buf_putc(out, '.');
			buf_put(out, digits + 1, nd - 1);
		}
		buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
}

/* The key as json.dumps prints it: True -> "true", 1.5 -> "1.5". */
static char *key_string(struct value *k, size_t *len)
{
	struct buf b = BUF_INIT;
	switch (k->type) {
	case V_STR: buf_put(&b, k->u.str.s, k->u.str.len); break;
	case V_INT: buf_printf(&b, "%lld", k->u.i); break;
	case V_BOOL: buf_puts(&b, k->u.b ? "true" : "false"); break;
	case V_NULL: buf_puts(&b, "null"); break;
	case V_FLOAT:
		if (isnan(k->u.f))
			buf_puts(&b, "NaN");
		else if (isinf(k->u.f))
			buf_puts(&b, k->u.f < 0 ? "-Infinity" : "Infinity");
		else
			float_repr(k->u.f, &b);
		break;
	default: return NULL; /* unhashable, or a tuple JSON cannot print */
	}
	*len = b.len;
	char *s = buf_detach(&b);
	return s ? s : xstrdup("");
}

/* Python compares numeric keys by value: {1: 'a', True: 'b', 1.0: 'c'}
 * has one key, the first one written, with the last value. */
struct numkey {
	int isnum, isfloat;
	long long i;
	double f;
	char *name; /* the first key's string */
};

static int numkey_of(const struct value *k, struct numkey *nk)
{
	nk->isnum = 1;
	nk->isfloat = 0;
	if (k->type == V_INT)
		nk->i = k->u.i;
	else if (k->type == V_BOOL)
		nk->i = k->u.b;
	else if (k->type == V_FLOAT)
		nk->isfloat = 1, nk->f = k->u.f;
	else
		nk->isnum = 0;
	return nk->isnum;
}

static int numkey_eq(const struct numkey *a, const struct numkey *b)
{
	if (!a->isfloat && !b->isfloat)
		return a->i == b->i;
	if (a->isfloat && b->isfloat)
		return a->f == b->f;
	const struct numkey *fl = a->isfloat ? a : b, *in = a->isfloat ? b : a;
	return fl->f >= -9.2e18 && fl->f <= 9.2e18 && fl->f == (double)(long long)fl->f &&
	       (long long)fl->f == in->i;
}

/* After an opening bracket: items up to `close`, comma separated, with an
 * optional trailing comma. `first` (may be NULL) was already read. */
static struct value *parse_seq(struct pl *P, char close, struct value *first)
{
	struct value *list = src(P, value_list());
	enum kind k;
	if (first) {
		value_list_push(list, first);
		goto after_item;
	}
	for (;;) {
		skip_ws(P);
		if (peek(P) == close) {
			P->p++;
			return list;
		}
		struct value *item = parse_expr(P, &k);
		if (!item)
			goto fail;
		value_list_push(list, item);
	after_item:
		skip_ws(P);
		if (peek(P) == ',') {
			P->p++;
			continue;
		}
		if (peek(P) == close) {
			P->p++;
			return list;
		}
		goto fail;
	}
fail:
	value_unref(list);
	return NULL;
}

static struct value *parse_dict(struct pl *P)
{
	struct value *map = src(P, value_map());
	struct numkey *nks = NULL;
	size_t nnk = 0;
	enum kind k;
	for (;;) {
		skip_ws(P);
		if (peek(P) == '}') {
			P->p++;
			goto done;
		}
		struct value *key = parse_expr(P, &k);
		if (!key)
			goto fail;
		skip_ws(P);
		if (peek(P) != ':') {
			value_unref(key);
			goto fail; /* a set, or junk */
		}
		P->p++;
		size_t klen;
		char *ks = key_string(key, &klen);
		struct numkey nk;
		if (ks && numkey_of(key, &nk)) {
			size_t i;
			for (i = 0; i < nnk && !numkey_eq(&nks[i], &nk); i++)
				;
			if (i < nnk) {
				free(ks);
				ks = xstrdup(nks[i].name);
				klen = strlen(ks);
			} else {
				nks = xrealloc(nks, (nnk + 1) * sizeof *nks);
				nk.name = xstrdup(ks);
				nks[nnk++] = nk;
			}
		}
		value_unref(key);
		if (!ks)
			goto fail;
		struct value *val = parse_expr(P, &k);
		if (!val || strlen(ks) != klen) {
			/* value.h map keys are C strings: a NUL in a key is a gap */
			free(ks);
			value_unref(val);
			goto fail;
		}
		value_map_set(map, ks, val);
		free(ks);
		skip_ws(P);
		if (peek(P) == ',') {
			P->p++;
			continue;
		}
		if (peek(P) == '}') {
			P->p++;
			goto done;
		}
		goto fail;
	}
fail:
	value_unref(map);
	map = NULL;
done:
	for (size_t i = 0; i < nnk; i++)
		free(nks[i].name);
	free(nks);
	return map;
}

static struct value *parse_atom(struct pl *P, enum kind *kind)
{
	enum kind k;
	struct value *v = NULL;
	int c;

	*kind = K_OTHER;
	skip_ws(P);
	c = peek(P);
	if (c < 0)
		return NULL;
	if (is_digit((char)c) || (c == '.' && at(P, 1) >= 0 && is_digit((char)at(P, 1)))) {
		*kind = K_NUMBER;
		return parse_number(P);
	}
	if (c == '\'' || c == '"')
		return parse_strings(P);
	if (c == '(' || c == '[' || c == '{') {
		if (++P->depth > MAX_DEPTH)
			return NULL;
		P->p++;
		if (c == '[') {
			v = parse_seq(P, ']', NULL);
		} else if (c == '{') {
			v = parse_dict(P);
		} else {
			skip_ws(P);
			if (peek(P) == ')') {
				P->p++;
				v = src(P, value_list()); /* () is an empty tuple */
			} else {
				v = parse_expr(P, &k);
				skip_ws(P);
				if (v && peek(P) == ')') {
					P->p++;
					*kind = k; /* (1) is just 1 */
				} else if (v && peek(P) == ',') {
					v = parse_seq(P, ')', v); /* a tuple */
				} else {
					value_unref(v);
					v = NULL;
				}
			}
		}
		P->depth--;
		return v;
	}
	if (is_ident_char((unsigned char)c)) {
		int raw, bytes, fstr;
		if (string_start(P, &raw, &bytes, &fstr) >= 0)
			return parse_strings(P);
		const char *s = P->p;
		while (P->p < P->end && is_ident_char((unsigned char)*P->p))
			P->p++;
		size_t n = (size_t)(P->p - s);
		if (n == 4 && memcmp(s, "True", 4) == 0)
			return src(P, value_bool(1));
		if (n == 5 && memcmp(s, "False", 5) == 0)
			return src(P, value_bool(0));
		if (n == 4 && memcmp(s, "None", 4) == 0)
			return src(P, value_null());
		return NULL; /* a name: "malformed node" */
	}
	return NULL;
}

/* A single expression (no bare tuple): an atom, or a sign and a number. */
static struct value *parse_expr(struct pl *P, enum kind *kind)
{
	skip_ws(P);
	int c = peek(P);
	if (c == '-' || c == '+') {
		P->p++;
		enum kind k;
		struct value *v = parse_atom(P, &k);
		if (!v)
			return NULL;
		if (k != K_NUMBER || (v->type != V_INT && v->type != V_FLOAT)) {
			value_unref(v);
			return NULL;
		}
		if (c == '-') {
			if (v->type == V_INT)
				v->u.i = -v->u.i; /* not yet shared: safe to change */
			else
				v->u.f = -v->u.f;
		}
		*kind = K_OTHER; /* -(-1) is malformed */
		return v;
	}
	struct value *v = parse_atom(P, kind);
	if (!v)
		return NULL;
	skip_ws(P);
	return v;
}

struct value *pyliteral_eval(const char *s, size_t len, const char *file, int line)
{
	struct pl P;
	enum kind k;

	if (!s)
		s = "";
	P = (struct pl){s, s + len, file, line, 0};
	if (memchr(s, '\0', len))
		return NULL; /* Python refuses source with NUL bytes */
	struct value *v = parse_expr(&P, &k);
	if (!v)
		return NULL;
	skip_ws(&P);
	if (peek(&P) == ',') {
		/* `1, 2` at the top is a tuple, and so is `1,` */
		struct value *list = src(&P, value_list());
		value_list_push(list, v);
		for (;;) {
			P.p++;
			skip_ws(&P);
			if (peek(&P) < 0)
				return list;
			struct value *item = parse_expr(&P, &k);
			if (!item) {
				value_unref(list);
				return NULL;
			}
			value_list_push(list, item);
			skip_ws(&P);
			if (peek(&P) < 0)
				return list;
			if (peek(&P) != ',') {
				value_unref(list);
				return NULL;
			}
		}
	}
	if (peek(&P) >= 0) {
		value_unref(v);
		return NULL;
	}
	return v;
}

struct value *pyliteral_value(const char *s, size_t len, const char *file, int line)
{
	struct value *v = pyliteral_eval(s, len, file, line);
	if (!v)
		v = value_set_src(value_strn(s, len), file, line);
	return v;
}
