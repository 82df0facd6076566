/* test-value.c - the value model: maps (ordered, hashed), refcounts, str()
 * and JSON as Python prints them. */
#include <stdlib.h>

#include "tap.h"
#include "value.h"

static const char *json(struct value *v, int indent, int sort)
{
	static struct buf b;
	buf_reset(&b);
	value_to_json(v, &b, indent, sort);
	return buf_cstr(&b);
}

static const char *str(struct value *v)
{
	static struct buf b;
	buf_reset(&b);
	value_to_str(v, &b);
	return buf_cstr(&b);
}

int main(void)
{
	struct value *m = value_map();
	char key[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		value_map_set(m, key, value_int(i));
	}
	int all = 1;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		struct value *v = value_map_get(m, key);
		all &= v && v->u.i == i;
	}
	ok(all, "1000 keys: each found (hash index)");
	is_str(value_map_key(m, 0), "k0", "insertion order kept");
	is_str(value_map_key(m, 999), "k999", "insertion order kept at the end");
	value_map_set(m, "k5", value_str("five"));
	is_int(value_len(m), 1000, "replacing a key keeps the count");
	is_str(value_map_key(m, 5), "k5", "replacing a key keeps its place");
	ok(value_map_del(m, "k5") == 1, "delete a key");
	ok(value_map_get(m, "k5") == NULL, "deleted key is gone");
	ok(value_map_get(m, "k6") && value_map_get(m, "k6")->u.i == 6,
	   "others still found after delete");
	is_str(value_map_key(m, 5), "k6", "delete shifts the order");
	ok(value_map_del(m, "nope") == 0, "deleting a missing key is a no-op");
	ok(value_map_getn(m, "k77xyz", 3) && value_map_getn(m, "k77xyz", 3)->u.i == 77,
	   "getn uses the length");
	value_unref(m);

	struct value *l = value_list();
	value_list_push(l, value_str("a'b"));
	value_list_push(l, value_int(-3));
	value_list_push(l, value_float(685230.0));
	value_list_push(l, value_bool(1));
	value_list_push(l, value_null());
	struct value *in = value_map();
	value_map_set(in, "x", value_str("y\n"));
	value_list_push(l, in);
	is_str(str(l), "[\"a'b\", -3, 685230.0, True, None, {'x': 'y\\n'}]", "str() as Python");
	is_str(json(l, 0, 0), "[\"a'b\",-3,685230.0,true,null,{\"x\":\"y\\n\"}]", "compact JSON");
	struct value *c = value_copy(l);
	ok(value_equal(c, l), "deep copy is equal");
	value_map_set(value_list_get(c, 5), "x", value_str("changed"));
	ok(!value_equal(c, l), "deep copy is independent");
	value_unref(c);
	value_unref(l);

	struct value *a = value_int(1), *b = value_float(1.0), *t = value_bool(1);
	ok(value_equal(a, b), "1 == 1.0");
	ok(value_equal(a, t), "1 == True, as Python");
	value_unref(a);
	value_unref(b);
	value_unref(t);

	struct value *s = value_map();
	value_map_set(s, "b", value_int(1));
	value_map_set(s, "a", value_list());
	is_str(json(s, 2, 1), "{\n  \"a\": [],\n  \"b\": 1\n}", "pretty JSON, sorted keys");
	is_str(json(s, 0, 0), "{\"b\":1,\"a\":[]}", "JSON in insertion order");
	value_unref(s);

	struct value *e = value_strn("a\0b\x01", 4);
	is_str(json(e, 0, 0), "\"a\\u0000b\\u0001\"", "control bytes escaped in JSON");
	ok(value_truthy(e), "a non-empty string is true");
	value_unref(e);
	struct value *z = value_str("");
	ok(!value_truthy(z), "an empty string is false");
	value_unref(z);

	struct value *r = value_str("shared");
	value_ref(r);
	value_unref(r);
	is_str(r->u.str.s, "shared", "a value lives while referenced");
	value_unref(r);

	ok(src_intern("a/hosts") == src_intern("a/hosts"), "interned names are shared");
	return tap_done();
}
