/* ops/conv.c — convolutions: the im2col / col2im pair of ops, and conv2d,
 * conv1d and conv_transpose2d composed from them and matmul.
 *
 *   cols = im2col(x)                 (C_in*kh*kw, N*P), P = H_out*W_out
 *   y'   = W' @ cols                 W' = weight as (C_out, C_in*kh*kw), one GEMM
 *                                    per group, with N*P columns (all images at once)
 *   y    = permute(y' as (C_out, N, H_out, W_out) + bias, (1, 0, 2, 3))
 *
 * im2col and col2im are each other's backward rule (col2im is im2col's
 * adjoint), and the rest is matmul, add, reshape and permute, so conv2d's
 * backward is written in ops and differentiates again. conv_transpose2d is
 * the other direction: col2im(W'^T @ x'). */
#include <stdio.h>
#include <string.h>

#include "ops/conv_internal.h"
#include "tapegrad/conv.h"

/* ---- the window arithmetic ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The windows ow in [*lo, *hi) whose tap at offset `tap` (v*dw - pad_left)
 * lands inside [0, size): 0 <= ow*stride + tap < size. */
static void inside_range(int64_t tap, int64_t stride, int64_t size, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t first = floor_div(-tap + stride - 1, stride);
    int64_t last = floor_div(size - 1 - tap, stride);
    *lo = first < 0 ? 0 : first > out ? out : first;
    *hi = last + 1 < *lo ? *lo : last + 1 > out ? out : last + 1;
}

/* ---- im2col: rows (c, u, v), columns (n, oh, ow) ---- */

typedef struct im2col_job {
    const tg_node *node;
    tgi_window_geometry g;
    int64_t n, c, h, w;
} im2col_job;

#define DEFINE_IM2COL_ROWS(NAME, T)                                                                       \
    static void NAME(const im2col_job *job, const T *restrict x, T *restrict cols, int64_t begin,         \
                     int64_t end) {                                                                       \
        const tgi_window_geometry *g = &job->g;                                                            \
        int64_t taps = g->kh * g->kw, plane = job->h * job->w, per_image = g->out_h * g->out_w;           \
        for (int64_t row = begin; row < end; row++) {                                                     \
            int64_t c = row / taps, u = row % taps / g->kw, v = row % g->kw;                              \
            int64_t tap_w = v * g->dw - g->pad_left, lo, hi;                                              \
            inside_range(tap_w, g->sw, job->w, g->out_w, &lo, &hi);                                       \
            T *dst = cols + row * job->n * per_image;                                                     \
            for (int64_t n = 0; n < job->n; n++) {                                                        \
                const T *src_plane = x + (n * job->c + c) * plane;                                        \
                for (int64_t oh = 0; oh < g->out_h; oh++, dst += g->out_w) {                              \
                    int64_t ih = oh * g->sh - g->pad_top + u * g->dh;                                     \
                    if (ih < 0 || ih >= job->h) {                                                         \
                        memset(dst, 0, (size_t)g->out_w * sizeof(T));                                     \
                        continue;                                                                         \
                    }                                                                                     \
                    const T *src = src_plane + ih * job->w + tap_w;                                       \
                    for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;                                      \
                    if (g->sw == 1)                                                                       \
                        memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(T));                        \
                    else                                                                                  \
                        for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * g->sw];                   \
                    for (int64_t ow = hi; ow < g->out_w; ow++) dst[ow] = 0;                               \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }
DEFINE_IM2COL_ROWS(im2col_rows_f32, float)
DEFINE_IM2COL_ROWS(im2col_rows_f64, double)

static void im2col_range(void *ctx, int64_t begin, int64_t end) {
    const im2col_job *job = ctx;
    const tg_tensor *x = job->node->inputs[0];
    if (x->dtype == TG_F32)
        im2col_rows_f32(job, x->data, job->node->output->data, begin, end);
    else
        im2col_rows_f64(job, x->data, job->node->output->data, begin, end);
}

static void im2col_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    im2col_job job = {node, tgi_window_from_attrs(&node->attrs), x->shape[0], x->shape[1], x->shape[2], x->shape[3]};
    int64_t rows = job.c * job.g.kh * job.g.kw;
    double row_cost = (double)(job.n * job.g.out_h * job.g.out_w);
    tg_parallel_items(rows, row_cost, im2col_range, &job);
}

