/* tests/nn/test_layers.c — initializers (statistics over a big seeded tensor,
 * reproducibility), the dense layer (forward = x @ W + b by hand, gradients
 * by gradcheck), activation layers, a user-defined layer, and their errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- initializers ---- */

typedef struct stats {
    double mean, std, min, max;
} stats;

static stats stats_of(const tg_tensor *t) {
    double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < t->numel; i++) {
        double v = tg_get_flat(t, i);
        sum += v;
        sum_sq += v * v;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    double n = (double)t->numel, mean = sum / n;
    return (stats){mean, sqrt(sum_sq / n - mean * mean), lo, hi};
}

#define BIG_ROWS 1000
#define BIG_COLS 1000

/* 10^6 draws: the sample std has a standard error of about std / sqrt(2n) =
 * 0.07% (normal) and the mean one of std / 1000, so 1% on the std and 5
 * standard errors on the mean are safe yet tight. U(-a, a) has std a/sqrt(3);
 * its extremes come within 1e-4 a of the bounds with certainty here. */
static void check_init(tg_init init, tg_dtype dtype, int64_t fan_in, int64_t fan_out, double bound_or_std,
                       bool uniform, const char *what) {
    tg_rng rng = tg_rng_seeded(2024);
    tg_tensor *t = tg_zeros(dtype, 2, (int64_t[]){BIG_ROWS, BIG_COLS});
    cr_assert_eq(tg_init_tensor(t, init, &rng, fan_in, fan_out, 0.0), TG_OK, "%s", what);
    stats s = stats_of(t);
    double std = uniform ? bound_or_std / sqrt(3.0) : bound_or_std;
    cr_assert(fabs(s.std - std) < 0.01 * std, "%s: std %.6g, want %.6g", what, s.std, std);
    cr_assert(fabs(s.mean) < 5 * std / 1000, "%s: mean %.3g", what, s.mean);
    if (uniform) {
        cr_assert(s.min >= -bound_or_std && s.max < bound_or_std, "%s: [%.9g, %.9g] outside [-%.9g, %.9g)", what, s.min,
                  s.max, bound_or_std, bound_or_std);
        cr_assert(s.max > bound_or_std * (1 - 1e-4) && s.min < -bound_or_std * (1 - 1e-4), "%s: range [%.9g, %.9g]",
                  what, s.min, s.max);
    } else {
        /* A normal: about 0.27% of the draws fall beyond 3 std. */
        int64_t beyond = 0;
        for (int64_t i = 0; i < t->numel; i++) beyond += fabs(tg_get_flat(t, i)) > 3 * std;
        cr_assert(beyond > 2000 && beyond < 3400, "%s: %lld draws beyond 3 std", what, (long long)beyond);
    }
    tg_free(t);
}

Test(nn_layers, glorot_uniform_stays_in_its_bounds_with_the_right_spread) {
    check_init(TG_INIT_GLOROT_UNIFORM, TG_F64, 300, 500, sqrt(6.0 / 800), true, "glorot uniform f64");
    check_init(TG_INIT_GLOROT_UNIFORM, TG_F32, 300, 500, sqrt(6.0 / 800), true, "glorot uniform f32");
}

Test(nn_layers, he_uniform_stays_in_its_bounds_with_the_right_spread) {
    check_init(TG_INIT_HE_UNIFORM, TG_F64, 50, 7, sqrt(6.0 / 50), true, "he uniform f64");
    check_init(TG_INIT_HE_UNIFORM, TG_F32, 50, 7, sqrt(6.0 / 50), true, "he uniform f32");
}

Test(nn_layers, normal_initializers_have_the_right_std) {
    check_init(TG_INIT_GLOROT_NORMAL, TG_F64, 300, 500, sqrt(2.0 / 800), false, "glorot normal");
    check_init(TG_INIT_HE_NORMAL, TG_F64, 128, 1, sqrt(2.0 / 128), false, "he normal");
    check_init(TG_INIT_HE_NORMAL, TG_F32, 128, 1, sqrt(2.0 / 128), false, "he normal f32");
}

