/*
 * span.c - the value spans the readers record (span.h).
 */
#include "span.h"

#include <stdlib.h>

#include "buf.h"

void var_spans_add(struct var_spans *s, const char *key, size_t klen, size_t start, size_t end,
		   char in_quote)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = (struct var_span){xstrndup(key, klen), start, end, in_quote};
}

void var_spans_free(struct var_spans *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].key);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
