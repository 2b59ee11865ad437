/* tests/core/test_anomaly.c — anomaly mode (tape.h): off by default and per
 * thread; when on, the first op whose forward makes a NaN or Inf fails with
 * TG_ERR_NUMERIC naming it, its shapes, the offending index and value and
 * its place on the tape; in backward, the first rule that makes one stops
 * the walk naming the op whose backward it is. Off, the same computations
 * give their non-finite values silently. Expected values by hand: log(-1) is
 * NaN; sqrt(0) = 0 with d/dx sqrt = 1/(2 sqrt x) = inf at 0. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* Each test starts in return mode on an empty tape, and leaves anomaly mode
 * off whatever it did. */
static void setup(void) {
    return_mode();
    reset_tape();
}
static void teardown(void) {
    tg_set_anomaly_detection(false);
    abort_mode();
    reset_tape();
}

/* The last error's message contains every fragment in `fragments` (NULL-ended). */
static void assert_message_has(const char *const *fragments) {
    for (int i = 0; fragments[i]; i++)
        cr_assert_not_null(strstr(tg_last_error_message(), fragments[i]), "message '%s' does not mention '%s'",
                           tg_last_error_message(), fragments[i]);
}

Test(anomaly, is_off_by_default_and_the_setter_returns_the_previous_setting, .init = setup, .fini = teardown) {
    cr_assert_not(tg_is_anomaly_detection_enabled());
    cr_assert_not(tg_set_anomaly_detection(true));
    cr_assert(tg_is_anomaly_detection_enabled());
    cr_assert(tg_set_anomaly_detection(true));
    cr_assert(tg_set_anomaly_detection(false));
    cr_assert_not(tg_is_anomaly_detection_enabled());
}

/* log of [[1, 2, -1], [4, 5, 6]]: element 2 is NaN; x requires a gradient,
 * so log would have been the tape's first node (position 0). */
Test(anomaly, log_of_a_negative_number_names_tg_log_its_shape_and_the_index, .init = setup, .fini = teardown) {
    const tg_dtype dtypes[] = {TG_F64, TG_F32};
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = param(dtypes[d], 2, (int64_t[]){2, 3}, (double[]){1, 2, -1, 4, 5, 6});
        tg_set_anomaly_detection(true);
        cr_assert_null(tg_log(x));
        cr_assert_eq(tg_last_error(), TG_ERR_NUMERIC, "%s", tg_last_error_message());
        char output[64];
        snprintf(output, sizeof output, "output %s (2,3) holds nan at index 2", tg_dtype_name(dtypes[d]));
        assert_message_has((const char *[]){"tg_log: anomaly mode", output, "inputs ", "(2,3)",
                                            "the input was finite", "tape position 0 (after 0 recorded nodes)",
                                            NULL});
        cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), 0, "the failed op is not recorded");
        tg_clear_error();
        tg_set_anomaly_detection(false);
        tg_free(x);
        reset_tape();
    }
}

/* A value that is already infinite: exp(inf) = inf, and the report says the
 * input held it (so exp is not the culprit). x needs no gradient: exp is not
 * recorded, and the message says so. One op is already on the tape. */
Test(anomaly, an_input_that_was_already_non_finite_is_named, .init = setup, .fini = teardown) {
    tg_tensor *w = param(TG_F64, 1, (int64_t[]){1}, (double[]){3});
    cr_assert_not_null(tg_mul(w, w));
    tg_tensor *x = make(TG_F64, 1, (int64_t[]){3}, (double[]){0, INFINITY, 1});
    tg_set_anomaly_detection(true);
    cr_assert_null(tg_exp(x));
    cr_assert_eq(tg_last_error(), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_exp:", "holds inf at index 1", "input 0 already held inf at index 1",
                                        "not recorded", "1 nodes on the tape", NULL});
    tg_free(w);
    tg_free(x);
}

/* A binary op lists both inputs: 1 / [0, 2] broadcast from a (1) and a (2). */
Test(anomaly, a_binary_op_lists_both_inputs, .init = setup, .fini = teardown) {
    tg_tensor *one = make(TG_F32, 1, (int64_t[]){1}, (double[]){1});
    tg_tensor *x = param(TG_F32, 1, (int64_t[]){2}, (double[]){0, 2});
    tg_set_anomaly_detection(true);
    cr_assert_null(tg_div(one, x));
    assert_message_has((const char *[]){"tg_div:", "holds inf at index 0", "inputs float32 (1), float32 (2)",
                                        "the inputs were all finite", NULL});
    tg_free(one);
    tg_free(x);
}

/* concat of five (1) tensors, the last holding inf: the list of inputs is
 * cut after four, and the report points at input 4. */
