/*
** gdnn.h: the public C interface of gdnn, for programs that use the
** core without Lua. It includes the core headers, installed beside it
** under gdnn/; each declaration there carries its own comment.
**
**   core.h        status codes, error records, the allocation hook
**   rng.h         the random generator (xoshiro256**)
**   tensor.h      n-d float64 tensors, views, element-wise operations,
**                 reductions, matmul, printing
**   einsum.h      NumPy-compatible einsum and its contraction order
**   jacobian.h    generalised Jacobians (TensorJacobian)
**   activation.h  activation functions and their derivatives
**   loss.h        the mean squared error and its derivatives
**   descent.h     the GradientDescent optimiser
**   network.h     the multilayer perceptron
**   fileio.h      saving and loading tensors and networks
**   interrupt.h   the flag that stops a long run
**
** Ownership, everywhere: a function that makes an object stores it in
** *out, the caller owns it and releases it with the matching _free
** (which accepts NULL); on error *out and every input are unchanged,
** nothing leaks and the gd_error record, when given, says what went
** wrong. The core never prints, aborts or exits.
**
** Embedding the Lua engine is declared apart, in gdnn/lua_embed.h
** (pkg-config gdnn-lua), so that this header needs no Lua.
**
** Link with: pkg-config --cflags --libs gdnn
**
** Limits: float64 only; at most GD_MAX_DIMS dimensions; the einsum plan
** cache and the allocation hook are process-wide and not thread-safe.
*/
#ifndef GDNN_H
#define GDNN_H

#define GDNN_VERSION_MAJOR 0
#define GDNN_VERSION_MINOR 1
#define GDNN_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

#include "gdnn/core.h"
#include "gdnn/rng.h"
#include "gdnn/tensor.h"
#include "gdnn/einsum.h"
#include "gdnn/jacobian.h"
#include "gdnn/activation.h"
#include "gdnn/loss.h"
#include "gdnn/descent.h"
#include "gdnn/network.h"
#include "gdnn/fileio.h"
#include "gdnn/interrupt.h"

#ifdef __cplusplus
}
#endif

#endif
