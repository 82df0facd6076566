/* pki.c - the CA and leaf certificates (see pki.h). */
#include "pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"

#define DAY 86400LL
#define MAX_LIFETIME (1000LL * 365 * DAY)
#define RENEW_BEFORE (30 * DAY)
#define CLOCK_SKEW 300

/* ---- lifetimes ---- */

int pki_parse_lifetime(const char *s, long long *secs)
{
	static const struct {
		char unit;
		long long mult;
	} units[] = {{'d', DAY}, {'h', 3600}, {'m', 60}, {'s', 1}};
	if (!s || !*s)
		return ezk_fail("empty lifetime");
	const char *p = s;
	long long total = 0;
	size_t next = 0; /* units must come largest first, each once */
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return ezk_fail("expected a number at '%s' (like 438000h, 90d or 1h30m)",
					p);
		long long n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n > (MAX_LIFETIME - (*p - '0')) / 10)
				return ezk_fail("too long (at most 1000 years)");
			n = n * 10 + (*p++ - '0');
		}
		long long mult;
		if (!*p) {
			if (next != 0)
				return ezk_fail("a number without a unit at the end");
			mult = 3600; /* a bare number means hours */
		} else {
			size_t u = 0;
			while (u < sizeof units / sizeof units[0] && units[u].unit != *p)
				u++;
			if (u == sizeof units / sizeof units[0])
				return ezk_fail("unknown unit '%c' (d, h, m or s)", *p);
			if (u < next)
				return ezk_fail(
				    "unit '%c' repeated or out of order (largest first)", *p);
			mult = units[u].mult;
			next = u + 1;
			p++;
		}
		if (n > MAX_LIFETIME / mult || total > MAX_LIFETIME - n * mult)
			return ezk_fail("too long (at most 1000 years)");
		total += n * mult;
	}
	if (total <= 0)
		return ezk_fail("must be more than zero");
	*secs = total;
	return 0;
}

/* ---- errors ---- */

/* Set the message "what: <the first OpenSSL error>" and empty the queue. */
static int ssl_fail(const char *fmt, ...) EZK_PRINTF(1, 2);
static int ssl_fail(const char *fmt, ...)
{
	char what[512], e[256] = "unknown OpenSSL error";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	unsigned long code = ERR_get_error();
	if (code) {
		const char *rs = ERR_reason_error_string(code);
		if (rs)
			snprintf(e, sizeof e, "%s", rs);
		else
			ERR_error_string_n(code, e, sizeof e);
	}
	ERR_clear_error();
	return ezk_fail("%s: %s", what, e);
}

/* ---- small helpers ---- */

static void set_reason(struct pki_result *out, const char *fmt, ...) EZK_PRINTF(2, 3);
static void set_reason(struct pki_result *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof out->reason)
		memcpy(out->reason + sizeof out->reason - 4, "...", 4);
}

static void ymd(long long t, char *s, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(s, n, "%Y-%m-%d", &tm))
		snprintf(s, n, "@%lld", t);
}

static long long asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (long long)timegm(&tm);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1; /* an encrypted key is unreadable; never prompt */
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* "<what>: <the first OpenSSL error>" for a reason; empties the queue. */
static void ssl_why(char *why, size_t n, const char *what)
{
	unsigned long code = ERR_get_error();
	const char *rs = code ? ERR_reason_error_string(code) : NULL;
	snprintf(why, n, "%s%s%s", what, rs ? ": " : "", rs ? rs : "");
	ERR_clear_error();
}

/* Why file_read failed, without the path. */
static void read_why(char *why, size_t n, const char *path)
{
	const char *msg = ezk_err_msg();
	size_t pl = strlen(path);
	if (!strncmp(msg, path, pl) && !strncmp(msg + pl, ": ", 2))
		msg += pl + 2;
	snprintf(why, n, "%s", msg);
}

/* A PEM certificate (key false) or private key (key true) from path: 1 read,
 * 0 missing, -1 unreadable (why says so). A key's bytes are wiped after. */
