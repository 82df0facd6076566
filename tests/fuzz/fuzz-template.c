/*
 * fuzz-template.c - libFuzzer target for the template engine: compile the
 * input and, when it compiles, render and evaluate it against a small fixed
 * environment. Crashes, leaks, sanitizer reports and hangs are bugs; errors
 * are not.
 *
 * The input is the template (tests/fuzz/run.sh seeds it with the template
 * lines of inventories/): rendered as compiled with trim_blocks off, and
 * evaluated as compiled with it on.
 */
#include <stdint.h>
#include <string.h>

#include "tmpl/template.h"

static int obj_get(void *ud, const char *key, size_t klen, struct value **out)
{
	if (klen == 4 && !memcmp(key, "fail", 4))
		return -1;
	struct value *v = value_map_getn(ud, key, klen);
	if (!v)
		return 1;
	*out = value_ref(v);
	return 0;
}

static struct value *obj_keys(void *ud)
{
	struct value *l = value_list();
	for (size_t i = 0; i < value_len(ud); i++)
		value_list_push(l, value_str(value_map_key(ud, i)));
	return l;
}

static void obj_free(void *ud)
{
	value_unref(ud);
}

static const struct vobj_ops obj_ops = {"hostvars", obj_get, obj_keys, obj_free};

static int lookup(void *ud, const char *name, size_t len, struct value **out)
{
	if (len == 4 && !memcmp(name, "boom", 4))
		return -1;
	struct value *v = value_map_getn(ud, name, len);
	if (!v)
		return 1;
	*out = value_ref(v);
	return 0;
}

static struct value *make_vars(void)
{
	struct value *m = value_map(), *xs = value_list(), *d = value_map(), *h = value_map();
	value_map_set(m, "name", value_str("world"));
	value_map_set(m, "empty", value_str(""));
	value_map_set(m, "ver", value_str("v1.26.3"));
	value_map_set(m, "n", value_int(42));
	value_map_set(m, "f", value_float(-2.5));
	value_map_set(m, "t", value_bool(1));
	value_map_set(m, "z", value_null());
	value_list_push(xs, value_str("a"));
	value_list_push(xs, value_int(3));
	value_list_push(xs, value_str("B"));
	value_map_set(m, "xs", xs);
	value_map_set(d, "k", value_str("v"));
	value_map_set(d, "list", value_ref(xs));
	value_map_set(m, "d", d);
	value_map_set(h, "198.18.0.1", value_ref(d));
	value_map_set(m, "hostvars", value_obj(&obj_ops, h));
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct value *vars = make_vars();
	struct tmpl_env env = {lookup, vars};
	struct tmpl *t = tmpl_compile((const char *)data, size, "fuzz.j2", 1);
	if (t) {
		struct buf out = BUF_INIT;
		tmpl_render(t, &env, &out);
		buf_free(&out);
		tmpl_free(t);
	}
	t = tmpl_compile_ex((const char *)data, size, "fuzz.j2", 1, 1);
	if (t) {
		struct value *v = NULL;
		struct buf out = BUF_INIT;
		if (tmpl_eval(t, &env, &v) == 0)
			value_to_str(v, &out);
		buf_free(&out);
		value_unref(v);
		tmpl_free(t);
	}
	value_unref(vars);
	return 0;
}
