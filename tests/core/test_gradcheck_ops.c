/* tests/core/test_gradcheck_ops.c — every built-in op's backward rule against
 * central finite differences, in float64 (tight) and float32 (the op runs in
 * float32; loose tolerances for float32 rounding), on several shapes:
 * rank 0, size-1 axes, broadcast pairs such as (3,1,4) with (2,1).
 * A test also fails if any op in the op table lacks a backward rule or a case
 * here. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ops/conv_internal.h" /* tgi_im2col, tgi_col2im */
#include "ops/op_internal.h" /* the fused backward ops: tgi_relu_grad, ... */
#include "ops/norm_internal.h" /* tgi_normalize, tgi_normalize_grad */
#include "tapegrad.h"

#define MAX_CASE_INPUTS 3

typedef tg_tensor *(*case_fn)(tg_tensor **x);

typedef struct op_case {
    const char *op;  /* the op-table name this case covers */
    const char *what;
    case_fn apply;
    int n_inputs;
    int rank[MAX_CASE_INPUTS];
    int64_t shape[MAX_CASE_INPUTS][4];
    double lo, hi;   /* sample range                              */
    double avoid;    /* a kink or domain edge to keep away from, or NAN */
    double avoid2;   /* a second one, or NAN                      */
} op_case;

/* ---- the functions under test ---- */
static tg_tensor *f_add(tg_tensor **x) { return tg_add(x[0], x[1]); }
static tg_tensor *f_sub(tg_tensor **x) { return tg_sub(x[0], x[1]); }
static tg_tensor *f_mul(tg_tensor **x) { return tg_mul(x[0], x[1]); }
static tg_tensor *f_div(tg_tensor **x) { return tg_div(x[0], x[1]); }
static tg_tensor *f_add_scalar(tg_tensor **x) { return tg_add_scalar(x[0], 1.5); }
static tg_tensor *f_mul_scalar(tg_tensor **x) { return tg_mul_scalar(x[0], -2.5); }
static tg_tensor *f_pow(tg_tensor **x) { return tg_pow(x[0], 2.5); }
static tg_tensor *f_pow_int(tg_tensor **x) { return tg_pow(x[0], 3.0); }
static tg_tensor *f_neg(tg_tensor **x) { return tg_neg(x[0]); }
static tg_tensor *f_exp(tg_tensor **x) { return tg_exp(x[0]); }
static tg_tensor *f_log(tg_tensor **x) { return tg_log(x[0]); }
static tg_tensor *f_sqrt(tg_tensor **x) { return tg_sqrt(x[0]); }
static tg_tensor *f_abs(tg_tensor **x) { return tg_abs(x[0]); }
static tg_tensor *f_tanh(tg_tensor **x) { return tg_tanh(x[0]); }
static tg_tensor *f_relu(tg_tensor **x) { return tg_relu(x[0]); }
static tg_tensor *f_relu_grad(tg_tensor **x) { return tgi_relu_grad(x[0], x[1]); }
static tg_tensor *f_sigmoid_grad(tg_tensor **x) { return tgi_sigmoid_grad(x[0], x[1]); }
static tg_tensor *f_tanh_grad(tg_tensor **x) { return tgi_tanh_grad(x[0], x[1]); }
static tg_tensor *f_softmax_grad(tg_tensor **x) { return tgi_softmax_grad(x[0], x[1], 1); }
static tg_tensor *f_softmax_grad0(tg_tensor **x) { return tgi_softmax_grad(x[0], x[1], 0); }
static tg_tensor *f_log_softmax_grad(tg_tensor **x) { return tgi_log_softmax_grad(x[0], x[1], 1); }
static tg_tensor *f_log_softmax_grad0(tg_tensor **x) { return tgi_log_softmax_grad(x[0], x[1], 0); }
static tg_tensor *f_erf(tg_tensor **x) { return tg_erf(x[0]); }
static tg_tensor *f_sigmoid(tg_tensor **x) { return tg_sigmoid(x[0]); }
static tg_tensor *f_clamp(tg_tensor **x) { return tg_clamp(x[0], -0.5, 0.5); }
static tg_tensor *f_sum(tg_tensor **x) { return tg_sum(x[0]); }
static tg_tensor *f_sum_axes(tg_tensor **x) { return tg_sum_axes(x[0], 2, (int[]){0, -1}, false); }
static tg_tensor *f_sum_keepdim(tg_tensor **x) { return tg_sum_axes(x[0], 1, (int[]){1}, true); }
static tg_tensor *f_mean(tg_tensor **x) { return tg_mean(x[0]); }
static tg_tensor *f_mean_axes(tg_tensor **x) { return tg_mean_axes(x[0], 1, (int[]){1}, true); }
static tg_tensor *f_max(tg_tensor **x) { return tg_max(x[0]); }
static tg_tensor *f_max_axis(tg_tensor **x) { return tg_max_axis(x[0], 1, false); }
static tg_tensor *f_max_axis_keep(tg_tensor **x) { return tg_max_axis(x[0], 0, true); }
static tg_tensor *f_expand(tg_tensor **x) { return tg_expand(x[0], 3, (int64_t[]){2, 3, 4}); }
static tg_tensor *f_sum_to(tg_tensor **x) { return tg_sum_to(x[0], 2, (int64_t[]){3, 1}); }
static tg_tensor *f_reshape(tg_tensor **x) { return tg_reshape(x[0], 3, (int64_t[]){3, -1, 2}); }
static tg_tensor *f_reshape_scalar(tg_tensor **x) { return tg_reshape(x[0], 0, NULL); }
static tg_tensor *f_permute(tg_tensor **x) { return tg_permute(x[0], (int[]){2, 0, 1}); }
static tg_tensor *f_transpose(tg_tensor **x) { return tg_transpose(x[0]); }
static tg_tensor *f_slice(tg_tensor **x) { return tg_slice(x[0], 1, 1, 3); }
static tg_tensor *f_pad(tg_tensor **x) { return tg_pad(x[0], 0, 1, 2); }
static tg_tensor *f_concat(tg_tensor **x) { return tg_concat(3, x, 1); }
/* x converted to float64 and multiplied by itself. In the float32 run the
 * conversion widens (its rule narrows the gradient back); the float32 run's
 * inputs also pass through a narrowing tg_to_dtype (run_case), so both
 * directions are checked. A float64 -> float32 -> float64 round trip is not
 * a case: finite differences of float32 rounding are noise. */