static int read_pem(const char *path, bool key, void **out, char *why, size_t n)
{
	char *data;
	size_t len;
	*out = NULL;
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (file_read(path, &data, &len) < 0) {
		read_why(why, n, path);
		return -1;
	}
	BIO *bio = BIO_new_mem_buf(data, (int)(len > INT_MAX ? INT_MAX : len));
	if (bio)
		*out = key ? (void *)PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
			   : (void *)PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key)
		OPENSSL_cleanse(data, len);
	free(data);
	if (!*out) {
		ssl_why(why, n, key ? "not a PEM private key" : "not a PEM certificate");
		return -1;
	}
	return 1;
}

static int read_cert(const char *path, X509 **out, char *why, size_t n)
{
	void *p;
	int rc = read_pem(path, false, &p, why, n);
	*out = p;
	return rc;
}

static int read_key(const char *path, EVP_PKEY **out, char *why, size_t n)
{
	void *p;
	int rc = read_pem(path, true, &p, why, n);
	*out = p;
	return rc;
}

static int key_algo(const EVP_PKEY *k)
{
	if (!k)
		return -1;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return EVP_PKEY_get_bits(k) == 2048 ? PKI_RSA2048 : -1;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		char group[64];
		size_t gl = 0;
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof group, &gl) &&
		    !strcmp(group, "prime256v1"))
			return PKI_ECDSA_P256;
	}
	ERR_clear_error();
	return -1;
}

static int keys_match(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	int rc = pub && EVP_PKEY_eq(pub, key) == 1;
	ERR_clear_error();
	return rc;
}

static const char *algo_name(enum pki_algo a)
{
	return a == PKI_ECDSA_P256 ? "ECDSA P-256" : "RSA 2048";
}

/* ---- subject alternative names ---- */

struct san {
	bool ip;
	char *s; /* a DNS name, or the address in inet_ntop's canonical form */
	unsigned char addr[16];
	int alen; /* 4 or 16 for an IP */
};

struct sanset {
	struct san *v;
	size_t n;
};

static void sanset_free(struct sanset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].s);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static int san_cmp(const struct san *a, const struct san *b)
{
	if (a->ip != b->ip)
		return a->ip ? 1 : -1;
	return a->ip ? strcmp(a->s, b->s) : strcasecmp(a->s, b->s);
}

static int san_qcmp(const void *a, const void *b)
{
	return san_cmp(a, b);
}

static bool sanset_has(const struct sanset *set, const struct san *x)
{
	for (size_t i = 0; i < set->n; i++)
		if (!san_cmp(&set->v[i], x))
			return true;
	return false;
}

/* Append unless already there (sets are small: a few dozen names). */
static void sanset_add(struct sanset *set, const struct san *x)
{
	if (sanset_has(set, x)) {
		free(x->s);
		return;
	}
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	set->v[set->n++] = *x;
}

static bool dns_name_ok(const char *s)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_*", *p))
			return false;
	return true;
}

/* The request's names, in its order, duplicates dropped. */
static int sanset_from_req(const struct pki_req *r, struct sanset *set)
{
	for (size_t i = 0; i < r->nhosts; i++) {
		const char *h = r->hosts[i];
		struct san x = {0};
		if (!h)
			continue;
		char text[INET6_ADDRSTRLEN];
		if (inet_pton(AF_INET, h, x.addr) == 1) {
			x.ip = true, x.alen = 4;
		} else if (inet_pton(AF_INET6, h, x.addr) == 1) {
			x.ip = true, x.alen = 16;
		} else if (!dns_name_ok(h)) {
			sanset_free(set);
			return ezk_fail("bad host name '%s' (not an IP address or a DNS name)", h);
		}
		if (x.ip) {
			inet_ntop(x.alen == 4 ? AF_INET : AF_INET6, x.addr, text, sizeof text);
			x.s = xstrdup(text);
		} else {
			x.s = xstrdup(h);
		}
		sanset_add(set, &x);
	}
	return 0;
}

/* The certificate's DNS and IP names (others are kept as "other:<type>"
 * so that a certificate carrying them is not taken for the request's). */
