/* tests/tools/test_graph_dot.c — tg_graph_write_dot: the exact text of a
 * small graph (written by hand from graph.h's rules), model names, escaped
 * op names, the backward part, determinism, and Graphviz accepting the
 * output (`dot -Tsvg`, skipped visibly when dot is not installed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* The DOT text of writing `output` (caller frees). */
static char *dot_text(tg_tensor *output, tg_model *model, int flags) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    tg_status s = model ? tg_graph_write_dot_model(out, output, model, flags) : tg_graph_write_dot(out, output, flags);
    cr_assert_eq(s, TG_OK, "%s", tg_last_error_message());
    fclose(out);
    return text;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle)) n++;
    return n;
}

Test(graph_dot, a_small_graph_has_the_documented_text, .fini = reset_tape) {
    tg_tensor *w = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){1, 2});
    tg_tensor *x = tg_from_doubles(TG_F32, 2, (int64_t[]){3, 2}, (double[]){1, 2, 3, 4, 5, 6});
    tg_set_requires_grad(w, true);
    /* y = sum(w * float64(x)): the conversion records no node (x needs no
     * gradient), so it is a constant leaf; the tape holds mul (0), sum (1). */
    tg_tensor *x64 = tg_to_dtype(x, TG_F64);
    tg_tensor *y = tg_sum(tg_mul(w, x64));
    char *text = dot_text(y, NULL, TG_GRAPH_DEFAULT);
    const char *want =
        "digraph tapegrad {\n"
        "  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [arrowsize=0.7];\n"
        "  n0 [label=\"mul\\n(3,2) float64\", shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\"];\n"
        "  leaf0 [label=\"parameter\\n(2) float64\", shape=ellipse, style=filled, fillcolor=\"#cfe2f3\"];\n"
        "  leaf0 -> n0;\n"
        "  leaf1 [label=\"constant\\n(3,2) float64\", shape=box, style=dotted];\n"
        "  leaf1 -> n0;\n"
        "  n1 [label=\"sum\\n() float64\", shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\", "
        "peripheries=2];\n"
        "  n0 -> n1;\n"
        "}\n";
    cr_assert_str_eq(text, want);
    free(text);
    tg_free(x);
    tg_free(w);
}

/* An MLP's graph: every recorded node once, parameters by their model
 * names, the batch as an input; the same text twice. */
Test(graph_dot, a_model_graph_names_parameters_and_is_deterministic, .fini = reset_tape) {
    tg_rng rng = tg_rng_seeded(3);
    tg_model *model = tg_mlp_new(&rng, TG_F64, 3, (int64_t[]){2, 4, 1}, TG_ACT_RELU, TG_ACT_SIGMOID);
    tg_tensor *x = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){5, 2}, 0, 1);
    tg_tensor *loss = tg_mean(tg_model_forward(model, x));
    char *text = dot_text(loss, model, TG_GRAPH_DEFAULT);
    char *again = dot_text(loss, model, TG_GRAPH_DEFAULT);
    cr_assert_str_eq(text, again);
    cr_assert_eq(count(text, "fillcolor=\"#fff2cc\""), (int)tg_tape_num_nodes(tg_tape_current()), "%s", text);
    const char *names[] = {"\"0.weight\\n(2,4) float64", "\"0.bias\\n(4) float64", "\"2.weight\\n(4,1) float64",
                           "\"2.bias\\n(1) float64", "\"input\\n(5,2) float64"};
    for (int i = 0; i < 5; i++) cr_assert_eq(count(text, names[i]), 1, "%s missing in:\n%s", names[i], text);
    cr_assert_eq(count(text, "peripheries=2"), 1);
    cr_assert_eq(count(text, "cluster_backward"), 0);
    free(again);
    free(text);
    tg_free(x);
    tg_model_free(model);
}

/* With TG_GRAPH_BACKWARD the nodes create_graph recorded form a cluster. */
Test(graph_dot, the_backward_part_is_drawn_on_request, .fini = reset_tape) {
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, (double[]){0.1, -0.5, 2});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_sum(tg_tanh(x));
    size_t forward_nodes = tg_tape_num_nodes(tg_tape_current());
    tg_tensor *g;
    cr_assert_eq(tg_gradients(y, NULL, 1, &x, &g, true), TG_OK);
    size_t backward_nodes = tg_tape_num_nodes(tg_tape_current()) - forward_nodes;
    cr_assert_gt(backward_nodes, 0);
    char *plain = dot_text(y, NULL, TG_GRAPH_DEFAULT);
    char *with = dot_text(y, NULL, TG_GRAPH_BACKWARD);
    cr_assert_eq(count(plain, "fillcolor=\"#f4cccc\""), 0);
    cr_assert_eq(count(with, "subgraph cluster_backward"), 1);
    cr_assert_eq(count(with, "fillcolor=\"#f4cccc\""), (int)backward_nodes, "%s", with);
    cr_assert_eq(count(with, "fillcolor=\"#fff2cc\""), (int)forward_nodes);
    free(plain);
    free(with);
    tg_free(x);
}

/* A user op whose name holds quotes, a backslash and a newline. */
static void copy_forward(const tg_node *node) {
    memcpy(node->output->data, node->inputs[0]->data, (size_t)node->output->numel * sizeof(double));
}
static void copy_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    (void)node;
    grad_inputs[0] = g;
}
static const tg_op odd_name_op = {"say \"hi\"\\\nbye", 1, copy_forward, copy_backward};

Test(graph_dot, names_are_escaped, .fini = reset_tape) {
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){1, 2});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_op_apply(&odd_name_op, &x, 1, NULL, TG_F64, 1, x->shape);
    char *text = dot_text(y, NULL, TG_GRAPH_DEFAULT);
    cr_assert_eq(count(text, "label=\"say \\\"hi\\\"\\\\\\nbye\\n(2) float64\""), 1, "%s", text);
    free(text);
    tg_free(x);
}

static bool have_dot(void) { return system("command -v dot >/dev/null 2>&1") == 0; }

/* Graphviz reads what we write: the MLP's graph with its backward part. */
Test(graph_dot, graphviz_renders_the_output, .fini = reset_tape) {
    if (!have_dot()) cr_skip_test("graphviz's dot is not installed: the DOT text was not rendered");
    tg_rng rng = tg_rng_seeded(4);
    tg_model *model = tg_mlp_new(&rng, TG_F32, 3, (int64_t[]){2, 3, 1}, TG_ACT_TANH, TG_ACT_SIGMOID);
    tg_tensor *x = tg_rand_normal(&rng, TG_F32, 2, (int64_t[]){4, 2}, 0, 1);
    tg_tensor *params[4];
    int n = tg_model_params(model, params, 4);
    tg_tensor *loss = tg_mean(tg_model_forward(model, x));
    tg_tensor *grads[4];
    cr_assert_eq(tg_gradients(loss, NULL, n, params, grads, true), TG_OK);
    char path[] = "/tmp/tapegrad_graph_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *out = fdopen(fd, "w");
    cr_assert_eq(tg_graph_write_dot_model(out, loss, model, TG_GRAPH_BACKWARD), TG_OK);
    fclose(out);
    char command[128];
    snprintf(command, sizeof command, "dot -Tsvg %s -o /dev/null", path);
    int status = system(command);
    remove(path);
    cr_assert_eq(status, 0, "dot refused the graph (%s)", command);
    tg_free(x);
    tg_model_free(model);
}
