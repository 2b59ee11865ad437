/* core/backward.c — reverse-mode differentiation: a reverse walk over the
 * tape calling each node's vector-Jacobian rule (op.h). A loop, never
 * recursion, so a chain of millions of ops needs no stack. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/anomaly.h"
#include "core/backward_internal.h"
#include "core/fast_tls.h"
#include "tapegrad/simd.h"
#include "core/threadpool.h"
#include "core/tape_internal.h"
#include "core/tensor_internal.h"

/* Where the gradient of a persistent leaf goes: into its .grad (tg_backward)
 * or into a caller's list (tg_gradients). */
typedef void (*leaf_sink)(void *ctx, tg_tensor *leaf, tg_tensor *grad);

/* d(output)/d(output): the seed, copied onto the tape, or a 1. */
static tg_tensor *initial_gradient(const char *function, tg_tape *tape, tg_tensor *output, const tg_tensor *seed) {
    if (!seed && output->numel != 1) {
        char text[160];
        tg_error_report(TG_ERR_SHAPE, function,
                        "output has shape %s; a non-scalar output needs a seed gradient of that shape",
                        tg_shape_string(text, sizeof text, output->rank, output->shape));
        return NULL;
    }
    if (seed) {
        if (tg_tensor_check(function, "seed", seed) != TG_OK) return NULL;
        if (!tg_same_shape(seed, output) || seed->dtype != output->dtype) {
            char a[160], b[160];
            tg_error_report(seed->dtype != output->dtype ? TG_ERR_DTYPE : TG_ERR_SHAPE, function,
                            "seed is %s %s but the output is %s %s", tg_dtype_name(seed->dtype),
                            tg_shape_string(a, sizeof a, seed->rank, seed->shape), tg_dtype_name(output->dtype),
                            tg_shape_string(b, sizeof b, output->rank, output->shape));
            return NULL;
        }
    }
    if (seed && tgi_anomaly_on && tgi_anomaly_check_seed(function, seed) != TG_OK) return NULL;
    tg_tensor *g = tgi_tape_new_tensor(tape, function, output->dtype, output->rank, output->shape);
    if (!g) return NULL;
    if (seed) /* same dtype and shape, checked above */
        memcpy(g->data, seed->data, (size_t)g->numel * tg_dtype_size(g->dtype));
    else
        tg_store(g, 0, 1.0);
    return g;
}

/* ---- the sum of two gradients of one tensor ----
 * A tensor reached by two paths gets the sum of its two gradients, computed
 * by this op of core's own (not tg_add, which belongs to a later layer) and
 * recorded like any op when the pass is (create_graph), so that gradients of
 * gradients see it. Both operands have the tensor's shape and dtype (the walk
 * checks every gradient); named "add", as the sum it is. */
TG_HOT_CLONES static void gradient_sum_f32(float *restrict out, const float *restrict a, const float *restrict b,
                                  int64_t begin, int64_t end) {
    TG_FOR_SIMD(i, begin, end, out[i] = a[i] + b[i]);
}
TG_HOT_CLONES static void gradient_sum_f64(double *restrict out, const double *restrict a, const double *restrict b,
                                  int64_t begin, int64_t end) {
    TG_FOR_SIMD(i, begin, end, out[i] = a[i] + b[i]);
}

static void gradient_sum_range(void *ctx, int64_t begin, int64_t end) {
    const tg_node *node = ctx;
    const tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    if (a->dtype == TG_F32)
        gradient_sum_f32(node->output->data, a->data, b->data, begin, end);
    else
        gradient_sum_f64(node->output->data, a->data, b->data, begin, end);
}

static void gradient_sum_forward(const tg_node *node) {
    int64_t numel = node->output->numel;
    if (numel > TG_ON_CALLER_MAX_NUMEL)
        tg_parallel_range(numel, 1.0, gradient_sum_range, (void *)node);
    else
        gradient_sum_range((void *)node, 0, numel);
}

/* d(a + b)/da = d(a + b)/db = 1: the output's gradient goes to both. */
static void gradient_sum_backward(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs) {
    (void)node;
    grad_inputs[0] = grad_inputs[1] = grad_output;
}

static const tg_op gradient_sum_op = {"add", 2, gradient_sum_forward, gradient_sum_backward};

