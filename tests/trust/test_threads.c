/* tests/trust/test_threads.c — two models trained at the same time on two
 * user threads, each on its own tape (tg_tape_new / tg_tape_use), give
 * bitwise the losses and parameters each gives when trained alone; the
 * thread pool after fork(); errors reported in pieces run on the pool's
 * workers reach the calling thread.
 *
 * What makes this hold: the current tape, grad mode and the last error are
 * per thread (tape.c, error.c), and the kernels' thread pool runs one job at
 * a time; a second caller that finds it busy runs its tasks itself, split
 * the same way (threadpool.h), so its results do not depend on who got the
 * pool. With 2 library threads both paths are taken here: the run is
 * tests/trust/training.h's, whose 128 x 128 products are split in two. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- fork() after the pool has started ---- */

enum { FILL_N = 1 << 20 }; /* a million adds: two pieces on two threads */
static double fill_out[FILL_N];
static pthread_t fill_caller;
static atomic_int fill_pieces, fill_pieces_elsewhere;

/* out[i] = 2 i, and counts the pieces and those run off the calling thread. */
static void fill_twice_index(void *ctx, int64_t begin, int64_t end)
{
    (void)ctx;
    atomic_fetch_add(&fill_pieces, 1);
    if (!pthread_equal(pthread_self(), fill_caller)) atomic_fetch_add(&fill_pieces_elsewhere, 1);
    for (int64_t i = begin; i < end; i++) fill_out[i] = 2.0 * (double)i;
}

/* 0 if a parallel fill on the pool gives 2 i everywhere, in two pieces, one
 * of them on a worker; else which of these failed (1, 2, 3). No Criterion
 * call: a forked child reports through its exit status. */
static int parallel_fill_check(void)
{
    memset(fill_out, 0, sizeof fill_out);
    fill_caller = pthread_self();
    atomic_store(&fill_pieces, 0);
    atomic_store(&fill_pieces_elsewhere, 0);
    tg_parallel_range(FILL_N, 1.0, fill_twice_index, NULL);
    for (int64_t i = 0; i < FILL_N; i++)
        if (fill_out[i] != 2.0 * (double)i) return 1;
    if (atomic_load(&fill_pieces) != 2) return 2;
    if (atomic_load(&fill_pieces_elsewhere) != 1) return 3;
    return 0;
}

/* 0 if a 256 x 256 product of ones, split over the pool, is 256 everywhere
 * (each element sums 256 products 1 x 1), else 4. */
static int matmul_of_ones_check(void)
{
    const int64_t shape[2] = {256, 256};
    tg_tensor *a = tg_ones(TG_F32, 2, shape);
    tg_tensor *c = tg_matmul(a, a);
    int status = 0;
    for (int64_t i = 0; i < 256 * 256; i++)
        if (tg_get_flat(c, i) != 256.0) status = 4;
    tg_tape_reset(tg_tape_current());
    tg_free(a);
    return status;
}

/* Waits for `pid` at most `seconds`, polling; a child still running then is
 * killed. True if it ended by itself (its status in *status). */
static bool wait_with_deadline(pid_t pid, double seconds, int *status)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (double waited = 0.0; waited < seconds; waited += 0.01) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid) return true;
        cr_assert_eq(done, 0, "waitpid failed");
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return false;
}

Test(threads_fork, a_child_forked_after_the_pool_started_runs_parallel_calls_and_so_does_the_parent,
     .fini = restore_threads)
{
    previous_threads = tg_set_num_threads(2);
    cr_assert_eq(parallel_fill_check(), 0, "the pool works before the fork");
    cr_assert_eq(matmul_of_ones_check(), 0);

    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork failed");
    if (pid == 0) {
        int status = parallel_fill_check();
        if (status == 0) status = matmul_of_ones_check();
        _exit(status);
    }
    int status = 0;
    bool ended = wait_with_deadline(pid, 60.0, &status);
    cr_assert(ended, "the child's first parallel call hung (killed after 60 s)");
    cr_assert(WIFEXITED(status), "the child did not exit normally (status %d)", status);
    cr_assert_eq(WEXITSTATUS(status), 0,
                 "in the child: 1 wrong values, 2 not split in two, 3 no piece on a worker, 4 wrong product; got %d",
                 WEXITSTATUS(status));

    cr_assert_eq(parallel_fill_check(), 0, "the parent's pool still works after the fork");
    cr_assert_eq(matmul_of_ones_check(), 0);
}

