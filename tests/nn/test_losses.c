/* tests/nn/test_losses.c — the losses of nn.h (MSE, BCE, BCE with logits,
 * softmax cross-entropy, Huber) and the accuracy metrics: values against the
 * formulas evaluated by hand in plain C, gradients against their closed forms
 * (the seed articles' dZ = (A - y)/m, softmax - one-hot) and against finite
 * differences (tg_gradcheck in float64), and the errors for bad shapes and
 * labels. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

static void assert_close(double got, double want, double rel, const char *what) {
    double tol = rel * fmax(fabs(want), 1e-3);
    cr_assert(fabs(got - want) <= tol, "%s: got %.17g, want %.17g (tol %.3g)", what, got, want, tol);
}

/* ---- gradcheck of every loss, float64, full Jacobian ---- */

typedef enum loss_kind { MSE, BCE, BCE_LOGITS, HUBER_SMALL, HUBER_LARGE, CROSS_ENTROPY } loss_kind;

typedef struct loss_ctx {
    loss_kind kind;
    const tg_tensor *labels; /* cross-entropy only */
} loss_ctx;

static tg_tensor *loss_of(tg_tensor *const *in, int n, void *ctx) {
    (void)n;
    const loss_ctx *c = ctx;
    switch (c->kind) {
    case MSE: return tg_mse_loss(in[0], in[1]);
    case BCE: return tg_bce_loss(in[0], in[1]);
    case BCE_LOGITS: return tg_bce_with_logits_loss(in[0], in[1]);
    case HUBER_SMALL: return tg_huber_loss(in[0], in[1], 0.5); /* mostly linear */
    case HUBER_LARGE: return tg_huber_loss(in[0], in[1], 10.0); /* all quadratic */
    case CROSS_ENTROPY: return tg_cross_entropy_loss(in[0], c->labels);
    }
    return NULL;
}

static void gradcheck_loss(loss_ctx *ctx, int n, tg_tensor **inputs, const char *what) {
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-8;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(loss_of, ctx, n, inputs, &options, &result), TG_OK, "%s: %s", what,
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s: %s", what, tg_gradcheck_describe(&result, text, sizeof text));
    cr_assert_gt(result.entries_checked, 0);
    for (int i = 0; i < n; i++) tg_free(inputs[i]);
}

Test(nn_losses, mse_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(1);
    tg_tensor *in[2] = {tg_gradcheck_input(&rng, 2, (int64_t[]){3, 2}, -2, 2, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 2, (int64_t[]){3, 2}, -2, 2, 0, NULL, 0)};
    gradcheck_loss(&(loss_ctx){MSE, NULL}, 2, in, "mse");
}

/* Probabilities away from 0 and 1; the target is an input too (the loss is
 * linear in it). */
Test(nn_losses, bce_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(2);
    tg_tensor *in[2] = {tg_gradcheck_input(&rng, 2, (int64_t[]){4, 1}, 0.05, 0.95, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 2, (int64_t[]){4, 1}, 0, 1, 0, NULL, 0)};
    gradcheck_loss(&(loss_ctx){BCE, NULL}, 2, in, "bce");
}

/* Logits on both sides of 0 (the loss is smooth there: no avoidance). */
Test(nn_losses, bce_with_logits_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(3);
    tg_tensor *in[2] = {tg_gradcheck_input(&rng, 1, (int64_t[]){6}, -6, 6, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 1, (int64_t[]){6}, 0, 1, 0, NULL, 0)};
    gradcheck_loss(&(loss_ctx){BCE_LOGITS, NULL}, 2, in, "bce_with_logits");
}

/* Both regimes; d = pred - target kept away from +-delta, where the second
 * derivative jumps (the first is continuous, so this is only for accuracy). */
Test(nn_losses, huber_passes_gradcheck_in_both_regimes) {
    tg_rng rng = tg_rng_seeded(4);
    tg_tensor *zero = tg_zeros(TG_F64, 1, (int64_t[]){8});
    double kinks[] = {-0.5, 0.5};
    tg_tensor *pred = tg_gradcheck_input(&rng, 1, (int64_t[]){8}, -3, 3, 2, kinks, 0.05);
    tg_tensor *in[2] = {pred, tg_clone(zero)};
    gradcheck_loss(&(loss_ctx){HUBER_SMALL, NULL}, 2, in, "huber, delta 0.5");
    tg_tensor *in2[2] = {tg_gradcheck_input(&rng, 1, (int64_t[]){8}, -3, 3, 0, NULL, 0), tg_clone(zero)};
    gradcheck_loss(&(loss_ctx){HUBER_LARGE, NULL}, 2, in2, "huber, delta 10");
    tg_free(zero);
}

