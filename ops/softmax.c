/* ops/softmax.c — softmax and log_softmax along one axis.
 *
 *   softmax:      y_j = e^(x_j - M) / S              M = max_j x_j
 *   log_softmax:  y_j = (x_j - M) - log S            S = sum_j e^(x_j - M)
 *
 * Subtracting the max keeps every exponent <= 0, so nothing overflows: inputs
 * of +-1000 give finite results (log_softmax([1000, 0]) = [0, -1000]), and S
 * >= 1 so the log is finite. Both dtypes are computed in double and rounded
 * once when stored.
 *
 * A rank-0 tensor has no axis to normalize over; it is refused (TG_ERR_AXIS)
 * rather than given the trivial answer 1, which is more likely to hide a
 * missing axis than to be wanted.
 *
 * The backward rules reuse the output y (node->output, differentiable through
 * its own node under create_graph) and are fused ops of their own
 * (softmax_grads.c). */
#include <math.h>

#include "ops/kernels/vmath.h"
#include "ops/op_internal.h"

/* Columns of the layout below handled together: the max and sum of up to
 * this many independent rows are kept on the stack, so that with inner > 1
 * each pass reads whole runs of consecutive elements. */
#define SOFTMAX_BLOCK 64


/* One kernel per element type; `log_form` selects log_softmax. */
#define DEFINE_SOFTMAX_KERNEL(T, SFX)                                                                      \
    /* A contiguous row (the last axis): e^(x - M) in chunks into a buffer by   \
     * a loop that vectorizes, summed by four partial sums. */                  \
    TG_HOT_CLONES static void softmax_row_##SFX(const T *restrict xo, T *restrict yo, int64_t len,         \
                                               bool log_form) {                                            \
        double m = -INFINITY, part[4] = {0, 0, 0, 0}, e[SOFTMAX_BLOCK];                                    \
        for (int64_t j = 0; j < len; j++)                                                                  \
            if ((double)xo[j] > m) m = (double)xo[j]; /* a NaN in x makes S NaN, and so every y */         \
        for (int64_t j0 = 0; j0 < len; j0 += SOFTMAX_BLOCK) {                                              \
            int64_t w = len - j0 < SOFTMAX_BLOCK ? len - j0 : SOFTMAX_BLOCK;                               \
            TG_FOR_SIMD(k, 0, w, e[k] = tg_vm_exp((double)xo[j0 + k] - m));                                \
            for (int64_t k = 0; k < w; k++) part[k & 3] += e[k];                                           \
        }                                                                                                  \
        double s = (part[0] + part[1]) + (part[2] + part[3]);                                              \
        s = log_form ? log(s) : 1.0 / s;                                                                   \
        if (log_form)                                                                                      \
            TG_FOR_SIMD(j, 0, len, yo[j] = (T)(((double)xo[j] - m) - s));                                  \
        else                                                                                               \
            TG_FOR_SIMD(j, 0, len, yo[j] = (T)(tg_vm_exp((double)xo[j] - m) * s));                         \
    }                                                                                                      \
    TG_HOT_CLONES static void softmax_kernel_##SFX(const T *x, T *y, tg_axis_layout l, bool log_form,        \
                                                   int64_t begin, int64_t end) {                           \
        double max[SOFTMAX_BLOCK], sum[SOFTMAX_BLOCK];                                                     \
        for (int64_t o = begin; o < end; o++) {                                                            \
            const T *xo = x + o * l.len * l.inner;                                                         \
            T *yo = y + o * l.len * l.inner;                                                               \
            if (l.inner == 1) {                                                                            \
                softmax_row_##SFX(xo, yo, l.len, log_form);                                                \
                continue;                                                                                  \
            }                                                                                              \
            for (int64_t i0 = 0; i0 < l.inner; i0 += SOFTMAX_BLOCK) {                                      \
                int64_t w = l.inner - i0 < SOFTMAX_BLOCK ? l.inner - i0 : SOFTMAX_BLOCK;                   \
                for (int64_t i = 0; i < w; i++) {                                                          \
                    max[i] = -INFINITY;                                                                    \
                    sum[i] = 0.0;                                                                          \
                }                                                                                          \
                for (int64_t j = 0; j < l.len; j++)                                                        \
                    for (int64_t i = 0; i < w; i++) {                                                      \
                        double v = (double)xo[j * l.inner + i0 + i];                                       \
                        if (v > max[i]) max[i] = v; /* a NaN in x makes S NaN, and so every y */       \
                    }                                                                                      \
                for (int64_t j = 0; j < l.len; j++)                                                        \
                    for (int64_t i = 0; i < w; i++) sum[i] += tg_vm_exp((double)xo[j * l.inner + i0 + i] - max[i]); \
                for (int64_t i = 0; i < w; i++) sum[i] = log_form ? log(sum[i]) : 1.0 / sum[i];            \
                for (int64_t j = 0; j < l.len; j++)                                                        \
                    for (int64_t i = 0; i < w; i++) {                                                      \
                        double shifted = (double)xo[j * l.inner + i0 + i] - max[i];                        \
                        yo[j * l.inner + i0 + i] =                                                         \
                            (T)(log_form ? shifted - sum[i] : tg_vm_exp(shifted) * sum[i]);                      \
                    }                                                                                      \
            }                                                                                              \
        }                                                                                                  \
    }
