/* nn/layers.c — the built-in layers dense and activation: modules with a
 * one-in, one-out forward built from ops. */
#include <math.h>
#include <stdlib.h>

#include "tapegrad/error.h"
#include "nn/nn_internal.h"
#include "tapegrad/nn.h"
#include "tapegrad/ops.h"

/* ---- dense: y = x @ W + b, W (in, out), b (out) ---- */

static tg_tensor *dense_forward(tg_module *self, tg_tensor *x) {
    tg_tensor *weight = self->params[0].tensor, *bias = self->params[1].tensor;
    int64_t in = weight->shape[0];
    if (x->rank < 2 || x->shape[x->rank - 1] != in) {
        char sx[160], sw[160];
        tg_error_report(TG_ERR_SHAPE, "dense layer", "weight %s expects x of shape (batch, %lld), got %s",
                        tg_shape_string(sw, sizeof sw, weight->rank, weight->shape), (long long)in,
                        tg_shape_string(sx, sizeof sx, x->rank, x->shape));
        return NULL;
    }
    if (x->dtype != weight->dtype) {
        tg_error_report(TG_ERR_DTYPE, "dense layer", "the layer is %s, x is %s (convert with tg_to_dtype)",
                        tg_dtype_name(weight->dtype), tg_dtype_name(x->dtype));
        return NULL;
    }
    return tg_add(tg_matmul(x, weight), bias);
}

static tg_status check_dense_args(const char *function, tg_rng *rng, tg_dtype dtype, int64_t in, int64_t out,
                                  tg_init init) {
    if (in < 1 || out < 1)
        return tg_error_report(TG_ERR_ARGUMENT, function, "sizes must be >= 1, got in=%lld out=%lld", (long long)in,
                               (long long)out);
    if (dtype != TG_F32 && dtype != TG_F64)
        return tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
    if (init < TG_INIT_GLOROT_UNIFORM || init > TG_INIT_CONSTANT)
        return tg_error_report(TG_ERR_ARGUMENT, function, "unknown initializer %d", (int)init);
    if (!rng && init != TG_INIT_ZEROS && init != TG_INIT_CONSTANT)
        return tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL (initializer %d draws random numbers)",
                               (int)init);
    return TG_OK;
}

tg_layer *tg_dense_new(tg_rng *rng, tg_dtype dtype, int64_t in, int64_t out, tg_init init) {
    const char *function = "tg_dense_new";
    if (check_dense_args(function, rng, dtype, in, out, init) != TG_OK) return NULL;
    /* What fails below (a weight too large, memory) is reported by the
     * callee and passed on under tg_dense_new's name. */
    tg_error_nested_begin();
    tg_module *layer = tg_module_new("dense", dense_forward);
    tg_tensor *weight = layer ? tg_module_add_param(layer, "weight", tg_zeros(dtype, 2, (int64_t[]){in, out})) : NULL;
    tg_tensor *bias = weight ? tg_module_add_param(layer, "bias", tg_zeros(dtype, 1, (int64_t[]){out})) : NULL;
    bool ok = bias && tg_init_tensor(weight, init, rng, in, out, 0.0) == TG_OK &&
              tg_module_transpose_in_files(layer, "weight") == TG_OK; /* (out, in) in files, as nn.Linear */
    tg_error_nested_end();
    if (!ok) {
        tg_module_free(layer);
        tg_error_take_over(function, "");
        return NULL;
    }
    return layer;
}

/* ---- activation layers: no parameters; the state is the activation ---- */

typedef struct activation_state {
    tg_activation activation;
    double slope; /* leaky ReLU's */
} activation_state;

static tg_tensor *activation_forward(tg_module *self, tg_tensor *x) {
    const activation_state *state = self->state;
    if (state->activation == TG_ACT_LEAKY_RELU) return tg_leaky_relu(x, state->slope);
    return tg_activate(state->activation, x);
}

static const char *activation_name(tg_activation activation) {
    switch (activation) {
    case TG_ACT_RELU: return "relu";
    case TG_ACT_LEAKY_RELU: return "leaky_relu";
    case TG_ACT_SIGMOID: return "sigmoid";
    case TG_ACT_TANH: return "tanh";
    case TG_ACT_SILU: return "silu";
    case TG_ACT_GELU: return "gelu";
    case TG_ACT_SOFTPLUS: return "softplus";
    case TG_ACT_SOFTMAX: return "softmax";
    }
    return NULL;
}

static tg_layer *activation_layer(const char *function, tg_activation activation, double slope) {
    activation_state *state = malloc(sizeof *state);
    if (!state) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a layer");
        return NULL;
    }
    *state = (activation_state){activation, slope};
    tg_error_nested_begin();
    tg_module *layer = tg_module_new(activation_name(activation), activation_forward);
    tg_error_nested_end();
    if (!layer) {
        free(state);
        tg_error_take_over(function, "");
        return NULL;
    }
    tg_module_set_state(layer, state, free);
    return layer;
}

tg_layer *tg_activation_layer_new(tg_activation activation) {
    if (!activation_name(activation)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_activation_layer_new", "unknown activation %d", (int)activation);
        return NULL;
    }
    return activation_layer("tg_activation_layer_new", activation, 0.01);
}

tg_layer *tg_leaky_relu_layer_new(double slope) {
    if (!isfinite(slope)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_leaky_relu_layer_new", "slope must be finite, got %g", slope);
        return NULL;
    }
    return activation_layer("tg_leaky_relu_layer_new", TG_ACT_LEAKY_RELU, slope);
}
