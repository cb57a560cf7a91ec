/*
** lua_descent.c: the Lua face of the optimiser. gd.GradientDescent(x0)
** makes a gdnn.GradientDescent, a kind of tensor whose data is the
** variable; gd.gradient_descent_step (also x:step) and
** gd.gradient_descent_from_function translate options and call the core.
**
** Limits: noise of a step comes from the module's generator (gd.seed);
** a search draws from its own generator seeded by the seed option, or by
** one number taken from the module's generator when seed is absent. The
** x passed to f, gradient and callback is a copy of the variable. A
** distributed search (gdnn.mpi) gives the same result on every rank only
** when every rank has the same seed and the same f.
*/
#include <math.h>
#include <string.h>

#include "descent.h"
#include "lua_gdnn.h"

#define LGD_DESCENT "gdnn.GradientDescent"
#define LGD_GUARD "gdnn.descent_guard"

/* The userdata: a tensor (a view of d->x) followed by the core state. */
typedef struct lgd_descent {
  lgd_tensor base;
  gd_descent *d;        /* NULL once released */
} lgd_descent;

/* Owns a core descent while a Lua object for it is being made, so that
** a memory error of Lua cannot leak it. */
typedef struct guard {
  gd_descent *d;
} guard;

/* The options a step takes, then those only a search takes. */
static const char *const step_names[] = {
  "learning_rate", "momentum", "nesterov", "maximise", "method",
  "noise_interval", "noise_scale", "noise_eta", "noise_gamma",
  "clip_norm", "clip_value", "beta1", "beta2", "epsilon", NULL
};
static const char *const run_names[] = {
  "learning_rate", "momentum", "nesterov", "maximise", "method",
  "noise_interval", "noise_scale", "noise_eta", "noise_gamma",
  "clip_norm", "clip_value", "beta1", "beta2", "epsilon",
  "x0", "lower", "upper", "restarts", "max_iterations", "tolerance",
  "seed", "callback", "callback_every", "distributed", NULL
};


/* ---- ownership ---------------------------------------------------- */


/* __gc of a guard: free the descent it still holds, if any. */
static int guard_gc(lua_State *L) {
  guard *g = (guard *)lua_touserdata(L, 1);
  gd_descent_free(g->d);
  g->d = NULL;
  return 0;
}


/* Push a new empty guard. */
static guard *newguard(lua_State *L) {
  guard *g = (guard *)lua_newuserdatauv(L, sizeof *g, 0);   /* guard */
  g->d = NULL;
  if (luaL_newmetatable(L, LGD_GUARD)) {                     /* mt */
    lua_pushcfunction(L, guard_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);                                   /* guard */
  return g;
}


/*
** Push a gdnn.GradientDescent for the descent that guard g holds,
** moving the descent from g into the new object.
*/
static void pushdescent(lua_State *L, guard *g) {
  gd_tensor *v;
  gd_error err;
  lgd_descent *o;
  if (gd_tensor_view(&v, g->d->x, &err) != GD_OK) lgd_error(L, 0, &err);
  o = (lgd_descent *)lgd_newtensorlike(L, v, sizeof *o, LGD_DESCENT, 0);
  o->d = g->d;
  g->d = NULL;
}


/* Body of lgd_pushdescent under lua_pcall: a guard takes the descent
** (clearing the caller's pointer) and becomes the object. */
static int pushdescent_p(lua_State *L) {
  gd_descent **pd = (gd_descent **)lua_touserdata(L, 1);
  guard *g = newguard(L);                                  /* pd g */
  g->d = *pd;
  *pd = NULL;
  pushdescent(L, g);                                       /* pd g o */
  return 1;
}


void lgd_pushdescent(lua_State *L, gd_descent *d) {
  lua_pushcfunction(L, pushdescent_p);
  lua_pushlightuserdata(L, &d);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    gd_descent_free(d);                     /* NULL once a guard has it */
    lua_error(L);                                          /* rethrow */
  }
}


gd_descent *lgd_todescent(lua_State *L, int arg) {
  lgd_descent *o = (lgd_descent *)luaL_testudata(L, arg, LGD_DESCENT);
  return o != NULL && o->base.t != NULL ? o->d : NULL;
}


/* The GradientDescent at arg, alive, or a Lua error. */
static lgd_descent *checkdescent(lua_State *L, int arg) {
  lgd_descent *o = (lgd_descent *)luaL_checkudata(L, arg, LGD_DESCENT);
  if (o->d == NULL || o->base.t == NULL)
    luaL_argerror(L, arg, "GradientDescent has been released");
  return o;
}


