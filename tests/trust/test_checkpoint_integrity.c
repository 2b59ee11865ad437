/* tests/trust/test_checkpoint_integrity.c — a damaged checkpoint is refused,
 * wherever the damage is. A storage error or a torn copy may change any byte
 * of a file, not only the tensors' data: a changed digit in the metadata
 * (an optimizer's learning rate, a step count) or in a tensor's name loads
 * as something else without a word unless the checksum covers the header
 * too. Each test below saves a file, changes one byte at every position in
 * turn (several bit patterns per position), and expects every variant to be
 * refused with TG_ERR_FORMAT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* The bit patterns XORed into each byte: the lowest bit (a digit becomes its
 * neighbour: "0.001" -> "0.000"), bit 5 (letter case, space <-> NUL) and
 * the top bit (ASCII -> not ASCII). */
static const unsigned char FLIPS[] = {0x01, 0x20, 0x80};

typedef tg_status (*load_fn)(const char *path, void *ctx);

/* For every byte of `raw` and the first `n_flips` patterns of FLIPS, writes
 * `raw` with that byte XORed by the pattern to `path` and expects `load` to
 * refuse it as malformed. */
static void expect_every_flip_refused(const char *path, const unsigned char *raw, size_t size, size_t n_flips,
                                      load_fn load, void *ctx)
{
    unsigned char *copy = malloc(size);
    cr_assert_not_null(copy);
    size_t refused = 0;
    for (size_t at = 0; at < size; at++) {
        for (size_t f = 0; f < n_flips; f++) {
            memcpy(copy, raw, size);
            copy[at] ^= FLIPS[f];
            write_bytes(path, copy, size);
            tg_clear_error();
            tg_status status = load(path, ctx);
            cr_assert_neq(status, TG_OK, "byte %zu of %zu ('%c' -> 0x%02x) changed and the file still loaded", at,
                          size, raw[at] >= 0x20 && raw[at] < 0x7f ? raw[at] : '?', copy[at]);
            cr_assert_eq(status, TG_ERR_FORMAT, "byte %zu: expected TG_ERR_FORMAT, got %s: %s", at,
                         tg_status_name(status), tg_last_error_message());
            refused++;
        }
    }
    cr_assert_eq(refused, size * n_flips);
    cr_log_info("integrity: %zu one-byte changes of a %zu-byte file, all refused", refused, size);
    free(copy);
}

static tg_status open_checkpoint(const char *path, void *ctx)
{
    (void)ctx;
    tg_checkpoint *ck = tg_checkpoint_open(path);
    if (!ck) return tg_last_error();
    tg_checkpoint_close(ck);
    return TG_OK;
}

Test(checkpoint_integrity, a_changed_byte_anywhere_in_a_checkpoint_is_refused, .init = return_mode,
     .fini = abort_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    tg_tensor *w = make(TG_F32, 2, (const int64_t[]){2, 2}, (const double[]){0.5, -1.25, 3, 0});
    tg_tensor *s = make(TG_F64, 0, NULL, (const double[]){7});
    const char *names[] = {"0.weight", "step"};
    const tg_tensor *tensors[] = {w, s};
    const char *keys[] = {"epoch", "lr"};
    const char *values[] = {"12", "0.001"};
    cr_assert_eq(tg_checkpoint_save(path, 2, names, tensors, 2, keys, values), TG_OK, "%s",
                 tg_last_error_message());
    size_t size = 0;
    unsigned char *raw = slurp(path, &size);
    cr_assert_eq(open_checkpoint(path, NULL), TG_OK, "the saved file itself loads: %s", tg_last_error_message());

    expect_every_flip_refused(path, raw, size, sizeof FLIPS, open_checkpoint, NULL);

    /* The original bytes still load: the refusals came from the changes. */
    write_bytes(path, raw, size);
    cr_assert_eq(open_checkpoint(path, NULL), TG_OK, "%s", tg_last_error_message());
    free(raw);
    tg_free(w);
    tg_free(s);
    remove_temp_dir(dir);
}

