/* tests/ops/test_shape.c — the broadcasting ops (expand, sum_to) and the shape
 * ops (reshape, transpose, permute, slice, pad, concat, to_dtype): forward
 * values, gradients through tg_backward, and error reports.
 *
 * Expected values are worked by hand in the comments. Many tests fill x with
 * 0, 1, 2, ... in row-major order ("iota"), so that x[i,j,k] of a (2,3,4) is
 * 12i + 4j + k and an output element names the input element it came from.
 * Every forward test runs in float32 and float64; the values are small
 * integers or halves, exact in both. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype dtypes[] = {TG_F32, TG_F64};

/* ======================= expand ======================= */

/* (3,1) -> (2,3,4): out[i,j,k] = x[j], so each block of 4 repeats x[j],
 * and the block of 12 repeats twice. */
Test(shape, expand_3x1_to_2x3x4) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {3, 1}, os[] = {2, 3, 4};
        double xv[] = {1, 2, 3};
        tg_tensor *x = make(dtypes[d], 2, xs, xv);
        double want[24];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++) want[12 * i + 4 * j + k] = xv[j];
        expect_tensor(tg_expand(x, 3, os), dtypes[d], 3, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* (1,3) -> (2,3): the row repeats; () -> (2,2): the scalar fills it. */
Test(shape, expand_row_and_scalar) {
    for (int d = 0; d < 2; d++) {
        int64_t rs[] = {1, 3}, os[] = {2, 3}, ss[] = {2, 2};
        double rv[] = {1, 2, 3};
        tg_tensor *row = make(dtypes[d], 2, rs, rv);
        tg_tensor *s = tg_scalar(dtypes[d], 2.5);
        expect_tensor(tg_expand(row, 2, os), dtypes[d], 2, os, (double[]){1, 2, 3, 1, 2, 3});
        expect_tensor(tg_expand(s, 2, ss), dtypes[d], 2, ss, (double[]){2.5, 2.5, 2.5, 2.5});
        tg_free(row);
        tg_free(s);
        reset_tape();
    }
}

/* Equal shapes are a valid expand: a copy. (2,1,3) -> (2,4,3) broadcasts a
 * middle axis: out[i,j,k] = x[i,0,k]. */
Test(shape, expand_same_shape_and_middle_axis) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 1, 3}, os[] = {2, 4, 3};
        tg_tensor *x = iota(dtypes[d], 3, xs, false);
        expect_tensor(tg_expand(x, 3, xs), dtypes[d], 3, xs, (double[]){0, 1, 2, 3, 4, 5});
        double want[24];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++) want[12 * i + 3 * j + k] = 3 * i + k;
        expect_tensor(tg_expand(x, 3, os), dtypes[d], 3, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* d/dx sum(expand(x)) counts the copies of each element: 2*4 = 8. */
Test(shape, expand_gradient_counts_copies) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {3, 1}, os[] = {2, 3, 4};
        tg_tensor *x = param(dtypes[d], 2, xs, (double[]){1, 2, 3});
        cr_assert_eq(tg_backward(tg_sum(tg_expand(x, 3, os)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, xs, (double[]){8, 8, 8});
        tg_free(x);
        reset_tape();
    }
}

/* ======================= sum_to ======================= */

/* (2,3,4) -> (3,1): out[j] = sum_{i,k} (12i + 4j + k)
 *   = 4*12*(0+1) + 8*4j + 2*(0+1+2+3) = 60 + 32j -> 60, 92, 124 (total 276). */
Test(shape, sum_to_2x3x4_to_3x1) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3, 4}, os[] = {3, 1};
        tg_tensor *x = iota(dtypes[d], 3, xs, false);
        expect_tensor(tg_sum_to(x, 2, os), dtypes[d], 2, os, (double[]){60, 92, 124});
        tg_free(x);
        reset_tape();
    }
}

/* x = [[0,1,2],[3,4,5]]: to (3) column sums 3,5,7; to (2,1) row sums 3,12;
 * to () the total 15; to (2,3) itself. */
