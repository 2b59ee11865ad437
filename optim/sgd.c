/* optim/sgd.c — the optimizer object and plain gradient descent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/optim.h"

struct tg_optimizer {
    int n;
    tg_tensor **params;
    double lr;
};

static tg_status check_lr(const char *function, double lr) {
    if (!isfinite(lr) || lr <= 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "learning rate must be finite and > 0, got %g", lr);
    return TG_OK;
}

tg_optimizer *tg_sgd_new(int n, tg_tensor *const *params, double lr) {
    const char *function = "tg_sgd_new";
    if (n < 1 || !params) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need n >= 1 parameters, got %d%s", n, params ? "" : " (NULL list)");
        return NULL;
    }
    if (check_lr(function, lr) != TG_OK) return NULL;
    for (int i = 0; i < n; i++) {
        if (!params[i] || params[i]->tape || !params[i]->requires_grad) {
            tg_error_report(TG_ERR_ARGUMENT, function,
                            "parameter %d must be a persistent tensor that requires grad%s", i,
                            !params[i] ? " (it is NULL)" : params[i]->tape ? " (it belongs to a tape)" : "");
            return NULL;
        }
    }
    tg_optimizer *opt = calloc(1, sizeof *opt);
    tg_tensor **list = malloc((size_t)n * sizeof *list);
    if (!opt || !list) {
        free(opt);
        free(list);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate an optimizer for %d parameters", n);
        return NULL;
    }
    memcpy(list, params, (size_t)n * sizeof *list);
    opt->n = n;
    opt->params = list;
    opt->lr = lr;
    return opt;
}

tg_status tg_optimizer_step(tg_optimizer *opt) {
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_step", "optimizer is NULL");
    for (int i = 0; i < opt->n; i++) {
        tg_tensor *p = opt->params[i];
        if (!p->grad) continue;
        if (p->dtype == TG_F32) {
            float *w = p->data;
            const float *g = p->grad->data;
            float lr = (float)opt->lr;
            for (int64_t k = 0; k < p->numel; k++) w[k] -= lr * g[k];
        } else {
            double *w = p->data;
            const double *g = p->grad->data;
            for (int64_t k = 0; k < p->numel; k++) w[k] -= opt->lr * g[k];
        }
    }
    return TG_OK;
}

void tg_optimizer_zero_grad(tg_optimizer *opt) {
    if (!opt) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_zero_grad", "optimizer is NULL");
        return;
    }
    for (int i = 0; i < opt->n; i++) tg_zero_grad(opt->params[i]);
}

double tg_optimizer_lr(const tg_optimizer *opt) { return opt ? opt->lr : NAN; }

tg_status tg_optimizer_set_lr(tg_optimizer *opt, double lr) {
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_set_lr", "optimizer is NULL");
    tg_status s = check_lr("tg_optimizer_set_lr", lr);
    if (s == TG_OK) opt->lr = lr;
    return s;
}

void tg_optimizer_free(tg_optimizer *opt) {
    if (!opt) return;
    free(opt->params);
    free(opt);
}
