/* tapegrad/dist.h — data-parallel training over MPI (libtapegrad_mpi).
 *
 * Every process (a "rank") holds the whole model and trains on its own slice
 * of every global batch; gradients are averaged over the ranks before each
 * optimizer step, so that all ranks take the same step, the one a single
 * process would take on the whole global batch (to rounding: the sum runs in
 * another order). The shape of PyTorch's DistributedDataParallel, in C:
 *
 *     tg_dist_init(&argc, &argv);
 *     tg_dist_broadcast_model(model);                 // rank 0's weights everywhere
 *     tg_dist_reducer *r = tg_dist_reducer_new(model, 0);
 *     tg_dist_batches *b = tg_dist_batches_new(train, 256, TG_F32, TG_ENCODE_INDEX, seed);
 *     while (tg_dist_batches_next(b, &x, &y) > 0) {
 *         grads to none; forward; tg_backward(loss, NULL);  // buckets start reducing here
 *         tg_dist_sync_grads(r);                      // averaged .grad on every rank
 *         tg_optimizer_step(opt); tg_tape_reset(...);
 *     }
 *     tg_dist_finalize();
 *
 * Built only when MPI is found (meson -Dmpi=auto|enabled|disabled); link
 * with libtapegrad_mpi (pkg-config tapegrad-mpi). The header itself needs no
 * MPI header. Errors go through tg_error_report (error.h) like the rest of the
 * library: any tg_dist_* call other than tg_dist_init before tg_dist_init or
 * after tg_dist_finalize is refused (TG_ERR_ARGUMENT, "... before tg_dist_init");
 * a failed MPI call is TG_ERR_IO with MPI's own message. Collective calls
 * (marked so) must be made by every rank in the same order. */
#ifndef TAPEGRAD_DIST_H
#define TAPEGRAD_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "tapegrad/data.h"
#include "tapegrad/error.h"
#include "tapegrad/nn.h"
#include "tapegrad/optim.h"
#include "tapegrad/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI (MPI_Init_thread, funneled: only the calling thread talks to
 * MPI) unless the program already did, and the library's own communicator.
 * argc/argv as given to main (may be NULL). A program started without mpirun
 * is a world of one rank. Collective. Errors: TG_ERR_ARGUMENT when called
 * twice or after tg_dist_finalize; TG_ERR_IO when MPI fails. */
tg_status tg_dist_init(int *argc, char ***argv);
/* Ends MPI (when tg_dist_init started it). Collective. After it every
 * tg_dist_* call is refused. Errors: TG_ERR_ARGUMENT before init. */
tg_status tg_dist_finalize(void);
/* This process's rank in [0, world size), or -1 (reported) before init. */
int tg_dist_rank(void);
/* The number of ranks, or -1 (reported) before init. */
int tg_dist_world_size(void);
/* Waits until every rank has called it. Collective. */
tg_status tg_dist_barrier(void);

/* Checks that every rank's model has the same parameters (names, dtypes,
 * shapes, in order), then copies rank 0's values into every other rank's
 * (the model has no buffers besides its parameters). Collective. Errors:
 * TG_ERR_SHAPE on every rank when two ranks differ, naming the first
 * difference and both ranks ("parameter 1 is 'layer0.bias float32 (33)' on
 * rank 1 but 'layer0.bias float32 (32)' on rank 0"); TG_ERR_ARGUMENT for a
 * NULL model; TG_ERR_IO from MPI. */
tg_status tg_dist_broadcast_model(tg_model *model);

/* The mean of `value` over all ranks (for logging a loss or an accuracy).
 * Collective. NaN (reported) on error. */
double tg_dist_average(double value);

/* printf on rank 0 only (flushed at once); returns the characters written,
 * 0 on the other ranks, -1 (reported) before init. Not collective. */
