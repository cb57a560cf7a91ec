/*
** activation.c: the built-in activation functions (identity, relu,
** sigmoid, softmax, tanh) and their derivatives as TensorJacobians.
**
** tanh and sigmoid run through one inline exponential (a reduction by
** k ln 2 and a degree-13 polynomial for expm1 of the remainder, its
** Horner steps fused multiply-adds), so a layer's forward pass calls no
** libm function per element where the processor has FMA.
**
** Limits: relu's derivative at exactly 0 is taken as 0; softmax
** subtracts each column's maximum before exponentiating; tanh and
** sigmoid are within a few ulp of the correctly rounded value, not
** always equal to libm's.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"
#include "vector.h"


/* ---- the element kernels ------------------------------------------- */

/* The kernels are branch-free so that the flat loop of tanh vectorises
** once GCC may if-convert comparisons (no exception flag is kept). */
GD_LOOPS_BEGIN

#define LOG2E 1.4426950408889634
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SHIFTER 6755399441055744.0          /* 1.5 * 2^52 */


/*
** exp(y) split as s (1 + p) with s = 2^k and p = expm1(r), r = y - k
** ln 2 in [-ln2/2, ln2/2]; p keeps full relative accuracy for tiny y.
** k is rounded by the 1.5 * 2^52 shift, whose low bits then hold k, and
** s is built from them; y must lie in [-708, 709].
*/
static inline double exp_parts(double y, double *s) {
  double t = y * LOG2E + SHIFTER, k = t - SHIFTER;
  double r = (y - k * LN2_HI) - k * LN2_LO, p;
  uint64_t bits;

  p = 1.0 / 6227020800;
  p = fma(r, p, 1.0 / 479001600);
  p = fma(r, p, 1.0 / 39916800);
  p = fma(r, p, 1.0 / 3628800);
  p = fma(r, p, 1.0 / 362880);
  p = fma(r, p, 1.0 / 40320);
  p = fma(r, p, 1.0 / 5040);
  p = fma(r, p, 1.0 / 720);
  p = fma(r, p, 1.0 / 120);
  p = fma(r, p, 1.0 / 24);
  p = fma(r, p, 1.0 / 6);
  p = fma(r, p, 0.5);
  p = r + r * (r * p);
  memcpy(&bits, &t, sizeof bits);
  bits = (bits + 1023) << 52;
  memcpy(s, &bits, sizeof bits);
  return p;
}


/* tanh x = e / (e + 2) with e = expm1(2 |x|), the sign put back; past
** |x| = 20 the result rounds to 1. NaN passes through. */
static inline double tanh1(double x) {
  double ax = fabs(x), y = 2 * ax, s, p, e, t;
  y = y < 40 ? y : 40;
  p = exp_parts(y, &s);
  e = (s - 1) + s * p;
  t = copysign(e / (e + 2), x);
  return ax <= 20 ? t : ax > 20 ? copysign(1.0, x) : x;
}


/* 1 / (1 + exp(-x)) for x >= 0 and e / (1 + e), e = exp(x), below;
** exp(-|x|) past 708 goes to libm, which handles the subnormals. */
static inline double sigmoid1(double x) {
  double ax = fabs(x), s, p, e;
  if (ax <= 708) {
    p = exp_parts(-ax, &s);
    e = s + s * p;
  } else {
    e = exp(-ax);
  }
  return x >= 0 ? 1 / (1 + e) : x != x ? x : e / (1 + e);
}


/* sigmoid1 without its branch, so that a loop of it vectorises: |x| is
** held at 708, and the caller recomputes an element past it by
** sigmoid1. */
static inline double sigmoid_flat(double x) {
  double ax = fabs(x), y = ax <= 708 ? -ax : -708, s, p, e, num;
  p = exp_parts(y, &s);
  e = s + s * p;
  num = x >= 0 ? 1 : e;
  return x != x ? x : num / (1 + e);
}


