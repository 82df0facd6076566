/* hostsedit.c - add a host line to a group, or take a host out of one, in
 * a hosts file's text (hostsedit.h). */
#include "hostsedit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "value.h"

struct line {
	const char *s; /* the line, without its newline */
	size_t n;
	size_t end; /* offset just past its newline (or the text's end) */
};

static size_t split_lines(const char *t, size_t len, struct line **out)
{
	size_t cap = 64, n = 0;
	struct line *v = xmalloc(cap * sizeof *v);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - t) : len;
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[n++] = (struct line){t + i, e - i, nl ? e + 1 : len};
		i = nl ? e + 1 : len;
	}
	*out = v;
	return n;
}

static void strip(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* A section header "[name]", "[name:vars]", "[name:children]" (a comment
 * may follow): 1 and the name, and whether it lists hosts. */
static int header(const struct line *l, const char **name, size_t *nlen, bool *hosts)
{
	const char *s = l->s;
	size_t n = l->n;
	strip(&s, &n);
	if (!n || s[0] != '[')
		return 0;
	const char *close = memchr(s, ']', n);
	if (!close)
		return 0;
	*name = s + 1;
	const char *colon = memchr(s + 1, ':', (size_t)(close - s - 1));
	*nlen = (size_t)((colon ? colon : close) - s - 1);
	*hosts = !colon;
	return 1;
}

static bool blank_or_comment(const struct line *l)
{
	const char *s = l->s;
	size_t n = l->n;
	strip(&s, &n);
	return !n || s[0] == '#' || s[0] == ';';
}

/* Whether a host line names exactly this one host (ports, quotes and
 * ranges as the inventory reader has them). */
static bool names_only(const struct line *l, const char *host)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "[x]\n");
	buf_put(&b, l->s, l->n);
	buf_putc(&b, '\n');
	struct inventory *inv = inventory_parse(b.s, b.len, "line");
	buf_free(&b);
	bool yes = inv && inventory_nhosts(inv) == 1 && !strcmp(inventory_host(inv, 0), host);
	inventory_free(inv);
	ezk_err_clear();
	return yes;
}

static bool in_list(const struct value *l, const char *s)
{
	for (size_t i = 0; l && i < value_len(l); i++) {
		const struct value *v = value_list_get(l, i);
		if (v->type == V_STR && !strcmp(v->u.str.s, s))
			return true;
	}
	return false;
}

/* g and every group that contains it, by name */
static void ancestors(const struct inventory *inv, size_t g, struct value *out)
{
	if (in_list(out, inventory_group(inv, g)))
		return;
	value_list_push(out, value_str(inventory_group(inv, g)));
	const size_t *p;
	size_t n = inventory_group_parents(inv, g, &p);
	for (size_t i = 0; i < n; i++)
		ancestors(inv, p[i], out);
}

/* The edit changed the host's membership of group (and of the groups that
 * contain it) and nothing else: every other host keeps its groups and
 * variables, no host appears or disappears but this one. */
static int verify(const char *old, size_t olen, const char *new, size_t nlen, const char *group,
		  const char *host, bool adding, const char *path)
{
	struct inventory *a = inventory_parse(old, olen, path), *b = NULL;
	int rc = -1;
	if (!a)
		return -1;
	if (!(b = inventory_parse(new, nlen, path))) {
		ezk_fail_prefix("the edited %s would not read", path);
		goto out;
	}
	for (size_t i = 0; i < inventory_nhosts(a); i++) {
		const char *h = inventory_host(a, i);
		long j = inventory_host_find(b, h);
		if (!strcmp(h, host))
			continue;
		struct value *ga = inventory_group_names(a, i);
		struct value *gb = j < 0 ? NULL : inventory_group_names(b, (size_t)j);
		bool same =
		    j >= 0 && value_equal(ga, gb) &&
		    value_equal(inventory_host_vars(a, i), inventory_host_vars(b, (size_t)j));
		value_unref(ga);
		value_unref(gb);
		if (!same) {
			ezk_fail("%s: editing it for %s would change host %s too: edit it by hand",
				 path, host, h);
			goto out;
		}
	}
	for (size_t j = 0; j < inventory_nhosts(b); j++)
		if (strcmp(inventory_host(b, j), host) &&
		    inventory_host_find(a, inventory_host(b, j)) < 0) {
			ezk_fail("%s: editing it for %s would add host %s: edit it by hand", path,
				 host, inventory_host(b, j));
			goto out;
		}
	long ia = inventory_host_find(a, host), ib = inventory_host_find(b, host);
	struct value *ga = ia < 0 ? value_list() : inventory_group_names(a, (size_t)ia);
	struct value *gb = ib < 0 ? value_list() : inventory_group_names(b, (size_t)ib);
	struct value *anc = value_list();
	long g = inventory_group_find(adding ? b : a, group);
	if (g >= 0)
		ancestors(adding ? b : a, (size_t)g, anc);
	bool ok = adding ? in_list(gb, group) : !in_list(gb, group);
	/* the groups it gains (adding) or loses: only group and its parents */
	struct value *from = adding ? gb : ga, *to = adding ? ga : gb;
	for (size_t i = 0; ok && i < value_len(from); i++) {
		const char *n = value_list_get(from, i)->u.str.s;
		ok = in_list(to, n) || in_list(anc, n) || !strcmp(n, "ungrouped");
	}
	for (size_t i = 0; ok && i < value_len(to); i++) {
		const char *n = value_list_get(to, i)->u.str.s;
		ok = in_list(from, n) || !strcmp(n, "ungrouped");
	}
	value_unref(ga);
	value_unref(gb);
	value_unref(anc);
	if (!ok) {
		ezk_fail("%s: %s %s [%s] by editing its lines changes other memberships too "
			 "(a range, or a :children group?): edit it by hand",
			 path, adding ? "adding" : "removing", host, group);
		goto out;
	}
	rc = 0;
out:
	inventory_free(a);
	inventory_free(b);
	return rc;
}

