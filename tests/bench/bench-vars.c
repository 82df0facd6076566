/*
 * bench-vars.c - load an inventory plus config.yml and resolve every
 * host's variables (all templates evaluated), as `ezk inventory --host`
 * does for each host. Prints one table row: hosts, variables, wall time,
 * peak RSS.
 *
 * usage: bench-vars HOSTS CONFIG.yml LABEL
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cluster.h"
#include "err.h"
#include "inventory.h"
#include "value.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench-vars HOSTS CONFIG LABEL\n");
		return 2;
	}
	double t0 = now();
	struct cluster *c;
	if (cluster_load(argv[1], argv[2], NULL, &c) < 0) {
		fprintf(stderr, "%s\n", ezk_err_msg());
		return 2;
	}
	double t1 = now();
	size_t nvars = 0, n = inventory_nhosts(c->inv);
	for (size_t h = 0; h < n; h++) {
		struct value *all;
		if (vars_resolve_all(c, h, &all, NULL, NULL) < 0) {
			fprintf(stderr, "%s\n", ezk_err_msg());
			value_unref(all);
			return 1;
		}
		nvars += value_len(all);
		value_unref(all);
		vars_forget(c, h);
	}
	double t2 = now();
	cluster_close(c);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("| %-34s | %6zu hosts, %7zu vars | load %6.1f ms, resolve %7.1f ms, total %7.1f ms "
	       "| peak RSS %6.1f MiB | target < 1000 ms, < 200 MiB |\n",
	       argv[3], n, nvars, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t0) * 1e3,
	       (double)ru.ru_maxrss / 1024.0);
	return 0;
}
