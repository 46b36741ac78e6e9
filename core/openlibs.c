/*
 * openlibs.c — the embedding API of animo.h. animo_openlibs puts animo's
 * modules in package.preload: embedded Lua modules load from the byte
 * arrays of embedded.c; the C modules (animo.core, cjson) are linked in.
 * animo_poll drives tasks from a host's frame loop.
 */
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua.h>

#include "animo.h"
#include "core.h"
#include "embedded.h"

/* Preload loader for embedded module number upvalue(1).
 * Stack in: name, ":preload:" (from require). Returns the module. */
static int load_embedded(lua_State *L) {
  const animo_embedded_module *m = &animo_embedded[lua_tointeger(L, lua_upvalueindex(1))];
  if (luaL_loadbufferx(L, (const char *)m->code, m->size, m->chunkname, "t") != LUA_OK)
    return lua_error(L);
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

void animo_openlibs(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_animo_core);
  lua_setfield(L, -2, "animo.core");
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  for (lua_Integer i = 0; animo_embedded[i].name != NULL; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, animo_embedded[i].name);
  }
  lua_pop(L, 1);
}

/* Stack in: ms. Calls require("animo").poll(ms); leaves its result. */
static int poll_protected(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "animo");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "poll");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

int animo_poll(lua_State *L, int ms) {
  lua_pushcfunction(L, poll_protected);
  lua_pushinteger(L, ms < 0 ? 0 : ms);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return -1;
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}
