/*
 * test-inventory.c - the INI inventory reader and the Python literal
 * reader behind it. Every expectation here was checked against
 * ansible-core 2.14's `ansible-inventory -i FILE --list` (or Python 3.11's
 * ast.literal_eval), except where a comment says ezk differs on purpose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "inventory.h"
#include "pyliteral.h"
#include "span.h"
#include "tap.h"

static char jbuf[16384];

/* Compact JSON of v ("(none)" for NULL), in a static buffer. */
static const char *json(const struct value *v)
{
	struct buf b = BUF_INIT;
	if (!v)
		return "(none)";
	value_to_json(v, &b, 0, 0);
	snprintf(jbuf, sizeof jbuf, "%s", buf_cstr(&b));
	buf_free(&b);
	return jbuf;
}

static const char *json_take(struct value *v)
{
	const char *s = json(v);
	value_unref(v);
	return s;
}

static struct inventory *parse(const char *text)
{
	return inventory_parse(text, strlen(text), "t.ini");
}

/* The error message of a text that must not parse. */
static const char *perr(const char *text)
{
	struct inventory *inv = parse(text);
	if (inv) {
		inventory_free(inv);
		return "(parsed)";
	}
	return ezk_err_msg();
}

static const char *hvar(const struct inventory *inv, const char *host, const char *key)
{
	long h = inventory_host_find(inv, host);
	if (h < 0)
		return "(no host)";
	return json(value_map_get(inventory_host_vars(inv, (size_t)h), key));
}

static const char *gvar(const struct inventory *inv, const char *group, const char *key)
{
	long g = inventory_group_find(inv, group);
	if (g < 0)
		return "(no group)";
	return json(value_map_get(inventory_group_vars(inv, (size_t)g), key));
}

/* The merged inventory variable of a host. */
static const char *mvar(const struct inventory *inv, const char *host, const char *key)
{
	long h = inventory_host_find(inv, host);
	if (h < 0)
		return "(no host)";
	struct value *m = inventory_host_merged_vars(inv, (size_t)h);
	const char *s = json(value_map_get(m, key));
	value_unref(m);
	return s;
}

static const char *lit(const char *s)
{
	return json_take(pyliteral_value(s, strlen(s), "lit", 1));
}

/* Space-separated names of a group's direct hosts. */
static const char *ghosts(const struct inventory *inv, const char *group)
{
	static char out[4096];
	long g = inventory_group_find(inv, group);
	const size_t *hs;
	out[0] = '\0';
	if (g < 0)
		return "(no group)";
	size_t n = inventory_group_hosts(inv, (size_t)g, &hs);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, " ");
		strncat(out, inventory_host(inv, hs[i]), sizeof out - strlen(out) - 2);
	}
	return out;
}

/* Space-separated precedence list of a host's groups. */
static const char *hgroups(const struct inventory *inv, const char *host)
{
	static char out[4096];
	long h = inventory_host_find(inv, host);
	const size_t *gs;
	out[0] = '\0';
	if (h < 0)
		return "(no host)";
	size_t n = inventory_host_groups(inv, (size_t)h, &gs);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, " ");
		strncat(out, inventory_group(inv, gs[i]), sizeof out - strlen(out) - 2);
	}
	return out;
}

