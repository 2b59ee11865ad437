/* ops/kernels/gemm_ref.c — portable C micro-kernels and packing (see gemm.h).
 *
 * Small register tiles (4x8 float, 4x4 double) that a compiler can keep in
 * the sixteen vector registers of any 64-bit target. The accumulation is a
 * plain multiply then add, one accumulator per element, in increasing p. */
#include "ops/kernels/gemm.h"

#include <string.h>

#define REF_MICRO(NAME, T, MR, NR)                                                        \
    void NAME(int64_t k, const T *a_panel, const T *b_panel, T *c, int64_t ldc, int m_eff, \
              int n_eff, T alpha, T beta)                                                  \
    {                                                                                      \
        T acc[MR][NR] = {{0}};                                                             \
        for (int64_t p = 0; p < k; p++) {                                                  \
            const T *a_col = a_panel + p * MR;                                             \
            const T *b_row = b_panel + p * NR;                                             \
            for (int i = 0; i < MR; i++)                                                   \
                for (int j = 0; j < NR; j++) acc[i][j] += a_col[i] * b_row[j];             \
        }                                                                                  \
        for (int i = 0; i < m_eff; i++) {                                                  \
            T *c_row = c + i * ldc;                                                        \
            if (beta == 0)                                                                 \
                for (int j = 0; j < n_eff; j++) c_row[j] = alpha * acc[i][j];              \
            else                                                                           \
                for (int j = 0; j < n_eff; j++)                                            \
                    c_row[j] = alpha * acc[i][j] + beta * c_row[j];                        \
        }                                                                                  \
    }

REF_MICRO(tgi_gemm_ref_micro_f32, float, TG_GEMM_REF_MR_F32, TG_GEMM_REF_NR_F32)
REF_MICRO(tgi_gemm_ref_micro_f64, double, TG_GEMM_REF_MR_F64, TG_GEMM_REF_NR_F64)

/* Row copies of the usual panel widths get a constant length, which the
 * compiler turns into a few vector moves; everything else is a plain loop. */
#define REF_PACK(NAME, T)                                                                  \
    void NAME(int64_t kc, int w_eff, int w, const T *src, int64_t rs, int64_t cs, T *dst)   \
    {                                                                                      \
        if (cs == 1 && w_eff == w && (w == 4 || w == 6 || w == 8 || w == 16)) {            \
            for (int64_t p = 0; p < kc; p++, src += rs, dst += w) {                        \
                switch (w) {                                                               \
                case 4: memcpy(dst, src, 4 * sizeof(T)); break;                            \
                case 6: memcpy(dst, src, 6 * sizeof(T)); break;                            \
                case 8: memcpy(dst, src, 8 * sizeof(T)); break;                            \
                default: memcpy(dst, src, 16 * sizeof(T)); break;                          \
                }                                                                          \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        for (int j = 0; j < w; j++) {                                                      \
            const T *col = src + j * cs;                                                   \
            if (j < w_eff)                                                                 \
                for (int64_t p = 0; p < kc; p++) dst[p * w + j] = col[p * rs];             \
            else                                                                           \
                for (int64_t p = 0; p < kc; p++) dst[p * w + j] = 0;                       \
        }                                                                                  \
    }

REF_PACK(tgi_gemm_ref_pack_f32, float)
REF_PACK(tgi_gemm_ref_pack_f64, double)
