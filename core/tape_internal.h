/* core/tape_internal.h — the tape's layout, for core/ and ops/ (internal). */
#ifndef TG_CORE_TAPE_INTERNAL_H
#define TG_CORE_TAPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/fast_tls.h"
#include "tapegrad/op.h"
#include "tapegrad/tape.h"


struct tg_tape {
    tg_arena arena;      /* every tape tensor, its data, every node      */
    tg_node **nodes;     /* recorded ops in execution order (a Wengert list) */
    size_t n_nodes;
    size_t node_capacity; /* the node list is kept across resets         */
    size_t node_list_allocs; /* system allocations made for the list      */
    uint32_t generation; /* bumped by every reset; tensors carry theirs  */
    bool grads_set;      /* a backward pass gave tape tensors a .grad since the
                            last reset (the next one must clear them first) */
};

/* Doubles the node list (tape.c); TG_ERR_MEMORY if it cannot. */
tg_status tg_tape_grow_node_list(tg_tape *tape);

/* Appends a node (made in the tape's arena by tg_op_apply). TG_ERR_MEMORY if
 * the list cannot grow. Inline, as is the allocation below: both run once per
 * recorded op. */
static inline tg_status tg_tape_append(tg_tape *tape, tg_node *node) {
    if (tape->n_nodes == tape->node_capacity && tg_tape_grow_node_list(tape) != TG_OK) return TG_ERR_MEMORY;
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
extern const tg_op_attrs tg_no_attrs;

/* Memory from the tape's arena, 8-byte aligned, for nodes and input lists. */
static inline void *tg_tape_alloc(tg_tape *tape, size_t bytes) { return tg_arena_alloc_aligned(&tape->arena, bytes, 8); }

#endif
