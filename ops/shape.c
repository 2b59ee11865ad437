/* ops/shape.c — ops that move elements without arithmetic: reshape, permute
 * (and transpose), slice, pad, concat, and the dtype conversion.
 *
 * Every op copies into a new contiguous tensor (there are no views yet). The
 * kernels copy whole contiguous runs with memcpy: an axis splits a tensor into
 * (outer, size along the axis, inner) and each outer step is one run. */
#include <stdio.h>
#include <string.h>

#include "ops/op_internal.h"
#include "ops/strided.h"

#define SHAPE_TEXT 192

/* ---- reshape: the same elements in the same order.   d: reshape back ---- */
static void reshape_forward(const tg_node *node) {
    memcpy(node->output->data, node->inputs[0]->data,
           (size_t)node->output->numel * tg_dtype_size(node->output->dtype));
}
static void reshape_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const tg_tensor *x = node->inputs[0];
    grad_inputs[0] = tg_reshape(g, x->rank, x->shape);
}
const tg_op tg_op_reshape = {"reshape", 1, reshape_forward, reshape_backward};

tg_tensor *tg_reshape(tg_tensor *x, int rank, const int64_t *shape) {
    const char *function = "tg_reshape";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (rank < 0 || rank > TG_MAX_RANK) {
        tg_error_report(TG_ERR_SHAPE, function, "rank %d outside 0..%d", rank, TG_MAX_RANK);
        return NULL;
    }
    if (rank > 0 && !shape) {
        tg_error_report(TG_ERR_ARGUMENT, function, "shape is NULL for rank %d", rank);
        return NULL;
    }
    char from[SHAPE_TEXT], to[SHAPE_TEXT];
    tg_shape_string(from, sizeof from, x->rank, x->shape);
    tg_shape_string(to, sizeof to, rank, shape);
    int64_t out_shape[TG_MAX_RANK];
    int inferred = -1;
    /* The product of the given sizes, computed without overflow: a zero size
     * makes it 0, and a product past INT64_MAX cannot match any tensor. */
    int64_t known = 1;
    bool has_zero = false, too_many = false;
    for (int i = 0; i < rank; i++) {
        out_shape[i] = shape[i];
        if (shape[i] == -1 && inferred < 0) {
            inferred = i;
        } else if (shape[i] < 0) {
            tg_error_report(TG_ERR_SHAPE, function, "cannot reshape %s into %s: %s", from, to,
                            shape[i] == -1 ? "only one size may be -1" : "sizes must be >= 0 (or one -1)");
            return NULL;
        } else if (shape[i] == 0) {
            has_zero = true;
        } else if (!too_many && shape[i] > INT64_MAX / known) {
            too_many = true;
        } else if (!too_many) {
            known *= shape[i];
        }
    }
    bool fits;
    if (inferred >= 0) { /* the -1 takes whatever count is left; 0 leaves it ambiguous */
        fits = !has_zero && !too_many && x->numel % known == 0;
        if (fits) out_shape[inferred] = x->numel / known;
    } else {
        fits = has_zero ? x->numel == 0 : !too_many && known == x->numel;
    }
    if (!fits) {
        tg_error_report(TG_ERR_SHAPE, function, "cannot reshape %s (%lld elements) into %s", from,
                        (long long)x->numel, to);
        return NULL;
    }
    return tg_op_apply(&tg_op_reshape, &x, 1, NULL, x->dtype, rank, out_shape);
}

/* ---- permute: out[i0..] = x[the same indices in the order perm names].
 * attrs.ints[0..rank) = perm.   d: permute by the inverse permutation ----
 * The kernel walks the output's shape with x's strides read through perm and
 * the output's own (ops/strided.h), collapsed: size-1 axes are dropped and
 * neighbouring output axes that are also neighbours in x (x's stride of the
 * first = size * stride of the second) merge into one group. Then either
 *   - the last output group is contiguous in x too, as D in a (B,T,H,D) ->
 *     (B,H,T,D) permute: each output row is one memcpy; or
 *   - it is not (a transpose): some other group c has stride 1 in x, and the
 *     (c, last) plane is copied in TILE x TILE blocks (bench_elementwise's transpose picks the size), so that both the
 *     reads and the writes of a block stay within a few cache lines. */
