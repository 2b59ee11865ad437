/* bench/tapegrad_product.h — one row-major product C = op(A) op(B) of a
 * bench shape with tapegrad's GEMM (tapegrad/kernels.h), as bench_gemm and
 * the one-process peer driver (peers/gemm_pair.c) both time it. */
#ifndef TG_BENCH_TAPEGRAD_PRODUCT_H
#define TG_BENCH_TAPEGRAD_PRODUCT_H

#include "bench_util.h"
#include "tapegrad/kernels.h"

static inline void tapegrad_product(bool f64, const bench_shape *s, const void *a, const void *b, void *c)
{
    bool ta = s->op[0] == 'T', tb = s->op[1] == 'T';
    int64_t lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
    if (f64)
        tg_gemm_f64(ta, tb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
    else
        tg_gemm_f32(ta, tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
}

/* `batch` such products, items stored one after the other, in one call. */
static inline void tapegrad_batch_product(bool f64, const bench_shape *s, int batch, const void *a, const void *b,
                                          void *c)
{
    bool ta = s->op[0] == 'T', tb = s->op[1] == 'T';
    int64_t lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
    int64_t sa = (int64_t)s->m * s->k, sb = (int64_t)s->k * s->n, sc = (int64_t)s->m * s->n;
    if (f64)
        tg_gemm_batch_f64(ta, tb, s->m, s->n, s->k, 1.0, a, lda, sa, b, ldb, sb, 0.0, c, s->n, sc, batch);
    else
        tg_gemm_batch_f32(ta, tb, s->m, s->n, s->k, 1.0f, a, lda, sa, b, ldb, sb, 0.0f, c, s->n, sc, batch);
}

#endif
