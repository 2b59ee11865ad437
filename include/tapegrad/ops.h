/* tapegrad/ops.h — the differentiable ops.
 *
 * Every function returns a new tensor owned by a tape (see tape.h), or NULL
 * after reporting an error (see error.h). Inputs are never modified. Binary
 * ops need equal dtypes and broadcast like NumPy: shapes are aligned at the
 * right, and each pair of sizes must be equal or contain a 1. Their gradients
 * are summed back to each input's shape. Axes may be negative (-1 = last).
 * Formulas are given as f(x) and, after "d:", the derivative backward uses.
 */
#ifndef TAPEGRAD_OPS_H
#define TAPEGRAD_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- binary, broadcasting ---- */
tg_tensor *tg_add(tg_tensor *a, tg_tensor *b); /* a + b        d: 1, 1               */
tg_tensor *tg_sub(tg_tensor *a, tg_tensor *b); /* a - b        d: 1, -1              */
tg_tensor *tg_mul(tg_tensor *a, tg_tensor *b); /* a * b        d: b, a               */
tg_tensor *tg_div(tg_tensor *a, tg_tensor *b); /* a / b        d: 1/b, -a/b^2        */

/* ---- selection, broadcasting ----
 * a where mask is nonzero, b where it is 0 (numpy.where on a float condition:
 * a NaN in mask selects a). mask, a and b share one dtype and broadcast
 * together; the output has their broadcast shape. The element not chosen is
 * never read into the result: where(m, x, zeros) is 0 where m is 0 even if x
 * is -inf or NaN there, unlike m * x. mask is a selector (made by
 * tg_gt_scalar and the like) and gets no gradient.
 * d: g where mask is nonzero, else 0 (to a); the rest (to b).
 * Errors: dtypes that differ (TG_ERR_DTYPE), shapes that do not broadcast
 * (TG_ERR_SHAPE), NULL or stale tensors, tensors of two tapes. */
tg_tensor *tg_where(tg_tensor *mask, tg_tensor *a, tg_tensor *b);

/* ---- with a scalar constant (c and p must be finite, else TG_ERR_ARGUMENT) ---- */
tg_tensor *tg_add_scalar(tg_tensor *x, double c); /* x + c     d: 1                   */
tg_tensor *tg_mul_scalar(tg_tensor *x, double c); /* x * c     d: c                   */
/* x^p as C pow: NaN for x < 0 with a non-integer p.   d: p x^(p-1), 0 when p = 0 */
tg_tensor *tg_pow(tg_tensor *x, double p);

/* ---- unary ---- */
tg_tensor *tg_neg(tg_tensor *x);     /* -x                     d: -1                   */
tg_tensor *tg_exp(tg_tensor *x);     /* e^x                    d: e^x                  */
tg_tensor *tg_log(tg_tensor *x);     /* ln x (x > 0)           d: 1/x                  */
tg_tensor *tg_sqrt(tg_tensor *x);    /* sqrt x (x >= 0)        d: 1/(2 sqrt x)         */
tg_tensor *tg_abs(tg_tensor *x);     /* |x|                    d: sign(x), 0 at 0      */
tg_tensor *tg_tanh(tg_tensor *x);    /* tanh x                 d: 1 - tanh^2 x         */
tg_tensor *tg_relu(tg_tensor *x);    /* max(0, x)              d: 1 if x > 0 else 0    */
tg_tensor *tg_sigmoid(tg_tensor *x); /* 1/(1+e^-x), stable     d: s(1-s)               */
tg_tensor *tg_erf(tg_tensor *x);     /* erf x, C's erf         d: 2/sqrt(pi) e^(-x^2)  */
/* min(max(x, lo), hi).                d: 1 strictly inside (lo, hi), else 0
 * lo <= hi and neither NaN (TG_ERR_ARGUMENT); either may be infinite for a
 * one-sided clamp. A NaN element stays NaN. */
tg_tensor *tg_clamp(tg_tensor *x, double lo, double hi);

/* ---- not differentiable (no gradient flows through them; masks for rules) ----
 * Outputs have x's shape and dtype and are never recorded. */
