/* tests/ops/test_strided.c — the strided walk of ops/strided.h (the offsets
 * it visits, collapsing, seeking, runs, removing axes), the broadcast of two
 * shapes, and the ops whose kernels walk collapsed shapes (binary ops,
 * expand, sum, permute, batched matmul).
 *
 * Expected offsets are the index arithmetic of row-major strides written
 * out in each test: in a (2,3,4) walk, position p is (i, j, k) with
 * p = 12i + 4j + k. Expected op values come from the same arithmetic on
 * "iota" inputs (0, 1, 2, ... in row-major order) and are small integers,
 * exact in float32 and float64. */
#include <criterion/criterion.h>

#include "ops/strided.h"
#include "tapegrad.h"
#include "tests/test_helpers.h"

static const tg_dtype dtypes[] = {TG_F32, TG_F64};

/* ======================= the walk ======================= */

/* A (2,3,4) walk of three operands: 0 a contiguous (2,3,4) tensor, 1 a
 * (3,4) tensor (strides (4,1)) and 2 a (2,1,1) tensor (strides (1,1,1)),
 * both broadcast. */
static tg_strided three_operand_walk(void) {
    static const int64_t shape[] = {2, 3, 4}, shape_b[] = {3, 4}, strides_b[] = {4, 1};
    static const int64_t shape_c[] = {2, 1, 1}, strides_c[] = {1, 1, 1};
    tg_strided it;
    tg_strided_init(&it, 3, shape);
    tg_strided_set_contiguous(&it, 0);
    tg_strided_set_broadcast(&it, 1, 2, shape_b, strides_b);
    tg_strided_set_broadcast(&it, 2, 3, shape_c, strides_c);
    return it;
}

/* The offsets of the three operands at position p of that walk:
 * p itself, 4j + k (= p mod 12) and i (= p / 12). */
static void expect_offsets_at(const tg_strided *it, int64_t p) {
    cr_assert_eq(it->offset[0], p, "position %lld: operand 0 at %lld", (long long)p, (long long)it->offset[0]);
    cr_assert_eq(it->offset[1], p % 12, "position %lld: operand 1 at %lld", (long long)p, (long long)it->offset[1]);
    cr_assert_eq(it->offset[2], p / 12, "position %lld: operand 2 at %lld", (long long)p, (long long)it->offset[2]);
    cr_assert_eq(it->offset[3], 0, "the unused operand moved");
}

Test(strided, a_walk_visits_every_position_in_row_major_order_and_wraps_to_zero) {
    tg_strided it = three_operand_walk();
    cr_assert_eq(tg_strided_count(&it), 24);
    for (int64_t p = 0; p < 24; p++, tg_strided_step(&it)) expect_offsets_at(&it, p);
    expect_offsets_at(&it, 0);
}

/* Operand strides (12,4,1), (0,4,1), (1,0,0): the last two axes merge for
 * all three (4 = 1 * 4, 4 = 1 * 4, 0 = 0 * 4); the first does not merge
 * with them (operand 1: 0 != 1 * 12). */
Test(strided, collapse_merges_axes_that_walk_as_one_and_visits_the_same_offsets) {
    tg_strided it = three_operand_walk();
    tg_strided_collapse(&it);
    cr_assert_eq(it.rank, 2);
    cr_assert(it.shape[0] == 2 && it.shape[1] == 12);
    cr_assert(it.stride[0][0] == 12 && it.stride[0][1] == 0 && it.stride[0][2] == 1);
    cr_assert(it.stride[1][0] == 1 && it.stride[1][1] == 1 && it.stride[1][2] == 0);
    for (int64_t p = 0; p < 24; p++, tg_strided_step(&it)) expect_offsets_at(&it, p);
}

/* x (3,1,4,5) summed over axis 2: x's strides (20,20,5,1), the output's
 * (row-major over the kept axes (3,1,5), 0 along axis 2) (5,5,0,1). Axis 1
 * has size 1 and goes; the others merge for x but not for the output. */