/* ---- errors reported in pieces that run on the pool's workers ---- */

/* A user-defined op whose forward kernel runs on tg_parallel_range and
 * refuses negative elements: each piece reports the first one it finds,
 * naming the element. */
static void sqrt_piece(void *ctx, int64_t begin, int64_t end)
{
    const tg_node *node = ctx;
    const float *x = tg_data_f32(node->inputs[0]);
    float *y = tg_data_f32(node->output);
    for (int64_t i = begin; i < end; i++) {
        if (x[i] < 0.0f) {
            tg_error_report(TG_ERR_ARGUMENT, "tg_checked_sqrt", "element %lld is negative (%g)", (long long)i,
                            (double)x[i]);
            return;
        }
        y[i] = sqrtf(x[i]);
    }
}

static void checked_sqrt_forward(const tg_node *node)
{
    tg_parallel_range(node->output->numel, 1.0, sqrt_piece, (void *)node);
}

static const tg_op checked_sqrt_op = {"checked_sqrt", 1, checked_sqrt_forward, NULL};

static tg_tensor *checked_sqrt(tg_tensor *x)
{
    return tg_op_apply(&checked_sqrt_op, &x, 1, NULL, x->dtype, x->rank, x->shape);
}

/* FILL_N ones, with -1 from element `first_negative` on. */
static tg_tensor *ones_then_negative(int64_t first_negative)
{
    tg_tensor *x = tg_ones(TG_F32, 1, (const int64_t[]){FILL_N});
    float *data = tg_data_f32(x);
    for (int64_t i = first_negative; i < FILL_N; i++) data[i] = -1.0f;
    return x;
}

static void end_error_test(void)
{
    restore_threads();
    tg_tape_reset(tg_tape_current());
    abort_mode();
}

/* Every piece fails: the op fails, with the first piece's message (the
 * calling thread's own piece, which starts at element 0), on 1 and 2 threads. */
Test(threads_errors, an_op_whose_kernel_fails_in_every_piece_returns_the_error_on_one_and_two_threads,
     .init = return_mode, .fini = end_error_test)
{
    previous_threads = tg_get_num_threads();
    tg_tensor *x = ones_then_negative(0);
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_tensor *y = checked_sqrt(x);
        cr_assert_null(y, "%d thread(s): the op failed", threads);
        cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT, "%d thread(s)", threads);
        cr_assert_str_eq(tg_last_error_message(), "tg_checked_sqrt: element 0 is negative (-1)", "%d thread(s)",
                         threads);
        tg_clear_error();
    }
    tg_free(x);
}

/* Only the last element is negative: on two threads only the worker's piece
 * (the second half) fails, and its error is the op's. */
Test(threads_errors, an_error_reported_only_on_a_worker_is_returned_by_the_op_on_one_and_two_threads,
     .init = return_mode, .fini = end_error_test)
{
    previous_threads = tg_get_num_threads();
    tg_tensor *x = ones_then_negative(FILL_N - 1);
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_tensor *y = checked_sqrt(x);
        cr_assert_null(y, "%d thread(s): the op failed", threads);
        cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT, "%d thread(s)", threads);
        cr_assert_str_eq(tg_last_error_message(), "tg_checked_sqrt: element 1048575 is negative (-1)",
                         "%d thread(s)", threads);
        tg_clear_error();
        /* The same op on good data succeeds afterwards: nothing is left over. */
        tg_tensor *good = tg_ones(TG_F32, 1, (const int64_t[]){FILL_N});
        y = checked_sqrt(good);
        cr_assert_not_null(y);
        cr_assert_eq(tg_last_error(), TG_OK);
        cr_assert_eq(tg_get_flat(y, FILL_N - 1), 1.0);
        tg_free(good);
    }
    tg_free(x);
}

