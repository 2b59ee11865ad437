/* Tests of the GEMM kernels (ops/kernels/gemm.h) and the thread pool.
 *
 * Expected values come from an independent implementation: the naive triple
 * loop below, accumulated in double (long double for the float64 kernels).
 * The tolerance follows the usual bound for a k-term dot product,
 * |error| <= c * k * eps * sum_p |A(i,p) B(p,j)|, with c = 2 for slack. */
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "core/threadpool.h"
#include "ops/kernels/gemm.h"
#include "tapegrad/error.h"
#include "tapegrad/threads.h"

#include <float.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

static uint64_t rng_state;

static double next_uniform(void) /* in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / (double)(1ULL << 52) - 1.0;
}

typedef struct shape {
    int64_t m, n, k;
} shape;

/* 0 and 1, odd and prime sizes, sizes past every kernel's cache blocks
 * (k > KC = 256, m > MC = 384, n > NC = 4080), and shapes big enough to use two threads,
 * split by columns (130x1031x20) and by rows (1000x9x300). */
static const shape test_shapes[] = {
    {1, 1, 1},    {7, 13, 5},     {1, 64, 64},    {64, 1, 64},     {5, 3, 1},
    {16, 16, 16}, {67, 31, 129},  {6, 16, 300},   {2, 4101, 3},    {130, 1031, 20},
    {1000, 9, 300}, {257, 255, 253},
};
#define N_SHAPES (sizeof test_shapes / sizeof test_shapes[0])

/* Runs one product of each transpose combination for `shape` and checks every
 * element against the naive loop. Leading dimensions are padded by 3 so that
 * strides differ from widths. Defined once per element type. */
#define DEFINE_CHECK(T, SFX, ACC, EPS)                                                         \
    static void check_##SFX(shape s, T alpha, T beta)                                          \
    {                                                                                          \
        for (int combo = 0; combo < 4; combo++) {                                              \
            bool ta = combo & 1, tb = combo & 2;                                               \
            int64_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;                          \
            int64_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;                          \
            int64_t lda = a_cols + 3, ldb = b_cols + 3, ldc = s.n + 3;                         \
            T *a = malloc(sizeof(T) * (size_t)(a_rows * lda + 1));                             \
            T *b = malloc(sizeof(T) * (size_t)(b_rows * ldb + 1));                             \
            T *c = malloc(sizeof(T) * (size_t)(s.m * ldc + 1));                                \
            T *c0 = malloc(sizeof(T) * (size_t)(s.m * ldc + 1));                               \
            cr_assert(a && b && c && c0);                                                      \
            rng_state = (uint64_t)(s.m * 1000003 + s.n * 1009 + s.k + combo);                  \
            for (int64_t i = 0; i < a_rows * lda; i++) a[i] = (T)next_uniform();               \
            for (int64_t i = 0; i < b_rows * ldb; i++) b[i] = (T)next_uniform();               \
            for (int64_t i = 0; i < s.m * ldc; i++) c[i] = c0[i] = (T)next_uniform();          \
            tg_gemm_##SFX(ta, tb, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);         \
            for (int64_t i = 0; i < s.m; i++) {                                                \
                for (int64_t j = 0; j < ldc; j++) {                                            \
                    if (j >= s.n) { /* padding between rows is never written */               \
                        cr_assert_eq(c[i * ldc + j], c0[i * ldc + j]);                         \
                        continue;                                                              \
                    }                                                                          \
                    ACC sum = 0, mag = 0;                                                      \
                    for (int64_t p = 0; p < s.k; p++) {                                        \
                        ACC x = ta ? a[p * lda + i] : a[i * lda + p];                          \
                        ACC y = tb ? b[j * ldb + p] : b[p * ldb + j];                          \
                        sum += x * y;                                                          \
                        mag += fabsl((long double)(x * y));                                    \
                    }                                                                          \
                    ACC want = (ACC)alpha * sum + (ACC)beta * (ACC)c0[i * ldc + j];            \
                    ACC tol = 2 * (ACC)(s.k + 2) * (ACC)EPS *                                  \
                              (fabsl((long double)alpha) * mag +                               \
                               fabsl((long double)(beta * c0[i * ldc + j])));                  \
                    ACC got = c[i * ldc + j];                                                  \
                    cr_assert(fabsl((long double)(got - want)) <= tol,                         \
                              "%s %s%s %lldx%lldx%lld alpha=%g beta=%g: C[%lld][%lld] = %.9g," \
                              " want %.9g (tol %.3g)",                                         \
                              tg_gemm_kernel_name(), ta ? "At" : "A", tb ? "Bt" : "B",         \
                              (long long)s.m, (long long)s.n, (long long)s.k, (double)alpha,   \
                              (double)beta, (long long)i, (long long)j, (double)got,           \
                              (double)want, (double)tol);                                      \
                }                                                                              \
            }                                                                                  \
            free(a), free(b), free(c), free(c0);                                               \
        }                                                                                      \
    }

