/* tapegrad/threads.h — how many threads the library's parallel kernels use.
 *
 * Large kernels (matrix products first of all) split their work over a small
 * pool of worker threads plus the calling thread. The split is static: for a
 * given thread count a result is bitwise the same from run to run. Workers
 * sleep when there is no work, so an idle library costs no CPU time.
 *
 * fork(): the child starts with no workers and starts its own on its first
 * parallel call (a fork waits for a parallel call running on another thread
 * to finish). Not supported: fork() from inside a piece of a parallel call.
 */
#ifndef TAPEGRAD_THREADS_H
#define TAPEGRAD_THREADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of threads (the caller included) that later parallel
 * kernels may use, process-wide; 1 makes every kernel run on the calling
 * thread. Values above 64 are clamped to 64. Returns the previous count. A
 * count below 1 is reported as TG_ERR_ARGUMENT through tg_error_report() and
 * leaves the setting unchanged; the call then returns -1. Safe to call from
 * any thread, also while kernels run (they pick the new count at their next
 * call). */
int tg_set_num_threads(int n);

/* The number of threads parallel kernels use (the caller included), always in
 * [1, 64]. Until tg_set_num_threads() is called it is read once from the
 * environment variable TG_NUM_THREADS when that holds an integer >= 1, else
 * it is the number of online CPUs; either is capped at 64. A TG_NUM_THREADS
 * that is not used as written (not a whole number >= 1, or above 64) is said
 * in one line on stderr, with the count used instead. Never fails. */
int tg_get_num_threads(void);

/* For the forward kernels of user-defined ops (tapegrad/op.h), the split the
 * built-in elementwise kernels use: fn(ctx, begin, end) over pieces of
 * [0, n), run on the pool when the work is worth waking workers, else all on
 * the calling thread. `cost` is an element's price relative to a float add
 * (1 for arithmetic, about 5 for a float exp, 20 or more for a libm call): the
 * pool is used from about 8,192 add-equivalents per thread. Pieces start at
 * multiples of 16 elements (whole cache lines of floats). Returns when every
 * piece is done; each runs in the caller's floating-point mode.
 *
 * fn must write only the elements of its own piece; then the result does not
 * depend on the thread count. A call from inside a piece (nested) runs all of
 * its pieces on the thread making it. n <= 0 does nothing. Errors
 * (TG_ERR_ARGUMENT through tg_error_report, nothing run): fn NULL, cost
 * negative or NaN.
 *
 * fn may report errors with tg_error_report, from any piece: they reach the
 * calling thread's error mode or handler. A piece on the calling thread
 * reports as it runs, as on one thread; if none of those reported, the first
 * error of the other threads' pieces (the lowest piece's thread's first) is
 * reported on the calling thread once every piece is done, with its code and
 * message, once (it aborts there under TG_ERRORS_ABORT). Every piece still
 * runs: an error does not stop the others. */
typedef void (*tg_range_fn)(void *ctx, int64_t begin, int64_t end);
void tg_parallel_range(int64_t n, double cost, tg_range_fn fn, void *ctx);

/* The same over n items that are each a block of work (rows of a batch,
 * columns of a reduction), `cost` per item: pieces are split evenly, with no
 * rounding to 16, and no thread gets an empty one, so a handful of heavy items
 * still spreads over the threads. */
void tg_parallel_items(int64_t n, double cost, tg_range_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
