/* bench/bench_dist.c — data-parallel throughput of the large MLP
 * (784-1024-1024-10, float32, global batch 256, Adam) with tapegrad/dist.h:
 * samples per second, the time per step, the time a step waits for the
 * gradient average after backward, and the time the same average takes on
 * its own (all buckets after the pass), so that the part hidden behind
 * backward is their difference. Run it as one process and under mpirun:
 *
 *   TG_NUM_THREADS=1 build/bench/bench_dist                       # 1 rank x 1 thread
 *   TG_NUM_THREADS=2 build/bench/bench_dist                       # 1 rank x 2 threads
 *   TG_NUM_THREADS=1 mpirun -np 2 --bind-to core build/bench/bench_dist   # 2 ranks x 1 thread
 *
 *   [--steps N] [--warmup N] [--batch G] [--bucket BYTES]
 *
 * The data are random (a benchmark of speed, not of learning). Rank 0 prints
 * one line; the throughput ratio of two such lines is the scaling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"
#include "tapegrad/dist.h"

enum { MAX_PARAMS = 16 };

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (tg_dist_init(&argc, &argv) != TG_OK) return 1;
    int steps = 20, warmup = 3;
    int64_t batch = 256;
    size_t bucket = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--bucket")) bucket = (size_t)atoll(argv[i + 1]);
    }
    int world = tg_dist_world_size(), rank = tg_dist_rank();
    int64_t rows = batch / world;
    tg_rng rng = tg_rng_seeded(11 + (uint64_t)rank);
    int64_t sizes[4] = {784, 1024, 1024, 10};
    tg_model *model = tg_mlp_new(&rng, TG_F32, 4, sizes, TG_ACT_RELU, -1);
    tg_tensor *params[MAX_PARAMS];
    int n = tg_model_params(model, params, MAX_PARAMS);
    tg_optimizer *opt = tg_adam_new(n, params, 1e-4);
    tg_dist_broadcast_model(model);
    tg_dist_reducer *reducer = tg_dist_reducer_new(model, bucket);
    tg_tensor *x = tg_rand_uniform(&rng, TG_F32, 2, (int64_t[]){rows, 784}, 0.0, 1.0);
    tg_tensor *y = tg_zeros(TG_F32, 1, (int64_t[]){rows});
    for (int64_t i = 0; i < rows; i++) tg_set_flat(y, i, (double)((i * 7 + rank) % 10));

    double start = 0.0, waited = 0.0, backward = 0.0;
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) {
            tg_dist_barrier();
            start = seconds_now();
            waited = backward = 0.0;
        }
        tg_optimizer_set_grads_to_none(opt);
        tg_tensor *loss = tg_cross_entropy_loss(tg_model_forward(model, x), y);
        double before = seconds_now();
        tg_backward(loss, NULL);
        backward += seconds_now() - before;
        tg_dist_sync_grads(reducer);
        waited += tg_dist_reducer_wait_seconds(reducer);
        tg_optimizer_step(opt);
        tg_tape_reset(tg_tape_current());
    }
    double per_step = (seconds_now() - start) / steps;
    /* The average alone: with no backward in between, sync packs every
     * gradient and reduces all buckets after each other. */
    double alone = 0.0;
    for (int k = 0; k < 5; k++) {
        tg_dist_sync_grads(reducer);
        alone += tg_dist_reducer_wait_seconds(reducer) / 5;
    }
    double mean_wait = tg_dist_average(waited / steps), mean_alone = tg_dist_average(alone);
    tg_dist_printf("bench_dist: %d rank(s) x %d thread(s), batch %lld (%lld per rank), %d buckets, %lld params: "
                   "%.0f samples/s, %.2f ms/step (backward %.2f ms), gradient average: %.2f ms alone, "
                   "%.2f ms waited after backward (%.0f%% hidden)\n",
                   world, tg_get_num_threads(), (long long)batch, (long long)rows,
                   tg_dist_reducer_num_buckets(reducer), (long long)tg_model_param_count(model),
                   (double)batch / per_step, 1e3 * per_step, 1e3 * backward / steps, 1e3 * mean_alone,
                   1e3 * mean_wait,
                   world > 1 && mean_alone > 0 ? 100.0 * (1.0 - mean_wait / mean_alone) : 0.0);
    tg_free(x);
    tg_free(y);
    tg_dist_reducer_free(reducer);
    tg_optimizer_free(opt);
    tg_model_free(model);
    tg_dist_finalize();
    return 0;
}
