/* optim/optimizer.c — the optimizer object: construction and its checks,
 * state allocation, the step (dispatch to the kind's update rule), and the
 * accessors. The update rules live in sgd.c, adam.c, rmsprop.c, adagrad.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/error.h"
#include "tapegrad/float_mode.h"
#include "tapegrad/tensor.h"
#include "optim_internal.h"

/* ---- the parameter list ---- */

static int compare_pointers(const void *a, const void *b) {
    const tg_tensor *const *pa = a, *const *pb = b;
    uintptr_t x = (uintptr_t)*pa, y = (uintptr_t)*pb;
    return (x > y) - (x < y);
}

/* Index of the first tensor that appears twice (and of its twin), or -1. */
static int find_duplicate(const char *function, int n, tg_tensor *const *params, int *twin) {
    tg_tensor **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d pointers to look for duplicates", n);
        return -2;
    }
    memcpy(sorted, params, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_pointers);
    const tg_tensor *repeated = NULL;
    for (int i = 1; i < n && !repeated; i++)
        if (sorted[i] == sorted[i - 1]) repeated = sorted[i];
    free(sorted);
    if (!repeated) return -1;
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (params[i] != repeated) continue;
        if (first < 0) {
            first = i;
        } else {
            *twin = first;
            return i;
        }
    }
    return -1; /* not reached */
}

tg_status tgi_optim_check_params(const char *function, int n, tg_tensor *const *params) {
    if (n < 1 || !params)
        return tg_error_report(TG_ERR_ARGUMENT, function, "need n >= 1 parameters, got %d%s", n,
                               params ? "" : " (NULL list)");
    for (int i = 0; i < n; i++) {
        const tg_tensor *p = params[i];
        if (!p) return tg_error_null_tensor(function, "parameter %d is NULL", i);
        if (p->tape)
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "parameter %d belongs to a tape; parameters must be persistent tensors", i);
        if (!p->requires_grad)
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "parameter %d does not require grad (see tg_set_requires_grad)", i);
        if (p->dtype != TG_F32 && p->dtype != TG_F64)
            return tg_error_report(TG_ERR_DTYPE, function, "parameter %d has unknown dtype %d", i, (int)p->dtype);
    }
    int twin = -1;
    int repeated = find_duplicate(function, n, params, &twin);
    if (repeated == -2) return TG_ERR_MEMORY;
    if (repeated >= 0)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "parameter %d is the same tensor as parameter %d; each may appear once", repeated, twin);
    return TG_OK;
}

/* ---- state tensors ---- */

void tgi_optim_state_free(int n, tg_tensor **state) {
    for (int64_t k = 0; k < (int64_t)n * TG_OPTIM_MAX_SLOTS; k++) {
        tg_free(state[k]);
        state[k] = NULL;
    }
}

tg_status tgi_optim_state_alloc(const char *function, const tg_optimizer_config *c, int n, tg_tensor *const *params,
                               tg_tensor **state) {
    for (int64_t k = 0; k < (int64_t)n * TG_OPTIM_MAX_SLOTS; k++) state[k] = NULL;
    for (int i = 0; i < n; i++) {
        const tg_tensor *p = params[i];
        tg_tensor **slots = tg_optim_slots(state, i);
        for (int k = 0; k < TG_OPTIM_MAX_SLOTS; k++) {
            if (!tgi_optim_slot_used(c, k)) continue;
            /* Adagrad's "sum" starts at initial_accumulator; everything else at 0. */
            double start = c->kind == TG_OPT_ADAGRAD ? c->initial_accumulator : 0.0;
            slots[k] = tg_full(p->dtype, p->rank, p->shape, start);
            if (!slots[k]) {
                tgi_optim_state_free(n, state);
                return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate the state of parameter %d", i);
            }
        }
    }
    return TG_OK;
}

/* ---- construction ---- */