/* __gc and __close: release the variable and the core state once. */
static int descent_gc(lua_State *L) {
  lgd_descent *o = (lgd_descent *)luaL_checkudata(L, 1, LGD_DESCENT);
  lgd_release(&o->base);
  gd_descent_free(o->d);
  o->d = NULL;
  return 0;
}


/* gd.GradientDescent(x0): x0 is a tensor, a nested table or a number;
** the object holds a copy of it. */
static int descent_new(lua_State *L) {
  gd_tensor *x0 = lgd_checktensorlike(L, 1);                /* x0' */
  guard *g = newguard(L);                                   /* x0' g */
  gd_error err;
  if (gd_descent_new(&g->d, x0, GD_DESCENT_COPY, &err) != GD_OK)
    return lgd_error(L, 1, &err);
  pushdescent(L, g);                                        /* x0' g o */
  return 1;
}


/* ---- options ------------------------------------------------------ */


/* Push option name of the table at arg; 0 when it is absent. */
static int getoption(lua_State *L, int arg, const char *name) {
  if (lua_getfield(L, arg, name) != LUA_TNIL) return 1;    /* v */
  lua_pop(L, 1);
  return 0;
}


/* Raise "option name must be a what, got type" for the value on top. */
static int opt_error(lua_State *L, int arg, const char *name,
                     const char *what) {
  return luaL_argerror(L, arg,
                       lua_pushfstring(L, "option %s must be %s, got %s",
                                       name, what, luaL_typename(L, -1)));
}


/* Read number option name into *v when present. */
static void optnumber(lua_State *L, int arg, const char *name, double *v) {
  if (!getoption(L, arg, name)) return;
  if (lua_type(L, -1) != LUA_TNUMBER) opt_error(L, arg, name, "a number");
  *v = lua_tonumber(L, -1);
  lua_pop(L, 1);
}


/* Read integer option name into *v when present. */
static void optinteger(lua_State *L, int arg, const char *name,
                       lua_Integer *v) {
  int isint;
  if (!getoption(L, arg, name)) return;
  *v = lua_tointegerx(L, -1, &isint);
  if (!isint) opt_error(L, arg, name, "an integer");
  lua_pop(L, 1);
}


/* Read boolean option name into *v when present. */
static void optboolean(lua_State *L, int arg, const char *name, int *v) {
  if (!getoption(L, arg, name)) return;
  if (lua_type(L, -1) != LUA_TBOOLEAN) opt_error(L, arg, name, "a boolean");
  *v = lua_toboolean(L, -1);
  lua_pop(L, 1);
}


/* Read the options of one update from the table at arg (which may be
** none or nil), after checking every name against names. */
static void read_step_opts(lua_State *L, int arg, const char *const *names,
                           gd_descent_opts *o) {
  lua_Integer interval = 0;
  gd_descent_opts_default(o);
  if (lua_isnoneornil(L, arg)) return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lgd_checkoptions(L, arg, names);
  if (getoption(L, arg, "method")) {
    const char *m = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING)
      opt_error(L, arg, "method", "a string");
    if (strcmp(m, "gd") == 0) o->method = GD_DESCENT_GD;
    else if (strcmp(m, "adam") == 0) o->method = GD_DESCENT_ADAM;
    else
      luaL_argerror(L, arg, lua_pushfstring(L, "option method must be "
                                            "'gd' or 'adam', got '%s'", m));
    lua_pop(L, 1);
  }
  optnumber(L, arg, "learning_rate", &o->learning_rate);
  optnumber(L, arg, "momentum", &o->momentum);
  optboolean(L, arg, "nesterov", &o->nesterov);
  optboolean(L, arg, "maximise", &o->maximise);
  optinteger(L, arg, "noise_interval", &interval);
  o->noise_interval = (long)interval;
  optnumber(L, arg, "noise_scale", &o->noise_scale);
  optnumber(L, arg, "noise_eta", &o->noise_eta);
  optnumber(L, arg, "noise_gamma", &o->noise_gamma);
  optnumber(L, arg, "clip_norm", &o->clip_norm);
  optnumber(L, arg, "clip_value", &o->clip_value);
  optnumber(L, arg, "beta1", &o->beta1);
  optnumber(L, arg, "beta2", &o->beta2);
  optnumber(L, arg, "epsilon", &o->epsilon);
}


