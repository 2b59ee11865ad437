/* ops/elementwise.c — broadcasting, the binary arithmetic ops (add, sub, mul,
 * div), and the helpers every elementwise op shares. */
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/op_internal.h"
#include "ops/strided.h"

/* ---- shared helpers ---- */

tg_status tgi_report_binary(const char *function, const tg_tensor *a, const tg_tensor *b) {
    tg_status s = tg_tensor_check(function, "a", a);
    if (s == TG_OK) s = tg_tensor_check(function, "b", b);
    if (s != TG_OK) return s;
    if (a->dtype != b->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "dtypes differ: %s and %s (convert with tg_to_dtype)",
                               tg_dtype_name(a->dtype), tg_dtype_name(b->dtype));
    return TG_OK;
}

tg_status tgi_broadcast_shape(const char *function, int rank_a, const int64_t *shape_a, int rank_b,
                             const int64_t *shape_b, int *out_rank, int64_t *out_shape) {
    if (tg_try_broadcast_shape(rank_a, shape_a, rank_b, shape_b, out_rank, out_shape)) return TG_OK;
    char ta[160], tb[160];
    return tg_error_report(TG_ERR_SHAPE, function, "shapes do not broadcast: %s and %s",
                           tg_shape_string(ta, sizeof ta, rank_a, shape_a),
                           tg_shape_string(tb, sizeof tb, rank_b, shape_b));
}

tg_status tgi_normalize_axis(const char *function, const tg_tensor *x, int axis, int *out) {
    if (axis < -x->rank || axis >= x->rank) {
        char text[160];
        return tg_error_report(TG_ERR_AXIS, function, "axis %d out of range for shape %s (rank %d)", axis,
                               tg_shape_string(text, sizeof text, x->rank, x->shape), x->rank);
    }
    *out = axis < 0 ? axis + x->rank : axis;
    return TG_OK;
}

tg_status tgi_axes_mask(const char *function, const tg_tensor *x, int n_axes, const int *axes, uint32_t *mask) {
    if (n_axes == 0 && !axes) {
        *mask = x->rank ? (uint32_t)((1u << x->rank) - 1u) : 0u;
        return TG_OK;
    }
    if (n_axes < 0 || n_axes > x->rank || (n_axes > 0 && !axes))
        return tg_error_report(TG_ERR_ARGUMENT, function, "bad axis list: %d axes for rank %d", n_axes, x->rank);
    uint32_t m = 0;
    for (int i = 0; i < n_axes; i++) {
        int a = 0; /* set when the call succeeds; gcc cannot tell */
        tg_status s = tgi_normalize_axis(function, x, axes[i], &a);
        if (s != TG_OK) return s;
        if (m & (1u << a)) return tg_error_report(TG_ERR_AXIS, function, "axis %d listed twice", axes[i]);
        m |= 1u << a;
    }
    *mask = m;
    return TG_OK;
}

void tgi_reduced_shape(const tg_tensor *x, uint32_t mask, bool keepdim, int *rank, int64_t *shape) {
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (mask & (1u << i)) {
            if (keepdim) shape[r++] = 1;
        } else {
            shape[r++] = x->shape[i];
        }
    }
    *rank = r;
}

void tgi_map_unary(const tg_node *node, tg_scalar_fn f) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    const tg_op_attrs *attrs = &node->attrs;
    if (x->dtype == TG_F32) {
        const float *in = x->data;
        float *o = out->data;
        for (int64_t i = 0; i < out->numel; i++) o[i] = (float)f((double)in[i], attrs);
    } else {
        const double *in = x->data;
        double *o = out->data;
        for (int64_t i = 0; i < out->numel; i++) o[i] = f(in[i], attrs);
    }
}

typedef struct unary_job {
    const tg_node *node;
    tg_unary_f32 f32;
    tg_unary_f64 f64;
} unary_job;

static void unary_range(void *ctx, int64_t begin, int64_t end) {
    const unary_job *job = ctx;
    const tg_tensor *x = job->node->inputs[0];
    tg_tensor *out = job->node->output;
    if (out->dtype == TG_F32)
        job->f32(out->data, x->data, begin, end, &job->node->attrs);
    else
        job->f64(out->data, x->data, begin, end, &job->node->attrs);
}

void tgi_run_unary_split(const tg_node *node, tg_unary_f32 f32, tg_unary_f64 f64, double cost) {
    unary_job job = {node, f32, f64};
    tg_parallel_range(node->output->numel, cost, unary_range, &job);
}

tg_tensor *tgi_apply_unary(const char *function, const tg_op *op, tg_tensor *x, const tg_op_attrs *attrs) {
    if (!tg_tensor_usable(x)) { /* the check inline; the call only to explain */
        tg_tensor_check(function, "x", x);
        return NULL;
    }
    return tg_op_apply(op, &x, 1, attrs, x->dtype, x->rank, x->shape);
}

