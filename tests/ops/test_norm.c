/* Tests of layer, batch and group normalization (ops/norm.c) and dropout
 * (ops/dropout.c): values by hand, the fused ops equal to the same
 * functions composed from primitive ops (forward and every gradient: f64
 * tight, f32 to its rounding), batch norm's running statistics and
 * evaluation mode, dropout's mask (the same on 1 and 2 threads and for the
 * same counter, dropping a fraction p, backward = mask * scale) and
 * Philox-4x32-10 against the published known-answer vectors. The
 * comparisons with PyTorch are in test_norm_torch.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ops/norm_internal.h"
#include "tapegrad.h"
#include "tests/test_helpers.h"

static tg_tensor *random_param(uint64_t seed, tg_dtype dtype, int rank, const int64_t *shape, double lo, double hi) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *t = tg_rand_uniform(&rng, dtype, rank, shape, lo, hi);
    cr_assert_not_null(t);
    cr_assert_eq(tg_set_requires_grad(t, true), TG_OK);
    return t;
}

static void expect_close(const tg_tensor *got, const tg_tensor *want, double tol, const char *what) {
    cr_assert_not_null(got, "%s: no tensor (%s)", what, tg_last_error_message());
    cr_assert_not_null(want, "%s: no reference", what);
    cr_assert_eq(got->numel, want->numel, "%s: sizes differ", what);
    for (int64_t i = 0; i < got->numel; i++) {
        double a = tg_get_flat(got, i), b = tg_get_flat(want, i);
        cr_assert(fabs(a - b) <= tol * fmax(1.0, fabs(b)), "%s[%lld]: %.17g vs %.17g", what, (long long)i, a, b);
    }
}

/* ---- values by hand ---- */

/* One row 1, 2, 3, 4: mean 2.5, biased variance 1.25. */
Test(ops_norm, layer_norm_of_one_row_by_hand) {
    tg_tensor *x = make(TG_F64, 2, (int64_t[]){1, 4}, (double[]){1, 2, 3, 4});
    tg_tensor *w = make(TG_F64, 1, (int64_t[]){4}, (double[]){1, 2, 3, 4});
    tg_tensor *b = make(TG_F64, 1, (int64_t[]){4}, (double[]){0, 0, 1, 1});
    double r = 1 / sqrt(1.25 + 1e-5);
    tg_tensor *y = tg_layer_norm(x, 1, w, b, 1e-5);
    double want[4] = {-1.5 * r, -0.5 * 2 * r, 0.5 * 3 * r + 1, 1.5 * 4 * r + 1};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(tg_get_flat(y, i), want[i], 1e-14);
    tg_free(x), tg_free(w), tg_free(b);
    reset_tape();
}

/* Two axes normalized together: (2,2,2) over the last two, each sample's
 * 4 values 0..3 and 4..7 both become (v - 1.5) / sqrt(1.25 + eps). */
Test(ops_norm, layer_norm_over_two_axes_by_hand) {
    tg_tensor *x = iota(TG_F32, 3, (int64_t[]){2, 2, 2}, false);
    tg_tensor *y = tg_layer_norm(x, 2, NULL, NULL, 1e-5);
    double r = 1 / sqrt(1.25 + 1e-5);
    for (int i = 0; i < 8; i++) cr_assert_float_eq(tg_get_flat(y, i), ((i % 4) - 1.5) * r, 1e-6);
    tg_free(x);
    reset_tape();
}

/* Batch norm (3,2), channel 0: 1, 2, 6 (mean 3, biased var 14/3, unbiased
 * 7); channel 1: 0, 0, 3 (mean 1, biased var 2, unbiased 3). Momentum 0.1
 * from running (0, 1): mean 0.3, 0.1; var 0.9 + 0.7 = 1.6, 0.9 + 0.3 = 1.2. */
