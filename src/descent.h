/*
** descent.h: the GradientDescent optimiser. A gd_descent is a variable x
** together with its history: the last two gradients seen, the last update
** applied, the momentum velocity, adam's moment estimates, a random
** generator for noise and the list of minima found so far.
**
** gd_descent_step makes one update of x in place; gd_descent_from_function
** drives whole descents (with restarts) of a function given by C
** callbacks. Every tensor a gd_descent holds is contiguous and is owned by
** it; callers may read them (and the fields below) but change them only
** through these functions.
**
** Limits: float64 only; the update rules are plain (momentum, Nesterov)
** gradient descent and adam; central differences use one fixed relative
** step.
*/
#ifndef GD_DESCENT_H
#define GD_DESCENT_H

#include <stdint.h>

#include "core.h"
#include "rng.h"
#include "tensor.h"

/* How a gd_descent relates to the tensor it is made from. */
#define GD_DESCENT_COPY  0  /* x is a new contiguous copy of x0 */
#define GD_DESCENT_SHARE 1  /* x is a view of x0: updates show through x0 */

typedef enum gd_descent_method {
  GD_DESCENT_GD = 0,    /* plain gradient descent, with optional momentum */
  GD_DESCENT_ADAM       /* adam (Kingma and Ba) with bias correction */
} gd_descent_method;

/* Why one descent ended. */
typedef enum gd_descent_reason {
  GD_REASON_CONVERGED = 0,  /* the gradient norm fell below tolerance */
  GD_REASON_MAX_ITERATIONS, /* max_iterations steps were taken */
  GD_REASON_NON_FINITE,     /* a NaN or infinite value or gradient */
  GD_REASON_INTERRUPTED     /* the progress callback asked to stop */
} gd_descent_reason;

/*
** Options of one update. Zero means "off" for momentum, noise and
** clipping. gd_descent_opts_default fills the defaults given here.
*/
typedef struct gd_descent_opts {
  gd_descent_method method;  /* GD_DESCENT_GD */
  double learning_rate;      /* 0.01 */
  double momentum;           /* 0, in [0, 1); plain method only */
  int nesterov;              /* 0: classic momentum */
  int maximise;              /* 0: descent; 1: ascent */
  long noise_interval;       /* 0: every noise_interval-th step adds */
  double noise_scale;        /* 0: N(0, noise_scale^2) to each element */
  double noise_eta;          /* 0: annealed N(0, eta / (1 + t)^gamma) */
  double noise_gamma;        /* 0.55: added to the clipped gradient */
  double clip_norm;          /* 0: gradient scaled to norm <= clip_norm */
  double clip_value;         /* 0: gradient clamped to +-clip_value */
  double beta1;              /* 0.9: adam's first moment decay */
  double beta2;              /* 0.999: adam's second moment decay */
  double epsilon;            /* 1e-8: adam's denominator guard */
  gd_rng *rng;               /* NULL: noise from the gd_descent's own */
} gd_descent_opts;

/* One optimum found: the point (owned by the record), its value, the
** steps spent and why the descent ended. */
typedef struct gd_descent_minimum {
  gd_tensor *x;
  double value;
  long iterations;
  gd_descent_reason reason;
  int numeric_gradient;      /* 1 when found with central differences */
  long restart;              /* the restart that found it, from 0;
                             ** -1 when not known (older files) */
} gd_descent_minimum;

/* A step may swap the gradient_current and gradient_previous pointers
** instead of copying: read them from the struct after each step. */
typedef struct gd_descent {
  gd_tensor *x;                  /* the variable */
  gd_tensor *gradient_current;   /* the last gradient given to a step */
  gd_tensor *gradient_previous;  /* the one before it */
  gd_tensor *gradient_step;      /* the last update added to x */
  gd_tensor *velocity;           /* what momentum builds on */
  gd_tensor *work;               /* scratch: the clipped gradient */
  gd_tensor *adam_m, *adam_v;    /* adam's moments; NULL until used */
  long steps;                    /* updates made so far */
  long adam_steps;               /* adam updates (for bias correction) */
  gd_rng rng;                    /* noise, when opts->rng is NULL */
  gd_descent_minimum *minima;    /* best first after a from_function */
  size_t nminima, capminima;
  int lean;                      /* see below; 0 from gd_descent_new */
} gd_descent;

/*
** A lean gd_descent serves an owner that holds the gradient itself and
** checks it before every step (net:train's optimisers are lean): its
** steps do not check the gradient for NaN and infinity, nor keep
** gradient_current, gradient_previous and (for the plain rule without
** clipping or noise) gradient_step, which stay as they were; the plain
** rule keeps its velocity only while momentum is on. A plain step is
** then one pass over x, the gradient and (with momentum) the velocity.
*/