/* ---- one step ----------------------------------------------------- */


/*
** gd.gradient_descent_step(x, gradient, options) and x:step(gradient,
** options): one update of x in place; returns x. The gradient is a
** tensor, table or number of x's shape.
*/
static int descent_step(lua_State *L) {
  lgd_descent *o = checkdescent(L, 1);
  gd_descent_opts opts;
  gd_error err;
  gd_tensor *g;
  lua_settop(L, 3);
  read_step_opts(L, 3, step_names, &opts);
  g = lgd_checktensorlike(L, 2);                      /* x g o g' */
  opts.rng = lgd_rng(L);
  if (gd_descent_step(o->d, g, &opts, &err) != GD_OK)
    return lgd_error(L, 1, &err);
  lua_pushvalue(L, 1);
  return 1;
}


/* ---- the metadata ------------------------------------------------- */


/* Push a new view of t (a tensor the core state owns). */
static void pushview(lua_State *L, const gd_tensor *t) {
  gd_tensor *v;
  gd_error err;
  if (gd_tensor_view(&v, t, &err) != GD_OK) lgd_error(L, 0, &err);
  lgd_pushtensor(L, v);
}


/* Push the minima of d as a list of records. */
static void pushminima(lua_State *L, const gd_descent *d) {
  size_t i;
  lua_createtable(L, (int)d->nminima, 0);                  /* list */
  for (i = 0; i < d->nminima; i++) {
    const gd_descent_minimum *m = &d->minima[i];
    lua_createtable(L, 0, 6);                               /* list r */
    pushview(L, m->x);
    lua_setfield(L, -2, "x");
    lua_pushnumber(L, m->value);
    lua_setfield(L, -2, "value");
    lua_pushinteger(L, m->iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushboolean(L, m->reason == GD_REASON_CONVERGED);
    lua_setfield(L, -2, "converged");
    lua_pushstring(L, gd_descent_reason_name(m->reason));
    lua_setfield(L, -2, "reason");
    lua_pushstring(L, m->numeric_gradient ? "central_differences"
                                          : "analytic");
    lua_setfield(L, -2, "gradient");
    if (m->restart >= 0) {                  /* -1: not known */
      lua_pushinteger(L, (lua_Integer)m->restart + 1);
      lua_setfield(L, -2, "restart");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);                 /* list */
  }
}


/* Push the metadata field key of o; 0 when key is no such field. */
static int pushfield(lua_State *L, lgd_descent *o, const char *key) {
  gd_descent *d = o->d;
  if (strcmp(key, "gradient_current") == 0) pushview(L, d->gradient_current);
  else if (strcmp(key, "gradient_previous") == 0)
    pushview(L, d->gradient_previous);
  else if (strcmp(key, "gradient_step") == 0) pushview(L, d->gradient_step);
  else if (strcmp(key, "adam_m") == 0 || strcmp(key, "adam_v") == 0) {
    const gd_tensor *t = key[5] == 'm' ? d->adam_m : d->adam_v;
    if (t != NULL) pushview(L, t);
    else lua_pushnil(L);
  }
  else if (strcmp(key, "minima") == 0) pushminima(L, d);
  else if (strcmp(key, "steps") == 0) lua_pushinteger(L, d->steps);
  else return 0;
  return 1;
}


/*
** __index: the metadata fields first, then whatever the tensor class
** offers (its __index, kept as upvalue 1, a table or a function).
*/
static int descent_index(lua_State *L) {
  lgd_descent *o = (lgd_descent *)luaL_checkudata(L, 1, LGD_DESCENT);
  if (o->d != NULL && lua_type(L, 2) == LUA_TSTRING
      && pushfield(L, o, lua_tostring(L, 2)))
    return 1;
  lua_pushvalue(L, lua_upvalueindex(1));                   /* idx */
  if (lua_type(L, -1) == LUA_TFUNCTION) {
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);                                     /* v */
    return 1;
  }
  if (lua_type(L, -1) != LUA_TTABLE) return 0;
  lua_pushvalue(L, 2);
  lua_gettable(L, -2);                                     /* idx v */
  return 1;
}


/* ---- whole descents of a Lua function ----------------------------- */

