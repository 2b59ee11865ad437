/* examples/custom_activation.c — adding your own activation and loss.
 *
 * Two ways, each shown for an activation (mish) and a loss (log-cosh):
 *
 *   (a) from primitives: write the formula with tapegrad's ops. The tape
 *       differentiates it; nothing else to write.
 *
 *           mish(x)      = x tanh(softplus(x))
 *           log_cosh(d)  = |d| + log(1 + e^(-2|d|)) - log 2   (= log cosh d)
 *
 *   (b) as a new op: a tg_op record with a forward kernel (a loop over the
 *       data, one node on the tape instead of several) and a backward rule
 *       written with public ops, like the built-in ops (op.h). Because the
 *       rule is made of ops, gradients of gradients still work.
 *
 * Each is checked with tg_gradcheck (the tape against finite differences),
 * the two versions are compared value for value, and a small network with a
 * mish layer is fitted with the log-cosh loss.
 *
 *   build/examples/custom_activation
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tapegrad.h"

/* ======================================================================
 * (a) From primitives
 * ====================================================================== */

/* mish(x) = x tanh(softplus(x)) (Misra, 2019). tg_softplus is the stable
 * log(1 + e^x) of nn.h. */
static tg_tensor *mish_from_ops(tg_tensor *x) { return tg_mul(x, tg_tanh(tg_softplus(x))); }

/* mean(log cosh(pred - target)). cosh overflows for |d| > 710, so it is
 * written as |d| + log(1 + e^(-2|d|)) - log 2, where e^ only sees arguments
 * <= 0. The kink of |d| at 0 does no harm: both terms' derivatives use
 * sign(d), and sign(d) (1 - 2 e^(-2|d|) / (1 + e^(-2|d|))) = tanh(d) is 0
 * there, which is also what tg_abs's derivative (0 at 0) gives. */
static tg_tensor *log_cosh_loss_from_ops(tg_tensor *pred, tg_tensor *target) {
    tg_tensor *abs_d = tg_abs(tg_sub(pred, target));
    tg_tensor *tail = tg_log(tg_add_scalar(tg_exp(tg_mul_scalar(abs_d, -2.0)), 1.0));
    return tg_add_scalar(tg_mean(tg_add(abs_d, tail)), -log(2.0));
}

/* ======================================================================
 * (b) As new ops
 * ====================================================================== */

/* Stable softplus on one number: log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
static double softplus1(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

/* Stable log cosh on one number (see log_cosh_loss_from_ops). */
static double log_cosh1(double d) { return fabs(d) + log1p(exp(-2 * fabs(d))) - log(2.0); }

/* ---- mish: forward y = x tanh(softplus(x)) ---- */
static void mish_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *y = node->output;
    if (x->dtype == TG_F64) {
        const double *in = x->data;
        double *out = y->data;
        for (int64_t i = 0; i < y->numel; i++) out[i] = in[i] * tanh(softplus1(in[i]));
    } else {
        const float *in = x->data;
        float *out = y->data;
        for (int64_t i = 0; i < y->numel; i++) out[i] = (float)(in[i] * tanh(softplus1(in[i])));
    }
}

/* d mish / dx = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x),
 * since d softplus / dx = sigmoid(x). Built from ops (never a loop), so the
 * rule itself can be recorded and differentiated. */
static void mish_backward(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0];
    tg_tensor *t = tg_tanh(tg_softplus(x));
    tg_tensor *one_minus_t2 = tg_add_scalar(tg_neg(tg_mul(t, t)), 1.0);
    tg_tensor *derivative = tg_add(t, tg_mul(tg_mul(x, tg_sigmoid(x)), one_minus_t2));
    grad_inputs[0] = tg_mul(grad_output, derivative);
}

static const tg_op mish_op = {"mish", 1, mish_forward, mish_backward};

/* The public function: check the argument, choose the output's shape and
 * dtype, and let tg_op_apply allocate, run and record. */
static tg_tensor *mish(tg_tensor *x) {
    if (!x) {
        tg_error_report(TG_ERR_ARGUMENT, "mish", "x is NULL");
        return NULL;
    }
    return tg_op_apply(&mish_op, &x, 1, NULL, x->dtype, x->rank, x->shape);
}

