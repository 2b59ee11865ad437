/* tapegrad/tape.h — the tape (Wengert list), reverse-mode backward, and the
 * per-thread modes (grad mode, anomaly mode).
 *
 * Every op whose inputs require gradients appends one node to a tape, in
 * execution order. tg_backward() walks the tape in reverse and calls each
 * node's vector-Jacobian rule (see op.h); gradients add up when a tensor is
 * used more than once. The walk is a loop, never recursion, so graphs of
 * millions of nodes are fine.
 *
 * The tape is also an arena: it owns every tensor an op returns (and their
 * data and gradients). tg_tape_reset() releases them all at once, keeping the
 * memory for reuse, and leaves persistent tensors (parameters) and their
 * gradients untouched. A training loop resets the tape once per step and runs
 * in constant memory.
 *
 * Which tape an op writes to: the tape of its inputs (all tape inputs of one
 * op must share one tape, else TG_ERR_TAPE), or, when every input is
 * persistent, this thread's current tape (tg_tape_use). Each thread starts with
 * its own default tape, so single-threaded code never has to mention tapes.
 *
 * In-place changes. Every tensor counts the changes made to its values in
 * place in `version` (64 bits: it never wraps), as PyTorch's version
 * counters do: tg_set, tg_set_flat, tg_copy_into, tg_data_f32/f64 (counted
 * when called, since the caller may write through the pointer), an
 * optimizer step (each parameter it updates), gradient clipping and
 * tg_zero_grad (the gradient), loading a checkpoint into a tensor
 * (tg_checkpoint_load_into / read_into, tg_model_load), filling a batch
 * (tg_dataset_fill_*, tg_batches_next), and backward's own sums into a
 * leaf's .grad. A tg_detach view shares its base's counter. A recorded node
 * keeps the versions of its inputs and its output; tg_backward and
 * tg_gradients compare them before running the node's rule and refuse a
 * changed one (TG_ERR_TAPE: "tg_backward: input 0 (float64 ()) of mul (tape
 * node 0) was modified in place after it was recorded (version 0 -> 1)"),
 * which would otherwise give a gradient computed with the new values. Every
 * input is checked, also where the rule does not read its values (add):
 * stricter than PyTorch, never a wrong gradient. Counted are changes, not
 * values: writing the old value back is still a change. Not seen: writes
 * through a data pointer obtained before the op recorded the tensor, and
 * direct writes through t->data. The walk stops at the refused node, so the
 * nodes after it in tape order have already summed their gradients into
 * the leaves' .grad: set them to none before trying again. A training loop
 * (grads to none, forward, backward, clip, step, reset) changes parameters
 * only after their last backward and is never refused.
 *
 * Threads. Tapes, grad mode and anomaly mode are per thread; two threads
 * may record and run backward at once on their own tapes. When their
 * graphs share a persistent parameter, each sum into its .grad is made
 * under a lock of that parameter (one of 64, by address; one lock and
 * unlock per leaf gradient), so both threads' gradients add up and none is
 * lost, as in PyTorch. What the threads do with the parameter otherwise
 * (an optimizer step on one thread while the other records or runs
 * backward, hogwild training) is the caller's to synchronize.
 */
#ifndef TAPEGRAD_TAPE_H
#define TAPEGRAD_TAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_tape tg_tape;

/* A new empty tape. Free it with tg_tape_free (which also frees its tensors). */
tg_tape *tg_tape_new(void);
/* Frees a tape made by tg_tape_new and every tensor on it (they must not be
 * used afterwards: no check can see a freed tape). If it is this thread's
 * current tape, the thread goes back to its default tape. Refused, leaving
 * the tape as it is: a thread's default tape (TG_ERR_ARGUMENT; it is freed
 * when its thread ends), and a tape that is the current tape of another
 * thread (TG_ERR_TAPE; that thread must call tg_tape_use(NULL) or end
 * first). Freeing a tape while another thread calls tg_tape_use on it is a
 * race the check cannot see. NULL is ignored. */
void tg_tape_free(tg_tape *tape);

