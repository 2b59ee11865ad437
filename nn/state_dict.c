/* nn/state_dict.c — a module tree's tensors by dotted name (PyTorch's
 * named_parameters / named_buffers / state_dict), and saving and loading
 * them as safetensors in PyTorch's layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/error.h"
#include "nn/nn_internal.h"
#include "tapegrad/checkpoint.h"
#include "tapegrad/nn.h"

/* ---- the walk: each module's parameters, its buffers, then its children ---- */

void tgi_nn_named_list_free(tg_nn_named_list *list) {
    for (int i = 0; i < list->n; i++) free(list->items[i].name);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static bool listed(const tg_nn_named_list *list, const tg_tensor *t) {
    for (int i = 0; i < list->n; i++)
        if (list->items[i].tensor == t) return true;
    return false;
}

static tg_status push(const char *function, tg_nn_named_list *list, const char *prefix, const tg_nn_slot *slot,
                      bool is_buffer) {
    if (list->n == list->cap) {
        int cap = list->cap ? 2 * list->cap : 16;
        tg_nn_named *items = realloc(list->items, (size_t)cap * sizeof *items);
        if (!items) return tg_error_report(TG_ERR_MEMORY, function, "cannot list %d tensors", cap);
        list->items = items;
        list->cap = cap;
    }
    size_t size = strlen(prefix) + strlen(slot->name) + 1;
    char *name = malloc(size);
    if (!name) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate the name '%s%s'", prefix, slot->name);
    snprintf(name, size, "%s%s", prefix, slot->name);
    list->items[list->n++] = (tg_nn_named){name, slot->tensor, slot->transposed_in_files, is_buffer};
    return TG_OK;
}

/* `shared`: an ancestor is held more than once, so every tensor below may
 * have been listed already. Only tensors that may be shared are searched
 * for, so a tree without sharing costs one test per tensor. */
static tg_status collect_module(const char *function, const tg_module *module, const char *prefix, bool shared,
                                bool params, bool buffers, tg_nn_named_list *list) {
    tg_status status = TG_OK;
    shared = shared || module->holders > 1;
    for (int k = 0; params && k < module->n_params && status == TG_OK; k++) {
        const tg_nn_slot *slot = &module->params[k];
        bool maybe_shared = shared || slot->source || slot->users > 0;
        if (!(maybe_shared && listed(list, slot->tensor))) status = push(function, list, prefix, slot, false);
    }
    for (int k = 0; buffers && k < module->n_buffers && status == TG_OK; k++) {
        const tg_nn_slot *slot = &module->buffers[k];
        if (!(shared && listed(list, slot->tensor))) status = push(function, list, prefix, slot, true);
    }
    for (int i = 0; i < module->n_children && status == TG_OK; i++) {
        const tg_nn_child *child = &module->children[i];
        size_t size = strlen(prefix) + strlen(child->name) + 2;
        char *child_prefix = malloc(size);
        if (!child_prefix) return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a name");
        snprintf(child_prefix, size, "%s%s.", prefix, child->name);
        status = collect_module(function, child->module, child_prefix, shared, params, buffers, list);
        free(child_prefix);
    }
    return status;
}

tg_status tgi_nn_collect(const char *function, const tg_module *module, bool params, bool buffers,
                        tg_nn_named_list *list) {
    memset(list, 0, sizeof *list);
    if (!module) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", strstr(function, "model") ? "model" : "module");
    tg_status status = collect_module(function, module, "", false, params, buffers, list);
    if (status != TG_OK) tgi_nn_named_list_free(list);
    return status;
}

int tgi_nn_num_params(const char *function, const tg_module *module) {
    tg_nn_named_list list;
    if (tgi_nn_collect(function, module, true, false, &list) != TG_OK) return 0;
    int n = list.n;
    tgi_nn_named_list_free(&list);
    return n;
}

static tg_tensor *named_at(const char *function, const tg_module *module, bool buffers, int index, char *name_buf,
                           size_t name_size) {
    tg_nn_named_list list;
    if (tgi_nn_collect(function, module, !buffers, buffers, &list) != TG_OK) return NULL;
    tg_tensor *t = NULL;
    if (index < 0 || index >= list.n) {
        tg_error_report(TG_ERR_ARGUMENT, function, "no %s %d (the model has %d)", buffers ? "buffer" : "parameter",
                        index, list.n);
    } else {
        t = list.items[index].tensor;
        if (name_buf && name_size > 0) snprintf(name_buf, name_size, "%s", list.items[index].name);
    }
    tgi_nn_named_list_free(&list);
    return t;
}

tg_tensor *tgi_nn_param_at(const char *function, const tg_module *module, int index, char *name_buf,
                          size_t name_size) {
    return named_at(function, module, false, index, name_buf, name_size);
}

int tgi_nn_params(const char *function, const tg_module *module, tg_tensor **out, int max) {
    if (!module || (!out && max > 0)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !module ? "model" : "out");
        return 0;
    }
    if (max < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "max must be >= 0, got %d", max);
        return 0;
    }
    tg_nn_named_list list;
    if (tgi_nn_collect(function, module, true, false, &list) != TG_OK) return 0;
    int count = 0;
    for (; count < max && count < list.n; count++) out[count] = list.items[count].tensor;
    tgi_nn_named_list_free(&list);
    return count;
}

