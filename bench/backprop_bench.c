/*
** backprop_bench.c: one training iteration (forward, backward through
** structured TensorJacobians, GradientDescent update) against a plain
** matrix-backprop loop written here in C over the same OpenBLAS, on the
** workloads of docs/performance.md. Also the dense-Jacobian path for the
** small rows, the Hessian and Hessian-vector product of the loss with
** respect to the first weight matrix, and a two-thread run. Built and
** run by tools/bench (`make bench`) on one BLAS thread.
**
** Each row runs in a child process, so its peak resident set (getrusage)
** is its own; the bytes gdnn allocates are counted through the
** allocation hook, which also shows that a step allocates nothing after
** the first.
**
** Limits: times are the best of three batches, each at least 0.2 s.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cblas.h>

#include "activation.h"
#include "jacobian.h"
#include "loss.h"
#include "network.h"

void openblas_set_num_threads(int n);

#define MAXL 4
#define LR 0.01

/* The workloads: every figure in docs/performance.md comes from here.
** Data: X ~ N(0, 1) and Y ~ U[0, 1) from gd_rng seed 42 (X first, row-
** major); start weights from the network's own seed 1, biases zero. */
typedef struct workload {
  const char *name;
  int depth;
  size_t nodes[MAXL + 1];
  const char *acts[MAXL];
  size_t m;
  int dense;                 /* 1: also time the dense-Jacobian path */
  double target;             /* ms per iteration, one thread */
} workload;

static const workload rows[] = {
  {"{1,6,1}, 100", 2, {1, 6, 1}, {"sigmoid", "sigmoid"}, 100, 1, 0.005},
  {"{1,10,2}, 200", 2, {1, 10, 2}, {"tanh", "identity"}, 200, 1, 0.010},
  {"{64,128,10}, 256", 2, {64, 128, 10}, {"tanh", "identity"}, 256, 0,
   0.35},
  {"{784,256,10}, 128", 2, {784, 256, 10}, {"tanh", "identity"}, 128, 0,
   2.3},
};

/* The Hessian of the loss by W_1 on the first two rows, ms per call. */
#define HESSIAN_TARGET 0.025

#define NROWS ((int)(sizeof rows / sizeof rows[0]))


static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


/* ---- counting allocations ------------------------------------------- */

static size_t cur_bytes, peak_bytes, nallocs;


static void *counting(void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    cur_bytes -= osize;
    free(p);
    return NULL;
  }
  nallocs++;
  cur_bytes += nsize - (p ? osize : 0);
  if (cur_bytes > peak_bytes) peak_bytes = cur_bytes;
  return realloc(p, nsize);
}


static void die(const char *what, const gd_error *err) {
  fprintf(stderr, "backprop_bench: %s: %s\n", what, err->msg);
  exit(1);
}


/* ---- timing --------------------------------------------------------- */

typedef void (*run_fn)(void *ud, long n);


/* Seconds per call of fn: the best of three batches of at least 0.2 s. */
static double per_call(run_fn fn, void *ud) {
  long n = 1;
  double t, best = 1e30;
  int b;
  for (;;) {
    t = now();
    fn(ud, n);
    t = now() - t;
    if (t >= 0.2) break;
    n *= t < 0.02 ? 10 : 2;
  }
  for (b = 0; b < 3; b++) {
    t = now();
    fn(ud, n);
    t = (now() - t) / (double)n;
    if (t < best) best = t;
  }
  return best;
}


/* ---- gdnn ----------------------------------------------------------- */

typedef struct ctx {
  const workload *w;
  gd_network *net;
  gd_tensor *x, *y;
  gd_network_train_opts opts;
  int l;
} ctx;


static void run_gdnn(void *ud, long n) {
  ctx *c = (ctx *)ud;
  gd_error err;
  c->opts.iterations = n;
  if (gd_network_train(c->net, c->x, c->y, &c->opts, NULL, &err))
    die("train", &err);
}


/* Allocations made by iterations 2 .. n of one training run. */
static size_t after_first;

static gd_status mark(void *ud, long it, double loss, gd_error *err) {
  (void)ud;
  (void)loss;
  (void)err;
  if (it == 1) after_first = nallocs;
  return GD_OK;
}