DEFINE_CHECK(float, f32, double, FLT_EPSILON)
DEFINE_CHECK(double, f64, long double, DBL_EPSILON)

static void check_all_shapes(bool f64)
{
    for (size_t s = 0; s < N_SHAPES; s++) {
        if (f64) {
            check_f64(test_shapes[s], 1.0, 0.0);
            check_f64(test_shapes[s], -0.5, 0.25);
        } else {
            check_f32(test_shapes[s], 1.0f, 0.0f);
            check_f32(test_shapes[s], -0.5f, 0.25f);
        }
    }
}

static void use_portable(void) { tgi_gemm_force_portable(true); }

/* ---- results against the naive loop ---------------------------------------- */

Test(gemm, f32_auto_kernel_one_thread_matches_naive_loop)
{
    tg_set_num_threads(1);
    check_all_shapes(false);
}

Test(gemm, f32_auto_kernel_two_threads_matches_naive_loop)
{
    tg_set_num_threads(2);
    check_all_shapes(false);
}

Test(gemm, f32_portable_kernel_matches_naive_loop, .init = use_portable)
{
    cr_assert_str_eq(tg_gemm_kernel_name(), "portable");
    tg_set_num_threads(2);
    check_all_shapes(false);
}

Test(gemm, f64_auto_kernel_one_thread_matches_naive_loop)
{
    tg_set_num_threads(1);
    check_all_shapes(true);
}

Test(gemm, f64_auto_kernel_two_threads_matches_naive_loop)
{
    tg_set_num_threads(2);
    check_all_shapes(true);
}

Test(gemm, f64_portable_kernel_matches_naive_loop, .init = use_portable)
{
    tg_set_num_threads(2);
    check_all_shapes(true);
}

/* Each SIMD kernel this machine has, by name (the auto tests above run only
 * the best one): on an AVX-512 machine the AVX2 kernel is checked too. */
Test(gemm, every_kernel_this_cpu_runs_matches_naive_loop)
{
    static const char *const names[] = {"avx512", "avx2-fma", "portable"};
    int ran = 0;
    tg_set_num_threads(2);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!tgi_gemm_use_kernel(names[i])) {
            cr_log_info("gemm kernel %s: not built or not supported by this CPU, skipped", names[i]);
            continue;
        }
        cr_assert_str_eq(tg_gemm_kernel_name(), names[i]);
        check_all_shapes(false);
        check_all_shapes(true);
        ran++;
    }
    tgi_gemm_use_kernel(NULL);
    cr_assert_geq(ran, 1);
    cr_assert_not(tgi_gemm_use_kernel("sse9"), "an unknown kernel name is refused");
}

/* A narrow product (n <= 16 floats or 8 doubles, B not transposed: a
 * classifier's last layer) skips packing on the AVX-512 and AVX2 kernels
 * but keeps the packed path's arithmetic, so each column comes out bit for
 * bit as in a wider product that contains it (products too small to pack
 * at all, m n k < 4096, take a plain loop either way and are not compared).
 * Every kernel this CPU runs, both transposes of A, beta 0 and not, one and
 * several k blocks (k = 67, 600), row counts with tails, 1 and 2 threads. */
#define DEFINE_NARROW_CHECK(T, SFX)                                                            \
    static void narrow_matches_wide_##SFX(bool ta, int64_t m, int64_t k, T beta)               \
    {                                                                                          \
        enum { WIDE = 40 };                                                                    \
        T *a = malloc(sizeof(T) * (size_t)(m * k)), *b = malloc(sizeof(T) * (size_t)(k * WIDE)); \
        T *c0 = malloc(sizeof(T) * (size_t)(m * WIDE)), *wide = malloc(sizeof(T) * (size_t)(m * WIDE)); \
        T *narrow = malloc(sizeof(T) * (size_t)(m * WIDE));                                    \
        cr_assert(a && b && c0 && wide && narrow);                                             \
        rng_state = (uint64_t)(m * 31 + k);                                                    \
        for (int64_t i = 0; i < m * k; i++) a[i] = (T)next_uniform();                          \
        for (int64_t i = 0; i < k * WIDE; i++) b[i] = (T)next_uniform();                       \
        for (int64_t i = 0; i < m * WIDE; i++) c0[i] = wide[i] = (T)next_uniform();            \
        tg_gemm_##SFX(ta, false, m, WIDE, k, (T)0.75, a, ta ? m : k, b, WIDE, beta, wide, WIDE); \
        for (int64_t n = 1; n <= 17; n++) {                                                    \
            memcpy(narrow, c0, sizeof(T) * (size_t)(m * WIDE));                                \
            tg_gemm_##SFX(ta, false, m, n, k, (T)0.75, a, ta ? m : k, b, WIDE, beta, narrow, WIDE); \
            for (int64_t i = 0; i < m; i++)                                                    \
                for (int64_t j = 0; j < WIDE; j++) {                                           \
                    T want = j < n ? wide[i * WIDE + j] : c0[i * WIDE + j];                    \
                    cr_assert(memcmp(&narrow[i * WIDE + j], &want, sizeof want) == 0,          \
                              "%s %s %s m=%lld n=%lld k=%lld beta=%g: C[%lld][%lld] = %.17g, "  \
                              "want %.17g", tg_gemm_kernel_name(), #SFX, ta ? "At" : "A",      \
                              (long long)m, (long long)n, (long long)k, (double)beta,          \
                              (long long)i, (long long)j, (double)narrow[i * WIDE + j],        \
                              (double)want);                                                   \
                }                                                                              \
        }                                                                                      \
        free(a), free(b), free(c0), free(wide), free(narrow);                                  \
    }
