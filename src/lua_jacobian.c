/*
** lua_jacobian.c: gdnn.TensorJacobian, gd.ActivationFunctions and
** gd.loss.
**
** A TensorJacobian is a tensor (its values, of shape numerator ++
** denominator, so every Tensor method applies) that also carries its two
** shapes and its structure, readable as J.numerator, J.denominator,
** J.kind, J.terms and J.stored. J1 * J2 composes (structure and all), a
** number scales and a plain tensor on the right is a direction.
**
** Limits: the tensor part is the dense form, made when the Jacobian
** reaches Lua, for Jacobians of at most 2^24 dense elements; a larger
** one carries its first term's factor there instead, and J:dense()
** materialises it on request.
*/
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "jacobian.h"
#include "loss.h"
#include "lua_gdnn.h"

#define LGD_JACOBIAN "gdnn.TensorJacobian"
#define ACTS_KEY "gdnn.ActivationFunctions"

/* Shared with lua_network.c. */
void lgd_open_jacobian(lua_State *L, int idx);
void lgd_pushjacobian(lua_State *L, gd_jacobian *j);
gd_jacobian *lgd_tojacobian(lua_State *L, int arg);

typedef struct lgd_jacobian {
  lgd_tensor base;          /* the dense values, for Tensor methods */
  gd_jacobian *j;
} lgd_jacobian;


gd_jacobian *lgd_tojacobian(lua_State *L, int arg) {
  lgd_jacobian *u = (lgd_jacobian *)luaL_testudata(L, arg, LGD_JACOBIAN);
  return u && u->base.t ? u->j : NULL;
}


static gd_jacobian *checkjacobian(lua_State *L, int arg) {
  gd_jacobian *j = lgd_tojacobian(L, arg);
  if (j == NULL) luaL_typeerror(L, arg, "TensorJacobian");
  return j;
}


#define DENSE_MAX ((size_t)1 << 24)

/* Push j as a TensorJacobian, taking ownership of it. */
void lgd_pushjacobian(lua_State *L, gd_jacobian *j) {
  gd_error err;
  gd_tensor *t;
  lgd_jacobian *u;
  int ok = 1;
  size_t n = gd_jacobian_dense_size(j, &ok);
  gd_status st = ok && n <= DENSE_MAX ? gd_jacobian_dense(&t, j, &err)
                 : gd_tensor_view(&t, j->term[0].f, &err);
  if (st) {
    gd_jacobian_free(j);
    lgd_error(L, 0, &err);
  }
  u = (lgd_jacobian *)lgd_newtensorlike(L, t, sizeof *u, LGD_JACOBIAN, 0);
  u->j = j;
}


/* __gc and __close: release the values and the Jacobian once. */
static int j_release(lua_State *L) {
  lgd_jacobian *u = (lgd_jacobian *)lua_touserdata(L, 1);
  lgd_release(&u->base);
  gd_jacobian_free(u->j);
  u->j = NULL;
  return 0;
}


/* A shape from the list at arg ({} is a scalar) into shape. */
static int checkshape(lua_State *L, int arg, size_t *shape) {
  lua_Integer n, i;
  luaL_checktype(L, arg, LUA_TTABLE);
  n = (lua_Integer)lua_rawlen(L, arg);
  if (n > GD_MAX_DIMS)
    return luaL_argerror(L, arg, "shape has more than 16 dimensions");
  for (i = 0; i < n; i++) {
    int isint;
    lua_Integer v;
    lua_rawgeti(L, arg, i + 1);
    v = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (!isint || v < 0)
      return luaL_argerror(L, arg, "shape sizes must be integers >= 0");
    shape[i] = (size_t)v;
  }
  return (int)n;
}


static void pushshape(lua_State *L, int n, const size_t *shape) {
  int i;
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}