static void im2col_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tgi_window_geometry geometry = tgi_window_from_attrs(&node->attrs);
    grad_inputs[0] = tgi_col2im(g, &geometry, node->inputs[0]->shape);
}

const tg_op tg_op_im2col = {"im2col", 1, im2col_forward, im2col_backward};

/* ---- col2im: each image plane (n, c) gathers its kh*kw rows ---- */

#define DEFINE_COL2IM_PLANES(NAME, T)                                                                     \
    static void NAME(const im2col_job *job, const T *restrict cols, T *restrict x, int64_t begin,         \
                     int64_t end) {                                                                       \
        const tgi_window_geometry *g = &job->g;                                                            \
        int64_t plane = job->h * job->w, per_image = g->out_h * g->out_w;                                 \
        int64_t row_len = job->n * per_image;                                                             \
        for (int64_t item = begin; item < end; item++) {                                                  \
            int64_t n = item / job->c, c = item % job->c;                                                 \
            T *dst_plane = x + item * plane;                                                              \
            memset(dst_plane, 0, (size_t)plane * sizeof(T));                                              \
            for (int64_t u = 0; u < g->kh; u++)                                                           \
                for (int64_t v = 0; v < g->kw; v++) {                                                     \
                    int64_t tap_w = v * g->dw - g->pad_left, lo, hi;                                      \
                    inside_range(tap_w, g->sw, job->w, g->out_w, &lo, &hi);                               \
                    const T *src = cols + ((c * g->kh + u) * g->kw + v) * row_len + n * per_image;        \
                    for (int64_t oh = 0; oh < g->out_h; oh++, src += g->out_w) {                          \
                        int64_t ih = oh * g->sh - g->pad_top + u * g->dh;                                 \
                        if (ih < 0 || ih >= job->h) continue;                                             \
                        T *dst = dst_plane + ih * job->w + tap_w;                                         \
                        for (int64_t ow = lo; ow < hi; ow++) dst[ow * g->sw] += src[ow];                  \
                    }                                                                                     \
                }                                                                                         \
        }                                                                                                 \
    }
DEFINE_COL2IM_PLANES(col2im_planes_f32, float)
DEFINE_COL2IM_PLANES(col2im_planes_f64, double)

static void col2im_range(void *ctx, int64_t begin, int64_t end) {
    const im2col_job *job = ctx;
    const tg_tensor *cols = job->node->inputs[0];
    if (cols->dtype == TG_F32)
        col2im_planes_f32(job, cols->data, job->node->output->data, begin, end);
    else
        col2im_planes_f64(job, cols->data, job->node->output->data, begin, end);
}

static void col2im_forward(const tg_node *node) {
    const tg_tensor *x = node->output;
    im2col_job job = {node, tgi_window_from_attrs(&node->attrs), x->shape[0], x->shape[1], x->shape[2], x->shape[3]};
    double plane_cost = (double)(job.g.kh * job.g.kw * job.g.out_h * job.g.out_w);
    tg_parallel_items(job.n * job.c, plane_cost, col2im_range, &job);
}

static void col2im_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tgi_window_geometry geometry = tgi_window_from_attrs(&node->attrs);
    const tg_tensor *cols = node->inputs[0];
    grad_inputs[0] = tgi_im2col(g, &geometry, cols->rank == 3 ? cols->shape[0] : 1);
}

const tg_op tg_op_col2im = {"col2im", 1, col2im_forward, col2im_backward};

/* ---- the two ops' functions (internal: conv_internal.h) ---- */

tg_tensor *tgi_im2col(tg_tensor *x, const tgi_window_geometry *geometry, int64_t groups) {
    const char *function = "tgi_im2col";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int64_t rows = x->shape[1] * geometry->kh * geometry->kw;
    int64_t columns = x->shape[0] * geometry->out_h * geometry->out_w;
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(geometry, &attrs);
    tg_tensor *inputs[1] = {x};
    if (groups > 1) {
        int64_t shape[3] = {groups, rows / groups, columns};
        return tg_op_apply(&tg_op_im2col, inputs, 1, &attrs, x->dtype, 3, shape);
    }
    int64_t shape[2] = {rows, columns};
    return tg_op_apply(&tg_op_im2col, inputs, 1, &attrs, x->dtype, 2, shape);
}

