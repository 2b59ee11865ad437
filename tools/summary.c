/* tools/summary.c — tg_model_summary: a table of a model's layers, output
 * shapes, parameter counts and memory, from one forward run on a private tape. */
#include <stdio.h>
#include <string.h>

#include "tapegrad/error.h"
#include "tapegrad/summary.h"
#include "tapegrad/tape.h"

typedef struct model_totals {
    int64_t trainable, frozen, buffer_elements;
    size_t bytes;
} model_totals;

static model_totals count_model(const tg_module *model) {
    model_totals t = {0, 0, 0, 0};
    for (int i = 0; i < tg_module_num_params(model); i++) {
        const tg_tensor *p = tg_module_param_at(model, i, NULL, 0);
        if (p->requires_grad)
            t.trainable += p->numel;
        else
            t.frozen += p->numel;
        t.bytes += (size_t)p->numel * tg_dtype_size(p->dtype);
    }
    for (int i = 0; i < tg_module_num_buffers(model); i++) {
        const tg_tensor *b = tg_module_buffer_at(model, i, NULL, 0);
        t.buffer_elements += b->numel;
        t.bytes += (size_t)b->numel * tg_dtype_size(b->dtype);
    }
    return t;
}

static void print_row(FILE *out, const char *name, const char *kind, const tg_tensor *y, int64_t params,
                      size_t bytes) {
    char shape[96];
    tg_shape_string(shape, sizeof shape, y->rank, y->shape);
    fprintf(out, "%-14s %-16s %-20s %12lld %14zu\n", name, kind, shape, (long long)params, bytes);
}

/* Runs the rows of the table on the current tape; returns the status. */
static tg_status run_rows(FILE *out, tg_module *model, tg_tensor *x) {
    tg_tape *tape = tg_tape_current();
    bool sequential = strcmp(tg_module_kind(model), "sequential") == 0 && tg_module_num_children(model) > 0;
    int rows = sequential ? tg_module_num_children(model) : 1;
    for (int i = 0; i < rows; i++) {
        const char *name = "(model)";
        tg_module *layer = sequential ? tg_module_child_at(model, i, &name) : model;
        size_t before = tg_tape_get_stats(tape).bytes_in_use;
        tg_error_nested_begin();
        tg_tensor *y = tg_module_forward(layer, x);
        tg_error_nested_end();
        if (!y) {
            char context[160];
            snprintf(context, sizeof context, "layer '%s' (%s)", name, tg_module_kind(layer));
            return tg_error_take_over("tg_model_summary", context);
        }
        print_row(out, name, tg_module_kind(layer), y, tg_module_param_count(layer),
                  tg_tape_get_stats(tape).bytes_in_use - before);
        x = y;
    }
    return TG_OK;
}

tg_status tg_model_summary(FILE *out, tg_module *model, tg_tensor *example_input) {
    const char *function = "tg_model_summary";
    if (!out || !model)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", out ? "model" : "out");
    if (tg_tensor_check(function, "example_input", example_input) != TG_OK) return tg_last_error();
    tg_tape *tape = tg_tape_new();
    if (!tape) return tg_error_take_over(function, "");
    tg_tape *previous = tg_tape_use(tape);
    bool grad = tg_set_grad_enabled(true);
    bool training = tg_module_is_training(model);
    tg_module_set_training(model, false);
    fprintf(out, "%-14s %-16s %-20s %12s %14s\n", "layer", "kind", "output shape", "params", "forward bytes");
    tg_status status = run_rows(out, model, example_input);
    size_t peak = tg_tape_get_stats(tape).peak_bytes;
    tg_module_set_training(model, training);
    tg_set_grad_enabled(grad);
    tg_tape_use(previous);
    tg_tape_free(tape);
    if (status != TG_OK) return status;
    model_totals t = count_model(model);
    fprintf(out, "parameters: %lld (trainable %lld, not trainable %lld); buffers: %lld elements\n",
            (long long)(t.trainable + t.frozen), (long long)t.trainable, (long long)t.frozen,
            (long long)t.buffer_elements);
    fprintf(out, "memory: parameters and buffers %zu bytes; one forward's tape (peak) %zu bytes\n", t.bytes, peak);
    return TG_OK;
}
