/* nn/init.c — filling parameters with their initial values.
 *
 * The random initializers draw exactly what tg_rand_uniform / tg_rand_normal
 * would draw from the same rng, for the tensor's dtype, so a layer's weights
 * can be reproduced outside the layer. */
#include <math.h>

#include "tapegrad/error.h"
#include "tapegrad/nn.h"

static const char *const function = "tg_init_tensor";

/* The bound a of U(-a, a), or the std s of N(0, s), for the random inits;
 * NaN (after reporting) when a fan that the formula uses is < 1. */
static double init_scale(tg_init init, int64_t fan_in, int64_t fan_out) {
    bool glorot = init == TG_INIT_GLOROT_UNIFORM || init == TG_INIT_GLOROT_NORMAL;
    if (fan_in < 1 || (glorot && fan_out < 1)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "fan_in and fan_out must be >= 1, got fan_in=%lld fan_out=%lld",
                        (long long)fan_in, (long long)fan_out);
        return NAN;
    }
    double fan = glorot ? (double)fan_in + (double)fan_out : (double)fan_in;
    bool uniform = init == TG_INIT_GLOROT_UNIFORM || init == TG_INIT_HE_UNIFORM;
    return sqrt((uniform ? 6.0 : 2.0) / fan);
}

tg_status tg_init_tensor(tg_tensor *t, tg_init init, tg_rng *rng, int64_t fan_in, int64_t fan_out, double value) {
    if (!t) return tg_error_null_tensor(function, "t is NULL");
    if (t->tape)
        return tg_error_report(TG_ERR_TAPE, function, "t belongs to a tape; only persistent tensors are initialized");
    switch (init) {
    case TG_INIT_ZEROS:
    case TG_INIT_CONSTANT: {
        if (init == TG_INIT_CONSTANT && !isfinite(value))
            return tg_error_report(TG_ERR_ARGUMENT, function, "a constant initializer must be finite, got %g", value);
        double fill = init == TG_INIT_ZEROS ? 0.0 : value;
        for (int64_t i = 0; i < t->numel; i++) tg_set_flat(t, i, fill);
        return TG_OK;
    }
    case TG_INIT_GLOROT_UNIFORM:
    case TG_INIT_GLOROT_NORMAL:
    case TG_INIT_HE_UNIFORM:
    case TG_INIT_HE_NORMAL: break;
    default: return tg_error_report(TG_ERR_ARGUMENT, function, "unknown initializer %d", (int)init);
    }
    if (!rng) return tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL (random initializers need one)");
    double scale = init_scale(init, fan_in, fan_out);
    if (isnan(scale)) return tg_last_error();
    bool uniform = init == TG_INIT_GLOROT_UNIFORM || init == TG_INIT_HE_UNIFORM;
    tg_tensor *draw = uniform ? tg_rand_uniform(rng, t->dtype, t->rank, t->shape, -scale, scale)
                              : tg_rand_normal(rng, t->dtype, t->rank, t->shape, 0.0, scale);
    if (!draw) return tg_last_error();
    tg_status status = tg_copy_into(t, draw);
    tg_free(draw);
    return status;
}