tg_tensor *tgi_col2im(tg_tensor *cols, const tgi_window_geometry *geometry, const int64_t image_shape[4]) {
    const char *function = "tgi_col2im";
    if (tg_tensor_check(function, "cols", cols) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(geometry, &attrs);
    tg_tensor *inputs[1] = {cols};
    return tg_op_apply(&tg_op_col2im, inputs, 1, &attrs, cols->dtype, 4, image_shape);
}

/* ---- checking a convolution's arguments ---- */

#define SHAPE_TEXT 192

/* A convolution's sizes once checked: x (n, c_in, h, w) and the window. */
typedef struct conv_sizes {
    int64_t n, c_in, h, w, c_out, groups;
    tgi_window_geometry g;
} conv_sizes;

static bool fits_int32(int64_t v) { return v >= 0 && v <= INT32_MAX; }

static tg_status check_options(const char *function, const tg_conv2d_opts *o) {
    if (o->stride_h < 1 || o->stride_w < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function, "stride (%lld, %lld) must be >= 1 (start from the *_DEFAULTS options)",
                               (long long)o->stride_h, (long long)o->stride_w);
    if (o->dilation_h < 1 || o->dilation_w < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function, "dilation (%lld, %lld) must be >= 1 (start from the *_DEFAULTS options)",
                               (long long)o->dilation_h, (long long)o->dilation_w);
    if (o->pad_top < 0 || o->pad_bottom < 0 || o->pad_left < 0 || o->pad_right < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "padding (top %lld, bottom %lld, left %lld, right %lld) must be >= 0",
                               (long long)o->pad_top, (long long)o->pad_bottom, (long long)o->pad_left,
                               (long long)o->pad_right);
    if (o->groups < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function, "groups %lld must be >= 1", (long long)o->groups);
    const int64_t values[] = {o->stride_h, o->stride_w, o->dilation_h, o->dilation_w, o->pad_top,
                              o->pad_bottom, o->pad_left, o->pad_right, o->groups};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (!fits_int32(values[i]))
            return tg_error_report(TG_ERR_ARGUMENT, function, "option value %lld is too large (limit %d)",
                                   (long long)values[i], INT32_MAX);
    return TG_OK;
}

/* x must be (N, C, H, W), weight rank 4 with a kernel of at least 1 x 1. */
static tg_status check_ranks(const char *function, const tg_tensor *x, const tg_tensor *weight) {
    char sx[SHAPE_TEXT], sw[SHAPE_TEXT];
    tg_shape_string(sx, sizeof sx, x->rank, x->shape);
    tg_shape_string(sw, sizeof sw, weight->rank, weight->shape);
    if (x->rank != 4)
        return tg_error_report(TG_ERR_SHAPE, function, "x must have rank 4 (N, C, H, W), got %s", sx);
    if (weight->rank != 4)
        return tg_error_report(TG_ERR_SHAPE, function, "weight must have rank 4, got %s", sw);
    if (weight->shape[2] < 1 || weight->shape[3] < 1)
        return tg_error_report(TG_ERR_SHAPE, function, "weight %s has an empty kernel", sw);
    for (int d = 0; d < 4; d++)
        if (!fits_int32(x->shape[d]) || !fits_int32(weight->shape[d]))
            return tg_error_report(TG_ERR_SHAPE, function, "x %s or weight %s has a size past %d", sx, sw, INT32_MAX);
    return TG_OK;
}

/* groups must divide both channel counts, and the weight's per-group input
 * channels (axis 1, or the per-group output channels for a transposed
 * convolution) must match x's. */
static tg_status check_channels(const char *function, const tg_tensor *x, const tg_tensor *weight, int64_t groups,
                                bool transposed) {
    char sx[SHAPE_TEXT], sw[SHAPE_TEXT];
    tg_shape_string(sx, sizeof sx, x->rank, x->shape);
    tg_shape_string(sw, sizeof sw, weight->rank, weight->shape);
    int64_t c_in = x->shape[1];
    int64_t c_out = transposed ? weight->shape[1] * groups : weight->shape[0];
    if (c_in % groups != 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "groups %lld does not divide the %lld input channels of x %s",
                               (long long)groups, (long long)c_in, sx);
    if (!transposed && c_out % groups != 0)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "groups %lld does not divide the %lld output channels of weight %s", (long long)groups,
                               (long long)c_out, sw);
    int64_t expected = transposed ? weight->shape[0] : weight->shape[1] * groups;
    if (c_in != expected)
        return tg_error_report(TG_ERR_SHAPE, function,
                               "x %s has %lld channels but weight %s with groups %lld expects %lld", sx,
                               (long long)c_in, sw, (long long)groups, (long long)expected);
    return TG_OK;
}

