/*
** fileio.c: saving and loading tensors, GradientDescent objects and
** networks in gdnn's own format, and tensors in NumPy's .npy (the
** formats are described in fileio.h). Each kind is written in its
** newest version (V_TEN .. V_CKP below) and read in every version from
** 1 to that one.
**
** Limits: the whole file is built or read in memory at once; at most
** 65536 layers in a network file.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define MAGIC_NET "GDNNNET\x1a"
#define MAGIC_TEN "GDNNTEN\x1a"
#define MAGIC_OPT "GDNNOPT\x1a"
#define MAGIC_CKP "GDNNCKP\x1a"
#define MAGIC_NPY "\x93NUMPY"
#define HEADER 24
#define NAME_BYTES 32
#define MAX_DEPTH 65536
#define DTYPE_F64 1
#define OPT_FIXED 72     /* steps .. nminima of a GradientDescent */
#define MIN_FIXED_V1 24  /* value, iterations, reason, numeric */
#define MIN_FIXED 32     /* the same and restart, from version 2 */
#define V_TEN 1          /* the version each kind is written in */
#define V_NET 1
#define V_OPT 2
#define V_CKP 2
#define CKP_FIXED 80     /* done .. spare of a checkpoint */


/* ---- bytes ----------------------------------------------------- */

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


/* Write the values of t (any strides, any ndim) as f64 at p in
** row-major order; returns the position after them. */
static unsigned char *put_values(unsigned char *p, const gd_tensor *t) {
  size_t idx[GD_MAX_DIMS] = {0}, i, n = gd_tensor_numel(t);
  const double *d = gd_tensor_data(t);
  ptrdiff_t off = 0;
  int k;
  for (i = 0; i < n; i++, p += 8) {
    put_f64(p, d[off]);
    for (k = t->ndim - 1; k >= 0; k--) {
      off += t->strides[k];
      if (++idx[k] < t->shape[k]) break;
      off -= t->strides[k] * (ptrdiff_t)t->shape[k];
      idx[k] = 0;
    }
  }
  return p;
}


/* Read the values of the contiguous tensor t from p. */
static const unsigned char *get_values(gd_tensor *t,
                                       const unsigned char *p) {
  double *d = gd_tensor_data(t);
  size_t i, n = gd_tensor_numel(t);
  for (i = 0; i < n; i++, p += 8) d[i] = get_f64(p);
  return p;
}


/* ---- files ----------------------------------------------------- */

static gd_status io_error(gd_error *err, const char *op, const char *path,
                          const char *what) {
  return gd_error_set(err, GD_ERR_IO, 0, "%s: '%.120s': %s", op, path,
                      what);
}


static gd_status nomem(gd_error *err, const char *op) {
  return gd_error_set(err, GD_ERR_NOMEM, 0, "%s: out of memory", op);
}


/* The mode a new file gets from open(path, O_CREAT, 0666): mkstemp
** makes its files 0600, which a save should not leave behind. */
static mode_t file_mode(void) {
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}


