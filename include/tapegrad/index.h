/* tapegrad/index.h — ops that read or write at integer indices, and the
 * masks (comparisons, masked_fill) that go with them.
 *
 * Indices are int64 or int32 tensors (tensor.h); a float tensor where
 * indices are expected is refused (TG_ERR_DTYPE). Every index is checked
 * before the op runs: a negative one or one at or past its bound is
 * TG_ERR_ARGUMENT, naming the function, the index, its position in idx and
 * the bound ("index 7 at position (1,0) of idx is outside [0, 5), the size
 * of axis 0 of x (5,3)"). Negative indices are not counted from the end.
 * Results belong to a tape, as every op's (ops.h); the index tensor never
 * gets a gradient. The adds (index_add, scatter_add, and the backward of
 * the selections) are deterministic: a repeated index sums its
 * contributions in index order, and the result is the same bits on any
 * number of threads. Axes may be negative (-1 = last).
 */
#ifndef TAPEGRAD_INDEX_H
#define TAPEGRAD_INDEX_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of x along `axis` picked by the rank-1 idx (torch.index_select):
 * out has x's shape with idx's length along the axis, and
 * out[.., j, ..] = x[.., idx[j], ..]. An index may repeat.
 * d: x gets tg_index_add(zeros, axis, idx, g).
 * Errors: idx not of rank 1 (TG_ERR_SHAPE), a bad axis (TG_ERR_AXIS), the
 * index errors above. */
tg_tensor *tg_index_select(tg_tensor *x, int axis, tg_tensor *idx);

/* x with row j of src added into row idx[j] along `axis`, for every j
 * (torch.Tensor.index_add, out of place). idx has rank 1; src has x's shape
 * with idx's length along the axis, and x's dtype. Repeated indices add up.
 * d: x gets g; src gets tg_index_select(g, axis, idx).
 * Errors: shapes as said (TG_ERR_SHAPE), dtypes that differ (TG_ERR_DTYPE),
 * a bad axis, the index errors above. */
tg_tensor *tg_index_add(tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src);

/* torch.gather: idx has x's rank, and along every axis but `axis` a size at
 * most x's; out has idx's shape and, for each position p,
 * out[p] = x[p with its coordinate along the axis replaced by idx[p]].
 * d: x gets tg_scatter_add(zeros, axis, idx, g).
 * Errors: idx's rank or sizes (TG_ERR_SHAPE), a bad axis, the index errors. */
tg_tensor *tg_gather(tg_tensor *x, int axis, tg_tensor *idx);

/* torch.Tensor.scatter_add, out of place: x with src[p] added at p with its
 * coordinate along `axis` replaced by idx[p], for every position p of idx.
 * idx and src have the same shape, idx one that tg_gather accepts for x;
 * src has x's dtype. Repeated targets add up.
 * d: x gets g; src gets tg_gather(g, axis, idx).
 * Errors: shapes (TG_ERR_SHAPE), dtypes (TG_ERR_DTYPE), a bad axis, the
 * index errors. */
tg_tensor *tg_scatter_add(tg_tensor *x, int axis, tg_tensor *idx, tg_tensor *src);

/* A lookup table (torch.nn.functional.embedding): weight is (num, dim), idx
 * of any shape (rank below TG_MAX_RANK) holds row numbers in [0, num); out
 * has shape idx.shape + (dim) and holds those rows of weight.
 * d: weight gets the rows of g added at their indices (tg_index_add).
 * Errors: weight not of rank 2 (TG_ERR_SHAPE), the index errors above. */
tg_tensor *tg_embedding(tg_tensor *weight, tg_tensor *idx);

/* ---- masks ----
 * Comparisons of a and b, broadcasting (ops.h): 1 where the relation holds,
 * else 0. a and b share a dtype (TG_ERR_DTYPE otherwise). The mask is a
 * float tensor so that it multiplies, sums and selects: of a's dtype when
 * a and b are float, float32 when they are int64 / int32 (compared
 * exactly). NaN compares unequal to everything (ne gives 1, the others 0).
 * Not differentiable: never recorded, no gradient flows through them.
 * Errors: dtypes (TG_ERR_DTYPE), shapes that do not broadcast
 * (TG_ERR_SHAPE), NULL or stale tensors. */
tg_tensor *tg_eq(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_ne(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_lt(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_le(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_gt(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_ge(tg_tensor *a, tg_tensor *b);

/* x with `value` where mask is nonzero (torch.Tensor.masked_fill, out of
 * place); value may be an infinity (-inf for attention masks) or NaN. mask
 * has x's float dtype or an integer one, and broadcasts to x's shape (the
 * output keeps x's shape); a NaN in mask fills. mask gets no gradient.
 * d: x gets g where mask is 0, else 0 (tg_masked_fill(g, mask, 0)).
 * Errors: mask's dtype (TG_ERR_DTYPE), a mask that does not broadcast to
 * x's shape (TG_ERR_SHAPE), NULL or stale tensors. */
tg_tensor *tg_masked_fill(tg_tensor *x, tg_tensor *mask, double value);

#ifdef __cplusplus
}
#endif
#endif
