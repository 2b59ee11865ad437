/* Tests of tg_scaled_dot_product_attention (ops/attention.c): values known in
 * closed form (q = 0 gives uniform weights, so the output is a mean of v's
 * rows); the fused op against the same formula composed of ops, forward and
 * every gradient, float64 tight and float32 loose, with and without causal
 * and additive masks, on shapes that cross the kernel's 64-row blocks; a
 * fully masked row; the errors. Gradcheck and second order are in
 * tests/core/test_gradcheck_ops.c, PyTorch in tests/core/test_torch_oracle.c. */
#include <math.h>

#include <criterion/criterion.h>

#include "ops/op_internal.h" /* tgi_attention_composed */
#include "tapegrad.h"
#include "tests/test_helpers.h"

/* q = 0: every score is 0, the weights uniform over the keys kept, so row i
 * of the output is the mean of v's rows 0..i (causal) or of all rows. */
Test(ops_attention, zero_queries_average_the_values) {
    tg_tensor *q = tg_zeros(TG_F64, 3, (int64_t[]){1, 3, 2});
    tg_tensor *k = make(TG_F64, 3, (int64_t[]){1, 3, 2}, (double[]){1, 2, 3, 4, 5, 6});
    tg_tensor *v = make(TG_F64, 3, (int64_t[]){1, 3, 2}, (double[]){1, 10, 2, 20, 6, 60});
    expect_tensor(tg_scaled_dot_product_attention(q, k, v, NULL, true, 0), TG_F64, 3, (int64_t[]){1, 3, 2},
                  (double[]){1, 10, 1.5, 15, 3, 30});
    expect_tensor(tg_scaled_dot_product_attention(q, k, v, NULL, false, 0), TG_F64, 3, (int64_t[]){1, 3, 2},
                  (double[]){3, 30, 3, 30, 3, 30});
    tg_free(q);
    tg_free(k);
    tg_free(v);
    reset_tape();
}

/* One query, two keys: scores scale * (q.k) = 0.5 * (2, 0) = (1, 0), weights
 * e/(e+1), 1/(e+1); v = (4, 0) gives 4e/(e+1). A mask of (0, -inf) keeps
 * only the first key: 4. */
Test(ops_attention, one_query_by_hand) {
    tg_tensor *q = make(TG_F64, 2, (int64_t[]){1, 2}, (double[]){1, 1});
    tg_tensor *k = make(TG_F64, 2, (int64_t[]){2, 2}, (double[]){1, 1, 0, 0});
    tg_tensor *v = make(TG_F64, 2, (int64_t[]){2, 1}, (double[]){4, 0});
    tg_tensor *mask = make(TG_F64, 1, (int64_t[]){2}, (double[]){0, -INFINITY});
    double e = exp(1.0);
    expect_tensor(tg_scaled_dot_product_attention(q, k, v, NULL, false, 0.5), TG_F64, 2, (int64_t[]){1, 1},
                  (double[]){4 * e / (e + 1)});
    expect_tensor(tg_scaled_dot_product_attention(q, k, v, mask, false, 0.5), TG_F64, 2, (int64_t[]){1, 1},
                  (double[]){4});
    tg_free(q);
    tg_free(k);
    tg_free(v);
    tg_free(mask);
    reset_tape();
}

typedef struct attention_case {
    const char *what;
    int64_t lead[2], t, s, d, dv;
    bool causal, with_mask;
    int mask_rank;
    int64_t mask_shape[4];
} attention_case;

static const attention_case cases[] = {
    {"plain", {2, 3}, 5, 5, 4, 4, false, false, 0, {0}},
    {"causal", {2, 3}, 5, 5, 4, 3, true, false, 0, {0}},
    {"causal, T < S", {1, 2}, 3, 6, 4, 5, true, false, 0, {0}},
    {"causal, T > S", {1, 2}, 6, 3, 4, 5, true, false, 0, {0}},
    {"mask (T,S)", {2, 2}, 4, 6, 3, 2, false, true, 2, {4, 6}},
    {"mask (B,1,T,S) and causal", {2, 2}, 4, 4, 3, 2, true, true, 4, {2, 1, 4, 4}},
    {"mask (1,S)", {1, 3}, 4, 5, 2, 2, false, true, 2, {1, 5}},
    {"causal over several blocks", {1, 2}, 150, 150, 8, 8, true, false, 0, {0}},
    {"mask over several blocks", {1, 1}, 70, 130, 4, 3, false, true, 2, {70, 130}},
};

