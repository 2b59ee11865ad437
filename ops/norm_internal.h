/* ops/norm_internal.h — the pieces of norm.c and dropout.c that tests reach
 * (internal; not installed): the normalization ops as they are composed from
 * primitive ops (the reference the fused ops are tested equal to), the fused
 * ops themselves, and the counter-based generator behind dropout's mask. */
#ifndef TG_OPS_NORM_INTERNAL_H
#define TG_OPS_NORM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/norm.h"

/* x seen as (A, B, D), normalized per b over its A*D elements (a, b, d):
 *   normalize(x)         = (x - mean) / sqrt(var + eps)     (biased var)
 *   normalize_grad(g, x) = r (g - mean(g) - y mean(g y))    its backward,
 * with r = 1 / sqrt(var + eps), y = normalize(x). Layer norm is
 * (1, rows, row length), batch norm (N, C, spatial), group norm
 * (1, N * groups, C / groups * spatial). x must be float32 or float64 with
 * A * B * D elements (numel), D * A >= 1, eps > 0; errors under `function`. */
tg_tensor *tgi_normalize(const char *function, tg_tensor *x, int64_t a, int64_t b, int64_t d, double eps);
tg_tensor *tgi_normalize_grad(const char *function, tg_tensor *g, tg_tensor *x, int64_t a, int64_t b, int64_t d,
                             double eps);

/* The same functions as tg_layer_norm, tg_batch_norm and tg_group_norm, with
 * the same checks and errors, composed from primitive ops (mean, sub, mul,
 * pow) instead of the fused normalize op. */
tg_tensor *tgi_layer_norm_composed(tg_tensor *x, int n_normalized_axes, tg_tensor *weight, tg_tensor *bias,
                                  double eps);
tg_tensor *tgi_batch_norm_composed(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, tg_tensor *running_mean,
                                  tg_tensor *running_var, bool training, double momentum, double eps);
tg_tensor *tgi_group_norm_composed(tg_tensor *x, int groups, tg_tensor *weight, tg_tensor *bias, double eps);

/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011): four 32-bit words from a 128-bit counter and a 64-bit key. */
void tgi_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

#endif
