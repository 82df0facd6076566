/*
 * luanet.h - ezk.net(s): IP addresses and networks (see luanet.c).
 */
#ifndef EZK_LUANET_H
#define EZK_LUANET_H

struct lua_State;
/* Adds net to the table on top of the stack (the ezk table). */
void luanet_open(struct lua_State *L);

#endif
