/* tests/core/test_grad_to_none.c — tg_set_grad_to_none (PyTorch's
 * zero_grad(set_to_none=True)): the gradient reads as NULL, the next
 * tg_backward writes it (matmul's GEMM with beta = 0, other ops' gradients
 * copied) into the storage kept from before, and the values are those a
 * zeroed gradient would have received. */
#include <math.h>

#include <criterion/criterion.h>

#include "test_helpers.h"

static tg_tensor *filled(tg_dtype dtype, int rank, const int64_t *shape, uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    return tg_rand_normal(&rng, dtype, rank, shape, 0.0, 1.0);
}

static tg_tensor *as_param(tg_tensor *t) {
    tg_set_requires_grad(t, true);
    return t;
}

/* sum(relu(op(A) op(B) + bias) * weights): a matmul whose two operands are
 * leaves (the in-place GEMM path) and a bias (the copied path). */
static tg_tensor *loss_of(tg_tensor *a, bool ta, tg_tensor *b, bool tb, tg_tensor *bias, tg_tensor *weights) {
    return tg_sum(tg_mul(tg_relu(tg_add(tg_matmul_t(a, ta, b, tb), bias)), weights));
}

/* The same gradients, element for element, as after tg_zero_grad, for every
 * transpose combination and both dtypes, in shapes that cross the GEMM's
 * blocking; and the gradient tensor and its storage are those of before. */
Test(grad_to_none, backward_writes_what_a_zeroed_gradient_would_receive) {
    const tg_dtype dtypes[2] = {TG_F32, TG_F64};
    for (int d = 0; d < 2; d++)
        for (int combo = 0; combo < 4; combo++) {
            bool ta = combo & 1, tb = combo & 2;
            const int64_t m = 37, k = 301, n = 45;
            const int64_t sa[2] = {ta ? k : m, ta ? m : k}, sb[2] = {tb ? n : k, tb ? k : n}, sc[2] = {m, n};
            tg_tensor *a = as_param(filled(dtypes[d], 2, sa, 11)), *b = as_param(filled(dtypes[d], 2, sb, 12));
            tg_tensor *bias = as_param(filled(dtypes[d], 1, &sc[1], 13)), *weights = filled(dtypes[d], 2, sc, 14);
            tg_tensor *params[3] = {a, b, bias};

            /* A first step leaves gradients; zero them and take the reference. */
            cr_assert_eq(tg_backward(loss_of(a, ta, b, tb, bias, weights), NULL), TG_OK, "%s", tg_last_error_message());
            reset_tape();
            tg_tensor *zeroed[3];
            for (int j = 0; j < 3; j++) tg_zero_grad(params[j]);
            cr_assert_eq(tg_backward(loss_of(a, ta, b, tb, bias, weights), NULL), TG_OK, "%s", tg_last_error_message());
            reset_tape();
            const tg_tensor *storage[3];
            for (int j = 0; j < 3; j++) {
                zeroed[j] = tg_clone(tg_grad(params[j]));
                storage[j] = tg_grad(params[j]);
                tg_set_grad_to_none(params[j]);
                cr_assert_null(tg_grad(params[j]), "parameter %d still has a gradient", j);
            }

            cr_assert_eq(tg_backward(loss_of(a, ta, b, tb, bias, weights), NULL), TG_OK, "%s", tg_last_error_message());
            for (int j = 0; j < 3; j++) {
                const tg_tensor *got = tg_grad(params[j]);
                cr_assert_eq(got, storage[j], "%s combo %d parameter %d: a new gradient tensor", tg_dtype_name(dtypes[d]),
                             combo, j);
                for (int64_t i = 0; i < got->numel; i++)
                    cr_assert_eq(tg_get_flat(got, i), tg_get_flat(zeroed[j], i),
                                 "%s combo %d parameter %d element %lld: %.17g after set_to_none, %.17g after zero_grad",
                                 tg_dtype_name(dtypes[d]), combo, j, (long long)i, tg_get_flat(got, i),
                                 tg_get_flat(zeroed[j], i));
                tg_free(zeroed[j]);
            }
            reset_tape();
            for (int j = 0; j < 3; j++) tg_free(params[j]);
            tg_free(weights);
        }
}

/* Only the first backward after set_to_none writes; a second one adds to it
 * (gradient accumulation over micro-batches), in both paths. */
Test(grad_to_none, a_second_backward_adds) {
    const int64_t sa[2] = {6, 9}, sb[2] = {9, 4}, sc[2] = {6, 4};
    tg_tensor *a = as_param(filled(TG_F64, 2, sa, 21)), *b = as_param(filled(TG_F64, 2, sb, 22));
    tg_tensor *bias = as_param(filled(TG_F64, 1, &sc[1], 23)), *weights = filled(TG_F64, 2, sc, 24);
    tg_tensor *params[3] = {a, b, bias}, *once[3];
    cr_assert_eq(tg_backward(loss_of(a, false, b, false, bias, weights), NULL), TG_OK);
    reset_tape();
    for (int j = 0; j < 3; j++) {
        once[j] = tg_clone(tg_grad(params[j]));
        tg_set_grad_to_none(params[j]);
    }
    for (int pass = 0; pass < 2; pass++) {
        cr_assert_eq(tg_backward(loss_of(a, false, b, false, bias, weights), NULL), TG_OK);
        reset_tape();
    }
    for (int j = 0; j < 3; j++) {
        for (int64_t i = 0; i < once[j]->numel; i++) {
            double want = 2 * tg_get_flat(once[j], i), got = tg_get_flat(tg_grad(params[j]), i);
            cr_assert(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "parameter %d element %lld: %.17g, want %.17g", j,
                      (long long)i, got, want);
        }
        tg_free(once[j]);
        tg_free(params[j]);
    }
    tg_free(weights);
}