static tg_tensor *f_to_dtype(tg_tensor **x) {
    tg_tensor *wide = tg_to_dtype(x[0], TG_F64);
    return tg_mul(wide, wide);
}
static tg_tensor *f_matmul(tg_tensor **x) { return tg_matmul(x[0], x[1]); }
static tg_tensor *f_matmul_ta(tg_tensor **x) { return tg_matmul_t(x[0], true, x[1], false); }
static tg_tensor *f_matmul_tb(tg_tensor **x) { return tg_matmul_t(x[0], false, x[1], true); }
static tg_tensor *f_matmul_tab(tg_tensor **x) { return tg_matmul_t(x[0], true, x[1], true); }
static tg_tensor *f_softmax(tg_tensor **x) { return tg_softmax(x[0], -1); }
static tg_tensor *f_softmax0(tg_tensor **x) { return tg_softmax(x[0], 0); }
static tg_tensor *f_log_softmax(tg_tensor **x) { return tg_log_softmax(x[0], 1); }
/* where with a mask made from the inputs (constant near the sample points:
 * tg_gradcheck_input keeps them away from 0, where it would flip):
 * relu-like where(x0 > 0, x0, x1), and with the mask from x1 broadcast over
 * a (3,1,4) a and a rank-0 b (x1 then gets no gradient, and none is due). */
static tg_tensor *f_where(tg_tensor **x) { return tg_where(tg_gt_scalar(x[0], 0.0), x[0], x[1]); }
static tg_tensor *f_where_mask_broadcast(tg_tensor **x) { return tg_where(tg_gt_scalar(x[1], 0.0), x[0], x[2]); }
/* Convolutions on odd shapes: non-square images and kernels, stride 2,
 * asymmetric padding, dilation 2, groups 2 and depthwise. */
static const tgi_window_geometry im2col_geometry = {2, 3, 2, 1, 1, 2, 1, 0, 3, 2}; /* on (2,3,5,4) */
static tg_tensor *f_im2col(tg_tensor **x) { return tgi_im2col(x[0], &im2col_geometry, 1); }
static tg_tensor *f_im2col_groups(tg_tensor **x) { return tgi_im2col(x[0], &im2col_geometry, 3); }
static tg_tensor *f_col2im(tg_tensor **x) { return tgi_col2im(x[0], &im2col_geometry, (int64_t[]){2, 3, 5, 4}); }
static tg_tensor *f_conv2d_bias(tg_tensor **x) { return tg_conv2d(x[0], x[1], x[2], NULL); }
static tg_tensor *f_conv2d_strided(tg_tensor **x) {
    tg_conv2d_opts o = {2, 1, 1, 0, 2, 1, 1, 2, 1}; /* stride (2,1), pads t1 b0 l2 r1, dilation (1,2) */
    return tg_conv2d(x[0], x[1], x[2], &o);
}
static tg_tensor *f_conv2d_groups(tg_tensor **x) {
    tg_conv2d_opts o = tg_conv2d_options(1, 1, 2, 2);
    return tg_conv2d(x[0], x[1], NULL, &o);
}
static tg_tensor *f_conv2d_depthwise(tg_tensor **x) {
    tg_conv2d_opts o = tg_conv2d_options(2, 1, 1, 3);
    return tg_conv2d(x[0], x[1], x[2], &o);
}
static tg_tensor *f_conv1d(tg_tensor **x) {
    tg_conv1d_opts o = {2, 1, 2, 2, 2}; /* stride 2, pads 1 and 2, dilation 2, groups 2 */
    return tg_conv1d(x[0], x[1], x[2], &o);
}
static tg_tensor *f_conv_transpose2d(tg_tensor **x) {
    tg_conv_transpose2d_opts o = {2, 3, 1, 0, 0, 2, 1, 2, 1, 1, 2}; /* output_padding (1,2), groups 2 */
    return tg_conv_transpose2d(x[0], x[1], x[2], &o);
}
/* Pooling: (2,3,5,4) images; the arg-max moves only where two inputs of a
 * window tie, which random samples keep away from. */
static const tgi_window_geometry max_pool_geometry = {2, 2, 2, 2, 1, 1, 1, 1, 3, 3};  /* kernel 2, stride 2, pad 1 */
static const tgi_window_geometry avg_pool_geometry = {3, 3, 2, 2, 1, 1, 1, 1, 3, 2};  /* kernel 3, stride 2, pad 1 */
static tg_tensor *f_max_pool2d(tg_tensor **x) { return tg_max_pool2d(x[0], 2, 2, 1); }
static tg_tensor *f_max_pool2d_overlapping(tg_tensor **x) { return tg_max_pool2d(x[0], 3, 1, 1); }
static tg_tensor *f_max_pool2d_grad(tg_tensor **x) { return tgi_max_pool2d_grad(x[0], x[1], &max_pool_geometry); }
static tg_tensor *f_avg_pool2d(tg_tensor **x) { return tg_avg_pool2d(x[0], 3, 2, 1); }
static tg_tensor *f_adaptive_avg_pool2d(tg_tensor **x) { return tg_adaptive_avg_pool2d(x[0], 3, 4); }
static tg_tensor *f_avg_pool2d_grad(tg_tensor **x) {
    return tgi_avg_pool2d_grad(x[0], &avg_pool_geometry, false, (int64_t[]){2, 3, 5, 4});
}
static tg_tensor *f_adaptive_avg_pool2d_grad(tg_tensor **x) {
    static const tgi_window_geometry to_3x4 = {0, 0, 0, 0, 1, 1, 0, 0, 3, 4};
    return tgi_avg_pool2d_grad(x[0], &to_3x4, true, (int64_t[]){2, 3, 5, 7});
}
/* Normalization: the fused ops on (A, B, D) views with odd sizes, and the
 * public functions with their affine parts. Dropout with a fixed (seed,
 * counter): a constant mask, so the function is linear and smooth. */
