/*
** jacobian.h: generalised Jacobians. The derivative of a tensor A with
** respect to a tensor B is a tensor of shape (shape of A) ++ (shape of B)
** that remembers where the numerator ends and the denominator begins.
**
** A Jacobian is stored as a sum of terms, and a term as structure times
** one dense factor. Every dimension of the dense form carries a label;
** dimensions with the same label are tied by a Kronecker delta (the
** element is zero unless their indices agree), and the factor F holds
** values for the distinct labels it names. A label that F does not name
** is constant along its dimensions. Element [x] of a term is
** scale * F[labels of x] when every tie holds, and zero otherwise.
**
** So dZ/dW of Z = W A is written "i s i j" with F = A labelled "j s"
** (delta (x) A), dZ/dA is "i s j s" with F = W labelled "i j" (W (x)
** delta), an element-wise map is "i s i s" with F its derivative
** labelled "i s", and softmax over columns is "i s j s" with one n x n
** block per sample in F. Composition unifies labels (a tie renames an
** index instead of multiplying by zeros) and hands the factors that
** remain to one einsum, whose planner also orders longer chains by cost.
** The kind is read off the structure; it never changes what a Jacobian
** means, and gd_jacobian_dense gives the same values for every kind.
**
** Limits: float64 only; numerator and denominator together have at most
** GD_MAX_DIMS dimensions; at most GD_JAC_MAX_TERMS terms (a sum that
** would grow further is made dense) and GD_JAC_MAX_CHAIN factors in one
** chain; the labels of one contraction must fit the GD_JAC_MAX_LABELS
** einsum letters.
*/
#ifndef GD_JACOBIAN_H
#define GD_JACOBIAN_H

#include "core.h"
#include "tensor.h"

#define GD_JAC_MAX_TERMS 4
#define GD_JAC_MAX_CHAIN 16
/* Distinct labels in one contraction: the einsum letters. */
#define GD_JAC_MAX_LABELS 52

typedef enum gd_jacobian_kind {
  GD_JAC_DENSE = 0,   /* every element stored */
  GD_JAC_DIAG,        /* element-wise: all blocks tied, F on one block */
  GD_JAC_KRON,        /* Kronecker-delta factors times a dense factor */
  GD_JAC_BLOCKS,      /* tied dimensions that F depends on: blocks */
  GD_JAC_SUM          /* more than one term */
} gd_jacobian_kind;

/* One term: scale * F[flab] on the dimensions labelled lab. Labels are
** numbered by first appearance in lab (0, 1, ...). */
typedef struct gd_jacobian_term {
  gd_tensor *f;                    /* the factor; owned */
  double scale;
  unsigned char lab[GD_MAX_DIMS];  /* label of each dense dimension */
  unsigned char flab[GD_MAX_DIMS]; /* label of each dimension of f */
} gd_jacobian_term;

typedef struct gd_jacobian {
  int nnum, nden;               /* dimensions of each part */
  size_t num[GD_MAX_DIMS];      /* numerator shape */
  size_t den[GD_MAX_DIMS];      /* denominator shape */
  int nterms;
  gd_jacobian_term term[GD_JAC_MAX_TERMS];
} gd_jacobian;

/* The kind of j, and its name as users see it ("dense", "diagonal",
** "kronecker", "blocks", "sum"). */
gd_jacobian_kind gd_jacobian_kind_of(const gd_jacobian *j);
const char *gd_jacobian_kind_name(gd_jacobian_kind kind);

/* A dense Jacobian over the values of t, which must have as many
** elements as the two shapes multiply out to. The result holds a view
** of t (a copy when t's layout cannot be reshaped). */
gd_status gd_jacobian_new(gd_jacobian **out, const gd_tensor *t,
                          int nnum, const size_t *num, int nden,
                          const size_t *den, gd_error *err);
/*
** A structured Jacobian from a factor and a spec in einsum notation,
** "js->isij": F's labels, then one label per dense dimension. Sizes of
** labels F names must agree with num ++ den; repeated labels in the
** right part are tied. Holds a view of f.
*/
gd_status gd_jacobian_structured(gd_jacobian **out, const gd_tensor *f,
                                 const char *spec, int nnum,
                                 const size_t *num, int nden,
                                 const size_t *den, gd_error *err);
/* A diagonal Jacobian with pnum blocks of d's shape in the numerator
** and pden in the denominator; holds a view of d. */
gd_status gd_jacobian_diag(gd_jacobian **out, const gd_tensor *d,
                           int pnum, int pden, gd_error *err);
/* The identity d(X)/d(X) for X of the given shape: pure ties, the
** factor a 0-d one. */
gd_status gd_jacobian_identity(gd_jacobian **out, int n,
                               const size_t *shape, gd_error *err);
/* A dense Jacobian of zeros, for use with the _into forms. */
gd_status gd_jacobian_zeros(gd_jacobian **out, int nnum,
                            const size_t *num, int nden,
                            const size_t *den, gd_error *err);
