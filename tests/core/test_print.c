/* Tests of tg_print / tg_fprint (core/print.c). The expected strings follow
 * numpy's and PyTorch's layout (see the rules at the top of print.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* What tg_fprint writes for t (caller frees). */
static char *printed(const tg_tensor *t)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    cr_assert_not_null(stream);
    tg_fprint(stream, t);
    cr_assert_eq(fclose(stream), 0);
    return text;
}

static void assert_prints(const tg_tensor *t, const char *expected)
{
    char *text = printed(t);
    cr_assert_str_eq(text, expected, "printed:\n%s\nexpected:\n%s", text, expected);
    free(text);
}

Test(print, matrix_float32, .init = return_mode)
{
    int64_t shape[2] = {2, 2};
    tg_tensor *t = make(TG_F32, 2, shape, (double[]){1, 2, 3, 4});
    assert_prints(t, "tensor([[1.0000, 2.0000],\n"
                     "        [3.0000, 4.0000]], dtype=float32)\n");
    tg_free(t);
}

Test(print, scalar_float64, .init = return_mode)
{
    tg_tensor *t = tg_scalar(TG_F64, 3.5);
    assert_prints(t, "tensor(3.5000, dtype=float64)\n");
    tg_free(t);
}

Test(print, empty_shows_its_shape, .init = return_mode)
{
    int64_t shape[2] = {0, 3};
    tg_tensor *t = tg_zeros(TG_F32, 2, shape);
    assert_prints(t, "tensor([], shape=(0,3), dtype=float32)\n");
    tg_free(t);
    /* 1-D: "[]" already says (0,), as PyTorch prints it */
    int64_t length[1] = {0};
    t = tg_zeros(TG_F64, 1, length);
    assert_prints(t, "tensor([], dtype=float64)\n");
    tg_free(t);
}

Test(print, negative_values_are_right_aligned, .init = return_mode)
{
    int64_t shape[2] = {2, 2};
    tg_tensor *t = make(TG_F64, 2, shape, (double[]){-1.5, 2, 30.25, -4});
    assert_prints(t, "tensor([[-1.5000,  2.0000],\n"
                     "        [30.2500, -4.0000]], dtype=float64)\n");
    tg_free(t);
}

Test(print, rank_3_blocks_are_separated_by_a_blank_line, .init = return_mode)
{
    int64_t shape[3] = {2, 2, 2};
    tg_tensor *t = make(TG_F32, 3, shape, (double[]){0, 1, 2, 3, 4, 5, 6, 7});
    assert_prints(t, "tensor([[[0.0000, 1.0000],\n"
                     "         [2.0000, 3.0000]],\n"
                     "\n"
                     "        [[4.0000, 5.0000],\n"
                     "         [6.0000, 7.0000]]], dtype=float32)\n");
    tg_free(t);
}

Test(print, large_1d_is_summarized_with_edge_items, .init = return_mode)
{
    /* 2000 > numpy's threshold of 1000: first and last 3 shown. Values
     * 1, 1.25, ..., 500.75 keep the fixed format (largest/smallest < 1000);
     * the dtype does not fit the 80-column line and moves under the "[". */
    tg_tensor *t = tg_arange(TG_F32, 1.0, 501.0, 0.25);
    cr_assert_eq(t->numel, 2000);
    assert_prints(t, "tensor([  1.0000,   1.2500,   1.5000, ..., 500.2500, 500.5000, 500.7500],\n"
                     "       dtype=float32)\n");
    tg_free(t);
}

Test(print, summarized_integers_0_to_1999_use_scientific, .init = return_mode)
{
    /* 1999 / 1 > 1e3, the same rule that makes numpy print arange(2000.)
     * in scientific notation; the line wraps before the 80th column. */
    tg_tensor *t = tg_arange(TG_F32, 0.0, 2000.0, 1.0);
    char *text = printed(t);
    cr_assert_not_null(strstr(text, "..."));
    cr_assert_str_eq(text, "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00, ..., 1.9970e+03, 1.9980e+03,\n"
                           "        1.9990e+03], dtype=float32)\n");
    free(text);
    tg_free(t);
}

