/*
** lua_tensor.c: tensors as Lua userdata of metatable gdnn.Tensor.
**
** Conventions seen from Lua:
** - Indices and dimensions are 1-based; a negative one counts from the
**   end (-1 is the last). t[i] is a number for a 1-d tensor and a view
**   of the rest otherwise; t[{i, j}] reads or writes one element.
** - Wherever a tensor is expected, a number (a 0-d tensor) or a nested
**   table of numbers is accepted too, except as a destination.
** - Every operation that makes a tensor has an "into" form: one more,
**   optional, trailing argument `out`, a tensor of the result's shape
**   that receives the result and is returned, e.g. gd.add(a, b, out),
**   a:exp(out), a:sum(2, false, out), gd.matmul(a, b, out).
** - Reductions over all elements without keepdim or out return a plain
**   number; argmax and argmin give 1-based indices.
** - a == b is true when a and b are the same tensor or have the same
**   shape and equal elements (NaN equals nothing); gd.eq(a, b) compares
**   element-wise and gives 1 or 0. Lua calls __eq only when both sides
**   are userdata, so a tensor never equals a number or table.
** - Arithmetic and views of any tensor class give plain gdnn.Tensor.
**
** Limits: float64 only; at most 16 dimensions; nested tables hold
** numbers only; comparisons < <= > >= are the functions lt le gt ge
** (Lua's operators must give booleans); a tensor's sizes are Lua
** integers.
*/
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lua_gdnn.h"

#define CLASSES_KEY "gdnn.tensorclasses"   /* set of tensor metatables */
#define METHODS_KEY "gdnn.Tensor.methods"
#define PRINTOPTS_KEY "gdnn.printoptions"


/* A Lua error for argument arg with a message made from fmt. */
static int argerrorf(lua_State *L, int arg, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;


static int argerrorf(lua_State *L, int arg, const char *fmt, ...) {
  char msg[GD_ERRMSG_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lgd_argerror(L, arg, msg);
}


/* ---- userdata ------------------------------------------------------ */

/* Push an empty gdnn.Tensor whose tensor a core call fills next; if the
** call fails, the empty userdata is simply collected. */
static lgd_tensor *newud(lua_State *L) {
  lgd_tensor *u = (lgd_tensor *)lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, LGD_TENSOR);
  return u;
}


void lgd_release(lgd_tensor *u) {
  if (u != NULL && u->t != NULL) {
    gd_tensor_free(u->t);
    u->t = NULL;
  }
}


/* __gc and __close: release the tensor once. */
static int t_release(lua_State *L) {
  lgd_release((lgd_tensor *)lua_touserdata(L, 1));
  return 0;
}


/* The userdata at arg when its metatable is a registered tensor class,
** else NULL. */
static lgd_tensor *toud(lua_State *L, int arg) {
  lgd_tensor *u = (lgd_tensor *)lua_touserdata(L, arg);
  int ok;
  if (u == NULL || lua_islightuserdata(L, arg)) return NULL;
  if (!lua_getmetatable(L, arg)) return NULL;         /* mt */
  lua_getfield(L, LUA_REGISTRYINDEX, CLASSES_KEY);    /* mt set */
  lua_pushvalue(L, -2);                               /* mt set mt */
  ok = lua_rawget(L, -2) != LUA_TNIL;                 /* mt set flag */
  lua_pop(L, 3);
  return ok ? u : NULL;
}


gd_tensor *lgd_totensor(lua_State *L, int arg) {
  lgd_tensor *u = toud(L, arg);
  return u ? u->t : NULL;
}


gd_tensor *lgd_checktensor(lua_State *L, int arg) {
  lgd_tensor *u = toud(L, arg);
  if (u == NULL) luaL_typeerror(L, arg, "tensor");
  if (u->t == NULL) lgd_argerror(L, arg, "tensor has been closed");
  return u->t;
}


/* Body of lgd_newtensorlike run under lua_pcall, so that a failed
** allocation cannot leak the tensor: size, user values, class name. */
static int newlike_p(lua_State *L) {
  size_t sz = (size_t)lua_tointeger(L, 1);
  int nuv = (int)lua_tointeger(L, 2);
  const char *tname = (const char *)lua_touserdata(L, 3);
  void *p = lua_newuserdatauv(L, sz, nuv);
  memset(p, 0, sz);
  if (luaL_getmetatable(L, tname) != LUA_TTABLE)
    return luaL_error(L, "unknown tensor class '%s'", tname);
  lua_setmetatable(L, -2);
  return 1;
}


void *lgd_newtensorlike(lua_State *L, gd_tensor *t, size_t sz,
                        const char *tname, int nuv) {
  lgd_tensor *u;
  if (sz < sizeof *u) sz = sizeof *u;
  lua_pushcfunction(L, newlike_p);
  lua_pushinteger(L, (lua_Integer)sz);
  lua_pushinteger(L, nuv);
  lua_pushlightuserdata(L, (void *)(uintptr_t)tname);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    gd_tensor_free(t);
    lua_error(L);                                     /* rethrow */
  }
  u = (lgd_tensor *)lua_touserdata(L, -1);
  u->t = t;
  return u;
}


void lgd_pushtensor(lua_State *L, gd_tensor *t) {
  lgd_newtensorlike(L, t, sizeof(lgd_tensor), LGD_TENSOR, 0);
}


/* ---- shapes, dimensions and indices -------------------------------- */

/* The size at stack index idx (an integer >= 0, or -1 when infer is
** set, giving GD_INFER); errors blame argument arg. */
static size_t tosize(lua_State *L, int idx, int arg, int infer) {
  int isint;
  lua_Integer n = lua_tointegerx(L, idx, &isint);
  if (!isint) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      argerrorf(L, arg, "size %s is not an integer",
                lua_tostring(L, idx));
    argerrorf(L, arg, "size expected, got %s", luaL_typename(L, idx));
  }
  if (infer && n == -1) return GD_INFER;
  if (n < 0) argerrorf(L, arg, "size %lld is negative", (long long)n);
  return (size_t)n;
}


