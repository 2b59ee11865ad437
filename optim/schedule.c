/* optim/schedule.c — learning-rate schedules: constant, step, exponential,
 * cosine annealing, each optionally after a linear warm-up (formulas in
 * optim.h), and applying one to an optimizer. */
#include <math.h>

#include "optim_internal.h"

static const double pi = 3.14159265358979323846;

tg_lr_schedule tg_lr_constant(double base_lr) {
    return (tg_lr_schedule){.decay = TG_LR_CONSTANT, .base_lr = base_lr, .step_size = 1, .gamma = 1, .t_max = 1};
}

tg_lr_schedule tg_lr_step(double base_lr, int64_t step_size, double gamma) {
    tg_lr_schedule s = tg_lr_constant(base_lr);
    s.decay = TG_LR_STEP;
    s.step_size = step_size;
    s.gamma = gamma;
    return s;
}

tg_lr_schedule tg_lr_exponential(double base_lr, double gamma) {
    tg_lr_schedule s = tg_lr_constant(base_lr);
    s.decay = TG_LR_EXPONENTIAL;
    s.gamma = gamma;
    return s;
}

tg_lr_schedule tg_lr_cosine(double base_lr, int64_t t_max, double min_lr) {
    tg_lr_schedule s = tg_lr_constant(base_lr);
    s.decay = TG_LR_COSINE;
    s.t_max = t_max;
    s.min_lr = min_lr;
    return s;
}

tg_lr_schedule tg_lr_with_warmup(tg_lr_schedule schedule, int64_t warmup_steps, double start_factor) {
    schedule.warmup_steps = warmup_steps;
    schedule.warmup_start_factor = start_factor;
    return schedule;
}

/* Checks the fields the schedule's decay uses, and the warm-up's. */
static tg_status check_schedule(const char *function, const tg_lr_schedule *s) {
    if (!s) return tg_error_report(TG_ERR_ARGUMENT, function, "schedule is NULL");
    if (!isfinite(s->base_lr) || s->base_lr <= 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "base_lr must be finite and > 0, got %g", s->base_lr);
    if (s->warmup_steps < 0)
        return tg_error_report(TG_ERR_ARGUMENT, function, "warmup_steps must be >= 0, got %lld",
                               (long long)s->warmup_steps);
    if (s->warmup_steps > 0 && !(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return tg_error_report(TG_ERR_ARGUMENT, function, "warmup_start_factor must be in [0, 1], got %g",
                               s->warmup_start_factor);
    switch (s->decay) {
    case TG_LR_CONSTANT: return TG_OK;
    case TG_LR_STEP:
    case TG_LR_EXPONENTIAL:
        if (s->decay == TG_LR_STEP && s->step_size < 1)
            return tg_error_report(TG_ERR_ARGUMENT, function, "step_size must be >= 1, got %lld",
                                   (long long)s->step_size);
        if (!(s->gamma > 0 && s->gamma <= 1))
            return tg_error_report(TG_ERR_ARGUMENT, function, "gamma must be in (0, 1], got %g", s->gamma);
        return TG_OK;
    case TG_LR_COSINE:
        if (s->t_max < 1)
            return tg_error_report(TG_ERR_ARGUMENT, function, "t_max must be >= 1, got %lld", (long long)s->t_max);
        if (!(s->min_lr >= 0 && s->min_lr <= s->base_lr))
            return tg_error_report(TG_ERR_ARGUMENT, function, "min_lr must be in [0, base_lr = %g], got %g",
                                   s->base_lr, s->min_lr);
        return TG_OK;
    }
    return tg_error_report(TG_ERR_ARGUMENT, function, "unknown decay %d", (int)s->decay);
}

/* The decay at its own step u >= 0. */
static double decay_at(const tg_lr_schedule *s, int64_t u) {
    switch (s->decay) {
    case TG_LR_STEP: return s->base_lr * pow(s->gamma, (double)(u / s->step_size));
    case TG_LR_EXPONENTIAL: return s->base_lr * pow(s->gamma, (double)u);
    case TG_LR_COSINE:
        if (u >= s->t_max) return s->min_lr;
        return s->min_lr + (s->base_lr - s->min_lr) * (1 + cos(pi * (double)u / (double)s->t_max)) / 2;
    case TG_LR_CONSTANT:
    default: return s->base_lr;
    }
}

static tg_status schedule_at(const char *function, const tg_lr_schedule *s, int64_t step, double *lr) {
    tg_status status = check_schedule(function, s);
    if (status != TG_OK) return status;
    if (step < 0) return tg_error_report(TG_ERR_ARGUMENT, function, "step must be >= 0, got %lld", (long long)step);
    if (step < s->warmup_steps) {
        double f = s->warmup_start_factor;
        *lr = s->base_lr * (f + (1 - f) * (double)step / (double)s->warmup_steps);
    } else {
        *lr = decay_at(s, step - s->warmup_steps);
    }
    return TG_OK;
}

double tg_lr_schedule_at(const tg_lr_schedule *schedule, int64_t step) {
    double lr = NAN; /* set by schedule_at on success */
    return schedule_at("tg_lr_schedule_at", schedule, step, &lr) == TG_OK ? lr : NAN;
}

tg_status tg_lr_schedule_apply(const tg_lr_schedule *schedule, tg_optimizer *opt) {
    const char *function = "tg_lr_schedule_apply";
    if (!opt) return tg_error_report(TG_ERR_ARGUMENT, function, "optimizer is NULL");
    double lr = NAN; /* set by schedule_at on success */
    tg_status status = schedule_at(function, schedule, opt->steps, &lr);
    return status == TG_OK ? tg_optimizer_set_lr(opt, lr) : status;
}
