/*
** descent.c: the GradientDescent optimiser: one update rule with momentum,
** Nesterov momentum, adam, gradient clipping and two kinds of Gaussian
** noise, and a driver that runs whole descents with random restarts.
**
** Limits: float64 only; every tensor a gd_descent makes is contiguous;
** central differences use the relative step cbrt(DBL_EPSILON); a search
** keeps its random starts inside the bounds but not its iterates; a
** search shared by several processes sends every record and the state
** of each process's best descent to all of them (its records and seven
** tensors of x's size per process), and a process that cannot allocate
** its row leaves the others waiting in the gather.
*/
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "descent.h"
#include "interrupt.h"
#include "vector.h"


/* The operation names that start error messages. */
static const char NEW[] = "descent_new";
static const char STEP[] = "descent_step";
static const char REC[] = "descent_record";
static const char RUN[] = "descent_from_function";


/* Fill err with "op: message" and return code, as gd_error_set. */
static gd_status fail(gd_error *err, gd_status code, int operand,
                      const char *op, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 5, 6)))
#endif
  ;


static gd_status fail(gd_error *err, gd_status code, int operand,
                      const char *op, const char *fmt, ...) {
  va_list ap;
  int n;
  if (err == NULL) return code;
  err->code = code;
  err->operand = operand;
  n = snprintf(err->msg, sizeof err->msg, "%s: ", op);
  va_start(ap, fmt);
  vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
  va_end(ap);
  return code;
}


void gd_descent_opts_default(gd_descent_opts *o) {
  memset(o, 0, sizeof *o);
  o->method = GD_DESCENT_GD;
  o->learning_rate = 0.01;
  o->noise_gamma = 0.55;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->epsilon = 1e-8;
  o->rng = NULL;
}


const char *gd_descent_reason_name(gd_descent_reason r) {
  switch (r) {
    case GD_REASON_CONVERGED: return "converged";
    case GD_REASON_MAX_ITERATIONS: return "max_iterations";
    case GD_REASON_NON_FINITE: return "non_finite";
    case GD_REASON_INTERRUPTED: return "interrupted";
  }
  return "unknown";
}


const char *gd_descent_method_name(gd_descent_method m) {
  switch (m) {
    case GD_DESCENT_GD: return "gd";
    case GD_DESCENT_ADAM: return "adam";
  }
  return "unknown";
}


/* Check that v is finite and at least lo (above lo when strict). */
static gd_status check_min(double v, double lo, int strict,
                           const char *name, const char *op, int operand,
                           gd_error *err) {
  if (!isfinite(v) || v < lo || (strict && v == lo))
    return fail(err, GD_ERR_ARG, operand, op,
                "%s must be a finite number %s %g, got %g", name,
                strict ? "above" : "of at least", lo, v);
  return GD_OK;
}


/* Check that v lies in [0, 1). */
static gd_status check_unit(double v, const char *name, const char *op,
                            int operand, gd_error *err) {
  if (!(v >= 0.0 && v < 1.0))
    return fail(err, GD_ERR_ARG, operand, op,
                "%s must lie in [0, 1), got %g", name, v);
  return GD_OK;
}


/*
** Check every field of o, naming the first bad one. Momentum belongs to
** the plain method only: adam has beta1 for the same purpose, and a
** momentum given with adam would be silently ignored otherwise.
*/
static gd_status check_opts(const gd_descent_opts *o, const char *op,
                            int operand, gd_error *err) {
  gd_status st = GD_OK;
  if (o->method != GD_DESCENT_GD && o->method != GD_DESCENT_ADAM)
    return fail(err, GD_ERR_ARG, operand, op,
                "method must be gd or adam, got %d",
                (int)o->method);
  if (o->noise_interval < 0)
    return fail(err, GD_ERR_ARG, operand, op,
                "noise_interval must be at least 0, got %ld",
                o->noise_interval);
  if (st == GD_OK)
    st = check_min(o->learning_rate, 0.0, 1, "learning_rate", op, operand,
                   err);
  if (st == GD_OK) st = check_unit(o->momentum, "momentum", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->noise_scale, 0.0, 0, "noise_scale", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->noise_eta, 0.0, 0, "noise_eta", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->noise_gamma, 0.0, 0, "noise_gamma", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->clip_norm, 0.0, 0, "clip_norm", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->clip_value, 0.0, 0, "clip_value", op, operand, err);
  if (st == GD_OK) st = check_unit(o->beta1, "beta1", op, operand, err);
  if (st == GD_OK) st = check_unit(o->beta2, "beta2", op, operand, err);
  if (st == GD_OK)
    st = check_min(o->epsilon, 0.0, 1, "epsilon", op, operand, err);
  if (st == GD_OK && o->method == GD_DESCENT_ADAM && o->momentum != 0.0)
    st = fail(err, GD_ERR_ARG, operand, op,
              "momentum does not apply to method adam (its "
              "beta1 plays that part)");
  return st;
}


gd_status gd_descent_opts_check(const gd_descent_opts *o, int operand,
                                gd_error *err) {
  return check_opts(o, "descent_opts", operand, err);
}


/* A new zero tensor of t's shape into *out. */
static gd_status zeros_like(gd_tensor **out, const gd_tensor *t,
                            gd_error *err) {
  return gd_tensor_new(out, t->ndim, t->shape, err);
}