/* Releases every tensor on the tape and forgets every node. Persistent
 * tensors are untouched. Tensors of the tape must not be used afterwards.
 *
 * What is guaranteed about such a stale tensor, in every build: one made at
 * most the tape's stale window of resets ago (TG_TAPE_STALE_WINDOW = 4 by
 * default, tg_tape_set_stale_window) is always recognized, however many
 * tensors the tape has made since: ops, backward and the accessors
 * (tg_get, tg_item, tg_data_f32, ...) refuse it with TG_ERR_TAPE ("... is a
 * stale tensor"), because the memory of its struct is not given to a new
 * tensor before the window has passed (its struct still describes it, never
 * a newer tensor). An older one is refused too
 * unless its memory has been reused, in which case it may pass for a new
 * tensor (reading that tensor's values); using it is undefined. The data of
 * a stale tensor larger than 64 bytes is released at once: reading it
 * through `data` is undefined (under AddressSanitizer it is reported).
 * An absolute guarantee needs opaque tensor handles, an API change left for
 * later: while tg_tensor * is a pointer to a struct the caller reads, a
 * pointer whose memory has been reused cannot be told from the new tensor.
 *
 * Memory: the reset keeps the memory for the next steps. It is O(number of
 * memory blocks), and it changes blocks only when they no longer fit recent
 * use (below): a step of the same ops as the one before asks the system
 * for nothing. Recent use is the largest bytes a step used over the last 16
 * steps (counted apart for large tensor data with nodes, and for tensor
 * structs). After a reset, the data blocks hold at most 3 x max(1 MiB,
 * 1.125 x that use), and each of the stale window + 1 struct blocks at most
 * 3 x max(64 KiB, 1.125 x the struct use); blocks that hold less than that
 * use, or more than that bound, are replaced by one block of max(minimum,
 * 1.125 x use). During a step the tape grows as the step needs; the next
 * reset brings it back within these bounds. */
void tg_tape_reset(tg_tape *tape);

/* The default stale window: the number of resets during which a tape
 * tensor kept by the caller is still recognized as stale (tg_tape_reset). */
#define TG_TAPE_STALE_WINDOW 4
#define TG_TAPE_MAX_STALE_WINDOW 16

/* Sets the stale window of `tape` to `resets` (0..TG_TAPE_MAX_STALE_WINDOW)
 * and returns the previous one. Tensor structs take about (resets + 1) x the
 * struct memory of one step (about 200 bytes a tensor); 0 keeps only one
 * step's and gives no guarantee after a reset. The new window applies at
 * once, to the tensors already made too; a narrower one releases the
 * memory of the steps that fall outside it. Errors (TG_ERR_ARGUMENT,
 * returning -1): a NULL tape, `resets` out of range. */
int tg_tape_set_stale_window(tg_tape *tape, int resets);

/* This thread's current tape (created on first use). */
tg_tape *tg_tape_current(void);
/* Makes `tape` this thread's current tape; NULL selects the thread's default
 * tape. Returns the previous current tape. A tape current on a thread must
 * stay alive until that thread uses another one or ends (tg_tape_free
 * refuses it). */
tg_tape *tg_tape_use(tg_tape *tape);

/* Number of nodes recorded so far (0, reported, for a NULL tape). */
size_t tg_tape_num_nodes(const tg_tape *tape);

typedef struct tg_tape_stats {
    size_t bytes_in_use;   /* arena bytes handed out since the last reset  */
    size_t bytes_reserved; /* arena bytes held from the system, the struct
                              blocks of the stale window included          */
    size_t peak_bytes;     /* largest bytes_in_use seen                    */
    size_t system_allocs;  /* number of allocations asked of the system,
                              since the tape was made                      */
    size_t nodes;          /* nodes currently recorded                     */
} tg_tape_stats;
/* All zero, reported (TG_ERR_ARGUMENT), for a NULL tape. */
tg_tape_stats tg_tape_get_stats(const tg_tape *tape);

/* Reverse-mode differentiation of `output`.
 * `seed` is d(loss)/d(output): NULL means 1 and requires output->numel == 1;
 * otherwise it must have output's shape and dtype. Gradients of persistent
 * tensors that require grad accumulate (+=) into their grad until
 * tg_zero_grad; gradients of tape tensors are recomputed by every call.
 * Errors: output needs no gradient, seed shape differs, stale tensor, an
 * input or output of a reached node changed in place after it was recorded
 * (TG_ERR_TAPE, see "In-place changes" above).
 * A NULL output (a failed forward pass) returns the pending error's status
 * and keeps its message (error.h); otherwise an error left pending from
 * earlier calls is cleared first. */