tg_tensor *tgi_report_grad_op(const char *function, const tg_tensor *g, const tg_tensor *v, const char *v_name,
                             const int *axis) {
    char a[160], b[160];
    if (!tg_shapes_equal(g, v))
        tg_error_report(TG_ERR_SHAPE, function, "the gradient has shape %s but the %s has shape %s",
                        tg_shape_string(a, sizeof a, g->rank, g->shape), v_name,
                        tg_shape_string(b, sizeof b, v->rank, v->shape));
    else
        tg_error_report(TG_ERR_AXIS, function, "axis %d outside 0..%d", *axis, g->rank - 1);
    return NULL;
}

tg_tensor *tgi_reduce_grad_to(tg_tensor *grad, const tg_tensor *x) {
    if (!grad) return NULL;
    if (tg_shapes_equal(grad, x)) return grad;
    return tg_sum_to(grad, x->rank, x->shape);
}

/* ---- the binary kernel ----
 * Three cases, fastest first: operands with the output's element count are
 * one flat loop; an operand with one element is a constant; otherwise the
 * output is a strided walk (ops/strided.h) with each operand read by its
 * broadcast strides, one run of the innermost axis at a time (the
 * (batch, n) + (n) of a bias is rows of a flat loop). Element ranges are
 * split over the thread pool when the output is large; each element is
 * computed the same way whatever the split. */

enum binary_kind { BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV };

#define DEFINE_BINARY_KERNELS(T, SFX)                                                                     \
    /* o[i] = a[i] op b[i] */                                                                             \
    TG_HOT_CLONES static void binary_flat_##SFX(enum binary_kind kind, T *restrict o, const T *restrict a,               \
                                  const T *restrict b, int64_t begin, int64_t end) {                        \
        switch (kind) {                                                                                   \
        case BINARY_ADD: TG_FOR_SIMD(i, begin, end, o[i] = a[i] + b[i]); break;                           \
        case BINARY_SUB: TG_FOR_SIMD(i, begin, end, o[i] = a[i] - b[i]); break;                           \
        case BINARY_MUL: TG_FOR_SIMD(i, begin, end, o[i] = a[i] * b[i]); break;                           \
        case BINARY_DIV: TG_FOR_SIMD(i, begin, end, o[i] = a[i] / b[i]); break;                           \
        }                                                                                                 \
    }                                                                                                     \
    /* o[i] = a[i] op s */                                                                                \
    TG_HOT_CLONES static void binary_const_b_##SFX(enum binary_kind kind, T *restrict o, const T *restrict a, T s,       \
                                     int64_t begin, int64_t end) {                                         \
        switch (kind) {                                                                                   \
        case BINARY_ADD: TG_FOR_SIMD(i, begin, end, o[i] = a[i] + s); break;                              \
        case BINARY_SUB: TG_FOR_SIMD(i, begin, end, o[i] = a[i] - s); break;                              \
        case BINARY_MUL: TG_FOR_SIMD(i, begin, end, o[i] = a[i] * s); break;                              \
        case BINARY_DIV: TG_FOR_SIMD(i, begin, end, o[i] = a[i] / s); break;                              \
        }                                                                                                 \
    }                                                                                                     \
    /* o[i] = s op b[i] */                                                                                \
    TG_HOT_CLONES static void binary_const_a_##SFX(enum binary_kind kind, T *restrict o, T s, const T *restrict b,       \
                                     int64_t begin, int64_t end) {                                         \
        switch (kind) {                                                                                   \
        case BINARY_ADD: TG_FOR_SIMD(i, begin, end, o[i] = s + b[i]); break;                              \
        case BINARY_SUB: TG_FOR_SIMD(i, begin, end, o[i] = s - b[i]); break;                              \
        case BINARY_MUL: TG_FOR_SIMD(i, begin, end, o[i] = s * b[i]); break;                              \
        case BINARY_DIV: TG_FOR_SIMD(i, begin, end, o[i] = s / b[i]); break;                              \
        }                                                                                                 \
    }                                                                                                     \
    /* n elements of a row: each operand steps by 1, or is constant (step 0) */                           \
    static void binary_row_##SFX(enum binary_kind kind, T *o, const T *a, int64_t step_a, const T *b,      \
                                 int64_t step_b, int64_t n) {                                              \
        if (step_a && step_b)                                                                             \
            binary_flat_##SFX(kind, o, a, b, 0, n);                                                       \
        else if (step_a)                                                                                  \
            binary_const_b_##SFX(kind, o, a, *b, 0, n);                                                   \
        else if (step_b)                                                                                  \
            binary_const_a_##SFX(kind, o, *a, b, 0, n);                                                   \
        else                                                                                              \
            binary_const_b_##SFX(kind, o, a, *b, 0, n); /* a one-element a, read n times */               \
    }