/*
** Make the descent over x0: x is a contiguous copy, or a view when mode
** is GD_DESCENT_SHARE (x0 must then be writable). The metadata tensors
** are zeros of x0's shape. On error nothing is kept.
*/
gd_status gd_descent_new(gd_descent **out, const gd_tensor *x0, int mode,
                         gd_error *err) {
  gd_descent *d;
  gd_status st;
  if (x0 == NULL)
    return fail(err, GD_ERR_ARG, 1, NEW, "no starting point given");
  if (mode == GD_DESCENT_SHARE && !gd_tensor_is_writable(x0))
    return fail(err, GD_ERR_READONLY, 1, NEW,
                "cannot share a broadcast view as a variable");

  d = gd_malloc(sizeof *d);
  if (d == NULL)
    return fail(err, GD_ERR_NOMEM, 0, NEW, "out of memory");
  memset(d, 0, sizeof *d);

  if (mode == GD_DESCENT_SHARE) st = gd_tensor_view(&d->x, x0, err);
  else st = gd_tensor_clone(&d->x, x0, err);
  if (st == GD_OK) st = zeros_like(&d->gradient_current, x0, err);
  if (st == GD_OK) st = zeros_like(&d->gradient_previous, x0, err);
  if (st == GD_OK) st = zeros_like(&d->gradient_step, x0, err);
  if (st == GD_OK) st = zeros_like(&d->velocity, x0, err);
  if (st == GD_OK) st = zeros_like(&d->work, x0, err);
  if (st != GD_OK) {
    gd_descent_free(d);
    return st;
  }
  gd_rng_seed(&d->rng, 0);
  *out = d;
  return GD_OK;
}


void gd_descent_free(gd_descent *d) {
  size_t i;
  if (d == NULL) return;
  gd_tensor_free(d->x);
  gd_tensor_free(d->gradient_current);
  gd_tensor_free(d->gradient_previous);
  gd_tensor_free(d->gradient_step);
  gd_tensor_free(d->velocity);
  gd_tensor_free(d->work);
  gd_tensor_free(d->adam_m);
  gd_tensor_free(d->adam_v);
  for (i = 0; i < d->nminima; i++) gd_tensor_free(d->minima[i].x);
  gd_free(d->minima, d->capminima * sizeof *d->minima);
  gd_free(d, sizeof *d);
}


/* The index of the first element of a (n of them) that is not finite,
** or n when all are. */
static size_t first_non_finite(const double *a, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!isfinite(a[i])) return i;
  return n;
}


/* Clamp each element to [-c, c], then scale the whole to norm c2; a
** bound of 0 is off. */
static void clip(double *w, size_t n, double c, double c2) {
  size_t i;
  double s = 0.0;
  if (c > 0.0)
    for (i = 0; i < n; i++)
      w[i] = w[i] > c ? c : (w[i] < -c ? -c : w[i]);
  if (c2 <= 0.0) return;
  for (i = 0; i < n; i++) s += w[i] * w[i];
  s = sqrt(s);
  if (s > c2)
    for (i = 0; i < n; i++) w[i] *= c2 / s;
}


/* Add N(0, sigma^2) to each of the n elements of w. */
static void add_noise(double *w, size_t n, double sigma, gd_rng *rng) {
  size_t i;
  for (i = 0; i < n; i++) w[i] += sigma * gd_rng_normal(rng);
}


/*
** The update u from the prepared gradient w under the plain rule:
** v = momentum * v + sign * lr * w, and u = v, or for Nesterov
** u = momentum * v + sign * lr * w (the look-ahead written in x's terms).
*/
static void update_gd(gd_descent *d, const double *w, size_t n,
                      const gd_descent_opts *o, double sign) {
  double *v = gd_tensor_data(d->velocity);
  double *u = gd_tensor_data(d->gradient_step);
  double a = sign * o->learning_rate, mu = o->momentum;
  size_t i;
  for (i = 0; i < n; i++) {
    v[i] = mu * v[i] + a * w[i];
    u[i] = o->nesterov ? mu * v[i] + a * w[i] : v[i];
  }
}


/*
** The adam update: m and s are running means of w and w^2, corrected
** for their zero start, and u = sign * lr * mhat / (sqrt(shat) + eps).
*/
static void update_adam(gd_descent *d, const double *w, size_t n,
                        const gd_descent_opts *o, double sign) {
  double *m = gd_tensor_data(d->adam_m);
  double *s = gd_tensor_data(d->adam_v);
  double *u = gd_tensor_data(d->gradient_step);
  double b1 = o->beta1, b2 = o->beta2, c1, c2;
  size_t i;
  d->adam_steps++;
  c1 = 1.0 - pow(b1, (double)d->adam_steps);
  c2 = 1.0 - pow(b2, (double)d->adam_steps);
  for (i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1.0 - b1) * w[i];
    s[i] = b2 * s[i] + (1.0 - b2) * w[i] * w[i];
    u[i] = sign * o->learning_rate * (m[i] / c1)
           / (sqrt(s[i] / c2) + o->epsilon);
  }
}


/* Check that a gradient is given and has x's shape. */
static gd_status check_gradient(const gd_descent *d, const gd_tensor *g,
                                gd_error *err) {
  char sg[GD_SHAPESTR_SIZE], sx[GD_SHAPESTR_SIZE];
  if (g == NULL)
    return fail(err, GD_ERR_ARG, 2, STEP, "no gradient given");
  if (!gd_tensor_same_shape(g, d->x))
    return fail(err, GD_ERR_SHAPE, 2, STEP,
                "gradient of shape %s does not match x of "
                "shape %s", gd_tensor_shape_str(g, sg, sizeof sg),
                gd_tensor_shape_str(d->x, sx, sizeof sx));
  return GD_OK;
}


/* The plain step's loops (their buffers are declared not to overlap;
** see step_plain). */
GD_LOOPS_BEGIN


