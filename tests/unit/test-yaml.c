/* test-yaml.c - YAML loading as PyYAML's SafeLoader does, and emitting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span.h"
#include "tap.h"
#include "yamlio.h"

static struct value *load(const char *text)
{
	return yaml_load_any(text, strlen(text), "t.yml");
}

/* The error message loading text gives ("(loaded)" if it loads). */
static const char *err_of(const char *text, int want_map)
{
	static char msg[1024];
	struct value *v = want_map ? yaml_load(text, strlen(text), "t.yml") : load(text);
	if (v) {
		value_unref(v);
		return "(loaded)";
	}
	snprintf(msg, sizeof msg, "%s", ezk_err_msg());
	return msg;
}

/* The one item of "- <scalar>", or of the top level. */
static struct value *scalar(const char *text)
{
	static struct value *last;
	value_unref(last);
	last = load(text);
	return last;
}

static int is_type(const char *text, enum vtype t)
{
	struct value *v = scalar(text);
	return v && v->type == t;
}

static int is_s(const char *text, const char *want)
{
	struct value *v = scalar(text);
	return v && v->type == V_STR && strcmp(v->u.str.s, want) == 0;
}

static int is_i(const char *text, long long want)
{
	struct value *v = scalar(text);
	return v && v->type == V_INT && v->u.i == want;
}

static int is_f(const char *text, double want)
{
	struct value *v = scalar(text);
	return v && v->type == V_FLOAT && v->u.f == want;
}

static int is_b(const char *text, int want)
{
	struct value *v = scalar(text);
	return v && v->type == V_BOOL && v->u.b == want;
}

/* Python's str() of v. */
static const char *str_of(const struct value *v)
{
	static struct buf b;
	buf_reset(&b);
	if (v)
		value_to_str(v, &b);
	else
		buf_puts(&b, "(null)");
	return buf_cstr(&b);
}

static const char *keys_of(const struct value *m)
{
	static struct buf b;
	buf_reset(&b);
	for (size_t i = 0; m && m->type == V_MAP && i < value_len(m); i++)
		buf_printf(&b, "%s%s", i ? "," : "", value_map_key(m, i));
	return buf_cstr(&b);
}

/* Emit v, load the result back: equal? */
static int round_trips(struct value *v)
{
	struct buf b = BUF_INIT;
	yaml_emit(v, &b);
	struct value *back = yaml_load_any(b.s, b.len, "emitted");
	int ok = back && value_equal(v, back);
	if (!ok)
		printf("#   emitted: %s#   error: %s\n", buf_cstr(&b), back ? "" : ezk_err_msg());
	value_unref(back);
	buf_free(&b);
	value_unref(v);
	return ok;
}

