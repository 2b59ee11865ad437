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
tg_status tg_nn_check_labels(const char *function, const tg_tensor *scores, const char *scores_name,
                             const tg_tensor *labels);

/* Layer ownership (layers.c; see "Ownership" in nn.h). hold: one more
 * holder (a model slot). release: one fewer; the last one frees the layer.
 * free_unheld: frees a layer nothing holds (a refused tg_model_add), else
 * does nothing. */
void tg_nn_layer_hold(tg_layer *layer);
void tg_nn_layer_release(tg_layer *layer);
void tg_nn_layer_free_unheld(tg_layer *layer);

/* Whether slot `slot` of `layer` may hold a tensor also used elsewhere (the
 * layer is held more than once, or the slot is tied, or others are tied to
 * it): the model searches only such slots for duplicates. */
bool tg_nn_param_maybe_shared(const tg_layer *layer, int slot);

#endif
