/*
 * luadeploy.h - ezk.list_local and ezk.exec_local: what a
 * role may look at and run on the deploy node (see luadeploy.c).
 */
#ifndef EZK_LUADEPLOY_H
#define EZK_LUADEPLOY_H

struct lua_State;
/* Adds the functions to the table on top of the stack (the ezk table). */
void luadeploy_open(struct lua_State *L);

#endif