static tg_status check_bias(const char *function, const tg_tensor *x, const tg_tensor *bias, int64_t c_out) {
    if (tg_tensor_check(function, "bias", bias) != TG_OK) return tg_last_error();
    if (bias->dtype != x->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "bias is %s but x is %s", tg_dtype_name(bias->dtype),
                               tg_dtype_name(x->dtype));
    if (bias->rank != 1 || bias->shape[0] != c_out) {
        char sb[SHAPE_TEXT];
        tg_shape_string(sb, sizeof sb, bias->rank, bias->shape);
        return tg_error_report(TG_ERR_SHAPE, function, "bias %s must be (%lld), one per output channel", sb,
                               (long long)c_out);
    }
    return TG_OK;
}

/* The number of windows along one axis; TG_ERR_SHAPE when the dilated
 * kernel does not fit the padded input. */
static tg_status windows_along(const char *function, const char *axis, int64_t size, int64_t pad_before,
                               int64_t pad_after, int64_t kernel, int64_t stride, int64_t dilation, int64_t *out) {
    int64_t extent = dilation * (kernel - 1) + 1, padded = size + pad_before + pad_after;
    if (extent > padded)
        return tg_error_report(TG_ERR_SHAPE, function,
                               "kernel %lld (dilation %lld: extent %lld) is larger than the padded input %s %lld "
                               "(%lld + padding %lld + %lld)",
                               (long long)kernel, (long long)dilation, (long long)extent, axis, (long long)padded,
                               (long long)size, (long long)pad_before, (long long)pad_after);
    *out = (padded - extent) / stride + 1;
    return TG_OK;
}

/* Everything tg_conv2d checks; fills `sizes` for the composition. */
static tg_status check_conv2d(const char *function, tg_tensor *x, tg_tensor *weight, tg_tensor *bias,
                              const tg_conv2d_opts *o, conv_sizes *sizes) {
    if (tg_check_binary(function, x, weight) != TG_OK) return tg_last_error();
    if (check_options(function, o) != TG_OK || check_ranks(function, x, weight) != TG_OK ||
        check_channels(function, x, weight, o->groups, false) != TG_OK)
        return tg_last_error();
    if (bias && check_bias(function, x, bias, weight->shape[0]) != TG_OK) return tg_last_error();
    tgi_window_geometry g = {weight->shape[2], weight->shape[3], o->stride_h, o->stride_w, o->dilation_h,
                            o->dilation_w, o->pad_top, o->pad_left, 0, 0};
    if (windows_along(function, "height", x->shape[2], o->pad_top, o->pad_bottom, g.kh, g.sh, g.dh, &g.out_h) != TG_OK ||
        windows_along(function, "width", x->shape[3], o->pad_left, o->pad_right, g.kw, g.sw, g.dw, &g.out_w) != TG_OK)
        return tg_last_error();
    conv_sizes s = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], weight->shape[0], o->groups, g};
    *sizes = s;
    return TG_OK;
}

/* ---- conv2d ---- */

tg_conv2d_opts tg_conv2d_options(int64_t stride, int64_t padding, int64_t dilation, int64_t groups) {
    tg_conv2d_opts o = {stride, stride, padding, padding, padding, padding, dilation, dilation, groups};
    return o;
}

