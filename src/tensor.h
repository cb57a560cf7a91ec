/*
** tensor.h: n-d float64 tensors as views (shape, strides, offset) over
** reference-counted storage, with NumPy broadcasting.
**
** Conventions: indices and dimensions are 0-based here (the Lua binding
** makes them 1-based). A function that makes a tensor stores it in *out,
** which the caller then owns and releases with gd_tensor_free; on error
** *out and every input are left unchanged and nothing leaks. The "_into"
** forms write into an existing tensor of the right shape and allocate
** nothing, so a training loop can run without allocating.
**
** Errors blame operand 1 for the first tensor argument and 2 for the
** second (or for a shape, dimension or index argument that follows the
** first tensor); a wrong "out" of an "_into" form is blamed as operand 0
** and the message says "out". Allocation errors are GD_ERR_NOMEM and name
** the element count and the shape.
**
** Limits: float64 only; at most GD_MAX_DIMS (16) dimensions; strides are
** counted in elements and are never negative.
*/
#ifndef GD_TENSOR_H
#define GD_TENSOR_H

#include <stddef.h>

#include "core.h"
#include "rng.h"

/* Memory shared by views. data is freed with gd_free unless release is
** set, in which case release(release_ud) is called instead (memory the
** caller owns, wrapped without copying). */
typedef struct gd_storage {
  double *data;
  size_t size;               /* number of doubles */
  long refcount;
  void (*release)(void *ud);
  void *release_ud;
} gd_storage;

typedef struct gd_tensor {
  gd_storage *storage;
  size_t offset;                  /* in elements */
  int ndim;
  size_t shape[GD_MAX_DIMS];
  ptrdiff_t strides[GD_MAX_DIMS]; /* in elements; 0 on expanded dims */
} gd_tensor;

/* A size in a shape passed to gd_tensor_reshape that is to be inferred. */
#define GD_INFER ((size_t)-1)
/* The "dim" of a reduction over all elements. */
#define GD_ALL_DIMS (-1)

/* ---- creation ---------------------------------------------------- */

/* A new contiguous tensor of the given shape, filled with zeros. */
gd_status gd_tensor_new(gd_tensor **out, int ndim, const size_t *shape,
                        gd_error *err);
/* A new contiguous tensor filled with v. */
gd_status gd_tensor_full(gd_tensor **out, int ndim, const size_t *shape,
                         double v, gd_error *err);
/* A 0-d tensor holding v. */
gd_status gd_tensor_scalar(gd_tensor **out, double v, gd_error *err);
/* An n x m matrix with ones on the main diagonal. */
gd_status gd_tensor_eye(gd_tensor **out, size_t n, size_t m,
                        gd_error *err);
/* start, start + step, ... up to but excluding stop (as numpy.arange). */
gd_status gd_tensor_arange(gd_tensor **out, double start, double stop,
                           double step, gd_error *err);
/* n evenly spaced values from a to b inclusive (as numpy.linspace). */
gd_status gd_tensor_linspace(gd_tensor **out, double a, double b,
                             size_t n, gd_error *err);
/* Uniform [0, 1) and standard normal samples drawn from rng. */
gd_status gd_tensor_rand(gd_tensor **out, int ndim, const size_t *shape,
                         gd_rng *rng, gd_error *err);
gd_status gd_tensor_randn(gd_tensor **out, int ndim, const size_t *shape,
                          gd_rng *rng, gd_error *err);
/* A new contiguous tensor holding a copy of data (row-major). */
gd_status gd_tensor_from_data(gd_tensor **out, int ndim,
                              const size_t *shape, const double *data,
                              gd_error *err);
/* A tensor over memory the caller owns, without copying. strides may be
** NULL (row-major). release(ud) runs when the last view goes; it may be
** NULL when the caller keeps the memory alive longer than the tensor.
** On error release is not called and the caller still owns data. */
gd_status gd_tensor_wrap(gd_tensor **out, double *data, int ndim,
                         const size_t *shape, const ptrdiff_t *strides,
                         void (*release)(void *ud), void *ud,
                         gd_error *err);
/* Release one view; the storage goes with its last view. NULL is fine. */
void gd_tensor_free(gd_tensor *t);

/* ---- facts ------------------------------------------------------- */

size_t gd_tensor_numel(const gd_tensor *t);
int gd_tensor_is_contiguous(const gd_tensor *t);
/* False for views with a stride-0 dimension of size above 1. */
int gd_tensor_is_writable(const gd_tensor *t);
/* Address of the first element (storage data + offset). */
double *gd_tensor_data(const gd_tensor *t);
/* 1 when a and b have the same shape. */
int gd_tensor_same_shape(const gd_tensor *a, const gd_tensor *b);
/* The row-major strides of a shape, in elements; size-0 and size-1
** dimensions get the stride they would have with size 1. */
void gd_tensor_row_major(int ndim, const size_t *shape, ptrdiff_t *strides);
/* Write t's shape as "3x4" into buf (see gd_shape_str). */
char *gd_tensor_shape_str(const gd_tensor *t, char *buf, size_t size);

