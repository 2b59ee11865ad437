/* tests/core/test_bad_arguments.c — every public function refuses bad
 * arguments, in the error-returning mode.
 *
 * One table: each row names a public function, says what is wrong with the
 * call, and points at a small function that makes that call and returns true
 * when the result is the documented error value (NULL, NaN, -1, a status...).
 * The walker then checks the reported tg_status and that the message names
 * the function and the offending value or shape. Every row runs as its own
 * Criterion test (in its own process), so a crash fails that row only and
 * every failing row is listed. Whatever a row allocates is registered with
 * keep_*() and released by the .fini fixture, so LeakSanitizer sees any leak
 * of the library itself.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../test_helpers.h"
#include "tapegrad.h"

typedef struct bad_call {
    const char *function; /* the public function; the message must name it     */
    const char *bad;      /* what is wrong with the call, in words              */
    bool (*call)(void);   /* makes the call; true if it returned its error value */
    tg_status status;     /* the status it must report                          */
    const char *fragment; /* the message must contain this (value, shape, name) */
    /* A row whose status is TG_OK records a call documented as no error: it
     * must return its "nothing" value (NULL, 0) and report nothing. */
} bad_call;

/* ---- what a row allocates, released after the row ---- */

enum { MAX_KEPT = 64 };
typedef enum kept_kind { KEPT_TENSOR, KEPT_MODEL, KEPT_OPTIMIZER, KEPT_DATASET, KEPT_SCALER,
                         KEPT_BATCHES, KEPT_CHECKPOINT, KEPT_TAPE, KEPT_LAYER, KEPT_IDX } kept_kind;
static struct { kept_kind kind; void *object; } kept[MAX_KEPT];
static int n_kept;
static char temp_dir[64];

static void *keep(kept_kind kind, void *object)
{
    cr_assert_not_null(object, "setup failed: %s", tg_last_error_message());
    cr_assert_lt(n_kept, MAX_KEPT);
    kept[n_kept].kind = kind;
    kept[n_kept].object = object;
    n_kept++;
    return object;
}

static void release_all(void)
{
    tg_tape_use(NULL);
    reset_tape();
    for (int i = n_kept - 1; i >= 0; i--) {
        void *o = kept[i].object;
        switch (kept[i].kind) {
        case KEPT_TENSOR: tg_free(o); break;
        case KEPT_MODEL: tg_model_free(o); break;
        case KEPT_OPTIMIZER: tg_optimizer_free(o); break;
        case KEPT_DATASET: tg_dataset_free(o); break;
        case KEPT_SCALER: tg_scaler_free(o); break;
        case KEPT_BATCHES: tg_batches_free(o); break;
        case KEPT_CHECKPOINT: tg_checkpoint_close(o); break;
        case KEPT_TAPE: tg_tape_free(o); break;
        case KEPT_LAYER: tg_layer_free(o); break;
        case KEPT_IDX: tg_idx_free(o); break;
        }
    }
    n_kept = 0;
    if (temp_dir[0]) remove_temp_dir(temp_dir);
    temp_dir[0] = '\0';
    abort_mode();
}

/* A path in this row's temporary directory (made on first use). */
static const char *temp_path(const char *name)
{
    static char path[128];
    if (!temp_dir[0]) make_temp_dir(temp_dir, sizeof temp_dir);
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

/* ---- tensors the rows use ---- */

static const int64_t shape_2x3[] = {2, 3};

static tg_tensor *keep_tensor(tg_tensor *t) { return keep(KEPT_TENSOR, t); }

/* A persistent (rows, cols) tensor holding 0, 1, 2, ... */
static tg_tensor *matrix_of(tg_dtype dtype, int64_t rows, int64_t cols)
{
    int64_t shape[] = {rows, cols};
    tg_tensor *t = keep_tensor(tg_zeros(dtype, 2, shape));
    for (int64_t i = 0; i < t->numel; i++) tg_set_flat(t, i, (double)i);
    return t;
}
static tg_tensor *mat(int64_t rows, int64_t cols) { return matrix_of(TG_F64, rows, cols); }
static tg_tensor *mat32(int64_t rows, int64_t cols) { return matrix_of(TG_F32, rows, cols); }
static tg_tensor *vec(int64_t n) { return keep_tensor(tg_zeros(TG_F64, 1, &n)); }
static tg_tensor *scalar(double value) { return keep_tensor(tg_scalar(TG_F64, value)); }

/* A (rows, cols) parameter (requires_grad). */
static tg_tensor *par(int64_t rows, int64_t cols)
{
    tg_tensor *t = mat(rows, cols);
    tg_set_requires_grad(t, true);
    return t;
}

/* A parameter of the same shape with a gradient of 1 everywhere. */
static tg_tensor *par_with_grad(int64_t rows, int64_t cols)
{
    tg_tensor *t = par(rows, cols);
    cr_assert_eq(tg_backward(tg_sum(t), NULL), TG_OK, "%s", tg_last_error_message());
    reset_tape();
    return t;
}

/* A (2,3) tensor on the current tape that requires a gradient. */
static tg_tensor *taped(void)
{
    tg_tensor *t = tg_neg(par(2, 3));
    cr_assert_not_null(t);
    return t;
}

/* A tape tensor whose tape has been reset since. The tape is a private one:
 * the current tape would hand the stale tensor's memory to the next tensor,
 * after which its staleness can no longer be seen. */
static tg_tensor *stale(void)
{
    tg_tape *own = keep(KEPT_TAPE, tg_tape_new());
    tg_tensor *x = par(2, 3);
    tg_tape *previous = tg_tape_use(own);
    tg_tensor *t = tg_neg(x);
    tg_tape_use(previous);
    cr_assert_not_null(t);
    tg_tape_reset(own);
    return t;
}

/* A (2,3) tensor on a second tape (not the current one). */
static tg_tensor *foreign(void)
{
    tg_tape *other = keep(KEPT_TAPE, tg_tape_new());
    tg_tensor *x = par(2, 3);
    tg_tape *previous = tg_tape_use(other);
    tg_tensor *t = tg_neg(x);
    tg_tape_use(previous);
    cr_assert_not_null(t);
    return t;
}

static bool is_nan(double x) { return isnan(x); }

/* ====================================================================
 * error.h, threads.h
 * ==================================================================== */

static bool set_error_mode_unknown(void) { return tg_set_error_mode((tg_error_mode)7) == TG_ERRORS_RETURN; }
static bool set_num_threads_zero(void) { return tg_set_num_threads(0) == -1; }
static bool set_num_threads_negative(void) { return tg_set_num_threads(-3) == -1; }

/* tg_parallel_range / tg_parallel_items: "returned its error value" means fn
 * never ran. */
static int range_calls;
static void count_range(void *ctx, int64_t begin, int64_t end) { (void)ctx, (void)begin, (void)end, range_calls++; }
static bool parallel_range_null_fn(void) { tg_parallel_range(100, 1.0, NULL, NULL); return true; }
static bool parallel_range_negative_cost(void) { range_calls = 0; tg_parallel_range(100, -2.0, count_range, NULL); return range_calls == 0; }
static bool parallel_items_nan_cost(void) { range_calls = 0; tg_parallel_items(100, NAN, count_range, NULL); return range_calls == 0; }

/* ====================================================================
 * kernels.h: "returned its error value" means C is as it was.
 * ==================================================================== */

static float gemm_a[64], gemm_b[64], gemm_c[64];
static double gemm_a64[64], gemm_b64[64], gemm_c64[64];

/* C filled with 7s before the call; true if it still is after. */
static bool c_untouched(void) {
    for (int i = 0; i < 64; i++)
        if (gemm_c[i] != 7.0f || gemm_c64[i] != 7.0) return false;
    return true;
}
static void fill_c(void) {
    for (int i = 0; i < 64; i++) gemm_c[i] = 7.0f, gemm_c64[i] = 7.0, gemm_a[i] = gemm_b[i] = 1.0f, gemm_a64[i] = gemm_b64[i] = 1.0;
}
static bool gemm_negative_k(void) { fill_c(); tg_gemm_f32(false, false, 2, 2, -4, 1.0f, gemm_a, 4, gemm_b, 2, 0.0f, gemm_c, 2); return c_untouched(); }
static bool gemm_ldc_short(void) { fill_c(); tg_gemm_f32(false, false, 2, 5, 3, 1.0f, gemm_a, 3, gemm_b, 5, 0.0f, gemm_c, 4); return c_untouched(); }
static bool gemm_lda_short(void) { fill_c(); tg_gemm_f32(false, false, 2, 2, 6, 1.0f, gemm_a, 5, gemm_b, 2, 0.0f, gemm_c, 2); return c_untouched(); }
static bool gemm_lda_short_transposed(void) { fill_c(); tg_gemm_f32(true, false, 9, 2, 3, 1.0f, gemm_a, 3, gemm_b, 2, 0.0f, gemm_c, 2); return c_untouched(); }
static bool gemm_ldb_short_transposed(void) { fill_c(); tg_gemm_f64(false, true, 2, 3, 11, 1.0, gemm_a64, 11, gemm_b64, 10, 0.0, gemm_c64, 3); return c_untouched(); }
static bool gemm_null_a(void) { fill_c(); tg_gemm_f64(false, false, 2, 2, 3, 1.0, NULL, 3, gemm_b64, 2, 0.0, gemm_c64, 2); return c_untouched(); }
static bool gemm_null_c(void) { fill_c(); tg_gemm_f32(false, false, 2, 2, 3, 1.0f, gemm_a, 3, gemm_b, 2, 0.0f, NULL, 2); return c_untouched(); }
/* Documented as no error: with k == 0, A and B are not read and may be NULL. */
static bool gemm_k_zero_null_operands(void) {
    fill_c();
    tg_gemm_f32(false, false, 2, 3, 0, 1.0f, NULL, 0, NULL, 0, 0.5f, gemm_c, 3);
    return gemm_c[0] == 3.5f && gemm_c[5] == 3.5f && gemm_c[6] == 7.0f; /* C = 0.5 C, 2 x 3 only */
}
/* tg_gemm_batch_*: 2x2 items, C untouched on error. */
static bool gemm_batch_negative_count(void) { fill_c(); tg_gemm_batch_f32(false, false, 2, 2, 2, 1.0f, gemm_a, 2, 4, gemm_b, 2, 4, 0.0f, gemm_c, 2, 4, -3); return c_untouched(); }
static bool gemm_batch_negative_stride_a(void) { fill_c(); tg_gemm_batch_f64(false, false, 2, 2, 2, 1.0, gemm_a64, 2, -4, gemm_b64, 2, 4, 0.0, gemm_c64, 2, 4, 2); return c_untouched(); }
static bool gemm_batch_overlapping_c(void) { fill_c(); tg_gemm_batch_f32(false, false, 2, 2, 2, 1.0f, gemm_a, 2, 4, gemm_b, 2, 4, 0.0f, gemm_c, 2, 3, 2); return c_untouched(); }
static bool gemm_batch_lda_short(void) { fill_c(); tg_gemm_batch_f64(false, false, 2, 2, 3, 1.0, gemm_a64, 2, 6, gemm_b64, 2, 6, 0.0, gemm_c64, 2, 4, 2); return c_untouched(); }
static bool gemm_batch_null_b(void) { fill_c(); tg_gemm_batch_f32(false, false, 2, 2, 2, 1.0f, gemm_a, 2, 4, NULL, 2, 4, 0.0f, gemm_c, 2, 4, 2); return c_untouched(); }

/* ====================================================================
 * tensor.h
 * ==================================================================== */

static bool empty_rank_negative(void) { return tg_empty(TG_F64, -1, shape_2x3) == NULL; }
static bool empty_rank_9(void)
{
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    return tg_empty(TG_F64, 9, shape) == NULL;
}
static bool empty_null_shape(void) { return tg_empty(TG_F64, 2, NULL) == NULL; }
static bool empty_negative_size(void)
{
    int64_t shape[] = {2, -3};
    return tg_empty(TG_F64, 2, shape) == NULL;
}
static bool empty_overflow_size_t(void)
{
    /* 2^31 * 2^31 = 2^62 elements: fits int64 but not in bytes (8 * 2^62). */
    int64_t shape[] = {INT64_C(1) << 31, INT64_C(1) << 31};
    return tg_empty(TG_F64, 2, shape) == NULL;
}
static bool empty_overflow_int64(void)
{
    /* 2^40 * 2^40 wraps to 0 in 64-bit arithmetic: must not be a 0-byte tensor. */
    int64_t shape[] = {INT64_C(1) << 40, INT64_C(1) << 40};
    return tg_empty(TG_F32, 2, shape) == NULL;
}
static bool empty_unknown_dtype(void) { return tg_empty((tg_dtype)5, 2, shape_2x3) == NULL; }
static bool zeros_rank_9(void)
{
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    return tg_zeros(TG_F32, 9, shape) == NULL;
}
static bool zeros_overflow(void)
{
    int64_t shape[] = {INT64_MAX, 2};
    return tg_zeros(TG_F64, 2, shape) == NULL;
}
static bool ones_negative_size(void)
{
    int64_t shape[] = {-1};
    return tg_ones(TG_F64, 1, shape) == NULL;
}
static bool ones_null_shape(void) { return tg_ones(TG_F32, 1, NULL) == NULL; }
static bool full_unknown_dtype(void) { return tg_full((tg_dtype)-1, 2, shape_2x3, 1.0) == NULL; }
static bool full_overflow(void)
{
    int64_t shape[] = {INT64_C(1) << 32, INT64_C(1) << 32, 4};
    return tg_full(TG_F64, 3, shape, 1.0) == NULL;
}
static bool scalar_unknown_dtype(void) { return tg_scalar((tg_dtype)7, 1.0) == NULL; }
static bool from_array_null_data(void) { return tg_from_array(TG_F64, 2, shape_2x3, NULL) == NULL; }
static bool from_array_rank_negative(void)
{
    double data[6] = {0};
    return tg_from_array(TG_F64, -2, shape_2x3, data) == NULL;
}
static bool from_doubles_null_values(void) { return tg_from_doubles(TG_F32, 2, shape_2x3, NULL) == NULL; }
static bool from_doubles_negative_size(void)
{
    int64_t shape[] = {3, -2};
    double values[6] = {0};
    return tg_from_doubles(TG_F32, 2, shape, values) == NULL;
}
static bool arange_step_zero(void) { return tg_arange(TG_F64, 0, 1, 0) == NULL; }
static bool arange_nan_stop(void) { return tg_arange(TG_F64, 0, NAN, 1) == NULL; }
static bool arange_too_many(void) { return tg_arange(TG_F64, 0, 1e300, 1) == NULL; }
static bool linspace_count_zero(void) { return tg_linspace(TG_F64, 0, 1, 0) == NULL; }
static bool linspace_count_negative(void) { return tg_linspace(TG_F64, 0, 1, -5) == NULL; }
static bool linspace_inf_start(void) { return tg_linspace(TG_F64, -INFINITY, 1, 4) == NULL; }
static bool linspace_too_many(void) { return tg_linspace(TG_F64, 0, 1, INT64_C(1) << 62) == NULL; }
static bool clone_null(void) { return tg_clone(NULL) == NULL; }
static bool clone_stale(void) { return tg_clone(stale()) == NULL; }
static bool free_tape_tensor(void)
{
    tg_free(taped());
    return true;
}
static bool set_requires_grad_null(void) { return tg_set_requires_grad(NULL, true) != TG_OK; }
static bool set_requires_grad_tape(void) { return tg_set_requires_grad(taped(), false) != TG_OK; }
static bool set_requires_grad_stale(void) { return tg_set_requires_grad(stale(), true) != TG_OK; }
static bool grad_null(void) { return tg_grad(NULL) == NULL; }
static bool grad_stale(void) { return tg_grad(stale()) == NULL; }
static bool zero_grad_null(void)
{
    tg_zero_grad(NULL);
    return true;
}
static bool zero_grad_stale(void)
{
    tg_zero_grad(stale());
    return true;
}
static bool get_null_tensor(void)
{
    int64_t index[] = {0, 0};
    return is_nan(tg_get(NULL, index));
}
static bool get_null_index(void) { return is_nan(tg_get(mat(2, 3), NULL)); }
static bool get_index_too_big(void)
{
    int64_t index[] = {1, 3};
    return is_nan(tg_get(mat(2, 3), index));
}
static bool get_index_negative(void)
{
    int64_t index[] = {-1, 0};
    return is_nan(tg_get(mat(2, 3), index));
}
static bool get_stale(void)
{
    int64_t index[] = {0, 0};
    return is_nan(tg_get(stale(), index));
}
static bool set_index_too_big(void)
{
    int64_t index[] = {2, 0};
    return tg_set(mat(2, 3), index, 1.0) != TG_OK;
}
static bool set_null_tensor(void)
{
    int64_t index[] = {0, 0};
    return tg_set(NULL, index, 1.0) != TG_OK;
}
static bool set_null_index(void) { return tg_set(mat(2, 3), NULL, 1.0) != TG_OK; }
static bool get_flat_too_big(void) { return is_nan(tg_get_flat(mat(2, 3), 6)); }
static bool get_flat_negative(void) { return is_nan(tg_get_flat(mat(2, 3), -1)); }
static bool get_flat_null(void) { return is_nan(tg_get_flat(NULL, 0)); }
static bool set_flat_too_big(void) { return tg_set_flat(mat(2, 3), 7, 1.0) != TG_OK; }
static bool set_flat_stale(void) { return tg_set_flat(stale(), 0, 1.0) != TG_OK; }
static bool item_many(void) { return is_nan(tg_item(mat(2, 3))); }
static bool item_null(void) { return is_nan(tg_item(NULL)); }
static bool data_f32_of_f64(void) { return tg_data_f32(mat(2, 3)) == NULL; }
static bool data_f32_null(void) { return tg_data_f32(NULL) == NULL; }
static bool data_f64_of_f32(void) { return tg_data_f64(mat32(2, 3)) == NULL; }
static bool data_f64_stale(void) { return tg_data_f64(stale()) == NULL; }
static bool const_data_f32_of_f64(void) { return tg_const_data_f32(mat(2, 3)) == NULL; }
static bool const_data_f64_of_f32(void) { return tg_const_data_f64(mat32(2, 3)) == NULL; }
static bool const_data_f64_stale(void) { return tg_const_data_f64(stale()) == NULL; }
static bool copy_to_doubles_null_out(void) { return tg_copy_to_doubles(mat(2, 3), NULL) != TG_OK; }
static bool copy_to_doubles_null(void)
{
    double out[6];
    return tg_copy_to_doubles(NULL, out) != TG_OK;
}
static bool copy_into_shape(void) { return tg_copy_into(mat(2, 3), mat(3, 2)) != TG_OK; }
static bool copy_into_null_src(void) { return tg_copy_into(mat(2, 3), NULL) != TG_OK; }
static bool copy_into_null_dst(void) { return tg_copy_into(NULL, mat(2, 3)) != TG_OK; }
static bool copy_into_tape_dst(void) { return tg_copy_into(taped(), mat(2, 3)) != TG_OK; }
static bool copy_into_stale_src(void) { return tg_copy_into(mat(2, 3), stale()) != TG_OK; }
static bool print_stale(void)
{
    FILE *sink = fopen("/dev/null", "w");
    cr_assert_not_null(sink);
    tg_fprint(sink, stale());
    fclose(sink);
    return true;
}
static bool same_shape_null(void) { return !tg_same_shape(NULL, mat(2, 3)); }
static bool dtype_name_unknown(void) { return strcmp(tg_dtype_name((tg_dtype)7), "unknown") == 0; }
static bool status_name_unknown(void) { return strcmp(tg_status_name((tg_status)99), "unknown error") == 0; }
static bool dtype_size_unknown(void) { return tg_dtype_size((tg_dtype)5) == 0; }
static bool shape_string_null_shape(void)
{
    char buf[32] = "x";
    return tg_shape_string(buf, sizeof buf, 2, NULL) == buf && buf[0] == '\0';
}
static bool shape_string_rank_9(void)
{
    char buf[32] = "x";
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    return tg_shape_string(buf, sizeof buf, 9, shape) == buf && buf[0] == '\0';
}
static bool shape_string_null_buf(void) { return tg_shape_string(NULL, 8, 1, (const int64_t[]){3}) == NULL; }
static bool fprint_null_file(void)
{
    tg_fprint(NULL, mat(2, 3));
    return true;
}

/* ====================================================================
 * random.h
 * ==================================================================== */

static bool rng_next_null(void) { return tg_rng_next_u64(NULL) == 0; }
static bool rng_uniform_null(void) { return is_nan(tg_rng_uniform(NULL)); }
static bool rng_normal_null(void) { return is_nan(tg_rng_normal(NULL)); }
static bool rng_below_zero(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rng_below(&rng, 0) == 0;
}
static bool rng_below_null(void) { return tg_rng_below(NULL, 10) == 0; }
static bool rand_uniform_null_rng(void) { return tg_rand_uniform(NULL, TG_F64, 2, shape_2x3, 0, 1) == NULL; }
static bool rand_uniform_lo_above_hi(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_uniform(&rng, TG_F64, 2, shape_2x3, 2, 1) == NULL;
}
static bool rand_uniform_nan(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_uniform(&rng, TG_F64, 2, shape_2x3, NAN, 1) == NULL;
}
static bool rand_uniform_negative_size(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t shape[] = {-4};
    return tg_rand_uniform(&rng, TG_F64, 1, shape, 0, 1) == NULL;
}
static bool rand_normal_negative_std(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_normal(&rng, TG_F32, 2, shape_2x3, 0, -1) == NULL;
}
static bool rand_normal_inf_mean(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_normal(&rng, TG_F32, 2, shape_2x3, INFINITY, 1) == NULL;
}
static bool rand_normal_null_rng(void) { return tg_rand_normal(NULL, TG_F32, 2, shape_2x3, 0, 1) == NULL; }
static bool rand_normal_rank_9(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    return tg_rand_normal(&rng, TG_F64, 9, shape, 0, 1) == NULL;
}

/* ====================================================================
 * tape.h
 * ==================================================================== */

static bool tape_reset_null(void)
{
    tg_tape_reset(NULL);
    return true;
}
static bool tape_num_nodes_null(void) { return tg_tape_num_nodes(NULL) == 0; }
static bool tape_get_stats_null(void) { return tg_tape_get_stats(NULL).nodes == 0; }
/* Issue 21: a default tape cannot be freed; the stale window's range. */
static bool tape_free_default(void) { tg_tape_free(tg_tape_current()); return tg_tape_current() != NULL; }
static bool stale_window_null_tape(void) { return tg_tape_set_stale_window(NULL, 4) == -1; }
static bool stale_window_negative(void) { return tg_tape_set_stale_window(keep(KEPT_TAPE, tg_tape_new()), -1) == -1; }
static bool stale_window_too_wide(void)
{
    return tg_tape_set_stale_window(keep(KEPT_TAPE, tg_tape_new()), TG_TAPE_MAX_STALE_WINDOW + 1) == -1;
}
static bool backward_null(void) { return tg_backward(NULL, NULL) != TG_OK; }
static bool backward_no_grad(void) { return tg_backward(tg_sum(mat(2, 3)), NULL) != TG_OK; }
static bool backward_persistent_no_grad(void) { return tg_backward(scalar(1), NULL) != TG_OK; }
static bool backward_not_scalar(void) { return tg_backward(taped(), NULL) != TG_OK; }
static bool backward_seed_shape(void) { return tg_backward(taped(), mat(3, 2)) != TG_OK; }
static bool backward_seed_dtype(void) { return tg_backward(taped(), mat32(2, 3)) != TG_OK; }
static bool backward_stale(void) { return tg_backward(tg_sum(stale()), NULL) != TG_OK; }
static bool backward_stale_output(void)
{
    tg_tensor *loss = tg_sum(taped());
    reset_tape();
    return tg_backward(loss, NULL) != TG_OK;
}
static bool backward_stale_seed(void) { return tg_backward(taped(), stale()) != TG_OK; }
static bool gradients_negative_n(void)
{
    tg_tensor *grads[1];
    return tg_gradients(tg_sum(taped()), NULL, -1, NULL, grads, false) != TG_OK;
}
static bool gradients_null_wrt(void)
{
    tg_tensor *grads[1];
    return tg_gradients(tg_sum(taped()), NULL, 1, NULL, grads, false) != TG_OK;
}
static bool gradients_null_grads_out(void)
{
    tg_tensor *w = par(2, 3);
    return tg_gradients(tg_sum(w), NULL, 1, &w, NULL, false) != TG_OK;
}
static bool gradients_null_in_wrt(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *wrt[] = {w, NULL};
    tg_tensor *grads[2];
    return tg_gradients(tg_sum(w), NULL, 2, wrt, grads, false) != TG_OK;
}
static bool gradients_stale_wrt(void)
{
    tg_tensor *s = stale();
    tg_tensor *w = par(2, 3);
    tg_tensor *wrt[] = {w, s};
    tg_tensor *grads[2];
    return tg_gradients(tg_sum(w), NULL, 2, wrt, grads, false) != TG_OK;
}
static bool gradients_null_output(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *grads[1];
    return tg_gradients(NULL, NULL, 1, &w, grads, false) != TG_OK;
}
static bool gradients_no_grad(void)
{
    tg_tensor *w = mat(2, 3);
    tg_tensor *grads[1];
    return tg_gradients(tg_sum(w), NULL, 1, &w, grads, false) != TG_OK;
}
static bool detach_null(void) { return tg_detach(NULL) == NULL; }
static bool detach_stale(void) { return tg_detach(stale()) == NULL; }

/* ====================================================================
 * op.h
 * ==================================================================== */

static bool op_apply_null_op(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_op_apply(NULL, &x, 1, NULL, TG_F64, 2, shape_2x3) == NULL;
}
static bool op_apply_wrong_arity(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_op_apply(tg_find_op("add"), &x, 1, NULL, TG_F64, 2, shape_2x3) == NULL;
}
static bool op_apply_null_inputs(void) { return tg_op_apply(tg_find_op("neg"), NULL, 1, NULL, TG_F64, 2, shape_2x3) == NULL; }
static bool op_apply_bad_out_shape(void)
{
    tg_tensor *x = mat(2, 3);
    int64_t shape[] = {2, -7};
    return tg_op_apply(tg_find_op("neg"), &x, 1, NULL, TG_F64, 2, shape) == NULL;
}
static bool op_apply_out_rank_9(void)
{
    tg_tensor *x = mat(2, 3);
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 6};
    return tg_op_apply(tg_find_op("neg"), &x, 1, NULL, TG_F64, 9, shape) == NULL;
}
static bool op_apply_stale_input(void)
{
    tg_tensor *x = stale();
    return tg_op_apply(tg_find_op("neg"), &x, 1, NULL, TG_F64, 2, shape_2x3) == NULL;
}
static bool builtin_op_negative(void) { return tg_builtin_op(-1) == NULL; }
static bool builtin_op_past_end(void) { return tg_builtin_op(tg_builtin_op_count()) == NULL; }
static bool find_op_null(void) { return tg_find_op(NULL) == NULL; }

/* ====================================================================
 * ops.h
 * ==================================================================== */

