/* tools/session.h — evaluating a user function on a private tape (internal).
 *
 * The gradient tools (autodiff.c, gradgradcheck.c) run f on a tape of their
 * own with grad mode on and the inputs marked requires_grad, and undo all
 * of it when done, so the caller's tape and tensors end as they began. */
#ifndef TAPEGRAD_TOOLS_SESSION_H
#define TAPEGRAD_TOOLS_SESSION_H

#include <stdbool.h>

#include "tapegrad/autodiff.h"
#include "tapegrad/tape.h"

typedef struct tg_session {
    const char *function; /* the public function errors are reported under */
    tg_autodiff_fn f;
    void *ctx;
    int n;
    tg_tensor *const *inputs;
    tg_tape *tape;
    tg_tape *previous_tape;
    bool previous_grad_mode;
    bool *requires_grad; /* the inputs' flags before the session */
} tg_session;

/* Checks f and the inputs (persistent, float32/64 unless f64_only) and
 * reports a bad one under `function`. */
tg_status tgi_session_check(const char *function, tg_autodiff_fn f, int n, tg_tensor *const *inputs, bool f64_only);

/* Starts a session (arguments already checked): a private current tape,
 * grad mode on, every input requiring a gradient. */
tg_status tgi_session_begin(tg_session *s, const char *function, tg_autodiff_fn f, void *ctx, int n,
                           tg_tensor *const *inputs);

/* f at the inputs' current values on the freshly reset private tape; NULL
 * with *status set when f fails (its error passes through). */
tg_tensor *tgi_session_evaluate(tg_session *s, tg_status *status);

/* Restores the tape, grad mode and flags, and frees the private tape (with
 * every tensor on it). */
void tgi_session_end(tg_session *s);

/* True when the private tape holds more than the tools' budget (64 MiB):
 * callers then evaluate f again rather than grow it further. */
bool tgi_session_over_budget(const tg_session *s);

/* x converted to `dtype` by the differentiable tg_to_dtype (x itself when
 * it already has that dtype, and NULL for NULL). */
tg_tensor *tgi_session_as_dtype(tg_tensor *x, tg_dtype dtype);

/* A persistent copy of `src`'s values in `dtype` (the caller frees it). */
tg_tensor *tgi_session_copy_as(const tg_tensor *src, tg_dtype dtype);

#endif