Test(shape, sum_to_columns_rows_total_and_same) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3}, cs[] = {3}, rs[] = {2, 1};
        tg_tensor *x = iota(dtypes[d], 2, xs, false);
        expect_tensor(tg_sum_to(x, 1, cs), dtypes[d], 1, cs, (double[]){3, 5, 7});
        expect_tensor(tg_sum_to(x, 2, rs), dtypes[d], 2, rs, (double[]){3, 12});
        expect_tensor(tg_sum_to(x, 0, NULL), dtypes[d], 0, NULL, (double[]){15});
        expect_tensor(tg_sum_to(x, 2, xs), dtypes[d], 2, xs, (double[]){0, 1, 2, 3, 4, 5});
        tg_free(x);
        reset_tape();
    }
}

/* loss = sum(sum_to(x, (3,1)) * w): every x[i,j,k] reaches out[j], so its
 * gradient is w[j]. */
Test(shape, sum_to_gradient_broadcasts_back) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3, 4}, os[] = {3, 1};
        tg_tensor *x = iota(dtypes[d], 3, xs, true);
        tg_tensor *w = make(dtypes[d], 2, os, (double[]){1, 10, 100});
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_sum_to(x, 2, os), w)), NULL), TG_OK);
        double want[24];
        for (int i = 0; i < 24; i++) want[i] = (double[]){1, 10, 100}[(i / 4) % 3];
        expect_tensor(tg_grad(x), dtypes[d], 3, xs, want);
        tg_free(x);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= reshape ======================= */

/* (2,3) -> (3,-1) infers (3,2); the elements keep their row-major order. */
Test(shape, reshape_infers_minus_one) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3}, req[] = {3, -1}, os[] = {3, 2}, flat[] = {-1};
        tg_tensor *x = iota(dtypes[d], 2, xs, false);
        expect_tensor(tg_reshape(x, 2, req), dtypes[d], 2, os, (double[]){0, 1, 2, 3, 4, 5});
        expect_tensor(tg_reshape(x, 1, flat), dtypes[d], 1, (int64_t[]){6}, (double[]){0, 1, 2, 3, 4, 5});
        tg_tensor *one = tg_scalar(dtypes[d], 7);
        expect_tensor(tg_reshape(one, 3, (int64_t[]){1, 1, 1}), dtypes[d], 3, (int64_t[]){1, 1, 1}, (double[]){7});
        expect_tensor(tg_reshape(tg_reshape(one, 1, (int64_t[]){1}), 0, NULL), dtypes[d], 0, NULL, (double[]){7});
        tg_free(x);
        tg_free(one);
        reset_tape();
    }
}

/* A size-0 tensor reshapes into any shape of 0 elements, and -1 can be
 * inferred next to non-zero sizes: 0 elements into (5,-1) is (5,0). */
Test(shape, reshape_empty) {
    int64_t xs[] = {0, 3};
    tg_tensor *x = tg_zeros(TG_F64, 2, xs);
    expect_shape(tg_reshape(x, 2, (int64_t[]){3, 0}), 2, (int64_t[]){3, 0});
    expect_shape(tg_reshape(x, 2, (int64_t[]){5, -1}), 2, (int64_t[]){5, 0});
    tg_free(x);
    reset_tape();
}

/* loss = sum(reshape(x) * w): the gradient is w in x's shape. */
Test(shape, reshape_gradient_is_reshaped_back) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3}, os[] = {3, 2};
        tg_tensor *x = iota(dtypes[d], 2, xs, true);
        tg_tensor *w = make(dtypes[d], 2, os, (double[]){1, 2, 3, 4, 5, 6});
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_reshape(x, 2, os), w)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, xs, (double[]){1, 2, 3, 4, 5, 6});
        tg_free(x);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= permute / transpose ======================= */

/* (2,3,4) by {2,0,1} -> (4,2,3): out[a,b,c] = x[b,c,a] = 12b + 4c + a.
 * Spot values: out[0,0,*] = 0,4,8; out[0,1,*] = 12,16,20; out[1,0,2] = 9;
 * out[3,1,0] = 15. */
