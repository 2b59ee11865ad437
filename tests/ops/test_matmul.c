/* tests/ops/test_matmul.c — tg_matmul and tg_matmul_t: values, broadcasting,
 * empty shapes, gradients and error messages.
 *
 * Expected values are either worked by hand (in the comments) or computed by
 * the naive loops below, an independent implementation that reads each
 * operand element by element through tg_get_flat and accumulates in double.
 * Finite-difference gradchecks of every op live in tests/core. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- helpers --------------------------------------------------------------- */

/* Deterministic values in [-1, 1), different for each seed. */
static tg_tensor *filled(tg_dtype dtype, int rank, const int64_t *shape, uint64_t seed) {
    tg_tensor *t = tg_zeros(dtype, rank, shape);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < t->numel; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        tg_set_flat(t, i, (double)(state >> 11) / (double)(1ull << 52) - 1.0);
    }
    return t;
}

static tg_tensor *as_param(tg_tensor *t) {
    tg_set_requires_grad(t, true);
    return t;
}

static void assert_values(const tg_tensor *t, const double *expected, double tol, const char *what) {
    cr_assert_not_null(t, "%s: NULL result (%s)", what, tg_last_error_message());
    for (int64_t i = 0; i < t->numel; i++) {
        double v = tg_get_flat(t, i);
        cr_assert(fabs(v - expected[i]) <= tol, "%s: element %lld is %.17g, expected %.17g (tol %.3g)", what,
                  (long long)i, v, expected[i], tol);
    }
}

static void assert_shape(const tg_tensor *t, int rank, const int64_t *shape, const char *what) {
    cr_assert_not_null(t, "%s: NULL result (%s)", what, tg_last_error_message());
    cr_assert_eq(t->rank, rank, "%s: rank %d, expected %d", what, t->rank, rank);
    for (int i = 0; i < rank; i++)
        cr_assert_eq(t->shape[i], shape[i], "%s: size %lld on axis %d, expected %lld", what,
                     (long long)t->shape[i], i, (long long)shape[i]);
}

/* The product C = op(A) op(B) of the output shape (out_rank, out_shape),
 * walked the slow way: one output batch index at a time, each operand's
 * batch coordinate being 0 along its axes of size 1 or missing. */
typedef struct naive_product {
    const tg_tensor *a, *b;
    bool ta, tb;
    int out_rank;
    const int64_t *out_shape;
    int64_t m, n, k;
} naive_product;

/* Flat index of op(X)(row, col) in the batch given by out_index (batch part). */
static int64_t operand_index(const tg_tensor *x, bool transposed, int batch_rank, const int64_t *out_index,
                             int64_t row, int64_t col) {
    int x_batch = x->rank - 2;
    int64_t flat = 0;
    for (int ix = 0; ix < x_batch; ix++) {
        int64_t coord = x->shape[ix] == 1 ? 0 : out_index[ix + (batch_rank - x_batch)];
        flat += coord * x->strides[ix];
    }
    int64_t r = transposed ? col : row, c = transposed ? row : col;
    return flat + r * x->strides[x->rank - 2] + c;
}

static naive_product product_of(const tg_tensor *a, bool ta, const tg_tensor *b, bool tb, const tg_tensor *out) {
    naive_product p = {a, b, ta, tb, out->rank, out->shape, 0, 0, 0};
    p.m = out->shape[out->rank - 2];
    p.n = out->shape[out->rank - 1];
    p.k = ta ? a->shape[a->rank - 2] : a->shape[a->rank - 1];
    return p;
}

/* Calls visit(p, out_flat, a_flat, b_flat) for every (output element, p) term. */
typedef void (*term_fn)(void *ctx, int64_t out_flat, int64_t a_flat, int64_t b_flat);
static void for_each_term(const naive_product *p, term_fn visit, void *ctx) {
    int batch_rank = p->out_rank - 2;
    int64_t batches = 1;
    for (int i = 0; i < batch_rank; i++) batches *= p->out_shape[i];
    int64_t index[8] = {0};
    for (int64_t batch = 0; batch < batches; batch++) {
        int64_t rest = batch;
        for (int d = batch_rank - 1; d >= 0; d--) {
            index[d] = rest % p->out_shape[d];
            rest /= p->out_shape[d];
        }
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++)
                for (int64_t q = 0; q < p->k; q++)
                    visit(ctx, (batch * p->m + i) * p->n + j, operand_index(p->a, p->ta, batch_rank, index, i, q),
                          operand_index(p->b, p->tb, batch_rank, index, q, j));
    }
}