DEFINE_BINARY_KERNELS(float, f32)
DEFINE_BINARY_KERNELS(double, f64)

/* The operands of the broadcast walk. */
enum { BINARY_OUT, BINARY_A, BINARY_B };

typedef struct binary_job {
    enum binary_kind kind;
    const tg_tensor *a, *b;
    tg_tensor *out;
    /* The broadcast case only: the collapsed walk's outer axes (one position
     * per row), the row's length and each operand's step along it. */
    tg_strided rows;
    int64_t row, inner[TG_STRIDED_OPERANDS];
} binary_job;

/* Elements [begin, end) of a flat operation (each operand full or constant). */
static void binary_flat_range(void *ctx, int64_t begin, int64_t end) {
    const binary_job *job = ctx;
    const tg_tensor *a = job->a, *b = job->b;
    bool a_const = a->numel == 1 && job->out->numel != 1, b_const = b->numel == 1 && job->out->numel != 1;
    if (job->out->dtype == TG_F32) {
        float *o = job->out->data;
        const float *pa = a->data, *pb = b->data;
        if (b_const)
            binary_const_b_f32(job->kind, o, pa, *pb, begin, end);
        else if (a_const)
            binary_const_a_f32(job->kind, o, *pa, pb, begin, end);
        else
            binary_flat_f32(job->kind, o, pa, pb, begin, end);
    } else {
        double *o = job->out->data;
        const double *pa = a->data, *pb = b->data;
        if (b_const)
            binary_const_b_f64(job->kind, o, pa, *pb, begin, end);
        else if (a_const)
            binary_const_a_f64(job->kind, o, *pa, pb, begin, end);
        else
            binary_flat_f64(job->kind, o, pa, pb, begin, end);
    }
}

/* Elements [begin, end) of a broadcast operation, row by row (the first
 * and the last may be partial): the rows walk gives each row's start in
 * every operand; along a row each operand steps by 1 or, broadcast, by 0
 * (the tensors are contiguous). */
static void binary_broadcast_range(void *ctx, int64_t begin, int64_t end) {
    const binary_job *job = ctx;
    const tg_tensor *out = job->out;
    const int64_t *inner = job->inner;
    tg_strided rows;
    tg_strided_copy(&rows, &job->rows);
    tg_strided_seek(&rows, begin / job->row);
    int64_t j = begin % job->row; /* where the first row starts */
    for (int64_t at = begin; at < end; j = 0, tg_strided_step(&rows)) {
        int64_t n = job->row - j < end - at ? job->row - j : end - at;
        const int64_t *off = rows.offset;
        int64_t o = off[BINARY_OUT] + j, ia = off[BINARY_A] + j * inner[BINARY_A], ib = off[BINARY_B] + j * inner[BINARY_B];
        if (out->dtype == TG_F64)
            binary_row_f64(job->kind, (double *)out->data + o, (const double *)job->a->data + ia, inner[BINARY_A],
                           (const double *)job->b->data + ib, inner[BINARY_B], n);
        else
            binary_row_f32(job->kind, (float *)out->data + o, (const float *)job->a->data + ia, inner[BINARY_A],
                           (const float *)job->b->data + ib, inner[BINARY_B], n);
        at += n;
    }
}

/* One element: out = a op b. */
static double binary_scalar(enum binary_kind kind, double a, double b) {
    switch (kind) {
    case BINARY_ADD: return a + b;
    case BINARY_SUB: return a - b;
    case BINARY_MUL: return a * b;
    default: return a / b;
    }
}

static void binary_one(enum binary_kind kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
    /* float operands: computed in double, rounded once to float. For + - * /
     * that equals the float operation exactly (double carries more than
     * 2 x 24 + 2 bits), so scalars match the vector kernels bit for bit. */
    if (out->dtype == TG_F32)
        *(float *)out->data = (float)binary_scalar(kind, *(const float *)a->data, *(const float *)b->data);
    else
        *(double *)out->data = binary_scalar(kind, *(const double *)a->data, *(const double *)b->data);
}

