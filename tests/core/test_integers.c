/* tests/core/test_integers.c — int64 / int32 tensors: creation, exact
 * access, printing, conversion (truncation toward zero, as torch's .long()),
 * checkpoints, argmax, and the refusal of integers by every float op and by
 * gradients. Expected values are worked out by hand in the comments. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

static const int64_t shape3[] = {3};

Test(integers, dtype_size_and_name) {
    cr_assert_eq(tg_dtype_size(TG_I64), 8);
    cr_assert_eq(tg_dtype_size(TG_I32), 4);
    cr_assert_str_eq(tg_dtype_name(TG_I64), "int64");
    cr_assert_str_eq(tg_dtype_name(TG_I32), "int32");
}

Test(integers, from_array_keeps_every_int64_bit) {
    /* INT64_MAX and 2^53 + 1 have no float64 value: the typed view reads them exactly. */
    const int64_t values[] = {INT64_MAX, -((INT64_C(1) << 53) + 1), -7};
    tg_tensor *t = tg_from_array(TG_I64, 1, shape3, values);
    cr_assert_not_null(t);
    const int64_t *p = tg_const_data_i64(t);
    cr_assert_eq(p[0], INT64_MAX);
    cr_assert_eq(p[1], -((INT64_C(1) << 53) + 1));
    cr_assert_eq(tg_get(t, (const int64_t[]){2}), -7.0);
    tg_free(t);
}

