/* tests/ops/test_index.c — index_select, index_add, gather, scatter_add and
 * embedding: values worked out by hand, gradients of repeated indices, the
 * errors for bad indices, and adds that give the same bits on 1 and 2
 * threads. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

static tg_tensor *i64(int rank, const int64_t *shape, const int64_t *values) {
    tg_tensor *t = tg_from_array(TG_I64, rank, shape, values);
    cr_assert_not_null(t);
    return t;
}

Test(index_ops, index_select_picks_rows_and_sums_repeats_in_backward) {
    /* x = [[0,1],[2,3],[4,5]]; rows {2,0,2} -> [[4,5],[0,1],[4,5]];
     * d sum(out * w)/dx: row 2 gets w0 + w2, row 0 gets w1, row 1 nothing. */
    tg_tensor *x = iota(TG_F64, 2, (const int64_t[]){3, 2}, true);
    tg_tensor *idx = i64(1, (const int64_t[]){3}, (const int64_t[]){2, 0, 2});
    tg_tensor *w = make(TG_F64, 2, (const int64_t[]){3, 2}, (const double[]){1, 2, 10, 20, 100, 200});
    tg_tensor *out = tg_index_select(x, 0, idx);
    expect_tensor(out, TG_F64, 2, (const int64_t[]){3, 2}, (const double[]){4, 5, 0, 1, 4, 5});
    cr_assert_eq(tg_backward(tg_sum(tg_mul(out, w)), NULL), TG_OK);
    expect_values(tg_grad(x), (const double[]){10, 20, 0, 0, 101, 202});
    tg_free(x), tg_free(idx), tg_free(w);
    reset_tape();
}

Test(index_ops, index_add_and_scatter_add_values) {
    /* zeros(3) + src {1,2,4,8} at {1,1,0,1} = [4, 11, 0] */
    tg_tensor *x = tg_zeros(TG_F32, 1, (const int64_t[]){3});
    tg_tensor *idx = i64(1, (const int64_t[]){4}, (const int64_t[]){1, 1, 0, 1});
    tg_tensor *src = make(TG_F32, 1, (const int64_t[]){4}, (const double[]){1, 2, 4, 8});
    expect_values(tg_index_add(x, 0, idx, src), (const double[]){4, 11, 0});
    expect_values(tg_scatter_add(x, 0, idx, src), (const double[]){4, 11, 0});
    /* gather along axis 1: x = [[1,2,3],[4,5,6]], idx [[2,0],[1,1]] -> [[3,1],[5,5]] */
    tg_tensor *m = make(TG_F32, 2, (const int64_t[]){2, 3}, (const double[]){1, 2, 3, 4, 5, 6});
    tg_tensor *gi = i64(2, (const int64_t[]){2, 2}, (const int64_t[]){2, 0, 1, 1});
    expect_tensor(tg_gather(m, 1, gi), TG_F32, 2, (const int64_t[]){2, 2}, (const double[]){3, 1, 5, 5});
    tg_free(x), tg_free(idx), tg_free(src), tg_free(m), tg_free(gi);
    reset_tape();
}

Test(index_ops, embedding_shape_and_gradient) {
    /* weight rows r -> (r, 10r); idx [[1,1],[0,2]] -> shape (2,2,2);
     * gradient of sum(out): row 1 used twice, rows 0 and 2 once. */
    tg_tensor *w = make(TG_F64, 2, (const int64_t[]){3, 2}, (const double[]){0, 0, 1, 10, 2, 20});
    tg_set_requires_grad(w, true);
    tg_tensor *idx = tg_from_array(TG_I32, 2, (const int64_t[]){2, 2}, (const int32_t[]){1, 1, 0, 2});
    tg_tensor *out = tg_embedding(w, idx);
    expect_tensor(out, TG_F64, 3, (const int64_t[]){2, 2, 2}, (const double[]){1, 10, 1, 10, 0, 0, 2, 20});
    cr_assert_eq(tg_backward(tg_sum(out), NULL), TG_OK);
    expect_values(tg_grad(w), (const double[]){1, 1, 2, 2, 1, 1});
    tg_free(w), tg_free(idx);
    reset_tape();
}

/* index_add and scatter_add with many repeated indices, on `threads`
 * threads; returns the sums (caller frees). Sizes large enough for the pool. */
static tg_tensor *repeated_adds(int threads, bool scatter) {
    tg_set_num_threads(threads);
    enum { ROWS = 7, N = 20000, COLS = 33 };
    tg_rng rng = tg_rng_seeded(42);
    tg_tensor *src = tg_rand_normal(&rng, TG_F32, 2, (const int64_t[]){N, COLS}, 0, 1);
    tg_tensor *x = tg_zeros(TG_F32, 2, (const int64_t[]){ROWS, COLS});
    tg_tensor *idx = tg_zeros(TG_I64, scatter ? 2 : 1, (const int64_t[]){N, COLS});
    int64_t *p = tg_data_i64(idx);
    for (int64_t k = 0; k < idx->numel; k++) p[k] = (k * 2654435761u >> 7) % ROWS;
    tg_tensor *out = scatter ? tg_scatter_add(x, 0, idx, src) : tg_index_add(x, 0, idx, src);
    cr_assert_not_null(out, "%s", tg_last_error_message());
    tg_tensor *kept = tg_clone(out);
    tg_free(src), tg_free(x), tg_free(idx);
    reset_tape();
    return kept;
}