Test(ops_norm, batch_norm_training_uses_batch_statistics_and_updates_running_ones) {
    for (int fused = 0; fused < 2; fused++) {
        tg_tensor *x = make(TG_F64, 2, (int64_t[]){3, 2}, (double[]){1, 0, 2, 0, 6, 3});
        tg_tensor *rm = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, 0});
        tg_tensor *rv = make(TG_F64, 1, (int64_t[]){2}, (double[]){1, 1});
        uint64_t versions[2] = {rm->version, rv->version};
        tg_tensor *y = fused ? tg_batch_norm(x, NULL, NULL, rm, rv, true, 0.1, 1e-5)
                             : tgi_batch_norm_composed(x, NULL, NULL, rm, rv, true, 0.1, 1e-5);
        double r0 = 1 / sqrt(14.0 / 3 + 1e-5), r1 = 1 / sqrt(2 + 1e-5);
        double want[6] = {-2 * r0, -1 * r1, -1 * r0, -1 * r1, 3 * r0, 2 * r1};
        for (int i = 0; i < 6; i++) cr_assert_float_eq(tg_get_flat(y, i), want[i], 1e-14, "fused %d, %d", fused, i);
        cr_assert_float_eq(tg_get_flat(rm, 0), 0.3, 1e-15);
        cr_assert_float_eq(tg_get_flat(rm, 1), 0.1, 1e-15);
        cr_assert_float_eq(tg_get_flat(rv, 0), 1.6, 1e-15);
        cr_assert_float_eq(tg_get_flat(rv, 1), 1.2, 1e-15);
        cr_assert_gt(rm->version, versions[0], "running_mean's version was not bumped");
        cr_assert_gt(rv->version, versions[1], "running_var's version was not bumped");
        tg_free(x), tg_free(rm), tg_free(rv);
        reset_tape();
    }
}

/* Evaluation: (x - running_mean) / sqrt(running_var + eps) * w + b, and
 * the running statistics stay as they are. */
Test(ops_norm, batch_norm_evaluation_uses_running_statistics) {
    tg_tensor *x = make(TG_F32, 3, (int64_t[]){1, 2, 2}, (double[]){1, 2, 3, 4});
    tg_tensor *rm = make(TG_F32, 1, (int64_t[]){2}, (double[]){1, 2});
    tg_tensor *rv = make(TG_F32, 1, (int64_t[]){2}, (double[]){4, 0.25});
    tg_tensor *w = make(TG_F32, 1, (int64_t[]){2}, (double[]){2, 3});
    tg_tensor *b = make(TG_F32, 1, (int64_t[]){2}, (double[]){0.5, -1});
    uint64_t version = rm->version;
    tg_tensor *y = tg_batch_norm(x, w, b, rm, rv, false, 0.1, 1e-5);
    double r0 = 1 / sqrt(4 + 1e-5), r1 = 1 / sqrt(0.25 + 1e-5);
    double want[4] = {0 * r0 * 2 + 0.5, 1 * r0 * 2 + 0.5, 1 * r1 * 3 - 1, 2 * r1 * 3 - 1};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(tg_get_flat(y, i), want[i], 1e-6);
    cr_assert_eq(rm->version, version);
    cr_assert_eq(tg_get_flat(rm, 0), 1.0);
    tg_free(x), tg_free(rm), tg_free(rv), tg_free(w), tg_free(b);
    reset_tape();
}

/* Group norm (1,4,1) in 2 groups: {0,1} and {2,3}, each +-0.5 / sqrt(0.25 + eps). */
Test(ops_norm, group_norm_by_hand) {
    tg_tensor *x = iota(TG_F64, 3, (int64_t[]){1, 4, 1}, false);
    tg_tensor *y = tg_group_norm(x, 2, NULL, NULL, 1e-5);
    double r = 0.5 / sqrt(0.25 + 1e-5);
    double want[4] = {-r, r, -r, r};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(tg_get_flat(y, i), want[i], 1e-14);
    tg_free(x);
    reset_tape();
}

/* ---- fused == composed, forward and gradients ---- */

#define MAX_ARGS 3
typedef tg_tensor *(*norm_call)(tg_tensor **args, bool fused);

/* Runs call (fused, then composed) on args, backward of sum(y * c) with c a
 * fixed random tensor, and compares y and every argument's gradient. */