/* Write buf to a temporary file next to path, sync it, rename it. */
static gd_status write_atomic(const char *path, const unsigned char *buf,
                              size_t n, gd_error *err) {
  size_t plen = strlen(path), tsize = plen + 8;
  char *tmp = gd_malloc(tsize);
  FILE *f = NULL;
  int fd, ok;

  if (tmp == NULL) return nomem(err, "save");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".XXXXXX", 8);
  fd = mkstemp(tmp);
  if (fd < 0 || fchmod(fd, file_mode()) != 0 ||
      (f = fdopen(fd, "wb")) == NULL) {
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


/* Save the n-byte image buf to path and free it, whatever happens. */
static gd_status save_image(unsigned char *buf, size_t n, const char *path,
                            gd_error *err) {
  gd_status st = write_atomic(path, buf, n, err);
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
        return nomem(err, "load");
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


gd_status gd_file_kind_of(const char *path, gd_file_kind *kind,
                          gd_error *err) {
  unsigned char b[8];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return io_error(err, "load", path, strerror(errno));
  n = fread(b, 1, sizeof b, f);
  if (ferror(f)) {
    fclose(f);
    return io_error(err, "load", path, "read error");
  }
  fclose(f);
  *kind = GD_FILE_UNKNOWN;
  if (n == 8 && memcmp(b, MAGIC_TEN, 8) == 0) *kind = GD_FILE_TENSOR;
  else if (n == 8 && memcmp(b, MAGIC_OPT, 8) == 0) *kind = GD_FILE_DESCENT;
  else if (n == 8 && memcmp(b, MAGIC_NET, 8) == 0) *kind = GD_FILE_NETWORK;
  else if (n == 8 && memcmp(b, MAGIC_CKP, 8) == 0)
    *kind = GD_FILE_CHECKPOINT;
  else if (n >= 6 && memcmp(b, MAGIC_NPY, 6) == 0) *kind = GD_FILE_NPY;
  else if (n < 8 && (memcmp(b, MAGIC_TEN, n) == 0 ||
                     memcmp(b, MAGIC_OPT, n) == 0 ||
                     memcmp(b, MAGIC_NET, n) == 0 ||
                     memcmp(b, MAGIC_CKP, n) == 0 ||
                     memcmp(b, MAGIC_NPY, n < 6 ? n : 6) == 0))
    *kind = GD_FILE_TRUNCATED;
  return GD_OK;
}


/* Slurp path and hand its bytes to a decoder of the kind below. */
typedef gd_status (*decoder)(void *out, const unsigned char *b, size_t n,
                             const char *name, gd_error *err);


static gd_status load_with(decoder dec, void *out, const char *path,
                           gd_error *err) {
  gd_error spare;
  unsigned char *buf = NULL;
  size_t n = 0, cap = 0;
  gd_status st;
  if (err == NULL) err = &spare;
  if (slurp(path, &buf, &n, &cap, err)) return err->code;
  st = dec(out, buf, n, path, err);
  gd_free(buf, cap);
  return st;
}


/* ---- the common header ----------------------------------------- */

/*
** Magic, version, length and checksum, in that order, so that the
** message names the first thing that is wrong. what names the kind of
** file ("tensor") for a wrong magic, newest the last version of the
** kind this build reads (from 1). The version goes to *version.
*/
static gd_status check_header(const unsigned char *b, size_t n,
                              const char *magic, const char *what,
                              uint32_t newest, uint32_t *version,
                              const char *name, gd_error *err) {
  char msg[112], reads[32];
  uint32_t v;
  uint64_t total;
  if (memcmp(b, magic, n < 8 ? n : 8) != 0) {
    snprintf(msg, sizeof msg, "not a gdnn %s file (wrong magic)", what);
    return io_error(err, "load", name, msg);
  }
  if (n < HEADER + 8) return io_error(err, "load", name, "truncated");
  v = get_u32(b + 8);
  if (v < 1 || v > newest) {
    if (newest == 1) snprintf(reads, sizeof reads, "version 1");
    else snprintf(reads, sizeof reads, "versions 1 to %lu",
                  (unsigned long)newest);
    snprintf(msg, sizeof msg, "format version %lu is %s (this build "
             "reads %s of %s files)", (unsigned long)v,
             v > newest ? "newer" : "unknown", reads, what);
    return io_error(err, "load", name, msg);
  }
  total = get_u64(b + 16);
  if (total > n) {
    snprintf(msg, sizeof msg, "truncated (%zu of %llu bytes)", n,
             (unsigned long long)total);
    return io_error(err, "load", name, msg);
  }
  if (total < n)
    return io_error(err, "load", name, "corrupted (trailing bytes)");
  if (get_u64(b + n - 8) != fnv1a(b, n - 8))
    return io_error(err, "load", name, "corrupted (checksum mismatch)");
  *version = v;
  return GD_OK;
}


/* Fill the common header and the checksum of an n-byte image. */
static void seal(unsigned char *b, size_t n, const char *magic,
                 uint32_t version, uint32_t word) {
  memcpy(b, magic, 8);
  put_u32(b + 8, version);
  put_u32(b + 12, word);
  put_u64(b + 16, (uint64_t)n);
  put_u64(b + n - 8, fnv1a(b, n - 8));
}


/*
** The shape part of a tensor or GradientDescent image: u32 ndim, u32 0,
** u64 shape[ndim], checked against the n bytes there are. On success
** *numel is the product and *body the offset after the shape.
*/
static gd_status read_shape(const unsigned char *b, size_t n,
                            const char *name, int *ndim, size_t *shape,
                            size_t *numel, size_t *body, gd_error *err) {
  char msg[64];
  uint32_t dtype = get_u32(b + 12), nd;
  size_t total = 1;
  uint32_t k;
  if (dtype != DTYPE_F64) {
    snprintf(msg, sizeof msg, "unsupported dtype %lu",
             (unsigned long)dtype);
    return io_error(err, "load", name, msg);
  }
  if (n < HEADER + 16)
    return io_error(err, "load", name, "corrupted (bad header)");
  nd = get_u32(b + HEADER);
  if (nd > GD_MAX_DIMS || get_u32(b + HEADER + 4) != 0 ||
      n < HEADER + 16 + 8 * (size_t)nd)
    return io_error(err, "load", name, "corrupted (bad header)");
  for (k = 0; k < nd; k++) {
    uint64_t v = get_u64(b + HEADER + 8 + 8 * k);
    if (v > SIZE_MAX || !gd_mul_size(total, (size_t)v, &total))
      return io_error(err, "load", name, "corrupted (bad shape)");
    shape[k] = (size_t)v;
  }
  *ndim = (int)nd;
  *numel = total;
  *body = HEADER + 8 + 8 * (size_t)nd;
  return GD_OK;
}


/* The header and shape bytes of t at b; returns the offset after them. */
static size_t put_shape(unsigned char *b, const gd_tensor *t) {
  int k;
  put_u32(b + HEADER, (uint32_t)t->ndim);
  put_u32(b + HEADER + 4, 0);
  for (k = 0; k < t->ndim; k++)
    put_u64(b + HEADER + 8 + 8 * (size_t)k, (uint64_t)t->shape[k]);
  return HEADER + 8 + 8 * (size_t)t->ndim;
}


/* ---- tensors --------------------------------------------------- */

/* Bytes of a tensor image: header, shape, count values, checksum; 0
** when the size overflows. */
static size_t tensor_bytes(int ndim, size_t count) {
  size_t n;
  if (!gd_mul_size(count, 8, &n) ||
      !gd_add_size(n, HEADER + 16 + 8 * (size_t)ndim, &n))
    return 0;
  return n;
}


gd_status gd_tensor_save(const gd_tensor *t, const char *path,
                         gd_error *err) {
  size_t n = tensor_bytes(t->ndim, gd_tensor_numel(t));
  unsigned char *b;
  if (n == 0 || (b = gd_malloc(n)) == NULL) return nomem(err, "save");
  put_values(b + put_shape(b, t), t);
  seal(b, n, MAGIC_TEN, V_TEN, DTYPE_F64);
  return save_image(b, n, path, err);
}


gd_status gd_tensor_decode(gd_tensor **out, const unsigned char *b,
                           size_t n, const char *name, gd_error *err) {
  size_t shape[GD_MAX_DIMS], numel, body;
  gd_tensor *t;
  uint32_t version;
  int ndim;
  gd_status st = check_header(b, n, MAGIC_TEN, "tensor", V_TEN, &version,
                              name, err);
  if (st) return st;
  st = read_shape(b, n, name, &ndim, shape, &numel, &body, err);
  if (st) return st;
  if (tensor_bytes(ndim, numel) != n)
    return io_error(err, "load", name, "corrupted (sizes disagree)");
  if (gd_tensor_new(&t, ndim, shape, err)) return nomem(err, "load");
  get_values(t, b + body);
  *out = t;
  return GD_OK;
}


static gd_status tensor_dec(void *out, const unsigned char *b, size_t n,
                            const char *name, gd_error *err) {
  return gd_tensor_decode((gd_tensor **)out, b, n, name, err);
}


gd_status gd_tensor_load(gd_tensor **out, const char *path,
                         gd_error *err) {
  return load_with(tensor_dec, out, path, err);
}


/* ---- GradientDescent objects ----------------------------------- */

/* The tensors of d that go to a file, in file order; returns how many
** (5, or 7 with adam's moments). */
static int descent_parts(const gd_descent *d, const gd_tensor **parts) {
  parts[0] = d->x;
  parts[1] = d->gradient_current;
  parts[2] = d->gradient_previous;
  parts[3] = d->gradient_step;
  parts[4] = d->velocity;
  if (d->adam_m == NULL || d->adam_v == NULL) return 5;
  parts[5] = d->adam_m;
  parts[6] = d->adam_v;
  return 7;
}


/* Bytes of a GradientDescent image with nparts tensors and nmin minima
** of numel values each, each minimum with minfixed bytes of fields; 0
** when the size overflows. */
static size_t descent_bytes(int ndim, size_t numel, int nparts,
                            size_t nmin, size_t minfixed) {
  size_t per, mins, vals, n;
  if (!gd_mul_size(numel, 8, &per) ||
      !gd_add_size(per, minfixed, &mins) ||
      !gd_mul_size(mins, nmin, &mins) ||
      !gd_mul_size(per, (size_t)nparts, &vals) ||
      !gd_add_size(vals, mins, &n) ||
      !gd_add_size(n, HEADER + 16 + 8 * (size_t)ndim + OPT_FIXED, &n))
    return 0;
  return n;
}


/* The fixed fields of d at p: counters, generator, flags, minima. */
static unsigned char *put_state(unsigned char *p, const gd_descent *d,
                                int adam) {
  int i;
  put_u64(p, (uint64_t)d->steps);
  put_u64(p + 8, (uint64_t)d->adam_steps);
  for (i = 0; i < 4; i++) put_u64(p + 16 + 8 * i, d->rng.s[i]);
  put_u32(p + 48, d->rng.has_spare ? 1 : 0);
  put_u32(p + 52, adam ? 1 : 0);
  put_f64(p + 56, d->rng.spare);
  put_u64(p + 64, (uint64_t)d->nminima);
  return p + OPT_FIXED;
}


gd_status gd_descent_save(const gd_descent *d, const char *path,
                          gd_error *err) {
  const gd_tensor *parts[7];
  int k, np = descent_parts(d, parts);
  size_t i, n = descent_bytes(d->x->ndim, gd_tensor_numel(d->x), np,
                              d->nminima, MIN_FIXED);
  unsigned char *b, *p;

  for (k = 1; k < np; k++)
    if (!gd_tensor_same_shape(parts[k], d->x))
      return gd_error_set(err, GD_ERR_SHAPE, 0, "save: a history tensor "
                          "differs in shape from the variable");
  for (i = 0; i < d->nminima; i++)
    if (!gd_tensor_same_shape(d->minima[i].x, d->x))
      return gd_error_set(err, GD_ERR_SHAPE, 0, "save: minimum %zu "
                          "differs in shape from the variable", i + 1);
  if (n == 0 || (b = gd_malloc(n)) == NULL) return nomem(err, "save");

  p = put_state(b + put_shape(b, d->x), d, np == 7);
  for (k = 0; k < np; k++) p = put_values(p, parts[k]);
  for (i = 0; i < d->nminima; i++) {
    const gd_descent_minimum *m = &d->minima[i];
    put_f64(p, m->value);
    put_u64(p + 8, (uint64_t)m->iterations);
    put_u32(p + 16, (uint32_t)m->reason);
    put_u32(p + 20, m->numeric_gradient ? 1 : 0);
    put_u64(p + 24, (uint64_t)(int64_t)(m->restart < 0 ? -1 : m->restart));
    p = put_values(p + MIN_FIXED, m->x);
  }
  seal(b, n, MAGIC_OPT, V_OPT, DTYPE_F64);
  return save_image(b, n, path, err);
}


/* Check the fixed fields at p: flags 0 or 1, counts that fit a long. */
static int state_ok(const unsigned char *p) {
  return get_u64(p) <= LONG_MAX && get_u64(p + 8) <= LONG_MAX &&
         get_u32(p + 48) <= 1 && get_u32(p + 52) <= 1;
}


/*
** Read the minima of an image of the given version at p into d, which
** has room for them; d->nminima counts those read, so gd_descent_free
** cleans up. Version 1 has no restart: it reads as -1, unknown.
*/
static gd_status get_minima(gd_descent *d, const unsigned char *p,
                            size_t nmin, uint32_t version,
                            const char *name, gd_error *err) {
  size_t i, fixed = version < 2 ? MIN_FIXED_V1 : MIN_FIXED;
  for (i = 0; i < nmin; i++) {
    gd_descent_minimum *m = &d->minima[i];
    uint64_t it = get_u64(p + 8);
    uint32_t reason = get_u32(p + 16), numeric = get_u32(p + 20);
    int64_t r = version < 2 ? -1 : (int64_t)get_u64(p + 24);
    if (it > LONG_MAX || reason > GD_REASON_INTERRUPTED || numeric > 1 ||
        r < -1 || r > LONG_MAX)
      return io_error(err, "load", name, "corrupted (bad minimum)");
    if (gd_tensor_new(&m->x, d->x->ndim, d->x->shape, err))
      return nomem(err, "load");
    d->nminima++;
    m->value = get_f64(p);
    m->iterations = (long)it;
    m->reason = (gd_descent_reason)reason;
    m->numeric_gradient = (int)numeric;
    m->restart = (long)r;
    p = get_values(m->x, p + fixed);
  }
  return GD_OK;
}


/* Read one parameter's record at p into d; returns the position after
** it. */
static const unsigned char *get_param(gd_descent *d,
                                      const unsigned char *p) {
  gd_tensor *parts[7];
  int k, np = get_u32(p + 52) ? 7 : 5;
  d->steps = (long)get_u64(p);
  d->adam_steps = (long)get_u64(p + 8);
  for (k = 0; k < 4; k++) d->rng.s[k] = get_u64(p + 16 + 8 * k);
  d->rng.has_spare = (int)get_u32(p + 48);
  d->rng.spare = get_f64(p + 56);
  parts[0] = d->x;
  parts[1] = d->gradient_current;
  parts[2] = d->gradient_previous;
  parts[3] = d->gradient_step;
  parts[4] = d->velocity;
  parts[5] = d->adam_m;
  parts[6] = d->adam_v;
  p += OPT_FIXED;
  for (k = 0; k < np; k++) p = get_values(parts[k], p);
  return p;
}


/* Build the gd_descent of a checked image: shape, state at s, tensors
** and minima after it. */
static gd_status descent_build(gd_descent **out, const unsigned char *s,
                               int ndim, const size_t *shape,
                               uint32_t version, const char *name,
                               gd_error *err) {
  gd_tensor *x;
  gd_descent *d;
  size_t nmin = (size_t)get_u64(s + 64);
  int has_adam = get_u32(s + 52) != 0;
  gd_status st;

  if (gd_tensor_new(&x, ndim, shape, err)) return nomem(err, "load");
  st = gd_descent_new(&d, x, GD_DESCENT_SHARE, err);
  gd_tensor_free(x);
  if (st) return nomem(err, "load");
  if (has_adam && (gd_tensor_new(&d->adam_m, ndim, shape, err) ||
                  gd_tensor_new(&d->adam_v, ndim, shape, err))) {
    gd_descent_free(d);
    return nomem(err, "load");
  }
  if (nmin > 0 && (d->minima = gd_malloc(nmin * sizeof *d->minima))
      == NULL) {
    gd_descent_free(d);
    return nomem(err, "load");
  }
  d->capminima = nmin;
  s = get_param(d, s);
  if ((st = get_minima(d, s, nmin, version, name, err)) != GD_OK) {
    gd_descent_free(d);
    return st;
  }
  *out = d;
  return GD_OK;
}


gd_status gd_descent_decode(gd_descent **out, const unsigned char *b,
                            size_t n, const char *name, gd_error *err) {
  size_t shape[GD_MAX_DIMS], numel, body;
  const unsigned char *s;
  uint32_t version;
  int ndim;
  gd_status st = check_header(b, n, MAGIC_OPT, "GradientDescent", V_OPT,
                              &version, name, err);
  if (st) return st;
  st = read_shape(b, n, name, &ndim, shape, &numel, &body, err);
  if (st) return st;
  if (n < body + OPT_FIXED + 8 || !state_ok(b + body))
    return io_error(err, "load", name, "corrupted (bad state)");
  s = b + body;
  if (get_u64(s + 64) > SIZE_MAX ||
      descent_bytes(ndim, numel, get_u32(s + 52) ? 7 : 5,
                    (size_t)get_u64(s + 64),
                    version < 2 ? MIN_FIXED_V1 : MIN_FIXED) != n)
    return io_error(err, "load", name, "corrupted (sizes disagree)");
  return descent_build(out, s, ndim, shape, version, name, err);
}


static gd_status descent_dec(void *out, const unsigned char *b, size_t n,
                             const char *name, gd_error *err) {
  return gd_descent_decode((gd_descent **)out, b, n, name, err);
}


gd_status gd_descent_load(gd_descent **out, const char *path,
                          gd_error *err) {
  return load_with(descent_dec, out, path, err);
}


/* ---- networks -------------------------------------------------- */

/* Bytes of a network file for the given widths, or 0 on overflow. */
static size_t file_size(int depth, const size_t *nodes) {
  size_t total = HEADER + 8 * (size_t)(depth + 1) + NAME_BYTES *
                 (size_t)depth + 8, w, in;
  int l;
  for (l = 0; l < depth; l++) {
    if (!gd_add_size(nodes[l], 1, &in) ||
        !gd_mul_size(nodes[l + 1], in, &w) ||
        !gd_mul_size(w, 8, &w) || !gd_add_size(total, w, &total))
      return 0;
  }
  return total;
}


/* The activation names of net at p, NUL-padded to NAME_BYTES each;
** returns the position after them. */
static unsigned char *put_names(unsigned char *p, const gd_network *net) {
  int l;
  for (l = 0; l < gd_network_depth(net); l++, p += NAME_BYTES) {
    const char *a = gd_network_activation(net, l)->name;
    memset(p, 0, NAME_BYTES);
    memcpy(p, a, strnlen(a, NAME_BYTES - 1));
  }
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
    nomem(err, "save");
    return NULL;
  }
  memset(buf, 0, n);
  p = buf + HEADER;
  for (l = 0; l <= depth; l++, p += 8)
    put_u64(p, (uint64_t)gd_network_nodes(net, l));
  p = put_names(p, net);
  for (l = 0; l < depth; l++) {
    p = put_values(p, gd_network_weight(net, l));
    p = put_values(p, gd_network_bias(net, l));
  }
  seal(buf, n, MAGIC_NET, V_NET, (uint32_t)depth);
  *size = n;
  return buf;
}


gd_status gd_network_save(const gd_network *net, const char *path,
                          gd_error *err) {
  gd_error spare;
  unsigned char *buf;
  size_t n;
  if (err == NULL) err = &spare;
  if ((buf = image(net, &n, err)) == NULL) return err->code;
  return save_image(buf, n, path, err);
}


static gd_status builtin_resolver(void *ud, const char *name,
                                  const gd_activation **out,
                                  gd_error *err) {
  (void)ud;
  return gd_activation_lookup(out, name, err);
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
    return nomem(err, "load");
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
    return nomem(err, "load");
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
    p = get_values(gd_network_weight(net, (int)l), p);
    p = get_values(gd_network_bias(net, (int)l), p);
  }
  *out = net;
  return GD_OK;
}


