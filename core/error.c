/* core/error.c — the single error mechanism (see include/tapegrad/error.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error_internal.h"
#include "core/fast_tls.h"
#include "tapegrad/error.h"

/* The handler is process-wide (set once in main); the last error is per thread
 * so that two threads training two models never see each other's errors. */
static _Atomic(tg_error_handler) custom_handler; /* zero: no handler */
static _Atomic(void *) custom_user;
static _Atomic int error_mode = TG_ERRORS_ABORT;

/* Read after every backward rule (did it fail?): initial-exec, see fast_tls.h. */
static _Thread_local tg_status last_code TG_FAST_TLS = TG_OK;
static _Thread_local char last_message[TG_ERROR_MESSAGE_SIZE];
/* Set on the pool's workers (tgi_error_defer_on_this_thread): their errors are
 * only recorded, for the pool to hand to the calling thread. */
static _Thread_local bool deferring;
_Thread_local unsigned tgi_error_reports TG_FAST_TLS;
/* Depth of tg_error_nested_begin on this thread (0: reports are dispatched),
 * and where the pending message's text starts after its "function: ". */
static _Thread_local int nested_depth;
static _Thread_local size_t last_detail;

tg_error_mode tg_set_error_mode(tg_error_mode mode) {
    if (mode != TG_ERRORS_ABORT && mode != TG_ERRORS_RETURN) { /* reported under the mode in force */
        tg_error_report(TG_ERR_ARGUMENT, "tg_set_error_mode", "unknown error mode %d (the mode stays as it was)",
                        (int)mode);
        return (tg_error_mode)atomic_load(&error_mode);
    }
    atomic_store(&custom_handler, NULL);
    return (tg_error_mode)atomic_exchange(&error_mode, (int)mode);
}

void tg_set_error_handler(tg_error_handler handler, void *user) {
    atomic_store(&custom_user, user);
    atomic_store(&custom_handler, handler);
    if (handler == NULL) atomic_store(&error_mode, TG_ERRORS_ABORT);
}

tg_status tg_last_error(void) { return last_code; }
const char *tg_last_error_message(void) { return last_message; }

void tg_clear_error(void) {
    last_code = TG_OK;
    last_message[0] = '\0';
}

const char *tg_status_name(tg_status code) {
    switch (code) {
    case TG_OK: return "ok";
    case TG_ERR_ARGUMENT: return "invalid argument";
    case TG_ERR_SHAPE: return "shape mismatch";
    case TG_ERR_DTYPE: return "dtype mismatch";
    case TG_ERR_AXIS: return "axis out of range";
    case TG_ERR_TAPE: return "tape error";
    case TG_ERR_MEMORY: return "out of memory";
    case TG_ERR_IO: return "i/o error";
    case TG_ERR_FORMAT: return "malformed file";
    case TG_ERR_NUMERIC: return "non-finite value";
    }
    return "unknown error";
}

/* Hands the error in this thread's slot to the handler or the mode in force. */
static void dispatch(tg_status code) {
    tg_error_handler handler = atomic_load(&custom_handler);
    if (handler) {
        handler(code, last_message, atomic_load(&custom_user));
    } else if (atomic_load(&error_mode) == TG_ERRORS_ABORT) {
        fprintf(stderr, "tapegrad error (%s): %s\n", tg_status_name(code), last_message);
        fflush(stderr);
        abort();
    }
}

/* Formats the message into this thread's slot, then dispatches it. On a pool
 * worker the first error of a job is kept and nothing is dispatched: the
 * calling thread reports it once the job is done. Nothing is dispatched
 * either while a public function called by another one reports
 * (tg_error_nested_begin): the outer one reports it under its own name. */
static tg_status record_and_dispatch(tg_status code, const char *function, const char *format, va_list args) {
    tgi_error_reports++;
    if (deferring && last_code != TG_OK) return code;
    int used = snprintf(last_message, sizeof last_message, "%s: ", function ? function : "tapegrad");
    if (used < 0) used = 0;
    if ((size_t)used < sizeof last_message)
        vsnprintf(last_message + used, sizeof last_message - (size_t)used, format, args);
    last_code = code;
    last_detail = (size_t)used < sizeof last_message ? (size_t)used : 0;
    if (!deferring && nested_depth == 0) dispatch(code);
    return code;
}

void tgi_error_defer_on_this_thread(void) { deferring = true; }

tg_status tgi_error_report_message(tg_status code, const char *message) {
    tgi_error_reports++;
    snprintf(last_message, sizeof last_message, "%s", message);
    last_code = code;
    last_detail = 0;
    if (!deferring && nested_depth == 0) dispatch(code);
    return code;
}

void tgi_warning(const char *source, const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "tapegrad warning (%s): %s\n", source, message);
    fflush(stderr);
}

tg_status tg_error_report(tg_status code, const char *function, const char *format, ...) {
    va_list args;
    va_start(args, format);
    record_and_dispatch(code, function, format, args);
    va_end(args);
    return code;
}

tg_status tg_error_null_tensor(const char *function, const char *format, ...) {
    /* A NULL tensor while an error is pending is that error's result coming
     * down a chain (tg_relu(tg_matmul(a, b))): the pending report says what
     * went wrong and where; "x is NULL" would only bury it. The handler saw
     * the original already; calling it again for every later link would turn
     * one mistake into a cascade. Under TG_ERRORS_ABORT no earlier failure
     * can have returned, so a NULL there is the caller's own bug: report it. */
    bool aborting = !deferring && nested_depth == 0 && atomic_load(&error_mode) == TG_ERRORS_ABORT &&
                    atomic_load(&custom_handler) == NULL;
    if (last_code != TG_OK && !aborting) return last_code;
    va_list args;
    va_start(args, format);
    record_and_dispatch(TG_ERR_ARGUMENT, function, format, args);
    va_end(args);
    return TG_ERR_ARGUMENT;
}

tg_status tg_error_pass_up(const char *function, const char *context) {
    tg_status code = last_code;
    if (code == TG_OK) return TG_OK;
    char inner[sizeof last_message];
    snprintf(inner, sizeof inner, "%s", last_message);
    return tg_error_report(code, function, "%s%s", context ? context : "", inner);
}

void tg_error_nested_begin(void) { nested_depth++; }

void tg_error_nested_end(void) {
    if (nested_depth > 0) nested_depth--;
}

tg_status tg_error_take_over(const char *function, const char *context) {
    tg_status code = last_code;
    if (code == TG_OK) return TG_OK;
    char detail[sizeof last_message];
    snprintf(detail, sizeof detail, "%s", last_message + last_detail);
    return tg_error_report(code, function, "%s%s", context ? context : "", detail);
}
