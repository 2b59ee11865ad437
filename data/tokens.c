/* data/tokens.c — token streams for language models: the byte-level
 * tokenizer, llm.c's token files, a contiguous train/validation split, and
 * batches of random windows (x = tokens[i : i+T], y = tokens[i+1 : i+T+1]).
 *
 * llm.c's format (dev/data/data_common.py, write_datafile): 256 int32
 * little-endian header words, [0] = 20240520, [1] = 1, [2] = token count,
 * then the tokens as uint16 little-endian. The parser checks every field
 * against the bytes it has before reading (the fuzz harness runs it on
 * arbitrary input).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tapegrad/data.h"

#define LLMC_MAGIC 20240520
#define LLMC_VERSION 1
#define LLMC_HEADER_BYTES (256 * 4)

struct tg_tokens {
    int64_t count;
    int32_t *ids;
};

struct tg_token_batches {
    const tg_tokens *tokens;
    int64_t batch_size, context;
    int64_t *starts;
    tg_tensor *x, *y;
};

/* A stream of `count` uninitialized ids, reported under `function`. */
static tg_tokens *tokens_alloc(const char *function, int64_t count)
{
    tg_tokens *t = calloc(1, sizeof *t);
    if (t && count > 0 && (uint64_t)count <= SIZE_MAX / sizeof(int32_t)) t->ids = malloc((size_t)count * sizeof(int32_t));
    if (!t || (count > 0 && !t->ids)) {
        free(t);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %lld tokens", (long long)count);
        return NULL;
    }
    t->count = count;
    return t;
}

static tg_tokens *tokens_from_bytes(const char *function, const uint8_t *bytes, size_t size)
{
    tg_tokens *t = tokens_alloc(function, (int64_t)size);
    if (!t) return NULL;
    for (size_t i = 0; i < size; i++) t->ids[i] = bytes[i];
    return t;
}

tg_tokens *tg_tokens_from_bytes(const void *text, size_t size)
{
    if (!text && size > 0) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tokens_from_bytes", "text is NULL with size %zu", size);
        return NULL;
    }
    return tokens_from_bytes("tg_tokens_from_bytes", text, size);
}

tg_tokens *tg_tokens_read_text(const char *path, size_t max_bytes)
{
    const char *function = "tg_tokens_read_text";
    if (!path) {
        tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
        return NULL;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (tgi_read_file(function, path, max_bytes, &bytes, &size) != TG_OK) return NULL;
    tg_tokens *t = tokens_from_bytes(function, bytes, size);
    free(bytes);
    return t;
}

tg_tokens *tg_tokens_from_array(const int32_t *ids, int64_t count)
{
    const char *function = "tg_tokens_from_array";
    if ((!ids && count > 0) || count < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "ids %s with count %lld", ids ? "given" : "NULL",
                        (long long)count);
        return NULL;
    }
    for (int64_t i = 0; i < count; i++)
        if (ids[i] < 0) {
            tg_error_report(TG_ERR_ARGUMENT, function, "token %lld is %d; ids must be >= 0", (long long)i,
                            (int)ids[i]);
            return NULL;
        }
    tg_tokens *t = tokens_alloc(function, count);
    if (t && count > 0) memcpy(t->ids, ids, (size_t)count * sizeof(int32_t));
    return t;
}

tg_status tg_tokens_decode_bytes(const tg_tokens *tokens, int64_t first, int64_t count, char *out)
{
    const char *function = "tg_tokens_decode_bytes";
    if (!tokens || !out) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", tokens ? "out" : "tokens");
    if (first < 0 || count < 0 || first > tokens->count || count > tokens->count - first)
        return tg_error_report(TG_ERR_ARGUMENT, function, "range [%lld, %lld + %lld) is outside the %lld tokens",
                               (long long)first, (long long)first, (long long)count, (long long)tokens->count);
    for (int64_t i = 0; i < count; i++) {
        int32_t id = tokens->ids[first + i];
        if (id > 255)
            return tg_error_report(TG_ERR_ARGUMENT, function, "token %lld is %d, not a byte (0..255)",
                                   (long long)(first + i), (int)id);
        out[i] = (char)(uint8_t)id;
    }
    return TG_OK;
}

static uint32_t read_u32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