#define TILE 16

/* dst[j] = src[j * stride] for j < n: one memcpy when the run is contiguous. */
static void gather_rows(void *dst, const void *src, size_t esize, int64_t n, int64_t stride) {
    if (stride == 1) {
        memcpy(dst, src, (size_t)n * esize);
    } else if (esize == sizeof(float)) {
        float *d = dst;
        const float *s = src;
        for (int64_t j = 0; j < n; j++) d[j] = s[j * stride];
    } else {
        double *d = dst;
        const double *s = src;
        for (int64_t j = 0; j < n; j++) d[j] = s[j * stride];
    }
}

/* dst[i * dst_row + j] = src[i + j * src_col] for i < rows, j < cols. */
static void copy_tile(void *dst, int64_t dst_row, const void *src, int64_t src_col, int64_t rows, int64_t cols,
                      size_t esize) {
    if (esize == sizeof(float)) {
        float *d = dst;
        const float *s = src;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) d[i * dst_row + j] = s[i + j * src_col];
    } else {
        double *d = dst;
        const double *s = src;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) d[i * dst_row + j] = s[i + j * src_col];
    }
}

/* The operands of the permute walk. */
enum { PERMUTE_X, PERMUTE_OUT };

static void permute_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    size_t esize = tg_dtype_size(out->dtype);
    int64_t x_strides[TG_MAX_RANK]; /* along the output's axes */
    for (int i = 0; i < x->rank; i++) x_strides[i] = x->strides[node->attrs.ints[i]];
    tg_strided walk;
    tg_strided_init(&walk, out->rank, out->shape);
    tg_strided_set_strides(&walk, PERMUTE_X, x_strides);
    tg_strided_set_contiguous(&walk, PERMUTE_OUT);
    tg_strided_collapse(&walk);

    int last = walk.rank - 1;
    int c = -1; /* the group x stores contiguously, when it is not the last */
    for (int g = 0; g < last; g++)
        if (walk.stride[g][PERMUTE_X] == 1) c = g;
    bool tiled = walk.stride[last][PERMUTE_X] != 1 && c >= 0;
    int64_t cols = walk.shape[last], x_col = walk.stride[last][PERMUTE_X];
    int64_t rows = tiled ? walk.shape[c] : 0, out_row = tiled ? walk.stride[c][PERMUTE_OUT] : 0;

    /* The walk goes on over the groups the inner copy does not cover (all
     * but the last, or all but c and the last), through x and out together. */
    tg_strided_remove_axis(&walk, last);
    if (tiled) tg_strided_remove_axis(&walk, c);
    int64_t count = tg_strided_count(&walk);
    unsigned char *dst = out->data;
    const unsigned char *src = x->data;
    for (int64_t k = 0; k < count; k++, tg_strided_step(&walk)) {
        int64_t offset_x = walk.offset[PERMUTE_X], offset_out = walk.offset[PERMUTE_OUT];
        if (!tiled) {
            gather_rows(dst + (size_t)offset_out * esize, src + (size_t)offset_x * esize, esize, cols, x_col);
            continue;
        }
        for (int64_t i0 = 0; i0 < rows; i0 += TILE) /* the (c, last) plane, rows x cols */
            for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
                int64_t tile_rows = rows - i0 < TILE ? rows - i0 : TILE;
                int64_t tile_cols = cols - j0 < TILE ? cols - j0 : TILE;
                copy_tile(dst + (size_t)(offset_out + i0 * out_row + j0) * esize, out_row,
                          src + (size_t)(offset_x + i0 + j0 * x_col) * esize, x_col, tile_rows, tile_cols, esize);
            }
    }
}
static void permute_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    int rank = node->inputs[0]->rank;
    int inverse[TG_MAX_RANK];
    for (int i = 0; i < rank; i++) inverse[node->attrs.ints[i]] = i;
    grad_inputs[0] = tg_permute(g, inverse);
}
const tg_op tg_op_permute = {"permute", 1, permute_forward, permute_backward};