Test(strided, collapse_drops_size_one_axes_and_keeps_reduced_axes_apart) {
    static const int64_t shape[] = {3, 1, 4, 5}, x_strides[] = {20, 20, 5, 1}, out_strides[] = {5, 5, 0, 1};
    tg_strided it;
    tg_strided_init(&it, 4, shape);
    tg_strided_set_strides(&it, 0, x_strides);
    tg_strided_set_strides(&it, 1, out_strides);
    tg_strided_collapse(&it);
    cr_assert_eq(it.rank, 3);
    cr_assert(it.shape[0] == 3 && it.shape[1] == 4 && it.shape[2] == 5);
    cr_assert(it.stride[0][1] == 5 && it.stride[1][1] == 0 && it.stride[2][1] == 1);
}

Test(strided, a_one_element_walk_collapses_to_one_axis_of_size_one) {
    static const int64_t ones[] = {1, 1}, strides[] = {7, 3};
    tg_strided it;
    for (int rank = 0; rank <= 2; rank += 2) {
        tg_strided_init(&it, rank, ones);
        if (rank) tg_strided_set_strides(&it, 0, strides);
        tg_strided_collapse(&it);
        cr_assert_eq(it.rank, 1, "rank %d", rank);
        cr_assert_eq(it.shape[0], 1);
        for (int k = 0; k < TG_STRIDED_OPERANDS; k++) cr_assert_eq(it.stride[0][k], 1);
        cr_assert_eq(tg_strided_count(&it), 1);
    }
}

Test(strided, seek_lands_on_the_offsets_of_every_position) {
    for (int collapsed = 0; collapsed < 2; collapsed++) {
        tg_strided it = three_operand_walk();
        if (collapsed) tg_strided_collapse(&it);
        for (int64_t p = 23; p >= 0; p--) {
            tg_strided_seek(&it, p);
            expect_offsets_at(&it, p);
        }
        tg_strided_seek(&it, 17);
        tg_strided_rewind(&it);
        expect_offsets_at(&it, 0);
    }
}

/* Every piece [begin, end) of the 24 positions, walked by runs as a
 * thread's share of an elementwise kernel: the runs are consecutive, each
 * ends at the end of a row of 4 (uncollapsed) or of 12 (collapsed) or at
 * the end of the piece, and within a run each operand moves by its
 * innermost stride. */
Test(strided, runs_cover_any_piece_and_stop_at_the_ends_of_rows) {
    for (int collapsed = 0; collapsed < 2; collapsed++) {
        tg_strided base = three_operand_walk();
        if (collapsed) tg_strided_collapse(&base);
        int64_t row = collapsed ? 12 : 4;
        for (int64_t begin = 0; begin < 24; begin++)
            for (int64_t end = begin + 1; end <= 24; end++) {
                tg_strided it = base;
                tg_strided_seek(&it, begin);
                for (int64_t at = begin; at < end;) {
                    int64_t n = tg_strided_run(&it, end - at);
                    int64_t row_end = (at / row + 1) * row;
                    cr_assert_eq(at + n, row_end < end ? row_end : end, "run from %lld in [%lld, %lld)",
                                 (long long)at, (long long)begin, (long long)end);
                    expect_offsets_at(&it, at);
                    for (int k = 0; k < 3; k++) {
                        int64_t last = it.offset[k] + (n - 1) * it.stride[it.rank - 1][k];
                        int64_t want = k == 0 ? at + n - 1 : k == 1 ? (at + n - 1) % 12 : (at + n - 1) / 12;
                        cr_assert_eq(last, want, "operand %d at the end of the run from %lld", k, (long long)at);
                    }
                    tg_strided_advance(&it, n);
                    at += n;
                }
            }
    }
}

