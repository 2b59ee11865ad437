/* tapegrad/tensor.h — n-dimensional tensors: creation, access, printing.
 *
 * A tensor is a row-major array of float32 or float64 with rank 0..TG_MAX_RANK,
 * or of int64 / int32 for indices and labels. Integer tensors never require a
 * gradient, and the float ops refuse them (TG_ERR_DTYPE naming the op and
 * the dtype): only the ops that take indices (index.h), tg_to_dtype and the
 * comparisons read them; tg_argmax makes them.
 * Ownership follows one rule:
 *   - tensors made by the creation functions below (tg_zeros, tg_from_array,
 *     tg_rand_normal, ...) are *persistent*: they live outside any tape, the
 *     caller owns them and releases them with tg_free(). Parameters are
 *     persistent tensors with requires_grad set (tg_param_* or
 *     tg_set_requires_grad).
 *   - tensors returned by ops (tg_add, tg_matmul, ...) belong to a tape
 *     (see tape.h) and are released all at once by tg_tape_reset().
 *
 * The struct is public so that kernels and user code can read shapes and
 * data quickly; treat every field as read-only and use the functions to
 * change anything. The functions that change a tensor's values in place
 * (tg_set, tg_set_flat, tg_copy_into, tg_data_f32/f64, an optimizer step,
 * loading a checkpoint into it, ...) count the change in `version`, so that
 * backward can refuse to use values changed after an op recorded them
 * (tape.h, "In-place changes").
 */
#ifndef TAPEGRAD_TENSOR_H
#define TAPEGRAD_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_MAX_RANK 8

/* TG_I64 / TG_I32: signed integers, for indices and class labels. */
typedef enum tg_dtype { TG_F32 = 0, TG_F64 = 1, TG_I64 = 2, TG_I32 = 3 } tg_dtype;

struct tg_tape;
struct tg_node;

typedef struct tg_tensor {
    tg_dtype dtype;
    int rank;
    int64_t shape[TG_MAX_RANK];
    int64_t strides[TG_MAX_RANK]; /* in elements; row-major contiguous today */
    int64_t numel;                /* product of shape; 1 for rank 0        */
    void *data;                   /* numel elements of dtype               */
    struct tg_tensor *grad;       /* accumulated gradient, or NULL         */
    struct tg_tape *tape;         /* owning tape; NULL when persistent     */
    struct tg_node *node;         /* op that produced it; NULL for leaves  */
    uint64_t generation;          /* tape generation it was made in        */
    bool requires_grad;           /* gradient flows to / through it        */
    bool owns_data;               /* persistent tensor that frees `data`   */
    struct tg_tensor *grad_spare; /* internal: the storage of a gradient set
                                     to none, for the next backward to reuse */
    uint64_t version;             /* in-place changes of the values so far
                                     (see "In-place changes" in tape.h); a
                                     tg_detach view counts in its base's */
    struct tg_tensor *view_base;  /* internal: for a tg_detach view, the
                                     tensor whose data and version it shares */
} tg_tensor;

/* Size in bytes of one element, and a name ("float32", "float64", "int64",
 * "int32"). An unknown dtype gives 0 with TG_ERR_DTYPE, and the name
 * "unknown". */
size_t tg_dtype_size(tg_dtype dtype);
const char *tg_dtype_name(tg_dtype dtype);

/* ---- creation: every function returns a persistent tensor (free with tg_free)
 * `shape` points to `rank` sizes, each >= 0; rank 0 makes a scalar (shape may be
 * NULL). Errors: rank outside 0..TG_MAX_RANK, a negative size, a shape whose
 * non-zero sizes multiply past what a tensor can index (TG_ERR_MEMORY: an
 * element count or a stride overflows; so (0, 2^62, 2^62) is refused as
 * (2^62, 2^62, 0) is), an unknown dtype. A value is converted to float32 as a
 * C cast does, as torch.full does: beyond the float32 range it becomes an
 * infinity (tg_full, tg_scalar, tg_from_doubles). For an integer dtype a
 * value must be a whole number the dtype holds (NaN, infinities, 1.5 or 2^63
 * into int64 are refused with TG_ERR_ARGUMENT naming the value); a double
 * holds every integer up to 2^53 exactly, so pass larger indices through
 * tg_from_array. tg_rand_* make float tensors only. */
