/* nn/model.c — a model is a sequence of layers: forward, parameters and
 * their names, the MLP builder, saving and loading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/tensor_internal.h"
#include "nn/nn_internal.h"
#include "tapegrad/checkpoint.h"
#include "tapegrad/nn.h"

struct tg_model {
    tg_layer **layers;
    int n_layers, capacity;
    bool training;
};

tg_model *tg_model_new(void) {
    tg_model *model = calloc(1, sizeof *model);
    if (!model) {
        tg_error_report(TG_ERR_MEMORY, "tg_model_new", "cannot allocate a model");
        return NULL;
    }
    model->training = true;
    return model;
}

void tg_model_free(tg_model *model) {
    if (!model) return;
    for (int i = 0; i < model->n_layers; i++) tg_nn_layer_release(model->layers[i]);
    free(model->layers);
    free(model);
}

/* A user-defined layer must fill the record consistently: its parameters are
 * named, saved and handed to optimizers by the model. */
static tg_status check_layer(const char *function, const tg_layer *layer) {
    if (!layer) return tg_error_report(TG_ERR_ARGUMENT, function, "layer is NULL");
    if (!layer->forward || !layer->destroy)
        return tg_error_report(TG_ERR_ARGUMENT, function, "layer '%s' needs forward and destroy",
                               layer->kind ? layer->kind : "(no kind)");
    if (layer->n_params < 0 || layer->n_params > TG_LAYER_MAX_PARAMS)
        return tg_error_report(TG_ERR_ARGUMENT, function, "layer '%s' has %d parameters (0..%d allowed)",
                               layer->kind ? layer->kind : "(no kind)", layer->n_params, TG_LAYER_MAX_PARAMS);
    for (int k = 0; k < layer->n_params; k++) {
        if (!layer->params[k] || !layer->param_names[k] || !layer->param_names[k][0])
            return tg_error_report(TG_ERR_ARGUMENT, function, "layer '%s': parameter %d or its name is missing",
                                   layer->kind ? layer->kind : "(no kind)", k);
        if (layer->params[k]->tape)
            return tg_error_report(TG_ERR_TAPE, function, "layer '%s': parameter '%s' belongs to a tape",
                                   layer->kind ? layer->kind : "(no kind)", layer->param_names[k]);
        if (layer->param_transposed_in_files[k] && layer->params[k]->rank != 2)
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "layer '%s': parameter '%s' is to be transposed in files but has rank %d, not 2",
                                   layer->kind ? layer->kind : "(no kind)", layer->param_names[k],
                                   layer->params[k]->rank);
    }
    return TG_OK;
}

tg_status tg_model_add(tg_model *model, tg_layer *layer) {
    const char *function = "tg_model_add";
    tg_status status = model ? check_layer(function, layer)
                             : tg_error_report(TG_ERR_ARGUMENT, function, "model is NULL");
    if (status == TG_OK && model->n_layers == model->capacity) {
        int capacity = model->capacity ? 2 * model->capacity : 8;
        tg_layer **layers = realloc(model->layers, (size_t)capacity * sizeof *layers);
        if (layers) {
            model->layers = layers;
            model->capacity = capacity;
        } else {
            status = tg_error_report(TG_ERR_MEMORY, function, "cannot grow the layer list to %d", capacity);
        }
    }
    if (status != TG_OK) { /* a new layer was handed over: freed; a held one stays */
        if (layer && layer->destroy) tg_nn_layer_free_unheld(layer);
        return status;
    }
    layer->training = model->training;
    model->layers[model->n_layers++] = layer;
    tg_nn_layer_hold(layer);
    return TG_OK;
}

tg_tensor *tg_model_forward(tg_model *model, tg_tensor *x) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_forward", "model is NULL");
        return NULL;
    }
    if (!x) {
        tg_error_null_tensor("tg_model_forward", "x is NULL");
        return NULL;
    }
    /* A layer's error (its own, or an op's inside it) is reported once,
     * under tg_model_forward, naming the layer. */
    for (int i = 0; i < model->n_layers; i++) {
        tg_error_nested_begin();
        x = tg_layer_forward(model->layers[i], x);
        tg_error_nested_end();
        if (!x) {
            char context[64];
            snprintf(context, sizeof context, "layer %d: ", i);
            tg_error_pass_up("tg_model_forward", context);
            return NULL;
        }
    }
    return x;
}

