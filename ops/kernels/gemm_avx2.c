/* ops/kernels/gemm_avx2.c — AVX2+FMA micro-kernels for x86-64 (see gemm.h).
 *
 * The only file built with -mavx2 -mfma; gemm.c calls it only after checking
 * the CPU. Tiles as in BLIS for Haswell/Zen: 6x16 float and 6x8 double, i.e.
 * twelve 256-bit accumulators, two vector loads of B and six broadcasts of A
 * per step of k, which leaves enough independent FMAs to hide their latency.
 */
#include "ops/kernels/gemm.h"

#include <immintrin.h>

/* Stores one accumulator row: C = alpha*acc + beta*C over a full tile. */
#define STORE_F32(ptr, acc)                                                                 \
    _mm256_storeu_ps((ptr), beta == 0.0f ? _mm256_mul_ps(valpha, (acc))                     \
                                         : _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(ptr),     \
                                                           _mm256_mul_ps(valpha, (acc))))
#define STORE_F64(ptr, acc)                                                                 \
    _mm256_storeu_pd((ptr), beta == 0.0 ? _mm256_mul_pd(valpha, (acc))                      \
                                        : _mm256_fmadd_pd(vbeta, _mm256_loadu_pd(ptr),      \
                                                          _mm256_mul_pd(valpha, (acc))))

void tgi_gemm_avx2_micro_f32(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                            int m_eff, int n_eff, float alpha, float beta)
{
    enum { MR = TG_GEMM_AVX2_MR_F32, NR = TG_GEMM_AVX2_NR_F32 };
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    for (int i = 0; i < m_eff; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);

#define STEP_F32(P)                                                                         \
    do {                                                                                    \
        __m256 b0 = _mm256_load_ps(b + (P) * NR), b1 = _mm256_load_ps(b + (P) * NR + 8);   \
        __m256 ai = _mm256_broadcast_ss(a + (P) * MR + 0);                                  \
        c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);             \
        ai = _mm256_broadcast_ss(a + (P) * MR + 1);                                         \
        c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);             \
        ai = _mm256_broadcast_ss(a + (P) * MR + 2);                                         \
        c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);             \
        ai = _mm256_broadcast_ss(a + (P) * MR + 3);                                         \
        c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);             \
        ai = _mm256_broadcast_ss(a + (P) * MR + 4);                                         \
        c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);             \
        ai = _mm256_broadcast_ss(a + (P) * MR + 5);                                         \
        c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);             \
    } while (0)

    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 4 * MR * 4), _MM_HINT_T0);
        STEP_F32(0);
        STEP_F32(1);
        STEP_F32(2);
        STEP_F32(3);
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; p < k; p++) {
        STEP_F32(0);
        a += MR;
        b += NR;
    }
#undef STEP_F32

    __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    if (m_eff == MR && n_eff == NR) {
        STORE_F32(c + 0 * ldc, c00), STORE_F32(c + 0 * ldc + 8, c01);
        STORE_F32(c + 1 * ldc, c10), STORE_F32(c + 1 * ldc + 8, c11);
        STORE_F32(c + 2 * ldc, c20), STORE_F32(c + 2 * ldc + 8, c21);
        STORE_F32(c + 3 * ldc, c30), STORE_F32(c + 3 * ldc + 8, c31);
        STORE_F32(c + 4 * ldc, c40), STORE_F32(c + 4 * ldc + 8, c41);
        STORE_F32(c + 5 * ldc, c50), STORE_F32(c + 5 * ldc + 8, c51);
        return;
    }
    /* Edge tile: go through a local tile, then update only the valid part. */
    _Alignas(32) float tile[MR * NR];
    _mm256_store_ps(tile + 0 * NR, c00), _mm256_store_ps(tile + 0 * NR + 8, c01);
    _mm256_store_ps(tile + 1 * NR, c10), _mm256_store_ps(tile + 1 * NR + 8, c11);
    _mm256_store_ps(tile + 2 * NR, c20), _mm256_store_ps(tile + 2 * NR + 8, c21);
    _mm256_store_ps(tile + 3 * NR, c30), _mm256_store_ps(tile + 3 * NR + 8, c31);
    _mm256_store_ps(tile + 4 * NR, c40), _mm256_store_ps(tile + 4 * NR + 8, c41);
    _mm256_store_ps(tile + 5 * NR, c50), _mm256_store_ps(tile + 5 * NR + 8, c51);
    for (int i = 0; i < m_eff; i++) {
        float *c_row = c + i * ldc;
        const float *t_row = tile + i * NR;
        if (beta == 0.0f)
            for (int j = 0; j < n_eff; j++) c_row[j] = alpha * t_row[j];
        else
            for (int j = 0; j < n_eff; j++) c_row[j] = __builtin_fmaf(beta, c_row[j], alpha * t_row[j]);
    }
}

