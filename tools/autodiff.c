/* tools/autodiff.c — VJP, JVP, HVP, dense Jacobians and Hessians of a user
 * function (see autodiff.h for the contract and the costs).
 *
 * Everything runs in a session (session.h): f on a private tape, results
 * copied out as persistent tensors before the tape is freed. Vectors the
 * caller passes are copied into persistent tensors of the dtype they meet,
 * so a caller's tape tensor is only read, never recorded on. */
#include <stdlib.h>
#include <string.h>

#include "core/tensor_internal.h"
#include "tapegrad/autodiff.h"
#include "tapegrad/ops.h"
#include "tapegrad/tape.h"
#include "tools/session.h"

static void clear_outputs(int n, tg_tensor **list) {
    if (!list) return;
    for (int i = 0; i < n; i++) list[i] = NULL;
}

static void free_outputs(int n, tg_tensor **list) {
    if (!list) return;
    for (int i = 0; i < n; i++) {
        tg_free(list[i]);
        list[i] = NULL;
    }
}

static void free_list(int n, tg_tensor **list) {
    if (!list) return;
    for (int i = 0; i < n; i++) tg_free(list[i]);
    free(list);
}

/* `t` (named what[i]) has the shape `rank`/`shape`: TG_ERR_SHAPE otherwise. */
static tg_status check_shape(const char *function, const char *what, int i, const tg_tensor *t, int rank,
                             const int64_t *shape) {
    char name[48];
    snprintf(name, sizeof name, "%s %d", what, i);
    tg_status s = tg_tensor_check(function, name, t);
    if (s != TG_OK) return s;
    if (t->rank == rank && memcmp(t->shape, shape, (size_t)rank * sizeof *shape) == 0) return TG_OK;
    char a[160], b[160];
    return tg_error_report(TG_ERR_SHAPE, function, "%s is %s but must be %s", name,
                           tg_shape_string(a, sizeof a, t->rank, t->shape), tg_shape_string(b, sizeof b, rank, shape));
}

/* Persistent copies of n vectors, vector i in inputs[i]'s dtype; NULL on
 * failure (nothing leaked). */
static tg_tensor **copy_vectors(int n, tg_tensor *const *vectors, tg_tensor *const *inputs) {
    tg_tensor **copies = calloc(n > 0 ? (size_t)n : 1, sizeof *copies);
    if (!copies) return NULL;
    for (int i = 0; i < n; i++) {
        copies[i] = tgi_session_copy_as(vectors[i], inputs[i]->dtype);
        if (!copies[i]) {
            free_list(n, copies);
            return NULL;
        }
    }
    return copies;
}

/* sum_i <a_i, b_i> as a float64 scalar on the tape (a_i and b_i of one dtype). */
static tg_tensor *inner_product(int n, tg_tensor **a, tg_tensor **b) {
    tg_tensor *total = NULL;
    for (int i = 0; i < n; i++) {
        tg_tensor *term = tgi_session_as_dtype(tg_sum(tg_mul(a[i], b[i])), TG_F64);
        total = total ? tg_add(total, term) : term;
    }
    return total;
}

/* result[i] = a persistent copy of grads[i], or zeros of inputs[i]'s shape
 * when grads is NULL (f does not depend on the inputs). */
static tg_status copy_results(const char *function, int n, tg_tensor **grads, tg_tensor *const *inputs,
                              tg_tensor **result) {
    for (int i = 0; i < n; i++) {
        result[i] = grads ? tg_clone(grads[i]) : tg_zeros(inputs[i]->dtype, inputs[i]->rank, inputs[i]->shape);
        if (!result[i]) {
            free_outputs(n, result);
            return tg_last_error() != TG_OK ? tg_last_error()
                                            : tg_error_report(TG_ERR_MEMORY, function, "cannot copy a result");
        }
    }
    return TG_OK;
}

static tg_status copy_value(tg_tensor *out, tg_tensor **value) {
    if (!value) return TG_OK;
    *value = tg_clone(out);
    return *value ? TG_OK : tg_last_error();
}

static tg_status require_scalar(const char *function, const tg_tensor *out) {
    if (out->numel == 1) return TG_OK;
    char a[160];
    return tg_error_report(TG_ERR_SHAPE, function, "f must return one value (a scalar), got %s %s",
                           tg_dtype_name(out->dtype), tg_shape_string(a, sizeof a, out->rank, out->shape));
}

/* ---- VJP ---- */

