/*
** jacobian.c: generalised Jacobians and their composition by einsum.
**
** Limits: a composition or bilinear contraction whose operands cannot
** keep their diagonal structure materialises them densely first; the
** einsum subscripts use the 52 ASCII letters, which is enough for
** GD_MAX_DIMS dimensions on each side.
*/
#include <stdio.h>
#include <string.h>

#include "einsum.h"
#include "jacobian.h"

#define MAX_BLOCKS 4
#define SUBS_SIZE 160


const char *gd_jacobian_kind_name(gd_jacobian_kind kind) {
  return kind == GD_JAC_DIAG ? "diagonal" : "dense";
}


int gd_jacobian_ndim(const gd_jacobian *j) {
  return j->nnum + j->nden;
}


static int same_shape(int na, const size_t *a, int nb, const size_t *b) {
  int i;
  if (na != nb) return 0;
  for (i = 0; i < na; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}


/* Product of a shape, or 0 with *ok cleared when it overflows. */
static size_t shape_numel(int n, const size_t *shape, int *ok) {
  size_t total = 1;
  int i;
  for (i = 0; i < n; i++)
    if (!gd_mul_size(total, shape[i], &total)) {
      *ok = 0;
      return 0;
    }
  return total;
}


static gd_jacobian *alloc_jac(gd_error *err) {
  gd_jacobian *j = gd_malloc(sizeof *j);
  if (j == NULL) {
    gd_error_set(err, GD_ERR_NOMEM, 0, "jacobian: out of memory");
    return NULL;
  }
  memset(j, 0, sizeof *j);
  return j;
}


void gd_jacobian_free(gd_jacobian *j) {
  if (j == NULL) return;
  gd_tensor_free(j->t);
  gd_free(j, sizeof *j);
}


/* Check the two shapes against the dimension limit. */
static gd_status check_dims(const char *op, int nnum, int nden,
                            gd_error *err) {
  if (nnum < 0 || nden < 0 || nnum + nden > GD_MAX_DIMS)
    return gd_error_set(err, GD_ERR_SHAPE, 0,
                        "%s: %d numerator and %d denominator dimensions "
                        "exceed the limit of %d", op, nnum, nden,
                        GD_MAX_DIMS);
  return GD_OK;
}


/* A new dense Jacobian header over tensor t (taken over, not copied). */
static gd_jacobian *wrap_dense(gd_tensor *t, int nnum, const size_t *num,
                               int nden, const size_t *den,
                               gd_error *err) {
  gd_jacobian *j = alloc_jac(err);
  if (j == NULL) {
    gd_tensor_free(t);
    return NULL;
  }
  j->kind = GD_JAC_DENSE;
  j->t = t;
  j->nnum = nnum;
  j->nden = nden;
  if (nnum) memcpy(j->num, num, (size_t)nnum * sizeof *num);
  if (nden) memcpy(j->den, den, (size_t)nden * sizeof *den);
  return j;
}


/*
** A dense Jacobian over t's values, reshaped to num ++ den. The element
** counts must agree; the result holds a view (or a copy when t's strides
** cannot express the reshape). t is left unchanged.
*/
gd_status gd_jacobian_new(gd_jacobian **out, const gd_tensor *t,
                          int nnum, const size_t *num, int nden,
                          const size_t *den, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  size_t shape[GD_MAX_DIMS], n;
  char sn[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE], st[GD_SHAPESTR_SIZE];
  gd_tensor *v;
  gd_jacobian *j;
  int ok = 1;

  if (check_dims("TensorJacobian", nnum, nden, err)) return err->code;
  n = shape_numel(nnum, num, &ok);
  if (ok) ok = gd_mul_size(n, shape_numel(nden, den, &ok), &n);
  if (!ok || n != gd_tensor_numel(t))
    return gd_error_set(err, GD_ERR_SHAPE, 1,
                        "TensorJacobian: numerator %s and denominator %s "
                        "do not multiply out to tensor %s",
                        gd_shape_str(sn, sizeof sn, nnum, num),
                        gd_shape_str(sd, sizeof sd, nden, den),
                        gd_tensor_shape_str(t, st, sizeof st));

  if (nnum) memcpy(shape, num, (size_t)nnum * sizeof *num);
  if (nden) memcpy(shape + nnum, den, (size_t)nden * sizeof *den);
  if (gd_tensor_reshape(&v, t, nnum + nden, shape, 1, err)) return err->code;
  j = wrap_dense(v, nnum, num, nden, den, err);
  if (j == NULL) return GD_ERR_NOMEM;
  *out = j;
  return GD_OK;
}


gd_status gd_jacobian_zeros(gd_jacobian **out, int nnum,
                            const size_t *num, int nden,
                            const size_t *den, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t;
  gd_jacobian *j;
  if (check_dims("TensorJacobian", nnum, nden, err)) return err->code;
  if (nnum) memcpy(shape, num, (size_t)nnum * sizeof *num);
  if (nden) memcpy(shape + nnum, den, (size_t)nden * sizeof *den);
  if (gd_tensor_new(&t, nnum + nden, shape, err)) return err->code;
  j = wrap_dense(t, nnum, num, nden, den, err);
  if (j == NULL) return GD_ERR_NOMEM;
  *out = j;
  return GD_OK;
}


/* Fill the shape fields of a diagonal header from its values' shape. */
static void diag_shapes(gd_jacobian *j, int k, const size_t *s) {
  int b;
  j->nnum = j->pnum * k;
  j->nden = j->pden * k;
  for (b = 0; b < j->pnum; b++)
    if (k) memcpy(j->num + b * k, s, (size_t)k * sizeof *s);
  for (b = 0; b < j->pden; b++)
    if (k) memcpy(j->den + b * k, s, (size_t)k * sizeof *s);
}


/*
** A diagonal Jacobian: pnum + pden blocks of d's shape S, the element
** at (s1, ..., sp) being d[s] when every block names s and zero
** otherwise. The result holds a view of d.
*/
gd_status gd_jacobian_diag(gd_jacobian **out, const gd_tensor *d,
                           int pnum, int pden, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *j;
  gd_tensor *v;
  if (pnum < 0 || pden < 0 || pnum + pden < 2 ||
      pnum + pden > MAX_BLOCKS)
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "diagonal jacobian: %d + %d blocks (2 to %d "
                        "expected)", pnum, pden, MAX_BLOCKS);
  if (check_dims("diagonal jacobian", pnum * d->ndim, pden * d->ndim,
                 err))
    return err->code;
  if (gd_tensor_view(&v, d, err)) return err->code;
  j = alloc_jac(err);
  if (j == NULL) {
    gd_tensor_free(v);
    return GD_ERR_NOMEM;
  }
  j->kind = GD_JAC_DIAG;
  j->t = v;
  j->pnum = pnum;
  j->pden = pden;
  diag_shapes(j, d->ndim, d->shape);
  *out = j;
  return GD_OK;
}