Test(nn_losses, cross_entropy_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(5);
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){4}, (double[]){2, 0, 4, 2});
    tg_tensor *in[1] = {tg_gradcheck_input(&rng, 2, (int64_t[]){4, 5}, -3, 3, 0, NULL, 0)};
    gradcheck_loss(&(loss_ctx){CROSS_ENTROPY, labels}, 1, in, "cross_entropy");
    tg_free(labels);
}

/* ---- values by hand ---- */

Test(nn_losses, mse_value_and_gradient) {
    const double p[] = {1.0, -2.0, 0.5, 3.0}, t[] = {0.0, -1.0, 0.5, 1.0};
    tg_tensor *pred = make(TG_F64, 2, (int64_t[]){2, 2}, p), *target = make(TG_F64, 2, (int64_t[]){2, 2}, t);
    tg_set_requires_grad(pred, true);
    tg_tensor *loss = tg_mse_loss(pred, target);
    cr_assert_eq(loss->rank, 0);
    /* (1 + 1 + 0 + 4) / 4 */
    cr_assert_eq(tg_item(loss), 1.5);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    for (int i = 0; i < 4; i++) cr_assert_eq(tg_get_flat(tg_grad(pred), i), 2 * (p[i] - t[i]) / 4, "d/dpred[%d]", i);
    tg_free(pred);
    tg_free(target);
    reset_tape();
}

Test(nn_losses, bce_value_is_the_mean_of_the_formula) {
    const double p[] = {0.9, 0.2, 0.6, 0.01}, y[] = {1, 0, 0, 1};
    tg_tensor *prob = make(TG_F64, 1, (int64_t[]){4}, p), *target = make(TG_F64, 1, (int64_t[]){4}, y);
    double want = 0;
    for (int i = 0; i < 4; i++) want -= (y[i] * log(p[i]) + (1 - y[i]) * log(1 - p[i])) / 4;
    assert_close(tg_item(tg_bce_loss(prob, target)), want, 1e-15, "bce");
    tg_free(prob);
    tg_free(target);
    reset_tape();
}

/* Seeds 000/001: with A = sigmoid(Z) and the cost their way, dcost/dZ =
 * (A - y) / m, to 1e-12. */
Test(nn_losses, bce_after_sigmoid_gives_the_closed_form_at_the_logits) {
    tg_rng rng = tg_rng_seeded(11);
    for (int trial = 0; trial < 10; trial++) {
        int m = 1 + (int)tg_rng_below(&rng, 40);
        tg_tensor *W = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){1, 3}, 0, 1);
        tg_tensor *X = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){3, m}, 0, 2);
        tg_tensor *y = tg_zeros(TG_F64, 2, (int64_t[]){1, m});
        for (int i = 0; i < m; i++) tg_set_flat(y, i, (double)tg_rng_below(&rng, 2));
        tg_set_requires_grad(W, true);
        tg_tensor *Z = tg_matmul(W, X), *A = tg_sigmoid(Z);
        tg_tensor *cost = tg_bce_loss(A, y), *dZ;
        cr_assert_eq(tg_gradients(cost, NULL, 1, &Z, &dZ, false), TG_OK, "%s", tg_last_error_message());
        for (int i = 0; i < m; i++) {
            double want = (sigmoid(tg_get_flat(Z, i)) - tg_get_flat(y, i)) / m;
            cr_assert(fabs(tg_get_flat(dZ, i) - want) <= 1e-12 * fmax(fabs(want), 1e-2), "m=%d dZ[%d]: %.17g vs %.17g",
                      m, i, tg_get_flat(dZ, i), want);
        }
        tg_free(W);
        tg_free(X);
        tg_free(y);
        reset_tape();
    }
}

/* At z = +-1000 the loss is finite (1000 where the label disagrees, 0 where
 * it agrees) and the gradient (sigmoid(z) - y)/m is exactly 0 or +-1/m. */