static tg_status vjp_in_session(tg_session *s, const tg_tensor *v, tg_tensor **value, tg_tensor **vjp,
                                tg_tensor **grads) {
    tg_status status;
    tg_tensor *out = tgi_session_evaluate(s, &status);
    if (!out) return status;
    if (v) status = check_shape(s->function, "v", 0, v, out->rank, out->shape);
    else status = require_scalar(s->function, out);
    if (status != TG_OK) return status;
    tg_tensor *seed = v ? tgi_session_copy_as(v, out->dtype) : NULL;
    if (v && !seed) return tg_last_error();
    if (out->requires_grad) status = tg_gradients(out, seed, s->n, s->inputs, grads, false);
    tg_free(seed);
    if (status == TG_OK) status = copy_results(s->function, s->n, out->requires_grad ? grads : NULL, s->inputs, vjp);
    if (status == TG_OK) status = copy_value(out, value);
    return status;
}

tg_status tg_vjp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, const tg_tensor *v, tg_tensor **value,
                 tg_tensor **vjp) {
    const char *function = "tg_vjp";
    if (value) *value = NULL;
    if (!vjp) return tg_error_report(TG_ERR_ARGUMENT, function, "vjp (the list of n results) is NULL");
    clear_outputs(n, vjp);
    tg_status s = tgi_session_check(function, f, n, inputs, false);
    if (s != TG_OK) return s;
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!grads) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers", n);
    tg_session session;
    s = tgi_session_begin(&session, function, f, ctx, n, inputs);
    if (s == TG_OK) s = vjp_in_session(&session, v, value, vjp, grads);
    tgi_session_end(&session);
    free(grads);
    if (s != TG_OK) {
        free_outputs(n, vjp);
        free_outputs(1, value);
    }
    return s;
}

/* ---- JVP: the double-VJP trick ---- */

static tg_status jvp_in_session(tg_session *s, tg_tensor *const *tangents, tg_tensor **value, tg_tensor **jvp,
                                tg_tensor **grads) {
    tg_status status;
    tg_tensor *out = tgi_session_evaluate(s, &status);
    if (!out) return status;
    for (int i = 0; i < s->n && status == TG_OK; i++)
        status = check_shape(s->function, "tangent", i, tangents[i], s->inputs[i]->rank, s->inputs[i]->shape);
    if (status != TG_OK) return status;
    tg_tensor **t = copy_vectors(s->n, tangents, s->inputs);
    tg_tensor *u = tg_zeros(out->dtype, out->rank, out->shape);
    tg_tensor *product = NULL;
    if (!t || !u) status = tg_last_error() != TG_OK ? tg_last_error() : TG_ERR_MEMORY;
    if (status == TG_OK && out->requires_grad) {
        tg_set_requires_grad(u, true);
        /* g(u) = J^T u, recorded so that d<g(u), t>/du = J t can be taken */
        status = tg_gradients(tg_sum(tg_mul(u, out)), NULL, s->n, s->inputs, grads, true);
        tg_tensor *gt = status == TG_OK ? inner_product(s->n, grads, t) : NULL;
        if (status == TG_OK && !gt) status = tg_last_error();
        if (gt && gt->requires_grad) status = tg_gradients(gt, NULL, 1, &u, &product, false);
    }
    if (status == TG_OK) {
        *jvp = product ? tg_clone(product) : tg_zeros(out->dtype, out->rank, out->shape);
        status = *jvp ? copy_value(out, value) : tg_last_error();
    }
    tg_free(u);
    free_list(s->n, t);
    return status;
}

tg_status tg_jvp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor *const *tangents,
                 tg_tensor **value, tg_tensor **jvp) {
    const char *function = "tg_jvp";
    if (value) *value = NULL;
    if (jvp) *jvp = NULL;
    if (!jvp) return tg_error_report(TG_ERR_ARGUMENT, function, "jvp (the result's slot) is NULL");
    tg_status s = tgi_session_check(function, f, n, inputs, false);
    if (s != TG_OK) return s;
    if (!tangents) return tg_error_report(TG_ERR_ARGUMENT, function, "tangents (a list of %d tensors) is NULL", n);
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!grads) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers", n);
    tg_session session;
    s = tgi_session_begin(&session, function, f, ctx, n, inputs);
    if (s == TG_OK) s = jvp_in_session(&session, tangents, value, jvp, grads);
    tgi_session_end(&session);
    free(grads);
    if (s != TG_OK) {
        free_outputs(1, jvp);
        free_outputs(1, value);
    }
    return s;
}