tg_status tg_backward(tg_tensor *output, const tg_tensor *seed);

/* The gradients of `output` with respect to `n` tensors `wrt` (persistent
 * leaves or tape tensors of output's tape), like torch.autograd.grad with
 * allow_unused=True and materialize_grads=True: grads_out[i] receives a tape
 * tensor of wrt[i]'s shape, or zeros where output does not depend on it
 * (also for a tape tensor recorded after output, whatever an earlier pass
 * left in its .grad). Nothing is accumulated into any tensor's grad. With
 * create_graph the backward pass is itself recorded on the tape, so the
 * returned gradients can be differentiated again (gradients of gradients).
 * `seed` as in tg_backward. Errors: as tg_backward, plus a NULL or stale
 * tensor in wrt, and a wrt tensor of another tape than output's (or, for a
 * persistent output, than this thread's current tape), TG_ERR_TAPE. */
tg_status tg_gradients(tg_tensor *output, const tg_tensor *seed, int n, tg_tensor *const *wrt,
                       tg_tensor **grads_out, bool create_graph);

/* The gradient-ready hook (per thread, off by default): while set,
 * tg_backward calls fn(leaf, ctx) once for each persistent leaf that
 * requires a gradient and that a node reached by the walk takes as an input,
 * as soon as the walk has passed that leaf's last contribution, so that
 * leaf->grad then holds its final value for this pass (a node that gives the
 * leaf no gradient still counts as reached). Leaves come in reverse
 * topological order: the walk meets a leaf's uses from the last one recorded
 * down, and its earliest use is its last contribution. The hook runs on the
 * thread calling tg_backward, with grad mode off; it may read leaf->grad and
 * must not change the tape. An error the hook reports stops the walk, and
 * tg_backward returns it. tg_gradients never calls the hook; a failing
 * tg_backward may stop before calling it for every leaf. This is what a
 * data-parallel trainer needs to start averaging gradients over processes
 * while backward is still running (tapegrad/dist.h). fn NULL removes the
 * hook. Costs one branch per node while unset; while set, one pass over the
 * recorded nodes before the walk. */
typedef void (*tg_grad_ready_fn)(tg_tensor *leaf, void *ctx);
void tg_set_grad_ready_hook(tg_grad_ready_fn fn, void *ctx);

/* Grad mode (per thread). While disabled, ops compute values but record
 * nothing (inference, optimizer updates). Returns the previous setting. */
bool tg_set_grad_enabled(bool enabled);
bool tg_is_grad_enabled(void);

/* Anomaly mode (per thread, like grad mode; off by default, and off in every
 * new thread), the counterpart of torch.autograd.detect_anomaly: it finds
 * the first op that turns finite numbers into NaN or Inf.
 *   - After every op's forward, the output is scanned; a NaN or Inf is
 *     reported as TG_ERR_NUMERIC under the op's name ("tg_log: anomaly mode:
 *     the output float32 (2,3) holds nan at index 1; inputs float32 (2,3);
 *     the input was finite; tape position 4 (after 4 recorded nodes)"),
 *     saying whether an input already held one, and the op returns NULL.
 *   - During tg_backward / tg_gradients, the gradients each backward rule
 *     produces are scanned; the first NaN or Inf stops the walk with
 *     TG_ERR_NUMERIC: "tg_backward: anomaly mode: backward of op 'sqrt'
 *     (tape node 1 of 3) produced inf in the gradient of input 0, float64
 *     (2), at index 0, where input 0 is 0". A seed holding one is refused.
 *   - tg_backward's in-place accumulation into a persistent leaf's grad is
 *     checked too: a grad that already held a NaN or Inf before this pass,
 *     or a sum of finite gradients that overflowed, is reported naming the
 *     leaf's dtype and shape ("the gradient of a float64 (2,3) leaf became
 *     inf at index 0 ...").
 * Tape positions count from 0 in execution order. The mode costs one pass
 * over every result; while off, one branch per op. Returns the previous
 * setting. */
bool tg_set_anomaly_detection(bool enabled);
bool tg_is_anomaly_detection_enabled(void);

/* A tensor of the same tape sharing `t`'s data but cut off from the graph:
 * no gradient flows through it. */
tg_tensor *tg_detach(tg_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
