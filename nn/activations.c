/* nn/activations.c — activations built from ops, and tg_activate.
 *
 * A trap these avoid: a piecewise function written as a sum of kinked ops
 * (relu(x) + log(1 + e^-|x|)) is right everywhere except at the kink, where
 * each op's own choice of derivative (relu' = abs' = 0 at 0) need not add up
 * to the function's derivative. Here each branch is picked by a constant
 * mask (gt_scalar, never recorded) and the differentiated expression is
 * smooth in the branch it selects, so the gradient at the kink is the one
 * the formula gives for that branch. */
#include <float.h>
#include <math.h>

#include "tapegrad/tensor.h"
#include "tapegrad/nn.h"
#include "tapegrad/ops.h"

/* x * f with the constant f = m + slope (1 - m), m = [x > 0]: f is exactly 1
 * or exactly slope (m (1 - slope) + slope could round to 0.9999...), so
 * positive inputs pass unchanged, and the gradient is f: slope at 0. */
tg_tensor *tg_leaky_relu(tg_tensor *x, double slope) {
    if (tg_tensor_check("tg_leaky_relu", "x", x) != TG_OK) return NULL;
    if (!isfinite(slope)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_leaky_relu", "slope must be finite, got %g", slope);
        return NULL;
    }
    tg_tensor *m = tg_gt_scalar(x, 0.0);
    tg_tensor *factor = tg_add(m, tg_mul_scalar(tg_add_scalar(tg_neg(m), 1.0), slope));
    return tg_mul(x, factor);
}

/* f(x) where x >= `below`, and exactly 0 (value and gradient) where x <
 * below, for activations whose formula is 0 there but whose ops give
 * -inf * 0 = NaN (or overflow in a cube). f sees 0 in place of those x, so
 * its backward meets no infinity either. A NaN x stays NaN. */
static tg_tensor *zero_below(tg_tensor *x, double below, tg_tensor *(*f)(tg_tensor *)) {
    tg_tensor *m = tg_lt_scalar(x, below);
    tg_tensor *zeros = tg_gt_scalar(x, INFINITY); /* never true, not even for NaN */
    return tg_where(m, zeros, f(tg_where(m, zeros, x)));
}

/* Below -50 both GELU forms are 0 in float64 (|x Phi(x)| < 1e-540) and
 * their ops would meet -inf * 0 or an infinite cube; SiLU only at -inf. */
#define GELU_ZERO_BELOW (-50.0)

static tg_tensor *silu_formula(tg_tensor *x) { return tg_mul(x, tg_sigmoid(x)); }

/* x sigmoid(x); 0 with gradient 0 at -inf. */
tg_tensor *tg_silu(tg_tensor *x) {
    if (tg_tensor_check("tg_silu", "x", x) != TG_OK) return NULL;
    return zero_below(x, -DBL_MAX, silu_formula);
}

/* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
static tg_tensor *gelu_formula(tg_tensor *x) {
    const double one_over_sqrt_2 = 0.70710678118654752440;
    return tg_mul(tg_mul_scalar(x, 0.5), tg_add_scalar(tg_erf(tg_mul_scalar(x, one_over_sqrt_2)), 1.0));
}

tg_tensor *tg_gelu(tg_tensor *x) {
    if (tg_tensor_check("tg_gelu", "x", x) != TG_OK) return NULL;
    return zero_below(x, GELU_ZERO_BELOW, gelu_formula);
}

/* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), Hendrycks & Gimpel's tanh
 * approximation (the form of GPT-2 and of PyTorch's approximate="tanh"). */
static tg_tensor *gelu_tanh_formula(tg_tensor *x) {
    const double sqrt_2_over_pi = 0.79788456080286535588; /* sqrt(2 / pi) */
    tg_tensor *inner = tg_mul_scalar(tg_add(x, tg_mul_scalar(tg_pow(x, 3.0), 0.044715)), sqrt_2_over_pi);
    return tg_mul(tg_mul_scalar(x, 0.5), tg_add_scalar(tg_tanh(inner), 1.0));
}

tg_tensor *tg_gelu_tanh(tg_tensor *x) {
    if (tg_tensor_check("tg_gelu_tanh", "x", x) != TG_OK) return NULL;
    return zero_below(x, GELU_ZERO_BELOW, gelu_tanh_formula);
}

/* log(1 + e^x) as (x where m else 0) + log(1 + e^(-s x)) with the constant
 * masks m = [x > 0] and s = 2m - 1, i.e. relu(x) + log(1 + e^-|x|): e^ never
 * sees a positive argument, so neither the value nor the gradient overflows
 * (softplus(1000) = 1000). Gradient m - s e^(-s x) / (1 + e^(-s x)) =
 * sigmoid(x) everywhere, 1/2 at 0 (relu + abs would give 0 there). The first
 * term selects x rather than multiplying it by m: x m is -inf * 0 = NaN at
 * x = -inf, where softplus is 0. */
tg_tensor *tg_softplus(tg_tensor *x) {
    if (tg_tensor_check("tg_softplus", "x", x) != TG_OK) return NULL;
    tg_tensor *m = tg_gt_scalar(x, 0.0);
    tg_tensor *zeros = tg_gt_scalar(x, INFINITY); /* never true, not even for NaN */
    tg_tensor *s = tg_add_scalar(tg_mul_scalar(m, 2.0), -1.0);
    tg_tensor *minus_abs = tg_neg(tg_mul(x, s));
    return tg_add(tg_where(m, x, zeros), tg_log(tg_add_scalar(tg_exp(minus_abs), 1.0)));
}

tg_tensor *tg_activate(tg_activation activation, tg_tensor *x) {
    if (tg_tensor_check("tg_activate", "x", x) != TG_OK) return NULL;
    switch (activation) {
    case TG_ACT_RELU: return tg_relu(x);
    case TG_ACT_LEAKY_RELU: return tg_leaky_relu(x, 0.01);
    case TG_ACT_SIGMOID: return tg_sigmoid(x);
    case TG_ACT_TANH: return tg_tanh(x);
    case TG_ACT_SILU: return tg_silu(x);
    case TG_ACT_GELU: return tg_gelu(x);
    case TG_ACT_SOFTPLUS: return tg_softplus(x);
    case TG_ACT_SOFTMAX: return tg_softmax(x, -1);
    }
    tg_error_report(TG_ERR_ARGUMENT, "tg_activate", "unknown activation %d", (int)activation);
    return NULL;
}