typedef struct forward_ctx {
    const naive_product *p;
    double *out;
} forward_ctx;
static void forward_term(void *ctx, int64_t o, int64_t ia, int64_t ib) {
    forward_ctx *f = ctx;
    f->out[o] += tg_get_flat(f->p->a, ia) * tg_get_flat(f->p->b, ib);
}

/* dA += G(o) B(ib) and dB += A(ia) G(o) for every term: the chain rule
 * applied to C(o) = sum A(ia) B(ib), broadcasting included. */
typedef struct backward_ctx {
    const naive_product *p;
    const tg_tensor *g;
    double *da, *db;
} backward_ctx;
static void backward_term(void *ctx, int64_t o, int64_t ia, int64_t ib) {
    backward_ctx *c = ctx;
    double g = tg_get_flat(c->g, o);
    c->da[ia] += g * tg_get_flat(c->p->b, ib);
    c->db[ib] += tg_get_flat(c->p->a, ia) * g;
}

/* Checks tg_matmul_t(a, ta, b, tb) against the naive product. */
static void check_product(const tg_tensor *c, const tg_tensor *a, bool ta, const tg_tensor *b, bool tb, double tol,
                          const char *what) {
    cr_assert_not_null(c, "%s: NULL result (%s)", what, tg_last_error_message());
    naive_product p = product_of(a, ta, b, tb, c);
    double *expected = calloc((size_t)c->numel + 1, sizeof(double));
    forward_ctx ctx = {&p, expected};
    for_each_term(&p, forward_term, &ctx);
    assert_values(c, expected, tol, what);
    free(expected);
}

/* ---- forward values ---------------------------------------------------------- */

/* [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]]:
 *   1*7+2*9+3*11 = 58,   1*8+2*10+3*12 = 64,
 *   4*7+5*9+6*11 = 139,  4*8+5*10+6*12 = 154. */
static void check_hand_product(tg_dtype dtype) {
    const int64_t sa[2] = {2, 3}, sb[2] = {3, 2}, sc[2] = {2, 2};
    const double a_values[6] = {1, 2, 3, 4, 5, 6}, b_values[6] = {7, 8, 9, 10, 11, 12};
    const double expected[4] = {58, 64, 139, 154};
    tg_tensor *a = tg_from_doubles(dtype, 2, sa, a_values), *b = tg_from_doubles(dtype, 2, sb, b_values);
    tg_tensor *c = tg_matmul(a, b);
    assert_shape(c, 2, sc, "2x3 @ 3x2");
    cr_assert_eq(c->dtype, dtype);
    assert_values(c, expected, 0.0, "2x3 @ 3x2"); /* small integers: exact */
    tg_free(a);
    tg_free(b);
}

Test(matmul, hand_computed_2x3_by_3x2_float32) { check_hand_product(TG_F32); }
Test(matmul, hand_computed_2x3_by_3x2_float64) { check_hand_product(TG_F64); }

/* op(A) is 5x7 and op(B) is 7x6 in every combination; the transposed
 * operands are stored transposed and must be read in place. */
Test(matmul, all_four_transpose_combinations_match_the_naive_loop) {
    for (int dt = 0; dt < 2; dt++) {
        tg_dtype dtype = dt ? TG_F64 : TG_F32;
        double tol = dt ? 1e-13 : 1e-5;
        for (int combo = 0; combo < 4; combo++) {
            bool ta = combo & 1, tb = combo & 2;
            const int64_t sa[2] = {ta ? 7 : 5, ta ? 5 : 7}, sb[2] = {tb ? 6 : 7, tb ? 7 : 6};
            const int64_t sc[2] = {5, 6};
            tg_tensor *a = filled(dtype, 2, sa, 1 + (uint64_t)combo), *b = filled(dtype, 2, sb, 11 + (uint64_t)combo);
            tg_tensor *c = tg_matmul_t(a, ta, b, tb);
            assert_shape(c, 2, sc, "matmul_t");
            check_product(c, a, ta, b, tb, tol, ta ? (tb ? "A^T B^T" : "A^T B") : (tb ? "A B^T" : "A B"));
            tg_free(a);
            tg_free(b);
        }
    }
}

