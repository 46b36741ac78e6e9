/*
 * fuzz_store.c — libFuzzer target for the store loader: the input becomes
 * a store file (0600) and, after its first NUL byte if any, the notes in
 * its lock file; read by store.c and animo.store, then listed by a client.
 * Nothing may crash or raise; a store that loads must survive a write and
 * load again unchanged.
 */
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_lua.h"

static lua_State *L;
static char path[64], lock_path[80];

static void write_file(const char *name, const uint8_t *data, size_t size) {
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0) abort();
}

static const char *CHECK =
    "local animo = require 'animo'\n"
    "local store = require 'animo.store'\n"
    "local cjson = require 'cjson'\n"
    "local function same(a, b)\n"
    "  if type(a) == 'number' and type(b) == 'number' then\n" /* cjson keeps 14 digits */
    "    return ('%.14g'):format(a) == ('%.14g'):format(b)\n"
    "  end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "return function(path)\n"
    "  local st = store.open(path)\n"
    "  local doc = st:load()\n"
    "  local client = animo.client{ base_url = 'https://h.example/api/v1', company = 'c', token = "
    "'tok-12345678', store = path }\n"
    "  local list, err = client:webhooks()\n"
    "  assert(list or err.kind == 'store', 'webhooks() failed without a store error')\n"
    "  if not doc then return end\n"
    "  for _, wh in ipairs(list) do tostring(wh) end\n"
    "  local ok = st:change(1, function(d) store.account(d, 'https://h.example/api/v1', 'c', true) "
    "end)\n"
    "  if ok then\n"
    "    local again = assert(st:load(), 'a store animo wrote does not load')\n"
    "    store.account(doc, 'https://h.example/api/v1', 'c', true)\n"
    "    doc.notes_folded, again.notes_folded = nil, nil\n" /* a write records the notes it holds */
    "    assert(same(doc, again), 'a write changed the store')\n"
    "  end\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char dir[] = "/tmp/animo-fuzz-XXXXXX";
  if (mkdtemp(dir) == NULL) abort();
  snprintf(path, sizeof path, "%s/store.json", dir);
  snprintf(lock_path, sizeof lock_path, "%s.lock", path);
  L = fuzz_lua_state(CHECK);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t store_size = nul ? (size_t)(nul - data) : size;
  write_file(path, data, store_size);
  write_file(lock_path, data + store_size + (nul != NULL), size - store_size - (nul != NULL));
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.check");
  lua_pushstring(L, path);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "store check raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  return 0;
}