static void test_literals(void)
{
	is_str(lit("6443"), "6443", "literal: int");
	is_str(lit("\"6443\""), "\"6443\"", "literal: quoted digits stay a string");
	is_str(lit("010"), "\"010\"", "literal: 010 is a py3 syntax error -> raw string");
	is_str(lit("-5"), "-5", "literal: negative int");
	is_str(lit("+5"), "5", "literal: unary plus");
	is_str(lit("0x1F 0o17"), "\"0x1F 0o17\"", "literal: two numbers -> raw");
	is_str(lit("[0x1F, 0o17, 0b101, 1_000, 00]"), "[31,15,5,1000,0]", "literal: int forms");
	is_str(lit("True"), "true", "literal: True");
	is_str(lit("False"), "false", "literal: False");
	is_str(lit("None"), "null", "literal: None");
	is_str(lit("[1.5, .5, 2.5e-3]"), "[1.5,0.5,0.0025]", "literal: floats");
	{
		struct value *v = pyliteral_value("1.", 2, "lit", 1);
		ok(v->type == V_FLOAT && v->u.f == 1.0, "literal: 1. is a float");
		value_unref(v);
	}
	is_str(lit("[1,'a']"), "[1,\"a\"]", "literal: list");
	is_str(lit("{'a':1}"), "{\"a\":1}", "literal: dict");
	is_str(lit("''"), "\"\"", "literal: empty string");
	is_str(lit(""), "\"\"", "literal: nothing -> empty raw string");
	is_str(lit("'a' \"b\" '''c'''"), "\"abc\"", "literal: adjacent strings concatenate");
	is_str(lit("r'\\n'"), "\"\\\\n\"", "literal: raw string keeps the backslash");
	{
		struct value *v = pyliteral_value("'\\x41\\u00e9\\t\\101\\d'", 20, "lit", 1);
		ok(v->type == V_STR && strcmp(v->u.str.s, "A\xc3\xa9\tA\\d") == 0,
		   "literal: \\x \\u \\t octal and unknown escapes");
		value_unref(v);
	}
	is_str(lit("b'xy'"), "\"xy\"", "literal: bytes become text");
	is_str(lit("(1, 2)"), "[1,2]", "literal: tuple -> list");
	is_str(lit("1, 2"), "[1,2]", "literal: bare tuple at the top");
	is_str(lit("1,"), "[1]", "literal: one-element bare tuple");
	is_str(lit("(1)"), "1", "literal: parentheses group");
	is_str(lit("()"), "[]", "literal: empty tuple");
	is_str(lit("[1, 2, ]"), "[1,2]", "literal: trailing comma");
	is_str(lit("{'a': {'b': [True, None, (1,)]}}"), "{\"a\":{\"b\":[true,null,[1]]}}",
	       "literal: nested");
	is_str(lit("--1"), "\"--1\"", "literal: --1 is malformed -> raw");
	is_str(lit("-True"), "\"-True\"", "literal: -True is malformed -> raw");
	is_str(lit("-(-1)"), "\"-(-1)\"", "literal: -(-1) is malformed -> raw");
	is_str(lit("-(1)"), "-1", "literal: -(1) is fine");
	is_str(lit("6443 # the port"), "6443", "literal: a Python comment is ignored");
	is_str(lit("6443 ; the port"), "\"6443 ; the port\"", "literal: '; text' is not Python");
	is_str(lit("{1: 'a', True: 'b', 2.5: 'c', None: 'd'}"),
	       "{\"1\":\"b\",\"2.5\":\"c\",\"null\":\"d\"}",
	       "literal: dict keys as JSON prints them, 1 == True");
	is_str(lit("99999999999999999999"), "\"99999999999999999999\"",
	       "literal: int beyond long long -> raw string (documented gap)");
	is_str(lit("{1, 2}"), "\"{1, 2}\"", "literal: set -> raw (Ansible cannot print one)");
	is_str(lit("1j"), "\"1j\"", "literal: complex -> raw");
	is_str(lit("/usr/bin/python3"), "\"/usr/bin/python3\"", "literal: a path is a raw string");
	is_str(lit("{{ base_dir }}/x"), "\"{{ base_dir }}/x\"", "literal: a template stays raw");
	is_str(lit("f'x'"), "\"f'x'\"", "literal: f-string is not a literal");
	is_str(lit("'a' b'b'"), "\"'a' b'b'\"", "literal: str and bytes do not mix");
	{
		char deep[1200];
		memset(deep, '[', 600);
		memset(deep + 600, ']', 600);
		struct value *v = pyliteral_value(deep, sizeof deep, "lit", 1);
		ok(v->type == V_STR && v->u.str.len == sizeof deep,
		   "literal: 600 nested lists -> raw string, no crash");
		value_unref(v);
	}
	{
		struct value *v = pyliteral_value("[1, {'a': 'b'}]", 15, "f.ini", 7);
		struct value *inner = value_map_get(value_list_get(v, 1), "a");
		ok(v->file && strcmp(v->file, "f.ini") == 0 && v->line == 7 && inner &&
		       inner->line == 7 && inner->file == v->file,
		   "literal: every node carries file and line");
		value_unref(v);
	}
}

/* kubeasz's own example, read byte for byte: its 192.168.1.x hosts are
 * kubeasz's values, not ours, and nothing connects to them (the one
 * exception to tests/ using 127/8 and 198.18/15 only, see
 * tests/cli/test-addresses.sh). */
