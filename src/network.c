/*
** network.c: the multilayer perceptron, its backpropagation as a chain
** of structured TensorJacobian compositions, its Hessians, its
** Hessian-vector products and its training loop.
**
** Per layer the network keeps dZ/dW = delta (x) A_prev, dZ/db = delta
** (x) 1 and dZ/dA_prev = W (x) delta as structured Jacobians whose
** factors are views of the live buffers, dA/dZ as the activation gives
** it (refilled in place when the activation can), and dense buffers for
** dE/dZ, dE/dA_prev and the gradients. A backward pass is then a fixed
** list of compositions into those buffers: after the first one with a
** given input it allocates nothing.
**
** Limits: the work buffers follow the last number of samples; calling
** with alternating sample counts rebuilds them each time.
*/
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "einsum.h"
#include "fileio.h"
#include "interrupt.h"
#include "loss.h"
#include "network.h"
#include "vector.h"

typedef struct layer {
  gd_tensor *w, *b;            /* n x p and n x 1, the parameters */
  gd_activation act;
  gd_tensor *z, *a;            /* n x m, from the last forward */
  gd_jacobian *d;              /* dA/dZ at the last backward */
  gd_jacobian *dzdw, *dzdb;    /* dZ/dW and dZ/db for m samples */
  gd_jacobian *dzda;           /* dZ/dA_prev; NULL for the first layer */
  gd_jacobian *gz;             /* dE/dZ */
  gd_jacobian *ga;             /* dE/dA_prev; NULL for the first layer */
  gd_jacobian *gw, *gb;        /* dE/dW and dE/db */
  gd_einsum_plan *fwd;         /* Z = W A_prev, compiled */
  gd_jacobian_plan *plan[4];   /* the compositions of backward_layer */
  int noplan;                  /* bit k: plan[k] cannot be compiled */
} layer;

struct gd_network {
  int depth;
  size_t *nodes;               /* depth + 1 widths */
  layer *layers;
  size_t m;                    /* samples the buffers hold; 0: none */
  gd_tensor *x;                /* a view of the last input */
  gd_jacobian *dedy;           /* dE/dYhat */
};


static gd_status nomem(gd_error *err) {
  return gd_error_set(err, GD_ERR_NOMEM, 0, "network: out of memory");
}


/* Drop the compiled plans of a layer, which refer to its buffers. */
static void drop_plans(layer *ly) {
  int k;
  for (k = 0; k < 4; k++) {
    gd_jacobian_plan_free(ly->plan[k]);
    ly->plan[k] = NULL;
  }
  gd_einsum_plan_free(ly->fwd);
  ly->fwd = NULL;
  ly->noplan = 0;
}


/* Free what depends on the number of samples. */
static void free_buffers(gd_network *net) {
  int l;
  for (l = 0; l < net->depth; l++) {
    layer *ly = &net->layers[l];
    drop_plans(ly);
    gd_tensor_free(ly->z);
    gd_tensor_free(ly->a);
    gd_jacobian_free(ly->d);
    gd_jacobian_free(ly->dzdw);
    gd_jacobian_free(ly->dzdb);
    gd_jacobian_free(ly->dzda);
    gd_jacobian_free(ly->gz);
    gd_jacobian_free(ly->ga);
    ly->z = ly->a = NULL;
    ly->d = ly->dzdw = ly->dzdb = ly->dzda = ly->gz = ly->ga = NULL;
  }
  gd_tensor_free(net->x);
  gd_jacobian_free(net->dedy);
  net->x = NULL;
  net->dedy = NULL;
  net->m = 0;
}


void gd_network_free(gd_network *net) {
  int l;
  if (net == NULL) return;
  free_buffers(net);
  for (l = 0; l < net->depth; l++) {
    gd_tensor_free(net->layers[l].w);
    gd_tensor_free(net->layers[l].b);
    gd_jacobian_free(net->layers[l].gw);
    gd_jacobian_free(net->layers[l].gb);
  }
  gd_free(net->layers, (size_t)net->depth * sizeof *net->layers);
  gd_free(net->nodes, (size_t)(net->depth + 1) * sizeof *net->nodes);
  gd_free(net, sizeof *net);
}


/* Draw W_l from N(0, s^2) with He's or Glorot's s^2 (see network.h). */
static void init_weights(layer *ly, size_t n, size_t p, gd_rng *rng) {
  double var = ly->act.gain_relu ? 2.0 / (double)p
                                 : 2.0 / (double)(n + p);
  double s = sqrt(var), *w = gd_tensor_data(ly->w);
  size_t i;
  for (i = 0; i < n * p; i++) w[i] = s * gd_rng_normal(rng);
}


/* The parameters and gradient Jacobians of layer l. */
static gd_status make_layer(gd_network *net, int l,
                            const gd_activation *act, gd_rng *rng,
                            gd_error *err) {
  layer *ly = &net->layers[l];
  size_t ws[2], bs[2];
  ws[0] = bs[0] = net->nodes[l + 1];
  ws[1] = net->nodes[l];
  bs[1] = 1;
  ly->act = *act;
  if (gd_tensor_new(&ly->w, 2, ws, err) ||
      gd_tensor_new(&ly->b, 2, bs, err) ||
      gd_jacobian_zeros(&ly->gw, 0, NULL, 2, ws, err) ||
      gd_jacobian_zeros(&ly->gb, 0, NULL, 2, bs, err))
    return err->code;
  init_weights(ly, ws[0], ws[1], rng);
  return GD_OK;
}


/*
** Check the widths and activations, then allocate the layers and draw
** the weights. On error nothing is left allocated.
*/
gd_status gd_network_new(gd_network **out, int depth, const size_t *nodes,
                         const gd_activation *const *acts, uint64_t seed,
                         gd_error *err) {
  gd_error spare;
  gd_network *net;
  gd_rng rng;
  int l;

  if (err == NULL) err = &spare;
  if (depth < 1)
    return gd_error_set(err, GD_ERR_ARG, 1, "network: layer_node_nums "
                        "needs at least 2 entries, got %d", depth + 1);
  for (l = 0; l <= depth; l++)
    if (nodes[l] < 1)
      return gd_error_set(err, GD_ERR_ARG, 1, "network: layer_node_nums"
                          "[%d] is %zu, not a positive width", l + 1,
                          nodes[l]);
  for (l = 0; l < depth; l++)
    if (acts[l] == NULL || acts[l]->f == NULL || acts[l]->df == NULL)
      return gd_error_set(err, GD_ERR_ARG, 1, "network: activation %d "
                          "has no function or no derivative", l + 1);

  if ((net = gd_malloc(sizeof *net)) == NULL) return nomem(err);
  memset(net, 0, sizeof *net);
  net->nodes = gd_malloc((size_t)(depth + 1) * sizeof *net->nodes);
  net->layers = gd_malloc((size_t)depth * sizeof *net->layers);
  net->depth = depth;
  if (net->nodes == NULL || net->layers == NULL) {
    gd_network_free(net);
    return nomem(err);
  }
  memcpy(net->nodes, nodes, (size_t)(depth + 1) * sizeof *nodes);
  memset(net->layers, 0, (size_t)depth * sizeof *net->layers);

  gd_rng_seed(&rng, seed);
  for (l = 0; l < depth; l++)
    if (make_layer(net, l, acts[l], &rng, err)) {
      gd_network_free(net);
      return err->code;
    }
  *out = net;
  return GD_OK;
}


