/* Tests of reading stored dtypes other than the destination's
 * (io/checkpoint_dtype.c, the rule in include/tapegrad/checkpoint.h).
 * Every file is written by hand, byte by byte, from bit patterns worked out
 * from the IEEE 754 / bfloat16 definitions (sign, biased exponent, fraction)
 * and two's complement, not by the code under test. */
#include <math.h>
#include <stdint.h>

#include "helpers.h"
#include "tapegrad/checkpoint.h"

typedef struct handmade {
    char dir[64], path[128];
} handmade;

/* A file holding one tensor "t" of `dtype` and `count` elements of `size`
 * bytes, each given as its bits (written little-endian). */
static void write_one_tensor(handmade *h, const char *dtype, size_t size, int count, const uint64_t *bits)
{
    make_temp_dir(h->dir, sizeof h->dir);
    snprintf(h->path, sizeof h->path, "%s/t.safetensors", h->dir);
    char json[256];
    int n = snprintf(json, sizeof json, "{\"t\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[0,%zu]}}",
                     dtype, count, size * (size_t)count);
    size_t total = 8 + (size_t)n + size * (size_t)count;
    unsigned char *raw = calloc(total, 1);
    for (int b = 0; b < 8; ++b) raw[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(raw + 8, json, (size_t)n);
    unsigned char *data = raw + 8 + n;
    for (int i = 0; i < count; ++i)
        for (size_t b = 0; b < size; ++b) data[(size_t)i * size + b] = (unsigned char)(bits[i] >> (8 * b));
    write_bytes(h->path, raw, total);
    free(raw);
}

/* Loads "t" into a new tensor of `dtype` and `count` elements. */
static tg_tensor *load_as(const handmade *h, tg_dtype dtype, int count, tg_status want)
{
    tg_tensor *t = tg_full(dtype, 1, (const int64_t[]){count}, 7.0);
    const char *names[1] = {"t"};
    tg_status got = tg_checkpoint_load_into(h->path, 1, names, &t);
    cr_assert_eq(got, want, "got %s: %s", tg_status_name(got), tg_last_error_message());
    return t;
}

static void expect_loaded_values(const tg_tensor *t, const double *want, int count)
{
    for (int i = 0; i < count; ++i) {
        double got = tg_get_flat(t, i);
        if (isnan(want[i])) {
            cr_assert(isnan(got), "element %d: %g, want NaN", i, got);
            continue;
        }
        cr_assert(got == want[i] && signbit(got) == signbit(want[i]), "element %d (%s): %.17g, want %.17g", i,
                  tg_dtype_name(t->dtype), got, want[i]);
    }
}

/* binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
Test(checkpoint_dtypes, f16_bit_patterns_load_exactly_into_f32_and_f64, .init = return_mode)
{
    static const uint64_t bits[] = {
        0x3C00, /* 0 01111 0: 2^0 = 1 */
        0xC100, /* 1 10000 0100000000: -(1 + 1/4) * 2 = -2.5 */
        0x0001, /* smallest subnormal: 2^-14 * 2^-10 = 2^-24 */
        0x03FF, /* largest subnormal: 1023 * 2^-24 */
        0x7BFF, /* largest finite: (2 - 2^-10) * 2^15 = 65504 */
        0x7C00, 0xFC00, /* +inf, -inf */
        0x8000, /* -0 */
        0x7E00, /* a quiet NaN */
        0x3555, /* 0 01101 0101010101: (1 + 341/1024) / 4 = 0.333251953125 */
    };
    const double want[] = {1.0, -2.5, 0x1p-24, 1023 * 0x1p-24, 65504.0, INFINITY, -INFINITY, -0.0, NAN,
                           0.333251953125};
    handmade h;
    write_one_tensor(&h, "F16", 2, 10, bits);
    for (int d = 0; d < 2; ++d) {
        tg_tensor *t = load_as(&h, d ? TG_F64 : TG_F32, 10, TG_OK);
        expect_loaded_values(t, want, 10);
        tg_free(t);
    }
    remove_temp_dir(h.dir);
}

/* bfloat16 is the upper 16 bits of a binary32. */
Test(checkpoint_dtypes, bf16_bit_patterns_load_exactly_into_f32_and_f64, .init = return_mode)
{
    static const uint64_t bits[] = {
        0x3F80, /* 0 01111111 0000000: 1 */
        0xC020, /* 1 10000000 0100000: -(1 + 1/4) * 2 = -2.5 */
        0x0001, /* subnormal: fraction 1 << 16 of binary32, 2^16 * 2^-149 = 2^-133 */
        0x7F7F, /* largest finite: (2 - 2^-7) * 2^127 */
        0x7F80, 0xFF80, /* +inf, -inf */
        0x8000, /* -0 */
        0x3E00, /* 0 01111100 0: 2^-3 */
    };
    const double want[] = {1.0, -2.5, 0x1p-133, 0x1.fep127, INFINITY, -INFINITY, -0.0, 0.125};
    handmade h;
    write_one_tensor(&h, "BF16", 2, 8, bits);
    for (int d = 0; d < 2; ++d) {
        tg_tensor *t = load_as(&h, d ? TG_F64 : TG_F32, 8, TG_OK);
        expect_loaded_values(t, want, 8);
        tg_free(t);
    }
    remove_temp_dir(h.dir);
}

