/*
** tensor_ops.c: the work on elements. Copies, element-wise operations
** with NumPy broadcasting, reductions, matrix products through CBLAS and
** equality all run through one strided loop: the operands are brought to
** a common shape (stride 0 where they broadcast), dimensions that are
** contiguous in every operand are merged, and the innermost dimension
** runs as a tight loop (a flat one when everything is contiguous).
**
** Limits: float64 only; in the "_into" forms out may be an input itself
** but must not partly overlap one; matrix products take 1-d and 2-d
** operands whose sizes fit in an int.
*/
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "activation.h"
#include "tensor.h"
#include "vector.h"

#define MAXOPS 3


/* ---- the strided loop ---------------------------------------------- */

/* Operands walked together over one shape; base points at each
** operand's first element and st holds its strides. */
typedef struct loop {
  int ndim, nops;
  size_t shape[GD_MAX_DIMS];
  ptrdiff_t st[MAXOPS][GD_MAX_DIMS];
  double *base[MAXOPS];
} loop;

/* Work on one innermost row of n elements: p[k] is operand k's first
** element in the row and s[k] its stride. */
typedef void (*row_fn)(size_t n, double *const *p, const ptrdiff_t *s,
                       void *ctx);


/* Set up a loop over views that all have the given shape. Size-1
** dimensions are dropped and neighbours that are contiguous in every
** operand merge, keeping row-major order. Returns 0 for no elements. */
static int loop_init(loop *L, int nops, const gd_tensor *const *v) {
  const gd_tensor *t0 = v[0];
  int i, k, n = 0;

  L->nops = nops;
  for (k = 0; k < nops; k++) L->base[k] = gd_tensor_data(v[k]);
  for (i = 0; i < t0->ndim; i++) {
    if (t0->shape[i] == 0) return 0;
    if (t0->shape[i] == 1) continue;
    L->shape[n] = t0->shape[i];
    for (k = 0; k < nops; k++) L->st[k][n] = v[k]->strides[i];
    n++;
  }
  if (n == 0) {
    L->shape[n] = 1;
    for (k = 0; k < nops; k++) L->st[k][n] = 0;
    n++;
  }

  L->ndim = 1;
  for (i = 1; i < n; i++) {
    int d = L->ndim - 1, merge = 1;
    for (k = 0; k < nops; k++)
      if (L->st[k][d] != L->st[k][i] * (ptrdiff_t)L->shape[i]) merge = 0;
    if (merge) {
      L->shape[d] *= L->shape[i];
      for (k = 0; k < nops; k++) L->st[k][d] = L->st[k][i];
    } else {
      L->shape[d + 1] = L->shape[i];
      for (k = 0; k < nops; k++) L->st[k][d + 1] = L->st[k][i];
      L->ndim++;
    }
  }
  return 1;
}


