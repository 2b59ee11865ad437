/* tests/optim/test_schedules.c — learning-rate schedules: values at chosen
 * steps (worked by hand from the formulas in optim.h), warm-up combined with
 * each decay, applying a schedule to an optimizer, and the checks. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static void expect_lr(const tg_lr_schedule *s, int64_t step, double expected) {
    double got = tg_lr_schedule_at(s, step);
    cr_assert(fabs(got - expected) <= 1e-15 * fmax(1, fabs(expected)), "step %lld: lr %.17g, expected %.17g",
              (long long)step, got, expected);
}

Test(optim_schedule, constant_never_changes) {
    tg_lr_schedule s = tg_lr_constant(0.1);
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 1, 0.1);
    expect_lr(&s, 1000000, 0.1);
}

Test(optim_schedule, step_decay_multiplies_every_step_size_steps) {
    /* 0.1 * 0.5^floor(s / 3): steps 0-2 -> 0.1, 3-5 -> 0.05, 6-8 -> 0.025, 9 -> 0.0125 */
    tg_lr_schedule s = tg_lr_step(0.1, 3, 0.5);
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 2, 0.1);
    expect_lr(&s, 3, 0.05);
    expect_lr(&s, 5, 0.05);
    expect_lr(&s, 6, 0.025);
    expect_lr(&s, 9, 0.0125);
}

Test(optim_schedule, exponential_decay_multiplies_every_step) {
    /* 0.1 * 0.9^s: 0.1, 0.09, 0.081, ..., 0.9^10 = 0.3486784401 -> 0.03486784401 */
    tg_lr_schedule s = tg_lr_exponential(0.1, 0.9);
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 1, 0.09);
    expect_lr(&s, 2, 0.081);
    expect_lr(&s, 10, 0.03486784401);
}

Test(optim_schedule, cosine_anneals_to_min_lr_and_stays) {
    /* 0.01 + (0.1 - 0.01) (1 + cos(pi s / 4)) / 2:
     *   s=0: 0.01 + 0.09 * 1                         = 0.1
     *   s=1: 0.01 + 0.09 (1 + 0.70710678) / 2        = 0.01 + 0.07681981 = 0.08681981
     *   s=2: 0.01 + 0.09 * 0.5                       = 0.055
     *   s=3: 0.01 + 0.09 (1 - 0.70710678) / 2        = 0.01 + 0.01318019 = 0.02318019
     *   s=4: 0.01, and 0.01 from then on (PyTorch's closed form would rise again). */
    tg_lr_schedule s = tg_lr_cosine(0.1, 4, 0.01);
    const double half_root2 = sqrt(2.0) / 2;
    expect_lr(&s, 0, 0.1);
    expect_lr(&s, 1, 0.01 + 0.09 * (1 + half_root2) / 2);
    expect_lr(&s, 2, 0.055);
    expect_lr(&s, 3, 0.01 + 0.09 * (1 - half_root2) / 2);
    expect_lr(&s, 4, 0.01);
    expect_lr(&s, 5, 0.01);
    expect_lr(&s, 1000, 0.01);
}

Test(optim_schedule, warmup_from_zero_then_cosine) {
    /* W = 5, f = 0: lr = 0.1 s / 5 for s < 5: 0, 0.02, 0.04, 0.06, 0.08;
     * then cosine from u = s - 5 over 4 steps to 0: s=5 -> 0.1, s=7 -> 0.05,
     * s=9 -> 0, after -> 0. */
    tg_lr_schedule s = tg_lr_with_warmup(tg_lr_cosine(0.1, 4, 0), 5, 0);
    expect_lr(&s, 0, 0);
    expect_lr(&s, 1, 0.02);
    expect_lr(&s, 4, 0.08);
    expect_lr(&s, 5, 0.1);
    expect_lr(&s, 7, 0.05);
    expect_lr(&s, 9, 0);
    expect_lr(&s, 50, 0);
}

