/*
 * test-pki.c - the CA and leaf certificates: what is issued (checked with
 * libcrypto and the openssl CLI), when it is reused, and why it is
 * reissued; the CA is never replaced behind the user's back.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "pki.h"
#include "tap.h"

#define DAYS(n) ((long long)(n)*86400)

static char *dir;

static char *file(const char *d, const char *name)
{
	return path_join(d, name);
}

static X509 *load_cert(const char *d, const char *name)
{
	char *p = file(d, name);
	FILE *f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *load_key(const char *d, const char *name)
{
	char *p = file(d, name);
	FILE *f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* File content and mtime, to prove nothing was rewritten. */
struct snap {
	char *data;
	size_t len;
	struct timespec mtime;
};

static struct snap snap_of(const char *d, const char *name)
{
	struct snap s = {0};
	char *p = file(d, name);
	struct stat st;
	if (file_read(p, &s.data, &s.len) == 0 && stat(p, &st) == 0)
		s.mtime = st.st_mtim;
	free(p);
	return s;
}

static int snap_same(struct snap a, struct snap b)
{
	int same = a.data && b.data && a.len == b.len && !memcmp(a.data, b.data, a.len) &&
		   a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
	free(a.data);
	free(b.data);
	return same;
}

static unsigned mode_of(const char *d, const char *name)
{
	char *p = file(d, name);
	struct stat st;
	unsigned m = stat(p, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
	free(p);
	return m;
}

static int exists(const char *d, const char *name)
{
	char *p = file(d, name);
	int e = access(p, F_OK) == 0;
	free(p);
	return e;
}

static struct pki_req ca_req(const char *d)
{
	struct pki_req r = {.dir = d,
			    .name = "ca",
			    .cn = "kubernetes-ca",
			    .o = "k8s",
			    .lifetime_s = DAYS(36500),
			    .profile = PKI_PROFILE_CA};
	return r;
}

static struct pki_req leaf_req(const char *d, const char *name, const char *const *hosts, size_t n)
{
	struct pki_req r = {.dir = d,
			    .name = name,
			    .ca = "ca",
			    .cn = "etcd",
			    .o = "k8s",
			    .hosts = hosts,
			    .nhosts = n,
			    .lifetime_s = DAYS(18250),
			    .profile = PKI_PROFILE_PEER};
	return r;
}

/* X509_verify_cert against <d>/ca.pem, as a TLS peer would. */
static int verifies(const char *d, const char *name)
{
	X509 *ca = load_cert(d, "ca.pem"), *leaf = load_cert(d, name);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = ca && leaf && store && ctx && X509_STORE_add_cert(store, ca) &&
		 X509_STORE_CTX_init(ctx, store, leaf, NULL) && X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(leaf);
	return ok;
}

static char *run(const char *fmt, ...) EZK_PRINTF(1, 2);
static char *run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	struct buf b = BUF_INIT;
	char tmp[512];
	size_t n;
	while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0)
		buf_put(&b, tmp, n);
	if (p)
		pclose(p);
	buf_puts(&b, "");
	return buf_detach(&b);
}

static char *subject_entry(X509 *x, int nid)
{
	char s[256] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, s, sizeof s);
	return xstrdup(s);
}

static void test_lifetimes(void)
{
	long long s = 0;
	ok(pki_parse_lifetime("876000h", &s) == 0 && s == 876000LL * 3600, "876000h");
	ok(pki_parse_lifetime("90d", &s) == 0 && s == DAYS(90), "90d");
	ok(pki_parse_lifetime("8760h30m", &s) == 0 && s == 8760LL * 3600 + 1800, "8760h30m");
	ok(pki_parse_lifetime("3600s", &s) == 0 && s == 3600, "3600s");
	ok(pki_parse_lifetime("1h2m3s", &s) == 0 && s == 3723, "1h2m3s");
	ok(pki_parse_lifetime("24", &s) == 0 && s == DAYS(1), "a bare number is hours");
	ok(pki_parse_lifetime("1d12h", &s) == 0 && s == DAYS(1) + 43200, "1d12h");
	static const char *const bad[] = {
	    "",		"-5h",	"0",   "0h",   "0h0m", "h",   "5x",
	    "1h1h",	"1m1h", "5h3", "1.5h", " 5h",  "5h ", "99999999999999999999999",
	    "9000000h", "5H"};
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = -1;
		if (pki_parse_lifetime(bad[i], &s) == 0 || !*ezk_err_msg()) {
			all = 0;
			printf("# accepted '%s' as %lld\n", bad[i], s);
		}
	}
	ok(all, "rejects empty, negative, zero, junk, repeated units and overflow");
	ok(pki_parse_lifetime("1h1h", &s) < 0 && strstr(ezk_err_msg(), "out of order"),
	   "... saying why");
}

