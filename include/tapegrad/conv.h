/* tapegrad/conv.h — convolutions and pooling on NCHW tensors.
 *
 * Layouts are PyTorch's: an image batch is (N, C, H, W), a conv2d weight is
 * (C_out, C_in / groups, kH, kW), a conv_transpose2d weight is
 * (C_in, C_out / groups, kH, kW), a bias is (C_out). With stride s, padding
 * before and after p0, p1 and dilation d, a spatial size L gives
 *   L_out = (L + p0 + p1 - d (k - 1) - 1) / s + 1        (rounded down)
 * positions; padding reads as zeros (-infinity for max pooling).
 *
 * conv2d is im2col (each receptive field unrolled into a column) followed by
 * one packed GEMM per group (threaded, kernels.h), and its backward is the
 * same ops' rules (col2im, the adjoint of im2col, and matmul's), so it can be
 * differentiated twice. The results are tape tensors like any op's; nothing
 * is allocated outside the tape.
 *
 * Options structs: start from the *_DEFAULTS initializer, which holds
 * PyTorch's defaults, and change fields:
 *     tg_conv2d_opts o = TG_CONV2D_DEFAULTS;
 *     o.pad_top = o.pad_bottom = o.pad_left = o.pad_right = 2;
 * A NULL options pointer means the defaults. A zeroed struct is not the
 * defaults: its stride 0 is refused, as any stride or dilation <= 0 is.
 *
 * Errors (each names the function called and the offending values):
 * TG_ERR_SHAPE for ranks, channels or sizes that do not fit (a weight whose
 * input channels do not match, a kernel larger than the padded input, a bias
 * of the wrong size), TG_ERR_ARGUMENT for options out of range (stride or
 * dilation <= 0, negative padding, groups <= 0 or not dividing the channels),
 * TG_ERR_DTYPE for mixed float32 / float64.
 */
#ifndef TAPEGRAD_CONV_H
#define TAPEGRAD_CONV_H

#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of tg_conv2d. stride and dilation >= 1, padding >= 0 on each side
 * (asymmetric padding allowed), groups >= 1 dividing C_in and C_out
 * (groups == C_in is a depthwise convolution). */
typedef struct tg_conv2d_opts {
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t dilation_h, dilation_w;
    int64_t groups;
} tg_conv2d_opts;
/* stride 1, no padding, dilation 1, one group (PyTorch's defaults). */
#define TG_CONV2D_DEFAULTS {1, 1, 0, 0, 0, 0, 1, 1, 1}

/* The options of PyTorch's integer arguments: the same stride, padding and
 * dilation along both axes and on every side. Checked by the convolution,
 * not here. */
tg_conv2d_opts tg_conv2d_options(int64_t stride, int64_t padding, int64_t dilation, int64_t groups);

/* 2-D convolution (cross-correlation, as PyTorch's):
 *   y[n, o, i, j] = b[o] + sum_{c, u, v} x[n, g*Cg + c, i*sh - pt + u*dh, j*sw - pl + v*dw] w[o, c, u, v]
 * with g = o / (C_out / groups), Cg = C_in / groups. x (N, C_in, H, W),
 * weight (C_out, C_in / groups, kH, kW), bias (C_out) or NULL; opts NULL
 * for the defaults. Returns (N, C_out, H_out, W_out), a tape tensor.
 * d: x gets col2im(w^T g), the weight sum_n g cols^T, the bias sum of g. */
tg_tensor *tg_conv2d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, const tg_conv2d_opts *opts);

/* Options of tg_conv1d: stride, dilation >= 1, padding >= 0, groups >= 1. */
typedef struct tg_conv1d_opts {
    int64_t stride;
    int64_t pad_left, pad_right;
    int64_t dilation;
    int64_t groups;
} tg_conv1d_opts;
#define TG_CONV1D_DEFAULTS {1, 0, 0, 1, 1}

/* 1-D convolution, conv2d with a height of 1: x (N, C_in, L), weight
 * (C_out, C_in / groups, k), bias (C_out) or NULL; returns (N, C_out, L_out).
 * Errors as tg_conv2d, under tg_conv1d. */
tg_tensor *tg_conv1d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, const tg_conv1d_opts *opts);

/* Options of tg_conv_transpose2d: those of the convolution it is the input
 * gradient of, plus output_padding (extra rows / columns at the bottom and
 * right, each smaller than the stride or the dilation along its axis). */
typedef struct tg_conv_transpose2d_opts {
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t output_padding_h, output_padding_w;
    int64_t dilation_h, dilation_w;
    int64_t groups;
} tg_conv_transpose2d_opts;
#define TG_CONV_TRANSPOSE2D_DEFAULTS {1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1}

/* Transposed 2-D convolution (PyTorch's conv_transpose2d): the gradient of
 * tg_conv2d with respect to its input, with the roles of C_in and C_out
 * swapped. x (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW), bias
 * (C_out) or NULL. Returns (N, C_out, H_out, W_out) with
 *   H_out = (H - 1) sh - pt - pb + dh (kH - 1) + output_padding_h + 1
 * (W_out alike), an error when that is < 1. */
tg_tensor *tg_conv_transpose2d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias,
                               const tg_conv_transpose2d_opts *opts);

/* Max pooling over kernel x kernel windows moved by `stride` (>= 1; PyTorch's
 * default is stride = kernel), with `padding` (0 <= padding <= kernel / 2)
 * of -infinity on every side. x (N, C, H, W) -> (N, C, H_out, W_out). A NaN
 * in a window is its maximum. d: the gradient goes to each window's arg-max,
 * the first one (in row-major order) on ties; windows that overlap add up. */
tg_tensor *tg_max_pool2d(tg_tensor *x, int64_t kernel, int64_t stride, int64_t padding);

/* Average pooling, as tg_max_pool2d's windows, with zeros for the padding
 * counted in every window's size (PyTorch's count_include_pad=True): each
 * output is the window's sum / kernel^2. d: g / kernel^2 spread over each
 * window. */
tg_tensor *tg_avg_pool2d(tg_tensor *x, int64_t kernel, int64_t stride, int64_t padding);

/* Adaptive average pooling to out_h x out_w (each >= 1): output (i, j)
 * averages rows [floor(i H / out_h), ceil((i + 1) H / out_h)) and the columns
 * alike, as PyTorch's. out_h = out_w = 1 is global average pooling.
 * x (N, C, H, W) -> (N, C, out_h, out_w). */
tg_tensor *tg_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w);

/* Axes start_axis..end_axis (inclusive, negative counting from the end)
 * merged into one: (N, C, H, W) with (1, -1) is (N, C*H*W). A reshape (a copy).
 * TG_ERR_AXIS for an axis out of range or start after end. A rank-0 x
 * becomes (1). */
tg_tensor *tg_flatten(tg_tensor *x, int start_axis, int end_axis);

#ifdef __cplusplus
}
#endif
#endif
