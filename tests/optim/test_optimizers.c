/* tests/optim/test_optimizers.c — the update rules (first three steps worked
 * by hand from PyTorch's documented formulas), the object's behaviour, the
 * constructors' checks, gradient clipping, and five steps of every optimizer
 * against torch.optim itself when PyTorch is installed.
 *
 * Unless a test says otherwise the parameter is w = [1, -2] and its gradient
 * is set by running backward on sum(c * w), whose gradient is c. Every rule
 * runs in float64 (expected values to 1e-12) and float32 (to 2e-6: float32
 * arithmetic rounds each operation to ~6e-8 relative). The expected values'
 * extra digits came from evaluating the same arithmetic in double. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype dtypes[] = {TG_F32, TG_F64};

static tg_tensor *pair(tg_dtype dtype, double a, double b) {
    return param(dtype, 1, (const int64_t[]){2}, (const double[]){a, b});
}

static double tolerance(tg_dtype dtype) { return dtype == TG_F32 ? 2e-6 : 1e-12; }

static void expect_close(const tg_tensor *w, const double *expected, const char *what, int step) {
    for (int64_t k = 0; k < w->numel; k++) {
        double got = tg_get_flat(w, k), want = expected[k];
        cr_assert(fabs(got - want) <= tolerance(w->dtype) * fmax(1, fabs(want)),
                  "%s, %s, step %d, element %lld: got %.17g, expected %.17g", what, tg_dtype_name(w->dtype), step,
                  (long long)k, got, want);
    }
}

/* Three steps of `config` from w = [1, -2] with gradients grads[t], in both
 * dtypes, compared with expected[t] after each step. */
static void check_three_steps(const char *what, const tg_optimizer_config *config, const double grads[3][2],
                              const double expected[3][2]) {
    for (size_t d = 0; d < 2; d++) {
        tg_tensor *w = pair(dtypes[d], 1, -2);
        tg_optimizer *opt = tg_optimizer_new(1, &w, config);
        cr_assert_not_null(opt, "%s", tg_last_error_message());
        for (int t = 0; t < 3; t++) {
            set_grad(w, grads[t]);
            cr_assert_eq(tg_optimizer_step(opt), TG_OK);
            expect_close(w, expected[t], what, t + 1);
        }
        cr_assert_eq(tg_optimizer_step_count(opt), 3);
        tg_optimizer_free(opt);
        tg_free(w);
        reset_tape();
    }
}

static tg_optimizer_config config_of(tg_optimizer_kind kind, double lr) {
    tg_optimizer_config c = tg_optimizer_defaults(kind);
    c.lr = lr;
    return c;
}

/* The constant gradient of most tests. */
#define C {0.5, -1}

/* ======================= SGD family ======================= */

Test(optim_sgd, plain_sgd_subtracts_lr_times_the_gradient) {
    /* W <- W - 0.1 c, c = [0.5, -1]: each step adds [-0.05, +0.1].
     *   [1, -2] -> [0.95, -1.9] -> [0.90, -1.8] -> [0.85, -1.7] */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.95, -1.9}, {0.9, -1.8}, {0.85, -1.7}};
    tg_optimizer_config c = config_of(TG_OPT_SGD, 0.1);
    check_three_steps("sgd", &c, grads, expected);
}

Test(optim_sgd, plain_sgd_is_bitwise_the_seeds_formula) {
    /* tg_sgd_new must stay exactly W <- W - lr * dW in the parameter's dtype
     * (the seeds' worked example depends on it), so compare bits. */
    const double values[4] = {0.3, -1.7, 2.25, 1e-3}, grads[4] = {0.1, 0.7, -3.3, 5.5};
    for (size_t d = 0; d < 2; d++) {
        tg_tensor *w = param(dtypes[d], 1, (const int64_t[]){4}, values);
        tg_optimizer *opt = tg_sgd_new(1, &w, 0.01);
        cr_assert_not_null(opt);
        for (int t = 0; t < 3; t++) {
            set_grad(w, grads);
            tg_tensor *before = tg_clone(w);
            cr_assert_eq(tg_optimizer_step(opt), TG_OK);
            for (int64_t k = 0; k < 4; k++) {
                if (dtypes[d] == TG_F32) {
                    float want = tg_data_f32(before)[k] - 0.01f * (float)grads[k];
                    cr_assert_eq(memcmp(&tg_data_f32(w)[k], &want, sizeof want), 0, "float32 element %lld", (long long)k);
                } else {
                    double want = tg_data_f64(before)[k] - 0.01 * grads[k];
                    cr_assert_eq(memcmp(&tg_data_f64(w)[k], &want, sizeof want), 0, "float64 element %lld", (long long)k);
                }
            }
            tg_free(before);
        }
        tg_optimizer_free(opt);
        tg_free(w);
    }
}

Test(optim_sgd, weight_decay_adds_lambda_w_to_the_gradient) {
    /* lr 0.1, lambda 0.5: g = c + 0.5 w.
     * t=1: g = [0.5 + 0.5, -1 - 1]          = [1, -2];        w = [0.9, -1.8]
     * t=2: g = [0.5 + 0.45, -1 - 0.9]       = [0.95, -1.9];   w = [0.805, -1.61]
     * t=3: g = [0.5 + 0.4025, -1 - 0.805]   = [0.9025, -1.805]; w = [0.71475, -1.4295] */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.9, -1.8}, {0.805, -1.61}, {0.71475, -1.4295}};
    tg_optimizer_config c = config_of(TG_OPT_SGD, 0.1);
    c.weight_decay = 0.5;
    check_three_steps("sgd + weight decay", &c, grads, expected);
}

Test(optim_sgd, momentum_accumulates_a_buffer) {
    /* lr 0.1, mu 0.9, constant g = c: b1 = c, b2 = 0.9 c + c = 1.9 c,
     * b3 = 0.9 * 1.9 c + c = 2.71 c; W <- W - 0.1 b.
     *   element 0 (c = 0.5):  1 - 0.05 = 0.95;  0.95 - 0.095 = 0.855;  0.855 - 0.1355 = 0.7195
     *   element 1 (c = -1):  -2 + 0.1 = -1.9;  -1.9 + 0.19 = -1.71;   -1.71 + 0.271 = -1.439 */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.95, -1.9}, {0.855, -1.71}, {0.7195, -1.439}};
    tg_optimizer_config c = config_of(TG_OPT_MOMENTUM, 0.1);
    c.momentum = 0.9;
    check_three_steps("momentum", &c, grads, expected);
}

Test(optim_sgd, dampening_scales_new_gradients_but_not_the_first) {
    /* lr 0.1, mu 0.9, tau 0.5: b1 = c (PyTorch clones the first gradient),
     * b2 = 0.9 c + 0.5 c = 1.4 c, b3 = 0.9 * 1.4 c + 0.5 c = 1.76 c.
     *   element 0: 1 - 0.05 = 0.95;  0.95 - 0.07 = 0.88;  0.88 - 0.088 = 0.792
     *   element 1: -2 + 0.1 = -1.9;  -1.9 + 0.14 = -1.76; -1.76 + 0.176 = -1.584 */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.95, -1.9}, {0.88, -1.76}, {0.792, -1.584}};
    tg_optimizer_config c = config_of(TG_OPT_MOMENTUM, 0.1);
    c.momentum = 0.9;
    c.dampening = 0.5;
    check_three_steps("momentum + dampening", &c, grads, expected);
}

