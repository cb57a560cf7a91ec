/*
** loaders_fuzz.c: libFuzzer harness for the file decoders: the input is
** a file image handed to the tensor, GradientDescent, network and .npy
** decoders in turn. Each must refuse it with a message or return a
** value that is then freed; nothing may crash or leak.
*/
#include <stdint.h>
#include <stddef.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gd_tensor *t = NULL;
  gd_descent *d = NULL;
  gd_network *net = NULL;
  gd_error err;
  if (gd_tensor_decode(&t, data, size, "fuzz", &err) == GD_OK)
    gd_tensor_free(t);
  if (gd_descent_decode(&d, data, size, "fuzz", &err) == GD_OK)
    gd_descent_free(d);
  if (gd_network_decode(&net, data, size, "fuzz", NULL, NULL, &err)
      == GD_OK)
    gd_network_free(net);
  t = NULL;
  if (gd_npy_decode(&t, data, size, "fuzz", &err) == GD_OK)
    gd_tensor_free(t);
  return 0;
}
