/* tapegrad/optim.h — optimizers, gradient clipping, learning-rate schedules,
 * and saving an optimizer's state.
 *
 * An optimizer holds a list of persistent parameters (tensors with
 * requires_grad, see tensor.h) and updates them in place from their
 * accumulated .grad. It never records on a tape. Typical step:
 *
 *     tg_optimizer_set_grads_to_none(opt);           (or tg_optimizer_zero_grad)
 *     loss = ...ops...;
 *     tg_backward(loss, NULL);
 *     tg_clip_grad_norm(n, params, 1.0, NULL);        (optional)
 *     tg_lr_schedule_apply(&schedule, opt);           (optional)
 *     tg_optimizer_step(opt);
 *     tg_tape_reset(tg_tape_current());
 *
 * The update rules are PyTorch's (torch.optim, as documented for 1.13-2.x),
 * written below per element with g = dW, the parameter's gradient, and t the
 * number of updates this parameter has received, counting the current one
 * (t = 1 on its first update). Arithmetic runs in the parameter's dtype: a
 * float32 parameter keeps float32 state and float32 arithmetic (coefficients
 * such as 1 - beta1 are worked out in double, then rounded once), as PyTorch
 * does. A parameter whose .grad is still NULL is skipped and its t does not
 * advance (PyTorch skips parameters whose .grad is None).
 *
 * One departure, on x86: the update runs with subnormal numbers flushed to
 * zero (FTZ/DAZ, set for the update only, on whichever thread runs it, and
 * restored). Running averages of rarely nonzero gradients decay into the
 * subnormal range, where each multiply costs ~100 cycles. A subnormal state value moves a
 * weight by under 1e-30, so only weights that are themselves below 1e-37
 * (read as 0) can end up different from PyTorch's.
 *
 * Another, for Adam and AdamW: the step is computed as the Adam paper's
 * efficient form, W <- W - (lr c2 / (1 - beta1^t)) m / (sqrt(v) + eps c2)
 * with c2 = sqrt(1 - beta2^t), the value of PyTorch's formula below with one
 * division per element instead of two (the update was bound by the divider).
 * A step can differ from PyTorch's in its last bits.
 */
#ifndef TAPEGRAD_OPTIM_H
#define TAPEGRAD_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_optimizer tg_optimizer;

/* ---- the kinds of optimizer ----
 * lambda = weight_decay. For every kind but ADAMW, weight decay is an L2 term
 * added to the gradient first: g <- g + lambda W (skipped when lambda = 0).
 * State tensors (their names in a saved file in quotes) have the parameter's
 * shape and dtype. */
typedef enum tg_optimizer_kind {
    /* torch.optim.SGD: W <- W - lr g. No state. momentum must be 0. */
    TG_OPT_SGD = 0,
    /* torch.optim.SGD(momentum=mu, dampening=tau), "momentum_buffer" b:
     *   b <- g at t = 1, else b <- mu b + (1 - tau) g;   W <- W - lr b.
     * mu > 0. */
    TG_OPT_MOMENTUM,
    /* torch.optim.SGD(momentum=mu, nesterov=True), "momentum_buffer" b:
     *   b <- g at t = 1, else b <- mu b + g;   W <- W - lr (g + mu b).
     * mu > 0, dampening must be 0. */
    TG_OPT_NESTEROV,
    /* torch.optim.Adam, "exp_avg" m and "exp_avg_sq" v (start at 0):
     *   m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2,
     *   W <- W - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
     * i.e. W <- W - lr m_hat / (sqrt(v_hat) + eps) with bias-corrected
     * m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t). */
    TG_OPT_ADAM,
    /* torch.optim.AdamW: decoupled weight decay, then Adam without L2:
     *   W <- W (1 - lr lambda), then m, v and W as for TG_OPT_ADAM. */
    TG_OPT_ADAMW,
    /* torch.optim.RMSprop(alpha=rms_decay, momentum=mu, centered), with
     * "square_avg" v, "grad_avg" a (centered only), "momentum_buffer" b
     * (mu > 0 only), all starting at 0:
     *   v <- alpha v + (1 - alpha) g^2,
     *   centered: a <- alpha a + (1 - alpha) g,  d = sqrt(v - a^2) + eps,
     *   else:                                    d = sqrt(v) + eps,
     *   mu > 0: b <- mu b + g / d,  W <- W - lr b;   else W <- W - lr g / d. */
    TG_OPT_RMSPROP,
    /* torch.optim.Adagrad(lr_decay=eta, initial_accumulator_value), "sum" s
     * (starts at initial_accumulator):
     *   s <- s + g^2,   W <- W - (lr / (1 + (t - 1) eta)) g / (sqrt(s) + eps). */
    TG_OPT_ADAGRAD
} tg_optimizer_kind;

