/* ops/softmax_grads.c — the backward rules of softmax and log_softmax as ops
 * of their own (PyTorch's _softmax_backward_data and
 * _log_softmax_backward_data), with S(t) = sum of t along the axis, kept as a
 * size-1 axis that broadcasts back:
 *   softmax_grad(g, y)     = y (g - S(g y))       y = softmax(x)
 *   log_softmax_grad(g, y) = g - e^y S(g)         y = log_softmax(x)
 * Written with primitive ops these are four passes and three temporaries each
 * (a product, its sum, a difference, a product; log_softmax's also an exp);
 * fused, one read of each row to sum and one to write. For cross-entropy
 * over many classes this is the whole backward of the loss.
 *
 * They are ops like any other, so gradients of gradients flow through them.
 * With G the gradient arriving at the output (J is symmetric for softmax):
 *   softmax_grad:     d/dg = softmax_grad(G, y)
 *                     d/dy = G g - G S(g y) - g S(G y)
 *   log_softmax_grad: d/dg = G - S(G e^y)
 *                     d/dy = -G e^y S(g)
 */
#include <math.h>

#include "ops/kernels/vmath.h"
#include "ops/op_internal.h"

/* The per-row sums S are taken in double (as tg_sum does); the rest is in
 * the element type with the unfused rules' own operations (float32 e^y from
 * vmath.h, as tg_exp), so the fused rules round as the composed ones did but
 * for the order of the sum. Loops run over contiguous elements in blocks of
 * known length (TG_FOR_SIMD), so that they vectorize: along the row when the
 * axis is the last one (inner == 1, the usual case), across the inner
 * columns otherwise. */
#define SUM_BLOCK 64 /* inner columns summed together when inner > 1 */

static inline float exp_f32(float y) { return tg_vm_expf(y); }
static inline double exp_f64(double y) { return exp(y); }