int64_t tgi_nn_param_count(const char *function, const tg_module *module) {
    tg_nn_named_list list;
    if (tgi_nn_collect(function, module, true, false, &list) != TG_OK) return 0;
    int64_t count = 0;
    for (int i = 0; i < list.n; i++) count += list.items[i].tensor->numel;
    tgi_nn_named_list_free(&list);
    return count;
}

int tg_module_num_params(const tg_module *module) { return tgi_nn_num_params("tg_module_num_params", module); }
tg_tensor *tg_module_param_at(const tg_module *module, int index, char *name_buf, size_t name_size) {
    return tgi_nn_param_at("tg_module_param_at", module, index, name_buf, name_size);
}
int tg_module_params(const tg_module *module, tg_tensor **out, int max) {
    return tgi_nn_params("tg_module_params", module, out, max);
}
int64_t tg_module_param_count(const tg_module *module) {
    return tgi_nn_param_count("tg_module_param_count", module);
}

int tg_module_num_buffers(const tg_module *module) {
    tg_nn_named_list list;
    if (tgi_nn_collect("tg_module_num_buffers", module, false, true, &list) != TG_OK) return 0;
    int n = list.n;
    tgi_nn_named_list_free(&list);
    return n;
}

tg_tensor *tg_module_buffer_at(const tg_module *module, int index, char *name_buf, size_t name_size) {
    return named_at("tg_module_buffer_at", module, true, index, name_buf, name_size);
}

/* ---- saving and loading ---- */

/* A failed status of checkpoint calls run nested (tg_error_nested_begin),
 * reported under `function`. */
static tg_status report_under(const char *function, tg_status status) {
    if (status == TG_OK || tg_last_error() == TG_OK) return status;
    return tg_error_take_over(function, "");
}

/* dst (cols, rows) = src (rows, cols) transposed; both contiguous. */
static void copy_transposed(tg_tensor *dst, const tg_tensor *src) {
    int64_t rows = src->shape[0], cols = src->shape[1];
    size_t size = tg_dtype_size(src->dtype);
    const char *from = src->data;
    char *to = dst->dtype == TG_F32 ? (char *)tg_data_f32(dst) : (char *)tg_data_f64(dst); /* counts the change */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            memcpy(to + (size_t)(c * rows + r) * size, from + (size_t)(r * cols + c) * size, size);
}

/* Whether entry k is kept transposed in files of that layout. */
static bool transposed(const tg_nn_named_list *list, int k, bool pytorch) {
    return pytorch && list->items[k].transposed_in_files;
}

/* The tensors as files hold them: the tensor itself, or (transposed) a new
 * tensor of the transposed shape, filled from the tensor when `fill`.
 * Freed with file_tensors_free. */
static tg_tensor **file_tensors_new(const char *function, const tg_nn_named_list *list, bool pytorch, bool fill) {
    tg_tensor **file = calloc((size_t)list->n + 1, sizeof *file);
    if (!file) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d tensor pointers", list->n);
        return NULL;
    }
    for (int k = 0; k < list->n; k++) {
        const tg_tensor *t = list->items[k].tensor;
        if (!transposed(list, k, pytorch)) {
            file[k] = list->items[k].tensor;
            continue;
        }
        file[k] = tg_empty(t->dtype, 2, (int64_t[]){t->shape[1], t->shape[0]});
        if (!file[k]) {
            for (int j = 0; j < k; j++)
                if (file[j] != list->items[j].tensor) tg_free(file[j]);
            free(file);
            return NULL;
        }
        if (fill) copy_transposed(file[k], t);
    }
    return file;
}

static void file_tensors_free(const tg_nn_named_list *list, tg_tensor **file) {
    for (int k = 0; file && k < list->n; k++)
        if (file[k] != list->items[k].tensor) tg_free(file[k]);
    free(file);
}

/* The names of a list, as the checkpoint calls take them. */
static const char **names_of(const char *function, const tg_nn_named_list *list) {
    const char **names = calloc((size_t)list->n + 1, sizeof *names);
    if (!names) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d names", list->n);
        return NULL;
    }
    for (int k = 0; k < list->n; k++) names[k] = list->items[k].name;
    return names;
}

tg_status tgi_nn_save(const char *function, const tg_module *module, const char *path) {
    tg_nn_named_list list;
    tg_status status = tgi_nn_collect(function, module, true, true, &list);
    if (status != TG_OK) return status;
    if (!path) {
        tgi_nn_named_list_free(&list);
        return tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
    }
    tg_error_nested_begin();
    const char **names = names_of(function, &list);
    tg_tensor **file = names ? file_tensors_new(function, &list, true, true) : NULL;
    const char *keys[] = {TG_MODEL_LAYOUT_KEY}, *values[] = {TG_MODEL_LAYOUT_PYTORCH};
    status = file ? tg_checkpoint_save(path, list.n, names, (const tg_tensor *const *)file, 1, keys, values)
                  : tg_last_error();
    file_tensors_free(&list, file);
    free(names);
    tg_error_nested_end();
    status = report_under(function, status);
    tgi_nn_named_list_free(&list);
    return status;
}

