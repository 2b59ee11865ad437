/* examples/mnist_cnn.c — convolutional networks on the real MNIST digits.
 *
 *   build/examples/mnist_cnn [--variant] [--epochs N] [checkpoint.safetensors]
 *
 * Default: a LeNet-5-style network (conv 1->6 5x5 pad 2, max-pool 2, conv
 * 6->16 5x5, max-pool 2, fc 120, 84, 10, ReLU), target >= 99.0% test
 * accuracy in 3 epochs. --variant: conv 1->32 3x3, conv 32->64 3x3 (each
 * followed by batch norm and ReLU), max-pool 2, dropout 0.25, fc 128,
 * dropout 0.5, fc 10; target >= 99.3%. Both: float32, softmax
 * cross-entropy, Adam (lr 2e-3 halved after every epoch), batches of 64 in
 * seeded shuffled order, a progress line within each epoch, the test
 * accuracy after each (eval mode: batch norm on its running statistics,
 * no dropout). The layers are in examples/mnist_cnn_models.h.
 *
 * Then the trained model is saved (parameters and batch norm's buffers),
 * loaded into a model built from another seed, and both are run on the
 * test set: the logits must be bitwise equal and the accuracy the same.
 * Exit status: 0 when the target is met and the reload is identical, 1
 * otherwise, 2 when the MNIST files are missing (data/fetch-mnist.sh).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mnist_cnn_models.h"
#include "tapegrad.h"

#define BATCH_SIZE 64
#define EVAL_BATCH_SIZE 500
#define MAX_PARAMS 32
#define LR 2e-3

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A batch of flat images (rows, 784) as (rows, 1, 28, 28). */
static tg_tensor *logits_of(tg_model *model, tg_tensor *x, int64_t rows) {
    return tg_model_forward(model, tg_reshape(x, 4, (int64_t[]){rows, 1, 28, 28}));
}

/* Correct predictions over the test set in eval mode, grad mode off. When
 * `logits_out` is given, the logits of every test image are copied there
 * (10 floats per image), for comparing two models bit for bit. */
static int64_t count_correct(tg_model *model, tg_batches *batches, float *logits_out) {
    bool grad_was_enabled = tg_set_grad_enabled(false);
    tg_model_set_training(model, false);
    tg_tensor *x = NULL, *y = NULL;
    int64_t rows, correct = 0, done = 0;
    while ((rows = tg_batches_next(batches, &x, &y)) > 0) {
        tg_tensor *logits = logits_of(model, x, rows);
        correct += llround(tg_accuracy(logits, y) * (double)rows);
        if (logits_out) memcpy(logits_out + done * 10, tg_const_data_f32(logits), (size_t)rows * 10 * sizeof(float));
        done += rows;
        tg_tape_reset(tg_tape_current());
    }
    tg_model_set_training(model, true);
    tg_set_grad_enabled(grad_was_enabled);
    return correct;
}

/* Progress within an epoch: redrawn in place on a terminal, a line every
 * tenth of the epoch otherwise (logs). */
static void show_progress(int epoch, int64_t batch, int64_t batches, double mean_loss, double start) {
    bool live = isatty(STDOUT_FILENO);
    if (live ? batch % 20 != 0 && batch != batches : batch % (batches / 10) != 0) return;
    printf("%sepoch %d  %5.1f%%  loss %.4f  %.0f images/s%s", live ? "\r" : "  ", epoch,
           100.0 * (double)batch / (double)batches, mean_loss,
           (double)(batch * BATCH_SIZE) / (seconds_now() - start), live ? "" : "\n");
    fflush(stdout);
}

/* One epoch in a fresh shuffled order; returns the mean training loss. */
static double train_epoch(int epoch, tg_model *model, tg_optimizer *opt, const tg_lr_schedule *schedule,
                          tg_batches *batches, tg_rng *rng) {
    int64_t n_batches = tg_batches_per_epoch(batches), batch = 0, seen = 0, rows;
    double loss_sum = 0, start = seconds_now();
    tg_tensor *x = NULL, *y = NULL;
    tg_batches_shuffle(batches, rng);
    while ((rows = tg_batches_next(batches, &x, &y)) > 0) {
        tg_optimizer_set_grads_to_none(opt);
        tg_tensor *loss = tg_cross_entropy_loss(logits_of(model, x, rows), y);
        tg_backward(loss, NULL);
        tg_lr_schedule_apply(schedule, opt);
        tg_optimizer_step(opt);
        loss_sum += tg_item(loss) * (double)rows;
        seen += rows;
        tg_tape_reset(tg_tape_current());
        show_progress(epoch, ++batch, n_batches, loss_sum / (double)seen, start);
    }
    if (isatty(STDOUT_FILENO)) printf("\r%79s\r", "");
    return loss_sum / (double)seen;
}

/* Saves `model`, loads the file into a model built from another seed, and
 * compares both on the test set, logits bit for bit. */
