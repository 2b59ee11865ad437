/* tools/graph.c — the recorded graph as Graphviz DOT (see graph.h).
 *
 * The ops to draw are marked by a walk from the output's node through its
 * inputs' nodes (an explicit stack: graphs may be deep), plus, with
 * TG_GRAPH_BACKWARD, every node recorded after the output and what those
 * read. They are then written in tape order, which makes the text depend
 * only on the graph; leaves are numbered as they are first met. */
#include <stdlib.h>
#include <string.h>

#include "core/tape_internal.h"
#include "core/tensor_internal.h"
#include "tapegrad/graph.h"

#define PARAM_NAME_SIZE 256

typedef struct graph_writer {
    const char *function; /* the public function called, for errors */
    FILE *out;
    const tg_tape *tape;
    size_t output_position; /* nodes after it are the backward part */
    const tg_tensor **leaves;
    size_t n_leaves, leaf_capacity;
    tg_tensor **params; /* the model's, with their names */
    char (*param_names)[PARAM_NAME_SIZE];
    int n_params;
} graph_writer;

/* A DOT string body: quotes and backslashes escaped, a newline as DOT's
 * "\n", other control characters as a space. */
static void write_escaped(FILE *out, const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else if (*c == '\n') fputs("\\n", out);
        else if (*c < 0x20 || *c == 0x7f) fputc(' ', out);
        else fputc(*c, out);
    }
}

static void write_shape_line(FILE *out, const tg_tensor *t) {
    char shape[160];
    fprintf(out, "\\n%s %s", tg_shape_string(shape, sizeof shape, t->rank, t->shape), tg_dtype_name(t->dtype));
}

static const char *param_name(const graph_writer *w, const tg_tensor *t) {
    for (int i = 0; i < w->n_params; i++)
        if (w->params[i] == t) return w->param_names[i];
    return NULL;
}

/* The leaf's index, declaring it (a DOT node statement) when first met. */
static tg_status leaf_id(graph_writer *w, const tg_tensor *t, bool is_output, size_t *id) {
    for (size_t i = 0; i < w->n_leaves; i++)
        if (w->leaves[i] == t) {
            *id = i;
            return TG_OK;
        }
    if (w->n_leaves == w->leaf_capacity) {
        size_t capacity = w->leaf_capacity ? 2 * w->leaf_capacity : 16;
        const tg_tensor **grown = realloc(w->leaves, capacity * sizeof *grown);
        if (!grown) return tg_error_report(TG_ERR_MEMORY, w->function, "cannot list %zu leaves", capacity);
        w->leaves = grown;
        w->leaf_capacity = capacity;
    }
    *id = w->n_leaves;
    w->leaves[w->n_leaves++] = t;
    const char *name = param_name(w, t);
    const char *kind, *style;
    if (!t->tape && t->requires_grad) {
        kind = name ? name : "parameter";
        style = "shape=ellipse, style=filled, fillcolor=\"#cfe2f3\"";
    } else if (!t->tape) {
        kind = "input";
        style = "shape=box, style=filled, fillcolor=\"#e6e6e6\"";
    } else {
        kind = "constant";
        style = "shape=box, style=dotted";
    }
    fprintf(w->out, "  leaf%zu [label=\"", *id);
    write_escaped(w->out, kind);
    write_shape_line(w->out, t);
    fprintf(w->out, "\", %s%s];\n", style, is_output ? ", peripheries=2" : "");
    return TG_OK;
}

static bool is_backward(const graph_writer *w, const tg_node *node) { return node->position > w->output_position; }

static void write_op(graph_writer *w, const tg_node *node, bool is_output) {
    fprintf(w->out, "  n%zu [label=\"", node->position);
    write_escaped(w->out, node->op->name ? node->op->name : "(unnamed op)");
    write_shape_line(w->out, node->output);
    fprintf(w->out, "\", shape=box, style=\"rounded,filled%s\", fillcolor=\"%s\"%s];\n",
            is_backward(w, node) ? ",dashed" : "", is_backward(w, node) ? "#f4cccc" : "#fff2cc",
            is_output ? ", peripheries=2" : "");
}

/* A tensor's node on the tape being drawn, or NULL for a leaf. */
static const tg_node *node_of(const graph_writer *w, const tg_tensor *t) {
    const tg_node *node = t->node;
    if (!node || node->position >= w->tape->n_nodes || w->tape->nodes[node->position] != node) return NULL;
    return node;
}

static tg_status write_edges(graph_writer *w, const tg_node *node) {
    for (int i = 0; i < node->n_inputs; i++) {
        const tg_tensor *input = node->inputs[i];
        const tg_node *source = node_of(w, input);
        const char *style = is_backward(w, node) ? " [style=dashed, color=\"#cc0000\"]" : "";
        if (source) {
            fprintf(w->out, "  n%zu -> n%zu%s;\n", source->position, node->position, style);
            continue;
        }
        size_t id;
        tg_status s = leaf_id(w, input, false, &id);
        if (s != TG_OK) return s;
        fprintf(w->out, "  leaf%zu -> n%zu%s;\n", id, node->position, style);
    }
    return TG_OK;
}

