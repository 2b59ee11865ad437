/* Tests of tg_where (ops/where.c): selected values in both dtypes, with
 * broadcasting, on the flat and the row-walking kernels and over the thread
 * pool; the unselected element never leaks (an -inf or NaN there gives no
 * NaN); gradients by hand, including to broadcast operands; the errors.
 * Expected values are the rule itself applied by hand (numpy.where's:
 * a where the condition is nonzero, NaN counting as nonzero). */
#include <math.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype both_dtypes[] = {TG_F32, TG_F64};

Test(ops_where, selects_a_where_the_mask_is_nonzero) {
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = both_dtypes[d];
        /* -1 and NaN are nonzero (numpy.where(nan, a, b) is a); -0 is zero. */
        tg_tensor *mask = make(dtype, 1, (int64_t[]){6}, (double[]){1, 0, -1, NAN, -0.0, 0.5});
        tg_tensor *a = make(dtype, 1, (int64_t[]){6}, (double[]){10, 11, 12, 13, 14, 15});
        tg_tensor *b = make(dtype, 1, (int64_t[]){6}, (double[]){20, 21, 22, 23, 24, 25});
        expect_tensor(tg_where(mask, a, b), dtype, 1, (int64_t[]){6}, (double[]){10, 21, 12, 13, 24, 15});
        tg_free(mask);
        tg_free(a);
        tg_free(b);
        reset_tape();
    }
}

/* The element not selected is not read into the result: -inf, +inf and NaN
 * there give exactly the other operand (a product with a 0/1 mask would
 * give NaN for the infinities and the NaN). */
Test(ops_where, an_unselected_inf_or_nan_does_not_leak) {
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = both_dtypes[d];
        tg_tensor *mask = make(dtype, 1, (int64_t[]){4}, (double[]){0, 0, 1, 1});
        tg_tensor *a = make(dtype, 1, (int64_t[]){4}, (double[]){-INFINITY, NAN, 2, 3});
        tg_tensor *b = make(dtype, 1, (int64_t[]){4}, (double[]){0, 0, INFINITY, 0});
        expect_tensor(tg_where(mask, a, b), dtype, 1, (int64_t[]){4}, (double[]){0, 0, 2, 3});
        tg_free(mask);
        tg_free(a);
        tg_free(b);
        reset_tape();
    }
}

/* mask (2,1), a (3), b rank 0: out (2,3); row 0 takes a, row 1 takes b. */
Test(ops_where, broadcasts_all_three_operands) {
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = both_dtypes[d];
        tg_tensor *mask = make(dtype, 2, (int64_t[]){2, 1}, (double[]){1, 0});
        tg_tensor *a = make(dtype, 1, (int64_t[]){3}, (double[]){1, 2, 3});
        tg_tensor *b = make(dtype, 0, NULL, (double[]){-7});
        expect_tensor(tg_where(mask, a, b), dtype, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, -7, -7, -7});
        /* mask along the last axis, a (2,1), b (2,3) */
        tg_tensor *column_mask = make(dtype, 1, (int64_t[]){3}, (double[]){0, 1, 0});
        tg_tensor *a2 = make(dtype, 2, (int64_t[]){2, 1}, (double[]){5, 6});
        tg_tensor *b2 = make(dtype, 2, (int64_t[]){2, 3}, (double[]){0, 1, 2, 3, 4, 5});
        expect_tensor(tg_where(column_mask, a2, b2), dtype, 2, (int64_t[]){2, 3}, (double[]){0, 5, 2, 3, 6, 5});
        /* all rank 0 */
        tg_tensor *one = make(dtype, 0, NULL, (double[]){1});
        expect_tensor(tg_where(one, b, one), dtype, 0, NULL, (double[]){-7});
        tg_free(mask);
        tg_free(a);
        tg_free(b);
        tg_free(column_mask);
        tg_free(a2);
        tg_free(b2);
        tg_free(one);
        reset_tape();
    }
}

/* Large enough to be split over the thread pool, on both kernels (all
 * operands full; a broadcast mask): every element against the rule. */
