/* ops/strided.h — one strided walk for the ops' kernels, and the NumPy
 * broadcast of two shapes (internal to ops/; static inline, so that a
 * kernel's loop and the walk compile into one function).
 *
 * A walk visits the positions of a shape (an output's, or a batch's) in
 * row-major order, and keeps for each of up to TG_STRIDED_OPERANDS operands
 * the element offset of the current position in that operand:
 *   offset[k] = sum over axes d of index[d] * stride[d][k].
 * A stride of 0 reads an operand as broadcast along that axis. The kernel
 * numbers its operands (0, 1, ...); strides it does not set stay 0, so an
 * unused operand's offset stays 0.
 *
 * Setting up (before walking):
 *   tg_strided_init          the shape; every stride 0, at position 0
 *   tg_strided_set_strides   an operand's strides, one per axis, in elements
 *   tg_strided_set_contiguous  a row-major tensor of the walk's own shape
 *   tg_strided_set_broadcast a tensor read as broadcast to the walk's shape
 *   tg_strided_collapse      fewer, longer axes that visit the same offsets
 *   tg_strided_remove_axis   an axis the kernel loops over itself
 *   tg_strided_select_axes   a walk over some of another walk's axes
 *   tg_strided_copy          a thread's own walk, from a shared one
 * Walking:
 *   tg_strided_seek          to a position (where a thread's piece starts)
 *   tg_strided_rewind        back to position 0
 *   tg_strided_step          to the next position
 *   tg_strided_run, tg_strided_advance   by whole runs of the innermost axis
 *
 * A binary elementwise kernel over positions [begin, end) of its output
 * (out contiguous, a and b broadcast to it), one call per run:
 *
 *     tg_strided it;
 *     tg_strided_init(&it, out->rank, out->shape);
 *     tg_strided_set_contiguous(&it, 0);
 *     tg_strided_set_broadcast(&it, 1, a->rank, a->shape, a->strides);
 *     tg_strided_set_broadcast(&it, 2, b->rank, b->shape, b->strides);
 *     tg_strided_collapse(&it);           (innermost strides: it.stride[it.rank - 1][k])
 *     tg_strided_seek(&it, begin);
 *     for (int64_t at = begin; at < end;) {
 *         int64_t n = tg_strided_run(&it, end - at);
 *         row_kernel(o + it.offset[0], pa + it.offset[1], pb + it.offset[2], n);
 *         tg_strided_advance(&it, n);
 *         at += n;
 *     }
 *
 * A kernel whose runs are mostly whole rows can instead take the innermost
 * axis out of the walk (its size and strides read first) and step the
 * outer walk once per row, as the binary ops do (ops/elementwise.c): that
 * keeps the bookkeeping per row to a step.
 */
#ifndef TG_OPS_STRIDED_H
#define TG_OPS_STRIDED_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/tensor.h" /* TG_MAX_RANK */

#define TG_STRIDED_OPERANDS 4

typedef struct tg_strided {
    int rank;                                        /* axes walked, 0..TG_MAX_RANK */
    int64_t shape[TG_MAX_RANK];                      /* size of each axis */
    int64_t stride[TG_MAX_RANK][TG_STRIDED_OPERANDS]; /* [axis][operand], in elements */
    int64_t index[TG_MAX_RANK];                      /* the current position, per axis */
    int64_t offset[TG_STRIDED_OPERANDS];             /* the current position, per operand */
} tg_strided;

/* A walk over `shape` (rank sizes, 0..TG_MAX_RANK) with every operand's
 * strides 0, at position 0. */
static inline void tg_strided_init(tg_strided *it, int rank, const int64_t *shape) {
    it->rank = rank;
    for (int d = 0; d < rank; d++) {
        it->shape[d] = shape[d];
        it->index[d] = 0;
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->stride[d][k] = 0;
    }
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] = 0;
}

/* Operand `operand` moves by strides[d] elements along axis d. */
static inline void tg_strided_set_strides(tg_strided *it, int operand, const int64_t *strides) {
    for (int d = 0; d < it->rank; d++) it->stride[d][operand] = strides[d];
}

/* Operand `operand` is a row-major contiguous tensor of the walk's shape
 * (an output): its offset is the position itself. */
static inline void tg_strided_set_contiguous(tg_strided *it, int operand) {
    int64_t step = 1;
    for (int d = it->rank - 1; d >= 0; d--) {
        it->stride[d][operand] = step;
        step *= it->shape[d];
    }
}

/* Operand `operand` is a tensor of shape (x_rank sizes, with these strides)
 * that broadcasts to the walk's shape (NumPy rules, x_rank <= the walk's
 * rank): aligned at the right, it moves with its own stride where its size
 * equals the walk's, and not at all (stride 0) along the axes it lacks or
 * has as size 1. */
static inline void tg_strided_set_broadcast(tg_strided *it, int operand, int x_rank, const int64_t *x_shape,
                                            const int64_t *x_strides) {
    for (int d = 0; d < it->rank; d++) {
        int dx = d - (it->rank - x_rank);
        it->stride[d][operand] = (dx >= 0 && x_shape[dx] == it->shape[d]) ? x_strides[dx] : 0;
    }
}

/* True when walking axis d and then axis e (the next one kept) of `it` is
 * one walk over a single axis of their combined size, for every operand. */
static inline bool tg_strided_mergeable(const tg_strided *it, int d, int e) {
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++)
        if (it->stride[d][k] != it->stride[e][k] * it->shape[e]) return false;
    return true;
}

