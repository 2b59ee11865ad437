/* ops/kernels/gemm.h — general matrix products for float32 and float64.
 *
 *   C = alpha * op(A) @ op(B) + beta * C        op(X) = X or X^T
 *
 * The entry points, tg_gemm_f32 and tg_gemm_f64, are public
 * (tapegrad/kernels.h, which gives the contract); this header adds the
 * kernel selection for tests and what the micro-kernel files share.
 *
 * The design is BLIS's: a five-loop framework (gemm.c) that packs blocks of
 * A and B into contiguous micro-panels, reading transposed operands in place,
 * and calls one small register-blocked micro-kernel per MR x NR tile of C.
 * Micro-kernels live one file per CPU family (gemm_ref.c: portable C,
 * gemm_avx2.c: x86-64 AVX2+FMA, gemm_avx512.c: AVX-512F) and are chosen once
 * at run time. A product whose rows of B fit one or two vectors (a
 * classifier's last layer) skips packing on the AVX-512 and AVX2 kernels,
 * with the same arithmetic (see below); so do products of less than 2^14
 * multiply-adds and those with a transposed B that narrow, one block of the
 * narrow kernel's columns at a time.
 *
 * Large products are split over the thread pool by blocks of C, so each
 * thread writes its own elements: strips fixed by the thread count, or, for
 * the largest tall products, row blocks claimed as threads come free. Every element of C is reduced over k in the
 * same order whatever the thread count, so results are bitwise reproducible
 * for a given kernel; the smallest products stay on the calling thread. Packing
 * buffers are allocated once per thread and reused.
 */
#ifndef TAPEGRAD_OPS_KERNELS_GEMM_H
#define TAPEGRAD_OPS_KERNELS_GEMM_H

#include "tapegrad/kernels.h" /* tg_gemm_f32, tg_gemm_f64, tg_gemm_kernel_name: public */

#include <stdbool.h>
#include <stdint.h>

/* The default choice is the best kernel family this build has and this CPU
 * supports, or the one named by the environment variable TG_GEMM_KERNEL
 * (read once) when it is built and supported.
 *
 * tgi_gemm_use_kernel(name) selects a family by name from then on; NULL
 * returns to the default choice. Returns false, changing nothing, for a name
 * that is unknown, not built or not supported by this CPU: tests use it to
 * run every kernel the machine has. tgi_gemm_force_portable(on) is
 * tgi_gemm_use_kernel(on ? "portable" : NULL). Neither may be called while
 * another thread is inside tg_gemm_*. */
bool tgi_gemm_use_kernel(const char *name);
void tgi_gemm_force_portable(bool on);

/* ---- for gemm.c and the micro-kernel files only ----------------------------
 *
 * A micro-kernel computes one MR x NR tile of C from packed micro-panels:
 *   a_panel: k columns of MR elements (element (i,p) at a_panel[p*MR + i]),
 *   b_panel: k rows of NR elements (element (p,j) at b_panel[p*NR + j]),
 * both 64-byte aligned and zero-padded to full MR / NR. It stores
 *   C[i][j] = alpha * sum_p A(i,p) B(p,j) + beta * C[i][j]
 * for i < m_eff, j < n_eff (C at `c`, row stride ldc), reading C only when
 * beta != 0. The sum over p runs in increasing p, one accumulator per element.
 */
typedef void tg_gemm_micro_f32(int64_t k, const float *a_panel, const float *b_panel, float *c,
                               int64_t ldc, int m_eff, int n_eff, float alpha, float beta);
typedef void tg_gemm_micro_f64(int64_t k, const double *a_panel, const double *b_panel,
                               double *c, int64_t ldc, int m_eff, int n_eff, double alpha,
                               double beta);

/* A packing routine copies a kc x w_eff strided block into one micro-panel:
 *   dst[p*w + j] = src[p*rs + j*cs]   for p < kc, j < w_eff,
 *   dst[p*w + j] = 0                  for w_eff <= j < w,
 * where w is MR (panels of A) or NR (panels of B). Either rs or cs is 1 in
 * practice: cs == 1 copies rows, rs == 1 transposes. */
