/*
** loss.c: the mean squared error and its derivatives.
*/
#include <string.h>

#include "loss.h"


/* Check that Y and Yhat agree and are 1-d or 2-d; *m gets the number
** of samples (columns). */
static gd_status check(const char *op, const gd_tensor *y,
                       const gd_tensor *yhat, size_t *m, gd_error *err) {
  char sy[GD_SHAPESTR_SIZE], sh[GD_SHAPESTR_SIZE];
  if (!gd_tensor_same_shape(y, yhat))
    return gd_error_set(err, GD_ERR_SHAPE, 2, "%s: Y %s and Yhat %s "
                        "differ", op,
                        gd_tensor_shape_str(y, sy, sizeof sy),
                        gd_tensor_shape_str(yhat, sh, sizeof sh));
  if (y->ndim < 1 || y->ndim > 2)
    return gd_error_set(err, GD_ERR_SHAPE, 1, "%s: Y %s is not 1-d or "
                        "2-d (outputs x samples)", op,
                        gd_tensor_shape_str(y, sy, sizeof sy));
  *m = y->ndim == 2 ? y->shape[1] : 1;
  if (*m == 0)
    return gd_error_set(err, GD_ERR_SHAPE, 1, "%s: Y %s has no samples",
                        op, gd_tensor_shape_str(y, sy, sizeof sy));
  return GD_OK;
}


/* Sum of squared differences over every element, divided by 2m. The
** tensors are read in place through their strides. */
gd_status gd_loss_mse(double *out, const gd_tensor *y,
                      const gd_tensor *yhat, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  size_t m, r, c, rows, cols;
  const double *py, *ph;
  double sum = 0;
  ptrdiff_t ry, cy, rh, ch;

  if (check("mse", y, yhat, &m, err)) return err->code;
  rows = y->shape[0];
  cols = y->ndim == 2 ? y->shape[1] : 1;
  ry = y->strides[0];
  rh = yhat->strides[0];
  cy = y->ndim == 2 ? y->strides[1] : 0;
  ch = y->ndim == 2 ? yhat->strides[1] : 0;
  py = gd_tensor_data(y);
  ph = gd_tensor_data(yhat);
  for (r = 0; r < rows; r++)
    for (c = 0; c < cols; c++) {
      double d = py[(ptrdiff_t)r * ry + (ptrdiff_t)c * cy] -
                 ph[(ptrdiff_t)r * rh + (ptrdiff_t)c * ch];
      sum += d * d;
    }
  *out = sum / (2.0 * (double)m);
  return GD_OK;
}


gd_status gd_loss_mse_jacobian_into(gd_jacobian *out, const gd_tensor *y,
                                    const gd_tensor *yhat, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  size_t m;
  char so[GD_SHAPESTR_SIZE], sh[GD_SHAPESTR_SIZE];
  if (check("mse_jacobian", y, yhat, &m, err)) return err->code;
  if (gd_jacobian_values(out) == NULL || out->nnum != 0 ||
      !gd_tensor_same_shape(out->term[0].f, yhat))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "mse_jacobian: target %s "
                        "does not match Yhat %s",
                        gd_shape_str(so, sizeof so, out->nden, out->den),
                        gd_tensor_shape_str(yhat, sh, sizeof sh));
  return gd_tensor_axpby_into(out->term[0].f, 1.0 / (double)m, yhat,
                              -1.0 / (double)m, y, err);
}


/*
** The loss and its gradient from one read of Y and Yhat: d = yhat - y
** gives both d * d for the sum and d / m for dE/dYhat. Tensors that are
** not row-major take the two separate passes.
*/
gd_status gd_loss_mse_with_jacobian_into(double *e, gd_jacobian *out,
                                         const gd_tensor *y,
                                         const gd_tensor *yhat,
                                         gd_error *err) {
  gd_error spare;
  gd_tensor *g;
  const double *py, *ph;
  double *pg, sum = 0, inv;
  size_t m, i, n;

  if (err == NULL) err = &spare;
  g = gd_jacobian_values(out);
  if (g == NULL || out->nnum != 0 || !gd_tensor_same_shape(g, yhat) ||
      !gd_tensor_is_contiguous(g) || !gd_tensor_is_contiguous(y) ||
      !gd_tensor_is_contiguous(yhat) || y->ndim < 1 || y->ndim > 2 ||
      !gd_tensor_same_shape(y, yhat))
    return gd_loss_mse(e, y, yhat, err) ||
           gd_loss_mse_jacobian_into(out, y, yhat, err) ? err->code : GD_OK;
  if (check("mse", y, yhat, &m, err)) return err->code;
  n = gd_tensor_numel(y);
  py = gd_tensor_data(y);
  ph = gd_tensor_data(yhat);
  pg = gd_tensor_data(g);
  inv = 1.0 / (double)m;
  for (i = 0; i < n; i++) {
    double d = ph[i] - py[i];
    sum += d * d;
    pg[i] = inv * ph[i] - inv * py[i];
  }
  *e = sum / (2.0 * (double)m);
  return GD_OK;
}


/* (Yhat - Y) / m, since dE/dyhat[k, i] = (yhat[k, i] - y[k, i]) / m. */
gd_status gd_loss_mse_jacobian(gd_jacobian **out, const gd_tensor *y,
                               const gd_tensor *yhat, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *j;
  size_t m;
  if (check("mse_jacobian", y, yhat, &m, err)) return err->code;
  if (gd_jacobian_zeros(&j, 0, NULL, yhat->ndim, yhat->shape, err))
    return err->code;
  if (gd_loss_mse_jacobian_into(j, y, yhat, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  *out = j;
  return GD_OK;
}


/* I / m: the identity's ties with the scale 1/m, no values stored. */
gd_status gd_loss_mse_hessian(gd_jacobian **out, const gd_tensor *y,
                              const gd_tensor *yhat, gd_error *err) {
  gd_error spare;
  size_t m;
  if (err == NULL) err = &spare;
  if (check("mse_hessian", y, yhat, &m, err)) return err->code;
  if (gd_jacobian_identity(out, yhat->ndim, yhat->shape, err))
    return err->code;
  (*out)->term[0].scale = 1.0 / (double)m;
  return GD_OK;
}