/* The plain rule over buffers that do not overlap: cur = g, v = mu v +
** a g, u = v (or mu v + a g for Nesterov) and x += u. */
GD_CLONES
static void plain_update(double *restrict x, double *restrict cur,
                         double *restrict v, double *restrict u,
                         const double *restrict g, size_t n, double a,
                         double mu, int nesterov) {
  size_t i;
  if (nesterov)
    for (i = 0; i < n; i++) {
      double vi = mu * v[i] + a * g[i];
      cur[i] = g[i];
      v[i] = vi;
      u[i] = mu * vi + a * g[i];
      x[i] += u[i];
    }
  else
    for (i = 0; i < n; i++) {
      double vi = mu * v[i] + a * g[i];
      cur[i] = g[i];
      v[i] = vi;
      u[i] = vi;
      x[i] += vi;
    }
}


/* The lean plain rule: v = mu v + a g (with momentum) and x += v, or
** the Nesterov step mu v + a g; without momentum x += a g. */
GD_CLONES
static void lean_update(double *restrict x, double *restrict v,
                        const double *restrict g, size_t n, double a,
                        double mu, int nesterov) {
  size_t i;
  if (mu == 0.0)
    for (i = 0; i < n; i++) x[i] += a * g[i];
  else if (nesterov)
    for (i = 0; i < n; i++) {
      double vi = mu * v[i] + a * g[i];
      v[i] = vi;
      x[i] += mu * vi + a * g[i];
    }
  else
    for (i = 0; i < n; i++) {
      double vi = mu * v[i] + a * g[i];
      v[i] = vi;
      x[i] += vi;
    }
}


GD_LOOPS_END


/* 1 when the n doubles at p and those at q share no byte. */
static int apart(const double *p, const double *q, size_t n) {
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)q, len = n * sizeof *p;
  return a + len <= b || b + len <= a;
}


/* Whether a step with options o can take the one-pass path: the plain
** rule without clipping or noise, on a contiguous x and gradient that
** share no memory with each other or with d's own buffers. */
static int plain_step(const gd_descent *d, const gd_tensor *g,
                      const gd_descent_opts *o) {
  const double *pg, *px;
  size_t n;
  if (o->method != GD_DESCENT_GD || o->clip_value != 0.0 ||
      o->clip_norm != 0.0 || o->noise_eta != 0.0 ||
      (o->noise_interval != 0 && o->noise_scale != 0.0) || g == NULL ||
      !gd_tensor_same_shape(g, d->x) || !gd_tensor_is_contiguous(g) ||
      !gd_tensor_is_contiguous(d->x))
    return 0;
  pg = gd_tensor_data(g);
  px = gd_tensor_data(d->x);
  n = gd_tensor_numel(d->x);
  return apart(pg, px, n) &&
         apart(pg, gd_tensor_data(d->gradient_previous), n) &&
         apart(pg, gd_tensor_data(d->velocity), n) &&
         apart(pg, gd_tensor_data(d->gradient_step), n) &&
         apart(px, gd_tensor_data(d->gradient_previous), n) &&
         apart(px, gd_tensor_data(d->gradient_current), n) &&
         apart(px, gd_tensor_data(d->velocity), n) &&
         apart(px, gd_tensor_data(d->gradient_step), n);
}


/*
** The plain update: the same values as the general path (gradients
** shifted, velocity, step, x + step) after one read-only finiteness
** check, so that an error changes nothing. The shift swaps the two
** gradient buffers, and one pass then writes the new gradient over the
** older one with the velocity, the step and x. The scratch tensor work
** is left as it was.
*/
static gd_status step_plain(gd_descent *d, const gd_tensor *gradient,
                            const gd_descent_opts *o, gd_error *err) {
  const double *g = gd_tensor_data(gradient);
  double a = (o->maximise ? 1.0 : -1.0) * o->learning_rate;
  size_t n = gd_tensor_numel(d->x), bad;
  gd_tensor *t;

  if (d->lean) {
    lean_update(gd_tensor_data(d->x), gd_tensor_data(d->velocity), g, n,
                a, o->momentum, o->nesterov != 0);
    d->steps++;
    return GD_OK;
  }
  if (!gd_tensor_all_finite(gradient)) {
    bad = first_non_finite(g, n);
    return fail(err, GD_ERR_NUMERIC, 2, STEP, "gradient element %zu is "
                "%g", bad + 1, g[bad]);
  }
  t = d->gradient_previous;
  d->gradient_previous = d->gradient_current;
  d->gradient_current = t;
  plain_update(gd_tensor_data(d->x), gd_tensor_data(t),
               gd_tensor_data(d->velocity),
               gd_tensor_data(d->gradient_step), g, n, a, o->momentum,
               o->nesterov != 0);
  d->steps++;
  return GD_OK;
}


/* Check gradient against d->x and copy it into d->work. Nothing else of
** d changes, so a failure leaves d as it was. */
static gd_status take_gradient(gd_descent *d, const gd_tensor *g,
                               gd_error *err) {
  size_t n = gd_tensor_numel(d->x), bad;
  gd_status st = check_gradient(d, g, err);
  if (st != GD_OK) return st;
  st = gd_tensor_copy_into(d->work, g, err);
  if (st != GD_OK || d->lean) return st;
  bad = first_non_finite(gd_tensor_data(d->work), n);
  if (bad < n)
    return fail(err, GD_ERR_NUMERIC, 2, STEP,
                "gradient element %zu is %g", bad + 1,
                gd_tensor_data(d->work)[bad]);
  return GD_OK;
}


/* Make adam's moment tensors on first use; on failure none is kept. */
static gd_status need_adam(gd_descent *d, gd_error *err) {
  gd_status st;
  if (d->adam_m != NULL) return GD_OK;
  st = zeros_like(&d->adam_m, d->x, err);
  if (st != GD_OK) return st;
  st = zeros_like(&d->adam_v, d->x, err);
  if (st != GD_OK) {
    gd_tensor_free(d->adam_m);
    d->adam_m = NULL;
  }
  return st;
}


