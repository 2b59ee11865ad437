/* tests/core/test_memory.c — a training loop runs in constant memory: after
 * the first step (and its reset), a step of an MLP trained with plain SGD
 * asks the system for nothing. The tape's arena and node list are reused (tg_tape_get_stats
 * counts every system allocation they make), parameters' gradients keep
 * their storage, and every step uses exactly the same tape memory.
 *
 * The network is written with ops only (matmul, add, relu, log_softmax, mul,
 * sum), so the test depends on core/, ops/ and optim/'s SGD alone. Its sizes
 * (batch 64, 32 -> 256 -> 128 -> 10) make the 256 x 128 layer's products
 * large enough to be split over two threads, and the elementwise ops small
 * enough to stay on the calling thread, so both paths are covered. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

enum { BATCH = 64, IN = 32, HIDDEN1 = 256, HIDDEN2 = 128, CLASSES = 10, LAYERS = 3 };

typedef struct mlp {
    tg_tensor *params[2 * LAYERS]; /* W0, b0, W1, b1, W2, b2 */
    tg_tensor *x, *y;              /* a fixed batch; y one-hot */
    tg_optimizer *opt;
} mlp;

static void mlp_init(mlp *net) {
    const int64_t sizes[LAYERS + 1] = {IN, HIDDEN1, HIDDEN2, CLASSES};
    tg_rng rng = tg_rng_seeded(11);
    for (int l = 0; l < LAYERS; l++) {
        int64_t w_shape[2] = {sizes[l], sizes[l + 1]};
        net->params[2 * l] = tg_rand_normal(&rng, TG_F32, 2, w_shape, 0.0, sqrt(2.0 / (double)sizes[l]));
        net->params[2 * l + 1] = tg_zeros(TG_F32, 1, &sizes[l + 1]);
    }
    for (int i = 0; i < 2 * LAYERS; i++) tg_set_requires_grad(net->params[i], true);
    int64_t x_shape[2] = {BATCH, IN}, y_shape[2] = {BATCH, CLASSES};
    net->x = tg_rand_normal(&rng, TG_F32, 2, x_shape, 0.0, 1.0);
    net->y = tg_zeros(TG_F32, 2, y_shape);
    for (int64_t r = 0; r < BATCH; r++) {
        int64_t index[2] = {r, (int64_t)tg_rng_below(&rng, CLASSES)};
        tg_set(net->y, index, 1.0);
    }
    net->opt = tg_sgd_new(2 * LAYERS, net->params, 0.05);
    cr_assert_not_null(net->opt);
}

static void mlp_free(mlp *net) {
    tg_optimizer_free(net->opt);
    for (int i = 0; i < 2 * LAYERS; i++) tg_free(net->params[i]);
    tg_free(net->x);
    tg_free(net->y);
}

/* One step: zero_grad (or set_to_none), forward, backward, SGD update. The
 * tape is left for the caller to read its stats, then reset. Returns the loss. */
static double mlp_step(mlp *net, bool to_none) {
    if (to_none)
        tg_optimizer_set_grads_to_none(net->opt);
    else
        tg_optimizer_zero_grad(net->opt);
    tg_tensor *h = net->x;
    for (int l = 0; l < LAYERS; l++) {
        h = tg_add(tg_matmul(h, net->params[2 * l]), net->params[2 * l + 1]);
        if (l + 1 < LAYERS) h = tg_relu(h);
    }
    tg_tensor *loss = tg_mul_scalar(tg_sum(tg_mul(tg_log_softmax(h, -1), net->y)), -1.0 / BATCH);
    cr_assert_not_null(loss);
    double value = tg_item(loss);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    cr_assert_eq(tg_optimizer_step(net->opt), TG_OK);
    return value;
}

/* Trains `steps` steps on a fresh tape with `threads` threads and checks,
 * from the second step on (after the first step and its reset), that the
 * tape made no system allocation, used
 * the same bytes and nodes as the first step, kept its peak, and that every
 * gradient is the same tensor with the same storage (also when gradients are
 * set to none between steps: the storage is kept for the next backward).
 * Returns the last loss. */
