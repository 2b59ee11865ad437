/* core/tape_internal.h — the tape's layout, for core/ and ops/ (internal). */
#ifndef TG_CORE_TAPE_INTERNAL_H
#define TG_CORE_TAPE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/fast_tls.h"
#include "core/tensor_internal.h" /* tg_dtype_known, tg_dtype_bytes */
#include "tapegrad/op.h"
#include "tapegrad/tape.h"


/* Tensor structs (with data of at most TG_SMALL_DATA_BYTES) live in one of
 * stale window + 1 struct arenas, a new one at each reset in turn, so that
 * the memory of a tensor's struct is handed out again only after that many
 * resets: until then the generation it carries still tells it is stale.
 * Larger data and nodes live in `arena`, which every reset rewinds. */
#define TG_TAPE_STRUCT_CHUNK ((size_t)64 << 10)

struct tg_tape {
    tg_arena arena;      /* data of larger tensors, and every node       */
    tg_arena *structs;   /* lanes[lane]: this generation's tensor structs */
    tg_node **nodes;     /* recorded ops in execution order (a Wengert list) */
    size_t n_nodes;
    size_t node_capacity; /* the node list is kept across resets         */
    size_t node_list_allocs; /* system allocations made for the list      */
    uint64_t generation; /* bumped by every reset; tensors carry theirs  */
    bool grads_set;      /* a backward pass gave tape tensors a .grad since the
                            last reset (the next one must clear them first) */
    bool is_default;     /* a thread's default tape, freed with its thread */
    atomic_int current_on; /* threads on which it is the current tape (tg_tape_use) */
    int n_lanes;         /* stale window + 1                               */
    int lane;            /* the lane of this generation; the next reset takes
                            the one after it, which is the oldest           */
    tg_arena lanes[TG_TAPE_MAX_STALE_WINDOW + 1];
    tg_step_peaks data_peaks, struct_peaks; /* recent steps' use, for the chunk policy */
    size_t peak_bytes;   /* the largest bytes in use at a reset           */
    size_t retired_allocs; /* system allocations of lanes a narrower window released */
};

/* Doubles the node list (tape.c); TG_ERR_MEMORY if it cannot. */
tg_status tgi_tape_grow_node_list(tg_tape *tape);

/* The versions (tensor_internal.h) of a recorded node's inputs, and after
 * them its output's, as they were when the node was recorded: n_inputs + 1
 * counters stored right after the node, before its input list (tg_op_apply).
 * Backward compares them with the tensors' current versions before it runs
 * the node's rule. */
static inline uint64_t *tg_node_versions(const tg_node *node) { return (uint64_t *)(node + 1); }

/* Appends a node (made in the tape's arena by tg_op_apply). TG_ERR_MEMORY if
 * the list cannot grow. Inline, as is the allocation below: both run once per
 * recorded op. */
static inline tg_status tg_tape_append(tg_tape *tape, tg_node *node) {
    if (tape->n_nodes == tape->node_capacity && tgi_tape_grow_node_list(tape) != TG_OK) return TG_ERR_MEMORY;
    node->position = tape->n_nodes;
    tape->nodes[tape->n_nodes++] = node;
    return TG_OK;
}

/* The test of tg_tensor_check (tensor_internal.h) without the report, inline
 * for the hot path of recording an op, which calls tg_tensor_check only to
 * explain a failure. */
static inline bool tg_tensor_usable(const tg_tensor *t) {
    return t && (!t->tape || t->generation == t->tape->generation);
}

/* All-zero op attributes. Ops start from a copy of this rather than writing
 * `tg_op_attrs attrs = {0}`: for a 96-byte struct gcc zeroes with `rep stos`,
 * whose start-up cost was a tenth of recording a scalar op, while a copy is
 * six vector moves. */
extern const tg_op_attrs tgi_no_attrs;

/* Grad mode of this thread (tg_set_grad_enabled), read inline by every op. */
extern _Thread_local bool tgi_grad_disabled TG_FAST_TLS;

/* ---- tape tensors: the two halves of tgi_tape_new_tensor (tensor_internal.h),
 * inline because they run for every recorded op and every gradient. */

/* The element count of a plausible shape, or -1 when tg_shape_validate must
 * look (bad dtype or rank, negative size, a count near overflow, a zero
 * size): it explains the error, or accepts a large count. Sizes below 2^31
 * times a count below 2^32 cannot overflow. Shapes with a zero size go to
 * tg_shape_validate too: there the count stays 0 while the other sizes'
 * product (the strides) is unbounded. */
static inline int64_t tg_quick_numel(tg_dtype dtype, int rank, const int64_t *shape) {
    if (!tg_dtype_known(dtype) || rank < 0 || rank > TG_MAX_RANK || (rank > 0 && !shape)) return -1;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0 || shape[i] >= ((int64_t)1 << 31) || numel >= ((int64_t)1 << 32)) return -1;
        numel *= shape[i];
    }
    return numel > 0 && (uint64_t)numel <= SIZE_MAX / sizeof(double) ? numel : -1;
}

/* Tensor data of at most this many bytes sits right after the struct, both
 * 8-byte aligned and packed in the struct arena: a scalar op's output takes
 * the struct and 8 bytes, and a graph of scalar ops touches little memory.
 * Larger data starts on a cache line (TG_ARENA_ALIGN) in the tape's main
 * arena, for SIMD loads. */
#define TG_SMALL_DATA_BYTES 64

/* A tape tensor of a valid shape with `numel` elements (uninitialized data):
 * the struct in this generation's struct arena, with its data if small. NULL,
 * not reported, if an arena cannot grow (tgi_tape_report_no_memory says so). */
static inline tg_tensor *tg_tape_new_tensor_counted(tg_tape *tape, tg_dtype dtype, int rank, const int64_t *shape,
                                                    int64_t numel) {
    size_t bytes = (size_t)numel * tg_dtype_bytes(dtype);
    tg_tensor *t;
    void *data;
    if (bytes <= TG_SMALL_DATA_BYTES) {
        size_t head = (sizeof(tg_tensor) + 7) & ~(size_t)7;
        unsigned char *block = tg_arena_alloc_aligned(tape->structs, head + bytes, 8);
        if (!block) return NULL;
        t = (tg_tensor *)block;
        data = block + head;
    } else {
        t = tg_arena_alloc_aligned(tape->structs, sizeof(tg_tensor), 8);
        data = t ? tg_arena_alloc(&tape->arena, bytes) : NULL;
        if (!data) return NULL;
    }
    t->dtype = dtype;
    t->rank = rank;
    memset(t->shape, 0, sizeof t->shape); /* sizes and strides past the rank are 0 */
    memset(t->strides, 0, sizeof t->strides);
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->strides[i] = stride;
        stride *= shape[i];
    }
    t->numel = numel;
    t->data = data;
    t->grad = NULL;
    t->grad_spare = NULL;
    t->tape = tape;
    t->node = NULL;
    t->generation = tape->generation;
    t->requires_grad = false;
    t->owns_data = false;
    t->version = 0;
    t->view_base = NULL;
    return t;
}

/* Reports TG_ERR_MEMORY for a tensor of this shape under `function`'s name. */
void tgi_tape_report_no_memory(const char *function, int rank, const int64_t *shape);

/* Memory from the tape's arena, 8-byte aligned, for nodes and input lists. */
static inline void *tg_tape_alloc(tg_tape *tape, size_t bytes) { return tg_arena_alloc_aligned(&tape->arena, bytes, 8); }

#endif
