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

/* The dtype families: the float dtypes every op computes in, and the
 * integer dtypes of indices and labels. */
static inline bool tg_dtype_is_float(tg_dtype dtype) { return dtype == TG_F32 || dtype == TG_F64; }
static inline bool tg_dtype_is_integer(tg_dtype dtype) { return dtype == TG_I64 || dtype == TG_I32; }
static inline bool tg_dtype_known(tg_dtype dtype) { return tg_dtype_is_float(dtype) || tg_dtype_is_integer(dtype); }
/* tg_dtype_size for a known dtype, inline and without a report. */
static inline size_t tg_dtype_bytes(tg_dtype dtype) {
    return dtype == TG_F32 || dtype == TG_I32 ? 4 : 8;
}

/* A double converted to int64 by truncation toward zero, saturating at the
 * ends and 0 for NaN, so that no input is undefined behaviour. Callers that
 * must not lose a value check it first (tgi_integer_value_check). */
static inline int64_t tg_double_to_i64(double v) {
    if (v != v) return 0;
    if (v >= 0x1p63) return INT64_MAX;
    if (v < -0x1p63) return INT64_MIN;
    return (int64_t)v;
}
static inline int32_t tg_double_to_i32(double v) {
    if (v != v) return 0;
    if (v >= 0x1p31) return INT32_MAX;
    if (v < -0x1p31) return INT32_MIN;
    return (int32_t)v;
}

/* Reports (TG_ERR_ARGUMENT, under `function`) a value that an integer
 * `dtype` cannot hold exactly: NaN, an infinity, a fraction, a number out of
 * its range. `what` names the value ("value", "values[3]"). TG_OK for a float
 * dtype. */
tg_status tgi_integer_value_check(const char *function, const char *what, tg_dtype dtype, double v);

/* Converts src's elements into dst (same element count, any two dtypes):
 * floats between each other by a C cast (float64 -> float32 rounds to
 * nearest), integers to floats rounding to nearest, floats to integers by
 * truncation toward zero (torch's .long()), int64 to int32 exactly. A value
 * the destination cannot hold (NaN, an infinity, out of range) is reported
 * under `function`, naming the element, and leaves dst partly written. */
tg_status tgi_convert_elements(const char *function, tg_tensor *dst, const tg_tensor *src);

/* Element i (flat, row-major) as a double, for any dtype (an int64 beyond
 * 2^53 rounds). */
static inline double tg_load(const tg_tensor *t, int64_t i) {
    switch (t->dtype) {
    case TG_F32: return (double)((const float *)t->data)[i];
    case TG_I64: return (double)((const int64_t *)t->data)[i];
    case TG_I32: return (double)((const int32_t *)t->data)[i];
    default: return ((const double *)t->data)[i];
    }
}
/* Stores v into element i; into an integer dtype by tg_double_to_i64/i32. */
static inline void tg_store(tg_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case TG_F32: ((float *)t->data)[i] = (float)v; break;
    case TG_I64: ((int64_t *)t->data)[i] = tg_double_to_i64(v); break;
    case TG_I32: ((int32_t *)t->data)[i] = tg_double_to_i32(v); break;
    default: ((double *)t->data)[i] = v; break;
    }
}
/* Element i of an integer tensor, exactly. */
static inline int64_t tg_load_index(const tg_tensor *t, int64_t i) {
    return t->dtype == TG_I32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

#endif
