/* data/dataset.c — samples in memory: creation, access, subsets and splits.
 *
 * A data set is a view (a row map, a uint8 scale, an optional scaler) over a
 * reference-counted storage, so that subsets and train/validation splits of
 * MNIST cost an index array, not another copy of 47 MB of pixels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "data/internal.h"

static size_t storage_element_size(tg_feature_storage kind)
{
    switch (kind) {
    case TG_FEATURES_U8: return 1;
    case TG_FEATURES_F32: return sizeof(float);
    case TG_FEATURES_F64: return sizeof(double);
    }
    return 0;
}

static void storage_release(tgi_storage *store)
{
    if (!store || --store->refs > 0) return;
    free(store->features);
    free(store->classes);
    free(store->targets);
    free(store);
}

static tg_scaler *scaler_copy(const tg_scaler *scaler)
{
    tg_scaler *copy = malloc(sizeof *copy);
    size_t bytes = (size_t)scaler->size * sizeof(double);
    if (!copy) return NULL;
    copy->size = scaler->size;
    copy->shift = malloc(bytes ? bytes : 1);
    copy->factor = malloc(bytes ? bytes : 1);
    if (!copy->shift || !copy->factor) {
        tg_scaler_free(copy);
        return NULL;
    }
    memcpy(copy->shift, scaler->shift, bytes);
    memcpy(copy->factor, scaler->factor, bytes);
    return copy;
}

tg_dataset *tg_dataset_new(tg_feature_storage storage, int64_t count, int feature_rank,
                           const int64_t *feature_shape, tg_label_kind label_kind, int64_t label_width)
{
    static const char *fn = "tg_dataset_new";
    size_t element_size = storage_element_size(storage);
    if (element_size == 0) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "unknown storage %d", (int)storage);
        return NULL;
    }
    if (count < 0) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "count must be >= 0, got %lld", (long long)count);
        return NULL;
    }
    if (feature_rank < 1 || feature_rank >= TG_MAX_RANK || !feature_shape) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "need feature rank in 1..%d and a feature shape, got rank %d%s",
                        TG_MAX_RANK - 1, feature_rank, feature_shape ? "" : " and a NULL feature_shape");
        return NULL;
    }
    if (label_kind != TG_LABELS_NONE && label_kind != TG_LABELS_CLASS && label_kind != TG_LABELS_TARGET) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "unknown label kind %d", (int)label_kind);
        return NULL;
    }
    if (label_kind != TG_LABELS_NONE && (label_width < 1 || label_width > INT32_MAX)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "label width %lld must be in 1..2^31-1", (long long)label_width);
        return NULL;
    }
    int64_t feature_size = 1, values = 0, bytes = 0, target_values = 0;
    for (int i = 0; i < feature_rank; ++i) {
        if (feature_shape[i] < 1) {
            tg_error_report(TG_ERR_ARGUMENT, fn, "feature size %lld at axis %d must be >= 1",
                            (long long)feature_shape[i], i);
            return NULL;
        }
        if (!tgi_mul_ok(feature_size, feature_shape[i], &feature_size)) feature_size = -1;
    }
    int64_t width = label_kind == TG_LABELS_TARGET ? label_width : 0;
    if (feature_size < 0 || !tgi_mul_ok(count, feature_size, &values) ||
        !tgi_mul_ok(values, (int64_t)element_size, &bytes) || (uint64_t)bytes > SIZE_MAX ||
        !tgi_mul_ok(count, width, &target_values) || target_values > (int64_t)(SIZE_MAX / sizeof(double))) {
        tg_error_report(TG_ERR_MEMORY, fn, "%lld samples of this size overflow memory sizes", (long long)count);
        return NULL;
    }

    tg_dataset *ds = calloc(1, sizeof *ds);
    tgi_storage *store = calloc(1, sizeof *store);
    if (ds && store) {
        store->features = calloc((size_t)bytes ? (size_t)bytes : 1, 1);
        if (label_kind == TG_LABELS_CLASS) store->classes = calloc((size_t)count + 1, sizeof(int32_t));
        if (label_kind == TG_LABELS_TARGET) store->targets = calloc((size_t)target_values + 1, sizeof(double));
    }
    if (!ds || !store || !store->features || (label_kind == TG_LABELS_CLASS && !store->classes) ||
        (label_kind == TG_LABELS_TARGET && !store->targets)) {
        if (store) {
            store->refs = 1;
            storage_release(store);
        }
        free(ds);
        tg_error_report(TG_ERR_MEMORY, fn, "cannot allocate %lld samples", (long long)count);
        return NULL;
    }
    store->refs = 1;
    store->kind = storage;
    store->count = count;
    store->feature_size = feature_size;
    ds->store = store;
    ds->count = count;
    ds->feature_rank = feature_rank;
    memcpy(ds->feature_shape, feature_shape, (size_t)feature_rank * sizeof(int64_t));
    ds->feature_size = feature_size;
    ds->label_kind = label_kind;
    ds->label_width = label_kind == TG_LABELS_NONE ? 0 : label_width;
    ds->scale = 1.0;
    return ds;
}

/* The elements per sample of an IDX array: the product of dims[1..]. */
static int64_t idx_sample_size(const tg_idx *idx)
{
    int64_t size = 1;
    for (int i = 1; i < idx->rank; ++i)
        if (!tgi_mul_ok(size, idx->dims[i], &size)) return -1;
    return size;
}

