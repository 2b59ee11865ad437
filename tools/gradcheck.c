/* tools/gradcheck.c — the tape's gradients against central finite differences
 * (see gradcheck.h for the contract).
 *
 * The check runs f on a private tape, so the caller's current tape is neither
 * read nor grown, and turns grad mode on for its duration. The inputs are
 * marked requires_grad while it runs; analytic gradients come from
 * tg_gradients(), which never touches any .grad; numeric ones come from
 * perturbing input entries in place and always writing back the saved double,
 * so the inputs end bit-for-bit as they began. Every one of these changes is
 * undone on every exit path.
 *
 * Per compared entry:  abs_error = |analytic - numeric|,
 *                      rel_error = abs_error / |numeric| (0 when both are 0,
 *                                  inf when only numeric is 0),
 * passing when abs_error <= atol + rtol |numeric|. The worst entry is the one
 * with the largest abs_error / tolerance; a NaN or an infinity fails and counts
 * as worst. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor_internal.h"
#include "tapegrad/gradcheck.h"
#include "tapegrad/tape.h"

#define FUNCTION "tg_gradcheck"
/* Analytic rows are computed by repeated backward passes over one forward
 * graph; each pass adds its tensors to the tape. Past this many bytes the
 * tape is reset and f evaluated again, bounding memory for large outputs. */
#define TAPE_BUDGET_BYTES ((size_t)64 << 20)

tg_gradcheck_options tg_gradcheck_defaults(void) {
    tg_gradcheck_options options = {
        .mode = TG_GRADCHECK_FULL, .eps = 1e-6, .atol = 1e-5, .rtol = 1e-4, .directions = 8, .seed = 0};
    return options;
}

/* Everything one check needs, and what it must restore. */
typedef struct checker {
    tg_gradcheck_fn f;
    void *ctx;
    int n;
    tg_tensor *const *inputs;
    tg_gradcheck_options options;
    tg_tape *tape;
    int64_t total_entries; /* sum of the inputs' numel */
    /* the output's shape and dtype at the original point */
    tg_dtype out_dtype;
    int out_rank;
    int64_t out_shape[TG_MAX_RANK];
    int64_t out_numel;
    /* the running result */
    tg_gradcheck_result result;
    double worst_ratio;
} checker;

static tg_status check_arguments(tg_gradcheck_fn f, int n, tg_tensor *const *inputs,
                                 const tg_gradcheck_options *o) {
    if (!f) return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "f is NULL");
    if (n < 1 || !inputs)
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "need n >= 1 inputs and a non-NULL list, got n=%d", n);
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", i);
        tg_status s = tg_tensor_check(FUNCTION, what, inputs[i]);
        if (s != TG_OK) return s;
        if (inputs[i]->tape)
            return tg_error_report(TG_ERR_ARGUMENT, FUNCTION,
                                   "input %d belongs to a tape; inputs must be persistent tensors (tg_clone it)", i);
        if (inputs[i]->dtype != TG_F64)
            return tg_error_report(TG_ERR_DTYPE, FUNCTION,
                                   "input %d is %s; inputs must be float64 (convert inside f to check float32)", i,
                                   tg_dtype_name(inputs[i]->dtype));
    }
    if (o->mode != TG_GRADCHECK_FULL && o->mode != TG_GRADCHECK_RANDOM)
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "unknown mode %d", (int)o->mode);
    if (!(o->eps > 0) || !isfinite(o->eps) || !(o->atol >= 0) || !isfinite(o->atol) || !(o->rtol >= 0) ||
        !isfinite(o->rtol))
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION,
                               "need finite eps > 0, atol >= 0 and rtol >= 0, got eps=%g atol=%g rtol=%g", o->eps,
                               o->atol, o->rtol);
    if (o->mode == TG_GRADCHECK_RANDOM && o->directions < 1)
        return tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "RANDOM mode needs directions >= 1, got %d",
                               o->directions);
    return TG_OK;
}

/* f at the inputs' current values, on a freshly reset private tape. The
 * first call records the output's shape; later calls must match it. */
