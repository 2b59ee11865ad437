/* Tests of the token streams (data/tokens.c): the byte-level tokenizer and
 * its decoder, llm.c's token files against bytes laid out by hand from the
 * format (256 little-endian int32, then uint16 tokens), their refusals, the
 * contiguous split, and windows of next-token batches. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/data/helpers.h"

/* An llm.c file: the header words and the tokens, little-endian by hand,
 * with `extra` bytes after them. */
static void write_llmc_file(const char *path, int32_t magic, int32_t version, int32_t count, const uint16_t *tokens,
                            int n_tokens, int extra)
{
    uint8_t header[1024] = {0};
    int32_t words[3] = {magic, version, count};
    for (int w = 0; w < 3; w++)
        for (int b = 0; b < 4; b++) header[4 * w + b] = (uint8_t)((uint32_t)words[w] >> (8 * b));
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(header, 1, sizeof header, f);
    for (int i = 0; i < n_tokens; i++) {
        uint8_t pair[2] = {(uint8_t)(tokens[i] & 0xff), (uint8_t)(tokens[i] >> 8)};
        fwrite(pair, 1, 2, f);
    }
    for (int i = 0; i < extra; i++) fputc(0, f);
    fclose(f);
}

Test(data_tokens, bytes_are_their_own_tokens_and_decode_back) {
    const char text[] = "h\xc3\xa9llo\n"; /* "héllo": é is two UTF-8 bytes */
    tg_tokens *t = tg_tokens_from_bytes(text, 7);
    cr_assert_eq(tg_tokens_count(t), 7);
    const int32_t want[7] = {104, 195, 169, 108, 108, 111, 10};
    cr_assert_arr_eq(tg_tokens_data(t), want, sizeof want);
    char back[7];
    cr_assert_eq(tg_tokens_decode_bytes(t, 0, 7, back), TG_OK);
    cr_assert_arr_eq(back, text, 7);
    cr_assert_eq(tg_tokens_decode_bytes(t, 1, 2, back), TG_OK);
    cr_assert(back[0] == '\xc3' && back[1] == '\xa9');
    tg_tokens_free(t);
}

Test(data_tokens, an_llmc_file_loads_and_saves_byte_for_byte) {
    char dir[64], path[128], copy[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/train.bin", dir);
    snprintf(copy, sizeof copy, "%s/copy.bin", dir);
    const uint16_t ids[5] = {50256, 15496, 11, 0, 65535};
    write_llmc_file(path, 20240520, 1, 5, ids, 5, 0);
    tg_tokens *t = tg_tokens_load_llmc(path, 1 << 20);
    cr_assert_not_null(t, "%s", tg_last_error_message());
    cr_assert_eq(tg_tokens_count(t), 5);
    for (int i = 0; i < 5; i++) cr_assert_eq(tg_tokens_data(t)[i], (int32_t)ids[i]);
    cr_assert_eq(tg_tokens_save_llmc(t, copy), TG_OK);
    size_t a_size, b_size;
    uint8_t *a, *b;
    cr_assert_eq(tg_read_file(path, 1 << 20, &a, &a_size), TG_OK);
    cr_assert_eq(tg_read_file(copy, 1 << 20, &b, &b_size), TG_OK);
    cr_assert_eq(a_size, 1024 + 10);
    cr_assert(a_size == b_size && memcmp(a, b, a_size) == 0);
    free(a);
    free(b);
    tg_tokens_free(t);
    remove_temp_dir(dir);
}

Test(data_tokens, bad_llmc_files_are_refused_with_the_reason, .init = return_mode, .fini = abort_mode) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.bin", dir);
    const uint16_t ids[3] = {1, 2, 3};
    const char *f = "tg_tokens_load_llmc";
    write_llmc_file(path, 20240521, 1, 3, ids, 3, 0);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "magic 20240521");
    write_llmc_file(path, 20240520, 2, 3, ids, 3, 0);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "version 2");
    write_llmc_file(path, 20240520, 1, 4, ids, 3, 0);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "says 4 tokens (8 bytes) but 6 bytes");
    write_llmc_file(path, 20240520, 1, 3, ids, 3, 1);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "7 bytes follow");
    write_llmc_file(path, 20240520, 1, -1, ids, 3, 0);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "-1 tokens");
    FILE *short_file = fopen(path, "wb");
    fputs("not a token file", short_file);
    fclose(short_file);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_FORMAT, f, "16 bytes, shorter");
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    cr_assert_null(tg_tokens_load_llmc(path, 1 << 20));
    assert_error(TG_ERR_IO, f, "missing.bin");
    remove_temp_dir(dir);
}