/* A parameter that the next backward does not reach keeps no gradient, and
 * the optimizer leaves it as it is (PyTorch skips a None .grad). */
Test(grad_to_none, the_optimizer_skips_a_parameter_backward_did_not_reach) {
    const int64_t shape[1] = {5};
    tg_tensor *used = as_param(filled(TG_F32, 1, shape, 31)), *unused = as_param(filled(TG_F32, 1, shape, 32));
    tg_tensor *params[2] = {used, unused};
    tg_optimizer *opt = tg_adam_new(2, params, 0.1);
    cr_assert_not_null(opt);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_add(used, unused), used)), NULL), TG_OK);
    reset_tape();
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    tg_optimizer_set_grads_to_none(opt);
    cr_assert_null(tg_grad(used));
    cr_assert_null(tg_grad(unused));

    tg_tensor *unused_before = tg_clone(unused), *used_before = tg_clone(used);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(used, used)), NULL), TG_OK);
    reset_tape();
    cr_assert_not_null(tg_grad(used));
    cr_assert_null(tg_grad(unused), "backward did not reach it");
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    for (int64_t i = 0; i < 5; i++) {
        cr_assert_eq(tg_get_flat(unused, i), tg_get_flat(unused_before, i), "element %lld of the skipped parameter moved",
                     (long long)i);
        cr_assert_neq(tg_get_flat(used, i), tg_get_flat(used_before, i), "element %lld of the updated one did not",
                      (long long)i);
    }
    tg_optimizer_free(opt);
    tg_free(unused_before);
    tg_free(used_before);
    tg_free(used);
    tg_free(unused);
}

/* .grad is public: a tensor of the wrong shape put there and then set to
 * none is not reused; the next backward makes a gradient of the right shape. */
Test(grad_to_none, a_wrong_shaped_spare_is_replaced) {
    const int64_t sa[2] = {3, 4}, sb[2] = {4, 2}, wrong[2] = {5, 5};
    tg_tensor *a = as_param(filled(TG_F64, 2, sa, 41)), *b = filled(TG_F64, 2, sb, 42);
    a->grad = tg_zeros(TG_F64, 2, wrong);
    tg_set_grad_to_none(a);
    cr_assert_eq(tg_backward(tg_sum(tg_matmul(a, b)), NULL), TG_OK, "%s", tg_last_error_message());
    expect_shape(tg_grad(a), 2, sa);
    for (int64_t i = 0; i < 3; i++)
        for (int64_t p = 0; p < 4; p++) { /* d sum(A B) / dA(i,p) = sum_j B(p,j) */
            double want = tg_get_flat(b, p * 2) + tg_get_flat(b, p * 2 + 1);
            cr_assert(fabs(tg_get_flat(tg_grad(a), i * 4 + p) - want) <= 1e-15);
        }
    reset_tape();
    tg_free(a);
    tg_free(b);
}

/* Anomaly mode checks a gradient before adding to it; storage that is about
 * to be overwritten is not checked (it may hold anything, here NaN). */
Test(grad_to_none, anomaly_mode_does_not_check_storage_about_to_be_overwritten) {
    const int64_t shape[1] = {100};
    tg_tensor *x = as_param(filled(TG_F32, 1, shape, 51));
    x->grad = tg_full(TG_F32, 1, shape, NAN);
    tg_set_grad_to_none(x);
    bool previous = tg_set_anomaly_detection(true);
    cr_assert_eq(tg_backward(tg_sum(tg_mul_scalar(x, 3.0)), NULL), TG_OK, "%s", tg_last_error_message());
    tg_set_anomaly_detection(previous);
    for (int64_t i = 0; i < 100; i++) cr_assert_eq(tg_get_flat(tg_grad(x), i), 3.0);
    reset_tape();
    tg_free(x);
}

/* A tape tensor's gradient is arena memory: set to none just forgets it. */
Test(grad_to_none, a_tape_tensor_forgets_its_gradient) {
    const int64_t shape[1] = {3};
    tg_tensor *w = as_param(filled(TG_F64, 1, shape, 61));
    tg_tensor *h = tg_mul_scalar(w, 2.0);
    tg_tensor *grads[1];
    cr_assert_eq(tg_gradients(tg_sum(tg_mul(h, h)), NULL, 1, &h, grads, false), TG_OK);
    cr_assert_not_null(h->grad);
    tg_set_grad_to_none(h);
    cr_assert_null(h->grad);
    cr_assert_null(h->grad_spare);
    reset_tape();
    tg_free(w);
}

Test(grad_to_none, null_is_refused_by_name, .init = return_mode, .fini = abort_mode) {
    tg_set_grad_to_none(NULL);
    assert_error(TG_ERR_ARGUMENT, "tg_set_grad_to_none", NULL);
    tg_optimizer_set_grads_to_none(NULL);
    assert_error(TG_ERR_ARGUMENT, "tg_optimizer_set_grads_to_none", NULL);
}
