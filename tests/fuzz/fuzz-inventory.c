/*
 * fuzz-inventory.c - libFuzzer target for the INI inventory reader (and the
 * Python literal reader under it): parse, build every derived value, free.
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11 \
 *         -Icore tests/fuzz/fuzz-inventory.c core/inventory.c core/pyliteral.c \
 *         core/value.c core/buf.c core/err.c -lm -lpthread -o /tmp/fuzz-inventory
 *     /tmp/fuzz-inventory -max_total_time=120 -max_len=4096
 */
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "pyliteral.h"
#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct value *v = pyliteral_value((const char *)data, size, "fuzz", 1);
	value_unref(v);

	/* the value spans (what the history redacts) lie in the text, in
	 * order, each after an '=' */
	struct var_spans sp = {0};
	struct inventory *inv = inventory_parse_spans((const char *)data, size, "fuzz.ini", &sp);
	size_t last = 0;
	for (size_t i = 0; i < sp.n; i++) {
		const struct var_span *v = &sp.v[i];
		if (v->start > v->end || v->end > size || v->start < last || v->start == 0 ||
		    !memchr(data + last, '=', v->start - last))
			abort();
		last = v->start;
	}
	if (!inv && sp.n)
		abort();
	var_spans_free(&sp);
	if (!inv)
		return 0;
	value_unref(inventory_list_value(inv));
	value_unref(inventory_groups_value(inv));
	for (size_t i = 0; i < inventory_nhosts(inv) && i < 64; i++) {
		const size_t *gs;
		inventory_host_groups(inv, i, &gs);
		value_unref(inventory_group_names(inv, i));
	}
	inventory_free(inv);
	return 0;
}
