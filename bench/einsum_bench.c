/*
** einsum_bench.c: per-call times of gd_einsum_into on cached plans, with
** a direct cblas_dgemm beside each GEMM-shaped case and the ratio, on one
** BLAS thread. Built and run by tools/bench (`make bench`).
**
** Limits: times are the best of five batches, each at least 0.1 s long.
*/
#include <stdio.h>
#include <time.h>

#include <cblas.h>

#include "einsum.h"
#include "rng.h"
#include "tensor.h"

#define MAXOPS 5

/* One case: subscripts, operand shapes, and for a GEMM shape the dgemm
** sizes (batch, m, n, k) it compares against. */
typedef struct bcase {
  const char *name, *subs;
  int nops;
  int ndim[MAXOPS];
  size_t shape[MAXOPS][4];
  int batch, m, n, k;
} bcase;

static const bcase cases[] = {
  {"ij,jk->ik n=64", "ij,jk->ik", 2, {2, 2}, {{64, 64}, {64, 64}},
   1, 64, 64, 64},
  {"ij,jk->ik n=256", "ij,jk->ik", 2, {2, 2}, {{256, 256}, {256, 256}},
   1, 256, 256, 256},
  {"ij,jk->ik n=1024", "ij,jk->ik", 2, {2, 2},
   {{1024, 1024}, {1024, 1024}}, 1, 1024, 1024, 1024},
  {"bij,bjk->bik b=32 n=128", "bij,bjk->bik", 2, {3, 3},
   {{32, 128, 128}, {32, 128, 128}}, 32, 128, 128, 128},
  {"abcd,cdef->abef 16", "abcd,cdef->abef", 2, {4, 4},
   {{16, 16, 16, 16}, {16, 16, 16, 16}}, 1, 256, 256, 256},
  {"pi,qj,ijkl,rk,sl->pqrs 10", "pi,qj,ijkl,rk,sl->pqrs", 5,
   {2, 2, 4, 2, 2}, {{10, 10}, {10, 10}, {10, 10, 10, 10}, {10, 10},
                     {10, 10}}, 0, 0, 0, 0},
  {"ij,ij-> n=1000", "ij,ij->", 2, {2, 2}, {{1000, 1000}, {1000, 1000}},
   0, 0, 0, 0},
  {"ii-> n=1000", "ii->", 1, {2}, {{1000, 1000}}, 0, 0, 0, 0},
  {"i,j->ij n=1000", "i,j->ij", 2, {1, 1}, {{1000}, {1000}}, 0, 0, 0, 0},
  {"ijk->kji 100^3", "ijk->kji", 1, {3}, {{100, 100, 100}}, 0, 0, 0, 0},
  {"ij,jk->ik n=2 (overhead)", "ij,jk->ik", 2, {2, 2}, {{2, 2}, {2, 2}},
   1, 2, 2, 2},
};


static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


/* What one timed call needs. */
typedef struct job {
  const bcase *c;
  const gd_tensor *ops[MAXOPS];
  gd_tensor *out;
  const double *a, *b;
  double *w;
} job;


static void run_einsum(job *j) {
  gd_error err;
  if (gd_einsum_into(j->out, j->c->subs, j->c->nops, j->ops, &err)
      != GD_OK)
    fprintf(stderr, "einsum_bench: %s\n", err.msg);
}


/* The direct BLAS equivalent: one dgemm per batch element. */
static void run_dgemm(job *j) {
  const bcase *c = j->c;
  size_t sa = (size_t)c->m * (size_t)c->k, sb = (size_t)c->k * (size_t)c->n;
  size_t sc = (size_t)c->m * (size_t)c->n;
  int i;
  for (i = 0; i < c->batch; i++)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->n,
                c->k, 1.0, j->a + i * sa, c->k, j->b + i * sb, c->n, 0.0,
                j->w + i * sc, c->n);
}


/* Seconds per call of f over one batch of at least 0.1 s. */
static double batch_time(void (*f)(job *), job *j) {
  long n = 0;
  double t0 = now(), t;
  do {
    f(j);
    n++;
    t = now() - t0;
  } while (t < 0.1);
  return t / (double)n;
}


/* The best per-call times of f and g (g may be NULL) over five rounds,
** alternating so that both meet the same machine load. */
static void per_call(void (*f)(job *), void (*g)(job *), job *j,
                     double *tf, double *tg) {
  int round;
  double t;
  *tf = *tg = 1e30;
  f(j);
  if (g) g(j);
  for (round = 0; round < 5; round++) {
    if ((t = batch_time(f, j)) < *tf) *tf = t;
    if (g && (t = batch_time(g, j)) < *tg) *tg = t;
  }
}


/* Time case c; returns 0 when its tensors cannot be made. */
static int bench_case(const bcase *c, gd_rng *rng) {
  gd_tensor *ops[MAXOPS] = {NULL}, *out = NULL, *w = NULL;
  gd_error err;
  job j;
  int k, ok = 1;
  double te, td;
  for (k = 0; k < c->nops && ok; k++)
    ok = gd_tensor_rand(&ops[k], c->ndim[k], c->shape[k], rng, &err)
         == GD_OK;
  if (ok) ok = gd_einsum(&out, c->subs, c->nops,
                         (const gd_tensor *const *)ops, &err) == GD_OK;
  if (ok && c->batch > 0) {
    size_t ws[3] = {(size_t)c->batch, (size_t)c->m, (size_t)c->n};
    ok = gd_tensor_new(&w, 3, ws, &err) == GD_OK;
  }
  if (ok) {
    j.c = c;
    for (k = 0; k < c->nops; k++) j.ops[k] = ops[k];
    j.out = out;
    if (c->batch > 0) {
      j.a = gd_tensor_data(ops[0]);
      j.b = gd_tensor_data(ops[1]);
      j.w = gd_tensor_data(w);
    }
    per_call(run_einsum, c->batch > 0 ? run_dgemm : NULL, &j, &te, &td);
    printf("%-28s %12.1f", c->name, te * 1e6);
    if (c->batch > 0) {
      printf(" %12.1f %8.3f %10.2f", td * 1e6, te / td, (te - td) * 1e6);
    }
    printf("\n");
  } else {
    fprintf(stderr, "einsum_bench: %s: %s\n", c->name, err.msg);
  }
  for (k = 0; k < c->nops; k++) gd_tensor_free(ops[k]);
  gd_tensor_free(out);
  gd_tensor_free(w);
  return ok;
}


int main(void) {
  gd_rng rng;
  size_t i;
  int ok = 1;
  openblas_set_num_threads(1);
  gd_rng_seed(&rng, 42);
  printf("einsum per call, one BLAS thread, cached plans (microseconds)\n");
  printf("%-28s %12s %12s %8s %10s\n", "case", "einsum", "dgemm",
         "ratio", "extra");
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ok &= bench_case(&cases[i], &rng);
  gd_einsum_cache_clear();
  return ok ? 0 : 1;
}