/* The case that matters most in practice: an optimizer file keeps its
 * hyperparameters (lr, betas, eps, step counts) in the metadata, and a
 * resumed run that read "lr 0.011" for "lr 0.001" would silently diverge. */
static tg_status load_optimizer(const char *path, void *ctx) { return tg_optimizer_load(ctx, path); }

Test(checkpoint_integrity, a_changed_byte_anywhere_in_an_optimizer_file_is_refused, .init = return_mode,
     .fini = abort_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/adam.safetensors", dir);
    tg_tensor *w = param(TG_F32, 1, (const int64_t[]){2}, (const double[]){0.5, -1});
    tg_optimizer *opt = tg_adam_new(1, &w, 0.001);
    cr_assert_not_null(opt);
    set_grad(w, (const double[]){0.25, -2});
    cr_assert_eq(tg_optimizer_step(opt), TG_OK);
    cr_assert_eq(tg_optimizer_save(opt, path), TG_OK, "%s", tg_last_error_message());
    size_t size = 0;
    unsigned char *raw = slurp(path, &size);
    cr_assert_eq(load_optimizer(path, opt), TG_OK, "the saved file itself loads: %s", tg_last_error_message());

    /* One pattern only: the file is 3x larger, and writing it once per
     * variant is what costs time here. */
    expect_every_flip_refused(path, raw, size, 1, load_optimizer, opt);

    tg_optimizer_config config;
    cr_assert_eq(tg_optimizer_get_config(opt, &config), TG_OK);
    cr_assert_eq(config.lr, 0.001, "no refused file changed the optimizer: lr %.17g", config.lr);
    cr_assert_eq(tg_optimizer_step_count(opt), 1);
    free(raw);
    tg_optimizer_free(opt);
    tg_free(w);
    remove_temp_dir(dir);
}

/* FNV-1a 64, written out again from its definition (Fowler, Noll, Vo) so
 * that the test does not reuse the library's code. */
static uint64_t fnv1a64_reference(const unsigned char *bytes, size_t size)
{
    uint64_t hash = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < size; i++) hash = (hash ^ bytes[i]) * UINT64_C(1099511628211);
    return hash;
}

/* Files saved before the checksum covered the header hold "fnv1a64:<hash of
 * the data section>": they still load, and still fail on damaged data. */
Test(checkpoint_integrity, a_file_with_the_earlier_data_only_checksum_is_still_verified, .init = return_mode,
     .fini = abort_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/old.safetensors", dir);
    const double data[2] = {1.5, -0.25}; /* little-endian doubles on the machines we test on */
    char header[160];
    int n = snprintf(header, sizeof header,
                     "{\"__metadata__\":{\"tapegrad.checksum\":\"fnv1a64:%016llx\"},"
                     "\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}",
                     (unsigned long long)fnv1a64_reference((const unsigned char *)data, sizeof data));
    while ((8 + n) % 8) header[n++] = ' ';
    unsigned char file[256];
    for (int b = 0; b < 8; b++) file[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(file + 8, header, (size_t)n);
    memcpy(file + 8 + n, data, sizeof data);
    size_t size = 8 + (size_t)n + sizeof data;
    write_bytes(path, file, size);
    tg_tensor *w = tg_zeros(TG_F64, 1, (const int64_t[]){2});
    cr_assert_eq(tg_checkpoint_load_into(path, 1, (const char *[]){"w"}, &w), TG_OK, "%s", tg_last_error_message());
    expect_values(w, data);

    file[size - 1] ^= 0x01;
    write_bytes(path, file, size);
    cr_assert_eq(tg_checkpoint_load_into(path, 1, (const char *[]){"w"}, &w), TG_ERR_FORMAT);
    assert_error(TG_ERR_FORMAT, "tg_checkpoint_load_into", "checksum mismatch");
    tg_free(w);
    remove_temp_dir(dir);
}
