/* tapegrad/autodiff.h — products with Jacobians and Hessians of a user
 * function, and dense Jacobians and Hessians of small ones.
 *
 * Each function takes f(inputs) written with tapegrad ops (the same function
 * type as tg_gradcheck's, so one f serves both) and evaluates it on a private
 * tape with grad mode on: the caller's current tape is neither read nor
 * grown, and the inputs' .grad and requires_grad end as they began. Inputs
 * are persistent float32 or float64 tensors (not tape tensors; tg_clone one).
 * Every result is a new persistent tensor the caller frees with tg_free.
 *
 * Costs are counted in forward evaluations of f and backward passes; a
 * "double backward" pass walks the graph of a first backward pass recorded
 * with create_graph, and costs about as much as two plain ones. Where f does
 * not depend on an input at all, its gradient (and every product) is zero.
 *
 * Errors (all reported through tg_error_report under the function called):
 * a NULL f or list, n < 1, a NULL, stale or tape input (TG_ERR_ARGUMENT), a
 * vector or tangent of the wrong shape (TG_ERR_SHAPE), a non-scalar f where a
 * scalar is needed (TG_ERR_SHAPE), a result too large (TG_ERR_MEMORY or
 * TG_ERR_SHAPE for more than TG_MAX_RANK axes), and f failing (its own error
 * passes through; a NULL without a reported error is TG_ERR_ARGUMENT). On an
 * error every output pointer is set to NULL and nothing is leaked. */
#ifndef TAPEGRAD_AUTODIFF_H
#define TAPEGRAD_AUTODIFF_H

#include "error.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The function differentiated: builds its output from `inputs` with tapegrad
 * ops and returns it (a tape tensor), or NULL on error. It must be
 * deterministic and must not keep the tensors it is given. */
typedef tg_tensor *(*tg_autodiff_fn)(tg_tensor *const *inputs, int n_inputs, void *ctx);

/* Vector-Jacobian product: vjp[i] = J_i^T v = d<v, f(x)>/d inputs[i], shaped
 * and typed like inputs[i]. `v` has f's output shape (any float dtype; it is
 * converted); NULL means 1 and needs a one-element output. `value` (may be
 * NULL) receives f(x). `vjp` points to n slots.
 * Cost: 1 forward, 1 backward pass. */
tg_status tg_vjp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, const tg_tensor *v, tg_tensor **value,
                 tg_tensor **vjp);

/* Jacobian-vector product (forward mode): *jvp = sum_i J_i tangents[i], of
 * f's output shape and dtype; tangents[i] has inputs[i]'s shape (any float
 * dtype). Computed by the double-VJP trick: with u a dummy of the output's
 * shape, g(u) = J^T u is linear in u, so J v = d<g(u), v>/du. `value` (may be
 * NULL) receives f(x).
 * Cost: 1 forward, 1 backward pass recorded (create_graph), 1 double
 * backward pass. */
tg_status tg_jvp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor *const *tangents,
                 tg_tensor **value, tg_tensor **jvp);

/* Hessian-vector product of a scalar f (one-element output):
 * hvp[i] = sum_k d^2 f / (d inputs[i] d inputs[k]) v[k], shaped and typed
 * like inputs[i]; v[k] has inputs[k]'s shape (any float dtype). `value`
 * (may be NULL) receives f(x). Reverse-over-reverse: the gradient recorded
 * with create_graph, then the gradient of <grad f, v>.
 * Cost: 1 forward, 1 backward pass recorded, 1 double backward pass. */
tg_status tg_hvp(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor *const *v,
                 tg_tensor **value, tg_tensor **hvp);

/* Dense Jacobians: jacobians[i] (float64) has shape out_shape ++ inputs[i]'s
 * shape (as torch.autograd.functional.jacobian), entry [j..., k...] =
 * d f_j / d x_k. Rows come from repeated VJPs over one forward graph (f is
 * evaluated again when the tape passes 64 MiB). More than TG_MAX_RANK axes
 * is TG_ERR_SHAPE. For small functions: memory numel(out) x numel(inputs).
 * Cost: 1 forward, numel(out) backward passes. */
tg_status tg_jacobian(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor **jacobians);

/* Dense Hessian of a scalar f: *hessian is float64 (N, N), N the total
 * number of input entries, the inputs flattened and concatenated in order
 * (so for one input x of shape (d), H[a][b] = d^2 f / dx_a dx_b). Row k is
 * the gradient of the k-th gradient entry, from one backward pass over the
 * recorded gradient graph.
 * Cost: 1 forward, 1 backward pass recorded, N double backward passes. */
tg_status tg_hessian(tg_autodiff_fn f, void *ctx, int n, tg_tensor *const *inputs, tg_tensor **hessian);

#ifdef __cplusplus
}
#endif
#endif