Test(nn_losses, bce_with_logits_is_finite_at_plus_minus_1000) {
    const double z[] = {1000, 1000, -1000, -1000}, y[] = {0, 1, 0, 1};
    const double m = 4;
    tg_dtype dtypes[2] = {TG_F64, TG_F32};
    for (int d = 0; d < 2; d++) {
        tg_tensor *logits = tg_from_doubles(dtypes[d], 1, (int64_t[]){4}, z);
        tg_tensor *target = tg_from_doubles(dtypes[d], 1, (int64_t[]){4}, y);
        tg_set_requires_grad(logits, true);
        tg_tensor *loss = tg_bce_with_logits_loss(logits, target);
        cr_assert_eq(tg_item(loss), (1000 + 0 + 0 + 1000) / m, "%s loss %.17g", tg_dtype_name(dtypes[d]),
                     tg_item(loss));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        const double want[] = {1 / m, 0, 0, -1 / m};
        for (int i = 0; i < 4; i++) {
            double g = tg_get_flat(tg_grad(logits), i);
            cr_assert(isfinite(g) && g == want[i], "%s d/dz[%d] = %.17g, want %.17g", tg_dtype_name(dtypes[d]), i, g,
                      want[i]);
        }
        tg_free(logits);
        tg_free(target);
        reset_tape();
    }
}

/* The same loss as bce(sigmoid(z)) where the latter is accurate, and the
 * same gradient; at z = 0 exactly the gradient is (1/2 - y)/m (a relu + abs
 * composition would give -y/m there). */
Test(nn_losses, bce_with_logits_equals_bce_of_sigmoid_for_moderate_logits) {
    tg_rng rng = tg_rng_seeded(12);
    tg_tensor *z = tg_rand_uniform(&rng, TG_F64, 2, (int64_t[]){7, 1}, -8, 8);
    tg_set_flat(z, 3, 0.0);
    tg_tensor *y = tg_zeros(TG_F64, 2, (int64_t[]){7, 1});
    for (int i = 0; i < 7; i++) tg_set_flat(y, i, (double)(i % 2));
    tg_set_requires_grad(z, true);
    tg_tensor *stable = tg_bce_with_logits_loss(z, y), *plain = tg_bce_loss(tg_sigmoid(z), y);
    assert_close(tg_item(stable), tg_item(plain), 1e-13, "loss");
    tg_tensor *g_stable, *g_plain;
    cr_assert_eq(tg_gradients(stable, NULL, 1, &z, &g_stable, false), TG_OK);
    cr_assert_eq(tg_gradients(plain, NULL, 1, &z, &g_plain, false), TG_OK);
    for (int i = 0; i < 7; i++) {
        double want = (sigmoid(tg_get_flat(z, i)) - tg_get_flat(y, i)) / 7;
        assert_close(tg_get_flat(g_stable, i), want, 1e-13, "stable gradient");
        assert_close(tg_get_flat(g_plain, i), want, 1e-12, "plain gradient");
    }
    cr_assert_eq(tg_get_flat(g_stable, 3), (0.5 - tg_get_flat(y, 3)) / 7, "at z = 0");
    tg_free(z);
    tg_free(y);
    reset_tape();
}

/* loss = mean over rows of -log softmax(logits)[label], computed by hand;
 * gradient (softmax - one_hot) / batch. */
Test(nn_losses, cross_entropy_is_minus_log_softmax_at_the_label) {
    const double v[] = {2.0, 1.0, 0.1, -1.0, 0.5, 0.5, 3.0, -2.0, 0.0, 0.0, 0.0, 0.0};
    const double labels_v[] = {0, 3, 1};
    const int batch = 3, classes = 4;
    tg_tensor *logits = make(TG_F64, 2, (int64_t[]){3, 4}, v), *labels = make(TG_F64, 1, (int64_t[]){3}, labels_v);
    tg_set_requires_grad(logits, true);
    tg_tensor *loss = tg_cross_entropy_loss(logits, labels);
    cr_assert_eq(loss->rank, 0);
    double want = 0, softmax[12];
    for (int r = 0; r < batch; r++) {
        double m = -INFINITY, z = 0;
        for (int c = 0; c < classes; c++) m = fmax(m, v[r * classes + c]);
        for (int c = 0; c < classes; c++) z += exp(v[r * classes + c] - m);
        for (int c = 0; c < classes; c++) softmax[r * classes + c] = exp(v[r * classes + c] - m) / z;
        want -= log(softmax[r * classes + (int)labels_v[r]]) / batch;
    }
    assert_close(tg_item(loss), want, 1e-14, "cross-entropy");
    tg_tensor *grad;
    cr_assert_eq(tg_gradients(loss, NULL, 1, &logits, &grad, false), TG_OK);
    for (int r = 0; r < batch; r++)
        for (int c = 0; c < classes; c++) {
            double g = (softmax[r * classes + c] - (c == (int)labels_v[r])) / batch;
            double got = tg_get_flat(grad, r * classes + c);
            cr_assert(fabs(got - g) <= 1e-12 * fmax(fabs(g), 1e-2), "[%d][%d]: %.17g vs %.17g", r, c, got, g);
        }
    tg_free(logits);
    tg_free(labels);
    reset_tape();
}

