/* tests/nn/test_activations.c — the activations of nn.h (leaky ReLU, SiLU,
 * GELU, softplus, and tg_activate for every tg_activation): forward values
 * against the formulas evaluated independently with math.h, gradients
 * against finite differences (tg_gradcheck, float64 tight and float32 loose),
 * and the values of the derivative at the kinks, where a composition of
 * kinked ops can go wrong. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- reference formulas, plain C ---- */

static double ref_relu(double x) { return x > 0 ? x : 0; }
static double ref_leaky_001(double x) { return x > 0 ? x : 0.01 * x; }
static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_silu(double x) { return x / (1 + exp(-x)); }
/* GELU, exact: x Phi(x) with the normal CDF from math.h's erfc
 * (Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the left tail too). */
static double ref_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
/* The tanh form of GELU (Hendrycks & Gimpel 2016, eq. in section 2;
 * PyTorch's gelu(approximate="tanh")). M_PI is not C11: spell pi out. */
static double ref_gelu_tanh(double x) {
    const double pi = 3.14159265358979323846;
    return 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
}
/* log(1 + e^x) written the other way round from the library: log1p. */
static double ref_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

typedef double (*scalar_fn)(double);

typedef struct elementwise_case {
    const char *name;
    tg_activation activation;
    scalar_fn ref;
    double kink; /* where finite differences are meaningless, or NAN */
} elementwise_case;

static const elementwise_case elementwise_cases[] = {
    {"relu", TG_ACT_RELU, ref_relu, 0.0},
    {"leaky_relu", TG_ACT_LEAKY_RELU, ref_leaky_001, 0.0},
    {"sigmoid", TG_ACT_SIGMOID, ref_sigmoid, NAN},
    {"tanh", TG_ACT_TANH, ref_tanh, NAN},
    {"silu", TG_ACT_SILU, ref_silu, NAN},
    {"gelu", TG_ACT_GELU, ref_gelu, NAN},
    {"softplus", TG_ACT_SOFTPLUS, ref_softplus, NAN},
};
#define N_ELEMENTWISE ((int)(sizeof elementwise_cases / sizeof elementwise_cases[0]))

/* Sample points: a grid over [-6, 6] that includes 0 and both signs. */
static tg_tensor *grid(tg_dtype dtype) { return tg_linspace(dtype, -6.0, 6.0, 49); }

static void assert_close(double got, double want, double rel, double abs_tol, const char *what, double x) {
    cr_assert(fabs(got - want) <= abs_tol + rel * fabs(want), "%s(%.17g): got %.17g, want %.17g", what, x, got,
              want);
}

Test(nn_activations, every_elementwise_activation_matches_its_formula_in_float64) {
    tg_tensor *x = grid(TG_F64);
    for (int c = 0; c < N_ELEMENTWISE; c++) {
        tg_tensor *y = tg_activate(elementwise_cases[c].activation, x);
        cr_assert_not_null(y, "%s", elementwise_cases[c].name);
        cr_assert(tg_same_shape(x, y) && y->dtype == TG_F64, "%s: shape or dtype", elementwise_cases[c].name);
        for (int64_t i = 0; i < x->numel; i++) {
            double xi = tg_get_flat(x, i);
            assert_close(tg_get_flat(y, i), elementwise_cases[c].ref(xi), 1e-13, 1e-15, elementwise_cases[c].name, xi);
        }
    }
    tg_free(x);
    reset_tape();
}

/* float32: the ops round each step to float32; 1e-6 relative covers a few
 * roundings of ~6e-8. */
Test(nn_activations, every_elementwise_activation_matches_its_formula_in_float32) {
    tg_tensor *x = grid(TG_F32);
    for (int c = 0; c < N_ELEMENTWISE; c++) {
        tg_tensor *y = tg_activate(elementwise_cases[c].activation, x);
        cr_assert_not_null(y, "%s", elementwise_cases[c].name);
        cr_assert_eq(y->dtype, TG_F32, "%s keeps float32", elementwise_cases[c].name);
        for (int64_t i = 0; i < x->numel; i++) {
            double xi = tg_get_flat(x, i); /* the float32 grid value, exactly */
            assert_close(tg_get_flat(y, i), elementwise_cases[c].ref(xi), 1e-6, 1e-7, elementwise_cases[c].name, xi);
        }
    }
    tg_free(x);
    reset_tape();
}

