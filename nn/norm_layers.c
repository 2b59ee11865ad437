/* nn/norm_layers.c — BatchNorm2d, LayerNorm and Dropout: modules over the
 * functions of norm.h, keeping what those functions are given (running
 * statistics as buffers, dropout's counter in the state). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "tapegrad/error.h"
#include "tapegrad/nn.h"
#include "tapegrad/norm.h"

static tg_status check_eps(const char *function, tg_dtype dtype, double eps) {
    if (dtype != TG_F32 && dtype != TG_F64) return tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
    if (!(eps > 0) || !isfinite(eps))
        return tg_error_report(TG_ERR_ARGUMENT, function, "eps must be finite and > 0, got %g", eps);
    return TG_OK;
}

/* ---- BatchNorm2d ---- */

typedef struct batch_norm_settings {
    double eps, momentum;
} batch_norm_settings;

/* Slots in the order they are added below. */
enum { BN_WEIGHT, BN_BIAS };
enum { BN_RUNNING_MEAN, BN_RUNNING_VAR, BN_BATCHES };

static tg_tensor *batch_norm2d_forward(tg_module *self, tg_tensor *x) {
    const batch_norm_settings *s = self->state;
    if (x->rank != 4) {
        char shape[160];
        tg_error_report(TG_ERR_SHAPE, "batch_norm2d layer", "x must be (N, C, H, W), got %s",
                        tg_shape_string(shape, sizeof shape, x->rank, x->shape));
        return NULL;
    }
    tg_tensor *y = tg_batch_norm(x, self->params[BN_WEIGHT].tensor, self->params[BN_BIAS].tensor,
                                 self->buffers[BN_RUNNING_MEAN].tensor, self->buffers[BN_RUNNING_VAR].tensor,
                                 self->training, s->momentum, s->eps);
    if (y && self->training) { /* as PyTorch's num_batches_tracked */
        tg_tensor *batches = self->buffers[BN_BATCHES].tensor;
        tg_set_flat(batches, 0, tg_get_flat(batches, 0) + 1);
    }
    return y;
}

tg_layer *tg_batch_norm2d_layer_new(tg_dtype dtype, int64_t channels, double eps, double momentum) {
    const char *function = "tg_batch_norm2d_layer_new";
    if (check_eps(function, dtype, eps) != TG_OK) return NULL;
    if (channels < 1 || !(momentum >= 0 && momentum <= 1)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "channels=%lld must be >= 1 and momentum=%g in [0, 1]",
                        (long long)channels, momentum);
        return NULL;
    }
    batch_norm_settings settings = {eps, momentum};
    tg_module *layer = tgi_nn_module_with_settings(function, "batch_norm2d", batch_norm2d_forward, &settings, sizeof settings);
    if (!layer) return NULL;
    /* PyTorch's names and starting values; the count is float64 (exact to
     * 2^53), PyTorch's int64 loads into it exactly. */
    tg_error_nested_begin();
    bool ok = tg_module_add_param(layer, "weight", tg_ones(dtype, 1, &channels)) &&
              tg_module_add_param(layer, "bias", tg_zeros(dtype, 1, &channels)) &&
              tg_module_add_buffer(layer, "running_mean", tg_zeros(dtype, 1, &channels)) &&
              tg_module_add_buffer(layer, "running_var", tg_ones(dtype, 1, &channels)) &&
              tg_module_add_buffer(layer, "num_batches_tracked", tg_zeros(TG_F64, 0, NULL));
    tg_error_nested_end();
    if (!ok) {
        tg_module_free(layer);
        tg_error_take_over(function, "");
        return NULL;
    }
    return layer;
}

/* ---- LayerNorm ---- */

typedef struct layer_norm_settings {
    int n_axes;
    double eps;
} layer_norm_settings;

static tg_tensor *layer_norm_forward(tg_module *self, tg_tensor *x) {
    const layer_norm_settings *s = self->state;
    tg_tensor *weight = self->n_params > 0 ? self->params[0].tensor : NULL;
    tg_tensor *bias = self->n_params > 1 ? self->params[1].tensor : NULL;
    return tg_layer_norm(x, s->n_axes, weight, bias, s->eps);
}

tg_layer *tg_layer_norm_layer_new(tg_dtype dtype, int n_axes, const int64_t *normalized_shape, double eps,
                                  bool affine) {
    const char *function = "tg_layer_norm_layer_new";
    if (check_eps(function, dtype, eps) != TG_OK) return NULL;
    if (n_axes < 1 || n_axes > TG_MAX_RANK || !normalized_shape) {
        tg_error_report(TG_ERR_ARGUMENT, function, "n_axes=%d must be in 1..%d with a normalized_shape%s", n_axes,
                        TG_MAX_RANK, normalized_shape ? "" : " (it is NULL)");
        return NULL;
    }
    for (int i = 0; i < n_axes; i++)
        if (normalized_shape[i] < 1) {
            tg_error_report(TG_ERR_ARGUMENT, function, "normalized_shape[%d] = %lld must be >= 1", i,
                            (long long)normalized_shape[i]);
            return NULL;
        }
    layer_norm_settings settings = {n_axes, eps};
    tg_module *layer = tgi_nn_module_with_settings(function, "layer_norm", layer_norm_forward, &settings, sizeof settings);
    if (!layer || !affine) return layer;
    tg_error_nested_begin();
    bool ok = tg_module_add_param(layer, "weight", tg_ones(dtype, n_axes, normalized_shape)) &&
              tg_module_add_param(layer, "bias", tg_zeros(dtype, n_axes, normalized_shape));
    tg_error_nested_end();
    if (!ok) {
        tg_module_free(layer);
        tg_error_take_over(function, "");
        return NULL;
    }
    return layer;
}

/* ---- Dropout: a new counter for every training-mode call ---- */

typedef struct dropout_settings {
    double p;
    uint64_t seed, counter;
} dropout_settings;

static tg_tensor *dropout_forward(tg_module *self, tg_tensor *x) {
    dropout_settings *s = self->state;
    tg_tensor *y = tg_dropout(x, s->p, self->training, s->seed, s->counter);
    if (y && self->training && s->p > 0) s->counter++;
    return y;
}

tg_layer *tg_dropout_layer_new(double p, uint64_t seed) {
    if (!(p >= 0 && p < 1)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dropout_layer_new", "p must lie in [0, 1), got %g", p);
        return NULL;
    }
    dropout_settings settings = {p, seed, 0};
    return tgi_nn_module_with_settings("tg_dropout_layer_new", "dropout", dropout_forward, &settings, sizeof settings);
}

static dropout_settings *dropout_state(const char *function, const tg_layer *layer) {
    if (!layer || layer->forward != dropout_forward) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s", layer ? "the layer is not a dropout layer" : "layer is NULL");
        return NULL;
    }
    return layer->state;
}

uint64_t tg_dropout_layer_counter(const tg_layer *layer) {
    const dropout_settings *s = dropout_state("tg_dropout_layer_counter", layer);
    return s ? s->counter : 0;
}

tg_status tg_dropout_layer_set_counter(tg_layer *layer, uint64_t counter) {
    dropout_settings *s = dropout_state("tg_dropout_layer_set_counter", layer);
    if (!s) return TG_ERR_ARGUMENT;
    s->counter = counter;
    return TG_OK;
}
