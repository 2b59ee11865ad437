/* tests/ops/test_reduce.c — sum, mean and max over all elements or over
 * axes: forward values, gradients through tg_backward, and error reports.
 *
 * Expected values are worked by hand in the comments. Many tests fill x with
 * 0, 1, 2, ... in row-major order ("iota"), so x[i,j,k] of a (2,3,2) is
 * 6i + 2j + k. Every test runs in float32 and float64; the values are small
 * integers, halves or quarters, exact in both. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype dtypes[] = {TG_F32, TG_F64};

/* ======================= sum ======================= */

/* [[1,2,3],[4,5,6]]: the sum of all is 21, a rank-0 tensor. */
Test(reduce, sum_all_is_rank_0) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = make(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        expect_tensor(tg_sum(x), dtypes[d], 0, NULL, (double[]){21});
        tg_tensor *s = tg_scalar(dtypes[d], -4.5);
        expect_tensor(tg_sum(s), dtypes[d], 0, NULL, (double[]){-4.5});
        tg_free(x);
        tg_free(s);
        reset_tape();
    }
}

/* [[1,2,3],[4,5,6]] over axis 1: row sums 6, 15, shape (2) or, with
 * keepdim, (2,1). Over axis 0: column sums 5, 7, 9. Axis -1 = axis 1. */
Test(reduce, sum_axes_one_axis_with_and_without_keepdim) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = make(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        expect_tensor(tg_sum_axes(x, 1, (int[]){1}, false), dtypes[d], 1, (int64_t[]){2}, (double[]){6, 15});
        expect_tensor(tg_sum_axes(x, 1, (int[]){1}, true), dtypes[d], 2, (int64_t[]){2, 1}, (double[]){6, 15});
        expect_tensor(tg_sum_axes(x, 1, (int[]){-1}, false), dtypes[d], 1, (int64_t[]){2}, (double[]){6, 15});
        expect_tensor(tg_sum_axes(x, 1, (int[]){0}, false), dtypes[d], 1, (int64_t[]){3}, (double[]){5, 7, 9});
        expect_tensor(tg_sum_axes(x, 1, (int[]){0}, true), dtypes[d], 2, (int64_t[]){1, 3}, (double[]){5, 7, 9});
        expect_tensor(tg_sum_axes(x, 2, (int[]){1, 0}, false), dtypes[d], 0, NULL, (double[]){21});
        expect_tensor(tg_sum_axes(x, 0, NULL, true), dtypes[d], 2, (int64_t[]){1, 1}, (double[]){21});
        tg_tensor *none = tg_sum_axes(x, 0, (int[]){0}, false); /* an empty list reduces nothing */
        expect_tensor(none, dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        tg_free(x);
        reset_tape();
    }
}

/* (2,3,4,5) iota over axes {0,2}: out[j,l] = sum_{i,k} (60i + 20j + 5k + l)
 *   = 60*4*(0+1) + 8*20j + 5*2*(0+1+2+3) + 8l = 300 + 160j + 8l.
 * (Check: the 15 outputs add up to 7140 = 0 + 1 + ... + 119.) */
Test(reduce, sum_over_separated_axes) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 4, (int64_t[]){2, 3, 4, 5}, false);
        double want[15];
        for (int j = 0; j < 3; j++)
            for (int l = 0; l < 5; l++) want[5 * j + l] = 300 + 160 * j + 8 * l;
        expect_tensor(tg_sum_axes(x, 2, (int[]){0, 2}, false), dtypes[d], 2, (int64_t[]){3, 5}, want);
        expect_tensor(tg_sum_axes(x, 2, (int[]){2, 0}, true), dtypes[d], 4, (int64_t[]){1, 3, 1, 5}, want);
        tg_free(x);
        reset_tape();
    }
}

/* A wide reduction over the leading axis: (3,1100) iota, x[i,j] = 1100i + j,
 * column sums 3300 + 3j. 1100 columns cross the kernel's 1024-column chunk.
 * The max of each column is the last row's, 2200 + j. */
Test(reduce, sum_and_max_over_leading_axis_of_wide_tensor) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 2, (int64_t[]){3, 1100}, false);
        double sums[1100], maxima[1100];
        for (int j = 0; j < 1100; j++) {
            sums[j] = 3300 + 3 * j;
            maxima[j] = 2200 + j;
        }
        expect_tensor(tg_sum_axes(x, 1, (int[]){0}, false), dtypes[d], 1, (int64_t[]){1100}, sums);
        expect_tensor(tg_max_axis(x, 0, false), dtypes[d], 1, (int64_t[]){1100}, maxima);
        tg_free(x);
        reset_tape();
    }
}

/* Size-1 axes change nothing: (2,1,3) summed over axis 1 is x as (2,3). */
Test(reduce, sum_over_size_one_axis) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 3, (int64_t[]){2, 1, 3}, false);
        expect_tensor(tg_sum_axes(x, 1, (int[]){1}, false), dtypes[d], 2, (int64_t[]){2, 3},
                      (double[]){0, 1, 2, 3, 4, 5});
        tg_free(x);
        reset_tape();
    }
}

