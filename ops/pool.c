/* ops/pool.c — max and average pooling over windows of NCHW images, and
 * flatten.
 *
 * Each op comes with its gradient as an op of its own, and the two are each
 * other's backward rule, so pooling differentiates twice:
 *   max_pool2d(v, x)      v at the arg-max of x in each window (v = x: the max)
 *   max_pool2d_grad(g, x) g added at the arg-max of x of each window (an image)
 *     d/dv max_pool2d = max_pool2d_grad(G, x),  d/dg max_pool2d_grad = max_pool2d(G, x)
 *     and nothing for x: the arg-max is piecewise constant.
 *   avg_pool2d(x)         each window's sum / its size
 *   avg_pool2d_grad(g)    g / size spread over each window: avg_pool2d's adjoint
 * Windows are fixed-size (kernel, stride, padding) or adaptive (rows
 * [floor(i H / out), ceil((i + 1) H / out)), PyTorch's adaptive pooling).
 * Kernels run one (n, c) plane per item over the thread pool, so every output
 * element is written by one thread in a fixed order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/conv_internal.h"
#include "tapegrad/conv.h"

#define TG_ATTR_ADAPTIVE 1
#define SHAPE_TEXT 192

/* ---- windows ---- */

/* Window i along an axis of `size` inputs and `out` windows: the inputs
 * [*lo, *hi) it covers, and its share of the divisor (the kernel, padding
 * included, or the adaptive window's length). */
static int64_t window_along(bool adaptive, int64_t kernel, int64_t stride, int64_t pad, int64_t size, int64_t out,
                            int64_t i, int64_t *lo, int64_t *hi) {
    if (adaptive) {
        *lo = i * size / out;
        *hi = ((i + 1) * size + out - 1) / out;
        return *hi - *lo;
    }
    int64_t start = i * stride - pad, end = start + kernel;
    *lo = start < 0 ? 0 : start;
    *hi = end > size ? size : end;
    return kernel;
}

typedef struct pool_job {
    const tg_node *node;
    tgi_window_geometry g;
    bool adaptive;
    int64_t h, w; /* the image's size (the output's, for the _grad ops) */
} pool_job;

static pool_job pool_job_of(const tg_node *node, const tg_tensor *image) {
    pool_job job = {node, tgi_window_from_attrs(&node->attrs), (node->attrs.flags & TG_ATTR_ADAPTIVE) != 0,
                    image->shape[2], image->shape[3]};
    return job;
}

/* ---- max_pool2d and max_pool2d_grad ---- */

/* The arg-max of x's plane in window (i, j), an offset in the plane: the
 * first maximum in row-major order, a NaN counting as the maximum (as in
 * PyTorch, a later NaN replaces an earlier one). */
#define DEFINE_ARGMAX(NAME, T)                                                                            \
    static int64_t NAME(const pool_job *job, const T *plane, int64_t i, int64_t j) {                      \
        int64_t r0, r1, c0, c1;                                                                           \
        window_along(false, job->g.kh, job->g.sh, job->g.pad_top, job->h, job->g.out_h, i, &r0, &r1);     \
        window_along(false, job->g.kw, job->g.sw, job->g.pad_left, job->w, job->g.out_w, j, &c0, &c1);    \
        int64_t best = r0 * job->w + c0;                                                                  \
        T best_value = plane[best];                                                                       \
        for (int64_t r = r0; r < r1; r++)                                                                 \
            for (int64_t c = c0; c < c1; c++) {                                                           \
                T v = plane[r * job->w + c];                                                              \
                if (v > best_value || isnan(v)) best_value = v, best = r * job->w + c;                    \
            }                                                                                             \
        return best;                                                                                      \
    }
DEFINE_ARGMAX(argmax_f32, float)
DEFINE_ARGMAX(argmax_f64, double)

/* select: out[window] = v[arg-max]; scatter: out[arg-max] += g[window]. */
#define DEFINE_MAX_POOL_PLANES(SELECT, SCATTER, ARGMAX, T)                                                \
    static void SELECT(const pool_job *job, const T *v, const T *x, T *out, int64_t begin, int64_t end) { \
        int64_t plane = job->h * job->w, windows = job->g.out_h * job->g.out_w;                           \
        for (int64_t item = begin; item < end; item++)                                                    \
            for (int64_t i = 0; i < job->g.out_h; i++)                                                    \
                for (int64_t j = 0; j < job->g.out_w; j++)                                                \
                    out[item * windows + i * job->g.out_w + j] =                                          \
                        v[item * plane + ARGMAX(job, x + item * plane, i, j)];                            \
    }                                                                                                     \
    static void SCATTER(const pool_job *job, const T *g, const T *x, T *out, int64_t begin, int64_t end) {\
        int64_t plane = job->h * job->w, windows = job->g.out_h * job->g.out_w;                           \
        for (int64_t item = begin; item < end; item++) {                                                  \
            memset(out + item * plane, 0, (size_t)plane * sizeof(T));                                     \
            for (int64_t i = 0; i < job->g.out_h; i++)                                                    \
                for (int64_t j = 0; j < job->g.out_w; j++)                                                \
                    out[item * plane + ARGMAX(job, x + item * plane, i, j)] +=                            \
                        g[item * windows + i * job->g.out_w + j];                                         \
        }                                                                                                 \
    }
