/*
** network.c: the multilayer perceptron, its backpropagation as a chain
** of TensorJacobian compositions, its Hessians and its training loop.
**
** Limits: the work buffers follow the last number of samples; calling
** with alternating sample counts rebuilds them each time.
*/
#include <math.h>
#include <string.h>

#include "loss.h"
#include "network.h"

typedef struct layer {
  gd_tensor *w, *b;            /* n x p and n x 1, the parameters */
  gd_activation act;
  gd_tensor *z, *a;            /* n x m, from the last forward */
  gd_jacobian *dzdw, *dzdb;    /* dZ/dW and dZ/db for m samples */
  gd_jacobian *dzda;           /* dZ/dA_prev; NULL for the first layer */
  gd_jacobian *gw, *gb;        /* dE/dW and dE/db */
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


/* Free what depends on the number of samples. */
static void free_buffers(gd_network *net) {
  int l;
  for (l = 0; l < net->depth; l++) {
    layer *ly = &net->layers[l];
    gd_tensor_free(ly->z);
    gd_tensor_free(ly->a);
    gd_jacobian_free(ly->dzdw);
    gd_jacobian_free(ly->dzdb);
    gd_jacobian_free(ly->dzda);
    ly->z = ly->a = NULL;
    ly->dzdw = ly->dzdb = ly->dzda = NULL;
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


const gd_tensor *gd_network_dedw(const gd_network *net, int l) {
  return net->layers[l].gw->t;
}


const gd_tensor *gd_network_dedb(const gd_network *net, int l) {
  return net->layers[l].gb->t;
}


/* dZ/db[i, s, k, 0] = delta(i, k): the same for every iteration. */
static void fill_dzdb(gd_jacobian *j, size_t n, size_t m) {
  double *d = gd_tensor_data(j->t);
  size_t i, s;
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++) d[(i * m + s) * n + i] = 1.0;
}


/* The buffers of one layer for m samples: Z, A and the structural
** Jacobians, zero where the structure says so. */
static gd_status layer_buffers(gd_network *net, int l, size_t m,
                               gd_error *err) {
  layer *ly = &net->layers[l];
  size_t zs[2], ws[2], bs[2], as[2];
  zs[0] = ws[0] = bs[0] = net->nodes[l + 1];
  zs[1] = m;
  ws[1] = as[0] = net->nodes[l];
  as[1] = m;
  bs[1] = 1;
  if (gd_tensor_new(&ly->z, 2, zs, err) ||
      gd_tensor_new(&ly->a, 2, zs, err) ||
      gd_jacobian_zeros(&ly->dzdw, 2, zs, 2, ws, err) ||
      gd_jacobian_zeros(&ly->dzdb, 2, zs, 2, bs, err) ||
      (l > 0 && gd_jacobian_zeros(&ly->dzda, 2, zs, 2, as, err)))
    return err->code;
  fill_dzdb(ly->dzdb, zs[0], m);
  return GD_OK;
}


static gd_status make_buffers(gd_network *net, size_t m, gd_error *err) {
  size_t ys[2];
  int l;
  free_buffers(net);
  ys[0] = net->nodes[net->depth];
  ys[1] = m;
  for (l = 0; l < net->depth; l++)
    if (layer_buffers(net, l, m, err)) break;
  if (l < net->depth || gd_jacobian_zeros(&net->dedy, 0, NULL, 2, ys, err)) {
    free_buffers(net);
    return err->code;
  }
  net->m = m;
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
  gd_tensor *v;
  int l;

  if (err == NULL) err = &spare;
  if (x->ndim != 2 || x->shape[0] != net->nodes[0] || x->shape[1] < 1)
    return gd_error_set(err, GD_ERR_SHAPE, 1, "forward: X %s is not "
                        "%zu x m (inputs x samples)",
                        gd_tensor_shape_str(x, sx, sizeof sx),
                        net->nodes[0]);
  if (x->shape[1] != net->m && make_buffers(net, x->shape[1], err))
    return err->code;
  if (gd_tensor_view(&v, x, err)) return err->code;
  gd_tensor_free(net->x);
  net->x = v;

  for (l = 0; l < net->depth; l++) {
    layer *ly = &net->layers[l];
    if (gd_tensor_matmul_into(ly->z, ly->w, prev, err) ||
        gd_tensor_binary_into(ly->z, GD_ADD, ly->z, ly->b, err) ||
        ly->act.f(&ly->act, ly->a, ly->z, err))
      return err->code;
    prev = ly->a;
  }
  if (yhat) *yhat = prev;
  return GD_OK;
}


/* dZ/dW[i, s, k, j] = delta(i, k) A_prev[j, s]: only the entries with
** k = i are written, the others stay zero. */
static void fill_dzdw(gd_jacobian *jac, const gd_tensor *ap) {
  size_t n = jac->num[0], m = jac->num[1], p = jac->den[1], i, s, j;
  const double *a = gd_tensor_data(ap);
  ptrdiff_t r = ap->strides[0], c = ap->strides[1];
  double *d = gd_tensor_data(jac->t);
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++) {
      double *row = d + ((i * m + s) * n + i) * p;
      for (j = 0; j < p; j++)
        row[j] = a[(ptrdiff_t)j * r + (ptrdiff_t)s * c];
    }
}


/* dZ/dA_prev[i, s, j, t] = W[i, j] delta(s, t): the entries with t = s
** are written, the others stay zero. */
static void fill_dzda(gd_jacobian *jac, const gd_tensor *w) {
  size_t n = jac->num[0], m = jac->num[1], p = jac->den[0], i, s, j;
  const double *pw = gd_tensor_data(w);
  double *d = gd_tensor_data(jac->t);
  for (i = 0; i < n; i++)
    for (s = 0; s < m; s++)
      for (j = 0; j < p; j++)
        d[((i * m + s) * p + j) * m + s] = pw[i * p + j];
}


static const gd_tensor *input_of(const gd_network *net, int l) {
  return l > 0 ? net->layers[l - 1].a : net->x;
}


/* One step of the backward chain at layer l: from g = dE/dA_l, the
** gradients of the layer and, past the first layer, dE/dA_(l-1) in
** *next (NULL otherwise). */
static gd_status backward_layer(gd_network *net, int l,
                                const gd_jacobian *g, gd_jacobian **next,
                                gd_error *err) {
  layer *ly = &net->layers[l];
  gd_jacobian *d = NULL, *gz = NULL;
  gd_status st;

  *next = NULL;
  if (ly->act.df(&ly->act, &d, ly->z, ly->a, err)) return err->code;
  st = gd_jacobian_compose(&gz, g, d, err);
  gd_jacobian_free(d);
  if (st) return st;

  fill_dzdw(ly->dzdw, input_of(net, l));
  st = gd_jacobian_compose_into(ly->gw, gz, ly->dzdw, err);
  if (!st) st = gd_jacobian_compose_into(ly->gb, gz, ly->dzdb, err);
  if (!st && l > 0) {
    fill_dzda(ly->dzda, ly->w);
    st = gd_jacobian_compose(next, gz, ly->dzda, err);
  }
  gd_jacobian_free(gz);
  return st;
}


gd_status gd_network_backward(gd_network *net, const gd_tensor *x,
                              const gd_tensor *y, double *loss,
                              gd_error *err) {
  gd_error spare;
  const gd_tensor *yhat;
  gd_jacobian *g = NULL, *next;
  double e;
  int l;

  if (err == NULL) err = &spare;
  if (gd_network_forward(net, x, &yhat, err)) return err->code;
  if (gd_loss_mse(&e, y, yhat, err) ||
      gd_loss_mse_jacobian_into(net->dedy, y, yhat, err)) {
    err->operand = 2;
    return err->code;
  }

  for (l = net->depth - 1; l >= 0; l--) {
    gd_status st = backward_layer(net, l, g ? g : net->dedy, &next, err);
    gd_jacobian_free(g);
    if (st) return st;
    g = next;
  }
  if (loss) *loss = e;
  return GD_OK;
}


/* One activation step of the second-order chain: with J = dZ/dW and
** H = d2Z/dW2 (numerator Z, denominator W ++ W; NULL is zero), the
** same for A = f(Z). *j and *h are replaced. */
static gd_status hessian_activation(const layer *ly, gd_jacobian **j,
                                    gd_jacobian **h, gd_error *err) {
  gd_jacobian *d1 = NULL, *d2 = NULL, *t = NULL, *u = NULL, *v = NULL;
  gd_jacobian *jn = NULL;
  gd_status st;

  if (ly->act.d2f == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "hessian: activation '%s' "
                        "has no second derivative", ly->act.name);
  if ((st = ly->act.df(&ly->act, &d1, ly->z, ly->a, err)) ||
      (st = ly->act.d2f(&ly->act, &t, ly->z, ly->a, err)) ||
      (st = gd_jacobian_regroup(&d2, t, 2, err)) ||
      (st = gd_jacobian_bilinear(&u, d2, *j, *j, err)) ||
      (st = gd_jacobian_compose(&jn, d1, *j, err)))
    goto done;
  if (*h) {
    if ((st = gd_jacobian_compose(&v, d1, *h, err))) goto done;
    gd_jacobian_free(t);
    t = NULL;
    if ((st = gd_jacobian_add(&t, v, u, err))) goto done;
    gd_jacobian_free(u);
    u = t;
    t = NULL;
  }
  gd_jacobian_free(*h);
  *h = u;
  u = NULL;
  gd_jacobian_free(*j);
  *j = jn;
  jn = NULL;

done:
  gd_jacobian_free(d1);
  gd_jacobian_free(d2);
  gd_jacobian_free(t);
  gd_jacobian_free(u);
  gd_jacobian_free(v);
  gd_jacobian_free(jn);
  return st;
}


/* Compose both J and H with the structural dZ/dA_prev of layer l. */
static gd_status hessian_linear(layer *ly, gd_jacobian **j,
                                gd_jacobian **h, gd_error *err) {
  gd_jacobian *jn, *hn;
  fill_dzda(ly->dzda, ly->w);
  if (gd_jacobian_compose(&jn, ly->dzda, *j, err)) return err->code;
  if (gd_jacobian_compose(&hn, ly->dzda, *h, err)) {
    gd_jacobian_free(jn);
    return err->code;
  }
  gd_jacobian_free(*j);
  gd_jacobian_free(*h);
  *j = jn;
  *h = hn;
  return GD_OK;
}


/* At the loss: d2E/dW2 = dE/dYhat * H + d2E/dYhat2 [J, J], regrouped
** so that numerator and denominator are both W's shape. */
static gd_status hessian_loss(gd_jacobian **out, gd_network *net,
                              const gd_tensor *y, const gd_jacobian *j,
                              const gd_jacobian *h, gd_error *err) {
  const gd_tensor *yhat = net->layers[net->depth - 1].a;
  gd_jacobian *hy = NULL, *hy0 = NULL, *a = NULL, *b = NULL, *s = NULL;
  gd_status st;
  if ((st = gd_loss_mse_hessian(&hy, y, yhat, err)) ||
      (st = gd_jacobian_regroup(&hy0, hy, 0, err)) ||
      (st = gd_jacobian_compose(&a, net->dedy, h, err)) ||
      (st = gd_jacobian_bilinear(&b, hy0, j, j, err)) ||
      (st = gd_jacobian_add(&s, a, b, err)))
    goto done;
  st = gd_jacobian_regroup(out, s, 2, err);

done:
  gd_jacobian_free(hy);
  gd_jacobian_free(hy0);
  gd_jacobian_free(a);
  gd_jacobian_free(b);
  gd_jacobian_free(s);
  return st;
}


gd_status gd_network_hessian(gd_jacobian **out, gd_network *net,
                             const gd_tensor *x, const gd_tensor *y,
                             int l, gd_error *err) {
  gd_error spare;
  gd_jacobian *j = NULL, *h = NULL;
  gd_status st;
  int k;

  if (err == NULL) err = &spare;
  if (l < 0 || l >= net->depth)
    return gd_error_set(err, GD_ERR_RANGE, 3, "hessian: layer %d out of "
                        "1..%d", l + 1, net->depth);
  if (gd_network_backward(net, x, y, NULL, err)) return err->code;

  fill_dzdw(net->layers[l].dzdw, input_of(net, l));
  if ((st = gd_jacobian_regroup(&j, net->layers[l].dzdw, 2, err)))
    return st;
  for (k = l; k < net->depth && !st; k++) {
    st = hessian_activation(&net->layers[k], &j, &h, err);
    if (!st && k + 1 < net->depth)
      st = hessian_linear(&net->layers[k + 1], &j, &h, err);
  }
  if (!st) st = hessian_loss(out, net, y, j, h, err);
  gd_jacobian_free(j);
  gd_jacobian_free(h);
  return st;
}


void gd_network_train_opts_default(gd_network_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->iterations = 1000;
  gd_descent_opts_default(&o->descent);
}


/* What one training run holds: a GradientDescent per parameter and, for
** mini-batches, the batch tensors and the shuffled column order. */
typedef struct trainer {
  gd_descent **d;              /* 2 per layer: W then b */
  int nd;
  gd_tensor *xb, *yb;
  size_t *order, m, pos;
  gd_rng rng;
} trainer;


static void trainer_free(trainer *tr) {
  int i;
  for (i = 0; i < tr->nd; i++) gd_descent_free(tr->d[i]);
  gd_free(tr->d, (size_t)tr->nd * sizeof *tr->d);
  gd_tensor_free(tr->xb);
  gd_tensor_free(tr->yb);
  gd_free(tr->order, tr->m * sizeof *tr->order);
}


/* Fisher-Yates shuffle of the column order. */
static void shuffle(trainer *tr) {
  size_t i, k, t;
  for (i = tr->m; i > 1; i--) {
    k = (size_t)(gd_rng_uniform(&tr->rng) * (double)i);
    t = tr->order[i - 1];
    tr->order[i - 1] = tr->order[k];
    tr->order[k] = t;
  }
}


static gd_status trainer_init(trainer *tr, gd_network *net,
                              const gd_tensor *x, const gd_tensor *y,
                              const gd_network_train_opts *o,
                              gd_error *err) {
  size_t s[2], i;
  int l;
  memset(tr, 0, sizeof *tr);
  tr->d = gd_malloc((size_t)(2 * net->depth) * sizeof *tr->d);
  if (tr->d == NULL) return nomem(err);
  for (l = 0; l < net->depth; l++) {
    if (gd_descent_new(&tr->d[tr->nd], net->layers[l].w,
                       GD_DESCENT_SHARE, err))
      return err->code;
    tr->nd++;
    if (gd_descent_new(&tr->d[tr->nd], net->layers[l].b,
                       GD_DESCENT_SHARE, err))
      return err->code;
    tr->nd++;
  }
  if (o->batch_size == 0 || o->batch_size >= x->shape[1]) return GD_OK;

  s[1] = o->batch_size;
  s[0] = x->shape[0];
  if (gd_tensor_new(&tr->xb, 2, s, err)) return err->code;
  s[0] = y->shape[0];
  if (gd_tensor_new(&tr->yb, 2, s, err)) return err->code;
  tr->order = gd_malloc(x->shape[1] * sizeof *tr->order);
  if (tr->order == NULL) return nomem(err);
  tr->m = x->shape[1];
  for (i = 0; i < tr->m; i++) tr->order[i] = i;
  gd_rng_seed(&tr->rng, o->seed);
  shuffle(tr);
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
  size_t k, bs = tr->xb->shape[1];
  if (tr->pos + bs > tr->m) {
    shuffle(tr);
    tr->pos = 0;
  }
  for (k = 0; k < bs; k++) {
    copy_column(tr->xb, k, x, tr->order[tr->pos + k]);
    copy_column(tr->yb, k, y, tr->order[tr->pos + k]);
  }
  tr->pos += bs;
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
  if (losses && (losses->ndim != 1 ||
                 losses->shape[0] != (size_t)o->iterations ||
                 !gd_tensor_is_writable(losses)))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "train: the loss history "
                        "is not a writable vector of %ld", o->iterations);
  return gd_descent_opts_check(&o->descent, 3, err);
}


