/*
** einsum.c: plans for einsum calls, their cache, and the kernels that run
** them: strided loops for sums, copies and products that sum nothing, and
** cblas_ddot, cblas_dgemv and cblas_dgemm (in a loop over batch labels)
** for pairwise contractions that sum an index.
**
** A plan is a list of steps over slots: the operands, the output and
** temporaries in one work buffer that the plan keeps. Operand strides are
** part of the cache key, so every layout decision (which operand must be
** packed, which GEMM transposes) is made once, at planning.
**
** A gd_einsum_plan wraps one plan with the layouts it was made for, so
** that a caller holding it runs the steps without the cache look-up.
**
** Limits: BLAS calls take int sizes; a contraction beyond INT_MAX in one
** dimension runs as plain loops. The cache holds CACHE_SIZE plans.
*/
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "einsum_int.h"
#include "vector.h"

#define MAXL EI_MAXL
#define MAXSLOTS (6 * EI_MAXOPS + 4)
#define CACHE_SIZE 32
#define KEY_MAX 16384
/* Batched GEMMs smaller than this many multiply-adds run as loops. */
#define SMALL_GEMM 512

enum { ST_LOOP, ST_DOT, ST_GEMV, ST_GEMM };

/* A nested loop: o[...] = sum over the ns summed dims of a[...] * b[...]
** (or a[...] alone when nin is 1, zero when nin is 0). Dims 0..no-1 are
** output dims, outer first; the summed dims follow, innermost last. */
typedef struct loopspec {
  int no, ns, nin;
  size_t n[MAXL];
  ptrdiff_t s[3][MAXL];          /* strides of a, b and o */
} loopspec;

/* One BLAS call per element of the batch dims. */
typedef struct blasspec {
  int nb;
  size_t bn[MAXL];
  ptrdiff_t bs[3][MAXL];
  int ta, tb, m, n, k, lda, ldb, ldc;
} blasspec;

typedef struct step {
  int kind;
  int in[2], out;                /* slots, -1 when unused */
  union {
    loopspec lp;
    blasspec bl;
  } u;
} step;

/* A planned call. Slot k < nops is operand k, slot nops the output, the
** rest temporaries at off[] in work. */
typedef struct plan {
  int nops, nsteps, cap, nslots;
  step *steps;
  size_t off[MAXSLOTS];
  double *work;
  size_t nwork;
  int outn;
  size_t outshape[GD_MAX_DIMS];
} plan;

/* What planning needs besides the plan. */
typedef struct builder {
  plan *p;
  const ei_parsed *ps;
  ei_term out;                   /* the output as a term */
  gd_error *err;
} builder;


/* ---- loops ----------------------------------------------------------- */

/* Step the index idx over dims lo..hi-1 (last fastest), moving the three
** offsets along; 0 once every index has wrapped. */
static int odo_next(const size_t *n, const ptrdiff_t (*s)[MAXL], int lo,
                    int hi, size_t *idx, ptrdiff_t *off) {
  int d, j;
  for (d = hi - 1; d >= lo; d--) {
    for (j = 0; j < 3; j++) off[j] += s[j][d];
    if (++idx[d] < n[d]) return 1;
    for (j = 0; j < 3; j++) off[j] -= s[j][d] * (ptrdiff_t)n[d];
    idx[d] = 0;
  }
  return 0;
}


GD_LOOPS_BEGIN


/* Sums of n contiguous values, or of n contiguous products, in eight
** interleaved partial sums added pairwise at the end: eight independent
** additions in flight instead of one chain, in a fixed order, so the
** result does not depend on the machine. */
#define LANES 8

GD_CLONES
static double flat_sum(const double *a, size_t n) {
  double acc[LANES] = {0};
  size_t k, j, n8 = n - n % LANES;
  for (k = 0; k < n8; k += LANES)
    for (j = 0; j < LANES; j++) acc[j] += a[k + j];
  for (j = 0; k < n; k++, j++) acc[j] += a[k];
  for (j = LANES / 2; j > 0; j /= 2)
    for (k = 0; k < j; k++) acc[k] += acc[k + j];
  return acc[0];
}


GD_CLONES
static double flat_dot(const double *a, const double *b, size_t n) {
  double acc[LANES] = {0};
  size_t k, j, n8 = n - n % LANES;
  for (k = 0; k < n8; k += LANES)
    for (j = 0; j < LANES; j++) acc[j] += a[k + j] * b[k + j];
  for (j = 0; k < n; k++, j++) acc[j] += a[k] * b[k];
  for (j = LANES / 2; j > 0; j /= 2)
    for (k = 0; k < j; k++) acc[k] += acc[k + j];
  return acc[0];
}


/* A contiguous row of products where one operand is contiguous too and
** the other contiguous or constant along it: flat loops. 0 when the
** strides are anything else. */
GD_CLONES
static int flat_row(double *po, const double *pa, ptrdiff_t sa,
                    const double *pb, ptrdiff_t sb, size_t n) {
  size_t k;
  if (sa == 0 && sb == 1) return flat_row(po, pb, sb, pa, sa, n);
  if (sa != 1) return 0;
  if (sb == 1) {
    for (k = 0; k < n; k++) po[k] = pa[k] * pb[k];
  } else if (sb == 0) {
    double c = *pb;
    for (k = 0; k < n; k++) po[k] = pa[k] * c;
  } else {
    return 0;
  }
  return 1;
}


GD_LOOPS_END