static tg_tensor *evaluate(checker *c, tg_status *status) {
    tg_tape_reset(c->tape);
    tg_clear_error();
    tg_tensor *out = c->f(c->inputs, c->n, c->ctx);
    if (!out) {
        /* f's own error passes through; a silent NULL is reported here. */
        *status = tg_last_error() != TG_OK
                      ? tg_last_error()
                      : tg_error_report(TG_ERR_ARGUMENT, FUNCTION, "f returned NULL without reporting an error");
        return NULL;
    }
    *status = tg_tensor_check(FUNCTION, "the output of f", out);
    if (*status != TG_OK) return NULL;
    if (c->out_numel < 0) {
        c->out_dtype = out->dtype;
        c->out_rank = out->rank;
        memcpy(c->out_shape, out->shape, sizeof c->out_shape);
        c->out_numel = out->numel;
    } else if (out->dtype != c->out_dtype || out->rank != c->out_rank ||
               memcmp(out->shape, c->out_shape, (size_t)out->rank * sizeof *out->shape) != 0) {
        char a[160], b[160];
        *status = tg_error_report(TG_ERR_SHAPE, FUNCTION,
                                  "f is not deterministic: it returned %s %s at the original point and %s %s at a "
                                  "perturbed one",
                                  tg_dtype_name(c->out_dtype), tg_shape_string(a, sizeof a, c->out_rank, c->out_shape),
                                  tg_dtype_name(out->dtype), tg_shape_string(b, sizeof b, out->rank, out->shape));
        return NULL;
    }
    return out;
}

/* d<seed, out>/d(inputs), flattened input after input into `row`. An output
 * that needs no gradient does not depend on the inputs: its row is zero. */
static tg_status analytic_row(checker *c, tg_tensor *out, const tg_tensor *seed, tg_tensor **grads, double *row) {
    if (!out->requires_grad) {
        memset(row, 0, (size_t)c->total_entries * sizeof *row);
        return TG_OK;
    }
    tg_status s = tg_gradients(out, seed, c->n, c->inputs, grads, false);
    if (s != TG_OK) return s;
    int64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        for (int64_t k = 0; k < grads[i]->numel; k++) row[at + k] = tg_load(grads[i], k);
        at += grads[i]->numel;
    }
    return TG_OK;
}

static void record_entry(checker *c, int input, int64_t index, int64_t output, double analytic, double numeric) {
    double abs_error = fabs(analytic - numeric);
    double tolerance = c->options.atol + c->options.rtol * fabs(numeric);
    bool finite = isfinite(analytic) && isfinite(numeric);
    bool passes = finite && abs_error <= tolerance;
    double ratio = tolerance > 0 ? abs_error / tolerance : (abs_error == 0 ? 0.0 : INFINITY);
    if (!finite || isnan(ratio)) ratio = INFINITY;
    double rel_error = numeric != 0 ? abs_error / fabs(numeric) : (abs_error == 0 ? 0.0 : INFINITY);
    tg_gradcheck_result *r = &c->result;
    if (!passes) r->passed = false;
    if (r->entries_checked == 0 || ratio > c->worst_ratio) {
        c->worst_ratio = ratio;
        r->worst_input = input;
        r->worst_index = index;
        r->worst_output = output;
        r->analytic = analytic;
        r->numeric = numeric;
        r->abs_error = abs_error;
        r->rel_error = rel_error;
    }
    r->entries_checked++;
}

/* A persistent tensor of the output's shape and dtype, for seeds. */
static tg_tensor *new_seed(checker *c) { return tg_zeros(c->out_dtype, c->out_rank, c->out_shape); }

static bool tape_over_budget(const tg_tape *tape) { return tg_tape_get_stats(tape).bytes_in_use > TAPE_BUDGET_BYTES; }

/* FULL: the m x N Jacobian, row j from a backward pass seeded with e_j,
 * column k from one central difference of every output at once. */
