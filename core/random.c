/* core/random.c — the seeded generator of random.h: xoshiro256** seeded
 * through splitmix64, and the random tensors built on it.
 *
 * Everything up to tg_rng_uniform and tg_rng_below is integer arithmetic (plus
 * one exact conversion to double), so a seed gives the same numbers on every
 * machine. tg_rng_normal adds libm's log, sqrt and cos.
 *
 * Reference: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number
 * generators" (2018), https://prng.di.unimi.it/ — xoshiro256starstar.c and
 * splitmix64.c there are the algorithms below, line for line. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/tensor_internal.h"
#include "tapegrad/random.h"

static inline uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64: a 64-bit counter passed through a strong mixer. Consecutive
 * outputs are well spread even for seeds 0, 1, 2, ..., which is what makes
 * it the recommended way to fill xoshiro's 256-bit state from one word. */
static uint64_t splitmix64_next(uint64_t *counter) {
    uint64_t z = (*counter += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

tg_rng tg_rng_seeded(uint64_t seed) {
    tg_rng rng;
    uint64_t counter = seed;
    for (int i = 0; i < 4; i++) rng.state[i] = splitmix64_next(&counter);
    /* An all-zero state would stay zero forever. splitmix64 is a bijection of
     * the counter, so four consecutive outputs are never all zero; the guard
     * documents the invariant rather than fixing a reachable case. */
    if ((rng.state[0] | rng.state[1] | rng.state[2] | rng.state[3]) == 0) rng.state[0] = 1;
    return rng;
}

/* xoshiro256**: result = rotl(s1 * 5, 7) * 9, then the linear state update. */
static uint64_t xoshiro_next(tg_rng *rng) {
    uint64_t *s = rng->state;
    const uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

uint64_t tg_rng_next_u64(tg_rng *rng) {
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_rng_next_u64", "rng is NULL");
        return 0;
    }
    return xoshiro_next(rng);
}

/* The top 53 bits scaled by 2^-53: every double k * 2^-53, k in [0, 2^53),
 * with equal probability. The conversion and the scaling are exact. */
static double uniform_unit(tg_rng *rng) { return (double)(xoshiro_next(rng) >> 11) * 0x1.0p-53; }

double tg_rng_uniform(tg_rng *rng) {
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_rng_uniform", "rng is NULL");
        return NAN;
    }
    return uniform_unit(rng);
}

/* Box-Muller: for u1 in (0, 1] and u2 in [0, 1),
 *   z = sqrt(-2 ln u1) cos(2 pi u2)
 * is standard normal. The transform makes a pair (the other one uses sin);
 * the generator is only its four state words, with no room to keep the second
 * value, so each call draws two uniforms and returns one normal. Simple and
 * stateless at the price of one extra uniform per value. */
#define NORMAL_REACH 9.0 /* above the largest |z| normal_unit returns, 8.57 */
static double normal_unit(tg_rng *rng) {
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - uniform_unit(rng); /* (0, 1]: log never sees 0 */
    double u2 = uniform_unit(rng);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

double tg_rng_normal(tg_rng *rng) {
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_rng_normal", "rng is NULL");
        return NAN;
    }
    return normal_unit(rng);
}

/* Rejection without modulo bias: 2^64 mod bound values at the bottom of the
 * range would make the small residues more likely, so they are redrawn.
 * threshold = 2^64 mod bound = (2^64 - bound) mod bound, computed in
 * uint64_t as (-bound) % bound. At most half the range is rejected, so the
 * expected number of draws is below 2 (and about 1 for small bounds). */
static uint64_t below_unit(tg_rng *rng, uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = xoshiro_next(rng);
        if (r >= threshold) return r % bound;
    }
}

uint64_t tg_rng_below(tg_rng *rng, uint64_t bound) {
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_rng_below", "rng is NULL");
        return 0;
    }
    if (bound == 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_rng_below", "bound must be >= 1, got 0");
        return 0;
    }
    return below_unit(rng, bound);
}

/* ---- random tensors ---- */

/* Checks the generator and the shape under `function`, then allocates. */
static tg_tensor *random_tensor_new(const char *function, tg_rng *rng, tg_dtype dtype, int rank,
                                    const int64_t *shape) {
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL");
        return NULL;
    }
    if (tg_dtype_is_integer(dtype)) {
        tg_error_report(TG_ERR_DTYPE, function, "random values are float32 or float64, not %s",
                        tg_dtype_name(dtype));
        return NULL;
    }
    int64_t numel;
    if (tg_shape_validate(function, rank, shape, dtype, &numel) != TG_OK) return NULL;
    return tg_empty(dtype, rank, shape);
}

/* The largest finite value of `dtype` (float32's for anything but float64). */
static double largest_finite(tg_dtype dtype) { return dtype == TG_F64 ? DBL_MAX : (double)FLT_MAX; }

tg_tensor *tg_rand_uniform(tg_rng *rng, tg_dtype dtype, int rank, const int64_t *shape, double lo, double hi) {
    const char *function = "tg_rand_uniform";
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo) || lo > hi) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need finite lo <= hi (and a finite hi - lo), got lo=%g hi=%g",
                        lo, hi);
        return NULL;
    }
    /* Stored as float32, a bound beyond its range would give infinities;
     * and when no float32 value lies in [lo, hi) every draw would be
     * rounded to hi or above and drawn again forever. */
    if (dtype == TG_F32 && (fabs(lo) > FLT_MAX || fabs(hi) > FLT_MAX)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "lo=%g and hi=%g must lie within the float32 range (+-%g)", lo,
                        hi, (double)FLT_MAX);
        return NULL;
    }
    if (dtype == TG_F32 && lo < hi && (double)(float)lo >= hi) { /* rounding is monotonic */
        tg_error_report(TG_ERR_ARGUMENT, function, "no float32 value lies in [lo, hi) = [%.17g, %.17g)", lo, hi);
        return NULL;
    }
    tg_tensor *t = random_tensor_new(function, rng, dtype, rank, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) {
        /* lo + (hi - lo) u can round up to hi, in double or when narrowed to
         * float32; such a value is drawn again so that hi stays excluded. */
        do {
            tg_store(t, i, lo + (hi - lo) * uniform_unit(rng));
        } while (lo < hi && tg_load(t, i) >= hi);
    }
    return t;
}

tg_tensor *tg_rand_normal(tg_rng *rng, tg_dtype dtype, int rank, const int64_t *shape, double mean, double std) {
    const char *function = "tg_rand_normal";
    if (!isfinite(mean) || !isfinite(std) || std < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need a finite mean and a finite std >= 0, got mean=%g std=%g",
                        mean, std);
        return NULL;
    }
    /* A draw is at most NORMAL_REACH standard deviations from the mean
     * (normal_unit: sqrt(-2 ln 2^-53) = 8.57): within that, no value can
     * round to an infinity in the dtype. */
    if (fabs(mean) + NORMAL_REACH * std > largest_finite(dtype)) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "mean=%g std=%g: |mean| + %g std must stay within the %s range (%g), or draws overflow",
                        mean, std, NORMAL_REACH, tg_dtype_name(dtype), largest_finite(dtype));
        return NULL;
    }
    tg_tensor *t = random_tensor_new(function, rng, dtype, rank, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) tg_store(t, i, mean + std * normal_unit(rng));
    return t;
}