static tg_tensor *gradient_sum(tg_tensor *a, tg_tensor *b) {
    tg_tensor *inputs[2] = {a, b};
    return tg_op_apply(&gradient_sum_op, inputs, 2, NULL, a->dtype, a->rank, a->shape);
}

/* grad(t) += g, for a tape tensor. A new tensor, never an in-place update:
 * one gradient tensor may be handed to several inputs (add passes g to both). */
static void accumulate_on_tape(tg_tensor *t, tg_tensor *g) { t->grad = t->grad ? gradient_sum(t->grad, g) : g; }

static void accumulate_into_leaf(void *ctx, tg_tensor *leaf, tg_tensor *g);

/* ---- locks on persistent leaves' gradients ----
 * Two user threads may run backward at once, each on its own tape, on graphs
 * that share a persistent parameter: every sum into (or first write of) its
 * .grad happens under that leaf's lock, one of LEAF_LOCKS spinlocks picked by
 * the leaf's address, so no thread's gradient is lost. Uncontended, that is
 * one atomic exchange and one store per leaf gradient, lighter than a
 * pthread mutex; a waiter yields its core. Each lock has a
 * cache line, so that threads summing into different leaves do not share one. */
enum { LEAF_LOCKS = 64 };
typedef struct leaf_lock {
    atomic_bool held;
    char pad[64 - sizeof(atomic_bool)];
} leaf_lock;
static leaf_lock leaf_locks[LEAF_LOCKS]; /* static: all clear */

static leaf_lock *lock_of(const tg_tensor *leaf) {
    return &leaf_locks[((uint64_t)(uintptr_t)leaf * 0x9E3779B97F4A7C15ull) >> 58]; /* 6 bits: 0..63 */
}

static inline bool leaf_trylock(leaf_lock *lock) {
    return !atomic_exchange_explicit(&lock->held, true, memory_order_acquire);
}

static void leaf_lock_wait(leaf_lock *lock) {
    while (!leaf_trylock(lock))
        while (atomic_load_explicit(&lock->held, memory_order_relaxed)) sched_yield();
}

static inline void leaf_unlock(leaf_lock *lock) { atomic_store_explicit(&lock->held, false, memory_order_release); }

/* The locks (bit i: leaf_locks[i]) a rule running on this thread holds
 * through tgi_backward_accumulator; the walk releases them when it returns. */
static _Thread_local uint64_t held_leaf_locks TG_FAST_TLS;

static void release_held_leaf_locks(void) {
    for (unsigned i = 0; held_leaf_locks; i++, held_leaf_locks >>= 1)
        if (held_leaf_locks & 1) leaf_unlock(&leaf_locks[i]);
}

/* The node whose rule is running, when it may sum leaf gradients in place
 * (tgi_backward_accumulator); NULL otherwise. */
static _Thread_local const tg_node *accumulating_node TG_FAST_TLS;

/* The leaf's lock is only tried: a rule never waits while it holds another
 * (no two threads can wait for each other), and when the lock is busy, or
 * already held for another input of the node, the rule returns its gradient
 * and the walk adds it under the lock afterwards. */
tg_tensor *tgi_backward_accumulator(const tg_node *node, int input, bool *overwrite) {
    if (!node || node != accumulating_node || input < 0 || input >= node->n_inputs) return NULL;
    tg_tensor *leaf = node->inputs[input];
    if (leaf->tape || !leaf->requires_grad) return NULL;
    leaf_lock *lock = lock_of(leaf);
    uint64_t bit = (uint64_t)1 << (lock - leaf_locks);
    if ((held_leaf_locks & bit) || !leaf_trylock(lock)) return NULL;
    tg_tensor *acc = NULL;
    *overwrite = !leaf->grad;
    if (leaf->grad || tgi_leaf_grad_storage(leaf)) /* else the rule's usual path reports it again */
        acc = leaf->grad; /* public: a caller may have put anything there */
    if (!acc || acc->tape || acc->dtype != leaf->dtype || !tg_shapes_equal(acc, leaf)) {
        leaf_unlock(lock);
        return NULL;
    }
    held_leaf_locks |= bit;
    tgi_tensor_changed(acc); /* the rule writes into it */
    return acc;
}

/* ---- in-place changes (tape.h) ---- */

/* True when no input and not the output of `node` changed in place since the
 * node was recorded. */
