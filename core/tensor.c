/* core/tensor.c — persistent tensors: creation, element access, conversion.
 * (Tape tensors are made by core/tape.c; printing is in core/print.c.) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/tape_internal.h"
#include "core/threadpool.h"
#include "core/tensor_internal.h"
#include "tapegrad/tensor.h"

#define TG_DATA_ALIGN 64

size_t tg_dtype_size(tg_dtype dtype) {
    switch (dtype) {
    case TG_F32: return sizeof(float);
    case TG_F64: return sizeof(double);
    case TG_I64: return sizeof(int64_t);
    case TG_I32: return sizeof(int32_t);
    }
    /* 0, not a guess: a size used to allocate or copy must not be made up. */
    tg_error_report(TG_ERR_DTYPE, "tg_dtype_size", "unknown dtype %d", (int)dtype);
    return 0;
}

const char *tg_dtype_name(tg_dtype dtype) {
    switch (dtype) {
    case TG_F32: return "float32";
    case TG_F64: return "float64";
    case TG_I64: return "int64";
    case TG_I32: return "int32";
    }
    return "unknown";
}

char *tg_shape_string(char *buf, size_t size, int rank, const int64_t *shape) {
    if (!buf || size == 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_shape_string", "buf is NULL or size is 0 (size %zu)", size);
        return buf;
    }
    buf[0] = '\0';
    if (rank < 0 || rank > TG_MAX_RANK || (rank > 0 && !shape)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_shape_string", "need rank in 0..%d and a shape, got rank %d%s",
                        TG_MAX_RANK, rank, rank > 0 && !shape ? " with a NULL shape" : "");
        return buf;
    }
    size_t used = 0;
    int n = snprintf(buf, size, "(");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < rank && used < size; i++) {
        n = snprintf(buf + used, size - used, i ? ",%lld" : "%lld", (long long)shape[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, ")");
    return buf;
}

tg_status tg_shape_validate(const char *function, int rank, const int64_t *shape, tg_dtype dtype,
                            int64_t *numel) {
    if (!tg_dtype_known(dtype))
        return tg_error_report(TG_ERR_DTYPE, function, "unknown dtype %d", (int)dtype);
    if (rank < 0 || rank > TG_MAX_RANK)
        return tg_error_report(TG_ERR_SHAPE, function, "rank %d outside 0..%d", rank, TG_MAX_RANK);
    if (rank > 0 && !shape)
        return tg_error_report(TG_ERR_ARGUMENT, function, "shape is NULL for rank %d", rank);
    if (!numel) return tg_error_report(TG_ERR_ARGUMENT, function, "numel is NULL");
    uint64_t limit = tgi_shape_size_limit(tg_dtype_size(dtype));
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) {
            char text[160];
            return tg_error_report(TG_ERR_SHAPE, function, "negative size %lld in axis %d of shape %s",
                                   (long long)shape[i], i, tg_shape_string(text, sizeof text, rank, shape));
        }
    }
    if (!tgi_shape_sizes_fit(rank, shape, limit)) {
        char text[160];
        return tg_error_report(TG_ERR_MEMORY, function,
                               "shape %s has too many elements: the product of its non-zero sizes (the element "
                               "count or a stride) exceeds %llu",
                               tg_shape_string(text, sizeof text, rank, shape), (unsigned long long)limit);
    }
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= shape[i];
    *numel = count;
    return TG_OK;
}

uint64_t tgi_shape_size_limit(size_t element_size) {
    uint64_t limit = (uint64_t)(SIZE_MAX / (element_size ? element_size : 1));
    return limit > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : limit;
}

bool tgi_shape_sizes_fit(int rank, const int64_t *shape, uint64_t limit) {
    uint64_t product = 1;
    for (int i = 0; i < rank; i++) {
        uint64_t s = (uint64_t)shape[i];
        if (s == 0) continue;
        if (product > limit / s) return false;
        product *= s;
    }
    return true;
}

/* Whether v is a whole number in the range of the integer dtype (false for
 * NaN and infinities). */