/* Sum over the summed dims of l, starting at offsets a0 and b0. */
static double inner_sum(const loopspec *l, const double *a,
                        const double *b, ptrdiff_t a0, ptrdiff_t b0) {
  size_t idx[MAXL], k, n;
  ptrdiff_t off[3], sa, sb;
  int last = l->no + l->ns - 1, d;
  double acc = 0;
  n = l->n[last];
  sa = l->s[0][last];
  sb = l->s[1][last];
  off[0] = a0;
  off[1] = b0;
  off[2] = 0;
  for (d = l->no; d < last; d++) idx[d] = 0;
  do {
    const double *pa = a + off[0];
    if (l->nin == 2) {
      const double *pb = b + off[1];
      if (sa == 1 && sb == 1)
        acc += flat_dot(pa, pb, n);
      else
        for (k = 0; k < n; k++) acc += pa[k * sa] * pb[k * sb];
    } else if (sa == 1) {
      acc += flat_sum(pa, n);
    } else {
      for (k = 0; k < n; k++) acc += pa[k * sa];
    }
  } while (odo_next(l->n, l->s, l->no, last, idx, off));
  return acc;
}


/* The innermost output dim when nothing is summed. */
static void inner_row(const loopspec *l, const double *a, const double *b,
                      double *o, const ptrdiff_t *off) {
  int d = l->no - 1;
  size_t k, n = l->n[d];
  ptrdiff_t sa = l->s[0][d], sb = l->s[1][d], so = l->s[2][d];
  double *po = o + off[2];
  if (l->nin == 2 && so == 1 &&
      flat_row(po, a + off[0], sa, b + off[1], sb, n))
    return;
  if (l->nin == 0) {
    for (k = 0; k < n; k++) po[k * so] = 0;
  } else if (l->nin == 1) {
    const double *pa = a + off[0];
    for (k = 0; k < n; k++) po[k * so] = pa[k * sa];
  } else {
    const double *pa = a + off[0], *pb = b + off[1];
    for (k = 0; k < n; k++) po[k * so] = pa[k * sa] * pb[k * sb];
  }
}


/* Run a loop step: o[out dims] = sum over summed dims of a * b. */
static void run_loop(const loopspec *l, const double *a, const double *b,
                     double *o) {
  size_t idx[MAXL];
  ptrdiff_t off[3] = {0, 0, 0};
  int d, rows = l->ns == 0 && l->no > 0;
  int hi = rows ? l->no - 1 : l->no;
  for (d = 0; d < hi; d++) idx[d] = 0;
  do {
    if (rows)
      inner_row(l, a, b, o, off);
    else if (l->ns > 0)
      o[off[2]] = inner_sum(l, a, b, off[0], off[1]);
    else
      o[off[2]] = l->nin == 0 ? 0 : l->nin == 1 ? a[off[0]]
                  : a[off[0]] * b[off[1]];
  } while (odo_next(l->n, l->s, 0, hi, idx, off));
}


/* Run a BLAS step over its batch dims. */
static void run_blas(const step *st, const double *a, const double *b,
                     double *c) {
  const blasspec *q = &st->u.bl;
  size_t idx[MAXL];
  ptrdiff_t off[3] = {0, 0, 0};
  int d;
  for (d = 0; d < q->nb; d++) idx[d] = 0;
  do {
    const double *pa = a + off[0], *pb = b + off[1];
    double *pc = c + off[2];
    if (st->kind == ST_DOT)
      *pc = cblas_ddot(q->k, pa, q->lda, pb, q->ldb);
    else if (st->kind == ST_GEMV)
      cblas_dgemv(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans, q->m,
                  q->n, 1.0, pa, q->lda, pb, q->ldb, 0.0, pc, q->ldc);
    else
      cblas_dgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans,
                  q->tb ? CblasTrans : CblasNoTrans, q->m, q->n, q->k,
                  1.0, pa, q->lda, pb, q->ldb, 0.0, pc, q->ldc);
  } while (odo_next(q->bn, q->bs, 0, q->nb, idx, off));
}


/* Run every step of p for these operands into out. */
static void run_plan(const plan *p, const gd_tensor *const *ops,
                     gd_tensor *out) {
  double *ptr[MAXSLOTS];
  int k;
  for (k = 0; k < p->nslots; k++) ptr[k] = NULL;
  for (k = 0; k < p->nops; k++)
    if (ops[k]->storage && ops[k]->storage->data)
      ptr[k] = ops[k]->storage->data + ops[k]->offset;
  if (out->storage && out->storage->data)
    ptr[p->nops] = out->storage->data + out->offset;
  for (k = p->nops + 1; k < p->nslots; k++) ptr[k] = p->work + p->off[k];
  for (k = 0; k < p->nsteps; k++) {
    const step *st = &p->steps[k];
    const double *a = st->in[0] >= 0 ? ptr[st->in[0]] : NULL;
    const double *b = st->in[1] >= 0 ? ptr[st->in[1]] : NULL;
    if (st->kind == ST_LOOP)
      run_loop(&st->u.lp, a, b, ptr[st->out]);
    else
      run_blas(st, a, b, ptr[st->out]);
  }
}


/* ---- planning -------------------------------------------------------- */

static gd_status no_memory(builder *B, const char *what) {
  return gd_error_set(B->err, GD_ERR_NOMEM, 0,
                      "einsum: out of memory for %s", what);
}


/* A new step at the end of the plan, zeroed. */
static step *add_step(builder *B) {
  plan *p = B->p;
  step *st;
  if (p->nsteps == p->cap) {
    int cap = p->cap ? 2 * p->cap : 4;
    step *q = (step *)gd_realloc(p->steps, (size_t)p->cap * sizeof *q,
                                 (size_t)cap * sizeof *q);
    if (q == NULL) return NULL;
    p->steps = q;
    p->cap = cap;
  }
  st = &p->steps[p->nsteps++];
  memset(st, 0, sizeof *st);
  st->in[0] = st->in[1] = -1;
  return st;
}