static void expect_fused_equals_composed(norm_call call, int n, tg_tensor **args, double tol, const char *what) {
    tg_tensor *y[2], *grads[2][MAX_ARGS];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) tg_set_grad_to_none(args[i]);
        tg_tensor *out = call(args, pass == 0);
        cr_assert_not_null(out, "%s: %s", what, tg_last_error_message());
        tg_rng rng = tg_rng_seeded(99);
        tg_tensor *c = tg_rand_uniform(&rng, out->dtype, out->rank, out->shape, -1, 1);
        cr_assert_eq(tg_backward(tg_sum(tg_mul(out, c)), NULL), TG_OK, "%s", tg_last_error_message());
        y[pass] = tg_clone(out);
        for (int i = 0; i < n; i++) grads[pass][i] = tg_clone(tg_grad(args[i]));
        tg_free(c);
        reset_tape();
    }
    expect_close(y[0], y[1], tol, what);
    for (int i = 0; i < n; i++) {
        expect_close(grads[0][i], grads[1][i], tol, what);
        tg_free(grads[0][i]), tg_free(grads[1][i]);
    }
    tg_free(y[0]), tg_free(y[1]);
}

static tg_tensor *layer_norm_call(tg_tensor **a, bool fused) {
    return fused ? tg_layer_norm(a[0], 2, a[1], a[2], 1e-5) : tgi_layer_norm_composed(a[0], 2, a[1], a[2], 1e-5);
}
static tg_tensor *batch_norm_call(tg_tensor **a, bool fused) {
    return fused ? tg_batch_norm(a[0], a[1], a[2], NULL, NULL, true, 0.1, 1e-5)
                 : tgi_batch_norm_composed(a[0], a[1], a[2], NULL, NULL, true, 0.1, 1e-5);
}
static tg_tensor *group_norm_call(tg_tensor **a, bool fused) {
    return fused ? tg_group_norm(a[0], 3, a[1], a[2], 1e-5) : tgi_group_norm_composed(a[0], 3, a[1], a[2], 1e-5);
}

typedef struct equality_case {
    const char *what;
    norm_call call;
    int rank;
    int64_t x_shape[4];
    int param_rank;
    int64_t param_shape[2];
} equality_case;

/* Odd sizes; the second (N, C, H, W) batch norm is large enough to run on
 * the thread pool. */
static const equality_case equality_cases[] = {
    {"layer_norm (3,5,7) over (5,7)", layer_norm_call, 3, {3, 5, 7}, 2, {5, 7}},
    {"layer_norm (64,33,9) over (33,9)", layer_norm_call, 3, {64, 33, 9}, 2, {33, 9}},
    {"batch_norm (5,3)", batch_norm_call, 2, {5, 3}, 1, {3}},
    {"batch_norm (7,130): columns in chunks", batch_norm_call, 2, {7, 130}, 1, {130}},
    {"batch_norm (3,4,5,7)", batch_norm_call, 4, {3, 4, 5, 7}, 1, {4}},
    {"batch_norm (16,6,17,19)", batch_norm_call, 4, {16, 6, 17, 19}, 1, {6}},
    {"group_norm (3,6,5,7) in 3 groups", group_norm_call, 4, {3, 6, 5, 7}, 1, {6}},
    {"group_norm (2,9,11) in 3 groups", group_norm_call, 3, {2, 9, 11}, 1, {9}},
};

static void run_equality_cases(tg_dtype dtype, double tol) {
    for (size_t k = 0; k < sizeof equality_cases / sizeof equality_cases[0]; k++) {
        const equality_case *c = &equality_cases[k];
        tg_tensor *args[3] = {random_param(1 + k, dtype, c->rank, c->x_shape, -2, 3),
                              random_param(2 + k, dtype, c->param_rank, c->param_shape, 0.5, 1.5),
                              random_param(3 + k, dtype, c->param_rank, c->param_shape, -1, 1)};
        expect_fused_equals_composed(c->call, 3, args, tol, c->what);
        for (int i = 0; i < 3; i++) tg_free(args[i]);
    }
}

Test(ops_norm, fused_equals_composed_float64) { run_equality_cases(TG_F64, 1e-12); }
Test(ops_norm, fused_equals_composed_float32) { run_equality_cases(TG_F32, 2e-5); }

/* The running statistics after a training step agree too, for (N, C, H, W)
 * and for (N, C) (the column kernels). */
