/* data/batches.c — copying samples into batch tensors, and epoch walking.
 *
 * Everything here writes into tensors that already exist: a training loop
 * that takes its batches from tg_batches_next allocates nothing per step.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/tensor_internal.h"
#include "tapegrad/simd.h"
#include "core/threadpool.h"
#include "data/dataset_internal.h"
#include "data/internal.h"

/* Checks that `t` is a persistent tensor with shape[0] == rows and `numel`
 * elements; `what` names it in the message. */
static tg_status check_batch_tensor(const char *fn, const tg_tensor *t, const char *what, int64_t rows,
                                    int64_t numel)
{
    if (t->tape) return tg_error_report(TG_ERR_TAPE, fn, "%s belongs to a tape; pass a persistent tensor", what);
    if (t->rank < 1 || t->shape[0] != rows || t->numel != numel || (numel > 0 && !t->data)) {
        char shape[160];
        tg_shape_string(shape, sizeof shape, t->rank, t->shape);
        return tg_error_report(TG_ERR_SHAPE, fn, "%s has shape %s; need %lld rows and %lld elements", what,
                               shape, (long long)rows, (long long)numel);
    }
    return TG_OK;
}

static void store_value(tg_tensor *t, int64_t at, double value)
{
    if (t->dtype == TG_F32)
        ((float *)t->data)[at] = (float)value;
    else
        ((double *)t->data)[at] = value;
}

/* dst[f] = src[f] * scale. A function of its own for the restrict
 * qualifiers: without them a uint8_t source may alias the float destination
 * (character types alias anything) and the loop is not vectorized. */
/* A shuffled batch reads rows scattered over the whole data set (47 MB for
 * MNIST), each a cache miss the hardware prefetcher cannot guess; asking for
 * the row PREFETCH_AHEAD rows ahead overlaps those misses with the
 * conversion. */
enum { PREFETCH_AHEAD = 4 };

static void prefetch_bytes(const uint8_t *p, int64_t n)
{
#if defined(__GNUC__)
    for (int64_t at = 0; at < n; at += 64) __builtin_prefetch(p + at);
#else
    (void)p;
    (void)n;
#endif
}

TG_HOT_CLONES static void bytes_to_floats(float *restrict dst, const uint8_t *restrict src, int64_t n, float scale)
{
    for (int64_t f = 0; f < n; ++f) dst[f] = (float)src[f] * scale;
}

/* Rows [begin, end) of a batch of uint8 samples, as scaled float32. */
typedef struct byte_rows_job {
    const tg_dataset *ds;
    const int64_t *rows; /* NULL: rows first, first + 1, ... */
    int64_t first, count;
    float *out;
} byte_rows_job;

static const uint8_t *sample_bytes(const byte_rows_job *job, int64_t i)
{
    int64_t row = tgi_store_row(job->ds, job->rows ? job->rows[i] : job->first + i);
    return (const uint8_t *)job->ds->store->features + (size_t)row * (size_t)job->ds->feature_size;
}

static void byte_rows_range(void *ctx, int64_t begin, int64_t end)
{
    const byte_rows_job *job = ctx;
    const int64_t width = job->ds->feature_size;
    for (int64_t i = begin; i < end; ++i) {
        if (i + PREFETCH_AHEAD < end) prefetch_bytes(sample_bytes(job, i + PREFETCH_AHEAD), width);
        bytes_to_floats(job->out + i * width, sample_bytes(job, i), width, (float)job->ds->scale);
    }
}

