/* core/threadpool.c — the worker pool behind tgi_parallel_for (see threadpool.h). */
#include "core/threadpool.h"
#include "core/error_internal.h"
#include "tapegrad/float_mode.h"

#include "tapegrad/error.h"
#include "tapegrad/threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- the thread count ---------------------------------------------------- */

static atomic_int num_threads; /* 0 until first read or set */

static int clamp_threads(long n)
{
    if (n < 1) return 1;
    if (n > TG_MAX_THREADS) return TG_MAX_THREADS;
    return (int)n;
}

/* TG_NUM_THREADS if it is a whole number >= 1 (at most TG_MAX_THREADS),
 * else the CPUs online; a value that cannot be used is said on stderr rather
 * than ignored without a word (once per process, unless two threads make
 * the very first call at the same moment and both read it). */
static int default_num_threads(void)
{
    int cpus = clamp_threads(sysconf(_SC_NPROCESSORS_ONLN));
    const char *env = getenv("TG_NUM_THREADS");
    if (env == NULL || *env == '\0') return cpus;
    char *end = NULL;
    errno = 0;
    long n = strtol(env, &end, 10);
    if (*end != '\0' || n < 1) {
        tgi_warning("TG_NUM_THREADS", "\"%s\" is not a whole number >= 1; using %d thread%s (the CPUs online)", env,
                   cpus, cpus == 1 ? "" : "s");
        return cpus;
    }
    if (errno == ERANGE || n > TG_MAX_THREADS) {
        tgi_warning("TG_NUM_THREADS", "%s is more than the %d threads a pool can have; using %d", env, TG_MAX_THREADS,
                   TG_MAX_THREADS);
        return TG_MAX_THREADS;
    }
    return (int)n;
}

int tg_get_num_threads(void)
{
    int n = atomic_load(&num_threads);
    if (n == 0) {
        int expected = 0;
        n = default_num_threads();
        if (!atomic_compare_exchange_strong(&num_threads, &expected, n)) n = expected;
    }
    return n;
}

int tg_set_num_threads(int n)
{
    if (n < 1) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_set_num_threads",
                        "thread count must be >= 1, got %d", n);
        return -1;
    }
    int previous = tg_get_num_threads();
    atomic_store(&num_threads, clamp_threads(n));
    return previous;
}

int tgi_parallel_threads_for_work(double work, double min_work_per_thread)
{
    int max_threads = tg_get_num_threads();
    if (!(min_work_per_thread > 0.0)) return max_threads;
    double worth = work / min_work_per_thread;
    if (!(worth >= 2.0)) return 1;
    return worth >= (double)max_threads ? max_threads : (int)worth;
}

/* ---- the pool -------------------------------------------------------------- */

/* How long a thread polls before it sleeps: a worker after its last job, the
 * caller while it waits for the workers. Waking a sleeping thread costs tens
 * of microseconds (more in a VM), as much as a mid-sized product, and
 * training calls kernels back to back; polling hides that, and a thread never
 * burns more than this much CPU time per job (it yields the CPU between polls,
 * and sleeps once training stops). 1 ms covers the serial stretches of a
 * training step (batch fill, zero_grad, small ops): with 100 us the workers of
 * an MNIST MLP step on 2 threads were often asleep when the next product came,
 * and a step took about 13% longer. (GNU OpenMP spins for a similar time
 * before sleeping; Intel's runtime for 200 ms.) */
#define POLL_SECONDS 1e-3

/* Held by the one caller whose job the pool runs; others fall back to inline. */
static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER;
/* Guards sleeping and waking; workers sleep on work_ready, the caller on job_done. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_done = PTHREAD_COND_INITIALIZER;

static pthread_t workers[TG_MAX_THREADS - 1];
static int n_workers;
static atomic_bool shutting_down;
static bool atexit_registered;
/* Workers asleep or about to be; changed under pool_lock, read without it by
 * a caller that has published a job, which takes the lock only to wake them.
 * A worker counts itself before its last look at job_word and the caller
 * publishes job_word before reading this, all seq_cst: no lost wake-up. */
static atomic_int sleeping_workers;
/* Written under pool_lock; read without it by a finishing worker, which
 * takes the lock only to wake a caller that is (about to be) asleep. The
 * worker's decrement of job_pending and its read of this flag, and the
 * caller's write of it and its re-read of job_pending, are all seq_cst, so at
 * least one side sees the other: no lost wake-up. */