/* The same products through tg_transpose'd copies and plain tg_matmul. */
Test(matmul, transposed_reads_equal_explicit_transposes) {
    const int64_t sa[2] = {4, 3}, sb[2] = {5, 4};
    tg_tensor *a = filled(TG_F64, 2, sa, 21), *b = filled(TG_F64, 2, sb, 22);
    tg_tensor *fused = tg_matmul_t(a, true, b, true);     /* (3,4) @ (4,5) */
    tg_tensor *plain = tg_matmul(tg_transpose(a), tg_transpose(b));
    cr_assert_not_null(plain, "%s", tg_last_error_message());
    double expected[15];
    tg_copy_to_doubles(plain, expected);
    const int64_t sc[2] = {3, 5};
    assert_shape(fused, 2, sc, "A^T B^T");
    assert_values(fused, expected, 1e-15, "A^T B^T vs transposes");
    tg_free(a);
    tg_free(b);
}

/* (2,1,3,4) @ (5,4,6) -> (2,5,3,6): batch axes (2,1) and (5) broadcast to (2,5). */
Test(matmul, batch_axes_broadcast) {
    const int64_t sa[4] = {2, 1, 3, 4}, sb[3] = {5, 4, 6}, sc[4] = {2, 5, 3, 6};
    for (int dt = 0; dt < 2; dt++) {
        tg_dtype dtype = dt ? TG_F64 : TG_F32;
        tg_tensor *a = filled(dtype, 4, sa, 31), *b = filled(dtype, 3, sb, 32);
        tg_tensor *c = tg_matmul(a, b);
        assert_shape(c, 4, sc, "(2,1,3,4) @ (5,4,6)");
        check_product(c, a, false, b, false, dt ? 1e-14 : 1e-5, "(2,1,3,4) @ (5,4,6)");
        tg_free(a);
        tg_free(b);
    }
}

/* A 2-D operand on either side is shared by every batch entry; with B shared
 * the batch folds into one large product, which must give the same values. */
Test(matmul, a_matrix_broadcasts_against_a_batch) {
    const int64_t s_batch_a[3] = {4, 3, 5}, s_mat_b[2] = {5, 2}, sc1[3] = {4, 3, 2};
    const int64_t s_mat_a[2] = {3, 5}, s_batch_b[3] = {4, 5, 2};
    tg_tensor *ba = filled(TG_F64, 3, s_batch_a, 41), *mb = filled(TG_F64, 2, s_mat_b, 42);
    tg_tensor *ma = filled(TG_F64, 2, s_mat_a, 43), *bb = filled(TG_F64, 3, s_batch_b, 44);
    tg_tensor *c1 = tg_matmul(ba, mb);
    assert_shape(c1, 3, sc1, "(4,3,5) @ (5,2)");
    check_product(c1, ba, false, mb, false, 1e-14, "(4,3,5) @ (5,2)");
    tg_tensor *c2 = tg_matmul(ma, bb);
    assert_shape(c2, 3, sc1, "(3,5) @ (4,5,2)");
    check_product(c2, ma, false, bb, false, 1e-14, "(3,5) @ (4,5,2)");
    /* a transposed batch with a shared, transposed matrix: (4,5,3)^T @ (2,5)^T */
    const int64_t s_batch_at[3] = {4, 5, 3}, s_mat_bt[2] = {2, 5};
    tg_tensor *bat = filled(TG_F64, 3, s_batch_at, 45), *mbt = filled(TG_F64, 2, s_mat_bt, 46);
    tg_tensor *c3 = tg_matmul_t(bat, true, mbt, true);
    assert_shape(c3, 3, sc1, "(4,5,3)^T @ (2,5)^T");
    check_product(c3, bat, true, mbt, true, 1e-14, "(4,5,3)^T @ (2,5)^T");
    tg_free(ba);
    tg_free(mb);
    tg_free(ma);
    tg_free(bb);
    tg_free(bat);
    tg_free(mbt);
}

/* (1,4) @ (4,1) is the dot product 1*5 + 2*6 + 3*7 + 4*8 = 70. */
Test(matmul, row_times_column_is_a_dot_product) {
    const int64_t sa[2] = {1, 4}, sb[2] = {4, 1}, sc[2] = {1, 1};
    const double av[4] = {1, 2, 3, 4}, bv[4] = {5, 6, 7, 8};
    tg_tensor *a = tg_from_doubles(TG_F32, 2, sa, av), *b = tg_from_doubles(TG_F32, 2, sb, bv);
    tg_tensor *c = tg_matmul(a, b);
    assert_shape(c, 2, sc, "(1,4) @ (4,1)");
    cr_assert_eq(tg_item(c), 70.0);
    tg_free(a);
    tg_free(b);
}

