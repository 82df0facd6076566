/*
 * clock.h - the monotonic clock every timing in ezk reads: task times,
 * command timeouts, the live display's redraws.
 */
#ifndef EZK_CLOCK_H
#define EZK_CLOCK_H

/* milliseconds since an arbitrary point (CLOCK_MONOTONIC) */
double clock_ms(void);

#endif
