/*
** lua_gdnn.c: the module table of `require "gdnn"` and what every
** binding file shares: turning core errors into Lua errors and the one
** random generator of a Lua state.
**
** Limits: one generator per Lua state, seeded with 0 when the module
** opens; gd.seed(n) restarts it. gd._fail_allocations, for specs,
** changes the core's allocator for the whole process.
*/
#include <ctype.h>
#include <string.h>

#include "lua_gdnn.h"

#define RNG_KEY "gdnn.rng"

/* Each binding file's open function, in the order they run; the tensor
** one comes first because the others build on its metatable. */
static void (*const openers[])(lua_State *L, int idx) = {
  lgd_open_tensor,
  lgd_open_einsum,
  lgd_open_descent,
  lgd_open_jacobian,
  lgd_open_network,
  lgd_open_io,         /* after network: it takes over gd.load */
  NULL
};


int lgd_argerror(lua_State *L, int arg, const char *msg) {
  return luaL_argerror(L, arg, msg);
}


/* Raise "bad argument #arg (unknown option 'k'; valid options are
** a, b, ...)" for the key on top of the stack. */
static int unknown_option(lua_State *L, int arg, const char *const *names) {
  luaL_Buffer b;
  int i;
  if (lua_type(L, -2) == LUA_TSTRING)
    lua_pushfstring(L, "unknown option '%s'; valid options are ",
                    lua_tostring(L, -2));                   /* k v h */
  else
    lua_pushfstring(L, "unknown option of type %s; valid options are ",
                    luaL_typename(L, -2));
  luaL_buffinit(L, &b);
  for (i = 0; names[i] != NULL; i++) {
    if (i > 0) luaL_addstring(&b, ", ");
    luaL_addstring(&b, names[i]);
  }
  luaL_pushresult(&b);                                      /* k v h l */
  lua_concat(L, 2);                                         /* k v msg */
  return luaL_argerror(L, arg, lua_tostring(L, -1));
}


void lgd_checkoptions(lua_State *L, int arg, const char *const *names) {
  int i, found;
  lua_pushnil(L);
  while (lua_next(L, arg) != 0) {                           /* k v */
    found = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (i = 0; names[i] != NULL && !found; i++)
        found = strcmp(lua_tostring(L, -2), names[i]) == 0;
    if (!found) unknown_option(L, arg, names);
    lua_pop(L, 1);                                          /* k */
  }
}


/* A core message without its leading "operation: ", since the Lua error
** names the Lua function instead. */
static const char *strip_op(const char *msg) {
  const char *p = msg;
  while (*p == '_' || islower((unsigned char)*p)) p++;
  if (p != msg && p[0] == ':' && p[1] == ' ') return p + 2;
  return msg;
}


int lgd_error(lua_State *L, int argbase, const gd_error *err) {
  lua_Debug ar;
  const char *msg = strip_op(err->msg);
  if (err->operand > 0)
    return luaL_argerror(L, argbase + err->operand - 1, msg);
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
    return luaL_error(L, "%s: %s", ar.name, msg);
  return luaL_error(L, "%s", err->msg);
}


/* The generator lives in a full userdata in the registry, made and
** seeded with 0 on first use. */
gd_rng *lgd_rng(lua_State *L) {
  gd_rng *r;
  if (lua_getfield(L, LUA_REGISTRYINDEX, RNG_KEY) == LUA_TUSERDATA) {
    r = (gd_rng *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
  }
  lua_pop(L, 1);
  r = (gd_rng *)lua_newuserdatauv(L, sizeof *r, 0);
  gd_rng_seed(r, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, RNG_KEY);
  return r;
}


/* The allocator that gd._fail_allocations wraps, how many more core
** allocations may succeed (none fail while it is negative) and how many
** were asked for since it was set. */
static gd_alloc_fn real_alloc = NULL;
static void *real_ud = NULL;
static long allocs_left = -1;
static long allocs_seen = 0;


/* An allocator that fails every allocation once allocs_left runs out;
** frees always go through. */
static void *failing_alloc(void *ud, void *ptr, size_t osize,
                           size_t nsize) {
  if (nsize != 0 && allocs_left >= 0) {
    allocs_seen++;
    if (allocs_left == 0) return NULL;
    allocs_left--;
  }
  return real_alloc(ud, ptr, osize, nsize);
}


/* gd._fail_allocations(n): from now on, let n more core allocations
** succeed and fail every later one; without n, allocate normally again.
** Returns how many allocations were asked for since the last call.
** Specs use it to check that every failure is a clean error. */
static int fail_allocations(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 1, -1);
  lua_pushinteger(L, allocs_seen);
  if (real_alloc == NULL) {
    gd_get_allocator(&real_alloc, &real_ud);
    gd_set_allocator(failing_alloc, real_ud);
  }
  allocs_left = n < 0 ? -1 : (long)n;
  allocs_seen = 0;
  return 1;
}


/* gd.seed(n): restart the generator at the stream of integer n. */
static int seed(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  gd_rng_seed(lgd_rng(L), (uint64_t)n);
  return 0;
}


int luaopen_gdnn(lua_State *L) {
  int i;
  lua_newtable(L);                                    /* gd */
  lua_pushliteral(L, "gdnn scm");
  lua_setfield(L, -2, "_VERSION");
  lua_pushcfunction(L, seed);
  lua_setfield(L, -2, "seed");
  lua_pushcfunction(L, fail_allocations);
  lua_setfield(L, -2, "_fail_allocations");
  lgd_rng(L);
  for (i = 0; openers[i] != NULL; i++) openers[i](L, lua_gettop(L));
  return 1;
}
