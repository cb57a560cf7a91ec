/*
** network.h: a multilayer perceptron whose backpropagation is a chain
** of TensorJacobian compositions.
**
** Layer l (0-based here, 1-based in Lua) maps A_(l-1) (n_(l-1) x m, the
** m samples as columns, A_(-1) = X) to Z_l = W_l A_(l-1) + b_l and
** A_l = f_l(Z_l), with W_l of shape n_l x n_(l-1) and b_l of n_l x 1.
** The loss is the mean squared error of A_(L-1) = Yhat against Y.
**
** Weights start as N(0, s^2) draws from the network's seed, layer by
** layer in row-major order: s^2 = 2 / n_(l-1) for relu (He) and
** s^2 = 2 / (n_(l-1) + n_l) otherwise (Glorot); biases start at zero.
**
** The network keeps work buffers for the last number of samples m it
** saw and structured Jacobians over its live buffers, so a backward
** pass or a training step with the same input allocates nothing after
** the first (activations registered from Lua excepted).
**
** Limits: float64 only.
*/
#ifndef GD_NETWORK_H
#define GD_NETWORK_H

#include <stdint.h>

#include "activation.h"
#include "core.h"
#include "descent.h"
#include "jacobian.h"
#include "tensor.h"

typedef struct gd_network gd_network;

/*
** A new network with depth layers: nodes holds depth + 1 widths (each at
** least 1) and acts one activation per layer, copied. The caller owns
** *out and frees it with gd_network_free.
*/
gd_status gd_network_new(gd_network **out, int depth, const size_t *nodes,
                         const gd_activation *const *acts, uint64_t seed,
                         gd_error *err);
void gd_network_free(gd_network *net);

int gd_network_depth(const gd_network *net);
/* Width of layer l, 0 .. depth (0 is the input). */
size_t gd_network_nodes(const gd_network *net, int l);
/* The live parameters and activation of layer l, 0 .. depth - 1 (the
** network keeps ownership; views of them see every update). */
gd_tensor *gd_network_weight(const gd_network *net, int l);
gd_tensor *gd_network_bias(const gd_network *net, int l);
const gd_activation *gd_network_activation(const gd_network *net, int l);
/* The activation's user data, for activations defined outside C. */
void gd_network_set_activation_ud(gd_network *net, int l, void *ud);

/* Yhat for X (n_0 x m): a view of the network's buffer, valid until the
** next call; the network keeps Z and A of every layer for backward. */
gd_status gd_network_forward(gd_network *net, const gd_tensor *x,
                             const gd_tensor **yhat, gd_error *err);

/*
** Forward, then the gradients of the loss by composition from the loss
** end: g = dE/dYhat; for each layer from the last, g = g * dA_l/dZ_l,
** dE/dW_l = g * dZ_l/dW_l, dE/db_l = g * dZ_l/db_l and then
** g = g * dZ_l/dA_(l-1). The loss goes to *loss (may be NULL); the
** gradients stay in the network (gd_network_dedw, gd_network_dedb).
*/
gd_status gd_network_backward(gd_network *net, const gd_tensor *x,
                              const gd_tensor *y, double *loss,
                              gd_error *err);
/* The gradients of the last backward, shaped as W_l and b_l: the
** network's buffers, which a reduce hook may overwrite. */
gd_tensor *gd_network_dedw(const gd_network *net, int l);
gd_tensor *gd_network_dedb(const gd_network *net, int l);

/*
** d2E/dW_l^2 as a new TensorJacobian (numerator and denominator W_l's
** shape), structured: M = d2E/dZ^2 is carried down from the loss (M =
** D^T M D + dE/dA * d2A/dZ2 at an activation, M = dZ/dA^T M dZ/dA at a
** linear map) as a sum of sandwiches whose Jacobians are multiplied out
** only where per-sample blocks are cheaper, then d2E/dW_l^2 = dZ/dW^T M
** dZ/dW, one planned contraction per sandwich.
*/
gd_status gd_network_hessian(gd_jacobian **out, gd_network *net,
                             const gd_tensor *x, const gd_tensor *y,
                             int l, gd_error *err);
