/* ops/kernels/vmath.h — e^x, ln x, tanh x and the logistic sigmoid in
 * float32 arithmetic, and e^x in float64, written so that a compiler
 * vectorizes a loop over them (internal).
 *
 * libm's functions are calls, one element at a time. These are straight-line
 * float arithmetic with no call and no branch: range reduction, then the
 * Cephes polynomials (Moshier's expf, logf, tanhf), which are within about
 * 1 ulp of the exact value (sigmoid, an exp and a division, within 3;
 * tests/ops/test_unary.c sweeps each against libm in double). float64 has
 * e^x here too (softmax's sums and the exp op); its other functions keep
 * calling libm.
 *
 * What keeps a loop over these vectorizable with gcc 12 at -O2, whose cheap
 * cost model also wants loops of a known trip count (kernels run them in
 * blocks of 8; check with -fopt-info-vec):
 *   - no calls (fabsf and copysignf are builtins);
 *   - a choice between two computed values goes through tg_vm_select, an
 *     integer bit blend: a ?: on floats turns into a branch once gcc threads
 *     the constants it can fold, and the vectorizer refuses floating-point
 *     operations under a branch, as they could trap;
 *   - bits move between float and uint32_t with memcpy, and integer work
 *     stays in 32 bits (SSE2 has no 64-bit compares or conversions).
 * NaN gives NaN. */
#ifndef TG_OPS_KERNELS_VMATH_H
#define TG_OPS_KERNELS_VMATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t tg_vm_bits(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline float tg_vm_float(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* c ? a : b, without a branch. */
static inline float tg_vm_select(bool c, float a, float b) {
    uint32_t mask = -(uint32_t)c;
    return tg_vm_float((tg_vm_bits(a) & mask) | (tg_vm_bits(b) & ~mask));
}

/* e^x. x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2 (ln2 split in a
 * high part of 16 significant bits, so n * hi is exact, and a low part);
 * e^r by Cephes' polynomial; 2^n as two factors 2^(n/2) 2^(n - n/2), so that
 * results near the top of the range and subnormal results come out right
 * (the last product rounds once). Adding 1.5 * 2^23 rounds x / ln2 to an
 * integer held in the low bits of the sum. Below -150 the result is 0, above
 * 100 +inf (n is meaningless there). */
