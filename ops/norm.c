/* ops/norm.c — layer, batch and group normalization.
 *
 * All three normalize x seen as (A, B, D): for each b, the A * D elements
 * (a, b, d) get  y = (x - mean) r,  r = 1 / sqrt(var + eps), var biased.
 * Layer norm is (1, rows, row length), batch norm (N, C, spatial), group
 * norm (1, N * groups, C / groups * spatial); the affine part (weight,
 * bias) is a broadcasting mul and add around it. Two fused ops do the work:
 *   normalize(x)          = y
 *   normalize_grad(g, x)  = r (g - M(g) - y M(g y))        (its backward)
 * with M the mean over a group, kept as a size-1 axis that broadcasts back.
 * normalize_grad is an op with a rule of its own, so gradients of gradients
 * flow. Its Jacobian in g is r (I - 11'/n - y y'/n), symmetric, so
 *   d/dg = normalize_grad(G, x)
 *   d/dx = -r^2 [ y (M(G g) - M(G) M(g) - 3 M(g y) M(G y))
 *                 + M(G y) (g - M(g)) + M(g y) (G - M(G)) ]
 * (from dr/dx = -r^3 (x - mean) / n and dM(g (x - mean))/dx = (g - M(g)) / n).
 * The same functions composed from primitive ops (tg_*_composed) are the
 * reference the fused ones are tested equal to. */
#include <math.h>
#include <stdio.h>

#include "ops/norm_internal.h"
#include "ops/op_internal.h"

/* ---- the kernels: (A, B, D) in attrs.ints[0..2], eps in attrs.scalar[0] ---- */

typedef struct norm_layout {
    int64_t a, b, d;
} norm_layout;

static norm_layout layout_of(const tg_node *node) {
    norm_layout l = {node->attrs.ints[0], node->attrs.ints[1], node->attrs.ints[2]};
    return l;
}

#define COLUMN_CHUNK 64 /* groups walked together when D == 1 */

/* Sums in double with four partial sums (shorter dependency chains), as
 * tg_sum does; the group's statistics come from one sum over x and one of
 * squared deviations from the mean (two passes: no cancellation). */
