/* tapegrad/gradcheck.h — verifying gradients against finite differences.
 *
 * gradcheck compares the tape's gradient of a function f(inputs) with central
 * finite differences, (f(x + eps) - f(x - eps)) / (2 eps), computed in float64.
 * Inputs are persistent float64 tensors; a function that wants to check its
 * float32 path converts inside (tg_to_dtype) and widens the tolerances.
 *
 * Two modes:
 *   TG_GRADCHECK_FULL: every entry of the Jacobian: for each output element j
 *     a backward pass seeded with e_j, against a central difference of f_j for
 *     each input entry. Cost: numel(out) backward passes + 2 numel(in) forwards.
 *   TG_GRADCHECK_RANDOM: a cheap check along random directions: for random v
 *     (output shape) and u (all inputs), <grad of <v,f>, u> against
 *     (<v, f(x + eps u)> - <v, f(x - eps u)>) / (2 eps). Cost per direction:
 *     one backward, two forwards.
 * An entry passes when |analytic - numeric| <= atol + rtol * |numeric|; a NaN
 * or Inf on either side fails it. rel_error is abs_error / |numeric|.
 *
 * Finite differences are wrong at kinks (relu, abs and clamp at their corners)
 * and outside a domain (log, sqrt at <= 0): pick sample points away from them;
 * tg_gradcheck_input() draws such points.
 */
#ifndef TAPEGRAD_GRADCHECK_H
#define TAPEGRAD_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "random.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The function under test: builds its output from `inputs` with tapegrad ops
 * and returns it (a tape tensor of any shape), or NULL on error. It must be
 * deterministic and must not keep the tensors it is given. It should return
 * a tape tensor: a new persistent one would leak at every evaluation. */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_tensor *const *inputs, int n_inputs, void *ctx);

typedef enum tg_gradcheck_mode { TG_GRADCHECK_FULL = 0, TG_GRADCHECK_RANDOM = 1 } tg_gradcheck_mode;

typedef struct tg_gradcheck_options {
    tg_gradcheck_mode mode;
    double eps;          /* finite-difference step (default 1e-6)          */
    double atol;         /* absolute tolerance (default 1e-5)              */
    double rtol;         /* relative tolerance (default 1e-4)              */
    int directions;      /* RANDOM mode: number of directions (default 8)  */
    uint64_t seed;       /* RANDOM mode: seed of the directions            */
} tg_gradcheck_options;

typedef struct tg_gradcheck_result {
    bool passed;
    int64_t entries_checked;
    /* The worst entry (largest error relative to its tolerance): */
    int worst_input;       /* which input (-1 in RANDOM mode: all at once)  */
    int64_t worst_index;   /* flat index in that input (direction in RANDOM) */
    int64_t worst_output;  /* flat index of the output element (FULL mode); -1 in RANDOM */
    double analytic, numeric;
    double abs_error, rel_error;
} tg_gradcheck_result;

/* The defaults above, FULL mode. */
tg_gradcheck_options tg_gradcheck_defaults(void);

/* Checks f at `inputs` (n >= 1 persistent float64 tensors; they are
 * perturbed during the check and restored exactly). Runs on a private tape and
 * leaves the inputs' .grad and requires_grad as they were. `options` may be
 * NULL for the defaults; `result` may be NULL. Returns TG_OK when the check
 * ran (read result->passed), or an error: bad arguments (TG_ERR_ARGUMENT, also
 * for an input that belongs to a tape; TG_ERR_DTYPE for a float32 input), f
 * changing its output's shape between calls (TG_ERR_SHAPE), or f failing (its
 * error passes through). On error *result is zeroed with worst_* set to -1. */
tg_status tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs,
                       const tg_gradcheck_options *options, tg_gradcheck_result *result);

/* Second order: checks the gradient of the gradient, as PyTorch's
 * gradgradcheck. With v a fixed random vector of f's output shape (drawn
 * from options->seed), it runs tg_gradcheck on
 *     g(inputs, v) = d<v, f(inputs)>/d inputs   (flattened and concatenated),
 * whose gradient goes through every backward rule's own backward rule, with
 * respect to the inputs and v: float64 finite differences of the analytic
 * gradient against the tape's second derivatives. In the result,
 * worst_input == n means the entry is one of v's, and worst_output indexes
 * the concatenated gradient (input after input). Inputs, options, result and
 * errors as tg_gradcheck (errors named tg_gradgradcheck); the cost is
 * tg_gradcheck's for a function of n + 1 inputs with sum(numel(inputs))
 * outputs, each evaluation of which is a forward and a recorded backward
 * pass. */
tg_status tg_gradgradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs,
                           const tg_gradcheck_options *options, tg_gradcheck_result *result);

/* Writes a one-line summary of a result ("gradcheck passed: 24 entries, worst
 * input 0 index 3: analytic ... numeric ...") into buf. Returns buf. A NULL
 * buf, size 0 or a NULL result is reported (TG_ERR_ARGUMENT); buf (when
 * usable) then says "gradcheck: no result". */
char *tg_gradcheck_describe(const tg_gradcheck_result *result, char *buf, size_t size);

/* A persistent float64 tensor of values uniform in [lo, hi] whose distance to
 * each of `n_avoid` points (kinks, domain edges) is at least `margin`
 * (resampled until it is; the interval must leave room). */
tg_tensor *tg_gradcheck_input(tg_rng *rng, int rank, const int64_t *shape, double lo, double hi,
                              int n_avoid, const double *avoid, double margin);

#ifdef __cplusplus
}
#endif
#endif
