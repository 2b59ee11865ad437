/* bench/bench_util.h — what every benchmark program (and the OpenBLAS peer
 * driver, which is compiled on its own) needs to time a sample and take the
 * median: header-only so that the peer driver needs no library. */
#ifndef TG_BENCH_UTIL_H
#define TG_BENCH_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Monotonic wall-clock time in seconds. */
static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort's comparison for ascending doubles. */
static inline int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorts v[0..n) and returns its median (the upper one for even n). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_doubles);
    return v[n / 2];
}

/* n elements of float64 (or float32) from rand() in [-0.5, 0.5]: every GEMM
 * benchmark's inputs, the same for tapegrad and its peers (seed with srand
 * first). Exits naming `program` if out of memory. */
static inline void *bench_random_matrix(const char *program, bool f64, size_t n)
{
    void *m = malloc(n * (f64 ? sizeof(double) : sizeof(float)));
    if (m == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        double v = rand() / (double)RAND_MAX - 0.5;
        if (f64) ((double *)m)[i] = v; else ((float *)m)[i] = (float)v;
    }
    return m;
}

/* The GEMM shapes bench_gemm and its OpenBLAS peer both time: square sizes,
 * then the MNIST MLP's products (forward A B, backward A B^T and A^T B). */
typedef struct bench_shape {
    const char *op; /* NN, NT or TN */
    int m, n, k;
} bench_shape;

static const bench_shape bench_gemm_shapes[] = {
    {"NN", 64, 64, 64},     {"NN", 128, 128, 128},    {"NN", 256, 256, 256},
    {"NN", 512, 512, 512},  {"NN", 1024, 1024, 1024}, {"NN", 2048, 2048, 2048},
    {"NN", 128, 512, 784},  {"NT", 128, 784, 512},    {"TN", 784, 512, 128},
    {"NN", 128, 256, 512},  {"NT", 128, 512, 256},    {"TN", 512, 256, 128},
    {"NN", 16, 16, 16},     {"NN", 32, 32, 32},       {"NN", 64, 64, 48},
    {"NT", 128, 128, 64},   {"TN", 37, 53, 29},       {"NT", 2048, 6, 75},
};

/* One product named on the command line as DTYPE:OP:MxNxK (for example
 * f32:NT:128x784x512), so that a peer script can run the two sides shape by
 * shape, in turns, instead of each whole sweep at a different time. */
typedef struct bench_product {
    bool f64;
    char op[3];
    int m, n, k;
} bench_product;

/* Parses `spec`; false if it is not DTYPE:OP:MxNxK with a known dtype and op. */
static inline bool bench_parse_product(const char *spec, bench_product *p)
{
    char dtype[4] = "", op[3] = "";
    if (sscanf(spec, "%3[^:]:%2[NT]:%dx%dx%d", dtype, op, &p->m, &p->n, &p->k) != 5) return false;
    if (strcmp(dtype, "f32") != 0 && strcmp(dtype, "f64") != 0) return false;
    if (strcmp(op, "NN") != 0 && strcmp(op, "NT") != 0 && strcmp(op, "TN") != 0) return false;
    p->f64 = strcmp(dtype, "f64") == 0;
    memcpy(p->op, op, sizeof op);
    return p->m > 0 && p->n > 0 && p->k > 0;
}

/* Prints the sweep as products, one DTYPE:OP:MxNxK per line (--list). */
static inline void bench_list_products(void)
{
    for (int f64 = 0; f64 < 2; f64++)
        for (size_t i = 0; i < sizeof bench_gemm_shapes / sizeof bench_gemm_shapes[0]; i++) {
            const bench_shape *s = &bench_gemm_shapes[i];
            printf("%s:%s:%dx%dx%d\n", f64 ? "f64" : "f32", s->op, s->m, s->n, s->k);
        }
}

#endif
