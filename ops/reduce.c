/* ops/reduce.c — reductions over axes: sum, mean and max.
 *
 * All three records keep their parameters the same way (op_internal.h):
 * attrs.axes_mask has bit i set when axis i is reduced, and
 * attrs.flags & TG_ATTR_KEEPDIM keeps reduced axes as size 1. One kernel
 * serves them all (and sum_to in broadcast.c, which is a sum over the axes it
 * broadcasts over). float32 sums accumulate in double. */
#include <math.h>
#include <stdio.h>

#include "ops/op_internal.h"
#include "ops/strided.h"

/* ---- the reduction kernel ----
 *
 * x's axes are first simplified without changing the memory order, as a
 * strided walk over x and the output (ops/strided.h), collapsed: size-1
 * axes are dropped (they move nothing) and neighbouring axes that are both
 * reduced or both kept merge into one group. A (2,3,4,5) tensor reduced over
 * axes {1,2} becomes kept 2, reduced 12, kept 5. The innermost group always
 * has stride 1, so the innermost loop reads contiguous memory:
 *   - innermost group reduced: each output element is the reduction of
 *     contiguous runs, one per combination of the outer reduced groups;
 *   - innermost group kept: each output row accumulates contiguous input rows,
 *     in chunks of ROW_CHUNK doubles kept on the stack. */

enum reduce_kind { REDUCE_SUM, REDUCE_MAX };

#define ROW_CHUNK 1024

/* The operands of a reduction's walk over x's shape: x, and the output with
 * stride 0 along the reduced axes. */
enum { REDUCE_X, REDUCE_OUT };

/* The groups of a reduction: x's axes walked with x's strides and the
 * output's (row-major over the kept axes, 0 along the reduced ones),
 * collapsed. A group is reduced when the output does not move along it; a
 * single element is one kept group of one. Needs an output of at least one
 * element (a kept size 0 would leave a kept group with output stride 0). */
static void plan_reduction(const tg_tensor *x, uint32_t mask, tg_strided *plan) {
    int64_t out_strides[TG_MAX_RANK];
    int64_t kept = 1;
    for (int i = x->rank - 1; i >= 0; i--) {
        bool reduced = (mask >> i) & 1u;
        out_strides[i] = reduced ? 0 : kept;
        if (!reduced) kept *= x->shape[i];
    }
    tg_strided_init(plan, x->rank, x->shape);
    tg_strided_set_strides(plan, REDUCE_X, x->strides);
    tg_strided_set_strides(plan, REDUCE_OUT, out_strides);
    tg_strided_collapse(plan);
}

static bool group_reduced(const tg_strided *plan, int group) { return plan->stride[group][REDUCE_OUT] == 0; }

/* The walk over the outer groups of a plan (all but the innermost) that are
 * reduced, or kept: their offset in x is the start of a run of the innermost
 * group. */
static tg_strided outer_groups(const tg_strided *plan, bool reduced) {
    uint32_t axes = 0;
    for (int g = 0; g < plan->rank - 1; g++)
        if (group_reduced(plan, g) == reduced) axes |= 1u << g;
    tg_strided walk;
    tg_strided_select_axes(&walk, plan, axes);
    return walk;
}

/* The number of positions of outer_groups(plan, reduced), without the walk. */
static int64_t outer_count(const tg_strided *plan, bool reduced) {
    int64_t count = 1;
    for (int g = 0; g < plan->rank - 1; g++)
        if (group_reduced(plan, g) == reduced) count *= plan->shape[g];
    return count;
}

/* The larger of the two, NaN if v is NaN (and acc stays NaN once it is:
 * nothing compares greater than NaN). Both tests are evaluated, without a
 * branch, so that loops over rows vectorize. */
static inline double max_of(double acc, double v) { return ((v > acc) | isnan(v)) ? v : acc; }

/* Reduction of n contiguous elements of x from `offset`, combined into acc.
 * Four partial sums: shorter dependency chains, and a little more accurate. */