static atomic_bool caller_sleeping;

/* The current job. `job_word` = job number * JOB_WORD_SCALE + thread count, in
 * one atomic word so that a worker reads both consistently; the other fields
 * are written before it (release) and read after it (acquire), and only by
 * the workers taking part, whom the caller waits for. */
#define JOB_WORD_SCALE 128
static atomic_uint_fast64_t job_word;
static tg_task_fn job_fn;
static void *job_ctx;
static int64_t job_tasks;
static tg_float_mode job_float_mode; /* the caller's (tapegrad/float_mode.h) */
static atomic_int job_pending; /* workers of this job not yet finished */

/* The first error the workers' pieces of the current job reported (deferred
 * on the workers, core/error_internal.h): the lowest thread_index's wins, so
 * which one the caller sees does not depend on timing. Reset by the caller
 * before it publishes a job, filled under job_error_lock, read by the caller
 * after every worker of the job is done. */
static pthread_mutex_t job_error_lock = PTHREAD_MUTEX_INITIALIZER;
static int job_error_thread; /* 0: none */
static tg_status job_error_code;
static char job_error_message[TG_ERROR_MESSAGE_SIZE];

/* True while this thread runs pieces of a job on the pool (the caller's own
 * share or a worker's): a fork() from there must not wait for the pool. */
static _Thread_local bool in_pool_job;

static void run_share(tg_task_fn fn, void *ctx, int64_t n_tasks, int threads, int index)
{
    int64_t begin = n_tasks * index / threads;
    int64_t end = n_tasks * (index + 1) / threads;
    for (int64_t task = begin; task < end; task++) fn(ctx, task, index);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* Polls until job_word != seen or the poll time is up; true if it changed.
 * Between rounds of pause instructions it yields the CPU: when the machine
 * has fewer free cores than the pool has threads, the thread it waits for
 * may be queued on this very core, and a pure spin would keep it off for the
 * whole poll time. */
static bool poll_job_word(uint64_t seen)
{
    double deadline = now_seconds() + POLL_SECONDS;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(&job_word, memory_order_acquire) != seen) return true;
            cpu_relax();
        }
        if (atomic_load(&shutting_down) || now_seconds() > deadline) return false;
        sched_yield();
    }
}

/* True once every worker of the current job is done, polled for one round
 * of pause instructions. */
static bool workers_done_within_poll(void)
{
    for (int i = 0; i < 64; i++) {
        if (atomic_load_explicit(&job_pending, memory_order_acquire) == 0) return true;
        cpu_relax();
    }
    return atomic_load_explicit(&job_pending, memory_order_acquire) == 0;
}

typedef struct worker_start {
    int index;           /* thread_index of this worker (>= 1) */
    uint64_t job_word;   /* the last job it need not run */
} worker_start;

static worker_start worker_starts[TG_MAX_THREADS - 1];

/* Called by a worker after its share: hands the error its pieces left
 * pending on this thread (if any) to the job, and clears it. */
static void keep_worker_error(int index)
{
    tg_status code = tg_last_error();
    if (code == TG_OK) return;
    pthread_mutex_lock(&job_error_lock);
    if (job_error_thread == 0 || index < job_error_thread) {
        job_error_thread = index;
        job_error_code = code;
        snprintf(job_error_message, sizeof job_error_message, "%s", tg_last_error_message());
    }
    pthread_mutex_unlock(&job_error_lock);
    tg_clear_error();
}

static void *worker_main(void *arg)
{
    const worker_start *start = arg;
    int index = start->index;
    uint64_t seen = start->job_word;
    bool poll = false; /* only after a job it took part in */
    in_pool_job = true;
    tgi_error_defer_on_this_thread();
    for (;;) {
        if (!(poll && poll_job_word(seen))) {
            pthread_mutex_lock(&pool_lock);
            atomic_fetch_add(&sleeping_workers, 1); /* before the check: see sleeping_workers */
            while (!atomic_load(&shutting_down) && atomic_load(&job_word) == seen)
                pthread_cond_wait(&work_ready, &pool_lock);
            atomic_fetch_sub(&sleeping_workers, 1);
            pthread_mutex_unlock(&pool_lock);
        }
        if (atomic_load(&shutting_down)) break;
        seen = atomic_load_explicit(&job_word, memory_order_acquire);
        int threads = (int)(seen % JOB_WORD_SCALE);
        poll = index < threads;
        if (!poll) continue; /* not needed for this job */
        if (tg_float_mode_get() != job_float_mode) tg_float_mode_set(job_float_mode);
        run_share(job_fn, job_ctx, job_tasks, threads, index);
        keep_worker_error(index);
        if (atomic_fetch_sub(&job_pending, 1) == 1 && atomic_load(&caller_sleeping)) {
            pthread_mutex_lock(&pool_lock);
            pthread_cond_signal(&job_done);
            pthread_mutex_unlock(&pool_lock);
        }
    }
    return NULL;
}

