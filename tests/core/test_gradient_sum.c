/* tests/core/test_gradient_sum.c — a tensor reached by several paths gets
 * the sum of their gradients (core/backward.c sums them with an op of its
 * own, recorded when create_graph is on), in float32 and float64, on the
 * calling thread and split over the pool, and differentiable again.
 *
 * Expected values by hand: with t = 3p (a tape tensor) and
 * f = sum(t*t + t), t reaches f by three paths, df/dt = 2t + 1 and
 * df/dp = 3 (2t + 1) = 18p + 3; d/dp of that is 18. */
#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static tg_tensor *param_vector(tg_dtype dtype, int64_t n)
{
    tg_tensor *p = tg_empty(dtype, 1, (int64_t[]){n});
    cr_assert_not_null(p);
    for (int64_t i = 0; i < n; i++) tg_set_flat(p, i, 0.25 * (double)(i % 17) - 2.0);
    cr_assert_eq(tg_set_requires_grad(p, true), TG_OK);
    return p;
}

static tg_tensor *three_paths(tg_tensor *p)
{
    tg_tensor *t = tg_mul_scalar(p, 3.0);
    return tg_sum(tg_add(tg_mul(t, t), t));
}

/* n = 5 stays on the caller; n = 4099 is split over the pool (above 64). */
static void check_first_order(tg_dtype dtype, int64_t n)
{
    tg_tensor *p = param_vector(dtype, n);
    cr_assert_eq(tg_backward(three_paths(p), NULL), TG_OK, "%s", tg_last_error_message());
    const tg_tensor *g = tg_grad(p);
    cr_assert_not_null(g);
    for (int64_t i = 0; i < n; i++) {
        double expected = 18.0 * tg_get_flat(p, i) + 3.0; /* exact in float32 too: quarters */
        cr_assert_eq(tg_get_flat(g, i), expected, "%s n=%lld element %lld: got %g, expected %g",
                     tg_dtype_name(dtype), (long long)n, (long long)i, tg_get_flat(g, i), expected);
    }
    reset_tape();
    tg_free(p);
}

Test(gradient_sum, three_paths_add_up_float64_on_the_caller) { check_first_order(TG_F64, 5); }
Test(gradient_sum, three_paths_add_up_float32_on_the_caller) { check_first_order(TG_F32, 5); }
Test(gradient_sum, three_paths_add_up_float64_split_over_threads) { check_first_order(TG_F64, 4099); }
Test(gradient_sum, three_paths_add_up_float32_split_over_threads) { check_first_order(TG_F32, 4099); }

/* With create_graph the sums are recorded: differentiating sum(df/dp)
 * again gives d/dp (18p + 3) = 18 for every element. */
Test(gradient_sum, the_sum_is_differentiable_again)
{
    tg_tensor *p = param_vector(TG_F64, 7);
    tg_tensor *grad = NULL;
    cr_assert_eq(tg_gradients(three_paths(p), NULL, 1, &p, &grad, true), TG_OK, "%s", tg_last_error_message());
    for (int64_t i = 0; i < 7; i++) cr_assert_eq(tg_get_flat(grad, i), 18.0 * tg_get_flat(p, i) + 3.0);
    tg_tensor *second = NULL;
    cr_assert_eq(tg_gradients(tg_sum(grad), NULL, 1, &p, &second, false), TG_OK, "%s", tg_last_error_message());
    for (int64_t i = 0; i < 7; i++) cr_assert_eq(tg_get_flat(second, i), 18.0, "element %lld", (long long)i);
    reset_tape();
    tg_free(p);
}

/* tg_gradients asked for a persistent tensor reached by two paths sums
 * them too: f = sum(p*p) has df/dp = 2p. */
Test(gradient_sum, tg_gradients_sums_two_paths_into_a_persistent_tensor)
{
    tg_tensor *p = param_vector(TG_F32, 9);
    tg_tensor *grad = NULL;
    cr_assert_eq(tg_gradients(tg_sum(tg_mul(p, p)), NULL, 1, &p, &grad, false), TG_OK, "%s",
                 tg_last_error_message());
    for (int64_t i = 0; i < 9; i++) cr_assert_eq(tg_get_flat(grad, i), 2.0 * tg_get_flat(p, i));
    reset_tape();
    tg_free(p);
}
