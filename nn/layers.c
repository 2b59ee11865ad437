/* nn/layers.c — the built-in layers (dense, activation) and the calls every
 * layer shares. A layer is a record: a forward built from ops, the
 * parameters it owns, and destroy. */
#include <stdlib.h>

#include "core/error_internal.h"
#include "core/tensor_internal.h"
#include "tapegrad/nn.h"
#include "tapegrad/ops.h"

tg_tensor *tg_layer_forward(tg_layer *layer, tg_tensor *x) {
    if (!layer || !layer->forward) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_layer_forward", "%s", !layer ? "layer is NULL" : "layer has no forward");
        return NULL;
    }
    if (!x) {
        tg_error_null_tensor("tg_layer_forward", "x is NULL (input of a %s layer)",
                        layer->kind ? layer->kind : "user");
        return NULL;
    }
    if (tg_tensor_check("tg_layer_forward", "x", x) != TG_OK) return NULL;
    return layer->forward(layer, x);
}

void tg_layer_free(tg_layer *layer) {
    if (layer && layer->destroy) layer->destroy(layer);
}

/* ---- dense: y = x @ W + b, W (in, out), b (out) ---- */

static tg_tensor *dense_forward(tg_layer *self, tg_tensor *x) {
    tg_tensor *weight = self->params[0], *bias = self->params[1];
    int64_t in = weight->shape[0];
    if (x->rank < 2 || x->shape[x->rank - 1] != in) {
        char sx[160], sw[160];
        tg_error_report(TG_ERR_SHAPE, "tg_layer_forward",
                        "dense layer with weight %s expects x of shape (batch, %lld), got %s",
                        tg_shape_string(sw, sizeof sw, weight->rank, weight->shape), (long long)in,
                        tg_shape_string(sx, sizeof sx, x->rank, x->shape));
        return NULL;
    }
    if (x->dtype != weight->dtype) {
        tg_error_report(TG_ERR_DTYPE, "tg_layer_forward", "dense layer is %s, x is %s (convert with tg_to_dtype)",
                        tg_dtype_name(weight->dtype), tg_dtype_name(x->dtype));
        return NULL;
    }
    return tg_add(tg_matmul(x, weight), bias);
}

static void free_params_and_self(tg_layer *self) {
    for (int i = 0; i < self->n_params; i++) tg_free(self->params[i]);
    free(self);
}

tg_layer *tg_dense_new(tg_rng *rng, tg_dtype dtype, int64_t in, int64_t out, tg_init init) {
    const char *function = "tg_dense_new";
    if (in < 1 || out < 1) {
        tg_error_report(TG_ERR_ARGUMENT, function, "sizes must be >= 1, got in=%lld out=%lld", (long long)in,
                        (long long)out);
        return NULL;
    }
    if (dtype != TG_F32 && dtype != TG_F64) {
        tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
        return NULL;
    }
    if (init < TG_INIT_GLOROT_UNIFORM || init > TG_INIT_CONSTANT) {
        tg_error_report(TG_ERR_ARGUMENT, function, "unknown initializer %d", (int)init);
        return NULL;
    }
    int64_t weight_shape[] = {in, out}, numel;
    if (tg_shape_validate(function, 2, weight_shape, dtype, &numel) != TG_OK) return NULL;
    if (!rng && init != TG_INIT_ZEROS && init != TG_INIT_CONSTANT) {
        tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL (initializer %d draws random numbers)", (int)init);
        return NULL;
    }
    tg_layer *layer = calloc(1, sizeof *layer);
    if (!layer) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a layer");
        return NULL;
    }
    layer->kind = "dense";
    layer->forward = dense_forward;
    layer->destroy = free_params_and_self;
    layer->training = true;
    layer->param_names[0] = "weight";
    layer->param_names[1] = "bias";
    layer->param_transposed_in_files[0] = true; /* (out, in) in files, as nn.Linear */
    layer->params[0] = tg_zeros(dtype, 2, (int64_t[]){in, out});
    layer->params[1] = tg_zeros(dtype, 1, (int64_t[]){out});
    layer->n_params = 2; /* from here on destroy frees what was made */
    if (!layer->params[0] || !layer->params[1] ||
        tg_init_tensor(layer->params[0], init, rng, in, out, 0.0) != TG_OK) {
        free_params_and_self(layer);
        return NULL;
    }
    tg_set_requires_grad(layer->params[0], true);
    tg_set_requires_grad(layer->params[1], true);
    return layer;
}

/* ---- activation layers: no parameters; `scalar` holds leaky ReLU's slope ---- */

typedef struct activation_layer {
    tg_layer layer; /* first: the tg_layer * is the block's address */
    tg_activation activation;
} activation_layer;

static tg_tensor *activation_forward(tg_layer *self, tg_tensor *x) {
    tg_activation activation = *(const tg_activation *)self->state;
    if (activation == TG_ACT_LEAKY_RELU) return tg_leaky_relu(x, self->scalar);
    return tg_activate(activation, x);
}

static void activation_destroy(tg_layer *self) { free(self); }

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

tg_layer *tg_activation_layer_new(tg_activation activation) {
    const char *name = activation_name(activation);
    if (!name) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_activation_layer_new", "unknown activation %d", (int)activation);
        return NULL;
    }
    activation_layer *block = calloc(1, sizeof *block);
    if (!block) {
        tg_error_report(TG_ERR_MEMORY, "tg_activation_layer_new", "cannot allocate a layer");
        return NULL;
    }
    block->activation = activation;
    block->layer.kind = name;
    block->layer.forward = activation_forward;
    block->layer.destroy = activation_destroy;
    block->layer.training = true;
    block->layer.scalar = activation == TG_ACT_LEAKY_RELU ? 0.01 : 0.0;
    block->layer.state = &block->activation;
    return &block->layer;
}