/* An IDX array whose fields agree: rank 1..8, dims >= 0, count their product,
 * data present when count > 0. tg_idx_load only makes such arrays, but the
 * struct is public and a caller may have built it. The sample size is checked
 * on its own: with dims[0] == 0 the count is 0 whatever the other dims are,
 * and their product (up to (2^32-1)^7 from a file) must still fit the
 * data set's int64 feature size. */
static bool idx_consistent(const tg_idx *idx)
{
    if (idx->rank < 1 || idx->rank > TG_MAX_RANK || idx->dims[0] < 0) return false;
    int64_t sample = idx_sample_size(idx), count = 0;
    if (sample < 0 || !tgi_mul_ok(idx->dims[0], sample, &count)) return false;
    return count == idx->count && (count == 0 || idx->data);
}

tg_dataset *tg_dataset_from_idx(tg_idx *images, tg_idx *labels, int64_t num_classes, double scale)
{
    static const char *fn = "tg_dataset_from_idx";
    tg_dataset *ds = NULL;
    if (!images || !labels) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "%s is NULL", !images ? "images" : "labels");
    } else if (num_classes < 1 || num_classes > 256) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "num_classes must be in 1..256, got %lld", (long long)num_classes);
    } else if (!isfinite(scale)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "scale must be finite, got %g", scale);
    } else if (images->type != TG_IDX_U8 || images->rank < 2 || labels->type != TG_IDX_U8 || labels->rank != 1) {
        tg_error_report(TG_ERR_FORMAT, fn,
                        "need uint8 (type 0x08) images of rank >= 2 and uint8 labels of rank 1; got images of "
                        "type 0x%02x and rank %d, labels of type 0x%02x and rank %d",
                        (unsigned)images->type, images->rank, (unsigned)labels->type, labels->rank);
    } else if (!idx_consistent(images) || !idx_consistent(labels)) {
        tg_error_report(TG_ERR_FORMAT, fn, "images or labels: count, dims and data do not agree "
                        "(or the size of one image overflows)");
    } else if (idx_sample_size(images) == 0) {
        /* tg_dataset_new refuses empty features too: nothing downstream expects them. */
        tg_error_report(TG_ERR_FORMAT, fn, "images have a zero dimension: no features per sample");
    } else if (images->dims[0] != labels->dims[0]) {
        tg_error_report(TG_ERR_FORMAT, fn, "%lld images but %lld labels", (long long)images->dims[0],
                        (long long)labels->dims[0]);
    } else {
        const uint8_t *label_bytes = labels->data;
        int64_t bad = -1;
        for (int64_t i = 0; i < labels->count && bad < 0; ++i)
            if (label_bytes[i] >= num_classes) bad = i;
        if (bad >= 0) {
            tg_error_report(TG_ERR_FORMAT, fn, "label %d of sample %lld is not below %lld classes",
                            label_bytes[bad], (long long)bad, (long long)num_classes);
        } else {
            /* Allocate a one-byte feature buffer, then swap in the image buffer. */
            int64_t one[TG_MAX_RANK] = {1, 1, 1, 1, 1, 1, 1, 1};
            ds = tg_dataset_new(TG_FEATURES_U8, 0, images->rank - 1, one, TG_LABELS_CLASS, num_classes);
        }
    }
    if (ds) {
        int32_t *classes = malloc(((size_t)labels->count + 1) * sizeof(int32_t));
        if (!classes) {
            tg_dataset_free(ds);
            ds = NULL;
            tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %lld labels", (long long)labels->count);
        } else {
            const uint8_t *label_bytes = labels->data;
            for (int64_t i = 0; i < labels->count; ++i) classes[i] = label_bytes[i];
            free(ds->store->features);
            free(ds->store->classes);
            ds->store->features = images->data; /* ownership moves: no copy */
            images->data = NULL;
            ds->store->classes = classes;
            ds->store->count = ds->count = images->dims[0];
            ds->feature_size = idx_sample_size(images);
            ds->store->feature_size = ds->feature_size;
            memcpy(ds->feature_shape, images->dims + 1, (size_t)(images->rank - 1) * sizeof(int64_t));
            ds->scale = scale;
        }
    }
    tg_idx_free(images);
    tg_idx_free(labels);
    return ds;
}