/* Number of kinds above. */
#define TG_OPT_KIND_COUNT 7

/* Everything an optimizer is made from. Start from tg_optimizer_defaults()
 * and change what you need: every field is checked by tg_optimizer_new,
 * whether or not the kind uses it, so a zero-filled struct is not a sensible
 * configuration. */
typedef struct tg_optimizer_config {
    tg_optimizer_kind kind;
    double lr;                  /* learning rate, finite and > 0                     */
    double momentum;            /* mu >= 0: MOMENTUM, NESTEROV (> 0), RMSPROP        */
    double dampening;           /* tau in [0, 1]: MOMENTUM (must be 0 for NESTEROV)  */
    double beta1, beta2;        /* in [0, 1): ADAM, ADAMW                            */
    double eps;                 /* >= 0: ADAM, ADAMW, RMSPROP, ADAGRAD               */
    double weight_decay;        /* lambda >= 0: L2, or decoupled for ADAMW           */
    double rms_decay;           /* alpha in [0, 1): RMSPROP                          */
    bool centered;              /* RMSPROP: divide by the gradient's variance        */
    double lr_decay;            /* eta >= 0: ADAGRAD                                 */
    double initial_accumulator; /* >= 0: ADAGRAD's starting "sum"                    */
} tg_optimizer_config;

/* PyTorch's defaults for `kind`:
 *   SGD       lr 1e-3 (PyTorch >= 2.2; earlier versions require an lr)
 *   MOMENTUM  lr 1e-3, momentum 0.9, dampening 0   (PyTorch's momentum default
 *   NESTEROV  lr 1e-3, momentum 0.9                  is 0, which these kinds refuse)
 *   ADAM      lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0
 *   ADAMW     as ADAM but weight_decay 1e-2
 *   RMSPROP   lr 1e-2, rms_decay 0.99, eps 1e-8, momentum 0, centered false
 *   ADAGRAD   lr 1e-2, lr_decay 0, eps 1e-10, initial_accumulator 0
 * Fields a kind does not use get the values above (beta1 0.9, beta2 0.999,
 * eps 1e-8, rms_decay 0.99, all others 0). An unknown kind is reported
 * (TG_ERR_ARGUMENT) and gives the SGD defaults with that kind, which
 * tg_optimizer_new then refuses. */
tg_optimizer_config tg_optimizer_defaults(tg_optimizer_kind kind);

/* "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", or
 * "unknown" (not reported) for a value outside the enum. */
const char *tg_optimizer_kind_name(tg_optimizer_kind kind);

/* A new optimizer over `params` (n >= 1 distinct persistent tensors that
 * require grad, float32 or float64; not owned, the list is copied) with the
 * hyperparameters of `config` (copied). State tensors are allocated here,
 * zero-filled (Adagrad's "sum" filled with initial_accumulator). Free with
 * tg_optimizer_free. Errors (TG_ERR_ARGUMENT, naming the function, the
 * parameter index or field, and the value): NULL list, config or parameter;
 * a tape tensor; a parameter that does not require grad; the same tensor
 * twice; an unknown kind; a field that is not finite or is outside the range
 * documented in tg_optimizer_config; momentum != 0 for SGD, momentum == 0 for
 * MOMENTUM / NESTEROV, dampening != 0 for NESTEROV. TG_ERR_MEMORY. */