static void sanset_from_cert(X509 *cert, struct sanset *set)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		struct san x = {0};
		char text[INET6_ADDRSTRLEN + 16];
		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *d = g->d.dNSName;
			x.s = xstrndup((const char *)ASN1_STRING_get0_data(d),
				       (size_t)ASN1_STRING_length(d));
		} else if (g->type == GEN_IPADD && (ASN1_STRING_length(g->d.iPAddress) == 4 ||
						    ASN1_STRING_length(g->d.iPAddress) == 16)) {
			x.ip = true;
			x.alen = ASN1_STRING_length(g->d.iPAddress);
			memcpy(x.addr, ASN1_STRING_get0_data(g->d.iPAddress), (size_t)x.alen);
			inet_ntop(x.alen == 4 ? AF_INET : AF_INET6, x.addr, text, sizeof text);
			x.s = xstrdup(text);
		} else {
			snprintf(text, sizeof text, "other:%d", g->type);
			x.ip = true; /* never equal to a request's DNS name */
			x.s = xstrdup(text);
		}
		sanset_add(set, &x);
	}
	GENERAL_NAMES_free(gens);
}

/* "" when equal, else "+added -removed" in b. */
static void sanset_diff(const struct sanset *want, const struct sanset *have, struct buf *b)
{
	struct san *w = xmalloc((want->n + 1) * sizeof *w), *h = xmalloc((have->n + 1) * sizeof *h);
	if (want->n)
		memcpy(w, want->v, want->n * sizeof *w);
	if (have->n)
		memcpy(h, have->v, have->n * sizeof *h);
	qsort(w, want->n, sizeof *w, san_qcmp);
	qsort(h, have->n, sizeof *h, san_qcmp);
	for (size_t i = 0; i < want->n; i++)
		if (!sanset_has(have, &w[i]))
			buf_printf(b, "%s+%s", b->len ? " " : "", w[i].s);
	for (size_t i = 0; i < have->n; i++)
		if (!sanset_has(want, &h[i]))
			buf_printf(b, "%s-%s", b->len ? " " : "", h[i].s);
	free(w);
	free(h);
}

/* ---- subjects ---- */

/* The entry's UTF-8 text (caller frees), or NULL if absent. */
static char *name_entry(const X509_NAME *name, int nid)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return NULL;
	unsigned char *u = NULL;
	int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0) {
		ERR_clear_error();
		return xstrdup("");
	}
	char *s = xstrndup((const char *)u, (size_t)n);
	OPENSSL_free(u);
	return s;
}

static bool subject_is(X509 *cert, const char *cn, const char *o)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	char *have_cn = name_entry(name, NID_commonName);
	char *have_o = name_entry(name, NID_organizationName);
	bool same = have_cn && !strcmp(have_cn, cn) &&
		    (o ? have_o && !strcmp(have_o, o) : !have_o) &&
		    X509_NAME_entry_count(name) == 1 + (o ? 1 : 0);
	free(have_cn);
	free(have_o);
	return same;
}

/* ---- issuing ---- */

static EVP_PKEY *new_key(enum pki_algo algo)
{
	EVP_PKEY *k = algo == PKI_ECDSA_P256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
	if (!k)
		ssl_fail("generating a %s key", algo_name(algo));
	return k;
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!ext)
		return ssl_fail("extension %s = %s", OBJ_nid2sn(nid), value);
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : ssl_fail("adding extension %s", OBJ_nid2sn(nid));
}

