/*
 * template.h - the Jinja2 subset ezk speaks, for inventory variables,
 * config.yml values and role templates.
 *
 * A template is compiled once into an immutable tree and then evaluated as
 * often as needed, from several threads at once (one compile, one render
 * per host):
 *
 *     struct tmpl *t = tmpl_compile(src, len, "config.yml", 42);
 *     if (!t)
 *         return -1;                    // "config.yml:43: template syntax error: ..."
 *     struct tmpl_env env = { my_lookup, my_vars };
 *     struct buf out = BUF_INIT;
 *     if (tmpl_render(t, &env, &out) < 0)   // appends to out
 *         ...;                          // "config.yml:42: 'foo' is undefined"
 *     tmpl_free(t);
 *
 * Names the template does not bind itself ({% set %}, loop variables) are
 * resolved through env->lookup, which may compute them on demand (and may
 * itself render other templates; its errors are passed up unchanged).
 *
 * The language, as Jinja2 and Ansible define it:
 *
 *   text  {{ expr }}  {# comment #}  {% raw %}..{% endraw %}
 *   {% if e %} {% elif e %} {% else %} {% endif %}
 *   {% for x in e [if cond] %} {% else %} {% endfor %}   (also `for k, v in
 *       d.items()`; loop.index, index0, revindex, revindex0, first, last,
 *       length)
 *   {% set x = e %}   {% set x %}..{% endset %}
 *   whitespace control: {{- -}} {%- -%} {#- -#}; trim_blocks (drop the first
 *       newline after a block tag, as Ansible's template module does) is a
 *       compile option.
 *
 * Expressions: literals ('s', "s", 1, 1.5, true/True, none/None, [..],
 * {k: v}), a.b, a['b'], a[0], a[-1], a[1:3], arithmetic (+ - * / // % **),
 * ~ (string concat), comparisons (== != < <= > >=, in, not in), and, or,
 * not, `a if c else b`, filters `x | f(args, kw=v)`, tests `x is [not] t`,
 * string/dict/list methods (.split() .strip() .get() .items() ...) and
 * range(). The filter and test names are listed in tmpl-filters.c.
 *
 * {{ x }} prints Python's str(x) (True, None, "['a', 1]"), except that a
 * top-level None prints as nothing, as Ansible's finalize does.
 *
 * Undefined is not an immediate error, as in Ansible: an unknown name, a
 * missing key or an index out of range gives an Undefined that remembers
 * what was missing. `default`, `is defined` and attribute access on it
 * work; printing it, comparing it, iterating it or testing its truth fails
 * with a message such as "file:12: 'foo' is undefined".
 *
 * Limits keep hostile input harmless: expressions and blocks nest at most a
 * few hundred deep, one render produces at most 16 MiB and does a bounded
 * amount of work. Strings are handled as bytes (lower/upper are ASCII).
 */
#ifndef EZK_TEMPLATE_H
#define EZK_TEMPLATE_H

#include <stddef.h>

#include "buf.h"
#include "value.h"

struct tmpl_env {
	/* Resolve a top-level name. Return 0 and a NEW reference in *out, 1 if
	 * the name is undefined, -1 on error (message already set via err.h). */
	int (*lookup)(void *ud, const char *name, size_t len, struct value **out);
	void *ud;
};

struct tmpl;

/* Compile src (len bytes, need not be NUL-terminated). file names the
 * source in messages (NULL: "<template>"); start_line is the line of src's
 * first byte. Returns NULL on a syntax error, with the message
 * "file:line: template syntax error: ...". Unknown filters, tests, methods
 * and functions are not syntax errors: like Ansible, which templates a value
 * only when it is used, they fail when evaluated ("no filter named 'x'"). */
struct tmpl *tmpl_compile(const char *src, size_t len, const char *file, int start_line);
/* The same, with Jinja's trim_blocks option (1 for role templates, as
 * Ansible's template module uses it). */
struct tmpl *tmpl_compile_ex(const char *src, size_t len, const char *file, int start_line,
			     int trim_blocks);

/* Render to text, appended to out. -1 on error with "file:line: message";
 * out may then hold partial output. */
int tmpl_render(const struct tmpl *t, const struct tmpl_env *env, struct buf *out);

/* Evaluate as Ansible does for variables: if the whole template is one
 * {{ expr }} (nothing around it, not even whitespace), the expression's own
 * value (list, int, ...); otherwise the rendered string. New reference in
 * *out; -1 on error. */
int tmpl_eval(const struct tmpl *t, const struct tmpl_env *env, struct value **out);

void tmpl_free(struct tmpl *t); /* NULL-safe */

/* 1 if s contains "{{", "{%" or "{#" (i.e. needs templating). */
int tmpl_needed(const char *s, size_t len);

#endif
