/* Tests of the toy data set generators (data/generators.c). */
#include <math.h>

#include "helpers.h"

static void count_classes(const tg_dataset *ds, int64_t *counts, int classes)
{
    for (int k = 0; k < classes; ++k) counts[k] = 0;
    for (int64_t i = 0; i < tg_dataset_count(ds); ++i) {
        int64_t k = tg_dataset_class(ds, i);
        cr_assert(k >= 0 && k < classes);
        counts[k]++;
    }
}

static bool same_dataset(const tg_dataset *a, const tg_dataset *b)
{
    for (int64_t i = 0; i < tg_dataset_count(a); ++i) {
        if (tg_dataset_class(a, i) != tg_dataset_class(b, i)) return false;
        for (int f = 0; f < 2; ++f)
            if (tg_dataset_feature(a, i, f) != tg_dataset_feature(b, i, f)) return false;
    }
    return true;
}

Test(generators, circles_without_noise_lie_on_two_radii, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(0);
    tg_dataset *ds = tg_make_circles(&rng, 101, 0.0, 0.5);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), 101);
    int64_t counts[2];
    count_classes(ds, counts, 2);
    cr_assert_eq(counts[0], 50, "n // 2 on the outer circle, as scikit-learn");
    cr_assert_eq(counts[1], 51);
    for (int64_t i = 0; i < 101; ++i) {
        double r = hypot(tg_dataset_feature(ds, i, 0), tg_dataset_feature(ds, i, 1));
        cr_assert_float_eq(r, tg_dataset_class(ds, i) == 0 ? 1.0 : 0.5, 1e-12);
    }
    /* Shuffled: the first 50 samples are not all of class 0. */
    int64_t first_half_zeros = 0;
    for (int64_t i = 0; i < 50; ++i) first_half_zeros += tg_dataset_class(ds, i) == 0;
    cr_assert_lt(first_half_zeros, 45);
    tg_dataset_free(ds);
}

Test(generators, moons_are_reproducible_for_a_seed, .init = return_mode)
{
    tg_rng a = tg_rng_seeded(11), b = tg_rng_seeded(11), c = tg_rng_seeded(12);
    tg_dataset *d1 = tg_make_moons(&a, 200, 0.1);
    tg_dataset *d2 = tg_make_moons(&b, 200, 0.1);
    tg_dataset *d3 = tg_make_moons(&c, 200, 0.1);
    cr_assert(same_dataset(d1, d2));
    cr_assert_not(same_dataset(d1, d3));
    int64_t counts[2];
    count_classes(d1, counts, 2);
    cr_assert_eq(counts[0], 100);
    cr_assert_eq(counts[1], 100);
    /* Class 1's moon is centred near (1, 0.5 - 2/pi) = (1, -0.137). */
    double sum_x = 0, sum_y = 0;
    for (int64_t i = 0; i < 200; ++i) {
        if (tg_dataset_class(d1, i) != 1) continue;
        sum_x += tg_dataset_feature(d1, i, 0);
        sum_y += tg_dataset_feature(d1, i, 1);
    }
    cr_assert_float_eq(sum_x / 100, 1.0, 0.05);
    cr_assert_float_eq(sum_y / 100, 0.5 - 2.0 / 3.14159265358979, 0.05);
    tg_dataset_free(d1);
    tg_dataset_free(d2);
    tg_dataset_free(d3);
}

Test(generators, spirals_split_samples_evenly_across_classes, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(2);
    tg_dataset *ds = tg_make_spirals(&rng, 302, 3, 0.2);
    cr_assert_not_null(ds);
    cr_assert_eq(tg_dataset_label_width(ds), 3);
    int64_t counts[3];
    count_classes(ds, counts, 3);
    cr_assert_eq(counts[0], 101);
    cr_assert_eq(counts[1], 101);
    cr_assert_eq(counts[2], 100);
    for (int64_t i = 0; i < 302; ++i)
        cr_assert_leq(hypot(tg_dataset_feature(ds, i, 0), tg_dataset_feature(ds, i, 1)), 1.0 + 1e-12);
    tg_dataset_free(ds);
}

Test(generators, refuse_bad_arguments, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(2);
    cr_assert_null(tg_make_circles(&rng, 10, 0.1, 1.5));
    assert_error_from("tg_make_circles");
    cr_assert_null(tg_make_moons(&rng, 0, 0.1));
    assert_error_from("tg_make_moons");
    cr_assert_null(tg_make_spirals(&rng, 10, 1, 0.1));
    assert_error_from("tg_make_spirals");
    cr_assert_null(tg_make_moons(NULL, 10, -1.0));
}
