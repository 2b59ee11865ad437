/* tests/fuzz/fuzz_idx.c — tg_idx_load's path after the file read (gunzip if
 * the magic bytes say so, then the IDX parser), and tg_dataset_from_idx on
 * what it accepts. */
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tests/fuzz/fuzz.h"

/* Feeds an accepted uint8 image array to tg_dataset_from_idx with all-zero
 * labels, reading back every value so that ASan sees each byte. Takes
 * ownership of `images`. */
static void fuzz_dataset(tg_idx *images, size_t input_size)
{
    /* The labels are the harness's own allocation: keep it within the input's size. */
    if (images->dims[0] > (int64_t)input_size) {
        tg_idx_free(images);
        return;
    }
    tg_idx *labels = malloc(sizeof *labels);
    uint8_t *zeros = calloc((size_t)images->dims[0] + 1, 1);
    if (!labels || !zeros) abort();
    *labels = (tg_idx){TG_IDX_U8, 1, {images->dims[0]}, images->dims[0], zeros};
    tg_dataset *ds = tg_dataset_from_idx(images, labels, 10, 1.0 / 255.0);
    if (!ds) return;
    double sum = 0.0;
    int64_t rows = tg_dataset_count(ds), features = tg_dataset_feature_size(ds);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t f = 0; f < features; ++f) sum += tg_dataset_feature(ds, r, f);
        if (tg_dataset_class(ds, r) != 0) abort();
    }
    if (!(sum >= 0.0)) abort();
    tg_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_return_errors();
    /* An exact-size heap copy, so that ASan catches a read one byte too far. */
    uint8_t *raw = malloc(size ? size : 1);
    if (!raw) return 0;
    memcpy(raw, data, size);
    uint8_t *bytes = NULL;
    size_t bytes_size = 0;
    if (tgi_decode_bytes("fuzz_idx", "input", raw, size, FUZZ_MAX_OUTPUT, &bytes, &bytes_size)) return 0;
    tg_idx *idx = tgi_idx_parse("fuzz_idx", "input", bytes, bytes_size);
    if (!idx) return 0;
    /* Accepted: count * element size must be the data's exact length. */
    size_t element = tg_idx_type_size(idx->type);
    if (element == 0 || idx->count < 0 || (uint64_t)idx->count * element > bytes_size) abort();
    const uint8_t *payload = idx->data;
    unsigned check = 0;
    for (size_t i = 0; i < (size_t)idx->count * element; ++i) check += payload[i];
    (void)check;
    if (idx->type == TG_IDX_U8 && idx->rank >= 2) fuzz_dataset(idx, size);
    else tg_idx_free(idx);
    return 0;
}