static tg_status fill_rows(const char *fn, const tg_dataset *ds, const int64_t *rows, int64_t first,
                           int64_t count, tg_tensor *x, tg_tensor *y, tg_label_encoding encoding)
{
    if (!ds) return tg_error_report(TG_ERR_ARGUMENT, fn, "data set is NULL");
    if (!x) return tg_error_null_tensor(fn, "x is NULL");
    if (count < 0) return tg_error_report(TG_ERR_ARGUMENT, fn, "count must be >= 0, got %lld", (long long)count);
    if (!rows && (first < 0 || first > ds->count - count))
        return tg_error_report(TG_ERR_ARGUMENT, fn, "rows %lld..%lld outside the %lld samples", (long long)first,
                               (long long)(first + count - 1), (long long)ds->count);
    int64_t numel = 0;
    if (!tgi_mul_ok(count, ds->feature_size, &numel))
        return tg_error_report(TG_ERR_ARGUMENT, fn, "count %lld too large", (long long)count);
    tg_status status = check_batch_tensor(fn, x, "x", count, numel);
    if (status) return status;
    if (y) {
        int64_t width = 1;
        if (ds->label_kind == TG_LABELS_NONE)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "data set has no labels; pass y = NULL");
        if (ds->label_kind == TG_LABELS_TARGET || encoding == TG_ENCODE_ONE_HOT) width = ds->label_width;
        else if (encoding != TG_ENCODE_INDEX)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "unknown label encoding %d", (int)encoding);
        int64_t y_numel = 0;
        if (!tgi_mul_ok(count, width, &y_numel))
            return tg_error_report(TG_ERR_ARGUMENT, fn, "count %lld too large", (long long)count);
        if ((status = check_batch_tensor(fn, y, "y", count, y_numel))) return status;
    }
    /* Validate every row (and class) before writing anything. */
    for (int64_t i = 0; i < count; ++i) {
        int64_t row = rows ? rows[i] : first + i;
        if (row < 0 || row >= ds->count)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "row %lld (entry %lld) outside 0..%lld", (long long)row,
                                   (long long)i, (long long)ds->count - 1);
        if (y && ds->label_kind == TG_LABELS_CLASS) {
            int32_t cls = ds->store->classes[tgi_store_row(ds, row)];
            if (cls < 0 || cls >= ds->label_width)
                return tg_error_report(TG_ERR_ARGUMENT, fn, "sample %lld has class %d, outside 0..%lld",
                                       (long long)row, cls, (long long)ds->label_width - 1);
        }
    }

    const int64_t width = ds->feature_size;
    if (ds->store->kind == TG_FEATURES_U8 && !ds->scaler && x->dtype == TG_F32) {
        /* The MNIST path: bytes times a scale, straight into float32, the
         * rows split over the thread pool (a row costs its width in copies;
         * shuffled rows are cache misses, so even a batch of 64 is worth it). */
        byte_rows_job job = {ds, rows, first, count, x->data};
        tg_parallel_items(count, (double)width, byte_rows_range, &job);
    } else {
        for (int64_t i = 0; i < count; ++i) {
            int64_t row = tgi_store_row(ds, rows ? rows[i] : first + i);
            for (int64_t f = 0; f < width; ++f) store_value(x, i * width + f, tgi_value(ds, row, f));
        }
    }
    tgi_tensor_changed(x); /* an op may have recorded the previous batch (tape.h) */
    if (!y) return TG_OK;
    tgi_tensor_changed(y);
    if (ds->label_kind == TG_LABELS_CLASS && encoding == TG_ENCODE_ONE_HOT && y->numel > 0)
        memset(y->data, 0, (size_t)y->numel * tg_dtype_size(y->dtype));
    for (int64_t i = 0; i < count; ++i) {
        int64_t row = tgi_store_row(ds, rows ? rows[i] : first + i);
        if (ds->label_kind == TG_LABELS_TARGET) {
            for (int64_t k = 0; k < ds->label_width; ++k)
                store_value(y, i * ds->label_width + k, ds->store->targets[row * ds->label_width + k]);
        } else if (encoding == TG_ENCODE_ONE_HOT) {
            store_value(y, i * ds->label_width + ds->store->classes[row], 1.0);
        } else {
            store_value(y, i, ds->store->classes[row]);
        }
    }
    return TG_OK;
}

tg_status tg_dataset_fill_batch(const tg_dataset *ds, const int64_t *rows, int64_t count, tg_tensor *x,
                                tg_tensor *y, tg_label_encoding encoding)
{
    if (count > 0 && !rows)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_dataset_fill_batch", "rows is NULL");
    static const int64_t no_rows[1] = {0};
    return fill_rows("tg_dataset_fill_batch", ds, rows ? rows : no_rows, 0, count, x, y, encoding);
}

tg_status tg_dataset_fill_range(const tg_dataset *ds, int64_t first, int64_t count, tg_tensor *x,
                                tg_tensor *y, tg_label_encoding encoding)
{
    return fill_rows("tg_dataset_fill_range", ds, NULL, first, count, x, y, encoding);
}

struct tg_batches {
    const tg_dataset *ds;
    int64_t batch_size;
    int64_t *order;
    int64_t position;
    tg_label_encoding encoding;
    tg_tensor *x_full, *y_full; /* batch_size rows                        */
    tg_tensor *x_tail, *y_tail; /* count % batch_size rows, or NULL        */
};

void tg_batches_free(tg_batches *b)
{
    if (!b) return;
    free(b->order);
    tg_free(b->x_full);
    tg_free(b->y_full);
    tg_free(b->x_tail);
    tg_free(b->y_tail);
    free(b);
}

/* Allocates the x and y tensors for batches of `rows` rows. */
static bool make_batch_tensors(tg_batches *b, tg_dtype dtype, int64_t rows, tg_tensor **x, tg_tensor **y)
{
    const tg_dataset *ds = b->ds;
    int64_t x_shape[2] = {rows, ds->feature_size};
    *x = tg_empty(dtype, 2, x_shape);
    if (!*x) return false;
    if (ds->label_kind == TG_LABELS_NONE) return true;
    int64_t y_shape[2] = {rows, ds->label_width};
    bool per_class = ds->label_kind == TG_LABELS_TARGET || b->encoding == TG_ENCODE_ONE_HOT;
    *y = per_class ? tg_zeros(dtype, 2, y_shape) : tg_zeros(dtype, 1, y_shape);
    return *y != NULL;
}

