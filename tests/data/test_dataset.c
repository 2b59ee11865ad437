/* Tests of data sets: permutations, subsets, splits, batches and scaling. */
#include <math.h>
#include <stdint.h>

#include "helpers.h"

/* A data set of n rows, 2 float64 features (row, 10*row), class row % 3. */
static tg_dataset *counting_dataset(int64_t n)
{
    tg_dataset *ds = tg_dataset_new(TG_FEATURES_F64, n, 1, (const int64_t[]){2}, TG_LABELS_CLASS, 3);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    double *x = tg_dataset_features_data(ds);
    int32_t *y = tg_dataset_classes_data(ds);
    for (int64_t i = 0; i < n; ++i) {
        x[2 * i] = (double)i;
        x[2 * i + 1] = 10.0 * (double)i;
        y[i] = (int32_t)(i % 3);
    }
    return ds;
}

Test(dataset, permutation_is_a_permutation_and_reproducible, .init = return_mode)
{
    enum { N = 1000 };
    int64_t a[N], b[N], c[N];
    tg_rng r1 = tg_rng_seeded(42), r2 = tg_rng_seeded(42), r3 = tg_rng_seeded(43);
    cr_assert_eq(tg_random_permutation(&r1, N, a), TG_OK);
    tg_random_permutation(&r2, N, b);
    tg_random_permutation(&r3, N, c);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "same seed, same order");
    cr_assert_neq(memcmp(a, c, sizeof a), 0, "another seed, another order");
    int seen[N] = {0}, fixed_points = 0;
    for (int i = 0; i < N; ++i) {
        cr_assert(a[i] >= 0 && a[i] < N);
        seen[a[i]]++;
        fixed_points += a[i] == i;
    }
    for (int i = 0; i < N; ++i) cr_assert_eq(seen[i], 1);
    /* A random permutation has about one fixed point; a failed shuffle has N. */
    cr_assert_lt(fixed_points, 10);
}

Test(dataset, split_sizes_are_disjoint_and_cover_everything, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(101);
    tg_rng rng = tg_rng_seeded(5);
    tg_dataset *train = NULL, *validation = NULL;
    cr_assert_eq(tg_dataset_split(ds, 0.2, &rng, &train, &validation), TG_OK);
    cr_assert_eq(tg_dataset_count(validation), 20); /* round(0.2 * 101) */
    cr_assert_eq(tg_dataset_count(train), 81);
    int seen[101] = {0};
    for (int64_t i = 0; i < 81; ++i) seen[(int)tg_dataset_feature(train, i, 0)]++;
    for (int64_t i = 0; i < 20; ++i) seen[(int)tg_dataset_feature(validation, i, 0)]++;
    for (int i = 0; i < 101; ++i) cr_assert_eq(seen[i], 1, "row %d seen %d times", i, seen[i]);
    /* Views keep features and labels together. */
    int64_t row = (int64_t)tg_dataset_feature(validation, 3, 0);
    cr_assert_eq(tg_dataset_feature(validation, 3, 1), 10.0 * (double)row);
    cr_assert_eq(tg_dataset_class(validation, 3), row % 3);

    /* The parent can go first: storage is shared and reference-counted. */
    tg_dataset_free(ds);
    cr_assert_eq(tg_dataset_feature(train, 80, 1), 10.0 * tg_dataset_feature(train, 80, 0));

    tg_rng again = tg_rng_seeded(5);
    tg_dataset *ds2 = counting_dataset(101), *train2 = NULL, *validation2 = NULL;
    cr_assert_eq(tg_dataset_split(ds2, 0.2, &again, &train2, &validation2), TG_OK);
    for (int64_t i = 0; i < 20; ++i)
        cr_assert_eq(tg_dataset_feature(validation2, i, 0), tg_dataset_feature(validation, i, 0));
    tg_dataset_free(train);
    tg_dataset_free(validation);
    tg_dataset_free(train2);
    tg_dataset_free(validation2);
    tg_dataset_free(ds2);
}

Test(dataset, split_refuses_bad_fractions, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(10), *train = (tg_dataset *)1, *validation = (tg_dataset *)1;
    tg_rng rng = tg_rng_seeded(1);
    cr_assert_eq(tg_dataset_split(ds, 1.5, &rng, &train, &validation), TG_ERR_ARGUMENT);
    cr_assert_null(train);
    cr_assert_null(validation);
    assert_error_from("tg_dataset_split");
    tg_dataset_free(ds);
}

