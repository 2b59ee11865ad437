/* core/anomaly.h — anomaly mode's checks, for tg_op_apply and the backward
 * walk (internal). The public switch is tg_set_anomaly_detection (tape.h). */
#ifndef TG_CORE_ANOMALY_H
#define TG_CORE_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/tape_internal.h"

/* This thread's anomaly mode. Read directly (not through the public getter)
 * so that while it is off an op costs one thread-local load and one branch. */
extern _Thread_local bool tgi_anomaly_on TG_FAST_TLS;

/* After an op's forward: TG_OK when node->output holds no NaN or Inf, else
 * TG_ERR_NUMERIC reported under `function` (the op's public name), naming the
 * first offending index and value, the inputs' dtypes and shapes, whether an
 * input already held a non-finite value, and the node's place on `tape`
 * (`recorded`: whether it is about to be appended there). */
tg_status tgi_anomaly_check_forward(const char *function, const tg_node *node, const tg_tape *tape, bool recorded);

/* Runs node's backward rule, then checks the gradients it wrote for inputs
 * that require one. The rule's own ops are not checked one by one (the mode
 * is off while it runs): the report is about the rule as a whole, so it
 * names the op whose backward produced the NaN or Inf ("backward of op 'log'
 * (tape node 12 of 40) produced inf ..."), not the div inside it. `n_nodes`
 * is the size of the tape when the walk began. TG_ERR_NUMERIC under
 * `function` (tg_backward / tg_gradients) if a gradient is not finite. */
tg_status tgi_anomaly_run_backward(const char *function, const tg_node *node, size_t n_nodes, tg_tensor *grad_output,
                                  tg_tensor **grad_inputs);

/* Around the in-place `leaf->grad += g` of tg_backward, which no op does and
 * so no forward check sees: with `summed` false (before), TG_ERR_NUMERIC if
 * the gradient already holds a NaN or Inf (left by an earlier backward with
 * the mode off); with `summed` true (after), if the sum is not finite
 * (finite terms that overflowed). Names the leaf's dtype and shape. */
tg_status tgi_anomaly_check_leaf_grad(const char *function, const tg_tensor *leaf, bool summed);

/* TG_ERR_NUMERIC under `function` if the caller's seed gradient holds a NaN
 * or Inf (it would poison every gradient without any rule being at fault). */
tg_status tgi_anomaly_check_seed(const char *function, const tg_tensor *seed);

#endif
