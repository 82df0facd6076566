/*
 * digest.h - sha256 of bytes and files, as lowercase hex: what ezk compares
 * downloads, image blobs and bundle members against.
 *
 *     struct sha256 h;
 *     sha256_init(&h);
 *     sha256_update(&h, data, n);          // as often as needed
 *     char hex[SHA256_HEX];
 *     sha256_final(&h, hex);               // "e3b0c442..." NUL-terminated
 *
 *     if (sha256_file("bin/etcd", hex, &size) < 0)   // message: "bin/etcd: ..."
 *         return -1;
 *
 * A digest as OCI writes it ("sha256:<64 hex>") is checked with
 * digest_parse(), which accepts only that algorithm and lowercase hex, so a
 * digest from a registry can name a file without escaping anything.
 */
#ifndef EZK_DIGEST_H
#define EZK_DIGEST_H

#include <stddef.h>

#define SHA256_HEX 65 /* 64 hex digits and the NUL */

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t n);
/* Writes the hex digest and frees the context (init again to reuse). */
void sha256_final(struct sha256 *h, char hex[SHA256_HEX]);
/* Frees the context without a result (on error paths). */
void sha256_abort(struct sha256 *h);

void sha256_buf(const void *data, size_t n, char hex[SHA256_HEX]);
/* Hash a whole file; *size (may be NULL) gets its length. -1 with
 * "path: reason" when it cannot be read. */
int sha256_file(const char *path, char hex[SHA256_HEX], long long *size);
/* Hash the first n bytes of an open file from offset 0 (the part of a
 * download already on disk). -1 on a read error or a short file. */
int sha256_fd_prefix(int fd, long long n, struct sha256 *h);

/* 1 if s is 64 lowercase hex digits. */
int sha256_hex_ok(const char *s);
/* "sha256:<hex>" -> hex (a pointer into s); NULL if it is not that form. */
const char *digest_parse(const char *s);

#endif
