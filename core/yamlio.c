/*
 * yamlio.c - YAML to values and back (see yamlio.h).
 *
 * Loading walks libyaml's parser events (the same parser Ansible uses
 * through PyYAML's CParser) and builds values bottom-up, doing what
 * PyYAML's composer (anchors), resolver (YAML 1.1 implicit types) and
 * SafeConstructor (tags, merge keys) do. The resolver's regular
 * expressions are spelled out as small matchers below; each names the
 * pattern it implements.
 *
 * Errors come in PyYAML's order: syntax and anchor errors stop at once,
 * while an error constructing a value (a bad !!int, an unhashable key) is
 * kept and reported only if the rest of the document parses, as PyYAML
 * composes the whole document before constructing it.
 *
 * Emitting writes block style with two-space indents and double-quotes
 * every string that a plain scalar would not give back unchanged.
 */
#include <yaml.h> /* libyaml */

#include "yamlio.h"
#include "span.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#define TAG(x) "tag:yaml.org,2002:" x

enum kind {
	K_NULL,
	K_BOOL,
	K_INT,
	K_FLOAT,
	K_STR,
	K_TIMESTAMP, /* kept as its text */
	K_MERGE,     /* "<<" */
	K_VALUE,     /* "=" */
	K_BINARY,
	K_UNSAFE, /* Ansible's !unsafe */
	K_MAP,
	K_SEQ,
	K_UNSUPPORTED, /* !!set !!omap !!pairs: valid for PyYAML, no ezk type */
	K_UNKNOWN,
};

/* ---- the YAML 1.1 resolver (PyYAML's implicit resolvers) ---- */

static int isdig(int c)
{
	return c >= '0' && c <= '9';
}

static int eqn(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/* ^(?: ~ |null|Null|NULL | )$ */
static int match_null(const char *s, size_t n)
{
	return n == 0 || eqn(s, n, "~") || eqn(s, n, "null") || eqn(s, n, "Null") ||
	       eqn(s, n, "NULL");
}

/* yes/no/true/false/on/off in any case: 1 true, 0 false, -1 neither
 * (construct_yaml_bool's table, which lower()s the text). */
static int bool_word(const char *s, size_t n)
{
	static const char *const t[] = {"yes", "true", "on"}, *const f[] = {"no", "false", "off"};
	char low[6];
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	for (int i = 0; i < 3; i++) {
		if (eqn(low, n, t[i]))
			return 1;
		if (eqn(low, n, f[i]))
			return 0;
	}
	return -1;
}

/* ^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$ */
static int match_bool(const char *s, size_t n)
{
	if (bool_word(s, n) < 0)
		return 0;
	int lower = 1, upper = 1;
	for (size_t i = 1; i < n; i++) {
		lower &= s[i] >= 'a' && s[i] <= 'z';
		upper &= s[i] >= 'A' && s[i] <= 'Z';
	}
	if (s[0] >= 'A' && s[0] <= 'Z')
		return lower || upper; /* Yes, YES */
	return lower;		       /* yes */
}

/* (?::[0-5]?[0-9])+ at p: the length it covers, 0 if it does not match.
 * Each group must be followed by ':', the end or '.', so no backtracking
 * is needed. */
static size_t sexa_tail(const char *p, size_t m)
{
	size_t i = 0;
	while (i < m && p[i] == ':') {
		size_t d = 0;
		while (i + 1 + d < m && isdig(p[i + 1 + d]))
			d++;
		if (d == 0 || d > 2 || (d == 2 && p[i + 1] > '5'))
			return 0;
		i += 1 + d;
	}
	return i;
}

static size_t skip_digits_(const char *p, size_t m, size_t i)
{
	while (i < m && (isdig(p[i]) || p[i] == '_'))
		i++;
	return i;
}

/* ^(?:[-+]?0b[0-1_]+
 *    |[-+]?0[0-7_]+
 *    |[-+]?(?:0|[1-9][0-9_]*)
 *    |[-+]?0x[0-9a-fA-F_]+
 *    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$ */
static int match_int(const char *s, size_t n)
{
	size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	const char *p = s + i;
	size_t m = n - i;
	if (m == 0)
		return 0;
	if (p[0] == '0') {
		if (m == 1)
			return 1;
		if (p[1] == 'b' || p[1] == 'x') {
			if (m == 2)
				return 0;
			for (size_t j = 2; j < m; j++) {
				int c = p[j];
				int okc = p[1] == 'b'
					      ? (c == '0' || c == '1' || c == '_')
					      : (isdig(c) || c == '_' || (c >= 'a' && c <= 'f') ||
						 (c >= 'A' && c <= 'F'));
				if (!okc)
					return 0;
			}
			return 1;
		}
		for (size_t j = 1; j < m; j++)
			if (!((p[j] >= '0' && p[j] <= '7') || p[j] == '_'))
				return 0;
		return 1;
	}
	if (p[0] < '1' || p[0] > '9')
		return 0;
	size_t j = skip_digits_(p, m, 1);
	if (j == m)
		return 1;
	size_t t = sexa_tail(p + j, m - j);
	return t && j + t == m;
}

/* (?:[eE][-+][0-9]+)?$ */
static int exp_tail(const char *p, size_t m)
{
	if (m == 0)
		return 1;
	if (m < 3 || (p[0] != 'e' && p[0] != 'E') || (p[1] != '-' && p[1] != '+'))
		return 0;
	for (size_t i = 2; i < m; i++)
		if (!isdig(p[i]))
			return 0;
	return 1;
}

/* ^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
 *    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
 *    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
 *    |[-+]?\.(?:inf|Inf|INF)
 *    |\.(?:nan|NaN|NAN))$ */
static int match_float(const char *s, size_t n)
{
	int sign = n && (s[0] == '-' || s[0] == '+');
	const char *p = s + sign;
	size_t m = n - (size_t)sign;
	if (m == 0)
		return 0;
	if (p[0] == '.') {
		if (eqn(p, m, ".inf") || eqn(p, m, ".Inf") || eqn(p, m, ".INF"))
			return 1;
		if (sign)
			return 0;
		if (eqn(p, m, ".nan") || eqn(p, m, ".NaN") || eqn(p, m, ".NAN"))
			return 1;
		if (m < 2 || !isdig(p[1]))
			return 0;
		size_t j = skip_digits_(p, m, 2);
		return exp_tail(p + j, m - j);
	}
	if (!isdig(p[0]))
		return 0;
	size_t j = skip_digits_(p, m, 1);
	if (j < m && p[j] == '.') {
		j = skip_digits_(p, m, j + 1);
		return exp_tail(p + j, m - j);
	}
	if (j < m && p[j] == ':') {
		size_t t = sexa_tail(p + j, m - j);
		if (!t)
			return 0;
		j += t;
		if (j >= m || p[j] != '.')
			return 0;
		return skip_digits_(p, m, j + 1) == m;
	}
	return 0;
}

/* Digits at s[*i], at least min and at most max of them. */
static int digits(const char *s, size_t n, size_t *i, int min, int max)
{
	int d = 0;
	while (*i < n && d < max && isdig(s[*i])) {
		(*i)++;
		d++;
	}
	return d >= min;
}

/* ^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
 *    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
 *     (?:[Tt]|[ \t]+)[0-9][0-9]? :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
 *     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$   (re.X) */
static int match_timestamp(const char *s, size_t n)
{
	size_t i = 0;
	if (!digits(s, n, &i, 4, 4) || i >= n || s[i++] != '-')
		return 0;
	size_t mark = i;
	if (n == 10 && digits(s, n, &i, 2, 2) && i < n && s[i++] == '-' && digits(s, n, &i, 2, 2) &&
	    i == n)
		return 1;
	i = mark;
	if (!digits(s, n, &i, 1, 2) || i >= n || s[i++] != '-' || !digits(s, n, &i, 1, 2) || i >= n)
		return 0;
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (s[i] == ' ' || s[i] == '\t')
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	else
		return 0;
	if (!digits(s, n, &i, 1, 2) || i >= n || s[i++] != ':' || !digits(s, n, &i, 2, 2) ||
	    i >= n || s[i++] != ':' || !digits(s, n, &i, 2, 2))
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && isdig(s[i]))
			i++;
	}
	if (i == n)
		return 1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == 'Z')
		return i + 1 == n;
	if (i >= n || (s[i] != '-' && s[i] != '+'))
		return 0;
	i++;
	if (!digits(s, n, &i, 1, 2))
		return 0;
	if (i < n && s[i] == ':') {
		i++;
		if (!digits(s, n, &i, 2, 2))
			return 0;
	}
	return i == n;
}