Test(anomaly, a_long_input_list_is_cut_after_four, .init = setup, .fini = teardown) {
    tg_tensor *parts[5];
    for (int i = 0; i < 5; i++) parts[i] = make(TG_F64, 1, (int64_t[]){1}, (double[]){i < 4 ? i : INFINITY});
    tg_set_anomaly_detection(true);
    cr_assert_null(tg_concat(5, parts, 0));
    assert_message_has((const char *[]){"tg_concat:", "output float64 (5) holds inf at index 4",
                                        "inputs float64 (1), float64 (1), float64 (1), float64 (1), ... (5 in all)",
                                        "input 4 already held inf at index 0", NULL});
    for (int i = 0; i < 5; i++) tg_free(parts[i]);
}

/* sqrt at [0, 4]: the forward is finite ([0, 2]), so no op fails; the
 * gradient of sum(sqrt(x)) is 1/(2 sqrt x) = [inf, 0.25]. sqrt is tape node
 * 0 and sum node 1, of 2. The walk stops before x's gradient is touched. */
Test(anomaly, a_nan_made_only_in_backward_names_the_rule_of_sqrt, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){2}, (double[]){0, 4});
    tg_set_anomaly_detection(true);
    tg_tensor *y = tg_sqrt(x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    cr_assert_eq(tg_get_flat(y, 0), 0.0);
    cr_assert_eq(tg_get_flat(y, 1), 2.0);
    tg_tensor *loss = tg_sum(y);
    cr_assert_not_null(loss);
    cr_assert_eq(tg_backward(loss, NULL), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_backward: anomaly mode: backward of op 'sqrt' (tape node 0 of 2) "
                                        "produced inf in the gradient of input 0, float64 (2), at index 0, "
                                        "where input 0 is 0",
                                        NULL});
    cr_assert_null(tg_grad(x), "the walk stopped before reaching x");
    cr_assert(tg_is_anomaly_detection_enabled(), "the mode is back on after the rule ran");
    tg_free(x);
}

Test(anomaly, tg_gradients_reports_under_its_own_name, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F32, 1, (int64_t[]){2}, (double[]){4, 0});
    tg_set_anomaly_detection(true);
    tg_tensor *loss = tg_sum(tg_sqrt(x)), *grad = NULL;
    cr_assert_not_null(loss);
    cr_assert_eq(tg_gradients(loss, NULL, 1, &x, &grad, false), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_gradients: anomaly mode: backward of op 'sqrt'",
                                        "inf in the gradient of input 0, float32 (2), at index 1", NULL});
    tg_free(x);
}

/* log at [0.5, 0]: forward gives -inf at index 1 — caught there, before
 * any backward. With log of [0.5, 2] and a seed holding NaN, the seed is
 * refused. */
Test(anomaly, a_non_finite_seed_is_refused, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){2}, (double[]){0.5, 2});
    tg_tensor *seed = make(TG_F64, 1, (int64_t[]){2}, (double[]){1, NAN});
    tg_set_anomaly_detection(true);
    tg_tensor *y = tg_log(x);
    cr_assert_not_null(y);
    cr_assert_eq(tg_backward(y, seed), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_backward: anomaly mode: the seed gradient holds nan at index 1", NULL});
    tg_free(x);
    tg_free(seed);
}

/* Off, the same computations return their non-finite values and no error:
 * log(-1) = NaN, and the gradient of sum(sqrt(x)) at x = 0 is inf. */
Test(anomaly, off_the_same_computations_are_silently_non_finite, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){2}, (double[]){-1, 0});
    tg_tensor *y = tg_log(x);
    cr_assert_not_null(y);
    cr_assert(isnan(tg_get_flat(y, 0)));
    cr_assert_eq(tg_get_flat(y, 1), -INFINITY);
    tg_tensor *z = tg_sqrt(tg_abs(x)); /* [1, 0] */
    cr_assert_eq(tg_backward(tg_sum(z), NULL), TG_OK);
    cr_assert_eq(tg_get_flat(tg_grad(x), 0), -0.5, "d/dx sqrt|x| = sign(x)/(2 sqrt|x|) at -1");
    cr_assert(isnan(tg_get_flat(tg_grad(x), 1)), "inf * sign(0) = inf * 0 = NaN");
    cr_assert_eq(tg_last_error(), TG_OK);
    tg_free(x);
}

/* On, log(-1) fails; off again, the same call returns NaN as before. */
Test(anomaly, turning_it_off_restores_the_previous_behaviour, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F32, 1, (int64_t[]){1}, (double[]){-1});
    tg_set_anomaly_detection(true);
    cr_assert_null(tg_log(x));
    assert_error(TG_ERR_NUMERIC, "tg_log", "nan");
    cr_assert(tg_set_anomaly_detection(false));
    tg_tensor *y = tg_log(x);
    cr_assert_not_null(y);
    cr_assert(isnan(tg_get_flat(y, 0)));
    cr_assert_eq(tg_last_error(), TG_OK);
    tg_free(x);
}

