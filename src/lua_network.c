/*
** lua_network.c: gd.Network, its methods and gd.load.
**
** A network userdata holds the core network and, for activations
** registered from Lua, the bridges through which the core calls their
** functions. Its user value is a table with the live weights and biases
** (views that see every update), layer_node_nums and activations.
**
** Limits: activation functions written in Lua run in the Lua thread
** that called the network method; an error in one stops the method with
** that error.
*/
#include <math.h>
#include <string.h>

#include "activation.h"
#include "fileio.h"
#include "jacobian.h"
#include "lua_gdnn.h"
#include "network.h"

#define LGD_NETWORK "gdnn.Network"
#define ACTS_KEY "gdnn.ActivationFunctions"

/* Shared with lua_jacobian.c. */
void lgd_open_network(lua_State *L, int idx);
void lgd_pushjacobian(lua_State *L, gd_jacobian *j);
gd_jacobian *lgd_tojacobian(lua_State *L, int arg);

/* A Lua-defined activation as the core sees it: its entry table in the
** registry and the thread to call it from. */
typedef struct bridge {
  lua_State *L;
  int ref;                 /* LUA_NOREF for a built-in */
} bridge;

typedef struct lgd_network {
  gd_network *net;
  bridge *br;              /* one per layer */
  int depth;
} lgd_network;


static lgd_network *checknet(lua_State *L, int arg) {
  lgd_network *u = (lgd_network *)luaL_checkudata(L, arg, LGD_NETWORK);
  if (u->net == NULL) luaL_argerror(L, arg, "network has been closed");
  return u;
}


/* Point every bridge at the running thread before a core call. */
static gd_network *enter(lua_State *L, lgd_network *u) {
  int l;
  for (l = 0; l < u->depth; l++) u->br[l].L = L;
  return u->net;
}


static int net_gc(lua_State *L) {
  lgd_network *u = (lgd_network *)lua_touserdata(L, 1);
  int l;
  if (u->br) {
    for (l = 0; l < u->depth; l++)
      luaL_unref(L, LUA_REGISTRYINDEX, u->br[l].ref);
    gd_free(u->br, (size_t)u->depth * sizeof *u->br);
    u->br = NULL;
  }
  gd_network_free(u->net);
  u->net = NULL;
  return 0;
}


/* ---- calling Lua activations from the core --------------------------- */

/* Call entry[field](z) under pcall; leaves the result on the stack.
** A Lua error becomes a core error naming the activation. */
static gd_status call_entry(const gd_activation *act, const char *field,
                            const gd_tensor *z, gd_error *err) {
  bridge *b = (bridge *)act->ud;
  lua_State *L = b->L;
  gd_tensor *v;
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);          /* e */
  lua_getfield(L, -1, field);                         /* e fn */
  lua_remove(L, -2);
  if (gd_tensor_view(&v, z, err)) {
    lua_pop(L, 1);
    return err->code;
  }
  lgd_pushtensor(L, v);                               /* fn z */
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    gd_error_set(err, GD_ERR_ARG, 0, "activation '%s' %s: %s", act->name,
                 field, luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
    return GD_ERR_ARG;
  }
  return GD_OK;
}


static gd_status bridge_f(const gd_activation *act, gd_tensor *a,
                          const gd_tensor *z, gd_error *err) {
  lua_State *L = ((bridge *)act->ud)->L;
  gd_tensor *r;
  gd_status st;
  if (call_entry(act, "f", z, err)) return err->code;
  r = lgd_totensor(L, -1);
  if (r == NULL)
    st = gd_error_set(err, GD_ERR_ARG, 0, "activation '%s' f did not "
                      "return a tensor", act->name);
  else if (!gd_tensor_same_shape(r, a))
    st = gd_error_set(err, GD_ERR_SHAPE, 0, "activation '%s' f changed "
                      "the shape", act->name);
  else
    st = gd_tensor_copy_into(a, r, err);
  lua_pop(L, 1);
  return st;
}


static gd_status bridge_jac(const gd_activation *act, const char *field,
                            gd_jacobian **out, const gd_tensor *z,
                            gd_error *err) {
  lua_State *L = ((bridge *)act->ud)->L;
  gd_jacobian *j;
  gd_status st;
  if (call_entry(act, field, z, err)) return err->code;
  j = lgd_tojacobian(L, -1);
  if (j == NULL)
    st = gd_error_set(err, GD_ERR_ARG, 0, "activation '%s' %s did not "
                      "return a TensorJacobian", act->name, field);
  else
    st = gd_jacobian_regroup(out, j, j->nnum, err);
  lua_pop(L, 1);
  return st;
}