/* ---- log-cosh loss: forward L = mean(log cosh(pred - target)) ---- */
static void log_cosh_forward(const tg_node *node) {
    const tg_tensor *pred = node->inputs[0], *target = node->inputs[1];
    double sum = 0; /* accumulated in double for either dtype */
    for (int64_t i = 0; i < pred->numel; i++) {
        double d = pred->dtype == TG_F64 ? ((const double *)pred->data)[i] - ((const double *)target->data)[i]
                                         : (double)((const float *)pred->data)[i] - ((const float *)target->data)[i];
        sum += log_cosh1(d);
    }
    double mean = sum / (double)pred->numel;
    if (node->output->dtype == TG_F64)
        *(double *)node->output->data = mean;
    else
        *(float *)node->output->data = (float)mean;
}

/* dL/dpred = g tanh(pred - target) / n, dL/dtarget = -dL/dpred; g is the
 * rank-0 gradient of L and broadcasts. Only inputs that require a gradient
 * get one (a target usually does not). */
static void log_cosh_backward(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs) {
    tg_tensor *pred = node->inputs[0], *target = node->inputs[1];
    tg_tensor *slope = tg_mul(grad_output, tg_mul_scalar(tg_tanh(tg_sub(pred, target)), 1.0 / (double)pred->numel));
    if (pred->requires_grad) grad_inputs[0] = slope;
    if (target->requires_grad) grad_inputs[1] = tg_neg(slope);
}

static const tg_op log_cosh_op = {"log_cosh_loss", 2, log_cosh_forward, log_cosh_backward};

static tg_tensor *log_cosh_loss(tg_tensor *pred, tg_tensor *target) {
    const char *function = "log_cosh_loss";
    if (!pred || !target) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !pred ? "pred" : "target");
        return NULL;
    }
    if (pred->dtype != target->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "dtypes differ: %s and %s", tg_dtype_name(pred->dtype),
                        tg_dtype_name(target->dtype));
        return NULL;
    }
    if (!tg_same_shape(pred, target) || pred->numel == 0) {
        char sp[160], st[160];
        tg_error_report(TG_ERR_SHAPE, function, "pred %s and target %s must have one non-empty shape",
                        tg_shape_string(sp, sizeof sp, pred->rank, pred->shape),
                        tg_shape_string(st, sizeof st, target->rank, target->shape));
        return NULL;
    }
    tg_tensor *inputs[2] = {pred, target};
    return tg_op_apply(&log_cosh_op, inputs, 2, NULL, pred->dtype, 0, NULL);
}

/* ======================================================================
 * Checks
 * ====================================================================== */

static tg_tensor *check_mish_from_ops(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return mish_from_ops(in[0]);
}
static tg_tensor *check_mish_op(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return mish(in[0]);
}
static tg_tensor *check_log_cosh_from_ops(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return log_cosh_loss_from_ops(in[0], in[1]);
}
static tg_tensor *check_log_cosh_op(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return log_cosh_loss(in[0], in[1]);
}
/* The gradient of sum(mish(x)), i.e. mish'(x) elementwise, as a function
 * of x: checking it checks mish_backward's own derivative (mish''). */
static tg_tensor *check_mish_op_second(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    tg_tensor *x = in[0], *grad = NULL;
    if (tg_gradients(tg_sum(mish(x)), NULL, 1, &x, &grad, true) != TG_OK) return NULL;
    return grad;
}

static bool report(const char *what, tg_gradcheck_fn f, int n, tg_tensor *const *inputs) {
    tg_gradcheck_result result;
    char line[256];
    if (tg_gradcheck(f, NULL, n, inputs, NULL, &result) != TG_OK) {
        printf("  %-34s could not run: %s\n", what, tg_last_error_message());
        return false;
    }
    printf("  %-34s %s\n", what, tg_gradcheck_describe(&result, line, sizeof line));
    return result.passed;
}

/* The largest |a - b| over two tensors of one shape. */
static double max_difference(const tg_tensor *a, const tg_tensor *b) {
    double worst = 0;
    for (int64_t i = 0; i < a->numel; i++) worst = fmax(worst, fabs(tg_get_flat(a, i) - tg_get_flat(b, i)));
    return worst;
}