static tg_status check_full(checker *c, tg_tensor *out) {
    const int64_t m = c->out_numel, total = c->total_entries;
    if (m == 0 || total == 0) return TG_OK;
    if ((uint64_t)m > SIZE_MAX / sizeof(double) / (uint64_t)total)
        return tg_error_report(TG_ERR_MEMORY, FUNCTION, "a %lld x %lld Jacobian is too large for FULL mode",
                               (long long)m, (long long)total);
    double *jacobian = malloc((size_t)m * (size_t)total * sizeof *jacobian); /* analytic, row-major */
    double *plus = malloc((size_t)m * sizeof *plus);
    double *minus = malloc((size_t)m * sizeof *minus);
    tg_tensor **grads = malloc((size_t)c->n * sizeof *grads);
    tg_tensor *seed = new_seed(c);
    tg_status s = TG_OK;
    if (!jacobian || !plus || !minus || !grads || !seed) {
        if (seed) s = tg_error_report(TG_ERR_MEMORY, FUNCTION, "cannot allocate the %lld x %lld Jacobian",
                                      (long long)m, (long long)total);
        else s = tg_last_error();
        goto done;
    }

    for (int64_t j = 0; j < m && s == TG_OK; j++) {
        if (j > 0 && tape_over_budget(c->tape)) {
            out = evaluate(c, &s);
            if (!out) break;
        }
        tg_store(seed, j, 1.0);
        s = analytic_row(c, out, seed, grads, jacobian + j * total);
        tg_store(seed, j, 0.0);
    }

    int64_t column = 0;
    for (int i = 0; i < c->n && s == TG_OK; i++) {
        double *x = c->inputs[i]->data;
        for (int64_t k = 0; k < c->inputs[i]->numel && s == TG_OK; k++, column++) {
            const double original = x[k];
            x[k] = original + c->options.eps;
            tg_tensor *y = evaluate(c, &s);
            if (y)
                for (int64_t j = 0; j < m; j++) plus[j] = tg_load(y, j);
            x[k] = original - c->options.eps;
            y = s == TG_OK ? evaluate(c, &s) : NULL;
            if (y)
                for (int64_t j = 0; j < m; j++) minus[j] = tg_load(y, j);
            x[k] = original;
            if (s != TG_OK) break;
            for (int64_t j = 0; j < m; j++)
                record_entry(c, i, k, j, jacobian[j * total + column],
                             (plus[j] - minus[j]) / (2.0 * c->options.eps));
        }
    }

done:
    tg_free(seed);
    free(grads);
    free(minus);
    free(plus);
    free(jacobian);
    return s;
}

/* <v, f(x)> read from an output. */
static double dot_output(const tg_tensor *y, const double *v) {
    double sum = 0;
    for (int64_t j = 0; j < y->numel; j++) sum += v[j] * tg_load(y, j);
    return sum;
}

/* Sets every input to original + step * direction (flattened in order). */
static void move_inputs(checker *c, const double *original, const double *direction, double step) {
    int64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        double *x = c->inputs[i]->data;
        for (int64_t k = 0; k < c->inputs[i]->numel; k++, at++) x[k] = original[at] + step * direction[at];
    }
}

static void restore_inputs(checker *c, const double *original) {
    int64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        memcpy(c->inputs[i]->data, original + at, (size_t)c->inputs[i]->numel * sizeof(double));
        at += c->inputs[i]->numel;
    }
}

/* The next direction: v over the outputs (also written into `seed`) and u
 * over all inputs, standard normal, drawn in that order. */
static void draw_direction(checker *c, tg_rng *rng, double *v, tg_tensor *seed, double *u) {
    for (int64_t j = 0; j < c->out_numel; j++) {
        v[j] = tg_rng_normal(rng);
        tg_store(seed, j, v[j]);
    }
    for (int64_t k = 0; k < c->total_entries; k++) u[k] = tg_rng_normal(rng);
}

/* RANDOM: for each direction, v over outputs and u over all inputs,
 * <grad <v, f>, u> against (<v, f(x + eps u)> - <v, f(x - eps u)>) / 2eps.
 * Two passes replay the same seeded directions: first every backward pass
 * over the one forward graph at x, then the perturbed forwards (which reset
 * the tape). That is one forward, then per direction one backward and two
 * forwards, and no direction is ever stored. */