static tg_tensor *apply_permute(const char *function, tg_tensor *x, const int *perm) {
    if (x->rank > 0 && !perm) {
        tg_error_report(TG_ERR_ARGUMENT, function, "perm is NULL for rank %d", x->rank);
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    int64_t shape[TG_MAX_RANK], given[TG_MAX_RANK];
    uint32_t seen = 0;
    for (int i = 0; i < x->rank; i++) given[i] = perm[i];
    for (int i = 0; i < x->rank; i++) {
        int a = perm[i] < 0 ? perm[i] + x->rank : perm[i];
        const char *problem = NULL;
        if (a < 0 || a >= x->rank)
            problem = "out of range";
        else if (seen & (1u << a))
            problem = "listed twice";
        if (problem) {
            char p[SHAPE_TEXT], s[SHAPE_TEXT];
            tg_error_report(TG_ERR_AXIS, function, "%s is not a permutation of the axes of %s: axis %d is %s",
                            tg_shape_string(p, sizeof p, x->rank, given),
                            tg_shape_string(s, sizeof s, x->rank, x->shape), perm[i], problem);
            return NULL;
        }
        seen |= 1u << a;
        attrs.ints[i] = a;
        shape[i] = x->shape[a];
    }
    attrs.n_ints = x->rank;
    return tg_op_apply(&tg_op_permute, &x, 1, &attrs, x->dtype, x->rank, shape);
}

tg_tensor *tg_permute(tg_tensor *x, const int *perm) {
    if (tg_tensor_check("tg_permute", "x", x) != TG_OK) return NULL;
    return apply_permute("tg_permute", x, perm);
}

tg_tensor *tg_transpose(tg_tensor *x) {
    const char *function = "tg_transpose";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (x->rank < 2) {
        char s[SHAPE_TEXT];
        tg_error_report(TG_ERR_SHAPE, function, "needs rank >= 2 to swap the last two axes, got shape %s",
                        tg_shape_string(s, sizeof s, x->rank, x->shape));
        return NULL;
    }
    int perm[TG_MAX_RANK];
    for (int i = 0; i < x->rank; i++) perm[i] = i;
    perm[x->rank - 2] = x->rank - 1;
    perm[x->rank - 1] = x->rank - 2;
    return apply_permute(function, x, perm);
}

/* ---- slice: elements [start, stop) along axis. attrs.ints = {axis, start, stop}.
 * d: the gradient padded with zeros back to x's size ---- */
static void slice_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    int axis = (int)node->attrs.ints[0];
    int64_t start = node->attrs.ints[1], stop = node->attrs.ints[2];
    tg_axis_layout l = tg_axis_layout_of(x, axis);
    size_t esize = tg_dtype_size(x->dtype);
    size_t run = (size_t)((stop - start) * l.inner) * esize;
    unsigned char *dst = node->output->data;
    const unsigned char *src = (const unsigned char *)x->data + (size_t)(start * l.inner) * esize;
    size_t src_step = (size_t)(l.len * l.inner) * esize;
    for (int64_t o = 0; o < l.outer; o++) memcpy(dst + (size_t)o * run, src + (size_t)o * src_step, run);
}
static void slice_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const tg_tensor *x = node->inputs[0];
    int axis = (int)node->attrs.ints[0];
    int64_t start = node->attrs.ints[1], stop = node->attrs.ints[2];
    grad_inputs[0] = tg_pad(g, axis, start, x->shape[axis] - stop);
}
const tg_op tg_op_slice = {"slice", 1, slice_forward, slice_backward};