gd_status gd_network_decode(gd_network **out, const unsigned char *b,
                            size_t n, const char *name,
                            gd_activation_resolver resolve, void *ud,
                            gd_error *err) {
  uint32_t version;
  gd_status st = check_header(b, n, MAGIC_NET, "network", V_NET, &version,
                              name, err);
  if (st) return st;
  return parse(out, b, n, name, resolve ? resolve : builtin_resolver, ud,
               err);
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
  st = gd_network_decode(out, buf, n, path, resolve, ud, err);
  gd_free(buf, cap);
  return st;
}


/* ---- training checkpoints -------------------------------------- */

/* The offset of the fixed fields (done .. spare) of a checkpoint of
** depth layers: after the widths and, from version 2, the activation
** names. */
static size_t ckp_fixed_at(int depth, uint32_t version) {
  size_t at = HEADER + 8 * ((size_t)depth + 1);
  return version < 2 ? at : at + NAME_BYTES * (size_t)depth;
}


/* Bytes of a checkpoint's head for depth layers: header, widths, names
** (from version 2), fixed fields, done losses and an order of m
** columns; 0 on overflow. */
static size_t ckp_head(int depth, uint32_t version, uint64_t done,
                       uint64_t m) {
  size_t n = ckp_fixed_at(depth, version) + CKP_FIXED;
  if (done > SIZE_MAX / 8 || m > SIZE_MAX / 8 ||
      !gd_add_size(n, 8 * (size_t)done, &n) ||
      !gd_add_size(n, 8 * (size_t)m, &n))
    return 0;
  return n;
}


