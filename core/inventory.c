/*
 * inventory.c - the INI inventory reader. It follows Ansible 2.14's
 * plugins/inventory/ini.py line by line (see inventory.h for the rules),
 * then does what InventoryData.reconcile_inventory() does: parentless
 * groups go under "all", "ungrouped" is fixed up, and ezk precomputes
 * group depths and each host's group precedence list once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "span.h"
#include "pyliteral.h"

#define G_ALL 0
#define G_UNGROUPED 1

struct idxv {
	size_t *v;
	size_t n, cap;
};

static void idxv_push(struct idxv *a, size_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = x;
}

static int idxv_has(const struct idxv *a, size_t x)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == x)
			return 1;
	return 0;
}

/* A string -> index hash table; keys are borrowed from their owner. */
struct strtab {
	const char **keys;
	size_t *vals;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static long strtab_get(const struct strtab *t, const char *key)
{
	if (!t->cap)
		return -1;
	size_t mask = t->cap - 1;
	for (size_t h = hash_str(key) & mask; t->keys[h]; h = (h + 1) & mask)
		if (strcmp(t->keys[h], key) == 0)
			return (long)t->vals[h];
	return -1;
}

static void strtab_put(struct strtab *t, const char *key, size_t val)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct strtab old = *t;
		t->cap = old.cap ? old.cap * 2 : 16;
		t->keys = xcalloc(t->cap, sizeof *t->keys);
		t->vals = xcalloc(t->cap, sizeof *t->vals);
		t->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i])
				strtab_put(t, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	size_t mask = t->cap - 1;
	size_t h = hash_str(key) & mask;
	while (t->keys[h])
		h = (h + 1) & mask;
	t->keys[h] = key;
	t->vals[h] = val;
	t->n++;
}

static void strtab_free(struct strtab *t)
{
	free(t->keys);
	free(t->vals);
}

struct ihost {
	char *name;
	struct value *vars;
	int line;
	struct idxv direct; /* groups it was put in */
	size_t *prec;	    /* all its groups, precedence order */
	size_t nprec;
};

struct igroup {
	char *name;
	struct value *vars;
	int line;
	int depth;
	long priority;
	struct idxv hosts, children, parents;
};

struct inventory {
	const char *path;
	struct ihost *hosts;
	size_t nhosts, caphosts;
	struct igroup *groups;
	size_t ngroups, capgroups;
	struct strtab htab, gtab;
};

/* ---- building ---- */

static size_t group_add(struct inventory *inv, const char *name, size_t len, int line)
{
	if (inv->ngroups == inv->capgroups) {
		inv->capgroups = inv->capgroups ? inv->capgroups * 2 : 16;
		inv->groups = xrealloc(inv->groups, inv->capgroups * sizeof *inv->groups);
	}
	struct igroup *g = &inv->groups[inv->ngroups];
	memset(g, 0, sizeof *g);
	g->name = xstrndup(name, len);
	g->vars = value_set_src(value_map(), inv->path, line);
	g->line = line;
	g->priority = 1;
	strtab_put(&inv->gtab, g->name, inv->ngroups);
	return inv->ngroups++;
}

static size_t host_add(struct inventory *inv, const char *name, int line, long port)
{
	long h = strtab_get(&inv->htab, name);
	if (h >= 0)
		return (size_t)h; /* Ansible ignores the port of a known host */
	if (inv->nhosts == inv->caphosts) {
		inv->caphosts = inv->caphosts ? inv->caphosts * 2 : 16;
		inv->hosts = xrealloc(inv->hosts, inv->caphosts * sizeof *inv->hosts);
	}
	struct ihost *host = &inv->hosts[inv->nhosts];
	memset(host, 0, sizeof *host);
	host->name = xstrdup(name);
	host->vars = value_set_src(value_map(), inv->path, line);
	host->line = line;
	if (port > 0) /* Host(): `if port:` so :0 sets nothing */
		value_map_set(host->vars, "ansible_port",
			      value_set_src(value_int(port), inv->path, line));
	strtab_put(&inv->htab, host->name, inv->nhosts);
	return inv->nhosts++;
}

static void group_add_host(struct inventory *inv, size_t g, size_t h)
{
	if (idxv_has(&inv->hosts[h].direct, g))
		return;
	idxv_push(&inv->groups[g].hosts, h);
	idxv_push(&inv->hosts[h].direct, g);
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->nhosts; i++) {
		struct ihost *h = &inv->hosts[i];
		free(h->name);
		value_unref(h->vars);
		free(h->direct.v);
		free(h->prec);
	}
	for (size_t i = 0; i < inv->ngroups; i++) {
		struct igroup *g = &inv->groups[i];
		free(g->name);
		value_unref(g->vars);
		free(g->hosts.v);
		free(g->children.v);
		free(g->parents.v);
	}
	free(inv->hosts);
	free(inv->groups);
	strtab_free(&inv->htab);
	strtab_free(&inv->gtab);
	free(inv);
}

/* ---- Python's str.strip() and str.splitlines() on UTF-8 ---- */

/* Length of the whitespace character (str.isspace) at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') || (s[0] >= 0x1c && s[0] <= 0x1f))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
		return 2;
	if (n >= 3) {
		if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x80 &&
		    ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 ||
		     s[2] == 0xAF))
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
			return 3;
		if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
			return 3;
	}
	return 0;
}

/* Length of the whitespace character that ends s[0..n), or 0. */
static size_t space_before(const unsigned char *s, size_t n)
{
	if (n >= 1 && space_at(s + n - 1, 1) == 1)
		return 1;
	if (n >= 2 && space_at(s + n - 2, 2) == 2)
		return 2;
	if (n >= 3 && space_at(s + n - 3, 3) == 3)
		return 3;
	return 0;
}

static void strip(const char **s, size_t *n)
{
	size_t k;
	while ((k = space_at((const unsigned char *)*s, *n)) > 0) {
		*s += k;
		*n -= k;
	}
	while ((k = space_before((const unsigned char *)*s, *n)) > 0)
		*n -= k;
}

/* Length of the line break at s (as str.splitlines sees one), or 0. */
static size_t line_break_at(const unsigned char *s, size_t n)
{
	if (s[0] == '\r')
		return n >= 2 && s[1] == '\n' ? 2 : 1;
	if (s[0] == '\n' || s[0] == '\v' || s[0] == '\f' || (s[0] >= 0x1c && s[0] <= 0x1e))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && s[1] == 0x85)
		return 2;
	if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
		return 3;
	return 0;
}

/* ---- the parser ---- */

enum state { S_HOSTS, S_VARS, S_CHILDREN };