/* What the trampolines need: the Lua state, the stack slots of f,
** gradient and callback (0 when absent), and the current call's data. */
typedef struct tramp {
  lua_State *L;
  int f, g, cb;
  int mpi;                /* gdnn.mpi, for a distributed search */
  int *reached;           /* set once the gather is called, or NULL */
  const gd_tensor *row;   /* what this process gathers */
  gd_tensor *gathered;    /* and what it got */
  const gd_tensor *x;     /* the point of the current call */
  gd_tensor *grad;        /* where the gradient goes */
  long iteration;
  double value;
  int stop;
  int pending;            /* a Lua error object waits on the stack */
} tramp;


/* Push a copy of t->x as a gdnn.Tensor. */
static void pushx(lua_State *L, tramp *t) {
  gd_tensor *c;
  gd_error err;
  if (gd_tensor_clone(&c, t->x, &err) != GD_OK) lgd_error(L, 0, &err);
  lgd_pushtensor(L, c);
}


/* Protected: value = f(x), which must be a number. */
static int p_value(lua_State *L) {
  tramp *t = (tramp *)lua_touserdata(L, 1);
  lua_pushvalue(L, 2);
  pushx(L, t);
  lua_call(L, 1, 1);
  if (lua_type(L, -1) != LUA_TNUMBER)
    return luaL_error(L, "gradient_descent_from_function: f returned "
                      "a %s, expected a number", luaL_typename(L, -1));
  t->value = lua_tonumber(L, -1);
  return 0;
}


/* Protected: the gradient at x into t->grad, of x's shape exactly. */
static int p_gradient(lua_State *L) {
  tramp *t = (tramp *)lua_touserdata(L, 1);
  char sg[GD_SHAPESTR_SIZE], sx[GD_SHAPESTR_SIZE];
  gd_tensor *g;
  gd_error err;
  int top;
  lua_pushvalue(L, 2);
  pushx(L, t);
  lua_call(L, 1, 1);
  top = lua_gettop(L);
  if (lgd_totensor(L, top) == NULL && lua_type(L, top) != LUA_TTABLE
      && lua_type(L, top) != LUA_TNUMBER)
    return luaL_error(L, "gradient_descent_from_function: gradient "
                      "returned a %s, expected a tensor",
                      luaL_typename(L, top));
  g = lgd_checktensorlike(L, top);
  if (!gd_tensor_same_shape(g, t->x))
    return luaL_error(L, "gradient_descent_from_function: gradient of "
                      "shape %s does not match x of shape %s",
                      gd_tensor_shape_str(g, sg, sizeof sg),
                      gd_tensor_shape_str(t->x, sx, sizeof sx));
  if (gd_tensor_copy_into(t->grad, g, &err) != GD_OK)
    return lgd_error(L, 0, &err);
  return 0;
}


/* Protected: callback(iteration, x, value); false asks to stop. */
static int p_callback(lua_State *L) {
  tramp *t = (tramp *)lua_touserdata(L, 1);
  lua_pushvalue(L, 2);
  lua_pushinteger(L, t->iteration);
  pushx(L, t);
  lua_pushnumber(L, t->value);
  lua_call(L, 3, 1);
  t->stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
  return 0;
}


/* Protected: t->gathered = a view of mpi.allgather(t->row). */
static int p_gather(lua_State *L) {
  tramp *t = (tramp *)lua_touserdata(L, 1);
  gd_tensor *v, *all;
  gd_error err;
  lua_getfield(L, 2, "allgather");
  if (gd_tensor_view(&v, t->row, &err) != GD_OK) lgd_error(L, 0, &err);
  lgd_pushtensor(L, v);
  if (t->reached) *t->reached = 1;     /* the others hear from us now */
  lua_call(L, 1, 1);                                       /* all */
  all = lgd_totensor(L, -1);
  if (all == NULL)
    return luaL_error(L, "gradient_descent_from_function: allgather "
                      "returned a %s", luaL_typename(L, -1));
  if (gd_tensor_view(&t->gathered, all, &err) != GD_OK)
    return lgd_error(L, 0, &err);
  return 0;
}


/*
** Run protected function fn with t and the Lua function at stack slot
** lf of the binding's frame (fn's arguments 1 and 2). A Lua error stays
** on the stack for the binding to raise once the core has freed what it
** holds; the core sees GD_ERR_ARG.
*/
static gd_status protect(tramp *t, lua_CFunction fn, int lf,
                         gd_error *err) {
  lua_State *L = t->L;
  if (!lua_checkstack(L, 8))
    return gd_error_set(err, GD_ERR_NOMEM, 0, "lua stack overflow");
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, t);
  lua_pushvalue(L, lf);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    t->pending = 1;
    return gd_error_set(err, GD_ERR_ARG, 0, "error in a lua function");
  }
  return GD_OK;
}