/* Labels of mask m sorted by t's strides, largest first (ties by label),
** into lab; returns how many. */
static int order_by(unsigned char *lab, uint64_t m, const ei_term *t) {
  int n = 0, l, i, j;
  for (l = 0; l < MAXL; l++)
    if (m >> l & 1) lab[n++] = (unsigned char)l;
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && t->st[lab[j - 1]] < t->st[lab[j]]; j--) {
      unsigned char c = lab[j];
      lab[j] = lab[j - 1];
      lab[j - 1] = c;
    }
  return n;
}


/* Make t a new contiguous temporary laid out as the n labels lab. */
static gd_status new_temp(builder *B, ei_term *t, const unsigned char *lab,
                          int n) {
  plan *p = B->p;
  size_t size = 1, end;
  int i;
  if (p->nslots == MAXSLOTS) return no_memory(B, "its temporaries");
  t->mask = 0;
  t->n = n;
  for (i = n - 1; i >= 0; i--) {
    int l = lab[i];
    t->lab[i] = (unsigned char)l;
    t->mask |= (uint64_t)1 << l;
    t->st[l] = (ptrdiff_t)size;
    if (!gd_mul_size(size, B->ps->size[l], &size) || size > PTRDIFF_MAX)
      return gd_error_set(B->err, GD_ERR_NOMEM, 0, "einsum: an "
                          "intermediate of '%s' is too large", B->ps->subs);
  }
  if (!gd_add_size(p->nwork, size, &end))
    return gd_error_set(B->err, GD_ERR_NOMEM, 0, "einsum: the "
                        "intermediates of '%s' are too large", B->ps->subs);
  t->slot = p->nslots;
  p->off[p->nslots++] = p->nwork;
  p->nwork = end;
  return GD_OK;
}


/* A loop with nothing summed runs its innermost output dim as one row.
** When that dim is short and another is at least four times longer
** (e.g. 6 per sample against 100 samples), the longer one becomes the
** row: fewer rows pay the odometer, at the price of strided access. */
static void long_rows(loopspec *l) {
  int last = l->no - 1, best = last, d, j;
  if (l->no < 2 || l->n[last] >= 8) return;
  for (d = 0; d < last; d++)
    if (l->n[d] > l->n[best]) best = d;
  if (best == last || l->n[best] < 4 * l->n[last]) return;
  for (j = 0; j < 3; j++) {
    ptrdiff_t t = l->s[j][best];
    l->s[j][best] = l->s[j][last];
    l->s[j][last] = t;
  }
  {
    size_t t = l->n[best];
    l->n[best] = l->n[last];
    l->n[last] = t;
  }
}


/* Add a loop step o[keep] = sum over the rest of a[...] * b[...] (b may
** be NULL); output dims run in o's stride order (but see long_rows),
** summed dims in a's. */
static gd_status add_loop(builder *B, const ei_term *a, const ei_term *b,
                          const ei_term *o, uint64_t keep) {
  unsigned char lab[MAXL];
  uint64_t all = a->mask | (b ? b->mask : 0);
  int n, i, j;
  step *st = add_step(B);
  loopspec *l;
  if (st == NULL) return no_memory(B, "its steps");
  l = &st->u.lp;
  st->kind = ST_LOOP;
  st->in[0] = a->slot;
  st->in[1] = b ? b->slot : -1;
  st->out = o->slot;
  l->nin = b ? 2 : 1;
  l->no = order_by(lab, all & keep, o);
  l->ns = order_by(lab + l->no, all & ~keep, a);
  n = l->no + l->ns;
  for (i = 0; i < n; i++) {
    int lb = lab[i];
    uint64_t bit = (uint64_t)1 << lb;
    l->n[i] = B->ps->size[lb];
    l->s[0][i] = a->mask & bit ? a->st[lb] : 0;
    l->s[1][i] = b && (b->mask & bit) ? b->st[lb] : 0;
    l->s[2][i] = i < l->no ? o->st[lb] : 0;
  }
  for (j = n; j < MAXL; j++) l->n[j] = 1;
  if (l->ns == 0) long_rows(l);
  return GD_OK;
}


/* A group of labels read as one matrix dimension of a term: n labels in
** lab, count elements; see group_stride. */
typedef struct group {
  int n;
  unsigned char lab[MAXL];
  size_t count;
} group;


static void group_make(builder *B, group *g, uint64_t m,
                       const ei_term *by) {
  int i;
  g->n = order_by(g->lab, m, by);
  g->count = 1;
  for (i = 0; i < g->n; i++) g->count *= B->ps->size[g->lab[i]];
}


/* The one stride that walks group g in term t, -1 for an empty group
** (any stride will do), or -2 when t's strides do not nest that way. */
static ptrdiff_t group_stride(builder *B, const group *g,
                              const ei_term *t) {
  int i;
  if (g->n == 0) return -1;
  for (i = 0; i + 1 < g->n; i++) {
    int l = g->lab[i], r = g->lab[i + 1];
    if (t->st[l] != t->st[r] * (ptrdiff_t)B->ps->size[r]) return -2;
  }
  return t->st[g->lab[g->n - 1]] > 0 ? t->st[g->lab[g->n - 1]] : -2;
}


