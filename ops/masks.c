/* ops/masks.c — the ops with no gradient: comparisons with a constant, sign,
 * and the arg-max mask. Their records have backward = NULL, so they are never
 * recorded and their outputs never require a gradient; backward rules
 * (relu, abs, clamp, max) multiply by them to select where a gradient flows.
 * Outputs keep x's dtype so that a rule can multiply them with a gradient
 * directly. */
#include <math.h>
#include <string.h>

#include "ops/op_internal.h"

/* A NaN constant would make every comparison false: refuse it rather than
 * return an all-zero mask. Infinite constants are meaningful (x > -inf). */
static tg_status check_not_nan(const char *function, double c) {
    if (!isnan(c)) return TG_OK;
    return tg_error_report(TG_ERR_ARGUMENT, function, "c must not be NaN");
}

/* The comparisons run in the tensor's dtype, as vectorized loops (see
 * op_internal.h). For float32 the double c is replaced by a float that gives
 * the same answers: no float lies strictly between c and the float just
 * below (or above) it, so x > c exactly when x > c rounded down, and x < c
 * exactly when x < c rounded up (a c beyond float's range rounds to the
 * largest float or to an infinity, which still answers right). */
static float float_at_or_below(double c) {
    float f = (float)c;
    return (double)f > c ? nextafterf(f, -INFINITY) : f;
}
static float float_at_or_above(double c) {
    float f = (float)c;
    return (double)f < c ? nextafterf(f, INFINITY) : f;
}

#define DEFINE_MASK_KERNEL(NAME, T, PRE, TEST)                                                          \
    TG_HOT_CLONES static void NAME(T *restrict out, const T *restrict in, int64_t begin, int64_t end,                   \
                     const tg_op_attrs *attrs) {                                                         \
        PRE;                                                                                             \
        TG_FOR_SIMD(i, begin, end, {                                                                     \
            T x = in[i];                                                                                 \
            out[i] = (TEST) ? (T)1 : (T)0;                                                               \
        });                                                                                              \
    }

/* ---- gt_scalar: 1 where x > c, else 0 (0 for a NaN x) ---- */
DEFINE_MASK_KERNEL(gt_scalar_f32, float, const float c = float_at_or_below(attrs->scalar[0]), x > c)
DEFINE_MASK_KERNEL(gt_scalar_f64, double, const double c = attrs->scalar[0], x > c)
static void gt_scalar_forward(const tg_node *node) { tg_run_unary(node, gt_scalar_f32, gt_scalar_f64, 1.0); }
const tg_op tg_op_gt_scalar = {"gt_scalar", 1, gt_scalar_forward, NULL};
tg_tensor *tg_gt_scalar(tg_tensor *x, double c) {
    if (check_not_nan("tg_gt_scalar", c) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = c;
    return tgi_apply_unary("tg_gt_scalar", &tg_op_gt_scalar, x, &attrs);
}

/* ---- lt_scalar: 1 where x < c, else 0 (0 for a NaN x) ---- */
DEFINE_MASK_KERNEL(lt_scalar_f32, float, const float c = float_at_or_above(attrs->scalar[0]), x < c)
DEFINE_MASK_KERNEL(lt_scalar_f64, double, const double c = attrs->scalar[0], x < c)
static void lt_scalar_forward(const tg_node *node) { tg_run_unary(node, lt_scalar_f32, lt_scalar_f64, 1.0); }
const tg_op tg_op_lt_scalar = {"lt_scalar", 1, lt_scalar_forward, NULL};
tg_tensor *tg_lt_scalar(tg_tensor *x, double c) {
    if (check_not_nan("tg_lt_scalar", c) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = c;
    return tgi_apply_unary("tg_lt_scalar", &tg_op_lt_scalar, x, &attrs);
}

/* ---- sign: -1, 0 or 1; -0 gives 0; NaN stays NaN (as numpy.sign) ---- */
static double sign_scalar(double x, const tg_op_attrs *a) {
    (void)a;
    if (x > 0.0) return 1.0;
    if (x < 0.0) return -1.0;
    return x == 0.0 ? 0.0 : x;
}
static void sign_forward(const tg_node *node) { tgi_map_unary(node, sign_scalar); }
const tg_op tg_op_sign = {"sign", 1, sign_forward, NULL};
tg_tensor *tg_sign(tg_tensor *x) { return tgi_apply_unary("tg_sign", &tg_op_sign, x, NULL); }

/* ---- argmax_mask: 1 at the first maximum along an axis, 0 elsewhere ----
 * "First" makes the result deterministic under ties, so the gradient of max
 * goes to exactly one element (as numpy.argmax picks). A NaN counts as
 * larger than any number, and the first NaN wins, as in numpy.argmax: the
 * mask then points at the element that made max NaN. */

/* Index (0..n-1) of the first maximum of the n elements x[start + k*stride]. */
static int64_t first_max(const tg_tensor *x, int64_t start, int64_t n, int64_t stride) {
    int64_t best = 0;
    double best_value = tg_load(x, start);
    for (int64_t k = 1; k < n && !isnan(best_value); k++) {
        double v = tg_load(x, start + k * stride);
        if (v > best_value || isnan(v)) {
            best = k;
            best_value = v;
        }
    }
    return best;
}

static void argmax_mask_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    tg_tensor *out = node->output;
    memset(out->data, 0, (size_t)out->numel * tg_dtype_size(out->dtype));
    int axis = (int)node->attrs.ints[0];
    if (axis == TG_ALL_AXES) { /* flat order; also the rank-0 case */
        tg_store(out, first_max(x, 0, x->numel, 1), 1.0);
        return;
    }
    /* x seen as (outer, n, inner): element (o, k, i) is at
     * o*n*inner + k*inner + i, and inner is the axis stride. The output is
     * contiguous with x's shape, so it shares the offsets. */
    int64_t n = x->shape[axis], inner = x->strides[axis];
    int64_t outer = x->numel / (n * inner); /* numel > 0 here, so n, inner >= 1 */
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            int64_t start = o * n * inner + i;
            tg_store(out, start + first_max(x, start, n, inner) * inner, 1.0);
        }
    }
}
const tg_op tg_op_argmax_mask = {"argmax_mask", 1, argmax_mask_forward, NULL};