/* The sum of no elements is 0: all of a (2,0), and each row of it. */
Test(reduce, sum_of_nothing_is_zero) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = tg_zeros(dtypes[d], 2, (int64_t[]){2, 0});
        expect_tensor(tg_sum(x), dtypes[d], 0, NULL, (double[]){0});
        expect_tensor(tg_sum_axes(x, 1, (int[]){1}, false), dtypes[d], 1, (int64_t[]){2}, (double[]){0, 0});
        expect_shape(tg_sum_axes(x, 1, (int[]){0}, false), 1, (int64_t[]){0});
        tg_free(x);
        reset_tape();
    }
}

/* float32 sums accumulate in double: a million copies of 0.1f (=
 * 0.100000001490116...) add up to 100000.0015, which rounds to 100000.0 in
 * float32. Adding in float32 drifts by hundreds (about 100958). */
Test(reduce, float32_sum_is_accumulated_in_double) {
    int64_t n = 1000000;
    tg_tensor *x = tg_full(TG_F32, 1, &n, 0.1);
    tg_tensor *s = tg_sum(x);
    cr_assert_float_eq(tg_item(s), 100000.0, 0.01, "got %.6f", tg_item(s));
    tg_free(x);
    reset_tape();
}

/* loss = sum(sum_axes(x, {1}) * w) on a (2,3): every x[i,j] reaches out[i],
 * so its gradient is w[i]. */
Test(reduce, sum_axes_gradient_broadcasts_back) {
    for (int d = 0; d < 2; d++) {
        for (int keepdim = 0; keepdim < 2; keepdim++) {
            tg_tensor *x = iota(dtypes[d], 2, (int64_t[]){2, 3}, true);
            tg_tensor *w = make(dtypes[d], keepdim + 1, keepdim ? (int64_t[]){2, 1} : (int64_t[]){2},
                                (double[]){2, -3});
            cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_sum_axes(x, 1, (int[]){1}, keepdim), w)), NULL), TG_OK);
            expect_tensor(tg_grad(x), dtypes[d], 2, (int64_t[]){2, 3}, (double[]){2, 2, 2, -3, -3, -3});
            tg_free(x);
            tg_free(w);
            reset_tape();
        }
    }
}

/* ======================= mean ======================= */

/* (2,3,2) iota over axes {0,2}: out[j] = (sum_{i,k} 6i + 2j + k) / 4
 *   = (12 + 8j + 2) / 4 = 3.5 + 2j -> 3.5, 5.5, 7.5. The mean of all is
 * (0 + ... + 11) / 12 = 5.5. */
Test(reduce, mean_over_axes_0_and_2) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 3, (int64_t[]){2, 3, 2}, false);
        double want[] = {3.5, 5.5, 7.5};
        expect_tensor(tg_mean_axes(x, 2, (int[]){0, 2}, false), dtypes[d], 1, (int64_t[]){3}, want);
        expect_tensor(tg_mean_axes(x, 2, (int[]){0, -1}, true), dtypes[d], 3, (int64_t[]){1, 3, 1}, want);
        expect_tensor(tg_mean(x), dtypes[d], 0, NULL, (double[]){5.5});
        tg_free(x);
        reset_tape();
    }
}

/* The gradient of mean over 4 elements is 1/4 at every element. */
Test(reduce, mean_gradient_is_one_over_count) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 3, (int64_t[]){2, 3, 2}, true);
        cr_assert_eq(tg_backward(tg_sum(tg_mean_axes(x, 2, (int[]){0, 2}, false)), NULL), TG_OK);
        double want[12];
        for (int i = 0; i < 12; i++) want[i] = 0.25;
        expect_tensor(tg_grad(x), dtypes[d], 3, (int64_t[]){2, 3, 2}, want);
        tg_zero_grad(x);
        cr_assert_eq(tg_backward(tg_mean(x), NULL), TG_OK); /* 1/12: compare with tolerance */
        for (int i = 0; i < 12; i++) cr_assert_float_eq(tg_get_flat(tg_grad(x), i), 1.0 / 12, 1e-7);
        tg_free(x);
        reset_tape();
    }
}

/* ======================= max ======================= */

/* [[1,3,3],[2,2,0]]: max over axis 1 is 3, 2 (ties don't matter for the
 * value); over axis 0 is 2, 3, 3; of all, 3. Negative values: the max of
 * [-3,-1,-2] is -1. */
Test(reduce, max_values_with_ties) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = make(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 3, 3, 2, 2, 0});
        expect_tensor(tg_max_axis(x, 1, false), dtypes[d], 1, (int64_t[]){2}, (double[]){3, 2});
        expect_tensor(tg_max_axis(x, -1, true), dtypes[d], 2, (int64_t[]){2, 1}, (double[]){3, 2});
        expect_tensor(tg_max_axis(x, 0, false), dtypes[d], 1, (int64_t[]){3}, (double[]){2, 3, 3});
        expect_tensor(tg_max(x), dtypes[d], 0, NULL, (double[]){3});
        tg_tensor *neg = make(dtypes[d], 1, (int64_t[]){3}, (double[]){-3, -1, -2});
        expect_tensor(tg_max(neg), dtypes[d], 0, NULL, (double[]){-1});
        tg_free(x);
        tg_free(neg);
        reset_tape();
    }
}

