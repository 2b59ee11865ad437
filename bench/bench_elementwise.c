/* bench_elementwise — forward speed of the elementwise, broadcast and
 * reduction kernels (ops/elementwise.c, unary.c, masks.c, reduce.c).
 *
 * Usage: bench_elementwise [--quick] [THREADS...]     (default threads: 1 2)
 *
 * For float32 and float64, each thread count, and two sizes (16,384
 * elements, which stay in L1/L2, and 4,194,304, which stream from memory),
 * one line per op:
 *   dtype threads elements op ns_per_element
 * the median of several samples, each timing the public op (grad mode off,
 * so nothing is recorded) on a (rows, 1024) tensor, tape reset included. */
#include "tapegrad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { SAMPLES = 7 };

typedef enum bench_op {
    OP_ADD, OP_MUL_ROW, OP_MUL_SCALAR, OP_RELU, OP_GT_SCALAR, OP_EXP, OP_LOG, OP_TANH, OP_SIGMOID,
    OP_SUM, OP_SUM_ROWS, OP_SUM_COLS, OP_MAX, OP_COUNT
} bench_op;

static const char *const op_names[OP_COUNT] = {
    "add", "mul_bias_row", "mul_scalar", "relu", "gt_scalar", "exp", "log", "tanh", "sigmoid",
    "sum", "sum_axis0", "sum_axis1", "max",
};

static void run_op(bench_op op, tg_tensor *x, tg_tensor *y, tg_tensor *pos, tg_tensor *row)
{
    int axis0 = 0, axis1 = 1;
    switch (op) {
    case OP_ADD: (void)tg_add(x, y); break;
    case OP_MUL_ROW: (void)tg_mul(x, row); break;
    case OP_MUL_SCALAR: (void)tg_mul_scalar(x, 0.3); break;
    case OP_RELU: (void)tg_relu(x); break;
    case OP_GT_SCALAR: (void)tg_gt_scalar(x, 0.0); break;
    case OP_EXP: (void)tg_exp(x); break;
    case OP_LOG: (void)tg_log(pos); break;
    case OP_TANH: (void)tg_tanh(x); break;
    case OP_SIGMOID: (void)tg_sigmoid(x); break;
    case OP_SUM: (void)tg_sum(x); break;
    case OP_SUM_ROWS: (void)tg_sum_axes(x, 1, &axis0, false); break;
    case OP_SUM_COLS: (void)tg_sum_axes(x, 1, &axis1, false); break;
    case OP_MAX: (void)tg_max(x); break;
    case OP_COUNT: break;
    }
    tg_tape_reset(tg_tape_current());
}

int main(int argc, char **argv)
{
    int threads[8], n_threads = 0, samples = SAMPLES;
    double sample_elements = 2e8;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            samples = 3, sample_elements = 2e7;
        else if (n_threads < 8 && atoi(argv[i]) >= 1)
            threads[n_threads++] = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: bench_elementwise [--quick] [THREADS...]\n");
            return 2;
        }
    }
    if (n_threads == 0) threads[n_threads++] = 1, threads[n_threads++] = 2;
    tg_set_grad_enabled(false);
    const int64_t rows_list[2] = {16, 4096};

    printf("# tapegrad elementwise forward kernels, ns per element, median of %d samples\n", samples);
    printf("# dtype threads elements op ns_per_element\n");
    for (int d = 0; d < 2; d++) {
        tg_dtype dtype = d ? TG_F64 : TG_F32;
        for (int t = 0; t < n_threads; t++) {
            tg_set_num_threads(threads[t]);
            for (int s = 0; s < 2; s++) {
                int64_t shape[2] = {rows_list[s], 1024};
                int64_t n = shape[0] * shape[1];
                tg_rng rng = tg_rng_seeded(1);
                tg_tensor *x = tg_rand_normal(&rng, dtype, 2, shape, 0.0, 2.0);
                tg_tensor *y = tg_rand_normal(&rng, dtype, 2, shape, 0.0, 2.0);
                tg_tensor *pos = tg_rand_uniform(&rng, dtype, 2, shape, 0.01, 10.0);
                tg_tensor *row = tg_rand_normal(&rng, dtype, 1, &shape[1], 0.0, 1.0);
                int reps = (int)(sample_elements / (double)n) + 1;
                for (int op = 0; op < OP_COUNT; op++) {
                    run_op(op, x, y, pos, row); /* warm-up */
                    double ns[SAMPLES];
                    for (int k = 0; k < samples; k++) {
                        double t0 = now_seconds();
                        for (int r = 0; r < reps; r++) run_op(op, x, y, pos, row);
                        ns[k] = (now_seconds() - t0) * 1e9 / ((double)reps * (double)n);
                    }
                    qsort(ns, (size_t)samples, sizeof ns[0], compare_doubles);
                    printf("%s %d %lld %s %.3f\n", d ? "f64" : "f32", threads[t], (long long)n, op_names[op],
                           ns[samples / 2]);
                    fflush(stdout);
                }
                tg_free(x), tg_free(y), tg_free(pos), tg_free(row);
            }
        }
    }
    return 0;
}