/* The one-hot lives on the tape: the caller may free its labels as soon as
 * the loss is built, backward still reads valid memory (ASan checks it), and
 * nothing is left to free but the tape. Labels of another dtype are fine. */
Test(nn_losses, cross_entropy_needs_its_labels_only_while_it_is_built) {
    tg_tensor *logits = tg_from_doubles(TG_F32, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 3, 2, 1});
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){2}, (double[]){2, 0});
    tg_set_requires_grad(logits, true);
    tg_tensor *loss = tg_cross_entropy_loss(logits, labels);
    tg_free(labels);
    cr_assert_eq(loss->dtype, TG_F32);
    double want = -log(exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0))); /* both rows alike */
    cr_assert(fabs(tg_item(loss) - want) < 1e-6, "float32 loss %.9g vs %.9g", tg_item(loss), want);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    double s3 = exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0));
    cr_assert(fabs(tg_get_flat(tg_grad(logits), 2) - (s3 - 1) / 2) < 1e-7);
    cr_assert(fabs(tg_get_flat(tg_grad(logits), 3) - (s3 - 1) / 2) < 1e-7);
    tg_free(logits);
    reset_tape();
}

Test(nn_losses, cross_entropy_is_finite_for_extreme_logits) {
    tg_tensor *logits = make(TG_F64, 2, (int64_t[]){2, 2}, (double[]){1000, -1000, 1000, -1000});
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, 1});
    tg_set_requires_grad(logits, true);
    tg_tensor *loss = tg_cross_entropy_loss(logits, labels);
    cr_assert_eq(tg_item(loss), 1000.0, "(0 + 2000) / 2");
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    const double want[] = {0, 0, 0.5, -0.5};
    for (int i = 0; i < 4; i++) cr_assert_eq(tg_get_flat(tg_grad(logits), i), want[i], "[%d]", i);
    tg_free(logits);
    tg_free(labels);
    reset_tape();
}

/* Masked logits (an attention mask writes -inf): a class at -inf has
 * probability 0 and takes no part in the loss, which is finite and the same
 * as without that class. The cases:
 *   row 0: (2, -inf, 0.5), label 0: log(1 + e^-1.5) = 0.20141327798275246
 *   row 1: (2, -1e30, 0.5), label 0: the same (e^-1e30 is 0 in float64)
 *   row 2: (-inf, 1, -inf, 0) in 4 classes, label 3: log(1 + e) = 1.3132616875182228
 * Values by hand (log1p in plain C); PyTorch 1.13's F.cross_entropy gives
 * 0.20141327798275246 for rows 0 and 1 and 1.3132616875182228 for row 2, with
 * gradients (-0.0912, 0, 0.0912) and (0, 0.7311, 0, -0.7311). The gradient is
 * softmax - one_hot (over the batch), exactly 0 at a -inf class. */