/* The type PyYAML gives a plain scalar. */
static enum kind resolve(const char *s, size_t n)
{
	if (match_bool(s, n))
		return K_BOOL;
	if (match_float(s, n))
		return K_FLOAT;
	if (match_int(s, n))
		return K_INT;
	if (eqn(s, n, "<<"))
		return K_MERGE;
	if (match_null(s, n))
		return K_NULL;
	if (match_timestamp(s, n))
		return K_TIMESTAMP;
	if (eqn(s, n, "="))
		return K_VALUE;
	return K_STR;
}

static enum kind tag_kind(const char *tag)
{
	static const struct {
		const char *tag;
		enum kind k;
	} tags[] = {
	    {TAG("null"), K_NULL},	  {TAG("bool"), K_BOOL},
	    {TAG("int"), K_INT},	  {TAG("float"), K_FLOAT},
	    {TAG("str"), K_STR},	  {TAG("timestamp"), K_TIMESTAMP},
	    {TAG("merge"), K_MERGE},	  {TAG("value"), K_VALUE},
	    {TAG("binary"), K_BINARY},	  {TAG("map"), K_MAP},
	    {TAG("seq"), K_SEQ},	  {TAG("set"), K_UNSUPPORTED},
	    {TAG("omap"), K_UNSUPPORTED}, {TAG("pairs"), K_UNSUPPORTED},
	    {"!unsafe", K_UNSAFE},
	};
	for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
		if (!strcmp(tag, tags[i].tag))
			return tags[i].k;
	return K_UNKNOWN;
}

/* ---- constructing scalars as SafeConstructor does ---- */

static int py_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x1c || c == 0x1d || c == 0x1e ||
	       c == 0x1f;
}