static void test_ca(void)
{
	struct pki_req r = ca_req(dir);
	struct pki_result res;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "CA issued");
	is_str(res.reason, "missing", "... because it was missing");
	is_int(mode_of(dir, "ca-key.pem"), 0600, "CA key is 0600");
	is_int(mode_of(dir, "ca.pem"), 0644, "CA cert is 0644");
	X509 *ca = load_cert(dir, "ca.pem");
	EVP_PKEY *key = load_key(dir, "ca-key.pem");
	ok(ca && key && X509_check_ca(ca) && X509_verify(ca, key) == 1, "a self-signed CA");
	ok(ca &&
	       (X509_get_key_usage(ca) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE)) ==
		   (KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE),
	   "CA key usage");
	ok(ca && X509_get0_subject_key_id(ca) != NULL, "CA has a subject key identifier");
	ok(ca && X509_get_version(ca) == X509_VERSION_3, "X509 v3");
	ok(ca && X509_get_signature_nid(ca) == NID_sha256WithRSAEncryption, "SHA-256 with RSA");
	const ASN1_INTEGER *serial = ca ? X509_get0_serialNumber(ca) : NULL;
	ok(serial && ASN1_STRING_length(serial) == 16 && !(serial->type & V_ASN1_NEG),
	   "16-byte positive serial");
	ok(ca && res.not_after > time(NULL) + DAYS(36499) &&
	       res.not_after <= time(NULL) + DAYS(36500),
	   "CA not_after is now + lifetime");
	ok(ca && X509_cmp_time(X509_get0_notBefore(ca), NULL) < 0, "notBefore is in the past");
	X509_free(ca);
	EVP_PKEY_free(key);

	struct snap c0 = snap_of(dir, "ca.pem"), k0 = snap_of(dir, "ca-key.pem");
	r.cn = "another-name";
	r.lifetime_s = DAYS(10);
	ok(pki_ensure(&r, &res) == 0 && !res.changed,
	   "CA reused, even with another CN and lifetime");
	ok(!strncmp(res.reason, "valid until 2", 13), "... valid until a date");
	ok(snap_same(c0, snap_of(dir, "ca.pem")) && snap_same(k0, snap_of(dir, "ca-key.pem")),
	   "... files untouched");
}

