/*
** nested_fuzz.c: libFuzzer harness for gd.tensor on nested tables. The
** input is a small program that builds one Lua value: '[' opens a
** table, ']' closes it, 'n' is a number from the next 8 bytes, 'i' a
** small integer from the next byte, 's' a string, 'b' a boolean; any
** other byte is the number 0.5. gd.tensor
** runs on the result in protected mode: an error is fine, a crash or a
** leak is not.
**
** Limits: nesting stops at 40 levels, tables at 4096 items and a whole
** value at MAX_ITEMS items, so an input cannot build gigabytes of Lua
** tables (past 40 levels a table is filled with 1s without reading).
*/
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_gdnn.h"

#define MAX_DEPTH 40
#define MAX_ITEMS 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct reader {
  const uint8_t *p, *end;
  long items;            /* values built so far */
} reader;


/* Push one value read from r (nil at the end of the input). */
static void build(lua_State *L, reader *r, int depth) {
  double d;
  lua_Integer n = 0;
  if (r->p >= r->end) {
    lua_pushnil(L);
    return;
  }
  switch (*r->p++) {
    case '[':
      lua_newtable(L);
      while (r->p < r->end && *r->p != ']' && n < 4096
             && ++r->items < MAX_ITEMS) {
        if (depth >= MAX_DEPTH) lua_pushinteger(L, 1);
        else build(L, r, depth + 1);
        lua_rawseti(L, -2, ++n);
      }
      if (r->p < r->end) r->p++;
      return;
    case 'n':
      if (r->end - r->p < 8) break;
      memcpy(&d, r->p, 8);
      r->p += 8;
      lua_pushnumber(L, d);
      return;
    case 'i':
      lua_pushinteger(L, r->p < r->end ? *r->p++ : 0);
      return;
    case 's':
      lua_pushliteral(L, "7");
      return;
    case 'b':
      lua_pushboolean(L, 1);
      return;
    default:
      break;
  }
  lua_pushnumber(L, 0.5);
}


/* gd.tensor(value), then its text and its table, under lua_pcall. */
static int run(lua_State *L) {
  lua_getfield(L, 1, "tensor");
  lua_pushvalue(L, 2);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "totable");
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L = NULL;
  reader r;
  if (size > 65536) return 0;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
  }
  r.p = data;
  r.end = data + size;
  r.items = 0;
  lua_settop(L, 0);
  lua_pushcfunction(L, run);
  luaL_requiref(L, "gdnn", luaopen_gdnn, 0);
  build(L, &r, 0);
  lua_pcall(L, 2, 0, 0);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
