/* optim/optim_internal.h — the optimizer object and the table of kinds,
 * shared by the files of optim/ only (it includes public headers only). */
#ifndef TAPEGRAD_OPTIM_INTERNAL_H
#define TAPEGRAD_OPTIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad/optim.h"

/* A kind keeps at most this many state tensors per parameter. */
#define TG_OPTIM_MAX_SLOTS 3

/* The double fields of tg_optimizer_config, in the order they are checked
 * and saved: X(field). (kind and centered are handled by name.) */
#define TG_OPTIM_DOUBLE_FIELDS(X)                                                                                   \
    X(lr) X(momentum) X(dampening) X(beta1) X(beta2) X(eps) X(weight_decay) X(rms_decay) X(lr_decay)                \
        X(initial_accumulator)

struct tg_optimizer {
    tg_optimizer_config config; /* config.lr is the lr in use                          */
    int n;
    tg_tensor **params;         /* n parameters, not owned                             */
    tg_tensor **state;          /* n * TG_OPTIM_MAX_SLOTS, owned; NULL for unused slots */
    int64_t *param_steps;       /* updates each parameter has received (its t)         */
    double *weight_decay;       /* each parameter's lambda (config's unless set apart) */
    int64_t steps;              /* successful tg_optimizer_step calls                  */
};

/* Parameter i's slot k. */
static inline tg_tensor **tg_optim_slots(tg_tensor **state, int i) { return state + (int64_t)i * TG_OPTIM_MAX_SLOTS; }

/* One parameter's update: `slots` are its state tensors (NULL where unused),
 * t its update count including this one (1 first). The gradient has been
 * checked to match the parameter. */
typedef void (*tg_optim_update_fn)(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t);

/* One row of the table of kinds (config.c). */
typedef struct tg_optim_kind_record {
    const char *name;                              /* tg_optimizer_kind_name          */
    const char *slot_names[TG_OPTIM_MAX_SLOTS];    /* PyTorch's state names, or NULL  */
    tg_optim_update_fn update;
} tg_optim_kind_record;

/* The record of a valid kind (NULL otherwise). */
const tg_optim_kind_record *tgi_optim_kind_record_of(tg_optimizer_kind kind);
/* Whether a config keeps slot k (RMSprop's momentum buffer and grad_avg are
 * there only with momentum > 0 / centered). */
bool tgi_optim_slot_used(const tg_optimizer_config *c, int slot);
/* Checks a whole config; `lr_may_be_zero` for a loaded one (a schedule may
 * have brought lr to 0). Reports with `function` and returns the status. */
tg_status tgi_optim_check_config(const char *function, const tg_optimizer_config *c, bool lr_may_be_zero, tg_status code);
/* Checks a parameter list: n >= 1, non-NULL, persistent, requires grad,
 * no tensor twice. */
tg_status tgi_optim_check_params(const char *function, int n, tg_tensor *const *params);

/* Allocates the state tensors `c` keeps for n parameters into `state`
 * (n * TG_OPTIM_MAX_SLOTS pointers, set to NULL where unused). On failure
 * everything allocated is freed and the state is all NULL. */
tg_status tgi_optim_state_alloc(const char *function, const tg_optimizer_config *c, int n, tg_tensor *const *params,
                               tg_tensor **state);
void tgi_optim_state_free(int n, tg_tensor **state);

/* The constructors' common body, reporting as `function`. */
tg_optimizer *tgi_optim_create(const char *function, int n, tg_tensor *const *params, const tg_optimizer_config *c);

/* The update rules, one file each (formulas in optim.h). */
void tgi_optim_sgd_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t);
void tgi_optim_adam_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t);
void tgi_optim_rmsprop_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t);
void tgi_optim_adagrad_update(const tg_optimizer_config *c, tg_tensor *param, tg_tensor *const *slots, int64_t t);

#endif