void tg_dataset_free(tg_dataset *ds)
{
    if (!ds) return;
    storage_release(ds->store);
    free(ds->rows);
    tg_scaler_free(ds->scaler);
    free(ds);
}

/* The getters answer a NULL data set with a harmless value, but say so: a
 * NULL here is usually a failed load whose result was not checked. */
static bool present(const tg_dataset *ds, const char *fn)
{
    if (!ds) tg_error_report(TG_ERR_ARGUMENT, fn, "data set is NULL");
    return ds != NULL;
}

int64_t tg_dataset_count(const tg_dataset *ds) { return present(ds, "tg_dataset_count") ? ds->count : 0; }
int64_t tg_dataset_feature_size(const tg_dataset *ds)
{
    return present(ds, "tg_dataset_feature_size") ? ds->feature_size : 0;
}
tg_feature_storage tg_dataset_storage(const tg_dataset *ds)
{
    return present(ds, "tg_dataset_storage") ? ds->store->kind : TG_FEATURES_F64;
}
tg_label_kind tg_dataset_label_kind(const tg_dataset *ds)
{
    return present(ds, "tg_dataset_label_kind") ? ds->label_kind : TG_LABELS_NONE;
}
int64_t tg_dataset_label_width(const tg_dataset *ds)
{
    return present(ds, "tg_dataset_label_width") ? ds->label_width : 0;
}

int tg_dataset_feature_shape(const tg_dataset *ds, int64_t shape[TG_MAX_RANK])
{
    if (!present(ds, "tg_dataset_feature_shape")) return 0;
    if (!shape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_feature_shape", "shape is NULL");
        return 0;
    }
    memcpy(shape, ds->feature_shape, (size_t)ds->feature_rank * sizeof(int64_t));
    return ds->feature_rank;
}

/* Raw storage is writable only through the data set that created it. */
static bool writable(tg_dataset *ds, const char *fn)
{
    if (!present(ds, fn)) return false;
    if (ds->rows) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "data set is a subset (a view); write through its parent");
        return false;
    }
    return true;
}

