/*
 * core.h — internal declarations shared by the animo.core binding files.
 * Not installed; the public embedding API is animo.h.
 */
#ifndef ANIMO_CORE_H
#define ANIMO_CORE_H

#include <lauxlib.h>
#include <lua.h>

#include "animo.h"

#include "http.h"

#define HTTP_MAX_HEADERS 16

/* Registers the userdata type `mt`: its metatable gets `metamethods` and
 * __index = a table of `methods`; then sets field `name` of the table on
 * top of the stack to the constructor `ctor`. */
void core_type(lua_State *L, const char *mt, const luaL_Reg *methods, const luaL_Reg *metamethods,
               const char *name, lua_CFunction ctor);

/* Registers the animo.http metatable; adds `http` (the constructor) to the
 * table on top of the stack. */
void http_open(lua_State *L);

/* The ah_http of the animo.http at `idx`; raises if it is closed or busy. */
ah_http *http_check(lua_State *L, int idx);

/* Reads the request table at `idx` into `req` (headers into `headers`, room
 * for HTTP_MAX_HEADERS). The strings it points to are left on the stack, so
 * they live until the caller returns. Raises on a malformed table. */
void http_check_request(lua_State *L, int idx, ah_request *req, const char **headers);

/* Pushes a response table, or nil, kind, message, sent; returns the count. */
int http_push_result(lua_State *L, ah_status st, const ah_response *res);

/* Registers the animo.multi metatable; adds `multi` (the constructor). */
void multi_open(lua_State *L);

/* Registers the animo.store metatable; adds `store` (the constructor). */
void store_open(lua_State *L);

/* Adds `layout` (see layout_lua.c) to the table on top of the stack. */
void layout_open(lua_State *L);

/* The only symbol animo/core.so exports. */
ANIMO_API int luaopen_animo_core(lua_State *L);

#endif
