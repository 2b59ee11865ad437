/* ops/where.c — where(mask, a, b): a where mask is nonzero, b where it is 0.
 *
 * Selection, not arithmetic: the element not chosen is never read into the
 * result, so where(m, x, 0) is exactly 0 where m is 0 even when x is -inf or
 * NaN there, which m * x is not (0 * -inf = NaN). A cross-entropy picks the
 * label's log-probability this way, so that a masked (-inf) logit elsewhere
 * in the row leaves the loss finite.
 *
 *   d/da = where(mask, g, 0)   d/db = where(mask, 0, g)   (mask: none)
 *
 * both summed back to a's and b's shapes. The rule is where itself, so it
 * differentiates again. The mask is a selector, like a comparison's output:
 * no gradient flows to it. */
#include <math.h>

#include "ops/op_internal.h"
#include "ops/strided.h"

/* The three operands read at the output's shape: a walk over the output
 * (operand 0) with mask, a and b (operands 1-3) broadcast to it. */
typedef struct where_job {
    const tg_tensor *mask, *a, *b;
    tg_tensor *out;
    tg_strided walk;
} where_job;

#define DEFINE_WHERE_KERNELS(T, SFX)                                                                        \
    /* Both values are read before the choice, so that the loop is a blend of   \
     * full loads (gcc 12 -O3 miscompiled the conditional loads of the ternary). */ \
    static inline T select_##SFX(T m, T a, T b) { return m != (T)0 ? a : b; }                               \
    /* Operands laid out like the output: one flat loop (a blend). */                                      \
    TG_HOT_CLONES static void where_flat_##SFX(T *restrict o, const T *restrict m, const T *restrict a,     \
                                               const T *restrict b, int64_t begin, int64_t end) {          \
        TG_FOR_SIMD(i, begin, end, o[i] = select_##SFX(m[i], a[i], b[i]));                                  \
    }                                                                                                       \
    /* n elements of a row, each operand stepping by its own stride (0 when broadcast). */                 \
    static void where_row_##SFX(T *o, const T *m, int64_t step_m, const T *a, int64_t step_a, const T *b,  \
                                int64_t step_b, int64_t n) {                                               \
        for (int64_t j = 0; j < n; j++) o[j] = m[j * step_m] != (T)0 ? a[j * step_a] : b[j * step_b];       \
    }
DEFINE_WHERE_KERNELS(float, f32)
DEFINE_WHERE_KERNELS(double, f64)

static void where_flat_range(void *ctx, int64_t begin, int64_t end) {
    const where_job *job = ctx;
    if (job->out->dtype == TG_F32)
        where_flat_f32(job->out->data, job->mask->data, job->a->data, job->b->data, begin, end);
    else
        where_flat_f64(job->out->data, job->mask->data, job->a->data, job->b->data, begin, end);
}

/* Output positions [begin, end), run by run of the walk's innermost axis. */
static void where_walk_range(void *ctx, int64_t begin, int64_t end) {
    const where_job *job = ctx;
    const tg_tensor *out = job->out;
    tg_strided it;
    tg_strided_copy(&it, &job->walk);
    tg_strided_seek(&it, begin);
    const int64_t *step = it.stride[it.rank - 1];
    for (int64_t at = begin; at < end;) {
        int64_t n = tg_strided_run(&it, end - at);
        if (out->dtype == TG_F32)
            where_row_f32((float *)out->data + it.offset[0], (const float *)job->mask->data + it.offset[1], step[1],
                          (const float *)job->a->data + it.offset[2], step[2],
                          (const float *)job->b->data + it.offset[3], step[3], n);
        else
            where_row_f64((double *)out->data + it.offset[0], (const double *)job->mask->data + it.offset[1],
                          step[1], (const double *)job->a->data + it.offset[2], step[2],
                          (const double *)job->b->data + it.offset[3], step[3], n);
        tg_strided_advance(&it, n);
        at += n;
    }
}

static void where_forward(const tg_node *node) {
    where_job job = {.mask = node->inputs[0], .a = node->inputs[1], .b = node->inputs[2], .out = node->output};
    tg_tensor *out = node->output;
    if (out->numel == 0) return;
    if (job.mask->numel == out->numel && job.a->numel == out->numel && job.b->numel == out->numel) {
        /* Each operand has the output's element count, so its layout (it
         * can only lack leading size-1 axes). */
        tg_parallel_range(out->numel, 1.0, where_flat_range, &job);
        return;
    }
    /* Some operand is broadcast. */
    tg_strided_init(&job.walk, out->rank, out->shape);
    tg_strided_set_contiguous(&job.walk, 0);
    tg_strided_set_broadcast(&job.walk, 1, job.mask->rank, job.mask->shape, job.mask->strides);
    tg_strided_set_broadcast(&job.walk, 2, job.a->rank, job.a->shape, job.a->strides);
    tg_strided_set_broadcast(&job.walk, 3, job.b->rank, job.b->shape, job.b->strides);
    tg_strided_collapse(&job.walk);
    tg_parallel_range(out->numel, 1.0, where_walk_range, &job);
}

/* Zeros shaped like g: a mask that is never 1 (x > +inf is false for every
 * x, NaN included; masks are never recorded). */
static tg_tensor *zeros_like(tg_tensor *g) { return tg_gt_scalar(g, INFINITY); }

static void where_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *mask = node->inputs[0], *a = node->inputs[1], *b = node->inputs[2];
    tg_tensor *zeros = zeros_like(g);
    if (a->requires_grad) grad_inputs[1] = tgi_reduce_grad_to(tg_where(mask, g, zeros), a);
    if (b->requires_grad) grad_inputs[2] = tgi_reduce_grad_to(tg_where(mask, zeros, g), b);
}

const tg_op tg_op_where = {"where", 3, where_forward, where_backward};

tg_tensor *tg_where(tg_tensor *mask, tg_tensor *a, tg_tensor *b) {
    const char *function = "tg_where";
    if (tg_tensor_check(function, "mask", mask) != TG_OK || tg_tensor_check(function, "a", a) != TG_OK ||
        tg_tensor_check(function, "b", b) != TG_OK)
        return NULL;
    if (mask->dtype != a->dtype || b->dtype != a->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "dtypes differ: mask %s, a %s, b %s (convert with tg_to_dtype)",
                        tg_dtype_name(mask->dtype), tg_dtype_name(a->dtype), tg_dtype_name(b->dtype));
        return NULL;
    }
    int rank_ab = 0, rank = 0; /* set when the calls succeed; gcc cannot tell */
    int64_t shape_ab[TG_MAX_RANK], shape[TG_MAX_RANK];
    if (tgi_broadcast_shape(function, a->rank, a->shape, b->rank, b->shape, &rank_ab, shape_ab) != TG_OK ||
        tgi_broadcast_shape(function, mask->rank, mask->shape, rank_ab, shape_ab, &rank, shape) != TG_OK)
        return NULL;
    tg_tensor *inputs[3] = {mask, a, b};
    return tg_op_apply(&tg_op_where, inputs, 3, NULL, a->dtype, rank, shape);
}
