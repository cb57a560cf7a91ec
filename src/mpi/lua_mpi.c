/*
** lua_mpi.c: gdnn.mpi, the MPI binding. `require "gdnn.mpi"` starts MPI
** (unless the host already did) and returns rank, size, barrier, wtime,
** processor_name and the tensor collectives allreduce, broadcast, gather
** and allgather over MPI_COMM_WORLD, and fail, by which a rank that
** failed alone tells the others.
**
** Every collective begins with a small allgather of what each rank asked
** for (the operation, the reduction or root, the tensor count and every
** shape), so that a mismatch across ranks is raised as the same Lua error
** on every rank instead of leaving a rank waiting. A rank that fails
** alone (a bad argument, memory, or any error through mpi.fail) sends a
** "fail" header and its message in place of that, and the collective of
** every other rank raises "allreduce: rank 1 failed: message". Every
** allocation a collective makes comes before its headers, so that no
** rank can fail alone once the data moves.
**
** The module links MPI but not the gdnn core: it reads and writes the
** gd_tensor structures directly and makes new tensors with gd.zeros, so
** one core serves gdnn.so, gdnn-lua and this module alike.
**
** Limits: MPI_COMM_WORLD only; ranks are 0-based, as MPI counts them; a
** message holds at most INT_MAX doubles; a failure message travels cut
** to NOTE_SIZE - 1 bytes; a rank that fails alone and then exits while
** another computes without calling a collective is not seen by it;
** MPI_Finalize runs when the process exits.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "../lua_gdnn.h"


/* The collectives, as named in messages; the index is sent in headers. */
static const char *const kinds[] = {
  "barrier", "allreduce", "broadcast", "gather", "allgather", "fail", NULL
};
enum { K_BARRIER, K_ALLREDUCE, K_BROADCAST, K_GATHER, K_ALLGATHER, K_FAIL };

/* Reductions of allreduce, in the order of its option names. */
static const char *const ops[] = {"sum", "mean", "max", "min", NULL};
enum { OP_SUM, OP_MEAN, OP_MAX, OP_MIN };

/* The first header every rank sends: kind, op or root, tensor count. */
enum { H_KIND, H_ARG, H_COUNT, H_SIZE };
/* A shape as sent: ndim, then GD_MAX_DIMS sizes (0 past ndim). */
#define SHAPE_SIZE (1 + GD_MAX_DIMS)
/* The bytes of a failure message as sent, its final NUL included. */
#define NOTE_SIZE 256

/* The tensors of one collective: the arguments, in order. */
typedef struct args {
  int n;
  gd_tensor *t[GD_MAX_DIMS];
} args;

static int started = 0;  /* 1 when this module called MPI_Init */
/* Registry key of the last error every rank already knows of. */
static const char shared_key = 0;


/* ---- MPI set-up ------------------------------------------------------ */


/* At exit: finalise MPI if this module started it and nobody else has
** finalised it yet. */
static void finalize(void) {
  int done = 0;
  if (!started) return;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}