Test(ops_norm, batch_norm_running_statistics_fused_equal_composed) {
    for (int shape = 0; shape < 2; shape++) {
        tg_tensor *x = shape ? random_param(5, TG_F64, 2, (int64_t[]){9, 3}, -2, 3)
                             : random_param(5, TG_F64, 4, (int64_t[]){4, 3, 5, 6}, -2, 3);
        tg_tensor *rm[2], *rv[2];
        for (int k = 0; k < 2; k++) {
            rm[k] = make(TG_F64, 1, (int64_t[]){3}, (double[]){0.5, -1, 2});
            rv[k] = make(TG_F64, 1, (int64_t[]){3}, (double[]){1, 2, 0.5});
        }
        cr_assert_not_null(tg_batch_norm(x, NULL, NULL, rm[0], rv[0], true, 0.3, 1e-5));
        cr_assert_not_null(tgi_batch_norm_composed(x, NULL, NULL, rm[1], rv[1], true, 0.3, 1e-5));
        expect_close(rm[0], rm[1], 1e-14, "running_mean");
        expect_close(rv[0], rv[1], 1e-14, "running_var");
        tg_free(x);
        for (int k = 0; k < 2; k++) tg_free(rm[k]), tg_free(rv[k]);
        reset_tape();
    }
}

/* The fused ops split groups over the pool; each group is computed alone,
 * so 1 and 2 threads give the same bits, forward and backward. */
Test(ops_norm, fused_results_are_the_same_on_one_and_two_threads) {
    tg_tensor *x = random_param(8, TG_F32, 4, (int64_t[]){8, 6, 20, 20}, -2, 3);
    tg_tensor *results[2][2];
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_set_grad_to_none(x);
        tg_tensor *y = tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
        cr_assert_eq(tg_backward(tg_sum(tg_mul(y, y)), NULL), TG_OK);
        results[threads - 1][0] = tg_clone(y);
        results[threads - 1][1] = tg_clone(tg_grad(x));
        reset_tape();
    }
    tg_set_num_threads(1);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(memcmp(results[0][k]->data, results[1][k]->data, (size_t)x->numel * sizeof(float)), 0,
                     "%s differs between 1 and 2 threads", k ? "the gradient" : "the output");
        tg_free(results[0][k]), tg_free(results[1][k]);
    }
    tg_free(x);
}

/* No weight, no bias: the plain normalization; and a layer norm over all
 * of a rank-1 x. */
Test(ops_norm, fused_equals_composed_without_affine) {
    tg_tensor *x = random_param(6, TG_F64, 1, (int64_t[]){13}, -1, 1);
    for (int pass = 0; pass < 2; pass++) {
        tg_set_grad_to_none(x);
        tg_tensor *y = pass ? tg_layer_norm(x, 1, NULL, NULL, 1e-3) : tgi_layer_norm_composed(x, 1, NULL, NULL, 1e-3);
        cr_assert_not_null(y);
        double mean = 0, sq = 0;
        for (int i = 0; i < 13; i++) mean += tg_get_flat(y, i) / 13;
        for (int i = 0; i < 13; i++) sq += tg_get_flat(y, i) * tg_get_flat(y, i) / 13;
        cr_assert_float_eq(mean, 0.0, 1e-14);
        cr_assert_lt(sq, 1.0); /* var / (var + eps) */
        cr_assert_gt(sq, 0.95);
        reset_tape();
    }
    tg_free(x);
}

/* ---- dropout ---- */

