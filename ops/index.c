/* ops/index.c — ops that read or write along an axis at integer indices:
 * index_select, index_add, gather, scatter_add and embedding. Their index
 * tensor is an input of the record (int64 or int32, never differentiated);
 * the public functions check every index against its bound before the op
 * runs, so the kernels read them unchecked.
 *
 * The adds are deterministic on any thread count: each output element is
 * owned by one piece of the split, and sums its contributions in index
 * order (j = 0, 1, ...), the order a plain serial loop would take. The
 * backward rules are each other: select <-> add, gather <-> scatter_add. */
#include <string.h>

#include "ops/op_internal.h"
#include "tapegrad/index.h"

#define SHAPE_TEXT 160

/* ---- checks shared by the public functions ---- */

/* idx is usable and of an integer dtype. */
static tg_status check_index_tensor(const char *function, const tg_tensor *idx) {
    tg_status s = tg_tensor_check(function, "idx", idx);
    if (s != TG_OK) return s;
    if (!tg_dtype_is_integer(idx->dtype))
        return tg_error_report(TG_ERR_DTYPE, function,
                               "idx is a %s tensor; indices must be int64 or int32 (convert with tg_to_dtype)",
                               tg_dtype_name(idx->dtype));
    return TG_OK;
}

/* Every element of idx lies in [0, bound); else the first that does not is
 * reported with its value, its position in idx and the bound. `bound_what`
 * says where the bound comes from ("axis 1 of x (2,5)"). */
static tg_status check_index_values(const char *function, const tg_tensor *idx, int64_t bound,
                                    const char *bound_what) {
    for (int64_t k = 0; k < idx->numel; k++) {
        int64_t v = tg_load_index(idx, k);
        if (v >= 0 && v < bound) continue;
        int64_t position[TG_MAX_RANK];
        for (int d = 0; d < idx->rank; d++) position[d] = k / idx->strides[d] % idx->shape[d];
        char where[SHAPE_TEXT];
        return tg_error_report(TG_ERR_ARGUMENT, function, "index %lld at position %s of idx is outside [0, %lld), %s",
                               (long long)v, tg_shape_string(where, sizeof where, idx->rank, position),
                               (long long)bound, bound_what);
    }
    return TG_OK;
}

/* "the size of axis 1 of x (2,5)" */
static const char *axis_bound_text(char *buf, size_t size, const char *name, const tg_tensor *x, int axis) {
    char shape[SHAPE_TEXT];
    snprintf(buf, size, "the size of axis %d of %s %s", axis, name, tg_shape_string(shape, sizeof shape, x->rank, x->shape));
    return buf;
}

/* x and src share a float dtype. */
static tg_status check_same_dtype(const char *function, const tg_tensor *x, const tg_tensor *src) {
    if (x->dtype == src->dtype) return TG_OK;
    return tg_error_report(TG_ERR_DTYPE, function, "x is %s but src is %s", tg_dtype_name(x->dtype),
                           tg_dtype_name(src->dtype));
}

/* A tensor of zeros of `like`'s dtype and shape on the tape of g (the
 * gradient a rule is given): the base a backward rule adds into. */
static tg_tensor *zeros_like_on_tape_of(const tg_tensor *g, const tg_tensor *like) {
    tg_tape *tape = g->tape ? g->tape : tg_tape_current();
    if (!tape) return NULL;
    tg_tensor *z = tgi_tape_new_tensor(tape, "backward", like->dtype, like->rank, like->shape);
    if (z) memset(z->data, 0, (size_t)z->numel * tg_dtype_size(z->dtype));
    return z;
}

/* ---- along an axis, with a flat list of indices (select, add, embedding)
 * x is seen as (outer, rows, inner) around the axis, the selected side
 * (select's output, add's src) as (outer, n, inner), n = idx->numel. ---- */

typedef struct rows_job {
    const tg_tensor *idx;
    const char *from; /* select: x; add: src */
    char *to;         /* select: out; add: out */
    int64_t outer, rows, n, inner;
    size_t element;
    const int64_t *first, *order; /* add: contributions to row r are order[first[r] .. first[r+1]) */
} rows_job;

/* select: item (o, j) copies row idx[j] of block o of x into row j of out. */
static void select_rows(void *ctx, int64_t begin, int64_t end) {
    const rows_job *job = ctx;
    size_t row_bytes = (size_t)job->inner * job->element;
    for (int64_t item = begin; item < end; item++) {
        int64_t o = item / job->n, j = item % job->n;
        int64_t r = tg_load_index(job->idx, j);
        memcpy(job->to + (size_t)(o * job->n + j) * row_bytes, job->from + (size_t)(o * job->rows + r) * row_bytes,
               row_bytes);
    }
}