#define DEFINE_NORM_KERNELS(T, SFX)                                                                              \
    TG_HOT_CLONES static double sum_##SFX(const T *restrict p, int64_t n) {                                    \
        double s[4] = {0, 0, 0, 0};                                                                            \
        int64_t j = 0;                                                                                         \
        for (; j + 4 <= n; j += 4)                                                                             \
            for (int k = 0; k < 4; k++) s[k] += (double)p[j + k];                                              \
        for (; j < n; j++) s[0] += (double)p[j];                                                               \
        return (s[0] + s[1]) + (s[2] + s[3]);                                                                  \
    }                                                                                                          \
    TG_HOT_CLONES static double sum_sq_dev_##SFX(const T *restrict p, int64_t n, T mean) {                     \
        double s[4] = {0, 0, 0, 0};                                                                            \
        int64_t j = 0;                                                                                         \
        for (; j + 4 <= n; j += 4)                                                                             \
            for (int k = 0; k < 4; k++) {                                                                      \
                T dev = p[j + k] - mean;                                                                       \
                s[k] += (double)(dev * dev);                                                                   \
            }                                                                                                  \
        for (; j < n; j++) {                                                                                   \
            T dev = p[j] - mean;                                                                               \
            s[0] += (double)(dev * dev);                                                                       \
        }                                                                                                      \
        return (s[0] + s[1]) + (s[2] + s[3]);                                                                  \
    }                                                                                                          \
    /* sum of g * y over a run, y = (x - mean) r recomputed. */                                               \
    TG_HOT_CLONES static double sum_g_y_##SFX(const T *restrict g, const T *restrict x, int64_t n, T mean, T r) { \
        double s[4] = {0, 0, 0, 0};                                                                            \
        int64_t j = 0;                                                                                         \
        for (; j + 4 <= n; j += 4)                                                                             \
            for (int k = 0; k < 4; k++) s[k] += (double)(g[j + k] * ((x[j + k] - mean) * r));                  \
        for (; j < n; j++) s[0] += (double)(g[j] * ((x[j] - mean) * r));                                       \
        return (s[0] + s[1]) + (s[2] + s[3]);                                                                  \
    }                                                                                                          \
    /* Group b's mean and biased variance. */                                                                  \
    static void group_stats_##SFX(const T *x, norm_layout l, int64_t b, double *mean, double *var) {           \
        double n = (double)(l.a * l.d), s = 0, q = 0;                                                          \
        for (int64_t a = 0; a < l.a; a++) s += sum_##SFX(x + (a * l.b + b) * l.d, l.d);                        \
        *mean = s / n;                                                                                         \
        for (int64_t a = 0; a < l.a; a++) q += sum_sq_dev_##SFX(x + (a * l.b + b) * l.d, l.d, (T)*mean);      \
        *var = q / n;                                                                                          \
    }                                                                                                          \
    TG_HOT_CLONES static void normalize_run_##SFX(T *restrict out, const T *restrict x, int64_t n, T mean, T r) { \
        TG_FOR_SIMD(i, 0, n, out[i] = (x[i] - mean) * r);                                                      \
    }                                                                                                          \
    TG_HOT_CLONES static void normalize_grad_run_##SFX(T *restrict out, const T *restrict g, const T *restrict x, \
                                                     int64_t n, T mean, T r, T mean_g, T mean_gy) {            \
        TG_FOR_SIMD(i, 0, n, out[i] = r * ((g[i] - mean_g) - ((x[i] - mean) * r) * mean_gy));                  \
    }                                                                                                          \
    /* D == 1 ((N, C) batch norm): the groups are the columns of an (A, B)                                 \
     * matrix, walked row by row for a chunk of nb <= COLUMN_CHUNK columns from b0. */                       \
    static void column_stats_##SFX(const T *x, norm_layout l, int64_t b0, int64_t nb, double *mean, double *var) { \
        double s[COLUMN_CHUNK] = {0}, q[COLUMN_CHUNK] = {0};                                                   \
        T m[COLUMN_CHUNK];                                                                                     \
        for (int64_t a = 0; a < l.a; a++)                                                                      \
            for (int64_t j = 0; j < nb; j++) s[j] += (double)x[a * l.b + b0 + j];                              \
        for (int64_t j = 0; j < nb; j++) mean[j] = s[j] / (double)l.a, m[j] = (T)mean[j];                      \
        for (int64_t a = 0; a < l.a; a++)                                                                      \
            for (int64_t j = 0; j < nb; j++) {                                                                 \
                T dev = x[a * l.b + b0 + j] - m[j];                                                            \
                q[j] += (double)(dev * dev);                                                                   \
            }                                                                                                  \
        for (int64_t j = 0; j < nb; j++) var[j] = q[j] / (double)l.a;                                          \
    }                                                                                                          \
    static void column_scales_##SFX(const T *x, norm_layout l, int64_t b0, int64_t nb, double eps, T *m, T *r) { \
        double mean[COLUMN_CHUNK], var[COLUMN_CHUNK];                                                          \
        column_stats_##SFX(x, l, b0, nb, mean, var);                                                           \
        for (int64_t j = 0; j < nb; j++) m[j] = (T)mean[j], r[j] = (T)(1.0 / sqrt(var[j] + eps));              \
    }                                                                                                          \
    static void normalize_columns_##SFX(const tg_node *node, int64_t b0, int64_t nb) {                        \
        norm_layout l = layout_of(node);                                                                       \
        const T *x = node->inputs[0]->data;                                                                    \
        T *out = node->output->data, m[COLUMN_CHUNK], r[COLUMN_CHUNK];                                         \
        column_scales_##SFX(x, l, b0, nb, node->attrs.scalar[0], m, r);                                        \
        for (int64_t a = 0; a < l.a; a++)                                                                      \
            for (int64_t j = 0; j < nb; j++) {                                                                 \
                int64_t at = a * l.b + b0 + j;                                                                 \
                out[at] = (x[at] - m[j]) * r[j];                                                               \
            }                                                                                                  \
    }                                                                                                          \
    static void normalize_grad_columns_##SFX(const tg_node *node, int64_t b0, int64_t nb) {                   \
        norm_layout l = layout_of(node);                                                                       \
        const T *g = node->inputs[0]->data, *x = node->inputs[1]->data;                                        \
        T *out = node->output->data, m[COLUMN_CHUNK], r[COLUMN_CHUNK], mg[COLUMN_CHUNK], mgy[COLUMN_CHUNK];    \
        double sg[COLUMN_CHUNK] = {0}, sgy[COLUMN_CHUNK] = {0};                                                \
        column_scales_##SFX(x, l, b0, nb, node->attrs.scalar[0], m, r);                                        \
        for (int64_t a = 0; a < l.a; a++)                                                                      \
            for (int64_t j = 0; j < nb; j++) {                                                                 \
                int64_t at = a * l.b + b0 + j;                                                                 \
                sg[j] += (double)g[at];                                                                        \
                sgy[j] += (double)(g[at] * ((x[at] - m[j]) * r[j]));                                           \
            }                                                                                                  \
        for (int64_t j = 0; j < nb; j++) mg[j] = (T)(sg[j] / (double)l.a), mgy[j] = (T)(sgy[j] / (double)l.a); \
        for (int64_t a = 0; a < l.a; a++)                                                                      \
            for (int64_t j = 0; j < nb; j++) {                                                                 \
                int64_t at = a * l.b + b0 + j;                                                                 \
                out[at] = r[j] * ((g[at] - mg[j]) - ((x[at] - m[j]) * r[j]) * mgy[j]);                        \
            }                                                                                                  \
    }                                                                                                          \
    static void normalize_groups_##SFX(const tg_node *node, int64_t begin, int64_t end) {                     \
        norm_layout l = layout_of(node);                                                                       \
        if (l.d == 1) {                                                                                        \
            for (int64_t b0 = begin; b0 < end; b0 += COLUMN_CHUNK)                                             \
                normalize_columns_##SFX(node, b0, end - b0 < COLUMN_CHUNK ? end - b0 : COLUMN_CHUNK);          \
            return;                                                                                            \
        }                                                                                                      \
        const T *x = node->inputs[0]->data;                                                                    \
        T *out = node->output->data;                                                                           \
        for (int64_t b = begin; b < end; b++) {                                                                \
            double mean, var;                                                                                  \
            group_stats_##SFX(x, l, b, &mean, &var);                                                           \
            T r = (T)(1.0 / sqrt(var + node->attrs.scalar[0]));                                                \
            for (int64_t a = 0; a < l.a; a++) {                                                                \
                int64_t at = (a * l.b + b) * l.d;                                                              \
                normalize_run_##SFX(out + at, x + at, l.d, (T)mean, r);                                        \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
    static void normalize_grad_groups_##SFX(const tg_node *node, int64_t begin, int64_t end) {                \
        norm_layout l = layout_of(node);                                                                       \
        if (l.d == 1) {                                                                                        \
            for (int64_t b0 = begin; b0 < end; b0 += COLUMN_CHUNK)                                             \
                normalize_grad_columns_##SFX(node, b0, end - b0 < COLUMN_CHUNK ? end - b0 : COLUMN_CHUNK);     \
            return;                                                                                            \
        }                                                                                                      \
        const T *g = node->inputs[0]->data, *x = node->inputs[1]->data;                                        \
        T *out = node->output->data;                                                                           \
        double n = (double)(l.a * l.d);                                                                        \
        for (int64_t b = begin; b < end; b++) {                                                                \
            double mean, var, sg = 0, sgy = 0;                                                                 \
            group_stats_##SFX(x, l, b, &mean, &var);                                                           \
            T r = (T)(1.0 / sqrt(var + node->attrs.scalar[0]));                                                \
            for (int64_t a = 0; a < l.a; a++) {                                                                \
                int64_t at = (a * l.b + b) * l.d;                                                              \
                sg += sum_##SFX(g + at, l.d);                                                                  \
                sgy += sum_g_y_##SFX(g + at, x + at, l.d, (T)mean, r);                                         \
            }                                                                                                  \
            for (int64_t a = 0; a < l.a; a++) {                                                                \
                int64_t at = (a * l.b + b) * l.d;                                                              \
                normalize_grad_run_##SFX(out + at, g + at, x + at, l.d, (T)mean, r, (T)(sg / n), (T)(sgy / n)); \
            }                                                                                                  \
        }                                                                                                      \
    }
DEFINE_NORM_KERNELS(float, f32)
DEFINE_NORM_KERNELS(double, f64)

static void normalize_range(void *ctx, int64_t begin, int64_t end) {
    const tg_node *node = ctx;
    if (node->output->dtype == TG_F32)
        normalize_groups_f32(node, begin, end);
    else
        normalize_groups_f64(node, begin, end);
}

static void normalize_grad_range(void *ctx, int64_t begin, int64_t end) {
    const tg_node *node = ctx;
    if (node->output->dtype == TG_F32)
        normalize_grad_groups_f32(node, begin, end);
    else
        normalize_grad_groups_f64(node, begin, end);
}

/* Groups are independent: split over the pool, a group an item. */
static void normalize_forward(const tg_node *node) {
    norm_layout l = layout_of(node);
    tg_parallel_items(l.b, 4.0 * (double)(l.a * l.d), normalize_range, (void *)node);
}

static void normalize_grad_forward(const tg_node *node) {
    norm_layout l = layout_of(node);
    tg_parallel_items(l.b, 8.0 * (double)(l.a * l.d), normalize_grad_range, (void *)node);
}

/* ---- the rules, in ops ---- */

/* t (x's shape) seen as (A, B, D), and the mean over a group of such a view,
 * shape (1, B, 1). */
static tg_tensor *as_groups(tg_tensor *t, norm_layout l) {
    return tg_reshape(t, 3, (int64_t[]){l.a, l.b, l.d});
}
static tg_tensor *group_mean(tg_tensor *t) { return tg_mean_axes(t, 2, (int[]){0, 2}, true); }

static void normalize_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    norm_layout l = layout_of(node);
    grad_inputs[0] = tg_normalize_grad("tg_normalize", grad, node->inputs[0], l.a, l.b, l.d, node->attrs.scalar[0]);
}

