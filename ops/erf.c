/* ops/erf.c — the error function, for the exact GELU (x Phi(x), with
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2).
 *
 *   y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt      d: 2/sqrt(pi) e^(-x^2)
 *
 * Evaluated by C's erf in double and rounded once; erf(+-inf) = +-1 and the
 * derivative there is 0. The rule is exp and products, so it differentiates
 * again. */
#include <math.h>

#include "ops/op_internal.h"

static double erf_scalar(double x, const tg_op_attrs *a) {
    (void)a;
    return erf(x);
}
static void erf_forward(const tg_node *node) { tgi_map_unary(node, erf_scalar); }
static void erf_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const double two_over_sqrt_pi = 1.12837916709551257390; /* 2 / sqrt(pi) */
    tg_tensor *x = node->inputs[0];
    tg_tensor *density = tg_mul_scalar(tg_exp(tg_neg(tg_mul(x, x))), two_over_sqrt_pi);
    grad_inputs[0] = tg_mul(g, density);
}
const tg_op tg_op_erf = {"erf", 1, erf_forward, erf_backward};
tg_tensor *tg_erf(tg_tensor *x) { return tgi_apply_unary("tg_erf", &tg_op_erf, x, NULL); }
