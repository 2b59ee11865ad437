/* tapegrad/threads.h — how many threads the library's parallel kernels use.
 *
 * Large kernels (matrix products first of all) split their work over a small
 * pool of worker threads plus the calling thread. The split is static: for a
 * given thread count a result is bitwise the same from run to run. Workers
 * sleep when there is no work, so an idle library costs no CPU time.
 */
#ifndef TAPEGRAD_THREADS_H
#define TAPEGRAD_THREADS_H

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
 * it is the number of online CPUs; either is capped at 64. Never fails. */
int tg_get_num_threads(void);

#ifdef __cplusplus
}
#endif
#endif