Test(optim_sgd, nesterov_looks_ahead_along_the_buffer) {
    /* lr 0.1, mu 0.9: b as for momentum (c, 1.9 c, 2.71 c), step d = g + 0.9 b:
     *   d1 = c + 0.9 c = 1.9 c,  d2 = c + 1.71 c = 2.71 c,  d3 = c + 2.439 c = 3.439 c
     *   element 0: 1 - 0.095 = 0.905;  0.905 - 0.1355 = 0.7695;  0.7695 - 0.17195 = 0.59755
     *   element 1: -2 + 0.19 = -1.81;  -1.81 + 0.271 = -1.539;   -1.539 + 0.3439 = -1.1951 */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.905, -1.81}, {0.7695, -1.539}, {0.59755, -1.1951}};
    tg_optimizer_config c = config_of(TG_OPT_NESTEROV, 0.1);
    c.momentum = 0.9;
    check_three_steps("nesterov", &c, grads, expected);
}

/* ======================= Adam, AdamW ======================= */

/* Element 0 sees g = 1, -1, 2; element 1 sees -2 times that. */
static const double adam_grads[3][2] = {{1, -2}, {-1, 2}, {2, -4}};

Test(optim_adam, adam_three_steps_with_bias_correction) {
    /* lr 0.1, beta1 0.9, beta2 0.999, eps 1e-8. Element 0:
     * t=1: g = 1:  m = 0.1,  v = 0.001;  step size 0.1 / (1 - 0.9) = 1,
     *      d = sqrt(0.001) / sqrt(0.001) + 1e-8 = 1 + 1e-8,
     *      w = 1 - 0.1 / (1 + 1e-8) = 0.900000001
     * t=2: g = -1: m = 0.09 - 0.1 = -0.01,  v = 0.000999 + 0.001 = 0.001999;
     *      1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999: v_hat = 1, d = 1 + 1e-8,
     *      w = 0.900000001 + (0.1 / 0.19) 0.01 / (1 + 1e-8) = 0.900000001 + 0.0052631578 = 0.9052631588
     * t=3: g = 2:  m = -0.009 + 0.2 = 0.191,  v = 0.001997001 + 0.004 = 0.005997001;
     *      1 - 0.9^3 = 0.271, 1 - 0.999^3 = 0.002997001;
     *      d = sqrt(0.005997001 / 0.002997001) + 1e-8 = sqrt(2.0010007) = 1.4145673,
     *      w = 0.9052631588 - (0.1 / 0.271) 0.191 / 1.4145673 = 0.9052631588 - 0.0498242140 = 0.8554389448
     * Element 1's gradients are -2 times element 0's: Adam ignores the scale
     * of g (but for eps), so it moves by the negated steps, with eps / 2 in
     * place of eps: -2 + 0.1 / (1 + 5e-9) = -1.9000000005, ... */
    tg_optimizer_config c = config_of(TG_OPT_ADAM, 0.1);
    const double expected[3][2] = {{0.900000001, -1.9000000005},
                                   {0.90526315884210518, -1.905263158368421},
                                   {0.85543894479940219, -1.8554389441496069}};
    check_three_steps("adam", &c, adam_grads, expected);
}

Test(optim_adam, adamw_decays_the_weights_before_the_adam_step) {
    /* As above with lambda 0.1: first W <- W (1 - 0.1 * 0.1) = 0.99 W, then
     * exactly the Adam steps above (the gradients here do not depend on W):
     *   element 0: 0.99 * 1 - 0.099999999 = 0.890000001
     *              0.99 * 0.890000001 + 0.0052631578 = 0.8863631588
     *              0.99 * 0.8863631588 - 0.0498242140 = 0.8276753132
     *   element 1: 0.99 * -2 + 0.0999999995 = -1.8800000005, ... */
    tg_optimizer_config c = config_of(TG_OPT_ADAMW, 0.1);
    c.weight_decay = 0.1;
    const double expected[3][2] = {{0.890000001, -1.8800000004999999},
                                   {0.88636315883210515, -1.866463158363421},
                                   {0.82767531320108112, -1.7979743125609726}};
    check_three_steps("adamw", &c, adam_grads, expected);
}

Test(optim_adam, adam_new_uses_pytorch_defaults) {
    tg_tensor *w = pair(TG_F64, 1, -2);
    tg_optimizer *opt = tg_adam_new(1, &w, 0.1);
    cr_assert_not_null(opt);
    tg_optimizer_config c;
    cr_assert_eq(tg_optimizer_get_config(opt, &c), TG_OK);
    cr_assert(c.kind == TG_OPT_ADAM && c.lr == 0.1 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 &&
              c.weight_decay == 0);
    /* Same first step as the test above: w = 1 - 0.1 / (1 + 1e-8). */
    set_grad(w, adam_grads[0]);
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    expect_close(w, (const double[]){0.900000001, -1.9000000005}, "tg_adam_new", 1);
    tg_optimizer_free(opt);
    tg_free(w);
}

/* ======================= RMSprop ======================= */

Test(optim_rmsprop, rmsprop_divides_by_the_root_mean_square) {
    /* lr 0.01, alpha 0.99, eps 1e-8, constant g = c: v_t = (1 - 0.99^t) c^2,
     * step 0.01 c / (sqrt(1 - 0.99^t) |c| + 1e-8). Element 0 (c = 0.5):
     * t=1: 1 - 0.99 = 0.01,     sqrt 0.1:          0.005 / (0.05 + 1e-8)        = 0.09999998;
     *      w = 0.90000002
     * t=2: 1 - 0.9801 = 0.0199, sqrt 0.1410674:    0.005 / (0.0705337 + 1e-8)   = 0.0708881;
     *      w = 0.8291119
     * t=3: 1 - 0.970299 = 0.029701, sqrt 0.1723404: 0.005 / (0.0861702 + 1e-8) = 0.0580249;
     *      w = 0.7710870
     * Element 1 (c = -1) moves by the same amounts up to eps: -1.90000001, ... */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.90000001999999601, -1.900000009999999},
                                   {0.82911190954941227, -1.8291118945242906},
                                   {0.77108700780671413, -1.771086989414703}};
    tg_optimizer_config c = config_of(TG_OPT_RMSPROP, 0.01);
    check_three_steps("rmsprop", &c, grads, expected);
}

