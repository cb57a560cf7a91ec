/*
** jacobian.h: generalised Jacobians. The derivative of a tensor A with
** respect to a tensor B is a tensor of shape (shape of A) ++ (shape of B)
** that remembers where the numerator ends and the denominator begins.
** Composition contracts the first one's denominator with the second
** one's numerator through the C einsum.
**
** A Jacobian has a kind. GD_JAC_DENSE stores every element. GD_JAC_DIAG
** is the Jacobian of an element-wise map and its higher derivatives:
** every block of the numerator and of the denominator has the same shape
** S, the element is zero unless all blocks name the same index s, and
** only the values d[s] are stored (a tensor of shape S). Kinds never
** change what a Jacobian means: gd_jacobian_dense gives the same values
** for every kind.
**
** Limits: float64 only; numerator and denominator together have at most
** GD_MAX_DIMS dimensions; a diagonal Jacobian has at most four blocks.
*/
#ifndef GD_JACOBIAN_H
#define GD_JACOBIAN_H

#include "core.h"
#include "tensor.h"

typedef enum gd_jacobian_kind {
  GD_JAC_DENSE = 0,
  GD_JAC_DIAG
} gd_jacobian_kind;

typedef struct gd_jacobian {
  gd_jacobian_kind kind;
  gd_tensor *t;                 /* the stored values; owned */
  int nnum, nden;               /* dimensions of each part */
  size_t num[GD_MAX_DIMS];      /* numerator shape */
  size_t den[GD_MAX_DIMS];      /* denominator shape */
  int pnum, pden;               /* GD_JAC_DIAG: blocks in each part */
} gd_jacobian;

/* Name of a kind as users see it ("dense", "diagonal"). */
const char *gd_jacobian_kind_name(gd_jacobian_kind kind);

/* A dense Jacobian over the values of t, which must have as many
** elements as the two shapes multiply out to. The result holds a view
** of t (a copy when t's layout cannot be reshaped). */
gd_status gd_jacobian_new(gd_jacobian **out, const gd_tensor *t,
                          int nnum, const size_t *num, int nden,
                          const size_t *den, gd_error *err);
/* A diagonal Jacobian with pnum blocks of d's shape in the numerator
** and pden in the denominator; holds a view of d. */
gd_status gd_jacobian_diag(gd_jacobian **out, const gd_tensor *d,
                           int pnum, int pden, gd_error *err);
/* A dense Jacobian of zeros, for use with the _into forms. */
gd_status gd_jacobian_zeros(gd_jacobian **out, int nnum,
                            const size_t *num, int nden,
                            const size_t *den, gd_error *err);
void gd_jacobian_free(gd_jacobian *j);

/* Number of dimensions of the dense form (nnum + nden). */
int gd_jacobian_ndim(const gd_jacobian *j);
/* The dense form: a view of the values (dense kind) or a new tensor of
** shape num ++ den holding the materialised structure. */
gd_status gd_jacobian_dense(gd_tensor **out, const gd_jacobian *j,
                            gd_error *err);
/* Move the split between numerator and denominator so that the
** numerator has nnum dimensions (a diagonal must split between blocks).
** The values are shared, not copied. */
gd_status gd_jacobian_regroup(gd_jacobian **out, const gd_jacobian *j,
                              int nnum, gd_error *err);

/*
** C = A * B with A = dX/dY and B = dY/dW: C[x, w] = sum_y A[x, y] B[y, w]
** where x, y, w stand for whole index tuples. A's denominator must equal
** B's numerator (both empty is an outer product). A new Jacobian;
** diagonal operands are kept diagonal where the rule allows.
*/
gd_status gd_jacobian_compose(gd_jacobian **out, const gd_jacobian *a,
                              const gd_jacobian *b, gd_error *err);
/* The same into out, a dense Jacobian of the result's shapes; allocates
** nothing when neither operand needs materialising. */
gd_status gd_jacobian_compose_into(gd_jacobian *out, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err);
/*
** The second-order term of the chain rule: with T = d2X/dY1dY2 seen as
** numerator X and denominator Y1 ++ Y2, C[x, u, v] = sum T[x, y1, y2]
** A[y1, u] B[y2, v]. A's numerator must be Y1 and B's Y2. One einsum,
** so A and B are never multiplied out into a Kronecker product.
*/
gd_status gd_jacobian_bilinear(gd_jacobian **out, const gd_jacobian *t,
                               const gd_jacobian *a, const gd_jacobian *b,
                               gd_error *err);
/* The directional derivative: r[x] = sum_y J[x, y] v[y], v of J's
** denominator shape. A new tensor of the numerator's shape. */
gd_status gd_jacobian_apply(gd_tensor **out, const gd_jacobian *j,
                            const gd_tensor *v, gd_error *err);
/* s * J, of the same kind. */
gd_status gd_jacobian_scale(gd_jacobian **out, const gd_jacobian *j,
                            double s, gd_error *err);
/* out = a + b for two Jacobians of the same shapes (dense unless both
** are diagonal with the same blocks). */
gd_status gd_jacobian_add(gd_jacobian **out, const gd_jacobian *a,
                          const gd_jacobian *b, gd_error *err);

/* "TensorJacobian d(1x100) / d(6x1)", with the kind when not dense, in
** buf. */
char *gd_jacobian_describe(const gd_jacobian *j, char *buf, size_t size);

#endif