/* ---- HVP: reverse over reverse ---- */

static tg_status hvp_in_session(tg_session *s, tg_tensor *const *v, tg_tensor **value, tg_tensor **hvp,
                                tg_tensor **grads) {
    tg_status status;
    tg_tensor *out = tgi_session_evaluate(s, &status);
    if (!out) return status;
    status = require_scalar(s->function, out);
    for (int i = 0; i < s->n && status == TG_OK; i++)
        status = check_shape(s->function, "v", i, v[i], s->inputs[i]->rank, s->inputs[i]->shape);
    if (status != TG_OK) return status;
    tg_tensor **vs = copy_vectors(s->n, v, s->inputs);
    if (!vs) return tg_last_error() != TG_OK ? tg_last_error() : TG_ERR_MEMORY;
    bool depends = false;
    if (out->requires_grad) {
        status = tg_gradients(out, NULL, s->n, s->inputs, grads, true);
        tg_tensor *gv = status == TG_OK ? inner_product(s->n, grads, vs) : NULL;
        if (status == TG_OK && !gv) status = tg_last_error();
        depends = gv && gv->requires_grad;
        if (depends) status = tg_gradients(gv, NULL, s->n, s->inputs, grads, false);
    }
    free_list(s->n, vs);
    if (status == TG_OK) status = copy_results(s->function, s->n, depends ? grads : NULL, s->inputs, hvp);
    if (status == TG_OK) status = copy_value(out, value);
    return status;
}

tg_status tg_hvp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor *const *v,
                 tg_tensor **value, tg_tensor **hvp) {
    const char *function = "tg_hvp";
    if (value) *value = NULL;
    if (!hvp) return tg_error_report(TG_ERR_ARGUMENT, function, "hvp (the list of n results) is NULL");
    clear_outputs(n, hvp);
    tg_status s = tgi_session_check(function, f, n, inputs, false);
    if (s != TG_OK) return s;
    if (!v) return tg_error_report(TG_ERR_ARGUMENT, function, "v (a list of %d tensors) is NULL", n);
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!grads) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers", n);
    tg_session session;
    s = tgi_session_begin(&session, function, f, ctx, n, inputs);
    if (s == TG_OK) s = hvp_in_session(&session, v, value, hvp, grads);
    tgi_session_end(&session);
    free(grads);
    if (s != TG_OK) {
        free_outputs(n, hvp);
        free_outputs(1, value);
    }
    return s;
}

/* ---- dense Jacobian ---- */

/* jacobians[i] = float64 zeros of shape out ++ inputs[i]. */
static tg_status new_jacobians(const tg_session *s, const tg_tensor *out, tg_tensor **jacobians) {
    for (int i = 0; i < s->n; i++) {
        const tg_tensor *x = s->inputs[i];
        if (out->rank + x->rank > TG_MAX_RANK)
            return tg_error_report(TG_ERR_SHAPE, s->function,
                                   "the Jacobian of a rank-%d output by rank-%d input %d has %d axes (at most %d)",
                                   out->rank, x->rank, i, out->rank + x->rank, TG_MAX_RANK);
        int64_t shape[TG_MAX_RANK];
        memcpy(shape, out->shape, (size_t)out->rank * sizeof *shape);
        memcpy(shape + out->rank, x->shape, (size_t)x->rank * sizeof *shape);
        jacobians[i] = tg_zeros(TG_F64, out->rank + x->rank, shape);
        if (!jacobians[i]) return tg_last_error();
    }
    return TG_OK;
}

/* Row j of every Jacobian: the gradient of out_j. */
static tg_status jacobian_rows(tg_session *s, tg_tensor *out, tg_tensor **jacobians, tg_tensor **grads) {
    tg_tensor *seed = tg_zeros(out->dtype, out->rank, out->shape);
    if (!seed) return tg_last_error();
    tg_status status = TG_OK;
    const int64_t m = out->numel;
    for (int64_t j = 0; j < m && status == TG_OK; j++) {
        if (j > 0 && tgi_session_over_budget(s)) {
            out = tgi_session_evaluate(s, &status);
            if (!out) break;
        }
        tg_set_flat(seed, j, 1.0);
        status = tg_gradients(out, seed, s->n, s->inputs, grads, false);
        tg_set_flat(seed, j, 0.0);
        for (int i = 0; i < s->n && status == TG_OK; i++)
            status = tg_copy_to_doubles(grads[i], (double *)jacobians[i]->data + j * s->inputs[i]->numel);
    }
    tg_free(seed);
    return status;
}

