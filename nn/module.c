/* nn/module.c — the module tree: creation, named parameters, buffers and
 * children, ownership (holders, tied parameters), train/eval mode, forward.
 * Listing, saving and loading the tree's tensors is in state_dict.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/error.h"
#include "nn/nn_internal.h"
#include "tapegrad/nn.h"

static char *copy_string(const char *s) {
    size_t size = strlen(s) + 1;
    char *copy = malloc(size);
    if (copy) memcpy(copy, s, size);
    return copy;
}

static tg_module *module_alloc(const char *function, const char *kind) {
    if (!kind || !kind[0]) {
        tg_error_report(TG_ERR_ARGUMENT, function, "kind is %s", kind ? "empty" : "NULL");
        return NULL;
    }
    tg_module *module = calloc(1, sizeof *module);
    if (module) module->kind = copy_string(kind);
    if (!module || !module->kind) {
        free(module);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a module of kind '%s'", kind);
        return NULL;
    }
    module->training = true;
    return module;
}

tg_module *tg_module_new(const char *kind, tg_module_forward_fn forward) {
    tg_module *module = module_alloc("tg_module_new", kind);
    if (module) module->forward = forward;
    return module;
}

tg_module *tg_module_new_n(const char *kind, tg_module_forward_n_fn forward) {
    if (!forward) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_new_n", "forward is NULL (tg_module_new makes a sequence)");
        return NULL;
    }
    tg_module *module = module_alloc("tg_module_new_n", kind);
    if (module) module->forward_n = forward;
    return module;
}

tg_status tg_module_set_state(tg_module *module, void *state, void (*free_state)(void *state)) {
    if (!module) return tg_error_report(TG_ERR_ARGUMENT, "tg_module_set_state", "module is NULL");
    if (module->free_state && module->state && module->state != state) module->free_state(module->state);
    module->state = state;
    module->free_state = free_state;
    return TG_OK;
}

void *tg_module_state(const tg_module *module) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_state", "module is NULL");
        return NULL;
    }
    return module->state;
}

/* A module of `kind` with a copy of `size` bytes at `settings` as state
 * (freed with it); NULL after reporting under `function`. */
tg_module *tgi_nn_module_with_settings(const char *function, const char *kind, tg_module_forward_fn forward,
                                      const void *settings, size_t size) {
    void *state = malloc(size);
    tg_error_nested_begin();
    tg_module *module = state ? tg_module_new(kind, forward) : NULL;
    tg_error_nested_end();
    if (!module) {
        free(state);
        if (!state)
            tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a %s layer", kind);
        else
            tg_error_take_over(function, "");
        return NULL;
    }
    memcpy(state, settings, size);
    tg_module_set_state(module, state, free);
    return module;
}

const char *tg_module_kind(const tg_module *module) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_kind", "module is NULL");
        return NULL;
    }
    return module->kind;
}

/* ---- ownership ---- */

/* The slot of `module`'s parameters holding tensor t, or -1. */
static int slot_of(const tg_module *module, const tg_tensor *t) {
    for (int k = 0; k < module->n_params; k++)
        if (module->params[k].tensor == t) return k;
    return -1;
}

static void free_names(tg_nn_slot *slots, int n) {
    for (int k = 0; k < n; k++) free(slots[k].name);
    free(slots);
}

/* Frees a module nothing holds: lets go of the modules its tied slots
 * borrow from and of its children (which may go with it), frees its own
 * tensors, then its state. */
static void destroy_unheld(tg_module *module) {
    for (int k = 0; k < module->n_params; k++) {
        tg_nn_slot *slot = &module->params[k];
        if (slot->source) {
            int lent = slot_of(slot->source, slot->tensor);
            if (lent >= 0) slot->source->params[lent].users--;
            tgi_nn_module_release(slot->source);
        } else {
            tg_free(slot->tensor);
        }
    }
    for (int k = 0; k < module->n_buffers; k++) tg_free(module->buffers[k].tensor);
    for (int i = 0; i < module->n_children; i++) {
        tgi_nn_module_release(module->children[i].module);
        free(module->children[i].name);
    }
    if (module->free_state && module->state) module->free_state(module->state);
    free_names(module->params, module->n_params);
    free_names(module->buffers, module->n_buffers);
    free(module->children);
    free(module->kind);
    free(module);
}

void tgi_nn_module_hold(tg_module *module) { module->holders++; }

void tgi_nn_module_release(tg_module *module) {
    if (--module->holders <= 0) destroy_unheld(module);
}

