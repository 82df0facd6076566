/*
 * check.c - runs the roles' check files (check.h): the mechanism (a Lua
 * state, the cluster's variables, a network parser, where a finding
 * points); what is checked is the roles' knowledge.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "luavalue.h"
#include "value.h"

struct state {
	struct cluster *c;
	const struct check_say *say;
};

static const char STATE_KEY[] = "ezk.check";
static const char NET_META[] = "ezk.net";

static struct state *state_of(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
	struct state *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

/* a {file = ..., line = ...} table (nil when file is NULL) */
static void push_where(lua_State *L, const char *file, int line)
{
	if (!file) {
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, 2);
	lua_pushstring(L, file);
	lua_setfield(L, -2, "file");
	lua_pushinteger(L, line);
	lua_setfield(L, -2, "line");
}

/* the host index of argument idx: a name, or nil for the deploy node */
static size_t host_arg(lua_State *L, int idx)
{
	struct state *s = state_of(L);
	if (lua_isnoneornil(L, idx))
		return inventory_nhosts(s->c->inv);
	const char *name = luaL_checkstring(L, idx);
	long h = inventory_host_find(s->c->inv, name);
	if (h < 0)
		luaL_error(L, "no host '%s' in the inventory", name);
	return (size_t)h;
}

/* ezk.var(host, name): value, where | nil | nil, nil, msg */
static int l_var(lua_State *L)
{
	struct state *s = state_of(L);
	size_t h = host_arg(L, 1);
	const char *name = luaL_checkstring(L, 2);
	struct value *v = NULL;
	int rc = vars_get(s->c, h, name, &v);
	if (rc < 0) {
		lua_pushnil(L);
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 3;
	}
	if (rc > 0) {
		lua_pushnil(L);
		return 1;
	}
	luav_push(L, v);
	push_where(L, v->file, v->line);
	value_unref(v);
	return 2;
}

/* ezk.config(): {key, value, where} per config.yml entry, as written */
static int l_config(lua_State *L)
{
	struct state *s = state_of(L);
	size_t n = value_len(s->c->config);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		const struct value *v = value_map_val(s->c->config, i);
		lua_createtable(L, 0, 3);
		lua_pushstring(L, value_map_key(s->c->config, i));
		lua_setfield(L, -2, "key");
		luav_push(L, v);
		lua_setfield(L, -2, "value");
		push_where(L, v->file ? v->file : s->c->config_path, v->line);
		lua_setfield(L, -2, "where");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* ezk.host_at(host): where the inventory names it first */
static int l_host_at(lua_State *L)
{
	struct state *s = state_of(L);
	size_t h = host_arg(L, 1);
	push_where(L, s->c->hosts_path,
		   h < inventory_nhosts(s->c->inv) ? inventory_host_line(s->c->inv, h) : 0);
	return 1;
}

static int say(lua_State *L, bool error)
{
	struct state *s = state_of(L);
	const char *file = NULL;
	int line = 0;
	if (lua_istable(L, 1)) {
		lua_getfield(L, 1, "file");
		lua_getfield(L, 1, "line");
		if (lua_isstring(L, -2))
			file = lua_tostring(L, -2); /* kept alive by the table */
		line = (int)lua_tointeger(L, -1);
		lua_pop(L, 2);
	} else if (!lua_isnoneornil(L, 1)) {
		return luaL_argerror(L, 1, "where: {file, line} or nil");
	}
	s->say->say(s->say->ud, error, file, line, luaL_checkstring(L, 2));
	return 0;
}

static int l_error(lua_State *L)
{
	return say(L, true);
}

static int l_warning(lua_State *L)
{
	return say(L, false);
}

/* ---- networks: ezk.net(s) ---- */

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

static const luaL_Reg check_funcs[] = {
    {"var", l_var},	{"config", l_config},	{"host_at", l_host_at},
    {"error", l_error}, {"warning", l_warning}, {"net", l_net},
    {NULL, NULL}};

static lua_State *new_state(struct state *s)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	luaL_openlibs(L);
	lua_pushlightuserdata(L, s);
	lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
	luaL_newmetatable(L, NET_META);
	lua_pushcfunction(L, net_m_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, net_m_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	luaL_newlib(L, check_funcs);
	struct inventory *inv = s->c->inv;
	size_t nh = inventory_nhosts(inv);
	lua_createtable(L, (int)nh, 0);
	for (size_t i = 0; i < nh; i++) {
		lua_pushstring(L, inventory_host(inv, i));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "hosts");
	luav_push(L, s->c->groups);
	lua_setfield(L, -2, "groups");
	if (s->c->hosts_path) {
		lua_pushstring(L, s->c->hosts_path);
		lua_setfield(L, -2, "hosts_file");
	}
	if (s->c->config_path) {
		lua_pushstring(L, s->c->config_path);
		lua_setfield(L, -2, "config_file");
	}
	lua_setglobal(L, "ezk");
	return L;
}

int check_run(struct cluster *c, char *const *files, size_t n, const struct check_say *say_to)
{
	struct state s = {c, say_to};
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		/* a state per file: what one check leaves behind cannot change another */
		lua_State *L = new_state(&s);
		if (!L)
			return ezk_fail("out of memory");
		if (luaL_dofile(L, files[i]) != LUA_OK) {
			const char *m = lua_tostring(L, -1);
			say_to->say(say_to->ud, true, NULL, 0, m ? m : "a check failed");
			rc = -1;
		}
		lua_close(L);
	}
	return rc;
}

