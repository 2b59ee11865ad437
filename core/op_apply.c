/* core/op_apply.c — running an op record and recording it on the tape. */
#include <stdio.h>
#include <string.h>

#include "core/anomaly.h"
#include "core/error_internal.h"
#include "core/tape_internal.h"
#include "core/tensor_internal.h"
#include "tapegrad/op.h"

const tg_op_attrs tgi_no_attrs;

/* Messages name the public function: built-in op "add" reports as "tg_add". */
static const char *function_name(const tg_op *op, char *buf, size_t size) {
    snprintf(buf, size, "tg_%s", op && op->name ? op->name : "op_apply");
    return buf;
}

/* Reports inputs that belong to two different tapes (the error path of the
 * tape choice in tg_op_apply). */
static void report_mixed_tapes(const tg_op *op, tg_tensor *const *inputs, int n_inputs) {
    tg_tape *tape = NULL;
    for (int i = 0; i < n_inputs; i++) {
        tg_tape *t = inputs[i]->tape;
        if (!t) continue;
        if (tape && t != tape) {
            char function[64];
            tg_error_report(TG_ERR_TAPE, function_name(op, function, sizeof function),
                            "inputs belong to different tapes (input 0's tape differs from input %d's)", i);
            return;
        }
        tape = t;
    }
}

/* Reports the first unusable input. Only reached on error: the fast path in
 * tg_op_apply formats no message. */
static void report_bad_input(const char *function, tg_tensor *const *inputs, int n_inputs) {
    for (int i = 0; i < n_inputs; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", i);
        if (tg_tensor_check(function, what, inputs[i]) != TG_OK) return;
    }
}

/* Reports the first integer input the op does not take. */
static void report_integer_input(const tg_op *op, tg_tensor *const *inputs, int n_inputs, uint64_t integer_inputs) {
    char function[64];
    for (int i = 0; i < n_inputs; i++) {
        if (!tg_dtype_is_integer(inputs[i]->dtype) || (integer_inputs >> i & 1)) continue;
        tg_error_report(TG_ERR_DTYPE, function_name(op, function, sizeof function),
                        "input %d is an %s tensor; this op computes on float32 or float64 only (convert with "
                        "tg_to_dtype)",
                        i, tg_dtype_name(inputs[i]->dtype));
        return;
    }
}

/* tg_op_apply and tg_op_apply_with_integers; inline into both, so that the
 * common call pays nothing for the integer mask but a constant. */