Test(index_ops, repeated_index_adds_are_bitwise_equal_on_1_and_2_threads) {
    for (int scatter = 0; scatter < 2; scatter++) {
        tg_tensor *one = repeated_adds(1, scatter), *two = repeated_adds(2, scatter);
        cr_assert_eq(memcmp(one->data, two->data, (size_t)one->numel * sizeof(float)), 0,
                     "%s differs between 1 and 2 threads", scatter ? "scatter_add" : "index_add");
        tg_free(one), tg_free(two);
    }
}

Test(index_ops, bad_indices_are_named_with_position_and_bound, .init = return_mode) {
    tg_tensor *x = tg_zeros(TG_F32, 2, (const int64_t[]){5, 3});
    tg_tensor *idx = i64(2, (const int64_t[]){2, 2}, (const int64_t[]){0, 1, 7, 2});
    cr_assert_null(tg_embedding(x, idx));
    assert_error(TG_ERR_ARGUMENT, "tg_embedding", "index 7 at position (1,0) of idx is outside [0, 5)");
    tg_tensor *neg = i64(1, (const int64_t[]){3}, (const int64_t[]){0, -1, 2});
    cr_assert_null(tg_index_select(x, 0, neg));
    assert_error(TG_ERR_ARGUMENT, "tg_index_select", "index -1 at position (1) of idx is outside [0, 5)");
    tg_tensor *f = tg_zeros(TG_F32, 1, (const int64_t[]){3});
    cr_assert_null(tg_index_select(x, 0, f));
    assert_error(TG_ERR_DTYPE, "tg_index_select", "float32");
    tg_free(x), tg_free(idx), tg_free(neg), tg_free(f);
}

Test(masks, comparisons_broadcast_and_give_float_masks) {
    /* a = [1, 2, nan] against b = [[2], [1]]: a row per b value. */
    tg_tensor *a = make(TG_F64, 1, (const int64_t[]){3}, (const double[]){1, 2, NAN});
    tg_tensor *b = make(TG_F64, 2, (const int64_t[]){2, 1}, (const double[]){2, 1});
    const int64_t shape[] = {2, 3};
    expect_tensor(tg_eq(a, b), TG_F64, 2, shape, (const double[]){0, 1, 0, 1, 0, 0});
    expect_tensor(tg_ne(a, b), TG_F64, 2, shape, (const double[]){1, 0, 1, 0, 1, 1});
    expect_tensor(tg_lt(a, b), TG_F64, 2, shape, (const double[]){1, 0, 0, 0, 0, 0});
    expect_tensor(tg_le(a, b), TG_F64, 2, shape, (const double[]){1, 1, 0, 1, 0, 0});
    expect_tensor(tg_gt(a, b), TG_F64, 2, shape, (const double[]){0, 0, 0, 0, 1, 0});
    expect_tensor(tg_ge(a, b), TG_F64, 2, shape, (const double[]){0, 1, 0, 1, 1, 0});
    /* int64 beyond 2^53 compare exactly; the mask is float32. */
    int64_t big = (INT64_C(1) << 53) + 1;
    tg_tensor *p = i64(1, (const int64_t[]){2}, (const int64_t[]){big, 3});
    tg_tensor *q = i64(1, (const int64_t[]){2}, (const int64_t[]){big - 1, 3});
    expect_tensor(tg_eq(p, q), TG_F32, 1, (const int64_t[]){2}, (const double[]){0, 1});
    tg_free(a), tg_free(b), tg_free(p), tg_free(q);
    reset_tape();
}

Test(masks, masked_fill_values_and_gradient) {
    /* x = [[0,1,2],[3,4,5]], mask [1,0,1] over columns, value -inf:
     * [[-inf,1,-inf],[-inf,4,-inf]]; d sum(out * w)/dx is w in column 1 only. */
    tg_tensor *x = iota(TG_F32, 2, (const int64_t[]){2, 3}, true);
    tg_tensor *mask = tg_from_array(TG_I32, 1, (const int64_t[]){3}, (const int32_t[]){1, 0, 1});
    tg_tensor *out = tg_masked_fill(x, mask, -INFINITY);
    expect_tensor(out, TG_F32, 2, (const int64_t[]){2, 3}, (const double[]){-INFINITY, 1, -INFINITY, -INFINITY, 4, -INFINITY});
    tg_tensor *w = make(TG_F32, 2, (const int64_t[]){2, 3}, (const double[]){1, 2, 3, 4, 5, 6});
    cr_assert_eq(tg_backward(tg_sum(tg_mul(tg_masked_fill(x, mask, 7.0), w)), NULL), TG_OK);
    expect_values(tg_grad(x), (const double[]){0, 2, 0, 0, 5, 0});
    tg_free(x), tg_free(mask), tg_free(w);
    reset_tape();
}
