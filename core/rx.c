/*
 * rx.c - Python-style regular expressions (rx.h): a parser to a
 * small tree, a compiler to instructions, and a backtracking machine with
 * an explicit stack and a step budget.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rx.h"

#define MAX_INST 20000	   /* instructions of a compiled pattern */
#define MAX_STEPS 5000000L /* instructions run by one search */

enum op {
	I_SET,
	I_BOL,
	I_EOL,
	I_BOS,
	I_EOS,
	I_WB,
	I_NWB,
	I_SPLIT,
	I_JMP,
	I_SAVE,
	I_MARK,
	I_CHECK,
	I_MATCH
};

struct inst {
	unsigned char op;
	int x, y; /* I_SET: set; I_SPLIT: preferred, other; I_JMP: to; I_SAVE/MARK/CHECK: slot */
};

struct set {
	unsigned char b[32];
};

struct rx {
	struct inst *code;
	int ncode;
	struct set *sets;
	int nsets;
	int ngroups, nmarks;
	bool multiline, anchored;
	char *names[RX_MAX_GROUPS + 1]; /* names[i]: group i's name or NULL */
};

/* ---- the tree ---- */

enum kind { N_EMPTY, N_SET, N_ASSERT, N_CAT, N_ALT, N_GROUP, N_REP };

struct node {
	enum kind k;
	int set;      /* N_SET */
	int op;	      /* N_ASSERT: I_BOL ... */
	int idx;      /* N_GROUP: its number */
	int min, max; /* N_REP: max -1 for no limit */
	bool greedy;
	struct node **kids;
	int nkids;
};

struct parser {
	const char *p;
	size_t n, pos;
	struct rx *r;
	bool icase;
	char *why;
	size_t whylen;
	bool bad;
	int depth;
};

