/* nn/layers.c — the built-in layers (dense, activation) and the calls every
 * layer shares. A layer is a record: a forward built from ops, the
 * parameters it owns, and destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/tensor_internal.h"
#include "nn/nn_internal.h"
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

/* ---- ownership: the holders of a layer, and tied parameters ----
 * A layer's `holders` counts the model slots and tied layers that hold it;
 * 0 means its creator owns it. A tied slot k points at the tensor of the
 * layer that owns it (param_source[k], never itself tied in that slot), whose
 * param_users counts the slots tied to each of its tensors. */

/* The parameter slots a layer really has: a malformed user layer (which
 * tg_model_add refuses, then frees) may claim more than the array holds. */
static int real_slots(const tg_layer *layer) {
    if (layer->n_params < 0) return 0;
    return layer->n_params < TG_LAYER_MAX_PARAMS ? layer->n_params : TG_LAYER_MAX_PARAMS;
}

/* The slot of `layer` holding tensor t (a tensor it lends, so present). */
static int slot_of(const tg_layer *layer, const tg_tensor *t) {
    for (int k = 0; k < real_slots(layer); k++)
        if (layer->params[k] == t) return k;
    return -1;
}

/* Frees a layer nothing holds: first it lets go of the layers its tied
 * slots borrow from (which may go with it), emptying those slots so that
 * destroy frees only what is the layer's own. */
static void destroy_unheld(tg_layer *layer) {
    for (int k = 0; k < real_slots(layer); k++) {
        tg_layer *source = layer->param_source[k];
        if (!source) continue;
        int lent = slot_of(source, layer->params[k]);
        if (lent >= 0) source->param_users[lent]--;
        layer->params[k] = NULL;
        layer->param_source[k] = NULL;
        tg_nn_layer_release(source);
    }
    if (layer->destroy) layer->destroy(layer);
}

void tg_nn_layer_hold(tg_layer *layer) { layer->holders++; }

void tg_nn_layer_release(tg_layer *layer) {
    if (--layer->holders <= 0) destroy_unheld(layer);
}

void tg_nn_layer_free_unheld(tg_layer *layer) {
    if (layer->holders <= 0) destroy_unheld(layer);
}

bool tg_nn_param_maybe_shared(const tg_layer *layer, int slot) {
    return layer->holders > 1 || layer->param_source[slot] || layer->param_users[slot] > 0;
}

void tg_layer_free(tg_layer *layer) {
    if (!layer) return;
    if (layer->holders > 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_layer_free",
                        "layer '%s' is held %d time%s by models or tied layers; it is freed with the last of them",
                        layer->kind ? layer->kind : "(no kind)", layer->holders, layer->holders == 1 ? "" : "s");
        return;
    }
    destroy_unheld(layer);
}

/* True if `from` holds `target` through tied slots, directly or along a
 * chain of ties (`from` itself counts). The chains end: ties never make a
 * cycle (tg_layer_tie_param refuses one). */
static bool holds_through_ties(const tg_layer *from, const tg_layer *target) {
    if (from == target) return true;
    for (int k = 0; k < real_slots(from); k++)
        if (from->param_source[k] && holds_through_ties(from->param_source[k], target)) return true;
    return false;
}

/* The slot named `name` of `layer`, or -1 after reporting (listing the names). */
static int named_slot(const char *function, const char *which, const tg_layer *layer, const char *name) {
    for (int k = 0; k < real_slots(layer); k++)
        if (layer->param_names[k] && layer->params[k] && strcmp(layer->param_names[k], name) == 0) return k;
    char names[160] = "";
    size_t used = 0;
    for (int k = 0; k < real_slots(layer) && used < sizeof names; k++) {
        int n = snprintf(names + used, sizeof names - used, "%s'%s'", k ? ", " : "",
                         layer->param_names[k] ? layer->param_names[k] : "(none)");
        if (n > 0) used += (size_t)n;
    }
    tg_error_report(TG_ERR_ARGUMENT, function, "%s '%s' has no parameter '%s' (it has %s)", which,
                    layer->kind ? layer->kind : "(no kind)", name, real_slots(layer) ? names : "none");
    return -1;
}

static tg_status check_tie(const char *function, const tg_layer *layer, int k, const tg_tensor *tensor,
                           const tg_layer *owner) {
    const tg_tensor *mine = layer->params[k];
    if (mine->tape || tensor->tape)
        return tg_error_report(TG_ERR_TAPE, function, "a parameter belongs to a tape ('%s' of the %s)",
                               layer->param_names[k], mine->tape ? "layer" : "source");
    if (mine->dtype != tensor->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "'%s' is %s, the source's tensor %s", layer->param_names[k],
                               tg_dtype_name(mine->dtype), tg_dtype_name(tensor->dtype));
    if (!tg_same_shape(mine, tensor)) {
        char a[160], b[160];
        return tg_error_report(TG_ERR_SHAPE, function, "'%s' has shape %s, the source's tensor %s",
                               layer->param_names[k], tg_shape_string(a, sizeof a, mine->rank, mine->shape),
                               tg_shape_string(b, sizeof b, tensor->rank, tensor->shape));
    }
    if (layer->param_users[k] > 0)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "%d other layer slot(s) are tied to '%s'; tie them to the source instead",
                               layer->param_users[k], layer->param_names[k]);
    if (holds_through_ties(owner, layer))
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "tying '%s' would make the %s layer hold itself (the source is tied to it)",
                               layer->param_names[k], layer->kind ? layer->kind : "(no kind)");
    return TG_OK;
}

tg_status tg_layer_tie_param(tg_layer *layer, const char *name, tg_layer *source, const char *source_name) {
    const char *function = "tg_layer_tie_param";
    if (!layer || !source || !name || !source_name)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL",
                               !layer ? "layer" : !source ? "source" : !name ? "name" : "source_name");
    int k = named_slot(function, "layer", layer, name);
    if (k < 0) return TG_ERR_ARGUMENT;
    int j = named_slot(function, "source", source, source_name);
    if (j < 0) return TG_ERR_ARGUMENT;
    tg_tensor *tensor = source->params[j];
    tg_layer *owner = source->param_source[j] ? source->param_source[j] : source;
    if (layer->params[k] == tensor) return TG_OK;
    tg_status status = check_tie(function, layer, k, tensor, owner);
    if (status != TG_OK) return status;
    tg_tensor *old = layer->params[k];
    tg_layer *old_source = layer->param_source[k];
    owner->param_users[slot_of(owner, tensor)]++;
    tg_nn_layer_hold(owner);
    layer->params[k] = tensor;
    layer->param_source[k] = owner;
    if (old_source) {
        old_source->param_users[slot_of(old_source, old)]--;
        tg_nn_layer_release(old_source);
    } else {
        tg_free(old);
    }
    return TG_OK;
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
