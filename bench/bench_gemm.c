/* bench_gemm — GFLOP/s of tapegrad's GEMM (ops/kernels/gemm.h).
 *
 * Usage: bench_gemm [--quick] [--only DTYPE:OP:MxNxK] [THREADS...]
 *        bench_gemm --list
 *        (default threads: 1 2; --only: that one product, e.g. f32:NT:128x784x512;
 *        --list: the sweep's products, one per line)
 *
 * For float32 and float64, each thread count and each shape, prints one line
 *   dtype threads op m n k gflops
 * where op is NN, NT (B transposed) or TN (A transposed) and gflops is the
 * median of several timed samples (2*m*n*k flops per product). The shapes are
 * squares and the products an MLP step makes (128 x 784 x 512 and
 * 128 x 512 x 256 layers): forward X@W (NN), backward dX = dY@W^T (NT) and
 * dW = X^T@dY (TN). bench/peers/openblas_gemm.c prints the same lines for
 * OpenBLAS, so bench/peers/run_openblas.sh can join the two. */
#include "ops/kernels/gemm.h"
#include "tapegrad/threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { SAMPLES = 7 };

static void run_product(bool f64, const bench_shape *s, void *a, void *b, void *c)
{
    bool ta = s->op[0] == 'T', tb = s->op[1] == 'T';
    int lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
    if (f64)
        tg_gemm_f64(ta, tb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
    else
        tg_gemm_f32(ta, tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
}

/* Median GFLOP/s over SAMPLES samples of about `sample_flops` each. */
static double measure(bool f64, const bench_shape *s, double sample_flops)
{
    size_t elem = f64 ? sizeof(double) : sizeof(float);
    size_t a_n = (size_t)s->m * (size_t)s->k, b_n = (size_t)s->k * (size_t)s->n;
    size_t c_n = (size_t)s->m * (size_t)s->n;
    void *a = malloc(a_n * elem), *b = malloc(b_n * elem), *c = malloc(c_n * elem);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    srand(1);
    for (size_t i = 0; i < a_n; i++) {
        double v = rand() / (double)RAND_MAX - 0.5;
        if (f64) ((double *)a)[i] = v; else ((float *)a)[i] = (float)v;
    }
    for (size_t i = 0; i < b_n; i++) {
        double v = rand() / (double)RAND_MAX - 0.5;
        if (f64) ((double *)b)[i] = v; else ((float *)b)[i] = (float)v;
    }
    double flops = 2.0 * s->m * s->n * s->k;
    int reps = (int)(sample_flops / flops) + 1;
    run_product(f64, s, a, b, c); /* warm-up: buffers, pool, caches */
    double gflops[SAMPLES];
    for (int sample = 0; sample < SAMPLES; sample++) {
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++) run_product(f64, s, a, b, c);
        gflops[sample] = flops * reps / (now_seconds() - t0) * 1e-9;
    }
    qsort(gflops, SAMPLES, sizeof gflops[0], compare_doubles);
    free(a), free(b), free(c);
    return gflops[SAMPLES / 2];
}

static void print_result(bool f64, int threads, const bench_shape *s, double sample_flops)
{
    printf("%s %d %s %d %d %d %.1f\n", f64 ? "f64" : "f32", threads, s->op, s->m, s->n, s->k,
           measure(f64, s, sample_flops));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double sample_flops = 2e9;
    int threads[8], n_threads = 0;
    bench_product only;
    bool have_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            sample_flops = 2e8;
        } else if (strcmp(argv[i], "--list") == 0) {
            bench_list_products();
            return 0;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && bench_parse_product(argv[i + 1], &only)) {
            have_only = true;
            i++;
        } else if (n_threads < 8 && atoi(argv[i]) >= 1) {
            threads[n_threads++] = atoi(argv[i]);
        } else {
            fprintf(stderr, "usage: bench_gemm [--quick] [--only DTYPE:OP:MxNxK] [THREADS...] | --list\n");
            return 2;
        }
    }
    if (n_threads == 0) threads[n_threads++] = 1, threads[n_threads++] = 2;

    printf("# tapegrad gemm, kernel %s, median of %d samples\n", tg_gemm_kernel_name(), SAMPLES);
    printf("# dtype threads op m n k gflops\n");
    for (int f64 = 0; f64 < 2; f64++) {
        for (int t = 0; t < n_threads; t++) {
            tg_set_num_threads(threads[t]);
            if (have_only) {
                bench_shape s = {only.op, only.m, only.n, only.k};
                if (only.f64 == f64) print_result(f64, threads[t], &s, sample_flops);
                continue;
            }
            for (size_t i = 0; i < sizeof bench_gemm_shapes / sizeof bench_gemm_shapes[0]; i++)
                print_result(f64, threads[t], &bench_gemm_shapes[i], sample_flops);
        }
    }
    return 0;
}