static void test_leaf(void)
{
	const char *hosts[] = {"198.18.0.1", "etcd-1", "127.0.0.1", "::1", "etcd-1", "198.18.0.9"};
	struct pki_req r = leaf_req(dir, "etcd", hosts, 6);
	struct pki_result res;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "peer cert issued");
	is_str(res.reason, "missing", "... because it was missing");
	is_int(mode_of(dir, "etcd-key.pem"), 0600, "leaf key 0600");
	is_int(mode_of(dir, "etcd.pem"), 0644, "leaf cert 0644");
	ok(verifies(dir, "etcd.pem"), "X509_verify_cert against the CA");
	X509 *x = load_cert(dir, "etcd.pem");
	ok(x && X509_get_extended_key_usage(x) == (XKU_SSL_SERVER | XKU_SSL_CLIENT),
	   "EKU serverAuth + clientAuth");
	ok(x && X509_get_key_usage(x) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT),
	   "KU digitalSignature, keyEncipherment (RSA)");
	ok(x && X509_check_ca(x) == 0, "not a CA");
	char *cn = x ? subject_entry(x, NID_commonName) : NULL,
	     *o = x ? subject_entry(x, NID_organizationName) : NULL;
	is_str(cn, "etcd", "CN");
	is_str(o, "k8s", "O");
	free(cn);
	free(o);
	ok(x && X509_get0_authority_key_id(x) && X509_get0_subject_key_id(x), "AKI and SKI");
	ok(x && X509_check_host(x, "etcd-1", 0, 0, NULL) == 1 &&
	       X509_check_ip_asc(x, "198.18.0.1", 0) == 1 && X509_check_ip_asc(x, "::1", 0) == 1 &&
	       X509_check_host(x, "other", 0, 0, NULL) != 1,
	   "SANs: DNS and IP (v4 and v6)");
	X509 *ca = load_cert(dir, "ca.pem");
	ok(x && ca && X509_cmp_time(X509_get0_notAfter(x), NULL) > 0 &&
	       ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) <= 0,
	   "leaf ends before the CA");
	X509_free(ca);
	X509_free(x);

	char *out = run("cd %s && openssl verify -CAfile ca.pem etcd.pem 2>&1", dir);
	ok(strstr(out, "etcd.pem: OK") != NULL, "openssl verify says OK");
	free(out);
	out = run("openssl x509 -noout -ext subjectAltName -in %s/etcd.pem 2>&1", dir);
	ok(strstr(out, "DNS:etcd-1") && strstr(out, "IP Address:198.18.0.1") &&
	       strstr(out, "IP Address:0:0:0:0:0:0:0:1") && strstr(out, "IP Address:198.18.0.9"),
	   "openssl x509 shows the SANs");
	free(out);
	out = run(
	    "openssl pkey -in %s/etcd-key.pem -noout -text 2>&1 | head -1; head -1 %s/etcd-key.pem",
	    dir, dir);
	ok(strstr(out, "-----BEGIN PRIVATE KEY-----") != NULL, "PKCS#8 PEM key");
	free(out);

	struct snap c0 = snap_of(dir, "etcd.pem");
	const char *again[] = {"::0:1",	 "198.18.0.9", "127.0.0.1",
			       "etcd-1", "ETCD-1",     "198.18.0.1"};
	r.hosts = again;
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "reused: same names in another order");
	ok(!strncmp(res.reason, "valid until ", 12), "... valid until");
	ok(snap_same(c0, snap_of(dir, "etcd.pem")), "... cert untouched");

	const char *moved[] = {"198.18.0.1", "etcd-1", "127.0.0.1", "::1", "198.18.0.4"};
	r.hosts = moved;
	r.nhosts = 5;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "names changed: reissued");
	is_str(res.reason, "names changed: +198.18.0.4 -198.18.0.9", "... listing + and -");
	x = load_cert(dir, "etcd.pem");
	ok(x && X509_check_ip_asc(x, "198.18.0.4", 0) == 1 &&
	       X509_check_ip_asc(x, "198.18.0.9", 0) != 1,
	   "... the new cert has the new names");
	X509_free(x);

	r.cn = "etcd-peer";
	ok(pki_ensure(&r, &res) == 0 && res.changed, "CN changed: reissued");
	is_str(res.reason, "subject changed", "... subject changed");
	r.o = NULL;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "O dropped: reissued");
	is_str(res.reason, "subject changed", "... subject changed");
	r.profile = PKI_PROFILE_SERVER;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "profile changed: reissued");
	is_str(res.reason, "profile changed", "... profile changed");
	x = load_cert(dir, "etcd.pem");
	ok(x && X509_get_extended_key_usage(x) == XKU_SSL_SERVER, "... serverAuth only now");
	X509_free(x);
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "... then reused");

	/* check mode */
	c0 = snap_of(dir, "etcd.pem");
	r.check = true;
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "check: a valid cert is unchanged");
	r.cn = "etcd-3";
	ok(pki_ensure(&r, &res) == 0 && res.changed, "check: would reissue");
	is_str(res.reason, "subject changed", "... saying why");
	ok(snap_same(c0, snap_of(dir, "etcd.pem")), "... without writing");
	struct pki_req n = leaf_req(dir, "new", moved, 5);
	n.check = true;
	ok(pki_ensure(&n, &res) == 0 && res.changed && !strcmp(res.reason, "missing") &&
	       res.not_after > time(NULL) + DAYS(18249),
	   "check: a missing cert would be issued");
	ok(!exists(dir, "new.pem") && !exists(dir, "new-key.pem"), "... and nothing is written");
	char *nodir = file(dir, "nodir");
	struct pki_req nc = ca_req(nodir);
	nc.check = true;
	ok(pki_ensure(&nc, &res) == 0 && res.changed && !strcmp(res.reason, "missing"),
	   "check: a missing CA would be issued");
	ok(!dir_exists(nodir), "... its directory is not even made");
	struct pki_req nl = leaf_req(nodir, "leaf", NULL, 0);
	nl.check = true;
	ok(pki_ensure(&nl, &res) == 0 && res.changed && !strcmp(res.reason, "missing"),
	   "check: a leaf of a CA still to be issued would be issued");
	nl.check = false;
	ok(pki_ensure(&nl, &res) < 0 && strstr(ezk_err_msg(), "ca.pem"),
	   "a leaf without its CA is an error naming ca.pem");
	ok(!dir_exists(nodir), "... and writes nothing");
	free(nodir);
}