/*
** One update: shift the gradients, clip the new one, add annealed noise
** to it, form the update by the chosen rule, add the interval noise, and
** add the update to x. Every check comes before the first change, so an
** error leaves d unchanged.
*/
gd_status gd_descent_step(gd_descent *d, const gd_tensor *gradient,
                          const gd_descent_opts *o, gd_error *err) {
  gd_descent_opts def;
  gd_rng *rng;
  double *w, *u, sign;
  size_t n;
  gd_status st;

  if (d == NULL)
    return fail(err, GD_ERR_ARG, 1, STEP, "no descent given");
  if (o == NULL) {
    gd_descent_opts_default(&def);
    o = &def;
  }
  st = check_opts(o, STEP, 3, err);
  if (st == GD_OK && plain_step(d, gradient, o))
    return step_plain(d, gradient, o, err);
  if (st == GD_OK) st = take_gradient(d, gradient, err);
  if (st == GD_OK && o->method == GD_DESCENT_ADAM) st = need_adam(d, err);
  if (st != GD_OK) return st;

  n = gd_tensor_numel(d->x);
  w = gd_tensor_data(d->work);
  u = gd_tensor_data(d->gradient_step);
  rng = o->rng ? o->rng : &d->rng;
  sign = o->maximise ? 1.0 : -1.0;
  if (!d->lean) {
    memcpy(gd_tensor_data(d->gradient_previous),
           gd_tensor_data(d->gradient_current), n * sizeof *w);
    memcpy(gd_tensor_data(d->gradient_current), w, n * sizeof *w);
  }

  clip(w, n, o->clip_value, o->clip_norm);
  if (o->noise_eta > 0.0)
    add_noise(w, n, sqrt(o->noise_eta
                         / pow(1.0 + (double)d->steps, o->noise_gamma)),
              rng);
  if (o->method == GD_DESCENT_ADAM) update_adam(d, w, n, o, sign);
  else update_gd(d, w, n, o, sign);
  d->steps++;
  if (o->noise_interval > 0 && o->noise_scale > 0.0
      && d->steps % o->noise_interval == 0)
    add_noise(u, n, o->noise_scale, rng);

  return gd_tensor_binary_into(d->x, GD_ADD, d->x, d->gradient_step, err);
}


/*
** Append a record of d->x (a copy the record owns). The list grows by
** doubling through the allocation hook; on error it is unchanged.
*/
gd_status gd_descent_record(gd_descent *d, double value, long iterations,
                            gd_descent_reason reason, int numeric_gradient,
                            gd_error *err) {
  gd_descent_minimum *r;
  gd_tensor *x;
  gd_status st;
  if (d->nminima == d->capminima) {
    size_t cap = d->capminima ? 2 * d->capminima : 4, bytes;
    if (!gd_mul_size(cap, sizeof *r, &bytes))
      return fail(err, GD_ERR_NOMEM, 0, REC, "too many minima");
    r = gd_realloc(d->minima, d->capminima * sizeof *r, bytes);
    if (r == NULL)
      return fail(err, GD_ERR_NOMEM, 0, REC, "out of memory");
    d->minima = r;
    d->capminima = cap;
  }
  st = gd_tensor_clone(&x, d->x, err);
  if (st != GD_OK) return st;
  r = &d->minima[d->nminima++];
  r->x = x;
  r->value = value;
  r->iterations = iterations;
  r->reason = reason;
  r->numeric_gradient = numeric_gradient;
  r->restart = 0;
  return GD_OK;
}


/* ---- whole descents of a function ---------------------------------- */


void gd_descent_problem_default(gd_descent_problem *p) {
  memset(p, 0, sizeof *p);
  p->restarts = 1;
  p->max_iterations = 10000;
  p->tolerance = 1e-8;
  p->callback_every = 1;
  p->seed = 0;
  p->rank = 0;
  p->nprocs = 1;
}


/* What a search keeps between its descents. */
typedef struct search {
  const gd_descent_problem *p;
  gd_descent_opts o;          /* the caller's, noise from each descent */
  gd_tensor *tmpl;            /* a tensor of the search's shape */
  gd_tensor *grad;            /* the gradient at the current x */
  double *lo, *hi;            /* the bounds, contiguous, or NULL */
  size_t n;                   /* elements of x */
  gd_descent *records;        /* holds every descent's record */
  gd_descent *best;           /* the best descent so far, or NULL */
  double bestv;               /* its value */
  gd_descent_reason bestr;    /* and how it ended */
  long bestk;                 /* and its restart */
  int interrupted;            /* a stop request ended the search */
} search;


/* Free what s holds (not s->p). */
static void search_free(search *s) {
  gd_tensor_free(s->tmpl);
  gd_tensor_free(s->grad);
  gd_free(s->lo, s->n * sizeof *s->lo);
  gd_free(s->hi, s->n * sizeof *s->hi);
  gd_descent_free(s->records);
  gd_descent_free(s->best);
}


/* Check the scalar parts of a problem (operand 1). */
static gd_status check_problem(const gd_descent_problem *p, gd_error *err) {
  if (p == NULL || p->value == NULL)
    return fail(err, GD_ERR_ARG, 1, RUN, "no function given");
  if (p->x0 == NULL && (p->lower == NULL || p->upper == NULL))
    return fail(err, GD_ERR_ARG, 1, RUN,
                "x0 or both lower and upper are needed");
  if ((p->lower == NULL) != (p->upper == NULL))
    return fail(err, GD_ERR_ARG, 1, RUN,
                "lower and upper must be given together");
  if (p->restarts < 1)
    return fail(err, GD_ERR_ARG, 1, RUN,
                "restarts must be at least 1, got %ld",
                p->restarts);
  if (p->max_iterations < 0)
    return fail(err, GD_ERR_ARG, 1, RUN,
                "max_iterations must be at least 0, got %ld",
                p->max_iterations);
  if (p->nprocs < 1 || p->rank < 0 || p->rank >= p->nprocs)
    return fail(err, GD_ERR_ARG, 1, RUN,
                "rank %ld is not one of %ld processes", p->rank,
                p->nprocs);
  if (p->nprocs > 1 && p->gather == NULL)
    return fail(err, GD_ERR_ARG, 1, RUN,
                "%ld processes need a gather function", p->nprocs);
  if (p->callback_every < 1)
    return fail(err, GD_ERR_ARG, 1, RUN,
                "callback_every must be at least 1, got %ld",
                p->callback_every);
  return check_min(p->tolerance, 0.0, 0, "tolerance",
                   RUN, 1, err);
}