/* Call f on every innermost row, outer indices in row-major order. */
static void loop_run(const loop *L, row_fn f, void *ctx) {
  size_t idx[GD_MAX_DIMS] = {0};
  double *p[MAXOPS];
  ptrdiff_t inner[MAXOPS];
  int last = L->ndim - 1, d, k;

  for (k = 0; k < L->nops; k++) {
    p[k] = L->base[k];
    inner[k] = L->st[k][last];
  }
  for (;;) {
    f(L->shape[last], p, inner, ctx);
    for (d = last - 1; d >= 0; d--) {
      for (k = 0; k < L->nops; k++) p[k] += L->st[k][d];
      if (++idx[d] < L->shape[d]) break;
      for (k = 0; k < L->nops; k++)
        p[k] -= L->st[k][d] * (ptrdiff_t)L->shape[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}


/* Run f over operands of one shape (nothing happens when it is empty). */
static void for_rows(int nops, const gd_tensor *const *v, row_fn f,
                     void *ctx) {
  loop L;
  if (loop_init(&L, nops, v)) loop_run(&L, f, ctx);
}


/* A header h that reads t broadcast to shape, which the caller has
** checked is a valid broadcast of t's shape. */
static void broadcast_view(gd_tensor *h, const gd_tensor *t, int ndim,
                           const size_t *shape) {
  int i, lead = ndim - t->ndim;
  *h = *t;
  h->ndim = ndim;
  for (i = 0; i < ndim; i++) {
    h->shape[i] = shape[i];
    if (i < lead || t->shape[i - lead] != shape[i])
      h->strides[i] = 0;
    else
      h->strides[i] = t->strides[i - lead];
  }
}


/* A 0-d header over one double outside any tensor, using st for its
** storage record. */
static void number_view(gd_tensor *h, gd_storage *st, double *x) {
  memset(h, 0, sizeof *h);
  memset(st, 0, sizeof *st);
  st->data = x;
  st->size = 1;
  st->refcount = 1;
  h->storage = st;
}


/* The half-open range of storage offsets t can reach. */
static void extent(const gd_tensor *t, size_t *lo, size_t *hi) {
  size_t n = gd_tensor_numel(t), e = 1;
  int i;
  for (i = 0; i < t->ndim; i++)
    e += (t->shape[i] - 1) * (size_t)t->strides[i];
  *lo = t->offset;
  *hi = n == 0 ? t->offset : t->offset + e;
}


/* 1 when a and b may share elements. */
static int overlaps(const gd_tensor *a, const gd_tensor *b) {
  size_t alo, ahi, blo, bhi;
  if (a->storage != b->storage) return 0;
  extent(a, &alo, &ahi);
  extent(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}


/* The errors shared by every "_into" form. */
static gd_status check_out(const char *op, const gd_tensor *out, int ndim,
                           const size_t *shape, gd_error *err) {
  char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
  int i, same = out->ndim == ndim;
  for (i = 0; same && i < ndim; i++) same = out->shape[i] == shape[i];
  if (!same)
    return gd_error_set(err, GD_ERR_SHAPE, 0,
                        "%s: out has shape %s, the result has shape %s",
                        op, gd_tensor_shape_str(out, a, sizeof a),
                        gd_shape_str(b, sizeof b, ndim, shape));
  if (!gd_tensor_is_writable(out))
    return gd_error_set(err, GD_ERR_READONLY, 0,
                        "%s: out is a broadcast view and refuses writes",
                        op);
  return GD_OK;
}


/* A new zero tensor for the result of op, whose errors name op. */
static gd_status new_result(gd_tensor **out, const char *op, int ndim,
                            const size_t *shape, gd_error *err) {
  static const char prefix[] = "zeros: ";
  gd_status st = gd_tensor_new(out, ndim, shape, err);
  if (st != GD_OK && err != NULL &&
      strncmp(err->msg, prefix, sizeof prefix - 1) == 0) {
    char msg[GD_ERRMSG_SIZE];
    memcpy(msg, err->msg + sizeof prefix - 1,
           sizeof msg - (sizeof prefix - 1));
    gd_error_set(err, st, err->operand, "%s: %s", op, msg);
  }
  return st;
}


/* ---- copies -------------------------------------------------------- */

static void row_copy(size_t n, double *const *p, const ptrdiff_t *s,
                     void *ctx) {
  double *o = p[0];
  const double *a = p[1];
  size_t i;
  (void)ctx;
  if (s[0] == 1 && s[1] == 1)
    memmove(o, a, n * sizeof *o);
  else
    for (i = 0; i < n; i++) o[(ptrdiff_t)i * s[0]] = a[(ptrdiff_t)i * s[1]];
}


static void row_fill(size_t n, double *const *p, const ptrdiff_t *s,
                     void *ctx) {
  double v = *(const double *)ctx, *o = p[0];
  size_t i;
  for (i = 0; i < n; i++) o[(ptrdiff_t)i * s[0]] = v;
}


gd_status gd_tensor_copy_into(gd_tensor *dst, const gd_tensor *src,
                              gd_error *err) {
  char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
  gd_tensor h;
  const gd_tensor *v[2];
  int i, lead = dst->ndim - src->ndim, ok = lead >= 0;

  for (i = 0; ok && i < src->ndim; i++)
    ok = src->shape[i] == 1 || src->shape[i] == dst->shape[i + lead];
  if (!ok)
    return gd_error_set(err, GD_ERR_SHAPE, 2,
                        "copy: shape %s cannot be broadcast to %s",
                        gd_tensor_shape_str(src, a, sizeof a),
                        gd_tensor_shape_str(dst, b, sizeof b));
  if (!gd_tensor_is_writable(dst))
    return gd_error_set(err, GD_ERR_READONLY, 1,
                        "copy: the destination is a broadcast view and "
                        "refuses writes");
  broadcast_view(&h, src, dst->ndim, dst->shape);
  v[0] = dst;
  v[1] = &h;
  for_rows(2, v, row_copy, NULL);
  return GD_OK;
}


gd_status gd_tensor_fill(gd_tensor *t, double v, gd_error *err) {
  const gd_tensor *vs[1];
  if (!gd_tensor_is_writable(t))
    return gd_error_set(err, GD_ERR_READONLY, 1,
                        "fill: the tensor is a broadcast view and refuses "
                        "writes");
  vs[0] = t;
  for_rows(1, vs, row_fill, &v);
  return GD_OK;
}


/* The buffer is wrapped as a contiguous header of t's shape. */
void gd_tensor_to_buffer(const gd_tensor *t, double *buf) {
  gd_storage st;
  gd_tensor h;
  const gd_tensor *v[2];
  ptrdiff_t s = 1;
  int i;
  number_view(&h, &st, buf);
  h.ndim = t->ndim;
  for (i = t->ndim - 1; i >= 0; i--) {
    h.shape[i] = t->shape[i];
    h.strides[i] = s;
    s *= (ptrdiff_t)t->shape[i];
  }
  v[0] = &h;
  v[1] = t;
  for_rows(2, v, row_copy, NULL);
}


gd_status gd_tensor_clone(gd_tensor **out, const gd_tensor *t,
                          gd_error *err) {
  gd_tensor *c;
  gd_status st = new_result(&c, "clone", t->ndim, t->shape, err);
  if (st != GD_OK) return st;
  gd_tensor_to_buffer(t, gd_tensor_data(c));
  *out = c;
  return GD_OK;
}


gd_status gd_tensor_contiguous(gd_tensor **out, const gd_tensor *t,
                               gd_error *err) {
  if (gd_tensor_is_contiguous(t)) return gd_tensor_view(out, t, err);
  return gd_tensor_clone(out, t, err);
}


/* ---- element-wise -------------------------------------------------- */

static const char *const binop_names[] = {
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne",
  "lt", "le", "gt", "ge", "atan2"
};

static const char *const unop_names[] = {
  "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos",
  "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "sign", "floor",
  "ceil", "round", "square", "reciprocal", "log1p", "expm1"
};

#define NBINOPS ((int)(sizeof binop_names / sizeof binop_names[0]))
#define NUNOPS ((int)(sizeof unop_names / sizeof unop_names[0]))


const char *gd_binop_name(gd_binop op) {
  return (int)op >= 0 && (int)op < NBINOPS ? binop_names[op] : "binary";
}


const char *gd_unop_name(gd_unop op) {
  return (int)op >= 0 && (int)op < NUNOPS ? unop_names[op] : "unary";
}


/* NumPy's maximum and minimum: a NaN on either side wins. */
static double maximum(double x, double y) {
  return (x != x || x > y) ? x : y;
}


static double minimum(double x, double y) {
  return (x != x || x < y) ? x : y;
}


/* One row of a binary operation, written out per case so that the
** compiler sees plain loops; the second branch is a scalar on the
** right, the third a scalar on the left. */
#define ROW2(EXPR) do {                                               \
    if (so == 1 && sa == 1 && sb == 1) {                              \
      for (i = 0; i < n; i++) {                                       \
        double x = a[i], y = b[i]; o[i] = (EXPR);                     \
      }                                                               \
    } else if (so == 1 && sa == 1 && sb == 0) {                       \
      double y = *b;                                                  \
      for (i = 0; i < n; i++) { double x = a[i]; o[i] = (EXPR); }     \
    } else if (so == 1 && sa == 0 && sb == 1) {                       \
      double x = *a;                                                  \
      for (i = 0; i < n; i++) { double y = b[i]; o[i] = (EXPR); }     \
    } else {                                                          \
      for (i = 0; i < n; i++) {                                       \
        double x = a[(ptrdiff_t)i * sa], y = b[(ptrdiff_t)i * sb];    \
        o[(ptrdiff_t)i * so] = (EXPR);                                \
      }                                                               \
    }                                                                 \
  } while (0)


static void row_binary(size_t n, double *const *p, const ptrdiff_t *s,
                       void *ctx) {
  double *o = p[0];
  const double *a = p[1], *b = p[2];
  ptrdiff_t so = s[0], sa = s[1], sb = s[2];
  size_t i;
  switch (*(const gd_binop *)ctx) {
    case GD_ADD: ROW2(x + y); break;
    case GD_SUB: ROW2(x - y); break;
    case GD_MUL: ROW2(x * y); break;
    case GD_DIV: ROW2(x / y); break;
    case GD_POW: ROW2(pow(x, y)); break;
    case GD_MAXIMUM: ROW2(maximum(x, y)); break;
    case GD_MINIMUM: ROW2(minimum(x, y)); break;
    case GD_EQ: ROW2(x == y ? 1.0 : 0.0); break;
    case GD_NE: ROW2(x != y ? 1.0 : 0.0); break;
    case GD_LT: ROW2(x < y ? 1.0 : 0.0); break;
    case GD_LE: ROW2(x <= y ? 1.0 : 0.0); break;
    case GD_GT: ROW2(x > y ? 1.0 : 0.0); break;
    case GD_GE: ROW2(x >= y ? 1.0 : 0.0); break;
    case GD_ATAN2: ROW2(atan2(x, y)); break;
  }
}


gd_status gd_broadcast_shapes(int na, const size_t *sa, int nb,
                              const size_t *sb, int *ndim, size_t *shape,
                              gd_error *err) {
  char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
  size_t out[GD_MAX_DIMS];
  int n = na > nb ? na : nb, i;
  for (i = 0; i < n; i++) {
    size_t x = i < n - na ? 1 : sa[i - (n - na)];
    size_t y = i < n - nb ? 1 : sb[i - (n - nb)];
    if (x != y && x != 1 && y != 1)
      return gd_error_set(err, GD_ERR_SHAPE, 2,
                          "shapes %s and %s cannot be broadcast",
                          gd_shape_str(a, sizeof a, na, sa),
                          gd_shape_str(b, sizeof b, nb, sb));
    out[i] = x == 1 ? y : x;
  }
  *ndim = n;
  memcpy(shape, out, (size_t)n * sizeof *shape);
  return GD_OK;
}


/* The broadcast shape of a binary operation, with an error naming op. */
static gd_status binary_shape(const char *op, const gd_tensor *a,
                              const gd_tensor *b, int *ndim,
                              size_t *shape, gd_error *err) {
  gd_status st = gd_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape,
                                     ndim, shape, err);
  if (st != GD_OK && err != NULL) {
    char msg[GD_ERRMSG_SIZE];
    memcpy(msg, err->msg, sizeof msg);
    gd_error_set(err, st, 2, "%s: %s", op, msg);
  }
  return st;
}


static gd_status bad_binop(gd_binop op, gd_error *err) {
  return gd_error_set(err, GD_ERR_ARG, 0, "binary: unknown operation %d",
                      (int)op);
}


gd_status gd_tensor_binary_into(gd_tensor *out, gd_binop op,
                                const gd_tensor *a, const gd_tensor *b,
                                gd_error *err) {
  const char *name = gd_binop_name(op);
  size_t shape[GD_MAX_DIMS];
  gd_tensor ha, hb;
  const gd_tensor *v[3];
  int ndim;
  gd_status st;

  if ((int)op < 0 || (int)op >= NBINOPS) return bad_binop(op, err);
  st = binary_shape(name, a, b, &ndim, shape, err);
  if (st == GD_OK) st = check_out(name, out, ndim, shape, err);
  if (st != GD_OK) return st;

  broadcast_view(&ha, a, ndim, shape);
  broadcast_view(&hb, b, ndim, shape);
  v[0] = out;
  v[1] = &ha;
  v[2] = &hb;
  for_rows(3, v, row_binary, &op);
  return GD_OK;
}


gd_status gd_tensor_binary(gd_tensor **out, gd_binop op,
                           const gd_tensor *a, const gd_tensor *b,
                           gd_error *err) {
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t;
  int ndim;
  gd_status st;
  if ((int)op < 0 || (int)op >= NBINOPS) return bad_binop(op, err);
  st = binary_shape(gd_binop_name(op), a, b, &ndim, shape, err);
  if (st == GD_OK) st = new_result(&t, gd_binop_name(op), ndim, shape, err);
  if (st != GD_OK) return st;
  gd_tensor_binary_into(t, op, a, b, err);
  *out = t;
  return GD_OK;
}


gd_status gd_tensor_binary_scalar_into(gd_tensor *out, gd_binop op,
                                       const gd_tensor *a, double s,
                                       int scalar_first, gd_error *err) {
  gd_storage st;
  gd_tensor h;
  number_view(&h, &st, &s);
  if (scalar_first) return gd_tensor_binary_into(out, op, &h, a, err);
  return gd_tensor_binary_into(out, op, a, &h, err);
}


gd_status gd_tensor_binary_scalar(gd_tensor **out, gd_binop op,
                                  const gd_tensor *a, double s,
                                  int scalar_first, gd_error *err) {
  gd_tensor *t;
  gd_status st;
  if ((int)op < 0 || (int)op >= NBINOPS) return bad_binop(op, err);
  st = new_result(&t, gd_binop_name(op), a->ndim, a->shape, err);
  if (st != GD_OK) return st;
  gd_tensor_binary_scalar_into(t, op, a, s, scalar_first, err);
  *out = t;
  return GD_OK;
}


static double sign(double x) {
  return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
}


#define ROW1(EXPR) do {                                               \
    if (so == 1 && sa == 1) {                                         \
      for (i = 0; i < n; i++) { double x = a[i]; o[i] = (EXPR); }     \
    } else {                                                          \
      for (i = 0; i < n; i++) {                                       \
        double x = a[(ptrdiff_t)i * sa];                              \
        o[(ptrdiff_t)i * so] = (EXPR);                                \
      }                                                               \
    }                                                                 \
  } while (0)


static void row_unary(size_t n, double *const *p, const ptrdiff_t *s,
                      void *ctx) {
  double *o = p[0];
  const double *a = p[1];
  ptrdiff_t so = s[0], sa = s[1];
  size_t i;
  switch (*(const gd_unop *)ctx) {
    case GD_NEG: ROW1(-x); break;
    case GD_ABS: ROW1(fabs(x)); break;
    case GD_EXP: ROW1(exp(x)); break;
    case GD_LOG: ROW1(log(x)); break;
    case GD_SQRT: ROW1(sqrt(x)); break;
    case GD_SIN: ROW1(sin(x)); break;
    case GD_COS: ROW1(cos(x)); break;
    case GD_TAN: ROW1(tan(x)); break;
    case GD_ASIN: ROW1(asin(x)); break;
    case GD_ACOS: ROW1(acos(x)); break;
    case GD_ATAN: ROW1(atan(x)); break;
    case GD_SINH: ROW1(sinh(x)); break;
    case GD_COSH: ROW1(cosh(x)); break;
    case GD_TANH: gd_activation_tanh_fill(n, o, so, a, sa); break;
    case GD_SIGMOID: gd_activation_sigmoid_fill(n, o, so, a, sa); break;
    case GD_RELU: ROW1(x > 0 || x != x ? x : 0.0); break;
    case GD_SIGN: ROW1(sign(x)); break;
    case GD_FLOOR: ROW1(floor(x)); break;
    case GD_CEIL: ROW1(ceil(x)); break;
    case GD_ROUND: ROW1(nearbyint(x)); break;
    case GD_SQUARE: ROW1(x * x); break;
    case GD_RECIPROCAL: ROW1(1.0 / x); break;
    case GD_LOG1P: ROW1(log1p(x)); break;
    case GD_EXPM1: ROW1(expm1(x)); break;
  }
}


static gd_status bad_unop(gd_unop op, gd_error *err) {
  return gd_error_set(err, GD_ERR_ARG, 0, "unary: unknown operation %d",
                      (int)op);
}


/* Round halves to even, as NumPy does. */
gd_status gd_tensor_unary_into(gd_tensor *out, gd_unop op,
                               const gd_tensor *a, gd_error *err) {
  const gd_tensor *v[2];
  gd_status st;
  if ((int)op < 0 || (int)op >= NUNOPS) return bad_unop(op, err);
  st = check_out(gd_unop_name(op), out, a->ndim, a->shape, err);
  if (st != GD_OK) return st;
  v[0] = out;
  v[1] = a;
  for_rows(2, v, row_unary, &op);
  return GD_OK;
}


gd_status gd_tensor_unary(gd_tensor **out, gd_unop op, const gd_tensor *a,
                          gd_error *err) {
  gd_tensor *t;
  gd_status st;
  if ((int)op < 0 || (int)op >= NUNOPS) return bad_unop(op, err);
  st = new_result(&t, gd_unop_name(op), a->ndim, a->shape, err);
  if (st != GD_OK) return st;
  gd_tensor_unary_into(t, op, a, err);
  *out = t;
  return GD_OK;
}


static void row_axpby(size_t n, double *const *p, const ptrdiff_t *s,
                      void *ctx) {
  const double *ab = ctx;
  double al = ab[0], be = ab[1], *o = p[0];
  const double *a = p[1], *b = p[2];
  ptrdiff_t so = s[0], sa = s[1], sb = s[2];
  size_t i;
  ROW2(x * al + y * be);
}


/* a and b broadcast to out's shape, as in the binary operations. */
gd_status gd_tensor_axpby_into(gd_tensor *out, double alpha,
                               const gd_tensor *a, double beta,
                               const gd_tensor *b, gd_error *err) {
  size_t shape[GD_MAX_DIMS];
  double ab[2];
  gd_tensor ha, hb;
  const gd_tensor *v[3];
  int ndim;
  gd_status st = binary_shape("axpby", a, b, &ndim, shape, err);

  if (st == GD_OK) st = check_out("axpby", out, ndim, shape, err);
  if (st != GD_OK) return st;
  broadcast_view(&ha, a, ndim, shape);
  broadcast_view(&hb, b, ndim, shape);
  v[0] = out;
  v[1] = &ha;
  v[2] = &hb;
  ab[0] = alpha;
  ab[1] = beta;
  for_rows(3, v, row_axpby, ab);
  return GD_OK;
}


/* ---- reductions ---------------------------------------------------- */

static const char *const reduce_names[] = {
  "sum", "mean", "prod", "max", "min", "argmax", "argmin", "norm"
};

#define NREDUCE ((int)(sizeof reduce_names / sizeof reduce_names[0]))


const char *gd_reduceop_name(gd_reduceop op) {
  return (int)op >= 0 && (int)op < NREDUCE ? reduce_names[op] : "reduce";
}


/* The value a reduction starts from before it meets any element. */
static double reduce_init(gd_reduceop op) {
  switch (op) {
    case GD_PROD: return 1.0;
    case GD_MAX: return -INFINITY;
    case GD_MIN: return INFINITY;
    default: return 0.0;
  }
}


/* Fold one row into out: a scalar accumulator when out's stride is 0
** (summing along the row), element by element otherwise. */
#define FOLD(EXPR) do {                                               \
    if (so == 0) {                                                    \
      double acc = *o;                                                \
      for (i = 0; i < n; i++) {                                       \
        double x = a[(ptrdiff_t)i * sa]; acc = (EXPR);                \
      }                                                               \
      *o = acc;                                                       \
    } else {                                                          \
      for (i = 0; i < n; i++) {                                       \
        double x = a[(ptrdiff_t)i * sa], acc = o[(ptrdiff_t)i * so];  \
        o[(ptrdiff_t)i * so] = (EXPR);                                \
      }                                                               \
    }                                                                 \
  } while (0)


