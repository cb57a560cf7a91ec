/*
** lua_embed.h: embedding gdnn in a host program's Lua 5.4 state. The
** host opens gdnn into its lua_State, hands its own arrays to scripts
** as tensors (without copying when it owns the memory) and reads the
** results back into arrays of its own.
**
** Link with libgdnn-lua (pkg-config gdnn-lua), which holds the Lua
** binding and uses libgdnn and liblua5.4.
**
** Limits: the functions that push values may raise a Lua error when
** Lua runs out of memory, as every lua_push function may; call them
** under lua_pcall when that must not reach the panic function.
*/
#ifndef GD_LUA_EMBED_H
#define GD_LUA_EMBED_H

#include <stddef.h>

#include <lua.h>

#include "core.h"
#include "tensor.h"

/* Put gdnn in package.preload of L, so that require "gdnn" opens the
** copy linked into the host; L must have the package library open. */
void gd_lua_preload(lua_State *L);

/* Preload gdnn and require it, leaving the module table on the stack;
** a lua_CFunction (returns 1), so a host may run it under lua_pcall. */
int gd_lua_open(lua_State *L);

/* Push a tensor of the given shape over data, row-major, without
** copying. The host keeps data alive until release(ud) runs (release
** may be NULL when data outlives L). On error nothing is pushed. */
gd_status gd_lua_push_array(lua_State *L, double *data, int ndim,
                            const size_t *shape,
                            void (*release)(void *ud), void *ud,
                            gd_error *err);

/* Push a new tensor holding a copy of data, row-major. */
gd_status gd_lua_push_copy(lua_State *L, const double *data, int ndim,
                           const size_t *shape, gd_error *err);

/* Push t as a gdnn.Tensor; L takes ownership of t (freed with the
** userdata, or at once if the userdata cannot be made). */
void gd_lua_push_tensor(lua_State *L, gd_tensor *t);

/* The tensor of the value at idx (any tensor-like userdata), or NULL
** when it is not one. The pointer is borrowed: it stays valid while
** the value is reachable from Lua. */
gd_tensor *gd_lua_totensor(lua_State *L, int idx);

/* Copy the elements of the tensor at idx, row-major, into buf, which
** holds n doubles; n must equal the element count. */
gd_status gd_lua_read(lua_State *L, int idx, double *buf, size_t n,
                      gd_error *err);

#endif