static void test_kubeasz_example(void)
{
	const char *dir = getenv("EZK_SHARED_DATA");
	char path[1024];
	snprintf(path, sizeof path, "%s/kubeasz-example/hosts.multi-node",
		 dir && *dir ? dir : "../shared/data");
	FILE *f = fopen(path, "r");
	if (!f) {
		for (int i = 0; i < 9; i++)
			ok(1, "# SKIP kubeasz example not present");
		return;
	}
	fclose(f);
	struct inventory *inv = inventory_load(path);
	ok(inv != NULL, "kubeasz: the example parses");
	if (!inv) {
		printf("# %s\n", ezk_err_msg());
		return;
	}
	is_int(inventory_nhosts(inv), 5, "kubeasz: 5 hosts");
	is_str(ghosts(inv, "kube_master"), "192.168.1.1 192.168.1.2 192.168.1.3",
	       "kubeasz: kube_master hosts");
	is_str(hvar(inv, "192.168.1.2", "k8s_nodename"), "\"master-02\"",
	       "kubeasz: k8s_nodename='master-02' is the string master-02");
	is_str(gvar(inv, "all", "SECURE_PORT"), "\"6443\"",
	       "kubeasz: SECURE_PORT=\"6443\" is a string");
	is_str(gvar(inv, "all", "k8s_nodename"), "\"\"", "kubeasz: k8s_nodename='' is empty");
	is_str(gvar(inv, "all", "cluster_dir"), "\"{{ base_dir }}/clusters/_cluster_name_\"",
	       "kubeasz: templates are kept unevaluated");
	ok(inventory_group_find(inv, "harbor") >= 0 && strcmp(ghosts(inv, "harbor"), "") == 0,
	   "kubeasz: harbor exists with no hosts");
	struct value *list = inventory_list_value(inv);
	is_str(json(value_map_get(list, "all")),
	       "{\"children\":[\"ungrouped\",\"etcd\",\"kube_master\",\"kube_node\",\"harbor\","
	       "\"ex_lb\",\"chrony\"]}",
	       "kubeasz: all.children as ansible-inventory --list");
	value_unref(list);
	inventory_free(inv);
}

static void test_groups_and_hosts(void)
{
	struct inventory *inv = parse("# comment\n"
				      "  ; indented comment\n"
				      "lonely a=1\n"
				      "[web]\n"
				      "w1 x=1\n"
				      "w2\n"
				      "[db]\n"
				      "d1\n"
				      "w1 x=2 y=3\n"
				      "[web]\n"
				      "w1 z=4\n");
	ok(inv != NULL, "basic: parses");
	is_int(inventory_ngroups(inv), 4, "basic: all, ungrouped, web, db");
	is_str(inventory_group(inv, 0), "all", "basic: group 0 is all");
	is_str(inventory_group(inv, 1), "ungrouped", "basic: group 1 is ungrouped");
	is_str(inventory_group(inv, 3), "db", "basic: groups in first-seen order");
	is_str(ghosts(inv, "ungrouped"), "lonely", "basic: a host before any header is ungrouped");
	is_int(inventory_nhosts(inv), 4, "basic: w1 is one host");
	is_str(hvar(inv, "w1", "x"), "2", "basic: later host line overrides");
	is_str(json(inventory_host_vars(inv, (size_t)inventory_host_find(inv, "w1"))),
	       "{\"x\":2,\"y\":3,\"z\":4}", "basic: host vars merged in first-set order");
	is_int(inventory_host_line(inv, (size_t)inventory_host_find(inv, "w1")), 5,
	       "basic: host line is where it first appeared");
	is_int(inventory_host_find(inv, "nope"), -1, "basic: unknown host");
	is_int(inventory_group_find(inv, "nope"), -1, "basic: unknown group");
	is_str(json_take(inventory_group_names(inv, (size_t)inventory_host_find(inv, "w1"))),
	       "[\"db\",\"web\"]", "basic: group_names sorted");
	is_str(json_take(inventory_group_names(inv, (size_t)inventory_host_find(inv, "lonely"))),
	       "[\"ungrouped\"]", "basic: group_names of an ungrouped host (as Ansible)");
	{
		struct value *v = value_map_get(
		    inventory_host_vars(inv, (size_t)inventory_host_find(inv, "w1")), "y");
		ok(v && v->line == 9 && strcmp(v->file, "t.ini") == 0,
		   "basic: a host var carries file and line");
	}
	inventory_free(inv);

	inv = parse("");
	ok(inv && inventory_nhosts(inv) == 0 && inventory_ngroups(inv) == 2,
	   "empty file: no hosts, all and ungrouped");
	is_str(json_take(inventory_list_value(inv)),
	       "{\"all\":{\"children\":[\"ungrouped\"]},\"_meta\":{\"hostvars\":{}}}",
	       "empty file: --list shape");
	inventory_free(inv);

	/* a host put in [all] goes to ungrouped; one that is also elsewhere
	 * leaves ungrouped */
	inv = parse("u1\nu2\n[all]\nx1\n[g]\nu1\n");
	is_str(ghosts(inv, "ungrouped"), "u2 x1", "ungrouped: exactly the hosts in no group");
	is_str(hgroups(inv, "x1"), "all ungrouped", "ungrouped: [all] host precedence");
	is_str(json_take(inventory_group_hosts_value(inv, 0)), "[\"x1\",\"u2\",\"u1\"]",
	       "groups['all'] order: all's own, then children breadth-first");
	inventory_free(inv);
}

