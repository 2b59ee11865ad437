/* Tests of the finite-difference gradient checker (tools/gradcheck.c). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- functions under test ---- */

/* f(x) = sum(x * x): gradient 2x. */
static tg_tensor *sum_of_squares(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_sum(tg_mul(in[0], in[0]));
}

/* f(x) = x * x elementwise: a diagonal Jacobian diag(2x). */
static tg_tensor *squares(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_mul(in[0], in[0]);
}

/* f(a, b) = sum(a * b + a): gradients b + 1 and a. */
static tg_tensor *two_inputs(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_sum(tg_add(tg_mul(in[0], in[1]), in[0]));
}

/* f(x) = sum(relu(x)), checked away from the kink at 0. */
static tg_tensor *sum_of_relu(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_sum(tg_relu(in[0]));
}

/* f(x) = (float32) x * x: the float32 path; the seed must be float32. */
static tg_tensor *squares_in_float32(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    tg_tensor *x = tg_to_dtype(in[0], TG_F32);
    return tg_mul(x, x);
}

/* f(x) = c * c with c a constant from ctx: does not depend on x. */
static tg_tensor *constant_output(tg_tensor *const *in, int n, void *ctx)
{
    (void)in;
    (void)n;
    tg_tensor *c = ctx;
    return tg_mul(c, c);
}

/* Fails the way an op does in return mode. */
static tg_tensor *failing(tg_tensor *const *in, int n, void *ctx)
{
    (void)in;
    (void)n;
    (void)ctx;
    tg_error_report(TG_ERR_SHAPE, "failing_f", "deliberate failure");
    return NULL;
}

/* ---- a user-defined op: y = x^2, with a right and a wrong backward ---- */

static void square_forward(const tg_node *node)
{
    const tg_tensor *x = node->inputs[0];
    for (int64_t i = 0; i < x->numel; i++) {
        double v = tg_get_flat(x, i);
        tg_set_flat(node->output, i, v * v);
    }
}

/* d(x^2) = 2x: the right rule. */
static void square_backward(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs)
{
    grad_inputs[0] = tg_mul_scalar(tg_mul(grad_output, node->inputs[0]), 2.0);
}

/* Deliberately wrong: g * x, the factor 2 is missing. */
static void square_backward_missing_2(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs)
{
    grad_inputs[0] = tg_mul(grad_output, node->inputs[0]);
}

static const tg_op square_op = {"test_square", 1, square_forward, square_backward};
static const tg_op wrong_square_op = {"test_wrong_square", 1, square_forward, square_backward_missing_2};

static tg_tensor *apply_square(const tg_op *op, tg_tensor *x)
{
    return tg_op_apply(op, &x, 1, NULL, x->dtype, x->rank, x->shape);
}

static tg_tensor *custom_square(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    return apply_square(ctx, in[0]);
}

static tg_tensor *sum_of_custom_square(tg_tensor *const *in, int n, void *ctx)
{
    (void)n;
    return tg_sum(apply_square(ctx, in[0]));
}

/* ---- helpers ---- */

static tg_tensor *sample(uint64_t seed, int rank, const int64_t *shape)
{
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *x = tg_gradcheck_input(&rng, rank, shape, -2.0, 2.0, 0, NULL, 0.0);
    cr_assert_not_null(x, "%s", tg_last_error_message());
    return x;
}

static tg_gradcheck_options random_mode(void)
{
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.mode = TG_GRADCHECK_RANDOM;
    o.seed = 123;
    return o;
}

/* ---- defaults ---- */

Test(gradcheck, defaults_are_the_documented_ones, .init = return_mode)
{
    tg_gradcheck_options o = tg_gradcheck_defaults();
    cr_assert_eq(o.mode, TG_GRADCHECK_FULL);
    cr_assert_eq(o.eps, 1e-6);
    cr_assert_eq(o.atol, 1e-5);
    cr_assert_eq(o.rtol, 1e-4);
    cr_assert_eq(o.directions, 8);
}