Test(nn_activations, direct_functions_equal_their_formulas) {
    const double xs[] = {-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 7.0};
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){7}, xs);
    tg_tensor *leaky = tg_leaky_relu(x, 0.2), *silu = tg_silu(x), *gelu = tg_gelu(x), *softplus = tg_softplus(x);
    tg_tensor *gelu_tanh = tg_gelu_tanh(x);
    for (int i = 0; i < 7; i++) {
        assert_close(tg_get_flat(leaky, i), xs[i] > 0 ? xs[i] : 0.2 * xs[i], 0, 0, "leaky_relu(0.2)", xs[i]);
        assert_close(tg_get_flat(silu, i), ref_silu(xs[i]), 1e-14, 1e-16, "silu", xs[i]);
        assert_close(tg_get_flat(gelu, i), ref_gelu(xs[i]), 1e-13, 1e-16, "gelu", xs[i]);
        assert_close(tg_get_flat(gelu_tanh, i), ref_gelu_tanh(xs[i]), 1e-13, 1e-16, "gelu_tanh", xs[i]);
        assert_close(tg_get_flat(softplus, i), ref_softplus(xs[i]), 1e-14, 1e-16, "softplus", xs[i]);
    }
    /* A few values known by heart: softplus(0) = ln 2, gelu(0) = silu(0) = 0. */
    cr_assert_eq(tg_get_flat(softplus, 3), log(2.0));
    cr_assert_eq(tg_get_flat(gelu, 3), 0.0);
    cr_assert_eq(tg_get_flat(silu, 3), 0.0);
    tg_free(x);
    reset_tape();
}

Test(nn_activations, softmax_activation_is_softmax_along_the_last_axis) {
    const double v[] = {1, 2, 3, -1, 0, 1000};
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){2, 3}, v);
    tg_tensor *y = tg_activate(TG_ACT_SOFTMAX, x);
    for (int r = 0; r < 2; r++) {
        double m = fmax(fmax(v[3 * r], v[3 * r + 1]), v[3 * r + 2]), z = 0;
        for (int c = 0; c < 3; c++) z += exp(v[3 * r + c] - m);
        for (int c = 0; c < 3; c++)
            assert_close(tg_get_flat(y, 3 * r + c), exp(v[3 * r + c] - m) / z, 1e-14, 1e-300, "softmax",
                         v[3 * r + c]);
    }
    tg_free(x);
    reset_tape();
}

/* ---- gradients against finite differences ---- */

typedef struct grad_ctx {
    tg_activation activation;
    tg_dtype dtype;
} grad_ctx;

static tg_tensor *activate_in_dtype(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    const grad_ctx *g = ctx;
    tg_tensor *x = g->dtype == TG_F64 ? inputs[0] : tg_to_dtype(inputs[0], g->dtype);
    return tg_activate(g->activation, x);
}

static void gradcheck_activation(tg_activation activation, double kink, tg_dtype dtype, uint64_t seed,
                                 const char *name) {
    tg_rng rng = tg_rng_seeded(seed);
    int n_avoid = isnan(kink) ? 0 : 1;
    tg_tensor *x = tg_gradcheck_input(&rng, 2, (int64_t[]){3, 4}, -4, 4, n_avoid, &kink, 0.05);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    if (dtype == TG_F32) {
        options.eps = 1e-3;
        options.atol = 2e-3;
        options.rtol = 2e-2;
    } else {
        options.atol = 1e-8;
        options.rtol = 1e-6;
    }
    grad_ctx ctx = {activation, dtype};
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(activate_in_dtype, &ctx, 1, &x, &options, &result), TG_OK, "%s: %s", name,
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s (%s): %s", name, tg_dtype_name(dtype),
              tg_gradcheck_describe(&result, text, sizeof text));
    cr_assert_eq(result.entries_checked, 144, "%s: the full 12x12 Jacobian", name);
    tg_free(x);
}

Test(nn_activations, every_activation_passes_gradcheck_in_float64) {
    for (int c = 0; c < N_ELEMENTWISE; c++)
        gradcheck_activation(elementwise_cases[c].activation, elementwise_cases[c].kink, TG_F64, 10 + (uint64_t)c,
                             elementwise_cases[c].name);
    gradcheck_activation(TG_ACT_SOFTMAX, NAN, TG_F64, 30, "softmax");
}

Test(nn_activations, every_activation_passes_gradcheck_in_float32) {
    for (int c = 0; c < N_ELEMENTWISE; c++)
        gradcheck_activation(elementwise_cases[c].activation, elementwise_cases[c].kink, TG_F32, 40 + (uint64_t)c,
                             elementwise_cases[c].name);
    gradcheck_activation(TG_ACT_SOFTMAX, NAN, TG_F32, 60, "softmax");
}