/* The Random123 known-answer vectors of philox4x32_10 (kat_vectors). */
Test(ops_dropout, philox_matches_the_published_known_answers) {
    struct {
        uint32_t counter[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        tgi_philox4x32(kat[k].counter, kat[k].key, out);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(out[i], kat[k].want[i], "vector %d word %d: %#x, expected %#x", k, i, out[i], kat[k].want[i]);
    }
}

/* 1 + the flat index, so that a kept element's value says where it was. */
static tg_tensor *ones_like_index(tg_dtype dtype, int64_t n) {
    tg_tensor *x = tg_zeros(dtype, 1, &n);
    for (int64_t i = 0; i < n; i++) tg_set_flat(x, i, (double)(i % 1000) + 1);
    return x;
}

static tg_tensor *dropout_on_threads(tg_tensor *x, int threads, double p, uint64_t seed, uint64_t counter) {
    tg_set_num_threads(threads);
    tg_tensor *y = tg_dropout(x, p, true, seed, counter);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    tg_tensor *copy = tg_clone(y);
    tg_set_num_threads(1);
    return copy;
}

static bool same_bits(const tg_tensor *a, const tg_tensor *b) {
    return a->numel == b->numel && memcmp(a->data, b->data, (size_t)a->numel * tg_dtype_size(a->dtype)) == 0;
}

Test(ops_dropout, mask_is_the_same_on_one_and_two_threads) {
    const int64_t n = 200003;
    tg_tensor *x = ones_like_index(TG_F32, n);
    tg_tensor *one = dropout_on_threads(x, 1, 0.3, 42, 7), *two = dropout_on_threads(x, 2, 0.3, 42, 7);
    cr_assert(same_bits(one, two), "1 and 2 threads gave different masks");
    /* The same (seed, counter) again (a resumed run) gives the same mask; the
     * next counter or another seed a different one. */
    tg_tensor *again = dropout_on_threads(x, 2, 0.3, 42, 7), *next = dropout_on_threads(x, 1, 0.3, 42, 8),
              *other = dropout_on_threads(x, 1, 0.3, 43, 7);
    cr_assert(same_bits(one, again));
    cr_assert(!same_bits(one, next));
    cr_assert(!same_bits(one, other));
    tg_free(x), tg_free(one), tg_free(two), tg_free(again), tg_free(next), tg_free(other);
    reset_tape();
}

/* Kept elements are x / (1 - p), the rest 0, and the dropped fraction is p
 * within 5 standard deviations of a binomial (n = 200003). */
Test(ops_dropout, drops_a_fraction_p_and_scales_the_rest) {
    const int64_t n = 200003;
    const double ps[] = {0.1, 0.5, 0.9};
    for (int k = 0; k < 3; k++) {
        double p = ps[k];
        tg_tensor *x = ones_like_index(TG_F64, n);
        tg_tensor *y = tg_dropout(x, p, true, 1234, (uint64_t)k);
        int64_t dropped = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = tg_get_flat(y, i);
            if (v == 0) {
                dropped++;
                continue;
            }
            cr_assert_eq(v, tg_get_flat(x, i) * (1.0 / (1.0 - p)), "element %lld", (long long)i);
        }
        double sigma = sqrt(n * p * (1 - p));
        cr_assert(fabs((double)dropped - n * p) < 5 * sigma, "p %g: dropped %lld of %lld", p, (long long)dropped,
                  (long long)n);
        tg_free(x);
        reset_tape();
    }
}

/* d/dx sum(c * dropout(x)) = c * mask / (1 - p), with the mask read off the
 * forward output (x nonzero everywhere). */
Test(ops_dropout, gradient_is_the_mask_times_the_scale) {
    const int64_t n = 1001;
    tg_tensor *x = ones_like_index(TG_F32, n);
    tg_set_requires_grad(x, true);
    tg_tensor *c = tg_zeros(TG_F32, 1, &n);
    for (int64_t i = 0; i < n; i++) tg_set_flat(c, i, 0.25 * (double)(i % 7) - 0.5);
    tg_tensor *y = tg_dropout(x, 0.4, true, 5, 11);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(y, c)), NULL), TG_OK);
    float scale = (float)(1.0 / 0.6);
    for (int64_t i = 0; i < n; i++) {
        double kept = tg_get_flat(y, i) != 0;
        cr_assert_eq(tg_get_flat(tg_grad(x), i), kept ? (double)((float)tg_get_flat(c, i) * scale) : 0.0,
                     "element %lld", (long long)i);
    }
    tg_free(x), tg_free(c);
    reset_tape();
}

/* Not training, or p = 0: x itself, nothing recorded. */
Test(ops_dropout, is_the_identity_in_evaluation_and_for_p_zero) {
    tg_tensor *x = iota(TG_F64, 2, (int64_t[]){3, 4}, true);
    cr_assert_eq(tg_dropout(x, 0.5, false, 1, 2), x);
    cr_assert_eq(tg_dropout(x, 0.0, true, 1, 2), x);
    tg_free(x);
}