static inline bool node_versions_current(const tg_node *node) {
    const uint64_t *versions = tg_node_versions(node);
    for (int j = 0; j < node->n_inputs; j++)
        if (tg_tensor_version(node->inputs[j]) != versions[j]) return false;
    return node->output->version == versions[node->n_inputs]; /* an op's output is never a view */
}

/* Reports the first input (or the output) of `node` changed in place since
 * the node was recorded: its rule would compute with the new values. */
static tg_status report_changed_tensor(const char *function, const tg_node *node) {
    const uint64_t *versions = tg_node_versions(node);
    for (int j = 0; j <= node->n_inputs; j++) {
        const tg_tensor *t = j < node->n_inputs ? node->inputs[j] : node->output;
        uint64_t now = tg_tensor_version(t);
        if (now == versions[j]) continue;
        char which[32], shape[160];
        if (j < node->n_inputs)
            snprintf(which, sizeof which, "input %d", j);
        else
            snprintf(which, sizeof which, "the output");
        return tg_error_report(TG_ERR_TAPE, function,
                               "%s (%s %s) of %s (tape node %zu) was modified in place after it was recorded "
                               "(version %llu -> %llu); its backward rule would use the new values. Change it "
                               "before the op, or change a copy (tg_clone)",
                               which, tg_dtype_name(t->dtype), tg_shape_string(shape, sizeof shape, t->rank, t->shape),
                               node->op->name, node->position, (unsigned long long)versions[j],
                               (unsigned long long)now);
    }
    return TG_OK;
}

/* ---- the gradient-ready hook (tape.h) ----
 * Set per thread. While one is set, tg_backward first finds, for every
 * persistent leaf that requires a gradient, the lowest tape position of a
 * node taking it as an input (its first use in the forward pass, hence its
 * last contribution in the reverse walk); the walk calls the hook for the
 * leaf once it has gone below that position, if a node using it was reached.
 * Without a hook the walk pays one branch per node. */
static _Thread_local tg_grad_ready_fn grad_ready_fn;
static _Thread_local void *grad_ready_ctx;

void tg_set_grad_ready_hook(tg_grad_ready_fn fn, void *ctx) {
    grad_ready_fn = fn;
    grad_ready_ctx = fn ? ctx : NULL;
}

typedef struct ready_leaf {
    tg_tensor *leaf;
    size_t first_use; /* lowest tape position of a node taking it as an input */
    bool reached;     /* a node taking it was reached by this walk */
} ready_leaf;

/* The leaves in increasing first_use (the order the forward pass met them),
 * found through an open-addressing table of indices + 1. */
typedef struct ready_tracker {
    ready_leaf *leaves;
    size_t n_leaves, n_unfired; /* leaves[n_unfired..] have been handled */
    size_t *slots;
    size_t mask;
} ready_tracker;

static bool is_grad_leaf(const tg_tensor *t) { return !t->tape && t->requires_grad; }

static size_t *ready_slot(ready_tracker *tracker, const tg_tensor *leaf) {
    size_t at = (size_t)(((uint64_t)(uintptr_t)leaf * 0x9E3779B97F4A7C15ull) >> 20) & tracker->mask;
    while (tracker->slots[at] && tracker->leaves[tracker->slots[at] - 1].leaf != leaf) at = (at + 1) & tracker->mask;
    return &tracker->slots[at];
}

/* Lists the leaves of nodes[0..last] with their first use; false (reported)
 * when memory runs out. */
static bool ready_tracker_build(ready_tracker *tracker, const char *function, tg_tape *tape, size_t last) {
    size_t n_inputs = 0;
    for (size_t i = 0; i <= last; i++) n_inputs += (size_t)tape->nodes[i]->n_inputs;
    size_t capacity = 16;
    while (capacity < 2 * n_inputs + 2) capacity *= 2;
    *tracker = (ready_tracker){malloc(n_inputs * sizeof(ready_leaf) + 1), 0, 0, calloc(capacity, sizeof(size_t)),
                               capacity - 1};
    if (!tracker->leaves || !tracker->slots) {
        free(tracker->leaves);
        free(tracker->slots);
        tg_error_report(TG_ERR_MEMORY, function, "no memory for the gradient-ready hook's list of %zu inputs",
                        n_inputs);
        return false;
    }
    for (size_t i = 0; i <= last; i++) {
        const tg_node *node = tape->nodes[i];
        for (int j = 0; j < node->n_inputs; j++) {
            if (!is_grad_leaf(node->inputs[j])) continue;
            size_t *slot = ready_slot(tracker, node->inputs[j]);
            if (*slot) continue;
            tracker->leaves[tracker->n_leaves] = (ready_leaf){node->inputs[j], i, false};
            *slot = ++tracker->n_leaves;
        }
    }
    tracker->n_unfired = tracker->n_leaves;
    return true;
}