/* d/dx of normalize_grad (the header's formula), G the incoming gradient. */
static tg_tensor *normalize_grad_dx(const tg_node *node, tg_tensor *grad) {
    norm_layout l = layout_of(node);
    double eps = node->attrs.scalar[0];
    tg_tensor *x = node->inputs[1];
    tg_tensor *g = as_groups(node->inputs[0], l), *big_g = as_groups(grad, l), *x3 = as_groups(x, l);
    tg_tensor *y = as_groups(tg_normalize("tg_normalize_grad", x, l.a, l.b, l.d, eps), l);
    tg_tensor *centered = tg_sub(x3, group_mean(x3));
    tg_tensor *r2 = tg_pow(tg_add_scalar(group_mean(tg_mul(centered, centered)), eps), -1.0);
    tg_tensor *mean_g = group_mean(g), *mean_big_g = group_mean(big_g);
    tg_tensor *mean_gy = group_mean(tg_mul(g, y)), *mean_big_gy = group_mean(tg_mul(big_g, y));
    tg_tensor *coef = tg_sub(tg_sub(group_mean(tg_mul(big_g, g)), tg_mul(mean_big_g, mean_g)),
                             tg_mul_scalar(tg_mul(mean_gy, mean_big_gy), 3.0));
    tg_tensor *sum = tg_add(tg_add(tg_mul(y, coef), tg_mul(mean_big_gy, tg_sub(g, mean_g))),
                            tg_mul(mean_gy, tg_sub(big_g, mean_big_g)));
    return tg_reshape(tg_neg(tg_mul(r2, sum)), x->rank, x->shape);
}

