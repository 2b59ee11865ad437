/* ops/broadcast.c — broadcasting as two ops, each the other's gradient:
 * expand copies a tensor along broadcast axes, sum_to adds those copies back.
 * Every broadcasting gradient in the library goes through sum_to (see
 * tg_reduce_grad_to), so broadcasting is differentiated in this one place.
 * Neither op keeps attrs: the shapes are the input's and the output's. */
#include <string.h>

#include "ops/op_internal.h"

/* True when shape `from` broadcasts to `to` (NumPy rules, one direction):
 * `from` is no longer, and each of its sizes, aligned at the right, equals the
 * matching size of `to` or is 1. (This is tg_broadcast_shape(from, to) == to,
 * checked without reporting, so the caller can word its own message.) */
static bool broadcasts_to(int from_rank, const int64_t *from, int to_rank, const int64_t *to) {
    if (from_rank > to_rank) return false;
    for (int i = 0; i < from_rank; i++) {
        int64_t f = from[i], t = to[i + to_rank - from_rank];
        if (f != t && f != 1) return false;
    }
    return true;
}

/* ---- expand: out[i] = x[i with broadcast axes set to 0].   d: sum_to ----
 * The longest suffix of axes on which x is not broadcast is one contiguous
 * block in both x and out. The axis just before it is broadcast, so for each
 * combination of the outer axes the block is copied once and then doubled
 * with memcpy until it fills that axis. */
static void expand_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    size_t esize = tg_dtype_size(out->dtype);
    int rank = out->rank;
    int k = rank;
    int64_t block = 1; /* elements of the contiguous suffix */
    while (k > 0) {
        int ix = k - 1 - (rank - x->rank);
        bool same = ix >= 0 ? x->shape[ix] == out->shape[k - 1] : out->shape[k - 1] == 1;
        if (!same) break;
        block *= out->shape[k - 1];
        k--;
    }
    if (k == 0) { /* nothing is broadcast: a plain copy */
        memcpy(out->data, x->data, (size_t)out->numel * esize);
        return;
    }
    int64_t strides[TG_MAX_RANK];
    tg_broadcast_strides(x, rank, out->shape, strides);
    int64_t span = block * out->shape[k - 1]; /* output elements per outer step */
    size_t block_bytes = (size_t)block * esize, span_bytes = (size_t)span * esize;
    unsigned char *dst = out->data;
    const unsigned char *src = x->data;
    int64_t index[TG_MAX_RANK] = {0};
    int64_t offset = 0; /* in x, elements */
    for (int64_t start = 0; start < out->numel; start += span) {
        unsigned char *d = dst + (size_t)start * esize;
        memcpy(d, src + (size_t)offset * esize, block_bytes);
        for (size_t filled = block_bytes; filled < span_bytes;) {
            size_t n = filled < span_bytes - filled ? filled : span_bytes - filled;
            memcpy(d + filled, d, n);
            filled += n;
        }
        for (int a = k - 2; a >= 0; a--) { /* advance the odometer over axes 0..k-2 */
            index[a]++;
            offset += strides[a];
            if (index[a] < out->shape[a]) break;
            offset -= strides[a] * index[a];
            index[a] = 0;
        }
    }
}
static void expand_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const tg_tensor *x = node->inputs[0];
    grad_inputs[0] = tg_sum_to(g, x->rank, x->shape);
}
const tg_op tg_op_expand = {"expand", 1, expand_forward, expand_backward};

tg_tensor *tg_expand(tg_tensor *x, int rank, const int64_t *shape) {
    const char *function = "tg_expand";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int64_t numel;
    if (tg_shape_validate(function, rank, shape, x->dtype, &numel) != TG_OK) return NULL;
    if (!broadcasts_to(x->rank, x->shape, rank, shape)) {
        char from[192], to[192];
        tg_error_report(TG_ERR_SHAPE, function,
                        "cannot expand %s to %s (each size, aligned at the right, must match or be 1)",
                        tg_shape_string(from, sizeof from, x->rank, x->shape),
                        tg_shape_string(to, sizeof to, rank, shape));
        return NULL;
    }
    return tg_op_apply(&tg_op_expand, &x, 1, NULL, x->dtype, rank, shape);
}

/* ---- sum_to: x summed over the axes `shape` is broadcast along: the
 * leading axes it lacks and the axes where it has size 1.   d: expand ----
 * This is exactly a sum over those axes, so the sum kernel does the work;
 * the output's row-major order is the same with or without the size-1 axes. */
static void sum_to_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    const tg_tensor *out = node->output;
    int lead = x->rank - out->rank;
    tg_node sum = *node;
    sum.op = &tg_op_sum;
    sum.attrs = tg_no_attrs;
    for (int i = 0; i < x->rank; i++)
        if (i < lead || (out->shape[i - lead] == 1 && x->shape[i] != 1)) sum.attrs.axes_mask |= 1u << i;
    tg_op_sum.forward(&sum);
}
static void sum_to_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    const tg_tensor *x = node->inputs[0];
    grad_inputs[0] = tg_expand(g, x->rank, x->shape);
}
const tg_op tg_op_sum_to = {"sum_to", 1, sum_to_forward, sum_to_backward};

tg_tensor *tg_sum_to(tg_tensor *x, int rank, const int64_t *shape) {
    const char *function = "tg_sum_to";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    int64_t numel;
    if (tg_shape_validate(function, rank, shape, x->dtype, &numel) != TG_OK) return NULL;
    if (!broadcasts_to(rank, shape, x->rank, x->shape)) {
        char from[192], to[192];
        tg_error_report(TG_ERR_SHAPE, function, "cannot sum %s down to %s: %s does not broadcast to %s",
                        tg_shape_string(from, sizeof from, x->rank, x->shape),
                        tg_shape_string(to, sizeof to, rank, shape), to, from);
        return NULL;
    }
    return tg_op_apply(&tg_op_sum_to, &x, 1, NULL, x->dtype, rank, shape);
}
