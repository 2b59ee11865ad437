/* nn/model.c — a model is a module that runs its children in order
 * (nn.Sequential): the tg_model_ and tg_layer_ names of earlier versions,
 * and the MLP builder. */
#include <stdio.h>
#include <stdlib.h>

#include "tapegrad/error.h"
#include "nn/nn_internal.h"
#include "tapegrad/nn.h"

tg_model *tg_model_new(void) {
    tg_error_nested_begin();
    tg_model *model = tg_module_new("sequential", NULL);
    tg_error_nested_end();
    if (!model) tg_error_take_over("tg_model_new", "");
    return model;
}

tg_status tg_model_add(tg_model *model, tg_layer *layer) {
    if (!tgi_nn_add_child("tg_model_add", model, NULL, layer)) return tg_last_error();
    return TG_OK;
}

tg_tensor *tg_model_forward(tg_model *model, tg_tensor *x) { return tgi_nn_forward("tg_model_forward", model, x); }

int tg_model_num_layers(const tg_model *model) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_num_layers", "model is NULL");
        return 0;
    }
    return model->n_children;
}

tg_layer *tg_model_layer(tg_model *model, int index) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_layer", "model is NULL");
        return NULL;
    }
    if (index < 0 || index >= model->n_children) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_layer", "no layer %d (the model has %d)", index, model->n_children);
        return NULL;
    }
    return model->children[index].module;
}

int tg_model_num_params(const tg_model *model) { return tgi_nn_num_params("tg_model_num_params", model); }
tg_tensor *tg_model_param(tg_model *model, int index, char *name_buf, size_t name_size) {
    return tgi_nn_param_at("tg_model_param", model, index, name_buf, name_size);
}
int tg_model_params(tg_model *model, tg_tensor **out, int max) { return tgi_nn_params("tg_model_params", model, out, max); }
int64_t tg_model_param_count(const tg_model *model) { return tgi_nn_param_count("tg_model_param_count", model); }
void tg_model_set_training(tg_model *model, bool training) {
    tgi_nn_set_training("tg_model_set_training", model, training);
}
tg_status tg_model_save(const tg_model *model, const char *path) { return tgi_nn_save("tg_model_save", model, path); }
tg_status tg_model_load(tg_model *model, const char *path) { return tgi_nn_load("tg_model_load", model, path); }
void tg_model_free(tg_model *model) { tgi_nn_free("tg_model_free", model); }

tg_tensor *tg_layer_forward(tg_layer *layer, tg_tensor *x) { return tgi_nn_forward("tg_layer_forward", layer, x); }
void tg_layer_free(tg_layer *layer) { tgi_nn_free("tg_layer_free", layer); }
tg_status tg_layer_tie_param(tg_layer *layer, const char *name, tg_layer *source, const char *source_name) {
    return tgi_nn_tie_param("tg_layer_tie_param", layer, name, source, source_name);
}

/* ---- the MLP builder ---- */

/* He init keeps the variance of activations that zero about half their
 * inputs (ReLU and its smooth cousins); Glorot suits the rest. */
static bool relu_family(tg_activation activation) {
    return activation == TG_ACT_RELU || activation == TG_ACT_LEAKY_RELU || activation == TG_ACT_SILU ||
           activation == TG_ACT_GELU;
}

static bool known_activation(int activation) { return activation >= TG_ACT_RELU && activation <= TG_ACT_SOFTMAX; }

tg_model *tg_mlp_new(tg_rng *rng, tg_dtype dtype, int n_sizes, const int64_t *sizes, tg_activation hidden,
                     int output) {
    const char *function = "tg_mlp_new";
    if (n_sizes < 2 || !sizes) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need at least 2 sizes (inputs and outputs), got %d%s", n_sizes,
                        sizes ? "" : " (sizes is NULL)");
        return NULL;
    }
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] < 1) {
            tg_error_report(TG_ERR_ARGUMENT, function, "sizes[%d] = %lld; every size must be >= 1", i,
                            (long long)sizes[i]);
            return NULL;
        }
    if (!known_activation((int)hidden) || (output >= 0 && !known_activation(output))) {
        tg_error_report(TG_ERR_ARGUMENT, function, "unknown activation: hidden %d, output %d", (int)hidden, output);
        return NULL;
    }
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL");
        return NULL;
    }
    if (dtype != TG_F32 && dtype != TG_F64) {
        tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
        return NULL;
    }
    /* The arguments are checked: what fails below is memory, reported by the
     * constructors and passed on under tg_mlp_new's name. A layer that failed
     * is not added. */
    tg_error_nested_begin();
    tg_model *model = tg_model_new();
    bool ok = model != NULL;
    for (int i = 0; ok && i + 1 < n_sizes; i++) {
        bool last = i + 2 == n_sizes;
        tg_init init = !last && relu_family(hidden) ? TG_INIT_HE_UNIFORM : TG_INIT_GLOROT_UNIFORM;
        tg_layer *dense = tg_dense_new(rng, dtype, sizes[i], sizes[i + 1], init);
        ok = dense && tg_model_add(model, dense) == TG_OK;
        if (ok && (!last || output >= 0)) {
            tg_layer *activation = tg_activation_layer_new(last ? (tg_activation)output : hidden);
            ok = activation && tg_model_add(model, activation) == TG_OK;
        }
    }
    tg_error_nested_end();
    if (!ok) {
        tg_model_free(model);
        tg_error_take_over(function, "");
        return NULL;
    }
    return model;
}