static void test_expiry(void)
{
	struct pki_req r = leaf_req(dir, "short", NULL, 0);
	struct pki_result res;
	r.profile = PKI_PROFILE_CLIENT;
	r.lifetime_s = DAYS(20);
	ok(pki_ensure(&r, &res) == 0 && res.changed, "a 20-day cert");
	ok(res.not_after > time(NULL) + DAYS(20) - 60 && res.not_after <= time(NULL) + DAYS(20),
	   "... ending in 20 days");
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "... reused at 20 days (threshold 10)");
	r.lifetime_s = DAYS(100);
	ok(pki_ensure(&r, &res) == 0 && res.changed, "asked for 100 days: 20 left is too few");
	ok(!strcmp(res.reason, "expires in 19 days") || !strcmp(res.reason, "expires in 20 days"),
	   "... expires in 19/20 days");
	printf("# %s\n", res.reason);
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "... then reused");

	struct pki_req t = leaf_req(dir, "tiny", NULL, 0);
	t.lifetime_s = DAYS(10);
	ok(pki_ensure(&t, &res) == 0 && res.changed, "a 10-day cert");
	ok(pki_ensure(&t, &res) == 0 && !res.changed, "... reused on the second call");

	/* a leaf never outlives its CA */
	char *d2 = file(dir, "short-ca");
	struct pki_req c = ca_req(d2);
	c.lifetime_s = DAYS(100);
	c.algo = PKI_ECDSA_P256;
	struct pki_result cres;
	ok(pki_ensure(&c, &cres) == 0 && cres.changed, "a 100-day ECDSA CA");
	struct pki_req l = leaf_req(d2, "long", NULL, 0);
	l.lifetime_s = DAYS(1000);
	ok(pki_ensure(&l, &res) == 0 && res.changed && res.not_after == cres.not_after,
	   "a 1000-day leaf is capped at the CA's notAfter");
	X509 *x = load_cert(d2, "long.pem"), *ca = load_cert(d2, "ca.pem");
	ok(x && ca && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) == 0,
	   "... on disk too");
	ok(verifies(d2, "long.pem"), "... and an RSA leaf verifies against the ECDSA CA");
	X509_free(x);
	X509_free(ca);
	ok(pki_ensure(&l, &res) == 0 && !res.changed, "... and not reissued on every run");
	c.lifetime_s = DAYS(20);
	c.force = true;
	ok(pki_ensure(&c, &cres) == 0 && cres.changed, "a 20-day CA");
	c.force = false;
	ok(pki_ensure(&c, &cres) == 0 && !cres.changed &&
	       (!strcmp(cres.reason, "CA expires in 20 days: renew it") ||
		!strcmp(cres.reason, "CA expires in 19 days: renew it")),
	   "... reused, with a warning");
	printf("# %s\n", cres.reason);
	free(d2);
}

static void test_algo(void)
{
	struct pki_req r = leaf_req(dir, "algo", NULL, 0);
	struct pki_result res;
	r.profile = PKI_PROFILE_SERVER;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "an RSA server cert");
	r.algo = PKI_ECDSA_P256;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "rsa -> ecdsa: reissued");
	is_str(res.reason, "algorithm changed", "... algorithm changed");
	EVP_PKEY *k = load_key(dir, "algo-key.pem");
	ok(k && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC, "an EC key now");
	EVP_PKEY_free(k);
	X509 *x = load_cert(dir, "algo.pem");
	ok(x && X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE, "KU digitalSignature only (ECDSA)");
	X509_free(x);
	ok(verifies(dir, "algo.pem"), "an ECDSA leaf verifies");
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "... reused");
	r.force = true;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "force reissues");
	is_str(res.reason, "forced", "... forced");
}