/* Can rows r (stride rs, count rn) by cols c be one row-major BLAS
** matrix? Sets *trans and *ld; 0 when not. */
static int mat_fit(ptrdiff_t rs, size_t rn, ptrdiff_t cs, size_t cn,
                   int *trans, int *ld) {
  ptrdiff_t need;
  if (rs == -2 || cs == -2) return 0;
  need = (ptrdiff_t)(cn > 1 ? cn : 1);
  if (cs == 1 || cs == -1) {
    ptrdiff_t l = rs == -1 ? need : rs;
    if (l >= need && l <= INT_MAX) {
      *trans = 0;
      *ld = (int)l;
      return 1;
    }
  }
  need = (ptrdiff_t)(rn > 1 ? rn : 1);
  if (rs == 1 || rs == -1) {
    ptrdiff_t l = cs == -1 ? need : cs;
    if (l >= need && l <= INT_MAX) {
      *trans = 1;
      *ld = (int)l;
      return 1;
    }
  }
  return 0;
}


/* Copy term *t into a new contiguous temporary laid out as the groups
** g0, g1, g2 in turn; *t becomes the copy. */
static gd_status pack(builder *B, ei_term *t, const group *g0,
                      const group *g1, const group *g2) {
  unsigned char lab[MAXL];
  ei_term c;
  int n = 0, i;
  gd_status st;
  for (i = 0; i < g0->n; i++) lab[n++] = g0->lab[i];
  for (i = 0; i < g1->n; i++) lab[n++] = g1->lab[i];
  for (i = 0; g2 && i < g2->n; i++) lab[n++] = g2->lab[i];
  st = new_temp(B, &c, lab, n);
  if (st == GD_OK) st = add_loop(B, t, NULL, &c, t->mask);
  if (st == GD_OK) *t = c;
  return st;
}


/* The groups of a pairwise contraction: batch labels in both operands
** and kept, m only in a, n only in b, k in both and summed. */
typedef struct pairing {
  group gb, gm, gn, gk;
  ei_term a, b, c;
} pairing;


/* Fill the batch dims of step st from the three terms. */
static void set_batch(builder *B, step *st, const pairing *q,
                      const ei_term *x, const ei_term *y) {
  blasspec *bl = &st->u.bl;
  int i;
  bl->nb = q->gb.n;
  for (i = 0; i < q->gb.n; i++) {
    int l = q->gb.lab[i];
    bl->bn[i] = B->ps->size[l];
    bl->bs[0][i] = x->st[l];
    bl->bs[1][i] = y->st[l];
    bl->bs[2][i] = q->c.st[l];
  }
  st->in[0] = x->slot;
  st->in[1] = y->slot;
  st->out = q->c.slot;
}


/* c = sum over k of a * b by cblas_ddot, packing an operand whose k
** labels do not nest into one stride. */
static gd_status plan_dot(builder *B, pairing *q) {
  step *st;
  ptrdiff_t sa = group_stride(B, &q->gk, &q->a);
  ptrdiff_t sb = group_stride(B, &q->gk, &q->b);
  gd_status s = GD_OK;
  if (sa < 0) s = pack(B, &q->a, &q->gb, &q->gk, NULL);
  if (s == GD_OK && sb < 0) s = pack(B, &q->b, &q->gb, &q->gk, NULL);
  if (s != GD_OK) return s;
  if ((st = add_step(B)) == NULL) return no_memory(B, "its steps");
  st->kind = ST_DOT;
  st->u.bl.k = (int)q->gk.count;
  st->u.bl.lda = (int)(sa < 0 ? 1 : sa);
  st->u.bl.ldb = (int)(sb < 0 ? 1 : sb);
  set_batch(B, st, q, &q->a, &q->b);
  return GD_OK;
}


/* y = X v where X is the operand with free labels (group gp) and v the
** other; y's stride over gp must be one number. */
static gd_status plan_gemv(builder *B, pairing *q) {
  int xa = q->gm.n > 0, trans, ld;
  ei_term *x = xa ? &q->a : &q->b, *v = xa ? &q->b : &q->a;
  const group *gp = xa ? &q->gm : &q->gn;
  ptrdiff_t ps = group_stride(B, gp, x), ks = group_stride(B, &q->gk, x);
  ptrdiff_t vs = group_stride(B, &q->gk, v), ys = group_stride(B, gp,
                                                                &q->c);
  gd_status s = GD_OK;
  step *st;
  if (!mat_fit(ps, gp->count, ks, q->gk.count, &trans, &ld)) {
    s = pack(B, x, &q->gb, gp, &q->gk);
    trans = 0;
    ld = (int)q->gk.count;
  }
  if (s == GD_OK && vs < 0) {
    s = pack(B, v, &q->gb, &q->gk, NULL);
    vs = 1;
  }
  if (s != GD_OK) return s;
  if ((st = add_step(B)) == NULL) return no_memory(B, "its steps");
  st->kind = ST_GEMV;
  st->u.bl.ta = trans;
  st->u.bl.m = (int)(trans ? q->gk.count : gp->count);
  st->u.bl.n = (int)(trans ? gp->count : q->gk.count);
  st->u.bl.lda = ld;
  st->u.bl.ldb = (int)vs;
  st->u.bl.ldc = (int)ys;
  set_batch(B, st, q, x, v);
  return GD_OK;
}