/* The trampolines the core calls: each runs its protected function and
** hands the result back in the core's terms. */
static gd_status call_value(void *ud, const gd_tensor *x, double *value,
                            gd_error *err) {
  tramp *t = (tramp *)ud;
  gd_status st;
  t->x = x;
  st = protect(t, p_value, t->f, err);
  if (st == GD_OK) *value = t->value;
  return st;
}


static gd_status call_gradient(void *ud, const gd_tensor *x,
                               gd_tensor *gradient, gd_error *err) {
  tramp *t = (tramp *)ud;
  t->x = x;
  t->grad = gradient;
  return protect(t, p_gradient, t->g, err);
}


static gd_status call_callback(void *ud, long iteration, const gd_tensor *x,
                               double value, int *stop, gd_error *err) {
  tramp *t = (tramp *)ud;
  gd_status st;
  t->x = x;
  t->iteration = iteration;
  t->value = value;
  t->stop = 0;
  st = protect(t, p_callback, t->cb, err);
  *stop = t->stop;
  return st;
}


/* The gather the core calls in a distributed search. */
static gd_status call_gather(void *ud, const gd_tensor *row,
                             gd_tensor **all, gd_error *err) {
  tramp *t = (tramp *)ud;
  gd_status st;
  t->row = row;
  t->gathered = NULL;
  st = protect(t, p_gather, t->mpi, err);
  if (st == GD_OK) *all = t->gathered;
  return st;
}


/* Call function name of the gdnn.mpi table at slot mpi for an integer. */
static long mpi_integer(lua_State *L, int mpi, const char *name) {
  long v;
  lua_getfield(L, mpi, name);
  lua_call(L, 0, 1);
  v = (long)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}


/*
** Option distributed: share the restarts among the processes of
** gdnn.mpi, whose table stays on the stack for the gathers. Without
** gdnn.mpi (gdnn built without MPI) it is an error.
*/
static void read_distributed(lua_State *L, int arg, gd_descent_problem *p,
                             tramp *t) {
  int on = 0;
  optboolean(L, arg, "distributed", &on);
  if (!on) return;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gdnn.mpi");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)                     /* mpi | e */
    luaL_error(L, "gradient_descent_from_function: option distributed "
               "needs gdnn.mpi: %s", lua_tostring(L, -1));
  t->mpi = lua_gettop(L);
  p->rank = mpi_integer(L, t->mpi, "rank");
  p->nprocs = mpi_integer(L, t->mpi, "size");
  p->gather = call_gather;
  p->gather_ud = t;
}


/* Read tensor option name (a tensor, table or number), leaving the
** tensor on the stack; NULL when absent. */
static const gd_tensor *opttensor(lua_State *L, int arg,
                                  const char *name) {
  if (!getoption(L, arg, name)) return NULL;
  if (lgd_totensor(L, -1) == NULL && lua_type(L, -1) != LUA_TTABLE
      && lua_type(L, -1) != LUA_TNUMBER)
    opt_error(L, arg, name, "a tensor, table or number");
  return lgd_checktensorlike(L, lua_gettop(L));
}


/* Read the options only a search takes into p and t. */
static void read_problem(lua_State *L, int arg, gd_descent_problem *p,
                         tramp *t) {
  lua_Integer restarts = 1, maxit = 10000, every = 1;
  lua_Integer seed = (lua_Integer)gd_rng_next(lgd_rng(L));
  gd_descent_problem_default(p);
  if (!lua_isnoneornil(L, arg)) {
    p->x0 = opttensor(L, arg, "x0");
    p->lower = opttensor(L, arg, "lower");
    p->upper = opttensor(L, arg, "upper");
    optinteger(L, arg, "restarts", &restarts);
    optinteger(L, arg, "max_iterations", &maxit);
    optinteger(L, arg, "callback_every", &every);
    optinteger(L, arg, "seed", &seed);
    optnumber(L, arg, "tolerance", &p->tolerance);
    if (getoption(L, arg, "callback")) {
      if (lua_type(L, -1) != LUA_TFUNCTION)
        opt_error(L, arg, "callback", "a function");
      t->cb = lua_gettop(L);
    }
    read_distributed(L, arg, p, t);
  }
  p->restarts = restarts > 0x7fffffff ? 0x7fffffff : (long)restarts;
  p->max_iterations = maxit > 0x7fffffff ? 0x7fffffff : (long)maxit;
  p->callback_every = every > 0x7fffffff ? 0x7fffffff : (long)every;
  p->seed = (uint64_t)seed;
}


