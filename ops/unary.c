/* ops/unary.c — elementwise ops of one tensor: the scalar-constant ops
 * (add_scalar, mul_scalar, pow), the functions (neg, exp, log, sqrt, abs,
 * tanh) and the activations (relu, sigmoid, clamp).
 *
 * The hot forwards (add_scalar, mul_scalar, neg, exp, log, abs, tanh, relu,
 * sigmoid) are contiguous loops in the tensor's own dtype, which the
 * compiler vectorizes (TG_FOR_SIMD), split over threads for large tensors
 * (tg_run_unary). float32 exp, log, tanh and sigmoid use the float
 * arithmetic of kernels/vmath.h, within 1 ulp of the exact values (sigmoid
 * 2); float64 exp and sigmoid use its float64 e^x (2 ulps), log and tanh
 * call libm. add_scalar and mul_scalar round the constant
 * to float32 when that is exact, and otherwise compute in double and round
 * once, so results are the same as x + c and x * c in exact arithmetic,
 * rounded. The rest (pow, sqrt, clamp) map a scalar function, float32
 * computed in double and rounded once. Each backward is written with public
 * ops only, so that with create_graph it is itself recorded and can be
 * differentiated again. A unary node is recorded only when its input requires
 * a gradient, so the rules need not test inputs[0]->requires_grad.
 * Rules that reuse the output y (exp, sqrt, tanh, sigmoid) read
 * node->output: it is on the tape, and under create_graph it is
 * differentiable through its own node, so no value is recomputed. */
#include <math.h>

#include "ops/kernels/vmath.h"
#include "ops/op_internal.h"

/* out[i] = EXPR for i in [begin, end), with `x` the element; PRE may declare
 * constants from `attrs`. One per op and dtype. */
#define DEFINE_UNARY_KERNEL(NAME, T, PRE, EXPR)                                                        \
    TG_HOT_CLONES static void NAME(T *restrict out, const T *restrict in, int64_t begin, int64_t end,                  \
                     const tg_op_attrs *attrs) {                                                        \
        (void)attrs;                                                                                    \
        PRE;                                                                                            \
        TG_FOR_SIMD(i, begin, end, {                                                                    \
            T x = in[i];                                                                                \
            out[i] = (EXPR);                                                                            \
        });                                                                                             \
    }

/* Elements' cost relative to an add, for the thread split (bench_elementwise
 * measures them): arithmetic is memory-bound, and a float32 function of
 * vmath.h costs a few adds, a double one more. */
#define COST_ARITHMETIC 1.0
#define COST_FUNCTION_F32 5.0
#define COST_FUNCTION_F64 20.0
static double function_cost(const tg_node *node) {
    return node->output->dtype == TG_F32 ? COST_FUNCTION_F32 : COST_FUNCTION_F64;
}

/* True when c converts to float exactly: x * c in float32 is then the
 * correctly rounded exact product (and x + c the exact sum). */
static bool exact_in_float(double c) { return (double)(float)c == c; }

/* TG_ERR_ARGUMENT unless `value` is finite: a NaN or infinite constant would
 * silently turn every element (or every gradient) into NaN/Inf. */
static tg_status check_finite(const char *function, const char *what, double value) {
    if (isfinite(value)) return TG_OK;
    return tg_error_report(TG_ERR_ARGUMENT, function, "%s must be finite, got %g", what, value);
}

