/*
 * luavalue.h - ezk's values (value.h) as Lua sees them, for every Lua state
 * ezk makes (a host's, a check's).
 *
 * luav_push: null is nil, lists are tables 1..n, maps tables with string
 * keys, objs (hostvars) are expanded; nesting deeper than 64 is nil.
 * luav_get: the reverse (a new reference); a table with keys 1..n is a
 * list, any other a map of its string keys; functions and the like are null.
 */
#ifndef EZK_LUAVALUE_H
#define EZK_LUAVALUE_H

#include <lua.h>

struct value;

void luav_push(lua_State *L, const struct value *v);
struct value *luav_get(lua_State *L, int idx);

#endif