/* ---- views: new headers over the same storage, never a copy --------- */

gd_status gd_tensor_view(gd_tensor **out, const gd_tensor *t,
                         gd_error *err);
/* One size may be GD_INFER. Without allow_copy, a layout the strides
** cannot express is GD_ERR_LAYOUT; with it, the data is copied then. */
gd_status gd_tensor_reshape(gd_tensor **out, const gd_tensor *t,
                            int ndim, const size_t *shape, int allow_copy,
                            gd_error *err);
gd_status gd_tensor_transpose(gd_tensor **out, const gd_tensor *t,
                              int d0, int d1, gd_error *err);
/* Dimension i of the result is dimension perm[i] of t. */
gd_status gd_tensor_permute(gd_tensor **out, const gd_tensor *t,
                            const int *perm, gd_error *err);
/* Elements start .. start + len - 1 along dim. */
gd_status gd_tensor_narrow(gd_tensor **out, const gd_tensor *t, int dim,
                           size_t start, size_t len, gd_error *err);
/* Index idx along dim, which disappears from the result. */
gd_status gd_tensor_select(gd_tensor **out, const gd_tensor *t, int dim,
                           size_t idx, gd_error *err);
/* Broadcast to shape as numpy.broadcast_to: new leading dimensions and
** size-1 dimensions get stride 0. The result refuses writes. */
gd_status gd_tensor_expand(gd_tensor **out, const gd_tensor *t, int ndim,
                           const size_t *shape, gd_error *err);
/* Remove dimension dim of size 1, or every one when dim is GD_ALL_DIMS. */
gd_status gd_tensor_squeeze(gd_tensor **out, const gd_tensor *t, int dim,
                            gd_error *err);
/* Insert a dimension of size 1 before position dim (0 .. ndim). */
gd_status gd_tensor_unsqueeze(gd_tensor **out, const gd_tensor *t,
                              int dim, gd_error *err);

/* ---- copies ------------------------------------------------------ */

/* A view when t is already contiguous, a contiguous copy otherwise. */
gd_status gd_tensor_contiguous(gd_tensor **out, const gd_tensor *t,
                               gd_error *err);
/* Always a new contiguous copy. */
gd_status gd_tensor_clone(gd_tensor **out, const gd_tensor *t,
                          gd_error *err);
/* dst[...] = src broadcast to dst's shape; they may overlap only if
** they are the same view. */
gd_status gd_tensor_copy_into(gd_tensor *dst, const gd_tensor *src,
                              gd_error *err);
gd_status gd_tensor_fill(gd_tensor *t, double v, gd_error *err);
/* Copy the elements in row-major order into buf (numel doubles). */
void gd_tensor_to_buffer(const gd_tensor *t, double *buf);

/* ---- elements ---------------------------------------------------- */

gd_status gd_tensor_get(const gd_tensor *t, const size_t *idx, double *v,
                        gd_error *err);
gd_status gd_tensor_set(gd_tensor *t, const size_t *idx, double v,
                        gd_error *err);

/* ---- element-wise ------------------------------------------------ */

typedef enum gd_binop {
  GD_ADD, GD_SUB, GD_MUL, GD_DIV, GD_POW, GD_MAXIMUM, GD_MINIMUM,
  GD_EQ, GD_NE, GD_LT, GD_LE, GD_GT, GD_GE, GD_ATAN2
} gd_binop;

typedef enum gd_unop {
  GD_NEG, GD_ABS, GD_EXP, GD_LOG, GD_SQRT, GD_SIN, GD_COS, GD_TAN,
  GD_ASIN, GD_ACOS, GD_ATAN, GD_SINH, GD_COSH, GD_TANH, GD_SIGMOID,
  GD_RELU, GD_SIGN, GD_FLOOR, GD_CEIL, GD_ROUND, GD_SQUARE,
  GD_RECIPROCAL, GD_LOG1P, GD_EXPM1
} gd_unop;

/* Name of an operation as users write it ("add", "exp", ...). */
const char *gd_binop_name(gd_binop op);
const char *gd_unop_name(gd_unop op);

/* The NumPy broadcast of two shapes into *ndim/shape. */
gd_status gd_broadcast_shapes(int na, const size_t *sa, int nb,
                              const size_t *sb, int *ndim, size_t *shape,
                              gd_error *err);
/* out = a op b with broadcasting (comparisons give 1.0 or 0.0). */
gd_status gd_tensor_binary(gd_tensor **out, gd_binop op,
                           const gd_tensor *a, const gd_tensor *b,
                           gd_error *err);