static void test_scalars(void)
{
	ok(is_type("~", V_NULL) && is_type("null", V_NULL) && is_type("Null", V_NULL) &&
	       is_type("NULL", V_NULL),
	   "~ null Null NULL are null");
	struct value *m = load("a:\nb: nULL\n");
	ok(m && value_map_get(m, "a")->type == V_NULL, "an empty value is null");
	is_str(str_of(value_map_get(m, "b")), "nULL", "nULL is a string");
	value_unref(m);
	ok(is_b("yes", 1) && is_b("Yes", 1) && is_b("YES", 1) && is_b("on", 1) && is_b("ON", 1) &&
	       is_b("true", 1) && is_b("True", 1) && is_b("TRUE", 1),
	   "yes/on/true in three spellings are true");
	ok(is_b("no", 0) && is_b("No", 0) && is_b("off", 0) && is_b("Off", 0) && is_b("false", 0) &&
	       is_b("FALSE", 0),
	   "no/off/false are false");
	ok(is_s("y", "y") && is_s("n", "n") && is_s("tRUE", "tRUE") && is_s("oN", "oN"),
	   "y, n and odd casings are strings");
	ok(is_i("12", 12) && is_i("-3", -3) && is_i("+12", 12) && is_i("0", 0) && is_i("-0", 0),
	   "decimal ints");
	ok(is_i("1_000", 1000) && is_i("1__2", 12), "underscores in ints");
	ok(is_i("0x1F", 31) && is_i("0x_1f", 31) && is_i("-0x10", -16), "hex ints");
	ok(is_i("0755", 493) && is_i("0_7", 7), "a leading 0 is octal (YAML 1.1)");
	ok(is_s("08", "08") && is_s("0o17", "0o17"), "08 and 0o17 are strings");
	ok(is_i("0b101", 5) && is_i("-0b101", -5), "binary ints");
	ok(is_i("190:20:30", 685230) && is_i("1:2", 62) && is_s("1:60", "1:60"), "base 60 ints");
	ok(is_i("9223372036854775807", 9223372036854775807LL) &&
	       is_i("-9223372036854775808", -9223372036854775807LL - 1),
	   "the int64 range");
	ok(is_f("1.5", 1.5) && is_f("1.", 1.0) && is_f(".5", 0.5) && is_f("-1.5", -1.5) &&
	       is_f("1_0.5", 10.5),
	   "floats need a dot");
	ok(is_f("1.0e+3", 1000) && is_f("1.5E-2", 0.015), "floats with signed exponents");
	ok(is_s("1e3", "1e3") && is_s("1.0e3", "1.0e3") && is_s("-.5", "-.5") && is_s("._5", "._5"),
	   "1e3, 1.0e3 and -.5 are strings (YAML 1.1)");
	ok(is_f(".inf", INFINITY) && is_f("-.Inf", -INFINITY) && is_f("+.INF", INFINITY),
	   ".inf spellings");
	struct value *nan = scalar(".NaN");
	ok(nan && nan->type == V_FLOAT && isnan(nan->u.f), ".NaN is NaN");
	ok(is_f("190:20:30.5", 685230.5), "base 60 floats");
	ok(is_f("1.0e+1000", INFINITY), "an overflowing float is inf");
	ok(is_s("2001-12-14", "2001-12-14") &&
	       is_s("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"),
	   "timestamps stay text");
	ok(is_s("hello  world # no", "hello  world") && is_s("a:b", "a:b") &&
	       is_s("http://x:80/", "http://x:80/"),
	   "plain strings, comments cut");
	ok(is_s("plain\n  folded\n\n  more", "plain folded\nmore"), "plain scalars fold");
}

static void test_quoted_and_block(void)
{
	ok(is_s("'123'", "123") && is_s("\"yes\"", "yes") && is_s("'~'", "~") && is_s("\"\"", "") &&
	       is_s("'1.5'", "1.5"),
	   "quoted scalars are strings");
	ok(is_s("'it''s'", "it's"), "'' in single quotes");
	ok(is_s("\"\\t\\x41\\u00e9\\n\\\\\\\"\"", "\tA\xc3\xa9\n\\\""), "double-quoted escapes");
	ok(is_s("\"a\\\n    b\"", "ab"), "an escaped line break joins lines");
	ok(is_s("\"a\n\n  b\"", "a\nb"), "line folding in double quotes");
	ok(is_s("|\n  a\n  b\n\n", "a\nb\n"), "literal block, clip");
	ok(is_s("|-\n  a\n  b\n\n", "a\nb"), "literal block, strip");
	ok(is_s("|+\n  a\n\n", "a\n\n"), "literal block, keep");
	ok(is_s(">\n  a\n  b\n\n  c\n", "a b\nc\n"), "folded block");
	ok(is_s(">-\n  a\n   b\n  c\n", "a\n b\nc"), "folded block, more indented line");
	ok(is_s("|2\n    x\n  y\n", "  x\ny\n"), "indentation indicator");
	ok(is_s("|\n  123\n", "123\n") && is_s("--- >\n  yes", "yes"), "block scalars are strings");
}

