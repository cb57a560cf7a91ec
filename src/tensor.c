/*
** tensor.c: making, viewing and releasing tensors. A tensor is a header
** (shape, strides, offset) over a reference-counted storage; every view
** function here builds a new header over the same storage and copies no
** element. Element-wise work, copies and reductions live in tensor_ops.c.
**
** Limits: float64 only; at most GD_MAX_DIMS dimensions; strides are
** counted in elements and are never negative; a wrapped buffer is trusted
** to hold every element its shape and strides reach.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor.h"


/* ---- storage and headers ------------------------------------------ */

/* Check that ndim and shape describe a tensor the core can hold. */
static gd_status check_shape(const char *op, int ndim, const size_t *shape,
                             gd_error *err) {
  if (ndim < 0 || ndim > GD_MAX_DIMS)
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "%s: %d dimensions, expected 0 to %d", op, ndim,
                        GD_MAX_DIMS);
  if (ndim > 0 && shape == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "%s: no shape given", op);
  return GD_OK;
}


/* The number of elements of a shape in *n, or 0 when the product of its
** non-zero sizes is past what strides can address (as NumPy, an empty
** shape is refused too when its other sizes are that large). */
static int shape_numel(int ndim, const size_t *shape, size_t *n) {
  size_t total = 1;
  int i, empty = 0;
  for (i = 0; i < ndim; i++) {
    if (shape[i] == 0) empty = 1;
    else if (!gd_mul_size(total, shape[i], &total)
             || total > (size_t)PTRDIFF_MAX)
      return 0;
  }
  *n = empty ? 0 : total;
  return 1;
}


/* The error for a shape too large to allocate, with the element count
** written as a float because it may not fit in a size_t. */
static gd_status too_large(const char *op, int ndim, const size_t *shape,
                           gd_error *err) {
  char buf[GD_SHAPESTR_SIZE];
  double n = 1;
  int i;
  for (i = 0; i < ndim; i++)
    if (shape[i] != 0) n *= (double)shape[i];
  return gd_error_set(err, GD_ERR_NOMEM, 0,
                      "%s: cannot allocate %.4g elements (shape %s)", op, n,
                      gd_shape_str(buf, sizeof buf, ndim, shape));
}


/* Only a shape with no elements can have strides past PTRDIFF_MAX, and
** those are never used: they stop growing there. */
void gd_tensor_row_major(int ndim, const size_t *shape, ptrdiff_t *strides) {
  size_t s = 1;
  int i;
  for (i = ndim - 1; i >= 0; i--) {
    strides[i] = (ptrdiff_t)s;
    if (shape[i] > 1 && (!gd_mul_size(s, shape[i], &s)
                         || s > (size_t)PTRDIFF_MAX))
      s = (size_t)PTRDIFF_MAX;
  }
}


/* A new contiguous tensor of the given shape whose elements are not yet
** set. op names the calling operation in error messages. Nothing is
** allocated on error. */
static gd_status alloc_tensor(gd_tensor **out, const char *op, int ndim,
                              const size_t *shape, gd_error *err) {
  gd_tensor *t;
  gd_storage *s;
  size_t n, bytes;
  gd_status st = check_shape(op, ndim, shape, err);

  if (st != GD_OK) return st;
  if (!shape_numel(ndim, shape, &n) ||
      !gd_mul_size(n, sizeof(double), &bytes) || n > PTRDIFF_MAX / 8)
    return too_large(op, ndim, shape, err);

  t = gd_malloc(sizeof *t);
  s = gd_malloc(sizeof *s);
  if (t != NULL && s != NULL) s->data = gd_malloc(bytes);
  if (t == NULL || s == NULL || s->data == NULL) {
    if (s != NULL) gd_free(s, sizeof *s);
    gd_free(t, sizeof *t);
    return too_large(op, ndim, shape, err);
  }

  s->size = n;
  s->refcount = 1;
  s->release = NULL;
  s->release_ud = NULL;
  memset(t, 0, sizeof *t);
  t->storage = s;
  t->offset = 0;
  t->ndim = ndim;
  if (ndim > 0) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  gd_tensor_row_major(ndim, shape, t->strides);
  *out = t;
  return GD_OK;
}


/* Publish a header built on the stack as a new view of its storage. */
static gd_status publish(gd_tensor **out, const gd_tensor *h,
                         const char *op, gd_error *err) {
  gd_tensor *t = gd_malloc(sizeof *t);
  if (t == NULL)
    return gd_error_set(err, GD_ERR_NOMEM, 0,
                        "%s: cannot allocate a tensor header", op);
  *t = *h;
  t->storage->refcount++;
  *out = t;
  return GD_OK;
}