/* gd.TensorJacobian(t, numerator_shape, denominator_shape [, spec]):
** dense, or structured with t as the factor and spec as in
** "js->isij" (t's labels, then one per dense dimension). */
static int j_new(lua_State *L) {
  size_t num[GD_MAX_DIMS], den[GD_MAX_DIMS];
  const char *spec = luaL_optstring(L, 4, NULL);
  gd_tensor *t;
  int nn, nd;
  gd_jacobian *j;
  gd_error err;
  lua_settop(L, 4);
  t = lgd_checktensorlike(L, 1);
  nn = checkshape(L, 2, num);
  nd = checkshape(L, 3, den);
  if (spec ? gd_jacobian_structured(&j, t, spec, nn, num, nd, den, &err)
           : gd_jacobian_new(&j, t, nn, num, nd, den, &err))
    return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, j);
  return 1;
}


/* J1 * J2 composes; a number scales; a plain tensor on the right is a
** direction and gives a plain tensor. */
static int j_mul(lua_State *L) {
  gd_jacobian *a = lgd_tojacobian(L, 1), *b = lgd_tojacobian(L, 2), *r;
  gd_tensor *t;
  gd_error err;
  if (a && b) {
    if (gd_jacobian_compose(&r, a, b, &err)) return lgd_error(L, 1, &err);
  } else if (a && lua_type(L, 2) == LUA_TNUMBER) {
    if (gd_jacobian_scale(&r, a, lua_tonumber(L, 2), &err))
      return lgd_error(L, 1, &err);
  } else if (b && lua_type(L, 1) == LUA_TNUMBER) {
    if (gd_jacobian_scale(&r, b, lua_tonumber(L, 1), &err))
      return lgd_error(L, 1, &err);
  } else if (a) {
    t = lgd_checktensorlike(L, 2);
    if (gd_jacobian_apply(&t, a, t, &err)) return lgd_error(L, 1, &err);
    lgd_pushtensor(L, t);
    return 1;
  } else {
    return luaL_typeerror(L, 1, "TensorJacobian");
  }
  lgd_pushjacobian(L, r);
  return 1;
}


/* J:dense(): the dense form as a plain tensor (a view when J is a
** dense Jacobian). */
static int j_dense(lua_State *L) {
  gd_jacobian *j = checkjacobian(L, 1);
  gd_tensor *t;
  gd_error err;
  if (gd_jacobian_dense(&t, j, &err)) return lgd_error(L, 1, &err);
  lgd_pushtensor(L, t);
  return 1;
}


/* J:transpose(): dY/dX from dX/dY, the structure kept. */
static int j_transpose(lua_State *L) {
  gd_jacobian *j = checkjacobian(L, 1), *r;
  gd_error err;
  if (gd_jacobian_transpose(&r, j, &err)) return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, r);
  return 1;
}


/* gd.chain(J1, ..., Jn): the product as one contraction. */
static int j_chain(lua_State *L) {
  const gd_jacobian *js[GD_JAC_MAX_CHAIN];
  int n = lua_gettop(L), k;
  gd_jacobian *r;
  gd_error err;
  if (n < 1 || n > GD_JAC_MAX_CHAIN) {
    lua_pushfstring(L, "takes 1 to %d TensorJacobians, got %d",
                    GD_JAC_MAX_CHAIN, n);
    return lgd_argerror(L, n < 1 ? 1 : GD_JAC_MAX_CHAIN + 1,
                        lua_tostring(L, -1));
  }
  for (k = 0; k < n; k++) js[k] = checkjacobian(L, k + 1);
  if (gd_jacobian_chain(&r, n, js, &err)) return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, r);
  return 1;
}


/* J:regroup(n): the same values with n numerator dimensions. */
static int j_regroup(lua_State *L) {
  gd_jacobian *j = checkjacobian(L, 1), *r;
  lua_Integer n = luaL_checkinteger(L, 2);
  gd_error err;
  if (n < 0 || n > gd_jacobian_ndim(j))
    return luaL_argerror(L, 2, "numerator dimensions out of range");
  if (gd_jacobian_regroup(&r, j, (int)n, &err))
    return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, r);
  return 1;
}


