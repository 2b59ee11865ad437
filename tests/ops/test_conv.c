/* Tests of the convolution and pooling ops (ops/conv.c, ops/pool.c) with
 * values worked out by hand, and a large threaded case against a direct
 * six-loop convolution written here. PyTorch's agreement on odd shapes is in
 * tests/core/test_torch_conv.c; finite differences in test_gradcheck_ops.c. */
#include <math.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype both_dtypes[] = {TG_F32, TG_F64};
static const double image_3x3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const double diagonal_difference[4] = {1, 0, 0, -1}; /* y = x[i][j] - x[i+1][j+1] */

/* y[i][j] = x[i][j] - x[i+1][j+1] + 0.5 = -4 + 0.5 everywhere on 1..9. */
Test(ops_conv, conv2d_of_a_difference_kernel_with_bias) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = make(both_dtypes[d], 4, (int64_t[]){1, 1, 3, 3}, image_3x3);
        tg_tensor *w = make(both_dtypes[d], 4, (int64_t[]){1, 1, 2, 2}, diagonal_difference);
        tg_tensor *b = make(both_dtypes[d], 1, (int64_t[]){1}, (double[]){0.5});
        expect_tensor(tg_conv2d(x, w, b, NULL), both_dtypes[d], 4, (int64_t[]){1, 1, 2, 2},
                      (double[]){-3.5, -3.5, -3.5, -3.5});
        tg_free(x), tg_free(w), tg_free(b);
        reset_tape();
    }
}

/* Padding 1 reads zeros around the image: y[i][j] = X(i-1, j-1) - X(i, j). */
Test(ops_conv, conv2d_reads_zeros_in_the_padding) {
    tg_tensor *x = make(TG_F64, 4, (int64_t[]){1, 1, 3, 3}, image_3x3);
    tg_tensor *w = make(TG_F64, 4, (int64_t[]){1, 1, 2, 2}, diagonal_difference);
    tg_conv2d_opts o = tg_conv2d_options(1, 1, 1, 1);
    expect_tensor(tg_conv2d(x, w, NULL, &o), TG_F64, 4, (int64_t[]){1, 1, 4, 4},
                  (double[]){-1, -2, -3, 0, -4, -4, -4, 3, -7, -4, -4, 6, 0, 7, 8, 9});
    tg_free(x), tg_free(w);
    reset_tape();
}

/* With a seed of ones: dW[u][v] = sum of the 2x2 block at (u, v) (12, 16,
 * 24, 28), db = 4 outputs, dx[a][b] = sum of the taps that read x[a][b]. */
Test(ops_conv, conv2d_gradients_by_hand) {
    tg_tensor *x = param(TG_F64, 4, (int64_t[]){1, 1, 3, 3}, image_3x3);
    tg_tensor *w = param(TG_F64, 4, (int64_t[]){1, 1, 2, 2}, diagonal_difference);
    tg_tensor *b = param(TG_F64, 1, (int64_t[]){1}, (double[]){0.5});
    cr_assert_eq(tg_backward(tg_sum(tg_conv2d(x, w, b, NULL)), NULL), TG_OK);
    expect_values(tg_grad(w), (double[]){12, 16, 24, 28});
    expect_values(tg_grad(b), (double[]){4});
    expect_values(tg_grad(x), (double[]){1, 1, 0, 1, 0, -1, 0, -1, -1});
    tg_free(x), tg_free(w), tg_free(b);
    reset_tape();
}

/* The direct definition, for one output element. */
static double direct_conv2d(const tg_tensor *x, const tg_tensor *w, const tg_conv2d_opts *o, int64_t n, int64_t co,
                            int64_t i, int64_t j) {
    int64_t c_in_group = w->shape[1], per_group = w->shape[0] / o->groups, g = co / per_group;
    double sum = 0;
    for (int64_t c = 0; c < c_in_group; c++)
        for (int64_t u = 0; u < w->shape[2]; u++)
            for (int64_t v = 0; v < w->shape[3]; v++) {
                int64_t ih = i * o->stride_h - o->pad_top + u * o->dilation_h;
                int64_t iw = j * o->stride_w - o->pad_left + v * o->dilation_w;
                if (ih < 0 || ih >= x->shape[2] || iw < 0 || iw >= x->shape[3]) continue;
                sum += tg_get(x, (int64_t[]){n, g * c_in_group + c, ih, iw}) * tg_get(w, (int64_t[]){co, c, u, v});
            }
    return sum;
}

/* A convolution large enough for the thread pool (im2col's rows, col2im's
 * planes and the GEMM split) gives the direct sums on 1 and 2 threads. */
Test(ops_conv, a_large_grouped_strided_conv2d_matches_the_definition_on_1_and_2_threads) {
    tg_rng rng = tg_rng_seeded(11);
    tg_tensor *x = tg_rand_uniform(&rng, TG_F64, 4, (int64_t[]){4, 6, 23, 19}, -1, 1);
    tg_tensor *w = tg_rand_uniform(&rng, TG_F64, 4, (int64_t[]){8, 3, 3, 4}, -1, 1);
    tg_conv2d_opts o = {2, 1, 1, 2, 0, 3, 1, 2, 2};
    int previous = tg_set_num_threads(1);
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_tensor *y = tg_conv2d(x, w, NULL, &o);
        cr_assert_not_null(y);
        for (int64_t k = 0; k < y->numel; k += 7) {
            int64_t j = k % y->shape[3], i = k / y->shape[3] % y->shape[2];
            int64_t co = k / (y->shape[3] * y->shape[2]) % y->shape[1], n = k / (y->numel / y->shape[0]);
            double want = direct_conv2d(x, w, &o, n, co, i, j);
            cr_assert(fabs(tg_get_flat(y, k) - want) < 1e-12, "threads %d, y[%lld] %.17g want %.17g", threads,
                      (long long)k, tg_get_flat(y, k), want);
        }
        reset_tape();
    }
    tg_set_num_threads(previous);
    tg_free(x), tg_free(w);
}