void gd_tensor_free(gd_tensor *t) {
  gd_storage *s;
  if (t == NULL) return;
  s = t->storage;
  if (s != NULL && --s->refcount <= 0) {
    if (s->release != NULL)
      s->release(s->release_ud);
    else if (s->data != NULL)
      gd_free(s->data, s->size * sizeof(double));
    gd_free(s, sizeof *s);
  }
  gd_free(t, sizeof *t);
}


/* ---- creation ------------------------------------------------------ */

/* Errors name the operation "zeros", as users call it. */
gd_status gd_tensor_new(gd_tensor **out, int ndim, const size_t *shape,
                        gd_error *err) {
  gd_tensor *t;
  gd_status st = alloc_tensor(&t, "zeros", ndim, shape, err);
  if (st != GD_OK) return st;
  memset(t->storage->data, 0, t->storage->size * sizeof(double));
  *out = t;
  return GD_OK;
}


gd_status gd_tensor_full(gd_tensor **out, int ndim, const size_t *shape,
                         double v, gd_error *err) {
  gd_tensor *t;
  size_t i, n;
  gd_status st = alloc_tensor(&t, "full", ndim, shape, err);
  if (st != GD_OK) return st;
  n = t->storage->size;
  for (i = 0; i < n; i++) t->storage->data[i] = v;
  *out = t;
  return GD_OK;
}


gd_status gd_tensor_scalar(gd_tensor **out, double v, gd_error *err) {
  return gd_tensor_full(out, 0, NULL, v, err);
}


gd_status gd_tensor_eye(gd_tensor **out, size_t n, size_t m,
                        gd_error *err) {
  size_t shape[2], i;
  gd_tensor *t;
  gd_status st;
  shape[0] = n;
  shape[1] = m;
  st = gd_tensor_new(&t, 2, shape, err);
  if (st != GD_OK) return st;
  for (i = 0; i < n && i < m; i++) t->storage->data[i * m + i] = 1.0;
  *out = t;
  return GD_OK;
}


/* numpy.arange: ceil((stop - start) / step) values start + i * step. */
gd_status gd_tensor_arange(gd_tensor **out, double start, double stop,
                           double step, gd_error *err) {
  double len;
  size_t n, i;
  gd_tensor *t;
  gd_status st;

  if (step == 0.0)
    return gd_error_set(err, GD_ERR_ARG, 0, "arange: step is zero");
  if (!isfinite(start) || !isfinite(stop) || !isfinite(step))
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "arange: start, stop and step must be finite");
  len = ceil((stop - start) / step);
  if (len > 1e18)
    return gd_error_set(err, GD_ERR_NOMEM, 0,
                        "arange: cannot allocate %.4g elements", len);
  n = len > 0 ? (size_t)len : 0;

  st = alloc_tensor(&t, "arange", 1, &n, err);
  if (st != GD_OK) return st;
  for (i = 0; i < n; i++) t->storage->data[i] = start + (double)i * step;
  *out = t;
  return GD_OK;
}


/* numpy.linspace: n values from a to b, both included, the last set to b
** exactly. */
gd_status gd_tensor_linspace(gd_tensor **out, double a, double b,
                             size_t n, gd_error *err) {
  gd_tensor *t;
  double step;
  size_t i;
  gd_status st = alloc_tensor(&t, "linspace", 1, &n, err);
  if (st != GD_OK) return st;
  step = n > 1 ? (b - a) / (double)(n - 1) : 0.0;
  for (i = 0; i < n; i++) t->storage->data[i] = a + (double)i * step;
  if (n > 1) t->storage->data[n - 1] = b;
  *out = t;
  return GD_OK;
}


/* Samples of rng in row-major order: uniform when normal is 0. */
static gd_status random_tensor(gd_tensor **out, const char *op, int ndim,
                               const size_t *shape, gd_rng *rng,
                               int normal, gd_error *err) {
  gd_tensor *t;
  size_t i, n;
  gd_status st;
  if (rng == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "%s: no generator given", op);
  st = alloc_tensor(&t, op, ndim, shape, err);
  if (st != GD_OK) return st;
  n = t->storage->size;
  for (i = 0; i < n; i++)
    t->storage->data[i] = normal ? gd_rng_normal(rng)
                                 : gd_rng_uniform(rng);
  *out = t;
  return GD_OK;
}