Test(checkpoint_dtypes, integers_that_fit_load_exactly, .init = return_mode)
{
    /* Two's complement: -3 is 2^64 - 3; INT64_MIN is 2^63 and is -2^63. */
    static const uint64_t i64[] = {UINT64_C(0xFFFFFFFFFFFFFFFD), 0, UINT64_C(16777216), UINT64_C(0x8000000000000000),
                                   UINT64_C(9007199254740992) /* 2^53: one significant bit */};
    const double want64[] = {-3.0, 0.0, 16777216.0, -0x1p63, 0x1p53};
    handmade h;
    write_one_tensor(&h, "I64", 8, 5, i64);
    for (int d = 0; d < 2; ++d) {
        tg_tensor *t = load_as(&h, d ? TG_F64 : TG_F32, 5, TG_OK);
        expect_loaded_values(t, want64, 5);
        tg_free(t);
    }
    remove_temp_dir(h.dir);

    static const uint64_t i32[] = {0x80000000u /* -2^31 */, 0xFFFFFFFFu /* -1 */, 16777215 /* 2^24 - 1 */};
    const double want32[] = {-0x1p31, -1.0, 16777215.0};
    write_one_tensor(&h, "I32", 4, 3, i32);
    tg_tensor *t = load_as(&h, TG_F32, 3, TG_OK);
    expect_loaded_values(t, want32, 3);
    tg_free(t);
    remove_temp_dir(h.dir);

    static const uint64_t i8[] = {0x80 /* -128 */, 0x7F, 0xFF /* -1 */};
    const double want8[] = {-128.0, 127.0, -1.0};
    write_one_tensor(&h, "I8", 1, 3, i8);
    t = load_as(&h, TG_F32, 3, TG_OK);
    expect_loaded_values(t, want8, 3);
    tg_free(t);
    remove_temp_dir(h.dir);

    static const uint64_t u16[] = {0xFFFF, 0x8000};
    const double want_u16[] = {65535.0, 32768.0};
    write_one_tensor(&h, "U16", 2, 2, u16);
    t = load_as(&h, TG_F64, 2, TG_OK);
    expect_loaded_values(t, want_u16, 2);
    tg_free(t);
    remove_temp_dir(h.dir);

    static const uint64_t flags[] = {1, 0, 1};
    const double want_bool[] = {1.0, 0.0, 1.0};
    write_one_tensor(&h, "BOOL", 1, 3, flags);
    t = load_as(&h, TG_F32, 3, TG_OK);
    expect_loaded_values(t, want_bool, 3);
    tg_free(t);
    remove_temp_dir(h.dir);
}

/* An integer the destination cannot hold exactly is refused, naming it; the
 * destination is left as it was. */