static gd_status bridge_df(const gd_activation *act, gd_jacobian **out,
                           const gd_tensor *z, const gd_tensor *a,
                           gd_error *err) {
  (void)a;
  return bridge_jac(act, "df", out, z, err);
}


static gd_status bridge_d2f(const gd_activation *act, gd_jacobian **out,
                            const gd_tensor *z, const gd_tensor *a,
                            gd_error *err) {
  (void)a;
  return bridge_jac(act, "d2f", out, z, err);
}


/*
** The activation called name, from the registry: a built-in's C
** functions, or bridges to a Lua entry (whose registry reference goes
** to *ref). Raises the registry's "unknown activation" error.
*/
static void resolve(lua_State *L, const char *name, gd_activation *act,
                    int *ref) {
  const gd_activation *b;
  lua_getfield(L, LUA_REGISTRYINDEX, ACTS_KEY);       /* reg */
  lua_getfield(L, -1, name);                          /* reg e (or error) */
  lua_getfield(L, -1, "builtin");
  b = (const gd_activation *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (b) {
    *act = *b;
    *ref = LUA_NOREF;
    lua_pop(L, 2);
    return;
  }
  memset(act, 0, sizeof *act);
  strncpy(act->name, name, GD_ACTIVATION_NAME_MAX - 1);
  act->f = bridge_f;
  act->df = bridge_df;
  lua_getfield(L, -1, "d2f");
  act->d2f = lua_isfunction(L, -1) ? bridge_d2f : NULL;
  lua_pop(L, 1);
  *ref = luaL_ref(L, LUA_REGISTRYINDEX);              /* reg */
  lua_pop(L, 1);
}


/* ---- construction ----------------------------------------------------- */

/* Push views of the parameters and the description as the user value
** table of the network at idx. */
static void setfields(lua_State *L, int idx, lgd_network *u) {
  int l, n = u->depth;
  gd_tensor *v;
  gd_error err;
  lua_createtable(L, 0, 4);                           /* uv */
  lua_createtable(L, n, 0);
  lua_createtable(L, n, 0);                           /* uv ws bs */
  for (l = 0; l < n; l++) {
    if (gd_tensor_view(&v, gd_network_weight(u->net, l), &err))
      lgd_error(L, 0, &err);
    lgd_pushtensor(L, v);
    lua_rawseti(L, -3, l + 1);
    if (gd_tensor_view(&v, gd_network_bias(u->net, l), &err))
      lgd_error(L, 0, &err);
    lgd_pushtensor(L, v);
    lua_rawseti(L, -2, l + 1);
  }
  lua_setfield(L, -3, "biases");
  lua_setfield(L, -2, "weights");
  lua_createtable(L, n + 1, 0);
  for (l = 0; l <= n; l++) {
    lua_pushinteger(L, (lua_Integer)gd_network_nodes(u->net, l));
    lua_rawseti(L, -2, l + 1);
  }
  lua_setfield(L, -2, "layer_node_nums");
  lua_createtable(L, n, 0);
  for (l = 0; l < n; l++) {
    lua_pushstring(L, gd_network_activation(u->net, l)->name);
    lua_rawseti(L, -2, l + 1);
  }
  lua_setfield(L, -2, "activations");
  lua_setiuservalue(L, idx, 1);
}


/* A new empty network userdata with bridges for depth layers. */
static lgd_network *newnet(lua_State *L, int depth) {
  lgd_network *u = (lgd_network *)lua_newuserdatauv(L, sizeof *u, 1);
  int l;
  u->net = NULL;
  u->br = NULL;
  u->depth = 0;
  luaL_setmetatable(L, LGD_NETWORK);
  u->br = gd_malloc((size_t)depth * sizeof *u->br);
  if (u->br == NULL) luaL_error(L, "Network: out of memory");
  u->depth = depth;
  for (l = 0; l < depth; l++) {
    u->br[l].L = L;
    u->br[l].ref = LUA_NOREF;
  }
  return u;
}


/* Read the activations option (at the top) for depth layers. */
static void read_acts(lua_State *L, lgd_network *u, gd_activation *acts) {
  int l, t = lua_gettop(L);
  for (l = 0; l < u->depth; l++) {
    if (lua_type(L, t) == LUA_TSTRING) lua_pushvalue(L, t);
    else if (lua_type(L, t) == LUA_TTABLE) lua_rawgeti(L, t, l + 1);
    else if (lua_isnil(L, t)) lua_pushliteral(L, "sigmoid");
    else luaL_error(L, "Network: activations must be a name or a list");
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "Network: activations has %d names for %d layers",
                 (int)lua_rawlen(L, t), u->depth);
    resolve(L, lua_tostring(L, -1), &acts[l], &u->br[l].ref);
    if (u->br[l].ref != LUA_NOREF) acts[l].ud = &u->br[l];
    lua_pop(L, 1);
  }
}


