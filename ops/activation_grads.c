/* ops/activation_grads.c — the backward rules of relu, sigmoid and tanh as
 * ops of their own (PyTorch's threshold_backward, sigmoid_backward,
 * tanh_backward):
 *   relu_grad(g, x)    = g where x > 0, else 0
 *   sigmoid_grad(g, y) = g y (1 - y)        y = sigmoid(x)
 *   tanh_grad(g, y)    = g (1 - y^2)        y = tanh(x)
 * Written with primitive ops these take two to four passes and as many
 * temporaries (relu's mask, then a product); fused, one pass. They are ops
 * like any other, with backward rules of their own, so gradients of
 * gradients still flow through them:
 *   relu_grad:    d/dg = relu_grad(G, x)       d/dx = 0 (piecewise constant)
 *   sigmoid_grad: d/dg = sigmoid_grad(G, y)    d/dy = G g (1 - 2y)
 *   tanh_grad:    d/dg = tanh_grad(G, y)       d/dy = G g (-2y)
 * The float arithmetic is the unfused rules' own, in the same order:
 * sigmoid's g * (y * (1 - y)) and tanh's g * (1 - y*y) give the same bits;
 * relu's gives +0 where g * 0 gave -0 for a negative g (and 0, not NaN,
 * for a NaN g at x <= 0, as PyTorch's threshold_backward). */
#include "ops/op_internal.h"

typedef void (*grad_kernel_f32)(float *restrict out, const float *restrict g, const float *restrict v,
                                int64_t begin, int64_t end);
typedef void (*grad_kernel_f64)(double *restrict out, const double *restrict g, const double *restrict v,
                                int64_t begin, int64_t end);

#define DEFINE_GRAD_KERNEL(NAME, T, EXPR)                                                                    \
    TG_HOT_CLONES static void NAME(T *restrict out, const T *restrict g, const T *restrict v, int64_t begin, int64_t end) { \
        TG_FOR_SIMD(i, begin, end, {                                                                         \
            const T gi = g[i];                                                                               \
            const T vi = v[i];                                                                               \
            out[i] = (EXPR);                                                                                 \
        });                                                                                                  \
    }

DEFINE_GRAD_KERNEL(relu_grad_f32, float, vi > 0.0f ? gi : 0.0f)
DEFINE_GRAD_KERNEL(relu_grad_f64, double, vi > 0.0 ? gi : 0.0)
DEFINE_GRAD_KERNEL(sigmoid_grad_f32, float, gi * (vi * (1.0f - vi)))
DEFINE_GRAD_KERNEL(sigmoid_grad_f64, double, gi * (vi * (1.0 - vi)))
DEFINE_GRAD_KERNEL(tanh_grad_f32, float, gi * (1.0f - vi * vi))
DEFINE_GRAD_KERNEL(tanh_grad_f64, double, gi * (1.0 - vi * vi))

typedef struct grad_job {
    const tg_node *node;
    grad_kernel_f32 f32;
    grad_kernel_f64 f64;
} grad_job;

static void grad_range(void *ctx, int64_t begin, int64_t end) {
    const grad_job *job = ctx;
    const tg_tensor *g = job->node->inputs[0], *v = job->node->inputs[1];
    tg_tensor *out = job->node->output;
    if (out->dtype == TG_F32)
        job->f32(out->data, g->data, v->data, begin, end);
    else
        job->f64(out->data, g->data, v->data, begin, end);
}

static void run_grad_kernel(const tg_node *node, grad_kernel_f32 f32, grad_kernel_f64 f64) {
    grad_job job = {node, f32, f64};
    int64_t n = node->output->numel;
    if (n <= TG_ON_CALLER_MAX_NUMEL)
        grad_range(&job, 0, n);
    else
        tg_parallel_range(n, 1.0, grad_range, &job);
}

/* ---- relu_grad ---- */
static void relu_grad_forward(const tg_node *node) { run_grad_kernel(node, relu_grad_f32, relu_grad_f64); }
static void relu_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_relu_grad(grad, node->inputs[1]);
}
const tg_op tg_op_relu_grad = {"relu_grad", 2, relu_grad_forward, relu_grad_backward};
tg_tensor *tgi_relu_grad(tg_tensor *g, tg_tensor *x) {
    return tg_apply_grad_op("tgi_relu_grad", &tg_op_relu_grad, g, x, "tensor", NULL);
}

/* ---- sigmoid_grad ---- */
static void sigmoid_grad_forward(const tg_node *node) { run_grad_kernel(node, sigmoid_grad_f32, sigmoid_grad_f64); }
static void sigmoid_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    tg_tensor *g = node->inputs[0], *y = node->inputs[1];
    if (g->requires_grad) grad_inputs[0] = tgi_sigmoid_grad(grad, y);
    if (y->requires_grad) grad_inputs[1] = tg_mul(tg_mul(grad, g), tg_add_scalar(tg_mul_scalar(y, -2.0), 1.0));
}
const tg_op tg_op_sigmoid_grad = {"sigmoid_grad", 2, sigmoid_grad_forward, sigmoid_grad_backward};
tg_tensor *tgi_sigmoid_grad(tg_tensor *g, tg_tensor *y) {
    return tg_apply_grad_op("tgi_sigmoid_grad", &tg_op_sigmoid_grad, g, y, "tensor", NULL);
}

/* ---- tanh_grad ---- */
static void tanh_grad_forward(const tg_node *node) { run_grad_kernel(node, tanh_grad_f32, tanh_grad_f64); }
static void tanh_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    tg_tensor *g = node->inputs[0], *y = node->inputs[1];
    if (g->requires_grad) grad_inputs[0] = tgi_tanh_grad(grad, y);
    if (y->requires_grad) grad_inputs[1] = tg_mul(tg_mul(grad, g), tg_mul_scalar(y, -2.0));
}
const tg_op tg_op_tanh_grad = {"tanh_grad", 2, tanh_grad_forward, tanh_grad_backward};
tg_tensor *tgi_tanh_grad(tg_tensor *g, tg_tensor *y) {
    return tg_apply_grad_op("tgi_tanh_grad", &tg_op_tanh_grad, g, y, "tensor", NULL);
}
