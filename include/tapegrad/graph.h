/* tapegrad/graph.h — the recorded graph as Graphviz DOT.
 *
 *     tg_graph_write_dot(stdout, loss, TG_GRAPH_DEFAULT);
 *     $ dot -Tsvg graph.dot > graph.svg
 *
 * One DOT node per recorded op (its name, output shape and dtype), one per
 * leaf feeding them, and an edge from each input to the op that used it.
 * Leaves are told apart by shape and colour:
 *   parameter  a persistent tensor that requires a gradient (ellipse, blue),
 *              labelled with its model name ("0.weight") when a model is given;
 *   input      a persistent tensor that does not (box, grey): data fed in;
 *   constant   a tape tensor no recorded op made (box, white, dotted): a value
 *              computed without recording (no input needed a gradient), such
 *              as a mask or a tg_detach.
 * The output is drawn with a double border. Only ops that were recorded
 * appear: with grad mode off, or when no input requires a gradient, an op
 * leaves no node. Node names (n<tape position>, leaf<k>) and the order of
 * the lines depend only on the graph, so the text is the same from run to
 * run. Labels are escaped (quotes, backslashes, control characters). */
#ifndef TAPEGRAD_GRAPH_H
#define TAPEGRAD_GRAPH_H

#include <stdio.h>

#include "error.h"
#include "nn.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TG_GRAPH_DEFAULT = 0,
    /* Also draw every node recorded on output's tape after output itself,
     * dashed and red, inside a cluster labelled "backward": after
     * tg_gradients(output, ..., create_graph = true) that is the backward
     * pass it recorded, with edges from the forward values it reads. */
    TG_GRAPH_BACKWARD = 1,
};

/* Writes the graph that produced `output` (a tape tensor, or a persistent
 * one, which draws as a lone leaf) to `out` as a DOT digraph. `flags` is a
 * sum of TG_GRAPH_* values. Returns TG_OK; errors: NULL out (TG_ERR_ARGUMENT),
 * a NULL or stale output (TG_ERR_ARGUMENT / TG_ERR_TAPE), unknown flag bits
 * (TG_ERR_ARGUMENT), a write that fails (TG_ERR_IO), memory (TG_ERR_MEMORY). */
tg_status tg_graph_write_dot(FILE *out, tg_tensor *output, int flags);

/* The same, naming parameters by `model`'s names (tg_model_param); a
 * parameter the model does not hold is labelled "parameter". A NULL model is
 * TG_ERR_ARGUMENT. */
tg_status tg_graph_write_dot_model(FILE *out, tg_tensor *output, tg_model *model, int flags);

#ifdef __cplusplus
}
#endif
#endif
