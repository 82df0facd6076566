/*
 * pool.h - run one function per item on up to `forks` threads.
 *
 *     static void work(size_t i, void *ud) { ... host i ... }
 *     pool_run(nhosts, forks, work, ud);     // returns when all are done
 *
 * Items are handed out in order as threads free up, so one slow or
 * unreachable host holds up only its own thread. Results go wherever the
 * function puts them (usually slot i of an array in ud): the pool itself
 * knows nothing about hosts. forks <= 1 runs everything on the caller's
 * thread, in order.
 */
#ifndef EZK_POOL_H
#define EZK_POOL_H

#include <stddef.h>

#define POOL_DEFAULT_FORKS 50

void pool_run(size_t n, int forks, void (*fn)(size_t i, void *ud), void *ud);

#endif