void tgi_nn_module_free_unheld(tg_module *module) {
    if (module->holders <= 0) destroy_unheld(module);
}

void tgi_nn_free(const char *function, tg_module *module) {
    if (!module) return;
    if (module->holders > 0) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "module '%s' is held %d time%s by parents or tied modules; it is freed with the last of them",
                        module->kind, module->holders, module->holders == 1 ? "" : "s");
        return;
    }
    destroy_unheld(module);
}

void tg_module_free(tg_module *module) { tgi_nn_free("tg_module_free", module); }

/* True if `from` holds `target` through children or tied slots, directly or
 * along a chain (`from` itself counts). The chains end: a cycle is refused
 * when it would be made. */
static bool holds(const tg_module *from, const tg_module *target) {
    if (from == target) return true;
    for (int k = 0; k < from->n_params; k++)
        if (from->params[k].source && holds(from->params[k].source, target)) return true;
    for (int i = 0; i < from->n_children; i++)
        if (holds(from->children[i].module, target)) return true;
    return false;
}

/* ---- names: parameters, buffers and children share one namespace ---- */

static bool name_taken(const tg_module *module, const char *name) {
    for (int k = 0; k < module->n_params; k++)
        if (strcmp(module->params[k].name, name) == 0) return true;
    for (int k = 0; k < module->n_buffers; k++)
        if (strcmp(module->buffers[k].name, name) == 0) return true;
    for (int i = 0; i < module->n_children; i++)
        if (strcmp(module->children[i].name, name) == 0) return true;
    return false;
}

static tg_status check_new_name(const char *function, const tg_module *module, const char *name) {
    if (!name || !name[0])
        return tg_error_report(TG_ERR_ARGUMENT, function, "name is %s", name ? "empty" : "NULL");
    if (strchr(name, '.'))
        return tg_error_report(TG_ERR_ARGUMENT, function, "name '%s' has a '.' (dots separate the levels of a path)",
                               name);
    if (name_taken(module, name))
        return tg_error_report(TG_ERR_ARGUMENT, function, "module '%s' already has something named '%s'",
                               module->kind, name);
    return TG_OK;
}

/* Makes room for one more element of `size` bytes in *array (n used of *cap). */
static bool grow(void **array, int n, int *cap, size_t size) {
    if (n < *cap) return true;
    int cap2 = *cap ? 2 * *cap : 4;
    void *bigger = realloc(*array, (size_t)cap2 * size);
    if (!bigger) return false;
    *array = bigger;
    *cap = cap2;
    return true;
}

/* ---- parameters and buffers ---- */

static tg_tensor *add_tensor(const char *function, tg_module *module, const char *name, tg_tensor *tensor,
                             bool buffer) {
    tg_status status = TG_OK;
    if (!module) {
        status = tg_error_report(TG_ERR_ARGUMENT, function, "module is NULL");
    } else if (!tensor) { /* the result of a failed creation keeps its error */
        status = tg_error_null_tensor(function, "tensor is NULL (named '%s')", name ? name : "(NULL)");
    } else if (tensor->tape) {
        tg_error_report(TG_ERR_TAPE, function, "tensor '%s' belongs to a tape; a module holds persistent tensors",
                        name ? name : "(NULL)");
        return NULL; /* the tape owns it */
    } else {
        status = check_new_name(function, module, name);
    }
    if (status == TG_OK) {
        tg_nn_slot **slots = buffer ? &module->buffers : &module->params;
        int *n = buffer ? &module->n_buffers : &module->n_params;
        int *cap = buffer ? &module->cap_buffers : &module->cap_params;
        char *copy = copy_string(name);
        if (copy && grow((void **)slots, *n, cap, sizeof **slots)) {
            (*slots)[(*n)++] = (tg_nn_slot){.name = copy, .tensor = tensor};
            tg_set_requires_grad(tensor, !buffer);
            return tensor;
        }
        free(copy);
        tg_error_report(TG_ERR_MEMORY, function, "cannot add '%s' to module '%s'", name, module->kind);
    }
    tg_free(tensor); /* handed over: freed on error */
    return NULL;
}

tg_tensor *tg_module_add_param(tg_module *module, const char *name, tg_tensor *tensor) {
    return add_tensor("tg_module_add_param", module, name, tensor, false);
}

tg_tensor *tg_module_add_buffer(tg_module *module, const char *name, tg_tensor *tensor) {
    return add_tensor("tg_module_add_buffer", module, name, tensor, true);
}

static int own_slot(const tg_nn_slot *slots, int n, const char *name) {
    for (int k = 0; k < n; k++)
        if (strcmp(slots[k].name, name) == 0) return k;
    return -1;
}

