/* tests/nn/test_integer_labels.c — cross-entropy and accuracy with int64 /
 * int32 labels, and tg_cross_entropy_loss_ex's ignore_index and label
 * smoothing: values by hand, gradients by finite differences. (PyTorch's
 * F.cross_entropy is compared in tests/core/test_torch_oracle.c.) */
#include <math.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* logits [[0, 0], [ln 3, 0]]: log_softmax rows [ln 1/2, ln 1/2] and
 * [ln 3/4, ln 1/4]. */
static tg_tensor *two_rows(void) {
    return make(TG_F64, 2, (const int64_t[]){2, 2}, (const double[]){0, 0, log(3.0), 0});
}

Test(integer_labels, cross_entropy_takes_int64_and_int32_labels) {
    tg_tensor *logits = two_rows();
    tg_tensor *l64 = tg_from_array(TG_I64, 1, (const int64_t[]){2}, (const int64_t[]){1, 0});
    tg_tensor *l32 = tg_from_array(TG_I32, 1, (const int64_t[]){2}, (const int32_t[]){1, 0});
    double want = (log(2.0) + log(4.0 / 3.0)) / 2; /* -(ln 1/2 + ln 3/4) / 2 */
    cr_assert_float_eq(tg_item(tg_cross_entropy_loss(logits, l64)), want, 1e-15);
    cr_assert_float_eq(tg_item(tg_cross_entropy_loss(logits, l32)), want, 1e-15);
    /* accuracy: row 0 ties (first max is class 0, label 1: wrong), row 1 is class 0: right */
    cr_assert_eq(tg_accuracy(logits, l64), 0.5);
    cr_assert_eq(tg_accuracy(logits, l32), 0.5);
    tg_free(logits), tg_free(l64), tg_free(l32);
    reset_tape();
}

Test(integer_labels, ignore_index_leaves_rows_out_of_the_mean) {
    tg_tensor *logits = two_rows();
    tg_set_requires_grad(logits, true);
    tg_tensor *labels = tg_from_array(TG_I64, 1, (const int64_t[]){2}, (const int64_t[]){-100, 0});
    tg_tensor *loss = tg_cross_entropy_loss_ex(logits, labels, NULL);
    cr_assert_float_eq(tg_item(loss), log(4.0 / 3.0), 1e-15); /* row 1 alone */
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    /* row 0 ignored: gradient 0; row 1: softmax - one_hot = [3/4 - 1, 1/4] */
    const tg_tensor *g = tg_grad(logits);
    double want[] = {0, 0, -0.25, 0.25};
    for (int k = 0; k < 4; k++) cr_assert_float_eq(tg_get_flat(g, k), want[k], 1e-15);
    tg_tensor *all = tg_from_array(TG_I64, 1, (const int64_t[]){2}, (const int64_t[]){-100, -100});
    cr_assert(isnan(tg_item(tg_cross_entropy_loss_ex(logits, all, NULL))), "every row ignored gives NaN, as torch");
    tg_free(logits), tg_free(labels), tg_free(all);
    reset_tape();
}

Test(integer_labels, label_smoothing_mixes_in_the_uniform_target) {
    /* e = 0.2, 2 classes: row loss 0.8 nll + 0.1 (-(sum of log-probs)). */
    tg_tensor *logits = two_rows();
    tg_tensor *labels = tg_from_array(TG_I32, 1, (const int64_t[]){2}, (const int32_t[]){1, 0});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 0.2;
    double row0 = 0.8 * log(2.0) + 0.1 * (2 * log(2.0));
    double row1 = 0.8 * log(4.0 / 3.0) + 0.1 * (log(4.0 / 3.0) + log(4.0));
    cr_assert_float_eq(tg_item(tg_cross_entropy_loss_ex(logits, labels, &o)), (row0 + row1) / 2, 1e-15);
    tg_free(logits), tg_free(labels);
    reset_tape();
}

typedef struct ce_ctx {
    tg_dtype dtype;
    double smoothing;
} ce_ctx;

static tg_tensor *ce_of(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    const ce_ctx *c = ctx;
    tg_tensor *labels = tg_from_array(TG_I64, 1, (const int64_t[]){4}, (const int64_t[]){2, -100, 0, 2});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = c->smoothing;
    tg_tensor *x = c->dtype == TG_F64 ? inputs[0] : tg_to_dtype(inputs[0], c->dtype);
    tg_tensor *loss = tg_cross_entropy_loss_ex(x, labels, &o);
    tg_free(labels); /* read during the call only */
    return loss;
}

Test(integer_labels, cross_entropy_ex_gradcheck_float64_and_float32) {
    tg_rng rng = tg_rng_seeded(5);
    tg_tensor *x = tg_gradcheck_input(&rng, 2, (const int64_t[]){4, 3}, -2, 2, 0, NULL, 0);
    for (int k = 0; k < 2; k++) {
        ce_ctx ctx = {k ? TG_F32 : TG_F64, 0.15};
        tg_gradcheck_options options = tg_gradcheck_defaults();
        if (k) options.eps = 1e-3, options.atol = 2e-3, options.rtol = 2e-2;
        tg_gradcheck_result result;
        cr_assert_eq(tg_gradcheck(ce_of, &ctx, 1, &x, &options, &result), TG_OK, "%s", tg_last_error_message());
        char text[512];
        cr_assert(result.passed, "%s: %s", tg_dtype_name(ctx.dtype), tg_gradcheck_describe(&result, text, sizeof text));
    }
    tg_free(x);
}

/* Second order: the gradient of the loss, differentiated again. */
static tg_tensor *ce_gradient(tg_tensor *const *inputs, int n, void *ctx) {
    tg_tensor *loss = ce_of(inputs, n, ctx);
    tg_tensor *g;
    if (tg_gradients(loss, NULL, 1, (tg_tensor **)&inputs[0], &g, true) != TG_OK) return NULL;
    return tg_mul(g, g);
}

Test(integer_labels, cross_entropy_ex_second_order) {
    tg_rng rng = tg_rng_seeded(6);
    tg_tensor *x = tg_gradcheck_input(&rng, 2, (const int64_t[]){4, 3}, -2, 2, 0, NULL, 0);
    ce_ctx ctx = {TG_F64, 0.1};
    tg_gradcheck_options options = tg_gradcheck_defaults();
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(ce_gradient, &ctx, 1, &x, &options, &result), TG_OK, "%s", tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}