int gd_network_depth(const gd_network *net) {
  return net->depth;
}


size_t gd_network_nodes(const gd_network *net, int l) {
  return net->nodes[l];
}


gd_tensor *gd_network_weight(const gd_network *net, int l) {
  return net->layers[l].w;
}


gd_tensor *gd_network_bias(const gd_network *net, int l) {
  return net->layers[l].b;
}


const gd_activation *gd_network_activation(const gd_network *net, int l) {
  return &net->layers[l].act;
}


void gd_network_set_activation_ud(gd_network *net, int l, void *ud) {
  net->layers[l].act.ud = ud;
}


gd_tensor *gd_network_dedw(const gd_network *net, int l) {
  return net->layers[l].gw->term[0].f;
}


gd_tensor *gd_network_dedb(const gd_network *net, int l) {
  return net->layers[l].gb->term[0].f;
}


/* A structured Jacobian over factor f with spec and shapes n x m over
** r x c. */
static gd_status structural(gd_jacobian **out, const gd_tensor *f,
                            const char *spec, size_t n, size_t m,
                            size_t r, size_t c, gd_error *err) {
  size_t num[2], den[2];
  num[0] = n;
  num[1] = m;
  den[0] = r;
  den[1] = c;
  return gd_jacobian_structured(out, f, spec, 2, num, 2, den, err);
}


static const gd_tensor *input_of(const gd_network *net, int l) {
  return l > 0 ? net->layers[l - 1].a : net->x;
}


/* A dense Jacobian with an empty numerator and an r x c denominator. */
static gd_status gradient(gd_jacobian **out, size_t r, size_t c,
                          gd_error *err) {
  size_t den[2];
  den[0] = r;
  den[1] = c;
  return gd_jacobian_zeros(out, 0, NULL, 2, den, err);
}


/*
** The buffers of one layer for m samples: Z, A, the gradient buffers and
** the structural Jacobians dZ/db[i, s, k, 0] = delta(i, k) and
** dZ/dA_prev[i, s, j, t] = W[i, j] delta(s, t) (over the live W).
*/
static gd_status layer_buffers(gd_network *net, int l, size_t m,
                               gd_error *err) {
  layer *ly = &net->layers[l];
  size_t n = net->nodes[l + 1], p = net->nodes[l], zs[2], one = 1;
  gd_tensor *ones;
  gd_status st;
  zs[0] = n;
  zs[1] = m;
  if (gd_tensor_new(&ly->z, 2, zs, err) ||
      gd_tensor_new(&ly->a, 2, zs, err) ||
      gradient(&ly->gz, n, m, err) ||
      (l > 0 && gradient(&ly->ga, p, m, err)) ||
      (l > 0 && structural(&ly->dzda, ly->w, "ij->isjs", n, m, p, m, err)))
    return err->code;
  if (gd_tensor_full(&ones, 1, &one, 1.0, err)) return err->code;
  st = structural(&ly->dzdb, ones, "o->isio", n, m, n, 1, err);
  gd_tensor_free(ones);
  return st;
}


static gd_status make_buffers(gd_network *net, size_t m, gd_error *err) {
  int l;
  free_buffers(net);
  for (l = 0; l < net->depth; l++)
    if (layer_buffers(net, l, m, err)) break;
  if (l < net->depth ||
      gradient(&net->dedy, net->nodes[net->depth], m, err)) {
    free_buffers(net);
    return err->code;
  }
  net->m = m;
  return GD_OK;
}


/* 1 when view v shows exactly what x shows. */
static int same_view(const gd_tensor *v, const gd_tensor *x) {
  int d;
  if (v == NULL || gd_tensor_data(v) != gd_tensor_data(x) ||
      !gd_tensor_same_shape(v, x))
    return 0;
  for (d = 0; d < x->ndim; d++)
    if (v->strides[d] != x->strides[d]) return 0;
  return 1;
}


/* Keep a view of the input; a new input drops the first layer's dZ/dW,
** whose factor is that view. */
static gd_status keep_input(gd_network *net, const gd_tensor *x,
                            gd_error *err) {
  gd_tensor *v;
  if (same_view(net->x, x)) return GD_OK;
  if (gd_tensor_view(&v, x, err)) return err->code;
  gd_tensor_free(net->x);
  net->x = v;
  gd_jacobian_free(net->layers[0].dzdw);
  net->layers[0].dzdw = NULL;
  gd_jacobian_plan_free(net->layers[0].plan[1]);
  net->layers[0].plan[1] = NULL;
  gd_einsum_plan_free(net->layers[0].fwd);
  net->layers[0].fwd = NULL;
  return GD_OK;
}


/* Below this many multiply-adds the forward product runs by rows. */
#define SMALL_LINEAR 4096


GD_LOOPS_BEGIN


/* Every row i of the n x m row-major z set to b[i * bs]. */
GD_CLONES
static void bias_rows(double *restrict z, const double *restrict b,
                      ptrdiff_t bs, size_t n, size_t m) {
  size_t i, s;
  for (i = 0; i < n; i++) {
    double bi = b[(ptrdiff_t)i * bs], *zr = z + i * m;
    for (s = 0; s < m; s++) zr[s] = bi;
  }
}


GD_LOOPS_END