/* ---- correct gradients pass ---- */

Test(gradcheck, sum_of_squares_passes_in_full_mode, .init = return_mode)
{
    int64_t shape[2] = {3, 4};
    tg_tensor *x = sample(1, 2, shape);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x, NULL, &r), TG_OK, "%s", tg_last_error_message());
    char text[256];
    cr_assert(r.passed, "%s", tg_gradcheck_describe(&r, text, sizeof text));
    cr_assert_eq(r.entries_checked, 12); /* 1 output x 12 input entries */
    cr_assert_eq(r.worst_input, 0);
    cr_assert(r.worst_index >= 0 && r.worst_index < 12);
    cr_assert_eq(r.worst_output, 0);
    /* the worst entry is a real entry: analytic is 2x there */
    cr_assert_float_eq(r.analytic, 2 * tg_get_flat(x, r.worst_index), 1e-12);
    cr_assert_lt(r.abs_error, 1e-5);
    tg_free(x);
}

Test(gradcheck, sum_of_squares_passes_in_random_mode, .init = return_mode)
{
    int64_t shape[1] = {10};
    tg_tensor *x = sample(2, 1, shape);
    tg_gradcheck_options o = random_mode();
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x, &o, &r), TG_OK, "%s", tg_last_error_message());
    char text[256];
    cr_assert(r.passed, "%s", tg_gradcheck_describe(&r, text, sizeof text));
    cr_assert_eq(r.entries_checked, 8);
    cr_assert_eq(r.worst_input, -1);
    cr_assert(r.worst_index >= 0 && r.worst_index < 8);
    tg_free(x);
}

Test(gradcheck, a_vector_output_checks_the_whole_jacobian, .init = return_mode)
{
    int64_t shape[1] = {5};
    tg_tensor *x = sample(3, 1, shape);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(squares, NULL, 1, &x, NULL, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed);
    cr_assert_eq(r.entries_checked, 25);
    tg_free(x);
}

Test(gradcheck, several_inputs_are_checked_together, .init = return_mode)
{
    int64_t shape[2] = {2, 3};
    tg_tensor *in[2] = {sample(4, 2, shape), sample(5, 2, shape)};
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(two_inputs, NULL, 2, in, NULL, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed);
    cr_assert_eq(r.entries_checked, 12);
    tg_gradcheck_options o = random_mode();
    cr_assert_eq(tg_gradcheck(two_inputs, NULL, 2, in, &o, &r), TG_OK);
    cr_assert(r.passed);
    tg_free(in[0]);
    tg_free(in[1]);
}

Test(gradcheck, a_correct_user_defined_op_passes, .init = return_mode)
{
    int64_t shape[1] = {4};
    tg_tensor *x = sample(6, 1, shape);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(custom_square, (void *)&square_op, 1, &x, NULL, &r), TG_OK, "%s",
                 tg_last_error_message());
    cr_assert(r.passed);
    tg_gradcheck_options o = random_mode();
    cr_assert_eq(tg_gradcheck(custom_square, (void *)&square_op, 1, &x, &o, &r), TG_OK);
    cr_assert(r.passed);
    tg_free(x);
}

Test(gradcheck, relu_passes_away_from_its_kink, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(7);
    int64_t shape[1] = {16};
    double kink = 0.0;
    tg_tensor *x = tg_gradcheck_input(&rng, 1, shape, -1.0, 1.0, 1, &kink, 0.1);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(sum_of_relu, NULL, 1, &x, NULL, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed);
    tg_free(x);
}

Test(gradcheck, a_float32_output_gets_a_float32_seed, .init = return_mode)
{
    int64_t shape[1] = {3};
    tg_tensor *x = sample(8, 1, shape);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = 1e-3; /* float32 needs a larger step and looser tolerances */
    o.atol = 1e-2;
    o.rtol = 1e-2;
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(squares_in_float32, NULL, 1, &x, &o, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed);
    cr_assert_eq(r.entries_checked, 9);
    tg_free(x);
}

