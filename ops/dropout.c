/* ops/dropout.c — inverted dropout with a counter-based mask.
 *
 *   dropout(x) = x / (1 - p) where kept, 0 where dropped
 *
 * Element i is kept when word i % 4 of Philox-4x32-10(counter = (i / 4 as
 * 64 bits, call counter as 64 bits), key = seed) is at least p 2^32. The
 * mask is a pure function of (seed, call counter, i): no generator state,
 * so it is the same whichever thread computes a piece, and a resumed run
 * that passes the same counter gets the same mask. Dropout is linear with a
 * diagonal Jacobian (the mask times the scale), so its rule is dropout
 * itself on the gradient, with the same attributes: the mask is regenerated,
 * never stored, and the rule differentiates again.
 * attrs: scalar[0] = p, ints[0] = seed, ints[1] = call counter (as int64). */
#include <math.h>

#include "ops/norm_internal.h"
#include "ops/op_internal.h"

/* Philox-4x32's multipliers and Weyl key increments (Salmon et al. 2011). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void tgi_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

typedef struct dropout_job {
    const tg_node *node;
    uint64_t threshold; /* keep when a word >= threshold */
    double scale;       /* 1 / (1 - p)                   */
} dropout_job;

/* Elements [begin, end): one Philox block per four elements. */
#define DEFINE_DROPOUT_KERNEL(T, SFX)                                                                         \
    static void dropout_range_##SFX(const dropout_job *job, const T *x, T *out, int64_t begin, int64_t end) { \
        uint64_t seed = (uint64_t)job->node->attrs.ints[0], call = (uint64_t)job->node->attrs.ints[1];        \
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};                                           \
        T scale = (T)job->scale;                                                                              \
        for (int64_t block = begin / 4; block * 4 < end; block++) {                                           \
            uint32_t counter[4] = {(uint32_t)block, (uint32_t)((uint64_t)block >> 32), (uint32_t)call,         \
                                   (uint32_t)(call >> 32)};                                                   \
            uint32_t words[4];                                                                                \
            tgi_philox4x32(counter, key, words);                                                               \
            for (int k = 0; k < 4; k++) {                                                                     \
                int64_t i = block * 4 + k;                                                                    \
                if (i < begin || i >= end) continue;                                                          \
                out[i] = words[k] >= job->threshold ? x[i] * scale : (T)0;                                    \
            }                                                                                                 \
        }                                                                                                     \
    }
DEFINE_DROPOUT_KERNEL(float, f32)
DEFINE_DROPOUT_KERNEL(double, f64)

static void dropout_range(void *ctx, int64_t begin, int64_t end) {
    const dropout_job *job = ctx;
    const tg_tensor *x = job->node->inputs[0];
    tg_tensor *out = job->node->output;
    if (out->dtype == TG_F32)
        dropout_range_f32(job, x->data, out->data, begin, end);
    else
        dropout_range_f64(job, x->data, out->data, begin, end);
}

/* p * 2^32 rounded: a word (uniform on [0, 2^32)) is below it with
 * probability p, to within 2^-33. */
static void dropout_forward(const tg_node *node) {
    double p = node->attrs.scalar[0];
    dropout_job job = {node, (uint64_t)llround(p * 4294967296.0), 1.0 / (1.0 - p)};
    tg_parallel_range(node->output->numel, 8.0, dropout_range, &job);
}

static void dropout_backward(const tg_node *node, tg_tensor *grad, tg_tensor **grad_inputs) {
    grad_inputs[0] = tg_op_apply(&tg_op_dropout, &grad, 1, &node->attrs, grad->dtype, grad->rank, grad->shape);
}

const tg_op tg_op_dropout = {"dropout", 1, dropout_forward, dropout_backward};

tg_tensor *tg_dropout(tg_tensor *x, double p, bool training, uint64_t seed, uint64_t counter) {
    const char *function = "tg_dropout";
    if (tg_tensor_check(function, "x", x) != TG_OK) return NULL;
    if (x->dtype != TG_F32 && x->dtype != TG_F64) {
        tg_error_report(TG_ERR_DTYPE, function, "x is %s; dropout needs float32 or float64", tg_dtype_name(x->dtype));
        return NULL;
    }
    if (!(p >= 0 && p < 1)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "p must lie in [0, 1) (got %g)", p);
        return NULL;
    }
    if (!training || p == 0) return x;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = p;
    attrs.ints[0] = (int64_t)seed, attrs.ints[1] = (int64_t)counter, attrs.n_ints = 2;
    return tg_op_apply(&tg_op_dropout, &x, 1, &attrs, x->dtype, x->rank, x->shape);
}