gd_status gd_tensor_rand(gd_tensor **out, int ndim, const size_t *shape,
                         gd_rng *rng, gd_error *err) {
  return random_tensor(out, "rand", ndim, shape, rng, 0, err);
}


gd_status gd_tensor_randn(gd_tensor **out, int ndim, const size_t *shape,
                          gd_rng *rng, gd_error *err) {
  return random_tensor(out, "randn", ndim, shape, rng, 1, err);
}


gd_status gd_tensor_from_data(gd_tensor **out, int ndim,
                              const size_t *shape, const double *data,
                              gd_error *err) {
  gd_tensor *t;
  gd_status st = alloc_tensor(&t, "from_data", ndim, shape, err);
  if (st != GD_OK) return st;
  if (t->storage->size > 0) {
    if (data == NULL) {
      gd_tensor_free(t);
      return gd_error_set(err, GD_ERR_ARG, 0, "from_data: no data given");
    }
    memcpy(t->storage->data, data, t->storage->size * sizeof(double));
  }
  *out = t;
  return GD_OK;
}


/* One past the largest element offset that shape and strides reach, in
** *extent (0 for an empty shape); 0 when it overflows. */
static int view_extent(int ndim, const size_t *shape,
                       const ptrdiff_t *strides, size_t *extent) {
  size_t last = 0, step;
  int i;
  for (i = 0; i < ndim; i++) {
    if (shape[i] == 0) {
      *extent = 0;
      return 1;
    }
  }
  for (i = 0; i < ndim; i++) {
    if (!gd_mul_size(shape[i] - 1, (size_t)strides[i], &step) ||
        !gd_add_size(last, step, &last))
      return 0;
  }
  *extent = last + 1;
  return 1;
}


/* The release of wrapped memory that its owner frees. */
static void keep(void *ud) {
  (void)ud;
}


/* The caller keeps ownership of data on error: release is not called. */
gd_status gd_tensor_wrap(gd_tensor **out, double *data, int ndim,
                         const size_t *shape, const ptrdiff_t *strides,
                         void (*release)(void *ud), void *ud,
                         gd_error *err) {
  gd_tensor h;
  gd_storage *s;
  size_t extent, n;
  int i;
  gd_status st = check_shape("wrap", ndim, shape, err);

  if (st != GD_OK) return st;
  memset(&h, 0, sizeof h);
  h.ndim = ndim;
  if (ndim > 0) memcpy(h.shape, shape, (size_t)ndim * sizeof *shape);
  if (strides != NULL) {
    for (i = 0; i < ndim; i++) {
      if (strides[i] < 0)
        return gd_error_set(err, GD_ERR_ARG, 0,
                            "wrap: stride %td of dimension %d is negative",
                            strides[i], i);
      h.strides[i] = strides[i];
    }
  } else {
    if (!shape_numel(ndim, shape, &n) || n > PTRDIFF_MAX / 8)
      return too_large("wrap", ndim, shape, err);
    gd_tensor_row_major(ndim, shape, h.strides);
  }
  if (!view_extent(ndim, h.shape, h.strides, &extent) ||
      extent > PTRDIFF_MAX / 8)
    return too_large("wrap", ndim, shape, err);
  if (extent > 0 && data == NULL)
    return gd_error_set(err, GD_ERR_ARG, 0, "wrap: no data given");

  s = gd_malloc(sizeof *s);
  if (s == NULL)
    return gd_error_set(err, GD_ERR_NOMEM, 0,
                        "wrap: cannot allocate a storage header");
  s->data = data;
  s->size = extent;
  s->refcount = 0;
  s->release = release != NULL ? release : keep;
  s->release_ud = ud;
  h.storage = s;
  st = publish(out, &h, "wrap", err);
  if (st != GD_OK) gd_free(s, sizeof *s);
  return st;
}


/* ---- facts --------------------------------------------------------- */

size_t gd_tensor_numel(const gd_tensor *t) {
  size_t n = 1;
  int i;
  for (i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}


/* Row-major order with no gaps; size-1 dimensions may have any stride. */
int gd_tensor_is_contiguous(const gd_tensor *t) {
  ptrdiff_t expect = 1;
  int i;
  for (i = 0; i < t->ndim; i++)
    if (t->shape[i] == 0) return 1;
  for (i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] == 1) continue;
    if (t->strides[i] != expect) return 0;
    expect *= (ptrdiff_t)t->shape[i];
  }
  return 1;
}