/*
** Z = W A_prev + b straight into Z when W, A_prev and Z are row-major:
** every row of Z starts as its bias, then W A_prev is added by one
** cblas_dgemm with beta = 1 (or, for a small product, by one
** cblas_daxpy per row of Z and of A_prev). 0 when the layouts or sizes
** do not allow it.
*/
static int linear_direct(layer *ly, const gd_tensor *prev) {
  size_t i, j, n = ly->z->shape[0], m = ly->z->shape[1];
  size_t p = prev->shape[0];
  double *z = gd_tensor_data(ly->z);
  const double *w = gd_tensor_data(ly->w), *a = gd_tensor_data(prev);
  const double *b = gd_tensor_data(ly->b);
  ptrdiff_t bs = ly->b->strides[0];

  if (!gd_tensor_is_contiguous(ly->w) || !gd_tensor_is_contiguous(prev) ||
      !gd_tensor_is_contiguous(ly->z) || n > INT_MAX || m > INT_MAX ||
      p > INT_MAX || z == NULL || w == NULL || a == NULL)
    return 0;
  bias_rows(z, b, bs, n, m);
  if ((double)n * (double)m * (double)p >= SMALL_LINEAR) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m,
                (int)p, 1.0, w, (int)p, a, (int)m, 1.0, z, (int)m);
    return 1;
  }
  for (i = 0; i < n; i++)
    for (j = 0; j < p; j++)
      cblas_daxpy((int)m, w[i * p + j], a + j * m, 1, z + i * m, 1);
  return 1;
}


/*
** Z = W A_prev + b into the layer's buffer: directly for row-major
** operands, otherwise the product by its compiled einsum (made on first
** use) and the bias by one pass over rows. Z is contiguous; a bias that
** is not goes through the broadcasting add.
*/
static gd_status linear(layer *ly, const gd_tensor *prev, gd_error *err) {
  const gd_tensor *ops[2];
  size_t i, s, n = ly->z->shape[0], m = ly->z->shape[1];
  double *z = gd_tensor_data(ly->z);
  const double *b = gd_tensor_data(ly->b);
  ptrdiff_t bs = ly->b->strides[0];

  if (linear_direct(ly, prev)) return GD_OK;
  ops[0] = ly->w;
  ops[1] = prev;
  if (ly->fwd == NULL &&
      gd_einsum_plan_new(&ly->fwd, "ij,js->is", 2, ops, ly->z, err))
    return err->code;
  if (gd_einsum_plan_run(ly->fwd, ly->z, ops, err)) {
    gd_einsum_plan_free(ly->fwd);
    ly->fwd = NULL;
    if (err->code != GD_ERR_LAYOUT) return err->code;
    return gd_tensor_matmul_into(ly->z, ly->w, prev, err) ||
           gd_tensor_binary_into(ly->z, GD_ADD, ly->z, ly->b, err)
           ? err->code : GD_OK;
  }
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++) z[i * m + s] += b[(ptrdiff_t)i * bs];
  return GD_OK;
}


/*
** Z_l = W_l A_(l-1) + b_l and A_l = f_l(Z_l) for every layer, into the
** buffers (rebuilt when m changes). X must be n_0 x m with m >= 1.
*/
gd_status gd_network_forward(gd_network *net, const gd_tensor *x,
                             const gd_tensor **yhat, gd_error *err) {
  gd_error spare;
  char sx[GD_SHAPESTR_SIZE];
  const gd_tensor *prev = x;
  int l;

  if (err == NULL) err = &spare;
  if (x->ndim != 2 || x->shape[0] != net->nodes[0] || x->shape[1] < 1)
    return gd_error_set(err, GD_ERR_SHAPE, 1, "forward: X %s is not "
                        "%zu x m (inputs x samples)",
                        gd_tensor_shape_str(x, sx, sizeof sx),
                        net->nodes[0]);
  if (x->shape[1] != net->m && make_buffers(net, x->shape[1], err))
    return err->code;
  if (keep_input(net, x, err)) return err->code;

  for (l = 0; l < net->depth; l++) {
    layer *ly = &net->layers[l];
    if (linear(ly, prev, err) || ly->act.f(&ly->act, ly->a, ly->z, err))
      return err->code;
    prev = ly->a;
  }
  if (yhat) *yhat = prev;
  return GD_OK;
}


/* dA/dZ of layer l at the last forward: refilled in place when the
** activation can, made anew otherwise. */
static gd_status activation_jacobian(layer *ly, gd_error *err) {
  if (ly->d && ly->act.df_into)
    return ly->act.df_into(&ly->act, ly->d, ly->z, ly->a, err);
  gd_jacobian_plan_free(ly->plan[0]);
  ly->plan[0] = NULL;
  gd_jacobian_free(ly->d);
  ly->d = NULL;
  return ly->act.df(&ly->act, &ly->d, ly->z, ly->a, err);
}


/* dZ/dW[i, s, k, j] = delta(i, k) A_prev[j, s] over the view of A_prev,
** made when missing. */
static gd_status weight_jacobian(gd_network *net, int l, gd_error *err) {
  layer *ly = &net->layers[l];
  if (ly->dzdw) return GD_OK;
  return structural(&ly->dzdw, input_of(net, l), "js->isij",
                    net->nodes[l + 1], net->m, net->nodes[l + 1],
                    net->nodes[l], err);
}


/*
** out = a * b through the layer's compiled plan k, made on first use;
** a product whose structure a plan cannot hold (a sum of terms, a
** result that is not out's structure) runs by gd_jacobian_compose_into.
*/
static gd_status compose(layer *ly, int k, gd_jacobian *out,
                         const gd_jacobian *a, const gd_jacobian *b,
                         gd_error *err) {
  if (ly->plan[k] == NULL && !(ly->noplan >> k & 1) &&
      gd_jacobian_compose_plan(&ly->plan[k], out, a, b, err)) {
    if (err->code == GD_ERR_NOMEM) return err->code;
    ly->noplan |= 1 << k;
  }
  if (ly->plan[k] == NULL) return gd_jacobian_compose_into(out, a, b, err);
  return gd_jacobian_plan_run(ly->plan[k], err);
}


/*
** One step of the backward chain at layer l, from g = dE/dA_l:
** dE/dZ = g * dA/dZ (a diagonal scales, blocks contract per sample),
** dE/dW = dE/dZ * dZ/dW (one GEMM), dE/db = dE/dZ * dZ/db (a row sum)
** and, past the first layer, dE/dA_prev = dE/dZ * dZ/dA_prev (a GEMM).
*/
static gd_status backward_layer(gd_network *net, int l,
                                const gd_jacobian *g, gd_error *err) {
  layer *ly = &net->layers[l];
  if (activation_jacobian(ly, err) || weight_jacobian(net, l, err) ||
      compose(ly, 0, ly->gz, g, ly->d, err) ||
      compose(ly, 1, ly->gw, ly->gz, ly->dzdw, err) ||
      compose(ly, 2, ly->gb, ly->gz, ly->dzdb, err) ||
      (l > 0 && compose(ly, 3, ly->ga, ly->gz, ly->dzda, err)))
    return err->code;
  return GD_OK;
}