/* A contiguous row summed with four partial sums, which runs faster
** and rounds less than one running sum. */
static double sum_row(const double *a, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < n; i++) s0 += a[i];
  return (s0 + s1) + (s2 + s3);
}


static void row_reduce(size_t n, double *const *p, const ptrdiff_t *s,
                       void *ctx) {
  double *o = p[0];
  const double *a = p[1];
  ptrdiff_t so = s[0], sa = s[1];
  size_t i;
  switch (*(const gd_reduceop *)ctx) {
    case GD_SUM: case GD_MEAN:
      if (so == 0 && sa == 1) *o += sum_row(a, n);
      else FOLD(acc + x);
      break;
    case GD_PROD: FOLD(acc * x); break;
    case GD_MAX: FOLD(maximum(x, acc)); break;
    case GD_MIN: FOLD(minimum(x, acc)); break;
    case GD_NORM: FOLD(acc + x * x); break;
    default: break;
  }
}


/* The running state of an argmax or argmin: the best value so far and
** its index; count is how many elements came before this row. */
typedef struct argstate {
  gd_reduceop op;
  int started;
  double best;
  size_t at, count, len;
  ptrdiff_t stride;
} argstate;


/* 1 when x beats best: larger (or smaller), or the first NaN. */
static int beats(gd_reduceop op, double x, double best) {
  if (best != best) return 0;
  if (x != x) return 1;
  return op == GD_ARGMAX ? x > best : x < best;
}