/* Copy bound b, broadcast to the search's shape, into a new buffer. */
static gd_status read_bound(search *s, const gd_tensor *b, double **out,
                            const char *name, gd_error *err) {
  char sb[GD_SHAPESTR_SIZE], sx[GD_SHAPESTR_SIZE];
  gd_tensor *e;
  gd_error ignored;
  double *buf;
  size_t i;
  const gd_tensor *t = s->tmpl;
  gd_status st = gd_tensor_expand(&e, b, t->ndim, t->shape, &ignored);
  if (st == GD_ERR_NOMEM)
    return fail(err, GD_ERR_NOMEM, 0, RUN, "out of memory");
  if (st != GD_OK)
    return fail(err, GD_ERR_SHAPE, 1, RUN,
                "%s of shape %s does not broadcast to x of "
                "shape %s", name, gd_tensor_shape_str(b, sb,
                sizeof sb), gd_tensor_shape_str(t, sx, sizeof sx));
  buf = gd_malloc(s->n * sizeof *buf);
  if (buf == NULL) {
    gd_tensor_free(e);
    return fail(err, GD_ERR_NOMEM, 0, RUN, "out of memory");
  }
  gd_tensor_to_buffer(e, buf);
  gd_tensor_free(e);
  *out = buf;
  for (i = 0; i < s->n; i++)
    if (!isfinite(buf[i]))
      return fail(err, GD_ERR_ARG, 1, RUN,
                  "%s element %zu is %g", name, i + 1, buf[i]);
  return GD_OK;
}


/* Make the shape template, the gradient buffer and the bounds. */
static gd_status search_init(search *s, gd_error *err) {
  const gd_descent_problem *p = s->p;
  size_t shape[GD_MAX_DIMS], i;
  int ndim;
  gd_status st;
  if (p->x0 != NULL) {
    st = gd_tensor_new(&s->tmpl, p->x0->ndim, p->x0->shape, err);
  } else {
    st = gd_broadcast_shapes(p->lower->ndim, p->lower->shape,
                             p->upper->ndim, p->upper->shape, &ndim,
                             shape, err);
    if (st == GD_OK) st = gd_tensor_new(&s->tmpl, ndim, shape, err);
  }
  if (st == GD_OK) st = gd_tensor_new(&s->grad, s->tmpl->ndim,
                                      s->tmpl->shape, err);
  if (st != GD_OK) return st;
  s->n = gd_tensor_numel(s->tmpl);
  if (p->lower == NULL) return GD_OK;
  st = read_bound(s, p->lower, &s->lo, "lower", err);
  if (st == GD_OK) st = read_bound(s, p->upper, &s->hi, "upper", err);
  for (i = 0; st == GD_OK && i < s->n; i++)
    if (s->lo[i] > s->hi[i])
      st = fail(err, GD_ERR_ARG, 1, RUN,
                "lower element %zu (%g) is above upper (%g)",
                i + 1, s->lo[i], s->hi[i]);
  return st;
}


/*
** Central differences of f at d->x into s->grad: each element moves by
** h = cbrt(DBL_EPSILON) * max(1, |x_i|) both ways and is put back
** exactly, also when f fails.
*/
static gd_status central_differences(search *s, gd_descent *d,
                                     gd_error *err) {
  const gd_descent_problem *p = s->p;
  double *x = gd_tensor_data(d->x), *g = gd_tensor_data(s->grad);
  double h0 = cbrt(DBL_EPSILON), old, xp, xm, fp, fm;
  gd_status st;
  size_t i;
  for (i = 0; i < s->n; i++) {
    old = x[i];
    xp = old + h0 * fmax(1.0, fabs(old));
    xm = old - h0 * fmax(1.0, fabs(old));
    x[i] = xp;
    st = p->value(p->ud, d->x, &fp, err);
    x[i] = xm;
    if (st == GD_OK) st = p->value(p->ud, d->x, &fm, err);
    x[i] = old;
    if (st != GD_OK) return st;
    g[i] = (fp - fm) / (xp - xm);
  }
  return GD_OK;
}


/* f and its gradient at d->x into *value and s->grad. */
static gd_status evaluate(search *s, gd_descent *d, double *value,
                          gd_error *err) {
  const gd_descent_problem *p = s->p;
  gd_status st = p->value(p->ud, d->x, value, err);
  if (st != GD_OK || !isfinite(*value)) return st;
  if (p->gradient == NULL) return central_differences(s, d, err);
  st = gd_tensor_fill(s->grad, 0.0, err);
  if (st == GD_OK) st = p->gradient(p->ud, d->x, s->grad, err);
  return st;
}


/* The Euclidean norm of the n doubles at a. */
static double norm2(const double *a, size_t n) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < n; i++) s += a[i] * a[i];
  return sqrt(s);
}