Test(dataset, fill_batch_copies_rows_and_encodes_labels, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(10);
    tg_tensor *x = tg_zeros(TG_F32, 2, (const int64_t[]){3, 2});
    tg_tensor *y_index = tg_zeros(TG_F64, 1, (const int64_t[]){3});
    tg_tensor *y_hot = tg_zeros(TG_F32, 2, (const int64_t[]){3, 3});
    const int64_t rows[3] = {7, 0, 5};
    cr_assert_eq(tg_dataset_fill_batch(ds, rows, 3, x, y_index, TG_ENCODE_INDEX), TG_OK, "%s",
                 tg_last_error_message());
    const float expected_x[6] = {7, 70, 0, 0, 5, 50};
    cr_assert_eq(memcmp(x->data, expected_x, sizeof expected_x), 0);
    const double expected_y[3] = {1, 0, 2};
    cr_assert_eq(memcmp(y_index->data, expected_y, sizeof expected_y), 0);
    cr_assert_eq(tg_dataset_fill_batch(ds, rows, 3, x, y_hot, TG_ENCODE_ONE_HOT), TG_OK);
    const float expected_hot[9] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
    cr_assert_eq(memcmp(y_hot->data, expected_hot, sizeof expected_hot), 0);

    cr_assert_eq(tg_dataset_fill_range(ds, 8, 3, x, NULL, TG_ENCODE_INDEX), TG_ERR_ARGUMENT, "rows 8..10 of 10");
    assert_error_from("tg_dataset_fill_range");
    const int64_t bad_rows[3] = {1, 10, 2};
    cr_assert_eq(tg_dataset_fill_batch(ds, bad_rows, 3, x, NULL, TG_ENCODE_INDEX), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_dataset_fill_batch(ds, rows, 2, x, NULL, TG_ENCODE_INDEX), TG_ERR_SHAPE, "x has 3 rows");
    cr_assert_eq(tg_dataset_fill_batch(ds, rows, 3, x, y_hot, TG_ENCODE_INDEX), TG_ERR_SHAPE);
    assert_error_from("tg_dataset_fill_batch");
    tg_free(x);
    tg_free(y_index);
    tg_free(y_hot);
    tg_dataset_free(ds);
}

Test(dataset, batches_cover_an_epoch_with_a_partial_last_batch, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(10);
    tg_batches *b = tg_batches_new(ds, 4, TG_F64, TG_ENCODE_INDEX);
    cr_assert_not_null(b, "%s", tg_last_error_message());
    cr_assert_eq(tg_batches_per_epoch(b), 3);
    tg_rng rng = tg_rng_seeded(9);
    cr_assert_eq(tg_batches_shuffle(b, &rng), TG_OK);
    int seen[10] = {0};
    int64_t sizes[4] = {0};
    tg_tensor *x = NULL, *y = NULL, *first_x = NULL;
    for (int k = 0; k < 4; ++k) {
        sizes[k] = tg_batches_next(b, &x, &y);
        if (sizes[k] <= 0) break;
        if (k == 0) first_x = x;
        cr_assert_eq(x->shape[0], sizes[k]);
        cr_assert_eq(y->shape[0], sizes[k]);
        for (int64_t i = 0; i < sizes[k]; ++i) {
            double row = ((double *)x->data)[2 * i];
            seen[(int)row]++;
            cr_assert_eq(((double *)y->data)[i], fmod(row, 3.0));
        }
    }
    cr_assert_eq(sizes[0], 4);
    cr_assert_eq(sizes[1], 4);
    cr_assert_eq(sizes[2], 2, "the partial batch");
    cr_assert_eq(sizes[3], 0, "end of epoch");
    for (int i = 0; i < 10; ++i) cr_assert_eq(seen[i], 1);
    /* The next epoch reuses the same tensors: nothing is allocated per step. */
    cr_assert_eq(tg_batches_next(b, &x, &y), 4);
    cr_assert_eq(x, first_x);
    tg_batches_free(b);
    tg_dataset_free(ds);
}

/* A walker saved mid-epoch (order and position) and restored into a fresh
 * walker hands out the same remaining batches, then ends the epoch. */