int hosts_edit_add(const char *text, size_t len, const char *group, const char *line,
		   const char *path, struct buf *out)
{
	struct inventory *inv = inventory_parse(text, len, path);
	if (!inv)
		return -1;
	/* the line alone: one host, readable */
	struct buf one = BUF_INIT;
	buf_printf(&one, "[%s]\n%s\n", group, line);
	struct inventory *li = inventory_parse(one.s, one.len, "the new line");
	buf_free(&one);
	if (!li || inventory_nhosts(li) != 1) {
		if (li)
			ezk_fail("'%s' names %zu hosts: one at a time", line, inventory_nhosts(li));
		inventory_free(li);
		inventory_free(inv);
		return -1;
	}
	char *host = xstrdup(inventory_host(li, 0));
	inventory_free(li);
	long h = inventory_host_find(inv, host), g = inventory_group_find(inv, group);
	bool there = false;
	if (h >= 0 && g >= 0) {
		struct value *names = inventory_group_names(inv, (size_t)h);
		there = in_list(names, group);
		value_unref(names);
	}
	inventory_free(inv);
	if (there) {
		ezk_fail("%s is in [%s] already (%s)", host, group, path);
		free(host);
		return -1;
	}

	struct line *ls;
	size_t n = split_lines(text, len, &ls);
	long at = -1; /* insert after this line */
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		const char *nm;
		size_t nl;
		bool hosts;
		if (header(&ls[i], &nm, &nl, &hosts)) {
			in = hosts && nl == strlen(group) && !memcmp(nm, group, nl);
			if (in)
				at = (long)i;
		} else if (in && !blank_or_comment(&ls[i])) {
			at = (long)i;
		}
	}
	size_t start = out->len;
	if (at >= 0) {
		buf_put(out, text, ls[at].end);
		if (ls[at].end == len && (len == 0 || text[len - 1] != '\n'))
			buf_putc(out, '\n');
		buf_printf(out, "%s\n", line);
		buf_put(out, text + ls[at].end, len - ls[at].end);
	} else {
		buf_put(out, text, len);
		if (len && text[len - 1] != '\n')
			buf_putc(out, '\n');
		buf_printf(out, "\n[%s]\n%s\n", group, line);
	}
	free(ls);
	int rc = verify(text, len, out->s + start, out->len - start, group, host, true, path);
	free(host);
	return rc;
}

int hosts_edit_remove(const char *text, size_t len, const char *group, const char *host,
		      const char *path, struct buf *out, struct buf *removed)
{
	struct line *ls;
	size_t n = split_lines(text, len, &ls);
	size_t start = out->len, count = 0;
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		const char *nm;
		size_t nl;
		bool hosts;
		const char *from = ls[i].s;
		if (header(&ls[i], &nm, &nl, &hosts)) {
			in = hosts && nl == strlen(group) && !memcmp(nm, group, nl);
		} else if (in && !blank_or_comment(&ls[i]) && names_only(&ls[i], host)) {
			count++;
			if (removed) {
				buf_put(removed, ls[i].s, ls[i].n);
				buf_putc(removed, '\n');
			}
			continue;
		}
		buf_put(out, from, ls[i].end - (size_t)(from - text));
	}
	free(ls);
	if (!count) {
		return ezk_fail("%s: no line of [%s] names %s by itself (a range, or a :children "
				"group?): edit it by hand",
				path, group, host);
	}
	return verify(text, len, out->s + start, out->len - start, group, host, false, path);
}
