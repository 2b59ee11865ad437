/* core/threadpool.h — a small pool of worker threads for parallel kernels.
 *
 * The pool is created lazily, on the first call that wants more than one
 * thread, and grows up to tg_get_num_threads() - 1 workers (the calling
 * thread always takes part as thread 0). Idle workers sleep on a condition
 * variable, so the pool costs nothing between kernels.
 *
 * Work is split statically: with T threads, thread t runs the contiguous
 * tasks [t*n/T, (t+1)*n/T) in increasing order. Which thread runs which
 * task depends only on n and T, never on timing, so a kernel whose tasks
 * write disjoint outputs is bitwise reproducible for a given thread count.
 *
 * Every task runs in the caller's floating-point mode (rounding, flush to
 * zero; tapegrad/float_mode.h), on whichever thread.
 *
 * One job runs at a time. A call made while the pool is busy (from a second
 * user thread, or from inside a task) does not wait: it runs all its tasks
 * on its own calling thread, in order, with thread_index 0.
 *
 * Errors: a task on the calling thread reports as usual. Workers only record
 * theirs (core/error_internal.h); if the caller's tasks reported none, the
 * first error of the lowest-numbered worker that had one is reported on the
 * calling thread when the job is done (tapegrad/threads.h).
 *
 * fork(): handlers registered with the first worker wait for a running job,
 * hold the pool's locks across the fork, and leave the child an empty pool
 * that starts its own workers when first needed.
 */
#ifndef TAPEGRAD_CORE_THREADPOOL_H
#define TAPEGRAD_CORE_THREADPOOL_H

#include <stdint.h>

#include "tapegrad/threads.h"

#define TG_MAX_THREADS 64

/* Kernels of at most this many elements (a scalar, a bias) run on the
 * calling thread without asking the pool: its bookkeeping would cost more
 * than the work. */
#define TG_ON_CALLER_MAX_NUMEL 64

/* One task of a parallel loop: `task` in [0, n_tasks), `thread_index` in
 * [0, threads used) names the thread running it (0 = the caller). */
typedef void (*tg_task_fn)(void *ctx, int64_t task, int thread_index);

/* Runs fn(ctx, task, thread_index) for every task in [0, n_tasks) on up to
 * `n_threads` threads (<= 0 means tg_get_num_threads()), and returns when
 * all are done. n_tasks <= 0 does nothing. */
void tgi_parallel_for(int64_t n_tasks, int n_threads, tg_task_fn fn, void *ctx);

/* How many threads a job of `work` units is worth, giving each thread at
 * least `min_work_per_thread` units: in [1, tg_get_num_threads()]. Callers
 * use it to keep tiny jobs on the calling thread, where waking a worker would
 * cost more than the work. */
int tgi_parallel_threads_for_work(double work, double min_work_per_thread);

/* tg_parallel_range and tg_parallel_items are public: tapegrad/threads.h. */

#endif
