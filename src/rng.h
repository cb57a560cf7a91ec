/*
** rng.h: the one random generator of gdnn, xoshiro256** seeded through
** splitmix64. Uniform numbers use only integer arithmetic, so a seed gives
** the same stream on every machine; normal numbers use the Marsaglia polar
** method (log and sqrt of the C library).
*/
#ifndef GD_RNG_H
#define GD_RNG_H

#include <stdint.h>

typedef struct gd_rng {
  uint64_t s[4];
  int has_spare;     /* the polar method makes normals in pairs */
  double spare;
} gd_rng;

/* Reset r to the stream of seed. */
void gd_rng_seed(gd_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t gd_rng_next(gd_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double gd_rng_uniform(gd_rng *r);
/* Standard normal. */
double gd_rng_normal(gd_rng *r);
/* Advance r by 2^128 steps: a stream that does not overlap r's for
** independent work (one restart, one rank). */
void gd_rng_jump(gd_rng *r);

#endif