Test(gradcheck, an_output_independent_of_the_inputs_passes_with_zeros, .init = return_mode)
{
    int64_t shape[1] = {3};
    tg_tensor *x = sample(9, 1, shape);
    tg_tensor *c = tg_full(TG_F64, 1, shape, 1.5);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(constant_output, c, 1, &x, NULL, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed);
    cr_assert_eq(r.entries_checked, 9);
    cr_assert_eq(r.analytic, 0.0);
    cr_assert_eq(r.numeric, 0.0);
    tg_free(c);
    tg_free(x);
}

/* ---- wrong gradients are caught ---- */

Test(gradcheck, a_missing_factor_2_fails_in_full_mode, .init = return_mode)
{
    int64_t shape[1] = {4};
    double values[4] = {0.5, -1.25, 2.0, 0.75};
    tg_tensor *x = tg_from_doubles(TG_F64, 1, shape, values);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(custom_square, (void *)&wrong_square_op, 1, &x, NULL, &r), TG_OK, "%s",
                 tg_last_error_message());
    cr_assert_not(r.passed);
    cr_assert_eq(r.entries_checked, 16);
    /* The worst entry is the diagonal one with the largest |x|: x[2] = 2,
     * analytic g*x = 2 against the true 2x = 4. */
    cr_assert_eq(r.worst_input, 0);
    cr_assert_eq(r.worst_index, 2);
    cr_assert_eq(r.worst_output, 2);
    cr_assert_float_eq(r.analytic, 2.0, 1e-12);
    cr_assert_float_eq(r.numeric, 4.0, 1e-6);
    cr_assert_float_eq(r.abs_error, 2.0, 1e-6);
    cr_assert_float_eq(r.rel_error, 0.5, 1e-6);
    char text[256];
    tg_gradcheck_describe(&r, text, sizeof text);
    cr_assert_not_null(strstr(text, "FAILED"), "%s", text);
    cr_assert_not_null(strstr(text, "worst input 0 index 2"), "%s", text);
    tg_free(x);
}

Test(gradcheck, a_missing_factor_2_fails_through_a_sum, .init = return_mode)
{
    int64_t shape[2] = {2, 2};
    tg_tensor *x = sample(10, 2, shape);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(sum_of_custom_square, (void *)&wrong_square_op, 1, &x, NULL, &r), TG_OK);
    cr_assert_not(r.passed);
    cr_assert_float_eq(r.numeric, 2 * r.analytic, 1e-6);
    tg_free(x);
}

Test(gradcheck, a_missing_factor_2_fails_in_random_mode, .init = return_mode)
{
    int64_t shape[1] = {6};
    tg_tensor *x = sample(11, 1, shape);
    tg_gradcheck_options o = random_mode();
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(custom_square, (void *)&wrong_square_op, 1, &x, &o, &r), TG_OK, "%s",
                 tg_last_error_message());
    cr_assert_not(r.passed);
    cr_assert_eq(r.entries_checked, 8);
    cr_assert_eq(r.worst_input, -1);
    /* along any direction the true derivative is twice the reported one */
    cr_assert_float_eq(r.numeric, 2 * r.analytic, 1e-6 * fabs(r.numeric) + 1e-9);
    char text[256];
    tg_gradcheck_describe(&r, text, sizeof text);
    cr_assert_not_null(strstr(text, "FAILED"), "%s", text);
    cr_assert_not_null(strstr(text, "direction"), "%s", text);
    tg_free(x);
}

Test(gradcheck, random_mode_is_reproducible_for_a_seed, .init = return_mode)
{
    int64_t shape[1] = {6};
    tg_tensor *x = sample(12, 1, shape);
    tg_gradcheck_options o = random_mode();
    tg_gradcheck_result a, b;
    tg_gradcheck(custom_square, (void *)&wrong_square_op, 1, &x, &o, &a);
    tg_gradcheck(custom_square, (void *)&wrong_square_op, 1, &x, &o, &b);
    cr_assert_eq(a.worst_index, b.worst_index);
    cr_assert_eq(a.analytic, b.analytic);
    cr_assert_eq(a.numeric, b.numeric);
    tg_free(x);
}