static tg_status check_random(checker *c, tg_tensor *out) {
    const int64_t m = c->out_numel, total = c->total_entries;
    const int directions = c->options.directions;
    double *original = malloc((size_t)(total ? total : 1) * sizeof *original);
    double *u = malloc((size_t)(total ? total : 1) * sizeof *u);
    double *gradient = malloc((size_t)(total ? total : 1) * sizeof *gradient);
    double *v = malloc((size_t)(m ? m : 1) * sizeof *v);
    double *analytic = malloc((size_t)directions * sizeof *analytic);
    tg_tensor **grads = malloc((size_t)c->n * sizeof *grads);
    tg_tensor *seed = new_seed(c);
    tg_status s = TG_OK;
    if (!original || !u || !gradient || !v || !analytic || !grads || !seed) {
        s = seed ? tg_error_report(TG_ERR_MEMORY, FUNCTION, "cannot allocate buffers for %lld values",
                                   (long long)(total + m))
                 : tg_last_error();
        goto done;
    }

    tg_rng rng = tg_rng_seeded(c->options.seed);
    for (int d = 0; d < directions && s == TG_OK; d++) {
        draw_direction(c, &rng, v, seed, u);
        if (d > 0 && tape_over_budget(c->tape)) {
            out = evaluate(c, &s);
            if (!out) break;
        }
        s = analytic_row(c, out, seed, grads, gradient);
        analytic[d] = 0;
        for (int64_t k = 0; k < total; k++) analytic[d] += gradient[k] * u[k];
    }

    int64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        memcpy(original + at, c->inputs[i]->data, (size_t)c->inputs[i]->numel * sizeof(double));
        at += c->inputs[i]->numel;
    }
    rng = tg_rng_seeded(c->options.seed);
    const double eps = c->options.eps;
    for (int d = 0; d < directions && s == TG_OK; d++) {
        draw_direction(c, &rng, v, seed, u);
        move_inputs(c, original, u, eps);
        tg_tensor *y = evaluate(c, &s);
        double f_plus = y ? dot_output(y, v) : 0;
        move_inputs(c, original, u, -eps);
        y = s == TG_OK ? evaluate(c, &s) : NULL;
        double f_minus = y ? dot_output(y, v) : 0;
        restore_inputs(c, original);
        if (s != TG_OK) break;
        record_entry(c, -1, d, -1, analytic[d], (f_plus - f_minus) / (2.0 * eps));
    }

done:
    tg_free(seed);
    free(grads);
    free(analytic);
    free(v);
    free(gradient);
    free(u);
    free(original);
    return s;
}

tg_status tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs,
                       const tg_gradcheck_options *options, tg_gradcheck_result *result) {
    tg_gradcheck_options o = options ? *options : tg_gradcheck_defaults();
    if (result) {
        memset(result, 0, sizeof *result);
        result->worst_input = -1;
        result->worst_index = result->worst_output = -1;
    }
    tg_status s = check_arguments(f, n, inputs, &o);
    if (s != TG_OK) return s;

    checker c = {.f = f, .ctx = ctx, .n = n, .inputs = inputs, .options = o, .out_numel = -1};
    c.result.passed = true;
    c.result.worst_input = -1;
    c.result.worst_index = c.result.worst_output = -1;
    for (int i = 0; i < n; i++) c.total_entries += inputs[i]->numel;

    bool *requires_grad = malloc((size_t)n * sizeof *requires_grad);
    c.tape = requires_grad ? tg_tape_new() : NULL;
    if (!c.tape) {
        free(requires_grad);
        return requires_grad ? tg_last_error()
                             : tg_error_report(TG_ERR_MEMORY, FUNCTION, "cannot allocate %d flags", n);
    }
    tg_tape *previous_tape = tg_tape_use(c.tape);
    bool previous_grad_mode = tg_set_grad_enabled(true);
    for (int i = 0; i < n; i++) requires_grad[i] = inputs[i]->requires_grad;
    for (int i = 0; i < n; i++) inputs[i]->requires_grad = true;

    tg_tensor *out = evaluate(&c, &s);
    if (out) s = o.mode == TG_GRADCHECK_FULL ? check_full(&c, out) : check_random(&c, out);

    for (int i = 0; i < n; i++) inputs[i]->requires_grad = requires_grad[i];
    tg_set_grad_enabled(previous_grad_mode);
    tg_tape_use(previous_tape);
    tg_tape_free(c.tape);
    free(requires_grad);
    if (s == TG_OK && result) *result = c.result;
    return s;
}

char *tg_gradcheck_describe(const tg_gradcheck_result *r, char *buf, size_t size) {
    if (!buf || size == 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_gradcheck_describe", "buf is NULL or size is 0 (size %zu)", size);
        return buf;
    }
    if (!r) {
        snprintf(buf, size, "gradcheck: no result");
        tg_error_report(TG_ERR_ARGUMENT, "tg_gradcheck_describe", "result is NULL");
        return buf;
    }
    const char *verdict = r->passed ? "passed" : "FAILED";
    if (r->entries_checked == 0) {
        snprintf(buf, size, "gradcheck %s: nothing to compare (empty output or inputs)", verdict);
    } else if (r->worst_input < 0) {
        snprintf(buf, size,
                 "gradcheck %s: %lld random directions, worst direction %lld: analytic %.10g numeric %.10g "
                 "(abs error %.3g, rel error %.3g)",
                 verdict, (long long)r->entries_checked, (long long)r->worst_index, r->analytic, r->numeric,
                 r->abs_error, r->rel_error);
    } else {
        snprintf(buf, size,
                 "gradcheck %s: %lld entries, worst input %d index %lld output %lld: analytic %.10g numeric %.10g "
                 "(abs error %.3g, rel error %.3g)",
                 verdict, (long long)r->entries_checked, r->worst_input, (long long)r->worst_index,
                 (long long)r->worst_output, r->analytic, r->numeric, r->abs_error, r->rel_error);
    }
    return buf;
}

