/*
** einsum_int.h: what the einsum files share and nothing else includes:
** the parsed form of a subscripts string, the label-set terms the
** planner works on, and the pairwise order search.
**
** Labels are renumbered densely per call (0 .. nlab - 1) so that a set of
** labels is one 64-bit mask.
*/
#ifndef GD_EINSUM_INT_H
#define GD_EINSUM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "einsum.h"

#define EI_MAXL GD_EINSUM_MAX_LABELS
#define EI_MAXOPS GD_EINSUM_MAX_OPS

/* A subscripts string checked against its operands. */
typedef struct ei_parsed {
  const char *subs;
  int nops;
  int nlab;                                /* distinct labels */
  int nell;                                /* dims that '...' covers */
  size_t size[EI_MAXL];                    /* size of each label */
  char name[EI_MAXL];                      /* letter shown for a label */
  int ndim[EI_MAXOPS];
  unsigned char lab[EI_MAXOPS][GD_MAX_DIMS]; /* label of each dim */
  int outn;
  unsigned char outlab[GD_MAX_DIMS];
} ei_parsed;

/* One operand or intermediate: which labels it has, the stride of each
** (in st, indexed by label), a layout order in lab, and where its data
** lives (a plan slot). */
typedef struct ei_term {
  uint64_t mask;
  int n;
  int slot;
  unsigned char lab[EI_MAXL];
  ptrdiff_t st[EI_MAXL];
} ei_term;

/* A pairwise order: step s contracts current positions pairs[s][0] <
** pairs[s][1]; the result, with labels result[s], goes to the end. */
typedef struct ei_path {
  int nsteps;
  int pairs[EI_MAXOPS][2];
  uint64_t result[EI_MAXOPS];
  double cost[EI_MAXOPS];
  double total;
} ei_path;

/* Parse subs for nops operands; fills p or err (blaming an operand where
** one is at fault). */
gd_status ei_parse(ei_parsed *p, const char *subs, int nops,
                   const gd_tensor *const *ops, gd_error *err);
/* The term of operand k: repeated labels become one label with the sum
** of their strides (a diagonal); size-1 dims are dropped. */
void ei_input_term(ei_term *t, const ei_parsed *p, int k,
                   const gd_tensor *op);
/* Mask of the output labels. */
uint64_t ei_out_mask(const ei_parsed *p);
/* Number of elements of a label set, as a double. */
double ei_mask_size(uint64_t m, const size_t *size);
/* Choose the order for terms of masks m[0..n-1] (n >= 1). */
void ei_find_path(ei_path *path, const uint64_t *m, int n, uint64_t out,
                  const size_t *size);

#endif