/*
** The dense form. A dense Jacobian gives a view of its values; a
** diagonal one a new zero tensor of shape num ++ den with d[s] written
** where all blocks name s: at flat index s * (1 + N + ... + N^(p-1))
** with N the number of elements of S and p the number of blocks.
*/
gd_status gd_jacobian_dense(gd_tensor **out, const gd_jacobian *j,
                            gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  size_t shape[GD_MAX_DIMS], n, step = 0, pw = 1, s;
  gd_tensor *r, *c;
  double *dst, *src;
  int b, p;

  if (j->kind == GD_JAC_DENSE) return gd_tensor_view(out, j->t, err);
  if (j->nnum) memcpy(shape, j->num, (size_t)j->nnum * sizeof *shape);
  if (j->nden)
    memcpy(shape + j->nnum, j->den, (size_t)j->nden * sizeof *shape);
  if (gd_tensor_new(&r, j->nnum + j->nden, shape, err)) return err->code;
  if (gd_tensor_contiguous(&c, j->t, err)) {
    gd_tensor_free(r);
    return err->code;
  }

  n = gd_tensor_numel(c);
  p = j->pnum + j->pden;
  for (b = 0; b < p; b++) {
    step += pw;
    pw *= n;
  }
  dst = gd_tensor_data(r);
  src = gd_tensor_data(c);
  for (s = 0; s < n; s++) dst[s * step] = src[s];
  gd_tensor_free(c);
  *out = r;
  return GD_OK;
}


