/* Tests of the CSV reader (data/csv.c). */
#include <math.h>

#include "helpers.h"

/* Writes `text` to a temporary file; returns its path in path (dir in dir). */
static void csv_file(char *dir, char *path, const char *text)
{
    make_temp_dir(dir, 64);
    snprintf(path, 128, "%s/table.csv", dir);
    write_text(path, text);
}

Test(csv, reads_a_table_with_header_and_class_labels, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "x,y,label\r\n1.5, -2 ,0\r\n\"3\",4e1,2\r\n\r\n0.25,0,1\r\n");
    tg_csv_options options = {',', true, -1, TG_LABELS_CLASS, TG_FEATURES_F64, 0};
    tg_dataset *ds = tg_csv_load(path, &options);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), 3);
    cr_assert_eq(tg_dataset_feature_size(ds), 2);
    cr_assert_eq(tg_dataset_label_width(ds), 3, "classes 0..2");
    cr_assert_eq(tg_dataset_feature(ds, 0, 0), 1.5);
    cr_assert_eq(tg_dataset_feature(ds, 0, 1), -2.0);
    cr_assert_eq(tg_dataset_feature(ds, 1, 0), 3.0);
    cr_assert_eq(tg_dataset_feature(ds, 1, 1), 40.0);
    cr_assert_eq(tg_dataset_class(ds, 1), 2);
    cr_assert_eq(tg_dataset_class(ds, 2), 1);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
}

Test(csv, takes_the_label_from_any_column_as_a_target, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "10;1;2\n20;3;4\n");
    tg_csv_options options = {';', false, 0, TG_LABELS_TARGET, TG_FEATURES_F32, 0};
    tg_dataset *ds = tg_csv_load(path, &options);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_storage(ds), TG_FEATURES_F32);
    cr_assert_eq(tg_dataset_target(ds, 1, 0), 20.0);
    cr_assert_eq(tg_dataset_feature(ds, 1, 0), 3.0);
    cr_assert_eq(tg_dataset_feature(ds, 1, 1), 4.0);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
}

Test(csv, reads_features_only_without_a_label, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "1,2,3\n4,5,6");  /* no final newline */
    tg_csv_options options = {0, false, TG_CSV_NO_LABEL, TG_LABELS_NONE, TG_FEATURES_F64, 0};
    tg_dataset *ds = tg_csv_load(path, &options);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), 2);
    cr_assert_eq(tg_dataset_feature_size(ds), 3);
    cr_assert_eq(tg_dataset_label_kind(ds), TG_LABELS_NONE);
    cr_assert_eq(tg_dataset_feature(ds, 1, 2), 6.0);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
}

/* Loads `text` with default options and expects an error naming `where`. */
static void expect_csv_error(const char *text, const char *where, const char *what)
{
    char dir[64], path[128], location[200];
    csv_file(dir, path, text);
    tg_clear_error();
    cr_assert_null(tg_csv_load(path, NULL));
    cr_assert_eq(tg_last_error(), TG_ERR_FORMAT);
    assert_error_from("tg_csv_load");
    snprintf(location, sizeof location, "%s%s", path, where);
    cr_assert_not_null(strstr(tg_last_error_message(), location), "'%s' lacks '%s'", tg_last_error_message(),
                       location);
    cr_assert_not_null(strstr(tg_last_error_message(), what), "'%s' lacks '%s'", tg_last_error_message(), what);
    remove_temp_dir(dir);
}

Test(csv, reports_a_bad_number_with_line_and_column, .init = return_mode)
{
    expect_csv_error("1,2,0\n3,abc,1\n", ":2:2:", "'abc'");
    expect_csv_error("1,,0\n", ":1:2:", "not a finite number");
    expect_csv_error("1,2,0\n\n1,nan,0\n", ":3:2:", "'nan'");
    expect_csv_error("1,2,0\n1,2,1.5\n", ":2:3:", "class label 1.5");
}

Test(csv, reports_a_ragged_row, .init = return_mode)
{
    expect_csv_error("1,2,0\n3,4,5,1\n", ":2:", "4 fields, expected 3");
    expect_csv_error("1,2,0\n3,1\n", ":2:", "2 fields, expected 3");
}

Test(csv, reports_empty_and_missing_files, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "\n\n");
    cr_assert_null(tg_csv_load(path, NULL));
    cr_assert_not_null(strstr(tg_last_error_message(), "empty"));
    remove_temp_dir(dir);
    cr_assert_null(tg_csv_load("/nonexistent.csv", NULL));
    cr_assert_eq(tg_last_error(), TG_ERR_IO);
}

Test(csv, refuses_a_ragged_row_before_sizing_the_table, .init = return_mode)
{
    /* A first line of 2^19 fields, then 2^19 one-field lines: 2 MB of text,
     * but 2^38 values (2 TiB as float64) if the table were sized from the
     * first line and the row count before the rows were checked. The row
     * count must not be trusted either: line 2 is the error. */
    enum { N = 1 << 19 };
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/table.csv", dir);
    char *text = malloc(4 * (size_t)N + 1);
    cr_assert_not_null(text);
    size_t at = 0;
    for (int i = 0; i < N; ++i) {
        text[at++] = '0';
        text[at++] = i + 1 < N ? ',' : '\n';
    }
    for (int i = 0; i < N; ++i) {
        text[at++] = '1';
        text[at++] = '\n';
    }
    write_bytes(path, text, at);
    free(text);
    cr_assert_null(tg_csv_load(path, NULL));
    assert_error(TG_ERR_FORMAT, "tg_csv_load", "table.csv:2: ragged row: 1 fields, expected 524288");
    remove_temp_dir(dir);
}