int gd_tensor_is_writable(const gd_tensor *t) {
  int i;
  for (i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->shape[i] > 1) return 0;
  return 1;
}


double *gd_tensor_data(const gd_tensor *t) {
  return t->storage->data + t->offset;
}


int gd_tensor_same_shape(const gd_tensor *a, const gd_tensor *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}


char *gd_tensor_shape_str(const gd_tensor *t, char *buf, size_t size) {
  return gd_shape_str(buf, size, t->ndim, t->shape);
}


/* ---- views --------------------------------------------------------- */

/* The error for a dimension outside 0 .. ndim - 1 (or 0 .. ndim when
** inserting). */
static gd_status bad_dim(const char *op, int dim, int ndim,
                         gd_error *err) {
  return gd_error_set(err, GD_ERR_RANGE, 1,
                      "%s: dimension %d out of range for a tensor of "
                      "%d dims", op, dim, ndim);
}


gd_status gd_tensor_view(gd_tensor **out, const gd_tensor *t,
                         gd_error *err) {
  return publish(out, t, "view", err);
}


/* Strides that let shape ns read t's elements in row-major order without
** a copy, as NumPy's reshape finds them: runs of old dimensions that are
** contiguous among themselves split or merge into new ones. Returns 0
** when no such strides exist. Size-1 old dimensions are skipped. */
static int reshape_strides(const gd_tensor *t, int nn, const size_t *ns,
                           ptrdiff_t *nst) {
  size_t os[GD_MAX_DIMS];
  ptrdiff_t ost[GD_MAX_DIMS];
  int on = 0, oi = 0, oj = 1, ni = 0, nj = 1, i;
  size_t np, op;

  for (i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1) continue;
    os[on] = t->shape[i];
    ost[on++] = t->strides[i];
  }
  while (ni < nn && oi < on) {
    np = ns[ni];
    op = os[oi];
    while (np != op) {
      if (np < op) {
        if (nj >= nn) return 0;
        np *= ns[nj++];
      } else {
        if (oj >= on) return 0;
        op *= os[oj++];
      }
    }
    for (i = oi; i < oj - 1; i++)
      if (ost[i] != (ptrdiff_t)os[i + 1] * ost[i + 1]) return 0;
    nst[nj - 1] = ost[oj - 1];
    for (i = nj - 1; i > ni; i--)
      nst[i - 1] = nst[i] * (ptrdiff_t)ns[i];
    ni = nj++;
    oi = oj++;
  }
  for (i = ni; i < nn; i++) nst[i] = 1;
  return 1;
}


