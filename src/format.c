/*
** format.c: tensors as text in the manner of NumPy's str(). Numbers share
** one style (fixed or scientific) and one width so that columns line up;
** above a threshold only the edge items of each dimension are printed,
** with "..." for the rest, and only those items are ever read, so a huge
** tensor prints as fast as a small one. A footer names the kind and the
** shape.
**
** Limits: at most 10^7 items are printed; precision is at most 17.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor.h"

#define MAX_ITEMS 10000000u
#define NUMBUF 64

/* The growing text and how numbers are written into it. */
typedef struct fmt {
  char *buf;
  size_t len, cap;
  size_t col;            /* characters since the last newline */
  int failed;            /* an allocation failed */
  const gd_tensor *t;
  const gd_format_opts *o;
  int summarise;
  int sci;               /* scientific style */
  int digits;            /* digits after the point */
  size_t width;          /* of the widest number */
} fmt;

/* What a pass over the printed items does with each number. */
typedef enum pass { MEASURE, WIDEN, EMIT } pass;

/* What MEASURE learns: largest and smallest non-zero magnitudes among
** the finite items, and whether any is finite at all. */
typedef struct stats {
  double maxabs, minabs;
  int finite;
} stats;


void gd_format_opts_default(gd_format_opts *o) {
  o->precision = 4;
  o->threshold = 1000;
  o->edgeitems = 3;
  o->linewidth = 80;
}


/* Append n bytes; on failure the text is dropped and failed is set. */
static void put(fmt *f, const char *s, size_t n) {
  size_t i;
  if (f->failed) return;
  if (f->len + n + 1 > f->cap) {
    size_t cap = f->cap ? f->cap : 256;
    char *p;
    while (cap < f->len + n + 1) cap *= 2;
    p = gd_realloc(f->buf, f->cap, cap);
    if (p == NULL) {
      f->failed = 1;
      return;
    }
    f->buf = p;
    f->cap = cap;
  }
  memcpy(f->buf + f->len, s, n);
  f->len += n;
  f->buf[f->len] = '\0';
  for (i = 0; i < n; i++) f->col = s[i] == '\n' ? 0 : f->col + 1;
}


static void puts_(fmt *f, const char *s) {
  put(f, s, strlen(s));
}


static void repeat(fmt *f, char c, size_t n) {
  while (n-- > 0) put(f, &c, 1);
}


/* The number of digits after the point that x needs when written with
** at most prec of them: trailing zeros are dropped. */
static int needed_digits(double x, int prec, int sci) {
  char s[NUMBUF];
  char *end;
  int n = prec;
  snprintf(s, sizeof s, sci ? "%.*e" : "%.*f", prec, x);
  end = sci ? strchr(s, 'e') : s + strlen(s);
  if (end == NULL) return prec;
  while (n > 0 && end[-1] == '0') {
    end--;
    n--;
  }
  return n;
}


/* x in the chosen style: "nan", "inf", "1.5", "2.", "1.5e+08". */
static void number(const fmt *f, double x, char *s) {
  if (isnan(x))
    snprintf(s, NUMBUF, "nan");
  else if (isinf(x))
    snprintf(s, NUMBUF, x > 0 ? "inf" : "-inf");
  else if (f->digits == 0 && f->sci) {
    char *e;
    snprintf(s, NUMBUF, "%.0e", x);
    e = strchr(s, 'e');
    if (e != NULL) {
      memmove(e + 1, e, strlen(e) + 1);
      *e = '.';
    }
  } else if (f->digits == 0)
    snprintf(s, NUMBUF, "%.0f.", x);
  else
    snprintf(s, NUMBUF, f->sci ? "%.*e" : "%.*f", f->digits, x);
}


/* One item met by a pass: its statistics, its width or its text. */
static void item(fmt *f, pass p, stats *st, double x) {
  char s[NUMBUF];
  size_t n;
  if (p == MEASURE) {
    double m = fabs(x);
    if (!isfinite(x)) return;
    if (!st->finite || m > st->maxabs) st->maxabs = m;
    if (m > 0 && (st->minabs == 0 || m < st->minabs)) st->minabs = m;
    st->finite = 1;
    return;
  }
  number(f, x, s);
  n = strlen(s);
  if (p == WIDEN) {
    if (n > f->width) f->width = n;
    return;
  }
  if (f->width > n) repeat(f, ' ', f->width - n);
  puts_(f, s);
}


/* Walk the items of dimension d from base: MEASURE and WIDEN visit the
** printed items, EMIT writes brackets, separators and "...". */
static void walk(fmt *f, pass p, stats *st, int d, const double *base) {
  const gd_tensor *t = f->t;
  size_t n = t->shape[d], e = f->o->edgeitems, i;
  int cut = f->summarise && n > e && n - e > e;
  int last = d == t->ndim - 1;

  if (p == EMIT) puts_(f, "[");
  for (i = 0; i < n; i++) {
    if (cut && i == e) {
      if (p == EMIT) {
        if (last) puts_(f, " ...");
        else {
          repeat(f, '\n', (size_t)(t->ndim - 1 - d));
          repeat(f, ' ', (size_t)d + 1);
          puts_(f, "...");
        }
      }
      i = n - e - 1;
      continue;
    }
    if (p == EMIT && i > 0) {
      if (!last) {
        repeat(f, '\n', (size_t)(t->ndim - 1 - d));
        repeat(f, ' ', (size_t)d + 1);
      } else if (f->col + 1 + f->width + (i + 1 == n ? (size_t)d + 1 : 0)
                 > (size_t)f->o->linewidth) {
        puts_(f, "\n");
        repeat(f, ' ', (size_t)d + 1);
      } else {
        puts_(f, " ");
      }
    }
    if (last)
      item(f, p, st, base[(ptrdiff_t)i * t->strides[d]]);
    else
      walk(f, p, st, d + 1, base + (ptrdiff_t)i * t->strides[d]);
  }
  if (p == EMIT) puts_(f, "]");
}