tg_tensor *tg_slice(tg_tensor *x, int axis, int64_t start, int64_t stop) {
    const char *function = "tg_slice";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int a;
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK) return NULL;
    int64_t size = x->shape[a];
    if (start < 0 || start > stop || stop > size) {
        char s[SHAPE_TEXT];
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "[%lld, %lld) is not a range inside axis %d of shape %s (need 0 <= start <= stop <= %lld)",
                        (long long)start, (long long)stop, axis, tg_shape_string(s, sizeof s, x->rank, x->shape),
                        (long long)size);
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = a;
    attrs.ints[1] = start;
    attrs.ints[2] = stop;
    attrs.n_ints = 3;
    int64_t shape[TG_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = stop - start;
    return tg_op_apply(&tg_op_slice, &x, 1, &attrs, x->dtype, x->rank, shape);
}

/* ---- pad: zeros before and after along axis. attrs.ints = {axis, before, after}.
 * d: the slice of the gradient where x was ---- */
static void pad_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    int axis = (int)node->attrs.ints[0];
    int64_t before = node->attrs.ints[1], after = node->attrs.ints[2];
    tg_axis_layout l = tg_axis_layout_of(x, axis);
    size_t esize = tg_dtype_size(x->dtype);
    size_t front = (size_t)(before * l.inner) * esize, back = (size_t)(after * l.inner) * esize;
    size_t run = (size_t)(l.len * l.inner) * esize;
    unsigned char *dst = node->output->data;
    const unsigned char *src = x->data;
    for (int64_t o = 0; o < l.outer; o++) {
        memset(dst, 0, front); /* all-zero bytes are +0.0 in IEEE 754 */
        memcpy(dst + front, src + (size_t)o * run, run);
        memset(dst + front + run, 0, back);
        dst += front + run + back;
    }
}
static void pad_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const tg_tensor *x = node->inputs[0];
    int axis = (int)node->attrs.ints[0];
    int64_t before = node->attrs.ints[1];
    grad_inputs[0] = tg_slice(g, axis, before, before + x->shape[axis]);
}
const tg_op tg_op_pad = {"pad", 1, pad_forward, pad_backward};

tg_tensor *tg_pad(tg_tensor *x, int axis, int64_t before, int64_t after) {
    const char *function = "tg_pad";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int a;
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK) return NULL;
    char s[SHAPE_TEXT];
    if (before < 0 || after < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "padding must be >= 0, got before=%lld after=%lld for shape %s",
                        (long long)before, (long long)after, tg_shape_string(s, sizeof s, x->rank, x->shape));
        return NULL;
    }
    int64_t size = x->shape[a];
    if (before > INT64_MAX - size || after > INT64_MAX - size - before) {
        tg_error_report(TG_ERR_MEMORY, function, "padding axis %d of shape %s by %lld and %lld is too large", axis,
                        tg_shape_string(s, sizeof s, x->rank, x->shape), (long long)before, (long long)after);
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = a;
    attrs.ints[1] = before;
    attrs.ints[2] = after;
    attrs.n_ints = 3;
    int64_t shape[TG_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = before + size + after;
    return tg_op_apply(&tg_op_pad, &x, 1, &attrs, x->dtype, x->rank, shape);
}

/* ---- concat: the inputs one after another along axis. attrs.ints[0] = axis.
 * d: for each input, the slice of the gradient where it was ---- */
static void concat_forward(const tg_node *node) {
    int axis = (int)node->attrs.ints[0];
    tg_axis_layout l = tg_axis_layout_of(node->output, axis);
    size_t esize = tg_dtype_size(node->output->dtype);
    unsigned char *dst = node->output->data;
    for (int64_t o = 0; o < l.outer; o++) {
        for (int i = 0; i < node->n_inputs; i++) {
            const tg_tensor *x = node->inputs[i];
            size_t run = (size_t)(x->shape[axis] * l.inner) * esize;
            memcpy(dst, (const unsigned char *)x->data + (size_t)o * run, run);
            dst += run;
        }
    }
}
static void concat_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    int axis = (int)node->attrs.ints[0];
    int64_t offset = 0;
    for (int i = 0; i < node->n_inputs; i++) {
        int64_t size = node->inputs[i]->shape[axis];
        if (node->inputs[i]->requires_grad) grad_inputs[i] = tg_slice(g, axis, offset, offset + size);
        offset += size;
    }
}
const tg_op tg_op_concat = {"concat", -1, concat_forward, concat_backward};