static void make_net(ctx *c, const workload *w) {
  const gd_activation *acts[MAXL];
  size_t xs[2], ys[2];
  gd_rng rng;
  gd_error err;
  int l;
  double *p;
  size_t i;

  c->w = w;
  for (l = 0; l < w->depth; l++) acts[l] = gd_activation_builtin(w->acts[l]);
  if (gd_network_new(&c->net, w->depth, w->nodes, acts, 1, &err))
    die("network", &err);
  xs[0] = w->nodes[0];
  ys[0] = w->nodes[w->depth];
  xs[1] = ys[1] = w->m;
  if (gd_tensor_new(&c->x, 2, xs, &err) || gd_tensor_new(&c->y, 2, ys, &err))
    die("data", &err);
  gd_rng_seed(&rng, 42);
  p = gd_tensor_data(c->x);
  for (i = 0; i < xs[0] * xs[1]; i++) p[i] = gd_rng_normal(&rng);
  p = gd_tensor_data(c->y);
  for (i = 0; i < ys[0] * ys[1]; i++) p[i] = gd_rng_uniform(&rng);
  gd_network_train_opts_default(&c->opts);
  c->opts.descent.learning_rate = LR;
}


/* ---- the plain C matrix-backprop loop ---------------------------------- */

typedef struct ref {
  const workload *w;
  double *wt[MAXL], *b[MAXL], *z[MAXL], *a[MAXL], *g[MAXL], *dw[MAXL];
  double *db[MAXL], *x, *y;
  size_t bytes;
} ref;


static double *ralloc(ref *r, size_t n) {
  double *p = calloc(n, sizeof *p);
  if (p == NULL) {
    fprintf(stderr, "backprop_bench: out of memory\n");
    exit(1);
  }
  r->bytes += n * sizeof *p;
  return p;
}


static void ref_init(ref *r, const ctx *c) {
  const workload *w = c->w;
  size_t m = w->m;
  int l;
  memset(r, 0, sizeof *r);
  r->w = w;
  for (l = 0; l < w->depth; l++) {
    size_t n = w->nodes[l + 1], p = w->nodes[l];
    r->wt[l] = ralloc(r, n * p);
    memcpy(r->wt[l], gd_tensor_data(gd_network_weight(c->net, l)),
           n * p * sizeof(double));
    r->b[l] = ralloc(r, n);
    r->z[l] = ralloc(r, n * m);
    r->a[l] = ralloc(r, n * m);
    r->g[l] = ralloc(r, n * m);
    r->dw[l] = ralloc(r, n * p);
    r->db[l] = ralloc(r, n);
  }
  r->x = ralloc(r, w->nodes[0] * m);
  memcpy(r->x, gd_tensor_data(c->x), w->nodes[0] * m * sizeof(double));
  r->y = ralloc(r, w->nodes[w->depth] * m);
  memcpy(r->y, gd_tensor_data(c->y),
         w->nodes[w->depth] * m * sizeof(double));
}


static void ref_free(ref *r) {
  int l;
  for (l = 0; l < r->w->depth; l++) {
    free(r->wt[l]);
    free(r->b[l]);
    free(r->z[l]);
    free(r->a[l]);
    free(r->g[l]);
    free(r->dw[l]);
    free(r->db[l]);
  }
  free(r->x);
  free(r->y);
}


/* a = f(z) and g *= f'(z) expressed through a, for the three kinds. */
static void act_f(const char *k, double *a, const double *z, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    a[i] = k[0] == 's' ? 1 / (1 + exp(-z[i])) : k[0] == 't' ? tanh(z[i])
                                                            : z[i];
}


static void act_df(const char *k, double *g, const double *a, size_t n) {
  size_t i;
  if (k[0] == 's')
    for (i = 0; i < n; i++) g[i] *= a[i] * (1 - a[i]);
  else if (k[0] == 't')
    for (i = 0; i < n; i++) g[i] *= 1 - a[i] * a[i];
}


