/* Tests of the unary ops (ops/unary.c) and the masks (ops/masks.c):
 * forward values in float32 and float64, gradients through tg_backward, and
 * the errors they report.
 *
 * Expected numbers are hand calculations, except the transcendental ones
 * (e, tanh 0.5, sigmoid 1, ...), which were printed with Python's math
 * module, an implementation independent of this library. float32 results are
 * computed in double and rounded once, so they must agree to float32's
 * relative precision; float64 to a few ulps. */
#include <float.h>
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype both_dtypes[] = {TG_F32, TG_F64};

/* Relative tolerance (absolute below 1): float32 rounds once (2^-24 ~ 6e-8),
 * with slack; float64 allows a few ulps of libm error. */
static double tolerance(tg_dtype dtype) { return dtype == TG_F32 ? 1e-6 : 1e-13; }

/* A persistent 1-D tensor of n values. */
static tg_tensor *vector(tg_dtype dtype, int64_t n, const double *values) { return make(dtype, 1, &n, values); }

/* The same, marked as a parameter so that ops on it are recorded. */
static tg_tensor *parameter(tg_dtype dtype, int64_t n, const double *values) { return param(dtype, 1, &n, values); }

/* Checks every element of t (flat order) against want; a NaN in want means
 * the element must be NaN. */
static void expect_near(const tg_tensor *t, int64_t n, const double *want, const char *what) {
    cr_assert_not_null(t, "%s: result is NULL", what);
    cr_assert_eq(t->numel, n, "%s: %lld elements, expected %lld", what, (long long)t->numel, (long long)n);
    double tol = tolerance(t->dtype);
    for (int64_t i = 0; i < n; i++) {
        double got = tg_get_flat(t, i);
        if (isnan(want[i])) {
            cr_expect(isnan(got), "%s (%s) [%lld]: got %.17g, expected NaN", what, tg_dtype_name(t->dtype),
                      (long long)i, got);
            continue;
        }
        double scale = fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0;
        cr_expect(fabs(got - want[i]) <= tol * scale, "%s (%s) [%lld]: got %.17g, expected %.17g", what,
                  tg_dtype_name(t->dtype), (long long)i, got, want[i]);
    }
}

