/*
 * tmpl-int.h - private to the template engine: included only by its files,
 * never by the rest of ezk (whose interface is template.h).
 *
 *   tmpl-parse.c    compile: source -> tokens -> a tree in an arena owned by
 *                   the template; tmpl_compile, tmpl_free, tmpl_needed
 *   tmpl-eval.c     evaluate expressions and render the tree with a struct
 *                   ctx per render; Undefined; tmpl_render, tmpl_eval
 *   tmpl-helpers.c  what filters, tests and methods share: argument checks,
 *                   sets, sorting, str split/strip/replace, regexes
 *   tmpl-filters.c  the filters and tests, and their tables
 *   tmpl-methods.c  str, dict and list methods, and range()
 *
 * The tree is never written after compilation, so one template may be
 * rendered from many threads; everything mutable lives in struct ctx on
 * the rendering thread's stack.
 */
#ifndef EZK_TMPL_INT_H
#define EZK_TMPL_INT_H

#include <stddef.h>

#include "err.h"
#include "rx.h"
#include "tmpl/template.h"

/* Limits that keep hostile templates harmless (see template.h). */
#define MAX_NEST 100	       /* parser recursion: parens, blocks */
#define MAX_EXPR_DEPTH 256     /* expression tree depth */
#define MAX_OUTPUT (16u << 20) /* bytes one render may produce */
#define MAX_STR (16u << 20)    /* bytes in one string value */
#define MAX_ITEMS 1000000      /* elements in one list value */
#define MAX_RANGE 100000       /* elements range() may produce */
#define MAX_STEPS 2000000ULL   /* work units per render */
#define MAX_REGEX 1024	       /* bytes in a regular expression */
#define STEPS_PER_ITEM 2       /* work units per list element built */

/* Arena: every tree node and string of a template lives in one. */
struct chunk;

struct arena {
	struct chunk *head;
};

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

extern const char *const tmpl_op_names[]; /* indexed by enum op */

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

/* A string view of any value: the bytes of a string, else its str(). */
struct sv {
	const char *s;
	size_t n;
	struct buf tmp;
};

/* Evaluated call arguments. */
#define MAX_ARGS 32

struct argv {
	struct value *pos[MAX_ARGS];
	size_t npos;
	const char *kwn[MAX_ARGS];
	struct value *kwv[MAX_ARGS];
	size_t nkw;
};

/* What tmpl_bind() fills: the parameters, then extra positional arguments. */
#define MAX_SLOTS (MAX_ARGS + 8)

#define MAX_PARAMS 6 /* slots in the tables' params arrays; the last is always NULL */

/* Helpers for filters and methods (tmpl-helpers.c) */

/* A set of values for unique/union/...: hashed, with Python equality
 * (or case-insensitive string equality). */
struct vset {
	const struct value **v;
	size_t n, cap;
	int ci;
};

/* A (key, item) pair for tmpl_sort_pairs(). */
struct skey {
	struct value *key, *item;
};

#define NGROUPS 10 /* match slots: the whole match and groups 1..9 */

/* The ignorecase and multiline arguments of tmpl_rx_sub(). */
struct rxopts {
	struct value *ignorecase, *multiline;
};

/* Functions shared between the files, by the file that defines them. */

/* tmpl-parse.c */
int tmpl_is_space(char c);

