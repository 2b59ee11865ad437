/* bench/bench_util.h — what every benchmark program (and the OpenBLAS peer
 * driver, which is compiled on its own) needs to time a sample and take the
 * median: header-only so that the peer driver needs no library. */
#ifndef TG_BENCH_UTIL_H
#define TG_BENCH_UTIL_H

#include <stdlib.h>
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
};

#endif