/* A dense copy of j's header over its materialised values. */
static gd_jacobian *densify(const gd_jacobian *j, gd_error *err) {
  gd_tensor *t;
  if (gd_jacobian_dense(&t, j, err)) return NULL;
  return wrap_dense(t, j->nnum, j->num, j->nden, j->den, err);
}


gd_status gd_jacobian_regroup(gd_jacobian **out, const gd_jacobian *j,
                              int nnum, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  int ndim = j->nnum + j->nden, k = j->t->ndim;
  size_t shape[GD_MAX_DIMS];
  gd_jacobian *r;
  gd_tensor *v;

  if (nnum < 0 || nnum > ndim)
    return gd_error_set(err, GD_ERR_RANGE, 0, "regroup: %d numerator "
                        "dimensions out of 0..%d", nnum, ndim);
  if (j->kind == GD_JAC_DIAG && k > 0 && nnum % k != 0)
    return gd_error_set(err, GD_ERR_SHAPE, 0, "regroup: %d numerator "
                        "dimensions split a diagonal block of %d", nnum,
                        k);
  if (j->nnum) memcpy(shape, j->num, (size_t)j->nnum * sizeof *shape);
  if (j->nden)
    memcpy(shape + j->nnum, j->den, (size_t)j->nden * sizeof *shape);
  if (gd_tensor_view(&v, j->t, err)) return err->code;
  r = wrap_dense(v, nnum, shape, ndim - nnum, shape + nnum, err);
  if (r == NULL) return GD_ERR_NOMEM;
  if (j->kind == GD_JAC_DIAG) {
    r->kind = GD_JAC_DIAG;
    r->pnum = k ? nnum / k : j->pnum;
    r->pden = j->pnum + j->pden - r->pnum;
  }
  *out = r;
  return GD_OK;
}


