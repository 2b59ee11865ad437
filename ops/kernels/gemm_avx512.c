/* ops/kernels/gemm_avx512.c — AVX-512F micro-kernels for x86-64 (see gemm.h).
 *
 * The only file built with -mavx512f; gemm.c calls it only after checking
 * the CPU. Tiles 8x32 float and 8x16 double: sixteen 512-bit accumulators,
 * two vector loads of B and eight broadcasts of A per step of k. Sixteen
 * independent FMAs cover the FMA latency (4 cycles) on two FMA ports, and the
 * eight-row panels of A fit the batch sizes (64, 128, 256) of training
 * without an edge tile. Packing reuses the AVX2 routines (gemm_avx2.c): any
 * CPU with AVX-512F has AVX2, and packing is memory-bound anyway.
 *
 * Each element of C is one accumulator summed in increasing p, as in the
 * other kernels; FMA rounds once per step, so results differ from the
 * portable kernel's in the last bits, but not between runs or thread counts.
 */
#include "ops/kernels/gemm.h"

#include <immintrin.h>

/* C = alpha*acc + beta*C on one row of the tile, masked to the valid columns. */
static inline void store_row_f32(float *c, __m512 acc, __mmask16 mask, __m512 valpha, __m512 vbeta, float beta)
{
    __m512 scaled = _mm512_mul_ps(valpha, acc);
    if (beta != 0.0f) scaled = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask, c), scaled);
    _mm512_mask_storeu_ps(c, mask, scaled);
}

static inline void store_row_f64(double *c, __m512d acc, __mmask8 mask, __m512d valpha, __m512d vbeta, double beta)
{
    __m512d scaled = _mm512_mul_pd(valpha, acc);
    if (beta != 0.0) scaled = _mm512_fmadd_pd(vbeta, _mm512_maskz_loadu_pd(mask, c), scaled);
    _mm512_mask_storeu_pd(c, mask, scaled);
}

/* The mask of the first `n` lanes (n may exceed the lane count). */
static inline __mmask16 lanes16(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u); }
static inline __mmask8 lanes8(int n) { return n >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n > 0 ? n : 0)) - 1u); }

void tgi_gemm_avx512_micro_f32(int64_t k, const float *a, const float *b, float *c, int64_t ldc, int m_eff,
                              int n_eff, float alpha, float beta)
{
    enum { MR = TG_GEMM_AVX512_MR_F32, NR = TG_GEMM_AVX512_NR_F32 };
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();

    for (int i = 0; i < m_eff; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    }

#define ROW_F32(P, I, R0, R1)                                                               \
    do {                                                                                    \
        __m512 ai = _mm512_set1_ps(a[(P) * MR + (I)]);                                      \
        R0 = _mm512_fmadd_ps(ai, b0, R0), R1 = _mm512_fmadd_ps(ai, b1, R1);                 \
    } while (0)
#define STEP_F32(P)                                                                         \
    do {                                                                                    \
        __m512 b0 = _mm512_load_ps(b + (P) * NR), b1 = _mm512_load_ps(b + (P) * NR + 16);       \
        ROW_F32(P, 0, c00, c01);                                                               \
        ROW_F32(P, 1, c10, c11);                                                               \
        ROW_F32(P, 2, c20, c21);                                                               \
        ROW_F32(P, 3, c30, c31);                                                               \
        ROW_F32(P, 4, c40, c41);                                                               \
        ROW_F32(P, 5, c50, c51);                                                               \
        ROW_F32(P, 6, c60, c61);                                                               \
        ROW_F32(P, 7, c70, c71);                                                               \
    } while (0)

    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 8 * MR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR + 16), _MM_HINT_T0);
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
#undef ROW_F32

    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const __mmask16 lo = lanes16(n_eff), hi = lanes16(n_eff - 16);
    const __m512 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int i = 0; i < m_eff; i++) {
        store_row_f32(c + i * ldc, rows[i][0], lo, valpha, vbeta, beta);
        if (hi) store_row_f32(c + i * ldc + 16, rows[i][1], hi, valpha, vbeta, beta);
    }
}

void tgi_gemm_avx512_micro_f64(int64_t k, const double *a, const double *b, double *c, int64_t ldc, int m_eff,
                              int n_eff, double alpha, double beta)
{
    enum { MR = TG_GEMM_AVX512_MR_F64, NR = TG_GEMM_AVX512_NR_F64 };
    __m512d c00 = _mm512_setzero_pd(), c01 = _mm512_setzero_pd();
    __m512d c10 = _mm512_setzero_pd(), c11 = _mm512_setzero_pd();
    __m512d c20 = _mm512_setzero_pd(), c21 = _mm512_setzero_pd();
    __m512d c30 = _mm512_setzero_pd(), c31 = _mm512_setzero_pd();
    __m512d c40 = _mm512_setzero_pd(), c41 = _mm512_setzero_pd();
    __m512d c50 = _mm512_setzero_pd(), c51 = _mm512_setzero_pd();
    __m512d c60 = _mm512_setzero_pd(), c61 = _mm512_setzero_pd();
    __m512d c70 = _mm512_setzero_pd(), c71 = _mm512_setzero_pd();

    for (int i = 0; i < m_eff; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 8), _MM_HINT_T0);
    }

#define ROW_F64(P, I, R0, R1)                                                               \
    do {                                                                                    \
        __m512d ai = _mm512_set1_pd(a[(P) * MR + (I)]);                                     \
        R0 = _mm512_fmadd_pd(ai, b0, R0), R1 = _mm512_fmadd_pd(ai, b1, R1);                 \
    } while (0)