void check_format(struct buf *b, bool error, const char *file, int line, const char *msg)
{
	const char *body = msg;
	if (file && line > 0) {
		buf_printf(b, "%s:%d: ", file, line);
	} else if (file) {
		buf_printf(b, "%s: ", file);
	} else {
		/* a message that already starts with "file:line: " keeps it first */
		const char *colon = strchr(msg, ':');
		const char *end = colon ? colon + 1 : NULL;
		while (end && *end >= '0' && *end <= '9')
			end++;
		if (colon && end > colon + 1 && end[0] == ':' && end[1] == ' ' &&
		    !memchr(msg, ' ', (size_t)(colon - msg))) {
			buf_put(b, msg, (size_t)(end + 2 - msg));
			body = end + 2;
		}
	}
	buf_puts(b, error ? "error: " : "warning: ");
	buf_puts(b, body);
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wanted(const char *name, char *const *roles, size_t n)
{
	if (!roles)
		return true;
	for (size_t i = 0; i < n; i++) {
		size_t l = strcspn(roles[i], "/"); /* "etcd/start" is the role etcd */
		if (strlen(name) == l && !strncmp(roles[i], name, l))
			return true;
	}
	return false;
}

char **check_files(char *const *dirs, size_t ndirs, char *const *roles, size_t n_roles, size_t *n)
{
	char **names = NULL, **out = NULL;
	size_t nn = 0;
	*n = 0;
	for (size_t d = 0; d < ndirs; d++) {
		DIR *dh = opendir(dirs[d]);
		for (struct dirent *de; dh && (de = readdir(dh));) {
			if (de->d_name[0] == '.' || !wanted(de->d_name, roles, n_roles))
				continue;
			bool seen = false;
			for (size_t i = 0; i < nn && !seen; i++)
				seen = !strcmp(names[i], de->d_name);
			struct buf p = BUF_INIT;
			buf_printf(&p, "%s/%s/check.lua", dirs[d], de->d_name);
			if (!seen && file_exists(p.s)) {
				names = xrealloc(names, (nn + 1) * sizeof *names);
				names[nn++] = xstrdup(de->d_name);
				out = xrealloc(out, (*n + 1) * sizeof *out);
				out[(*n)++] = buf_detach(&p);
			}
			buf_free(&p);
		}
		if (dh)
			closedir(dh);
	}
	/* by role name: the same order whichever dir a role came from */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && cmp_base(&names[j - 1], &names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1], names[j - 1] = t;
			t = out[j];
			out[j] = out[j - 1], out[j - 1] = t;
		}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	if (roles)
		return out;
	/* the cluster's own check first: the first dir that has one */
	for (size_t d = 0; d < ndirs; d++) {
		char *p = path_join(dirs[d], "check.lua");
		if (file_exists(p)) {
			out = xrealloc(out, (*n + 1) * sizeof *out);
			memmove(out + 1, out, *n * sizeof *out);
			out[0] = p;
			(*n)++;
			break;
		}
		free(p);
	}
	return out;
}
