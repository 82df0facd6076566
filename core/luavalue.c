/*
 * luavalue.c - values (value.h) to Lua tables and back (luavalue.h).
 */
#include <lauxlib.h>

#include "luavalue.h"
#include "value.h"

static void push(lua_State *L, const struct value *v, int depth)
{
	if (!v || depth > 64) {
		lua_pushnil(L);
		return;
	}
	switch (v->type) {
	case V_NULL: lua_pushnil(L); break;
	case V_BOOL: lua_pushboolean(L, v->u.b); break;
	case V_INT: lua_pushinteger(L, v->u.i); break;
	case V_FLOAT: lua_pushnumber(L, v->u.f); break;
	case V_STR: lua_pushlstring(L, v->u.str.s, v->u.str.len); break;
	case V_LIST:
		lua_createtable(L, (int)v->u.list.n, 0);
		for (size_t i = 0; i < v->u.list.n; i++) {
			push(L, v->u.list.v[i], depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case V_MAP: {
		size_t n = value_len(v);
		lua_createtable(L, 0, (int)n);
		for (size_t i = 0; i < n; i++) {
			push(L, value_map_val(v, i), depth + 1);
			lua_setfield(L, -2, value_map_key(v, i));
		}
		break;
	}
	case V_OBJ: {
		struct value *m = value_obj_map(v);
		push(L, m, depth + 1);
		value_unref(m);
		break;
	}
	}
}

/* A Lua value as a struct value (new reference). Tables with keys 1..n
 * are lists, others maps with string keys. */
static struct value *get(lua_State *L, int idx, int depth)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN: return value_bool(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return value_int(lua_tointeger(L, idx));
		return value_float(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		return value_strn(s, n);
	}
	case LUA_TTABLE: {
		if (depth > 64)
			return value_null();
		lua_Unsigned n = lua_rawlen(L, idx);
		if (n > 0) {
			struct value *l = value_list();
			for (lua_Unsigned i = 1; i <= n; i++) {
				lua_rawgeti(L, idx, (lua_Integer)i);
				value_list_push(l, get(L, -1, depth + 1));
				lua_pop(L, 1);
			}
			return l;
		}
		struct value *m = value_map();
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			if (lua_type(L, -2) == LUA_TSTRING)
				value_map_set(m, lua_tostring(L, -2), get(L, -1, depth + 1));
			lua_pop(L, 1);
		}
		return m;
	}
	default: return value_null();
	}
}

void luav_push(lua_State *L, const struct value *v)
{
	push(L, v, 0);
}

struct value *luav_get(lua_State *L, int idx)
{
	return get(L, idx, 0);
}