/*
** Make the library that holds MPI_Init global, so that MPI's own plugins
** find its symbols even though Lua opened this module with RTLD_LOCAL,
** and pin this module in memory, since the exit handler lives in it.
*/
static void pin_libraries(void) {
  Dl_info info;
  if (dladdr((void *)(size_t)MPI_Init, &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  if (dladdr((void *)(size_t)finalize, &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
}


/* Start MPI once per process; errors of the world communicator are to
** be returned, not fatal. */
static void start_mpi(lua_State *L) {
  int ready = 0, done = 0;
  MPI_Finalized(&done);
  if (done) luaL_error(L, "gdnn.mpi: MPI has already been finalised");
  MPI_Initialized(&ready);
  if (!ready) {
    pin_libraries();
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
      luaL_error(L, "gdnn.mpi: MPI_Init failed");
    started = 1;
    atexit(finalize);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}


/* Raise "f: mpi error: text" when rc is not MPI_SUCCESS. */
static void check_mpi(lua_State *L, int rc, const char *f) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (rc == MPI_SUCCESS) return;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  text[len] = '\0';
  luaL_error(L, "%s: mpi error: %s", f, text);
}


/* This process's rank and the number of processes. */
static int rank_of(void) {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}


static int size_of(void) {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}


/* ---- failures of one rank --------------------------------------------- */


/* Forget the shared error: a new collective begins. */
static void clear_shared(lua_State *L) {
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &shared_key);
}


/* Raise the message on top of the stack, noting first that every rank
** knows of it, so that mpi.fail passes it on without a word. */
static int raise_shared(lua_State *L) {
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &shared_key);
  return lua_error(L);
}


/* Whether the value at idx is the error every rank knows of. */
static int is_shared(lua_State *L, int idx) {
  int same;
  idx = lua_absindex(L, idx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &shared_key);
  same = lua_type(L, -1) == LUA_TSTRING && lua_rawequal(L, idx, -1);
  lua_pop(L, 1);
  return same;
}


/* Gather n longs from every rank into a new scratch buffer (left on the
** stack) and return the first rank whose part differs from rank 0's, or
** 0 when all agree; *all points at the buffer. */
static int compare(lua_State *L, const char *f, long *mine, int n,
                   long **all) {
  int size = size_of(), r;
  long *buf = (long *)lua_newuserdatauv(L, (size_t)(size * n) *
                                        sizeof(long), 0);
  check_mpi(L, MPI_Allgather(mine, n, MPI_LONG, buf, n, MPI_LONG,
                             MPI_COMM_WORLD), f);
  *all = buf;
  for (r = 1; r < size; r++)
    if (memcmp(buf, buf + (size_t)r * (size_t)n, (size_t)n * sizeof(long)))
      return r;
  return 0;
}


/*
** When one of the first headers all (H_SIZE longs a rank) reports a
** failure, every rank sends its note: mine, the message of this rank's
** failure, or nothing. A rank that did not fail then raises "f: rank r
** failed: note" for the first rank r that did; one that failed returns.
*/
static void reports(lua_State *L, const char *f, const long *all,
                    const char *mine) {
  char note[NOTE_SIZE], *notes;
  size_t len = mine ? strlen(mine) : 0;
  int r, first = -1;
  for (r = size_of() - 1; r >= 0; r--)
    if (all[(size_t)r * H_SIZE + H_KIND] == K_FAIL) first = r;
  if (first < 0) return;

  memset(note, 0, sizeof note);
  memcpy(note, mine ? mine : "", len < NOTE_SIZE ? len : NOTE_SIZE - 1);
  notes = (char *)lua_newuserdatauv(L, (size_t)size_of() * NOTE_SIZE, 0);
  check_mpi(L, MPI_Allgather(note, NOTE_SIZE, MPI_CHAR, notes, NOTE_SIZE,
                             MPI_CHAR, MPI_COMM_WORLD), f);
  if (mine) return;

  notes += (size_t)first * NOTE_SIZE;
  notes[NOTE_SIZE - 1] = '\0';
  lua_pushfstring(L, "%s: rank %d failed: %s", f, first, notes);
  raise_shared(L);
}


/* Tell every other rank that this one failed with message msg: their
** pending or next collective raises it (see reports). */
static void announce(lua_State *L, const char *msg) {
  long h[H_SIZE], *all;
  int top = lua_gettop(L);
  h[H_KIND] = K_FAIL;
  h[H_ARG] = 0;
  h[H_COUNT] = 0;
  compare(L, kinds[K_FAIL], h, H_SIZE, &all);
  reports(L, kinds[K_FAIL], all, msg);
  lua_settop(L, top);
}


/* Fail alone with the message on top of the stack: announce it to the
** other ranks, then raise it here. */
static int local_fail(lua_State *L) {
  announce(L, lua_tostring(L, -1));
  return raise_shared(L);
}


/* Fail alone with "bad argument #arg to 'kind' (why)". */
static int argfail(lua_State *L, int kind, int arg, const char *why) {
  lua_pushfstring(L, "bad argument #%d to '%s' (%s)", arg, kinds[kind],
                  why);
  return local_fail(L);
}


/* ---- tensors --------------------------------------------------------- */


/* The tensor userdata at idx, or NULL for any other value. Asks
** gd.istensor (the gdnn module is upvalue 1), so that every tensor
** class counts. */
static lgd_tensor *totensor(lua_State *L, int idx) {
  int is;
  if (lua_type(L, idx) != LUA_TUSERDATA) return NULL;
  idx = lua_absindex(L, idx);
  lua_getfield(L, lua_upvalueindex(1), "istensor");        /* f */
  lua_pushvalue(L, idx);
  lua_call(L, 1, 1);                                        /* flag */
  is = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return is ? (lgd_tensor *)lua_touserdata(L, idx) : NULL;
}


/* The live tensor at arg of collective kind, or a failure of this rank
** alone naming the argument (see argfail). */
static gd_tensor *checktensor(lua_State *L, int arg, int kind) {
  lgd_tensor *u = totensor(L, arg);
  if (u == NULL)
    argfail(L, kind, arg, lua_pushfstring(L, "tensor expected, got %s",
                                          luaL_typename(L, arg)));
  if (u->t == NULL) argfail(L, kind, arg, "tensor has been closed");
  return u->t;
}


/* The number of elements of t. */
static size_t numel(const gd_tensor *t) {
  size_t n = 1;
  int i;
  for (i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}


/* Whether t's elements lie in row-major order without gaps. */
static int contiguous(const gd_tensor *t) {
  ptrdiff_t s = 1;
  int i;
  for (i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->strides[i] != s) return 0;
    s *= (ptrdiff_t)t->shape[i];
  }
  return 1;
}


/* False for a broadcast view (a stride-0 dimension of size above 1). */
static int writable(const gd_tensor *t) {
  int i;
  for (i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->shape[i] > 1) return 0;
  return 1;
}


/* The address of t's first element. */
static double *data(const gd_tensor *t) {
  return t->storage->data + t->offset;
}


/*
** Copy the elements of t in row-major order to buf (out = 1), or from
** buf into t (out = 0). The index runs like an odometer over the shape.
*/
static void move(gd_tensor *t, double *buf, int out) {
  size_t idx[GD_MAX_DIMS] = {0}, k, n = numel(t);
  double *p = data(t);
  ptrdiff_t off = 0;
  int d;
  for (k = 0; k < n; k++) {
    if (out) buf[k] = p[off];
    else p[off] = buf[k];
    for (d = t->ndim - 1; d >= 0; d--) {
      off += t->strides[d];
      if (++idx[d] < t->shape[d]) break;
      off -= t->strides[d] * (ptrdiff_t)t->shape[d];
      idx[d] = 0;
    }
  }
}


/* Protected: push a full userdata of (integer argument 1) bytes. */
static int p_block(lua_State *L) {
  lua_newuserdatauv(L, (size_t)lua_tointeger(L, 1), 0);
  return 1;
}


/* A scratch buffer of n doubles that the GC owns (left on the stack);
** when it cannot be had, this rank fails alone (see local_fail). */
static double *scratch(lua_State *L, int kind, size_t n) {
  if (n > (size_t)INT_MAX) {
    lua_pushfstring(L, "%s: message too large", kinds[kind]);
    local_fail(L);
  }
  lua_pushcfunction(L, p_block);
  lua_pushinteger(L, (lua_Integer)(n ? n * sizeof(double) : 1));
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {                  /* buf | e */
    lua_pushfstring(L, "%s: %s", kinds[kind], lua_tostring(L, -1));
    local_fail(L);
  }
  return (double *)lua_touserdata(L, -1);
}


/* Push a new zero tensor of shape lead x (t's shape), made by
** gd.zeros so that the loaded gdnn owns it, and return it; when it
** cannot be made, this rank fails alone with gd.zeros's message. */
static gd_tensor *newtensor(lua_State *L, int kind, size_t lead,
                            const gd_tensor *t) {
  int i;
  lua_getfield(L, lua_upvalueindex(1), "zeros");             /* f */
  lua_createtable(L, t->ndim + 1, 0);                         /* f shape */
  lua_pushinteger(L, (lua_Integer)lead);
  lua_rawseti(L, -2, 1);
  for (i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->shape[i]);
    lua_rawseti(L, -2, i + 2);
  }
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {                   /* t | e */
    lua_pushfstring(L, "%s: %s", kinds[kind], lua_tostring(L, -1));
    local_fail(L);
  }
  return ((lgd_tensor *)lua_touserdata(L, -1))->t;
}


/* ---- agreement across ranks ------------------------------------------ */


/* Write a shape as sent (ndim, then the sizes) as "3x4" into buf
** ("scalar" for none). */
static const char *shapestr(char *buf, size_t sz, const long *s) {
  size_t used = 0;
  long i;
  if (s[0] == 0) return "scalar";
  buf[0] = '\0';
  for (i = 1; i <= s[0] && used < sz; i++)
    used += (size_t)snprintf(buf + used, sz - used, i > 1 ? "x%ld" : "%ld",
                             s[i]);
  return buf;
}


/* Raise, on every rank, the error for a first header h of rank r that
** differs from rank 0's h0. */
static int header_error(lua_State *L, const char *f, const long *h0,
                        const long *h, int r) {
  if (h0[H_KIND] != h[H_KIND])
    lua_pushfstring(L, "%s: rank 0 called %s but rank %d called %s", f,
                    kinds[h0[H_KIND]], r, kinds[h[H_KIND]]);
  else if (h0[H_COUNT] != h[H_COUNT])
    lua_pushfstring(L, "%s: rank 0 passed %d tensors but rank %d "
                    "passed %d", f, (int)h0[H_COUNT], r, (int)h[H_COUNT]);
  else if (h0[H_KIND] == K_ALLREDUCE)
    lua_pushfstring(L, "%s: rank 0 asked for %s but rank %d for %s", f,
                    ops[h0[H_ARG]], r, ops[h[H_ARG]]);
  else
    lua_pushfstring(L, "%s: rank 0 named root %d but rank %d root %d", f,
                    (int)h0[H_ARG], r, (int)h[H_ARG]);
  return raise_shared(L);
}


/*
** Check that every rank called the same collective f with the same op
** or root and tensors of the same shapes as a: the first header, then
** the shapes. A rank's failure report, or a difference, is a Lua error
** on every rank.
*/
static void agree(lua_State *L, int kind, int arg, const args *a) {
  const char *f = kinds[kind];
  long h[H_SIZE], *all, *s;
  char s0[GD_SHAPESTR_SIZE], s1[GD_SHAPESTR_SIZE];
  int top = lua_gettop(L), i, k, r;
  h[H_KIND] = kind;
  h[H_ARG] = arg;
  h[H_COUNT] = a->n;
  r = compare(L, f, h, H_SIZE, &all);
  reports(L, f, all, NULL);
  if (r != 0) header_error(L, f, all, all + (size_t)r * H_SIZE, r);
  if (a->n == 0) {
    lua_settop(L, top);
    return;
  }
  s = (long *)lua_newuserdatauv(L, (size_t)a->n * SHAPE_SIZE *
                                sizeof(long), 0);
  memset(s, 0, (size_t)a->n * SHAPE_SIZE * sizeof(long));
  for (i = 0; i < a->n; i++) {
    s[i * SHAPE_SIZE] = a->t[i]->ndim;
    for (k = 0; k < a->t[i]->ndim; k++)
      s[i * SHAPE_SIZE + 1 + k] = (long)a->t[i]->shape[k];
  }
  if ((r = compare(L, f, s, a->n * SHAPE_SIZE, &all)) != 0) {
    long *o = all + (size_t)r * (size_t)(a->n * SHAPE_SIZE);
    for (i = 0; i < a->n - 1; i++)
      if (memcmp(all + i * SHAPE_SIZE, o + i * SHAPE_SIZE,
                 SHAPE_SIZE * sizeof(long)))
        break;
    lua_pushfstring(L, "%s: tensor %d has shape %s on rank 0 but %s on "
                    "rank %d", f, i + 1,
                    shapestr(s0, sizeof s0, all + i * SHAPE_SIZE),
                    shapestr(s1, sizeof s1, o + i * SHAPE_SIZE), r);
    raise_shared(L);
  }
  lua_settop(L, top);
}


/* Read the tensors of argument 1 of collective kind: one tensor or a
** list of them. A bad one is a failure of this rank alone. */
static void checkargs(lua_State *L, args *a, int needwrite, int kind) {
  int i, n;
  a->n = 0;
  if (lua_type(L, 1) != LUA_TTABLE) {
    a->t[a->n++] = checktensor(L, 1, kind);
  } else {
    n = (int)luaL_len(L, 1);
    if (n < 1 || n > GD_MAX_DIMS)
      argfail(L, kind, 1, lua_pushfstring(L, "a list of 1 to %d tensors "
                                          "expected, got %d", GD_MAX_DIMS,
                                          n));
    for (i = 1; i <= n; i++) {
      lgd_tensor *u;
      lua_rawgeti(L, 1, i);                                 /* ... v */
      if ((u = totensor(L, -1)) == NULL)
        argfail(L, kind, 1, lua_pushfstring(L, "element %d is a %s, not "
                                            "a tensor", i,
                                            luaL_typename(L, -1)));
      if (u->t == NULL)
        argfail(L, kind, 1, lua_pushfstring(L, "element %d has been "
                                            "closed", i));
      a->t[a->n++] = u->t;
      lua_pop(L, 1);                        /* the list keeps it alive */
    }
  }
  for (i = 0; i < a->n; i++) {
    if (needwrite && !writable(a->t[i]))
      argfail(L, kind, 1, "tensor is a read-only broadcast view");
    if (numel(a->t[i]) > (size_t)INT_MAX)
      argfail(L, kind, 1, "tensor too large for one message");
  }
}


/* ---- the data movement ------------------------------------------------ */


/* The elements of a's tensors in one buffer for collective kind: the
** data of a lone contiguous tensor itself, else a packed copy (left on
** the stack). */
static double *gather_buffer(lua_State *L, int kind, const args *a,
                             size_t *n, int pack) {
  double *buf;
  size_t k = 0;
  int i;
  *n = 0;
  for (i = 0; i < a->n; i++) *n += numel(a->t[i]);
  if (a->n == 1 && contiguous(a->t[0])) return data(a->t[0]);
  buf = scratch(L, kind, *n);
  for (i = 0; i < a->n && pack; i++) {
    move(a->t[i], buf + k, 1);
    k += numel(a->t[i]);
  }
  return buf;
}


/* Copy buf back into a's tensors unless buf is a lone tensor's data. */
static void scatter_buffer(const args *a, double *buf) {
  size_t k = 0;
  int i;
  if (a->n == 1 && contiguous(a->t[0])) return;
  for (i = 0; i < a->n; i++) {
    move(a->t[i], buf + k, 0);
    k += numel(a->t[i]);
  }
}


/*
** Reduce n doubles of buf over every rank in place. Sums go to rank 0
** and are broadcast from there, so every rank holds the very same bits
** whatever order MPI adds in; max and min are exact anyway.
*/
static void reduce(lua_State *L, double *buf, size_t n, int op) {
  const char *f = "allreduce";
  int root = rank_of() == 0, c = (int)n;
  size_t k;
  if (op == OP_MAX || op == OP_MIN) {
    check_mpi(L, MPI_Allreduce(MPI_IN_PLACE, buf, c, MPI_DOUBLE,
                               op == OP_MAX ? MPI_MAX : MPI_MIN,
                               MPI_COMM_WORLD), f);
    return;
  }
  check_mpi(L, MPI_Reduce(root ? MPI_IN_PLACE : buf, buf, c, MPI_DOUBLE,
                          MPI_SUM, 0, MPI_COMM_WORLD), f);
  check_mpi(L, MPI_Bcast(buf, c, MPI_DOUBLE, 0, MPI_COMM_WORLD), f);
  if (op == OP_MEAN)
    for (k = 0; k < n; k++) buf[k] /= (double)size_of();
}


/* The root at arg of collective kind, once every rank agreed on it: a
** root that is no rank is the same error on every rank. */
static int checkroot(lua_State *L, int kind, int arg, lua_Integer root) {
  if (root < 0 || root >= size_of()) {
    lua_pushfstring(L, "bad argument #%d to '%s' (root %d is not a rank "
                    "of 0 to %d)", arg, kinds[kind], (int)root,
                    size_of() - 1);
    raise_shared(L);
  }
  return (int)root;
}


/* An integer argument (default 0) that fits a long header slot; any
** other value is a failure of this rank alone. */
static lua_Integer optroot(lua_State *L, int kind, int arg) {
  lua_Integer r = 0;
  int isint = 1;
  if (!lua_isnoneornil(L, arg)) r = lua_tointegerx(L, arg, &isint);
  if (!isint)
    argfail(L, kind, arg, lua_pushfstring(L, "integer expected, got %s",
                                          luaL_typename(L, arg)));
  if (r < INT_MIN || r > INT_MAX) r = INT_MIN;
  return r;
}


/* The reduction named at arg 2 of allreduce ("sum" when absent); any
** other value is a failure of this rank alone. */
static int checkop(lua_State *L) {
  const char *name;
  int i;
  if (lua_isnoneornil(L, 2)) return OP_SUM;
  if (lua_type(L, 2) != LUA_TSTRING)
    argfail(L, K_ALLREDUCE, 2, lua_pushfstring(L, "string expected, got "
                                               "%s", luaL_typename(L, 2)));
  name = lua_tostring(L, 2);
  for (i = 0; ops[i]; i++)
    if (strcmp(ops[i], name) == 0) return i;
  return argfail(L, K_ALLREDUCE, 2, lua_pushfstring(L, "invalid option "
                                                    "'%s'", name));
}


/* ---- the Lua functions ------------------------------------------------ */


/* mpi.rank(): this process's rank, 0 to size - 1. */
static int mpi_rank(lua_State *L) {
  lua_pushinteger(L, rank_of());
  return 1;
}


/* mpi.size(): the number of processes. */
static int mpi_size(lua_State *L) {
  lua_pushinteger(L, size_of());
  return 1;
}


/* mpi.wtime(): MPI's wall clock in seconds. */
static int mpi_wtime(lua_State *L) {
  lua_pushnumber(L, MPI_Wtime());
  return 1;
}


/* mpi.processor_name(): the name of the machine this rank runs on. */
static int mpi_processor_name(lua_State *L) {
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  check_mpi(L, MPI_Get_processor_name(name, &len), "processor_name");
  lua_pushlstring(L, name, (size_t)len);
  return 1;
}


/* mpi.barrier(): wait until every rank has arrived. */
static int mpi_barrier(lua_State *L) {
  args a;
  clear_shared(L);
  a.n = 0;
  agree(L, K_BARRIER, 0, &a);
  check_mpi(L, MPI_Barrier(MPI_COMM_WORLD), "barrier");
  return 0;
}


/*
** mpi.allreduce(x, op): x is a tensor or a list of tensors, reduced in
** place with op ("sum", the default, "mean", "max" or "min") and
** returned; a number gives the reduced number. Every rank must pass the
** same shapes.
*/
static int mpi_allreduce(lua_State *L) {
  args a;
  double v, *buf;
  size_t n;
  int op;
  clear_shared(L);
  op = checkop(L);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    v = lua_tonumber(L, 1);
    a.n = 0;
    agree(L, K_ALLREDUCE, op, &a);
    reduce(L, &v, 1, op);
    lua_pushnumber(L, v);
    return 1;
  }
  checkargs(L, &a, 1, K_ALLREDUCE);
  buf = gather_buffer(L, K_ALLREDUCE, &a, &n, 1);
  agree(L, K_ALLREDUCE, op, &a);
  reduce(L, buf, n, op);
  scatter_buffer(&a, buf);
  lua_settop(L, 1);
  return 1;
}