static bool add_null_a(void) { return tg_add(NULL, mat(2, 3)) == NULL; }
static bool add_null_b(void) { return tg_add(mat(2, 3), NULL) == NULL; }
static bool add_shapes(void) { return tg_add(mat(2, 3), mat(3, 2)) == NULL; }
static bool add_dtypes(void) { return tg_add(mat(2, 3), mat32(2, 3)) == NULL; }
static bool add_stale(void) { return tg_add(stale(), mat(2, 3)) == NULL; }
static bool add_two_tapes(void) { return tg_add(taped(), foreign()) == NULL; }
static bool sub_shapes(void) { return tg_sub(mat(2, 3), mat(2, 4)) == NULL; }
static bool sub_null_b(void) { return tg_sub(mat(2, 3), NULL) == NULL; }
static bool sub_two_tapes(void) { return tg_sub(foreign(), taped()) == NULL; }
static bool mul_dtypes(void) { return tg_mul(mat32(2, 3), mat(2, 3)) == NULL; }
static bool mul_stale(void) { return tg_mul(mat(2, 3), stale()) == NULL; }
static bool mul_shapes(void) { return tg_mul(vec(4), mat(2, 3)) == NULL; }
static bool div_shapes(void) { return tg_div(mat(3, 2), mat(2, 3)) == NULL; }
static bool div_null_a(void) { return tg_div(NULL, mat(2, 3)) == NULL; }
static bool div_two_tapes(void) { return tg_div(taped(), foreign()) == NULL; }
static bool add_scalar_nan(void) { return tg_add_scalar(mat(2, 3), NAN) == NULL; }
static bool add_scalar_inf(void) { return tg_add_scalar(mat(2, 3), INFINITY) == NULL; }
static bool add_scalar_null(void) { return tg_add_scalar(NULL, 1.0) == NULL; }
static bool mul_scalar_nan(void) { return tg_mul_scalar(mat(2, 3), NAN) == NULL; }
static bool mul_scalar_stale(void) { return tg_mul_scalar(stale(), 2.0) == NULL; }
static bool pow_nan(void) { return tg_pow(mat(2, 3), NAN) == NULL; }
static bool pow_inf(void) { return tg_pow(mat(2, 3), -INFINITY) == NULL; }
static bool neg_null(void) { return tg_neg(NULL) == NULL; }
static bool exp_stale(void) { return tg_exp(stale()) == NULL; }
static bool log_null(void) { return tg_log(NULL) == NULL; }
static bool sqrt_stale(void) { return tg_sqrt(stale()) == NULL; }
static bool abs_null(void) { return tg_abs(NULL) == NULL; }
static bool tanh_stale(void) { return tg_tanh(stale()) == NULL; }
static bool relu_null(void) { return tg_relu(NULL) == NULL; }
static bool sigmoid_stale(void) { return tg_sigmoid(stale()) == NULL; }
static bool clamp_lo_above_hi(void) { return tg_clamp(mat(2, 3), 2.0, 1.0) == NULL; }
static bool clamp_nan_lo(void) { return tg_clamp(mat(2, 3), NAN, 1.0) == NULL; }
static bool clamp_nan_hi(void) { return tg_clamp(mat(2, 3), 0.0, NAN) == NULL; }
static bool clamp_null(void) { return tg_clamp(NULL, 0.0, 1.0) == NULL; }
static bool gt_scalar_nan(void) { return tg_gt_scalar(mat(2, 3), NAN) == NULL; }
static bool gt_scalar_null(void) { return tg_gt_scalar(NULL, 0.0) == NULL; }
static bool lt_scalar_nan(void) { return tg_lt_scalar(mat(2, 3), NAN) == NULL; }
static bool lt_scalar_stale(void) { return tg_lt_scalar(stale(), 0.0) == NULL; }
static bool sign_null(void) { return tg_sign(NULL) == NULL; }
static bool sign_stale(void) { return tg_sign(stale()) == NULL; }
static bool argmax_mask_axis_2(void) { return tg_argmax_mask(mat(2, 3), 2) == NULL; }
static bool argmax_mask_axis_minus_3(void) { return tg_argmax_mask(mat(2, 3), -3) == NULL; }
static bool argmax_mask_rank0_axis(void) { return tg_argmax_mask(scalar(1), 0) == NULL; }
static bool argmax_mask_null(void) { return tg_argmax_mask(NULL, TG_ALL_AXES) == NULL; }
static bool sum_null(void) { return tg_sum(NULL) == NULL; }
static bool sum_stale(void) { return tg_sum(stale()) == NULL; }
static bool mean_empty(void) { return tg_mean(mat(0, 3)) == NULL; }
static bool mean_null(void) { return tg_mean(NULL) == NULL; }
static bool max_empty(void) { return tg_max(mat(2, 0)) == NULL; }
static bool max_stale(void) { return tg_max(stale()) == NULL; }
static bool sum_axes_out_of_range(void)
{
    int axes[] = {2};
    return tg_sum_axes(mat(2, 3), 1, axes, false) == NULL;
}
static bool sum_axes_twice(void)
{
    int axes[] = {1, -1};
    return tg_sum_axes(mat(2, 3), 2, axes, false) == NULL;
}
static bool sum_axes_negative_count(void)
{
    int axes[] = {0};
    return tg_sum_axes(mat(2, 3), -1, axes, false) == NULL;
}
static bool sum_axes_null_list(void) { return tg_sum_axes(mat(2, 3), 1, NULL, false) == NULL; }
static bool sum_axes_too_many(void)
{
    int axes[] = {0, 1, 0};
    return tg_sum_axes(mat(2, 3), 3, axes, true) == NULL;
}
static bool mean_axes_out_of_range(void)
{
    int axes[] = {-3};
    return tg_mean_axes(mat(2, 3), 1, axes, true) == NULL;
}
static bool mean_axes_empty_axis(void)
{
    int axes[] = {0};
    return tg_mean_axes(mat(0, 3), 1, axes, false) == NULL;
}
static bool max_axis_out_of_range(void) { return tg_max_axis(mat(2, 3), 5, false) == NULL; }
static bool max_axis_empty(void) { return tg_max_axis(mat(2, 0), 1, false) == NULL; }
static bool max_axis_null(void) { return tg_max_axis(NULL, 0, false) == NULL; }
static bool expand_not_broadcastable(void)
{
    int64_t shape[] = {4, 3};
    return tg_expand(mat(2, 3), 2, shape) == NULL;
}
static bool expand_rank_9(void)
{
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 2, 3};
    return tg_expand(mat(2, 3), 9, shape) == NULL;
}
static bool expand_null_shape(void) { return tg_expand(mat(2, 3), 2, NULL) == NULL; }
static bool expand_negative_size(void)
{
    int64_t shape[] = {-1, 2, 3};
    return tg_expand(mat(2, 3), 3, shape) == NULL;
}
static bool expand_lower_rank(void)
{
    int64_t shape[] = {3};
    return tg_expand(mat(2, 3), 1, shape) == NULL;
}
static bool sum_to_not_broadcastable(void)
{
    int64_t shape[] = {2};
    return tg_sum_to(mat(2, 3), 1, shape) == NULL;
}
static bool sum_to_rank_negative(void) { return tg_sum_to(mat(2, 3), -1, shape_2x3) == NULL; }
static bool sum_to_stale(void) { return tg_sum_to(stale(), 2, shape_2x3) == NULL; }
static bool reshape_count(void)
{
    int64_t shape[] = {4, 2};
    return tg_reshape(mat(2, 3), 2, shape) == NULL;
}
static bool reshape_two_minus_one(void)
{
    int64_t shape[] = {-1, -1};
    return tg_reshape(mat(2, 3), 2, shape) == NULL;
}
static bool reshape_negative_size(void)
{
    int64_t shape[] = {-2, -3};
    return tg_reshape(mat(2, 3), 2, shape) == NULL;
}
static bool reshape_infer_with_zero(void)
{
    int64_t shape[] = {0, -1};
    return tg_reshape(mat(0, 3), 2, shape) == NULL;
}
static bool reshape_rank_9(void)
{
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 2, 3};
    return tg_reshape(mat(2, 3), 9, shape) == NULL;
}
static bool reshape_null_shape(void) { return tg_reshape(mat(2, 3), 2, NULL) == NULL; }
static bool reshape_overflow(void)
{
    int64_t shape[] = {INT64_C(1) << 40, INT64_C(1) << 40, 0};
    return tg_reshape(mat(2, 3), 3, shape) == NULL;
}
static bool transpose_rank_1(void) { return tg_transpose(vec(3)) == NULL; }
static bool transpose_null(void) { return tg_transpose(NULL) == NULL; }
static bool permute_repeated(void)
{
    int perm[] = {0, 0};
    return tg_permute(mat(2, 3), perm) == NULL;
}
static bool permute_out_of_range(void)
{
    int perm[] = {0, 2};
    return tg_permute(mat(2, 3), perm) == NULL;
}
static bool permute_null_perm(void) { return tg_permute(mat(2, 3), NULL) == NULL; }
static bool slice_stop_past_end(void) { return tg_slice(mat(2, 3), 1, 0, 4) == NULL; }
static bool slice_start_after_stop(void) { return tg_slice(mat(2, 3), 1, 2, 1) == NULL; }
static bool slice_negative_start(void) { return tg_slice(mat(2, 3), 0, -1, 1) == NULL; }
static bool slice_axis(void) { return tg_slice(mat(2, 3), 2, 0, 1) == NULL; }
static bool slice_null(void) { return tg_slice(NULL, 0, 0, 1) == NULL; }
static bool pad_negative(void) { return tg_pad(mat(2, 3), 1, -1, 0) == NULL; }
static bool pad_axis(void) { return tg_pad(mat(2, 3), -3, 1, 1) == NULL; }
static bool pad_huge(void) { return tg_pad(mat(2, 3), 1, INT64_MAX, 1) == NULL; }
static bool concat_zero(void)
{
    tg_tensor *list[] = {mat(2, 3)};
    return tg_concat(0, list, 0) == NULL;
}
static bool concat_too_many(void)
{
    tg_tensor *list[TG_MAX_INPUTS + 1];
    tg_tensor *x = mat(2, 3);
    for (int i = 0; i <= TG_MAX_INPUTS; i++) list[i] = x;
    return tg_concat(TG_MAX_INPUTS + 1, list, 0) == NULL;
}
static bool concat_null_list(void) { return tg_concat(2, NULL, 0) == NULL; }
static bool concat_null_entry(void)
{
    tg_tensor *list[] = {mat(2, 3), NULL};
    return tg_concat(2, list, 0) == NULL;
}
static bool concat_dtypes(void)
{
    tg_tensor *list[] = {mat(2, 3), mat32(2, 3)};
    return tg_concat(2, list, 0) == NULL;
}
static bool concat_shapes(void)
{
    tg_tensor *list[] = {mat(2, 3), mat(2, 4)};
    return tg_concat(2, list, 0) == NULL;
}
static bool concat_ranks(void)
{
    tg_tensor *list[] = {mat(2, 3), vec(3)};
    return tg_concat(2, list, 0) == NULL;
}
static bool concat_axis(void)
{
    tg_tensor *list[] = {mat(2, 3), mat(2, 3)};
    return tg_concat(2, list, 2) == NULL;
}
static bool concat_two_tapes(void)
{
    tg_tensor *list[] = {taped(), foreign()};
    return tg_concat(2, list, 0) == NULL;
}
static bool to_dtype_unknown(void) { return tg_to_dtype(mat(2, 3), (tg_dtype)9) == NULL; }
static bool to_dtype_null(void) { return tg_to_dtype(NULL, TG_F32) == NULL; }
static bool matmul_inner(void) { return tg_matmul(mat(3, 4), mat(5, 2)) == NULL; }
static bool matmul_rank_1(void) { return tg_matmul(vec(3), mat(3, 2)) == NULL; }
static bool matmul_dtypes(void) { return tg_matmul(mat(2, 3), mat32(3, 2)) == NULL; }
static bool matmul_batch(void)
{
    int64_t sa[] = {2, 2, 3}, sb[] = {3, 3, 2};
    return tg_matmul(keep_tensor(tg_zeros(TG_F64, 3, sa)), keep_tensor(tg_zeros(TG_F64, 3, sb))) == NULL;
}
static bool matmul_null(void) { return tg_matmul(NULL, mat(2, 3)) == NULL; }
static bool matmul_two_tapes(void) { return tg_matmul(taped(), tg_transpose(foreign())) == NULL; }
static bool matmul_t_inner(void) { return tg_matmul_t(mat(4, 3), true, mat(2, 5), true) == NULL; }
static bool matmul_t_stale(void) { return tg_matmul_t(stale(), false, mat(2, 3), true) == NULL; }
static bool softmax_axis(void) { return tg_softmax(mat(2, 3), 2) == NULL; }
static bool softmax_rank_0(void) { return tg_softmax(scalar(1), 0) == NULL; }
static bool softmax_null(void) { return tg_softmax(NULL, -1) == NULL; }
static bool log_softmax_axis(void) { return tg_log_softmax(mat(2, 3), -3) == NULL; }
static bool log_softmax_stale(void) { return tg_log_softmax(stale(), -1) == NULL; }

/* ====================================================================
 * gradcheck.h
 * ==================================================================== */

static tg_tensor *sum_of_first(tg_tensor *const *inputs, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_sum(inputs[0]);
}
static bool gradcheck_null_f(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_gradcheck(NULL, NULL, 1, &x, NULL, NULL) != TG_OK;
}
static bool gradcheck_n_zero(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_gradcheck(sum_of_first, NULL, 0, &x, NULL, NULL) != TG_OK;
}
static bool gradcheck_null_inputs(void) { return tg_gradcheck(sum_of_first, NULL, 1, NULL, NULL, NULL) != TG_OK; }
static bool gradcheck_f32_input(void)
{
    tg_tensor *x = mat32(2, 3);
    return tg_gradcheck(sum_of_first, NULL, 1, &x, NULL, NULL) != TG_OK;
}
static bool gradcheck_tape_input(void)
{
    tg_tensor *x = taped();
    return tg_gradcheck(sum_of_first, NULL, 1, &x, NULL, NULL) != TG_OK;
}
static bool gradcheck_eps_zero(void)
{
    tg_tensor *x = mat(2, 3);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.eps = 0;
    return tg_gradcheck(sum_of_first, NULL, 1, &x, &options, NULL) != TG_OK;
}
static bool gradcheck_negative_atol(void)
{
    tg_tensor *x = mat(2, 3);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = -1;
    return tg_gradcheck(sum_of_first, NULL, 1, &x, &options, NULL) != TG_OK;
}
static bool gradcheck_zero_directions(void)
{
    tg_tensor *x = mat(2, 3);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.mode = TG_GRADCHECK_RANDOM;
    options.directions = 0;
    return tg_gradcheck(sum_of_first, NULL, 1, &x, &options, NULL) != TG_OK;
}
static bool gradcheck_describe_null_buf(void)
{
    tg_gradcheck_result result = {0};
    return tg_gradcheck_describe(&result, NULL, 10) == NULL;
}
static bool gradcheck_describe_null_result(void)
{
    char buf[64];
    return tg_gradcheck_describe(NULL, buf, sizeof buf) == buf;
}
static bool gradcheck_input_null_rng(void) { return tg_gradcheck_input(NULL, 2, shape_2x3, 0, 1, 0, NULL, 0) == NULL; }
static bool gradcheck_input_lo_above_hi(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_gradcheck_input(&rng, 2, shape_2x3, 1, 0, 0, NULL, 0) == NULL;
}
static bool gradcheck_input_no_room(void)
{
    tg_rng rng = tg_rng_seeded(1);
    double avoid[] = {0.5};
    return tg_gradcheck_input(&rng, 2, shape_2x3, 0, 1, 1, avoid, 0.6) == NULL;
}
static bool gradcheck_input_null_avoid(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_gradcheck_input(&rng, 2, shape_2x3, 0, 1, 2, NULL, 0.1) == NULL;
}
static bool gradcheck_input_negative_margin(void)
{
    tg_rng rng = tg_rng_seeded(1);
    double avoid[] = {0.5};
    return tg_gradcheck_input(&rng, 2, shape_2x3, 0, 1, 1, avoid, -0.1) == NULL;
}
static bool gradcheck_input_negative_size(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t shape[] = {2, -3};
    return tg_gradcheck_input(&rng, 2, shape, 0, 1, 0, NULL, 0) == NULL;
}

/* ====================================================================
 * nn.h
 * ==================================================================== */

static tg_rng rng_1;

static tg_model *small_model(int64_t hidden)
{
    rng_1 = tg_rng_seeded(1);
    int64_t sizes[] = {2, hidden, 1};
    return keep(KEPT_MODEL, tg_mlp_new(&rng_1, TG_F64, 3, sizes, TG_ACT_RELU, -1));
}

static bool init_null(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_init_tensor(NULL, TG_INIT_HE_NORMAL, &rng, 2, 3, 0) != TG_OK;
}
static bool init_tape_tensor(void) { return tg_init_tensor(taped(), TG_INIT_ZEROS, NULL, 2, 3, 0) != TG_OK; }
static bool init_null_rng(void) { return tg_init_tensor(mat(2, 3), TG_INIT_GLOROT_UNIFORM, NULL, 2, 3, 0) != TG_OK; }
static bool init_fan_in_zero(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_init_tensor(mat(2, 3), TG_INIT_HE_UNIFORM, &rng, 0, 3, 0) != TG_OK;
}
static bool init_fan_out_negative(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_init_tensor(mat(2, 3), TG_INIT_GLOROT_NORMAL, &rng, 2, -3, 0) != TG_OK;
}
static bool init_unknown(void) { return tg_init_tensor(mat(2, 3), (tg_init)42, NULL, 2, 3, 0) != TG_OK; }
static bool init_constant_nan(void) { return tg_init_tensor(mat(2, 3), TG_INIT_CONSTANT, NULL, 2, 3, NAN) != TG_OK; }
static bool leaky_relu_nan(void) { return tg_leaky_relu(mat(2, 3), NAN) == NULL; }
static bool leaky_relu_null(void) { return tg_leaky_relu(NULL, 0.1) == NULL; }
static bool silu_null(void) { return tg_silu(NULL) == NULL; }
static bool gelu_stale(void) { return tg_gelu(stale()) == NULL; }
static bool softplus_null(void) { return tg_softplus(NULL) == NULL; }
static bool mse_shapes(void) { return tg_mse_loss(mat(3, 1), vec(3)) == NULL; }
static bool mse_dtypes(void) { return tg_mse_loss(mat(2, 3), mat32(2, 3)) == NULL; }
static bool mse_null(void) { return tg_mse_loss(NULL, mat(2, 3)) == NULL; }
static bool mse_empty(void) { return tg_mse_loss(mat(0, 3), mat(0, 3)) == NULL; }
static bool mse_two_tapes(void) { return tg_mse_loss(taped(), foreign()) == NULL; }
static bool bce_shapes(void) { return tg_bce_loss(mat(2, 3), mat(3, 2)) == NULL; }
static bool bce_null_target(void) { return tg_bce_loss(mat(2, 3), NULL) == NULL; }
/* mat(2,3) holds 0, 1, 2, ...: index 2 is the first p outside [0, 1]. */
static bool bce_prob_above_one(void) { return tg_bce_loss(mat(2, 3), mat(2, 3)) == NULL; }
static bool bce_prob_nan(void) { return tg_bce_loss(scalar(NAN), scalar(1.0)) == NULL; }
static bool bce_prob_negative_f32(void)
{
    tg_tensor *p = mat32(1, 2);
    tg_set_flat(p, 1, -0.25);
    return tg_bce_loss(p, mat32(1, 2)) == NULL;
}
static bool bce_logits_dtypes(void) { return tg_bce_with_logits_loss(mat32(2, 3), mat(2, 3)) == NULL; }
static bool bce_logits_stale(void) { return tg_bce_with_logits_loss(stale(), mat(2, 3)) == NULL; }
static bool cross_entropy_rank_1(void) { return tg_cross_entropy_loss(vec(3), vec(3)) == NULL; }
static bool cross_entropy_labels_shape(void) { return tg_cross_entropy_loss(mat(2, 3), vec(3)) == NULL; }
static bool cross_entropy_label_range(void)
{
    tg_tensor *labels = vec(2);
    tg_set_flat(labels, 1, 3.0);
    return tg_cross_entropy_loss(mat(2, 3), labels) == NULL;
}
static bool cross_entropy_label_fraction(void)
{
    tg_tensor *labels = vec(2);
    tg_set_flat(labels, 0, 0.5);
    return tg_cross_entropy_loss(mat(2, 3), labels) == NULL;
}
static bool cross_entropy_null_labels(void) { return tg_cross_entropy_loss(mat(2, 3), NULL) == NULL; }
static bool cross_entropy_label_nan(void)
{
    tg_tensor *labels = vec(2);
    tg_set_flat(labels, 1, NAN);
    return tg_cross_entropy_loss(mat(2, 3), labels) == NULL;
}
static bool huber_delta_zero(void) { return tg_huber_loss(mat(2, 3), mat(2, 3), 0.0) == NULL; }
static bool huber_delta_nan(void) { return tg_huber_loss(mat(2, 3), mat(2, 3), NAN) == NULL; }
static bool huber_shapes(void) { return tg_huber_loss(mat(2, 3), mat(2, 1), 1.0) == NULL; }
static bool dense_in_zero(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_dense_new(&rng, TG_F64, 0, 3, TG_INIT_HE_UNIFORM) == NULL;
}
static bool dense_out_negative(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_dense_new(&rng, TG_F64, 2, -3, TG_INIT_HE_UNIFORM) == NULL;
}
static bool dense_null_rng(void) { return tg_dense_new(NULL, TG_F64, 2, 3, TG_INIT_GLOROT_NORMAL) == NULL; }
static bool dense_dtype(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_dense_new(&rng, (tg_dtype)3, 2, 3, TG_INIT_HE_UNIFORM) == NULL;
}
static bool dense_unknown_init(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_dense_new(&rng, TG_F64, 2, 3, (tg_init)99) == NULL;
}
static bool dense_overflow(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_dense_new(&rng, TG_F64, INT64_C(1) << 40, INT64_C(1) << 40, TG_INIT_ZEROS) == NULL;
}
static bool activation_layer_unknown(void) { return tg_activation_layer_new((tg_activation)99) == NULL; }
static bool activation_layer_negative(void) { return tg_activation_layer_new((tg_activation)-1) == NULL; }
static bool activate_unknown(void) { return tg_activate((tg_activation)99, mat(2, 3)) == NULL; }
static bool activate_null(void) { return tg_activate(TG_ACT_TANH, NULL) == NULL; }
static bool layer_forward_null_layer(void) { return tg_layer_forward(NULL, mat(2, 3)) == NULL; }
static bool layer_forward_null_x(void)
{
    tg_layer *layer = keep(KEPT_LAYER, tg_activation_layer_new(TG_ACT_RELU));
    return tg_layer_forward(layer, NULL) == NULL;
}
static bool layer_forward_shape(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_layer *layer = keep(KEPT_LAYER, tg_dense_new(&rng, TG_F64, 4, 2, TG_INIT_HE_UNIFORM));
    return tg_layer_forward(layer, mat(2, 3)) == NULL;
}
static bool layer_forward_dtype(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_layer *layer = keep(KEPT_LAYER, tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_HE_UNIFORM));
    return tg_layer_forward(layer, mat32(2, 3)) == NULL;
}
static bool layer_forward_rank_1(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_layer *layer = keep(KEPT_LAYER, tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_HE_UNIFORM));
    return tg_layer_forward(layer, vec(3)) == NULL;
}
static bool layer_forward_stale(void)
{
    tg_layer *layer = keep(KEPT_LAYER, tg_activation_layer_new(TG_ACT_SIGMOID));
    return tg_layer_forward(layer, stale()) == NULL;
}
static bool model_add_null_model(void) { return tg_model_add(NULL, tg_activation_layer_new(TG_ACT_RELU)) != TG_OK; }
static bool model_add_null_layer(void)
{
    tg_model *model = keep(KEPT_MODEL, tg_model_new());
    return tg_model_add(model, NULL) != TG_OK;
}
/* A model refuses what cannot be a child: a module that holds it. */
static bool model_add_cycle(void)
{
    tg_model *model = keep(KEPT_MODEL, tg_model_new());
    tg_model *inner = tg_model_new();
    cr_assert_eq(tg_model_add(model, inner), TG_OK);
    return tg_model_add(inner, model) != TG_OK;
}
static tg_tensor *identity_forward(tg_module *self, tg_tensor *x)
{
    (void)self;
    return x;
}
static bool module_add_param_missing(void)
{
    tg_module *module = keep(KEPT_LAYER, tg_module_new("custom", identity_forward));
    return tg_module_add_param(module, "weight", NULL) == NULL;
}
static bool module_add_param_on_tape(void)
{
    tg_module *module = keep(KEPT_LAYER, tg_module_new("custom", identity_forward));
    return tg_module_add_param(module, "weight", taped()) == NULL;
}
static bool mlp_one_size(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t sizes[] = {2};
    return tg_mlp_new(&rng, TG_F64, 1, sizes, TG_ACT_RELU, -1) == NULL;
}
static bool mlp_size_zero(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t sizes[] = {2, 0, 1};
    return tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_RELU, -1) == NULL;
}
static bool mlp_null_sizes(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_mlp_new(&rng, TG_F64, 3, NULL, TG_ACT_RELU, -1) == NULL;
}
static bool mlp_null_rng(void)
{
    int64_t sizes[] = {2, 3, 1};
    return tg_mlp_new(NULL, TG_F64, 3, sizes, TG_ACT_RELU, -1) == NULL;
}
static bool mlp_unknown_hidden(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t sizes[] = {2, 3, 1};
    return tg_mlp_new(&rng, TG_F64, 3, sizes, (tg_activation)77, -1) == NULL;
}
static bool mlp_unknown_output(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t sizes[] = {2, 3, 1};
    return tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_RELU, 55) == NULL;
}
static bool mlp_dtype(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t sizes[] = {2, 3, 1};
    return tg_mlp_new(&rng, (tg_dtype)4, 3, sizes, TG_ACT_RELU, -1) == NULL;
}
static bool model_forward_null_model(void) { return tg_model_forward(NULL, mat(2, 2)) == NULL; }
static bool model_forward_shape(void) { return tg_model_forward(small_model(3), mat(2, 5)) == NULL; }
static bool model_forward_null_x(void) { return tg_model_forward(small_model(3), NULL) == NULL; }
static bool model_num_layers_null(void) { return tg_model_num_layers(NULL) == 0; }
static bool model_layer_index(void) { return tg_model_layer(small_model(3), 3) == NULL; }
static bool model_layer_negative(void) { return tg_model_layer(small_model(3), -1) == NULL; }
static bool model_layer_null(void) { return tg_model_layer(NULL, 0) == NULL; }
static bool model_num_params_null(void) { return tg_model_num_params(NULL) == 0; }
static bool model_param_index(void)
{
    char name[32];
    return tg_model_param(small_model(3), 4, name, sizeof name) == NULL;
}
static bool model_param_null(void)
{
    char name[32];
    return tg_model_param(NULL, 0, name, sizeof name) == NULL;
}
static bool model_params_null_out(void) { return tg_model_params(small_model(3), NULL, 4) == 0; }
static bool model_params_negative_max(void)
{
    tg_tensor *out[4];
    return tg_model_params(small_model(3), out, -1) == 0;
}
static bool model_param_count_null(void) { return tg_model_param_count(NULL) == 0; }
static bool model_set_training_null(void)
{
    tg_model_set_training(NULL, false);
    return true;
}
static bool model_save_null_path(void) { return tg_model_save(small_model(3), NULL) != TG_OK; }
static bool model_save_null_model(void) { return tg_model_save(NULL, temp_path("m.safetensors")) != TG_OK; }
static bool model_save_no_directory(void)
{
    return tg_model_save(small_model(3), temp_path("no/such/dir/m.safetensors")) != TG_OK;
}
static bool model_load_missing(void) { return tg_model_load(small_model(3), temp_path("missing.safetensors")) != TG_OK; }
static bool model_load_other_shapes(void)
{
    const char *path = temp_path("m.safetensors");
    cr_assert_eq(tg_model_save(small_model(3), path), TG_OK);
    return tg_model_load(small_model(4), path) != TG_OK;
}
static bool model_load_other_architecture(void)
{
    const char *path = temp_path("m.safetensors");
    cr_assert_eq(tg_model_save(small_model(3), path), TG_OK);
    rng_1 = tg_rng_seeded(1);
    int64_t sizes[] = {2, 3, 3, 1};
    tg_model *deeper = keep(KEPT_MODEL, tg_mlp_new(&rng_1, TG_F64, 4, sizes, TG_ACT_RELU, -1));
    return tg_model_load(deeper, path) != TG_OK;
}
static bool model_load_null_path(void) { return tg_model_load(small_model(3), NULL) != TG_OK; }
static bool accuracy_shapes(void) { return is_nan(tg_accuracy(mat(2, 3), vec(3))); }
static bool accuracy_null(void) { return is_nan(tg_accuracy(NULL, vec(2))); }
static bool accuracy_label_range(void)
{
    tg_tensor *labels = vec(2);
    tg_set_flat(labels, 0, -1.0);
    return is_nan(tg_accuracy(mat(2, 3), labels));
}
static bool binary_accuracy_target(void)
{
    tg_tensor *target = mat(2, 3); /* holds 0..5 */
    return is_nan(tg_binary_accuracy(mat(2, 3), target));
}
static bool binary_accuracy_shapes(void) { return is_nan(tg_binary_accuracy(mat(2, 3), mat(3, 2))); }
static bool binary_accuracy_null(void) { return is_nan(tg_binary_accuracy(mat(2, 3), NULL)); }

/* ====================================================================
 * optim.h
 * ==================================================================== */

static tg_optimizer *keep_optimizer(tg_optimizer *opt) { return keep(KEPT_OPTIMIZER, opt); }

static tg_optimizer *adam_over(int n, tg_tensor *const *params)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return keep_optimizer(tg_optimizer_new(n, params, &config));
}

static bool new_with(tg_optimizer_config config)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_new(1, &w, &config) == NULL;
}