/* W' @ cols for each group: weight (C_out, C_in/G, kh, kw) seen as
 * (C_out, K) or (G, C_out/G, K/G); the product is (C_out, N*P) in either. */
static tg_tensor *grouped_product(tg_tensor *weight, tg_tensor *cols, int64_t groups) {
    int64_t c_out = weight->shape[0], k = weight->numel / c_out;
    if (groups == 1) return tg_matmul(tg_reshape(weight, 2, (int64_t[]){c_out, k}), cols);
    tg_tensor *w = tg_reshape(weight, 3, (int64_t[]){groups, c_out / groups, k});
    return tg_matmul(w, cols);
}

/* y' (C_out, N*P) as (C_out, N, H_out, W_out), plus the bias, to (N, C_out, H_out, W_out). */
static tg_tensor *channels_first(tg_tensor *product, tg_tensor *bias, int64_t c_out, int64_t n, int64_t out_h,
                                 int64_t out_w) {
    tg_tensor *y = tg_reshape(product, 4, (int64_t[]){c_out, n, out_h, out_w});
    if (bias) y = tg_add(y, tg_reshape(bias, 4, (int64_t[]){c_out, 1, 1, 1}));
    return tg_permute(y, (int[]){1, 0, 2, 3});
}

static const tg_conv2d_opts conv2d_defaults = TG_CONV2D_DEFAULTS;

tg_tensor *tg_conv2d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, const tg_conv2d_opts *opts) {
    conv_sizes s = {0};
    if (check_conv2d("tg_conv2d", x, weight, bias, opts ? opts : &conv2d_defaults, &s) != TG_OK) return NULL;
    tg_tensor *cols = tgi_im2col(x, &s.g, s.groups);
    return channels_first(grouped_product(weight, cols, s.groups), bias, s.c_out, s.n, s.g.out_h, s.g.out_w);
}

/* ---- conv1d: conv2d with a height of 1 ---- */

static const tg_conv1d_opts conv1d_defaults = TG_CONV1D_DEFAULTS;

tg_tensor *tg_conv1d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, const tg_conv1d_opts *opts) {
    const char *function = "tg_conv1d";
    if (tg_check_binary(function, x, weight) != TG_OK) return NULL;
    char sx[SHAPE_TEXT], sw[SHAPE_TEXT];
    tg_shape_string(sx, sizeof sx, x->rank, x->shape);
    tg_shape_string(sw, sizeof sw, weight->rank, weight->shape);
    if (x->rank != 3) {
        tg_error_report(TG_ERR_SHAPE, function, "x must have rank 3 (N, C, L), got %s", sx);
        return NULL;
    }
    if (weight->rank != 3) {
        tg_error_report(TG_ERR_SHAPE, function, "weight must have rank 3 (C_out, C_in/groups, k), got %s", sw);
        return NULL;
    }
    const tg_conv1d_opts *o = opts ? opts : &conv1d_defaults;
    tg_conv2d_opts o2 = {1, o->stride, 0, 0, o->pad_left, o->pad_right, 1, o->dilation, o->groups};
    conv_sizes s = {0};
    tg_tensor *x4 = tg_reshape(x, 4, (int64_t[]){x->shape[0], x->shape[1], 1, x->shape[2]});
    tg_tensor *w4 = tg_reshape(weight, 4, (int64_t[]){weight->shape[0], weight->shape[1], 1, weight->shape[2]});
    if (!x4 || !w4 || check_conv2d(function, x4, w4, bias, &o2, &s) != TG_OK) return NULL;
    tg_tensor *cols = tgi_im2col(x4, &s.g, s.groups);
    tg_tensor *y = channels_first(grouped_product(w4, cols, s.groups), bias, s.c_out, s.n, 1, s.g.out_w);
    return tg_reshape(y, 3, (int64_t[]){s.n, s.c_out, s.g.out_w});
}

/* ---- conv_transpose2d: col2im(W'^T @ x') ---- */

static const tg_conv_transpose2d_opts conv_transpose2d_defaults = TG_CONV_TRANSPOSE2D_DEFAULTS;