/* A shape from arguments first..last (numbers) or from one table at
** first; returns ndim. */
static int readshape(lua_State *L, int first, int last, size_t *shape,
                     int infer) {
  int i, n;
  if (first == last && lua_type(L, first) == LUA_TTABLE) {
    lua_Unsigned len = lua_rawlen(L, first);
    if (len > GD_MAX_DIMS)
      argerrorf(L, first, "%llu dimensions, at most %d",
                (unsigned long long)len, GD_MAX_DIMS);
    n = (int)len;
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, first, i + 1);
      shape[i] = tosize(L, -1, first, infer);
      lua_pop(L, 1);
    }
    return n;
  }
  n = last < first ? 0 : last - first + 1;
  if (n > GD_MAX_DIMS)
    argerrorf(L, first, "%d dimensions, at most %d", n, GD_MAX_DIMS);
  for (i = 0; i < n; i++) shape[i] = tosize(L, first + i, first + i,
                                             infer);
  return n;
}


int lgd_checkshape(lua_State *L, int first, size_t *shape) {
  return readshape(L, first, lua_gettop(L), shape, 0);
}


/* A 1-based dimension at arg among n (n is ndim, or ndim + 1 where a
** dimension may be appended), as a 0-based one. */
static int dimof(lua_State *L, int arg, const gd_tensor *t, int n) {
  char buf[GD_SHAPESTR_SIZE];
  lua_Integer d = luaL_checkinteger(L, arg), k = d < 0 ? d + n + 1 : d;
  if (k < 1 || k > n)
    argerrorf(L, arg, "dimension %lld out of range for a %s tensor",
              (long long)d, gd_tensor_shape_str(t, buf, sizeof buf));
  return (int)k - 1;
}


int lgd_checkdim(lua_State *L, int arg, const gd_tensor *t) {
  return dimof(L, arg, t, t->ndim);
}


/* The 1-based index k along dimension dim of t, as a 0-based one. */
static size_t indexof(lua_State *L, int arg, const gd_tensor *t, int dim,
                      lua_Integer k) {
  lua_Integer n = (lua_Integer)t->shape[dim], i = k < 0 ? k + n + 1 : k;
  if (i < 1 || i > n)
    argerrorf(L, arg, "index %lld out of range for dimension %d of "
              "size %lld", (long long)k, dim + 1, (long long)n);
  return (size_t)(i - 1);
}


/* ---- nested tables ------------------------------------------------- */

/* The shape of the nested table at arg, read along first entries. */
static int table_shape(lua_State *L, int arg, size_t *shape) {
  int ndim = 0, top = lua_gettop(L);
  lua_pushvalue(L, arg);
  while (lua_type(L, -1) == LUA_TTABLE) {
    size_t n = (size_t)lua_rawlen(L, -1);
    if (ndim == GD_MAX_DIMS) {
      lua_settop(L, top);
      argerrorf(L, arg, "nested table deeper than %d levels",
                GD_MAX_DIMS);
    }
    shape[ndim++] = n;
    if (n == 0) break;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_settop(L, top);
  return ndim;
}


/* Where an entry sits in a nested table, written as [2][1]. */
static const char *pathstr(char *buf, size_t size, const size_t *path,
                           int depth) {
  size_t used = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; i < depth && used < size; i++) {
    int n = snprintf(buf + used, size - used, "[%zu]", path[i] + 1);
    if (n < 0) break;
    used += (size_t)n;
  }
  return buf;
}


/* Copy the numbers of the table on top of the stack, at depth of a
** tensor of shape, into *p in row-major order (only check them when p
** is NULL); raggedness and non-numbers are errors naming where they
** are. */
static void table_fill(lua_State *L, int arg, int depth, int ndim,
                       const size_t *shape, size_t *path, double **p) {
  char buf[GD_MAX_DIMS * 24];
  size_t n = (size_t)lua_rawlen(L, -1);
  if (n != shape[depth])
    argerrorf(L, arg, "ragged nested table: %s has length %zu, "
              "expected %zu", depth ? pathstr(buf, sizeof buf, path, depth)
              : "the table", n, shape[depth]);
  for (path[depth] = 0; path[depth] < n; path[depth]++) {
    int ty = lua_rawgeti(L, -1, (lua_Integer)path[depth] + 1);
    if (depth + 1 < ndim && ty == LUA_TTABLE) {
      table_fill(L, arg, depth + 1, ndim, shape, path, p);
    } else if (depth + 1 == ndim && ty == LUA_TNUMBER) {
      if (p != NULL) *(*p)++ = lua_tonumber(L, -1);
    } else {
      argerrorf(L, arg, "nested table entry %s is a %s, expected %s",
                pathstr(buf, sizeof buf, path, depth + 1),
                lua_typename(L, ty),
                depth + 1 < ndim ? "a table" : "a number");
    }
    lua_pop(L, 1);
  }
}


/* A new tensor from the nested table at arg, pushed on the stack. */
static gd_tensor *fromtable(lua_State *L, int arg) {
  size_t shape[GD_MAX_DIMS], path[GD_MAX_DIMS];
  int ndim = table_shape(L, arg, shape);
  lgd_tensor *u = newud(L);
  gd_error err;
  double *p;

  luaL_checkstack(L, ndim + 4, "nested table too deep");
  lua_pushvalue(L, arg);
  table_fill(L, arg, 0, ndim, shape, path, NULL);  /* before allocating */
  if (gd_tensor_new(&u->t, ndim, shape, &err) != GD_OK)
    lgd_error(L, arg, &err);
  p = gd_tensor_data(u->t);
  table_fill(L, arg, 0, ndim, shape, path, &p);
  lua_pop(L, 1);
  return u->t;
}