TG_HOT_CLONES static double reduce_run(enum reduce_kind kind, const tg_tensor *x, int64_t offset, int64_t n, double acc) {
    if (kind == REDUCE_SUM) {
        double s[4] = {0, 0, 0, 0};
        int64_t j = 0;
        if (x->dtype == TG_F32) {
            const float *p = (const float *)x->data + offset;
            for (; j + 4 <= n; j += 4)
                for (int k = 0; k < 4; k++) s[k] += (double)p[j + k];
            for (; j < n; j++) s[0] += (double)p[j];
        } else {
            const double *p = (const double *)x->data + offset;
            for (; j + 4 <= n; j += 4)
                for (int k = 0; k < 4; k++) s[k] += p[j + k];
            for (; j < n; j++) s[0] += p[j];
        }
        return acc + ((s[0] + s[1]) + (s[2] + s[3]));
    }
    double m[4] = {acc, acc, acc, acc}; /* four running maxima, as for the sum */
    int64_t j = 0;
    if (x->dtype == TG_F32) {
        const float *p = (const float *)x->data + offset;
        for (; j + 4 <= n; j += 4)
            for (int k = 0; k < 4; k++) m[k] = max_of(m[k], (double)p[j + k]);
        for (; j < n; j++) m[0] = max_of(m[0], (double)p[j]);
    } else {
        const double *p = (const double *)x->data + offset;
        for (; j + 4 <= n; j += 4)
            for (int k = 0; k < 4; k++) m[k] = max_of(m[k], p[j + k]);
        for (; j < n; j++) m[0] = max_of(m[0], p[j]);
    }
    return max_of(max_of(m[0], m[1]), max_of(m[2], m[3]));
}

/* acc[j] (op)= x[offset + j] for j < n. */
TG_HOT_CLONES static void reduce_rows(enum reduce_kind kind, double *restrict acc, const tg_tensor *x, int64_t offset, int64_t n) {
    if (x->dtype == TG_F32) {
        const float *restrict p = (const float *)x->data + offset;
        if (kind == REDUCE_SUM)
            TG_FOR_SIMD(j, 0, n, acc[j] += (double)p[j]);
        else
            TG_FOR_SIMD(j, 0, n, acc[j] = max_of(acc[j], (double)p[j]));
    } else {
        const double *restrict p = (const double *)x->data + offset;
        if (kind == REDUCE_SUM)
            TG_FOR_SIMD(j, 0, n, acc[j] += p[j]);
        else
            TG_FOR_SIMD(j, 0, n, acc[j] = max_of(acc[j], p[j]));
    }
}

/* A whole-tensor reduction of more than this many elements is cut into
 * equal blocks (at most FULL_BLOCKS, each at least this long), reduced
 * separately, possibly in parallel, and combined in block order. The blocks
 * depend only on the element count, so the result does not depend on the
 * thread count. */
#define FULL_BLOCK_MIN 65536
#define FULL_BLOCKS 256

/* The work of one reduction, for tg_parallel_items. Items are output
 * elements (innermost group reduced), output row chunks (innermost group
 * kept: item = kept index * chunks + chunk), or the blocks of a whole-tensor
 * reduction. */
typedef struct reduce_job {
    const tg_tensor *x;
    tg_tensor *out;
    enum reduce_kind kind;
    double divisor, initial;
    tg_strided plan;
    int64_t inner, chunks, chunk_width, block;
    double *partial; /* whole-tensor reduction: one result per block */
} reduce_job;

static void reduce_outputs(void *ctx, int64_t begin, int64_t end) {
    const reduce_job *job = ctx;
    tg_strided kept = outer_groups(&job->plan, false), red = outer_groups(&job->plan, true);
    int64_t runs = tg_strided_count(&red);
    tg_strided_seek(&kept, begin);
    for (int64_t k = begin; k < end; k++, tg_strided_step(&kept)) {
        double acc = job->initial;
        tg_strided_rewind(&red);
        for (int64_t r = 0; r < runs; r++, tg_strided_step(&red))
            acc = reduce_run(job->kind, job->x, kept.offset[REDUCE_X] + red.offset[REDUCE_X], job->inner, acc);
        tg_store(job->out, k, acc / job->divisor);
    }
}

static void reduce_row_chunks(void *ctx, int64_t begin, int64_t end) {
    const reduce_job *job = ctx;
    tg_strided kept = outer_groups(&job->plan, false), red = outer_groups(&job->plan, true);
    int64_t runs = tg_strided_count(&red);
    tg_strided_seek(&kept, begin / job->chunks);
    for (int64_t item = begin; item < end; item++) {
        int64_t k = item / job->chunks, c0 = item % job->chunks * job->chunk_width;
        if (item > begin && c0 == 0) tg_strided_step(&kept);
        int64_t len = job->inner - c0 < job->chunk_width ? job->inner - c0 : job->chunk_width;
        double acc[ROW_CHUNK];
        for (int64_t j = 0; j < len; j++) acc[j] = job->initial;
        tg_strided_rewind(&red);
        for (int64_t r = 0; r < runs; r++, tg_strided_step(&red))
            reduce_rows(job->kind, acc, job->x, kept.offset[REDUCE_X] + red.offset[REDUCE_X] + c0, len);
        int64_t out_index = k * job->inner + c0;
        for (int64_t j = 0; j < len; j++) tg_store(job->out, out_index + j, acc[j] / job->divisor);
    }
}

