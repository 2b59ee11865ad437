/* ops/op_internal.h — helpers shared by the op files (internal).
 *
 * How an op is written (see elementwise.c for the pattern):
 *   1. a forward kernel  static void NAME_forward(const tg_node *node)
 *      that reads node->inputs / node->attrs and fills node->output (already
 *      allocated, contiguous, row-major) for float32 and float64;
 *   2. a backward rule   static void NAME_backward(const tg_node *node,
 *                            tg_tensor *grad_output, tg_tensor **grad_inputs)
 *      written only with public ops (tg_mul, tg_sum_to, ...), so that it can
 *      itself be recorded and differentiated (gradients of gradients);
 *   3. the record        const tg_op tg_op_NAME = {"NAME", arity, fwd, bwd};
 *      and one line in op_list.h;
 *   4. the public function (tg_NAME) that validates its arguments, reporting
 *      errors under its own name, works out the output shape and calls
 *      tg_op_apply().
 * A kernel that walks a shape with per-operand strides (broadcast operands,
 * permuted, reduced or batch axes) uses the walk of ops/strided.h.
 */
#ifndef TG_OPS_OP_INTERNAL_H
#define TG_OPS_OP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/simd.h"
#include "core/tape_internal.h" /* tgi_no_attrs, tg_tensor_usable */
#include "core/tensor_internal.h"
#include "core/threadpool.h"
#include "tapegrad/op.h"
#include "tapegrad/ops.h"

/* How each built-in op keeps its parameters in tg_op_attrs (op.h):
 *   add_scalar, mul_scalar, pow: scalar[0] = c / p;  clamp: scalar[0..1] = lo, hi
 *   gt_scalar, lt_scalar: scalar[0] = c
 *   sum, mean, max: axes_mask = reduced axes; flags & TG_ATTR_KEEPDIM
 *   argmax_mask: ints[0] = axis, or TG_ALL_AXES (first max in flat order)
 *   expand, sum_to, reshape: none (the shapes are the output's and input's)
 *   permute: ints[0..rank) = perm (output axis i is input axis perm[i])
 *   slice: ints = {axis, start, stop};  pad: ints = {axis, before, after}
 *   concat: ints[0] = axis;  softmax, log_softmax: ints[0] = axis
 *   matmul: flags & TG_ATTR_TRANSPOSE_A, flags & TG_ATTR_TRANSPOSE_B
 *   to_dtype: none (the output's dtype);  where: none
 *   im2col, col2im, max_pool2d(_grad), avg_pool2d(_grad): ints[0..5) = the
 *   window geometry (conv_internal.h); avg_pool2d(_grad): flags & 1 = adaptive
 *   normalize, normalize_grad: ints = {A, B, D} (norm_internal.h), scalar[0] = eps
 *   dropout: scalar[0] = p, ints = {seed, call counter} (as int64) */
#define TG_ATTR_KEEPDIM 1
#define TG_ATTR_TRANSPOSE_A 1
#define TG_ATTR_TRANSPOSE_B 2

/* Every built-in record, declared from the op list. */
#define TG_OP(name) extern const tg_op tg_op_##name;
#include "ops/op_list.h"
#undef TG_OP

/* The fused backward rules of relu, sigmoid and tanh (activation_grads.c):
 * g where x > 0; g y (1 - y); g (1 - y^2). g and x / y share shape and dtype. */
tg_tensor *tgi_relu_grad(tg_tensor *g, tg_tensor *x);
tg_tensor *tgi_sigmoid_grad(tg_tensor *g, tg_tensor *y);
tg_tensor *tgi_tanh_grad(tg_tensor *g, tg_tensor *y);

/* The fused backward rules of softmax and log_softmax along a normalized
 * axis (softmax_grads.c), S = sum along the axis: y (g - S(g y)) for
 * y = softmax(x); g - e^y S(g) for y = log_softmax(x). */
tg_tensor *tgi_softmax_grad(tg_tensor *g, tg_tensor *y, int axis);
tg_tensor *tgi_log_softmax_grad(tg_tensor *g, tg_tensor *y, int axis);

/* Scaled dot-product attention composed of public ops (batched matmul, an
 * additive causal bias, softmax), the reference the fused op is tested
 * against: same arguments, errors and result as
 * tg_scaled_dot_product_attention (attention.c), with a (T, S) matrix per
 * head in memory. */
tg_tensor *tgi_attention_composed(tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *mask, bool is_causal,
                                 double scale);

/* Checks that both are usable and share a dtype, reporting under `function`
 * (the test inline, run by every binary op; tgi_report_binary explains). */
tg_status tgi_report_binary(const char *function, const tg_tensor *a, const tg_tensor *b);
static inline tg_status tg_check_binary(const char *function, const tg_tensor *a, const tg_tensor *b) {
    if (tg_tensor_usable(a) && tg_tensor_usable(b) && a->dtype == b->dtype) return TG_OK;
    return tgi_report_binary(function, a, b);
}

/* Applies a fused backward op (relu_grad ... log_softmax_grad, above) to a
 * gradient g and a tensor v (the op's input or output, called `v_name` in
 * messages) of g's shape and dtype, with attrs.ints[0] = *axis when axis is
 * not NULL (it must lie in [0, rank)). The output has g's shape. Errors are
 * reported under `function`: TG_ERR_DTYPE, TG_ERR_SHAPE naming both shapes,
 * TG_ERR_AXIS. Inline, as tg_check_binary, with the reports in
 * tgi_report_grad_op: these run once per activation in every backward pass. */