GD_CLONES
void gd_activation_tanh_fill(size_t n, double *o, ptrdiff_t so,
                             const double *x, ptrdiff_t sx) {
  size_t i;
  if (so == 1 && sx == 1)
    for (i = 0; i < n; i++) o[i] = tanh1(x[i]);
  else
    for (i = 0; i < n; i++)
      o[(ptrdiff_t)i * so] = tanh1(x[(ptrdiff_t)i * sx]);
}


GD_CLONES
void gd_activation_sigmoid_fill(size_t n, double *o, ptrdiff_t so,
                                const double *x, ptrdiff_t sx) {
  size_t i;
  double big = 0;
  if (so == 1 && sx == 1) {
    for (i = 0; i < n; i++) {
      o[i] = sigmoid_flat(x[i]);
      big = fabs(x[i]) > 708 ? 1.0 : big;
    }
    if (big != 0)
      for (i = 0; i < n; i++)
        if (fabs(x[i]) > 708) o[i] = sigmoid1(x[i]);
  } else
    for (i = 0; i < n; i++)
      o[(ptrdiff_t)i * so] = sigmoid1(x[(ptrdiff_t)i * sx]);
}


GD_LOOPS_END


/* ---- derivatives ---------------------------------------------------- */

/* An element's derivative from its input z and output a. */
typedef double (*elem_fn)(double z, double a);


/* The first and second derivatives of the built-ins as flat loops over
** contiguous buffers, so that a training step or a Hessian calls no
** function per element. 0 for a function without one. */
GD_CLONES
static int fill_builtin(double *d, const double *z, const double *a,
                        size_t n, elem_fn g);


/* d[i] = g(z[i], a[i]) over n elements of contiguous buffers. */
static void fill_elementwise(double *d, const double *z, const double *a,
                             size_t n, elem_fn g) {
  size_t i;
  if (fill_builtin(d, z, a, n, g)) return;
  for (i = 0; i < n; i++) d[i] = g(z[i], a[i]);
}


/*
** A diagonal Jacobian (pnum blocks in the numerator, one in the
** denominator) whose values are g(z[s], a[s]). z and a must have the
** same shape; the result owns a new tensor.
*/
static gd_status elementwise(gd_jacobian **out, const gd_tensor *z,
                             const gd_tensor *a, elem_fn g, int pnum,
                             gd_error *err) {
  gd_tensor *cz, *ca, *d;
  gd_status st;

  if (gd_tensor_contiguous(&cz, z, err)) return err->code;
  if (gd_tensor_contiguous(&ca, a, err)) {
    gd_tensor_free(cz);
    return err->code;
  }
  if (gd_tensor_new(&d, z->ndim, z->shape, err)) {
    gd_tensor_free(cz);
    gd_tensor_free(ca);
    return err->code;
  }
  fill_elementwise(gd_tensor_data(d), gd_tensor_data(cz),
                   gd_tensor_data(ca), gd_tensor_numel(z), g);
  st = gd_jacobian_diag(out, d, pnum, 1, err);
  gd_tensor_free(cz);
  gd_tensor_free(ca);
  gd_tensor_free(d);
  return st;
}


/* The same into the diagonal out; z, a and its values contiguous of
** one shape. */
static gd_status elementwise_into(gd_jacobian *out, const gd_tensor *z,
                                  const gd_tensor *a, elem_fn g,
                                  gd_error *err) {
  gd_tensor *d = out->term[0].f;
  if (out->nterms != 1 || !gd_tensor_same_shape(d, z) ||
      !gd_tensor_same_shape(z, a) || !gd_tensor_is_contiguous(d) ||
      !gd_tensor_is_contiguous(z) || !gd_tensor_is_contiguous(a))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "activation: the target "
                        "jacobian does not fit the input");
  fill_elementwise(gd_tensor_data(d), gd_tensor_data(z),
                   gd_tensor_data(a), gd_tensor_numel(z), g);
  out->term[0].scale = 1.0;
  return GD_OK;
}