static void reduce_blocks(void *ctx, int64_t begin, int64_t end) {
    const reduce_job *job = ctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t start = b * job->block, n = job->inner - start < job->block ? job->inner - start : job->block;
        job->partial[b] = reduce_run(job->kind, job->x, start, n, job->initial);
    }
}

/* Reduces node->inputs[0] over node->attrs.axes_mask into node->output,
 * written in row-major order of the kept axes (so the output's own shape —
 * with or without the reduced axes — does not matter). Each result is divided
 * by `divisor` (1 for sum and max, the element count for mean). Large
 * reductions are split over the thread pool; every output element is
 * computed the same way whatever the split. */
static void reduce_forward(const tg_node *node, enum reduce_kind kind, double divisor) {
    reduce_job job = {0};
    job.x = node->inputs[0];
    job.out = node->output;
    job.kind = kind;
    job.divisor = divisor;
    job.initial = kind == REDUCE_SUM ? 0.0 : -INFINITY;
    plan_reduction(job.x, node->attrs.axes_mask, &job.plan);
    int inner_group = job.plan.rank - 1;
    job.inner = job.plan.shape[inner_group];
    bool inner_reduced = group_reduced(&job.plan, inner_group);
    int64_t kept_count = outer_count(&job.plan, false), runs = outer_count(&job.plan, true);
    double work = (double)job.x->numel;

    if (inner_reduced && kept_count == 1 && runs == 1 && job.inner > FULL_BLOCK_MIN) {
        int64_t blocks = (job.inner + FULL_BLOCK_MIN - 1) / FULL_BLOCK_MIN;
        if (blocks > FULL_BLOCKS) blocks = FULL_BLOCKS;
        job.block = (job.inner + blocks - 1) / blocks;
        blocks = (job.inner + job.block - 1) / job.block;
        double partial[FULL_BLOCKS];
        job.partial = partial;
        tg_parallel_items(blocks, (double)job.block, reduce_blocks, &job);
        double acc = job.initial;
        for (int64_t b = 0; b < blocks; b++)
            acc = kind == REDUCE_SUM ? acc + partial[b] : max_of(acc, partial[b]);
        tg_store(job.out, 0, acc / divisor);
    } else if (inner_reduced) {
        tg_parallel_items(kept_count, work / (double)kept_count, reduce_outputs, &job);
    } else {
        /* Chunks of at most ROW_CHUNK columns, and at least 8 of them when
         * the row allows (64 columns each at the least), so that a single
         * kept row (a bias gradient, (64, 256) summed over rows) still
         * splits over the threads. Each column sums its rows in order
         * whatever the width, so the width does not change the result. */
        int64_t width = (job.inner + 7) / 8;
        width = (width + 15) / 16 * 16;
        job.chunk_width = width < 64 ? 64 : width > ROW_CHUNK ? ROW_CHUNK : width;
        job.chunks = (job.inner + job.chunk_width - 1) / job.chunk_width;
        int64_t items = kept_count * job.chunks;
        tg_parallel_items(items, work / (double)items, reduce_row_chunks, &job);
    }
}

/* ---- shared by the public functions and backward rules ---- */

/* Number of elements each output element reduces: the product of the
 * reduced sizes (1 when no axis is reduced). */
static int64_t reduced_count(const tg_tensor *x, uint32_t mask) {
    int64_t count = 1;
    for (int i = 0; i < x->rank; i++)
        if ((mask >> i) & 1u) count *= x->shape[i];
    return count;
}

/* "{0,2}": the axes of a mask, for messages. */
static const char *mask_string(char *buf, size_t size, uint32_t mask) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < TG_MAX_RANK && used < size; i++) {
        if (!((mask >> i) & 1u)) continue;
        int n = snprintf(buf + used, size - used, used ? ",%d" : "{%d", i);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, size, "{}");
    else if (used < size)
        snprintf(buf + used, size - used, "}");
    return buf;
}

/* Validates, works out the output shape and applies `op` reducing `mask`.
 * mean and max refuse to reduce zero elements (they have no value). */