DEFINE_MAX_POOL_PLANES(select_f32, scatter_f32, argmax_f32, float)
DEFINE_MAX_POOL_PLANES(select_f64, scatter_f64, argmax_f64, double)

static void select_range(void *ctx, int64_t begin, int64_t end) {
    const pool_job *job = ctx;
    const tg_node *node = job->node;
    if (node->output->dtype == TG_F32)
        select_f32(job, node->inputs[0]->data, node->inputs[1]->data, node->output->data, begin, end);
    else
        select_f64(job, node->inputs[0]->data, node->inputs[1]->data, node->output->data, begin, end);
}

static void scatter_range(void *ctx, int64_t begin, int64_t end) {
    const pool_job *job = ctx;
    const tg_node *node = job->node;
    if (node->output->dtype == TG_F32)
        scatter_f32(job, node->inputs[0]->data, node->inputs[1]->data, node->output->data, begin, end);
    else
        scatter_f64(job, node->inputs[0]->data, node->inputs[1]->data, node->output->data, begin, end);
}

static double plane_cost(const pool_job *job) {
    return (double)(job->g.out_h * job->g.out_w * job->g.kh * job->g.kw + job->h * job->w);
}

static void max_pool2d_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[1];
    pool_job job = pool_job_of(node, x);
    tg_parallel_items(x->shape[0] * x->shape[1], plane_cost(&job), select_range, &job);
}

static void max_pool2d_grad_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[1];
    pool_job job = pool_job_of(node, x);
    tg_parallel_items(x->shape[0] * x->shape[1], plane_cost(&job), scatter_range, &job);
}

static tg_tensor *max_pool2d_select(tg_tensor *v, tg_tensor *x, const tgi_window_geometry *g);

static void max_pool2d_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tgi_window_geometry geometry = tgi_window_from_attrs(&node->attrs);
    if (node->inputs[0]->requires_grad) grad_inputs[0] = tgi_max_pool2d_grad(g, node->inputs[1], &geometry);
}

static void max_pool2d_grad_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tgi_window_geometry geometry = tgi_window_from_attrs(&node->attrs);
    if (node->inputs[0]->requires_grad) grad_inputs[0] = max_pool2d_select(g, node->inputs[1], &geometry);
}

const tg_op tg_op_max_pool2d = {"max_pool2d", 2, max_pool2d_forward, max_pool2d_backward};
const tg_op tg_op_max_pool2d_grad = {"max_pool2d_grad", 2, max_pool2d_grad_forward, max_pool2d_grad_backward};

static tg_tensor *max_pool2d_select(tg_tensor *v, tg_tensor *x, const tgi_window_geometry *g) {
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(g, &attrs);
    tg_tensor *inputs[2] = {v, x};
    int64_t shape[4] = {x->shape[0], x->shape[1], g->out_h, g->out_w};
    return tg_op_apply(&tg_op_max_pool2d, inputs, 2, &attrs, x->dtype, 4, shape);
}

tg_tensor *tgi_max_pool2d_grad(tg_tensor *g, tg_tensor *x, const tgi_window_geometry *geometry) {
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(geometry, &attrs);
    tg_tensor *inputs[2] = {g, x};
    return tg_op_apply(&tg_op_max_pool2d_grad, inputs, 2, &attrs, x->dtype, 4, x->shape);
}

/* ---- avg_pool2d and avg_pool2d_grad ---- */