tg_optimizer *tg_optimizer_new(int n, tg_tensor *const *params, const tg_optimizer_config *config);

/* Plain gradient descent, exactly as the seeds write it: W <- W - lr * dW
 * (tg_optimizer_defaults(TG_OPT_SGD) with this lr). Errors as
 * tg_optimizer_new, reported as tg_sgd_new. */
tg_optimizer *tg_sgd_new(int n, tg_tensor *const *params, double lr);

/* Adam with PyTorch's defaults and this lr (tg_optimizer_defaults(TG_OPT_ADAM)
 * with lr). Errors as tg_optimizer_new, reported as tg_adam_new. */
tg_optimizer *tg_adam_new(int n, tg_tensor *const *params, double lr);

/* Applies one update to every parameter that has a gradient (a parameter
 * whose .grad is still NULL is left as it is) and adds 1 to the step count.
 * All or nothing: every gradient is checked to match its parameter's dtype
 * (TG_ERR_DTYPE) and element count (TG_ERR_SHAPE) before anything changes.
 * Each updated parameter is changed in place: its version goes up by 1, so a
 * backward through ops recorded before the step is refused (tape.h).
 * The step count stops at TG_OPTIM_MAX_STEPS: a step past it is refused.
 * Errors: NULL optimizer, the step limit reached (TG_ERR_ARGUMENT). */
tg_status tg_optimizer_step(tg_optimizer *opt);

/* The most updates an optimizer makes, 2^53: every count up to it is exact as
 * a double (the bias corrections and schedules compute in double), and it is
 * far beyond any training run. */
#define TG_OPTIM_MAX_STEPS ((int64_t)1 << 53)
/* Zeroes every parameter's gradient (keeping its storage). */
void tg_optimizer_zero_grad(tg_optimizer *opt);
/* Sets every parameter's gradient to none (tg_set_grad_to_none): the next
 * tg_backward writes the gradients instead of adding them to zeros, and a
 * parameter it does not reach is left alone by the next step. PyTorch's
 * zero_grad(set_to_none=True); the faster choice for a training loop. */
void tg_optimizer_set_grads_to_none(tg_optimizer *opt);
/* The learning rate in use (NaN, reported, for NULL). */
double tg_optimizer_lr(const tg_optimizer *opt);
/* Changes the learning rate (schedules). lr must be finite and >= 0: a
 * schedule may reach 0 (cosine annealing to 0, warm-up from 0), although a
 * constructor refuses lr = 0. Errors: NULL, lr NaN, infinite or < 0. */
tg_status tg_optimizer_set_lr(tg_optimizer *opt, double lr);
/* Number of successful tg_optimizer_step calls so far (restored by
 * tg_optimizer_load); -1, reported, for NULL. Schedules read it. */
int64_t tg_optimizer_step_count(const tg_optimizer *opt);
/* Copies the optimizer's configuration, with the current lr, into *out.
 * Errors: NULL optimizer or out. */
tg_status tg_optimizer_get_config(const tg_optimizer *opt, tg_optimizer_config *out);
/* The state tensor `name` ("exp_avg", "momentum_buffer", ... as listed for
 * each kind) of parameter `index`, read-only, owned by the optimizer. Errors
 * (NULL returned): NULL optimizer or name, index outside [0, n), a name this
 * optimizer does not keep. */
const tg_tensor *tg_optimizer_state(const tg_optimizer *opt, int index, const char *name);
/* ---- parameter groups ----
 * torch.optim's param_groups as GPT training uses them: every parameter
 * has its own weight decay lambda, config.weight_decay until set apart
 * (e.g. 0 for biases and norms: AdamW([{"params": decay, "weight_decay":
 * 0.1}, {"params": no_decay, "weight_decay": 0}])). The other
 * hyperparameters, the lr included, are shared. Each parameter's lambda is
 * saved and restored with the state (a file without it gives the
 * config's). */