static tg_tensor *random_input(tg_rng *rng, tg_dtype dtype, int64_t a, int64_t b, int64_t rows, int64_t cols) {
    tg_tensor *t = tg_rand_uniform(rng, dtype, 4, (int64_t[]){a, b, rows, cols}, -1.5, 1.5);
    tg_set_requires_grad(t, true);
    return t;
}

/* A mask of values in [-1, 1] with about a quarter -inf (never a whole row:
 * column 0 is kept). */
static tg_tensor *random_mask(tg_rng *rng, tg_dtype dtype, const attention_case *c) {
    tg_tensor *m = tg_rand_uniform(rng, dtype, c->mask_rank, c->mask_shape, -1, 1);
    int64_t cols = c->mask_shape[c->mask_rank - 1];
    for (int64_t i = 0; i < m->numel; i++)
        if (i % cols != 0 && tg_get_flat(m, i) < -0.5) tg_set_flat(m, i, -INFINITY);
    tg_set_requires_grad(m, true);
    return m;
}

/* out and every gradient of sum(out * w), w fixed, for one form. */
static void run_form(bool fused, tg_tensor **in, int n, const attention_case *c, tg_tensor *w, double *out_sum,
                     tg_tensor **out_copy, tg_tensor **grads) {
    tg_tensor *mask = n > 3 ? in[3] : NULL;
    tg_tensor *out = fused ? tg_scaled_dot_product_attention(in[0], in[1], in[2], mask, c->causal, 0)
                           : tgi_attention_composed(in[0], in[1], in[2], mask, c->causal, 0);
    cr_assert_not_null(out, "%s: %s", c->what, tg_last_error_message());
    *out_copy = tg_clone(out);
    tg_tensor *loss = tg_sum(tg_mul(out, w));
    *out_sum = tg_item(loss);
    cr_assert_eq(tg_gradients(loss, NULL, n, in, grads, false), TG_OK, "%s", tg_last_error_message());
    for (int i = 0; i < n; i++) grads[i] = tg_clone(grads[i]);
}

static void assert_near(const tg_tensor *a, const tg_tensor *b, double tol, const char *what, const char *which) {
    cr_assert_eq(a->numel, b->numel);
    for (int64_t i = 0; i < a->numel; i++) {
        double x = tg_get_flat(a, i), y = tg_get_flat(b, i);
        cr_assert(fabs(x - y) <= tol * fmax(1, fabs(y)), "%s, %s [%lld]: fused %.17g composed %.17g", what, which,
                  (long long)i, x, y);
    }
}

static void compare_forms(const attention_case *c, tg_dtype dtype, double tol, uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *in[4];
    in[0] = random_input(&rng, dtype, c->lead[0], c->lead[1], c->t, c->d);
    in[1] = random_input(&rng, dtype, c->lead[0], c->lead[1], c->s, c->d);
    in[2] = random_input(&rng, dtype, c->lead[0], c->lead[1], c->s, c->dv);
    int n = 3;
    if (c->with_mask) in[n++] = random_mask(&rng, dtype, c);
    tg_tensor *w = tg_rand_uniform(&rng, dtype, 4, (int64_t[]){c->lead[0], c->lead[1], c->t, c->dv}, -1, 1);
    double sum_fused, sum_composed;
    tg_tensor *out_fused, *out_composed, *g_fused[4], *g_composed[4];
    run_form(true, in, n, c, w, &sum_fused, &out_fused, g_fused);
    run_form(false, in, n, c, w, &sum_composed, &out_composed, g_composed);
    assert_near(out_fused, out_composed, tol, c->what, "output");
    static const char *const names[] = {"dq", "dk", "dv", "dmask"};
    for (int i = 0; i < n; i++) {
        assert_near(g_fused[i], g_composed[i], tol, c->what, names[i]);
        tg_free(g_fused[i]);
        tg_free(g_composed[i]);
        tg_free(in[i]);
    }
    tg_free(out_fused);
    tg_free(out_composed);
    tg_free(w);
    reset_tape();
}

Test(ops_attention, fused_equals_composed_float64) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) compare_forms(&cases[i], TG_F64, 1e-12, 10 + i);
}

Test(ops_attention, fused_equals_composed_float32) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) compare_forms(&cases[i], TG_F32, 2e-5, 20 + i);
}