DEFINE_NARROW_CHECK(float, f32)
DEFINE_NARROW_CHECK(double, f64)

Test(gemm, narrow_products_match_the_columns_of_a_wide_one_exactly)
{
    const char *names[3] = {"avx512", "avx2-fma", "portable"};
    /* m, k: whole row blocks and tails of every length (7 = 4+2+1 or 6+1,
     * 14 = 8+4+2 or 12+2, 203, and 1000 split over two threads). */
    const int64_t sizes[8][2] = {{64, 67}, {203, 67}, {1000, 67}, {64, 600},
                                 {203, 600}, {1000, 600}, {14, 600}, {7, 600}};
    for (int kernel = 0; kernel < 3; kernel++) {
        if (!tgi_gemm_use_kernel(names[kernel])) continue; /* not built or not on this CPU */
        for (int threads = 1; threads <= 2; threads++) {
            tg_set_num_threads(threads);
            for (int s = 0; s < 8; s++)
                for (int ta = 0; ta < 2; ta++) {
                    /* float: beta = 0 with one k block, 0.5 with several; double the other way round */
                    bool one_block = sizes[s][1] < 256;
                    narrow_matches_wide_f32(ta, sizes[s][0], sizes[s][1], one_block ? 0.0f : 0.5f);
                    narrow_matches_wide_f64(ta, sizes[s][0], sizes[s][1], one_block ? -1.5 : 0.0);
                }
        }
    }
    tgi_gemm_use_kernel(NULL);
    tg_set_num_threads(1);
}

Test(gemm, alpha_and_beta_variants)
{
    /* alpha = 0 leaves beta * C; beta = 1 accumulates; alpha = 2 scales. */
    shape s = {67, 31, 129};
    check_f32(s, 0.0f, 1.0f);
    check_f32(s, 2.0f, 1.0f);
    check_f64(s, 0.0, -1.0);
    check_f64(s, 2.0, 1.0);
}

/* ---- hand-computed values and edge cases ---------------------------------- */