/* Sets parameter `index`'s lambda. Errors (TG_ERR_ARGUMENT): NULL, index
 * outside [0, n), weight_decay not finite or < 0. */
tg_status tg_optimizer_set_weight_decay(tg_optimizer *opt, int index, double weight_decay);
/* The same for each of `n` tensors given by pointer (a group), all or
 * nothing: a tensor this optimizer does not hold is TG_ERR_ARGUMENT naming
 * its position in `params`, and nothing changes. */
tg_status tg_optimizer_set_weight_decay_for(tg_optimizer *opt, int n, tg_tensor *const *params, double weight_decay);
/* Parameter `index`'s lambda (NaN, reported, for NULL or a bad index). */
double tg_optimizer_weight_decay(const tg_optimizer *opt, int index);
/* Releases the optimizer and its state (not the parameters). NULL is ignored. */
void tg_optimizer_free(tg_optimizer *opt);

/* ---- gradient clipping ----
 * Like torch.nn.utils.clip_grad_norm_ (2-norm): the global norm of all
 * gradients together, N = sqrt(sum over every parameter's .grad of g^2), is
 * computed (in double; parameters whose .grad is NULL count as 0), and if
 * c = max_norm / (N + 1e-6) is below 1 every gradient is multiplied by c, so
 * the new norm is just under max_norm. N is stored in *total_norm unless it is
 * NULL. If N is not finite (a NaN or Inf gradient), nothing is scaled and
 * TG_ERR_NUMERIC is reported (*total_norm still receives N), so a caller in
 * return mode can skip the step. A scaled gradient counts as changed in
 * place (its version + 1, tape.h). Errors: `params` as for tg_optimizer_new
 * (TG_ERR_ARGUMENT), max_norm not finite or <= 0. */
tg_status tg_clip_grad_norm(int n, tg_tensor *const *params, double max_norm, double *total_norm);

/* Like torch.nn.utils.clip_grad_value_: clamps every gradient element to
 * [-clip_value, clip_value] (NaN stays NaN), an in-place change of each
 * gradient (version + 1). Errors: `params` as for
 * tg_optimizer_new, clip_value not finite or <= 0. */
tg_status tg_clip_grad_value(int n, tg_tensor *const *params, double clip_value);

/* ---- learning-rate schedules ----
 * A schedule maps the step count s (the number of updates already made, so
 * the update about to be made uses lr(s); s = 0 first) to a learning rate.
 * With W = warmup_steps > 0 and f = warmup_start_factor, a linear warm-up
 * comes first (torch.optim.lr_scheduler.LinearLR):
 *   s < W:   lr(s) = base_lr (f + (1 - f) s / W)
 * and the decay then starts from its own step u = s - W (u = s when W = 0),
 * as torch's SequentialLR([LinearLR, decay], milestones=[W]) does:
 *   CONSTANT     lr = base_lr
 *   STEP         lr = base_lr gamma^floor(u / step_size)           (StepLR)
 *   EXPONENTIAL  lr = base_lr gamma^u                              (ExponentialLR)
 *   COSINE       lr = min_lr + (base_lr - min_lr) (1 + cos(pi u / t_max)) / 2
 *                for u <= t_max, and min_lr after (CosineAnnealingLR's closed
 *                form, which would rise again past t_max instead).
 * Values are computed in closed form (pow, cos), not by repeated
 * multiplication as PyTorch's schedulers do, so they may differ in the last
 * bits. Build one with the functions below; the struct is plain data. */
typedef enum tg_lr_decay {
    TG_LR_CONSTANT = 0,
    TG_LR_STEP,
    TG_LR_EXPONENTIAL,
    TG_LR_COSINE
} tg_lr_decay;

typedef struct tg_lr_schedule {
    tg_lr_decay decay;
    double base_lr;             /* finite, > 0                                   */
    int64_t step_size;          /* STEP: >= 1                                    */
    double gamma;               /* STEP, EXPONENTIAL: in (0, 1]                  */
    int64_t t_max;              /* COSINE: >= 1 steps from base_lr to min_lr     */
    double min_lr;              /* COSINE: in [0, base_lr]                       */
    int64_t warmup_steps;       /* W >= 0; 0 means no warm-up                    */
    double warmup_start_factor; /* f in [0, 1]: the warm-up starts at f base_lr  */
} tg_lr_schedule;