Test(optim_rmsprop, centered_with_momentum) {
    /* lr 0.01, alpha 0.99, mu 0.9, centered, constant g = c:
     * a_t = (1 - 0.99^t) c, so v - a^2 = (1 - 0.99^t) 0.99^t c^2, and
     * d_t = sqrt((1 - 0.99^t) 0.99^t) |c| + 1e-8; b <- 0.9 b + c / d; W <- W - 0.01 b.
     * Element 0 (c = 0.5):
     * t=1: (0.01)(0.99) = 0.0099,         sqrt 0.0994987:  c/d = 0.5 / 0.0497494 = 10.050378;
     *      b = 10.050378,  w = 1 - 0.1005038 = 0.8994962
     * t=2: (0.0199)(0.9801) = 0.01950399, sqrt 0.1396567:  c/d = 0.5 / 0.0698284 = 7.160463;
     *      b = 9.045340 + 7.160463 = 16.205803,  w = 0.8994962 - 0.1620580 = 0.7374382
     * t=3: (0.029701)(0.970299) = 0.0288189, sqrt 0.1697614: c/d = 0.5 / 0.0848807 = 5.890647;
     *      b = 14.585223 + 5.890647 = 20.475869,  w = 0.7374382 - 0.2047587 = 0.5326795...
     * (the digits shown are rounded; the constants below carry them in full). */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.89949623867609496, -1.8994962285750878},
                                   {0.73743870161683689, -1.7374386772977686},
                                   {0.5326806350561184, -1.5326805944708446}};
    tg_optimizer_config c = config_of(TG_OPT_RMSPROP, 0.01);
    c.momentum = 0.9;
    c.centered = true;
    check_three_steps("rmsprop centered + momentum", &c, grads, expected);
}

/* ======================= Adagrad ======================= */

Test(optim_adagrad, adagrad_divides_by_the_root_of_the_sum_of_squares) {
    /* lr 0.1, eps 1e-10, constant g = c: s_t = t c^2, step 0.1 c / (sqrt(t) |c| + 1e-10):
     *   element 0: 1 - 0.1 * 0.5 / (0.5 + 1e-10) = 0.90000000002;
     *              - 0.1 / sqrt(2) = - 0.0707106781: 0.8292893219;
     *              - 0.1 / sqrt(3) = - 0.0577350269: 0.7715542950
     *   element 1: -2 + 0.1 / (1 + 1e-10) = -1.90000000001, -1.8292893219, -1.7715542950 */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.90000000002000002, -1.9000000000099999},
                                   {0.8292893219113453, -1.8292893218963451},
                                   {0.77155429499904937, -1.7715542949807159}};
    tg_optimizer_config c = config_of(TG_OPT_ADAGRAD, 0.1);
    check_three_steps("adagrad", &c, grads, expected);
}

Test(optim_adagrad, lr_decay_and_initial_accumulator) {
    /* lr 0.1, eta 0.5, initial sum 1: clr_t = 0.1 / (1 + (t - 1) 0.5) = 0.1, 0.0666667, 0.05.
     *   element 0 (c^2 = 0.25): s = 1.25, 1.5, 1.75
     *     1 - 0.1 * 0.5 / 1.1180340 = 1 - 0.0447214 = 0.9552786
     *     - 0.0666667 * 0.5 / 1.2247449 = - 0.0272166: 0.9280621
     *     - 0.05 * 0.5 / 1.3228757 = - 0.0188982: 0.9091639
     *   element 1 (c^2 = 1): s = 2, 3, 4
     *     -2 + 0.1 / 1.4142136 = -1.9292893;  + 0.0666667 / 1.7320508 = + 0.0384900: -1.8907993;
     *     + 0.05 / 2 = + 0.025: -1.8657993 */
    const double grads[3][2] = {C, C, C};
    const double expected[3][2] = {{0.95527864045400424, -1.9292893218863452},
                                   {0.92806208775863563, -1.8907993039425923},
                                   {0.90916386410960282, -1.8657993039438423}};
    tg_optimizer_config c = config_of(TG_OPT_ADAGRAD, 0.1);
    c.lr_decay = 0.5;
    c.initial_accumulator = 1;
    check_three_steps("adagrad + lr_decay + initial_accumulator", &c, grads, expected);
}

/* ======================= the optimizer object ======================= */

Test(optim_object, defaults_are_pytorchs) {
    tg_optimizer_config sgd = tg_optimizer_defaults(TG_OPT_SGD), adam = tg_optimizer_defaults(TG_OPT_ADAM),
                        adamw = tg_optimizer_defaults(TG_OPT_ADAMW), rms = tg_optimizer_defaults(TG_OPT_RMSPROP),
                        ada = tg_optimizer_defaults(TG_OPT_ADAGRAD), mom = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    cr_assert(sgd.kind == TG_OPT_SGD && sgd.lr == 1e-3 && sgd.momentum == 0 && sgd.weight_decay == 0);
    cr_assert(mom.momentum == 0.9 && mom.dampening == 0);
    cr_assert(adam.lr == 1e-3 && adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.eps == 1e-8 && adam.weight_decay == 0);
    cr_assert(adamw.lr == 1e-3 && adamw.weight_decay == 1e-2);
    cr_assert(rms.lr == 1e-2 && rms.rms_decay == 0.99 && rms.eps == 1e-8 && rms.momentum == 0 && !rms.centered);
    cr_assert(ada.lr == 1e-2 && ada.eps == 1e-10 && ada.lr_decay == 0 && ada.initial_accumulator == 0);
    cr_assert_str_eq(tg_optimizer_kind_name(TG_OPT_NESTEROV), "nesterov");
    cr_assert_str_eq(tg_optimizer_kind_name((tg_optimizer_kind)42), "unknown");
}

Test(optim_object, every_default_config_is_accepted) {
    tg_tensor *w = pair(TG_F64, 1, -2);
    for (int k = 0; k < TG_OPT_KIND_COUNT; k++) {
        tg_optimizer_config c = tg_optimizer_defaults((tg_optimizer_kind)k);
        tg_optimizer *opt = tg_optimizer_new(1, &w, &c);
        cr_assert_not_null(opt, "%s", tg_optimizer_kind_name((tg_optimizer_kind)k));
        tg_optimizer_free(opt);
    }
    tg_free(w);
}

Test(optim_object, a_parameter_without_gradient_is_skipped_and_keeps_its_own_count) {
    /* Adam, lr 0.1. Step 1: only a has a gradient; b is untouched. Step 2: b's
     * first update uses t = 1 (PyTorch counts per parameter), so it moves by
     * lr / (1 + 1e-8), the same as a's first step. */
    tg_tensor *a = pair(TG_F64, 1, -2), *b = pair(TG_F64, 3, 4);
    tg_tensor *params[2] = {a, b};
    tg_optimizer *opt = tg_adam_new(2, params, 0.1);
    set_grad(a, (const double[]){1, -2});
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    expect_close(a, (const double[]){0.900000001, -1.9000000005}, "a", 1);
    expect_close(b, (const double[]){3, 4}, "b untouched", 1);
    cr_assert_null(b->grad);
    tg_optimizer_zero_grad(opt);
    set_grad(b, (const double[]){1, -2});
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    expect_close(b, (const double[]){2.900000001, 4.0999999995}, "b's first update", 2);
    /* a's gradient was zeroed: m = 0.09 keeps it moving, v = 0.000999. */
    cr_assert_eq(tg_optimizer_step_count(opt), 2);
    tg_optimizer_free(opt);
    tg_free(a);
    tg_free(b);
}

