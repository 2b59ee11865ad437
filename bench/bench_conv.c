/* bench/bench_conv.c — conv2d forward + backward (float32) against the GEMM.
 *
 * For each layer: the median time of a training step of the layer alone
 * (conv2d with bias, backward from a fixed seed, gradients set to none,
 * tape reset), its rate in GFLOP/s (2 flops per multiply-add: the forward
 * product, the weight gradient and, for inner layers, the input gradient),
 * and the rate of tg_gemm_f32 on the forward product's shape, as the bound
 * the convolution is measured against. Also the system allocations of a step
 * after the first (the target is none).
 *
 * Usage: bench_conv [threads] [repeats] [layer]   (defaults: the library's, 15,
 * every layer) */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "tapegrad.h"

typedef struct conv_layer {
    const char *name;
    int64_t n, c_in, h, w, c_out, k, padding;
    bool input_grad; /* an inner layer: x needs its gradient too */
} conv_layer;

static const conv_layer layers[] = {
    {"LeNet conv1 1->6 5x5 pad 2, 28x28", 64, 1, 28, 28, 6, 5, 2, false},
    {"LeNet conv2 6->16 5x5, 14x14", 64, 6, 14, 14, 16, 5, 0, true},
    {"32->64 3x3, 26x26", 64, 32, 26, 26, 64, 3, 0, true},
};

static double step_seconds(const conv_layer *l, tg_tensor *x, tg_tensor *w, tg_tensor *b, tg_tensor *seed,
                           size_t *allocs) {
    tg_tape *tape = tg_tape_current();
    tg_conv2d_opts o = tg_conv2d_options(1, l->padding, 1, 1);
    size_t before = tg_tape_get_stats(tape).system_allocs;
    double t0 = now_seconds();
    tg_tensor *y = tg_conv2d(x, w, b, &o);
    if (!y || tg_backward(y, seed) != TG_OK) {
        fprintf(stderr, "bench_conv: %s\n", tg_last_error_message());
        exit(1);
    }
    double t = now_seconds() - t0;
    tg_set_grad_to_none(w);
    tg_set_grad_to_none(b);
    if (l->input_grad) tg_set_grad_to_none(x);
    tg_tape_reset(tape);
    *allocs = tg_tape_get_stats(tape).system_allocs - before;
    return t;
}

static double gemm_seconds(int64_t m, int64_t n, int64_t k, int repeats) {
    float *a = bench_random_matrix("bench_conv", false, (size_t)(m * k));
    float *bm = bench_random_matrix("bench_conv", false, (size_t)(k * n));
    float *c = bench_random_matrix("bench_conv", false, (size_t)(m * n));
    double times[64];
    for (int r = 0; r < repeats; r++) {
        double t0 = now_seconds();
        tg_gemm_f32(false, false, m, n, k, 1.0f, a, k, bm, n, 0.0f, c, n);
        times[r] = now_seconds() - t0;
    }
    free(a), free(bm), free(c);
    return median(times, repeats);
}

int main(int argc, char **argv) {
    if (argc > 1) tg_set_num_threads(atoi(argv[1]));
    int repeats = argc > 2 ? atoi(argv[2]) : 15;
    if (repeats < 1 || repeats > 64) repeats = 15;
    int only = argc > 3 ? atoi(argv[3]) : -1;
    printf("conv2d float32 forward + backward, %d thread(s), median of %d (GEMM kernel: %s)\n",
           tg_get_num_threads(), repeats, tg_gemm_kernel_name());
    printf("%-36s %9s %9s %9s %6s %7s\n", "layer", "ms/step", "GFLOP/s", "GEMM", "ratio", "allocs");
    tg_rng rng = tg_rng_seeded(1);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        if (only >= 0 && (size_t)only != i) continue;
        const conv_layer *l = &layers[i];
        int64_t out_h = l->h + 2 * l->padding - l->k + 1, out_w = l->w + 2 * l->padding - l->k + 1;
        tg_tensor *x = tg_rand_uniform(&rng, TG_F32, 4, (int64_t[]){l->n, l->c_in, l->h, l->w}, -1, 1);
        tg_tensor *w = tg_rand_uniform(&rng, TG_F32, 4, (int64_t[]){l->c_out, l->c_in, l->k, l->k}, -0.1, 0.1);
        tg_tensor *b = tg_zeros(TG_F32, 1, (int64_t[]){l->c_out});
        tg_tensor *seed = tg_rand_uniform(&rng, TG_F32, 4, (int64_t[]){l->n, l->c_out, out_h, out_w}, -1, 1);
        tg_set_requires_grad(w, true);
        tg_set_requires_grad(b, true);
        if (l->input_grad) tg_set_requires_grad(x, true);
        size_t allocs = 0;
        for (int r = 0; r < 3; r++) step_seconds(l, x, w, b, seed, &allocs); /* warm the arena and the pool */
        double times[64];
        size_t max_allocs = 0;
        for (int r = 0; r < repeats; r++) {
            times[r] = step_seconds(l, x, w, b, seed, &allocs);
            if (allocs > max_allocs) max_allocs = allocs;
        }
        double t = median(times, repeats);
        int64_t m = l->c_out, n = l->n * out_h * out_w, k = l->c_in * l->k * l->k;
        double product_flops = 2.0 * (double)m * (double)n * (double)k;
        double flops = product_flops * (l->input_grad ? 3 : 2);
        double gemm_rate = product_flops / gemm_seconds(m, n, k, repeats) * 1e-9;
        double rate = flops / t * 1e-9;
        printf("%-36s %9.2f %9.1f %9.1f %5.0f%% %7zu\n", l->name, t * 1e3, rate, gemm_rate, 100 * rate / gemm_rate,
               max_allocs);
        tg_free(x), tg_free(w), tg_free(b), tg_free(seed);
    }
    return 0;
}
