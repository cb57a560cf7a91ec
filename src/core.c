/*
** core.c: error records, shape strings, the allocation hook and checked
** size arithmetic.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"


static void *default_alloc(void *ud, void *ptr, size_t osize,
                           size_t nsize) {
  (void)ud; (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}


static gd_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud = NULL;


void gd_set_allocator(gd_alloc_fn f, void *ud) {
  alloc_fn = f ? f : default_alloc;
  alloc_ud = f ? ud : NULL;
}


void gd_get_allocator(gd_alloc_fn *f, void **ud) {
  if (f) *f = alloc_fn;
  if (ud) *ud = alloc_ud;
}


void *gd_malloc(size_t n) {
  return alloc_fn(alloc_ud, NULL, 0, n ? n : 1);
}


void *gd_realloc(void *p, size_t osize, size_t nsize) {
  return alloc_fn(alloc_ud, p, osize, nsize ? nsize : 1);
}


void gd_free(void *p, size_t n) {
  if (p) alloc_fn(alloc_ud, p, n, 0);
}


gd_status gd_error_set(gd_error *err, gd_status code, int operand,
                       const char *fmt, ...) {
  va_list ap;
  if (err == NULL) return code;
  err->code = code;
  err->operand = operand;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}


char *gd_shape_str(char *buf, size_t bufsize, int ndim,
                   const size_t *shape) {
  size_t used = 0;
  int i;
  if (bufsize == 0) return buf;
  buf[0] = '\0';
  if (ndim == 0) {
    snprintf(buf, bufsize, "scalar");
    return buf;
  }
  for (i = 0; i < ndim && used < bufsize; i++) {
    int n = snprintf(buf + used, bufsize - used, i ? "x%zu" : "%zu",
                     shape[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  return buf;
}


int gd_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  *out = a * b;
  return 1;
}


int gd_add_size(size_t a, size_t b, size_t *out) {
  if (b > SIZE_MAX - a) return 0;
  *out = a + b;
  return 1;
}