static void row_arg_all(size_t n, double *const *p, const ptrdiff_t *s,
                        void *ctx) {
  argstate *g = ctx;
  const double *a = p[0];
  size_t i;
  for (i = 0; i < n; i++) {
    double x = a[(ptrdiff_t)i * s[0]];
    if (!g->started || beats(g->op, x, g->best)) {
      g->started = 1;
      g->best = x;
      g->at = g->count + i;
    }
  }
  g->count += n;
}


/* For each element of a row of out, the index of the best of the len
** elements of a that lie stride apart from the matching position. */
static void row_arg_dim(size_t n, double *const *p, const ptrdiff_t *s,
                        void *ctx) {
  const argstate *g = ctx;
  size_t i, j;
  for (i = 0; i < n; i++) {
    const double *a = p[1] + (ptrdiff_t)i * s[1];
    double best = a[0];
    size_t at = 0;
    for (j = 1; j < g->len; j++) {
      if (beats(g->op, a[(ptrdiff_t)j * g->stride], best)) {
        best = a[(ptrdiff_t)j * g->stride];
        at = j;
      }
    }
    p[0][(ptrdiff_t)i * s[0]] = (double)at;
  }
}


/* Check op, dim and emptiness, and write the result's shape. */
static gd_status reduce_shape(gd_reduceop op, const gd_tensor *a, int dim,
                              int keepdim, int *ndim, size_t *shape,
                              gd_error *err) {
  char buf[GD_SHAPESTR_SIZE];
  const char *name = gd_reduceop_name(op);
  size_t len;
  int i, n = 0;

  if ((int)op < 0 || (int)op >= NREDUCE)
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "reduce: unknown operation %d", (int)op);
  if (dim != GD_ALL_DIMS && (dim < 0 || dim >= a->ndim))
    return gd_error_set(err, GD_ERR_RANGE, 1,
                        "%s: dimension %d out of range for a tensor of "
                        "%d dims", name, dim, a->ndim);
  len = dim == GD_ALL_DIMS ? gd_tensor_numel(a) : a->shape[dim];
  if (len == 0 && (op == GD_MAX || op == GD_MIN || op == GD_ARGMAX ||
                   op == GD_ARGMIN))
    return gd_error_set(err, GD_ERR_SHAPE, 1,
                        "%s: cannot reduce over no elements (shape %s)",
                        name, gd_tensor_shape_str(a, buf, sizeof buf));
  for (i = 0; i < a->ndim; i++) {
    if (dim == GD_ALL_DIMS || dim == i) {
      if (keepdim) shape[n++] = 1;
    } else {
      shape[n++] = a->shape[i];
    }
  }
  *ndim = n;
  return GD_OK;
}