#define STEP_F64(P)                                                                         \
    do {                                                                                    \
        __m512d b0 = _mm512_load_pd(b + (P) * NR), b1 = _mm512_load_pd(b + (P) * NR + 8);      \
        ROW_F64(P, 0, c00, c01);                                                               \
        ROW_F64(P, 1, c10, c11);                                                               \
        ROW_F64(P, 2, c20, c21);                                                               \
        ROW_F64(P, 3, c30, c31);                                                               \
        ROW_F64(P, 4, c40, c41);                                                               \
        ROW_F64(P, 5, c50, c51);                                                               \
        ROW_F64(P, 6, c60, c61);                                                               \
        ROW_F64(P, 7, c70, c71);                                                               \
    } while (0)

    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
        _mm_prefetch((const char *)(a + 8 * MR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR + 8), _MM_HINT_T0);
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
#undef ROW_F64

    const __m512d valpha = _mm512_set1_pd(alpha), vbeta = _mm512_set1_pd(beta);
    const __mmask8 lo = lanes8(n_eff), hi = lanes8(n_eff - 8);
    const __m512d rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                 {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int i = 0; i < m_eff; i++) {
        store_row_f64(c + i * ldc, rows[i][0], lo, valpha, vbeta, beta);
        if (hi) store_row_f64(c + i * ldc + 8, rows[i][1], hi, valpha, vbeta, beta);
    }
}

/* ---- narrow products: n <= 16 floats (8 doubles), B not transposed ----------
 * A classifier's last layer (n = 10 classes) wasted two thirds of the 32-wide
 * tile, and packing cost more than the product: 64x10x128 took 7.9 us against
 * OpenBLAS's 4.0. When a row of B fits one vector, neither operand needs
 * packing: eight rows of C at a time, one accumulator each, a masked load of
 * row p of B and eight broadcasts of A per step of k. The arithmetic is the
 * packed kernel's, step for step (k in the same blocks of kc, the same FMAs in
 * increasing p, C = alpha*acc + beta'*C per block), so an element of C comes
 * out bit for bit as the packed path would compute it. */

/* Rows [i0, i0 + ROWS) of C; ROWS is a constant at each call (8, 4, 2 or
 * 1), so the loops over rows unroll and the accumulators stay in registers. */
static inline __attribute__((always_inline)) void narrow_rows_f32(int rows, int64_t i0, const tg_gemm_narrow_args *g,
                                                                  const float *a, const float *b, float *c)
{
    const __mmask16 mask = lanes16((int)g->n);
    const __m512 valpha = _mm512_set1_ps((float)g->alpha);
    const int64_t row_step = g->trans_a ? 1 : g->lda, p_step = g->trans_a ? g->lda : 1; /* A(i,p) */
    for (int64_t pc = 0; pc < g->k; pc += g->kc) {
        int64_t p_end = pc + g->kc < g->k ? pc + g->kc : g->k;
        __m512 acc[8];
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
        for (int64_t p = pc; p < p_end; p++) {
            __m512 bp = _mm512_maskz_loadu_ps(mask, b + p * g->ldb);
            const float *ap = a + i0 * row_step + p * p_step;
            #pragma GCC unroll 8
            for (int r = 0; r < rows; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[r * row_step]), bp, acc[r]);
        }
        float beta = pc == 0 ? (float)g->beta : 1.0f;
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++)
            store_row_f32(c + (i0 + r) * g->ldc, acc[r], mask, valpha, _mm512_set1_ps(beta), beta);
    }
}

static inline __attribute__((always_inline)) void narrow_rows_f64(int rows, int64_t i0, const tg_gemm_narrow_args *g,
                                                                  const double *a, const double *b, double *c)
{
    const __mmask8 mask = lanes8((int)g->n);
    const __m512d valpha = _mm512_set1_pd(g->alpha);
    const int64_t row_step = g->trans_a ? 1 : g->lda, p_step = g->trans_a ? g->lda : 1;
    for (int64_t pc = 0; pc < g->k; pc += g->kc) {
        int64_t p_end = pc + g->kc < g->k ? pc + g->kc : g->k;
        __m512d acc[8];
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_pd();
        for (int64_t p = pc; p < p_end; p++) {
            __m512d bp = _mm512_maskz_loadu_pd(mask, b + p * g->ldb);
            const double *ap = a + i0 * row_step + p * p_step;
            #pragma GCC unroll 8
            for (int r = 0; r < rows; r++) acc[r] = _mm512_fmadd_pd(_mm512_set1_pd(ap[r * row_step]), bp, acc[r]);
        }
        double beta = pc == 0 ? g->beta : 1.0;
        #pragma GCC unroll 8
        for (int r = 0; r < rows; r++)
            store_row_f64(c + (i0 + r) * g->ldc, acc[r], mask, valpha, _mm512_set1_pd(beta), beta);
    }
}

void tgi_gemm_avx512_narrow_f32(const tg_gemm_narrow_args *g, int64_t i0, int rows)
{
    switch (rows) {
    case 8: narrow_rows_f32(8, i0, g, g->a, g->b, g->c); break;
    case 4: narrow_rows_f32(4, i0, g, g->a, g->b, g->c); break;
    case 2: narrow_rows_f32(2, i0, g, g->a, g->b, g->c); break;
    default: narrow_rows_f32(1, i0, g, g->a, g->b, g->c); break;
    }
}

void tgi_gemm_avx512_narrow_f64(const tg_gemm_narrow_args *g, int64_t i0, int rows)
{
    switch (rows) {
    case 8: narrow_rows_f64(8, i0, g, g->a, g->b, g->c); break;
    case 4: narrow_rows_f64(4, i0, g, g->a, g->b, g->c); break;
    case 2: narrow_rows_f64(2, i0, g, g->a, g->b, g->c); break;
    default: narrow_rows_f64(1, i0, g, g->a, g->b, g->c); break;
    }
}