void tgi_gemm_avx2_micro_f64(int64_t k, const double *a, const double *b, double *c, int64_t ldc,
                            int m_eff, int n_eff, double alpha, double beta)
{
    enum { MR = TG_GEMM_AVX2_MR_F64, NR = TG_GEMM_AVX2_NR_F64 };
    __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
    __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
    __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
    __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
    __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
    __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();

    for (int i = 0; i < m_eff; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);

#define STEP_F64(P)                                                                         \
    do {                                                                                    \
        __m256d b0 = _mm256_load_pd(b + (P) * NR), b1 = _mm256_load_pd(b + (P) * NR + 4); \
        __m256d ai = _mm256_broadcast_sd(a + (P) * MR + 0);                                 \
        c00 = _mm256_fmadd_pd(ai, b0, c00), c01 = _mm256_fmadd_pd(ai, b1, c01);             \
        ai = _mm256_broadcast_sd(a + (P) * MR + 1);                                         \
        c10 = _mm256_fmadd_pd(ai, b0, c10), c11 = _mm256_fmadd_pd(ai, b1, c11);             \
        ai = _mm256_broadcast_sd(a + (P) * MR + 2);                                         \
        c20 = _mm256_fmadd_pd(ai, b0, c20), c21 = _mm256_fmadd_pd(ai, b1, c21);             \
        ai = _mm256_broadcast_sd(a + (P) * MR + 3);                                         \
        c30 = _mm256_fmadd_pd(ai, b0, c30), c31 = _mm256_fmadd_pd(ai, b1, c31);             \
        ai = _mm256_broadcast_sd(a + (P) * MR + 4);                                         \
        c40 = _mm256_fmadd_pd(ai, b0, c40), c41 = _mm256_fmadd_pd(ai, b1, c41);             \
        ai = _mm256_broadcast_sd(a + (P) * MR + 5);                                         \
        c50 = _mm256_fmadd_pd(ai, b0, c50), c51 = _mm256_fmadd_pd(ai, b1, c51);             \
    } while (0)

    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 4 * MR * 4), _MM_HINT_T0);
        STEP_F64(0);
        STEP_F64(1);
        STEP_F64(2);
        STEP_F64(3);
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; p < k; p++) {
        STEP_F64(0);
        a += MR;
        b += NR;
    }
#undef STEP_F64

    __m256d valpha = _mm256_set1_pd(alpha), vbeta = _mm256_set1_pd(beta);
    if (m_eff == MR && n_eff == NR) {
        STORE_F64(c + 0 * ldc, c00), STORE_F64(c + 0 * ldc + 4, c01);
        STORE_F64(c + 1 * ldc, c10), STORE_F64(c + 1 * ldc + 4, c11);
        STORE_F64(c + 2 * ldc, c20), STORE_F64(c + 2 * ldc + 4, c21);
        STORE_F64(c + 3 * ldc, c30), STORE_F64(c + 3 * ldc + 4, c31);
        STORE_F64(c + 4 * ldc, c40), STORE_F64(c + 4 * ldc + 4, c41);
        STORE_F64(c + 5 * ldc, c50), STORE_F64(c + 5 * ldc + 4, c51);
        return;
    }
    _Alignas(32) double tile[MR * NR];
    _mm256_store_pd(tile + 0 * NR, c00), _mm256_store_pd(tile + 0 * NR + 4, c01);
    _mm256_store_pd(tile + 1 * NR, c10), _mm256_store_pd(tile + 1 * NR + 4, c11);
    _mm256_store_pd(tile + 2 * NR, c20), _mm256_store_pd(tile + 2 * NR + 4, c21);
    _mm256_store_pd(tile + 3 * NR, c30), _mm256_store_pd(tile + 3 * NR + 4, c31);
    _mm256_store_pd(tile + 4 * NR, c40), _mm256_store_pd(tile + 4 * NR + 4, c41);
    _mm256_store_pd(tile + 5 * NR, c50), _mm256_store_pd(tile + 5 * NR + 4, c51);
    for (int i = 0; i < m_eff; i++) {
        double *c_row = c + i * ldc;
        const double *t_row = tile + i * NR;
        if (beta == 0.0)
            for (int j = 0; j < n_eff; j++) c_row[j] = alpha * t_row[j];
        else
            for (int j = 0; j < n_eff; j++) c_row[j] = __builtin_fma(beta, c_row[j], alpha * t_row[j]);
    }
}