/* C = A B over rows m, inner k and cols n; a C that is stored transposed
** is computed as C' = B' A'. */
static gd_status plan_gemm(builder *B, pairing *q) {
  int ta, tb, tc, lda, ldb, ldc;
  ptrdiff_t am = group_stride(B, &q->gm, &q->a);
  ptrdiff_t ak = group_stride(B, &q->gk, &q->a);
  ptrdiff_t bk = group_stride(B, &q->gk, &q->b);
  ptrdiff_t bn = group_stride(B, &q->gn, &q->b);
  gd_status s = GD_OK;
  step *st;
  blasspec *bl;
  if (!mat_fit(am, q->gm.count, ak, q->gk.count, &ta, &lda)) {
    s = pack(B, &q->a, &q->gb, &q->gm, &q->gk);
    ta = 0;
    lda = (int)q->gk.count;
  }
  if (s == GD_OK && !mat_fit(bk, q->gk.count, bn, q->gn.count, &tb, &ldb)) {
    s = pack(B, &q->b, &q->gb, &q->gk, &q->gn);
    tb = 0;
    ldb = (int)q->gn.count;
  }
  if (s != GD_OK) return s;
  mat_fit(group_stride(B, &q->gm, &q->c), q->gm.count,
          group_stride(B, &q->gn, &q->c), q->gn.count, &tc, &ldc);
  if ((st = add_step(B)) == NULL) return no_memory(B, "its steps");
  st->kind = ST_GEMM;
  bl = &st->u.bl;
  bl->k = (int)q->gk.count;
  bl->ldc = ldc;
  if (!tc) {
    bl->ta = ta; bl->tb = tb; bl->lda = lda; bl->ldb = ldb;
    bl->m = (int)q->gm.count;
    bl->n = (int)q->gn.count;
    set_batch(B, st, q, &q->a, &q->b);
  } else {
    bl->ta = !tb; bl->tb = !ta; bl->lda = ldb; bl->ldb = lda;
    bl->m = (int)q->gn.count;
    bl->n = (int)q->gm.count;
    set_batch(B, st, q, &q->b, &q->a);
  }
  return GD_OK;
}


/* Whether the result term c can take what the chosen BLAS call writes:
** one stride per output group, and for GEMM a unit stride. */
static int dest_fits(builder *B, const pairing *q) {
  ptrdiff_t cm = group_stride(B, &q->gm, &q->c);
  ptrdiff_t cn = group_stride(B, &q->gn, &q->c);
  int t, ld;
  if (q->gm.n == 0 && q->gn.n == 0) return 1;
  if (q->gm.n == 0 || q->gn.n == 0)
    return (q->gm.n ? cm : cn) > 0 && (q->gm.n ? cm : cn) <= INT_MAX;
  return mat_fit(cm, q->gm.count, cn, q->gn.count, &t, &ld);
}


/* Whether the sizes suit BLAS at all: int sizes, and not so many tiny
** products that calls cost more than the arithmetic. */
static int blas_suits(builder *B, const pairing *q) {
  double batch = 1, work;
  int i;
  if (q->gm.count > INT_MAX || q->gn.count > INT_MAX
      || q->gk.count > INT_MAX)
    return 0;
  for (i = 0; i < q->gb.n; i++) batch *= (double)B->ps->size[q->gb.lab[i]];
  work = (double)q->gm.count * (double)q->gn.count * (double)q->gk.count;
  return batch == 1 || work >= SMALL_GEMM;
}


/* Plan res = contraction of a and b keeping the labels keep; to the
** output when final. */
static gd_status plan_pair(builder *B, const ei_term *a, const ei_term *b,
                           uint64_t keep, int final, ei_term *res) {
  pairing q;
  unsigned char lab[MAXL];
  uint64_t both = a->mask & b->mask;
  int n = 0, direct, i;
  gd_status s;

  q.a = *a;
  q.b = *b;
  group_make(B, &q.gk, both & ~keep, a);
  if (group_stride(B, &q.gk, a) < 0 && group_stride(B, &q.gk, b) >= 0)
    group_make(B, &q.gk, both & ~keep, b);
  group_make(B, &q.gb, both & keep, final ? &B->out : a);
  group_make(B, &q.gm, a->mask & ~b->mask, final ? &B->out : a);
  group_make(B, &q.gn, b->mask & ~a->mask, final ? &B->out : b);
  if (final) q.c = B->out;
  direct = final && dest_fits(B, &q);
  if (q.gk.n == 0 || !blas_suits(B, &q)) {
    if (!final) {
      for (i = 0; i < q.gb.n; i++) lab[n++] = q.gb.lab[i];
      for (i = 0; i < q.gm.n; i++) lab[n++] = q.gm.lab[i];
      for (i = 0; i < q.gn.n; i++) lab[n++] = q.gn.lab[i];
      s = new_temp(B, &q.c, lab, n);
      if (s != GD_OK) return s;
    }
    *res = q.c;
    return add_loop(B, a, b, &q.c, keep);
  }

  if (!direct) {
    for (i = 0; i < q.gb.n; i++) lab[n++] = q.gb.lab[i];
    for (i = 0; i < q.gm.n; i++) lab[n++] = q.gm.lab[i];
    for (i = 0; i < q.gn.n; i++) lab[n++] = q.gn.lab[i];
    s = new_temp(B, &q.c, lab, n);
    if (s != GD_OK) return s;
  }
  if (q.gm.n == 0 && q.gn.n == 0)
    s = plan_dot(B, &q);
  else if (q.gm.n == 0 || q.gn.n == 0)
    s = plan_gemv(B, &q);
  else
    s = plan_gemm(B, &q);
  if (s != GD_OK) return s;
  *res = q.c;
  if (final && !direct) {
    s = add_loop(B, &q.c, NULL, &B->out, q.c.mask);
    *res = B->out;
  }
  return s;
}


/* The output as a term: its labels of size above 1 with out's strides. */
static void out_term(builder *B, const size_t *shape,
                     const ptrdiff_t *strides) {
  const ei_parsed *ps = B->ps;
  ei_term *t = &B->out;
  int d;
  t->mask = 0;
  t->n = 0;
  t->slot = ps->nops;
  for (d = 0; d < ps->outn; d++) {
    int l = ps->outlab[d];
    if (shape[d] == 1) continue;
    t->mask |= (uint64_t)1 << l;
    t->lab[t->n++] = (unsigned char)l;
    t->st[l] = strides[d];
  }
}


