/* Tests of the seeded generator (core/random.c). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* Expected words from an independent Python transcription of splitmix64 and
 * xoshiro256starstar.c (https://prng.di.unimi.it/), seeded the same way:
 * state[i] = the i-th splitmix64 output of the seed. */
Test(random, seed_42_gives_the_reference_stream, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(42);
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0x15780b2e0c2ec716));
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0x6104d9866d113a7e));
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0xae17533239e499a1));
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0xecb8ad4703b360a1));
}

Test(random, seed_0_is_a_valid_generator, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(0);
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0x99ec5f36cb75f2b4));
    cr_assert_eq(tg_rng_next_u64(&rng), UINT64_C(0xbf6e1f784956452a));
}

Test(random, equal_seeds_agree_and_different_seeds_differ, .init = return_mode)
{
    tg_rng a = tg_rng_seeded(42), b = tg_rng_seeded(42), c = tg_rng_seeded(43);
    int differences = 0;
    for (int i = 0; i < 16; i++) {
        uint64_t x = tg_rng_next_u64(&a), y = tg_rng_next_u64(&b), z = tg_rng_next_u64(&c);
        cr_assert_eq(x, y, "draw %d differs between two generators of seed 42", i);
        differences += x != z;
    }
    cr_assert_eq(differences, 16, "seed 43 repeats seed 42's stream");
}

Test(random, uniform_uses_the_top_53_bits, .init = return_mode)
{
    /* (word >> 11) * 2^-53 of the reference words above. */
    tg_rng rng = tg_rng_seeded(42);
    cr_assert_eq(tg_rng_uniform(&rng), (double)(UINT64_C(0x15780b2e0c2ec716) >> 11) * 0x1.0p-53);
    cr_assert_eq(tg_rng_uniform(&rng), (double)(UINT64_C(0x6104d9866d113a7e) >> 11) * 0x1.0p-53);
    double third = tg_rng_uniform(&rng); /* cr_assert_float_eq evaluates its arguments twice */
    cr_assert_float_eq(third, 0.6800434110281394, 1e-16);
}

Test(random, uniform_has_the_moments_of_u01, .init = return_mode)
{
    /* U[0,1): mean 1/2, variance 1/12. With n = 1e5 the standard error of the
     * mean is sqrt(1/12/n) ~ 9e-4 and of the variance ~ 2.4e-4; the bounds
     * are about 5 of those. */
    tg_rng rng = tg_rng_seeded(1);
    const int n = 100000;
    double sum = 0, sum_sq = 0, lowest = 1, highest = 0;
    for (int i = 0; i < n; i++) {
        double u = tg_rng_uniform(&rng);
        cr_assert(u >= 0.0 && u < 1.0, "draw %d = %.17g outside [0, 1)", i, u);
        sum += u;
        sum_sq += u * u;
        if (u < lowest) lowest = u;
        if (u > highest) highest = u;
    }
    double mean = sum / n, variance = sum_sq / n - mean * mean;
    cr_assert_float_eq(mean, 0.5, 5e-3);
    cr_assert_float_eq(variance, 1.0 / 12.0, 1.5e-3);
    cr_assert_lt(lowest, 1e-3);
    cr_assert_gt(highest, 1 - 1e-3);
}

Test(random, normal_has_mean_0_std_1_and_gaussian_tails, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(2);
    const int n = 100000;
    double sum = 0, sum_sq = 0;
    int beyond_2 = 0;
    for (int i = 0; i < n; i++) {
        double z = tg_rng_normal(&rng);
        cr_assert(isfinite(z));
        sum += z;
        sum_sq += z * z;
        beyond_2 += fabs(z) > 2.0;
    }
    double mean = sum / n, std = sqrt(sum_sq / n - mean * mean);
    cr_assert_float_eq(mean, 0.0, 0.015);  /* SE 1/sqrt(n) ~ 3.2e-3 */
    cr_assert_float_eq(std, 1.0, 0.012);   /* SE 1/sqrt(2n) ~ 2.2e-3 */
    /* P(|Z| > 2) = 0.0455 (normal table): ~4550 +- 66 of 1e5. */
    cr_assert(beyond_2 > 4200 && beyond_2 < 4900, "%d of %d beyond 2 sigma", beyond_2, n);
}

Test(random, below_is_flat_and_in_range, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(3);
    const int n = 70000;
    int counts[7] = {0};
    for (int i = 0; i < n; i++) {
        uint64_t k = tg_rng_below(&rng, 7);
        cr_assert_lt(k, 7);
        counts[k]++;
    }
    /* Expected 10000 each, SD sqrt(10000 * 6/7) ~ 93: allow about 5 SD. */
    for (int k = 0; k < 7; k++)
        cr_assert(counts[k] > 9500 && counts[k] < 10500, "bucket %d has %d of %d", k, counts[k], n);
}

Test(random, below_1_is_always_0_and_huge_bounds_stay_below, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(4);
    const uint64_t big = (UINT64_C(1) << 63) + 12345; /* rejects almost half of all words */
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(tg_rng_below(&rng, 1), 0);
        cr_assert_lt(tg_rng_below(&rng, big), big);
    }
}