tg_tokens *tgi_llmc_parse(const char *function, const char *name, const uint8_t *bytes, size_t size)
{
    if (size < LLMC_HEADER_BYTES) {
        tg_error_report(TG_ERR_FORMAT, function, "'%s' is %zu bytes, shorter than llm.c's %d-byte header", name,
                        size, LLMC_HEADER_BYTES);
        return NULL;
    }
    uint32_t magic = read_u32_le(bytes), version = read_u32_le(bytes + 4);
    int32_t count = (int32_t)read_u32_le(bytes + 8);
    if (magic != LLMC_MAGIC) {
        tg_error_report(TG_ERR_FORMAT, function, "'%s': magic %u, not llm.c's token file magic %d", name,
                        (unsigned)magic, LLMC_MAGIC);
        return NULL;
    }
    if (version != LLMC_VERSION) {
        tg_error_report(TG_ERR_FORMAT, function, "'%s': version %u; only version %d (uint16 tokens) is known", name,
                        (unsigned)version, LLMC_VERSION);
        return NULL;
    }
    size_t payload = size - LLMC_HEADER_BYTES;
    if (count < 0 || payload != 2 * (size_t)count) {
        tg_error_report(TG_ERR_FORMAT, function,
                        "'%s': the header says %d tokens (%lld bytes) but %zu bytes follow the header", name,
                        (int)count, 2 * (long long)count, payload);
        return NULL;
    }
    tg_tokens *t = tokens_alloc(function, count);
    if (!t) return NULL;
    const uint8_t *p = bytes + LLMC_HEADER_BYTES;
    for (int64_t i = 0; i < count; i++) t->ids[i] = (int32_t)(p[2 * i] | p[2 * i + 1] << 8);
    return t;
}

tg_tokens *tg_tokens_load_llmc(const char *path, size_t max_bytes)
{
    const char *function = "tg_tokens_load_llmc";
    if (!path) {
        tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
        return NULL;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (tgi_read_file(function, path, max_bytes, &bytes, &size) != TG_OK) return NULL;
    tg_tokens *t = tgi_llmc_parse(function, path, bytes, size);
    free(bytes);
    return t;
}

static void write_u32_le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

tg_status tg_tokens_save_llmc(const tg_tokens *tokens, const char *path)
{
    const char *function = "tg_tokens_save_llmc";
    if (!tokens || !path) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", tokens ? "path" : "tokens");
    if (tokens->count > INT32_MAX)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%lld tokens: the header holds at most %d",
                               (long long)tokens->count, INT32_MAX);
    for (int64_t i = 0; i < tokens->count; i++)
        if (tokens->ids[i] > 65535)
            return tg_error_report(TG_ERR_ARGUMENT, function, "token %lld is %d; the format holds uint16 (<= 65535)",
                                   (long long)i, (int)tokens->ids[i]);
    uint8_t header[LLMC_HEADER_BYTES] = {0};
    write_u32_le(header, LLMC_MAGIC);
    write_u32_le(header + 4, LLMC_VERSION);
    write_u32_le(header + 8, (uint32_t)tokens->count);
    FILE *file = fopen(path, "wb");
    if (!file) return tg_error_report(TG_ERR_IO, function, "cannot create '%s'", path);
    bool ok = fwrite(header, 1, sizeof header, file) == sizeof header;
    for (int64_t i = 0; ok && i < tokens->count; i++) {
        uint8_t pair[2] = {(uint8_t)(tokens->ids[i] & 0xff), (uint8_t)(tokens->ids[i] >> 8)};
        ok = fwrite(pair, 1, 2, file) == 2;
    }
    if (fclose(file) != 0) ok = false;
    if (!ok) return tg_error_report(TG_ERR_IO, function, "write error on '%s'", path);
    return TG_OK;
}

int64_t tg_tokens_count(const tg_tokens *tokens)
{
    if (!tokens) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tokens_count", "tokens is NULL");
        return -1;
    }
    return tokens->count;
}

const int32_t *tg_tokens_data(const tg_tokens *tokens)
{
    if (!tokens) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tokens_data", "tokens is NULL");
        return NULL;
    }
    return tokens->ids;
}

