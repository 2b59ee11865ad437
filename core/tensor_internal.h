/* core/tensor_internal.h — what ops/ and the rest of core/ need to know about
 * tensors beyond the public header (internal; not installed). */
#ifndef TG_CORE_TENSOR_INTERNAL_H
#define TG_CORE_TENSOR_INTERNAL_H

#include "tapegrad/error.h"
#include "tapegrad/tape.h"
#include "tapegrad/tensor.h"

/* The largest element count of elements of `element_size` bytes: its bytes
 * fit size_t and the count fits int64_t. */
uint64_t tgi_shape_size_limit(size_t element_size);

/* Whether the product of the non-zero sizes of shape[0..rank) (sizes >= 0)
 * is at most `limit`. Zeros are skipped on purpose: the strides of
 * (0, 2^62, 2^62) are products of trailing sizes that overflow although
 * the element count is 0, and so are a kernel's outer and inner counts; with
 * this bound every partial product of sizes fits, whatever the order. The
 * checkpoint reader applies the same rule to the shapes in a file. */
bool tgi_shape_sizes_fit(int rank, const int64_t *shape, uint64_t limit);

/* Fills shape, rank, numel and row-major contiguous strides of `t`. */
void tgi_tensor_set_shape(tg_tensor *t, int rank, const int64_t *shape);

/* A tensor whose struct and data live in `tape`'s arena (uninitialized data).
 * NULL after reporting TG_ERR_MEMORY under `function`'s name. */
tg_tensor *tgi_tape_new_tensor(tg_tape *tape, const char *function, tg_dtype dtype, int rank,
                              const int64_t *shape);

/* For a persistent leaf without a gradient: makes .grad a tensor of the
 * leaf's dtype and shape, reusing the storage tg_set_grad_to_none kept, and
 * returns it. Its contents are undefined: the caller writes every element.
 * NULL (reported) if out of memory. */
tg_tensor *tgi_leaf_grad_storage(tg_tensor *leaf);

/* The tensor whose version counter `t` uses: a tg_detach view shares its
 * base's (both see the same data), every other tensor has its own. */
static inline tg_tensor *tg_version_holder(const tg_tensor *t) {
    return t->view_base ? t->view_base : (tg_tensor *)t;
}

/* `t`'s version: the number of in-place changes of its values so far. A
 * relaxed atomic load, as tgi_tensor_changed's add is atomic. */
static inline uint64_t tg_tensor_version(const tg_tensor *t) {
    return __atomic_load_n(&tg_version_holder(t)->version, __ATOMIC_RELAXED);
}

/* tg_tensor_changed (tensor.h), inline for the library's own loops: counts
 * one in-place change of `t`'s values (tape.h, "In-place changes"). The
 * counter is 64 bits: it cannot wrap in any run. The add is atomic (relaxed:
 * only the count matters), because a user op's kernel may take its tensors'
 * data (tg_data_f32) in every piece of a parallel call, on several threads. */
static inline void tgi_tensor_changed(const tg_tensor *t) {
    __atomic_fetch_add(&tg_version_holder(t)->version, 1, __ATOMIC_RELAXED);
}

/* tg_same_shape for two non-NULL tensors, inline for the hot paths of
 * recording an op and of backward. */
static inline bool tg_shapes_equal(const tg_tensor *a, const tg_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* Element i (flat, row-major) as a double, for any dtype. */
static inline double tg_load(const tg_tensor *t, int64_t i) {
    return t->dtype == TG_F32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}
static inline void tg_store(tg_tensor *t, int64_t i, double v) {
    if (t->dtype == TG_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

#endif
