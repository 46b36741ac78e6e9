/*
 * http_lua.c — the animo.http userdata: one client's libcurl handle.
 *
 *   local h = core.http()
 *   local res, kind, msg, sent = h:request{ method=, url=, headers={…},
 *       body=, timeout=, connect_timeout=, stall=, ca_file=, resend_ok= }
 *   -- res = { status=, body=, retry_after=, content_type=, sent=, reused= }
 *   h:close()        -- also __gc and __close; safe to repeat
 *
 * Arguments are all checked before the transfer and results are pushed
 * after it; the response lives in the handle, so a raise while pushing
 * leaks nothing.
 */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "http.h"

#define HTTP_MT "animo.http"

typedef struct lhttp {
  ah_http *h; /* NULL once closed */
} lhttp;

ah_http *http_check(lua_State *L, int idx) {
  lhttp *p = luaL_checkudata(L, idx, HTTP_MT);
  if (p->h == NULL) luaL_error(L, "attempt to use a closed animo.http");
  if (ah_http_busy(p->h)) luaL_error(L, "animo.http: a transfer is still running on it");
  return p->h;
}

/* core.http() -> handle. Created closed first so an error while opening
 * leaves nothing for __gc to mistake. Raises on out of memory. */
static int http_new(lua_State *L) {
  lhttp *p = lua_newuserdatauv(L, sizeof *p, 0);
  p->h = NULL;
  luaL_setmetatable(L, HTTP_MT);
  p->h = ah_http_new();
  if (p->h == NULL) return luaL_error(L, "animo.http: cannot create a libcurl handle");
  return 1;
}

static const char *opt_string(lua_State *L, int t, const char *key, int required) {
  lua_getfield(L, t, key); /* left on the stack: keeps the string alive */
  if (lua_isnil(L, -1) && !required) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "request field '%s' must be a string", key);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (strlen(s) != len) luaL_error(L, "request field '%s' contains a NUL byte", key);
  return s;
}

static long opt_ms(lua_State *L, int t, const char *key, lua_Number dflt) {
  lua_getfield(L, t, key);
  lua_Number s = luaL_optnumber(L, -1, dflt);
  lua_pop(L, 1);
  if (!(s > 0) || s > 86400) luaL_error(L, "request field '%s' out of range", key);
  long ms = (long)(s * 1000);
  return ms > 0 ? ms : 1;
}

static const char *const KINDS[] = {
    [AH_OK] = "ok",         [AH_TIMEOUT] = "timeout",     [AH_NETWORK] = "network",
    [AH_TLS] = "tls",       [AH_TOO_LARGE] = "too_large", [AH_BAD_REQUEST] = "bad_request",
    [AH_NOMEM] = "network",
};

void http_check_request(lua_State *L, int idx, ah_request *req, const char **headers) {
  luaL_checktype(L, idx, LUA_TTABLE);
  size_t body_len = 0;
  memset(req, 0, sizeof *req);
  req->method = opt_string(L, idx, "method", 1);
  req->url = opt_string(L, idx, "url", 1);
  req->ca_file = opt_string(L, idx, "ca_file", 0);
  lua_getfield(L, idx, "body");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "request field 'body' must be a string");
    req->body = lua_tolstring(L, -1, &body_len);
  }
  req->body_len = body_len;
  req->timeout_ms = opt_ms(L, idx, "timeout", 30);
  req->connect_timeout_ms = opt_ms(L, idx, "connect_timeout", 10);
  req->stall_ms = opt_ms(L, idx, "stall", 10);
  lua_getfield(L, idx, "resend_ok");
  req->resend_ok = lua_toboolean(L, -1);

  if (lua_getfield(L, idx, "headers") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    int t = lua_gettop(L);
    lua_Integer n = luaL_len(L, t);
    if (n > HTTP_MAX_HEADERS) luaL_error(L, "at most %d headers", HTTP_MAX_HEADERS);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, t, i); /* stays on the stack, like the fields above */
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "header %d must be a string", (int)i);
      size_t len;
      headers[i - 1] = lua_tolstring(L, -1, &len);
      if (len != strlen(headers[i - 1])) luaL_error(L, "header %d contains a NUL byte", (int)i);
    }
    req->headers = headers;
    req->nheaders = (size_t)n;
  }
}

/* h:request(t) -> res | nil, kind, message, sent. Raises only on misuse. */
static int f_request(lua_State *L) {
  ah_http *h = http_check(L, 1);
  ah_request req;
  const char *headers[HTTP_MAX_HEADERS];
  http_check_request(L, 2, &req, headers);
  ah_response res;
  return http_push_result(L, ah_http_perform(h, &req, &res), &res);
}

int http_push_result(lua_State *L, ah_status st, const ah_response *res) {
  if (st != AH_OK) {
    lua_pushnil(L);
    lua_pushstring(L, KINDS[st]);
    lua_pushstring(L, res->error);
    lua_pushboolean(L, res->sent);
    return 4;
  }
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, res->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, res->body, res->body_len);
  lua_setfield(L, -2, "body");
  if (res->retry_after[0]) {
    lua_pushstring(L, res->retry_after);
    lua_setfield(L, -2, "retry_after");
  }
  if (res->content_type[0]) {
    lua_pushstring(L, res->content_type);
    lua_setfield(L, -2, "content_type");
  }
  lua_pushboolean(L, res->sent);
  lua_setfield(L, -2, "sent");
  lua_pushboolean(L, res->reused);
  lua_setfield(L, -2, "reused");
  return 1;
}

/* close, __gc and __close: null the handle first, then release it. */
static int f_close(lua_State *L) {
  lhttp *p = luaL_checkudata(L, 1, HTTP_MT);
  ah_http *h = p->h;
  p->h = NULL;
  ah_http_free(h);
  return 0;
}

static int f_tostring(lua_State *L) {
  lhttp *p = luaL_checkudata(L, 1, HTTP_MT);
  lua_pushfstring(L, "animo.http (%s)", p->h ? "open" : "closed");
  return 1;
}

static const luaL_Reg methods[] = {{"request", f_request}, {"close", f_close}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", f_close}, {"__close", f_close}, {"__tostring", f_tostring}, {NULL, NULL}};

void http_open(lua_State *L) {
  core_type(L, HTTP_MT, methods, metamethods, "http", http_new);
}
