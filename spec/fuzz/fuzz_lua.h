/*
 * fuzz_lua.h — what both fuzz targets share: a Lua state with animo in it,
 * and their Lua check function, compiled once and kept in the registry.
 */
#ifndef ANIMO_FUZZ_LUA_H
#define ANIMO_FUZZ_LUA_H

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

#include "animo.h"

/* A new state whose registry field "fuzz.check" holds what `check` (a Lua
 * chunk) returns. Aborts when the chunk fails: a bug in the target. */
static lua_State *fuzz_lua_state(const char *check) {
  lua_State *state = luaL_newstate();
  luaL_openlibs(state);
  animo_openlibs(state);
  if (luaL_dostring(state, check) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(state, -1));
    abort();
  }
  lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.check");
  return state;
}

#endif