/* ---- add_scalar: x + c.   d: 1 ---- */
DEFINE_UNARY_KERNEL(add_scalar_f32, float, const float c = (float)attrs->scalar[0], x + c)
DEFINE_UNARY_KERNEL(add_scalar_f32_wide, float, const double c = attrs->scalar[0], (float)((double)x + c))
DEFINE_UNARY_KERNEL(add_scalar_f64, double, const double c = attrs->scalar[0], x + c)
static void add_scalar_forward(const tg_node *node) {
    bool exact = exact_in_float(node->attrs.scalar[0]);
    tg_run_unary(node, exact ? add_scalar_f32 : add_scalar_f32_wide, add_scalar_f64, COST_ARITHMETIC);
}
static void add_scalar_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    (void)node;
    grad_inputs[0] = g; /* shared, never modified in place (see backward.c) */
}
const tg_op tg_op_add_scalar = {"add_scalar", 1, add_scalar_forward, add_scalar_backward};
tg_tensor *tg_add_scalar(tg_tensor *x, double c) {
    if (check_finite("tg_add_scalar", "c", c) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = c;
    return tgi_apply_unary("tg_add_scalar", &tg_op_add_scalar, x, &attrs);
}

/* ---- mul_scalar: x * c.   d: c ---- */
DEFINE_UNARY_KERNEL(mul_scalar_f32, float, const float c = (float)attrs->scalar[0], x * c)
DEFINE_UNARY_KERNEL(mul_scalar_f32_wide, float, const double c = attrs->scalar[0], (float)((double)x * c))
DEFINE_UNARY_KERNEL(mul_scalar_f64, double, const double c = attrs->scalar[0], x * c)
static void mul_scalar_forward(const tg_node *node) {
    bool exact = exact_in_float(node->attrs.scalar[0]);
    tg_run_unary(node, exact ? mul_scalar_f32 : mul_scalar_f32_wide, mul_scalar_f64, COST_ARITHMETIC);
}
static void mul_scalar_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_mul_scalar(g, node->attrs.scalar[0]);
}
const tg_op tg_op_mul_scalar = {"mul_scalar", 1, mul_scalar_forward, mul_scalar_backward};
tg_tensor *tg_mul_scalar(tg_tensor *x, double c) {
    if (check_finite("tg_mul_scalar", "c", c) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = c;
    return tgi_apply_unary("tg_mul_scalar", &tg_op_mul_scalar, x, &attrs);
}

/* ---- pow: x^p (C pow: NaN for x < 0 with a non-integer p).   d: p x^(p-1) ---- */
static double pow_scalar(double x, const tg_op_attrs *a) { return pow(x, a->scalar[0]); }
static void pow_forward(const tg_node *node) { tgi_map_unary(node, pow_scalar); }
static void pow_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    double p = node->attrs.scalar[0];
    /* x^0 is the constant 1: its derivative is 0 everywhere. The general rule
     * would compute 0 * x^-1, which is NaN at x = 0. */
    if (p == 0.0) {
        grad_inputs[0] = tg_mul_scalar(g, 0.0);
        return;
    }
    grad_inputs[0] = tg_mul(g, tg_mul_scalar(tg_pow(node->inputs[0], p - 1.0), p));
}
const tg_op tg_op_pow = {"pow", 1, pow_forward, pow_backward};
tg_tensor *tg_pow(tg_tensor *x, double p) {
    if (check_finite("tg_pow", "exponent p", p) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = p;
    return tgi_apply_unary("tg_pow", &tg_op_pow, x, &attrs);
}

/* ---- neg: -x.   d: -1 ---- */
DEFINE_UNARY_KERNEL(neg_f32, float, , -x)
DEFINE_UNARY_KERNEL(neg_f64, double, , -x)
static void neg_forward(const tg_node *node) { tg_run_unary(node, neg_f32, neg_f64, COST_ARITHMETIC); }
static void neg_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    (void)node;
    grad_inputs[0] = tg_neg(g);
}
const tg_op tg_op_neg = {"neg", 1, neg_forward, neg_backward};
tg_tensor *tg_neg(tg_tensor *x) { return tgi_apply_unary("tg_neg", &tg_op_neg, x, NULL); }

/* ---- exp: y = e^x.   d: y ---- */
DEFINE_UNARY_KERNEL(exp_f32, float, , (float)tg_vm_expf(x))
DEFINE_UNARY_KERNEL(exp_f64, double, , tg_vm_exp(x))
static void exp_forward(const tg_node *node) { tg_run_unary(node, exp_f32, exp_f64, function_cost(node)); }
static void exp_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_mul(g, node->output);
}
const tg_op tg_op_exp = {"exp", 1, exp_forward, exp_backward};
tg_tensor *tg_exp(tg_tensor *x) { return tgi_apply_unary("tg_exp", &tg_op_exp, x, NULL); }

/* ---- log: ln x (-inf at 0, NaN below).   d: 1/x ---- */
DEFINE_UNARY_KERNEL(log_f32, float, , tg_vm_logf(x))
static void log_f64(double *restrict out, const double *restrict in, int64_t begin, int64_t end,
                    const tg_op_attrs *attrs) {
    (void)attrs;
    for (int64_t i = begin; i < end; i++) out[i] = log(in[i]);
}
static void log_forward(const tg_node *node) { tg_run_unary(node, log_f32, log_f64, function_cost(node)); }
static void log_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_div(g, node->inputs[0]);
}
const tg_op tg_op_log = {"log", 1, log_forward, log_backward};
tg_tensor *tg_log(tg_tensor *x) { return tgi_apply_unary("tg_log", &tg_op_log, x, NULL); }

/* ---- sqrt: y = sqrt x (NaN below 0).   d: 1/(2y) (inf at 0) ---- */
static double sqrt_scalar(double x, const tg_op_attrs *a) {
    (void)a;
    return sqrt(x);
}
static void sqrt_forward(const tg_node *node) { tgi_map_unary(node, sqrt_scalar); }
static void sqrt_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_div(g, tg_mul_scalar(node->output, 2.0));
}
const tg_op tg_op_sqrt = {"sqrt", 1, sqrt_forward, sqrt_backward};
tg_tensor *tg_sqrt(tg_tensor *x) { return tgi_apply_unary("tg_sqrt", &tg_op_sqrt, x, NULL); }

