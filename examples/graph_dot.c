/* examples/graph_dot.c — drawing the graph the tape recorded.
 *
 * Builds the circles example's network (2-4-6-6-4-1, ReLU hidden layers, a
 * sigmoid output, binary cross-entropy) on one batch of 32 points and writes
 *   circles_graph.dot           the forward graph: one box per recorded op,
 *                               parameters by their names ("0.weight"), the
 *                               batch as an input
 *   circles_graph_backward.dot  the same after tg_gradients(create_graph),
 *                               with the recorded backward pass as a red
 *                               dashed cluster
 * into the current directory, or into the directory given as argv[1].
 * Render with Graphviz:
 *
 *   build/examples/graph_dot && dot -Tsvg circles_graph.dot -o circles_graph.svg
 */
#include <stdio.h>
#include <stdlib.h>

#include "tapegrad.h"

enum { SAMPLES = 1000, BATCH = 32 };

static bool write_graph(const char *dir, const char *name, tg_tensor *loss, tg_model *model, int flags) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "graph_dot: cannot write %s\n", path);
        return false;
    }
    tg_status s = tg_graph_write_dot_model(out, loss, model, flags);
    bool closed = fclose(out) == 0;
    if (s != TG_OK || !closed) {
        fprintf(stderr, "graph_dot: writing %s failed: %s\n", path, tg_last_error_message());
        return false;
    }
    printf("wrote %s\n", path);
    return true;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    tg_rng rng = tg_rng_seeded(2018);
    tg_dataset *data = tg_make_circles(&rng, SAMPLES, 0.1, 0.3);
    const int64_t sizes[] = {2, 4, 6, 6, 4, 1};
    tg_model *model = tg_mlp_new(&rng, TG_F64, 6, sizes, TG_ACT_RELU, TG_ACT_SIGMOID);
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){BATCH, 2});
    tg_tensor *y = tg_zeros(TG_F64, 1, (int64_t[]){BATCH});
    tg_dataset_fill_range(data, 0, BATCH, x, y, TG_ENCODE_INDEX);
    tg_model_summary(stdout, model, x);

    /* the circles example's loss: BCE on probabilities kept off 0 and 1 */
    tg_tensor *prob = tg_model_forward(model, x);
    tg_tensor *loss = tg_bce_loss(tg_clamp(prob, 1e-7, 1 - 1e-7), tg_reshape(y, 2, (int64_t[]){BATCH, 1}));
    size_t forward_nodes = tg_tape_num_nodes(tg_tape_current());
    bool ok = write_graph(dir, "circles_graph.dot", loss, model, TG_GRAPH_DEFAULT);

    tg_tensor *params[16], *grads[16];
    int n = tg_model_params(model, params, 16);
    ok = ok && tg_gradients(loss, NULL, n, params, grads, true) == TG_OK;
    size_t backward_nodes = tg_tape_num_nodes(tg_tape_current()) - forward_nodes;
    ok = ok && write_graph(dir, "circles_graph_backward.dot", loss, model, TG_GRAPH_BACKWARD);
    printf("%zu forward ops, %zu recorded backward ops, %d parameter tensors\n", forward_nodes, backward_nodes, n);
    printf("render: dot -Tsvg %s/circles_graph.dot -o circles_graph.svg\n", dir);

    tg_tape_reset(tg_tape_current());
    tg_free(y);
    tg_free(x);
    tg_model_free(model);
    tg_dataset_free(data);
    return ok ? 0 : 1;
}
