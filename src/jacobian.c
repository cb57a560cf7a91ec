/*
** jacobian.c: structured generalised Jacobians and their contraction.
**
** Every product (compose, chain, bilinear, apply) is one contraction:
** the operands' labels are unified through the ties that the product
** makes, each label that ends up in neither a factor nor the result is
** a sum of ones and becomes a factor of its size, and the factors left
** go to one einsum. An element-wise product of two factors of the same
** layout is done by a plain loop instead.
**
** Limits: a sum of more than GD_JAC_MAX_TERMS terms is made dense; the
** einsum subscripts use the 52 ASCII letters.
*/
#include <stdio.h>
#include <string.h>

#include "einsum.h"
#include "jacobian.h"
#include "vector.h"

#define NLETTERS GD_JAC_MAX_LABELS
#define SUBS_SIZE 512
#define NGLOBAL (GD_JAC_MAX_CHAIN * GD_MAX_DIMS)

static const char abc[] =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";


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


/* num ++ den into shape; returns the number of dimensions. */
static int full_shape(const gd_jacobian *j, size_t *shape) {
  if (j->nnum) memcpy(shape, j->num, (size_t)j->nnum * sizeof *shape);
  if (j->nden)
    memcpy(shape + j->nnum, j->den, (size_t)j->nden * sizeof *shape);
  return j->nnum + j->nden;
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


static gd_status nomem(gd_error *err) {
  return gd_error_set(err, GD_ERR_NOMEM, 0, "jacobian: out of memory");
}


/* A new header with the given shapes and no terms. */
static gd_jacobian *alloc_jac(int nnum, const size_t *num, int nden,
                              const size_t *den, gd_error *err) {
  gd_jacobian *j = gd_malloc(sizeof *j);
  if (j == NULL) {
    nomem(err);
    return NULL;
  }
  memset(j, 0, sizeof *j);
  j->nnum = nnum;
  j->nden = nden;
  if (nnum) memcpy(j->num, num, (size_t)nnum * sizeof *num);
  if (nden) memcpy(j->den, den, (size_t)nden * sizeof *den);
  return j;
}


void gd_jacobian_free(gd_jacobian *j) {
  int k;
  if (j == NULL) return;
  for (k = 0; k < j->nterms; k++) gd_tensor_free(j->term[k].f);
  gd_free(j, sizeof *j);
}


static gd_status check_dims(const char *op, int nnum, int nden,
                            gd_error *err) {
  if (nnum < 0 || nden < 0 || nnum + nden > GD_MAX_DIMS)
    return gd_error_set(err, GD_ERR_SHAPE, 0,
                        "%s: %d numerator and %d denominator dimensions "
                        "exceed the limit of %d", op, nnum, nden,
                        GD_MAX_DIMS);
  return GD_OK;
}


/* ---- structure -------------------------------------------------------- */

/* Renumber t's labels by first appearance in lab[0..n-1]; its factor
** has k dimensions. */
static void canonical(gd_jacobian_term *t, int n, int k) {
  unsigned char map[256];
  int d, next = 0;
  memset(map, 0xff, sizeof map);
  for (d = 0; d < n; d++) {
    if (map[t->lab[d]] == 0xff) map[t->lab[d]] = (unsigned char)next++;
    t->lab[d] = map[t->lab[d]];
  }
  for (d = 0; d < k; d++) t->flab[d] = map[t->flab[d]];
}


/* Number of distinct labels of a canonical term over n dimensions. */
static int nlabels(const gd_jacobian_term *t, int n) {
  int d, m = 0;
  for (d = 0; d < n; d++)
    if (t->lab[d] + 1 > m) m = t->lab[d] + 1;
  return m;
}


/* 1 when label l is one of F's. */
static int in_factor(const gd_jacobian_term *t, int l) {
  int d;
  for (d = 0; d < t->f->ndim; d++)
    if (t->flab[d] == l) return 1;
  return 0;
}


gd_jacobian_kind gd_jacobian_kind_of(const gd_jacobian *j) {
  const gd_jacobian_term *t = &j->term[0];
  int n = gd_jacobian_ndim(j), nl, d, k = t->f->ndim, count[GD_MAX_DIMS];
  if (j->nterms > 1) return GD_JAC_SUM;
  nl = nlabels(t, n);
  if (nl == n && k == n) return GD_JAC_DENSE;
  if (nl > 0 && n % nl == 0 && j->nnum % nl == 0 && (k == nl || k == 0)) {
    for (d = 0; d < n && t->lab[d] == d % nl; d++) {}
    for (k = 0; d == n && k < t->f->ndim && t->flab[k] == k; k++) {}
    if (d == n && k == t->f->ndim) return GD_JAC_DIAG;
  }
  memset(count, 0, sizeof count);
  for (d = 0; d < n; d++) count[t->lab[d]]++;
  for (d = 0; d < nl; d++)
    if (count[d] > 1 && in_factor(t, d)) return GD_JAC_BLOCKS;
  return GD_JAC_KRON;
}


const char *gd_jacobian_kind_name(gd_jacobian_kind kind) {
  static const char *const names[] = {
    "dense", "diagonal", "kronecker", "blocks", "sum"
  };
  return names[kind];
}


/* 1 when two terms of n dimensions have the same structure and factor
** shape, so that their factors can be added. */
static int same_structure(const gd_jacobian_term *a,
                          const gd_jacobian_term *b, int n) {
  return memcmp(a->lab, b->lab, (size_t)n) == 0 &&
         gd_tensor_same_shape(a->f, b->f) &&
         memcmp(a->flab, b->flab, (size_t)a->f->ndim) == 0;
}


size_t gd_jacobian_dense_size(const gd_jacobian *j, int *ok) {
  size_t shape[GD_MAX_DIMS];
  int n = full_shape(j, shape);
  return shape_numel(n, shape, ok);
}


size_t gd_jacobian_stored(const gd_jacobian *j) {
  size_t total = 0;
  int k;
  for (k = 0; k < j->nterms; k++) total += gd_tensor_numel(j->term[k].f);
  return total;
}


gd_tensor *gd_jacobian_values(const gd_jacobian *j) {
  if (j->nterms != 1 || j->term[0].scale != 1.0 ||
      gd_jacobian_kind_of(j) != GD_JAC_DENSE)
    return NULL;
  return j->term[0].f;
}


/* ---- construction ----------------------------------------------------- */

/* Take f as the single dense term of j (labels in order). */
static void set_dense(gd_jacobian *j, gd_tensor *f) {
  int d;
  j->nterms = 1;
  j->term[0].f = f;
  j->term[0].scale = 1.0;
  for (d = 0; d < gd_jacobian_ndim(j); d++)
    j->term[0].lab[d] = j->term[0].flab[d] = (unsigned char)d;
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
  size_t shape[GD_MAX_DIMS], n;
  char sn[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE], st[GD_SHAPESTR_SIZE];
  gd_tensor *v;
  gd_jacobian *j;
  int ok = 1;

  if (err == NULL) err = &spare;
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

  if ((j = alloc_jac(nnum, num, nden, den, err)) == NULL) return err->code;
  full_shape(j, shape);
  if (gd_tensor_reshape(&v, t, nnum + nden, shape, 1, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  set_dense(j, v);
  *out = j;
  return GD_OK;
}


gd_status gd_jacobian_zeros(gd_jacobian **out, int nnum,
                            const size_t *num, int nden,
                            const size_t *den, gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t;
  gd_jacobian *j;
  if (err == NULL) err = &spare;
  if (check_dims("TensorJacobian", nnum, nden, err)) return err->code;
  if ((j = alloc_jac(nnum, num, nden, den, err)) == NULL) return err->code;
  if (gd_tensor_new(&t, full_shape(j, shape), shape, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  set_dense(j, t);
  *out = j;
  return GD_OK;
}


/* The index of letter c in abc, or -1. */
static int letter(char c) {
  const char *p = c ? strchr(abc, c) : NULL;
  return p ? (int)(p - abc) : -1;
}


/* Check a structured spec against f and the shapes; fill t's labels
** (not yet canonical). */
static gd_status parse_spec(gd_jacobian_term *t, const gd_tensor *f,
                            const char *spec, int n, const size_t *shape,
                            gd_error *err) {
  const char *arrow = strstr(spec, "->");
  size_t size[NLETTERS];
  int d, k = arrow ? (int)(arrow - spec) : -1, l, seen[NLETTERS];

  if (k < 0 || k != f->ndim || (int)strlen(arrow + 2) != n)
    return gd_error_set(err, GD_ERR_SUBSCRIPT, 2, "structured jacobian: "
                        "spec '%.60s' does not name %d factor and %d "
                        "dense dimensions", spec, f->ndim, n);
  memset(seen, 0, sizeof seen);
  for (d = 0; d < n; d++) {
    if ((l = letter(arrow[2 + d])) < 0)
      return gd_error_set(err, GD_ERR_SUBSCRIPT, 2, "structured jacobian"
                          ": '%c' is not a letter", arrow[2 + d]);
    if (seen[l] && size[l] != shape[d])
      return gd_error_set(err, GD_ERR_SHAPE, 2, "structured jacobian: "
                          "tied dimensions of sizes %zu and %zu", size[l],
                          shape[d]);
    seen[l] = 1;
    size[l] = shape[d];
    t->lab[d] = (unsigned char)l;
  }
  for (d = 0; d < k; d++) {
    l = letter(spec[d]);
    if (l < 0 || seen[l] != 1 || f->shape[d] != size[l])
      return gd_error_set(err, GD_ERR_SHAPE, 1, "structured jacobian: "
                          "factor dimension %d ('%c') does not match a "
                          "dense dimension", d + 1, spec[d]);
    seen[l] = 2;
    t->flab[d] = (unsigned char)l;
  }
  return GD_OK;
}


gd_status gd_jacobian_structured(gd_jacobian **out, const gd_tensor *f,
                                 const char *spec, int nnum,
                                 const size_t *num, int nden,
                                 const size_t *den, gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  gd_jacobian *j;
  gd_tensor *v;
  if (err == NULL) err = &spare;
  if (check_dims("structured jacobian", nnum, nden, err)) return err->code;
  if ((j = alloc_jac(nnum, num, nden, den, err)) == NULL) return err->code;
  full_shape(j, shape);
  if (parse_spec(&j->term[0], f, spec, nnum + nden, shape, err) ||
      gd_tensor_view(&v, f, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  j->nterms = 1;
  j->term[0].f = v;
  j->term[0].scale = 1.0;
  canonical(&j->term[0], nnum + nden, f->ndim);
  *out = j;
  return GD_OK;
}


/*
** A diagonal Jacobian: pnum + pden blocks of d's shape S, the element
** at (s1, ..., sp) being d[s] when every block names s and zero
** otherwise. The result holds a view of d.
*/
gd_status gd_jacobian_diag(gd_jacobian **out, const gd_tensor *d,
                           int pnum, int pden, gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  gd_jacobian *j;
  int k = d->ndim, b, i;
  if (err == NULL) err = &spare;
  if (pnum < 0 || pden < 0 || pnum + pden < 2)
    return gd_error_set(err, GD_ERR_ARG, 0, "diagonal jacobian: %d + %d "
                        "blocks (at least 2 expected)", pnum, pden);
  if (check_dims("diagonal jacobian", pnum * k, pden * k, err))
    return err->code;
  for (b = 0; b < pnum + pden; b++)
    if (k) memcpy(shape + b * k, d->shape, (size_t)k * sizeof *shape);
  j = alloc_jac(pnum * k, shape, pden * k, shape + pnum * k, err);
  if (j == NULL) return err->code;
  if (gd_tensor_view(&j->term[0].f, d, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  j->nterms = 1;
  j->term[0].scale = 1.0;
  for (i = 0; i < (pnum + pden) * k; i++)
    j->term[0].lab[i] = (unsigned char)(i % k);
  for (i = 0; i < k; i++) j->term[0].flab[i] = (unsigned char)i;
  *out = j;
  return GD_OK;
}


gd_status gd_jacobian_identity(gd_jacobian **out, int n,
                               const size_t *shape, gd_error *err) {
  gd_error spare;
  gd_jacobian *j;
  int i;
  if (err == NULL) err = &spare;
  if (check_dims("identity jacobian", n, n, err)) return err->code;
  if ((j = alloc_jac(n, shape, n, shape, err)) == NULL) return err->code;
  if (gd_tensor_scalar(&j->term[0].f, 1.0, err)) {
    gd_jacobian_free(j);
    return err->code;
  }
  j->nterms = 1;
  j->term[0].scale = 1.0;
  for (i = 0; i < 2 * n; i++) j->term[0].lab[i] = (unsigned char)(i % n);
  *out = j;
  return GD_OK;
}


/* ---- the dense form --------------------------------------------------- */

/*
** dst += scale * term, dst a tensor of the dense shape: a header over
** dst whose dimension per label has the summed strides of the tied
** dimensions (the diagonal), and one over F with stride 0 along the
** labels F does not name.
*/
static gd_status accumulate(gd_tensor *dst, const gd_jacobian_term *t,
                            gd_error *err) {
  gd_tensor hd = *dst, hf = *t->f;
  int n = dst->ndim, nl = nlabels(t, n), d, l;
  for (l = 0; l < nl; l++) {
    hd.strides[l] = 0;
    hf.shape[l] = 0;
    hf.strides[l] = 0;
  }
  for (d = 0; d < n; d++) {
    l = t->lab[d];
    hd.shape[l] = dst->shape[d];
    hd.strides[l] += dst->strides[d];
    hf.shape[l] = dst->shape[d];
  }
  for (d = 0; d < t->f->ndim; d++) hf.strides[t->flab[d]] = t->f->strides[d];
  hd.ndim = hf.ndim = nl;
  return gd_tensor_axpby_into(&hd, 1.0, &hd, t->scale, &hf, err);
}


gd_status gd_jacobian_dense_into(gd_tensor *t, const gd_jacobian *j,
                                 gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  char s1[GD_SHAPESTR_SIZE], s2[GD_SHAPESTR_SIZE];
  int n = full_shape(j, shape), k;
  if (err == NULL) err = &spare;
  if (!same_shape(t->ndim, t->shape, n, shape))
    return gd_error_set(err, GD_ERR_SHAPE, 1, "dense: target %s is not "
                        "the jacobian's %s",
                        gd_tensor_shape_str(t, s1, sizeof s1),
                        gd_shape_str(s2, sizeof s2, n, shape));
  if (gd_tensor_fill(t, 0.0, err)) return err->code;
  for (k = 0; k < j->nterms; k++)
    if (accumulate(t, &j->term[k], err)) return err->code;
  return GD_OK;
}


gd_status gd_jacobian_dense(gd_tensor **out, const gd_jacobian *j,
                            gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  gd_tensor *t, *v = gd_jacobian_values(j);
  if (err == NULL) err = &spare;
  if (v) return gd_tensor_view(out, v, err);
  if (gd_tensor_new(&t, full_shape(j, shape), shape, err)) return err->code;
  if (gd_jacobian_dense_into(t, j, err)) {
    gd_tensor_free(t);
    return err->code;
  }
  *out = t;
  return GD_OK;
}


/* ---- regrouping and sums ------------------------------------------------ */

/* A new header of the given shapes sharing (by views) j's terms, with
** each term's dimensions taken in the order perm (NULL: unchanged). */
static gd_status share(gd_jacobian **out, const gd_jacobian *j, int nnum,
                       const size_t *shape, const int *perm,
                       gd_error *err) {
  int n = gd_jacobian_ndim(j), k, d;
  gd_jacobian *r = alloc_jac(nnum, shape, n - nnum, shape + nnum, err);
  if (r == NULL) return err->code;
  for (k = 0; k < j->nterms; k++) {
    r->term[k] = j->term[k];
    if (gd_tensor_view(&r->term[k].f, j->term[k].f, err)) {
      gd_jacobian_free(r);
      return err->code;
    }
    r->nterms++;
    if (perm) {
      for (d = 0; d < n; d++) r->term[k].lab[d] = j->term[k].lab[perm[d]];
      canonical(&r->term[k], n, r->term[k].f->ndim);
    }
  }
  *out = r;
  return GD_OK;
}


gd_status gd_jacobian_regroup(gd_jacobian **out, const gd_jacobian *j,
                              int nnum, gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  int n = full_shape(j, shape);
  if (err == NULL) err = &spare;
  if (nnum < 0 || nnum > n)
    return gd_error_set(err, GD_ERR_RANGE, 0, "regroup: %d numerator "
                        "dimensions out of 0..%d", nnum, n);
  return share(out, j, nnum, shape, NULL, err);
}


gd_status gd_jacobian_transpose(gd_jacobian **out, const gd_jacobian *j,
                                gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  int perm[GD_MAX_DIMS], d;
  if (err == NULL) err = &spare;
  for (d = 0; d < j->nden; d++) {
    perm[d] = j->nnum + d;
    shape[d] = j->den[d];
  }
  for (d = 0; d < j->nnum; d++) {
    perm[j->nden + d] = d;
    shape[j->nden + d] = j->num[d];
  }
  return share(out, j, j->nden, shape, perm, err);
}


gd_status gd_jacobian_scale(gd_jacobian **out, const gd_jacobian *j,
                            double s, gd_error *err) {
  gd_error spare;
  size_t shape[GD_MAX_DIMS];
  int k;
  if (err == NULL) err = &spare;
  full_shape(j, shape);
  if (share(out, j, j->nnum, shape, NULL, err)) return err->code;
  for (k = 0; k < j->nterms; k++) (*out)->term[k].scale *= s;
  return GD_OK;
}


/* Make r one dense term holding the sum of its terms. */
static gd_status make_dense(gd_jacobian *r, gd_error *err) {
  gd_tensor *t;
  int k;
  if (gd_jacobian_dense(&t, r, err)) return err->code;
  for (k = 0; k < r->nterms; k++) gd_tensor_free(r->term[k].f);
  set_dense(r, t);
  return GD_OK;
}


/* 1 when f is the only view of memory the core allocated, so that it
** may be overwritten. */
static int sole_view(const gd_tensor *f) {
  return f->storage != NULL && f->storage->refcount == 1 &&
         f->storage->release == NULL;
}


/*
** Add term t (taken over) to r: into a term of the same structure (sa Fa
** + sb Fb, in place when r alone holds Fa, as a product's result, else
** a new factor), as a new term, or, when r is full, into the dense form
** of r. On error t is freed.
*/
static gd_status push_term(gd_jacobian *r, gd_jacobian_term *t,
                           gd_error *err) {
  int n = gd_jacobian_ndim(r), k;
  gd_tensor *f;
  gd_status st;
  for (k = 0; k < r->nterms; k++) {
    gd_jacobian_term *e = &r->term[k];
    if (!same_structure(e, t, n)) continue;
    if (sole_view(e->f)) {
      st = gd_tensor_axpby_into(e->f, e->scale, e->f, t->scale, t->f, err);
      gd_tensor_free(t->f);
      if (st == GD_OK) e->scale = 1.0;
      return st;
    }
    if (gd_tensor_new(&f, t->f->ndim, t->f->shape, err) ||
        gd_tensor_axpby_into(f, e->scale, e->f, t->scale, t->f, err)) {
      gd_tensor_free(t->f);
      return err->code;
    }
    gd_tensor_free(e->f);
    gd_tensor_free(t->f);
    e->f = f;
    e->scale = 1.0;
    return GD_OK;
  }
  if (r->nterms == GD_JAC_MAX_TERMS) {
    st = make_dense(r, err);
    if (st == GD_OK) st = accumulate(r->term[0].f, t, err);
    gd_tensor_free(t->f);
    return st;
  }
  r->term[r->nterms++] = *t;
  return GD_OK;
}


gd_status gd_jacobian_add(gd_jacobian **out, const gd_jacobian *a,
                          const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  char sa[GD_SHAPESTR_SIZE * 2 + 40], sb[GD_SHAPESTR_SIZE * 2 + 40];
  gd_jacobian *r;
  gd_jacobian_term t;
  int k;

  if (err == NULL) err = &spare;
  if (!same_shape(a->nnum, a->num, b->nnum, b->num) ||
      !same_shape(a->nden, a->den, b->nden, b->den)) {
    gd_jacobian_describe(a, sa, sizeof sa);
    gd_jacobian_describe(b, sb, sizeof sb);
    return gd_error_set(err, GD_ERR_SHAPE, 2, "add: %s and %s differ",
                        sa, sb);
  }
  if ((r = alloc_jac(a->nnum, a->num, a->nden, a->den, err)) == NULL)
    return err->code;
  for (k = 0; k < a->nterms + b->nterms; k++) {
    t = k < a->nterms ? a->term[k] : b->term[k - a->nterms];
    if (gd_tensor_view(&t.f, t.f, err) || push_term(r, &t, err)) {
      gd_jacobian_free(r);
      return err->code;
    }
  }
  *out = r;
  return GD_OK;
}


/* ---- contraction ------------------------------------------------------ */

/* One operand of a contraction: a term and its dense shape. */
typedef struct operand {
  const gd_jacobian_term *t;
  int n;
  size_t shape[GD_MAX_DIMS];
} operand;

/* What a contraction must do: nops operands, ties between their
** dimensions given as global numbers (operand k's dimension d is
** base[k] + d), and the result's dimensions in order. */
typedef struct network {
  int nops;
  operand op[GD_JAC_MAX_CHAIN + 1];
  int base[GD_JAC_MAX_CHAIN + 1];
  int nties;
  int tie[GD_MAX_DIMS * GD_JAC_MAX_CHAIN][2];
  int nres;
  int res[GD_MAX_DIMS];
} network;

/* The labels after unification: a root per global label, and per root
** its size, whether a factor or the result names it, and its letter. */
typedef struct unified {
  int parent[NGLOBAL + GD_MAX_DIMS];
  size_t size[NGLOBAL + GD_MAX_DIMS];
  unsigned char infac[NGLOBAL + GD_MAX_DIMS];
  unsigned char inres[NGLOBAL + GD_MAX_DIMS];
  int letter[NGLOBAL + GD_MAX_DIMS];
  int rlab[NGLOBAL + GD_MAX_DIMS];  /* its number in the result, or -1 */
} unified;


static int find(unified *u, int x) {
  while (u->parent[x] != x) x = u->parent[x] = u->parent[u->parent[x]];
  return x;
}


/* The global label of global dimension g. */
static int glabel(const network *nw, int g) {
  int k = 0;
  while (k + 1 < nw->nops && nw->base[k + 1] <= g) k++;
  return k * GD_MAX_DIMS + nw->op[k].t->lab[g - nw->base[k]];
}


/* Unify the labels through the ties and find what each root is. */
static void unify(unified *u, const network *nw) {
  int k, d, g;
  for (g = 0; g < nw->nops * GD_MAX_DIMS; g++) {
    u->parent[g] = g;
    u->infac[g] = u->inres[g] = 0;
    u->letter[g] = u->rlab[g] = -1;
  }
  for (d = 0; d < nw->nties; d++) {
    int a = find(u, glabel(nw, nw->tie[d][0]));
    int b = find(u, glabel(nw, nw->tie[d][1]));
    if (a != b) u->parent[a] = b;
  }
  for (k = 0; k < nw->nops; k++) {
    const operand *o = &nw->op[k];
    for (d = 0; d < o->n; d++)
      u->size[find(u, k * GD_MAX_DIMS + o->t->lab[d])] = o->shape[d];
    for (d = 0; d < o->t->f->ndim; d++)
      u->infac[find(u, k * GD_MAX_DIMS + o->t->flab[d])] = 1;
  }
  for (d = 0; d < nw->nres; d++) u->inres[find(u, glabel(nw, nw->res[d]))] = 1;
}


/* The part of a product's scale that values can change: the operands'
** scales and the values of their 0-d factors. */
static double operand_scale(const network *nw) {
  double s = 1.0;
  int k;
  for (k = 0; k < nw->nops; k++) {
    const gd_jacobian_term *t = nw->op[k].t;
    s *= t->scale;
    if (t->f->ndim == 0) s *= *gd_tensor_data(t->f);
  }
  return s;
}


/* The part fixed by the structure: the size of every label summed over
** without a factor. */
static double size_scale(unified *u, const network *nw) {
  unsigned char seen[NGLOBAL + GD_MAX_DIMS];
  double s = 1.0;
  int k, d;
  memset(seen, 0, sizeof seen);
  for (k = 0; k < nw->nops; k++) {
    const operand *o = &nw->op[k];
    for (d = 0; d < o->n; d++) {
      int r = find(u, k * GD_MAX_DIMS + o->t->lab[d]);
      if (!seen[r] && !u->infac[r] && !u->inres[r]) s *= (double)u->size[r];
      seen[r] = 1;
    }
  }
  return s;
}


/* The scale of the product: the operands' part times the structure's. */
static double product_scale(unified *u, const network *nw) {
  return operand_scale(nw) * size_scale(u, nw);
}


/*
** Build the einsum subscripts of the factors that remain (0-d ones
** folded into the scale) and the result term's labels. ops gets the
** factors, *nf their count, *nfl the result factor's dimensions; out's
** lab and flab are set, not yet canonical.
*/
static gd_status subscripts(char *subs, const gd_tensor **ops, int *nf,
                            int *nfl, gd_jacobian_term *out, unified *u,
                            const network *nw, gd_error *err) {
  char *p = subs;
  int k, d, next = 0, nr = 0;

  *nf = *nfl = 0;
  for (k = 0; k < nw->nops; k++) {
    const gd_jacobian_term *t = nw->op[k].t;
    if (t->f->ndim == 0) continue;
    if (*nf) *p++ = ',';
    for (d = 0; d < t->f->ndim; d++) {
      int r = find(u, k * GD_MAX_DIMS + t->flab[d]);
      if (u->letter[r] < 0) u->letter[r] = next++;
      if (next > NLETTERS)
        return gd_error_set(err, GD_ERR_SHAPE, 0, "jacobian: a product "
                            "with more than %d indices", NLETTERS);
      *p++ = abc[u->letter[r]];
    }
    ops[(*nf)++] = t->f;
  }
  memcpy(p, "->", 2);
  p += 2;
  for (d = 0; d < nw->nres; d++) {
    int r = find(u, glabel(nw, nw->res[d]));
    if (u->rlab[r] < 0) u->rlab[r] = nr++;
    out->lab[d] = (unsigned char)u->rlab[r];
    if (u->infac[r] && u->inres[r] != 2) {
      *p++ = abc[u->letter[r]];
      out->flab[(*nfl)++] = (unsigned char)u->rlab[r];
      u->inres[r] = 2;
    }
  }
  *p = '\0';
  return GD_OK;
}


/* 1 when subs is "X,X->X" and both factors and out have one contiguous
** shape: an element-wise product. */
static int is_elementwise(const char *subs, const gd_tensor *const *ops,
                          int nf, const gd_tensor *out) {
  size_t n = strcspn(subs, ",");
  if (nf != 2 || strncmp(subs, subs + n + 1, n) != 0 ||
      strncmp(subs + n + 1 + n, "->", 2) != 0 ||
      strncmp(subs + 2 * n + 3, subs, n) != 0 || subs[3 * n + 3] != '\0')
    return 0;
  return gd_tensor_same_shape(ops[0], ops[1]) &&
         gd_tensor_same_shape(ops[0], out) &&
         gd_tensor_is_contiguous(ops[0]) &&
         gd_tensor_is_contiguous(ops[1]) && gd_tensor_is_contiguous(out);
}


/* Evaluate the factors into f (an existing tensor of the right shape),
** or into a new tensor *made when f is NULL. */
static gd_status evaluate(gd_tensor *f, gd_tensor **made, const char *subs,
                          const gd_tensor **ops, int nf, gd_error *err) {
  if (nf == 0) {
    if (f) return gd_tensor_fill(f, 1.0, err);
    return gd_tensor_scalar(made, 1.0, err);
  }
  if (f == NULL) return gd_einsum(made, subs, nf, ops, err);
  if (is_elementwise(subs, ops, nf, f)) {
    const double *a = gd_tensor_data(ops[0]), *b = gd_tensor_data(ops[1]);
    double *o = gd_tensor_data(f);
    size_t i, n = gd_tensor_numel(f);
    for (i = 0; i < n; i++) o[i] = a[i] * b[i];
    return GD_OK;
  }
  return gd_einsum_into(f, subs, nf, ops, err);
}


/*
** Contract one combination of terms. With into (a term of the result's
** structure, else GD_ERR_ARG without a message), the factor is written
** in place with the scale folded in; otherwise *res gets a new term.
*/
static gd_status contract(gd_jacobian_term *res, gd_jacobian_term *into,
                          const network *nw, gd_error *err) {
  unified u;
  char subs[SUBS_SIZE];
  const gd_tensor *ops[GD_JAC_MAX_CHAIN + 1];
  gd_jacobian_term t;
  int nf, nfl;

  unify(&u, nw);
  memset(&t, 0, sizeof t);
  t.scale = product_scale(&u, nw);
  if (subscripts(subs, ops, &nf, &nfl, &t, &u, nw, err)) return err->code;
  canonical(&t, nw->nres, nfl);
  if (into) {
    if (nfl != into->f->ndim ||
        memcmp(t.lab, into->lab, (size_t)nw->nres) != 0 ||
        memcmp(t.flab, into->flab, (size_t)nfl) != 0)
      return GD_ERR_ARG;
    if (evaluate(into->f, NULL, subs, ops, nf, err)) return err->code;
    into->scale = 1.0;
    if (t.scale != 1.0)
      return gd_tensor_binary_scalar_into(into->f, GD_MUL, into->f,
                                          t.scale, 0, err);
    return GD_OK;
  }
  if (evaluate(NULL, &t.f, subs, ops, nf, err)) return err->code;
  *res = t;
  return GD_OK;
}


/* Append j as the next operand of nw (its terms are chosen later). */
static void add_operand(network *nw, const gd_jacobian *j) {
  operand *o = &nw->op[nw->nops];
  nw->base[nw->nops] = nw->nops ? nw->base[nw->nops - 1] +
                                  nw->op[nw->nops - 1].n : 0;
  o->t = &j->term[0];
  o->n = full_shape(j, o->shape);
  nw->nops++;
}


/* Tie n dimensions of operand a from da on with those of b from db. */
static void tie(network *nw, int a, int da, int b, int db, int n) {
  int d;
  for (d = 0; d < n; d++) {
    nw->tie[nw->nties][0] = nw->base[a] + da + d;
    nw->tie[nw->nties][1] = nw->base[b] + db + d;
    nw->nties++;
  }
}


/* Make n dimensions of operand k from d0 on the next result ones. */
static void result(network *nw, int k, int d0, int n) {
  int d;
  for (d = 0; d < n; d++) nw->res[nw->nres++] = nw->base[k] + d0 + d;
}


/* Run nw over every combination of the operands' terms, summing into a
** new Jacobian of the given shapes. */
static gd_status product(gd_jacobian **out, network *nw,
                         const gd_jacobian *const *js, int nnum,
                         const size_t *num, int nden, const size_t *den,
                         gd_error *err) {
  int idx[GD_JAC_MAX_CHAIN + 1], k;
  gd_jacobian_term t;
  gd_jacobian *r;

  if (check_dims("jacobian product", nnum, nden, err)) return err->code;
  if ((r = alloc_jac(nnum, num, nden, den, err)) == NULL) return err->code;
  memset(idx, 0, sizeof idx);
  for (;;) {
    for (k = 0; k < nw->nops; k++) nw->op[k].t = &js[k]->term[idx[k]];
    if (contract(&t, NULL, nw, err) || push_term(r, &t, err)) {
      gd_jacobian_free(r);
      return err->code;
    }
    for (k = nw->nops - 1; k >= 0 && ++idx[k] == js[k]->nterms; k--)
      idx[k] = 0;
    if (k < 0) break;
  }
  *out = r;
  return GD_OK;
}


static gd_status mismatch(const char *op, int blame, int na,
                          const size_t *a, int nb, const size_t *b,
                          gd_error *err) {
  char sa[GD_SHAPESTR_SIZE], sb[GD_SHAPESTR_SIZE];
  return gd_error_set(err, GD_ERR_SHAPE, blame,
                      "%s: denominator %s does not match numerator %s",
                      op, gd_shape_str(sa, sizeof sa, na, a),
                      gd_shape_str(sb, sizeof sb, nb, b));
}


/* The network of A * B: A's denominator tied to B's numerator. */
static gd_status compose_network(network *nw, const gd_jacobian *a,
                                 const gd_jacobian *b, gd_error *err) {
  if (!same_shape(a->nden, a->den, b->nnum, b->num))
    return mismatch("compose", 2, a->nden, a->den, b->nnum, b->num, err);
  if (check_dims("compose", a->nnum, b->nden, err)) return err->code;
  memset(nw, 0, sizeof *nw);
  add_operand(nw, a);
  add_operand(nw, b);
  tie(nw, 0, a->nnum, 1, 0, a->nden);
  result(nw, 0, 0, a->nnum);
  result(nw, 1, b->nnum, b->nden);
  return GD_OK;
}


gd_status gd_jacobian_compose(gd_jacobian **out, const gd_jacobian *a,
                              const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  const gd_jacobian *js[2];
  network nw;
  if (err == NULL) err = &spare;
  if (compose_network(&nw, a, b, err)) return err->code;
  js[0] = a;
  js[1] = b;
  return product(out, &nw, js, a->nnum, a->num, b->nden, b->den, err);
}


/*
** Into out: in place when both operands are single terms and out has
** the result's structure; otherwise the result is made and written into
** out's dense form, which out must then be.
*/
gd_status gd_jacobian_compose_into(gd_jacobian *out, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  const gd_jacobian *js[2];
  gd_jacobian *r;
  gd_status st;
  network nw;

  if (err == NULL) err = &spare;
  if (compose_network(&nw, a, b, err)) return err->code;
  if (out->nterms != 1 || !same_shape(out->nnum, out->num, a->nnum, a->num)
      || !same_shape(out->nden, out->den, b->nden, b->den))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "compose: the target is "
                        "not a single-term jacobian of the result's "
                        "shapes");
  if (a->nterms == 1 && b->nterms == 1) {
    st = contract(NULL, &out->term[0], &nw, err);
    if (st != GD_ERR_ARG) return st;
  }
  if (gd_jacobian_kind_of(out) != GD_JAC_DENSE)
    return gd_error_set(err, GD_ERR_SHAPE, 0, "compose: the target's "
                        "structure is not the result's");
  js[0] = a;
  js[1] = b;
  if (product(&r, &nw, js, a->nnum, a->num, b->nden, b->den, err))
    return err->code;
  out->term[0].scale = 1.0;
  st = gd_jacobian_dense_into(out->term[0].f, r, err);
  gd_jacobian_free(r);
  return st;
}


/* ---- compiled compositions -------------------------------------------- */

/* How a compiled composition computes its factor. */
enum { RUN_FILL, RUN_PRODUCT, RUN_EINSUM };

struct gd_jacobian_plan {
  network nw;                      /* operands point into A's and B's terms */
  gd_jacobian_term *into;          /* the target's term */
  double sizes;                    /* the scale the structure fixes */
  int kind, nf;
  const gd_tensor *ops[GD_JAC_MAX_CHAIN + 1];
  gd_einsum_plan *ep;              /* for RUN_EINSUM */
};


void gd_jacobian_plan_free(gd_jacobian_plan *p) {
  if (p == NULL) return;
  gd_einsum_plan_free(p->ep);
  gd_free(p, sizeof *p);
}


/* Check the operands and the target of a compiled composition. */
static gd_status plan_check(const gd_jacobian *dst, const gd_jacobian *a,
                            const gd_jacobian *b, gd_error *err) {
  if (a->nterms != 1 || b->nterms != 1 || dst->nterms != 1)
    return gd_error_set(err, GD_ERR_ARG, 0, "compose plan: operands of "
                        "%d and %d terms and a target of %d (one each "
                        "expected)", a->nterms, b->nterms, dst->nterms);
  if (!same_shape(dst->nnum, dst->num, a->nnum, a->num) ||
      !same_shape(dst->nden, dst->den, b->nden, b->den))
    return gd_error_set(err, GD_ERR_SHAPE, 0, "compose plan: the target "
                        "does not have the result's shapes");
  return GD_OK;
}


/* Fill p from the unified labels: the subscripts, the target's match
** and how the factor is to be computed. */
static gd_status plan_make(gd_jacobian_plan *p, gd_jacobian *dst,
                           gd_error *err) {
  unified u;
  char subs[SUBS_SIZE];
  gd_jacobian_term t;
  int nfl;

  unify(&u, &p->nw);
  memset(&t, 0, sizeof t);
  p->sizes = size_scale(&u, &p->nw);
  if (subscripts(subs, p->ops, &p->nf, &nfl, &t, &u, &p->nw, err))
    return err->code;
  canonical(&t, p->nw.nres, nfl);
  p->into = &dst->term[0];
  if (nfl != p->into->f->ndim ||
      memcmp(t.lab, p->into->lab, (size_t)p->nw.nres) != 0 ||
      memcmp(t.flab, p->into->flab, (size_t)nfl) != 0)
    return gd_error_set(err, GD_ERR_SHAPE, 0, "compose plan: the "
                        "target's structure is not the result's");
  if (p->nf == 0) {
    p->kind = RUN_FILL;
    return GD_OK;
  }
  if (is_elementwise(subs, p->ops, p->nf, p->into->f)) {
    p->kind = RUN_PRODUCT;
    return GD_OK;
  }
  p->kind = RUN_EINSUM;
  return gd_einsum_plan_new(&p->ep, subs, p->nf, p->ops, p->into->f, err);
}


/*
** Unify the labels of A * B once and keep what remains: the factors to
** contract, the einsum plan that contracts them into dst's factor and
** the scale that the structure fixes. On error nothing is kept.
*/
gd_status gd_jacobian_compose_plan(gd_jacobian_plan **out,
                                   gd_jacobian *dst, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err) {
  gd_error spare;
  gd_jacobian_plan *p;

  if (err == NULL) err = &spare;
  if (plan_check(dst, a, b, err)) return err->code;
  if ((p = gd_malloc(sizeof *p)) == NULL) return nomem(err);
  memset(p, 0, sizeof *p);
  if (compose_network(&p->nw, a, b, err) || plan_make(p, dst, err)) {
    gd_jacobian_plan_free(p);
    return err->code;
  }
  *out = p;
  return GD_OK;
}


GD_LOOPS_BEGIN


/* o = s (a b) element by element (a b alone when s is 1). */
GD_CLONES
static void times(double *o, const double *a, const double *b,
                  size_t n, double s) {
  size_t i;
  if (s == 1.0)
    for (i = 0; i < n; i++) o[i] = a[i] * b[i];
  else
    for (i = 0; i < n; i++) o[i] = s * (a[i] * b[i]);
}


GD_LOOPS_END


/* The factor of the target by the kept plan, the operands' scales (which
** values may change) folded in. */
gd_status gd_jacobian_plan_run(gd_jacobian_plan *p, gd_error *err) {
  gd_error spare;
  gd_tensor *f = p->into->f;
  double s = operand_scale(&p->nw) * p->sizes;

  if (err == NULL) err = &spare;
  p->into->scale = 1.0;
  if (p->kind == RUN_FILL) return gd_tensor_fill(f, s, err);
  if (p->kind == RUN_PRODUCT) {
    times(gd_tensor_data(f), gd_tensor_data(p->ops[0]),
          gd_tensor_data(p->ops[1]), gd_tensor_numel(f), s);
    return GD_OK;
  }
  if (gd_einsum_plan_run(p->ep, f, p->ops, err)) return err->code;
  if (s == 1.0) return GD_OK;
  return gd_tensor_binary_scalar_into(f, GD_MUL, f, s, 0, err);
}


gd_status gd_jacobian_chain(gd_jacobian **out, int n,
                            const gd_jacobian *const *js, gd_error *err) {
  gd_error spare;
  network nw;
  int k;
  if (err == NULL) err = &spare;
  if (n < 1 || n > GD_JAC_MAX_CHAIN)
    return gd_error_set(err, GD_ERR_ARG, 0, "chain: %d jacobians (1 to "
                        "%d expected)", n, GD_JAC_MAX_CHAIN);
  for (k = 1; k < n; k++)
    if (!same_shape(js[k - 1]->nden, js[k - 1]->den, js[k]->nnum,
                    js[k]->num))
      return mismatch("chain", k + 1, js[k - 1]->nden, js[k - 1]->den,
                      js[k]->nnum, js[k]->num, err);
  memset(&nw, 0, sizeof nw);
  for (k = 0; k < n; k++) {
    add_operand(&nw, js[k]);
    if (k > 0) tie(&nw, k - 1, js[k - 1]->nnum, k, 0, js[k]->nnum);
  }
  result(&nw, 0, 0, js[0]->nnum);
  result(&nw, n - 1, js[n - 1]->nnum, js[n - 1]->nden);
  return product(out, &nw, js, js[0]->nnum, js[0]->num, js[n - 1]->nden,
                 js[n - 1]->den, err);
}


/*
** C[x, u, v] = sum T[x, y1, y2] A[y1, u] B[y2, v] as one contraction. T's
** denominator must be A's numerator followed by B's; a diagonal T (an
** element-wise second derivative) ties y1 and y2 to x, so A and B meet
** sample by sample instead of through a dense T.
*/
gd_status gd_jacobian_bilinear(gd_jacobian **out, const gd_jacobian *t,
                               const gd_jacobian *a, const gd_jacobian *b,
                               gd_error *err) {
  gd_error spare;
  const gd_jacobian *js[3];
  size_t y[GD_MAX_DIMS];
  network nw;

  if (err == NULL) err = &spare;
  if (a->nnum + b->nnum > GD_MAX_DIMS)
    return mismatch("bilinear", 2, t->nden, t->den, a->nnum, a->num, err);
  if (a->nnum) memcpy(y, a->num, (size_t)a->nnum * sizeof *y);
  if (b->nnum) memcpy(y + a->nnum, b->num, (size_t)b->nnum * sizeof *y);
  if (!same_shape(t->nden, t->den, a->nnum + b->nnum, y))
    return mismatch("bilinear", 2, t->nden, t->den, a->nnum + b->nnum, y,
                    err);
  if (check_dims("bilinear", t->nnum, a->nden + b->nden, err))
    return err->code;

  memset(&nw, 0, sizeof nw);
  add_operand(&nw, t);
  add_operand(&nw, a);
  add_operand(&nw, b);
  tie(&nw, 0, t->nnum, 1, 0, a->nnum);
  tie(&nw, 0, t->nnum + a->nnum, 2, 0, b->nnum);
  result(&nw, 0, 0, t->nnum);
  result(&nw, 1, a->nnum, a->nden);
  result(&nw, 2, b->nnum, b->nden);
  if (a->nden) memcpy(y, a->den, (size_t)a->nden * sizeof *y);
  if (b->nden) memcpy(y + a->nden, b->den, (size_t)b->nden * sizeof *y);
  js[0] = t;
  js[1] = a;
  js[2] = b;
  return product(out, &nw, js, t->nnum, t->num, a->nden + b->nden, y, err);
}


/* r = J v for v of the denominator's shape, as the composition of J
** with v seen as a Jacobian of an empty denominator. */
gd_status gd_jacobian_apply(gd_tensor **out, const gd_jacobian *j,
                            const gd_tensor *v, gd_error *err) {
  gd_error spare;
  gd_jacobian *jv, *r;
  gd_status st;
  char sv[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE];
  if (err == NULL) err = &spare;
  if (!same_shape(v->ndim, v->shape, j->nden, j->den))
    return gd_error_set(err, GD_ERR_SHAPE, 2, "apply: tensor %s does not "
                        "match denominator %s",
                        gd_tensor_shape_str(v, sv, sizeof sv),
                        gd_shape_str(sd, sizeof sd, j->nden, j->den));
  if (gd_jacobian_new(&jv, v, v->ndim, v->shape, 0, NULL, err))
    return err->code;
  st = gd_jacobian_compose(&r, j, jv, err);
  gd_jacobian_free(jv);
  if (st) return st;
  st = gd_jacobian_dense(out, r, err);
  gd_jacobian_free(r);
  return st;
}


char *gd_jacobian_describe(const gd_jacobian *j, char *buf, size_t size) {
  char sn[GD_SHAPESTR_SIZE], sd[GD_SHAPESTR_SIZE];
  gd_jacobian_kind kind = gd_jacobian_kind_of(j);
  gd_shape_str(sn, sizeof sn, j->nnum, j->num);
  gd_shape_str(sd, sizeof sd, j->nden, j->den);
  if (kind == GD_JAC_DENSE)
    snprintf(buf, size, "TensorJacobian d(%s) / d(%s)", sn, sd);
  else
    snprintf(buf, size, "TensorJacobian (%s) d(%s) / d(%s)",
             gd_jacobian_kind_name(kind), sn, sd);
  return buf;
}