static tg_tensor *f_normalize_rows(tg_tensor **x) { return tgi_normalize("test", x[0], 1, 3, 5, 1e-3); }
static tg_tensor *f_normalize_channels(tg_tensor **x) { return tgi_normalize("test", x[0], 2, 3, 3, 1e-3); }
static tg_tensor *f_normalize_columns(tg_tensor **x) { return tgi_normalize("test", x[0], 4, 3, 1, 1e-3); }
static tg_tensor *f_normalize_grad_columns(tg_tensor **x) { return tgi_normalize_grad("test", x[0], x[1], 4, 3, 1, 1e-3); }
static tg_tensor *f_normalize_grad(tg_tensor **x) { return tgi_normalize_grad("test", x[0], x[1], 2, 3, 3, 1e-3); }
static tg_tensor *f_layer_norm(tg_tensor **x) { return tg_layer_norm(x[0], 2, x[1], x[2], 1e-3); }
static tg_tensor *f_batch_norm(tg_tensor **x) { return tg_batch_norm(x[0], x[1], x[2], NULL, NULL, true, 0.1, 1e-3); }
static tg_tensor *f_group_norm(tg_tensor **x) { return tg_group_norm(x[0], 2, x[1], x[2], 1e-3); }
static tg_tensor *f_dropout(tg_tensor **x) { return tg_dropout(x[0], 0.4, true, 17, 3); }
/* Attention: causal over q (2,3,2), k (2,4,2), v (2,4,3); and with an
 * additive (3,4) mask x2 (its own gradient checked) and v = k. */
static tg_tensor *f_attention_causal(tg_tensor **x) {
    return tg_scaled_dot_product_attention(x[0], x[1], x[2], NULL, true, 0);
}
static tg_tensor *f_attention_mask(tg_tensor **x) {
    return tg_scaled_dot_product_attention(x[0], x[1], x[1], x[2], false, 0.7);
}
/* Index tensors are constants of a case: int64 on the current tape (made
 * through tg_to_dtype from doubles), so that backward finds them and
 * nothing is left to free. Repeated indices test the deterministic adds. */
static tg_tensor *tape_indices(int rank, const int64_t *shape, const double *values) {
    tg_tensor *p = tg_from_doubles(TG_F64, rank, shape, values);
    tg_tensor *i = tg_to_dtype(p, TG_I64);
    tg_free(p);
    return i;
}
static tg_tensor *rows_2_0_2_3_2(void) { return tape_indices(1, (int64_t[]){5}, (double[]){2, 0, 2, 3, 2}); }
static tg_tensor *f_index_select(tg_tensor **x) { return tg_index_select(x[0], 0, rows_2_0_2_3_2()); }
static tg_tensor *f_index_select_mid(tg_tensor **x) {
    tg_tensor *idx = tg_to_dtype(tape_indices(1, (int64_t[]){3}, (double[]){1, 1, 0}), TG_I32);
    return tg_index_select(x[0], -2, idx);
}
static tg_tensor *f_index_add(tg_tensor **x) { return tg_index_add(x[0], 0, rows_2_0_2_3_2(), x[1]); }
static tg_tensor *gather_idx(void) { return tape_indices(2, (int64_t[]){3, 2}, (double[]){0, 3, 1, 1, 2, 0}); }
static tg_tensor *f_gather(tg_tensor **x) { return tg_gather(x[0], 1, gather_idx()); }
static tg_tensor *f_gather_axis0_smaller(tg_tensor **x) {
    return tg_gather(x[0], 0, tape_indices(2, (int64_t[]){2, 3}, (double[]){2, 2, 0, 1, 2, 2}));
}
static tg_tensor *f_scatter_add(tg_tensor **x) { return tg_scatter_add(x[0], 1, gather_idx(), x[1]); }
/* masked_fill with a constant mask from the second input (kept away from 0). */
static tg_tensor *f_masked_fill(tg_tensor **x) {
    return tg_masked_fill(x[0], tg_lt(x[1], tg_mul_scalar(x[1], 0.0)), -3.0);
}
static tg_tensor *f_embedding(tg_tensor **x) {
    return tg_embedding(x[0], tape_indices(2, (int64_t[]){2, 3}, (double[]){4, 0, 4, 1, 1, 4}));
}

/* The ops used as one expression: a second-order check would use these too. */
static tg_tensor *f_composite(tg_tensor **x) {
    return tg_mean(tg_mul(tg_sigmoid(tg_matmul(x[0], x[1])), tg_log_softmax(tg_matmul(x[0], x[1]), 1)));
}

