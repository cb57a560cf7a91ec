/*
** fileio.c: saving and loading networks (the format is in fileio.h).
**
** Limits: the whole file is built or read in memory at once.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

#define MAGIC "GDNNNET\x1a"
#define HEADER 24
#define NAME_BYTES 32
#define MAX_DEPTH 65536


static uint64_t fnv1a(const unsigned char *p, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}


static void put_u64(unsigned char *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}


static void put_u32(unsigned char *p, uint32_t v) {
  int i;
  for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}


static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}


static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}


static void put_f64(unsigned char *p, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  put_u64(p, v);
}


static double get_f64(const unsigned char *p) {
  uint64_t v = get_u64(p);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}


/* Bytes of a file for the given widths, or 0 when it overflows. */
static size_t file_size(int depth, const size_t *nodes) {
  size_t total = HEADER + 8 * (size_t)(depth + 1) + NAME_BYTES *
                 (size_t)depth + 8, w;
  int l;
  for (l = 0; l < depth; l++) {
    if (!gd_mul_size(nodes[l + 1], nodes[l] + 1, &w) ||
        !gd_mul_size(w, 8, &w) || !gd_add_size(total, w, &total))
      return 0;
  }
  return total;
}


/* Write one tensor's values (any strides) as f64 at p; returns the
** position after them. */
static unsigned char *put_tensor(unsigned char *p, const gd_tensor *t) {
  size_t r, c, rows = t->shape[0], cols = t->shape[1];
  const double *d = gd_tensor_data(t);
  for (r = 0; r < rows; r++)
    for (c = 0; c < cols; c++, p += 8)
      put_f64(p, d[(ptrdiff_t)r * t->strides[0] +
                   (ptrdiff_t)c * t->strides[1]]);
  return p;
}


/* The whole file image of net in a new buffer of *size bytes. */
static unsigned char *image(const gd_network *net, size_t *size,
                            gd_error *err) {
  int l, depth = gd_network_depth(net);
  size_t *nodes, n = 0, nsize = (size_t)(depth + 1) * sizeof *nodes;
  unsigned char *buf = NULL, *p;

  if ((nodes = gd_malloc(nsize)) != NULL) {
    for (l = 0; l <= depth; l++) nodes[l] = gd_network_nodes(net, l);
    n = file_size(depth, nodes);
    gd_free(nodes, nsize);
  }
  if (n == 0 || (buf = gd_malloc(n)) == NULL) {
    gd_error_set(err, GD_ERR_NOMEM, 0, "save: out of memory");
    return NULL;
  }
  memset(buf, 0, n);
  memcpy(buf, MAGIC, 8);
  put_u32(buf + 8, GD_FILE_VERSION);
  put_u32(buf + 12, (uint32_t)depth);
  put_u64(buf + 16, (uint64_t)n);
  p = buf + HEADER;
  for (l = 0; l <= depth; l++, p += 8)
    put_u64(p, (uint64_t)gd_network_nodes(net, l));
  for (l = 0; l < depth; l++, p += NAME_BYTES)
    memcpy(p, gd_network_activation(net, l)->name,
           strnlen(gd_network_activation(net, l)->name, NAME_BYTES - 1));
  for (l = 0; l < depth; l++) {
    p = put_tensor(p, gd_network_weight(net, l));
    p = put_tensor(p, gd_network_bias(net, l));
  }
  put_u64(p, fnv1a(buf, n - 8));
  *size = n;
  return buf;
}


static gd_status io_error(gd_error *err, const char *op, const char *path,
                          const char *what) {
  return gd_error_set(err, GD_ERR_IO, 0, "%s: '%.120s': %s", op, path,
                      what);
}