/*
** One descent from d->x: evaluate, report, test for the end, step. The
** iteration count is the number of steps taken. Returns only callback
** and allocation errors; how the descent ended goes into *reason. A
** pending gd_interrupt_request ends it like a callback's stop, clears
** the request and ends the whole search after this descent.
*/
static gd_status descend(search *s, gd_descent *d, double *value,
                         long *iters, gd_descent_reason *reason,
                         gd_error *err) {
  const gd_descent_problem *p = s->p;
  double *g = gd_tensor_data(s->grad);
  long it = 0;
  int stop;
  gd_status st;
  for (;; it++) {
    st = evaluate(s, d, value, err);
    if (st != GD_OK) return st;
    *iters = it;
    if (!isfinite(*value) || first_non_finite(g, s->n) < s->n) {
      *reason = GD_REASON_NON_FINITE;
      return GD_OK;
    }
    stop = 0;
    if (p->callback != NULL && it % p->callback_every == 0) {
      st = p->callback(p->ud, it, d->x, *value, &stop, err);
      if (st != GD_OK) return st;
    }
    if (!stop && gd_interrupt_pending()) {
      gd_interrupt_clear();    /* one request stops one search */
      s->interrupted = stop = 1;
    }
    if (stop) *reason = GD_REASON_INTERRUPTED;
    else if (norm2(g, s->n) <= p->tolerance) *reason = GD_REASON_CONVERGED;
    else if (it >= p->max_iterations) *reason = GD_REASON_MAX_ITERATIONS;
    else {
      st = gd_descent_step(d, s->grad, &s->o, err);
      if (st != GD_OK) return st;
      continue;
    }
    return GD_OK;
  }
}


/* 1 when a record of value a (reason ra) ranks before one of b. */
static int better(double a, gd_descent_reason ra, double b,
                  gd_descent_reason rb, int maximise) {
  int fa = isfinite(a) && ra != GD_REASON_NON_FINITE;
  int fb = isfinite(b) && rb != GD_REASON_NON_FINITE;
  if (fa != fb) return fa;
  if (!fa) return 0;
  return maximise ? a > b : a < b;
}


/* 1 when record a ranks before record b: the better value first, then
** the earlier restart, so that the order does not depend on where the
** records came from. */
static int before(const gd_descent_minimum *a, const gd_descent_minimum *b,
                  int maximise) {
  if (better(a->value, a->reason, b->value, b->reason, maximise)) return 1;
  if (better(b->value, b->reason, a->value, a->reason, maximise)) return 0;
  return a->restart < b->restart;
}


/* Sort the records of d best first (see before). */
static void sort_minima(gd_descent *d, int maximise) {
  gd_descent_minimum *m = d->minima, t;
  size_t i, j;
  for (i = 1; i < d->nminima; i++) {
    t = m[i];
    for (j = i; j > 0 && before(&t, &m[j - 1], maximise); j--)
      m[j] = m[j - 1];
    m[j] = t;
  }
}


/* A new descent for restart r: its generator is the seed's stream
** jumped r times; it starts at x0 (restart 0, or without bounds) or at a
** uniform draw inside the bounds. */
static gd_status start(search *s, long r, gd_descent **out,
                       gd_error *err) {
  const gd_descent_problem *p = s->p;
  gd_descent *d;
  double *x;
  size_t i;
  long k;
  gd_status st;
  int at_x0 = p->x0 != NULL && (r == 0 || s->lo == NULL);
  st = gd_descent_new(&d, at_x0 ? p->x0 : s->tmpl, GD_DESCENT_COPY, err);
  if (st != GD_OK) return st;
  gd_rng_seed(&d->rng, p->seed);
  for (k = 0; k < r; k++) gd_rng_jump(&d->rng);
  x = gd_tensor_data(d->x);
  if (!at_x0)
    for (i = 0; i < s->n; i++)
      x[i] = s->lo[i] + (s->hi[i] - s->lo[i]) * gd_rng_uniform(&d->rng);
  *out = d;
  return GD_OK;
}


/*
** Run restart r and keep its descent as s->best when it ranks before
** it. Its record goes to s->records either way.
*/
static gd_status restart(search *s, long r, gd_error *err) {
  gd_descent *d = NULL;
  gd_descent_reason reason = GD_REASON_NON_FINITE;
  gd_tensor *keep;
  double value = NAN;
  long iters = 0;
  gd_status st = start(s, r, &d, err);
  if (st == GD_OK) st = descend(s, d, &value, &iters, &reason, err);
  if (st == GD_OK) {
    keep = s->records->x;
    s->records->x = d->x;      /* record d's point under records */
    st = gd_descent_record(s->records, value, iters, reason,
                           s->p->gradient == NULL, err);
    s->records->x = keep;
    if (st == GD_OK)
      s->records->minima[s->records->nminima - 1].restart = r;
  }
  if (st != GD_OK) {
    gd_descent_free(d);
    return st;
  }
  if (s->best == NULL || better(value, reason, s->bestv, s->bestr,
                                s->o.maximise)) {
    gd_descent_free(s->best);
    s->best = d;
    s->bestv = value;
    s->bestr = reason;
    s->bestk = r;
  } else {
    gd_descent_free(d);
  }
  return GD_OK;
}


/* ---- searches shared by several processes ------------------------- */

/*
** What each process sends in a shared search, as one row of doubles:
** a head (its status, whether it was interrupted, its record count),
** cap record slots of REC_HEAD numbers and x, then the state of its
** best descent: STATE_HEAD numbers and the seven tensors x, the three
** gradients, velocity and adam's two moments (zeros without adam).
*/
enum { ROW_STATUS, ROW_STOPPED, ROW_COUNT, ROW_HEAD };
enum { REC_RESTART, REC_VALUE, REC_ITERS, REC_REASON, REC_NUMERIC,
       REC_HEAD };
enum { ST_RESTART, ST_STEPS, ST_ADAM_STEPS, ST_HAS_ADAM, ST_RNG,
       ST_SPARE = ST_RNG + 8, ST_HAS_SPARE, STATE_HEAD };
#define STATE_TENSORS 7