tg_tensor *tg_empty(tg_dtype dtype, int rank, const int64_t *shape); /* uninitialized */
tg_tensor *tg_zeros(tg_dtype dtype, int rank, const int64_t *shape);
tg_tensor *tg_ones(tg_dtype dtype, int rank, const int64_t *shape);
tg_tensor *tg_full(tg_dtype dtype, int rank, const int64_t *shape, double value);
/* Rank-0 tensor holding `value`. */
tg_tensor *tg_scalar(tg_dtype dtype, double value);
/* Copies numel elements of type `dtype` (float, double, int64_t or int32_t)
 * from `data`. */
tg_tensor *tg_from_array(tg_dtype dtype, int rank, const int64_t *shape, const void *data);
/* Copies numel doubles from `values`, converting to `dtype`. */
tg_tensor *tg_from_doubles(tg_dtype dtype, int rank, const int64_t *shape, const double *values);
/* 1-D [start, start+step, ...) below `stop` (above, for a negative step). step != 0. */
tg_tensor *tg_arange(tg_dtype dtype, double start, double stop, double step);
/* 1-D, `count` >= 1 evenly spaced values from start to stop inclusive. */
tg_tensor *tg_linspace(tg_dtype dtype, double start, double stop, int64_t count);
/* A persistent copy of any tensor (data only, no gradient, requires_grad off). */
tg_tensor *tg_clone(const tg_tensor *t);

/* Releases a persistent tensor and its gradient. NULL is ignored. A tensor
 * that belongs to a tape is refused (TG_ERR_TAPE): the tape owns it. */
void tg_free(tg_tensor *t);

/* ---- gradients on persistent tensors ----
 * Marks a persistent tensor as a parameter: ops that use it are recorded and
 * backward accumulates into its gradient. Returns TG_ERR_TAPE for tape tensors. */
tg_status tg_set_requires_grad(tg_tensor *t, bool requires_grad);
/* (An integer tensor is refused with TG_ERR_DTYPE: it has no gradient.) */
/* The gradient accumulated so far, or NULL if none yet. Read-only. */
const tg_tensor *tg_grad(const tg_tensor *t);
/* Sets the accumulated gradient of `t` to zero (keeps its storage): an
 * in-place change of the gradient tensor (its version + 1). */
void tg_zero_grad(tg_tensor *t);
/* Forgets the accumulated gradient: tg_grad(t) is NULL until the next
 * tg_backward, which then writes the gradient instead of adding it to zeros
 * (PyTorch's zero_grad(set_to_none=True)). Cheaper than tg_zero_grad: no pass
 * over the memory, and a matrix product writes the weight gradient without
 * reading it. The storage is kept for that backward, so a training loop still
 * allocates nothing. Optimizers skip parameters without a gradient. For a tape
 * tensor, the same as tg_zero_grad. */
void tg_set_grad_to_none(tg_tensor *t);

/* ---- element access (any dtype; values travel as double) ---- */
/* `index` holds rank indices, each in [0, shape[i]); errors name the bad index.
 * An integer element reads exactly while |v| < 2^53; into an integer tensor
 * tg_set / tg_set_flat write only whole numbers the dtype holds (else
 * TG_ERR_ARGUMENT naming the value).
 * tg_set and tg_set_flat change the tensor in place: each successful call
 * adds 1 to its version (tape.h, "In-place changes"). */
double tg_get(const tg_tensor *t, const int64_t *index);
tg_status tg_set(tg_tensor *t, const int64_t *index, double value);
/* Flat (row-major) index in [0, numel). */
double tg_get_flat(const tg_tensor *t, int64_t flat_index);
tg_status tg_set_flat(tg_tensor *t, int64_t flat_index, double value);
/* The single value of a tensor with numel == 1. */
double tg_item(const tg_tensor *t);
/* Typed views of the data, writable; NULL with TG_ERR_DTYPE if the dtype
 * differs. Each successful call counts as an in-place change (version + 1),
 * because the caller may write through the pointer; writes through a pointer
 * obtained before an op recorded the tensor are not seen. To read without
 * counting a change, use tg_const_data_f32/f64, tg_get or tg_copy_to_doubles. */