Test(random, below_0_and_null_rng_are_errors, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(5);
    tg_clear_error();
    tg_rng_below(&rng, 0);
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rng_below"));

    tg_clear_error();
    cr_assert(isnan(tg_rng_uniform(NULL)));
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rng_uniform"));
    tg_clear_error();
    cr_assert(isnan(tg_rng_normal(NULL)));
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rng_normal"));
    tg_clear_error();
    cr_assert_eq(tg_rng_next_u64(NULL), 0);
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
}

Test(random, rand_uniform_fills_a_persistent_tensor_in_range, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(6);
    int64_t shape[2] = {100, 50};
    tg_tensor *t = tg_rand_uniform(&rng, TG_F32, 2, shape, -2.0, 3.0);
    cr_assert_not_null(t, "%s", tg_last_error_message());
    cr_assert_null(t->tape);
    cr_assert_eq(t->dtype, TG_F32);
    cr_assert_eq(t->numel, 5000);
    double sum = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        double x = tg_get_flat(t, i);
        cr_assert(x >= -2.0 && x < 3.0, "element %lld = %g", (long long)i, x);
        sum += x;
    }
    /* mean 0.5, SE 5/sqrt(12 * 5000) ~ 0.02 */
    cr_assert_float_eq(sum / 5000, 0.5, 0.1);
    tg_free(t);
}

Test(random, rand_uniform_matches_the_scalar_stream, .init = return_mode)
{
    /* Element i is lo + (hi - lo) * (the i-th tg_rng_uniform). */
    tg_rng a = tg_rng_seeded(7), b = tg_rng_seeded(7);
    int64_t shape[1] = {5};
    tg_tensor *t = tg_rand_uniform(&a, TG_F64, 1, shape, 10.0, 12.0);
    for (int64_t i = 0; i < 5; i++) {
        double expected = 10.0 + 2.0 * tg_rng_uniform(&b);
        cr_assert_float_eq(tg_get_flat(t, i), expected, 1e-15);
    }
    tg_free(t);
}

Test(random, rand_uniform_with_equal_bounds_is_constant, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(8);
    int64_t shape[1] = {4};
    tg_tensor *t = tg_rand_uniform(&rng, TG_F64, 1, shape, 1.5, 1.5);
    cr_assert_not_null(t);
    for (int64_t i = 0; i < 4; i++) cr_assert_eq(tg_get_flat(t, i), 1.5);
    tg_free(t);
}

Test(random, rand_normal_has_the_requested_mean_and_std, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(9);
    int64_t shape[3] = {10, 20, 100};
    tg_tensor *t = tg_rand_normal(&rng, TG_F64, 3, shape, 5.0, 0.5);
    cr_assert_not_null(t, "%s", tg_last_error_message());
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        double x = tg_get_flat(t, i);
        sum += x;
        sum_sq += x * x;
    }
    double mean = sum / (double)t->numel, std = sqrt(sum_sq / (double)t->numel - mean * mean);
    cr_assert_float_eq(mean, 5.0, 0.03); /* SE 0.5/sqrt(2e4) ~ 3.5e-3 */
    cr_assert_float_eq(std, 0.5, 0.02);
    tg_free(t);
}

Test(random, rand_normal_is_reproducible, .init = return_mode)
{
    tg_rng a = tg_rng_seeded(10), b = tg_rng_seeded(10);
    int64_t shape[1] = {32};
    tg_tensor *x = tg_rand_normal(&a, TG_F32, 1, shape, 0.0, 1.0);
    tg_tensor *y = tg_rand_normal(&b, TG_F32, 1, shape, 0.0, 1.0);
    cr_assert_eq(memcmp(x->data, y->data, 32 * sizeof(float)), 0);
    tg_free(x);
    tg_free(y);
}

Test(random, rand_refuses_bad_arguments_naming_the_values, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(11);
    int64_t shape[1] = {3};
    cr_assert_null(tg_rand_uniform(&rng, TG_F64, 1, shape, 2.0, 1.0));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rand_uniform"));
    cr_assert_not_null(strstr(tg_last_error_message(), "lo=2 hi=1"), "%s", tg_last_error_message());

    cr_assert_null(tg_rand_uniform(&rng, TG_F64, 1, shape, 0.0, INFINITY));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);

    cr_assert_null(tg_rand_normal(&rng, TG_F64, 1, shape, 0.0, -1.0));
    cr_assert_not_null(strstr(tg_last_error_message(), "std=-1"), "%s", tg_last_error_message());
    cr_assert_null(tg_rand_normal(&rng, TG_F64, 1, shape, NAN, 1.0));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);

    cr_assert_null(tg_rand_normal(NULL, TG_F64, 1, shape, 0.0, 1.0));
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rand_normal: rng is NULL"));

    int64_t negative[1] = {-1};
    cr_assert_null(tg_rand_uniform(&rng, TG_F64, 1, negative, 0.0, 1.0));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_rand_uniform"), "%s", tg_last_error_message());
}