/* The same result on one thread and on two (blocks of rows are independent). */
Test(ops_attention, same_bits_on_one_and_two_threads) {
    tg_rng rng = tg_rng_seeded(5);
    tg_tensor *q = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){2, 4, 130, 16}, 0, 1);
    tg_tensor *k = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){2, 4, 130, 16}, 0, 1);
    tg_tensor *v = tg_rand_normal(&rng, TG_F32, 4, (int64_t[]){2, 4, 130, 16}, 0, 1);
    int before = tg_set_num_threads(1);
    tg_tensor *one = tg_clone(tg_scaled_dot_product_attention(q, k, v, NULL, true, 0));
    tg_set_num_threads(2);
    tg_tensor *two = tg_scaled_dot_product_attention(q, k, v, NULL, true, 0);
    tg_set_num_threads(before);
    cr_assert_eq(memcmp(one->data, two->data, (size_t)one->numel * sizeof(float)), 0);
    tg_free(one);
    tg_free(q);
    tg_free(k);
    tg_free(v);
    reset_tape();
}

/* Every key of row 0 removed: softmax of all -inf is NaN (as PyTorch's);
 * the other row is unaffected. */
Test(ops_attention, a_fully_masked_row_is_nan) {
    tg_tensor *q = tg_ones(TG_F64, 2, (int64_t[]){2, 2});
    tg_tensor *v = make(TG_F64, 2, (int64_t[]){2, 1}, (double[]){1, 3});
    tg_tensor *mask = make(TG_F64, 2, (int64_t[]){2, 2}, (double[]){-INFINITY, -INFINITY, 0, 0});
    tg_tensor *out = tg_scaled_dot_product_attention(q, q, v, mask, false, 0);
    cr_assert(isnan(tg_get_flat(out, 0)));
    cr_assert_float_eq(tg_get_flat(out, 1), 2.0, 1e-15);
    tg_free(q);
    tg_free(v);
    tg_free(mask);
    reset_tape();
}

Test(ops_attention, errors_name_the_function_and_the_shapes, .init = return_mode, .fini = abort_mode) {
    tg_tensor *q = tg_zeros(TG_F64, 3, (int64_t[]){2, 3, 4});
    tg_tensor *k5 = tg_zeros(TG_F64, 3, (int64_t[]){2, 3, 5});
    tg_tensor *v = tg_zeros(TG_F64, 3, (int64_t[]){2, 3, 4});
    tg_tensor *q32 = tg_zeros(TG_F32, 3, (int64_t[]){2, 3, 4});
    tg_tensor *other_batch = tg_zeros(TG_F64, 3, (int64_t[]){1, 3, 4});
    tg_tensor *bad_mask = tg_zeros(TG_F64, 2, (int64_t[]){2, 3});
    tg_tensor *vec = tg_zeros(TG_F64, 1, (int64_t[]){4});
    const char *f = "tg_scaled_dot_product_attention";
    cr_assert_null(tg_scaled_dot_product_attention(q, k5, v, NULL, false, 0));
    assert_error(TG_ERR_SHAPE, f, "(2,3,5)");
    cr_assert_null(tg_scaled_dot_product_attention(q, other_batch, v, NULL, false, 0));
    assert_error(TG_ERR_SHAPE, f, "(1,3,4)");
    cr_assert_null(tg_scaled_dot_product_attention(q32, q, v, NULL, false, 0));
    assert_error(TG_ERR_DTYPE, f, "float32");
    cr_assert_null(tg_scaled_dot_product_attention(q, q, v, bad_mask, false, 0));
    assert_error(TG_ERR_SHAPE, f, "mask (2,3)");
    cr_assert_null(tg_scaled_dot_product_attention(vec, vec, vec, NULL, false, 0));
    assert_error(TG_ERR_SHAPE, f, "(4)");
    cr_assert_null(tg_scaled_dot_product_attention(q, q, v, NULL, false, NAN));
    assert_error(TG_ERR_ARGUMENT, f, "scale");
    cr_assert_null(tg_scaled_dot_product_attention(NULL, q, v, NULL, false, 0));
    assert_error(TG_ERR_ARGUMENT, f, NULL);
    tg_free(q);
    tg_free(k5);
    tg_free(v);
    tg_free(q32);
    tg_free(other_batch);
    tg_free(bad_mask);
    tg_free(vec);
}