/* ---- packing ------------------------------------------------------------------
 * Copies (cs == 1) are row moves; transposes (rs == 1) go through 8x8 (float)
 * or 4x4 (double) register transposes instead of one element at a time.
 * Widths: 6 and multiples of 8 (float) or 4 (double), which covers the AVX2
 * and AVX-512 tiles; partial panels and other widths take the plain loop. */

static void pack_plain_f32(int64_t kc, int w_eff, int w, const float *src, int64_t rs,
                           int64_t cs, float *dst)
{
    for (int64_t p = 0; p < kc; p++)
        for (int j = 0; j < w; j++) dst[p * w + j] = j < w_eff ? src[p * rs + j * cs] : 0.0f;
}

static void pack_plain_f64(int64_t kc, int w_eff, int w, const double *src, int64_t rs,
                           int64_t cs, double *dst)
{
    for (int64_t p = 0; p < kc; p++)
        for (int j = 0; j < w; j++) dst[p * w + j] = j < w_eff ? src[p * rs + j * cs] : 0.0;
}

/* Transposes rows r[0..7] (8 floats each) in place: r[q] becomes column q. */
static inline void transpose8_ps(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Transposes rows r[0..3] (4 doubles each) in place. */
static inline void transpose4_pd(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20), r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31), r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

void tgi_gemm_avx2_pack_f32(int64_t kc, int w_eff, int w, const float *src, int64_t rs,
                           int64_t cs, float *dst)
{
    if ((w != 6 && w % 8 != 0) || (cs != 1 && rs != 1) || (cs == 1 && w_eff != w)) {
        pack_plain_f32(kc, w_eff, w, src, rs, cs, dst);
        return;
    }
    if (cs == 1) { /* row copies */
        for (int64_t p = 0; p < kc; p++, src += rs, dst += w) {
            if (w == 6) {
                _mm_storeu_ps(dst, _mm_loadu_ps(src));
                dst[4] = src[4], dst[5] = src[5];
            } else {
                for (int j = 0; j < w; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
            }
        }
        return;
    }
    /* rs == 1: column j of the panel is the contiguous run src + j*cs; the
     * columns from w_eff on (a last, partial panel) are zeros. */
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int j0 = 0; j0 < w; j0 += 8) {
            __m256 r[8];
            float *out = dst + p * w + j0;
            if (w_eff - j0 >= 8) { /* a full 8x8 block: no per-row test */
                for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + (j0 + j) * cs + p);
                transpose8_ps(r);
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(out + q * w, r[q]);
                continue;
            }
            for (int j = 0; j < 8; j++)
                r[j] = j0 + j < w_eff ? _mm256_loadu_ps(src + (j0 + j) * cs + p) : _mm256_setzero_ps();
            transpose8_ps(r);
            if (w - j0 >= 8) {
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(out + q * w, r[q]);
                continue;
            }
            /* w == 6: six values stored per p */
            for (int q = 0; q < 8; q++) {
                _mm_storeu_ps(out + q * w, _mm256_castps256_ps128(r[q]));
                _mm_storel_pi((__m64 *)(void *)(out + q * w + 4), _mm256_extractf128_ps(r[q], 1));
            }
        }
    }
    if (p < kc) pack_plain_f32(kc - p, w_eff, w, src + p, 1, cs, dst + p * w);
}

