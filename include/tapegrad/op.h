/* tapegrad/op.h — op records: how an op is defined, built-in or user-defined.
 *
 * An op is one record: a name, its arity, a forward kernel and a backward
 * (vector-Jacobian) rule. The public function of an op (tg_add, tg_relu, ...)
 * checks its arguments, infers the output shape and calls tg_op_apply(),
 * which allocates the output on the right tape, runs `forward`, and — if some
 * input requires a gradient and grad mode is on — records a node.
 *
 * Backward rules are written with the library's own ops (tg_mul, tg_sum_to,
 * ...), the way PyTorch's derivatives.yaml is, never with private loops. That
 * keeps one definition of every derivative and lets the backward pass itself
 * be recorded later (gradients of gradients).
 *
 * A user-defined op is exactly the same: fill a tg_op and call tg_op_apply.
 * See examples/custom_activation.c. Its forward kernel can run on the
 * library's matrix product and thread pool (kernels.h, threads.h), as in
 * examples/custom_op.c.
 */
#ifndef TAPEGRAD_OP_H
#define TAPEGRAD_OP_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_MAX_INPUTS 64 /* concat's limit; every other op has 1 to 3 */

/* Small per-call parameters of an op (exponent, axes, slice bounds, flags).
 * Each op documents which fields it uses; the rest stay zero. Every recorded
 * node carries a copy, so the struct is kept small (96 bytes): a permutation
 * takes the most ints, one per axis. */
typedef struct tg_op_attrs {
    double scalar[2];          /* e.g. pow's exponent, clamp's lo/hi     */
    int64_t ints[TG_MAX_RANK]; /* e.g. permutation, slice axis/start/stop */
    int n_ints;
    uint32_t axes_mask; /* bit i set: axis i is reduced               */
    int flags;          /* e.g. keepdim, matmul's transpose bits      */
} tg_op_attrs;

typedef struct tg_node {
    const struct tg_op *op;
    tg_tensor **inputs; /* n_inputs tensors, owned by the caller/tape  */
    int n_inputs;
    tg_tensor *output;
    tg_op_attrs attrs;
    size_t position;    /* index on its tape, in execution order        */
} tg_node;

/* Computes node->output->data from node->inputs. The output is allocated,
 * contiguous, with the shape and dtype the op function chose. A kernel that
 * cannot compute it reports through tg_error_report (also from pieces it runs
 * with tg_parallel_range / tg_parallel_items, on any thread); tg_op_apply
 * then returns NULL and records nothing. */
typedef void (*tg_forward_fn)(const tg_node *node);

/* Writes into grad_inputs[i] the gradient of the loss with respect to input i,
 * given grad_output (same shape as the output), for every i with
 * node->inputs[i]->requires_grad; entries left NULL mean "no gradient". The
 * returned tensors must have exactly the input's shape and dtype. Build them
 * with tapegrad ops only. NULL backward: the op is not differentiable (its
 * inputs get no gradient through it, like a comparison). */
typedef void (*tg_backward_fn)(const tg_node *node, tg_tensor *grad_output,
                               tg_tensor **grad_inputs);

typedef struct tg_op {
    const char *name;  /* "add", "matmul", ... used in messages and prints */
    int arity;         /* number of inputs; -1 for variadic (concat)       */
    tg_forward_fn forward;
    tg_backward_fn backward;
} tg_op;

/* Runs `op` on `inputs` with output dtype/shape given by the caller and
 * returns the output (owned by a tape; see tape.h). `attrs` may be NULL.
 * Errors: NULL input, stale tensor, inputs from two different tapes, an
 * integer input (TG_ERR_DTYPE naming the op and the dtype: a kernel written
 * for floats never reads integers), and any error the forward kernel
 * reports (returns NULL). An op whose output has an integer dtype is never
 * recorded: no gradient flows through it. */
tg_tensor *tg_op_apply(const tg_op *op, tg_tensor *const *inputs, int n_inputs,
                       const tg_op_attrs *attrs, tg_dtype out_dtype, int out_rank,
                       const int64_t *out_shape);
/* tg_op_apply for an op that takes integer tensors (indices, labels): bit i
 * of `integer_inputs` set lets input i be TG_I64 or TG_I32 (it may also be
 * a float tensor: the op's function checks what it needs); an integer
 * tensor at any other input is refused as by tg_op_apply. */
tg_tensor *tg_op_apply_with_integers(const tg_op *op, tg_tensor *const *inputs, int n_inputs,
                                     const tg_op_attrs *attrs, uint64_t integer_inputs, tg_dtype out_dtype,
                                     int out_rank, const int64_t *out_shape);

/* The built-in op records, for introspection and tests: the number of ops and
 * the i-th record (NULL, reported as TG_ERR_ARGUMENT, outside [0, count)). */
int tg_builtin_op_count(void);
const tg_op *tg_builtin_op(int index);
/* The record with this name, or NULL (not an error; a NULL name is one). */
const tg_op *tg_find_op(const char *name);

#ifdef __cplusplus
}
#endif
#endif
