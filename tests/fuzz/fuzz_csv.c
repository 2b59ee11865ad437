/* tests/fuzz/fuzz_csv.c — the CSV reader (data/csv.c). The first input byte
 * chooses the options (the class bound is the default), the rest is the file:
 *   bits 0-1  delimiter  ',' ';' '\t' ' '
 *   bit  2    has_header
 *   bits 3-4  label column  -1, 0, 1, none
 *   bit  5    label kind    class, target
 *   bit  6    storage       float64, float32 */
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_return_errors();
    if (size < 1) return 0;
    static const char delimiters[4] = {',', ';', '\t', ' '};
    static const int label_columns[4] = {-1, 0, 1, TG_CSV_NO_LABEL};
    uint8_t choice = data[0];
    tg_csv_options options = {delimiters[choice & 3], (choice >> 2) & 1, label_columns[(choice >> 3) & 3],
                              (choice >> 5) & 1 ? TG_LABELS_TARGET : TG_LABELS_CLASS,
                              (choice >> 6) & 1 ? TG_FEATURES_F32 : TG_FEATURES_F64, 0};
    /* An exact-size heap copy: the text is not NUL-terminated, and a parser
     * that assumed it was would read past the end. */
    size_t text_size = size - 1;
    uint8_t *text = malloc(text_size ? text_size : 1);
    if (!text) return 0;
    memcpy(text, data + 1, text_size);
    tg_dataset *ds = tgi_csv_parse("input", text, text_size, &options);
    free(text);
    if (!ds) return 0;
    /* Accepted: every value is finite and every label in range. */
    int64_t rows = tg_dataset_count(ds), features = tg_dataset_feature_size(ds);
    tg_label_kind kind = tg_dataset_label_kind(ds);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t f = 0; f < features; ++f)
            if (!(tg_dataset_feature(ds, r, f) * 0.0 == 0.0)) abort();
        if (kind == TG_LABELS_CLASS &&
            (tg_dataset_class(ds, r) < 0 || tg_dataset_class(ds, r) >= tg_dataset_label_width(ds) ||
             tg_dataset_label_width(ds) > TG_CSV_DEFAULT_MAX_CLASSES))
            abort();
        if (kind == TG_LABELS_TARGET && !(tg_dataset_target(ds, r, 0) * 0.0 == 0.0)) abort();
    }
    tg_dataset_free(ds);
    return 0;
}