/* ---- abs: |x|.   d: sign(x), 0 at 0 (the subgradient PyTorch and JAX choose) ---- */
DEFINE_UNARY_KERNEL(abs_f32, float, , fabsf(x))
DEFINE_UNARY_KERNEL(abs_f64, double, , fabs(x))
static void abs_forward(const tg_node *node) { tg_run_unary(node, abs_f32, abs_f64, COST_ARITHMETIC); }
static void abs_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_mul(g, tg_sign(node->inputs[0]));
}
const tg_op tg_op_abs = {"abs", 1, abs_forward, abs_backward};
tg_tensor *tg_abs(tg_tensor *x) { return tgi_apply_unary("tg_abs", &tg_op_abs, x, NULL); }

/* ---- tanh: y = tanh x.   d: 1 - y^2 ---- */
DEFINE_UNARY_KERNEL(tanh_f32, float, , tg_vm_tanhf(x))
static void tanh_f64(double *restrict out, const double *restrict in, int64_t begin, int64_t end,
                     const tg_op_attrs *attrs) {
    (void)attrs;
    for (int64_t i = begin; i < end; i++) out[i] = tanh(in[i]);
}
static void tanh_forward(const tg_node *node) { tg_run_unary(node, tanh_f32, tanh_f64, function_cost(node)); }
static void tanh_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_tanh_grad(g, node->output); /* g (1 - y^2), one fused op */
}
const tg_op tg_op_tanh = {"tanh", 1, tanh_forward, tanh_backward};
tg_tensor *tg_tanh(tg_tensor *x) { return tgi_apply_unary("tg_tanh", &tg_op_tanh, x, NULL); }

/* ---- relu: max(0, x).   d: 1 where x > 0, else 0 ----
 * The mask is x > 0 exactly: writing relu as a symmetric max(x, 0) would pass
 * half the gradient at 0 (the trap tinygrad's gradient.py warns about). */
/* NaN fails the test x <= 0 and propagates. */
DEFINE_UNARY_KERNEL(relu_f32, float, , x <= 0.0f ? 0.0f : x)
DEFINE_UNARY_KERNEL(relu_f64, double, , x <= 0.0 ? 0.0 : x)
static void relu_forward(const tg_node *node) { tg_run_unary(node, relu_f32, relu_f64, COST_ARITHMETIC); }
static void relu_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_relu_grad(g, node->inputs[0]); /* g where x > 0, one fused op */
}
const tg_op tg_op_relu = {"relu", 1, relu_forward, relu_backward};
tg_tensor *tg_relu(tg_tensor *x) { return tgi_apply_unary("tg_relu", &tg_op_relu, x, NULL); }

/* ---- sigmoid: y = 1/(1+e^-x).   d: y(1-y) ----
 * e^-x overflows to inf for x < -709 (double); with e = e^-|x|, which only
 * underflows to 0, y is 1/(1+e) for x >= 0 and e/(1+e) below, so both tails
 * are exact (0 and 1) and never NaN (a NaN x gives NaN). Both are computed
 * and one selected, so the float64 loop has no branch and vectorizes. */
DEFINE_UNARY_KERNEL(sigmoid_f32, float, , tg_vm_sigmoidf(x))
static inline double sigmoid_of(double x) {
    double e = tg_vm_exp(-fabs(x));
    return tg_vm_select64(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e));
}
DEFINE_UNARY_KERNEL(sigmoid_f64, double, , sigmoid_of(x))
static void sigmoid_forward(const tg_node *node) { tg_run_unary(node, sigmoid_f32, sigmoid_f64, function_cost(node)); }
static void sigmoid_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_sigmoid_grad(g, node->output); /* g y (1 - y), one fused op */
}
const tg_op tg_op_sigmoid = {"sigmoid", 1, sigmoid_forward, sigmoid_backward};
tg_tensor *tg_sigmoid(tg_tensor *x) { return tgi_apply_unary("tg_sigmoid", &tg_op_sigmoid, x, NULL); }

/* ---- clamp: min(max(x, lo), hi).   d: 1 where lo < x < hi, else 0 ----
 * At x == lo or x == hi the gradient is 0: the output is pinned there.
 * lo or hi may be infinite, for a one-sided clamp. */
static double clamp_scalar(double x, const tg_op_attrs *a) {
    /* Comparisons rather than fmin/fmax, which would replace a NaN x by a bound. */
    if (x < a->scalar[0]) return a->scalar[0];
    if (x > a->scalar[1]) return a->scalar[1];
    return x;
}
static void clamp_forward(const tg_node *node) { tgi_map_unary(node, clamp_scalar); }
static void clamp_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0];
    tg_tensor *inside = tg_mul(tg_gt_scalar(x, node->attrs.scalar[0]), tg_lt_scalar(x, node->attrs.scalar[1]));
    grad_inputs[0] = tg_mul(g, inside);
}
const tg_op tg_op_clamp = {"clamp", 1, clamp_forward, clamp_backward};
tg_tensor *tg_clamp(tg_tensor *x, double lo, double hi) {
    if (isnan(lo) || isnan(hi) || lo > hi) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_clamp", "need lo <= hi (neither NaN), got lo=%g hi=%g", lo, hi);
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = lo, attrs.scalar[1] = hi;
    return tgi_apply_unary("tg_clamp", &tg_op_clamp, x, &attrs);
}
