/* examples/mnist_dist.c — the ten-digit MNIST classifier of examples/mnist.c
 * (784-256-128-10 ReLU MLP, softmax cross-entropy, Adam 1e-3) trained
 * data-parallel over MPI with tapegrad/dist.h. The same command runs it as
 * one process or as several:
 *
 *   build/examples/mnist_dist [--epochs N] [--max-steps N] [--batch G] [--save PATH]
 *   mpirun -np 2 build/examples/mnist_dist [same flags]
 *
 * G (default 64) is the global batch: each of the W ranks trains on G/W of
 * its rows, and gradients are averaged over the ranks during backward, so
 * the run takes the same steps on any number of ranks (to rounding). Every
 * rank starts from rank 0's weights; rank 0 prints and saves. Test accuracy
 * is counted on each rank's share of the test set and summed. Exit status 0
 * when the run ends (and >= 97% test accuracy after a full epoch or more), 1
 * on an error or a missed target, 2 when the MNIST files are missing
 * (data/fetch-mnist.sh fetches them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"
#include "tapegrad/dist.h"

#define MAX_PARAMS 16
#define EVAL_BATCH 500
#define TARGET 0.97

typedef struct options {
    int epochs;
    int64_t max_steps, batch;
    const char *save;
} options;

static options parse(int argc, char **argv) {
    options o = {1, 0, 64, NULL};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--epochs")) o.epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-steps")) o.max_steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) o.batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--save")) o.save = argv[i + 1];
    }
    return o;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Correct answers on this rank's share of the test set, summed over ranks. */
static double test_accuracy(tg_model *model, const tg_dataset *test) {
    int rank = tg_dist_rank(), world = tg_dist_world_size();
    int64_t n = tg_dataset_count(test), first = n * rank / world, count = n * (rank + 1) / world - first;
    int64_t *rows = malloc((size_t)count * sizeof *rows);
    for (int64_t i = 0; i < count; i++) rows[i] = first + i;
    tg_dataset *share = tg_dataset_subset(test, rows, count);
    free(rows);
    tg_batches *batches = tg_batches_new(share, EVAL_BATCH, TG_F32, TG_ENCODE_INDEX);
    bool was = tg_set_grad_enabled(false);
    tg_tensor *x, *y;
    int64_t got, correct = 0;
    while ((got = tg_batches_next(batches, &x, &y)) > 0) {
        correct += (int64_t)(tg_accuracy(tg_model_forward(model, x), y) * (double)got + 0.5);
        tg_tape_reset(tg_tape_current());
    }
    tg_set_grad_enabled(was);
    tg_batches_free(batches);
    tg_dataset_free(share);
    return tg_dist_average((double)correct) * world / (double)n;
}

static int run(const options *o, const tg_dataset *train, const tg_dataset *test) {
    tg_rng rng = tg_rng_seeded(42 + (uint64_t)tg_dist_rank()); /* rank 0's weights win */
    int64_t sizes[4] = {784, 256, 128, 10};
    tg_model *model = tg_mlp_new(&rng, TG_F32, 4, sizes, TG_ACT_RELU, -1);
    tg_tensor *params[MAX_PARAMS];
    int n = tg_model_params(model, params, MAX_PARAMS);
    tg_optimizer *opt = tg_adam_new(n, params, 1e-3);
    if (tg_dist_broadcast_model(model) != TG_OK) return 1;
    if (tg_dist_rank() == 0) {
        tg_tensor *one_image = tg_zeros(TG_F32, 2, (int64_t[]){1, 784});
        tg_model_summary(stdout, model, one_image);
        tg_free(one_image);
    }
    tg_dist_reducer *reducer = tg_dist_reducer_new(model, 0);
    tg_dist_batches *batches = tg_dist_batches_new(train, o->batch, TG_F32, TG_ENCODE_INDEX, 7);
    if (!reducer || !batches) return 1;
    int64_t per_epoch = tg_dist_batches_per_epoch(batches), steps = per_epoch * o->epochs;
    if (o->max_steps > 0 && o->max_steps < steps) steps = o->max_steps;
    tg_dist_printf("%d rank(s) x %d thread(s), global batch %lld (%lld rows per rank), %lld steps\n",
                   tg_dist_world_size(), tg_get_num_threads(), (long long)o->batch,
                   (long long)(o->batch / tg_dist_world_size()), (long long)steps);
    double start = seconds_now(), wait = 0.0, loss_sum = 0.0;
    for (int64_t step = 0; step < steps; step++) {
        tg_tensor *x, *y;
        if (tg_dist_batches_next(batches, &x, &y) == 0) tg_dist_batches_next(batches, &x, &y);
        tg_optimizer_set_grads_to_none(opt);
        tg_tensor *loss = tg_cross_entropy_loss(tg_model_forward(model, x), y);
        if (tg_backward(loss, NULL) != TG_OK || tg_dist_sync_grads(reducer) != TG_OK ||
            tg_optimizer_step(opt) != TG_OK)
            return 1;
        wait += tg_dist_reducer_wait_seconds(reducer);
        loss_sum += tg_item(loss);
        tg_tape_reset(tg_tape_current());
        if ((step + 1) % 200 == 0 || step + 1 == steps) {
            double mean = tg_dist_average(loss_sum / (double)((step % 200) + 1));
            tg_dist_printf("step %5lld  loss %.4f  %.0f samples/s\n", (long long)(step + 1), mean,
                           (double)((step + 1) * o->batch) / (seconds_now() - start));
            loss_sum = 0.0;
        }
    }
    double elapsed = seconds_now() - start;
    double accuracy = test_accuracy(model, test);
    tg_dist_printf("test accuracy %.2f%%  (%.1f s, of which %.2f s waiting for the gradient average on rank 0)\n",
                   100.0 * accuracy, elapsed, wait);
    if (o->save && tg_dist_save_model(model, o->save) != TG_OK) return 1;
    tg_dist_batches_free(batches);
    tg_dist_reducer_free(reducer);
    tg_optimizer_free(opt);
    tg_model_free(model);
    bool full_epoch = steps >= per_epoch;
    return full_epoch && accuracy < TARGET;
}

int main(int argc, char **argv) {
    tg_set_error_mode(TG_ERRORS_RETURN); /* errors printed below, with the rank */
    if (tg_dist_init(&argc, &argv) != TG_OK) {
        fprintf(stderr, "%s\n", tg_last_error_message());
        return 1;
    }
    options o = parse(argc, argv);
    char dir[1024];
    if (tg_mnist_find_dir(dir, sizeof dir) != TG_OK) {
        tg_dist_printf("%s\n", tg_last_error_message());
        tg_dist_finalize();
        return 2;
    }
    tg_dataset *train = tg_mnist_load(dir, "train"), *test = tg_mnist_load(dir, "t10k");
    int status = train && test ? run(&o, train, test) : 1;
    if (status == 1 && tg_last_error() != TG_OK)
        fprintf(stderr, "rank %d: %s\n", tg_dist_rank(), tg_last_error_message());
    tg_dataset_free(train);
    tg_dataset_free(test);
    tg_dist_finalize();
    return status;
}
