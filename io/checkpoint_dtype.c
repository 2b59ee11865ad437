/* io/checkpoint_dtype.c — reading a stored safetensors element of any
 * dtype into a float32 or float64 tensor (the rule is documented in
 * include/tapegrad/checkpoint.h).
 *
 * Bytes are assembled little-endian by hand, so the host's byte order does
 * not matter. F16 and BF16 widen exactly; integers convert only when the
 * value is exactly representable in the destination; F64 rounds to F32 to
 * nearest even, except that a finite value beyond F32's range is refused
 * rather than turned into an infinity. Into an int64 / int32 destination
 * every value must be a whole number in its range.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/checkpoint_internal.h"

typedef enum stored_kind { FLOAT16, BFLOAT16, FLOAT32, FLOAT64, SIGNED, UNSIGNED, BOOLEAN } stored_kind;

typedef struct stored_dtype {
    const char *name;
    stored_kind kind;
    int bytes;
} stored_dtype;

static const stored_dtype stored_dtypes[] = {
    {"F16", FLOAT16, 2},  {"BF16", BFLOAT16, 2}, {"F32", FLOAT32, 4}, {"F64", FLOAT64, 8},
    {"I8", SIGNED, 1},    {"I16", SIGNED, 2},    {"I32", SIGNED, 4},  {"I64", SIGNED, 8},
    {"U8", UNSIGNED, 1},  {"U16", UNSIGNED, 2},  {"U32", UNSIGNED, 4}, {"U64", UNSIGNED, 8},
    {"BOOL", BOOLEAN, 1},
};

static const stored_dtype *find_stored_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof stored_dtypes / sizeof stored_dtypes[0]; ++i)
        if (strcmp(name, stored_dtypes[i].name) == 0) return &stored_dtypes[i];
    return NULL;
}

/* One element as stored: a float value, or an integer as sign and magnitude
 * (a U64 does not fit an int64). */
typedef struct element {
    bool is_integer, negative;
    uint64_t magnitude;
    double value; /* for floats */
} element;

static uint64_t little_endian_bits(const uint8_t *p, int bytes)
{
    uint64_t bits = 0;
    for (int b = 0; b < bytes; ++b) bits |= (uint64_t)p[b] << (8 * b);
    return bits;
}

/* IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits. */
static double half_value(uint64_t bits)
{
    double sign = (bits & 0x8000u) ? -1.0 : 1.0;
    int exponent = (int)((bits >> 10) & 0x1f);
    double fraction = (double)(bits & 0x3ffu);
    if (exponent == 0) return sign * ldexp(fraction, -24); /* zero or subnormal */
    if (exponent == 31) return fraction == 0 ? sign * INFINITY : copysign(NAN, sign);
    return sign * ldexp(1024.0 + fraction, exponent - 25);
}