Test(strided, removing_an_axis_leaves_a_walk_over_the_others) {
    tg_strided it = three_operand_walk();
    tg_strided_remove_axis(&it, 1); /* (i, k): operand 0 at 12i + k */
    cr_assert_eq(tg_strided_count(&it), 8);
    for (int64_t i = 0; i < 2; i++)
        for (int64_t k = 0; k < 4; k++, tg_strided_step(&it)) {
            cr_assert_eq(it.offset[0], 12 * i + k);
            cr_assert_eq(it.offset[1], k);
            cr_assert_eq(it.offset[2], i);
        }
    tg_strided_remove_axis(&it, 1);
    tg_strided_remove_axis(&it, 0);
    cr_assert_eq(it.rank, 0);
    cr_assert_eq(tg_strided_count(&it), 1);
    tg_strided_step(&it);
    cr_assert_eq(tg_strided_run(&it, 5), 1);
    cr_assert_eq(it.offset[0], 0);
}

/* ======================= the broadcast of two shapes ======================= */

static void expect_broadcast(int rank_a, const int64_t *a, int rank_b, const int64_t *b, int want_rank,
                             const int64_t *want) {
    int rank = -1;
    int64_t shape[TG_MAX_RANK];
    cr_assert(tg_try_broadcast_shape(rank_a, a, rank_b, b, &rank, shape));
    cr_assert_eq(rank, want_rank);
    for (int i = 0; i < rank; i++) cr_assert_eq(shape[i], want[i], "axis %d", i);
}

Test(strided, broadcast_shape_follows_numpy) {
    expect_broadcast(3, (int64_t[]){2, 1, 4}, 2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 4});
    expect_broadcast(0, NULL, 1, (int64_t[]){5}, 1, (int64_t[]){5});
    expect_broadcast(2, (int64_t[]){1, 0}, 1, (int64_t[]){1}, 2, (int64_t[]){1, 0});
    expect_broadcast(1, (int64_t[]){0}, 2, (int64_t[]){3, 1}, 2, (int64_t[]){3, 0});
    int rank;
    int64_t shape[TG_MAX_RANK];
    cr_assert_not(tg_try_broadcast_shape(2, (int64_t[]){2, 3}, 2, (int64_t[]){4, 3}, &rank, shape));
    cr_assert_not(tg_try_broadcast_shape(1, (int64_t[]){3}, 1, (int64_t[]){0}, &rank, shape));
}

/* ======================= ops on collapsed walks ======================= */

static int saved_threads;
static void two_threads(void) { saved_threads = tg_set_num_threads(2); }
static void restore_threads(void) {
    tg_set_num_threads(saved_threads);
    reset_tape();
}

/* (4,1,5) op (1,6,1) -> (4,6,5): out[i,j,k] = a[i,k] op b[j], a = iota + 1,
 * b = j + 1; neither operand runs along the whole output. Each value is
 * the float operation on two small integers, computed here in the dtype. */
Test(strided_ops, binary_ops_where_both_operands_broadcast) {
    int64_t as[] = {4, 1, 5}, bs[] = {1, 6, 1}, os[] = {4, 6, 5};
    double av[20], bv[6], want[120];
    for (int i = 0; i < 20; i++) av[i] = i + 1;
    for (int j = 0; j < 6; j++) bv[j] = j + 1;
    tg_tensor *(*ops[4])(tg_tensor *, tg_tensor *) = {tg_add, tg_sub, tg_mul, tg_div};
    for (int d = 0; d < 2; d++)
        for (int f = 0; f < 4; f++) {
            tg_tensor *a = make(dtypes[d], 3, as, av), *b = make(dtypes[d], 3, bs, bv);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 6; j++)
                    for (int k = 0; k < 5; k++) {
                        double x = av[5 * i + k], y = bv[j];
                        double r = f == 0 ? x + y : f == 1 ? x - y : f == 2 ? x * y : x / y;
                        if (f == 3 && dtypes[d] == TG_F32) r = (double)((float)x / (float)y);
                        want[30 * i + 5 * j + k] = r;
                    }
            expect_tensor(ops[f](a, b), dtypes[d], 3, os, want);
            tg_free(a);
            tg_free(b);
            reset_tape();
        }
}

/* (3,1,5000) + (1,7,1) on two threads: 105,000 elements, split into two
 * element ranges that start and end inside rows of 5,000.
 * out[i,j,k] = 5000 i + k + j. */
