/* optim/adagrad.c — Adagrad (torch.optim.Adagrad; formula in optim.h). The
 * operations follow PyTorch's single-tensor implementation:
 *   g <- g + lambda W                      grad.add(param, alpha=weight_decay)
 *   clr = lr / (1 + (t - 1) eta)           (in double, once per step)
 *   s <- s + g g                           state_sum.addcmul_(grad, grad, value=1)
 *   W <- W - clr g / (sqrt(s) + eps)       param.addcdiv_(grad, state_sum.sqrt().add_(eps), value=-clr) */
#include <math.h>

#include "optim_internal.h"

#define DEFINE_ADAGRAD_UPDATE(T, SQRT)                                                                              \
    static void adagrad_update_##T(int64_t n, T *w, const T *grad, T *sum, T clr, T lambda, T eps) {               \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            T g = grad[k];                                                                                          \
            if (lambda != 0) g += lambda * w[k];                                                                    \
            sum[k] += g * g;                                                                                        \
            w[k] -= clr * g / (SQRT(sum[k]) + eps);                                                                 \
        }                                                                                                           \
    }
DEFINE_ADAGRAD_UPDATE(float, sqrtf)
DEFINE_ADAGRAD_UPDATE(double, sqrt)

void tgi_optim_adagrad_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t) {
    double clr = c->lr / (1 + (double)(t - 1) * c->lr_decay);
    if (param->dtype == TG_F32)
        adagrad_update_float(param->numel, param->data, param->grad->data, slots[0]->data, (float)clr,
                             (float)c->weight_decay, (float)c->eps);
    else
        adagrad_update_double(param->numel, param->data, param->grad->data, slots[0]->data, clr, c->weight_decay,
                              c->eps);
}
