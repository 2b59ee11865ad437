/* optim/sgd.c — stochastic gradient descent: plain, with momentum, Nesterov
 * (torch.optim.SGD; formulas in optim.h). Each operation below is one of
 * PyTorch's in-place tensor operations, in its order:
 *   g <- g + lambda W            d_p.add(param, alpha=weight_decay)
 *   b <- mu b + (1 - tau) g      buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
 *   W <- W - lr d                param.add_(d_p, alpha=-lr)
 * Plain SGD is exactly the seeds' W <- W - lr dW. */
#include "tapegrad/simd.h"
#include "optim_internal.h"

/* The rule for one element type T; `buffer` is NULL for plain SGD. */
#define DEFINE_SGD_UPDATE(T)                                                                                        \
    TG_HOT_CLONES static void sgd_update_##T(int64_t n, T *restrict w, const T *restrict grad, T *restrict buffer, T lr,      \
                               T lambda, T mu, T keep, bool nesterov, bool first) {                                 \
        if (!buffer && lambda == 0) { /* the seeds' W <- W - lr dW: a vectorized loop */                            \
            TG_FOR_SIMD(k, 0, n, w[k] -= lr * grad[k]);                                                             \
            return;                                                                                                 \
        }                                                                                                           \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            T g = grad[k];                                                                                          \
            if (lambda != 0) g += lambda * w[k];                                                                    \
            if (buffer) {                                                                                           \
                buffer[k] = first ? g : mu * buffer[k] + keep * g;                                                  \
                g = nesterov ? g + mu * buffer[k] : buffer[k];                                                      \
            }                                                                                                       \
            w[k] -= lr * g;                                                                                         \
        }                                                                                                           \
    }
DEFINE_SGD_UPDATE(float)
DEFINE_SGD_UPDATE(double)

void tgi_optim_sgd_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t) {
    bool nesterov = c->kind == TG_OPT_NESTEROV, first = t == 1;
    double keep = 1 - c->dampening;
    tg_tensor *buffer = slots[0];
    if (param->dtype == TG_F32)
        sgd_update_float(param->numel, param->data, param->grad->data, buffer ? buffer->data : NULL, (float)c->lr,
                         (float)c->weight_decay, (float)c->momentum, (float)keep, nesterov, first);
    else
        sgd_update_double(param->numel, param->data, param->grad->data, buffer ? buffer->data : NULL, c->lr,
                          c->weight_decay, c->momentum, keep, nesterov, first);
}

tg_optimizer *tg_sgd_new(int n, tg_tensor *const *params, double lr) {
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_SGD);
    c.lr = lr;
    return tgi_optim_create("tg_sgd_new", n, params, &c);
}