/* c must not be NaN (TG_ERR_ARGUMENT); a NaN element gives 0. */
tg_tensor *tg_gt_scalar(tg_tensor *x, double c); /* 1 where x > c, else 0 */
tg_tensor *tg_lt_scalar(tg_tensor *x, double c); /* 1 where x < c, else 0 */
tg_tensor *tg_sign(tg_tensor *x);                /* -1, 0 or 1; NaN stays NaN */
/* 1 at the first maximum along `axis` (all elements, in flat order, when axis
 * is TG_ALL_AXES), 0 elsewhere; same shape as x. A NaN counts as the maximum
 * (the first NaN wins, as numpy.argmax). TG_ERR_AXIS for an axis outside
 * [-rank, rank); a rank-0 x accepts only TG_ALL_AXES (and gives 1). */
tg_tensor *tg_argmax_mask(tg_tensor *x, int axis);
#define TG_ALL_AXES (-1000)
/* The index of the first maximum along `axis`, as an int64 tensor of x's
 * shape without that axis (torch.argmax(x, axis)); with TG_ALL_AXES the flat
 * index of the first maximum over all elements, rank 0. A NaN counts as the
 * maximum, as in tg_argmax_mask. x may be float or integer (exact below
 * 2^53). Never recorded (no gradient). Errors: TG_ERR_AXIS for an axis
 * outside [-rank, rank), TG_ERR_SHAPE for an empty axis or an empty x. */
tg_tensor *tg_argmax(tg_tensor *x, int axis);

/* ---- reductions ----
 * Over all elements (rank-0 result) or over a list of distinct axes; keepdim
 * keeps the reduced axes as size 1, so the result broadcasts against x.
 * n_axes == 0 with axes == NULL means every axis; an empty non-NULL list
 * reduces nothing (a copy). float32 sums accumulate in double. The sum of
 * zero elements is 0; mean or max of zero elements is TG_ERR_SHAPE. A bad
 * axis, or one listed twice, is TG_ERR_AXIS.
 *   sum:  d: g broadcast back over the reduced axes
 *   mean: d: g / count broadcast back
 *   max:  NaN if any element is NaN.  d: g at the first arg-max, 0 elsewhere */
tg_tensor *tg_sum(tg_tensor *x);
tg_tensor *tg_mean(tg_tensor *x);
tg_tensor *tg_max(tg_tensor *x);
tg_tensor *tg_sum_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim);
tg_tensor *tg_mean_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim);
tg_tensor *tg_max_axis(tg_tensor *x, int axis, bool keepdim);

/* ---- broadcasting, as ops (their gradients are each other) ---- */
/* Copies x along the axes where it is broadcast to `shape`: x's shape,
 * aligned at the right, must match or be 1 (so (3,1) -> (2,3,4) is fine).
 * Equal shapes give a copy. TG_ERR_SHAPE otherwise.          d: sum_to   */
tg_tensor *tg_expand(tg_tensor *x, int rank, const int64_t *shape);
/* Sums x down to `shape`, which must broadcast to x's shape: x's leading
 * extra axes and the axes where `shape` has 1 are summed ((2,3,4) -> (3,1)
 * sums axes 0 and 2). TG_ERR_SHAPE otherwise.                 d: expand   */
tg_tensor *tg_sum_to(tg_tensor *x, int rank, const int64_t *shape);

/* ---- shape (each returns a copy; no op returns a view of its input) ---- */
/* The same elements in row-major order, in a new shape with the same count.
 * One size may be -1: it is inferred (impossible when another size is 0).
 * TG_ERR_SHAPE naming both shapes when the counts differ.  d: reshape back */
tg_tensor *tg_reshape(tg_tensor *x, int rank, const int64_t *shape);
/* Swaps the last two axes: (..., m, n) -> (..., n, m). TG_ERR_SHAPE for
 * rank < 2. A permute; d: transpose. */
tg_tensor *tg_transpose(tg_tensor *x);
/* Output axis i is input axis perm[i]; perm (rank entries, negative allowed)
 * is a permutation of 0..rank-1, else TG_ERR_AXIS. (2,3,4) by {2,0,1} is
 * (4,2,3).                                   d: the inverse permutation */
tg_tensor *tg_permute(tg_tensor *x, const int *perm);
/* Elements [start, stop) along `axis`; 0 <= start <= stop <= size, else
 * TG_ERR_ARGUMENT (no negative or clamped bounds).
 * d: the gradient padded with zeros back to x's size. */
tg_tensor *tg_slice(tg_tensor *x, int axis, int64_t start, int64_t stop);
/* Zeros added along `axis`: `before` in front, `after` behind (both >= 0,
 * else TG_ERR_ARGUMENT).  d: the slice of the gradient at the original place. */