static const op_case cases[] = {
    {"add", "broadcast (3,1,4)+(2,1)", f_add, 2, {3, 2}, {{3, 1, 4}, {2, 1}}, -2, 2, NAN, NAN},
    {"add", "same shape", f_add, 2, {2, 2}, {{2, 3}, {2, 3}}, -2, 2, NAN, NAN},
    {"add", "rank 0 + (3)", f_add, 2, {0, 1}, {{0}, {3}}, -2, 2, NAN, NAN},
    {"sub", "broadcast (2,1)-(3,1,4)", f_sub, 2, {2, 3}, {{2, 1}, {3, 1, 4}}, -2, 2, NAN, NAN},
    {"mul", "broadcast (3,1,4)*(2,1)", f_mul, 2, {3, 2}, {{3, 1, 4}, {2, 1}}, -2, 2, NAN, NAN},
    {"mul", "size-1 axes (1,3,1)*(1)", f_mul, 2, {3, 1}, {{1, 3, 1}, {1}}, -2, 2, NAN, NAN},
    {"div", "broadcast (3,1,4)/(2,1)", f_div, 2, {3, 2}, {{3, 1, 4}, {2, 1}}, 0.5, 2, NAN, NAN},
    {"add_scalar", "(2,3)", f_add_scalar, 1, {2}, {{2, 3}}, -2, 2, NAN, NAN},
    {"mul_scalar", "rank 0", f_mul_scalar, 1, {0}, {{0}}, -2, 2, NAN, NAN},
    {"pow", "x^2.5 on (2,3)", f_pow, 1, {2}, {{2, 3}}, 0.3, 2, NAN, NAN},
    {"pow", "x^3 on negatives too", f_pow_int, 1, {1}, {{5}}, -2, 2, NAN, NAN},
    {"neg", "(4)", f_neg, 1, {1}, {{4}}, -2, 2, NAN, NAN},
    {"exp", "(2,2)", f_exp, 1, {2}, {{2, 2}}, -2, 2, NAN, NAN},
    {"exp", "rank 0", f_exp, 1, {0}, {{0}}, -2, 2, NAN, NAN},
    {"log", "(3,2), x > 0", f_log, 1, {2}, {{3, 2}}, 0.2, 3, NAN, NAN},
    {"sqrt", "(3), x > 0", f_sqrt, 1, {1}, {{3}}, 0.2, 3, NAN, NAN},
    {"abs", "(2,3) away from 0", f_abs, 1, {2}, {{2, 3}}, -2, 2, 0.0, NAN},
    {"tanh", "(2,3)", f_tanh, 1, {2}, {{2, 3}}, -2, 2, NAN, NAN},
    {"relu", "(2,3) away from 0", f_relu, 1, {2}, {{2, 3}}, -2, 2, 0.0, NAN},
    {"relu", "size-1 axes (1,4,1)", f_relu, 1, {3}, {{1, 4, 1}}, -2, 2, 0.0, NAN},
    {"sigmoid", "(2,3)", f_sigmoid, 1, {2}, {{2, 3}}, -3, 3, NAN, NAN},
    {"clamp", "(2,4) away from -0.5 and 0.5", f_clamp, 1, {2}, {{2, 4}}, -1, 1, -0.5, 0.5},
    {"sum", "all of (2,3,2)", f_sum, 1, {3}, {{2, 3, 2}}, -2, 2, NAN, NAN},
    {"sum", "rank 0", f_sum, 1, {0}, {{0}}, -2, 2, NAN, NAN},
    {"sum", "axes {0,-1} of (2,3,4)", f_sum_axes, 1, {3}, {{2, 3, 4}}, -2, 2, NAN, NAN},
    {"sum", "axis 1 keepdim of (2,3)", f_sum_keepdim, 1, {2}, {{2, 3}}, -2, 2, NAN, NAN},
    {"mean", "all of (3,4)", f_mean, 1, {2}, {{3, 4}}, -2, 2, NAN, NAN},
    {"mean", "axis 1 keepdim of (2,3,2)", f_mean_axes, 1, {3}, {{2, 3, 2}}, -2, 2, NAN, NAN},
    {"max", "all of (3,4)", f_max, 1, {2}, {{3, 4}}, -2, 2, NAN, NAN},
    {"max", "axis 1 of (2,5)", f_max_axis, 1, {2}, {{2, 5}}, -2, 2, NAN, NAN},
    {"max", "axis 0 keepdim of (3,2)", f_max_axis_keep, 1, {2}, {{3, 2}}, -2, 2, NAN, NAN},
    {"expand", "(3,1) to (2,3,4)", f_expand, 1, {2}, {{3, 1}}, -2, 2, NAN, NAN},
    {"sum_to", "(2,3,4) to (3,1)", f_sum_to, 1, {3}, {{2, 3, 4}}, -2, 2, NAN, NAN},
    {"reshape", "(2,3,2) to (3,-1,2)", f_reshape, 1, {3}, {{2, 3, 2}}, -2, 2, NAN, NAN},
    {"reshape", "(1,1) to rank 0", f_reshape_scalar, 1, {2}, {{1, 1}}, -2, 2, NAN, NAN},
    {"permute", "(2,3,4) by (2,0,1)", f_permute, 1, {3}, {{2, 3, 4}}, -2, 2, NAN, NAN},
    {"permute", "transpose (2,3,4)", f_transpose, 1, {3}, {{2, 3, 4}}, -2, 2, NAN, NAN},
    {"slice", "axis 1 [1,3) of (2,4)", f_slice, 1, {2}, {{2, 4}}, -2, 2, NAN, NAN},
    {"pad", "axis 0 (1,2) of (2,3)", f_pad, 1, {2}, {{2, 3}}, -2, 2, NAN, NAN},
    {"concat", "three along axis 1", f_concat, 3, {2, 2, 2}, {{2, 1}, {2, 3}, {2, 2}}, -2, 2, NAN, NAN},
    {"to_dtype", "to float64, squared", f_to_dtype, 1, {2}, {{2, 3}}, -2, 2, NAN, NAN},
    {"matmul", "(3,4)@(4,2)", f_matmul, 2, {2, 2}, {{3, 4}, {4, 2}}, -2, 2, NAN, NAN},
    {"matmul", "batched broadcast (2,1,2,3)@(3,3,2)", f_matmul, 2, {4, 3}, {{2, 1, 2, 3}, {3, 3, 2}}, -2, 2, NAN, NAN},
    {"matmul", "A^T B: (4,3)^T@(4,2)", f_matmul_ta, 2, {2, 2}, {{4, 3}, {4, 2}}, -2, 2, NAN, NAN},
    {"matmul", "A B^T: (3,4)@(2,4)^T", f_matmul_tb, 2, {2, 2}, {{3, 4}, {2, 4}}, -2, 2, NAN, NAN},
    {"matmul", "A^T B^T, batched", f_matmul_tab, 2, {3, 3}, {{2, 4, 3}, {2, 2, 4}}, -2, 2, NAN, NAN},
    {"matmul", "size-1 (1,3)@(3,1)", f_matmul, 2, {2, 2}, {{1, 3}, {3, 1}}, -2, 2, NAN, NAN},
    {"softmax", "last axis of (3,4)", f_softmax, 1, {2}, {{3, 4}}, -3, 3, NAN, NAN},
    {"softmax", "axis 0 of (3,1,2)", f_softmax0, 1, {3}, {{3, 1, 2}}, -3, 3, NAN, NAN},
    {"log_softmax", "axis 1 of (2,5)", f_log_softmax, 1, {2}, {{2, 5}}, -3, 3, NAN, NAN},
    /* The fused backward rules, as ops: (g, x) or (g, y); both inputs drawn
     * from the range, y in sigmoid's (0, 1) and tanh's (-1, 1). */
    {"relu_grad", "(2,3), x away from 0", f_relu_grad, 2, {2, 2}, {{2, 3}, {2, 3}}, -2, 2, 0.0, NAN},
    {"sigmoid_grad", "(2,3), y in (0.1, 0.9)", f_sigmoid_grad, 2, {2, 2}, {{2, 3}, {2, 3}}, 0.1, 0.9, NAN, NAN},
    {"tanh_grad", "(4), y in (-0.9, 0.9)", f_tanh_grad, 2, {1, 1}, {{4}, {4}}, -0.9, 0.9, NAN, NAN},
    {"tanh_grad", "rank 0", f_tanh_grad, 2, {0, 0}, {{0}, {0}}, -0.9, 0.9, NAN, NAN},
    /* softmax's: (g, y) along an axis, y a probability; log_softmax's: y <= 0. */
    {"softmax_grad", "axis 1 of (2,4)", f_softmax_grad, 2, {2, 2}, {{2, 4}, {2, 4}}, 0.05, 0.9, NAN, NAN},
    {"softmax_grad", "axis 0 of (3,1,2)", f_softmax_grad0, 2, {3, 3}, {{3, 1, 2}, {3, 1, 2}}, 0.05, 0.9, NAN, NAN},
    {"log_softmax_grad", "axis 1 of (2,5)", f_log_softmax_grad, 2, {2, 2}, {{2, 5}, {2, 5}}, -3, 0, NAN, NAN},
    {"log_softmax_grad", "axis 0 of (3,2)", f_log_softmax_grad0, 2, {2, 2}, {{3, 2}, {3, 2}}, -3, 0, NAN, NAN},
    {"where", "same shape (2,3)", f_where, 2, {2, 2}, {{2, 3}, {2, 3}}, -2, 2, 0.0, NAN},
    {"where", "broadcast a (3,1,4), b (2,1)", f_where, 2, {3, 2}, {{3, 1, 4}, {2, 1}}, -2, 2, 0.0, NAN},
    {"where", "mask (2,1) from x1, b rank 0", f_where_mask_broadcast, 3, {3, 2, 0}, {{3, 1, 4}, {2, 1}, {0}}, -2, 2,
     0.0, NAN},
    {"im2col", "(2,3,5,4), kernel 2x3, stride (2,1), dilation (1,2)", f_im2col, 1, {4}, {{2, 3, 5, 4}}, -2, 2, NAN, NAN},
    {"im2col", "3 groups", f_im2col_groups, 1, {4}, {{2, 3, 5, 4}}, -2, 2, NAN, NAN},
    {"col2im", "to (2,3,5,4)", f_col2im, 1, {2}, {{18, 12}}, -2, 2, NAN, NAN},
    {"conv2d", "(2,3,5,4) by (4,3,2,3) + bias", f_conv2d_bias, 3, {4, 4, 1}, {{2, 3, 5, 4}, {4, 3, 2, 3}, {4}}, -1, 1,
     NAN, NAN},
    {"conv2d", "stride 2, asymmetric padding, dilation 2", f_conv2d_strided, 3, {4, 4, 1},
     {{1, 2, 5, 6}, {3, 2, 3, 2}, {3}}, -1, 1, NAN, NAN},
    {"conv2d", "groups 2, dilation 2", f_conv2d_groups, 2, {4, 4}, {{2, 4, 5, 5}, {6, 2, 3, 2}}, -1, 1, NAN, NAN},
    {"conv2d", "depthwise x2, stride 2", f_conv2d_depthwise, 3, {4, 4, 1}, {{1, 3, 5, 6}, {6, 1, 3, 3}, {6}}, -1, 1,
     NAN, NAN},
    {"conv1d", "(2,4,9) by (6,2,3) + bias, stride 2, dilation 2, groups 2", f_conv1d, 3, {3, 3, 1},
     {{2, 4, 9}, {6, 2, 3}, {6}}, -1, 1, NAN, NAN},
    {"conv_transpose2d", "stride (2,3), output_padding (1,2), groups 2", f_conv_transpose2d, 3, {4, 4, 1},
     {{2, 4, 3, 4}, {4, 3, 2, 3}, {6}}, -1, 1, NAN, NAN},
    {"max_pool2d", "(2,3,5,4), kernel 2, stride 2, padding 1", f_max_pool2d, 1, {4}, {{2, 3, 5, 4}}, -2, 2, NAN, NAN},
    {"max_pool2d", "overlapping: kernel 3, stride 1, padding 1", f_max_pool2d_overlapping, 1, {4}, {{1, 2, 4, 5}}, -2,
     2, NAN, NAN},
    {"max_pool2d_grad", "(2,3,3,3) into (2,3,5,4)", f_max_pool2d_grad, 2, {4, 4}, {{2, 3, 3, 3}, {2, 3, 5, 4}}, -2, 2,
     NAN, NAN},
    {"avg_pool2d", "(2,3,5,4), kernel 3, stride 2, padding 1", f_avg_pool2d, 1, {4}, {{2, 3, 5, 4}}, -2, 2, NAN, NAN},
    {"avg_pool2d", "adaptive (2,3,5,7) to 3x4", f_adaptive_avg_pool2d, 1, {4}, {{2, 3, 5, 7}}, -2, 2, NAN, NAN},
    {"avg_pool2d_grad", "(2,3,3,2) into (2,3,5,4)", f_avg_pool2d_grad, 1, {4}, {{2, 3, 3, 2}}, -2, 2, NAN, NAN},
    {"avg_pool2d_grad", "adaptive 3x4 into (2,3,5,7)", f_adaptive_avg_pool2d_grad, 1, {4}, {{2, 3, 3, 4}}, -2, 2, NAN,
     NAN},
    {"normalize", "rows of (3,5)", f_normalize_rows, 1, {2}, {{3, 5}}, -2, 2, NAN, NAN},
    {"normalize", "channels of (2,3,3)", f_normalize_channels, 1, {3}, {{2, 3, 3}}, -2, 2, NAN, NAN},
    {"normalize", "columns of (4,3)", f_normalize_columns, 1, {2}, {{4, 3}}, -2, 2, NAN, NAN},
    {"normalize_grad", "(g, x) columns of (4,3)", f_normalize_grad_columns, 2, {2, 2}, {{4, 3}, {4, 3}}, -2, 2, NAN,
     NAN},
    {"normalize_grad", "(g, x) as (2,3,3)", f_normalize_grad, 2, {3, 3}, {{2, 3, 3}, {2, 3, 3}}, -2, 2, NAN, NAN},
    {"normalize", "layer_norm (2,3,5) over (3,5), affine", f_layer_norm, 3, {3, 2, 2}, {{2, 3, 5}, {3, 5}, {3, 5}},
     -2, 2, NAN, NAN},
    {"normalize", "batch_norm (3,2,1,3), affine", f_batch_norm, 3, {4, 1, 1}, {{3, 2, 1, 3}, {2}, {2}}, -2, 2, NAN,
     NAN},
    {"normalize", "group_norm (2,4,3), 2 groups", f_group_norm, 3, {3, 1, 1}, {{2, 4, 3}, {4}, {4}}, -2, 2, NAN, NAN},
    {"dropout", "(3,7), p 0.4", f_dropout, 1, {2}, {{3, 7}}, -2, 2, NAN, NAN},
    {"erf", "(2,3)", f_erf, 1, {2}, {{2, 3}}, -2.5, 2.5, NAN, NAN},
    {"attention", "causal, q (2,3,2) k (2,4,2) v (2,4,3)", f_attention_causal, 3, {3, 3, 3},
     {{2, 3, 2}, {2, 4, 2}, {2, 4, 3}}, -1.5, 1.5, NAN, NAN},
    {"attention", "mask (3,4), v = k, scale 0.7", f_attention_mask, 3, {3, 3, 2}, {{2, 3, 2}, {2, 4, 2}, {3, 4}}, -1.5,
     1.5, NAN, NAN},
    {"index_select", "rows {2,0,2,3,2} of (4,3)", f_index_select, 1, {2}, {{4, 3}}, -2, 2, NAN, NAN},
    {"index_select", "axis -2 of (2,3,2), int32 {1,1,0}", f_index_select_mid, 1, {3}, {{2, 3, 2}}, -2, 2, NAN, NAN},
    {"index_add", "(4,3) + (5,3) at rows {2,0,2,3,2}", f_index_add, 2, {2, 2}, {{4, 3}, {5, 3}}, -2, 2, NAN, NAN},
    {"gather", "axis 1 of (3,4), idx (3,2)", f_gather, 1, {2}, {{3, 4}}, -2, 2, NAN, NAN},
    {"gather", "axis 0 of (3,4), idx (2,3)", f_gather_axis0_smaller, 1, {2}, {{3, 4}}, -2, 2, NAN, NAN},
    {"scatter_add", "(3,4) + (3,2) along axis 1", f_scatter_add, 2, {2, 2}, {{3, 4}, {3, 2}}, -2, 2, NAN, NAN},
    {"embedding", "(5,3) table, idx (2,3)", f_embedding, 1, {2}, {{5, 3}}, -2, 2, NAN, NAN},
    {"masked_fill", "(3,4) with a mask (4) from x1 < 0", f_masked_fill, 2, {2, 1}, {{3, 4}, {4}}, -2, 2, 0.0, NAN},
    {"composite", "mean(sigmoid(AB) * log_softmax(AB))", f_composite, 2, {2, 2}, {{3, 4}, {4, 5}}, -1, 1, NAN, NAN},
};
static const int n_cases = (int)(sizeof cases / sizeof cases[0]);

