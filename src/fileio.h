/*
** fileio.h: saving and loading tensors, GradientDescent objects and
** networks, and reading and writing NumPy's .npy files.
**
** Every gdnn file is little-endian and fixed-width, whatever machine
** wrote it, and ends with the FNV-1a 64 hash of every byte before it.
** The first 24 bytes are common to all kinds:
**
**   offset  size  field
**   0       8     magic: "GDNNTEN", "GDNNOPT", "GDNNNET" or "GDNNCKP",
**                 then 0x1a
**   8       4     u32 format version of the kind (below)
**   12      4     u32 dtype (1: f64) for tensors and optimisers,
**                 depth L for networks and checkpoints
**   16      8     u64 length of the whole file in bytes
**
** Versions count per kind and go up only when the kind's layout
** changes: tensors and networks are at version 1, GradientDescent
** objects and checkpoints at version 2. A save writes its kind's
** newest version, so that a build reading version 1 only still reads
** this build's tensors and networks; a load reads every version from 1
** to the newest of its kind and calls a higher one newer.
**
** A tensor (GDNNTEN) goes on with u32 ndim, u32 0, u64 shape[ndim] and
** the f64 values in row-major order.
**
** A GradientDescent (GDNNOPT) goes on with u32 ndim, u32 0, u64
** shape[ndim] (of its variable x), then u64 steps, u64 adam_steps, u64
** rng state[4], u32 has_spare, u32 has_adam, f64 spare, u64 nminima;
** then x, gradient_current, gradient_previous, gradient_step, velocity
** and (when has_adam) adam_m and adam_v, each x's shape in f64; then
** each minimum as f64 value, u64 iterations, u32 reason, u32
** numeric_gradient, i64 restart (of the search that found it, from 0;
** -1: unknown) and its point in f64. Version 1 has no restart field:
** its minima load with restart -1, which Lua, counting restarts from
** 1, shows as 0.
**
** A network (GDNNNET) goes on with u64 layer widths n_0 .. n_L, L
** activation names of 32 bytes, NUL-padded, then f64 W_1, b_1, ...,
** W_L, b_L in row-major order.
**
** A training checkpoint (GDNNCKP) goes on with u64 widths n_0 .. n_L,
** L activation names as in a network (version 1 has none), u64
** iterations done, u64 batch size (0: full batch), u64 column
** count m of the shuffled order (0: none), u64 position in it, u64
** shuffle generator state[4], u32 has_spare, u32 0, f64 spare; then
** the f64 loss of each iteration done and the u64 order[m]; then, for
** W_1, b_1, ..., W_L, b_L, the fixed fields of a GDNNOPT file (with
** nminima 0) and its five or seven tensors in the same order, each of
** the parameter's shape, x holding the parameter itself. It loads
** only into a network of the same depth and widths and, from version
** 2, the same activation names.
**
** A save writes a temporary file in the same directory, flushes and
** syncs it, and renames it over the path, so a crash never leaves a
** half-written file under the name (a stray temporary may remain).
** Loading a missing, truncated, corrupted, foreign or future-version
** file is GD_ERR_IO with a message saying which.
**
** Limits: the whole file is built or read in memory at once; .npy
** files are read in any numeric dtype (bool, integers, float32,
** float64, either byte order, C or Fortran order) and written as
** little-endian float64 in C order; complex, object and structured
** dtypes are refused; activation names are at most 31 bytes.
*/
#ifndef GD_FILEIO_H
#define GD_FILEIO_H

#include <stddef.h>

#include "activation.h"
#include "core.h"
#include "descent.h"
#include "network.h"
#include "tensor.h"

/* The newest format version of any kind (see above). */
#define GD_FILE_VERSION 2

/* What a file holds, judged by its first bytes. */
typedef enum gd_file_kind {
  GD_FILE_UNKNOWN = 0,
  GD_FILE_TENSOR,
  GD_FILE_DESCENT,
  GD_FILE_NETWORK,
  GD_FILE_NPY,
  GD_FILE_CHECKPOINT,
  GD_FILE_TRUNCATED    /* too short to tell, but starts as one of ours */
} gd_file_kind;

/* The kind of the file at path into *kind; GD_ERR_IO when it cannot
** be opened or read. */
gd_status gd_file_kind_of(const char *path, gd_file_kind *kind,
                          gd_error *err);

/* ---- tensors ----------------------------------------------------- */

/* Write t (any strides) to path atomically. */
gd_status gd_tensor_save(const gd_tensor *t, const char *path,
                         gd_error *err);
/* A new contiguous tensor read from path into *out (the caller's). */
gd_status gd_tensor_load(gd_tensor **out, const char *path,
                         gd_error *err);
/* The same from the n bytes of a file image at b; name is what the
** messages call it. */
gd_status gd_tensor_decode(gd_tensor **out, const unsigned char *b,
                           size_t n, const char *name, gd_error *err);

/* ---- GradientDescent objects ------------------------------------- */

/* Write d with its history, generator and minima to path atomically.
** Every tensor d holds must have the shape of d->x. */
gd_status gd_descent_save(const gd_descent *d, const char *path,
                          gd_error *err);
/* A new gd_descent read from path into *out (the caller's, freed with
** gd_descent_free); its x is a new contiguous tensor. */
gd_status gd_descent_load(gd_descent **out, const char *path,
                          gd_error *err);
gd_status gd_descent_decode(gd_descent **out, const unsigned char *b,
                            size_t n, const char *name, gd_error *err);

/* ---- networks ---------------------------------------------------- */

/* Write net to path atomically; GD_ERR_IO with the reason on failure. */
gd_status gd_network_save(const gd_network *net, const char *path,
                          gd_error *err);

/* Find the activation called name for a loaded network. */
typedef gd_status (*gd_activation_resolver)(void *ud, const char *name,
                                            const gd_activation **out,
                                            gd_error *err);

/* Read a network saved by gd_network_save. resolve NULL takes the
** built-in activations only. */
gd_status gd_network_load(gd_network **out, const char *path,
                          gd_activation_resolver resolve, void *ud,
                          gd_error *err);
gd_status gd_network_decode(gd_network **out, const unsigned char *b,
                            size_t n, const char *name,
                            gd_activation_resolver resolve, void *ud,
                            gd_error *err);

/* ---- training checkpoints ---------------------------------------- */

/* Write the state s of a run training net to path atomically. */
gd_status gd_checkpoint_save(const gd_network *net,
                             const gd_network_train_state *s,
                             const char *path, gd_error *err);
/*
** Read a checkpoint into the state s of a fresh run of net (its
** descents made, without adam moments yet, sharing net's parameters;
** its batch size, order length and room for losses set): the
** parameters, their optimiser state, the losses done and the
** shuffling state. The file must match net's widths, s->batch and
** s->m and hold at most s->cap losses; on any error net and s are
** left unchanged.
*/
gd_status gd_checkpoint_load(gd_network_train_state *s,
                             const gd_network *net, const char *path,
                             gd_error *err);

/* ---- NumPy .npy -------------------------------------------------- */

/* Write t as a version 1.0 .npy file of '<f8' in C order, atomically. */
gd_status gd_tensor_save_npy(const gd_tensor *t, const char *path,
                             gd_error *err);
/* A new contiguous float64 tensor from a .npy file (see Limits). */
gd_status gd_tensor_load_npy(gd_tensor **out, const char *path,
                             gd_error *err);
gd_status gd_npy_decode(gd_tensor **out, const unsigned char *b,
                        size_t n, const char *name, gd_error *err);

#endif