/* gd.Network{layer_node_nums = {...}, activations = ..., seed = n} */
static int net_new(lua_State *L) {
  size_t nodes[GD_MAX_DIMS * 4];
  gd_activation acts[GD_MAX_DIMS * 4];
  const gd_activation *ap[GD_MAX_DIMS * 4];
  lua_Integer seed;
  lgd_network *u;
  gd_error err;
  int n, l;

  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getfield(L, 1, "layer_node_nums") != LUA_TTABLE)
    return luaL_argerror(L, 1, "layer_node_nums must be a list of widths");
  n = (int)lua_rawlen(L, 2);
  if (n < 2 || n > GD_MAX_DIMS * 4)
    return luaL_argerror(L, 1, "layer_node_nums needs 2 to 64 widths");
  for (l = 0; l < n; l++) {
    int isint;
    lua_Integer w = (lua_rawgeti(L, 2, l + 1), lua_tointegerx(L, -1,
                                                             &isint));
    lua_pop(L, 1);
    if (!isint || w < 1)
      return luaL_error(L, "Network: layer_node_nums[%d] is not a "
                        "positive integer", l + 1);
    nodes[l] = (size_t)w;
  }
  lua_getfield(L, 1, "seed");
  seed = luaL_optinteger(L, -1, 0);
  lua_pop(L, 1);

  u = newnet(L, n - 1);                               /* t nums u */
  lua_getfield(L, 1, "activations");
  read_acts(L, u, acts);
  lua_pop(L, 1);
  for (l = 0; l < n - 1; l++) ap[l] = &acts[l];
  if (gd_network_new(&u->net, n - 1, nodes, ap, (uint64_t)seed, &err))
    return lgd_error(L, 0, &err);
  setfields(L, 3, u);
  return 1;
}


/* ---- methods ---------------------------------------------------------- */

/* Push a new plain tensor holding a copy of t. */
static void pushclone(lua_State *L, const gd_tensor *t) {
  gd_tensor *c;
  gd_error err;
  if (gd_tensor_clone(&c, t, &err)) lgd_error(L, 0, &err);
  lgd_pushtensor(L, c);
}


/* net:forward(X): Yhat, a new tensor. */
static int net_forward(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  gd_tensor *x = lgd_checktensorlike(L, 2);
  const gd_tensor *yhat;
  gd_error err;
  if (gd_network_forward(enter(L, u), x, &yhat, &err))
    return lgd_error(L, 2, &err);
  pushclone(L, yhat);
  return 1;
}


/* net:backward(X, Y): DEDWs, DEDbs (lists of new tensors) and the loss. */
static int net_backward(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  gd_tensor *x = lgd_checktensorlike(L, 2);
  gd_tensor *y = lgd_checktensorlike(L, 3);
  double loss;
  gd_error err;
  int l;
  if (gd_network_backward(enter(L, u), x, y, &loss, &err))
    return lgd_error(L, 2, &err);
  lua_createtable(L, u->depth, 0);
  lua_createtable(L, u->depth, 0);                    /* ws bs */
  for (l = 0; l < u->depth; l++) {
    pushclone(L, gd_network_dedw(u->net, l));
    lua_rawseti(L, -3, l + 1);
    pushclone(L, gd_network_dedb(u->net, l));
    lua_rawseti(L, -2, l + 1);
  }
  lua_pushnumber(L, loss);
  return 3;
}


