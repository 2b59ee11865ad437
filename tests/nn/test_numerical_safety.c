/* tests/nn/test_numerical_safety.c — the ops and losses whose naive formulas
 * overflow (sigmoid, log, softmax, log_softmax, BCE on probabilities, BCE on
 * logits, softmax cross-entropy) stay finite, with their gradients, at
 * inputs of +-1000 and at probabilities of exactly 0 and 1, and reach the
 * right limits there, in float32 and float64.
 *
 * Expected values are the mathematical limits, worked by hand in each
 * comment: e^-1000 is 0 in both dtypes (it underflows below 4.9e-324), so
 * sigmoid(1000) = 1/(1 + e^-1000) = 1 exactly, and so on. BCE on
 * probabilities clamps each log term at -100, as PyTorch's BCELoss does. */
#include <math.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype dtypes[] = {TG_F32, TG_F64};

/* Every element of t is finite and within tol of want[i] (tol 0: exact). */
static void expect_near(const tg_tensor *t, const double *want, double tol, const char *what) {
    cr_assert_not_null(t, "%s: NULL (%s)", what, tg_last_error_message());
    for (int64_t i = 0; i < t->numel; i++) {
        double v = tg_get_flat(t, i);
        cr_assert(isfinite(v), "%s %s [%lld] is %g", what, tg_dtype_name(t->dtype), (long long)i, v);
        cr_assert(fabs(v - want[i]) <= tol, "%s %s [%lld] = %.17g, want %.17g (tol %g)", what,
                  tg_dtype_name(t->dtype), (long long)i, v, want[i], tol);
    }
}

/* The gradient of sum(seed * f(x)) at x, through tg_gradients. */
static tg_tensor *vjp(tg_tensor *y, tg_tensor *x, const double *seed_values) {
    tg_tensor *seed = tg_from_doubles(y->dtype, y->rank, y->shape, seed_values), *grad = NULL;
    cr_assert_eq(tg_gradients(y, seed, 1, &x, &grad, false), TG_OK, "%s", tg_last_error_message());
    tg_free(seed);
    return grad;
}

/* sigmoid(1000) = 1, sigmoid(-1000) = 0 (e^-1000 = 0), sigmoid(0) = 1/2;
 * gradient s (1 - s) = 0, 0, 1/4. */
Test(numerical_safety, sigmoid_saturates_to_exactly_0_and_1_with_gradient_0) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 1, (int64_t[]){3}, (double[]){1000, -1000, 0});
        tg_tensor *y = tg_sigmoid(x);
        expect_near(y, (double[]){1, 0, 0.5}, 0, "sigmoid");
        expect_near(vjp(y, x, (double[]){1, 1, 1}), (double[]){0, 0, 0.25}, 0, "d sigmoid");
        tg_free(x);
        reset_tape();
    }
}

/* log 1000 = 6.907755278982137, d/dx = 1/1000; log 1e-30 = -69.07755278982137,
 * d/dx = 1e30 (both representable in float32: its largest is 3.4e38). */
Test(numerical_safety, log_is_finite_far_from_0_and_at_tiny_positive_inputs) {
    for (int d = 0; d < 2; d++) {
        double rel = dtypes[d] == TG_F32 ? 1e-6 : 1e-15;
        tg_tensor *x = param(dtypes[d], 1, (int64_t[]){2}, (double[]){1000, 1e-30});
        tg_tensor *y = tg_log(x);
        expect_near(y, (double[]){6.907755278982137, -69.07755278982137}, 70 * rel, "log");
        tg_tensor *g = vjp(y, x, (double[]){1, 1});
        expect_near(g, (double[]){1e-3, 1e30}, 1e30 * rel, "d log");
        cr_assert(fabs(tg_get_flat(g, 0) - 1e-3) <= 1e-3 * rel);
        tg_free(x);
        reset_tape();
    }
}

/* softmax([1000, -1000]) = [1, 0] (e^-2000 = 0) and softmax([1000, 1000]) =
 * [1/2, 1/2]. With seed [1, 0], dx = y (seed - sum(seed y)): row 0 gives
 * [1 (1 - 1), 0 (0 - 1)] = [0, 0]; row 1 gives [1/2 (1 - 1/2), 1/2 (0 - 1/2)]
 * = [1/4, -1/4]. */
Test(numerical_safety, softmax_of_plus_minus_1000_is_exact_with_finite_gradient) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){1000, -1000, 1000, 1000});
        tg_tensor *y = tg_softmax(x, -1);
        expect_near(y, (double[]){1, 0, 0.5, 0.5}, 0, "softmax");
        expect_near(vjp(y, x, (double[]){1, 0, 1, 0}), (double[]){0, 0, 0.25, -0.25}, 0, "d softmax");
        tg_free(x);
        reset_tape();
    }
}

/* log_softmax([1000, 0]) = [0, -1000] (log(1 + e^-1000) = 0) and
 * log_softmax([-1000, 1000]) = [-2000, 0]. dx = seed - e^y sum(seed): with
 * seed [0, 1] on row 0, [0 - 1, 1 - 0] = [-1, 1]; with seed [1, 0] on row 1,
 * [1 - 0, 0 - 1] = [1, -1]. */
