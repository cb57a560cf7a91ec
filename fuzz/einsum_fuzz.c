/*
** einsum_fuzz.c: libFuzzer harness for the einsum subscripts parser
** and planner. The input is "subscripts\nshapes": shapes is up to
** GD_EINSUM_MAX_OPS groups separated by ';', each a list of sizes
** separated by ','. Operands are zero tensors of those shapes; any
** outcome but a crash or a leak is fine.
**
** Limits: sizes are taken modulo 6 and products above 4096 elements are
** skipped, so each run stays small.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "einsum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* Parse the shapes text into ops; returns how many were made. */
static int make_ops(const char *s, gd_tensor **ops) {
  int nops = 0;
  while (nops < GD_EINSUM_MAX_OPS) {
    size_t shape[GD_MAX_DIMS], total = 1;
    int nd = 0;
    while (*s >= '0' && *s <= '9' && nd < GD_MAX_DIMS) {
      shape[nd] = strtoul(s, (char **)&s, 10) % 6;
      total *= shape[nd] ? shape[nd] : 1;
      nd++;
      if (*s == ',') s++;
    }
    if (total > 4096 || gd_tensor_full(&ops[nops], nd, shape, 1.0, NULL))
      break;
    nops++;
    if (*s != ';') break;
    s++;
  }
  return nops;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text, *nl;
  gd_tensor *ops[GD_EINSUM_MAX_OPS], *out = NULL;
  gd_einsum_order order;
  char *report = NULL;
  size_t len = 0;
  int i, nops;
  if (size > 4096) return 0;
  text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  nl = strchr(text, '\n');
  if (nl != NULL) *nl = '\0';
  nops = make_ops(nl ? nl + 1 : "", ops);
  if (gd_einsum_path(&order, &report, &len, text, nops,
                     (const gd_tensor *const *)ops, NULL) == GD_OK) {
    gd_free(report, len + 1);
    if (order.largest < 1e5 && order.naive_flops < 1e7 &&
        gd_einsum(&out, text, nops, (const gd_tensor *const *)ops,
                  NULL) == GD_OK)
      gd_tensor_free(out);
  }
  for (i = 0; i < nops; i++) gd_tensor_free(ops[i]);
  free(text);
  return 0;
}
