/*
** lua_io.c: gd.save and gd.load for tensors, GradientDescent objects
** and networks, gd.save_npy and gd.load_npy for NumPy's .npy files,
** gd._interrupt, which raises the core's stop flag as Ctrl-C would, and
** gd._interrupt_pending, which reads (and may take back) that flag.
**
** Failures of the outside world (a missing, truncated or corrupted
** file, a full disk) return nil and a message; a wrong argument is a
** Lua error.
**
** Limits: a path ending in ".npy" is saved and loaded as .npy; networks
** go through net:save and the gd.load that lua_network.c registers, so
** lgd_open_io must run after lgd_open_network.
*/
#include <string.h>

#include "descent.h"
#include "fileio.h"
#include "interrupt.h"
#include "lua_gdnn.h"

#define LGD_NETWORK "gdnn.Network"


/* 1 when path names a .npy file by its extension. */
static int is_npy(const char *path) {
  size_t n = strlen(path);
  return n >= 4 && strcmp(path + n - 4, ".npy") == 0;
}


/* Push true, or nil and the message of a failed save or load. */
static int result(lua_State *L, gd_status st, const gd_error *err) {
  if (st == GD_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  luaL_pushfail(L);
  lua_pushstring(L, err->msg);
  return 2;
}


/* Save the tensor-like value at 2 to path, as .npy when npy is set. */
static int save_tensor(lua_State *L, const char *path, int npy) {
  gd_tensor *t;
  gd_error err;
  gd_status st;
  int tp = lua_type(L, 2);
  if (lgd_totensor(L, 2) == NULL && tp != LUA_TTABLE && tp != LUA_TNUMBER)
    return luaL_typeerror(L, 2, npy ? "tensor"
                          : "tensor, GradientDescent or Network");
  lua_settop(L, 2);
  t = lgd_checktensorlike(L, 2);                      /* path v t */
  st = npy ? gd_tensor_save_npy(t, path, &err)
           : gd_tensor_save(t, path, &err);
  return result(L, st, &err);
}


/*
** gd.save(path, value): write a tensor, a GradientDescent (with its
** history, generator and minima) or a network to path atomically.
** Returns true, or nil and a message.
*/
static int l_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gd_descent *d;
  gd_error err;
  luaL_checkany(L, 2);
  if ((d = lgd_todescent(L, 2)) != NULL && !is_npy(path))
    return result(L, gd_descent_save(d, path, &err), &err);
  if (luaL_testudata(L, 2, LGD_NETWORK) != NULL) {
    lua_settop(L, 2);
    lua_getfield(L, 2, "save");                       /* path net save */
    lua_insert(L, 1);                                 /* save path net */
    lua_insert(L, 2);                                 /* save net path */
    lua_call(L, 2, LUA_MULTRET);
    return lua_gettop(L);
  }
  return save_tensor(L, path, is_npy(path));
}


/* gd.save_npy(path, t): write t as a .npy file of float64. */
static int l_save_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  return save_tensor(L, path, 1);
}


/* Push the tensor of a load, or nil and the message. */
static int push_loaded(lua_State *L, gd_status st, gd_tensor *t,
                       const gd_error *err) {
  if (st != GD_OK) return result(L, st, err);
  lgd_pushtensor(L, t);
  return 1;
}


/* gd.load_npy(path): a tensor, or nil and a message. */
static int l_load_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gd_tensor *t = NULL;
  gd_error err;
  gd_status st = gd_tensor_load_npy(&t, path, &err);
  return push_loaded(L, st, t, &err);
}


/* Load a network through the loader of lua_network.c (upvalue 1). */
static int load_network(lua_State *L) {
  if (lua_type(L, lua_upvalueindex(1)) != LUA_TFUNCTION) {
    luaL_pushfail(L);
    lua_pushfstring(L, "load: '%s': networks are not available",
                    lua_tostring(L, 1));
    return 2;
  }
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L);
}


/*
** gd.load(path): what gd.save wrote (a tensor, a GradientDescent or a
** network) or a .npy file, told apart by their first bytes. Returns
** the value, or nil and a message saying what is wrong with the file.
*/
static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gd_file_kind kind = GD_FILE_UNKNOWN;
  gd_tensor *t = NULL;
  gd_descent *d = NULL;
  gd_error err;
  gd_status st = gd_file_kind_of(path, &kind, &err);
  if (st != GD_OK) return result(L, st, &err);
  switch (kind) {
    case GD_FILE_TENSOR:
      st = gd_tensor_load(&t, path, &err);
      return push_loaded(L, st, t, &err);
    case GD_FILE_NPY:
      st = gd_tensor_load_npy(&t, path, &err);
      return push_loaded(L, st, t, &err);
    case GD_FILE_DESCENT:
      if ((st = gd_descent_load(&d, path, &err)) != GD_OK)
        return result(L, st, &err);
      lgd_pushdescent(L, d);
      return 1;
    case GD_FILE_NETWORK:
      return load_network(L);
    case GD_FILE_CHECKPOINT:
      luaL_pushfail(L);
      lua_pushfstring(L, "load: '%s': a training checkpoint (resume it "
                      "with net:train{resume = path})", path);
      return 2;
    case GD_FILE_TRUNCATED:
      luaL_pushfail(L);
      lua_pushfstring(L, "load: '%s': truncated", path);
      return 2;
    default:
      luaL_pushfail(L);
      lua_pushfstring(L, "load: '%s': not a gdnn or .npy file (wrong "
                      "magic)", path);
      return 2;
  }
}


/* gd._interrupt(): ask the running search to stop at the end of its
** current iteration, as Ctrl-C does; for specs and callbacks. */
static int l_interrupt(lua_State *L) {
  (void)L;
  gd_interrupt_request();
  return 0;
}


/* gd._interrupt_pending(clear): whether a stop has been asked for and
** not yet honoured; with clear true a pending request is also taken
** back. gdnn.distributed agrees on stops across ranks with it. */
static int l_interrupt_pending(lua_State *L) {
  int on = gd_interrupt_pending();
  if (on && lua_toboolean(L, 1)) gd_interrupt_clear();
  lua_pushboolean(L, on);
  return 1;
}


void lgd_open_io(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, l_save);
  lua_setfield(L, idx, "save");
  lua_pushcfunction(L, l_save_npy);
  lua_setfield(L, idx, "save_npy");
  lua_pushcfunction(L, l_load_npy);
  lua_setfield(L, idx, "load_npy");
  lua_getfield(L, idx, "load");                 /* the network loader */
  lua_pushcclosure(L, l_load, 1);
  lua_setfield(L, idx, "load");
  lua_pushcfunction(L, l_interrupt);
  lua_setfield(L, idx, "_interrupt");
  lua_pushcfunction(L, l_interrupt_pending);
  lua_setfield(L, idx, "_interrupt_pending");
}