Test(print, large_matrix_summarizes_rows_and_columns, .init = return_mode)
{
    int64_t shape[2] = {100, 100};
    tg_tensor *t = tg_zeros(TG_F64, 2, shape);
    tg_set(t, (int64_t[]){99, 99}, 1.0);
    assert_prints(t, "tensor([[0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n"
                     "        [0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n"
                     "        [0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n"
                     "        ...,\n"
                     "        [0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n"
                     "        [0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n"
                     "        [0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 1.0000]], dtype=float64)\n");
    tg_free(t);
}

Test(print, exactly_1000_elements_are_not_summarized, .init = return_mode)
{
    tg_tensor *t = tg_arange(TG_F64, 0.0, 1000.0, 1.0);
    char *text = printed(t);
    cr_assert_null(strstr(text, "..."));
    cr_assert_not_null(strstr(text, "999.0000]"), "%s", text); /* 999 / 1 < 1e3: fixed */
    free(text);
    tg_free(t);
}

Test(print, long_rows_wrap_within_80_columns, .init = return_mode)
{
    tg_tensor *t = tg_arange(TG_F64, 0.0, 20.0, 1.0);
    assert_prints(t, "tensor([ 0.0000,  1.0000,  2.0000,  3.0000,  4.0000,  5.0000,  6.0000,  7.0000,\n"
                     "         8.0000,  9.0000, 10.0000, 11.0000, 12.0000, 13.0000, 14.0000, 15.0000,\n"
                     "        16.0000, 17.0000, 18.0000, 19.0000], dtype=float64)\n");
    tg_free(t);
}

Test(print, tiny_or_huge_values_switch_to_scientific, .init = return_mode)
{
    int64_t shape[1] = {2};
    tg_tensor *t = make(TG_F64, 1, shape, (double[]){1e-5, 1.0});
    assert_prints(t, "tensor([1.0000e-05, 1.0000e+00], dtype=float64)\n");
    tg_free(t);
    t = tg_scalar(TG_F32, 1e9);
    assert_prints(t, "tensor(1.0000e+09, dtype=float32)\n");
    tg_free(t);
    /* zeros do not count as "tiny" */
    t = make(TG_F64, 1, shape, (double[]){0.0, 0.5});
    assert_prints(t, "tensor([0.0000, 0.5000], dtype=float64)\n");
    tg_free(t);
}

Test(print, non_finite_values_are_spelled_out, .init = return_mode)
{
    int64_t shape[1] = {3};
    tg_tensor *t = make(TG_F64, 1, shape, (double[]){NAN, INFINITY, -2.0});
    assert_prints(t, "tensor([    nan,     inf, -2.0000], dtype=float64)\n");
    tg_free(t);
}

Test(print, requires_grad_is_shown, .init = return_mode)
{
    int64_t shape[1] = {2};
    tg_tensor *t = make(TG_F64, 1, shape, (double[]){1, 2});
    tg_set_requires_grad(t, true);
    assert_prints(t, "tensor([1.0000, 2.0000], dtype=float64, requires_grad=True)\n");
    tg_free(t);
}

Test(print, null_prints_a_placeholder_without_error, .init = return_mode)
{
    tg_clear_error();
    assert_prints(NULL, "tensor(NULL)\n");
    cr_assert_eq(tg_last_error(), TG_OK);
}

Test(print, a_stale_tensor_is_reported, .init = return_mode)
{
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *x = tg_scalar(TG_F64, 2.0);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    assert_prints(y, "tensor(4.0000, dtype=float64)\n");
    tg_tape_reset(tape);
    tg_clear_error();
    assert_prints(y, "tensor(<stale>)\n");
    cr_assert_eq(tg_last_error(), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_fprint"), "%s", tg_last_error_message());
    tg_tape_use(previous);
    tg_tape_free(tape);
    tg_free(x);
}
