/* bench/peers/openblas_product.h — the same product as tapegrad_product.h
 * with OpenBLAS's cblas_sgemm / cblas_dgemm (row-major), for the peer
 * drivers openblas_gemm.c and gemm_pair.c. */
#ifndef TG_BENCH_OPENBLAS_PRODUCT_H
#define TG_BENCH_OPENBLAS_PRODUCT_H

#include <cblas.h>

#include "../bench_util.h"

static inline void openblas_product(bool f64, const bench_shape *s, const void *a, const void *b, void *c)
{
    bool ta = s->op[0] == 'T', tb = s->op[1] == 'T';
    int lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
    enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE opb = tb ? CblasTrans : CblasNoTrans;
    if (f64)
        cblas_dgemm(CblasRowMajor, opa, opb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
    else
        cblas_sgemm(CblasRowMajor, opa, opb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
}

/* The same batch as tapegrad_batch_product, as a loop of OpenBLAS calls. */
static inline void openblas_batch_product(bool f64, const bench_shape *s, int batch, const void *a, const void *b,
                                          void *c)
{
    size_t bytes = f64 ? sizeof(double) : sizeof(float);
    size_t sa = (size_t)s->m * s->k * bytes, sb = (size_t)s->k * s->n * bytes, sc = (size_t)s->m * s->n * bytes;
    for (int i = 0; i < batch; i++)
        openblas_product(f64, s, (const char *)a + i * sa, (const char *)b + i * sb, (char *)c + i * sc);
}

#endif