tg_batches *tg_batches_new(const tg_dataset *ds, int64_t batch_size, tg_dtype dtype, tg_label_encoding encoding)
{
    static const char *fn = "tg_batches_new";
    if (!ds) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "data set is NULL");
        return NULL;
    }
    if (batch_size < 1) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "batch_size must be >= 1, got %lld", (long long)batch_size);
        return NULL;
    }
    if ((dtype != TG_F32 && dtype != TG_F64) || (encoding != TG_ENCODE_INDEX && encoding != TG_ENCODE_ONE_HOT)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "need dtype float32 or float64 and a known encoding, got dtype %d, "
                        "encoding %d", (int)dtype, (int)encoding);
        return NULL;
    }
    tg_batches *b = calloc(1, sizeof *b);
    if (!b || !(b->order = malloc(((size_t)ds->count + 1) * sizeof(int64_t)))) {
        free(b);
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %lld rows", (long long)ds->count);
        return NULL;
    }
    b->ds = ds;
    b->batch_size = batch_size < ds->count ? batch_size : (ds->count > 0 ? ds->count : 1);
    b->encoding = encoding;
    for (int64_t i = 0; i < ds->count; ++i) b->order[i] = i;
    int64_t tail = ds->count % b->batch_size;
    if (!make_batch_tensors(b, dtype, b->batch_size, &b->x_full, &b->y_full) ||
        (tail > 0 && !make_batch_tensors(b, dtype, tail, &b->x_tail, &b->y_tail))) {
        tg_batches_free(b);
        return NULL; /* tg_empty/tg_zeros reported the error */
    }
    return b;
}

tg_status tg_batches_shuffle(tg_batches *b, tg_rng *rng)
{
    if (!b) return tg_error_report(TG_ERR_ARGUMENT, "tg_batches_shuffle", "batches is NULL");
    b->position = 0;
    if (!rng) {
        for (int64_t i = 0; i < b->ds->count; ++i) b->order[i] = i;
        return TG_OK;
    }
    return tg_random_permutation(rng, b->ds->count, b->order);
}

int64_t tg_batches_next(tg_batches *b, tg_tensor **x, tg_tensor **y)
{
    if (!b || !x) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_batches_next", "%s is NULL", !b ? "batches" : "x");
        return -1;
    }
    *x = NULL;
    if (y) *y = NULL;
    int64_t remaining = b->ds->count - b->position;
    if (remaining <= 0) {
        b->position = 0;
        return 0;
    }
    int64_t rows = remaining < b->batch_size ? remaining : b->batch_size;
    tg_tensor *bx = rows == b->batch_size ? b->x_full : b->x_tail;
    tg_tensor *by = rows == b->batch_size ? b->y_full : b->y_tail;
    if (fill_rows("tg_batches_next", b->ds, b->order + b->position, 0, rows, bx, by, b->encoding)) return -1;
    b->position += rows;
    *x = bx;
    if (y) *y = by;
    return rows;
}

int64_t tg_batches_per_epoch(const tg_batches *b)
{
    if (!b) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_batches_per_epoch", "batches is NULL");
        return 0;
    }
    return (b->ds->count + b->batch_size - 1) / b->batch_size;
}

int64_t tg_batches_position(const tg_batches *b)
{
    if (!b) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_batches_position", "batches is NULL");
        return -1;
    }
    return b->position;
}

tg_status tg_batches_get_order(const tg_batches *b, int64_t *order)
{
    if (!b || !order)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_batches_get_order", "%s is NULL", !b ? "batches" : "order");
    if (b->ds->count > 0) memcpy(order, b->order, (size_t)b->ds->count * sizeof *order);
    return TG_OK;
}

tg_status tg_batches_restore(tg_batches *b, const int64_t *order, int64_t position)
{
    static const char *fn = "tg_batches_restore";
    if (!b || !order) return tg_error_report(TG_ERR_ARGUMENT, fn, "%s is NULL", !b ? "batches" : "order");
    const int64_t count = b->ds->count;
    if (position < 0 || position > count)
        return tg_error_report(TG_ERR_ARGUMENT, fn, "position %lld outside 0..%lld", (long long)position,
                               (long long)count);
    /* A sample seen twice (or never) would change the epoch, not resume it. */
    unsigned char *seen = calloc((size_t)count + 1, 1);
    if (!seen) return tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %lld rows", (long long)count);
    for (int64_t i = 0; i < count; ++i) {
        if (order[i] < 0 || order[i] >= count || seen[order[i]]) {
            free(seen);
            return tg_error_report(TG_ERR_ARGUMENT, fn, "order is not a permutation of 0..%lld: entry %lld is %lld",
                                   (long long)count - 1, (long long)i, (long long)order[i]);
        }
        seen[order[i]] = 1;
    }
    free(seen);
    if (count > 0) memcpy(b->order, order, (size_t)count * sizeof *order);
    b->position = position;
    return TG_OK;
}