/* Bytes of one parameter's record: fixed fields and np tensors of the
** shape of x; 0 on overflow. */
static size_t ckp_param(const gd_tensor *x, int np) {
  size_t n;
  if (!gd_mul_size(gd_tensor_numel(x), 8 * (size_t)np, &n) ||
      !gd_add_size(n, OPT_FIXED, &n))
    return 0;
  return n;
}


/* Write the head of a checkpoint of net and s at b; returns the
** position after it. */
static unsigned char *put_ckp_head(unsigned char *b, const gd_network *net,
                                   const gd_network_train_state *s) {
  unsigned char *p = b + HEADER;
  int l, i;
  size_t k;
  for (l = 0; l <= gd_network_depth(net); l++, p += 8)
    put_u64(p, (uint64_t)gd_network_nodes(net, l));
  p = put_names(p, net);
  put_u64(p, (uint64_t)s->done);
  put_u64(p + 8, (uint64_t)s->batch);
  put_u64(p + 16, (uint64_t)s->m);
  put_u64(p + 24, (uint64_t)s->pos);
  for (i = 0; i < 4; i++) put_u64(p + 32 + 8 * i, s->rng.s[i]);
  put_u32(p + 64, s->rng.has_spare ? 1 : 0);
  put_u32(p + 68, 0);
  put_f64(p + 72, s->rng.spare);
  p += CKP_FIXED;
  for (k = 0; k < (size_t)s->done; k++, p += 8) put_f64(p, s->losses[k]);
  for (k = 0; k < s->m; k++, p += 8) put_u64(p, (uint64_t)s->order[k]);
  return p;
}