static void normalize_grad_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    norm_layout l = layout_of(node);
    if (node->inputs[0]->requires_grad)
        grad_inputs[0] =
            tg_normalize_grad("tg_normalize_grad", grad, node->inputs[1], l.a, l.b, l.d, node->attrs.scalar[0]);
    if (node->inputs[1]->requires_grad) grad_inputs[1] = normalize_grad_dx(node, grad);
}

const tg_op tg_op_normalize = {"normalize", 1, normalize_forward, normalize_backward};
const tg_op tg_op_normalize_grad = {"normalize_grad", 2, normalize_grad_forward, normalize_grad_backward};

/* ---- checks shared by the public functions ---- */

static bool is_float(tg_dtype dtype) { return dtype == TG_F32 || dtype == TG_F64; }

static tg_status check_input(const char *function, const tg_tensor *x) {
    tg_status status = tg_tensor_check(function, "x", x);
    if (status != TG_OK) return status;
    if (!is_float(x->dtype))
        return tg_error_report(TG_ERR_DTYPE, function, "x is %s; normalization needs float32 or float64",
                               tg_dtype_name(x->dtype));
    return TG_OK;
}

static tg_status check_eps(const char *function, double eps) {
    if (eps > 0 && isfinite(eps)) return TG_OK;
    return tg_error_report(TG_ERR_ARGUMENT, function, "eps must be finite and > 0 (got %g)", eps);
}