Test(numerical_safety, log_softmax_of_1000_and_0_is_0_and_minus_1000) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){1000, 0, -1000, 1000});
        tg_tensor *y = tg_log_softmax(x, 1);
        expect_near(y, (double[]){0, -1000, -2000, 0}, 0, "log_softmax");
        expect_near(vjp(y, x, (double[]){0, 1, 1, 0}), (double[]){-1, 1, 1, -1}, 0, "d log_softmax");
        tg_free(x);
        reset_tape();
    }
}

/* One logit per loss, so the mean divides by 1. softplus(z) - z y:
 * z = 1000, y = 0: 1000, gradient sigmoid(z) - y = 1;  z = 1000, y = 1: 0, 0;
 * z = -1000, y = 0: 0, 0;  z = -1000, y = 1: 1000, -1. */
Test(numerical_safety, bce_with_logits_at_plus_minus_1000_gives_1000_or_0_and_gradients_in_minus_1_1) {
    const double z[] = {1000, 1000, -1000, -1000}, y[] = {0, 1, 0, 1};
    const double loss_want[] = {1000, 0, 0, 1000}, grad_want[] = {1, 0, 0, -1};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++) {
            tg_tensor *logit = param(dtypes[d], 1, (int64_t[]){1}, &z[k]);
            tg_tensor *target = make(dtypes[d], 1, (int64_t[]){1}, &y[k]);
            tg_tensor *loss = tg_bce_with_logits_loss(logit, target);
            expect_near(loss, &loss_want[k], 0, "bce_with_logits");
            tg_tensor *g = vjp(loss, logit, (double[]){1});
            expect_near(g, &grad_want[k], 0, "d bce_with_logits");
            tg_free(logit);
            tg_free(target);
            reset_tape();
        }
}

/* BCE on probabilities at the ends, one element each (mean over 1), each log
 * term clamped at -100:
 *   p = 0, y = 0: -log(1 - 0) = 0;   d/dp = 1/(1 - p) = 1
 *   p = 0, y = 1: -max(log 0, -100) = 100;  d/dp = 0 (the clamp holds it)
 *   p = 1, y = 1: -log 1 = 0;        d/dp = -1/p = -1
 *   p = 1, y = 0: -max(log(1 - 1), -100) = 100;  d/dp = 0
 *   p = 1/2, y = 1: log 2 = 0.6931471805599453;  d/dp = -2 */
Test(numerical_safety, bce_at_probabilities_0_and_1_is_finite_and_clamped_at_100) {
    const double p[] = {0, 0, 1, 1, 0.5}, y[] = {0, 1, 1, 0, 1};
    const double loss_want[] = {0, 100, 0, 100, 0.6931471805599453}, grad_want[] = {1, 0, -1, 0, -2};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 5; k++) {
            double tol = dtypes[d] == TG_F32 ? 1e-6 : 1e-15;
            tg_tensor *prob = param(dtypes[d], 1, (int64_t[]){1}, &p[k]);
            tg_tensor *target = make(dtypes[d], 1, (int64_t[]){1}, &y[k]);
            tg_tensor *loss = tg_bce_loss(prob, target);
            expect_near(loss, &loss_want[k], tol, "bce");
            expect_near(vjp(loss, prob, (double[]){1}), &grad_want[k], 0, "d bce");
            tg_free(prob);
            tg_free(target);
            reset_tape();
        }
}

/* The clamp is at -100 exactly: a positive p below e^-100 = 3.7e-44 (1e-44, or 1e-300
 * in float64) costs 100 with gradient 0, like p = 0; p = e^-50 is inside and
 * costs 50 with gradient -e^50/1 (d/dp -log p). */
Test(numerical_safety, bce_clamps_tiny_positive_probabilities_at_100) {
    const double tiny[] = {1e-44, 1e-300};
    for (int d = 0; d < 2; d++) {
        tg_tensor *prob = param(dtypes[d], 1, (int64_t[]){2}, (double[]){tiny[d], exp(-50)});
        tg_tensor *target = make(dtypes[d], 1, (int64_t[]){2}, (double[]){1, 1});
        tg_tensor *loss = tg_bce_loss(prob, target);
        double tol = dtypes[d] == TG_F32 ? 1e-4 : 1e-13;
        expect_near(loss, (double[]){(100 + 50) / 2.0}, tol, "bce");
        tg_tensor *g = vjp(loss, prob, (double[]){1});
        cr_assert_eq(tg_get_flat(g, 0), 0.0);
        double want = -exp(50) / 2;
        cr_assert(fabs(tg_get_flat(g, 1) - want) <= fabs(want) * tol, "%.17g vs %.17g", tg_get_flat(g, 1), want);
        tg_free(prob);
        tg_free(target);
        reset_tape();
    }
}