/* How many items are printed, or 0 above MAX_ITEMS. */
static size_t printed_items(const gd_tensor *t, int summarise, size_t e) {
  size_t n = 1, k;
  int d;
  for (d = 0; d < t->ndim; d++) {
    k = t->shape[d];
    if (summarise && k > e && k - e > e) k = 2 * e;
    if (!gd_mul_size(n, k, &n) || n > MAX_ITEMS) return 0;
  }
  return n ? n : 1;
}


/* Choose the style as NumPy does: scientific when the largest magnitude
** reaches 1e8, the smallest non-zero one is under 1e-4, or they differ
** by more than 1000. */
static int scientific(const stats *st) {
  return st->finite && (st->maxabs >= 1e8 ||
         (st->minabs > 0 && (st->minabs < 1e-4 ||
                             st->maxabs / st->minabs > 1e3)));
}


/* The digits every item needs, found by a walk that keeps the largest. */
static void row_digits(fmt *f, int d, const double *base, int *need) {
  const gd_tensor *t = f->t;
  size_t n = t->shape[d], e = f->o->edgeitems, i;
  int cut = f->summarise && n > e && n - e > e;
  for (i = 0; i < n; i++) {
    const double *p;
    if (cut && i == e) i = n - e;
    p = base + (ptrdiff_t)i * t->strides[d];
    if (d < t->ndim - 1) {
      row_digits(f, d + 1, p, need);
    } else if (isfinite(*p)) {
      int k = needed_digits(*p, f->o->precision, f->sci);
      if (k > *need) *need = k;
    }
  }
}


static gd_status check_opts(const gd_format_opts *o, gd_error *err) {
  if (o->precision < 0 || o->precision > 17)
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "format: precision %d out of range 0 to 17",
                        o->precision);
  if (o->linewidth < 1)
    return gd_error_set(err, GD_ERR_ARG, 0,
                        "format: line width %d is not positive",
                        o->linewidth);
  return GD_OK;
}


/* The body of the text: one number for a 0-d tensor (with at least one
** digit after the point), nested brackets otherwise. Items are read in
** four walks: statistics, digits, width, text. */
static void body(fmt *f) {
  const gd_tensor *t = f->t;
  const double *base = gd_tensor_data(t);
  stats st;
  int need = 0;

  memset(&st, 0, sizeof st);
  if (t->ndim == 0) {
    item(f, MEASURE, &st, base[0]);
    f->sci = scientific(&st);
    if (isfinite(base[0]))
      need = needed_digits(base[0], f->o->precision, f->sci);
    f->digits = need > 0 || f->sci ? need : 1;
    item(f, EMIT, &st, base[0]);
    return;
  }
  if (gd_tensor_numel(t) == 0) {
    puts_(f, "[]");
    return;
  }

  walk(f, MEASURE, &st, 0, base);
  f->sci = scientific(&st);
  row_digits(f, 0, base, &need);
  f->digits = need;
  walk(f, WIDEN, &st, 0, base);
  walk(f, EMIT, &st, 0, base);
}


gd_status gd_tensor_format(char **out, size_t *len, const gd_tensor *t,
                           const gd_format_opts *opts, const char *name,
                           gd_error *err) {
  char shape[GD_SHAPESTR_SIZE];
  gd_format_opts defaults;
  fmt f;
  char *p;
  gd_status st;

  if (opts == NULL) gd_format_opts_default(&defaults);
  if (opts == NULL) opts = &defaults;
  st = check_opts(opts, err);
  if (st != GD_OK) return st;
  memset(&f, 0, sizeof f);
  f.t = t;
  f.o = opts;
  f.summarise = gd_tensor_numel(t) > opts->threshold;
  if (printed_items(t, f.summarise, opts->edgeitems) == 0)
    return gd_error_set(err, GD_ERR_ARG, 1,
                        "format: shape %s has too many items to print",
                        gd_tensor_shape_str(t, shape, sizeof shape));

  body(&f);
  if (t->ndim > 0) {
    puts_(&f, "\n[");
    puts_(&f, name ? name : "gdnn.Tensor");
    puts_(&f, " of shape ");
    puts_(&f, gd_tensor_shape_str(t, shape, sizeof shape));
    puts_(&f, "]");
  }
  if (!f.failed && f.len + 1 < f.cap) {
    p = gd_realloc(f.buf, f.cap, f.len + 1);
    if (p == NULL) f.failed = 1;
    else f.buf = p;
  }
  if (f.failed || f.buf == NULL) {
    gd_free(f.buf, f.cap);
    return gd_error_set(err, GD_ERR_NOMEM, 0,
                        "format: cannot allocate the text");
  }
  *out = f.buf;
  *len = f.len;
  return GD_OK;
}