/* Write n subscript letters starting at letter index first. */
static char *letters(char *p, int first, int n) {
  static const char abc[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  int i;
  for (i = 0; i < n; i++) *p++ = abc[first + i];
  *p = '\0';
  return p;
}


/* Write the diagonal letters (from first, k of them) count times. */
static char *repeat(char *p, int first, int k, int count) {
  int i;
  for (i = 0; i < count; i++) p = letters(p, first, k);
  return p;
}


static gd_status mismatch(const char *op, const gd_jacobian *a,
                          const gd_jacobian *b, gd_error *err) {
  char sa[GD_SHAPESTR_SIZE], sb[GD_SHAPESTR_SIZE];
  return gd_error_set(err, GD_ERR_SHAPE, 2,
                      "%s: denominator %s does not match numerator %s",
                      op, gd_shape_str(sa, sizeof sa, a->nden, a->den),
                      gd_shape_str(sb, sizeof sb, b->nnum, b->num));
}


/* How a composition is done: which einsum, and whether the result is
** diagonal (with its block counts). */
typedef struct plan {
  char subs[SUBS_SIZE];
  int diag, pnum, pden;
} plan;


/* Fill pl for C = A * B when the structures allow it without
** materialising; 0 when one operand must be made dense first. */
static int plan_compose(plan *pl, const gd_jacobian *a,
                        const gd_jacobian *b) {
  char *p = pl->subs;
  int k;
  pl->diag = 0;
  if (a->kind == GD_JAC_DENSE && b->kind == GD_JAC_DENSE) {
    p = letters(p, 0, a->nnum + a->nden);
    *p++ = ',';
    p = letters(p, a->nnum, b->nnum + b->nden);
    memcpy(p, "->", 3);
    p = letters(p + 2, 0, a->nnum);
    letters(p, a->nnum + a->nden, b->nden);
    return 1;
  }
  if (a->kind == GD_JAC_DIAG && b->kind == GD_JAC_DIAG) {
    k = a->t->ndim;
    if (a->pden < 1 || b->pnum < 1 ||
        !gd_tensor_same_shape(a->t, b->t) || a->pnum + b->pden < 1)
      return 0;
    pl->diag = a->pnum + b->pden >= 2;
    pl->pnum = a->pnum;
    pl->pden = b->pden;
    p = letters(p, 0, k);
    *p++ = ',';
    p = letters(p, 0, k);
    memcpy(p, "->", 3);
    letters(p + 2, 0, k);
    return 1;
  }
  if (a->kind == GD_JAC_DIAG) {
    k = a->t->ndim;
    if (a->pnum > 1 || a->pden < 1) return 0;
    p = letters(p, 0, k);
    *p++ = ',';
    p = repeat(p, 0, k, a->pden);
    p = letters(p, k, b->nden);
    memcpy(p, "->", 3);
    p = repeat(p + 2, 0, k, a->pnum);
    letters(p, k, b->nden);
    return 1;
  }
  k = b->t->ndim;
  if (b->pden > 1 || b->pnum < 1) return 0;
  p = letters(p, k, a->nnum);
  p = repeat(p, 0, k, b->pnum);
  *p++ = ',';
  p = letters(p, 0, k);
  memcpy(p, "->", 3);
  p = letters(p + 2, k, a->nnum);
  repeat(p, 0, k, b->pden);
  return 1;
}


/* Run the planned einsum on a and b, into out's values when into is set
** or else into a new Jacobian *res. */
static gd_status run_compose(gd_jacobian **res, gd_jacobian *into,
                             const plan *pl, const gd_jacobian *a,
                             const gd_jacobian *b, gd_error *err) {
  const gd_tensor *ops[2];
  gd_tensor *t;
  gd_jacobian *j;
  ops[0] = a->t;
  ops[1] = b->t;
  if (into) return gd_einsum_into(into->t, pl->subs, 2, ops, err);
  if (gd_einsum(&t, pl->subs, 2, ops, err)) return err->code;
  if (pl->diag) {
    gd_status st = gd_jacobian_diag(&j, t, pl->pnum, pl->pden, err);
    gd_tensor_free(t);
    if (st) return st;
  } else {
    j = wrap_dense(t, a->nnum, a->num, b->nden, b->den, err);
    if (j == NULL) return GD_ERR_NOMEM;
  }
  *res = j;
  return GD_OK;
}


/* Composition with optional target: the shared work of compose and
** compose_into. Operands that cannot keep their structure are
** materialised into temporaries that are freed before returning. */
static gd_status compose(gd_jacobian **res, gd_jacobian *into,
                         const gd_jacobian *a, const gd_jacobian *b,
                         gd_error *err) {
  gd_jacobian *da = NULL, *db = NULL;
  gd_status st;
  plan pl;

  if (!same_shape(a->nden, a->den, b->nnum, b->num))
    return mismatch("compose", a, b, err);
  if (check_dims("compose", a->nnum, b->nden, err)) return err->code;
  if (into && (!same_shape(into->nnum, into->num, a->nnum, a->num) ||
               !same_shape(into->nden, into->den, b->nden, b->den) ||
               into->kind != GD_JAC_DENSE))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "compose: the target is "
                        "not a dense jacobian of the result's shapes");

  if (!plan_compose(&pl, a, b) || (into && a->kind == GD_JAC_DIAG &&
                                    b->kind == GD_JAC_DIAG)) {
    if (a->kind == GD_JAC_DIAG && (da = densify(a, err)) == NULL)
      return err->code;
    if (b->kind == GD_JAC_DIAG && (db = densify(b, err)) == NULL) {
      gd_jacobian_free(da);
      return err->code;
    }
    plan_compose(&pl, da ? da : a, db ? db : b);
  }
  st = run_compose(res, into, &pl, da ? da : a, db ? db : b, err);
  gd_jacobian_free(da);
  gd_jacobian_free(db);
  return st;
}


gd_status gd_jacobian_compose(gd_jacobian **out, const gd_jacobian *a,
                              const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  return compose(out, NULL, a, b, err);
}


gd_status gd_jacobian_compose_into(gd_jacobian *out, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  return compose(NULL, out, a, b, err);
}