gd_status gd_tensor_reduce_all(double *v, gd_reduceop op,
                               const gd_tensor *a, gd_error *err) {
  size_t shape[GD_MAX_DIMS];
  double acc;
  gd_storage st;
  gd_tensor h, ha;
  const gd_tensor *vs[2];
  int ndim;
  gd_status s = reduce_shape(op, a, GD_ALL_DIMS, 0, &ndim, shape, err);

  if (s != GD_OK) return s;
  if (op == GD_ARGMAX || op == GD_ARGMIN) {
    argstate g;
    memset(&g, 0, sizeof g);
    g.op = op;
    vs[0] = a;
    for_rows(1, vs, row_arg_all, &g);
    *v = (double)g.at;
    return GD_OK;
  }

  acc = reduce_init(op);
  number_view(&h, &st, &acc);
  broadcast_view(&ha, &h, a->ndim, a->shape);
  vs[0] = &ha;
  vs[1] = a;
  for_rows(2, vs, row_reduce, &op);
  if (op == GD_MEAN) acc /= (double)gd_tensor_numel(a);
  if (op == GD_NORM) acc = sqrt(acc);
  *v = acc;
  return GD_OK;
}


/* out viewed with a's rank (a size-1 dim at dim when keepdim is off),
** then broadcast along dim to a's shape. */
static void out_along(gd_tensor *h, const gd_tensor *out,
                      const gd_tensor *a, int dim, int keepdim) {
  gd_tensor k = *out;
  int i;
  if (!keepdim) {
    for (i = a->ndim - 1; i > dim; i--) {
      k.shape[i] = out->shape[i - 1];
      k.strides[i] = out->strides[i - 1];
    }
    k.shape[dim] = 1;
    k.strides[dim] = 0;
    k.ndim = a->ndim;
  }
  broadcast_view(h, &k, a->ndim, a->shape);
}


