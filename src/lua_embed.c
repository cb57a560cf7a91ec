/*
** lua_embed.c: the entry points of lua_embed.h, through which a host
** program opens gdnn in its own Lua state and trades arrays with it.
**
** Limits: a wrapped array is float64 and row-major; the host must keep
** it alive until its release function runs.
*/
#include "lua_embed.h"

#include <lauxlib.h>

#include "lua_gdnn.h"


void gd_lua_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_gdnn);
  lua_setfield(L, -2, "gdnn");
  lua_pop(L, 1);                              /* the preload table */
}


/*
** Preload, then require through the global require when there is one
** (so the module lands in package.loaded like any other), otherwise
** open it directly as luaL_requiref does.
*/
int gd_lua_open(lua_State *L) {
  gd_lua_preload(L);
  if (lua_getglobal(L, "require") == LUA_TFUNCTION) {
    lua_pushliteral(L, "gdnn");
    lua_call(L, 1, 1);                        /* the module */
    return 1;
  }
  lua_pop(L, 1);                              /* not a function */
  luaL_requiref(L, "gdnn", luaopen_gdnn, 0);
  return 1;
}


gd_status gd_lua_push_array(lua_State *L, double *data, int ndim,
                            const size_t *shape,
                            void (*release)(void *ud), void *ud,
                            gd_error *err) {
  gd_tensor *t = NULL;
  gd_status s;
  if (data == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "push_array: data is NULL");
  s = gd_tensor_wrap(&t, data, ndim, shape, NULL, release, ud, err);
  if (s != GD_OK)
    return s;
  lgd_pushtensor(L, t);                       /* the tensor */
  return GD_OK;
}


gd_status gd_lua_push_copy(lua_State *L, const double *data, int ndim,
                           const size_t *shape, gd_error *err) {
  gd_tensor *t = NULL;
  gd_status s;
  if (data == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "push_copy: data is NULL");
  s = gd_tensor_from_data(&t, ndim, shape, data, err);
  if (s != GD_OK)
    return s;
  lgd_pushtensor(L, t);                       /* the tensor */
  return GD_OK;
}


void gd_lua_push_tensor(lua_State *L, gd_tensor *t) {
  lgd_pushtensor(L, t);
}


gd_tensor *gd_lua_totensor(lua_State *L, int idx) {
  return lgd_totensor(L, idx);
}


/*
** Copy the tensor at idx into buf. A value that is not a tensor is
** GD_ERR_ARG and an element count other than n is GD_ERR_SHAPE; buf is
** untouched then.
*/
gd_status gd_lua_read(lua_State *L, int idx, double *buf, size_t n,
                      gd_error *err) {
  gd_tensor *t = lgd_totensor(L, idx);
  char sh[GD_SHAPESTR_SIZE];
  if (t == NULL)
    return gd_error_set(err, GD_ERR_ARG, 1,
                        "read: expected a tensor, got %s",
                        luaL_typename(L, idx));
  if (gd_tensor_numel(t) != n)
    return gd_error_set(err, GD_ERR_SHAPE, 1,
                        "read: tensor of shape %s has %zu elements, "
                        "buffer holds %zu",
                        gd_tensor_shape_str(t, sh, sizeof sh),
                        gd_tensor_numel(t), n);
  if (n > 0 && buf == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "read: buffer is NULL");
  gd_tensor_to_buffer(t, buf);
  return GD_OK;
}
