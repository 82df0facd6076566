/* digest.c - sha256 with libcrypto (digest.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "digest.h"
#include "err.h"

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		abort(); /* out of memory, as buf.h treats it */
	h->ctx = c;
}

void sha256_update(struct sha256 *h, const void *data, size_t n)
{
	if (n)
		EVP_DigestUpdate(h->ctx, data, n);
}

void sha256_final(struct sha256 *h, char hex[SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	static const char digits[] = "0123456789abcdef";
	EVP_DigestFinal_ex(h->ctx, md, &len);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	for (unsigned i = 0; i < len && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

void sha256_abort(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void sha256_buf(const void *data, size_t n, char hex[SHA256_HEX])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, data, n);
	sha256_final(&h, hex);
}

static int hash_fd(int fd, long long limit, struct sha256 *h, long long *got)
{
	static _Thread_local char block[1 << 17];
	long long n = 0;
	for (;;) {
		size_t want = sizeof block;
		if (limit >= 0 && limit - n < (long long)want)
			want = (size_t)(limit - n);
		if (want == 0)
			break;
		ssize_t r = read(fd, block, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		sha256_update(h, block, (size_t)r);
		n += r;
	}
	*got = n;
	return 0;
}

int sha256_file(const char *path, char hex[SHA256_HEX], long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	struct sha256 h;
	sha256_init(&h);
	long long n = 0;
	int rc = hash_fd(fd, -1, &h, &n);
	int e = errno;
	close(fd);
	if (rc < 0) {
		sha256_abort(&h);
		return ezk_fail("%s: %s", path, strerror(e));
	}
	sha256_final(&h, hex);
	if (size)
		*size = n;
	return 0;
}

int sha256_fd_prefix(int fd, long long n, struct sha256 *h)
{
	long long got = 0;
	if (lseek(fd, 0, SEEK_SET) < 0 || hash_fd(fd, n, h, &got) < 0)
		return ezk_fail("%s", strerror(errno));
	if (got != n)
		return ezk_fail("short file: %lld of %lld bytes", got, n);
	return 0;
}

int sha256_hex_ok(const char *s)
{
	if (!s)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

const char *digest_parse(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || !sha256_hex_ok(s + 7))
		return NULL;
	return s + 7;
}