static double check_constant_memory(int threads, int steps, bool to_none) {
    int previous_threads = tg_set_num_threads(threads);
    tg_tape *tape = tg_tape_new();
    tg_tape *previous_tape = tg_tape_use(tape);
    mlp net;
    mlp_init(&net);

    double first_loss = mlp_step(&net, to_none);
    tg_tape_stats first = tg_tape_get_stats(tape);
    const tg_tensor *grads[2 * LAYERS];
    const void *grad_data[2 * LAYERS];
    for (int i = 0; i < 2 * LAYERS; i++) {
        grads[i] = tg_grad(net.params[i]);
        cr_assert_not_null(grads[i], "parameter %d has a gradient after the first step", i);
        grad_data[i] = grads[i]->data;
    }
    cr_assert_gt(first.system_allocs, 0, "the first step grows the tape");
    cr_assert_gt(first.nodes, 0);
    /* The reset after the first step also gives the tape the memory of the
     * next steps' tensor structs (tape.h, stale window). */
    tg_tape_reset(tape);
    tg_tape_stats warm = tg_tape_get_stats(tape);

    double loss = first_loss;
    for (int step = 1; step < steps; step++) {
        loss = mlp_step(&net, to_none);
        tg_tape_stats stats = tg_tape_get_stats(tape);
        cr_assert_eq(stats.system_allocs, warm.system_allocs,
                     "step %d (%d threads) made %zu new system allocations", step, threads,
                     stats.system_allocs - warm.system_allocs);
        cr_assert_eq(stats.bytes_reserved, warm.bytes_reserved, "step %d reserved more memory", step);
        cr_assert_eq(stats.bytes_in_use, first.bytes_in_use, "step %d used %zu bytes, the first %zu", step,
                     stats.bytes_in_use, first.bytes_in_use);
        cr_assert_eq(stats.peak_bytes, first.peak_bytes, "step %d raised the peak", step);
        cr_assert_eq(stats.nodes, first.nodes, "step %d recorded %zu nodes, the first %zu", step, stats.nodes,
                     first.nodes);
        for (int i = 0; i < 2 * LAYERS; i++) {
            cr_assert_eq(tg_grad(net.params[i]), grads[i], "step %d replaced parameter %d's gradient", step, i);
            cr_assert_eq(tg_grad(net.params[i])->data, grad_data[i], "step %d moved parameter %d's gradient", step,
                         i);
        }
        tg_tape_reset(tape);
        cr_assert_eq(tg_tape_get_stats(tape).bytes_in_use, 0, "a reset releases everything");
    }
    cr_assert(isfinite(loss) && loss < first_loss, "SGD lowers the loss on a fixed batch: %g -> %g", first_loss,
              loss);

    mlp_free(&net);
    tg_tape_use(previous_tape);
    tg_tape_free(tape);
    tg_set_num_threads(previous_threads);
    return loss;
}

Test(memory, an_sgd_training_step_makes_no_system_allocation_after_the_first) { check_constant_memory(1, 30, false); }

Test(memory, the_same_holds_with_two_threads) { check_constant_memory(2, 30, false); }

/* Setting gradients to none instead of zeroing them allocates nothing either,
 * and trains exactly the same: the same loss after 30 steps, to the bit. */
Test(memory, setting_gradients_to_none_allocates_nothing_and_trains_the_same) {
    for (int threads = 1; threads <= 2; threads++) {
        double zeroed = check_constant_memory(threads, 30, false), to_none = check_constant_memory(threads, 30, true);
        cr_assert_eq(to_none, zeroed, "%d threads: loss %.17g with set_to_none, %.17g with zero_grad", threads, to_none,
                     zeroed);
    }
}

/* The stats themselves: bytes in use grow with each op and return to 0 on
 * reset; the peak remembers the largest use; reserved covers the peak. */