/*
** A checkpoint image is built whole in memory and written atomically:
** the head, then each parameter's GradientDescent state (its minima,
** which training never records, are left out).
*/
gd_status gd_checkpoint_save(const gd_network *net,
                             const gd_network_train_state *s,
                             const char *path, gd_error *err) {
  const gd_tensor *parts[7];
  int k, i, np, depth = gd_network_depth(net);
  size_t part, n = ckp_head(depth, V_CKP, (uint64_t)s->done, s->m);
  unsigned char *b, *p;

  for (k = 0; k < s->nd && n > 0; k++) {
    np = descent_parts(s->d[k], parts);
    part = ckp_param(s->d[k]->x, np);
    if (part == 0 || !gd_add_size(n, part, &n)) n = 0;
  }
  if (n == 0 || !gd_add_size(n, 8, &n) || (b = gd_malloc(n)) == NULL)
    return nomem(err, "save");

  p = put_ckp_head(b, net, s);
  for (k = 0; k < s->nd; k++) {
    np = descent_parts(s->d[k], parts);
    p = put_state(p, s->d[k], np == 7);
    put_u64(p - 8, 0);                        /* no minima */
    for (i = 0; i < np; i++) p = put_values(p, parts[i]);
  }
  seal(b, n, MAGIC_CKP, V_CKP, (uint32_t)depth);
  return save_image(b, n, path, err);
}


/* The parameter of record k of a checkpoint: W or b of layer k / 2. */
static const gd_tensor *ckp_tensor(const gd_network *net, int k) {
  return k % 2 ? gd_network_bias(net, k / 2)
               : gd_network_weight(net, k / 2);
}


/* Check the activation names at p of a checkpoint against those of
** net, naming the first layer (from 1) whose names differ. */
static gd_status ckp_check_names(const unsigned char *p,
                                 const gd_network *net, const char *name,
                                 gd_error *err) {
  char msg[128], saved[NAME_BYTES];
  int l;
  for (l = 0; l < gd_network_depth(net); l++, p += NAME_BYTES) {
    const char *have = gd_network_activation(net, l)->name;
    memcpy(saved, p, NAME_BYTES);
    saved[NAME_BYTES - 1] = '\0';
    if (strncmp(saved, have, NAME_BYTES - 1) != 0) {
      snprintf(msg, sizeof msg, "a checkpoint of a network whose layer "
               "%d uses '%s', not '%.31s'", l + 1, saved, have);
      return io_error(err, "load", name, msg);
    }
  }
  return GD_OK;
}