Test(shape, permute_2x3x4_by_201) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3, 4}, os[] = {4, 2, 3};
        tg_tensor *x = iota(dtypes[d], 3, xs, false);
        double want[24];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 3; c++) want[6 * a + 3 * b + c] = 12 * b + 4 * c + a;
        cr_assert_eq(want[0 * 6 + 1 * 3 + 0], 12);
        cr_assert_eq(want[1 * 6 + 0 * 3 + 2], 9);
        cr_assert_eq(want[3 * 6 + 1 * 3 + 0], 15);
        tg_tensor *y = tg_permute(x, (int[]){2, 0, 1});
        expect_tensor(y, dtypes[d], 3, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* (2,3,4) by {1,0,2} keeps the last axis: rows of 4 move whole.
 * out[a,b,:] = x[b,a,:] = 12b + 4a + (0..3). Negative axes are accepted:
 * {-2,-3,-1} is the same permutation. */
Test(shape, permute_keeping_last_axis) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3, 4}, os[] = {3, 2, 4};
        tg_tensor *x = iota(dtypes[d], 3, xs, false);
        double want[24];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 4; c++) want[8 * a + 4 * b + c] = 12 * b + 4 * a + c;
        expect_tensor(tg_permute(x, (int[]){1, 0, 2}), dtypes[d], 3, os, want);
        expect_tensor(tg_permute(x, (int[]){-2, -3, -1}), dtypes[d], 3, os, want);
        expect_tensor(tg_permute(x, (int[]){0, 1, 2}), dtypes[d], 3, xs, (double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                                                   12, 13, 14, 15, 16, 17, 18, 19, 20,
                                                                                   21, 22, 23});
        tg_free(x);
        reset_tape();
    }
}

/* [[1,2,3],[4,5,6]]^T = [[1,4],[2,5],[3,6]]; on (2,2,3) each matrix is
 * transposed: the second is [[7,10],[8,11],[9,12]]. */
Test(shape, transpose_swaps_last_two_axes) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3}, os[] = {3, 2}, bs[] = {2, 2, 3}, bos[] = {2, 3, 2};
        double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        tg_tensor *x = make(dtypes[d], 2, xs, v), *b = make(dtypes[d], 3, bs, v);
        expect_tensor(tg_transpose(x), dtypes[d], 2, os, (double[]){1, 4, 2, 5, 3, 6});
        expect_tensor(tg_transpose(b), dtypes[d], 3, bos, (double[]){1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12});
        tg_free(x);
        tg_free(b);
        reset_tape();
    }
}

/* Size-1 axes: (2,1,3) by {1,0,2} is (1,2,3) with the same order. */
Test(shape, permute_with_size_one_axes) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 1, 3}, os[] = {1, 2, 3};
        tg_tensor *x = iota(dtypes[d], 3, xs, false);
        expect_tensor(tg_permute(x, (int[]){1, 0, 2}), dtypes[d], 3, os, (double[]){0, 1, 2, 3, 4, 5});
        tg_free(x);
        reset_tape();
    }
}

/* loss = sum(permute(x, {2,0,1}) * w) with w[a,b,c] = 12b + 4c + a (the
 * permuted iota): the gradient at x[i,j,k] is w[k,i,j] = 12i + 4j + k, i.e.
 * iota again in x's shape. */
Test(shape, permute_gradient_uses_inverse) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3, 4}, os[] = {4, 2, 3};
        tg_tensor *x = iota(dtypes[d], 3, xs, true);
        double wv[24], want[24];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 3; c++) wv[6 * a + 3 * b + c] = 12 * b + 4 * c + a;
        for (int i = 0; i < 24; i++) want[i] = i;
        tg_tensor *w = make(dtypes[d], 3, os, wv);
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_permute(x, (int[]){2, 0, 1}), w)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 3, xs, want);
        tg_free(x);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= slice / pad ======================= */

/* x = [[1,2,3],[4,5,6]]: columns [1,3) = [[2,3],[5,6]]; rows [1,2) =
 * [[4,5,6]]; an empty range [1,1) gives shape (2,0); axis -1 = axis 1. */