/* Sum out of each term the labels no other term and not the output
** has, so that pairwise steps only meet shared labels. */
static gd_status prereduce(builder *B, ei_term *t, int n, uint64_t out) {
  unsigned char lab[MAXL];
  int i, j, nl;
  gd_status s;
  for (i = 0; i < n; i++) {
    uint64_t others = out;
    ei_term c;
    for (j = 0; j < n; j++)
      if (j != i) others |= t[j].mask;
    if ((t[i].mask & ~others) == 0) continue;
    nl = order_by(lab, t[i].mask & others, &t[i]);
    s = new_temp(B, &c, lab, nl);
    if (s == GD_OK) s = add_loop(B, &t[i], NULL, &c, others);
    if (s != GD_OK) return s;
    t[i] = c;
  }
  return GD_OK;
}


/* Plan the steps for operands ops into an output of the given strides:
** zeros when a label has size 0, one loop for a single operand, else
** pre-reduction and the pairwise order of ei_find_path. */
static gd_status plan_steps(builder *B, const gd_tensor *const *ops,
                            const ptrdiff_t *ostrides) {
  const ei_parsed *ps = B->ps;
  ei_term t[EI_MAXOPS];
  uint64_t m[EI_MAXOPS] = {0}, out;
  ei_path path;
  int n = ps->nops, k, s, w;
  gd_status st = GD_OK;

  out_term(B, B->p->outshape, ostrides);
  out = B->out.mask;
  for (k = 0; k < ps->nlab; k++)
    if (ps->size[k] == 0) {
      for (k = 0; k < ps->outn; k++)
        if (B->p->outshape[k] == 0) return GD_OK;
      st = add_loop(B, &B->out, NULL, &B->out, out);
      if (st == GD_OK) B->p->steps[0].u.lp.nin = 0;
      return st;
    }
  for (k = 0; k < n; k++) {
    ei_input_term(&t[k], ps, k, ops[k]);
    m[k] = t[k].mask;
  }
  if (n == 1) return add_loop(B, &t[0], NULL, &B->out, out);
  ei_find_path(&path, m, n, out, ps->size);
  st = prereduce(B, t, n, out);

  for (s = 0; s < path.nsteps && st == GD_OK; s++) {
    int i = path.pairs[s][0], j = path.pairs[s][1];
    uint64_t keep = out;
    ei_term r, a = t[i], b = t[j];
    for (k = 0; k < n; k++)
      if (k != i && k != j) keep |= t[k].mask;
    st = plan_pair(B, &a, &b, keep, s == path.nsteps - 1, &r);
    for (k = 0, w = 0; k < n; k++)
      if (k != i && k != j) t[w++] = t[k];
    t[w] = r;
    n--;
  }
  return st;
}


static void plan_free(plan *p) {
  if (p == NULL) return;
  gd_free(p->steps, (size_t)p->cap * sizeof *p->steps);
  gd_free(p->work, p->nwork * sizeof *p->work);
  gd_free(p, sizeof *p);
}


/* A new plan for the call, writing into an output of strides ostrides
** (row-major when NULL). */
static gd_status plan_new(plan **out, const char *subs, int nops,
                          const gd_tensor *const *ops,
                          const ptrdiff_t *ostrides, gd_error *err) {
  ei_parsed ps;
  builder B;
  ptrdiff_t rm[GD_MAX_DIMS];
  plan *p;
  size_t bytes;
  int d;
  gd_status st = ei_parse(&ps, subs, nops, ops, err);
  if (st != GD_OK) return st;
  p = (plan *)gd_malloc(sizeof *p);
  if (p == NULL)
    return gd_error_set(err, GD_ERR_NOMEM, 0, "einsum: out of memory "
                        "for a plan");
  memset(p, 0, sizeof *p);
  p->nops = nops;
  p->nslots = nops + 1;
  p->outn = ps.outn;
  for (d = 0; d < ps.outn; d++) p->outshape[d] = ps.size[ps.outlab[d]];
  if (ostrides == NULL) {
    gd_tensor_row_major(ps.outn, p->outshape, rm);
    ostrides = rm;
  }
  B.p = p;
  B.ps = &ps;
  B.err = err;
  st = plan_steps(&B, ops, ostrides);
  if (st == GD_OK && p->nwork > 0) {
    if (!gd_mul_size(p->nwork, sizeof *p->work, &bytes)
        || (p->work = (double *)gd_malloc(bytes)) == NULL)
      st = gd_error_set(err, GD_ERR_NOMEM, 0, "einsum: out of memory "
                        "for %zu intermediate values", p->nwork);
  }
  if (st != GD_OK) {
    if (p->work == NULL) p->nwork = 0;
    plan_free(p);
    return st;
  }
  *out = p;
  return GD_OK;
}


/* ---- the cache ------------------------------------------------------- */

typedef struct entry {
  unsigned char *key;
  size_t keylen;
  uint64_t hash;
  unsigned long used;
  plan *p;
} entry;

static entry cache[CACHE_SIZE];
static unsigned long tick;
static size_t nhits, nmisses;


