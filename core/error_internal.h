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
extern _Thread_local unsigned tg_error_reports TG_FAST_TLS;

/* Reports an error whose message is already formatted, "function: detail"
 * (one taken from another thread's slot), through the mode or handler in
 * force, as tg_error_report does. Returns `code`. */
tg_status tg_error_report_message(tg_status code, const char *message);

/* For the thread pool's workers, once at their start: errors reported on
 * this thread are recorded (tg_last_error) but neither abort nor reach the
 * handler, and while one is pending a later one does not replace it, so that
 * the pool can hand the first error of a job's pieces to the thread that
 * called the parallel function, which reports it (core/threadpool.c). A NULL
 * tensor passed down a chain is treated as under TG_ERRORS_RETURN. */
void tg_error_defer_on_this_thread(void);

/* A callee (a layer, the checkpoint reader) reported under its own name;
 * reports it again, same status, under `function`, the public function the
 * caller called, so that the message starts with that name and keeps the
 * detail: "tg_model_load: tg_checkpoint_open: cannot open 'x': ...".
 * `context` (may be "") goes between the two. Returns the status, TG_OK if
 * no error is pending. A custom handler sees both reports. */
tg_status tg_error_pass_up(const char *function, const char *context);

/* Public functions called by another one on its caller's behalf
 * (tg_model_load opening a checkpoint, tg_model_forward running a layer):
 * between tg_error_nested_begin() and tg_error_nested_end() on this thread,
 * an error is recorded (tg_last_error) but neither printed, nor aborted on,
 * nor handed to a handler; the outer function then reports it, once and in
 * the mode in force, under its own name with tg_error_pass_up or
 * tg_error_take_over. Pairs nest; call end on every path. */
void tg_error_nested_begin(void);
void tg_error_nested_end(void);

/* tg_error_pass_up without the callee's name: "tg_model_load: 'm.safetensors':
 * tensor '4.weight' has shape ...", for a callee the caller never called
 * itself (whose own name and argument words would only mislead). Returns the
 * status, TG_OK if no error is pending. */
tg_status tg_error_take_over(const char *function, const char *context);

/* Reports that a tensor argument is NULL (TG_ERR_ARGUMENT; `format` names
 * it, e.g. "x is NULL"), unless an error is already pending on this thread
 * and errors do not abort: the NULL is then the earlier failure's result
 * passed down a chain, the pending error stays as it is (the handler is not
 * called again) and its status is returned. Only for tensor arguments: any
 * other NULL (a path, an optimizer) is a new mistake, use tg_error_report. */
tg_status tg_error_null_tensor(const char *function, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "tapegrad warning (source): message" on stderr, for what is worth
 * saying but is no error of a call: a setting from the environment that
 * cannot be used (`source` names it) and what is used instead. Not the
 * error mechanism: the last error is untouched and no handler is called. */
void tg_warning(const char *source, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
