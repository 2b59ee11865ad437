/* bench_mlp — training speed of an MNIST multilayer perceptron.
 *
 * Usage: bench_mlp [--quick] [--full] [--phases] [--seed N] [--model small|large|all] [THREADS...]
 *        (default: all models, threads 1 2, seed 42)
 *
 * Models (float32, ReLU hidden layers, softmax cross-entropy, Adam lr 1e-3):
 *   small   784-256-128-10, batch 64   (938 steps per 60,000-sample epoch)
 *   large   784-1024-1024-10, batch 256 (235 steps per epoch)
 * The network is written with the ops of ops.h only (matmul, add, relu,
 * log_softmax, mul, sum), so the benchmark does not depend on nn/. A step is
 * what a training loop does: next batch (shuffled), gradients set to none
 * (PyTorch's zero_grad(set_to_none=True), as the peer script does), forward,
 * backward, optimizer step, tape reset.
 *
 * Data: the MNIST training set through tg_mnist_load when it is found (see
 * tg_mnist_find_dir), else 60,000 random uint8 images of the same shape with
 * random labels; the first output line says which.
 *
 * Timing: after a warm-up, SAMPLES samples of a fixed number of steps; the
 * median step time gives us_per_step and s_per_epoch = steps per epoch *
 * us_per_step. With --full every sample is one whole epoch, timed as such.
 * Per model and thread count, one line:
 *   model threads batch us_per_step s_per_epoch loss sys_allocs test_acc
 * where loss is the last step's (a sanity check that it trains),
 * sys_allocs the system allocations the tape made during the timed steps
 * (0 when a step reuses the tape's memory) and test_acc the accuracy (%) on
 * MNIST's 10,000 test images after the run ("nan" on random data): the
 * PyTorch peer trains the same steps and reports the same, so that speed is
 * compared at equal accuracy. --seed sets the seed of the weights and of the
 * batch order: one seed's accuracy differs from another's by tenths of a
 * percent, as much as the two libraries' at one seed, so
 * peers/accuracy_seeds.sh compares them over several.
 *
 * --phases adds, per model and thread count, a comment line with where a
 * step's time goes: the median over the timed steps of each phase (next
 * batch, gradients to none, forward and loss, backward, optimizer step, tape
 * reset), in microseconds. Medians of parts need not add up to the median
 * step.
 */
#include "tapegrad.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { SAMPLES = 5, WARMUP_STEPS = 10, MAX_LAYERS = 3 };

/* The phases of a step that --phases times, in order. */
enum { PHASE_BATCH, PHASE_GRADS_TO_NONE, PHASE_FORWARD, PHASE_BACKWARD, PHASE_OPTIMIZER, PHASE_RESET, PHASES };
static const char *const phase_names[PHASES] = {"batch", "grads_to_none", "forward", "backward", "optimizer", "reset"};

typedef struct mlp_config {
    const char *name;
    int n_layers;
    int64_t sizes[MAX_LAYERS + 1];
    int64_t batch;
    int steps_per_sample; /* without --full */
} mlp_config;

static const mlp_config configs[] = {
    {"small", 3, {784, 256, 128, 10}, 64, 200},
    {"large", 3, {784, 1024, 1024, 10}, 256, 20},
};

/* MNIST's training set, or random data of its shape; *real says which.
 * *test: MNIST's test set (NULL with random data). */