/* The clamp does not hide bad input: a NaN p, a negative one and one above
 * 1 (whose loss would be NaN, as log's) are each refused, naming the value
 * and its index, instead of giving a NaN loss. */
Test(numerical_safety, bce_of_a_nan_or_out_of_range_probability_is_refused, .init = return_mode,
     .fini = abort_mode) {
    const double p[] = {NAN, -0.5, 1.5};
    const tg_status want[] = {TG_ERR_NUMERIC, TG_ERR_ARGUMENT, TG_ERR_ARGUMENT};
    const char *const value[] = {"got nan at index 1 of (2)", "got -0.5 at index 1 of (2)",
                                 "got 1.5 at index 1 of (2)"};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 3; k++) {
            tg_tensor *prob = make(dtypes[d], 1, (int64_t[]){2}, (double[]){0.5, p[k]});
            tg_tensor *target = make(dtypes[d], 1, (int64_t[]){2}, (double[]){1, 1});
            cr_assert_null(tg_bce_loss(prob, target), "%s p = %g", tg_dtype_name(dtypes[d]), p[k]);
            assert_error(want[k], "tg_bce_loss", value[k]);
            tg_free(prob);
            tg_free(target);
            reset_tape();
        }
}

/* bce(sigmoid(z)) at z = +-1000: p is exactly 1 or 0, so the loss is 0 where
 * the label agrees and 100 (the clamp) where it does not, and the gradient
 * at z is 0 in every case (sigmoid's s (1 - s) is 0 there). Mean over 4:
 * (0 + 100 + 100 + 0) / 4 = 50. */
Test(numerical_safety, bce_after_a_saturated_sigmoid_is_finite) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *z = param(dtypes[d], 1, (int64_t[]){4}, (double[]){1000, 1000, -1000, -1000});
        tg_tensor *y = make(dtypes[d], 1, (int64_t[]){4}, (double[]){1, 0, 1, 0});
        tg_tensor *loss = tg_bce_loss(tg_sigmoid(z), y);
        expect_near(loss, (double[]){50}, 0, "bce(sigmoid)");
        expect_near(vjp(loss, z, (double[]){1}), (double[]){0, 0, 0, 0}, 0, "d bce(sigmoid)");
        tg_free(z);
        tg_free(y);
        reset_tape();
    }
}

/* Softmax cross-entropy, logits [[1000, -1000], [-1000, 1000]], labels
 * [1, 1]: row 0 costs -log_softmax = 2000, row 1 costs 0; mean 1000.
 * Gradient (softmax - one_hot) / 2: row 0 [1 - 0, 0 - 1] / 2, row 1 0. */
Test(numerical_safety, softmax_cross_entropy_with_logits_of_plus_minus_1000_is_finite) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *logits = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){1000, -1000, -1000, 1000});
        tg_tensor *labels = make(dtypes[d], 1, (int64_t[]){2}, (double[]){1, 1});
        tg_tensor *loss = tg_cross_entropy_loss(logits, labels);
        expect_near(loss, (double[]){1000}, 0, "cross_entropy");
        expect_near(vjp(loss, logits, (double[]){1}), (double[]){0.5, -0.5, 0, 0}, 0, "d cross_entropy");
        tg_free(logits);
        tg_free(labels);
        reset_tape();
    }
}

/* The stable forms make no intermediate Inf or NaN at all: every loss above,
 * at its extreme inputs, runs through forward and backward with anomaly
 * mode on (which stops at the first op whose output is not finite). */
Test(numerical_safety, the_extreme_cases_pass_anomaly_mode, .init = return_mode) {
    tg_set_anomaly_detection(true);
    for (int d = 0; d < 2; d++) {
        tg_tensor *z = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){1000, -1000, -1000, 1000});
        tg_tensor *p = param(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){0, 1, 0, 1});
        tg_tensor *y = make(dtypes[d], 2, (int64_t[]){2, 2}, (double[]){0, 1, 1, 0});
        tg_tensor *labels = make(dtypes[d], 1, (int64_t[]){2}, (double[]){1, 0});
        tg_tensor *losses[] = {
            tg_bce_loss(p, y), tg_bce_loss(tg_sigmoid(z), y), tg_bce_with_logits_loss(z, y),
            tg_cross_entropy_loss(z, labels), tg_sum(tg_softmax(z, -1)), tg_sum(tg_log_softmax(z, -1)),
        };
        for (int k = 0; k < 6; k++) {
            cr_assert_not_null(losses[k], "%s loss %d: %s", tg_dtype_name(dtypes[d]), k, tg_last_error_message());
            cr_assert_eq(tg_backward(losses[k], NULL), TG_OK, "%s loss %d: %s", tg_dtype_name(dtypes[d]), k,
                         tg_last_error_message());
        }
        cr_assert_eq(tg_item(losses[0]), 50.0, "(0 + 0 + 100 + 100) / 4");
        tg_free(z);
        tg_free(p);
        tg_free(y);
        tg_free(labels);
        reset_tape();
    }
    tg_set_anomaly_detection(false);
    abort_mode();
}
