/*
 * luapki.c - the PKI as Lua sees it: ezk.pki_cert{...} and ezk.base64(s).
 *
 *     local r, err = ezk.pki_cert{dir = ssl, name = "etcd", cn = "etcd",
 *                                 hosts = {"10.0.0.1", "127.0.0.1"},
 *                                 expiry = "438000h", profile = "peer"}
 *     -- r.changed, r.reason, r.not_after; or nil, message
 *
 * Bad values come back as nil, message (a role reports them as a failed
 * task); only a call without a table raises.
 */
#include <lauxlib.h>
#include <openssl/evp.h>
#include <string.h>

#include "err.h"
#include "pki.h"

/* t[key] as a string without NULs, or NULL when absent. Leaves the value on
 * the stack (so the string stays alive). -1 with *msg when not a string. */
static int get_str(lua_State *L, const char *key, const char **out, const char **msg)
{
	*out = NULL;
	int t = lua_getfield(L, 1, key);
	if (t == LUA_TNIL)
		return 0;
	size_t n;
	const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
	if (!s || strlen(s) != n) {
		*msg = lua_pushfstring(L, "pki_cert: %s must be a string", key);
		return -1;
	}
	*out = s;
	return 0;
}

static int fail(lua_State *L, const char *msg)
{
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

/* expiry: required (the lifetimes are the roles' knowledge: CA_EXPIRY and
 * CERT_EXPIRY in their defaults.yml) */
static int get_lifetime(lua_State *L, long long *secs, const char **msg)
{
	int t = lua_getfield(L, 1, "expiry");
	if (t == LUA_TNUMBER) {
		lua_Number h = lua_tonumber(L, -1);
		if (!(h > 0 && h <= 1000.0 * 365 * 24)) {
			*msg = lua_pushfstring(L, "bad lifetime '%s': hours out of range",
					       lua_tostring(L, -1));
			return -1;
		}
		*secs = (long long)(h * 3600 + 0.5);
		return 0;
	}
	if (t != LUA_TSTRING) {
		*msg = t == LUA_TNIL
			   ? "pki_cert: expiry is required (\"438000h\" or a number of hours)"
			   : "pki_cert: expiry must be a string like \"438000h\" or a number of "
			     "hours";
		return -1;
	}
	const char *s = lua_tostring(L, -1);
	if (pki_parse_lifetime(s, secs) < 0) {
		*msg = lua_pushfstring(L, "bad lifetime '%s': %s", s, ezk_err_msg());
		return -1;
	}
	return 0;
}

static int l_pki_cert(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	struct pki_req r = {.algo = PKI_RSA2048};
	const char *msg = NULL, *algo, *profile;
	if (get_str(L, "dir", &r.dir, &msg) < 0 || get_str(L, "name", &r.name, &msg) < 0 ||
	    get_str(L, "ca", &r.ca, &msg) < 0 || get_str(L, "cn", &r.cn, &msg) < 0 ||
	    get_str(L, "o", &r.o, &msg) < 0 || get_str(L, "algo", &algo, &msg) < 0 ||
	    get_str(L, "profile", &profile, &msg) < 0)
		return fail(L, msg);
	if (!r.dir || !r.name || !r.cn || !profile)
		return fail(L, "pki_cert: dir, name, cn and profile are required");
	if (!r.ca)
		r.ca = "ca";
	if (!algo || !strcmp(algo, "rsa"))
		r.algo = PKI_RSA2048;
	else if (!strcmp(algo, "ecdsa"))
		r.algo = PKI_ECDSA_P256;
	else
		return fail(L, lua_pushfstring(L, "pki_cert: algo '%s' is not rsa or ecdsa", algo));
	static const char *const profiles[] = {"ca", "server", "client", "peer"};
	size_t p = 0;
	while (p < 4 && strcmp(profile, profiles[p]))
		p++;
	if (p == 4)
		return fail(L, lua_pushfstring(L,
					       "pki_cert: profile '%s' is not ca, server, client "
					       "or peer",
					       profile));
	r.profile = (enum pki_profile)p;
	if (get_lifetime(L, &r.lifetime_s, &msg) < 0)
		return fail(L, msg);
	lua_getfield(L, 1, "check");
	r.check = lua_toboolean(L, -1);
	lua_getfield(L, 1, "force");
	r.force = lua_toboolean(L, -1);

	int t = lua_getfield(L, 1, "hosts");
	if (t == LUA_TTABLE) {
		int hi = lua_gettop(L);
		size_t n = (size_t)lua_rawlen(L, hi);
		/* A userdata, so that nothing leaks if Lua raises. */
		const char **hosts = lua_newuserdatauv(L, (n ? n : 1) * sizeof *hosts, 0);
		for (size_t i = 0; i < n; i++) {
			size_t len = 0;
			hosts[i] = lua_rawgeti(L, hi, (lua_Integer)i + 1) == LUA_TSTRING
				       ? lua_tolstring(L, -1, &len)
				       : NULL;
			if (!hosts[i] || strlen(hosts[i]) != len)
				return fail(L, "pki_cert: hosts must be a list of strings");
			lua_pop(L, 1); /* still referenced by the hosts table */
		}
		r.hosts = hosts;
		r.nhosts = n;
	} else if (t != LUA_TNIL) {
		return fail(L, "pki_cert: hosts must be a list of strings");
	}

	struct pki_result res;
	if (pki_ensure(&r, &res) < 0)
		return fail(L, ezk_err_msg());
	lua_createtable(L, 0, 3);
	lua_pushboolean(L, res.changed);
	lua_setfield(L, -2, "changed");
	lua_pushstring(L, res.reason);
	lua_setfield(L, -2, "reason");
	lua_pushinteger(L, (lua_Integer)res.not_after);
	lua_setfield(L, -2, "not_after");
	return 1;
}

/* Standard base64, no newlines; binary safe. */
static int l_base64(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	const size_t chunk = 3 * 16384; /* a multiple of 3: no padding mid-way */
	while (n) {
		size_t take = n < chunk ? n : chunk;
		char *out = luaL_prepbuffsize(&b, 4 * (chunk / 3) + 1);
		int w = EVP_EncodeBlock((unsigned char *)out, s, (int)take);
		luaL_addsize(&b, (size_t)w);
		s += take;
		n -= take;
	}
	luaL_pushresult(&b);
	return 1;
}

void luapki_open(lua_State *L)
{
	lua_pushcfunction(L, l_pki_cert);
	lua_setfield(L, -2, "pki_cert");
	lua_pushcfunction(L, l_base64);
	lua_setfield(L, -2, "base64");
}