/* Marks the leaves of `node` reached when the walk ran its rule. */
static void ready_tracker_mark_reached(ready_tracker *tracker, const tg_node *node) {
    if (!node->output->grad || !node->op->backward) return; /* the walk skipped it */
    for (int j = 0; j < node->n_inputs; j++)
        if (is_grad_leaf(node->inputs[j])) tracker->leaves[*ready_slot(tracker, node->inputs[j]) - 1].reached = true;
}

/* Calls the hook for every reached leaf whose first use is at or above
 * `position`: the walk will not add to its gradient again. */
static void ready_tracker_fire(ready_tracker *tracker, size_t position) {
    while (tracker->n_unfired > 0 && tracker->leaves[tracker->n_unfired - 1].first_use >= position) {
        ready_leaf *entry = &tracker->leaves[--tracker->n_unfired];
        if (entry->reached) grad_ready_fn(entry->leaf, grad_ready_ctx);
    }
}

static void ready_tracker_free(ready_tracker *tracker) {
    free(tracker->leaves);
    free(tracker->slots);
}

static tg_status walk(const char *function, tg_tensor *output, const tg_tensor *seed, bool create_graph,
                      leaf_sink sink, void *ctx) {
    tg_status s = tg_tensor_check(function, "output", output);
    if (s != TG_OK) return s;
    if (!output->requires_grad)
        return tg_error_report(TG_ERR_TAPE, function,
                               "the output does not require a gradient (no input requires one, or grad mode was off)");
    tg_tape *tape = output->tape ? output->tape : tg_tape_current();
    if (!tape) return tg_last_error();
    tg_tensor *g = initial_gradient(function, tape, output, seed);
    if (!g) return tg_last_error();
    bool hooked = grad_ready_fn && sink == accumulate_into_leaf;
    if (!output->node) { /* a persistent leaf differentiated by itself */
        sink(ctx, output, g);
        if (hooked && tg_last_error() == TG_OK) grad_ready_fn(output, grad_ready_ctx);
        return tg_last_error(); /* cleared before the walk: only the sink's own report */
    }
    size_t start = output->node->position;
    size_t n_nodes = tape->n_nodes; /* for anomaly reports: the forward graph's size */
    /* Gradients left on tape tensors by an earlier pass since the last reset
     * are forgotten. In training there is none (one backward per step), and
     * skipping this walk saves touching every tensor of the graph once more. */
    if (tape->grads_set)
        for (size_t i = 0; i <= start; i++) tape->nodes[i]->output->grad = NULL;
    tape->grads_set = true;
    output->grad = g;
    ready_tracker tracker = {0};
    if (hooked && !ready_tracker_build(&tracker, function, tape, start)) return tg_last_error();

    tg_tape *previous_tape = tg_tape_use(tape);
    bool previous_mode = tg_set_grad_enabled(create_graph);
    bool in_place = sink == accumulate_into_leaf && !create_graph; /* see tgi_backward_accumulator */
    s = TG_OK;
    for (size_t i = start + 1; i-- > 0 && s == TG_OK;) {
        tg_node *node = tape->nodes[i]; /* re-read: recording may move the list */
        if (hooked && i < start) { /* node i + 1 is done: one check per node while no hook is set */
            ready_tracker_mark_reached(&tracker, tape->nodes[i + 1]);
            ready_tracker_fire(&tracker, i + 1);
        }
        tg_tensor *grad_output = node->output->grad;
        if (!grad_output || !node->op->backward) continue;
        if (!node_versions_current(node)) {
            s = report_changed_tensor(function, node);
            break;
        }
        /* Rules only write these. The common arities are cleared one by one:
         * a loop over n_inputs became a call to memset. */
        tg_tensor *grad_inputs[TG_MAX_INPUTS];
        grad_inputs[0] = grad_inputs[1] = grad_inputs[2] = NULL;
        for (int j = 3; j < node->n_inputs; j++) grad_inputs[j] = NULL;
        if (!tgi_anomaly_on) {
            accumulating_node = in_place ? node : NULL;
            node->op->backward(node, grad_output, grad_inputs);
            accumulating_node = NULL;
            if (held_leaf_locks) release_held_leaf_locks();
        } else if ((s = tgi_anomaly_run_backward(function, node, n_nodes, grad_output, grad_inputs)) != TG_OK) {
            break; /* stop at the first rule that made a NaN or Inf */
        }
        for (int j = 0; j < node->n_inputs; j++) {
            tg_tensor *input = node->inputs[j];
            tg_tensor *gi = grad_inputs[j];
            if (!input->requires_grad || !gi) continue;
            if (gi->dtype != input->dtype || !tg_shapes_equal(gi, input)) {
                char a[160], b[160];
                s = tg_error_report(TG_ERR_SHAPE, function,
                                    "the backward rule of op '%s' gave input %d a gradient of shape %s %s; the input is %s %s",
                                    node->op->name, j, tg_shape_string(a, sizeof a, gi->rank, gi->shape),
                                    tg_dtype_name(gi->dtype), tg_shape_string(b, sizeof b, input->rank, input->shape),
                                    tg_dtype_name(input->dtype));
                break;
            }
            if (input->tape)
                accumulate_on_tape(input, gi);
            else
                sink(ctx, input, gi);
        }
        if (tg_last_error() != TG_OK && s == TG_OK) s = tg_last_error();
    }
    if (hooked) {
        if (s == TG_OK) {
            ready_tracker_mark_reached(&tracker, tape->nodes[0]);
            ready_tracker_fire(&tracker, 0);
        }
        if (tg_last_error() != TG_OK && s == TG_OK) s = tg_last_error();
        ready_tracker_free(&tracker);
    }
    tg_set_grad_enabled(previous_mode);
    tg_tape_use(previous_tape);
    return s;
}