static void check_masked_cross_entropy(tg_dtype dtype, int classes, const double *v, const double *labels_v,
                                       int batch, double rel) {
    tg_tensor *logits = tg_from_doubles(dtype, 2, (int64_t[]){batch, classes}, v);
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){batch}, labels_v);
    tg_set_requires_grad(logits, true);
    tg_tensor *loss = tg_cross_entropy_loss(logits, labels);
    cr_assert_not_null(loss, "%s", tg_last_error_message());
    double want = 0, softmax[16];
    for (int r = 0; r < batch; r++) {
        double m = -INFINITY, z = 0;
        for (int c = 0; c < classes; c++) m = fmax(m, v[r * classes + c]);
        for (int c = 0; c < classes; c++) z += exp(v[r * classes + c] - m);
        for (int c = 0; c < classes; c++) softmax[r * classes + c] = exp(v[r * classes + c] - m) / z;
        want -= log(softmax[r * classes + (int)labels_v[r]]) / batch;
    }
    cr_assert(isfinite(tg_item(loss)), "%s loss %g", tg_dtype_name(dtype), tg_item(loss));
    assert_close(tg_item(loss), want, rel, "masked cross-entropy");
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    for (int r = 0; r < batch; r++)
        for (int c = 0; c < classes; c++) {
            double g = (softmax[r * classes + c] - (c == (int)labels_v[r])) / batch;
            double got = tg_get_flat(tg_grad(logits), r * classes + c);
            cr_assert(isfinite(got), "%s [%d][%d] gradient %g", tg_dtype_name(dtype), r, c, got);
            if (isinf(v[r * classes + c])) cr_assert_eq(got, 0.0, "[%d][%d]: a -inf class gets 0", r, c);
            cr_assert(fabs(got - g) <= rel * fmax(fabs(g), 1e-2), "%s [%d][%d]: %.17g vs %.17g",
                      tg_dtype_name(dtype), r, c, got, g);
        }
    tg_free(logits);
    tg_free(labels);
    reset_tape();
}

Test(nn_losses, cross_entropy_is_finite_with_a_minus_inf_logit) {
    const double v[] = {2.0, -INFINITY, 0.5, 2.0, -INFINITY, 0.5};
    check_masked_cross_entropy(TG_F64, 3, v, (double[]){0, 0}, 2, 1e-14);
    check_masked_cross_entropy(TG_F32, 3, v, (double[]){0, 0}, 2, 1e-6);
    reset_tape();
    tg_tensor *logits = tg_from_doubles(TG_F64, 2, (int64_t[]){1, 3}, v);
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){1}, (double[]){0});
    assert_close(tg_item(tg_cross_entropy_loss(logits, labels)), 0.20141327798275246, 1e-15, "PyTorch's value");
    tg_free(logits);
    tg_free(labels);
    reset_tape();
}

Test(nn_losses, cross_entropy_with_a_very_negative_finite_logit) {
    const double v[] = {2.0, -1e30, 0.5};
    check_masked_cross_entropy(TG_F64, 3, v, (double[]){0}, 1, 1e-14);
    check_masked_cross_entropy(TG_F32, 3, v, (double[]){0}, 1, 1e-6);
}

Test(nn_losses, cross_entropy_with_minus_inf_in_several_classes) {
    const double v[] = {-INFINITY, 1.0, -INFINITY, 0.0, 0.5, -INFINITY, -INFINITY, 2.0};
    check_masked_cross_entropy(TG_F64, 4, v, (double[]){3, 0}, 2, 1e-14);
    check_masked_cross_entropy(TG_F32, 4, v, (double[]){3, 0}, 2, 1e-6);
    tg_tensor *logits = tg_from_doubles(TG_F64, 2, (int64_t[]){1, 4}, v);
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){1}, (double[]){3});
    assert_close(tg_item(tg_cross_entropy_loss(logits, labels)), 1.3132616875182228, 1e-15, "PyTorch's value");
    tg_free(logits);
    tg_free(labels);
    reset_tape();
}

/* Infinite logits whose label agrees cost 0 (the math: -log sigmoid(+inf)
 * = 0); disagreeing ones cost +inf; the gradient (sigmoid(z) - y) / m is
 * finite everywhere: 0, 0, -1/m, +1/m. softplus(z) - z y would compute
 * -inf * 0 and inf - inf here (PyTorch 1.13's BCEWithLogits gives NaN for
 * all four of these as well). */