/* Marks `start` and every node it reads from (iterative depth-first walk). */
static void mark_ancestors(const graph_writer *w, const tg_node *start, bool *marked, const tg_node **stack) {
    if (marked[start->position]) return;
    size_t depth = 0;
    marked[start->position] = true;
    stack[depth++] = start;
    while (depth > 0) {
        const tg_node *node = stack[--depth];
        for (int i = 0; i < node->n_inputs; i++) {
            const tg_node *source = node_of(w, node->inputs[i]);
            if (source && !marked[source->position]) {
                marked[source->position] = true;
                stack[depth++] = source;
            }
        }
    }
}

static tg_status write_nodes(graph_writer *w, const tg_node *output_node, const bool *marked) {
    size_t n = w->tape->n_nodes;
    tg_status s = TG_OK;
    for (size_t p = 0; p <= w->output_position && s == TG_OK; p++)
        if (marked[p]) {
            write_op(w, w->tape->nodes[p], w->tape->nodes[p] == output_node);
            s = write_edges(w, w->tape->nodes[p]);
        }
    bool any_backward = false;
    for (size_t p = w->output_position + 1; p < n; p++) any_backward |= marked[p];
    if (!any_backward || s != TG_OK) return s;
    fputs("  subgraph cluster_backward {\n    label=\"backward\";\n    style=dashed;\n    color=\"#cc0000\";\n",
          w->out);
    for (size_t p = w->output_position + 1; p < n; p++)
        if (marked[p]) {
            fputs("  ", w->out);
            write_op(w, w->tape->nodes[p], false);
        }
    fputs("  }\n", w->out);
    for (size_t p = w->output_position + 1; p < n && s == TG_OK; p++)
        if (marked[p]) s = write_edges(w, w->tape->nodes[p]);
    return s;
}

static tg_status write_graph(graph_writer *w, tg_tensor *output, int flags) {
    fputs("digraph tapegrad {\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [arrowsize=0.7];\n", w->out);
    const tg_node *output_node = output->tape ? output->node : NULL;
    if (output_node) w->tape = output->tape;
    if (output_node && !node_of(w, output)) output_node = NULL;
    tg_status s = TG_OK;
    if (!output_node) {
        size_t id;
        s = leaf_id(w, output, true, &id);
    } else {
        size_t n = w->tape->n_nodes;
        w->output_position = output_node->position;
        bool *marked = calloc(n, sizeof *marked);
        const tg_node **stack = malloc(n * sizeof *stack);
        if (!marked || !stack) {
            s = tg_error_report(TG_ERR_MEMORY, w->function, "cannot mark %zu nodes", n);
        } else {
            mark_ancestors(w, output_node, marked, stack);
            if (flags & TG_GRAPH_BACKWARD)
                for (size_t p = w->output_position + 1; p < n; p++) mark_ancestors(w, w->tape->nodes[p], marked, stack);
            s = write_nodes(w, output_node, marked);
        }
        free(stack);
        free(marked);
    }
    fputs("}\n", w->out);
    return s;
}

static tg_status load_param_names(graph_writer *w, tg_model *model) {
    const char *function = w->function;
    int n = tg_model_num_params(model);
    if (n <= 0) return TG_OK;
    w->params = malloc((size_t)n * sizeof *w->params);
    w->param_names = malloc((size_t)n * sizeof *w->param_names);
    if (!w->params || !w->param_names)
        return tg_error_report(TG_ERR_MEMORY, function, "cannot list %d parameter names", n);
    for (int i = 0; i < n; i++) {
        w->params[i] = tg_model_param(model, i, w->param_names[i], PARAM_NAME_SIZE);
        if (!w->params[i]) return tg_last_error();
    }
    w->n_params = n;
    return TG_OK;
}

static tg_status write_dot(const char *function, FILE *out, tg_tensor *output, tg_model *model, bool model_given,
                           int flags) {
    if (!out) return tg_error_report(TG_ERR_ARGUMENT, function, "out (the FILE to write) is NULL");
    tg_status s = tg_tensor_check(function, "output", output);
    if (s != TG_OK) return s;
    if (flags & ~TG_GRAPH_BACKWARD)
        return tg_error_report(TG_ERR_ARGUMENT, function, "unknown flags 0x%x (known: TG_GRAPH_BACKWARD = 0x%x)",
                               (unsigned)flags, (unsigned)TG_GRAPH_BACKWARD);
    if (model_given && !model) return tg_error_report(TG_ERR_ARGUMENT, function, "model is NULL");
    graph_writer w = {.function = function, .out = out};
    if (model) s = load_param_names(&w, model);
    if (s == TG_OK) s = write_graph(&w, output, flags);
    free(w.leaves);
    free(w.params);
    free(w.param_names);
    if (s == TG_OK && (fflush(out) != 0 || ferror(out)))
        s = tg_error_report(TG_ERR_IO, function, "writing the graph failed");
    return s;
}

tg_status tg_graph_write_dot(FILE *out, tg_tensor *output, int flags) {
    return write_dot("tg_graph_write_dot", out, output, NULL, false, flags);
}

tg_status tg_graph_write_dot_model(FILE *out, tg_tensor *output, tg_model *model, int flags) {
    return write_dot("tg_graph_write_dot_model", out, output, model, true, flags);
}
