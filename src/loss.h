/*
** loss.h: the mean squared error over samples stored as columns, with
** its first and second derivatives as TensorJacobians.
**
** Limits: Y and Yhat are 2-d (outputs x samples) or 1-d (one sample).
*/
#ifndef GD_LOSS_H
#define GD_LOSS_H

#include "core.h"
#include "jacobian.h"
#include "tensor.h"

/* E = 1/(2m) sum over the m columns of ||y_i - yhat_i||^2 into *out. */
gd_status gd_loss_mse(double *out, const gd_tensor *y,
                      const gd_tensor *yhat, gd_error *err);
/* dE/dYhat = (Yhat - Y) / m: a new dense Jacobian with an empty
** numerator and Yhat's shape as denominator. */
gd_status gd_loss_mse_jacobian(gd_jacobian **out, const gd_tensor *y,
                               const gd_tensor *yhat, gd_error *err);
/* The same into out, a Jacobian of those shapes (allocates nothing). */
gd_status gd_loss_mse_jacobian_into(gd_jacobian *out, const gd_tensor *y,
                                    const gd_tensor *yhat, gd_error *err);
/* E into *e and dE/dYhat into out together, in one pass when Y, Yhat
** and out's values are row-major; the same checks and results as
** gd_loss_mse and gd_loss_mse_jacobian_into. */
gd_status gd_loss_mse_with_jacobian_into(double *e, gd_jacobian *out,
                                         const gd_tensor *y,
                                         const gd_tensor *yhat,
                                         gd_error *err);
/* d2E/dYhat2 = I / m: a new Jacobian of pure ties (the identity) with
** scale 1/m, numerator and denominator both Yhat's shape. */
gd_status gd_loss_mse_hessian(gd_jacobian **out, const gd_tensor *y,
                              const gd_tensor *yhat, gd_error *err);

#endif