static bool run_checks(tg_rng *rng) {
    bool ok = true;
    /* Inputs in [-4, 4]; mish is smooth, but keep clear of 0 where
     * tg_softplus switches branch (its two branches agree there, so this is
     * only caution about finite differences straddling the switch). */
    const int64_t shape[2] = {3, 4};
    tg_tensor *x = tg_gradcheck_input(rng, 2, shape, -4, 4, 1, (double[]){0}, 1e-3);
    tg_tensor *pred = tg_gradcheck_input(rng, 2, shape, -3, 3, 0, NULL, 0);
    tg_tensor *target = tg_gradcheck_input(rng, 2, shape, -3, 3, 0, NULL, 0);
    tg_tensor *pair[2] = {pred, target};

    printf("gradcheck (tape against central differences, every Jacobian entry):\n");
    ok &= report("mish from primitives", check_mish_from_ops, 1, &x);
    ok &= report("mish as an op", check_mish_op, 1, &x);
    ok &= report("mish as an op, 2nd derivative", check_mish_op_second, 1, &x);
    ok &= report("log-cosh loss from primitives", check_log_cosh_from_ops, 2, pair);
    ok &= report("log-cosh loss as an op", check_log_cosh_op, 2, pair);

    /* Both versions compute the same function, and the same gradient. */
    tg_set_requires_grad(x, true);
    tg_tape *tape = tg_tape_current();
    size_t before = tg_tape_num_nodes(tape);
    tg_tensor *y_ops = mish_from_ops(x);
    size_t nodes_ops = tg_tape_num_nodes(tape) - before;
    tg_tensor *y_op = mish(x);
    size_t nodes_op = tg_tape_num_nodes(tape) - before - nodes_ops;
    tg_tensor *g_ops, *g_op;
    tg_gradients(tg_sum(y_ops), NULL, 1, &x, &g_ops, false);
    tg_gradients(tg_sum(y_op), NULL, 1, &x, &g_op, false);
    double mish_value_diff = max_difference(y_ops, y_op), mish_grad_diff = max_difference(g_ops, g_op);
    tg_set_requires_grad(pred, true);
    tg_tensor *l_ops = log_cosh_loss_from_ops(pred, target), *l_op = log_cosh_loss(pred, target);
    tg_gradients(l_ops, NULL, 1, &pred, &g_ops, false);
    tg_gradients(l_op, NULL, 1, &pred, &g_op, false);
    double loss_value_diff = fabs(tg_item(l_ops) - tg_item(l_op)), loss_grad_diff = max_difference(g_ops, g_op);
    printf("\nprimitives vs op, largest difference:\n");
    printf("  mish           value %.1e  gradient %.1e   (tape nodes: %zu from primitives, %zu as an op)\n",
           mish_value_diff, mish_grad_diff, nodes_ops, nodes_op);
    printf("  log-cosh loss  value %.1e  gradient %.1e\n", loss_value_diff, loss_grad_diff);
    ok &= mish_value_diff < 1e-12 && mish_grad_diff < 1e-12 && loss_value_diff < 1e-12 && loss_grad_diff < 1e-12;

    /* Far out, where cosh itself would overflow: both stay finite. */
    tg_tensor *far_pred = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){1000, -800});
    tg_tensor *far_target = tg_zeros(TG_F64, 1, (int64_t[]){2});
    double far_ops = tg_item(log_cosh_loss_from_ops(far_pred, far_target));
    double far_op = tg_item(log_cosh_loss(far_pred, far_target));
    printf("  log-cosh at d = (1000, -800): %.6f (primitives), %.6f (op); exact 900 - log 2 = %.6f\n", far_ops, far_op,
           900 - log(2.0));
    ok &= fabs(far_ops - (900 - log(2.0))) < 1e-9 && fabs(far_op - (900 - log(2.0))) < 1e-9;

    tg_tape_reset(tg_tape_current());
    tg_free(x);
    tg_free(pred);
    tg_free(target);
    tg_free(far_pred);
    tg_free(far_target);
    return ok;
}

/* ======================================================================
 * A mish layer, and a tiny fit
 * ====================================================================== */

/* A parameterless layer: a module whose forward applies mish (nn.h). The
 * model runs it and frees it. */