Test(checkpoint_dtypes, integers_that_would_round_are_refused, .init = return_mode)
{
    /* 2^24 + 1 needs 25 significant bits: exact in F64, not in F32. */
    static const uint64_t over_f32[] = {5, UINT64_C(16777217)};
    handmade h;
    write_one_tensor(&h, "I64", 8, 2, over_f32);
    tg_tensor *t = load_as(&h, TG_F32, 2, TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_load_into", "element 1 (16777217)");
    cr_assert_eq(tg_get_flat(t, 0), 7.0, "nothing written");
    tg_free(t);
    t = load_as(&h, TG_F64, 2, TG_OK);
    expect_loaded_values(t, (const double[]){5.0, 16777217.0}, 2);
    tg_free(t);
    remove_temp_dir(h.dir);

    /* 2^53 + 1 and -(2^53 + 1) need 54 bits: F64 refuses them too. */
    static const uint64_t over_f64[] = {UINT64_C(0xFFDFFFFFFFFFFFFF), 1};
    write_one_tensor(&h, "I64", 8, 2, over_f64);
    t = load_as(&h, TG_F64, 2, TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_load_into", "element 0 (-9007199254740993)");
    tg_free(t);
    remove_temp_dir(h.dir);

    static const uint64_t u64[] = {UINT64_MAX}; /* 2^64 - 1: 64 significant bits */
    write_one_tensor(&h, "U64", 8, 1, u64);
    t = load_as(&h, TG_F64, 1, TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_load_into", "18446744073709551615");
    tg_free(t);
    remove_temp_dir(h.dir);
}

/* binary64 into binary32: round to nearest, ties to even; no overflow. */
Test(checkpoint_dtypes, f64_rounds_into_f32_to_nearest_even, .init = return_mode)
{
    static const uint64_t bits[] = {
        UINT64_C(0x3FF0000010000000), /* 1 + 2^-24: halfway between 1 and 1 + 2^-23 -> 1 (even) */
        UINT64_C(0x3FF0000030000000), /* 1 + 3 * 2^-24: halfway, -> 1 + 2^-22 (even) */
        UINT64_C(0x3FB999999999999A), /* 0.1 -> 0x1.99999ap-4, the float nearest 0.1 */
        UINT64_C(0x47EFFFFFE0000000), /* (2 - 2^-23) * 2^127: the largest float, exact */
        UINT64_C(0x3590000000000000), /* 2^-166: below half the smallest subnormal -> +0 */
        UINT64_C(0xFFF0000000000000), /* -inf stays -inf */
        UINT64_C(0x47EFFFFFEFFFFFFF), /* just below halfway to 2^128: the largest float */
    };
    const double want[] = {1.0, 1.0 + 0x1p-22, 0x1.99999ap-4, 0x1.fffffep127, 0.0, -INFINITY, 0x1.fffffep127};
    handmade h;
    write_one_tensor(&h, "F64", 8, 7, bits);
    tg_tensor *t = load_as(&h, TG_F32, 7, TG_OK);
    expect_loaded_values(t, want, 7);
    tg_free(t);
    remove_temp_dir(h.dir);

    /* 1e39 is finite but beyond the largest float: refused, not made inf. */
    static const uint64_t huge[] = {UINT64_C(0x3FF0000000000000), UINT64_C(0x48078287F49C4A1D)};
    write_one_tensor(&h, "F64", 8, 2, huge);
    t = load_as(&h, TG_F32, 2, TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_load_into", "element 1 (9.9999999999999994e+38)");
    cr_assert_eq(tg_get_flat(t, 0), 7.0, "nothing written");
    tg_free(t);
    t = load_as(&h, TG_F64, 2, TG_OK);
    expect_loaded_values(t, (const double[]){1.0, 1e39}, 2);
    tg_free(t);
    remove_temp_dir(h.dir);

    /* Exactly halfway between the largest float and 2^128 rounds (to even)
     * to 2^128, an infinity: refused too. */
    write_one_tensor(&h, "F64", 8, 1, (const uint64_t[]){UINT64_C(0xC7EFFFFFF0000000)});
    t = load_as(&h, TG_F32, 1, TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_load_into", "element 0 (-3.4028235677973366e+38)");
    tg_free(t);
    remove_temp_dir(h.dir);
}

/* F32 into F64 widens exactly, the special values included. */
Test(checkpoint_dtypes, f32_widens_into_f64_exactly, .init = return_mode)
{
    static const uint64_t bits[] = {0x3FC00000 /* 1.5 */, 0x80000000 /* -0 */, 0x00000001 /* 2^-149 */,
                                    0x7F800000 /* inf */, 0x7F7FFFFF /* largest float */};
    const double want[] = {1.5, -0.0, 0x1p-149, INFINITY, 0x1.fffffep127};
    handmade h;
    write_one_tensor(&h, "F32", 4, 5, bits);
    tg_tensor *t = load_as(&h, TG_F64, 5, TG_OK);
    expect_loaded_values(t, want, 5);
    tg_free(t);
    remove_temp_dir(h.dir);
}

/* tg_checkpoint_read_tensor picks float32 for 16-bit floats and float64 for
 * integers. */
Test(checkpoint_dtypes, read_tensor_makes_f32_from_f16_and_f64_from_integers, .init = return_mode)
{
    handmade h;
    write_one_tensor(&h, "F16", 2, 2, (const uint64_t[]){0x3C00, 0xC100});
    tg_checkpoint *ck = tg_checkpoint_open(h.path);
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    cr_assert_str_eq(tg_checkpoint_find(ck, "t")->dtype, "F16");
    tg_tensor *t = tg_checkpoint_read_tensor(ck, "t");
    cr_assert(t && t->dtype == TG_F32);
    expect_loaded_values(t, (const double[]){1.0, -2.5}, 2);
    tg_free(t);
    tg_checkpoint_close(ck);
    remove_temp_dir(h.dir);

    /* I64 reads as int64, exactly (2^53 + 1 has no float64 value). */
    write_one_tensor(&h, "I64", 8, 2, (const uint64_t[]){UINT64_C(0x0020000000000001) /* 2^53 + 1 */, 3});
    ck = tg_checkpoint_open(h.path);
    t = tg_checkpoint_read_tensor(ck, "t");
    cr_assert(t && t->dtype == TG_I64);
    cr_assert_eq(tg_const_data_i64(t)[0], INT64_C(9007199254740993));
    cr_assert_eq(tg_const_data_i64(t)[1], 3);
    tg_free(t);
    tg_checkpoint_close(ck);
    remove_temp_dir(h.dir);

    /* U64 still reads as float64, refused when a value is not exact there. */
    write_one_tensor(&h, "U64", 8, 1, (const uint64_t[]){UINT64_C(0x0020000000000001)}); /* 2^53 + 1 */
    ck = tg_checkpoint_open(h.path);
    cr_assert_null(tg_checkpoint_read_tensor(ck, "t"));
    assert_error(TG_ERR_DTYPE, "tg_checkpoint_read_tensor", "9007199254740993");
    tg_checkpoint_close(ck);
    remove_temp_dir(h.dir);
}