/* The layout of the rows of a search: records per process, the size
** of one record slot, where the state starts and the whole length. */
typedef struct rowlayout {
  size_t cap, rec, state, len;
} rowlayout;


/* The layout for s, or GD_ERR_NOMEM when the sizes overflow. */
static gd_status layout(const search *s, rowlayout *l, gd_error *err) {
  const gd_descent_problem *p = s->p;
  size_t tensors;
  l->cap = (size_t)((p->restarts + p->nprocs - 1) / p->nprocs);
  if (!gd_add_size(s->n, REC_HEAD, &l->rec) ||
      !gd_mul_size(l->cap, l->rec, &l->state) ||
      !gd_add_size(l->state, ROW_HEAD, &l->state) ||
      !gd_mul_size(s->n, STATE_TENSORS, &tensors) ||
      !gd_add_size(l->state, STATE_HEAD, &l->len) ||
      !gd_add_size(l->len, tensors, &l->len))
    return fail(err, GD_ERR_NOMEM, 0, RUN, "the search is too large to "
                "share");
  return GD_OK;
}


/* The tensors of d's state in their row order; adam's are NULL when d
** has not used adam. */
static void state_tensors(const gd_descent *d, gd_tensor **t) {
  t[0] = d->x;
  t[1] = d->gradient_current;
  t[2] = d->gradient_previous;
  t[3] = d->gradient_step;
  t[4] = d->velocity;
  t[5] = d->adam_m;
  t[6] = d->adam_v;
}


/* Write the state of d (restart k) at st. The generator's words go as
** 32-bit halves, which doubles hold exactly. */
static void pack_state(const gd_descent *d, long k, size_t n, double *st) {
  gd_tensor *t[STATE_TENSORS];
  int i;
  st[ST_RESTART] = (double)k;
  st[ST_STEPS] = (double)d->steps;
  st[ST_ADAM_STEPS] = (double)d->adam_steps;
  st[ST_HAS_ADAM] = d->adam_m != NULL;
  for (i = 0; i < 4; i++) {
    st[ST_RNG + 2 * i] = (double)(d->rng.s[i] >> 32);
    st[ST_RNG + 2 * i + 1] = (double)(d->rng.s[i] & 0xffffffffu);
  }
  st[ST_SPARE] = d->rng.spare;
  st[ST_HAS_SPARE] = d->rng.has_spare;
  state_tensors(d, t);
  for (i = 0; i < STATE_TENSORS; i++)
    if (t[i] != NULL)
      memcpy(st + STATE_HEAD + (size_t)i * n, gd_tensor_data(t[i]),
             n * sizeof *st);
}


/* This process's row: its status (st), records and best state. */
static gd_status pack_row(const search *s, const rowlayout *l,
                          gd_status st, gd_tensor **out, gd_error *err) {
  const gd_descent *rec = s->records;
  double *row, *r;
  size_t i;
  gd_status made = gd_tensor_new(out, 1, &l->len, err);
  if (made != GD_OK) return made;
  row = gd_tensor_data(*out);
  row[ROW_STATUS] = st;
  row[ROW_STOPPED] = s->interrupted;
  if (st != GD_OK) return GD_OK;
  row[ROW_COUNT] = (double)rec->nminima;
  for (i = 0; i < rec->nminima; i++) {
    r = row + ROW_HEAD + i * l->rec;
    r[REC_RESTART] = (double)rec->minima[i].restart;
    r[REC_VALUE] = rec->minima[i].value;
    r[REC_ITERS] = (double)rec->minima[i].iterations;
    r[REC_REASON] = rec->minima[i].reason;
    r[REC_NUMERIC] = rec->minima[i].numeric_gradient;
    memcpy(r + REC_HEAD, gd_tensor_data(rec->minima[i].x),
           s->n * sizeof *r);
  }
  if (s->best != NULL) pack_state(s->best, s->bestk, s->n, row + l->state);
  else row[l->state + ST_RESTART] = -1;
  return GD_OK;
}


/* Append the records of one process's row to d. */
static gd_status unpack_records(const search *s, const rowlayout *l,
                                double *row, gd_descent *d,
                                gd_error *err) {
  gd_tensor *x, *keep = d->x;
  double *r;
  size_t i, count = (size_t)row[ROW_COUNT];
  gd_status st = GD_OK;
  for (i = 0; st == GD_OK && i < count && i < l->cap; i++) {
    r = row + ROW_HEAD + i * l->rec;
    st = gd_tensor_wrap(&x, r + REC_HEAD, s->tmpl->ndim, s->tmpl->shape,
                        NULL, NULL, NULL, err);
    if (st != GD_OK) break;
    d->x = x;                   /* record the row's point under d */
    st = gd_descent_record(d, r[REC_VALUE], (long)r[REC_ITERS],
                           (gd_descent_reason)r[REC_REASON],
                           r[REC_NUMERIC] != 0, err);
    d->x = keep;
    gd_tensor_free(x);
    if (st == GD_OK)
      d->minima[d->nminima - 1].restart = (long)r[REC_RESTART];
  }
  return st;
}


/* A new descent holding the state written at st by pack_state. */
static gd_status unpack_state(const search *s, const double *st,
                              gd_descent **out, gd_error *err) {
  gd_tensor *t[STATE_TENSORS];
  gd_descent *d;
  size_t n = s->n;
  int i;
  gd_status made = gd_descent_new(&d, s->tmpl, GD_DESCENT_COPY, err);
  if (made == GD_OK && st[ST_HAS_ADAM] != 0) {
    made = gd_tensor_new(&d->adam_m, s->tmpl->ndim, s->tmpl->shape, err);
    if (made == GD_OK)
      made = gd_tensor_new(&d->adam_v, s->tmpl->ndim, s->tmpl->shape,
                           err);
  }
  if (made != GD_OK) {
    gd_descent_free(d);
    return made;
  }
  d->steps = (long)st[ST_STEPS];
  d->adam_steps = (long)st[ST_ADAM_STEPS];
  for (i = 0; i < 4; i++)
    d->rng.s[i] = (uint64_t)st[ST_RNG + 2 * i] << 32 |
                  (uint64_t)st[ST_RNG + 2 * i + 1];
  d->rng.spare = st[ST_SPARE];
  d->rng.has_spare = st[ST_HAS_SPARE] != 0;
  state_tensors(d, t);
  for (i = 0; i < STATE_TENSORS; i++)
    if (t[i] != NULL)
      memcpy(gd_tensor_data(t[i]), st + STATE_HEAD + (size_t)i * n,
             n * sizeof *st);
  *out = d;
  return GD_OK;
}