/* One iteration: gradients on the batch, then one step of every
** parameter. */
static gd_status train_step(gd_network *net, trainer *tr,
                            const gd_tensor *x, const gd_tensor *y,
                            const gd_network_train_opts *o, long it,
                            double *loss, gd_error *err) {
  int l;
  if (tr->xb) {
    next_batch(tr, x, y);
    x = tr->xb;
    y = tr->yb;
  }
  if (gd_network_backward(net, x, y, loss, err)) return err->code;
  if (!isfinite(*loss))
    return gd_error_set(err, GD_ERR_NUMERIC, 0, "train: the loss is not "
                        "finite at iteration %ld", it);
  for (l = 0; l < net->depth; l++)
    if (gd_descent_step(tr->d[2 * l], net->layers[l].gw->t, &o->descent,
                        err) ||
        gd_descent_step(tr->d[2 * l + 1], net->layers[l].gb->t,
                        &o->descent, err))
      return err->code;
  return GD_OK;
}


gd_status gd_network_train(gd_network *net, const gd_tensor *x,
                           const gd_tensor *y,
                           const gd_network_train_opts *o,
                           gd_tensor *losses, gd_error *err) {
  gd_error spare;
  trainer tr;
  gd_status st;
  double loss = 0, *pl = losses ? gd_tensor_data(losses) : NULL;
  long it;

  if (err == NULL) err = &spare;
  if (check_train(net, x, y, o, losses, err)) return err->code;
  st = trainer_init(&tr, net, x, y, o, err);
  for (it = 1; it <= o->iterations && !st; it++) {
    st = train_step(net, &tr, x, y, o, it, &loss, err);
    if (!st && pl) pl[(it - 1) * losses->strides[0]] = loss;
    if (!st && o->progress) st = o->progress(o->ud, it, loss, err);
  }
  trainer_free(&tr);
  return st;
}