tg_tensor *tg_pad(tg_tensor *x, int axis, int64_t before, int64_t after);
/* Joins 1 <= n <= TG_MAX_INPUTS tensors along `axis`: same dtype
 * (TG_ERR_DTYPE), same rank and sizes except along `axis` (TG_ERR_SHAPE).
 * d: each input gets the slice of the gradient where it was. */
tg_tensor *tg_concat(int n, tg_tensor *const *tensors, int axis);
/* Converts to another dtype (or copies, for the same dtype); float64 ->
 * float32 and int64 -> float round to nearest; float -> int64 / int32
 * truncates toward zero, as torch's .long() (-2.7 -> -2); a NaN, an infinity
 * or a value out of the integer range is refused (TG_ERR_ARGUMENT naming the
 * element). No gradient flows into or out of an integer tensor: the result
 * of a conversion to an integer dtype does not require one.
 * d: the gradient converted back (between float dtypes) */
tg_tensor *tg_to_dtype(tg_tensor *x, tg_dtype dtype);

/* ---- linear algebra ---- */
/* Matrix product. 2-D: (m,k) @ (k,n) -> (m,n). Rank > 2: batched over the
 * leading axes, which broadcast ((2,1,3,4) @ (5,4,6) -> (2,5,3,6); a 2-D
 * operand is shared by every batch entry); a 1-D operand is not accepted
 * (reshape it to (1,k) or (k,1)). k = 0 gives zeros.
 * d: dA = G @ B^T, dB = A^T @ G (summed over broadcast batch axes).
 * Errors: TG_ERR_SHAPE for rank < 2, inner sizes that differ ("tg_matmul:
 * inner dimensions differ: (3,4) @ (5,2)") or batch axes that do not
 * broadcast; TG_ERR_DTYPE for mixed dtypes. */
tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b);
/* op(a) @ op(b) where op transposes the last two axes when the flag is set;
 * the transposed operand is read in place, never copied. Errors as
 * tg_matmul, with transposed shapes shown as given and marked: (4,3)^T. */
tg_tensor *tg_matmul_t(tg_tensor *a, bool transpose_a, tg_tensor *b, bool transpose_b);

/* ---- softmax family (stable: the max along the axis is subtracted) ---- */
/* Both refuse an axis outside [-rank, rank) and a rank-0 x (TG_ERR_AXIS). */
/* y = e^x / sum e^x along axis.     d: y * (g - sum(g*y)) */
tg_tensor *tg_softmax(tg_tensor *x, int axis);
/* y = x - log sum e^x along axis.   d: g - e^y * sum(g)   */
tg_tensor *tg_log_softmax(tg_tensor *x, int axis);

/* ---- attention ---- */
/* PyTorch's F.scaled_dot_product_attention without dropout:
 *   out = softmax(scale q k^T + mask) v      (softmax along the key axis)
 * q (..., T, d), k (..., S, d), v (..., S, dv) -> (..., T, dv); the leading
 * (batch, head, ...) axes must be equal in all three (no broadcasting).
 * mask (NULL for none) is an additive float mask of q's dtype broadcastable
 * to (..., T, S): 0 keeps a score, -inf removes it; it gets a gradient when
 * it requires one. is_causal also removes key j for query i when j > i
 * (PyTorch's tril(ones(T, S)), top-left aligned). scale 0 means 1/sqrt(d).
 * A query row whose keys are all removed is NaN, as softmax of all -inf.
 * One op: the forward is tiled (online softmax, no (T, S) matrix; memory
 * O(T d) per head); the backward recomputes the softmax with ops, so it
 * holds one (T, S) matrix per head and can be differentiated again.
 * d: dv = P^T g, dq = scale dS k, dk = scale dS^T q, dmask = dS, where
 * P = softmax(...) and dS = P (g v^T - sum(g v^T P)).
 * Errors: TG_ERR_DTYPE for mixed dtypes; TG_ERR_SHAPE for rank < 2, shapes
 * that do not fit, d or S of 0, a mask that does not broadcast;
 * TG_ERR_ARGUMENT for a non-finite scale; NULL or stale tensors. */
tg_tensor *tg_scaled_dot_product_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *mask,
                                           bool is_causal, double scale);

#ifdef __cplusplus
}
#endif
#endif