/* Ops with no gradient by design: masks used inside backward rules. */
static const char *const non_differentiable[] = {"gt_scalar", "lt_scalar", "sign", "argmax_mask", "argmax",
                                                  "eq", "ne", "lt", "le", "gt", "ge"};

typedef struct run_ctx {
    const op_case *c;
    tg_dtype dtype;
} run_ctx;

/* gradcheck hands float64 inputs; the op runs in the dtype under test. */
static tg_tensor *run_case(tg_tensor *const *inputs, int n, void *ctx) {
    run_ctx *run = ctx;
    tg_tensor *converted[MAX_CASE_INPUTS];
    for (int i = 0; i < n; i++) converted[i] = run->dtype == TG_F64 ? inputs[i] : tg_to_dtype(inputs[i], run->dtype);
    return run->c->apply(converted);
}

typedef enum check_order { FIRST_ORDER = 1, SECOND_ORDER = 2 } check_order;

static void check_case_order(const op_case *c, tg_dtype dtype, tg_gradcheck_mode mode, uint64_t seed,
                             check_order order) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *inputs[MAX_CASE_INPUTS];
    double avoid[2];
    int n_avoid = 0;
    if (!isnan(c->avoid)) avoid[n_avoid++] = c->avoid;
    if (!isnan(c->avoid2)) avoid[n_avoid++] = c->avoid2;
    for (int i = 0; i < c->n_inputs; i++)
        inputs[i] = tg_gradcheck_input(&rng, c->rank[i], c->shape[i], c->lo, c->hi, n_avoid, avoid, 0.05);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.mode = mode;
    options.seed = seed;
    if (dtype == TG_F32) { /* float32 rounding (~6e-8) swamps a small step */
        options.eps = 1e-3;
        options.atol = 2e-3;
        options.rtol = 2e-2;
    } else {
        options.eps = 1e-6;
        options.atol = 1e-7;
        options.rtol = 1e-6;
    }
    run_ctx run = {c, dtype};
    tg_gradcheck_result result;
    tg_status status = order == SECOND_ORDER
                           ? tg_gradgradcheck(run_case, &run, c->n_inputs, inputs, &options, &result)
                           : tg_gradcheck(run_case, &run, c->n_inputs, inputs, &options, &result);
    const char *check = order == SECOND_ORDER ? "gradgradcheck" : "gradcheck";
    char text[512];
    cr_assert_eq(status, TG_OK, "%s (%s, %s): %s could not run: %s", c->op, c->what, tg_dtype_name(dtype), check,
                 tg_last_error_message());
    cr_assert(result.passed, "%s (%s, %s, %s %s): %s", c->op, c->what, tg_dtype_name(dtype),
              mode == TG_GRADCHECK_FULL ? "full" : "random", check, tg_gradcheck_describe(&result, text, sizeof text));
    cr_assert_gt(result.entries_checked, 0);
    for (int i = 0; i < c->n_inputs; i++) tg_free(inputs[i]);
}

