/* tests/tools/test_matmul_shortcut.c — matmul's backward shortcut (the
 * weight gradient summed by the GEMM itself straight into a persistent
 * leaf's .grad, taken only by tg_backward: core/backward_internal.h) gives
 * the generic rule's gradient (the rule's tape ops, as tg_gradients runs
 * them) on every shape class: each transpose combination; A, B or both
 * leaves; a gradient that is absent (written, beta = 0), set to none after
 * an earlier pass (its storage reused), or present (added, beta = 1); sizes
 * 1, an empty inner dimension, a product large enough to be blocked, narrow
 * outputs (the unpacked path); batched operands, which take the generic
 * path; float32 and float64. Written gradients must be bitwise equal;
 * accumulated ones equal to rounding (the GEMM adds C inside its sum). */
#include <math.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

typedef enum grad_state { GRAD_ABSENT, GRAD_SET_TO_NONE, GRAD_PRESENT } grad_state;

typedef struct shape_class {
    int rank_a, rank_b;
    int64_t a[3], b[3]; /* operand shapes as stored (before transposition) */
} shape_class;

/* Operand shapes for C = op(A) op(B) with op(A) (m,k) and op(B) (k,n). */
static shape_class matrices(int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
    shape_class c = {2, 2, {0}, {0}};
    c.a[0] = ta ? k : m;
    c.a[1] = ta ? m : k;
    c.b[0] = tb ? n : k;
    c.b[1] = tb ? k : n;
    return c;
}

static tg_tensor *leaf(tg_rng *rng, tg_dtype dtype, int rank, const int64_t *shape) {
    tg_tensor *t = tg_rand_normal(rng, dtype, rank, shape, 0.0, 1.0);
    tg_set_requires_grad(t, true);
    return t;
}

/* Gives t a .grad in the given state (before the pass under test). */
static void prepare_grad(tg_tensor *t, grad_state state, tg_rng *rng) {
    tg_set_grad_to_none(t);
    if (state == GRAD_ABSENT) return;
    /* one pass of sum(t * r) leaves .grad = r */
    tg_tensor *r = tg_rand_normal(rng, t->dtype, t->rank, t->shape, 0.0, 1.0);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(t, r)), NULL), TG_OK, "%s", tg_last_error_message());
    tg_tape_reset(tg_tape_current());
    tg_free(r);
    if (state == GRAD_SET_TO_NONE) tg_set_grad_to_none(t);
}

static void assert_grad_equal(const tg_tensor *got, const tg_tensor *before, const tg_tensor *generic, bool exact,
                              const char *what) {
    cr_assert_not_null(got, "%s: no gradient", what);
    double tolerance = got->dtype == TG_F32 ? 2e-6 : 1e-14;
    for (int64_t k = 0; k < got->numel; k++) {
        double want = (before ? tg_get_flat(before, k) : 0.0) + tg_get_flat(generic, k);
        double have = tg_get_flat(got, k);
        if (exact)
            cr_assert(have == want, "%s: entry %lld is %.17g, the generic rule gives %.17g", what, (long long)k, have,
                      want);
        else
            cr_assert(fabs(have - want) <= tolerance * (1 + fabs(want)), "%s: entry %lld is %.17g, want %.17g", what,
                      (long long)k, have, want);
    }
}

/* One case: C = op(A) op(B), seed G; which operands are leaves given by
 * a_leaf / b_leaf (otherwise the operand is x * 1 of a leaf x, a tape
 * tensor, whose gradient comes back through mul_scalar's rule). */