/* One output size: (in - 1) s - p0 - p1 + d (k - 1) + output_padding + 1,
 * output_padding below the stride or the dilation (PyTorch's rule). */
static tg_status transposed_size(const char *function, const char *axis, int64_t in, int64_t pad_before,
                                 int64_t pad_after, int64_t output_padding, int64_t kernel, int64_t stride,
                                 int64_t dilation, int64_t *out) {
    if (output_padding < 0 || (output_padding >= stride && output_padding >= dilation))
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "output_padding %lld along the %s must be >= 0 and smaller than the stride %lld or "
                               "the dilation %lld",
                               (long long)output_padding, axis, (long long)stride, (long long)dilation);
    *out = (in - 1) * stride - pad_before - pad_after + dilation * (kernel - 1) + output_padding + 1;
    if (*out < 1 || *out > INT32_MAX)
        return tg_error_report(TG_ERR_SHAPE, function,
                               "output %s %lld is out of range: input %lld, kernel %lld, stride %lld, dilation %lld, "
                               "padding %lld + %lld, output_padding %lld",
                               axis, (long long)*out, (long long)in, (long long)kernel, (long long)stride,
                               (long long)dilation, (long long)pad_before, (long long)pad_after,
                               (long long)output_padding);
    return TG_OK;
}

tg_tensor *tg_conv_transpose2d(tg_tensor *x, tg_tensor *weight, tg_tensor *bias,
                               const tg_conv_transpose2d_opts *opts) {
    const char *function = "tg_conv_transpose2d";
    const tg_conv_transpose2d_opts *o = opts ? opts : &conv_transpose2d_defaults;
    tg_conv2d_opts as_conv = {o->stride_h, o->stride_w, o->pad_top, o->pad_bottom, o->pad_left,
                              o->pad_right, o->dilation_h, o->dilation_w, o->groups};
    if (tg_check_binary(function, x, weight) != TG_OK) return NULL;
    if (check_options(function, &as_conv) != TG_OK || check_ranks(function, x, weight) != TG_OK ||
        check_channels(function, x, weight, o->groups, true) != TG_OK)
        return NULL;
    int64_t n = x->shape[0], c_in = x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t groups = o->groups, c_out = weight->shape[1] * groups, kh = weight->shape[2], kw = weight->shape[3];
    if (bias && check_bias(function, x, bias, c_out) != TG_OK) return NULL;
    int64_t out_h = 0, out_w = 0;
    if (transposed_size(function, "height", h, o->pad_top, o->pad_bottom, o->output_padding_h, kh, o->stride_h,
                        o->dilation_h, &out_h) != TG_OK ||
        transposed_size(function, "width", w, o->pad_left, o->pad_right, o->output_padding_w, kw, o->stride_w,
                        o->dilation_w, &out_w) != TG_OK)
        return NULL;
    /* The convolution from (N, C_out, out_h, out_w) to x's size: its windows
     * are x's positions. */
    tgi_window_geometry g = {kh, kw, o->stride_h, o->stride_w, o->dilation_h, o->dilation_w,
                            o->pad_top, o->pad_left, h, w};
    tg_tensor *channels = tg_permute(x, (int[]){1, 0, 2, 3}); /* (C_in, N, H, W) */
    int64_t per_group = weight->numel / c_in;                   /* C_out/G * kh * kw */
    tg_tensor *cols;
    if (groups == 1) {
        tg_tensor *x2 = tg_reshape(channels, 2, (int64_t[]){c_in, n * h * w});
        cols = tg_matmul_t(tg_reshape(weight, 2, (int64_t[]){c_in, per_group}), true, x2, false);
    } else {
        tg_tensor *x3 = tg_reshape(channels, 3, (int64_t[]){groups, c_in / groups, n * h * w});
        cols = tg_matmul_t(tg_reshape(weight, 3, (int64_t[]){groups, c_in / groups, per_group}), true, x3, false);
    }
    tg_tensor *y = tgi_col2im(cols, &g, (int64_t[]){n, c_out, out_h, out_w});
    if (bias) y = tg_add(y, tg_reshape(bias, 4, (int64_t[]){1, c_out, 1, 1}));
    return y;
}