Test(shape, slice_values) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3};
        tg_tensor *x = make(dtypes[d], 2, xs, (double[]){1, 2, 3, 4, 5, 6});
        expect_tensor(tg_slice(x, 1, 1, 3), dtypes[d], 2, (int64_t[]){2, 2}, (double[]){2, 3, 5, 6});
        expect_tensor(tg_slice(x, -1, 0, 1), dtypes[d], 2, (int64_t[]){2, 1}, (double[]){1, 4});
        expect_tensor(tg_slice(x, 0, 1, 2), dtypes[d], 2, (int64_t[]){1, 3}, (double[]){4, 5, 6});
        expect_shape(tg_slice(x, 1, 1, 1), 2, (int64_t[]){2, 0});
        expect_tensor(tg_slice(x, 1, 0, 3), dtypes[d], 2, xs, (double[]){1, 2, 3, 4, 5, 6});
        tg_free(x);
        reset_tape();
    }
}

/* d/dx sum(slice(x, axis 1, [1,3))) is 1 inside the slice, 0 outside. */
Test(shape, slice_gradient_is_one_inside_zero_outside) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 3};
        tg_tensor *x = param(dtypes[d], 2, xs, (double[]){1, 2, 3, 4, 5, 6});
        cr_assert_eq(tg_backward(tg_sum(tg_slice(x, 1, 1, 3)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, xs, (double[]){0, 1, 1, 0, 1, 1});
        tg_free(x);
        reset_tape();
    }
}

/* [[1,2],[3,4]] padded along axis 1 by 1 before and 2 after:
 * [[0,1,2,0,0],[0,3,4,0,0]]; along axis 0 by 1 after: [[1,2],[3,4],[0,0]]. */
Test(shape, pad_values) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 2};
        tg_tensor *x = make(dtypes[d], 2, xs, (double[]){1, 2, 3, 4});
        expect_tensor(tg_pad(x, 1, 1, 2), dtypes[d], 2, (int64_t[]){2, 5}, (double[]){0, 1, 2, 0, 0, 0, 3, 4, 0, 0});
        expect_tensor(tg_pad(x, 0, 0, 1), dtypes[d], 2, (int64_t[]){3, 2}, (double[]){1, 2, 3, 4, 0, 0});
        expect_tensor(tg_pad(x, -2, 0, 0), dtypes[d], 2, xs, (double[]){1, 2, 3, 4});
        tg_free(x);
        reset_tape();
    }
}

/* loss = sum(pad(x) * w): x[i,j] sits at column j+1 of the padded tensor,
 * so its gradient is w[i,j+1]. */
Test(shape, pad_gradient_is_the_slice_where_x_was) {
    for (int d = 0; d < 2; d++) {
        int64_t xs[] = {2, 2}, os[] = {2, 5};
        tg_tensor *x = param(dtypes[d], 2, xs, (double[]){1, 2, 3, 4});
        tg_tensor *w = make(dtypes[d], 2, os, (double[]){10, 11, 12, 13, 14, 20, 21, 22, 23, 24});
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_pad(x, 1, 1, 2), w)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 2, xs, (double[]){11, 12, 21, 22});
        tg_free(x);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= concat ======================= */

/* a (2,1) [[1],[2]], b (2,2) [[3,4],[5,6]], c (2,3) [[7,8,9],[10,11,12]]
 * along axis 1: [[1,3,4,7,8,9],[2,5,6,10,11,12]]. */
Test(shape, concat_three_along_axis_1) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *a = make(dtypes[d], 2, (int64_t[]){2, 1}, (double[]){1, 2});
        tg_tensor *b = make(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){3, 4, 5, 6});
        tg_tensor *c = make(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){7, 8, 9, 10, 11, 12});
        tg_tensor *parts[] = {a, b, c};
        double want[] = {1, 3, 4, 7, 8, 9, 2, 5, 6, 10, 11, 12};
        expect_tensor(tg_concat(3, parts, 1), dtypes[d], 2, (int64_t[]){2, 6}, want);
        expect_tensor(tg_concat(3, parts, -1), dtypes[d], 2, (int64_t[]){2, 6}, want);
        tg_free(a);
        tg_free(b);
        tg_free(c);
        reset_tape();
    }
}

/* Along axis 0 the blocks stack: [[1,2]] ; [[3,4],[5,6]] -> 3 rows. One
 * tensor alone is a copy. */
