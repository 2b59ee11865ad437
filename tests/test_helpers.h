/* tests/test_helpers.h — small helpers shared by the test files: error mode
 * fixtures, error checks, the current tape's reset, tensor builders, exact
 * shape/value checks, and temporary files and directories.
 *
 * Everything is static inline, so each test file gets its own copy and an
 * unused helper costs nothing (and draws no warning). The checks use
 * Criterion's cr_assert*: a failed check ends the test where it stands. */
#ifndef TAPEGRAD_TESTS_TEST_HELPERS_H
#define TAPEGRAD_TESTS_TEST_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "tapegrad.h"

/* ---- error mode fixtures (.init / .fini) ---- */

/* Errors come back as values (NULL, NaN, a status); any earlier error is
 * cleared so that a check cannot be satisfied by a stale one. */
static inline void return_mode(void)
{
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_clear_error();
}

/* Back to the default (errors abort), with no error left behind. */
static inline void abort_mode(void)
{
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_clear_error();
}

/* Call first in a test that expects the default mode to abort: the
 * library's "tapegrad error (...)" line then goes into a pipe Criterion
 * holds instead of the test log, where it would read like a failure. */
static inline void hide_expected_abort_message(void) { cr_redirect_stderr(); }

/* ---- error checks (return mode) ---- */

/* The last error is `code`, its message names `function` and, unless
 * `fragment` is NULL, contains `fragment`. The error is then cleared, so the
 * next check sees only what comes after. */
static inline void assert_error(tg_status code, const char *function, const char *fragment)
{
    cr_assert_eq(tg_last_error(), code, "expected %s from %s, got %s: %s", tg_status_name(code), function,
                 tg_status_name(tg_last_error()), tg_last_error_message());
    cr_assert_not_null(strstr(tg_last_error_message(), function), "message '%s' does not name %s",
                       tg_last_error_message(), function);
    if (fragment)
        cr_assert_not_null(strstr(tg_last_error_message(), fragment), "message '%s' does not mention '%s'",
                           tg_last_error_message(), fragment);
    tg_clear_error();
}

/* A function returning a tensor failed: `result` is NULL and the error is
 * `code` from `function` (then cleared, as in assert_error). */
static inline void expect_error(const tg_tensor *result, tg_status code, const char *function)
{
    cr_assert_null(result, "%s should have failed", function);
    assert_error(code, function, NULL);
}

/* Some error (any status but TG_OK) whose message names `function`. The
 * error is left in place. */
static inline void assert_error_from(const char *function)
{
    cr_assert_neq(tg_last_error(), TG_OK, "expected an error from %s", function);
    cr_assert_not_null(strstr(tg_last_error_message(), function), "message '%s' does not name %s",
                       tg_last_error_message(), function);
}

/* ---- the tape ---- */

/* Frees every tensor on the current tape (the thread's). */
static inline void reset_tape(void) { tg_tape_reset(tg_tape_current()); }

/* ---- tensor builders (persistent tensors: the caller frees them) ---- */

/* A tensor of `shape` holding `values` (row-major), converted to `dtype`. */
static inline tg_tensor *make(tg_dtype dtype, int rank, const int64_t *shape, const double *values)
{
    tg_tensor *t = tg_from_doubles(dtype, rank, shape, values);
    cr_assert_not_null(t, "tg_from_doubles failed: %s", tg_last_error_message());
    return t;
}

/* The same, marked as requiring a gradient (a parameter). */
static inline tg_tensor *param(tg_dtype dtype, int rank, const int64_t *shape, const double *values)
{
    tg_tensor *t = make(dtype, rank, shape, values);
    cr_assert_eq(tg_set_requires_grad(t, true), TG_OK);
    return t;
}

/* 0, 1, 2, ... in row-major order ("iota"), as make() or, with
 * requires_grad, param(). */
static inline tg_tensor *iota(tg_dtype dtype, int rank, const int64_t *shape, bool requires_grad)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= shape[i];
    double *values = malloc(((size_t)n + 1) * sizeof *values);
    cr_assert_not_null(values);
    for (int64_t i = 0; i < n; i++) values[i] = (double)i;
    tg_tensor *t = requires_grad ? param(dtype, rank, shape, values) : make(dtype, rank, shape, values);
    free(values);
    return t;
}

/* w's gradient becomes c (w's shape, flat order), through backward of
 * sum(c * w) on the current tape, which is then reset. */
static inline void set_grad(tg_tensor *w, const double *c)
{
    tg_zero_grad(w);
    tg_tensor *ct = tg_from_doubles(w->dtype, w->rank, w->shape, c);
    cr_assert_not_null(ct);
    cr_assert_eq(tg_backward(tg_sum(tg_mul(w, ct)), NULL), TG_OK, "%s", tg_last_error_message());
    reset_tape();
    tg_free(ct);
}

/* ---- exact checks ---- */

/* t is not NULL and has exactly `shape` (rank 0: shape may be NULL). */
static inline void expect_shape(const tg_tensor *t, int rank, const int64_t *shape)
{
    char got[128], want[128];
    cr_assert_not_null(t, "no tensor (error: %s)", tg_last_error_message());
    cr_assert(t->rank == rank && (rank == 0 || memcmp(t->shape, shape, (size_t)rank * sizeof *shape) == 0),
              "shape %s, expected %s", tg_shape_string(got, sizeof got, t->rank, t->shape),
              tg_shape_string(want, sizeof want, rank, shape));
}

/* Every element (flat order) equals expected[i] exactly. */
static inline void expect_values(const tg_tensor *t, const double *expected)
{
    for (int64_t i = 0; i < t->numel; i++)
        cr_assert_eq(tg_get_flat(t, i), expected[i], "%s element %lld: got %.17g, expected %.17g",
                     tg_dtype_name(t->dtype), (long long)i, tg_get_flat(t, i), expected[i]);
}

/* Shape, dtype and every value exactly as given. */
static inline void expect_tensor(const tg_tensor *t, tg_dtype dtype, int rank, const int64_t *shape,
                                 const double *expected)
{
    expect_shape(t, rank, shape);
    cr_assert_eq(t->dtype, dtype);
    expect_values(t, expected);
}

/* ---- temporary files ---- */

/* A fresh directory under /tmp; its path is written into dir (>= 64 bytes). */
static inline void make_temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/tg_test_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* Removes a temporary directory and everything in it. */
static inline void remove_temp_dir(const char *dir)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    cr_assert_eq(system(command), 0);
}

/* Writes `size` bytes to a new (or truncated) file. */
static inline void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    cr_assert_not_null(file, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, size, file), size);
    cr_assert_eq(fclose(file), 0);
}

/* Writes a C string (without its NUL) to a new file. */
static inline void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

/* The whole file in a malloc'ed buffer, one spare byte at the end (caller
 * frees); its length in *size. */
static inline unsigned char *slurp(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    cr_assert_not_null(file, "cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)length + 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return data;
}

#endif