static void test_damage(void)
{
	struct pki_req r = leaf_req(dir, "dmg", NULL, 0);
	struct pki_result res;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "a cert to damage");

	char *key = file(dir, "dmg-key.pem"), *crt = file(dir, "dmg.pem");
	struct snap c0 = snap_of(dir, "dmg.pem");
	chmod(key, 0644);
	r.check = true;
	ok(pki_ensure(&r, &res) == 0 && res.changed && mode_of(dir, "dmg-key.pem") == 0644,
	   "check: loose key mode reported, not fixed");
	r.check = false;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "loose key mode: changed");
	is_str(res.reason, "key mode was 0644", "... key mode was 0644");
	is_int(mode_of(dir, "dmg-key.pem"), 0600, "... fixed to 0600");
	ok(snap_same(c0, snap_of(dir, "dmg.pem")), "... the cert kept");
	ok(pki_ensure(&r, &res) == 0 && !res.changed, "... then unchanged");

	file_write_atomic(crt, "garbage\n", 8, 0644);
	ok(pki_ensure(&r, &res) == 0 && res.changed, "corrupt cert: reissued");
	ok(!strncmp(res.reason, "unreadable (", 12), "... unreadable (...)");
	printf("# %s\n", res.reason);
	ok(verifies(dir, "dmg.pem"), "... and good again");

	char *other = file(dir, "etcd-key.pem");
	file_copy(other, key, 0600);
	free(other);
	ok(pki_ensure(&r, &res) == 0 && res.changed, "someone else's key: reissued");
	is_str(res.reason, "key does not match", "... key does not match");

	unlink(key);
	ok(pki_ensure(&r, &res) == 0 && res.changed, "key deleted: reissued");
	is_str(res.reason, "missing", "... missing");

	const char *hosts[] = {"bad host"};
	r.hosts = hosts;
	r.nhosts = 1;
	ok(pki_ensure(&r, &res) < 0 && strstr(ezk_err_msg(), "bad host"), "a bad host name fails");
	free(key);
	free(crt);
}

static void test_new_ca(void)
{
	struct pki_req c = ca_req(dir);
	struct pki_result res;
	struct snap k0 = snap_of(dir, "ca-key.pem");
	c.force = true;
	ok(pki_ensure(&c, &res) == 0 && res.changed, "forced: a new CA");
	is_str(res.reason, "forced", "... forced");
	ok(!snap_same(k0, snap_of(dir, "ca-key.pem")), "... with a new key");
	struct pki_req r = leaf_req(dir, "algo", NULL, 0);
	r.profile = PKI_PROFILE_SERVER;
	r.algo = PKI_ECDSA_P256;
	ok(pki_ensure(&r, &res) == 0 && res.changed, "a leaf of the old CA: reissued");
	is_str(res.reason, "not signed by the current CA", "... not signed by the current CA");
	ok(verifies(dir, "algo.pem"), "... verifies against the new CA");

	char *cakey = file(dir, "ca-key.pem");
	unlink(cakey);
	struct snap c0 = snap_of(dir, "ca.pem");
	c.force = false;
	ok(pki_ensure(&c, &res) < 0, "CA cert without its key: an error");
	ok(strstr(ezk_err_msg(), "ca-key.pem") && strstr(ezk_err_msg(), "missing"),
	   "... naming the missing key");
	printf("# %s\n", ezk_err_msg());
	ok(snap_same(c0, snap_of(dir, "ca.pem")) && !exists(dir, "ca-key.pem"),
	   "... nothing written");
	c.check = true;
	ok(pki_ensure(&c, &res) < 0, "... under check too");
	struct snap l0 = snap_of(dir, "algo.pem");
	ok(pki_ensure(&r, &res) < 0 && strstr(ezk_err_msg(), "ca-key.pem"), "a leaf: an error too");
	ok(snap_same(l0, snap_of(dir, "algo.pem")), "... the leaf untouched");
	file_write_atomic(cakey, "junk", 4, 0600);
	c.check = false;
	ok(pki_ensure(&c, &res) < 0 && strstr(ezk_err_msg(), "ca-key.pem"),
	   "a corrupt CA key: an error");
	printf("# %s\n", ezk_err_msg());
	char *cacrt = file(dir, "ca.pem");
	unlink(cacrt);
	ok(pki_ensure(&c, &res) < 0 && strstr(ezk_err_msg(), "ca.pem is missing"),
	   "a CA key without its cert: an error");
	ok(!exists(dir, "ca.pem"), "... nothing written");
	c.force = true;
	ok(pki_ensure(&c, &res) == 0 && res.changed && verifies(dir, "ca.pem"),
	   "force replaces it");
	free(cacrt);
	free(cakey);
}