static pthread_t handler_expected_thread;
static int handler_calls, handler_calls_elsewhere;
static tg_status handler_code;
static char handler_message[256];

static void count_errors(tg_status code, const char *message, void *user)
{
    (void)user;
    handler_calls++;
    if (!pthread_equal(pthread_self(), handler_expected_thread)) handler_calls_elsewhere++;
    handler_code = code;
    snprintf(handler_message, sizeof handler_message, "%s", message);
}

/* With a handler, a worker's error is handed to it once, on the calling thread. */
Test(threads_errors, a_workers_error_reaches_the_handler_once_on_the_calling_thread, .fini = end_error_test)
{
    previous_threads = tg_set_num_threads(2);
    tg_tensor *x = ones_then_negative(FILL_N - 1);
    handler_expected_thread = pthread_self();
    tg_set_error_handler(count_errors, NULL);
    tg_clear_error();
    tg_tensor *y = checked_sqrt(x);
    tg_set_error_mode(TG_ERRORS_RETURN); /* removes the handler */
    cr_assert_null(y);
    cr_assert_eq(handler_calls, 1, "the handler is called once, got %d", handler_calls);
    cr_assert_eq(handler_calls_elsewhere, 0, "on the calling thread");
    cr_assert_eq(handler_code, TG_ERR_ARGUMENT);
    cr_assert_str_eq(handler_message, "tg_checked_sqrt: element 1048575 is negative (-1)");
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT, "the error is also this thread's last error");
    tg_free(x);
}

/* In the child of the abort test: says on stderr which thread SIGABRT came
 * to (abort() raises it on the thread that calls it), then lets abort go on. */
static void say_aborting_thread(int signal_number)
{
    (void)signal_number;
    static const char caller[] = "[aborted on the calling thread]\n", other[] = "[aborted on another thread]\n";
    if ((pid_t)syscall(SYS_gettid) == getpid())
        (void)!write(STDERR_FILENO, caller, sizeof caller - 1);
    else
        (void)!write(STDERR_FILENO, other, sizeof other - 1);
}

/* Under TG_ERRORS_ABORT a worker's error aborts the process from the calling
 * thread, with the worker's message (run in a child, its stderr read back). */
Test(threads_errors, under_abort_mode_a_workers_error_aborts_on_the_calling_thread_with_its_message,
     .fini = restore_threads)
{
    previous_threads = tg_get_num_threads();
    int pipe_ends[2];
    cr_assert_eq(pipe(pipe_ends), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork failed");
    if (pid == 0) {
        dup2(pipe_ends[1], STDERR_FILENO);
        close(pipe_ends[0]);
        signal(SIGABRT, say_aborting_thread);
        tg_set_error_mode(TG_ERRORS_ABORT);
        tg_set_num_threads(2);
        tg_tensor *x = ones_then_negative(FILL_N - 1);
        (void)checked_sqrt(x);
        _exit(3); /* not reached if the error aborts */
    }
    close(pipe_ends[1]);
    int status = 0;
    bool ended = wait_with_deadline(pid, 60.0, &status);
    char output[4096] = {0};
    size_t used = 0;
    ssize_t got;
    while (used < sizeof output - 1 && (got = read(pipe_ends[0], output + used, sizeof output - 1 - used)) > 0)
        used += (size_t)got;
    close(pipe_ends[0]);
    cr_assert(ended, "the child hung (killed after 60 s)");
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child aborted (status %d); stderr: %s",
              status, output);
    cr_assert_not_null(strstr(output, "tapegrad error (invalid argument): tg_checked_sqrt: element 1048575 is "
                                      "negative (-1)\n[aborted on the calling thread]"),
                       "stderr: %s", output);
}