/* net:hessian(X, Y, l): d2E/dW_l^2 as a TensorJacobian. */
static int net_hessian(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  gd_tensor *x = lgd_checktensorlike(L, 2);
  gd_tensor *y = lgd_checktensorlike(L, 3);
  lua_Integer l = luaL_checkinteger(L, 4);
  gd_jacobian *h;
  gd_error err;
  if (l < 1 || l > u->depth)
    return luaL_argerror(L, 4, "layer out of range");
  if (gd_network_hessian(&h, enter(L, u), x, y, (int)l - 1, &err))
    return lgd_error(L, 2, &err);
  lgd_pushjacobian(L, h);
  return 1;
}


/* net:hvp(X, Y, l, V): (d2E/dW_l^2) V, a tensor of W_l's shape. */
static int net_hvp(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  gd_tensor *x, *y, *v, *r;
  lua_Integer l;
  gd_error err;
  lua_settop(L, 5);
  x = lgd_checktensorlike(L, 2);
  y = lgd_checktensorlike(L, 3);
  l = luaL_checkinteger(L, 4);
  v = lgd_checktensorlike(L, 5);
  if (l < 1 || l > u->depth)
    return luaL_argerror(L, 4, "layer out of range");
  if (gd_network_hvp(&r, enter(L, u), x, y, (int)l - 1, v, &err))
    return lgd_error(L, 2, &err);
  lgd_pushtensor(L, r);
  return 1;
}


/* net:save(path): true, or nil and a message. */
static int net_save(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  const char *path = luaL_checkstring(L, 2);
  gd_error err;
  if (gd_network_save(u->net, path, &err)) {
    luaL_pushfail(L);
    lua_pushstring(L, err.msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}


/* ---- training ---------------------------------------------------------- */

/* What the progress and reduce callbacks need: the Lua thread, the
** stack slots of the network and the hooks, their periods, and a slot
** for an error. */
typedef struct hooks {
  lua_State *L;
  int net, progress, snapshot, reduce, errslot;
  long progress_every, snapshot_every;
} hooks;


/* Call the hook at slot fn with the iteration and value v under pcall;
** a Lua error is kept in the error slot. */
static gd_status call_hook(hooks *h, int fn, long it, int v,
                           gd_error *err) {
  lua_State *L = h->L;
  lua_pushvalue(L, fn);
  lua_pushinteger(L, it);
  lua_pushvalue(L, v);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    lua_replace(L, h->errslot);
    return gd_error_set(err, GD_ERR_ARG, 0, "train: a hook failed");
  }
  return GD_OK;
}


static gd_status progress(void *ud, long it, double loss, gd_error *err) {
  hooks *h = (hooks *)ud;
  gd_status st = GD_OK;
  if (h->progress && h->progress_every > 0 && it % h->progress_every == 0) {
    lua_pushnumber(h->L, loss);
    st = call_hook(h, h->progress, it, lua_gettop(h->L), err);
    lua_pop(h->L, 1);
  }
  if (!st && h->snapshot && h->snapshot_every > 0 &&
      it % h->snapshot_every == 0)
    st = call_hook(h, h->snapshot, it, h->net, err);
  return st;
}


/* Push a new view of the core's tensor g. */
static gd_status pushview(lua_State *L, const gd_tensor *g,
                          gd_error *err) {
  gd_tensor *v;
  if (gd_tensor_view(&v, g, err)) return err->code;
  lgd_pushtensor(L, v);
  return GD_OK;
}


/* Push two new lists, DEDWs and DEDbs, of views of net's gradient
** buffers; on error nothing is left pushed. */
static gd_status pushgrads(lua_State *L, gd_network *net, gd_error *err) {
  int l, depth = gd_network_depth(net);
  lua_createtable(L, depth, 0);
  lua_createtable(L, depth, 0);                       /* ws bs */
  for (l = 0; l < depth; l++) {
    if (pushview(L, gd_network_dedw(net, l), err)) break;
    lua_rawseti(L, -3, l + 1);
    if (pushview(L, gd_network_dedb(net, l), err)) break;
    lua_rawseti(L, -2, l + 1);
  }
  if (l == depth) return GD_OK;
  lua_pop(L, 2);
  return err->code;
}


/*
** The reduce hook: reduce(DEDWs, DEDbs, loss, iteration) under pcall,
** the lists holding views of the gradients that the update then uses,
** so that changes made in place count. A number it returns replaces
** the loss; its error, or a result of another type, goes to the error
** slot and stops training.
*/
static gd_status reduce_hook(void *ud, gd_network *net, long it,
                             double *loss, gd_error *err) {
  hooks *h = (hooks *)ud;
  lua_State *L = h->L;
  lua_pushvalue(L, h->reduce);                        /* fn */
  if (pushgrads(L, net, err)) {
    lua_pop(L, 1);
    return err->code;
  }
  lua_pushnumber(L, *loss);
  lua_pushinteger(L, it);                             /* fn ws bs e it */
  if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
    lua_replace(L, h->errslot);
    return gd_error_set(err, GD_ERR_ARG, 0, "train: reduce failed");
  }
  if (lua_type(L, -1) == LUA_TNUMBER) {
    *loss = lua_tonumber(L, -1);
  } else if (!lua_isnil(L, -1)) {
    lua_pushfstring(L, "train: reduce must return a number or nothing, "
                    "got %s", luaL_typename(L, -1));
    lua_replace(L, h->errslot);
    lua_pop(L, 1);
    return gd_error_set(err, GD_ERR_ARG, 0, "train: reduce failed");
  }
  lua_pop(L, 1);
  return GD_OK;
}