/* k = 0 is an empty sum: zeros of shape (m,n). m = 0, n = 0 or an empty batch
 * give empty results of the right shape. */
Test(matmul, empty_dimensions) {
    const int64_t s20[2] = {2, 0}, s03[2] = {0, 3}, s23[2] = {2, 3};
    tg_tensor *a = tg_zeros(TG_F32, 2, s20), *b = tg_zeros(TG_F32, 2, s03);
    tg_tensor *c = tg_matmul(a, b);
    assert_shape(c, 2, s23, "(2,0) @ (0,3)");
    const double zeros[6] = {0};
    assert_values(c, zeros, 0.0, "(2,0) @ (0,3)");
    /* the same for float64, batched, and through the transposed path */
    const int64_t s402[3] = {4, 0, 2}, s03b[2] = {0, 3}, s423[3] = {4, 2, 3};
    tg_tensor *a2 = tg_zeros(TG_F64, 3, s402), *b2 = tg_zeros(TG_F64, 2, s03b);
    tg_tensor *c2 = tg_matmul_t(a2, true, b2, false);
    assert_shape(c2, 3, s423, "(4,0,2)^T @ (0,3)");
    double zeros24[24] = {0};
    assert_values(c2, zeros24, 0.0, "(4,0,2)^T @ (0,3)");

    const int64_t s0x3[2] = {0, 3}, s34[2] = {3, 4}, s04[2] = {0, 4};
    tg_tensor *a3 = tg_zeros(TG_F32, 2, s0x3), *b3 = filled(TG_F32, 2, s34, 51);
    assert_shape(tg_matmul(a3, b3), 2, s04, "(0,3) @ (3,4)");
    const int64_t s23b[2] = {2, 3}, s30[2] = {3, 0}, s20b[2] = {2, 0};
    tg_tensor *a4 = filled(TG_F32, 2, s23b, 52), *b4 = tg_zeros(TG_F32, 2, s30);
    assert_shape(tg_matmul(a4, b4), 2, s20b, "(2,3) @ (3,0)");
    const int64_t s023[3] = {0, 2, 3}, s024[3] = {0, 2, 4};
    tg_tensor *a5 = tg_zeros(TG_F32, 3, s023);
    assert_shape(tg_matmul(a5, b3), 3, s024, "(0,2,3) @ (3,4)");
    tg_free(a);
    tg_free(b);
    tg_free(a2);
    tg_free(b2);
    tg_free(a3);
    tg_free(b3);
    tg_free(a4);
    tg_free(b4);
    tg_free(a5);
}

/* ---- gradients --------------------------------------------------------------- */

/* A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]], seed G = [[1,2],[3,4]].
 * dA = G B^T: row 0 = [1*7+2*8, 1*9+2*10, 1*11+2*12] = [23, 29, 35],
 *             row 1 = [3*7+4*8, 3*9+4*10, 3*11+4*12] = [53, 67, 81].
 * dB = A^T G: row p = [A(0,p)*1 + A(1,p)*3, A(0,p)*2 + A(1,p)*4]
 *             = [13, 18], [17, 24], [21, 30]. */
Test(matmul, backward_by_hand) {
    const int64_t sa[2] = {2, 3}, sb[2] = {3, 2}, sg[2] = {2, 2};
    const double av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {7, 8, 9, 10, 11, 12}, gv[4] = {1, 2, 3, 4};
    tg_tensor *a = as_param(tg_from_doubles(TG_F64, 2, sa, av)), *b = as_param(tg_from_doubles(TG_F64, 2, sb, bv));
    tg_tensor *g = tg_from_doubles(TG_F64, 2, sg, gv);
    cr_assert_eq(tg_backward(tg_matmul(a, b), g), TG_OK, "%s", tg_last_error_message());
    const double da[6] = {23, 29, 35, 53, 67, 81}, db[6] = {13, 18, 17, 24, 21, 30};
    assert_values(tg_grad(a), da, 0.0, "dA = G B^T");
    assert_values(tg_grad(b), db, 0.0, "dB = A^T G");
    tg_free(a);
    tg_free(b);
    tg_free(g);
}

