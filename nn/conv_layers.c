/* nn/conv_layers.c — Conv2d, MaxPool2d, AvgPool2d and Flatten: modules
 * whose forward is one op of conv.h, with the op's settings as state. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "tapegrad/conv.h"
#include "tapegrad/error.h"
#include "tapegrad/nn.h"

/* ---- Conv2d: y = conv2d(x, weight, bias) ---- */

static tg_tensor *conv2d_layer_forward(tg_module *self, tg_tensor *x) {
    const tg_conv2d_opts *opts = self->state;
    tg_tensor *bias = self->n_params > 1 ? self->params[1].tensor : NULL;
    return tg_conv2d(x, self->params[0].tensor, bias, opts);
}

static tg_status check_conv2d_args(const char *function, tg_rng *rng, tg_dtype dtype, int64_t in_channels,
                                   int64_t out_channels, int64_t kernel, const tg_conv2d_opts *opts, tg_init init) {
    if (in_channels < 1 || out_channels < 1 || kernel < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "sizes must be >= 1, got in_channels=%lld out_channels=%lld kernel=%lld",
                               (long long)in_channels, (long long)out_channels, (long long)kernel);
    if (dtype != TG_F32 && dtype != TG_F64) return tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
    if (init < TG_INIT_GLOROT_UNIFORM || init > TG_INIT_CONSTANT)
        return tg_error_report(TG_ERR_ARGUMENT, function, "unknown initializer %d", (int)init);
    if (!rng && init != TG_INIT_ZEROS && init != TG_INIT_CONSTANT)
        return tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL (initializer %d draws random numbers)",
                               (int)init);
    if (opts->groups < 1 || in_channels % opts->groups || out_channels % opts->groups)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "groups=%lld must be >= 1 and divide in_channels=%lld and out_channels=%lld",
                               (long long)opts->groups, (long long)in_channels, (long long)out_channels);
    if (opts->stride_h < 1 || opts->stride_w < 1 || opts->dilation_h < 1 || opts->dilation_w < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function, "stride (%lld, %lld) and dilation (%lld, %lld) must be >= 1",
                               (long long)opts->stride_h, (long long)opts->stride_w, (long long)opts->dilation_h,
                               (long long)opts->dilation_w);
    if (opts->pad_top < 0 || opts->pad_bottom < 0 || opts->pad_left < 0 || opts->pad_right < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "padding must be >= 0, got (%lld, %lld, %lld, %lld)",
                               (long long)opts->pad_top, (long long)opts->pad_bottom, (long long)opts->pad_left,
                               (long long)opts->pad_right);
    return TG_OK;
}

tg_layer *tg_conv2d_layer_new(tg_rng *rng, tg_dtype dtype, int64_t in_channels, int64_t out_channels,
                              int64_t kernel, const tg_conv2d_opts *opts, bool bias, tg_init init) {
    const char *function = "tg_conv2d_layer_new";
    tg_conv2d_opts settings = TG_CONV2D_DEFAULTS;
    if (opts) settings = *opts;
    if (check_conv2d_args(function, rng, dtype, in_channels, out_channels, kernel, &settings, init) != TG_OK)
        return NULL;
    tg_module *layer = tgi_nn_module_with_settings(function, "conv2d", conv2d_layer_forward, &settings, sizeof settings);
    if (!layer) return NULL;
    /* Fans as PyTorch counts them: channels of one group times the kernel's area. */
    int64_t area = kernel * kernel, fan_in = in_channels / settings.groups * area, fan_out = out_channels / settings.groups * area;
    tg_error_nested_begin();
    tg_tensor *weight = tg_module_add_param(
        layer, "weight", tg_zeros(dtype, 4, (int64_t[]){out_channels, in_channels / settings.groups, kernel, kernel}));
    bool ok = weight && tg_init_tensor(weight, init, rng, fan_in, fan_out, 0.0) == TG_OK &&
              (!bias || tg_module_add_param(layer, "bias", tg_zeros(dtype, 1, &out_channels)));
    tg_error_nested_end();
    if (!ok) {
        tg_module_free(layer);
        tg_error_take_over(function, "");
        return NULL;
    }
    return layer;
}

/* ---- pooling ---- */

typedef struct pool_settings {
    int64_t kernel, stride, padding;
} pool_settings;

static tg_tensor *max_pool2d_layer_forward(tg_module *self, tg_tensor *x) {
    const pool_settings *s = self->state;
    return tg_max_pool2d(x, s->kernel, s->stride, s->padding);
}

static tg_tensor *avg_pool2d_layer_forward(tg_module *self, tg_tensor *x) {
    const pool_settings *s = self->state;
    return tg_avg_pool2d(x, s->kernel, s->stride, s->padding);
}

static tg_layer *pool_layer(const char *function, const char *kind, tg_module_forward_fn forward, int64_t kernel,
                            int64_t stride, int64_t padding) {
    if (stride == 0) stride = kernel; /* PyTorch's default */
    if (kernel < 1 || stride < 1 || padding < 0 || padding > kernel / 2) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "kernel=%lld and stride=%lld must be >= 1 and 0 <= padding=%lld <= kernel / 2",
                        (long long)kernel, (long long)stride, (long long)padding);
        return NULL;
    }
    pool_settings settings = {kernel, stride, padding};
    return tgi_nn_module_with_settings(function, kind, forward, &settings, sizeof settings);
}

tg_layer *tg_max_pool2d_layer_new(int64_t kernel, int64_t stride, int64_t padding) {
    return pool_layer("tg_max_pool2d_layer_new", "max_pool2d", max_pool2d_layer_forward, kernel, stride, padding);
}

tg_layer *tg_avg_pool2d_layer_new(int64_t kernel, int64_t stride, int64_t padding) {
    return pool_layer("tg_avg_pool2d_layer_new", "avg_pool2d", avg_pool2d_layer_forward, kernel, stride, padding);
}

/* ---- Flatten ---- */

typedef struct flatten_settings {
    int start_axis, end_axis;
} flatten_settings;

static tg_tensor *flatten_layer_forward(tg_module *self, tg_tensor *x) {
    const flatten_settings *s = self->state;
    return tg_flatten(x, s->start_axis, s->end_axis);
}

tg_layer *tg_flatten_layer_new(int start_axis, int end_axis) {
    flatten_settings settings = {start_axis, end_axis};
    return tgi_nn_module_with_settings("tg_flatten_layer_new", "flatten", flatten_layer_forward, &settings, sizeof settings);
}