Test(shape, concat_along_axis_0_and_single) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *a = make(dtypes[d], 2, (int64_t[]){1, 2}, (double[]){1, 2});
        tg_tensor *b = make(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){3, 4, 5, 6});
        tg_tensor *parts[] = {a, b};
        expect_tensor(tg_concat(2, parts, 0), dtypes[d], 2, (int64_t[]){3, 2}, (double[]){1, 2, 3, 4, 5, 6});
        expect_tensor(tg_concat(1, parts + 1, 0), dtypes[d], 2, (int64_t[]){2, 2}, (double[]){3, 4, 5, 6});
        tg_free(a);
        tg_free(b);
        reset_tape();
    }
}

/* loss = sum(concat(a, b, c; axis 1) * w) with w = [[1..6],[7..12]]:
 * a gets column 0 of w, c (a constant) nothing, b columns 1..2. */
Test(shape, concat_gradient_slices_per_input) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *a = param(dtypes[d], 2, (int64_t[]){2, 1}, (double[]){1, 2});
        tg_tensor *b = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){3, 4, 5, 6});
        tg_tensor *c = make(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){7, 8, 9, 10, 11, 12});
        tg_tensor *w = make(dtypes[d], 2, (int64_t[]){2, 6}, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        tg_tensor *parts[] = {a, b, c};
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_concat(3, parts, 1), w)), NULL), TG_OK);
        expect_tensor(tg_grad(a), dtypes[d], 2, (int64_t[]){2, 1}, (double[]){1, 7});
        expect_tensor(tg_grad(b), dtypes[d], 2, (int64_t[]){2, 2}, (double[]){2, 3, 8, 9});
        cr_assert_null(tg_grad(c));
        tg_free(a);
        tg_free(b);
        tg_free(c);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= to_dtype ======================= */

/* float64 -> float32 -> float64: 1.5 and -2.25 are exact in float32 and
 * come back unchanged; 0.1 comes back as the float32 nearest to 0.1. */
Test(shape, to_dtype_round_trip) {
    tg_tensor *x = make(TG_F64, 1, (int64_t[]){3}, (double[]){0.1, 1.5, -2.25});
    tg_tensor *f = tg_to_dtype(x, TG_F32);
    expect_tensor(f, TG_F32, 1, (int64_t[]){3}, (double[]){(double)0.1f, 1.5, -2.25});
    tg_tensor *back = tg_to_dtype(f, TG_F64);
    expect_tensor(back, TG_F64, 1, (int64_t[]){3}, (double[]){(double)0.1f, 1.5, -2.25});
    expect_tensor(tg_to_dtype(back, TG_F64), TG_F64, 1, (int64_t[]){3}, (double[]){(double)0.1f, 1.5, -2.25});
    tg_free(x);
    reset_tape();
}

/* loss = sum(to_dtype(x, other) * w): the gradient is w, converted back to
 * x's dtype. */
Test(shape, to_dtype_gradient_converts_back) {
    for (int d = 0; d < 2; d++) {
        tg_dtype other = dtypes[1 - d];
        tg_tensor *x = param(dtypes[d], 1, (int64_t[]){3}, (double[]){1, 2, 3});
        tg_tensor *w = make(other, 1, (int64_t[]){3}, (double[]){0.5, -1, 4});
        cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_to_dtype(x, other), w)), NULL), TG_OK);
        expect_tensor(tg_grad(x), dtypes[d], 1, (int64_t[]){3}, (double[]){0.5, -1, 4});
        tg_free(x);
        tg_free(w);
        reset_tape();
    }
}

/* ======================= errors ======================= */

Test(shape_errors, bad_reshape_names_both_shapes, .init = return_mode, .fini = abort_mode) {
    int64_t xs[] = {2, 3};
    tg_tensor *x = tg_zeros(TG_F32, 2, xs);
    tg_tensor *r = tg_reshape(x, 2, (int64_t[]){4, 2});
    cr_assert(strstr(tg_last_error_message(), "(2,3)") && strstr(tg_last_error_message(), "(4,2)"),
              "message '%s' lacks the shapes", tg_last_error_message());
    expect_error(r, TG_ERR_SHAPE, "tg_reshape");
    expect_error(tg_reshape(x, 2, (int64_t[]){-1, -1}), TG_ERR_SHAPE, "tg_reshape");
    expect_error(tg_reshape(x, 2, (int64_t[]){4, -1}), TG_ERR_SHAPE, "tg_reshape");
    expect_error(tg_reshape(x, 2, (int64_t[]){-2, 3}), TG_ERR_SHAPE, "tg_reshape");
    expect_error(tg_reshape(x, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 6}), TG_ERR_SHAPE, "tg_reshape");
    expect_error(tg_reshape(NULL, 1, (int64_t[]){6}), TG_ERR_ARGUMENT, "tg_reshape");
    tg_free(x);
    reset_tape();
}