gd_tensor *lgd_checktensorlike(lua_State *L, int arg) {
  lgd_tensor *u;
  gd_error err;
  arg = lua_absindex(L, arg);
  switch (lua_type(L, arg)) {
    case LUA_TNUMBER:
      u = newud(L);
      if (gd_tensor_scalar(&u->t, lua_tonumber(L, arg), &err) != GD_OK)
        lgd_error(L, arg, &err);
      return u->t;
    case LUA_TTABLE:
      return fromtable(L, arg);
    case LUA_TUSERDATA:
      if (toud(L, arg) != NULL) {
        gd_tensor *t = lgd_checktensor(L, arg);
        lua_pushvalue(L, arg);
        return t;
      }
      break;
  }
  luaL_typeerror(L, arg, "tensor, number or table");
  return NULL;
}


/* Push the elements of t below p as nested tables (a number for 0-d). */
static void push_table(lua_State *L, const gd_tensor *t, int d,
                       const double *p) {
  size_t i, n;
  if (d == t->ndim) {
    lua_pushnumber(L, *p);
    return;
  }
  n = t->shape[d];
  lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
  for (i = 0; i < n; i++) {
    push_table(L, t, d + 1, p + (ptrdiff_t)i * t->strides[d]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}


/* t:totable(): the elements as nested tables, a number for 0-d. */
static int t_totable(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  luaL_checkstack(L, t->ndim + 4, "tensor too deep");
  push_table(L, t, 0, gd_tensor_data(t));
  return 1;
}


/* ---- creation ------------------------------------------------------ */

/* Finish a function whose core call filled the userdata on top. */
static int done(lua_State *L, gd_status st, const gd_error *err,
                int argbase) {
  if (st != GD_OK) return lgd_error(L, argbase, err);
  return 1;
}


/* gd.tensor(x): a new tensor from a nested table, a number (0-d) or a
** tensor (a copy). gd.Tensor is the same function. */
static int t_tensor(lua_State *L) {
  lgd_tensor *u;
  gd_error err;
  if (lua_type(L, 1) == LUA_TTABLE || lua_type(L, 1) == LUA_TNUMBER) {
    lgd_checktensorlike(L, 1);
    return 1;
  }
  if (toud(L, 1) == NULL)
    return luaL_typeerror(L, 1, "table, number or tensor");
  u = newud(L);
  return done(L, gd_tensor_clone(&u->t, lgd_checktensor(L, 1), &err),
              &err, 1);
}


/* gd.zeros(shape) and gd.ones(shape), shape as sizes or one table. */
static int filled(lua_State *L, double v) {
  size_t shape[GD_MAX_DIMS];
  int ndim = lgd_checkshape(L, 1, shape);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_full(&u->t, ndim, shape, v, &err), &err, 1);
}


static int t_zeros(lua_State *L) {
  return filled(L, 0.0);
}


static int t_ones(lua_State *L) {
  return filled(L, 1.0);
}


/* gd.full(shape, v): the value comes last, after sizes or a table. */
static int t_full(lua_State *L) {
  size_t shape[GD_MAX_DIMS];
  int top = lua_gettop(L), ndim;
  double v = luaL_checknumber(L, top > 0 ? top : 1);
  lgd_tensor *u;
  gd_error err;
  ndim = readshape(L, 1, top - 1, shape, 0);
  u = newud(L);
  return done(L, gd_tensor_full(&u->t, ndim, shape, v, &err), &err, 1);
}


/* gd.eye(n [, m]): the n x m matrix with ones on the diagonal. */
static int t_eye(lua_State *L) {
  size_t n, m;
  lgd_tensor *u;
  gd_error err;
  luaL_checkany(L, 1);
  n = tosize(L, 1, 1, 0);
  m = lua_isnoneornil(L, 2) ? n : tosize(L, 2, 2, 0);
  u = newud(L);
  return done(L, gd_tensor_eye(&u->t, n, m, &err), &err, 1);
}


/* gd.arange(stop), gd.arange(start, stop [, step]) as numpy.arange. */
static int t_arange(lua_State *L) {
  double start = 0, stop, step = 1;
  lgd_tensor *u;
  gd_error err;
  if (lua_isnoneornil(L, 2)) {
    stop = luaL_checknumber(L, 1);
  } else {
    start = luaL_checknumber(L, 1);
    stop = luaL_checknumber(L, 2);
    step = luaL_optnumber(L, 3, 1);
  }
  if (step == 0) return lgd_argerror(L, 3, "step is zero");
  if (!isfinite(start) || !isfinite(stop) || !isfinite(step)) {
    int bad = !isfinite(start) ? 1 : !isfinite(stop) ? 2 : 3;
    if (lua_isnoneornil(L, 2)) bad = 1;     /* arange(stop) */
    return lgd_argerror(L, bad, "start, stop and step must be finite");
  }
  u = newud(L);
  return done(L, gd_tensor_arange(&u->t, start, stop, step, &err), &err,
              1);
}


/* gd.linspace(a, b [, n = 50]) as numpy.linspace. */
static int t_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  size_t n = lua_isnoneornil(L, 3) ? 50 : tosize(L, 3, 3, 0);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_linspace(&u->t, a, b, n, &err), &err, 1);
}


/* gd.rand(shape) and gd.randn(shape): uniform [0, 1) and standard
** normal samples from the generator that gd.seed restarts. */
static int t_rand(lua_State *L) {
  size_t shape[GD_MAX_DIMS];
  int ndim = lgd_checkshape(L, 1, shape);
  gd_rng *r = lgd_rng(L);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_rand(&u->t, ndim, shape, r, &err), &err, 1);
}


static int t_randn(lua_State *L) {
  size_t shape[GD_MAX_DIMS];
  int ndim = lgd_checkshape(L, 1, shape);
  gd_rng *r = lgd_rng(L);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_randn(&u->t, ndim, shape, r, &err), &err, 1);
}


/* gd.istensor(x): whether x is a tensor of any class. */
static int t_istensor(lua_State *L) {
  lua_pushboolean(L, toud(L, 1) != NULL);
  return 1;
}


/* ---- facts --------------------------------------------------------- */

