/*
 * core_lua.c — builds the animo.core module table. Users never require it
 * directly; lua/animo/init.lua wraps it.
 *
 *   core.http()        new HTTPS handle (http_lua.c)
 *   core.store(path)   the token-store file and its lock (store_lua.c)
 *   core.multi()       many transfers at once, for tasks (multi_lua.c)
 *   core.layout(v, shape, each, encode) readable JSON text (layout_lua.c)
 *   core.now()         monotonic seconds, for deadlines
 *   core.sleep(s)      blocks the calling thread for s seconds
 *   core.curl_version() libcurl's version line
 *   core.VERSION
 */
#include <errno.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "http.h"

static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 86400, 1, "seconds out of range");
  struct timespec ts = {(time_t)s, (long)((s - (lua_Number)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  return 0;
}

void core_type(lua_State *L, const char *mt, const luaL_Reg *methods, const luaL_Reg *metamethods,
               const char *name, lua_CFunction ctor) {
  luaL_newmetatable(L, mt); /* also sets __name, for readable type errors */
  luaL_setfuncs(L, metamethods, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, ctor);
  lua_setfield(L, -2, name);
}

/* core.curl_version() -> "libcurl/7.88.1 OpenSSL/3.0.11 …". A function, not
 * a field: curl_version() costs about a millisecond (it binds every library
 * libcurl links), which a start-up should not pay for a diagnosis. */
static int core_curl_version(lua_State *L) {
  lua_pushstring(L, ah_http_version());
  return 1;
}

static const luaL_Reg funcs[] = {
    {"now", core_now}, {"sleep", core_sleep}, {"curl_version", core_curl_version}, {NULL, NULL}};

int luaopen_animo_core(lua_State *L) {
  if (ah_http_global_init() != 0) return luaL_error(L, "animo.core: libcurl initialisation failed");
  luaL_newlib(L, funcs);
  http_open(L);
  store_open(L);
  multi_open(L);
  layout_open(L);
  lua_pushliteral(L, ANIMO_VERSION);
  lua_setfield(L, -2, "VERSION");
  return 1;
}
