/* tapegrad/random.h — a seeded, reproducible random generator.
 *
 * There is no global generator: every random function takes a tg_rng that the
 * caller owns, so two models (or two threads) never disturb each other's
 * streams. The generator is xoshiro256** seeded through splitmix64; the same
 * seed gives the same uniform numbers on every machine (integer arithmetic
 * only). Normal numbers use the Box-Muller transform and libm's log/cos/sin,
 * so they match across machines whose libm rounds the same (glibc on any CPU).
 */
#ifndef TAPEGRAD_RANDOM_H
#define TAPEGRAD_RANDOM_H

#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_rng {
    uint64_t state[4];
} tg_rng;

/* A generator whose whole future depends only on `seed`. */
tg_rng tg_rng_seeded(uint64_t seed);
/* Next raw 64 random bits. */
uint64_t tg_rng_next_u64(tg_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double tg_rng_uniform(tg_rng *rng);
/* Standard normal (mean 0, std 1): Box-Muller on two uniforms per value (the
 * generator keeps no spare value, so its state stays 4 words). */
double tg_rng_normal(tg_rng *rng);
/* Uniform integer in [0, bound), without modulo bias. bound >= 1; 0 is an
 * error (reported, returns 0). A NULL rng is reported too (NaN / 0 returned). */
uint64_t tg_rng_below(tg_rng *rng, uint64_t bound);

/* Persistent tensors of uniform [lo, hi) or normal(mean, std) values.
 * Errors (TG_ERR_ARGUMENT): NULL rng; a bound, mean or std that is not
 * finite; lo > hi; std < 0; values the dtype cannot hold: a bound beyond
 * the float32 range, or bounds with no float32 value between them, for
 * TG_F32; |mean| + 9 std beyond the dtype's range (a draw is at most 8.6
 * standard deviations from the mean). The shape errors of tg_zeros. */
tg_tensor *tg_rand_uniform(tg_rng *rng, tg_dtype dtype, int rank, const int64_t *shape,
                           double lo, double hi);
tg_tensor *tg_rand_normal(tg_rng *rng, tg_dtype dtype, int rank, const int64_t *shape,
                          double mean, double std);

#ifdef __cplusplus
}
#endif
#endif