/* bfloat16 is the upper half of a float32. */
static float bfloat_value(uint64_t bits)
{
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

static element read_element(const stored_dtype *s, const uint8_t *p)
{
    element e = {false, false, 0, 0.0};
    uint64_t bits = little_endian_bits(p, s->bytes);
    switch (s->kind) {
    case FLOAT16: e.value = half_value(bits); break;
    case BFLOAT16: e.value = bfloat_value(bits); break;
    case FLOAT32: {
        uint32_t narrow = (uint32_t)bits;
        float value;
        memcpy(&value, &narrow, sizeof value);
        e.value = value;
        break;
    }
    case FLOAT64: memcpy(&e.value, &bits, sizeof e.value); break;
    case SIGNED: {
        /* Two's complement: a negative value's magnitude is 2^width - bits. */
        uint64_t mask = UINT64_MAX >> (64 - 8 * s->bytes);
        e.is_integer = true;
        e.negative = (bits >> (8 * s->bytes - 1)) != 0;
        e.magnitude = e.negative ? (~bits + 1) & mask : bits;
        break;
    }
    case UNSIGNED:
    case BOOLEAN:
        e.is_integer = true;
        e.magnitude = s->kind == BOOLEAN ? bits != 0 : bits;
        break;
    }
    return e;
}

/* Whether an integer magnitude has at most `bits` significant bits, so that
 * a float with that many mantissa bits holds it exactly. */
static bool fits_mantissa(uint64_t magnitude, int bits)
{
    while (magnitude != 0 && (magnitude & 1) == 0) magnitude >>= 1;
    return magnitude < ((uint64_t)1 << bits);
}

/* Whether `e` is a whole number that the integer dtype `dst` holds. */
static bool fits_integer(element e, tg_dtype dst)
{
    uint64_t half = dst == TG_I64 ? (uint64_t)1 << 63 : (uint64_t)1 << 31; /* -half .. half - 1 */
    if (e.is_integer) return e.negative ? e.magnitude <= half : e.magnitude < half;
    double limit = (double)half;
    return e.value == trunc(e.value) && e.value >= -limit && e.value < limit; /* false for NaN, inf */
}

static bool representable(element e, tg_dtype dst)
{
    if (dst == TG_I64 || dst == TG_I32) return fits_integer(e, dst);
    if (e.is_integer) return fits_mantissa(e.magnitude, dst == TG_F32 ? 24 : 53);
    /* Rounding is allowed, overflow is not: from halfway between the largest
     * float, (2 - 2^-23) 2^127, and 2^128 up, a value rounds to infinity. */
    if (dst == TG_F64 || !isfinite(e.value)) return true;
    return fabs(e.value) < 0x1.ffffffp127;
}

/* Whether every value of `s` fits `dst`, so that no scan is needed. */
static bool always_representable(const stored_dtype *s, tg_dtype dst)
{
    if (dst == TG_I64 || dst == TG_I32) {
        int dst_bytes = dst == TG_I64 ? 8 : 4;
        return s->kind == BOOLEAN || (s->kind == SIGNED && s->bytes <= dst_bytes) ||
               (s->kind == UNSIGNED && s->bytes < dst_bytes);
    }
    switch (s->kind) {
    case FLOAT16:
    case BFLOAT16:
    case FLOAT32:
    case BOOLEAN: return true;
    case FLOAT64: return dst == TG_F64;
    case SIGNED:
    case UNSIGNED: return s->bytes <= 2 || (dst == TG_F64 && s->bytes <= 4);
    }
    return false;
}

static double element_as_double(element e)
{
    if (!e.is_integer) return e.value;
    double magnitude = (double)e.magnitude;
    return e.negative ? -magnitude : magnitude;
}

bool tgi_checkpoint_dtype_readable(const char *dtype)
{
    return dtype && find_stored_dtype(dtype) != NULL;
}

int tgi_checkpoint_natural_dtype(const char *dtype)
{
    const stored_dtype *s = dtype ? find_stored_dtype(dtype) : NULL;
    if (!s) return -1;
    if (strcmp(s->name, "I64") == 0) return (int)TG_I64;
    if (strcmp(s->name, "I32") == 0) return (int)TG_I32;
    return s->kind == FLOAT16 || s->kind == BFLOAT16 || s->kind == FLOAT32 ? (int)TG_F32 : (int)TG_F64;
}

int64_t tgi_checkpoint_first_unrepresentable(const char *dtype, const uint8_t *src, int64_t count, tg_dtype dst,
                                             char *value_text, size_t value_size)
{
    const stored_dtype *s = find_stored_dtype(dtype);
    if (!s || always_representable(s, dst)) return -1; /* no scan needed */
    for (int64_t i = 0; i < count; ++i) {
        element e = read_element(s, src + (size_t)i * (size_t)s->bytes);
        if (representable(e, dst)) continue;
        if (e.is_integer)
            snprintf(value_text, value_size, "%s%llu", e.negative ? "-" : "", (unsigned long long)e.magnitude);
        else
            snprintf(value_text, value_size, "%.17g", e.value);
        return i;
    }
    return -1;
}

void tgi_checkpoint_convert(void *dst, tg_dtype dst_dtype, const uint8_t *src, const char *dtype, int64_t count)
{
    const stored_dtype *s = find_stored_dtype(dtype);
    if (!s) return;
    for (int64_t i = 0; i < count; ++i) {
        element e = read_element(s, src + (size_t)i * (size_t)s->bytes);
        if (dst_dtype == TG_I64 || dst_dtype == TG_I32) { /* checked: a whole number in range */
            int64_t v = e.is_integer ? (e.negative ? (int64_t)(0 - e.magnitude) : (int64_t)e.magnitude)
                                     : (int64_t)e.value;
            if (dst_dtype == TG_I64)
                ((int64_t *)dst)[i] = v;
            else
                ((int32_t *)dst)[i] = (int32_t)v;
        } else if (dst_dtype == TG_F32) {
            /* An integer that fits is converted exactly; a BF16 / F16 / F32
             * value is a float already; an F64 rounds to nearest even. */
            ((float *)dst)[i] = e.is_integer ? (e.negative ? -(float)e.magnitude : (float)e.magnitude)
                                             : (float)e.value;
        } else {
            ((double *)dst)[i] = element_as_double(e);
        }
    }
}