static tg_dataset *load_data(bool *real, tg_dataset **test)
{
    char dir[1024];
    tg_error_mode previous = tg_set_error_mode(TG_ERRORS_RETURN);
    tg_dataset *ds = NULL;
    *test = NULL;
    if (tg_mnist_find_dir(dir, sizeof dir) == TG_OK) {
        ds = tg_mnist_load(dir, "train");
        if (ds) *test = tg_mnist_load(dir, "t10k");
    }
    tg_clear_error();
    tg_set_error_mode(previous);
    *real = ds != NULL;
    if (ds) return ds;
    const int64_t count = 60000, shape[2] = {28, 28};
    ds = tg_dataset_new(TG_FEATURES_U8, count, 2, shape, TG_LABELS_CLASS, 10);
    uint8_t *pixels = tg_dataset_features_data(ds);
    int32_t *classes = tg_dataset_classes_data(ds);
    tg_rng rng = tg_rng_seeded(7);
    for (int64_t i = 0; i < count * 28 * 28; i++) pixels[i] = (uint8_t)tg_rng_below(&rng, 256);
    for (int64_t i = 0; i < count; i++) classes[i] = (int32_t)tg_rng_below(&rng, 10);
    tg_dataset_set_scale(ds, 1.0 / 255.0);
    return ds;
}

typedef struct mlp {
    const mlp_config *config;
    int n_params;
    tg_tensor *params[2 * MAX_LAYERS]; /* W0, b0, W1, b1, ... */
    tg_optimizer *opt;
    tg_batches *batches;
    tg_rng rng;
} mlp;

static void mlp_init(mlp *net, const mlp_config *config, const tg_dataset *ds, uint64_t seed)
{
    memset(net, 0, sizeof *net);
    net->config = config;
    net->rng = tg_rng_seeded(seed);
    for (int l = 0; l < config->n_layers; l++) {
        int64_t w_shape[2] = {config->sizes[l], config->sizes[l + 1]};
        /* He initialization, as for ReLU layers. */
        tg_tensor *w = tg_rand_normal(&net->rng, TG_F32, 2, w_shape, 0.0, sqrt(2.0 / (double)config->sizes[l]));
        tg_tensor *b = tg_zeros(TG_F32, 1, &config->sizes[l + 1]);
        tg_set_requires_grad(w, true);
        tg_set_requires_grad(b, true);
        net->params[net->n_params++] = w;
        net->params[net->n_params++] = b;
    }
    net->opt = tg_adam_new(net->n_params, net->params, 1e-3);
    net->batches = tg_batches_new(ds, config->batch, TG_F32, TG_ENCODE_ONE_HOT);
    tg_batches_shuffle(net->batches, &net->rng);
}

static void mlp_free(mlp *net)
{
    tg_batches_free(net->batches);
    tg_optimizer_free(net->opt);
    for (int i = 0; i < net->n_params; i++) tg_free(net->params[i]);
}

/* The network's output for a batch x. */
static tg_tensor *mlp_forward(const mlp *net, tg_tensor *x)
{
    tg_tensor *h = x;
    for (int l = 0; l < net->config->n_layers; l++) {
        h = tg_add(tg_matmul(h, net->params[2 * l]), net->params[2 * l + 1]);
        if (l + 1 < net->config->n_layers) h = tg_relu(h);
    }
    return h;
}

/* Percentage of `test` classified correctly (arg-max of the output against
 * the arg-max of the one-hot label), NAN without a test set. So that the
 * speed comparison with the peer is at equal accuracy. */
static double test_accuracy(const mlp *net, const tg_dataset *test)
{
    if (!test) return NAN;
    tg_batches *batches = tg_batches_new(test, 1000, TG_F32, TG_ENCODE_ONE_HOT);
    bool previous = tg_set_grad_enabled(false);
    int64_t correct = 0, total = 0, rows;
    tg_tensor *x, *y;
    while ((rows = tg_batches_next(batches, &x, &y)) > 0) {
        const float *out = tg_const_data_f32(mlp_forward(net, x)), *label = tg_const_data_f32(y);
        int64_t classes = net->config->sizes[net->config->n_layers];
        for (int64_t r = 0; r < rows; r++) {
            int64_t best = 0, truth = 0;
            for (int64_t c = 1; c < classes; c++) {
                if (out[r * classes + c] > out[r * classes + best]) best = c;
                if (label[r * classes + c] > label[r * classes + truth]) truth = c;
            }
            correct += best == truth;
        }
        total += rows;
        tg_tape_reset(tg_tape_current());
    }
    tg_set_grad_enabled(previous);
    tg_batches_free(batches);
    return 100.0 * (double)correct / (double)total;
}