void tgi_gemm_avx2_pack_f64(int64_t kc, int w_eff, int w, const double *src, int64_t rs,
                           int64_t cs, double *dst)
{
    if (w_eff != w || (w != 6 && w % 4 != 0) || (cs != 1 && rs != 1)) {
        pack_plain_f64(kc, w_eff, w, src, rs, cs, dst);
        return;
    }
    if (cs == 1) {
        for (int64_t p = 0; p < kc; p++, src += rs, dst += w) {
            if (w == 6) {
                _mm256_storeu_pd(dst, _mm256_loadu_pd(src));
                _mm_storeu_pd(dst + 4, _mm_loadu_pd(src + 4));
            } else {
                for (int j = 0; j < w; j += 4) _mm256_storeu_pd(dst + j, _mm256_loadu_pd(src + j));
            }
        }
        return;
    }
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        double *out = dst + p * w;
        __m256d r[4];
        int full_groups = w == 6 ? 1 : w / 4; /* groups of four columns of the panel */
        for (int j0 = 0; j0 < 4 * full_groups; j0 += 4) {
            for (int j = 0; j < 4; j++) r[j] = _mm256_loadu_pd(src + (j0 + j) * cs + p);
            transpose4_pd(r);
            for (int q = 0; q < 4; q++) _mm256_storeu_pd(out + q * w + j0, r[q]);
        }
        if (w == 6) { /* rows 4 and 5 pair up per p */
            __m256d r4 = _mm256_loadu_pd(src + 4 * cs + p), r5 = _mm256_loadu_pd(src + 5 * cs + p);
            __m256d lo = _mm256_unpacklo_pd(r4, r5), hi = _mm256_unpackhi_pd(r4, r5);
            _mm_storeu_pd(out + 0 * w + 4, _mm256_castpd256_pd128(lo));
            _mm_storeu_pd(out + 1 * w + 4, _mm256_castpd256_pd128(hi));
            _mm_storeu_pd(out + 2 * w + 4, _mm256_extractf128_pd(lo, 1));
            _mm_storeu_pd(out + 3 * w + 4, _mm256_extractf128_pd(hi, 1));
        }
    }
    if (p < kc) pack_plain_f64(kc - p, w, w, src + p, 1, cs, dst + p * w);
}

/* ---- narrow products: n <= 16 floats (8 doubles), B not transposed ----------
 * As in gemm_avx512.c: without packing, rows of C six at a time (two vectors
 * each, masked to the n columns), in the packed kernel's arithmetic (k in the
 * same kc blocks, FMAs in increasing p, C = alpha*acc + beta'*C per block),
 * so the result is the packed path's bit for bit. */

/* Lane masks for _mm256_maskload/maskstore: the first n of 8 (or 4) lanes. */
static inline __m256i lanes_ps(int n)
{
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}
static inline __m256i lanes_pd(int n)
{
    const __m256i index = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), index);
}

/* C = alpha*acc + beta*C on `mask`'s lanes of one vector of a row. */
static inline void narrow_store_ps(float *c, __m256 acc, __m256i mask, float alpha, float beta)
{
    __m256 scaled = _mm256_mul_ps(_mm256_set1_ps(alpha), acc);
    if (beta != 0.0f) scaled = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(c, mask), scaled);
    _mm256_maskstore_ps(c, mask, scaled);
}
static inline void narrow_store_pd(double *c, __m256d acc, __m256i mask, double alpha, double beta)
{
    __m256d scaled = _mm256_mul_pd(_mm256_set1_pd(alpha), acc);
    if (beta != 0.0) scaled = _mm256_fmadd_pd(_mm256_set1_pd(beta), _mm256_maskload_pd(c, mask), scaled);
    _mm256_maskstore_pd(c, mask, scaled);
}