static void test_host_lines(void)
{
	struct inventory *inv = parse(
	    "[g]\n"
	    "h x=\"a b\" y='c d' z=a\\ b w=\"\\\"q\\\"\" v=\"a\\\\b\" u=\"a\\nb\" t=\\#x s=a#b\n"
	    "k k8s_nodename='' q=\"\" r='[1,2]' n=6443 m=\"6443\" l=\"'6443'\" b=True f=1.5\n"
	    "c x=\"{'a':1}\" y={'a':1} # x=2\n");
	ok(inv != NULL, "host line: parses");
	is_str(hvar(inv, "h", "x"), "\"a b\"", "host line: double quotes keep spaces");
	is_str(hvar(inv, "h", "y"), "\"c d\"", "host line: single quotes keep spaces");
	is_str(hvar(inv, "h", "z"), "\"a b\"", "host line: backslash-space");
	is_str(hvar(inv, "h", "w"), "\"q\"", "host line: \\\" inside quotes, then literal_eval");
	is_str(hvar(inv, "h", "v"), "\"a\\\\b\"", "host line: \\\\ inside double quotes");
	is_str(hvar(inv, "h", "u"), "\"a\\\\nb\"", "host line: \\n kept inside double quotes");
	is_str(hvar(inv, "h", "t"), "\"#x\"", "host line: \\# is not a comment");
	is_str(hvar(inv, "h", "s"), "\"a\"", "host line: unquoted # starts a comment");
	is_str(hvar(inv, "k", "k8s_nodename"), "\"\"", "host line: k8s_nodename='' is empty");
	is_str(hvar(inv, "k", "r"), "[1,2]", "host line: quoted list is still a list");
	is_str(hvar(inv, "k", "n"), "6443", "host line: n=6443 is an int");
	is_str(hvar(inv, "k", "m"), "6443", "host line: n=\"6443\" is an int (shlex unquotes)");
	is_str(hvar(inv, "k", "l"), "\"6443\"", "host line: \"'6443'\" is a string");
	is_str(hvar(inv, "k", "b"), "true", "host line: True is a bool");
	is_str(hvar(inv, "c", "x"), "{\"a\":1}", "host line: dict, comment after it ignored");
	is_str(hvar(inv, "c", "y"), "\"{a:1}\"", "host line: shlex eats unescaped quotes first");
	inventory_free(inv);
}

static void test_vars_lines(void)
{
	struct inventory *inv = parse("[g]\nh\n"
				      "[g:vars]\n"
				      "a = 6443 ; comment\n"
				      "b=\"6443\"\n"
				      "c=''\n"
				      "d = foo # bar\n"
				      "e = 10 # ten\n"
				      "f=x=y\n"
				      "g=\n"
				      "h= [1, \"a\", {'k': (1, 2)}] \n"
				      "ansible_group_priority=7\n");
	ok(inv != NULL, "vars: parses");
	is_str(gvar(inv, "g", "a"), "\"6443 ; comment\"", "vars: '; text' stays part of the value");
	is_str(gvar(inv, "g", "b"), "\"6443\"", "vars: \"6443\" is a string");
	is_str(gvar(inv, "g", "c"), "\"\"", "vars: '' is an empty string");
	is_str(gvar(inv, "g", "d"), "\"foo # bar\"", "vars: raw value keeps '# text'");
	is_str(gvar(inv, "g", "e"), "10", "vars: a literal with a Python comment");
	is_str(gvar(inv, "g", "f"), "\"x=y\"", "vars: split at the first '='");
	is_str(gvar(inv, "g", "g"), "\"\"", "vars: nothing after '=' is empty");
	is_str(gvar(inv, "g", "h"), "[1,\"a\",{\"k\":[1,2]}]", "vars: nested literal");
	is_str(gvar(inv, "g", "ansible_group_priority"), "(none)",
	       "vars: ansible_group_priority is not kept as a var");
	is_int(inventory_group_priority(inv, (size_t)inventory_group_find(inv, "g")), 7,
	       "vars: ansible_group_priority sets the priority");
	inventory_free(inv);
}