Test(strided_ops, a_large_broadcast_split_over_two_threads, .init = two_threads, .fini = restore_threads) {
    int64_t as[] = {3, 1, 5000}, bs[] = {1, 7, 1}, os[] = {3, 7, 5000};
    double *want = malloc(105000 * sizeof *want);
    cr_assert_not_null(want);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 5000; k++) want[35000 * i + 5000 * j + k] = 5000.0 * i + k + j;
    for (int d = 0; d < 2; d++) {
        tg_tensor *a = iota(dtypes[d], 3, as, false), *b = iota(dtypes[d], 3, bs, false);
        expect_tensor(tg_add(a, b), dtypes[d], 3, os, want);
        tg_free(a);
        tg_free(b);
        reset_tape();
    }
    free(want);
}

/* (2,1,1,5) -> (2,3,4,5): the two broadcast axes walk as one of 12;
 * out[i,j,k,l] = x[i,l] = 5i + l. */
Test(strided_ops, expand_along_neighbouring_broadcast_axes) {
    int64_t xs[] = {2, 1, 1, 5}, os[] = {2, 3, 4, 5};
    double want[120];
    for (int i = 0; i < 2; i++)
        for (int jk = 0; jk < 12; jk++)
            for (int l = 0; l < 5; l++) want[60 * i + 5 * jk + l] = 5 * i + l;
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 4, xs, false);
        expect_tensor(tg_expand(x, 4, os), dtypes[d], 4, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* x = iota (3,1,4,1,5) summed over axes {0,2}, keepdim: x[i,0,j,0,l] =
 * 20i + 5j + l, so out[l] = sum over i<3, j<4 = 12 l + 4 * 20 * 3 + 3 * 5 * 6
 * = 12 l + 330. */
Test(strided_ops, sum_over_axes_separated_by_size_one_axes) {
    int64_t xs[] = {3, 1, 4, 1, 5}, os[] = {1, 1, 1, 1, 5};
    int axes[] = {0, 2};
    double want[5];
    for (int l = 0; l < 5; l++) want[l] = 12 * l + 330;
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 5, xs, false);
        expect_tensor(tg_sum_axes(x, 2, axes, true), dtypes[d], 5, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* iota (20,1,1,33) permuted by (3,1,2,0) -> (33,1,1,20): a transpose
 * around size-1 axes, copied in tiles that do not divide 20 or 33.
 * out[a,0,0,b] = x[b,0,0,a] = 33 b + a. */
Test(strided_ops, permute_around_size_one_axes_through_the_tiled_copy) {
    int64_t xs[] = {20, 1, 1, 33}, os[] = {33, 1, 1, 20};
    int perm[] = {3, 1, 2, 0};
    double want[660];
    for (int a = 0; a < 33; a++)
        for (int b = 0; b < 20; b++) want[20 * a + b] = 33 * b + a;
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = iota(dtypes[d], 4, xs, false);
        expect_tensor(tg_permute(x, perm), dtypes[d], 4, os, want);
        tg_free(x);
        reset_tape();
    }
}

/* A (1,1,2,3) @ B (2,3,3,2) -> (2,3,2,2): A is shared by the six batch
 * entries, whose two axes walk as one. With A = iota, B = iota:
 * out[s,m,n] = sum_k (3m + k)(6s + 2k + n), s the flat batch index. */
Test(strided_ops, matmul_batches_walk_merged_batch_axes) {
    int64_t as[] = {1, 1, 2, 3}, bs[] = {2, 3, 3, 2}, os[] = {2, 3, 2, 2};
    double want[24];
    for (int s = 0; s < 6; s++)
        for (int m = 0; m < 2; m++)
            for (int n = 0; n < 2; n++) {
                double total = 0;
                for (int k = 0; k < 3; k++) total += (3.0 * m + k) * (6.0 * s + 2 * k + n);
                want[4 * s + 2 * m + n] = total;
            }
    for (int d = 0; d < 2; d++) {
        tg_tensor *a = iota(dtypes[d], 4, as, false), *b = iota(dtypes[d], 4, bs, false);
        expect_tensor(tg_matmul(a, b), dtypes[d], 4, os, want);
        tg_free(a);
        tg_free(b);
        reset_tape();
    }
}
