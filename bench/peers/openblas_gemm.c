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

enum { SAMPLES = 7 };

static void run_product(int f64, const bench_shape *s, void *a, void *b, void *c)
{
    int ta = s->op[0] == 'T', tb = s->op[1] == 'T';
    int lda = ta ? s->m : s->k, ldb = tb ? s->k : s->n;
    enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE opb = tb ? CblasTrans : CblasNoTrans;
    if (f64)
        cblas_dgemm(CblasRowMajor, opa, opb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
    else
        cblas_sgemm(CblasRowMajor, opa, opb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c,
                    s->n);
}

static double measure(int f64, const bench_shape *s, double sample_flops)
{
    size_t elem = f64 ? sizeof(double) : sizeof(float);
    size_t a_n = (size_t)s->m * (size_t)s->k, b_n = (size_t)s->k * (size_t)s->n;
    size_t c_n = (size_t)s->m * (size_t)s->n;
    void *a = malloc(a_n * elem), *b = malloc(b_n * elem), *c = malloc(c_n * elem);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "openblas_gemm: out of memory\n");
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
    run_product(f64, s, a, b, c);
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
