/* bench_cnn — training speed of two MNIST CNNs, and of convolution layers.
 *
 * Usage: bench_cnn [--quick] [--what nets|convs|all] [--model lenet|convnet|all] [THREADS...]
 *        (default: everything, threads 1 2)
 *
 * Networks (float32, batch 64, softmax cross-entropy, Adam lr 1e-3), the
 * two of examples/mnist_cnn.c, written with the functional ops of conv.h and
 * norm.h so that the benchmark does not depend on nn/:
 *   lenet    conv 1->6 5x5 pad 2, relu, max-pool 2, conv 6->16 5x5, relu,
 *            max-pool 2, fc 400-120-84-10 (relu between)
 *   convnet  conv 1->32 3x3, batch norm, relu, conv 32->64 3x3, batch norm,
 *            relu, max-pool 2, dropout 0.25, fc 9216-128, relu, dropout 0.5,
 *            fc 128-10
 * A step: next batch of a fixed order, gradients to none, forward, backward,
 * Adam step, tape reset. Images are random (a step's time does not depend on
 * pixel values); the PyTorch peer, bench/peers/torch_cnn.py, does the same.
 * Timing: a warm-up of 5 steps, then 5 samples (3 with --quick) of a fixed
 * number of steps; the median step time, and s_per_epoch = 938 steps x that.
 *   net    model threads batch ms_per_step s_per_epoch sys_allocs
 * (sys_allocs: the tape's system allocations during the timed steps.)
 *
 * Conv layers, forward plus the gradients of input and weight, batch 8:
 *   resnet3x3   64->64 3x3 pad 1 on 56x56
 *   stem7x7     3->64 7x7 stride 2 pad 3 on 224x224
 *   depthwise   32 channels, groups 32, 3x3 pad 1 on 112x112
 *   conv   layer threads batch ms_fwd_bwd gflops
 * gflops counts 3 x 2 x the forward's multiply-adds, as the peer does.
 */
#include "tapegrad.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

enum { SAMPLES = 5, WARMUP_STEPS = 5, BATCH = 64, STEPS_PER_EPOCH = (60000 + BATCH - 1) / BATCH, MAX_PARAMS = 16 };

typedef struct cnn {
    bool convnet; /* else lenet */
    int n_params;
    tg_tensor *params[MAX_PARAMS];
    tg_tensor *running[4]; /* the batch norms' running mean and variance */
    tg_optimizer *opt;
    tg_tensor *images, *labels; /* (count, 1, 28, 28), one-hot (count, 10) */
    int64_t count, next;
    uint64_t dropout_calls;
} cnn;

static tg_tensor *param(cnn *net, tg_rng *rng, int rank, const int64_t *shape, double fan_in)
{
    tg_tensor *p = fan_in > 0 ? tg_rand_uniform(rng, TG_F32, rank, shape, -1.0 / sqrt(fan_in), 1.0 / sqrt(fan_in))
                              : tg_ones(TG_F32, rank, shape);
    tg_set_requires_grad(p, true);
    net->params[net->n_params++] = p;
    return p;
}

static tg_tensor *zero_param(cnn *net, int64_t n)
{
    tg_tensor *p = tg_zeros(TG_F32, 1, &n);
    tg_set_requires_grad(p, true);
    net->params[net->n_params++] = p;
    return p;
}

/* conv weight (out, in, k, k) and bias, PyTorch's default uniform init. */
static void conv_params(cnn *net, tg_rng *rng, int64_t in, int64_t out, int64_t k)
{
    param(net, rng, 4, (int64_t[]){out, in, k, k}, (double)(in * k * k));
    param(net, rng, 1, &out, (double)(in * k * k));
}

/* dense weight (in, out) and bias. */
static void dense_params(cnn *net, tg_rng *rng, int64_t in, int64_t out)
{
    param(net, rng, 2, (int64_t[]){in, out}, (double)in);
    param(net, rng, 1, &out, (double)in);
}