Test(optim_object, step_records_nothing_on_the_tape) {
    tg_tensor *w = pair(TG_F32, 1, -2);
    tg_optimizer *opt = tg_adam_new(1, &w, 0.1);
    set_grad(w, (const double[])C);
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), 0);
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), 0);
    tg_optimizer_free(opt);
    tg_free(w);
}

Test(optim_object, float32_state_stays_float32) {
    tg_tensor *w = param(TG_F32, 2, (const int64_t[]){2, 3}, (const double[]){1, 2, 3, 4, 5, 6});
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_RMSPROP);
    c.momentum = 0.5;
    c.centered = true;
    tg_optimizer *opt = tg_optimizer_new(1, &w, &c);
    const char *names[3] = {"square_avg", "momentum_buffer", "grad_avg"};
    for (int k = 0; k < 3; k++) {
        const tg_tensor *s = tg_optimizer_state(opt, 0, names[k]);
        cr_assert_not_null(s, "%s", names[k]);
        cr_assert_eq(s->dtype, TG_F32);
        cr_assert(tg_same_shape(s, w));
    }
    tg_optimizer_free(opt);
    tg_free(w);
}

Test(optim_object, state_names_follow_the_kind) {
    tg_tensor *w = pair(TG_F64, 1, -2);
    tg_optimizer *adam = tg_adam_new(1, &w, 0.1), *sgd = tg_sgd_new(1, &w, 0.1);
    cr_assert_not_null(tg_optimizer_state(adam, 0, "exp_avg"));
    cr_assert_not_null(tg_optimizer_state(adam, 0, "exp_avg_sq"));
    return_mode();
    cr_assert_null(tg_optimizer_state(adam, 0, "momentum_buffer"));
    cr_assert(strstr(tg_last_error_message(), "tg_optimizer_state"));
    cr_assert_null(tg_optimizer_state(sgd, 0, "exp_avg"));
    cr_assert_null(tg_optimizer_state(adam, 1, "exp_avg"));
    cr_assert(strstr(tg_last_error_message(), "index 1"));
    /* RMSprop without momentum or centering keeps only square_avg. */
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_RMSPROP);
    tg_optimizer *rms = tg_optimizer_new(1, &w, &c);
    cr_assert_not_null(tg_optimizer_state(rms, 0, "square_avg"));
    cr_assert_null(tg_optimizer_state(rms, 0, "momentum_buffer"));
    abort_mode();
    tg_optimizer_free(rms);
    tg_optimizer_free(adam);
    tg_optimizer_free(sgd);
    tg_free(w);
}

Test(optim_object, learning_rate_can_change_and_reach_zero) {
    tg_tensor *w = pair(TG_F64, 1, -2);
    tg_optimizer *opt = tg_sgd_new(1, &w, 0.1);
    cr_assert_eq(tg_optimizer_lr(opt), 0.1);
    cr_assert_eq(tg_optimizer_set_lr(opt, 0.5), TG_OK);
    cr_assert_eq(tg_optimizer_lr(opt), 0.5);
    cr_assert_eq(tg_optimizer_set_lr(opt, 0), TG_OK); /* a schedule may reach 0 */
    set_grad(w, (const double[])C);
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    expect_close(w, (const double[]){1, -2}, "lr 0", 1);
    return_mode();
    cr_assert_eq(tg_optimizer_set_lr(opt, -0.1), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "-0.1"));
    cr_assert_eq(tg_optimizer_set_lr(opt, NAN), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_optimizer_lr(opt), 0);
    cr_assert(isnan(tg_optimizer_lr(NULL)));
    cr_assert_eq(tg_optimizer_step_count(NULL), -1);
    cr_assert_eq(tg_optimizer_step(NULL), TG_ERR_ARGUMENT);
    abort_mode();
    tg_optimizer_free(opt);
    tg_optimizer_free(NULL);
    tg_free(w);
}

/* ======================= constructors' checks ======================= */

/* The constructor returned NULL with `code` and a message naming `function`
 * and containing `fragment`. */
static void expect_refused(const tg_optimizer *opt, tg_status code, const char *function, const char *fragment) {
    cr_assert_null(opt, "%s should have refused (%s)", function, fragment);
    assert_error(code, function, fragment);
}

static tg_optimizer *new_with(tg_tensor *w, tg_optimizer_config c) { return tg_optimizer_new(1, &w, &c); }

Test(optim_checks, bad_parameter_lists_are_refused) {
    tg_tensor *a = pair(TG_F64, 1, 2), *b = pair(TG_F32, 3, 4);
    tg_tensor *plain = tg_zeros(TG_F64, 1, (const int64_t[]){2});
    tg_tensor *on_tape = tg_add(a, a);
    return_mode();
    expect_refused(tg_sgd_new(0, &a, 0.1), TG_ERR_ARGUMENT, "tg_sgd_new", "got 0");
    expect_refused(tg_adam_new(1, NULL, 0.1), TG_ERR_ARGUMENT, "tg_adam_new", "NULL list");
    expect_refused(tg_sgd_new(2, (tg_tensor *[]){a, NULL}, 0.1), TG_ERR_ARGUMENT, "tg_sgd_new", "parameter 1 is NULL");
    expect_refused(tg_sgd_new(1, &on_tape, 0.1), TG_ERR_ARGUMENT, "tg_sgd_new", "parameter 0 belongs to a tape");
    expect_refused(tg_adam_new(2, (tg_tensor *[]){a, plain}, 0.1), TG_ERR_ARGUMENT, "tg_adam_new",
                   "parameter 1 does not require grad");
    expect_refused(tg_adam_new(3, (tg_tensor *[]){a, b, a}, 0.1), TG_ERR_ARGUMENT, "tg_adam_new",
                   "parameter 2 is the same tensor as parameter 0");
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAM);
    expect_refused(tg_optimizer_new(1, &a, NULL), TG_ERR_ARGUMENT, "tg_optimizer_new", "config is NULL");
    expect_refused(tg_optimizer_new(2, (tg_tensor *[]){b, b}, &c), TG_ERR_ARGUMENT, "tg_optimizer_new",
                   "parameter 1 is the same tensor as parameter 0");
    abort_mode();
    reset_tape();
    tg_free(a);
    tg_free(b);
    tg_free(plain);
}

Test(optim_checks, bad_learning_rates_are_refused) {
    tg_tensor *w = pair(TG_F64, 1, 2);
    return_mode();
    expect_refused(tg_sgd_new(1, &w, 0), TG_ERR_ARGUMENT, "tg_sgd_new", "got 0");
    expect_refused(tg_sgd_new(1, &w, -0.5), TG_ERR_ARGUMENT, "tg_sgd_new", "got -0.5");
    expect_refused(tg_adam_new(1, &w, NAN), TG_ERR_ARGUMENT, "tg_adam_new", "nan");
    expect_refused(tg_adam_new(1, &w, INFINITY), TG_ERR_ARGUMENT, "tg_adam_new", "inf");
    abort_mode();
    tg_free(w);
}