int tg_dist_printf(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Rank 0 saves the model (tg_model_save) or the optimizer's state
 * (tg_optimizer_save), atomically; every rank returns once the file is
 * complete, with rank 0's status (its message on the others too). To resume,
 * every rank loads the same file (tg_model_load / tg_optimizer_load), or rank
 * 0 loads it and tg_dist_broadcast_model copies it. Collective. */
tg_status tg_dist_save_model(const tg_model *model, const char *path);
tg_status tg_dist_save_optimizer(const tg_optimizer *opt, const char *path);

/* ---- gradient averaging ----
 * A reducer packs the model's parameter gradients into flat buckets of about
 * `bucket_bytes` (0: 25 MiB, PyTorch DDP's default), in reverse parameter
 * order (the order backward finishes them). It sets this thread's
 * gradient-ready hook (tape.h), so that during tg_backward each bucket's
 * MPI_Iallreduce starts as soon as its last gradient is final, while the
 * rest of backward runs. One reducer per thread at a time. */
typedef struct tg_dist_reducer tg_dist_reducer;

/* A reducer for `model`'s parameters (which must not change while it lives);
 * every rank makes one, with the same bucket_bytes. Owned by the caller
 * (tg_dist_reducer_free). One tg_backward per tg_dist_sync_grads: a second
 * backward before the sync is refused (TG_ERR_ARGUMENT, reported by
 * tg_backward). Errors: TG_ERR_ARGUMENT (NULL, before init, a reducer
 * already set on this thread), TG_ERR_MEMORY. */
tg_dist_reducer *tg_dist_reducer_new(tg_model *model, size_t bucket_bytes);
/* Finishes the averaging started by the last tg_backward (starting buckets
 * it did not fill: parameters backward did not reach count as zeros) and
 * writes the mean gradient over all ranks into every parameter's .grad. Call
 * it after tg_backward and before the optimizer step, on every rank.
 * Waits at most TG_DIST_TIMEOUT seconds (environment, default 120) for the
 * others; then it reports which bucket did not complete and ends the job
 * (MPI_Abort), since a lost rank leaves the collective forever incomplete.
 * Collective. Errors: TG_ERR_ARGUMENT (NULL), TG_ERR_IO (MPI). */
tg_status tg_dist_sync_grads(tg_dist_reducer *reducer);
/* Seconds spent by the last tg_dist_sync_grads waiting for the reduction,
 * and the number of buckets; for measuring how much of it backward hides. */
double tg_dist_reducer_wait_seconds(const tg_dist_reducer *reducer);
int tg_dist_reducer_num_buckets(const tg_dist_reducer *reducer);
/* Removes the hook and frees the reducer. NULL is ignored. */
void tg_dist_reducer_free(tg_dist_reducer *reducer);

/* ---- the distributed batch sampler ----
 * Every epoch, the whole data set in an order drawn from `seed` and the
 * epoch number only, cut into global batches of `global_batch` rows; rank r
 * gets rows [r*g/W, (r+1)*g/W) of each global batch (g = global_batch, W =
 * world size). So the global batches and their order are the same for any
 * number of ranks, and the ranks' slices are disjoint. A final partial global
 * batch is dropped, so that every step averages equal shares. */
typedef struct tg_dist_batches tg_dist_batches;

/* Errors: TG_ERR_ARGUMENT (NULL, before init, global_batch < 1 or not a
 * multiple of the world size, or more than the data set's count), and those
 * of tg_dataset_fill_batch. Not collective, but every rank must pass the
 * same arguments. */
tg_dist_batches *tg_dist_batches_new(const tg_dataset *ds, int64_t global_batch, tg_dtype dtype,
                                     tg_label_encoding encoding, uint64_t seed);
/* Fills this rank's slice of the next global batch into tensors owned by the
 * sampler (overwritten by the next call) and returns its rows; 0 at the end
 * of an epoch (the next call starts the next epoch in a new order), -1 on
 * error. */
int64_t tg_dist_batches_next(tg_dist_batches *b, tg_tensor **x, tg_tensor **y);
/* Global batches per epoch. */
int64_t tg_dist_batches_per_epoch(const tg_dist_batches *b);
/* Global batches handed out so far over all epochs (the step count), and a
 * jump to such a count, for resuming from a checkpoint on any number of
 * ranks. Errors: TG_ERR_ARGUMENT (NULL, step < 0). */
int64_t tg_dist_batches_step(const tg_dist_batches *b);
tg_status tg_dist_batches_seek(tg_dist_batches *b, int64_t step);
void tg_dist_batches_free(tg_dist_batches *b);

#ifdef __cplusplus
}
#endif

#endif