static void test_collections(void)
{
	struct value *v = load("- [a, [b, c], {d: e}]\n- {a: [1, 2], b: {c: d}}\n- []\n- {}\n");
	is_str(str_of(v), "[['a', ['b', 'c'], {'d': 'e'}], {'a': [1, 2], 'b': {'c': 'd'}}, [], {}]",
	       "flow collections");
	value_unref(v);
	v = load("a:\n  b:\n    - c\n    - d: 1\n      e: [x]\n  f: - g\n");
	ok(!v, "'- ' in a plain value is an error");
	v = load("a:\n  b:\n    - c\n    - d: 1\n      e: [x]\n  f: g\nh:\n- - i\n  - j\n");
	is_str(str_of(v), "{'a': {'b': ['c', {'d': 1, 'e': ['x']}], 'f': 'g'}, 'h': [['i', 'j']]}",
	       "block collections");
	value_unref(v);
	v = load("z: 1\na: 2\nm: 3\n");
	is_str(keys_of(v), "z,a,m", "maps keep the document's order");
	value_unref(v);
	v = load("x: 1\ny: 2\nx: 3\n");
	is_str(str_of(v), "{'x': 3, 'y': 2}", "a duplicate key: the last value, the first place");
	value_unref(v);
	v = load("? a\n? b\n: c\n[1, 2]: 3\n");
	ok(!v, "a flow sequence is not a simple key here (syntax)");
	v = load("{? a, b: }\n");
	is_str(str_of(v), "{'a': None, 'b': None}", "keys without values");
	value_unref(v);
	v = load("1: a\nfalse: b\n~: c\n1.5: d\n0x10: e\n\"2\": f\n685230.0: g\n1e+20: h\n");
	is_str(keys_of(v), "1,False,None,1.5,16,2,685230.0,1e+20",
	       "non-string keys become Python's str()");
	value_unref(v);
	v = load("{1: a, true: b, 1.0: c, 0: d, false: e, 2.5: f, 2.50: g}");
	is_str(str_of(v), "{'1': 'c', '0': 'e', '2.5': 'g'}",
	       "1, true and 1.0 are one key, as in a Python dict");
	value_unref(v);
}

static void test_anchors(void)
{
	struct value *v = load("- &a x\n- *a\n- &b [1, 2]\n- *b\n- &c {k: v}\n- *c\n");
	ok(v && value_list_get(v, 2) == value_list_get(v, 3) &&
	       value_list_get(v, 4) == value_list_get(v, 5),
	   "an alias is the anchored value itself");
	is_str(str_of(v), "['x', 'x', [1, 2], [1, 2], {'k': 'v'}, {'k': 'v'}]", "aliases");
	value_unref(v);
	v = load("a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\n"
		 "c:\n  <<: [*a, *b]\n  w: 5\n"
		 "d:\n  <<: *a\n  <<: *b\n  x: 0\n"
		 "e:\n  x: 9\n  <<: *a\n");
	is_str(str_of(value_map_get(v, "c")), "{'y': 2, 'z': 4, 'x': 1, 'w': 5}",
	       "<<: [*a, *b]: *a wins, PyYAML's key order");
	is_str(str_of(value_map_get(v, "d")), "{'x': 0, 'y': 3, 'z': 4}",
	       "two << keys: the later wins, own keys win");
	is_str(str_of(value_map_get(v, "e")), "{'x': 9, 'y': 2}", "<< after own keys");
	value_unref(v);
	v = load("a: &a [{x: 1}]\nb: {<<: *a}\nc: {'<<': 1}\nd: {<<: {p: q}}\n");
	is_str(str_of(v), "{'a': [{'x': 1}], 'b': {'x': 1}, 'c': {'<<': 1}, 'd': {'p': 'q'}}",
	       "merging a list alias; a quoted << is a key");
	value_unref(v);
	/* billion laughs: 9^9 strings if expanded, 10 lists as loaded */
	struct buf b = BUF_INIT;
	buf_puts(&b, "l0: &l0 lol\n");
	for (int i = 1; i <= 9; i++) {
		buf_printf(&b, "l%d: &l%d [", i, i);
		for (int j = 0; j < 9; j++)
			buf_printf(&b, "%s*l%d", j ? ", " : "", i - 1);
		buf_puts(&b, "]\n");
	}
	v = yaml_load(b.s, b.len, "bomb.yml");
	ok(v && value_list_get(value_map_get(v, "l9"), 8) == value_map_get(v, "l8"),
	   "an alias bomb loads shared, in linear memory");
	value_unref(v);
	buf_free(&b);
}

static void test_tags(void)
{
	ok(is_s("!!str 1.5", "1.5") && is_s("!!str yes", "yes") && is_s("!!str", ""), "!!str");
	ok(is_i("!!int '12'", 12) && is_i("!!int ' 12 '", 12) && is_i("!!int '0x1F'", 31) &&
	       is_i("!!int 0o17", 15),
	   "!!int on text");
	ok(is_f("!!float '1'", 1.0) && is_f("!!float 1e3", 1000.0), "!!float on text");
	ok(is_b("!!bool 'Yes'", 1) && is_type("!!null abc", V_NULL), "!!bool, !!null");
	ok(is_s("!unsafe 1", "1") && is_s("!unsafe '{{ x }}'", "{{ x }}"),
	   "Ansible's !unsafe gives the text");
	ok(is_i("! 123", 123) && is_i("! '123'", 123), "the ! tag resolves as plain (PyYAML)");
	ok(is_s("!!binary aGVsbG8=", "hello"), "!!binary");
	struct value *v = load("a: !!map {b: !!seq [c]}\nd: !<tag:yaml.org,2002:str> 12\n");
	is_str(str_of(v), "{'a': {'b': ['c']}, 'd': '12'}", "!!map, !!seq, verbatim tags");
	value_unref(v);
}