static bool integer_value_fits(tg_dtype dtype, double v) {
    double limit = dtype == TG_I64 ? 0x1p63 : 0x1p31;
    return v == trunc(v) && v >= -limit && v < limit;
}

tg_status tgi_integer_value_check(const char *function, const char *what, tg_dtype dtype, double v) {
    if (!tg_dtype_is_integer(dtype) || integer_value_fits(dtype, v)) return TG_OK;
    return tg_error_report(TG_ERR_ARGUMENT, function, "%s %.17g is not a whole number that %s holds", what, v,
                           tg_dtype_name(dtype));
}

void tgi_tensor_set_shape(tg_tensor *t, int rank, const int64_t *shape) {
    t->rank = rank;
    int64_t stride = 1;
    for (int i = TG_MAX_RANK - 1; i >= 0; i--) {
        if (i >= rank) {
            t->shape[i] = 0;
            t->strides[i] = 0;
            continue;
        }
        t->shape[i] = shape[i];
        t->strides[i] = stride;
        stride *= shape[i];
    }
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= shape[i];
    t->numel = numel;
}

tg_status tg_tensor_check(const char *function, const char *what, const tg_tensor *t) {
    if (!t) return tg_error_null_tensor(function, "%s is NULL", what);
    if (t->tape && t->generation != t->tape->generation)
        return tg_error_report(TG_ERR_TAPE, function,
                               "%s is a stale tensor: its tape was reset after it was made", what);
    return TG_OK;
}

void tg_tensor_changed(const tg_tensor *t) {
    if (!t) {
        tg_error_null_tensor("tg_tensor_changed", "t is NULL");
        return;
    }
    tgi_tensor_changed(t);
}

static tg_tensor *persistent_new(const char *function, tg_dtype dtype, int rank, const int64_t *shape) {
    int64_t numel = 0;
    if (tg_shape_validate(function, rank, shape, dtype, &numel) != TG_OK) return NULL;
    tg_tensor *t = calloc(1, sizeof *t);
    size_t bytes = (size_t)numel * tg_dtype_size(dtype);
    size_t rounded = (bytes + TG_DATA_ALIGN - 1) / TG_DATA_ALIGN * TG_DATA_ALIGN;
    void *data = t && rounded >= bytes ? aligned_alloc(TG_DATA_ALIGN, rounded ? rounded : TG_DATA_ALIGN) : NULL;
    if (!t || !data) {
        free(t);
        free(data);
        char text[160];
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %zu bytes for shape %s", bytes,
                        tg_shape_string(text, sizeof text, rank, shape));
        return NULL;
    }
    t->dtype = dtype;
    tgi_tensor_set_shape(t, rank, shape);
    t->data = data;
    t->owns_data = true;
    return t;
}

tg_tensor *tg_empty(tg_dtype dtype, int rank, const int64_t *shape) {
    return persistent_new("tg_empty", dtype, rank, shape);
}

static void fill(tg_tensor *t, double value) {
    if (t->dtype == TG_F32) {
        float *p = t->data;
        for (int64_t i = 0; i < t->numel; i++) p[i] = (float)value;
    } else if (t->dtype == TG_F64) {
        double *p = t->data;
        for (int64_t i = 0; i < t->numel; i++) p[i] = value;
    } else {
        for (int64_t i = 0; i < t->numel; i++) tg_store(t, i, value);
    }
}

static tg_tensor *filled(const char *function, tg_dtype dtype, int rank, const int64_t *shape, double value) {
    if (tgi_integer_value_check(function, "value", dtype, value) != TG_OK) return NULL;
    tg_tensor *t = persistent_new(function, dtype, rank, shape);
    if (t) fill(t, value);
    return t;
}

tg_tensor *tg_zeros(tg_dtype dtype, int rank, const int64_t *shape) {
    return filled("tg_zeros", dtype, rank, shape, 0.0);
}
tg_tensor *tg_ones(tg_dtype dtype, int rank, const int64_t *shape) {
    return filled("tg_ones", dtype, rank, shape, 1.0);
}
tg_tensor *tg_full(tg_dtype dtype, int rank, const int64_t *shape, double value) {
    return filled("tg_full", dtype, rank, shape, value);
}
tg_tensor *tg_scalar(tg_dtype dtype, double value) { return filled("tg_scalar", dtype, 0, NULL, value); }