/* Write buf to a temporary file next to path, sync it, rename it. */
static gd_status write_atomic(const char *path, const unsigned char *buf,
                              size_t n, gd_error *err) {
  size_t plen = strlen(path), tsize = plen + 8;
  char *tmp = gd_malloc(tsize);
  FILE *f = NULL;
  int fd, ok;

  if (tmp == NULL)
    return gd_error_set(err, GD_ERR_NOMEM, 0, "save: out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".XXXXXX", 8);
  fd = mkstemp(tmp);
  if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
    io_error(err, "save", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(tmp);
    }
    gd_free(tmp, tsize);
    return GD_ERR_IO;
  }
  ok = fwrite(buf, 1, n, f) == n && fflush(f) == 0 && fsync(fd) == 0;
  if (!ok) io_error(err, "save", path, strerror(errno));
  if (fclose(f) != 0 && ok) {
    ok = 0;
    io_error(err, "save", path, strerror(errno));
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
    io_error(err, "save", path, strerror(errno));
  }
  if (!ok) unlink(tmp);
  gd_free(tmp, tsize);
  return ok ? GD_OK : GD_ERR_IO;
}


gd_status gd_network_save(const gd_network *net, const char *path,
                          gd_error *err) {
  gd_error spare;
  unsigned char *buf;
  size_t n;
  gd_status st;
  if (err == NULL) err = &spare;
  if ((buf = image(net, &n, err)) == NULL) return err->code;
  st = write_atomic(path, buf, n, err);
  gd_free(buf, n);
  return st;
}


/* The whole file at path in a new buffer (*size bytes, *cap allocated). */
static gd_status slurp(const char *path, unsigned char **out, size_t *size,
                       size_t *cap, gd_error *err) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL, *nb;
  size_t n = 0, c = 0, r;
  if (f == NULL) return io_error(err, "load", path, strerror(errno));
  do {
    if (n == c) {
      size_t nc = c ? 2 * c : 4096;
      if (nc < c || (nb = gd_realloc(buf, c, nc)) == NULL) {
        gd_free(buf, c);
        fclose(f);
        return gd_error_set(err, GD_ERR_NOMEM, 0, "load: out of memory");
      }
      buf = nb;
      c = nc;
    }
    r = fread(buf + n, 1, c - n, f);
    n += r;
  } while (r > 0);
  if (ferror(f)) {
    gd_free(buf, c);
    fclose(f);
    return io_error(err, "load", path, "read error");
  }
  fclose(f);
  *out = buf;
  *size = n;
  *cap = c;
  return GD_OK;
}


/* Magic, version, length and checksum, in that order, so that the
** message names the first thing that is wrong. */
static gd_status check_header(const unsigned char *b, size_t n,
                              const char *path, gd_error *err) {
  char what[96];
  uint32_t version;
  uint64_t total;
  if (memcmp(b, MAGIC, n < 8 ? n : 8) != 0)
    return io_error(err, "load", path, "not a gdnn network file (wrong "
                    "magic)");
  if (n < HEADER + 8) return io_error(err, "load", path, "truncated");
  version = get_u32(b + 8);
  if (version != GD_FILE_VERSION) {
    snprintf(what, sizeof what, "format version %lu is %s (this build "
             "reads version %d)", (unsigned long)version,
             version > GD_FILE_VERSION ? "newer" : "unknown",
             GD_FILE_VERSION);
    return io_error(err, "load", path, what);
  }
  total = get_u64(b + 16);
  if (total > n) {
    snprintf(what, sizeof what, "truncated (%zu of %llu bytes)", n,
             (unsigned long long)total);
    return io_error(err, "load", path, what);
  }
  if (total < n)
    return io_error(err, "load", path, "corrupted (trailing bytes)");
  if (get_u64(b + n - 8) != fnv1a(b, n - 8))
    return io_error(err, "load", path, "corrupted (checksum mismatch)");
  return GD_OK;
}


static gd_status builtin_resolver(void *ud, const char *name,
                                  const gd_activation **out,
                                  gd_error *err) {
  (void)ud;
  return gd_activation_lookup(out, name, err);
}