/* The slot named `name` of `module`'s parameters, or -1 after reporting
 * (listing the names it has). */
static int named_slot(const char *function, const char *which, const tg_module *module, const char *name) {
    int k = own_slot(module->params, module->n_params, name);
    if (k >= 0) return k;
    char names[200] = "";
    size_t used = 0;
    for (int j = 0; j < module->n_params && used < sizeof names; j++) {
        int n = snprintf(names + used, sizeof names - used, "%s'%s'", j ? ", " : "", module->params[j].name);
        if (n > 0) used += (size_t)n;
    }
    tg_error_report(TG_ERR_ARGUMENT, function, "%s '%s' has no parameter '%s' (it has %s)", which, module->kind, name,
                    module->n_params ? names : "none");
    return -1;
}

tg_status tg_module_transpose_in_files(tg_module *module, const char *name) {
    const char *function = "tg_module_transpose_in_files";
    if (!module || !name)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !module ? "module" : "name");
    int k = named_slot(function, "module", module, name);
    if (k < 0) return TG_ERR_ARGUMENT;
    if (module->params[k].tensor->rank != 2)
        return tg_error_report(TG_ERR_ARGUMENT, function, "parameter '%s' has rank %d; only rank 2 transposes", name,
                               module->params[k].tensor->rank);
    module->params[k].transposed_in_files = true;
    return TG_OK;
}

/* ---- children ---- */

tg_module *tgi_nn_add_child(const char *function, tg_module *module, const char *name, tg_module *child) {
    char index_name[16];
    tg_status status = TG_OK;
    if (!module || !child) {
        status = tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !module ? "model" : "layer");
    } else {
        if (!name) {
            snprintf(index_name, sizeof index_name, "%d", module->n_children);
            name = index_name;
        }
        status = check_new_name(function, module, name);
        if (status == TG_OK && holds(child, module)) { /* the child is in use: never freed here */
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "module '%s' holds '%s' already: adding it as a child would make a cycle",
                                   child->kind, module->kind),
                   NULL;
        }
    }
    char *copy = status == TG_OK ? copy_string(name) : NULL;
    if (status == TG_OK &&
        (!copy || !grow((void **)&module->children, module->n_children, &module->cap_children,
                        sizeof *module->children))) {
        free(copy);
        status = tg_error_report(TG_ERR_MEMORY, function, "cannot add child '%s'", name);
    }
    if (status != TG_OK) { /* a new module was handed over: freed; a held one stays */
        if (child) tgi_nn_module_free_unheld(child);
        return NULL;
    }
    module->children[module->n_children++] = (tg_nn_child){.name = copy, .module = child};
    tgi_nn_module_hold(child);
    tgi_nn_set_training(function, child, module->training);
    return child;
}

tg_module *tg_module_add_child(tg_module *module, const char *name, tg_module *child) {
    return tgi_nn_add_child("tg_module_add_child", module, name, child);
}

int tg_module_num_children(const tg_module *module) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_num_children", "module is NULL");
        return 0;
    }
    return module->n_children;
}

tg_module *tg_module_child_at(const tg_module *module, int index, const char **name) {
    if (!module || index < 0 || index >= module->n_children) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_child_at", module ? "no child %d (the module has %d)" : "module is NULL",
                        index, module ? module->n_children : 0);
        return NULL;
    }
    if (name) *name = module->children[index].name;
    return module->children[index].module;
}

static tg_module *child_named(const tg_module *module, const char *name, size_t length) {
    for (int i = 0; i < module->n_children; i++)
        if (strlen(module->children[i].name) == length && memcmp(module->children[i].name, name, length) == 0)
            return module->children[i].module;
    return NULL;
}

/* Follows the dotted path's module components; *last receives its last
 * component. NULL if a component names no child. */
static const tg_module *walk_path(const tg_module *module, const char *path, const char **last) {
    const char *dot;
    while (module && (dot = strchr(path, '.')) != NULL) {
        module = child_named(module, path, (size_t)(dot - path));
        path = dot + 1;
    }
    *last = path;
    return module;
}

static tg_tensor *find_tensor(const char *function, const tg_module *module, const char *path, bool buffer) {
    if (!module || !path) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !module ? "module" : "path");
        return NULL;
    }
    const char *last;
    const tg_module *owner = walk_path(module, path, &last);
    int k = !owner ? -1
            : buffer ? own_slot(owner->buffers, owner->n_buffers, last)
                     : own_slot(owner->params, owner->n_params, last);
    if (k < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "module '%s' has no %s '%s'", module->kind,
                        buffer ? "buffer" : "parameter", path);
        return NULL;
    }
    return buffer ? owner->buffers[k].tensor : owner->params[k].tensor;
}