Test(shape_errors, axis_out_of_range, .init = return_mode, .fini = abort_mode) {
    int64_t xs[] = {2, 3};
    tg_tensor *x = tg_zeros(TG_F64, 2, xs);
    tg_tensor *parts[] = {x, x};
    expect_error(tg_slice(x, 2, 0, 1), TG_ERR_AXIS, "tg_slice");
    expect_error(tg_slice(x, -3, 0, 1), TG_ERR_AXIS, "tg_slice");
    expect_error(tg_pad(x, 5, 1, 1), TG_ERR_AXIS, "tg_pad");
    expect_error(tg_concat(2, parts, 2), TG_ERR_AXIS, "tg_concat");
    tg_tensor *s = tg_scalar(TG_F64, 1);
    expect_error(tg_slice(s, 0, 0, 1), TG_ERR_AXIS, "tg_slice");
    tg_free(s);
    tg_free(x);
    reset_tape();
}

Test(shape_errors, bad_permutation, .init = return_mode, .fini = abort_mode) {
    int64_t xs[] = {2, 3, 4};
    tg_tensor *x = tg_zeros(TG_F32, 3, xs);
    expect_error(tg_permute(x, (int[]){0, 0, 1}), TG_ERR_AXIS, "tg_permute");
    expect_error(tg_permute(x, (int[]){0, 1, 3}), TG_ERR_AXIS, "tg_permute");
    expect_error(tg_permute(x, NULL), TG_ERR_ARGUMENT, "tg_permute");
    tg_tensor *v = tg_zeros(TG_F32, 1, (int64_t[]){3});
    expect_error(tg_transpose(v), TG_ERR_SHAPE, "tg_transpose");
    tg_free(v);
    tg_free(x);
    reset_tape();
}

Test(shape_errors, slice_and_pad_out_of_range, .init = return_mode, .fini = abort_mode) {
    int64_t xs[] = {2, 3};
    tg_tensor *x = tg_zeros(TG_F64, 2, xs);
    expect_error(tg_slice(x, 1, 2, 4), TG_ERR_ARGUMENT, "tg_slice");
    expect_error(tg_slice(x, 1, -1, 2), TG_ERR_ARGUMENT, "tg_slice");
    expect_error(tg_slice(x, 1, 2, 1), TG_ERR_ARGUMENT, "tg_slice");
    expect_error(tg_pad(x, 0, -1, 0), TG_ERR_ARGUMENT, "tg_pad");
    tg_free(x);
    reset_tape();
}

Test(shape_errors, concat_mismatches, .init = return_mode, .fini = abort_mode) {
    tg_tensor *a = tg_zeros(TG_F32, 2, (int64_t[]){2, 3});
    tg_tensor *b = tg_zeros(TG_F32, 2, (int64_t[]){3, 3});
    tg_tensor *c = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    tg_tensor *v = tg_zeros(TG_F32, 1, (int64_t[]){2});
    expect_error(tg_concat(2, (tg_tensor *[]){a, b}, 1), TG_ERR_SHAPE, "tg_concat");
    expect_error(tg_concat(2, (tg_tensor *[]){a, v}, 0), TG_ERR_SHAPE, "tg_concat");
    expect_error(tg_concat(2, (tg_tensor *[]){a, c}, 0), TG_ERR_DTYPE, "tg_concat");
    expect_error(tg_concat(0, (tg_tensor *[]){a}, 0), TG_ERR_ARGUMENT, "tg_concat");
    expect_error(tg_concat(2, (tg_tensor *[]){a, NULL}, 0), TG_ERR_ARGUMENT, "tg_concat");
    /* along axis 0, (2,3) and (3,3) do fit */
    expect_shape(tg_concat(2, (tg_tensor *[]){a, b}, 0), 2, (int64_t[]){5, 3});
    tg_free(a);
    tg_free(b);
    tg_free(c);
    tg_free(v);
    reset_tape();
}