static void binary_forward(const tg_node *node, enum binary_kind kind) {
    const tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    tg_tensor *out = node->output;
    if (out->numel == 1) { /* scalars (the overhead benchmark's graphs): no job, no dispatch */
        binary_one(kind, out, a, b);
        return;
    }
    binary_job job;
    job.kind = kind;
    job.a = a;
    job.b = b;
    job.out = out;
    /* An operand with the output's element count, broadcast or not, is laid
     * out like the output (it can only lack leading size-1 axes). */
    bool a_flat = a->numel == out->numel || a->numel == 1, b_flat = b->numel == out->numel || b->numel == 1;
    if (a_flat && b_flat) {
        if (out->numel <= TG_ON_CALLER_MAX_NUMEL) /* the scalar graphs of the overhead benchmark */
            binary_flat_range(&job, 0, out->numel);
        else
            tg_parallel_range(out->numel, 1.0, binary_flat_range, &job);
        return;
    }
    tg_strided *rows = &job.rows;
    tg_strided_init(rows, out->rank, out->shape);
    tg_strided_set_contiguous(rows, BINARY_OUT);
    tg_strided_set_broadcast(rows, BINARY_A, a->rank, a->shape, a->strides);
    tg_strided_set_broadcast(rows, BINARY_B, b->rank, b->shape, b->strides);
    tg_strided_collapse(rows);
    int last = rows->rank - 1;
    job.row = rows->shape[last];
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) job.inner[k] = rows->stride[last][k];
    tg_strided_remove_axis(rows, last);
    tg_parallel_range(out->numel, 1.0, binary_broadcast_range, &job);
}

/* apply_binary for operands of different shapes; a function of its own so
 * that the common case does not set up the shape array. */
static tg_tensor *apply_broadcast(const char *function, const tg_op *op, tg_tensor **inputs) {
    const tg_tensor *a = inputs[0], *b = inputs[1];
    int rank = 0; /* set when the call succeeds; gcc cannot tell */
    int64_t shape[TG_MAX_RANK];
    if (tgi_broadcast_shape(function, a->rank, a->shape, b->rank, b->shape, &rank, shape) != TG_OK) return NULL;
    return tg_op_apply(op, inputs, 2, NULL, a->dtype, rank, shape);
}

static tg_tensor *apply_binary(const char *function, const tg_op *op, tg_tensor *a, tg_tensor *b) {
    if (tg_check_binary(function, a, b) != TG_OK) return NULL;
    tg_tensor *inputs[2] = {a, b};
    if (tg_shapes_equal(a, b)) return tg_op_apply(op, inputs, 2, NULL, a->dtype, a->rank, a->shape);
    return apply_broadcast(function, op, inputs);
}

/* ---- add: a + b.   d/da = 1, d/db = 1 (summed back over broadcast axes) ---- */
static void add_forward(const tg_node *node) { binary_forward(node, BINARY_ADD); }
static void add_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_reduce_grad_to(g, node->inputs[0]);
    grad_inputs[1] = tgi_reduce_grad_to(g, node->inputs[1]);
}
const tg_op tg_op_add = {"add", 2, add_forward, add_backward};
tg_tensor *tg_add(tg_tensor *a, tg_tensor *b) { return apply_binary("tg_add", &tg_op_add, a, b); }

/* ---- sub: a - b.   d/da = 1, d/db = -1 ---- */
static void sub_forward(const tg_node *node) { binary_forward(node, BINARY_SUB); }
static void sub_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tgi_reduce_grad_to(g, node->inputs[0]);
    if (node->inputs[1]->requires_grad) grad_inputs[1] = tgi_reduce_grad_to(tg_neg(g), node->inputs[1]);
}
const tg_op tg_op_sub = {"sub", 2, sub_forward, sub_backward};
tg_tensor *tg_sub(tg_tensor *a, tg_tensor *b) { return apply_binary("tg_sub", &tg_op_sub, a, b); }

/* ---- mul: a * b.   d/da = b, d/db = a ---- */
static void mul_forward(const tg_node *node) { binary_forward(node, BINARY_MUL); }
static void mul_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    if (a->requires_grad) grad_inputs[0] = tgi_reduce_grad_to(tg_mul(g, b), a);
    if (b->requires_grad) grad_inputs[1] = tgi_reduce_grad_to(tg_mul(g, a), b);
}
const tg_op tg_op_mul = {"mul", 2, mul_forward, mul_backward};
tg_tensor *tg_mul(tg_tensor *a, tg_tensor *b) { return apply_binary("tg_mul", &tg_op_mul, a, b); }

/* ---- div: a / b.   d/da = 1/b, d/db = -a/b^2 ---- */
static void div_forward(const tg_node *node) { binary_forward(node, BINARY_DIV); }
static void div_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    if (a->requires_grad) grad_inputs[0] = tgi_reduce_grad_to(tg_div(g, b), a);
    if (b->requires_grad) grad_inputs[1] = tgi_reduce_grad_to(tg_neg(tg_div(tg_mul(g, a), tg_mul(b, b))), b);
}
const tg_op tg_op_div = {"div", 2, div_forward, div_backward};
tg_tensor *tg_div(tg_tensor *a, tg_tensor *b) { return apply_binary("tg_div", &tg_op_div, a, b); }
