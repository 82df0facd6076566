/*
 * tap.h - the smallest test harness that works: each check prints one TAP
 * line ("ok N - what" / "not ok N - what"), and tap_done() prints the plan
 * and returns the exit status. tests/run.sh counts the lines.
 *
 *     int main(void) {
 *         ok(1 + 1 == 2, "addition");
 *         is_str(buf.s, "x", "renders x");
 *         return tap_done();
 *     }
 */
#ifndef EZK_TAP_H
#define EZK_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *what)
{
	tap_n++;
	if (cond) {
		printf("ok %d - %s\n", tap_n, what);
	} else {
		tap_failed++;
		printf("not ok %d - %s\n#   at %s:%d\n", tap_n, what, file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, what) tap_ok(!!(cond), __FILE__, __LINE__, (what))

#define is_str(got, want, what)                                                                    \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!tap_ok(g_ && w_ && strcmp(g_, w_) == 0, __FILE__, __LINE__, (what)))          \
			printf("#   got:  \"%s\"\n#   want: \"%s\"\n", g_ ? g_ : "(null)", w_);    \
	} while (0)

#define is_int(got, want, what)                                                                    \
	do {                                                                                       \
		long long g_ = (got), w_ = (want);                                                 \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, (what)))                                 \
			printf("#   got:  %lld\n#   want: %lld\n", g_, w_);                        \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