static bool kind_name_unknown(void) { return strcmp(tg_optimizer_kind_name((tg_optimizer_kind)99), "unknown") == 0; }
static bool defaults_unknown_kind(void) { return tg_optimizer_defaults((tg_optimizer_kind)42).kind == 42; }
static bool optimizer_new_n_zero(void)
{
    tg_tensor *w = par(2, 3);
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(0, &w, &config) == NULL;
}
static bool optimizer_new_null_params(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(1, NULL, &config) == NULL;
}
static bool optimizer_new_null_config(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_new(1, &w, NULL) == NULL;
}
static bool optimizer_new_null_param(void)
{
    tg_tensor *list[] = {par(2, 3), NULL};
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(2, list, &config) == NULL;
}
static bool optimizer_new_no_grad(void)
{
    tg_tensor *list[] = {par(2, 3), mat(2, 3)};
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(2, list, &config) == NULL;
}
static bool optimizer_new_tape_param(void)
{
    tg_tensor *list[] = {taped()};
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(1, list, &config) == NULL;
}
static bool optimizer_new_twice(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *list[] = {w, par(1, 1), w};
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    return tg_optimizer_new(3, list, &config) == NULL;
}
static bool optimizer_new_unknown_kind(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    config.kind = (tg_optimizer_kind)12;
    return new_with(config);
}
static bool optimizer_new_lr_zero(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    config.lr = 0;
    return new_with(config);
}
static bool optimizer_new_lr_nan(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_SGD);
    config.lr = NAN;
    return new_with(config);
}
static bool optimizer_new_lr_negative(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_RMSPROP);
    config.lr = -0.5;
    return new_with(config);
}
static bool optimizer_new_beta1_one(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    config.beta1 = 1.0;
    return new_with(config);
}
static bool optimizer_new_beta2_negative(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAMW);
    config.beta2 = -0.25;
    return new_with(config);
}
static bool optimizer_new_beta1_nan(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    config.beta1 = NAN;
    return new_with(config);
}
static bool optimizer_new_eps_negative(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAM);
    config.eps = -1e-8;
    return new_with(config);
}
static bool optimizer_new_weight_decay_negative(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAMW);
    config.weight_decay = -0.125;
    return new_with(config);
}
static bool optimizer_new_sgd_momentum(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_SGD);
    config.momentum = 0.9;
    return new_with(config);
}
static bool optimizer_new_momentum_zero(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    config.momentum = 0;
    return new_with(config);
}
static bool optimizer_new_nesterov_dampening(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_NESTEROV);
    config.dampening = 0.5;
    return new_with(config);
}
static bool optimizer_new_dampening_above_one(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    config.dampening = 1.5;
    return new_with(config);
}
static bool optimizer_new_rms_decay_one(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_RMSPROP);
    config.rms_decay = 1.0;
    return new_with(config);
}
static bool optimizer_new_lr_decay_negative(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAGRAD);
    config.lr_decay = -1;
    return new_with(config);
}
static bool optimizer_new_accumulator_inf(void)
{
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_ADAGRAD);
    config.initial_accumulator = INFINITY;
    return new_with(config);
}
static bool optimizer_new_zero_config(void)
{
    tg_optimizer_config config;
    memset(&config, 0, sizeof config);
    return new_with(config);
}
static bool sgd_new_lr_negative(void)
{
    tg_tensor *w = par(2, 3);
    return tg_sgd_new(1, &w, -0.1) == NULL;
}
static bool sgd_new_no_grad(void)
{
    tg_tensor *w = mat(2, 3);
    return tg_sgd_new(1, &w, 0.1) == NULL;
}
static bool adam_new_lr_inf(void)
{
    tg_tensor *w = par(2, 3);
    return tg_adam_new(1, &w, INFINITY) == NULL;
}
static bool adam_new_null_params(void) { return tg_adam_new(2, NULL, 0.1) == NULL; }
static bool step_null(void) { return tg_optimizer_step(NULL) != TG_OK; }
static bool zero_grad_optimizer_null(void)
{
    tg_optimizer_zero_grad(NULL);
    return true;
}
static bool optimizer_lr_null(void) { return is_nan(tg_optimizer_lr(NULL)); }
static bool set_lr_nan(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_set_lr(adam_over(1, &w), NAN) != TG_OK;
}
static bool set_lr_negative(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_set_lr(adam_over(1, &w), -0.001) != TG_OK;
}
static bool set_lr_null(void) { return tg_optimizer_set_lr(NULL, 0.1) != TG_OK; }
static bool step_count_null(void) { return tg_optimizer_step_count(NULL) == -1; }
static bool get_config_null_out(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_get_config(adam_over(1, &w), NULL) != TG_OK;
}
static bool get_config_null(void)
{
    tg_optimizer_config config;
    return tg_optimizer_get_config(NULL, &config) != TG_OK;
}
static bool state_index(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_state(adam_over(1, &w), 1, "exp_avg") == NULL;
}
static bool state_unknown_name(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_state(adam_over(1, &w), 0, "momentum_buffer") == NULL;
}
static bool state_null_name(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_state(adam_over(1, &w), 0, NULL) == NULL;
}
static bool clip_norm_zero(void)
{
    tg_tensor *w = par_with_grad(2, 3);
    return tg_clip_grad_norm(1, &w, 0.0, NULL) != TG_OK;
}
static bool clip_norm_nan(void)
{
    tg_tensor *w = par_with_grad(2, 3);
    return tg_clip_grad_norm(1, &w, NAN, NULL) != TG_OK;
}
static bool clip_norm_null_params(void) { return tg_clip_grad_norm(1, NULL, 1.0, NULL) != TG_OK; }
static bool clip_norm_no_grad_param(void)
{
    tg_tensor *w = mat(2, 3);
    return tg_clip_grad_norm(1, &w, 1.0, NULL) != TG_OK;
}
static bool clip_norm_nan_gradient(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *c = mat(2, 3);
    tg_set_flat(c, 4, NAN);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(w, c)), NULL), TG_OK);
    double norm = 0;
    return tg_clip_grad_norm(1, &w, 1.0, &norm) != TG_OK && is_nan(norm);
}
static bool clip_value_negative(void)
{
    tg_tensor *w = par_with_grad(2, 3);
    return tg_clip_grad_value(1, &w, -1.0) != TG_OK;
}
static bool clip_value_n_negative(void)
{
    tg_tensor *w = par_with_grad(2, 3);
    return tg_clip_grad_value(-2, &w, 1.0) != TG_OK;
}
static bool clip_value_tape_param(void)
{
    tg_tensor *w = taped();
    return tg_clip_grad_value(1, &w, 1.0) != TG_OK;
}
static bool schedule_at_null(void) { return is_nan(tg_lr_schedule_at(NULL, 0)); }
static bool schedule_at_negative_step(void)
{
    tg_lr_schedule s = tg_lr_constant(0.1);
    return is_nan(tg_lr_schedule_at(&s, -1));
}
static bool schedule_base_lr_zero(void)
{
    tg_lr_schedule s = tg_lr_constant(0.0);
    return is_nan(tg_lr_schedule_at(&s, 0));
}
static bool schedule_step_size_zero(void)
{
    tg_lr_schedule s = tg_lr_step(0.1, 0, 0.5);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_gamma_zero(void)
{
    tg_lr_schedule s = tg_lr_exponential(0.1, 0.0);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_gamma_above_one(void)
{
    tg_lr_schedule s = tg_lr_step(0.1, 10, 1.5);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_t_max_zero(void)
{
    tg_lr_schedule s = tg_lr_cosine(0.1, 0, 0.0);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_min_lr_above_base(void)
{
    tg_lr_schedule s = tg_lr_cosine(0.1, 100, 0.5);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_warmup_factor(void)
{
    tg_lr_schedule s = tg_lr_with_warmup(tg_lr_constant(0.1), 10, 2.0);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_warmup_negative(void)
{
    tg_lr_schedule s = tg_lr_with_warmup(tg_lr_constant(0.1), -10, 0.5);
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_unknown_decay(void)
{
    tg_lr_schedule s = tg_lr_constant(0.1);
    s.decay = (tg_lr_decay)9;
    return is_nan(tg_lr_schedule_at(&s, 3));
}
static bool schedule_apply_null_opt(void)
{
    tg_lr_schedule s = tg_lr_constant(0.1);
    return tg_lr_schedule_apply(&s, NULL) != TG_OK;
}
static bool schedule_apply_bad_schedule(void)
{
    tg_tensor *w = par(2, 3);
    tg_lr_schedule s = tg_lr_exponential(-0.1, 0.5);
    tg_optimizer *opt = adam_over(1, &w);
    return tg_lr_schedule_apply(&s, opt) != TG_OK && tg_optimizer_lr(opt) == 1e-3;
}
static bool optimizer_save_null_path(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_save(adam_over(1, &w), NULL) != TG_OK;
}
static bool optimizer_save_null(void) { return tg_optimizer_save(NULL, temp_path("o.safetensors")) != TG_OK; }
static bool optimizer_load_missing(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_load(adam_over(1, &w), temp_path("missing.safetensors")) != TG_OK;
}
static bool optimizer_load_other_kind(void)
{
    const char *path = temp_path("o.safetensors");
    tg_tensor *w = par(2, 3);
    cr_assert_eq(tg_optimizer_save(adam_over(1, &w), path), TG_OK);
    tg_optimizer *sgd = keep_optimizer(tg_sgd_new(1, &w, 0.1));
    return tg_optimizer_load(sgd, path) != TG_OK;
}
static bool optimizer_load_other_count(void)
{
    const char *path = temp_path("o.safetensors");
    tg_tensor *list[] = {par(2, 3), par(3, 2)};
    cr_assert_eq(tg_optimizer_save(adam_over(2, list), path), TG_OK);
    return tg_optimizer_load(adam_over(1, list), path) != TG_OK;
}
static bool optimizer_load_other_model(void)
{
    /* The state of an optimizer over one model, loaded into an optimizer
     * over another model whose hidden layer is wider. */
    const char *path = temp_path("o.safetensors");
    tg_model *a = small_model(3), *b = small_model(4);
    tg_tensor *pa[4], *pb[4];
    cr_assert_eq(tg_model_params(a, pa, 4), 4);
    cr_assert_eq(tg_model_params(b, pb, 4), 4);
    cr_assert_eq(tg_optimizer_save(adam_over(4, pa), path), TG_OK);
    return tg_optimizer_load(adam_over(4, pb), path) != TG_OK;
}
static bool optimizer_load_other_dtype(void)
{
    const char *path = temp_path("o.safetensors");
    tg_tensor *w = par(2, 3);
    cr_assert_eq(tg_optimizer_save(adam_over(1, &w), path), TG_OK);
    tg_tensor *w32 = mat32(2, 3);
    tg_set_requires_grad(w32, true);
    return tg_optimizer_load(adam_over(1, &w32), path) != TG_OK;
}
static bool optimizer_load_not_optimizer(void)
{
    const char *path = temp_path("m.safetensors");
    cr_assert_eq(tg_model_save(small_model(3), path), TG_OK);
    tg_tensor *w = par(2, 3);
    return tg_optimizer_load(adam_over(1, &w), path) != TG_OK;
}
static bool optimizer_load_null_path(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_load(adam_over(1, &w), NULL) != TG_OK;
}

/* ====================================================================
 * checkpoint.h
 * ==================================================================== */

static const char *save_one(const char *file)
{
    const char *path = temp_path(file);
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    cr_assert_eq(tg_checkpoint_save(path, 1, names, tensors, 0, NULL, NULL), TG_OK, "%s", tg_last_error_message());
    return path;
}

static tg_checkpoint *open_one(void) { return keep(KEPT_CHECKPOINT, tg_checkpoint_open(save_one("c.safetensors"))); }

static bool checkpoint_save_null_path(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(NULL, 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_negative_n(void)
{
    return tg_checkpoint_save(temp_path("c.safetensors"), -1, NULL, NULL, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_null_names(void)
{
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, NULL, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_duplicate(void)
{
    const char *names[] = {"w", "w"};
    const tg_tensor *tensors[] = {mat(2, 3), mat(3, 2)};
    return tg_checkpoint_save(temp_path("c.safetensors"), 2, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_duplicate_key(void)
{
    const char *names[] = {"w"}, *keys[] = {"epoch", "lr", "epoch"}, *values[] = {"1", "0.1", "2"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 3, keys, values) != TG_OK;
}
static bool checkpoint_save_empty_name(void)
{
    const char *names[] = {""};
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_metadata_name(void)
{
    const char *names[] = {"__metadata__"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_null_tensor(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {NULL};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_stale_tensor(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {stale()};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_save_checksum_key(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    const char *keys[] = {TG_CHECKPOINT_CHECKSUM_KEY}, *values[] = {"x"};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 1, keys, values) != TG_OK;
}
static bool checkpoint_save_null_meta_value(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    const char *keys[] = {"note"}, *values[] = {NULL};
    return tg_checkpoint_save(temp_path("c.safetensors"), 1, names, tensors, 1, keys, values) != TG_OK;
}
static bool checkpoint_save_no_directory(void)
{
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_save(temp_path("none/c.safetensors"), 1, names, tensors, 0, NULL, NULL) != TG_OK;
}
static bool checkpoint_load_shape(void)
{
    const char *path = save_one("c.safetensors");
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {mat(3, 2)};
    return tg_checkpoint_load_into(path, 1, names, tensors) != TG_OK;
}
static bool checkpoint_load_dtype(void)
{
    const char *path = temp_path("c.safetensors");
    const char *names[] = {"w"};
    tg_tensor *w = mat(2, 3);
    ((double *)w->data)[4] = 1e300; /* beyond float's range */
    const tg_tensor *saved[] = {w};
    cr_assert_eq(tg_checkpoint_save(path, 1, names, saved, 0, NULL, NULL), TG_OK);
    tg_tensor *tensors[] = {mat32(2, 3)};
    return tg_checkpoint_load_into(path, 1, names, tensors) != TG_OK;
}
static bool checkpoint_load_missing_name(void)
{
    const char *path = save_one("c.safetensors");
    const char *names[] = {"bias"};
    tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_load_into(path, 1, names, tensors) != TG_OK;
}
static bool checkpoint_load_tape_tensor(void)
{
    const char *path = save_one("c.safetensors");
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {taped()};
    return tg_checkpoint_load_into(path, 1, names, tensors) != TG_OK;
}
static bool checkpoint_load_missing_file(void)
{
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_load_into(temp_path("none.safetensors"), 1, names, tensors) != TG_OK;
}
static bool checkpoint_load_null_names(void)
{
    const char *path = save_one("c.safetensors");
    tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_load_into(path, 1, NULL, tensors) != TG_OK;
}
static bool checkpoint_load_null_tensor(void)
{
    const char *path = save_one("c.safetensors");
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {NULL};
    return tg_checkpoint_load_into(path, 1, names, tensors) != TG_OK;
}
static bool checkpoint_open_null(void) { return tg_checkpoint_open(NULL) == NULL; }
static bool checkpoint_open_missing(void) { return tg_checkpoint_open(temp_path("none.safetensors")) == NULL; }
static bool checkpoint_open_not_safetensors(void)
{
    const char *path = temp_path("text.safetensors");
    write_text(path, "hello, this is not a checkpoint");
    return tg_checkpoint_open(path) == NULL;
}
static bool checkpoint_count_null(void) { return tg_checkpoint_count(NULL) == 0; }
static bool checkpoint_entry_at_range(void) { return tg_checkpoint_entry_at(open_one(), 1) == NULL; }
static bool checkpoint_entry_at_null(void) { return tg_checkpoint_entry_at(NULL, 0) == NULL; }
static bool checkpoint_find_null_name(void) { return tg_checkpoint_find(open_one(), NULL) == NULL; }
static bool checkpoint_metadata_null(void) { return tg_checkpoint_metadata(NULL, "k") == NULL; }
static bool checkpoint_metadata_null_key(void) { return tg_checkpoint_metadata(open_one(), NULL) == NULL; }
static bool checkpoint_find_null(void) { return tg_checkpoint_find(NULL, "w") == NULL; }
static bool checkpoint_entry_at_negative(void) { return tg_checkpoint_entry_at(open_one(), -1) == NULL; }
static bool checkpoint_read_tensor_null_name(void) { return tg_checkpoint_read_tensor(open_one(), NULL) == NULL; }
static bool checkpoint_read_into_shape(void)
{
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {mat(6, 1)};
    return tg_checkpoint_read_into(open_one(), 1, names, tensors) != TG_OK;
}
static bool checkpoint_read_into_null(void)
{
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_read_into(NULL, 1, names, tensors) != TG_OK;
}
static bool checkpoint_read_into_negative_n(void)
{
    const char *names[] = {"w"};
    tg_tensor *tensors[] = {mat(2, 3)};
    return tg_checkpoint_read_into(open_one(), -1, names, tensors) != TG_OK;
}
static bool checkpoint_read_tensor_missing(void) { return tg_checkpoint_read_tensor(open_one(), "bias") == NULL; }
static bool checkpoint_read_tensor_null(void) { return tg_checkpoint_read_tensor(NULL, "w") == NULL; }

/* ====================================================================
 * data.h
 * ==================================================================== */

static tg_dataset *keep_dataset(tg_dataset *ds) { return keep(KEPT_DATASET, ds); }

/* 10 samples of 2 float64 features, 3 classes (row i has class i % 3). */
static tg_dataset *small_dataset(void)
{
    int64_t shape[] = {2};
    tg_dataset *ds = keep_dataset(tg_dataset_new(TG_FEATURES_F64, 10, 1, shape, TG_LABELS_CLASS, 3));
    int32_t *classes = tg_dataset_classes_data(ds);
    for (int i = 0; i < 10; i++) classes[i] = i % 3;
    return ds;
}

static bool read_file_null_path(void)
{
    uint8_t *out;
    size_t size;
    return tg_read_file(NULL, 100, &out, &size) != TG_OK;
}
static bool read_file_null_out(void)
{
    size_t size;
    return tg_read_file(save_one("c.safetensors"), 1 << 20, NULL, &size) != TG_OK;
}
static bool read_file_missing(void)
{
    uint8_t *out = (uint8_t *)"x";
    size_t size;
    return tg_read_file(temp_path("none.bin"), 100, &out, &size) != TG_OK && out == NULL;
}
static bool read_file_too_large(void)
{
    const char *path = temp_path("big.txt");
    write_text(path, "0123456789");
    uint8_t *out = (uint8_t *)"x";
    size_t size;
    return tg_read_file(path, 4, &out, &size) != TG_OK && out == NULL;
}
static bool gunzip_not_gzip(void)
{
    uint8_t *out = (uint8_t *)"x";
    size_t size;
    return tg_gunzip("not gzip at all", 15, 100, &out, &size) != TG_OK && out == NULL;
}
static bool gunzip_null_in(void)
{
    uint8_t *out;
    size_t size;
    return tg_gunzip(NULL, 10, 100, &out, &size) != TG_OK;
}
static bool gunzip_null_out(void)
{
    size_t size;
    return tg_gunzip("\x1f\x8b", 2, 100, NULL, &size) != TG_OK;
}
static bool idx_load_null(void) { return tg_idx_load(NULL, 0) == NULL; }
static bool idx_load_missing(void) { return tg_idx_load(temp_path("none.idx"), 0) == NULL; }
static bool idx_save_null_path(void)
{
    int64_t dims[] = {2};
    uint8_t data[2] = {0};
    return tg_idx_save(NULL, TG_IDX_U8, 1, dims, data) != TG_OK;
}
static bool idx_save_unknown_type(void)
{
    int64_t dims[] = {2};
    uint8_t data[2] = {0};
    return tg_idx_save(temp_path("a.idx"), (tg_idx_type)0x42, 1, dims, data) != TG_OK;
}
static bool idx_save_rank_zero(void)
{
    int64_t dims[] = {2};
    uint8_t data[2] = {0};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 0, dims, data) != TG_OK;
}
static bool idx_save_rank_9(void)
{
    int64_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    uint8_t data[1] = {0};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 9, dims, data) != TG_OK;
}
static bool idx_save_negative_dim(void)
{
    int64_t dims[] = {2, -1};
    uint8_t data[2] = {0};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 2, dims, data) != TG_OK;
}
static bool idx_save_dim_too_big(void)
{
    int64_t dims[] = {INT64_C(1) << 32};
    uint8_t data[2] = {0};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 1, dims, data) != TG_OK;
}
static bool idx_save_null_data(void)
{
    int64_t dims[] = {2};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 1, dims, NULL) != TG_OK;
}
static bool idx_save_null_dims(void)
{
    uint8_t data[2] = {0};
    return tg_idx_save(temp_path("a.idx"), TG_IDX_U8, 1, NULL, data) != TG_OK;
}
static bool dataset_new_negative_count(void)
{
    int64_t shape[] = {2};
    return tg_dataset_new(TG_FEATURES_F64, -1, 1, shape, TG_LABELS_CLASS, 3) == NULL;
}
static bool dataset_new_rank_zero(void)
{
    int64_t shape[] = {2};
    return tg_dataset_new(TG_FEATURES_F64, 4, 0, shape, TG_LABELS_CLASS, 3) == NULL;
}
static bool dataset_new_rank_8(void)
{
    int64_t shape[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    return tg_dataset_new(TG_FEATURES_F64, 4, 8, shape, TG_LABELS_CLASS, 3) == NULL;
}
static bool dataset_new_size_zero(void)
{
    int64_t shape[] = {2, 0};
    return tg_dataset_new(TG_FEATURES_F32, 4, 2, shape, TG_LABELS_NONE, 0) == NULL;
}
static bool dataset_new_null_shape(void) { return tg_dataset_new(TG_FEATURES_F32, 4, 2, NULL, TG_LABELS_NONE, 0) == NULL; }
static bool dataset_new_zero_classes(void)
{
    int64_t shape[] = {2};
    return tg_dataset_new(TG_FEATURES_U8, 4, 1, shape, TG_LABELS_CLASS, 0) == NULL;
}
static bool dataset_new_unknown_storage(void)
{
    int64_t shape[] = {2};
    return tg_dataset_new((tg_feature_storage)7, 4, 1, shape, TG_LABELS_NONE, 0) == NULL;
}
static bool dataset_new_unknown_labels(void)
{
    int64_t shape[] = {2};
    return tg_dataset_new(TG_FEATURES_F64, 4, 1, shape, (tg_label_kind)7, 1) == NULL;
}
static bool dataset_new_overflow(void)
{
    int64_t shape[] = {INT64_C(1) << 40};
    return tg_dataset_new(TG_FEATURES_F64, INT64_C(1) << 40, 1, shape, TG_LABELS_NONE, 0) == NULL;
}
static bool dataset_from_idx_null_images(void)
{
    int64_t dims[] = {4};
    uint8_t labels[4] = {0, 1, 0, 1};
    cr_assert_eq(tg_idx_save(temp_path("l.idx"), TG_IDX_U8, 1, dims, labels), TG_OK);
    return tg_dataset_from_idx(NULL, tg_idx_load(temp_path("l.idx"), 0), 2, 1.0) == NULL;
}
static bool dataset_from_idx_float_images(void)
{
    int64_t dims[] = {4}, image_dims[] = {4, 2, 2};
    uint8_t labels[4] = {0, 1, 0, 1};
    float images[16] = {0};
    cr_assert_eq(tg_idx_save(temp_path("l.idx"), TG_IDX_U8, 1, dims, labels), TG_OK);
    cr_assert_eq(tg_idx_save(temp_path("f.idx"), TG_IDX_F32, 3, image_dims, images), TG_OK);
    /* Ownership of both moves to the call, refused or not. */
    return tg_dataset_from_idx(tg_idx_load(temp_path("f.idx"), 0), tg_idx_load(temp_path("l.idx"), 0), 2, 1.0) ==
           NULL;
}
static bool dataset_from_idx_label_range(void)
{
    int64_t dims[] = {4}, image_dims[] = {4, 2, 2};
    uint8_t labels[4] = {0, 1, 5, 1}, images[16] = {0};
    cr_assert_eq(tg_idx_save(temp_path("l.idx"), TG_IDX_U8, 1, dims, labels), TG_OK);
    cr_assert_eq(tg_idx_save(temp_path("i.idx"), TG_IDX_U8, 3, image_dims, images), TG_OK);
    return tg_dataset_from_idx(tg_idx_load(temp_path("i.idx"), 0), tg_idx_load(temp_path("l.idx"), 0), 2, 1.0) == NULL;
}
static bool dataset_from_idx_counts(void)
{
    int64_t dims[] = {3}, image_dims[] = {4, 2, 2};
    uint8_t labels[3] = {0, 1, 1}, images[16] = {0};
    cr_assert_eq(tg_idx_save(temp_path("l.idx"), TG_IDX_U8, 1, dims, labels), TG_OK);
    cr_assert_eq(tg_idx_save(temp_path("i.idx"), TG_IDX_U8, 3, image_dims, images), TG_OK);
    return tg_dataset_from_idx(tg_idx_load(temp_path("i.idx"), 0), tg_idx_load(temp_path("l.idx"), 0), 2, 1.0) == NULL;
}
static bool dataset_count_null(void) { return tg_dataset_count(NULL) == 0; }
static bool dataset_feature_size_null(void) { return tg_dataset_feature_size(NULL) == 0; }
static bool dataset_feature_shape_null(void)
{
    int64_t shape[TG_MAX_RANK];
    return tg_dataset_feature_shape(NULL, shape) == 0;
}
static bool dataset_label_width_null(void) { return tg_dataset_label_width(NULL) == 0; }
static bool dataset_storage_null(void) { return tg_dataset_storage(NULL) == TG_FEATURES_F64; }
static bool dataset_label_kind_null(void) { return tg_dataset_label_kind(NULL) == TG_LABELS_NONE; }
static bool dataset_feature_shape_null_shape(void) { return tg_dataset_feature_shape(small_dataset(), NULL) == 0; }
static bool dataset_set_scale_null(void) { return tg_dataset_set_scale(NULL, 1.0) != TG_OK; }
static bool dataset_feature_null(void) { return is_nan(tg_dataset_feature(NULL, 0, 0)); }
static bool dataset_class_row_past_end(void) { return tg_dataset_class(small_dataset(), 10) == -1; }
static bool dataset_target_null(void) { return is_nan(tg_dataset_target(NULL, 0, 0)); }
static bool dataset_from_idx_zero_classes(void)
{
    int64_t dims[] = {2}, image_dims[] = {2, 2, 2};
    uint8_t labels[2] = {0, 1}, images[8] = {0};
    cr_assert_eq(tg_idx_save(temp_path("l.idx"), TG_IDX_U8, 1, dims, labels), TG_OK);
    cr_assert_eq(tg_idx_save(temp_path("i.idx"), TG_IDX_U8, 3, image_dims, images), TG_OK);
    return tg_dataset_from_idx(tg_idx_load(temp_path("i.idx"), 0), tg_idx_load(temp_path("l.idx"), 0), 0, 1.0) == NULL;
}
static bool idx_type_size_unknown(void) { return tg_idx_type_size((tg_idx_type)0x42) == 0; }
static bool dataset_features_data_subset(void)
{
    int64_t rows[] = {0, 1};
    tg_dataset *sub = keep_dataset(tg_dataset_subset(small_dataset(), rows, 2));
    return tg_dataset_features_data(sub) == NULL;
}
static bool dataset_classes_data_kind(void)
{
    int64_t shape[] = {2};
    tg_dataset *ds = keep_dataset(tg_dataset_new(TG_FEATURES_F64, 4, 1, shape, TG_LABELS_TARGET, 1));
    return tg_dataset_classes_data(ds) == NULL;
}
static bool dataset_targets_data_kind(void) { return tg_dataset_targets_data(small_dataset()) == NULL; }
static bool dataset_set_scale_nan(void) { return tg_dataset_set_scale(small_dataset(), NAN) != TG_OK; }
static bool dataset_feature_row(void) { return is_nan(tg_dataset_feature(small_dataset(), 10, 0)); }
static bool dataset_feature_column(void) { return is_nan(tg_dataset_feature(small_dataset(), 0, -1)); }
static bool dataset_class_row(void) { return tg_dataset_class(small_dataset(), -1) == -1; }
static bool dataset_target_kind(void) { return is_nan(tg_dataset_target(small_dataset(), 0, 0)); }
static bool random_permutation_null_rng(void)
{
    int64_t order[4];
    return tg_random_permutation(NULL, 4, order) != TG_OK;
}
static bool random_permutation_negative(void)
{
    tg_rng rng = tg_rng_seeded(1);
    int64_t order[4];
    return tg_random_permutation(&rng, -4, order) != TG_OK;
}
static bool random_permutation_null_order(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_random_permutation(&rng, 4, NULL) != TG_OK;
}
static bool subset_row_range(void)
{
    int64_t rows[] = {0, 10};
    return tg_dataset_subset(small_dataset(), rows, 2) == NULL;
}
static bool subset_negative_count(void)
{
    int64_t rows[] = {0};
    return tg_dataset_subset(small_dataset(), rows, -1) == NULL;
}
static bool subset_null_rows(void) { return tg_dataset_subset(small_dataset(), NULL, 2) == NULL; }
static bool split_fraction_above_one(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_dataset *train = (tg_dataset *)1, *validation = (tg_dataset *)1;
    return tg_dataset_split(small_dataset(), 1.5, &rng, &train, &validation) != TG_OK && !train && !validation;
}
static bool split_fraction_negative(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_dataset *train, *validation;
    return tg_dataset_split(small_dataset(), -0.25, &rng, &train, &validation) != TG_OK;
}
static bool split_fraction_nan(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_dataset *train, *validation;
    return tg_dataset_split(small_dataset(), NAN, &rng, &train, &validation) != TG_OK;
}
static bool split_null_rng(void)
{
    tg_dataset *train, *validation;
    return tg_dataset_split(small_dataset(), 0.5, NULL, &train, &validation) != TG_OK;
}
static bool split_null_train(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_dataset *validation;
    return tg_dataset_split(small_dataset(), 0.5, &rng, NULL, &validation) != TG_OK;
}
static bool fill_batch_x_shape(void)
{
    int64_t rows[] = {0, 1};
    return tg_dataset_fill_batch(small_dataset(), rows, 2, mat(2, 3), NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_batch_y_shape(void)
{
    int64_t rows[] = {0, 1};
    return tg_dataset_fill_batch(small_dataset(), rows, 2, mat(2, 2), vec(3), TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_batch_row(void)
{
    int64_t rows[] = {0, 11};
    return tg_dataset_fill_batch(small_dataset(), rows, 2, mat(2, 2), NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_batch_tape_x(void)
{
    int64_t rows[] = {0, 1};
    tg_tensor *x = tg_neg(mat(2, 2));
    return tg_dataset_fill_batch(small_dataset(), rows, 2, x, NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_batch_null_x(void)
{
    int64_t rows[] = {0, 1};
    return tg_dataset_fill_batch(small_dataset(), rows, 2, NULL, NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_batch_one_hot_shape(void)
{
    int64_t rows[] = {0, 1};
    return tg_dataset_fill_batch(small_dataset(), rows, 2, mat(2, 2), mat(2, 2), TG_ENCODE_ONE_HOT) != TG_OK;
}
static bool fill_range_past_end(void)
{
    return tg_dataset_fill_range(small_dataset(), 9, 2, mat(2, 2), NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool fill_range_negative_first(void)
{
    return tg_dataset_fill_range(small_dataset(), -1, 2, mat(2, 2), NULL, TG_ENCODE_INDEX) != TG_OK;
}
static bool batches_size_zero(void) { return tg_batches_new(small_dataset(), 0, TG_F32, TG_ENCODE_INDEX) == NULL; }
static bool batches_size_negative(void) { return tg_batches_new(small_dataset(), -8, TG_F32, TG_ENCODE_INDEX) == NULL; }
static bool batches_null_dataset(void) { return tg_batches_new(NULL, 4, TG_F32, TG_ENCODE_INDEX) == NULL; }
static bool batches_dtype(void) { return tg_batches_new(small_dataset(), 4, (tg_dtype)6, TG_ENCODE_INDEX) == NULL; }
static bool batches_encoding(void)
{
    return tg_batches_new(small_dataset(), 4, TG_F32, (tg_label_encoding)5) == NULL;
}
static bool batches_shuffle_null(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_batches_shuffle(NULL, &rng) != TG_OK;
}
static bool batches_next_null(void)
{
    tg_tensor *x, *y;
    return tg_batches_next(NULL, &x, &y) == -1;
}
static bool batches_next_null_x(void)
{
    tg_batches *b = keep(KEPT_BATCHES, tg_batches_new(small_dataset(), 4, TG_F32, TG_ENCODE_INDEX));
    tg_tensor *y;
    return tg_batches_next(b, NULL, &y) == -1;
}
static bool batches_per_epoch_null(void) { return tg_batches_per_epoch(NULL) == 0; }
static bool batches_position_null(void) { return tg_batches_position(NULL) == -1; }
static tg_batches *small_batches(void)
{
    return keep(KEPT_BATCHES, tg_batches_new(small_dataset(), 4, TG_F32, TG_ENCODE_INDEX));
}
static bool batches_get_order_null_order(void) { return tg_batches_get_order(small_batches(), NULL) != TG_OK; }
static bool batches_restore_null(void)
{
    int64_t order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    return tg_batches_restore(NULL, order, 0) != TG_OK;
}
static bool batches_restore_position(void)
{
    int64_t order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    return tg_batches_restore(small_batches(), order, 11) != TG_OK;
}
static bool batches_restore_repeat(void)
{
    int64_t order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 3};
    return tg_batches_restore(small_batches(), order, 0) != TG_OK;
}
static bool scaler_standard_null(void) { return tg_scaler_fit_standard(NULL) == NULL; }
static bool scaler_standard_empty(void)
{
    int64_t shape[] = {2};
    tg_dataset *ds = keep_dataset(tg_dataset_new(TG_FEATURES_F64, 0, 1, shape, TG_LABELS_NONE, 0));
    return tg_scaler_fit_standard(ds) == NULL;
}
static bool scaler_minmax_lo_hi(void) { return tg_scaler_fit_minmax(small_dataset(), 1.0, 1.0) == NULL; }
static bool scaler_minmax_nan(void) { return tg_scaler_fit_minmax(small_dataset(), NAN, 1.0) == NULL; }
static bool set_scaler_feature_size(void)
{
    tg_scaler *scaler = keep(KEPT_SCALER, tg_scaler_fit_standard(small_dataset()));
    int64_t shape[] = {3};
    tg_dataset *other = keep_dataset(tg_dataset_new(TG_FEATURES_F64, 2, 1, shape, TG_LABELS_NONE, 0));
    return tg_dataset_set_scaler(other, scaler) != TG_OK;
}
static bool set_scaler_null_dataset(void)
{
    tg_scaler *scaler = keep(KEPT_SCALER, tg_scaler_fit_standard(small_dataset()));
    return tg_dataset_set_scaler(NULL, scaler) != TG_OK;
}
static bool scaler_shift_range(void)
{
    tg_scaler *scaler = keep(KEPT_SCALER, tg_scaler_fit_standard(small_dataset()));
    return is_nan(tg_scaler_shift(scaler, 2));
}
static bool scaler_factor_range(void)
{
    tg_scaler *scaler = keep(KEPT_SCALER, tg_scaler_fit_standard(small_dataset()));
    return is_nan(tg_scaler_factor(scaler, -1));
}
static bool scaler_factor_null(void) { return is_nan(tg_scaler_factor(NULL, 0)); }
static bool scaler_shift_null(void) { return is_nan(tg_scaler_shift(NULL, 0)); }
static bool csv_load_null(void) { return tg_csv_load(NULL, NULL) == NULL; }
static bool csv_load_missing(void) { return tg_csv_load(temp_path("none.csv"), NULL) == NULL; }
static bool csv_load_bad_number(void)
{
    const char *path = temp_path("t.csv");
    write_text(path, "1,2,0\n3,abc,1\n");
    return tg_csv_load(path, NULL) == NULL;
}
static bool csv_load_label_column(void)
{
    const char *path = temp_path("t.csv");
    write_text(path, "1,2,0\n3,4,1\n");
    tg_csv_options options = {.delimiter = ',', .label_column = 5, .label_kind = TG_LABELS_CLASS,
                              .storage = TG_FEATURES_F64};
    return tg_csv_load(path, &options) == NULL;
}
static bool csv_load_storage(void)
{
    const char *path = temp_path("t.csv");
    write_text(path, "1,2,0\n3,4,1\n");
    tg_csv_options options = {.delimiter = ',', .label_column = -1, .label_kind = TG_LABELS_CLASS,
                              .storage = TG_FEATURES_U8};
    return tg_csv_load(path, &options) == NULL;
}
static bool mnist_find_dir_null(void) { return tg_mnist_find_dir(NULL, 100) != TG_OK; }
static bool mnist_find_dir_small(void)
{
    char buf[1];
    return tg_mnist_find_dir(buf, 0) != TG_OK;
}
static bool mnist_load_split(void) { return tg_mnist_load(temp_path(""), "validation") == NULL; }
static bool mnist_load_null_split(void) { return tg_mnist_load(temp_path(""), NULL) == NULL; }
static bool circles_negative_n(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_circles(&rng, -1, 0.1, 0.5) == NULL;
}
static bool circles_factor_one(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_circles(&rng, 10, 0.1, 1.0) == NULL;
}
static bool circles_noise_negative(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_circles(&rng, 10, -0.1, 0.5) == NULL;
}
static bool circles_null_rng(void) { return tg_make_circles(NULL, 10, 0.1, 0.5) == NULL; }
static bool moons_noise_nan(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_moons(&rng, 10, NAN) == NULL;
}
static bool moons_negative_n(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_moons(&rng, -10, 0.1) == NULL;
}
static bool spirals_one_class(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_make_spirals(&rng, 10, 1, 0.1) == NULL;
}
static bool spirals_null_rng(void) { return tg_make_spirals(NULL, 10, 3, 0.1) == NULL; }

/* ---- issue 21, items 11 and 12 and the smaller ones (t21-io) ---- */
static bool zeros_zero_and_huge_sizes(void)
{
    const int64_t g = (int64_t)1 << 62;
    return tg_zeros(TG_F32, 3, (const int64_t[]){0, g, g}) == NULL;
}
static bool pad_to_overflowing_strides(void)
{
    tg_tensor *x = tg_zeros(TG_F32, 3, (const int64_t[]){0, 1, 1});
    tg_tensor *once = tg_pad(x, 1, (int64_t)1 << 40, 0);
    bool refused = once && tg_pad(once, 2, 0, (int64_t)1 << 40) == NULL;
    tg_free(x);
    return refused;
}
static bool csv_load_huge_class(void)
{
    const char *path = temp_path("t.csv");
    write_text(path, "0.5,2147483646\n");
    return tg_csv_load(path, NULL) == NULL;
}
static bool csv_load_negative_max_classes(void)
{
    const char *path = temp_path("t.csv");
    write_text(path, "0.5,1\n");
    tg_csv_options options = {.delimiter = ',', .label_column = -1, .label_kind = TG_LABELS_CLASS,
                              .storage = TG_FEATURES_F64, .max_classes = -1};
    return tg_csv_load(path, &options) == NULL;
}
static bool csv_load_overlong_field(void)
{
    const char *path = temp_path("t.csv");
    static char text[TG_CSV_FIELD_MAX + 16];
    memset(text, '1', TG_CSV_FIELD_MAX + 1);
    snprintf(text + TG_CSV_FIELD_MAX + 1, 8, ",0\n");
    write_text(path, text);
    return tg_csv_load(path, NULL) == NULL;
}
static bool gunzip_trailing_garbage(void)
{
    /* The empty member (gzip of ""), then "xy". */
    static const uint8_t bytes[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'x',  'y'};
    uint8_t *out = NULL;
    size_t size = 0;
    return tg_gunzip(bytes, sizeof bytes, 100, &out, &size) != TG_OK && out == NULL;
}
static bool rand_uniform_f32_beyond_float_range(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_uniform(&rng, TG_F32, 2, shape_2x3, -1e300, 1e300) == NULL;
}
static bool rand_uniform_f32_no_float_in_bounds(void)
{
    /* Both bounds round to 1 + 2^-23 = 1.00000011920928955 in float32. */
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_uniform(&rng, TG_F32, 2, shape_2x3, 1.00000011, 1.000000115) == NULL;
}
static bool rand_normal_f32_beyond_float_range(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_normal(&rng, TG_F32, 2, shape_2x3, 3e38, 1e37) == NULL;
}
static bool rand_normal_f64_std_overflows(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_rand_normal(&rng, TG_F64, 2, shape_2x3, 0, 1e308) == NULL;
}

/* ---- issue 23 (gradtools): autodiff.h ---- */
static tg_tensor *sum_of_squares(tg_tensor *const *inputs, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_sum(tg_mul(inputs[0], inputs[0]));
}
static tg_tensor *squares(tg_tensor *const *inputs, int n, void *ctx)
{
    (void)n;
    (void)ctx;
    return tg_mul(inputs[0], inputs[0]);
}
static tg_tensor *silent_null(tg_tensor *const *inputs, int n, void *ctx)
{
    (void)inputs;
    (void)n;
    (void)ctx;
    return NULL;
}
static bool vjp_null_f(void)
{
    tg_tensor *x = mat(2, 3), *g = NULL;
    return tg_vjp(NULL, NULL, 1, &x, NULL, NULL, &g) != TG_OK && !g;
}
static bool vjp_tape_input(void)
{
    tg_tensor *x = taped(), *g = NULL;
    return tg_vjp(sum_of_squares, NULL, 1, &x, NULL, NULL, &g) != TG_OK && !g;
}
static bool vjp_v_shape(void)
{
    tg_tensor *x = mat(2, 3), *v = mat(2, 2), *g = NULL;
    return tg_vjp(squares, NULL, 1, &x, v, NULL, &g) != TG_OK && !g;
}
static bool vjp_no_v_for_matrix(void)
{
    tg_tensor *x = mat(2, 3), *g = NULL, *value = NULL;
    return tg_vjp(squares, NULL, 1, &x, NULL, &value, &g) != TG_OK && !g && !value;
}
static bool vjp_null_results(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_vjp(sum_of_squares, NULL, 1, &x, NULL, NULL, NULL) != TG_OK;
}
static bool jvp_tangent_shape(void)
{
    tg_tensor *x = mat(2, 3), *t = mat(3, 2), *jv = NULL;
    return tg_jvp(squares, NULL, 1, &x, &t, NULL, &jv) != TG_OK && !jv;
}
static bool jvp_null_tangents(void)
{
    tg_tensor *x = mat(2, 3), *jv = NULL;
    return tg_jvp(squares, NULL, 1, &x, NULL, NULL, &jv) != TG_OK && !jv;
}
static bool hvp_matrix_output(void)
{
    tg_tensor *x = mat(2, 3), *hv = NULL;
    return tg_hvp(squares, NULL, 1, &x, &x, NULL, &hv) != TG_OK && !hv;
}
static bool hvp_null_v(void)
{
    tg_tensor *x = mat(2, 3), *hv = NULL;
    return tg_hvp(sum_of_squares, NULL, 1, &x, NULL, NULL, &hv) != TG_OK && !hv;
}
static bool jacobian_n_zero(void)
{
    tg_tensor *x = mat(2, 3), *J = NULL;
    return tg_jacobian(squares, NULL, 0, &x, &J) != TG_OK && !J;
}
static bool jacobian_too_many_axes(void)
{
    static const int64_t shape5[5] = {1, 1, 2, 1, 1};
    tg_tensor *x = keep(KEPT_TENSOR, tg_zeros(TG_F64, 5, shape5)), *J = NULL;
    return tg_jacobian(squares, NULL, 1, &x, &J) != TG_OK && !J;
}
static bool hessian_matrix_output(void)
{
    tg_tensor *x = mat(2, 3), *H = NULL;
    return tg_hessian(squares, NULL, 1, &x, &H) != TG_OK && !H;
}
static bool hessian_silent_null(void)
{
    tg_tensor *x = mat(2, 3), *H = NULL;
    return tg_hessian(silent_null, NULL, 1, &x, &H) != TG_OK && !H;
}

static bool gradgradcheck_null_f(void)
{
    tg_tensor *x = mat(2, 3);
    return tg_gradgradcheck(NULL, NULL, 1, &x, NULL, NULL) != TG_OK;
}
static bool gradgradcheck_f32_input(void)
{
    tg_tensor *x = mat32(2, 3);
    return tg_gradgradcheck(sum_of_squares, NULL, 1, &x, NULL, NULL) != TG_OK;
}
static bool gradgradcheck_eps_zero(void)
{
    tg_tensor *x = mat(2, 3);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.eps = 0;
    return tg_gradgradcheck(sum_of_squares, NULL, 1, &x, &options, NULL) != TG_OK;
}
static bool gradgradcheck_f_fails(void)
{
    tg_tensor *x = mat(2, 3);
    tg_gradcheck_result result;
    return tg_gradgradcheck(silent_null, NULL, 1, &x, NULL, &result) != TG_OK && result.worst_input == -1;
}

/* ---- issue 23 (gradtools): graph.h ---- */
static bool graph_null_out(void) { return tg_graph_write_dot(NULL, mat(2, 3), TG_GRAPH_DEFAULT) != TG_OK; }
static bool graph_unknown_flags(void) { return tg_graph_write_dot(stderr, mat(2, 3), 6) != TG_OK; }
static bool graph_null_model(void)
{
    return tg_graph_write_dot_model(stderr, mat(2, 3), NULL, TG_GRAPH_DEFAULT) != TG_OK;
}
static bool graph_null_output(void) { return tg_graph_write_dot(stderr, NULL, TG_GRAPH_DEFAULT) != TG_OK; }

/* ---- issue 23: summary.h ---- */
static bool summary_null_out(void) { return tg_model_summary(NULL, small_model(3), mat(2, 2)) != TG_OK; }
static bool summary_null_model(void) { return tg_model_summary(stderr, NULL, mat(2, 2)) != TG_OK; }
static bool summary_null_input(void) { return tg_model_summary(stderr, small_model(3), NULL) != TG_OK; }
static bool summary_wrong_input(void) { return tg_model_summary(stderr, small_model(3), mat(2, 5)) != TG_OK; }

/* ---- issue 23 (gradtools): progress.h ---- */
static bool progress_null_out(void) { return tg_progress_new(NULL, "x", 10, TG_PROGRESS_AUTO) == NULL; }
static bool progress_negative_total(void) { return tg_progress_new(stderr, "x", -5, TG_PROGRESS_AUTO) == NULL; }
static bool progress_unknown_style(void) { return tg_progress_new(stderr, "x", 10, (tg_progress_style)9) == NULL; }
static bool progress_negative_steps(void)
{
    tg_progress *p = tg_progress_new(stderr, "x", 10, TG_PROGRESS_LINES);
    bool refused = tg_progress_advance(p, -3) != TG_OK;
    tg_progress_finish(p, false);
    return refused;
}
static bool progress_ninth_metric(void)
{
    tg_progress *p = tg_progress_new(stderr, "x", 10, TG_PROGRESS_LINES);
    static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < 8; i++) tg_progress_set_metric(p, names[i], i);
    bool refused = tg_progress_set_metric(p, "ninth", 9) != TG_OK;
    tg_progress_finish(p, false);
    return refused;
}
static bool progress_interval_nan(void)
{
    tg_progress *p = tg_progress_new(stderr, "x", 10, TG_PROGRESS_LINES);
    bool refused = tg_progress_set_interval(p, NAN) != TG_OK;
    tg_progress_finish(p, false);
    return refused;
}
static bool metrics_log_missing_dir(void)
{
    return tg_metrics_log_open("/nonexistent-tapegrad-dir/m.csv", TG_METRICS_CSV) == NULL;
}
static bool metrics_log_unknown_format(void) { return tg_metrics_log_open("/tmp/m.csv", (tg_metrics_format)4) == NULL; }
static bool metrics_log_csv_renamed_column(void)
{
    char path[] = "/tmp/tapegrad_bad_metrics_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return false;
    close(fd);
    tg_metrics_log *log = tg_metrics_log_open(path, TG_METRICS_CSV);
    tg_metrics_log_write(log, 1, 1, (const char *[]){"loss"}, (double[]){1});
    bool refused = tg_metrics_log_write(log, 2, 1, (const char *[]){"lost"}, (double[]){1}) != TG_OK;
    tg_metrics_log_close(log);
    remove(path);
    return refused;
}
static bool metrics_log_zero_values(void)
{
    char path[] = "/tmp/tapegrad_bad_metrics_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return false;
    close(fd);
    tg_metrics_log *log = tg_metrics_log_open(path, TG_METRICS_JSONL);
    bool refused = tg_metrics_log_write(log, 1, 0, (const char *[]){"loss"}, (double[]){1}) != TG_OK;
    tg_metrics_log_close(log);
    remove(path);
    return refused;
}

/* ====================================================================
 * The table
 * ==================================================================== */

#define ARG TG_ERR_ARGUMENT
#define SHAPE TG_ERR_SHAPE
#define DTYPE TG_ERR_DTYPE
#define AXIS TG_ERR_AXIS
#define TAPE TG_ERR_TAPE
#define MEMORY TG_ERR_MEMORY
#define IO TG_ERR_IO
#define FORMAT TG_ERR_FORMAT
#define NUMERIC TG_ERR_NUMERIC

/* ---- in-place changes of recorded tensors, tg_gradients' wrt (tape.h) ---- */
static bool backward_input_changed(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *loss = tg_sum(tg_mul(w, w));
    tg_set_flat(w, 0, 10.0);
    return tg_backward(loss, NULL) != TG_OK;
}
static bool gradients_output_changed(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *e = tg_exp(w);
    tg_tensor *grads[1];
    tg_set_flat(e, 1, 10.0);
    return tg_gradients(tg_sum(e), NULL, 1, &w, grads, false) != TG_OK;
}
static bool gradients_foreign_wrt(void)
{
    tg_tensor *w = par(2, 3);
    tg_tensor *wrt[] = {w, foreign()};
    tg_tensor *grads[2];
    return tg_gradients(tg_sum(w), NULL, 2, wrt, grads, false) != TG_OK;
}

/* ---- PyTorch-layout checkpoints and stored dtypes (nn.h, checkpoint.h) ---- */

static bool module_transposed_rank_1(void)
{
    tg_module *module = keep(KEPT_LAYER, tg_module_new("custom", identity_forward));
    cr_assert_not_null(tg_module_add_param(module, "scale", tg_zeros(TG_F64, 1, (int64_t[]){3})));
    return tg_module_transpose_in_files(module, "scale") != TG_OK;
}
static bool model_load_unknown_layout(void)
{
    const char *path = temp_path("m.safetensors");
    tg_model *model = small_model(3);
    tg_tensor *params[4];
    tg_model_params(model, params, 4);
    const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    const char *keys[] = {TG_MODEL_LAYOUT_KEY}, *values[] = {"jax"};
    cr_assert_eq(tg_checkpoint_save(path, 4, names, (const tg_tensor *const *)params, 1, keys, values), TG_OK);
    return tg_model_load(model, path) != TG_OK;
}
/* A file holding one I64 tensor "n" = {value}, written by hand. */
/* A file holding one 8-byte integer "n" of the safetensors dtype `code`
 * ("I64" or "U64"). */
static const char *save_integer(const char *file, const char *code, uint64_t value)
{
    const char *path = temp_path(file);
    char json[] = "{\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
    memcpy(strstr(json, "I64"), code, 3);
    unsigned char raw[8 + sizeof json - 1 + 8];
    for (int b = 0; b < 8; b++) raw[b] = (unsigned char)((uint64_t)(sizeof json - 1) >> (8 * b));
    memcpy(raw + 8, json, sizeof json - 1);
    for (int b = 0; b < 8; b++) raw[8 + sizeof json - 1 + (size_t)b] = (unsigned char)(value >> (8 * b));
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(raw, 1, sizeof raw, f), sizeof raw);
    fclose(f);
    return path;
}
static const char *save_i64(const char *file, uint64_t value) { return save_integer(file, "I64", value); }
static bool checkpoint_load_inexact_integer(void)
{
    const char *names[] = {"n"};
    tg_tensor *tensors[] = {keep_tensor(tg_zeros(TG_F32, 1, (int64_t[]){1}))};
    return tg_checkpoint_load_into(save_i64("i.safetensors", UINT64_C(16777217)), 1, names, tensors) != TG_OK;
}
static bool checkpoint_read_tensor_inexact_integer(void)
{
    /* (An I64 reads as int64, exactly: U64 is read as float64.) */
    const char *path = save_integer("i.safetensors", "U64", UINT64_C(9007199254740993));
    tg_checkpoint *ck = keep(KEPT_CHECKPOINT, tg_checkpoint_open(path));
    return tg_checkpoint_read_tensor(ck, "n") == NULL;
}

/* ---- issue 21 (nn): tg_where ---- */
static bool where_dtypes(void) { return tg_where(mat32(2, 3), mat(2, 3), mat(2, 3)) == NULL; }
static bool where_shapes(void) { return tg_where(mat(2, 3), mat(2, 3), mat(3, 2)) == NULL; }
static bool where_mask_shape(void) { return tg_where(mat(4, 1), mat(2, 3), mat(2, 3)) == NULL; }
static bool where_null_mask(void) { return tg_where(NULL, mat(2, 3), mat(2, 3)) == NULL; }
static bool where_stale(void) { return tg_where(mat(2, 3), stale(), mat(2, 3)) == NULL; }

/* ---- issue 21 (nn): layer ownership and tied parameters ---- */
static tg_layer *dense_3x(int64_t out, tg_dtype dtype)
{
    tg_rng rng = tg_rng_seeded(3);
    return keep(KEPT_LAYER, tg_dense_new(&rng, dtype, 3, out, TG_INIT_GLOROT_UNIFORM));
}
static bool tie_shape(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), "weight", dense_3x(2, TG_F64), "weight") != TG_OK; }
static bool tie_dtype(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), "weight", dense_3x(3, TG_F32), "weight") != TG_OK; }
static bool tie_unknown_name(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), "kernel", dense_3x(3, TG_F64), "weight") != TG_OK; }
static bool tie_unknown_source_name(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), "bias", dense_3x(3, TG_F64), "gain") != TG_OK; }
static bool tie_null_source(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), "weight", NULL, "weight") != TG_OK; }
static bool tie_null_name(void) { return tg_layer_tie_param(dense_3x(3, TG_F64), NULL, dense_3x(3, TG_F64), "weight") != TG_OK; }
/* The layers then hold each other: kept in a model, which frees them. */
static bool tie_cycle(void)
{
    tg_rng rng = tg_rng_seeded(3);
    tg_model *model = keep(KEPT_MODEL, tg_model_new());
    tg_layer *a = tg_dense_new(&rng, TG_F64, 3, 3, TG_INIT_GLOROT_UNIFORM);
    tg_layer *b = tg_dense_new(&rng, TG_F64, 3, 3, TG_INIT_GLOROT_UNIFORM);
    tg_model_add(model, a);
    tg_model_add(model, b);
    cr_assert_eq(tg_layer_tie_param(b, "weight", a, "weight"), TG_OK);
    return tg_layer_tie_param(a, "bias", b, "bias") != TG_OK;
}
static bool tie_lent_slot(void)
{
    tg_rng rng = tg_rng_seeded(3);
    tg_model *model = keep(KEPT_MODEL, tg_model_new());
    tg_layer *a = tg_dense_new(&rng, TG_F64, 3, 3, TG_INIT_GLOROT_UNIFORM);
    tg_layer *b = tg_dense_new(&rng, TG_F64, 3, 3, TG_INIT_GLOROT_UNIFORM);
    tg_model_add(model, a);
    tg_model_add(model, b);
    cr_assert_eq(tg_layer_tie_param(b, "weight", a, "weight"), TG_OK);
    return tg_layer_tie_param(a, "weight", dense_3x(3, TG_F64), "weight") != TG_OK;
}
static bool layer_free_held(void)
{
    tg_layer_free(tg_model_layer(small_model(3), 0));
    return true; /* void: the report is the error value */
}

/* ---- issue 24 (house): helpers made public for layers and optimizers ---- */
static bool tensor_check_null(void) { return tg_tensor_check("tg_my_layer", "x", NULL) == TG_ERR_ARGUMENT; }
static bool tensor_check_stale(void) { return tg_tensor_check("tg_my_layer", "x", stale()) == TG_ERR_TAPE; }
static bool shape_validate_null_numel(void)
{
    int64_t shape[] = {2, 3};
    return tg_shape_validate("tg_my_layer", 2, shape, TG_F32, NULL) == TG_ERR_ARGUMENT;
}
static bool shape_validate_negative(void)
{
    int64_t shape[] = {2, -5}, numel = 7;
    return tg_shape_validate("tg_my_layer", 2, shape, TG_F64, &numel) == TG_ERR_SHAPE && numel == 7;
}
static bool tensor_changed_null(void)
{
    tg_tensor_changed(NULL);
    return true; /* void: the report is the error value */
}

/* ---- issue 18 (modules): nested modules, buffers, dotted names ---- */
static tg_module *plain_module(void) { return keep(KEPT_LAYER, tg_module_new("plain", identity_forward)); }
static bool module_new_null_kind(void) { return tg_module_new(NULL, identity_forward) == NULL; }
static bool module_new_empty_kind(void) { return tg_module_new("", identity_forward) == NULL; }
static bool module_new_n_null_forward(void) { return tg_module_new_n("pair", NULL) == NULL; }
static bool module_set_state_null(void) { return tg_module_set_state(NULL, NULL, NULL) != TG_OK; }
static bool module_kind_null(void) { return tg_module_kind(NULL) == NULL; }
static bool module_add_buffer_dotted(void)
{
    return tg_module_add_buffer(plain_module(), "running.mean", tg_zeros(TG_F64, 1, (int64_t[]){2})) == NULL;
}
static bool module_add_buffer_taken(void)
{
    tg_module *m = plain_module();
    cr_assert_not_null(tg_module_add_param(m, "w", tg_zeros(TG_F64, 1, (int64_t[]){2})));
    return tg_module_add_buffer(m, "w", tg_zeros(TG_F64, 1, (int64_t[]){2})) == NULL;
}
static bool module_add_child_taken(void)
{
    tg_module *m = plain_module();
    cr_assert_not_null(tg_module_add_child(m, "block", tg_model_new()));
    return tg_module_add_child(m, "block", tg_model_new()) == NULL;
}
static bool module_add_child_null(void) { return tg_module_add_child(plain_module(), "x", NULL) == NULL; }
static bool module_param_unknown_path(void) { return tg_module_param(small_model(3), "0.gain") == NULL; }
static bool module_buffer_unknown_path(void) { return tg_module_buffer(small_model(3), "1.running_mean") == NULL; }
static bool module_child_at_index(void) { return tg_module_child_at(small_model(3), 3, NULL) == NULL; }
static bool module_forward_n_zero_inputs(void)
{
    tg_tensor *out[1];
    return tg_module_forward_n(small_model(3), 0, out, 1, out) == -1;
}
static bool module_forward_two_into_one(void)
{
    tg_tensor *in[2] = {mat(2, 2), mat(2, 2)}, *out[1];
    return tg_module_forward_n(plain_module(), 2, in, 1, out) == -1;
}
static bool module_transpose_unknown(void) { return tg_module_transpose_in_files(plain_module(), "kernel") != TG_OK; }
static bool module_tie_null_source(void)
{
    return tg_module_tie_param(tg_model_layer(small_model(3), 0), "weight", NULL, "weight") != TG_OK;
}
static bool module_param_at_index(void) { return tg_module_param_at(small_model(3), 9, NULL, 0) == NULL; }
static bool module_buffer_at_index(void) { return tg_module_buffer_at(small_model(3), 0, NULL, 0) == NULL; }
static bool module_load_buffer_shape(void)
{
    const char *path = temp_path("stat.safetensors");
    tg_module *saved = plain_module(), *other = plain_module();
    cr_assert_not_null(tg_module_add_buffer(saved, "running_var", tg_zeros(TG_F64, 1, (int64_t[]){6})));
    cr_assert_not_null(tg_module_add_buffer(other, "running_var", tg_zeros(TG_F64, 1, (int64_t[]){4})));
    cr_assert_eq(tg_module_save(saved, path), TG_OK);
    return tg_module_load(other, path) != TG_OK;
}
static bool leaky_relu_layer_nan(void) { return tg_leaky_relu_layer_new(NAN) == NULL; }
static bool conv2d_layer_groups(void)
{
    tg_rng rng = tg_rng_seeded(1);
    tg_conv2d_opts o = tg_conv2d_options(1, 0, 1, 2);
    return tg_conv2d_layer_new(&rng, TG_F64, 3, 4, 3, &o, true, TG_INIT_HE_UNIFORM) == NULL;
}
static bool conv2d_layer_kernel_zero(void)
{
    tg_rng rng = tg_rng_seeded(1);
    return tg_conv2d_layer_new(&rng, TG_F64, 3, 4, 0, NULL, true, TG_INIT_HE_UNIFORM) == NULL;
}
static bool max_pool2d_layer_padding(void) { return tg_max_pool2d_layer_new(2, 2, 3) == NULL; }
static bool batch_norm2d_layer_momentum(void) { return tg_batch_norm2d_layer_new(TG_F32, 4, 1e-5, 1.5) == NULL; }
static bool batch_norm2d_layer_rank(void)
{
    tg_layer *bn = keep(KEPT_LAYER, tg_batch_norm2d_layer_new(TG_F64, 3, 1e-5, 0.1));
    return tg_layer_forward(bn, mat(2, 3)) == NULL;
}
static bool layer_norm_layer_size(void) { return tg_layer_norm_layer_new(TG_F64, 1, (int64_t[]){0}, 1e-5, true) == NULL; }
static bool dropout_layer_p(void) { return tg_dropout_layer_new(1.0, 7) == NULL; }
static bool dropout_counter_not_dropout(void)
{
    return tg_dropout_layer_set_counter(keep(KEPT_LAYER, tg_activation_layer_new(TG_ACT_RELU)), 3) != TG_OK;
}
/* ---- issue 18 (conv): convolution and pooling ---- */
static tg_tensor *nchw(int64_t n, int64_t c, int64_t h, int64_t w) { return keep_tensor(tg_zeros(TG_F64, 4, (int64_t[]){n, c, h, w})); }
static tg_tensor *nchw32(int64_t n, int64_t c, int64_t h, int64_t w) { return keep_tensor(tg_zeros(TG_F32, 4, (int64_t[]){n, c, h, w})); }
static tg_tensor *conv_with(tg_conv2d_opts o) { return tg_conv2d(nchw(1, 4, 6, 6), nchw(4, 2, 3, 3), NULL, &o); }
static bool conv2d_channels(void) { return tg_conv2d(nchw(2, 3, 8, 8), nchw(6, 2, 5, 5), NULL, NULL) == NULL; }
static bool conv2d_kernel_too_big(void) { return tg_conv2d(nchw(1, 1, 4, 6), nchw(2, 1, 5, 5), NULL, NULL) == NULL; }
static bool conv2d_dilated_too_big(void) { return conv_with(tg_conv2d_options(1, 0, 3, 2)) == NULL; }
static bool conv2d_groups_in(void) { return conv_with(tg_conv2d_options(1, 0, 1, 3)) == NULL; }
static bool conv2d_groups_out(void) { return tg_conv2d(nchw(1, 4, 6, 6), nchw(3, 2, 3, 3), NULL, &(tg_conv2d_opts){1, 1, 0, 0, 0, 0, 1, 1, 2}) == NULL; }
static bool conv2d_groups_zero(void) { return conv_with(tg_conv2d_options(1, 0, 1, 0)) == NULL; }
static bool conv2d_stride_zero(void) { return conv_with((tg_conv2d_opts){0, 0, 0, 0, 0, 0, 0, 0, 0}) == NULL; }
static bool conv2d_stride_negative(void) { return conv_with(tg_conv2d_options(-2, 0, 1, 2)) == NULL; }
static bool conv2d_dilation_zero(void) { return conv_with((tg_conv2d_opts){1, 1, 0, 0, 0, 0, 1, 0, 2}) == NULL; }
static bool conv2d_padding_negative(void) { return conv_with((tg_conv2d_opts){1, 1, 0, -1, 0, 0, 1, 1, 2}) == NULL; }
static bool conv2d_x_rank(void) { return tg_conv2d(mat(2, 3), nchw(4, 2, 3, 3), NULL, NULL) == NULL; }
static bool conv2d_weight_rank(void) { return tg_conv2d(nchw(1, 4, 6, 6), mat(4, 9), NULL, NULL) == NULL; }
static bool conv2d_bias_size(void) { return tg_conv2d(nchw(1, 2, 6, 6), nchw(4, 2, 3, 3), vec(3), NULL) == NULL; }
static bool conv2d_dtypes(void) { return tg_conv2d(nchw32(1, 2, 6, 6), nchw(4, 2, 3, 3), NULL, NULL) == NULL; }
static bool conv2d_null_weight(void) { return tg_conv2d(nchw(1, 2, 6, 6), NULL, NULL, NULL) == NULL; }

static tg_tensor *ncl(int64_t n, int64_t c, int64_t l) { return keep_tensor(tg_zeros(TG_F64, 3, (int64_t[]){n, c, l})); }
static bool conv1d_channels(void) { return tg_conv1d(ncl(2, 3, 9), ncl(4, 2, 3), NULL, NULL) == NULL; }
static bool conv1d_x_rank(void) { return tg_conv1d(nchw(1, 2, 1, 9), ncl(4, 2, 3), NULL, NULL) == NULL; }
static bool conv1d_stride_zero(void) { return tg_conv1d(ncl(2, 2, 9), ncl(4, 2, 3), NULL, &(tg_conv1d_opts){0, 0, 0, 1, 1}) == NULL; }
static bool conv1d_kernel_too_big(void) { return tg_conv1d(ncl(2, 2, 4), ncl(4, 2, 6), NULL, NULL) == NULL; }
static bool conv_transpose2d_channels(void) { return tg_conv_transpose2d(nchw(1, 3, 4, 4), nchw(4, 2, 3, 3), NULL, NULL) == NULL; }
static bool conv_transpose2d_output_padding(void)
{
    tg_conv_transpose2d_opts o = {2, 2, 0, 0, 0, 0, 2, 0, 1, 1, 1};
    return tg_conv_transpose2d(nchw(1, 4, 4, 4), nchw(4, 2, 3, 3), NULL, &o) == NULL;
}
static bool conv_transpose2d_empty_output(void)
{
    tg_conv_transpose2d_opts o = {1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 1};
    return tg_conv_transpose2d(nchw(1, 4, 2, 2), nchw(4, 2, 3, 3), NULL, &o) == NULL;
}
static bool conv_transpose2d_groups(void)
{
    tg_conv_transpose2d_opts o = {1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 3};
    return tg_conv_transpose2d(nchw(1, 4, 4, 4), nchw(4, 2, 3, 3), NULL, &o) == NULL;
}
static bool max_pool2d_rank(void) { return tg_max_pool2d(mat(4, 4), 2, 2, 0) == NULL; }
static bool max_pool2d_kernel_too_big(void) { return tg_max_pool2d(nchw(1, 1, 3, 8), 5, 1, 0) == NULL; }
static bool max_pool2d_stride_zero(void) { return tg_max_pool2d(nchw(1, 1, 4, 4), 2, 0, 0) == NULL; }
static bool max_pool2d_padding(void) { return tg_max_pool2d(nchw(1, 1, 4, 4), 2, 2, 2) == NULL; }
static bool avg_pool2d_kernel_zero(void) { return tg_avg_pool2d(nchw(1, 1, 4, 4), 0, 1, 0) == NULL; }
static bool adaptive_avg_pool2d_zero(void) { return tg_adaptive_avg_pool2d(nchw(1, 1, 4, 4), 0, 2) == NULL; }
static bool flatten_axis(void) { return tg_flatten(nchw(1, 1, 4, 4), 1, 4) == NULL; }
static bool flatten_start_after_end(void) { return tg_flatten(nchw(1, 1, 4, 4), 2, 1) == NULL; }
/* ---- issue 18 (norms): normalization and dropout (norm.h) ---- */
static tg_tensor *vec32(int64_t n) { return keep_tensor(tg_zeros(TG_F32, 1, &n)); }
static tg_tensor *nchw_2322(void) { return keep_tensor(tg_zeros(TG_F64, 4, (int64_t[]){2, 3, 2, 2})); }
static bool layer_norm_weight_shape(void) { return tg_layer_norm(mat(2, 3), 1, vec(4), NULL, 1e-5) == NULL; }
static bool layer_norm_bias_shape(void) { return tg_layer_norm(mat(2, 3), 2, NULL, mat(3, 2), 1e-5) == NULL; }
static bool layer_norm_weight_dtype(void) { return tg_layer_norm(mat(2, 3), 1, vec32(3), NULL, 1e-5) == NULL; }
static bool layer_norm_too_many_axes(void) { return tg_layer_norm(mat(2, 3), 3, NULL, NULL, 1e-5) == NULL; }
static bool layer_norm_zero_axes(void) { return tg_layer_norm(mat(2, 3), 0, NULL, NULL, 1e-5) == NULL; }
static bool layer_norm_eps_zero(void) { return tg_layer_norm(mat(2, 3), 1, NULL, NULL, 0.0) == NULL; }
static bool layer_norm_eps_nan(void) { return tg_layer_norm(mat(2, 3), 1, NULL, NULL, NAN) == NULL; }
static bool layer_norm_empty_rows(void) { return tg_layer_norm(mat(2, 0), 1, NULL, NULL, 1e-5) == NULL; }
static bool layer_norm_null_x(void) { return tg_layer_norm(NULL, 1, NULL, NULL, 1e-5) == NULL; }
static bool batch_norm_rank_1(void) { return tg_batch_norm(vec(3), NULL, NULL, NULL, NULL, true, 0.1, 1e-5) == NULL; }
static bool batch_norm_weight_shape(void) { return tg_batch_norm(nchw_2322(), vec(4), NULL, NULL, NULL, true, 0.1, 1e-5) == NULL; }
static bool batch_norm_running_mean_size(void) { return tg_batch_norm(nchw_2322(), NULL, NULL, vec(4), vec(3), true, 0.1, 1e-5) == NULL; }
static bool batch_norm_running_var_size(void) { return tg_batch_norm(nchw_2322(), NULL, NULL, vec(3), vec(2), false, 0.1, 1e-5) == NULL; }
static bool batch_norm_only_running_mean(void) { return tg_batch_norm(nchw_2322(), NULL, NULL, vec(3), NULL, true, 0.1, 1e-5) == NULL; }
static bool batch_norm_running_requires_grad(void)
{
    tg_tensor *var = vec(3);
    tg_set_requires_grad(var, true);
    return tg_batch_norm(nchw_2322(), NULL, NULL, vec(3), var, true, 0.1, 1e-5) == NULL;
}
static bool batch_norm_momentum(void) { return tg_batch_norm(nchw_2322(), NULL, NULL, vec(3), vec(3), true, 1.5, 1e-5) == NULL; }
static bool batch_norm_eps_negative(void) { return tg_batch_norm(nchw_2322(), NULL, NULL, NULL, NULL, true, 0.1, -1e-5) == NULL; }
static bool batch_norm_one_value_per_channel(void) { return tg_batch_norm(mat(1, 3), NULL, NULL, NULL, NULL, true, 0.1, 1e-5) == NULL; }
static bool group_norm_groups_not_dividing(void) { return tg_group_norm(nchw_2322(), 2, NULL, NULL, 1e-5) == NULL; }
static bool group_norm_groups_zero(void) { return tg_group_norm(nchw_2322(), 0, NULL, NULL, 1e-5) == NULL; }
static bool group_norm_bias_shape(void) { return tg_group_norm(nchw_2322(), 3, NULL, vec(2), 1e-5) == NULL; }
static bool group_norm_rank_1(void) { return tg_group_norm(vec(3), 1, NULL, NULL, 1e-5) == NULL; }
static bool dropout_p_one(void) { return tg_dropout(mat(2, 3), 1.0, true, 1, 0) == NULL; }
static bool dropout_p_negative(void) { return tg_dropout(mat(2, 3), -0.25, true, 1, 0) == NULL; }
static bool dropout_p_nan(void) { return tg_dropout(mat(2, 3), NAN, false, 1, 0) == NULL; }
static bool dropout_null_x(void) { return tg_dropout(NULL, 0.5, true, 1, 0) == NULL; }
/* ---- issue 19 (attention branch): attention, GELU, language-model data, AdamW groups ---- */
static tg_tensor *heads(int64_t t, int64_t d) { return keep_tensor(tg_zeros(TG_F64, 3, (int64_t[]){2, t, d})); }
static bool sdpa_k_width(void) { return tg_scaled_dot_product_attention(heads(3, 4), heads(3, 5), heads(3, 4), NULL, false, 0) == NULL; }
static bool sdpa_v_rows(void) { return tg_scaled_dot_product_attention(heads(3, 4), heads(3, 4), heads(6, 4), NULL, false, 0) == NULL; }
static bool sdpa_dtypes(void)
{
    tg_tensor *q32 = keep_tensor(tg_zeros(TG_F32, 3, (int64_t[]){2, 3, 4}));
    return tg_scaled_dot_product_attention(q32, heads(3, 4), heads(3, 4), NULL, false, 0) == NULL;
}
static bool sdpa_mask_shape(void) { return tg_scaled_dot_product_attention(heads(3, 4), heads(3, 4), heads(3, 4), mat(3, 2), false, 0) == NULL; }
static bool sdpa_rank_1(void) { return tg_scaled_dot_product_attention(vec(4), vec(4), vec(4), NULL, false, 0) == NULL; }
static bool sdpa_zero_head(void) { return tg_scaled_dot_product_attention(heads(3, 0), heads(3, 0), heads(3, 4), NULL, false, 0) == NULL; }
static bool sdpa_scale_inf(void) { return tg_scaled_dot_product_attention(heads(3, 4), heads(3, 4), heads(3, 4), NULL, true, INFINITY) == NULL; }
static bool sdpa_null_v(void) { return tg_scaled_dot_product_attention(heads(3, 4), heads(3, 4), NULL, NULL, true, 0) == NULL; }
static bool sdpa_stale_mask(void) { return tg_scaled_dot_product_attention(heads(2, 3), heads(2, 3), heads(2, 3), stale(), false, 0) == NULL; }
static bool gelu_tanh_null(void) { return tg_gelu_tanh(NULL) == NULL; }
static bool gelu_tanh_stale(void) { return tg_gelu_tanh(stale()) == NULL; }
static bool erf_null(void) { return tg_erf(NULL) == NULL; }
static bool erf_stale(void) { return tg_erf(stale()) == NULL; }
static bool tokens_from_bytes_null(void) { return tg_tokens_from_bytes(NULL, 3) == NULL; }
static bool tokens_from_array_negative_count(void) { return tg_tokens_from_array(NULL, -2) == NULL; }
static bool tokens_read_text_missing(void) { return tg_tokens_read_text("/nonexistent/corpus.txt", 1 << 20) == NULL; }
static bool tokens_load_llmc_null(void) { return tg_tokens_load_llmc(NULL, 1 << 20) == NULL; }
static bool tokens_load_llmc_text(void)
{
    const char *path = temp_path("words.txt");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not tokens", f);
    fclose(f);
    return tg_tokens_load_llmc(path, 1 << 20) == NULL;
}
static bool tokens_count_null(void) { return tg_tokens_count(NULL) == -1; }
static bool tokens_data_null(void) { return tg_tokens_data(NULL) == NULL; }
static bool tokens_save_llmc_wide(void)
{
    tg_tokens *t = tg_tokens_from_array((int32_t[]){7, 70000}, 2);
    bool refused = tg_tokens_save_llmc(t, "/tmp/never_written.bin") != TG_OK;
    tg_tokens_free(t);
    return refused;
}
static bool tokens_decode_range(void)
{
    tg_tokens *t = tg_tokens_from_bytes("abc", 3);
    char out[4];
    bool refused = tg_tokens_decode_bytes(t, 2, 2, out) != TG_OK;
    tg_tokens_free(t);
    return refused;
}
static bool tokens_split_nan(void)
{
    tg_tokens *t = tg_tokens_from_bytes("abc", 3), *a, *b;
    bool refused = tg_tokens_split(t, NAN, &a, &b) != TG_OK;
    tg_tokens_free(t);
    return refused;
}
static bool token_batches_zero_batch(void)
{
    tg_tokens *t = tg_tokens_from_bytes("abcdef", 6);
    bool refused = tg_token_batches_new(t, 0, 2) == NULL;
    tg_tokens_free(t);
    return refused;
}
static bool token_batches_sample_null_rng(void)
{
    tg_tokens *t = tg_tokens_from_bytes("abcdef", 6);
    tg_token_batches *b = tg_token_batches_new(t, 1, 2);
    tg_tensor *x, *y;
    bool refused = tg_token_batches_sample(b, NULL, &x, &y) != TG_OK;
    tg_token_batches_free(b);
    tg_tokens_free(t);
    return refused;
}
static bool token_batches_fill_negative(void)
{
    tg_tokens *t = tg_tokens_from_bytes("abcdef", 6);
    tg_token_batches *b = tg_token_batches_new(t, 1, 2);
    tg_tensor *x, *y;
    bool refused = tg_token_batches_fill(b, (int64_t[]){-1}, &x, &y) != TG_OK;
    tg_token_batches_free(b);
    tg_tokens_free(t);
    return refused;
}
static tg_optimizer *adamw_of(tg_tensor *w)
{
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAMW);
    return keep(KEPT_OPTIMIZER, tg_optimizer_new(1, &w, &c));
}
static bool set_weight_decay_index(void) { return tg_optimizer_set_weight_decay(adamw_of(par(2, 3)), 1, 0.0) != TG_OK; }
static bool set_weight_decay_negative(void) { return tg_optimizer_set_weight_decay(adamw_of(par(2, 3)), 0, -0.1) != TG_OK; }
static bool set_weight_decay_null(void) { return tg_optimizer_set_weight_decay(NULL, 0, 0.0) != TG_OK; }
static bool set_weight_decay_for_stranger(void)
{
    tg_tensor *stranger = par(2, 3);
    return tg_optimizer_set_weight_decay_for(adamw_of(par(2, 3)), 1, &stranger, 0.0) != TG_OK;
}
static bool set_weight_decay_for_nan(void)
{
    tg_tensor *w = par(2, 3);
    return tg_optimizer_set_weight_decay_for(adamw_of(w), 1, &w, NAN) != TG_OK;
}
static bool weight_decay_index(void) { return isnan(tg_optimizer_weight_decay(adamw_of(par(2, 3)), -1)); }
static tg_tensor *zeros_of(int rank, const int64_t *shape) { return keep_tensor(tg_zeros(TG_F64, rank, shape)); }
static bool lstm_cell_w_hh_shape(void)
{
    tg_tensor *h1, *c1;
    return tg_lstm_cell(mat(1, 3), mat(1, 2), mat(1, 2), mat(8, 3), mat(8, 3), vec(8), vec(8), &h1, &c1) != TG_OK;
}
static bool lstm_cell_null_out(void)
{
    return tg_lstm_cell(mat(1, 3), mat(1, 2), mat(1, 2), mat(8, 3), mat(8, 2), vec(8), vec(8), NULL, NULL) != TG_OK;
}
static bool gru_cell_dtypes(void) { return tg_gru_cell(mat32(1, 3), mat(1, 2), mat(6, 3), mat(6, 2), vec(6), vec(6)) == NULL; }
static bool lstm_rank_2_x(void) { return tg_lstm(mat(1, 3), mat(1, 2), mat(1, 2), mat(8, 3), mat(8, 2), vec(8), vec(8), NULL, NULL) == NULL; }
static bool gru_bias_shape(void)
{
    return tg_gru(zeros_of(3, (int64_t[]){2, 1, 3}), mat(1, 2), mat(6, 3), mat(6, 2), vec(5), vec(6)) == NULL;
}
/* ---- end of issue 19 (attention branch) ---- */
/* ---- issue 18 (integers and indexing) ---- */
static tg_tensor *ints(int rank, const int64_t *shape, const int64_t *values)
{
    return keep_tensor(tg_from_array(TG_I64, rank, shape, values));
}
static tg_tensor *ints3(int64_t a, int64_t b, int64_t c) { return ints(1, (const int64_t[]){3}, (const int64_t[]){a, b, c}); }
static bool int_add(void) { return tg_add(ints3(1, 2, 3), ints3(1, 2, 3)) == NULL; }
static bool int_matmul(void)
{
    tg_tensor *a = ints(2, (const int64_t[]){1, 1}, (const int64_t[]){1});
    return tg_matmul(a, a) == NULL;
}
static bool int_requires_grad(void) { return tg_set_requires_grad(ints3(1, 2, 3), true) != TG_OK; }
static bool int_set_fraction(void) { return tg_set_flat(ints3(1, 2, 3), 0, 2.5) != TG_OK; }
static bool int_full_nan(void) { return tg_full(TG_I32, 1, (const int64_t[]){2}, NAN) == NULL; }
static bool int_to_dtype_nan(void) { return tg_to_dtype(keep_tensor(tg_full(TG_F64, 1, (const int64_t[]){1}, NAN)), TG_I64) == NULL; }
static bool int_data_f32(void) { return tg_data_f32(ints3(1, 2, 3)) == NULL; }
static bool data_i64_of_float(void) { return tg_data_i64(mat(2, 2)) == NULL; }
static bool const_data_i32_of_int64(void) { return tg_const_data_i32(ints3(1, 2, 3)) == NULL; }
static bool argmax_axis(void) { return tg_argmax(mat(2, 3), 2) == NULL; }
static bool argmax_empty(void) { return tg_argmax(mat(2, 0), 1) == NULL; }
static bool index_select_out_of_range(void) { return tg_index_select(mat(4, 3), 0, ints3(0, 4, 1)) == NULL; }
static bool index_select_negative(void) { return tg_index_select(mat(4, 3), 1, ints3(0, -2, 1)) == NULL; }
static bool index_select_float_idx(void) { return tg_index_select(mat(4, 3), 0, vec(3)) == NULL; }
static bool index_select_rank2_idx(void) { return tg_index_select(mat(4, 3), 0, ints(2, (const int64_t[]){1, 1}, (const int64_t[]){0})) == NULL; }
static bool index_select_axis(void) { return tg_index_select(mat(4, 3), 2, ints3(0, 1, 2)) == NULL; }
static bool index_select_int_x(void) { return tg_index_select(ints3(5, 6, 7), 0, ints3(0, 1, 2)) == NULL; }
static bool index_add_src_shape(void) { return tg_index_add(mat(4, 3), 0, ints3(0, 1, 2), mat(2, 3)) == NULL; }
static bool index_add_dtypes(void) { return tg_index_add(mat(4, 3), 0, ints3(0, 1, 2), mat32(3, 3)) == NULL; }
static bool index_add_out_of_range(void) { return tg_index_add(mat(4, 3), 0, ints3(0, 9, 2), mat(3, 3)) == NULL; }
static bool gather_rank(void) { return tg_gather(mat(4, 3), 1, ints3(0, 1, 2)) == NULL; }
static bool gather_too_large(void) { return tg_gather(mat(2, 3), 1, ints(2, (const int64_t[]){3, 1}, (const int64_t[]){0, 1, 2})) == NULL; }
static bool gather_out_of_range(void) { return tg_gather(mat(2, 3), 1, ints(2, (const int64_t[]){2, 1}, (const int64_t[]){0, 3})) == NULL; }
static bool gather_float_idx(void) { return tg_gather(mat(2, 3), 1, mat(2, 1)) == NULL; }
static bool scatter_add_shapes(void) { return tg_scatter_add(mat(2, 3), 1, ints(2, (const int64_t[]){2, 1}, (const int64_t[]){0, 1}), mat(2, 2)) == NULL; }
static bool scatter_add_negative(void) { return tg_scatter_add(mat(2, 3), 1, ints(2, (const int64_t[]){2, 1}, (const int64_t[]){0, -5}), mat(2, 1)) == NULL; }
static bool embedding_weight_rank(void) { return tg_embedding(vec(4), ints3(0, 1, 2)) == NULL; }
static bool embedding_out_of_range(void) { return tg_embedding(mat(4, 2), ints(2, (const int64_t[]){2, 2}, (const int64_t[]){0, 1, 3, 4})) == NULL; }
static bool embedding_null_idx(void) { return tg_embedding(mat(4, 2), NULL) == NULL; }
static bool eq_dtypes(void) { return tg_eq(ints3(1, 2, 3), vec(3)) == NULL; }
static bool lt_shapes(void) { return tg_lt(mat(2, 3), mat(3, 2)) == NULL; }
static bool ge_null(void) { return tg_ge(mat(2, 3), NULL) == NULL; }
static bool masked_fill_shape(void) { return tg_masked_fill(mat(2, 3), mat(4, 1), 0.0) == NULL; }
static bool masked_fill_grows_x(void) { return tg_masked_fill(vec(3), mat(2, 3), 0.0) == NULL; }
static bool masked_fill_dtype(void) { return tg_masked_fill(mat(2, 3), mat32(2, 3), 0.0) == NULL; }
static bool ce_ex_label_range(void) { return tg_cross_entropy_loss_ex(mat(3, 2), ints3(0, 2, -100), NULL) == NULL; }
static bool ce_ex_smoothing(void)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 1.5;
    return tg_cross_entropy_loss_ex(mat(3, 2), ints3(0, 1, 1), &o) == NULL;
}
static bool ce_ex_labels_shape(void) { return tg_cross_entropy_loss_ex(mat(2, 2), ints3(0, 1, 1), NULL) == NULL; }
static bool accuracy_int_label_range(void) { return isnan(tg_accuracy(mat(3, 2), ints3(0, 1, 5))); }

static bad_call rows[] = {
    /* error.h, threads.h */
    {"tg_set_error_mode", "unknown mode 7", set_error_mode_unknown, ARG, "7"},
    {"tg_set_num_threads", "n = 0", set_num_threads_zero, ARG, "0"},
    {"tg_set_num_threads", "n = -3", set_num_threads_negative, ARG, "-3"},
    {"tg_parallel_range", "NULL fn", parallel_range_null_fn, ARG, "fn"},
    {"tg_parallel_range", "cost -2", parallel_range_negative_cost, ARG, "-2"},
    {"tg_parallel_items", "cost NaN", parallel_items_nan_cost, ARG, "nan"},
    /* kernels.h */
    {"tg_gemm_f32", "k = -4", gemm_negative_k, ARG, "k = -4"},
    {"tg_gemm_f32", "ldc 4 < n 5", gemm_ldc_short, ARG, "ldc = 4"},
    {"tg_gemm_f32", "lda 5 < k 6", gemm_lda_short, ARG, "lda = 5"},
    {"tg_gemm_f32", "A^T stored 3 x 9 with lda 3", gemm_lda_short_transposed, ARG, "3 x 9"},
    {"tg_gemm_f64", "B^T stored 3 x 11 with ldb 10", gemm_ldb_short_transposed, ARG, "ldb = 10"},
    {"tg_gemm_f64", "NULL A", gemm_null_a, ARG, "A is NULL"},
    {"tg_gemm_f32", "NULL C", gemm_null_c, ARG, "C is NULL"},
    {"tg_gemm_f32", "k = 0 with NULL A and B (no error: not read)", gemm_k_zero_null_operands, TG_OK, ""},
    {"tg_gemm_batch_f32", "batch = -3", gemm_batch_negative_count, ARG, "batch = -3"},
    {"tg_gemm_batch_f64", "stride_a = -4", gemm_batch_negative_stride_a, ARG, "stride_a = -4"},
    {"tg_gemm_batch_f32", "stride_c 3 < span 4 of one C", gemm_batch_overlapping_c, ARG, "stride_c = 3"},
    {"tg_gemm_batch_f64", "lda 2 < k 3", gemm_batch_lda_short, ARG, "lda = 2"},
    {"tg_gemm_batch_f32", "NULL B", gemm_batch_null_b, ARG, "B is NULL"},
    /* tensor.h */
    {"tg_empty", "rank -1", empty_rank_negative, SHAPE, "-1"},
    {"tg_empty", "rank 9 > TG_MAX_RANK", empty_rank_9, SHAPE, "9"},
    {"tg_empty", "NULL shape for rank 2", empty_null_shape, ARG, "NULL"},
    {"tg_empty", "negative size", empty_negative_size, SHAPE, "(2,-3)"},
    {"tg_empty", "2^62 float64: bytes overflow size_t", empty_overflow_size_t, MEMORY, "(2147483648,2147483648)"},
    {"tg_empty", "2^80 elements: count overflows int64", empty_overflow_int64, MEMORY, "(1099511627776,1099511627776)"},
    {"tg_empty", "unknown dtype 5", empty_unknown_dtype, DTYPE, "5"},
    {"tg_zeros", "rank 9", zeros_rank_9, SHAPE, "9"},
    {"tg_zeros", "INT64_MAX x 2 elements", zeros_overflow, MEMORY, "9223372036854775807"},
    {"tg_ones", "negative size", ones_negative_size, SHAPE, "-1"},
    {"tg_ones", "NULL shape for rank 1", ones_null_shape, ARG, "NULL"},
    {"tg_full", "unknown dtype -1", full_unknown_dtype, DTYPE, "-1"},
    {"tg_full", "2^66 elements", full_overflow, MEMORY, "(4294967296,4294967296,4)"},
    {"tg_scalar", "unknown dtype 7", scalar_unknown_dtype, DTYPE, "7"},
    {"tg_from_array", "NULL data", from_array_null_data, ARG, "data"},
    {"tg_from_array", "rank -2", from_array_rank_negative, SHAPE, "-2"},
    {"tg_from_doubles", "NULL values", from_doubles_null_values, ARG, "values"},
    {"tg_from_doubles", "negative size", from_doubles_negative_size, SHAPE, "(3,-2)"},
    {"tg_arange", "step 0", arange_step_zero, ARG, "step=0"},
    {"tg_arange", "NaN stop", arange_nan_stop, ARG, "stop=nan"},
    {"tg_arange", "1e300 elements", arange_too_many, MEMORY, "1e+300"},
    {"tg_linspace", "count 0", linspace_count_zero, ARG, "count=0"},
    {"tg_linspace", "count -5", linspace_count_negative, ARG, "count=-5"},
    {"tg_linspace", "start -inf", linspace_inf_start, ARG, "start=-inf"},
    {"tg_linspace", "2^62 elements", linspace_too_many, MEMORY, "4611686018427387904"},
    {"tg_clone", "NULL", clone_null, ARG, "NULL"},
    {"tg_clone", "stale tensor", clone_stale, TAPE, "stale"},
    {"tg_free", "a tape tensor", free_tape_tensor, TAPE, "tape"},
    {"tg_set_requires_grad", "NULL", set_requires_grad_null, ARG, "NULL"},
    {"tg_set_requires_grad", "a tape tensor", set_requires_grad_tape, TAPE, "tape"},
    {"tg_set_requires_grad", "stale tensor", set_requires_grad_stale, TAPE, "stale"},
    {"tg_grad", "NULL", grad_null, ARG, "NULL"},
    {"tg_grad", "stale tensor", grad_stale, TAPE, "stale"},
    {"tg_zero_grad", "NULL", zero_grad_null, ARG, "NULL"},
    {"tg_zero_grad", "stale tensor", zero_grad_stale, TAPE, "stale"},
    {"tg_get", "NULL tensor", get_null_tensor, ARG, "NULL"},
    {"tg_get", "NULL index", get_null_index, ARG, "index"},
    {"tg_get", "index 3 on an axis of size 3", get_index_too_big, ARG, "index 3"},
    {"tg_get", "index -1", get_index_negative, ARG, "index -1"},
    {"tg_get", "stale tensor", get_stale, TAPE, "stale"},
    {"tg_set", "index 2 on an axis of size 2", set_index_too_big, ARG, "index 2"},
    {"tg_set", "NULL tensor", set_null_tensor, ARG, "NULL"},
    {"tg_set", "NULL index", set_null_index, ARG, "index"},
    {"tg_get_flat", "flat index 6 of 6", get_flat_too_big, ARG, "6"},
    {"tg_get_flat", "flat index -1", get_flat_negative, ARG, "-1"},
    {"tg_get_flat", "NULL", get_flat_null, ARG, "NULL"},
    {"tg_set_flat", "flat index 7 of 6", set_flat_too_big, ARG, "7"},
    {"tg_set_flat", "stale tensor", set_flat_stale, TAPE, "stale"},
    {"tg_item", "6 elements", item_many, SHAPE, "(2,3)"},
    {"tg_item", "NULL", item_null, ARG, "NULL"},
    {"tg_data_f32", "a float64 tensor", data_f32_of_f64, DTYPE, "float64"},
    {"tg_data_f32", "NULL", data_f32_null, ARG, "NULL"},
    {"tg_data_f64", "a float32 tensor", data_f64_of_f32, DTYPE, "float32"},
    {"tg_data_f64", "stale tensor", data_f64_stale, TAPE, "stale"},
    {"tg_const_data_f32", "a float64 tensor", const_data_f32_of_f64, DTYPE, "float64"},
    {"tg_const_data_f64", "a float32 tensor", const_data_f64_of_f32, DTYPE, "float32"},
    {"tg_const_data_f64", "stale tensor", const_data_f64_stale, TAPE, "stale"},
    {"tg_copy_to_doubles", "NULL out", copy_to_doubles_null_out, ARG, "out"},
    {"tg_copy_to_doubles", "NULL tensor", copy_to_doubles_null, ARG, "NULL"},
    {"tg_copy_into", "(2,3) from (3,2)", copy_into_shape, SHAPE, "(3,2)"},
    {"tg_copy_into", "NULL src", copy_into_null_src, ARG, "src"},
    {"tg_copy_into", "NULL dst", copy_into_null_dst, ARG, "dst"},
    {"tg_copy_into", "dst on a tape", copy_into_tape_dst, TAPE, "dst"},
    {"tg_copy_into", "stale src", copy_into_stale_src, TAPE, "stale"},
    {"tg_fprint", "stale tensor", print_stale, TAPE, "stale"},
    {"tg_fprint", "NULL file", fprint_null_file, ARG, "NULL"},
    {"tg_same_shape", "NULL a: false, documented as no error", same_shape_null, TG_OK, ""},
    {"tg_dtype_name", "dtype 7: \"unknown\", not reported", dtype_name_unknown, TG_OK, ""},
    {"tg_status_name", "status 99: \"unknown error\", not reported", status_name_unknown, TG_OK, ""},
    {"tg_dtype_size", "dtype 5: 0", dtype_size_unknown, DTYPE, "unknown dtype 5"},
    {"tg_shape_string", "NULL shape for rank 2", shape_string_null_shape, ARG, "rank 2 with a NULL shape"},
    {"tg_shape_string", "rank 9", shape_string_rank_9, ARG, "got rank 9"},
    {"tg_shape_string", "NULL buf", shape_string_null_buf, ARG, "buf is NULL"},
    /* random.h */
    {"tg_rng_next_u64", "NULL rng", rng_next_null, ARG, "NULL"},
    {"tg_rng_uniform", "NULL rng", rng_uniform_null, ARG, "NULL"},
    {"tg_rng_normal", "NULL rng", rng_normal_null, ARG, "NULL"},
    {"tg_rng_below", "bound 0", rng_below_zero, ARG, "0"},
    {"tg_rng_below", "NULL rng", rng_below_null, ARG, "NULL"},
    {"tg_rand_uniform", "NULL rng", rand_uniform_null_rng, ARG, "NULL"},
    {"tg_rand_uniform", "lo 2 > hi 1", rand_uniform_lo_above_hi, ARG, "2"},
    {"tg_rand_uniform", "lo NaN", rand_uniform_nan, ARG, "nan"},
    {"tg_rand_uniform", "negative size", rand_uniform_negative_size, SHAPE, "-4"},
    {"tg_rand_normal", "std -1", rand_normal_negative_std, ARG, "-1"},
    {"tg_rand_normal", "mean inf", rand_normal_inf_mean, ARG, "inf"},
    {"tg_rand_normal", "NULL rng", rand_normal_null_rng, ARG, "NULL"},
    {"tg_rand_normal", "rank 9", rand_normal_rank_9, SHAPE, "9"},
    /* tape.h */
    {"tg_tape_reset", "NULL tape", tape_reset_null, ARG, "NULL"},
    {"tg_tape_num_nodes", "NULL tape", tape_num_nodes_null, ARG, "NULL"},
    {"tg_tape_get_stats", "NULL tape", tape_get_stats_null, ARG, "NULL"},
    {"tg_tape_free", "a thread's default tape", tape_free_default, ARG, "default tape"},
    {"tg_tape_set_stale_window", "NULL tape", stale_window_null_tape, ARG, "NULL"},
    {"tg_tape_set_stale_window", "resets -1", stale_window_negative, ARG, "-1"},
    {"tg_tape_set_stale_window", "resets 17", stale_window_too_wide, ARG, "17"},
    {"tg_backward", "NULL output", backward_null, ARG, "NULL"},
    {"tg_backward", "output needs no gradient", backward_no_grad, TAPE, "gradient"},
    {"tg_backward", "persistent output needing no gradient", backward_persistent_no_grad, TAPE, "gradient"},
    {"tg_backward", "(2,3) output without a seed", backward_not_scalar, SHAPE, "(2,3)"},
    {"tg_backward", "seed (3,2) for output (2,3)", backward_seed_shape, SHAPE, "(3,2)"},
    {"tg_backward", "float32 seed for a float64 output", backward_seed_dtype, DTYPE, "float32"},
    {"tg_sum", "stale input, then tg_backward of the NULL: the first error survives", backward_stale, TAPE, "stale"},
    {"tg_backward", "stale output", backward_stale_output, TAPE, "stale"},
    {"tg_backward", "stale seed", backward_stale_seed, TAPE, "stale"},
    {"tg_gradients", "n = -1", gradients_negative_n, ARG, "n=-1"},
    {"tg_gradients", "NULL wrt", gradients_null_wrt, ARG, "wrt"},
    {"tg_gradients", "NULL grads_out", gradients_null_grads_out, ARG, "grads_out"},
    {"tg_gradients", "NULL entry in wrt", gradients_null_in_wrt, ARG, "NULL"},
    {"tg_gradients", "stale entry in wrt", gradients_stale_wrt, TAPE, "stale"},
    {"tg_gradients", "NULL output", gradients_null_output, ARG, "NULL"},
    {"tg_gradients", "output needs no gradient", gradients_no_grad, TAPE, "gradient"},
    {"tg_detach", "NULL", detach_null, ARG, "NULL"},
    {"tg_detach", "stale tensor", detach_stale, TAPE, "stale"},
    /* op.h */
    {"tg_op_apply", "NULL op", op_apply_null_op, ARG, "NULL"},
    {"tg_add", "tg_op_apply: add with 1 input", op_apply_wrong_arity, ARG, "got 1"},
    {"tg_neg", "tg_op_apply: NULL inputs", op_apply_null_inputs, ARG, "NULL"},
    {"tg_neg", "tg_op_apply: output shape (2,-7)", op_apply_bad_out_shape, SHAPE, "-7"},
    {"tg_neg", "tg_op_apply: output rank 9", op_apply_out_rank_9, SHAPE, "9"},
    {"tg_neg", "tg_op_apply: stale input", op_apply_stale_input, TAPE, "stale"},
    {"tg_builtin_op", "index -1", builtin_op_negative, ARG, "-1"},
    {"tg_builtin_op", "index == count", builtin_op_past_end, ARG, "out of range"},
    {"tg_find_op", "NULL name", find_op_null, ARG, "NULL"},
    /* ops.h */
    {"tg_add", "NULL a", add_null_a, ARG, "a is NULL"},
    {"tg_add", "NULL b", add_null_b, ARG, "b is NULL"},
    {"tg_add", "(2,3) + (3,2)", add_shapes, SHAPE, "(2,3) and (3,2)"},
    {"tg_add", "float64 + float32", add_dtypes, DTYPE, "float64 and float32"},
    {"tg_add", "stale a", add_stale, TAPE, "stale"},
    {"tg_add", "tensors of two tapes", add_two_tapes, TAPE, "different tapes"},
    {"tg_sub", "(2,3) - (2,4)", sub_shapes, SHAPE, "(2,4)"},
    {"tg_sub", "NULL b", sub_null_b, ARG, "b is NULL"},
    {"tg_sub", "tensors of two tapes", sub_two_tapes, TAPE, "different tapes"},
    {"tg_mul", "float32 * float64", mul_dtypes, DTYPE, "float32 and float64"},
    {"tg_mul", "stale b", mul_stale, TAPE, "stale"},
    {"tg_mul", "(4) * (2,3)", mul_shapes, SHAPE, "(4) and (2,3)"},
    {"tg_div", "(3,2) / (2,3)", div_shapes, SHAPE, "(3,2) and (2,3)"},
    {"tg_div", "NULL a", div_null_a, ARG, "a is NULL"},
    {"tg_div", "tensors of two tapes", div_two_tapes, TAPE, "different tapes"},
    {"tg_add_scalar", "c NaN", add_scalar_nan, ARG, "nan"},
    {"tg_add_scalar", "c inf", add_scalar_inf, ARG, "inf"},
    {"tg_add_scalar", "NULL x", add_scalar_null, ARG, "NULL"},
    {"tg_mul_scalar", "c NaN", mul_scalar_nan, ARG, "nan"},
    {"tg_mul_scalar", "stale x", mul_scalar_stale, TAPE, "stale"},
    {"tg_pow", "p NaN", pow_nan, ARG, "nan"},
    {"tg_pow", "p -inf", pow_inf, ARG, "-inf"},
    {"tg_neg", "NULL x", neg_null, ARG, "NULL"},
    {"tg_exp", "stale x", exp_stale, TAPE, "stale"},
    {"tg_log", "NULL x", log_null, ARG, "NULL"},
    {"tg_sqrt", "stale x", sqrt_stale, TAPE, "stale"},
    {"tg_abs", "NULL x", abs_null, ARG, "NULL"},
    {"tg_tanh", "stale x", tanh_stale, TAPE, "stale"},
    {"tg_relu", "NULL x", relu_null, ARG, "NULL"},
    {"tg_sigmoid", "stale x", sigmoid_stale, TAPE, "stale"},
    {"tg_clamp", "lo 2 > hi 1", clamp_lo_above_hi, ARG, "lo=2 hi=1"},
    {"tg_clamp", "lo NaN", clamp_nan_lo, ARG, "lo=nan"},
    {"tg_clamp", "hi NaN", clamp_nan_hi, ARG, "hi=nan"},
    {"tg_clamp", "NULL x", clamp_null, ARG, "NULL"},
    {"tg_gt_scalar", "c NaN", gt_scalar_nan, ARG, "NaN"},
    {"tg_gt_scalar", "NULL x", gt_scalar_null, ARG, "NULL"},
    {"tg_lt_scalar", "c NaN", lt_scalar_nan, ARG, "NaN"},
    {"tg_lt_scalar", "stale x", lt_scalar_stale, TAPE, "stale"},
    {"tg_sign", "NULL x", sign_null, ARG, "NULL"},
    {"tg_sign", "stale x", sign_stale, TAPE, "stale"},
    {"tg_argmax_mask", "axis 2 of rank 2", argmax_mask_axis_2, AXIS, "axis 2"},
    {"tg_argmax_mask", "axis -3 of rank 2", argmax_mask_axis_minus_3, AXIS, "axis -3"},
    {"tg_argmax_mask", "axis 0 of a rank-0 tensor", argmax_mask_rank0_axis, AXIS, "axis 0"},
    {"tg_argmax_mask", "NULL x", argmax_mask_null, ARG, "NULL"},
    {"tg_sum", "NULL x", sum_null, ARG, "NULL"},
    {"tg_sum", "stale x", sum_stale, TAPE, "stale"},
    {"tg_mean", "zero elements", mean_empty, SHAPE, "(0,3)"},
    {"tg_mean", "NULL x", mean_null, ARG, "NULL"},
    {"tg_max", "zero elements", max_empty, SHAPE, "(2,0)"},
    {"tg_max", "stale x", max_stale, TAPE, "stale"},
    {"tg_sum_axes", "axis 2 of rank 2", sum_axes_out_of_range, AXIS, "axis 2"},
    {"tg_sum_axes", "axis 1 listed twice (1, -1)", sum_axes_twice, AXIS, "twice"},
    {"tg_sum_axes", "n_axes -1", sum_axes_negative_count, ARG, "-1"},
    {"tg_sum_axes", "NULL axes with n_axes 1", sum_axes_null_list, ARG, "1 axes"},
    {"tg_sum_axes", "3 axes for rank 2", sum_axes_too_many, ARG, "3 axes"},
    {"tg_mean_axes", "axis -3 of rank 2", mean_axes_out_of_range, AXIS, "axis -3"},
    {"tg_mean_axes", "mean over an empty axis", mean_axes_empty_axis, SHAPE, "(0,3)"},
    {"tg_max_axis", "axis 5 of rank 2", max_axis_out_of_range, AXIS, "axis 5"},
    {"tg_max_axis", "max over an empty axis", max_axis_empty, SHAPE, "(2,0)"},
    {"tg_max_axis", "NULL x", max_axis_null, ARG, "NULL"},
    {"tg_expand", "(2,3) to (4,3)", expand_not_broadcastable, SHAPE, "(4,3)"},
    {"tg_expand", "rank 9", expand_rank_9, SHAPE, "9"},
    {"tg_expand", "NULL shape", expand_null_shape, ARG, "NULL"},
    {"tg_expand", "negative size", expand_negative_size, SHAPE, "-1"},
    {"tg_expand", "(2,3) to (3)", expand_lower_rank, SHAPE, "(3)"},
    {"tg_sum_to", "(2,3) to (2)", sum_to_not_broadcastable, SHAPE, "(2)"},
    {"tg_sum_to", "rank -1", sum_to_rank_negative, SHAPE, "-1"},
    {"tg_sum_to", "stale x", sum_to_stale, TAPE, "stale"},
    {"tg_reshape", "(2,3) into (4,2)", reshape_count, SHAPE, "(4,2)"},
    {"tg_reshape", "two -1 sizes", reshape_two_minus_one, SHAPE, "(-1,-1)"},
    {"tg_reshape", "size -2", reshape_negative_size, SHAPE, "(-2,-3)"},
    {"tg_reshape", "-1 next to a 0", reshape_infer_with_zero, SHAPE, "(0,-1)"},
    {"tg_reshape", "rank 9", reshape_rank_9, SHAPE, "9"},
    {"tg_reshape", "NULL shape", reshape_null_shape, ARG, "NULL"},
    {"tg_reshape", "(2^40,2^40,0): product wraps", reshape_overflow, SHAPE, "(1099511627776,1099511627776,0)"},
    {"tg_transpose", "rank 1", transpose_rank_1, SHAPE, "(3)"},
    {"tg_transpose", "NULL x", transpose_null, ARG, "NULL"},
    {"tg_permute", "perm {0,0}", permute_repeated, AXIS, "axis 0"},
    {"tg_permute", "perm {0,2}", permute_out_of_range, AXIS, "2"},
    {"tg_permute", "NULL perm", permute_null_perm, ARG, "perm is NULL"},
    {"tg_slice", "stop 4 past size 3", slice_stop_past_end, ARG, "4"},
    {"tg_slice", "start 2 after stop 1", slice_start_after_stop, ARG, "2"},
    {"tg_slice", "start -1", slice_negative_start, ARG, "-1"},
    {"tg_slice", "axis 2 of rank 2", slice_axis, AXIS, "axis 2"},
    {"tg_slice", "NULL x", slice_null, ARG, "NULL"},
    {"tg_pad", "before -1", pad_negative, ARG, "before=-1"},
    {"tg_pad", "axis -3", pad_axis, AXIS, "axis -3"},
    {"tg_pad", "before INT64_MAX", pad_huge, MEMORY, "9223372036854775807"},
    {"tg_concat", "n 0", concat_zero, ARG, "n=0"},
    {"tg_concat", "n 65 > TG_MAX_INPUTS", concat_too_many, ARG, "n=65"},
    {"tg_concat", "NULL list", concat_null_list, ARG, "NULL"},
    {"tg_concat", "NULL entry", concat_null_entry, ARG, "NULL"},
    {"tg_concat", "float64 with float32", concat_dtypes, DTYPE, "float32"},
    {"tg_concat", "(2,3) with (2,4) on axis 0", concat_shapes, SHAPE, "(2,4)"},
    {"tg_concat", "rank 2 with rank 1", concat_ranks, SHAPE, "(3)"},
    {"tg_concat", "axis 2 of rank 2", concat_axis, AXIS, "axis 2"},
    {"tg_concat", "tensors of two tapes", concat_two_tapes, TAPE, "different tapes"},
    {"tg_to_dtype", "unknown dtype 9", to_dtype_unknown, DTYPE, "9"},
    {"tg_to_dtype", "NULL x", to_dtype_null, ARG, "NULL"},
    {"tg_matmul", "(3,4) @ (5,2)", matmul_inner, SHAPE, "(3,4) @ (5,2)"},
    {"tg_matmul", "a 1-D operand", matmul_rank_1, SHAPE, "(3)"},
    {"tg_matmul", "float64 @ float32", matmul_dtypes, DTYPE, "float32"},
    {"tg_matmul", "batch 2 @ batch 3", matmul_batch, SHAPE, "(2,2,3) @ (3,3,2)"},
    {"tg_matmul", "NULL a", matmul_null, ARG, "NULL"},
    {"tg_matmul", "tensors of two tapes", matmul_two_tapes, TAPE, "different tapes"},
    {"tg_matmul_t", "(4,3)^T @ (2,5)^T", matmul_t_inner, SHAPE, "(4,3)^T"},
    {"tg_matmul_t", "stale a", matmul_t_stale, TAPE, "stale"},
    {"tg_softmax", "axis 2 of rank 2", softmax_axis, AXIS, "axis 2"},
    {"tg_softmax", "rank 0", softmax_rank_0, AXIS, "rank 0"},
    {"tg_softmax", "NULL x", softmax_null, ARG, "NULL"},
    {"tg_log_softmax", "axis -3 of rank 2", log_softmax_axis, AXIS, "axis -3"},
    {"tg_log_softmax", "stale x", log_softmax_stale, TAPE, "stale"},
    /* gradcheck.h */
    {"tg_gradcheck", "NULL f", gradcheck_null_f, ARG, "f is NULL"},
    {"tg_gradcheck", "n 0", gradcheck_n_zero, ARG, "n=0"},
    {"tg_gradcheck", "NULL inputs", gradcheck_null_inputs, ARG, "inputs"},
    {"tg_gradcheck", "float32 input", gradcheck_f32_input, DTYPE, "float32"},
    {"tg_gradcheck", "tape input", gradcheck_tape_input, ARG, "tape"},
    {"tg_gradcheck", "eps 0", gradcheck_eps_zero, ARG, "eps"},
    {"tg_gradcheck", "atol -1", gradcheck_negative_atol, ARG, "atol"},
    {"tg_gradcheck", "0 random directions", gradcheck_zero_directions, ARG, "directions"},
    {"tg_gradcheck_describe", "NULL buf", gradcheck_describe_null_buf, ARG, "buf"},
    {"tg_gradcheck_describe", "NULL result", gradcheck_describe_null_result, ARG, "result"},
    {"tg_gradcheck_input", "NULL rng", gradcheck_input_null_rng, ARG, "rng"},
    {"tg_gradcheck_input", "lo 1 > hi 0", gradcheck_input_lo_above_hi, ARG, "lo=1"},
    {"tg_gradcheck_input", "margin leaves no room", gradcheck_input_no_room, ARG, "0.6"},
    {"tg_gradcheck_input", "NULL avoid with n_avoid 2", gradcheck_input_null_avoid, ARG, "avoid"},
    {"tg_gradcheck_input", "margin -0.1", gradcheck_input_negative_margin, ARG, "-0.1"},
    {"tg_gradcheck_input", "negative size", gradcheck_input_negative_size, SHAPE, "(2,-3)"},
    /* nn.h */
    {"tg_init_tensor", "NULL t", init_null, ARG, "t is NULL"},
    {"tg_init_tensor", "a tape tensor", init_tape_tensor, TAPE, "tape"},
    {"tg_init_tensor", "NULL rng for Glorot", init_null_rng, ARG, "rng is NULL"},
    {"tg_init_tensor", "fan_in 0", init_fan_in_zero, ARG, "fan_in=0"},
    {"tg_init_tensor", "fan_out -3", init_fan_out_negative, ARG, "fan_out=-3"},
    {"tg_init_tensor", "unknown init 42", init_unknown, ARG, "42"},
    {"tg_init_tensor", "constant NaN", init_constant_nan, ARG, "nan"},
    {"tg_leaky_relu", "slope NaN", leaky_relu_nan, ARG, "nan"},
    {"tg_leaky_relu", "NULL x", leaky_relu_null, ARG, "NULL"},
    {"tg_silu", "NULL x", silu_null, ARG, "NULL"},
    {"tg_gelu", "stale x", gelu_stale, TAPE, "stale"},
    {"tg_softplus", "NULL x", softplus_null, ARG, "NULL"},
    {"tg_mse_loss", "(3,1) against (3)", mse_shapes, SHAPE, "(3,1)"},
    {"tg_mse_loss", "float64 against float32", mse_dtypes, DTYPE, "float32"},
    {"tg_mse_loss", "NULL pred", mse_null, ARG, "NULL"},
    {"tg_mse_loss", "zero elements", mse_empty, SHAPE, "zero elements"},
    {"tg_mse_loss", "tensors of two tapes", mse_two_tapes, TAPE, "different tapes"},
    {"tg_bce_loss", "(2,3) against (3,2)", bce_shapes, SHAPE, "(3,2)"},
    {"tg_bce_loss", "NULL target", bce_null_target, ARG, "NULL"},
    {"tg_bce_loss", "prob 2 at index 2", bce_prob_above_one, ARG, "got 2 at index 2 of (2,3)"},
    {"tg_bce_loss", "prob NaN", bce_prob_nan, NUMERIC, "got nan at index 0"},
    {"tg_bce_loss", "float32 prob -0.25 at index 1", bce_prob_negative_f32, ARG, "got -0.25 at index 1 of (1,2)"},
    {"tg_bce_with_logits_loss", "float32 against float64", bce_logits_dtypes, DTYPE, "float32"},
    {"tg_bce_with_logits_loss", "stale logits", bce_logits_stale, TAPE, "stale"},
    {"tg_cross_entropy_loss", "1-D logits", cross_entropy_rank_1, SHAPE, "(3)"},
    {"tg_cross_entropy_loss", "labels (3) for batch 2", cross_entropy_labels_shape, SHAPE, "(3)"},
    {"tg_cross_entropy_loss", "label 3 of 3 classes", cross_entropy_label_range, ARG, "3"},
    {"tg_cross_entropy_loss", "label 0.5", cross_entropy_label_fraction, ARG, "0.5"},
    {"tg_cross_entropy_loss", "label NaN", cross_entropy_label_nan, ARG, "nan"},
    {"tg_cross_entropy_loss", "NULL labels", cross_entropy_null_labels, ARG, "labels is NULL"},
    {"tg_huber_loss", "delta 0", huber_delta_zero, ARG, "0"},
    {"tg_huber_loss", "delta NaN", huber_delta_nan, ARG, "nan"},
    {"tg_huber_loss", "(2,3) against (2,1)", huber_shapes, SHAPE, "(2,1)"},
    {"tg_dense_new", "in 0", dense_in_zero, ARG, "in=0"},
    {"tg_dense_new", "out -3", dense_out_negative, ARG, "out=-3"},
    {"tg_dense_new", "NULL rng", dense_null_rng, ARG, "rng is NULL"},
    {"tg_dense_new", "unknown dtype 3", dense_dtype, DTYPE, "3"},
    {"tg_dense_new", "unknown init 99", dense_unknown_init, ARG, "99"},
    {"tg_dense_new", "2^40 x 2^40 weight", dense_overflow, MEMORY, "(1099511627776,1099511627776)"},
    {"tg_activation_layer_new", "unknown activation 99", activation_layer_unknown, ARG, "99"},
    {"tg_activation_layer_new", "activation -1", activation_layer_negative, ARG, "-1"},
    {"tg_activate", "unknown activation 99", activate_unknown, ARG, "99"},
    {"tg_activate", "NULL x", activate_null, ARG, "NULL"},
    {"tg_layer_forward", "NULL layer", layer_forward_null_layer, ARG, "layer is NULL"},
    {"tg_layer_forward", "NULL x", layer_forward_null_x, ARG, "x is NULL"},
    {"tg_layer_forward", "x (2,3) into a dense layer of 4 inputs", layer_forward_shape, SHAPE, "(2,3)"},
    {"tg_layer_forward", "float32 x into a float64 layer", layer_forward_dtype, DTYPE, "float32"},
    {"tg_layer_forward", "1-D x into a dense layer", layer_forward_rank_1, SHAPE, "(3)"},
    {"tg_layer_forward", "stale x", layer_forward_stale, TAPE, "stale"},
    {"tg_model_add", "NULL model", model_add_null_model, ARG, "model is NULL"},
    {"tg_model_add", "NULL layer", model_add_null_layer, ARG, "layer is NULL"},
    {"tg_model_add", "a model into its own child", model_add_cycle, ARG, "cycle"},
    {"tg_module_add_param", "parameter missing", module_add_param_missing, ARG, "NULL"},
    {"tg_module_add_param", "parameter on a tape", module_add_param_on_tape, TAPE, "tape"},
    {"tg_mlp_new", "1 size", mlp_one_size, ARG, "got 1"},
    {"tg_mlp_new", "size 0", mlp_size_zero, ARG, "sizes[1] = 0"},
    {"tg_mlp_new", "NULL sizes", mlp_null_sizes, ARG, "NULL"},
    {"tg_mlp_new", "NULL rng", mlp_null_rng, ARG, "rng is NULL"},
    {"tg_mlp_new", "hidden activation 77", mlp_unknown_hidden, ARG, "77"},
    {"tg_mlp_new", "output activation 55", mlp_unknown_output, ARG, "55"},
    {"tg_mlp_new", "unknown dtype 4", mlp_dtype, DTYPE, "4"},
    {"tg_model_forward", "NULL model", model_forward_null_model, ARG, "model is NULL"},
    {"tg_model_forward", "x (2,5) into 2 inputs", model_forward_shape, SHAPE, "(2,5)"},
    {"tg_model_forward", "NULL x", model_forward_null_x, ARG, "NULL"},
    {"tg_model_num_layers", "NULL model", model_num_layers_null, ARG, "model is NULL"},
    {"tg_model_layer", "index 3 of 3", model_layer_index, ARG, "3"},
    {"tg_model_layer", "index -1", model_layer_negative, ARG, "-1"},
    {"tg_model_layer", "NULL model", model_layer_null, ARG, "NULL"},
    {"tg_model_num_params", "NULL model", model_num_params_null, ARG, "model is NULL"},
    {"tg_model_param", "index 4 of 4", model_param_index, ARG, "4"},
    {"tg_model_param", "NULL model", model_param_null, ARG, "NULL"},
    {"tg_model_params", "NULL out", model_params_null_out, ARG, "out is NULL"},
    {"tg_model_params", "max -1", model_params_negative_max, ARG, "-1"},
    {"tg_model_param_count", "NULL model", model_param_count_null, ARG, "model is NULL"},
    {"tg_model_set_training", "NULL model", model_set_training_null, ARG, "model is NULL"},
    {"tg_model_save", "NULL path", model_save_null_path, ARG, "path"},
    {"tg_model_save", "NULL model", model_save_null_model, ARG, "model is NULL"},
    {"tg_model_save", "directory missing", model_save_no_directory, IO, "no/such/dir"},
    {"tg_model_load", "file missing", model_load_missing, IO, "missing.safetensors"},
    {"tg_model_load", "hidden size 3 into 4", model_load_other_shapes, SHAPE, "(3,2)"},
    {"tg_model_load", "2 layers into 3", model_load_other_architecture, ARG, "4.weight"},
    {"tg_model_load", "NULL path", model_load_null_path, ARG, "path"},
    {"tg_accuracy", "labels (3) for batch 2", accuracy_shapes, SHAPE, "(3)"},
    {"tg_accuracy", "NULL scores", accuracy_null, ARG, "NULL"},
    {"tg_accuracy", "label -1", accuracy_label_range, ARG, "-1"},
    {"tg_binary_accuracy", "target 2", binary_accuracy_target, ARG, "target 2"},
    {"tg_binary_accuracy", "(2,3) against (3,2)", binary_accuracy_shapes, SHAPE, "(3,2)"},
    {"tg_binary_accuracy", "NULL target", binary_accuracy_null, ARG, "target"},
    /* optim.h */
    {"tg_optimizer_kind_name", "kind 99: \"unknown\", documented as no error", kind_name_unknown, TG_OK, ""},
    {"tg_optimizer_defaults", "unknown kind 42", defaults_unknown_kind, ARG, "42"},
    {"tg_optimizer_new", "n 0", optimizer_new_n_zero, ARG, "got 0"},
    {"tg_optimizer_new", "NULL params", optimizer_new_null_params, ARG, "NULL"},
    {"tg_optimizer_new", "NULL config", optimizer_new_null_config, ARG, "config is NULL"},
    {"tg_optimizer_new", "parameter 1 NULL", optimizer_new_null_param, ARG, "parameter 1 is NULL"},
    {"tg_optimizer_new", "parameter 1 needs no gradient", optimizer_new_no_grad, ARG, "parameter 1"},
    {"tg_optimizer_new", "a tape tensor", optimizer_new_tape_param, ARG, "parameter 0"},
    {"tg_optimizer_new", "parameter 0 listed again as 2", optimizer_new_twice, ARG, "2"},
    {"tg_optimizer_new", "kind 12", optimizer_new_unknown_kind, ARG, "12"},
    {"tg_optimizer_new", "lr 0", optimizer_new_lr_zero, ARG, "got 0"},
    {"tg_optimizer_new", "lr NaN", optimizer_new_lr_nan, ARG, "nan"},
    {"tg_optimizer_new", "lr -0.5", optimizer_new_lr_negative, ARG, "-0.5"},
    {"tg_optimizer_new", "beta1 1", optimizer_new_beta1_one, ARG, "beta1"},
    {"tg_optimizer_new", "beta2 -0.25", optimizer_new_beta2_negative, ARG, "-0.25"},
    {"tg_optimizer_new", "beta1 NaN", optimizer_new_beta1_nan, ARG, "nan"},
    {"tg_optimizer_new", "eps -1e-8", optimizer_new_eps_negative, ARG, "eps"},
    {"tg_optimizer_new", "weight_decay -0.125", optimizer_new_weight_decay_negative, ARG, "-0.125"},
    {"tg_optimizer_new", "momentum 0.9 for sgd", optimizer_new_sgd_momentum, ARG, "0.9"},
    {"tg_optimizer_new", "momentum 0 for momentum", optimizer_new_momentum_zero, ARG, "momentum"},
    {"tg_optimizer_new", "dampening 0.5 for nesterov", optimizer_new_nesterov_dampening, ARG, "0.5"},
    {"tg_optimizer_new", "dampening 1.5", optimizer_new_dampening_above_one, ARG, "1.5"},
    {"tg_optimizer_new", "rms_decay 1", optimizer_new_rms_decay_one, ARG, "rms_decay"},
    {"tg_optimizer_new", "lr_decay -1", optimizer_new_lr_decay_negative, ARG, "lr_decay"},
    {"tg_optimizer_new", "initial_accumulator inf", optimizer_new_accumulator_inf, ARG, "inf"},
    {"tg_optimizer_new", "zero-filled config", optimizer_new_zero_config, ARG, "got 0"},
    {"tg_sgd_new", "lr -0.1", sgd_new_lr_negative, ARG, "-0.1"},
    {"tg_sgd_new", "parameter needs no gradient", sgd_new_no_grad, ARG, "parameter 0"},
    {"tg_adam_new", "lr inf", adam_new_lr_inf, ARG, "inf"},
    {"tg_adam_new", "NULL params", adam_new_null_params, ARG, "NULL"},
    {"tg_optimizer_step", "NULL optimizer", step_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_zero_grad", "NULL optimizer", zero_grad_optimizer_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_lr", "NULL optimizer", optimizer_lr_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_set_lr", "lr NaN", set_lr_nan, ARG, "nan"},
    {"tg_optimizer_set_lr", "lr -0.001", set_lr_negative, ARG, "-0.001"},
    {"tg_optimizer_set_lr", "NULL optimizer", set_lr_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_step_count", "NULL optimizer", step_count_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_get_config", "NULL out", get_config_null_out, ARG, "out is NULL"},
    {"tg_optimizer_get_config", "NULL optimizer", get_config_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_state", "index 1 of 1", state_index, ARG, "1"},
    {"tg_optimizer_state", "momentum_buffer of adam", state_unknown_name, ARG, "momentum_buffer"},
    {"tg_optimizer_state", "NULL name", state_null_name, ARG, "name is NULL"},
    {"tg_clip_grad_norm", "max_norm 0", clip_norm_zero, ARG, "got 0"},
    {"tg_clip_grad_norm", "max_norm NaN", clip_norm_nan, ARG, "nan"},
    {"tg_clip_grad_norm", "NULL params", clip_norm_null_params, ARG, "NULL"},
    {"tg_clip_grad_norm", "parameter needs no gradient", clip_norm_no_grad_param, ARG, "parameter 0"},
    {"tg_clip_grad_norm", "NaN gradient", clip_norm_nan_gradient, NUMERIC, "nan"},
    {"tg_clip_grad_value", "clip_value -1", clip_value_negative, ARG, "-1"},
    {"tg_clip_grad_value", "n -2", clip_value_n_negative, ARG, "-2"},
    {"tg_clip_grad_value", "a tape tensor", clip_value_tape_param, ARG, "parameter 0"},
    {"tg_lr_schedule_at", "NULL schedule", schedule_at_null, ARG, "schedule is NULL"},
    {"tg_lr_schedule_at", "step -1", schedule_at_negative_step, ARG, "-1"},
    {"tg_lr_schedule_at", "base_lr 0", schedule_base_lr_zero, ARG, "base_lr"},
    {"tg_lr_schedule_at", "step_size 0", schedule_step_size_zero, ARG, "step_size"},
    {"tg_lr_schedule_at", "gamma 0", schedule_gamma_zero, ARG, "gamma"},
    {"tg_lr_schedule_at", "gamma 1.5", schedule_gamma_above_one, ARG, "1.5"},
    {"tg_lr_schedule_at", "t_max 0", schedule_t_max_zero, ARG, "t_max"},
    {"tg_lr_schedule_at", "min_lr 0.5 above base_lr 0.1", schedule_min_lr_above_base, ARG, "0.5"},
    {"tg_lr_schedule_at", "warm-up factor 2", schedule_warmup_factor, ARG, "warmup_start_factor"},
    {"tg_lr_schedule_at", "warm-up steps -10", schedule_warmup_negative, ARG, "-10"},
    {"tg_lr_schedule_at", "decay 9", schedule_unknown_decay, ARG, "9"},
    {"tg_lr_schedule_apply", "NULL optimizer", schedule_apply_null_opt, ARG, "optimizer is NULL"},
    {"tg_lr_schedule_apply", "base_lr -0.1 (lr left as it was)", schedule_apply_bad_schedule, ARG, "-0.1"},
    {"tg_optimizer_save", "NULL path", optimizer_save_null_path, ARG, "path is NULL"},
    {"tg_optimizer_save", "NULL optimizer", optimizer_save_null, ARG, "optimizer is NULL"},
    {"tg_optimizer_load", "file missing", optimizer_load_missing, IO, "missing.safetensors"},
    {"tg_optimizer_load", "adam state into sgd", optimizer_load_other_kind, ARG, "adam"},
    {"tg_optimizer_load", "2 parameters into 1", optimizer_load_other_count, ARG, "2"},
    {"tg_optimizer_load", "state of another model (3 vs 4 hidden)", optimizer_load_other_model, SHAPE, "(2,3)"},
    {"tg_optimizer_load", "float64 state into float32", optimizer_load_other_dtype, DTYPE, "float64"},
    {"tg_optimizer_load", "a model file", optimizer_load_not_optimizer, FORMAT, "metadata"},
    {"tg_optimizer_load", "NULL path", optimizer_load_null_path, ARG, "path is NULL"},
    /* checkpoint.h */
    {"tg_checkpoint_save", "NULL path", checkpoint_save_null_path, ARG, "path"},
    {"tg_checkpoint_save", "n -1", checkpoint_save_negative_n, ARG, "n -1"},
    {"tg_checkpoint_save", "NULL names", checkpoint_save_null_names, ARG, "names NULL"},
    {"tg_checkpoint_save", "name 'w' twice", checkpoint_save_duplicate, ARG, "duplicate tensor name 'w'"},
    {"tg_checkpoint_save", "key 'epoch' twice", checkpoint_save_duplicate_key, ARG, "duplicate metadata key 'epoch'"},
    {"tg_checkpoint_save", "empty name", checkpoint_save_empty_name, ARG, "tensor 0 has no name"},
    {"tg_checkpoint_save", "name __metadata__", checkpoint_save_metadata_name, ARG, "reserved name"},
    {"tg_checkpoint_save", "NULL tensor", checkpoint_save_null_tensor, ARG, "NULL"},
    {"tg_checkpoint_save", "stale tensor", checkpoint_save_stale_tensor, TAPE, "stale"},
    {"tg_checkpoint_save", "metadata key tapegrad.checksum", checkpoint_save_checksum_key, ARG, "tapegrad.checksum"},
    {"tg_checkpoint_save", "NULL metadata value", checkpoint_save_null_meta_value, ARG, "NULL"},
    {"tg_checkpoint_save", "directory missing", checkpoint_save_no_directory, IO, "none/c.safetensors"},
    {"tg_checkpoint_load_into", "(2,3) into (3,2)", checkpoint_load_shape, SHAPE, "(3,2)"},
    {"tg_checkpoint_load_into", "F64 1e300 into float32", checkpoint_load_dtype, DTYPE,
     "element 4 (1.0000000000000001e+300)"},
    {"tg_checkpoint_load_into", "name 'bias' missing", checkpoint_load_missing_name, ARG, "bias"},
    {"tg_checkpoint_load_into", "a tape tensor", checkpoint_load_tape_tensor, TAPE, "tape"},
    {"tg_checkpoint_load_into", "file missing", checkpoint_load_missing_file, IO, "none.safetensors"},
    {"tg_checkpoint_load_into", "NULL names", checkpoint_load_null_names, ARG, "names is NULL"},
    {"tg_checkpoint_load_into", "NULL tensor", checkpoint_load_null_tensor, ARG, "NULL"},
    {"tg_checkpoint_open", "NULL path", checkpoint_open_null, ARG, "path"},
    {"tg_checkpoint_open", "file missing", checkpoint_open_missing, IO, "none.safetensors"},
    {"tg_checkpoint_open", "a text file", checkpoint_open_not_safetensors, FORMAT, "text.safetensors"},
    {"tg_checkpoint_count", "NULL checkpoint", checkpoint_count_null, ARG, "checkpoint is NULL"},
    {"tg_checkpoint_entry_at", "index 1 of 1", checkpoint_entry_at_range, ARG, "index 1 outside 0..0"},
    {"tg_checkpoint_entry_at", "NULL checkpoint", checkpoint_entry_at_null, ARG, "checkpoint is NULL"},
    {"tg_checkpoint_find", "NULL name", checkpoint_find_null_name, ARG, "name is NULL"},
    {"tg_checkpoint_metadata", "NULL checkpoint", checkpoint_metadata_null, ARG, "checkpoint is NULL"},
    {"tg_checkpoint_metadata", "NULL key", checkpoint_metadata_null_key, ARG, "key is NULL"},
    {"tg_checkpoint_find", "NULL checkpoint", checkpoint_find_null, ARG, "checkpoint is NULL"},
    {"tg_checkpoint_entry_at", "index -1", checkpoint_entry_at_negative, ARG, "index -1 outside 0..0"},
    {"tg_checkpoint_read_tensor", "NULL name", checkpoint_read_tensor_null_name, ARG, "name is NULL"},
    {"tg_checkpoint_read_into", "(2,3) into (6,1)", checkpoint_read_into_shape, SHAPE, "(6,1)"},
    {"tg_checkpoint_read_into", "NULL checkpoint", checkpoint_read_into_null, ARG, "NULL"},
    {"tg_checkpoint_read_into", "n -1", checkpoint_read_into_negative_n, ARG, "n -1"},
    {"tg_checkpoint_read_tensor", "name 'bias' missing", checkpoint_read_tensor_missing, ARG, "bias"},
    {"tg_checkpoint_read_tensor", "NULL checkpoint", checkpoint_read_tensor_null, ARG, "checkpoint is NULL"},
    /* data.h */
    {"tg_read_file", "NULL path", read_file_null_path, ARG, "path is NULL"},
    {"tg_read_file", "NULL out", read_file_null_out, ARG, "out is NULL"},
    {"tg_read_file", "file missing", read_file_missing, IO, "none.bin"},
    {"tg_read_file", "10 bytes, max 4", read_file_too_large, FORMAT, "4"},
    {"tg_gunzip", "not gzip", gunzip_not_gzip, FORMAT, "gzip"},
    {"tg_gunzip", "NULL in", gunzip_null_in, ARG, "NULL"},
    {"tg_gunzip", "NULL out", gunzip_null_out, ARG, "NULL"},
    {"tg_idx_load", "NULL path", idx_load_null, ARG, "NULL"},
    {"tg_idx_load", "file missing", idx_load_missing, IO, "none.idx"},
    {"tg_idx_save", "NULL path", idx_save_null_path, ARG, "bad path"},
    {"tg_idx_save", "type 0x42", idx_save_unknown_type, ARG, "type (66)"},
    {"tg_idx_save", "rank 0", idx_save_rank_zero, ARG, "rank (0)"},
    {"tg_idx_save", "rank 9", idx_save_rank_9, ARG, "rank (9)"},
    {"tg_idx_save", "dim -1", idx_save_negative_dim, ARG, "-1"},
    {"tg_idx_save", "dim 2^32", idx_save_dim_too_big, ARG, "4294967296"},
    {"tg_idx_save", "NULL data", idx_save_null_data, ARG, "NULL"},
    {"tg_idx_save", "NULL dims", idx_save_null_dims, ARG, "dims"},
    {"tg_dataset_new", "count -1", dataset_new_negative_count, ARG, "-1"},
    {"tg_dataset_new", "feature rank 0", dataset_new_rank_zero, ARG, "got rank 0"},
    {"tg_dataset_new", "feature rank 8", dataset_new_rank_8, ARG, "8"},
    {"tg_dataset_new", "feature size 0", dataset_new_size_zero, ARG, "feature size 0 at axis 1"},
    {"tg_dataset_new", "NULL feature shape", dataset_new_null_shape, ARG, "NULL feature_shape"},
    {"tg_dataset_new", "0 classes", dataset_new_zero_classes, ARG, "0"},
    {"tg_dataset_new", "storage 7", dataset_new_unknown_storage, ARG, "7"},
    {"tg_dataset_new", "label kind 7", dataset_new_unknown_labels, ARG, "7"},
    {"tg_dataset_new", "2^80 values", dataset_new_overflow, MEMORY, "1099511627776"},
    {"tg_dataset_from_idx", "NULL images", dataset_from_idx_null_images, ARG, "images"},
    {"tg_dataset_from_idx", "float32 images", dataset_from_idx_float_images, FORMAT,
     "got images of type 0x0d and rank 3, labels of type 0x08 and rank 1"},
    {"tg_dataset_from_idx", "label 5 of 2 classes", dataset_from_idx_label_range, FORMAT, "5"},
    {"tg_dataset_from_idx", "4 images, 3 labels", dataset_from_idx_counts, FORMAT, "3"},
    {"tg_dataset_count", "NULL data set", dataset_count_null, ARG, "data set is NULL"},
    {"tg_dataset_feature_size", "NULL data set", dataset_feature_size_null, ARG, "data set is NULL"},
    {"tg_dataset_feature_shape", "NULL data set", dataset_feature_shape_null, ARG, "data set is NULL"},
    {"tg_dataset_label_width", "NULL data set", dataset_label_width_null, ARG, "data set is NULL"},
    {"tg_dataset_storage", "NULL data set", dataset_storage_null, ARG, "data set is NULL"},
    {"tg_dataset_label_kind", "NULL data set", dataset_label_kind_null, ARG, "data set is NULL"},
    {"tg_dataset_feature_shape", "NULL shape", dataset_feature_shape_null_shape, ARG, "shape is NULL"},
    {"tg_dataset_set_scale", "NULL data set", dataset_set_scale_null, ARG, "data set is NULL"},
    {"tg_dataset_feature", "NULL data set", dataset_feature_null, ARG, "data set is NULL"},
    {"tg_dataset_class", "row 10 of 10", dataset_class_row_past_end, ARG, "row 10 of 10"},
    {"tg_dataset_target", "NULL data set", dataset_target_null, ARG, "data set is NULL"},
    {"tg_dataset_from_idx", "0 classes", dataset_from_idx_zero_classes, ARG, "num_classes must be in 1..256, got 0"},
    {"tg_idx_type_size", "type 0x42: 0, documented as no error", idx_type_size_unknown, TG_OK, ""},
    {"tg_dataset_features_data", "a subset", dataset_features_data_subset, ARG, "subset"},
    {"tg_dataset_classes_data", "target labels", dataset_classes_data_kind, DTYPE, "class"},
    {"tg_dataset_targets_data", "class labels", dataset_targets_data_kind, DTYPE, "target"},
    {"tg_dataset_set_scale", "scale NaN", dataset_set_scale_nan, ARG, "got nan"},
    {"tg_dataset_feature", "row 10 of 10", dataset_feature_row, ARG, "10"},
    {"tg_dataset_feature", "feature -1", dataset_feature_column, ARG, "-1"},
    {"tg_dataset_class", "row -1", dataset_class_row, ARG, "-1"},
    {"tg_dataset_target", "class data set", dataset_target_kind, ARG, "no float targets"},
    {"tg_random_permutation", "NULL rng", random_permutation_null_rng, ARG, "rng is NULL"},
    {"tg_random_permutation", "count -4", random_permutation_negative, ARG, "-4"},
    {"tg_random_permutation", "NULL order", random_permutation_null_order, ARG, "order is NULL"},
    {"tg_dataset_subset", "row 10 of 10", subset_row_range, ARG, "10"},
    {"tg_dataset_subset", "count -1", subset_negative_count, ARG, "-1"},
    {"tg_dataset_subset", "NULL rows", subset_null_rows, ARG, "rows is NULL"},
    {"tg_dataset_split", "fraction 1.5", split_fraction_above_one, ARG, "1.5"},
    {"tg_dataset_split", "fraction -0.25", split_fraction_negative, ARG, "-0.25"},
    {"tg_dataset_split", "fraction NaN", split_fraction_nan, ARG, "nan"},
    {"tg_dataset_split", "NULL rng", split_null_rng, ARG, "rng is NULL"},
    {"tg_dataset_split", "NULL train", split_null_train, ARG, "train or validation is NULL"},
    {"tg_dataset_fill_batch", "x (2,3) for 2 features", fill_batch_x_shape, SHAPE, "(2,3)"},
    {"tg_dataset_fill_batch", "y (3) for 2 rows", fill_batch_y_shape, SHAPE, "(3)"},
    {"tg_dataset_fill_batch", "row 11 of 10", fill_batch_row, ARG, "11"},
    {"tg_dataset_fill_batch", "x on a tape", fill_batch_tape_x, TAPE, "tape"},
    {"tg_dataset_fill_batch", "NULL x", fill_batch_null_x, ARG, "x is NULL"},
    {"tg_dataset_fill_batch", "one-hot y (2,2) for 3 classes", fill_batch_one_hot_shape, SHAPE, "(2,2)"},
    {"tg_dataset_fill_range", "rows 9..10 of 10", fill_range_past_end, ARG, "9"},
    {"tg_dataset_fill_range", "first -1", fill_range_negative_first, ARG, "-1"},
    {"tg_batches_new", "batch size 0", batches_size_zero, ARG, "batch_size must be >= 1, got 0"},
    {"tg_batches_new", "batch size -8", batches_size_negative, ARG, "-8"},
    {"tg_batches_new", "NULL data set", batches_null_dataset, ARG, "data set is NULL"},
    {"tg_batches_new", "dtype 6", batches_dtype, ARG, "dtype 6"},
    {"tg_batches_new", "encoding 5", batches_encoding, ARG, "encoding 5"},
    {"tg_batches_shuffle", "NULL walker", batches_shuffle_null, ARG, "NULL"},
    {"tg_batches_next", "NULL walker", batches_next_null, ARG, "batches is NULL"},
    {"tg_batches_next", "NULL x", batches_next_null_x, ARG, "x is NULL"},
    {"tg_batches_per_epoch", "NULL walker", batches_per_epoch_null, ARG, "batches is NULL"},
    {"tg_batches_position", "NULL walker", batches_position_null, ARG, "batches is NULL"},
    {"tg_batches_get_order", "NULL order", batches_get_order_null_order, ARG, "order is NULL"},
    {"tg_batches_restore", "NULL walker", batches_restore_null, ARG, "batches is NULL"},
    {"tg_batches_restore", "position 11 of 10", batches_restore_position, ARG, "position 11 outside 0..10"},
    {"tg_batches_restore", "sample 3 twice", batches_restore_repeat, ARG, "entry 9 is 3"},
    {"tg_scaler_fit_standard", "NULL data set", scaler_standard_null, ARG, "got NULL"},
    {"tg_scaler_fit_standard", "empty data set", scaler_standard_empty, ARG, "got 0 samples"},
    {"tg_scaler_fit_minmax", "lo 1 == hi 1", scaler_minmax_lo_hi, ARG, "1"},
    {"tg_scaler_fit_minmax", "lo NaN", scaler_minmax_nan, ARG, "nan"},
    {"tg_dataset_set_scaler", "2 features onto 3", set_scaler_feature_size, SHAPE, "3"},
    {"tg_dataset_set_scaler", "NULL data set", set_scaler_null_dataset, ARG, "NULL"},
    {"tg_scaler_shift", "feature 2 of 2", scaler_shift_range, ARG, "2"},
    {"tg_scaler_factor", "feature -1", scaler_factor_range, ARG, "-1"},
    {"tg_scaler_shift", "NULL scaler", scaler_shift_null, ARG, "scaler is NULL"},
    {"tg_scaler_factor", "NULL scaler", scaler_factor_null, ARG, "scaler is NULL"},
    {"tg_csv_load", "NULL path", csv_load_null, ARG, "NULL"},
    {"tg_csv_load", "file missing", csv_load_missing, IO, "none.csv"},
    {"tg_csv_load", "field 'abc'", csv_load_bad_number, FORMAT, "abc"},
    {"tg_csv_load", "label column 5 of 3", csv_load_label_column, ARG, "5"},
    {"tg_csv_load", "uint8 storage", csv_load_storage, ARG, "storage"},
    {"tg_mnist_find_dir", "NULL buf", mnist_find_dir_null, ARG, "NULL"},
    {"tg_mnist_find_dir", "size 0", mnist_find_dir_small, ARG, "empty"},
    {"tg_mnist_load", "split 'validation'", mnist_load_split, ARG, "validation"},
    {"tg_mnist_load", "NULL split", mnist_load_null_split, ARG, "(null)"},
    {"tg_make_circles", "n -1", circles_negative_n, ARG, "-1"},
    {"tg_make_circles", "factor 1", circles_factor_one, ARG, "factor"},
    {"tg_make_circles", "noise -0.1", circles_noise_negative, ARG, "-0.1"},
    {"tg_make_circles", "NULL rng", circles_null_rng, ARG, "need rng"},
    {"tg_make_moons", "noise NaN", moons_noise_nan, ARG, "nan"},
    {"tg_make_moons", "n -10", moons_negative_n, ARG, "-10"},
    {"tg_make_spirals", "1 class", spirals_one_class, ARG, "classes >= 2 (got 1)"},
    {"tg_make_spirals", "NULL rng", spirals_null_rng, ARG, "rng is NULL"},
    /* in-place changes of recorded tensors, tg_gradients' wrt (tape.h) */
    {"tg_backward", "input of mul changed by tg_set_flat after recording", backward_input_changed, TAPE,
     "input 0 (float64 (2,3)) of mul (tape node 0) was modified in place after it was recorded"},
    {"tg_gradients", "output of exp changed after recording", gradients_output_changed, TAPE,
     "the output (float64 (2,3)) of exp (tape node 0) was modified in place"},
    {"tg_gradients", "wrt[1] on another tape", gradients_foreign_wrt, TAPE, "wrt[1] belongs to another tape"},
    /* issue 21, items 11 and 12 and the smaller ones (t21-io) */
    {"tg_zeros", "shape (0,2^62,2^62): strides overflow", zeros_zero_and_huge_sizes, MEMORY,
     "(0,4611686018427387904,4611686018427387904)"},
    {"tg_pad", "(0,1,1) padded to (0,2^40+1,2^40+1)", pad_to_overflowing_strides, MEMORY,
     "(0,1099511627777,1099511627777)"},
    {"tg_csv_load", "class label 2147483646", csv_load_huge_class, FORMAT, ":1:2: class label 2147483646"},
    {"tg_csv_load", "max_classes -1", csv_load_negative_max_classes, ARG, "max_classes"},
    {"tg_csv_load", "field of 4097 characters", csv_load_overlong_field, FORMAT, "over the 4096 allowed"},
    {"tg_gunzip", "bytes after the last member", gunzip_trailing_garbage, FORMAT, "trailing garbage"},
    {"tg_rand_uniform", "float32 in [-1e300, 1e300)", rand_uniform_f32_beyond_float_range, ARG, "float32 range"},
    {"tg_rand_uniform", "float32 in [1.00000011, 1.000000115)", rand_uniform_f32_no_float_in_bounds, ARG,
     "no float32 value"},
    {"tg_rand_normal", "float32 mean 3e38 std 1e37", rand_normal_f32_beyond_float_range, ARG, "float32 range"},
    {"tg_rand_normal", "float64 std 1e308", rand_normal_f64_std_overflows, ARG, "float64 range"},
    /* PyTorch-layout checkpoints and stored dtypes */
    {"tg_module_transpose_in_files", "a rank-1 parameter", module_transposed_rank_1, ARG, "rank 1"},
    {"tg_model_load", "layout 'jax'", model_load_unknown_layout, FORMAT, "'jax'"},
    {"tg_checkpoint_load_into", "I64 2^24+1 into float32", checkpoint_load_inexact_integer, DTYPE, "16777217"},
    {"tg_checkpoint_read_tensor", "U64 2^53+1", checkpoint_read_tensor_inexact_integer, DTYPE, "9007199254740993"},
    /* issue 21 (nn): tg_where */
    {"tg_where", "float32 mask, float64 a and b", where_dtypes, DTYPE, "float32"},
    {"tg_where", "a (2,3), b (3,2)", where_shapes, SHAPE, "(3,2)"},
    {"tg_where", "mask (4,1) for (2,3)", where_mask_shape, SHAPE, "(4,1)"},
    {"tg_where", "NULL mask", where_null_mask, ARG, "mask"},
    {"tg_where", "stale a", where_stale, TAPE, "stale"},
    /* issue 21 (nn): layer ownership and tied parameters */
    {"tg_layer_tie_param", "(3,3) tied to (3,2)", tie_shape, SHAPE, "(3,2)"},
    {"tg_layer_tie_param", "float64 tied to float32", tie_dtype, DTYPE, "float32"},
    {"tg_layer_tie_param", "name 'kernel'", tie_unknown_name, ARG, "kernel"},
    {"tg_layer_tie_param", "source name 'gain'", tie_unknown_source_name, ARG, "gain"},
    {"tg_layer_tie_param", "NULL source", tie_null_source, ARG, "source is NULL"},
    {"tg_layer_tie_param", "NULL name", tie_null_name, ARG, "name is NULL"},
    {"tg_layer_tie_param", "a tie back to the tied layer", tie_cycle, ARG, "hold itself"},
    {"tg_layer_tie_param", "a slot another layer is tied to", tie_lent_slot, ARG, "tied to 'weight'"},
    {"tg_layer_free", "a layer a model holds", layer_free_held, ARG, "held 1 time"},
    /* issue 24 (house): helpers made public for layers and optimizers */
    {"tg_my_layer", "tg_tensor_check of a NULL x", tensor_check_null, ARG, "x is NULL"},
    {"tg_my_layer", "tg_tensor_check of a stale x", tensor_check_stale, TAPE, "x is a stale tensor"},
    {"tg_my_layer", "tg_shape_validate with NULL numel", shape_validate_null_numel, ARG, "numel is NULL"},
    {"tg_my_layer", "tg_shape_validate of (2,-5)", shape_validate_negative, SHAPE, "(2,-5)"},
    {"tg_tensor_changed", "NULL t", tensor_changed_null, ARG, "t is NULL"},
    /* issue 18 (modules): nested modules, buffers, dotted names */
    {"tg_module_new", "NULL kind", module_new_null_kind, ARG, "kind is NULL"},
    {"tg_module_new", "empty kind", module_new_empty_kind, ARG, "kind is empty"},
    {"tg_module_new_n", "NULL forward", module_new_n_null_forward, ARG, "forward is NULL"},
    {"tg_module_set_state", "NULL module", module_set_state_null, ARG, "module is NULL"},
    {"tg_module_kind", "NULL module", module_kind_null, ARG, "module is NULL"},
    {"tg_module_add_buffer", "a name with a dot", module_add_buffer_dotted, ARG, "'running.mean'"},
    {"tg_module_add_buffer", "a name a parameter has", module_add_buffer_taken, ARG, "named 'w'"},
    {"tg_module_add_child", "a name a child has", module_add_child_taken, ARG, "named 'block'"},
    {"tg_module_add_child", "NULL child", module_add_child_null, ARG, "NULL"},
    {"tg_module_param", "no parameter 0.gain", module_param_unknown_path, ARG, "'0.gain'"},
    {"tg_module_buffer", "no buffer 1.running_mean", module_buffer_unknown_path, ARG, "'1.running_mean'"},
    {"tg_module_child_at", "child 3 of 3", module_child_at_index, ARG, "no child 3"},
    {"tg_module_forward_n", "0 inputs", module_forward_n_zero_inputs, ARG, "got 0"},
    {"tg_module_forward_n", "2 inputs into a one-input forward", module_forward_two_into_one, ARG, "got 2"},
    {"tg_module_transpose_in_files", "no parameter kernel", module_transpose_unknown, ARG, "'kernel'"},
    {"tg_module_tie_param", "NULL source", module_tie_null_source, ARG, "source is NULL"},
    {"tg_module_param_at", "index 9 of 4", module_param_at_index, ARG, "no parameter 9"},
    {"tg_module_buffer_at", "a model without buffers", module_buffer_at_index, ARG, "no buffer 0"},
    {"tg_module_load", "a buffer of another shape", module_load_buffer_shape, SHAPE,
     "buffer 'running_var' has shape (4) in the model, (6) in the file"},
    {"tg_leaky_relu_layer_new", "NaN slope", leaky_relu_layer_nan, ARG, "nan"},
    {"tg_conv2d_layer_new", "groups 2 not dividing 3 channels", conv2d_layer_groups, ARG, "groups=2"},
    {"tg_conv2d_layer_new", "kernel 0", conv2d_layer_kernel_zero, ARG, "kernel=0"},
    {"tg_max_pool2d_layer_new", "padding 3 > kernel / 2", max_pool2d_layer_padding, ARG, "padding=3"},
    {"tg_batch_norm2d_layer_new", "momentum 1.5", batch_norm2d_layer_momentum, ARG, "momentum=1.5"},
    {"tg_layer_forward", "a (2,3) x into batch norm 2d", batch_norm2d_layer_rank, SHAPE, "(2,3)"},
    {"tg_layer_norm_layer_new", "a normalized size 0", layer_norm_layer_size, ARG, "normalized_shape[0] = 0"},
    {"tg_dropout_layer_new", "p = 1", dropout_layer_p, ARG, "got 1"},
    {"tg_dropout_layer_set_counter", "a relu layer", dropout_counter_not_dropout, ARG, "not a dropout layer"},
    /* issue 18 (conv): convolution and pooling */
    {"tg_conv2d", "x with 3 channels, weight (6,2,5,5)", conv2d_channels, SHAPE, "expects 2"},
    {"tg_conv2d", "5x5 kernel on a 4x6 input", conv2d_kernel_too_big, SHAPE, "padded input height 4"},
    {"tg_conv2d", "3x3 kernel, dilation 3, on 6x6", conv2d_dilated_too_big, SHAPE, "extent 7"},
    {"tg_conv2d", "groups 3 for 4 input channels", conv2d_groups_in, ARG, "groups 3"},
    {"tg_conv2d", "groups 2 for 3 output channels", conv2d_groups_out, ARG, "3 output channels"},
    {"tg_conv2d", "groups 0", conv2d_groups_zero, ARG, "groups 0"},
    {"tg_conv2d", "zeroed options (stride 0)", conv2d_stride_zero, ARG, "stride (0, 0)"},
    {"tg_conv2d", "stride -2", conv2d_stride_negative, ARG, "stride (-2, -2)"},
    {"tg_conv2d", "dilation (1, 0)", conv2d_dilation_zero, ARG, "dilation (1, 0)"},
    {"tg_conv2d", "pad_bottom -1", conv2d_padding_negative, ARG, "bottom -1"},
    {"tg_conv2d", "x of rank 2", conv2d_x_rank, SHAPE, "(2,3)"},
    {"tg_conv2d", "weight of rank 2", conv2d_weight_rank, SHAPE, "(4,9)"},
    {"tg_conv2d", "bias (3) for 4 channels", conv2d_bias_size, SHAPE, "(3)"},
    {"tg_conv2d", "float32 x, float64 weight", conv2d_dtypes, DTYPE, "float32"},
    {"tg_conv2d", "NULL weight", conv2d_null_weight, ARG, "NULL"},
    {"tg_conv1d", "x with 3 channels, weight (4,2,3)", conv1d_channels, SHAPE, "expects 2"},
    {"tg_conv1d", "x of rank 4", conv1d_x_rank, SHAPE, "(1,2,1,9)"},
    {"tg_conv1d", "stride 0", conv1d_stride_zero, ARG, "stride (1, 0)"},
    {"tg_conv1d", "kernel 6 on length 4", conv1d_kernel_too_big, SHAPE, "kernel 6"},
    {"tg_conv_transpose2d", "x with 3 channels, weight for 4", conv_transpose2d_channels, SHAPE, "expects 4"},
    {"tg_conv_transpose2d", "output_padding 2 with stride 2", conv_transpose2d_output_padding, ARG, "output_padding 2"},
    {"tg_conv_transpose2d", "padding 3 on a 2x2 input", conv_transpose2d_empty_output, SHAPE, "output height -2"},
    {"tg_conv_transpose2d", "groups 3 for 4 channels", conv_transpose2d_groups, ARG, "groups 3"},
    {"tg_max_pool2d", "x of rank 2", max_pool2d_rank, SHAPE, "(4,4)"},
    {"tg_max_pool2d", "kernel 5 on 3 rows", max_pool2d_kernel_too_big, SHAPE, "kernel 5"},
    {"tg_max_pool2d", "stride 0", max_pool2d_stride_zero, ARG, "stride 0"},
    {"tg_max_pool2d", "padding 2 for kernel 2", max_pool2d_padding, ARG, "padding 2"},
    {"tg_avg_pool2d", "kernel 0", avg_pool2d_kernel_zero, ARG, "kernel 0"},
    {"tg_adaptive_avg_pool2d", "output 0x2", adaptive_avg_pool2d_zero, ARG, "0x2"},
    {"tg_flatten", "end axis 4 of rank 4", flatten_axis, AXIS, "4"},
    {"tg_flatten", "start 2 after end 1", flatten_start_after_end, AXIS, "start axis 2"},
    /* issue 18 (norms): normalization and dropout (norm.h) */
    {"tg_layer_norm", "weight (4) for normalized shape (3)", layer_norm_weight_shape, SHAPE, "weight has shape (4)"},
    {"tg_layer_norm", "bias (3,2) for normalized shape (2,3)", layer_norm_bias_shape, SHAPE, "(3,2)"},
    {"tg_layer_norm", "float32 weight, float64 x", layer_norm_weight_dtype, DTYPE, "float32"},
    {"tg_layer_norm", "3 normalized axes of a rank-2 x", layer_norm_too_many_axes, TG_ERR_AXIS, "n_normalized_axes 3"},
    {"tg_layer_norm", "0 normalized axes", layer_norm_zero_axes, TG_ERR_AXIS, "n_normalized_axes 0"},
    {"tg_layer_norm", "eps 0", layer_norm_eps_zero, ARG, "eps"},
    {"tg_layer_norm", "eps NaN", layer_norm_eps_nan, ARG, "nan"},
    {"tg_layer_norm", "rows of 0 elements", layer_norm_empty_rows, SHAPE, "(2,0)"},
    {"tg_layer_norm", "NULL x", layer_norm_null_x, ARG, "x is NULL"},
    {"tg_batch_norm", "rank-1 x", batch_norm_rank_1, SHAPE, "rank 1"},
    {"tg_batch_norm", "weight (4) for 3 channels", batch_norm_weight_shape, SHAPE, "weight has shape (4)"},
    {"tg_batch_norm", "running_mean (4) for 3 channels", batch_norm_running_mean_size, SHAPE, "running_mean has shape (4)"},
    {"tg_batch_norm", "running_var (2) for 3 channels", batch_norm_running_var_size, SHAPE, "running_var has shape (2)"},
    {"tg_batch_norm", "running_mean without running_var", batch_norm_only_running_mean, ARG, "running_var is NULL"},
    {"tg_batch_norm", "running_var requires a gradient", batch_norm_running_requires_grad, ARG, "running_var"},
    {"tg_batch_norm", "momentum 1.5", batch_norm_momentum, ARG, "1.5"},
    {"tg_batch_norm", "eps -1e-05", batch_norm_eps_negative, ARG, "-1e-05"},
    {"tg_batch_norm", "training on 1 value per channel", batch_norm_one_value_per_channel, SHAPE, "1 value(s) per channel"},
    {"tg_group_norm", "2 groups for 3 channels", group_norm_groups_not_dividing, ARG, "groups 2"},
    {"tg_group_norm", "0 groups", group_norm_groups_zero, ARG, "groups 0"},
    {"tg_group_norm", "bias (2) for 3 channels", group_norm_bias_shape, SHAPE, "bias has shape (2)"},
    {"tg_group_norm", "rank-1 x", group_norm_rank_1, SHAPE, "rank 1"},
    {"tg_dropout", "p 1", dropout_p_one, ARG, "got 1"},
    {"tg_dropout", "p -0.25", dropout_p_negative, ARG, "-0.25"},
    {"tg_dropout", "p NaN (evaluation mode too)", dropout_p_nan, ARG, "nan"},
    {"tg_dropout", "NULL x", dropout_null_x, ARG, "x is NULL"},
    /* issue 19 (attention branch) */
    {"tg_scaled_dot_product_attention", "k (2,3,5) for q (2,3,4)", sdpa_k_width, SHAPE, "(2,3,5)"},
    {"tg_scaled_dot_product_attention", "v with 6 rows for 3 keys", sdpa_v_rows, SHAPE, "(2,6,4)"},
    {"tg_scaled_dot_product_attention", "float32 q, float64 k and v", sdpa_dtypes, DTYPE, "float32"},
    {"tg_scaled_dot_product_attention", "mask (3,2) for scores (2,3,3)", sdpa_mask_shape, SHAPE, "mask (3,2)"},
    {"tg_scaled_dot_product_attention", "rank-1 q, k, v", sdpa_rank_1, SHAPE, "(4)"},
    {"tg_scaled_dot_product_attention", "head size 0", sdpa_zero_head, SHAPE, "(2,3,0)"},
    {"tg_scaled_dot_product_attention", "scale inf", sdpa_scale_inf, ARG, "inf"},
    {"tg_scaled_dot_product_attention", "NULL v", sdpa_null_v, ARG, "NULL"},
    {"tg_scaled_dot_product_attention", "stale mask", sdpa_stale_mask, TAPE, "stale"},
    {"tg_gelu_tanh", "NULL x", gelu_tanh_null, ARG, "NULL"},
    {"tg_gelu_tanh", "stale x", gelu_tanh_stale, TAPE, "stale"},
    {"tg_erf", "NULL x", erf_null, ARG, "NULL"},
    {"tg_erf", "stale x", erf_stale, TAPE, "stale"},
    {"tg_tokens_from_bytes", "NULL text, size 3", tokens_from_bytes_null, ARG, "size 3"},
    {"tg_tokens_from_array", "count -2", tokens_from_array_negative_count, ARG, "-2"},
    {"tg_tokens_read_text", "a missing file", tokens_read_text_missing, IO, "corpus.txt"},
    {"tg_tokens_load_llmc", "NULL path", tokens_load_llmc_null, ARG, "path is NULL"},
    {"tg_tokens_load_llmc", "a 10-byte text file", tokens_load_llmc_text, FORMAT, "shorter"},
    {"tg_tokens_count", "NULL tokens", tokens_count_null, ARG, "NULL"},
    {"tg_tokens_data", "NULL tokens", tokens_data_null, ARG, "NULL"},
    {"tg_tokens_save_llmc", "token 70000", tokens_save_llmc_wide, ARG, "70000"},
    {"tg_tokens_decode_bytes", "[2, 4) of 3 tokens", tokens_decode_range, ARG, "outside the 3 tokens"},
    {"tg_tokens_split", "fraction NaN", tokens_split_nan, ARG, "nan"},
    {"tg_token_batches_new", "batch_size 0", token_batches_zero_batch, ARG, "batch_size 0"},
    {"tg_token_batches_sample", "NULL rng", token_batches_sample_null_rng, ARG, "rng is NULL"},
    {"tg_token_batches_fill", "start -1", token_batches_fill_negative, ARG, "-1"},
    {"tg_optimizer_set_weight_decay", "index 1 of 1", set_weight_decay_index, ARG, "index 1"},
    {"tg_optimizer_set_weight_decay", "weight_decay -0.1", set_weight_decay_negative, ARG, "-0.1"},
    {"tg_optimizer_set_weight_decay", "NULL optimizer", set_weight_decay_null, ARG, "NULL"},
    {"tg_optimizer_set_weight_decay_for", "a tensor it does not hold", set_weight_decay_for_stranger, ARG, "params[0]"},
    {"tg_optimizer_set_weight_decay_for", "weight_decay NaN", set_weight_decay_for_nan, ARG, "nan"},
    {"tg_optimizer_weight_decay", "index -1", weight_decay_index, ARG, "index -1"},
    {"tg_lstm_cell", "w_hh (8,3) for H = 2", lstm_cell_w_hh_shape, SHAPE, "w_hh (8,3)"},
    {"tg_lstm_cell", "NULL outputs", lstm_cell_null_out, ARG, "NULL"},
    {"tg_gru_cell", "float32 x, float64 weights", gru_cell_dtypes, DTYPE, "float32"},
    {"tg_lstm", "x (1,3), not (T,B,I)", lstm_rank_2_x, SHAPE, "(1,3)"},
    {"tg_gru", "b_ih (5) for 3 gates of 2", gru_bias_shape, SHAPE, "b_ih (5)"},
    /* issue 18: integer tensors and indexing */
    {"tg_add", "int64 inputs", int_add, DTYPE, "int64"},
    {"tg_matmul", "int64 a and b", int_matmul, DTYPE, "input 0 is an int64"},
    {"tg_set_requires_grad", "an int64 tensor", int_requires_grad, DTYPE, "int64"},
    {"tg_set_flat", "2.5 into int64", int_set_fraction, ARG, "2.5"},
    {"tg_full", "NaN into int32", int_full_nan, ARG, "int32"},
    {"tg_to_dtype", "NaN to int64", int_to_dtype_nan, ARG, "nan"},
    {"tg_data_f32", "an int64 tensor", int_data_f32, DTYPE, "int64"},
    {"tg_data_i64", "a float64 tensor", data_i64_of_float, DTYPE, "float64"},
    {"tg_const_data_i32", "an int64 tensor", const_data_i32_of_int64, DTYPE, "int64"},
    {"tg_argmax", "axis 2 of (2,3)", argmax_axis, AXIS, "(2,3)"},
    {"tg_argmax", "empty axis of (2,0)", argmax_empty, SHAPE, "(2,0)"},
    {"tg_index_select", "index 4 for 4 rows", index_select_out_of_range, ARG, "index 4 at position (1) of idx is outside [0, 4)"},
    {"tg_index_select", "index -2", index_select_negative, ARG, "index -2 at position (1) of idx is outside [0, 3)"},
    {"tg_index_select", "float64 idx", index_select_float_idx, DTYPE, "float64"},
    {"tg_index_select", "idx of rank 2", index_select_rank2_idx, SHAPE, "(1,1)"},
    {"tg_index_select", "axis 2 of (4,3)", index_select_axis, AXIS, "axis 2"},
    {"tg_index_select", "int64 x", index_select_int_x, DTYPE, "int64"},
    {"tg_index_add", "src (2,3) for 3 indices", index_add_src_shape, SHAPE, "(3,3)"},
    {"tg_index_add", "float32 src, float64 x", index_add_dtypes, DTYPE, "float32"},
    {"tg_index_add", "index 9 for 4 rows", index_add_out_of_range, ARG, "index 9"},
    {"tg_gather", "idx of rank 1 for (4,3)", gather_rank, SHAPE, "(4,3)"},
    {"tg_gather", "idx (3,1) for (2,3)", gather_too_large, SHAPE, "(3,1)"},
    {"tg_gather", "index 3 along a size-3 axis", gather_out_of_range, ARG, "index 3 at position (1,0) of idx is outside [0, 3)"},
    {"tg_gather", "float64 idx", gather_float_idx, DTYPE, "float64"},
    {"tg_scatter_add", "idx (2,1), src (2,2)", scatter_add_shapes, SHAPE, "(2,2)"},
    {"tg_scatter_add", "index -5", scatter_add_negative, ARG, "index -5"},
    {"tg_embedding", "weight of rank 1", embedding_weight_rank, SHAPE, "(4)"},
    {"tg_embedding", "index 4 for 4 rows", embedding_out_of_range, ARG, "index 4 at position (1,1) of idx is outside [0, 4)"},
    {"tg_embedding", "NULL idx", embedding_null_idx, ARG, "idx"},
    {"tg_eq", "int64 a, float64 b", eq_dtypes, DTYPE, "int64"},
    {"tg_lt", "(2,3) with (3,2)", lt_shapes, SHAPE, "(3,2)"},
    {"tg_ge", "NULL b", ge_null, ARG, "b"},
    {"tg_masked_fill", "mask (4,1) for (2,3)", masked_fill_shape, SHAPE, "(4,1)"},
    {"tg_masked_fill", "mask (2,3) for x (3)", masked_fill_grows_x, SHAPE, "(2,3)"},
    {"tg_masked_fill", "float32 mask, float64 x", masked_fill_dtype, DTYPE, "float32"},
    {"tg_cross_entropy_loss_ex", "label 2 for 2 classes", ce_ex_label_range, ARG, "label 2 at row 1"},
    {"tg_cross_entropy_loss_ex", "label_smoothing 1.5", ce_ex_smoothing, ARG, "1.5"},
    {"tg_cross_entropy_loss_ex", "labels (3) for (2,2)", ce_ex_labels_shape, SHAPE, "(3)"},
    {"tg_accuracy", "int64 label 5 for 2 classes", accuracy_int_label_range, ARG, "label 5 at row 2"},
    /* issue 23 (gradtools): autodiff.h */
    {"tg_vjp", "NULL f", vjp_null_f, ARG, "f is NULL"},
    {"tg_vjp", "a tape input", vjp_tape_input, ARG, "belongs to a tape"},
    {"tg_vjp", "v (2,2) for a (2,3) output", vjp_v_shape, SHAPE, "(2,2)"},
    {"tg_vjp", "no v for a (2,3) output", vjp_no_v_for_matrix, SHAPE, "(2,3)"},
    {"tg_vjp", "NULL result list", vjp_null_results, ARG, "vjp"},
    {"tg_jvp", "tangent (3,2) for a (2,3) input", jvp_tangent_shape, SHAPE, "(3,2)"},
    {"tg_jvp", "NULL tangents", jvp_null_tangents, ARG, "tangents"},
    {"tg_hvp", "a (2,3) output", hvp_matrix_output, SHAPE, "(2,3)"},
    {"tg_hvp", "NULL v", hvp_null_v, ARG, "v (a list"},
    {"tg_jacobian", "n = 0", jacobian_n_zero, ARG, "n=0"},
    {"tg_jacobian", "rank 5 by rank 5: 10 axes", jacobian_too_many_axes, SHAPE, "10 axes"},
    {"tg_hessian", "a (2,3) output", hessian_matrix_output, SHAPE, "(2,3)"},
    {"tg_hessian", "f returns NULL silently", hessian_silent_null, ARG, "f returned NULL"},
    {"tg_gradgradcheck", "NULL f", gradgradcheck_null_f, ARG, "f is NULL"},
    {"tg_gradgradcheck", "a float32 input", gradgradcheck_f32_input, DTYPE, "float32"},
    {"tg_gradgradcheck", "eps = 0", gradgradcheck_eps_zero, ARG, "eps=0"},
    {"tg_gradgradcheck", "f returns NULL silently", gradgradcheck_f_fails, ARG, "f returned NULL"},
    {"tg_graph_write_dot", "NULL out", graph_null_out, ARG, "out"},
    {"tg_graph_write_dot", "flags 6", graph_unknown_flags, ARG, "0x6"},
    {"tg_graph_write_dot", "NULL output", graph_null_output, ARG, "output"},
    {"tg_graph_write_dot_model", "NULL model", graph_null_model, ARG, "model is NULL"},
    {"tg_model_summary", "NULL out", summary_null_out, ARG, "out is NULL"},
    {"tg_model_summary", "NULL model", summary_null_model, ARG, "model is NULL"},
    {"tg_model_summary", "NULL example_input", summary_null_input, ARG, "example_input"},
    {"tg_model_summary", "input (2,5) for a 2-input model", summary_wrong_input, SHAPE, "layer '0'"},
    {"tg_progress_new", "NULL out", progress_null_out, ARG, "out"},
    {"tg_progress_new", "total -5", progress_negative_total, ARG, "-5"},
    {"tg_progress_new", "style 9", progress_unknown_style, ARG, "9"},
    {"tg_progress_advance", "steps -3", progress_negative_steps, ARG, "-3"},
    {"tg_progress_set_metric", "a ninth metric", progress_ninth_metric, ARG, "ninth"},
    {"tg_progress_set_interval", "NaN seconds", progress_interval_nan, ARG, "nan"},
    {"tg_metrics_log_open", "a missing directory", metrics_log_missing_dir, IO, "/nonexistent-tapegrad-dir/m.csv"},
    {"tg_metrics_log_open", "format 4", metrics_log_unknown_format, ARG, "4"},
    {"tg_metrics_log_write", "CSV column 'lost' for 'loss'", metrics_log_csv_renamed_column, ARG, "'lost'"},
    {"tg_metrics_log_write", "n = 0", metrics_log_zero_values, ARG, "n is 0"},
};

#define ROW_COUNT ((int)(sizeof rows / sizeof rows[0]))

/* Criterion runs each parameter in a fresh process of this program, where
 * pointers inside a parameter would not be valid: a row travels as its index. */
ParameterizedTestParameters(bad_arguments, are_refused)
{
    static int indices[ROW_COUNT];
    for (int i = 0; i < ROW_COUNT; i++) indices[i] = i;
    return cr_make_param_array(int, indices, ROW_COUNT);
}

/* One row: the call returns its documented error value, and reports the
 * documented status with a message naming the function and the bad value. */
ParameterizedTest(int *index, bad_arguments, are_refused, .init = return_mode, .fini = release_all)
{
    const bad_call *row = &rows[*index];
    bool returned_error = row->call();
    tg_status status = tg_last_error();
    const char *message = tg_last_error_message();
    cr_expect(returned_error, "row %d, %s (%s): did not return its error value; last error: %s", *index,
              row->function, row->bad, message);
    cr_expect_eq(status, row->status, "row %d, %s (%s): expected %s, got %s: '%s'", *index, row->function,
                 row->bad, tg_status_name(row->status), tg_status_name(status), message);
    if (row->status == TG_OK) /* documented as no error: nothing reported */
        return;
    cr_expect_not_null(strstr(message, row->function), "row %d, %s (%s): message '%s' does not name the function",
                       *index, row->function, row->bad, message);
    cr_expect_not_null(strstr(message, row->fragment), "row %d, %s (%s): message '%s' does not mention '%s'",
                       *index, row->function, row->bad, message, row->fragment);
}

/* The table is large enough to mean something (the issue asks for > 150). */
Test(bad_arguments, table_has_many_rows) { cr_assert_geq(ROW_COUNT, 150, "only %d rows", ROW_COUNT); }