/* ---- tg_backward: accumulate into the .grad of persistent leaves ---- */

/* acc[i] += g[i] over [begin, end), or acc[i] = g[i] into a gradient that was
 * set to none, vectorized (TG_FOR_SIMD) and split over the thread pool for
 * large parameters: with two threads the single-threaded sum into a 784x256
 * weight's gradient was a tenth of an MNIST step's serial part. Each element
 * is one add (or copy) whatever the split. */
typedef struct add_into_job {
    tg_tensor *acc;
    const tg_tensor *g;
} add_into_job;

TG_HOT_CLONES static void add_into_f32(float *restrict a, const float *restrict b, int64_t begin, int64_t end) {
    TG_FOR_SIMD(i, begin, end, a[i] += b[i]);
}
TG_HOT_CLONES static void add_into_f64(double *restrict a, const double *restrict b, int64_t begin, int64_t end) {
    TG_FOR_SIMD(i, begin, end, a[i] += b[i]);
}

static void add_into_range(void *ctx, int64_t begin, int64_t end) {
    const add_into_job *job = ctx;
    if (job->acc->dtype == TG_F32)
        add_into_f32(job->acc->data, job->g->data, begin, end);
    else
        add_into_f64(job->acc->data, job->g->data, begin, end);
}

static void copy_into_range(void *ctx, int64_t begin, int64_t end) {
    const add_into_job *job = ctx;
    size_t size = job->acc->dtype == TG_F32 ? sizeof(float) : sizeof(double);
    memcpy((char *)job->acc->data + begin * size, (const char *)job->g->data + begin * size,
           (size_t)(end - begin) * size);
}

/* leaf.grad += g (or = g into a gradient set to none), under the leaf's
 * lock (see leaf_locks). */