gd_status gd_network_backward(gd_network *net, const gd_tensor *x,
                              const gd_tensor *y, double *loss,
                              gd_error *err) {
  gd_error spare;
  const gd_tensor *yhat;
  double e;
  int l;

  if (err == NULL) err = &spare;
  if (gd_network_forward(net, x, &yhat, err)) return err->code;
  if (gd_loss_mse_with_jacobian_into(&e, net->dedy, y, yhat, err)) {
    err->operand = 2;
    return err->code;
  }
  for (l = net->depth - 1; l >= 0; l--)
    if (backward_layer(net, l, l + 1 < net->depth ? net->layers[l + 1].ga
                                                  : net->dedy, err))
      return err->code;
  if (loss) *loss = e;
  return GD_OK;
}


/* dE/dA_k, the gradient that reaches the output of layer k. */
static const gd_jacobian *grad_out(const gd_network *net, int k) {
  return k + 1 < net->depth ? net->layers[k + 1].ga : net->dedy;
}


/* r = J1 * J2 * J3 as one contraction, the first transposed. */
static gd_status sandwich(gd_jacobian **r, const gd_jacobian *a,
                          const gd_jacobian *m, const gd_jacobian *b,
                          gd_error *err) {
  const gd_jacobian *js[3];
  gd_jacobian *at;
  gd_status st;
  if (gd_jacobian_transpose(&at, a, err)) return err->code;
  js[0] = at;
  js[1] = m;
  js[2] = b;
  st = gd_jacobian_chain(r, 3, js, err);
  gd_jacobian_free(at);
  return st;
}


/*
** The second-order term of an activation: S = g * d2A/dZ2 with g =
** dE/dA, regrouped so that S is a Jacobian from Z to Z; diagonal or
** per-sample blocks as d2A/dZ2 is.
*/
static gd_status curvature(gd_jacobian **s, const layer *ly,
                           const gd_jacobian *g, gd_error *err) {
  gd_jacobian *d2 = NULL, *d2r = NULL, *t = NULL;
  gd_status st;
  if (ly->act.d2f == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "hessian: activation '%s' "
                        "has no second derivative", ly->act.name);
  if (!(st = ly->act.d2f(&ly->act, &d2, ly->z, ly->a, err)) &&
      !(st = gd_jacobian_regroup(&d2r, d2, 2, err)) &&
      !(st = gd_jacobian_compose(&t, g, d2r, err)))
    st = gd_jacobian_regroup(s, t, 2, err);
  gd_jacobian_free(d2);
  gd_jacobian_free(d2r);
  gd_jacobian_free(t);
  return st;
}


/* 1 when the activation is the built-in identity (dA/dZ = I). */
static int is_identity(const gd_activation *act) {
  const gd_activation *id = gd_activation_builtin("identity");
  return id != NULL && act->df == id->df;
}


/* 1 when its second derivative is the built-in zero one (identity,
** relu), so that its curvature term vanishes. */
static int no_curvature(const gd_activation *act) {
  const gd_activation *id = gd_activation_builtin("identity");
  return id != NULL && act->d2f == id->d2f;
}


/*
** The Hessian carries M = d2E/dZ_k^2 as a sum of sandwiches B^T C B,
** one per core C: d2E/dYhat2 = I / m, a layer's curvature S, or a
** sandwich multiplied out. B = P_1 * ... * P_nb lists the Jacobians
** between the core and Z_k from the core's side down (dZ/dA_prev and
** dA/dZ of the layers crossed): the network's own, never multiplied
** out. A term with nb = 0 is its core alone. A flat term holds no
** per-sample value between the dA/dZ of layer l on its two sides (C is
** I / m, or I / m multiplied out through linear maps, and the rest of
** B linear maps), so that its chain L^T B^T C B L, L = dZ_l/dW_l,
** multiplies the weights apart and meets the samples in one GEMM.
** HESS_MAX_B keeps that chain within GD_JAC_MAX_CHAIN factors.
*/
#define HESS_MAX_B ((GD_JAC_MAX_CHAIN - 3) / 2)

typedef struct hterm {
  gd_jacobian *core;                  /* owned */
  int nb, flat;
  const gd_jacobian *b[HESS_MAX_B];   /* the network's */
} hterm;

/* The Hessian of layer l on its way down: nt terms, room for one more
** per layer crossed, and L. */
typedef struct hstate {
  const gd_network *net;
  int l, nt;
  const gd_jacobian *lw;
  hterm *ts;
} hstate;


/* The most dimensions a factor of j has. */
static int fdims(const gd_jacobian *j) {
  int k, n = 0;
  for (k = 0; k < j->nterms; k++)
    if (j->term[k].f->ndim > n) n = j->term[k].f->ndim;
  return n;
}


/*
** 1 when L^T B^T C B L of term t, with p appended to B, surely fits one
** chain: at most HESS_MAX_B Jacobians in B, and no more factor
** dimensions (which bound the distinct labels) than einsum has letters.
*/
static int fits(const hterm *t, const gd_jacobian *p,
                const gd_jacobian *lw) {
  int k, dims = fdims(t->core) + 2 * fdims(lw) + 2 * fdims(p);
  if (t->nb + 1 > HESS_MAX_B) return 0;
  for (k = 0; k < t->nb; k++) dims += 2 * fdims(t->b[k]);
  return dims <= GD_JAC_MAX_LABELS;
}


/*
** r = L^T P_nb^T ... P_1^T C P_1 ... P_nb L for term t as one chain,
** whose einsum the planner orders by cost. The transposes share the
** factors.
*/
static gd_status term_chain(gd_jacobian **r, const hterm *t,
                            const gd_jacobian *lw, gd_error *err) {
  const gd_jacobian *js[GD_JAC_MAX_CHAIN], *right[HESS_MAX_B + 1];
  gd_jacobian *tr[HESS_MAX_B + 1];
  int n = 0, e = 0, made = 0, k;
  gd_status st = GD_OK;

  for (k = 0; k < t->nb; k++) right[e++] = t->b[k];
  right[e++] = lw;
  for (k = e - 1; k >= 0 && !st; k--)
    if (!(st = gd_jacobian_transpose(&tr[made], right[k], err)))
      js[n++] = tr[made++];
  if (!st) {
    js[n++] = t->core;
    for (k = 0; k < e; k++) js[n++] = right[k];
    st = gd_jacobian_chain(r, n, js, err);
  }
  for (k = 0; k < made; k++) gd_jacobian_free(tr[k]);
  return st;
}


