/* core/error_internal.h — error helpers for the library's own files
 * (internal; not installed). */
#ifndef TG_CORE_ERROR_INTERNAL_H
#define TG_CORE_ERROR_INTERNAL_H

#include "core/fast_tls.h"
#include "tapegrad/error.h"

/* The size of a thread's message slot (tg_last_error_message), '\0' included. */
#define TG_ERROR_MESSAGE_SIZE 1024

/* How many errors this thread has reported (tg_error_report and the helpers
 * below; wraps around): a caller compares it before and after a call to
 * learn whether the call reported one, whatever was pending before. */
extern _Thread_local unsigned tgi_error_reports TG_FAST_TLS;

/* Reports an error whose message is already formatted, "function: detail"
 * (one taken from another thread's slot), through the mode or handler in
 * force, as tg_error_report does. Returns `code`. */
tg_status tgi_error_report_message(tg_status code, const char *message);

/* For the thread pool's workers, once at their start: errors reported on
 * this thread are recorded (tg_last_error) but neither abort nor reach the
 * handler, and while one is pending a later one does not replace it, so that
 * the pool can hand the first error of a job's pieces to the thread that
 * called the parallel function, which reports it (core/threadpool.c). A NULL
 * tensor passed down a chain is treated as under TG_ERRORS_RETURN. */
void tgi_error_defer_on_this_thread(void);

/* Prints "tapegrad warning (source): message" on stderr, for what is worth
 * saying but is no error of a call: a setting from the environment that
 * cannot be used (`source` names it) and what is used instead. Not the
 * error mechanism: the last error is untouched and no handler is called. */
void tgi_warning(const char *source, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
