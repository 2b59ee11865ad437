/* openblas_gemm — the OpenBLAS peer of bench/bench_gemm.c, for comparison only
 * (OpenBLAS is never a dependency of tapegrad). Prints the same lines,
 *   dtype threads op m n k gflops
 * for the same shapes (bench_util.h), timing cblas_sgemm / cblas_dgemm (row-major) the same
 * way: median of 7 samples. The thread count is whatever OpenBLAS was given
 * through OPENBLAS_NUM_THREADS; pass it as the first argument so it is printed.
 *
 * Usage: OPENBLAS_NUM_THREADS=T openblas_gemm T [--quick] [--only DTYPE:OP:MxNxK]
 *        (--only: that one product, as in bench_gemm)
 * Built by bench/peers/run_openblas.sh. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench_util.h"
#include "openblas_product.h"

enum { SAMPLES = 7 };

static double measure(int f64, const bench_shape *s, double sample_flops)
{
    srand(1);
    void *a = bench_random_matrix("openblas_gemm", f64, (size_t)s->m * (size_t)s->k);
    void *b = bench_random_matrix("openblas_gemm", f64, (size_t)s->k * (size_t)s->n);
    void *c = bench_random_matrix("openblas_gemm", f64, (size_t)s->m * (size_t)s->n);
    double flops = 2.0 * s->m * s->n * s->k;
    int reps = (int)(sample_flops / flops) + 1;
    openblas_product(f64, s, a, b, c);
    double gflops[SAMPLES];
    for (int sample = 0; sample < SAMPLES; sample++) {
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++) openblas_product(f64, s, a, b, c);
        gflops[sample] = flops * reps / (now_seconds() - t0) * 1e-9;
    }
    qsort(gflops, SAMPLES, sizeof gflops[0], compare_doubles);
    free(a), free(b), free(c);
    return gflops[SAMPLES / 2];
}

char *openblas_get_corename(void); /* OpenBLAS's, not in every cblas.h */

static void print_result(int f64, int threads, const bench_shape *s, double sample_flops)
{
    printf("%s %d %s %d %d %d %.1f\n", f64 ? "f64" : "f32", threads, s->op, s->m, s->n, s->k,
           measure(f64, s, sample_flops));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--core") == 0) { /* for openblas_core.sh */
        printf("%s\n", openblas_get_corename());
        return 0;
    }
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double sample_flops = 2e9;
    bench_product only;
    int have_only = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            sample_flops = 2e8;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && bench_parse_product(argv[i + 1], &only)) {
            have_only = 1;
            i++;
        } else {
            fprintf(stderr, "usage: openblas_gemm THREADS [--quick] [--only DTYPE:OP:MxNxK]\n");
            return 2;
        }
    }
    printf("# openblas gemm (%s, core %s), median of %d samples\n", OPENBLAS_VERSION, openblas_get_corename(),
           SAMPLES);
    printf("# dtype threads op m n k gflops\n");
    if (have_only) {
        bench_shape s = {only.op, only.m, only.n, only.k};
        print_result(only.f64, threads, &s, sample_flops);
        return 0;
    }
    for (int f64 = 0; f64 < 2; f64++)
        for (size_t i = 0; i < sizeof bench_gemm_shapes / sizeof bench_gemm_shapes[0]; i++)
            print_result(f64, threads, &bench_gemm_shapes[i], sample_flops);
    return 0;
}