/* Read the values of one parameter tensor from p. */
static const unsigned char *get_tensor(gd_tensor *t,
                                       const unsigned char *p) {
  double *d = gd_tensor_data(t);
  size_t i, n = gd_tensor_numel(t);
  for (i = 0; i < n; i++, p += 8) d[i] = get_f64(p);
  return p;
}


/* The widths of a checked image into a new array *nodes (depth + 1). */
static gd_status read_widths(size_t **nodes, const unsigned char *b,
                             size_t n, uint32_t depth, const char *path,
                             gd_error *err) {
  size_t *w;
  uint32_t l;
  if (depth < 1 || depth > MAX_DEPTH ||
      (size_t)HEADER + 8 * ((size_t)depth + 1) > n)
    return io_error(err, "load", path, "corrupted (bad depth)");
  if ((w = gd_malloc(((size_t)depth + 1) * sizeof *w)) == NULL)
    return gd_error_set(err, GD_ERR_NOMEM, 0, "load: out of memory");
  for (l = 0; l <= depth; l++) {
    uint64_t v = get_u64(b + HEADER + 8 * l);
    if (v < 1 || v > SIZE_MAX) {
      gd_free(w, ((size_t)depth + 1) * sizeof *w);
      return io_error(err, "load", path, "corrupted (bad width)");
    }
    w[l] = (size_t)v;
  }
  if (file_size((int)depth, w) != n) {
    gd_free(w, ((size_t)depth + 1) * sizeof *w);
    return io_error(err, "load", path, "corrupted (sizes disagree)");
  }
  *nodes = w;
  return GD_OK;
}


/* Build the network described by a checked image b of n bytes. */
static gd_status parse(gd_network **out, const unsigned char *b, size_t n,
                       const char *path, gd_activation_resolver resolve,
                       void *ud, gd_error *err) {
  uint32_t l, depth = get_u32(b + 12);
  size_t *nodes = NULL, asize = (size_t)depth * sizeof(gd_activation *);
  const gd_activation **av;
  const unsigned char *p;
  char name[NAME_BYTES];
  gd_network *net = NULL;
  gd_status st;

  if ((st = read_widths(&nodes, b, n, depth, path, err))) return st;
  if ((av = gd_malloc(asize)) == NULL) {
    gd_free(nodes, ((size_t)depth + 1) * sizeof *nodes);
    return gd_error_set(err, GD_ERR_NOMEM, 0, "load: out of memory");
  }
  p = b + HEADER + 8 * ((size_t)depth + 1);
  for (l = 0; l < depth && !st; l++, p += NAME_BYTES) {
    memcpy(name, p, NAME_BYTES);
    name[NAME_BYTES - 1] = '\0';
    st = resolve(ud, name, &av[l], err);
  }
  if (!st) st = gd_network_new(&net, (int)depth, nodes, av, 0, err);
  gd_free((void *)av, asize);
  gd_free(nodes, ((size_t)depth + 1) * sizeof *nodes);
  if (st) return st;

  p = b + HEADER + (8 + NAME_BYTES) * (size_t)depth + 8;
  for (l = 0; l < depth; l++) {
    p = get_tensor(gd_network_weight(net, (int)l), p);
    p = get_tensor(gd_network_bias(net, (int)l), p);
  }
  *out = net;
  return GD_OK;
}


gd_status gd_network_load(gd_network **out, const char *path,
                          gd_activation_resolver resolve, void *ud,
                          gd_error *err) {
  gd_error spare;
  unsigned char *buf = NULL;
  size_t n = 0, cap = 0;
  gd_status st;
  if (err == NULL) err = &spare;
  if (slurp(path, &buf, &n, &cap, err)) return err->code;
  st = check_header(buf, n, path, err);
  if (!st)
    st = parse(out, buf, n, path, resolve ? resolve : builtin_resolver,
               ud, err);
  gd_free(buf, cap);
  return st;
}
