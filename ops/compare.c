/* ops/compare.c — comparisons of two tensors as 0/1 masks (eq, ne, lt, le,
 * gt, ge), and masked_fill.
 *
 * A mask is a float tensor of 0 and 1, so that it multiplies, sums and
 * selects (tg_where) directly: of the inputs' dtype when they are float,
 * float32 when they are integers (int64 labels against tg_argmax's int64
 * predictions give a float32 mask whose mean is the accuracy). Comparisons
 * have no backward: their records are never recorded. Integers are compared
 * exactly, floats as C compares them (NaN is unequal to everything). */
#include <math.h>
#include <string.h>

#include "ops/op_internal.h"
#include "ops/strided.h"
#include "tapegrad/index.h"

typedef enum comparison { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } comparison;

/* a and b compared as `kind` says; `exact` compares the int64 values. */
static bool compare_values(comparison kind, double a, double b) {
    switch (kind) {
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
    }
    return false;
}
static bool compare_integers(comparison kind, int64_t a, int64_t b) {
    switch (kind) {
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
    }
    return false;
}

/* out (contiguous, the broadcast shape) = 1 where a `kind` b, else 0. A
 * plain strided walk: masks are made once per step, not in inner loops. */
static void compare_forward(const tg_node *node) {
    const tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    tg_tensor *out = node->output;
    comparison kind = (comparison)node->attrs.ints[0];
    bool integers = tg_dtype_is_integer(a->dtype);
    tg_strided it;
    tg_strided_init(&it, out->rank, out->shape);
    tg_strided_set_broadcast(&it, 1, a->rank, a->shape, a->strides);
    tg_strided_set_broadcast(&it, 2, b->rank, b->shape, b->strides);
    for (int64_t at = 0; at < out->numel; at++, tg_strided_step(&it)) {
        int64_t ia = it.offset[1], ib = it.offset[2];
        bool r = integers ? compare_integers(kind, tg_load_index(a, ia), tg_load_index(b, ib))
                          : compare_values(kind, tg_load(a, ia), tg_load(b, ib));
        tg_store(out, at, r ? 1.0 : 0.0);
    }
}

const tg_op tg_op_eq = {"eq", 2, compare_forward, NULL};
const tg_op tg_op_ne = {"ne", 2, compare_forward, NULL};
const tg_op tg_op_lt = {"lt", 2, compare_forward, NULL};
const tg_op tg_op_le = {"le", 2, compare_forward, NULL};
const tg_op tg_op_gt = {"gt", 2, compare_forward, NULL};
const tg_op tg_op_ge = {"ge", 2, compare_forward, NULL};

static tg_tensor *compare(const char *function, const tg_op *op, comparison kind, tg_tensor *a, tg_tensor *b) {
    if (tg_tensor_check(function, "a", a) != TG_OK || tg_tensor_check(function, "b", b) != TG_OK) return NULL;
    if (a->dtype != b->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "a is %s but b is %s (convert with tg_to_dtype)",
                        tg_dtype_name(a->dtype), tg_dtype_name(b->dtype));
        return NULL;
    }
    int rank;
    int64_t shape[TG_MAX_RANK];
    if (tgi_broadcast_shape(function, a->rank, a->shape, b->rank, b->shape, &rank, shape) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = kind, attrs.n_ints = 1;
    tg_tensor *inputs[2] = {a, b};
    tg_dtype out_dtype = tg_dtype_is_integer(a->dtype) ? TG_F32 : a->dtype;
    return tg_op_apply_with_integers(op, inputs, 2, &attrs, 3, out_dtype, rank, shape);
}

tg_tensor *tg_eq(tg_tensor *a, tg_tensor *b) { return compare("tg_eq", &tg_op_eq, CMP_EQ, a, b); }
tg_tensor *tg_ne(tg_tensor *a, tg_tensor *b) { return compare("tg_ne", &tg_op_ne, CMP_NE, a, b); }
tg_tensor *tg_lt(tg_tensor *a, tg_tensor *b) { return compare("tg_lt", &tg_op_lt, CMP_LT, a, b); }
tg_tensor *tg_le(tg_tensor *a, tg_tensor *b) { return compare("tg_le", &tg_op_le, CMP_LE, a, b); }
tg_tensor *tg_gt(tg_tensor *a, tg_tensor *b) { return compare("tg_gt", &tg_op_gt, CMP_GT, a, b); }
tg_tensor *tg_ge(tg_tensor *a, tg_tensor *b) { return compare("tg_ge", &tg_op_ge, CMP_GE, a, b); }

/* ---- masked_fill(x, mask, value): value where mask != 0, else x (a NaN in
 * mask fills, as tg_where's selects). mask broadcasts to x's shape.
 * d: x gets masked_fill(g, mask, 0) ---- */
static void masked_fill_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0], *mask = node->inputs[1];
    tg_tensor *out = node->output;
    double value = node->attrs.scalar[0];
    bool integer_mask = tg_dtype_is_integer(mask->dtype);
    memcpy(out->data, x->data, (size_t)out->numel * tg_dtype_size(out->dtype));
    tg_strided it;
    tg_strided_init(&it, out->rank, out->shape);
    tg_strided_set_broadcast(&it, 1, mask->rank, mask->shape, mask->strides);
    for (int64_t at = 0; at < out->numel; at++, tg_strided_step(&it)) {
        bool fill = integer_mask ? tg_load_index(mask, it.offset[1]) != 0 : tg_load(mask, it.offset[1]) != 0.0;
        if (fill) tg_store(out, at, value);
    }
}
static void masked_fill_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_masked_fill(g, node->inputs[1], 0.0);
}
const tg_op tg_op_masked_fill = {"masked_fill", 2, masked_fill_forward, masked_fill_backward};

tg_tensor *tg_masked_fill(tg_tensor *x, tg_tensor *mask, double value) {
    const char *function = "tg_masked_fill";
    if (tg_tensor_check(function, "x", x) != TG_OK || tg_tensor_check(function, "mask", mask) != TG_OK) return NULL;
    if (!tg_dtype_is_integer(mask->dtype) && mask->dtype != x->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "mask is %s but x is %s (a mask is x's dtype or an integer one)",
                        tg_dtype_name(mask->dtype), tg_dtype_name(x->dtype));
        return NULL;
    }
    int rank;
    int64_t shape[TG_MAX_RANK];
    if (tgi_broadcast_shape(function, x->rank, x->shape, mask->rank, mask->shape, &rank, shape) != TG_OK) return NULL;
    if (rank != x->rank || memcmp(shape, x->shape, (size_t)rank * sizeof(int64_t)) != 0) {
        char s_m[160], s_x[160];
        tg_error_report(TG_ERR_SHAPE, function, "mask %s does not broadcast to x's shape %s",
                        tg_shape_string(s_m, sizeof s_m, mask->rank, mask->shape),
                        tg_shape_string(s_x, sizeof s_x, x->rank, x->shape));
        return NULL;
    }
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = value;
    tg_tensor *inputs[2] = {x, mask};
    return tg_op_apply_with_integers(&tg_op_masked_fill, inputs, 2, &attrs, 2, x->dtype, x->rank, x->shape);
}