static int lua_ok(lua_State *L, const char *code, const char *what)
{
	int rc = luaL_dostring(L, code);
	if (rc != LUA_OK)
		printf("# %s\n", lua_tostring(L, -1));
	lua_settop(L, 0);
	return ok(rc == LUA_OK, what);
}

static void test_lua(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	lua_newtable(L);
	luapki_open(L);
	lua_setglobal(L, "ezk");
	char *ldir = file(dir, "lua");
	struct pki_req c = ca_req(ldir);
	struct pki_result res;
	c.algo = PKI_ECDSA_P256;
	ok(pki_ensure(&c, &res) == 0, "a CA for Lua");
	lua_pushstring(L, ldir);
	lua_setglobal(L, "dir");
	free(ldir);
	lua_ok(L,
	       "assert(ezk.base64('') == '')\n"
	       "assert(ezk.base64('f') == 'Zg==')\n"
	       "assert(ezk.base64('foobar') == 'Zm9vYmFy')\n"
	       "assert(ezk.base64('\\0\\1\\2\\255') == 'AAEC/w==')\n"
	       "local big = string.rep('abc', 40000)\n"
	       "local b = ezk.base64(big)\n"
	       "assert(#b == 160000 and not b:find('\\n') and b:sub(1, 8) == 'YWJjYWJj')\n",
	       "ezk.base64");
	lua_ok(
	    L,
	    "local r = assert(ezk.pki_cert{dir = dir, name = 'lua', cn = 'lua', o = 'x',\n"
	    "  hosts = {'198.18.1.1', 'a.example'}, expiry = '90d', profile = 'client'})\n"
	    "assert(r.changed == true and r.reason == 'missing', r.reason)\n"
	    "assert(math.type(r.not_after) == 'integer' and r.not_after > os.time() + 89*86400)\n"
	    "r = assert(ezk.pki_cert{dir = dir, name = 'lua', cn = 'lua', o = 'x',\n"
	    "  hosts = {'a.example', '198.18.1.1'}, expiry = 2160, profile = 'client'})\n"
	    "assert(r.changed == false and r.reason:match('^valid until'), r.reason)\n"
	    "r = assert(ezk.pki_cert{dir = dir, name = 'lua', cn = 'lua', o = 'x', algo = "
	    "'ecdsa',\n"
	    "  profile = 'client', expiry = '90d', check = true})\n"
	    "assert(r.changed and r.reason == 'names changed: -a.example -198.18.1.1', r.reason)\n",
	    "ezk.pki_cert issues, reuses, checks");
	lua_ok(
	    L,
	    "local function bad(t, want)\n"
	    "  local r, err = ezk.pki_cert(t)\n"
	    "  assert(r == nil and type(err) == 'string', 'expected a failure')\n"
	    "  assert(err:find(want, 1, true), err)\n"
	    "end\n"
	    "local t = {dir = dir, name = 'lua', cn = 'lua', profile = 'client', expiry = '90d'}\n"
	    "local function with(k, v) local c = {} for a, b in pairs(t) do c[a] = b end\n"
	    "  c[k] = v return c end\n"
	    "bad(with('expiry', '10x'), \"bad lifetime '10x': \")\n"
	    "bad(with('expiry', -5), 'bad lifetime')\n"
	    "bad(with('expiry', {}), 'expiry must be')\n"
	    "bad(with('expiry', nil), 'expiry is required')\n"
	    "bad(with('cn', nil), 'required')\n"
	    "bad(with('cn', 5), 'cn must be a string')\n"
	    "bad(with('algo', 'dsa'), \"algo 'dsa'\")\n"
	    "bad(with('profile', 'admin'), \"profile 'admin'\")\n"
	    "bad(with('hosts', {'a', 5}), 'hosts must be')\n"
	    "bad(with('hosts', 'a'), 'hosts must be')\n"
	    "bad(with('ca', 'nope'), 'nope.pem')\n"
	    "assert(not pcall(ezk.pki_cert, 'x'))\n",
	    "ezk.pki_cert returns nil, message for bad input");
	lua_close(L);
}

int main(void)
{
	char tmpl[] = "/tmp/ezk-test-pki.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	dir = path_join(tmpl, "ssl");
	test_lifetimes();
	test_ca();
	test_leaf();
	test_expiry();
	test_algo();
	test_damage();
	test_new_ca();
	test_lua();
	remove_tree(tmpl);
	free(dir);
	return tap_done();
}
