/*
** fit.c: fit a cubic a + b u + c u^2 + d u^3 to sin(pi u) on [-1, 1]
** with gdnn's GradientDescent, through the C core alone (no Lua).
**
** The loss is E(w) = |X w - y|^2 / (2 m) over m samples, X holding the
** powers 1, u, u^2, u^3 of each sample as a row; its gradient is
** X^T (X w - y) / m. Each iteration computes that gradient with two
** matrix products and hands it to gd_descent_step (adam).
**
** Build against an installed gdnn: make examples PREFIX=<prefix>
** Run: examples/fit.bin [iterations]; it prints the coefficients and
** the final loss, and fails when the fit is poor.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gdnn.h>

#define M 64      /* samples */
#define P 4       /* coefficients */
#define PI 3.14159265358979323846


/* Print what went wrong and give the failure status. */
static int fail(const gd_error *err) {
  fprintf(stderr, "fit: %s\n", err->msg);
  return EXIT_FAILURE;
}


/* Fill the design matrix x (M x P, row-major) and the targets y. */
static void make_data(double *x, double *y) {
  int i, k;
  for (i = 0; i < M; i++) {
    double u = -1.0 + 2.0 * i / (M - 1);
    for (k = 0; k < P; k++)
      x[i * P + k] = pow(u, k);
    y[i] = sin(PI * u);
  }
}


/*
** Run the descent: r = X w - y, g = X^T r / m, one adam step, for the
** given number of iterations. Returns the final loss in *loss.
*/
static gd_status descend(gd_descent *d, const gd_tensor *x,
                         const gd_tensor *xt, const gd_tensor *y,
                         gd_tensor *r, gd_tensor *g, long iterations,
                         double *loss, gd_error *err) {
  gd_descent_opts o;
  long it;

  gd_descent_opts_default(&o);
  o.method = GD_DESCENT_ADAM;
  o.learning_rate = 0.02;
  for (it = 0; it <= iterations; it++) {
    if (gd_tensor_matmul_into(r, x, d->x, err)
        || gd_tensor_binary_into(r, GD_SUB, r, y, err)
        || gd_tensor_matmul_into(g, xt, r, err)
        || gd_tensor_binary_scalar_into(g, GD_DIV, g, M, 0, err))
      return err->code;
    if (it == iterations)
      break;
    if (gd_descent_step(d, g, &o, err))
      return err->code;
  }
  if (gd_tensor_reduce_all(loss, GD_NORM, r, err))
    return err->code;
  *loss = *loss * *loss / (2.0 * M);
  return GD_OK;
}


int main(int argc, char **argv) {
  static double xdata[M * P], ydata[M];
  size_t xshape[2] = { M, P }, n = M, p = P;
  gd_tensor *x = NULL, *xt = NULL, *y = NULL, *w0 = NULL;
  gd_tensor *r = NULL, *g = NULL;
  gd_descent *d = NULL;
  long iterations = argc > 1 ? atol(argv[1]) : 3000;
  double loss = 0.0, w[P];
  gd_error err;
  int status = EXIT_FAILURE;

  make_data(xdata, ydata);
  if (gd_tensor_wrap(&x, xdata, 2, xshape, NULL, NULL, NULL, &err)
      || gd_tensor_transpose(&xt, x, 0, 1, &err)
      || gd_tensor_wrap(&y, ydata, 1, &n, NULL, NULL, NULL, &err)
      || gd_tensor_new(&w0, 1, &p, &err)
      || gd_tensor_new(&r, 1, &n, &err)
      || gd_tensor_new(&g, 1, &p, &err)
      || gd_descent_new(&d, w0, GD_DESCENT_COPY, &err)
      || descend(d, x, xt, y, r, g, iterations, &loss, &err)) {
    status = fail(&err);
  }
  else {
    gd_tensor_to_buffer(d->x, w);
    printf("sin(pi u) ~ %.4f + %.4f u + %.4f u^2 + %.4f u^3\n",
           w[0], w[1], w[2], w[3]);
    printf("loss %.6g after %ld steps\n", loss, d->steps);
    status = loss < 5e-3 ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  gd_descent_free(d);
  gd_tensor_free(g);
  gd_tensor_free(r);
  gd_tensor_free(w0);
  gd_tensor_free(y);
  gd_tensor_free(xt);
  gd_tensor_free(x);
  return status;
}
