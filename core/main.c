/*
 * main.c — the bundled interpreter: Lua 5.4 with animo, animo.core and
 * cjson built in. Shaped like Lua's own lua.c: main creates the state and
 * runs everything in pmain under one lua_pcall; report() is the one place
 * that prints an error.
 *
 *   animo [options] [script [args]]
 *     -e stat   run the string stat
 *     -l mod    require mod into global mod
 *     -v        print the version (also --version)
 *     --        stop handling options
 *     -         run standard input
 *   animo COMMAND [flags]   the commands of animo.cli (attach, list, …),
 *                           when no file of that name exists
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "animo.h"

static const char *progname = "animo";

static void print_usage(const char *badoption) {
  if (badoption[0] == '-' && (badoption[1] == 'e' || badoption[1] == 'l'))
    fprintf(stderr, "%s: '%s' needs an argument\n", progname, badoption);
  else if (badoption[0])
    fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badoption);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -v        show version information\n"
          "  --        stop handling options\n"
          "  -         execute stdin and stop handling options\n"
          "Commands: %s help\n",
          progname, progname);
}

/* Prints the error message on top of the stack, if any; returns status. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    /* animo error objects already start with "animo: " */
    if (strncmp(msg, "animo: ", 7) == 0)
      fprintf(stderr, "%s\n", msg);
    else
      fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* Message handler: turns any error value into one line of text, using
 * __tostring for error objects (so assert(nil, err) prints err). */
static int msghandler(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) return 1;
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

/* Calls the function below the `narg` arguments on top, with msghandler. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

static int dostring(lua_State *L, const char *s, const char *name) {
  int status = luaL_loadbuffer(L, s, strlen(s), name);
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

/* -l mod: require mod and set global mod. */
static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return report(L, status);
}

/* arg table as lua.c builds it: script at 0, interpreter and options below,
 * script arguments from 1. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script: arg[0] is the program */
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* If argv[0] names no file but an animo command, runs it with the rest of
 * argv as its arguments and returns 1 with its exit status in *code. */
static int handle_command(lua_State *L, char **argv, int argc, int *code) {
  if (access(argv[0], F_OK) == 0) return 0; /* a file path always wins */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "animo.cli");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "is_command");
  lua_pushstring(L, argv[0]);
  lua_call(L, 1, 1);
  int is_command = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!is_command) {
    lua_pop(L, 1);
    return 0;
  }
  lua_getfield(L, -1, "main");
  lua_pushstring(L, argv[0]);
  lua_createtable(L, argc - 1, 0);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_call(L, 2, 1);
  *code = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  return 1;
}

/* Runs the script argv[script] (or stdin for "-") with the rest as `...`. */
static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    lua_getglobal(L, "arg");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    status = docall(L, n, 0);
  }
  return report(L, status);
}

enum { HAS_ERROR = 1, HAS_E = 2, HAS_V = 4 };

/* Scans options; returns flags and sets *first to the script's index
 * (argc when there is none). */
static int collectargs(char **argv, int argc, int *first) {
  int flags = 0;
  for (int i = 1; i < argc; i++) {
    *first = i;
    if (argv[i][0] != '-') return flags;
    switch (argv[i][1]) {
      case '-':
        if (argv[i][2] == '\0') {
          *first = i + 1;
          return flags;
        }
        if (strcmp(argv[i], "--version") == 0) {
          flags |= HAS_V;
          break;
        }
        return HAS_ERROR;
      case '\0':
        return flags; /* "-" is the script: stdin */
      case 'v':
        if (argv[i][2] != '\0') return HAS_ERROR;
        flags |= HAS_V;
        break;
      case 'e':
        flags |= HAS_E;
        /* fallthrough */
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (i >= argc || argv[i][0] == '-') return HAS_ERROR;
        }
        break;
      default:
        return HAS_ERROR;
    }
  }
  *first = argc;
  return flags;
}

/* Runs the -e and -l options in order. */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option != 'e' && option != 'l') continue;
    const char *extra = argv[i] + 2;
    if (*extra == '\0') extra = argv[++i];
    int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return 0;
  }
  return 1;
}

/* Everything runs here, in protected mode. Stack in: argc, argv.
 * Pushes the exit status, or nothing after an error it has reported. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = argc;
  int flags = collectargs(argv, argc, &script);
  if (flags & HAS_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  luaL_checkversion(L);
  /* As lua.c: no collection while the libraries load, then generational
   * mode, which suits the short-lived tables of each request. */
  lua_gc(L, LUA_GCSTOP);
  luaL_openlibs(L);
  animo_openlibs(L);
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (flags & HAS_V) {
    printf("animo %s (%s)\n", ANIMO_VERSION, LUA_RELEASE);
    fflush(stdout);
  }
  if (!runargs(L, argv, script)) return 0;
  int code;
  if (script < argc && script == 1 && handle_command(L, argv + 1, argc - 1, &code)) {
    lua_pushinteger(L, code);
    return 1;
  }
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (script == argc && !(flags & (HAS_E | HAS_V))) {
    if (isatty(STDIN_FILENO)) { /* nothing to run: say how */
      print_usage("");
      return 0;
    }
    int status = luaL_loadfile(L, NULL);
    if (status == LUA_OK) status = docall(L, 0, 0);
    if (report(L, status) != LUA_OK) return 0;
  }
  lua_pushinteger(L, EXIT_SUCCESS);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = status == LUA_OK && lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
  report(L, status);
  lua_close(L);
  return code;
}