/* marks[phase] = now, when timing phases. */
static void mark(double *marks, int phase)
{
    if (marks) marks[phase] = now_seconds();
}

/* One training step on the next batch; returns the loss, or NAN at the end
 * of an epoch (after reshuffling; no step is taken then). If `marks` is not
 * NULL, marks[p] is when phase p began and marks[PHASES] when the step ended. */
static double mlp_step(mlp *net, double *marks)
{
    tg_tensor *x, *y;
    mark(marks, PHASE_BATCH);
    int64_t rows = tg_batches_next(net->batches, &x, &y);
    if (rows <= 0) {
        tg_batches_shuffle(net->batches, &net->rng);
        return NAN;
    }
    mark(marks, PHASE_GRADS_TO_NONE);
    tg_optimizer_set_grads_to_none(net->opt);
    mark(marks, PHASE_FORWARD);
    tg_tensor *h = mlp_forward(net, x);
    /* Cross-entropy with one-hot labels: -mean over rows of sum(y * log_softmax). */
    tg_tensor *loss = tg_mul_scalar(tg_sum(tg_mul(tg_log_softmax(h, -1), y)), -1.0 / (double)rows);
    double value = tg_item(loss);
    mark(marks, PHASE_BACKWARD);
    tg_backward(loss, NULL);
    mark(marks, PHASE_OPTIMIZER);
    tg_optimizer_step(net->opt);
    mark(marks, PHASE_RESET);
    tg_tape_reset(tg_tape_current());
    mark(marks, PHASES);
    return value;
}

/* Each phase's time in microseconds, one entry per timed step. */
typedef struct phase_log {
    double *us[PHASES];
    int count, capacity;
} phase_log;

static void phase_log_add(phase_log *log, const double *marks)
{
    if (!log || log->count == log->capacity) return;
    for (int p = 0; p < PHASES; p++) log->us[p][log->count] = (marks[p + 1] - marks[p]) * 1e6;
    log->count++;
}

/* One step, logging its phases when `log` is given. */
static double logged_step(mlp *net, phase_log *log)
{
    double marks[PHASES + 1];
    double loss = mlp_step(net, log ? marks : NULL);
    if (!isnan(loss)) phase_log_add(log, marks);
    return loss;
}

/* A phase log with room for `steps` steps, or NULL (out of memory: says so). */
static phase_log *phase_log_new(int steps)
{
    phase_log *log = calloc(1, sizeof *log);
    double *all = log ? malloc((size_t)PHASES * (size_t)steps * sizeof(double)) : NULL;
    if (!all) {
        free(log);
        fprintf(stderr, "bench_mlp: no memory for --phases; not timing phases\n");
        return NULL;
    }
    for (int p = 0; p < PHASES; p++) log->us[p] = all + (size_t)p * (size_t)steps;
    log->capacity = steps;
    return log;
}

static void phase_log_print(phase_log *log, const char *model, int threads)
{
    if (!log || log->count == 0) return;
    printf("# phases %s %d thread%s (us, medians of %d steps):", model, threads, threads == 1 ? "" : "s", log->count);
    for (int p = 0; p < PHASES; p++) printf(" %s %.1f", phase_names[p], median(log->us[p], log->count));
    printf("\n");
}

static void phase_log_free(phase_log *log)
{
    if (log) free(log->us[0]);
    free(log);
}

typedef struct run_options {
    bool quick, full, phases;
    uint64_t seed;
} run_options;