/* A group named before it is declared (ini.py's pending_declarations). */
struct pending {
	char *name;
	int line;
	enum state state;
	int active;
	struct idxv parents;
	struct idxv plines; /* line of each parent's entry */
};

struct parser {
	struct inventory *inv;
	const char *path;
	int line;
	size_t cur;
	enum state state;
	struct pending *pend;
	size_t npend, cappend;
	struct strtab ptab;
	size_t *mark; /* scratch for graph walks, one per group */
	size_t markcap, stamp;
	const char *text;	 /* the whole text, for value spans */
	struct var_spans *spans; /* NULL: not wanted */
};

static int fail(struct parser *P, const char *fmt, ...) EZK_PRINTF(2, 3);

static int fail(struct parser *P, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
	va_end(ap2);
	if (n >= 0 && (size_t)n < sizeof tmp) {
		buf_puts(&b, tmp);
	} else if (n >= 0) {
		buf_grow(&b, (size_t)n + 1);
		vsnprintf(b.s, (size_t)n + 1, fmt, ap);
		b.len = (size_t)n;
	}
	va_end(ap);
	ezk_fail_at(P->path, P->line, "%s", buf_cstr(&b));
	buf_free(&b);
	return -1;
}

static struct pending *pending_find(struct parser *P, const char *name)
{
	long i = strtab_get(&P->ptab, name);
	return i >= 0 && P->pend[i].active ? &P->pend[i] : NULL;
}

static struct pending *pending_add(struct parser *P, const char *name, size_t len, enum state state)
{
	if (P->npend == P->cappend) {
		P->cappend = P->cappend ? P->cappend * 2 : 8;
		P->pend = xrealloc(P->pend, P->cappend * sizeof *P->pend);
	}
	struct pending *p = &P->pend[P->npend];
	memset(p, 0, sizeof *p);
	p->name = xstrndup(name, len);
	p->line = P->line;
	p->state = state;
	p->active = 1;
	strtab_put(&P->ptab, p->name, P->npend++);
	return p;
}

static void next_stamp(struct parser *P)
{
	size_t n = P->inv->ngroups;
	if (P->markcap < n) {
		P->mark = xrealloc(P->mark, n * sizeof *P->mark);
		memset(P->mark + P->markcap, 0, (n - P->markcap) * sizeof *P->mark);
		P->markcap = n;
	}
	P->stamp++;
}

/* Is `anc` equal to g or one of its ancestors? */
static int is_ancestor(struct parser *P, size_t anc, size_t g)
{
	struct inventory *inv = P->inv;
	struct idxv stack = {0};
	int found = 0;
	next_stamp(P);
	idxv_push(&stack, g);
	P->mark[g] = P->stamp;
	while (stack.n && !found) {
		size_t x = stack.v[--stack.n];
		if (x == anc) {
			found = 1;
			break;
		}
		const struct idxv *ps = &inv->groups[x].parents;
		for (size_t i = 0; i < ps->n; i++) {
			if (P->mark[ps->v[i]] != P->stamp) {
				P->mark[ps->v[i]] = P->stamp;
				idxv_push(&stack, ps->v[i]);
			}
		}
	}
	free(stack.v);
	return found;
}

/* Group.add_child_group(), with the loop checks Ansible makes. */
static int add_child(struct parser *P, size_t parent, size_t child, int line)
{
	struct inventory *inv = P->inv;
	int saved = P->line;
	int rc = 0;
	P->line = line;
	if (parent == child) {
		rc = fail(P, "can't add group '%s' to itself", inv->groups[child].name);
	} else if (child == G_ALL) {
		/* every group ends up under "all": this is always a loop */
		rc = fail(
		    P, "Adding group 'all' as child to '%s' creates a recursive dependency loop.",
		    inv->groups[parent].name);
	} else if (!idxv_has(&inv->groups[parent].children, child)) {
		if (is_ancestor(P, child, parent)) {
			rc = fail(
			    P,
			    "Adding group '%s' as child to '%s' creates a recursive dependency "
			    "loop.",
			    inv->groups[child].name, inv->groups[parent].name);
		} else {
			idxv_push(&inv->groups[parent].children, child);
			idxv_push(&inv->groups[child].parents, parent);
		}
	}
	P->line = saved;
	return rc;
}

static int is_group_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Python's \w, roughly: non-ASCII bytes count as word characters. */
static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

static int check_group_name(struct parser *P, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_group_char((unsigned char)s[i]))
			return fail(
			    P,
			    "invalid group name '%.*s' (ezk allows letters, digits, '_' and "
			    "'-')",
			    (int)n, s);
	return 0;
}

/* [^:\]\s]+ : the group name part of a header or children line. */
static size_t name_span(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != ':' && s[i] != ']' &&
	       !space_at((const unsigned char *)s + i, n - i))
		i++;
	return i;
}

/* \s*(?:#.*)?$ */
static int rest_is_comment(const char *s, size_t n)
{
	size_t k;
	while ((k = space_at((const unsigned char *)s, n)) > 0) {
		s += k;
		n -= k;
	}
	return n == 0 || s[0] == '#';
}

/* Matches ini.py's section pattern: [name] or [name:tag], then blanks and
 * an optional # comment. */
static int match_header(const char *s, size_t n, size_t *namelen, const char **tag, size_t *taglen)
{
	size_t i = 1 + name_span(s + 1, n - 1);
	*namelen = i - 1;
	*tag = NULL;
	*taglen = 0;
	if (*namelen == 0)
		return 0;
	if (i < n && s[i] == ':') {
		size_t j = i + 1;
		while (j < n && is_word((unsigned char)s[j]))
			j++;
		if (j == i + 1)
			return 0;
		*tag = s + i + 1;
		*taglen = j - i - 1;
		i = j;
	}
	if (i >= n || s[i] != ']')
		return 0;
	return rest_is_comment(s + i + 1, n - i - 1);
}

static int do_header(struct parser *P, const char *s, size_t n, size_t namelen, const char *tag,
		     size_t taglen)
{
	struct inventory *inv = P->inv;
	enum state st;
	if (!tag || (taglen == 5 && memcmp(tag, "hosts", 5) == 0))
		st = S_HOSTS;
	else if (taglen == 4 && memcmp(tag, "vars", 4) == 0)
		st = S_VARS;
	else if (taglen == 8 && memcmp(tag, "children", 8) == 0)
		st = S_CHILDREN;
	else
		return fail(P, "Section [%.*s:%.*s] has unknown type: %.*s", (int)namelen, s + 1,
			    (int)taglen, tag, (int)taglen, tag);
	if (check_group_name(P, s + 1, namelen) < 0)
		return -1;

	char *name = xstrndup(s + 1, namelen);
	long g = strtab_get(&inv->gtab, name);
	if (g < 0) {
		/* [g] or [g:children] declares a group; [g:vars] alone does not,
		 * but the group is made now and checked at the end. */
		if (st == S_VARS && !pending_find(P, name))
			pending_add(P, name, namelen, S_VARS);
		g = (long)group_add(inv, name, namelen, P->line);
	}
	struct pending *p = pending_find(P, name);
	free(name);
	if (p && st != S_VARS) {
		p->active = 0;
		if (p->state == S_CHILDREN)
			for (size_t i = 0; i < p->parents.n; i++)
				if (add_child(P, p->parents.v[i], (size_t)g, (int)p->plines.v[i]) <
				    0)
					return -1;
	}
	P->cur = (size_t)g;
	P->state = st;
	return 0;
}