static void push_shape(lua_State *L, const gd_tensor *t) {
  int i;
  lua_createtable(L, t->ndim, 0);
  for (i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}


/* t:shape(): the sizes as a table ({} for 0-d). */
static int t_shape(lua_State *L) {
  push_shape(L, lgd_checktensor(L, 1));
  return 1;
}


/* t:size(k): the size of dimension k; t:size() is t:shape(). */
static int t_size(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  if (lua_isnoneornil(L, 2))
    push_shape(L, t);
  else
    lua_pushinteger(L, (lua_Integer)t->shape[lgd_checkdim(L, 2, t)]);
  return 1;
}


static int t_dim(lua_State *L) {
  lua_pushinteger(L, lgd_checktensor(L, 1)->ndim);
  return 1;
}


static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)gd_tensor_numel(lgd_checktensor(L, 1)));
  return 1;
}


/* t:strides(): the strides in elements, as a table. */
static int t_strides(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int i;
  lua_createtable(L, t->ndim, 0);
  for (i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->strides[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}


static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, gd_tensor_is_contiguous(lgd_checktensor(L, 1)));
  return 1;
}


/* #t: the size of the first dimension. */
static int t_len(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  if (t->ndim == 0) return lgd_argerror(L, 1, "a 0-d tensor has no length");
  lua_pushinteger(L, (lua_Integer)t->shape[0]);
  return 1;
}


/* ---- views --------------------------------------------------------- */

/* t:reshape(shape) and t:view(shape), with one size -1 to infer:
** reshape copies when the strides cannot express the result, view
** fails then. */
static int reshape_(lua_State *L, int allow_copy) {
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t = lgd_checktensor(L, 1);
  int ndim = readshape(L, 2, lua_gettop(L), shape, 1);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_reshape(&u->t, t, ndim, shape, allow_copy,
                                   &err), &err, 1);
}


static int t_reshape(lua_State *L) {
  return reshape_(L, 1);
}


static int t_view(lua_State *L) {
  return reshape_(L, 0);
}


/* t:transpose(d1, d2) swaps two dimensions; t:transpose() reverses
** them all (for a matrix, the usual transpose). */
static int t_transpose(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  lgd_tensor *u;
  gd_error err;
  if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3)) {
    int perm[GD_MAX_DIMS], i;
    for (i = 0; i < t->ndim; i++) perm[i] = t->ndim - 1 - i;
    u = newud(L);
    return done(L, gd_tensor_permute(&u->t, t, perm, &err), &err, 1);
  } else {
    int d0 = lgd_checkdim(L, 2, t), d1 = lgd_checkdim(L, 3, t);
    u = newud(L);
    return done(L, gd_tensor_transpose(&u->t, t, d0, d1, &err), &err, 1);
  }
}


/* The 1-based dimension at stack index idx as a 0-based one, blaming
** argument arg (a table's items are not arguments of their own). */
static int permdim(lua_State *L, int idx, int arg, const gd_tensor *t) {
  char buf[GD_SHAPESTR_SIZE];
  int isint;
  lua_Integer d = lua_tointegerx(L, idx, &isint), k;
  if (!isint)
    argerrorf(L, arg, "dimension expected, got %s", luaL_typename(L, idx));
  k = d < 0 ? d + t->ndim + 1 : d;
  if (k < 1 || k > t->ndim)
    argerrorf(L, arg, "dimension %lld out of range for a %s tensor",
              (long long)d, gd_tensor_shape_str(t, buf, sizeof buf));
  return (int)k - 1;
}


/* t:permute(p1, ..., pn) or t:permute{p1, ..., pn}: dimension i of the
** result is dimension p_i of t. */
static int t_permute(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int perm[GD_MAX_DIMS], seen[GD_MAX_DIMS] = {0}, i, n, arg;
  int intable = lua_type(L, 2) == LUA_TTABLE;
  lgd_tensor *u;
  gd_error err;

  n = intable ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim) {
    char buf[GD_SHAPESTR_SIZE];
    return argerrorf(L, 2, "%d dimensions given for a %s tensor", n,
                     gd_tensor_shape_str(t, buf, sizeof buf));
  }
  for (i = 0; i < n; i++) {
    arg = intable ? 2 : i + 2;
    if (intable) lua_rawgeti(L, 2, i + 1);
    else lua_pushvalue(L, arg);
    perm[i] = permdim(L, lua_gettop(L), arg, t);
    lua_pop(L, 1);
    if (seen[perm[i]])
      return argerrorf(L, arg, "dimension %d appears twice", perm[i] + 1);
    seen[perm[i]] = 1;
  }
  u = newud(L);
  return done(L, gd_tensor_permute(&u->t, t, perm, &err), &err, 1);
}


/* t:narrow(dim, start, len): elements start .. start + len - 1 of
** dimension dim, a view. */
static int t_narrow(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int d = lgd_checkdim(L, 2, t);
  lua_Integer start = luaL_checkinteger(L, 3);
  lua_Integer n = (lua_Integer)t->shape[d];
  size_t count = tosize(L, 4, 4, 0);
  lgd_tensor *u;
  gd_error err;
  if (start < 1 || start > n + 1 || count > (size_t)(n - start + 1))
    return argerrorf(L, 3, "start %lld and length %zu out of range for "
                     "dimension %d of size %lld", (long long)start, count,
                     d + 1, (long long)n);
  u = newud(L);
  return done(L, gd_tensor_narrow(&u->t, t, d, (size_t)start - 1, count,
                                  &err), &err, 1);
}


/* t:select(dim, i): index i of dimension dim, which disappears. */
static int t_select(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int d = lgd_checkdim(L, 2, t);
  size_t i = indexof(L, 3, t, d, luaL_checkinteger(L, 3));
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_select(&u->t, t, d, i, &err), &err, 1);
}


/* t:expand(shape): a broadcast view that refuses writes. */
static int t_expand(lua_State *L) {
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t = lgd_checktensor(L, 1);
  int ndim = readshape(L, 2, lua_gettop(L), shape, 0);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_expand(&u->t, t, ndim, shape, &err), &err, 1);
}


