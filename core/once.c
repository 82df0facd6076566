/*
 * once.c - ezk.once: values computed once per run, shared by every host.
 * engine-int.h.
 */
#include <string.h>

#include "engine-int.h"

/* under e->lock: a copy of key's value, or NULL */
static char *once_copy(struct engine *e, const char *key, size_t *len)
{
	for (size_t i = 0; i < e->nonces; i++)
		if (!strcmp(e->onces[i].key, key)) {
			*len = e->onces[i].len;
			return xstrndup(e->onces[i].val, e->onces[i].len);
		}
	return NULL;
}

char *engine_once_get(struct engine *e, const char *key, size_t *len)
{
	pthread_mutex_lock(&e->lock);
	char *v = once_copy(e, key, len);
	pthread_mutex_unlock(&e->lock);
	return v;
}

char *engine_once_put(struct engine *e, const char *key, const char *val, size_t len,
		      size_t *out_len)
{
	pthread_mutex_lock(&e->lock);
	char *v = once_copy(e, key, out_len);
	if (!v) {
		e->onces = xrealloc(e->onces, (e->nonces + 1) * sizeof *e->onces);
		struct once_val *o = &e->onces[e->nonces++];
		o->key = xstrdup(key);
		o->val = xstrndup(val, len);
		o->len = len;
		*out_len = len;
		v = xstrndup(val, len);
	}
	pthread_mutex_unlock(&e->lock);
	return v;
}