Test(memory, stats_report_bytes_in_use_peak_and_reserved) {
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tape_stats empty = tg_tape_get_stats(tape);
    cr_assert_eq(empty.bytes_in_use, 0);
    cr_assert_eq(empty.system_allocs, 0, "a new tape holds no memory yet");
    int64_t shape[1] = {1000};
    tg_tensor *x = tg_ones(TG_F64, 1, shape);
    tg_tensor *y = tg_mul_scalar(x, 2.0);
    tg_tape_stats one = tg_tape_get_stats(tape);
    cr_assert_geq(one.bytes_in_use, 8000, "1000 doubles live on the tape: %zu bytes", one.bytes_in_use);
    (void)tg_add(y, y);
    tg_tape_stats two = tg_tape_get_stats(tape);
    cr_assert_geq(two.bytes_in_use, one.bytes_in_use + 8000);
    cr_assert_geq(two.bytes_reserved, two.peak_bytes);
    cr_assert_eq(two.peak_bytes, two.bytes_in_use);
    tg_tape_reset(tape);
    tg_tape_stats after = tg_tape_get_stats(tape);
    cr_assert_eq(after.bytes_in_use, 0);
    cr_assert_eq(after.peak_bytes, two.peak_bytes, "the peak survives a reset");
    cr_assert_geq(after.bytes_reserved, two.bytes_reserved, "a reset keeps the memory");
    tg_free(x);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

/* Steps whose tensors change size from step to step (seeded random sizes,
 * 1 to 3 tape tensors of up to 1.3 MB each, as variable-length sequences
 * give): the tape's reserved memory follows what recent steps used instead of
 * growing with every new size (before, 2,000 such steps reserved GBs).
 * Bound checked (tape.h): after a reset, reserved <= 4 x the larger of 1 MiB
 * and the largest step of the last 16, plus the blocks of tensor structs
 * (stale window + 1 blocks of at least 64 KiB each); during a step, the
 * step's own use may come on top, at most twice over. */
Test(memory, reserved_memory_follows_recent_use_when_sizes_vary) {
    enum { STEPS = 2000, RECENT = 16 };
    const double mib = 1 << 20;
    const double struct_blocks = (TG_TAPE_STALE_WINDOW + 1) * 3.0 * 65536;
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_rng rng = tg_rng_seeded(21);
    size_t recent[RECENT] = {0};
    double worst_ratio = 0;
    for (int step = 0; step < STEPS; step++) {
        /* 1 to 3 tape tensors of up to 1.3 MB each. */
        int tensors = 1 + (int)tg_rng_below(&rng, 3);
        for (int i = 0; i < tensors; i++) {
            int64_t n = 1 + (int64_t)tg_rng_below(&rng, 1300000 / sizeof(float));
            tg_tensor *x = tg_zeros(TG_F32, 1, &n);
            cr_assert_not_null(tg_mul_scalar(x, 2.0));
            tg_free(x);
        }
        tg_tape_stats during = tg_tape_get_stats(tape);
        recent[step % RECENT] = during.bytes_in_use;
        double largest = mib;
        for (int i = 0; i < RECENT; i++) largest = recent[i] > largest ? (double)recent[i] : largest;
        cr_assert_leq((double)during.bytes_reserved, 4 * largest + 2.0 * (double)during.bytes_in_use + struct_blocks,
                      "step %d: %zu bytes reserved during a step using %zu (recent largest %.0f)", step,
                      during.bytes_reserved, during.bytes_in_use, largest);
        tg_tape_reset(tape);
        tg_tape_stats after = tg_tape_get_stats(tape);
        cr_assert_leq((double)after.bytes_reserved, 4 * largest + struct_blocks,
                      "step %d: %zu bytes reserved after the reset (recent largest %.0f)", step,
                      after.bytes_reserved, largest);
        double ratio = (double)after.bytes_reserved / largest;
        worst_ratio = ratio > worst_ratio ? ratio : worst_ratio;
    }
    cr_log_info("varying sizes: reserved after a reset at most %.2f x max(1 MiB, largest recent step)", worst_ratio);
    tg_tape_use(previous);
    tg_tape_free(tape);
}