/*
** Multiply term t out into its core, C = P^T C P for P = P_1, ...,
** P_nb in turn: the materialising recursion, whose cores stay
** per-sample blocks (a Kronecker product for a flat term). On error
** the term is left part-way, to be freed.
*/
static gd_status settle(hterm *t, gd_error *err) {
  gd_jacobian *c;
  int k;
  for (k = 0; k < t->nb; k++) {
    if (sandwich(&c, t->b[k], t->core, t->b[k], err)) return err->code;
    gd_jacobian_free(t->core);
    t->core = c;
  }
  t->nb = 0;
  return GD_OK;
}


/* Append p to B of term t; a term whose chain would then not fit is
** multiplied out first, as a deep network needs. */
static gd_status extend(const hstate *hs, hterm *t, const gd_jacobian *p,
                        gd_error *err) {
  if (!fits(t, p, hs->lw) && settle(t, err)) return err->code;
  t->b[t->nb++] = p;
  return GD_OK;
}


/* Add every term with nothing deferred into the first such one, so
** that those terms cost one chain; the others keep their order. */
static gd_status merge_bare(hstate *hs, gd_error *err) {
  gd_jacobian *c;
  int i, w = 0, bare = -1;
  for (i = 0; i < hs->nt; i++) {
    hterm *t = &hs->ts[i];
    if (t->nb == 0 && bare >= 0) {
      hterm *b = &hs->ts[bare];
      if (gd_jacobian_add(&c, b->core, t->core, err)) return err->code;
      gd_jacobian_free(b->core);
      gd_jacobian_free(t->core);
      b->core = c;
      b->flat &= t->flat;
      t->core = NULL;
      continue;
    }
    if (t->nb == 0) bare = w;
    if (w != i) {
      hs->ts[w] = *t;
      t->core = NULL;
    }
    w++;
  }
  hs->nt = w;
  return GD_OK;
}


/*
** d2E/dZ_k^2 = D^T M D + S from the terms of M = d2E/dA_k^2, D = dA/dZ
** and S = g * d2A/dZ2: a term with nothing deferred becomes D^T C D at
** once (C's structure, diagonal or per-sample blocks), the others get D
** appended. S is a new term, added into one with nothing deferred. A
** vanishing S (identity, relu) is left out, and so is an identity D,
** except in D^T C D at layer l itself, whose result then keeps the
** structure of C's factor (per-sample blocks, not a Kronecker product).
*/
static gd_status through_activation(hstate *hs, int k, gd_error *err) {
  const layer *ly = &hs->net->layers[k];
  int i, skip = is_identity(&ly->act);
  gd_jacobian *c;
  hterm *t;

  for (i = 0; i < hs->nt; i++) {
    t = &hs->ts[i];
    if (t->nb > 0 && !skip) {
      if (extend(hs, t, ly->d, err)) return err->code;
      if (k > hs->l) t->flat = 0;
    } else if (t->nb == 0 && (!skip || k == hs->l)) {
      if (sandwich(&c, ly->d, t->core, ly->d, err)) return err->code;
      gd_jacobian_free(t->core);
      t->core = c;
      if (!skip) t->flat = 0;
    }
  }
  if (no_curvature(&ly->act)) return GD_OK;
  t = &hs->ts[hs->nt];
  if (curvature(&t->core, ly, grad_out(hs->net, k), err)) return err->code;
  t->nb = 0;
  t->flat = 0;
  hs->nt++;
  return merge_bare(hs, err);
}


/*
** d2E/dA_(k-1)^2 from d2E/dZ_k^2: dZ/dA_prev appended to every term.
** A term that holds per-sample values is multiplied out first: deferred
** further, it would meet L in a GEMM over the samples and the units of
** a layer together, where per-sample blocks meet it over the samples.
*/
static gd_status through_linear(hstate *hs, int k, gd_error *err) {
  int i;
  for (i = 0; i < hs->nt; i++) {
    hterm *t = &hs->ts[i];
    if (t->nb > 0 && !t->flat && settle(t, err)) return err->code;
  }
  if (merge_bare(hs, err)) return err->code;
  for (i = 0; i < hs->nt; i++)
    if (extend(hs, &hs->ts[i], hs->net->layers[k].dzda, err))
      return err->code;
  return GD_OK;
}


/*
** Whether term t is best left deferred into its final chain. One that
** is neither bare nor flat has B = dZ_(l+1)/dA_l (times dA_l/dZ_l): its
** GEMM over samples and the n_(l+1) units costs n_(l+1) (n_l p)^2 m
** multiply-adds for W_l of n_l x p, against n_(l+1) n_l^2 m + (n_l
** p)^2 m multiplied out; deferred wins only for p = 1 or n_(l+1) = 1.
*/
static int defer_final(const hstate *hs, const hterm *t) {
  const size_t *nodes = hs->net->nodes;
  return t->nb == 0 || t->flat || nodes[hs->l] == 1 ||
         (hs->l + 1 < hs->net->depth && nodes[hs->l + 2] == 1);
}


/* H = the sum over the terms of L^T B^T C B L, one chain each. */
static gd_status finish(gd_jacobian **out, hstate *hs, gd_error *err) {
  gd_jacobian *h = NULL, *r, *s;
  gd_status st = GD_OK;
  int i;

  for (i = 0; i < hs->nt; i++)
    if (!defer_final(hs, &hs->ts[i]) && settle(&hs->ts[i], err))
      return err->code;
  if (merge_bare(hs, err)) return err->code;
  for (i = 0; i < hs->nt && !st; i++) {
    if ((st = term_chain(&r, &hs->ts[i], hs->lw, err))) break;
    if (h == NULL) {
      h = r;
      continue;
    }
    st = gd_jacobian_add(&s, h, r, err);
    gd_jacobian_free(r);
    gd_jacobian_free(h);
    h = st ? NULL : s;
  }
  if (st) {
    gd_jacobian_free(h);
    return st;
  }
  *out = h;
  return GD_OK;
}