/* The same into out, whose shape must be the broadcast shape; out may
** be a or b itself. */
gd_status gd_tensor_binary_into(gd_tensor *out, gd_binop op,
                                const gd_tensor *a, const gd_tensor *b,
                                gd_error *err);
/* out = a op s, or s op a when scalar_first is set. */
gd_status gd_tensor_binary_scalar(gd_tensor **out, gd_binop op,
                                  const gd_tensor *a, double s,
                                  int scalar_first, gd_error *err);
gd_status gd_tensor_binary_scalar_into(gd_tensor *out, gd_binop op,
                                       const gd_tensor *a, double s,
                                       int scalar_first, gd_error *err);
/* GD_ROUND rounds halves to even and GD_SIGN keeps NaN and signed zero,
** as NumPy; GD_MAXIMUM and GD_MINIMUM propagate NaN. */
gd_status gd_tensor_unary(gd_tensor **out, gd_unop op, const gd_tensor *a,
                          gd_error *err);
/* out must have a's shape; it may be a itself. */
gd_status gd_tensor_unary_into(gd_tensor *out, gd_unop op,
                               const gd_tensor *a, gd_error *err);
/* out = a * alpha + b * beta, a common fused update (out may alias). */
gd_status gd_tensor_axpby_into(gd_tensor *out, double alpha,
                               const gd_tensor *a, double beta,
                               const gd_tensor *b, gd_error *err);

/* ---- reductions -------------------------------------------------- */

typedef enum gd_reduceop {
  GD_SUM, GD_MEAN, GD_PROD, GD_MAX, GD_MIN, GD_ARGMAX, GD_ARGMIN, GD_NORM
} gd_reduceop;

const char *gd_reduceop_name(gd_reduceop op);

/* Reduce over dim, or over all elements when dim is GD_ALL_DIMS (then
** the result is 0-d, or all ones in shape with keepdim). ARGMAX/ARGMIN
** give 0-based indices (flat ones over all elements) as doubles; NORM
** is the Euclidean norm. MAX, MIN and the arg forms of an empty tensor
** are errors. NaN propagates through MAX and MIN, and the arg forms
** point at the first NaN; the mean over no elements is NaN. In the
** "_into" form out must not overlap a (GD_ERR_ARG). */
gd_status gd_tensor_reduce(gd_tensor **out, gd_reduceop op,
                           const gd_tensor *a, int dim, int keepdim,
                           gd_error *err);
gd_status gd_tensor_reduce_into(gd_tensor *out, gd_reduceop op,
                                const gd_tensor *a, int dim, int keepdim,
                                gd_error *err);
/* The same over all elements, as a plain number. */
gd_status gd_tensor_reduce_all(double *v, gd_reduceop op,
                               const gd_tensor *a, gd_error *err);

/* ---- linear algebra ---------------------------------------------- */

/* Matrix product through cblas_dgemm (dgemv for a vector): 2-d @ 2-d,
** 2-d @ 1-d, 1-d @ 2-d and 1-d @ 1-d (a 0-d result), as numpy.matmul. */
gd_status gd_tensor_matmul(gd_tensor **out, const gd_tensor *a,
                           const gd_tensor *b, gd_error *err);
/* out must have the product's shape and must not overlap a or b
** (GD_ERR_ARG); a view BLAS cannot read in place is copied first. */
gd_status gd_tensor_matmul_into(gd_tensor *out, const gd_tensor *a,
                                const gd_tensor *b, gd_error *err);

/* ---- comparison and printing ------------------------------------- */

/* 1 when a and b have the same shape and equal elements. */
int gd_tensor_equal(const gd_tensor *a, const gd_tensor *b);
/* 1 when no element of t is a NaN or an infinity (vectorised). */
int gd_tensor_all_finite(const gd_tensor *t);

typedef struct gd_format_opts {
  int precision;     /* digits after the point (default 4) */
  size_t threshold;  /* summarise above this many elements (1000) */
  size_t edgeitems;  /* items kept at each edge when summarising (3) */
  int linewidth;     /* wrap rows wider than this (80) */
} gd_format_opts;

/* Default options, as above. */
void gd_format_opts_default(gd_format_opts *o);
/* A NumPy-like text of t with its shape in a footer, in *out (allocated
** with gd_malloc; free with gd_free(*out, *len + 1)). The time taken is
** proportional to what is printed, not to the size of t. opts may be
** NULL; name is the kind in the footer ("gdnn.Tensor" when NULL). A 0-d
** tensor is written as its number alone, without a footer. */
gd_status gd_tensor_format(char **out, size_t *len, const gd_tensor *t,
                           const gd_format_opts *opts, const char *name,
                           gd_error *err);

#endif