Test(nn_losses, bce_with_logits_at_infinite_logits) {
    const double m = 2;
    tg_dtype dtypes[2] = {TG_F64, TG_F32};
    for (int d = 0; d < 2; d++) {
        tg_tensor *logits = tg_from_doubles(dtypes[d], 1, (int64_t[]){2}, (double[]){-INFINITY, INFINITY});
        tg_tensor *target = tg_from_doubles(dtypes[d], 1, (int64_t[]){2}, (double[]){0, 1});
        tg_set_requires_grad(logits, true);
        tg_tensor *loss = tg_bce_with_logits_loss(logits, target);
        cr_assert_eq(tg_item(loss), 0.0, "%s: agreeing infinite logits cost %g", tg_dtype_name(dtypes[d]),
                     tg_item(loss));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        for (int i = 0; i < 2; i++)
            cr_assert_eq(tg_get_flat(tg_grad(logits), i), 0.0, "%s d/dz[%d] = %g", tg_dtype_name(dtypes[d]), i,
                         tg_get_flat(tg_grad(logits), i));
        tg_free(target);
        reset_tape();
        target = tg_from_doubles(dtypes[d], 1, (int64_t[]){2}, (double[]){1, 0});
        tg_set_grad_to_none(logits);
        loss = tg_bce_with_logits_loss(logits, target);
        cr_assert(isinf(tg_item(loss)) && tg_item(loss) > 0, "%s: disagreeing ones cost %g",
                  tg_dtype_name(dtypes[d]), tg_item(loss));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        cr_assert_eq(tg_get_flat(tg_grad(logits), 0), -1 / m, "%s", tg_dtype_name(dtypes[d]));
        cr_assert_eq(tg_get_flat(tg_grad(logits), 1), 1 / m, "%s", tg_dtype_name(dtypes[d]));
        tg_free(logits);
        tg_free(target);
        reset_tape();
    }
}

/* softplus(-inf) = 0 with gradient 0, softplus(+inf) = +inf with gradient 1
 * (log(1 + e^x) and its derivative sigmoid(x) at the limits); x * [x > 0]
 * would give -inf * 0 = NaN at -inf. */
Test(nn_losses, softplus_at_infinities) {
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){-INFINITY, INFINITY});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_softplus(x);
    cr_assert_eq(tg_get_flat(y, 0), 0.0, "softplus(-inf) = %g", tg_get_flat(y, 0));
    cr_assert(isinf(tg_get_flat(y, 1)) && tg_get_flat(y, 1) > 0, "softplus(inf) = %g", tg_get_flat(y, 1));
    cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
    cr_assert_eq(tg_get_flat(tg_grad(x), 0), 0.0);
    cr_assert_eq(tg_get_flat(tg_grad(x), 1), 1.0);
    tg_free(x);
    reset_tape();
}

/* Huber, delta = 1: |d| <= 1 gives d^2/2, else |d| - 1/2; gradient d inside,
 * sign(d) outside (and exactly d at |d| = delta, where the pieces meet). */
Test(nn_losses, huber_in_both_regimes) {
    const double d[] = {0.0, 0.5, -0.8, 1.0, 3.0, -4.0, 1e200};
    const int n = 7;
    tg_tensor *pred = make(TG_F64, 1, (int64_t[]){7}, d), *target = tg_zeros(TG_F64, 1, (int64_t[]){7});
    tg_set_requires_grad(pred, true);
    tg_tensor *loss = tg_huber_loss(pred, target, 1.0);
    double want = 0;
    for (int i = 0; i < n; i++) want += (fabs(d[i]) <= 1 ? 0.5 * d[i] * d[i] : fabs(d[i]) - 0.5) / n;
    assert_close(tg_item(loss), want, 1e-15, "huber"); /* finite although 1e200^2 is not */
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    const double grad[] = {0.0, 0.5, -0.8, 1.0, 1.0, -1.0, 1.0};
    for (int i = 0; i < n; i++) assert_close(tg_get_flat(tg_grad(pred), i), grad[i] / n, 1e-15, "huber gradient");
    tg_free(pred);
    tg_free(target);
    reset_tape();
    /* Another delta, on rank 0: 2 (|d| - 1) = 4 for d = 3 > 2; d^2/2 = 0.5 for d = 1 < 2. */
    tg_tensor *three = tg_scalar(TG_F64, 3.0), *one = tg_scalar(TG_F64, 1.0), *zero = tg_scalar(TG_F64, 0.0);
    cr_assert_eq(tg_item(tg_huber_loss(three, zero, 2.0)), 4.0);
    cr_assert_eq(tg_item(tg_huber_loss(one, zero, 2.0)), 0.5);
    tg_free(three);
    tg_free(one);
    tg_free(zero);
    reset_tape();
}

/* Every loss in float32: the same values as in float64 to float32 accuracy,
 * and a float32 result. */