/* A number option of the table at arg, or def when absent. */
static double optnum(lua_State *L, int arg, const char *name, double def) {
  double v = def;
  int t = lua_getfield(L, arg, name);
  if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "train: option %s must be a number", name);
  lua_pop(L, 1);
  return v;
}


/* A function option: its stack slot (kept on the stack), or 0. */
static int optfn(lua_State *L, int arg, const char *name) {
  int t = lua_getfield(L, arg, name);
  if (t == LUA_TFUNCTION) return lua_gettop(L);
  if (t != LUA_TNIL)
    luaL_error(L, "train: option %s must be a function", name);
  lua_pop(L, 1);
  return 0;
}


static long optcount(lua_State *L, int arg, const char *name, long def) {
  double v = optnum(L, arg, name, (double)def);
  if (v != floor(v) || v < 0 || v > 1e15)
    luaL_error(L, "train: option %s must be a whole number >= 0", name);
  return (long)v;
}


/* A path option: the string, kept on the stack while training runs so
** that a callback changing the options cannot free it; or NULL. */
static const char *optpath(lua_State *L, int arg, const char *name) {
  int t = lua_getfield(L, arg, name);
  if (t == LUA_TSTRING) return lua_tostring(L, -1);
  if (t != LUA_TNIL)
    luaL_error(L, "train: option %s must be a path", name);
  lua_pop(L, 1);
  return NULL;
}


/* The options net:train takes. */
static const char *const train_names[] = {
  "iterations", "batch_size", "seed", "method", "learning_rate",
  "momentum", "nesterov", "clip_norm", "clip_value", "noise_interval",
  "noise_scale", "noise_eta", "noise_gamma", "beta1", "beta2", "epsilon",
  "progress_every", "on_progress", "snapshot_every", "on_snapshot",
  "reduce", "checkpoint", "checkpoint_every", "resume", "distributed",
  NULL
};


/* The training options of the table at arg (see net_train). */
static void read_train(lua_State *L, int arg, gd_network_train_opts *o,
                       hooks *h) {
  gd_descent_opts *d = &o->descent;
  const char *method;
  gd_network_train_opts_default(o);
  if (lua_isnoneornil(L, arg)) return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lgd_checkoptions(L, arg, train_names);
  o->iterations = optcount(L, arg, "iterations", o->iterations);
  o->batch_size = (size_t)optcount(L, arg, "batch_size", 0);
  o->seed = (uint64_t)optcount(L, arg, "seed", 0);
  d->learning_rate = optnum(L, arg, "learning_rate", d->learning_rate);
  d->momentum = optnum(L, arg, "momentum", d->momentum);
  d->clip_norm = optnum(L, arg, "clip_norm", d->clip_norm);
  d->clip_value = optnum(L, arg, "clip_value", d->clip_value);
  d->noise_scale = optnum(L, arg, "noise_scale", d->noise_scale);
  d->noise_eta = optnum(L, arg, "noise_eta", d->noise_eta);
  d->noise_gamma = optnum(L, arg, "noise_gamma", d->noise_gamma);
  d->noise_interval = optcount(L, arg, "noise_interval", 0);
  d->beta1 = optnum(L, arg, "beta1", d->beta1);
  d->beta2 = optnum(L, arg, "beta2", d->beta2);
  d->epsilon = optnum(L, arg, "epsilon", d->epsilon);
  lua_getfield(L, arg, "nesterov");
  d->nesterov = lua_toboolean(L, -1);
  lua_getfield(L, arg, "method");
  method = lua_tostring(L, -1);
  if (method && strcmp(method, "adam") == 0) d->method = GD_DESCENT_ADAM;
  else if (method && strcmp(method, "gd") != 0)
    luaL_error(L, "train: method must be 'gd' or 'adam'");
  lua_pop(L, 2);
  h->progress_every = optcount(L, arg, "progress_every", 1);
  h->snapshot_every = optcount(L, arg, "snapshot_every", 1);
  h->progress = optfn(L, arg, "on_progress");
  h->snapshot = optfn(L, arg, "on_snapshot");
  h->reduce = optfn(L, arg, "reduce");
  o->checkpoint_every = optcount(L, arg, "checkpoint_every", 0);
  o->checkpoint = optpath(L, arg, "checkpoint");
  o->resume = optpath(L, arg, "resume");
}