/* Rows [i0, i0 + ROWS) of C; ROWS is a constant at each call (6, 4, 2 or 1). */
static inline __attribute__((always_inline)) void narrow_rows_f32(int rows, bool full, int64_t i0, const tg_gemm_narrow_args *g,
                                                                  const float *a, const float *b, float *c)
{
    const __m256i lo = lanes_ps((int)g->n), hi = lanes_ps((int)g->n - 8);
    const int64_t row_step = g->trans_a ? 1 : g->lda, p_step = g->trans_a ? g->lda : 1; /* A(i,p) */
    for (int64_t pc = 0; pc < g->k; pc += g->kc) {
        int64_t p_end = pc + g->kc < g->k ? pc + g->kc : g->k;
        __m256 acc[6][2];
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (int64_t p = pc; p < p_end; p++) {
            __m256 b0 = full ? _mm256_loadu_ps(b + p * g->ldb) : _mm256_maskload_ps(b + p * g->ldb, lo);
            __m256 b1 = full ? _mm256_loadu_ps(b + p * g->ldb + 8) : _mm256_maskload_ps(b + p * g->ldb + 8, hi);
            const float *ap = a + i0 * row_step + p * p_step;
            #pragma GCC unroll 8
            for (int r = 0; r < rows; r++) {
                __m256 ai = _mm256_broadcast_ss(ap + r * row_step);
                acc[r][0] = _mm256_fmadd_ps(ai, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(ai, b1, acc[r][1]);
            }
        }
        float beta = pc == 0 ? (float)g->beta : 1.0f;
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) {
            narrow_store_ps(c + (i0 + r) * g->ldc, acc[r][0], lo, (float)g->alpha, beta);
            if (g->n > 8) narrow_store_ps(c + (i0 + r) * g->ldc + 8, acc[r][1], hi, (float)g->alpha, beta);
        }
    }
}

static inline __attribute__((always_inline)) void narrow_rows_f64(int rows, bool full, int64_t i0, const tg_gemm_narrow_args *g,
                                                                  const double *a, const double *b, double *c)
{
    const __m256i lo = lanes_pd((int)g->n), hi = lanes_pd((int)g->n - 4);
    const int64_t row_step = g->trans_a ? 1 : g->lda, p_step = g->trans_a ? g->lda : 1;
    for (int64_t pc = 0; pc < g->k; pc += g->kc) {
        int64_t p_end = pc + g->kc < g->k ? pc + g->kc : g->k;
        __m256d acc[6][2];
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_pd();
        for (int64_t p = pc; p < p_end; p++) {
            __m256d b0 = full ? _mm256_loadu_pd(b + p * g->ldb) : _mm256_maskload_pd(b + p * g->ldb, lo);
            __m256d b1 = full ? _mm256_loadu_pd(b + p * g->ldb + 4) : _mm256_maskload_pd(b + p * g->ldb + 4, hi);
            const double *ap = a + i0 * row_step + p * p_step;
            #pragma GCC unroll 8
            for (int r = 0; r < rows; r++) {
                __m256d ai = _mm256_broadcast_sd(ap + r * row_step);
                acc[r][0] = _mm256_fmadd_pd(ai, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_pd(ai, b1, acc[r][1]);
            }
        }
        double beta = pc == 0 ? g->beta : 1.0;
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) {
            narrow_store_pd(c + (i0 + r) * g->ldc, acc[r][0], lo, g->alpha, beta);
            if (g->n > 4) narrow_store_pd(c + (i0 + r) * g->ldc + 4, acc[r][1], hi, g->alpha, beta);
        }
    }
}

void tgi_gemm_avx2_narrow_f32(const tg_gemm_narrow_args *g, int64_t i0, int rows)
{
    bool full = g->n == TG_GEMM_AVX2_NARROW_F32; /* plain loads of B's rows */
    switch (rows) {
    case 6:
        if (full) narrow_rows_f32(6, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f32(6, false, i0, g, g->a, g->b, g->c);
        break;
    case 4:
        if (full) narrow_rows_f32(4, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f32(4, false, i0, g, g->a, g->b, g->c);
        break;
    case 2:
        if (full) narrow_rows_f32(2, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f32(2, false, i0, g, g->a, g->b, g->c);
        break;
    default: narrow_rows_f32(1, false, i0, g, g->a, g->b, g->c); break;
    }
}

void tgi_gemm_avx2_narrow_f64(const tg_gemm_narrow_args *g, int64_t i0, int rows)
{
    bool full = g->n == TG_GEMM_AVX2_NARROW_F64; /* plain loads of B's rows */
    switch (rows) {
    case 6:
        if (full) narrow_rows_f64(6, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f64(6, false, i0, g, g->a, g->b, g->c);
        break;
    case 4:
        if (full) narrow_rows_f64(4, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f64(4, false, i0, g, g->a, g->b, g->c);
        break;
    case 2:
        if (full) narrow_rows_f64(2, true, i0, g, g->a, g->b, g->c);
        else narrow_rows_f64(2, false, i0, g, g->a, g->b, g->c);
        break;
    default: narrow_rows_f64(1, false, i0, g, g->a, g->b, g->c); break;
    }
}
