/* Tests on the real MNIST files, from the directory tg_mnist_find_dir finds
 * ($TG_SHARED_DIR/data/mnist first, set by tests/meson.build). Expected
 * values: the MNIST page (60000/10000 samples, 28x28), and the well-known first labels 5 (train) and 7 (t10k) and class
 * counts (train: 5923 zeros, 6742 ones; t10k: 980 zeros, 1135 ones). */
#include <math.h>
#include <stdint.h>

#include "helpers.h"

/* Writes the MNIST directory (as tg_mnist_find_dir finds it) into dir, or
 * skips the test. The runner checks the same before running this suite
 * (tests/main.c), so a skip here is reported by meson too. */
static void shared_mnist_dir(char *dir, size_t size)
{
    if (tg_mnist_find_dir(dir, size) != TG_OK) cr_skip_test("MNIST not found: %s", tg_last_error_message());
}

static void check_split(const char *split, int64_t count, int64_t first_label, int64_t zeros, int64_t ones)
{
    char dir[1024];
    shared_mnist_dir(dir, sizeof dir);
    tg_dataset *ds = tg_mnist_load(dir, split);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), count);
    cr_assert_eq(tg_dataset_feature_size(ds), 784);
    int64_t shape[TG_MAX_RANK];
    cr_assert_eq(tg_dataset_feature_shape(ds, shape), 2);
    cr_assert_eq(shape[0], 28);
    cr_assert_eq(shape[1], 28);
    cr_assert_eq(tg_dataset_storage(ds), TG_FEATURES_U8);
    cr_assert_eq(tg_dataset_label_width(ds), 10);
    cr_assert_eq(tg_dataset_class(ds, 0), first_label);

    int64_t histogram[10] = {0}, total = 0;
    for (int64_t i = 0; i < count; ++i) histogram[tg_dataset_class(ds, i)]++;
    for (int k = 0; k < 10; ++k) total += histogram[k];
    cr_assert_eq(total, count);
    cr_assert_eq(histogram[0], zeros);
    cr_assert_eq(histogram[1], ones);

    /* Pixels are bytes / 255: all in [0, 1], corners blank, some ink at 1. */
    double max_pixel = 0.0;
    for (int64_t f = 0; f < 784; ++f) max_pixel = fmax(max_pixel, tg_dataset_feature(ds, 0, f));
    cr_assert_float_eq(max_pixel, 1.0, 1e-12);
    cr_assert_eq(tg_dataset_feature(ds, 0, 0), 0.0);
    tg_dataset_free(ds);
}

Test(mnist, loads_the_training_set, .init = return_mode)
{
    check_split("train", 60000, 5, 5923, 6742);
}

Test(mnist, loads_the_test_set, .init = return_mode)
{
    check_split("t10k", 10000, 7, 980, 1135);
}

Test(mnist, fills_batches_of_float32_pixels, .init = return_mode)
{
    char dir[1024];
    shared_mnist_dir(dir, sizeof dir);
    tg_dataset *ds = tg_mnist_load(dir, "t10k");
    cr_assert_not_null(ds);
    tg_batches *batches = tg_batches_new(ds, 64, TG_F32, TG_ENCODE_ONE_HOT);
    cr_assert_not_null(batches, "%s", tg_last_error_message());
    cr_assert_eq(tg_batches_per_epoch(batches), 157); /* ceil(10000 / 64) */
    tg_tensor *x = NULL, *y = NULL;
    int64_t rows = 0, seen = 0, batches_seen = 0;
    while ((rows = tg_batches_next(batches, &x, &y)) > 0) {
        seen += rows;
        batches_seen++;
    }
    cr_assert_eq(rows, 0);
    cr_assert_eq(seen, 10000);
    cr_assert_eq(batches_seen, 157);
    /* First batch again (sequential order): sample 0 is a 7. */
    cr_assert_eq(tg_batches_next(batches, &x, &y), 64);
    cr_assert_eq(x->shape[1], 784);
    cr_assert_eq(((float *)y->data)[7], 1.0f);
    cr_assert_eq(((float *)y->data)[0], 0.0f);
    tg_batches_free(batches);
    tg_dataset_free(ds);
}

Test(mnist, finds_the_directory_from_the_environment, .init = return_mode)
{
    char dir[1024], found[1024];
    unsetenv("TG_MNIST_DIR");
    shared_mnist_dir(dir, sizeof dir);
    setenv("TG_MNIST_DIR", dir, 1);
    cr_assert_eq(tg_mnist_find_dir(found, sizeof found), TG_OK);
    cr_assert_str_eq(found, dir);
    cr_assert_eq(tg_mnist_find_dir(found, 4), TG_ERR_ARGUMENT);
    setenv("TG_MNIST_DIR", "/nonexistent", 1);
    cr_assert_eq(tg_mnist_find_dir(found, sizeof found), TG_OK, "falls back to the next candidate");
    cr_assert_str_eq(found, dir);
}

/* Needs no MNIST files: not in the suite the runner skips without them. */
Test(mnist_errors, refuses_unknown_splits_and_missing_files, .init = return_mode)
{
    cr_assert_null(tg_mnist_load("/tmp", "validation"));
    assert_error_from("tg_mnist_load");
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_null(tg_mnist_load("/nonexistent", "train"));
    cr_assert_eq(tg_last_error(), TG_ERR_IO);
    cr_assert_not_null(strstr(tg_last_error_message(), "fetch-mnist.sh"));
}