/* A NaN anywhere makes the max NaN (as numpy.max), whichever side of it the
 * larger numbers are: x = [[1, 9, 2, NaN, 3], [4, 5, 6, 7, 8]] has row maxima
 * NaN, 8 and column maxima 4, 9, 6, NaN, 8. */
Test(reduce, max_propagates_nan) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = make(dtypes[d], 2, (int64_t[]){2, 5}, (double[]){1, 9, 2, NAN, 3, 4, 5, 6, 7, 8});
        cr_assert(isnan(tg_item(tg_max(x))));
        tg_tensor *rows = tg_max_axis(x, 1, false), *cols = tg_max_axis(x, 0, false);
        cr_assert(isnan(tg_get_flat(rows, 0)));
        cr_assert_eq(tg_get_flat(rows, 1), 8);
        double want[] = {4, 9, 6, NAN, 8};
        for (int j = 0; j < 5; j++)
            cr_assert(j == 3 ? isnan(tg_get_flat(cols, j)) : tg_get_flat(cols, j) == want[j], "column %d: %g", j,
                      tg_get_flat(cols, j));
        tg_free(x);
        reset_tape();
    }
}

/* d/dx sum(max_axis(x, 1)) on [[1,3,3],[2,2,0]]: the gradient goes to the
 * first arg-max of each row: [[0,1,0],[1,0,0]]. Over axis 0 (columns 1 vs
 * 2, 3 vs 2, 3 vs 0): [[0,1,1],[1,0,0]]. */
Test(reduce, max_axis_gradient_goes_to_first_argmax) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 3, 3, 2, 2, 0});
        cr_assert_eq(tg_backward(tg_sum(tg_max_axis(x, 1, false)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, (int64_t[]){2, 3}, (double[]){0, 1, 0, 1, 0, 0});
        tg_zero_grad(x);
        cr_assert_eq(tg_backward(tg_sum(tg_max_axis(x, 0, true)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, (int64_t[]){2, 3}, (double[]){0, 1, 1, 1, 0, 0});
        tg_free(x);
        reset_tape();
    }
}

/* d/dx max(x) with the maximum 5 at flat positions 1 and 3: only position 1.
 * With a weight: loss = max(x) * 2 gives 2 there. */
Test(reduce, max_all_gradient_goes_to_first_argmax) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){1, 5, 0, 5});
        cr_assert_eq(tg_backward(tg_mul_scalar(tg_max(x), 2), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, (int64_t[]){2, 2}, (double[]){0, 2, 0, 0});
        tg_free(x);
        reset_tape();
    }
}

/* ======================= errors ======================= */

Test(reduce_errors, mean_and_max_of_nothing, .init = return_mode, .fini = abort_mode) {
    tg_tensor *x = tg_zeros(TG_F32, 2, (int64_t[]){2, 0});
    expect_error(tg_mean(x), TG_ERR_SHAPE, "tg_mean");
    expect_error(tg_max(x), TG_ERR_SHAPE, "tg_max");
    expect_error(tg_mean_axes(x, 1, (int[]){1}, false), TG_ERR_SHAPE, "tg_mean_axes");
    expect_error(tg_max_axis(x, 1, false), TG_ERR_SHAPE, "tg_max_axis");
    tg_tensor *r = tg_max_axis(x, 1, false);
    cr_assert(strstr(tg_last_error_message(), "(2,0)"), "message '%s' lacks the shape", tg_last_error_message());
    expect_error(r, TG_ERR_SHAPE, "tg_max_axis");
    tg_free(x);
    reset_tape();
}

Test(reduce_errors, axis_out_of_range_or_repeated, .init = return_mode, .fini = abort_mode) {
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    expect_error(tg_sum_axes(x, 1, (int[]){2}, false), TG_ERR_AXIS, "tg_sum_axes");
    expect_error(tg_mean_axes(x, 1, (int[]){-3}, false), TG_ERR_AXIS, "tg_mean_axes");
    expect_error(tg_sum_axes(x, 2, (int[]){1, -1}, false), TG_ERR_AXIS, "tg_sum_axes");
    expect_error(tg_max_axis(x, 2, false), TG_ERR_AXIS, "tg_max_axis");
    tg_tensor *s = tg_scalar(TG_F64, 1);
    expect_error(tg_max_axis(s, 0, false), TG_ERR_AXIS, "tg_max_axis");
    expect_error(tg_sum(NULL), TG_ERR_ARGUMENT, "tg_sum");
    tg_free(s);
    tg_free(x);
    reset_tape();
}
