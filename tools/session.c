/* tools/session.c — a user function on a private tape (see session.h). */
#include "tools/session.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/tensor_internal.h"
#include "tapegrad/ops.h"

#define TAPE_BUDGET_BYTES ((size_t)64 << 20)

tg_status tgi_session_check(const char *function, tg_autodiff_fn f, int n, tg_tensor *const *inputs, bool f64_only) {
    if (!f) return tg_error_report(TG_ERR_ARGUMENT, function, "f is NULL");
    if (n < 1 || !inputs)
        return tg_error_report(TG_ERR_ARGUMENT, function, "need n >= 1 inputs and a non-NULL list, got n=%d", n);
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", i);
        tg_status s = tg_tensor_check(function, what, inputs[i]);
        if (s != TG_OK) return s;
        if (inputs[i]->tape)
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "input %d belongs to a tape; inputs must be persistent tensors (tg_clone it)", i);
        if (f64_only && inputs[i]->dtype != TG_F64)
            return tg_error_report(TG_ERR_DTYPE, function,
                                   "input %d is %s; inputs must be float64 (convert inside f to check float32)", i,
                                   tg_dtype_name(inputs[i]->dtype));
    }
    return TG_OK;
}

tg_status tgi_session_begin(tg_session *s, const char *function, tg_autodiff_fn f, void *ctx, int n,
                           tg_tensor *const *inputs) {
    *s = (tg_session){.function = function, .f = f, .ctx = ctx, .n = n, .inputs = inputs};
    s->requires_grad = malloc((size_t)n * sizeof *s->requires_grad);
    if (!s->requires_grad) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d flags", n);
    s->tape = tg_tape_new();
    if (!s->tape) {
        free(s->requires_grad);
        s->requires_grad = NULL;
        return tg_last_error();
    }
    s->previous_tape = tg_tape_use(s->tape);
    s->previous_grad_mode = tg_set_grad_enabled(true);
    for (int i = 0; i < n; i++) s->requires_grad[i] = inputs[i]->requires_grad;
    for (int i = 0; i < n; i++) inputs[i]->requires_grad = true;
    return TG_OK;
}

tg_tensor *tgi_session_evaluate(tg_session *s, tg_status *status) {
    tg_tape_reset(s->tape);
    tg_clear_error();
    tg_tensor *out = s->f(s->inputs, s->n, s->ctx);
    if (!out) {
        *status = tg_last_error() != TG_OK
                      ? tg_last_error()
                      : tg_error_report(TG_ERR_ARGUMENT, s->function, "f returned NULL without reporting an error");
        return NULL;
    }
    *status = tg_tensor_check(s->function, "the output of f", out);
    return *status == TG_OK ? out : NULL;
}

void tgi_session_end(tg_session *s) {
    if (!s->tape) return;
    for (int i = 0; i < s->n; i++) s->inputs[i]->requires_grad = s->requires_grad[i];
    tg_set_grad_enabled(s->previous_grad_mode);
    tg_tape_use(s->previous_tape);
    tg_tape_free(s->tape);
    free(s->requires_grad);
    s->tape = NULL;
    s->requires_grad = NULL;
}

bool tgi_session_over_budget(const tg_session *s) {
    return tg_tape_get_stats(s->tape).bytes_in_use > TAPE_BUDGET_BYTES;
}

tg_tensor *tgi_session_as_dtype(tg_tensor *x, tg_dtype dtype) {
    return x && x->dtype != dtype ? tg_to_dtype(x, dtype) : x;
}

tg_tensor *tgi_session_copy_as(const tg_tensor *src, tg_dtype dtype) {
    tg_tensor *copy = tg_zeros(dtype, src->rank, src->shape);
    if (copy && tg_copy_into(copy, src) != TG_OK) {
        tg_free(copy);
        return NULL;
    }
    return copy;
}