tg_tensor *tg_module_param(const tg_module *module, const char *path) {
    return find_tensor("tg_module_param", module, path, false);
}

tg_tensor *tg_module_buffer(const tg_module *module, const char *path) {
    return find_tensor("tg_module_buffer", module, path, true);
}

tg_module *tg_module_find(const tg_module *module, const char *path) {
    if (!module || !path) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_find", "%s is NULL", !module ? "module" : "path");
        return NULL;
    }
    const char *last;
    const tg_module *parent = walk_path(module, path, &last);
    return parent ? child_named(parent, last, strlen(last)) : NULL;
}

/* ---- train / eval ---- */

void tgi_nn_set_training(const char *function, tg_module *module, bool training) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", strstr(function, "model") ? "model" : "module");
        return;
    }
    module->training = training;
    for (int i = 0; i < module->n_children; i++) tgi_nn_set_training(function, module->children[i].module, training);
}

void tg_module_set_training(tg_module *module, bool training) {
    tgi_nn_set_training("tg_module_set_training", module, training);
}

bool tg_module_is_training(const tg_module *module) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_module_is_training", "module is NULL");
        return false;
    }
    return module->training;
}

/* ---- tied parameters ---- */

static tg_status check_tie(const char *function, const tg_module *module, int k, const tg_tensor *tensor,
                           const tg_module *owner) {
    const tg_nn_slot *slot = &module->params[k];
    const tg_tensor *mine = slot->tensor;
    if (mine->dtype != tensor->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "'%s' is %s, the source's tensor %s", slot->name,
                               tg_dtype_name(mine->dtype), tg_dtype_name(tensor->dtype));
    if (!tg_same_shape(mine, tensor)) {
        char a[160], b[160];
        return tg_error_report(TG_ERR_SHAPE, function, "'%s' has shape %s, the source's tensor %s", slot->name,
                               tg_shape_string(a, sizeof a, mine->rank, mine->shape),
                               tg_shape_string(b, sizeof b, tensor->rank, tensor->shape));
    }
    if (slot->users > 0)
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "%d other module slot(s) are tied to '%s'; tie them to the source instead",
                               slot->users, slot->name);
    if (holds(owner, module))
        return tg_error_report(TG_ERR_ARGUMENT, function,
                               "tying '%s' would make the %s module hold itself (the source holds it)", slot->name,
                               module->kind);
    return TG_OK;
}

tg_status tgi_nn_tie_param(const char *function, tg_module *module, const char *name, tg_module *source,
                          const char *source_name) {
    if (!module || !source || !name || !source_name)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL",
                               !module ? "layer" : !source ? "source" : !name ? "name" : "source_name");
    int k = named_slot(function, "layer", module, name);
    if (k < 0) return TG_ERR_ARGUMENT;
    int j = named_slot(function, "source", source, source_name);
    if (j < 0) return TG_ERR_ARGUMENT;
    tg_tensor *tensor = source->params[j].tensor;
    tg_module *owner = source->params[j].source ? source->params[j].source : source;
    tg_nn_slot *slot = &module->params[k];
    if (slot->tensor == tensor) return TG_OK;
    tg_status status = check_tie(function, module, k, tensor, owner);
    if (status != TG_OK) return status;
    tg_tensor *old = slot->tensor;
    tg_module *old_source = slot->source;
    owner->params[slot_of(owner, tensor)].users++;
    tgi_nn_module_hold(owner);
    slot->tensor = tensor;
    slot->source = owner;
    if (old_source) {
        old_source->params[slot_of(old_source, old)].users--;
        tgi_nn_module_release(old_source);
    } else {
        tg_free(old);
    }
    return TG_OK;
}

tg_status tg_module_tie_param(tg_module *module, const char *name, tg_module *source, const char *source_name) {
    return tgi_nn_tie_param("tg_module_tie_param", module, name, source, source_name);
}

/* ---- forward ---- */

static int run_module(const char *function, tg_module *module, int n_in, tg_tensor *const *in, int max_out,
                      tg_tensor **out);

static bool is_sequence(const tg_module *module) { return !module->forward && !module->forward_n; }

/* A child failed inside a sequence: its error, reported once more under
 * `function` with the child's name in front. A sequence's own errors are
 * already under `function`, so only the detail is kept. */
