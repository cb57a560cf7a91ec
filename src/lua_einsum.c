/*
** lua_einsum.c: gd.einsum, gd.einsum_into, gd.einsum_path and the plan
** cache's two helpers, translating between Lua values and einsum.h.
**
** Limits: operands may be tensors, numbers or nested tables; at most
** GD_EINSUM_MAX_OPS of them.
*/
#include "einsum.h"
#include "lua_gdnn.h"


/* The operands at first..top into ops; returns how many. Numbers and
** tables become new tensors left on the stack for the GC. */
static int get_operands(lua_State *L, int first, const char *fname,
                        const gd_tensor **ops) {
  int top = lua_gettop(L), n = top - first + 1, k;
  if (n < 1)
    return luaL_error(L, "%s: needs at least one operand", fname);
  if (n > GD_EINSUM_MAX_OPS)
    return luaL_error(L, "%s: takes at most %d operands, got %d", fname,
                      GD_EINSUM_MAX_OPS, n);
  luaL_checkstack(L, n, "too many operands");
  for (k = 0; k < n; k++) ops[k] = lgd_checktensorlike(L, first + k);
  return n;
}


/* gd.einsum(subscripts, t1, t2, ...) -> a new tensor. */
static int l_einsum(lua_State *L) {
  const gd_tensor *ops[GD_EINSUM_MAX_OPS];
  const char *subs = luaL_checkstring(L, 1);
  int n = get_operands(L, 2, "einsum", ops);
  gd_tensor *t;
  gd_error err;
  if (gd_einsum(&t, subs, n, ops, &err) != GD_OK)
    return lgd_error(L, 2, &err);
  lgd_pushtensor(L, t);                               /* result */
  return 1;
}


/* gd.einsum_into(out, subscripts, t1, ...) -> out, overwritten. */
static int l_einsum_into(lua_State *L) {
  const gd_tensor *ops[GD_EINSUM_MAX_OPS];
  gd_tensor *out = lgd_checktensor(L, 1);
  const char *subs = luaL_checkstring(L, 2);
  int n = get_operands(L, 3, "einsum_into", ops);
  gd_error err;
  if (gd_einsum_into(out, subs, n, ops, &err) != GD_OK)
    return lgd_error(L, 3, &err);
  lua_pushvalue(L, 1);                                /* out */
  return 1;
}


/* gd.einsum_path(subscripts, t1, ...) -> {{i, j}, ...} (1-based, as
** numpy's path), the report text and the FLOP estimate. */
static int l_einsum_path(lua_State *L) {
  const gd_tensor *ops[GD_EINSUM_MAX_OPS];
  const char *subs = luaL_checkstring(L, 1);
  int n = get_operands(L, 2, "einsum_path", ops), s;
  gd_einsum_order o;
  gd_error err;
  char *report;
  size_t len;
  if (gd_einsum_path(&o, &report, &len, subs, n, ops, &err) != GD_OK)
    return lgd_error(L, 2, &err);
  lua_pushlstring(L, report, len);                    /* report */
  gd_free(report, len + 1);
  lua_createtable(L, o.nsteps, 0);                    /* report pairs */
  for (s = 0; s < o.nsteps; s++) {
    lua_createtable(L, 2, 0);                         /* ... pair */
    lua_pushinteger(L, o.pairs[s][0] + 1);
    lua_rawseti(L, -2, 1);
    if (o.pairs[s][1] >= 0) {
      lua_pushinteger(L, o.pairs[s][1] + 1);
      lua_rawseti(L, -2, 2);
    }
    lua_rawseti(L, -2, s + 1);                        /* report pairs */
  }
  lua_insert(L, -2);                                  /* pairs report */
  lua_pushnumber(L, o.flops);                         /* pairs report n */
  return 3;
}


/* gd.einsum_cache_stats() -> hits, misses. */
static int l_cache_stats(lua_State *L) {
  size_t hits, misses;
  gd_einsum_cache_stats(&hits, &misses);
  lua_pushinteger(L, (lua_Integer)hits);
  lua_pushinteger(L, (lua_Integer)misses);
  return 2;
}


/* gd.einsum_cache_clear() drops every cached plan. */
static int l_cache_clear(lua_State *L) {
  (void)L;
  gd_einsum_cache_clear();
  return 0;
}


static const luaL_Reg functions[] = {
  {"einsum", l_einsum},
  {"einsum_into", l_einsum_into},
  {"einsum_path", l_einsum_path},
  {"einsum_cache_stats", l_cache_stats},
  {"einsum_cache_clear", l_cache_clear},
  {NULL, NULL}
};


void lgd_open_einsum(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);                              /* module */
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
}
