/*
 * pki.h - the cluster's certificate authority and leaf certificates, made
 * on the deploy node with libcrypto (no cfssl, no openssl CLI).
 *
 * pki_ensure() is idempotent, like an Ansible module: it looks at what is
 * on disk, reuses it when it still fits the request, and otherwise issues a
 * fresh key and certificate. The result says whether anything changed and
 * why, so the recap can be trusted:
 *
 *     const char *hosts[] = {"10.0.0.1", "etcd-1", "127.0.0.1"};
 *     struct pki_req r = {.dir = "clusters/prod/ssl", .name = "etcd", .ca = "ca",
 *                         .cn = "etcd", .hosts = hosts, .nhosts = 3,
 *                         .lifetime_s = 438000LL * 3600, .profile = PKI_PROFILE_PEER};
 *     struct pki_result res;
 *     if (pki_ensure(&r, &res) < 0)
 *         fail(ezk_err_msg());
 *     // res.changed, res.reason ("valid until 2075-01-01", "names changed: +10.0.0.4")
 *
 * Files: <dir>/<name>.pem (certificate, 0644) and <dir>/<name>-key.pem
 * (PKCS#8 private key, 0600). The key is written first, each atomically, so
 * a crash between the two leaves a pair that does not match, which the next
 * run reissues.
 *
 * A leaf (server, client, peer) is reused when its key matches, the current
 * CA (<dir>/<ca>.pem) signed it, its CN, O, names (SANs, order-insensitive,
 * IPs compared as addresses), extended key usage and key algorithm are what
 * the request asks for, and it is valid for more than 30 days (half the
 * requested lifetime when that is under 60 days, so short lifetimes are not
 * reissued on every run). A leaf never outlives its CA: its notAfter is
 * capped at the CA's, and a leaf already ending with its CA is not reissued
 * for its expiry (a new one could not live longer).
 *
 * A CA is reused whenever its certificate and key are there and match, even
 * if the request's CN, O or lifetime differ: replacing a CA invalidates every
 * certificate it signed, so only .force replaces it. A CA certificate whose
 * key is missing, corrupt or does not match is an error, never replaced.
 *
 * Under .check nothing is written (not even the directory) and no key is
 * generated; the result says what would happen. A leaf whose CA is missing
 * is an error, except under .check (the CA would be issued first in the same
 * run), where it is reported as to be issued.
 *
 * Call from one thread at a time per directory; there is no global state.
 */
#ifndef EZK_PKI_H
#define EZK_PKI_H

#include <stdbool.h>
#include <stddef.h>

enum pki_algo { PKI_RSA2048, PKI_ECDSA_P256 };
enum pki_profile { PKI_PROFILE_CA, PKI_PROFILE_SERVER, PKI_PROFILE_CLIENT, PKI_PROFILE_PEER };

struct pki_req {
	const char *dir;	  /* e.g. clusters/<c>/ssl; created (0700) if missing */
	const char *name;	  /* file base: <dir>/<name>.pem and <dir>/<name>-key.pem */
	const char *ca;		  /* base name of the signing CA in dir ("ca"); ignored for a CA */
	const char *cn;		  /* subject CN (required) */
	const char *o;		  /* subject O, or NULL */
	const char *const *hosts; /* SANs: an IPv4/IPv6 literal is an IP SAN, else a DNS SAN */
	size_t nhosts;
	long long lifetime_s; /* validity from now */
	enum pki_algo algo;
	enum pki_profile profile;
	bool check; /* decide and report only; write nothing */
	bool force; /* reissue even if the current one could be reused */
};

struct pki_result {
	bool changed;
	/* Why: "missing", "unreadable (...)", "key does not match", "not signed by
	 * the current CA", "subject changed", "names changed: +a -b", "profile
	 * changed", "algorithm changed", "expires in N days", "expired on
	 * YYYY-MM-DD", "forced", "key mode was 0644", or, reused, "valid until
	 * YYYY-MM-DD" (a CA close to its end: "CA expires in N days: renew it"). */
	char reason[200];
	long long not_after; /* epoch seconds of the certificate on disk or issued/to be issued */
};

/* Make sure <dir>/<name>.pem fits the request (see above). 0, or -1 with a
 * message (err.h). */
int pki_ensure(const struct pki_req *r, struct pki_result *out);

/* "876000h", "438000h", "90d", "8760h30m", "3600s", "1h2m3s"; a bare number
 * means hours. Units d, h, m, s, each at most once, largest first. Rejects
 * empty, zero, negative, junk and anything over 1000 years. */
int pki_parse_lifetime(const char *s, long long *secs);

/* Lua: adds ezk.pki_cert{...} and ezk.base64(s) to the table on top of the
 * stack (core/luapki.c; roles/lib/README.md). */
struct lua_State;
void luapki_open(struct lua_State *L);

#endif