/* One iteration of textbook backprop: Z = W A + b, A = f(Z); G = (A - Y)
** / m f'(Z); dW = G A_prev^T, db = G 1, G_prev = W^T G f'; W -= lr dW. */
static void ref_step(ref *r) {
  const workload *w = r->w;
  int L = w->depth, l;
  size_t m = w->m, i, s;
  for (l = 0; l < L; l++) {
    size_t n = w->nodes[l + 1], p = w->nodes[l];
    const double *prev = l ? r->a[l - 1] : r->x;
    for (i = 0; i < n; i++)
      for (s = 0; s < m; s++) r->z[l][i * m + s] = r->b[l][i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m,
                (int)p, 1.0, r->wt[l], (int)p, prev, (int)m, 1.0, r->z[l],
                (int)m);
    act_f(w->acts[l], r->a[l], r->z[l], n * m);
  }
  for (i = 0; i < w->nodes[L] * m; i++)
    r->g[L - 1][i] = (r->a[L - 1][i] - r->y[i]) / (double)m;
  for (l = L - 1; l >= 0; l--) {
    size_t n = w->nodes[l + 1], p = w->nodes[l];
    const double *prev = l ? r->a[l - 1] : r->x;
    act_df(w->acts[l], r->g[l], r->a[l], n * m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)p,
                (int)m, 1.0, r->g[l], (int)m, prev, (int)m, 0.0, r->dw[l],
                (int)p);
    for (i = 0; i < n; i++) {
      double sum = 0;
      for (s = 0; s < m; s++) sum += r->g[l][i * m + s];
      r->db[l][i] = sum;
    }
    if (l > 0)
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)m,
                  (int)n, 1.0, r->wt[l], (int)p, r->g[l], (int)m, 0.0,
                  r->g[l - 1], (int)m);
  }
  for (l = 0; l < L; l++) {
    size_t n = w->nodes[l + 1], p = w->nodes[l];
    cblas_daxpy((int)(n * p), -LR, r->dw[l], 1, r->wt[l], 1);
    cblas_daxpy((int)n, -LR, r->db[l], 1, r->b[l], 1);
  }
}


static void run_ref(void *ud, long n) {
  long k;
  for (k = 0; k < n; k++) ref_step((ref *)ud);
}


/* ---- the dense-Jacobian path ------------------------------------------ */

/* A materialised copy of j (a dense Jacobian with the same shapes). */
static gd_jacobian *densified(const gd_jacobian *j) {
  gd_jacobian *r;
  gd_tensor *t;
  gd_error err;
  if (gd_jacobian_dense(&t, j, &err) ||
      gd_jacobian_new(&r, t, j->nnum, j->num, j->nden, j->den, &err))
    die("dense", &err);
  gd_tensor_free(t);
  return r;
}


/* The dense form of a structured Jacobian over f, as a dense one. */
static gd_jacobian *dense_of(const gd_tensor *f, const char *spec,
                             size_t n, size_t m, size_t r, size_t c) {
  size_t num[2], den[2];
  gd_jacobian *t, *d;
  gd_error err;
  num[0] = n;
  num[1] = m;
  den[0] = r;
  den[1] = c;
  if (gd_jacobian_structured(&t, f, spec, 2, num, 2, den, &err))
    die("dense", &err);
  d = densified(t);
  gd_jacobian_free(t);
  return d;
}


/* dE/dZ * J for a dense J made from f and spec; the result is freed
** unless keep is given. */
static void dense_step(gd_jacobian **keep, const gd_jacobian *gz,
                       gd_jacobian *j) {
  gd_jacobian *r;
  gd_error err;
  if (gd_jacobian_compose(&r, gz, j, &err)) die("dense", &err);
  gd_jacobian_free(j);
  if (keep) *keep = r;
  else gd_jacobian_free(r);
}


/* One backward layer of the dense path: dA/dZ, dZ/dW, dZ/db and
** dZ/dA_prev made dense, as the reference computation makes them, and
** composed densely. Returns dE/dA_prev (NULL for the first layer). */
static gd_jacobian *dense_layer(ctx *c, int l, const gd_jacobian *g,
                                const gd_tensor *z, const gd_tensor *a,
                                const gd_tensor *prev) {
  const workload *w = c->w;
  const gd_activation *act = gd_network_activation(c->net, l);
  size_t n = w->nodes[l + 1], p = w->nodes[l], m = w->m, one = 1;
  gd_jacobian *d, *gz, *next = NULL;
  gd_tensor *ones;
  gd_error err;

  if (act->df(act, &d, z, a, &err)) die("dense", &err);
  dense_step(&gz, g, densified(d));
  gd_jacobian_free(d);
  dense_step(NULL, gz, dense_of(prev, "js->isij", n, m, n, p));
  if (gd_tensor_full(&ones, 1, &one, 1.0, &err)) die("dense", &err);
  dense_step(NULL, gz, dense_of(ones, "o->isio", n, m, n, 1));
  gd_tensor_free(ones);
  if (l > 0)
    dense_step(&next, gz, dense_of(gd_network_weight(c->net, l),
                                   "ij->isjs", n, m, p, m));
  gd_jacobian_free(gz);
  return next;
}