Test(optim_schedule, warmup_with_a_start_factor_then_step_decay) {
    /* base 0.2, W = 4, f = 0.25: lr = 0.2 (0.25 + 0.75 s / 4) for s < 4:
     *   s=0: 0.05, s=2: 0.2 * 0.625 = 0.125, s=3: 0.2 * 0.8125 = 0.1625;
     * then 0.2 * 0.1^floor((s - 4) / 2): s=4,5 -> 0.2, s=6 -> 0.02, s=8 -> 0.002. */
    tg_lr_schedule s = tg_lr_with_warmup(tg_lr_step(0.2, 2, 0.1), 4, 0.25);
    expect_lr(&s, 0, 0.05);
    expect_lr(&s, 2, 0.125);
    expect_lr(&s, 3, 0.1625);
    expect_lr(&s, 4, 0.2);
    expect_lr(&s, 5, 0.2);
    expect_lr(&s, 6, 0.2 * 0.1);
    expect_lr(&s, 8, 0.2 * 0.1 * 0.1);
}

Test(optim_schedule, warmup_then_exponential_and_constant) {
    /* PyTorch's LinearLR default start factor is 1/3: over W = 3 steps,
     * base (1/3 + (2/3) s / 3): s=0 -> base/3, s=1 -> 5 base/9, s=2 -> 7 base/9. */
    tg_lr_schedule e = tg_lr_with_warmup(tg_lr_exponential(0.9, 0.5), 3, 1.0 / 3);
    expect_lr(&e, 0, 0.3);
    expect_lr(&e, 1, 0.5);
    expect_lr(&e, 2, 0.7);
    expect_lr(&e, 3, 0.9);
    expect_lr(&e, 5, 0.225); /* 0.9 * 0.5^2 */
    tg_lr_schedule c = tg_lr_with_warmup(tg_lr_constant(0.9), 3, 1.0 / 3);
    expect_lr(&c, 1, 0.5);
    expect_lr(&c, 3, 0.9);
    expect_lr(&c, 300, 0.9);
}

Test(optim_schedule, apply_sets_the_lr_of_the_current_step) {
    /* SGD, gradient 1, step schedule 0.1 * 0.5^floor(s / 2): the five updates
     * use 0.1, 0.1, 0.05, 0.05, 0.025, so w = 1 - 0.325 = 0.675. */
    tg_tensor *w = tg_from_doubles(TG_F64, 1, (const int64_t[]){1}, (const double[]){1});
    tg_set_requires_grad(w, true);
    tg_optimizer *opt = tg_sgd_new(1, &w, 1);
    tg_lr_schedule s = tg_lr_step(0.1, 2, 0.5);
    const double lrs[5] = {0.1, 0.1, 0.05, 0.05, 0.025};
    for (int t = 0; t < 5; t++) {
        set_grad(w, (const double[]){1});
        cr_assert_eq(tg_lr_schedule_apply(&s, opt), TG_OK);
        cr_assert_eq(tg_optimizer_lr(opt), lrs[t], "step %d: lr %g", t, tg_optimizer_lr(opt));
        cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    }
    cr_assert(fabs(tg_get_flat(w, 0) - 0.675) < 1e-15);
    cr_assert_eq(tg_optimizer_step_count(opt), 5);
    tg_optimizer_free(opt);
    tg_free(w);
}

Test(optim_schedule, apply_may_set_a_zero_lr) {
    /* Warm-up from 0: the first update makes no change. */
    tg_tensor *w = tg_from_doubles(TG_F64, 1, (const int64_t[]){1}, (const double[]){1});
    tg_set_requires_grad(w, true);
    tg_optimizer *opt = tg_adam_new(1, &w, 1e-3);
    tg_lr_schedule s = tg_lr_with_warmup(tg_lr_constant(0.1), 10, 0);
    set_grad(w, (const double[]){1});
    cr_assert_eq(tg_lr_schedule_apply(&s, opt), TG_OK);
    cr_assert_eq(tg_optimizer_lr(opt), 0);
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    cr_assert_eq(tg_get_flat(w, 0), 1.0);
    cr_assert_eq(tg_lr_schedule_apply(&s, opt), TG_OK);
    cr_assert(fabs(tg_optimizer_lr(opt) - 0.01) < 1e-17);
    tg_optimizer_free(opt);
    tg_free(w);
}