/* Check the head of a checked image b of n bytes of the given version
** against net and s; *off gets the offset of the first parameter
** record. A version 1 image has no activation names to check. */
static gd_status ckp_check_head(const unsigned char *b, size_t n,
                                uint32_t version, const gd_network *net,
                                const gd_network_train_state *s,
                                const char *name, size_t *off,
                                gd_error *err) {
  char msg[112];
  int l, depth = gd_network_depth(net);
  const unsigned char *p = b + ckp_fixed_at(depth, version);
  uint64_t done, m, k;
  size_t head;
  gd_status st;

  if (get_u32(b + 12) != (uint32_t)depth)
    return io_error(err, "load", name, "a checkpoint of a network of "
                    "another depth");
  if (n < ckp_fixed_at(depth, version) + CKP_FIXED + 8)
    return io_error(err, "load", name, "corrupted (bad header)");
  for (l = 0; l <= depth; l++)
    if (get_u64(b + HEADER + 8 * (size_t)l) != gd_network_nodes(net, l))
      return io_error(err, "load", name, "a checkpoint of a network of "
                      "other widths");
  if (version >= 2 &&
      (st = ckp_check_names(b + HEADER + 8 * ((size_t)depth + 1), net,
                            name, err)) != GD_OK)
    return st;
  done = get_u64(p);
  m = get_u64(p + 16);
  if (get_u64(p + 8) != s->batch) {
    snprintf(msg, sizeof msg, "a checkpoint made with batch_size %llu, "
             "not %zu (0: the full batch)",
             (unsigned long long)get_u64(p + 8), s->batch);
    return io_error(err, "load", name, msg);
  }
  if (m != s->m) {
    snprintf(msg, sizeof msg, "a checkpoint made on %llu samples, not "
             "%zu", (unsigned long long)m, s->m);
    return io_error(err, "load", name, msg);
  }
  if (done > (uint64_t)s->cap) {
    snprintf(msg, sizeof msg, "a checkpoint of %llu iterations, more "
             "than the %ld asked for", (unsigned long long)done, s->cap);
    return io_error(err, "load", name, msg);
  }
  head = ckp_head(depth, version, done, m);
  if (head == 0 || head + 8 > n || get_u64(p + 24) > m ||
      get_u32(p + 64) > 1 || get_u32(p + 68) != 0)
    return io_error(err, "load", name, "corrupted (bad state)");
  for (k = 0, p = b + head - 8 * m; k < m; k++)
    if (get_u64(p + 8 * k) >= m)
      return io_error(err, "load", name, "corrupted (bad order)");
  *off = head;
  return GD_OK;
}


/* Check that the parameter records from off fill the image exactly. */
static gd_status ckp_check_params(const unsigned char *b, size_t n,
                                  const gd_network *net, size_t off,
                                  const char *name, gd_error *err) {
  int k, nd = 2 * gd_network_depth(net);
  size_t part;
  for (k = 0; k < nd; k++) {
    const unsigned char *p = b + off;
    if (off + OPT_FIXED + 8 > n || !state_ok(p) || get_u64(p + 64) != 0)
      return io_error(err, "load", name, "corrupted (bad state)");
    part = ckp_param(ckp_tensor(net, k), get_u32(p + 52) ? 7 : 5);
    if (part == 0 || !gd_add_size(off, part, &off) || off + 8 > n)
      return io_error(err, "load", name, "corrupted (sizes disagree)");
  }
  if (off + 8 != n)
    return io_error(err, "load", name, "corrupted (sizes disagree)");
  return GD_OK;
}


/* Give every descent whose record from off has adam's moments a pair
** of them. The descents are fresh (no moments yet), so on failure all
** moments are dropped again and nothing has changed. */
static gd_status ckp_moments(const unsigned char *b, size_t off,
                             gd_network_train_state *s, gd_error *err) {
  gd_status st = GD_OK;
  int k;
  for (k = 0; k < s->nd && !st; k++) {
    gd_descent *d = s->d[k];
    int adam = get_u32(b + off + 52) != 0;
    off += ckp_param(d->x, adam ? 7 : 5);
    if (adam && d->adam_m == NULL)
      st = gd_tensor_new(&d->adam_m, d->x->ndim, d->x->shape, err);
    if (adam && !st && d->adam_v == NULL)
      st = gd_tensor_new(&d->adam_v, d->x->ndim, d->x->shape, err);
  }
  for (k = 0; st && k < s->nd; k++) {
    gd_tensor_free(s->d[k]->adam_m);
    gd_tensor_free(s->d[k]->adam_v);
    s->d[k]->adam_m = s->d[k]->adam_v = NULL;
  }
  return st ? nomem(err, "load") : GD_OK;
}


/* Copy a checked image of the given version into s and the parameters
** it shares. */
static void ckp_apply(const unsigned char *b, uint32_t version,
                      gd_network_train_state *s) {
  size_t k;
  int i;
  const unsigned char *p = b + ckp_fixed_at(s->nd / 2, version);
  s->done = (long)get_u64(p);
  s->pos = (size_t)get_u64(p + 24);
  for (i = 0; i < 4; i++) s->rng.s[i] = get_u64(p + 32 + 8 * i);
  s->rng.has_spare = (int)get_u32(p + 64);
  s->rng.spare = get_f64(p + 72);
  p += CKP_FIXED;
  for (k = 0; k < (size_t)s->done; k++, p += 8) s->losses[k] = get_f64(p);
  for (k = 0; k < s->m; k++, p += 8) s->order[k] = (size_t)get_u64(p);
  for (i = 0; i < s->nd; i++) p = get_param(s->d[i], p);
}