/* Python's int(str): blanks around, a sign, digits with single '_'
 * between them. 1 and *v on success. */
static int py_int_str(const char *s, size_t n, long long *v)
{
	int neg = 0, digits = 0;
	strip(&s, &n);
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_' && digits && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
			continue;
		if (s[i] < '0' || s[i] > '9' || *v > (LLONG_MAX - 9) / 10)
			return 0;
		*v = *v * 10 + (s[i] - '0');
		digits++;
	}
	if (neg)
		*v = -*v;
	return digits > 0;
}

/* Group.set_variable(): ansible_group_priority is int(value) and kept
 * apart from the variables. Takes val. */
static int group_set_var(struct parser *P, size_t gi, const char *key, struct value *val)
{
	struct igroup *g = &P->inv->groups[gi];
	if (strcmp(key, "ansible_group_priority") != 0) {
		value_map_set(g->vars, key, val);
		return 0;
	}
	long long pr = 0;
	int ok = 0, rc = 0;
	if (val->type == V_INT) {
		pr = val->u.i, ok = 1;
	} else if (val->type == V_BOOL) {
		pr = val->u.b, ok = 1;
	} else if (val->type == V_FLOAT && val->u.f > -1e18 && val->u.f < 1e18) {
		pr = (long long)val->u.f, ok = 1; /* int() truncates */
	} else if (val->type == V_STR) {
		ok = py_int_str(val->u.str.s, val->u.str.len, &pr);
	}
	if (ok) {
		g->priority = pr < LONG_MIN ? LONG_MIN : pr > LONG_MAX ? LONG_MAX : (long)pr;
	} else {
		struct buf b = BUF_INIT;
		value_to_str(val, &b);
		rc = fail(P, "ansible_group_priority must be an integer, got: %s", buf_cstr(&b));
		buf_free(&b);
	}
	value_unref(val);
	return rc;
}

static int do_vars_line(struct parser *P, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	if (!eq)
		return fail(P, "Expected key=value, got: %.*s", (int)n, s);
	const char *k = s, *v = eq + 1;
	size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
	strip(&k, &klen);
	strip(&v, &vlen);
	if (P->spans)
		var_spans_add(P->spans, k, klen, (size_t)(v - P->text),
			      (size_t)(v - P->text) + vlen, 0);
	char *key = xstrndup(k, klen);
	int rc = group_set_var(P, P->cur, key, pyliteral_value(v, vlen, P->path, P->line));
	free(key);
	return rc;
}

static int do_children_line(struct parser *P, const char *s, size_t n)
{
	struct inventory *inv = P->inv;
	size_t len = name_span(s, n);
	if (len == 0 || !rest_is_comment(s + len, n - len))
		return fail(P, "Expected group name, got: %.*s", (int)n, s);
	if (check_group_name(P, s, len) < 0)
		return -1;
	char *name = xstrndup(s, len);
	long c = strtab_get(&inv->gtab, name);
	int rc = 0;
	if (c >= 0) {
		rc = add_child(P, P->cur, (size_t)c, P->line);
	} else {
		struct pending *p = pending_find(P, name);
		if (!p)
			p = pending_add(P, name, len, S_CHILDREN);
		if (p->state == S_CHILDREN) {
			idxv_push(&p->parents, P->cur);
			idxv_push(&p->plines, (size_t)P->line);
		}
	}
	free(name);
	return rc;
}

/* ---- host lines: shlex, addresses, ranges ---- */

struct toks {
	struct buf b; /* tokens, each NUL-terminated */
	struct idxv off;
	/* when wanted (src non-NULL): each output byte's index in the line
	 * and the quote it was inside of (0 if none); each token's end (the
	 * index just after its last character) */
	struct idxv *src, *quote, *end;
};

static void tok_put(struct toks *t, char c, size_t i, char q)
{
	buf_putc(&t->b, c);
	if (t->src) {
		idxv_push(t->src, i);
		idxv_push(t->quote, (size_t)(unsigned char)q);
	}
}

static void tok_end(struct toks *t, size_t i)
{
	buf_putc(&t->b, '\0');
	if (t->src) {
		idxv_push(t->src, i);
		idxv_push(t->quote, 0);
		idxv_push(t->end, i);
	}
}

