/* tests/trust/test_shared_parameter.c — two user threads, each on its own
 * tape, run backward on graphs that share persistent parameters: every
 * gradient is summed into the shared .grad, none lost (tape.h).
 *
 * Both graphs are loss = sum(x_t @ W + b) with integer x_t, so
 * d loss/dW[i][j] = sum_r x_t[r][i] and d loss/db[j] = rows: integers, exact
 * in float64 in any order of addition. After REPS passes per thread, starting
 * from a gradient set to none (the first pass of each thread races to make
 * the storage), W.grad must be REPS * (colsum x_1 + colsum x_2) exactly.
 * W's gradient is summed by the matrix product itself (the in-place path of
 * backward_internal.h), b's by backward's leaf accumulation. */
#include <pthread.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

enum { ROWS = 16, IN = 48, OUT = 40, REPS = 3000, ROUNDS = 3 };

typedef struct worker {
    tg_tensor *x, *w, *b;
    pthread_barrier_t *start;
    tg_status status;
} worker;

static void *run_worker(void *arg)
{
    worker *k = arg;
    tg_tape *tape = tg_tape_new();
    tg_tape_use(tape);
    pthread_barrier_wait(k->start);
    k->status = TG_OK;
    for (int r = 0; r < REPS && k->status == TG_OK; r++) {
        k->status = tg_backward(tg_sum(tg_add(tg_matmul(k->x, k->w), k->b)), NULL);
        tg_tape_reset(tape);
    }
    tg_tape_use(NULL);
    tg_tape_free(tape);
    return NULL;
}

/* x of thread t: entries (r * 7 + i * 3 + t) % 5 - 2, small integers. */
static tg_tensor *thread_input(int t, double colsum[IN])
{
    static double values[ROWS * IN];
    for (int i = 0; i < IN; i++) colsum[i] = 0;
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < IN; i++) {
            values[r * IN + i] = (double)((r * 7 + i * 3 + t) % 5) - 2;
            colsum[i] += values[r * IN + i];
        }
    const int64_t shape[2] = {ROWS, IN};
    return make(TG_F64, 2, shape, values);
}

Test(threads_shared_parameter, two_threads_sum_every_gradient_into_a_shared_parameter)
{
    const int64_t w_shape[2] = {IN, OUT}, b_shape[1] = {OUT};
    tg_tensor *w = tg_full(TG_F64, 2, w_shape, 0.5), *b = tg_zeros(TG_F64, 1, b_shape);
    cr_assert_eq(tg_set_requires_grad(w, true), TG_OK);
    cr_assert_eq(tg_set_requires_grad(b, true), TG_OK);
    double colsum[2][IN];
    tg_tensor *x[2] = {thread_input(0, colsum[0]), thread_input(1, colsum[1])};
    for (int round = 0; round < ROUNDS; round++) {
        tg_set_grad_to_none(w);
        tg_set_grad_to_none(b);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        worker workers[2];
        pthread_t threads[2];
        for (int t = 0; t < 2; t++) {
            workers[t] = (worker){x[t], w, b, &start, TG_OK};
            cr_assert_eq(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
        }
        for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
        pthread_barrier_destroy(&start);
        for (int t = 0; t < 2; t++) cr_assert_eq(workers[t].status, TG_OK, "thread %d failed", t);
        const tg_tensor *gw = tg_grad(w), *gb = tg_grad(b);
        cr_assert_not_null(gw);
        cr_assert_not_null(gb);
        for (int i = 0; i < IN; i++)
            for (int j = 0; j < OUT; j++) {
                double want = REPS * (colsum[0][i] + colsum[1][i]);
                cr_assert_eq(tg_get_flat(gw, i * OUT + j), want, "round %d: W.grad[%d][%d] = %g, want %g", round, i,
                             j, tg_get_flat(gw, i * OUT + j), want);
            }
        for (int j = 0; j < OUT; j++)
            cr_assert_eq(tg_get_flat(gb, j), 2.0 * REPS * ROWS, "round %d: b.grad[%d] = %g, want %g", round, j,
                         tg_get_flat(gb, j), 2.0 * REPS * ROWS);
    }
    tg_free(x[0]);
    tg_free(x[1]);
    tg_free(w);
    tg_free(b);
}