static inline float tg_vm_expf(float x) {
    const float shifter = 0x1.8p23f;
    float t = x * 0x1.715476p0f + shifter; /* 1/ln2 */
    float n = t - shifter;
    float r = (x - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f; /* ln2 hi, lo */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    /* With n + 256 = tg_vm_bits(t) - tg_vm_bits(shifter) + 256 >= 0 (in
     * range), h = (n + 256) / 2 = floor(n/2) + 128 and the biased exponents
     * are floor(n/2) + 127 = h - 1 and n - floor(n/2) + 127 = n + 256 - h - 1. */
    uint32_t biased = tg_vm_bits(t) - tg_vm_bits(shifter) + 256u;
    uint32_t half = biased >> 1;
    float y = p * tg_vm_float((half - 1u) << 23) * tg_vm_float((biased - half - 1u) << 23);
    y = tg_vm_select(x < -150.0f, 0.0f, y);
    return tg_vm_select(x > 100.0f, INFINITY, y);
}

/* The same tools for float64: bits as a uint64_t, and a branch-free select
 * (64-bit integer adds, shifts and masks exist in SSE2). */
static inline uint64_t tg_vm_bits64(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double tg_vm_double(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static inline double tg_vm_select64(bool c, double a, double b) {
    uint64_t mask = -(uint64_t)c;
    return tg_vm_double((tg_vm_bits64(a) & mask) | (tg_vm_bits64(b) & ~mask));
}

/* e^x in float64, as tg_vm_expf: x = n ln2 + r (ln2 in Cephes' two parts, the
 * high one short enough that n * hi is exact), e^r = 1 + 2 P / (Q - P) by
 * Cephes' rational approximation (P, Q in r^2), 2^n as two
 * factors built from bits. Adding 1.5 * 2^52 rounds x / ln2 to an integer in
 * the low bits. Below -746 the result is 0, above 710 +inf; NaN gives NaN.
 * Within 2 ulps of libm's exp (tests/ops/test_unary.c sweeps it), which is a
 * call per element; this vectorizes (4 lanes with AVX2): 4.6 -> 1.4 ns. */
static inline double tg_vm_exp(double x) {
    const double shifter = 0x1.8p52;
    double t = x * 0x1.71547652b82fep0 + shifter; /* 1/ln2 */
    double n = t - shifter;
    double r = (x - n * 6.93145751953125e-1) - n * 1.42860682030941723212e-6; /* ln2 hi, lo */
    double rr = r * r;
    double p = ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 9.99999999999999999910e-1) * r;
    double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) * rr +
               2.00000000000000000009e0;
    double e = 1.0 + 2.0 * (p / (q - p));
    /* With n + 2048 = biased >= 0 (in range), half = floor(n/2) + 1024 and
     * the biased exponents are floor(n/2) + 1023 = half - 1 and
     * n - floor(n/2) + 1023 = biased - half - 1. */
    uint64_t biased = tg_vm_bits64(t) - tg_vm_bits64(shifter) + 2048u;
    uint64_t half = biased >> 1;
    double y = e * tg_vm_double((half - 1u) << 52) * tg_vm_double((biased - half - 1u) << 52);
    y = tg_vm_select64(x < -746.0, 0.0, y);
    return tg_vm_select64(x > 710.0, INFINITY, y);
}

/* ln x. x = m 2^k with m in [sqrt(1/2), sqrt(2)), split by integer
 * arithmetic on the bits (subtracting the bits of sqrt(1/2) moves the split
 * point there, as musl's logf does; a subnormal x is first scaled by 2^23);
 * ln m = ln(1 + f) by Cephes' polynomial in f = m - 1; k ln2 added in two
 * parts. 0 gives -inf, a negative x NaN, +inf +inf. */
static inline float tg_vm_logf(float x) {
    bool subnormal = x < 0x1p-126f;
    float xs = tg_vm_select(subnormal, x * 0x1p23f, x);
    uint32_t tmp = tg_vm_bits(xs) - 0x3f3504f3u; /* sqrt(1/2) */
    float f = tg_vm_float(tg_vm_bits(xs) - (tmp & 0xff800000u)) - 1.0f;
    /* k = tmp >> 23 as a signed 9-bit number: bias it to 0..511, convert. */
    float k = (float)(int32_t)(((tmp >> 23) ^ 0x100u) & 0x1ffu) - 256.0f;
    k = tg_vm_select(subnormal, k - 23.0f, k);
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += -2.12194440e-4f * k;
    y += -0.5f * z;
    y = f + y + 0.693359375f * k;
    float special = tg_vm_select(x == 0.0f, -INFINITY, tg_vm_select(x == INFINITY, x, NAN));
    return tg_vm_select((x > 0.0f) & (x < INFINITY), y, special);
}

/* tanh x: below |x| = 0.625, Cephes' odd polynomial; above,
 * 1 - 2 / (e^2|x| + 1) with x's sign (e^2|x| = +inf gives exactly 1). */
static inline float tg_vm_tanhf(float x) {
    float a = fabsf(x);
    float z = a * a;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * a + a;
    float big = 1.0f - 2.0f / (tg_vm_expf(2.0f * a) + 1.0f);
    return copysignf(tg_vm_select(a < 0.625f, small, big), x); /* tanh(-0) = -0 */
}

/* 1 / (1 + e^-x), as e / (1 + e) with e = e^x for x < 0: e^-|x| <= 1 never
 * overflows, so both tails are exact (0 and 1) and never NaN. */
static inline float tg_vm_sigmoidf(float x) {
    float e = tg_vm_expf(-fabsf(x));
    return tg_vm_select(x >= 0.0f, 1.0f, e) / (1.0f + e);
}

#endif