static void sum_into_leaf_grad(tg_tensor *leaf, tg_tensor *g) {
    bool copy = !leaf->grad;
    if (copy && !tgi_leaf_grad_storage(leaf)) return;
    tg_tensor *acc = leaf->grad;
    if (acc->dtype != leaf->dtype || !tg_shapes_equal(acc, leaf) || acc->tape) { /* .grad is public: check it */
        char a[160], b[160];
        tg_error_report(TG_ERR_SHAPE, "tg_backward", "a leaf is %s %s but the .grad it holds is %s %s%s",
                        tg_dtype_name(leaf->dtype), tg_shape_string(a, sizeof a, leaf->rank, leaf->shape),
                        tg_dtype_name(acc->dtype), tg_shape_string(b, sizeof b, acc->rank, acc->shape),
                        acc->tape ? " on a tape" : "");
        return;
    }
    if (tgi_anomaly_on && !copy && tgi_anomaly_check_leaf_grad("tg_backward", leaf, false) != TG_OK) return;
    add_into_job job = {acc, g};
    if (acc->numel > TG_ON_CALLER_MAX_NUMEL)
        tg_parallel_range(acc->numel, 1.0, copy ? copy_into_range : add_into_range, &job);
    else if (copy)
        copy_into_range(&job, 0, acc->numel);
    else
        add_into_range(&job, 0, acc->numel);
    tgi_tensor_changed(acc);
    if (tgi_anomaly_on) tgi_anomaly_check_leaf_grad("tg_backward", leaf, true); /* the walk sees the report */
}

static void accumulate_into_leaf(void *ctx, tg_tensor *leaf, tg_tensor *g) {
    (void)ctx;
    leaf_lock *lock = lock_of(leaf);
    if (!leaf_trylock(lock)) leaf_lock_wait(lock);
    sum_into_leaf_grad(leaf, g);
    leaf_unlock(lock);
}

/* The walk tells a failing rule (an op inside it) by a pending error, so an
 * old one is forgotten first, but not when `output` is NULL: that is the
 * forward pass's failure arriving, and its error must survive (error.h). */
static void forget_old_error(const tg_tensor *output) {
    if (output) tg_clear_error();
}

tg_status tg_backward(tg_tensor *output, const tg_tensor *seed) {
    forget_old_error(output);
    return walk("tg_backward", output, seed, false, accumulate_into_leaf, NULL);
}

/* ---- tg_gradients: collect gradients for a list of tensors ---- */

typedef struct wrt_list {
    int n;
    tg_tensor *const *wrt;
    tg_tensor **grads;
} wrt_list;

static void collect_leaf(void *ctx, tg_tensor *leaf, tg_tensor *g) {
    wrt_list *list = ctx;
    for (int k = 0; k < list->n; k++)
        if (list->wrt[k] == leaf) list->grads[k] = list->grads[k] ? gradient_sum(list->grads[k], g) : g;
}

tg_status tg_gradients(tg_tensor *output, const tg_tensor *seed, int n, tg_tensor *const *wrt, tg_tensor **grads_out,
                       bool create_graph) {
    const char *function = "tg_gradients";
    forget_old_error(output);
    if (n < 0 || (n > 0 && (!wrt || !grads_out)))
        return tg_error_report(TG_ERR_ARGUMENT, function, "need n >= 0 and non-NULL wrt and grads_out, got n=%d", n);
    /* The output's tape; a NULL output is the walk's to report (error.h). */
    tg_tape *tape = output && output->tape ? output->tape : tg_tape_current();
    for (int k = 0; k < n; k++) {
        char what[32];
        snprintf(what, sizeof what, "wrt[%d]", k);
        tg_status s = tg_tensor_check(function, what, wrt[k]);
        if (s != TG_OK) return s;
        if (output && wrt[k]->tape && wrt[k]->tape != tape)
            return tg_error_report(TG_ERR_TAPE, function,
                                   "wrt[%d] belongs to another tape than the output: the output cannot depend on it",
                                   k);
        grads_out[k] = NULL;
    }
    wrt_list list = {n, wrt, grads_out};
    tg_status s = walk(function, output, seed, create_graph, collect_leaf, &list);
    if (s != TG_OK) return s;
    /* The walk went down from the output's node: only tape tensors made at or
     * before it have a gradient of this pass; anything else in .grad is an
     * earlier pass's. */
    size_t reach = output->node ? output->node->position + 1 : 0;
    for (int k = 0; k < n; k++) {
        if (wrt[k]->tape && wrt[k]->node && wrt[k]->node->position < reach) grads_out[k] = wrt[k]->grad;
        if (!grads_out[k]) { /* output does not depend on it */
            grads_out[k] = tgi_tape_new_tensor(tape, function, wrt[k]->dtype, wrt[k]->rank, wrt[k]->shape);
            if (!grads_out[k]) return tg_last_error();
            memset(grads_out[k]->data, 0, (size_t)grads_out[k]->numel * tg_dtype_size(wrt[k]->dtype));
        }
    }
    return TG_OK;
}