/* ---- sample points away from kinks ---- */

typedef struct span {
    double lo, hi;
} span;

static int compare_spans(const void *a, const void *b) {
    double x = ((const span *)a)->lo, y = ((const span *)b)->lo;
    return (x > y) - (x < y);
}

static bool far_enough(double x, int n_avoid, const double *avoid, double margin) {
    for (int i = 0; i < n_avoid; i++)
        if (!(fabs(x - avoid[i]) >= margin)) return false;
    return true;
}

tg_tensor *tg_gradcheck_input(tg_rng *rng, int rank, const int64_t *shape, double lo, double hi, int n_avoid,
                              const double *avoid, double margin) {
    const char *function = "tg_gradcheck_input";
    if (!rng) {
        tg_error_report(TG_ERR_ARGUMENT, function, "rng is NULL");
        return NULL;
    }
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo) || lo > hi || !isfinite(margin) || margin < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need finite lo <= hi and margin >= 0, got lo=%g hi=%g margin=%g",
                        lo, hi, margin);
        return NULL;
    }
    if (n_avoid < 0 || (n_avoid > 0 && !avoid)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "need n_avoid >= 0 and a non-NULL avoid list, got n_avoid=%d",
                        n_avoid);
        return NULL;
    }
    for (int i = 0; i < n_avoid; i++) {
        if (!isfinite(avoid[i])) {
            tg_error_report(TG_ERR_ARGUMENT, function, "avoid[%d] is %g; points to avoid must be finite", i, avoid[i]);
            return NULL;
        }
    }
    int64_t numel;
    if (tg_shape_validate(function, rank, shape, TG_F64, &numel) != TG_OK) return NULL;

    /* The allowed set is [lo, hi] minus the open intervals (a - margin,
     * a + margin). Drawing uniformly over its pieces gives the distribution
     * of "resample until far enough" without looping when little room is
     * left; a draw that rounding puts too close is drawn again. */
    span *bad = malloc((size_t)(n_avoid ? n_avoid : 1) * sizeof *bad);
    span *good = malloc((size_t)(n_avoid + 1) * sizeof *good);
    if (!bad || !good) {
        free(bad);
        free(good);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %d intervals", n_avoid);
        return NULL;
    }
    for (int i = 0; i < n_avoid; i++) bad[i] = (span){avoid[i] - margin, avoid[i] + margin};
    qsort(bad, (size_t)n_avoid, sizeof *bad, compare_spans);
    int n_good = 0;
    double cursor = lo, room = 0;
    for (int i = 0; i < n_avoid && cursor < hi; i++) {
        if (bad[i].lo > cursor) {
            double end = bad[i].lo < hi ? bad[i].lo : hi;
            good[n_good++] = (span){cursor, end};
            room += end - cursor;
        }
        if (bad[i].hi > cursor) cursor = bad[i].hi;
    }
    if (cursor < hi) {
        good[n_good++] = (span){cursor, hi};
        room += hi - cursor;
    }
    free(bad);
    bool single_point = lo == hi && far_enough(lo, n_avoid, avoid, margin);
    if (!(room > 0) && !single_point) {
        free(good);
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "no room: every point of [%g, %g] lies within %g of one of the %d points to avoid", lo, hi,
                        margin, n_avoid);
        return NULL;
    }

    tg_tensor *t = tg_empty(TG_F64, rank, shape);
    if (!t) {
        free(good);
        return NULL;
    }
    double *x = t->data;
    for (int64_t k = 0; k < t->numel; k++) {
        if (single_point) {
            x[k] = lo;
            continue;
        }
        double value;
        do {
            double r = tg_rng_uniform(rng) * room;
            int piece = 0;
            while (piece < n_good - 1 && r >= good[piece].hi - good[piece].lo) {
                r -= good[piece].hi - good[piece].lo;
                piece++;
            }
            value = good[piece].lo + r;
            if (value > good[piece].hi) value = good[piece].hi;
        } while (!far_enough(value, n_avoid, avoid, margin));
        x[k] = value;
    }
    free(good);
    return t;
}
