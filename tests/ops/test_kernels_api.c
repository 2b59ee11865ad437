/* tests/ops/test_kernels_api.c — the kernels a user-defined op may call
 * (tapegrad/kernels.h, tg_parallel_range / tg_parallel_items of
 * tapegrad/threads.h), used the way op.h's users would: an "affine" op
 * y = x W + b whose forward is the bias copied row by row and one GEMM with
 * beta = 1. Its gradients are checked against finite differences, its values
 * against the same function built from tapegrad's ops. Bad arguments to these
 * entry points are in tests/core/test_bad_arguments.c. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* ---- tg_parallel_range / tg_parallel_items ---------------------------------- */

enum { RANGE_N = 1000003 }; /* prime: the last piece is ragged */
static atomic_uchar visits[RANGE_N];
static atomic_int pieces, empty_pieces, misaligned_pieces;

static void visit(void *ctx, int64_t begin, int64_t end) {
    int64_t align = *(const int64_t *)ctx;
    atomic_fetch_add(&pieces, 1);
    if (begin >= end) atomic_fetch_add(&empty_pieces, 1);
    if (begin % align != 0) atomic_fetch_add(&misaligned_pieces, 1);
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&visits[i], 1);
}

static void reset_visits(void) {
    for (int64_t i = 0; i < RANGE_N; i++) atomic_store(&visits[i], 0);
    atomic_store(&pieces, 0), atomic_store(&empty_pieces, 0), atomic_store(&misaligned_pieces, 0);
}

static int64_t count_visited_once(int64_t n) {
    int64_t once = 0;
    for (int64_t i = 0; i < n; i++) once += atomic_load(&visits[i]) == 1;
    return once;
}

Test(kernels_api, parallel_range_visits_every_element_once_in_aligned_pieces) {
    int64_t align = 16;
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        reset_visits();
        tg_parallel_range(RANGE_N, 1.0, visit, &align);
        cr_assert_eq(count_visited_once(RANGE_N), RANGE_N, "%d threads", threads);
        cr_assert_eq(atomic_load(&pieces), threads, "a million adds are worth %d pieces", threads);
        cr_assert_eq(atomic_load(&misaligned_pieces), 0);
        cr_assert_eq(atomic_load(&empty_pieces), 0);
    }
    /* Tiny work stays on the calling thread, in one piece. */
    reset_visits();
    tg_parallel_range(100, 1.0, visit, &align);
    cr_assert_eq(atomic_load(&pieces), 1);
    cr_assert_eq(count_visited_once(100), 100);
    /* n <= 0: nothing runs. */
    reset_visits();
    tg_parallel_range(0, 1.0, visit, &align);
    tg_parallel_range(-5, 1.0, visit, &align);
    cr_assert_eq(atomic_load(&pieces), 0);
}

Test(kernels_api, parallel_items_spreads_a_few_heavy_items_without_empty_pieces) {
    int64_t align = 1;
    tg_set_num_threads(2);
    reset_visits();
    tg_parallel_items(3, 1e6, visit, &align); /* three items of a million adds each */
    cr_assert_eq(atomic_load(&pieces), 2);
    cr_assert_eq(atomic_load(&empty_pieces), 0);
    cr_assert_eq(count_visited_once(3), 3);
}

/* ---- a user-defined op on the library's GEMM ---------------------------------- */

/* Fills the output with b, one broadcast row per item. */
static void fill_bias(void *ctx, int64_t begin, int64_t end) {
    const tg_node *node = ctx;
    const tg_tensor *b = node->inputs[2];
    tg_tensor *out = node->output;
    for (int64_t i = begin * b->numel; i < end * b->numel; i++) {
        if (out->dtype == TG_F64)
            ((double *)out->data)[i] = ((const double *)b->data)[i % b->numel];
        else
            ((float *)out->data)[i] = ((const float *)b->data)[i % b->numel];
    }
}

/* y = x W + b: x (rows, in), W (in, out), b (out). */
static void affine_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0], *w = node->inputs[1];
    int64_t rows = x->shape[0], in = x->shape[1], out = w->shape[1];
    tg_parallel_items(rows, (double)out, fill_bias, (void *)node);
    if (x->dtype == TG_F64)
        tg_gemm_f64(false, false, rows, out, in, 1.0, x->data, in, w->data, out, 1.0, node->output->data, out);
    else
        tg_gemm_f32(false, false, rows, out, in, 1.0f, x->data, in, w->data, out, 1.0f, node->output->data, out);
}

static void affine_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0], *w = node->inputs[1];
    if (x->requires_grad) grad_inputs[0] = tg_matmul_t(g, false, w, true);
    if (w->requires_grad) grad_inputs[1] = tg_matmul_t(x, true, g, false);
    if (node->inputs[2]->requires_grad) grad_inputs[2] = tg_sum_axes(g, 1, (int[]){0}, false);
}

static const tg_op affine_op = {"affine", 3, affine_forward, affine_backward};

static tg_tensor *affine(tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    tg_tensor *inputs[3] = {x, w, b};
    return tg_op_apply(&affine_op, inputs, 3, NULL, x->dtype, 2, (int64_t[]){x->shape[0], w->shape[1]});
}

static tg_tensor *affine_checked(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return affine(in[0], in[1], in[2]);
}

Test(kernels_api, an_op_on_the_library_gemm_passes_gradcheck, .fini = reset_tape) {
    tg_rng rng = tg_rng_seeded(11);
    tg_tensor *in[3] = {tg_gradcheck_input(&rng, 2, (int64_t[]){6, 5}, -1, 1, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 2, (int64_t[]){5, 4}, -1, 1, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 1, (int64_t[]){4}, -1, 1, 0, NULL, 0)};
    tg_gradcheck_result result;
    char text[256];
    cr_assert_eq(tg_gradcheck(affine_checked, NULL, 3, in, NULL, &result), TG_OK, "%s", tg_last_error_message());
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    for (int i = 0; i < 3; i++) tg_free(in[i]);
}

/* Large enough that the bias copy and the product are split over 2 threads;
 * the values match x W + b from tapegrad's ops within float32 rounding (the
 * bias enters the sum first here, last there), on 1 and 2 threads alike. */
Test(kernels_api, an_op_on_the_library_gemm_matches_the_built_in_ops, .fini = reset_tape) {
    tg_rng rng = tg_rng_seeded(12);
    tg_tensor *x = tg_rand_uniform(&rng, TG_F32, 2, (int64_t[]){300, 130}, -1, 1);
    tg_tensor *w = tg_rand_uniform(&rng, TG_F32, 2, (int64_t[]){130, 70}, -1, 1);
    tg_tensor *b = tg_rand_uniform(&rng, TG_F32, 1, (int64_t[]){70}, -1, 1);
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_tensor *mine = affine(x, w, b), *reference = tg_add(tg_matmul(x, w), b);
        cr_assert_not_null(mine);
        double worst = 0;
        for (int64_t i = 0; i < mine->numel; i++)
            worst = fmax(worst, fabs(tg_get_flat(mine, i) - tg_get_flat(reference, i)));
        cr_assert_leq(worst, 1e-5, "%d threads: largest difference %g", threads, worst);
        cr_assert_gt(fabs(tg_get_flat(mine, 0)), 0.0);
        tg_tape_reset(tg_tape_current());
    }
    tg_free(x), tg_free(w), tg_free(b);
}