/* ---- what the check leaves behind ---- */

Test(gradcheck, inputs_flags_grads_tape_and_mode_are_restored, .init = return_mode)
{
    /* 0.1 and friends are not exact in binary: x + eps - eps would not give
     * them back, the saved value must be written. */
    int64_t shape[1] = {3};
    double values[3] = {0.1, -0.7, 1.3};
    tg_tensor *a = tg_from_doubles(TG_F64, 1, shape, values);
    tg_tensor *b = tg_from_doubles(TG_F64, 1, shape, values);
    tg_set_requires_grad(b, true);
    tg_tensor *in[2] = {a, b};
    tg_tape *tape = tg_tape_current();
    size_t nodes_before = tg_tape_num_nodes(tape);
    bool mode_before = tg_set_grad_enabled(false); /* the check must turn it on */

    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(two_inputs, NULL, 2, in, NULL, &r), TG_OK, "%s", tg_last_error_message());
    cr_assert(r.passed, "grad mode was off before the call; the check must enable it");
    tg_gradcheck_options o = random_mode();
    cr_assert_eq(tg_gradcheck(two_inputs, NULL, 2, in, &o, &r), TG_OK);
    cr_assert(r.passed);

    cr_assert_eq(memcmp(a->data, values, sizeof values), 0, "input a not restored bit for bit");
    cr_assert_eq(memcmp(b->data, values, sizeof values), 0, "input b not restored bit for bit");
    cr_assert_not(a->requires_grad);
    cr_assert(b->requires_grad);
    cr_assert_null(a->grad);
    cr_assert_null(b->grad);
    cr_assert_not(tg_is_grad_enabled());
    cr_assert_eq(tg_tape_current(), tape);
    cr_assert_eq(tg_tape_num_nodes(tape), nodes_before);
    tg_set_grad_enabled(mode_before);
    tg_free(a);
    tg_free(b);
}

Test(gradcheck, an_existing_gradient_is_left_untouched, .init = return_mode)
{
    int64_t shape[1] = {2};
    tg_tensor *x = tg_from_doubles(TG_F64, 1, shape, (double[]){1.0, 2.0});
    tg_set_requires_grad(x, true);
    tg_tensor *loss = tg_sum(tg_mul(x, x));
    cr_assert_eq(tg_backward(loss, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_get_flat(tg_grad(x), 1), 4.0);
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x, NULL, &r), TG_OK);
    cr_assert(r.passed);
    cr_assert_eq(tg_get_flat(tg_grad(x), 0), 2.0);
    cr_assert_eq(tg_get_flat(tg_grad(x), 1), 4.0);
    tg_tape_reset(tg_tape_current());
    tg_free(x);
}

/* ---- errors ---- */

Test(gradcheck, an_error_in_f_passes_through_and_restores_state, .init = return_mode)
{
    int64_t shape[1] = {2};
    tg_tensor *x = sample(13, 1, shape);
    double before[2] = {tg_get_flat(x, 0), tg_get_flat(x, 1)};
    tg_tape *tape = tg_tape_current();
    tg_gradcheck_result r;
    cr_assert_eq(tg_gradcheck(failing, NULL, 1, &x, NULL, &r), TG_ERR_SHAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "failing_f"), "%s", tg_last_error_message());
    cr_assert_not(x->requires_grad);
    cr_assert_eq(tg_tape_current(), tape);
    cr_assert_eq(tg_get_flat(x, 0), before[0]);
    cr_assert_eq(tg_get_flat(x, 1), before[1]);
    cr_assert_not(r.passed);
    tg_free(x);
}

