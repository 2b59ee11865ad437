/* optim/adam.c — Adam and AdamW (torch.optim.Adam / AdamW; formulas in
 * optim.h). The operations follow PyTorch's single-tensor implementation:
 *   AdamW only: W <- W (1 - lr lambda)          param.mul_(1 - lr * weight_decay)
 *   Adam only:  g <- g + lambda W               grad.add(param, alpha=weight_decay)
 *   m <- beta1 m + (1 - beta1) g                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
 *   v <- beta2 v + (1 - beta2) g g              exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
 *   d = sqrt(v) / sqrt(1 - beta2^t) + eps       (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
 *   W <- W - (lr / (1 - beta1^t)) m / d         param.addcdiv_(exp_avg, denom, value=-step_size)
 * except that the last two lines are computed in the form the Adam paper
 * gives as its efficient version (Kingma & Ba, section 2), multiplied
 * through by c2 = sqrt(1 - beta2^t):
 *   W <- W - (lr c2 / (1 - beta1^t)) m / (sqrt(v) + eps c2)
 * the same value with one division per element instead of two, because the
 * divider (which also takes the square root) bounds the update. The result can differ from PyTorch's in the last bits of the step.
 * The coefficients are computed in double once per step. */
#include <math.h>

#include "tapegrad/simd.h"
#include "tapegrad/threads.h"
#include "optim_internal.h"

typedef struct adam_coefficients {
    double decay;       /* AdamW: 1 - lr lambda; 1 for Adam     */
    double l2;          /* Adam: lambda; 0 for AdamW            */
    double beta1, one_minus_beta1;
    double beta2, one_minus_beta2;
    double step_size;   /* lr sqrt(1 - beta2^t) / (1 - beta1^t) */
    double eps;         /* eps sqrt(1 - beta2^t)                */
} adam_coefficients;

/* One parameter's update, split over the thread pool for large tensors.
 * The loops are vectorized (TG_FOR_SIMD; with -fno-math-errno sqrt is one
 * instruction): the optimizer touches every parameter each step. Each element's arithmetic is the
 * same whatever the split, so the result does not depend on the thread count. */
typedef struct adam_job {
    tg_tensor *param;
    tg_tensor *const *slots;
    const adam_coefficients *c;
} adam_job;

/* The rule for one element type T. The weight-decay branches are taken once
 * per range, outside the loop, so that the loop body has none. */
#define DEFINE_ADAM_RANGE(T, SQRT)                                                                                               \
    TG_HOT_CLONES static void adam_range_##T(T *restrict w, const T *restrict grad, T *restrict m, T *restrict v, int64_t begin, \
                               int64_t end, const adam_coefficients *c) {                                                        \
        const T decay = (T)c->decay, l2 = (T)c->l2, beta1 = (T)c->beta1, one_minus_beta1 = (T)c->one_minus_beta1;                \
        const T beta2 = (T)c->beta2, one_minus_beta2 = (T)c->one_minus_beta2, step_size = (T)c->step_size, eps = (T)c->eps;      \
        if (decay != 1) TG_FOR_SIMD(k, begin, end, w[k] *= decay);                                                               \
        if (l2 != 0) {                                                                                                           \
            TG_FOR_SIMD(k, begin, end, {                                                                                         \
                T g = grad[k] + l2 * w[k];                                                                                       \
                m[k] = beta1 * m[k] + one_minus_beta1 * g;                                                                       \
                v[k] = beta2 * v[k] + one_minus_beta2 * g * g;                                                                   \
                w[k] -= step_size * m[k] / (SQRT(v[k]) + eps);                                                                   \
            });                                                                                                                  \
        } else {                                                                                                                 \
            TG_FOR_SIMD(k, begin, end, {                                                                                         \
                T g = grad[k];                                                                                                   \
                m[k] = beta1 * m[k] + one_minus_beta1 * g;                                                                       \
                v[k] = beta2 * v[k] + one_minus_beta2 * g * g;                                                                   \
                w[k] -= step_size * m[k] / (SQRT(v[k]) + eps);                                                                   \
            });                                                                                                                  \
        }                                                                                                                        \
    }
DEFINE_ADAM_RANGE(float, sqrtf)
DEFINE_ADAM_RANGE(double, sqrt)

static void adam_range(void *ctx, int64_t begin, int64_t end) {
    const adam_job *job = ctx;
    tg_tensor *p = job->param;
    if (p->dtype == TG_F32)
        adam_range_float(p->data, p->grad->data, job->slots[0]->data, job->slots[1]->data, begin, end, job->c);
    else
        adam_range_double(p->data, p->grad->data, job->slots[0]->data, job->slots[1]->data, begin, end, job->c);
}

/* An element costs about 4 adds' worth of memory traffic (w, g, m, v). */
#define ADAM_COST_PER_ELEMENT 4.0

void tgi_optim_adam_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t) {
    bool decoupled = c->kind == TG_OPT_ADAMW;
    double correction2 = sqrt(1 - pow(c->beta2, (double)t));
    adam_coefficients k = {
        .decay = decoupled ? 1 - c->lr * c->weight_decay : 1,
        .l2 = decoupled ? 0 : c->weight_decay,
        .beta1 = c->beta1,
        .one_minus_beta1 = 1 - c->beta1,
        .beta2 = c->beta2,
        .one_minus_beta2 = 1 - c->beta2,
        .step_size = c->lr * correction2 / (1 - pow(c->beta1, (double)t)),
        .eps = c->eps * correction2,
    };
    adam_job job = {param, slots, &k};
    tg_parallel_range(param->numel, ADAM_COST_PER_ELEMENT, adam_range, &job);
}

tg_optimizer *tg_adam_new(int n, tg_tensor *const *params, double lr) {
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAM);
    c.lr = lr;
    return tgi_optim_create("tg_adam_new", n, params, &c);
}