/* Whether `ck` holds PyTorch's layout (see tg_module_load in nn.h).
 * tapegrad has written its checksum into every file; before the layout key,
 * its dense weights were (in, out). */
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

/* Strict, like PyTorch's load_state_dict: the file holds exactly the
 * module's names. A tensor the module does not have means another
 * architecture (e.g. one more layer), even when every tensor the module asks
 * for matches; so does one missing from the file. */
static tg_status check_names(const char *function, const tg_checkpoint *ck, const tg_nn_named_list *list,
                             const char *path) {
    int stored = tg_checkpoint_count(ck);
    for (int i = 0; i < stored; i++) {
        const char *name = tg_checkpoint_entry_at(ck, i)->name;
        bool known = false;
        for (int k = 0; k < list->n && !known; k++) known = strcmp(name, list->items[k].name) == 0;
        if (!known)
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "'%s' holds '%s', which the model (%d parameters and buffers) does not have", path,
                                   name, list->n);
    }
    for (int k = 0; k < list->n; k++)
        if (!tg_checkpoint_find(ck, list->items[k].name))
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "'%s' has no %s '%s': it holds %d tensors, the model has %d parameters and buffers",
                                   path, list->items[k].is_buffer ? "buffer" : "parameter", list->items[k].name,
                                   stored, list->n);
    return TG_OK;
}

/* Every stored shape against the module's, in the file's layout, naming a
 * parameter or a buffer and both shapes. */
static tg_status check_shapes(const char *function, const tg_checkpoint *ck, const tg_nn_named_list *list,
                              const char *path, bool pytorch) {
    for (int k = 0; k < list->n; k++) {
        const tg_tensor *t = list->items[k].tensor;
        int64_t shape[TG_MAX_RANK];
        for (int d = 0; d < t->rank; d++) shape[d] = t->shape[d];
        if (transposed(list, k, pytorch)) {
            shape[0] = t->shape[1];
            shape[1] = t->shape[0];
        }
        const tg_checkpoint_entry *e = tg_checkpoint_find(ck, list->items[k].name);
        bool same = e->rank == t->rank;
        for (int d = 0; same && d < t->rank; d++) same = e->shape[d] == shape[d];
        if (!same) {
            char want[160], got[160];
            return tg_error_report(TG_ERR_SHAPE, function, "'%s': %s '%s' has shape %s in the model, %s in the file",
                                   path, list->items[k].is_buffer ? "buffer" : "parameter", list->items[k].name,
                                   tg_shape_string(want, sizeof want, t->rank, shape),
                                   tg_shape_string(got, sizeof got, e->rank, e->shape));
        }
    }
    return TG_OK;
}

/* Reads every tensor in the file's layout: transposed ones through tensors
 * of the file's shape, copied over once all of them have been checked and
 * read (so an error still leaves the module unchanged). */
static tg_status read_in_layout(const char *function, const tg_checkpoint *ck, const tg_nn_named_list *list,
                                bool pytorch) {
    const char **names = names_of(function, list);
    tg_tensor **file = names ? file_tensors_new(function, list, pytorch, false) : NULL;
    tg_status status = file ? tg_checkpoint_read_into(ck, list->n, names, file) : tg_last_error();
    for (int k = 0; file && k < list->n && status == TG_OK; k++)
        if (file[k] != list->items[k].tensor) copy_transposed(list->items[k].tensor, file[k]);
    file_tensors_free(list, file);
    free(names);
    return status;
}

static tg_status read_all(const char *function, const tg_nn_named_list *list, const char *path) {
    tg_checkpoint *ck = tg_checkpoint_open(path);
    if (!ck) return tg_last_error() != TG_OK ? tg_last_error() : TG_ERR_IO;
    bool pytorch = true;
    tg_status status = check_names(function, ck, list, path);
    if (status == TG_OK) status = file_layout_is_pytorch(function, ck, path, &pytorch);
    if (status == TG_OK) status = check_shapes(function, ck, list, path, pytorch);
    if (status == TG_OK) status = read_in_layout(function, ck, list, pytorch);
    tg_checkpoint_close(ck);
    return status;
}

/* The checkpoint functions run nested: their errors are reported once, under
 * the caller's function, without their own names. */
tg_status tgi_nn_load(const char *function, tg_module *module, const char *path) {
    tg_nn_named_list list;
    tg_status status = tgi_nn_collect(function, module, true, true, &list);
    if (status != TG_OK) return status;
    if (!path) {
        tgi_nn_named_list_free(&list);
        return tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
    }
    tg_error_nested_begin();
    status = read_all(function, &list, path);
    tg_error_nested_end();
    status = report_under(function, status);
    tgi_nn_named_list_free(&list);
    return status;
}

tg_status tg_module_save(const tg_module *module, const char *path) { return tgi_nn_save("tg_module_save", module, path); }
tg_status tg_module_load(tg_module *module, const char *path) { return tgi_nn_load("tg_module_load", module, path); }