/* Runs backward of op(A) op(B) with a seed and compares both gradients with
 * the chain rule applied term by term (for_each_term). */
static void check_backward(tg_dtype dtype, int ra, const int64_t *sa, bool ta, int rb, const int64_t *sb, bool tb,
                           double tol, const char *what) {
    tg_tensor *a = as_param(filled(dtype, ra, sa, 61)), *b = as_param(filled(dtype, rb, sb, 62));
    tg_tensor *c = tg_matmul_t(a, ta, b, tb);
    cr_assert_not_null(c, "%s: %s", what, tg_last_error_message());
    tg_tensor *g = filled(dtype, c->rank, c->shape, 63);
    cr_assert_eq(tg_backward(c, g), TG_OK, "%s: %s", what, tg_last_error_message());
    naive_product p = product_of(a, ta, b, tb, c);
    double *da = calloc((size_t)a->numel + 1, sizeof(double)), *db = calloc((size_t)b->numel + 1, sizeof(double));
    backward_ctx ctx = {&p, g, da, db};
    for_each_term(&p, backward_term, &ctx);
    cr_assert(tg_same_shape(tg_grad(a), a) && tg_same_shape(tg_grad(b), b), "%s: gradient shapes", what);
    assert_values(tg_grad(a), da, tol, what);
    assert_values(tg_grad(b), db, tol, what);
    free(da);
    free(db);
    tg_free(a);
    tg_free(b);
    tg_free(g);
}

Test(matmul, backward_of_every_transpose_combination) {
    for (int combo = 0; combo < 4; combo++) {
        bool ta = combo & 1, tb = combo & 2;
        const int64_t sa[2] = {ta ? 4 : 3, ta ? 3 : 4}, sb[2] = {tb ? 5 : 4, tb ? 4 : 5};
        check_backward(TG_F64, 2, sa, ta, 2, sb, tb, 1e-14, ta ? (tb ? "A^T B^T" : "A^T B") : (tb ? "A B^T" : "A B"));
    }
}

/* Broadcast batch axes: each gradient is summed back over the batch entries
 * that shared the operand. */
Test(matmul, backward_sums_over_broadcast_batch_axes) {
    const int64_t sa[4] = {2, 1, 3, 4}, sb[3] = {5, 4, 6};
    check_backward(TG_F64, 4, sa, false, 3, sb, false, 1e-13, "(2,1,3,4) @ (5,4,6)");
    check_backward(TG_F32, 4, sa, false, 3, sb, false, 1e-4, "(2,1,3,4) @ (5,4,6) float32");
    const int64_t sm[2] = {3, 4}, sbt[3] = {5, 6, 4};
    check_backward(TG_F64, 2, sm, false, 3, sbt, true, 1e-13, "(3,4) @ (5,6,4)^T");
    const int64_t sat[3] = {5, 4, 3}, sw[2] = {4, 6};
    check_backward(TG_F64, 3, sat, true, 2, sw, false, 1e-13, "(5,4,3)^T @ (4,6)");
    const int64_t sx[3] = {5, 3, 4};
    check_backward(TG_F64, 3, sx, false, 2, sw, false, 1e-13, "(5,3,4) @ (4,6)");
}

/* ---- errors ------------------------------------------------------------------ */

Test(matmul_errors, inner_dimensions_differ, .init = return_mode, .fini = abort_mode) {
    const int64_t sa[2] = {3, 4}, sb[2] = {5, 2};
    tg_tensor *a = tg_zeros(TG_F32, 2, sa), *b = tg_zeros(TG_F32, 2, sb);
    cr_assert_null(tg_matmul(a, b));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul: inner dimensions differ: (3,4) @ (5,2)");
    tg_free(a);
    tg_free(b);
}

/* With transposes the shapes are still shown as given, marked ^T. */
Test(matmul_errors, inner_dimensions_differ_with_transposes, .init = return_mode, .fini = abort_mode) {
    const int64_t sa[2] = {4, 3}, sb[2] = {5, 2};
    tg_tensor *a = tg_zeros(TG_F32, 2, sa), *b = tg_zeros(TG_F32, 2, sb);
    cr_assert_null(tg_matmul_t(a, true, b, false));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul_t: inner dimensions differ: (4,3)^T @ (5,2)");
    tg_clear_error();
    cr_assert_null(tg_matmul_t(a, false, b, true)); /* (4,3) @ (2,5): 3 vs 2 */
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul_t: inner dimensions differ: (4,3) @ (5,2)^T");
    tg_free(a);
    tg_free(b);
}