/* shlex.split(line, comments=True) in POSIX mode. */
static int shlex_split(const char *s, size_t n, struct toks *t, const char **why)
{
	enum { WS, WORD, QUOTE, ESC } state = WS, escstate = WS;
	char q = 0;
	for (size_t i = 0;; i++) {
		int c = i < n ? (unsigned char)s[i] : -1;
		int blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		switch (state) {
		case WS:
			if (c < 0 || c == '#')
				return 0;
			if (blank)
				break;
			idxv_push(&t->off, t->b.len);
			if (c == '\\') {
				escstate = WORD;
				state = ESC;
			} else if (c == '\'' || c == '"') {
				q = (char)c;
				state = QUOTE;
			} else {
				tok_put(t, (char)c, i, 0);
				state = WORD;
			}
			break;
		case WORD:
			if (c < 0 || blank || c == '#') {
				tok_end(t, i);
				if (c < 0 || c == '#')
					return 0;
				state = WS;
			} else if (c == '\'' || c == '"') {
				q = (char)c;
				state = QUOTE;
			} else if (c == '\\') {
				escstate = WORD;
				state = ESC;
			} else {
				tok_put(t, (char)c, i, 0);
			}
			break;
		case QUOTE:
			if (c < 0) {
				*why = "No closing quotation";
				return -1;
			}
			if (c == q) {
				state = WORD;
			} else if (c == '\\' && q == '"') {
				escstate = QUOTE;
				state = ESC;
			} else {
				tok_put(t, (char)c, i, q);
			}
			break;
		case ESC:
			if (c < 0) {
				*why = "No escaped character";
				return -1;
			}
			/* inside "...", only \" and \\ are escapes */
			if (escstate == QUOTE && c != '\\' && c != q)
				tok_put(t, '\\', i - 1, q);
			tok_put(t, (char)c, i, escstate == QUOTE ? q : 0);
			state = escstate;
			break;
		}
	}
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An IPv6 component of addresses.py: [0-9a-f]{1,4} or a range
 * [hex:hex(:digits)?]; returns its length when it is followed by `next`
 * (0: anything may follow), else 0. */
static size_t v6comp(const char *s, size_t n, char next)
{
	size_t i = 0;
	if (n > 0 && s[0] == '[') {
		i = 1;
		size_t a = i;
		while (i < n && is_hex(s[i]))
			i++;
		if (i == a || i >= n || s[i] != ':')
			return 0;
		a = ++i;
		while (i < n && is_hex(s[i]))
			i++;
		if (i == a)
			return 0;
		if (i < n && s[i] == ':') {
			a = ++i;
			while (i < n && is_digit(s[i]))
				i++;
			if (i == a)
				return 0;
		}
		if (i >= n || s[i] != ']')
			return 0;
		i++;
	} else {
		while (i < n && i < 4 && is_hex(s[i]))
			i++;
		if (i == 0)
			return 0;
	}
	if (next && (i >= n || s[i] != next))
		return 0;
	return i;
}

/* (C.){3}C at s, as a prefix; returns its length or 0. */
static size_t v6_dotted(const char *s, size_t n)
{
	size_t i = 0, k;
	for (int j = 0; j < 3; j++) {
		if (!(k = v6comp(s + i, n - i, '.')))
			return 0;
		i += k + 1;
	}
	if (!(k = v6comp(s + i, n - i, 0)))
		return 0;
	return i + k;
}

/* addresses.py's 'ipv6' pattern. Its `^` and `$` bind only to the first
 * and last alternatives, so all but the last accept any text after a
 * matching prefix; this keeps that behaviour. */
static int is_ipv6(const char *s, size_t n)
{
	if (n >= 2 && s[0] == ':' && s[1] == ':')
		return 1;
	size_t i = 0, k;
	for (int count = 1; count <= 7; count++) {
		if (!(k = v6comp(s + i, n - i, ':')))
			break;
		i += k + 1;
		if (count <= 6 && i < n && s[i] == ':')
			return 1; /* (C:){1,6}: */
		if (count == 7 && v6comp(s + i, n - i, 0))
			return 1; /* (C:){7}C */
	}
	if (n >= 12 && strncmp(s, "0:0:0:0:0:0:", 12) == 0 && v6_dotted(s + 12, n - 12))
		return 1;
	if (n >= 15 && strncmp(s, "0:0:0:0:0:", 10) == 0 && strncasecmp(s + 10, "ffff:", 5) == 0 &&
	    v6_dotted(s + 15, n - 15) == n - 15)
		return 1;
	return 0;
}

/* An alphanumeric range of a hostname label: [a:z] or [0:9], with an
 * optional :step; returns its length or 0. */
static size_t alnum_range(const char *s, size_t n)
{
	size_t i = 1;
	if (n < 5 || s[0] != '[')
		return 0;
	if (((s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'z') && s[2] == ':' &&
	    ((s[3] | 0x20) >= 'a' && (s[3] | 0x20) <= 'z')) {
		i = 4;
	} else {
		size_t a = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == a || i >= n || s[i] != ':')
			return 0;
		a = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == a)
			return 0;
	}
	if (i < n && s[i] == ':') {
		size_t a = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == a)
			return 0;
	}
	if (i >= n || s[i] != ']')
		return 0;
	return i + 1;
}

/* addresses.py's 'hostname' pattern (ranges allowed). It also covers
 * every string the 'ipv4' pattern accepts. */
static int is_hostname(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		/* one label: (\w|range) (\w|-|range)*, not ending in _ or - */
		size_t start = i;
		char last = 0;
		while (i < n && s[i] != '.') {
			size_t k;
			if (s[i] == '[') {
				if (!(k = alnum_range(s + i, n - i)))
					return 0;
				i += k;
				last = ']';
			} else if (is_word((unsigned char)s[i]) || (s[i] == '-' && i > start)) {
				last = s[i++];
			} else {
				return 0;
			}
		}
		if (i == start || last == '_' || last == '-')
			return 0;
		if (i == n)
			return 1;
		i++; /* the dot */
	}
}

/* addresses.py's parse_address(allow_ranges=True): 0 with the address
 * span and port (-1: none), or -1 when Ansible would not recognize the
 * text and takes it as a literal host name. */
static int parse_address(const char *s, size_t n, size_t *aoff, size_t *alen, long *port)
{
	const char *a = s;
	size_t an = n, k = n;
	const char *pdig = NULL;
	*port = -1;
	/* \[(.+)\]:([0-9]+) */
	while (k > 0 && is_digit(s[k - 1]))
		k--;
	if (n > 0 && s[0] == '[' && k < n && k >= 4 && s[k - 1] == ':' && s[k - 2] == ']') {
		a = s + 1;
		an = k - 3;
		pdig = s + k;
	}
	/* ((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+) */
	size_t i = 0;
	while (i < an) {
		if (a[i] == '[') {
			const char *close = memchr(a + i, ']', an - i);
			if (!close)
				break;
			i = (size_t)(close - a) + 1;
		} else if (a[i] == ':' || a[i] == ']') {
			break;
		} else {
			i++;
		}
	}
	if (i < an && a[i] == ':' && i + 1 < an) {
		size_t j = i + 1;
		while (j < an && is_digit(a[j]))
			j++;
		if (j == an) {
			pdig = a + i + 1;
			an = i;
		}
	}
	if (!is_ipv6(a, an) && !is_hostname(a, an))
		return -1;
	if (pdig) {
		long p = 0;
		for (const char *d = pdig; is_digit(*d); d++)
			if ((p = p * 10 + (*d - '0')) > 1000000)
				break;
		*port = p;
	}
	*aoff = (size_t)(a - s);
	*alen = an;
	return 0;
}

struct hrange {
	const char *lit; /* literal text before the range */
	size_t litlen;
	int alpha;
	size_t width; /* zero padding */
	unsigned long long beg, step, count;
};

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int parse_num(const char *s, size_t n, unsigned long long *v)
{
	*v = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]) || *v > (ULLONG_MAX - 9) / 10)
			return 0;
		*v = *v * 10 + (unsigned long long)(s[i] - '0');
	}
	return 1;
}

/* One [beg:end] or [beg:end:step] (the text between the brackets), as
 * plugins/inventory/__init__.py's expand_hostname_range() reads it. */