typedef void tg_gemm_pack_f32(int64_t kc, int w_eff, int w, const float *src, int64_t rs,
                              int64_t cs, float *dst);
typedef void tg_gemm_pack_f64(int64_t kc, int w_eff, int w, const double *src, int64_t rs,
                              int64_t cs, double *dst);

/* A narrow product: C = alpha * op(A) B + beta * C with B not transposed and
 * n at most one or two vectors (the kernel's NARROW_* columns), computed
 * without packing, in the packed kernel's arithmetic (k in blocks of kc) so
 * that the result is the same bit for bit. a, b, c point to float or double
 * as the function's suffix says; alpha and beta are converted. A narrow
 * kernel computes rows [i0, i0 + rows) of C, for rows = its NARROW_ROWS, 4,
 * 2 or 1 (each a block of registers of its own). */
typedef struct tg_gemm_narrow_args {
    bool trans_a;
    int64_t n, k, kc;
    double alpha, beta;
    const void *a, *b;
    void *c;
    int64_t lda, ldb, ldc;
} tg_gemm_narrow_args;
typedef void tg_gemm_narrow_fn(const tg_gemm_narrow_args *g, int64_t i0, int rows);

/* Portable packing (gemm_ref.c). */
tg_gemm_pack_f32 tgi_gemm_ref_pack_f32;
tg_gemm_pack_f64 tgi_gemm_ref_pack_f64;

/* Portable kernels (gemm_ref.c). */
#define TG_GEMM_REF_MR_F32 4
#define TG_GEMM_REF_NR_F32 8
#define TG_GEMM_REF_MR_F64 4
#define TG_GEMM_REF_NR_F64 4
tg_gemm_micro_f32 tgi_gemm_ref_micro_f32;
tg_gemm_micro_f64 tgi_gemm_ref_micro_f64;

/* AVX2+FMA kernels (gemm_avx2.c, built only when TG_HAVE_AVX2_KERNEL). */
#define TG_GEMM_AVX2_MR_F32 6
#define TG_GEMM_AVX2_NR_F32 16
#define TG_GEMM_AVX2_MR_F64 6
#define TG_GEMM_AVX2_NR_F64 8
tg_gemm_micro_f32 tgi_gemm_avx2_micro_f32;
tg_gemm_micro_f64 tgi_gemm_avx2_micro_f64;
tg_gemm_pack_f32 tgi_gemm_avx2_pack_f32; /* AVX transposes for w = 6, 8k */
tg_gemm_pack_f64 tgi_gemm_avx2_pack_f64; /* AVX transposes for w = 6, 4k */
#define TG_GEMM_AVX2_NARROW_F32 16 /* two vectors */
#define TG_GEMM_AVX2_NARROW_F64 8
#define TG_GEMM_AVX2_NARROW_ROWS 6
tg_gemm_narrow_fn tgi_gemm_avx2_narrow_f32;
tg_gemm_narrow_fn tgi_gemm_avx2_narrow_f64;

/* AVX-512F kernels (gemm_avx512.c, built only when TG_HAVE_AVX512_KERNEL);
 * they pack with the AVX2 routines. */
#define TG_GEMM_AVX512_MR_F32 8
#define TG_GEMM_AVX512_NR_F32 32
#define TG_GEMM_AVX512_MR_F64 8
#define TG_GEMM_AVX512_NR_F64 16
tg_gemm_micro_f32 tgi_gemm_avx512_micro_f32;
tg_gemm_micro_f64 tgi_gemm_avx512_micro_f64;
#define TG_GEMM_AVX512_NARROW_F32 16 /* one vector */
#define TG_GEMM_AVX512_NARROW_F64 8
#define TG_GEMM_AVX512_NARROW_ROWS 8
tg_gemm_narrow_fn tgi_gemm_avx512_narrow_f32;
tg_gemm_narrow_fn tgi_gemm_avx512_narrow_f64;


#endif