static gd_status check_out(const char *name, gd_tensor *a,
                           const gd_tensor *z, gd_error *err) {
  char sa[GD_SHAPESTR_SIZE], sz[GD_SHAPESTR_SIZE];
  if (!gd_tensor_same_shape(a, z))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "%s: output %s does not "
                        "match input %s", name,
                        gd_tensor_shape_str(a, sa, sizeof sa),
                        gd_tensor_shape_str(z, sz, sizeof sz));
  return GD_OK;
}


/* ---- element-wise functions ----------------------------------------- */

static double one(double z, double a) { (void)z; (void)a; return 1.0; }
static double zero(double z, double a) { (void)z; (void)a; return 0.0; }
static double step(double z, double a) { (void)a; return z > 0 ? 1 : 0; }

static double dsigmoid(double z, double a) {
  (void)z;
  return a * (1 - a);
}

static double d2sigmoid(double z, double a) {
  (void)z;
  return a * (1 - a) * (1 - 2 * a);
}

static double dtanh(double z, double a) {
  (void)z;
  return 1 - a * a;
}

static double d2tanh(double z, double a) {
  (void)z;
  return -2 * a * (1 - a * a);
}


GD_LOOPS_BEGIN


GD_CLONES
static int fill_builtin(double *d, const double *z, const double *a,
                        size_t n, elem_fn g) {
  size_t i;
  if (g == one)
    for (i = 0; i < n; i++) d[i] = 1.0;
  else if (g == step)
    for (i = 0; i < n; i++) d[i] = z[i] > 0 ? 1 : 0;
  else if (g == dsigmoid)
    for (i = 0; i < n; i++) d[i] = a[i] * (1 - a[i]);
  else if (g == dtanh)
    for (i = 0; i < n; i++) d[i] = 1 - a[i] * a[i];
  else if (g == zero)
    for (i = 0; i < n; i++) d[i] = 0.0;
  else if (g == d2sigmoid)
    for (i = 0; i < n; i++) d[i] = a[i] * (1 - a[i]) * (1 - 2 * a[i]);
  else if (g == d2tanh)
    for (i = 0; i < n; i++) d[i] = -2 * a[i] * (1 - a[i] * a[i]);
  else
    return 0;
  return 1;
}


GD_LOOPS_END


static gd_status identity_f(const gd_activation *act, gd_tensor *a,
                            const gd_tensor *z, gd_error *err) {
  if (check_out(act->name, a, z, err)) return err->code;
  return gd_tensor_copy_into(a, z, err);
}


/* a = f(z) for relu, sigmoid and tanh: one flat pass over contiguous
** buffers, the strided tensor loop otherwise. */
static gd_status unary_f(const gd_activation *act, gd_tensor *a,
                         const gd_tensor *z, gd_error *err) {
  gd_unop op = act->name[0] == 's' ? GD_SIGMOID :
               act->name[0] == 't' ? GD_TANH : GD_RELU;
  if (check_out(act->name, a, z, err)) return err->code;
  if (op != GD_RELU && gd_tensor_is_contiguous(a) &&
      gd_tensor_is_contiguous(z)) {
    if (op == GD_TANH)
      gd_activation_tanh_fill(gd_tensor_numel(z), gd_tensor_data(a), 1,
                              gd_tensor_data(z), 1);
    else
      gd_activation_sigmoid_fill(gd_tensor_numel(z), gd_tensor_data(a), 1,
                                 gd_tensor_data(z), 1);
    return GD_OK;
  }
  return gd_tensor_unary_into(a, op, z, err);
}


static gd_status identity_df(const gd_activation *act, gd_jacobian **out,
                             const gd_tensor *z, const gd_tensor *a,
                             gd_error *err) {
  (void)act;
  return elementwise(out, z, a, one, 1, err);
}