static inline tg_tensor *apply(const tg_op *op, tg_tensor *const *inputs, int n_inputs, const tg_op_attrs *attrs,
                               uint64_t integer_inputs, tg_dtype out_dtype, int out_rank, const int64_t *out_shape) {
    char function[64];
    if (!op || !op->forward) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_op_apply", "op is NULL or has no forward kernel");
        return NULL;
    }
    if (n_inputs < 0 || n_inputs > TG_MAX_INPUTS || (op->arity >= 0 && n_inputs != op->arity)) {
        tg_error_report(TG_ERR_ARGUMENT, function_name(op, function, sizeof function), "takes %d inputs, got %d",
                        op->arity, n_inputs);
        return NULL;
    }
    if (n_inputs > 0 && !inputs) {
        tg_error_report(TG_ERR_ARGUMENT, function_name(op, function, sizeof function), "inputs is NULL");
        return NULL;
    }
    /* One pass over the inputs: usable (non-NULL, not stale), which tape
     * they share (the output's: that of its tape inputs, or this thread's
     * current tape when all are persistent), and whether one needs a gradient. */
    bool wants_grad = false, mixed_tapes = false, integer_refused = false;
    tg_tape *tape = NULL;
    for (int i = 0; i < n_inputs; i++) {
        const tg_tensor *t = inputs[i];
        if (!t || (t->tape && t->generation != t->tape->generation)) {
            report_bad_input(function_name(op, function, sizeof function), inputs, n_inputs);
            return NULL;
        }
        wants_grad |= t->requires_grad;
        integer_refused |= tg_dtype_is_integer(t->dtype) && !(integer_inputs >> i & 1);
        if (t->tape) {
            mixed_tapes |= tape && t->tape != tape;
            tape = t->tape;
        }
    }
    if (mixed_tapes) {
        report_mixed_tapes(op, inputs, n_inputs);
        return NULL;
    }
    if (integer_refused) {
        report_integer_input(op, inputs, n_inputs, integer_inputs);
        return NULL;
    }
    if (!tape && !(tape = tg_tape_current())) return NULL;
    /* A bad output shape is a user op's mistake: the message names the op. */
    int64_t numel = tg_quick_numel(out_dtype, out_rank, out_shape);
    if (numel < 0 && tg_shape_validate(function_name(op, function, sizeof function), out_rank, out_shape, out_dtype,
                                       &numel) != TG_OK)
        return NULL;
    tg_tensor *out = tg_tape_new_tensor_counted(tape, out_dtype, out_rank, out_shape, numel);
    if (!out) {
        tgi_tape_report_no_memory(function_name(op, function, sizeof function), out_rank, out_shape);
        return NULL;
    }

    /* The node: on the tape when the op is recorded, else on the stack for
     * the forward kernel only (its inputs list is then the caller's). */
    bool record = wants_grad && op->backward && !tgi_grad_disabled && !tg_dtype_is_integer(out_dtype);
    tg_node local;
    tg_node *node = &local;
    if (record) {
        /* The node, its recorded versions (tg_node_versions), its inputs. */
        size_t n_versions = (size_t)n_inputs + 1;
        node = tg_tape_alloc(tape, sizeof *node + n_versions * sizeof(uint64_t) + (size_t)n_inputs * sizeof(tg_tensor *));
        if (!node) {
            tg_error_report(TG_ERR_MEMORY, function_name(op, function, sizeof function), "cannot allocate a tape node");
            return NULL;
        }
        node->inputs = (tg_tensor **)(tg_node_versions(node) + n_versions);
        for (int i = 0; i < n_inputs; i++) node->inputs[i] = inputs[i];
    } else {
        node->inputs = (tg_tensor **)inputs; /* read only, during forward */
    }
    node->op = op;
    node->n_inputs = n_inputs;
    node->output = out;
    node->position = 0;
    node->attrs = attrs ? *attrs : tgi_no_attrs;

    unsigned reports_before = tgi_error_reports;
    if (out->numel > 0) op->forward(node);
    if (tgi_error_reports != reports_before) return NULL; /* the kernel reported: nothing recorded */
    /* Anomaly mode: checked before the node is appended, so a failed op
     * leaves nothing on the tape. While off this is the op's only cost. */
    if (tgi_anomaly_on &&
        tgi_anomaly_check_forward(function_name(op, function, sizeof function), node, tape, record) != TG_OK)
        return NULL;

    if (record) {
        /* Versions are taken after forward: a user kernel that called
         * tg_data_f32 on its own tensors changed nothing backward must see. */
        uint64_t *versions = tg_node_versions(node);
        for (int i = 0; i < n_inputs; i++) versions[i] = tg_tensor_version(inputs[i]);
        versions[n_inputs] = out->version; /* a new tensor: never a view */
        if (tg_tape_append(tape, node) != TG_OK) return NULL;
        out->node = node;
        out->requires_grad = true;
    }
    return out;
}

tg_tensor *tg_op_apply(const tg_op *op, tg_tensor *const *inputs, int n_inputs, const tg_op_attrs *attrs,
                       tg_dtype out_dtype, int out_rank, const int64_t *out_shape) {
    return apply(op, inputs, n_inputs, attrs, 0, out_dtype, out_rank, out_shape);
}

tg_tensor *tg_op_apply_with_integers(const tg_op *op, tg_tensor *const *inputs, int n_inputs,
                                     const tg_op_attrs *attrs, uint64_t integer_inputs, tg_dtype out_dtype,
                                     int out_rank, const int64_t *out_shape) {
    return apply(op, inputs, n_inputs, attrs, integer_inputs, out_dtype, out_rank, out_shape);
}
