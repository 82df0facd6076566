/*
 * pool.c - see pool.h. Threads take the next index from an atomic counter.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "buf.h"
#include "pool.h"

struct pool {
	size_t n;
	atomic_size_t next;
	void (*fn)(size_t, void *);
	void *ud;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
		p->fn(i, p->ud);
	return NULL;
}

void pool_run(size_t n, int forks, void (*fn)(size_t i, void *ud), void *ud)
{
	struct pool p = {.n = n, .fn = fn, .ud = ud};
	atomic_init(&p.next, 0);
	size_t k = forks < 1 ? 1 : (size_t)forks;
	if (k > n)
		k = n;
	if (k <= 1) {
		worker(&p);
		return;
	}
	pthread_t *t = xcalloc(k, sizeof *t);
	size_t started = 0;
	for (; started < k; started++)
		if (pthread_create(&t[started], NULL, worker, &p) != 0)
			break;
	if (started == 0)
		worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
}