Test(dataset, batches_restored_mid_epoch_continue_with_the_same_rows, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(10);
    tg_batches *b = tg_batches_new(ds, 4, TG_F64, TG_ENCODE_INDEX);
    tg_rng rng = tg_rng_seeded(9);
    cr_assert_eq(tg_batches_shuffle(b, &rng), TG_OK);
    tg_tensor *x = NULL, *y = NULL;
    cr_assert_eq(tg_batches_position(b), 0);
    cr_assert_eq(tg_batches_next(b, &x, &y), 4);
    cr_assert_eq(tg_batches_position(b), 4);
    int64_t order[10];
    cr_assert_eq(tg_batches_get_order(b, order), TG_OK);
    int64_t position = tg_batches_position(b);

    tg_batches *resumed = tg_batches_new(ds, 4, TG_F64, TG_ENCODE_INDEX);
    cr_assert_eq(tg_batches_restore(resumed, order, position), TG_OK, "%s", tg_last_error_message());
    tg_tensor *rx = NULL, *ry = NULL;
    for (int k = 0; k < 2; ++k) {
        int64_t rows = tg_batches_next(b, &x, &y);
        cr_assert_eq(tg_batches_next(resumed, &rx, &ry), rows);
        cr_assert_eq(memcmp(rx->data, x->data, (size_t)x->numel * sizeof(double)), 0, "batch %d differs", k);
        cr_assert_eq(memcmp(ry->data, y->data, (size_t)y->numel * sizeof(double)), 0);
    }
    cr_assert_eq(tg_batches_position(resumed), 10);
    cr_assert_eq(tg_batches_next(resumed, &rx, &ry), 0, "the epoch ends where the original's does");
    tg_batches_free(resumed);
    tg_batches_free(b);
    tg_dataset_free(ds);
}

/* Only a permutation of all samples and a position inside the epoch are
 * accepted, and a refused restore leaves the walker as it was. */