void *tg_dataset_features_data(tg_dataset *ds)
{
    return writable(ds, "tg_dataset_features_data") ? ds->store->features : NULL;
}

int32_t *tg_dataset_classes_data(tg_dataset *ds)
{
    if (!writable(ds, "tg_dataset_classes_data")) return NULL;
    if (!ds->store->classes) {
        tg_error_report(TG_ERR_DTYPE, "tg_dataset_classes_data", "data set has no class labels");
        return NULL;
    }
    return ds->store->classes;
}

double *tg_dataset_targets_data(tg_dataset *ds)
{
    if (!writable(ds, "tg_dataset_targets_data")) return NULL;
    if (!ds->store->targets) {
        tg_error_report(TG_ERR_DTYPE, "tg_dataset_targets_data", "data set has no float targets");
        return NULL;
    }
    return ds->store->targets;
}

tg_status tg_dataset_set_scale(tg_dataset *ds, double scale)
{
    if (!present(ds, "tg_dataset_set_scale")) return TG_ERR_ARGUMENT;
    if (!isfinite(scale))
        return tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_set_scale", "scale must be finite, got %g", scale);
    ds->scale = scale;
    return TG_OK;
}

double tg_dataset_feature(const tg_dataset *ds, int64_t row, int64_t feature)
{
    if (!present(ds, "tg_dataset_feature")) return NAN;
    if (row < 0 || row >= ds->count || feature < 0 || feature >= ds->feature_size) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_feature",
                        "(row %lld, feature %lld) outside the %lld rows and %lld features", (long long)row,
                        (long long)feature, (long long)ds->count, (long long)ds->feature_size);
        return NAN;
    }
    return tgi_value(ds, tgi_store_row(ds, row), feature);
}

int64_t tg_dataset_class(const tg_dataset *ds, int64_t row)
{
    if (!present(ds, "tg_dataset_class")) return -1;
    if (ds->label_kind != TG_LABELS_CLASS || row < 0 || row >= ds->count) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_class", "%s (row %lld of %lld)",
                        ds->label_kind != TG_LABELS_CLASS ? "data set has no class labels" : "row out of range",
                        (long long)row, (long long)ds->count);
        return -1;
    }
    return ds->store->classes[tgi_store_row(ds, row)];
}

double tg_dataset_target(const tg_dataset *ds, int64_t row, int64_t k)
{
    if (!present(ds, "tg_dataset_target")) return NAN;
    if (ds->label_kind != TG_LABELS_TARGET || row < 0 || row >= ds->count || k < 0 || k >= ds->label_width) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_target", "%s (row %lld of %lld, target %lld of %lld)",
                        ds->label_kind != TG_LABELS_TARGET ? "data set has no float targets" : "out of range",
                        (long long)row, (long long)ds->count, (long long)k,
                        ds->label_kind == TG_LABELS_TARGET ? (long long)ds->label_width : 0LL);
        return NAN;
    }
    return ds->store->targets[tgi_store_row(ds, row) * ds->label_width + k];
}

