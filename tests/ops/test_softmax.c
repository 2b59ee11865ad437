/* tests/ops/test_softmax.c — tg_softmax and tg_log_softmax: values along any
 * axis, stability at +-1000, gradients and errors.
 *
 * Expected values are computed here independently: exp(x) / sum exp(x) in
 * long double straight from the definition (no max subtracted, so only for
 * moderate inputs), or worked by hand in the comments for extreme inputs.
 * Finite-difference gradchecks of every op live in tests/core. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ops/op_internal.h" /* the fused backward ops: tgi_softmax_grad, tgi_relu_grad, ... */
#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- helpers --------------------------------------------------------------- */

static tg_tensor *filled(tg_dtype dtype, int rank, const int64_t *shape, uint64_t seed, double scale) {
    tg_tensor *t = tg_zeros(dtype, rank, shape);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < t->numel; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        tg_set_flat(t, i, scale * ((double)(state >> 11) / (double)(1ull << 52) - 1.0));
    }
    return t;
}

static void assert_values(const tg_tensor *t, const double *expected, double tol, const char *what) {
    cr_assert_not_null(t, "%s: NULL result (%s)", what, tg_last_error_message());
    for (int64_t i = 0; i < t->numel; i++) {
        double v = tg_get_flat(t, i);
        cr_assert(isfinite(v), "%s: element %lld is %g", what, (long long)i, v);
        cr_assert(fabs(v - expected[i]) <= tol, "%s: element %lld is %.17g, expected %.17g (tol %.3g)", what,
                  (long long)i, v, expected[i], tol);
    }
}

/* softmax (or log_softmax) of x along `axis` from the definition, into out
 * (x->numel doubles). x viewed as (outer, len, inner) around the axis. */
