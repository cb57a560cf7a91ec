/*
** activation.c: the built-in activation functions (identity, relu,
** sigmoid, softmax, tanh) and their derivatives as TensorJacobians.
**
** Limits: relu's derivative at exactly 0 is taken as 0; softmax
** subtracts each column's maximum before exponentiating.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"


/* An element's derivative from its input z and output a. */
typedef double (*elem_fn)(double z, double a);


/*
** A diagonal Jacobian (pnum blocks in the numerator, one in the
** denominator) whose values are g(z[s], a[s]). z and a must have the
** same shape; the result owns a new tensor.
*/
static gd_status elementwise(gd_jacobian **out, const gd_tensor *z,
                             const gd_tensor *a, elem_fn g, int pnum,
                             gd_error *err) {
  gd_tensor *cz, *ca, *d;
  double *pz, *pa, *pd;
  size_t i, n = gd_tensor_numel(z);
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

  pz = gd_tensor_data(cz);
  pa = gd_tensor_data(ca);
  pd = gd_tensor_data(d);
  for (i = 0; i < n; i++) pd[i] = g(pz[i], pa[i]);

  st = gd_jacobian_diag(out, d, pnum, 1, err);
  gd_tensor_free(cz);
  gd_tensor_free(ca);
  gd_tensor_free(d);
  return st;
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


static gd_status identity_f(const gd_activation *act, gd_tensor *a,
                            const gd_tensor *z, gd_error *err) {
  if (check_out(act->name, a, z, err)) return err->code;
  return gd_tensor_copy_into(a, z, err);
}


static gd_status unary_f(const gd_activation *act, gd_tensor *a,
                         const gd_tensor *z, gd_error *err) {
  gd_unop op = act->name[0] == 's' ? GD_SIGMOID :
               act->name[0] == 't' ? GD_TANH : GD_RELU;
  if (check_out(act->name, a, z, err)) return err->code;
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


/* A new dense Jacobian of zeros with p blocks of a's shape in the
** numerator and one in the denominator. */
static gd_status blocks(gd_jacobian **out, const gd_tensor *a, int p,
                        gd_error *err) {
  size_t num[GD_MAX_DIMS];
  int b;
  for (b = 0; b < p; b++)
    memcpy(num + b * a->ndim, a->shape, (size_t)a->ndim * sizeof *num);
  return gd_jacobian_zeros(out, p * a->ndim, num, a->ndim, a->shape, err);
}


/*
** dA/dZ of softmax: J[i, s, j, t] = delta(s, t) a[i, s] (delta(i, j) -
** a[j, s]), one dense n x n block per column s.
*/
static gd_status softmax_df(const gd_activation *act, gd_jacobian **out,
                            const gd_tensor *z, const gd_tensor *a,
                            gd_error *err) {
  size_t n = 0, m = 0, i, j, s, nm;
  gd_tensor *ca;
  gd_jacobian *r;
  double *pa, *pj;

  (void)act;
  if (columns(z, &n, &m, err)) return err->code;
  if (gd_tensor_contiguous(&ca, a, err)) return err->code;
  if (blocks(&r, a, 1, err)) {
    gd_tensor_free(ca);
    return err->code;
  }
  nm = n * m;
  pa = gd_tensor_data(ca);
  pj = gd_tensor_data(r->t);
  for (s = 0; s < m; s++)
    for (i = 0; i < n; i++)
      for (j = 0; j < n; j++)
        pj[(i * m + s) * nm + j * m + s] =
          pa[i * m + s] * ((i == j) - pa[j * m + s]);
  gd_tensor_free(ca);
  *out = r;
  return GD_OK;
}


/*
** d2A/dZ2 of softmax: for one column with a = softmax(z),
** d2 a_i / dz_j dz_k = a_i ((delta_ij - a_j)(delta_ik - a_k)
** - a_j (delta_jk - a_k)), and zero across columns.
*/
static gd_status softmax_d2f(const gd_activation *act, gd_jacobian **out,
                             const gd_tensor *z, const gd_tensor *a,
                             gd_error *err) {
  size_t n = 0, m = 0, i, j, k, s, nm;
  gd_tensor *ca;
  gd_jacobian *r;
  double *pa, *ph;

  (void)act;
  if (columns(z, &n, &m, err)) return err->code;
  if (gd_tensor_contiguous(&ca, a, err)) return err->code;
  if (blocks(&r, a, 2, err)) {
    gd_tensor_free(ca);
    return err->code;
  }
  nm = n * m;
  pa = gd_tensor_data(ca);
  ph = gd_tensor_data(r->t);
  for (s = 0; s < m; s++)
    for (i = 0; i < n; i++)
      for (j = 0; j < n; j++)
        for (k = 0; k < n; k++) {
          double ai = pa[i * m + s], aj = pa[j * m + s];
          double ak = pa[k * m + s];
          ph[((i * m + s) * nm + j * m + s) * nm + k * m + s] =
            ai * (((i == j) - aj) * ((i == k) - ak) - aj * ((j == k) - ak));
        }
  gd_tensor_free(ca);
  *out = r;
  return GD_OK;
}


/* ---- the registry of built-ins -------------------------------------- */

static const gd_activation builtins[] = {
  {"identity", identity_f, identity_df, zero_d2f, 0, NULL},
  {"relu", unary_f, relu_df, zero_d2f, 1, NULL},
  {"sigmoid", unary_f, sigmoid_df, sigmoid_d2f, 0, NULL},
  {"softmax", softmax_f, softmax_df, softmax_d2f, 0, NULL},
  {"tanh", unary_f, tanh_df, tanh_d2f, 0, NULL}
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