Test(optim_checks, hyperparameters_out_of_range_are_refused) {
    tg_tensor *w = pair(TG_F64, 1, 2);
    return_mode();
    const char *f = "tg_optimizer_new";
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAM);
    c.beta1 = 1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "beta1 must be finite and in [0, 1), got 1");
    c = tg_optimizer_defaults(TG_OPT_ADAMW);
    c.beta2 = -0.1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "beta2 must be finite and in [0, 1), got -0.1");
    c = tg_optimizer_defaults(TG_OPT_ADAM);
    c.eps = -1e-8;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "eps must be finite and in [0, inf), got -1e-08");
    c.eps = 1e-8;
    c.weight_decay = INFINITY;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "weight_decay must be finite and in [0, inf), got inf");
    c = tg_optimizer_defaults(TG_OPT_RMSPROP);
    c.rms_decay = 1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "rms_decay");
    c = tg_optimizer_defaults(TG_OPT_RMSPROP);
    c.momentum = NAN;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "momentum must be finite and in [0, inf), got nan");
    c = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    c.dampening = 2;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "dampening must be finite and in [0, 1], got 2");
    c = tg_optimizer_defaults(TG_OPT_ADAGRAD);
    c.lr_decay = -1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "lr_decay");
    c = tg_optimizer_defaults(TG_OPT_ADAGRAD);
    c.initial_accumulator = -1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "initial_accumulator");
    abort_mode();
    tg_free(w);
}

Test(optim_checks, kind_specific_rules_are_enforced) {
    tg_tensor *w = pair(TG_F64, 1, 2);
    return_mode();
    const char *f = "tg_optimizer_new";
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_SGD);
    c.momentum = 0.9;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "TG_OPT_MOMENTUM");
    c = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    c.momentum = 0;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "momentum needs momentum > 0");
    c = tg_optimizer_defaults(TG_OPT_NESTEROV);
    c.dampening = 0.1;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "nesterov needs dampening 0, got 0.1");
    c = tg_optimizer_defaults(TG_OPT_SGD);
    c.kind = (tg_optimizer_kind)99;
    expect_refused(new_with(w, c), TG_ERR_ARGUMENT, f, "unknown optimizer kind 99");
    tg_optimizer_config d = tg_optimizer_defaults((tg_optimizer_kind)99);
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_optimizer_defaults"));
    cr_assert_eq((int)d.kind, 99);
    abort_mode();
    tg_free(w);
}

/* ======================= clipping ======================= */

Test(optim_clip, global_norm_scales_every_gradient) {
    /* Gradients [3, 4] (float64) and [12] (float32): N = sqrt(9 + 16 + 144) = 13.
     * max_norm 6.5: c = 6.5 / (13 + 1e-6) = 0.49999996154 < 1, so every
     * gradient is multiplied by it: [1.49999988, 1.99999985], [5.99999954]. */
    tg_tensor *a = pair(TG_F64, 0, 0), *b = param(TG_F32, 1, (const int64_t[]){1}, (const double[]){0});
    set_grad(a, (const double[]){3, 4});
    set_grad(b, (const double[]){12});
    tg_tensor *params[2] = {a, b};
    double norm = 0;
    cr_assert_eq(tg_clip_grad_norm(2, params, 6.5, &norm), TG_OK);
    cr_assert_eq(norm, 13.0);
    double c = 6.5 / (13 + 1e-6);
    cr_assert(fabs(tg_get_flat(a->grad, 0) - 3 * c) < 1e-15);
    cr_assert(fabs(tg_get_flat(a->grad, 1) - 4 * c) < 1e-15);
    cr_assert(fabs(tg_get_flat(b->grad, 0) - 12 * c) < 1e-5);
    /* The new norm is just under max_norm. */
    double after = 0;
    cr_assert_eq(tg_clip_grad_norm(2, params, 100, &after), TG_OK);
    cr_assert(after < 6.5 && after > 6.5 - 1e-5, "norm after clipping %.17g", after);
    tg_free(a);
    tg_free(b);
}

Test(optim_clip, small_gradients_are_left_bitwise_alone) {
    tg_tensor *a = pair(TG_F64, 0, 0);
    set_grad(a, (const double[]){0.3, -0.4}); /* N = 0.5 */
    double norm;
    cr_assert_eq(tg_clip_grad_norm(1, &a, 1.0, &norm), TG_OK);
    cr_assert(fabs(norm - 0.5) < 1e-16);
    cr_assert_eq(tg_get_flat(a->grad, 0), 0.3);
    cr_assert_eq(tg_get_flat(a->grad, 1), -0.4);
    cr_assert_eq(tg_clip_grad_norm(1, &a, 1.0, NULL), TG_OK); /* total_norm is optional */
    tg_free(a);
}

Test(optim_clip, parameters_without_gradient_count_as_zero) {
    tg_tensor *a = pair(TG_F64, 0, 0), *b = pair(TG_F64, 0, 0);
    set_grad(a, (const double[]){6, 8});
    double norm;
    cr_assert_eq(tg_clip_grad_norm(2, (tg_tensor *[]){a, b}, 5, &norm), TG_OK);
    cr_assert_eq(norm, 10.0);
    cr_assert(fabs(tg_get_flat(a->grad, 0) - 6 * 5 / (10 + 1e-6)) < 1e-15);
    cr_assert_null(b->grad);
    tg_free(a);
    tg_free(b);
}

Test(optim_clip, huge_float64_gradients_do_not_overflow) {
    /* 1e200^2 overflows a double; the norm is still sqrt(2) 1e200. */
    tg_tensor *a = pair(TG_F64, 0, 0);
    set_grad(a, (const double[]){1e200, -1e200});
    double norm;
    cr_assert_eq(tg_clip_grad_norm(1, &a, 1, &norm), TG_OK);
    cr_assert(fabs(norm / 1e200 - sqrt(2.0)) < 1e-15, "norm %g", norm);
    cr_assert(fabs(tg_get_flat(a->grad, 0) - 1 / sqrt(2.0)) < 1e-12);
    tg_free(a);
}

Test(optim_clip, non_finite_norm_is_reported_and_nothing_scaled) {
    tg_tensor *a = pair(TG_F64, 0, 0), *b = pair(TG_F32, 0, 0);
    set_grad(a, (const double[]){3, 4});
    set_grad(b, (const double[]){INFINITY, 1});
    return_mode();
    double norm = 0;
    cr_assert_eq(tg_clip_grad_norm(2, (tg_tensor *[]){a, b}, 1, &norm), TG_ERR_NUMERIC);
    cr_assert(isinf(norm));
    cr_assert(strstr(tg_last_error_message(), "tg_clip_grad_norm"));
    cr_assert_eq(tg_get_flat(a->grad, 0), 3.0);
    set_grad(b, (const double[]){NAN, 1});
    cr_assert_eq(tg_clip_grad_norm(2, (tg_tensor *[]){a, b}, 1, &norm), TG_ERR_NUMERIC);
    cr_assert(isnan(norm));
    cr_assert_eq(tg_get_flat(a->grad, 1), 4.0);
    abort_mode();
    tg_free(a);
    tg_free(b);
}

