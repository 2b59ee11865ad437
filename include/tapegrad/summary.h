/* tapegrad/summary.h — a model's summary table, like Keras' summary() or
 * torchinfo: one row per layer with its output shape and parameter count,
 * then totals and memory. */
#ifndef TAPEGRAD_SUMMARY_H
#define TAPEGRAD_SUMMARY_H

#include <stdio.h>

#include "tapegrad/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes `model`'s summary to `out`, running it once on `example_input` on a
 * private tape, in eval mode (so batch norm's running statistics do not
 * change; the caller's tape and mode are restored) with grad mode on, so
 * that the activation memory is what a forward keeps for backward. Rows: for a sequential
 * model (tg_model_new, tg_mlp_new, kind "sequential") one per child, in
 * order, each run on the previous one's output; for any other module one
 * row for the whole module. Each row: name, kind, output shape, parameters
 * (the child's own and its descendants', a shared tensor once) and the tape
 * bytes its forward used. Then totals: parameters (trainable: requiring a
 * gradient; the rest), buffer elements, bytes of parameters and buffers,
 * and the peak tape bytes of the forward. Returns TG_OK, or the error of
 * the run (its message naming the row's layer) with nothing written after
 * the header. Errors: NULL out, model or input (TG_ERR_ARGUMENT), and the
 * model's own on that input. */
tg_status tg_model_summary(FILE *out, tg_module *model, tg_tensor *example_input);

#ifdef __cplusplus
}
#endif

#endif