int tg_model_num_layers(const tg_model *model) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_num_layers", "model is NULL");
        return 0;
    }
    return model->n_layers;
}

tg_layer *tg_model_layer(tg_model *model, int index) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_layer", "model is NULL");
        return NULL;
    }
    if (index < 0 || index >= model->n_layers) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_layer", "no layer %d (the model has %d)", index, model->n_layers);
        return NULL;
    }
    return model->layers[index];
}

/* ---- the parameter list: every distinct tensor once, in layer order ---- */

/* Whether slot `slot` of layer `index` holds a tensor an earlier slot of the
 * model already lists (a layer added twice, a tied parameter). Only slots
 * that may be shared are searched, so a model without sharing costs one
 * test per slot. */
static bool listed_before(const tg_model *model, int index, int slot) {
    const tg_layer *layer = model->layers[index];
    if (!tg_nn_param_maybe_shared(layer, slot)) return false;
    const tg_tensor *t = layer->params[slot];
    for (int i = 0; i <= index; i++) {
        const tg_layer *earlier = model->layers[i];
        int end = i == index ? slot : earlier->n_params;
        for (int k = 0; k < end; k++)
            if (earlier->params[k] == t) return true;
    }
    return false;
}

/* A position in the parameter list: layer index and slot. */
typedef struct param_cursor {
    int layer, slot;
} param_cursor;

static param_cursor first_cursor(void) { return (param_cursor){0, -1}; }

/* Moves to the next distinct parameter; false past the last one. */
static bool next_param(const tg_model *model, param_cursor *c) {
    for (c->slot++; c->layer < model->n_layers; c->layer++, c->slot = 0)
        for (; c->slot < model->layers[c->layer]->n_params; c->slot++)
            if (!listed_before(model, c->layer, c->slot)) return true;
    return false;
}

static tg_tensor *param_at(const tg_model *model, param_cursor c) { return model->layers[c.layer]->params[c.slot]; }

int tg_model_num_params(const tg_model *model) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_num_params", "model is NULL");
        return 0;
    }
    int count = 0;
    for (param_cursor c = first_cursor(); next_param(model, &c);) count++;
    return count;
}

/* The index-th parameter in model order: its layer and its slot there. */
static bool locate_param(const tg_model *model, int index, int *layer, int *slot) {
    if (index < 0) return false;
    for (param_cursor c = first_cursor(); next_param(model, &c);)
        if (index-- == 0) {
            *layer = c.layer;
            *slot = c.slot;
            return true;
        }
    return false;
}

tg_tensor *tg_model_param(tg_model *model, int index, char *name_buf, size_t name_size) {
    int layer, slot;
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_param", "model is NULL");
        return NULL;
    }
    if (!locate_param(model, index, &layer, &slot)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_param", "no parameter %d (the model has %d)", index,
                        tg_model_num_params(model));
        return NULL;
    }
    const tg_layer *l = model->layers[layer];
    if (name_buf && name_size > 0) snprintf(name_buf, name_size, "%d.%s", layer, l->param_names[slot]);
    return l->params[slot];
}

int tg_model_params(tg_model *model, tg_tensor **out, int max) {
    if (!model || (!out && max > 0)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_params", "%s is NULL", !model ? "model" : "out");
        return 0;
    }
    if (max < 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_params", "max must be >= 0, got %d", max);
        return 0;
    }
    int count = 0;
    for (param_cursor c = first_cursor(); count < max && next_param(model, &c);) out[count++] = param_at(model, c);
    return count;
}

int64_t tg_model_param_count(const tg_model *model) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_param_count", "model is NULL");
        return 0;
    }
    int64_t count = 0;
    for (param_cursor c = first_cursor(); next_param(model, &c);) count += param_at(model, c)->numel;
    return count;
}

void tg_model_set_training(tg_model *model, bool training) {
    if (!model) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_model_set_training", "model is NULL");
        return;
    }
    model->training = training;
    for (int i = 0; i < model->n_layers; i++) model->layers[i]->training = training;
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

/* ---- saving and loading: every parameter under "<layer>.<param>" ---- */

/* A failed status of checkpoint calls run nested (tg_error_nested_begin),
 * reported under `function`. */
