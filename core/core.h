/*
 * core.h — internal declarations shared by the animo.core binding files.
 * Not installed; the public embedding API is animo.h.
 */
#ifndef ANIMO_CORE_H
#define ANIMO_CORE_H

#include <lua.h>

#include "animo.h"

/* Registers the animo.http metatable; adds `http` (the constructor) to the
 * table on top of the stack. */
void http_open(lua_State *L);

/* Registers the animo.store metatable; adds `store` (the constructor). */
void store_open(lua_State *L);

/* The only symbol animo/core.so exports. */
ANIMO_API int luaopen_animo_core(lua_State *L);

#endif
