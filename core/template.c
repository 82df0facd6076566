/*
 * template.c - a Jinja2 subset (see template.h).
 *
 * Three stages, as in Jinja itself:
 *
 *   lex    source -> tokens: text, tag delimiters and, inside tags,
 *          names, literals and operators. Whitespace control and
 *          trim_blocks are applied here, to the text tokens.
 *   parse  tokens -> a tree of nodes (text, output, if, for, set) and
 *          expressions, allocated from one arena owned by the template.
 *          Recursive descent with Jinja's precedence levels.
 *   eval   walk the tree with a per-render context: a stack of frames for
 *          {% set %} and loop variables, then env->lookup for the rest.
 *
 * The tree is never written after compilation, so one template may be
 * rendered from many threads; everything mutable lives in struct ctx on
 * the rendering thread's stack.
 *
 * Undefined is a value: an obj whose ops are undef_ops and whose ud is the
 * message to report ("'foo' is undefined"). It flows through attribute
 * access (as Ansible's AnsibleUndefined does), is accepted by `default` and
 * `is defined`, and is turned into an error wherever it is consumed. It
 * never gets into a list or map and never leaves this file.
 */
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define MAX_NEST 100	       /* parser recursion: parens, blocks */
#define MAX_EXPR_DEPTH 256     /* expression tree depth */
#define MAX_OUTPUT (16u << 20) /* bytes one render may produce */
#define MAX_STR (16u << 20)    /* bytes in one string value */
#define MAX_ITEMS 1000000      /* elements in one list value */
#define MAX_RANGE 100000       /* elements range() may produce */
#define MAX_STEPS 2000000ULL   /* work units per render */
#define MAX_REGEX 1024	       /* bytes in a regular expression */
#define STEPS_PER_ITEM 2       /* work units per list element built */

/* ------------------------------------------------------------------ */
/* Arena: every tree node and string of a template lives in one. */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
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
/* The tree. */

enum op {
	OP_NONE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_FLOORDIV,
	OP_MOD,
	OP_POW,
	OP_TILDE,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_NOTIN,
	OP_ASSIGN,
	OP_LPAREN,
	OP_RPAREN,
	OP_LBRACK,
	OP_RBRACK,
	OP_LBRACE,
	OP_RBRACE,
	OP_COMMA,
	OP_DOT,
	OP_COLON,
	OP_PIPE,
};

static const char *const op_names[] = {
    "",	  "+",	"-",	  "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">",
    ">=", "in", "not in", "=", "(", ")",  "[", "]",  "{", "}",	",",  ".", ":",	 "|",
};

enum ekind {
	E_CONST,
	E_NAME,
	E_ATTR,
	E_ITEM,
	E_SLICE,
	E_CALL,
	E_METHOD,
	E_FILTER,
	E_TEST,
	E_BIN,
	E_NEG,
	E_POS,
	E_NOT,
	E_AND,
	E_OR,
	E_COND,
	E_LIST,
	E_DICT,
	E_CMP,
};

struct expr;

struct arg {
	const char *name; /* keyword argument; NULL for positional */
	struct expr *e;
};

struct expr {
	enum ekind k;
	int line;
	int op;		  /* E_BIN operator; filter/test index */
	int neg;	  /* E_TEST: `is not` */
	int depth;	  /* of the subtree */
	const char *name; /* E_NAME, E_ATTR, E_METHOD, E_CALL */
	size_t nlen;
	struct value *v; /* E_CONST */
	struct expr *a, *b, *c;
	struct arg *args; /* call arguments, list items, dict k/v pairs, slice parts */
	size_t nargs;
	int *ops; /* E_CMP: ops[i] compares operand i-1 (a when i == 0) with args[i] */
};

enum nkind { N_TEXT, N_OUT, N_IF, N_FOR, N_SET, N_SETBLOCK };

struct node;

struct body {
	struct node **v;
	size_t n, cap;
};

struct branch {
	struct expr *cond;
	struct body body;
};

struct node {
	enum nkind k;
	int line;
	const char *s; /* N_TEXT */
	size_t len;
	struct expr *e;	      /* N_OUT, N_FOR iterable, N_SET value */
	struct expr *filter;  /* N_FOR `if` */
	const char *names[2]; /* N_FOR targets, N_SET name */
	size_t nlens[2];
	int nnames;
	struct branch *br; /* N_IF: if and elifs */
	size_t nbr;
	struct body body; /* N_FOR, N_SETBLOCK */
	struct body els;  /* N_IF, N_FOR */
};