static tg_status report_under(const char *function, tg_status status) {
    if (status == TG_OK || tg_last_error() == TG_OK) return status;
    return tg_error_take_over(function, "");
}

typedef struct named_params {
    int n;
    char **names;
    tg_tensor **tensors;
    bool *transposed_in_files;
} named_params;

static void named_params_free(named_params *p) {
    if (p->names)
        for (int i = 0; i < p->n; i++) free(p->names[i]);
    free(p->names);
    free(p->tensors);
    free(p->transposed_in_files);
}

static tg_status named_params_of(const char *function, const tg_model *model, named_params *p) {
    memset(p, 0, sizeof *p);
    if (!model) return tg_error_report(TG_ERR_ARGUMENT, function, "model is NULL");
    int n = tg_model_num_params(model);
    p->names = calloc((size_t)n + 1, sizeof *p->names);
    p->tensors = calloc((size_t)n + 1, sizeof *p->tensors);
    p->transposed_in_files = calloc((size_t)n + 1, sizeof *p->transposed_in_files);
    if (!p->names || !p->tensors || !p->transposed_in_files) {
        named_params_free(p);
        return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d parameter names", n);
    }
    for (param_cursor c = first_cursor(); next_param(model, &c);) {
        const char *param_name = model->layers[c.layer]->param_names[c.slot];
        size_t size = strlen(param_name) + 16;
        char *name = malloc(size);
        if (!name) {
            named_params_free(p);
            return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a parameter name");
        }
        snprintf(name, size, "%d.%s", c.layer, param_name);
        p->names[p->n] = name;
        p->transposed_in_files[p->n] = model->layers[c.layer]->param_transposed_in_files[c.slot];
        p->tensors[p->n++] = param_at(model, c);
    }
    return TG_OK;
}

/* dst (cols, rows) = src (rows, cols) transposed; both contiguous. */
static void copy_transposed(tg_tensor *dst, const tg_tensor *src) {
    int64_t rows = src->shape[0], cols = src->shape[1];
    size_t size = tg_dtype_size(src->dtype);
    const char *from = src->data;
    char *to = dst->data;
    tg_tensor_changed(dst);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            memcpy(to + (size_t)(c * rows + r) * size, from + (size_t)(r * cols + c) * size, size);
}

/* The tensors as files hold them: the parameter itself, or (when `transpose`
 * and the parameter is flagged) a new tensor of the transposed shape, filled
 * from the parameter when `fill`. Freed with file_tensors_free. */
static tg_tensor **file_tensors_new(const char *function, const named_params *p, bool transpose, bool fill) {
    tg_tensor **file = calloc((size_t)p->n + 1, sizeof *file);
    if (!file) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d tensor pointers", p->n);
        return NULL;
    }
    for (int k = 0; k < p->n; k++) {
        const tg_tensor *t = p->tensors[k];
        if (!transpose || !p->transposed_in_files[k]) {
            file[k] = p->tensors[k];
            continue;
        }
        file[k] = tg_empty(t->dtype, 2, (int64_t[]){t->shape[1], t->shape[0]});
        if (!file[k]) {
            for (int j = 0; j < k; j++)
                if (file[j] != p->tensors[j]) tg_free(file[j]);
            free(file);
            return NULL;
        }
        if (fill) copy_transposed(file[k], t);
    }
    return file;
}

static void file_tensors_free(const named_params *p, tg_tensor **file) {
    for (int k = 0; file && k < p->n; k++)
        if (file[k] != p->tensors[k]) tg_free(file[k]);
    free(file);
}

tg_status tg_model_save(const tg_model *model, const char *path) {
    named_params p;
    tg_status status = named_params_of("tg_model_save", model, &p);
    if (status != TG_OK) return status;
    if (!path) {
        named_params_free(&p);
        return tg_error_report(TG_ERR_ARGUMENT, "tg_model_save", "path is NULL");
    }
    tg_error_nested_begin();
    tg_tensor **file = file_tensors_new("tg_model_save", &p, true, true);
    const char *keys[] = {TG_MODEL_LAYOUT_KEY}, *values[] = {TG_MODEL_LAYOUT_PYTORCH};
    status = file ? tg_checkpoint_save(path, p.n, (const char *const *)p.names, (const tg_tensor *const *)file, 1,
                                       keys, values)
                  : tg_last_error();
    file_tensors_free(&p, file);
    tg_error_nested_end();
    status = report_under("tg_model_save", status);
    named_params_free(&p);
    return status;
}