static void index_select_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0], *idx = node->inputs[1];
    tg_axis_layout l = tg_axis_layout_of(x, (int)node->attrs.ints[0]);
    rows_job job = {idx, x->data, node->output->data, l.outer, l.len, idx->numel, l.inner,
                    tg_dtype_size(x->dtype), NULL, NULL};
    tg_parallel_items(l.outer * idx->numel, (double)l.inner, select_rows, &job);
}

/* add: item (o, r) adds, in index order, every row j of block o of src
 * whose idx[j] is r into row r of out (which holds x already). */
#define DEFINE_ADD_ROWS(NAME, T)                                                                    \
    static void NAME(void *ctx, int64_t begin, int64_t end) {                                       \
        const rows_job *job = ctx;                                                                  \
        for (int64_t item = begin; item < end; item++) {                                            \
            int64_t o = item / job->rows, r = item % job->rows;                                     \
            T *out = (T *)job->to + (o * job->rows + r) * job->inner;                               \
            for (int64_t k = job->first[r]; k < job->first[r + 1]; k++) {                           \
                const T *src = (const T *)job->from + (o * job->n + job->order[k]) * job->inner;    \
                for (int64_t i = 0; i < job->inner; i++) out[i] += src[i];                          \
            }                                                                                       \
        }                                                                                           \
    }
DEFINE_ADD_ROWS(add_rows_f32, float)
DEFINE_ADD_ROWS(add_rows_f64, double)

/* Groups the positions j of idx by their value, each group in increasing j
 * (a counting sort): first[r] .. first[r + 1] index order[] for row r. The
 * two arrays live on the output's tape, released with it. */
static bool group_by_row(const tg_tensor *idx, int64_t rows, tg_tape *tape, int64_t **first_out, int64_t **order_out) {
    int64_t *first = tg_tape_alloc(tape, (size_t)(rows + 1) * sizeof(int64_t));
    int64_t *order = tg_tape_alloc(tape, (size_t)(idx->numel ? idx->numel : 1) * sizeof(int64_t));
    if (!first || !order) {
        tg_error_report(TG_ERR_MEMORY, "tg_index_add", "cannot allocate the grouping of %lld indices",
                        (long long)idx->numel);
        return false;
    }
    memset(first, 0, (size_t)(rows + 1) * sizeof(int64_t));
    for (int64_t j = 0; j < idx->numel; j++) first[tg_load_index(idx, j) + 1]++;
    for (int64_t r = 0; r < rows; r++) first[r + 1] += first[r];
    for (int64_t j = 0; j < idx->numel; j++) order[first[tg_load_index(idx, j)]++] = j;
    for (int64_t r = rows; r > 0; r--) first[r] = first[r - 1]; /* the fill moved each start to the next */
    first[0] = 0;
    *first_out = first;
    *order_out = order;
    return true;
}

static void index_add_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0], *idx = node->inputs[1], *src = node->inputs[2];
    tg_tensor *out = node->output;
    tg_axis_layout l = tg_axis_layout_of(x, (int)node->attrs.ints[0]);
    memcpy(out->data, x->data, (size_t)out->numel * tg_dtype_size(out->dtype));
    rows_job job = {idx, src->data, out->data, l.outer, l.len, idx->numel, l.inner, tg_dtype_size(x->dtype), NULL, NULL};
    int64_t *first, *order;
    if (idx->numel == 0 || !group_by_row(idx, l.len, out->tape, &first, &order)) return;
    job.first = first, job.order = order;
    double cost = (double)l.inner * (double)idx->numel / (double)(l.len ? l.len : 1) + 1.0;
    tg_parallel_items(l.outer * l.len, cost, x->dtype == TG_F32 ? add_rows_f32 : add_rows_f64, &job);
}

/* Unchecked applications, for the public functions (after their checks)
 * and the backward rules (whose indices were checked when recorded). */
static tg_tensor *apply_index_select(const tg_op *op, tg_tensor *x, int axis, tg_tensor *idx, int rank,
                                     const int64_t *shape) {
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = axis, attrs.n_ints = 1;
    tg_tensor *inputs[2] = {x, idx};
    return tg_op_apply_with_integers(op, inputs, 2, &attrs, 2, x->dtype, rank, shape);
}

static tg_tensor *apply_index_add(tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src) {
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = axis, attrs.n_ints = 1;
    tg_tensor *inputs[3] = {x, idx, src};
    return tg_op_apply_with_integers(&tg_op_index_add, inputs, 3, &attrs, 2, x->dtype, x->rank, x->shape);
}