Test(matmul_errors, rank_one_operands_are_refused, .init = return_mode, .fini = abort_mode) {
    const int64_t s3[1] = {3}, s34[2] = {3, 4};
    tg_tensor *v = tg_zeros(TG_F64, 1, s3), *m = tg_zeros(TG_F64, 2, s34);
    cr_assert_null(tg_matmul(v, m));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert(strstr(tg_last_error_message(), "tg_matmul: operands must have rank >= 2, got (3)"), "message: %s",
              tg_last_error_message());
    tg_clear_error();
    cr_assert_null(tg_matmul(m, v));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    tg_free(v);
    tg_free(m);
}

Test(matmul_errors, dtypes_must_match, .init = return_mode, .fini = abort_mode) {
    const int64_t s[2] = {2, 2};
    tg_tensor *a = tg_zeros(TG_F32, 2, s), *b = tg_zeros(TG_F64, 2, s);
    cr_assert_null(tg_matmul(a, b));
    cr_assert_eq(tg_last_error(), TG_ERR_DTYPE);
    cr_assert(strncmp(tg_last_error_message(), "tg_matmul: ", 11) == 0, "message: %s", tg_last_error_message());
    tg_free(a);
    tg_free(b);
}

Test(matmul_errors, batch_axes_must_broadcast, .init = return_mode, .fini = abort_mode) {
    const int64_t sa[3] = {2, 3, 4}, sb[3] = {5, 4, 6};
    tg_tensor *a = tg_zeros(TG_F32, 3, sa), *b = tg_zeros(TG_F32, 3, sb);
    cr_assert_null(tg_matmul(a, b));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul: batch dimensions do not broadcast: (2,3,4) @ (5,4,6)");
    tg_free(a);
    tg_free(b);
}

Test(matmul_errors, a_null_operand_fails_the_call, .init = return_mode, .fini = abort_mode) {
    const int64_t s[2] = {2, 2};
    tg_tensor *a = tg_zeros(TG_F32, 2, s);
    cr_assert_null(tg_matmul(a, NULL));
    cr_assert_neq(tg_last_error(), TG_OK);
    tg_free(a);
}

/* ---- weight gradients summed in place (core/backward_internal.h) -------------- */

/* tg_backward sums a matrix leaf's gradient straight into its .grad with the
 * GEMM (beta = 1); tg_gradients takes the rule's ordinary path (a product on
 * the tape, then handed over). Starting from no gradient the two must agree
 * exactly, for every transpose combination, in shapes that cross the GEMM's
 * blocking (k > 256: several k blocks; m, n not multiples of the tiles). */
Test(matmul_in_place, backward_equals_the_tape_path_exactly) {
    const tg_dtype dtypes[2] = {TG_F32, TG_F64};
    for (int d = 0; d < 2; d++)
        for (int combo = 0; combo < 4; combo++) {
            bool ta = combo & 1, tb = combo & 2;
            const int64_t m = 67, k = 301, n = 45;
            const int64_t sa[2] = {ta ? k : m, ta ? m : k}, sb[2] = {tb ? n : k, tb ? k : n};
            tg_tensor *a = as_param(filled(dtypes[d], 2, sa, 71)), *b = as_param(filled(dtypes[d], 2, sb, 72));
            tg_tensor *c = tg_matmul_t(a, ta, b, tb);
            tg_tensor *g = filled(dtypes[d], c->rank, c->shape, 73);
            tg_tensor *wrt[2] = {a, b}, *on_tape[2] = {NULL, NULL};
            cr_assert_eq(tg_gradients(c, g, 2, wrt, on_tape, false), TG_OK, "%s", tg_last_error_message());
            cr_assert_eq(tg_backward(c, g), TG_OK, "%s", tg_last_error_message());
            for (int j = 0; j < 2; j++)
                for (int64_t i = 0; i < wrt[j]->numel; i++)
                    cr_assert_eq(tg_get_flat(tg_grad(wrt[j]), i), tg_get_flat(on_tape[j], i),
                                 "%s combo %d input %d element %lld: in place %.17g, on the tape %.17g",
                                 tg_dtype_name(dtypes[d]), combo, j, (long long)i, tg_get_flat(tg_grad(wrt[j]), i),
                                 tg_get_flat(on_tape[j], i));
            reset_tape();
            tg_free(a);
            tg_free(b);
            tg_free(g);
        }
}

