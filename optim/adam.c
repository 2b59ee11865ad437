/* optim/adam.c — Adam and AdamW (torch.optim.Adam / AdamW; formulas in
 * optim.h). The operations follow PyTorch's single-tensor implementation:
 *   AdamW only: W <- W (1 - lr lambda)          param.mul_(1 - lr * weight_decay)
 *   Adam only:  g <- g + lambda W               grad.add(param, alpha=weight_decay)
 *   m <- beta1 m + (1 - beta1) g                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
 *   v <- beta2 v + (1 - beta2) g g              exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
 *   d = sqrt(v) / sqrt(1 - beta2^t) + eps       (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
 *   W <- W - (lr / (1 - beta1^t)) m / d         param.addcdiv_(exp_avg, denom, value=-step_size)
 * The bias corrections and step size are computed in double once per step. */
#include <math.h>

#include "optim_internal.h"

typedef struct adam_coefficients {
    double decay;       /* AdamW: 1 - lr lambda; 1 for Adam     */
    double l2;          /* Adam: lambda; 0 for AdamW            */
    double beta1, keep1; /* beta1, 1 - beta1                    */
    double beta2, keep2; /* beta2, 1 - beta2                    */
    double step_size;   /* lr / (1 - beta1^t)                   */
    double correction2; /* sqrt(1 - beta2^t)                    */
    double eps;
} adam_coefficients;

#define DEFINE_ADAM_UPDATE(T, SQRT)                                                                                 \
    static void adam_update_##T(int64_t n, T *w, const T *grad, T *m, T *v, const adam_coefficients *c) {          \
        const T decay = (T)c->decay, l2 = (T)c->l2, beta1 = (T)c->beta1, keep1 = (T)c->keep1;                       \
        const T beta2 = (T)c->beta2, keep2 = (T)c->keep2, step_size = (T)c->step_size;                              \
        const T correction2 = (T)c->correction2, eps = (T)c->eps;                                                   \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            if (decay != 1) w[k] *= decay;                                                                          \
            T g = grad[k];                                                                                          \
            if (l2 != 0) g += l2 * w[k];                                                                            \
            m[k] = beta1 * m[k] + keep1 * g;                                                                        \
            v[k] = beta2 * v[k] + keep2 * g * g;                                                                    \
            T denom = SQRT(v[k]) / correction2 + eps;                                                               \
            w[k] -= step_size * m[k] / denom;                                                                       \
        }                                                                                                           \
    }
DEFINE_ADAM_UPDATE(float, sqrtf)
DEFINE_ADAM_UPDATE(double, sqrt)

void tg_optim_adam_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t) {
    bool decoupled = c->kind == TG_OPT_ADAMW;
    adam_coefficients k = {
        .decay = decoupled ? 1 - c->lr * c->weight_decay : 1,
        .l2 = decoupled ? 0 : c->weight_decay,
        .beta1 = c->beta1,
        .keep1 = 1 - c->beta1,
        .beta2 = c->beta2,
        .keep2 = 1 - c->beta2,
        .step_size = c->lr / (1 - pow(c->beta1, (double)t)),
        .correction2 = sqrt(1 - pow(c->beta2, (double)t)),
        .eps = c->eps,
    };
    if (param->dtype == TG_F32)
        adam_update_float(param->numel, param->data, param->grad->data, slots[0]->data, slots[1]->data, &k);
    else
        adam_update_double(param->numel, param->data, param->grad->data, slots[0]->data, slots[1]->data, &k);
}

tg_optimizer *tg_adam_new(int n, tg_tensor *const *params, double lr) {
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAM);
    c.lr = lr;
    return tg_optim_create("tg_adam_new", n, params, &c);
}