/* argmax or argmin along dim: a loop over out's positions, each one
** scanning its line of a. */
static void arg_dim(gd_tensor *out, gd_reduceop op, const gd_tensor *a,
                    int dim, int keepdim) {
  gd_tensor ho, ha = *a;
  const gd_tensor *vs[2];
  argstate g;
  int i;

  out_along(&ho, out, a, dim, keepdim);
  for (i = dim; i + 1 < a->ndim; i++) {
    ho.shape[i] = ho.shape[i + 1];
    ho.strides[i] = ho.strides[i + 1];
    ha.shape[i] = a->shape[i + 1];
    ha.strides[i] = a->strides[i + 1];
  }
  ho.ndim = ha.ndim = a->ndim - 1;
  memset(&g, 0, sizeof g);
  g.op = op;
  g.len = a->shape[dim];
  g.stride = a->strides[dim];
  vs[0] = &ho;
  vs[1] = &ha;
  for_rows(2, vs, row_arg_dim, &g);
}


/* out must not overlap a: it is cleared before a is read. */
gd_status gd_tensor_reduce_into(gd_tensor *out, gd_reduceop op,
                                const gd_tensor *a, int dim, int keepdim,
                                gd_error *err) {
  const char *name = gd_reduceop_name(op);
  size_t shape[GD_MAX_DIMS];
  gd_tensor ho;
  const gd_tensor *vs[2];
  double v;
  int ndim;
  gd_status st = reduce_shape(op, a, dim, keepdim, &ndim, shape, err);

  if (st == GD_OK) st = check_out(name, out, ndim, shape, err);
  if (st != GD_OK) return st;
  if (dim == GD_ALL_DIMS) {
    st = gd_tensor_reduce_all(&v, op, a, err);
    return st == GD_OK ? gd_tensor_fill(out, v, err) : st;
  }
  if (overlaps(out, a))
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "%s: out overlaps the tensor it reduces", name);
  if (op == GD_ARGMAX || op == GD_ARGMIN) {
    arg_dim(out, op, a, dim, keepdim);
    return GD_OK;
  }

  gd_tensor_fill(out, reduce_init(op), err);
  out_along(&ho, out, a, dim, keepdim);
  vs[0] = &ho;
  vs[1] = a;
  for_rows(2, vs, row_reduce, &op);
  if (op == GD_MEAN)
    gd_tensor_binary_scalar_into(out, GD_DIV, out, (double)a->shape[dim],
                                 0, err);
  if (op == GD_NORM) gd_tensor_unary_into(out, GD_SQRT, out, err);
  return GD_OK;
}