/* The same seed gives the same values, which are tg_rand_uniform's /
 * tg_rand_normal's draws for the same rng: a layer's weights can be
 * reproduced outside it. */
Test(nn_layers, initializers_are_reproducible_from_the_seed) {
    tg_init inits[] = {TG_INIT_GLOROT_UNIFORM, TG_INIT_HE_NORMAL};
    for (int k = 0; k < 2; k++) {
        tg_rng r1 = tg_rng_seeded(9), r2 = tg_rng_seeded(9), r3 = tg_rng_seeded(9);
        tg_tensor *a = tg_zeros(TG_F32, 2, (int64_t[]){20, 30}), *b = tg_zeros(TG_F32, 2, (int64_t[]){20, 30});
        cr_assert_eq(tg_init_tensor(a, inits[k], &r1, 20, 30, 0), TG_OK);
        cr_assert_eq(tg_init_tensor(b, inits[k], &r2, 20, 30, 0), TG_OK);
        cr_assert_eq(memcmp(a->data, b->data, 600 * sizeof(float)), 0, "same seed, same bits");
        double bound = sqrt(6.0 / 50), std = sqrt(2.0 / 20);
        tg_tensor *direct = k == 0 ? tg_rand_uniform(&r3, TG_F32, 2, (int64_t[]){20, 30}, -bound, bound)
                                   : tg_rand_normal(&r3, TG_F32, 2, (int64_t[]){20, 30}, 0, std);
        cr_assert_eq(memcmp(a->data, direct->data, 600 * sizeof(float)), 0, "the rand function's draws");
        cr_assert_eq(memcmp(&r1, &r3, sizeof r1), 0, "the rng advanced alike");
        tg_tensor *c = tg_zeros(TG_F32, 2, (int64_t[]){20, 30});
        cr_assert_eq(tg_init_tensor(c, inits[k], &r1, 20, 30, 0), TG_OK);
        cr_assert_neq(memcmp(a->data, c->data, 600 * sizeof(float)), 0, "the next draw differs");
        tg_free(a);
        tg_free(b);
        tg_free(c);
        tg_free(direct);
    }
}

Test(nn_layers, zeros_and_constant_need_no_rng) {
    tg_tensor *t = tg_full(TG_F64, 1, (int64_t[]){5}, 7.0);
    cr_assert_eq(tg_init_tensor(t, TG_INIT_ZEROS, NULL, 0, 0, 3.0), TG_OK);
    for (int i = 0; i < 5; i++) cr_assert_eq(tg_get_flat(t, i), 0.0);
    cr_assert_eq(tg_init_tensor(t, TG_INIT_CONSTANT, NULL, 0, 0, -1.25), TG_OK);
    for (int i = 0; i < 5; i++) cr_assert_eq(tg_get_flat(t, i), -1.25);
    tg_free(t);
}

