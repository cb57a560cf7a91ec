/*
** einsum.h: NumPy-compatible einsum over gd_tensor views, with a planned
** pairwise contraction order and GEMM through OpenBLAS.
*/
#ifndef GD_EINSUM_H
#define GD_EINSUM_H

#include "core.h"
#include "tensor.h"

/* The most operands one einsum call takes. */
#define GD_EINSUM_MAX_OPS 32

/* out = einsum(subscripts, ops[0], ..., ops[nops - 1]); a new tensor the
** caller owns. Errors name the operand (1-based) that is at fault. */
gd_status gd_einsum(gd_tensor **out, const char *subscripts, int nops,
                    const gd_tensor *const *ops, gd_error *err);

/* The same into out, whose shape must be the result's shape. */
gd_status gd_einsum_into(gd_tensor *out, const char *subscripts, int nops,
                         const gd_tensor *const *ops, gd_error *err);

#endif
