/* Tests of the built-in gzip/DEFLATE decoder (data/inflate.c).
 * Fixtures: byte arrays made with Python's zlib (wbits=31), and streams made
 * at run time by the `gzip` program when it is installed. */
#include <stdint.h>

#include "helpers.h"

/* zlib level 9 on "hello, hello, hello world\n": one fixed-Huffman block with
 * back-references. */
static const uint8_t gz_fixed[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8,
    0x40, 0xa2, 0x14, 0xca, 0xf3, 0x8b, 0x72, 0x52, 0xb8, 0x00, 0x87, 0x5d, 0x46, 0x2b, 0x1a, 0x00, 0x00, 0x00};
static const char text_fixed[] = "hello, hello, hello world\n";

/* zlib level 0 on "stored block: 0123456789": one stored block. */
static const uint8_t gz_stored[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x01, 0x18, 0x00, 0xe7, 0xff, 0x73,
    0x74, 0x6f, 0x72, 0x65, 0x64, 0x20, 0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x3a, 0x20, 0x30, 0x31, 0x32,
    0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x68, 0xd9, 0xd7, 0xd8, 0x18, 0x00, 0x00, 0x00};
static const char text_stored[] = "stored block: 0123456789";

Test(inflate, decodes_a_fixed_huffman_block, .init = return_mode)
{
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(gz_fixed, sizeof gz_fixed, 1000, &out, &size), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(size, strlen(text_fixed));
    cr_assert_eq(memcmp(out, text_fixed, size), 0);
    free(out);
}

Test(inflate, decodes_a_stored_block, .init = return_mode)
{
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(gz_stored, sizeof gz_stored, 1000, &out, &size), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(size, strlen(text_stored));
    cr_assert_eq(memcmp(out, text_stored, size), 0);
    free(out);
}

Test(inflate, refuses_a_crc_mismatch, .init = return_mode)
{
    uint8_t bad[sizeof gz_fixed];
    memcpy(bad, gz_fixed, sizeof bad);
    bad[sizeof bad - 8] ^= 0x01; /* first byte of the CRC32 */
    uint8_t *out = (uint8_t *)1;
    size_t size = 7;
    cr_assert_eq(tg_gunzip(bad, sizeof bad, 1000, &out, &size), TG_ERR_FORMAT);
    cr_assert_null(out);
    cr_assert_eq(size, 0);
    assert_error_from("tg_gunzip");
    cr_assert_not_null(strstr(tg_last_error_message(), "CRC32"));
}

Test(inflate, refuses_every_truncation, .init = return_mode)
{
    for (size_t cut = 0; cut < sizeof gz_fixed; ++cut) {
        uint8_t *out = NULL;
        size_t size = 0;
        cr_assert_neq(tg_gunzip(gz_fixed, cut, 1000, &out, &size), TG_OK, "accepted %zu of %zu bytes", cut,
                      sizeof gz_fixed);
        cr_assert_null(out);
    }
}

Test(inflate, refuses_output_above_the_limit, .init = return_mode)
{
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(gz_fixed, sizeof gz_fixed, 10, &out, &size), TG_ERR_FORMAT);
    cr_assert_not_null(strstr(tg_last_error_message(), "limit"));
}

Test(inflate, refuses_an_impossible_declared_size, .init = return_mode)
{
    /* ISIZE claims 1 GiB from 36 bytes: refused before allocating it. */
    uint8_t bad[sizeof gz_fixed];
    memcpy(bad, gz_fixed, sizeof bad);
    bad[sizeof bad - 1] = 0x40;
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(bad, sizeof bad, (size_t)1 << 31, &out, &size), TG_ERR_FORMAT);
    cr_assert_not_null(strstr(tg_last_error_message(), "impossible"));
}

Test(inflate, refuses_bad_magic, .init = return_mode)
{
    uint8_t bad[sizeof gz_fixed];
    memcpy(bad, gz_fixed, sizeof bad);
    bad[1] = 0x8c;
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(bad, sizeof bad, 1000, &out, &size), TG_ERR_FORMAT);
    cr_assert_not_null(strstr(tg_last_error_message(), "magic"));
}