Test(optim_clip, bad_arguments_are_refused) {
    tg_tensor *a = pair(TG_F64, 0, 0);
    return_mode();
    cr_assert_eq(tg_clip_grad_norm(1, &a, 0, NULL), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_clip_grad_norm: max_norm must be finite and > 0, got 0"));
    cr_assert_eq(tg_clip_grad_norm(1, &a, NAN, NULL), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_clip_grad_norm(0, &a, 1, NULL), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_clip_grad_norm(2, (tg_tensor *[]){a, a}, 1, NULL), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "same tensor"));
    cr_assert_eq(tg_clip_grad_value(1, &a, -1), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_clip_grad_value"));
    abort_mode();
    tg_free(a);
}

Test(optim_clip, clip_by_value_clamps_each_element) {
    for (size_t d = 0; d < 2; d++) {
        tg_tensor *a = param(dtypes[d], 1, (const int64_t[]){4}, (const double[]){0, 0, 0, 0});
        set_grad(a, (const double[]){-3, 0.5, 2, -1});
        cr_assert_eq(tg_clip_grad_value(1, &a, 1), TG_OK);
        const double expected[4] = {-1, 0.5, 1, -1};
        for (int k = 0; k < 4; k++) cr_assert_eq(tg_get_flat(a->grad, k), expected[k]);
        tg_free(a);
    }
}

/* ======================= against PyTorch ======================= */

/* Five steps of each configuration from the same start, with the gradient
 * of 0.5 sum(W^2) + sum(C W) + 0.5 sum(b^2) + sum(cb b), which is W + C
 * (and b + cb), computed by each library's own autodiff. The cases are
 * written into the Python script from this table, so they cannot drift. */
static const double torch_w0[6] = {1, -2, 0.5, 3, -0.25, 0}, torch_c[6] = {0.5, -1, 0.25, -0.75, 2, 0.1};
static const double torch_b0[3] = {0.1, -0.3, 2}, torch_cb[3] = {-1, 0.5, 0.2};

static int torch_cases(tg_optimizer_config *cases) {
    int n = 0;
    tg_optimizer_config c;
    cases[n++] = config_of(TG_OPT_SGD, 0.1);
    c = config_of(TG_OPT_SGD, 0.1);
    c.weight_decay = 0.05;
    cases[n++] = c;
    c = config_of(TG_OPT_MOMENTUM, 0.05);
    c.momentum = 0.9;
    c.dampening = 0.1;
    c.weight_decay = 0.01;
    cases[n++] = c;
    c = config_of(TG_OPT_NESTEROV, 0.05);
    c.momentum = 0.8;
    c.weight_decay = 0.01;
    cases[n++] = c;
    cases[n++] = config_of(TG_OPT_ADAM, 0.01);
    c = config_of(TG_OPT_ADAM, 0.05);
    c.beta1 = 0.8;
    c.beta2 = 0.99;
    c.eps = 1e-6;
    c.weight_decay = 0.1;
    cases[n++] = c;
    c = config_of(TG_OPT_ADAMW, 0.05);
    c.weight_decay = 0.1;
    cases[n++] = c;
    cases[n++] = config_of(TG_OPT_RMSPROP, 0.01);
    c = config_of(TG_OPT_RMSPROP, 0.01);
    c.momentum = 0.9;
    c.centered = true;
    c.rms_decay = 0.9;
    c.weight_decay = 0.01;
    cases[n++] = c;
    cases[n++] = config_of(TG_OPT_ADAGRAD, 0.1);
    c = config_of(TG_OPT_ADAGRAD, 0.1);
    c.lr_decay = 0.01;
    c.weight_decay = 0.01;
    c.initial_accumulator = 0.1;
    cases[n++] = c;
    return n;
}
#define TORCH_MAX_CASES 16
#define TORCH_STEPS 5

/* The torch.optim constructor call for `c` (on the list `p`). */
static void write_torch_constructor(FILE *f, const tg_optimizer_config *c) {
    switch (c->kind) {
    case TG_OPT_SGD: fprintf(f, "torch.optim.SGD(p, lr=%.17g, weight_decay=%.17g)", c->lr, c->weight_decay); break;
    case TG_OPT_MOMENTUM:
    case TG_OPT_NESTEROV:
        fprintf(f, "torch.optim.SGD(p, lr=%.17g, momentum=%.17g, dampening=%.17g, weight_decay=%.17g, nesterov=%s)",
                c->lr, c->momentum, c->dampening, c->weight_decay, c->kind == TG_OPT_NESTEROV ? "True" : "False");
        break;
    case TG_OPT_ADAM:
    case TG_OPT_ADAMW:
        fprintf(f, "torch.optim.%s(p, lr=%.17g, betas=(%.17g, %.17g), eps=%.17g, weight_decay=%.17g)",
                c->kind == TG_OPT_ADAM ? "Adam" : "AdamW", c->lr, c->beta1, c->beta2, c->eps, c->weight_decay);
        break;
    case TG_OPT_RMSPROP:
        fprintf(f, "torch.optim.RMSprop(p, lr=%.17g, alpha=%.17g, eps=%.17g, weight_decay=%.17g, momentum=%.17g, centered=%s)",
                c->lr, c->rms_decay, c->eps, c->weight_decay, c->momentum, c->centered ? "True" : "False");
        break;
    case TG_OPT_ADAGRAD:
        fprintf(f, "torch.optim.Adagrad(p, lr=%.17g, lr_decay=%.17g, weight_decay=%.17g, initial_accumulator_value=%.17g, eps=%.17g)",
                c->lr, c->lr_decay, c->weight_decay, c->initial_accumulator, c->eps);
        break;
    }
}

static void write_list(FILE *f, const double *v, int n) {
    fprintf(f, "[");
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fprintf(f, "]");
}

static void write_torch_script(const char *path, const tg_optimizer_config *cases, int n) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "import torch\ntorch.set_num_threads(1)\nw0 = ");
    write_list(f, torch_w0, 6);
    fprintf(f, "\nc = ");
    write_list(f, torch_c, 6);
    fprintf(f, "\nb0 = ");
    write_list(f, torch_b0, 3);
    fprintf(f, "\ncb = ");
    write_list(f, torch_cb, 3);
    fprintf(f, "\nmakers = [\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "    lambda p: ");
        write_torch_constructor(f, &cases[i]);
        fprintf(f, ",\n");
    }
    fprintf(f, "]\n"
               "for dtype in (torch.float32, torch.float64):\n"
               "    for make in makers:\n"
               "        W = torch.tensor(w0, dtype=dtype).reshape(2, 3).requires_grad_()\n"
               "        b = torch.tensor(b0, dtype=dtype).requires_grad_()\n"
               "        C = torch.tensor(c, dtype=dtype).reshape(2, 3)\n"
               "        CB = torch.tensor(cb, dtype=dtype)\n"
               "        opt = make([W, b])\n"
               "        for step in range(%d):\n"
               "            opt.zero_grad()\n"
               "            loss = 0.5 * (W * W).sum() + (C * W).sum() + 0.5 * (b * b).sum() + (CB * b).sum()\n"
               "            loss.backward()\n"
               "            opt.step()\n"
               "        values = W.detach().double().flatten().tolist() + b.detach().double().tolist()\n"
               "        print(' '.join('%%.17g' %% x for x in values))\n",
            TORCH_STEPS);
    cr_assert_eq(fclose(f), 0);
}

