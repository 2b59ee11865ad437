/* tools/gradgradcheck.c — second derivatives against finite differences of
 * the analytic gradient (see tg_gradgradcheck in gradcheck.h).
 *
 * The check is tg_gradcheck applied to g(x, v) = d<v, f(x)>/dx, computed
 * with create_graph so that g's own gradient runs the backward rules of the
 * backward rules. v is one more input, so the rules' linearity in the
 * incoming gradient is checked as well as their dependence on x. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/gradcheck.h"
#include "tapegrad/ops.h"
#include "tapegrad/tape.h"
#include "tools/session.h"

#define FUNCTION "tg_gradgradcheck"

typedef struct second_order {
    tg_gradcheck_fn f;
    void *ctx;
    int n;             /* f's inputs; v is input n of g */
    tg_tensor **grads; /* n slots for tg_gradients */
} second_order;

/* g(x, v) = d<v, f(x)>/dx, the inputs' gradients flattened and joined. */
static tg_tensor *gradient_of_f(tg_tensor *const *inputs, int n_inputs, void *ctx) {
    (void)n_inputs;
    second_order *so = ctx;
    tg_tensor *out = so->f(inputs, so->n, so->ctx);
    if (!out) return NULL;
    tg_tensor *weighted = tg_sum(tg_mul(out, tgi_session_as_dtype(inputs[so->n], out->dtype)));
    if (!weighted) return NULL;
    if (tg_gradients(weighted, NULL, so->n, inputs, so->grads, true) != TG_OK) return NULL;
    for (int i = 0; i < so->n; i++) so->grads[i] = tg_reshape(so->grads[i], 1, (int64_t[]){inputs[i]->numel});
    return so->n == 1 ? so->grads[0] : tg_concat(so->n, so->grads, 0);
}

static tg_status check_options(const tg_gradcheck_options *o) {
    if (o->mode != TG_GRADCHECK_FULL && o->mode != TG_GRADCHECK_RANDOM)
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "unknown mode %d", (int)o->mode);
    if (!(o->eps > 0) || !isfinite(o->eps) || !(o->atol >= 0) || !isfinite(o->atol) || !(o->rtol >= 0) ||
        !isfinite(o->rtol))
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION,
                               "need finite eps > 0, atol >= 0 and rtol >= 0, got eps=%g atol=%g rtol=%g", o->eps,
                               o->atol, o->rtol);
    if (o->mode == TG_GRADCHECK_RANDOM && o->directions < 1)
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "RANDOM mode needs directions >= 1, got %d",
                               o->directions);
    return TG_OK;
}

/* v: standard normal values of f's output shape (float64), from the seed. */
static tg_tensor *draw_output_vector(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs, uint64_t seed,
                                     tg_status *status) {
    tg_session session;
    *status = tgi_session_begin(&session, FUNCTION, f, ctx, n, inputs);
    if (*status != TG_OK) return NULL;
    tg_tensor *out = tgi_session_evaluate(&session, status);
    tg_tensor *v = NULL;
    if (out) {
        tg_rng rng = tg_rng_seeded(seed ^ 0x9e3779b97f4a7c15ull);
        v = tg_rand_normal(&rng, TG_F64, out->rank, out->shape, 0.0, 1.0);
        if (!v) *status = tg_last_error();
    }
    tgi_session_end(&session);
    return v;
}

tg_status tg_gradgradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs,
                           const tg_gradcheck_options *options, tg_gradcheck_result *result) {
    tg_gradcheck_options o = options ? *options : tg_gradcheck_defaults();
    if (result) {
        memset(result, 0, sizeof *result);
        result->worst_input = -1;
        result->worst_index = result->worst_output = -1;
    }
    tg_status s = tgi_session_check(FUNCTION, f, n, inputs, true);
    if (s == TG_OK) s = check_options(&o);
    if (s != TG_OK) return s;

    tg_tensor *v = draw_output_vector(f, ctx, n, inputs, o.seed, &s);
    if (!v) return s;
    tg_tensor **extended = malloc((size_t)(n + 1) * sizeof *extended);
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!extended || !grads) {
        s = tg_error_report(TG_ERR_MEMORY, FUNCTION, "cannot allocate %d pointers", n + 1);
    } else {
        memcpy(extended, inputs, (size_t)n * sizeof *extended);
        extended[n] = v;
        second_order so = {f, ctx, n, grads};
        s = tg_gradcheck(gradient_of_f, &so, n + 1, extended, &o, result);
    }
    free(grads);
    free(extended);
    tg_free(v);
    return s;
}