/*
** (d2E/dW_l^2) V for V of W_l's shape, a new tensor of that shape, by
** forward-over-reverse differentiation through the same structured
** Jacobians; no intermediate exceeds a layer's activations (n m values,
** n n m for softmax blocks).
*/
gd_status gd_network_hvp(gd_tensor **out, gd_network *net,
                         const gd_tensor *x, const gd_tensor *y, int l,
                         const gd_tensor *v, gd_error *err);

/* Called after every training iteration (1-based) with the batch loss
** before that iteration's update; a non-OK status stops training. */
typedef gd_status (*gd_network_progress_fn)(void *ud, long iteration,
                                            double loss, gd_error *err);

/* Called in each training iteration after backward and before the
** update, with the batch loss in *loss: it may combine the gradients
** (gd_network_dedw, gd_network_dedb) and the loss across processes in
** place. A non-OK status stops training. */
typedef gd_status (*gd_network_reduce_fn)(void *ud, gd_network *net,
                                          long iteration, double *loss,
                                          gd_error *err);

/* How a training run ended: how many iterations are done (counting
** those of a checkpoint it resumed from) and why it stopped. */
typedef struct gd_network_train_result {
  long iterations;
  gd_descent_reason reason;  /* MAX_ITERATIONS or INTERRUPTED */
} gd_network_train_result;

typedef struct gd_network_train_opts {
  long iterations;           /* 1000, in all (a resumed run included) */
  size_t batch_size;         /* 0: the full batch */
  uint64_t seed;             /* 0: the mini-batch order */
  gd_descent_opts descent;   /* the update of every parameter */
  gd_network_progress_fn progress;   /* NULL: none */
  void *ud;
  gd_network_reduce_fn reduce;       /* NULL: none */
  void *reduce_ud;
  const char *checkpoint;    /* NULL: none; else saved atomically to */
  long checkpoint_every;     /* 0: only at the end or a stop */
  const char *resume;        /* NULL: start afresh from a checkpoint */
  gd_network_train_result *result;   /* NULL: not reported */
} gd_network_train_opts;

/*
** What a training run carries from one iteration to the next besides
** the network's parameters, which are the x of the descents: what a
** checkpoint keeps (see fileio.h).
*/
typedef struct gd_network_train_state {
  long done;                 /* iterations finished */
  double *losses;            /* their losses; room for cap of them */
  long cap;
  gd_descent **d;            /* 2 per layer, W then b, sharing net's */
  int nd;
  size_t batch;              /* the batch size; 0: the full batch */
  size_t *order, m, pos;     /* the shuffled columns (m 0: none) */
  gd_rng rng;                /* the next shuffle */
} gd_network_train_state;

/* The defaults above, with gd_descent_opts_default for the update. */
void gd_network_train_opts_default(gd_network_train_opts *o);

/*
** Train on X (n_0 x m) and Y (n_L x m): each iteration runs backward on
** the full batch, or on batch_size columns drawn in a shuffled order
** that is reshuffled after each pass, and makes one GradientDescent step
** of every weight and bias. losses (1-d, o->iterations long, or NULL)
** gets each iteration's loss. A non-finite loss or gradient stops with
** GD_ERR_NUMERIC naming the iteration (and the layer and parameter).
** A gd_interrupt_request stops it with GD_OK at the end of the current
** iteration; o->result then says so and how many losses were written.
** With o->checkpoint the whole state is saved every checkpoint_every
** iterations and when the run ends or stops; o->resume continues such
** a run, so that it ends as an uninterrupted one would, bit for bit.
*/
gd_status gd_network_train(gd_network *net, const gd_tensor *x,
                           const gd_tensor *y,
                           const gd_network_train_opts *o,
                           gd_tensor *losses, gd_error *err);

#endif