static void test_lines(void)
{
	struct value *v = load("# c\na: 1\nb:\n  - x\n  - |\n    y\nc: {d: e}\n");
	struct value *b = value_map_get(v, "b");
	is_int(value_map_get(v, "a")->line, 2, "scalar line");
	is_int(b->line, 4, "a block sequence starts at its first item");
	is_int(value_list_get(b, 1)->line, 5, "a block scalar's line");
	is_int(value_map_get(v, "c")->line, 7, "a flow mapping's line");
	is_str(value_map_get(v, "a")->file, "t.yml", "values name their file");
	value_unref(v);
}

static void test_errors(void)
{
	is_str(err_of("a: 1\nb: c: d\n", 0),
	       "t.yml:2: mapping values are not allowed in this context", "syntax error line");
	is_str(err_of("a: 1\nb:\n  - x\n c: d\n", 0),
	       "t.yml:4: did not find expected key (while parsing a block mapping at line 1)",
	       "syntax error with context");
	is_str(
	    err_of("a: [1, 2\n", 0),
	    "t.yml:2: did not find expected ',' or ']' (while parsing a flow sequence at line 1)",
	    "unclosed flow sequence");
	is_str(err_of("a: 1\n\tb: 2\n", 0),
	       "t.yml:2: found a tab character that violates indentation (while scanning a plain "
	       "scalar at line 1)",
	       "a tab as indentation");
	is_str(err_of("a: 1\nb: \"x\xff\"\n", 0), "t.yml:2: invalid leading UTF-8 octet (#FF)",
	       "invalid UTF-8");
	is_str(err_of("a: 1\nb: *x\n", 0), "t.yml:2: found undefined alias 'x'", "undefined alias");
	is_str(err_of("a: &x 1\nb: &x 2\n", 0),
	       "t.yml:2: found duplicate anchor 'x'; first occurrence at line 1",
	       "duplicate anchor");
	is_str(err_of("a: &a\n  - *a\n", 0),
	       "t.yml:2: found recursive alias 'a' (a node cannot contain itself)",
	       "recursive alias");
	is_str(err_of("a: 1\n---\nb: 2\n", 0), "t.yml:2: expected a single document",
	       "two documents");
	is_str(err_of("- a\n", 1), "t.yml:1: expected a mapping at the top level",
	       "top level list");
	is_str(err_of("# x\n\nhello\n", 1), "t.yml:3: expected a mapping at the top level",
	       "top level scalar");
	is_str(err_of("a: 1\nb: !vault x\n", 0),
	       "t.yml:2: could not determine a constructor for the tag '!vault'", "unknown tag");
	is_str(err_of("a: !!set {x}\n", 0),
	       "t.yml:1: the tag 'tag:yaml.org,2002:set' is not supported", "!!set");
	is_str(err_of("a: 1\n? [x]\n: 2\n", 0), "t.yml:2: found unhashable key", "a list as key");
	is_str(err_of("a: &a [1]\nb: {<<: *a}\n", 0),
	       "t.yml:1: expected a mapping for merging, but found scalar",
	       "merging a list of scalars");
	is_str(err_of("a:\n  <<: x\n", 0),
	       "t.yml:2: expected a mapping or list of mappings for merging, but found scalar",
	       "merging a scalar");
	is_str(err_of("a: <<\n", 0),
	       "t.yml:1: could not determine a constructor for the tag 'tag:yaml.org,2002:merge'",
	       "<< as a value");
	is_str(err_of("a: !!int 12.5\n", 0), "t.yml:1: invalid integer '12.5'", "bad !!int");
	is_str(err_of("a: !!bool y\n", 0), "t.yml:1: invalid boolean 'y'", "bad !!bool");
	is_str(err_of("a: !!float 0x10\n", 0), "t.yml:1: invalid float '0x10'", "bad !!float");
	is_str(err_of("a: !!str [1]\n", 0), "t.yml:1: expected a scalar node, but found sequence",
	       "!!str on a sequence");
	is_str(err_of("a: !!map x\n", 0), "t.yml:1: expected a mapping node, but found scalar",
	       "!!map on a scalar");
	is_str(err_of("a: 9223372036854775808\n", 0),
	       "t.yml:1: integer out of range: '9223372036854775808'", "int overflow");
	is_str(err_of("a: !foo x\nb: [\n", 0),
	       "t.yml:3: did not find expected node content (while parsing a flow node at line 3)",
	       "a syntax error is reported before a constructor error");
	char deep[700];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[600] = '\0';
	is_str(err_of(deep, 0), "t.yml:1: too deeply nested (more than 256 levels)", "depth limit");
	ok(!yaml_load_file("/nonexistent/x.yml") &&
	       !strcmp(ezk_err_msg(), "/nonexistent/x.yml: No such file or directory"),
	   "a missing file");
}