/* t:squeeze([dim]): without dim, every dimension of size 1 goes. */
static int t_squeeze(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int d = lua_isnoneornil(L, 2) ? GD_ALL_DIMS : lgd_checkdim(L, 2, t);
  lgd_tensor *u = newud(L);
  gd_error err;
  if (d != GD_ALL_DIMS && t->shape[d] != 1)
    return argerrorf(L, 2, "dimension %d has size %zu, not 1", d + 1,
                     t->shape[d]);
  return done(L, gd_tensor_squeeze(&u->t, t, d, &err), &err, 1);
}


/* t:unsqueeze(dim): a new dimension of size 1 at position dim
** (1 .. ndim + 1; -1 appends one). */
static int t_unsqueeze(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  int d = dimof(L, 2, t, t->ndim + 1);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_unsqueeze(&u->t, t, d, &err), &err, 1);
}


/* t:contiguous(): t itself when contiguous, else a contiguous copy. */
static int t_contiguous(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  lgd_tensor *u;
  gd_error err;
  if (gd_tensor_is_contiguous(t)) {
    lua_settop(L, 1);
    return 1;
  }
  u = newud(L);
  return done(L, gd_tensor_contiguous(&u->t, t, &err), &err, 1);
}


static int t_clone(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  lgd_tensor *u = newud(L);
  gd_error err;
  return done(L, gd_tensor_clone(&u->t, t, &err), &err, 1);
}


/* ---- writing ------------------------------------------------------- */

/* Write the value at varg (number, tensor or table, broadcast) into
** every element of dst; errors blame argument varg, or argument dstarg
** for a destination that refuses writes. */
static void assign(lua_State *L, gd_tensor *dst, int dstarg, int varg) {
  gd_error err;
  gd_status st;
  if (lua_type(L, varg) == LUA_TNUMBER) {
    st = gd_tensor_fill(dst, lua_tonumber(L, varg), &err);
  } else {
    gd_tensor *src = lgd_checktensorlike(L, varg);
    st = gd_tensor_copy_into(dst, src, &err);
    lua_pop(L, 1);
  }
  if (st == GD_OK) return;
  err.operand = 1;
  lgd_error(L, err.code == GD_ERR_READONLY ? dstarg : varg, &err);
}


/* t:copy(src): write src (broadcast to t's shape) into t; returns t. */
static int t_copy(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  assign(L, t, 1, 2);
  lua_settop(L, 1);
  return 1;
}


/* t:fill(v): set every element to the number v; returns t. */
static int t_fill(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  luaL_checktype(L, 2, LUA_TNUMBER);
  assign(L, t, 1, 2);
  lua_settop(L, 1);
  return 1;
}


/* ---- indexing ------------------------------------------------------ */

/* The 0-based indices of a key at stack index 2 (an integer, or a table
** of them) into idx; returns how many. */
static int readkey(lua_State *L, const gd_tensor *t, size_t *idx) {
  char buf[GD_SHAPESTR_SIZE];
  int i, n;
  if (lua_type(L, 2) != LUA_TTABLE) {
    if (t->ndim == 0) return lgd_argerror(L, 2, "a 0-d tensor has no "
                                          "dimension to index");
    idx[0] = indexof(L, 2, t, 0, luaL_checkinteger(L, 2));
    return 1;
  }
  if (lua_rawlen(L, 2) > (lua_Unsigned)t->ndim)
    return argerrorf(L, 2, "%llu indices for a %s tensor",
                     (unsigned long long)lua_rawlen(L, 2),
                     gd_tensor_shape_str(t, buf, sizeof buf));
  n = (int)lua_rawlen(L, 2);
  for (i = 0; i < n; i++) {
    int isint;
    lua_Integer k;
    lua_rawgeti(L, 2, i + 1);
    k = lua_tointegerx(L, -1, &isint);
    if (!isint)
      argerrorf(L, 2, "index entry %d is not an integer", i + 1);
    idx[i] = indexof(L, 2, t, i, k);
    lua_pop(L, 1);
  }
  return n;
}


/* Push the view of t at the first n indices of idx (checked). */
static void push_subview(lua_State *L, const gd_tensor *t,
                         const size_t *idx, int n) {
  lgd_tensor *u = newud(L);
  gd_tensor *cur = NULL, *next;
  gd_error err;
  gd_status st = gd_tensor_view(&cur, t, &err);
  int i;
  for (i = 0; st == GD_OK && i < n; i++) {
    st = gd_tensor_select(&next, cur, 0, idx[i], &err);
    if (st == GD_OK) {
      gd_tensor_free(cur);
      cur = next;
    }
  }
  if (st != GD_OK) {
    gd_tensor_free(cur);
    lgd_error(L, 1, &err);
  }
  u->t = cur;
}


/* __index: t[i] and t[{i, j, ...}] give a number when every dimension
** is indexed and a view otherwise; a string key finds a method. */
static int t_index(lua_State *L) {
  size_t idx[GD_MAX_DIMS];
  gd_tensor *t;
  double v;
  gd_error err;
  int n;

  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));             /* methods[k] */
    return 1;
  }
  t = lgd_checktensor(L, 1);
  if (lua_type(L, 2) != LUA_TNUMBER && lua_type(L, 2) != LUA_TTABLE)
    return luaL_typeerror(L, 2, "integer, table or string");
  n = readkey(L, t, idx);
  if (n < t->ndim) {
    push_subview(L, t, idx, n);
    return 1;
  }
  if (gd_tensor_get(t, idx, &v, &err) != GD_OK) return lgd_error(L, 1,
                                                                 &err);
  lua_pushnumber(L, v);
  return 1;
}


/* __newindex: t[i] = v and t[{i, j, ...}] = v write one element, or a
** whole view when fewer indices than dimensions are given (v may then
** be a number, a tensor or a table, broadcast). */
static int t_newindex(lua_State *L) {
  size_t idx[GD_MAX_DIMS];
  gd_tensor *t = lgd_checktensor(L, 1);
  gd_error err;
  int n;

  if (lua_type(L, 2) != LUA_TNUMBER && lua_type(L, 2) != LUA_TTABLE)
    return luaL_typeerror(L, 2, "integer or table");
  n = readkey(L, t, idx);
  if (n < t->ndim) {
    luaL_checkany(L, 3);
    push_subview(L, t, idx, n);                       /* view */
    assign(L, lgd_checktensor(L, -1), 1, 3);
    return 0;
  }
  if (lua_type(L, 3) != LUA_TNUMBER)
    return luaL_typeerror(L, 3, "number");
  if (gd_tensor_set(t, idx, lua_tonumber(L, 3), &err) != GD_OK)
    return lgd_error(L, 1, &err);
  return 0;
}