Test(csv, refuses_features_outside_the_float32_range_when_storing_float32, .init = return_mode)
{
    /* 2e49 is a finite double but above FLT_MAX (about 3.4e38): stored as
     * float32 it would become +inf. Found by fuzz_csv. In float64 storage the
     * same file is fine, and a float64 target may hold it. */
    char dir[64], path[128];
    csv_file(dir, path, "0;2e49\n");
    tg_csv_options f32 = {';', false, 0, TG_LABELS_TARGET, TG_FEATURES_F32, 0};
    cr_assert_null(tg_csv_load(path, &f32));
    assert_error(TG_ERR_FORMAT, "tg_csv_load", "table.csv:1:2: '2e49' is outside the float32 range");
    tg_csv_options f64 = {';', false, 0, TG_LABELS_TARGET, TG_FEATURES_F64, 0};
    tg_dataset *ds = tg_csv_load(path, &f64);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_feature(ds, 0, 0), 2e49);
    tg_dataset_free(ds);
    tg_csv_options target = {';', false, 1, TG_LABELS_TARGET, TG_FEATURES_F32, 0};
    ds = tg_csv_load(path, &target);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_target(ds, 0, 0), 2e49);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
}

/* ---- class bound, byte order mark, long fields (issue 21) ---- */

Test(csv, refuses_a_class_label_beyond_the_class_bound, .init = return_mode)
{
    /* One line whose label 2147483646 made a one-hot batch of that one row
     * ask for 2^31 floats (9.4 GB with the batch's other rows). */
    expect_csv_error("0.5,2147483646\n", ":1:2:", "class label 2147483646 is not below the 65536 classes allowed");
    /* The largest label the default allows, and the first it refuses. */
    char dir[64], path[128];
    csv_file(dir, path, "0.5,65535\n");
    tg_dataset *ds = tg_csv_load(path, NULL);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_label_width(ds), 65536);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
    expect_csv_error("0.5,1\n0.25,65536\n", ":2:2:", "class label 65536 is not below the 65536 classes allowed");
}

Test(csv, max_classes_moves_the_class_bound, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "0.5,70000\n");
    tg_csv_options options = {.delimiter = ',', .label_column = -1, .label_kind = TG_LABELS_CLASS,
                              .storage = TG_FEATURES_F32, .max_classes = 70001};
    tg_dataset *ds = tg_csv_load(path, &options);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_label_width(ds), 70001);
    cr_assert_eq(tg_dataset_class(ds, 0), 70000);
    tg_dataset_free(ds);
    options.max_classes = 3;
    write_text(path, "0.5,2\n0.5,3\n");
    cr_assert_null(tg_csv_load(path, &options));
    assert_error(TG_ERR_FORMAT, "tg_csv_load", ":2:2: class label 3 is not below the 3 classes allowed");
    options.max_classes = -1;
    cr_assert_null(tg_csv_load(path, &options));
    assert_error(TG_ERR_ARGUMENT, "tg_csv_load", "max_classes");
    remove_temp_dir(dir);
}

Test(csv, skips_a_utf8_byte_order_mark, .init = return_mode)
{
    char dir[64], path[128];
    csv_file(dir, path, "\xef\xbb\xbf" "1.5,2,0\n3,4,1\n");
    tg_dataset *ds = tg_csv_load(path, NULL);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), 2);
    cr_assert_eq(tg_dataset_feature(ds, 0, 0), 1.5);
    cr_assert_eq(tg_dataset_class(ds, 1), 1);
    tg_dataset_free(ds);
    /* Before a header too. */
    write_text(path, "\xef\xbb\xbf" "x,y,label\n1.5,2,0\n");
    tg_csv_options options = {',', true, -1, TG_LABELS_CLASS, TG_FEATURES_F64, 0};
    ds = tg_csv_load(path, &options);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_count(ds), 1);
    cr_assert_eq(tg_dataset_feature(ds, 0, 1), 2.0);
    tg_dataset_free(ds);
    remove_temp_dir(dir);
}

Test(csv, reads_long_numeric_fields_and_names_an_overlong_one, .init = return_mode)
{
    /* "0." then 199 zeros then "15" is 1.5e-200 (202 characters), and "1"
     * then 299 zeros is 1e299: valid numbers longer than the 127 characters
     * once allowed. */
    char text[1024];
    size_t at = 0;
    at += (size_t)snprintf(text + at, sizeof text - at, "0.");
    for (int i = 0; i < 199; ++i) text[at++] = '0';
    at += (size_t)snprintf(text + at, sizeof text - at, "15,1");
    for (int i = 0; i < 299; ++i) text[at++] = '0';
    snprintf(text + at, sizeof text - at, ",1\n");
    char dir[64], path[128];
    csv_file(dir, path, text);
    tg_dataset *ds = tg_csv_load(path, NULL);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    cr_assert_eq(tg_dataset_feature(ds, 0, 0), 1.5e-200);
    cr_assert_eq(tg_dataset_feature(ds, 0, 1), 1e299);
    tg_dataset_free(ds);
    remove_temp_dir(dir);

    /* One character over TG_CSV_FIELD_MAX (4096): refused as too long. */
    char *overlong = malloc(TG_CSV_FIELD_MAX + 16);
    cr_assert_not_null(overlong);
    memcpy(overlong, "1,", 2);
    memset(overlong + 2, '7', TG_CSV_FIELD_MAX + 1);
    snprintf(overlong + 2 + TG_CSV_FIELD_MAX + 1, 8, ",0\n");
    expect_csv_error(overlong, ":1:2:", "is 4097 characters long, over the 4096 allowed");
    free(overlong);
}