#define DEFINE_SOFTMAX_GRAD_KERNEL(T, SFX)                                                                       \
    /* S over a contiguous row: four partial sums (shorter dependency chains). */                             \
    TG_HOT_CLONES static double row_sum_##SFX(const T *restrict g, const T *restrict y, int64_t n, bool log_form) { \
        double part[4] = {0, 0, 0, 0};                                                                           \
        int64_t j = 0;                                                                                           \
        for (; j + 4 <= n; j += 4)                                                                               \
            for (int k = 0; k < 4; k++) part[k] += log_form ? (double)g[j + k] : (double)(g[j + k] * y[j + k]);  \
        for (; j < n; j++) part[0] += log_form ? (double)g[j] : (double)(g[j] * y[j]);                           \
        return (part[0] + part[1]) + (part[2] + part[3]);                                                        \
    }                                                                                                            \
    TG_HOT_CLONES static void row_out_##SFX(T *restrict out, const T *restrict g, const T *restrict y, int64_t n, \
                                            T total, bool log_form) {                                            \
        if (log_form)                                                                                            \
            TG_FOR_SIMD(j, 0, n, out[j] = g[j] - exp_##SFX(y[j]) * total);                                       \
        else                                                                                                     \
            TG_FOR_SIMD(j, 0, n, out[j] = y[j] * (g[j] - total));                                                \
    }                                                                                                            \
    /* Outer slices [begin, end). */                                                                             \
    static void softmax_grad_kernel_##SFX(const T *g, const T *y, T *out, tg_axis_layout l, bool log_form,         \
                                          int64_t begin, int64_t end) {                                         \
        for (int64_t o = begin; o < end; o++) {                                                                  \
            int64_t base = o * l.len * l.inner;                                                                  \
            if (l.inner == 1) {                                                                                  \
                T total = (T)row_sum_##SFX(g + base, y + base, l.len, log_form);                                 \
                row_out_##SFX(out + base, g + base, y + base, l.len, total, log_form);                           \
                continue;                                                                                        \
            }                                                                                                    \
            for (int64_t i0 = 0; i0 < l.inner; i0 += SUM_BLOCK) {                                                \
                int64_t w = l.inner - i0 < SUM_BLOCK ? l.inner - i0 : SUM_BLOCK;                                 \
                double sum[SUM_BLOCK] = {0};                                                                     \
                T total[SUM_BLOCK];                                                                              \
                for (int64_t j = 0; j < l.len; j++) {                                                            \
                    const T *gj = g + base + j * l.inner + i0, *yj = y + base + j * l.inner + i0;                \
                    for (int64_t i = 0; i < w; i++) sum[i] += log_form ? (double)gj[i] : (double)(gj[i] * yj[i]); \
                }                                                                                                \
                for (int64_t i = 0; i < w; i++) total[i] = (T)sum[i];                                            \
                for (int64_t j = 0; j < l.len; j++) {                                                            \
                    int64_t at = base + j * l.inner + i0;                                                        \
                    for (int64_t i = 0; i < w; i++)                                                              \
                        out[at + i] = log_form ? g[at + i] - exp_##SFX(y[at + i]) * total[i]                     \
                                               : y[at + i] * (g[at + i] - total[i]);                             \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }
DEFINE_SOFTMAX_GRAD_KERNEL(float, f32)
DEFINE_SOFTMAX_GRAD_KERNEL(double, f64)

typedef struct softmax_grad_job {
    const tg_node *node;
    tg_axis_layout layout;
    bool log_form;
} softmax_grad_job;

static void softmax_grad_range(void *ctx, int64_t begin, int64_t end) {
    const softmax_grad_job *job = ctx;
    const tg_tensor *g = job->node->inputs[0], *y = job->node->inputs[1];
    tg_tensor *out = job->node->output;
    if (out->dtype == TG_F32)
        softmax_grad_kernel_f32(g->data, y->data, out->data, job->layout, job->log_form, begin, end);
    else
        softmax_grad_kernel_f64(g->data, y->data, out->data, job->layout, job->log_form, begin, end);
}

/* Outer slices are independent: split over the pool (an exp per element for
 * log_softmax_grad, a few flops for softmax_grad). */
static void softmax_grad_forward_of(const tg_node *node, bool log_form) {
    tg_axis_layout l = tg_axis_layout_of(node->inputs[0], (int)node->attrs.ints[0]);
    softmax_grad_job job = {node, l, log_form};
    tg_parallel_items(l.outer, (double)(l.len * l.inner) * (log_form ? 4.0 : 2.0), softmax_grad_range, &job);
}

/* S(t) along the node's axis, keepdim (broadcasts back against t). */
static tg_tensor *axis_sum(const tg_node *node, tg_tensor *t) {
    int axis = (int)node->attrs.ints[0];
    return tg_sum_axes(t, 1, &axis, true);
}

/* ---- softmax_grad ---- */
static void softmax_grad_forward(const tg_node *node) { softmax_grad_forward_of(node, false); }
static void softmax_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    tg_tensor *g = node->inputs[0], *y = node->inputs[1];
    if (g->requires_grad) grad_inputs[0] = tgi_softmax_grad(grad, y, (int)node->attrs.ints[0]);
    if (y->requires_grad) {
        tg_tensor *first = tg_mul(grad, tg_sub(g, axis_sum(node, tg_mul(g, y))));
        grad_inputs[1] = tg_sub(first, tg_mul(g, axis_sum(node, tg_mul(grad, y))));
    }
}
const tg_op tg_op_softmax_grad = {"softmax_grad", 2, softmax_grad_forward, softmax_grad_backward};
tg_tensor *tgi_softmax_grad(tg_tensor *g, tg_tensor *y, int axis) {
    return tg_apply_grad_op("tgi_softmax_grad", &tg_op_softmax_grad, g, y, "output", &axis);
}

/* ---- log_softmax_grad ---- */
static void log_softmax_grad_forward(const tg_node *node) { softmax_grad_forward_of(node, true); }
static void log_softmax_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    tg_tensor *g = node->inputs[0], *y = node->inputs[1];
    tg_tensor *e = (g->requires_grad || y->requires_grad) ? tg_exp(y) : NULL;
    if (g->requires_grad) grad_inputs[0] = tg_sub(grad, axis_sum(node, tg_mul(grad, e)));
    if (y->requires_grad) grad_inputs[1] = tg_neg(tg_mul(tg_mul(grad, e), axis_sum(node, g)));
}
const tg_op tg_op_log_softmax_grad = {"log_softmax_grad", 2, log_softmax_grad_forward, log_softmax_grad_backward};
tg_tensor *tgi_log_softmax_grad(tg_tensor *g, tg_tensor *y, int axis) {
    return tg_apply_grad_op("tgi_log_softmax_grad", &tg_op_log_softmax_grad, g, y, "output", &axis);
}