/* Forward, then backward with every Jacobian dense; the gradients are
** discarded (the update is a small part and is left out). */
static void run_dense(void *ud, long n) {
  ctx *c = (ctx *)ud;
  const workload *w = c->w;
  gd_tensor *z[MAXL], *a[MAXL + 1];
  gd_jacobian *g, *next;
  gd_error err;
  long k;
  int l;
  for (k = 0; k < n; k++) {
    a[0] = c->x;
    for (l = 0; l < w->depth; l++)
      if (gd_tensor_matmul(&z[l], gd_network_weight(c->net, l), a[l],
                           &err) ||
          gd_tensor_binary_into(z[l], GD_ADD, z[l],
                                gd_network_bias(c->net, l), &err) ||
          gd_activation_apply(&a[l + 1], gd_network_activation(c->net, l),
                              z[l], &err))
        die("dense forward", &err);
    if (gd_loss_mse_jacobian(&g, c->y, a[w->depth], &err))
      die("dense loss", &err);
    for (l = w->depth - 1; l >= 0; l--) {
      next = dense_layer(c, l, g, z[l], a[l + 1], a[l]);
      gd_jacobian_free(g);
      g = next;
    }
    for (l = 0; l < w->depth; l++) {
      gd_tensor_free(z[l]);
      gd_tensor_free(a[l + 1]);
    }
  }
}


/* ---- Hessians ---------------------------------------------------------- */

static void run_hessian(void *ud, long n) {
  ctx *c = (ctx *)ud;
  gd_jacobian *h;
  gd_error err;
  long k;
  for (k = 0; k < n; k++) {
    if (gd_network_hessian(&h, c->net, c->x, c->y, c->l, &err))
      die("hessian", &err);
    gd_jacobian_free(h);
  }
}


static void run_hvp(void *ud, long n) {
  ctx *c = (ctx *)ud;
  gd_tensor *v = gd_network_weight(c->net, c->l), *r;
  gd_error err;
  long k;
  for (k = 0; k < n; k++) {
    if (gd_network_hvp(&r, c->net, c->x, c->y, c->l, v, &err))
      die("hvp", &err);
    gd_tensor_free(r);
  }
}


/* ---- rows -------------------------------------------------------------- */

static double maxrss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}


/* The loss of the 20th iteration in both loops (each measured before
** that iteration's update), to show that they compute the same thing. */
static double agreement(ctx *c) {
  const workload *w = c->w;
  size_t i, n = w->nodes[w->depth] * w->m, twenty = 20;
  gd_tensor *losses;
  gd_error err;
  double e1, e2 = 0;
  ref r;
  int k;
  gd_network_free(c->net);
  gd_tensor_free(c->x);
  gd_tensor_free(c->y);
  make_net(c, w);
  ref_init(&r, c);
  c->opts.iterations = 20;
  if (gd_tensor_new(&losses, 1, &twenty, &err) ||
      gd_network_train(c->net, c->x, c->y, &c->opts, losses, &err))
    die("train", &err);
  e1 = gd_tensor_data(losses)[19];
  gd_tensor_free(losses);
  for (k = 0; k < 20; k++) ref_step(&r);
  for (i = 0; i < n; i++) {
    double d = r.a[w->depth - 1][i] - r.y[i];
    e2 += d * d;
  }
  e2 /= 2.0 * (double)w->m;
  ref_free(&r);
  return fabs(e1 - e2) / e2;
}


/* What a child reports to its parent: gdnn's and the C loop's time. */
static double child_times[2];