/* A requested shape as text, with "?" for a size to infer. */
static char *request_str(char *buf, size_t size, int ndim,
                         const size_t *shape) {
  size_t used = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; i < ndim && used < size; i++) {
    int n = shape[i] == GD_INFER
            ? snprintf(buf + used, size - used, i ? "x?" : "?")
            : snprintf(buf + used, size - used, i ? "x%zu" : "%zu",
                       shape[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  if (ndim == 0) snprintf(buf, size, "scalar");
  return buf;
}


/* Resolve a GD_INFER size into ns and check that the element counts
** agree. */
static gd_status reshape_shape(const gd_tensor *t, int ndim,
                               const size_t *shape, size_t *ns,
                               gd_error *err) {
  char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
  size_t n = gd_tensor_numel(t), known = 1;
  int i, infer = -1, overflow = 0;

  for (i = 0; i < ndim; i++) {
    ns[i] = shape[i];
    if (shape[i] == GD_INFER) {
      if (infer >= 0)
        return gd_error_set(err, GD_ERR_ARG, 2,
                            "reshape: more than one size to infer");
      infer = i;
    } else if (!gd_mul_size(known, shape[i], &known)) {
      overflow = 1;
    }
  }
  if (!overflow && infer >= 0 && known != 0 && n % known == 0) {
    ns[infer] = n / known;
    return GD_OK;
  }
  if (!overflow && infer < 0 && known == n) return GD_OK;
  return gd_error_set(err, GD_ERR_SHAPE, 2,
                      "reshape: cannot reshape %zu elements (shape %s) "
                      "into %s", n, gd_tensor_shape_str(t, a, sizeof a),
                      request_str(b, sizeof b, ndim, shape));
}


gd_status gd_tensor_reshape(gd_tensor **out, const gd_tensor *t,
                            int ndim, const size_t *shape, int allow_copy,
                            gd_error *err) {
  gd_tensor h, *c;
  gd_status st = check_shape("reshape", ndim, shape, err);

  if (st != GD_OK) return st;
  h = *t;
  h.ndim = ndim;
  st = reshape_shape(t, ndim, shape, h.shape, err);
  if (st != GD_OK) return st;
  if (gd_tensor_numel(t) == 0) {
    gd_tensor_row_major(ndim, h.shape, h.strides);
    return publish(out, &h, "reshape", err);
  }
  if (reshape_strides(t, ndim, h.shape, h.strides))
    return publish(out, &h, "reshape", err);
  if (!allow_copy) {
    char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
    return gd_error_set(err, GD_ERR_LAYOUT, 1,
                        "reshape: a view of shape %s cannot be reshaped "
                        "to %s without a copy",
                        gd_tensor_shape_str(t, a, sizeof a),
                        gd_shape_str(b, sizeof b, ndim, h.shape));
  }

  st = gd_tensor_clone(&c, t, err);
  if (st != GD_OK) return st;
  c->ndim = ndim;
  memcpy(c->shape, h.shape, sizeof h.shape);
  gd_tensor_row_major(ndim, c->shape, c->strides);
  *out = c;
  return GD_OK;
}


gd_status gd_tensor_transpose(gd_tensor **out, const gd_tensor *t,
                              int d0, int d1, gd_error *err) {
  gd_tensor h = *t;
  if (d0 < 0 || d0 >= t->ndim) return bad_dim("transpose", d0, t->ndim,
                                              err);
  if (d1 < 0 || d1 >= t->ndim) return bad_dim("transpose", d1, t->ndim,
                                              err);
  h.shape[d0] = t->shape[d1];
  h.shape[d1] = t->shape[d0];
  h.strides[d0] = t->strides[d1];
  h.strides[d1] = t->strides[d0];
  return publish(out, &h, "transpose", err);
}


gd_status gd_tensor_permute(gd_tensor **out, const gd_tensor *t,
                            const int *perm, gd_error *err) {
  gd_tensor h = *t;
  int seen[GD_MAX_DIMS] = {0};
  int i;
  for (i = 0; i < t->ndim; i++) {
    int p = perm[i];
    if (p < 0 || p >= t->ndim) return bad_dim("permute", p, t->ndim, err);
    if (seen[p])
      return gd_error_set(err, GD_ERR_ARG, 2,
                          "permute: dimension %d appears twice", p);
    seen[p] = 1;
    h.shape[i] = t->shape[p];
    h.strides[i] = t->strides[p];
  }
  return publish(out, &h, "permute", err);
}


gd_status gd_tensor_narrow(gd_tensor **out, const gd_tensor *t, int dim,
                           size_t start, size_t len, gd_error *err) {
  gd_tensor h = *t;
  if (dim < 0 || dim >= t->ndim) return bad_dim("narrow", dim, t->ndim,
                                                err);
  if (start > t->shape[dim] || len > t->shape[dim] - start)
    return gd_error_set(err, GD_ERR_RANGE, 1,
                        "narrow: start %zu and length %zu out of range "
                        "for dimension %d of size %zu", start, len, dim,
                        t->shape[dim]);
  h.shape[dim] = len;
  if (len > 0) h.offset += start * (size_t)t->strides[dim];
  return publish(out, &h, "narrow", err);
}


gd_status gd_tensor_select(gd_tensor **out, const gd_tensor *t, int dim,
                           size_t idx, gd_error *err) {
  gd_tensor h = *t;
  int i;
  if (dim < 0 || dim >= t->ndim) return bad_dim("select", dim, t->ndim,
                                                err);
  if (idx >= t->shape[dim])
    return gd_error_set(err, GD_ERR_RANGE, 1,
                        "select: index %zu out of range for dimension %d "
                        "of size %zu", idx, dim, t->shape[dim]);
  h.offset += idx * (size_t)t->strides[dim];
  for (i = dim; i + 1 < t->ndim; i++) {
    h.shape[i] = t->shape[i + 1];
    h.strides[i] = t->strides[i + 1];
  }
  h.ndim--;
  return publish(out, &h, "select", err);
}


gd_status gd_tensor_expand(gd_tensor **out, const gd_tensor *t, int ndim,
                           const size_t *shape, gd_error *err) {
  char a[GD_SHAPESTR_SIZE], b[GD_SHAPESTR_SIZE];
  gd_tensor h = *t;
  size_t n;
  int i, lead;
  gd_status st = check_shape("expand", ndim, shape, err);

  if (st != GD_OK) return st;
  if (!shape_numel(ndim, shape, &n) || n > PTRDIFF_MAX / 8)
    return gd_error_set(err, GD_ERR_SHAPE, 2,
                        "expand: shape %s has too many elements",
                        gd_shape_str(b, sizeof b, ndim, shape));
  lead = ndim - t->ndim;
  for (i = 0; i < ndim && lead >= 0; i++) {
    size_t from = i < lead ? 1 : t->shape[i - lead];
    h.shape[i] = shape[i];
    if (i >= lead && from == shape[i])
      h.strides[i] = t->strides[i - lead];
    else if (from == 1)
      h.strides[i] = 0;
    else
      break;
  }
  if (lead < 0 || i < ndim)
    return gd_error_set(err, GD_ERR_SHAPE, 2,
                        "expand: shape %s cannot be broadcast to %s",
                        gd_tensor_shape_str(t, a, sizeof a),
                        gd_shape_str(b, sizeof b, ndim, shape));
  h.ndim = ndim;
  return publish(out, &h, "expand", err);
}


gd_status gd_tensor_squeeze(gd_tensor **out, const gd_tensor *t, int dim,
                            gd_error *err) {
  gd_tensor h = *t;
  int i, n = 0;
  if (dim != GD_ALL_DIMS) {
    if (dim < 0 || dim >= t->ndim) return bad_dim("squeeze", dim, t->ndim,
                                                  err);
    if (t->shape[dim] != 1)
      return gd_error_set(err, GD_ERR_SHAPE, 1,
                          "squeeze: dimension %d has size %zu, not 1", dim,
                          t->shape[dim]);
  }
  for (i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1 && (dim == GD_ALL_DIMS || dim == i)) continue;
    h.shape[n] = t->shape[i];
    h.strides[n++] = t->strides[i];
  }
  h.ndim = n;
  return publish(out, &h, "squeeze", err);
}


gd_status gd_tensor_unsqueeze(gd_tensor **out, const gd_tensor *t,
                              int dim, gd_error *err) {
  gd_tensor h = *t;
  int i;
  if (dim < 0 || dim > t->ndim) return bad_dim("unsqueeze", dim,
                                               t->ndim, err);
  if (t->ndim >= GD_MAX_DIMS)
    return gd_error_set(err, GD_ERR_ARG, 1,
                        "unsqueeze: a tensor of %d dims cannot grow",
                        t->ndim);
  for (i = t->ndim; i > dim; i--) {
    h.shape[i] = t->shape[i - 1];
    h.strides[i] = t->strides[i - 1];
  }
  h.shape[dim] = 1;
  h.strides[dim] = dim < t->ndim
                   ? t->strides[dim] * (ptrdiff_t)t->shape[dim] : 1;
  h.ndim++;
  return publish(out, &h, "unsqueeze", err);
}


/* ---- elements ------------------------------------------------------ */

/* The storage offset of element idx, after checking every index. */
static gd_status locate(const gd_tensor *t, const size_t *idx,
                        const char *op, size_t *at, gd_error *err) {
  size_t o = t->offset;
  int i;
  for (i = 0; i < t->ndim; i++) {
    if (idx[i] >= t->shape[i])
      return gd_error_set(err, GD_ERR_RANGE, 2,
                          "%s: index %zu out of range for dimension %d "
                          "of size %zu", op, idx[i], i, t->shape[i]);
    o += idx[i] * (size_t)t->strides[i];
  }
  *at = o;
  return GD_OK;
}


gd_status gd_tensor_get(const gd_tensor *t, const size_t *idx, double *v,
                        gd_error *err) {
  size_t at;
  gd_status st = locate(t, idx, "get", &at, err);
  if (st == GD_OK) *v = t->storage->data[at];
  return st;
}


gd_status gd_tensor_set(gd_tensor *t, const size_t *idx, double v,
                        gd_error *err) {
  size_t at;
  gd_status st;
  if (!gd_tensor_is_writable(t))
    return gd_error_set(err, GD_ERR_READONLY, 1,
                        "set: the tensor is a broadcast view and refuses "
                        "writes");
  st = locate(t, idx, "set", &at, err);
  if (st == GD_OK) t->storage->data[at] = v;
  return st;
}