static bool reload_is_identical(tg_model *model, bool variant, tg_batches *test_batches, int64_t n_test,
                                const char *checkpoint) {
    tg_model *restored = variant ? cnn_variant_new(99, TG_F32) : lenet5_new(99, TG_F32);
    float *want = malloc((size_t)n_test * 10 * sizeof *want), *got = malloc((size_t)n_test * 10 * sizeof *got);
    if (!restored || !want || !got) {
        fprintf(stderr, "mnist_cnn: out of memory\n");
        exit(1);
    }
    int64_t correct = count_correct(model, test_batches, want);
    tg_error_mode previous = tg_set_error_mode(TG_ERRORS_RETURN); /* file errors are not bugs */
    tg_status status = tg_model_save(model, checkpoint);
    if (status == TG_OK) status = tg_model_load(restored, checkpoint);
    tg_set_error_mode(previous);
    bool ok = status == TG_OK;
    if (!ok) {
        fprintf(stderr, "mnist_cnn: checkpoint %s: %s\n", checkpoint, tg_last_error_message());
    } else {
        int64_t correct_restored = count_correct(restored, test_batches, got);
        bool same_bits = memcmp(want, got, (size_t)n_test * 10 * sizeof *want) == 0;
        ok = same_bits && correct_restored == correct;
        printf("checkpoint %s (%d tensors): reloaded model %lld correct, trained %lld, logits %s\n", checkpoint,
               tg_model_num_params(model) + tg_module_num_buffers(model), (long long)correct_restored,
               (long long)correct, same_bits ? "bitwise identical" : "DIFFERENT");
    }
    free(want);
    free(got);
    tg_model_free(restored);
    return ok;
}

static bool train_and_check(bool variant, int epochs, const tg_dataset *train_set, const tg_dataset *test_set,
                            const char *checkpoint) {
    double target = variant ? 0.993 : 0.990;
    tg_model *model = variant ? cnn_variant_new(1, TG_F32) : lenet5_new(1, TG_F32);
    tg_tensor *one_image = tg_zeros(TG_F32, 4, (int64_t[]){1, 1, 28, 28});
    tg_model_summary(stdout, model, one_image);
    tg_free(one_image);
    tg_tensor *params[MAX_PARAMS];
    int n_params = tg_model_params(model, params, MAX_PARAMS);
    tg_optimizer *adam = tg_adam_new(n_params, params, LR);
    tg_batches *train_batches = tg_batches_new(train_set, BATCH_SIZE, TG_F32, TG_ENCODE_INDEX);
    tg_batches *test_batches = tg_batches_new(test_set, EVAL_BATCH_SIZE, TG_F32, TG_ENCODE_INDEX);
    tg_lr_schedule schedule = tg_lr_step(LR, tg_batches_per_epoch(train_batches), 0.5);
    int64_t n_test = tg_dataset_count(test_set);
    printf("%s: %lld parameters, Adam lr %g halved every epoch, batch %d, %d epochs, %d threads\n",
           variant ? "variant (batch norm, dropout)" : "LeNet-5", (long long)tg_model_param_count(model), LR,
           BATCH_SIZE, epochs, tg_get_num_threads());
    tg_rng shuffle_rng = tg_rng_seeded(7);
    double accuracy = 0, start = seconds_now();
    for (int epoch = 1; epoch <= epochs; epoch++) {
        double epoch_start = seconds_now();
        double loss = train_epoch(epoch, model, adam, &schedule, train_batches, &shuffle_rng);
        double train_seconds = seconds_now() - epoch_start;
        accuracy = (double)count_correct(model, test_batches, NULL) / (double)n_test;
        printf("epoch %d  loss %.4f  test accuracy %.2f%%  %.1f s training, %.1f s with the test\n", epoch, loss,
               100.0 * accuracy, train_seconds, seconds_now() - epoch_start);
    }
    bool ok = accuracy >= target;
    printf("test accuracy %.2f%% after %d epochs (target %.1f%%): %s; %.1f s in all\n", 100.0 * accuracy, epochs,
           100.0 * target, ok ? "ok" : "MISSED", seconds_now() - start);
    ok = reload_is_identical(model, variant, test_batches, n_test, checkpoint) && ok;
    tg_batches_free(test_batches);
    tg_batches_free(train_batches);
    tg_optimizer_free(adam);
    tg_model_free(model);
    return ok;
}

int main(int argc, char **argv) {
    bool variant = false;
    int epochs = 3;
    const char *checkpoint = "mnist_cnn.safetensors";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--variant") == 0) {
            variant = true;
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            epochs = atoi(argv[++i]);
        } else if (argv[i][0] != '-') {
            checkpoint = argv[i];
        } else {
            fprintf(stderr, "usage: %s [--variant] [--epochs N] [checkpoint.safetensors]\n", argv[0]);
            return 1;
        }
    }
    if (epochs < 1) {
        fprintf(stderr, "mnist_cnn: --epochs must be >= 1\n");
        return 1;
    }
    char dir[1024];
    tg_error_mode previous = tg_set_error_mode(TG_ERRORS_RETURN);
    tg_dataset *train_set = NULL, *test_set = NULL;
    if (tg_mnist_find_dir(dir, sizeof dir) == TG_OK) {
        train_set = tg_mnist_load(dir, "train");
        if (train_set) test_set = tg_mnist_load(dir, "t10k");
    }
    tg_set_error_mode(previous);
    if (!test_set) {
        fprintf(stderr, "mnist_cnn: %s\n", tg_last_error_message());
        fprintf(stderr, "mnist_cnn: data/fetch-mnist.sh fetches and verifies the files (or set TG_MNIST_DIR)\n");
        tg_dataset_free(train_set);
        return 2;
    }
    printf("MNIST from %s\n", dir);
    bool ok = train_and_check(variant, epochs, train_set, test_set, checkpoint);
    tg_dataset_free(test_set);
    tg_dataset_free(train_set);
    return ok ? 0 : 1;
}
