/* nn/nn_internal.h — helpers shared by the nn files (internal, not installed). */
#ifndef TG_NN_NN_INTERNAL_H
#define TG_NN_NN_INTERNAL_H

#include "tapegrad/error.h"
#include "tapegrad/tensor.h"

/* Checks `scores` (named `scores_name` in messages) and `labels` for a
 * classification function: scores must be (batch, classes) with both >= 1,
 * labels (batch) of exact class indices in 0..classes-1 (a 2.5 or a -1 is a
 * data bug, not something to round). Reports the first problem under
 * `function` and returns its status (TG_ERR_ARGUMENT for a NULL or a bad
 * label, TG_ERR_SHAPE for a shape), else TG_OK. Defined in losses.c. */
tg_status tg_nn_check_labels(const char *function, const tg_tensor *scores, const char *scores_name,
                             const tg_tensor *labels);

#endif