/* The shape of x with axis `axis` of size n. */
static void shape_with_axis(const tg_tensor *x, int axis, int64_t n, int64_t *shape) {
    memcpy(shape, x->shape, sizeof x->shape);
    shape[axis] = n;
}

/* The gradient of a selection, g (x's shape with n rows along axis, in
 * any layout of those elements), added into zeros of x's shape. */
static tg_tensor *select_grad(const tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *g) {
    int64_t shape[TG_MAX_RANK];
    shape_with_axis(x, axis, idx->numel, shape);
    bool same = g->rank == x->rank && memcmp(g->shape, shape, (size_t)x->rank * sizeof(int64_t)) == 0;
    tg_tensor *rows = same ? g : tg_reshape(g, x->rank, shape);
    tg_tensor *zeros = rows ? zeros_like_on_tape_of(g, x) : NULL;
    return zeros ? apply_index_add(zeros, axis, idx, rows) : NULL;
}

/* ---- index_select(x, axis, idx): out[.., j, ..] = x[.., idx[j], ..]
 * d: x gets index_add(zeros, axis, idx, g) ---- */
static void index_select_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = select_grad(node->inputs[0], (int)node->attrs.ints[0], node->inputs[1], g);
}
const tg_op tg_op_index_select = {"index_select", 2, index_select_forward, index_select_backward};

tg_tensor *tg_index_select(tg_tensor *x, int axis, tg_tensor *idx) {
    const char *function = "tg_index_select";
    int a;
    char bound[2 * SHAPE_TEXT];
    if (tg_tensor_check(function, "x", x) != TG_OK || check_index_tensor(function, idx) != TG_OK) return NULL;
    if (idx->rank != 1) {
        char shape[SHAPE_TEXT];
        tg_error_report(TG_ERR_SHAPE, function, "idx must have rank 1, its shape is %s",
                        tg_shape_string(shape, sizeof shape, idx->rank, idx->shape));
        return NULL;
    }
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK ||
        check_index_values(function, idx, x->shape[a], axis_bound_text(bound, sizeof bound, "x", x, a)) != TG_OK)
        return NULL;
    int64_t shape[TG_MAX_RANK];
    shape_with_axis(x, a, idx->numel, shape);
    return apply_index_select(&tg_op_index_select, x, a, idx, x->rank, shape);
}

/* ---- index_add(x, axis, idx, src): x with src's row j added to row idx[j]
 * d: x gets g; src gets index_select(g, axis, idx) ---- */
static void index_add_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    int axis = (int)node->attrs.ints[0];
    tg_tensor *idx = node->inputs[1], *src = node->inputs[2];
    if (node->inputs[0]->requires_grad) grad_inputs[0] = g;
    if (src->requires_grad) grad_inputs[2] = apply_index_select(&tg_op_index_select, g, axis, idx, src->rank, src->shape);
}
const tg_op tg_op_index_add = {"index_add", 3, index_add_forward, index_add_backward};

tg_tensor *tg_index_add(tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src) {
    const char *function = "tg_index_add";
    int a;
    char bound[2 * SHAPE_TEXT];
    if (tg_tensor_check(function, "x", x) != TG_OK || check_index_tensor(function, idx) != TG_OK ||
        tg_tensor_check(function, "src", src) != TG_OK || check_same_dtype(function, x, src) != TG_OK)
        return NULL;
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK) return NULL;
    int64_t want[TG_MAX_RANK];
    shape_with_axis(x, a, idx->numel, want);
    if (idx->rank != 1 || src->rank != x->rank || memcmp(src->shape, want, (size_t)x->rank * sizeof(int64_t)) != 0) {
        char s_idx[SHAPE_TEXT], s_src[SHAPE_TEXT], s_want[SHAPE_TEXT];
        tg_error_report(TG_ERR_SHAPE, function, "idx %s must have rank 1 and src %s the shape %s (x's, with idx's length along axis %d)",
                        tg_shape_string(s_idx, sizeof s_idx, idx->rank, idx->shape),
                        tg_shape_string(s_src, sizeof s_src, src->rank, src->shape),
                        tg_shape_string(s_want, sizeof s_want, x->rank, want), a);
        return NULL;
    }
    if (check_index_values(function, idx, x->shape[a], axis_bound_text(bound, sizeof bound, "x", x, a)) != TG_OK)
        return NULL;
    return apply_index_add(x, a, idx, src);
}

/* ---- embedding(weight, idx): row idx[...] of weight (num, dim) for every
 * index, shaped idx.shape + (dim). The select kernel on axis 0.
 * d: weight gets index_add(zeros, 0, idx, g seen as (numel(idx), dim)) ---- */
