/* tapegrad/optim.h — optimizers: read parameters' gradients, update values.
 *
 * An optimizer holds a list of persistent parameters (tensors with
 * requires_grad, see tensor.h) and updates them in place from their
 * accumulated .grad. It never records on a tape. Typical step:
 *
 *     tg_optimizer_zero_grad(opt);
 *     loss = ...ops...;
 *     tg_backward(loss, NULL);
 *     tg_optimizer_step(opt);
 *     tg_tape_reset(tg_tape_current());
 */
#ifndef TAPEGRAD_OPTIM_H
#define TAPEGRAD_OPTIM_H

#include "error.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_optimizer tg_optimizer;

/* Plain gradient descent, exactly as the seeds write it: W <- W - lr * dW.
 * `params` (n >= 1 persistent tensors that require grad) are not owned. The
 * list is copied. Errors: NULL or tape tensors, a parameter that does not
 * require grad, lr not finite or <= 0. */
tg_optimizer *tg_sgd_new(int n, tg_tensor *const *params, double lr);

/* Applies one update to every parameter that has a gradient (a parameter
 * whose .grad is still NULL is left as it is). */
tg_status tg_optimizer_step(tg_optimizer *opt);
/* Zeroes every parameter's gradient. */
void tg_optimizer_zero_grad(tg_optimizer *opt);
/* The learning rate in use, and a way to change it (schedules). */
double tg_optimizer_lr(const tg_optimizer *opt);
tg_status tg_optimizer_set_lr(tg_optimizer *opt, double lr);
void tg_optimizer_free(tg_optimizer *opt);

#ifdef __cplusplus
}
#endif
#endif