#define DEFINE_AVG_POOL_PLANES(SUM, SPREAD, T)                                                            \
    static void SUM(const pool_job *job, const T *x, T *out, int64_t begin, int64_t end) {                \
        const tgi_window_geometry *g = &job->g;                                                            \
        int64_t plane = job->h * job->w, windows = g->out_h * g->out_w;                                   \
        for (int64_t item = begin; item < end; item++)                                                    \
            for (int64_t i = 0; i < g->out_h; i++) {                                                      \
                int64_t r0, r1, c0, c1;                                                                   \
                int64_t rows = window_along(job->adaptive, g->kh, g->sh, g->pad_top, job->h, g->out_h, i, \
                                            &r0, &r1);                                                    \
                for (int64_t j = 0; j < g->out_w; j++) {                                                  \
                    int64_t cols = window_along(job->adaptive, g->kw, g->sw, g->pad_left, job->w,         \
                                                g->out_w, j, &c0, &c1);                                   \
                    T sum = 0;                                                                            \
                    for (int64_t r = r0; r < r1; r++)                                                     \
                        for (int64_t c = c0; c < c1; c++) sum += x[item * plane + r * job->w + c];        \
                    out[item * windows + i * g->out_w + j] = sum / (T)(rows * cols);                      \
                }                                                                                         \
            }                                                                                             \
    }                                                                                                     \
    static void SPREAD(const pool_job *job, const T *grad, T *out, int64_t begin, int64_t end) {          \
        const tgi_window_geometry *g = &job->g;                                                            \
        int64_t plane = job->h * job->w, windows = g->out_h * g->out_w;                                   \
        for (int64_t item = begin; item < end; item++) {                                                  \
            memset(out + item * plane, 0, (size_t)plane * sizeof(T));                                     \
            for (int64_t i = 0; i < g->out_h; i++) {                                                      \
                int64_t r0, r1, c0, c1;                                                                   \
                int64_t rows = window_along(job->adaptive, g->kh, g->sh, g->pad_top, job->h, g->out_h, i, \
                                            &r0, &r1);                                                    \
                for (int64_t j = 0; j < g->out_w; j++) {                                                  \
                    int64_t cols = window_along(job->adaptive, g->kw, g->sw, g->pad_left, job->w,         \
                                                g->out_w, j, &c0, &c1);                                   \
                    T share = grad[item * windows + i * g->out_w + j] / (T)(rows * cols);                 \
                    for (int64_t r = r0; r < r1; r++)                                                     \
                        for (int64_t c = c0; c < c1; c++) out[item * plane + r * job->w + c] += share;    \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }
DEFINE_AVG_POOL_PLANES(avg_sum_f32, avg_spread_f32, float)
DEFINE_AVG_POOL_PLANES(avg_sum_f64, avg_spread_f64, double)

static void avg_range(void *ctx, int64_t begin, int64_t end) {
    const pool_job *job = ctx;
    const tg_node *node = job->node;
    if (node->output->dtype == TG_F32)
        avg_sum_f32(job, node->inputs[0]->data, node->output->data, begin, end);
    else
        avg_sum_f64(job, node->inputs[0]->data, node->output->data, begin, end);
}

static void spread_range(void *ctx, int64_t begin, int64_t end) {
    const pool_job *job = ctx;
    const tg_node *node = job->node;
    if (node->output->dtype == TG_F32)
        avg_spread_f32(job, node->inputs[0]->data, node->output->data, begin, end);
    else
        avg_spread_f64(job, node->inputs[0]->data, node->output->data, begin, end);
}

static void avg_pool2d_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    pool_job job = pool_job_of(node, x);
    tg_parallel_items(x->shape[0] * x->shape[1], plane_cost(&job), avg_range, &job);
}

static void avg_pool2d_grad_forward(const tg_node *node) {
    const tg_tensor *x = node->output;
    pool_job job = pool_job_of(node, x);
    tg_parallel_items(x->shape[0] * x->shape[1], plane_cost(&job), spread_range, &job);
}

static tg_tensor *avg_pool2d_apply(tg_tensor *x, const tg_op_attrs *attrs);
static tg_tensor *avg_pool2d_grad(tg_tensor *g, const tg_op_attrs *attrs, const int64_t *image_shape);

static void avg_pool2d_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = avg_pool2d_grad(g, &node->attrs, node->inputs[0]->shape);
}

static void avg_pool2d_grad_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = avg_pool2d_apply(g, &node->attrs);
}

const tg_op tg_op_avg_pool2d = {"avg_pool2d", 1, avg_pool2d_forward, avg_pool2d_backward};
const tg_op tg_op_avg_pool2d_grad = {"avg_pool2d_grad", 1, avg_pool2d_grad_forward, avg_pool2d_grad_backward};

static tg_tensor *avg_pool2d_apply(tg_tensor *x, const tg_op_attrs *attrs) {
    tgi_window_geometry g = tgi_window_from_attrs(attrs);
    int64_t shape[4] = {x->shape[0], x->shape[1], g.out_h, g.out_w};
    return tg_op_apply(&tg_op_avg_pool2d, &x, 1, attrs, x->dtype, 4, shape);
}

static tg_tensor *avg_pool2d_grad(tg_tensor *g, const tg_op_attrs *attrs, const int64_t *image_shape) {
    return tg_op_apply(&tg_op_avg_pool2d_grad, &g, 1, attrs, g->dtype, 4, image_shape);
}

tg_tensor *tgi_avg_pool2d_grad(tg_tensor *g, const tgi_window_geometry *geometry, bool adaptive,
                              const int64_t image_shape[4]) {
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(geometry, &attrs);
    attrs.flags = adaptive ? TG_ATTR_ADAPTIVE : 0;
    return avg_pool2d_grad(g, &attrs, image_shape);
}