/* Our five steps of `c` in `dtype`; the 9 final values into out. */
static void run_ours(const tg_optimizer_config *c, tg_dtype dtype, double *out) {
    tg_tensor *W = param(dtype, 2, (const int64_t[]){2, 3}, torch_w0);
    tg_tensor *b = param(dtype, 1, (const int64_t[]){3}, torch_b0);
    tg_tensor *C_t = tg_from_doubles(dtype, 2, (const int64_t[]){2, 3}, torch_c);
    tg_tensor *cb = tg_from_doubles(dtype, 1, (const int64_t[]){3}, torch_cb);
    tg_tensor *params[2] = {W, b};
    tg_optimizer *opt = tg_optimizer_new(2, params, c);
    cr_assert_not_null(opt, "%s", tg_last_error_message());
    for (int step = 0; step < TORCH_STEPS; step++) {
        tg_optimizer_zero_grad(opt);
        tg_tensor *loss = tg_add(tg_add(tg_mul_scalar(tg_sum(tg_mul(W, W)), 0.5), tg_sum(tg_mul(C_t, W))),
                                 tg_add(tg_mul_scalar(tg_sum(tg_mul(b, b)), 0.5), tg_sum(tg_mul(cb, b))));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        cr_assert_eq(tg_optimizer_step(opt), TG_OK);
        reset_tape();
    }
    cr_assert_eq(tg_copy_to_doubles(W, out), TG_OK);
    cr_assert_eq(tg_copy_to_doubles(b, out + 6), TG_OK);
    tg_optimizer_free(opt);
    tg_free(W);
    tg_free(b);
    tg_free(C_t);
    tg_free(cb);
}

Test(optim_torch, five_steps_match_torch_optim) {
    const char *python = "/usr/bin/python3";
    if (access(python, X_OK) != 0) cr_skip_test("%s is not installed", python);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        cr_skip_test("PyTorch is not importable by /usr/bin/python3; nothing to compare against");
    char dir[] = "/tmp/tg_optim_torch_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char script[128], command[300];
    snprintf(script, sizeof script, "%s/compare.py", dir);
    tg_optimizer_config cases[TORCH_MAX_CASES];
    int n = torch_cases(cases);
    write_torch_script(script, cases, n);
    snprintf(command, sizeof command, "%s %s 2>&1", python, script);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    char line[4096];
    int compared = 0;
    for (size_t d = 0; d < 2; d++) {
        for (int i = 0; i < n; i++) {
            cr_assert_not_null(fgets(line, sizeof line, p), "python printed too little (case %d)", i);
            double theirs[9], ours[9];
            char *cursor = line;
            for (int k = 0; k < 9; k++) {
                char *end;
                theirs[k] = strtod(cursor, &end);
                cr_assert(end != cursor, "python printed: %s", line);
                cursor = end;
            }
            run_ours(&cases[i], dtypes[d], ours);
            /* float64: the same operations in the same order, up to the
             * order PyTorch's kernels evaluate a * b / c in; float32: a few
             * roundings of 6e-8 per step. */
            double tol = dtypes[d] == TG_F64 ? 1e-12 : 2e-5;
            for (int k = 0; k < 9; k++)
                cr_assert(fabs(ours[k] - theirs[k]) <= tol * fmax(1, fabs(theirs[k])),
                          "%s %s (case %d) value %d: ours %.17g, torch %.17g", tg_optimizer_kind_name(cases[i].kind),
                          tg_dtype_name(dtypes[d]), i, k, ours[k], theirs[k]);
            compared++;
        }
    }
    cr_assert_eq(pclose(p), 0);
    cr_assert_eq(compared, 2 * n);
    remove(script);
    rmdir(dir);
}

/* Parameter groups: AdamW with weight decay 0.1 on W and none on b (GPT's
 * split: no decay on biases and norms), five steps of the loss above,
 * against torch.optim.AdamW([{"params": [W]}, {"params": [b],
 * "weight_decay": 0}]). */
Test(optim_torch, adamw_with_two_parameter_groups_matches_torch) {
    const char *python = "/usr/bin/python3";
    if (access(python, X_OK) != 0) cr_skip_test("%s is not installed", python);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        cr_skip_test("PyTorch is not importable by /usr/bin/python3; nothing to compare against");
    char dir[] = "/tmp/tg_optim_groups_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char script[128], command[300];
    snprintf(script, sizeof script, "%s/groups.py", dir);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fprintf(f, "import torch\ntorch.set_num_threads(1)\nw0 = ");
    write_list(f, torch_w0, 6);
    fprintf(f, "\nc = ");
    write_list(f, torch_c, 6);
    fprintf(f, "\nb0 = ");
    write_list(f, torch_b0, 3);
    fprintf(f, "\ncb = ");
    write_list(f, torch_cb, 3);
    fprintf(f, "\nfor dtype in (torch.float32, torch.float64):\n"
               "    W = torch.tensor(w0, dtype=dtype).reshape(2, 3).requires_grad_()\n"
               "    b = torch.tensor(b0, dtype=dtype).requires_grad_()\n"
               "    C = torch.tensor(c, dtype=dtype).reshape(2, 3)\n"
               "    CB = torch.tensor(cb, dtype=dtype)\n"
               "    opt = torch.optim.AdamW([{'params': [W]}, {'params': [b], 'weight_decay': 0.0}], lr=0.05,\n"
               "                            weight_decay=0.1)\n"
               "    for step in range(%d):\n"
               "        opt.zero_grad()\n"
               "        loss = 0.5 * (W * W).sum() + (C * W).sum() + 0.5 * (b * b).sum() + (CB * b).sum()\n"
               "        loss.backward()\n"
               "        opt.step()\n"
               "    values = W.detach().double().flatten().tolist() + b.detach().double().tolist()\n"
               "    print(' '.join('%%.17g' %% x for x in values))\n",
            TORCH_STEPS);
    cr_assert_eq(fclose(f), 0);
    snprintf(command, sizeof command, "%s %s 2>&1", python, script);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    tg_optimizer_config config = config_of(TG_OPT_ADAMW, 0.05);
    config.weight_decay = 0.1;
    for (size_t d = 0; d < 2; d++) {
        char line[4096];
        cr_assert_not_null(fgets(line, sizeof line, p), "python printed too little");
        tg_tensor *W = param(dtypes[d], 2, (const int64_t[]){2, 3}, torch_w0);
        tg_tensor *b = param(dtypes[d], 1, (const int64_t[]){3}, torch_b0);
        tg_tensor *C_t = tg_from_doubles(dtypes[d], 2, (const int64_t[]){2, 3}, torch_c);
        tg_tensor *cb = tg_from_doubles(dtypes[d], 1, (const int64_t[]){3}, torch_cb);
        tg_tensor *params[2] = {W, b};
        tg_optimizer *opt = tg_optimizer_new(2, params, &config);
        cr_assert_eq(tg_optimizer_set_weight_decay_for(opt, 1, &b, 0.0), TG_OK);
        cr_assert(tg_optimizer_weight_decay(opt, 0) == 0.1 && tg_optimizer_weight_decay(opt, 1) == 0.0);
        for (int step = 0; step < TORCH_STEPS; step++) {
            tg_optimizer_zero_grad(opt);
            tg_tensor *loss = tg_add(tg_add(tg_mul_scalar(tg_sum(tg_mul(W, W)), 0.5), tg_sum(tg_mul(C_t, W))),
                                     tg_add(tg_mul_scalar(tg_sum(tg_mul(b, b)), 0.5), tg_sum(tg_mul(cb, b))));
            cr_assert_eq(tg_backward(loss, NULL), TG_OK);
            cr_assert_eq(tg_optimizer_step(opt), TG_OK);
            reset_tape();
        }
        double ours[9], theirs[9];
        cr_assert_eq(tg_copy_to_doubles(W, ours), TG_OK);
        cr_assert_eq(tg_copy_to_doubles(b, ours + 6), TG_OK);
        char *cursor = line;
        for (int k = 0; k < 9; k++) {
            char *end;
            theirs[k] = strtod(cursor, &end);
            cr_assert(end != cursor, "python printed: %s", line);
            cursor = end;
        }
        double tol = dtypes[d] == TG_F64 ? 1e-12 : 2e-5;
        for (int k = 0; k < 9; k++)
            cr_assert(fabs(ours[k] - theirs[k]) <= tol * fmax(1, fabs(theirs[k])), "%s value %d: ours %.17g, torch %.17g",
                      tg_dtype_name(dtypes[d]), k, ours[k], theirs[k]);
        tg_optimizer_free(opt);
        tg_free(W);
        tg_free(b);
        tg_free(C_t);
        tg_free(cb);
    }
    cr_assert_eq(pclose(p), 0);
    remove(script);
    rmdir(dir);
}

