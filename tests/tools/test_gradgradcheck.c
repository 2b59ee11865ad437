/* tests/tools/test_gradgradcheck.c — tg_gradgradcheck finds a backward rule
 * whose gradient is right but whose own derivative is wrong, passes correct
 * rules, and reports the worst entry with its input and index. */
#include <math.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* cube(x) = x^3 as a user op. Its rule g * 3 x^2 is right to first order in
 * both versions; the "detached" one builds 3 x^2 from a detached x, so no
 * second derivative flows to x (d/dx of g 3 x^2 should be 6 g x). */
static void cube_forward(const tg_node *node) {
    const double *x = node->inputs[0]->data;
    double *y = node->output->data;
    for (int64_t i = 0; i < node->output->numel; i++) y[i] = x[i] * x[i] * x[i];
}
static void cube_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0];
    grad_inputs[0] = tg_mul(g, tg_mul_scalar(tg_mul(x, x), 3.0));
}
static void cube_backward_detached(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = tg_detach(node->inputs[0]);
    grad_inputs[0] = tg_mul(g, tg_mul_scalar(tg_mul(x, x), 3.0));
}
static const tg_op cube_op = {"cube", 1, cube_forward, cube_backward};
static const tg_op cube_detached_op = {"cube_detached", 1, cube_forward, cube_backward_detached};

static tg_tensor *apply_cube(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    return tg_op_apply(ctx, x, 1, NULL, TG_F64, x[0]->rank, x[0]->shape);
}

static tg_tensor *input(void) {
    return tg_from_doubles(TG_F64, 2, (int64_t[]){2, 3}, (double[]){0.5, -1.5, 2, 1, -0.7, 1.2});
}

Test(gradgradcheck, a_correct_rule_passes_to_second_order) {
    tg_tensor *x = input();
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradgradcheck(apply_cube, (void *)&cube_op, 1, &x, NULL, &result), TG_OK, "%s",
                 tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    /* Jacobian of g(x, v) = 3 x^2 v: 6 entries by 6 + 6 inputs */
    cr_assert_eq(result.entries_checked, 6 * 12);
    tg_free(x);
}

Test(gradgradcheck, a_rule_with_a_detached_derivative_fails_only_to_second_order) {
    tg_tensor *x = input();
    tg_gradcheck_result first, second;
    cr_assert_eq(tg_gradcheck(apply_cube, (void *)&cube_detached_op, 1, &x, NULL, &first), TG_OK);
    cr_assert(first.passed, "the first-order gradient is right");
    cr_assert_eq(tg_gradgradcheck(apply_cube, (void *)&cube_detached_op, 1, &x, NULL, &second), TG_OK);
    cr_assert(!second.passed, "gradgradcheck missed the missing second derivative");
    /* The analytic d g_k / d x_k is 0; finite differences give 6 x_k v_k.
     * The worst entry is with respect to x (input 0), on the diagonal. */
    cr_assert_eq(second.worst_input, 0);
    cr_assert_eq(second.worst_output, second.worst_index);
    cr_assert_eq(second.analytic, 0.0);
    cr_assert(fabs(second.numeric) > 1e-3, "numeric %g", second.numeric);
    tg_free(x);
}

/* Random directions mode runs too, and the inputs end as they began. */
Test(gradgradcheck, random_mode_and_inputs_restored) {
    tg_tensor *x = input();
    tg_tensor *before = tg_clone(x);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.mode = TG_GRADCHECK_RANDOM;
    options.directions = 5;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradgradcheck(apply_cube, (void *)&cube_detached_op, 1, &x, &options, &result), TG_OK);
    cr_assert(!result.passed);
    cr_assert_eq(result.entries_checked, 5);
    cr_assert_eq(tg_gradgradcheck(apply_cube, (void *)&cube_op, 1, &x, &options, &result), TG_OK);
    cr_assert(result.passed);
    for (int64_t k = 0; k < 6; k++) cr_assert_eq(tg_get_flat(x, k), tg_get_flat(before, k));
    cr_assert(!x->requires_grad);
    cr_assert_null(x->grad);
    tg_free(before);
    tg_free(x);
}
