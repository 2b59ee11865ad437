/* bench_gemm — GFLOP/s of tapegrad's GEMM (tapegrad/kernels.h).
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
 * dW = X^T@dY (TN), and small products that skip packing (16^3 to 128^3,
 * odd sizes, an attention head's 128x128x64 NT, a 5x5 convolution's
 * 2048x6x75 NT). bench/peers/openblas_gemm.c prints the same lines for
 * OpenBLAS, so bench/peers/run_openblas.sh can join the two. */
#include "tapegrad/threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "tapegrad_product.h"

enum { SAMPLES = 7 };

/* Median GFLOP/s over SAMPLES samples of about `sample_flops` each. */
static double measure(bool f64, const bench_shape *s, double sample_flops)
{
    srand(1);
    void *a = bench_random_matrix("bench_gemm", f64, (size_t)s->m * (size_t)s->k);
    void *b = bench_random_matrix("bench_gemm", f64, (size_t)s->k * (size_t)s->n);
    void *c = bench_random_matrix("bench_gemm", f64, (size_t)s->m * (size_t)s->n);
    double flops = 2.0 * s->m * s->n * s->k;
    int reps = (int)(sample_flops / flops) + 1;
    tapegrad_product(f64, s, a, b, c); /* warm-up: buffers, pool, caches */
    double gflops[SAMPLES];
    for (int sample = 0; sample < SAMPLES; sample++) {
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++) tapegrad_product(f64, s, a, b, c);
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