tg_tensor *tg_argmax_mask(tg_tensor *x, int axis) {
    const char *function = "tg_argmax_mask";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = TG_ALL_AXES, attrs.n_ints = 1;
    if (axis != TG_ALL_AXES) {
        int normalized;
        if (tgi_normalize_axis(function, x, axis, &normalized) != TG_OK) return NULL;
        attrs.ints[0] = normalized;
    }
    return tgi_apply_unary(function, &tg_op_argmax_mask, x, &attrs);
}

/* ---- argmax: the index of the first maximum along an axis, as int64 ----
 * The same choice as argmax_mask (first maximum; a NaN counts as the
 * largest), written as the position along the axis, with the axis dropped
 * from the shape (the flat index, rank 0, for TG_ALL_AXES). */
static void argmax_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0];
    int64_t *out = node->output->data;
    int axis = (int)node->attrs.ints[0];
    if (axis == TG_ALL_AXES) {
        out[0] = first_max(x, 0, x->numel, 1);
        return;
    }
    /* (outer, n, inner) as in argmax_mask; output element o * inner + i. */
    int64_t n = x->shape[axis], inner = x->strides[axis];
    int64_t outer = node->output->numel / inner;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) out[o * inner + i] = first_max(x, o * n * inner + i, n, inner);
}
const tg_op tg_op_argmax = {"argmax", 1, argmax_forward, NULL};

tg_tensor *tg_argmax(tg_tensor *x, int axis) {
    const char *function = "tg_argmax";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.ints[0] = TG_ALL_AXES, attrs.n_ints = 1;
    if (axis == TG_ALL_AXES) {
        if (x->numel == 0) {
            tg_error_report(TG_ERR_SHAPE, function, "x is empty: an empty tensor has no maximum");
            return NULL;
        }
        return tg_op_apply_with_integers(&tg_op_argmax, &x, 1, &attrs, 1, TG_I64, 0, NULL);
    }
    int a;
    if (tgi_normalize_axis(function, x, axis, &a) != TG_OK) return NULL;
    if (x->shape[a] == 0) {
        char text[160];
        tg_error_report(TG_ERR_SHAPE, function, "axis %d of shape %s is empty: it has no maximum", axis,
                        tg_shape_string(text, sizeof text, x->rank, x->shape));
        return NULL;
    }
    attrs.ints[0] = a;
    int64_t shape[TG_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != a) shape[rank++] = x->shape[d];
    return tg_op_apply_with_integers(&tg_op_argmax, &x, 1, &attrs, 1, TG_I64, rank, shape);
}
