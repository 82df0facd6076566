/*
 * luanet.c - IP addresses and networks for Lua: ezk.net(s), in the roles'
 * states and in the check files' (one parser for both).
 *
 *     local n = ezk.net("198.18.128.0/20")  -- or nil, message
 *     n.family, n.bits                      -- 4, 20
 *     n:contains("198.18.128.7")            -- true (an address or a network)
 *     n:overlaps(ezk.net("198.18.0.0/16"))  -- true
 *     n:host(1)                             -- "198.18.128.1" (the first Service IP)
 *     tostring(n)                           -- "198.18.128.0/20"
 *
 * A network's host bits must be zero ("10.68.0.1/16" is refused); an address
 * alone is a network of one address.
 */
#include <arpa/inet.h>
#include <lauxlib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "luanet.h"

static const char NET_META[] = "ezk.net";

struct net {
	int family; /* 4 or 6 */
	unsigned char addr[16];
	int bits;
};

/* "10.68.0.0/16" (host bits zero) or an address (all bits): 0, or -1 */
static int net_parse(const char *s, struct net *n)
{
	char a[64];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	if (al == 0 || al >= sizeof a)
		return -1;
	memcpy(a, s, al);
	a[al] = '\0';
	if (inet_pton(AF_INET, a, n->addr) == 1)
		n->family = 4, n->bits = 32;
	else if (inet_pton(AF_INET6, a, n->addr) == 1)
		n->family = 6, n->bits = 128;
	else
		return -1;
	if (!slash)
		return 0;
	char *end;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	long bits = strtol(slash + 1, &end, 10);
	if (*end || bits > n->bits)
		return -1;
	n->bits = (int)bits;
	for (int i = 0; i < (n->family == 4 ? 4 : 16); i++) {
		int keep = n->bits - i * 8;
		unsigned char mask = keep >= 8	 ? 0xff
				     : keep <= 0 ? 0
						 : (unsigned char)(0xff << (8 - keep));
		if (n->addr[i] & ~mask)
			return -1;
	}
	return 0;
}

/* a contains the first address of b, within a's prefix */
static bool net_contains(const struct net *a, const struct net *b)
{
	if (a->family != b->family || b->bits < a->bits)
		return false;
	int full = a->bits / 8, rest = a->bits % 8;
	if (memcmp(a->addr, b->addr, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a->addr[full] & mask) == (b->addr[full] & mask);
}

static void push_net(lua_State *L, const struct net *n)
{
	struct net *u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = *n;
	luaL_setmetatable(L, NET_META);
}

/* a net argument: a net, or a string parsed as one */
static struct net net_arg(lua_State *L, int idx)
{
	struct net *u = luaL_testudata(L, idx, NET_META);
	if (u)
		return *u;
	struct net n;
	if (net_parse(luaL_checkstring(L, idx), &n) < 0)
		luaL_argerror(L, idx, "not an address or network");
	return n;
}

static int l_net(lua_State *L)
{
	struct net n;
	if (lua_type(L, 1) != LUA_TSTRING || net_parse(lua_tostring(L, 1), &n) < 0) {
		const char *s = luaL_tolstring(L, 1, NULL);
		lua_pushnil(L);
		lua_pushfstring(L, "'%s' is not an address or a network with a prefix length", s);
		return 2;
	}
	push_net(L, &n);
	return 1;
}

static int net_m_contains(lua_State *L)
{
	struct net a = net_arg(L, 1), b = net_arg(L, 2);
	lua_pushboolean(L, net_contains(&a, &b));
	return 1;
}

static int net_m_overlaps(lua_State *L)
{
	struct net a = net_arg(L, 1), b = net_arg(L, 2);
	lua_pushboolean(L, net_contains(&a, &b) || net_contains(&b, &a));
	return 1;
}

/* n:host(i): the i-th address of the network (i = 0: the network's own
 * address), as a string; an error when the network has no such address */
static int net_m_host(lua_State *L)
{
	struct net n = net_arg(L, 1);
	lua_Integer i = luaL_checkinteger(L, 2);
	int hostbits = (n.family == 4 ? 32 : 128) - n.bits;
	if (i < 0 || (hostbits < 62 && i >= ((lua_Integer)1 << hostbits)))
		return luaL_error(L, "network has no address number %d", (int)i);
	int len = n.family == 4 ? 4 : 16;
	unsigned long long carry = (unsigned long long)i;
	for (int k = len - 1; k >= 0 && carry; k--) {
		carry += n.addr[k];
		n.addr[k] = (unsigned char)(carry & 0xff);
		carry >>= 8;
	}
	char a[INET6_ADDRSTRLEN];
	inet_ntop(n.family == 4 ? AF_INET : AF_INET6, n.addr, a, sizeof a);
	lua_pushstring(L, a);
	return 1;
}

static int net_m_index(lua_State *L)
{
	struct net n = net_arg(L, 1);
	const char *k = luaL_checkstring(L, 2);
	if (!strcmp(k, "family"))
		lua_pushinteger(L, n.family);
	else if (!strcmp(k, "bits"))
		lua_pushinteger(L, n.bits);
	else if (!strcmp(k, "contains"))
		lua_pushcfunction(L, net_m_contains);
	else if (!strcmp(k, "overlaps"))
		lua_pushcfunction(L, net_m_overlaps);
	else if (!strcmp(k, "host"))
		lua_pushcfunction(L, net_m_host);
	else
		lua_pushnil(L);
	return 1;
}

static int net_m_tostring(lua_State *L)
{
	struct net n = net_arg(L, 1);
	char a[INET6_ADDRSTRLEN];
	inet_ntop(n.family == 4 ? AF_INET : AF_INET6, n.addr, a, sizeof a);
	lua_pushfstring(L, "%s/%d", a, n.bits);
	return 1;
}

void luanet_open(lua_State *L)
{
	if (luaL_newmetatable(L, NET_META)) {
		lua_pushcfunction(L, net_m_index);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, net_m_tostring);
		lua_setfield(L, -2, "__tostring");
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, l_net);
	lua_setfield(L, -2, "net");
}