static void embedding_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = select_grad(node->inputs[0], 0, node->inputs[1], g);
}
const tg_op tg_op_embedding = {"embedding", 2, index_select_forward, embedding_backward};

tg_tensor *tg_embedding(tg_tensor *weight, tg_tensor *idx) {
    const char *function = "tg_embedding";
    char bound[2 * SHAPE_TEXT];
    if (tg_tensor_check(function, "weight", weight) != TG_OK || check_index_tensor(function, idx) != TG_OK)
        return NULL;
    if (weight->rank != 2 || idx->rank >= TG_MAX_RANK) {
        char s_w[SHAPE_TEXT], s_i[SHAPE_TEXT];
        tg_error_report(TG_ERR_SHAPE, function, "weight %s must have rank 2 (num, dim) and idx %s rank below %d",
                        tg_shape_string(s_w, sizeof s_w, weight->rank, weight->shape),
                        tg_shape_string(s_i, sizeof s_i, idx->rank, idx->shape), TG_MAX_RANK);
        return NULL;
    }
    snprintf(bound, sizeof bound, "the number of rows of weight %lld", (long long)weight->shape[0]);
    if (check_index_values(function, idx, weight->shape[0], bound) != TG_OK) return NULL;
    int64_t shape[TG_MAX_RANK];
    memcpy(shape, idx->shape, (size_t)idx->rank * sizeof(int64_t));
    shape[idx->rank] = weight->shape[1];
    tg_op_attrs attrs = tgi_no_attrs; /* axis 0 */
    attrs.n_ints = 1;
    tg_tensor *inputs[2] = {weight, idx};
    return tg_op_apply_with_integers(&tg_op_embedding, inputs, 2, &attrs, 2, weight->dtype, idx->rank + 1, shape);
}

/* ---- gather / scatter_add (torch semantics): idx has x's rank; along
 * `axis` position p of idx names the row of x, on every other axis idx is
 * at most x's size and the positions correspond. idx is walked as columns
 * (o, i) around the axis; each column reads (gather) or writes (scatter_add)
 * one column of x, and different columns different ones. ---- */

typedef struct column_job {
    const tg_tensor *idx;
    const tg_tensor *x_like; /* the tensor indexed: gather's x, scatter's out */
    const char *src;         /* gather: x; scatter: src (idx's shape)          */
    char *dst;               /* gather: out (idx's shape); scatter: out         */
    int axis;
    int64_t len, inner; /* idx as (outer, len, inner) */
} column_job;

/* The offset in x_like of column (o, i) of idx at row 0 of the axis. */
static int64_t column_base(const column_job *job, int64_t column) {
    const tg_tensor *idx = job->idx, *x = job->x_like;
    int64_t offset = 0, rest = column;
    for (int d = idx->rank - 1; d >= 0; d--) {
        if (d == job->axis) continue;
        offset += rest % idx->shape[d] * x->strides[d];
        rest /= idx->shape[d];
    }
    return offset;
}

#define DEFINE_COLUMNS(NAME, T, GATHER)                                                                   \
    static void NAME(void *ctx, int64_t begin, int64_t end) {                                             \
        const column_job *job = ctx;                                                                      \
        int64_t stride = job->x_like->strides[job->axis];                                                 \
        for (int64_t c = begin; c < end; c++) {                                                           \
            int64_t base = column_base(job, c), o = c / job->inner, i = c % job->inner;                   \
            for (int64_t j = 0; j < job->len; j++) {                                                      \
                int64_t at = (o * job->len + j) * job->inner + i; /* in idx (and its same-shape tensor) */ \
                int64_t x_at = base + tg_load_index(job->idx, at) * stride;                               \
                if (GATHER)                                                                               \
                    ((T *)job->dst)[at] = ((const T *)job->src)[x_at];                                    \
                else                                                                                      \
                    ((T *)job->dst)[x_at] += ((const T *)job->src)[at];                                   \
            }                                                                                             \
        }                                                                                                 \
    }
DEFINE_COLUMNS(gather_f32, float, 1)
DEFINE_COLUMNS(gather_f64, double, 1)
DEFINE_COLUMNS(scatter_add_f32, float, 0)
DEFINE_COLUMNS(scatter_add_f64, double, 0)

static void run_columns(const tg_node *node, const tg_tensor *x_like, const char *src, char *dst, bool gather) {
    const tg_tensor *idx = node->inputs[1];
    int axis = (int)node->attrs.ints[0];
    tg_axis_layout l = tg_axis_layout_of(idx, axis);
    column_job job = {idx, x_like, src, dst, axis, l.len, l.inner};
    bool f32 = x_like->dtype == TG_F32;
    tg_range_fn fn = gather ? (f32 ? gather_f32 : gather_f64) : (f32 ? scatter_add_f32 : scatter_add_f64);
    tg_parallel_items(l.outer * l.inner, (double)l.len, fn, &job);
}