static tg_tensor *apply_reduce(const char *function, const tg_op *op, tg_tensor *x, uint32_t mask, bool keepdim,
                               const char *what) {
    if (what && reduced_count(x, mask) == 0) {
        char shape_text[192], axes_text[64];
        tg_error_report(TG_ERR_SHAPE, function, "the %s of zero elements is undefined: shape %s reduced over axes %s",
                        what, tg_shape_string(shape_text, sizeof shape_text, x->rank, x->shape),
                        mask_string(axes_text, sizeof axes_text, mask));
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.axes_mask = mask;
    attrs.flags = keepdim ? TG_ATTR_KEEPDIM : 0;
    int rank;
    int64_t shape[TG_MAX_RANK];
    tgi_reduced_shape(x, mask, keepdim, &rank, shape);
    return tg_op_apply(op, &x, 1, &attrs, x->dtype, rank, shape);
}

static tg_tensor *reduce_axes(const char *function, const tg_op *op, tg_tensor *x, int n_axes, const int *axes,
                              bool keepdim, const char *what) {
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    uint32_t mask;
    if (tgi_axes_mask(function, x, n_axes, axes, &mask) != TG_OK) return NULL;
    return apply_reduce(function, op, x, mask, keepdim, what);
}

/* The gradient of a reduction's output brought back to x's shape: g gets the
 * reduced axes back as size 1 (a reshape, unless keepdim kept them), then is
 * broadcast along them. Steps that would not change the shape are skipped. */
static tg_tensor *broadcast_back(const tg_node *node, tg_tensor *g) {
    const tg_tensor *x = node->inputs[0];
    if (!g) return NULL;
    int rank;
    int64_t shape[TG_MAX_RANK];
    tgi_reduced_shape(x, node->attrs.axes_mask, true, &rank, shape);
    bool reshape_needed = g->rank != rank;
    for (int i = 0; !reshape_needed && i < rank; i++) reshape_needed = g->shape[i] != shape[i];
    tg_tensor *kept = reshape_needed ? tg_reshape(g, rank, shape) : g;
    if (!kept || tg_same_shape(kept, x)) return kept;
    return tg_expand(kept, x->rank, x->shape);
}

/* ---- sum: sum over the axes in the mask.   d: g broadcast back ---- */
static void sum_forward(const tg_node *node) { reduce_forward(node, REDUCE_SUM, 1.0); }
static void sum_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = broadcast_back(node, g);
}
const tg_op tg_op_sum = {"sum", 1, sum_forward, sum_backward};

tg_tensor *tg_sum(tg_tensor *x) { return reduce_axes("tg_sum", &tg_op_sum, x, 0, NULL, false, NULL); }

tg_tensor *tg_sum_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim) {
    return reduce_axes("tg_sum_axes", &tg_op_sum, x, n_axes, axes, keepdim, NULL);
}

/* ---- mean: sum / count.   d: g / count broadcast back ---- */
static void mean_forward(const tg_node *node) {
    reduce_forward(node, REDUCE_SUM, (double)reduced_count(node->inputs[0], node->attrs.axes_mask));
}
static void mean_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    double count = (double)reduced_count(node->inputs[0], node->attrs.axes_mask);
    grad_inputs[0] = broadcast_back(node, tg_mul_scalar(g, 1.0 / count));
}
const tg_op tg_op_mean = {"mean", 1, mean_forward, mean_backward};

tg_tensor *tg_mean(tg_tensor *x) { return reduce_axes("tg_mean", &tg_op_mean, x, 0, NULL, false, "mean"); }

tg_tensor *tg_mean_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim) {
    return reduce_axes("tg_mean_axes", &tg_op_mean, x, n_axes, axes, keepdim, "mean");
}

/* ---- max: the largest element (NaN if any is NaN).
 * d: g broadcast back, times a mask that is 1 only at the first arg-max, so
 * ties send the whole gradient to one element (as the subgradient PyTorch's
 * max(dim) uses) instead of splitting it. Only one axis or all axes are
 * reduced: tg_max_axis and tg_max are the only ways to make this op. ---- */
static void max_forward(const tg_node *node) { reduce_forward(node, REDUCE_MAX, 1.0); }
static void max_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0];
    uint32_t mask = node->attrs.axes_mask;
    uint32_t all = x->rank ? (uint32_t)((1u << x->rank) - 1u) : 0u;
    if (x->rank == 0) { /* the max of one element is that element */
        grad_inputs[0] = g;
        return;
    }
    int axis;
    if (mask != 0 && (mask & (mask - 1u)) == 0) { /* exactly one axis */
        axis = 0;
        while (!((mask >> axis) & 1u)) axis++;
    } else if (mask == all) {
        axis = TG_ALL_AXES;
    } else {
        char text[64];
        tg_error_report(TG_ERR_AXIS, "tg_max", "the gradient of max needs one axis or all axes, not %s",
                        mask_string(text, sizeof text, mask));
        return;
    }
    grad_inputs[0] = tg_mul(broadcast_back(node, g), tg_argmax_mask(x, axis));
}
const tg_op tg_op_max = {"max", 1, max_forward, max_backward};

tg_tensor *tg_max(tg_tensor *x) { return reduce_axes("tg_max", &tg_op_max, x, 0, NULL, false, "max"); }

tg_tensor *tg_max_axis(tg_tensor *x, int axis, bool keepdim) {
    const char *function = "tg_max_axis";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int a;
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK) return NULL;
    return apply_reduce(function, &tg_op_max, x, 1u << a, keepdim, "max");
}
