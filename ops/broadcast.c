/* ops/broadcast.c — broadcasting as two ops, each the other's gradient:
 * expand copies a tensor along broadcast axes, sum_to adds those copies back.
 * Every broadcasting gradient in the library goes through sum_to (see
 * tgi_reduce_grad_to), so broadcasting is differentiated in this one place.
 * Neither op keeps attrs: the shapes are the input's and the output's. */
#include <string.h>

#include "ops/op_internal.h"
#include "ops/strided.h"

/* True when shape `from` broadcasts to `to` (NumPy rules, one direction):
 * their broadcast is `to` itself. Checked without reporting, so the caller
 * can word its own message. */
static bool broadcasts_to(int from_rank, const int64_t *from, int to_rank, const int64_t *to) {
    int rank;
    int64_t shape[TG_MAX_RANK];
    if (from_rank > to_rank || !tg_try_broadcast_shape(from_rank, from, to_rank, to, &rank, shape)) return false;
    return memcmp(shape, to, (size_t)to_rank * sizeof *to) == 0;
}

/* ---- expand: out[i] = x[i with broadcast axes set to 0].   d: sum_to ----
 * The output is walked with x's broadcast strides, collapsed (ops/strided.h):
 * its axes then alternate between broadcast (stride 0) and not. A last axis
 * that is not broadcast is one contiguous block of x; the broadcast axis
 * before it (or the last axis itself) repeats it, so for each position of
 * the axes further out the block is copied once and then doubled with
 * memcpy until it fills the repeats. */
static void expand_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    size_t esize = tg_dtype_size(out->dtype);
    if (x->numel == out->numel) { /* nothing is broadcast: a plain copy */
        memcpy(out->data, x->data, (size_t)out->numel * esize);
        return;
    }
    tg_strided outer;
    tg_strided_init(&outer, out->rank, out->shape);
    tg_strided_set_broadcast(&outer, 0, x->rank, x->shape, x->strides);
    tg_strided_collapse(&outer);
    int64_t block = 1; /* elements of x copied whole */
    if (outer.stride[outer.rank - 1][0] != 0) {
        block = outer.shape[outer.rank - 1];
        tg_strided_remove_axis(&outer, outer.rank - 1);
    }
    int64_t span = block * outer.shape[outer.rank - 1]; /* output elements per outer position */
    tg_strided_remove_axis(&outer, outer.rank - 1);
    size_t block_bytes = (size_t)block * esize, span_bytes = (size_t)span * esize;
    unsigned char *dst = out->data;
    const unsigned char *src = x->data;
    for (int64_t start = 0; start < out->numel; start += span, tg_strided_step(&outer)) {
        unsigned char *d = dst + (size_t)start * esize;
        memcpy(d, src + (size_t)outer.offset[0] * esize, block_bytes);
        for (size_t filled = block_bytes; filled < span_bytes;) {
            size_t n = filled < span_bytes - filled ? filled : span_bytes - filled;
            memcpy(d + filled, d, n);
            filled += n;
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
    sum.attrs = tgi_no_attrs;
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