static void cnn_init(cnn *net, bool convnet, int64_t count)
{
    memset(net, 0, sizeof *net);
    net->convnet = convnet;
    tg_rng rng = tg_rng_seeded(42);
    if (convnet) {
        conv_params(net, &rng, 1, 32, 3);
        param(net, &rng, 1, (int64_t[]){32}, 0), zero_param(net, 32);
        conv_params(net, &rng, 32, 64, 3);
        param(net, &rng, 1, (int64_t[]){64}, 0), zero_param(net, 64);
        dense_params(net, &rng, 9216, 128);
        dense_params(net, &rng, 128, 10);
        for (int i = 0; i < 4; i++) {
            int64_t c = i < 2 ? 32 : 64;
            net->running[i] = i % 2 ? tg_ones(TG_F32, 1, &c) : tg_zeros(TG_F32, 1, &c);
        }
    } else {
        conv_params(net, &rng, 1, 6, 5);
        conv_params(net, &rng, 6, 16, 5);
        dense_params(net, &rng, 400, 120);
        dense_params(net, &rng, 120, 84);
        dense_params(net, &rng, 84, 10);
    }
    net->opt = tg_adam_new(net->n_params, net->params, 1e-3);
    net->count = count;
    net->images = tg_rand_uniform(&rng, TG_F32, 4, (int64_t[]){count, 1, 28, 28}, 0.0, 1.0);
    net->labels = tg_zeros(TG_F32, 2, (int64_t[]){count, 10});
    for (int64_t i = 0; i < count; i++) tg_set(net->labels, (int64_t[]){i, (int64_t)tg_rng_below(&rng, 10)}, 1.0);
}

static void cnn_free(cnn *net)
{
    tg_optimizer_free(net->opt);
    for (int i = 0; i < net->n_params; i++) tg_free(net->params[i]);
    for (int i = 0; i < 4; i++) tg_free(net->running[i]);
    tg_free(net->images);
    tg_free(net->labels);
}

static tg_tensor *dense(tg_tensor *h, tg_tensor *const *p) { return tg_add(tg_matmul(h, p[0]), p[1]); }

static tg_tensor *lenet_forward(cnn *net, tg_tensor *x)
{
    tg_tensor *const *p = net->params;
    tg_conv2d_opts pad2 = tg_conv2d_options(1, 2, 1, 1);
    tg_tensor *h = tg_max_pool2d(tg_relu(tg_conv2d(x, p[0], p[1], &pad2)), 2, 2, 0);
    h = tg_max_pool2d(tg_relu(tg_conv2d(h, p[2], p[3], NULL)), 2, 2, 0);
    h = tg_relu(dense(tg_flatten(h, 1, -1), p + 4));
    h = tg_relu(dense(h, p + 6));
    return dense(h, p + 8);
}

static tg_tensor *convnet_forward(cnn *net, tg_tensor *x)
{
    tg_tensor *const *p = net->params;
    tg_tensor *h = tg_conv2d(x, p[0], p[1], NULL);
    h = tg_relu(tg_batch_norm(h, p[2], p[3], net->running[0], net->running[1], true, 0.1, 1e-5));
    h = tg_conv2d(h, p[4], p[5], NULL);
    h = tg_relu(tg_batch_norm(h, p[6], p[7], net->running[2], net->running[3], true, 0.1, 1e-5));
    h = tg_dropout(tg_max_pool2d(h, 2, 2, 0), 0.25, true, 7, net->dropout_calls++);
    h = tg_relu(dense(tg_flatten(h, 1, -1), p + 8));
    h = tg_dropout(h, 0.5, true, 7, net->dropout_calls++);
    return dense(h, p + 10);
}

/* One training step on the next batch; returns the loss. */
static double cnn_step(cnn *net)
{
    if (net->next + BATCH > net->count) net->next = 0;
    tg_tensor *x = tg_slice(net->images, 0, net->next, net->next + BATCH);
    tg_tensor *y = tg_slice(net->labels, 0, net->next, net->next + BATCH);
    net->next += BATCH;
    tg_optimizer_set_grads_to_none(net->opt);
    tg_tensor *logits = net->convnet ? convnet_forward(net, x) : lenet_forward(net, x);
    tg_tensor *loss = tg_mul_scalar(tg_sum(tg_mul(tg_log_softmax(logits, -1), y)), -1.0 / BATCH);
    double value = tg_item(loss);
    tg_backward(loss, NULL);
    tg_optimizer_step(net->opt);
    tg_tape_reset(tg_tape_current());
    return value;
}

