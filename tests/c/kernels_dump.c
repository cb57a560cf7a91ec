/*
** kernels_dump.c: tanh and sigmoid of the doubles in a file, by the
** activation kernels of src/activation.c compiled into this program.
** tests/clones_spec.lua builds it once per x86-64 level (with
** GD_CLONES empty, so each build holds one copy of the loops) and
** compares what each writes.
**
** Usage: kernels_dump IN OUT, IN and OUT raw native doubles; OUT gets
** tanh of every input, then sigmoid of every input.
*/
#include <stdio.h>
#include <stdlib.h>

#include "activation.h"


int main(int argc, char **argv) {
  FILE *in, *out;
  double *x, *y;
  long n;
  if (argc != 3 || (in = fopen(argv[1], "rb")) == NULL) return 2;
  if (fseek(in, 0, SEEK_END) != 0 || (n = ftell(in)) < 0) return 2;
  n /= (long)sizeof *x;
  rewind(in);
  x = malloc((size_t)n * sizeof *x + 1);
  y = malloc((size_t)n * sizeof *y + 1);
  if (x == NULL || y == NULL ||
      fread(x, sizeof *x, (size_t)n, in) != (size_t)n)
    return 2;
  fclose(in);
  if ((out = fopen(argv[2], "wb")) == NULL) return 2;
  gd_activation_tanh_fill((size_t)n, y, 1, x, 1);
  fwrite(y, sizeof *y, (size_t)n, out);
  gd_activation_sigmoid_fill((size_t)n, y, 1, x, 1);
  fwrite(y, sizeof *y, (size_t)n, out);
  free(x);
  free(y);
  return fclose(out) != 0;
}