tg_optimizer *tgi_optim_create(const char *function, int n, tg_tensor *const *params, const tg_optimizer_config *c) {
    if (tgi_optim_check_params(function, n, params) != TG_OK) return NULL;
    if (tgi_optim_check_config(function, c, false, TG_ERR_ARGUMENT) != TG_OK) return NULL;
    tg_optimizer *opt = calloc(1, sizeof *opt);
    tg_tensor **list = malloc((size_t)n * sizeof *list);
    tg_tensor **state = calloc((size_t)n * TG_OPTIM_MAX_SLOTS, sizeof *state);
    int64_t *param_steps = calloc((size_t)n, sizeof *param_steps);
    double *weight_decay = malloc((size_t)n * sizeof *weight_decay);
    if (!opt || !list || !state || !param_steps || !weight_decay) {
        free(opt);
        free(list);
        free(state);
        free(param_steps);
        free(weight_decay);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate an optimizer for %d parameters", n);
        return NULL;
    }
    if (tgi_optim_state_alloc(function, c, n, params, state) != TG_OK) {
        free(opt);
        free(list);
        free(state);
        free(param_steps);
        free(weight_decay);
        return NULL;
    }
    for (int i = 0; i < n; i++) weight_decay[i] = c->weight_decay;
    memcpy(list, params, (size_t)n * sizeof *list);
    opt->config = *c;
    opt->n = n;
    opt->params = list;
    opt->state = state;
    opt->param_steps = param_steps;
    opt->weight_decay = weight_decay;
    opt->steps = 0;
    return opt;
}

tg_optimizer *tg_optimizer_new(int n, tg_tensor *const *params, const tg_optimizer_config *config) {
    return tgi_optim_create("tg_optimizer_new", n, params, config);
}

/* ---- the step ---- */

tg_status tg_optimizer_step(tg_optimizer *opt) {
    const char *function = "tg_optimizer_step";
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, function, "optimizer is NULL");
    if (opt->steps >= TG_OPTIM_MAX_STEPS)
        return tg_error_report(TG_ERR_ARGUMENT, function, "the step count %lld has reached the limit %lld",
                               (long long)opt->steps, (long long)TG_OPTIM_MAX_STEPS);
    /* Check every gradient first, so that a bad one changes nothing. */
    for (int i = 0; i < opt->n; i++) {
        const tg_tensor *p = opt->params[i], *g = p->grad;
        if (!g) continue;
        if (g->dtype != p->dtype)
            return tg_error_report(TG_ERR_DTYPE, function, "parameter %d is %s but its gradient is %s", i,
                                   tg_dtype_name(p->dtype), tg_dtype_name(g->dtype));
        if (g->numel != p->numel)
            return tg_error_report(TG_ERR_SHAPE, function, "parameter %d has %lld elements but its gradient %lld", i,
                                   (long long)p->numel, (long long)g->numel);
    }
    const tg_optim_kind_record *record = tgi_optim_kind_record_of(opt->config.kind);
    /* Subnormal optimizer state is flushed (tapegrad/float_mode.h); an update
     * split over the pool runs in this mode on the workers too. */
    tg_float_mode float_mode = tg_float_mode_flush_subnormals();
    tg_optimizer_config config = opt->config; /* with each parameter's weight decay */
    for (int i = 0; i < opt->n; i++) {
        tg_tensor *p = opt->params[i];
        if (!p->grad) continue;
        opt->param_steps[i]++;
        config.weight_decay = opt->weight_decay[i];
        record->update(&config, p, tg_optim_slots(opt->state, i), opt->param_steps[i]);
        tg_tensor_changed(p);
    }
    tg_float_mode_set(float_mode);
    opt->steps++;
    return TG_OK;
}

/* ---- accessors ---- */

void tg_optimizer_zero_grad(tg_optimizer *opt) {
    if (!opt) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_zero_grad", "optimizer is NULL");
        return;
    }
    for (int i = 0; i < opt->n; i++) tg_zero_grad(opt->params[i]);
}

void tg_optimizer_set_grads_to_none(tg_optimizer *opt) {
    if (!opt) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_set_grads_to_none", "optimizer is NULL");
        return;
    }
    for (int i = 0; i < opt->n; i++) tg_set_grad_to_none(opt->params[i]);
}

double tg_optimizer_lr(const tg_optimizer *opt) {
    if (!opt) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_lr", "optimizer is NULL");
        return NAN;
    }
    return opt->config.lr;
}