tg_tensor *tg_from_array(tg_dtype dtype, int rank, const int64_t *shape, const void *data) {
    tg_tensor *t = persistent_new("tg_from_array", dtype, rank, shape);
    if (!t) return NULL;
    if (!data && t->numel > 0) {
        tg_free(t);
        tg_error_report(TG_ERR_ARGUMENT, "tg_from_array", "data is NULL");
        return NULL;
    }
    if (t->numel > 0) memcpy(t->data, data, (size_t)t->numel * tg_dtype_size(dtype));
    return t;
}

tg_tensor *tg_from_doubles(tg_dtype dtype, int rank, const int64_t *shape, const double *values) {
    tg_tensor *t = persistent_new("tg_from_doubles", dtype, rank, shape);
    if (!t) return NULL;
    if (!values && t->numel > 0) {
        tg_free(t);
        tg_error_report(TG_ERR_ARGUMENT, "tg_from_doubles", "values is NULL");
        return NULL;
    }
    for (int64_t i = 0; i < t->numel; i++) {
        if (tg_dtype_is_integer(dtype) && !integer_value_fits(dtype, values[i])) {
            char what[48];
            snprintf(what, sizeof what, "values[%lld]", (long long)i);
            tgi_integer_value_check("tg_from_doubles", what, dtype, values[i]);
            tg_free(t);
            return NULL;
        }
        tg_store(t, i, values[i]);
    }
    return t;
}

tg_tensor *tg_arange(tg_dtype dtype, double start, double stop, double step) {
    if (!(step != 0.0) || !isfinite(step) || !isfinite(start) || !isfinite(stop)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_arange", "need finite start/stop and step != 0, got start=%g stop=%g step=%g",
                        start, stop, step);
        return NULL;
    }
    double span = ceil((stop - start) / step);
    /* Checked before the conversion: a double beyond int64_t does not convert. */
    if (!(span < 0x1p62)) {
        tg_error_report(TG_ERR_MEMORY, "tg_arange", "start=%g stop=%g step=%g would give %g elements", start, stop,
                        step, span);
        return NULL;
    }
    int64_t count = span > 0 ? (int64_t)span : 0;
    tg_tensor *t = persistent_new("tg_arange", dtype, 1, &count);
    if (!t) return NULL;
    for (int64_t i = 0; i < count; i++) {
        double v = start + (double)i * step;
        if (tgi_integer_value_check("tg_arange", "value", dtype, v) != TG_OK) {
            tg_free(t);
            return NULL;
        }
        tg_store(t, i, v);
    }
    return t;
}

tg_tensor *tg_linspace(tg_dtype dtype, double start, double stop, int64_t count) {
    if (count < 1 || !isfinite(start) || !isfinite(stop)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_linspace", "need count >= 1 and finite ends, got start=%g stop=%g count=%lld",
                        start, stop, (long long)count);
        return NULL;
    }
    tg_tensor *t = persistent_new("tg_linspace", dtype, 1, &count);
    if (!t) return NULL;
    for (int64_t i = 0; i < count; i++) {
        /* The last value is exactly `stop`, as numpy's. */
        double v = count == 1 ? start : start + (stop - start) * (double)i / (double)(count - 1);
        v = i == count - 1 && count > 1 ? stop : v;
        if (tgi_integer_value_check("tg_linspace", "value", dtype, v) != TG_OK) {
            tg_free(t);
            return NULL;
        }
        tg_store(t, i, v);
    }
    return t;
}

tg_tensor *tg_clone(const tg_tensor *t) {
    if (tg_tensor_check("tg_clone", "t", t) != TG_OK) return NULL;
    return tg_from_array(t->dtype, t->rank, t->shape, t->data);
}

void tg_free(tg_tensor *t) {
    if (!t) return;
    if (t->tape) {
        tg_error_report(TG_ERR_TAPE, "tg_free", "the tensor belongs to a tape; tg_tape_reset releases it");
        return;
    }
    if (t->grad) tg_free(t->grad);
    if (t->grad_spare) tg_free(t->grad_spare);
    if (t->owns_data) free(t->data);
    free(t);
}