static void test_ranges(void)
{
	struct inventory *inv = parse("[g]\n"
				      "node[01:03]\n"
				      "198.18.0.[1:3]\n"
				      "s[1:10:4]\n"
				      "a[a:c]\n"
				      "m[1:2]x[a:b]\n"
				      "z[:1]\n"
				      "w[y:B]\n");
	ok(inv != NULL, "ranges: parse");
	is_str(ghosts(inv, "g"),
	       "node01 node02 node03 198.18.0.1 198.18.0.2 198.18.0.3 s1 s5 s9 aa ab ac "
	       "m1xa m1xb m2xa m2xb z0 z1 wy wz wA wB",
	       "ranges: padding, steps, letters, several per name, empty begin");
	inventory_free(inv);

	is_str(perr("[g]\nnode[05:01]\n"),
	       "t.ini:2: invalid host range in 'node[05:01]': host range is empty (begin > end)",
	       "ranges: [05:01] is an error in ezk (no hosts in Ansible)");
	is_str(perr("[g]\nh[1:]\n"),
	       "t.ini:2: invalid host range in 'h[1:]': host range must specify end value",
	       "ranges: [1:]");
	is_str(perr("[g]\nh[a:3]\n"),
	       "t.ini:2: invalid host range in 'h[a:3]': host range bounds must be numbers or "
	       "single letters",
	       "ranges: [a:3]");
	is_str(perr("[g]\nh[x]\n"),
	       "t.ini:2: invalid host range in 'h[x]': host range must be begin:end or "
	       "begin:end:step",
	       "ranges: [x]");
	is_str(perr("[g]\nh[01:3]\n"),
	       "t.ini:2: invalid host range in 'h[01:3]': host range must specify equal-length "
	       "begin and end formats",
	       "ranges: unequal padding");
	is_str(perr("[g]\nh[1:3:0]\n"),
	       "t.ini:2: invalid host range in 'h[1:3:0]': host range step must be a positive "
	       "number",
	       "ranges: zero step");
	is_str(perr("[g]\nh[1:3\n"), "t.ini:2: invalid host range in 'h[1:3': missing ']'",
	       "ranges: missing ]");
	is_str(perr("[g]\nh[0:99999999]\n"),
	       "t.ini:2: invalid host range in 'h[0:99999999]': range too large (ezk makes at "
	       "most 100000 hosts of one pattern)",
	       "ranges: range too large");
	is_str(perr("[g]\nh[0:999]x[0:999]\n"),
	       "t.ini:2: invalid host range in 'h[0:999]x[0:999]': range too large (ezk makes at "
	       "most 100000 hosts of one pattern)",
	       "ranges: product of ranges too large");
}

static void test_ports(void)
{
	struct inventory *inv = parse("[g]\n"
				      "h1:2222\n"
				      "[fe80::1]:2223\n"
				      "fe80::2\n"
				      "h2:22\n"
				      "h2:33\n"
				      "h3:22 ansible_port=44\n"
				      "h_:22\n"
				      "h4:22:33\n"
				      "r[1:2]:2200\n"
				      "h5:0\n");
	ok(inv != NULL, "ports: parse");
	is_str(hvar(inv, "h1", "ansible_port"), "2222", "ports: name:port sets ansible_port");
	is_str(hvar(inv, "fe80::1", "ansible_port"), "2223", "ports: [ipv6]:port");
	ok(inventory_host_find(inv, "fe80::2") >= 0, "ports: bare IPv6 is a host name");
	is_str(hvar(inv, "h2", "ansible_port"), "22", "ports: a known host keeps its first port");
	is_str(hvar(inv, "h3", "ansible_port"), "44", "ports: ansible_port var wins over :port");
	ok(inventory_host_find(inv, "h_:22") >= 0,
	   "ports: not a valid host name -> taken literally (as Ansible)");
	ok(inventory_host_find(inv, "h4:22:33") >= 0, "ports: h:22:33 taken literally");
	is_str(hvar(inv, "r2", "ansible_port"), "2200", "ports: range with a port");
	is_str(hvar(inv, "h5", "ansible_port"), "(none)", "ports: :0 sets no port (as Ansible)");
	inventory_free(inv);
	is_str(perr("[g]\nh1:\n"),
	       "t.ini:2: Invalid host pattern 'h1:' supplied, ending in ':' is not allowed, this "
	       "character is reserved to provide a port.",
	       "ports: trailing ':'");
}