Test(integers, creation_get_item_set, .init = return_mode) {
    tg_tensor *z = tg_zeros(TG_I32, 1, shape3);
    expect_tensor(z, TG_I32, 1, shape3, (const double[]){0, 0, 0});
    cr_assert_eq(tg_set(z, (const int64_t[]){1}, -5.0), TG_OK);
    cr_assert_eq(tg_set_flat(z, 2, 2147483647.0), TG_OK); /* 2^31 - 1, int32's largest */
    expect_values(z, (const double[]){0, -5, 2147483647.0});
    cr_assert_eq(tg_const_data_i32(z)[1], -5);
    /* A fraction or a value out of range is refused, naming the value. */
    cr_assert_eq(tg_set_flat(z, 0, 1.5), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_set_flat", "1.5");
    cr_assert_eq(tg_set_flat(z, 0, 2147483648.0), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_set_flat", "2147483648");
    expect_values(z, (const double[]){0, -5, 2147483647.0});
    tg_free(z);

    tg_tensor *s = tg_scalar(TG_I64, 9007199254740991.0); /* 2^53 - 1 */
    cr_assert_eq(tg_item(s), 9007199254740991.0);
    cr_assert_eq(tg_const_data_i64(s)[0], INT64_C(9007199254740991));
    tg_free(s);
    tg_tensor *f = tg_full(TG_I64, 1, shape3, -3.0);
    expect_values(f, (const double[]){-3, -3, -3});
    tg_free(f);
    tg_tensor *r = tg_arange(TG_I64, 0, 3, 1);
    expect_tensor(r, TG_I64, 1, shape3, (const double[]){0, 1, 2});
    tg_free(r);
    expect_error(tg_full(TG_I64, 1, shape3, NAN), TG_ERR_ARGUMENT, "tg_full");
    cr_assert_null(tg_from_doubles(TG_I32, 1, shape3, (const double[]){1, 2, 2.5}));
    assert_error(TG_ERR_ARGUMENT, "tg_from_doubles", "values[2] 2.5");
    expect_error(tg_rand_normal(&(tg_rng){0}, TG_I64, 1, shape3, 0, 1), TG_ERR_DTYPE, "tg_rand_normal");
}

Test(integers, typed_views_refuse_other_dtypes, .init = return_mode) {
    tg_tensor *t = tg_zeros(TG_F32, 1, shape3);
    cr_assert_null(tg_data_i64(t));
    assert_error(TG_ERR_DTYPE, "tg_data_i64", "float32");
    cr_assert_null(tg_const_data_i32(t));
    assert_error(TG_ERR_DTYPE, "tg_const_data_i32", "float32");
    tg_tensor *i = tg_zeros(TG_I64, 1, shape3);
    cr_assert_null(tg_const_data_f32(i));
    assert_error(TG_ERR_DTYPE, "tg_const_data_f32", "int64");
    uint64_t before = i->version;
    cr_assert_not_null(tg_data_i64(i));
    cr_assert_eq(i->version, before + 1, "a writable view counts a change");
    cr_assert_not_null(tg_const_data_i64(i));
    cr_assert_eq(i->version, before + 1, "a read-only view does not");
    tg_free(t);
    tg_free(i);
}

/* The text tg_fprint writes for t. */
static char *printed(const tg_tensor *t) {
    static char text[512];
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    tg_fprint(f, t);
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

Test(integers, print_as_integers) {
    tg_tensor *t = tg_from_array(TG_I64, 1, shape3, (const int64_t[]){3, -1, 12});
    cr_assert_str_eq(printed(t), "tensor([ 3, -1, 12], dtype=int64)\n");
    tg_free(t);
    tg_tensor *s = tg_from_array(TG_I32, 0, NULL, (const int32_t[]){-2147483647 - 1});
    cr_assert_str_eq(printed(s), "tensor(-2147483648, dtype=int32)\n");
    tg_free(s);
    tg_tensor *big = tg_from_array(TG_I64, 1, (const int64_t[]){1}, (const int64_t[]){INT64_MAX});
    cr_assert_str_eq(printed(big), "tensor([9223372036854775807], dtype=int64)\n");
    tg_free(big);
}

Test(integers, to_dtype_truncates_toward_zero, .init = return_mode) {
    /* torch.tensor([-2.7, 2.7, -0.5, 1e10]).long() == [-2, 2, 0, 10000000000] */
    int64_t shape4[] = {4};
    tg_tensor *x = make(TG_F64, 1, shape4, (const double[]){-2.7, 2.7, -0.5, 1e10});
    tg_tensor *i = tg_to_dtype(x, TG_I64);
    expect_tensor(i, TG_I64, 1, shape4, (const double[]){-2, 2, 0, 1e10});
    /* and back: int64 -> float32 rounds to nearest */
    tg_tensor *back = tg_to_dtype(i, TG_F32);
    expect_tensor(back, TG_F32, 1, shape4, (const double[]){-2, 2, 0, (double)(float)1e10});
    /* 1e10 does not fit int32; NaN fits nothing. */
    expect_error(tg_to_dtype(x, TG_I32), TG_ERR_ARGUMENT, "tg_to_dtype");
    tg_tensor *n = make(TG_F32, 1, shape3, (const double[]){1, NAN, 2});
    cr_assert_null(tg_to_dtype(n, TG_I64));
    assert_error(TG_ERR_ARGUMENT, "tg_to_dtype", "element 1 is nan");
    /* int64 -> int32, exact */
    tg_tensor *floats = make(TG_F32, 1, shape3, (const double[]){-1, 0, 7});
    tg_tensor *small = tg_to_dtype(tg_to_dtype(floats, TG_I64), TG_I32);
    expect_tensor(small, TG_I32, 1, shape3, (const double[]){-1, 0, 7});
    tg_free(x);
    tg_free(n);
    tg_free(floats);
    reset_tape();
}

Test(integers, no_gradient_through_integers, .init = return_mode) {
    tg_tensor *x = param(TG_F32, 1, shape3, (const double[]){1.5, -2.5, 3});
    tg_tensor *i = tg_to_dtype(x, TG_I64);
    cr_assert_not_null(i);
    cr_assert(!i->requires_grad, "an integer result never requires a gradient");
    cr_assert_null(i->node);
    tg_tensor *c = tg_zeros(TG_I64, 1, shape3);
    cr_assert_eq(tg_set_requires_grad(c, true), TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_set_requires_grad", "int64");
    cr_assert(!c->requires_grad);
    cr_assert_eq(tg_set_requires_grad(c, false), TG_OK);
    tg_free(x);
    tg_free(c);
    reset_tape();
}

/* Every float op given an int64 tensor: refused by tg_op_apply, naming the
 * op and the dtype, instead of reading the integers as doubles. */
Test(integers, float_ops_refuse_integer_inputs, .init = return_mode) {
    tg_tensor *i = tg_zeros(TG_I64, 2, (const int64_t[]){2, 2});
    tg_tensor *f = tg_zeros(TG_F64, 2, (const int64_t[]){2, 2});
    struct {
        const char *function;
        tg_tensor *result;
    } calls[] = {
        {"tg_add", tg_add(i, i)},
        {"tg_mul", tg_mul(i, i)},
        {"tg_div", tg_div(i, i)},
        {"tg_add_scalar", tg_add_scalar(i, 1)},
        {"tg_exp", tg_exp(i)},
        {"tg_log", tg_log(i)},
        {"tg_relu", tg_relu(i)},
        {"tg_sigmoid", tg_sigmoid(i)},
        {"tg_tanh", tg_tanh(i)},
        {"tg_clamp", tg_clamp(i, 0, 1)},
        {"tg_pow", tg_pow(i, 2)},
        {"tg_sum", tg_sum(i)},
        {"tg_mean", tg_mean(i)},
        {"tg_max", tg_max_axis(i, 0, false)},
        {"tg_matmul", tg_matmul(i, i)},
        {"tg_softmax", tg_softmax(i, 1)},
        {"tg_log_softmax", tg_log_softmax(i, 1)},
        {"tg_reshape", tg_reshape(i, 1, (const int64_t[]){4})},
        {"tg_permute", tg_transpose(i)},
        {"tg_slice", tg_slice(i, 0, 0, 1)},
        {"tg_pad", tg_pad(i, 0, 1, 1)},
        {"tg_concat", tg_concat(2, (tg_tensor *[]){i, i}, 0)},
        {"tg_expand", tg_expand(i, 3, (const int64_t[]){2, 2, 2})},
        {"tg_sum_to", tg_sum_to(i, 1, (const int64_t[]){2})},
        {"tg_where", tg_where(i, f, f)},
        {"tg_gt_scalar", tg_gt_scalar(i, 0)},
        {"tg_argmax_mask", tg_argmax_mask(i, 0)},
    };
    tg_clear_error();
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
        cr_assert_null(calls[k].result, "%s accepted an int64 tensor", calls[k].function);
    }
    /* Each call reported; check the messages one by one. */
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
        tg_clear_error();
        tg_tensor *again = NULL;
        switch (k) {
        case 0: again = tg_add(i, i); break;
        case 4: again = tg_exp(i); break;
        case 11: again = tg_sum(i); break;
        case 14: again = tg_matmul(i, i); break;
        case 24: again = tg_where(i, f, f); break;
        default: continue;
        }
        cr_assert_null(again);
        assert_error(TG_ERR_DTYPE, calls[k].function, "int64");
    }
    tg_free(i);
    tg_free(f);
    reset_tape();
}

Test(integers, argmax_returns_int64_indices) {
    /* rows [1, 5, 5] and [nan, 2, 3]: first max of each row is 1 and 0 (NaN
     * counts as the largest); columns (1, nan), (5, 2), (5, 3): 1, 0, 0; over
     * all, the NaN at flat index 3. */
    int64_t shape[] = {2, 3};
    tg_tensor *x = make(TG_F32, 2, shape, (const double[]){1, 5, 5, NAN, 2, 3});
    expect_tensor(tg_argmax(x, 1), TG_I64, 1, (const int64_t[]){2}, (const double[]){1, 0});
    expect_tensor(tg_argmax(x, -2), TG_I64, 1, shape3, (const double[]){1, 0, 0});
    expect_tensor(tg_argmax(x, TG_ALL_AXES), TG_I64, 0, NULL, (const double[]){3});
    tg_tensor *labels = tg_from_array(TG_I32, 1, shape3, (const int32_t[]){4, 9, 9});
    expect_tensor(tg_argmax(labels, 0), TG_I64, 0, NULL, (const double[]){1});
    tg_free(x);
    tg_free(labels);
    reset_tape();
}

Test(integers, argmax_refuses_empty_and_bad_axes, .init = return_mode) {
    tg_tensor *e = tg_zeros(TG_F32, 2, (const int64_t[]){2, 0});
    expect_error(tg_argmax(e, 1), TG_ERR_SHAPE, "tg_argmax");
    expect_error(tg_argmax(e, 2), TG_ERR_AXIS, "tg_argmax");
    tg_free(e);
}

Test(integers, checkpoint_round_trip, .init = return_mode) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ints.safetensors", dir);
    tg_tensor *a = tg_from_array(TG_I64, 1, shape3, (const int64_t[]){INT64_MIN, -1, INT64_MAX});
    tg_tensor *b = tg_from_array(TG_I32, 1, shape3, (const int32_t[]){INT32_MIN, 0, INT32_MAX});
    tg_tensor *f = make(TG_F32, 1, shape3, (const double[]){3, -4, 1.5});
    const char *names[] = {"a", "b", "f"};
    cr_assert_eq(tg_checkpoint_save(path, 3, names, (const tg_tensor *const[]){a, b, f}, 0, NULL, NULL), TG_OK, "%s",
                 tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck);
    cr_assert_str_eq(tg_checkpoint_find(ck, "a")->dtype, "I64");
    cr_assert_str_eq(tg_checkpoint_find(ck, "b")->dtype, "I32");
    tg_tensor *a2 = tg_checkpoint_read_tensor(ck, "a"), *b2 = tg_checkpoint_read_tensor(ck, "b");
    cr_assert(a2 && a2->dtype == TG_I64 && b2 && b2->dtype == TG_I32);
    cr_assert_eq(memcmp(a2->data, a->data, 3 * sizeof(int64_t)), 0);
    cr_assert_eq(memcmp(b2->data, b->data, 3 * sizeof(int32_t)), 0);
    /* I32 into an int64 destination widens; I64's extremes do not fit int32. */
    tg_tensor *wide = tg_zeros(TG_I64, 1, shape3);
    cr_assert_eq(tg_checkpoint_read_into(ck, 1, (const char *[]){"b"}, &wide), TG_OK);
    cr_assert_eq(tg_const_data_i64(wide)[0], INT32_MIN);
    tg_tensor *narrow = tg_zeros(TG_I32, 1, shape3);
    cr_assert_eq(tg_checkpoint_read_into(ck, 1, (const char *[]){"a"}, &narrow), TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_read_into", "-9223372036854775808");
    /* A float into an integer destination only as a whole number: 1.5 is refused. */
    cr_assert_eq(tg_checkpoint_read_into(ck, 1, (const char *[]){"f"}, &wide), TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_read_into", "1.5");
    tg_checkpoint_close(ck);
    tg_tensor *all[] = {a, b, f, a2, b2, wide, narrow};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) tg_free(all[k]);
    remove_temp_dir(dir);
}