tg_status tg_set_requires_grad(tg_tensor *t, bool requires_grad) {
    tg_status s = tg_tensor_check("tg_set_requires_grad", "t", t);
    if (s != TG_OK) return s;
    if (t->tape)
        return tg_error_report(TG_ERR_TAPE, "tg_set_requires_grad",
                               "only persistent tensors can be marked; this one belongs to a tape");
    if (requires_grad && tg_dtype_is_integer(t->dtype))
        return tg_error_report(TG_ERR_DTYPE, "tg_set_requires_grad",
                               "an %s tensor has no gradient: only float32 and float64 tensors can require one",
                               tg_dtype_name(t->dtype));
    t->requires_grad = requires_grad;
    return TG_OK;
}

const tg_tensor *tg_grad(const tg_tensor *t) {
    if (tg_tensor_check("tg_grad", "t", t) != TG_OK) return NULL;
    return t->grad;
}

/* Zeroes bytes [begin, end) of a gradient: the memset of a large parameter's
 * gradient is split over the pool (each piece is the same zero bytes, so the
 * split cannot change the result). */
static void zero_bytes_range(void *ctx, int64_t begin, int64_t end) {
    memset((char *)ctx + begin, 0, (size_t)(end - begin));
}

void tg_zero_grad(tg_tensor *t) {
    if (tg_tensor_check("tg_zero_grad", "t", t) != TG_OK) return;
    if (!t->grad) return;
    if (t->tape) {
        t->grad = NULL; /* tape gradients are arena memory: just forget it */
        return;
    }
    /* A byte costs about a quarter of a float add's element. */
    int64_t bytes = t->grad->numel * (int64_t)tg_dtype_size(t->grad->dtype);
    tg_parallel_range(bytes, 0.25, zero_bytes_range, t->grad->data);
    tgi_tensor_changed(t->grad);
}

void tg_set_grad_to_none(tg_tensor *t) {
    if (tg_tensor_check("tg_set_grad_to_none", "t", t) != TG_OK) return;
    if (!t->grad) return;
    if (t->tape || t->grad->tape) { /* arena memory: the tape releases it */
        t->grad = NULL;
        return;
    }
    tg_free(t->grad_spare); /* a second gradient made while one was spare */
    t->grad_spare = t->grad;
    t->grad = NULL;
}

tg_tensor *tgi_leaf_grad_storage(tg_tensor *leaf) {
    tg_tensor *spare = leaf->grad_spare;
    leaf->grad_spare = NULL;
    /* The spare was .grad, which a caller may have replaced by anything. */
    if (spare && (spare->tape || spare->dtype != leaf->dtype || !tg_shapes_equal(spare, leaf))) {
        if (!spare->tape) tg_free(spare);
        spare = NULL;
    }
    leaf->grad = spare ? spare : tg_empty(leaf->dtype, leaf->rank, leaf->shape);
    return leaf->grad;
}

/* ---- element access ---- */

static bool flat_index_of(const char *function, const tg_tensor *t, const int64_t *index, int64_t *flat) {
    if (tg_tensor_check(function, "t", t) != TG_OK) return false;
    if (t->rank > 0 && !index) {
        tg_error_report(TG_ERR_ARGUMENT, function, "index is NULL");
        return false;
    }
    int64_t f = 0;
    for (int i = 0; i < t->rank; i++) {
        if (index[i] < 0 || index[i] >= t->shape[i]) {
            char text[160];
            tg_error_report(TG_ERR_ARGUMENT, function, "index %lld out of range for axis %d of shape %s",
                            (long long)index[i], i, tg_shape_string(text, sizeof text, t->rank, t->shape));
            return false;
        }
        f += index[i] * t->strides[i];
    }
    if (t->numel == 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "the tensor is empty");
        return false;
    }
    *flat = f;
    return true;
}