static void run(const mlp_config *config, const tg_dataset *ds, const tg_dataset *test, int threads,
                const run_options *options)
{
    bool quick = options->quick, full = options->full, phases = options->phases;
    tg_set_num_threads(threads);
    mlp net;
    mlp_init(&net, config, ds, options->seed);
    int64_t steps_per_epoch = tg_batches_per_epoch(net.batches);
    double loss = NAN;
    for (int i = 0; i < WARMUP_STEPS;) i += !isnan(loss = mlp_step(&net, NULL));

    int samples = quick ? 3 : SAMPLES;
    int steps = full ? 0 : (quick ? config->steps_per_sample / 4 : config->steps_per_sample);
    phase_log *log = phases ? phase_log_new(samples * (full ? (int)steps_per_epoch : steps)) : NULL;
    double us_per_step[SAMPLES], s_per_epoch[SAMPLES];
    size_t allocs_before = tg_tape_get_stats(tg_tape_current()).system_allocs;
    for (int s = 0; s < samples; s++) {
        if (full) { /* start a fresh epoch, then time all of it */
            while (!isnan(mlp_step(&net, NULL))) {
            }
            double t0 = now_seconds();
            int taken = 0;
            double v;
            while (!isnan(v = logged_step(&net, log))) loss = v, taken++;
            double seconds = now_seconds() - t0;
            s_per_epoch[s] = seconds;
            us_per_step[s] = seconds * 1e6 / taken;
        } else {
            double t0 = now_seconds();
            for (int i = 0; i < steps;) {
                double v = logged_step(&net, log);
                if (!isnan(v)) loss = v, i++;
            }
            double seconds = now_seconds() - t0;
            us_per_step[s] = seconds * 1e6 / steps;
            s_per_epoch[s] = us_per_step[s] * 1e-6 * (double)steps_per_epoch;
        }
    }
    size_t allocs = tg_tape_get_stats(tg_tape_current()).system_allocs - allocs_before;
    qsort(us_per_step, (size_t)samples, sizeof us_per_step[0], compare_doubles);
    qsort(s_per_epoch, (size_t)samples, sizeof s_per_epoch[0], compare_doubles);
    double accuracy = test_accuracy(&net, test);
    printf("%-5s %7d %5lld %11.1f %11.3f %6.3f %10zu %8.2f\n", config->name, threads, (long long)config->batch,
           us_per_step[samples / 2], s_per_epoch[samples / 2], loss, allocs, accuracy);
    phase_log_print(log, config->name, threads);
    phase_log_free(log);
    fflush(stdout);
    mlp_free(&net);
}

/* A seed: a whole number, digits only. */
static bool parse_seed(const char *text, uint64_t *seed)
{
    char *end = NULL;
    if (*text < '0' || *text > '9') return false;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0') return false;
    *seed = value;
    return true;
}

int main(int argc, char **argv)
{
    run_options options = {false, false, false, 42};
    const char *model = "all";
    int threads[8], n_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            options.quick = true;
        else if (strcmp(argv[i], "--full") == 0)
            options.full = true;
        else if (strcmp(argv[i], "--phases") == 0)
            options.phases = true;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && parse_seed(argv[i + 1], &options.seed))
            i++;
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model = argv[++i];
        else if (n_threads < 8 && atoi(argv[i]) >= 1)
            threads[n_threads++] = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: bench_mlp [--quick] [--full] [--phases] [--seed N] [--model small|large|all] [THREADS...]\n");
            return 2;
        }
    }
    if (n_threads == 0) threads[n_threads++] = 1, threads[n_threads++] = 2;

    bool real;
    tg_dataset *test;
    tg_dataset *ds = load_data(&real, &test);
    printf("# tapegrad mlp, %s, data: %s, optimizer: adam lr 1e-3, seed %llu, %s\n",
           options.full ? "whole epochs" : "sampled steps",
           real ? "MNIST train (60000)" : "random uint8 (60000 x 28x28, MNIST not found)", (unsigned long long)options.seed,
           options.full ? "median of whole epochs" : "s_per_epoch = steps/epoch x median step time");
    printf("# model threads batch us_per_step s_per_epoch  loss sys_allocs test_acc\n");
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        if (strcmp(model, "all") != 0 && strcmp(model, configs[c].name) != 0) continue;
        for (int t = 0; t < n_threads; t++) run(&configs[c], ds, test, threads[t], &options);
    }
    tg_dataset_free(ds);
    tg_dataset_free(test);
    return 0;
}