/* ---- the public functions ---- */

static tg_status check_image(const char *function, const tg_tensor *x) {
    if (tg_tensor_check(function, "x", x) != TG_OK) return tg_last_error();
    if (x->rank == 4) {
        for (int d = 0; d < 4; d++)
            if (x->shape[d] > INT32_MAX)
                return tg_error_report(TG_ERR_SHAPE, function, "x has a size %lld past %d", (long long)x->shape[d],
                                       INT32_MAX);
        return TG_OK;
    }
    char sx[SHAPE_TEXT];
    tg_shape_string(sx, sizeof sx, x->rank, x->shape);
    return tg_error_report(TG_ERR_SHAPE, function, "x must have rank 4 (N, C, H, W), got %s", sx);
}

/* The window geometry of kernel x kernel windows moved by stride with padding
 * on every side, after checking each and that a window fits the padded image. */
static tg_status pool_geometry(const char *function, const tg_tensor *x, int64_t kernel, int64_t stride,
                               int64_t padding, tgi_window_geometry *g) {
    if (check_image(function, x) != TG_OK) return tg_last_error();
    if (kernel < 1 || kernel > INT32_MAX)
        return tg_error_report(TG_ERR_ARGUMENT, function, "kernel %lld must be >= 1", (long long)kernel);
    if (stride < 1 || stride > INT32_MAX)
        return tg_error_report(TG_ERR_ARGUMENT, function, "stride %lld must be >= 1 (PyTorch's default is the kernel)",
                               (long long)stride);
    if (padding < 0 || padding > kernel / 2)
        return tg_error_report(TG_ERR_ARGUMENT, function, "padding %lld must be in [0, kernel / 2 = %lld]",
                               (long long)padding, (long long)(kernel / 2));
    int64_t h = x->shape[2], w = x->shape[3];
    if (kernel > h + 2 * padding || kernel > w + 2 * padding)
        return tg_error_report(TG_ERR_SHAPE, function, "kernel %lld is larger than the padded input %lldx%lld",
                               (long long)kernel, (long long)(h + 2 * padding), (long long)(w + 2 * padding));
    tgi_window_geometry geometry = {kernel, kernel, stride, stride, 1, 1, padding, padding,
                                   (h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1};
    *g = geometry;
    return TG_OK;
}

tg_tensor *tg_max_pool2d(tg_tensor *x, int64_t kernel, int64_t stride, int64_t padding) {
    tgi_window_geometry g = {0};
    if (pool_geometry("tg_max_pool2d", x, kernel, stride, padding, &g) != TG_OK) return NULL;
    return max_pool2d_select(x, x, &g);
}

tg_tensor *tg_avg_pool2d(tg_tensor *x, int64_t kernel, int64_t stride, int64_t padding) {
    tgi_window_geometry g = {0};
    if (pool_geometry("tg_avg_pool2d", x, kernel, stride, padding, &g) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(&g, &attrs);
    return avg_pool2d_apply(x, &attrs);
}

tg_tensor *tg_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w) {
    const char *function = "tg_adaptive_avg_pool2d";
    if (check_image(function, x) != TG_OK) return NULL;
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX) {
        tg_error_report(TG_ERR_ARGUMENT, function, "output size %lldx%lld must be at least 1x1", (long long)out_h,
                        (long long)out_w);
        return NULL;
    }
    tgi_window_geometry g = {0, 0, 0, 0, 1, 1, 0, 0, out_h, out_w};
    tg_op_attrs attrs = tgi_no_attrs;
    tgi_window_to_attrs(&g, &attrs);
    attrs.flags = TG_ATTR_ADAPTIVE;
    return avg_pool2d_apply(x, &attrs);
}

tg_tensor *tg_flatten(tg_tensor *x, int start_axis, int end_axis) {
    const char *function = "tg_flatten";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (x->rank == 0) return tg_reshape(x, 1, (int64_t[]){1});
    int start, end;
    if (tgi_normalize_axis(function, x, start_axis, &start) != TG_OK ||
        tgi_normalize_axis(function, x, end_axis, &end) != TG_OK)
        return NULL;
    if (start > end) {
        tg_error_report(TG_ERR_AXIS, function, "start axis %d comes after end axis %d (rank %d)", start_axis, end_axis,
                        x->rank);
        return NULL;
    }
    int64_t shape[TG_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < start; d++) shape[rank++] = x->shape[d];
    int64_t merged = 1;
    for (int d = start; d <= end; d++) merged *= x->shape[d];
    shape[rank++] = merged;
    for (int d = end + 1; d < x->rank; d++) shape[rank++] = x->shape[d];
    return tg_reshape(x, rank, shape);
}