Test(dataset, batches_restore_refuses_what_is_not_an_epoch, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(4);
    tg_batches *b = tg_batches_new(ds, 2, TG_F64, TG_ENCODE_INDEX);
    const int64_t repeated[4] = {0, 1, 1, 3}, outside[4] = {0, 1, 2, 4}, good[4] = {3, 2, 1, 0};
    cr_assert_eq(tg_batches_restore(b, repeated, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_batches_restore", "entry 2 is 1");
    cr_assert_eq(tg_batches_restore(b, outside, 0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_batches_restore", "entry 3 is 4");
    cr_assert_eq(tg_batches_restore(b, good, 5), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_batches_restore", "position 5");
    cr_assert_eq(tg_batches_restore(NULL, good, 0), TG_ERR_ARGUMENT);
    tg_clear_error();
    cr_assert_eq(tg_batches_position(NULL), -1);
    tg_clear_error();
    int64_t order[4];
    cr_assert_eq(tg_batches_get_order(b, order), TG_OK);
    const int64_t sequential[4] = {0, 1, 2, 3};
    cr_assert_eq(memcmp(order, sequential, sizeof order), 0, "refused restores changed nothing");
    cr_assert_eq(tg_batches_position(b), 0);
    cr_assert_eq(tg_batches_restore(b, good, 4), TG_OK);
    tg_tensor *x = NULL, *y = NULL;
    cr_assert_eq(tg_batches_next(b, &x, &y), 0, "position 4 of 4: the epoch is over");
    cr_assert_eq(tg_batches_next(b, &x, &y), 2);
    cr_assert_eq(((double *)x->data)[0], 3.0, "the restored order is used: row 3 first");
    tg_batches_free(b);
    tg_dataset_free(ds);
}

Test(dataset, standardization_gives_zero_mean_unit_std, .init = return_mode)
{
    /* uint8 storage with scale 1/255 and a constant feature. */
    const int64_t n = 500;
    tg_dataset *ds = tg_dataset_new(TG_FEATURES_U8, n, 1, (const int64_t[]){3}, TG_LABELS_NONE, 0);
    cr_assert_not_null(ds);
    uint8_t *bytes = tg_dataset_features_data(ds);
    tg_rng rng = tg_rng_seeded(3);
    for (int64_t i = 0; i < n; ++i) {
        bytes[3 * i] = (uint8_t)tg_rng_below(&rng, 256);
        bytes[3 * i + 1] = (uint8_t)(i % 7 * 30);
        bytes[3 * i + 2] = 17;
    }
    cr_assert_eq(tg_dataset_set_scale(ds, 1.0 / 255.0), TG_OK);
    tg_scaler *scaler = tg_scaler_fit_standard(ds);
    cr_assert_not_null(scaler);
    cr_assert_eq(tg_dataset_set_scaler(ds, scaler), TG_OK);
    for (int f = 0; f < 3; ++f) {
        double sum = 0, sum_sq = 0;
        for (int64_t i = 0; i < n; ++i) sum += tg_dataset_feature(ds, i, f);
        double mean = sum / (double)n;
        for (int64_t i = 0; i < n; ++i) sum_sq += pow(tg_dataset_feature(ds, i, f) - mean, 2);
        cr_assert_float_eq(mean, 0.0, 1e-12, "feature %d mean %g", f, mean);
        cr_assert_float_eq(sqrt(sum_sq / (double)n), f == 2 ? 0.0 : 1.0, 1e-12, "feature %d", f);
    }
    /* The constant feature keeps factor 1 (no division by zero). */
    cr_assert_eq(tg_scaler_factor(scaler, 2), 1.0);
    cr_assert_float_eq(tg_scaler_shift(scaler, 2), 17.0 / 255.0, 1e-15);

    /* Fitted on train, applied to another set of a different size: fine;
     * to a set with another feature count: refused. */
    tg_dataset *other = tg_dataset_new(TG_FEATURES_F64, 4, 1, (const int64_t[]){2}, TG_LABELS_NONE, 0);
    cr_assert_eq(tg_dataset_set_scaler(other, scaler), TG_ERR_SHAPE);
    assert_error_from("tg_dataset_set_scaler");
    tg_dataset_free(other);
    tg_scaler_free(scaler);
    tg_dataset_free(ds);
}

Test(dataset, minmax_maps_the_training_range, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(11); /* feature 0 in 0..10, feature 1 in 0..100 */
    tg_scaler *scaler = tg_scaler_fit_minmax(ds, -1.0, 1.0);
    cr_assert_not_null(scaler);
    tg_dataset_set_scaler(ds, scaler);
    cr_assert_float_eq(tg_dataset_feature(ds, 0, 0), -1.0, 1e-12);
    cr_assert_float_eq(tg_dataset_feature(ds, 10, 0), 1.0, 1e-12);
    cr_assert_float_eq(tg_dataset_feature(ds, 5, 1), 0.0, 1e-12);
    /* Subsets made afterwards inherit the scaler. */
    tg_dataset *sub = tg_dataset_subset(ds, (const int64_t[]){10, 0}, 2);
    cr_assert_float_eq(tg_dataset_feature(sub, 0, 1), 1.0, 1e-12);
    tg_tensor *x = tg_zeros(TG_F64, 2, (const int64_t[]){2, 2});
    cr_assert_eq(tg_dataset_fill_range(sub, 0, 2, x, NULL, TG_ENCODE_INDEX), TG_OK);
    cr_assert_float_eq(((double *)x->data)[3], -1.0, 1e-12);
    cr_assert_null(tg_scaler_fit_minmax(ds, 1.0, 1.0));
    assert_error_from("tg_scaler_fit_minmax");
    tg_free(x);
    tg_dataset_free(sub);
    tg_scaler_free(scaler);
    tg_dataset_free(ds);
}

Test(dataset, subsets_refuse_bad_rows_and_writes, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(5);
    cr_assert_null(tg_dataset_subset(ds, (const int64_t[]){0, 5}, 2));
    assert_error_from("tg_dataset_subset");
    tg_dataset *sub = tg_dataset_subset(ds, (const int64_t[]){4, 4}, 2);
    cr_assert_not_null(sub);
    cr_assert_null(tg_dataset_features_data(sub), "views are read-only");
    cr_assert_eq(tg_dataset_class(sub, 1), 1);
    cr_assert_eq(tg_dataset_class(sub, 2), -1);
    tg_dataset_free(sub);
    tg_dataset_free(ds);
}

Test(dataset, refuses_bad_construction, .init = return_mode)
{
    cr_assert_null(tg_dataset_new(TG_FEATURES_F32, -1, 1, (const int64_t[]){2}, TG_LABELS_NONE, 0));
    assert_error_from("tg_dataset_new");
    cr_assert_null(tg_dataset_new(TG_FEATURES_F32, 1, 1, (const int64_t[]){0}, TG_LABELS_NONE, 0));
    cr_assert_null(tg_dataset_new(TG_FEATURES_F32, 1, 1, (const int64_t[]){2}, TG_LABELS_CLASS, 0));
    cr_assert_null(tg_dataset_new(TG_FEATURES_U8, INT64_MAX / 2, 1, (const int64_t[]){4}, TG_LABELS_NONE, 0));
    cr_assert_eq(tg_last_error(), TG_ERR_MEMORY);
}

Test(dataset, fill_refuses_out_of_range_class_labels, .init = return_mode)
{
    tg_dataset *ds = counting_dataset(3);
    tg_dataset_classes_data(ds)[1] = 3; /* only classes 0..2 exist */
    tg_tensor *x = tg_zeros(TG_F32, 2, (const int64_t[]){3, 2});
    tg_tensor *y = tg_zeros(TG_F32, 1, (const int64_t[]){3});
    cr_assert_eq(tg_dataset_fill_range(ds, 0, 3, x, y, TG_ENCODE_INDEX), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "class 3"));
    tg_free(x);
    tg_free(y);
    tg_dataset_free(ds);
}