/* An optional tensor argument (`name`): NULL, or x's dtype and this shape. */
static tg_status check_optional(const char *function, const char *name, const tg_tensor *t, const tg_tensor *x,
                                int rank, const int64_t *shape) {
    if (!t) return TG_OK;
    tg_status status = tg_tensor_check(function, name, t);
    if (status != TG_OK) return status;
    if (t->dtype != x->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "%s is %s but x is %s (convert with tg_to_dtype)", name,
                               tg_dtype_name(t->dtype), tg_dtype_name(x->dtype));
    bool same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (same) return TG_OK;
    char got[128], want[128], xs[128];
    tg_shape_string(got, sizeof got, t->rank, t->shape);
    tg_shape_string(want, sizeof want, rank, shape);
    tg_shape_string(xs, sizeof xs, x->rank, x->shape);
    return tg_error_report(TG_ERR_SHAPE, function, "%s has shape %s; x %s needs %s", name, got, xs, want);
}

/* ---- the fused ops' functions ---- */

static tg_tensor *apply_norm_op(const char *function, const tg_op *op, tg_tensor **inputs, int n, int64_t a,
                                int64_t b, int64_t d, double eps) {
    for (int i = 0; i < n; i++)
        if (check_input(function, inputs[i]) != TG_OK) return NULL;
    if (check_eps(function, eps) != TG_OK) return NULL;
    tg_tensor *x = inputs[n - 1];
    if (a < 1 || b < 0 || d < 1 || a * b * d != x->numel || (n == 2 && !tg_shapes_equal(inputs[0], x))) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        tg_error_report(TG_ERR_SHAPE, function, "x %s cannot be seen as groups (%lld, %lld, %lld)%s", xs,
                        (long long)a, (long long)b, (long long)d, n == 2 ? " or g's shape differs" : "");
        return NULL;
    }
    if (n == 2 && inputs[0]->dtype != x->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "g is %s but x is %s", tg_dtype_name(inputs[0]->dtype),
                        tg_dtype_name(x->dtype));
        return NULL;
    }
    tg_op_attrs attrs = tg_no_attrs;
    attrs.ints[0] = a, attrs.ints[1] = b, attrs.ints[2] = d, attrs.n_ints = 3;
    attrs.scalar[0] = eps;
    return tg_op_apply(op, inputs, n, &attrs, x->dtype, x->rank, x->shape);
}

tg_tensor *tg_normalize(const char *function, tg_tensor *x, int64_t a, int64_t b, int64_t d, double eps) {
    return apply_norm_op(function, &tg_op_normalize, &x, 1, a, b, d, eps);
}