/* Rewrites the walk with as few axes as it can without changing the offsets
 * it visits, or their order: size-1 axes are dropped (they move nothing),
 * and an axis merges into the one before it when, for every operand, the
 * outer stride is the inner stride times the inner size (both contiguous,
 * or both broadcast). The walk of a (2,3,4) output with a (3,4) operand,
 * strides (12,4,1) and (0,4,1), becomes (2,12) with (12,1) and (0,1); a
 * reduction's kept and reduced axes stay apart, since the output's stride
 * is 0 along the reduced ones only. At least one axis stays: a walk of one position
 * becomes one axis of size 1 with stride 1 for every operand, so a kernel
 * can always take the innermost axis as its row. Call before walking. */
static inline void tg_strided_collapse(tg_strided *it) {
    int n = 0;
    for (int d = 0; d < it->rank; d++) {
        if (it->shape[d] == 1) continue;
        if (n > 0 && tg_strided_mergeable(it, n - 1, d)) {
            it->shape[n - 1] *= it->shape[d];
            for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->stride[n - 1][k] = it->stride[d][k];
        } else {
            it->shape[n] = it->shape[d];
            for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->stride[n][k] = it->stride[d][k];
            n++;
        }
    }
    if (n == 0) {
        it->shape[0] = 1;
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->stride[0][k] = 1;
        n = 1;
    }
    for (int d = 0; d < n; d++) it->index[d] = 0;
    it->rank = n;
}

/* Takes axis `axis` out of the walk, for a kernel that loops over it
 * itself (it reads the axis's size and strides first). The walk may be
 * left with rank 0: one position. Call before walking. */
static inline void tg_strided_remove_axis(tg_strided *it, int axis) {
    for (int d = axis; d + 1 < it->rank; d++) {
        it->shape[d] = it->shape[d + 1];
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->stride[d][k] = it->stride[d + 1][k];
    }
    it->rank--;
}

/* A walk over the axes of `from` whose bit is set in `axes` (bit d for axis
 * d), in order and with from's strides, at position 0: for a kernel that
 * walks some axes in an outer loop and the others in an inner one. */
static inline void tg_strided_select_axes(tg_strided *to, const tg_strided *from, uint32_t axes) {
    int n = 0;
    for (int d = 0; d < from->rank; d++) {
        if (!((axes >> d) & 1u)) continue;
        to->shape[n] = from->shape[d];
        to->index[n] = 0;
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) to->stride[n][k] = from->stride[d][k];
        n++;
    }
    to->rank = n;
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) to->offset[k] = 0;
}

/* A copy of `from` at position 0, moving only its rank axes (a thread's own
 * walk, from the one its job shares). */
static inline void tg_strided_copy(tg_strided *to, const tg_strided *from) {
    tg_strided_select_axes(to, from, (uint32_t)((1u << from->rank) - 1u));
}

/* The number of positions: the product of the sizes (1 for rank 0). */
static inline int64_t tg_strided_count(const tg_strided *it) {
    int64_t count = 1;
    for (int d = 0; d < it->rank; d++) count *= it->shape[d];
    return count;
}

/* Back to position 0. */
static inline void tg_strided_rewind(tg_strided *it) {
    for (int d = 0; d < it->rank; d++) it->index[d] = 0;
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] = 0;
}

/* To position `position` in [0, count): the start of a thread's piece. */
static inline void tg_strided_seek(tg_strided *it, int64_t position) {
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] = 0;
    for (int d = it->rank - 1; d >= 0; d--) {
        int64_t i = position % it->shape[d];
        position /= it->shape[d];
        it->index[d] = i;
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] += i * it->stride[d][k];
    }
}

/* The positions left on the innermost axis from here, at most `limit`: a
 * run over which every operand moves by its innermost stride. */
static inline int64_t tg_strided_run(const tg_strided *it, int64_t limit) {
    int64_t left = it->rank > 0 ? it->shape[it->rank - 1] - it->index[it->rank - 1] : 1;
    return left < limit ? left : limit;
}

/* Moves n positions along the innermost axis (n at most the run left on
 * it), carrying into the outer axes at its end, as an odometer does. After
 * the last position the walk is back at position 0. */
static inline void tg_strided_advance(tg_strided *it, int64_t n) {
    int d = it->rank - 1;
    if (d < 0) return;
    it->index[d] += n;
    for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] += n * it->stride[d][k];
    while (it->index[d] >= it->shape[d]) { /* axis d is done: back to 0, one on along d - 1 */
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] -= it->shape[d] * it->stride[d][k];
        it->index[d] = 0;
        if (--d < 0) return;
        it->index[d]++;
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) it->offset[k] += it->stride[d][k];
    }
}

/* To the next position (after the last: back to position 0). */
static inline void tg_strided_step(tg_strided *it) { tg_strided_advance(it, 1); }

/* The NumPy broadcast of two shapes, aligned at the right: each pair of
 * sizes is equal, or one of them is 1 and the result takes the other; the
 * result has the larger rank. Returns false, without reporting (each caller
 * words its own error), when a pair conflicts; out_shape is then partly
 * written. */
static inline bool tg_try_broadcast_shape(int rank_a, const int64_t *shape_a, int rank_b, const int64_t *shape_b,
                                          int *out_rank, int64_t *out_shape) {
    int rank = rank_a > rank_b ? rank_a : rank_b;
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - rank_a), ib = i - (rank - rank_b);
        int64_t sa = ia >= 0 ? shape_a[ia] : 1, sb = ib >= 0 ? shape_b[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) return false;
        out_shape[i] = sa == 1 ? sb : sa;
    }
    *out_rank = rank;
    return true;
}

#endif