/* __tostring: the kind and shapes, then the values as for tensors. */
static int j_tostring(lua_State *L) {
  gd_jacobian *j = checkjacobian(L, 1);
  char head[GD_SHAPESTR_SIZE * 2 + 64];
  gd_tensor *t;
  gd_error err;
  gd_jacobian_describe(j, head, sizeof head);
  if (gd_tensor_view(&t, lgd_checktensor(L, 1), &err))
    return lgd_error(L, 1, &err);
  lua_pushstring(L, head);
  lua_pushliteral(L, "\n");
  lgd_pushtensor(L, t);
  luaL_tolstring(L, -1, NULL);                        /* h nl t s */
  lua_remove(L, -2);
  lua_concat(L, 3);
  return 1;
}


/* J.numerator, J.denominator and J.kind, else the class's __index. */
static int j_index(lua_State *L) {
  const char *k = lua_tostring(L, 2);
  gd_jacobian *j = lgd_tojacobian(L, 1);
  if (j && k && lua_type(L, 2) == LUA_TSTRING) {
    if (strcmp(k, "numerator") == 0) {
      pushshape(L, j->nnum, j->num);
      return 1;
    }
    if (strcmp(k, "denominator") == 0) {
      pushshape(L, j->nden, j->den);
      return 1;
    }
    if (strcmp(k, "kind") == 0) {
      lua_pushstring(L, gd_jacobian_kind_name(gd_jacobian_kind_of(j)));
      return 1;
    }
    if (strcmp(k, "terms") == 0) {
      lua_pushinteger(L, j->nterms);
      return 1;
    }
    if (strcmp(k, "stored") == 0) {
      lua_pushinteger(L, (lua_Integer)gd_jacobian_stored(j));
      return 1;
    }
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}


/* ---- gd.loss --------------------------------------------------------- */

static int l_mse(lua_State *L) {
  gd_tensor *y = lgd_checktensorlike(L, 1);
  gd_tensor *yhat = lgd_checktensorlike(L, 2);
  double e;
  gd_error err;
  if (gd_loss_mse(&e, y, yhat, &err)) return lgd_error(L, 1, &err);
  lua_pushnumber(L, e);
  return 1;
}


static int l_mse_jacobian(lua_State *L) {
  gd_tensor *y = lgd_checktensorlike(L, 1);
  gd_tensor *yhat = lgd_checktensorlike(L, 2);
  gd_jacobian *j;
  gd_error err;
  if (gd_loss_mse_jacobian(&j, y, yhat, &err)) return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, j);
  return 1;
}


static int l_mse_hessian(lua_State *L) {
  gd_tensor *y = lgd_checktensorlike(L, 1);
  gd_tensor *yhat = lgd_checktensorlike(L, 2);
  gd_jacobian *j;
  gd_error err;
  if (gd_loss_mse_hessian(&j, y, yhat, &err)) return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, j);
  return 1;
}


/* ---- gd.ActivationFunctions ----------------------------------------- */

static const gd_activation *upact(lua_State *L) {
  return (const gd_activation *)lua_touserdata(L, lua_upvalueindex(1));
}


/* entry.f(Z): a new tensor. */
static int a_f(lua_State *L) {
  gd_tensor *z = lgd_checktensorlike(L, 1), *a;
  gd_error err;
  if (gd_activation_apply(&a, upact(L), z, &err))
    return lgd_error(L, 1, &err);
  lgd_pushtensor(L, a);
  return 1;
}


/* entry.df(Z) and entry.d2f(Z) (upvalue 2 tells which). */
static int a_jac(lua_State *L) {
  const gd_activation *act = upact(L);
  gd_activation_jac_fn fn = lua_toboolean(L, lua_upvalueindex(2))
                            ? act->d2f : act->df;
  gd_tensor *z = lgd_checktensorlike(L, 1), *a;
  gd_jacobian *j;
  gd_error err;
  gd_status st;
  if (gd_activation_apply(&a, act, z, &err)) return lgd_error(L, 1, &err);
  st = fn(act, &j, z, a, &err);
  gd_tensor_free(a);
  if (st) return lgd_error(L, 1, &err);
  lgd_pushjacobian(L, j);
  return 1;
}