/* Schedules by value (checked when used, not here). */
tg_lr_schedule tg_lr_constant(double base_lr);
tg_lr_schedule tg_lr_step(double base_lr, int64_t step_size, double gamma);
tg_lr_schedule tg_lr_exponential(double base_lr, double gamma);
tg_lr_schedule tg_lr_cosine(double base_lr, int64_t t_max, double min_lr);
/* `schedule` preceded by a linear warm-up of `warmup_steps` steps from
 * start_factor * base_lr, e.g. tg_lr_with_warmup(tg_lr_cosine(0.1, 1000, 0), 100, 0). */
tg_lr_schedule tg_lr_with_warmup(tg_lr_schedule schedule, int64_t warmup_steps, double start_factor);

/* lr(step) as above. Errors (NaN returned, TG_ERR_ARGUMENT naming the field
 * and value): NULL, step < 0, an unknown decay, a field outside its range. */
double tg_lr_schedule_at(const tg_lr_schedule *schedule, int64_t step);
/* Sets opt's lr to tg_lr_schedule_at(schedule, tg_optimizer_step_count(opt));
 * call it just before tg_optimizer_step. Because the step count is saved with
 * the optimizer, a resumed run continues the schedule where it stopped.
 * Errors: as tg_lr_schedule_at, NULL optimizer. */
tg_status tg_lr_schedule_apply(const tg_lr_schedule *schedule, tg_optimizer *opt);

/* ---- saving and resuming ----
 * The state is a safetensors file (see checkpoint.h) holding each state
 * tensor as "param.<i>.<name>" (e.g. "param.3.exp_avg") in the parameter's
 * dtype, bit-exactly, and as metadata: "tapegrad.optim.format" ("1"),
 * "tapegrad.optim.kind" (tg_optimizer_kind_name), "tapegrad.optim.params"
 * (n), "tapegrad.optim.step" (the step count), every config field as
 * "tapegrad.optim.<field>" (doubles written with 17 significant digits, so
 * they read back exactly; centered as "true"/"false"; lr is the current one),
 * and per parameter "tapegrad.optim.param.<i>.shape" ("(2,3)"),
 * ".dtype" ("float32") and ".step" (its t). The parameters' values are not
 * saved: save them with tg_checkpoint_save.
 *
 * Saving replaces `path` atomically (tg_checkpoint_save). Errors: NULL
 * arguments, those of tg_checkpoint_save. */
tg_status tg_optimizer_save(const tg_optimizer *opt, const char *path);

/* Restores state saved by tg_optimizer_save into `opt`, which must be of the
 * same kind over the same number of parameters with the same shapes and
 * dtypes, in the same order. The step counts, the state tensors and all
 * hyperparameters (the lr included) are replaced by the file's, as
 * torch.optim.Optimizer.load_state_dict does; training then continues bitwise
 * as if it had never stopped. All or nothing: the whole file is checked and
 * read before `opt` changes. Errors: those of tg_checkpoint_open (TG_ERR_IO,
 * TG_ERR_FORMAT for damaged files); TG_ERR_FORMAT (not an optimizer file,
 * missing or unreadable metadata, hyperparameters out of range, a step count
 * outside [0, TG_OPTIM_MAX_STEPS] or a parameter's above the optimizer's, a
 * state tensor with a NaN or an infinity, or a negative value in a mean of
 * squares: exp_avg_sq, square_avg, sum); TG_ERR_ARGUMENT
 * (NULL, another kind, another parameter count); TG_ERR_SHAPE / TG_ERR_DTYPE
 * (a parameter of another shape or dtype). */
tg_status tg_optimizer_load(tg_optimizer *opt, const char *path);

#ifdef __cplusplus
}
#endif
#endif
