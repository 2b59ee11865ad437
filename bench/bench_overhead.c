/* bench_overhead — what recording an op and differentiating it costs when the
 * arithmetic is nothing: graphs of 100,000 ops on float32 scalars.
 *
 * Usage: bench_overhead [--quick] [--only unary|binary|mixed] [OPS]
 *        (default: all three graphs, OPS 100000; --quick: 3 samples)
 *
 * Three graphs, each built, differentiated and reset SAMPLES times:
 *   unary   y <- y * 1.0001 (mul_scalar), a chain: one node, one rule call
 *           (which applies one op) per step;
 *   binary  y <- y * w + b with persistent parameters w, b (mul, add): two
 *           nodes per step, and gradients accumulated into w.grad and b.grad;
 *   mixed   y <- tanh(relu(y) * w + 0.5) with w a parameter: the ops of a
 *           small network, whose rules apply one to four ops each.
 * For each graph one line:
 *   graph ops record_ns backward_ns total_ns reset_ns
 * with nanoseconds per recorded op (record: the forward calls; backward:
 * tg_backward; total = record + backward; reset: tg_tape_reset), medians of
 * SAMPLES samples. The target is total <= 100 ns per op. The tape is reused
 * from sample to sample, as in training; the first pass is a warm-up.
 *
 * Timings on a busy machine are noisy; instruction counts are not:
 *   valgrind --tool=callgrind bench_overhead --quick --only unary 10000
 * runs 4 passes (warm-up + 3) of 10,000 ops, so Ir / 40,000 is the number of
 * instructions per recorded op (record + backward + reset). */
#include "tapegrad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { SAMPLES = 11 };

typedef enum graph_kind { GRAPH_UNARY, GRAPH_BINARY, GRAPH_MIXED } graph_kind;

typedef struct graph_params {
    tg_tensor *x, *w, *b; /* persistent float32 scalars, requiring gradients */
} graph_params;

/* Builds the graph of `kind` with `steps` steps; returns the loss and the
 * number of ops recorded per step in *ops_per_step. */
static tg_tensor *build(graph_kind kind, const graph_params *p, long steps, int *ops_per_step)
{
    tg_tensor *y = p->x;
    switch (kind) {
    case GRAPH_UNARY:
        *ops_per_step = 1;
        for (long i = 0; i < steps; i++) y = tg_mul_scalar(y, 1.0001);
        break;
    case GRAPH_BINARY:
        *ops_per_step = 2;
        for (long i = 0; i < steps; i++) y = tg_add(tg_mul(y, p->w), p->b);
        break;
    case GRAPH_MIXED:
        *ops_per_step = 4;
        for (long i = 0; i < steps; i++) y = tg_tanh(tg_add_scalar(tg_mul(tg_relu(y), p->w), 0.5));
        break;
    }
    return y;
}

static void run(graph_kind kind, const char *name, const graph_params *p, long ops, int samples)
{
    int per_step = 1;
    (void)build(kind, p, 1, &per_step);
    tg_tape_reset(tg_tape_current());
    long steps = ops / per_step;
    long recorded = steps * per_step;
    double record[SAMPLES], backward[SAMPLES], total[SAMPLES], reset[SAMPLES];
    for (int s = -1; s < samples; s++) { /* s = -1: warm-up (grows the arena) */
        tg_zero_grad(p->x), tg_zero_grad(p->w), tg_zero_grad(p->b);
        double t0 = now_seconds();
        tg_tensor *loss = build(kind, p, steps, &per_step);
        double t1 = now_seconds();
        if (tg_backward(loss, NULL) != TG_OK) {
            fprintf(stderr, "bench_overhead: backward failed: %s\n", tg_last_error_message());
            exit(1);
        }
        double t2 = now_seconds();
        tg_tape_reset(tg_tape_current());
        double t3 = now_seconds();
        if (s < 0) continue;
        record[s] = (t1 - t0) * 1e9 / (double)recorded;
        backward[s] = (t2 - t1) * 1e9 / (double)recorded;
        total[s] = (t2 - t0) * 1e9 / (double)recorded;
        reset[s] = (t3 - t2) * 1e9 / (double)recorded;
    }
    printf("%-7s %7ld %9.1f %11.1f %8.1f %8.2f\n", name, recorded, median(record, samples),
           median(backward, samples), median(total, samples), median(reset, samples));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long ops = 100000;
    int samples = SAMPLES;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            samples = 3;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (atol(argv[i]) >= 10)
            ops = atol(argv[i]);
        else {
            fprintf(stderr, "usage: bench_overhead [--quick] [--only unary|binary|mixed] [OPS]\n");
            return 2;
        }
    }
    graph_params p = {tg_scalar(TG_F32, 0.5), tg_scalar(TG_F32, 0.999), tg_scalar(TG_F32, 1e-4)};
    tg_set_requires_grad(p.x, true);
    tg_set_requires_grad(p.w, true);
    tg_set_requires_grad(p.b, true);

    printf("# tapegrad op overhead, float32 scalars, ns per recorded op, median of %d samples\n",
           samples);
    printf("# graph     ops record_ns backward_ns total_ns reset_ns\n");
    static const struct {
        graph_kind kind;
        const char *name;
    } graphs[] = {{GRAPH_UNARY, "unary"}, {GRAPH_BINARY, "binary"}, {GRAPH_MIXED, "mixed"}};
    for (size_t g = 0; g < sizeof graphs / sizeof graphs[0]; g++)
        if (!only || strcmp(only, graphs[g].name) == 0) run(graphs[g].kind, graphs[g].name, &p, ops, samples);
    tg_tape_stats st = tg_tape_get_stats(tg_tape_current());
    printf("# tape: %zu bytes reserved, peak %zu bytes (%.0f bytes per op), %zu system allocations\n",
           st.bytes_reserved, st.peak_bytes, (double)st.peak_bytes / (double)ops, st.system_allocs);

    tg_free(p.x), tg_free(p.w), tg_free(p.b);
    return 0;
}