/* mpi.broadcast(x, root): copy root's tensor (or list of tensors) x
** into x on every rank, in place; root defaults to 0. Returns x. */
static int mpi_broadcast(lua_State *L) {
  lua_Integer r;
  args a;
  double *buf;
  size_t n;
  int root, me = rank_of();
  clear_shared(L);
  r = optroot(L, K_BROADCAST, 2);
  checkargs(L, &a, 1, K_BROADCAST);
  buf = gather_buffer(L, K_BROADCAST, &a, &n, me == r);
  agree(L, K_BROADCAST, (int)r, &a);
  root = checkroot(L, K_BROADCAST, 2, r);
  check_mpi(L, MPI_Bcast(buf, (int)n, MPI_DOUBLE, root, MPI_COMM_WORLD),
            "broadcast");
  if (me != root) scatter_buffer(&a, buf);
  lua_settop(L, 1);
  return 1;
}


/*
** The common part of gather and allgather: every rank's tensor t, of
** the same shape s everywhere, stacked into a new size x s tensor, on
** root r only (nil elsewhere) or on every rank for allgather. The
** result is made before the ranks agree, so that no rank can fail
** alone once they have.
*/
static int collect(lua_State *L, int kind) {
  args a;
  gd_tensor *out = NULL;
  double *buf, *dst = NULL;
  size_t n;
  lua_Integer r = 0;
  int root = -1, me = rank_of(), rc;
  clear_shared(L);
  if (kind == K_GATHER) r = optroot(L, kind, 2);
  a.n = 1;
  a.t[0] = checktensor(L, 1, kind);
  if (numel(a.t[0]) > (size_t)INT_MAX / (size_t)size_of())
    argfail(L, kind, 1, "tensor too large for one message");
  buf = gather_buffer(L, kind, &a, &n, 1);
  if (kind == K_ALLGATHER || me == r) {
    out = newtensor(L, kind, (size_t)size_of(), a.t[0]);   /* ... out */
    dst = data(out);
  }
  agree(L, kind, (int)r, &a);
  if (kind == K_GATHER) root = checkroot(L, kind, 2, r);
  if (root < 0)
    rc = MPI_Allgather(buf, (int)n, MPI_DOUBLE, dst, (int)n, MPI_DOUBLE,
                       MPI_COMM_WORLD);
  else
    rc = MPI_Gather(buf, (int)n, MPI_DOUBLE, dst, (int)n, MPI_DOUBLE,
                    root, MPI_COMM_WORLD);
  check_mpi(L, rc, kinds[kind]);
  if (out == NULL) lua_pushnil(L);
  return 1;
}