/*
** d2E/dW_l^2 = L^T M L with L = dZ_l/dW_l and M = d2E/dZ_l^2, brought
** down from d2E/dYhat2 = I / m by the second-order chain rule: M = D^T
** M D + g * d2A/dZ2 at each activation, M = dZ/dA^T M dZ/dA at each
** linear map. M is kept as a sum of sandwiches whose Jacobians are
** deferred while that is cheaper than per-sample blocks, so that the
** weights of the layers above a hidden layer meet the samples in one
** GEMM; what is multiplied out follows the recursion above.
*/
gd_status gd_network_hessian(gd_jacobian **out, gd_network *net,
                             const gd_tensor *x, const gd_tensor *y,
                             int l, gd_error *err) {
  gd_error spare;
  hstate hs;
  gd_status st;
  int k, cap;

  if (err == NULL) err = &spare;
  if (l < 0 || l >= net->depth)
    return gd_error_set(err, GD_ERR_RANGE, 3, "hessian: layer %d out of "
                        "1..%d", l + 1, net->depth);
  if (gd_network_backward(net, x, y, NULL, err)) return err->code;
  cap = net->depth - l + 1;
  if ((hs.ts = gd_malloc((size_t)cap * sizeof *hs.ts)) == NULL)
    return nomem(err);
  memset(hs.ts, 0, (size_t)cap * sizeof *hs.ts);
  hs.net = net;
  hs.l = l;
  hs.lw = net->layers[l].dzdw;
  hs.nt = 1;
  hs.ts[0].flat = 1;

  st = gd_loss_mse_hessian(&hs.ts[0].core, y,
                           net->layers[net->depth - 1].a, err);
  for (k = net->depth - 1; k >= l && !st; k--) {
    st = through_activation(&hs, k, err);
    if (!st && k > l) st = through_linear(&hs, k, err);
  }
  if (!st) st = finish(out, &hs, err);
  for (k = 0; k < cap; k++) gd_jacobian_free(hs.ts[k].core);
  gd_free(hs.ts, (size_t)cap * sizeof *hs.ts);
  return st;
}


/* r = J v as a new dense Jacobian with an empty denominator. */
static gd_status push_forward(gd_jacobian **r, const gd_jacobian *j,
                              const gd_tensor *v, gd_error *err) {
  gd_tensor *t;
  gd_status st;
  if (gd_jacobian_apply(&t, j, v, err)) return err->code;
  st = gd_jacobian_new(r, t, t->ndim, t->shape, 0, NULL, err);
  gd_tensor_free(t);
  return st;
}


/* A row vector g (empty numerator) times J, then regrouped to a row. */
static gd_status pull_back(gd_jacobian **r, const gd_jacobian *g,
                           const gd_jacobian *j, gd_error *err) {
  return gd_jacobian_compose(r, g, j, err);
}


/* What the Hessian-vector product carries per layer: dA/dZ and its
** derivative along the direction, R(dA/dZ) = d2A/dZ2 R(Z). */
typedef struct rpair {
  gd_jacobian *d, *rd;
} rpair;


/* Forward along the direction from layer l: R(Z_l) = dZ/dW V, then
** R(A_k) = dA/dZ R(Z_k) and R(Z_(k+1)) = dZ/dA R(A_k). *ra gets R(Yhat). */
static gd_status r_forward(rpair *rp, gd_jacobian **ra, gd_network *net,
                           int l, const gd_tensor *v, gd_error *err) {
  gd_jacobian *r = NULL, *t = NULL, *d2 = NULL;
  gd_status st;
  int k;
  if ((st = push_forward(&r, net->layers[l].dzdw, v, err))) return st;
  for (k = l; k < net->depth; k++) {
    layer *ly = &net->layers[k];
    if (ly->act.d2f == NULL) {
      st = gd_error_set(err, GD_ERR_ARG, 0, "hvp: activation '%s' has no "
                        "second derivative", ly->act.name);
      break;
    }
    if ((st = ly->act.df(&ly->act, &rp[k].d, ly->z, ly->a, err)) ||
        (st = ly->act.d2f(&ly->act, &d2, ly->z, ly->a, err)) ||
        (st = gd_jacobian_compose(&t, d2, r, err)) ||
        (st = gd_jacobian_regroup(&rp[k].rd, t, 2, err)))
      break;
    gd_jacobian_free(d2);
    gd_jacobian_free(t);
    d2 = t = NULL;
    if ((st = gd_jacobian_compose(&t, rp[k].d, r, err))) break;
    gd_jacobian_free(r);
    r = t;
    t = NULL;
    if (k + 1 < net->depth) {
      if ((st = gd_jacobian_compose(&t, net->layers[k + 1].dzda, r, err)))
        break;
      gd_jacobian_free(r);
      r = t;
      t = NULL;
    }
  }
  gd_jacobian_free(d2);
  gd_jacobian_free(t);
  if (st) {
    gd_jacobian_free(r);
    return st;
  }
  *ra = r;
  return GD_OK;
}


/* R(dE/dZ_k) = R(g) * D + g * R(D), g = dE/dA_k. */
static gd_status r_delta(gd_jacobian **out, const gd_jacobian *rg,
                         const gd_jacobian *g, const rpair *rp,
                         gd_error *err) {
  gd_jacobian *a = NULL, *b = NULL;
  gd_status st;
  if (!(st = pull_back(&a, rg, rp->d, err)) &&
      !(st = pull_back(&b, g, rp->rd, err)))
    st = gd_jacobian_add(out, a, b, err);
  gd_jacobian_free(a);
  gd_jacobian_free(b);
  return st;
}


/* Backward along the direction from R(dE/dYhat) down to layer l; the
** product (d2E/dW_l^2) V = R(dE/dZ_l) * dZ/dW into *hv. */
static gd_status r_backward(gd_jacobian **hv, gd_network *net,
                            const rpair *rp, gd_jacobian *rg, int l,
                            gd_error *err) {
  gd_jacobian *rz = NULL;
  gd_status st = GD_OK;
  int k;
  for (k = net->depth - 1; k >= l && !st; k--) {
    st = r_delta(&rz, rg, grad_out(net, k), &rp[k], err);
    gd_jacobian_free(rg);
    rg = NULL;
    if (!st && k > l) st = pull_back(&rg, rz, net->layers[k].dzda, err);
    if (!st && k == l) st = pull_back(hv, rz, net->layers[l].dzdw, err);
    gd_jacobian_free(rz);
    rz = NULL;
  }
  gd_jacobian_free(rg);
  return st;
}


