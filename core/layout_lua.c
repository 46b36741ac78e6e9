/*
 * layout_lua.c — core.layout(value, shape, each, encode) -> text: the JSON
 * of nested Lua objects laid out for a person to read and diff (animo.store's
 * document). The tables `shape` describes go one key per line, keys sorted
 * bytewise, two spaces per level; every other value is encode(value)
 * (cjson.encode: all escaping stays there), with its "\/" written as "/".
 * The text ends with a newline.
 *   shape[each] is the shape of every value of a table, else shape[k] that
 *   of the value at key k; a value whose shape is not a table is encoded.
 * Raises what encode raises, and for a key that is not a string.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"

#define MAX_DEPTH 32

/* The text so far, in a userdata at stack slot `slot` (so a raise frees
 * it); growing replaces the userdata. */
typedef struct buffer {
  char *p;
  size_t len, cap;
  int slot;
} buffer;

static void reserve(lua_State *L, buffer *b, size_t more) {
  if (more <= b->cap - b->len) return;
  size_t cap = b->cap;
  while (cap - b->len < more) {
    if (cap > ((size_t)-1) / 2) luaL_error(L, "layout: text too large");
    cap *= 2;
  }
  char *p = lua_newuserdatauv(L, cap, 0);
  memcpy(p, b->p, b->len);
  lua_replace(L, b->slot);
  b->p = p;
  b->cap = cap;
}

static void add(lua_State *L, buffer *b, const char *s, size_t len) {
  reserve(L, b, len);
  memcpy(b->p + b->len, s, len);
  b->len += len;
}

static void add_indent(lua_State *L, buffer *b, int depth) {
  reserve(L, b, (size_t)depth * 2);
  memset(b->p + b->len, ' ', (size_t)depth * 2);
  b->len += (size_t)depth * 2;
}

/* Adds encode(value at `idx`), every "\/" as "/": cjson escapes each "/"
 * and writes a backslash only to start an escape. */
static void add_encoded(lua_State *L, buffer *b, int encode, int idx) {
  lua_pushvalue(L, encode);
  lua_pushvalue(L, idx);
  lua_call(L, 1, 1);
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "layout: encode returned no string");
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  reserve(L, b, len);
  char *out = b->p + b->len;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len) {
      if (s[i + 1] != '/') *out++ = '\\';
      *out++ = s[++i];
    } else {
      *out++ = s[i];
    }
  }
  b->len = (size_t)(out - b->p);
  lua_pop(L, 1);
}

/* A key that JSON can hold as it is: printable ASCII, no quote or backslash. */
static int plain(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return 0;
  }
  return 1;
}

typedef struct key {
  const char *s; /* anchored by the table being laid out */
  size_t len;
} key;

static int compare_keys(const void *a, const void *b) {
  const key *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  if (c != 0) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Adds the table at `v`, of the shape table at `shape`. */
static void lay(lua_State *L, buffer *b, int v, int shape, int each, int encode, int depth) {
  if (depth >= MAX_DEPTH) luaL_error(L, "layout: nested deeper than %d", MAX_DEPTH);
  luaL_checkstack(L, 8, "layout");
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, v) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "layout: a key is a %s", luaL_typename(L, -2));
    count++;
    lua_pop(L, 1);
  }
  if (count == 0) {
    add(L, b, "{}", 2);
    return;
  }
  key *keys = lua_newuserdatauv(L, count * sizeof *keys, 0);
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, v) != 0) { /* the same keys as counted: no code ran */
    if (n < count) {
      keys[n].s = lua_tolstring(L, -2, &keys[n].len);
      n++;
    }
    lua_pop(L, 1);
  }
  qsort(keys, n, sizeof *keys, compare_keys);
  lua_pushvalue(L, each);
  int every = lua_rawget(L, shape) == LUA_TTABLE; /* its shape stays on the stack */
  for (size_t i = 0; i < n; i++) {
    add(L, b, i == 0 ? "{\n" : ",\n", 2);
    add_indent(L, b, depth + 1);
    lua_pushlstring(L, keys[i].s, keys[i].len);
    if (plain(keys[i].s, keys[i].len)) {
      reserve(L, b, keys[i].len + 2);
      b->p[b->len++] = '"';
      memcpy(b->p + b->len, keys[i].s, keys[i].len);
      b->len += keys[i].len;
      b->p[b->len++] = '"';
    } else {
      add_encoded(L, b, encode, lua_gettop(L));
    }
    add(L, b, ": ", 2);
    int key_idx = lua_gettop(L);
    if (every) {
      lua_pushvalue(L, -2);
    } else {
      lua_pushvalue(L, key_idx);
      lua_rawget(L, shape);
    }
    lua_pushvalue(L, key_idx);
    lua_rawget(L, v);
    int value = lua_gettop(L), child = value - 1;
    if (lua_type(L, child) == LUA_TTABLE && lua_type(L, value) == LUA_TTABLE) {
      lay(L, b, value, child, each, encode, depth + 1);
    } else {
      add_encoded(L, b, encode, value);
    }
    lua_pop(L, 3); /* key, shape, value */
  }
  add(L, b, "\n", 1);
  add_indent(L, b, depth);
  add(L, b, "}", 1);
  lua_pop(L, 2); /* keys, every value's shape */
}

/* core.layout(value, shape, each, encode) -> text */
static int layout(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checkany(L, 3);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  lua_settop(L, 4);
  buffer b = {lua_newuserdatauv(L, 1024, 0), 0, 1024, 5};
  lay(L, &b, 1, 2, 3, 4, 0);
  add(L, &b, "\n", 1);
  lua_pushlstring(L, b.p, b.len);
  return 1;
}

void layout_open(lua_State *L) {
  lua_pushcfunction(L, layout);
  lua_setfield(L, -2, "layout");
}
