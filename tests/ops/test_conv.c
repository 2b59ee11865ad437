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

/* conv_transpose2d is conv2d's input gradient: with the same weight and a
 * seed s, <conv2d(x, w), s> = <x, conv_transpose2d(s, w)> (the adjoint
 * identity), here on a strided, padded, dilated, grouped pair. */
Test(ops_conv, conv_transpose2d_is_the_adjoint_of_conv2d) {
    tg_rng rng = tg_rng_seeded(12);
    tg_tensor *x = tg_rand_uniform(&rng, TG_F64, 4, (int64_t[]){2, 4, 9, 8}, -1, 1);
    tg_tensor *w = tg_rand_uniform(&rng, TG_F64, 4, (int64_t[]){6, 2, 3, 2}, -1, 1);
    tg_conv2d_opts o = {2, 1, 1, 1, 2, 0, 2, 1, 2};
    tg_tensor *y = tg_conv2d(x, w, NULL, &o);
    tg_tensor *s = tg_rand_uniform(&rng, TG_F64, 4, y->shape, -1, 1);
    /* conv2d's windows on 9 rows: (9 + 2 - 5) / 2 + 1 = 4; back: (4-1)*2 - 2 + 4 + 1 = 9 with output_padding 0 */
    tg_conv_transpose2d_opts t = {2, 1, 1, 1, 2, 0, 0, 0, 2, 1, 2};
    tg_tensor *back = tg_conv_transpose2d(s, w, NULL, &t);
    cr_assert_not_null(back, "%s", tg_last_error_message());
    expect_shape(back, 4, x->shape);
    double left = tg_item(tg_sum(tg_mul(y, s))), right = tg_item(tg_sum(tg_mul(x, back)));
    cr_assert(fabs(left - right) < 1e-12 * fmax(1, fabs(left)), "<conv x, s> %.17g, <x, conv^T s> %.17g", left, right);
    tg_free(x), tg_free(w), tg_free(s);
    reset_tape();
}

/* 2x2 windows of a 2x4 plane holding 5, 5 | 1, 3 / 5, 2 | 3, 3: the maxima
 * 5 and 3 tie; the gradient goes to the first of each in row-major order. */
Test(ops_pool, max_pool2d_sends_the_gradient_to_the_first_of_tied_maxima) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(both_dtypes[d], 4, (int64_t[]){1, 1, 2, 4}, (double[]){5, 5, 1, 3, 5, 2, 3, 3});
        tg_tensor *y = tg_max_pool2d(x, 2, 2, 0);
        expect_tensor(y, both_dtypes[d], 4, (int64_t[]){1, 1, 1, 2}, (double[]){5, 3});
        cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
        expect_values(tg_grad(x), (double[]){1, 0, 0, 1, 0, 0, 0, 0});
        tg_free(x);
        reset_tape();
    }
}

/* Padding is -infinity for max pooling (a window of negatives keeps its
 * maximum, not 0), a NaN is its window's maximum, and overlapping windows
 * add their gradients: kernel 3, stride 1, padding 1 on a 1x3 row
 * -1, -3, -2 gives -1, -1, -2, with the gradient 2, 0, 1. */
Test(ops_pool, max_pool2d_pads_with_minus_infinity_and_adds_overlapping_gradients) {
    tg_tensor *x = param(TG_F64, 4, (int64_t[]){1, 1, 1, 3}, (double[]){-1, -3, -2});
    tg_tensor *y = tg_max_pool2d(x, 3, 1, 1);
    expect_tensor(y, TG_F64, 4, (int64_t[]){1, 1, 1, 3}, (double[]){-1, -1, -2});
    cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
    expect_values(tg_grad(x), (double[]){2, 0, 1});
    tg_free(x);
    reset_tape();
    tg_tensor *with_nan = make(TG_F32, 4, (int64_t[]){1, 1, 2, 2}, (double[]){1, NAN, 3, 2});
    cr_assert(isnan(tg_item(tg_max_pool2d(with_nan, 2, 2, 0))));
    tg_free(with_nan);
    reset_tape();
}

/* count_include_pad: kernel 2, stride 2, padding 1 on the 3x3 image 1..9
 * gives windows {1}, {2,3}, {4,7}, {5,6,8,9} over 4 each: 0.25, 1.25, 2.75, 7. */
Test(ops_pool, avg_pool2d_counts_the_padding_in_each_window) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(both_dtypes[d], 4, (int64_t[]){1, 1, 3, 3}, image_3x3);
        tg_tensor *y = tg_avg_pool2d(x, 2, 2, 1);
        expect_tensor(y, both_dtypes[d], 4, (int64_t[]){1, 1, 2, 2}, (double[]){0.25, 1.25, 2.75, 7});
        cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
        expect_values(tg_grad(x), (double[]){0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25});
        tg_free(x);
        reset_tape();
    }
}

/* Adaptive windows of 3 rows into 2: rows [0, 2) and [1, 3) (they overlap),
 * columns [0, 3) into 1: means 3.5 (1..6) and 6.5 (4..9); global: 5. */
Test(ops_pool, adaptive_avg_pool2d_takes_pytorchs_windows) {
    tg_tensor *x = make(TG_F64, 4, (int64_t[]){1, 1, 3, 3}, image_3x3);
    expect_tensor(tg_adaptive_avg_pool2d(x, 2, 1), TG_F64, 4, (int64_t[]){1, 1, 2, 1}, (double[]){3.5, 6.5});
    expect_tensor(tg_adaptive_avg_pool2d(x, 1, 1), TG_F64, 4, (int64_t[]){1, 1, 1, 1}, (double[]){5});
    tg_free(x);
    reset_tape();
}

Test(ops_pool, flatten_merges_the_axes_between_start_and_end) {
    tg_tensor *x = tg_zeros(TG_F32, 4, (int64_t[]){2, 3, 4, 5});
    expect_shape(tg_flatten(x, 1, -1), 2, (int64_t[]){2, 60});
    expect_shape(tg_flatten(x, 0, 1), 3, (int64_t[]){6, 4, 5});
    expect_shape(tg_flatten(x, 2, 2), 4, (int64_t[]){2, 3, 4, 5});
    tg_free(x);
    reset_tape();
}