tg_tensor *tg_normalize_grad(const char *function, tg_tensor *g, tg_tensor *x, int64_t a, int64_t b, int64_t d,
                             double eps) {
    tg_tensor *inputs[2] = {g, x};
    return apply_norm_op(function, &tg_op_normalize_grad, inputs, 2, a, b, d, eps);
}

/* ---- composed from primitive ops: the reference ---- */

typedef struct composed_norm {
    tg_tensor *y, *mean, *var; /* var biased; mean and var keep the reduced axes as size 1 */
} composed_norm;

static composed_norm normalize_over_axes(tg_tensor *x, int n_axes, const int *axes, double eps) {
    composed_norm c;
    c.mean = tg_mean_axes(x, n_axes, axes, true);
    tg_tensor *centered = tg_sub(x, c.mean);
    c.var = tg_mean_axes(tg_mul(centered, centered), n_axes, axes, true);
    c.y = tg_mul(centered, tg_pow(tg_add_scalar(c.var, eps), -0.5));
    return c;
}

/* ---- layer norm ---- */

static tg_tensor *layer_norm(bool fused, tg_tensor *x, int n_axes, tg_tensor *weight, tg_tensor *bias, double eps) {
    const char *function = "tg_layer_norm";
    if (check_input(function, x) != TG_OK || check_eps(function, eps) != TG_OK) return NULL;
    if (n_axes < 1 || n_axes > x->rank) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        tg_error_report(TG_ERR_AXIS, function, "n_normalized_axes %d outside [1, %d] for x %s", n_axes, x->rank, xs);
        return NULL;
    }
    const int64_t *normalized = x->shape + (x->rank - n_axes);
    if (check_optional(function, "weight", weight, x, n_axes, normalized) != TG_OK ||
        check_optional(function, "bias", bias, x, n_axes, normalized) != TG_OK)
        return NULL;
    int64_t d = 1;
    for (int i = 0; i < n_axes; i++) d *= normalized[i];
    if (d == 0) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        tg_error_report(TG_ERR_SHAPE, function, "x %s: the last %d axes hold no element to normalize over", xs, n_axes);
        return NULL;
    }
    tg_tensor *y;
    if (fused) {
        y = tg_normalize(function, x, 1, x->numel / d, d, eps);
    } else {
        int axes[TG_MAX_RANK];
        for (int i = 0; i < n_axes; i++) axes[i] = x->rank - n_axes + i;
        y = normalize_over_axes(x, n_axes, axes, eps).y;
    }
    if (weight) y = tg_mul(y, weight);
    if (bias) y = tg_add(y, bias);
    return y;
}

tg_tensor *tg_layer_norm(tg_tensor *x, int n_normalized_axes, tg_tensor *weight, tg_tensor *bias, double eps) {
    return layer_norm(true, x, n_normalized_axes, weight, bias, eps);
}

tg_tensor *tg_layer_norm_composed(tg_tensor *x, int n_normalized_axes, tg_tensor *weight, tg_tensor *bias,
                                  double eps) {
    return layer_norm(false, x, n_normalized_axes, weight, bias, eps);
}

/* ---- per-channel tensors of batch and group norm ---- */

/* A (C) tensor shaped (1, C, 1, ...) to broadcast against x (a copy: the
 * in-place updates of a running statistic never reach the tape). */
static tg_tensor *per_channel(tg_tensor *t, const tg_tensor *x) {
    int64_t shape[TG_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = i == 1 ? x->shape[1] : 1;
    return tg_reshape(t, x->rank, shape);
}

static tg_tensor *channel_affine(tg_tensor *y, const tg_tensor *x, tg_tensor *weight, tg_tensor *bias) {
    if (weight) y = tg_mul(y, per_channel(weight, x));
    if (bias) y = tg_add(y, per_channel(bias, x));
    return y;
}

/* x (N, C, ...) with float dtype, eps > 0, weight and bias NULL or (C). */
static tg_status check_channels(const char *function, const tg_tensor *x, const tg_tensor *weight,
                                const tg_tensor *bias, double eps) {
    tg_status status = check_input(function, x);
    if (status == TG_OK) status = check_eps(function, eps);
    if (status != TG_OK) return status;
    if (x->rank < 2) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        return tg_error_report(TG_ERR_SHAPE, function, "x %s has rank %d; needs (N, C) or (N, C, ...)", xs, x->rank);
    }
    status = check_optional(function, "weight", weight, x, 1, &x->shape[1]);
    if (status == TG_OK) status = check_optional(function, "bias", bias, x, 1, &x->shape[1]);
    return status;
}