static gd_status zero_d2f(const gd_activation *act, gd_jacobian **out,
                          const gd_tensor *z, const gd_tensor *a,
                          gd_error *err) {
  (void)act;
  return elementwise(out, z, a, zero, 2, err);
}


static gd_status relu_df(const gd_activation *act, gd_jacobian **out,
                         const gd_tensor *z, const gd_tensor *a,
                         gd_error *err) {
  (void)act;
  return elementwise(out, z, a, step, 1, err);
}


static gd_status sigmoid_df(const gd_activation *act, gd_jacobian **out,
                            const gd_tensor *z, const gd_tensor *a,
                            gd_error *err) {
  (void)act;
  return elementwise(out, z, a, dsigmoid, 1, err);
}


static gd_status sigmoid_d2f(const gd_activation *act, gd_jacobian **out,
                             const gd_tensor *z, const gd_tensor *a,
                             gd_error *err) {
  (void)act;
  return elementwise(out, z, a, d2sigmoid, 2, err);
}


static gd_status tanh_df(const gd_activation *act, gd_jacobian **out,
                         const gd_tensor *z, const gd_tensor *a,
                         gd_error *err) {
  (void)act;
  return elementwise(out, z, a, dtanh, 1, err);
}


static gd_status tanh_d2f(const gd_activation *act, gd_jacobian **out,
                          const gd_tensor *z, const gd_tensor *a,
                          gd_error *err) {
  (void)act;
  return elementwise(out, z, a, d2tanh, 2, err);
}


static gd_status identity_into(const gd_activation *act, gd_jacobian *out,
                               const gd_tensor *z, const gd_tensor *a,
                               gd_error *err) {
  (void)act;
  return elementwise_into(out, z, a, one, err);
}


static gd_status relu_into(const gd_activation *act, gd_jacobian *out,
                           const gd_tensor *z, const gd_tensor *a,
                           gd_error *err) {
  (void)act;
  return elementwise_into(out, z, a, step, err);
}


static gd_status sigmoid_into(const gd_activation *act, gd_jacobian *out,
                              const gd_tensor *z, const gd_tensor *a,
                              gd_error *err) {
  (void)act;
  return elementwise_into(out, z, a, dsigmoid, err);
}


static gd_status tanh_into(const gd_activation *act, gd_jacobian *out,
                           const gd_tensor *z, const gd_tensor *a,
                           gd_error *err) {
  (void)act;
  return elementwise_into(out, z, a, dtanh, err);
}


/* ---- softmax over columns ------------------------------------------ */

/* Rows n and columns m of a softmax input: a 1-d tensor is one column. */
static gd_status columns(const gd_tensor *z, size_t *n, size_t *m,
                         gd_error *err) {
  char sz[GD_SHAPESTR_SIZE];
  if (z->ndim == 1) {
    *n = z->shape[0];
    *m = 1;
  } else if (z->ndim == 2) {
    *n = z->shape[0];
    *m = z->shape[1];
  } else {
    return gd_error_set(err, GD_ERR_SHAPE, 1, "softmax: expects a 1-d or "
                        "2-d tensor, got %s",
                        gd_tensor_shape_str(z, sz, sizeof sz));
  }
  return GD_OK;
}


