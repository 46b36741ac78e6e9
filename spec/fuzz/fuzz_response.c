/*
 * fuzz_response.c — libFuzzer target for the response-parsing path: the
 * header lines of a response through http.c's header callback, then its
 * status and body through animo.response (Lua and cjson). Nothing may
 * crash, the Lua side may never raise, and a printed error stays one
 * bounded line without the secret it was given.
 */
#include "../../core/http.c" /* the header callback is static */

#include <stdint.h>

#include "fuzz_lua.h"

static lua_State *L;

static const char *CHECK =
    "local response = require 'animo.response'\n"
    "return function(status, body, retry_after)\n"
    "  local res = { status = status, body = body, retry_after = retry_after ~= '' and retry_after "
    "or nil }\n"
    "  if status < 200 or status > 299 then\n"
    "    local err = response.error(res, { method = 'POST', path = '/api/v1/c/webhooks/attach',\n"
    "                                      secrets = { 'secret-token-1' } })\n"
    "    local line = tostring(err)\n"
    "    assert(not line:find('[\\r\\n]'), 'an error printed on several lines')\n"
    "    assert(#line < 2000, 'an unbounded error line')\n"
    "    assert(not line:find('secret-token-1', 1, true), 'a secret in an error')\n"
    "  end\n"
    "  response.object(body)\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  L = fuzz_lua_state(CHECK);
  return 0;
}

/* Input: two bytes of status, header lines up to an empty line, body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int status = 100 + (data[0] << 8 | data[1]) % 500;
  const char *p = (const char *)data + 2, *end = (const char *)data + size;
  ah_http h;
  memset(&h, 0, sizeof h);
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
    on_header((char *)p, 1, len, &h);
    p += len;
    if (len <= 2) break; /* the blank line ends the headers */
  }
  if (strlen(h.retry_after) >= HEADER_VALUE_MAX || strlen(h.content_type) >= HEADER_VALUE_MAX)
    abort();
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.check");
  lua_pushinteger(L, status);
  lua_pushlstring(L, p, (size_t)(end - p));
  lua_pushstring(L, h.retry_after);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    fprintf(stderr, "animo.response raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  return 0;
}