typedef struct ckp_target {
  gd_network_train_state *s;
  const gd_network *net;
} ckp_target;


static gd_status ckp_dec(void *out, const unsigned char *b, size_t n,
                         const char *name, gd_error *err) {
  ckp_target *t = (ckp_target *)out;
  size_t head = 0;
  uint32_t version = 0;
  gd_status st = check_header(b, n, MAGIC_CKP, "checkpoint", V_CKP,
                              &version, name, err);
  if (!st) st = ckp_check_head(b, n, version, t->net, t->s, name, &head,
                               err);
  if (!st) st = ckp_check_params(b, n, t->net, head, name, err);
  if (!st) st = ckp_moments(b, head, t->s, err);
  if (!st) ckp_apply(b, version, t->s);
  return st;
}


gd_status gd_checkpoint_load(gd_network_train_state *s,
                             const gd_network *net, const char *path,
                             gd_error *err) {
  ckp_target t;
  t.s = s;
  t.net = net;
  return load_with(ckp_dec, &t, path, err);
}


/* ---- NumPy .npy ------------------------------------------------ */

/* What the header of a .npy file says about its data. */
typedef struct npy_info {
  char order;          /* '<' little-endian, '>' big-endian */
  char kind;           /* 'f', 'i', 'u' or 'b' */
  size_t size;         /* bytes per element */
  int fortran;
  int ndim;
  size_t shape[GD_MAX_DIMS];
} npy_info;

/* A cursor over the header text. */
typedef struct cursor {
  const char *p, *end;
} cursor;


static void skip_space(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
                           *c->p == '\n' || *c->p == '\r'))
    c->p++;
}


/* Consume ch after blanks; 0 when it is not there. */
static int accept(cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}


/* A quoted string into buf (at most size - 1 bytes); 0 on failure. */
static int read_quoted(cursor *c, char *buf, size_t size) {
  char q;
  size_t n = 0;
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
  q = *c->p++;
  while (c->p < c->end && *c->p != q) {
    if (n + 1 >= size) return 0;
    buf[n++] = *c->p++;
  }
  if (c->p >= c->end) return 0;
  c->p++;
  buf[n] = '\0';
  return 1;
}


/* A word of letters (True, False) compared with w. */
static int accept_word(cursor *c, const char *w) {
  size_t n = strlen(w);
  skip_space(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
  c->p += n;
  return 1;
}


/* A shape tuple "(3, 4)", "(3,)" or "()" into info; 0 on failure. */
static int read_tuple(cursor *c, npy_info *info) {
  info->ndim = 0;
  if (!accept(c, '(')) return 0;
  for (;;) {
    uint64_t v = 0;
    int digits = 0;
    if (accept(c, ')')) return 1;
    skip_space(c);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (v > (SIZE_MAX - 9) / 10) return 0;
      v = 10 * v + (uint64_t)(*c->p++ - '0');
      digits++;
    }
    if (!digits || info->ndim == GD_MAX_DIMS) return 0;
    if (c->p < c->end && *c->p == 'L') c->p++;
    info->shape[info->ndim++] = (size_t)v;
    if (!accept(c, ',')) return accept(c, ')');
  }
}


/* The dtype string of a .npy header ("<f8") into info; 0 when it is
** not one this build reads. */
static int read_descr(const char *s, npy_info *info) {
  char order = s[0];
  unsigned long size;
  char *end;
  if (order == '=') order = '<';
  if (order != '<' && order != '>' && order != '|') return 0;
  info->kind = s[1];
  if (info->kind == '\0' || strchr("fiub", info->kind) == NULL) return 0;
  if (s[2] < '0' || s[2] > '9') return 0;
  size = strtoul(s + 2, &end, 10);
  if (*end != '\0') return 0;
  if (info->kind == 'f' && size != 4 && size != 8) return 0;
  if ((info->kind == 'i' || info->kind == 'u') &&
      size != 1 && size != 2 && size != 4 && size != 8)
    return 0;
  if (info->kind == 'b' && size != 1) return 0;
  info->order = order == '>' ? '>' : '<';
  info->size = size;
  return 1;
}


/* Parse the header dictionary {'descr': .., 'fortran_order': ..,
** 'shape': ..} into info; returns a short reason or NULL when good. */
static const char *read_dict(cursor *c, npy_info *info) {
  char key[32], descr[32];
  int seen = 0;
  if (!accept(c, '{')) return "corrupted (bad header)";
  while (!accept(c, '}')) {
    if (!read_quoted(c, key, sizeof key) || !accept(c, ':'))
      return "corrupted (bad header)";
    if (strcmp(key, "descr") == 0) {
      if (!read_quoted(c, descr, sizeof descr))
        return "corrupted (bad header)";
      if (!read_descr(descr, info)) return "unsupported dtype";
      seen |= 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (accept_word(c, "True")) info->fortran = 1;
      else if (accept_word(c, "False")) info->fortran = 0;
      else return "corrupted (bad header)";
      seen |= 2;
    } else if (strcmp(key, "shape") == 0) {
      if (!read_tuple(c, info)) return "corrupted (bad shape)";
      seen |= 4;
    } else {
      return "corrupted (bad header)";
    }
    if (accept(c, '}')) break;
    if (!accept(c, ',')) return "corrupted (bad header)";
  }
  return seen == 7 ? NULL : "corrupted (bad header)";
}


/* One element of the data at p as a double. */
static double npy_value(const unsigned char *p, const npy_info *in) {
  uint64_t v = 0;
  size_t i;
  for (i = 0; i < in->size; i++) {
    size_t at = in->order == '<' ? in->size - 1 - i : i;
    v = (v << 8) | p[at];
  }
  if (in->kind == 'b') return v != 0;
  if (in->kind == 'u') return (double)v;
  if (in->kind == 'i') {
    if (in->size < 8 && (v >> (8 * in->size - 1)) & 1)
      v |= ~(uint64_t)0 << (8 * in->size);
    return (double)(int64_t)v;
  }
  if (in->size == 4) {
    uint32_t w = (uint32_t)v;
    float f;
    memcpy(&f, &w, sizeof f);
    return f;
  }
  {
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
  }
}


