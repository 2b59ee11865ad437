/* optim/config.c — the kinds of optimizer: their table (name, state, update
 * rule), PyTorch's defaults, and the checks every configuration passes. */
#include <math.h>

#include "optim_internal.h"

/* The single table of kinds, indexed by tg_optimizer_kind. Slot names are
 * PyTorch's state names, so a saved file reads like a torch state_dict. */
static const tg_optim_kind_record kinds[TG_OPT_KIND_COUNT] = {
    [TG_OPT_SGD] = {"sgd", {NULL, NULL, NULL}, tgi_optim_sgd_update},
    [TG_OPT_MOMENTUM] = {"momentum", {"momentum_buffer", NULL, NULL}, tgi_optim_sgd_update},
    [TG_OPT_NESTEROV] = {"nesterov", {"momentum_buffer", NULL, NULL}, tgi_optim_sgd_update},
    [TG_OPT_ADAM] = {"adam", {"exp_avg", "exp_avg_sq", NULL}, tgi_optim_adam_update},
    [TG_OPT_ADAMW] = {"adamw", {"exp_avg", "exp_avg_sq", NULL}, tgi_optim_adam_update},
    [TG_OPT_RMSPROP] = {"rmsprop", {"square_avg", "momentum_buffer", "grad_avg"}, tgi_optim_rmsprop_update},
    [TG_OPT_ADAGRAD] = {"adagrad", {"sum", NULL, NULL}, tgi_optim_adagrad_update},
};

static bool kind_is_valid(tg_optimizer_kind kind) { return (unsigned)kind < TG_OPT_KIND_COUNT; }

const tg_optim_kind_record *tgi_optim_kind_record_of(tg_optimizer_kind kind) {
    return kind_is_valid(kind) ? &kinds[kind] : NULL;
}

const char *tg_optimizer_kind_name(tg_optimizer_kind kind) { return kind_is_valid(kind) ? kinds[kind].name : "unknown"; }

bool tgi_optim_slot_used(const tg_optimizer_config *c, int slot) {
    const tg_optim_kind_record *record = tgi_optim_kind_record_of(c->kind);
    if (!record || slot < 0 || slot >= TG_OPTIM_MAX_SLOTS || !record->slot_names[slot]) return false;
    if (c->kind == TG_OPT_RMSPROP && slot == 1) return c->momentum > 0;
    if (c->kind == TG_OPT_RMSPROP && slot == 2) return c->centered;
    return true;
}

tg_optimizer_config tg_optimizer_defaults(tg_optimizer_kind kind) {
    tg_optimizer_config c = {
        .kind = kind,
        .lr = 1e-3,
        .momentum = 0,
        .dampening = 0,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .weight_decay = 0,
        .rms_decay = 0.99,
        .centered = false,
        .lr_decay = 0,
        .initial_accumulator = 0,
    };
    switch (kind) {
    case TG_OPT_SGD:
    case TG_OPT_ADAM: break;
    case TG_OPT_MOMENTUM:
    case TG_OPT_NESTEROV: c.momentum = 0.9; break;
    case TG_OPT_ADAMW: c.weight_decay = 1e-2; break;
    case TG_OPT_RMSPROP: c.lr = 1e-2; break;
    case TG_OPT_ADAGRAD:
        c.lr = 1e-2;
        c.eps = 1e-10;
        break;
    default: tg_error_report(TG_ERR_ARGUMENT, "tg_optimizer_defaults", "unknown optimizer kind %d", (int)kind);
    }
    return c;
}

/* A field must be finite and lie in [lo, hi] (or [lo, hi) when hi_open). */
static tg_status check_range(const char *function, tg_status code, const char *kind_name, const char *field,
                             double value, double lo, double hi, bool hi_open) {
    bool ok = isfinite(value) && value >= lo && (hi_open ? value < hi : value <= hi);
    if (ok) return TG_OK;
    return tg_error_report(code, function, "%s must be finite and in [%g, %g%s, got %g (kind %s)", field, lo, hi,
                           hi_open ? ")" : "]", value, kind_name);
}

tg_status tgi_optim_check_config(const char *function, const tg_optimizer_config *c, bool lr_may_be_zero,
                                tg_status code) {
    if (!c) return tg_error_report(TG_ERR_ARGUMENT, function, "config is NULL");
    if (!kind_is_valid(c->kind))
        return tg_error_report(code, function, "unknown optimizer kind %d (expected 0..%d)", (int)c->kind,
                               TG_OPT_KIND_COUNT - 1);
    const char *kind = kinds[c->kind].name;
    if (!isfinite(c->lr) || c->lr < 0 || (c->lr == 0 && !lr_may_be_zero))
        return tg_error_report(code, function, "learning rate must be finite and %s 0, got %g (kind %s)",
                               lr_may_be_zero ? ">=" : ">", c->lr, kind);
    const double inf = INFINITY;
    struct {
        const char *name;
        double value, lo, hi;
        bool hi_open;
    } fields[] = {
        {"momentum", c->momentum, 0, inf, true},
        {"dampening", c->dampening, 0, 1, false},
        {"beta1", c->beta1, 0, 1, true},
        {"beta2", c->beta2, 0, 1, true},
        {"eps", c->eps, 0, inf, true},
        {"weight_decay", c->weight_decay, 0, inf, true},
        {"rms_decay", c->rms_decay, 0, 1, true},
        {"lr_decay", c->lr_decay, 0, inf, true},
        {"initial_accumulator", c->initial_accumulator, 0, inf, true},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        tg_status s = check_range(function, code, kind, fields[i].name, fields[i].value, fields[i].lo, fields[i].hi,
                                  fields[i].hi_open);
        if (s != TG_OK) return s;
    }
    if (c->kind == TG_OPT_SGD && c->momentum != 0)
        return tg_error_report(code, function, "kind sgd takes no momentum (got %g); use TG_OPT_MOMENTUM or TG_OPT_NESTEROV",
                               c->momentum);
    if ((c->kind == TG_OPT_MOMENTUM || c->kind == TG_OPT_NESTEROV) && c->momentum == 0)
        return tg_error_report(code, function, "kind %s needs momentum > 0, got 0", kind);
    if (c->kind == TG_OPT_NESTEROV && c->dampening != 0)
        return tg_error_report(code, function, "kind nesterov needs dampening 0, got %g (as torch.optim.SGD)",
                               c->dampening);
    return TG_OK;
}