/* A gradient already there (a second backward before zero_grad, gradient
 * accumulation over micro-batches) is added to, not overwritten. */
Test(matmul_in_place, an_existing_gradient_is_added_to) {
    const int64_t sa[2] = {9, 13}, sb[2] = {13, 11};
    tg_tensor *a = as_param(filled(TG_F64, 2, sa, 81)), *b = as_param(filled(TG_F64, 2, sb, 82));
    tg_tensor *c = tg_matmul(a, b);
    tg_tensor *g = filled(TG_F64, c->rank, c->shape, 83);
    tg_tensor *wrt[2] = {a, b}, *once[2] = {NULL, NULL};
    cr_assert_eq(tg_gradients(c, g, 2, wrt, once, false), TG_OK, "%s", tg_last_error_message());
    for (int j = 0; j < 2; j++) {
        wrt[j]->grad = filled(TG_F64, wrt[j]->rank, wrt[j]->shape, 90 + (uint64_t)j); /* what was there */
        cr_assert_not_null(wrt[j]->grad);
    }
    tg_tensor *before[2] = {filled(TG_F64, 2, sa, 90), filled(TG_F64, 2, sb, 91)};
    cr_assert_eq(tg_backward(c, g), TG_OK, "%s", tg_last_error_message());
    for (int j = 0; j < 2; j++)
        for (int64_t i = 0; i < wrt[j]->numel; i++) {
            double want = tg_get_flat(before[j], i) + tg_get_flat(once[j], i);
            cr_assert(fabs(tg_get_flat(tg_grad(wrt[j]), i) - want) <= 1e-13, "input %d element %lld: %.17g, want %.17g",
                      j, (long long)i, tg_get_flat(tg_grad(wrt[j]), i), want);
        }
    reset_tape();
    for (int j = 0; j < 2; j++) {
        tg_free(wrt[j]);
        tg_free(before[j]);
    }
    tg_free(g);
}

/* One leaf on both sides, W W^T: its two contributions, G W and G^T W, are
 * both summed into the same .grad. */
Test(matmul_in_place, a_leaf_used_twice_in_one_product_gets_both_terms) {
    const int64_t sw[2] = {5, 7};
    tg_tensor *w = as_param(filled(TG_F64, 2, sw, 85));
    tg_tensor *c = tg_matmul_t(w, false, w, true);
    tg_tensor *g = filled(TG_F64, c->rank, c->shape, 86);
    cr_assert_eq(tg_backward(c, g), TG_OK, "%s", tg_last_error_message());
    for (int64_t i = 0; i < 5; i++)
        for (int64_t p = 0; p < 7; p++) {
            double want = 0; /* sum over j of G(i,j) W(j,p) + G(j,i) W(j,p) */
            for (int64_t j = 0; j < 5; j++)
                want += (tg_get_flat(g, i * 5 + j) + tg_get_flat(g, j * 5 + i)) * tg_get_flat(w, j * 7 + p);
            double got = tg_get_flat(tg_grad(w), i * 7 + p);
            cr_assert(fabs(got - want) <= 1e-13, "dW(%lld,%lld) = %.17g, want %.17g", (long long)i, (long long)p, got,
                      want);
        }
    reset_tape();
    tg_free(w);
    tg_free(g);
}

/* .grad is a public field: a tensor of another shape put there is refused
 * with both shapes named, and nothing is written out of bounds. */
Test(matmul_in_place, a_wrong_shaped_grad_is_refused, .init = return_mode, .fini = abort_mode) {
    const int64_t sa[2] = {3, 4}, sb[2] = {4, 2}, wrong[2] = {5, 5};
    tg_tensor *a = as_param(filled(TG_F64, 2, sa, 87)), *b = filled(TG_F64, 2, sb, 88);
    a->grad = tg_zeros(TG_F64, 2, wrong);
    tg_tensor *loss = tg_sum(tg_matmul(a, b));
    cr_assert_eq(tg_backward(loss, NULL), TG_ERR_SHAPE);
    assert_error(TG_ERR_SHAPE, "tg_backward", "(5,5)");
    for (int64_t i = 0; i < 25; i++) cr_assert_eq(tg_get_flat(a->grad, i), 0.0, "the wrong .grad was written");
    reset_tape();
    tg_free(a);
    tg_free(b);
}