static tg_tensor *leaky_02(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return tg_leaky_relu(inputs[0], 0.2);
}

Test(nn_activations, leaky_relu_with_a_custom_slope_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(5);
    double kink = 0;
    tg_tensor *x = tg_gradcheck_input(&rng, 1, (int64_t[]){9}, -3, 3, 1, &kink, 0.05);
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(leaky_02, NULL, 1, &x, NULL, &result), TG_OK);
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    tg_free(x);
}

static tg_tensor *gelu_tanh_of(tg_tensor *const *inputs, int n, void *ctx) {
    (void)n;
    tg_dtype dtype = *(const tg_dtype *)ctx;
    return tg_gelu_tanh(dtype == TG_F64 ? inputs[0] : tg_to_dtype(inputs[0], dtype));
}

/* The tanh form is not reached through tg_activate: checked on its own. */
Test(nn_activations, gelu_tanh_passes_gradcheck) {
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = d ? TG_F32 : TG_F64;
        tg_rng rng = tg_rng_seeded(6);
        tg_tensor *x = tg_gradcheck_input(&rng, 1, (int64_t[]){9}, -4, 4, 0, NULL, 0);
        tg_gradcheck_options options = tg_gradcheck_defaults();
        if (d) options.eps = 1e-3, options.atol = 2e-3, options.rtol = 2e-2;
        tg_gradcheck_result result;
        cr_assert_eq(tg_gradcheck(gelu_tanh_of, &dtype, 1, &x, &options, &result), TG_OK);
        char text[512];
        cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
        tg_free(x);
    }
}

/* Positive inputs pass through unchanged, bit for bit, in both dtypes (a
 * factor computed as (1 - slope) + slope could round below 1), and negative
 * ones are slope x as the dtype rounds it. */
Test(nn_activations, leaky_relu_passes_positive_values_exactly) {
    const double xs[] = {1e-30, 0.1, 1.0 / 3.0, 7.25, 1e30, INFINITY, -3.0, -INFINITY};
    tg_dtype dtypes[2] = {TG_F64, TG_F32};
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = tg_from_doubles(dtypes[d], 1, (int64_t[]){8}, xs);
        tg_tensor *y = tg_activate(TG_ACT_LEAKY_RELU, x);
        for (int i = 0; i < 6; i++)
            cr_assert_eq(tg_get_flat(y, i), tg_get_flat(x, i), "%s leaky(%g)", tg_dtype_name(dtypes[d]), xs[i]);
        double slope = dtypes[d] == TG_F64 ? 0.01 : (double)(float)0.01;
        double want = dtypes[d] == TG_F64 ? -3.0 * slope : (double)(float)(-3.0 * slope);
        cr_assert_eq(tg_get_flat(y, 6), want, "%s leaky(-3)", tg_dtype_name(dtypes[d]));
        cr_assert_eq(tg_get_flat(y, 7), -INFINITY);
        tg_free(x);
    }
    reset_tape();
}

/* ---- derivatives at the kinks and far out ---- */

/* d/dx of sum(f(x)) at each x, via tg_gradients on a persistent leaf. */
static void derivative_at(tg_tensor *(*f)(tg_tensor *), const double *xs, int n, double *out) {
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){n}, xs);
    tg_set_requires_grad(x, true);
    tg_tensor *grad;
    cr_assert_eq(tg_gradients(tg_sum(f(x)), NULL, 1, &x, &grad, false), TG_OK, "%s", tg_last_error_message());
    tg_copy_to_doubles(grad, out);
    tg_free(x);
    reset_tape();
}

static tg_tensor *softplus_fn(tg_tensor *x) { return tg_softplus(x); }
static tg_tensor *leaky_fn(tg_tensor *x) { return tg_leaky_relu(x, 0.1); }

/* softplus' = sigmoid everywhere, also at 0 where relu(x) + log(1 + e^-|x|)
 * built from relu and abs would give 0 instead of 1/2. */
Test(nn_activations, softplus_gradient_is_sigmoid_also_at_zero) {
    const double xs[] = {-5, -1e-300, 0, 1e-300, 0.5, 5};
    double d[6];
    derivative_at(softplus_fn, xs, 6, d);
    cr_assert_eq(d[2], 0.5, "softplus'(0) = sigmoid(0) = 1/2, got %.17g", d[2]);
    for (int i = 0; i < 6; i++)
        assert_close(d[i], ref_sigmoid(xs[i]), 1e-15, 1e-17, "softplus'", xs[i]);
}

/* Far out: e^ never sees a positive argument, so values and gradients stay
 * finite and exact: softplus(1000) = 1000 with slope 1, softplus(-1000) = 0
 * with slope 0. */
