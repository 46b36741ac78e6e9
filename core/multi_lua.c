/*
 * multi_lua.c — the animo.multi userdata: many animo.http transfers at once,
 * advanced without blocking (the engine under animo's tasks).
 *
 *   local m = core.multi()
 *   m:add(h, request)      -> true | nil, kind, message, sent
 *   m:perform(seconds)     -> running   (waits at most `seconds` for I/O)
 *   m:done()               -> h, res | h, nil, kind, message, sent | nil
 *   m:close()              -- also __gc and __close; safe to repeat
 *
 * Each added handle is kept alive by the multi's user value (a table keyed
 * by the transfer's C address) until done() hands it back.
 */
#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "http.h"

#define MULTI_MT "animo.multi"

typedef struct lmulti {
  ah_multi *m; /* NULL once closed */
} lmulti;

static ah_multi *tomulti(lua_State *L) {
  lmulti *p = luaL_checkudata(L, 1, MULTI_MT);
  if (p->m == NULL) luaL_error(L, "attempt to use a closed animo.multi");
  return p->m;
}

/* core.multi() -> multi. Raises on out of memory. */
static int multi_new(lua_State *L) {
  lmulti *p = lua_newuserdatauv(L, sizeof *p, 1);
  p->m = NULL;
  luaL_setmetatable(L, MULTI_MT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  p->m = ah_multi_new();
  if (p->m == NULL) return luaL_error(L, "animo.multi: cannot create a libcurl multi handle");
  return 1;
}

static int f_add(lua_State *L) {
  ah_multi *m = tomulti(L);
  ah_http *h = http_check(L, 2);
  ah_request req;
  const char *headers[HTTP_MAX_HEADERS];
  http_check_request(L, 3, &req, headers);
  lua_getiuservalue(L, 1, 1); /* reserve the slot before starting */
  lua_pushvalue(L, 2);
  lua_rawsetp(L, -2, h);
  ah_response res;
  ah_status st = ah_multi_add(m, h, &req, &res);
  if (st != AH_OK) {
    lua_pushnil(L);
    lua_rawsetp(L, -2, h);
    return http_push_result(L, st, &res);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int f_perform(lua_State *L) {
  ah_multi *m = tomulti(L);
  lua_Number secs = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, secs >= 0 && secs <= 3600, 2, "seconds out of range");
  int running = ah_multi_perform(m, (long)(secs * 1000));
  if (running < 0) return luaL_error(L, "animo.multi: libcurl failed to advance transfers");
  lua_pushinteger(L, running);
  return 1;
}

static int f_done(lua_State *L) {
  ah_multi *m = tomulti(L);
  ah_status st;
  ah_response res;
  ah_http *h = ah_multi_done(m, &st, &res);
  if (h == NULL) return 0;
  lua_getiuservalue(L, 1, 1);
  int slots = lua_gettop(L);
  lua_rawgetp(L, slots, h); /* the animo.http userdata */
  lua_pushnil(L);
  lua_rawsetp(L, slots, h);
  return 1 + http_push_result(L, st, &res);
}

/* close, __gc and __close: null the handle first, then release it. Running
 * transfers are abandoned; their handles stay usable. */
static int f_close(lua_State *L) {
  lmulti *p = luaL_checkudata(L, 1, MULTI_MT);
  ah_multi *m = p->m;
  p->m = NULL;
  ah_multi_free(m);
  return 0;
}

static int f_tostring(lua_State *L) {
  lmulti *p = luaL_checkudata(L, 1, MULTI_MT);
  lua_pushfstring(L, "animo.multi (%s)", p->m ? "open" : "closed");
  return 1;
}

static const luaL_Reg methods[] = {
    {"add", f_add}, {"perform", f_perform}, {"done", f_done}, {"close", f_close}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", f_close}, {"__close", f_close}, {"__tostring", f_tostring}, {NULL, NULL}};

void multi_open(lua_State *L) {
  core_type(L, MULTI_MT, methods, metamethods, "multi", multi_new);
}