/* ---- batch norm ---- */

typedef struct running_update {
    const tg_tensor *x;
    tg_tensor *mean, *var;
    norm_layout layout;
    double momentum;
} running_update;

/* running = (1 - momentum) running + momentum batch, var unbiased. */
static void update_channel(running_update *u, int64_t c, double mean, double biased_var) {
    double n = (double)(u->layout.a * u->layout.d), m = u->momentum;
    tg_store(u->mean, c, (1 - m) * tg_load(u->mean, c) + m * mean);
    tg_store(u->var, c, (1 - m) * tg_load(u->var, c) + m * biased_var * n / (n - 1));
}

/* The fused path's statistics, from the normalize kernels' own sums. */
static void update_channels_range(void *ctx, int64_t begin, int64_t end) {
    running_update *u = ctx;
    if (u->layout.d == 1) {
        for (int64_t c0 = begin; c0 < end; c0 += COLUMN_CHUNK) {
            int64_t nc = end - c0 < COLUMN_CHUNK ? end - c0 : COLUMN_CHUNK;
            double mean[COLUMN_CHUNK], var[COLUMN_CHUNK];
            if (u->x->dtype == TG_F32)
                column_stats_f32(u->x->data, u->layout, c0, nc, mean, var);
            else
                column_stats_f64(u->x->data, u->layout, c0, nc, mean, var);
            for (int64_t j = 0; j < nc; j++) update_channel(u, c0 + j, mean[j], var[j]);
        }
        return;
    }
    for (int64_t c = begin; c < end; c++) {
        double mean, var;
        if (u->x->dtype == TG_F32)
            group_stats_f32(u->x->data, u->layout, c, &mean, &var);
        else
            group_stats_f64(u->x->data, u->layout, c, &mean, &var);
        update_channel(u, c, mean, var);
    }
}

static tg_status check_running(const char *function, const tg_tensor *x, const tg_tensor *mean,
                               const tg_tensor *var) {
    if (!mean != !var)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "running_mean is %s but running_var is %s: give both or neither",
                               mean ? "given" : "NULL", var ? "given" : "NULL");
    tg_status status = check_optional(function, "running_mean", mean, x, 1, &x->shape[1]);
    if (status == TG_OK) status = check_optional(function, "running_var", var, x, 1, &x->shape[1]);
    if (status != TG_OK) return status;
    if (mean && (mean->requires_grad || var->requires_grad || mean->tape || var->tape))
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "running_%s is %s: running statistics are persistent buffers, never on the tape",
                               mean->requires_grad || mean->tape ? "mean" : "var",
                               (mean->requires_grad || var->requires_grad) ? "requiring a gradient" : "a tape tensor");
    return TG_OK;
}

/* Evaluation: (x - running_mean) / sqrt(running_var + eps), a per-channel
 * affine map (weight and bias applied by the caller). */
static tg_tensor *batch_norm_eval(tg_tensor *x, tg_tensor *mean, tg_tensor *var, double eps) {
    tg_tensor *scale = tg_pow(tg_add_scalar(var, eps), -0.5);
    return tg_mul(tg_sub(x, per_channel(mean, x)), per_channel(scale, x));
}