/* Subscripts for the bilinear contraction; 0 when t must be dense. */
static int plan_bilinear(char *subs, const gd_jacobian *t,
                         const gd_jacobian *a, const gd_jacobian *b) {
  int k = t->t->ndim, na = a->nnum, nb = b->nnum, x = t->nnum;
  int u = x + na + nb, v = u + a->nden;
  char *p = subs;
  if (t->kind == GD_JAC_DIAG) {
    if (t->pnum > 1 || t->pden != 2 || na != k) return 0;
    p = letters(p, 0, k);
    *p++ = ',';
    p = letters(letters(p, 0, k), u, a->nden);
    *p++ = ',';
    p = letters(letters(p, 0, k), v, b->nden);
    memcpy(p, "->", 3);
    p = repeat(p + 2, 0, k, t->pnum);
  } else {
    p = letters(p, 0, x + na + nb);
    *p++ = ',';
    p = letters(letters(p, x, na), u, a->nden);
    *p++ = ',';
    p = letters(letters(p, x + na, nb), v, b->nden);
    memcpy(p, "->", 3);
    p = letters(p + 2, 0, x);
  }
  letters(letters(p, u, a->nden), v, b->nden);
  return 1;
}


/*
** C[x, u, v] = sum T[x, y1, y2] A[y1, u] B[y2, v] in one einsum of three
** operands. T's denominator must be A's numerator followed by B's; a
** diagonal T (an element-wise second derivative) stays a vector of
** values, so only A and B are ever read densely.
*/
gd_status gd_jacobian_bilinear(gd_jacobian **out, const gd_jacobian *t,
                               const gd_jacobian *a, const gd_jacobian *b,
                               gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *dt = NULL, *da = NULL, *db = NULL, *r;
  char subs[SUBS_SIZE];
  const gd_tensor *ops[3];
  gd_tensor *v = NULL;
  size_t y[GD_MAX_DIMS];

  if (a->nnum + b->nnum > GD_MAX_DIMS)
    return mismatch("bilinear", t, a, err);
  if (a->nnum) memcpy(y, a->num, (size_t)a->nnum * sizeof *y);
  if (b->nnum) memcpy(y + a->nnum, b->num, (size_t)b->nnum * sizeof *y);
  if (!same_shape(t->nden, t->den, a->nnum + b->nnum, y)) {
    gd_jacobian tmp = *a;
    tmp.nnum = a->nnum + b->nnum;
    memcpy(tmp.num, y, (size_t)tmp.nnum * sizeof *y);
    return mismatch("bilinear", t, &tmp, err);
  }
  if (check_dims("bilinear", t->nnum, a->nden + b->nden, err))
    return err->code;

  if (!plan_bilinear(subs, t, a, b)) {
    if ((dt = densify(t, err)) == NULL) return err->code;
    plan_bilinear(subs, dt, a, b);
  }
  if (a->kind == GD_JAC_DIAG && (da = densify(a, err)) == NULL) goto fail;
  if (b->kind == GD_JAC_DIAG && (db = densify(b, err)) == NULL) goto fail;
  ops[0] = (dt ? dt : t)->t;
  ops[1] = (da ? da : a)->t;
  ops[2] = (db ? db : b)->t;
  if (gd_einsum(&v, subs, 3, ops, err)) goto fail;

  memcpy(y, a->den, (size_t)a->nden * sizeof *y);
  memcpy(y + a->nden, b->den, (size_t)b->nden * sizeof *y);
  r = wrap_dense(v, t->nnum, t->num, a->nden + b->nden, y, err);
  if (r == NULL) goto fail;
  gd_jacobian_free(dt);
  gd_jacobian_free(da);
  gd_jacobian_free(db);
  *out = r;
  return GD_OK;

fail:
  gd_jacobian_free(dt);
  gd_jacobian_free(da);
  gd_jacobian_free(db);
  return err->code;
}