Test(gradcheck, bad_arguments_are_refused, .init = return_mode)
{
    int64_t shape[1] = {2};
    tg_tensor *x = sample(14, 1, shape);
    tg_tensor *x32 = tg_zeros(TG_F32, 1, shape);

    cr_assert_eq(tg_gradcheck(NULL, NULL, 1, &x, NULL, NULL), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_gradcheck"));
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 0, &x, NULL, NULL), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, NULL, NULL, NULL), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x32, NULL, NULL), TG_ERR_DTYPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "float32"), "%s", tg_last_error_message());

    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = 0;
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x, &o, NULL), TG_ERR_ARGUMENT);
    o = random_mode();
    o.directions = 0;
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &x, &o, NULL), TG_ERR_ARGUMENT);

    tg_tensor *on_tape = tg_mul(x, x);
    cr_assert_eq(tg_gradcheck(sum_of_squares, NULL, 1, &on_tape, NULL, NULL), TG_ERR_ARGUMENT);
    tg_tape_reset(tg_tape_current());
    tg_free(x32);
    tg_free(x);
}

/* ---- describe ---- */

Test(gradcheck, describe_summarizes_a_pass, .init = return_mode)
{
    tg_gradcheck_result r = {.passed = true, .entries_checked = 24, .worst_input = 0, .worst_index = 3,
                             .worst_output = 1, .analytic = 1.5, .numeric = 1.5000001,
                             .abs_error = 1e-7, .rel_error = 6.7e-8};
    char text[256];
    cr_assert_eq(tg_gradcheck_describe(&r, text, sizeof text), text);
    cr_assert_str_eq(text, "gradcheck passed: 24 entries, worst input 0 index 3 output 1: analytic 1.5 numeric "
                           "1.5000001 (abs error 1e-07, rel error 6.7e-08)");
    char tiny[10];
    tg_gradcheck_describe(&r, tiny, sizeof tiny);
    cr_assert_str_eq(tiny, "gradcheck");
}

/* ---- sample points ---- */

Test(gradcheck, input_points_keep_away_from_kinks, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(15);
    int64_t shape[2] = {50, 40};
    double avoid[3] = {0.0, 1.0, -1.0};
    tg_tensor *x = tg_gradcheck_input(&rng, 2, shape, -2.0, 2.0, 3, avoid, 0.2);
    cr_assert_not_null(x, "%s", tg_last_error_message());
    cr_assert_eq(x->dtype, TG_F64);
    cr_assert_null(x->tape);
    int near_ends = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        double v = tg_get_flat(x, i);
        cr_assert(v >= -2.0 && v <= 2.0, "%g outside [-2, 2]", v);
        for (int k = 0; k < 3; k++) cr_assert_geq(fabs(v - avoid[k]), 0.2, "%g too close to %g", v, avoid[k]);
        near_ends += fabs(v) > 1.8;
    }
    /* the allowed set has measure 2.8, of which [-2,-1.8] and [1.8,2] are 0.4:
     * about 1/7 of the 2000 points */
    cr_assert(near_ends > 200 && near_ends < 370, "%d points near the ends", near_ends);
    tg_free(x);
}

Test(gradcheck, input_points_need_room, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(16);
    int64_t shape[1] = {3};
    double avoid[2] = {0.0, 1.0};
    cr_assert_null(tg_gradcheck_input(&rng, 1, shape, 0.0, 1.0, 2, avoid, 0.5));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_gradcheck_input"));
    cr_assert_null(tg_gradcheck_input(&rng, 1, shape, 1.0, 0.0, 0, NULL, 0.0));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_null(tg_gradcheck_input(NULL, 1, shape, 0.0, 1.0, 0, NULL, 0.0));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    /* a narrow gap is found without looping: only (0.999, 1] is allowed */
    double edge = 0.0;
    tg_tensor *x = tg_gradcheck_input(&rng, 1, shape, 0.0, 1.0, 1, &edge, 0.999);
    cr_assert_not_null(x, "%s", tg_last_error_message());
    for (int64_t i = 0; i < 3; i++) cr_assert_geq(tg_get_flat(x, i), 0.999);
    tg_free(x);
}