/* mpi.gather(t, root): on root, a new tensor of shape size x shape(t)
** whose slice i + 1 is rank i's t; nil on the other ranks. */
static int mpi_gather(lua_State *L) {
  return collect(L, K_GATHER);
}


/* mpi.allgather(t): the same stack of every rank's t on every rank. */
static int mpi_allgather(lua_State *L) {
  return collect(L, K_ALLGATHER);
}


/*
** mpi.fail(message): tell the other ranks that this one has failed:
** their pending or next collective raises "allreduce: rank r failed:
** message". Returns true; false, sending nothing, when message is the
** error that the last collective raised on every rank, so that a
** handler may pass on whatever error it catches.
*/
static int mpi_fail(lua_State *L) {
  const char *msg = luaL_tolstring(L, 1, NULL);            /* msg */
  if (is_shared(L, -1)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  announce(L, msg);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &shared_key);         /* known now */
  lua_pushboolean(L, 1);
  return 1;
}


static const luaL_Reg funcs[] = {
  {"rank", mpi_rank}, {"size", mpi_size}, {"wtime", mpi_wtime},
  {"processor_name", mpi_processor_name}, {"barrier", mpi_barrier},
  {"allreduce", mpi_allreduce}, {"broadcast", mpi_broadcast},
  {"gather", mpi_gather}, {"allgather", mpi_allgather},
  {"fail", mpi_fail}, {NULL, NULL}
};


/*
** require "gdnn.mpi": start MPI, load gdnn (whose tensors the module
** makes and reads) and return the table of functions, each with the
** gdnn module as its upvalue.
*/
int luaopen_gdnn_mpi(lua_State *L);

int luaopen_gdnn_mpi(lua_State *L) {
  start_mpi(L);
  lua_getglobal(L, "require");                             /* req */
  lua_pushliteral(L, "gdnn");
  lua_call(L, 1, 1);                                       /* gd */
  luaL_newlibtable(L, funcs);                              /* gd M */
  lua_insert(L, -2);                                       /* M gd */
  luaL_setfuncs(L, funcs, 1);                              /* M */
  return 1;
}