/* a[i, s] = exp(z[i, s] - c_s) / sum_k exp(z[k, s] - c_s), with c_s the
** column's maximum so that no exponential overflows. */
static gd_status softmax_f(const gd_activation *act, gd_tensor *a,
                           const gd_tensor *z, gd_error *err) {
  size_t n = 0, m = 0, i, s;
  gd_tensor *cz;
  double *pz, *pa;

  if (check_out(act->name, a, z, err) || columns(z, &n, &m, err))
    return err->code;
  if (!gd_tensor_is_contiguous(a))
    return gd_error_set(err, GD_ERR_LAYOUT, 0, "softmax: the output must "
                        "be contiguous");
  if (gd_tensor_contiguous(&cz, z, err)) return err->code;
  pz = gd_tensor_data(cz);
  pa = gd_tensor_data(a);

  for (s = 0; s < m; s++) {
    double c = -HUGE_VAL, sum = 0;
    for (i = 0; i < n; i++)
      if (pz[i * m + s] > c) c = pz[i * m + s];
    for (i = 0; i < n; i++) {
      pa[i * m + s] = exp(pz[i * m + s] - c);
      sum += pa[i * m + s];
    }
    for (i = 0; i < n; i++) pa[i * m + s] /= sum;
  }
  gd_tensor_free(cz);
  return GD_OK;
}


/* The blocks of dA/dZ: b[(i m + s) n + j] = a[i, s] (delta(i, j) -
** a[j, s]) for each column s. */
static void fill_blocks(double *b, const double *pa, size_t n, size_t m) {
  size_t i, j, s;
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++)
      for (j = 0; j < n; j++)
        b[(i * m + s) * n + j] =
          pa[i * m + s] * ((i == j) - pa[j * m + s]);
}


/* A new Jacobian over factor f (taken over) with the given spec, p
** blocks of a's shape in the numerator and one in the denominator. */
static gd_status structured(gd_jacobian **out, gd_tensor *f,
                            const char *spec, const gd_tensor *a, int p,
                            gd_error *err) {
  size_t num[GD_MAX_DIMS];
  gd_status st;
  int b;
  for (b = 0; b < p; b++)
    memcpy(num + b * a->ndim, a->shape, (size_t)a->ndim * sizeof *num);
  st = gd_jacobian_structured(out, f, spec, p * a->ndim, num, a->ndim,
                              a->shape, err);
  gd_tensor_free(f);
  return st;
}


/*
** dA/dZ of softmax: J[i, s, j, t] = delta(s, t) a[i, s] (delta(i, j) -
** a[j, s]): per-sample blocks, stored as F[i, s, j] (n m n values) with
** the sample index tied ("isj->isjs"); one column is a dense n x n.
*/
static gd_status softmax_df(const gd_activation *act, gd_jacobian **out,
                            const gd_tensor *z, const gd_tensor *a,
                            gd_error *err) {
  size_t n = 0, m = 0, shape[3];
  gd_tensor *ca, *f;

  (void)act;
  if (columns(z, &n, &m, err)) return err->code;
  if (gd_tensor_contiguous(&ca, a, err)) return err->code;
  shape[0] = n;
  shape[1] = m;
  shape[2] = n;
  if (gd_tensor_new(&f, 3, shape, err)) {
    gd_tensor_free(ca);
    return err->code;
  }
  fill_blocks(gd_tensor_data(f), gd_tensor_data(ca), n, m);
  gd_tensor_free(ca);
  if (z->ndim == 1) {
    gd_tensor *v;
    gd_status st;
    shape[1] = n;
    st = gd_tensor_reshape(&v, f, 2, shape + 1, 0, err);
    gd_tensor_free(f);
    if (st) return st;
    return structured(out, v, "ij->ij", a, 1, err);
  }
  return structured(out, f, "isj->isjs", a, 1, err);
}


/* softmax_df into a Jacobian it made before for the same shapes. */
static gd_status softmax_into(const gd_activation *act, gd_jacobian *out,
                              const gd_tensor *z, const gd_tensor *a,
                              gd_error *err) {
  size_t n = 0, m = 0;
  gd_tensor *f = out->term[0].f;
  (void)act;
  if (columns(z, &n, &m, err)) return err->code;
  if (out->nterms != 1 || gd_tensor_numel(f) != n * m * n ||
      !gd_tensor_is_contiguous(f) || !gd_tensor_is_contiguous(a))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "softmax: the target "
                        "jacobian does not fit the input");
  fill_blocks(gd_tensor_data(f), gd_tensor_data(a), n, m);
  out->term[0].scale = 1.0;
  return GD_OK;
}