void gd_jacobian_free(gd_jacobian *j);

/* Number of dimensions of the dense form (nnum + nden). */
int gd_jacobian_ndim(const gd_jacobian *j);
/* Elements of the dense form and values actually stored (sums of the
** factors' sizes); 0 with *ok cleared when the count overflows. */
size_t gd_jacobian_dense_size(const gd_jacobian *j, int *ok);
size_t gd_jacobian_stored(const gd_jacobian *j);
/* The dense form: a new contiguous tensor of shape num ++ den (a view
** of the values for a dense Jacobian of scale 1). */
gd_status gd_jacobian_dense(gd_tensor **out, const gd_jacobian *j,
                            gd_error *err);
/* The same written into t, a tensor of shape num ++ den. */
gd_status gd_jacobian_dense_into(gd_tensor *t, const gd_jacobian *j,
                                 gd_error *err);
/* The values of a dense single-term Jacobian of scale 1 (NULL for any
** other), for code that reads a result buffer directly. */
gd_tensor *gd_jacobian_values(const gd_jacobian *j);
/* Move the split between numerator and denominator so that the
** numerator has nnum dimensions. The values are shared, not copied. */
gd_status gd_jacobian_regroup(gd_jacobian **out, const gd_jacobian *j,
                              int nnum, gd_error *err);
/* The transpose dY/dX of dX/dY as a linear map: numerator and
** denominator exchanged, the values shared. */
gd_status gd_jacobian_transpose(gd_jacobian **out, const gd_jacobian *j,
                                gd_error *err);

/*
** C = A * B with A = dX/dY and B = dY/dW: C[x, w] = sum_y A[x, y] B[y, w]
** where x, y, w stand for whole index tuples. A's denominator must equal
** B's numerator (both empty is an outer product). A new Jacobian whose
** structure follows from the operands' (ties stay ties).
*/
gd_status gd_jacobian_compose(gd_jacobian **out, const gd_jacobian *a,
                              const gd_jacobian *b, gd_error *err);
/* The same into out, a single-term Jacobian of the result's shapes.
** When out has the result's structure (always so for a dense result
** into a dense out) and the plan is cached, nothing is allocated. */
gd_status gd_jacobian_compose_into(gd_jacobian *out, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err);
/*
** A composition compiled once: dst = A * B as gd_jacobian_compose_into
** computes it in place, for single-term operands and target whose
** structure and factor layouts stay fixed while their values change
** (factors that are views of live buffers). The plan refers to dst, A
** and B, which must outlive it; running it allocates nothing and skips
** every look-up that compose_into makes.
*/
typedef struct gd_jacobian_plan gd_jacobian_plan;

gd_status gd_jacobian_compose_plan(gd_jacobian_plan **out,
                                   gd_jacobian *dst, const gd_jacobian *a,
                                   const gd_jacobian *b, gd_error *err);
/* Recompute dst's factor from the operands' current values. */
gd_status gd_jacobian_plan_run(gd_jacobian_plan *p, gd_error *err);
void gd_jacobian_plan_free(gd_jacobian_plan *p);
/*
** The product J[0] * J[1] * ... * J[n-1] of n Jacobians (1 to
** GD_JAC_MAX_CHAIN) as one contraction: every tie is resolved first,
** then the factors go to one einsum, whose planner picks the pairwise
** order by cost, as it does for any einsum. The result does not depend
** on the order up to rounding.
*/
gd_status gd_jacobian_chain(gd_jacobian **out, int n,
                            const gd_jacobian *const *js, gd_error *err);
/*
** The second-order term of the chain rule: with T = d2X/dY1dY2 seen as
** numerator X and denominator Y1 ++ Y2, C[x, u, v] = sum T[x, y1, y2]
** A[y1, u] B[y2, v]. A's numerator must be Y1 and B's Y2. One
** contraction, so A and B are never multiplied out.
*/
gd_status gd_jacobian_bilinear(gd_jacobian **out, const gd_jacobian *t,
                               const gd_jacobian *a, const gd_jacobian *b,
                               gd_error *err);
/* The directional derivative: r[x] = sum_y J[x, y] v[y], v of J's
** denominator shape. A new tensor of the numerator's shape. */
gd_status gd_jacobian_apply(gd_tensor **out, const gd_jacobian *j,
                            const gd_tensor *v, gd_error *err);
/* s * J, of the same structure (the factors are shared). */
gd_status gd_jacobian_scale(gd_jacobian **out, const gd_jacobian *j,
                            double s, gd_error *err);
/* out = a + b for two Jacobians of the same shapes: terms of the same
** structure are added, others are kept side by side. */
gd_status gd_jacobian_add(gd_jacobian **out, const gd_jacobian *a,
                          const gd_jacobian *b, gd_error *err);

/* "TensorJacobian d(1x100) / d(6x1)", with the kind when not dense, in
** buf. */
char *gd_jacobian_describe(const gd_jacobian *j, char *buf, size_t size);

#endif