static const char *parse_range(const char *s, size_t n, struct hrange *r)
{
	const char *c1 = memchr(s, ':', n);
	if (!c1)
		return "host range must be begin:end or begin:end:step";
	const char *e = c1 + 1;
	size_t rest = n - (size_t)(e - s);
	const char *c2 = memchr(e, ':', rest);
	const char *st = NULL;
	size_t blen = (size_t)(c1 - s), elen = c2 ? (size_t)(c2 - e) : rest, stlen = 0;
	if (c2) {
		st = c2 + 1;
		stlen = n - (size_t)(st - s);
		if (memchr(st, ':', stlen))
			return "host range must be begin:end or begin:end:step";
	}
	const char *b = blen ? s : "0";
	if (!blen)
		blen = 1;
	if (elen == 0)
		return "host range must specify end value";
	r->width = 0;
	if (b[0] == '0' && blen > 1) {
		if (blen != elen)
			return "host range must specify equal-length begin and end formats";
		r->width = blen;
	}
	r->step = 1;
	if (st && (!parse_num(st, stlen, &r->step) || r->step == 0))
		return "host range step must be a positive number";
	const char *lb = blen == 1 ? strchr(letters, b[0]) : NULL;
	const char *le = elen == 1 ? strchr(letters, e[0]) : NULL;
	if (lb && le && b[0] && e[0]) {
		if (lb > le)
			return "host range must have begin <= end";
		r->alpha = 1;
		r->beg = (unsigned long long)(lb - letters);
		r->count = (unsigned long long)(le - lb) / r->step + 1;
		return NULL;
	}
	unsigned long long end;
	r->alpha = 0;
	if (!parse_num(b, blen, &r->beg) || !parse_num(e, elen, &end))
		return "host range bounds must be numbers or single letters";
	if (r->beg > end)
		return "host range is empty (begin > end)";
	r->count = (end - r->beg) / r->step + 1;
	return NULL;
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_push(struct names *ns, char *s)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 8;
		ns->v = xrealloc(ns->v, ns->cap * sizeof *ns->v);
	}
	ns->v[ns->n++] = s;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* Expands every range of pat, leftmost outermost. */
static int expand_ranges(struct parser *P, const char *pat, struct names *out)
{
	struct hrange *rs = NULL;
	size_t nr = 0;
	const char *p = pat, *why = NULL;
	unsigned long long total = 1;

	if (strchr(pat, '|'))
		why = "'|' is not allowed in a host pattern";
	while (!why) {
		const char *open = strchr(p, '[');
		if (!open)
			break;
		const char *close = strchr(p, ']');
		if (!close || close < open) {
			why = close ? "']' before '['" : "missing ']'";
			break;
		}
		rs = xrealloc(rs, (nr + 1) * sizeof *rs);
		struct hrange *r = &rs[nr++];
		r->lit = p;
		r->litlen = (size_t)(open - p);
		why = parse_range(open + 1, (size_t)(close - open - 1), r);
		if (!why && r->count > INVENTORY_MAX_RANGE / total)
			why = "range too large";
		if (!why)
			total *= r->count;
		p = close + 1;
	}
	if (why) {
		int rc =
		    strcmp(why, "range too large")
			? fail(P, "invalid host range in '%s': %s", pat, why)
			: fail(P,
			       "invalid host range in '%s': range too large (ezk makes at most %d "
			       "hosts of one pattern)",
			       pat, INVENTORY_MAX_RANGE);
		free(rs);
		return rc;
	}
	/* an odometer over the ranges */
	unsigned long long *idx = xcalloc(nr ? nr : 1, sizeof *idx);
	struct buf b = BUF_INIT;
	for (;;) {
		buf_reset(&b);
		for (size_t i = 0; i < nr; i++) {
			buf_put(&b, rs[i].lit, rs[i].litlen);
			unsigned long long v = rs[i].beg + idx[i] * rs[i].step;
			if (rs[i].alpha)
				buf_putc(&b, letters[v]);
			else
				buf_printf(&b, "%0*llu", (int)rs[i].width, v);
		}
		buf_puts(&b, p);
		names_push(out, xstrdup(buf_cstr(&b)));
		size_t i = nr;
		while (i > 0 && ++idx[i - 1] == rs[i - 1].count)
			idx[--i] = 0;
		if (i == 0)
			break;
	}
	buf_free(&b);
	free(idx);
	free(rs);
	return 0;
}

/* ini.py's _expand_hostpattern(): names and a port (-1 if none). */
static int expand_hostpattern(struct parser *P, const char *tok, struct names *out, long *port)
{
	size_t n = strlen(tok), aoff, alen;
	char *pat;
	if (parse_address(tok, n, &aoff, &alen, port) == 0) {
		pat = xstrndup(tok + aoff, alen);
	} else {
		pat = xstrdup(tok);
		*port = -1;
	}
	if (*port > 65535) {
		fail(P, "invalid port in host pattern '%s'", tok);
		free(pat);
		return -1;
	}
	int rc = 0;
	if (strchr(pat, '['))
		rc = expand_ranges(P, pat, out);
	else
		names_push(out, xstrdup(pat));
	free(pat);
	if (rc < 0)
		return -1;
	const char *t = tok;
	size_t tn = n;
	strip(&t, &tn);
	if (tn > 0 && t[tn - 1] == ':' && *port < 0)
		return fail(
		    P,
		    "Invalid host pattern '%s' supplied, ending in ':' is not allowed, this "
		    "character is reserved to provide a port.",
		    tok);
	for (size_t i = 0; i < out->n; i++) {
		const char *h = out->v[i];
		size_t hn = strlen(h);
		strip(&h, &hn);
		if (hn == 3 && memcmp(h, "---", 3) == 0)
			return fail(P,
				    "Invalid host pattern '%s' supplied, '---' is normally a sign "
				    "this is a YAML file.",
				    tok);
		if (!out->v[i][0])
			return fail(P, "Invalid empty host name provided");
	}
	return 0;
}