static tg_tensor *batch_norm(bool fused, tg_tensor *x, tg_tensor *weight, tg_tensor *bias, tg_tensor *running_mean,
                             tg_tensor *running_var, bool training, double momentum, double eps) {
    const char *function = "tg_batch_norm";
    if (check_channels(function, x, weight, bias, eps) != TG_OK ||
        check_running(function, x, running_mean, running_var) != TG_OK)
        return NULL;
    if (!(momentum >= 0 && momentum <= 1)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "momentum must lie in [0, 1] (got %g)", momentum);
        return NULL;
    }
    norm_layout l = {x->shape[0], x->shape[1], 1};
    for (int i = 2; i < x->rank; i++) l.d *= x->shape[i];
    if (!training && running_mean)
        return channel_affine(batch_norm_eval(x, running_mean, running_var, eps), x, weight, bias);
    if (l.a * l.d <= 1) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        tg_error_report(TG_ERR_SHAPE, function, "x %s has %lld value(s) per channel; batch statistics need more than 1",
                        xs, (long long)(l.a * l.d));
        return NULL;
    }
    bool update = training && running_mean;
    running_update u = {x, running_mean, running_var, l, momentum};
    tg_tensor *y;
    if (fused) {
        y = tg_normalize(function, x, l.a, l.b, l.d, eps);
        if (y && update) tg_parallel_items(l.b, 3.0 * (double)(l.a * l.d), update_channels_range, &u);
    } else {
        int axes[TG_MAX_RANK] = {0};
        for (int i = 2; i < x->rank; i++) axes[i - 1] = i;
        composed_norm c = normalize_over_axes(x, x->rank - 1, axes, eps);
        y = c.y;
        if (y && update)
            for (int64_t ch = 0; ch < l.b; ch++) update_channel(&u, ch, tg_load(c.mean, ch), tg_load(c.var, ch));
    }
    if (y && update) {
        tg_tensor_changed(running_mean);
        tg_tensor_changed(running_var);
    }
    return channel_affine(y, x, weight, bias);
}

tg_tensor *tg_batch_norm(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, tg_tensor *running_mean,
                         tg_tensor *running_var, bool training, double momentum, double eps) {
    return batch_norm(true, x, weight, bias, running_mean, running_var, training, momentum, eps);
}

tg_tensor *tg_batch_norm_composed(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, tg_tensor *running_mean,
                                  tg_tensor *running_var, bool training, double momentum, double eps) {
    return batch_norm(false, x, weight, bias, running_mean, running_var, training, momentum, eps);
}

/* ---- group norm ---- */

static tg_tensor *group_norm(bool fused, tg_tensor *x, int groups, tg_tensor *weight, tg_tensor *bias, double eps) {
    const char *function = "tg_group_norm";
    if (check_channels(function, x, weight, bias, eps) != TG_OK) return NULL;
    int64_t channels = x->shape[1];
    if (groups < 1 || channels % groups != 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "groups %d must be >= 1 and divide the %lld channels", groups,
                        (long long)channels);
        return NULL;
    }
    int64_t d = channels / groups;
    for (int i = 2; i < x->rank; i++) d *= x->shape[i];
    if (d == 0) {
        char xs[128];
        tg_shape_string(xs, sizeof xs, x->rank, x->shape);
        tg_error_report(TG_ERR_SHAPE, function, "x %s: a group holds no element to normalize over", xs);
        return NULL;
    }
    tg_tensor *y;
    if (fused) {
        y = tg_normalize(function, x, 1, x->shape[0] * groups, d, eps);
    } else {
        tg_tensor *grouped = tg_reshape(x, 3, (int64_t[]){x->shape[0], groups, d});
        y = tg_reshape(normalize_over_axes(grouped, 1, (int[]){2}, eps).y, x->rank, x->shape);
    }
    return channel_affine(y, x, weight, bias);
}

tg_tensor *tg_group_norm(tg_tensor *x, int groups, tg_tensor *weight, tg_tensor *bias, double eps) {
    return group_norm(true, x, groups, weight, bias, eps);
}

tg_tensor *tg_group_norm_composed(tg_tensor *x, int groups, tg_tensor *weight, tg_tensor *bias, double eps) {
    return group_norm(false, x, groups, weight, bias, eps);
}
