/* nn/nn_internal.h — helpers shared by the nn files (internal, not installed). */
#ifndef TG_NN_NN_INTERNAL_H
#define TG_NN_NN_INTERNAL_H

#include <stdbool.h>

#include "tapegrad/error.h"
#include "tapegrad/nn.h"
#include "tapegrad/tensor.h"

/* Checks `scores` (named `scores_name` in messages) and `labels` for a
 * classification function: scores must be (batch, classes) with both >= 1,
 * labels (batch) of exact class indices in 0..classes-1 (a 2.5 or a -1 is a
 * data bug, not something to round). Reports the first problem under
 * `function` and returns its status (TG_ERR_ARGUMENT for a NULL or a bad
 * label, TG_ERR_SHAPE for a shape), else TG_OK. Defined in losses.c. */
tg_status tgi_nn_check_labels(const char *function, const tg_tensor *scores, const char *scores_name,
                             const tg_tensor *labels);

/* ---- modules (module.c; see "Ownership" in nn.h) ---- */

/* A parameter or buffer slot. A tied slot's tensor is `source`'s (the module
 * owning it, never itself tied in that slot); `users` counts the slots of
 * other modules tied to this one. */
typedef struct tg_nn_slot {
    char *name;
    tg_tensor *tensor;
    struct tg_module *source;
    int users;
    bool transposed_in_files;
} tg_nn_slot;

typedef struct tg_nn_child {
    char *name;
    struct tg_module *module;
} tg_nn_child;

struct tg_module {
    char *kind;
    tg_module_forward_fn forward;
    tg_module_forward_n_fn forward_n;
    void *state;
    void (*free_state)(void *state);
    tg_nn_slot *params, *buffers;
    int n_params, n_buffers, cap_params, cap_buffers;
    tg_nn_child *children;
    int n_children, cap_children;
    bool training;
    int holders; /* parents' slots and tied modules that hold this module */
};

/* One more holder; one fewer (the last one frees the module). */
void tgi_nn_module_hold(tg_module *module);
void tgi_nn_module_release(tg_module *module);
/* Frees a module nothing holds (one refused by tg_module_add_child). */
void tgi_nn_module_free_unheld(tg_module *module);

/* A module of `kind` whose state is a copy of `size` bytes at `settings`
 * (a layer's constants), freed with it; NULL after reporting under
 * `function`. */
tg_module *tgi_nn_module_with_settings(const char *function, const char *kind, tg_module_forward_fn forward,
                                      const void *settings, size_t size);

/* The module functions with the public name to report errors under, so
 * that tg_model_ and tg_layer_ names report under their own. */
tg_module *tgi_nn_add_child(const char *function, tg_module *module, const char *name, tg_module *child);
int tgi_nn_forward_n(const char *function, tg_module *module, int n_in, tg_tensor *const *in, int max_out,
                    tg_tensor **out);
tg_tensor *tgi_nn_forward(const char *function, tg_module *module, tg_tensor *x);
void tgi_nn_free(const char *function, tg_module *module);
tg_status tgi_nn_tie_param(const char *function, tg_module *module, const char *name, tg_module *source,
                          const char *source_name);
void tgi_nn_set_training(const char *function, tg_module *module, bool training);

/* The tree's tensors in walk order, each distinct one once (state_dict.c). */
typedef struct tg_nn_named {
    char *name;
    tg_tensor *tensor;
    bool transposed_in_files;
    bool is_buffer;
} tg_nn_named;
typedef struct tg_nn_named_list {
    tg_nn_named *items;
    int n, cap;
} tg_nn_named_list;
tg_status tgi_nn_collect(const char *function, const tg_module *module, bool params, bool buffers,
                        tg_nn_named_list *list);
void tgi_nn_named_list_free(tg_nn_named_list *list);
int tgi_nn_num_params(const char *function, const tg_module *module);
tg_tensor *tgi_nn_param_at(const char *function, const tg_module *module, int index, char *name_buf,
                          size_t name_size);
int tgi_nn_params(const char *function, const tg_module *module, tg_tensor **out, int max);
int64_t tgi_nn_param_count(const char *function, const tg_module *module);
tg_status tgi_nn_save(const char *function, const tg_module *module, const char *path);
tg_status tgi_nn_load(const char *function, tg_module *module, const char *path);

#endif