/*
** search(f, gradient, options, reached): run the search of
** gd.gradient_descent_from_function and return the best
** GradientDescent and its value; reached, when a full userdata, is an
** int set once the gather of a distributed search is called. An error
** raised in f, gradient or callback is raised again, unchanged, after
** the core has freed what it held.
*/
static int search(lua_State *L) {
  gd_descent_problem p;
  gd_descent_opts opts;
  gd_error err;
  lgd_descent *o;
  guard *g;
  tramp t;
  gd_status st;

  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 4);
  memset(&t, 0, sizeof t);
  t.reached = (int *)lua_touserdata(L, 4);
  t.L = L;
  t.f = 1;
  t.g = lua_isnil(L, 2) ? 0 : 2;
  read_step_opts(L, 3, run_names, &opts);
  read_problem(L, 3, &p, &t);
  p.value = call_value;
  p.gradient = t.g ? call_gradient : NULL;
  p.callback = t.cb ? call_callback : NULL;
  p.ud = &t;
  g = newguard(L);                                         /* ... g */

  st = gd_descent_from_function(&g->d, &p, &opts, &err);
  if (st != GD_OK && t.pending) return lua_error(L);      /* ... g e */
  if (st != GD_OK) {
    if (err.operand > 0) err.operand = 1;
    return lgd_error(L, 3, &err);
  }
  pushdescent(L, g);                                       /* ... g o */
  o = (lgd_descent *)lua_touserdata(L, -1);
  lua_pushnumber(L, o->d->nminima ? o->d->minima[0].value : NAN);
  return 2;                                                /* ... o v */
}


/*
** Tell the other ranks of a distributed search that this one failed
** before its gather with the error on top of the stack (mpi.fail), so
** that their gather raises it instead of waiting.
*/
static void tell_others(lua_State *L) {
  int top = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gdnn.mpi");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) {
    lua_getfield(L, -1, "fail");                           /* e mpi fail */
    lua_pushvalue(L, top);
    lua_pcall(L, 1, 0, 0);
  }
  lua_settop(L, top);
}


/* Its address, as a fifth argument, marks the protected call below. */
static char inner_call;

/*
** gd.gradient_descent_from_function(f, gradient, options): the search
** above. With distributed = true it runs protected, and an error met
** before this rank's gather (a bad option, memory) is passed on to the
** other ranks first; one met in the gather or after it, they know of.
** The protected call is to this same function, so that an argument
** error still names it.
*/
static int descent_from_function(lua_State *L) {
  int on = 0, *reached;
  if (lua_touserdata(L, 5) == &inner_call) {
    lua_settop(L, 4);
    return search(L);
  }
  lua_settop(L, 3);
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "distributed");
    on = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (!on) return search(L);
  reached = (int *)lua_newuserdatauv(L, sizeof *reached, 0);  /* flag */
  *reached = 0;
  lua_pushcfunction(L, descent_from_function);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  lua_pushlightuserdata(L, &inner_call);
  if (lua_pcall(L, 5, 2, 0) == LUA_OK) return 2;
  if (!*reached) tell_others(L);
  return lua_error(L);
}


/* ---- registration ------------------------------------------------- */


static const luaL_Reg methods[] = {
  {"step", descent_step},
  {"__gc", descent_gc},
  {"__close", descent_gc},
  {NULL, NULL}
};


/*
** Register gd.GradientDescent, gd.gradient_descent_step and
** gd.gradient_descent_from_function in the module table at idx. The
** class gets every tensor metamethod but its own __gc and __close, and
** an __index that serves the metadata before the tensor's.
*/
void lgd_open_descent(lua_State *L, int idx) {
  lgd_newtensorclass(L, LGD_DESCENT, methods);             /* mt */
  lua_getfield(L, -1, "__index");                          /* mt idx */
  lua_pushcclosure(L, descent_index, 1);                   /* mt f */
  lua_setfield(L, -2, "__index");                          /* mt */
  lua_pop(L, 1);
  lua_pushcfunction(L, descent_new);
  lua_setfield(L, idx, "GradientDescent");
  lua_pushcfunction(L, descent_step);
  lua_setfield(L, idx, "gradient_descent_step");
  lua_pushcfunction(L, descent_from_function);
  lua_setfield(L, idx, "gradient_descent_from_function");
}