/* Every single-bit flip of a valid stream must fail cleanly or (rarely, in
 * header fields that are not checked, like MTIME) decode the same text. */
Test(inflate, survives_every_bit_flip, .init = return_mode)
{
    uint8_t bad[sizeof gz_fixed];
    for (size_t byte = 0; byte < sizeof gz_fixed; ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            memcpy(bad, gz_fixed, sizeof bad);
            bad[byte] ^= (uint8_t)(1u << bit);
            uint8_t *out = NULL;
            size_t size = 0;
            if (tg_gunzip(bad, sizeof bad, 1000, &out, &size) == TG_OK) {
                cr_assert_eq(size, strlen(text_fixed));
                cr_assert_eq(memcmp(out, text_fixed, size), 0, "flip at byte %zu bit %d changed the text", byte,
                             bit);
                free(out);
            }
        }
    }
}

/* Random garbage after a valid header must never crash or overrun. */
Test(inflate, survives_random_streams, .init = return_mode)
{
    tg_rng rng = tg_rng_seeded(1951);
    uint8_t buffer[600];
    for (int trial = 0; trial < 2000; ++trial) {
        memcpy(buffer, gz_fixed, 10);
        size_t length = 18 + (size_t)tg_rng_below(&rng, sizeof buffer - 18);
        for (size_t i = 10; i < length; ++i) buffer[i] = (uint8_t)tg_rng_next_u64(&rng);
        buffer[length - 4] = (uint8_t)tg_rng_below(&rng, 64); /* ISIZE small: it will be allocated */
        buffer[length - 3] = buffer[length - 2] = buffer[length - 1] = 0;
        uint8_t *out = NULL;
        size_t size = 0;
        if (tg_gunzip(buffer, length, 4096, &out, &size) == TG_OK) free(out);
    }
}

/* Dynamic-Huffman blocks, long matches and overlapping copies: compress a
 * generated text with the gzip program and compare. */
Test(inflate, matches_the_gzip_program, .init = return_mode)
{
    if (!have_program("gzip --version > /dev/null 2>&1")) cr_skip_test("the gzip program is not installed");
    char dir[64], plain[128], command[400];
    make_temp_dir(dir, sizeof dir);
    snprintf(plain, sizeof plain, "%s/text", dir);
    size_t size = 300000;
    uint8_t *text = malloc(size);
    tg_rng rng = tg_rng_seeded(7);
    for (size_t i = 0; i < size; ++i) {
        /* Runs, repeats at random distances and noise, to exercise all codes. */
        uint64_t r = tg_rng_below(&rng, 10);
        if (r < 3 && i > 40000) text[i] = text[i - 1 - tg_rng_below(&rng, 32768)];
        else if (r < 6 && i > 0) text[i] = text[i - 1];
        else text[i] = (uint8_t)tg_rng_below(&rng, r < 8 ? 16 : 256);
    }
    write_bytes(plain, text, size);
    snprintf(command, sizeof command, "gzip -9 -k -n '%s'", plain);
    cr_assert_eq(system(command), 0);
    snprintf(plain, sizeof plain, "%s/text.gz", dir);
    uint8_t *out = NULL;
    size_t out_size = 0;
    cr_assert_eq(tg_read_file(plain, 1 << 20, &out, &out_size), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(out_size, size);
    cr_assert_eq(memcmp(out, text, size), 0);
    free(out);
    free(text);
    remove_temp_dir(dir);
}

Test(inflate, reads_uncompressed_files_as_they_are, .init = return_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/plain.txt", dir);
    write_text(path, "not compressed");
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_read_file(path, 100, &out, &size), TG_OK);
    cr_assert_eq(size, 14);
    cr_assert_eq(memcmp(out, "not compressed", 14), 0);
    free(out);
    cr_assert_eq(tg_read_file(path, 5, &out, &size), TG_ERR_FORMAT);
    assert_error_from("tg_read_file");
    snprintf(path, sizeof path, "%s/missing", dir);
    cr_assert_eq(tg_read_file(path, 100, &out, &size), TG_ERR_IO);
    cr_assert_not_null(strstr(tg_last_error_message(), "missing"));
    remove_temp_dir(dir);
}