static int do_host_line(struct parser *P, const char *s, size_t n)
{
	struct inventory *inv = P->inv;
	struct idxv src = {0}, quote = {0}, end = {0};
	struct toks t = {BUF_INIT, {0}, NULL, NULL, NULL};
	if (P->spans)
		t.src = &src, t.quote = &quote, t.end = &end;
	struct names names = {0};
	struct value **vals = NULL;
	const char *why = NULL;
	long port = -1;
	int rc = -1;

	if (shlex_split(s, n, &t, &why) < 0) {
		fail(P, "Error parsing host definition '%.*s': %s", (int)n, s, why);
		goto out;
	}
	if (t.off.n == 0) {
		fail(P, "Expected a host definition, got: %.*s", (int)n, s);
		goto out;
	}
	if (expand_hostpattern(P, t.b.s + t.off.v[0], &names, &port) < 0)
		goto out;
	size_t nv = t.off.n - 1;
	vals = xcalloc(nv ? nv : 1, sizeof *vals);
	for (size_t i = 0; i < nv; i++) {
		char *tok = t.b.s + t.off.v[i + 1];
		char *eq = strchr(tok, '=');
		if (!eq) {
			fail(P, "Expected key=value host variable assignment, got: %s", tok);
			goto out;
		}
		if (P->spans) {
			/* the value's bytes in the text: from just after the
			 * '=' to the token's end */
			size_t o = (size_t)(eq - t.b.s), base = (size_t)(s - P->text);
			var_spans_add(P->spans, tok, (size_t)(eq - tok), base + src.v[o] + 1,
				      base + end.v[i + 1], (char)quote.v[o]);
		}
		*eq = '\0'; /* tok is now the key */
		vals[i] = pyliteral_value(eq + 1, strlen(eq + 1), inv->path, P->line);
	}
	for (size_t j = 0; j < names.n; j++) {
		if (inv->nhosts >= INVENTORY_MAX_HOSTS && strtab_get(&inv->htab, names.v[j]) < 0) {
			fail(P, "more than %d hosts; ezk refuses an inventory this large",
			     INVENTORY_MAX_HOSTS);
			goto out;
		}
		size_t h = host_add(inv, names.v[j], P->line, port);
		group_add_host(inv, P->cur, h);
		/* InventoryData.set_variable() looks the name up among the
		 * groups first: a host named like a group gives its variables
		 * to the group. Ansible warns; ezk copies the behaviour. */
		long same = strtab_get(&inv->gtab, names.v[j]);
		for (size_t i = 0; i < nv; i++) {
			const char *key = t.b.s + t.off.v[i + 1];
			if (same < 0)
				value_map_set(inv->hosts[h].vars, key, value_ref(vals[i]));
			else if (group_set_var(P, (size_t)same, key, value_ref(vals[i])) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (vals)
		for (size_t i = 0; i + 1 < t.off.n; i++)
			value_unref(vals[i]);
	free(vals);
	names_free(&names);
	buf_free(&t.b);
	free(t.off.v);
	free(src.v);
	free(quote.v);
	free(end.v);
	return rc;
}

static int do_line(struct parser *P, const char *s, size_t n)
{
	strip(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (memchr(s, '\0', n))
		return fail(P, "NUL byte in inventory line");
	if (!py_utf8_valid(s, n))
		return fail(P, "invalid UTF-8 in inventory line");
	if (s[0] == '[') {
		size_t namelen, taglen;
		const char *tag;
		if (match_header(s, n, &namelen, &tag, &taglen))
			return do_header(P, s, n, namelen, tag, taglen);
		/* Not a header, so Ansible reads a host line: "[10.0.0.1]:22" and
		 * "[fe80::1]:22" are hosts. Lines that cannot be hosts get a
		 * clearer message than the range error Ansible would give. */
		size_t w = 0;
		while (w < n && s[w] != ' ' && s[w] != '\t')
			w++;
		if (!memchr(s, ']', n))
			return fail(P, "unterminated group header: %.*s", (int)n, s);
		if (s[n - 1] == ']' || (s[w - 1] == ']' && !memchr(s, ':', w)))
			return fail(
			    P,
			    "Invalid section entry: '%.*s'. Please make sure that there are "
			    "no spaces in the section entry, and that there are no other "
			    "invalid characters",
			    (int)n, s);
	}
	switch (P->state) {
	case S_HOSTS: return do_host_line(P, s, n);
	case S_VARS: return do_vars_line(P, s, n);
	case S_CHILDREN: return do_children_line(P, s, n);
	}
	return 0;
}

/* ---- after the last line: reconcile_inventory() ---- */

/* Collects host h's groups (direct ones and their ancestors) into *out,
 * using mark/stamp to skip repeats. */
static void host_closure(struct parser *P, size_t h, struct idxv *out)
{
	struct inventory *inv = P->inv;
	struct idxv stack = {0};
	out->n = 0;
	next_stamp(P);
	for (size_t i = 0; i < inv->hosts[h].direct.n; i++) {
		size_t g = inv->hosts[h].direct.v[i];
		if (P->mark[g] != P->stamp) {
			P->mark[g] = P->stamp;
			idxv_push(&stack, g);
		}
	}
	while (stack.n) {
		size_t g = stack.v[--stack.n];
		idxv_push(out, g);
		const struct idxv *ps = &inv->groups[g].parents;
		for (size_t i = 0; i < ps->n; i++) {
			if (P->mark[ps->v[i]] != P->stamp) {
				P->mark[ps->v[i]] = P->stamp;
				idxv_push(&stack, ps->v[i]);
			}
		}
	}
	free(stack.v);
}

static int cmp_group_ptr(const void *a, const void *b)
{
	const struct igroup *x = *(struct igroup *const *)a, *y = *(struct igroup *const *)b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static int reconcile(struct parser *P)
{
	struct inventory *inv = P->inv;
	size_t G = inv->ngroups;

	/* ensure all groups inherit from 'all' */
	for (size_t g = 1; g < G; g++)
		if (inv->groups[g].parents.n == 0) {
			idxv_push(&inv->groups[G_ALL].children, g);
			idxv_push(&inv->groups[g].parents, G_ALL);
		}

	/* 'ungrouped' holds exactly the hosts in no other group */
	struct idxv cl = {0};
	int removed = 0;
	for (size_t h = 0; h < inv->nhosts; h++) {
		struct ihost *host = &inv->hosts[h];
		host_closure(P, h, &cl);
		int other = 0, has_all = 0;
		for (size_t i = 0; i < cl.n; i++) {
			if (cl.v[i] == G_ALL)
				has_all = 1;
			else if (cl.v[i] != G_UNGROUPED)
				other = 1;
		}
		if (idxv_has(&host->direct, G_UNGROUPED)) {
			if (other) {
				size_t k = 0;
				for (size_t i = 0; i < host->direct.n; i++)
					if (host->direct.v[i] != G_UNGROUPED)
						host->direct.v[k++] = host->direct.v[i];
				host->direct.n = k;
				removed = 1;
			}
		} else if (cl.n == 0 || (cl.n == 1 && has_all)) {
			/* Ansible calls add_child('ungrouped', name), which takes
			 * a group of the same name over the host: copied. */
			long same = strtab_get(&inv->gtab, host->name);
			if (same < 0)
				group_add_host(inv, G_UNGROUPED, h);
			else if (add_child(P, G_UNGROUPED, (size_t)same, host->line) < 0) {
				free(cl.v);
				return -1;
			}
		}
	}
	if (removed) {
		struct idxv *uh = &inv->groups[G_UNGROUPED].hosts;
		size_t k = 0;
		for (size_t i = 0; i < uh->n; i++)
			if (idxv_has(&inv->hosts[uh->v[i]].direct, G_UNGROUPED))
				uh->v[k++] = uh->v[i];
		uh->n = k;
	}

	/* depth: the longest path from 'all' (Kahn's order over the DAG) */
	size_t *indeg = xcalloc(G, sizeof *indeg), *queue = xcalloc(G, sizeof *queue);
	size_t qh = 0, qt = 0;
	for (size_t g = 0; g < G; g++)
		indeg[g] = inv->groups[g].parents.n;
	queue[qt++] = G_ALL;
	while (qh < qt) {
		struct igroup *g = &inv->groups[queue[qh++]];
		for (size_t i = 0; i < g->children.n; i++) {
			size_t c = g->children.v[i];
			if (inv->groups[c].depth < g->depth + 1)
				inv->groups[c].depth = g->depth + 1;
			if (--indeg[c] == 0)
				queue[qt++] = c;
		}
	}
	free(indeg);
	free(queue);

	/* precedence: rank every group once, then sort each host's groups */
	struct igroup **order = xcalloc(G, sizeof *order);
	size_t *rank = xcalloc(G, sizeof *rank);
	for (size_t g = 0; g < G; g++)
		order[g] = &inv->groups[g];
	qsort(order, G, sizeof *order, cmp_group_ptr);
	for (size_t r = 0; r < G; r++)
		rank[order[r] - inv->groups] = r;
	for (size_t h = 0; h < inv->nhosts; h++) {
		struct ihost *host = &inv->hosts[h];
		host_closure(P, h, &cl);
		for (size_t i = 0; i < cl.n; i++)
			cl.v[i] = rank[cl.v[i]];
		qsort(cl.v, cl.n, sizeof *cl.v, cmp_size);
		host->prec = xcalloc(cl.n ? cl.n : 1, sizeof *host->prec);
		for (size_t i = 0; i < cl.n; i++)
			host->prec[i] = (size_t)(order[cl.v[i]] - inv->groups);
		host->nprec = cl.n;
	}
	free(order);
	free(rank);
	free(cl.v);
	return 0;
}

struct inventory *inventory_parse(const char *text, size_t len, const char *path)
{
	return inventory_parse_spans(text, len, path, NULL);
}

struct inventory *inventory_parse_spans(const char *text, size_t len, const char *path,
					struct var_spans *spans)
{
	struct inventory *inv = xcalloc(1, sizeof *inv);
	struct parser P = {0};
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	if (!text)
		len = 0;
	int rc = 0;

	inv->path = src_intern(path ? path : "<inventory>");
	group_add(inv, "all", 3, 0);
	group_add(inv, "ungrouped", 9, 0);
	idxv_push(&inv->groups[G_ALL].children, G_UNGROUPED);
	idxv_push(&inv->groups[G_UNGROUPED].parents, G_ALL);

	P.inv = inv;
	P.path = inv->path;
	P.cur = G_UNGROUPED;
	P.state = S_HOSTS;
	P.text = (const char *)s;
	P.spans = spans;
	size_t spans0 = spans ? spans->n : 0;
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	size_t i = 0;
	while (i < len && rc == 0) {
		size_t start = i, brk = 0;
		while (i < len && (brk = line_break_at(s + i, len - i)) == 0)
			i++;
		P.line++;
		rc = do_line(&P, (const char *)s + start, i - start);
		i += brk;
	}
	/* groups named but never declared */
	for (size_t k = 0; k < P.npend && rc == 0; k++) {
		struct pending *p = &P.pend[k];
		if (!p->active)
			continue;
		P.line = p->line;
		if (p->state == S_VARS)
			rc = fail(&P, "Section [%s:vars] not valid for undefined group: %s",
				  p->name, p->name);
		else
			rc = fail(&P, "Section [%s:children] includes undefined group: %s",
				  inv->groups[p->parents.v[p->parents.n - 1]].name, p->name);
	}
	if (rc == 0)
		rc = reconcile(&P);
	for (size_t k = 0; k < P.npend; k++) {
		free(P.pend[k].name);
		free(P.pend[k].parents.v);
		free(P.pend[k].plines.v);
	}
	free(P.pend);
	strtab_free(&P.ptab);
	free(P.mark);
	if (rc < 0) {
		while (spans && spans->n > spans0)
			free(spans->v[--spans->n].key);
		inventory_free(inv);
		return NULL;
	}
	return inv;
}

struct inventory *inventory_load(const char *path)
{
	char *data;
	size_t len;
	if (file_read_input(path, INPUT_MAX_BYTES, &data, &len) < 0)
		return NULL;
	struct inventory *inv = inventory_parse(data, len, path);
	free(data);
	return inv;
}

/* ---- accessors ---- */

const char *inventory_path(const struct inventory *inv)
{
	return inv->path;
}

size_t inventory_nhosts(const struct inventory *inv)
{
	return inv->nhosts;
}

const char *inventory_host(const struct inventory *inv, size_t i)
{
	return i < inv->nhosts ? inv->hosts[i].name : NULL;
}

long inventory_host_find(const struct inventory *inv, const char *name)
{
	return strtab_get(&inv->htab, name);
}

struct value *inventory_host_vars(const struct inventory *inv, size_t i)
{
	return i < inv->nhosts ? inv->hosts[i].vars : NULL;
}

int inventory_host_line(const struct inventory *inv, size_t i)
{
	return i < inv->nhosts ? inv->hosts[i].line : 0;
}

size_t inventory_ngroups(const struct inventory *inv)
{
	return inv->ngroups;
}

const char *inventory_group(const struct inventory *inv, size_t g)
{
	return g < inv->ngroups ? inv->groups[g].name : NULL;
}

long inventory_group_find(const struct inventory *inv, const char *name)
{
	return strtab_get(&inv->gtab, name);
}

struct value *inventory_group_vars(const struct inventory *inv, size_t g)
{
	return g < inv->ngroups ? inv->groups[g].vars : NULL;
}

int inventory_group_line(const struct inventory *inv, size_t g)
{
	return g < inv->ngroups ? inv->groups[g].line : 0;
}

int inventory_group_depth(const struct inventory *inv, size_t g)
{
	return g < inv->ngroups ? inv->groups[g].depth : 0;
}

long inventory_group_priority(const struct inventory *inv, size_t g)
{
	return g < inv->ngroups ? inv->groups[g].priority : 1;
}

static size_t span(const struct idxv *a, const size_t **out)
{
	*out = a->v;
	return a->n;
}

size_t inventory_group_hosts(const struct inventory *inv, size_t g, const size_t **hosts)
{
	*hosts = NULL;
	return g < inv->ngroups ? span(&inv->groups[g].hosts, hosts) : 0;
}

size_t inventory_group_children(const struct inventory *inv, size_t g, const size_t **children)
{
	*children = NULL;
	return g < inv->ngroups ? span(&inv->groups[g].children, children) : 0;
}

size_t inventory_group_parents(const struct inventory *inv, size_t g, const size_t **parents)
{
	*parents = NULL;
	return g < inv->ngroups ? span(&inv->groups[g].parents, parents) : 0;
}

size_t inventory_host_groups(const struct inventory *inv, size_t host, const size_t **groups)
{
	if (host >= inv->nhosts) {
		*groups = NULL;
		return 0;
	}
	*groups = inv->hosts[host].prec;
	return inv->hosts[host].nprec;
}

/* ---- values ---- */

struct scratch {
	size_t *gmark, *hmark, stamp;
	struct idxv queue;
};

/* Group.get_hosts(): the group and its descendants breadth-first, each
 * group's direct hosts in order, without repeats. */
static struct value *group_hosts(const struct inventory *inv, size_t g, struct scratch *S)
{
	struct value *list = value_list();
	S->stamp++;
	S->queue.n = 0;
	idxv_push(&S->queue, g);
	S->gmark[g] = S->stamp;
	for (size_t q = 0; q < S->queue.n; q++) {
		const struct igroup *grp = &inv->groups[S->queue.v[q]];
		for (size_t i = 0; i < grp->children.n; i++) {
			size_t c = grp->children.v[i];
			if (S->gmark[c] != S->stamp) {
				S->gmark[c] = S->stamp;
				idxv_push(&S->queue, c);
			}
		}
		for (size_t i = 0; i < grp->hosts.n; i++) {
			size_t h = grp->hosts.v[i];
			if (S->hmark[h] != S->stamp) {
				S->hmark[h] = S->stamp;
				value_list_push(list, value_str(inv->hosts[h].name));
			}
		}
	}
	return list;
}

static void scratch_init(const struct inventory *inv, struct scratch *S)
{
	S->gmark = xcalloc(inv->ngroups + 1, sizeof *S->gmark);
	S->hmark = xcalloc(inv->nhosts + 1, sizeof *S->hmark);
	S->stamp = 0;
	S->queue = (struct idxv){0};
}

static void scratch_free(struct scratch *S)
{
	free(S->gmark);
	free(S->hmark);
	free(S->queue.v);
}

struct value *inventory_group_hosts_value(const struct inventory *inv, size_t g)
{
	if (g >= inv->ngroups)
		return value_list();
	struct scratch S;
	scratch_init(inv, &S);
	struct value *v = group_hosts(inv, g, &S);
	scratch_free(&S);
	return v;
}

struct value *inventory_groups_value(const struct inventory *inv)
{
	struct value *m = value_map();
	struct scratch S;
	scratch_init(inv, &S);
	for (size_t g = 0; g < inv->ngroups; g++)
		value_map_set(m, inv->groups[g].name, group_hosts(inv, g, &S));
	scratch_free(&S);
	return m;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct value *inventory_group_names(const struct inventory *inv, size_t host)
{
	struct value *list = value_list();
	if (host >= inv->nhosts)
		return list;
	const struct ihost *h = &inv->hosts[host];
	const char **names = xcalloc(h->nprec + 1, sizeof *names);
	size_t n = 0;
	for (size_t i = 0; i < h->nprec; i++)
		if (h->prec[i] != G_ALL)
			names[n++] = inv->groups[h->prec[i]].name;
	qsort(names, n, sizeof *names, cmp_str_ptr);
	for (size_t i = 0; i < n; i++)
		value_list_push(list, value_str(names[i]));
	free(names);
	return list;
}

static void merge_into(struct value *dst, const struct value *src)
{
	for (size_t i = 0; i < value_len(src); i++)
		value_map_set(dst, value_map_key(src, i), value_ref(value_map_val(src, i)));
}

struct value *inventory_host_merged_vars(const struct inventory *inv, size_t host)
{
	struct value *m = value_map();
	if (host >= inv->nhosts)
		return m;
	const struct ihost *h = &inv->hosts[host];
	for (size_t i = 0; i < h->nprec; i++)
		merge_into(m, inv->groups[h->prec[i]].vars);
	merge_into(m, h->vars);
	return m;
}

static void names_list(const struct inventory *inv, struct value *entry, const char *key,
		       const struct idxv *ids, int hosts)
{
	if (!ids->n)
		return;
	struct value *list = value_list();
	for (size_t i = 0; i < ids->n; i++)
		value_list_push(list, value_str(hosts ? inv->hosts[ids->v[i]].name
						      : inv->groups[ids->v[i]].name));
	value_map_set(entry, key, list);
}

/* cli/inventory.py's json_inventory() format_group() */
static void format_group(const struct inventory *inv, size_t g, struct value *out, char *seen)
{
	const struct igroup *grp = &inv->groups[g];
	struct value *entry = value_map();
	if (g != G_ALL)
		names_list(inv, entry, "hosts", &grp->hosts, 1);
	names_list(inv, entry, "children", &grp->children, 0);
	value_map_set(out, grp->name, entry);
	for (size_t i = 0; i < grp->children.n; i++) {
		size_t c = grp->children.v[i];
		if (!seen[c]) {
			seen[c] = 1;
			format_group(inv, c, out, seen);
		}
	}
	if (value_len(entry) == 0)
		value_map_del(out, grp->name);
}

struct value *inventory_list_value(const struct inventory *inv)
{
	struct value *out = value_map();
	char *seen = xcalloc(inv->ngroups + 1, 1);
	seen[G_ALL] = 1;
	format_group(inv, G_ALL, out, seen);
	free(seen);

	struct value *hostvars = value_map();
	struct value *all = inventory_group_hosts_value(inv, G_ALL);
	for (size_t i = 0; i < value_len(all); i++) {
		struct value *name = value_list_get(all, i);
		long h = inventory_host_find(inv, name->u.str.s);
		struct value *vars = inventory_host_merged_vars(inv, (size_t)h);
		if (value_len(vars))
			value_map_set(hostvars, name->u.str.s, vars);
		else
			value_unref(vars);
	}
	value_unref(all);
	struct value *meta = value_map();
	value_map_set(meta, "hostvars", hostvars);
	value_map_set(out, "_meta", meta);
	return out;
}