static tg_tensor *mish_layer_forward(tg_module *self, tg_tensor *x) {
    (void)self;
    return mish(x);
}

static tg_layer *mish_layer_new(void) { return tg_module_new("mish", mish_layer_forward); }

enum { POINTS = 128, STEPS = 600, OUTLIERS = 8 };

typedef tg_tensor *(*loss_fn)(tg_tensor *pred, tg_tensor *target);

/* Fits y = sin(x) on [-3, 3], with OUTLIERS targets moved by +-3, with a
 * 1-16-16-1 mish network and `loss`, printing the loss and the RMS error
 * against the clean curve; returns that error. The same `seed` gives the same
 * data and the same starting weights. */
static double fit_sine(uint64_t seed, loss_fn loss_function, const char *loss_name) {
    tg_rng rng = tg_rng_seeded(seed);
    double xs[POINTS], ys[POINTS], clean[POINTS];
    for (int i = 0; i < POINTS; i++) {
        xs[i] = -3 + 6.0 * i / (POINTS - 1);
        clean[i] = sin(xs[i]);
        ys[i] = clean[i];
    }
    for (int k = 0; k < OUTLIERS; k++) ys[tg_rng_below(&rng, POINTS)] += k % 2 ? 3 : -3;
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){POINTS, 1}, xs);
    tg_tensor *y = tg_from_doubles(TG_F64, 2, (int64_t[]){POINTS, 1}, ys);
    tg_tensor *y_clean = tg_from_doubles(TG_F64, 2, (int64_t[]){POINTS, 1}, clean);

    tg_model *model = tg_model_new();
    tg_model_add(model, tg_dense_new(&rng, TG_F64, 1, 16, TG_INIT_GLOROT_UNIFORM));
    tg_model_add(model, mish_layer_new());
    tg_model_add(model, tg_dense_new(&rng, TG_F64, 16, 16, TG_INIT_GLOROT_UNIFORM));
    tg_model_add(model, mish_layer_new());
    tg_model_add(model, tg_dense_new(&rng, TG_F64, 16, 1, TG_INIT_GLOROT_UNIFORM));
    tg_model_summary(stdout, model, x);
    tg_tensor *params[8];
    int n_params = tg_model_params(model, params, 8);
    tg_optimizer *adam = tg_adam_new(n_params, params, 0.01);

    printf("\n%s:\n", loss_name);
    double rms = NAN;
    for (int step = 0; step <= STEPS; step++) {
        tg_optimizer_zero_grad(adam);
        tg_tensor *pred = tg_model_forward(model, x);
        tg_tensor *loss = loss_function(pred, y);
        tg_backward(loss, NULL);
        tg_optimizer_step(adam);
        if (step % 150 == 0) {
            rms = sqrt(tg_item(tg_mse_loss(tg_detach(pred), y_clean)));
            printf("  step %4d  loss %.5f  RMS error against the clean sine %.4f\n", step, tg_item(loss), rms);
        }
        tg_tape_reset(tg_tape_current());
    }
    tg_optimizer_free(adam);
    tg_model_free(model);
    tg_free(x);
    tg_free(y);
    tg_free(y_clean);
    return rms;
}

int main(void) {
    tg_rng rng = tg_rng_seeded(2019);
    bool checks = run_checks(&rng);

    printf("\nfitting sin(x) on [-3, 3] (%d points, %d of them outliers moved by 3) with\n"
           "dense(1,16) mish dense(16,16) mish dense(16,1), Adam lr 0.01, full batch, %d steps;\n"
           "log-cosh is quadratic near 0 and linear far away, so outliers pull less than\n"
           "under a squared error:\n",
           POINTS, OUTLIERS, STEPS);
    double rms_log_cosh = fit_sine(7, log_cosh_loss, "log-cosh loss (the op above)");
    double rms_mse = fit_sine(7, tg_mse_loss, "squared error (tg_mse_loss), for comparison");
    printf("\nRMS error against the clean sine: log-cosh %.4f, squared error %.4f\n", rms_log_cosh, rms_mse);

    bool ok = checks && rms_log_cosh < 0.1;
    printf("%s\n", ok ? "all checks passed" : "SOMETHING FAILED");
    return ok ? 0 : 1;
}