/* Whether `ck` holds PyTorch's layout (see tg_model_load in nn.h). tapegrad
 * has written its checksum into every file; before the layout key, its dense
 * weights were (in, out). */
static tg_status file_layout_is_pytorch(const char *function, const tg_checkpoint *ck, const char *path,
                                        bool *pytorch) {
    const char *layout = tg_checkpoint_metadata(ck, TG_MODEL_LAYOUT_KEY);
    if (layout && strcmp(layout, TG_MODEL_LAYOUT_PYTORCH) != 0)
        return tg_error_report(TG_ERR_FORMAT, function,
                               "'%s' has metadata %s = '%s'; this version of tapegrad reads only '%s' (a newer "
                               "tapegrad may have written the file)",
                               path, TG_MODEL_LAYOUT_KEY, layout, TG_MODEL_LAYOUT_PYTORCH);
    *pytorch = layout || !tg_checkpoint_metadata(ck, TG_CHECKPOINT_CHECKSUM_KEY);
    return TG_OK;
}

/* Reads every parameter in the file's layout: transposed ones through
 * tensors of the file's shape, copied over once all of them have been
 * checked and read (so an error still leaves the model unchanged). */
static tg_status read_in_layout(const char *function, const tg_checkpoint *ck, const named_params *p, bool pytorch) {
    tg_tensor **file = file_tensors_new(function, p, pytorch, false);
    if (!file) return tg_last_error();
    tg_status status = tg_checkpoint_read_into(ck, p->n, (const char *const *)p->names, file);
    for (int k = 0; k < p->n && status == TG_OK; k++)
        if (file[k] != p->tensors[k]) copy_transposed(p->tensors[k], file[k]);
    file_tensors_free(p, file);
    return status;
}

/* Reads every parameter of p from the checkpoint at path, all or nothing.
 * Strict, like PyTorch's load_state_dict: the file must hold exactly the
 * model's parameters. A tensor the model does not have means the file is of
 * another architecture (e.g. one more layer), even when every tensor the
 * model asks for matches. */
static tg_status read_params(const char *function, const named_params *p, const char *path) {
    tg_checkpoint *ck = tg_checkpoint_open(path);
    if (!ck) return tg_last_error() != TG_OK ? tg_last_error() : TG_ERR_IO;
    tg_status status = TG_OK;
    int stored = tg_checkpoint_count(ck);
    for (int i = 0; i < stored && status == TG_OK; i++) {
        const char *name = tg_checkpoint_entry_at(ck, i)->name;
        bool known = false;
        for (int k = 0; k < p->n && !known; k++) known = strcmp(name, p->names[k]) == 0;
        if (!known)
            status = tg_error_report(TG_ERR_ARGUMENT, function,
                                     "'%s' holds '%s', which the model (%d parameters) does not have", path, name,
                                     p->n);
    }
    /* And the other way: a parameter missing from the file is another
     * architecture too, whatever the shapes of the tensors both have. */
    for (int k = 0; k < p->n && status == TG_OK; k++)
        if (!tg_checkpoint_find(ck, p->names[k]))
            status = tg_error_report(TG_ERR_ARGUMENT, function,
                                     "'%s' has no '%s': it holds %d tensors, the model has %d parameters", path,
                                     p->names[k], stored, p->n);
    bool pytorch = true;
    if (status == TG_OK) status = file_layout_is_pytorch(function, ck, path, &pytorch);
    if (status == TG_OK) status = read_in_layout(function, ck, p, pytorch);
    tg_checkpoint_close(ck);
    return status;
}

/* The checkpoint functions run nested: their errors are reported once, under
 * tg_model_load, without their own names. */
tg_status tg_model_load(tg_model *model, const char *path) {
    const char *function = "tg_model_load";
    named_params p;
    tg_status status = named_params_of(function, model, &p);
    if (status != TG_OK) return status;
    if (!path) {
        named_params_free(&p);
        return tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
    }
    tg_error_nested_begin();
    status = read_params(function, &p, path);
    tg_error_nested_end();
    status = report_under(function, status);
    named_params_free(&p);
    return status;
}
