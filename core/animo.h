/*
 * animo.h — embed animo in a host program that owns its lua_State.
 *
 *   lua_State *L = luaL_newstate();
 *   luaL_openlibs(L);
 *   animo_openlibs(L);      // require "animo" now works, no files needed
 *   ... animo.spawn(...) tasks from Lua ...
 *   while (running) { animo_poll(L, 0); draw_frame(); }
 *
 * The host keeps the state, the allocator and stdout; animo never prints,
 * exits or closes the state.
 */
#ifndef ANIMO_H
#define ANIMO_H

#include <lua.h>

#if defined(__GNUC__)
#define ANIMO_API __attribute__((visibility("default")))
#else
#define ANIMO_API
#endif

#define ANIMO_VERSION "0.1.0"

/* Registers "animo", its submodules, "animo.core" and "cjson" in
 * package.preload. Needs the package library to be open. May raise a Lua
 * error (out of memory), like luaL_openlibs. */
ANIMO_API void animo_openlibs(lua_State *L);

/* Once per frame: animo.poll(ms) in protected mode. Advances all transfers
 * and resumes ready tasks, waiting at most `ms` milliseconds for I/O (0: not
 * at all). Returns the number of unfinished tasks; on an error (never one a
 * task raised: tasks keep theirs) returns -1 with the message pushed on the
 * stack. */
ANIMO_API int animo_poll(lua_State *L, int ms);

#endif