static void check_case(const op_case *c, tg_dtype dtype, tg_gradcheck_mode mode, uint64_t seed) {
    check_case_order(c, dtype, mode, seed, FIRST_ORDER);
}

Test(gradcheck_ops, every_op_float64_full_jacobian) {
    for (int i = 0; i < n_cases; i++) check_case(&cases[i], TG_F64, TG_GRADCHECK_FULL, 100 + (uint64_t)i);
}

Test(gradcheck_ops, every_op_float32_full_jacobian) {
    for (int i = 0; i < n_cases; i++) check_case(&cases[i], TG_F32, TG_GRADCHECK_FULL, 200 + (uint64_t)i);
}

Test(gradcheck_ops, every_op_float64_random_directions) {
    for (int i = 0; i < n_cases; i++) check_case(&cases[i], TG_F64, TG_GRADCHECK_RANDOM, 300 + (uint64_t)i);
}

/* Second order for every case (so every differentiable op with a case has
 * one): the gradient of each op's gradient, through its rule's own rules,
 * against finite differences of the analytic gradient (tg_gradgradcheck). */
Test(gradcheck_ops, every_op_float64_second_order_full) {
    for (int i = 0; i < n_cases; i++) check_case_order(&cases[i], TG_F64, TG_GRADCHECK_FULL, 400 + (uint64_t)i, SECOND_ORDER);
}