tg_tensor *tgi_report_grad_op(const char *function, const tg_tensor *g, const tg_tensor *v, const char *v_name,
                             const int *axis);
static inline tg_tensor *tg_apply_grad_op(const char *function, const tg_op *op, tg_tensor *g, tg_tensor *v,
                                          const char *v_name, const int *axis) {
    if (tg_check_binary(function, g, v) != TG_OK) return NULL;
    if (!tg_shapes_equal(g, v) || (axis && (*axis < 0 || *axis >= g->rank)))
        return tgi_report_grad_op(function, g, v, v_name, axis);
    tg_tensor *inputs[2] = {g, v};
    if (!axis) return tg_op_apply(op, inputs, 2, NULL, g->dtype, g->rank, g->shape);
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = *axis, attrs.n_ints = 1;
    return tg_op_apply(op, inputs, 2, &attrs, g->dtype, g->rank, g->shape);
}

/* The NumPy broadcast of two shapes (tg_try_broadcast_shape, ops/strided.h),
 * reporting TG_ERR_SHAPE naming both shapes under `function` when they do
 * not broadcast. */
tg_status tgi_broadcast_shape(const char *function, int rank_a, const int64_t *shape_a, int rank_b,
                             const int64_t *shape_b, int *out_rank, int64_t *out_shape);

/* Maps axis in [-rank, rank) to [0, rank); TG_ERR_AXIS naming the function,
 * the axis and the shape otherwise. A rank-0 tensor accepts axis 0 and -1 as
 * "no axis" only where the op says so (callers pass rank >= 1). */
tg_status tgi_normalize_axis(const char *function, const tg_tensor *x, int axis, int *out);

/* x seen as (outer, len, inner) around `axis`: element (o, j, i) is at
 * (o * len + j) * inner + i; each (o, i) is one independent row of len
 * (softmax, log_softmax and their backward ops). */
typedef struct tg_axis_layout {
    int64_t outer, len, inner;
} tg_axis_layout;

static inline tg_axis_layout tg_axis_layout_of(const tg_tensor *x, int axis) {
    tg_axis_layout l = {1, x->shape[axis], 1};
    for (int d = 0; d < axis; d++) l.outer *= x->shape[d];
    for (int d = axis + 1; d < x->rank; d++) l.inner *= x->shape[d];
    return l;
}

/* Turns a list of axes into a bit mask (bit i = axis i), refusing duplicates
 * and axes out of range. n_axes == 0 with axes == NULL means every axis. */
tg_status tgi_axes_mask(const char *function, const tg_tensor *x, int n_axes, const int *axes, uint32_t *mask);

/* Output shape of a reduction over `mask`: reduced axes dropped, or kept as
 * size 1 with keepdim. */
void tgi_reduced_shape(const tg_tensor *x, uint32_t mask, bool keepdim, int *rank, int64_t *shape);

/* Elementwise unary kernel: out[i] = f(x[i], attrs), evaluated in double and
 * stored in the output's dtype. The generic path, for ops that are not hot
 * enough to have their own loops (pow, sqrt, clamp, sign). */
typedef double (*tg_scalar_fn)(double x, const tg_op_attrs *attrs);
void tgi_map_unary(const tg_node *node, tg_scalar_fn f);

/* ---- fast contiguous kernels: TG_FOR_SIMD (tapegrad/simd.h) and
 * tg_parallel_range (core/threadpool.h) ---- */

/* Unary kernels on a contiguous range, for each dtype: out[i] = f(x[i]) for
 * i in [begin, end). */
typedef void (*tg_unary_f32)(float *restrict out, const float *restrict x, int64_t begin, int64_t end,
                             const tg_op_attrs *attrs);
typedef void (*tg_unary_f64)(double *restrict out, const double *restrict x, int64_t begin, int64_t end,
                             const tg_op_attrs *attrs);

/* Runs a unary op's kernels over node->inputs[0] into node->output (same
 * shape and dtype), split by tg_parallel_range with this cost per element.
 * Inline, so that a small tensor's kernel is a direct call from the op's
 * forward: recording a scalar op is a few hundred instructions in all. */
void tgi_run_unary_split(const tg_node *node, tg_unary_f32 f32, tg_unary_f64 f64, double cost);
static inline void tg_run_unary(const tg_node *node, tg_unary_f32 f32, tg_unary_f64 f64, double cost) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    if (out->numel > TG_ON_CALLER_MAX_NUMEL)
        tgi_run_unary_split(node, f32, f64, cost);
    else if (out->dtype == TG_F32)
        f32(out->data, x->data, 0, out->numel, &node->attrs);
    else
        f64(out->data, x->data, 0, out->numel, &node->attrs);
}

/* Runs a unary op record on x with attrs, output of x's shape and dtype,
 * reporting errors under `function`. */
tg_tensor *tgi_apply_unary(const char *function, const tg_op *op, tg_tensor *x, const tg_op_attrs *attrs);

/* The gradient of a broadcast input: `grad` summed down to x's shape (a no-op
 * when the shapes already agree). */
tg_tensor *tgi_reduce_grad_to(tg_tensor *grad, const tg_tensor *x);

#endif
