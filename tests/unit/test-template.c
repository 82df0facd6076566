/* test-template.c - the Jinja2 subset: syntax, semantics, errors, limits. */
#include <pthread.h>
#include <stdlib.h>

#include "err.h"
#include "tap.h"
#include "tmpl/template.h"

static struct value *vars;

/* hostvars: an obj computed on demand; "bad" fails like a broken lookup. */
static int hv_get(void *ud, const char *key, size_t klen, struct value **out)
{
	if (klen == 3 && !memcmp(key, "bad", 3))
		return ezk_fail("hostvars: cannot compute host 'bad'");
	struct value *v = value_map_getn(ud, key, klen);
	if (!v)
		return 1;
	*out = value_ref(v);
	return 0;
}

static struct value *hv_keys(void *ud)
{
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(ud); i++)
		value_list_push(l, value_str(value_map_key(ud, i)));
	return l;
}

static void hv_free(void *ud)
{
	value_unref(ud);
}

static const struct vobj_ops hv_ops = {"hostvars", hv_get, hv_keys, hv_free};

static int lookup(void *ud, const char *name, size_t len, struct value **out)
{
	if (len == 4 && !memcmp(name, "boom", 4))
		return ezk_fail("boom: lookup failed");
	struct value *v = value_map_getn(ud, name, len);
	if (!v)
		return 1;
	*out = value_ref(v);
	return 0;
}

static struct value *strs(const char *a, const char *b, const char *c)
{
	struct value *l = value_list();
	const char *v[] = {a, b, c};
	for (int i = 0; i < 3; i++)
		if (v[i])
			value_list_push(l, value_str(v[i]));
	return l;
}

static void setup(void)
{
	vars = value_map();
	value_map_set(vars, "name", value_str("world"));
	value_map_set(vars, "empty", value_str(""));
	value_map_set(vars, "n", value_int(41));
	value_map_set(vars, "f", value_float(2.5));
	value_map_set(vars, "yes", value_bool(1));
	value_map_set(vars, "nothing", value_null());
	value_map_set(vars, "xs", strs("a", "b", "c"));
	value_map_set(vars, "calico_ver", value_str("v3.26.1"));
	value_map_set(vars, "base_dir", value_str("/etc/kubeasz"));
	value_map_set(vars, "CLUSTER_NAME", value_str("k8s-01"));
	value_map_set(vars, "inventory_hostname", value_str("198.18.1.1"));
	value_map_set(vars, "k8s_nodename", value_str(""));
	value_map_set(vars, "TMP", value_str("https://a:2379,https://b:2379,"));

	struct value *nums = value_list();
	int ns[] = {3, 1, 2, 3, 10};
	for (int i = 0; i < 5; i++)
		value_list_push(nums, value_int(ns[i]));
	value_map_set(vars, "nums", nums);

	struct value *m = value_map();
	value_map_set(m, "k", value_str("v"));
	value_map_set(m, "a", value_int(1));
	value_map_set(vars, "m", m);

	struct value *groups = value_map();
	value_map_set(groups, "kube_master", strs("198.18.0.1", "198.18.0.2", NULL));
	value_map_set(groups, "etcd", strs("198.18.0.1", "198.18.0.2", "198.18.0.3"));
	value_map_set(groups, "empty", value_list());
	value_map_set(vars, "groups", groups);

	struct value *users = value_list();
	const char *names[] = {"bob", "Al", "carol"};
	for (int i = 0; i < 3; i++) {
		struct value *u = value_map();
		value_map_set(u, "name", value_str(names[i]));
		value_map_set(u, "uid", value_int(1000 + i));
		value_list_push(users, u);
	}
	value_map_set(vars, "users", users);

	struct value *hosts = value_map();
	for (int i = 1; i <= 3; i++) {
		char ip[32], nm[32];
		snprintf(ip, sizeof ip, "198.18.0.%d", i);
		snprintf(nm, sizeof nm, "etcd%d", i);
		struct value *h = value_map();
		value_map_set(h, "NODE_NAME", value_str(nm));
		value_map_set(hosts, ip, h);
	}
	value_map_set(vars, "hostvars", value_obj(&hv_ops, hosts));
}

static struct tmpl_env env = {lookup, NULL};
static char *last;

/* Render src; returns the output, or "ERR: message". */
static const char *render_at(const char *src, const char *file, int line, int trim)
{
	free(last);
	last = NULL;
	ezk_err_clear();
	struct tmpl *t = tmpl_compile_ex(src, strlen(src), file, line, trim);
	struct buf b = BUF_INIT;
	if (!t || tmpl_render(t, &env, &b) < 0) {
		buf_reset(&b);
		buf_printf(&b, "ERR: %s", ezk_err_msg());
	}
	tmpl_free(t);
	last = buf_detach(&b);
	return last;
}

static const char *R(const char *src)
{
	return render_at(src, "t.j2", 1, 0);
}

static const char *RT(const char *src)
{
	return render_at(src, "t.j2", 1, 1);
}