/* Serialise the call into buf: subscripts, each operand's shape and
** strides, and the output layout (nothing for row-major). Returns the
** length, or 0 when it does not fit. */
static size_t make_key(unsigned char *buf, const char *subs, int nops,
                       const gd_tensor *const *ops, const gd_tensor *out) {
  size_t len = strlen(subs) + 1, n = len, w;
  size_t per = 1 + GD_MAX_DIMS * (sizeof(size_t) + sizeof(ptrdiff_t));
  int k;
  if (len + 1 + (size_t)(nops + 1) * per > KEY_MAX) return 0;
  memcpy(buf, subs, len);
  buf[n++] = (unsigned char)nops;
  for (k = 0; k <= nops; k++) {
    const gd_tensor *t = k < nops ? ops[k] : out;
    if (t == NULL) break;
    w = (size_t)t->ndim;
    buf[n++] = (unsigned char)w;
    memcpy(buf + n, t->shape, w * sizeof *t->shape);
    n += w * sizeof *t->shape;
    memcpy(buf + n, t->strides, w * sizeof *t->strides);
    n += w * sizeof *t->strides;
  }
  return n;
}


static uint64_t fnv1a(const unsigned char *b, size_t n) {
  uint64_t h = 1469598103934665603u;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
  return h;
}


/* The cached plan for key, or NULL. */
static plan *lookup(const unsigned char *key, size_t len, uint64_t h) {
  int i;
  for (i = 0; i < CACHE_SIZE; i++) {
    entry *e = &cache[i];
    if (e->p && e->hash == h && e->keylen == len
        && memcmp(e->key, key, len) == 0) {
      e->used = ++tick;
      return e->p;
    }
  }
  return NULL;
}


/* Keep p under key, evicting the least recently used plan; 0 when the
** key cannot be copied (the caller then owns p). */
static int insert(const unsigned char *key, size_t len, uint64_t h,
                  plan *p) {
  entry *e = &cache[0];
  unsigned char *k;
  int i;
  for (i = 1; i < CACHE_SIZE && e->p; i++)
    if (cache[i].p == NULL || cache[i].used < e->used) e = &cache[i];
  k = (unsigned char *)gd_malloc(len);
  if (k == NULL) return 0;
  memcpy(k, key, len);
  if (e->p) {
    plan_free(e->p);
    gd_free(e->key, e->keylen);
  }
  e->key = k;
  e->keylen = len;
  e->hash = h;
  e->used = ++tick;
  e->p = p;
  return 1;
}


void gd_einsum_cache_clear(void) {
  int i;
  for (i = 0; i < CACHE_SIZE; i++) {
    plan_free(cache[i].p);
    gd_free(cache[i].key, cache[i].keylen);
    memset(&cache[i], 0, sizeof cache[i]);
  }
}


void gd_einsum_cache_stats(size_t *hits, size_t *misses) {
  if (hits) *hits = nhits;
  if (misses) *misses = nmisses;
}


/* ---- the public calls ------------------------------------------------ */

static int is_row_major(const gd_tensor *t) {
  ptrdiff_t st[GD_MAX_DIMS];
  int d;
  gd_tensor_row_major(t->ndim, t->shape, st);
  for (d = 0; d < t->ndim; d++)
    if (t->shape[d] > 1 && t->strides[d] != st[d]) return 0;
  return 1;
}


static gd_status check_args(const char *subs, int nops,
                            const gd_tensor *const *ops, gd_error *err) {
  int k;
  if (subs == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "einsum: no subscripts");
  if (nops < 1 || nops > EI_MAXOPS || ops == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "einsum: takes 1 to %d "
                        "operands, got %d", EI_MAXOPS, nops);
  for (k = 0; k < nops; k++)
    if (ops[k] == NULL)
      return gd_error_set(err, GD_ERR_ARG, k + 1, "einsum: operand %d "
                          "is missing", k + 1);
  return GD_OK;
}


/* The plan for a call, from the cache or made (and cached) now. *owned
** is set when the caller must free it (it could not be cached). out is
** NULL for a row-major output. */
static gd_status get_plan(plan **pp, int *owned, const char *subs,
                          int nops, const gd_tensor *const *ops,
                          const gd_tensor *out, gd_error *err) {
  unsigned char key[KEY_MAX];
  size_t len;
  uint64_t h = 0;
  gd_status st;
  *owned = 0;
  len = make_key(key, subs, nops, ops, out);
  if (len > 0) {
    h = fnv1a(key, len);
    if ((*pp = lookup(key, len, h)) != NULL) {
      nhits++;
      return GD_OK;
    }
  }
  nmisses++;
  st = plan_new(pp, subs, nops, ops, out ? out->strides : NULL, err);
  if (st != GD_OK) return st;
  if (len == 0 || !insert(key, len, h, *pp)) *owned = 1;
  return GD_OK;
}


gd_status gd_einsum_into(gd_tensor *out, const char *subscripts, int nops,
                         const gd_tensor *const *ops, gd_error *err) {
  char b1[GD_SHAPESTR_SIZE], b2[GD_SHAPESTR_SIZE];
  plan *p;
  int owned, d, same;
  gd_status st = check_args(subscripts, nops, ops, err);
  if (st != GD_OK) return st;
  if (out == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "einsum: no output tensor");
  for (d = 0; d < out->ndim; d++)
    if (out->shape[d] > 1 && out->strides[d] == 0)
      return gd_error_set(err, GD_ERR_READONLY, 0, "einsum: the output "
                          "(%s) is a broadcast view",
                          gd_shape_str(b1, sizeof b1, out->ndim,
                                       out->shape));
  st = get_plan(&p, &owned, subscripts, nops, ops,
                is_row_major(out) ? NULL : out, err);
  if (st != GD_OK) return st;
  same = p->outn == out->ndim;
  for (d = 0; same && d < out->ndim; d++)
    same = p->outshape[d] == out->shape[d];
  if (!same)
    st = gd_error_set(err, GD_ERR_SHAPE, 0, "einsum: the output is %s "
                      "but '%s' gives %s",
                      gd_shape_str(b1, sizeof b1, out->ndim, out->shape),
                      subscripts,
                      gd_shape_str(b2, sizeof b2, p->outn, p->outshape));
  else
    run_plan(p, ops, out);
  if (owned) plan_free(p);
  return st;
}