/* Fill the contiguous t from data in C or Fortran order. */
static void npy_fill(gd_tensor *t, const unsigned char *p,
                     const npy_info *in) {
  double *d = gd_tensor_data(t);
  size_t idx[GD_MAX_DIMS] = {0}, i, n = gd_tensor_numel(t), off = 0;
  size_t stride[GD_MAX_DIMS];
  int k;
  if (!in->fortran) {
    for (i = 0; i < n; i++, p += in->size) d[i] = npy_value(p, in);
    return;
  }
  for (k = in->ndim - 1, i = 1; k >= 0; k--) {
    stride[k] = i;
    i *= in->shape[k];
  }
  for (i = 0; i < n; i++, p += in->size) {
    d[off] = npy_value(p, in);
    for (k = 0; k < in->ndim; k++) {
      off += stride[k];
      if (++idx[k] < in->shape[k]) break;
      off -= stride[k] * in->shape[k];
      idx[k] = 0;
    }
  }
}


/* The magic, version and header length of a .npy image: the header
** text goes to *hstart / *hlen. */
static gd_status npy_preamble(const unsigned char *b, size_t n,
                              const char *name, size_t *hstart,
                              size_t *hlen, gd_error *err) {
  char msg[80];
  if (memcmp(b, MAGIC_NPY, n < 6 ? n : 6) != 0)
    return io_error(err, "load", name, "not a .npy file (wrong magic)");
  if (n < 10) return io_error(err, "load", name, "truncated");
  if (b[6] < 1 || b[6] > 3) {
    snprintf(msg, sizeof msg, "npy format version %d.%d is %s (this "
             "build reads 1.0 to 3.0)", b[6], b[7],
             b[6] > 3 ? "newer" : "unknown");
    return io_error(err, "load", name, msg);
  }
  if (b[6] == 1) {
    *hstart = 10;
    *hlen = (size_t)b[8] | (size_t)b[9] << 8;
  } else {
    if (n < 12) return io_error(err, "load", name, "truncated");
    *hstart = 12;
    *hlen = get_u32(b + 8);
  }
  if (*hlen > n - *hstart) return io_error(err, "load", name, "truncated");
  return GD_OK;
}


gd_status gd_npy_decode(gd_tensor **out, const unsigned char *b, size_t n,
                        const char *name, gd_error *err) {
  npy_info in;
  cursor c;
  size_t hstart = 0, hlen = 0, numel = 1, bytes;
  const char *why;
  gd_tensor *t;
  int k;
  gd_status st = npy_preamble(b, n, name, &hstart, &hlen, err);
  if (st) return st;

  memset(&in, 0, sizeof in);
  c.p = (const char *)b + hstart;
  c.end = c.p + hlen;
  if ((why = read_dict(&c, &in)) != NULL)
    return io_error(err, "load", name, why);
  for (k = 0; k < in.ndim; k++)
    if (!gd_mul_size(numel, in.shape[k], &numel))
      return io_error(err, "load", name, "corrupted (bad shape)");
  if (!gd_mul_size(numel, in.size, &bytes))
    return io_error(err, "load", name, "corrupted (bad shape)");
  if (bytes > n - hstart - hlen)
    return io_error(err, "load", name, "truncated");
  if (bytes < n - hstart - hlen)
    return io_error(err, "load", name, "corrupted (trailing bytes)");

  if (gd_tensor_new(&t, in.ndim, in.shape, err)) return nomem(err, "load");
  npy_fill(t, b + hstart + hlen, &in);
  *out = t;
  return GD_OK;
}


static gd_status npy_dec(void *out, const unsigned char *b, size_t n,
                         const char *name, gd_error *err) {
  return gd_npy_decode((gd_tensor **)out, b, n, name, err);
}


gd_status gd_tensor_load_npy(gd_tensor **out, const char *path,
                             gd_error *err) {
  return load_with(npy_dec, out, path, err);
}


/* The header dictionary of t, padded with blanks and a newline so that
** the data starts at a multiple of 64 bytes; returns its length. */
static size_t npy_header(char *h, size_t size, const gd_tensor *t) {
  size_t n, total;
  int k;
  n = (size_t)snprintf(h, size, "{'descr': '<f8', 'fortran_order': "
                       "False, 'shape': (");
  for (k = 0; k < t->ndim; k++)
    n += (size_t)snprintf(h + n, size - n, k ? " %zu," : "%zu,",
                          t->shape[k]);
  if (t->ndim > 1) n--;             /* (3, 4) but (3,) */
  n += (size_t)snprintf(h + n, size - n, "), }");
  total = (10 + n + 1 + 63) / 64 * 64 - 10;
  memset(h + n, ' ', total - n - 1);
  h[total - 1] = '\n';
  return total;
}


gd_status gd_tensor_save_npy(const gd_tensor *t, const char *path,
                             gd_error *err) {
  char h[GD_MAX_DIMS * 24 + 128];
  size_t hlen = npy_header(h, sizeof h, t), n;
  unsigned char *b;
  if (!gd_mul_size(gd_tensor_numel(t), 8, &n) ||
      !gd_add_size(n, 10 + hlen, &n) || (b = gd_malloc(n)) == NULL)
    return nomem(err, "save");
  memcpy(b, MAGIC_NPY, 6);
  b[6] = 1;
  b[7] = 0;
  b[8] = (unsigned char)(hlen & 0xff);
  b[9] = (unsigned char)(hlen >> 8);
  memcpy(b + 10, h, hlen);
  put_values(b + 10 + hlen, t);
  return save_image(b, n, path, err);
}
