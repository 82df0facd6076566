/*
 * tmpl-parse.c - compiling a template, in two stages as in Jinja itself:
 *
 *   lex    source -> tokens: text, tag delimiters and, inside tags,
 *          names, literals and operators. Whitespace control and
 *          trim_blocks are applied here, to the text tokens.
 *   parse  tokens -> a tree of nodes (text, output, if, for, set) and
 *          expressions, allocated from one arena owned by the template.
 *          Recursive descent with Jinja's precedence levels.
 *
 * Also tmpl_compile, tmpl_free and tmpl_needed (template.h).
 */
#include "tmpl-int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Arena: every tree node and string of a template lives in one. */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		struct chunk *c = xmalloc(sizeof *c + cap);
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

/* ------------------------------------------------------------------ */
/* The tree (its types are in tmpl-int.h). */

const char *const tmpl_op_names[] = {
    "",	  "+",	"-",	  "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">",
    ">=", "in", "not in", "=", "(", ")",  "[", "]",  "{", "}",	",",  ".", ":",	 "|",
};

static void body_push(struct arena *a, struct body *b, struct node *n)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct node **v = arena_alloc(a, cap * sizeof *v);
		if (b->n)
			memcpy(v, b->v, b->n * sizeof *v);
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = n;
}

/* ------------------------------------------------------------------ */
/* Lexer */

enum ttype {
	T_TEXT,
	T_VBEGIN,
	T_VEND,
	T_BBEGIN,
	T_BEND,
	T_NAME,
	T_STR,
	T_INT,
	T_FLOAT,
	T_OP,
	T_EOF,
};

struct token {
	enum ttype t;
	int line;
	int op;
	const char *s; /* T_TEXT, T_NAME, T_STR: arena copy, NUL-terminated */
	size_t len;
	long long i;
	double f;
};

struct lexer {
	const char *src;
	size_t len, pos;
	const char *file;
	int start_line;
	size_t line_pos; /* line_at() cache */
	int line;
	struct arena *arena;
	struct token *toks;
	size_t n, cap;
	int trim_blocks;
};

static int syntax_error(const char *file, int line, const char *fmt, ...) EZK_PRINTF(3, 4);

static int syntax_error(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ezk_fail_at(file, line, "template syntax error: %s", msg);
}

static int line_at(struct lexer *lx, size_t off)
{
	if (off < lx->line_pos) {
		lx->line_pos = 0;
		lx->line = lx->start_line;
	}
	if (off > lx->len)
		off = lx->len;
	while (lx->line_pos < off) {
		if (lx->src[lx->line_pos] == '\n')
			lx->line++;
		lx->line_pos++;
	}
	return lx->line;
}

static struct token *push_tok(struct lexer *lx, enum ttype t, size_t off)
{
	if (lx->n == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 64;
		lx->toks = xrealloc(lx->toks, lx->cap * sizeof *lx->toks);
	}
	struct token *tk = &lx->toks[lx->n++];
	memset(tk, 0, sizeof *tk);
	tk->t = t;
	tk->line = line_at(lx, off);
	return tk;
}

int tmpl_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int starts(const struct lexer *lx, size_t at, const char *s)
{
	size_t n = strlen(s);
	return at <= lx->len && lx->len - at >= n && memcmp(lx->src + at, s, n) == 0;
}

static void push_text(struct lexer *lx, size_t from, size_t to)
{
	if (to <= from)
		return;
	struct token *tk = push_tok(lx, T_TEXT, from);
	tk->s = arena_strndup(lx->arena, lx->src + from, to - from);
	tk->len = to - from;
}

static void skip_newline(struct lexer *lx)
{
	if (starts(lx, lx->pos, "\n"))
		lx->pos++;
	else if (starts(lx, lx->pos, "\r\n"))
		lx->pos += 2;
}

/* The next "{{", "{%" or "{#" at or after from; len if none. */
static size_t find_open(const struct lexer *lx, size_t from)
{
	for (size_t i = from; i + 1 < lx->len; i++) {
		const char *p = memchr(lx->src + i, '{', lx->len - i - 1);
		if (!p)
			break;
		i = (size_t)(p - lx->src);
		char c = lx->src[i + 1];
		if (c == '{' || c == '%' || c == '#')
			return i;
	}
	return lx->len;
}

/* A string literal at lx->pos (on the quote), with Python's escapes. */
static int lex_string(struct lexer *lx)
{
	size_t start = lx->pos;
	char q = lx->src[lx->pos++];
	struct buf b = BUF_INIT;
	while (lx->pos < lx->len && lx->src[lx->pos] != q) {
		char c = lx->src[lx->pos++];
		if (c != '\\' || lx->pos >= lx->len) {
			buf_putc(&b, c);
			continue;
		}
		char e = lx->src[lx->pos++];
		int ndig = 0;
		switch (e) {
		case 'n': buf_putc(&b, '\n'); break;
		case 't': buf_putc(&b, '\t'); break;
		case 'r': buf_putc(&b, '\r'); break;
		case 'a': buf_putc(&b, '\a'); break;
		case 'b': buf_putc(&b, '\b'); break;
		case 'f': buf_putc(&b, '\f'); break;
		case 'v': buf_putc(&b, '\v'); break;
		case '\\': buf_putc(&b, '\\'); break;
		case '\'': buf_putc(&b, '\''); break;
		case '"': buf_putc(&b, '"'); break;
		case '\n': break; /* line continuation */
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7': {
			/* octal, as Python: '\1' is chr(1), so regex groups are '\\1' */
			unsigned v = (unsigned)(e - '0');
			for (int k = 0; k < 2 && lx->pos < lx->len && lx->src[lx->pos] >= '0' &&
					lx->src[lx->pos] <= '7';
			     k++)
				v = v * 8 + (unsigned)(lx->src[lx->pos++] - '0');
			buf_put_utf8(&b, v);
			break;
		}
		case 'x': ndig = 2; break;
		case 'u': ndig = 4; break;
		case 'U': ndig = 8; break;
		default:
			buf_putc(&b, '\\');
			buf_putc(&b, e);
			break;
		}
		if (ndig) {
			unsigned long cp = 0;
			for (int k = 0; k < ndig; k++) {
				int h = lx->pos < lx->len ? hex_value(lx->src[lx->pos]) : -1;
				if (h < 0) {
					buf_free(&b);
					return syntax_error(lx->file, line_at(lx, lx->pos),
							    "truncated \\%c escape in string", e);
				}
				cp = cp * 16 + (unsigned long)h;
				lx->pos++;
			}
			if (cp > 0x10ffff) {
				buf_free(&b);
				return syntax_error(lx->file, line_at(lx, lx->pos),
						    "escape \\%c out of range", e);
			}
			if (e == 'x')
				buf_putc(&b, (char)cp);
			else
				buf_put_utf8(&b, cp);
		}
	}
	if (lx->pos >= lx->len) {
		buf_free(&b);
		return syntax_error(lx->file, line_at(lx, start), "unterminated string");
	}
	lx->pos++;
	struct token *tk = push_tok(lx, T_STR, start);
	tk->len = b.len;
	tk->s = arena_strndup(lx->arena, b.s ? b.s : "", b.len);
	buf_free(&b);
	return 0;
}