Test(nn_losses, every_loss_runs_in_float32) {
    const double a[] = {0.3, 0.8, 0.55, 0.1, 0.9, 0.45}, b[] = {0, 1, 1, 0, 1, 0};
    const double labels_v[] = {1, 0};
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){2}, labels_v);
    tg_tensor *x[2], *t[2];
    double values[2][6];
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = d == 0 ? TG_F64 : TG_F32;
        x[d] = tg_from_doubles(dtype, 2, (int64_t[]){2, 3}, a);
        t[d] = tg_from_doubles(dtype, 2, (int64_t[]){2, 3}, b);
        tg_tensor *losses[6] = {tg_mse_loss(x[d], t[d]), tg_bce_loss(x[d], t[d]), tg_bce_with_logits_loss(x[d], t[d]),
                                tg_huber_loss(x[d], t[d], 0.5), tg_cross_entropy_loss(x[d], labels),
                                tg_huber_loss(x[d], t[d], 0.01)};
        for (int k = 0; k < 6; k++) {
            cr_assert_not_null(losses[k], "loss %d", k);
            cr_assert_eq(losses[k]->dtype, dtype, "loss %d keeps the dtype", k);
            cr_assert_eq(losses[k]->rank, 0);
            values[d][k] = tg_item(losses[k]);
        }
    }
    for (int k = 0; k < 6; k++)
        cr_assert(fabs(values[1][k] - values[0][k]) <= 1e-6 * fabs(values[0][k]) + 1e-7, "loss %d: %.9g vs %.9g", k,
                  values[1][k], values[0][k]);
    for (int d = 0; d < 2; d++) {
        tg_free(x[d]);
        tg_free(t[d]);
    }
    tg_free(labels);
    reset_tape();
}

/* ---- errors ---- */

Test(nn_losses, mismatched_shapes_and_dtypes_are_refused_by_name) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_tensor *col = tg_zeros(TG_F64, 2, (int64_t[]){4, 1}), *vec = tg_zeros(TG_F64, 1, (int64_t[]){4});
    tg_tensor *col32 = tg_zeros(TG_F32, 2, (int64_t[]){4, 1}), *empty = tg_zeros(TG_F64, 1, (int64_t[]){0});
    /* (4,1) against (4) would broadcast to (4,4): refused, both shapes named. */
    cr_assert_null(tg_mse_loss(col, vec));
    assert_error(TG_ERR_SHAPE, "tg_mse_loss", "(4,1)");
    cr_assert_null(tg_bce_loss(col, vec));
    assert_error(TG_ERR_SHAPE, "tg_bce_loss", "(4)");
    cr_assert_null(tg_bce_with_logits_loss(vec, col));
    assert_error(TG_ERR_SHAPE, "tg_bce_with_logits_loss", "(4,1)");
    cr_assert_null(tg_huber_loss(col, vec, 1.0));
    assert_error(TG_ERR_SHAPE, "tg_huber_loss", "(4)");
    cr_assert_null(tg_mse_loss(col, col32));
    assert_error(TG_ERR_DTYPE, "tg_mse_loss", "float32");
    cr_assert_null(tg_mse_loss(empty, empty));
    assert_error(TG_ERR_SHAPE, "tg_mse_loss", "zero elements");
    cr_assert_null(tg_huber_loss(col, col, 0.0));
    assert_error(TG_ERR_ARGUMENT, "tg_huber_loss", "delta");
    cr_assert_null(tg_huber_loss(col, col, NAN));
    assert_error(TG_ERR_ARGUMENT, "tg_huber_loss", "delta");
    cr_assert_null(tg_mse_loss(NULL, col));
    assert_error(TG_ERR_ARGUMENT, "tg_mse_loss", "pred");
    cr_assert_null(tg_bce_loss(col, NULL));
    assert_error(TG_ERR_ARGUMENT, "tg_bce_loss", "target");
    tg_free(col);
    tg_free(vec);
    tg_free(col32);
    tg_free(empty);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(nn_losses, cross_entropy_refuses_bad_labels_and_shapes) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_tensor *logits = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    const double bad[][2] = {{0, 3}, {-1, 0}, {0, 2.5}, {NAN, 0}, {INFINITY, 0}};
    const char *mention[] = {"label 3 at row 1", "label -1 at row 0", "label 2.5 at row 1", "row 0", "row 0"};
    for (int k = 0; k < 5; k++) {
        tg_tensor *labels = make(TG_F64, 1, (int64_t[]){2}, bad[k]);
        cr_assert_null(tg_cross_entropy_loss(logits, labels), "case %d", k);
        assert_error(TG_ERR_ARGUMENT, "tg_cross_entropy_loss", mention[k]);
        tg_free(labels);
    }
    tg_tensor *three = make(TG_F64, 1, (int64_t[]){3}, (double[]){0, 1, 2});
    cr_assert_null(tg_cross_entropy_loss(logits, three));
    assert_error(TG_ERR_SHAPE, "tg_cross_entropy_loss", "(2,3)");
    tg_tensor *one_hot = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    cr_assert_null(tg_cross_entropy_loss(logits, one_hot));
    assert_error(TG_ERR_SHAPE, "tg_cross_entropy_loss", "labels must have shape (2)");
    tg_tensor *flat = tg_zeros(TG_F64, 1, (int64_t[]){3});
    cr_assert_null(tg_cross_entropy_loss(flat, three));
    assert_error(TG_ERR_SHAPE, "tg_cross_entropy_loss", "(batch, classes)");
    cr_assert_null(tg_cross_entropy_loss(NULL, three));
    assert_error(TG_ERR_ARGUMENT, "tg_cross_entropy_loss", "logits");
    cr_assert_null(tg_cross_entropy_loss(logits, NULL));
    assert_error(TG_ERR_ARGUMENT, "tg_cross_entropy_loss", "labels");
    tg_free(logits);
    tg_free(three);
    tg_free(one_hot);
    tg_free(flat);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- metrics ---- */