/* One row in a child process: times, memory, ratio and agreement; with
** two threads, the speed-up over the one-thread times in one1. */
static const double *one1;

static void row(const workload *w, int threads) {
  ctx c;
  ref r;
  double tg, tr, td = 0, diff;
  size_t peak;

  openblas_set_num_threads(threads);
  make_net(&c, w);
  ref_init(&r, &c);
  tr = per_call(run_ref, &r);
  ref_free(&r);

  peak_bytes = cur_bytes;
  c.opts.progress = mark;
  nallocs = 0;
  run_gdnn(&c, 50);
  after_first = nallocs - after_first;
  c.opts.progress = NULL;
  tg = per_call(run_gdnn, &c);
  peak = peak_bytes;
  if (w->dense && threads == 1) td = per_call(run_dense, &c);
  diff = agreement(&c);

  child_times[0] = tg;
  child_times[1] = tr;
  printf("| %-18s | %d | %9.4f | ", w->name, threads, tg * 1e3);
  if (threads == 1) printf("%6.3f | ", w->target);
  else printf("x%.2f (C x%.2f) | ", one1[0] / tg, one1[1] / tr);
  printf("%9.4f | %5.2f | %7.2f | %8.1f | %5zu | %7.1e |", tr * 1e3,
         tg / tr, (double)peak / 1048576.0, maxrss_mib(), after_first,
         diff);
  if (td > 0) printf(" %9.3f ms |\n", td * 1e3);
  else printf(" - |\n");
  gd_network_free(c.net);
  gd_tensor_free(c.x);
  gd_tensor_free(c.y);
}


/* Hessian and Hessian-vector product for W_1 on a row. */
static void hessian_row(const workload *w) {
  ctx c;
  double th, tv;
  openblas_set_num_threads(1);
  make_net(&c, w);
  c.l = 0;
  th = per_call(run_hessian, &c);
  tv = per_call(run_hvp, &c);
  printf("| %-18s | %9.4f ms | %6.3f ms | %9.4f ms |\n", w->name,
         th * 1e3, HESSIAN_TARGET, tv * 1e3);
  gd_network_free(c.net);
  gd_tensor_free(c.x);
  gd_tensor_free(c.y);
}


/* Run fn(w, arg) in a child so that its resident set is its own; the
** child's child_times come back through a pipe into got (when not
** NULL). */
static int in_child(void (*fn)(const workload *, int), const workload *w,
                    int arg, double *got) {
  pid_t pid;
  int status, fd[2];
  fflush(stdout);
  if (pipe(fd) != 0) return 1;
  pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    close(fd[0]);
    gd_set_allocator(counting, NULL);
    fn(w, arg);
    fflush(stdout);
    if (write(fd[1], child_times, sizeof child_times) < 0) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  if (got && read(fd[0], got, sizeof child_times) !=
             (ssize_t)sizeof child_times)
    got[0] = got[1] = 0;
  close(fd[0]);
  if (waitpid(pid, &status, 0) < 0) return 1;
  return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}


static void hessian_adapter(const workload *w, int arg) {
  (void)arg;
  hessian_row(w);
}


int main(void) {
  double t1[NROWS][2];
  int k, bad = 0;
  printf("One training iteration, float64; gdnn = forward, backward "
         "through structured\nTensorJacobians and GradientDescent update; "
         "C loop = plain matrix backprop.\n\n");
  printf("| network, samples   | threads | gdnn ms | target ms, or "
         "speed-up over one thread | C loop ms | ratio | gdnn MiB | maxrss "
         "MiB | allocs after first | loss rel diff | dense Jacobians |\n");
  printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
         "--- |\n");
  for (k = 0; k < NROWS; k++) bad |= in_child(row, &rows[k], 1, t1[k]);
  for (k = 2; k < NROWS; k++) {
    one1 = t1[k];
    bad |= in_child(row, &rows[k], 2, NULL);
  }
  printf("\nHessian d2E/dW_1^2 and one Hessian-vector product, one "
         "thread:\n\n");
  printf("| network, samples   | net:hessian | target | net:hvp |\n");
  printf("| --- | --- | --- | --- |\n");
  for (k = 0; k < 2; k++)
    bad |= in_child(hessian_adapter, &rows[k], 0, NULL);
  return bad;
}