static void test_children(void)
{
	struct inventory *inv = parse("[k8s:children]\n"
				      "master # comment\n"
				      "node\n"
				      "[master]\n"
				      "m1\n"
				      "[node:vars]\n"
				      "x=1\n"
				      "[node]\n"
				      "n1\n"
				      "[cluster:children]\n"
				      "k8s\n"
				      "master\n");
	ok(inv != NULL, "children: declared after use");
	const size_t *cs;
	long k8s = inventory_group_find(inv, "k8s");
	size_t n = inventory_group_children(inv, (size_t)k8s, &cs);
	ok(n == 2 && strcmp(inventory_group(inv, cs[0]), "master") == 0 &&
	       strcmp(inventory_group(inv, cs[1]), "node") == 0,
	   "children: k8s has master and node, in order");
	is_int(inventory_group_depth(inv, (size_t)inventory_group_find(inv, "master")), 3,
	       "children: depth is the longest path from all");
	is_int(inventory_group_depth(inv, (size_t)k8s), 2, "children: depth of k8s");
	is_str(json_take(
		   inventory_group_hosts_value(inv, (size_t)inventory_group_find(inv, "cluster"))),
	       "[\"m1\",\"n1\"]", "children: hosts through children");
	is_str(mvar(inv, "n1", "x"), "1", "children: group var reaches the host");
	struct value *list = inventory_list_value(inv);
	is_str(json(value_map_get(list, "all")), "{\"children\":[\"ungrouped\",\"cluster\"]}",
	       "children: only parentless groups under all");
	value_unref(list);
	inventory_free(inv);

	is_str(perr("[a:children]\nb\n"),
	       "t.ini:2: Section [a:children] includes undefined group: b",
	       "children: undefined child group");
	is_str(perr("[a:children]\nb\n[b:vars]\nx=1\n"),
	       "t.ini:2: Section [a:children] includes undefined group: b",
	       "children: [b:vars] alone does not declare b");
	is_str(perr("[a:vars]\nx=1\n"),
	       "t.ini:1: Section [a:vars] not valid for undefined group: a",
	       "vars of an undefined group");
	is_str(perr("[a:children]\nb\n[b:children]\na\n"),
	       "t.ini:4: Adding group 'a' as child to 'b' creates a recursive dependency loop.",
	       "children: a -> b -> a loop");
	is_str(perr("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n"),
	       "t.ini:6: Adding group 'a' as child to 'c' creates a recursive dependency loop.",
	       "children: three-group loop");
	is_str(perr("[a:children]\na\n"), "t.ini:2: can't add group 'a' to itself",
	       "children: a group as its own child");
	is_str(perr("[x:children]\nall\n"),
	       "t.ini:2: Adding group 'all' as child to 'x' creates a recursive dependency loop.",
	       "children: all as a child");
	is_str(perr("[a:children]\nb c\n"), "t.ini:2: Expected group name, got: b c",
	       "children: two names on a line");
}

static void test_errors(void)
{
	is_str(perr("[etcd\n"), "t.ini:1: unterminated group header: [etcd", "error: [etcd");
	is_str(perr("\n[g:foo]\n"), "t.ini:2: Section [g:foo] has unknown type: foo",
	       "error: unknown section suffix");
	is_str(perr("[a b]\n"),
	       "t.ini:1: Invalid section entry: '[a b]'. Please make sure that there are no "
	       "spaces in the section entry, and that there are no other invalid characters",
	       "error: space in a header");
	is_str(perr("[a.b]\n"),
	       "t.ini:1: invalid group name 'a.b' (ezk allows letters, digits, '_' and '-')",
	       "error: invalid group name");
	is_str(perr("[g]\nh \"a\n"),
	       "t.ini:2: Error parsing host definition 'h \"a': No closing quotation",
	       "error: unbalanced quote");
	is_str(perr("[g]\nh a=\\\n"),
	       "t.ini:2: Error parsing host definition 'h a=\\': No escaped character",
	       "error: trailing backslash");
	is_str(perr("[g:vars]\nx\n"), "t.ini:2: Expected key=value, got: x",
	       "error: vars line without =");
	is_str(perr("[g]\nh k\n"), "t.ini:2: Expected key=value host variable assignment, got: k",
	       "error: host token without =");
	is_str(perr("[g]\n---\n"),
	       "t.ini:2: Invalid host pattern '---' supplied, '---' is normally a sign this is a "
	       "YAML file.",
	       "error: ---");
	is_str(perr("[g]\nh\n[g:vars]\nansible_group_priority=high\n"),
	       "t.ini:4: ansible_group_priority must be an integer, got: high",
	       "error: non-integer priority");
	is_str(perr("[g]\r\nh\r\n\r\n[g:oops]\r\n"),
	       "t.ini:4: Section [g:oops] has unknown type: oops", "error: CRLF line numbers");
	is_str(perr("[g]\fh\x1ch\v[g:oops]\n"), "t.ini:4: Section [g:oops] has unknown type: oops",
	       "error: \\f \\v \\x1c break lines as str.splitlines does");
	{
		static const char nul[] = "[g]\nh\0x\n";
		struct inventory *inv = inventory_parse(nul, sizeof nul - 1, "t.ini");
		ok(!inv && strcmp(ezk_err_msg(), "t.ini:2: NUL byte in inventory line") == 0,
		   "error: NUL byte");
	}
	is_str(perr("[g]\nh\xff\n"), "t.ini:2: invalid UTF-8 in inventory line",
	       "error: bad UTF-8");
	ok(inventory_load("/nonexistent/hosts") == NULL &&
	       strstr(ezk_err_msg(), "/nonexistent/hosts: ") == ezk_err_msg(),
	   "error: missing file names the path");
}