/*
** (d2E/dW_l^2) V by forward-over-reverse differentiation: the direction
** V is pushed forward through the layers above l (R(Z), R(A) and the
** derivative of each dA/dZ along it), then the backward chain is
** differentiated along it. Every intermediate is the size of a layer's
** activations (or its per-sample softmax blocks).
*/
gd_status gd_network_hvp(gd_tensor **out, gd_network *net,
                         const gd_tensor *x, const gd_tensor *y, int l,
                         const gd_tensor *v, gd_error *err) {
  gd_error spare;
  char sv[GD_SHAPESTR_SIZE], sw[GD_SHAPESTR_SIZE];
  gd_jacobian *ra = NULL, *rg = NULL, *hv = NULL, *hy = NULL;
  rpair *rp;
  gd_status st;
  int k;

  if (err == NULL) err = &spare;
  if (l < 0 || l >= net->depth)
    return gd_error_set(err, GD_ERR_RANGE, 3, "hvp: layer %d out of "
                        "1..%d", l + 1, net->depth);
  if (!gd_tensor_same_shape(v, net->layers[l].w))
    return gd_error_set(err, GD_ERR_SHAPE, 4, "hvp: direction %s does "
                        "not match W %s",
                        gd_tensor_shape_str(v, sv, sizeof sv),
                        gd_tensor_shape_str(net->layers[l].w, sw,
                                            sizeof sw));
  if (gd_network_backward(net, x, y, NULL, err)) return err->code;
  if ((rp = gd_malloc((size_t)net->depth * sizeof *rp)) == NULL)
    return nomem(err);
  memset(rp, 0, (size_t)net->depth * sizeof *rp);

  if (!(st = r_forward(rp, &ra, net, l, v, err)) &&
      !(st = gd_loss_mse_hessian(&hy, y, net->layers[net->depth - 1].a,
                                 err)) &&
      !(st = gd_jacobian_transpose(&rg, ra, err))) {
    gd_jacobian *t = rg;
    st = gd_jacobian_compose(&rg, t, hy, err);
    gd_jacobian_free(t);
    if (!st) st = r_backward(&hv, net, rp, rg, l, err);
  }
  if (!st) st = gd_jacobian_dense(out, hv, err);
  if (!st) {
    gd_tensor *t = *out;
    st = gd_tensor_reshape(out, t, 2, net->layers[l].w->shape, 1, err);
    gd_tensor_free(t);
  }
  for (k = 0; k < net->depth; k++) {
    gd_jacobian_free(rp[k].d);
    gd_jacobian_free(rp[k].rd);
  }
  gd_free(rp, (size_t)net->depth * sizeof *rp);
  gd_jacobian_free(ra);
  gd_jacobian_free(hy);
  gd_jacobian_free(hv);
  return st;
}


void gd_network_train_opts_default(gd_network_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->iterations = 1000;
  gd_descent_opts_default(&o->descent);
}


/* What one training run holds: its state (a GradientDescent per
** parameter, the losses so far and, for mini-batches, the shuffled
** column order) and the batch tensors. */
typedef struct trainer {
  gd_network_train_state s;
  gd_tensor *xb, *yb;
} trainer;


static void trainer_free(trainer *tr) {
  gd_network_train_state *s = &tr->s;
  int i;
  for (i = 0; i < s->nd; i++) gd_descent_free(s->d[i]);
  gd_free(s->d, (size_t)s->nd * sizeof *s->d);
  gd_free(s->losses, (size_t)s->cap * sizeof *s->losses);
  gd_free(s->order, s->m * sizeof *s->order);
  gd_tensor_free(tr->xb);
  gd_tensor_free(tr->yb);
}


/* Fisher-Yates shuffle of the column order. */
static void shuffle(gd_network_train_state *s) {
  size_t i, k, t;
  for (i = s->m; i > 1; i--) {
    k = (size_t)(gd_rng_uniform(&s->rng) * (double)i);
    t = s->order[i - 1];
    s->order[i - 1] = s->order[k];
    s->order[k] = t;
  }
}


/* A lean GradientDescent sharing each parameter, W then b per layer:
** train_step checks every gradient before the first step. */
static gd_status make_descents(gd_network_train_state *s,
                               gd_network *net, gd_error *err) {
  int l;
  s->d = gd_malloc((size_t)(2 * net->depth) * sizeof *s->d);
  if (s->d == NULL) return nomem(err);
  for (l = 0; l < 2 * net->depth; l++) {
    layer *ly = &net->layers[l / 2];
    if (gd_descent_new(&s->d[l], l % 2 ? ly->b : ly->w,
                       GD_DESCENT_SHARE, err))
      return err->code;
    s->d[l]->lean = 1;
    s->nd++;
  }
  return GD_OK;
}


/* A fresh run's state, then the checkpoint o->resume over it. */
static gd_status trainer_init(trainer *tr, gd_network *net,
                              const gd_tensor *x, const gd_tensor *y,
                              const gd_network_train_opts *o,
                              gd_error *err) {
  gd_network_train_state *s = &tr->s;
  size_t sh[2], i;
  memset(tr, 0, sizeof *tr);
  if (make_descents(s, net, err)) return err->code;
  if (o->iterations > 0 && (s->losses = gd_malloc((size_t)o->iterations
                                                  * sizeof *s->losses))
      == NULL)
    return nomem(err);
  s->cap = o->iterations;
  if (o->batch_size > 0 && o->batch_size < x->shape[1]) {
    sh[1] = s->batch = o->batch_size;
    sh[0] = x->shape[0];
    if (gd_tensor_new(&tr->xb, 2, sh, err)) return err->code;
    sh[0] = y->shape[0];
    if (gd_tensor_new(&tr->yb, 2, sh, err)) return err->code;
    if ((s->order = gd_malloc(x->shape[1] * sizeof *s->order)) == NULL)
      return nomem(err);
    s->m = x->shape[1];
    for (i = 0; i < s->m; i++) s->order[i] = i;
    gd_rng_seed(&s->rng, o->seed);
    shuffle(s);
  }
  if (o->resume) return gd_checkpoint_load(s, net, o->resume, err);
  return GD_OK;
}


/* Copy column src of t into column dst of b. */
static void copy_column(gd_tensor *b, size_t dst, const gd_tensor *t,
                        size_t src) {
  const double *pt = gd_tensor_data(t);
  double *pb = gd_tensor_data(b);
  size_t r, cols = b->shape[1];
  for (r = 0; r < t->shape[0]; r++)
    pb[r * cols + dst] = pt[(ptrdiff_t)r * t->strides[0] +
                            (ptrdiff_t)src * t->strides[1]];
}


