/* tests/tools/test_summary.c — tg_model_summary: rows, counts and memory
 * against values worked out by hand for small models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

/* The summary of `model` on `x` as a string (caller frees), and its status. */
static char *summary_text(tg_module *model, tg_tensor *x, tg_status *status) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    *status = tg_model_summary(out, model, x);
    fclose(out);
    return text;
}

/* 4-3-2 MLP with a ReLU: dense (4*3 + 3 = 15), relu (0), dense (3*2 + 2 = 8). */
Test(summary, an_mlp_has_a_row_per_layer_with_shapes_and_counts) {
    tg_rng rng = tg_rng_seeded(1);
    tg_model *mlp = tg_mlp_new(&rng, TG_F64, 3, (int64_t[]){4, 3, 2}, TG_ACT_RELU, -1);
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){5, 4});
    tg_tape_stats before = tg_tape_get_stats(tg_tape_current());
    tg_status status;
    char *text = summary_text(mlp, x, &status);
    cr_assert_eq(status, TG_OK, "%s", tg_last_error_message());
    char row[128];
    int64_t params;
    const char *line = strchr(text, '\n') + 1;
    const char *want_kind[3] = {"dense", "relu", "dense"}, *want_shape[3] = {"(5,3)", "(5,3)", "(5,2)"};
    const int64_t want_params[3] = {15, 0, 8};
    for (int i = 0; i < 3; i++) {
        char name[32], kind[32], shape[32];
        cr_assert_eq(sscanf(line, "%31s %31s %31s %lld", name, kind, shape, (long long *)&params), 4, "%s", line);
        snprintf(row, sizeof row, "%d", i);
        cr_assert_str_eq(name, row);
        cr_assert_str_eq(kind, want_kind[i]);
        cr_assert_str_eq(shape, want_shape[i]);
        cr_assert_eq(params, want_params[i]);
        line = strchr(line, '\n') + 1;
    }
    cr_assert(strstr(text, "parameters: 23 (trainable 23, not trainable 0); buffers: 0 elements"), "%s", text);
    cr_assert(strstr(text, "parameters and buffers 184 bytes"), "%s", text); /* 23 doubles */
    /* The caller's tape is untouched. */
    cr_assert_eq(tg_tape_get_stats(tg_tape_current()).nodes, before.nodes);
    free(text);
    tg_free(x);
    tg_model_free(mlp);
}

/* Batch norm's running statistics are buffers; a parameter without
 * requires_grad counts as not trainable. */
Test(summary, buffers_and_frozen_parameters_are_counted_apart) {
    tg_model *model = tg_model_new();
    tg_model_add(model, tg_batch_norm2d_layer_new(TG_F32, 3, 1e-5, 0.1));
    tg_tensor *x = tg_ones(TG_F32, 4, (int64_t[]){2, 3, 2, 2});
    tg_set_requires_grad(tg_module_param(model, "0.bias"), false);
    tg_status status;
    char *text = summary_text(model, x, &status);
    cr_assert_eq(status, TG_OK, "%s", tg_last_error_message());
    /* weight 3 trainable, bias 3 frozen; running_mean 3, running_var 3, num_batches_tracked 1. */
    cr_assert(strstr(text, "parameters: 6 (trainable 3, not trainable 3); buffers: 7 elements"), "%s", text);
    free(text);
    tg_free(x);
    tg_model_free(model);
}

Test(summary, a_failing_layer_is_named_and_the_tape_restored) {
    tg_rng rng = tg_rng_seeded(1);
    tg_model *mlp = tg_mlp_new(&rng, TG_F64, 3, (int64_t[]){4, 3, 2}, TG_ACT_RELU, -1);
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){5, 7}); /* 7 inputs, not 4 */
    tg_tape *current = tg_tape_current();
    tg_error_mode mode = tg_set_error_mode(TG_ERRORS_RETURN);
    tg_status status;
    char *text = summary_text(mlp, x, &status);
    tg_set_error_mode(mode);
    cr_assert_eq(status, TG_ERR_SHAPE);
    cr_assert(strstr(tg_last_error_message(), "tg_model_summary") && strstr(tg_last_error_message(), "layer '0'"),
              "%s", tg_last_error_message());
    cr_assert_eq(tg_tape_current(), current);
    tg_clear_error();
    free(text);
    tg_free(x);
    tg_model_free(mlp);
}
