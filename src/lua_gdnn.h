/*
** lua_gdnn.h: what the binding files share. The binding only translates
** between Lua values and core calls; it keeps no numerical code.
**
** Every tensor-like userdata (Tensor, and the kinds that are also tensors,
** such as GradientDescent and TensorJacobian) starts with an lgd_tensor,
** so lgd_checktensor accepts all of them.
*/
#ifndef LUA_GDNN_H
#define LUA_GDNN_H

#include <lua.h>
#include <lauxlib.h>

#include "core.h"
#include "rng.h"
#include "tensor.h"
#include "descent.h"

#define LGD_TENSOR "gdnn.Tensor"

typedef struct lgd_tensor {
  gd_tensor *t;          /* NULL once released by __gc or __close */
} lgd_tensor;

/* The tensor at arg (any tensor-like userdata), or a Lua error
** "bad argument #arg to 'fname' (tensor expected, got X)"; a tensor
** already released by __close is an error too. */
gd_tensor *lgd_checktensor(lua_State *L, int arg);
/* The same, but NULL when arg is not tensor-like. */
gd_tensor *lgd_totensor(lua_State *L, int arg);
/* A tensor made from a tensor, number or nested table at arg, pushed
** on the stack so the GC owns it: the tensor userdata itself, or a new
** tensor (a 0-d one for a number). The push fills the slot after the
** last argument, so lua_settop to the full argument count first when
** optional arguments may follow. */
gd_tensor *lgd_checktensorlike(lua_State *L, int arg);
/* Push t as a new gdnn.Tensor, taking ownership (t is freed if the
** userdata cannot be made). */
void lgd_pushtensor(lua_State *L, gd_tensor *t);
/* Make a userdata of size sz (at least sizeof(lgd_tensor)) holding t,
** with metatable tname and nuv user values; takes ownership of t. */
void *lgd_newtensorlike(lua_State *L, gd_tensor *t, size_t sz,
                        const char *tname, int nuv);
/* Register metatable tname as a kind of tensor: it gets every Tensor
** metamethod, and its __index looks in methods first and then in the
** Tensor methods. Entries of methods named "__..." go to the metatable
** itself, replacing the Tensor ones. Call it after lgd_open_tensor.
** Leaves the metatable on the stack. */
void lgd_newtensorclass(lua_State *L, const char *tname,
                        const luaL_Reg *methods);
/* Raise a Lua error from a core error. A blamed operand k becomes
** argument argbase + k - 1 ("bad argument #n to 'f' (msg)"); otherwise
** the message is "f: msg" with f the running function's name. */
int lgd_error(lua_State *L, int argbase, const gd_error *err);
/* Read a shape from arguments first.. (numbers) or from one table at
** first; returns ndim. */
int lgd_checkshape(lua_State *L, int first, size_t *shape);
/* The generator behind gd.seed, gd.rand, gd.randn and the optimiser. */
gd_rng *lgd_rng(lua_State *L);
/* A Lua error "bad argument #arg to 'f' (msg)", with f the running
** function's name and arg counted as luaL_argerror counts it (self is
** not counted in a method call). msg is never used as a format. */
int lgd_argerror(lua_State *L, int arg, const char *msg);
/* Check that every key of the options table at arg is one of names (a
** NULL-terminated list), else raise "bad argument #arg (unknown option
** 'k'; valid options are a, b, ...)". */
void lgd_checkoptions(lua_State *L, int arg, const char *const *names);
/* Release the tensor of u once (later calls do nothing): what __gc and
** __close do; a tensor class with more to release calls it from its
** own __gc. */
void lgd_release(lgd_tensor *u);
/* The 1-based dimension of t at arg (negative counts from the end) as
** a 0-based one, or a Lua error naming t's shape. */
int lgd_checkdim(lua_State *L, int arg, const gd_tensor *t);

/* The module: a table of every binding's functions. */
int luaopen_gdnn(lua_State *L);

/* Each binding file adds its functions to the module table at idx. */
void lgd_open_tensor(lua_State *L, int idx);
void lgd_open_einsum(lua_State *L, int idx);
void lgd_open_descent(lua_State *L, int idx);
void lgd_open_jacobian(lua_State *L, int idx);
void lgd_open_network(lua_State *L, int idx);
void lgd_open_io(lua_State *L, int idx);

/* Push d as a gdnn.GradientDescent, taking ownership. */
void lgd_pushdescent(lua_State *L, gd_descent *d);
/* The GradientDescent at arg, or NULL when it is not one. */
gd_descent *lgd_todescent(lua_State *L, int arg);

#endif