/*
** d2A/dZ2 of softmax: for one column with a = softmax(z),
** d2 a_i / dz_j dz_k = a_i ((delta_ij - a_j)(delta_ik - a_k)
** - a_j (delta_jk - a_k)), and zero across columns: stored as
** F[i, s, j, k] with the sample tied ("isjk->isjsks").
*/
static gd_status softmax_d2f(const gd_activation *act, gd_jacobian **out,
                             const gd_tensor *z, const gd_tensor *a,
                             gd_error *err) {
  size_t n = 0, m = 0, i, j, k, s, shape[4];
  gd_tensor *ca, *f;
  double *pa, *ph;

  (void)act;
  if (columns(z, &n, &m, err)) return err->code;
  if (gd_tensor_contiguous(&ca, a, err)) return err->code;
  shape[0] = n;
  shape[1] = m;
  shape[2] = shape[3] = n;
  if (gd_tensor_new(&f, 4, shape, err)) {
    gd_tensor_free(ca);
    return err->code;
  }
  pa = gd_tensor_data(ca);
  ph = gd_tensor_data(f);
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++)
      for (j = 0; j < n; j++)
        for (k = 0; k < n; k++) {
          double ai = pa[i * m + s], aj = pa[j * m + s];
          double ak = pa[k * m + s];
          ph[((i * m + s) * n + j) * n + k] =
            ai * (((i == j) - aj) * ((i == k) - ak) - aj * ((j == k) - ak));
        }
  gd_tensor_free(ca);
  if (z->ndim == 1) {
    gd_tensor *v;
    size_t s3[3];
    gd_status st;
    s3[0] = s3[1] = s3[2] = n;
    st = gd_tensor_reshape(&v, f, 3, s3, 0, err);
    gd_tensor_free(f);
    if (st) return st;
    return structured(out, v, "ijk->ijk", a, 2, err);
  }
  return structured(out, f, "isjk->isjsks", a, 2, err);
}


/* ---- the registry of built-ins -------------------------------------- */

static const gd_activation builtins[] = {
  {"identity", identity_f, identity_df, zero_d2f, 0, NULL, identity_into},
  {"relu", unary_f, relu_df, zero_d2f, 1, NULL, relu_into},
  {"sigmoid", unary_f, sigmoid_df, sigmoid_d2f, 0, NULL, sigmoid_into},
  {"softmax", softmax_f, softmax_df, softmax_d2f, 0, NULL, softmax_into},
  {"tanh", unary_f, tanh_df, tanh_d2f, 0, NULL, tanh_into}
};

#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static const gd_activation *const builtin_list[] = {
  &builtins[0], &builtins[1], &builtins[2], &builtins[3], &builtins[4],
  NULL
};


const gd_activation *const *gd_activation_builtins(void) {
  return builtin_list;
}


const gd_activation *gd_activation_builtin(const char *name) {
  size_t i;
  for (i = 0; i < NBUILTINS; i++)
    if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
  return NULL;
}


gd_status gd_activation_lookup(const gd_activation **out, const char *name,
                               gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  const gd_activation *act = gd_activation_builtin(name);
  if (act == NULL)
    return gd_error_set(err, GD_ERR_ARG, 1, "unknown activation '%.40s' "
                        "(known: identity, relu, sigmoid, softmax, tanh)",
                        name);
  *out = act;
  return GD_OK;
}


gd_status gd_activation_apply(gd_tensor **out, const gd_activation *act,
                              const gd_tensor *z, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_tensor *a;
  if (gd_tensor_new(&a, z->ndim, z->shape, err)) return err->code;
  if (act->f(act, a, z, err)) {
    gd_tensor_free(a);
    return err->code;
  }
  *out = a;
  return GD_OK;
}