DEFINE_SOFTMAX_KERNEL(float, f32)
DEFINE_SOFTMAX_KERNEL(double, f64)

typedef struct softmax_job {
    const tg_node *node;
    tg_axis_layout layout;
    bool log_form;
} softmax_job;

static void softmax_range(void *ctx, int64_t begin, int64_t end) {
    const softmax_job *job = ctx;
    const tg_tensor *x = job->node->inputs[0];
    if (x->dtype == TG_F32)
        softmax_kernel_f32(x->data, job->node->output->data, job->layout, job->log_form, begin, end);
    else
        softmax_kernel_f64(x->data, job->node->output->data, job->layout, job->log_form, begin, end);
}

/* Outer slices are independent: split over the pool (two libm exps and a
 * log per element cost some 20 adds). */
static void softmax_family_forward(const tg_node *node, bool log_form) {
    const tg_tensor *x = node->inputs[0];
    softmax_job job = {node, tg_axis_layout_of(x, (int)node->attrs.ints[0]), log_form};
    tg_parallel_items(job.layout.outer, (double)(job.layout.len * job.layout.inner) * 20.0, softmax_range, &job);
}

static tg_tensor *apply_softmax_family(const char *function, const tg_op *op, tg_tensor *x, int axis) {
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (x->rank == 0) {
        tg_error_report(TG_ERR_AXIS, function,
                        "x has rank 0 (shape ()); there is no axis %d to normalize over (reshape to (1) first)",
                        axis);
        return NULL;
    }
    int normalized;
    if (tgi_normalize_axis(function, x, axis, &normalized) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = normalized, attrs.n_ints = 1;
    return tgi_apply_unary(function, op, x, &attrs);
}

/* ---- softmax.   d: dx = y * (g - sum_axis(g * y)) ----
 * (J = diag(y) - y y^T along the axis, and J is symmetric.) */
static void softmax_forward(const tg_node *node) { softmax_family_forward(node, false); }
static void softmax_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_softmax_grad(g, node->output, (int)node->attrs.ints[0]); /* softmax_grads.c */
}
const tg_op tg_op_softmax = {"softmax", 1, softmax_forward, softmax_backward};
tg_tensor *tg_softmax(tg_tensor *x, int axis) {
    return apply_softmax_family("tg_softmax", &tg_op_softmax, x, axis);
}

/* ---- log_softmax.   d: dx = g - e^y * sum_axis(g) ----
 * (dy_j/dx_k = [j == k] - softmax_k, and softmax = e^y.) */
static void log_softmax_forward(const tg_node *node) { softmax_family_forward(node, true); }
static void log_softmax_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_log_softmax_grad(g, node->output, (int)node->attrs.ints[0]); /* softmax_grads.c */
}
const tg_op tg_op_log_softmax = {"log_softmax", 1, log_softmax_forward, log_softmax_backward};
tg_tensor *tg_log_softmax(tg_tensor *x, int axis) {
    return apply_softmax_family("tg_log_softmax", &tg_op_log_softmax, x, axis);
}