/* At exit: wake the workers and join them, unless a job is running (exit()
 * called from inside a task), in which case joining could hang: leave them. */
static void pool_shutdown(void)
{
    if (pthread_mutex_trylock(&pool_owner) != 0) return;
    pthread_mutex_lock(&pool_lock);
    atomic_store(&shutting_down, true);
    pthread_cond_broadcast(&work_ready);
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < n_workers; i++) pthread_join(workers[i], NULL);
    n_workers = 0;
    pthread_mutex_unlock(&pool_owner);
}

/* ---- fork ---- */

/* A fork()ed child has only the thread that forked: the workers are gone.
 * Before the fork this waits for a running job to finish and holds the
 * pool's locks, so that no thread of the parent is inside them when the
 * child's copy is made; the child then starts with an empty pool, which
 * grows again on its first parallel call. A fork from inside a piece of a
 * job does not wait (the job could not finish): the parent is unaffected,
 * the child must not use the pool. */
static bool fork_holds_pool;

static void pool_before_fork(void)
{
    fork_holds_pool = !in_pool_job;
    if (!fork_holds_pool) return;
    pthread_mutex_lock(&pool_owner);
    pthread_mutex_lock(&pool_lock);
}

static void pool_after_fork_in_parent(void)
{
    if (!fork_holds_pool) return;
    pthread_mutex_unlock(&pool_lock);
    pthread_mutex_unlock(&pool_owner);
}

/* The condition variables are made afresh: the parent's sleeping workers may
 * be recorded as waiters in the copies. */
static void pool_after_fork_in_child(void)
{
    pool_after_fork_in_parent();
    pthread_cond_init(&work_ready, NULL);
    pthread_cond_init(&job_done, NULL);
    n_workers = 0;
    atomic_store(&sleeping_workers, 0);
    atomic_store(&caller_sleeping, false);
    atomic_store(&shutting_down, false);
}

/* Starts workers until there are `wanted`; returns how many there are.
 * Called with pool_owner held and no job running. */
static int grow_pool(int wanted)
{
    if (n_workers >= wanted) return n_workers;
    if (!atexit_registered) {
        atexit_registered = true;
        atexit(pool_shutdown);
        pthread_atfork(pool_before_fork, pool_after_fork_in_parent, pool_after_fork_in_child);
    }
    /* Workers block every signal, so signals reach the user's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (n_workers < wanted) {
        worker_start *start = &worker_starts[n_workers];
        start->index = n_workers + 1;
        start->job_word = atomic_load(&job_word);
        if (pthread_create(&workers[n_workers], NULL, worker_main, start) != 0) break;
        n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n_workers;
}

void tgi_parallel_for(int64_t n_tasks, int n_threads, tg_task_fn fn, void *ctx)
{
    if (n_tasks <= 0) return;
    int threads = n_threads >= 1 ? n_threads : tg_get_num_threads();
    if (threads > TG_MAX_THREADS) threads = TG_MAX_THREADS;
    if ((int64_t)threads > n_tasks) threads = (int)n_tasks;
    if (threads <= 1 || pthread_mutex_trylock(&pool_owner) != 0) {
        run_share(fn, ctx, n_tasks, 1, 0);
        return;
    }
    if (atomic_load(&shutting_down)) {
        pthread_mutex_unlock(&pool_owner);
        run_share(fn, ctx, n_tasks, 1, 0);
        return;
    }
    int available = grow_pool(threads - 1);
    if (available < threads - 1) threads = available + 1;

    job_fn = fn;
    job_ctx = ctx;
    job_tasks = n_tasks;
    job_float_mode = tg_float_mode_get();
    job_error_thread = 0;
    atomic_store(&job_pending, threads - 1);
    uint64_t job_number = atomic_load(&job_word) / JOB_WORD_SCALE + 1;
    atomic_store(&job_word, job_number * JOB_WORD_SCALE + (uint64_t)threads);
    if (atomic_load(&sleeping_workers) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&work_ready);
        pthread_mutex_unlock(&pool_lock);
    }

    unsigned reports_before = tgi_error_reports;
    in_pool_job = true;
    run_share(fn, ctx, n_tasks, threads, 0);
    in_pool_job = false;

    if (atomic_load_explicit(&job_pending, memory_order_acquire) > 0) {
        double deadline = now_seconds() + POLL_SECONDS;
        /* Checked after every pause, not every 64, and no yield once done:
         * the last worker's finish is seen within ~100 cycles. */
        bool done = false;
        while (!(done = workers_done_within_poll()) && now_seconds() < deadline)
            sched_yield(); /* as in poll_job_word */
        if (!done) {
            pthread_mutex_lock(&pool_lock);
            atomic_store(&caller_sleeping, true);
            while (atomic_load(&job_pending) > 0) pthread_cond_wait(&job_done, &pool_lock);
            atomic_store(&caller_sleeping, false);
            pthread_mutex_unlock(&pool_lock);
        }
    }
    /* The caller's own pieces reported theirs as they ran, as on one thread;
     * if they reported none, a worker's first error is reported here. */
    bool worker_error = job_error_thread != 0 && tgi_error_reports == reports_before;
    tg_status code = job_error_code;
    char message[TG_ERROR_MESSAGE_SIZE];
    if (worker_error) snprintf(message, sizeof message, "%s", job_error_message);
    pthread_mutex_unlock(&pool_owner);
    if (worker_error) tgi_error_report_message(code, message);
}