Test(gradcheck_ops, every_op_float32_second_order_full) {
    for (int i = 0; i < n_cases; i++) check_case_order(&cases[i], TG_F32, TG_GRADCHECK_FULL, 500 + (uint64_t)i, SECOND_ORDER);
}

static bool is_non_differentiable(const char *name) {
    for (size_t i = 0; i < sizeof non_differentiable / sizeof non_differentiable[0]; i++)
        if (strcmp(name, non_differentiable[i]) == 0) return true;
    return false;
}

Test(gradcheck_ops, every_op_in_the_table_has_a_backward_rule_and_a_case) {
    cr_assert_gt(tg_builtin_op_count(), 30);
    for (int k = 0; k < tg_builtin_op_count(); k++) {
        const tg_op *op = tg_builtin_op(k);
        cr_assert_not_null(op->forward, "%s has no forward kernel", op->name);
        cr_assert_eq(tg_find_op(op->name), op, "%s: lookup by name", op->name);
        if (is_non_differentiable(op->name)) {
            cr_assert_null(op->backward, "%s is listed as non-differentiable but has a backward rule", op->name);
            continue;
        }
        cr_assert_not_null(op->backward, "op '%s' has no backward rule", op->name);
        bool covered = false;
        for (int i = 0; i < n_cases && !covered; i++) covered = strcmp(cases[i].op, op->name) == 0;
        cr_assert(covered, "op '%s' has no gradcheck case in tests/core/test_gradcheck_ops.c (each case is "
                           "checked to first and second order)", op->name);
    }
}

/* Second order: the backward rules are ops, so d/dx of a gradient is checked
 * too. h(x) = sum(g * d/dx f(x)) for f = sum(tanh(x) * x * sigmoid(x)). */
static tg_tensor *gradient_of(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *x = inputs[0];
    tg_tensor *f = tg_sum(tg_mul(tg_mul(tg_tanh(x), x), tg_sigmoid(tg_log_softmax(x, 0))));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return dfdx;
}

Test(gradcheck_ops, second_order_gradients) {
    tg_rng rng = tg_rng_seeded(7);
    tg_tensor *x = tg_gradcheck_input(&rng, 1, (int64_t[]){5}, -2, 2, 0, NULL, 0);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_of, NULL, 1, &x, &options, &result), TG_OK, "%s", tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

/* Second order through where: h(x) = d/dx sum(where(x > 0, x^3, tanh(x)))
 * = 3x^2 where x > 0, 1 - tanh^2 x elsewhere; its own gradient is checked,
 * which runs where's rule (a where) backward again. */
static tg_tensor *gradient_through_where(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *x = inputs[0];
    tg_tensor *f = tg_sum(tg_where(tg_gt_scalar(x, 0.0), tg_pow(x, 3.0), tg_tanh(x)));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return dfdx;
}

Test(gradcheck_ops, second_order_gradients_through_where) {
    tg_rng rng = tg_rng_seeded(8);
    tg_tensor *x = tg_gradcheck_input(&rng, 1, (int64_t[]){6}, -2, 2, 1, (double[]){0.0}, 0.05);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_through_where, NULL, 1, &x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

/* Second order through conv2d (im2col, col2im, matmul): h(x, w) =
 * |d/dx f|^2 + |d/dw f|^2 for f = sum(tanh(conv2d(x, w))) with stride 2,
 * asymmetric padding and 2 groups; its gradient runs the rules of the
 * rules (col2im's is im2col and back). */
static tg_tensor *gradients_through_conv2d(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_conv2d_opts o = {2, 1, 1, 0, 0, 1, 1, 1, 2};
    tg_tensor *f = tg_sum(tg_tanh(tg_conv2d(inputs[0], inputs[1], NULL, &o)));
    tg_tensor *d[2];
    if (tg_gradients(f, NULL, 2, (tg_tensor *[]){inputs[0], inputs[1]}, d, true) != TG_OK) return NULL;
    return tg_add(tg_sum(tg_mul(d[0], d[0])), tg_sum(tg_mul(d[1], d[1])));
}

Test(gradcheck_ops, second_order_gradients_through_conv2d) {
    tg_rng rng = tg_rng_seeded(9);
    tg_tensor *x[2] = {tg_gradcheck_input(&rng, 4, (int64_t[]){2, 4, 5, 4}, -1, 1, 0, NULL, 0),
                       tg_gradcheck_input(&rng, 4, (int64_t[]){4, 2, 2, 3}, -1, 1, 0, NULL, 0)};
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradients_through_conv2d, NULL, 2, x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x[0]);
    tg_free(x[1]);
}

/* Second order through the index ops and masked_fill: h(x) = d/dx f(x) for
 * f = sum(tanh(index_select(x, 0, idx)) * gather(x, 1, idx2)^2
 *         + sigmoid(embedding(x, idx3)) + masked_fill(x, mask, 0.5)^3),
 * whose rules are index_add and scatter_add, whose own rules are
 * index_select and gather again. */