static void lex_digits(struct lexer *lx, struct buf *b)
{
	const char *s = lx->src;
	while (lx->pos < lx->len &&
	       (isdigit((unsigned char)s[lx->pos]) || (s[lx->pos] == '_' && lx->pos + 1 < lx->len &&
						       isdigit((unsigned char)s[lx->pos + 1])))) {
		if (s[lx->pos] != '_')
			buf_putc(b, s[lx->pos]);
		lx->pos++;
	}
}

static int lex_number(struct lexer *lx)
{
	size_t start = lx->pos;
	/* After a dot (xs.0.1) only an integer: the item index. */
	int after_dot =
	    lx->n > 0 && lx->toks[lx->n - 1].t == T_OP && lx->toks[lx->n - 1].op == OP_DOT;
	int is_float = 0;
	const char *s = lx->src;
	struct buf b = BUF_INIT;
	lex_digits(lx, &b);
	if (!after_dot && lx->pos + 1 < lx->len && s[lx->pos] == '.' &&
	    isdigit((unsigned char)s[lx->pos + 1])) {
		is_float = 1;
		buf_putc(&b, '.');
		lx->pos++;
		lex_digits(lx, &b);
	}
	if (!after_dot && lx->pos < lx->len && (s[lx->pos] == 'e' || s[lx->pos] == 'E')) {
		size_t p = lx->pos + 1;
		if (p < lx->len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p < lx->len && isdigit((unsigned char)s[p])) {
			is_float = 1;
			buf_put(&b, s + lx->pos, p - lx->pos);
			lx->pos = p;
			lex_digits(lx, &b);
		}
	}
	struct token *tk = push_tok(lx, is_float ? T_FLOAT : T_INT, start);
	errno = 0;
	if (is_float) {
		tk->f = strtod(buf_cstr(&b), NULL);
	} else {
		tk->i = strtoll(buf_cstr(&b), NULL, 10);
		if (errno == ERANGE) {
			buf_free(&b);
			return syntax_error(lx->file, tk->line, "integer literal too large");
		}
	}
	buf_free(&b);
	return 0;
}

static int lex_op(struct lexer *lx, int *depth)
{
	static const struct {
		const char *s;
		int op;
	} ops[] = {
	    {"//", OP_FLOORDIV}, {"**", OP_POW},   {"==", OP_EQ},    {"!=", OP_NE},
	    {"<=", OP_LE},	 {">=", OP_GE},	   {"+", OP_ADD},    {"-", OP_SUB},
	    {"*", OP_MUL},	 {"/", OP_DIV},	   {"%", OP_MOD},    {"~", OP_TILDE},
	    {"<", OP_LT},	 {">", OP_GT},	   {"=", OP_ASSIGN}, {"(", OP_LPAREN},
	    {")", OP_RPAREN},	 {"[", OP_LBRACK}, {"]", OP_RBRACK}, {"{", OP_LBRACE},
	    {"}", OP_RBRACE},	 {",", OP_COMMA},  {".", OP_DOT},    {":", OP_COLON},
	    {"|", OP_PIPE},
	};
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		if (!starts(lx, lx->pos, ops[k].s))
			continue;
		struct token *tk = push_tok(lx, T_OP, lx->pos);
		tk->op = ops[k].op;
		lx->pos += strlen(ops[k].s);
		if (tk->op == OP_LPAREN || tk->op == OP_LBRACK || tk->op == OP_LBRACE)
			++*depth;
		else if ((tk->op == OP_RPAREN || tk->op == OP_RBRACK || tk->op == OP_RBRACE) &&
			 *depth > 0)
			--*depth;
		return 0;
	}
	unsigned char c = (unsigned char)lx->src[lx->pos];
	if (c >= 0x20 && c < 0x7f)
		return syntax_error(lx->file, line_at(lx, lx->pos), "unexpected character '%c'", c);
	return syntax_error(lx->file, line_at(lx, lx->pos), "unexpected byte 0x%02x", c);
}