Test(nn_losses, accuracy_counts_rows_whose_first_argmax_is_the_label) {
    /* Row arg-maxes: 2, 0 (a tie of 0 and 1: the first wins), 1, 0. */
    tg_tensor *scores = make(TG_F64, 2, (int64_t[]){4, 3}, (double[]){0.1, 0.2, 0.7, 5, 5, 1, -1, 3, 2, 9, 1, 1});
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){4}, (double[]){2, 1, 1, 2});
    cr_assert_eq(tg_accuracy(scores, labels), 0.5);
    tg_tensor *all = make(TG_F64, 1, (int64_t[]){4}, (double[]){2, 0, 1, 0});
    cr_assert_eq(tg_accuracy(scores, all), 1.0);
    tg_free(scores);
    tg_free(labels);
    tg_free(all);
}

Test(nn_losses, binary_accuracy_thresholds_at_one_half) {
    tg_tensor *prob = make(TG_F64, 2, (int64_t[]){5, 1}, (double[]){0.5, 0.49, 0.9, 0.1, 0.7});
    tg_tensor *target = make(TG_F64, 2, (int64_t[]){5, 1}, (double[]){1, 0, 0, 0, 1});
    cr_assert_eq(tg_binary_accuracy(prob, target), 0.8); /* 0.5 counts as 1 */
    tg_free(prob);
    tg_free(target);
}

Test(nn_losses, metrics_refuse_bad_inputs_with_nan) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_tensor *scores = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    tg_tensor *labels = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, 3});
    cr_assert(isnan(tg_accuracy(scores, labels)));
    assert_error(TG_ERR_ARGUMENT, "tg_accuracy", "label 3");
    tg_tensor *short_labels = make(TG_F64, 1, (int64_t[]){1}, (double[]){0});
    cr_assert(isnan(tg_accuracy(scores, short_labels)));
    assert_error(TG_ERR_SHAPE, "tg_accuracy", "(2,3)");
    tg_tensor *prob = make(TG_F64, 1, (int64_t[]){2}, (double[]){0.2, 0.8});
    tg_tensor *soft = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, 0.5});
    cr_assert(isnan(tg_binary_accuracy(prob, soft)));
    assert_error(TG_ERR_ARGUMENT, "tg_binary_accuracy", "0.5");
    cr_assert(isnan(tg_binary_accuracy(prob, scores)));
    assert_error(TG_ERR_SHAPE, "tg_binary_accuracy", "(2,3)");
    cr_assert(isnan(tg_accuracy(NULL, labels)));
    assert_error(TG_ERR_ARGUMENT, "tg_accuracy", "scores");
    tg_free(scores);
    tg_free(labels);
    tg_free(short_labels);
    tg_free(prob);
    tg_free(soft);
    tg_set_error_mode(TG_ERRORS_ABORT);
}