/* tmpl_eval; *type gets the value's type (or -1 on error). */
static const char *E(const char *src, int *type)
{
	free(last);
	last = NULL;
	*type = -1;
	struct tmpl *t = tmpl_compile(src, strlen(src), "v.yml", 1);
	struct value *v = NULL;
	struct buf b = BUF_INIT;
	if (!t || tmpl_eval(t, &env, &v) < 0) {
		buf_printf(&b, "ERR: %s", ezk_err_msg());
	} else {
		*type = (int)v->type;
		value_to_str(v, &b);
	}
	value_unref(v);
	tmpl_free(t);
	last = buf_detach(&b);
	return last;
}

static void test_text(void)
{
	is_str(R(""), "", "empty template");
	is_str(R("hello\nworld\n"), "hello\nworld\n", "plain text, trailing newline kept");
	is_str(R("a { b } %} }} #}"), "a { b } %} }} #}", "lone braces are text");
	is_str(R("a{# comment {{ x }} #}b"), "ab", "comment dropped");
	is_str(R("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}", "raw block");
	is_str(R("a {%- raw -%} {{ x }} {%- endraw -%} b"), "a{{ x }}b",
	       "raw with whitespace control");
	ok(tmpl_needed("a{{b", 4), "needed: {{");
	ok(tmpl_needed("{%", 2), "needed: {%");
	ok(tmpl_needed("x{#", 3), "needed: {#");
	ok(!tmpl_needed("a { b } {", 9), "not needed: lone braces");
	ok(!tmpl_needed("{{", 1), "needed respects len");
}

static void test_expressions(void)
{
	is_str(R("Hello {{ name }}!"), "Hello world!", "variable");
	is_str(R("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }}"), "7 9", "precedence");
	is_str(R("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"),
	       "3 -4 1 2 3.5 1024", "integer arithmetic as Python");
	is_str(R("{{ f * 2 }} {{ 1.5 }} {{ 2.5e1 }} {{ n - 1 }}"), "5.0 1.5 25.0 40", "floats");
	is_str(R("{{ 'a' ~ 1 ~ nothing ~ yes }}"), "a1NoneTrue", "~ concatenates str()");
	is_str(R("{{ 'x' + 'y' }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }}"), "xy ababab [1, 2, 3]",
	       "+ and * on strings and lists");
	is_str(R("{{ [] * 3613836382 }} {{ (() * 99999999999) | length }} {{ '' * 4000000000 }}|"),
	       "[] 0 |", "an empty list or string times a huge count is empty at once (fuzz)");
	is_str(R("{{ 'it\\'s' }} {{ \"tab\\there\" }} {{ 'a' 'b' }}"), "it's tab\there ab",
	       "string escapes and adjacent literals");
	is_str(R("{{ true }} {{ False }} {{ none }}|{{ nothing }}"), "True False |",
	       "booleans; None prints as nothing (Ansible finalize)");
	is_str(R("{{ [1, 'a', none, true] }}"), "[1, 'a', None, True]", "list literal repr");
	is_str(R("{{ {'a': 1, 'b': [2]} }}"), "{'a': 1, 'b': [2]}", "dict literal repr");
	is_str(R("{{ xs[0] }} {{ xs[-1] }} {{ xs.1 }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[:-1] }}"),
	       "a c b ['b', 'c'] ['c', 'b', 'a'] ['a', 'b']", "index, negative index, slices");
	is_str(R("{{ 'hello'[1:3] }} {{ 'hello'[-1] }}"), "el o", "string slice and index");
	is_str(R("{{ m.k }} {{ m['k'] }} {{ m.a + 1 }}"), "v v 2", "attribute and subscript");
	is_str(R("{{ groups['kube_master'][0] }} {{ groups.kube_master[1] }}"),
	       "198.18.0.1 198.18.0.2", "groups['kube_master'][0]");
	is_str(
	    R("{{ 1 < 2 }} {{ 'a' == 'a' }} {{ 1 == 1.0 }} {{ 'b' in 'abc' }} {{ 'x' not in xs }} "
	      "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }}"),
	    "True True True True True True False True", "comparisons, in, chains");
	is_str(R("{{ 0 or 'y' }} {{ 1 and 2 }} {{ not 0 }} {{ not name }}"), "y 2 True False",
	       "and/or return operands, not");
	is_str(R("{{ 'a' if yes else 'b' }} {{ 'a' if not yes else 'b' }}"), "a b", "inline if");
	is_str(R("{{ k8s_nodename != '' }} {{ empty == '' }}"), "False True",
	       "k8s_nodename != '' is false for ''");
	is_str(R("{{ 'v' in m }} {{ 'k' in m }} {{ '198.18.0.1' in hostvars }}"), "False True True",
	       "in on dicts and objs");
	is_str(
	    R("{{ hostvars['198.18.0.2']['NODE_NAME'] }} {{ hostvars['198.18.0.3'].NODE_NAME }}"),
	    "etcd2 etcd3", "subscript and attribute on obj");
	is_str(R("{{ -n }} {{ +f }} {{ -(1) }}"), "-41 2.5 -1", "unary minus and plus");
	is_str(R("{{ range(3) }} {{ range(1, 7, 2)|list }}"), "[0, 1, 2] [1, 3, 5]", "range()");
	is_str(R("{{ '}}' ~ '%}' }}|{{ {'a': {'b': 1}}}}|{{ [1,\n 2] }}"),
	       "}}%}|{'a': {'b': 1}}|[1, 2]",
	       "}} inside strings and brackets does not end the tag");
}

static void test_methods(void)
{
	is_str(R("{{ calico_ver.split('.')[0] }}.{{ calico_ver.split('.')[1] }}"), "v3.26",
	       "calico_ver split");
	is_str(R("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a.b.c'.split('.', 1) }}"),
	       "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b.c']", "split forms");
	is_str(R("{{ 'a.b.c'.rsplit('.', 1) }}"), "['a.b', 'c']", "rsplit");
	is_str(R("[{{ '  x '.strip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ TMP.rstrip(',') }}]"),
	       "[x] [hi] [https://a:2379,https://b:2379]", "strip, strip(chars), rstrip");
	is_str(R("{{ 'MiX'.lower() }} {{ 'MiX'.upper() }} {{ 'abc'.startswith('ab') }} "
		 "{{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(['x', 'a']) }}"),
	       "mix MIX True True True", "lower, upper, startswith, endswith");
	is_str(R("{{ 'a_b_c'.replace('_', '-') }} {{ 'a_b_c'.replace('_', '', 1) }}"), "a-b-c ab_c",
	       "str.replace");
	is_str(R("{{ ','.join(xs) }} {{ 'abcb'.find('b') }} {{ 'abcb'.count('b') }}"), "a,b,c 1 2",
	       "join, find, count");
	is_str(R("{{ m.keys()|list }} {{ m.values()|list }} {{ m.items()|list }}"),
	       "['k', 'a'] ['v', 1] [['k', 'v'], ['a', 1]]", "keys, values, items");
	is_str(R("{{ m.get('k') }} {{ m.get('zz', 'dflt') }} [{{ m.get('zz') }}]"), "v dflt []",
	       "dict.get");
	is_str(R("{{ '42'.isdigit() }} {{ xs.index('b') }}"), "True 1", "isdigit, list.index");
	is_str(R("{{ 'a'.nope() }}"), "ERR: t.j2:1: 'str object' has no method 'nope'",
	       "unknown method is a render error");
}

static void test_filters(void)
{
	is_str(R("{{ 'MiX'|lower }} {{ 'MiX'|upper }} {{ 'hello world'|capitalize }} "
		 "{{ 'hello world'|title }}"),
	       "mix MIX Hello world Hello World", "case filters");
	is_str(R("{{ 'a.b.c'|replace('.', '-') }}"), "a-b-c", "replace");
	is_str(R("{{ missing|default('dflt') }} {{ name|default('dflt') }} {{ missing|d(7) }}"),
	       "dflt world 7", "default on undefined");
	is_str(R("[{{ empty|default('x') }}] [{{ empty|default('x', true) }}] [{{ missing|default "
		 "}}]"),
	       "[] [x] []", "default(v, true) also on falsy");
	is_str(R("{{ missing.a.b|default('deep') }} {{ m.nope|default('attr') }} "
		 "{{ xs[9]|default('idx') }}"),
	       "deep attr idx", "default on chained undefined");
	is_str(R("{{ xs|join }} {{ xs|join(', ') }} {{ users|join(',', attribute='name') }}"),
	       "abc a, b, c bob,Al,carol", "join");
	is_str(R("{{ xs|length }} {{ 'abcd'|length }} {{ m|count }} {{ hostvars|length }}"),
	       "3 4 2 3", "length/count");
	is_str(R("[{{ '  x y  '|trim }}]"), "[x y]", "trim");
	is_str(R("{{ '42'|int + 1 }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '3.9'|int }} "
		 "{{ '0x1f'|int(base=16) }} {{ 2.7|int }} {{ ' 12 '|int }}"),
	       "43 0 7 3 31 2 12", "int");
	is_str(R("{{ '1.5'|float }} {{ 'x'|float }} {{ 3|float }}"), "1.5 0.0 3.0", "float");
	is_str(R("{{ n|string ~ '!' }} {{ xs|string }}"), "41! ['a', 'b', 'c']", "string");
	is_str(R("{{ xs|first }} {{ xs|last }} {{ 'abc'|first }}"), "a c a", "first, last");
	is_str(R("{{ nums|unique|list }} {{ ['a', 'A', 'b']|unique }}"), "[3, 1, 2, 10] ['a', 'b']",
	       "unique (case-insensitive like Jinja)");
	is_str(R("{{ nums|sort }} {{ nums|sort(reverse=true) }} {{ ['b', 'C', 'a']|sort }}"),
	       "[1, 2, 3, 3, 10] [10, 3, 3, 2, 1] ['a', 'b', 'C']", "sort, sort(reverse=true)");
	is_str(R("{{ users|sort(attribute='name')|map(attribute='name')|join(' ') }}"),
	       "Al bob carol", "sort by attribute, map(attribute)");
	is_str(R("{{ 'ab'|list }} {{ m|list }}"), "['a', 'b'] ['k', 'a']", "list");
	is_str(R("{{ 'yes'|bool }} {{ 'On'|bool }} {{ '1'|bool }} {{ 'off'|bool }} {{ 1|bool }} "
		 "{{ 'false'|bool }}"),
	       "True True True False True False", "bool (Ansible)");
	is_str(R("{{ -3|abs }} {{ (-2.5)|abs }} {{ nums|min }} {{ nums|max }} {{ nums|sum }}"),
	       "3 2.5 1 10 19", "abs, min, max, sum");
	is_str(R("{{ xs|map('upper')|list }} {{ nums|select('odd')|list }} "
		 "{{ nums|reject('odd')|list }}"),
	       "['A', 'B', 'C'] [3, 1, 3] [2, 10]", "map(filter), select, reject");
	is_str(R("{{ users|selectattr('uid', 'gt', 1000)|map(attribute='name')|list }}"),
	       "['Al', 'carol']", "selectattr");
	is_str(R("{{ 'k8s_node_1'|regex_replace('_', '-') }} "
		 "{{ 'v1.2.3'|regex_replace('^v(\\\\d+)\\\\..*$', 'major \\\\1') }}"),
	       "k8s-node-1 major 1", "regex_replace with a group");
	is_str(R("{{ 'abc'|regex_replace('x*', '-') }}"), "-a-b-c-", "regex_replace empty matches");
	is_str(R("{{ 'aXbxc'|regex_replace('x', '.', ignorecase=true) }} "
		 "{{ 'a1 b22'|regex_replace('[\\d]+', '#') }} {{ 'ab'|regex_replace('^b', '-') }}"),
	       "a.b.c a# b# ab", "regex_replace: ignorecase, class escapes, ^ only at the start");
	is_str(R("{{ 'x'|regex_replace('a++', '') }}"),
	       "ERR: t.j2:1: unsupported regular expression 'a++': multiple repeat at position 2",
	       "repeated quantifiers are refused");
	ok(strstr(R("{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'"
		    "|regex_replace('^((((a+)+)+)+)+$', '') }}"),
		  "over its budget") != NULL,
	   "exponential nested repetition is refused");
	is_str(R("{{ 'ver 1.24.3'|regex_search('[0-9]+\\\\.[0-9]+') }}"), "1.24", "regex_search");
	is_str(R("{{ {'a': [1, 'x'], 'b': none, 'c': true}|to_json }}"),
	       "{\"a\": [1, \"x\"], \"b\": null, \"c\": true}", "to_json");
	is_str(R("{{ {'b': 1, 'a': 2}|to_nice_json }}"), "{\n    \"a\": 2,\n    \"b\": 1\n}",
	       "to_nice_json");
	is_str(R("{{ '/etc/kubeasz/x.yml'|basename }} {{ '/etc/kubeasz/x.yml'|dirname }} "
		 "{{ 'x'|dirname }}|"),
	       "x.yml /etc/kubeasz |", "basename, dirname");
	is_str(R("{{ 'a b'|quote }} {{ 'ab'|quote }} {{ \"it's\"|quote }}"),
	       "'a b' ab 'it'\"'\"'s'", "quote");
	/* values for the format they are written into (core/quote.h) */
	is_str(R("{{ '/opt/kube/bin'|systemd_arg }} {{ 'a b%$\\\\\"'|systemd_arg }} {{ "
		 "''|systemd_arg }}"),
	       "/opt/kube/bin \"a b%%$$\\\\\\\"\" \"\"",
	       "systemd_arg: as is, or quoted with \\ \" % $ escaped");
	is_str(R("{{ 'PATH=/a b:$x%'|systemd_env }}"), "\"PATH=/a b:$x%%\"", "systemd_env");
	is_str(R("{{ '/var/lib/my etcd%'|systemd_value }}"), "/var/lib/my etcd%%", "systemd_value");
	is_str(R("{{ 'a\\nb'|systemd_arg }}"),
	       "ERR: t.j2:1: a value that holds a newline cannot be written by systemd_arg",
	       "systemd_arg refuses a newline");
	is_str(
	    R("{{ 'x '|systemd_value }}"),
	    "ERR: t.j2:1: a value that starts or ends with a blank (systemd would drop it) cannot "
	    "be written by systemd_value",
	    "systemd_value refuses a trailing blank");
	is_str(R("{{ 'a\"b\\\\\\n'|toml_str }} {{ 'x'|yaml_str }}"), "\"a\\\"b\\\\\\n\" \"x\"",
	       "toml_str, yaml_str");
	is_str(R("{{ '198.18.0.1'|conf_word }} {{ 6443|conf_word }}"), "198.18.0.1 6443",
	       "conf_word");
	is_str(R("{{ 'a;b'|conf_word }}"),
	       "ERR: t.j2:1: a value that holds one of \" ' \\ ; { } # $ cannot be written by "
	       "conf_word",
	       "conf_word refuses ;");
	is_str(R("{{ 'kube:admin'|b64encode }} {{ 'a3ViZTphZG1pbg=='|b64decode }}"),
	       "a3ViZTphZG1pbg== kube:admin", "b64encode/b64decode");
	is_str(R("{{ 'a\\nb\\n\\nc'|indent(2) }}"), "a\n  b\n\n  c", "indent");
	is_str(R("{{ yes|ternary('on', 'off') }} {{ (n > 100)|ternary('big', 'small') }}"),
	       "on small", "ternary");
	is_str(R("{{ m|combine({'a': 2, 'z': 3}) }}"), "{'k': 'v', 'a': 2, 'z': 3}", "combine");
	is_str(R("{{ {'x': 1}|dict2items }}"), "[{'key': 'x', 'value': 1}]", "dict2items");
	is_str(R("{{ [1, [2, [3, none]]]|flatten }}"), "[1, 2, 3]", "flatten");
	is_str(R("{{ [1, 2]|union([2, 3]) }} {{ [1, 2, 3]|difference([2]) }} "
		 "{{ [1, 2, 3]|intersect([3, 1]) }}"),
	       "[1, 2, 3] [1, 3] [1, 3]", "union, difference, intersect");
	is_str(R("{{ 2.567|round(1) }} {{ 2.1|round(0, 'ceil') }} {{ 2.5|round }} {{ 3|round }}"),
	       "2.6 3.0 2.0 3", "round");
	is_str(R("{{ missing|mandatory }}"),
	       "ERR: t.j2:1: mandatory variable not defined: 'missing' is undefined", "mandatory");
	is_str(R("{{ x|nope }}"), "ERR: t.j2:1: no filter named 'nope'",
	       "unknown filter is a render error");
	is_str(R("{% if false %}{{ x|ansible.utils.ipaddr('net') }}{% endif %}ok"), "ok",
	       "unknown filter in a branch not taken is no error");
	is_str(R("{{ 'A'|ansible.builtin.lower }}"), "a", "ansible.builtin. prefix accepted");
	is_str(R("{{ xs|join(sep=',') }}"),
	       "ERR: t.j2:1: filter 'join' got an unexpected keyword "
	       "argument 'sep'",
	       "bad keyword argument");
}

static void test_tests(void)
{
	is_str(R("{{ name is defined }} {{ missing is defined }} {{ missing is not defined }} "
		 "{{ missing is undefined }}"),
	       "True False True True", "defined/undefined");
	is_str(R("{{ m.nope is defined }} {{ missing.attr is defined }} {{ xs[7] is defined }}"),
	       "False False False", "defined on missing attribute / chained / index");
	is_str(R("{{ nothing is none }} {{ name is string }} {{ n is number }} {{ m is mapping }} "
		 "{{ xs is sequence }} {{ n is string }}"),
	       "True True True True True False", "type tests");
	is_str(
	    R("{{ n is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} "
	      "{{ 'abc' is match('a.c') }} {{ 'xabc' is match('a') }} {{ 'xabc' is search('a') }}"),
	    "True True False True False True", "odd, divisibleby, match, search");
	is_str(R("{{ 'abc' is regex('b') }} {{ 'abc' is regex('b', match_type='match') }} "
		 "{{ 'abc' is regex('a', false, false, 'match') }}"),
	       "True False True", "regex test with all four arguments");
	is_str(R("{{ calico_ver is version('v3.24', '>=') }} {{ '1.9' is version('1.10', '<') }} "
		 "{{ '1.2.0' is version('1.2', 'eq') }}"),
	       "True True False", "version");
	is_str(R("{{ 2 in nums }} {{ 2 is in nums }} {{ nums is contains(10) }}"), "True True True",
	       "in/contains tests");
	is_str(R("{{ x is frobbable }}"), "ERR: t.j2:1: no test named 'frobbable'", "unknown test");
}

static void test_statements(void)
{
	is_str(R("{% if n > 100 %}big{% elif n > 40 %}mid{% else %}small{% endif %}"), "mid",
	       "if/elif/else");
	is_str(R("{% if missing is defined %}a{% else %}b{% endif %}"), "b", "if on is defined");
	is_str(R("{% for x in xs %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}"
		 "{% endfor %}"),
	       "1:a,2:b,3:c", "for with loop.index and loop.last");
	is_str(R("{% for x in xs %}{{ loop.index0 }}{{ loop.first }}{{ loop.length }}"
		 "{{ loop.revindex }} {% endfor %}"),
	       "0True33 1False32 2False31 ", "loop.index0/first/length/revindex");
	is_str(R("{% for x in groups.empty %}x{% else %}none{% endfor %}"), "none", "for else");
	is_str(R("{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} "
		 "{% endfor %}{{ loop.index }}| {% endfor %}"),
	       "1x1 1y2 1| 2x1 2y2 2| ", "nested for, inner loop shadows outer");
	is_str(R("{% for x in nums if x > 2 %}{{ x }}/{{ loop.length }} {% endfor %}"),
	       "3/3 3/3 10/3 ", "for with if filter");
	is_str(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
	       "a=1;b=2;", "dict literal iteration with items()");
	is_str(R("{% for k in m %}{{ k }}{% endfor %} {% for (k, v) in m|dictsort %}{{ k }}{% "
		 "endfor %}"),
	       "ka ak", "iterating a dict gives keys; dictsort");
	is_str(R("{% set x = 5 %}{{ x * 2 }}{% set x = x + 1 %} {{ x }}"), "10 6", "set");
	is_str(R("{% set x = 1 %}{% for i in [1, 2] %}{% set x = i * 10 %}{{ x }} {% endfor %}{{ x "
		 "}}"),
	       "10 20 1", "set inside a loop does not leak");
	is_str(R("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21", "set with unpacking");
	is_str(R("{% set greeting %}hi {{ name }}{% endset %}[{{ greeting|upper }}]"), "[HI WORLD]",
	       "block set");
	is_str(R("{% for h in groups['etcd'] %}{{ hostvars[h]['NODE_NAME'] }}=https://{{ h }}:2380,"
		 "{% endfor %}"),
	       "etcd1=https://198.18.0.1:2380,etcd2=https://198.18.0.2:2380,"
	       "etcd3=https://198.18.0.3:2380,",
	       "kubeasz ETCD_NODES through hostvars");
}

static void test_whitespace(void)
{
	is_str(R("a  {{- 'b' -}}  c"), "abc", "{{- -}}");
	is_str(R("a \n {%- if true -%} \n x \n {%- endif -%} \n b"), "axb", "{%- -%}");
	is_str(R("a \n{#- c -#}\n b"), "ab", "{#- -#}");
	is_str(R("{% if true %}\nx\n{% endif %}\ny"), "\nx\n\ny", "default: no trim_blocks");
	is_str(RT("{% if true %}\nx\n{% endif %}\ny"), "x\ny", "trim_blocks drops one newline");
	is_str(RT("{{ name }}\n{# c #}\nz"), "world\nz", "trim_blocks: not after {{ }}, after #}");
	is_str(RT("{% if true +%}\nx{% endif %}"), "\nx", "+%} disables trim_blocks");
	is_str(RT("servers:\n{% for h in groups['kube_master'] %}\n  - {{ h }}:6443\n{% endfor %}\n"
		  "end\n"),
	       "servers:\n  - 198.18.0.1:6443\n  - 198.18.0.2:6443\nend\n",
	       "role template with a loop");
}

static void test_kubeasz(void)
{
	const char *nodename =
	    "{%- if k8s_nodename != '' -%} {{ k8s_nodename|replace('_', '-')|lower }} "
	    "{%- else -%} k8s-{{ inventory_hostname|replace('.', '-') }} {%- endif -%}";
	is_str(R(nodename), "k8s-198-18-1-1", "K8S_NODENAME with k8s_nodename=''");
	value_map_set(vars, "k8s_nodename", value_str("Master_01"));
	is_str(R(nodename), "master-01", "K8S_NODENAME with k8s_nodename set");
	value_map_set(vars, "k8s_nodename", value_str("master-01"));
	is_str(R(nodename), "master-01", "K8S_NODENAME master-01");
	value_map_set(vars, "k8s_nodename", value_str(""));
	is_str(R("{{ base_dir }}/clusters/x"), "/etc/kubeasz/clusters/x", "cluster_dir");
	is_str(R("context-{{ CLUSTER_NAME }}"), "context-k8s-01", "CONTEXT_NAME");
	is_str(R("can-reach={{ groups['kube_master'][0] }}"), "can-reach=198.18.0.1",
	       "IP_AUTODETECTION_METHOD");
	is_str(R("{{ TMP.rstrip(',') }}"), "https://a:2379,https://b:2379", "ETCD_ENDPOINTS");
	value_map_set(vars, "SERVICE_CIDR", value_str("198.18.128.0/17"));
	is_str(R("{{ SERVICE_CIDR.split('.')[0] }}.{{ SERVICE_CIDR.split('.')[1] }}."
		 "{{ SERVICE_CIDR.split('.')[2] }}.{{ SERVICE_CIDR.split('.')[3]|int + 2 }}"),
	       "198.18.128.2", "CLUSTER_DNS_SVC_IP ('0/17'|int is 0)");
}

static void test_eval(void)
{
	int t;
	is_str(E("{{ xs }}", &t), "['a', 'b', 'c']", "native eval of a list");
	is_int(t, V_LIST, "... is a list");
	is_str(E("{{ n + 1 }}", &t), "42", "native eval of an int");
	is_int(t, V_INT, "... is an int");
	is_str(E("{{ m }}", &t), "{'k': 'v', 'a': 1}", "native eval of a map");
	is_int(t, V_MAP, "... is a map");
	E("{{ nothing }}", &t);
	is_int(t, V_NULL, "native None stays None");
	is_str(E(" {{ n }}", &t), " 41", "whitespace around: a string");
	is_int(t, V_STR, "... is a string");
	is_str(E("{{ n }}{{ n }}", &t), "4141", "two expressions: a string");
	is_int(t, V_STR, "... is a string");
	is_str(E("plain", &t), "plain", "plain text");
	is_int(t, V_STR, "... is a string");
	is_str(E("{{ missing }}", &t), "ERR: v.yml:1: 'missing' is undefined",
	       "native eval of undefined fails");
}

static void test_syntax_errors(void)
{
	is_str(R("abc {{ x "),
	       "ERR: t.j2:1: template syntax error: unexpected end of template, "
	       "expected '}}' to close the tag opened on line 1",
	       "unclosed {{");
	is_str(render_at("a\nb\n{% if x %}\nc", "cfg.yml", 10, 0),
	       "ERR: cfg.yml:13: template syntax error: unexpected end of template: the 'if' block "
	       "opened on line 12 needs '{% endif %}'",
	       "if without endif, line offset");
	is_str(render_at("one\ntwo\nthree {{ 1 + }}", "cfg.yml", 10, 0),
	       "ERR: cfg.yml:12: template syntax error: expected an expression, got '}}'",
	       "error on the 3rd line with start_line=10");
	is_str(render_at("\n\n{{ x|nope }}", "cfg.yml", 10, 0),
	       "ERR: cfg.yml:12: no filter named 'nope'", "unknown filter: the line of its use");
	is_str(R("{{ 1 $ 2 }}"), "ERR: t.j2:1: template syntax error: unexpected character '$'",
	       "bad token");
	is_str(R("{% frobnicate %}"),
	       "ERR: t.j2:1: template syntax error: unknown tag 'frobnicate'", "unknown tag");
	is_str(R("{% endfor %}"),
	       "ERR: t.j2:1: template syntax error: unexpected '{% endfor %}': no block is open",
	       "endfor without for");
	is_str(R("{% if x %}{% endfor %}"),
	       "ERR: t.j2:1: template syntax error: unexpected '{% endfor %}' in the 'if' block "
	       "opened on line 1",
	       "mismatched end tag");
	is_str(R("{{ 'abc }}"), "ERR: t.j2:1: template syntax error: unterminated string",
	       "unterminated string");
	is_str(R("x\n{# never closed"), "ERR: t.j2:2: template syntax error: unclosed comment",
	       "unclosed comment");
	is_str(R("{{ }}"), "ERR: t.j2:1: template syntax error: expected an expression, got '}}'",
	       "empty expression");
	is_str(R("{{ a b }}"),
	       "ERR: t.j2:1: template syntax error: expected end of print statement '}}', got 'b'",
	       "two expressions");
	is_str(R("{% for x in %}{% endfor %}"),
	       "ERR: t.j2:1: template syntax error: expected an expression, got '%}'",
	       "for without iterable");
	is_str(
	    render_at("{{ (", NULL, 1, 0),
	    "ERR: <template>:1: template syntax error: unexpected end of template, expected '}}' "
	    "to close the tag opened on line 1",
	    "file NULL names <template>");
	struct buf deep = BUF_INIT;
	buf_puts(&deep, "{{ ");
	for (int i = 0; i < 500; i++)
		buf_putc(&deep, '(');
	buf_putc(&deep, '1');
	for (int i = 0; i < 500; i++)
		buf_putc(&deep, ')');
	buf_puts(&deep, " }}");
	ok(!strncmp(R(deep.s), "ERR: t.j2:1: template syntax error: template nested too deeply",
		    62),
	   "deep parentheses are refused");
	buf_reset(&deep);
	buf_puts(&deep, "{{ name");
	for (int i = 0; i < 5000; i++)
		buf_puts(&deep, "|lower");
	buf_puts(&deep, " }}");
	ok(!strncmp(R(deep.s), "ERR: t.j2:1: template syntax error: expression nested too deeply",
		    64),
	   "long filter chains are refused");
	buf_reset(&deep);
	for (int i = 0; i < 500; i++)
		buf_puts(&deep, "{% if true %}");
	ok(!strncmp(R(deep.s), "ERR: t.j2:1: template syntax error: template nested too deeply",
		    62),
	   "deeply nested blocks are refused");
	buf_free(&deep);
}

static void test_runtime_errors(void)
{
	is_str(render_at("x\n{{ missing }}", "inv.yml", 5, 0),
	       "ERR: inv.yml:6: 'missing' is undefined",
	       "undefined variable names itself with file:line");
	is_str(R("{{ m.nope }}"), "ERR: t.j2:1: 'dict object' has no attribute 'nope'",
	       "missing attribute");
	is_str(R("{{ xs[5] }}"), "ERR: t.j2:1: list object has no element 5", "index out of range");
	is_str(R("{{ missing.x.y }}"), "ERR: t.j2:1: 'missing' is undefined",
	       "chained undefined reports the first failure");
	is_str(R("{{ 1 // 0 }}"), "ERR: t.j2:1: integer division or modulo by zero",
	       "integer division by zero");
	is_str(R("{{ n % 0 }}"), "ERR: t.j2:1: integer division or modulo by zero",
	       "modulo by zero");
	is_str(R("{{ 1 / 0 }}"), "ERR: t.j2:1: division by zero", "division by zero");
	is_str(R("{{ missing + 1 }}"), "ERR: t.j2:1: 'missing' is undefined",
	       "arithmetic on undefined");
	is_str(R("{% if missing == 'x' %}{% endif %}"), "ERR: t.j2:1: 'missing' is undefined",
	       "comparison with undefined");
	is_str(R("{% if missing %}{% endif %}"), "ERR: t.j2:1: 'missing' is undefined",
	       "truth of undefined");
	is_str(R("\n{% for x in missing %}{% endfor %}"), "ERR: t.j2:2: 'missing' is undefined",
	       "iterating undefined");
	is_str(R("{{ missing.split('.') }}"), "ERR: t.j2:1: 'missing' is undefined",
	       "method on undefined");
	is_str(R("{{ missing|lower }}"), "ERR: t.j2:1: 'missing' is undefined",
	       "filter on undefined");
	is_str(R("{{ boom }}"), "ERR: boom: lookup failed", "lookup errors pass through unchanged");
	is_str(R("{{ hostvars['bad'] }}"), "ERR: hostvars: cannot compute host 'bad'",
	       "obj errors pass through unchanged");
	is_str(R("{{ 1 + 'a' }}"),
	       "ERR: t.j2:1: unsupported operand type(s) for +: 'int' and 'str'", "type error");
	is_str(R("{{ 1 < 'a' }}"),
	       "ERR: t.j2:1: '<' not supported between instances of 'int' and 'str'",
	       "ordering error");
	is_str(R("{{ 9223372036854775807 + 1 }}"), "ERR: t.j2:1: integer overflow in '+'",
	       "integer overflow");
	is_str(R("{{ nope(1) }}"), "ERR: t.j2:1: unknown function 'nope'", "unknown function");
	is_str(R("{{ range(1000000)|length }}"),
	       "ERR: t.j2:1: range() too large (more than 100000 items)", "range is capped");
	is_str(R("{{ 'x' * 100000000 }}"),
	       "ERR: t.j2:1: string too long (more than 16777216 bytes)",
	       "string repetition is capped");
	ok(!strncmp(R("{% set s = 'x' * 5000000 %}{% for i in range(4) %}{{ s }}{% endfor %}"),
		    "ERR: t.j2:1: template output too large", 38),
	   "output is capped");
	ok(!strncmp(
	       R("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"),
	       "ERR: t.j2:1: template too expensive", 35),
	   "work is capped");
	is_str(R("{% for a, b in xs %}{% endfor %}"),
	       "ERR: t.j2:1: cannot unpack a str into 2 variables", "bad unpacking");
	is_str(R("{{ 'x' if false }}"),
	       "ERR: t.j2:1: the inline if-expression evaluated to false and no else section was "
	       "defined",
	       "inline if without else");
}

struct job {
	const struct tmpl *t;
	struct value *vars;
	const char *want;
	int fails;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct tmpl_env e = {lookup, j->vars};
	for (int i = 0; i < 300; i++) {
		struct buf b = BUF_INIT;
		if (tmpl_render(j->t, &e, &b) < 0 || strcmp(buf_cstr(&b), j->want) != 0)
			j->fails++;
		buf_free(&b);
	}
	return NULL;
}

static void test_threads(void)
{
	const char *src = "{% set ns = hosts|length %}{% for h in hosts %}{{ me }}>{{ h|upper }}"
			  "{{ loop.index }}/{{ ns }} {% endfor %}";
	struct tmpl *t = tmpl_compile(src, strlen(src), "t.j2", 1);
	struct job jobs[4];
	pthread_t th[4];
	char want[4][128];
	for (int i = 0; i < 4; i++) {
		char me[16];
		snprintf(me, sizeof me, "h%d", i);
		jobs[i].vars = value_map();
		value_map_set(jobs[i].vars, "me", value_str(me));
		value_map_set(jobs[i].vars, "hosts", strs("a", "b", NULL));
		snprintf(want[i], sizeof want[i], "%s>A1/2 %s>B2/2 ", me, me);
		jobs[i].t = t;
		jobs[i].want = want[i];
		jobs[i].fails = 0;
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	}
	int fails = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		fails += jobs[i].fails;
		value_unref(jobs[i].vars);
	}
	is_int(fails, 0, "one compiled template rendered from 4 threads");
	tmpl_free(t);
}

int main(void)
{
	setup();
	env.ud = vars;
	test_text();
	test_expressions();
	test_methods();
	test_filters();
	test_tests();
	test_statements();
	test_whitespace();
	test_kubeasz();
	test_eval();
	test_syntax_errors();
	test_runtime_errors();
	test_threads();
	free(last);
	value_unref(vars);
	return tap_done();
}