tg_tensor *tg_concat(int n, tg_tensor *const *tensors, int axis) {
    const char *function = "tg_concat";
    if (n < 1 || n > TG_MAX_INPUTS || !tensors) {
        tg_error_report(TG_ERR_ARGUMENT, function, "needs 1 to %d tensors, got n=%d%s", TG_MAX_INPUTS, n,
                        tensors ? "" : " and tensors=NULL");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "tensors[%d]", i);
        if (tg_tensor_check(function, what, tensors[i]) != TG_OK) return NULL;
    }
    const tg_tensor *first = tensors[0];
    int a;
    if (tgi_normalize_axis(function, first, axis, &a) != TG_OK) return NULL;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const tg_tensor *t = tensors[i];
        if (t->dtype != first->dtype) {
            tg_error_report(TG_ERR_DTYPE, function, "tensors[%d] is %s but tensors[0] is %s (convert with tg_to_dtype)",
                            i, tg_dtype_name(t->dtype), tg_dtype_name(first->dtype));
            return NULL;
        }
        bool fits = t->rank == first->rank;
        for (int d = 0; fits && d < t->rank; d++) fits = d == a || t->shape[d] == first->shape[d];
        if (!fits) {
            char s0[SHAPE_TEXT], si[SHAPE_TEXT];
            tg_error_report(TG_ERR_SHAPE, function,
                            "tensors[%d] has shape %s and tensors[0] has %s: they must agree except along axis %d", i,
                            tg_shape_string(si, sizeof si, t->rank, t->shape),
                            tg_shape_string(s0, sizeof s0, first->rank, first->shape), axis);
            return NULL;
        }
        if (t->shape[a] > INT64_MAX - total) {
            tg_error_report(TG_ERR_MEMORY, function, "the joined size along axis %d overflows", axis);
            return NULL;
        }
        total += t->shape[a];
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = a;
    attrs.n_ints = 1;
    int64_t shape[TG_MAX_RANK];
    memcpy(shape, first->shape, sizeof shape);
    shape[a] = total;
    return tg_op_apply(&tg_op_concat, tensors, n, &attrs, first->dtype, first->rank, shape);
}

/* ---- to_dtype: each value converted as tgi_convert_elements does (float64
 * -> float32 rounds to nearest, float -> integer truncates toward zero).
 * d: the gradient converted back to x's dtype; none into or out of an
 * integer tensor (tg_op_apply records no op with an integer output, and an
 * integer input never requires a gradient). ---- */
static void to_dtype_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    if (x->dtype == out->dtype)
        memcpy(out->data, x->data, (size_t)out->numel * tg_dtype_size(out->dtype));
    else
        tgi_convert_elements("tg_to_dtype", out, x);
}
static void to_dtype_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_to_dtype(g, node->inputs[0]->dtype);
}
const tg_op tg_op_to_dtype = {"to_dtype", 1, to_dtype_forward, to_dtype_backward};

tg_tensor *tg_to_dtype(tg_tensor *x, tg_dtype dtype) {
    const char *function = "tg_to_dtype";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (!tg_dtype_known(dtype)) {
        tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d (use TG_F32, TG_F64, TG_I64 or TG_I32)",
                        (int)dtype);
        return NULL;
    }
    return tg_op_apply_with_integers(&tg_op_to_dtype, &x, 1, NULL, 1, dtype, x->rank, x->shape);
}