static void check(const shape_class *c, bool ta, bool tb, bool a_leaf, bool b_leaf, grad_state state, tg_dtype dtype,
                  uint64_t seed) {
    char what[200];
    snprintf(what, sizeof what, "A%s%s (%lld,%lld,%lld) B%s%s (%lld,%lld,%lld) %s %s, grad %d", ta ? "^T" : "",
             a_leaf ? " leaf" : "", (long long)c->a[0], (long long)c->a[1], (long long)c->a[2], tb ? "^T" : "",
             b_leaf ? " leaf" : "", (long long)c->b[0], (long long)c->b[1], (long long)c->b[2],
             tg_dtype_name(dtype), c->rank_a == 2 && c->rank_b == 2 ? "matrices" : "batched", (int)state);
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *x[2] = {leaf(&rng, dtype, c->rank_a, c->a), leaf(&rng, dtype, c->rank_b, c->b)};
    bool is_leaf[2] = {a_leaf, b_leaf};

    /* the generic rule: tg_gradients never takes the shortcut */
    tg_tensor *operand[2], *generic[2];
    for (int i = 0; i < 2; i++) operand[i] = is_leaf[i] ? x[i] : tg_mul_scalar(x[i], 1.0);
    tg_tensor *out = tg_matmul_t(operand[0], ta, operand[1], tb);
    cr_assert_not_null(out, "%s: %s", what, tg_last_error_message());
    tg_tensor *G = tg_rand_normal(&rng, dtype, out->rank, out->shape, 0.0, 1.0);
    cr_assert_eq(tg_gradients(out, G, 2, x, generic, false), TG_OK, "%s: %s", what, tg_last_error_message());
    tg_tensor *generic_copy[2] = {tg_clone(generic[0]), tg_clone(generic[1])};
    tg_tape_reset(tg_tape_current());

    /* tg_backward, with the leaves' .grad in the state under test */
    tg_tensor *before[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        prepare_grad(x[i], state, &rng);
        if (state == GRAD_PRESENT) before[i] = tg_clone(tg_grad(x[i]));
    }
    for (int i = 0; i < 2; i++) operand[i] = is_leaf[i] ? x[i] : tg_mul_scalar(x[i], 1.0);
    out = tg_matmul_t(operand[0], ta, operand[1], tb);
    cr_assert_eq(tg_backward(out, G), TG_OK, "%s: %s", what, tg_last_error_message());
    for (int i = 0; i < 2; i++) {
        char name[240];
        snprintf(name, sizeof name, "%s: d%c", what, i ? 'B' : 'A');
        assert_grad_equal(tg_grad(x[i]), before[i], generic_copy[i], state != GRAD_PRESENT, name);
    }
    tg_tape_reset(tg_tape_current());
    for (int i = 0; i < 2; i++) {
        tg_free(before[i]);
        tg_free(generic_copy[i]);
        tg_free(x[i]);
    }
    tg_free(G);
}

/* (m, k, n): sizes 1, an empty inner dimension, ordinary, narrow outputs
 * (n of 1 and 2, the unpacked path), and one blocked by the GEMM. */
static const int64_t sizes[][3] = {{3, 4, 2}, {1, 5, 1}, {6, 1, 3}, {1, 1, 1}, {4, 0, 3},
                                   {9, 7, 16}, {40, 30, 2}, {70, 300, 45}};

Test(matmul_shortcut, equals_the_generic_rule_on_every_matrix_class) {
    uint64_t seed = 1;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            shape_class c = matrices(sizes[s][0], sizes[s][1], sizes[s][2], ta, tb);
            for (int leaves = 1; leaves < 4; leaves++)
                for (int state = GRAD_ABSENT; state <= GRAD_PRESENT; state++)
                    for (int d = 0; d < 2; d++)
                        check(&c, ta, tb, leaves & 1, leaves & 2, (grad_state)state, d ? TG_F64 : TG_F32, seed++);
        }
}

/* Batched operands never take the shortcut; their gradients still match. */
Test(matmul_shortcut, batched_operands_match_the_generic_rule) {
    const shape_class classes[] = {
        {3, 3, {2, 3, 4}, {2, 4, 5}}, /* both batched */
        {3, 2, {2, 3, 4}, {4, 5, 0}}, /* a shared weight: x @ W */
        {2, 3, {3, 4, 0}, {2, 4, 5}}, /* a shared left matrix */
        {3, 3, {1, 3, 4}, {2, 4, 5}}, /* broadcast batch axis */
    };
    uint64_t seed = 1000;
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++)
        for (int state = GRAD_ABSENT; state <= GRAD_PRESENT; state++)
            for (int d = 0; d < 2; d++)
                check(&classes[k], false, false, true, true, (grad_state)state, d ? TG_F64 : TG_F32, seed++);
}
