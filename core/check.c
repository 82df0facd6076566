/*
 * check.c - runs the roles' check files (check.h): the mechanism (a Lua
 * state, the cluster's variables, where a finding
 * points); what is checked is the roles' knowledge.
 */
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "check.h"
#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "luanet.h"
#include "quote.h"
#include "luavalue.h"
#include "value.h"

struct state {
	struct cluster *c;
	const struct check_say *say;
};

static const char STATE_KEY[] = "ezk.check";

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

static const luaL_Reg check_funcs[] = {{"var", l_var},	       {"config", l_config},
				       {"host_at", l_host_at}, {"error", l_error},
				       {"warning", l_warning}, {NULL, NULL}};

static lua_State *new_state(struct state *s)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	luaL_openlibs(L);
	lua_pushlightuserdata(L, s);
	lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
	luaL_newlib(L, check_funcs);
	luanet_open(L);
	luaquote_open(L);
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

/* ezk.lib_dir: the lib/ folder of the roles tree the check file is in
 * (roles/check.lua's sibling, roles/<role>/check.lua's parent's), for the
 * helpers of lib/checks/ */
static void set_lib_dir(lua_State *L, const char *file)
{
	char *d = xstrdup(file);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(d, '/');
		if (!slash)
			break;
		*slash = 0;
		char *lib = path_join(*d ? d : "/", "lib/checks");
		struct stat st;
		int found = stat(lib, &st) == 0 && S_ISDIR(st.st_mode);
		free(lib);
		if (found) {
			char *l = path_join(*d ? d : "/", "lib");
			lua_getglobal(L, "ezk");
			lua_pushstring(L, l);
			lua_setfield(L, -2, "lib_dir");
			lua_pop(L, 1);
			free(l);
			break;
		}
	}
	free(d);
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
		set_lib_dir(L, files[i]);
		if (luaL_dofile(L, files[i]) != LUA_OK) {
			const char *m = lua_tostring(L, -1);
			say_to->say(say_to->ud, true, NULL, 0, m ? m : "a check failed");
			rc = -1;
		}
		lua_close(L);
	}
	return rc;
}

static void check_format_raw(struct buf *b, bool error, const char *file, int line,
			     const char *msg);

void check_format(struct buf *b, bool error, const char *file, int line, const char *msg)
{
	size_t start = b->len;
	check_format_raw(b, error, file, line, msg);
	/* a value quoted in a message cannot add a line of its own */
	buf_make_printable(b, start, false);
}

static void check_format_raw(struct buf *b, bool error, const char *file, int line, const char *msg)
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