/* ---- element-wise -------------------------------------------------- */

/* The destination at arg when one is given, else NULL. */
static gd_tensor *optout(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NULL : lgd_checktensor(L, arg);
}


/* Finish an operation: push the result (out, or the new tensor on top)
** or raise its error. An error about out blames argument outarg. */
static int finish(lua_State *L, gd_status st, gd_error *err, int outarg,
                  int argbase) {
  if (st == GD_OK) {
    if (outarg > 0) lua_pushvalue(L, outarg);
    return 1;
  }
  if (outarg > 0 && err->operand == 0 && (err->code == GD_ERR_SHAPE ||
                                          err->code == GD_ERR_READONLY)) {
    err->operand = 1;
    return lgd_error(L, outarg, err);
  }
  return lgd_error(L, argbase, err);
}


/* out = a op b with broadcasting; a number on either side stays a
** number. The optional third argument is out. */
static int binary(lua_State *L, gd_binop op) {
  int na = lua_type(L, 1) == LUA_TNUMBER;
  int nb = lua_type(L, 2) == LUA_TNUMBER;
  gd_tensor *out, *a, *b = NULL, **dst = NULL;
  gd_error err;
  gd_status st;
  double s = 0;

  lua_settop(L, 3);                   /* converted operands go above */
  out = optout(L, 3);
  if (nb && !na) {
    a = lgd_checktensorlike(L, 1);
    s = lua_tonumber(L, 2);
  } else if (na && !nb) {
    a = lgd_checktensorlike(L, 2);
    s = lua_tonumber(L, 1);
  } else {
    a = lgd_checktensorlike(L, 1);
    b = lgd_checktensorlike(L, 2);
  }
  if (out == NULL) dst = &newud(L)->t;

  if (b != NULL)
    st = out ? gd_tensor_binary_into(out, op, a, b, &err)
             : gd_tensor_binary(dst, op, a, b, &err);
  else
    st = out ? gd_tensor_binary_scalar_into(out, op, a, s, na, &err)
             : gd_tensor_binary_scalar(dst, op, a, s, na, &err);
  return finish(L, st, &err, out ? 3 : 0, 1);
}


#define BINARY(name, op)                                              \
  static int name(lua_State *L) { return binary(L, op); }

BINARY(t_add, GD_ADD)
BINARY(t_sub, GD_SUB)
BINARY(t_mul, GD_MUL)
BINARY(t_div, GD_DIV)
BINARY(t_pow, GD_POW)
BINARY(t_maximum, GD_MAXIMUM)
BINARY(t_minimum, GD_MINIMUM)
BINARY(t_eq, GD_EQ)
BINARY(t_ne, GD_NE)
BINARY(t_lt, GD_LT)
BINARY(t_le, GD_LE)
BINARY(t_gt, GD_GT)
BINARY(t_ge, GD_GE)
BINARY(t_atan2, GD_ATAN2)


/* out = op(a) element by element; the optional second argument is
** out (it may be a itself). */
static int unary(lua_State *L, gd_unop op) {
  gd_tensor *out, *a;
  gd_error err;
  gd_status st;
  lua_settop(L, 2);
  out = optout(L, 2);
  a = lgd_checktensorlike(L, 1);
  if (out != NULL) {
    st = gd_tensor_unary_into(out, op, a, &err);
  } else {
    lgd_tensor *u = newud(L);
    st = gd_tensor_unary(&u->t, op, a, &err);
  }
  return finish(L, st, &err, out ? 2 : 0, 1);
}


#define UNARY(name, op)                                               \
  static int name(lua_State *L) { return unary(L, op); }

UNARY(t_neg, GD_NEG)
UNARY(t_abs, GD_ABS)
UNARY(t_exp, GD_EXP)
UNARY(t_log, GD_LOG)
UNARY(t_sqrt, GD_SQRT)
UNARY(t_sin, GD_SIN)
UNARY(t_cos, GD_COS)
UNARY(t_tan, GD_TAN)
UNARY(t_asin, GD_ASIN)
UNARY(t_acos, GD_ACOS)
UNARY(t_atan, GD_ATAN)
UNARY(t_sinh, GD_SINH)
UNARY(t_cosh, GD_COSH)
UNARY(t_tanh, GD_TANH)
UNARY(t_sigmoid, GD_SIGMOID)
UNARY(t_relu, GD_RELU)
UNARY(t_sign, GD_SIGN)
UNARY(t_floor, GD_FLOOR)
UNARY(t_ceil, GD_CEIL)
UNARY(t_round, GD_ROUND)
UNARY(t_square, GD_SQUARE)
UNARY(t_reciprocal, GD_RECIPROCAL)
UNARY(t_log1p, GD_LOG1P)
UNARY(t_expm1, GD_EXPM1)


/* __unm: Lua passes the operand twice, so the second is not out. */
static int t_unm(lua_State *L) {
  lua_settop(L, 1);
  return unary(L, GD_NEG);
}


/* __eq: the same shape and equal elements (see the file header). */
static int t_equal(lua_State *L) {
  gd_tensor *a = lgd_checktensor(L, 1), *b = lgd_checktensor(L, 2);
  lua_pushboolean(L, gd_tensor_equal(a, b));
  return 1;
}