/* Push the entry table of a built-in: name, f, df, d2f and the C
** activation behind them. */
static void pushbuiltin(lua_State *L, const gd_activation *act) {
  lua_createtable(L, 0, 5);
  lua_pushstring(L, act->name);
  lua_setfield(L, -2, "name");
  lua_pushlightuserdata(L, (void *)(uintptr_t)act);
  lua_pushcclosure(L, a_f, 1);
  lua_setfield(L, -2, "f");
  lua_pushlightuserdata(L, (void *)(uintptr_t)act);
  lua_pushboolean(L, 0);
  lua_pushcclosure(L, a_jac, 2);
  lua_setfield(L, -2, "df");
  lua_pushlightuserdata(L, (void *)(uintptr_t)act);
  lua_pushboolean(L, 1);
  lua_pushcclosure(L, a_jac, 2);
  lua_setfield(L, -2, "d2f");
  lua_pushlightuserdata(L, (void *)(uintptr_t)act);
  lua_setfield(L, -2, "builtin");
}


static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}


/* The known names of the registry at idx, sorted, as one string (the
** first 64 of them). */
static void pushknown(lua_State *L, int idx) {
  const char *names[64];
  luaL_Buffer b;
  int n = 0, i;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && n < 64 &&
        strcmp(lua_tostring(L, -1), "register") != 0)
      names[n++] = lua_tostring(L, -1);   /* kept alive by the table */
  }
  qsort(names, (size_t)n, sizeof *names, cmpstr);
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    if (i > 0) luaL_addstring(&b, ", ");
    luaL_addstring(&b, names[i]);
  }
  luaL_pushresult(&b);
}


/* ActivationFunctions.unknown raises an error listing the known names. */
static int acts_index(lua_State *L) {
  const char *k = luaL_tolstring(L, 2, NULL);
  pushknown(L, 1);
  return luaL_error(L, "unknown activation '%s' (known: %s)", k,
                    lua_tostring(L, -1));
}


/* ActivationFunctions.register(name, f, df, d2f): df is required, d2f
** may be nil (then Hessians through it are refused). */
static int acts_register(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (lua_type(L, 3) != LUA_TFUNCTION)
    return luaL_argerror(L, 3, "a derivative function is required");
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TFUNCTION);
  if (len == 0 || len >= GD_ACTIVATION_NAME_MAX ||
      strcmp(name, "register") == 0)
    return luaL_argerror(L, 1, "name must be 1 to 31 characters, not "
                         "'register'");
  if (gd_activation_builtin(name))
    return luaL_argerror(L, 1, "a built-in activation cannot be replaced");
  lua_getfield(L, LUA_REGISTRYINDEX, ACTS_KEY);       /* reg */
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "f");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "df");
  lua_pushvalue(L, 4);
  lua_setfield(L, -2, "d2f");
  lua_pushvalue(L, 1);
  lua_insert(L, -2);
  lua_rawset(L, -3);                                  /* reg[name] = e */
  return 0;
}


static void open_activations(lua_State *L, int idx) {
  const gd_activation *const *b = gd_activation_builtins();
  lua_newtable(L);                                    /* reg */
  for (; *b != NULL; b++) {
    pushbuiltin(L, *b);
    lua_setfield(L, -2, (*b)->name);
  }
  lua_pushcfunction(L, acts_register);
  lua_setfield(L, -2, "register");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, acts_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, ACTS_KEY);
  lua_setfield(L, idx, "ActivationFunctions");
}


static const luaL_Reg jmethods[] = {
  {"dense", j_dense}, {"regroup", j_regroup},
  {"transpose", j_transpose},
  {"__mul", j_mul}, {"__tostring", j_tostring},
  {"__gc", j_release}, {"__close", j_release},
  {NULL, NULL}
};

static const luaL_Reg lossfuncs[] = {
  {"mse", l_mse}, {"mse_jacobian", l_mse_jacobian},
  {"mse_hessian", l_mse_hessian},
  {NULL, NULL}
};


void lgd_open_jacobian(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lgd_newtensorclass(L, LGD_JACOBIAN, jmethods);      /* mt */
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, j_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, j_new);
  lua_setfield(L, idx, "TensorJacobian");
  lua_pushcfunction(L, j_chain);
  lua_setfield(L, idx, "chain");
  luaL_newlib(L, lossfuncs);
  lua_setfield(L, idx, "loss");
  open_activations(L, idx);
}
