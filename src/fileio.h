/*
** fileio.h: the network file format, version 1. All numbers are
** little-endian and fixed-width:
**
**   offset  size       field
**   0       8          magic "GDNNNET" and byte 0x1a
**   8       4          u32 format version (1)
**   12      4          u32 depth L
**   16      8          u64 length of the whole file in bytes
**   24      8 (L + 1)  u64 layer widths n_0 .. n_L
**   ...     32 L       activation names, NUL-padded
**   ...     8 each     f64 W_1, b_1, ..., W_L, b_L, row-major
**   end - 8 8          u64 FNV-1a 64 hash of every byte before it
**
** A save writes a temporary file in the same directory, flushes and
** syncs it, and renames it over the path, so a crash never leaves a
** half-written network under the name.
**
** Limits: activation names are at most 31 bytes; a loaded activation
** is found by name through the caller's resolver.
*/
#ifndef GD_FILEIO_H
#define GD_FILEIO_H

#include "activation.h"
#include "core.h"
#include "network.h"

#define GD_FILE_VERSION 1

/* Write net to path atomically; GD_ERR_IO with the reason on failure. */
gd_status gd_network_save(const gd_network *net, const char *path,
                          gd_error *err);

/* Find the activation called name for a loaded network. */
typedef gd_status (*gd_activation_resolver)(void *ud, const char *name,
                                            const gd_activation **out,
                                            gd_error *err);

/* Read a network saved by gd_network_save. A missing, truncated,
** corrupted, foreign or future-version file is GD_ERR_IO with a message
** saying which. resolve NULL takes the built-in activations only. */
gd_status gd_network_load(gd_network **out, const char *path,
                          gd_activation_resolver resolve, void *ud,
                          gd_error *err);

#endif