gd_status gd_einsum(gd_tensor **out, const char *subscripts, int nops,
                    const gd_tensor *const *ops, gd_error *err) {
  gd_tensor *t;
  plan *p;
  int owned;
  gd_status st = check_args(subscripts, nops, ops, err);
  if (st != GD_OK) return st;
  st = get_plan(&p, &owned, subscripts, nops, ops, NULL, err);
  if (st != GD_OK) return st;
  st = gd_tensor_new(&t, p->outn, p->outshape, err);
  if (st == GD_OK) {
    run_plan(p, ops, t);
    *out = t;
  }
  if (owned) plan_free(p);
  return st;
}


/* ---- compiled calls -------------------------------------------------- */

/* The shape and strides a compiled call was planned for. */
typedef struct layout {
  int ndim;
  size_t shape[GD_MAX_DIMS];
  ptrdiff_t strides[GD_MAX_DIMS];
} layout;

struct gd_einsum_plan {
  plan *p;
  int nops;
  layout lay[EI_MAXOPS + 1];   /* the operands, then the output */
};


static void layout_of(layout *l, const gd_tensor *t) {
  int d;
  l->ndim = t->ndim;
  for (d = 0; d < t->ndim; d++) {
    l->shape[d] = t->shape[d];
    l->strides[d] = t->shape[d] > 1 ? t->strides[d] : 0;
  }
}


/* 1 when t has layout l; strides of dimensions of size 1 do not count,
** since the plan never steps along them. */
static int layout_is(const layout *l, const gd_tensor *t) {
  int d;
  if (t->ndim != l->ndim) return 0;
  for (d = 0; d < t->ndim; d++)
    if (t->shape[d] != l->shape[d] ||
        (t->shape[d] > 1 && t->strides[d] != l->strides[d]))
      return 0;
  return 1;
}


/*
** Check the call as gd_einsum_into does, plan it for dst's layout and
** keep every layout. The plan is made here, not taken from the cache,
** so it belongs to the caller alone.
*/
gd_status gd_einsum_plan_new(gd_einsum_plan **out, const char *subscripts,
                             int nops, const gd_tensor *const *ops,
                             const gd_tensor *dst, gd_error *err) {
  char b1[GD_SHAPESTR_SIZE], b2[GD_SHAPESTR_SIZE];
  gd_einsum_plan *ep;
  plan *p;
  int d, k, same;
  gd_status st = check_args(subscripts, nops, ops, err);

  if (st != GD_OK) return st;
  if (dst == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "einsum: no output tensor");
  for (d = 0; d < dst->ndim; d++)
    if (dst->shape[d] > 1 && dst->strides[d] == 0)
      return gd_error_set(err, GD_ERR_READONLY, 0, "einsum: the output "
                          "(%s) is a broadcast view",
                          gd_shape_str(b1, sizeof b1, dst->ndim,
                                       dst->shape));
  st = plan_new(&p, subscripts, nops, ops,
                is_row_major(dst) ? NULL : dst->strides, err);
  if (st != GD_OK) return st;
  same = p->outn == dst->ndim;
  for (d = 0; same && d < dst->ndim; d++)
    same = p->outshape[d] == dst->shape[d];
  if (!same) {
    st = gd_error_set(err, GD_ERR_SHAPE, 0, "einsum: the output is %s "
                      "but '%s' gives %s",
                      gd_shape_str(b1, sizeof b1, dst->ndim, dst->shape),
                      subscripts,
                      gd_shape_str(b2, sizeof b2, p->outn, p->outshape));
    plan_free(p);
    return st;
  }

  if ((ep = (gd_einsum_plan *)gd_malloc(sizeof *ep)) == NULL) {
    plan_free(p);
    return gd_error_set(err, GD_ERR_NOMEM, 0, "einsum: out of memory "
                        "for a plan");
  }
  ep->p = p;
  ep->nops = nops;
  for (k = 0; k < nops; k++) layout_of(&ep->lay[k], ops[k]);
  layout_of(&ep->lay[nops], dst);
  *out = ep;
  return GD_OK;
}


/* Run the steps after checking that every tensor has its planned
** layout; a mismatch writes nothing. */
gd_status gd_einsum_plan_run(gd_einsum_plan *p, gd_tensor *dst,
                             const gd_tensor *const *ops, gd_error *err) {
  char b1[GD_SHAPESTR_SIZE];
  int k;
  if (dst == NULL || !layout_is(&p->lay[p->nops], dst))
    return gd_error_set(err, GD_ERR_LAYOUT, 0, "einsum: the output (%s) "
                        "is not laid out as planned",
                        dst ? gd_shape_str(b1, sizeof b1, dst->ndim,
                                           dst->shape) : "none");
  for (k = 0; k < p->nops; k++)
    if (ops[k] == NULL || !layout_is(&p->lay[k], ops[k]))
      return gd_error_set(err, GD_ERR_LAYOUT, k + 1, "einsum: operand %d "
                          "is not laid out as planned", k + 1);
  run_plan(p->p, ops, dst);
  return GD_OK;
}


void gd_einsum_plan_free(gd_einsum_plan *p) {
  if (p == NULL) return;
  plan_free(p->p);
  gd_free(p, sizeof *p);
}