tg_status tg_tokens_split(const tg_tokens *tokens, double validation_fraction, tg_tokens **train,
                          tg_tokens **validation)
{
    const char *function = "tg_tokens_split";
    if (train) *train = NULL;
    if (validation) *validation = NULL;
    if (!tokens || !train || !validation)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !tokens ? "tokens" : !train ? "train" : "validation");
    if (!(validation_fraction >= 0 && validation_fraction <= 1))
        return tg_error_report(TG_ERR_ARGUMENT, function, "validation_fraction must be in [0, 1], got %g",
                               validation_fraction);
    int64_t n_val = (int64_t)llround((double)tokens->count * validation_fraction);
    int64_t n_train = tokens->count - n_val;
    tg_tokens *a = tokens_alloc(function, n_train), *b = a ? tokens_alloc(function, n_val) : NULL;
    if (!a || !b) {
        tg_tokens_free(a);
        return tg_last_error();
    }
    if (n_train > 0) memcpy(a->ids, tokens->ids, (size_t)n_train * sizeof(int32_t));
    if (n_val > 0) memcpy(b->ids, tokens->ids + n_train, (size_t)n_val * sizeof(int32_t));
    *train = a;
    *validation = b;
    return TG_OK;
}

void tg_tokens_free(tg_tokens *tokens)
{
    if (!tokens) return;
    free(tokens->ids);
    free(tokens);
}

tg_token_batches *tg_token_batches_new(const tg_tokens *tokens, int64_t batch_size, int64_t context)
{
    const char *function = "tg_token_batches_new";
    if (!tokens) {
        tg_error_report(TG_ERR_ARGUMENT, function, "tokens is NULL");
        return NULL;
    }
    if (batch_size < 1 || context < 1 || tokens->count < context + 1) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "batch_size %lld and context %lld must be >= 1, with at least context + 1 tokens (have %lld)",
                        (long long)batch_size, (long long)context, (long long)tokens->count);
        return NULL;
    }
    tg_token_batches *b = calloc(1, sizeof *b);
    int64_t shape[2] = {batch_size, context};
    if (b) {
        b->starts = calloc((size_t)batch_size, sizeof(int64_t));
        b->x = tg_zeros(TG_TOKEN_DTYPE, 2, shape);
        b->y = tg_zeros(TG_TOKEN_DTYPE, 2, shape);
    }
    if (!b || !b->starts || !b->x || !b->y) {
        tg_token_batches_free(b);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a batch of (%lld,%lld) tokens",
                        (long long)batch_size, (long long)context);
        return NULL;
    }
    b->tokens = tokens;
    b->batch_size = batch_size;
    b->context = context;
    return b;
}

/* Copies tokens [start, start + n) into row `row` of t: the one place that
 * knows TG_TOKEN_DTYPE's element type. */
static void store_window(tg_tensor *t, const int32_t *ids, int64_t row, int64_t n)
{
    float *out = tg_data_f32(t) + row * n;
    for (int64_t j = 0; j < n; j++) out[j] = (float)ids[j];
}

static tg_status fill_rows(tg_token_batches *b, const int64_t *starts, tg_tensor **x, tg_tensor **y)
{
    for (int64_t r = 0; r < b->batch_size; r++) {
        store_window(b->x, b->tokens->ids + starts[r], r, b->context);
        store_window(b->y, b->tokens->ids + starts[r] + 1, r, b->context);
    }
    *x = b->x;
    *y = b->y;
    return TG_OK;
}

tg_status tg_token_batches_sample(tg_token_batches *b, tg_rng *rng, tg_tensor **x, tg_tensor **y)
{
    if (!b || !rng || !x || !y)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_token_batches_sample", "%s is NULL",
                               !b ? "b" : !rng ? "rng" : !x ? "x" : "y");
    uint64_t positions = (uint64_t)(b->tokens->count - b->context);
    for (int64_t r = 0; r < b->batch_size; r++) b->starts[r] = (int64_t)tg_rng_below(rng, positions);
    return fill_rows(b, b->starts, x, y);
}

tg_status tg_token_batches_fill(tg_token_batches *b, const int64_t *starts, tg_tensor **x, tg_tensor **y)
{
    const char *function = "tg_token_batches_fill";
    if (!b || !starts || !x || !y)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !b ? "b" : !starts ? "starts" : !x ? "x" : "y");
    int64_t last = b->tokens->count - b->context - 1;
    for (int64_t r = 0; r < b->batch_size; r++)
        if (starts[r] < 0 || starts[r] > last)
            return tg_error_report(TG_ERR_ARGUMENT, function, "starts[%lld] = %lld is outside [0, %lld]", (long long)r,
                                   (long long)starts[r], (long long)last);
    return fill_rows(b, starts, x, y);
}

void tg_token_batches_free(tg_token_batches *b)
{
    if (!b) return;
    free(b->starts);
    tg_free(b->x);
    tg_free(b->y);
    free(b);
}