/*
** net:train with option distributed: data-parallel training over the
** ranks of gdnn.mpi, done by gdnn.distributed.train, which takes the
** same arguments, runs this method on each rank's share with a reduce
** hook and returns what it returns.
*/
static int train_distributed(lua_State *L) {
  lua_settop(L, 4);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gdnn.distributed");
  lua_call(L, 1, 1);                                  /* net X Y o D */
  lua_getfield(L, -1, "train");                       /* ... D train */
  lua_insert(L, 1);                                   /* train net X Y o D */
  lua_pop(L, 1);
  lua_call(L, 4, LUA_MULTRET);                        /* losses why */
  return lua_gettop(L);
}


/* Push the first done values of the loss history t (replacing it on
** the stack) when a run stopped early. */
static void push_history(lua_State *L, gd_tensor *t, long done) {
  gd_tensor *part;
  gd_error err;
  if (done == (long)t->shape[0]) return;
  if (gd_tensor_narrow(&part, t, 0, 0, (size_t)done, &err))
    lgd_error(L, 0, &err);
  lua_pop(L, 1);
  lgd_pushtensor(L, part);
}


/*
** net:train(X, Y, options): the loss history as a 1-d tensor and the
** reason the run ended, "max_iterations" or "interrupted" (by Ctrl-C in
** gdnn-lua or gd._interrupt(): the run ends after the current
** iteration and the history holds the iterations done). Options:
** iterations, learning_rate, momentum, nesterov, method ('gd' or
** 'adam'), clip_norm, clip_value, noise_*, beta1, beta2, epsilon,
** batch_size (nil: full batch), seed, progress_every and
** on_progress(iteration, loss), snapshot_every and
** on_snapshot(iteration, net); checkpoint = path saves the whole run
** (parameters, optimiser state, shuffling, losses) atomically every
** checkpoint_every iterations and when it ends or is interrupted;
** resume = path continues from such a file as far as iterations (the
** total, the iterations done included), ending as an uninterrupted run
** would, bit for bit; reduce(DEDWs, DEDbs, loss, iteration) is called
** after each backward and before the update with lists of views of the
** gradients (what it changes in place the update uses) and the batch
** loss, which a number it returns replaces; distributed = true shares
** the samples among the ranks of gdnn.mpi (see train_distributed).
*/
static int net_train(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  gd_tensor *x = lgd_checktensorlike(L, 2);
  gd_tensor *y = lgd_checktensorlike(L, 3);
  gd_network_train_opts o;
  gd_network_train_result r;
  gd_tensor *losses;
  size_t n;
  hooks h;
  gd_error err;

  if (lua_type(L, 4) == LUA_TTABLE) {
    int on = lua_getfield(L, 4, "distributed") != LUA_TNIL
             && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (on) return train_distributed(L);
  }
  memset(&h, 0, sizeof h);
  read_train(L, 4, &o, &h);
  h.L = L;
  h.net = 1;
  lua_pushnil(L);
  h.errslot = lua_gettop(L);
  o.progress = progress;
  o.ud = &h;
  if (h.reduce) {
    o.reduce = reduce_hook;
    o.reduce_ud = &h;
  }
  luaL_checkstack(L, 8, "train");                     /* for the hooks */
  o.result = &r;
  n = (size_t)o.iterations;
  if (gd_tensor_new(&losses, 1, &n, &err)) return lgd_error(L, 0, &err);
  lgd_pushtensor(L, losses);
  if (gd_network_train(enter(L, u), x, y, &o, losses, &err)) {
    if (!lua_isnil(L, h.errslot)) {
      lua_pushvalue(L, h.errslot);
      return lua_error(L);
    }
    return lgd_error(L, 2, &err);
  }
  push_history(L, losses, r.iterations);
  lua_pushstring(L, gd_descent_reason_name(r.reason));
  return 2;
}