/* With its weight decay set to 0, AdamW moves a parameter exactly as Adam
 * without decay does: W (1 - lr 0) = W, then the same Adam step. */
Test(optim_adam, a_parameter_with_weight_decay_zero_steps_as_plain_adam) {
    tg_optimizer_config adamw = config_of(TG_OPT_ADAMW, 0.05), adam = config_of(TG_OPT_ADAM, 0.05);
    adamw.weight_decay = 0.3;
    adam.weight_decay = 0;
    tg_tensor *a = pair(TG_F64, 1, -2), *b = pair(TG_F64, 1, -2);
    tg_optimizer *with_groups = tg_optimizer_new(1, &a, &adamw), *plain = tg_optimizer_new(1, &b, &adam);
    cr_assert_eq(tg_optimizer_set_weight_decay(with_groups, 0, 0.0), TG_OK);
    for (int step = 0; step < 3; step++) {
        set_grad(a, adam_grads[step]);
        set_grad(b, adam_grads[step]);
        cr_assert_eq(tg_optimizer_step(with_groups), TG_OK);
        cr_assert_eq(tg_optimizer_step(plain), TG_OK);
        cr_assert(tg_get_flat(a, 0) == tg_get_flat(b, 0) && tg_get_flat(a, 1) == tg_get_flat(b, 1));
    }
    tg_optimizer_free(with_groups);
    tg_optimizer_free(plain);
    tg_free(a);
    tg_free(b);
}

/* ---- subnormal state (optim.h: flushed to zero on x86, for the update only) ---- */

/* m after one Adam step from g: (1 - beta1) g, subnormal for g = 1e-37f. */
static void check_subnormal_first_moment(int64_t numel, int threads) {
    int previous = tg_get_num_threads();
    tg_set_num_threads(threads);
    int64_t shape[1] = {numel};
    tg_tensor *w = tg_full(TG_F32, 1, shape, 1.0);
    tg_set_requires_grad(w, true);
    w->grad = tg_full(TG_F32, 1, shape, 1e-37);
    tg_optimizer *opt = tg_adam_new(1, &w, 1e-3);
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    const tg_tensor *m = tg_optimizer_state(opt, 0, "exp_avg");
    cr_assert_not_null(m);
    float unflushed = 0.1f * 1e-37f; /* (1 - beta1) g, itself subnormal */
    cr_assert(unflushed > 0 && unflushed < FLT_MIN, "the test needs a subnormal first moment");
    /* The first and the last element: with two threads and this many
     * elements, the last is updated by a pool worker. */
    int64_t ends[2] = {0, numel - 1};
    for (int e = 0; e < 2; e++) {
        float got = ((const float *)m->data)[ends[e]];
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE__))
        cr_assert_eq(got, 0.0f, "exp_avg[%lld] = %g, want 0 (flushed)", (long long)ends[e], (double)got);
#else
        cr_assert_float_eq(got, unflushed, unflushed * 1e-3, "exp_avg[%lld] = %g", (long long)ends[e], (double)got);
#endif
        cr_assert_eq(((const float *)w->data)[ends[e]], 1.0f, "the weight must not move");
    }
    /* The caller's own arithmetic still has subnormals after the step. */
    volatile float tiny = FLT_MIN;
    tiny = tiny * 0.5f;
    cr_assert(tiny > 0, "tg_optimizer_step left flush-to-zero on in the caller's thread");
    tg_optimizer_free(opt);
    tg_free(w);
    tg_set_num_threads(previous);
}

Test(optim_subnormals, adam_flushes_a_subnormal_first_moment_and_restores_the_mode) {
    check_subnormal_first_moment(5, 1);
}

Test(optim_subnormals, pool_workers_flush_too) {
    check_subnormal_first_moment(1 << 18, 2); /* large enough to be split over two threads */
}

Test(optim_subnormals, pool_workers_compute_subnormals_again_after_a_step) {
    /* The step flushed subnormals on a pool worker; the next kernel split over
     * the pool must run in the caller's mode again, with subnormal results. */
    check_subnormal_first_moment(1 << 18, 2);
    int previous = tg_set_num_threads(2);
    int64_t shape[1] = {1 << 20};
    tg_tensor *x = tg_full(TG_F32, 1, shape, FLT_MIN);
    tg_tensor *half = tg_mul_scalar(x, 0.5);
    cr_assert_not_null(half);
    const float *h = half->data;
    int64_t ends[2] = {0, shape[0] - 1};
    for (int e = 0; e < 2; e++)
        cr_assert(h[ends[e]] > 0 && h[ends[e]] < FLT_MIN, "FLT_MIN / 2 at %lld gave %g, want the subnormal",
                  (long long)ends[e], (double)h[ends[e]]);
    tg_tape_reset(tg_tape_current());
    tg_free(x);
    tg_set_num_threads(previous);
}
