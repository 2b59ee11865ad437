/* Tests of the IDX reader and writer (data/idx.c). */
#include <stdint.h>

#include "helpers.h"

Test(idx, round_trips_uint8_arrays, .init = return_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.idx", dir);
    uint8_t values[2 * 3 * 4];
    for (int i = 0; i < 24; ++i) values[i] = (uint8_t)(i * 11);
    const int64_t dims[3] = {2, 3, 4};
    cr_assert_eq(tg_idx_save(path, TG_IDX_U8, 3, dims, values), TG_OK);

    /* The header as the MNIST page describes it: 0x00000803, then big-endian dims. */
    size_t size = 0;
    unsigned char *raw = slurp(path, &size);
    const unsigned char header[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    cr_assert_eq(size, 16 + 24);
    cr_assert_eq(memcmp(raw, header, 16), 0);
    free(raw);

    tg_idx *idx = tg_idx_load(path, 0);
    cr_assert_not_null(idx, "%s", tg_last_error_message());
    cr_assert_eq(idx->type, TG_IDX_U8);
    cr_assert_eq(idx->rank, 3);
    cr_assert_eq(idx->dims[0], 2);
    cr_assert_eq(idx->dims[2], 4);
    cr_assert_eq(idx->count, 24);
    cr_assert_eq(memcmp(idx->data, values, 24), 0);
    tg_idx_free(idx);
    remove_temp_dir(dir);
}

Test(idx, round_trips_multibyte_types_in_host_order, .init = return_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f.idx", dir);
    const double values[3] = {1.5, -0.0, 6.02214076e23};
    const int64_t dims[1] = {3};
    cr_assert_eq(tg_idx_save(path, TG_IDX_F64, 1, dims, values), TG_OK);
    size_t size = 0;
    unsigned char *raw = slurp(path, &size);
    /* 1.5 is 0x3FF8000000000000, stored big-endian. */
    cr_assert_eq(raw[8], 0x3f);
    cr_assert_eq(raw[9], 0xf8);
    free(raw);
    tg_idx *idx = tg_idx_load(path, 0);
    cr_assert_not_null(idx);
    cr_assert_eq(memcmp(idx->data, values, sizeof values), 0);
    tg_idx_free(idx);

    const int32_t ints[2] = {-2, 70000};
    cr_assert_eq(tg_idx_save(path, TG_IDX_I32, 1, (const int64_t[]){2}, ints), TG_OK);
    idx = tg_idx_load(path, 0);
    cr_assert_not_null(idx);
    cr_assert_eq(((int32_t *)idx->data)[0], -2);
    cr_assert_eq(((int32_t *)idx->data)[1], 70000);
    tg_idx_free(idx);
    remove_temp_dir(dir);
}

Test(idx, reads_gzipped_files, .init = return_mode)
{
    if (!have_program("gzip --version > /dev/null 2>&1")) cr_skip_test("the gzip program is not installed");
    char dir[64], path[128], command[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.idx", dir);
    uint8_t values[1000];
    for (int i = 0; i < 1000; ++i) values[i] = (uint8_t)(i % 7);
    cr_assert_eq(tg_idx_save(path, TG_IDX_U8, 2, (const int64_t[]){10, 100}, values), TG_OK);
    snprintf(command, sizeof command, "gzip -n '%s'", path);
    cr_assert_eq(system(command), 0);
    snprintf(path, sizeof path, "%s/a.idx.gz", dir);
    tg_idx *idx = tg_idx_load(path, 0);
    cr_assert_not_null(idx, "%s", tg_last_error_message());
    cr_assert_eq(idx->count, 1000);
    cr_assert_eq(memcmp(idx->data, values, 1000), 0);
    tg_idx_free(idx);
    remove_temp_dir(dir);
}

/* Writes `bytes` to a file and expects tg_idx_load to refuse it with a
 * message containing `expected`. */
static void expect_refused(const unsigned char *bytes, size_t size, const char *expected)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.idx", dir);
    write_bytes(path, bytes, size);
    tg_clear_error();
    cr_assert_null(tg_idx_load(path, 0));
    cr_assert_eq(tg_last_error(), TG_ERR_FORMAT);
    assert_error_from("tg_idx_load");
    cr_assert_not_null(strstr(tg_last_error_message(), path), "message does not name the file");
    cr_assert_not_null(strstr(tg_last_error_message(), expected), "'%s' lacks '%s'", tg_last_error_message(),
                       expected);
    remove_temp_dir(dir);
}

Test(idx, refuses_truncated_headers, .init = return_mode)
{
    const unsigned char bytes[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0};
    expect_refused(bytes, sizeof bytes, "truncated");
    expect_refused(bytes, 3, "too short");
}

Test(idx, refuses_dims_larger_than_the_data, .init = return_mode)
{
    /* 60000 x 28 x 28 declared, 4 bytes present: the header must not be trusted. */
    const unsigned char bytes[] = {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3, 4};
    expect_refused(bytes, sizeof bytes, "(60000,28,28)");
    /* 2^32-1 in every dim overflows int64 when multiplied. */
    const unsigned char huge[] = {0,    0,    8,    3,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,    2,    3,    4};
    expect_refused(huge, sizeof huge, "data bytes follow");
}

Test(idx, refuses_trailing_bytes, .init = return_mode)
{
    const unsigned char bytes[] = {0, 0, 8, 1, 0, 0, 0, 2, 7, 7, 7};
    expect_refused(bytes, sizeof bytes, "but 3 data bytes follow");
}

Test(idx, refuses_bad_magic_type_and_rank, .init = return_mode)
{
    const unsigned char magic[] = {1, 0, 8, 1, 0, 0, 0, 1, 5};
    expect_refused(magic, sizeof magic, "magic");
    const unsigned char type[] = {0, 0, 7, 1, 0, 0, 0, 1, 5};
    expect_refused(type, sizeof type, "type");
    const unsigned char rank[] = {0, 0, 8, 0, 5};
    expect_refused(rank, sizeof rank, "rank");
}

Test(idx, reports_missing_files, .init = return_mode)
{
    cr_assert_null(tg_idx_load("/nonexistent/dir/file.idx", 0));
    cr_assert_eq(tg_last_error(), TG_ERR_IO);
    assert_error_from("tg_idx_load");
}

Test(idx, dataset_refuses_images_whose_sample_size_overflows, .init = return_mode)
{
    /* 0 images of 2^32-1 x ... x 2^32-1 (rank 8): a valid, empty IDX file,
     * but one image would hold (2^32-1)^7 pixels, which no int64 holds. */
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/images.idx", dir);
    unsigned char bytes[4 + 4 * 8] = {0, 0, 8, 8, 0, 0, 0, 0};
    memset(bytes + 8, 0xff, sizeof bytes - 8);
    write_bytes(path, bytes, sizeof bytes);
    tg_idx *images = tg_idx_load(path, 0);
    cr_assert_not_null(images, "%s", tg_last_error_message());
    cr_assert_eq(images->count, 0);
    tg_idx *labels = calloc(1, sizeof *labels);
    cr_assert_not_null(labels);
    *labels = (tg_idx){TG_IDX_U8, 1, {0}, 0, NULL};
    cr_assert_null(tg_dataset_from_idx(images, labels, 10, 1.0));
    assert_error(TG_ERR_FORMAT, "tg_dataset_from_idx", "overflows");
    remove_temp_dir(dir);
}

Test(idx, dataset_refuses_hand_built_arrays_whose_count_disagrees, .init = return_mode)
{
    /* The struct is public: a count larger than the dims' product (3 * 2)
     * would make the data set read past the 6 bytes of data. */
    tg_idx *images = malloc(sizeof *images), *labels = malloc(sizeof *labels);
    cr_assert(images && labels);
    *images = (tg_idx){TG_IDX_U8, 2, {3, 2}, 600, calloc(6, 1)};
    *labels = (tg_idx){TG_IDX_U8, 1, {3}, 3, calloc(3, 1)};
    cr_assert_null(tg_dataset_from_idx(images, labels, 10, 1.0));
    assert_error(TG_ERR_FORMAT, "tg_dataset_from_idx", "do not agree");
}