static int add_sans(X509 *cert, const struct sanset *sans)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -1;
	if (!gens)
		return ssl_fail("subjectAltName");
	for (size_t i = 0; i < sans->n; i++) {
		const struct san *x = &sans->v[i];
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_STRING *s = x->ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
		if (!g || !s ||
		    !ASN1_STRING_set(s, x->ip ? (const void *)x->addr : (const void *)x->s,
				     x->ip ? x->alen : (int)strlen(x->s))) {
			GENERAL_NAME_free(g);
			ASN1_STRING_free(s);
			ssl_fail("subjectAltName %s", x->s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, x->ip ? GEN_IPADD : GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			ssl_fail("subjectAltName %s", x->s);
			goto out;
		}
	}
	if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE)) {
		ssl_fail("subjectAltName");
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int set_serial(X509 *cert)
{
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof raw) != 1)
		return ssl_fail("random serial number");
	raw[0] &= 0x7f; /* positive */
	raw[0] |= 0x40; /* and 16 bytes long, never zero */
	BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
	ASN1_INTEGER *serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	int ok = serial && X509_set_serialNumber(cert, serial);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok ? 0 : ssl_fail("serial number");
}

/* A certificate for key, signed by ca/ca_key (NULL, NULL: self-signed). */
static X509 *make_cert(const struct pki_req *r, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
		       long long now, long long not_after, const struct sanset *sans)
{
	X509 *cert = X509_new();
	if (!cert) {
		ssl_fail("new certificate");
		return NULL;
	}
	if (set_serial(cert) < 0)
		goto fail;
	X509_NAME *name = X509_get_subject_name(cert);
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(now - CLOCK_SKEW)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after) ||
	    !X509_set_pubkey(cert, key) ||
	    (r->o && *r->o &&
	     !X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
					 (const unsigned char *)r->o, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)r->cn, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, ca ? X509_get_subject_name(ca) : name)) {
		ssl_fail("certificate for %s", r->cn);
		goto fail;
	}
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, ca ? ca : cert, cert, NULL, NULL, 0);
	if (r->profile == PKI_PROFILE_CA) {
		if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(cert, &ctx, NID_key_usage,
			    "critical,keyCertSign,cRLSign,digitalSignature") < 0 ||
		    add_ext(cert, &ctx, NID_subject_key_identifier, "hash") < 0)
			goto fail;
	} else {
		static const char *const eku[] = {
		    [PKI_PROFILE_SERVER] = "serverAuth",
		    [PKI_PROFILE_CLIENT] = "clientAuth",
		    [PKI_PROFILE_PEER] = "serverAuth,clientAuth",
		};
		if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(cert, &ctx, NID_key_usage,
			    r->algo == PKI_RSA2048 ? "critical,digitalSignature,keyEncipherment"
						   : "critical,digitalSignature") < 0 ||
		    add_ext(cert, &ctx, NID_ext_key_usage, eku[r->profile]) < 0 ||
		    add_ext(cert, &ctx, NID_subject_key_identifier, "hash") < 0 ||
		    add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always") < 0 ||
		    (sans->n && add_sans(cert, sans) < 0))
			goto fail;
	}
	if (!X509_sign(cert, ca_key ? ca_key : key, EVP_sha256())) {
		ssl_fail("signing the certificate for %s", r->cn);
		goto fail;
	}
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

/* Key (0600) first, then the certificate (0644), each atomically. */
static int write_pair(const char *dir, const char *cert_path, const char *key_path, X509 *cert,
		      EVP_PKEY *key)
{
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	int rc = -1;
	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, cert)) {
		ssl_fail("encoding %s", cert_path);
		goto out;
	}
	char *kd, *cd;
	long kl = BIO_get_mem_data(kb, &kd), cl = BIO_get_mem_data(cb, &cd);
	if (mkdir_p(dir, 0700) < 0 || file_write_atomic(key_path, kd, (size_t)kl, 0600) < 0 ||
	    file_write_atomic(cert_path, cd, (size_t)cl, 0644) < 0)
		goto out;
	rc = 0;
out:
	if (kb) {
		char *kd2;
		long kl2 = BIO_get_mem_data(kb, &kd2);
		if (kl2 > 0)
			OPENSSL_cleanse(kd2, (size_t)kl2);
	}
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

/* ---- deciding ---- */

struct pair {
	char *cert_path, *key_path;
	X509 *cert;
	EVP_PKEY *key;
};