/* Finite work is untouched: y = sum(sigmoid(x) * x) at x = [-2, 0, 3] with
 * the mode on gives the same value and gradient, bit for bit, as off
 * (d/dx = s + x s (1 - s)). */
Test(anomaly, finite_computations_are_unchanged, .init = setup, .fini = teardown) {
    double value[2], grad[2][3];
    for (int on = 0; on < 2; on++) {
        tg_tensor *x = param(TG_F64, 1, (int64_t[]){3}, (double[]){-2, 0, 3});
        tg_set_anomaly_detection(on);
        tg_tensor *y = tg_sum(tg_mul(tg_sigmoid(x), x));
        cr_assert_not_null(y, "%s", tg_last_error_message());
        value[on] = tg_item(y);
        cr_assert_eq(tg_backward(y, NULL), TG_OK, "%s", tg_last_error_message());
        for (int i = 0; i < 3; i++) grad[on][i] = tg_get_flat(tg_grad(x), i);
        tg_free(x);
        reset_tape();
    }
    cr_assert_eq(value[0], value[1]);
    for (int i = 0; i < 3; i++) cr_assert_eq(grad[0][i], grad[1][i]);
    cr_assert_eq(grad[1][1], 0.5, "at 0: s = 1/2, x s (1 - s) = 0");
}

static void *read_mode_in_thread(void *result) {
    *(bool *)result = tg_is_anomaly_detection_enabled();
    return NULL;
}

Test(anomaly, the_mode_is_per_thread_and_new_threads_start_with_it_off, .init = setup, .fini = teardown) {
    tg_set_anomaly_detection(true);
    bool in_thread = true;
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, read_mode_in_thread, &in_thread), 0);
    pthread_join(thread, NULL);
    cr_assert_not(in_thread);
    cr_assert(tg_is_anomaly_detection_enabled());
}

/* In the default error mode an anomaly stops the program, at the op. */
Test(anomaly, in_abort_mode_an_anomaly_aborts, .signal = SIGABRT) {
    hide_expected_abort_message();
    tg_tensor *x = tg_scalar(TG_F64, -1);
    tg_set_anomaly_detection(true);
    tg_log(x);
}

/* d/dx sum(1e308 * x) = 1e308 per element, finite (x = 0 keeps the forward
 * finite too). A second backward without tg_zero_grad adds it again: 2e308
 * overflows to inf in the leaf's grad, which is a plain loop, not an op, so
 * only this check can see it. */
Test(anomaly, an_overflow_in_a_leaf_gradient_sum_names_the_leaf_shape, .init = setup, .fini = teardown) {
    tg_tensor *w = param(TG_F64, 2, (int64_t[]){2, 3}, (double[]){0, 0, 0, 0, 0, 0});
    tg_set_anomaly_detection(true);
    cr_assert_eq(tg_backward(tg_sum(tg_mul_scalar(w, 1e308)), NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_get_flat(tg_grad(w), 0), 1e308);
    reset_tape();
    cr_assert_eq(tg_backward(tg_sum(tg_mul_scalar(w, 1e308)), NULL), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_backward: anomaly mode: the gradient of a float64 (2,3) leaf became inf "
                                        "at index 0",
                                        "overflowed", NULL});
    tg_free(w);
}

/* A grad made non-finite while the mode was off (sqrt's rule at 0) is
 * named when a later backward in anomaly mode adds to it, even though that
 * backward's own gradients are finite. */
Test(anomaly, a_leaf_gradient_already_non_finite_is_named, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){2}, (double[]){4, 0});
    cr_assert_eq(tg_backward(tg_sum(tg_sqrt(x)), NULL), TG_OK);
    cr_assert(isinf(tg_get_flat(tg_grad(x), 1)));
    reset_tape();
    tg_set_anomaly_detection(true);
    cr_assert_eq(tg_backward(tg_sum(x), NULL), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"tg_backward: anomaly mode: the gradient of a float64 (2) leaf already held "
                                        "inf at index 1 before this backward",
                                        NULL});
    tg_free(x);
}

/* The output itself a persistent leaf: the walk is one accumulation. */
Test(anomaly, a_leaf_differentiated_by_itself_is_checked, .init = setup, .fini = teardown) {
    tg_tensor *x = param(TG_F64, 0, NULL, (double[]){1e308});
    tg_tensor *seed = make(TG_F64, 0, NULL, (double[]){1e308});
    tg_set_anomaly_detection(true);
    cr_assert_eq(tg_backward(x, seed), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_backward(x, seed), TG_ERR_NUMERIC);
    assert_message_has((const char *[]){"float64 () leaf became inf at index 0", NULL});
    tg_free(x);
    tg_free(seed);
}
