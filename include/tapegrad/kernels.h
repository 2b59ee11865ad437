/* tapegrad/kernels.h — the library's compute kernels, for user-defined ops.
 *
 * The forward kernel of a user-defined op (op.h) computes its output from
 * plain arrays. These are the routines the built-in ops run on, so that such
 * a kernel can be as fast as theirs: the matrix product below, and the thread
 * pool's range split (tg_parallel_range, tapegrad/threads.h).
 * examples/custom_op.c writes a linear layer (y = x W^T + b) this way.
 */
#ifndef TAPEGRAD_KERNELS_H
#define TAPEGRAD_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* General matrix products, row-major, the ones matmul runs on:
 *
 *   C = alpha * op(A) @ op(B) + beta * C        op(X) = X, or X^T when trans_x
 *
 * op(A) is m x k, op(B) is k x n, C is m x n. lda, ldb and ldc are the row
 * strides, in elements, of the matrices as stored: A is stored m x k (k x m
 * when trans_a), B k x n (n x k when trans_b), so lda is at least the stored
 * row length (k, or m when trans_a), and so on. Transposed operands are read
 * in place. beta == 0 makes C write-only (its old values, NaN included, are
 * never read); k == 0 or alpha == 0 gives C = beta * C without reading A or B.
 * C must not overlap A or B.
 *
 * Large products are split over the thread pool (tapegrad/threads.h); every
 * element of C is summed in the same order whatever the thread count, so a
 * result is bitwise the same for any thread count on a given CPU. The micro-
 * kernel (AVX-512, AVX2+FMA or portable C) is chosen from the CPU at the first
 * call; the environment variable TG_GEMM_KERNEL=avx512|avx2-fma|portable
 * forces one the CPU supports (any other value is said in one line on stderr
 * and the CPU's best is used). After the first product of a shape on a thread,
 * the same product allocates nothing.
 *
 * Errors (TG_ERR_ARGUMENT through tg_error_report, C left untouched): a
 * negative size, a leading dimension shorter than the stored row it strides,
 * a NULL matrix that the product would touch. */
void tg_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                 int64_t ldc);
void tg_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                 const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                 double *c, int64_t ldc);

/* A batch of equal products, strided like cblas_sgemm_batch_strided:
 *
 *   C_i = alpha * op(A_i) @ op(B_i) + beta * C_i    for i in [0, batch)
 *
 * with A_i at a + i*stride_a, B_i at b + i*stride_b, C_i at c + i*stride_c
 * (strides in elements; 0 shares one A or B with every item), each product as
 * tg_gemm_f32 / tg_gemm_f64 describe it. Small items are shared out over the
 * thread pool whole, large ones split over it one after the other; each C_i
 * is bitwise what one tg_gemm_* call gives, whatever the thread count.
 *
 * Errors (TG_ERR_ARGUMENT, nothing written): those of tg_gemm_*, a negative
 * batch, a negative stride_a or stride_b, and, for more than one item, a
 * stride_c shorter than one C's span ((m-1)*ldc + n: the C matrices would
 * overlap). */
void tg_gemm_batch_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
                       int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c,
                       int64_t batch);
void tg_gemm_batch_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, int64_t lda, int64_t stride_a, const double *b,
                       int64_t ldb, int64_t stride_b, double beta, double *c, int64_t ldc,
                       int64_t stride_c, int64_t batch);

/* The micro-kernel family the products run on: "avx512", "avx2-fma" or
 * "portable". */
const char *tg_gemm_kernel_name(void);

#ifdef __cplusplus
}
#endif
#endif
