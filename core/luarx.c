/*
 * luarx.c - ezk.regex: the one regular expression engine (rx.h) as Lua
 * sees it; lineinfile's regexp= and blockinfile's insertafter use it, the
 * templates' regex_* filters use the same engine in C.
 *
 *     local r = ezk.regex.compile("^(?P<k>\\w+)=(.*)$")   -- raises on a bad one
 *     local m = r:search(line)           -- nil, or a match:
 *     m.s, m.e                           -- 1-based start, exclusive end
 *     m:group(0), m:group(2), m:group("k")
 *     m:expand("\\g<k> is \\2")          -- Python's match.expand
 *     ezk.regex.search(pattern, s)       -- compile (cached) and search
 *
 * compile(p, {ignorecase = true, multiline = true}) takes re's flags.
 */
#include <lauxlib.h>
#include <string.h>

#include "buf.h"
#include "luarx.h"
#include "rx.h"

static const char RX_META[] = "ezk.regex", MATCH_META[] = "ezk.regex.match";

struct lrx {
	struct rx *r;
};

struct lmatch {
	int n; /* spans */
	struct rx_span m[RX_MAX_GROUPS + 1];
};

static int rx_gc(lua_State *L)
{
	struct lrx *u = luaL_checkudata(L, 1, RX_META);
	rx_free(u->r);
	u->r = NULL;
	return 0;
}

static int l_compile(lua_State *L)
{
	size_t n;
	const char *p = luaL_checklstring(L, 1, &n);
	int flags = 0;
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "ignorecase");
		flags |= lua_toboolean(L, -1) ? RX_ICASE : 0;
		lua_getfield(L, 2, "multiline");
		flags |= lua_toboolean(L, -1) ? RX_MULTILINE : 0;
		lua_pop(L, 2);
	}
	char why[200];
	struct lrx *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->r = NULL;
	luaL_setmetatable(L, RX_META);
	if (!(u->r = rx_compile(p, (long)n, flags, why, sizeof why)))
		return luaL_error(L, "bad regular expression '%s': %s", p, why);
	return 1;
}

/* r:search(s [, init]) */
static int l_search(lua_State *L)
{
	struct lrx *u = luaL_checkudata(L, 1, RX_META);
	size_t n;
	const char *s = luaL_checklstring(L, 2, &n);
	lua_Integer init = luaL_optinteger(L, 3, 1);
	if (init < 1 || (size_t)init > n + 1) {
		lua_pushnil(L);
		return 1;
	}
	struct lmatch *m = lua_newuserdatauv(L, sizeof *m, 2);
	m->n = rx_ngroups(u->r) + 1;
	int rc = rx_search(u->r, s, n, (size_t)init - 1, m->m, (size_t)m->n);
	if (rc < 0)
		return luaL_error(L, "regular expression search over its budget (nested repetition "
				     "on this text)");
	if (rc == 0) {
		lua_pushnil(L);
		return 1;
	}
	luaL_setmetatable(L, MATCH_META);
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, -2, 1); /* the subject */
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 2); /* the regex, for names */
	return 1;
}

/* the group number of argument idx: a number or a name; -1 if none */
static int group_arg(lua_State *L, int idx, const struct lrx *u, const struct lmatch *m)
{
	int g;
	if (lua_type(L, idx) == LUA_TSTRING)
		g = rx_group(u->r, lua_tostring(L, idx));
	else
		g = (int)luaL_optinteger(L, idx, 0);
	return g >= 0 && g < m->n ? g : -1;
}

static int m_group(lua_State *L)
{
	struct lmatch *m = luaL_checkudata(L, 1, MATCH_META);
	lua_getiuservalue(L, 1, 2);
	struct lrx *u = lua_touserdata(L, -1);
	int g = group_arg(L, 2, u, m);
	if (g < 0)
		return luaL_error(L, "no group %s", luaL_tolstring(L, 2, NULL));
	if (m->m[g].so < 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_getiuservalue(L, 1, 1);
	const char *s = lua_tostring(L, -1);
	lua_pushlstring(L, s + m->m[g].so, (size_t)(m->m[g].eo - m->m[g].so));
	return 1;
}

static int m_expand(lua_State *L)
{
	struct lmatch *m = luaL_checkudata(L, 1, MATCH_META);
	size_t tn;
	const char *t = luaL_checklstring(L, 2, &tn);
	lua_getiuservalue(L, 1, 2);
	struct lrx *u = lua_touserdata(L, -1);
	lua_getiuservalue(L, 1, 1);
	const char *s = lua_tostring(L, -1);
	struct buf out = BUF_INIT;
	char why[200];
	if (rx_expand(u->r, t, tn, s, m->m, (size_t)m->n, &out, why, sizeof why) < 0) {
		buf_free(&out);
		return luaL_error(L, "%s", why);
	}
	lua_pushlstring(L, out.s ? out.s : "", out.len);
	buf_free(&out);
	return 1;
}

static int m_index(lua_State *L)
{
	struct lmatch *m = luaL_checkudata(L, 1, MATCH_META);
	const char *k = luaL_checkstring(L, 2);
	if (!strcmp(k, "s"))
		lua_pushinteger(L, m->m[0].so + 1);
	else if (!strcmp(k, "e"))
		lua_pushinteger(L, m->m[0].eo + 1);
	else if (!strcmp(k, "group"))
		lua_pushcfunction(L, m_group);
	else if (!strcmp(k, "expand"))
		lua_pushcfunction(L, m_expand);
	else
		lua_pushnil(L);
	return 1;
}

/* ezk.regex.search(p, s [, init]): compiled once per state (a cache) */
static int l_search_p(lua_State *L)
{
	luaL_checkstring(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "ezk.regex.cache");
	lua_pushvalue(L, 1);
	if (lua_rawget(L, -2) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_pushcfunction(L, l_compile);
		lua_pushvalue(L, 1);
		lua_call(L, 1, 1);
		lua_pushvalue(L, 1);
		lua_pushvalue(L, -2);
		lua_rawset(L, -4);
	}
	lua_replace(L, 1);
	lua_settop(L, 3);
	return l_search(L);
}

void luarx_open(lua_State *L)
{
	luaL_newmetatable(L, RX_META);
	lua_pushcfunction(L, rx_gc);
	lua_setfield(L, -2, "__gc");
	lua_newtable(L);
	lua_pushcfunction(L, l_search);
	lua_setfield(L, -2, "search");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_newmetatable(L, MATCH_META);
	lua_pushcfunction(L, m_index);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "ezk.regex.cache");
	lua_newtable(L);
	lua_pushcfunction(L, l_compile);
	lua_setfield(L, -2, "compile");
	lua_pushcfunction(L, l_search_p);
	lua_setfield(L, -2, "search");
	lua_setfield(L, -2, "regex");
}