/* ---- tg_parallel_range: flat element ranges split over the pool ---- */

/* Element-copies' worth of work a thread must get before waking a worker is
 * worth it: a few times what handing a job to a polling worker costs, and
 * small enough that an MLP's bias adds and ReLUs are split too
 * (bench/RESULTS.md has the measurements). */
#define ELEMENTWISE_WORK_PER_THREAD 8192.0

typedef struct range_job {
    int64_t n;
    int pieces;
    int64_t granule; /* pieces start at multiples of this */
    tg_range_fn fn;
    void *ctx;
} range_job;

/* Where piece `t` of `pieces` starts: a multiple of the granule. */
static int64_t piece_start(const range_job *job, int64_t t) {
    if (t >= job->pieces) return job->n;
    int64_t start = (int64_t)((double)job->n * (double)t / (double)job->pieces);
    start -= start % job->granule;
    return start < job->n ? start : job->n;
}

static void range_task(void *ctx, int64_t task, int thread_index) {
    (void)thread_index;
    const range_job *job = ctx;
    int64_t begin = piece_start(job, task), end = piece_start(job, task + 1);
    if (begin < end) job->fn(job->ctx, begin, end);
}

/* At most one thread per granule, so that none gets an empty piece (a
 * reduction of 256 columns, one item, once ran all on the worker while the
 * caller waited). */
static void split_range(int64_t n, int64_t granule, double cost, tg_range_fn fn, void *ctx) {
    if (n <= 0) return;
    int threads = tgi_parallel_threads_for_work((double)n * cost, ELEMENTWISE_WORK_PER_THREAD);
    int64_t granules = (n + granule - 1) / granule;
    if (granules < threads) threads = (int)granules;
    if (threads <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job job = {n, threads, granule, fn, ctx};
    tgi_parallel_for(threads, threads, range_task, &job);
}

/* The public entry points' check (tapegrad/threads.h). */
static bool range_args_valid(const char *function, double cost, tg_range_fn fn)
{
    if (fn == NULL) {
        tg_error_report(TG_ERR_ARGUMENT, function, "fn is NULL");
        return false;
    }
    if (!(cost >= 0.0)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "cost must be >= 0, got %g", cost);
        return false;
    }
    return true;
}

void tg_parallel_range(int64_t n, double cost, tg_range_fn fn, void *ctx)
{
    if (range_args_valid("tg_parallel_range", cost, fn)) split_range(n, 16, cost, fn, ctx);
}

void tg_parallel_items(int64_t n, double cost, tg_range_fn fn, void *ctx)
{
    if (range_args_valid("tg_parallel_items", cost, fn)) split_range(n, 1, cost, fn, ctx);
}