/* The default options (see gd_descent_opts). */
void gd_descent_opts_default(gd_descent_opts *o);
/* Check o: a bad value is GD_ERR_ARG blaming operand (the caller's
** position of the options), with a message naming the option. */
gd_status gd_descent_opts_check(const gd_descent_opts *o, int operand,
                                gd_error *err);

/* A new gd_descent over x0 (copied or shared, see GD_DESCENT_COPY), with
** zero gradients, step and velocity, no minima and its generator seeded
** with 0. *out is the caller's, freed with gd_descent_free. */
gd_status gd_descent_new(gd_descent **out, const gd_tensor *x0, int mode,
                         gd_error *err);
/* Free d, its tensors and its minima. NULL is fine. */
void gd_descent_free(gd_descent *d);

/*
** One update of d->x with gradient (operand 2, x's shape, any strides)
** under options o (operand 3; NULL for the defaults). On any error d is
** left unchanged. Allocates only on the first adam step; otherwise a
** training loop calling it allocates nothing.
*/
gd_status gd_descent_step(gd_descent *d, const gd_tensor *gradient,
                          const gd_descent_opts *o, gd_error *err);

/* Append a record of the current x with value, iterations and reason. */
gd_status gd_descent_record(gd_descent *d, double value, long iterations,
                            gd_descent_reason reason, int numeric_gradient,
                            gd_error *err);

/* The name of a reason as users see it ("converged", "non_finite"...). */
const char *gd_descent_reason_name(gd_descent_reason r);
/* The name of a method ("gd", "adam"). */
const char *gd_descent_method_name(gd_descent_method m);

/* ---- whole descents of a function ---------------------------------- */

/* f(x) into *value. A non-finite value is not an error: the driver ends
** that descent with GD_REASON_NON_FINITE. x must not be changed. */
typedef gd_status (*gd_descent_value_fn)(void *ud, const gd_tensor *x,
                                         double *value, gd_error *err);
/* The gradient of f at x into gradient (x's shape, contiguous). */
typedef gd_status (*gd_descent_gradient_fn)(void *ud, const gd_tensor *x,
                                            gd_tensor *gradient,
                                            gd_error *err);
/* Progress: set *stop to end this descent (GD_REASON_INTERRUPTED). */
typedef gd_status (*gd_descent_callback_fn)(void *ud, long iteration,
                                            const gd_tensor *x,
                                            double value, int *stop,
                                            gd_error *err);

/* Stack the row (1-d, of the same length in every process) of every
** process sharing a search into *all, a new nprocs x length tensor in
** rank order that the caller then owns. How rows travel between the
** processes (MPI, ...) is the business of whoever gives the function. */
typedef gd_status (*gd_descent_gather_fn)(void *ud, const gd_tensor *row,
                                          gd_tensor **all, gd_error *err);

/*
** A problem for gd_descent_from_function. Starts are x0 for the first
** descent, then uniform draws inside [lower, upper] (both broadcast to
** the shape of x0, or to each other's when x0 is NULL); without bounds
** every descent starts at x0. gradient NULL means central differences.
*/
typedef struct gd_descent_problem {
  gd_descent_value_fn value;
  gd_descent_gradient_fn gradient;   /* NULL: central differences */
  gd_descent_callback_fn callback;   /* NULL: none */
  void *ud;                          /* passed to the three above */
  const gd_tensor *x0;               /* NULL: needs lower and upper */
  const gd_tensor *lower, *upper;    /* NULL: no random starts */
  long restarts;                     /* 1: descents to run */
  long max_iterations;               /* 10000: steps per descent */
  double tolerance;                  /* 1e-8: on the gradient norm */
  long callback_every;               /* 1 */
  uint64_t seed;                     /* starts and noise */
  long rank, nprocs;                 /* 0, 1: this process of nprocs */
  gd_descent_gather_fn gather;       /* needed when nprocs > 1 */
  void *gather_ud;                   /* passed to gather */
} gd_descent_problem;

/* Fill p with the defaults above and NULL callbacks and tensors. */
void gd_descent_problem_default(gd_descent_problem *p);

/*
** Run p->restarts descents, descent r with a generator seeded by p->seed
** and jumped r times. Each descent evaluates f and its gradient, calls
** the callback every callback_every iterations (from 0), stops on
** convergence, max_iterations, a non-finite value or gradient, or the
** callback, and records its result. *out is the best descent (lowest
** value, highest when maximising; non-finite ones last) and its minima
** list every descent's record, best first (equal values in restart
** order). An error of a callback ends the whole search, is returned as
** it is, and nothing leaks.
**
** With nprocs > 1 the restarts are shared: this process runs restarts
** rank, rank + nprocs, ... and then gathers every record and the state
** of the best descent from all processes, so that every process returns
** what one process running every restart would. A failure on one
** process is an error on all of them.
*/
gd_status gd_descent_from_function(gd_descent **out,
                                   const gd_descent_problem *p,
                                   const gd_descent_opts *o,
                                   gd_error *err);

#endif