/* The next batch_size columns of the shuffled order; a pass that would
** run short is reshuffled and started again. */
static void next_batch(trainer *tr, const gd_tensor *x,
                       const gd_tensor *y) {
  gd_network_train_state *s = &tr->s;
  size_t k, bs = s->batch;
  if (s->pos + bs > s->m) {
    shuffle(s);
    s->pos = 0;
  }
  for (k = 0; k < bs; k++) {
    copy_column(tr->xb, k, x, s->order[s->pos + k]);
    copy_column(tr->yb, k, y, s->order[s->pos + k]);
  }
  s->pos += bs;
}


static gd_status check_train(const gd_network *net, const gd_tensor *x,
                             const gd_tensor *y,
                             const gd_network_train_opts *o,
                             const gd_tensor *losses, gd_error *err) {
  char sx[GD_SHAPESTR_SIZE], sy[GD_SHAPESTR_SIZE];
  if (x->ndim != 2 || y->ndim != 2 || x->shape[0] != net->nodes[0] ||
      y->shape[0] != net->nodes[net->depth] || x->shape[1] != y->shape[1]
      || x->shape[1] < 1)
    return gd_error_set(err, GD_ERR_SHAPE, 1, "train: X %s and Y %s are "
                        "not %zu x m and %zu x m",
                        gd_tensor_shape_str(x, sx, sizeof sx),
                        gd_tensor_shape_str(y, sy, sizeof sy),
                        net->nodes[0], net->nodes[net->depth]);
  if (o->iterations < 0)
    return gd_error_set(err, GD_ERR_ARG, 3, "train: iterations is %ld, "
                        "not a count", o->iterations);
  if (o->checkpoint_every < 0)
    return gd_error_set(err, GD_ERR_ARG, 3, "train: checkpoint_every is "
                        "%ld, not a count", o->checkpoint_every);
  if (losses && (losses->ndim != 1 ||
                 losses->shape[0] != (size_t)o->iterations ||
                 !gd_tensor_is_writable(losses)))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "train: the loss history "
                        "is not a writable vector of %ld", o->iterations);
  return gd_descent_opts_check(&o->descent, 3, err);
}


/* GD_ERR_NUMERIC naming the first layer (1-based) whose dE/dW or dE/db
** holds a NaN or an infinity. */
static gd_status check_gradients(const gd_network *net, long it,
                                 gd_error *err) {
  int l;
  for (l = 0; l < net->depth; l++) {
    if (!gd_tensor_all_finite(gd_network_dedw(net, l)))
      return gd_error_set(err, GD_ERR_NUMERIC, 0, "train: the gradient "
                          "of W of layer %d is not finite at iteration "
                          "%ld", l + 1, it);
    if (!gd_tensor_all_finite(gd_network_dedb(net, l)))
      return gd_error_set(err, GD_ERR_NUMERIC, 0, "train: the gradient "
                          "of b of layer %d is not finite at iteration "
                          "%ld", l + 1, it);
  }
  return GD_OK;
}


/* One iteration: gradients on the batch, then one step of every
** parameter. */
static gd_status train_step(gd_network *net, trainer *tr,
                            const gd_tensor *x, const gd_tensor *y,
                            const gd_network_train_opts *o, long it,
                            double *loss, gd_error *err) {
  gd_descent **d = tr->s.d;
  int l;
  if (tr->xb) {
    next_batch(tr, x, y);
    x = tr->xb;
    y = tr->yb;
  }
  if (gd_network_backward(net, x, y, loss, err)) return err->code;
  if (o->reduce && o->reduce(o->reduce_ud, net, it, loss, err))
    return err->code;
  if (!isfinite(*loss))
    return gd_error_set(err, GD_ERR_NUMERIC, 0, "train: the loss is not "
                        "finite at iteration %ld", it);
  if (check_gradients(net, it, err)) return err->code;
  for (l = 0; l < net->depth; l++)
    if (gd_descent_step(d[2 * l], gd_network_dedw(net, l), &o->descent,
                        err) ||
        gd_descent_step(d[2 * l + 1], gd_network_dedb(net, l),
                        &o->descent, err))
      return err->code;
  return GD_OK;
}


/* After iteration it: the progress callback, a pending stop request
** (*stop), then a checkpoint when one is due. */
static gd_status after_step(gd_network *net, trainer *tr,
                            const gd_network_train_opts *o, long it,
                            int *stop, gd_error *err) {
  long every = o->checkpoint_every;
  if (o->progress && o->progress(o->ud, it, tr->s.losses[it - 1], err))
    return err->code;
  if (gd_interrupt_pending()) {
    gd_interrupt_clear();          /* one request stops one run */
    *stop = 1;
  }
  if (o->checkpoint && (*stop || it == o->iterations ||
                        (every > 0 && it % every == 0)))
    return gd_checkpoint_save(net, &tr->s, o->checkpoint, err);
  return GD_OK;
}


/*
** The loop runs from the iteration after those a resumed checkpoint
** holds, watching the interrupt flag; the losses done so far go to
** losses whatever happens, and the result says how the run ended.
*/
gd_status gd_network_train(gd_network *net, const gd_tensor *x,
                           const gd_tensor *y,
                           const gd_network_train_opts *o,
                           gd_tensor *losses, gd_error *err) {
  gd_error spare;
  trainer tr;
  gd_status st;
  double *pl = losses ? gd_tensor_data(losses) : NULL;
  int stop = 0;
  long it;

  if (err == NULL) err = &spare;
  if (check_train(net, x, y, o, losses, err)) return err->code;
  st = trainer_init(&tr, net, x, y, o, err);
  gd_interrupt_enter();
  for (it = tr.s.done + 1; it <= o->iterations && !st && !stop; it++) {
    st = train_step(net, &tr, x, y, o, it, &tr.s.losses[it - 1], err);
    if (st) break;
    tr.s.done = it;
    st = after_step(net, &tr, o, it, &stop, err);
  }
  gd_interrupt_leave();

  for (it = 0; pl && it < tr.s.done; it++)
    pl[it * losses->strides[0]] = tr.s.losses[it];
  if (o->result) {
    o->result->iterations = tr.s.done;
    o->result->reason = stop ? GD_REASON_INTERRUPTED
                             : GD_REASON_MAX_ITERATIONS;
  }
  trainer_free(&tr);
  return st;
}