static bool flat_in_range(const char *function, const tg_tensor *t, int64_t i) {
    if (tg_tensor_check(function, "t", t) != TG_OK) return false;
    if (i < 0 || i >= t->numel) {
        tg_error_report(TG_ERR_ARGUMENT, function, "flat index %lld out of range [0, %lld)", (long long)i,
                        (long long)t->numel);
        return false;
    }
    return true;
}

/* tgi_integer_value_check for the value tg_set / tg_set_flat write. */
static bool settable(const char *function, const tg_tensor *t, double value) {
    return tgi_integer_value_check(function, "value", t->dtype, value) == TG_OK;
}

double tg_get(const tg_tensor *t, const int64_t *index) {
    int64_t f;
    return flat_index_of("tg_get", t, index, &f) ? tg_load(t, f) : NAN;
}

tg_status tg_set(tg_tensor *t, const int64_t *index, double value) {
    int64_t f;
    if (!flat_index_of("tg_set", t, index, &f) || !settable("tg_set", t, value)) return tg_last_error();
    tg_store(t, f, value);
    tgi_tensor_changed(t);
    return TG_OK;
}

double tg_get_flat(const tg_tensor *t, int64_t i) { return flat_in_range("tg_get_flat", t, i) ? tg_load(t, i) : NAN; }

tg_status tg_set_flat(tg_tensor *t, int64_t i, double value) {
    if (!flat_in_range("tg_set_flat", t, i) || !settable("tg_set_flat", t, value)) return tg_last_error();
    tg_store(t, i, value);
    tgi_tensor_changed(t);
    return TG_OK;
}

double tg_item(const tg_tensor *t) {
    if (tg_tensor_check("tg_item", "t", t) != TG_OK) return NAN;
    if (t->numel != 1) {
        char text[160];
        tg_error_report(TG_ERR_SHAPE, "tg_item", "needs exactly one element, shape is %s",
                        tg_shape_string(text, sizeof text, t->rank, t->shape));
        return NAN;
    }
    return tg_load(t, 0);
}

float *tg_data_f32(const tg_tensor *t) {
    if (tg_tensor_check("tg_data_f32", "t", t) != TG_OK) return NULL;
    if (t->dtype != TG_F32) {
        tg_error_report(TG_ERR_DTYPE, "tg_data_f32", "tensor is %s", tg_dtype_name(t->dtype));
        return NULL;
    }
    tgi_tensor_changed(t); /* the caller may write through the pointer */
    return t->data;
}

double *tg_data_f64(const tg_tensor *t) {
    if (tg_tensor_check("tg_data_f64", "t", t) != TG_OK) return NULL;
    if (t->dtype != TG_F64) {
        tg_error_report(TG_ERR_DTYPE, "tg_data_f64", "tensor is %s", tg_dtype_name(t->dtype));
        return NULL;
    }
    tgi_tensor_changed(t); /* the caller may write through the pointer */
    return t->data;
}

/* The checks of the typed views, under `function`'s name; true if `t` may
 * be viewed as `dtype`. */
static bool viewable_as(const char *function, const tg_tensor *t, tg_dtype dtype) {
    if (tg_tensor_check(function, "t", t) != TG_OK) return false;
    if (t->dtype != dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "tensor is %s", tg_dtype_name(t->dtype));
        return false;
    }
    return true;
}

const float *tg_const_data_f32(const tg_tensor *t) {
    return viewable_as("tg_const_data_f32", t, TG_F32) ? t->data : NULL;
}

const double *tg_const_data_f64(const tg_tensor *t) {
    return viewable_as("tg_const_data_f64", t, TG_F64) ? t->data : NULL;
}

int64_t *tg_data_i64(const tg_tensor *t) {
    if (!viewable_as("tg_data_i64", t, TG_I64)) return NULL;
    tg_tensor_changed(t); /* the caller may write through the pointer */
    return t->data;
}

int32_t *tg_data_i32(const tg_tensor *t) {
    if (!viewable_as("tg_data_i32", t, TG_I32)) return NULL;
    tg_tensor_changed(t); /* the caller may write through the pointer */
    return t->data;
}

const int64_t *tg_const_data_i64(const tg_tensor *t) {
    return viewable_as("tg_const_data_i64", t, TG_I64) ? t->data : NULL;
}

