/*
 * progress.h - what a long transfer shows while it runs.
 *
 * On a terminal, one line redrawn in place (at most 10 times a second):
 *
 *     etcd-v3.6.5-linux-amd64.tar.gz   12.3/24.1 MB   8.2 MB/s   ETA 2s
 *
 * Elsewhere (a log, CI) plain lines: one when a transfer ends, and one
 * every 30 s while it runs, so a slow download still shows it is alive:
 *
 *     fetched etcd-v3.6.5-linux-amd64.tar.gz: 24.1 MB in 3.0 s (8.0 MB/s)
 *
 *     struct progress *p = progress_new(stderr, -1);   // -1: isatty() decides
 *     progress_start(p, "etcd.tar.gz", total);         // total < 0: unknown
 *     progress_update(p, done);                        // bytes so far
 *     progress_end(p, "fetched", done);                // verb of the last line
 *     progress_totals(p, &bytes, &seconds);            // every ended transfer
 *     progress_free(p);
 *
 * A NULL progress is valid everywhere and shows nothing. One transfer at a
 * time; the functions are not thread-safe.
 */
#ifndef EZK_PROGRESS_H
#define EZK_PROGRESS_H

#include <stdio.h>

struct progress;

/* tty: 1 redraws a line, 0 prints plain lines, -1 asks isatty(fileno(f)). */
struct progress *progress_new(FILE *f, int tty);
void progress_free(struct progress *p);
void progress_start(struct progress *p, const char *label, long long total);
/* Bytes of this transfer so far, counting what a resumed transfer already
 * had (from counts only what moved in this run, for the rate). */
void progress_update(struct progress *p, long long done);
/* The size, once known (a server's Content-Length). */
void progress_set_total(struct progress *p, long long total);
/* A transfer that resumes at `from` bytes: the rate counts only new bytes. */
void progress_resume_at(struct progress *p, long long from);
void progress_end(struct progress *p, const char *verb, long long done);
/* A line of text (clears the progress line first on a terminal). */
void progress_note(struct progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Bytes moved (this run) and seconds spent in transfers that ended. */
void progress_totals(const struct progress *p, long long *bytes, double *seconds);

/* "12.3 MB", "512 B" into out (16 bytes at least). */
void human_bytes(double n, char *out, size_t len);

#endif
