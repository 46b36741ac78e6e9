/*
 * store_lua.c — the animo.store userdata: one token-store file and, while
 * held, its lock (store.c does the file work).
 *
 *   local st = core.store(path)
 *   st:read()            -> text | false (no file yet) | nil, message
 *   st:lock(seconds)     -> true | nil, message, busy (waits at most that long;
 *                           busy: another process still holds it); makes the
 *                           folders on the first write
 *   st:replace(text)     -> true | nil, message   (raises unless locked)
 *   st:notes()           -> text of the notes in the lock file | false | nil, message
 *   st:note(text)        -> true | nil, message   (appends; raises unless locked)
 *   st:clear_notes()     -> true | nil, message   (leaves a new header; raises unless locked)
 *   st:check_room(size)  -> true | nil, message   (could a store that big be saved?)
 *   st:unlock()          -- also close, __gc and __close; safe to repeat
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "store.h"

#define STORE_MT "animo.store"
#define BOX_MT "animo.store.buffer"

typedef struct lstore {
  int lock_fd; /* -1 when not locked */
  int swept;   /* stale temp files removed (by this handle's first write) */
} lstore;

/* The path is the userdata's user value 1, so no C copy is needed. */
static lstore *tostore(lua_State *L, const char **path) {
  lstore *s = luaL_checkudata(L, 1, STORE_MT);
  lua_getiuservalue(L, 1, 1);
  *path = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the userdata */
  return s;
}

/* core.store(path) -> store. */
static int store_new(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len > 0 && strlen(path) == len, 1,
                "store path must be a non-empty string without NUL");
  lstore *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->lock_fd = -1;
  s->swept = 0;
  luaL_setmetatable(L, STORE_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

static int pushfail(lua_State *L, const char *err) {
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

/* A malloc'd buffer owned by a userdata, so a raise while the contents are
 * pushed still frees it (the UBox idea of lauxlib.c). */
static int box_gc(lua_State *L) {
  char **p = luaL_checkudata(L, 1, BOX_MT);
  free(*p);
  *p = NULL;
  return 0;
}

/* as_read, or as_read_notes (which reads through the lock when held). */
typedef int reader(const char *path, int lock_fd, char **data, size_t *len, char *err);

static int read_store(const char *path, int lock_fd, char **data, size_t *len, char *err) {
  (void)lock_fd;
  return as_read(path, data, len, err);
}

/* Pushes what `read` gives: text, false (no file) or nil, message. */
static int push_read(lua_State *L, reader *read) {
  const char *path;
  lstore *s = tostore(L, &path);
  char **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, BOX_MT);
  char err[AS_ERR_SIZE];
  size_t len;
  if (read(path, s->lock_fd, box, &len, err) != 0) return pushfail(L, err);
  if (*box == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushlstring(L, *box, len);
  free(*box);
  *box = NULL;
  return 1;
}

static int f_read(lua_State *L) {
  return push_read(L, read_store);
}

static int f_notes(lua_State *L) {
  return push_read(L, as_read_notes);
}

/* The lock's descriptor, raising unless the store is locked. */
static int locked_fd(lua_State *L, const char *what) {
  const char *path;
  lstore *s = tostore(L, &path);
  if (s->lock_fd < 0) luaL_error(L, "animo.store: %s needs the lock", what);
  return s->lock_fd;
}

static int f_note(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  char err[AS_ERR_SIZE];
  if (as_note(locked_fd(L, "note"), data, len, err) != 0) return pushfail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int f_check_room(lua_State *L) {
  const char *path;
  tostore(L, &path);
  lua_Integer len = luaL_checkinteger(L, 2);
  luaL_argcheck(L, len >= 0, 2, "size must not be negative");
  char err[AS_ERR_SIZE];
  if (as_check_room(path, (size_t)len, err) != 0) return pushfail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int f_clear_notes(lua_State *L) {
  char err[AS_ERR_SIZE];
  if (as_clear_notes(locked_fd(L, "clear_notes"), err) != 0) return pushfail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int f_lock(lua_State *L) {
  const char *path;
  lstore *s = tostore(L, &path);
  lua_Number secs = luaL_checknumber(L, 2);
  luaL_argcheck(L, secs >= 0 && secs <= 3600, 2, "seconds out of range");
  if (s->lock_fd >= 0) return luaL_error(L, "animo.store: already locked");
  char err[AS_ERR_SIZE];
  int rc = as_lock(path, (long)(secs * 1000), &s->lock_fd, err);
  if (rc != 0) {
    pushfail(L, err);
    lua_pushboolean(L, rc == 1); /* busy: held by another process */
    return 3;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int f_replace(lua_State *L) {
  const char *path;
  lstore *s = tostore(L, &path);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  locked_fd(L, "replace");
  char err[AS_ERR_SIZE];
  if (as_replace(path, data, len, !s->swept, err) != 0) return pushfail(L, err);
  s->swept = 1;
  lua_pushboolean(L, 1);
  return 1;
}

/* unlock, close, __gc and __close: forget the descriptor, then release. */
static int f_unlock(lua_State *L) {
  lstore *s = luaL_checkudata(L, 1, STORE_MT);
  int fd = s->lock_fd;
  s->lock_fd = -1;
  as_unlock(fd);
  return 0;
}

static int f_tostring(lua_State *L) {
  const char *path;
  lstore *s = tostore(L, &path);
  lua_pushfstring(L, "animo.store (%s, %s)", path, s->lock_fd >= 0 ? "locked" : "unlocked");
  return 1;
}

static const luaL_Reg methods[] = {{"read", f_read},
                                   {"notes", f_notes},
                                   {"note", f_note},
                                   {"check_room", f_check_room},
                                   {"clear_notes", f_clear_notes},
                                   {"lock", f_lock},
                                   {"replace", f_replace},
                                   {"unlock", f_unlock},
                                   {"close", f_unlock},
                                   {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", f_unlock}, {"__close", f_unlock}, {"__tostring", f_tostring}, {NULL, NULL}};

void store_open(lua_State *L) {
  luaL_newmetatable(L, BOX_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  core_type(L, STORE_MT, methods, metamethods, "store", store_new);
}