static void test_precedence(void)
{
	/* tests/data/inventory/precedence.ini, inline */
	struct inventory *inv =
	    parse("[web]\nw1\nboth who=host\n[db]\nd1\nboth\n"
		  "[edge:children]\nweb\n[dc:children]\nedge\ndb\n"
		  "[all:vars]\nwho=all\n[dc:vars]\nwho=dc\n[edge:vars]\nwho=edge\n"
		  "[web:vars]\nwho=web\n[db:vars]\nwho=db\nansible_group_priority=20\n"
		  "[zz]\nw1\n[zz:vars]\nwho=zz\nansible_group_priority=0\n");
	ok(inv != NULL, "precedence: parses");
	is_str(hgroups(inv, "w1"), "all zz dc edge web",
	       "precedence: by depth, then priority (zz has 0)");
	is_str(hgroups(inv, "both"), "all dc edge db web",
	       "precedence: db's priority 20 sorts it after edge at depth 2");
	is_str(hgroups(inv, "d1"), "all dc db", "precedence: d1");
	is_str(mvar(inv, "w1", "who"), "\"web\"", "precedence: deepest group wins");
	is_str(mvar(inv, "d1", "who"), "\"db\"", "precedence: d1 gets db");
	is_str(mvar(inv, "both", "who"), "\"host\"", "precedence: host var wins");
	inventory_free(inv);

	inv = parse("[b]\nh\n[a]\nh\n[a:vars]\nv=a\n[b:vars]\nv=b\n");
	is_str(hgroups(inv, "h"), "all a b", "precedence: same depth and priority: by name");
	is_str(mvar(inv, "h", "v"), "\"b\"", "precedence: later name wins");
	inventory_free(inv);
}

static void test_quirks(void)
{
	/* a host named like a group: Ansible gives its variables to the group */
	struct inventory *inv = parse("[c]\nc z=7\nh y=1\n");
	is_str(gvar(inv, "c", "z"), "7", "quirk: host 'c' vars land on group c");
	is_str(mvar(inv, "h", "z"), "7", "quirk: so every host of c sees them");
	inventory_free(inv);

	inv = parse("\xEF\xBB\xBF[g]\nh\n");
	ok(inv && inventory_group_find(inv, "g") == 2, "a UTF-8 BOM is skipped");
	inventory_free(inv);

	inv = parse("[g:hosts]\nh\n[g] # comment\nh2\n[empty]\n");
	is_str(ghosts(inv, "g"), "h h2", "[g:hosts] and a commented header");
	struct value *list = inventory_list_value(inv);
	ok(value_map_get(list, "empty") == NULL, "--list omits empty groups");
	ok(value_map_get(list, "ungrouped") == NULL, "--list omits empty ungrouped");
	is_str(json(value_map_get(list, "g")), "{\"hosts\":[\"h\",\"h2\"]}", "--list group shape");
	is_str(json(value_map_get(value_map_get(list, "_meta"), "hostvars")), "{}",
	       "--list omits hosts without vars");
	value_unref(list);
	struct value *groups = inventory_groups_value(inv);
	is_str(json(groups),
	       "{\"all\":[\"h\",\"h2\"],\"ungrouped\":[],\"g\":[\"h\",\"h2\"],\"empty\":[]}",
	       "groups magic var lists every group");
	value_unref(groups);
	inventory_free(inv);
}

