/* tests/dist/dist_bad_arguments.c — every tg_dist_* function refuses bad
 * arguments and calls before tg_dist_init or after tg_dist_finalize with a
 * reported error naming the function (the MPI counterpart of
 * tests/core/test_bad_arguments.c, a program of its own because it needs
 * MPI; run by run_dist_tests.sh under mpirun with 2 ranks). Prints one line
 * per row; exit status 1 if a row fails. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tapegrad.h"
#include "tapegrad/dist.h"

static int failures;

/* `returned_error`: the call returned its documented error value; the last
 * error must have `status` and a message containing `function` and `fragment`. */
static void expect(const char *function, const char *bad, bool returned_error, tg_status status,
                   const char *fragment) {
    const char *message = tg_last_error_message();
    bool ok = returned_error && tg_last_error() == status && strstr(message, function) && strstr(message, fragment);
    printf("%-5s %s: %s -> %s\n", ok ? "ok" : "FAIL", function, bad, message);
    failures += !ok;
    tg_clear_error();
}

#define BEFORE "before tg_dist_init"
#define AFTER "after tg_dist_finalize"

static void calls_outside(const char *when) {
    tg_model *model = tg_model_new();
    expect("tg_dist_rank", when, tg_dist_rank() == -1, TG_ERR_ARGUMENT, when);
    expect("tg_dist_world_size", when, tg_dist_world_size() == -1, TG_ERR_ARGUMENT, when);
    expect("tg_dist_barrier", when, tg_dist_barrier() != TG_OK, TG_ERR_ARGUMENT, when);
    expect("tg_dist_broadcast_model", when, tg_dist_broadcast_model(model) != TG_OK, TG_ERR_ARGUMENT, when);
    expect("tg_dist_average", when, isnan(tg_dist_average(1.0)), TG_ERR_ARGUMENT, when);
    expect("tg_dist_printf", when, tg_dist_printf("x\n") == -1, TG_ERR_ARGUMENT, when);
    expect("tg_dist_save_model", when, tg_dist_save_model(model, "/nonexistent/x") != TG_OK, TG_ERR_ARGUMENT, when);
    expect("tg_dist_save_optimizer", when, tg_dist_save_optimizer(NULL, "/nonexistent/x") != TG_OK,
           TG_ERR_ARGUMENT, when);
    expect("tg_dist_reducer_new", when, tg_dist_reducer_new(model, 0) == NULL, TG_ERR_ARGUMENT, when);
    expect("tg_dist_sync_grads", when, tg_dist_sync_grads(NULL) != TG_OK, TG_ERR_ARGUMENT, when);
    expect("tg_dist_batches_new", when, tg_dist_batches_new(NULL, 1, TG_F32, TG_ENCODE_INDEX, 0) == NULL,
           TG_ERR_ARGUMENT, when);
    expect("tg_dist_batches_next", when, tg_dist_batches_next(NULL, NULL, NULL) == -1, TG_ERR_ARGUMENT, when);
    expect("tg_dist_finalize", when, tg_dist_finalize() != TG_OK, TG_ERR_ARGUMENT, when);
    tg_model_free(model);
}

static void bad_arguments_while_running(void) {
    int world = tg_dist_world_size();
    expect("tg_dist_init", "called twice", tg_dist_init(NULL, NULL) != TG_OK, TG_ERR_ARGUMENT, "twice");
    expect("tg_dist_broadcast_model", "NULL model", tg_dist_broadcast_model(NULL) != TG_OK, TG_ERR_ARGUMENT, "NULL");
    expect("tg_dist_printf", "NULL format", tg_dist_printf(NULL) == -1, TG_ERR_ARGUMENT, "NULL");
    expect("tg_dist_save_model", "NULL path", tg_dist_save_model(NULL, NULL) != TG_OK, TG_ERR_ARGUMENT, "NULL");
    expect("tg_dist_reducer_new", "NULL model", tg_dist_reducer_new(NULL, 0) == NULL, TG_ERR_ARGUMENT, "NULL");
    expect("tg_dist_sync_grads", "NULL reducer", tg_dist_sync_grads(NULL) != TG_OK, TG_ERR_ARGUMENT, "NULL");
    tg_model *model = tg_model_new();
    tg_dist_reducer *first = tg_dist_reducer_new(model, 0);
    expect("tg_dist_reducer_new", "a second reducer on one thread", first && !tg_dist_reducer_new(model, 0),
           TG_ERR_ARGUMENT, "already");
    tg_dist_reducer_free(first);
    tg_model_free(model);
    tg_rng rng = tg_rng_seeded(1);
    tg_model *mlp = tg_mlp_new(&rng, TG_F64, 2, (int64_t[]){3, 2}, TG_ACT_TANH, -1);
    tg_dist_reducer *reducer = tg_dist_reducer_new(mlp, 0);
    tg_tensor *x = tg_ones(TG_F64, 2, (int64_t[]){4, 3});
    tg_status first_pass = tg_backward(tg_sum(tg_model_forward(mlp, x)), NULL);
    expect("tg_backward", "a second pass before tg_dist_sync_grads",
           first_pass == TG_OK && tg_backward(tg_sum(tg_model_forward(mlp, x)), NULL) != TG_OK, TG_ERR_ARGUMENT,
           "tg_dist_sync_grads");
    tg_dist_sync_grads(reducer);
    tg_tape_reset(tg_tape_current());
    tg_free(x);
    tg_dist_reducer_free(reducer);
    tg_model_free(mlp);
    tg_dataset *data = tg_make_circles(&rng, 100, 0.1, 0.5);
    char fragment[64];
    snprintf(fragment, sizeof fragment, "world size %d", world);
    expect("tg_dist_batches_new", "global_batch 0", !tg_dist_batches_new(data, 0, TG_F32, TG_ENCODE_INDEX, 1),
           TG_ERR_ARGUMENT, "got 0");
    if (world > 1)
        expect("tg_dist_batches_new", "global_batch not a multiple of the world size",
               !tg_dist_batches_new(data, 2 * world + 1, TG_F32, TG_ENCODE_INDEX, 1), TG_ERR_ARGUMENT, fragment);
    expect("tg_dist_batches_new", "global_batch above the data set's count",
           !tg_dist_batches_new(data, 100 * world + world, TG_F32, TG_ENCODE_INDEX, 1), TG_ERR_ARGUMENT,
           "100 samples");
    expect("tg_dist_batches_new", "NULL data set", !tg_dist_batches_new(NULL, 4, TG_F32, TG_ENCODE_INDEX, 1),
           TG_ERR_ARGUMENT, "NULL");
    expect("tg_dist_batches_seek", "step -1", tg_dist_batches_seek(NULL, -1) != TG_OK, TG_ERR_ARGUMENT, "-1");
    tg_dataset_free(data);
}

int main(int argc, char **argv) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    calls_outside(BEFORE);
    if (tg_dist_init(&argc, &argv) != TG_OK) {
        printf("FAIL  tg_dist_init: %s\n", tg_last_error_message());
        return 1;
    }
    bad_arguments_while_running();
    tg_dist_finalize();
    calls_outside(AFTER);
    expect("tg_dist_init", "after tg_dist_finalize", tg_dist_init(&argc, &argv) != TG_OK, TG_ERR_ARGUMENT,
           "after tg_dist_finalize");
    return failures != 0;
}