gd_status gd_tensor_reduce(gd_tensor **out, gd_reduceop op,
                           const gd_tensor *a, int dim, int keepdim,
                           gd_error *err) {
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t;
  int ndim;
  gd_status st = reduce_shape(op, a, dim, keepdim, &ndim, shape, err);
  if (st == GD_OK) st = new_result(&t, gd_reduceop_name(op), ndim, shape, err);
  if (st != GD_OK) return st;
  st = gd_tensor_reduce_into(t, op, a, dim, keepdim, err);
  if (st != GD_OK) {
    gd_tensor_free(t);
    return st;
  }
  *out = t;
  return GD_OK;
}


/* ---- matrix products ----------------------------------------------- */

/* A rows x cols matrix as BLAS sees it, taken from a 2-d tensor or from
** a vector standing as one row or one column. */
typedef struct mat {
  double *p;
  size_t r, c;
  ptrdiff_t rs, cs;
} mat;


static mat mat_of(const gd_tensor *t, int vector_as_row) {
  mat m;
  m.p = gd_tensor_data(t);
  if (t->ndim == 2) {
    m.r = t->shape[0];
    m.c = t->shape[1];
    m.rs = t->strides[0];
    m.cs = t->strides[1];
  } else if (t->ndim == 1 && vector_as_row) {
    m.r = 1;
    m.c = t->shape[0];
    m.rs = 0;
    m.cs = t->strides[0];
  } else {
    m.r = t->ndim == 1 ? t->shape[0] : 1;
    m.c = 1;
    m.rs = t->ndim == 1 ? t->strides[0] : 0;
    m.cs = 0;
  }
  return m;
}


/* How BLAS can read m in place: CblasNoTrans (row-major with unit
** column stride) or CblasTrans (its transpose is), with the leading
** dimension in *ld; -1 when only a copy will do. Strides of size-1
** dimensions do not matter. */
static int mat_form(const mat *m, int *ld) {
  ptrdiff_t lr = m->c > 1 ? (ptrdiff_t)m->c : 1;
  ptrdiff_t lc = m->r > 1 ? (ptrdiff_t)m->r : 1;
  ptrdiff_t l;
  int form;
  if ((m->c <= 1 || m->cs == 1) && (m->r <= 1 || m->rs >= lr)) {
    form = CblasNoTrans;
    l = m->r <= 1 ? lr : m->rs;
  } else if ((m->r <= 1 || m->rs == 1) && (m->c <= 1 || m->cs >= lc)) {
    form = CblasTrans;
    l = m->c <= 1 ? lc : m->cs;
  } else {
    return -1;
  }
  if (l > INT_MAX) return -1;
  *ld = (int)l;
  return form;
}


/* The increment of a one-row or one-column m read in the given form. */
static int vec_inc(const mat *m, int form, int ld) {
  int row = m->r <= 1;
  return (row == (form == CblasNoTrans)) ? 1 : ld;
}


/* out = a @ b on matrices BLAS reads in place: dgemm in general,
** dgemv when one side is a vector, ddot when both are. */
static void blas_product(mat *o, const mat *a, const mat *b) {
  int M = (int)o->r, N = (int)o->c, K = (int)a->c;
  int la, lb, lo;
  int fa = mat_form(a, &la), fb = mat_form(b, &lb);
  int fo = mat_form(o, &lo);
  if (M == 1 && N == 1) {
    o->p[0] = cblas_ddot(K, a->p, vec_inc(a, fa, la), b->p,
                         vec_inc(b, fb, lb));
  } else if (N == 1) {
    cblas_dgemv(CblasRowMajor, (enum CBLAS_TRANSPOSE)fa,
                fa == CblasNoTrans ? M : K, fa == CblasNoTrans ? K : M,
                1.0, a->p, la, b->p, vec_inc(b, fb, lb), 0.0, o->p,
                vec_inc(o, fo, lo));
  } else if (M == 1) {
    cblas_dgemv(CblasRowMajor,
                fb == CblasNoTrans ? CblasTrans : CblasNoTrans,
                fb == CblasNoTrans ? K : N, fb == CblasNoTrans ? N : K,
                1.0, b->p, lb, a->p, vec_inc(a, fa, la), 0.0, o->p,
                vec_inc(o, fo, lo));
  } else {
    cblas_dgemm(CblasRowMajor, (enum CBLAS_TRANSPOSE)fa,
                (enum CBLAS_TRANSPOSE)fb, M, N, K, 1.0, a->p, la, b->p,
                lb, 0.0, o->p, lo);
  }
}