Test(gemm, two_by_two_product_by_hand)
{
    /* [1 2; 3 4] @ [5 6; 7 8] = [19 22; 43 50]; with A^T: [3·7+1·5 ...] */
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    float c[4];
    tg_gemm_f32(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    cr_assert(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
    /* A^T = [1 3; 2 4]: A^T B = [26 30; 38 44] */
    tg_gemm_f32(true, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    cr_assert(c[0] == 26 && c[1] == 30 && c[2] == 38 && c[3] == 44);
    /* B^T = [5 7; 6 8]: A B^T = [17 23; 39 53] */
    const double ad[] = {1, 2, 3, 4}, bd[] = {5, 6, 7, 8};
    double cd[4] = {1, 1, 1, 1};
    tg_gemm_f64(false, true, 2, 2, 2, 1.0, ad, 2, bd, 2, 1.0, cd, 2);
    cr_assert(cd[0] == 18 && cd[1] == 24 && cd[2] == 40 && cd[3] == 54);
}

Test(gemm, beta_zero_never_reads_c)
{
    /* Old NaNs in C must not leak into the result when beta == 0. */
    for (int portable = 0; portable < 2; portable++) {
        tgi_gemm_force_portable(portable);
        int64_t m = 37, n = 41, k = 19;
        float *a = malloc(sizeof(float) * (size_t)(m * k));
        float *b = malloc(sizeof(float) * (size_t)(k * n));
        float *c = malloc(sizeof(float) * (size_t)(m * n));
        for (int64_t i = 0; i < m * k; i++) a[i] = 1.0f;
        for (int64_t i = 0; i < k * n; i++) b[i] = 0.5f;
        for (int64_t i = 0; i < m * n; i++) c[i] = NAN;
        tg_gemm_f32(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        for (int64_t i = 0; i < m * n; i++) cr_assert_eq(c[i], 9.5f);
        for (int64_t i = 0; i < m * n; i++) c[i] = NAN;
        tg_gemm_f32(false, false, 2, 3, 1, 1.0f, a, 1, b, 3, 0.0f, c, 3); /* tiny path */
        for (int64_t i = 0; i < 6; i++) cr_assert_eq(c[i], 0.5f);
        free(a), free(b), free(c);
    }
}

Test(gemm, k_zero_scales_c_by_beta)
{
    double c[6] = {1, 2, 3, 4, 5, NAN};
    tg_gemm_f64(false, false, 2, 2, 0, 1.0, NULL, 1, NULL, 1, 3.0, c, 3);
    cr_assert(c[0] == 3 && c[1] == 6 && c[3] == 12 && c[4] == 15);
    cr_assert(isnan(c[5])); /* padding untouched */
    tg_gemm_f64(false, false, 2, 2, 0, 1.0, NULL, 1, NULL, 1, 0.0, c, 3);
    cr_assert(c[0] == 0 && c[1] == 0 && c[2] == 3 && c[3] == 0 && c[4] == 0);
}

Test(gemm, empty_products_touch_nothing)
{
    float c[4] = {1, 2, 3, 4};
    tg_gemm_f32(false, false, 0, 2, 5, 1.0f, NULL, 5, NULL, 2, 0.0f, c, 2);
    tg_gemm_f32(true, true, 2, 0, 5, 1.0f, NULL, 2, NULL, 5, 0.0f, c, 2);
    cr_assert(c[0] == 1 && c[1] == 2 && c[2] == 3 && c[3] == 4);
}

/* ---- determinism ------------------------------------------------------------- */

#define REPRO_M 203
#define REPRO_N 301
#define REPRO_K 517

static float repro_a[REPRO_M * REPRO_K], repro_b[REPRO_K * REPRO_N];

static void repro_fill(void)
{
    rng_state = 42;
    for (int i = 0; i < REPRO_M * REPRO_K; i++) repro_a[i] = (float)next_uniform();
    for (int i = 0; i < REPRO_K * REPRO_N; i++) repro_b[i] = (float)next_uniform();
}

/* The operands are filled once, by whichever thread comes first: two user
 * threads refilling them while the other multiplies was a data race. */
static void repro_product(float *c, bool ta, bool tb)
{
    static pthread_once_t filled = PTHREAD_ONCE_INIT;
    pthread_once(&filled, repro_fill);
    tg_gemm_f32(ta, tb, REPRO_M, REPRO_N, REPRO_K, 1.0f, repro_a, ta ? REPRO_M : REPRO_K, repro_b,
                tb ? REPRO_K : REPRO_N, 0.0f, c, REPRO_N);
}

Test(gemm, repeated_calls_are_bitwise_identical)
{
    static float first[REPRO_M * REPRO_N], again[REPRO_M * REPRO_N];
    tg_set_num_threads(2);
    for (int combo = 0; combo < 4; combo++) {
        repro_product(first, combo & 1, combo & 2);
        for (int rep = 0; rep < 3; rep++) {
            repro_product(again, combo & 1, combo & 2);
            cr_assert(memcmp(first, again, sizeof first) == 0);
        }
    }
}

Test(gemm, result_does_not_depend_on_thread_count)
{
    static float one[REPRO_M * REPRO_N], two[REPRO_M * REPRO_N];
    tg_set_num_threads(1);
    repro_product(one, false, true);
    tg_set_num_threads(2);
    repro_product(two, false, true);
    cr_assert(memcmp(one, two, sizeof one) == 0);
}

static void *repro_in_thread(void *out)
{
    repro_product(out, true, false);
    return NULL;
}

/* Runs `product` on two user threads at once, into `first` and `second`, and
 * checks both against `lone` (`bytes` each). The pool runs one job at a
 * time; the other caller runs inline. */
static void assert_two_callers_get(void *(*product)(void *), const float *lone, float *first, float *second,
                                   size_t bytes)
{
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, product, first), 0);
    cr_assert_eq(pthread_create(&t2, NULL, product, second), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert(memcmp(lone, first, bytes) == 0);
    cr_assert(memcmp(lone, second, bytes) == 0);
}

Test(gemm, two_user_threads_at_once_get_the_same_result)
{
    static float lone[REPRO_M * REPRO_N], first[REPRO_M * REPRO_N], second[REPRO_M * REPRO_N];
    tg_set_num_threads(2);
    repro_product(lone, true, false);
    assert_two_callers_get(repro_in_thread, lone, first, second, sizeof lone);
}

/* Products of at least 2^29 multiply-adds on more than one thread cut C into
 * row blocks that the threads claim as they come free (gemm.c, row_blocks),
 * so which thread computes which rows changes from call to call; the result
 * must not, and must be the product. 1024 x 512 x 1024 is just past the
 * threshold. */
#define BIG_M 1024
#define BIG_N 512
#define BIG_K 1024

static float big_a[BIG_M * BIG_K], big_b[BIG_K * BIG_N];

static void big_fill(void)
{
    rng_state = 7;
    for (int i = 0; i < BIG_M * BIG_K; i++) big_a[i] = (float)next_uniform();
    for (int i = 0; i < BIG_K * BIG_N; i++) big_b[i] = (float)next_uniform();
}

static void big_product(float *c, bool ta, bool tb)
{
    tg_gemm_f32(ta, tb, BIG_M, BIG_N, BIG_K, 1.0f, big_a, ta ? BIG_M : BIG_K, big_b, tb ? BIG_K : BIG_N, 0.0f, c,
                BIG_N);
}

/* Element (i, j) of the big product against a double-precision dot product. */
static void assert_big_element(const float *c, bool ta, bool tb, int i, int j)
{
    double sum = 0, mag = 0;
    for (int p = 0; p < BIG_K; p++) {
        double x = ta ? big_a[p * BIG_M + i] : big_a[i * BIG_K + p];
        double y = tb ? big_b[j * BIG_K + p] : big_b[p * BIG_N + j];
        sum += x * y;
        mag += fabs(x * y);
    }
    double tol = 2.0 * (BIG_K + 2) * FLT_EPSILON * mag;
    cr_assert(fabs(c[i * BIG_N + j] - sum) <= tol, "%s C[%d][%d] = %.9g, want %.9g (tol %.3g)", tg_gemm_kernel_name(), i,
              j, (double)c[i * BIG_N + j], sum, tol);
}

/* Every transpose combination on the best kernel; A B on the portable one. */
static void check_big_products(int combos)
{
    static float one[BIG_M * BIG_N], two[BIG_M * BIG_N];
    big_fill();
    for (int combo = 0; combo < combos; combo++) {
        bool ta = combo & 1, tb = combo & 2;
        tg_set_num_threads(1);
        big_product(one, ta, tb);
        tg_set_num_threads(2);
        for (int rep = 0; rep < 2; rep++) {
            big_product(two, ta, tb);
            cr_assert(memcmp(one, two, sizeof one) == 0, "combo %d rep %d: 2 threads differ from 1", combo, rep);
        }
        for (int e = 0; e < 64; e++) /* corners, block edges and a spread of others */
            assert_big_element(two, ta, tb, (e * 131 + (e % 2) * 127) % BIG_M, (e * 61 + (e % 3) * 255) % BIG_N);
    }
}

Test(gemm, large_products_by_claimed_row_blocks_are_the_product_whatever_the_threads)
{
    check_big_products(4);
}

Test(gemm, large_products_by_claimed_row_blocks_on_the_portable_kernel, .init = use_portable)
{
    cr_assert_str_eq(tg_gemm_kernel_name(), "portable");
    check_big_products(1);
}

static void *big_in_thread(void *out)
{
    big_product(out, false, false);
    return NULL;
}

Test(gemm, large_products_from_two_user_threads_at_once_get_the_lone_result)
{
    /* The caller that does not get the pool runs every row block itself, in
     * order; the other shares them with the worker. */
    static float lone[BIG_M * BIG_N], first[BIG_M * BIG_N], second[BIG_M * BIG_N];
    big_fill();
    tg_set_num_threads(2);
    big_product(lone, false, false);
    assert_two_callers_get(big_in_thread, lone, first, second, sizeof lone);
}

Test(gemm, warm_calls_allocate_nothing)
{
    /* Packing buffers are kept per thread: once a shape has run, running it
     * again leaves the heap exactly as it was (glibc's count of bytes in use). */
    static float a[300 * 200], b[200 * 100], c[300 * 100];
    tg_set_num_threads(2);
    tg_gemm_f32(false, true, 300, 100, 200, 1.0f, a, 200, b, 200, 0.0f, c, 100);
    struct mallinfo2 before = mallinfo2();
    for (int rep = 0; rep < 3; rep++)
        tg_gemm_f32(false, true, 300, 100, 200, 1.0f, a, 200, b, 200, 0.0f, c, 100);
    struct mallinfo2 after = mallinfo2();
    cr_assert_eq(after.uordblks, before.uordblks);
    cr_assert_eq(after.hblkhd, before.hblkhd);
}

Test(gemm, kernel_can_be_forced_to_portable)
{
    const char *auto_name = tg_gemm_kernel_name();
    cr_assert(strcmp(auto_name, "avx512") == 0 || strcmp(auto_name, "avx2-fma") == 0 ||
              strcmp(auto_name, "portable") == 0);
    tgi_gemm_force_portable(true);
    cr_assert_str_eq(tg_gemm_kernel_name(), "portable");
    tgi_gemm_force_portable(false);
    cr_assert_str_eq(tg_gemm_kernel_name(), auto_name);
}

/* ---- the thread pool ----------------------------------------------------------- */

/* Small products (less than 2^14 multiply-adds, or n within the narrow
 * kernel's columns: these skip packing) and the attention and convolution
 * shapes around them, odd sizes, every transpose combination, against the
 * naive loop, on every kernel this CPU runs, float32 and float64, 1 and 2
 * threads. */
static const shape small_shapes[] = {
    {64, 64, 48}, {128, 128, 64}, {2048, 6, 75}, {17, 33, 19}, {37, 53, 29}, {23, 19, 31}, {9, 40, 21},
    {100, 17, 130}, {128, 128, 128}, {31, 64, 300},
};

Test(gemm, small_products_read_in_place_match_naive_loop)
{
    static const char *const names[] = {"avx512", "avx2-fma", "portable"};
    for (size_t kn = 0; kn < sizeof names / sizeof names[0]; kn++) {
        if (!tgi_gemm_use_kernel(names[kn])) continue;
        for (int threads = 1; threads <= 2; threads++) {
            tg_set_num_threads(threads);
            for (size_t i = 0; i < sizeof small_shapes / sizeof small_shapes[0]; i++) {
                check_f32(small_shapes[i], 1.0f, 0.0f);
                check_f32(small_shapes[i], -0.5f, 0.25f);
                check_f64(small_shapes[i], 1.0, 0.0);
                check_f64(small_shapes[i], -0.5, 0.25);
            }
        }
    }
    tgi_gemm_use_kernel(NULL);
}

/* A small product comes out the same bits on 1 and 2 threads (128^3 splits). */
Test(gemm, small_products_do_not_depend_on_thread_count)
{
    enum { M = 128, N = 128, K = 128 };
    static double a[M * K], b[K * N], one[M * N], two[M * N];
    rng_state = 99;
    for (int i = 0; i < M * K; i++) a[i] = next_uniform();
    for (int i = 0; i < K * N; i++) b[i] = next_uniform();
    for (int combo = 0; combo < 4; combo++) {
        bool ta = combo & 1, tb = combo & 2;
        tg_set_num_threads(1);
        tg_gemm_f64(ta, tb, M, N, K, 1.0, a, ta ? M : K, b, tb ? K : N, 0.0, one, N);
        tg_set_num_threads(2);
        tg_gemm_f64(ta, tb, M, N, K, 1.0, a, ta ? M : K, b, tb ? K : N, 0.0, two, N);
        cr_assert(memcmp(one, two, sizeof one) == 0, "combo %d", combo);
    }
}

/* A strided batch equals a loop of single products bit for bit, on 1 and 2
 * threads, for small items (shared out whole) and large ones (each split),
 * with a shared B (stride 0) and padded strides; the single products are
 * themselves checked against the naive loop above. */
#define DEFINE_BATCH_CHECK(T, SFX)                                                             \
    static void batch_matches_loop_##SFX(bool ta, bool tb, int64_t m, int64_t n, int64_t k,    \
                                         int64_t batch, bool shared_b)                         \
    {                                                                                          \
        int64_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;                   \
        int64_t sa = (ta ? k : m) * lda + 5, sb = shared_b ? 0 : (tb ? n : k) * ldb + 1;       \
        int64_t sc = m * ldc + 7;                                                              \
        size_t na = (size_t)(sa * batch), nb = (size_t)(shared_b ? sb + (tb ? n : k) * ldb : sb * batch); \
        size_t nc = (size_t)(sc * batch);                                                      \
        T *a = malloc(sizeof(T) * na), *b = malloc(sizeof(T) * nb);                            \
        T *c0 = malloc(sizeof(T) * nc), *want = malloc(sizeof(T) * nc);                        \
        T *one = malloc(sizeof(T) * nc), *two = malloc(sizeof(T) * nc);                        \
        cr_assert(a && b && c0 && want && one && two);                                         \
        rng_state = (uint64_t)(m * 7 + n * 11 + k * 13 + batch);                               \
        for (size_t i = 0; i < na; i++) a[i] = (T)next_uniform();                              \
        for (size_t i = 0; i < nb; i++) b[i] = (T)next_uniform();                              \
        for (size_t i = 0; i < nc; i++) c0[i] = want[i] = one[i] = two[i] = (T)next_uniform(); \
        for (int64_t i = 0; i < batch; i++)                                                    \
            tg_gemm_##SFX(ta, tb, m, n, k, (T)0.5, a + i * sa, lda, b + i * sb, ldb, (T)0.25,   \
                          want + i * sc, ldc);                                                 \
        tg_set_num_threads(1);                                                                 \
        tg_gemm_batch_##SFX(ta, tb, m, n, k, (T)0.5, a, lda, sa, b, ldb, sb, (T)0.25, one, ldc, sc, batch); \
        tg_set_num_threads(2);                                                                 \
        tg_gemm_batch_##SFX(ta, tb, m, n, k, (T)0.5, a, lda, sa, b, ldb, sb, (T)0.25, two, ldc, sc, batch); \
        cr_assert(memcmp(one, want, sizeof(T) * nc) == 0, #SFX " %s%s %lldx%lldx%lld x%lld: 1 thread", \
                  ta ? "T" : "N", tb ? "T" : "N", (long long)m, (long long)n, (long long)k, (long long)batch); \
        cr_assert(memcmp(two, want, sizeof(T) * nc) == 0, #SFX " %s%s %lldx%lldx%lld x%lld: 2 threads", \
                  ta ? "T" : "N", tb ? "T" : "N", (long long)m, (long long)n, (long long)k, (long long)batch); \
        free(a), free(b), free(c0), free(want), free(one), free(two);                          \
    }
DEFINE_BATCH_CHECK(float, f32)
DEFINE_BATCH_CHECK(double, f64)

Test(gemm, batched_products_equal_a_loop_of_products_on_1_and_2_threads)
{
    static const struct { int64_t m, n, k, batch; } cases[] = {
        {64, 64, 32, 12}, {33, 17, 9, 5}, {3, 2, 4, 7}, {200, 160, 90, 3}, {5, 5, 5, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int combo = 0; combo < 8; combo++) {
            bool ta = combo & 1, tb = combo & 2, shared = combo & 4;
            batch_matches_loop_f32(ta, tb, cases[i].m, cases[i].n, cases[i].k, cases[i].batch, shared);
            batch_matches_loop_f64(ta, tb, cases[i].m, cases[i].n, cases[i].k, cases[i].batch, shared);
        }
}

/* The batch against the naive loop, by hand-sized numbers: two 2x2 items. */
Test(gemm, batched_two_by_two_products_by_hand)
{
    const float a[8] = {1, 2, 3, 4, /* item 1 */ 0, 1, 1, 0};
    const float b[8] = {5, 6, 7, 8, /* item 1 */ 2, 3, 4, 5};
    float c[8] = {0};
    tg_gemm_batch_f32(false, false, 2, 2, 2, 1.0f, a, 2, 4, b, 2, 4, 0.0f, c, 2, 4, 2);
    const float want[8] = {19, 22, 43, 50, /* swap rows */ 4, 5, 2, 3};
    for (int i = 0; i < 8; i++) cr_assert_eq(c[i], want[i], "c[%d] = %g, want %g", i, c[i], want[i]);
}

Test(threads, set_returns_previous_and_rejects_zero)
{
    tg_set_num_threads(3);
    cr_assert_eq(tg_set_num_threads(2), 3);
    cr_assert_eq(tg_get_num_threads(), 2);
    cr_assert_eq(tg_set_num_threads(1000), 2);
    cr_assert_eq(tg_get_num_threads(), 64); /* capped */
    tg_set_error_mode(TG_ERRORS_RETURN);
    cr_assert_eq(tg_set_num_threads(0), -1);
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_get_num_threads(), 64); /* unchanged */
}

typedef struct count_ctx {
    atomic_int runs[100];
    int owner[100];
} count_ctx;

static void count_task(void *ctx, int64_t task, int thread_index)
{
    count_ctx *counts = ctx;
    atomic_fetch_add(&counts->runs[task], 1);
    counts->owner[task] = thread_index;
}

Test(threads, parallel_for_runs_each_task_once_in_static_blocks)
{
    static count_ctx counts;
    tg_set_num_threads(2);
    tgi_parallel_for(100, 2, count_task, &counts);
    for (int t = 0; t < 100; t++) {
        cr_assert_eq(atomic_load(&counts.runs[t]), 1);
        cr_assert_eq(counts.owner[t], t < 50 ? 0 : 1); /* [0,50) on the caller */
    }
}

/* Task 1 (on the worker) outlasts the caller's 1 ms of polling, so the
 * caller goes to sleep and must be woken by the worker's finish. */
static void slow_second_task(void *ctx, int64_t task, int thread_index)
{
    if (task == 1) {
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    count_task(ctx, task, thread_index);
}

/* Every way a job meets the pool's threads: workers polling (back to back),
 * workers asleep (after more than their 1 ms of polling), and a caller asleep
 * (waiting for a slow worker). Each job must run every task exactly once; a
 * lost wake-up would hang here (meson's timeout catches it). */
Test(threads, jobs_complete_whether_workers_and_caller_poll_or_sleep)
{
    tg_set_num_threads(2);
    static count_ctx counts;
    for (int round = 0; round < 20; round++) {
        struct timespec pause = {0, (round % 3) * 1500 * 1000}; /* 0, 1.5, 3 ms */
        nanosleep(&pause, NULL);
        tgi_parallel_for(2, 2, round % 4 == 3 ? slow_second_task : count_task, &counts);
        for (int t = 0; t < 2; t++) {
            cr_assert_eq(atomic_load(&counts.runs[t]), round + 1, "round %d task %d", round, t);
            cr_assert_eq(counts.owner[t], t, "round %d: task %d ran on thread %d", round, t, counts.owner[t]);
        }
    }
}

/* Which thread ran each item of a range. */
typedef struct item_threads {
    pthread_t thread[8];
    atomic_llong runs;
} item_threads;

static void record_items(void *ctx, int64_t begin, int64_t end)
{
    item_threads *items = ctx;
    for (int64_t i = begin; i < end; i++) items->thread[i] = pthread_self();
    atomic_fetch_add(&items->runs, end - begin);
}

/* Heavy items are spread one per thread; an element range too short for a
 * second piece of 16 stays on the caller instead of running on a worker
 * while the caller waits (a one-item reduction once did just that). */
Test(threads, heavy_items_spread_and_short_ranges_stay_on_the_caller)
{
    tg_set_num_threads(2);
    item_threads two = {0};
    tg_parallel_items(2, 1e6, record_items, &two);
    cr_assert_eq(atomic_load(&two.runs), 2);
    cr_assert(pthread_equal(two.thread[0], pthread_self()), "item 0 runs on the caller");
    cr_assert(!pthread_equal(two.thread[1], pthread_self()), "item 1 runs on the worker");
    item_threads one = {0};
    tg_parallel_range(1, 1e6, record_items, &one);
    cr_assert_eq(atomic_load(&one.runs), 1);
    cr_assert(pthread_equal(one.thread[0], pthread_self()), "a single element runs on the caller");
    item_threads short_range = {0};
    tg_parallel_range(8, 1e6, record_items, &short_range);
    cr_assert_eq(atomic_load(&short_range.runs), 8);
    for (int i = 0; i < 8; i++)
        cr_assert(pthread_equal(short_range.thread[i], pthread_self()), "element %d of 8 left the caller", i);
}

static void nested_task(void *ctx, int64_t task, int thread_index)
{
    (void)task, (void)thread_index;
    count_ctx *counts = ctx;
    static count_ctx inner[2];
    /* A call from inside a task runs inline on its own thread. */
    tgi_parallel_for(10, 2, count_task, &inner[thread_index]);
    atomic_fetch_add(&counts->runs[0], 1);
}

Test(threads, nested_parallel_for_runs_inline)
{
    static count_ctx counts;
    tgi_parallel_for(2, 2, nested_task, &counts);
    cr_assert_eq(atomic_load(&counts.runs[0]), 2);
}

Test(threads, parallel_threads_for_work_keeps_tiny_jobs_inline)
{
    tg_set_num_threads(2);
    cr_assert_eq(tgi_parallel_threads_for_work(10, 1000), 1);
    cr_assert_eq(tgi_parallel_threads_for_work(1e9, 1000), 2);
}

/* ---- settings from the environment -------------------------------------------
 * Both are read once per process, at the first use; Criterion runs each test
 * in a process of its own, so each test here sees its own setting. */

static int cpus_online_capped(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
}

Test(environment, thread_count_is_read_from_tg_num_threads, .init = cr_redirect_stderr)
{
    setenv("TG_NUM_THREADS", "3", 1);
    cr_assert_eq(tg_get_num_threads(), 3);
    fflush(stderr);
    cr_assert_stderr_eq_str("", "a usable value is used without a word");
}

Test(environment, thread_count_that_is_not_a_number_is_said_and_replaced, .init = cr_redirect_stderr)
{
    setenv("TG_NUM_THREADS", "two", 1);
    int cpus = cpus_online_capped();
    cr_assert_eq(tg_get_num_threads(), cpus);
    fflush(stderr);
    char expected[200];
    snprintf(expected, sizeof expected,
             "tapegrad warning (TG_NUM_THREADS): \"two\" is not a whole number >= 1; using %d thread%s (the CPUs online)\n",
             cpus, cpus == 1 ? "" : "s");
    cr_assert_stderr_eq_str(expected);
}

Test(environment, thread_count_above_the_pool_is_said_and_capped, .init = cr_redirect_stderr)
{
    setenv("TG_NUM_THREADS", "100", 1);
    cr_assert_eq(tg_get_num_threads(), 64);
    fflush(stderr);
    cr_assert_stderr_eq_str(
        "tapegrad warning (TG_NUM_THREADS): 100 is more than the 64 threads a pool can have; using 64\n");
}

Test(environment, gemm_kernel_is_read_from_tg_gemm_kernel, .init = cr_redirect_stderr)
{
    setenv("TG_GEMM_KERNEL", "portable", 1);
    cr_assert_str_eq(tg_gemm_kernel_name(), "portable");
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

Test(environment, gemm_kernel_that_cannot_run_is_said_and_the_best_used, .init = cr_redirect_stderr)
{
    setenv("TG_GEMM_KERNEL", "portabel", 1);
    char used[32];
    snprintf(used, sizeof used, "%s", tg_gemm_kernel_name()); /* the first call reads the setting */
    /* The kernels this build and CPU run, best first: what the warning lists. */
    static const char *const names[] = {"avx512", "avx2-fma", "portable"};
    char usable[64] = "";
    for (int i = 0; i < 3; i++)
        if (tgi_gemm_use_kernel(names[i])) {
            if (usable[0] != '\0') strcat(usable, ", ");
            strcat(usable, names[i]);
        }
    tgi_gemm_use_kernel(NULL);
    cr_assert_eq(strncmp(usable, used, strlen(used)), 0, "the best kernel (%s) is used, not the portable fallback", usable);
    fflush(stderr);
    char expected[256];
    snprintf(expected, sizeof expected,
             "tapegrad warning (TG_GEMM_KERNEL): \"portabel\" is not a kernel this build can run on this CPU (it can "
             "run: %s); using %s\n",
             usable, used);
    cr_assert_stderr_eq_str(expected);
}