/* Python's int(s, base) for what PyYAML passes it: blanks around, a
 * sign, the base's prefix (0b/0o/0x) and digits; negated if neg. 0, -1
 * invalid, -2 out of range. */
static int py_int(const char *s, size_t n, int base, int neg, long long *out)
{
	size_t i = 0;
	while (n && py_space(s[n - 1]))
		n--;
	while (i < n && py_space(s[i]))
		i++;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg ^= s[i++] == '-';
	if (base != 10 && i + 1 < n && s[i] == '0') {
		char pc = (char)(s[i + 1] | 0x20);
		if ((base == 2 && pc == 'b') || (base == 8 && pc == 'o') ||
		    (base == 16 && pc == 'x'))
			i += 2;
	}
	if (i >= n)
		return -1;
	unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	int range = 0;
	for (; i < n; i++) {
		int c = (unsigned char)s[i], d;
		if (isdig(c))
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		if (d >= base)
			return -1;
		if (v > (lim - (unsigned)d) / (unsigned)base)
			range = 1;
		else
			v = v * (unsigned)base + (unsigned)d;
	}
	if (range)
		return -2;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

/* A copy of s without '_', NUL-terminated; lower-cased if asked. */
static char *strip_us(const char *s, size_t n, size_t *m, int lower)
{
	char *r = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			r[k++] = (char)((lower && s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	r[k] = '\0';
	*m = k;
	return r;
}

/* construct_yaml_int: 0, -1 invalid, -2 out of range. */
static int construct_int(const char *s, size_t n, long long *out)
{
	size_t m;
	char *v = strip_us(s, n, &m, 0), *p = v;
	int rc = -1, sign = 1;
	long long r = 0;
	if (m == 0)
		goto out;
	if (*p == '-')
		sign = -1;
	if (*p == '-' || *p == '+')
		p++, m--;
	if (m == 0)
		goto out;
	if (eqn(p, m, "0")) {
		rc = 0;
	} else if (m >= 2 && p[0] == '0' && p[1] == 'b') {
		rc = py_int(p + 2, m - 2, 2, sign < 0, &r);
	} else if (m >= 2 && p[0] == '0' && p[1] == 'x') {
		rc = py_int(p + 2, m - 2, 16, sign < 0, &r);
	} else if (p[0] == '0') {
		rc = py_int(p, m, 8, sign < 0, &r);
	} else if (memchr(p, ':', m)) {
		/* base 60: digits reversed, each times 60^k */
		long long base = 1, part;
		int base_over = 0;
		size_t end = m;
		for (;;) {
			size_t beg = end;
			while (beg > 0 && p[beg - 1] != ':')
				beg--;
			if ((rc = py_int(p + beg, end - beg, 10, sign < 0, &part)) < 0)
				break;
			if (part && (base_over || __builtin_mul_overflow(part, base, &part) ||
				     __builtin_add_overflow(r, part, &r))) {
				rc = -2;
				break;
			}
			if (beg == 0)
				break;
			end = beg - 1;
			base_over = base_over || __builtin_mul_overflow(base, 60, &base);
		}
	} else {
		rc = py_int(p, m, 10, sign < 0, &r);
	}
	*out = r;
out:
	free(v);
	return rc;
}

/* Python's float(s) for lower-case s without '_': blanks around, a
 * sign, then inf, infinity, nan or a decimal number. */
static int py_float(const char *s, size_t n, double *out)
{
	size_t i = 0;
	while (n && py_space(s[n - 1]))
		n--;
	while (i < n && py_space(s[i]))
		i++;
	const char *b = s + i;
	size_t j = i;
	if (j < n && (s[j] == '-' || s[j] == '+'))
		j++;
	if (!(eqn(s + j, n - j, "inf") || eqn(s + j, n - j, "infinity") ||
	      eqn(s + j, n - j, "nan"))) {
		size_t d = 0;
		while (j < n && isdig(s[j]))
			j++, d++;
		if (j < n && s[j] == '.')
			for (j++; j < n && isdig(s[j]); j++)
				d++;
		if (!d)
			return -1;
		if (j < n && s[j] == 'e') {
			j++;
			if (j < n && (s[j] == '-' || s[j] == '+'))
				j++;
			if (j >= n || !isdig(s[j]))
				return -1;
			while (j < n && isdig(s[j]))
				j++;
		}
		if (j != n)
			return -1;
	}
	char *t = xstrndup(b, (size_t)(s + n - b));
	*out = strtod(t, NULL);
	free(t);
	return 0;
}

/* construct_yaml_float. */
static int construct_float(const char *s, size_t n, double *out)
{
	size_t m;
	char *v = strip_us(s, n, &m, 1), *p = v;
	double sign = 1, r = 0;
	int rc = -1;
	if (m == 0)
		goto out;
	if (*p == '-')
		sign = -1;
	if (*p == '-' || *p == '+')
		p++, m--;
	if (eqn(p, m, ".inf")) {
		r = INFINITY, rc = 0;
	} else if (eqn(p, m, ".nan")) {
		r = NAN, sign = 1, rc = 0;
	} else if (memchr(p, ':', m)) {
		double base = 1, part;
		size_t end = m;
		for (;;) {
			size_t beg = end;
			while (beg > 0 && p[beg - 1] != ':')
				beg--;
			if ((rc = py_float(p + beg, end - beg, &part)) < 0)
				break;
			r += part * base;
			if (beg == 0)
				break;
			base *= 60;
			end = beg - 1;
		}
	} else {
		rc = py_float(p, m, &r);
	}
	*out = sign * r;
out:
	free(v);
	return rc;
}

/* base64.decodebytes as construct_yaml_binary uses it: other characters
 * are skipped, padding must complete the last group. */
static int construct_binary(const char *s, size_t n, struct buf *out)
{
	unsigned acc = 0, bits = 0, data = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int d;
		if (c >= 0x80)
			return -1;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (isdig(c))
			d = c - '0' + 52;
		else if (c == '+')
			d = 62;
		else if (c == '/')
			d = 63;
		else {
			if (c == '=' && data % 4)
				pad++;
			continue;
		}
		if (pad)
			return -1;
		data++;
		acc = (acc << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
	if (data % 4 == 1 || (data % 4 && pad < 4 - data % 4))
		return -1;
	return 0;
}

/* Python's str() of a scalar mapping key. */
static void key_str(const struct value *k, struct buf *b)
{
	char tmp[40];
	switch (k->type) {
	case V_NULL: buf_puts(b, "None"); break;
	case V_BOOL: buf_puts(b, k->u.b ? "True" : "False"); break;
	case V_INT: buf_printf(b, "%lld", k->u.i); break;
	case V_FLOAT:
		if (isnan(k->u.f))
			buf_puts(b, "nan");
		else if (isinf(k->u.f))
			buf_puts(b, k->u.f < 0 ? "-inf" : "inf");
		else
			value_float_repr(k->u.f, tmp), buf_puts(b, tmp);
		break;
	default: value_to_str(k, b); break;
	}
}

/* Python dict keys 1, 1.0 and True are one key (the first one written):
 * the same text here for numbers equal in Python. 0 for NaN (never equal)
 * and non-numbers. */
static int num_canon(const struct value *k, char *out, size_t sz)
{
	double f;
	switch (k->type) {
	case V_BOOL: snprintf(out, sz, "%d", k->u.b); return 1;
	case V_INT: snprintf(out, sz, "%lld", k->u.i); return 1;
	case V_FLOAT:
		f = k->u.f;
		if (isnan(f))
			return 0;
		if (f == floor(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
			snprintf(out, sz, "%lld", (long long)f);
		else
			snprintf(out, sz, "%a", f);
		return 1;
	default: return 0;
	}
}

/* ---- the loader ---- */

struct anchor {
	char *name;
	struct value *v; /* NULL while its node is being built */
	int line;
};

struct loader {
	yaml_parser_t p;
	const char *file; /* interned */
	const char *text;
	size_t len;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	struct value *anchor_index; /* name -> int index in anchors */
	int depth;
	int cerr; /* a construction error is pending, message in cmsg */
	struct buf cmsg;
	struct var_spans *spans; /* the top-level values' spans, if wanted */
	yaml_mark_t last_end;	 /* the end of the last event read */
	size_t bom;		 /* bytes of a byte order mark (libyaml's marks skip it) */
	size_t at_char, at_byte; /* where char_to_byte() left off */
};

/* libyaml's mark.index counts characters (after a byte order mark); the
 * spans are bytes. Marks mostly grow, so the walk starts where the last
 * one stopped. */
static size_t char_to_byte(struct loader *ld, size_t ci)
{
	if (ci < ld->at_char)
		ld->at_char = 0, ld->at_byte = ld->bom;
	const unsigned char *t = (const unsigned char *)ld->text;
	while (ld->at_char < ci && ld->at_byte < ld->len) {
		ld->at_byte++;
		while (ld->at_byte < ld->len && (t[ld->at_byte] & 0xC0) == 0x80)
			ld->at_byte++;
		ld->at_char++;
	}
	return ld->at_byte;
}

static int mark_line(yaml_mark_t m)
{
	return m.line >= INT_MAX - 1 ? INT_MAX : (int)m.line + 1;
}

static int fail_parser(struct loader *ld)
{
	yaml_parser_t *p = &ld->p;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_MEMORY_ERROR)
		return ezk_fail_at(ld->file, 0, "out of memory");
	if (p->error == YAML_READER_ERROR) {
		int line = 1;
		for (size_t i = 0; i < p->problem_offset && i < ld->len; i++)
			line += ld->text[i] == '\n';
		if (p->problem_value != -1)
			return ezk_fail_at(ld->file, line, "%s (#%X)", problem, p->problem_value);
		return ezk_fail_at(ld->file, line, "%s", problem);
	}
	if (p->context)
		return ezk_fail_at(ld->file, mark_line(p->problem_mark), "%s (%s at line %d)",
				   problem, p->context, mark_line(p->context_mark));
	return ezk_fail_at(ld->file, mark_line(p->problem_mark), "%s", problem);
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ld->p, ev))
		return fail_parser(ld);
	ld->last_end = ev->end_mark;
	return 0;
}

/* A construction error: kept if it is the first, parsing goes on. */
EZK_PRINTF(3, 4)
static void cerror(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (ld->cerr)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ezk_fail_at(ld->file, line, "%s", msg);
	buf_puts(&ld->cmsg, ezk_err_msg());
	ld->cerr = 1;
}

/* cerror() that returns a null to stand in for the node. */
#define cfail(ld, line, ...) (cerror((ld), (line), __VA_ARGS__), value_null())

/* At most 40 bytes of a scalar, for messages. */
#define SHOW(s, n) (int)((n) > 40 ? 40 : (n)), (s)

static const char *node_name(yaml_event_type_t t)
{
	return t == YAML_MAPPING_START_EVENT	? "mapping"
	       : t == YAML_SEQUENCE_START_EVENT ? "sequence"
						: "scalar";
}

static const char *value_node_name(const struct value *v)
{
	return v->type == V_MAP || v->type == V_OBJ ? "mapping"
	       : v->type == V_LIST		    ? "sequence"
						    : "scalar";
}

/* The error for a node whose tag asks for another kind of node, or NULL
 * if kind k may be built from a node of event type t. */
static struct value *check_tag(struct loader *ld, const char *tag, enum kind k, yaml_event_type_t t,
			       int line)
{
	int want;
	switch (k) {
	case K_MAP: want = YAML_MAPPING_START_EVENT; break;
	case K_SEQ: want = YAML_SEQUENCE_START_EVENT; break;
	case K_UNSAFE: return NULL;
	case K_UNSUPPORTED: return cfail(ld, line, "the tag '%s' is not supported", tag);
	case K_UNKNOWN:
		return cfail(ld, line, "could not determine a constructor for the tag '%s'", tag);
	case K_MERGE:
	case K_VALUE:
		return cfail(ld, line, "could not determine a constructor for the tag '%s'",
			     k == K_MERGE ? TAG("merge") : TAG("value"));
	default: want = YAML_SCALAR_EVENT; break;
	}
	if ((int)t == want)
		return NULL;
	return cfail(ld, line, "expected a %s node, but found %s",
		     node_name((yaml_event_type_t)want), node_name(t));
}

static struct value *construct_scalar(struct loader *ld, const yaml_event_t *ev, int *merge_key)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	int line = mark_line(ev->start_mark);
	enum kind k;
	struct value *v;
	if (!tag || !strcmp(tag, "!"))
		k = ev->data.scalar.plain_implicit ? resolve(s, n) : K_STR;
	else
		k = tag_kind(tag);
	if (merge_key && (k == K_MERGE || k == K_VALUE)) {
		/* as a key "<<" merges and "=" is a string */
		*merge_key = k == K_MERGE;
		k = K_STR;
	}
	switch (k) {
	case K_NULL: v = value_null(); break;
	case K_BOOL: {
		int b = bool_word(s, n);
		if (b < 0)
			return cfail(ld, line, "invalid boolean '%.*s'", SHOW(s, n));
		v = value_bool(b);
		break;
	}
	case K_INT: {
		long long i;
		int rc = construct_int(s, n, &i);
		if (rc == -2)
			return cfail(ld, line, "integer out of range: '%.*s'", SHOW(s, n));
		if (rc < 0)
			return cfail(ld, line, "invalid integer '%.*s'", SHOW(s, n));
		v = value_int(i);
		break;
	}
	case K_FLOAT: {
		double f;
		if (construct_float(s, n, &f) < 0)
			return cfail(ld, line, "invalid float '%.*s'", SHOW(s, n));
		v = value_float(f);
		break;
	}
	case K_BINARY: {
		struct buf b = BUF_INIT;
		if (construct_binary(s, n, &b) < 0) {
			buf_free(&b);
			return cfail(ld, line, "invalid base64 data in !!binary");
		}
		size_t bl = b.len;
		v = b.s ? value_str_take(buf_detach(&b), bl) : value_str("");
		break;
	}
	case K_STR:
	case K_TIMESTAMP:
	case K_UNSAFE: v = value_strn(s, n); break;
	default: v = check_tag(ld, tag, k, YAML_SCALAR_EVENT, line); return v ? v : value_null();
	}
	return value_set_src(v, ld->file, line);
}

static long find_anchor(struct loader *ld, const char *name)
{
	struct value *i = value_map_get(ld->anchor_index, name);
	return i ? (long)i->u.i : -1;
}

static int parse_node(struct loader *ld, yaml_event_t *ev, struct value **out, int *merge_key);

/* Fold the value of a "<<" key into *merged (flatten_mapping). */
static void merge_into(struct loader *ld, struct value **merged, struct value *v, int line)
{
	if (v->type == V_MAP) {
		if (!*merged)
			*merged = value_map();
		for (size_t i = 0; i < value_len(v); i++)
			value_map_set(*merged, value_map_key(v, i), value_ref(value_map_val(v, i)));
		return;
	}
	if (v->type != V_LIST) {
		cerror(ld, v->line ? v->line : line,
		       "expected a mapping or list of mappings for merging, but found %s",
		       value_node_name(v));
		return;
	}
	for (size_t i = 0; i < v->u.list.n; i++) {
		struct value *e = v->u.list.v[i];
		if (e->type != V_MAP) {
			cerror(ld, e->line ? e->line : line,
			       "expected a mapping for merging, but found %s", value_node_name(e));
			return;
		}
	}
	/* the first listed mapping wins: merge them last to first */
	for (size_t i = v->u.list.n; i-- > 0;)
		merge_into(ld, merged, v->u.list.v[i], line);
}

static int parse_mapping(struct loader *ld, int line, struct value **out)
{
	struct value *own = value_map(), *merged = NULL, *nums = NULL;
	struct buf kb = BUF_INIT;
	yaml_event_t ev;
	for (;;) {
		struct value *k = NULL, *v = NULL;
		int is_merge = 0;
		if (next_event(ld, &ev) < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		int kline = mark_line(ev.start_mark);
		if (parse_node(ld, &ev, &k, &is_merge) < 0)
			goto fail;
		size_t vstart = 0;
		if (next_event(ld, &ev) == 0)
			vstart = ev.start_mark.index;
		else {
			value_unref(k);
			goto fail;
		}
		if (parse_node(ld, &ev, &v, NULL) < 0) {
			value_unref(k);
			goto fail;
		}
		if (ld->spans && ld->depth == 1 && !is_merge && k->type == V_STR) {
			size_t b0 = char_to_byte(ld, vstart);
			size_t b1 = char_to_byte(ld, ld->last_end.index);
			var_spans_add(ld->spans, k->u.str.s, k->u.str.len, b0, b1 < b0 ? b0 : b1,
				      0);
		}
		if (is_merge) {
			merge_into(ld, &merged, v, kline);
			value_unref(v);
		} else if (k->type == V_STR) {
			value_map_set(own, k->u.str.s, v);
		} else if (k->type == V_LIST || k->type == V_MAP || k->type == V_OBJ) {
			cerror(ld, kline, "found unhashable key");
			value_unref(v);
		} else {
			/* a non-string key becomes Python's str() of it */
			char canon[64];
			buf_reset(&kb);
			key_str(k, &kb);
			if (num_canon(k, canon, sizeof canon)) {
				struct value *first = value_map_get(nums, canon);
				if (!nums)
					nums = value_map();
				if (first) {
					buf_reset(&kb);
					buf_put(&kb, first->u.str.s, first->u.str.len);
				} else {
					value_map_set(nums, canon, value_str(buf_cstr(&kb)));
				}
			}
			value_map_set(own, buf_cstr(&kb), v);
		}
		value_unref(k);
	}
	buf_free(&kb);
	value_unref(nums);
	if (merged) {
		/* merged keys first, the mapping's own keys win */
		for (size_t i = 0; i < value_len(own); i++)
			value_map_set(merged, value_map_key(own, i),
				      value_ref(value_map_val(own, i)));
		value_unref(own);
		own = merged;
	}
	*out = value_set_src(own, ld->file, line);
	return 0;
fail:
	buf_free(&kb);
	value_unref(nums);
	value_unref(own);
	value_unref(merged);
	return -1;
}

static int parse_sequence(struct loader *ld, int line, struct value **out)
{
	struct value *list = value_list();
	yaml_event_t ev;
	for (;;) {
		struct value *item;
		if (next_event(ld, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (parse_node(ld, &ev, &item, NULL) < 0)
			goto fail;
		value_list_push(list, item);
	}
	*out = value_set_src(list, ld->file, line);
	return 0;
fail:
	value_unref(list);
	return -1;
}

/* Build the node that starts with *ev (which this deletes). merge_key is
 * non-NULL for mapping keys: set to 1 for a "<<" key. */
static int parse_node(struct loader *ld, yaml_event_t *ev, struct value **out, int *merge_key)
{
	int line = mark_line(ev->start_mark);
	const char *anchor = NULL, *tag = NULL;
	int rc = 0;
	long slot = -1;
	*out = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		long a = find_anchor(ld, name);
		if (a < 0)
			rc = ezk_fail_at(ld->file, line, "found undefined alias '%s'", name);
		else if (!ld->anchors[a].v)
			rc = ezk_fail_at(
			    ld->file, line,
			    "found recursive alias '%s' (a node cannot contain itself)", name);
		else
			*out = value_ref(ld->anchors[a].v);
		yaml_event_delete(ev);
		return rc;
	}
	case YAML_SCALAR_EVENT: anchor = (const char *)ev->data.scalar.anchor; break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		tag = (const char *)ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		tag = (const char *)ev->data.mapping_start.tag;
		break;
	default:
		/* libyaml only gives node events here */
		yaml_event_delete(ev);
		return ezk_fail_at(ld->file, line, "unexpected YAML event");
	}
	if (anchor) {
		long a = find_anchor(ld, anchor);
		if (a >= 0) {
			rc = ezk_fail_at(ld->file, line,
					 "found duplicate anchor '%s'; first occurrence at line %d",
					 anchor, ld->anchors[a].line);
			yaml_event_delete(ev);
			return rc;
		}
		if (ld->nanchors == ld->capanchors) {
			ld->capanchors = ld->capanchors ? ld->capanchors * 2 : 8;
			ld->anchors = xrealloc(ld->anchors, ld->capanchors * sizeof *ld->anchors);
		}
		slot = (long)ld->nanchors++;
		ld->anchors[slot] = (struct anchor){xstrdup(anchor), NULL, line};
		if (!ld->anchor_index)
			ld->anchor_index = value_map();
		value_map_set(ld->anchor_index, anchor, value_int(slot));
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		*out = construct_scalar(ld, ev, merge_key);
		yaml_event_delete(ev);
	} else {
		yaml_event_type_t t = ev->type;
		struct value *bad = NULL;
		if (tag && strcmp(tag, "!") != 0)
			bad = check_tag(ld, tag, tag_kind(tag), t, line);
		yaml_event_delete(ev);
		if (ld->depth >= YAML_MAX_DEPTH) {
			value_unref(bad);
			return ezk_fail_at(ld->file, line,
					   "too deeply nested (more than %d levels)",
					   YAML_MAX_DEPTH);
		}
		ld->depth++;
		rc = t == YAML_MAPPING_START_EVENT ? parse_mapping(ld, line, out)
						   : parse_sequence(ld, line, out);
		ld->depth--;
		if (rc < 0) {
			value_unref(bad);
			return rc;
		}
		if (bad) {
			value_unref(*out);
			*out = bad;
		}
	}
	if (slot >= 0)
		ld->anchors[slot].v = value_ref(*out);
	return 0;
}

static struct value *load(const char *text, size_t len, const char *path, int want_map,
			  struct var_spans *spans)
{
	struct loader ld;
	yaml_event_t ev;
	struct value *root = NULL;
	memset(&ld, 0, sizeof ld);
	ld.file = src_intern(path ? path : "<string>");
	ld.text = text;
	ld.len = text ? len : 0;
	ld.spans = spans;
	size_t spans0 = spans ? spans->n : 0;
	if (ld.len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		ld.bom = 3;
	ld.at_byte = ld.bom;
	if (!yaml_parser_initialize(&ld.p)) {
		ezk_fail_at(ld.file, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&ld.p, (const unsigned char *)(text ? text : ""),
				     text ? len : 0);
	if (next_event(&ld, &ev) < 0) /* stream start */
		goto fail;
	yaml_event_delete(&ev);
	if (next_event(&ld, &ev) < 0)
		goto fail;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		root = value_set_src(value_null(), ld.file, 1);
	} else {
		yaml_event_delete(&ev); /* document start */
		if (next_event(&ld, &ev) < 0 || parse_node(&ld, &ev, &root, NULL) < 0)
			goto fail;
		if (next_event(&ld, &ev) < 0) /* document end */
			goto fail;
		yaml_event_delete(&ev);
		if (next_event(&ld, &ev) < 0)
			goto fail;
		if (ev.type != YAML_STREAM_END_EVENT) {
			ezk_fail_at(ld.file, mark_line(ev.start_mark),
				    "expected a single document");
			yaml_event_delete(&ev);
			goto fail;
		}
		yaml_event_delete(&ev);
	}
	if (ld.cerr) {
		ezk_fail("%s", buf_cstr(&ld.cmsg));
		goto fail;
	}
	if (want_map && root->type == V_NULL) {
		int line = root->line;
		value_unref(root);
		root = value_set_src(value_map(), ld.file, line);
	} else if (want_map && root->type != V_MAP) {
		ezk_fail_at(ld.file, root->line, "expected a mapping at the top level");
		goto fail;
	}
	goto out;
fail:
	value_unref(root);
	root = NULL;
	while (spans && spans->n > spans0)
		free(spans->v[--spans->n].key);
out:
	for (size_t i = 0; i < ld.nanchors; i++) {
		free(ld.anchors[i].name);
		value_unref(ld.anchors[i].v);
	}
	free(ld.anchors);
	value_unref(ld.anchor_index);
	buf_free(&ld.cmsg);
	yaml_parser_delete(&ld.p);
	return root;
}

struct value *yaml_load(const char *text, size_t len, const char *path)
{
	return load(text, len, path, 1, NULL);
}

struct value *yaml_load_spans(const char *text, size_t len, const char *path,
			      struct var_spans *spans)
{
	return load(text, len, path, 1, spans);
}

struct value *yaml_load_any(const char *text, size_t len, const char *path)
{
	return load(text, len, path, 0, NULL);
}

struct value *yaml_load_file(const char *path)
{
	char *data;
	size_t len;
	if (file_read_input(path, INPUT_MAX_BYTES, &data, &len) < 0)
		return NULL;
	struct value *v = yaml_load(data, len, path);
	free(data);
	return v;
}

/* ---- the emitter ---- */

/* The UTF-8 sequence at s[i]: its length (0 if invalid) and code point. */
static size_t utf8_at(const unsigned char *s, size_t n, size_t i, unsigned *cp)
{
	unsigned c = s[i], min;
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (i + len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* May code point cp stand as itself in a scalar? (YAML's printable set,
 * less the characters libyaml reads as line breaks.) */
static int cp_plain(unsigned cp)
{
	if (cp < 0x80)
		return cp >= 0x20 && cp < 0x7f;
	return (cp >= 0xa0 && cp <= 0xd7ff && cp != 0x2028 && cp != 0x2029) ||
	       (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Would s, written plain, read back as the same string? */
static int plain_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0 || resolve(s, n) != K_STR)
		return 0;
	if (s[0] == '\0' || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]))
		return 0;
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	if (n >= 3 && !memcmp(s, "...", 3))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned cp;
		size_t l = utf8_at(u, n, i, &cp);
		if (!l || !cp_plain(cp))
			return 0;
		if ((s[i] == ':' && i + 1 < n && s[i + 1] == ' ') ||
		    (s[i] == '#' && s[i - 1] == ' '))
			return 0;
		i += l - 1;
	}
	return 1;
}

static void emit_dquoted(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned cp;
		size_t l = utf8_at(u, n, i, &cp);
		switch (l ? cp : 0x100) {
		case '"': buf_puts(out, "\\\""); continue;
		case '\\': buf_puts(out, "\\\\"); continue;
		case '\0': buf_puts(out, "\\0"); continue;
		case '\t': buf_puts(out, "\\t"); continue;
		case '\n': buf_puts(out, "\\n"); continue;
		case '\r': buf_puts(out, "\\r"); continue;
		case 0x1b: buf_puts(out, "\\e"); continue;
		default: break;
		}
		if (!l)
			buf_printf(out, "\\x%02X", u[i]); /* not UTF-8: reads back as U+00XX */
		else if (cp_plain(cp))
			buf_put(out, s + i, l);
		else if (cp <= 0xff)
			buf_printf(out, "\\x%02X", cp);
		else if (cp <= 0xffff)
			buf_printf(out, "\\u%04X", cp);
		else
			buf_printf(out, "\\U%08X", cp);
		if (l)
			i += l - 1;
	}
	buf_putc(out, '"');
}

static void emit_str(struct buf *out, const char *s, size_t n)
{
	if (plain_ok(s, n))
		buf_put(out, s, n);
	else
		emit_dquoted(out, s, n);
}

/* Floats as PyYAML writes them: repr() with a dot always (1.0e+20). */
static void emit_float(struct buf *out, double f)
{
	char tmp[48];
	if (isnan(f)) {
		buf_puts(out, ".nan");
		return;
	}
	if (isinf(f)) {
		buf_puts(out, f < 0 ? "-.inf" : ".inf");
		return;
	}
	value_float_repr(f, tmp);
	char *e = strchr(tmp, 'e');
	if (e && !strchr(tmp, '.')) {
		memmove(e + 2, e, strlen(e) + 1);
		e[0] = '.', e[1] = '0';
	}
	buf_puts(out, tmp);
}

enum { P_TOP, P_MAPVAL, P_ITEM };

static void spaces(struct buf *out, int n)
{
	while (n-- > 0)
		buf_putc(out, ' ');
}

static void emit_node(const struct value *v, struct buf *out, int col, int pos);

/* Longest key written as a simple "key:" (libyaml allows 1024). */
#define SIMPLE_KEY_MAX 1000

static void emit_map(const struct value *v, struct buf *out, int col, int inline_first)
{
	struct buf kb = BUF_INIT;
	for (size_t i = 0; i < value_len(v); i++) {
		const char *k = value_map_key(v, i);
		if (i || !inline_first)
			spaces(out, col);
		buf_reset(&kb);
		emit_str(&kb, k, strlen(k));
		if (kb.len > SIMPLE_KEY_MAX) {
			buf_puts(out, "? ");
			buf_put(out, kb.s, kb.len);
			buf_putc(out, '\n');
			spaces(out, col);
		} else {
			buf_put(out, kb.s, kb.len);
		}
		buf_putc(out, ':');
		emit_node(value_map_val(v, i), out, col, P_MAPVAL);
	}
	buf_free(&kb);
}

static void emit_list(const struct value *v, struct buf *out, int col, int inline_first)
{
	for (size_t i = 0; i < v->u.list.n; i++) {
		if (i || !inline_first)
			spaces(out, col);
		buf_puts(out, "- ");
		emit_node(v->u.list.v[i], out, col, P_ITEM);
	}
}

/* v after "key:" (P_MAPVAL, col = the key's column), after "- " (P_ITEM,
 * col = the dash's column) or alone (P_TOP). */
static void emit_node(const struct value *v, struct buf *out, int col, int pos)
{
	if (v->type == V_OBJ) {
		struct value *m = value_obj_map(v);
		emit_node(m, out, col, pos);
		value_unref(m);
		return;
	}
	if ((v->type == V_MAP && value_len(v)) || (v->type == V_LIST && v->u.list.n)) {
		int c = pos == P_TOP ? 0 : col + 2;
		if (pos == P_MAPVAL)
			buf_putc(out, '\n');
		if (v->type == V_MAP)
			emit_map(v, out, c, pos == P_ITEM);
		else
			emit_list(v, out, c, pos == P_ITEM);
		return;
	}
	if (pos == P_MAPVAL)
		buf_putc(out, ' ');
	switch (v->type) {
	case V_NULL: buf_puts(out, "null"); break;
	case V_BOOL: buf_puts(out, v->u.b ? "true" : "false"); break;
	case V_INT: buf_printf(out, "%lld", v->u.i); break;
	case V_FLOAT: emit_float(out, v->u.f); break;
	case V_STR: emit_str(out, v->u.str.s, v->u.str.len); break;
	case V_LIST: buf_puts(out, "[]"); break;
	default: buf_puts(out, "{}"); break;
	}
	buf_putc(out, '\n');
}

void yaml_emit(const struct value *v, struct buf *out)
{
	if (!v) {
		buf_puts(out, "null\n");
		return;
	}
	emit_node(v, out, 0, P_TOP);
}
