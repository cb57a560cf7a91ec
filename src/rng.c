/*
** rng.c: xoshiro256** (Blackman and Vigna) seeded through splitmix64.
** Uniform doubles take the top 53 bits of a 64-bit draw; normals come in
** pairs from the Marsaglia polar method, the second kept as a spare.
**
** Limits: not for cryptography; a stream repeats after 2^256 - 1 draws.
*/
#include <math.h>

#include "rng.h"


static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}


/* One step of splitmix64 over *x, which spreads a seed's bits so that
** nearby seeds give unrelated xoshiro states. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}


void gd_rng_seed(gd_rng *r, uint64_t seed) {
  int i;
  for (i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
  r->has_spare = 0;
  r->spare = 0.0;
}


uint64_t gd_rng_next(gd_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}


double gd_rng_uniform(gd_rng *r) {
  return (double)(gd_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}


/* The polar method: a point (u, v) uniform in the unit disc, s = u^2 +
** v^2, gives two independent normals u * m and v * m with
** m = sqrt(-2 log(s) / s). */
double gd_rng_normal(gd_rng *r) {
  double u, v, s, m;
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  do {
    u = 2.0 * gd_rng_uniform(r) - 1.0;
    v = 2.0 * gd_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  m = sqrt(-2.0 * log(s) / s);
  r->spare = v * m;
  r->has_spare = 1;
  return u * m;
}


/* The jump polynomial of xoshiro256 for 2^128 steps, applied by adding
** up the states met at its set bits. */
void gd_rng_jump(gd_rng *r) {
  static const uint64_t poly[4] = {
    0x180ec6d33cfd0abau, 0xd5a61266f0c9392cu,
    0xa9582618e03fc9aau, 0x39abdc4529b1661cu
  };
  uint64_t acc[4] = {0, 0, 0, 0};
  int i, b, k;
  for (i = 0; i < 4; i++) {
    for (b = 0; b < 64; b++) {
      if (poly[i] & ((uint64_t)1 << b))
        for (k = 0; k < 4; k++) acc[k] ^= r->s[k];
      gd_rng_next(r);
    }
  }
  for (k = 0; k < 4; k++) r->s[k] = acc[k];
  r->has_spare = 0;
}