static void test_documents(void)
{
	struct value *v = yaml_load("", 0, "e.yml");
	ok(v && v->type == V_MAP && value_len(v) == 0, "an empty file is an empty map");
	value_unref(v);
	v = yaml_load("# only\n# comments\n", 18, "e.yml");
	ok(v && v->type == V_MAP && value_len(v) == 0, "only comments: an empty map");
	value_unref(v);
	v = yaml_load("---\n...\n", 8, "e.yml");
	ok(v && v->type == V_MAP && value_len(v) == 0, "a null document: an empty map");
	value_unref(v);
	v = yaml_load_any("", 0, "e.yml");
	ok(v && v->type == V_NULL, "yaml_load_any of nothing is null");
	value_unref(v);
	v = load("%YAML 1.1\n---\na: 1\n...\n");
	is_str(str_of(v), "{'a': 1}", "directives and document markers");
	value_unref(v);
}

static void test_kubeasz(void)
{
	const char *dir = getenv("EZK_SHARED_DATA") ? getenv("EZK_SHARED_DATA") : "../shared/data";
	char path[4096];
	snprintf(path, sizeof path, "%s/kubeasz-example/config.yml", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		for (int i = 0; i < 10; i++)
			printf("ok %d - # SKIP no %s\n", ++tap_n, path);
		return;
	}
	fclose(f);
	struct value *c = yaml_load_file(path), *v;
	ok(c && c->type == V_MAP, "config.yml loads");
	if (!c) {
		printf("#   %s\n", ezk_err_msg());
		return;
	}
	is_str(str_of(value_map_get(c, "INSTALL_SOURCE")), "online", "INSTALL_SOURCE");
	v = value_map_get(c, "OS_HARDEN");
	ok(v && v->type == V_BOOL && !v->u.b, "OS_HARDEN is false");
	v = value_map_get(c, "NODE_CIDR_LEN");
	ok(v && v->type == V_INT && v->u.i == 24, "NODE_CIDR_LEN is 24");
	v = value_map_get(c, "INSECURE_REG");
	ok(v && v->type == V_LIST && value_len(v) == 2, "INSECURE_REG has 2 items");
	is_str(str_of(value_map_get(c, "K8S_NODENAME")),
	       "{%- if k8s_nodename != '' -%} {{ k8s_nodename|replace('_', '-')|lower }} {%- else "
	       "-%} k8s-{{ inventory_hostname|replace('.', '-') }} {%- endif -%}",
	       "K8S_NODENAME as PyYAML reads it");
	v = value_map_get(c, "HARBOR_PATH");
	ok(v && v->type == V_STR && !strcmp(v->u.str.s, "/var/data"), "HARBOR_PATH");
	v = value_map_get(c, "CALICO_RR_NODES");
	ok(v && v->type == V_LIST && value_len(v) == 0, "CALICO_RR_NODES is []");
	is_int(value_map_get(c, "INSTALL_SOURCE")->line, 5, "INSTALL_SOURCE's line");
	is_int(value_map_get(c, "NODE_CIDR_LEN")->line, 98, "NODE_CIDR_LEN's line");
	ok(round_trips(c), "config.yml emits and reloads the same");
}