static void time_net(bool convnet, int threads, bool quick)
{
    tg_set_num_threads(threads);
    cnn net;
    cnn_init(&net, convnet, quick ? 1024 : 8192);
    for (int i = 0; i < WARMUP_STEPS; i++) cnn_step(&net);
    int samples = quick ? 3 : SAMPLES, steps = convnet ? 20 : 100;
    if (quick) steps = steps / 4 > 5 ? steps / 4 : 5;
    double ms[SAMPLES];
    size_t allocs_before = tg_tape_get_stats(tg_tape_current()).system_allocs;
    double loss = NAN;
    for (int s = 0; s < samples; s++) {
        double t0 = now_seconds();
        for (int i = 0; i < steps; i++) loss = cnn_step(&net);
        ms[s] = (now_seconds() - t0) * 1e3 / steps;
    }
    size_t allocs = tg_tape_get_stats(tg_tape_current()).system_allocs - allocs_before;
    double m = median(ms, samples);
    printf("net    %-9s %7d %5d %11.2f %11.2f %10zu   # loss %.3f\n", convnet ? "convnet" : "lenet", threads, BATCH, m,
           m * STEPS_PER_EPOCH / 1e3, allocs, loss);
    fflush(stdout);
    cnn_free(&net);
}

typedef struct conv_layer {
    const char *name;
    int64_t in, out, k, stride, pad, groups, size;
} conv_layer;

static const conv_layer conv_layers[] = {
    {"resnet3x3", 64, 64, 3, 1, 1, 1, 56},
    {"stem7x7", 3, 64, 7, 2, 3, 1, 224},
    {"depthwise", 32, 32, 3, 1, 1, 32, 112},
};

static void time_conv(const conv_layer *c, int threads, bool quick)
{
    tg_set_num_threads(threads);
    const int64_t n = 8, out = (c->size + 2 * c->pad - c->k) / c->stride + 1;
    tg_rng rng = tg_rng_seeded(1);
    tg_tensor *x = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){n, c->in, c->size, c->size}, 0.0, 1.0);
    tg_tensor *w = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){c->out, c->in / c->groups, c->k, c->k}, 0.0, 1.0);
    tg_tensor *g = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){n, c->out, out, out}, 0.0, 1.0);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_conv2d_opts opts = tg_conv2d_options(c->stride, c->pad, 1, c->groups);
    double flops = 3.0 * 2.0 * (double)(n * c->out * out * out * (c->in / c->groups) * c->k * c->k);
    int reps = quick ? 2 : 5, samples = quick ? 3 : SAMPLES;
    double ms[SAMPLES];
    for (int s = -1; s < samples; s++) { /* s = -1: warm-up */
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++) {
            tg_set_grad_to_none(x);
            tg_set_grad_to_none(w);
            tg_backward(tg_conv2d(x, w, NULL, &opts), g);
            tg_tape_reset(tg_tape_current());
        }
        if (s >= 0) ms[s] = (now_seconds() - t0) * 1e3 / reps;
    }
    double m = median(ms, samples);
    printf("conv   %-9s %7d %5lld %11.2f %11.2f\n", c->name, threads, (long long)n, m, flops / (m * 1e-3) / 1e9);
    fflush(stdout);
    tg_free(x);
    tg_free(w);
    tg_free(g);
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *what = "all", *model = "all";
    int threads[8], n_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--what") == 0 && i + 1 < argc)
            what = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model = argv[++i];
        else if (n_threads < 8 && atoi(argv[i]) >= 1)
            threads[n_threads++] = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: bench_cnn [--quick] [--what nets|convs|all] [--model lenet|convnet|all] [THREADS...]\n");
            return 2;
        }
    }
    if (n_threads == 0) threads[n_threads++] = 1, threads[n_threads++] = 2;
    printf("# tapegrad cnn, batch %d, adam lr 1e-3, random images; s_per_epoch = %d steps x median step\n", BATCH,
           STEPS_PER_EPOCH);
    bool nets = strcmp(what, "convs") != 0, convs = strcmp(what, "nets") != 0;
    for (int t = 0; t < n_threads; t++) {
        if (nets) {
            if (strcmp(model, "convnet") != 0) time_net(false, threads[t], quick);
            if (strcmp(model, "lenet") != 0) time_net(true, threads[t], quick);
        }
        if (convs)
            for (size_t c = 0; c < sizeof conv_layers / sizeof conv_layers[0]; c++)
                time_conv(&conv_layers[c], threads[t], quick);
    }
    return 0;
}