/* r = J v for v of the denominator's shape, as the composition of J
** with v seen as a Jacobian of an empty denominator. */
gd_status gd_jacobian_apply(gd_tensor **out, const gd_jacobian *j,
                            const gd_tensor *v, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *jv, *r;
  gd_tensor *t;
  char sv[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE];
  if (!same_shape(v->ndim, v->shape, j->nden, j->den))
    return gd_error_set(err, GD_ERR_SHAPE, 2, "apply: tensor %s does not "
                        "match denominator %s",
                        gd_tensor_shape_str(v, sv, sizeof sv),
                        gd_shape_str(sd, sizeof sd, j->nden, j->den));
  if (gd_jacobian_new(&jv, v, v->ndim, v->shape, 0, NULL, err))
    return err->code;
  if (gd_jacobian_compose(&r, j, jv, err)) {
    gd_jacobian_free(jv);
    return err->code;
  }
  gd_jacobian_free(jv);
  if (r->kind == GD_JAC_DIAG) {
    gd_status st = gd_jacobian_dense(&t, r, err);
    gd_jacobian_free(r);
    if (st) return st;
  } else {
    t = r->t;
    r->t = NULL;
    gd_jacobian_free(r);
  }
  *out = t;
  return GD_OK;
}


gd_status gd_jacobian_scale(gd_jacobian **out, const gd_jacobian *j,
                            double s, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *r;
  gd_tensor *t;
  if (gd_tensor_binary_scalar(&t, GD_MUL, j->t, s, 0, err))
    return err->code;
  r = wrap_dense(t, j->nnum, j->num, j->nden, j->den, err);
  if (r == NULL) return GD_ERR_NOMEM;
  r->kind = j->kind;
  r->pnum = j->pnum;
  r->pden = j->pden;
  *out = r;
  return GD_OK;
}


/* a + b: the values are added when both have the same structure, and
** the dense forms otherwise. */
gd_status gd_jacobian_add(gd_jacobian **out, const gd_jacobian *a,
                          const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  if (err == NULL) err = &spare;
  gd_jacobian *da = NULL, *db = NULL, *r;
  gd_tensor *t;
  char sa[GD_SHAPESTR_SIZE * 2 + 4], sb[GD_SHAPESTR_SIZE * 2 + 4];
  int same;

  if (!same_shape(a->nnum, a->num, b->nnum, b->num) ||
      !same_shape(a->nden, a->den, b->nden, b->den)) {
    gd_jacobian_describe(a, sa, sizeof sa);
    gd_jacobian_describe(b, sb, sizeof sb);
    return gd_error_set(err, GD_ERR_SHAPE, 2, "add: %s and %s differ",
                        sa, sb);
  }
  same = a->kind == b->kind &&
         (a->kind == GD_JAC_DENSE ||
          (a->pnum == b->pnum && gd_tensor_same_shape(a->t, b->t)));
  if (!same) {
    if (a->kind == GD_JAC_DIAG && (da = densify(a, err)) == NULL)
      return err->code;
    if (b->kind == GD_JAC_DIAG && (db = densify(b, err)) == NULL) {
      gd_jacobian_free(da);
      return err->code;
    }
  }
  if (gd_tensor_binary(&t, GD_ADD, (da ? da : a)->t, (db ? db : b)->t,
                       err)) {
    gd_jacobian_free(da);
    gd_jacobian_free(db);
    return err->code;
  }
  r = wrap_dense(t, a->nnum, a->num, a->nden, a->den, err);
  if (r && same && a->kind == GD_JAC_DIAG) {
    r->kind = GD_JAC_DIAG;
    r->pnum = a->pnum;
    r->pden = a->pden;
  }
  gd_jacobian_free(da);
  gd_jacobian_free(db);
  if (r == NULL) return GD_ERR_NOMEM;
  *out = r;
  return GD_OK;
}


char *gd_jacobian_describe(const gd_jacobian *j, char *buf, size_t size) {
  char sn[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE];
  gd_shape_str(sn, sizeof sn, j->nnum, j->num);
  gd_shape_str(sd, sizeof sd, j->nden, j->den);
  if (j->kind == GD_JAC_DENSE)
    snprintf(buf, size, "TensorJacobian d(%s) / d(%s)", sn, sd);
  else
    snprintf(buf, size, "TensorJacobian (%s) d(%s) / d(%s)",
             gd_jacobian_kind_name(j->kind), sn, sd);
  return buf;
}
