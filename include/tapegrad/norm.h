/* tapegrad/norm.h — normalization and dropout, as functions (the layers in
 * nn.h are built on them). PyTorch's torch.nn.functional semantics.
 *
 * Every function returns a new tensor owned by a tape (see tape.h; the one
 * exception, tg_dropout's identity case, returns x itself), or NULL after
 * reporting an error (see error.h). x is float32 or float64; weight,
 * bias and running statistics, when given, have x's dtype (TG_ERR_DTYPE
 * otherwise). eps must be finite and > 0 (TG_ERR_ARGUMENT). The gradients
 * flow to x, weight and bias through the batch statistics (the mean and the
 * variance are functions of x), and can be differentiated again.
 */
#ifndef TAPEGRAD_NORM_H
#define TAPEGRAD_NORM_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Layer normalization over the last n_normalized_axes axes of x
 * (1 <= n_normalized_axes <= rank, else TG_ERR_AXIS): each slice over those
 * axes becomes (x - mean) / sqrt(var + eps), var the biased variance (divided
 * by the element count), then times weight and plus bias, elementwise. weight
 * and bias may each be NULL (no scale, no shift); given, their shape is the
 * normalized shape, x's last n_normalized_axes sizes (TG_ERR_SHAPE naming
 * both shapes). The output has x's shape. TG_ERR_SHAPE also for a normalized
 * shape with no element. As F.layer_norm(x, x.shape[-n:], weight, bias, eps). */
tg_tensor *tg_layer_norm(tg_tensor *x, int n_normalized_axes, tg_tensor *weight, tg_tensor *bias, double eps);

/* Batch normalization of x, (N, C) or (N, C, d1, ...), per channel c over
 * the N * d1 * ... elements of that channel:
 *   y = (x - mean_c) / sqrt(var_c + eps) * weight[c] + bias[c].
 * Training, or running_mean and running_var both NULL: mean_c and var_c are
 * the batch's (var biased), and need N * d1 * ... > 1 (TG_ERR_SHAPE). In
 * training with running statistics, these are updated in place (not
 * recorded, their versions bumped) with the unbiased batch variance:
 *   running = (1 - momentum) running + momentum batch_statistic.
 * Otherwise (evaluation) the running statistics are used and left alone.
 * weight, bias (each may be NULL), running_mean and running_var (both NULL
 * or both given) have shape (C) (TG_ERR_SHAPE); running statistics are
 * buffers: they must not require a gradient (TG_ERR_ARGUMENT). rank < 2 is
 * TG_ERR_SHAPE; momentum must lie in [0, 1] (TG_ERR_ARGUMENT). As
 * F.batch_norm(x, running_mean, running_var, weight, bias, training,
 * momentum, eps). */
tg_tensor *tg_batch_norm(tg_tensor *x, tg_tensor *weight, tg_tensor *bias, tg_tensor *running_mean,
                         tg_tensor *running_var, bool training, double momentum, double eps);

/* Group normalization of x, (N, C, d1, ...): the C channels are split into
 * `groups` consecutive groups (groups >= 1 dividing C, else
 * TG_ERR_ARGUMENT), and each sample's group is normalized over its
 * C / groups * d1 * ... elements (biased variance), then times weight[c]
 * plus bias[c]. weight and bias may be NULL; given, shape (C)
 * (TG_ERR_SHAPE). rank < 2 is TG_ERR_SHAPE. As F.group_norm(x, groups,
 * weight, bias, eps). */
tg_tensor *tg_group_norm(tg_tensor *x, int groups, tg_tensor *weight, tg_tensor *bias, double eps);

/* Inverted dropout: in training with p > 0, each element is kept with
 * probability 1 - p and scaled by 1 / (1 - p), or set to 0. The mask is a
 * function of (seed, counter, element index) only, from a counter-based
 * generator (Philox-4x32-10: key = seed, counter = (index / 4, counter)),
 * so it is the same on any thread count and after a resume: the caller
 * (a Dropout layer) passes a new counter for every call and saves it with
 * its state. Backward multiplies by the same mask and scale (regenerated,
 * not stored). Not training, or p == 0: returns x itself (no copy, nothing
 * recorded), as PyTorch does. p must lie in [0, 1) (TG_ERR_ARGUMENT). */
tg_tensor *tg_dropout(tg_tensor *x, double p, bool training, uint64_t seed, uint64_t counter);

#ifdef __cplusplus
}
#endif
#endif
