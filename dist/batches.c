/* dist/batches.c — the distributed batch sampler: every rank draws the same
 * epoch order from the shared seed and takes its own slice of each global
 * batch, so the global batches do not depend on the number of ranks. */
#include <stdlib.h>

#include "dist/dist_internal.h"
#include "tapegrad/dist.h"
#include "tapegrad/random.h"

struct tg_dist_batches {
    const tg_dataset *ds;
    int64_t global_batch, local_rows, per_epoch;
    int64_t step;     /* global batches handed out */
    int64_t epoch;    /* the epoch `order` holds, -1 for none */
    bool end_pending; /* the last batch of an epoch went out: the next call returns 0 */
    uint64_t seed;
    tg_label_encoding encoding;
    int64_t *order;
    tg_tensor *x, *y;
};

tg_dist_batches *tg_dist_batches_new(const tg_dataset *ds, int64_t global_batch, tg_dtype dtype,
                                     tg_label_encoding encoding, uint64_t seed) {
    const char *function = "tg_dist_batches_new";
    if (tgi_dist_require_running(function) != TG_OK) return NULL;
    int world = tgi_dist_world_size();
    if (!ds) {
        tg_error_report(TG_ERR_ARGUMENT, function, "data set is NULL");
        return NULL;
    }
    int64_t count = tg_dataset_count(ds);
    if (global_batch < 1 || global_batch % world != 0 || global_batch > count) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "global_batch must be >= 1, a multiple of the world size %d and at most the data set's "
                        "%lld samples, got %lld",
                        world, (long long)count, (long long)global_batch);
        return NULL;
    }
    if (dtype != TG_F32 && dtype != TG_F64) {
        tg_error_report(TG_ERR_ARGUMENT, function, "dtype must be float32 or float64, got %d", (int)dtype);
        return NULL;
    }
    tg_dist_batches *b = calloc(1, sizeof *b);
    if (!b || !(b->order = malloc((size_t)count * sizeof(int64_t)))) {
        free(b);
        tg_error_report(TG_ERR_MEMORY, function, "no memory for an order of %lld rows", (long long)count);
        return NULL;
    }
    *b = (tg_dist_batches){ds, global_batch, global_batch / world, count / global_batch, 0, -1, false, seed,
                           encoding, b->order, NULL, NULL};
    int64_t shape[2] = {b->local_rows, tg_dataset_feature_size(ds)}; /* as tg_batches: flat features */
    b->x = tg_empty(dtype, 2, shape);
    if (tg_dataset_label_kind(ds) == TG_LABELS_CLASS) {
        int64_t y_shape[2] = {b->local_rows, tg_dataset_label_width(ds)};
        b->y = tg_empty(dtype, encoding == TG_ENCODE_ONE_HOT ? 2 : 1, y_shape);
    } else if (tg_dataset_label_kind(ds) == TG_LABELS_TARGET) {
        int64_t y_shape[2] = {b->local_rows, tg_dataset_label_width(ds)};
        b->y = tg_empty(dtype, 2, y_shape);
    }
    if (!b->x || (tg_dataset_label_kind(ds) != TG_LABELS_NONE && !b->y)) {
        tg_dist_batches_free(b);
        return NULL; /* tg_empty reported it */
    }
    return b;
}

/* The order of `epoch`: a permutation drawn from the seed and the epoch only. */
static tg_status draw_order(tg_dist_batches *b, int64_t epoch) {
    tg_rng rng = tg_rng_seeded(b->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1)));
    tg_status s = tg_random_permutation(&rng, tg_dataset_count(b->ds), b->order);
    b->epoch = s == TG_OK ? epoch : -1;
    return s;
}

int64_t tg_dist_batches_next(tg_dist_batches *b, tg_tensor **x, tg_tensor **y) {
    const char *function = "tg_dist_batches_next";
    if (tgi_dist_require_running(function) != TG_OK) return -1;
    if (!b || !x) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", b ? "x" : "batches");
        return -1;
    }
    if (b->end_pending) {
        b->end_pending = false;
        return 0;
    }
    int64_t epoch = b->step / b->per_epoch, index = b->step % b->per_epoch;
    if (epoch != b->epoch && draw_order(b, epoch) != TG_OK) return -1;
    const int64_t *rows = b->order + index * b->global_batch + (int64_t)tgi_dist_rank() * b->local_rows;
    if (tg_dataset_fill_batch(b->ds, rows, b->local_rows, b->x, b->y, b->encoding) != TG_OK) return -1;
    *x = b->x;
    if (y) *y = b->y;
    b->step++;
    b->end_pending = index == b->per_epoch - 1;
    return b->local_rows;
}

int64_t tg_dist_batches_per_epoch(const tg_dist_batches *b) { return b ? b->per_epoch : 0; }

int64_t tg_dist_batches_step(const tg_dist_batches *b) { return b ? b->step : 0; }

tg_status tg_dist_batches_seek(tg_dist_batches *b, int64_t step) {
    if (!b || step < 0)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_dist_batches_seek", "need a sampler and step >= 0, got %s, %lld",
                               b ? "a sampler" : "NULL", (long long)step);
    b->step = step;
    b->end_pending = false;
    return TG_OK;
}

void tg_dist_batches_free(tg_dist_batches *b) {
    if (!b) return;
    tg_free(b->x);
    tg_free(b->y);
    free(b->order);
    free(b);
}