const int32_t *tg_const_data_i32(const tg_tensor *t) {
    return viewable_as("tg_const_data_i32", t, TG_I32) ? t->data : NULL;
}

tg_status tg_copy_to_doubles(const tg_tensor *t, double *out) {
    tg_status s = tg_tensor_check("tg_copy_to_doubles", "t", t);
    if (s != TG_OK) return s;
    if (!out && t->numel > 0) return tg_error_report(TG_ERR_ARGUMENT, "tg_copy_to_doubles", "out is NULL");
    for (int64_t i = 0; i < t->numel; i++) out[i] = tg_load(t, i);
    return TG_OK;
}

/* Whether a float element converts into an integer dtype: truncated toward
 * zero, it must lie in the dtype's range (NaN and infinities do not). */
static bool truncates_into(double v, tg_dtype dtype) {
    double limit = dtype == TG_I64 ? 0x1p63 : 0x1p31;
    return v > -limit - 1.0 && v < limit;
}

tg_status tgi_convert_elements(const char *function, tg_tensor *dst, const tg_tensor *src) {
    int64_t n = src->numel;
    if (dst->dtype == TG_F32 && src->dtype == TG_F64) {
        const double *s = src->data;
        float *d = dst->data;
        for (int64_t i = 0; i < n; i++) d[i] = (float)s[i];
    } else if (dst->dtype == TG_F64 && src->dtype == TG_F32) {
        const float *s = src->data;
        double *d = dst->data;
        for (int64_t i = 0; i < n; i++) d[i] = (double)s[i];
    } else if (tg_dtype_is_float(dst->dtype)) { /* from an integer: rounds to nearest */
        for (int64_t i = 0; i < n; i++) tg_store(dst, i, (double)tg_load_index(src, i));
    } else if (tg_dtype_is_integer(src->dtype)) { /* int64 <-> int32 */
        for (int64_t i = 0; i < n; i++) {
            int64_t v = tg_load_index(src, i);
            if (dst->dtype == TG_I32 && (v < INT32_MIN || v > INT32_MAX))
                return tg_error_report(TG_ERR_ARGUMENT, function, "element %lld is %lld, outside the range of int32",
                                       (long long)i, (long long)v);
            if (dst->dtype == TG_I32)
                ((int32_t *)dst->data)[i] = (int32_t)v;
            else
                ((int64_t *)dst->data)[i] = v;
        }
    } else { /* float to integer: truncation toward zero */
        for (int64_t i = 0; i < n; i++) {
            double v = tg_load(src, i);
            if (!truncates_into(v, dst->dtype))
                return tg_error_report(TG_ERR_ARGUMENT, function,
                                       "element %lld is %g, which %s cannot hold (truncated toward zero)",
                                       (long long)i, v, tg_dtype_name(dst->dtype));
            tg_store(dst, i, v);
        }
    }
    return TG_OK;
}

tg_status tg_copy_into(tg_tensor *dst, const tg_tensor *src) {
    tg_status s = tg_tensor_check("tg_copy_into", "dst", dst);
    if (s == TG_OK) s = tg_tensor_check("tg_copy_into", "src", src);
    if (s != TG_OK) return s;
    if (dst->tape)
        return tg_error_report(TG_ERR_TAPE, "tg_copy_into",
                               "dst belongs to a tape; only persistent tensors are written in place");
    if (!tg_same_shape(dst, src)) {
        char a[160], b[160];
        return tg_error_report(TG_ERR_SHAPE, "tg_copy_into", "shapes differ: dst %s, src %s",
                               tg_shape_string(a, sizeof a, dst->rank, dst->shape),
                               tg_shape_string(b, sizeof b, src->rank, src->shape));
    }
    if (dst->dtype == src->dtype)
        memmove(dst->data, src->data, (size_t)src->numel * tg_dtype_size(src->dtype));
    else if (tgi_convert_elements("tg_copy_into", dst, src) != TG_OK)
        return tg_last_error();
    tg_tensor_changed(dst);
    return TG_OK;
}

bool tg_same_shape(const tg_tensor *a, const tg_tensor *b) {
    if (!a || !b || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}
