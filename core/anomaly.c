/* core/anomaly.c — anomaly mode: find the first op whose forward, or whose
 * backward rule, turns finite numbers into NaN or Inf, and say which one
 * (like torch.autograd.detect_anomaly). Off by default; tg_op_apply and the
 * backward walk test the flag once per op and call in here only when it is
 * on. */
#include <math.h>
#include <stdio.h>

#include "core/anomaly.h"
#include "core/tensor_internal.h"

_Thread_local bool tgi_anomaly_on TG_FAST_TLS;

bool tg_set_anomaly_detection(bool enabled) {
    bool previous = tgi_anomaly_on;
    tgi_anomaly_on = enabled;
    return previous;
}

bool tg_is_anomaly_detection_enabled(void) { return tgi_anomaly_on; }

/* The flat index of the first NaN or Inf in t, or -1. A plain loop: it runs
 * only in anomaly mode, where one extra pass over each result is the price
 * of the mode, and stops at the first hit. */
static int64_t first_non_finite(const tg_tensor *t) {
    if (tg_dtype_is_integer(t->dtype)) return -1; /* indices are always finite */
    if (t->dtype == TG_F32) {
        const float *p = t->data;
        for (int64_t i = 0; i < t->numel; i++)
            if (!isfinite(p[i])) return i;
    } else {
        const double *p = t->data;
        for (int64_t i = 0; i < t->numel; i++)
            if (!isfinite(p[i])) return i;
    }
    return -1;
}

/* A value as %g writes it, but NaN always as "nan": glibc prints the sign
 * bit, and log(-1) is a "-nan" on x86 that means nothing more. */
static const char *number(char *buf, size_t size, double v) {
    if (isnan(v))
        snprintf(buf, size, "nan");
    else
        snprintf(buf, size, "%g", v);
    return buf;
}

/* "float32 (2,3)" */
static const char *describe(char *buf, size_t size, const tg_tensor *t) {
    char shape[160];
    snprintf(buf, size, "%s %s", tg_dtype_name(t->dtype), tg_shape_string(shape, sizeof shape, t->rank, t->shape));
    return buf;
}

/* "all finite", or which input already held a non-finite value: that tells
 * the op that made a NaN from the ops that only passed one along. */
static const char *describe_inputs_finiteness(char *buf, size_t size, const tg_node *node) {
    for (int i = 0; i < node->n_inputs; i++) {
        int64_t bad = first_non_finite(node->inputs[i]);
        if (bad >= 0) {
            char value[32];
            snprintf(buf, size, "input %d already held %s at index %lld", i,
                     number(value, sizeof value, tg_load(node->inputs[i], bad)), (long long)bad);
            return buf;
        }
    }
    snprintf(buf, size, "%s", node->n_inputs == 1 ? "the input was finite" : "the inputs were all finite");
    return buf;
}

/* The inputs' dtypes and shapes, "float32 (2,3), float32 (3)"; concat's long
 * lists are cut after four. */
static const char *describe_inputs(char *buf, size_t size, const tg_node *node) {
    const int shown = node->n_inputs < 4 ? node->n_inputs : 4;
    size_t used = 0;
    buf[0] = '\0';
    if (node->n_inputs == 0) snprintf(buf, size, "none");
    for (int i = 0; i < shown && used < size; i++) {
        char one[192];
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", describe(one, sizeof one, node->inputs[i]));
        used += n > 0 ? (size_t)n : 0;
    }
    if (shown < node->n_inputs && used < size)
        snprintf(buf + used, size - used, ", ... (%d in all)", node->n_inputs);
    return buf;
}

tg_status tgi_anomaly_check_forward(const char *function, const tg_node *node, const tg_tape *tape, bool recorded) {
    const tg_tensor *out = node->output;
    int64_t bad = first_non_finite(out);
    if (bad < 0) return TG_OK;
    char output[192], value[32], inputs[480], finiteness[160], place[160];
    /* A node about to be recorded takes position n_nodes (positions count
     * from 0 in execution order, as tg_node.position does). */
    if (recorded)
        snprintf(place, sizeof place, "tape position %zu (after %zu recorded nodes)", tape->n_nodes, tape->n_nodes);
    else
        snprintf(place, sizeof place,
                 "not recorded (no input requires a gradient, or grad mode is off; %zu nodes on the tape)",
                 tape->n_nodes);
    return tg_error_report(TG_ERR_NUMERIC, function,
                           "anomaly mode: the output %s holds %s at index %lld; inputs %s; %s; %s",
                           describe(output, sizeof output, out), number(value, sizeof value, tg_load(out, bad)),
                           (long long)bad,
                           describe_inputs(inputs, sizeof inputs, node),
                           describe_inputs_finiteness(finiteness, sizeof finiteness, node), place);
}

tg_status tgi_anomaly_run_backward(const char *function, const tg_node *node, size_t n_nodes, tg_tensor *grad_output,
                                  tg_tensor **grad_inputs) {
    tgi_anomaly_on = false;
    node->op->backward(node, grad_output, grad_inputs);
    tgi_anomaly_on = true;
    for (int j = 0; j < node->n_inputs; j++) {
        const tg_tensor *input = node->inputs[j], *grad = grad_inputs[j];
        if (!input->requires_grad || !grad) continue; /* the walk ignores these */
        int64_t bad = first_non_finite(grad);
        if (bad < 0) continue;
        char what[192], value[32], input_value[32], where[96] = "";
        /* The input's value at the same index, when the shapes agree (a
         * mismatch is the walk's error to report): log's 1/x at x = 0. */
        if (grad->numel == input->numel)
            snprintf(where, sizeof where, ", where input %d is %s", j,
                     number(input_value, sizeof input_value, tg_load(input, bad)));
        return tg_error_report(TG_ERR_NUMERIC, function,
                               "anomaly mode: backward of op '%s' (tape node %zu of %zu) produced %s in the gradient "
                               "of input %d, %s, at index %lld%s",
                               node->op->name, node->position, n_nodes,
                               number(value, sizeof value, tg_load(grad, bad)), j, describe(what, sizeof what, grad),
                               (long long)bad, where);
    }
    return TG_OK;
}

tg_status tgi_anomaly_check_leaf_grad(const char *function, const tg_tensor *leaf, bool summed) {
    int64_t bad = first_non_finite(leaf->grad);
    if (bad < 0) return TG_OK;
    char what[192], value[32];
    return tg_error_report(TG_ERR_NUMERIC, function, "anomaly mode: the gradient of a %s leaf %s %s at index %lld%s",
                           describe(what, sizeof what, leaf), summed ? "became" : "already held",
                           number(value, sizeof value, tg_load(leaf->grad, bad)), (long long)bad,
                           summed ? " when this backward's finite gradient was added (the sum overflowed)"
                                  : " before this backward (left by an earlier one; tg_zero_grad clears it)");
}

tg_status tgi_anomaly_check_seed(const char *function, const tg_tensor *seed) {
    int64_t bad = first_non_finite(seed);
    if (bad < 0) return TG_OK;
    char value[32];
    return tg_error_report(TG_ERR_NUMERIC, function, "anomaly mode: the seed gradient holds %s at index %lld",
                           number(value, sizeof value, tg_load(seed, bad)), (long long)bad);
}