/* gd.axpby(alpha, a, beta, b, out): out = alpha a + beta b in place,
** the update of a training loop; returns out. */
static int t_axpby(lua_State *L) {
  double alpha = luaL_checknumber(L, 1), beta = luaL_checknumber(L, 3);
  gd_tensor *a = lgd_checktensor(L, 2), *b = lgd_checktensor(L, 4);
  gd_tensor *out = lgd_checktensor(L, 5);
  gd_error err;
  int base;
  gd_status st = gd_tensor_axpby_into(out, alpha, a, beta, b, &err);
  if (st == GD_OK) {
    lua_settop(L, 5);
    return 1;
  }
  if (err.operand == 0 && err.code != GD_ERR_NOMEM) {
    err.operand = 1;
    return lgd_error(L, 5, &err);
  }
  if (err.operand == 0) return lgd_error(L, 1, &err);
  base = 2 * err.operand;               /* operands a, b: arguments 2, 4 */
  err.operand = 1;
  return lgd_error(L, base, &err);
}


/* ---- reductions and products --------------------------------------- */

/* t:op([dim [, keepdim [, out]]]): over all elements a number (a
** tensor with keepdim or out), over dimension dim a tensor. argmax and
** argmin count from 1. */
static int reduce(lua_State *L, gd_reduceop op) {
  int arg = op == GD_ARGMAX || op == GD_ARGMIN, d, keep;
  gd_tensor *a, *out;
  gd_error err;
  gd_status st;
  double v;

  lua_settop(L, 4);
  a = lgd_checktensorlike(L, 1);
  d = lua_isnil(L, 2) ? GD_ALL_DIMS : lgd_checkdim(L, 2, a);
  keep = !lua_isnil(L, 3);
  if (keep) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    keep = lua_toboolean(L, 3);
  }
  out = optout(L, 4);
  if (d == GD_ALL_DIMS && !keep && out == NULL) {
    if (gd_tensor_reduce_all(&v, op, a, &err) != GD_OK)
      return lgd_error(L, 1, &err);
    lua_pushnumber(L, arg ? v + 1 : v);
    return 1;
  }
  if (out != NULL) {
    st = gd_tensor_reduce_into(out, op, a, d, keep, &err);
  } else {
    lgd_tensor *u = newud(L);
    st = gd_tensor_reduce(&u->t, op, a, d, keep, &err);
    out = u->t;
  }
  if (st == GD_OK && arg)
    st = gd_tensor_binary_scalar_into(out, GD_ADD, out, 1.0, 0, &err);
  return finish(L, st, &err, lua_isnil(L, 4) ? 0 : 4, 1);
}


#define REDUCE(name, op)                                              \
  static int name(lua_State *L) { return reduce(L, op); }

REDUCE(t_sum, GD_SUM)
REDUCE(t_mean, GD_MEAN)
REDUCE(t_prod, GD_PROD)
REDUCE(t_max, GD_MAX)
REDUCE(t_min, GD_MIN)
REDUCE(t_argmax, GD_ARGMAX)
REDUCE(t_argmin, GD_ARGMIN)
REDUCE(t_norm, GD_NORM)


/* gd.matmul(a, b [, out]): the matrix product, as numpy.matmul for 1-d
** and 2-d operands. */
static int t_matmul(lua_State *L) {
  gd_tensor *a, *b, *out;
  gd_error err;
  gd_status st;
  lua_settop(L, 3);
  out = optout(L, 3);
  a = lgd_checktensorlike(L, 1);
  b = lgd_checktensorlike(L, 2);
  if (out != NULL) {
    st = gd_tensor_matmul_into(out, a, b, &err);
  } else {
    lgd_tensor *u = newud(L);
    st = gd_tensor_matmul(&u->t, a, b, &err);
  }
  return finish(L, st, &err, out ? 3 : 0, 1);
}


/* ---- printing ------------------------------------------------------ */

/* The print options of this Lua state, made with defaults on first
** use. */
static gd_format_opts *printopts(lua_State *L) {
  gd_format_opts *o;
  if (lua_getfield(L, LUA_REGISTRYINDEX, PRINTOPTS_KEY) == LUA_TUSERDATA) {
    o = (gd_format_opts *)lua_touserdata(L, -1);
  } else {
    lua_pop(L, 1);
    o = (gd_format_opts *)lua_newuserdatauv(L, sizeof *o, 0);
    gd_format_opts_default(o);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, PRINTOPTS_KEY);
  }
  lua_pop(L, 1);
  return o;
}


/* Read the fields of the options table at arg into o. */
static void readopts(lua_State *L, int arg, gd_format_opts *o) {
  static const char *const names[] = {
    "precision", "threshold", "edgeitems", "linewidth", NULL
  };
  int i;
  luaL_checktype(L, arg, LUA_TTABLE);
  for (i = 0; names[i] != NULL; i++) {
    lua_Integer v;
    int isint;
    if (lua_getfield(L, arg, names[i]) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < 0 || v > INT_MAX)
      argerrorf(L, arg, "option '%s' must be an integer from 0 to %d",
                names[i], INT_MAX);
    if (i == 0) o->precision = (int)v;
    else if (i == 1) o->threshold = (size_t)v;
    else if (i == 2) o->edgeitems = (size_t)v;
    else o->linewidth = (int)v;
    lua_pop(L, 1);
  }
}


/* gd.set_printoptions{precision =, threshold =, edgeitems =,
** linewidth =}: what tostring uses from now on; missing fields stay. */
static int t_set_printoptions(lua_State *L) {
  gd_format_opts o = *printopts(L);
  readopts(L, 1, &o);
  *printopts(L) = o;
  return 0;
}


/* Push the text s of length n, under lua_pcall so that a failed
** allocation cannot leak s. */
static int pushtext_p(lua_State *L) {
  lua_pushlstring(L, (const char *)lua_touserdata(L, 1),
                  (size_t)lua_tointeger(L, 2));
  return 1;
}


/* Push the text of t made with options o; the footer names the class
** of the userdata at 1. */
static int format_(lua_State *L, const gd_tensor *t,
                   const gd_format_opts *o) {
  const char *name = NULL;
  char *s;
  size_t n;
  gd_error err;
  int rc;
  if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING)
    name = lua_tostring(L, -1);                       /* kept on stack */
  if (gd_tensor_format(&s, &n, t, o, name, &err) != GD_OK)
    return lgd_error(L, 1, &err);
  lua_pushcfunction(L, pushtext_p);
  lua_pushlightuserdata(L, s);
  lua_pushinteger(L, (lua_Integer)n);
  rc = lua_pcall(L, 2, 1, 0);
  gd_free(s, n + 1);
  if (rc != LUA_OK) return lua_error(L);
  return 1;
}