Test(nn_layers, initializer_errors) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(1);
    tg_tensor *t = tg_zeros(TG_F64, 1, (int64_t[]){4});
    cr_assert_eq(tg_init_tensor(t, TG_INIT_HE_UNIFORM, NULL, 4, 4, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_init_tensor", "rng");
    cr_assert_eq(tg_init_tensor(t, TG_INIT_HE_UNIFORM, &rng, 0, 4, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_init_tensor", "fan_in=0");
    cr_assert_eq(tg_init_tensor(t, TG_INIT_GLOROT_NORMAL, &rng, 4, 0, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_init_tensor", "fan_out=0");
    cr_assert_eq(tg_init_tensor(t, TG_INIT_HE_NORMAL, &rng, 4, 0, 0), TG_OK, "He does not use fan_out");
    cr_assert_eq(tg_init_tensor(t, (tg_init)42, &rng, 4, 4, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_init_tensor", "42");
    cr_assert_eq(tg_init_tensor(NULL, TG_INIT_ZEROS, NULL, 1, 1, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_init_tensor", NULL);
    tg_tensor *on_tape = tg_mul_scalar(t, 2.0);
    cr_assert_eq(tg_init_tensor(on_tape, TG_INIT_ZEROS, NULL, 1, 1, 0), TG_ERR_TAPE);
    assert_error(TG_ERR_TAPE, "tg_init_tensor", "tape");
    tg_free(t);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- dense ---- */

Test(nn_layers, dense_has_named_weight_and_zero_bias_parameters) {
    tg_rng rng = tg_rng_seeded(3);
    tg_layer *dense = tg_dense_new(&rng, TG_F32, 5, 3, TG_INIT_GLOROT_UNIFORM);
    cr_assert_str_eq(tg_module_kind(dense), "dense");
    cr_assert_eq(tg_module_num_params(dense), 2);
    char name[32];
    tg_tensor *w = tg_module_param_at(dense, 0, name, sizeof name);
    cr_assert_str_eq(name, "weight");
    tg_tensor *b = tg_module_param_at(dense, 1, name, sizeof name);
    cr_assert_str_eq(name, "bias");
    cr_assert(w == tg_module_param(dense, "weight") && b == tg_module_param(dense, "bias"));
    cr_assert(w->rank == 2 && w->shape[0] == 5 && w->shape[1] == 3 && w->dtype == TG_F32);
    cr_assert(b->rank == 1 && b->shape[0] == 3 && b->dtype == TG_F32);
    cr_assert(w->requires_grad && b->requires_grad && !w->tape && !b->tape);
    double bound = sqrt(6.0 / 8);
    bool nonzero = false;
    for (int i = 0; i < 15; i++) {
        double v = tg_get_flat(w, i);
        cr_assert(fabs(v) <= bound, "weight %g beyond %g", v, bound);
        nonzero |= v != 0;
    }
    cr_assert(nonzero);
    for (int i = 0; i < 3; i++) cr_assert_eq(tg_get_flat(b, i), 0.0);
    cr_assert(tg_module_is_training(dense));
    tg_layer_free(dense);
}

/* y[r][j] = sum_i x[r][i] W[i][j] + b[j], in plain loops, for both dtypes. */
Test(nn_layers, dense_forward_is_x_matmul_w_plus_b) {
    tg_dtype dtypes[2] = {TG_F64, TG_F32};
    for (int d = 0; d < 2; d++) {
        tg_rng rng = tg_rng_seeded(4);
        tg_layer *dense = tg_dense_new(&rng, dtypes[d], 4, 3, TG_INIT_HE_NORMAL);
        tg_init_tensor(tg_module_param(dense, "bias"), TG_INIT_CONSTANT, NULL, 0, 0, 0.0);
        for (int j = 0; j < 3; j++) tg_set_flat(tg_module_param(dense, "bias"), j, 0.5 * j - 0.25);
        tg_tensor *x = tg_rand_normal(&rng, dtypes[d], 2, (int64_t[]){6, 4}, 0, 1);
        tg_tensor *y = tg_layer_forward(dense, x);
        cr_assert(y && y->rank == 2 && y->shape[0] == 6 && y->shape[1] == 3 && y->dtype == dtypes[d]);
        for (int r = 0; r < 6; r++)
            for (int j = 0; j < 3; j++) {
                double want = tg_get_flat(tg_module_param(dense, "bias"), j);
                for (int i = 0; i < 4; i++)
                    want += tg_get_flat(x, r * 4 + i) * tg_get_flat(tg_module_param(dense, "weight"), i * 3 + j);
                double tol = dtypes[d] == TG_F64 ? 1e-14 : 1e-5, got = tg_get_flat(y, r * 3 + j);
                cr_assert(fabs(got - want) <= tol * fmax(1, fabs(want)), "%s y[%d][%d] %.17g vs %.17g",
                          tg_dtype_name(dtypes[d]), r, j, got, want);
            }
        tg_free(x);
        tg_layer_free(dense);
        reset_tape();
    }
}

/* The layer's own parameters are the gradcheck inputs: gradcheck perturbs
 * them in place and restores them, and the layer reads them. */
static tg_tensor *dense_of(tg_tensor *const *in, int n, void *ctx) {
    (void)n;
    return tg_layer_forward(ctx, in[0]);
}

Test(nn_layers, dense_passes_gradcheck_for_x_weight_and_bias) {
    tg_rng rng = tg_rng_seeded(5);
    tg_layer *dense = tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_GLOROT_NORMAL);
    tg_init_tensor(tg_module_param(dense, "bias"), TG_INIT_CONSTANT, NULL, 0, 0, 0.3);
    tg_tensor *x = tg_gradcheck_input(&rng, 2, (int64_t[]){4, 3}, -2, 2, 0, NULL, 0);
    tg_tensor *inputs[3] = {x, tg_module_param(dense, "weight"), tg_module_param(dense, "bias")};
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-8;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(dense_of, dense, 3, inputs, &options, &result), TG_OK, "%s", tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    cr_assert_eq(result.entries_checked, 8 * (12 + 6 + 2), "the full Jacobian");
    cr_assert(tg_module_param(dense, "weight")->requires_grad && !tg_module_param(dense, "weight")->grad, "gradcheck left the weight as it was");
    tg_free(x);
    tg_layer_free(dense);
}

Test(nn_layers, dense_on_a_batch_of_sequences_broadcasts_over_leading_axes) {
    tg_rng rng = tg_rng_seeded(6);
    tg_layer *dense = tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_GLOROT_UNIFORM);
    tg_tensor *x = tg_rand_normal(&rng, TG_F64, 3, (int64_t[]){2, 5, 3}, 0, 1);
    tg_tensor *y = tg_layer_forward(dense, x);
    cr_assert(y && y->rank == 3 && y->shape[0] == 2 && y->shape[1] == 5 && y->shape[2] == 2);
    tg_free(x);
    tg_layer_free(dense);
    reset_tape();
}

Test(nn_layers, dense_errors_name_the_function_and_shapes) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(7);
    cr_assert_null(tg_dense_new(&rng, TG_F64, 0, 3, TG_INIT_GLOROT_UNIFORM));
    assert_error(TG_ERR_ARGUMENT, "tg_dense_new", "in=0");
    cr_assert_null(tg_dense_new(&rng, TG_F64, 3, -1, TG_INIT_GLOROT_UNIFORM));
    assert_error(TG_ERR_ARGUMENT, "tg_dense_new", "out=-1");
    cr_assert_null(tg_dense_new(NULL, TG_F64, 3, 2, TG_INIT_HE_UNIFORM)); /* nothing leaks (ASan) */
    assert_error(TG_ERR_ARGUMENT, "tg_dense_new", "rng");
    cr_assert_null(tg_dense_new(&rng, TG_F64, 3, 2, (tg_init)42)); /* refused before anything is built */
    assert_error(TG_ERR_ARGUMENT, "tg_dense_new", "unknown initializer 42");
    tg_layer *zeros = tg_dense_new(NULL, TG_F64, 3, 2, TG_INIT_ZEROS);
    cr_assert_not_null(zeros, "ZEROS needs no rng");
    tg_layer_free(zeros);
    cr_assert_null(tg_dense_new(&rng, (tg_dtype)7, 3, 2, TG_INIT_ZEROS));
    assert_error(TG_ERR_DTYPE, "tg_dense_new", NULL);

    tg_layer *dense = tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_GLOROT_UNIFORM);
    tg_tensor *wide = tg_zeros(TG_F64, 2, (int64_t[]){4, 5}), *flat = tg_zeros(TG_F64, 1, (int64_t[]){3});
    tg_tensor *x32 = tg_zeros(TG_F32, 2, (int64_t[]){4, 3});
    cr_assert_null(tg_layer_forward(dense, wide));
    assert_error(TG_ERR_SHAPE, "tg_layer_forward", "(4,5)");
    cr_assert_null(tg_layer_forward(dense, flat));
    assert_error(TG_ERR_SHAPE, "tg_layer_forward", "(batch, 3)");
    cr_assert_null(tg_layer_forward(dense, x32));
    assert_error(TG_ERR_DTYPE, "tg_layer_forward", "float32");
    cr_assert_null(tg_layer_forward(dense, NULL));
    assert_error(TG_ERR_ARGUMENT, "tg_layer_forward", "dense");
    cr_assert_null(tg_layer_forward(NULL, wide));
    assert_error(TG_ERR_ARGUMENT, "tg_layer_forward", "layer is NULL");
    tg_free(wide);
    tg_free(flat);
    tg_free(x32);
    tg_layer_free(dense);
    tg_layer_free(NULL);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- activation layers ---- */

Test(nn_layers, activation_layers_apply_tg_activate_and_own_nothing) {
    const struct {
        tg_activation activation;
        const char *kind;
    } kinds[] = {{TG_ACT_RELU, "relu"},   {TG_ACT_LEAKY_RELU, "leaky_relu"}, {TG_ACT_SIGMOID, "sigmoid"},
                 {TG_ACT_TANH, "tanh"},   {TG_ACT_SILU, "silu"},             {TG_ACT_GELU, "gelu"},
                 {TG_ACT_SOFTPLUS, "softplus"}, {TG_ACT_SOFTMAX, "softmax"}};
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){2, 3}, (double[]){-2, -0.5, 0, 0.5, 1, 3});
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        tg_layer *layer = tg_activation_layer_new(kinds[k].activation);
        cr_assert_str_eq(tg_module_kind(layer), kinds[k].kind);
        cr_assert_eq(tg_module_num_params(layer), 0);
        cr_assert_eq(tg_module_num_buffers(layer), 0);
        tg_tensor *y = tg_layer_forward(layer, x), *want = tg_activate(kinds[k].activation, x);
        for (int i = 0; i < 6; i++) cr_assert_eq(tg_get_flat(y, i), tg_get_flat(want, i), "%s [%d]", kinds[k].kind, i);
        tg_layer_free(layer);
    }
    tg_free(x);
    reset_tape();
}

Test(nn_layers, leaky_relu_layers_have_slope_0_01_or_the_one_given) {
    tg_layer *layer = tg_leaky_relu_layer_new(0.5), *default_slope = tg_activation_layer_new(TG_ACT_LEAKY_RELU);
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){-4, 4});
    tg_tensor *y = tg_layer_forward(layer, x), *y_default = tg_layer_forward(default_slope, x);
    cr_assert(tg_get_flat(y, 0) == -2 && tg_get_flat(y, 1) == 4);
    cr_assert(tg_get_flat(y_default, 0) == -0.04 && tg_get_flat(y_default, 1) == 4);
    tg_layer_free(default_slope);
    tg_free(x);
    tg_layer_free(layer);
    reset_tape();
}

Test(nn_layers, unknown_activation_layer_is_refused) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    cr_assert_null(tg_activation_layer_new((tg_activation)-1));
    assert_error(TG_ERR_ARGUMENT, "tg_activation_layer_new", "-1");
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- a user-defined layer: a module with a forward and state ---- */

/* y = x * s with one learned scale s (shape (1)), whose state counts calls. */
static tg_tensor *scale_forward(tg_module *self, tg_tensor *x) {
    (*(int *)tg_module_state(self))++;
    return tg_mul(x, tg_module_param(self, "s"));
}

static tg_layer *scale_layer_new(double s) {
    tg_module *layer = tg_module_new("scale", scale_forward);
    tg_module_add_param(layer, "s", tg_full(TG_F64, 1, (int64_t[]){1}, s));
    tg_module_set_state(layer, calloc(1, sizeof(int)), free);
    return layer;
}

Test(nn_layers, a_user_defined_layer_runs_and_learns_like_a_builtin) {
    tg_layer *layer = scale_layer_new(3.0);
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){2, 1}, (double[]){1, 2});
    tg_tensor *y = tg_layer_forward(layer, x);
    cr_assert(tg_get_flat(y, 0) == 3 && tg_get_flat(y, 1) == 6);
    cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
    cr_assert_eq(tg_get_flat(tg_grad(tg_module_param(layer, "s")), 0), 3.0, "d sum(x s)/ds = sum x");
    cr_assert_eq(*(int *)tg_module_state(layer), 1);
    tg_free(x);
    tg_layer_free(layer);
    reset_tape();
}
