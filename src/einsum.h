/*
** einsum.h: NumPy-compatible einsum over gd_tensor views, with a planned
** pairwise contraction order and GEMM through OpenBLAS.
**
** A call is planned once per subscripts, operand shapes and strides (and
** the output's layout); the plan sits in a small process-wide cache, so a
** contraction repeated in a training loop pays its planning once, and
** gd_einsum_into then allocates nothing. A caller that repeats one
** product on tensors of a fixed layout can hold the plan itself
** (gd_einsum_plan_new) and skip the cache look-up on every call.
**
** Limits: at most GD_EINSUM_MAX_OPS operands and GD_EINSUM_MAX_LABELS
** distinct labels per call, counting each dimension that '...' covers as
** one label; the plan cache is not thread-safe; out must not overlap an
** operand.
*/
#ifndef GD_EINSUM_H
#define GD_EINSUM_H

#include "core.h"
#include "tensor.h"

/* The most operands one einsum call takes. */
#define GD_EINSUM_MAX_OPS 32
/* The most distinct labels (letters and broadcast dimensions) per call. */
#define GD_EINSUM_MAX_LABELS 64
/* Up to this many operands the order is searched exhaustively; beyond,
** greedily. */
#define GD_EINSUM_OPTIMAL_MAX 6

/* out = einsum(subscripts, ops[0], ..., ops[nops - 1]) as numpy.einsum
** computes it; a new contiguous tensor the caller owns. Errors name the
** operand (1-based) that is at fault. */
gd_status gd_einsum(gd_tensor **out, const char *subscripts, int nops,
                    const gd_tensor *const *ops, gd_error *err);

/* The same, overwriting out, whose shape must be the result's shape.
** On a cache hit this allocates nothing. */
gd_status gd_einsum_into(gd_tensor *out, const char *subscripts, int nops,
                         const gd_tensor *const *ops, gd_error *err);

/* The pairwise order chosen for a call, as numpy.einsum_path gives it:
** step s contracts the operands pairs[s][0] < pairs[s][1] (0-based
** positions in the current list), which leave the list, and appends the
** result at its end. A single operand gives one step {0, -1}. */
typedef struct gd_einsum_order {
  int nsteps;
  int pairs[GD_EINSUM_MAX_OPS][2];
  double flops;        /* estimate of the planned order */
  double naive_flops;  /* estimate of one loop over every label */
  double largest;      /* elements of the largest intermediate */
} gd_einsum_order;

/* Fill *order for einsum(subscripts, ops...). When report is not NULL,
** *report receives a text like numpy.einsum_path's second result,
** allocated with gd_malloc (free with gd_free(*report, *len + 1)). */
gd_status gd_einsum_path(gd_einsum_order *order, char **report,
                         size_t *len, const char *subscripts, int nops,
                         const gd_tensor *const *ops, gd_error *err);

/*
** A compiled call: subscripts planned once for the layouts (shapes and
** strides) of the given operands and of dst, then run any number of
** times on tensors laid out alike (the same ones, or others). The
** caller owns the plan and frees it with gd_einsum_plan_free; it does
** not refer to the tensors it was made from.
*/
typedef struct gd_einsum_plan gd_einsum_plan;

/* Plan einsum(subscripts, ops...) written into dst, whose shape must be
** the result's. */
gd_status gd_einsum_plan_new(gd_einsum_plan **out, const char *subscripts,
                             int nops, const gd_tensor *const *ops,
                             const gd_tensor *dst, gd_error *err);
/* dst = einsum(...) by the plan; ops and dst must have the layouts the
** plan was made for (GD_ERR_LAYOUT otherwise, nothing written). Allocates
** nothing. */
gd_status gd_einsum_plan_run(gd_einsum_plan *p, gd_tensor *dst,
                             const gd_tensor *const *ops, gd_error *err);
void gd_einsum_plan_free(gd_einsum_plan *p);

/* Drop every cached plan and its work memory. */
void gd_einsum_cache_clear(void);

/* Counts of calls that found their plan cached and that had to plan. */
void gd_einsum_cache_stats(size_t *hits, size_t *misses);

#endif