static void gather_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    run_columns(node, x, x->data, node->output->data, true);
}

static void scatter_add_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    memcpy(out->data, x->data, (size_t)out->numel * tg_dtype_size(out->dtype));
    run_columns(node, out, node->inputs[2]->data, out->data, false);
}

static tg_tensor *apply_columns(const tg_op *op, tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src) {
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = axis, attrs.n_ints = 1;
    tg_tensor *inputs[3] = {x, idx, src};
    if (!src) return tg_op_apply_with_integers(op, inputs, 2, &attrs, 2, x->dtype, idx->rank, idx->shape);
    return tg_op_apply_with_integers(op, inputs, 3, &attrs, 2, x->dtype, x->rank, x->shape);
}

/* ---- gather(x, axis, idx): out[p] = x[p with its axis coordinate idx[p]]
 * d: x gets scatter_add(zeros, axis, idx, g) ---- */
static void gather_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *zeros = zeros_like_on_tape_of(g, node->inputs[0]);
    if (zeros) grad_inputs[0] = apply_columns(&tg_op_scatter_add, zeros, (int)node->attrs.ints[0], node->inputs[1], g);
}
const tg_op tg_op_gather = {"gather", 2, gather_forward, gather_backward};

/* idx has x's rank and, off the axis, sizes at most x's; its values lie in
 * [0, x's size along the axis). */
static tg_status check_columns(const char *function, const tg_tensor *x, int axis, int *a, const tg_tensor *idx) {
    char bound[2 * SHAPE_TEXT];
    if (tgi_normalize_axis(function, x, axis, a) != TG_OK) return tg_last_error();
    bool fits = idx->rank == x->rank;
    for (int d = 0; fits && d < x->rank; d++) fits = d == *a || idx->shape[d] <= x->shape[d];
    if (!fits) {
        char s_x[SHAPE_TEXT], s_i[SHAPE_TEXT];
        return tg_error_report(TG_ERR_SHAPE, function,
                               "idx %s must have the rank of x %s and, off axis %d, sizes at most x's",
                               tg_shape_string(s_i, sizeof s_i, idx->rank, idx->shape),
                               tg_shape_string(s_x, sizeof s_x, x->rank, x->shape), *a);
    }
    return check_index_values(function, idx, x->shape[*a], axis_bound_text(bound, sizeof bound, "x", x, *a));
}

tg_tensor *tg_gather(tg_tensor *x, int axis, tg_tensor *idx) {
    const char *function = "tg_gather";
    int a;
    if (tg_tensor_check(function, "x", x) != TG_OK || check_index_tensor(function, idx) != TG_OK ||
        check_columns(function, x, axis, &a, idx) != TG_OK)
        return NULL;
    return apply_columns(&tg_op_gather, x, a, idx, NULL);
}

/* ---- scatter_add(x, axis, idx, src): x with src[p] added at p with its axis
 * coordinate idx[p].   d: x gets g; src gets gather(g, axis, idx) ---- */
static void scatter_add_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    if (node->inputs[0]->requires_grad) grad_inputs[0] = g;
    if (node->inputs[2]->requires_grad)
        grad_inputs[2] = apply_columns(&tg_op_gather, g, (int)node->attrs.ints[0], node->inputs[1], NULL);
}
const tg_op tg_op_scatter_add = {"scatter_add", 3, scatter_add_forward, scatter_add_backward};

tg_tensor *tg_scatter_add(tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src) {
    const char *function = "tg_scatter_add";
    int a;
    if (tg_tensor_check(function, "x", x) != TG_OK || check_index_tensor(function, idx) != TG_OK ||
        tg_tensor_check(function, "src", src) != TG_OK || check_same_dtype(function, x, src) != TG_OK)
        return NULL;
    if (!tg_shapes_equal(idx, src)) {
        char s_i[SHAPE_TEXT], s_s[SHAPE_TEXT];
        tg_error_report(TG_ERR_SHAPE, function, "idx %s and src %s must have the same shape",
                        tg_shape_string(s_i, sizeof s_i, idx->rank, idx->shape),
                        tg_shape_string(s_s, sizeof s_s, src->rank, src->shape));
        return NULL;
    }
    if (check_columns(function, x, axis, &a, idx) != TG_OK) return NULL;
    return apply_columns(&tg_op_scatter_add, x, a, idx, src);
}