/* tmpl-eval.c: errors, Undefined, value operations, argument binding */
int tmpl_efail(const struct ctx *c, int line, const char *fmt, ...) EZK_PRINTF(3, 4);
struct value *tmpl_mkundef(int line, const char *fmt, ...) EZK_PRINTF(2, 3);
int tmpl_charge(struct ctx *c, int line, unsigned long long n);
int tmpl_is_undef(const struct value *v);
int tmpl_raise_undef(const struct ctx *c, const struct value *u);
struct value *tmpl_defined(const struct ctx *c, struct value *v);
const char *tmpl_pyname(const struct value *v);
const char *tmpl_type_repr(const struct value *v, char *b, size_t n);
int tmpl_clip(size_t n);
int tmpl_is_intlike(const struct value *v);
int tmpl_is_num(const struct value *v);
long long tmpl_ival(const struct value *v);
double tmpl_fval(const struct value *v);
void tmpl_sv_of(struct sv *sv, const struct value *v);
void tmpl_sv_free(struct sv *sv);
struct value *tmpl_buf_value(struct buf *b);
int tmpl_str_limit(struct ctx *c, int line, size_t n);
struct value *tmpl_get_key(struct ctx *c, int line, struct value *o, const char *k, size_t klen);
struct value *tmpl_get_index(struct ctx *c, int line, struct value *o, long long i);
struct value *tmpl_get_item(struct ctx *c, int line, struct value *o, struct value *k);
int tmpl_order(const struct value *a, const struct value *b, int ci, int *res);
int tmpl_contains(struct ctx *c, int line, struct value *hay, struct value *needle, int *res);
int tmpl_compare(struct ctx *c, int line, int op, struct value *l, struct value *r, int *res);
struct value *tmpl_keys_of(struct ctx *c, int line, struct value *v);
struct value *tmpl_iter_list(struct ctx *c, int line, struct value *v);
struct value *tmpl_binop(struct ctx *c, int line, int op, struct value *l, struct value *r);
int tmpl_truth(struct ctx *c, struct value *v, int *t);
int tmpl_argv_defined(struct ctx *c, struct argv *av);
int tmpl_bind(struct ctx *c, int line, const char *what, const char *const *params, int nreq,
	      int varargs, const struct argv *av, struct value **slots, size_t *nslots);

/* tmpl-helpers.c */
int tmpl_arg_bool(const struct value *v, int dflt);
int tmpl_arg_str(struct ctx *c, int line, const struct value *v, const char *what);
int tmpl_arg_int(struct ctx *c, int line, const struct value *v, const char *what, long long *out);
int tmpl_want_seq(struct ctx *c, int line, struct value *in, struct value **l);
struct value *tmpl_get_path(struct ctx *c, int line, struct value *v, struct value *path);
struct value *tmpl_as_map(struct ctx *c, int line, struct value *v, const char *what);
struct value *tmpl_pair(struct value *a, struct value *b);
int tmpl_vset_add(struct vset *s, const struct value *v);
int tmpl_vset_has(const struct vset *s, const struct value *v);
int tmpl_sort_pairs(struct ctx *c, int line, struct skey *v, size_t n, int ci, int reverse);
int tmpl_is_ws(char ch);
int tmpl_do_split(struct ctx *c, int line, struct value *in, struct value *sepv, struct value *maxv,
		  int right, struct value **out);
int tmpl_do_strip(struct ctx *c, int line, struct value *in, struct value *chars, int which,
		  struct value **out);
int tmpl_do_replace(struct ctx *c, int line, struct value *in, struct value *old, struct value *new,
		    struct value *countv, struct value **out);
struct value *tmpl_recase(struct value *in, int how);
int tmpl_py_regex(struct ctx *c, int line, const struct value *pv, int icase, int multiline,
		  struct rx **re);
int tmpl_rx_exec(struct ctx *c, int line, const struct rx *re, const char *s, size_t from, size_t n,
		 struct rx_span *m, size_t nm, int *found);
int tmpl_expand_repl(struct ctx *c, int line, const struct rx *re, const struct sv *r,
		     const char *subj, const struct rx_span *m, struct buf *out);
int tmpl_rx_sub(struct ctx *c, int line, struct value *in, struct value *pat, struct value *repl,
		struct rxopts o, long long maxcount, struct value **out);

/* tmpl-filters.c */
int tmpl_f_join(struct ctx *c, int line, struct value *in, struct value **a, size_t na,
		struct value **out);
int tmpl_find_filter(const char *name);
struct value *tmpl_apply_filter(struct ctx *c, int line, int f, struct value *in,
				const struct argv *av);
int tmpl_t_case(struct value *in, int upper, int *res);
int tmpl_find_test(const char *name);
int tmpl_apply_test(struct ctx *c, int line, int t, struct value *in, const struct argv *av,
		    int *res);

/* tmpl-methods.c */
struct value *tmpl_call_method(struct ctx *c, const struct expr *e, struct value *self,
			       const struct argv *av);
struct value *tmpl_fn_range(struct ctx *c, const struct expr *e, const struct argv *av);

#endif