tg_status tg_random_permutation(tg_rng *rng, int64_t count, int64_t *order)
{
    if (!rng || count < 0 || (count > 0 && !order))
        return tg_error_report(TG_ERR_ARGUMENT, "tg_random_permutation", "%s (count %lld)",
                               !rng ? "rng is NULL" : count < 0 ? "count must be >= 0" : "order is NULL",
                               (long long)count);
    for (int64_t i = 0; i < count; ++i) order[i] = i;
    /* Fisher-Yates: position i takes a uniform pick among the i+1 not yet placed. */
    for (int64_t i = count - 1; i > 0; --i) {
        int64_t j = (int64_t)tg_rng_below(rng, (uint64_t)i + 1);
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return TG_OK;
}

static tg_dataset *make_subset(const char *fn, const tg_dataset *ds, const int64_t *rows, int64_t count)
{
    if (!ds || count < 0 || (count > 0 && !rows) || (uint64_t)count > SIZE_MAX / sizeof(int64_t) - 1) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "%s (count %lld)",
                        !ds ? "data set is NULL" : count > 0 && !rows ? "rows is NULL" : "bad count",
                        (long long)count);
        return NULL;
    }
    for (int64_t i = 0; i < count; ++i) {
        if (rows[i] < 0 || rows[i] >= ds->count) {
            tg_error_report(TG_ERR_ARGUMENT, fn, "row %lld (entry %lld) outside 0..%lld", (long long)rows[i],
                            (long long)i, (long long)ds->count - 1);
            return NULL;
        }
    }
    tg_dataset *sub = malloc(sizeof *sub);
    int64_t *map = malloc(((size_t)count + 1) * sizeof(int64_t));
    tg_scaler *scaler = ds->scaler ? scaler_copy(ds->scaler) : NULL;
    if (!sub || !map || (ds->scaler && !scaler)) {
        free(sub);
        free(map);
        tg_scaler_free(scaler);
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory for a subset of %lld rows", (long long)count);
        return NULL;
    }
    for (int64_t i = 0; i < count; ++i) map[i] = tgi_store_row(ds, rows[i]);
    *sub = *ds;
    sub->rows = map;
    sub->count = count;
    sub->scaler = scaler;
    sub->store->refs++;
    return sub;
}

tg_dataset *tg_dataset_subset(const tg_dataset *ds, const int64_t *rows, int64_t count)
{
    return make_subset("tg_dataset_subset", ds, rows, count);
}

tg_status tg_dataset_split(const tg_dataset *ds, double validation_fraction, tg_rng *rng,
                           tg_dataset **train, tg_dataset **validation)
{
    static const char *fn = "tg_dataset_split";
    if (train) *train = NULL;
    if (validation) *validation = NULL;
    if (!ds || !rng || !train || !validation || !(validation_fraction >= 0.0 && validation_fraction <= 1.0))
        return tg_error_report(TG_ERR_ARGUMENT, fn, "%s (validation fraction %g)",
                               !ds ? "data set is NULL" : !rng ? "rng is NULL" : !train || !validation
                                   ? "train or validation is NULL" : "fraction must be in [0, 1]",
                               validation_fraction);
    int64_t *order = malloc(((size_t)ds->count + 1) * sizeof(int64_t));
    if (!order) return tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %lld rows", (long long)ds->count);
    tg_random_permutation(rng, ds->count, order);
    int64_t n_validation = (int64_t)llround(validation_fraction * (double)ds->count);
    if (n_validation > ds->count) n_validation = ds->count;
    *validation = make_subset(fn, ds, order, n_validation);
    *train = *validation ? make_subset(fn, ds, order + n_validation, ds->count - n_validation) : NULL;
    free(order);
    if (!*train) {
        tg_dataset_free(*validation);
        *validation = NULL;
        return tg_last_error() ? tg_last_error() : TG_ERR_MEMORY;
    }
    return TG_OK;
}

tg_status tg_dataset_set_scaler(tg_dataset *ds, const tg_scaler *scaler)
{
    static const char *fn = "tg_dataset_set_scaler";
    if (!ds) return tg_error_report(TG_ERR_ARGUMENT, fn, "data set is NULL");
    tg_scaler *copy = NULL;
    if (scaler) {
        if (scaler->size != ds->feature_size)
            return tg_error_report(TG_ERR_SHAPE, fn, "scaler fitted on %lld features, data set has %lld",
                                   (long long)scaler->size, (long long)ds->feature_size);
        copy = scaler_copy(scaler);
        if (!copy) return tg_error_report(TG_ERR_MEMORY, fn, "out of memory");
    }
    tg_scaler_free(ds->scaler);
    ds->scaler = copy;
    return TG_OK;
}