float *tg_data_f32(const tg_tensor *t);
double *tg_data_f64(const tg_tensor *t);
/* The same views, read-only: no change is counted, so reading a prediction
 * between forward and backward leaves backward free to run. NULL with
 * TG_ERR_DTYPE if the dtype differs (and for a NULL or stale tensor). */
const float *tg_const_data_f32(const tg_tensor *t);
const double *tg_const_data_f64(const tg_tensor *t);
/* The same pairs for integer tensors: writable (an in-place change) and
 * read-only views of an int64 / int32 tensor's data; NULL with TG_ERR_DTYPE
 * for any other dtype. */
int64_t *tg_data_i64(const tg_tensor *t);
int32_t *tg_data_i32(const tg_tensor *t);
const int64_t *tg_const_data_i64(const tg_tensor *t);
const int32_t *tg_const_data_i32(const tg_tensor *t);
/* Copies the tensor's values into `out` (numel doubles). */
tg_status tg_copy_to_doubles(const tg_tensor *t, double *out);
/* Copies `src` values into persistent `dst` (same shape; dtypes may differ,
 * converted as tg_to_dtype converts), an in-place change of dst (version + 1).
 * A dst owned by a tape is refused (TG_ERR_TAPE). */
tg_status tg_copy_into(tg_tensor *dst, const tg_tensor *src);

/* ---- for functions built on the library (layers, optimizers, user ops) ---- */
/* Checks a tensor argument of `function` (the public function the user
 * called): reports TG_ERR_ARGUMENT if `t` is NULL (through
 * tg_error_null_tensor, error.h: a NULL passed down from an earlier failure
 * keeps that failure's error) and TG_ERR_TAPE if `t` is a stale tensor, made
 * on a tape before its last reset. `what` names the argument in the message
 * ("x", "weight", "input 2"). Returns TG_OK or the status reported. */
tg_status tg_tensor_check(const char *function, const char *what, const tg_tensor *t);
/* Checks a shape for a tensor of `dtype` and stores its element count in
 * *numel, reporting under `function`'s name: TG_ERR_DTYPE for an unknown
 * dtype, TG_ERR_SHAPE for a rank outside 0..TG_MAX_RANK or a negative size,
 * TG_ERR_ARGUMENT for a NULL shape with rank > 0 or a NULL numel, and
 * TG_ERR_MEMORY for sizes whose product (zeros skipped) is too large to
 * address. Returns TG_OK or the status reported; *numel is set on TG_OK. */
tg_status tg_shape_validate(const char *function, int rank, const int64_t *shape, tg_dtype dtype, int64_t *numel);
/* Counts one in-place change of `t`'s values (its version + 1; tape.h,
 * "In-place changes"): call it after writing into the data of an existing
 * tensor by any means other than the library's functions, so that backward
 * can tell that an op's recorded input changed. Thread-safe (an atomic add).
 * `t` must not be NULL. */
void tg_tensor_changed(const tg_tensor *t);

/* True when both have the same rank and sizes. */
bool tg_same_shape(const tg_tensor *a, const tg_tensor *b);
/* Writes "(3,1,4)" into buf (always NUL-terminated); returns buf. A NULL
 * buf or size 0, a rank outside 0..TG_MAX_RANK or a NULL shape for rank > 0
 * is reported (TG_ERR_ARGUMENT) and leaves buf empty. */
char *tg_shape_string(char *buf, size_t size, int rank, const int64_t *shape);

/* Prints like numpy: "tensor([[1.0000, 2.0000], ...], dtype=float32)" and a
 * newline; integers print as integers ("tensor([3, -1], dtype=int64)"). Large tensors (> 1000 elements) are summarized with "..." the way
 * numpy does. NULL prints "tensor(NULL)"; a stale tensor is reported and
 * prints "tensor(<stale>)". */
void tg_print(const tg_tensor *t);
void tg_fprint(FILE *out, const tg_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
