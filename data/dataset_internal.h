/* data/dataset_internal.h — the layout of tg_dataset, shared by the files of
 * data/ that walk samples (dataset.c, batches.c, scaler.c). Not public API. */
#ifndef TAPEGRAD_DATASET_INTERNAL_H
#define TAPEGRAD_DATASET_INTERNAL_H

#include "tapegrad/data.h"

/* Samples of one or more data sets: a parent and its subsets share it. */
typedef struct tgi_storage {
    int refs;
    tg_feature_storage kind;
    int64_t count;         /* rows held                              */
    int64_t feature_size;  /* values per row                         */
    void *features;        /* count * feature_size of kind           */
    int32_t *classes;      /* count, or NULL                         */
    double *targets;       /* count * label_width, or NULL           */
} tgi_storage;

struct tg_scaler {
    int64_t size;
    double *shift;
    double *factor;
};

struct tg_dataset {
    tgi_storage *store;
    int64_t *rows;          /* row i of this set is store row rows[i]; NULL = identity */
    int64_t count;
    int feature_rank;
    int64_t feature_shape[TG_MAX_RANK];
    int64_t feature_size;
    tg_label_kind label_kind;
    int64_t label_width;
    double scale;           /* applied to uint8 features only     */
    tg_scaler *scaler;      /* owned copy, or NULL                */
};

static inline int64_t tgi_store_row(const tg_dataset *ds, int64_t row)
{
    return ds->rows ? ds->rows[row] : row;
}

/* A feature value after the uint8 scale, before the scaler. */
static inline double tgi_base_value(const tg_dataset *ds, int64_t store_row, int64_t feature)
{
    size_t at = (size_t)store_row * (size_t)ds->feature_size + (size_t)feature;
    switch (ds->store->kind) {
    case TG_FEATURES_U8: return ((const uint8_t *)ds->store->features)[at] * ds->scale;
    case TG_FEATURES_F32: return ((const float *)ds->store->features)[at];
    case TG_FEATURES_F64: return ((const double *)ds->store->features)[at];
    }
    return 0.0;
}

static inline double tgi_value(const tg_dataset *ds, int64_t store_row, int64_t feature)
{
    double value = tgi_base_value(ds, store_row, feature);
    if (ds->scaler) value = (value - ds->scaler->shift[feature]) * ds->scaler->factor[feature];
    return value;
}

#endif
