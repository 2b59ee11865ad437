/* dist/reducer.c — gradient averaging over the ranks in flat buckets, each
 * reduced by a non-blocking MPI_Iallreduce that backward's gradient-ready
 * hook starts as soon as the bucket's last gradient is final. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/dist_internal.h"
#include "tapegrad/dist.h"
#include "tapegrad/tape.h"

enum { DEFAULT_BUCKET_BYTES = 25 << 20 };

typedef struct bucket {
    tg_dtype dtype;
    void *flat;           /* the gradients of params [first, end) of the reducer's list, back to back */
    int64_t numel;
    int first, end;
    int pending;          /* parameters whose gradient is not in `flat` yet */
    bool started;
    MPI_Request request;
} bucket;

typedef struct dist_param {
    tg_tensor *tensor;
    int bucket;
    int64_t offset;       /* in elements, into the bucket's flat buffer */
    bool ready;
} dist_param;

struct tg_dist_reducer {
    dist_param *params;   /* in reverse model order: the order backward finishes them */
    int n_params;
    bucket *buckets;
    int n_buckets;
    int next_start;       /* buckets start in index order on every rank */
    int lookup_hint;
    double wait_seconds;
};

static _Thread_local tg_dist_reducer *hooked_reducer;

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The index of `leaf` among the reducer's parameters, or -1. Backward
 * finishes them in list order, so the search starts after the last hit. */
static int find_param(tg_dist_reducer *r, const tg_tensor *leaf) {
    for (int k = 0; k < r->n_params; k++) {
        int i = (r->lookup_hint + k) % r->n_params;
        if (r->params[i].tensor == leaf) {
            r->lookup_hint = i + 1;
            return i;
        }
    }
    return -1;
}

/* Copies a parameter's gradient (zeros without one) into its bucket. */
static void pack_param(tg_dist_reducer *r, dist_param *p) {
    bucket *b = &r->buckets[p->bucket];
    size_t element = tg_dtype_size(b->dtype);
    char *at = (char *)b->flat + (size_t)p->offset * element;
    size_t bytes = (size_t)p->tensor->numel * element;
    if (p->tensor->grad)
        memcpy(at, p->tensor->grad->data, bytes);
    else
        memset(at, 0, bytes);
    p->ready = true;
    b->pending--;
}

/* Starts every full bucket whose predecessors have started: the same order
 * on every rank, as MPI requires of collectives. */
static tg_status start_full_buckets(tg_dist_reducer *r, const char *function) {
    while (r->next_start < r->n_buckets && r->buckets[r->next_start].pending == 0) {
        bucket *b = &r->buckets[r->next_start];
        int code = MPI_Iallreduce(MPI_IN_PLACE, b->flat, (int)b->numel, b->dtype == TG_F32 ? MPI_FLOAT : MPI_DOUBLE,
                                  MPI_SUM, tgi_dist_comm(), &b->request);
        if (code != MPI_SUCCESS) return tgi_dist_mpi_failed(function, "MPI_Iallreduce", code);
        b->started = true;
        r->next_start++;
    }
    return TG_OK;
}

/* Lets MPI progress the started reductions (Open MPI moves non-blocking
 * collectives forward only inside MPI calls). */
static void poke_started(tg_dist_reducer *r) {
    for (int i = 0; i < r->next_start; i++) {
        int done = 0;
        if (r->buckets[i].request != MPI_REQUEST_NULL) MPI_Test(&r->buckets[i].request, &done, MPI_STATUS_IGNORE);
    }
}

static void on_grad_ready(tg_tensor *leaf, void *ctx) {
    tg_dist_reducer *r = ctx;
    int i = find_param(r, leaf);
    if (i < 0) return; /* not one of the model's parameters */
    if (r->params[i].ready) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_backward",
                        "a parameter's gradient is already being averaged: call tg_dist_sync_grads after each "
                        "tg_backward (the reducer does not accumulate several passes)");
        return;
    }
    pack_param(r, &r->params[i]);
    if (start_full_buckets(r, "tg_backward") == TG_OK) poke_started(r);
}

/* Assigns the parameters (reverse order) to buckets of at most `cap` bytes
 * (one parameter larger than that gets its own), one dtype per bucket. */
static bool plan_buckets(tg_dist_reducer *r, size_t cap) {
    r->buckets = calloc((size_t)r->n_params + 1, sizeof(bucket));
    if (!r->buckets) return false;
    size_t bytes = 0;
    for (int i = 0; i < r->n_params; i++) {
        tg_tensor *t = r->params[i].tensor;
        size_t size = (size_t)t->numel * tg_dtype_size(t->dtype);
        bucket *current = r->n_buckets ? &r->buckets[r->n_buckets - 1] : NULL;
        if (!current || current->dtype != t->dtype || bytes + size > cap) {
            current = &r->buckets[r->n_buckets++];
            *current = (bucket){.dtype = t->dtype, .first = i, .end = i, .request = MPI_REQUEST_NULL};
            bytes = 0;
        }
        r->params[i].bucket = r->n_buckets - 1;
        r->params[i].offset = current->numel;
        current->numel += t->numel;
        current->end = i + 1;
        bytes += size;
    }
    for (int k = 0; k < r->n_buckets; k++) {
        bucket *b = &r->buckets[k];
        b->pending = b->end - b->first;
        if (!(b->flat = malloc((size_t)b->numel * tg_dtype_size(b->dtype) + 1))) return false;
    }
    return true;
}

