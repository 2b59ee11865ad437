/* tapegrad/error.h — the one error mechanism of the library.
 *
 * Every public function that can fail reports through tg_error_report():
 * the message always starts with the function's name and names the offending
 * shapes or values, e.g. "tg_matmul: inner dimensions differ: (3,4) @ (5,2)".
 *
 * What happens next is the caller's choice:
 *   - TG_ERRORS_ABORT (the default): the message is printed to stderr and the
 *     process stops with abort(). A bug in a training script stops at once,
 *     at the line that caused it, instead of producing silent garbage.
 *   - TG_ERRORS_RETURN: the message is kept in a per-thread slot
 *     (tg_last_error()) and the failing call returns its error value: NULL
 *     for functions returning a tensor, a non-zero tg_status for the others,
 *     NaN for functions returning a double. Ops given a NULL input (the
 *     result of an earlier failure) fail too, so a chain of calls can be
 *     checked once at the end: the first error survives the chain. After
 *     y = tg_relu(tg_matmul(a, b)) with mismatched shapes, tg_last_error()
 *     still says "tg_matmul: inner dimensions differ: (3,4) @ (5,2)".
 *     The rule: a NULL *tensor* argument while an error is pending on this
 *     thread is taken as that error passed down; the pending error is kept
 *     and the call returns its error value (a tg_status call returns the
 *     pending status). Any other error, including a NULL non-tensor argument
 *     (a path, a model, an optimizer), is a new, independent mistake and
 *     replaces the pending one. So call tg_clear_error() once an error has
 *     been handled: a NULL tensor that reaches a call while an old error is
 *     still pending is not reported again.
 *   - a handler of your own (tg_set_error_handler): called with the code and
 *     message; when it returns, the call returns its error value as in
 *     TG_ERRORS_RETURN, and chains behave as there: the handler is called
 *     once, for the original error, not again for each later call that only
 *     receives the resulting NULL.
 * Under TG_ERRORS_ABORT (no handler) a failure never returns, so a NULL
 * tensor argument is always the caller's own bug and is reported (aborts).
 */
#ifndef TAPEGRAD_ERROR_H
#define TAPEGRAD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tg_status {
    TG_OK = 0,
    TG_ERR_ARGUMENT,  /* NULL pointer, bad count, value out of range       */
    TG_ERR_SHAPE,     /* shapes that do not fit together                   */
    TG_ERR_DTYPE,     /* float32 mixed with float64, wrong dtype           */
    TG_ERR_AXIS,      /* an axis outside [-rank, rank)                     */
    TG_ERR_TAPE,      /* tensors of different tapes, stale tensor, no grad */
    TG_ERR_MEMORY,    /* allocation failed or size overflow                */
    TG_ERR_IO,        /* file could not be opened, read or written         */
    TG_ERR_FORMAT,    /* a file's contents are malformed                   */
    TG_ERR_NUMERIC    /* NaN or Inf: anomaly mode, a gradient-norm clip    */
} tg_status;

typedef enum tg_error_mode {
    TG_ERRORS_ABORT = 0, /* print to stderr and abort() (default) */
    TG_ERRORS_RETURN     /* record the error and return an error value */
} tg_error_mode;

/* A caller-supplied handler. `message` is valid only during the call. */
typedef void (*tg_error_handler)(tg_status code, const char *message, void *user);

/* Selects one of the built-in behaviours (process-wide). Returns the previous mode.
 * Setting a mode removes any custom handler. A value outside the enum is
 * reported (TG_ERR_ARGUMENT) and changes nothing; the current mode is returned. */
tg_error_mode tg_set_error_mode(tg_error_mode mode);

/* Installs a custom handler (process-wide); NULL restores TG_ERRORS_ABORT.
 * The error is also recorded in tg_last_error() before the handler runs. */
void tg_set_error_handler(tg_error_handler handler, void *user);

/* The error pending on this thread, TG_OK if none since tg_clear_error():
 * the last one reported, except that a NULL tensor passed down a chain does
 * not replace it (see above). */
tg_status tg_last_error(void);
/* Its message ("" if none). Valid until the next error on this thread. */
const char *tg_last_error_message(void);
/* Forgets the last error of this thread. */
void tg_clear_error(void);

/* A readable name for a status code, e.g. "shape mismatch". */
const char *tg_status_name(tg_status code);

/* Reports an error through the mechanism above. `function` is the public
 * function's name; the rest is a printf format. Returns `code` so that a
 * caller can write `return tg_error_report(...)`. Exposed for user-defined ops
 * and layers so that they report errors the same way. */
tg_status tg_error_report(tg_status code, const char *function, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- for functions built on the library (layers, optimizers) ----
 * A function that calls other public functions on its caller's behalf
 * reports their errors once, under its own name, with these. */

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

#ifdef __cplusplus
}
#endif
#endif