/* ---- fields, printing, loading ---------------------------------------- */

static int net_index(lua_State *L) {
  checknet(L, 1);
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}


static int net_tostring(lua_State *L) {
  lgd_network *u = checknet(L, 1);
  luaL_Buffer b;
  int l;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "Network ");
  for (l = 0; l <= u->depth; l++) {
    if (l) luaL_addchar(&b, '-');
    lua_pushinteger(L, (lua_Integer)gd_network_nodes(u->net, l));
    luaL_addvalue(&b);
  }
  luaL_addstring(&b, " (");
  for (l = 0; l < u->depth; l++) {
    if (l) luaL_addstring(&b, ", ");
    luaL_addstring(&b, gd_network_activation(u->net, l)->name);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}


/* The resolver of gd.load: names through the registry, in protected
** mode so that an unknown name becomes a load error. */
typedef struct loadctx {
  lua_State *L;
  gd_activation acts[GD_MAX_DIMS * 4];
  int refs[GD_MAX_DIMS * 4];
  int n;
} loadctx;


static int resolve_p(lua_State *L) {
  loadctx *c = (loadctx *)lua_touserdata(L, 1);
  resolve(L, lua_tostring(L, 2), &c->acts[c->n], &c->refs[c->n]);
  return 0;
}


static gd_status load_resolver(void *ud, const char *name,
                               const gd_activation **out, gd_error *err) {
  loadctx *c = (loadctx *)ud;
  if (c->n >= GD_MAX_DIMS * 4)
    return gd_error_set(err, GD_ERR_IO, 0, "load: more than %d layers",
                        GD_MAX_DIMS * 4);
  c->refs[c->n] = LUA_NOREF;
  lua_pushcfunction(c->L, resolve_p);
  lua_pushlightuserdata(c->L, c);
  lua_pushstring(c->L, name);
  if (lua_pcall(c->L, 2, 0, 0) != LUA_OK) {
    gd_error_set(err, GD_ERR_IO, 0, "load: %s", lua_tostring(c->L, -1));
    lua_pop(c->L, 1);
    return GD_ERR_IO;
  }
  *out = &c->acts[c->n++];
  return GD_OK;
}


/* gd.load(path): a network, or nil and a message. */
static int net_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  loadctx *c = (loadctx *)lua_newuserdatauv(L, sizeof *c, 0);
  gd_network *net;
  lgd_network *u;
  gd_error err;
  int l;

  c->L = L;
  c->n = 0;
  if (gd_network_load(&net, path, load_resolver, c, &err)) {
    for (l = 0; l < c->n; l++) luaL_unref(L, LUA_REGISTRYINDEX, c->refs[l]);
    luaL_pushfail(L);
    lua_pushstring(L, err.msg);
    return 2;
  }
  u = newnet(L, gd_network_depth(net));
  u->net = net;
  for (l = 0; l < u->depth; l++) {
    u->br[l].ref = c->refs[l];
    if (c->refs[l] != LUA_NOREF)
      gd_network_set_activation_ud(net, l, &u->br[l]);
  }
  setfields(L, lua_gettop(L), u);
  return 1;
}


static const luaL_Reg netmethods[] = {
  {"forward", net_forward}, {"backward", net_backward},
  {"hessian", net_hessian}, {"hvp", net_hvp}, {"train", net_train},
  {"save", net_save},
  {NULL, NULL}
};

static const luaL_Reg netmeta[] = {
  {"__index", net_index}, {"__tostring", net_tostring},
  {"__gc", net_gc}, {"__close", net_gc},
  {NULL, NULL}
};


void lgd_open_network(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_newmetatable(L, LGD_NETWORK);
  luaL_setfuncs(L, netmeta, 0);
  luaL_newlib(L, netmethods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
  lua_pushcfunction(L, net_new);
  lua_setfield(L, idx, "Network");
  lua_pushcfunction(L, net_load);
  lua_setfield(L, idx, "load");
}