static void reference(const tg_tensor *x, int axis, bool log_form, double *out) {
    int64_t outer = 1, len = x->shape[axis], inner = 1;
    for (int d = 0; d < axis; d++) outer *= x->shape[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->shape[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            long double total = 0;
            for (int64_t j = 0; j < len; j++) total += expl((long double)tg_get_flat(x, (o * len + j) * inner + i));
            for (int64_t j = 0; j < len; j++) {
                long double xj = tg_get_flat(x, (o * len + j) * inner + i);
                out[(o * len + j) * inner + i] = (double)(log_form ? xj - logl(total) : expl(xj) / total);
            }
        }
}

static void check_against_reference(tg_dtype dtype, int rank, const int64_t *shape, int axis, double scale,
                                    const char *what) {
    tg_tensor *x = filled(dtype, rank, shape, 7 + (uint64_t)axis, scale);
    int positive = axis < 0 ? axis + rank : axis;
    double *expected = malloc(sizeof(double) * (size_t)x->numel);
    double tol = dtype == TG_F32 ? 2e-7 : 1e-15;
    reference(x, positive, false, expected);
    tg_tensor *y = tg_softmax(x, axis);
    cr_assert(y && tg_same_shape(x, y) && y->dtype == dtype, "%s: shape/dtype", what);
    assert_values(y, expected, tol, what);
    reference(x, positive, true, expected);
    assert_values(tg_log_softmax(x, axis), expected, dtype == TG_F32 ? 2e-6 : 1e-14, what);
    free(expected);
    tg_free(x);
}

/* ---- forward values ---------------------------------------------------------- */

/* Rows of a (2,3) input along the last axis: each row sums to 1 and equals
 * exp(x) / sum exp(x). Row 0 = [1,2,3]: e^1, e^2, e^3 over their sum =
 * 0.09003057317038046, 0.24472847105479767, 0.6652409557748219. */
Test(softmax, rows_sum_to_one_and_match_the_definition) {
    const int64_t s[2] = {2, 3};
    const double xv[6] = {1, 2, 3, -1, 0, 0.5};
    for (int dt = 0; dt < 2; dt++) {
        tg_dtype dtype = dt ? TG_F64 : TG_F32;
        double tol = dt ? 1e-15 : 1e-7;
        tg_tensor *x = tg_from_doubles(dtype, 2, s, xv);
        tg_tensor *y = tg_softmax(x, -1);
        const double row0[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
        cr_assert_not_null(y, "%s", tg_last_error_message());
        for (int j = 0; j < 3; j++)
            cr_assert(fabs(tg_get_flat(y, j) - row0[j]) <= tol, "row 0, element %d: %.17g, expected %.17g", j,
                      tg_get_flat(y, j), row0[j]);
        double expected[6];
        reference(x, 1, false, expected);
        assert_values(y, expected, tol, "softmax rows");
        for (int r = 0; r < 2; r++) {
            double sum = 0;
            for (int j = 0; j < 3; j++) sum += tg_get_flat(y, r * 3 + j);
            cr_assert(fabs(sum - 1.0) <= 4 * tol, "row %d sums to %.17g", r, sum);
        }
        tg_free(x);
    }
}

/* The same (2,3) input along axis 0 normalizes columns: column j of the
 * result is softmax([x(0,j), x(1,j)]), e.g. column 0 = softmax([1, -1]) =
 * [1/(1+e^-2), 1/(1+e^2)] = [0.8807970779778823, 0.11920292202211755]. */
Test(softmax, axis_zero_normalizes_columns) {
    const int64_t s[2] = {2, 3};
    const double xv[6] = {1, 2, 3, -1, 0, 0.5};
    tg_tensor *x = tg_from_doubles(TG_F64, 2, s, xv);
    tg_tensor *by_column = tg_softmax(x, 0), *by_row = tg_softmax(x, 1);
    cr_assert_not_null(by_column);
    cr_assert(fabs(tg_get_flat(by_column, 0) - 0.8807970779778823) <= 1e-15);
    cr_assert(fabs(tg_get_flat(by_column, 3) - 0.11920292202211755) <= 1e-15);
    double expected[6];
    reference(x, 0, false, expected);
    assert_values(by_column, expected, 1e-15, "softmax axis 0");
    reference(x, 1, false, expected);
    assert_values(by_row, expected, 1e-15, "softmax axis 1");
    cr_assert(fabs(tg_get_flat(by_column, 0) - tg_get_flat(by_row, 0)) > 0.5, "axes 0 and 1 must differ");
    tg_free(x);
}

/* Every axis of a rank-3 tensor, including a middle axis with more than 64
 * trailing elements (the kernel's block of independent rows). */
Test(softmax, every_axis_of_a_rank_3_tensor) {
    const int64_t s[3] = {3, 5, 130};
    for (int dt = 0; dt < 2; dt++)
        for (int axis = -3; axis < 3; axis++)
            check_against_reference(dt ? TG_F64 : TG_F32, 3, s, axis, 4.0, "rank 3");
}

/* With the max subtracted nothing overflows:
 *   log_softmax([1000, 0]) = [0 - log(1 + e^-1000), -1000 - log(1 + e^-1000)] = [0, -1000]
 *   softmax([1000, -1000]) = [1, e^-2000] = [1, 0];  softmax([-1000, -1000]) = [0.5, 0.5]. */
Test(softmax, extreme_inputs_stay_finite) {
    const int64_t s[1] = {2};
    const double big[2] = {1000, 0}, spread[2] = {1000, -1000}, low[2] = {-1000, -1000};
    for (int dt = 0; dt < 2; dt++) {
        tg_dtype dtype = dt ? TG_F64 : TG_F32;
        tg_tensor *a = tg_from_doubles(dtype, 1, s, big), *b = tg_from_doubles(dtype, 1, s, spread);
        tg_tensor *c = tg_from_doubles(dtype, 1, s, low);
        const double log_expected[2] = {0, -1000}, one_zero[2] = {1, 0}, halves[2] = {0.5, 0.5};
        assert_values(tg_log_softmax(a, 0), log_expected, 1e-12, "log_softmax([1000, 0])");
        assert_values(tg_softmax(b, -1), one_zero, 0.0, "softmax([1000, -1000])");
        assert_values(tg_softmax(c, 0), halves, 0.0, "softmax([-1000, -1000])");
        const double log_halves[2] = {-0.69314718055994531, -0.69314718055994531};
        assert_values(tg_log_softmax(c, 0), log_halves, 1e-7, "log_softmax([-1000, -1000])");
        tg_free(a);
        tg_free(b);
        tg_free(c);
    }
}

/* ---- gradients --------------------------------------------------------------- */

/* Both rules checked against the Jacobian written out in the test:
 *   softmax:      dx_k = sum_j g_j y_j ([j == k] - y_k)
 *   log_softmax:  dx_k = sum_j g_j ([j == k] - s_k),  s = softmax(x). */
Test(softmax, backward_matches_the_jacobian) {
    const int64_t s[2] = {2, 4};
    for (int log_form = 0; log_form < 2; log_form++)
        for (int axis = 0; axis < 2; axis++) {
            tg_tensor *x = filled(TG_F64, 2, s, 71, 2.0), *g = filled(TG_F64, 2, s, 72, 1.0);
            tg_set_requires_grad(x, true);
            tg_tensor *y = log_form ? tg_log_softmax(x, axis) : tg_softmax(x, axis);
            cr_assert_eq(tg_backward(y, g), TG_OK, "%s", tg_last_error_message());
            double soft[8], expected[8] = {0};
            reference(x, axis, false, soft);
            /* index of element j of the row through flat index k along `axis` */
            for (int64_t k = 0; k < 8; k++) {
                int64_t row = axis == 1 ? k / 4 : k % 4, pos = axis == 1 ? k % 4 : k / 4;
                int64_t len = axis == 1 ? 4 : 2;
                for (int64_t j = 0; j < len; j++) {
                    int64_t fj = axis == 1 ? row * 4 + j : j * 4 + row;
                    double delta = j == pos ? 1.0 : 0.0;
                    double gj = tg_get_flat(g, fj);
                    expected[k] += log_form ? gj * (delta - soft[k]) : gj * soft[fj] * (delta - soft[k]);
                }
            }
            assert_values(tg_grad(x), expected, 1e-15, log_form ? "log_softmax backward" : "softmax backward");
            tg_free(x);
            tg_free(g);
        }
}

/* Second derivatives through the fused backward ops (softmax_grads.c): the
 * gradient of sum(w * softmax(x)) (or log_softmax), itself recorded with
 * create_graph, is differentiated again and checked against finite
 * differences of that gradient by tg_gradcheck. */
typedef struct second_ctx {
    bool log_form;
    int axis;
    tg_tensor *w;
} second_ctx;

static tg_tensor *first_gradient(tg_tensor *const *inputs, int n, void *opaque) {
    (void)n;
    const second_ctx *c = opaque;
    tg_tensor *x = inputs[0];
    tg_tensor *y = c->log_form ? tg_log_softmax(x, c->axis) : tg_softmax(x, c->axis);
    tg_tensor *first = NULL;
    if (tg_gradients(tg_sum(tg_mul(y, c->w)), NULL, 1, &x, &first, true) != TG_OK) return NULL;
    return tg_mul(first, first); /* a nonlinear use, so that d/dy of the rule matters too */
}

Test(softmax, second_derivatives_through_the_fused_backward_ops) {
    const int64_t s[3] = {2, 3, 2};
    for (int log_form = 0; log_form < 2; log_form++)
        for (int axis = 0; axis < 3; axis++) {
            second_ctx c = {log_form, axis, filled(TG_F64, 3, s, 81, 1.0)};
            tg_tensor *x = filled(TG_F64, 3, s, 82, 2.0);
            tg_gradcheck_result r;
            cr_assert_eq(tg_gradcheck(first_gradient, &c, 1, &x, NULL, &r), TG_OK, "%s", tg_last_error_message());
            char text[256];
            cr_assert(r.passed, "%s axis %d: %s", log_form ? "log_softmax" : "softmax", axis,
                      tg_gradcheck_describe(&r, text, sizeof text));
            tg_free(x);
            tg_free(c.w);
        }
}

/* The fused rules give the values of the rules they replaced, written with
 * primitive ops, on a batch of rows as wide as a small vocabulary. */
Test(softmax, fused_backward_equals_the_composed_rule) {
    const int64_t s[2] = {7, 300};
    for (int run = 0; run < 4; run++) {
        bool log_form = run & 1;
        tg_dtype dtype = run < 2 ? TG_F64 : TG_F32;
        tg_tensor *x = filled(dtype, 2, s, 91, 3.0), *g = filled(dtype, 2, s, 92, 1.0);
        tg_set_requires_grad(x, true);
        tg_tensor *y = log_form ? tg_log_softmax(x, 1) : tg_softmax(x, 1);
        cr_assert_eq(tg_backward(y, g), TG_OK, "%s", tg_last_error_message());
        tg_set_grad_enabled(false);
        int axis = 1;
        tg_tensor *composed =
            log_form ? tg_sub(g, tg_mul(tg_exp(y), tg_sum_axes(g, 1, &axis, true)))
                     : tg_mul(y, tg_sub(g, tg_sum_axes(tg_mul(g, y), 1, &axis, true)));
        tg_set_grad_enabled(true);
        double *want = malloc(sizeof(double) * (size_t)composed->numel);
        for (int64_t i = 0; i < composed->numel; i++) want[i] = tg_get_flat(composed, i);
        /* float32: the sums are rounded to float at different points */
        assert_values(tg_grad(x), want, dtype == TG_F64 ? 1e-15 : 1e-6, log_form ? "log_softmax" : "softmax");
        free(want);
        reset_tape();
        tg_free(x);
        tg_free(g);
    }
}

/* ---- errors ------------------------------------------------------------------ */

Test(softmax_errors, axis_out_of_range, .init = return_mode, .fini = abort_mode) {
    const int64_t s[2] = {2, 3};
    tg_tensor *x = tg_zeros(TG_F32, 2, s);
    cr_assert_null(tg_softmax(x, 2));
    cr_assert_eq(tg_last_error(), TG_ERR_AXIS);
    cr_assert(strstr(tg_last_error_message(), "tg_softmax: axis 2") == tg_last_error_message(), "message: %s",
              tg_last_error_message());
    cr_assert_null(tg_log_softmax(x, -3));
    cr_assert_eq(tg_last_error(), TG_ERR_AXIS);
    cr_assert(strstr(tg_last_error_message(), "tg_log_softmax: axis -3") == tg_last_error_message(), "message: %s",
              tg_last_error_message());
    tg_free(x);
}

/* A scalar has no axis to normalize over. */
Test(softmax_errors, rank_zero_is_refused, .init = return_mode, .fini = abort_mode) {
    tg_tensor *x = tg_scalar(TG_F64, 3.0);
    cr_assert_null(tg_softmax(x, 0));
    cr_assert_eq(tg_last_error(), TG_ERR_AXIS);
    cr_assert(strncmp(tg_last_error_message(), "tg_softmax: ", 12) == 0, "message: %s", tg_last_error_message());
    cr_assert_null(tg_log_softmax(x, -1));
    cr_assert_eq(tg_last_error(), TG_ERR_AXIS);
    tg_free(x);
}

/* The fused backward ops (softmax's and the activations' rules, internal)
 * check their operands under their own names: the gradient and the tensor
 * must agree in shape and dtype, and the axis must lie in [0, rank). */
Test(softmax_errors, fused_backward_ops_refuse_mismatched_operands, .init = return_mode, .fini = abort_mode) {
    const int64_t s23[2] = {2, 3}, s32[2] = {3, 2};
    tg_tensor *g = tg_zeros(TG_F32, 2, s23), *y = tg_zeros(TG_F32, 2, s32), *g64 = tg_zeros(TG_F64, 2, s23);
    cr_assert_null(tgi_softmax_grad(g, y, 1));
    assert_error(TG_ERR_SHAPE, "tgi_softmax_grad", "the gradient has shape (2,3) but the output has shape (3,2)");
    cr_assert_null(tgi_log_softmax_grad(g, g, 2));
    assert_error(TG_ERR_AXIS, "tgi_log_softmax_grad", "axis 2 outside 0..1");
    cr_assert_null(tgi_relu_grad(g, y));
    assert_error(TG_ERR_SHAPE, "tgi_relu_grad", "the gradient has shape (2,3) but the tensor has shape (3,2)");
    cr_assert_null(tgi_tanh_grad(g, g64));
    assert_error(TG_ERR_DTYPE, "tgi_tanh_grad", "dtypes differ");
    tg_free(g);
    tg_free(y);
    tg_free(g64);
}
