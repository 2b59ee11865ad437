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

/* ---- with a scalar constant ---- */
tg_tensor *tg_add_scalar(tg_tensor *x, double c); /* x + c     d: 1                   */
tg_tensor *tg_mul_scalar(tg_tensor *x, double c); /* x * c     d: c                   */
tg_tensor *tg_pow(tg_tensor *x, double p);        /* x^p       d: p x^(p-1)           */

/* ---- unary ---- */
tg_tensor *tg_neg(tg_tensor *x);     /* -x                     d: -1                   */
tg_tensor *tg_exp(tg_tensor *x);     /* e^x                    d: e^x                  */
tg_tensor *tg_log(tg_tensor *x);     /* ln x (x > 0)           d: 1/x                  */
tg_tensor *tg_sqrt(tg_tensor *x);    /* sqrt x (x >= 0)        d: 1/(2 sqrt x)         */
tg_tensor *tg_abs(tg_tensor *x);     /* |x|                    d: sign(x), 0 at 0      */
tg_tensor *tg_tanh(tg_tensor *x);    /* tanh x                 d: 1 - tanh^2 x         */
tg_tensor *tg_relu(tg_tensor *x);    /* max(0, x)              d: 1 if x > 0 else 0    */
tg_tensor *tg_sigmoid(tg_tensor *x); /* 1/(1+e^-x), stable     d: s(1-s)               */
/* min(max(x, lo), hi), lo <= hi.      d: 1 strictly inside (lo, hi), else 0 */
tg_tensor *tg_clamp(tg_tensor *x, double lo, double hi);

/* ---- not differentiable (no gradient flows through them; masks for rules) ---- */
tg_tensor *tg_gt_scalar(tg_tensor *x, double c); /* 1 where x > c, else 0 */
tg_tensor *tg_lt_scalar(tg_tensor *x, double c); /* 1 where x < c, else 0 */
tg_tensor *tg_sign(tg_tensor *x);                /* -1, 0 or 1            */
/* 1 at the first maximum along `axis` (all elements when axis is
 * TG_ALL_AXES), 0 elsewhere; same shape as x. */
tg_tensor *tg_argmax_mask(tg_tensor *x, int axis);
#define TG_ALL_AXES (-1000)

/* ---- reductions ---- */
tg_tensor *tg_sum(tg_tensor *x);  /* sum of all elements, rank 0        */
tg_tensor *tg_mean(tg_tensor *x); /* mean of all elements, rank 0       */
tg_tensor *tg_max(tg_tensor *x);  /* max of all; gradient to the first arg-max */
/* Over the listed axes (distinct); keepdim keeps them as size 1. */
tg_tensor *tg_sum_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim);
tg_tensor *tg_mean_axes(tg_tensor *x, int n_axes, const int *axes, bool keepdim);
tg_tensor *tg_max_axis(tg_tensor *x, int axis, bool keepdim);

/* ---- broadcasting, as ops (their gradients are each other) ---- */
/* Broadcasts x to `shape` (x's shape must broadcast to it).  d: sum_to     */
tg_tensor *tg_expand(tg_tensor *x, int rank, const int64_t *shape);
/* Sums x down to `shape`, which must broadcast to x's shape. d: expand    */
tg_tensor *tg_sum_to(tg_tensor *x, int rank, const int64_t *shape);

/* ---- shape ---- */
/* Same data, new shape with equal element count; one size may be -1. */
tg_tensor *tg_reshape(tg_tensor *x, int rank, const int64_t *shape);
/* Swaps the last two axes (rank >= 2). */
tg_tensor *tg_transpose(tg_tensor *x);
/* Output axis i is input axis perm[i]; perm is a permutation of 0..rank-1. */
tg_tensor *tg_permute(tg_tensor *x, const int *perm);
/* Elements [start, stop) along `axis`; 0 <= start <= stop <= size. */
tg_tensor *tg_slice(tg_tensor *x, int axis, int64_t start, int64_t stop);
/* Zeros added along `axis`: `before` in front, `after` behind (both >= 0).
 * d: the slice of the gradient at the original place. */
tg_tensor *tg_pad(tg_tensor *x, int axis, int64_t before, int64_t after);
/* Joins n >= 1 tensors of equal shape except along `axis`. */
tg_tensor *tg_concat(int n, tg_tensor *const *tensors, int axis);
/* Converts to another dtype.   d: the gradient converted back */
tg_tensor *tg_to_dtype(tg_tensor *x, tg_dtype dtype);

/* ---- linear algebra ---- */
/* Matrix product. 2-D: (m,k) @ (k,n) -> (m,n). Rank > 2: batched over the
 * leading axes, which broadcast; a 1-D operand is not accepted (reshape it).
 * d: dA = G @ B^T, dB = A^T @ G (summed over broadcast batch axes). */
tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b);
/* op(a) @ op(b) where op transposes the last two axes when the flag is set;
 * the transposed operand is read in place, never copied. */
tg_tensor *tg_matmul_t(tg_tensor *a, bool transpose_a, tg_tensor *b, bool transpose_b);

/* ---- softmax family (stable: the max along the axis is subtracted) ---- */
/* y = e^x / sum e^x along axis.     d: y * (g - sum(g*y)) */
tg_tensor *tg_softmax(tg_tensor *x, int axis);
/* y = x - log sum e^x along axis.   d: g - e^y * sum(g)   */
tg_tensor *tg_log_softmax(tg_tensor *x, int axis);

#ifdef __cplusplus
}
#endif
#endif