/* tg_lr_schedule_at refuses s (NaN, TG_ERR_ARGUMENT) with `fragment` in the message. */
static void expect_refused(tg_lr_schedule s, int64_t step, const char *fragment) {
    tg_clear_error();
    double lr = tg_lr_schedule_at(&s, step);
    cr_assert(isnan(lr), "expected NaN for '%s', got %g", fragment, lr);
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    const char *message = tg_last_error_message();
    cr_assert(strstr(message, "tg_lr_schedule_at"), "message '%s' does not name the function", message);
    cr_assert(strstr(message, fragment), "message '%s' does not mention '%s'", message, fragment);
}

Test(optim_schedule, bad_schedules_are_refused) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    expect_refused(tg_lr_constant(0), 0, "base_lr must be finite and > 0, got 0");
    expect_refused(tg_lr_constant(NAN), 0, "base_lr");
    expect_refused(tg_lr_constant(0.1), -1, "step must be >= 0, got -1");
    expect_refused(tg_lr_step(0.1, 0, 0.5), 0, "step_size must be >= 1, got 0");
    expect_refused(tg_lr_step(0.1, 2, 0), 0, "gamma must be in (0, 1], got 0");
    expect_refused(tg_lr_exponential(0.1, 1.5), 0, "gamma must be in (0, 1], got 1.5");
    expect_refused(tg_lr_exponential(0.1, NAN), 0, "gamma");
    expect_refused(tg_lr_cosine(0.1, 0, 0), 0, "t_max must be >= 1, got 0");
    expect_refused(tg_lr_cosine(0.1, 10, 0.2), 0, "min_lr must be in [0, base_lr = 0.1], got 0.2");
    expect_refused(tg_lr_cosine(0.1, 10, -0.01), 0, "min_lr");
    expect_refused(tg_lr_with_warmup(tg_lr_constant(0.1), -1, 0), 0, "warmup_steps must be >= 0, got -1");
    expect_refused(tg_lr_with_warmup(tg_lr_constant(0.1), 5, 2), 0, "warmup_start_factor must be in [0, 1], got 2");
    tg_lr_schedule unknown = tg_lr_constant(0.1);
    unknown.decay = (tg_lr_decay)17;
    expect_refused(unknown, 0, "unknown decay 17");
    tg_clear_error();
    cr_assert(isnan(tg_lr_schedule_at(NULL, 0)));
    cr_assert(strstr(tg_last_error_message(), "schedule is NULL"));
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_clear_error();
}

Test(optim_schedule, apply_refuses_without_changing_the_lr) {
    tg_tensor *w = tg_from_doubles(TG_F64, 1, (const int64_t[]){1}, (const double[]){1});
    tg_set_requires_grad(w, true);
    tg_optimizer *opt = tg_sgd_new(1, &w, 0.3);
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_lr_schedule bad = tg_lr_step(0.1, 0, 0.5);
    cr_assert_eq(tg_lr_schedule_apply(&bad, opt), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_lr_schedule_apply"));
    cr_assert_eq(tg_optimizer_lr(opt), 0.3);
    tg_lr_schedule good = tg_lr_constant(0.1);
    cr_assert_eq(tg_lr_schedule_apply(&good, NULL), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_lr_schedule_apply(NULL, opt), TG_ERR_ARGUMENT);
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_clear_error();
    tg_optimizer_free(opt);
    tg_free(w);
}