tg_dist_reducer *tg_dist_reducer_new(tg_model *model, size_t bucket_bytes) {
    const char *function = "tg_dist_reducer_new";
    if (tgi_dist_require_running(function) != TG_OK) return NULL;
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, function, "model is NULL");
        return NULL;
    }
    if (hooked_reducer) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "this thread already has a reducer (one per thread: free it first)");
        return NULL;
    }
    tg_dist_reducer *r = calloc(1, sizeof *r);
    int n = tg_model_num_params(model);
    if (!r || !(r->params = calloc((size_t)n + 1, sizeof(dist_param)))) goto out_of_memory;
    for (int i = 0; i < n; i++) {
        tg_tensor *t = tg_model_param(model, n - 1 - i, NULL, 0);
        if (t && t->requires_grad) r->params[r->n_params++].tensor = t;
    }
    if (!plan_buckets(r, bucket_bytes ? bucket_bytes : DEFAULT_BUCKET_BYTES)) goto out_of_memory;
    hooked_reducer = r;
    tg_set_grad_ready_hook(on_grad_ready, r);
    return r;
out_of_memory:
    tg_dist_reducer_free(r);
    tg_error_report(TG_ERR_MEMORY, function, "no memory for the gradient buckets of %d parameters", n);
    return NULL;
}

/* Seconds to wait for the other ranks before declaring one lost. */
static double timeout_seconds(void) {
    const char *text = getenv("TG_DIST_TIMEOUT");
    double value = text ? atof(text) : 0.0;
    return value > 0.0 ? value : 120.0;
}

/* Waits for every started bucket; aborts the job after the timeout, since a
 * collective with a lost rank never completes. */
static tg_status wait_all(tg_dist_reducer *r, const char *function) {
    double start = seconds_now(), limit = timeout_seconds();
    for (int k = 0; k < r->n_buckets; k++) {
        bucket *b = &r->buckets[k];
        for (;;) {
            int done = 0;
            int code = MPI_Test(&b->request, &done, MPI_STATUS_IGNORE);
            if (code != MPI_SUCCESS) return tgi_dist_mpi_failed(function, "MPI_Iallreduce (waiting)", code);
            if (done) break;
            if (seconds_now() - start > limit) {
                tg_error_report(TG_ERR_IO, function,
                                "rank %d: bucket %d of %d was not reduced within %.0f s (TG_DIST_TIMEOUT): another "
                                "rank is lost or stalled; ending the job",
                                tgi_dist_rank(), k, r->n_buckets, limit);
                MPI_Abort(tgi_dist_comm(), 1);
            }
            struct timespec pause = {0, 20000}; /* 20 us: the wait costs little CPU */
            nanosleep(&pause, NULL);
        }
    }
    return TG_OK;
}

/* Writes the bucket's sums / world size into each parameter's .grad. */
static void unpack_bucket(tg_dist_reducer *r, const bucket *b) {
    double scale = 1.0 / tgi_dist_world_size();
    for (int i = b->first; i < b->end; i++) {
        tg_tensor *t = r->params[i].tensor;
        int64_t n = t->numel, at = r->params[i].offset;
        if (!t->grad) { /* no gradient here; a zero sum leaves it so (the optimizer skips it) */
            bool all_zero = true;
            for (int64_t j = 0; j < n && all_zero; j++)
                all_zero = b->dtype == TG_F32 ? ((float *)b->flat)[at + j] == 0.0f
                                              : ((double *)b->flat)[at + j] == 0.0;
            if (all_zero) continue;
            t->grad = tg_zeros(t->dtype, t->rank, t->shape); /* released with the parameter (tg_free) */
            if (!t->grad) continue;
        }
        if (b->dtype == TG_F32) {
            float *g = t->grad->data, *src = (float *)b->flat + at, s = (float)scale;
            for (int64_t j = 0; j < n; j++) g[j] = src[j] * s;
        } else {
            double *g = t->grad->data, *src = (double *)b->flat + at;
            for (int64_t j = 0; j < n; j++) g[j] = src[j] * scale;
        }
        tg_tensor_changed(t->grad);
    }
}

tg_status tg_dist_sync_grads(tg_dist_reducer *r) {
    const char *function = "tg_dist_sync_grads";
    tg_status s = tgi_dist_require_running(function);
    if (s != TG_OK) return s;
    if (!r) return tg_error_report(TG_ERR_ARGUMENT, function, "reducer is NULL");
    for (int i = 0; i < r->n_params; i++) /* not reached by backward: zeros from this rank */
        if (!r->params[i].ready) pack_param(r, &r->params[i]);
    double start = seconds_now();
    s = start_full_buckets(r, function);
    if (s == TG_OK) s = wait_all(r, function);
    r->wait_seconds = seconds_now() - start;
    for (int k = 0; k < r->n_buckets; k++) {
        bucket *b = &r->buckets[k];
        if (s == TG_OK) unpack_bucket(r, b);
        b->pending = b->end - b->first;
        b->started = false;
    }
    for (int i = 0; i < r->n_params; i++) r->params[i].ready = false;
    r->next_start = 0;
    return s;
}

double tg_dist_reducer_wait_seconds(const tg_dist_reducer *r) { return r ? r->wait_seconds : 0.0; }

int tg_dist_reducer_num_buckets(const tg_dist_reducer *r) { return r ? r->n_buckets : 0; }

void tg_dist_reducer_free(tg_dist_reducer *r) {
    if (!r) return;
    if (hooked_reducer == r) {
        tg_set_grad_ready_hook(NULL, NULL);
        hooked_reducer = NULL;
    }
    for (int k = 0; k < r->n_buckets; k++) {
        if (r->buckets[k].request != MPI_REQUEST_NULL) MPI_Request_free(&r->buckets[k].request);
        free(r->buckets[k].flat);
    }
    free(r->buckets);
    free(r->params);
    free(r);
}
