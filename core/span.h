/*
 * span.h - where each variable's value lies in the text it was read from,
 * as the INI reader (inventory_parse_spans) and the YAML reader
 * (yaml_load_spans) give it: the history's redaction replaces exactly these
 * bytes for the variables that hold or make a password (history.c).
 *
 *     struct var_spans sp = {0};
 *     struct inventory *inv = inventory_parse_spans(text, len, "hosts", &sp);
 *     for (size_t i = 0; i < sp.n; i++)
 *         // sp.v[i].key's value is text[sp.v[i].start, sp.v[i].end)
 *     var_spans_free(&sp);
 *
 * Offsets are bytes into the text as given (a byte order mark included),
 * in the order the assignments appear. in_quote is the quote character a
 * value's first byte is inside of when its key is quoted with it (INI:
 * "k=v w" on a host line), else 0: the span then ends with that quote.
 */
#ifndef EZK_SPAN_H
#define EZK_SPAN_H

#include <stddef.h>

struct var_span {
	char *key;
	size_t start, end;
	char in_quote;
};

struct var_spans {
	struct var_span *v;
	size_t n, cap;
};

void var_spans_add(struct var_spans *s, const char *key, size_t klen, size_t start, size_t end,
		   char in_quote);
void var_spans_free(struct var_spans *s);

#endif