Test(shape_errors, expand_and_sum_to_mismatches, .init = return_mode, .fini = abort_mode) {
    tg_tensor *x = tg_zeros(TG_F32, 2, (int64_t[]){3, 2});
    expect_error(tg_expand(x, 2, (int64_t[]){4, 5}), TG_ERR_SHAPE, "tg_expand");
    expect_error(tg_expand(x, 1, (int64_t[]){2}), TG_ERR_SHAPE, "tg_expand");
    expect_error(tg_sum_to(x, 1, (int64_t[]){3}), TG_ERR_SHAPE, "tg_sum_to");
    expect_error(tg_sum_to(x, 3, (int64_t[]){1, 3, 2}), TG_ERR_SHAPE, "tg_sum_to");
    expect_error(tg_to_dtype(x, (tg_dtype)7), TG_ERR_DTYPE, "tg_to_dtype");
    tg_free(x);
    reset_tape();
}

/* ---- shapes whose strides overflow (issue 21, item 11) ---- */

Test(shape_errors, zero_size_with_huge_others_is_refused, .init = return_mode, .fini = abort_mode) {
    /* No element, but the strides (2^62 * 2^62 for axis 0) overflow int64_t;
     * the same sizes in the other order were already refused. */
    const int64_t g = (int64_t)1 << 62;
    cr_assert_null(tg_zeros(TG_F32, 3, (int64_t[]){0, g, g}));
    assert_error(TG_ERR_MEMORY, "tg_zeros", "(0,4611686018427387904,4611686018427387904)");
    cr_assert_null(tg_zeros(TG_F32, 3, (int64_t[]){g, g, 0}));
    assert_error(TG_ERR_MEMORY, "tg_zeros", "(4611686018427387904,4611686018427387904,0)");
    /* Large but fitting sizes beside a zero stay allowed. */
    tg_tensor *ok = tg_zeros(TG_F64, 3, (int64_t[]){0, (int64_t)1 << 30, (int64_t)1 << 30});
    cr_assert_not_null(ok, "%s", tg_last_error_message());
    cr_assert_eq(ok->numel, 0);
    cr_assert_eq(ok->strides[0], (int64_t)1 << 60);
    tg_free(ok);
}

Test(shape_errors, op_output_with_a_zero_size_and_overflowing_strides, .init = return_mode,
     .fini = abort_mode) {
    /* Sizes below 2^31 each, as the quick check on the recording path
     * accepts them, whose product (2^31-1)^3 overflows: the element count is
     * 0 but the strides are not. */
    tg_tensor *x = tg_zeros(TG_F32, 1, (int64_t[]){0});
    const int64_t m = ((int64_t)1 << 31) - 1;
    cr_assert_null(tg_reshape(x, 4, (int64_t[]){0, m, m, m}));
    assert_error(TG_ERR_MEMORY, "tg_reshape", "(0,2147483647,2147483647,2147483647)");
    tg_free(x);
    reset_tape();
}

Test(shape_errors, pad_to_overflowing_strides, .init = return_mode, .fini = abort_mode) {
    /* (0,1,1) padded by 2^40 on axes 1 and 2: (0, 2^40+1, 2^40+1), whose
     * strides overflow; the first pad alone fits. */
    tg_tensor *x = tg_zeros(TG_F32, 3, (int64_t[]){0, 1, 1});
    const int64_t p = (int64_t)1 << 40;
    tg_tensor *once = tg_pad(x, 1, p, 0);
    cr_assert_not_null(once, "%s", tg_last_error_message());
    cr_assert_eq(once->shape[1], p + 1);
    cr_assert_null(tg_pad(once, 2, 0, p));
    assert_error(TG_ERR_MEMORY, "tg_pad", "(0,1099511627777,1099511627777)");
    tg_free(x);
    reset_tape();
}