tg_status tg_jacobian(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor **jacobians) {
    const char *function = "tg_jacobian";
    if (!jacobians) return tg_error_report(TG_ERR_ARGUMENT, function, "jacobians (the list of n results) is NULL");
    clear_outputs(n, jacobians);
    tg_status s = tgi_session_check(function, f, n, inputs, false);
    if (s != TG_OK) return s;
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!grads) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers", n);
    tg_session session;
    s = tgi_session_begin(&session, function, f, ctx, n, inputs);
    tg_tensor *out = s == TG_OK ? tgi_session_evaluate(&session, &s) : NULL;
    if (out) s = new_jacobians(&session, out, jacobians);
    if (out && s == TG_OK && out->requires_grad) s = jacobian_rows(&session, out, jacobians, grads);
    tgi_session_end(&session);
    free(grads);
    if (s != TG_OK) free_outputs(n, jacobians);
    return s;
}

/* ---- dense Hessian ---- */

/* The gradient of scalar f, flattened to float64 (N) and recorded so that
 * it can be differentiated; *flat is NULL when it does not depend on the
 * inputs (the Hessian is then zero). */
static tg_status flat_gradient(tg_session *s, tg_tensor **grads, tg_tensor **flat) {
    *flat = NULL;
    tg_status status;
    tg_tensor *out = tgi_session_evaluate(s, &status);
    if (!out) return status;
    status = require_scalar(s->function, out);
    if (status != TG_OK || !out->requires_grad) return status;
    status = tg_gradients(out, NULL, s->n, s->inputs, grads, true);
    if (status != TG_OK) return status;
    for (int i = 0; i < s->n; i++)
        grads[i] = tgi_session_as_dtype(tg_reshape(grads[i], 1, (int64_t[]){s->inputs[i]->numel}), TG_F64);
    tg_tensor *g = s->n == 1 ? grads[0] : tg_concat(s->n, grads, 0);
    if (!g) return tg_last_error();
    if (g->requires_grad) *flat = g;
    return TG_OK;
}

static tg_status hessian_rows(tg_session *s, int64_t total, tg_tensor *flat, tg_tensor *hessian, tg_tensor **grads) {
    tg_tensor *seed = tg_zeros(TG_F64, 1, (int64_t[]){total});
    if (!seed) return tg_last_error();
    tg_status status = TG_OK;
    double *rows = hessian->data;
    for (int64_t k = 0; k < total && status == TG_OK; k++) {
        if (k > 0 && tgi_session_over_budget(s)) {
            status = flat_gradient(s, grads, &flat);
            if (status != TG_OK) break;
        }
        tg_set_flat(seed, k, 1.0);
        status = tg_gradients(flat, seed, s->n, s->inputs, grads, false);
        tg_set_flat(seed, k, 0.0);
        int64_t at = k * total;
        for (int i = 0; i < s->n && status == TG_OK; i++) {
            status = tg_copy_to_doubles(grads[i], rows + at);
            at += s->inputs[i]->numel;
        }
    }
    tg_free(seed);
    return status;
}

tg_status tg_hessian(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor **hessian) {
    const char *function = "tg_hessian";
    if (!hessian) return tg_error_report(TG_ERR_ARGUMENT, function, "hessian (the result's slot) is NULL");
    *hessian = NULL;
    tg_status s = tgi_session_check(function, f, n, inputs, false);
    if (s != TG_OK) return s;
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += inputs[i]->numel;
    tg_tensor **grads = malloc((size_t)n * sizeof *grads);
    if (!grads) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers", n);
    tg_session session;
    s = tgi_session_begin(&session, function, f, ctx, n, inputs);
    tg_tensor *flat = NULL;
    if (s == TG_OK) s = flat_gradient(&session, grads, &flat);
    if (s == TG_OK) {
        *hessian = tg_zeros(TG_F64, 2, (int64_t[]){total, total});
        if (!*hessian) s = tg_last_error();
    }
    if (s == TG_OK && flat) s = hessian_rows(&session, total, flat, *hessian, grads);
    tgi_session_end(&session);
    free(grads);
    if (s != TG_OK) free_outputs(1, hessian);
    return s;
}