/* Runs `op` on a fresh tensor of `n` inputs in both dtypes and checks the output. */
#define EXPECT_FORWARD(call, n, inputs, expected)                                      \
    do {                                                                               \
        for (int d_ = 0; d_ < 2; d_++) {                                               \
            tg_tensor *x = vector(both_dtypes[d_], (n), (inputs));                     \
            tg_tensor *y = (call);                                                     \
            expect_near(y, (n), (expected), #call);                                    \
            cr_expect_eq(y->dtype, both_dtypes[d_], #call ": dtype changed");          \
            cr_expect(tg_same_shape(x, y), #call ": shape changed");                   \
            tg_tape_reset(tg_tape_current());                                          \
            tg_free(x);                                                                \
        }                                                                              \
    } while (0)

/* d/dx sum(call) at `inputs`, in both dtypes, compared with `expected`. */
#define EXPECT_GRADIENT(call, n, inputs, expected)                                     \
    do {                                                                               \
        for (int d_ = 0; d_ < 2; d_++) {                                               \
            tg_tensor *x = parameter(both_dtypes[d_], (n), (inputs));                  \
            tg_tensor *loss = tg_sum(call);                                            \
            cr_assert_not_null(loss, #call ": forward failed");                        \
            cr_assert_eq(tg_backward(loss, NULL), TG_OK, #call ": backward failed");   \
            expect_near(tg_grad(x), (n), (expected), "d/dx sum(" #call ")");           \
            tg_tape_reset(tg_tape_current());                                          \
            tg_free(x);                                                                \
        }                                                                              \
    } while (0)

/* ================= forward values ================= */

Test(unary_forward, add_scalar) {
    double in[] = {1.0, -2.5, 0.0}, want[] = {2.5, -1.0, 1.5};
    EXPECT_FORWARD(tg_add_scalar(x, 1.5), 3, in, want);
}

Test(unary_forward, mul_scalar) {
    double in[] = {1.0, -2.5, 0.0}, want[] = {-2.0, 5.0, 0.0};
    EXPECT_FORWARD(tg_mul_scalar(x, -2.0), 3, in, want);
}

Test(unary_forward, pow_integer_exponent_keeps_sign) {
    /* 2^3 = 8, (-1)^3 = -1, 0.5^3 = 0.125, 0^3 = 0 */
    double in[] = {2.0, -1.0, 0.5, 0.0}, want[] = {8.0, -1.0, 0.125, 0.0};
    EXPECT_FORWARD(tg_pow(x, 3.0), 4, in, want);
}

Test(unary_forward, pow_fractional_exponent) {
    /* x^0.5 = sqrt x; a negative base has no real power: NaN */
    double in[] = {4.0, 9.0, -4.0}, want[] = {2.0, 3.0, NAN};
    EXPECT_FORWARD(tg_pow(x, 0.5), 3, in, want);
}

Test(unary_forward, neg) {
    double in[] = {1.0, -2.0, 0.0}, want[] = {-1.0, 2.0, 0.0};
    EXPECT_FORWARD(tg_neg(x), 3, in, want);
}

Test(unary_forward, exp) {
    double in[] = {0.0, 1.0, -1.0}, want[] = {1.0, 2.718281828459045, 0.36787944117144233};
    EXPECT_FORWARD(tg_exp(x), 3, in, want);
}

/* ---- the vectorized functions (ops/kernels/vmath.h) against libm ----
 * A sweep of 400,000 points across each function's range, through the
 * public ops (so through whichever kernel version the CPU runs), compared
 * with libm in double. The error is counted in units in the last place of
 * the result's type; the limits are those vmath.h documents plus one ulp of
 * slack (measured worst: expf 0.97, logf 0.78, tanhf 1.27, sigmoid 2.08,
 * float64 exp 2.00 — against libm, itself up to half an ulp off). */

typedef tg_tensor *(*unary_op)(tg_tensor *);
typedef double (*reference_fn)(double);

/* 1 / (1 + e^-x), as e^x / (1 + e^x) below 0 so that e^-x cannot overflow. */
static double reference_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* ulps of `got` from the exact `want`, in the spacing of dtype at want. */
static double ulps(double got, double want, tg_dtype dtype) {
    if (got == want) return 0.0;
    if (isnan(want)) return isnan(got) ? 0.0 : INFINITY;
    if (isinf(want) || isinf(got)) return INFINITY;
    int e;
    frexp(want, &e);
    int min_exp = dtype == TG_F32 ? -125 : -1021, digits = dtype == TG_F32 ? 24 : 53;
    if (e < min_exp) e = min_exp; /* subnormal results: spacing of the smallest normals */
    return fabs(got - want) / ldexp(1.0, e - digits);
}

static void sweep(unary_op op, reference_fn ref, tg_dtype dtype, double lo, double hi, double max_ulps,
                  const char *what) {
    const int64_t n = 400000;
    tg_tensor *x = tg_zeros(dtype, 1, &n);
    uint64_t state = 12345;
    for (int64_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(state >> 11) / (double)(1ull << 53);
        tg_set_flat(x, i, lo + (hi - lo) * u); /* rounded to dtype: ref sees the same x */
    }
    tg_tensor *y = op(x);
    cr_assert_not_null(y, "%s: %s", what, tg_last_error_message());
    double worst = 0.0, worst_x = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double xi = tg_get_flat(x, i), want = ref(xi);
        if (dtype == TG_F32 && fabs(want) > FLT_MAX) continue; /* overflows float: checked below */
        double err = ulps(tg_get_flat(y, i), want, dtype);
        if (err > worst) worst = err, worst_x = xi;
    }
    cr_assert(worst <= max_ulps, "%s %s: %.2f ulps at x = %.17g (limit %.1f)", what, tg_dtype_name(dtype), worst,
              worst_x, max_ulps);
    reset_tape();
    tg_free(x);
}

Test(unary_forward, vectorized_functions_match_libm_across_their_range) {
    sweep(tg_exp, exp, TG_F32, -103.0, 88.7, 2.0, "exp");
    sweep(tg_exp, exp, TG_F32, -1.0, 1.0, 2.0, "exp near 0");
    sweep(tg_log, log, TG_F32, 1e-37, 1e3, 2.0, "log");
    sweep(tg_log, log, TG_F32, 0.5, 2.0, 2.0, "log near 1");
    sweep(tg_tanh, tanh, TG_F32, -10.0, 10.0, 2.0, "tanh");
    sweep(tg_tanh, tanh, TG_F32, -0.01, 0.01, 2.0, "tanh near 0");
    sweep(tg_sigmoid, reference_sigmoid, TG_F32, -90.0, 30.0, 4.0, "sigmoid");
    sweep(tg_exp, exp, TG_F64, -745.0, 709.7, 3.0, "exp");
    sweep(tg_exp, exp, TG_F64, -1e-3, 1e-3, 3.0, "exp near 0");
    sweep(tg_sigmoid, reference_sigmoid, TG_F64, -740.0, 40.0, 4.0, "sigmoid");
}

Test(unary_forward, vectorized_exp_edges) {
    /* Overflow, underflow to subnormals and to zero, infinities, NaN, -0. */
    const double in[] = {709.78, 710.0, -708.0, -744.5, -745.2, -746.0, INFINITY, -INFINITY, NAN, -0.0};
    const int64_t n = (int64_t)(sizeof in / sizeof in[0]);
    tg_tensor *x = make(TG_F64, 1, &n, in);
    tg_tensor *y = tg_exp(x);
    for (int64_t i = 0; i < n; i++) {
        double got = tg_get_flat(y, i), want = exp(in[i]);
        if (isnan(want))
            cr_assert(isnan(got), "exp(%g) = %g, want NaN", in[i], got);
        else
            cr_assert(got == want || fabs(got - want) <= 3 * DBL_EPSILON * fabs(want) ||
                          (fabs(want) < DBL_MIN && fabs(got - want) <= 5e-324),
                      "exp(%.17g) = %.17g, want %.17g", in[i], got, want);
    }
    const int64_t one = 1;
    tg_tensor *xf = make(TG_F32, 1, &one, (double[]){89.0}); /* past float's range */
    cr_assert(isinf(tg_get_flat(tg_exp(xf), 0)), "expf(89) must overflow to inf");
    reset_tape();
    tg_free(x);
    tg_free(xf);
}

Test(unary_forward, log) {
    /* ln 1 = 0, ln e = 1, ln 0.5 = -ln 2, ln 0 = -inf checked apart */
    double in[] = {1.0, 2.718281828459045, 0.5}, want[] = {0.0, 1.0, -0.6931471805599453};
    EXPECT_FORWARD(tg_log(x), 3, in, want);
}

Test(unary_forward, log_of_zero_is_minus_infinity) {
    for (int d = 0; d < 2; d++) {
        double in[] = {0.0};
        tg_tensor *x = vector(both_dtypes[d], 1, in);
        tg_tensor *y = tg_log(x);
        cr_assert_not_null(y);
        cr_expect(isinf(tg_item(y)) && tg_item(y) < 0, "ln 0 = %g", tg_item(y));
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

Test(unary_forward, sqrt) {
    double in[] = {0.0, 4.0, 2.0}, want[] = {0.0, 2.0, 1.4142135623730951};
    EXPECT_FORWARD(tg_sqrt(x), 3, in, want);
}

Test(unary_forward, abs) {
    double in[] = {-3.0, 0.0, 2.5}, want[] = {3.0, 0.0, 2.5};
    EXPECT_FORWARD(tg_abs(x), 3, in, want);
}

Test(unary_forward, tanh) {
    /* tanh is odd: tanh(-0.5) = -tanh(0.5) */
    double in[] = {0.0, 0.5, -0.5}, want[] = {0.0, 0.46211715726000974, -0.46211715726000974};
    EXPECT_FORWARD(tg_tanh(x), 3, in, want);
}

Test(unary_forward, relu_at_negative_zero_and_positive) {
    double in[] = {-1.0, 0.0, 2.0}, want[] = {0.0, 0.0, 2.0};
    EXPECT_FORWARD(tg_relu(x), 3, in, want);
}

Test(unary_forward, relu_propagates_nan) {
    double in[] = {NAN}, want[] = {NAN};
    EXPECT_FORWARD(tg_relu(x), 1, in, want);
}

Test(unary_forward, sigmoid_values) {
    /* s(0) = 1/2; s(1) = 1/(1+e^-1); s(-1) = 1 - s(1) */
    double in[] = {0.0, 1.0, -1.0}, want[] = {0.5, 0.7310585786300049, 0.2689414213699951};
    EXPECT_FORWARD(tg_sigmoid(x), 3, in, want);
}

Test(unary_forward, sigmoid_is_finite_in_both_tails) {
    /* One formula for both tails fails: e^x/(1+e^x) at x = 1000 is inf/inf =
     * NaN, and 1/(1+e^-x) at x = -1000 only survives because 1/inf = 0. The
     * stable split must give exactly 0 and 1, both finite. */
    double in[] = {-1000.0, 1000.0}, want[] = {0.0, 1.0};
    EXPECT_FORWARD(tg_sigmoid(x), 2, in, want);
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = vector(both_dtypes[d], 2, in);
        tg_tensor *y = tg_sigmoid(x);
        cr_assert_not_null(y);
        cr_expect(isfinite(tg_get_flat(y, 0)) && isfinite(tg_get_flat(y, 1)));
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

Test(unary_forward, clamp) {
    /* bounds [-1, 1]: below, inside, above, and exactly on each bound */
    double in[] = {-2.0, 0.5, 3.0, -1.0, 1.0}, want[] = {-1.0, 0.5, 1.0, -1.0, 1.0};
    EXPECT_FORWARD(tg_clamp(x, -1.0, 1.0), 5, in, want);
}

Test(unary_forward, clamp_one_sided_and_nan) {
    /* hi = +inf clamps from below only; a NaN element stays NaN */
    double in[] = {-5.0, 7.0, NAN}, want[] = {0.0, 7.0, NAN};
    EXPECT_FORWARD(tg_clamp(x, 0.0, INFINITY), 3, in, want);
}

Test(unary_forward, clamp_with_equal_bounds) {
    double in[] = {-5.0, 2.0, 7.0}, want[] = {2.0, 2.0, 2.0};
    EXPECT_FORWARD(tg_clamp(x, 2.0, 2.0), 3, in, want);
}

Test(unary_forward, keeps_a_2d_shape) {
    int64_t shape[] = {2, 3};
    double in[] = {-1, 2, -3, 4, -5, 6}, want[] = {0, 2, 0, 4, 0, 6};
    tg_tensor *x = tg_from_doubles(TG_F32, 2, shape, in);
    tg_tensor *y = tg_relu(x);
    cr_assert_not_null(y);
    cr_expect(tg_same_shape(x, y));
    expect_near(y, 6, want, "relu (2,3)");
    tg_tape_reset(tg_tape_current());
    tg_free(x);
}

/* ================= masks ================= */

Test(masks, gt_scalar) {
    double in[] = {-1.0, 0.0, 1.0, NAN}, want[] = {0.0, 0.0, 1.0, 0.0};
    EXPECT_FORWARD(tg_gt_scalar(x, 0.0), 4, in, want);
}

Test(masks, lt_scalar) {
    double in[] = {-1.0, 0.0, 1.0, NAN}, want[] = {1.0, 0.0, 0.0, 0.0};
    EXPECT_FORWARD(tg_lt_scalar(x, 0.0), 4, in, want);
}

Test(masks, sign) {
    double in[] = {-3.0, 0.0, -0.0, 2.0, NAN}, want[] = {-1.0, 0.0, 0.0, 1.0, NAN};
    EXPECT_FORWARD(tg_sign(x), 5, in, want);
}

/* x = [[1, 3, 3],
 *      [5, 3, 5]]  ties in row 0 (3, 3), row 1 (5, 5) and column 1 (3, 3). */
static const double argmax_input[] = {1, 3, 3, 5, 3, 5};

static void expect_argmax(int axis, const double *want, const char *what) {
    int64_t shape[] = {2, 3};
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = tg_from_doubles(both_dtypes[d], 2, shape, argmax_input);
        tg_tensor *m = tg_argmax_mask(x, axis);
        cr_assert_not_null(m, "%s", what);
        cr_expect(tg_same_shape(x, m), "%s: shape changed", what);
        cr_expect_eq(m->dtype, x->dtype, "%s: dtype changed", what);
        expect_near(m, 6, want, what);
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

Test(masks, argmax_mask_along_rows_picks_first_of_ties) {
    /* row 0: max 3 at columns 1 and 2 -> column 1; row 1: 5 at 0 and 2 -> 0 */
    double want[] = {0, 1, 0, 1, 0, 0};
    expect_argmax(1, want, "argmax_mask axis 1");
    expect_argmax(-1, want, "argmax_mask axis -1");
}

Test(masks, argmax_mask_along_columns_picks_first_of_ties) {
    /* columns (1,5) -> row 1; (3,3) -> row 0; (3,5) -> row 1 */
    double want[] = {0, 1, 0, 1, 0, 1};
    expect_argmax(0, want, "argmax_mask axis 0");
    expect_argmax(-2, want, "argmax_mask axis -2");
}

Test(masks, argmax_mask_over_all_elements_picks_first_in_flat_order) {
    /* 5 occurs at flat 3 and 5 -> flat 3 */
    double want[] = {0, 0, 0, 1, 0, 0};
    expect_argmax(TG_ALL_AXES, want, "argmax_mask all");
}

Test(masks, argmax_mask_of_a_scalar_is_one) {
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = tg_scalar(both_dtypes[d], -7.0);
        tg_tensor *m = tg_argmax_mask(x, TG_ALL_AXES);
        cr_assert_not_null(m);
        cr_expect_eq(m->rank, 0);
        cr_expect_eq(tg_item(m), 1.0);
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

Test(masks, argmax_mask_along_the_middle_axis_of_3d) {
    /* shape (2,2,2): x[o][k][i]; along axis 1 compare x[o][0][i] with x[o][1][i]
     * o=0: i=0: 1 vs 4 -> k=1; i=1: 9 vs 2 -> k=0
     * o=1: i=0: 6 vs 6 -> k=0 (tie); i=1: -1 vs 0 -> k=1 */
    int64_t shape[] = {2, 2, 2};
    double in[] = {1, 9, 4, 2, 6, -1, 6, 0}, want[] = {0, 1, 1, 0, 1, 0, 0, 1};
    tg_tensor *x = tg_from_doubles(TG_F64, 3, shape, in);
    expect_near(tg_argmax_mask(x, 1), 8, want, "argmax_mask (2,2,2) axis 1");
    tg_tape_reset(tg_tape_current());
    tg_free(x);
}

Test(masks, argmax_mask_marks_the_first_nan) {
    /* As numpy.argmax: a NaN is the maximum, so max's gradient reaches it. */
    double in[] = {1.0, NAN, 5.0, NAN}, want[] = {0, 1, 0, 0};
    tg_tensor *x = vector(TG_F64, 4, in);
    expect_near(tg_argmax_mask(x, 0), 4, want, "argmax_mask with NaN");
    tg_tape_reset(tg_tape_current());
    tg_free(x);
}

Test(masks, are_not_recorded) {
    /* Masks have no backward: their outputs carry no gradient even when x does. */
    double in[] = {-1.0, 2.0};
    tg_tensor *x = parameter(TG_F64, 2, in);
    size_t before = tg_tape_num_nodes(tg_tape_current());
    tg_tensor *masks[] = {tg_gt_scalar(x, 0.0), tg_lt_scalar(x, 0.0), tg_sign(x), tg_argmax_mask(x, 0)};
    for (int i = 0; i < 4; i++) {
        cr_assert_not_null(masks[i]);
        cr_expect(!masks[i]->requires_grad, "mask %d requires a gradient", i);
        cr_expect_null(masks[i]->node, "mask %d was recorded", i);
    }
    cr_expect_eq(tg_tape_num_nodes(tg_tape_current()), before);
    tg_tape_reset(tg_tape_current());
    tg_free(x);
}

/* ================= gradients (d/dx of sum(f(x))) ================= */

Test(unary_backward, add_scalar_passes_the_gradient) {
    double in[] = {1.0, -2.0}, want[] = {1.0, 1.0};
    EXPECT_GRADIENT(tg_add_scalar(x, 3.0), 2, in, want);
}

Test(unary_backward, mul_scalar_scales_by_c) {
    double in[] = {1.0, -2.0}, want[] = {-3.0, -3.0};
    EXPECT_GRADIENT(tg_mul_scalar(x, -3.0), 2, in, want);
}

Test(unary_backward, pow_cubed) {
    /* d x^3 = 3x^2: 3*4 = 12, 3*1 = 3, 3*0 = 0 */
    double in[] = {2.0, -1.0, 0.0}, want[] = {12.0, 3.0, 0.0};
    EXPECT_GRADIENT(tg_pow(x, 3.0), 3, in, want);
}

Test(unary_backward, pow_zero_exponent_has_zero_gradient_even_at_zero) {
    /* x^0 = 1 is constant; 0 * x^-1 would be NaN at x = 0 */
    double in[] = {0.0, 2.0}, want[] = {0.0, 0.0};
    EXPECT_GRADIENT(tg_pow(x, 0.0), 2, in, want);
}

Test(unary_backward, neg) {
    double in[] = {1.0, -2.0}, want[] = {-1.0, -1.0};
    EXPECT_GRADIENT(tg_neg(x), 2, in, want);
}

Test(unary_backward, exp_is_its_own_derivative) {
    double in[] = {0.0, 1.0}, want[] = {1.0, 2.718281828459045};
    EXPECT_GRADIENT(tg_exp(x), 2, in, want);
}

Test(unary_backward, log) {
    /* d ln x = 1/x: 1/2, 1/0.5 */
    double in[] = {2.0, 0.5}, want[] = {0.5, 2.0};
    EXPECT_GRADIENT(tg_log(x), 2, in, want);
}

Test(unary_backward, sqrt) {
    /* d sqrt x = 1/(2 sqrt x): 1/(2*2) = 0.25, 1/(2*0.5) = 1 */
    double in[] = {4.0, 0.25}, want[] = {0.25, 1.0};
    EXPECT_GRADIENT(tg_sqrt(x), 2, in, want);
}

Test(unary_backward, abs_is_zero_at_zero) {
    double in[] = {-2.0, 0.0, 3.0}, want[] = {-1.0, 0.0, 1.0};
    EXPECT_GRADIENT(tg_abs(x), 3, in, want);
}

Test(unary_backward, tanh) {
    /* 1 - tanh(0.5)^2 = 1 - 0.46211715726000974^2; 1 - tanh(0)^2 = 1 */
    double in[] = {0.5, 0.0}, want[] = {0.7864477329659274, 1.0};
    EXPECT_GRADIENT(tg_tanh(x), 2, in, want);
}

Test(unary_backward, relu_is_zero_at_zero_not_half) {
    double in[] = {-1.0, 0.0, 2.0}, want[] = {0.0, 0.0, 1.0};
    EXPECT_GRADIENT(tg_relu(x), 3, in, want);
}

Test(unary_backward, sigmoid) {
    /* s(1-s): 0.5*0.5 = 0.25 at 0; 0.7310585786300049*0.2689414213699951 at 1;
     * 0 in the saturated tails, never NaN */
    double in[] = {0.0, 1.0, -1000.0, 1000.0}, want[] = {0.25, 0.19661193324148185, 0.0, 0.0};
    EXPECT_GRADIENT(tg_sigmoid(x), 4, in, want);
}

Test(unary_backward, clamp_passes_only_strictly_inside) {
    /* bounds [-1, 1]: below, on lo, inside, on hi, above */
    double in[] = {-2.0, -1.0, 0.0, 1.0, 2.0}, want[] = {0.0, 0.0, 1.0, 0.0, 0.0};
    EXPECT_GRADIENT(tg_clamp(x, -1.0, 1.0), 5, in, want);
}

Test(unary_backward, chain_of_unary_ops) {
    /* d/dx exp(2x + 1) = 2 exp(2x + 1); at x = 0: 2e, at x = -0.5: 2 */
    double in[] = {0.0, -0.5}, want[] = {2.0 * 2.718281828459045, 2.0};
    EXPECT_GRADIENT(tg_exp(tg_add_scalar(tg_mul_scalar(x, 2.0), 1.0)), 2, in, want);
}

Test(unary_backward, tanh_second_derivative_through_the_output) {
    /* The rule reuses y = tanh x, so with create_graph the gradient 1 - y^2 is
     * differentiable again: d2/dx2 tanh x = -2 y (1 - y^2).
     * At 0.5: -2 * 0.46211715726000974 * 0.7864477329659274. */
    for (int d = 0; d < 2; d++) {
        double in[] = {0.5};
        tg_tensor *x = parameter(both_dtypes[d], 1, in);
        tg_tensor *first;
        cr_assert_eq(tg_gradients(tg_sum(tg_tanh(x)), NULL, 1, &x, &first, true), TG_OK);
        double want_first[] = {0.7864477329659274};
        expect_near(first, 1, want_first, "d/dx tanh");
        tg_tensor *second;
        cr_assert_eq(tg_gradients(tg_sum(first), NULL, 1, &x, &second, false), TG_OK);
        double want_second[] = {-0.7268619813835873};
        expect_near(second, 1, want_second, "d2/dx2 tanh");
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

Test(unary_backward, sigmoid_and_relu_second_derivatives_through_the_fused_rules) {
    /* Their backward rules are single fused ops (activation_grads.c) with
     * rules of their own: d2/dx2 sigmoid x = y (1 - y)(1 - 2y), at 0.5
     * 0.2350037122015945 * (1 - 2 * 0.6224593312018546); relu's is 0 (and
     * its first derivative 1 at x = 0.5, 0 at x = -0.5). */
    for (int d = 0; d < 2; d++) {
        double in[] = {0.5};
        tg_tensor *x = parameter(both_dtypes[d], 1, in);
        tg_tensor *first, *second;
        cr_assert_eq(tg_gradients(tg_sum(tg_sigmoid(x)), NULL, 1, &x, &first, true), TG_OK);
        expect_near(first, 1, (double[]){0.2350037122015945}, "d/dx sigmoid");
        cr_assert_eq(tg_gradients(tg_sum(first), NULL, 1, &x, &second, false), TG_OK);
        expect_near(second, 1, (double[]){-0.05755679485232076}, "d2/dx2 sigmoid");
        tg_tape_reset(tg_tape_current());
        tg_free(x);

        double two[] = {0.5, -0.5};
        x = parameter(both_dtypes[d], 2, two);
        cr_assert_eq(tg_gradients(tg_sum(tg_mul(tg_relu(x), x)), NULL, 1, &x, &first, true), TG_OK);
        expect_near(first, 2, (double[]){1.0, 0.0}, "d/dx x relu(x)"); /* 2x where x > 0 */
        cr_assert_eq(tg_gradients(tg_sum(first), NULL, 1, &x, &second, false), TG_OK);
        expect_near(second, 2, (double[]){2.0, 0.0}, "d2/dx2 x relu(x)");
        tg_tape_reset(tg_tape_current());
        tg_free(x);
    }
}

/* ================= errors ================= */

Test(unary_errors, clamp_with_lo_above_hi) {
    return_mode();
    tg_tensor *x = tg_scalar(TG_F64, 0.0);
    expect_error(tg_clamp(x, 1.0, -1.0), TG_ERR_ARGUMENT, "tg_clamp");
    tg_free(x);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(unary_errors, clamp_with_a_nan_bound) {
    return_mode();
    tg_tensor *x = tg_scalar(TG_F32, 0.0);
    expect_error(tg_clamp(x, NAN, 1.0), TG_ERR_ARGUMENT, "tg_clamp");
    tg_clear_error();
    expect_error(tg_clamp(x, 0.0, NAN), TG_ERR_ARGUMENT, "tg_clamp");
    tg_free(x);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(unary_errors, non_finite_scalars) {
    return_mode();
    tg_tensor *x = tg_scalar(TG_F64, 2.0);
    expect_error(tg_pow(x, INFINITY), TG_ERR_ARGUMENT, "tg_pow");
    tg_clear_error();
    expect_error(tg_pow(x, NAN), TG_ERR_ARGUMENT, "tg_pow");
    tg_clear_error();
    expect_error(tg_add_scalar(x, NAN), TG_ERR_ARGUMENT, "tg_add_scalar");
    tg_clear_error();
    expect_error(tg_mul_scalar(x, -INFINITY), TG_ERR_ARGUMENT, "tg_mul_scalar");
    tg_clear_error();
    expect_error(tg_gt_scalar(x, NAN), TG_ERR_ARGUMENT, "tg_gt_scalar");
    tg_clear_error();
    expect_error(tg_lt_scalar(x, NAN), TG_ERR_ARGUMENT, "tg_lt_scalar");
    tg_free(x);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(unary_errors, null_input_fails_under_the_op_name) {
    return_mode();
    expect_error(tg_relu(NULL), TG_ERR_ARGUMENT, "tg_relu");
    tg_clear_error();
    expect_error(tg_sigmoid(NULL), TG_ERR_ARGUMENT, "tg_sigmoid");
    tg_clear_error();
    expect_error(tg_sign(NULL), TG_ERR_ARGUMENT, "tg_sign");
    tg_clear_error();
    expect_error(tg_argmax_mask(NULL, 0), TG_ERR_ARGUMENT, "tg_argmax_mask");
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(unary_errors, argmax_mask_axis_out_of_range) {
    return_mode();
    int64_t shape[] = {2, 3};
    tg_tensor *x = tg_zeros(TG_F32, 2, shape);
    expect_error(tg_argmax_mask(x, 2), TG_ERR_AXIS, "tg_argmax_mask");
    tg_clear_error();
    expect_error(tg_argmax_mask(x, -3), TG_ERR_AXIS, "tg_argmax_mask");
    tg_clear_error();
    /* a scalar has no axis 0; only TG_ALL_AXES */
    tg_tensor *s = tg_scalar(TG_F32, 1.0);
    expect_error(tg_argmax_mask(s, 0), TG_ERR_AXIS, "tg_argmax_mask");
    tg_free(s);
    tg_free(x);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(unary_errors, stale_input) {
    return_mode();
    double in[] = {1.0};
    tg_tensor *x = vector(TG_F64, 1, in);
    tg_tensor *y = tg_exp(x);
    cr_assert_not_null(y);
    tg_tape_reset(tg_tape_current());
    expect_error(tg_tanh(y), TG_ERR_TAPE, "tg_tanh");
    tg_free(x);
    tg_set_error_mode(TG_ERRORS_ABORT);
}