static void test_data_files(void)
{
	/* tests/run.sh exports EZK_SRC, the repository root */
	const char *root = getenv("EZK_SRC");
	char p[1024];
	snprintf(p, sizeof p, "%s/tests/data/inventory/multi.ini", root && *root ? root : ".");
	FILE *f = fopen(p, "r");
	if (!f) {
		for (int i = 0; i < 6; i++)
			ok(1, "# SKIP tests/data/inventory not found from here");
		return;
	}
	fclose(f);
	struct inventory *inv = inventory_load(p);
	ok(inv != NULL, "multi.ini parses");
	if (!inv)
		return;
	is_str(ghosts(inv, "kube_node"),
	       "node01 node04 node07 node10 worker-a worker-b worker-c 198.18.0.20 fd00::1",
	       "multi.ini: kube_node hosts");
	is_str(mvar(inv, "198.18.0.11", "ansible_port"), "2222", "multi.ini: range with port");
	is_str(mvar(inv, "lb2", "note"), "\"a \\\"quoted\\\" word\"", "multi.ini: escaped quotes");
	is_str(mvar(inv, "master01", "role"), "\"k8s    ; this comment stays part of the value\"",
	       "multi.ini: inline ; in vars");
	is_str(hgroups(inv, "etcd1.k8s.local"), "all cluster etcd", "multi.ini: etcd precedence");
	inventory_free(inv);
}

static void test_scale(void)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "[kube_node]\n");
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "198.18.%d.%d ansible_user=root k8s_nodename='node-%d' idx=%d\n",
			   i / 256, i % 256, i, i);
	buf_puts(&b, "[all:vars]\nSECURE_PORT=\"6443\"\n");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct inventory *inv = inventory_parse(b.s, b.len, "big.ini");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 5000 hosts parsed in %.1f ms\n", ms);
	ok(inv && inventory_nhosts(inv) == 5000, "scale: 5000 hosts");
	/* (how long it takes is make bench's business, not an assertion here) */
	is_str(hvar(inv, "198.18.19.135", "idx"), "4999", "scale: last host found by name");
	const size_t *gs;
	ok(inventory_host_groups(inv, 4999, &gs) == 2, "scale: precedence precomputed");
	inventory_free(inv);
	buf_free(&b);
}

/* Where each value lies in the text (span.h): what the history redacts. */
static void test_spans(void)
{
	const char *t = "\xEF\xBB\xBF[all:vars]\n"
			"pw=Hash#Leak2 ; rest\n"
			"q=\"Qu0te\\\"Leak1\"  \n"
			"[kube_node]\n"
			"198.18.0.1 a='x y' \"b=c d\"e f=g\\ h #c\n"
			"198.18.0.2 \xc3\xa9=\xc3\xbc\n";
	struct var_spans sp = {0};
	struct inventory *inv = inventory_parse_spans(t, strlen(t), "hosts", &sp);
	ok(inv != NULL, "spans: the text parses");
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sp.n; i++)
		buf_printf(&b, "%s[%.*s]%c|", sp.v[i].key, (int)(sp.v[i].end - sp.v[i].start),
			   t + sp.v[i].start, sp.v[i].in_quote ? sp.v[i].in_quote : '-');
	is_str(buf_cstr(&b),
	       "pw[Hash#Leak2 ; rest]-|q[\"Qu0te\\\"Leak1\"]-|a['x y']-|b[c d\"e]\"|f[g\\ h]-|"
	       "\xc3\xa9[\xc3\xbc]-|",
	       "spans: [vars] values to the line's end, host tokens whole (quotes, escapes), "
	       "a key quoted with its value, UTF-8, after a byte order mark");
	buf_free(&b);
	inventory_free(inv);
	var_spans_free(&sp);
	inv = inventory_parse_spans("[g]\nh a=1\n[g:vars\n", 19, "hosts", &sp);
	ok(!inv && sp.n == 0, "spans: none when the text does not parse");
	var_spans_free(&sp);
}

int main(void)
{
	test_literals();
	test_kubeasz_example();
	test_groups_and_hosts();
	test_host_lines();
	test_vars_lines();
	test_ranges();
	test_ports();
	test_children();
	test_errors();
	test_precedence();
	test_quirks();
	test_data_files();
	test_scale();
	test_spans();
	return tap_done();
}