Test(ops_where, large_tensors_match_the_rule_elementwise) {
    const int64_t rows = 300, cols = 257, n = rows * cols;
    tg_rng rng = tg_rng_seeded(5);
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = both_dtypes[d];
        tg_tensor *noise = tg_rand_uniform(&rng, dtype, 2, (int64_t[]){rows, cols}, -1, 1);
        tg_tensor *a = tg_rand_uniform(&rng, dtype, 2, (int64_t[]){rows, cols}, -1, 1);
        tg_tensor *b = tg_rand_uniform(&rng, dtype, 2, (int64_t[]){rows, cols}, -1, 1);
        tg_tensor *row_noise = tg_rand_uniform(&rng, dtype, 2, (int64_t[]){rows, 1}, -1, 1);
        tg_tensor *mask = tg_gt_scalar(noise, 0.0), *row_mask = tg_gt_scalar(row_noise, 0.0);
        tg_tensor *full = tg_where(mask, a, b), *broadcast = tg_where(row_mask, a, b);
        for (int64_t i = 0; i < n; i++) {
            double want = tg_get_flat(noise, i) > 0 ? tg_get_flat(a, i) : tg_get_flat(b, i);
            cr_assert_eq(tg_get_flat(full, i), want, "%s full [%lld]", tg_dtype_name(dtype), (long long)i);
            want = tg_get_flat(row_noise, i / cols) > 0 ? tg_get_flat(a, i) : tg_get_flat(b, i);
            cr_assert_eq(tg_get_flat(broadcast, i), want, "%s broadcast [%lld]", tg_dtype_name(dtype), (long long)i);
        }
        tg_free(noise);
        tg_free(a);
        tg_free(b);
        tg_free(row_noise);
        reset_tape();
    }
}

/* L = sum(c * where(m, a, b)) with m (2,1) = (1, 0), a (2,3), b (3):
 * dL/da = c where m (row 0), 0 in row 1; dL/db = column sums of c over the
 * rows where m is 0 (row 1 only). The mask gets no gradient. */
Test(ops_where, gradients_go_to_the_selected_operand) {
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = both_dtypes[d];
        tg_tensor *mask = param(dtype, 2, (int64_t[]){2, 1}, (double[]){1, 0});
        tg_tensor *a = param(dtype, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        tg_tensor *b = param(dtype, 1, (int64_t[]){3}, (double[]){-1, -2, -3});
        tg_tensor *c = make(dtype, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        tg_tensor *loss = tg_sum(tg_mul(c, tg_where(mask, a, b)));
        cr_assert_eq(tg_item(loss), 1 + 4 + 9 - 4 - 10 - 18);
        cr_assert_eq(tg_backward(loss, NULL), TG_OK, "%s", tg_last_error_message());
        expect_values(tg_grad(a), (double[]){1, 2, 3, 0, 0, 0});
        expect_values(tg_grad(b), (double[]){4, 5, 6});
        cr_assert_null(tg_grad(mask), "the mask is a selector: no gradient");
        tg_free(mask);
        tg_free(a);
        tg_free(b);
        tg_free(c);
        reset_tape();
    }
}

/* The gradient at an unselected -inf is exactly 0, not NaN: the rule selects
 * g, it does not multiply anything by the -inf. */
Test(ops_where, the_gradient_at_an_unselected_infinity_is_zero) {
    tg_tensor *mask = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, 1});
    tg_tensor *a = param(TG_F64, 1, (int64_t[]){2}, (double[]){-INFINITY, 2});
    tg_tensor *b = param(TG_F64, 1, (int64_t[]){2}, (double[]){3, INFINITY});
    tg_tensor *loss = tg_sum(tg_where(mask, a, b));
    cr_assert_eq(tg_item(loss), 5.0);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    expect_values(tg_grad(a), (double[]){0, 1});
    expect_values(tg_grad(b), (double[]){1, 0});
    tg_free(mask);
    tg_free(a);
    tg_free(b);
    reset_tape();
}

Test(ops_where, refuses_mixed_dtypes_shapes_and_null, .init = return_mode, .fini = abort_mode) {
    tg_tensor *m64 = make(TG_F64, 1, (int64_t[]){3}, (double[]){1, 0, 1});
    tg_tensor *m32 = make(TG_F32, 1, (int64_t[]){3}, (double[]){1, 0, 1});
    tg_tensor *a = make(TG_F64, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    tg_tensor *b4 = make(TG_F64, 1, (int64_t[]){4}, (double[]){1, 2, 3, 4});
    tg_tensor *m4 = make(TG_F64, 2, (int64_t[]){4, 1}, (double[]){1, 0, 1, 0});
    expect_error(tg_where(m32, a, a), TG_ERR_DTYPE, "tg_where");
    expect_error(tg_where(m64, a, b4), TG_ERR_SHAPE, "tg_where");
    tg_tensor *out = tg_where(m4, a, a); /* (4,1) with (3): fine, (4,3) */
    expect_shape(out, 2, (int64_t[]){4, 3});
    expect_error(tg_where(b4, a, a), TG_ERR_SHAPE, "tg_where");
    expect_error(tg_where(NULL, a, a), TG_ERR_ARGUMENT, "tg_where");
    tg_free(m64);
    tg_free(m32);
    tg_free(a);
    tg_free(b4);
    tg_free(m4);
    reset_tape();
}
