/*
** core.h: status codes, error records, the allocation hook and
** overflow-checked size arithmetic shared by every part of the gdnn core.
**
** Limits: float64 only; at most GD_MAX_DIMS dimensions per tensor.
*/
#ifndef GD_CORE_H
#define GD_CORE_H

#include <stddef.h>
#include <stdint.h>

#define GD_MAX_DIMS 16

/* Every fallible core call returns one of these. */
typedef enum gd_status {
  GD_OK = 0,
  GD_ERR_ARG,       /* a bad value: negative size, unknown name, ... */
  GD_ERR_SHAPE,     /* shapes that do not fit together */
  GD_ERR_RANGE,     /* an index or dimension out of range */
  GD_ERR_READONLY,  /* a write into a broadcast (stride 0) view */
  GD_ERR_LAYOUT,    /* a view the strides cannot express */
  GD_ERR_SUBSCRIPT, /* an einsum subscripts string that is wrong */
  GD_ERR_NOMEM,     /* an allocation failed or a size overflowed */
  GD_ERR_NUMERIC,   /* a NaN or infinity where a finite value is needed */
  GD_ERR_IO         /* a file that cannot be read or written */
} gd_status;

#define GD_ERRMSG_SIZE 256

/* What went wrong: the code, a lowercase message without a final period,
** and the 1-based operand that caused it (0 when none is to blame). */
typedef struct gd_error {
  gd_status code;
  int operand;
  char msg[GD_ERRMSG_SIZE];
} gd_error;

/* Fill err (when not NULL) and return code; msg is a printf format. */
gd_status gd_error_set(gd_error *err, gd_status code, int operand,
                       const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 4, 5)))
#endif
  ;

/* Write a shape as "3x4" ("scalar" for no dimensions) into buf. */
char *gd_shape_str(char *buf, size_t bufsize, int ndim,
                   const size_t *shape);
#define GD_SHAPESTR_SIZE (GD_MAX_DIMS * 21 + 8)

/*
** The one allocation hook. Every allocation of the core goes through
** gd_malloc/gd_realloc/gd_free; gd_set_allocator replaces the functions
** (NULL restores the C library's). f has the contract of lua_Alloc:
** nsize 0 frees, otherwise it (re)allocates and may return NULL.
*/
typedef void *(*gd_alloc_fn)(void *ud, void *ptr, size_t osize,
                             size_t nsize);
void gd_set_allocator(gd_alloc_fn f, void *ud);
void gd_get_allocator(gd_alloc_fn *f, void **ud);
void *gd_malloc(size_t n);
void *gd_realloc(void *p, size_t osize, size_t nsize);
void gd_free(void *p, size_t n);

/* *out = a * b, or 0 when the product overflows size_t. */
int gd_mul_size(size_t a, size_t b, size_t *out);
/* *out = a + b, or 0 when the sum overflows size_t. */
int gd_add_size(size_t a, size_t b, size_t *out);

#endif