static tg_tensor *gradient_through_indexing(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *x = inputs[0]; /* (4,3) */
    tg_tensor *picked = tg_tanh(tg_index_select(x, 0, rows_2_0_2_3_2()));                      /* (5,3) */
    tg_tensor *idx2 = tape_indices(2, (int64_t[]){4, 3}, (double[]){0, 0, 2, 1, 2, 2, 0, 1, 1, 2, 2, 2});
    tg_tensor *gathered = tg_pow(tg_gather(x, 1, idx2), 2.0);                                  /* (4,3) */
    tg_tensor *looked = tg_sigmoid(tg_embedding(x, tape_indices(1, (int64_t[]){3}, (double[]){3, 3, 1})));
    tg_tensor *mask = tape_indices(1, (int64_t[]){3}, (double[]){0, 1, 0}); /* fills column 1 */
    tg_tensor *filled = tg_pow(tg_masked_fill(x, mask, 0.5), 3.0);
    tg_tensor *f = tg_add(tg_add(tg_sum(picked), tg_sum(tg_mul(gathered, x))), tg_add(tg_sum(looked), tg_sum(filled)));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return tg_mul(dfdx, tg_tanh(x)); /* not linear in x, so the second order is exercised everywhere */
}

Test(gradcheck_ops, second_order_gradients_through_indexing) {
    tg_rng rng = tg_rng_seeded(9);
    tg_tensor *x = tg_gradcheck_input(&rng, 2, (int64_t[]){4, 3}, -2, 2, 0, NULL, 0);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_through_indexing, NULL, 1, &x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

/* Second order through pooling: h(x) = |d/dx f|^2 for f = sum(tanh(pool(x)))
 * with max and average pooling side by side (their gradients' rules are the
 * pooling ops again). */
static tg_tensor *gradient_through_pooling(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *x = inputs[0];
    tg_tensor *f = tg_add(tg_sum(tg_tanh(tg_max_pool2d(x, 2, 2, 1))), tg_sum(tg_tanh(tg_avg_pool2d(x, 3, 2, 1))));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return tg_sum(tg_mul(dfdx, dfdx));
}

Test(gradcheck_ops, second_order_gradients_through_pooling) {
    tg_rng rng = tg_rng_seeded(10);
    tg_tensor *x = tg_gradcheck_input(&rng, 4, (int64_t[]){2, 2, 5, 4}, -2, 2, 0, NULL, 0);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_through_pooling, NULL, 1, &x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

/* Second order through the normalization ops: h(x) = d/dx sum(c * y^2) for
 * y = layer_norm(x) over the last axis, or batch_norm(x) in training, c a
 * fixed tensor: h's own gradient runs normalize_grad's rule, both halves
 * (the incoming gradient 2 c y depends on x too). */
typedef struct norm_second_order {
    tg_tensor *c;
    bool batch;
} norm_second_order;

static tg_tensor *gradient_through_norm(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    const norm_second_order *so = ctx;
    tg_tensor *x = inputs[0];
    tg_tensor *y = so->batch ? tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, 1e-3)
                             : tg_layer_norm(x, 1, NULL, NULL, 1e-3);
    tg_tensor *f = tg_sum(tg_mul(tg_mul(y, y), so->c));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return dfdx;
}

Test(gradcheck_ops, second_order_gradients_through_normalization) {
    for (int batch = 0; batch < 2; batch++) {
        tg_rng rng = tg_rng_seeded(9 + (uint64_t)batch);
        int64_t shape[2] = {3, 4};
        tg_tensor *x = tg_gradcheck_input(&rng, 2, shape, -2, 2, 0, NULL, 0);
        norm_second_order so = {tg_rand_uniform(&rng, TG_F64, 2, shape, -1, 1), batch};
        tg_gradcheck_options options = tg_gradcheck_defaults();
        options.atol = 1e-6;
        options.rtol = 1e-5;
        tg_gradcheck_result result;
        cr_assert_eq(tg_gradcheck(gradient_through_norm, &so, 1, &x, &options, &result), TG_OK, "%s",
                     tg_last_error_message());
        char text[512];
        cr_assert(result.passed, "%s: %s", batch ? "batch_norm" : "layer_norm",
                  tg_gradcheck_describe(&result, text, sizeof text));
        tg_free(x), tg_free(so.c);
    }
}

/* Second order through dropout: h(x) = d/dx sum(dropout(x)^3) = 3 d(x)^2 m s,
 * whose gradient runs dropout's rule (dropout) twice. */
static tg_tensor *gradient_through_dropout(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *f = tg_sum(tg_pow(tg_dropout(inputs[0], 0.3, true, 4, 2), 3.0));
    tg_tensor *dfdx;
    if (tg_gradients(f, NULL, 1, &inputs[0], &dfdx, true) != TG_OK) return NULL;
    return dfdx;
}

Test(gradcheck_ops, second_order_gradients_through_dropout) {
    tg_rng rng = tg_rng_seeded(11);
    tg_tensor *x = tg_gradcheck_input(&rng, 1, (int64_t[]){9}, -2, 2, 0, NULL, 0);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_through_dropout, NULL, 1, &x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

/* Second order through the fused attention: h(q, k, v, mask) = the sum of
 * squares of f's four gradients, f = sum(out^2), out causal attention with
 * a mask; h's gradient runs the attention rule's ops backward again. */
static tg_tensor *gradient_through_attention(tg_tensor *const *inputs, int n, void *ctx) {
    (void)ctx;
    tg_tensor *out = tg_scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], inputs[3], true, 0);
    tg_tensor *f = tg_sum(tg_mul(out, out));
    tg_tensor *grads[4];
    if (tg_gradients(f, NULL, n, inputs, grads, true) != TG_OK) return NULL;
    tg_tensor *h = tg_sum(tg_mul(grads[0], grads[0]));
    for (int i = 1; i < n; i++) h = tg_add(h, tg_sum(tg_mul(grads[i], grads[i])));
    return h;
}

Test(gradcheck_ops, second_order_gradients_through_attention) {
    tg_rng rng = tg_rng_seeded(9);
    tg_tensor *x[4] = {tg_gradcheck_input(&rng, 3, (int64_t[]){2, 3, 2}, -1, 1, 0, NULL, 0),
                       tg_gradcheck_input(&rng, 3, (int64_t[]){2, 3, 2}, -1, 1, 0, NULL, 0),
                       tg_gradcheck_input(&rng, 3, (int64_t[]){2, 3, 2}, -1, 1, 0, NULL, 0),
                       tg_gradcheck_input(&rng, 2, (int64_t[]){3, 3}, -1, 1, 0, NULL, 0)};
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-7;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(gradient_through_attention, NULL, 4, x, &options, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    for (int i = 0; i < 4; i++) tg_free(x[i]);
}