static void pair_init(struct pair *p, const char *dir, const char *base)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s.pem", base);
	p->cert_path = path_join(dir, b.s);
	buf_reset(&b);
	buf_printf(&b, "%s-key.pem", base);
	p->key_path = path_join(dir, b.s);
	buf_free(&b);
	p->cert = NULL;
	p->key = NULL;
}

static void pair_free(struct pair *p)
{
	free(p->cert_path);
	free(p->key_path);
	X509_free(p->cert);
	EVP_PKEY_free(p->key);
}

/* A key file others can read: fix it (unless check) and say so. 1 if it
 * was loose, 0 if not, -1 on failure. */
static int key_mode(const char *path, bool check, struct pki_result *out)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	if (!(st.st_mode & 077))
		return 0;
	if (!check && chmod(path, 0600) < 0)
		return ezk_fail("%s: %s", path, strerror(errno));
	out->changed = true;
	set_reason(out, "key mode was %04o", (unsigned)(st.st_mode & 07777));
	return 1;
}

/* The CA: reuse it whenever it is whole; see pki.h. */
static int ensure_ca(const struct pki_req *r, struct pki_result *out, long long now)
{
	struct pair ca;
	char why[256];
	int rc = -1;
	pair_init(&ca, r->dir, r->name);
	int hc = read_cert(ca.cert_path, &ca.cert, why, sizeof why);
	if (hc != 0 && !r->force) {
		if (hc < 0) {
			ezk_fail("%s: unreadable (%s); not replacing a CA (force replaces it)",
				 ca.cert_path, why);
			goto out;
		}
		int hk = read_key(ca.key_path, &ca.key, why, sizeof why);
		if (hk == 0) {
			ezk_fail("%s: missing, but the CA certificate %s exists; restore the key "
				 "(force replaces the CA and every certificate it signed)",
				 ca.key_path, ca.cert_path);
			goto out;
		}
		if (hk < 0) {
			ezk_fail("%s: unreadable (%s); restore the key (force replaces the CA and "
				 "every certificate it signed)",
				 ca.key_path, why);
			goto out;
		}
		if (!keys_match(ca.cert, ca.key)) {
			ezk_fail("%s does not match the CA certificate %s; restore the key (force "
				 "replaces the CA and every certificate it signed)",
				 ca.key_path, ca.cert_path);
			goto out;
		}
		if (X509_check_ca(ca.cert) == 0) {
			ezk_fail("%s: not a CA certificate; not replacing it (force does)",
				 ca.cert_path);
			goto out;
		}
		out->not_after = asn1_epoch(X509_get0_notAfter(ca.cert));
		char day[32];
		ymd(out->not_after, day, sizeof day);
		long long left = out->not_after - now;
		int loose = key_mode(ca.key_path, r->check, out);
		if (loose < 0)
			goto out;
		if (loose)
			; /* the reason is the key mode */
		else if (left <= 0)
			set_reason(out, "CA expired on %s: renew it", day);
		else if (left <= RENEW_BEFORE)
			set_reason(out, "CA expires in %lld days: renew it", left / DAY);
		else
			set_reason(out, "valid until %s", day);
		rc = 0;
		goto out;
	}
	struct stat st;
	if (hc == 0 && !r->force && stat(ca.key_path, &st) == 0) {
		ezk_fail("%s exists but the CA certificate %s is missing; restore it (force "
			 "replaces the CA and every certificate it signed)",
			 ca.key_path, ca.cert_path);
		goto out;
	}
	out->changed = true;
	set_reason(out, hc == 0 ? "missing" : "forced");
	out->not_after = now + r->lifetime_s;
	if (r->check) {
		rc = 0;
		goto out;
	}
	X509_free(ca.cert);
	ca.cert = NULL;
	struct sanset none = {0};
	if (!(ca.key = new_key(r->algo)) ||
	    !(ca.cert = make_cert(r, ca.key, NULL, NULL, now, out->not_after, &none)) ||
	    write_pair(r->dir, ca.cert_path, ca.key_path, ca.cert, ca.key) < 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	pair_free(&ca);
	return rc;
}

/* Why the leaf on disk cannot be reused, or "" if it can. */
static void leaf_verdict(const struct pki_req *r, struct pair *leaf, const struct pair *ca,
			 const struct sanset *want, long long now, char *why, size_t n)
{
	char err[200];
	int hc = read_cert(leaf->cert_path, &leaf->cert, err, sizeof err);
	if (hc == 0) {
		snprintf(why, n, "missing");
		return;
	}
	if (hc < 0) {
		snprintf(why, n, "unreadable (%s: %s)", base_of(leaf->cert_path), err);
		return;
	}
	int hk = read_key(leaf->key_path, &leaf->key, err, sizeof err);
	if (hk == 0) {
		snprintf(why, n, "missing");
		return;
	}
	if (hk < 0) {
		snprintf(why, n, "unreadable (%s: %s)", base_of(leaf->key_path), err);
		return;
	}
	if (r->force) {
		snprintf(why, n, "forced");
		return;
	}
	if (!keys_match(leaf->cert, leaf->key)) {
		snprintf(why, n, "key does not match");
		return;
	}
	if (!ca->cert ||
	    X509_NAME_cmp(X509_get_issuer_name(leaf->cert), X509_get_subject_name(ca->cert)) != 0 ||
	    X509_verify(leaf->cert, X509_get0_pubkey(ca->cert)) != 1) {
		ERR_clear_error();
		snprintf(why, n, "not signed by the current CA");
		return;
	}
	if (!subject_is(leaf->cert, r->cn, r->o && *r->o ? r->o : NULL)) {
		snprintf(why, n, "subject changed");
		return;
	}
	struct sanset have = {0};
	struct buf d = BUF_INIT;
	sanset_from_cert(leaf->cert, &have);
	sanset_diff(want, &have, &d);
	sanset_free(&have);
	if (d.len) {
		snprintf(why, n, "names changed: %s", d.s);
		buf_free(&d);
		return;
	}
	buf_free(&d);
	static const uint32_t xku[] = {
	    [PKI_PROFILE_SERVER] = XKU_SSL_SERVER,
	    [PKI_PROFILE_CLIENT] = XKU_SSL_CLIENT,
	    [PKI_PROFILE_PEER] = XKU_SSL_SERVER | XKU_SSL_CLIENT,
	};
	if (X509_check_ca(leaf->cert) != 0 ||
	    X509_get_extended_key_usage(leaf->cert) != xku[r->profile]) {
		snprintf(why, n, "profile changed");
		return;
	}
	if (key_algo(leaf->key) != (int)r->algo) {
		snprintf(why, n, "algorithm changed");
		return;
	}
	long long not_after = asn1_epoch(X509_get0_notAfter(leaf->cert));
	long long ca_end = asn1_epoch(X509_get0_notAfter(ca->cert));
	long long left = not_after - now;
	long long threshold = r->lifetime_s < 60 * DAY ? r->lifetime_s / 2 : RENEW_BEFORE;
	/* A leaf ending with its CA: a new one could not live longer. */
	if (left <= threshold && not_after < ca_end) {
		if (left <= 0) {
			char day[32];
			ymd(not_after, day, sizeof day);
			snprintf(why, n, "expired on %s", day);
		} else {
			snprintf(why, n, "expires in %lld days", left / DAY);
		}
		return;
	}
	why[0] = '\0';
}

static int ensure_leaf(const struct pki_req *r, struct pki_result *out, long long now)
{
	struct pair ca, leaf;
	struct sanset want = {0};
	char why[512], err[256];
	int rc = -1;
	pair_init(&ca, r->dir, r->ca);
	pair_init(&leaf, r->dir, r->name);
	if (sanset_from_req(r, &want) < 0)
		goto out;
	int hc = read_cert(ca.cert_path, &ca.cert, err, sizeof err);
	if (hc == 0 && !r->check) {
		ezk_fail("%s: missing; issue the CA '%s' first", ca.cert_path, r->ca);
		goto out;
	}
	if (hc < 0) {
		ezk_fail("%s: unreadable (%s)", ca.cert_path, err);
		goto out;
	}
	if (hc > 0) {
		int hk = read_key(ca.key_path, &ca.key, err, sizeof err);
		if (hk == 0) {
			ezk_fail("%s: missing (the key of the CA %s)", ca.key_path, ca.cert_path);
			goto out;
		}
		if (hk < 0) {
			ezk_fail("%s: unreadable (%s; the key of the CA)", ca.key_path, err);
			goto out;
		}
		if (!keys_match(ca.cert, ca.key)) {
			ezk_fail("%s does not match the CA certificate %s", ca.key_path,
				 ca.cert_path);
			goto out;
		}
	}
	long long ca_end = ca.cert ? asn1_epoch(X509_get0_notAfter(ca.cert)) : LLONG_MAX;
	if (ca_end <= now) {
		char day[32];
		ymd(ca_end, day, sizeof day);
		ezk_fail("the CA %s expired on %s; renew it", ca.cert_path, day);
		goto out;
	}
	if (hc == 0) {
		/* Under check only: the CA would be issued first in this run. */
		struct stat st;
		snprintf(why, sizeof why, "%s",
			 stat(leaf.cert_path, &st) < 0 ? "missing"
						       : "not signed by the current CA");
	} else {
		leaf_verdict(r, &leaf, &ca, &want, now, why, sizeof why);
	}
	if (!why[0]) {
		out->not_after = asn1_epoch(X509_get0_notAfter(leaf.cert));
		char day[32];
		ymd(out->not_after, day, sizeof day);
		set_reason(out, "valid until %s", day);
		rc = key_mode(leaf.key_path, r->check, out) < 0 ? -1 : 0;
		goto out;
	}
	out->changed = true;
	set_reason(out, "%s", why);
	out->not_after = now + r->lifetime_s < ca_end ? now + r->lifetime_s : ca_end;
	if (r->check) {
		rc = 0;
		goto out;
	}
	X509_free(leaf.cert);
	EVP_PKEY_free(leaf.key);
	leaf.cert = NULL;
	leaf.key = NULL;
	if (!(leaf.key = new_key(r->algo)) ||
	    !(leaf.cert = make_cert(r, leaf.key, ca.cert, ca.key, now, out->not_after, &want)) ||
	    write_pair(r->dir, leaf.cert_path, leaf.key_path, leaf.cert, leaf.key) < 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	sanset_free(&want);
	pair_free(&ca);
	pair_free(&leaf);
	return rc;
}

static bool base_name_ok(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int pki_ensure(const struct pki_req *r, struct pki_result *out)
{
	memset(out, 0, sizeof *out);
	if (!r->dir || !*r->dir)
		return ezk_fail("pki: no directory");
	if (!base_name_ok(r->name))
		return ezk_fail("pki: bad certificate name '%s'", r->name ? r->name : "");
	if (r->profile != PKI_PROFILE_CA && !base_name_ok(r->ca))
		return ezk_fail("pki %s: bad CA name '%s'", r->name, r->ca ? r->ca : "");
	if (r->profile != PKI_PROFILE_CA && !strcmp(r->ca, r->name))
		return ezk_fail("pki %s: a leaf cannot be its own CA", r->name);
	if (!r->cn || !*r->cn)
		return ezk_fail("pki %s: no CN", r->name);
	if (r->lifetime_s <= 0 || r->lifetime_s > MAX_LIFETIME)
		return ezk_fail("pki %s: lifetime out of range", r->name);
	if (r->algo != PKI_RSA2048 && r->algo != PKI_ECDSA_P256)
		return ezk_fail("pki %s: unknown algorithm", r->name);
	if (r->profile < PKI_PROFILE_CA || r->profile > PKI_PROFILE_PEER)
		return ezk_fail("pki %s: unknown profile", r->name);
	long long now = (long long)time(NULL);
	int rc = r->profile == PKI_PROFILE_CA ? ensure_ca(r, out, now) : ensure_leaf(r, out, now);
	if (rc < 0)
		ezk_fail_prefix("pki %s", r->name);
	return rc;
}