struct tmpl {
	struct arena arena;
	struct value **consts;
	size_t nconsts, constcap;
	char *file;
	struct body body;
	const struct expr *native; /* the expression when the template is one {{ expr }} */
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

static int is_space(char c)
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_putc(b, (char)(0xc0 | (cp >> 6)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(b, (char)(0xe0 | (cp >> 12)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | (cp >> 18)));
		buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
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
			put_utf8(&b, v);
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
				int h = lx->pos < lx->len ? hexval(lx->src[lx->pos]) : -1;
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
				put_utf8(&b, cp);
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
		while (lx->pos < lx->len && is_space(lx->src[lx->pos]))
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
		while (p < lx->len && is_space(lx->src[p]))
			p++;
		if (!starts(lx, p, "endraw"))
			continue;
		p += 6;
		while (p < lx->len && is_space(lx->src[p]))
			p++;
		int rstrip = p < lx->len && lx->src[p] == '-';
		int plus = p < lx->len && lx->src[p] == '+';
		if (!starts(lx, p + (size_t)(rstrip || plus), "%}"))
			continue;
		size_t ts = from, te = i;
		if (*strip_next)
			while (ts < te && is_space(lx->src[ts]))
				ts++;
		if (lstrip)
			while (te > ts && is_space(lx->src[te - 1]))
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
			while (ts < te && is_space(lx->src[ts]))
				ts++;
		if (p + 2 < lx->len && lx->src[p + 2] == '-')
			while (te > ts && is_space(lx->src[te - 1]))
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

static int find_filter(const char *name);
static int find_test(const char *name);

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
	case T_OP: snprintf(buf, n, "'%s'", op_names[tk->op]); return buf;
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
		snprintf(w, sizeof w, "'%s'", op_names[op]);
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
			x->op = find_filter(strip_namespace(name));
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
			x->op = find_test(strip_namespace(name));
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
/* Evaluation context */

struct var {
	const char *name;
	size_t len;
	struct value *v;
};

/* Variables bound by the template: the top level, and one frame per loop
 * iteration (so a {% set %} inside a loop does not leak out of it). */
struct frame {
	struct frame *up;
	struct var *vars; /* inl until more are needed */
	size_t n, cap;
	struct var inl[4];
	int has_loop;
	size_t loop_i, loop_n;
	struct value *loop_v; /* the `loop` map, built on first use */
};

struct ctx {
	const struct tmpl *t;
	const struct tmpl_env *env;
	struct frame *fr;
	unsigned long long steps;
	struct buf *out;
	size_t out_start;
};

static int efail(const struct ctx *c, int line, const char *fmt, ...) EZK_PRINTF(3, 4);

static int efail(const struct ctx *c, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ezk_fail_at(c->t->file, line, "%s", msg);
}

static int charge(struct ctx *c, int line, unsigned long long n)
{
	c->steps += n;
	if (c->steps > MAX_STEPS)
		return efail(c, line, "template too expensive: stopped after %llu steps",
			     MAX_STEPS);
	return 0;
}

/* The cost of a computed value: 1 per 16 bytes, STEPS_PER_ITEM per element. */
static int charge_value(struct ctx *c, int line, const struct value *v)
{
	switch (v->type) {
	case V_STR: return charge(c, line, v->u.str.len / 16);
	case V_LIST: return charge(c, line, v->u.list.n * STEPS_PER_ITEM);
	case V_MAP: return charge(c, line, value_len(v) * STEPS_PER_ITEM);
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

static int is_undef(const struct value *v)
{
	return v->type == V_OBJ && v->u.obj.ops == &undef_ops;
}

static struct value *mkundef(int line, const char *fmt, ...) EZK_PRINTF(2, 3);

static struct value *mkundef(int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return value_set_src(value_obj(&undef_ops, xstrdup(msg)), NULL, line);
}

static int raise_undef(const struct ctx *c, const struct value *u)
{
	return ezk_fail_at(c->t->file, u->line, "%s", (const char *)u->u.obj.ud);
}

/* v itself, or NULL with the error set if v is NULL or Undefined. */
static struct value *defined(const struct ctx *c, struct value *v)
{
	if (v && is_undef(v)) {
		raise_undef(c, v);
		value_unref(v);
		return NULL;
	}
	return v;
}

static const char *pyname(const struct value *v)
{
	switch (v->type) {
	case V_NULL: return "NoneType";
	case V_BOOL: return "bool";
	case V_INT: return "int";
	case V_FLOAT: return "float";
	case V_STR: return "str";
	case V_LIST: return "list";
	case V_MAP: return "dict";
	case V_OBJ: return is_undef(v) ? "Undefined" : v->u.obj.ops->name;
	}
	return "?";
}

/* Jinja's object_type_repr: "None", "dict object", ... */
static const char *type_repr(const struct value *v, char *b, size_t n)
{
	if (v->type == V_NULL)
		return "None";
	snprintf(b, n, "%s object", pyname(v));
	return b;
}

static int clip(size_t n)
{
	return n > 200 ? 200 : (int)n;
}

static int is_intlike(const struct value *v)
{
	return v->type == V_INT || v->type == V_BOOL;
}

static int is_num(const struct value *v)
{
	return is_intlike(v) || v->type == V_FLOAT;
}

static long long ival(const struct value *v)
{
	return v->type == V_INT ? v->u.i : v->u.b;
}

static double fval(const struct value *v)
{
	return v->type == V_FLOAT ? v->u.f : (double)ival(v);
}

/* A string view of any value: the bytes of a string, else its str(). */
struct sv {
	const char *s;
	size_t n;
	struct buf tmp;
};

static void sv_of(struct sv *sv, const struct value *v)
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

static void sv_free(struct sv *sv)
{
	buf_free(&sv->tmp);
}

static struct value *buf_value(struct buf *b)
{
	size_t n = b->len;
	return value_str_take(buf_detach(b), n);
}

static int str_limit(struct ctx *c, int line, size_t n)
{
	if (n > MAX_STR)
		return efail(c, line, "string too long (more than %u bytes)", MAX_STR);
	return charge(c, line, n / 64);
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
	return mkundef(e->line, "'%.*s' is undefined", clip(e->nlen), e->name);
}

/* o.key / o['key']: a new reference, an Undefined, or NULL on error. */
static struct value *get_key(struct ctx *c, int line, struct value *o, const char *k, size_t klen)
{
	char tr[80];
	if (is_undef(o))
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
	return mkundef(line, "'%s' has no attribute '%.*s'", type_repr(o, tr, sizeof tr),
		       clip(klen), k);
}

static struct value *get_index(struct ctx *c, int line, struct value *o, long long i)
{
	char tr[80];
	if (is_undef(o))
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
		return get_key(c, line, o, k, strlen(k));
	}
	return mkundef(line, "%s has no element %lld", type_repr(o, tr, sizeof tr), i);
}

static struct value *get_item(struct ctx *c, int line, struct value *o, struct value *k)
{
	char tr[80];
	if (is_undef(o))
		return value_ref(o);
	if (is_undef(k)) {
		raise_undef(c, k);
		return NULL;
	}
	if (is_intlike(k) && o->type != V_MAP && o->type != V_OBJ)
		return get_index(c, line, o, ival(k));
	if (k->type == V_STR)
		return get_key(c, line, o, k->u.str.s, k->u.str.len);
	if (k->type == V_LIST || k->type == V_MAP || k->type == V_OBJ) {
		if (o->type == V_MAP || o->type == V_OBJ) {
			efail(c, line, "unhashable type: '%s'", pyname(k));
			return NULL;
		}
		return mkundef(line, "%s has no element of type %s", type_repr(o, tr, sizeof tr),
			       pyname(k));
	}
	struct sv ks;
	sv_of(&ks, k);
	struct value *r;
	if (o->type == V_MAP || o->type == V_OBJ)
		r = get_key(c, line, o, ks.s, ks.n);
	else
		r = mkundef(line, "%s has no element %s", type_repr(o, tr, sizeof tr), ks.s);
	sv_free(&ks);
	return r;
}

/* Slicing with Python's rules. */
static int slice_arg(struct ctx *c, int line, struct value *v, long long *out, int *given)
{
	*given = 0;
	if (!v || v->type == V_NULL)
		return 0;
	if (!is_intlike(v))
		return efail(c, line, "slice indices must be integers or None, not %s", pyname(v));
	*out = ival(v);
	*given = 1;
	return 0;
}

static struct value *do_slice(struct ctx *c, int line, struct value *o, struct value *vs[3])
{
	long long start = 0, stop = 0, step = 1;
	int has_start, has_stop, has_step;
	if (o->type != V_LIST && o->type != V_STR) {
		efail(c, line, "'%s' object is not subscriptable with a slice", pyname(o));
		return NULL;
	}
	if (slice_arg(c, line, vs[0], &start, &has_start) < 0 ||
	    slice_arg(c, line, vs[1], &stop, &has_stop) < 0 ||
	    slice_arg(c, line, vs[2], &step, &has_step) < 0)
		return NULL;
	if (!has_step)
		step = 1;
	if (step == 0) {
		efail(c, line, "slice step cannot be zero");
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
	return l ? l : buf_value(&b);
}

/* Ordering as Python's < does; -1 if the types cannot be ordered. With ci,
 * strings compare case-insensitively (Jinja's sort and min/max). */
static int order(const struct value *a, const struct value *b, int ci, int *res)
{
	if (is_num(a) && is_num(b)) {
		if (is_intlike(a) && is_intlike(b)) {
			long long x = ival(a), y = ival(b);
			*res = x < y ? -1 : x > y;
		} else {
			double x = fval(a), y = fval(b);
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
				return order(a->u.list.v[i], b->u.list.v[i], ci, res);
		*res = a->u.list.n < b->u.list.n ? -1 : a->u.list.n > b->u.list.n;
		return 0;
	}
	return -1;
}

static int contains(struct ctx *c, int line, struct value *hay, struct value *needle, int *res)
{
	*res = 0;
	switch (hay->type) {
	case V_STR:
		if (needle->type != V_STR)
			return efail(c, line,
				     "'in <string>' requires string as left operand, not %s",
				     pyname(needle));
		*res = needle->u.str.len == 0 ||
		       memmem(hay->u.str.s, hay->u.str.len, needle->u.str.s, needle->u.str.len);
		return 0;
	case V_LIST:
		for (size_t i = 0; i < hay->u.list.n && !*res; i++)
			*res = value_equal(hay->u.list.v[i], needle);
		return charge(c, line, hay->u.list.n / 16);
	case V_MAP:
	case V_OBJ:
		if (needle->type == V_LIST || needle->type == V_MAP)
			return efail(c, line, "unhashable type: '%s'", pyname(needle));
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
	default: return efail(c, line, "argument of type '%s' is not iterable", pyname(hay));
	}
}

static int compare(struct ctx *c, int line, int op, struct value *l, struct value *r, int *res)
{
	int o;
	switch (op) {
	case OP_EQ: *res = value_equal(l, r); return 0;
	case OP_NE: *res = !value_equal(l, r); return 0;
	case OP_IN: return contains(c, line, r, l, res);
	case OP_NOTIN:
		if (contains(c, line, r, l, res) < 0)
			return -1;
		*res = !*res;
		return 0;
	default: break;
	}
	if (order(l, r, 0, &o) < 0)
		return efail(c, line, "'%s' not supported between instances of '%s' and '%s'",
			     op_names[op], pyname(l), pyname(r));
	switch (op) {
	case OP_LT: *res = o < 0; break;
	case OP_LE: *res = o <= 0; break;
	case OP_GT: *res = o > 0; break;
	default: *res = o >= 0; break;
	}
	return 0;
}

/* Keys of a map or obj as a new list. */
static struct value *keys_of(struct ctx *c, int line, struct value *v)
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
		efail(c, line, "'%s' object cannot be iterated", pyname(v));
		return NULL;
	}
	return k;
}

/* The elements a for loop or a filter iterates: a new list. */
static struct value *iter_list(struct ctx *c, int line, struct value *v)
{
	switch (v->type) {
	case V_LIST: return value_ref(v);
	case V_MAP:
	case V_OBJ: return keys_of(c, line, v);
	case V_STR: {
		if (charge(c, line, v->u.str.len * STEPS_PER_ITEM) < 0)
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
	default: efail(c, line, "'%s' object is not iterable", pyname(v)); return NULL;
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
	efail(c, line, "integer overflow in '**'");
	return NULL;
}

static struct value *repeat(struct ctx *c, int line, struct value *seq, long long count)
{
	size_t n = value_len(seq);
	if (count < 0)
		count = 0;
	if (seq->type == V_STR) {
		if (n && (unsigned long long)count > MAX_STR / n) {
			efail(c, line, "string too long (more than %u bytes)", MAX_STR);
			return NULL;
		}
		if (str_limit(c, line, n * (size_t)count) < 0)
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
		efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
		return NULL;
	}
	if (charge(c, line, n * (size_t)count * STEPS_PER_ITEM) < 0)
		return NULL;
	struct value *l = value_list();
	for (long long i = 0; i < count; i++)
		for (size_t j = 0; j < n; j++)
			value_list_push(l, value_ref(seq->u.list.v[j]));
	return l;
}

static struct value *binop(struct ctx *c, int line, int op, struct value *l, struct value *r)
{
	if (op == OP_TILDE) {
		struct buf b = BUF_INIT;
		value_to_str(l, &b);
		value_to_str(r, &b);
		if (str_limit(c, line, b.len) < 0) {
			buf_free(&b);
			return NULL;
		}
		return buf_value(&b);
	}
	if (is_num(l) && is_num(r)) {
		if (is_intlike(l) && is_intlike(r) && op != OP_DIV) {
			long long a = ival(l), b = ival(r), x;
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
					efail(c, line, "integer division or modulo by zero");
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
					efail(c, line, "0 cannot be raised to a negative power");
					return NULL;
				}
				return value_float(pow((double)a, (double)b));
			}
			efail(c, line, "integer overflow in '%s'", op_names[op]);
			return NULL;
		}
		double a = fval(l), b = fval(r);
		switch (op) {
		case OP_ADD: return value_float(a + b);
		case OP_SUB: return value_float(a - b);
		case OP_MUL: return value_float(a * b);
		case OP_DIV:
		case OP_FLOORDIV:
		case OP_MOD:
			if (b == 0) {
				efail(c, line, "division by zero");
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
				efail(c, line, "0.0 cannot be raised to a negative power");
				return NULL;
			}
			if (a < 0 && b != floor(b)) {
				efail(c, line,
				      "negative number cannot be raised to a fractional power");
				return NULL;
			}
			return value_float(pow(a, b));
		}
	}
	if (op == OP_ADD && l->type == V_STR && r->type == V_STR) {
		if (str_limit(c, line, l->u.str.len + r->u.str.len) < 0)
			return NULL;
		struct buf b = BUF_INIT;
		buf_put(&b, l->u.str.s, l->u.str.len);
		buf_put(&b, r->u.str.s, r->u.str.len);
		return buf_value(&b);
	}
	if (op == OP_ADD && l->type == V_LIST && r->type == V_LIST) {
		if (l->u.list.n + r->u.list.n > MAX_ITEMS) {
			efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
			return NULL;
		}
		if (charge(c, line, l->u.list.n + r->u.list.n) < 0)
			return NULL;
		struct value *x = value_list();
		for (size_t i = 0; i < l->u.list.n; i++)
			value_list_push(x, value_ref(l->u.list.v[i]));
		for (size_t i = 0; i < r->u.list.n; i++)
			value_list_push(x, value_ref(r->u.list.v[i]));
		return x;
	}
	if (op == OP_MUL && (l->type == V_STR || l->type == V_LIST) && is_intlike(r))
		return repeat(c, line, l, ival(r));
	if (op == OP_MUL && (r->type == V_STR || r->type == V_LIST) && is_intlike(l))
		return repeat(c, line, r, ival(l));
	efail(c, line, "unsupported operand type(s) for %s: '%s' and '%s'", op_names[op], pyname(l),
	      pyname(r));
	return NULL;
}

static int truth(struct ctx *c, struct value *v, int *t)
{
	if (is_undef(v))
		return raise_undef(c, v);
	*t = value_truthy(v);
	return 0;
}

/* Evaluated call arguments. */
#define MAX_ARGS 32

struct argv {
	struct value *pos[MAX_ARGS];
	size_t npos;
	const char *kwn[MAX_ARGS];
	struct value *kwv[MAX_ARGS];
	size_t nkw;
};

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
		return efail(c, e->line, "too many arguments (at most %d)", MAX_ARGS);
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

static int argv_defined(struct ctx *c, struct argv *av)
{
	for (size_t i = 0; i < av->npos; i++)
		if (is_undef(av->pos[i]))
			return raise_undef(c, av->pos[i]);
	for (size_t i = 0; i < av->nkw; i++)
		if (is_undef(av->kwv[i]))
			return raise_undef(c, av->kwv[i]);
	return 0;
}

/* Match arguments to parameters. params is NULL-terminated; names starting
 * with '*' are keyword-only and come last. With varargs, positional
 * arguments beyond the positional parameters follow all parameters in
 * slots. Slots are borrowed from av; absent optional ones are NULL. */
#define MAX_SLOTS (MAX_ARGS + 8)

#define MAX_PARAMS 6 /* slots in the tables' params arrays; the last is always NULL */

static int bind(struct ctx *c, int line, const char *what, const char *const *params, int nreq,
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
			return efail(c, line,
				     "%s takes at most %zu positional argument%s (%zu given)", what,
				     npos, npos == 1 ? "" : "s", av->npos);
	}
	for (size_t k = 0; k < av->nkw; k++) {
		size_t j;
		for (j = 0; j < np; j++) {
			const char *pn = params[j][0] == '*' ? params[j] + 1 : params[j];
			if (!strcmp(pn, av->kwn[k]))
				break;
		}
		if (j == np)
			return efail(c, line, "%s got an unexpected keyword argument '%s'", what,
				     av->kwn[k]);
		if (slots[j])
			return efail(c, line, "%s got multiple values for argument '%s'", what,
				     av->kwn[k]);
		slots[j] = av->kwv[k];
	}
	for (int i = 0; i < nreq; i++)
		if (!slots[i])
			return efail(c, line, "%s is missing its argument '%s'", what,
				     params[i][0] == '*' ? params[i] + 1 : params[i]);
	*nslots = ns;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers for filters and methods */

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

static int arg_bool(const struct value *v, int dflt)
{
	return v ? value_truthy(v) : dflt;
}

static int arg_str(struct ctx *c, int line, const struct value *v, const char *what)
{
	if (v->type != V_STR)
		return efail(c, line, "%s must be a string, not %s", what, pyname(v));
	return 0;
}

static int arg_int(struct ctx *c, int line, const struct value *v, const char *what, long long *out)
{
	if (!is_intlike(v))
		return efail(c, line, "%s must be an integer, not %s", what, pyname(v));
	*out = ival(v);
	return 0;
}

static int want_seq(struct ctx *c, int line, struct value *in, struct value **l)
{
	*l = iter_list(c, line, in);
	return *l ? 0 : -1;
}

/* A dotted attribute path ("a.b.0") of v, Jinja's `attribute=` argument. */
static struct value *get_path(struct ctx *c, int line, struct value *v, struct value *path)
{
	if (is_intlike(path))
		return get_index(c, line, v, ival(path));
	struct sv p;
	sv_of(&p, path);
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
			nx = get_index(c, line, cur, strtoll(p.s + i, NULL, 10));
		else
			nx = get_key(c, line, cur, p.s + i, j - i);
		value_unref(cur);
		cur = nx;
		i = j + 1;
	} while (cur && !is_undef(cur) && i <= p.n);
	sv_free(&p);
	return cur;
}

/* A map view of a map or obj: a new reference. */
static struct value *as_map(struct ctx *c, int line, struct value *v, const char *what)
{
	if (v->type == V_MAP)
		return value_ref(v);
	if (v->type != V_OBJ) {
		efail(c, line, "%s expects a dict, got %s", what, pyname(v));
		return NULL;
	}
	struct value *keys = keys_of(c, line, v);
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

static struct value *pair(struct value *a, struct value *b)
{
	struct value *l = value_list();
	value_list_push(l, a);
	value_list_push(l, b);
	return l;
}

/* A set of values for unique/union/...: hashed, with Python equality
 * (or case-insensitive string equality). */
struct vset {
	const struct value **v;
	size_t n, cap;
	int ci;
};

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
	case V_INT: return (size_t)ival(v) * 11400714819323198485ULL;
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
		order(a, b, 1, &r);
		return r == 0;
	}
	return value_equal(a, b);
}

/* Add v (borrowed); 1 if it was new. */
static int vset_add(struct vset *s, const struct value *v)
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

static int vset_has(const struct vset *s, const struct value *v)
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
struct skey {
	struct value *key, *item;
};

static int sort_pairs(struct ctx *c, int line, struct skey *v, size_t n, int ci, int reverse)
{
	struct skey *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
	int rc = 0;
	for (size_t w = 1; w < n && rc == 0; w *= 2) {
		for (size_t lo = 0; lo < n && rc == 0; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				int r;
				if (order(v[i].key, v[j].key, ci, &r) < 0) {
					rc = efail(
					    c, line,
					    "'<' not supported between instances of '%s' and '%s'",
					    pyname(v[j].key), pyname(v[i].key));
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
			rc = charge(c, line, n);
	}
	free(tmp);
	return rc;
}

/* Python str methods, shared by filters and methods. */

static int is_ws(char ch)
{
	return is_space(ch) || (ch >= 0x1c && ch <= 0x1f);
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
			while (i < n && is_ws(s[i]))
				i++;
			if (i == n)
				break;
			if (maxsplit >= 0 && count >= maxsplit) {
				value_list_push(l, value_strn(s + i, n - i));
				break;
			}
			size_t st = i;
			while (i < n && !is_ws(s[i]))
				i++;
			value_list_push(l, value_strn(s + st, i - st));
			count++;
		}
		return l;
	} else {
		size_t i = n;
		for (;;) {
			while (i > 0 && is_ws(s[i - 1]))
				i--;
			if (i == 0)
				break;
			if (maxsplit >= 0 && count >= maxsplit) {
				value_list_push(l, value_strn(s, i));
				break;
			}
			size_t end = i;
			while (i > 0 && !is_ws(s[i - 1]))
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

static int do_split(struct ctx *c, int line, struct value *in, struct value *sepv,
		    struct value *maxv, int right, struct value **out)
{
	long long maxsplit = -1;
	if (sepv && sepv->type == V_NULL)
		sepv = NULL;
	if (sepv && arg_str(c, line, sepv, "the separator") < 0)
		return -1;
	if (sepv && sepv->u.str.len == 0)
		return efail(c, line, "empty separator");
	if (maxv && arg_int(c, line, maxv, "maxsplit", &maxsplit) < 0)
		return -1;
	struct sv s;
	sv_of(&s, in);
	/* charge for the pieces before making them */
	size_t pieces = 1;
	if (sepv) {
		const char *f, *sep = sepv->u.str.s;
		for (size_t pos = 0; (f = memmem(s.s + pos, s.n - pos, sep, sepv->u.str.len));
		     pieces++)
			pos = (size_t)(f - s.s) + sepv->u.str.len;
	} else {
		for (size_t i = 0; i < s.n; i++)
			pieces += !is_ws(s.s[i]) && (i == 0 || is_ws(s.s[i - 1]));
	}
	if (maxsplit >= 0 && (unsigned long long)maxsplit < pieces)
		pieces = (size_t)maxsplit + 1;
	if (charge(c, line, pieces * STEPS_PER_ITEM) < 0) {
		sv_free(&s);
		return -1;
	}
	*out = py_split(s.s, s.n, sepv ? sepv->u.str.s : NULL, sepv ? sepv->u.str.len : 0, maxsplit,
			right);
	sv_free(&s);
	return 0;
}

/* which: 1 left, 2 right, 3 both */
static int do_strip(struct ctx *c, int line, struct value *in, struct value *chars, int which,
		    struct value **out)
{
	if (chars && chars->type == V_NULL)
		chars = NULL;
	if (chars && arg_str(c, line, chars, "the characters to strip") < 0)
		return -1;
	struct sv s;
	sv_of(&s, in);
	size_t a = 0, b = s.n;
#define STRIPPABLE(ch) (chars ? memchr(chars->u.str.s, (ch), chars->u.str.len) != NULL : is_ws(ch))
	if (which & 1)
		while (a < b && STRIPPABLE(s.s[a]))
			a++;
	if (which & 2)
		while (b > a && STRIPPABLE(s.s[b - 1]))
			b--;
#undef STRIPPABLE
	*out = value_strn(s.s + a, b - a);
	sv_free(&s);
	return 0;
}

static int do_replace(struct ctx *c, int line, struct value *in, struct value *old,
		      struct value *new, struct value *countv, struct value **out)
{
	long long count = -1;
	if (arg_str(c, line, old, "the old string") < 0)
		return -1;
	if (countv && countv->type != V_NULL && arg_int(c, line, countv, "count", &count) < 0)
		return -1;
	struct sv s, r;
	sv_of(&s, in);
	sv_of(&r, new);
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
			rc = str_limit(c, line, b.len);
			break;
		}
	}
	if (rc == 0 && pos < s.n)
		buf_put(&b, s.s + pos, s.n - pos);
	if (rc == 0)
		rc = str_limit(c, line, b.len);
	sv_free(&s);
	sv_free(&r);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
	return 0;
}

/* 1 lower, 2 upper, 3 capitalize, 4 title */
static struct value *recase(struct value *in, int how)
{
	struct sv s;
	sv_of(&s, in);
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
	sv_free(&s);
	return v;
}

/* Regular expressions: Python syntax mapped onto POSIX extended ones. */

/* glibc expands x+ to xx* and x{m,n} to m..n copies of x while compiling,
 * so nested repetition grows exponentially; the translation below keeps an
 * estimate of the expanded size and refuses what would be too big. */
#define REGEX_MAX_NODES 20000
#define REGEX_MAX_GROUPS 32

static int py_regex(struct ctx *c, int line, const struct value *pv, int icase, int multiline,
		    regex_t *re)
{
	if (pv->type != V_STR)
		return efail(c, line, "the regular expression must be a string, not %s",
			     pyname(pv));
	const char *p = pv->u.str.s;
	size_t n = pv->u.str.len;
	if (n > MAX_REGEX)
		return efail(c, line, "regular expression too long (more than %d bytes)",
			     MAX_REGEX);
	if (charge(c, line, 100 + 8 * n) < 0)
		return -1;
	if (memchr(p, '\0', n))
		return efail(c, line, "regular expression contains a NUL byte");
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
		return efail(c, line, "unsupported regular expression '%.*s': %s",
			     clip(pv->u.str.len), pv->u.str.s, why);
	}
	int rc = regcomp(re, buf_cstr(&b),
			 REG_EXTENDED | (icase ? REG_ICASE : 0) | (multiline ? REG_NEWLINE : 0));
	buf_free(&b);
	if (rc != 0) {
		char msg[200];
		regerror(rc, re, msg, sizeof msg);
		return efail(c, line, "invalid regular expression '%.*s': %s", clip(pv->u.str.len),
			     pv->u.str.s, msg);
	}
	return 0;
}

#define NGROUPS 10

/* Search s[from, n) using glibc's REG_STARTEND: no strlen per call, NUL
 * bytes allowed, and ^ and \b see the text before from. Offsets in m are
 * from s. Charges for the bytes the search may scan. */
static int rx_exec(struct ctx *c, int line, const regex_t *re, const char *s, size_t from, size_t n,
		   regmatch_t *m, size_t nm, int *found)
{
	if (charge(c, line, (n - from) / 64 + 1) < 0)
		return -1;
	m[0].rm_so = (regoff_t)from;
	m[0].rm_eo = (regoff_t)n;
	*found = regexec(re, s, nm, m, REG_STARTEND) == 0;
	return 0;
}

/* Expand a Python replacement template (\1, \g<1>, \\, \n). */
static int expand_repl(struct ctx *c, int line, const struct sv *r, const char *subj,
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
				return efail(c, line, "bad group reference in the replacement");
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
			return efail(c, line, "invalid group reference %ld", g);
		if (m[g].rm_so >= 0)
			buf_put(out, subj + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
	}
	return 0;
}

struct rxopts {
	struct value *ignorecase, *multiline;
};

static int rx_sub(struct ctx *c, int line, struct value *in, struct value *pat, struct value *repl,
		  struct rxopts o, long long maxcount, struct value **out)
{
	regex_t re;
	if (py_regex(c, line, pat, arg_bool(o.ignorecase, 0), arg_bool(o.multiline, 0), &re) < 0)
		return -1;
	struct sv s, r;
	sv_of(&s, in);
	sv_of(&r, repl);
	struct buf b = BUF_INIT;
	size_t pos = 0;
	int rc = 0;
	long long done = 0;
	while (pos <= s.n && (maxcount <= 0 || done < maxcount)) {
		regmatch_t m[NGROUPS];
		int found;
		if ((rc = rx_exec(c, line, &re, s.s, pos, s.n, m, NGROUPS, &found)) < 0 || !found)
			break;
		size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
		buf_put(&b, s.s + pos, so - pos);
		if ((rc = expand_repl(c, line, &r, s.s, m, re.re_nsub, &b)) < 0)
			break;
		done++;
		if (eo == so) {
			if (so < s.n)
				buf_putc(&b, s.s[so]);
			pos = so + 1;
		} else {
			pos = eo;
		}
		if ((rc = str_limit(c, line, b.len)) < 0 || (rc = charge(c, line, 1)) < 0)
			break;
	}
	if (rc == 0 && pos < s.n)
		buf_put(&b, s.s + pos, s.n - pos);
	regfree(&re);
	sv_free(&s);
	sv_free(&r);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Filters */

static int f_default(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	if (is_undef(in) || (a[1] && value_truthy(a[1]) && !value_truthy(in)))
		*out = a[0] ? value_ref(a[0]) : value_str("");
	else
		*out = value_ref(in);
	return 0;
}

static int f_mandatory(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	if (is_undef(in)) {
		if (a[0]) {
			struct sv m;
			sv_of(&m, a[0]);
			efail(c, line, "%s", m.s);
			sv_free(&m);
			return -1;
		}
		return efail(c, line, "mandatory variable not defined: %s",
			     (const char *)in->u.obj.ud);
	}
	*out = value_ref(in);
	return 0;
}

static int f_lower(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(in, 1);
	return 0;
}

static int f_upper(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(in, 2);
	return 0;
}

static int f_capitalize(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			struct value **out)
{
	*out = recase(in, 3);
	return 0;
}

static int f_title(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(in, 4);
	return 0;
}

static int f_replace(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	return do_replace(c, line, in, a[0], a[1], a[2], out);
}

static int f_trim(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	return do_strip(c, line, in, a[0], 3, out);
}

static int f_split(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	return do_split(c, line, in, a[0], a[1], 0, out);
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
	*out = buf_value(&b);
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
		struct value *k = keys_of(c, line, in);
		if (!k)
			return -1;
		*out = value_int((long long)k->u.list.n);
		value_unref(k);
		return 0;
	}
	return efail(c, line, "object of type '%s' has no len()", pyname(in));
}

static int f_join(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct sv sep = {"", 0, BUF_INIT};
	if (a[0])
		sv_of(&sep, a[0]);
	struct buf b = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		if (i)
			buf_put(&b, sep.s, sep.n);
		if (a[1]) {
			struct value *x = defined(c, get_path(c, line, it, a[1]));
			if (!x) {
				rc = -1;
				break;
			}
			value_to_str(x, &b);
			value_unref(x);
		} else {
			value_to_str(it, &b);
		}
		rc = str_limit(c, line, b.len);
	}
	sv_free(&sep);
	value_unref(l);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
	return 0;
}

/* Python int(): "0x1f" with base 16, " 12 ", "+3", "1_000". */
static int parse_int(const char *s, size_t n, int base, long long *out)
{
	char tmp[80];
	size_t k = 0;
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
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
		if (s[i] == '\0' || is_ws(s[i]))
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
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
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
	if (a[1] && arg_int(c, line, a[1], "base", &base) < 0)
		return -1;
	if (base != 0 && (base < 2 || base > 36))
		return efail(c, line, "int() base must be >= 2 and <= 36, or 0");
	int ok = -1;
	if (is_intlike(in)) {
		v = ival(in);
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
	if (is_num(in)) {
		f = fval(in);
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
	} else if (is_num(in)) {
		b = fval(in) == 1.0;
	}
	*out = value_bool(b);
	return 0;
}

static int f_abs(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	if (is_intlike(in)) {
		if (ival(in) == LLONG_MIN)
			return efail(c, line, "integer overflow in abs");
		*out = value_int(llabs(ival(in)));
	} else if (in->type == V_FLOAT) {
		*out = value_float(fabs(in->u.f));
	} else {
		return efail(c, line, "bad operand type for abs(): '%s'", pyname(in));
	}
	return 0;
}

static int f_round(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	long long prec = 0;
	if (!is_num(in))
		return efail(c, line, "round() needs a number, not %s", pyname(in));
	if (a[0] && arg_int(c, line, a[0], "precision", &prec) < 0)
		return -1;
	const char *method = "common";
	if (a[1]) {
		if (arg_str(c, line, a[1], "method") < 0)
			return -1;
		method = a[1]->u.str.s;
	}
	if (prec < -30 || prec > 30)
		prec = prec < 0 ? -30 : 30;
	double f = fval(in), m = pow(10, (double)prec), r;
	if (!strcmp(method, "common"))
		r = nearbyint(f * m) / m;
	else if (!strcmp(method, "ceil"))
		r = ceil(f * m) / m;
	else if (!strcmp(method, "floor"))
		r = floor(f * m) / m;
	else
		return efail(c, line, "round() method must be 'common', 'ceil' or 'floor'");
	if (!isfinite(f * m))
		r = f;
	/* Python's round() keeps ints ints; math.ceil/floor results are floats */
	if (is_intlike(in) && !strcmp(method, "common") && prec >= 0)
		*out = value_int(ival(in));
	else
		*out = value_float(r);
	return 0;
}

static int f_first(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	*out = l->u.list.n ? value_ref(l->u.list.v[0])
			   : mkundef(line, "No first item, sequence was empty.");
	value_unref(l);
	return 0;
}

static int f_last(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	*out = l->u.list.n ? value_ref(l->u.list.v[l->u.list.n - 1])
			   : mkundef(line, "No last item, sequence was empty.");
	value_unref(l);
	return 0;
}

static int f_list(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		  struct value **out)
{
	return want_seq(c, line, in, out);
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
	if (want_seq(c, line, in, &l) < 0)
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
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct vset s = {NULL, 0, 0, !arg_bool(a[0], 0)};
	struct value *r = value_list(), **keys = xcalloc(l->u.list.n + 1, sizeof *keys);
	int rc = charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		keys[i] = a[1] ? defined(c, get_path(c, line, it, a[1])) : value_ref(it);
		if (!keys[i])
			rc = -1;
		else if (vset_add(&s, keys[i]))
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
		v[i].key =
		    attr ? defined(c, get_path(c, line, v[i].item, attr)) : value_ref(v[i].item);
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
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	size_t n = l->u.list.n;
	struct skey *v = sort_keys(c, line, l, a[2]);
	if (!v || sort_pairs(c, line, v, n, !arg_bool(a[1], 0), arg_bool(a[0], 0)) < 0) {
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
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	size_t n = l->u.list.n, best = 0;
	struct skey *v = sort_keys(c, line, l, a[1]);
	int rc = v ? 0 : -1;
	for (size_t i = 1; i < n && rc == 0; i++) {
		int r;
		if (order(v[i].key, v[best].key, !arg_bool(a[0], 0), &r) < 0)
			rc = efail(c, line, "'<' not supported between instances of '%s' and '%s'",
				   pyname(v[i].key), pyname(v[best].key));
		else if (want_max ? r > 0 : r < 0)
			best = i;
	}
	if (rc == 0)
		*out = n ? value_ref(v[best].item)
			 : mkundef(line, "No aggregated item, sequence was empty.");
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
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct value *acc = a[1] ? value_ref(a[1]) : value_int(0);
	for (size_t i = 0; i < l->u.list.n && acc; i++) {
		struct value *x = a[0] ? defined(c, get_path(c, line, l->u.list.v[i], a[0]))
				       : value_ref(l->u.list.v[i]);
		struct value *s = x ? binop(c, line, OP_ADD, acc, x) : NULL;
		value_unref(x);
		value_unref(acc);
		acc = s;
	}
	value_unref(l);
	*out = acc;
	return acc ? 0 : -1;
}

static struct value *apply_filter(struct ctx *c, int line, int f, struct value *in,
				  const struct argv *av);
static int apply_test(struct ctx *c, int line, int t, struct value *in, const struct argv *av,
		      int *res);

/* map('filter', args...) or map(attribute='x', default=d) */
static int f_map(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		 struct value **out)
{
	int f = -1;
	if (!a[0] && !a[1])
		return efail(c, line, "map() needs a filter name or attribute=");
	if (a[0]) {
		if (arg_str(c, line, a[0], "the filter name") < 0)
			return -1;
		if ((f = find_filter(a[0]->u.str.s)) < 0)
			return efail(c, line, "no filter named '%s'", a[0]->u.str.s);
	}
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct argv av = {.npos = 0, .nkw = 0};
	for (size_t i = 3; i < na; i++)
		av.pos[av.npos++] = a[i];
	struct value *r = value_list();
	int rc = charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *x;
		if (a[0]) {
			x = apply_filter(c, line, f, l->u.list.v[i], &av);
		} else {
			x = get_path(c, line, l->u.list.v[i], a[1]);
			if (x && is_undef(x) && a[2]) {
				value_unref(x);
				x = value_ref(a[2]);
			}
		}
		if (!(x = defined(c, x)))
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
		if (arg_str(c, line, test, "the test name") < 0)
			return -1;
		if ((t = find_test(test->u.str.s)) < 0)
			return efail(c, line, "no test named '%s'", test->u.str.s);
	}
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct argv av = {.npos = 0, .nkw = 0};
	for (size_t i = (size_t)attr + 1; i < na; i++)
		av.pos[av.npos++] = a[i];
	struct value *r = value_list();
	int rc = charge(c, line, l->u.list.n);
	for (size_t i = 0; i < l->u.list.n && rc == 0; i++) {
		struct value *it = l->u.list.v[i];
		struct value *x = attr ? get_path(c, line, it, a[0]) : value_ref(it);
		int res = 0;
		if (!x)
			rc = -1;
		else if (t >= 0)
			rc = apply_test(c, line, t, x, &av, &res);
		else
			rc = truth(c, x, &res);
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
	if (a[4] && arg_int(c, line, a[4], "count", &count) < 0)
		rc = -1;
	if (rc == 0)
		rc = rx_sub(c, line, in, a[0] ? a[0] : empty, a[1] ? a[1] : empty,
			    (struct rxopts){a[2], a[3]}, count, out);
	value_unref(empty);
	return rc;
}

static int f_regex_search(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			  struct value **out)
{
	regex_t re;
	if (py_regex(c, line, a[0], arg_bool(a[1], 0), arg_bool(a[2], 0), &re) < 0)
		return -1;
	struct sv s;
	sv_of(&s, in);
	regmatch_t m[NGROUPS];
	int found, rc = rx_exec(c, line, &re, s.s, 0, s.n, m, NGROUPS, &found);
	if (rc < 0) {
		/* error set */
	} else if (!found) {
		*out = value_null();
	} else if (na <= 3) {
		*out = value_strn(s.s + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
	} else {
		struct value *l = value_list();
		for (size_t i = 3; i < na && rc == 0; i++) {
			struct buf g = BUF_INIT;
			struct sv spec;
			sv_of(&spec, a[i]);
			rc = expand_repl(c, line, &spec, s.s, m, re.re_nsub, &g);
			sv_free(&spec);
			if (rc == 0)
				value_list_push(l, buf_value(&g));
			else
				buf_free(&g);
		}
		if (rc < 0)
			value_unref(l);
		else
			*out = l;
	}
	regfree(&re);
	sv_free(&s);
	return rc;
}

static int f_regex_findall(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
			   struct value **out)
{
	regex_t re;
	if (py_regex(c, line, a[0], arg_bool(a[1], 0), arg_bool(a[2], 0), &re) < 0)
		return -1;
	struct sv s;
	sv_of(&s, in);
	struct value *l = value_list();
	size_t pos = 0;
	int rc = 0;
	while (pos <= s.n && rc == 0) {
		regmatch_t m[NGROUPS];
		int found;
		if ((rc = rx_exec(c, line, &re, s.s, pos, s.n, m, NGROUPS, &found)) < 0 || !found)
			break;
		size_t g = re.re_nsub >= 1 ? 1 : 0;
		struct value *item;
		if (re.re_nsub > 1) {
			item = value_list();
			for (size_t k = 1; k <= re.re_nsub && k < NGROUPS; k++)
				value_list_push(
				    item, m[k].rm_so < 0
					      ? value_str("")
					      : value_strn(s.s + m[k].rm_so,
							   (size_t)(m[k].rm_eo - m[k].rm_so)));
		} else {
			item = m[g].rm_so < 0 ? value_str("")
					      : value_strn(s.s + m[g].rm_so,
							   (size_t)(m[g].rm_eo - m[g].rm_so));
		}
		value_list_push(l, item);
		pos = m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo : (size_t)m[0].rm_so + 1;
		if (l->u.list.n > MAX_ITEMS)
			rc = efail(c, line, "list too long (more than %d items)", MAX_ITEMS);
		else
			rc = charge(c, line, STEPS_PER_ITEM * (1 + re.re_nsub));
	}
	regfree(&re);
	sv_free(&s);
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
	sv_of(&s, in);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s.n; i++) {
		if (strchr("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", s.s[i]) && s.s[i])
			buf_putc(&b, '\\');
		buf_putc(&b, s.s[i]);
	}
	sv_free(&s);
	*out = buf_value(&b);
	return 0;
}

/* JSON as Python's json.dumps prints it: ", " and ": " separators. */
static int json_py(struct ctx *c, int line, struct value *v, struct buf *b, int sort, int html,
		   int depth)
{
	if (depth > 500)
		return efail(c, line, "value nested too deeply for JSON");
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
		return charge(c, line, v->u.list.n);
	}
	if (v->type == V_MAP || v->type == V_OBJ) {
		struct value *m = as_map(c, line, v, "to_json");
		if (!m)
			return -1;
		size_t n = value_len(m);
		struct skey *k = xcalloc(n + 1, sizeof *k);
		for (size_t i = 0; i < n; i++) {
			k[i].key = value_str(value_map_key(m, i));
			k[i].item = value_map_val(m, i);
		}
		int rc = sort ? sort_pairs(c, line, k, n, 0, 0) : 0;
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
	if (json_py(c, line, in, &b, sort, html, 0) < 0 || str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
	return 0;
}

static int f_to_json(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	return to_json(c, line, in, arg_bool(a[0], 0), 0, out);
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
	if (a[0] && arg_int(c, line, a[0], "indent", &indent) < 0)
		return -1;
	if (indent < 1 || indent > 16)
		indent = indent < 1 ? 1 : 16;
	struct buf b = BUF_INIT;
	value_to_json(in, &b, (int)indent, a[1] ? value_truthy(a[1]) : 1);
	if (str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
	return 0;
}

static int f_basename(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      struct value **out)
{
	struct sv s;
	sv_of(&s, in);
	size_t i = s.n;
	while (i > 0 && s.s[i - 1] != '/')
		i--;
	*out = value_strn(s.s + i, s.n - i);
	sv_free(&s);
	return 0;
}

static int f_dirname(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		     struct value **out)
{
	struct sv s;
	sv_of(&s, in);
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
	sv_free(&s);
	return 0;
}

/* shlex.quote */
static int f_quote(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		   struct value **out)
{
	struct sv s;
	sv_of(&s, in);
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
	sv_free(&s);
	*out = buf_value(&b);
	return 0;
}

static int f_b64encode(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       struct value **out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct sv s;
	sv_of(&s, in);
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
	sv_free(&s);
	if (str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
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
	sv_of(&s, in);
	struct buf b = BUF_INIT;
	unsigned long acc = 0;
	int bits = 0, pad = 0, bad = 0;
	size_t nchars = 0;
	for (size_t i = 0; i < s.n && !bad; i++) {
		char ch = s.s[i];
		if (is_space(ch))
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
	sv_free(&s);
	if (bad || nchars % 4 != 0 || pad > 2) {
		buf_free(&b);
		return efail(c, line, "b64decode: invalid base64 input");
	}
	*out = buf_value(&b);
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
		if (arg_int(c, line, a[0], "width", &w) < 0)
			return -1;
		if (w > 1000)
			w = 1000;
		for (long long i = 0; i < w; i++)
			buf_putc(&ind, ' ');
	}
	int first = arg_bool(a[1], 0), blank = arg_bool(a[2], 0);
	struct sv s;
	sv_of(&s, in);
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
			rc = str_limit(c, line, b.len);
			break;
		}
	}
	if (first && !s.n && !blank)
		buf_put(&b, ind.s, ind.len);
	sv_free(&s);
	buf_free(&ind);
	if (rc < 0 || str_limit(c, line, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_value(&b);
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
		return efail(c, line, "combine: only list_merge='replace' is supported");
	struct value *acc = as_map(c, line, in, "combine");
	for (size_t i = 2; i < na && acc; i++) {
		struct value *lst = a[i]->type == V_LIST ? value_ref(a[i]) : NULL;
		if (!lst) {
			lst = value_list();
			value_list_push(lst, value_ref(a[i]));
		}
		for (size_t j = 0; j < lst->u.list.n && acc; j++) {
			struct value *m = as_map(c, line, lst->u.list.v[j], "combine");
			struct value *r = m ? combine2(acc, m, arg_bool(a[0], 0), 0) : NULL;
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
	if ((a[0] && arg_str(c, line, a[0], "key_name") < 0) ||
	    (a[1] && arg_str(c, line, a[1], "value_name") < 0))
		return -1;
	if (a[0])
		kn = a[0]->u.str.s;
	if (a[1])
		vn = a[1]->u.str.s;
	struct value *m = as_map(c, line, in, "dict2items");
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
	int rc = want_seq(c, line, in, &l);
	for (size_t i = 0; rc == 0 && i < l->u.list.n; i++) {
		struct value *k = defined(c, get_item(c, line, l->u.list.v[i], kn ? kn : dk));
		struct value *v =
		    k ? defined(c, get_item(c, line, l->u.list.v[i], vn ? vn : dv)) : NULL;
		if (!v) {
			rc = -1;
		} else {
			struct sv ks;
			sv_of(&ks, k);
			value_map_set(m, ks.s, value_ref(v));
			sv_free(&ks);
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
	struct value *m = as_map(c, line, in, "items");
	if (!m)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(m); i++)
		value_list_push(
		    l, pair(value_str(value_map_key(m, i)), value_ref(value_map_val(m, i))));
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
		if (arg_str(c, line, a[1], "by") < 0) {
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
	int rc = sort_pairs(c, line, k, n, !arg_bool(a[0], 0), arg_bool(a[2], 0));
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
	if (a[0] && a[0]->type != V_NULL && arg_int(c, line, a[0], "levels", &levels) < 0)
		return -1;
	struct value *l;
	if (want_seq(c, line, in, &l) < 0)
		return -1;
	struct value *r = value_list();
	flatten_into(r, l, levels, 0);
	value_unref(l);
	if (charge(c, line, r->u.list.n) < 0) {
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
	if (want_seq(c, line, in, &x) < 0)
		return -1;
	if (want_seq(c, line, other, &y) < 0) {
		value_unref(x);
		return -1;
	}
	struct vset sx = {NULL, 0, 0, 0}, sy = {NULL, 0, 0, 0}, seen = {NULL, 0, 0, 0};
	for (size_t i = 0; i < x->u.list.n; i++)
		vset_add(&sx, x->u.list.v[i]);
	for (size_t i = 0; i < y->u.list.n; i++)
		vset_add(&sy, y->u.list.v[i]);
	struct value *r = value_list();
	for (size_t i = 0; i < x->u.list.n; i++) {
		struct value *it = x->u.list.v[i];
		int keep = op == 0 || op == 2 ? (op == 0 || vset_has(&sy, it)) : !vset_has(&sy, it);
		if (keep && vset_add(&seen, it))
			value_list_push(r, value_ref(it));
	}
	for (size_t i = 0; (op == 0 || op == 3) && i < y->u.list.n; i++) {
		struct value *it = y->u.list.v[i];
		if ((op == 0 || !vset_has(&sx, it)) && vset_add(&seen, it))
			value_list_push(r, value_ref(it));
	}
	free(sx.v);
	free(sy.v);
	free(seen.v);
	value_unref(x);
	value_unref(y);
	if (charge(c, line, r->u.list.n) < 0) {
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
    {"join", f_join, {"d", "attribute", NULL}, 0, 0},
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
    {"ternary", f_ternary, {"true_val", "false_val", "none_val", NULL}, 2, F_UNDEF_ARGS},
    {"title", f_title, {NULL}, 0, 0},
    {"to_json", f_to_json, {"sort_keys", NULL}, 0, 0},
    {"to_nice_json", f_to_nice_json, {"indent", "sort_keys", NULL}, 0, 0},
    {"tojson", f_tojson, {"indent", NULL}, 0, 0},
    {"trim", f_trim, {"chars", NULL}, 0, 0},
    {"union", f_union, {"b", NULL}, 1, 0},
    {"unique", f_unique, {"case_sensitive", "attribute", NULL}, 0, 0},
    {"upper", f_upper, {NULL}, 0, 0},
};

static const size_t nfilters = sizeof filters / sizeof filters[0];

static int find_filter(const char *name)
{
	for (size_t i = 0; i < nfilters; i++)
		if (!strcmp(filters[i].name, name))
			return (int)i;
	return -1;
}

static struct value *apply_filter(struct ctx *c, int line, int f, struct value *in,
				  const struct argv *av)
{
	const struct fdef *d = &filters[f];
	struct value *slots[MAX_SLOTS], *out = NULL;
	size_t ns;
	char what[64];
	if (!(d->flags & F_UNDEF_IN) && is_undef(in)) {
		raise_undef(c, in);
		return NULL;
	}
	if (!(d->flags & F_UNDEF_ARGS) && argv_defined(c, (struct argv *)av) < 0)
		return NULL;
	snprintf(what, sizeof what, "filter '%s'", d->name);
	if (bind(c, line, what, d->params, d->nreq, d->flags & F_VARARGS, av, slots, &ns) < 0)
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
	*res = !is_undef(in);
	return 0;
}

static int t_undefined(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		       int *res)
{
	*res = is_undef(in);
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
	*res = is_num(in);
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
	*res = in->type == V_MAP || (in->type == V_OBJ && !is_undef(in));
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
	if (!is_intlike(in))
		return efail(c, line, "expected an integer, got %s", pyname(in));
	*v = ival(in);
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
	if (int_input(c, line, in, &v) < 0 || arg_int(c, line, a[0], "the divisor", &d) < 0)
		return -1;
	if (d == 0)
		return efail(c, line, "integer division or modulo by zero");
	*res = d == -1 || v % d == 0;
	return 0;
}

static int t_cmp(struct ctx *c, int line, struct value *in, struct value *other, int op, int *res)
{
	return compare(c, line, op, in, other, res);
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
	return contains(c, line, a[0], in, res);
}

static int t_contains(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		      int *res)
{
	return contains(c, line, in, a[0], res);
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
static int t_case(struct value *in, int upper, int *res)
{
	struct sv s;
	sv_of(&s, in);
	int cased = 0, ok = 1;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.s[i];
		if (isalpha(ch)) {
			cased = 1;
			if (upper ? islower(ch) : isupper(ch))
				ok = 0;
		}
	}
	sv_free(&s);
	*res = cased && ok;
	return 0;
}

static int t_lower(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_case(in, 0, res);
}

static int t_upper(struct ctx *c, int line, struct value *in, struct value **a, size_t na, int *res)
{
	return t_case(in, 1, res);
}

/* how: 0 search, 1 match (at the start) */
static int regex_test(struct ctx *c, int line, struct value *in, struct value **a, int how,
		      int *res)
{
	regex_t re;
	if (in->type != V_STR)
		return efail(c, line, "the regex tests need a string, got %s", pyname(in));
	if (py_regex(c, line, a[0], arg_bool(a[1], 0), arg_bool(a[2], 0), &re) < 0)
		return -1;
	regmatch_t m[1];
	int found, rc = rx_exec(c, line, &re, in->u.str.s, 0, in->u.str.len, m, 1, &found);
	*res = rc == 0 && found && (how == 0 || m[0].rm_so == 0);
	regfree(&re);
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
		if (arg_str(c, line, a[3], "match_type") < 0)
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
		if (arg_str(c, line, a[1], "the operator") < 0)
			return -1;
		for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
			if (!strcmp(ops[k].name, a[1]->u.str.s))
				break;
		if (k == sizeof ops / sizeof ops[0])
			return efail(c, line, "invalid version operator '%.40s'", a[1]->u.str.s);
		op = ops[k].op;
	}
	struct sv x, y;
	sv_of(&x, in);
	sv_of(&y, a[0]);
	if (!x.n || !y.n) {
		sv_free(&x);
		sv_free(&y);
		return efail(c, line, "version value cannot be empty");
	}
	int r = vercmp(x.s, x.n, y.s, y.n);
	sv_free(&x);
	sv_free(&y);
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

static int find_test(const char *name)
{
	for (size_t i = 0; i < ntests; i++)
		if (!strcmp(tests[i].name, name))
			return (int)i;
	return -1;
}

static int apply_test(struct ctx *c, int line, int t, struct value *in, const struct argv *av,
		      int *res)
{
	const struct tdef *d = &tests[t];
	struct value *slots[MAX_SLOTS];
	size_t ns;
	char what[64];
	if (!(d->flags & T_UNDEF_OK) && is_undef(in))
		return raise_undef(c, in);
	if (argv_defined(c, (struct argv *)av) < 0)
		return -1;
	snprintf(what, sizeof what, "test '%s'", d->name);
	if (bind(c, line, what, d->params, d->nreq, 0, av, slots, &ns) < 0)
		return -1;
	return d->fn(c, line, in, slots, ns, res);
}

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
	return do_split(c, line, self, a[0], a[1], 0, out);
}

static int m_rsplit(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return do_split(c, line, self, a[0], a[1], 1, out);
}

static int m_strip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	return do_strip(c, line, self, a[0], 3, out);
}

static int m_lstrip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return do_strip(c, line, self, a[0], 1, out);
}

static int m_rstrip(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		    struct value **out)
{
	return do_strip(c, line, self, a[0], 2, out);
}

static int m_replace(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	if (arg_str(c, line, a[1], "the new string") < 0)
		return -1;
	return do_replace(c, line, self, a[0], a[1], a[2], out);
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
		if (arg_str(c, line, p, end ? "the suffix" : "the prefix") < 0)
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
	return f_join(c, line, a[0], args, 2, out);
}

static int m_find(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		  struct value **out)
{
	if (arg_str(c, line, a[0], "the substring") < 0)
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
	if (arg_str(c, line, a[0], "the substring") < 0)
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
	if (charge(c, line, lines * STEPS_PER_ITEM) < 0)
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
	t_case(self, 0, &r);
	*out = value_bool(r);
	return 0;
}

static int m_isupper(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		     struct value **out)
{
	int r;
	t_case(self, 1, &r);
	*out = value_bool(r);
	return 0;
}

static int m_lower(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(self, 1);
	return 0;
}

static int m_upper(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(self, 2);
	return 0;
}

static int m_capitalize(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
			struct value **out)
{
	*out = recase(self, 3);
	return 0;
}

static int m_title(struct ctx *c, int line, struct value *self, struct value **a, size_t na,
		   struct value **out)
{
	*out = recase(self, 4);
	return 0;
}

/* what: 0 items, 1 keys, 2 values */
static int dict_view(struct ctx *c, int line, struct value *self, int what, struct value **out)
{
	struct value *m = as_map(c, line, self, "items");
	if (!m)
		return -1;
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(m); i++) {
		struct value *k = value_str(value_map_key(m, i)),
			     *v = value_ref(value_map_val(m, i));
		if (what == 0) {
			value_list_push(l, pair(k, v));
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
	struct value *v = get_item(c, line, self, a[0]);
	if (!v)
		return -1;
	if (is_undef(v)) {
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
	return efail(c, line, "list.index(x): x not in list");
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

static struct value *call_method(struct ctx *c, const struct expr *e, struct value *self,
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
		snprintf(what, sizeof what, "%s.%s()", pyname(self), m->name);
		if (bind(c, e->line, what, m->params, m->nreq, 0, av, slots, &ns) < 0)
			return NULL;
		if (m->fn(c, e->line, self, slots, ns, &out) < 0) {
			value_unref(out);
			return NULL;
		}
		return out;
	}
	efail(c, e->line, "'%s' has no method '%.*s'", type_repr(self, tr, sizeof tr),
	      clip(e->nlen), e->name);
	return NULL;
}

static struct value *fn_range(struct ctx *c, const struct expr *e, const struct argv *av)
{
	long long a[3] = {0, 0, 1};
	if (av->nkw || av->npos < 1 || av->npos > 3) {
		efail(c, e->line, "range() takes 1 to 3 integer arguments");
		return NULL;
	}
	for (size_t i = 0; i < av->npos; i++)
		if (arg_int(c, e->line, av->pos[i], "range() argument", &a[av->npos == 1 ? 1 : i]) <
		    0)
			return NULL;
	long long start = a[0], stop = a[1], step = a[2];
	if (step == 0) {
		efail(c, e->line, "range() step must not be zero");
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
		efail(c, e->line, "range() too large (more than %d items)", MAX_RANGE);
		return NULL;
	}
	if (charge(c, e->line, n) < 0)
		return NULL;
	struct value *l = value_list();
	for (unsigned long long i = 0; i < n; i++)
		value_list_push(l, value_int((long long)((unsigned long long)start +
							 i * (unsigned long long)step)));
	return l;
}

/* ------------------------------------------------------------------ */
/* Evaluation */

static struct value *eval_defined(struct ctx *c, const struct expr *e)
{
	return defined(c, eval(c, e));
}

static struct value *eval_cmp(struct ctx *c, const struct expr *e)
{
	struct value *l = eval_defined(c, e->a);
	if (!l)
		return NULL;
	int res = 1;
	for (size_t i = 0; i < e->nargs && res; i++) {
		struct value *r = eval_defined(c, e->args[i].e);
		if (!r || compare(c, e->line, e->ops[i], l, r, &res) < 0) {
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
	if (charge(c, e->line, e->nargs * STEPS_PER_ITEM) < 0)
		return NULL;
	struct value *r = dict ? value_map() : value_list();
	for (size_t i = 0; i < e->nargs; i += dict ? 2 : 1) {
		struct value *k = eval_defined(c, e->args[i].e), *v = NULL;
		if (k && dict) {
			if (k->type == V_LIST || k->type == V_MAP || k->type == V_OBJ) {
				efail(c, e->line, "unhashable type: '%s'", pyname(k));
			} else if ((v = eval_defined(c, e->args[i + 1].e))) {
				struct sv ks;
				sv_of(&ks, k);
				value_map_set(r, ks.s, v);
				sv_free(&ks);
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
	if (charge(c, e->line, 1) < 0)
		return NULL;
	switch (e->k) {
	case E_CONST: return value_ref(e->v);
	case E_NAME: return lookup_name(c, e);
	case E_ATTR:
		if (!(a = eval(c, e->a)))
			return NULL;
		r = get_key(c, e->line, a, e->name, e->nlen);
		break;
	case E_ITEM:
		if ((a = eval(c, e->a)) && (b = eval(c, e->b)))
			r = get_item(c, e->line, a, b);
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
		if (argv_defined(c, &av) == 0) {
			if (e->nlen == 5 && !memcmp(e->name, "range", 5))
				r = fn_range(c, e, &av);
			else
				efail(c, e->line, "unknown function '%.*s'", clip(e->nlen),
				      e->name);
		}
		argv_free(&av);
		break;
	case E_METHOD:
		if (!(a = eval_defined(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		if (argv_defined(c, &av) == 0)
			r = call_method(c, e, a, &av);
		argv_free(&av);
		break;
	case E_FILTER:
		if (e->op < 0) {
			efail(c, e->line, "no filter named '%s'", e->name);
			return NULL;
		}
		if (!(a = eval(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		r = apply_filter(c, e->line, e->op, a, &av);
		argv_free(&av);
		break;
	case E_TEST:
		if (e->op < 0) {
			efail(c, e->line, "no test named '%s'", e->name);
			return NULL;
		}
		if (!(a = eval(c, e->a)) || eval_args(c, e, &av) < 0)
			break;
		if (apply_test(c, e->line, e->op, a, &av, &t) == 0)
			r = value_bool(e->neg ? !t : t);
		argv_free(&av);
		break;
	case E_BIN:
		if ((a = eval_defined(c, e->a)) && (b = eval_defined(c, e->b)))
			r = binop(c, e->line, e->op, a, b);
		break;
	case E_NEG:
	case E_POS:
		if (!(a = eval_defined(c, e->a)))
			break;
		if (!is_num(a))
			efail(c, e->line, "bad operand type for unary %s: '%s'",
			      e->k == E_NEG ? "-" : "+", pyname(a));
		else if (e->k == E_POS)
			r = a->type == V_BOOL ? value_int(a->u.b) : value_ref(a);
		else if (a->type == V_FLOAT)
			r = value_float(-a->u.f);
		else if (ival(a) == LLONG_MIN)
			efail(c, e->line, "integer overflow in unary -");
		else
			r = value_int(-ival(a));
		break;
	case E_NOT:
		if ((a = eval(c, e->a)) && truth(c, a, &t) == 0)
			r = value_bool(!t);
		break;
	case E_AND:
	case E_OR:
		if (!(a = eval(c, e->a)) || truth(c, a, &t) < 0)
			break;
		if (t == (e->k == E_OR))
			return a;
		value_unref(a);
		return eval(c, e->b);
	case E_COND:
		if (!(a = eval(c, e->a)) || truth(c, a, &t) < 0)
			break;
		value_unref(a);
		if (t)
			return eval(c, e->b);
		if (e->c)
			return eval(c, e->c);
		return mkundef(e->line, "the inline if-expression evaluated to false and no else "
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
		return efail(c, line, "template output too large (more than %u bytes)", MAX_OUTPUT);
	return charge(c, line, 0);
}

/* Bind the loop or set targets of n to v (borrowed). */
static int bind_targets(struct ctx *c, const struct node *n, struct frame *f, struct value *v)
{
	if (n->nnames == 1) {
		frame_set(f, n->names[0], n->nlens[0], value_ref(v));
		return 0;
	}
	if (is_undef(v))
		return raise_undef(c, v);
	if (v->type != V_LIST)
		return efail(c, n->line, "cannot unpack a %s into %d variables", pyname(v),
			     n->nnames);
	if (v->u.list.n != (size_t)n->nnames)
		return efail(c, n->line, "%s values to unpack (expected %d, got %zu)",
			     v->u.list.n > (size_t)n->nnames ? "too many" : "not enough", n->nnames,
			     v->u.list.n);
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
	items = iter_list(c, n->line, seq);
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
				rc = v ? truth(c, v, &t) : -1;
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
		rc = charge(c, n->line, 1);
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
	if (charge(c, n->line, 1) < 0)
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
		if (charge(c, n->line, (c->out->len - before) / 64) < 0)
			return -1;
		return check_out(c, n->line);
	case N_IF:
		for (size_t i = 0; i < n->nbr; i++) {
			if (!(v = eval(c, n->br[i].cond)))
				return -1;
			int rc = truth(c, v, &t);
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
		frame_set(c->fr, n->names[0], n->nlens[0], buf_value(&tmp));
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
/* API */

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
	*out = buf_value(&b);
	return 0;
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
