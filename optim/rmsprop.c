/* optim/rmsprop.c — RMSprop (torch.optim.RMSprop; formulas in optim.h). The
 * operations follow PyTorch's single-tensor implementation:
 *   g <- g + lambda W                 grad.add(param, alpha=weight_decay)
 *   v <- alpha v + (1 - alpha) g g    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
 *   centered:
 *     a <- alpha a + (1 - alpha) g    grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
 *     d = sqrt(v - a a) + eps         square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_().add_(eps)
 *   else d = sqrt(v) + eps            square_avg.sqrt().add_(eps)
 *   momentum > 0:
 *     b <- mu b + g / d               buf.mul_(momentum).addcdiv_(grad, avg)
 *     W <- W - lr b                   param.add_(buf, alpha=-lr)
 *   else W <- W - lr g / d            param.addcdiv_(grad, avg, value=-lr)
 * (v - a^2 >= 0 in exact arithmetic: v and a are the same weighted averages
 * of g^2 and g. Rounding could make it slightly negative when the gradient
 * never varies; PyTorch has the same property.) */
#include <math.h>

#include "optim_internal.h"

/* `average` is NULL unless centered, `buffer` NULL unless momentum > 0. */
#define DEFINE_RMSPROP_UPDATE(T, SQRT)                                                                              \
    static void rmsprop_update_##T(int64_t n, T *w, const T *grad, T *square_avg, T *average, T *buffer, T lr,     \
                                   T lambda, T alpha, T keep, T mu, T eps) {                                        \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            T g = grad[k];                                                                                          \
            if (lambda != 0) g += lambda * w[k];                                                                    \
            square_avg[k] = alpha * square_avg[k] + keep * g * g;                                                   \
            T denom;                                                                                                \
            if (average) {                                                                                          \
                average[k] = alpha * average[k] + keep * g;                                                         \
                denom = SQRT(square_avg[k] - average[k] * average[k]) + eps;                                        \
            } else {                                                                                                \
                denom = SQRT(square_avg[k]) + eps;                                                                  \
            }                                                                                                       \
            if (buffer) {                                                                                           \
                buffer[k] = mu * buffer[k] + g / denom;                                                             \
                w[k] -= lr * buffer[k];                                                                             \
            } else {                                                                                                \
                w[k] -= lr * g / denom;                                                                             \
            }                                                                                                       \
        }                                                                                                           \
    }
DEFINE_RMSPROP_UPDATE(float, sqrtf)
DEFINE_RMSPROP_UPDATE(double, sqrt)

void tgi_optim_rmsprop_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t) {
    (void)t; /* RMSprop has no bias correction */
    void *average = slots[2] ? slots[2]->data : NULL, *buffer = slots[1] ? slots[1]->data : NULL;
    double keep = 1 - c->rms_decay;
    if (param->dtype == TG_F32)
        rmsprop_update_float(param->numel, param->data, param->grad->data, slots[0]->data, average, buffer,
                             (float)c->lr, (float)c->weight_decay, (float)c->rms_decay, (float)keep,
                             (float)c->momentum, (float)c->eps);
    else
        rmsprop_update_double(param->numel, param->data, param->grad->data, slots[0]->data, average, buffer, c->lr,
                              c->weight_decay, c->rms_decay, keep, c->momentum, c->eps);
}