static void report_child_error(const char *function, const tg_nn_child *child) {
    char context[96];
    snprintf(context, sizeof context, "layer %s: ", child->name);
    if (tg_last_error() == TG_OK)
        tg_error_report(TG_ERR_ARGUMENT, function, "%sthe %s module's forward failed without reporting why",
                        context, child->module->kind);
    else if (is_sequence(child->module))
        tg_error_take_over(function, context);
    else
        tg_error_pass_up(function, context);
}

/* A sequence: each child's outputs are the next one's inputs. */
static int run_sequence(const char *function, tg_module *module, int n_in, tg_tensor *const *in, int max_out,
                        tg_tensor **out) {
    tg_tensor *buffers[2][TG_MODULE_MAX_IO];
    tg_tensor *const *current = in;
    int n = n_in;
    for (int i = 0; i < module->n_children; i++) {
        bool last = i + 1 == module->n_children;
        tg_tensor **next = last ? out : buffers[i % 2];
        tg_error_nested_begin();
        n = run_module(function, module->children[i].module, n, current, last ? max_out : TG_MODULE_MAX_IO, next);
        tg_error_nested_end();
        if (n < 0) {
            report_child_error(function, &module->children[i]);
            return -1;
        }
        current = next;
    }
    if (module->n_children == 0) { /* an empty sequence passes its inputs on */
        if (n_in > max_out)
            return tg_error_report(TG_ERR_ARGUMENT, function, "%d inputs pass through an empty '%s', room for %d",
                                   n_in, module->kind, max_out),
                   -1;
        for (int k = 0; k < n_in; k++) out[k] = in[k];
    }
    return n;
}

static int run_module(const char *function, tg_module *module, int n_in, tg_tensor *const *in, int max_out,
                      tg_tensor **out) {
    if (is_sequence(module)) return run_sequence(function, module, n_in, in, max_out, out);
    if (module->forward_n) {
        int n = module->forward_n(module, n_in, in, max_out, out);
        if (n > max_out) {
            tg_error_report(TG_ERR_ARGUMENT, function, "'%s' wrote %d outputs, room for %d", module->kind, n, max_out);
            return -1;
        }
        return n < 0 ? -1 : n;
    }
    if (n_in != 1) {
        tg_error_report(TG_ERR_ARGUMENT, function, "'%s' takes one input, got %d", module->kind, n_in);
        return -1;
    }
    out[0] = module->forward(module, in[0]);
    return out[0] ? 1 : -1;
}

int tgi_nn_forward_n(const char *function, tg_module *module, int n_in, tg_tensor *const *in, int max_out,
                    tg_tensor **out) {
    if (!module || !in || !out) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !module ? "module" : !in ? "in" : "out");
        return -1;
    }
    if (n_in < 1 || max_out < 1) {
        tg_error_report(TG_ERR_ARGUMENT, function, "n_in and max_out must be >= 1, got %d and %d", n_in, max_out);
        return -1;
    }
    for (int k = 0; k < n_in; k++)
        if (!in[k]) {
            tg_error_null_tensor(function, "x is NULL (input %d of a %s module)", k, module->kind);
            return -1;
        }
    tg_error_nested_begin();
    int n = run_module(function, module, n_in, in, max_out, out);
    tg_error_nested_end();
    if (n < 0) {
        if (tg_last_error() == TG_OK)
            tg_error_report(TG_ERR_ARGUMENT, function, "the %s module's forward failed without reporting why",
                            module->kind);
        else if (is_sequence(module))
            tg_error_take_over(function, "");
        else
            tg_error_pass_up(function, "");
    }
    return n;
}

int tg_module_forward_n(tg_module *module, int n_in, tg_tensor *const *in, int max_out, tg_tensor **out) {
    return tgi_nn_forward_n("tg_module_forward_n", module, n_in, in, max_out, out);
}

tg_tensor *tgi_nn_forward(const char *function, tg_module *module, tg_tensor *x) {
    if (!module) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", strstr(function, "model") ? "model" : "layer");
        return NULL;
    }
    tg_tensor *out[TG_MODULE_MAX_IO];
    int n = tgi_nn_forward_n(function, module, 1, &x, TG_MODULE_MAX_IO, out);
    if (n < 0) return NULL;
    if (n != 1) {
        tg_error_report(TG_ERR_ARGUMENT, function, "the %s module gave %d outputs, one expected (tg_module_forward_n)",
                        module->kind, n);
        return NULL;
    }
    return out[0];
}

tg_tensor *tg_module_forward(tg_module *module, tg_tensor *x) { return tgi_nn_forward("tg_module_forward", module, x); }