/* Check the operands of a product and write the result's shape. */
static gd_status matmul_shape(const gd_tensor *a, const gd_tensor *b,
                              int *ndim, size_t *shape, gd_error *err) {
  char x[GD_SHAPESTR_SIZE], y[GD_SHAPESTR_SIZE];
  size_t ka, kb;
  int n = 0;
  if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2)
    return gd_error_set(err, GD_ERR_SHAPE, a->ndim < 1 || a->ndim > 2
                        ? 1 : 2, "matmul: shapes %s and %s, expected "
                        "1 or 2 dims each",
                        gd_tensor_shape_str(a, x, sizeof x),
                        gd_tensor_shape_str(b, y, sizeof y));
  ka = a->shape[a->ndim - 1];
  kb = b->shape[0];
  if (ka != kb)
    return gd_error_set(err, GD_ERR_SHAPE, 2,
                        "matmul: shapes %s and %s do not match "
                        "(%zu != %zu)", gd_tensor_shape_str(a, x, sizeof x),
                        gd_tensor_shape_str(b, y, sizeof y), ka, kb);
  if (a->shape[0] > INT_MAX || ka > INT_MAX ||
      b->shape[b->ndim - 1] > INT_MAX)
    return gd_error_set(err, GD_ERR_SHAPE, 1,
                        "matmul: shapes %s and %s exceed the sizes BLAS "
                        "takes", gd_tensor_shape_str(a, x, sizeof x),
                        gd_tensor_shape_str(b, y, sizeof y));
  if (a->ndim == 2) shape[n++] = a->shape[0];
  if (b->ndim == 2) shape[n++] = b->shape[1];
  *ndim = n;
  return GD_OK;
}


/* Point m at a contiguous copy of t when BLAS cannot read it in place;
** the copy goes to *tmp for the caller to free. */
static gd_status readable(mat *m, const gd_tensor *t, int as_row,
                          gd_tensor **tmp, gd_error *err) {
  int ld;
  gd_status st;
  *tmp = NULL;
  *m = mat_of(t, as_row);
  if (mat_form(m, &ld) >= 0) return GD_OK;
  st = gd_tensor_clone(tmp, t, err);
  if (st == GD_OK) *m = mat_of(*tmp, as_row);
  return st;
}


/* out must not overlap a or b: BLAS writes it while reading them. */
gd_status gd_tensor_matmul_into(gd_tensor *out, const gd_tensor *a,
                                const gd_tensor *b, gd_error *err) {
  size_t shape[2];
  gd_tensor *ta = NULL, *tb = NULL, *to = NULL;
  mat ma, mb, mo;
  int ndim, ld;
  gd_status st = matmul_shape(a, b, &ndim, shape, err);

  if (st == GD_OK) st = check_out("matmul", out, ndim, shape, err);
  if (st != GD_OK) return st;
  if (overlaps(out, a) || overlaps(out, b))
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "matmul: out overlaps an operand");
  mo = mat_of(out, a->ndim == 1);
  if (mo.r == 0 || mo.c == 0) return GD_OK;
  if (a->shape[a->ndim - 1] == 0) return gd_tensor_fill(out, 0.0, err);

  st = readable(&ma, a, 1, &ta, err);
  if (st == GD_OK) st = readable(&mb, b, 0, &tb, err);
  if (st == GD_OK && mat_form(&mo, &ld) != CblasNoTrans) {
    st = new_result(&to, "matmul", out->ndim, out->shape, err);
    if (st == GD_OK) mo = mat_of(to, a->ndim == 1);
  }
  if (st == GD_OK) {
    blas_product(&mo, &ma, &mb);
    if (to != NULL) gd_tensor_copy_into(out, to, err);
  }
  gd_tensor_free(ta);
  gd_tensor_free(tb);
  gd_tensor_free(to);
  return st;
}


gd_status gd_tensor_matmul(gd_tensor **out, const gd_tensor *a,
                           const gd_tensor *b, gd_error *err) {
  size_t shape[2];
  gd_tensor *t;
  int ndim;
  gd_status st = matmul_shape(a, b, &ndim, shape, err);
  if (st == GD_OK) st = new_result(&t, "matmul", ndim, shape, err);
  if (st != GD_OK) return st;
  st = gd_tensor_matmul_into(t, a, b, err);
  if (st != GD_OK) {
    gd_tensor_free(t);
    return st;
  }
  *out = t;
  return GD_OK;
}


/* ---- equality ------------------------------------------------------ */

static void row_equal(size_t n, double *const *p, const ptrdiff_t *s,
                      void *ctx) {
  int *same = ctx;
  size_t i;
  for (i = 0; i < n && *same; i++)
    if (p[0][(ptrdiff_t)i * s[0]] != p[1][(ptrdiff_t)i * s[1]]) *same = 0;
}


int gd_tensor_equal(const gd_tensor *a, const gd_tensor *b) {
  const gd_tensor *v[2];
  int same = 1;
  if (!gd_tensor_same_shape(a, b)) return 0;
  v[0] = a;
  v[1] = b;
  for_rows(2, v, row_equal, &same);
  return same;
}


GD_LOOPS_BEGIN


/* Clear *ok when a row holds a NaN or an infinity. An exponent field of
** all ones carries into the sign bit when one unit of exponent is
** added; the bits are or-ed without a branch, so a unit-stride row
** vectorises. */
GD_CLONES
static void row_finite(size_t n, double *const *p, const ptrdiff_t *s,
                       void *ctx) {
  const uint64_t expo = UINT64_C(0x7ff0000000000000);
  const double *a = p[0];
  uint64_t bad = 0, b;
  size_t i;
  if (s[0] == 1) {
    for (i = 0; i < n; i++) {
      memcpy(&b, &a[i], sizeof b);
      bad |= (b & expo) + (UINT64_C(1) << 52);
    }
  } else {
    for (i = 0; i < n; i++) {
      memcpy(&b, &a[(ptrdiff_t)i * s[0]], sizeof b);
      bad |= (b & expo) + (UINT64_C(1) << 52);
    }
  }
  if (bad >> 63) *(int *)ctx = 0;
}


GD_LOOPS_END


int gd_tensor_all_finite(const gd_tensor *t) {
  int ok = 1;
  for_rows(1, &t, row_finite, &ok);
  return ok;
}
