/*
 * fuzz-yaml.c - libFuzzer target for the YAML loader and emitter.
 *
 * Loads the input with yaml_load_any(); whatever loads must emit, load
 * back and compare equal. Values holding NaN (never equal to itself) or
 * bytes that are not UTF-8 (from !!binary; YAML cannot hold them) skip
 * the comparison, alias bombs (emitting expands every alias) the emit.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 -Icore \
 *     tests/fuzz/fuzz-yaml.c core/yamlio.c core/value.c core/buf.c core/err.c \
 *     -lyaml -lm -lpthread -o /tmp/fuzz-yaml
 *   /tmp/fuzz-yaml -max_total_time=120 -max_len=4096 [tests/data/yaml]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span.h"
#include "yamlio.h"

#define MAX_NODES 200000

static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len = c < 0x80		  ? 1
					 : c >= 0xc2 && c <= 0xdf ? 2
					 : c >= 0xe0 && c <= 0xef ? 3
					 : c >= 0xf0 && c <= 0xf4 ? 4
								  : 0;
		if (!len || i + len > n)
			return 0;
		unsigned cp = len == 1 ? c : c & (0x7f >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* Nodes v expands to, counting up to *budget; 0 once it runs out. Sets
 * *odd if v holds a NaN or bytes that are not UTF-8. */
static int walk(const struct value *v, long *budget, int *odd)
{
	if (--*budget < 0)
		return 0;
	if (v->type == V_FLOAT && isnan(v->u.f))
		*odd = 1;
	if (v->type == V_STR && !utf8_ok((const unsigned char *)v->u.str.s, v->u.str.len))
		*odd = 1;
	if (v->type == V_LIST)
		for (size_t i = 0; i < value_len(v); i++)
			if (!walk(value_list_get(v, i), budget, odd))
				return 0;
	if (v->type == V_MAP)
		for (size_t i = 0; i < value_len(v); i++) {
			const char *k = value_map_key(v, i);
			if (!utf8_ok((const unsigned char *)k, strlen(k)))
				*odd = 1;
			if (!walk(value_map_val(v, i), budget, odd))
				return 0;
		}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the top-level values' spans (what the history redacts) lie in the
	 * text, in order, and every key of the mapping has one */
	struct var_spans sp = {0};
	struct value *m = yaml_load_spans((const char *)data, size, "fuzz.yml", &sp);
	for (size_t i = 0; i < sp.n; i++)
		if (sp.v[i].start > sp.v[i].end || sp.v[i].end > size ||
		    (i && sp.v[i].start < sp.v[i - 1].end))
			abort();
	if (!m && sp.n)
		abort();
	var_spans_free(&sp);
	value_unref(m);

	struct value *v = yaml_load_any((const char *)data, size, "fuzz.yml");
	if (!v)
		return 0;
	long budget = MAX_NODES;
	int odd = 0;
	if (walk(v, &budget, &odd)) {
		struct buf out = BUF_INIT;
		yaml_emit(v, &out);
		struct value *back = yaml_load_any(buf_cstr(&out), out.len, "emitted.yml");
		if (!back) {
			fprintf(stderr, "emitted YAML does not load: %s\n---\n%s", ezk_err_msg(),
				buf_cstr(&out));
			abort();
		}
		if (!odd && !value_equal(v, back)) {
			fprintf(stderr, "emitted YAML loads differently\n---\n%s", buf_cstr(&out));
			abort();
		}
		value_unref(back);
		buf_free(&out);
	}
	value_unref(v);
	/* the mapping-only entry point shares the loader; run it too */
	value_unref(yaml_load((const char *)data, size, "fuzz.yml"));
	return 0;
}