/* tostring(t): aligned and summarised as NumPy prints, shape last. */
static int t_tostring(lua_State *L) {
  lgd_tensor *u = toud(L, 1);
  if (u != NULL && u->t == NULL) {
    lua_pushliteral(L, "closed tensor");
    return 1;
  }
  return format_(L, lgd_checktensor(L, 1), printopts(L));
}


/* t:format{precision =, ...}: the text of tostring with some options
** changed for this call only. */
static int t_format(lua_State *L) {
  gd_tensor *t = lgd_checktensor(L, 1);
  gd_format_opts o = *printopts(L);
  if (!lua_isnoneornil(L, 2)) readopts(L, 2, &o);
  return format_(L, t, &o);
}


/* ---- classes and the module ---------------------------------------- */

static const luaL_Reg methods[] = {
  {"totable", t_totable}, {"shape", t_shape}, {"size", t_size}, {"dim", t_dim},
  {"numel", t_numel}, {"strides", t_strides},
  {"is_contiguous", t_is_contiguous},
  {"reshape", t_reshape}, {"view", t_view}, {"transpose", t_transpose},
  {"permute", t_permute}, {"narrow", t_narrow}, {"select", t_select},
  {"expand", t_expand}, {"squeeze", t_squeeze}, {"unsqueeze", t_unsqueeze},
  {"contiguous", t_contiguous}, {"clone", t_clone}, {"copy", t_copy},
  {"fill", t_fill}, {"format", t_format},
  {"add", t_add}, {"sub", t_sub}, {"mul", t_mul}, {"div", t_div},
  {"pow", t_pow}, {"maximum", t_maximum}, {"minimum", t_minimum},
  {"eq", t_eq}, {"ne", t_ne}, {"lt", t_lt}, {"le", t_le}, {"gt", t_gt},
  {"ge", t_ge}, {"atan2", t_atan2},
  {"neg", t_neg}, {"abs", t_abs}, {"exp", t_exp}, {"log", t_log},
  {"sqrt", t_sqrt}, {"sin", t_sin}, {"cos", t_cos}, {"tan", t_tan},
  {"asin", t_asin}, {"acos", t_acos}, {"atan", t_atan}, {"sinh", t_sinh},
  {"cosh", t_cosh}, {"tanh", t_tanh}, {"sigmoid", t_sigmoid},
  {"relu", t_relu}, {"sign", t_sign}, {"floor", t_floor}, {"ceil", t_ceil},
  {"round", t_round}, {"square", t_square}, {"reciprocal", t_reciprocal},
  {"log1p", t_log1p}, {"expm1", t_expm1},
  {"sum", t_sum}, {"mean", t_mean}, {"prod", t_prod}, {"max", t_max},
  {"min", t_min}, {"argmax", t_argmax}, {"argmin", t_argmin},
  {"norm", t_norm}, {"matmul", t_matmul},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
  {"__pow", t_pow}, {"__unm", t_unm}, {"__eq", t_equal}, {"__len", t_len},
  {"__newindex", t_newindex}, {"__tostring", t_tostring},
  {"__gc", t_release}, {"__close", t_release},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"tensor", t_tensor}, {"Tensor", t_tensor}, {"zeros", t_zeros},
  {"ones", t_ones}, {"full", t_full}, {"eye", t_eye}, {"arange", t_arange},
  {"linspace", t_linspace}, {"rand", t_rand}, {"randn", t_randn},
  {"istensor", t_istensor}, {"axpby", t_axpby},
  {"set_printoptions", t_set_printoptions},
  {NULL, NULL}
};


/* Make the metatable at the top a tensor class: record it in the set
** and give it an __index that finds the methods table at idx. */
static void mark_class(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, CLASSES_KEY);    /* mt set */
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);                                  /* set[mt] = true */
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushcclosure(L, t_index, 1);
  lua_setfield(L, -2, "__index");
}


void lgd_newtensorclass(lua_State *L, const char *tname,
                        const luaL_Reg *reg) {
  luaL_newmetatable(L, tname);                        /* mt */
  luaL_getmetatable(L, LGD_TENSOR);                   /* mt tmt */
  lua_pushnil(L);
  while (lua_next(L, -2)) {                           /* mt tmt k v */
    if (lua_type(L, -2) == LUA_TSTRING
        && strcmp(lua_tostring(L, -2), "__name") != 0
        && strcmp(lua_tostring(L, -2), "__index") != 0) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);                              /* mt tmt k k v */
      lua_rawset(L, -5);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);                                      /* mt */

  lua_newtable(L);                                    /* mt m */
  lua_createtable(L, 0, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, METHODS_KEY);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);                            /* m falls back */
  for (; reg != NULL && reg->name != NULL; reg++) {
    int meta = strncmp(reg->name, "__", 2) == 0;
    if (reg->func) lua_pushcfunction(L, reg->func);
    else lua_pushboolean(L, 0);
    lua_setfield(L, meta ? -3 : -2, reg->name);
  }
  lua_insert(L, -2);                                  /* m mt */
  mark_class(L, -2);
  lua_remove(L, -2);                                  /* mt */
}


void lgd_open_tensor(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, CLASSES_KEY) != LUA_TTABLE) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, CLASSES_KEY);
  }
  lua_pop(L, 1);
  printopts(L);

  luaL_newlib(L, methods);                            /* methods */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, METHODS_KEY);
  luaL_newmetatable(L, LGD_TENSOR);                   /* methods mt */
  luaL_setfuncs(L, metamethods, 0);
  mark_class(L, -2);
  lua_pop(L, 1);                                      /* methods */

  lua_pushnil(L);
  while (lua_next(L, -2)) {                           /* gd.f = method */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, idx);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
}