/* The inside of a {{ }} or {% %} tag, up to and including its end. */
static int lex_tag(struct lexer *lx, char kind, int *strip_next, size_t tag_start)
{
	const char *end = kind == '{' ? "}}" : "%}";
	int depth = 0;
	for (;;) {
		while (lx->pos < lx->len && tmpl_is_space(lx->src[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->len)
			return syntax_error(
			    lx->file, line_at(lx, lx->len),
			    "unexpected end of template, expected '%s' to close the "
			    "tag opened on line %d",
			    end, line_at(lx, tag_start));
		if (depth == 0) {
			size_t p = lx->pos;
			int mark = lx->src[p] == '-' || (kind == '%' && lx->src[p] == '+');
			if (starts(lx, p + (size_t)mark, end)) {
				push_tok(lx, kind == '{' ? T_VEND : T_BEND, p);
				lx->pos = p + (size_t)mark + 2;
				if (mark && lx->src[p] == '-')
					*strip_next = 1;
				else if (kind == '%' && !mark && lx->trim_blocks)
					skip_newline(lx);
				return 0;
			}
		}
		char c = lx->src[lx->pos];
		if (isalpha((unsigned char)c) || c == '_') {
			size_t s = lx->pos;
			while (lx->pos < lx->len && (isalnum((unsigned char)lx->src[lx->pos]) ||
						     lx->src[lx->pos] == '_'))
				lx->pos++;
			struct token *tk = push_tok(lx, T_NAME, s);
			tk->len = lx->pos - s;
			tk->s = arena_strndup(lx->arena, lx->src + s, tk->len);
		} else if (isdigit((unsigned char)c)) {
			if (lex_number(lx) < 0)
				return -1;
		} else if (c == '\'' || c == '"') {
			if (lex_string(lx) < 0)
				return -1;
		} else if (lex_op(lx, &depth) < 0) {
			return -1;
		}
	}
}

/* After {% raw %}: everything up to {% endraw %} is text. */
static int lex_raw(struct lexer *lx, int *strip_next, int raw_line)
{
	size_t from = lx->pos;
	for (size_t i = find_open(lx, from); i < lx->len; i = find_open(lx, i + 1)) {
		if (lx->src[i + 1] != '%')
			continue;
		size_t p = i + 2;
		int lstrip = p < lx->len && lx->src[p] == '-';
		if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+'))
			p++;
		while (p < lx->len && tmpl_is_space(lx->src[p]))
			p++;
		if (!starts(lx, p, "endraw"))
			continue;
		p += 6;
		while (p < lx->len && tmpl_is_space(lx->src[p]))
			p++;
		int rstrip = p < lx->len && lx->src[p] == '-';
		int plus = p < lx->len && lx->src[p] == '+';
		if (!starts(lx, p + (size_t)(rstrip || plus), "%}"))
			continue;
		size_t ts = from, te = i;
		if (*strip_next)
			while (ts < te && tmpl_is_space(lx->src[ts]))
				ts++;
		if (lstrip)
			while (te > ts && tmpl_is_space(lx->src[te - 1]))
				te--;
		push_text(lx, ts, te);
		lx->pos = p + (size_t)(rstrip || plus) + 2;
		*strip_next = rstrip;
		if (!rstrip && !plus && lx->trim_blocks)
			skip_newline(lx);
		return 0;
	}
	return syntax_error(lx->file, raw_line, "missing {%% endraw %%} for the raw block");
}

static int lex(struct lexer *lx)
{
	int strip_next = 0;
	for (;;) {
		size_t p = find_open(lx, lx->pos);
		size_t ts = lx->pos, te = p;
		if (strip_next)
			while (ts < te && tmpl_is_space(lx->src[ts]))
				ts++;
		if (p + 2 < lx->len && lx->src[p + 2] == '-')
			while (te > ts && tmpl_is_space(lx->src[te - 1]))
				te--;
		push_text(lx, ts, te);
		strip_next = 0;
		if (p >= lx->len)
			break;
		char kind = lx->src[p + 1];
		size_t q = p + 2;
		if (q < lx->len && (lx->src[q] == '-' || lx->src[q] == '+'))
			q++;
		if (kind == '#') {
			const char *e =
			    q < lx->len ? memmem(lx->src + q, lx->len - q, "#}", 2) : NULL;
			if (!e)
				return syntax_error(lx->file, line_at(lx, p), "unclosed comment");
			size_t ep = (size_t)(e - lx->src);
			int mark = ep > q && (lx->src[ep - 1] == '-' || lx->src[ep - 1] == '+');
			strip_next = mark && lx->src[ep - 1] == '-';
			lx->pos = ep + 2;
			if (!mark && lx->trim_blocks)
				skip_newline(lx);
			continue;
		}
		size_t first = lx->n;
		push_tok(lx, kind == '{' ? T_VBEGIN : T_BBEGIN, p);
		lx->pos = q;
		if (lex_tag(lx, kind, &strip_next, p) < 0)
			return -1;
		if (kind == '%' && lx->n == first + 3 && lx->toks[first + 1].t == T_NAME &&
		    strcmp(lx->toks[first + 1].s, "raw") == 0) {
			int raw_line = lx->toks[first].line;
			lx->n = first;
			if (lex_raw(lx, &strip_next, raw_line) < 0)
				return -1;
		}
	}
	push_tok(lx, T_EOF, lx->len);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parser */

struct parser {
	struct token *t;
	size_t n, i;
	struct tmpl *tm;
	const char *file;
	int nest;
};

static struct token *peek(struct parser *p)
{
	return &p->t[p->i];
}

static struct token *peek2(struct parser *p)
{
	return &p->t[p->i + 1 < p->n ? p->i + 1 : p->i];
}

static struct token *next(struct parser *p)
{
	struct token *tk = &p->t[p->i];
	if (p->i + 1 < p->n)
		p->i++;
	return tk;
}

static int is_op(const struct token *tk, int op)
{
	return tk->t == T_OP && tk->op == op;
}

static int is_name(const struct token *tk, const char *s)
{
	return tk->t == T_NAME && strcmp(tk->s, s) == 0;
}

static const char *describe(const struct token *tk, char *buf, size_t n)
{
	switch (tk->t) {
	case T_TEXT: return "template text";
	case T_VBEGIN: return "'{{'";
	case T_VEND: return "'}}'";
	case T_BBEGIN: return "'{%'";
	case T_BEND: return "'%}'";
	case T_NAME: snprintf(buf, n, "'%.60s'", tk->s); return buf;
	case T_STR: return "a string";
	case T_INT: return "an integer";
	case T_FLOAT: return "a number";
	case T_OP: snprintf(buf, n, "'%s'", tmpl_op_names[tk->op]); return buf;
	case T_EOF: return "end of template";
	}
	return "?";
}

static int perr(struct parser *p, const struct token *tk, const char *fmt, ...) EZK_PRINTF(3, 4);

static int perr(struct parser *p, const struct token *tk, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return syntax_error(p->file, tk->line, "%s", msg);
}

static int unexpected(struct parser *p, const char *wanted)
{
	char b[80];
	struct token *tk = peek(p);
	return perr(p, tk, "expected %s, got %s", wanted, describe(tk, b, sizeof b));
}

static int expect_op(struct parser *p, int op)
{
	if (!is_op(peek(p), op)) {
		char w[16];
		snprintf(w, sizeof w, "'%s'", tmpl_op_names[op]);
		return unexpected(p, w);
	}
	next(p);
	return 0;
}

static int expect_end(struct parser *p, enum ttype t)
{
	if (peek(p)->t != t)
		return unexpected(p, t == T_BEND ? "end of statement '%}'"
						 : "end of print statement '}}'");
	next(p);
	return 0;
}

static int enter(struct parser *p)
{
	if (++p->nest > MAX_NEST)
		return perr(p, peek(p), "template nested too deeply (more than %d levels)",
			    MAX_NEST);
	return 0;
}

static struct expr *mk(struct parser *p, enum ekind k, int line)
{
	struct expr *e = arena_alloc(&p->tm->arena, sizeof *e);
	e->k = k;
	e->line = line;
	e->depth = 1;
	return e;
}

static struct value *keep_const(struct tmpl *t, struct value *v)
{
	if (t->nconsts == t->constcap) {
		t->constcap = t->constcap ? t->constcap * 2 : 16;
		t->consts = xrealloc(t->consts, t->constcap * sizeof *t->consts);
	}
	t->consts[t->nconsts++] = v;
	return v;
}

static struct expr *mk_const(struct parser *p, int line, struct value *v)
{
	struct expr *e = mk(p, E_CONST, line);
	e->v = keep_const(p->tm, v);
	return e;
}

/* Record the subtree depth; too deep a tree would overflow the stack of
 * the recursive evaluator. */
static struct expr *seal(struct parser *p, struct expr *e)
{
	int d = 0;
	struct expr *kids[3] = {e->a, e->b, e->c};
	for (int k = 0; k < 3; k++)
		if (kids[k] && kids[k]->depth > d)
			d = kids[k]->depth;
	for (size_t k = 0; k < e->nargs; k++)
		if (e->args[k].e && e->args[k].e->depth > d)
			d = e->args[k].e->depth;
	e->depth = d + 1;
	if (e->depth > MAX_EXPR_DEPTH) {
		syntax_error(p->file, e->line, "expression nested too deeply (more than %d levels)",
			     MAX_EXPR_DEPTH);
		return NULL;
	}
	return e;
}

static void add_arg(struct parser *p, struct expr *e, size_t *cap, const char *name, struct expr *a)
{
	if (e->nargs == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct arg *v = arena_alloc(&p->tm->arena, nc * sizeof *v);
		if (e->nargs)
			memcpy(v, e->args, e->nargs * sizeof *v);
		e->args = v;
		*cap = nc;
	}
	e->args[e->nargs].name = name;
	e->args[e->nargs].e = a;
	e->nargs++;
}

static struct expr *parse_expr(struct parser *p, int with_cond);
static struct expr *parse_unary(struct parser *p, int with_filter);

/* (a, b=c, ...) after the '(' was seen; appends to e->args. */
static int parse_call_args(struct parser *p, struct expr *e)
{
	size_t cap = 0;
	struct token *open = next(p); /* ( */
	while (!is_op(peek(p), OP_RPAREN)) {
		if (e->nargs) {
			if (expect_op(p, OP_COMMA) < 0)
				return -1;
			if (is_op(peek(p), OP_RPAREN))
				break;
		}
		const char *kw = NULL;
		if (peek(p)->t == T_NAME && is_op(peek2(p), OP_ASSIGN)) {
			kw = next(p)->s;
			next(p);
		} else {
			for (size_t k = 0; k < e->nargs; k++)
				if (e->args[k].name)
					return perr(p, peek(p),
						    "positional argument follows keyword argument");
		}
		if (peek(p)->t == T_EOF)
			return perr(p, open, "unclosed '('");
		struct expr *a = parse_expr(p, 1);
		if (!a)
			return -1;
		add_arg(p, e, &cap, kw, a);
	}
	next(p);
	return 0;
}

static struct expr *parse_primary(struct parser *p)
{
	struct token *tk = peek(p);
	char b[80];
	if (tk->t == T_NAME) {
		next(p);
		if (!strcmp(tk->s, "true") || !strcmp(tk->s, "True"))
			return mk_const(p, tk->line, value_bool(1));
		if (!strcmp(tk->s, "false") || !strcmp(tk->s, "False"))
			return mk_const(p, tk->line, value_bool(0));
		if (!strcmp(tk->s, "none") || !strcmp(tk->s, "None"))
			return mk_const(p, tk->line, value_null());
		static const char *const kw[] = {"and", "or", "not", "in", "is", "if", "else"};
		for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
			if (!strcmp(tk->s, kw[k])) {
				perr(p, tk, "expected an expression, got '%s'", tk->s);
				return NULL;
			}
		struct expr *e = mk(p, E_NAME, tk->line);
		e->name = tk->s;
		e->nlen = tk->len;
		return e;
	}
	if (tk->t == T_STR) {
		next(p);
		if (peek(p)->t != T_STR)
			return mk_const(p, tk->line, value_strn(tk->s, tk->len));
		struct buf s = BUF_INIT; /* 'a' 'b' is 'ab' */
		buf_put(&s, tk->s, tk->len);
		while (peek(p)->t == T_STR) {
			struct token *t2 = next(p);
			buf_put(&s, t2->s, t2->len);
		}
		size_t n = s.len;
		return mk_const(p, tk->line, value_str_take(buf_detach(&s), n));
	}
	if (tk->t == T_INT) {
		next(p);
		return mk_const(p, tk->line, value_int(tk->i));
	}
	if (tk->t == T_FLOAT) {
		next(p);
		return mk_const(p, tk->line, value_float(tk->f));
	}
	if (is_op(tk, OP_LPAREN) || is_op(tk, OP_LBRACK) || is_op(tk, OP_LBRACE)) {
		if (enter(p) < 0)
			return NULL;
		next(p);
		struct expr *e = NULL;
		size_t cap = 0;
		if (tk->op == OP_LPAREN) {
			/* (e) or a tuple, which is a list here */
			if (is_op(peek(p), OP_RPAREN)) {
				e = mk(p, E_LIST, tk->line);
			} else {
				struct expr *x = parse_expr(p, 1);
				if (!x)
					return NULL;
				if (!is_op(peek(p), OP_COMMA)) {
					e = x;
				} else {
					e = mk(p, E_LIST, tk->line);
					add_arg(p, e, &cap, NULL, x);
					while (is_op(peek(p), OP_COMMA)) {
						next(p);
						if (is_op(peek(p), OP_RPAREN))
							break;
						if (!(x = parse_expr(p, 1)))
							return NULL;
						add_arg(p, e, &cap, NULL, x);
					}
				}
			}
			if (expect_op(p, OP_RPAREN) < 0)
				return NULL;
		} else if (tk->op == OP_LBRACK) {
			e = mk(p, E_LIST, tk->line);
			while (!is_op(peek(p), OP_RBRACK)) {
				if (e->nargs && expect_op(p, OP_COMMA) < 0)
					return NULL;
				if (is_op(peek(p), OP_RBRACK))
					break;
				struct expr *x = parse_expr(p, 1);
				if (!x)
					return NULL;
				add_arg(p, e, &cap, NULL, x);
			}
			next(p);
		} else {
			e = mk(p, E_DICT, tk->line);
			while (!is_op(peek(p), OP_RBRACE)) {
				if (e->nargs && expect_op(p, OP_COMMA) < 0)
					return NULL;
				if (is_op(peek(p), OP_RBRACE))
					break;
				struct expr *k = parse_expr(p, 1), *v;
				if (!k || expect_op(p, OP_COLON) < 0 || !(v = parse_expr(p, 1)))
					return NULL;
				add_arg(p, e, &cap, NULL, k);
				add_arg(p, e, &cap, NULL, v);
			}
			next(p);
		}
		p->nest--;
		return seal(p, e);
	}
	perr(p, tk, "expected an expression, got %s", describe(tk, b, sizeof b));
	return NULL;
}

static struct expr *parse_subscript(struct parser *p, struct expr *obj)
{
	struct token *open = next(p); /* [ */
	struct expr *parts[3] = {NULL, NULL, NULL};
	int slice = 0;
	if (!is_op(peek(p), OP_COLON) && !(parts[0] = parse_expr(p, 1)))
		return NULL;
	if (is_op(peek(p), OP_COLON)) {
		slice = 1;
		next(p);
		if (!is_op(peek(p), OP_COLON) && !is_op(peek(p), OP_RBRACK) &&
		    !(parts[1] = parse_expr(p, 1)))
			return NULL;
		if (is_op(peek(p), OP_COLON)) {
			next(p);
			if (!is_op(peek(p), OP_RBRACK) && !(parts[2] = parse_expr(p, 1)))
				return NULL;
		}
	}
	if (expect_op(p, OP_RBRACK) < 0)
		return NULL;
	struct expr *e = mk(p, slice ? E_SLICE : E_ITEM, open->line);
	e->a = obj;
	if (slice) {
		size_t cap = 0;
		for (int k = 0; k < 3; k++)
			add_arg(p, e, &cap, NULL, parts[k]);
	} else {
		e->b = parts[0];
	}
	return seal(p, e);
}

static struct expr *parse_postfix(struct parser *p, struct expr *e)
{
	for (;;) {
		struct token *tk = peek(p);
		if (is_op(tk, OP_DOT)) {
			next(p);
			struct token *nt = next(p);
			struct expr *x;
			if (nt->t == T_NAME) {
				x = mk(p, E_ATTR, nt->line);
				x->name = nt->s;
				x->nlen = nt->len;
				x->a = e;
			} else if (nt->t == T_INT) {
				x = mk(p, E_ITEM, nt->line);
				x->a = e;
				x->b = mk_const(p, nt->line, value_int(nt->i));
			} else {
				char b[80];
				perr(p, nt, "expected a name after '.', got %s",
				     describe(nt, b, sizeof b));
				return NULL;
			}
			if (!(e = seal(p, x)))
				return NULL;
		} else if (is_op(tk, OP_LBRACK)) {
			if (!(e = parse_subscript(p, e)))
				return NULL;
		} else if (is_op(tk, OP_LPAREN)) {
			struct expr *x;
			if (e->k == E_ATTR) {
				x = mk(p, E_METHOD, e->line);
				x->a = e->a;
				x->name = e->name;
				x->nlen = e->nlen;
			} else if (e->k == E_NAME) {
				x = mk(p, E_CALL, e->line);
				x->name = e->name;
				x->nlen = e->nlen;
			} else {
				perr(p, tk, "only methods and functions can be called");
				return NULL;
			}
			if (parse_call_args(p, x) < 0 || !(e = seal(p, x)))
				return NULL;
		} else {
			return e;
		}
	}
}

/* A filter or test name, possibly dotted (ansible.builtin.to_json). */
static const char *parse_dotted_name(struct parser *p, const char *what)
{
	struct token *tk = peek(p);
	if (tk->t != T_NAME) {
		unexpected(p, what);
		return NULL;
	}
	next(p);
	if (!is_op(peek(p), OP_DOT))
		return tk->s;
	struct buf b = BUF_INIT;
	buf_puts(&b, tk->s);
	while (is_op(peek(p), OP_DOT) && peek2(p)->t == T_NAME) {
		next(p);
		buf_putc(&b, '.');
		buf_puts(&b, next(p)->s);
	}
	const char *s = arena_strndup(&p->tm->arena, b.s, b.len);
	buf_free(&b);
	return s;
}

static const char *strip_namespace(const char *name)
{
	static const char *const ns[] = {"ansible.builtin.", "ansible.legacy."};
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
		if (!strncmp(name, ns[k], strlen(ns[k])))
			return name + strlen(ns[k]);
	return name;
}

static struct expr *parse_filter_expr(struct parser *p, struct expr *e)
{
	for (;;) {
		struct token *tk = peek(p);
		if (is_op(tk, OP_PIPE)) {
			next(p);
			struct token *nt = peek(p);
			const char *name = parse_dotted_name(p, "a filter name");
			if (!name)
				return NULL;
			/* an unknown filter fails when evaluated, as Ansible only
			 * notices when it renders the value */
			struct expr *x = mk(p, E_FILTER, nt->line);
			x->op = tmpl_find_filter(strip_namespace(name));
			x->name = name;
			x->a = e;
			if (is_op(peek(p), OP_LPAREN) && parse_call_args(p, x) < 0)
				return NULL;
			if (!(e = seal(p, x)))
				return NULL;
		} else if (is_name(tk, "is")) {
			next(p);
			int neg = 0;
			if (is_name(peek(p), "not")) {
				next(p);
				neg = 1;
			}
			struct token *nt = peek(p);
			const char *name = parse_dotted_name(p, "a test name");
			if (!name)
				return NULL;
			struct expr *x = mk(p, E_TEST, nt->line);
			x->op = tmpl_find_test(strip_namespace(name));
			x->neg = neg;
			x->name = name;
			x->a = e;
			struct token *at = peek(p);
			if (is_op(at, OP_LPAREN)) {
				if (parse_call_args(p, x) < 0)
					return NULL;
			} else if ((at->t == T_NAME || at->t == T_STR || at->t == T_INT ||
				    at->t == T_FLOAT || is_op(at, OP_LBRACK) ||
				    is_op(at, OP_LBRACE)) &&
				   !is_name(at, "else") && !is_name(at, "or") &&
				   !is_name(at, "and") && !is_name(at, "if") &&
				   !is_name(at, "is") && !is_name(at, "in") &&
				   !is_name(at, "not")) {
				/* `x is divisibleby 3`: one argument without parentheses */
				struct expr *a = parse_primary(p);
				if (!a || !(a = parse_postfix(p, a)))
					return NULL;
				size_t cap = 0;
				add_arg(p, x, &cap, NULL, a);
			}
			if (!(e = seal(p, x)))
				return NULL;
		} else {
			return e;
		}
	}
}

static struct expr *parse_unary(struct parser *p, int with_filter)
{
	struct token *tk = peek(p);
	struct expr *e;
	if (is_op(tk, OP_SUB) || is_op(tk, OP_ADD)) {
		if (enter(p) < 0)
			return NULL;
		next(p);
		struct expr *x = parse_unary(p, 0);
		if (!x)
			return NULL;
		p->nest--;
		e = mk(p, tk->op == OP_SUB ? E_NEG : E_POS, tk->line);
		e->a = x;
		if (!seal(p, e))
			return NULL;
	} else if (!(e = parse_primary(p))) {
		return NULL;
	}
	if (!(e = parse_postfix(p, e)))
		return NULL;
	if (with_filter)
		e = parse_filter_expr(p, e);
	return e;
}

static struct expr *mk_bin(struct parser *p, enum ekind k, int op, int line, struct expr *a,
			   struct expr *b)
{
	struct expr *e = mk(p, k, line);
	e->op = op;
	e->a = a;
	e->b = b;
	return seal(p, e);
}

static struct expr *parse_pow(struct parser *p)
{
	struct expr *e = parse_unary(p, 1);
	while (e && is_op(peek(p), OP_POW)) {
		struct token *tk = next(p);
		struct expr *r = parse_unary(p, 1);
		e = r ? mk_bin(p, E_BIN, OP_POW, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_math2(struct parser *p)
{
	struct expr *e = parse_pow(p);
	while (e && (is_op(peek(p), OP_MUL) || is_op(peek(p), OP_DIV) ||
		     is_op(peek(p), OP_FLOORDIV) || is_op(peek(p), OP_MOD))) {
		struct token *tk = next(p);
		struct expr *r = parse_pow(p);
		e = r ? mk_bin(p, E_BIN, tk->op, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_concat(struct parser *p)
{
	struct expr *e = parse_math2(p);
	while (e && is_op(peek(p), OP_TILDE)) {
		struct token *tk = next(p);
		struct expr *r = parse_math2(p);
		e = r ? mk_bin(p, E_BIN, OP_TILDE, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_math1(struct parser *p)
{
	struct expr *e = parse_concat(p);
	while (e && (is_op(peek(p), OP_ADD) || is_op(peek(p), OP_SUB))) {
		struct token *tk = next(p);
		struct expr *r = parse_concat(p);
		e = r ? mk_bin(p, E_BIN, tk->op, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_compare(struct parser *p)
{
	struct expr *e = parse_math1(p);
	if (!e)
		return NULL;
	struct expr *cmp = NULL;
	size_t cap = 0, opcap = 0;
	for (;;) {
		struct token *tk = peek(p);
		int op;
		if (tk->t == T_OP && tk->op >= OP_EQ && tk->op <= OP_GE) {
			op = tk->op;
			next(p);
		} else if (is_name(tk, "in")) {
			op = OP_IN;
			next(p);
		} else if (is_name(tk, "not") && is_name(peek2(p), "in")) {
			op = OP_NOTIN;
			next(p);
			next(p);
		} else {
			break;
		}
		struct expr *r = parse_math1(p);
		if (!r)
			return NULL;
		if (!cmp) {
			cmp = mk(p, E_CMP, tk->line);
			cmp->a = e;
		}
		if (cmp->nargs == opcap) {
			size_t nc = opcap ? opcap * 2 : 4;
			int *ops = arena_alloc(&p->tm->arena, nc * sizeof *ops);
			if (cmp->nargs)
				memcpy(ops, cmp->ops, cmp->nargs * sizeof *ops);
			cmp->ops = ops;
			opcap = nc;
		}
		cmp->ops[cmp->nargs] = op;
		add_arg(p, cmp, &cap, NULL, r);
	}
	return cmp ? seal(p, cmp) : e;
}

static struct expr *parse_not(struct parser *p)
{
	struct token *tk = peek(p);
	if (!is_name(tk, "not"))
		return parse_compare(p);
	if (enter(p) < 0)
		return NULL;
	next(p);
	struct expr *x = parse_not(p);
	if (!x)
		return NULL;
	p->nest--;
	struct expr *e = mk(p, E_NOT, tk->line);
	e->a = x;
	return seal(p, e);
}

static struct expr *parse_and(struct parser *p)
{
	struct expr *e = parse_not(p);
	while (e && is_name(peek(p), "and")) {
		struct token *tk = next(p);
		struct expr *r = parse_not(p);
		e = r ? mk_bin(p, E_AND, 0, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_or(struct parser *p)
{
	struct expr *e = parse_and(p);
	while (e && is_name(peek(p), "or")) {
		struct token *tk = next(p);
		struct expr *r = parse_and(p);
		e = r ? mk_bin(p, E_OR, 0, tk->line, e, r) : NULL;
	}
	return e;
}

static struct expr *parse_expr(struct parser *p, int with_cond)
{
	if (enter(p) < 0)
		return NULL;
	struct expr *e = parse_or(p);
	while (with_cond && e && is_name(peek(p), "if")) {
		struct token *tk = next(p);
		struct expr *c = parse_or(p), *els = NULL;
		if (!c)
			return NULL;
		if (is_name(peek(p), "else")) {
			next(p);
			if (!(els = parse_expr(p, 1)))
				return NULL;
		}
		struct expr *x = mk(p, E_COND, tk->line);
		x->a = c;
		x->b = e;
		x->c = els;
		e = seal(p, x);
	}
	p->nest--;
	return e;
}

/* An expression, or several separated by commas (a tuple, kept as a list). */
static struct expr *parse_tuple(struct parser *p, int with_cond)
{
	int line = peek(p)->line;
	struct expr *e = parse_expr(p, with_cond);
	if (!e || !is_op(peek(p), OP_COMMA))
		return e;
	struct expr *l = mk(p, E_LIST, line);
	size_t cap = 0;
	add_arg(p, l, &cap, NULL, e);
	while (is_op(peek(p), OP_COMMA)) {
		next(p);
		struct token *tk = peek(p);
		if (tk->t == T_VEND || tk->t == T_BEND)
			break;
		if (!(e = parse_expr(p, with_cond)))
			return NULL;
		add_arg(p, l, &cap, NULL, e);
	}
	return seal(p, l);
}

static int parse_body(struct parser *p, struct body *out, const char *const *ends,
		      const char **found, const struct token *opener);

/* One or two names: `x`, `k, v` or `(k, v)`. */
static int parse_targets(struct parser *p, struct node *n, const char *stmt)
{
	int paren = is_op(peek(p), OP_LPAREN);
	if (paren)
		next(p);
	for (;;) {
		struct token *tk = peek(p);
		if (tk->t != T_NAME)
			return unexpected(p, "a variable name");
		if (n->nnames == 2)
			return perr(p, tk, "at most two variables can be assigned by '%s'", stmt);
		static const char *const kw[] = {"in",	 "and",	  "or",	  "not",   "is",
						 "if",	 "else",  "true", "false", "none",
						 "True", "False", "None"};
		for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
			if (!strcmp(tk->s, kw[k]))
				return perr(p, tk, "cannot assign to '%s'", tk->s);
		next(p);
		n->names[n->nnames] = tk->s;
		n->nlens[n->nnames] = tk->len;
		n->nnames++;
		if (!is_op(peek(p), OP_COMMA))
			break;
		next(p);
	}
	return paren ? expect_op(p, OP_RPAREN) : 0;
}

static struct node *mk_node(struct parser *p, enum nkind k, int line)
{
	struct node *n = arena_alloc(&p->tm->arena, sizeof *n);
	n->k = k;
	n->line = line;
	return n;
}

static struct node *parse_if(struct parser *p, const struct token *tag)
{
	static const char *const ends[] = {"elif", "else", "endif", NULL};
	static const char *const ends2[] = {"endif", NULL};
	struct node *n = mk_node(p, N_IF, tag->line);
	size_t cap = 0;
	const char *found = "elif";
	while (!strcmp(found, "elif")) {
		struct expr *c = parse_tuple(p, 1);
		if (!c || expect_end(p, T_BEND) < 0)
			return NULL;
		if (n->nbr == cap) {
			size_t nc = cap ? cap * 2 : 2;
			struct branch *br = arena_alloc(&p->tm->arena, nc * sizeof *br);
			if (n->nbr)
				memcpy(br, n->br, n->nbr * sizeof *br);
			n->br = br;
			cap = nc;
		}
		struct branch *b = &n->br[n->nbr++];
		b->cond = c;
		if (parse_body(p, &b->body, ends, &found, tag) < 0)
			return NULL;
	}
	if (!strcmp(found, "else")) {
		if (expect_end(p, T_BEND) < 0 || parse_body(p, &n->els, ends2, &found, tag) < 0)
			return NULL;
	}
	return expect_end(p, T_BEND) < 0 ? NULL : n;
}

static struct node *parse_for(struct parser *p, const struct token *tag)
{
	static const char *const ends[] = {"else", "endfor", NULL};
	static const char *const ends2[] = {"endfor", NULL};
	struct node *n = mk_node(p, N_FOR, tag->line);
	const char *found;
	if (parse_targets(p, n, "for") < 0)
		return NULL;
	if (!is_name(peek(p), "in")) {
		unexpected(p, "'in'");
		return NULL;
	}
	next(p);
	if (!(n->e = parse_tuple(p, 0)))
		return NULL;
	if (is_name(peek(p), "if")) {
		next(p);
		if (!(n->filter = parse_expr(p, 1)))
			return NULL;
	}
	if (is_name(peek(p), "recursive")) {
		perr(p, peek(p), "recursive loops are not supported");
		return NULL;
	}
	if (expect_end(p, T_BEND) < 0 || parse_body(p, &n->body, ends, &found, tag) < 0)
		return NULL;
	if (!strcmp(found, "else")) {
		if (expect_end(p, T_BEND) < 0 || parse_body(p, &n->els, ends2, &found, tag) < 0)
			return NULL;
	}
	return expect_end(p, T_BEND) < 0 ? NULL : n;
}

static struct node *parse_set(struct parser *p, const struct token *tag)
{
	static const char *const ends[] = {"endset", NULL};
	struct node *n = mk_node(p, N_SET, tag->line);
	if (parse_targets(p, n, "set") < 0)
		return NULL;
	if (is_op(peek(p), OP_ASSIGN)) {
		next(p);
		if (!(n->e = parse_tuple(p, 1)) || expect_end(p, T_BEND) < 0)
			return NULL;
		return n;
	}
	if (n->nnames != 1) {
		unexpected(p, "'='");
		return NULL;
	}
	if (peek(p)->t != T_BEND) {
		unexpected(p, "'=' or '%}'");
		return NULL;
	}
	next(p);
	const char *found;
	n->k = N_SETBLOCK;
	if (parse_body(p, &n->body, ends, &found, tag) < 0 || expect_end(p, T_BEND) < 0)
		return NULL;
	return n;
}

static int parse_body(struct parser *p, struct body *out, const char *const *ends,
		      const char **found, const struct token *opener)
{
	if (enter(p) < 0)
		return -1;
	for (;;) {
		struct token *tk = peek(p);
		char b[80];
		/* the block being parsed: the name after opener's {% */
		const char *block = ends ? opener[1].s : NULL;
		if (tk->t == T_EOF) {
			if (!ends)
				break;
			size_t last = 0;
			while (ends[last + 1])
				last++;
			return perr(p, tk,
				    "unexpected end of template: the '%s' block opened on line %d "
				    "needs '{%% %s %%}'",
				    block, opener->line, ends[last]);
		}
		if (tk->t == T_TEXT) {
			next(p);
			struct node *n = mk_node(p, N_TEXT, tk->line);
			n->s = tk->s;
			n->len = tk->len;
			body_push(&p->tm->arena, out, n);
			continue;
		}
		if (tk->t == T_VBEGIN) {
			next(p);
			struct node *n = mk_node(p, N_OUT, tk->line);
			if (!(n->e = parse_tuple(p, 1)) || expect_end(p, T_VEND) < 0)
				return -1;
			body_push(&p->tm->arena, out, n);
			continue;
		}
		if (tk->t != T_BBEGIN)
			return perr(p, tk, "unexpected %s", describe(tk, b, sizeof b));
		next(p);
		struct token *nt = peek(p);
		if (nt->t != T_NAME)
			return unexpected(p, "a statement name");
		for (size_t k = 0; ends && ends[k]; k++)
			if (!strcmp(nt->s, ends[k])) {
				next(p);
				*found = ends[k];
				p->nest--;
				return 0;
			}
		next(p);
		struct node *n;
		if (!strcmp(nt->s, "if"))
			n = parse_if(p, tk);
		else if (!strcmp(nt->s, "for"))
			n = parse_for(p, tk);
		else if (!strcmp(nt->s, "set"))
			n = parse_set(p, tk);
		else if (!strcmp(nt->s, "elif") || !strcmp(nt->s, "else") ||
			 !strncmp(nt->s, "end", 3))
			return ends ? perr(p, nt,
					   "unexpected '{%% %s %%}' in the '%s' block opened on "
					   "line %d",
					   nt->s, block, opener->line)
				    : perr(p, nt, "unexpected '{%% %s %%}': no block is open",
					   nt->s);
		else
			return perr(p, nt, "unknown tag '%s'", nt->s);
		if (!n)
			return -1;
		body_push(&p->tm->arena, out, n);
	}
	p->nest--;
	return 0;
}

/* ------------------------------------------------------------------ */
/* API: compiling */

struct tmpl *tmpl_compile_ex(const char *src, size_t len, const char *file, int start_line,
			     int trim_blocks)
{
	struct tmpl *t = xcalloc(1, sizeof *t);
	t->file = xstrdup(file ? file : "<template>");
	struct lexer lx;
	memset(&lx, 0, sizeof lx);
	lx.src = src ? src : "";
	lx.len = src ? len : 0;
	lx.file = t->file;
	lx.start_line = lx.line = start_line > 0 ? start_line : 1;
	lx.arena = &t->arena;
	lx.trim_blocks = trim_blocks;
	if (lex(&lx) < 0)
		goto fail;
	struct parser p = {lx.toks, lx.n, 0, t, t->file, 0};
	if (parse_body(&p, &t->body, NULL, NULL, NULL) < 0)
		goto fail;
	free(lx.toks);
	if (t->body.n == 1 && t->body.v[0]->k == N_OUT)
		t->native = t->body.v[0]->e;
	return t;
fail:
	free(lx.toks);
	tmpl_free(t);
	return NULL;
}

struct tmpl *tmpl_compile(const char *src, size_t len, const char *file, int start_line)
{
	return tmpl_compile_ex(src, len, file, start_line, 0);
}

void tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nconsts; i++)
		value_unref(t->consts[i]);
	free(t->consts);
	arena_free(&t->arena);
	free(t->file);
	free(t);
}

int tmpl_needed(const char *s, size_t len)
{
	for (size_t i = 0; s && i + 1 < len; i++)
		if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
			return 1;
	return 0;
}
