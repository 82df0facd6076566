/*
 * luarx.h - ezk.regex for a Lua state (luarx.c).
 */
#ifndef EZK_LUARX_H
#define EZK_LUARX_H

#include <lua.h>

/* Sets field "regex" of the table on top of the stack. */
void luarx_open(lua_State *L);

#endif