Test(data_tokens, the_split_keeps_the_last_fraction_for_validation) {
    int32_t ids[10];
    for (int i = 0; i < 10; i++) ids[i] = 100 + i;
    tg_tokens *all = tg_tokens_from_array(ids, 10), *train, *val;
    cr_assert_eq(tg_tokens_split(all, 0.2, &train, &val), TG_OK);
    cr_assert_eq(tg_tokens_count(train), 8);
    cr_assert_eq(tg_tokens_count(val), 2);
    cr_assert_arr_eq(tg_tokens_data(train), ids, 8 * sizeof(int32_t));
    cr_assert_arr_eq(tg_tokens_data(val), ids + 8, 2 * sizeof(int32_t));
    tg_tokens_free(all);
    tg_tokens_free(train);
    tg_tokens_free(val);
}

/* Tokens 1000 + i: a window starting at s holds 1000 + s + j, its target
 * 1001 + s + j, whichever s the sampler drew. */
Test(data_tokens, windows_are_contiguous_and_targets_are_shifted_by_one) {
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = 1000 + i;
    tg_tokens *t = tg_tokens_from_array(ids, 40);
    tg_token_batches *b = tg_token_batches_new(t, 16, 8);
    tg_rng rng = tg_rng_seeded(3);
    tg_tensor *x, *y;
    bool saw_first = false, saw_last = false;
    for (int round = 0; round < 20; round++) {
        cr_assert_eq(tg_token_batches_sample(b, &rng, &x, &y), TG_OK);
        cr_assert_eq(x->dtype, TG_TOKEN_DTYPE);
        cr_assert(x->rank == 2 && x->shape[0] == 16 && x->shape[1] == 8);
        for (int r = 0; r < 16; r++) {
            double start = tg_get(x, (int64_t[]){r, 0}) - 1000;
            cr_assert(start >= 0 && start <= 40 - 8 - 1, "start %g", start);
            saw_first |= start == 0;
            saw_last |= start == 31;
            for (int j = 0; j < 8; j++) {
                cr_assert_eq(tg_get(x, (int64_t[]){r, j}), 1000 + start + j);
                cr_assert_eq(tg_get(y, (int64_t[]){r, j}), 1001 + start + j);
            }
        }
    }
    cr_assert(saw_first && saw_last, "320 draws from 32 starts reach both ends");
    /* The same seed, the same batch. */
    tg_rng again = tg_rng_seeded(3);
    tg_tensor *x1, *y1;
    tg_token_batches *b2 = tg_token_batches_new(t, 16, 8);
    cr_assert_eq(tg_token_batches_sample(b2, &again, &x1, &y1), TG_OK);
    tg_rng first = tg_rng_seeded(3);
    cr_assert_eq(tg_token_batches_sample(b, &first, &x, &y), TG_OK);
    cr_assert_arr_eq(tg_data_f32(x), tg_data_f32(x1), 16 * 8 * sizeof(float));
    tg_token_batches_free(b);
    tg_token_batches_free(b2);
    tg_tokens_free(t);
}

Test(data_tokens, windows_at_given_starts) {
    tg_tokens *t = tg_tokens_from_bytes("abcdef", 6);
    tg_token_batches *b = tg_token_batches_new(t, 2, 3);
    tg_tensor *x, *y;
    cr_assert_eq(tg_token_batches_fill(b, (int64_t[]){2, 0}, &x, &y), TG_OK);
    const double want_x[6] = {'c', 'd', 'e', 'a', 'b', 'c'}, want_y[6] = {'d', 'e', 'f', 'b', 'c', 'd'};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(tg_get_flat(x, i), want_x[i]);
        cr_assert_eq(tg_get_flat(y, i), want_y[i]);
    }
    tg_token_batches_free(b);
    tg_tokens_free(t);
}

Test(data_tokens, bad_arguments_are_reported, .init = return_mode, .fini = abort_mode) {
    tg_tokens *t = tg_tokens_from_bytes("abcdef", 6);
    cr_assert_null(tg_token_batches_new(t, 2, 6));
    assert_error(TG_ERR_ARGUMENT, "tg_token_batches_new", "context 6");
    tg_token_batches *b = tg_token_batches_new(t, 1, 5);
    tg_tensor *x, *y;
    cr_assert_neq(tg_token_batches_fill(b, (int64_t[]){1}, &x, &y), TG_OK);
    assert_error(TG_ERR_ARGUMENT, "tg_token_batches_fill", "starts[0] = 1 is outside [0, 0]");
    tg_tokens *big = tg_tokens_from_array((int32_t[]){65, 300}, 2);
    char out[2];
    cr_assert_neq(tg_tokens_decode_bytes(big, 0, 2, out), TG_OK);
    assert_error(TG_ERR_ARGUMENT, "tg_tokens_decode_bytes", "token 1 is 300");
    cr_assert_null(tg_tokens_from_array((int32_t[]){1, -4}, 2));
    assert_error(TG_ERR_ARGUMENT, "tg_tokens_from_array", "token 1 is -4");
    tg_tokens *train, *val;
    cr_assert_neq(tg_tokens_split(t, 1.5, &train, &val), TG_OK);
    assert_error(TG_ERR_ARGUMENT, "tg_tokens_split", "1.5");
    cr_assert(train == NULL && val == NULL);
    tg_token_batches_free(b);
    tg_tokens_free(big);
    tg_tokens_free(t);
}