/* Check the gathered rows: shape, then every process's status. local is
** this process's own, whose error is already in err. */
static gd_status check_rows(const search *s, const rowlayout *l,
                            const gd_tensor *all, gd_status local,
                            gd_error *err) {
  char sa[GD_SHAPESTR_SIZE];
  const double *row;
  long r;
  if (local != GD_OK) return local;    /* all may be NULL then */
  if (all->ndim != 2 || all->shape[0] != (size_t)s->p->nprocs ||
      all->shape[1] != l->len || !gd_tensor_is_contiguous(all))
    return fail(err, GD_ERR_SHAPE, 0, RUN, "gather gave rows of shape "
                "%s, expected %ldx%zu", gd_tensor_shape_str(all, sa,
                sizeof sa), s->p->nprocs, l->len);
  row = gd_tensor_data(all);
  for (r = 0; r < s->p->nprocs; r++)
    if (row[(size_t)r * l->len + ROW_STATUS] != GD_OK)
      return fail(err, GD_ERR_ARG, 0, RUN, "the search failed in process "
                  "%ld", r);
  return GD_OK;
}


/*
** Share the results of every process of a search: gather the rows,
** replace s->records by every process's records and s->best by the
** state of the best of them, which process k % nprocs ran. local is
** the status of this process's restarts; it is gathered even when it
** is an error, so that no process waits for one that gave up.
*/
static gd_status merge(search *s, gd_status local, gd_error *err) {
  const gd_descent_problem *p = s->p;
  gd_tensor *mine = NULL, *all = NULL;
  gd_descent *recs = NULL, *best = NULL;
  gd_error spare, *e = local == GD_OK ? err : &spare;
  double *rows;
  rowlayout l;
  long r, owner;
  gd_status st = layout(s, &l, e);

  if (st == GD_OK) st = pack_row(s, &l, local, &mine, e);
  if (st == GD_OK) st = p->gather(p->gather_ud, mine, &all, e);
  gd_tensor_free(mine);
  if (st == GD_OK || local != GD_OK) st = check_rows(s, &l, all, local, e);
  if (st == GD_OK)
    st = gd_descent_new(&recs, s->tmpl, GD_DESCENT_COPY, err);

  rows = st == GD_OK ? gd_tensor_data(all) : NULL;
  for (r = 0; st == GD_OK && r < p->nprocs; r++) {
    s->interrupted |= rows[(size_t)r * l.len + ROW_STOPPED] != 0;
    st = unpack_records(s, &l, rows + (size_t)r * l.len, recs, err);
  }
  if (st == GD_OK && recs->nminima == 0)
    st = fail(err, GD_ERR_ARG, 0, RUN, "no process ran a restart");
  if (st == GD_OK) {
    sort_minima(recs, s->o.maximise);
    owner = recs->minima[0].restart % p->nprocs;
    if (rows[(size_t)owner * l.len + l.state + ST_RESTART] !=
        (double)recs->minima[0].restart)
      st = fail(err, GD_ERR_ARG, 0, RUN, "process %ld does not hold the "
                "best restart", owner);
    else
      st = unpack_state(s, rows + (size_t)owner * l.len + l.state, &best,
                        err);
  }

  gd_tensor_free(all);
  if (st != GD_OK) {
    gd_descent_free(recs);
    return local != GD_OK ? local : st;
  }
  gd_descent_free(s->records);
  gd_descent_free(s->best);
  s->records = recs;
  s->best = best;
  return GD_OK;
}


/*
** The driver: check, run every restart, then hand the sorted records to
** the best descent. On error everything made here is freed and *out is
** untouched.
*/
gd_status gd_descent_from_function(gd_descent **out,
                                   const gd_descent_problem *p,
                                   const gd_descent_opts *o,
                                   gd_error *err) {
  search s;
  gd_descent *best;
  long r;
  gd_status st;

  memset(&s, 0, sizeof s);
  s.p = p;
  if (o == NULL) gd_descent_opts_default(&s.o);
  else s.o = *o;
  s.o.rng = NULL;
  st = check_problem(p, err);
  if (st == GD_OK) st = check_opts(&s.o, RUN, 2, err);
  if (st == GD_OK) st = search_init(&s, err);
  if (st == GD_OK)
    st = gd_descent_new(&s.records, s.tmpl, GD_DESCENT_COPY, err);

  gd_interrupt_enter();
  for (r = p->rank; st == GD_OK && r < p->restarts && !s.interrupted;
       r += p->nprocs)
    st = restart(&s, r, err);
  if (p->nprocs > 1 && s.records != NULL) st = merge(&s, st, err);
  gd_interrupt_leave();

  if (st != GD_OK) {
    search_free(&s);
    return st;
  }
  best = s.best;
  s.best = NULL;
  sort_minima(s.records, s.o.maximise);
  best->minima = s.records->minima;
  best->nminima = s.records->nminima;
  best->capminima = s.records->capminima;
  s.records->minima = NULL;
  s.records->nminima = s.records->capminima = 0;
  search_free(&s);
  *out = best;
  return GD_OK;
}