static void test_emit(void)
{
	static const char *tricky[] = {
	    "yes",
	    "No",
	    "on",
	    "1.0",
	    "1e3",
	    "0755",
	    "0x1F",
	    "12",
	    "~",
	    "null",
	    "",
	    "a: b",
	    "- x",
	    " leading",
	    "trailing ",
	    "multi\nline\n",
	    "#x",
	    "x #y",
	    "x:",
	    "'q'",
	    "\"dq\"",
	    "<<",
	    "=",
	    "---",
	    "...",
	    "2001-12-14",
	    "190:20:30",
	    ".inf",
	    "\t",
	    "\\",
	    "\xc3\xa9t\xc3\xa9",
	    "\xe2\x80\xa8",
	    "\xef\xbb\xbf",
	    "\x01\x7f",
	    "{{ x }}",
	    "[a]",
	    "@a",
	    "%a",
	    "!a",
	    "&a",
	    "*a",
	    "|",
	    ">",
	    "?",
	    "? a",
	    ",",
	    "a, b",
	};
	for (size_t i = 0; i < sizeof tricky / sizeof *tricky; i++) {
		char what[80];
		snprintf(what, sizeof what, "round trip of string %zu", i);
		struct value *l = value_list(), *m = value_map();
		value_list_push(l, value_str(tricky[i]));
		value_map_set(m, tricky[i], value_str(tricky[i]));
		value_list_push(l, m);
		ok(round_trips(l) && round_trips(value_str(tricky[i])), what);
	}
	struct value *v =
	    load("a: [1, {b: c}, [d, [e]], {}, []]\nf:\n  g: 1.5\n  h: ~\n  i: true\n");
	struct buf b = BUF_INIT;
	yaml_emit(v, &b);
	is_str(buf_cstr(&b),
	       "a:\n  - 1\n  - b: c\n  - - d\n    - - e\n  - {}\n  - []\nf:\n  g: 1.5\n  h: null\n"
	       "  i: true\n",
	       "block style output");
	ok(round_trips(v), "nested round trip");
	buf_reset(&b);
	v = load("[1.0, 1.0e+20, 1.5e-07, -.inf, .nan, 0.1, -0.0]");
	yaml_emit(v, &b);
	is_str(buf_cstr(&b), "- 1.0\n- 1.0e+20\n- 1.5e-07\n- -.inf\n- .nan\n- 0.1\n- -0.0\n",
	       "floats as PyYAML writes them");
	value_unref(v);
	buf_reset(&b);
	char key[1500];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	v = value_map();
	value_map_set(v, key, value_int(1));
	ok(round_trips(v), "a key too long for a simple key");
	buf_free(&b);
	v = value_strn("a\0b", 3);
	ok(round_trips(v), "a NUL in a string");
}

/* Where each top-level value lies in the text (span.h). */
static void test_spans(void)
{
	const char *t = "\xEF\xBB\xBF\xc3\xa9: \xc3\xbc\n"
			"\"k\": v1\n"
			"b: |\n  l1\n  l2\n"
			"p: first\n  second\n"
			"? c\n: cv\n"
			"l:\n  - x\n"
			"m: {x: 1}\n"
			"s: 'a''b' # c\n";
	struct var_spans sp = {0};
	struct value *v = yaml_load_spans(t, strlen(t), "c.yml", &sp);
	ok(v != NULL, "spans: the text loads");
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sp.n; i++)
		buf_printf(&b, "%s[%.*s]|", sp.v[i].key, (int)(sp.v[i].end - sp.v[i].start),
			   t + sp.v[i].start);
	is_str(buf_cstr(&b),
	       "\xc3\xa9[\xc3\xbc]|k[v1]|b[|\n  l1\n  l2\n]|p[first\n  second]|c[cv]|l[- x\n]|"
	       "m[{x: 1}]|s['a''b']|",
	       "spans: every top-level value, byte offsets after UTF-8 and a byte order mark");
	buf_free(&b);
	value_unref(v);
	var_spans_free(&sp);
	v = yaml_load_spans("a: 1\nb: [\n", 10, "c.yml", &sp);
	ok(!v && sp.n == 0, "spans: none when the text does not load");
	var_spans_free(&sp);
}

int main(void)
{
	test_scalars();
	test_quoted_and_block();
	test_collections();
	test_anchors();
	test_tags();
	test_lines();
	test_errors();
	test_documents();
	test_kubeasz();
	test_emit();
	test_spans();
	value_unref(scalar("~")); /* frees the last one */
	return tap_done();
}
