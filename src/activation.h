/*
** activation.h: activation functions with their first and second
** derivatives as TensorJacobians.
**
** For A = f(Z), df gives dA/dZ (numerator A's shape, denominator Z's)
** and d2f gives d2A/dZ2, the Jacobian of that Jacobian (numerator
** A ++ Z, denominator Z). Element-wise functions give diagonal ones;
** softmax, taken over each column of a matrix, gives per-sample blocks
** (n x n values per column for df, n x n x n for d2f).
**
** Limits: softmax takes 1-d (one column) or 2-d tensors.
*/
#ifndef GD_ACTIVATION_H
#define GD_ACTIVATION_H

#include "core.h"
#include "jacobian.h"
#include "tensor.h"

#define GD_ACTIVATION_NAME_MAX 32

typedef struct gd_activation gd_activation;

/* a = f(z); a has z's shape, is contiguous and is written in place. */
typedef gd_status (*gd_activation_fn)(const gd_activation *act,
                                      gd_tensor *a, const gd_tensor *z,
                                      gd_error *err);
/* A new dA/dZ (or d2A/dZ2) at z, given a = f(z) as well. */
typedef gd_status (*gd_activation_jac_fn)(const gd_activation *act,
                                          gd_jacobian **out,
                                          const gd_tensor *z,
                                          const gd_tensor *a,
                                          gd_error *err);
/* dA/dZ written into out, a Jacobian that df made for the same shapes;
** allocates nothing. */
typedef gd_status (*gd_activation_into_fn)(const gd_activation *act,
                                           gd_jacobian *out,
                                           const gd_tensor *z,
                                           const gd_tensor *a,
                                           gd_error *err);

struct gd_activation {
  char name[GD_ACTIVATION_NAME_MAX];
  gd_activation_fn f;
  gd_activation_jac_fn df;
  gd_activation_jac_fn d2f;   /* NULL: no second derivative */
  int gain_relu;              /* 1: weights start with He's rule */
  void *ud;                   /* for functions defined outside C */
  gd_activation_into_fn df_into;  /* NULL: call df every time */
};

/* The built-in function called name, or NULL. */
const gd_activation *gd_activation_builtin(const char *name);
/* The built-in functions, in alphabetical order, ending with NULL. */
const gd_activation *const *gd_activation_builtins(void);
/* The built-in called name in *out, or GD_ERR_ARG with a message that
** lists the known names. */
gd_status gd_activation_lookup(const gd_activation **out, const char *name,
                               gd_error *err);

/* o[i so] = tanh(x[i sx]) (or the logistic sigmoid) for i < n, by an
** inline exponential: within a few ulp of the exact value for every
** input, NaN kept, +-inf giving +-1 (0 and 1). o may be x. */
void gd_activation_tanh_fill(size_t n, double *o, ptrdiff_t so,
                             const double *x, ptrdiff_t sx);
void gd_activation_sigmoid_fill(size_t n, double *o, ptrdiff_t so,
                                const double *x, ptrdiff_t sx);

/* Convenience calls through the function pointers: a new A = f(Z). */
gd_status gd_activation_apply(gd_tensor **out, const gd_activation *act,
                              const gd_tensor *z, gd_error *err);

#endif
