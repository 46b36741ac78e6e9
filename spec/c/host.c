/*
 * host.c — a game-style host embedding animo through the installed animo.h
 * and libanimo (built with `pkg-config --cflags --libs animo`): a 60 Hz frame
 * loop that calls animo_poll every frame while N attach tasks run.
 *
 *   host N       settings from ANIMO_* in the environment
 *
 * Prints "tasks OK/N ok, frames F, longest poll X ms, longest frame Y ms,
 * total Z ms" and exits 0 when every task succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <animo.h>
#include <lauxlib.h>
#include <lualib.h>

static const char *SCRIPT =
    "local animo = require 'animo'\n"
    "local n = ...\n"
    "local client = animo.client()\n"
    "local tasks = {}\n"
    "for i = 1, n do\n"
    "  tasks[i] = animo.spawn(function()\n"
    "    return assert(client:attach{ name = 'host ' .. i, url = 'https://host.example/' .. i,\n"
    "                                 events = { 'lead-created' } }).id\n"
    "  end)\n"
    "end\n"
    "return function()\n" /* counts the tasks that succeeded */
    "  local ok = 0\n"
    "  for _, t in ipairs(tasks) do if t:result() then ok = ok + 1 end end\n"
    "  return ok\n"
    "end\n";

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  animo_openlibs(L);
  if (luaL_loadstring(L, SCRIPT) != LUA_OK ||
      (lua_pushinteger(L, n), lua_pcall(L, 1, 1, 0)) != LUA_OK) {
    fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
    return 2;
  }
  const double frame = 1000.0 / 60;
  double start = now_ms(), longest_poll = 0, longest_frame = 0;
  int frames = 0, unfinished = n;
  while (unfinished > 0 && now_ms() - start < 60000) {
    double t0 = now_ms();
    unfinished = animo_poll(L, 0);
    double spent = now_ms() - t0;
    if (unfinished < 0) {
      fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
      return 2;
    }
    if (spent > longest_poll) longest_poll = spent;
    frames++;
    /* the rest of the frame: rendering, here sleeping to the next tick */
    double left = frame - (now_ms() - t0);
    if (left > 0) {
      struct timespec ts = {0, (long)(left * 1e6)};
      nanosleep(&ts, NULL);
    }
    double whole = now_ms() - t0;
    if (whole > longest_frame) longest_frame = whole;
  }
  lua_call(L, 0, 1);
  int ok = (int)lua_tointeger(L, -1);
  printf("tasks %d/%d ok, frames %d, longest poll %.2f ms, longest frame %.2f ms, total %.0f ms\n",
         ok, n, frames, longest_poll, longest_frame, now_ms() - start);
  lua_close(L);
  return ok == n ? 0 : 1;
}