Test(nn_activations, softplus_is_finite_at_plus_minus_1000) {
    const double xs[] = {-1000, 1000, -1e6, 1e6};
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){4}, xs);
    tg_tensor *y = tg_softplus(x);
    cr_assert_eq(tg_get_flat(y, 0), 0.0);
    cr_assert_eq(tg_get_flat(y, 1), 1000.0);
    cr_assert_eq(tg_get_flat(y, 2), 0.0);
    cr_assert_eq(tg_get_flat(y, 3), 1e6);
    tg_free(x);
    reset_tape();
    double d[4];
    derivative_at(softplus_fn, xs, 4, d);
    cr_assert(d[0] == 0.0 && d[1] == 1.0 && d[2] == 0.0 && d[3] == 1.0, "slopes %g %g %g %g", d[0], d[1], d[2], d[3]);
}

/* SiLU and GELU tend to 0 at -inf, and so do their slopes: the limits are
 * the values there (x sigmoid(x) as -inf * 0 gave NaN, PyTorch's too).
 * Deep in the left tail (-1e300, where a cube overflows) both are 0 too.
 * Far right they are x with slope 1. */
static tg_tensor *silu_fn(tg_tensor *x) { return tg_silu(x); }
static tg_tensor *gelu_fn(tg_tensor *x) { return tg_gelu(x); }
Test(nn_activations, silu_and_gelu_are_zero_with_zero_slope_at_minus_infinity) {
    const double xs[] = {-INFINITY, -1e300, -60, 50};
    tg_tensor *(*const fns[])(tg_tensor *) = {silu_fn, gelu_fn};
    for (int f = 0; f < 2; f++) {
        for (int d = 0; d < 2; d++) {
            tg_tensor *x = tg_from_doubles(d ? TG_F32 : TG_F64, 1, (int64_t[]){4}, xs);
            tg_tensor *y = fns[f](x);
            cr_assert(tg_get_flat(y, 0) == 0.0 && tg_get_flat(y, 1) == 0.0, "f%d(-inf) = %g, f(-1e300) = %g", f,
                      tg_get_flat(y, 0), tg_get_flat(y, 1));
            cr_assert_eq(tg_get_flat(y, 3), 50.0);
            tg_free(x);
            reset_tape();
        }
        double slope[4];
        derivative_at(fns[f], xs, 4, slope);
        cr_assert(slope[0] == 0.0 && slope[1] == 0.0 && fabs(slope[2]) < 1e-20 && slope[3] == 1.0,
                  "f%d slopes %g %g %g %g", f, slope[0], slope[1], slope[2], slope[3]);
    }
}

/* Leaky ReLU "x if x > 0 else slope x": slope at 0 and below, 1 above. */
Test(nn_activations, leaky_relu_gradient_is_slope_at_and_below_zero) {
    const double xs[] = {-2, 0, 3};
    double d[3];
    derivative_at(leaky_fn, xs, 3, d);
    cr_assert(d[0] == 0.1 && d[1] == 0.1 && d[2] == 1.0, "slopes %g %g %g", d[0], d[1], d[2]);
}

Test(nn_activations, activations_do_not_record_when_nothing_needs_a_gradient) {
    tg_tensor *x = grid(TG_F64);
    tg_tape *tape = tg_tape_current();
    for (int c = 0; c < N_ELEMENTWISE; c++) cr_assert_not_null(tg_activate(elementwise_cases[c].activation, x));
    cr_assert_eq(tg_tape_num_nodes(tape), 0, "nothing requires a gradient, nothing is recorded");
    tg_free(x);
    reset_tape();
}

/* ---- errors ---- */

Test(nn_activations, bad_arguments_are_reported_by_name) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_tensor *x = grid(TG_F64);
    cr_assert_null(tg_activate((tg_activation)99, x));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_activate"), "%s", tg_last_error_message());
    cr_assert_null(tg_leaky_relu(x, NAN));
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_leaky_relu"), "%s", tg_last_error_message());
    cr_assert_null(tg_leaky_relu(x, INFINITY));
    /* A NULL input (an earlier failure) fails too, in every activation. */
    cr_assert_null(tg_silu(NULL));
    cr_assert_null(tg_gelu(NULL));
    cr_assert_null(tg_softplus(NULL));
    cr_assert_null(tg_leaky_relu(NULL, 0.1));
    for (int c = 0; c < N_ELEMENTWISE; c++) cr_assert_null(tg_activate(elementwise_cases[c].activation, NULL));
    tg_free(x);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}
