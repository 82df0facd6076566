/*
 * download.h - HTTP(S) fetches with libcurl: small answers into memory,
 * files to disk with resume and a sha256 check before they appear.
 *
 *     struct dl *d = dl_new(progress);          // one connection pool per run
 *     struct dl_resp r;
 *     if (dl_get(d, url, NULL, 1 << 20, &r) < 0)   // message names the url
 *         ...;
 *     if (r.status == 200) use(r.body.s, r.body.len);
 *     dl_resp_free(&r);
 *
 *     int rc = dl_file(d, url, NULL, "bin/etcd", want_hex, -1, 0755, "etcd");
 *     // rc 1: bin/etcd already had that sha256, nothing was fetched
 *     // rc 0: fetched and checked; -1: message set
 *     dl_free(d);
 *
 * dl_file's contract, what makes an interrupted download cheap to finish:
 * - A destination whose sha256 is already the expected one is left alone
 *   (no request at all).
 * - Bytes go to DEST.part beside the destination. A later run that finds a
 *   DEST.part asks only for the rest (Range: bytes=N-); a server that
 *   answers the whole file (200) is read from the start; 416 (nothing
 *   left) means the part may already be whole.
 * - The whole file's sha256 (the part's bytes and the new ones) and size
 *   (when known) are checked before it is fsynced and renamed to DEST, so
 *   DEST is either absent, the old file, or the verified new one. A part
 *   that turns out wrong is removed and fetched once more from the start.
 * - Without an expected sha256 (want_hex NULL) nothing is skipped or
 *   checked: for files whose checksum is unknown (not used for binaries).
 *
 * Headers are "Name: value" strings (e.g. a registry's Authorization); they
 * are never printed. Redirects are followed (at most 10); curl drops an
 * Authorization header when a redirect leads to another host. Plain http
 * is allowed: sources are settings, and the tests' servers are http on
 * loopback. EZK_DL_TIMEOUT (seconds, default 30) bounds a connection that
 * makes no progress; there is no limit on a transfer that moves.
 */
#ifndef EZK_DOWNLOAD_H
#define EZK_DOWNLOAD_H

#include <sys/types.h>

#include "buf.h"

struct progress;
struct dl;

struct dl_resp {
	long status;
	struct buf body;
	char *content_type;  /* Content-Type, or NULL */
	char *www_auth;	     /* WWW-Authenticate, or NULL */
	char *docker_digest; /* Docker-Content-Digest, or NULL */
};

struct dl *dl_new(struct progress *p);
void dl_free(struct dl *d);

/* GET url into r->body (at most max bytes; more is an error). 0 whatever
 * the HTTP status (the caller reads r->status); -1 when no answer came.
 * method NULL is GET ("HEAD" for a HEAD request). */
int dl_get(struct dl *d, const char *url, const char *const *headers, size_t max,
	   struct dl_resp *r);
int dl_request(struct dl *d, const char *method, const char *url, const char *const *headers,
	       size_t max, struct dl_resp *r);
void dl_resp_free(struct dl_resp *r);

/* Fetch url to dest as above; want_size < 0 when unknown; label is what
 * the progress display calls it. Returns 1 (already there), 0 (fetched)
 * or -1. After -1, dl_last_status() is the HTTP status of the failed
 * answer (0: none). */
int dl_file(struct dl *d, const char *url, const char *const *headers, const char *dest,
	    const char *want_hex, long long want_size, mode_t mode, const char *label);
long dl_last_status(const struct dl *d);

#endif