/* ---- several members, trailing bytes (issue 21) ---- */

/* Writes the concatenation of `n` byte arrays to `path`. */
static void write_concatenation(const char *path, int n, const uint8_t *const *parts, const size_t *sizes)
{
    size_t total = 0;
    for (int i = 0; i < n; ++i) total += sizes[i];
    uint8_t *bytes = malloc(total);
    size_t at = 0;
    for (int i = 0; i < n; ++i) {
        memcpy(bytes + at, parts[i], sizes[i]);
        at += sizes[i];
    }
    write_bytes(path, bytes, total);
    free(bytes);
}

Test(inflate, decodes_concatenated_members_as_gzip_d_does, .init = return_mode)
{
    /* `cat a.gz b.gz a.gz > c.gz`: gzip -d gives the three texts in a row.
     * They were refused as "unexpected bytes after the compressed data". */
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/three.gz", dir);
    const uint8_t *parts[3] = {gz_fixed, gz_stored, gz_fixed};
    const size_t sizes[3] = {sizeof gz_fixed, sizeof gz_stored, sizeof gz_fixed};
    write_concatenation(path, 3, parts, sizes);
    char expected[128];
    snprintf(expected, sizeof expected, "%s%s%s", text_fixed, text_stored, text_fixed);
    size_t total = strlen(expected);
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_read_file(path, 1000, &out, &size), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(size, total);
    cr_assert_eq(memcmp(out, expected, total), 0);
    free(out);
    /* The limit holds for the members together: exactly the total passes. */
    size_t file_size = 0;
    uint8_t *file = slurp(path, &file_size);
    cr_assert_eq(tg_gunzip(file, file_size, total, &out, &size), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(size, total);
    free(out);
    cr_assert_eq(tg_gunzip(file, file_size, total - 1, &out, &size), TG_ERR_FORMAT);
    cr_assert_null(out);
    assert_error(TG_ERR_FORMAT, "tg_gunzip", "limit");
    free(file);
    remove_temp_dir(dir);
}

Test(inflate, a_damaged_second_member_is_refused, .init = return_mode)
{
    uint8_t two[sizeof gz_fixed + sizeof gz_stored];
    memcpy(two, gz_fixed, sizeof gz_fixed);
    memcpy(two + sizeof gz_fixed, gz_stored, sizeof gz_stored);
    two[sizeof two - 8] ^= 1; /* the second member's CRC32 */
    uint8_t *out = NULL;
    size_t size = 0;
    cr_assert_eq(tg_gunzip(two, sizeof two, 1000, &out, &size), TG_ERR_FORMAT);
    cr_assert_null(out);
    assert_error(TG_ERR_FORMAT, "tg_gunzip", "CRC32");
}

Test(inflate, names_trailing_garbage_after_the_last_member, .init = return_mode)
{
    /* Bytes appended to a good file, which start no member: they were
     * reported as a CRC or length problem of the member itself. */
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/tail.gz", dir);
    static const uint8_t junk[] = {'j', 'u', 'n', 'k', '\n'};
    static const uint8_t zeros[8] = {0};
    static const uint8_t half_magic[1] = {0x1f};
    const uint8_t *tails[3] = {junk, zeros, half_magic};
    const size_t tail_sizes[3] = {sizeof junk, sizeof zeros, sizeof half_magic};
    for (int t = 0; t < 3; ++t) {
        const uint8_t *parts[2] = {gz_fixed, tails[t]};
        const size_t sizes[2] = {sizeof gz_fixed, tail_sizes[t]};
        write_concatenation(path, 2, parts, sizes);
        uint8_t *out = NULL;
        size_t size = 0;
        cr_assert_eq(tg_read_file(path, 1000, &out, &size), TG_ERR_FORMAT, "tail %d", t);
        cr_assert_null(out);
        assert_error(TG_ERR_FORMAT, "tg_read_file", "trailing garbage after the last gzip member");
    }
    remove_temp_dir(dir);
}
