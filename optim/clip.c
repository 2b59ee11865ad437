/* optim/clip.c — gradient clipping by global norm and by value
 * (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
#include <math.h>

#include "tapegrad/tensor.h"
#include "optim_internal.h"

/* PyTorch's guard against a zero norm: c = max_norm / (N + 1e-6). */
#define CLIP_NORM_EPS 1e-6

static double sum_of_squares(const tg_tensor *g, double scale) {
    double sum = 0;
    if (g->dtype == TG_F32) {
        const float *x = g->data;
        for (int64_t k = 0; k < g->numel; k++) {
            double v = (double)x[k] / scale;
            sum += v * v;
        }
    } else {
        const double *x = g->data;
        for (int64_t k = 0; k < g->numel; k++) {
            double v = x[k] / scale;
            sum += v * v;
        }
    }
    return sum;
}

static double max_abs(const tg_tensor *g) {
    double m = 0;
    for (int64_t k = 0; k < g->numel; k++) {
        double v = fabs(g->dtype == TG_F32 ? (double)((const float *)g->data)[k] : ((const double *)g->data)[k]);
        if (v > m || isnan(v)) m = v;
        if (isnan(m)) break;
    }
    return m;
}

/* sqrt(sum g^2) over every gradient. Plain sums first; if they overflow
 * (float64 gradients above ~1e154), again scaled by the largest |g|. */
static double global_norm(int n, tg_tensor *const *params) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (params[i]->grad) sum += sum_of_squares(params[i]->grad, 1.0);
    if (isfinite(sum)) return sqrt(sum);
    double largest = 0;
    for (int i = 0; i < n; i++) {
        if (!params[i]->grad) continue;
        double m = max_abs(params[i]->grad);
        if (!isfinite(m)) return m; /* NaN or Inf in a gradient */
        if (m > largest) largest = m;
    }
    double scaled = 0;
    for (int i = 0; i < n; i++)
        if (params[i]->grad) scaled += sum_of_squares(params[i]->grad, largest);
    return largest * sqrt(scaled);
}

static void scale_gradient(tg_tensor *g, double factor) {
    if (g->dtype == TG_F32) {
        float *x = g->data, f = (float)factor;
        for (int64_t k = 0; k < g->numel; k++) x[k] *= f;
    } else {
        double *x = g->data;
        for (int64_t k = 0; k < g->numel; k++) x[k] *= factor;
    }
    tg_tensor_changed(g);
}

tg_status tg_clip_grad_norm(int n, tg_tensor *const *params, double max_norm, double *total_norm) {
    const char *function = "tg_clip_grad_norm";
    tg_status s = tgi_optim_check_params(function, n, params);
    if (s != TG_OK) return s;
    if (!isfinite(max_norm) || max_norm <= 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "max_norm must be finite and > 0, got %g", max_norm);
    double norm = global_norm(n, params);
    if (total_norm) *total_norm = norm;
    if (!isfinite(norm))
        return tg_error_report(TG_ERR_NUMERIC, function,
                               "the total gradient norm of %d parameters is %g; gradients left unscaled", n, norm);
    double factor = max_norm / (norm + CLIP_NORM_EPS);
    if (factor < 1)
        for (int i = 0; i < n; i++)
            if (params[i]->grad) scale_gradient(params[i]->grad, factor);
    return TG_OK;
}

tg_status tg_clip_grad_value(int n, tg_tensor *const *params, double clip_value) {
    const char *function = "tg_clip_grad_value";
    tg_status s = tgi_optim_check_params(function, n, params);
    if (s != TG_OK) return s;
    if (!isfinite(clip_value) || clip_value <= 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "clip_value must be finite and > 0, got %g", clip_value);
    for (int i = 0; i < n; i++) {
        tg_tensor *g = params[i]->grad;
        if (!g) continue;
        if (g->dtype == TG_F32) {
            float *x = g->data, hi = (float)clip_value;
            for (int64_t k = 0; k < g->numel; k++) x[k] = x[k] > hi ? hi : x[k] < -hi ? -hi : x[k];
        } else {
            double *x = g->data;
            for (int64_t k = 0; k < g->numel; k++) x[k] = x[k] > clip_value ? clip_value : x[k] < -clip_value ? -clip_value : x[k];
        }
        tg_tensor_changed(g);
    }
    return TG_OK;
}