static void bad(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct parser *ps, const char *fmt, ...)
{
	if (ps->bad)
		return;
	ps->bad = true;
	char m[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(ps->why, ps->whylen, "%s at position %zu", m, ps->pos);
}

static struct node *node(enum kind k)
{
	struct node *nd = xcalloc(1, sizeof *nd);
	nd->k = k;
	return nd;
}

static void add_kid(struct node *nd, struct node *kid)
{
	nd->kids = xrealloc(nd->kids, (size_t)(nd->nkids + 1) * sizeof *nd->kids);
	nd->kids[nd->nkids++] = kid;
}

static void node_free(struct node *nd)
{
	if (!nd)
		return;
	for (int i = 0; i < nd->nkids; i++)
		node_free(nd->kids[i]);
	free(nd->kids);
	free(nd);
}

static void set_add(struct set *s, int c)
{
	s->b[c >> 3] |= (unsigned char)(1 << (c & 7));
}

static bool set_has(const struct set *s, int c)
{
	return s->b[c >> 3] & (1 << (c & 7));
}

static bool is_word(int c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* the class of \d \w \s (and, negated, \D \W \S) */
static bool class_of(int e, struct set *s)
{
	int lo = tolower(e);
	if (lo != 'd' && lo != 'w' && lo != 's')
		return false;
	for (int c = 0; c < 256; c++) {
		bool in = lo == 'd'   ? (c >= '0' && c <= '9')
			  : lo == 'w' ? is_word(c)
				      : (c == ' ' || (c >= '\t' && c <= '\r'));
		if (in != (e != lo))
			set_add(s, c);
	}
	return true;
}

static int new_set(struct parser *ps, const struct set *s)
{
	struct rx *r = ps->r;
	struct set t = *s;
	if (ps->icase)
		for (int c = 'a'; c <= 'z'; c++)
			if (set_has(&t, c) || set_has(&t, toupper(c)))
				set_add(&t, c), set_add(&t, toupper(c));
	r->sets = xrealloc(r->sets, (size_t)(r->nsets + 1) * sizeof *r->sets);
	r->sets[r->nsets] = t;
	return r->nsets++;
}

static struct node *set_node(struct parser *ps, const struct set *s)
{
	struct node *nd = node(N_SET);
	nd->set = new_set(ps, s);
	return nd;
}

static int peek(struct parser *ps)
{
	return ps->pos < ps->n ? (unsigned char)ps->p[ps->pos] : -1;
}

/* An escape after "\" (pos at its letter): a class into s (returns 1), a
 * literal byte (returns 2, *lit), an anchor (returns 3, *lit the letter). */
static int escape(struct parser *ps, bool in_class, struct set *s, int *lit)
{
	int e = peek(ps);
	if (e < 0) {
		bad(ps, "trailing backslash");
		return 0;
	}
	ps->pos++;
	if (class_of(e, s))
		return 1;
	const char *from = "ntrfva0", *to = "\n\t\r\f\v\a";
	const char *k = strchr(from, e);
	if (k && e) {
		*lit = e == '0' ? 0 : to[k - from];
		return 2;
	}
	if (e == 'x') {
		if (ps->pos + 2 > ps->n || !isxdigit((unsigned char)ps->p[ps->pos]) ||
		    !isxdigit((unsigned char)ps->p[ps->pos + 1])) {
			bad(ps, "bad \\x escape");
			return 0;
		}
		char h[3] = {ps->p[ps->pos], ps->p[ps->pos + 1], 0};
		ps->pos += 2;
		*lit = (int)strtol(h, NULL, 16);
		return 2;
	}
	if (!in_class && strchr("bBAZ", e)) {
		*lit = e;
		return 3;
	}
	if (e == 'b') { /* in a class: backspace */
		*lit = '\b';
		return 2;
	}
	if (isdigit(e)) {
		bad(ps, "backreferences are not supported");
		return 0;
	}
	if (isalpha(e)) {
		bad(ps, "unsupported escape \\%c", e);
		return 0;
	}
	*lit = e;
	return 2;
}

static struct node *parse_class(struct parser *ps)
{
	struct set s = {{0}};
	bool neg = false, first = true;
	if (peek(ps) == '^')
		neg = true, ps->pos++;
	for (;;) {
		int c = peek(ps);
		if (c < 0) {
			bad(ps, "unterminated character set");
			return NULL;
		}
		if (c == ']' && !first) {
			ps->pos++;
			break;
		}
		first = false;
		int lo = -1, lit;
		if (c == '\\') {
			ps->pos++;
			int k = escape(ps, true, &s, &lit);
			if (!k)
				return NULL;
			if (k == 2)
				lo = lit;
		} else {
			lo = c;
			ps->pos++;
		}
		if (lo < 0)
			continue;
		int hi = lo;
		if (peek(ps) == '-' && ps->pos + 1 < ps->n && ps->p[ps->pos + 1] != ']') {
			ps->pos++;
			int c2 = peek(ps);
			if (c2 == '\\') {
				ps->pos++;
				struct set junk = {{0}};
				if (escape(ps, true, &junk, &hi) != 2) {
					bad(ps, "bad character range");
					return NULL;
				}
			} else {
				hi = c2;
				ps->pos++;
			}
			if (hi < lo) {
				bad(ps, "bad character range");
				return NULL;
			}
		}
		for (int x = lo; x <= hi; x++)
			set_add(&s, x);
	}
	if (neg)
		for (int i = 0; i < 32; i++)
			s.b[i] = (unsigned char)~s.b[i];
	return set_node(ps, &s);
}

static struct node *parse_alt(struct parser *ps);

static struct node *parse_atom(struct parser *ps)
{
	int c = peek(ps);
	struct set s = {{0}};
	if (c == '(') {
		ps->pos++;
		int idx = -1;
		char *name = NULL;
		if (peek(ps) == '?') {
			if (ps->pos + 1 < ps->n && ps->p[ps->pos + 1] == ':') {
				ps->pos += 2;
			} else if (ps->pos + 2 < ps->n && ps->p[ps->pos + 1] == 'P' &&
				   ps->p[ps->pos + 2] == '<') {
				size_t st = ps->pos + 3, e = st;
				while (e < ps->n &&
				       (isalnum((unsigned char)ps->p[e]) || ps->p[e] == '_'))
					e++;
				if (e == st || e >= ps->n || ps->p[e] != '>' ||
				    isdigit((unsigned char)ps->p[st])) {
					bad(ps, "bad group name");
					return NULL;
				}
				name = xstrndup(ps->p + st, e - st);
				ps->pos = e + 1;
				idx = 0;
			} else {
				bad(ps, "unsupported group (?%c",
				    ps->pos + 1 < ps->n ? ps->p[ps->pos + 1] : ' ');
				return NULL;
			}
		} else {
			idx = 0;
		}
		if (idx == 0) {
			if (ps->r->ngroups == RX_MAX_GROUPS) {
				free(name);
				bad(ps, "more than %d groups", RX_MAX_GROUPS);
				return NULL;
			}
			idx = ++ps->r->ngroups;
			ps->r->names[idx] = name;
		}
		if (++ps->depth > 100) {
			bad(ps, "groups nested too deeply");
			return NULL;
		}
		struct node *inner = parse_alt(ps);
		ps->depth--;
		if (!inner)
			return NULL;
		if (peek(ps) != ')') {
			node_free(inner);
			bad(ps, "missing )");
			return NULL;
		}
		ps->pos++;
		if (idx < 0)
			return inner;
		struct node *g = node(N_GROUP);
		g->idx = idx;
		add_kid(g, inner);
		return g;
	}
	ps->pos++;
	if (c == '[')
		return parse_class(ps);
	if (c == '.') {
		for (int x = 0; x < 256; x++)
			if (x != '\n')
				set_add(&s, x);
		return set_node(ps, &s);
	}
	if (c == '^' || c == '$') {
		struct node *a = node(N_ASSERT);
		a->op = c == '^' ? I_BOL : I_EOL;
		return a;
	}
	if (c == '\\') {
		int lit, k = escape(ps, false, &s, &lit);
		if (!k)
			return NULL;
		if (k == 3) {
			struct node *a = node(N_ASSERT);
			a->op = lit == 'b' ? I_WB : lit == 'B' ? I_NWB : lit == 'A' ? I_BOS : I_EOS;
			return a;
		}
		if (k == 2)
			set_add(&s, lit);
		return set_node(ps, &s);
	}
	if (c == '*' || c == '+' || c == '?') {
		ps->pos--;
		bad(ps, "nothing to repeat");
		return NULL;
	}
	set_add(&s, c);
	return set_node(ps, &s);
}

/* {m}, {m,}, {,n}, {m,n} at pos (after "{"): true and the bounds; false
 * when it is a literal "{" */
static bool braces(struct parser *ps, int *min, int *max)
{
	size_t i = ps->pos + 1;
	long a = -1, b = -1;
	bool comma = false;
	for (; i < ps->n && isdigit((unsigned char)ps->p[i]); i++)
		a = (a < 0 ? 0 : a) * 10 + (ps->p[i] - '0'), a = a > 100000 ? 100000 : a;
	if (i < ps->n && ps->p[i] == ',') {
		comma = true;
		for (i++; i < ps->n && isdigit((unsigned char)ps->p[i]); i++)
			b = (b < 0 ? 0 : b) * 10 + (ps->p[i] - '0'), b = b > 100000 ? 100000 : b;
	}
	if (i >= ps->n || ps->p[i] != '}' || (a < 0 && !comma) || (a < 0 && b < 0))
		return false;
	*min = a < 0 ? 0 : (int)a;
	*max = comma ? (int)b : (int)a;
	ps->pos = i + 1;
	return true;
}

static struct node *parse_rep(struct parser *ps)
{
	struct node *a = parse_atom(ps);
	while (a) {
		int c = peek(ps), min, max;
		if (c == '*')
			min = 0, max = -1, ps->pos++;
		else if (c == '+')
			min = 1, max = -1, ps->pos++;
		else if (c == '?')
			min = 0, max = 1, ps->pos++;
		else if (c == '{' && braces(ps, &min, &max)) {
			if (max >= 0 && max < min) {
				bad(ps, "min repeat greater than max repeat");
				break;
			}
		} else
			return a;
		if (a->k == N_ASSERT || a->k == N_REP) {
			bad(ps, "multiple repeat");
			break;
		}
		struct node *r = node(N_REP);
		r->min = min, r->max = max, r->greedy = true;
		if (peek(ps) == '?')
			r->greedy = false, ps->pos++;
		else if (peek(ps) == '+') {
			node_free(r);
			bad(ps, "multiple repeat");
			break;
		}
		add_kid(r, a);
		a = r;
	}
	node_free(a);
	return NULL;
}

static struct node *parse_cat(struct parser *ps)
{
	struct node *cat = node(N_CAT);
	while (ps->pos < ps->n && peek(ps) != '|' && peek(ps) != ')') {
		struct node *k = parse_rep(ps);
		if (!k) {
			node_free(cat);
			return NULL;
		}
		add_kid(cat, k);
	}
	return cat;
}

static struct node *parse_alt(struct parser *ps)
{
	struct node *first = parse_cat(ps);
	if (!first || peek(ps) != '|')
		return first;
	struct node *alt = node(N_ALT);
	add_kid(alt, first);
	while (peek(ps) == '|') {
		ps->pos++;
		struct node *k = parse_cat(ps);
		if (!k) {
			node_free(alt);
			return NULL;
		}
		add_kid(alt, k);
	}
	return alt;
}

/* ---- the code ---- */

struct emitter {
	struct rx *r;
	bool full;
};

static int emit(struct emitter *em, int op, int x, int y)
{
	struct rx *r = em->r;
	if (r->ncode >= MAX_INST) {
		em->full = true;
		return r->ncode - 1;
	}
	if (r->ncode % 256 == 0)
		r->code = xrealloc(r->code, (size_t)(r->ncode + 256) * sizeof *r->code);
	r->code[r->ncode] = (struct inst){(unsigned char)op, x, y};
	return r->ncode++;
}

static void gen(struct emitter *em, const struct node *nd);

/* e* (or e*?): the loop goes round again only when the last turn moved */
static void gen_star(struct emitter *em, const struct node *e, bool greedy)
{
	int mark = em->r->nmarks++;
	int split = emit(em, I_SPLIT, 0, 0);
	int body = emit(em, I_MARK, mark, 0);
	gen(em, e);
	int again = emit(em, I_SPLIT, 0, 0);
	int check = emit(em, I_CHECK, mark, 0);
	emit(em, I_JMP, body, 0);
	int out = em->r->ncode;
	if (em->full)
		return;
	struct inst *c = em->r->code;
	c[split].x = greedy ? body : out, c[split].y = greedy ? out : body;
	c[again].x = greedy ? check : out, c[again].y = greedy ? out : check;
}

static void gen(struct emitter *em, const struct node *nd)
{
	if (em->full)
		return;
	switch (nd->k) {
	case N_EMPTY: break;
	case N_SET: emit(em, I_SET, nd->set, 0); break;
	case N_ASSERT: emit(em, nd->op, 0, 0); break;
	case N_CAT:
		for (int i = 0; i < nd->nkids; i++)
			gen(em, nd->kids[i]);
		break;
	case N_ALT: {
		int jumps[nd->nkids];
		for (int i = 0; i < nd->nkids; i++) {
			int split = i + 1 < nd->nkids ? emit(em, I_SPLIT, 0, 0) : -1;
			if (split >= 0 && !em->full)
				em->r->code[split].x = em->r->ncode;
			gen(em, nd->kids[i]);
			jumps[i] = i + 1 < nd->nkids ? emit(em, I_JMP, 0, 0) : -1;
			if (split >= 0 && !em->full)
				em->r->code[split].y = em->r->ncode;
		}
		for (int i = 0; i + 1 < nd->nkids && !em->full; i++)
			em->r->code[jumps[i]].x = em->r->ncode;
		break;
	}
	case N_GROUP:
		emit(em, I_SAVE, 2 * nd->idx, 0);
		gen(em, nd->kids[0]);
		emit(em, I_SAVE, 2 * nd->idx + 1, 0);
		break;
	case N_REP: {
		const struct node *e = nd->kids[0];
		if (nd->min == 1 && nd->max < 0) {
			/* e+: e once, then as e* but without copying e */
			int mark = em->r->nmarks++;
			int body = emit(em, I_MARK, mark, 0);
			gen(em, e);
			int again = emit(em, I_SPLIT, 0, 0);
			int check = emit(em, I_CHECK, mark, 0);
			emit(em, I_JMP, body, 0);
			if (!em->full) {
				int out = em->r->ncode;
				em->r->code[again].x = nd->greedy ? check : out;
				em->r->code[again].y = nd->greedy ? out : check;
			}
			break;
		}
		if (nd->min > MAX_INST) {
			em->full = true;
			break;
		}
		for (int i = 0; i < nd->min && !em->full; i++)
			gen(em, e);
		if (nd->max < 0) {
			gen_star(em, e, nd->greedy);
			break;
		}
		/* up to max - min more, each optional */
		int nopt = nd->max - nd->min;
		if (nopt > MAX_INST) {
			em->full = true;
			break;
		}
		int *splits = xcalloc((size_t)nopt + 1, sizeof *splits);
		for (int i = 0; i < nopt && !em->full; i++) {
			splits[i] = emit(em, I_SPLIT, 0, 0);
			if (!em->full)
				em->r->code[splits[i]].x = em->r->ncode;
			gen(em, e);
		}
		for (int i = 0; i < nopt && !em->full; i++) {
			struct inst *s = &em->r->code[splits[i]];
			s->y = em->r->ncode;
			if (!nd->greedy) {
				int t = s->x;
				s->x = s->y, s->y = t;
			}
		}
		free(splits);
		break;
	}
	}
}

struct rx *rx_compile(const char *pattern, long len, int flags, char *why, size_t whylen)
{
	size_t n = len < 0 ? strlen(pattern) : (size_t)len;
	struct rx *r = xcalloc(1, sizeof *r);
	r->multiline = flags & RX_MULTILINE;
	struct parser ps = {pattern, n, 0, r, (flags & RX_ICASE) != 0, why, whylen, false, 0};
	if (n >= 4 && !memcmp(pattern, "(?i)", 4))
		ps.icase = true, ps.pos = 4;
	struct node *root = parse_alt(&ps);
	if (root && ps.pos < n)
		bad(&ps, "unbalanced )");
	if (!ps.bad) {
		struct emitter em = {r, false};
		emit(&em, I_SAVE, 0, 0);
		gen(&em, root);
		emit(&em, I_SAVE, 1, 0);
		emit(&em, I_MATCH, 0, 0);
		if (em.full)
			bad(&ps, "too much repetition (more than %d instructions)", MAX_INST);
		/* ^ first (not multiline) or \A: only a search at 0 can match */
		const struct node *f = root;
		while (f->k == N_CAT && f->nkids > 0)
			f = f->kids[0];
		r->anchored =
		    f->k == N_ASSERT && (f->op == I_BOS || (f->op == I_BOL && !r->multiline));
	}
	node_free(root);
	if (ps.bad) {
		rx_free(r);
		return NULL;
	}
	return r;
}

void rx_free(struct rx *r)
{
	if (!r)
		return;
	free(r->code);
	free(r->sets);
	for (int i = 0; i <= RX_MAX_GROUPS; i++)
		free(r->names[i]);
	free(r);
}

int rx_ngroups(const struct rx *r)
{
	return r->ngroups;
}

int rx_group(const struct rx *r, const char *name)
{
	for (int i = 1; i <= r->ngroups; i++)
		if (r->names[i] && !strcmp(r->names[i], name))
			return i;
	return -1;
}

/* ---- the machine ---- */

struct vm {
	const struct rx *r;
	const char *s;
	size_t n;
	int nslots;  /* 2 * (ngroups + 1) captures, then the loops' marks */
	long *stack; /* frames: pc, sp, slots[nslots] */
	size_t depth, cap;
	long steps;
};

static void push(struct vm *vm, long pc, long sp, const long *slots)
{
	size_t fr = (size_t)vm->nslots + 2;
	if (vm->depth + fr > vm->cap) {
		vm->cap = (vm->cap + fr) * 2;
		vm->stack = xrealloc(vm->stack, vm->cap * sizeof *vm->stack);
	}
	long *f = vm->stack + vm->depth;
	f[0] = pc, f[1] = sp;
	memcpy(f + 2, slots, (size_t)vm->nslots * sizeof *slots);
	vm->depth += fr;
}

static bool word_at(const struct vm *vm, long i)
{
	return i >= 0 && (size_t)i < vm->n && is_word((unsigned char)vm->s[i]);
}

/* run from pc 0 at sp: 1 matched (slots set), 0 not, -1 over budget */
static int run(struct vm *vm, long sp0, long *slots)
{
	const struct inst *code = vm->r->code;
	long n = (long)vm->n;
	vm->depth = 0;
	for (int i = 0; i < vm->nslots; i++)
		slots[i] = -1;
	push(vm, 0, sp0, slots);
	while (vm->depth) {
		size_t fr = (size_t)vm->nslots + 2;
		vm->depth -= fr;
		long *f = vm->stack + vm->depth;
		long pc = f[0], sp = f[1];
		memcpy(slots, f + 2, (size_t)vm->nslots * sizeof *slots);
		for (;;) {
			if (++vm->steps > MAX_STEPS)
				return -1;
			const struct inst *in = &code[pc];
			bool ok = true;
			switch (in->op) {
			case I_SET:
				ok = sp < n &&
				     set_has(&vm->r->sets[in->x], (unsigned char)vm->s[sp]);
				sp++;
				break;
			case I_BOL:
				ok = sp == 0 || (vm->r->multiline && vm->s[sp - 1] == '\n');
				break;
			case I_EOL:
				ok = sp == n ||
				     (vm->r->multiline ? vm->s[sp] == '\n'
						       : (sp == n - 1 && vm->s[sp] == '\n'));
				break;
			case I_BOS: ok = sp == 0; break;
			case I_EOS: ok = sp == n; break;
			case I_WB:
			case I_NWB:
				ok = (word_at(vm, sp - 1) != word_at(vm, sp)) == (in->op == I_WB);
				break;
			case I_SPLIT:
				push(vm, in->y, sp, slots);
				pc = in->x;
				continue;
			case I_JMP: pc = in->x; continue;
			case I_SAVE:
			case I_MARK:
				slots[in->op == I_MARK ? 2 * (vm->r->ngroups + 1) + in->x : in->x] =
				    sp;
				break;
			case I_CHECK: ok = slots[2 * (vm->r->ngroups + 1) + in->x] != sp; break;
			case I_MATCH: return 1;
			}
			if (!ok)
				break;
			pc++;
		}
	}
	return 0;
}

int rx_search(const struct rx *r, const char *s, size_t n, size_t from, struct rx_span *m,
	      size_t nm)
{
	struct vm vm = {r, s, n, 2 * (r->ngroups + 1) + r->nmarks, NULL, 0, 0, 0};
	long *slots = xcalloc((size_t)vm.nslots, sizeof *slots);
	int rc = 0;
	for (size_t st = from; st <= n && rc == 0; st++) {
		if (r->anchored && st > 0)
			break;
		rc = run(&vm, (long)st, slots);
	}
	if (rc > 0)
		for (size_t i = 0; i < nm; i++) {
			bool have =
			    i <= (size_t)r->ngroups && slots[2 * i] >= 0 && slots[2 * i + 1] >= 0;
			m[i].so = have ? slots[2 * i] : -1;
			m[i].eo = have ? slots[2 * i + 1] : -1;
		}
	free(vm.stack);
	free(slots);
	return rc;
}

int rx_expand(const struct rx *r, const char *t, size_t tn, const char *subj,
	      const struct rx_span *m, size_t nm, struct buf *out, char *why, size_t whylen)
{
	for (size_t i = 0; i < tn; i++) {
		char ch = t[i];
		if (ch != '\\' || i + 1 >= tn) {
			buf_putc(out, ch);
			continue;
		}
		char e = t[++i];
		long g = -1;
		if (isdigit((unsigned char)e)) {
			g = e - '0';
			if (i + 1 < tn && isdigit((unsigned char)t[i + 1]))
				g = g * 10 + (t[++i] - '0');
		} else if (e == 'g' && i + 1 < tn && t[i + 1] == '<') {
			size_t j = i + 2;
			while (j < tn && t[j] != '>')
				j++;
			if (j == i + 2 || j >= tn) {
				snprintf(why, whylen,
					 "bad group reference \\g<...> in the replacement");
				return -1;
			}
			char name[64];
			snprintf(name, sizeof name, "%.*s", (int)(j - i - 2), t + i + 2);
			char *end;
			g = strtol(name, &end, 10);
			if (*end || !isdigit((unsigned char)name[0]))
				g = rx_group(r, name);
			if (g < 0) {
				snprintf(why, whylen, "unknown group name '%s' in the replacement",
					 name);
				return -1;
			}
			i = j;
		} else {
			const char *k = strchr("ntrfva\\", e);
			if (k && e) {
				buf_putc(out, "\n\t\r\f\v\a\\"[k - "ntrfva\\"]);
			} else {
				buf_putc(out, '\\');
				buf_putc(out, e);
			}
			continue;
		}
		if (g > r->ngroups || (size_t)g >= nm) {
			snprintf(why, whylen, "invalid group reference %ld", g);
			return -1;
		}
		if (m[g].so >= 0)
			buf_put(out, subj + m[g].so, (size_t)(m[g].eo - m[g].so));
	}
	return 0;
}
