/* tests/trust/test_threads.c — two models trained at the same time on two
 * user threads, each on its own tape (tg_tape_new / tg_tape_use), give
 * bitwise the losses and parameters each gives when trained alone.
 *
 * What makes this hold: the current tape, grad mode and the last error are
 * per thread (tape.c, error.c), and the kernels' thread pool runs one job at
 * a time; a second caller that finds it busy runs its tasks itself, split
 * the same way (threadpool.h), so its results do not depend on who got the
 * pool. With 2 library threads both paths are taken here: the run is
 * tests/trust/training.h's, whose 128 x 128 products are split in two. */
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"
#include "tests/trust/training.h"

enum { STEPS = 150 };

typedef struct job {
    uint64_t seed;
    bool moons;
    double losses[STEPS];
    trainer t;
    pthread_barrier_t *start; /* NULL when run alone */
} job;

/* Trains the job's model on a tape of its own; keeps the trainer for the
 * caller to compare parameters and free. */
static void *run_job(void *arg)
{
    job *j = arg;
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    trainer_init(&j->t, j->seed, j->seed, j->moons, 128);
    if (j->start) pthread_barrier_wait(j->start); /* both threads train at once */
    for (int s = 0; s < STEPS; s++) j->losses[s] = trainer_step(&j->t);
    cr_assert_eq(tg_tape_current(), tape, "the thread's tape stayed current");
    tg_tape_use(previous);
    tg_tape_free(tape);
    return NULL;
}

static int previous_threads;
static void restore_threads(void) { tg_set_num_threads(previous_threads); }

static void check_concurrent_equals_alone(int threads)
{
    previous_threads = tg_set_num_threads(threads);
    static job alone[2], together[2];
    const uint64_t seeds[2] = {3, 4};
    for (int i = 0; i < 2; i++) {
        alone[i] = (job){.seed = seeds[i], .moons = i == 0};
        run_job(&alone[i]);
    }

    pthread_barrier_t start;
    cr_assert_eq(pthread_barrier_init(&start, NULL, 2), 0);
    pthread_t ids[2];
    for (int i = 0; i < 2; i++) {
        together[i] = (job){.seed = seeds[i], .moons = i == 0, .start = &start};
        cr_assert_eq(pthread_create(&ids[i], NULL, run_job, &together[i]), 0);
    }
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_join(ids[i], NULL), 0);
    pthread_barrier_destroy(&start);

    for (int i = 0; i < 2; i++) {
        for (int s = 0; s < STEPS; s++)
            cr_assert_eq(memcmp(&together[i].losses[s], &alone[i].losses[s], sizeof(double)), 0,
                         "%d thread(s), model %d, step %d: loss %.9g trained alongside, %.9g alone", threads, i, s,
                         together[i].losses[s], alone[i].losses[s]);
        expect_same_parameters(together[i].t.model, alone[i].t.model, "alongside vs alone");
        trainer_free(&together[i].t);
        trainer_free(&alone[i].t);
    }
    /* The two models are different runs: equal results are not a copy. */
    cr_assert_neq(alone[0].losses[STEPS - 1], alone[1].losses[STEPS - 1]);
    cr_log_info("threads (%d library thread(s)): 2 models x %d steps on 2 user threads, bitwise as alone", threads,
                STEPS);
}

Test(threads_training, two_models_trained_at_once_match_each_trained_alone_with_one_library_thread,
     .fini = restore_threads)
{
    check_concurrent_equals_alone(1);
}

Test(threads_training, two_models_trained_at_once_match_each_trained_alone_with_two_library_threads,
     .fini = restore_threads)
{
    check_concurrent_equals_alone(2);
}

/* ---- the per-thread state itself ---- */

typedef struct probe {
    tg_tape *default_tape, *tape_after_use;
    bool grad_enabled_at_start;
    tg_status error_at_start, error_after_failure;
} probe;

/* In a fresh thread: reads its state, changes all of it (tape, grad mode,
 * an error), and leaves it changed when it ends. */
static void *change_thread_state(void *arg)
{
    probe *p = arg;
    p->default_tape = tg_tape_current();
    p->grad_enabled_at_start = tg_is_grad_enabled();
    p->error_at_start = tg_last_error();
    tg_tape *tape = tg_tape_new();
    tg_tape_use(tape);
    p->tape_after_use = tg_tape_current();
    tg_set_grad_enabled(false);
    (void)tg_reshape(NULL, 1, (const int64_t[]){1}); /* fails: NULL input */
    p->error_after_failure = tg_last_error();
    tg_tape_use(NULL);
    tg_tape_free(tape);
    return NULL;
}

Test(threads_training, tape_grad_mode_and_errors_are_per_thread, .init = return_mode, .fini = abort_mode)
{
    /* This thread's state, made different from a fresh thread's. */
    tg_tape *mine = tg_tape_new();
    tg_tape *previous = tg_tape_use(mine);
    tg_set_grad_enabled(false);
    (void)tg_exp(NULL);
    tg_status my_error = tg_last_error();
    cr_assert_neq(my_error, TG_OK);

    probe p = {0};
    pthread_t id;
    cr_assert_eq(pthread_create(&id, NULL, change_thread_state, &p), 0);
    cr_assert_eq(pthread_join(id, NULL), 0);

    cr_assert_not_null(p.default_tape);
    cr_assert_neq(p.default_tape, mine, "a new thread starts on its own default tape, not this thread's");
    cr_assert(p.grad_enabled_at_start, "a new thread starts with grad mode on, whatever this thread set");
    cr_assert_eq(p.error_at_start, TG_OK, "a new thread starts with no error");
    cr_assert_neq(p.tape_after_use, p.default_tape);
    cr_assert_eq(p.error_after_failure, TG_ERR_ARGUMENT, "its own failure is its own error");

    cr_assert_eq(tg_tape_current(), mine, "the other thread's tg_tape_use did not move this thread");
    cr_assert(!tg_is_grad_enabled(), "nor did its grad mode");
    cr_assert_eq(tg_last_error(), my_error, "nor its errors");
    tg_set_grad_enabled(true);
    tg_clear_error();
    tg_tape_use(previous);
    tg_tape_free(mine);
}
