/*
** host.c: a program that embeds gdnn's Lua engine. It makes a data set
** in its own arrays (samples of 0.5 + 0.4 sin(2 pi x) on [0, 1]),
** hands them to a Lua training script as tensors without copying them,
** and reads the trained weights and biases back into C arrays.
**
** Build against an installed gdnn: make examples PREFIX=<prefix>
** Run: examples/host.bin [script] (examples/train.lua by default).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include <gdnn.h>
#include <gdnn/lua_embed.h>

#define M 40
#define PI 3.14159265358979323846


/* The data set, owned by the host; Lua sees it through two tensors. */
static double xs[M], ys[M];


/* Print the error on top of the stack and give the failure status. */
static int lua_fail(lua_State *L) {
  fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
  return EXIT_FAILURE;
}


/*
** Push xs and ys as two 1 x M tensors over the host's memory. The
** arrays are static, so they outlive the state and need no release
** function.
*/
static int push_data(lua_State *L) {
  size_t shape[2] = { 1, M };
  gd_error err;
  int i;
  for (i = 0; i < M; i++) {
    xs[i] = (double)i / (M - 1);
    ys[i] = 0.5 + 0.4 * sin(2 * PI * xs[i]);
  }
  if (gd_lua_push_array(L, xs, 2, shape, NULL, NULL, &err)
      || gd_lua_push_array(L, ys, 2, shape, NULL, NULL, &err)) {
    fprintf(stderr, "host: %s\n", err.msg);
    return 0;
  }
  return 1;
}


/*
** Read layer l's weights (entry 2l - 1 of the table at idx) and biases
** (entry 2l) into arrays of the host, and print their sizes and norms.
*/
static int read_layer(lua_State *L, int idx, int l) {
  double w[64], b[64], nw = 0, nb = 0;
  gd_tensor *t;
  gd_error err;
  size_t i, n;

  lua_rawgeti(L, idx, 2 * l - 1);
  lua_rawgeti(L, idx, 2 * l);
  t = gd_lua_totensor(L, -2);
  n = t != NULL ? gd_tensor_numel(t) : 0;
  if (n > 64 || gd_lua_read(L, -2, w, n, &err)
      || gd_lua_read(L, -1, b, gd_tensor_numel(gd_lua_totensor(L, -1)),
                     &err)) {
    fprintf(stderr, "host: layer %d: %s\n", l,
            n > 64 ? "too many weights" : err.msg);
    return 0;
  }
  for (i = 0; i < n; i++)
    nw += w[i] * w[i];
  for (i = 0; i < gd_tensor_numel(gd_lua_totensor(L, -1)); i++)
    nb += b[i] * b[i];
  printf("layer %d: W %zu values (norm %.4f), b (norm %.4f)\n", l, n,
         sqrt(nw), sqrt(nb));
  lua_pop(L, 2);                            /* W and b */
  return 1;
}


int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : "examples/train.lua";
  lua_State *L = luaL_newstate();
  double loss;
  int l, nlayers;

  if (L == NULL)
    return EXIT_FAILURE;
  luaL_openlibs(L);
  lua_pushcfunction(L, gd_lua_open);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK)      /* the module */
    return lua_fail(L);
  lua_setglobal(L, "gd");
  if (luaL_loadfile(L, script) || lua_pcall(L, 0, 1, 0))
    return lua_fail(L);                     /* the train function */
  if (!push_data(L))
    return EXIT_FAILURE;
  if (lua_pcall(L, 2, 1, 0) != LUA_OK)      /* the weights table */
    return lua_fail(L);
  if (!lua_istable(L, -1)) {
    fprintf(stderr, "host: %s returned no table\n", script);
    return EXIT_FAILURE;
  }
  lua_getfield(L, -1, "loss");
  loss = lua_tonumber(L, -1);
  lua_pop(L, 1);
  nlayers = (int)lua_rawlen(L, -1) / 2;
  for (l = 1; l <= nlayers; l++)
    if (!read_layer(L, lua_gettop(L), l))
      return EXIT_FAILURE;
  printf("trained %d layers on %d samples, loss %.6g\n", nlayers, M,
         loss);
  lua_close(L);
  return loss < 5e-3 ? EXIT_SUCCESS : EXIT_FAILURE;
}