tg_status tg_optimizer_set_lr(tg_optimizer *opt, double lr) {
    const char *function = "tg_optimizer_set_lr";
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, function, "optimizer is NULL");
    if (!isfinite(lr) || lr < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "learning rate must be finite and >= 0, got %g", lr);
    opt->config.lr = lr;
    return TG_OK;
}

int64_t tg_optimizer_step_count(const tg_optimizer *opt) {
    if (!opt) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_step_count", "optimizer is NULL");
        return -1;
    }
    return opt->steps;
}

tg_status tg_optimizer_get_config(const tg_optimizer *opt, tg_optimizer_config *out) {
    if (!opt || !out)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_get_config", "%s is NULL", opt ? "out" : "optimizer");
    *out = opt->config;
    return TG_OK;
}

const tg_tensor *tg_optimizer_state(const tg_optimizer *opt, int index, const char *name) {
    const char *function = "tg_optimizer_state";
    if (!opt || !name) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", opt ? "name" : "optimizer");
        return NULL;
    }
    if (index < 0 || index >= opt->n) {
        tg_error_report(TG_ERR_ARGUMENT, function, "parameter index %d outside [0, %d)", index, opt->n);
        return NULL;
    }
    const tg_optim_kind_record *record = tgi_optim_kind_record_of(opt->config.kind);
    for (int k = 0; k < TG_OPTIM_MAX_SLOTS; k++) {
        const char *slot_name = record->slot_names[k];
        if (slot_name && strcmp(slot_name, name) == 0 && tg_optim_slots(opt->state, index)[k])
            return tg_optim_slots(opt->state, index)[k];
    }
    tg_error_report(TG_ERR_ARGUMENT, function, "a %s optimizer keeps no state named '%s'", record->name, name);
    return NULL;
}

tg_status tg_optimizer_set_weight_decay(tg_optimizer *opt, int index, double weight_decay) {
    const char *function = "tg_optimizer_set_weight_decay";
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, function, "optimizer is NULL");
    if (index < 0 || index >= opt->n)
        return tg_error_report(TG_ERR_ARGUMENT, function, "parameter index %d outside [0, %d)", index, opt->n);
    if (!isfinite(weight_decay) || weight_decay < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "weight_decay must be finite and >= 0, got %g", weight_decay);
    opt->weight_decay[index] = weight_decay;
    return TG_OK;
}

/* The index of `param` in opt's list, or -1. */
static int param_index(const tg_optimizer *opt, const tg_tensor *param) {
    for (int i = 0; i < opt->n; i++)
        if (opt->params[i] == param) return i;
    return -1;
}

tg_status tg_optimizer_set_weight_decay_for(tg_optimizer *opt, int n, tg_tensor *const *params, double weight_decay) {
    const char *function = "tg_optimizer_set_weight_decay_for";
    if (!opt || (!params && n > 0) || n < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s", !opt ? "optimizer is NULL" : "params is NULL or n < 0");
    if (!isfinite(weight_decay) || weight_decay < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "weight_decay must be finite and >= 0, got %g", weight_decay);
    for (int k = 0; k < n; k++) /* all checked before any changes */
        if (param_index(opt, params[k]) < 0)
            return tg_error_report(TG_ERR_ARGUMENT, function, "params[%d] is not a parameter of this optimizer", k);
    for (int k = 0; k < n; k++) opt->weight_decay[param_index(opt, params[k])] = weight_decay;
    return TG_OK;
}

double tg_optimizer_weight_decay(const tg_optimizer *opt, int index) {
    if (!opt || index < 0 || index >= opt->n) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_weight_decay", "%s parameter index %d outside [0, %d)",
                        opt ? "" : "optimizer is NULL:", index, opt ? opt->n : 0);
        return NAN;
    }
    return opt->weight_decay[index];
}

void tg_optimizer_free(tg_optimizer *opt) {
    if (!opt) return;
    tgi_optim_state_free(opt->n, opt->state);
    free(opt->state);
    free(opt->param_steps);
    free(opt->weight_decay);
    free(opt->params);
    free(opt);
}
