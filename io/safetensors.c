/* io/safetensors.c — checkpoints in the safetensors format (see
 * include/tapegrad/checkpoint.h for the layout and the guarantees).
 *
 * Reading trusts nothing: the header length is checked against the file
 * size and a fixed limit before anything is allocated from it, the JSON is
 * parsed by a strict bounded parser, every tensor's byte range is checked
 * against its shape and dtype, and the ranges must tile the data section.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/checkpoint_internal.h"
#include "core/tensor_internal.h"
#include "core/error_internal.h"
#include "tapegrad/checkpoint.h"

/* The reader's limits, which the writer checks too, so that a save never
 * replaces a good checkpoint with a file the reader refuses. */
#define HEADER_LIMIT TG_CHECKPOINT_HEADER_LIMIT
#define JSON_MAX_DEPTH 16

/* ---------------------------------------------------------------- helpers */

static bool host_is_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

/* Copies `count` elements of `size` bytes, reversing each one's bytes when
 * the host is big-endian (the file is always little-endian). */
static void copy_little_endian(void *dst, const void *src, int64_t count, size_t size)
{
    if (count <= 0) return; /* an empty tensor may have no buffer at all */
    memcpy(dst, src, (size_t)count * size);
    if (host_is_little_endian() || size == 1) return;
    uint8_t *bytes = dst;
    for (int64_t i = 0; i < count; ++i) {
        uint8_t *e = bytes + (size_t)i * size;
        for (size_t a = 0, b = size - 1; a < b; ++a, --b) {
            uint8_t t = e[a];
            e[a] = e[b];
            e[b] = t;
        }
    }
}

/* FNV-1a, 64 bits: tiny, dependency-free and sensitive to every bit. */
static uint64_t fnv1a64(uint64_t hash, const void *data, size_t size)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < size; ++i) {
        hash ^= bytes[i];
        hash *= UINT64_C(0x100000001b3);
    }
    return hash;
}
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

static size_t dtype_bytes(const char *dtype)
{
    static const struct { const char *name; size_t size; } table[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},   {"BOOL", 1},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i)
        if (strcmp(dtype, table[i].name) == 0) return table[i].size;
    return 0;
}

static const char *dtype_code(tg_dtype dtype)
{
    switch (dtype) {
    case TG_F32: return "F32";
    case TG_F64: return "F64";
    case TG_I64: return "I64";
    case TG_I32: return "I32";
    }
    return NULL;
}

/* A growing text buffer for the JSON header. */
typedef struct text {
    char *data;
    size_t size, capacity;
    bool failed;
} text;

static void text_append(text *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (t->size + n + 1 > t->capacity) {
        size_t capacity = t->capacity ? t->capacity : 256;
        while (capacity < t->size + n + 1) capacity *= 2;
        char *grown = realloc(t->data, capacity);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown;
        t->capacity = capacity;
    }
    memcpy(t->data + t->size, s, n);
    t->size += n;
    t->data[t->size] = '\0';
}

static void text_puts(text *t, const char *s) { text_append(t, s, strlen(s)); }

static void text_printf_u64(text *t, uint64_t value)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)value);
    text_puts(t, digits);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8) pass through. */
static void text_json_string(text *t, const char *s)
{
    text_append(t, "\"", 1);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        char escaped[8];
        if (c == '"' || c == '\\') {
            escaped[0] = '\\';
            escaped[1] = (char)c;
            text_append(t, escaped, 2);
        } else if (c < 0x20) {
            snprintf(escaped, sizeof escaped, "\\u%04x", c);
            text_append(t, escaped, 6);
        } else {
            text_append(t, (const char *)&c, 1);
        }
    }
    text_append(t, "\"", 1);
}

/* ------------------------------------------------------------------ save */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first string of `strings[0..n)` that occurs twice, or NULL; *failed
 * when out of memory. Sorting makes this O(n log n): a header may hold
 * millions of names (it is up to 100 MB), and comparing each new name with
 * all earlier ones took 43 s for 100,000 of them. */
static const char *find_duplicate(const char *const *strings, int n, bool *failed)
{
    *failed = false;
    if (n < 2) return NULL;
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) {
        *failed = true;
        return NULL;
    }
    memcpy(sorted, strings, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_strings);
    const char *duplicate = NULL;
    for (int i = 1; i < n && !duplicate; ++i)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) duplicate = sorted[i];
    free(sorted);
    return duplicate;
}

static tg_status check_save_arguments(const char *fn, const char *path, int n, const char *const *names,
                                      const tg_tensor *const *tensors, int n_meta, const char *const *keys,
                                      const char *const *values)
{
    if (!path || n < 0 || n_meta < 0 || (n > 0 && (!names || !tensors)) || (n_meta > 0 && (!keys || !values)))
        return tg_error_report(TG_ERR_ARGUMENT, fn, "need a path, n >= 0 and n_meta >= 0 with their arrays, got "
                               "path %s, n %d (names %s, tensors %s), n_meta %d (keys %s, values %s)",
                               path ? "set" : "NULL", n, names ? "set" : "NULL", tensors ? "set" : "NULL", n_meta,
                               keys ? "set" : "NULL", values ? "set" : "NULL");
    for (int i = 0; i < n; ++i) {
        const tg_tensor *t = tensors[i];
        if (!names[i] || !*names[i] || strcmp(names[i], "__metadata__") == 0)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "tensor %d has no name or the reserved name", i);
        if (!t) return tg_error_null_tensor(fn, "tensor '%s' is NULL", names[i]);
        if (tg_tensor_check(fn, names[i], t) != TG_OK) return tg_last_error(); /* stale */
        if (!dtype_code(t->dtype))
            return tg_error_report(TG_ERR_DTYPE, fn, "tensor '%s' has unknown dtype %d", names[i], (int)t->dtype);
        if (t->rank < 0 || t->rank > TG_MAX_RANK ||
            !tgi_shape_sizes_fit(t->rank, t->shape, tgi_shape_size_limit(tg_dtype_size(t->dtype)))) {
            char shape[200];
            return tg_error_report(TG_ERR_SHAPE, fn, "tensor '%s' has shape %s, which the reader refuses", names[i],
                                   tg_shape_string(shape, sizeof shape, t->rank, t->shape));
        }
        if (t->numel > 0 && !t->data)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "tensor '%s' has no data", names[i]);
    }
    for (int i = 0; i < n_meta; ++i) {
        if (!keys[i] || !values[i])
            return tg_error_report(TG_ERR_ARGUMENT, fn, "metadata entry %d is NULL", i);
        if (strcmp(keys[i], TG_CHECKPOINT_CHECKSUM_KEY) == 0)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "metadata key '%s' is reserved", keys[i]);
    }
    /* Sorted, not pairwise: the writer accepts as many names as the reader. */
    bool failed;
    const char *duplicate = find_duplicate(names, n, &failed);
    if (!failed && duplicate) return tg_error_report(TG_ERR_ARGUMENT, fn, "duplicate tensor name '%s'", duplicate);
    if (!failed) duplicate = find_duplicate(keys, n_meta, &failed);
    if (!failed && duplicate) return tg_error_report(TG_ERR_ARGUMENT, fn, "duplicate metadata key '%s'", duplicate);
    if (failed) return tg_error_report(TG_ERR_MEMORY, fn, "out of memory checking %d names for duplicates", n + n_meta);
    return TG_OK;
}

/* The checksum, as stored under TG_CHECKPOINT_CHECKSUM_KEY:
 *   "fnv1a64-file:<16 hex digits>"  FNV-1a 64 of the whole file as written,
 *       with those 16 digits read as '0'. It covers the header too, so a
 *       changed metadata value or tensor name is caught, not only changed
 *       data. Written by every save.
 *   "fnv1a64:<16 hex digits>"  FNV-1a 64 of the data section only: written
 *       by earlier versions, still verified when read. */
#define CHECKSUM_FILE_PREFIX "fnv1a64-file:"
#define CHECKSUM_DATA_PREFIX "fnv1a64:"
#define CHECKSUM_DIGITS 16

/* FNV-1a of the tensors' bytes as the file stores them (little-endian). */
static uint64_t hash_tensors(uint64_t hash, int n, const tg_tensor *const *tensors)
{
    uint8_t chunk[4096];
    for (int i = 0; i < n; ++i) {
        const tg_tensor *t = tensors[i];
        size_t size = tg_dtype_size(t->dtype);
        int64_t per_chunk = (int64_t)(sizeof chunk / size);
        for (int64_t at = 0; at < t->numel; at += per_chunk) {
            int64_t count = t->numel - at < per_chunk ? t->numel - at : per_chunk;
            copy_little_endian(chunk, (const uint8_t *)t->data + (size_t)at * size, count, size);
            hash = fnv1a64(hash, chunk, (size_t)count * size);
        }
    }
    return hash;
}

static void put_hex_digits(char *out, uint64_t hash)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < CHECKSUM_DIGITS; ++i) out[i] = digits[(hash >> (4 * (CHECKSUM_DIGITS - 1 - i))) & 15];
}

/* Builds the padded JSON header with the checksum's digits all '0'; their
 * offset in the header goes to *digits_at, for the caller to fill in once
 * the whole file has been hashed. */
static bool build_header(text *json, size_t *digits_at, int n, const char *const *names,
                         const tg_tensor *const *tensors, int n_meta, const char *const *keys,
                         const char *const *values)
{
    text_puts(json, "{\"__metadata__\":{");
    text_json_string(json, TG_CHECKPOINT_CHECKSUM_KEY);
    text_puts(json, ":\"" CHECKSUM_FILE_PREFIX);
    *digits_at = json->size;
    text_puts(json, "0000000000000000\"");
    for (int i = 0; i < n_meta; ++i) {
        text_puts(json, ",");
        text_json_string(json, keys[i]);
        text_puts(json, ":");
        text_json_string(json, values[i]);
    }
    text_puts(json, "}");
    uint64_t offset = 0;
    for (int i = 0; i < n; ++i) {
        const tg_tensor *t = tensors[i];
        uint64_t bytes = (uint64_t)t->numel * tg_dtype_size(t->dtype);
        text_puts(json, ",");
        text_json_string(json, names[i]);
        text_puts(json, ":{\"dtype\":\"");
        text_puts(json, dtype_code(t->dtype));
        text_puts(json, "\",\"shape\":[");
        for (int d = 0; d < t->rank; ++d) {
            if (d) text_puts(json, ",");
            text_printf_u64(json, (uint64_t)t->shape[d]);
        }
        text_puts(json, "],\"data_offsets\":[");
        text_printf_u64(json, offset);
        text_puts(json, ",");
        text_printf_u64(json, offset + bytes);
        text_puts(json, "]}");
        offset += bytes;
    }
    text_puts(json, "}");
    while (!json->failed && (8 + json->size) % 8 != 0) text_puts(json, " ");
    return !json->failed;
}

static bool write_all(FILE *file, const void *data, size_t size)
{
    return size == 0 || fwrite(data, 1, size, file) == size;
}

static bool write_tensors(FILE *file, int n, const tg_tensor *const *tensors)
{
    uint8_t chunk[4096];
    for (int i = 0; i < n; ++i) {
        const tg_tensor *t = tensors[i];
        size_t size = tg_dtype_size(t->dtype);
        if (host_is_little_endian()) {
            if (!write_all(file, t->data, (size_t)t->numel * size)) return false;
            continue;
        }
        int64_t per_chunk = (int64_t)(sizeof chunk / size);
        for (int64_t at = 0; at < t->numel; at += per_chunk) {
            int64_t count = t->numel - at < per_chunk ? t->numel - at : per_chunk;
            copy_little_endian(chunk, (const uint8_t *)t->data + (size_t)at * size, count, size);
            if (!write_all(file, chunk, (size_t)count * size)) return false;
        }
    }
    return true;
}

/* Makes the rename itself durable: fsync the directory holding `path`. */
static void sync_parent_directory(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t length = slash ? (size_t)(slash - path) : 0;
    if (length >= sizeof dir) return;
    if (slash) {
        memcpy(dir, path, length ? length : 1);
        dir[length ? length : 1] = '\0';
    } else {
        strcpy(dir, ".");
    }
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    fsync(fd); /* best effort: some file systems refuse fsync on directories */
    close(fd);
}

#if defined(__STDC_NO_ATOMICS__)
static unsigned long next_save_number(void)
{
    static unsigned long counter;
    return ++counter;
}
#else
#include <stdatomic.h>
static unsigned long next_save_number(void)
{
    static atomic_ulong counter;
    return atomic_fetch_add(&counter, 1) + 1;
}
#endif

tg_status tg_checkpoint_save(const char *path, int n, const char *const *names, const tg_tensor *const *tensors,
                             int n_meta, const char *const *meta_keys, const char *const *meta_values)
{
    static const char *fn = "tg_checkpoint_save";
    tg_status status = check_save_arguments(fn, path, n, names, tensors, n_meta, meta_keys, meta_values);
    if (status) return status;

    text json = {0};
    size_t digits_at = 0;
    if (!build_header(&json, &digits_at, n, names, tensors, n_meta, meta_keys, meta_values)) {
        free(json.data);
        return tg_error_report(TG_ERR_MEMORY, fn, "out of memory building the header of '%s'", path);
    }
    if (json.size > HEADER_LIMIT) {
        status = tg_error_report(TG_ERR_ARGUMENT, fn,
                                 "the header of '%s' (names, shapes and metadata of %d tensors and %d metadata "
                                 "entries) would be %zu bytes, over the %llu that tg_checkpoint_open accepts; "
                                 "nothing written ('%s' left unchanged)",
                                 path, n, n_meta, json.size, (unsigned long long)HEADER_LIMIT, path);
        free(json.data);
        return status;
    }
    size_t tmp_size = strlen(path) + 64;
    char *tmp = malloc(tmp_size);
    if (!tmp) {
        free(json.data);
        return tg_error_report(TG_ERR_MEMORY, fn, "out of memory");
    }
    snprintf(tmp, tmp_size, "%s.tmp.%ld.%lu", path, (long)getpid(), next_save_number());

    FILE *file = fopen(tmp, "wb");
    if (!file) {
        status = tg_error_report(TG_ERR_IO, fn, "cannot create '%s': %s ('%s' left unchanged)", tmp,
                                 strerror(errno), path);
        free(json.data);
        free(tmp);
        return status;
    }
    tgi_checkpoint_temp_mark_live(file);
    uint8_t length[8];
    for (int b = 0; b < 8; ++b) length[b] = (uint8_t)((uint64_t)json.size >> (8 * b));
    uint64_t hash = fnv1a64(FNV_OFFSET, length, 8);
    hash = fnv1a64(hash, json.data, json.size); /* the digits are still '0' here */
    hash = hash_tensors(hash, n, tensors);
    put_hex_digits(json.data + digits_at, hash);
    bool ok = write_all(file, length, 8) && write_all(file, json.data, json.size) &&
              write_tensors(file, n, tensors) && fflush(file) == 0 && fsync(fileno(file)) == 0;
    int saved_errno = errno;
    if (fclose(file) != 0 && ok) {
        ok = false;
        saved_errno = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved_errno = errno;
    }
    if (!ok) {
        remove(tmp);
        status = tg_error_report(TG_ERR_IO, fn, "writing '%s' failed: %s ('%s' left unchanged)", tmp,
                                 strerror(saved_errno), path);
    } else {
        sync_parent_directory(path);
        tgi_checkpoint_remove_stale_temps(path);
    }
    free(json.data);
    free(tmp);
    return status;
}

/* ------------------------------------------------------------ JSON parse */

typedef struct parser {
    const char *s;
    size_t size, pos;
    const char *error; /* first problem met, static text */
} parser;

static void skip_space(parser *p)
{
    while (p->pos < p->size && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                                p->s[p->pos] == '\r'))
        p->pos++;
}

static bool fail(parser *p, const char *why)
{
    if (!p->error) p->error = why;
    return false;
}

/* Consumes `c` (after spaces) if it is next. */
static bool accept(parser *p, char c)
{
    skip_space(p);
    if (p->pos < p->size && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

static bool expect(parser *p, char c, const char *why)
{
    return accept(p, c) || fail(p, why);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(parser *p, unsigned *value)
{
    if (p->size - p->pos < 4) return fail(p, "truncated \\u escape in a string");
    *value = 0;
    for (int i = 0; i < 4; ++i) {
        int h = hex_value(p->s[p->pos++]);
        if (h < 0) return fail(p, "bad \\u escape in a string");
        *value = *value * 16 + (unsigned)h;
    }
    return true;
}

static void put_utf8(text *out, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (char)(0xc0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    text_append(out, b, n);
}

/* Parses a string literal into a new NUL-terminated string (caller frees). */
static char *parse_string(parser *p)
{
    if (!expect(p, '"', "expected a string")) return NULL;
    text out = {0};
    text_append(&out, "", 0);
    for (;;) {
        if (p->pos >= p->size) {
            fail(p, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') break;
        if (c < 0x20) {
            fail(p, "control character inside a string");
            break;
        }
        if (c != '\\') {
            text_append(&out, (const char *)&c, 1);
            continue;
        }
        if (p->pos >= p->size) {
            fail(p, "unterminated string");
            break;
        }
        char e = p->s[p->pos++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (simple && e) {
            static const char replacement[] = "\"\\/\b\f\n\r\t";
            text_append(&out, &replacement[simple - "\"\\/bfnrt"], 1);
            continue;
        }
        if (e != 'u') {
            fail(p, "unknown escape in a string");
            break;
        }
        unsigned cp;
        if (!read_hex4(p, &cp)) break;
        if (cp >= 0xd800 && cp < 0xdc00) { /* a surrogate pair */
            unsigned low;
            if (p->size - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                fail(p, "unpaired surrogate in a string");
                break;
            }
            p->pos += 2;
            if (!read_hex4(p, &low)) break;
            if (low < 0xdc00 || low > 0xdfff) {
                fail(p, "unpaired surrogate in a string");
                break;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            fail(p, "unpaired surrogate in a string");
            break;
        } else if (cp == 0) {
            fail(p, "NUL character inside a string");
            break;
        }
        put_utf8(&out, cp);
    }
    if (p->error || out.failed) {
        if (!p->error) fail(p, "out of memory");
        free(out.data);
        return NULL;
    }
    return out.data;
}

/* A non-negative integer without sign, fraction or exponent. */
static bool parse_uint(parser *p, uint64_t *value)
{
    skip_space(p);
    size_t start = p->pos;
    *value = 0;
    while (p->pos < p->size && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned digit = (unsigned)(p->s[p->pos++] - '0');
        if (*value > (UINT64_MAX - digit) / 10) return fail(p, "integer too large");
        *value = *value * 10 + digit;
    }
    if (p->pos == start) return fail(p, "expected a non-negative integer");
    if (p->pos < p->size && (p->s[p->pos] == '.' || p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
        return fail(p, "expected an integer, found a fraction");
    return true;
}

/* Skips any JSON value (for keys this reader does not know). */
static bool skip_value(parser *p, int depth)
{
    if (depth > JSON_MAX_DEPTH) return fail(p, "JSON nested too deeply");
    skip_space(p);
    if (p->pos >= p->size) return fail(p, "unexpected end of the header");
    char c = p->s[p->pos];
    if (c == '"') {
        char *s = parse_string(p);
        free(s);
        return s != NULL;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p->pos++;
        if (accept(p, close)) return true;
        do {
            if (c == '{') {
                char *key = parse_string(p);
                free(key);
                if (!key || !expect(p, ':', "expected ':'")) return false;
            }
            if (!skip_value(p, depth + 1)) return false;
        } while (accept(p, ','));
        return expect(p, close, "expected ',' or a closing bracket");
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; ++i) {
        size_t n = strlen(words[i]);
        if (p->size - p->pos >= n && memcmp(p->s + p->pos, words[i], n) == 0) {
            p->pos += n;
            return true;
        }
    }
    size_t start = p->pos;
    while (p->pos < p->size && strchr("+-0123456789.eE", p->s[p->pos]) && p->s[p->pos]) p->pos++;
    return p->pos > start || fail(p, "unexpected character in the header");
}

/* ----------------------------------------------------------------- open */

typedef struct entry {
    tg_checkpoint_entry public;
    char *name;
    char dtype[8];
} entry;

struct tg_checkpoint {
    char *path;
    uint8_t *file;        /* the whole file                  */
    const uint8_t *data;  /* the data section inside it      */
    uint64_t data_size;
    entry *entries;
    int count;
    char **meta_keys, **meta_values;
    int n_meta;
    /* Where the checksum's value lies in the header as written (between its
     * quotes, offsets from the header's start), for the whole-file hash. */
    size_t checksum_begin, checksum_end;
};

void tg_checkpoint_close(tg_checkpoint *ck)
{
    if (!ck) return;
    for (int i = 0; i < ck->count; ++i) free(ck->entries[i].name);
    for (int i = 0; i < ck->n_meta; ++i) {
        free(ck->meta_keys[i]);
        free(ck->meta_values[i]);
    }
    free(ck->entries);
    free(ck->meta_keys);
    free(ck->meta_values);
    free(ck->file);
    free(ck->path);
    free(ck);
}

static bool grow(void **array, int count, size_t element)
{
    /* Capacity is 4, then doubles whenever count reaches a power of two >= 4. */
    if (count != 0 && (count < 4 || (count & (count - 1)) != 0)) return true;
    size_t capacity = count ? (size_t)count * 2 : 4;
    void *grown = realloc(*array, capacity * element);
    if (!grown) return false;
    *array = grown;
    return true;
}

static bool parse_metadata(parser *p, tg_checkpoint *ck)
{
    if (ck->n_meta > 0) return fail(p, "duplicate \"__metadata__\"");
    if (!expect(p, '{', "\"__metadata__\" must be an object")) return false;
    if (accept(p, '}')) return true;
    do {
        char *key = parse_string(p);
        if (!key) return false;
        bool have_colon = expect(p, ':', "expected ':'");
        skip_space(p);
        size_t value_begin = p->pos + 1; /* after the opening quote */
        char *value = have_colon ? parse_string(p) : NULL;
        if (value && strcmp(key, TG_CHECKPOINT_CHECKSUM_KEY) == 0) {
            ck->checksum_begin = value_begin;
            ck->checksum_end = p->pos - 1; /* the closing quote */
        }
        /* Duplicate keys are refused after the parse (check_unique_names). */
        if (!value) {
            free(key);
            return fail(p, "metadata values must be strings");
        }
        if (!grow((void **)&ck->meta_keys, ck->n_meta, sizeof(char *)) ||
            !grow((void **)&ck->meta_values, ck->n_meta, sizeof(char *))) {
            free(key);
            free(value);
            return fail(p, "out of memory");
        }
        ck->meta_keys[ck->n_meta] = key;
        ck->meta_values[ck->n_meta++] = value;
    } while (accept(p, ','));
    return expect(p, '}', "expected ',' or '}' in \"__metadata__\"");
}

static bool parse_entry(parser *p, entry *e)
{
    bool have_dtype = false, have_shape = false, have_offsets = false;
    if (!expect(p, '{', "a tensor entry must be an object")) return false;
    if (accept(p, '}')) return fail(p, "empty tensor entry");
    do {
        char *key = parse_string(p);
        if (!key) return false;
        bool ok = expect(p, ':', "expected ':'");
        if (ok && strcmp(key, "dtype") == 0) {
            char *dtype = parse_string(p);
            ok = dtype && !have_dtype && strlen(dtype) < sizeof e->dtype;
            if (ok) strcpy(e->dtype, dtype);
            else if (dtype) fail(p, have_dtype ? "duplicate \"dtype\"" : "unknown dtype");
            free(dtype);
            have_dtype = true;
        } else if (ok && strcmp(key, "shape") == 0) {
            ok = !have_shape || fail(p, "duplicate \"shape\"");
            ok = ok && expect(p, '[', "\"shape\" must be an array");
            if (ok && !accept(p, ']')) {
                do {
                    uint64_t size;
                    if (e->public.rank >= TG_MAX_RANK) ok = fail(p, "shape has more than 8 dimensions");
                    else if (!parse_uint(p, &size)) ok = false;
                    else if (size > (uint64_t)INT64_MAX) ok = fail(p, "shape size too large");
                    else e->public.shape[e->public.rank++] = (int64_t)size;
                } while (ok && accept(p, ','));
                ok = ok && expect(p, ']', "expected ',' or ']' in \"shape\"");
            }
            have_shape = true;
        } else if (ok && strcmp(key, "data_offsets") == 0) {
            ok = (!have_offsets || fail(p, "duplicate \"data_offsets\"")) &&
                 expect(p, '[', "\"data_offsets\" must be an array") && parse_uint(p, &e->public.begin) &&
                 expect(p, ',', "\"data_offsets\" needs two integers") && parse_uint(p, &e->public.end) &&
                 expect(p, ']', "\"data_offsets\" needs exactly two integers");
            have_offsets = true;
        } else if (ok) {
            ok = skip_value(p, 2);
        }
        free(key);
        if (!ok) return fail(p, "malformed tensor entry");
    } while (accept(p, ','));
    if (!expect(p, '}', "expected ',' or '}' in a tensor entry")) return false;
    if (!have_dtype || !have_shape || !have_offsets)
        return fail(p, "a tensor entry lacks \"dtype\", \"shape\" or \"data_offsets\"");
    return true;
}

static bool parse_header(parser *p, tg_checkpoint *ck)
{
    if (!expect(p, '{', "the header is not a JSON object")) return false;
    if (accept(p, '}')) goto end;
    do {
        char *key = parse_string(p);
        if (!key) return false;
        if (!expect(p, ':', "expected ':'")) {
            free(key);
            return false;
        }
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (!parse_metadata(p, ck)) return false;
            continue;
        }
        if (!grow((void **)&ck->entries, ck->count, sizeof(entry))) {
            free(key);
            return fail(p, "out of memory");
        }
        entry *e = &ck->entries[ck->count++];
        memset(e, 0, sizeof *e);
        e->name = key;
        if (!parse_entry(p, e)) return false;
    } while (accept(p, ','));
    if (!expect(p, '}', "expected ',' or '}' at the end of the header")) return false;
end:
    skip_space(p);
    return p->pos == p->size || fail(p, "unexpected text after the header object");
}

/* Refuses two tensors, or two metadata keys, of one name. */
static const char *check_unique_names(const tg_checkpoint *ck, char *detail, size_t detail_size)
{
    const char **names = malloc(((size_t)ck->count + 1) * sizeof *names);
    if (!names) return "out of memory";
    for (int i = 0; i < ck->count; ++i) names[i] = ck->entries[i].name;
    bool failed = false;
    const char *duplicate = find_duplicate(names, ck->count, &failed);
    free(names);
    if (failed) return "out of memory";
    if (duplicate) {
        snprintf(detail, detail_size, "duplicate tensor name '%.200s'", duplicate);
        return detail;
    }
    duplicate = find_duplicate((const char *const *)ck->meta_keys, ck->n_meta, &failed);
    if (failed) return "out of memory";
    if (duplicate) {
        snprintf(detail, detail_size, "duplicate metadata key '%.200s'", duplicate);
        return detail;
    }
    return NULL;
}

static int compare_ranges(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    if (x->public.begin != y->public.begin) return x->public.begin < y->public.begin ? -1 : 1;
    if (x->public.end != y->public.end) return x->public.end < y->public.end ? -1 : 1;
    return 0;
}

/* Checks each entry's size against its shape and dtype, and that the byte
 * ranges tile the data section. Returns a message or NULL. */
static const char *check_entries(tg_checkpoint *ck, char *detail, size_t detail_size)
{
    for (int i = 0; i < ck->count; ++i) {
        entry *e = &ck->entries[i];
        size_t size = dtype_bytes(e->dtype);
        if (size == 0) {
            snprintf(detail, detail_size, "tensor '%s' has unknown dtype \"%s\"", e->name, e->dtype);
            return detail;
        }
        /* The rule of tg_shape_validate: a shape a tensor could not have is
         * refused here, not when it is read into one. */
        if (!tgi_shape_sizes_fit(e->public.rank, e->public.shape, tgi_shape_size_limit(size))) {
            char shape[200];
            tg_shape_string(shape, sizeof shape, e->public.rank, e->public.shape);
            snprintf(detail, detail_size,
                     "tensor '%.200s' has shape %s, whose non-zero sizes multiply past the %llu elements of %s a "
                     "tensor can have",
                     e->name, shape, (unsigned long long)tgi_shape_size_limit(size), e->dtype);
            return detail;
        }
        uint64_t bytes = size;
        for (int d = 0; d < e->public.rank; ++d) bytes *= (uint64_t)e->public.shape[d];
        if (e->public.end < e->public.begin || e->public.end - e->public.begin != bytes) {
            snprintf(detail, detail_size,
                     "tensor '%s': data_offsets [%llu, %llu] do not hold its shape times %s (%llu bytes)", e->name,
                     (unsigned long long)e->public.begin, (unsigned long long)e->public.end, e->dtype,
                     (unsigned long long)bytes);
            return detail;
        }
        e->public.name = e->name;
        e->public.dtype = e->dtype;
    }
    entry **sorted = malloc(((size_t)ck->count + 1) * sizeof *sorted);
    if (!sorted) return "out of memory";
    for (int i = 0; i < ck->count; ++i) sorted[i] = &ck->entries[i];
    qsort(sorted, (size_t)ck->count, sizeof *sorted, compare_ranges);
    uint64_t expected = 0;
    const char *why = NULL;
    for (int i = 0; i < ck->count && !why; ++i) {
        if (sorted[i]->public.begin != expected) {
            snprintf(detail, detail_size, "tensor '%s' starts at byte %llu of the data, expected %llu (%s)",
                     sorted[i]->name, (unsigned long long)sorted[i]->public.begin, (unsigned long long)expected,
                     sorted[i]->public.begin < expected ? "overlapping tensors" : "a gap");
            why = detail;
        }
        expected = sorted[i]->public.end;
    }
    free(sorted);
    if (!why && expected != ck->data_size) {
        snprintf(detail, detail_size, "tensors need %llu bytes of data but the file holds %llu (%s)",
                 (unsigned long long)expected, (unsigned long long)ck->data_size,
                 expected > ck->data_size ? "truncated" : "trailing bytes");
        why = detail;
    }
    return why;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* The stored checksum is `prefix` and 16 lowercase hex digits, nothing else. */
static bool well_formed_checksum(const char *stored, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strlen(stored) != n + CHECKSUM_DIGITS || !starts_with(stored, prefix)) return false;
    for (size_t i = n; i < n + CHECKSUM_DIGITS; ++i)
        if (!strchr("0123456789abcdef", stored[i])) return false;
    return true;
}

static const char *check_checksum(const tg_checkpoint *ck, uint64_t file_size, char *detail, size_t detail_size)
{
    const char *stored = tg_checkpoint_metadata(ck, TG_CHECKPOINT_CHECKSUM_KEY);
    if (!stored) {
        /* Written by another tool, nothing to verify: unless the checksum is
         * there under a damaged key, which must not turn checking off. */
        for (int i = 0; i < ck->n_meta; ++i) {
            if (!starts_with(ck->meta_values[i], CHECKSUM_FILE_PREFIX)) continue;
            snprintf(detail, detail_size,
                     "metadata '%.60s' holds a tapegrad checksum but the key '%s' is missing (corrupted file)",
                     ck->meta_keys[i], TG_CHECKPOINT_CHECKSUM_KEY);
            return detail;
        }
        return NULL;
    }
    char actual[40];
    if (starts_with(stored, CHECKSUM_FILE_PREFIX)) {
        /* The digits must sit in the header exactly as parsed (no escapes),
         * so that hashing them as '0' hashes what the writer hashed. */
        const uint8_t *header = ck->file + 8;
        size_t raw_size = ck->checksum_end - ck->checksum_begin;
        if (!well_formed_checksum(stored, CHECKSUM_FILE_PREFIX) || raw_size != strlen(stored) ||
            memcmp(header + ck->checksum_begin, stored, raw_size) != 0) {
            snprintf(detail, detail_size, "malformed checksum '%.40s' (corrupted file)", stored);
            return detail;
        }
        size_t digits = 8 + ck->checksum_begin + strlen(CHECKSUM_FILE_PREFIX);
        static const char zeros[CHECKSUM_DIGITS + 1] = "0000000000000000";
        uint64_t hash = fnv1a64(FNV_OFFSET, ck->file, digits);
        hash = fnv1a64(hash, zeros, CHECKSUM_DIGITS);
        hash = fnv1a64(hash, ck->file + digits + CHECKSUM_DIGITS, (size_t)file_size - digits - CHECKSUM_DIGITS);
        memcpy(actual, CHECKSUM_FILE_PREFIX, strlen(CHECKSUM_FILE_PREFIX));
        put_hex_digits(actual + strlen(CHECKSUM_FILE_PREFIX), hash);
        actual[strlen(CHECKSUM_FILE_PREFIX) + CHECKSUM_DIGITS] = '\0';
    } else if (starts_with(stored, CHECKSUM_DATA_PREFIX)) {
        snprintf(actual, sizeof actual, CHECKSUM_DATA_PREFIX "%016llx",
                 (unsigned long long)fnv1a64(FNV_OFFSET, ck->data, (size_t)ck->data_size));
    } else {
        snprintf(detail, detail_size, "unknown checksum '%.40s' (corrupted file?)", stored);
        return detail;
    }
    if (strcmp(stored, actual) == 0) return NULL;
    snprintf(detail, detail_size, "checksum mismatch: header says %.40s, file hashes to %s (corrupted file)",
             stored, actual);
    return detail;
}

static uint8_t *read_whole_file(const char *fn, const char *path, uint64_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        tg_error_report(TG_ERR_IO, fn, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    long length = -1;
    if (fseek(file, 0, SEEK_END) == 0) length = ftell(file);
    if (length < 0 || fseek(file, 0, SEEK_SET) != 0 || (unsigned long)length > SIZE_MAX - 1) {
        fclose(file);
        tg_error_report(TG_ERR_IO, fn, "cannot determine the size of '%s'", path);
        return NULL;
    }
    uint8_t *bytes = malloc((size_t)length + 1);
    if (!bytes) {
        fclose(file);
        tg_error_report(TG_ERR_MEMORY, fn, "cannot allocate %ld bytes for '%s'", length, path);
        return NULL;
    }
    size_t got = fread(bytes, 1, (size_t)length, file);
    bool failed = ferror(file) != 0 || got != (size_t)length;
    fclose(file);
    if (failed) {
        free(bytes);
        tg_error_report(TG_ERR_IO, fn, "read error on '%s'", path);
        return NULL;
    }
    *size = (uint64_t)length;
    return bytes;
}

static tg_checkpoint *open_checkpoint(const char *fn, const char *path)
{
    if (!path) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "path is NULL");
        return NULL;
    }
    uint64_t file_size = 0;
    uint8_t *file = read_whole_file(fn, path, &file_size);
    if (!file) return NULL;
    return tgi_checkpoint_open_bytes(fn, path, file, (size_t)file_size, true);
}

tg_checkpoint *tgi_checkpoint_open_bytes(const char *fn, const char *path, uint8_t *file, size_t size,
                                         bool verify_checksum)
{
    tg_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->path = malloc(strlen(path) + 1))) {
        free(ck);
        free(file);
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory");
        return NULL;
    }
    strcpy(ck->path, path);
    ck->file = file;
    uint64_t file_size = size;
    char detail[512];
    const char *why = NULL;
    uint64_t header_size = 0;
    for (int b = 0; b < 8 && file_size >= 8; ++b) header_size |= (uint64_t)ck->file[b] << (8 * b);
    if (file_size < 8) {
        why = "file is shorter than the 8-byte header length (truncated)";
    } else if (header_size > HEADER_LIMIT) {
        snprintf(detail, sizeof detail, "header length %llu is absurd (limit %llu; not a safetensors file?)",
                 (unsigned long long)header_size, (unsigned long long)HEADER_LIMIT);
        why = detail;
    } else if (header_size > file_size - 8) {
        snprintf(detail, sizeof detail, "header length %llu exceeds the %llu bytes that follow (truncated)",
                 (unsigned long long)header_size, (unsigned long long)(file_size - 8));
        why = detail;
    } else {
        parser p = {(const char *)ck->file + 8, (size_t)header_size, 0, NULL};
        if (!parse_header(&p, ck)) {
            snprintf(detail, sizeof detail, "bad header JSON at byte %zu: %s", p.pos, p.error);
            why = detail;
        }
    }
    if (!why) {
        ck->data = ck->file + 8 + header_size;
        ck->data_size = file_size - 8 - header_size;
        why = check_unique_names(ck, detail, sizeof detail);
    }
    if (!why) why = check_entries(ck, detail, sizeof detail);
    if (!why && verify_checksum) why = check_checksum(ck, file_size, detail, sizeof detail);
    if (why) {
        tg_error_report(TG_ERR_FORMAT, fn, "'%s': %s", path, why);
        tg_checkpoint_close(ck);
        return NULL;
    }
    return ck;
}

tg_checkpoint *tg_checkpoint_open(const char *path)
{
    return open_checkpoint("tg_checkpoint_open", path);
}

/* A NULL checkpoint is usually a failed tg_checkpoint_open left unchecked. */
static bool checkpoint_given(const char *fn, const tg_checkpoint *ck, const char *what, const void *arg)
{
    if (!ck || !arg) tg_error_report(TG_ERR_ARGUMENT, fn, "%s is NULL", !ck ? "checkpoint" : what);
    return ck && arg;
}

int tg_checkpoint_count(const tg_checkpoint *ck)
{
    return checkpoint_given("tg_checkpoint_count", ck, "checkpoint", ck) ? ck->count : 0;
}

const tg_checkpoint_entry *tg_checkpoint_entry_at(const tg_checkpoint *ck, int i)
{
    if (!checkpoint_given("tg_checkpoint_entry_at", ck, "checkpoint", ck)) return NULL;
    if (i < 0 || i >= ck->count) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_checkpoint_entry_at", "'%s': index %d outside 0..%d", ck->path, i,
                        ck->count - 1);
        return NULL;
    }
    return &ck->entries[i].public;
}

const tg_checkpoint_entry *tg_checkpoint_find(const tg_checkpoint *ck, const char *name)
{
    if (!checkpoint_given("tg_checkpoint_find", ck, "name", name)) return NULL;
    for (int i = 0; i < ck->count; ++i)
        if (strcmp(ck->entries[i].name, name) == 0) return &ck->entries[i].public;
    return NULL;
}

const char *tg_checkpoint_metadata(const tg_checkpoint *ck, const char *key)
{
    if (!checkpoint_given("tg_checkpoint_metadata", ck, "key", key)) return NULL;
    for (int i = 0; i < ck->n_meta; ++i)
        if (strcmp(ck->meta_keys[i], key) == 0) return ck->meta_values[i];
    return NULL;
}

/* Checks that `t` can receive entry `e` (name already found). */
static tg_status check_destination(const char *fn, const tg_checkpoint *ck, const tg_checkpoint_entry *e,
                                   const tg_tensor *t)
{
    if (!t) return tg_error_null_tensor(fn, "destination for '%s' is NULL", e->name);
    if (t->tape)
        return tg_error_report(TG_ERR_TAPE, fn, "destination for '%s' belongs to a tape", e->name);
    if (!dtype_code(t->dtype) || !tgi_checkpoint_dtype_readable(e->dtype))
        return tg_error_report(TG_ERR_DTYPE, fn, "'%s': tensor '%s' is %s in the file but the destination is %s",
                               ck->path, e->name, e->dtype, tg_dtype_name(t->dtype));
    if (t->rank != e->rank || memcmp(t->shape, e->shape, (size_t)e->rank * sizeof(int64_t)) != 0) {
        char file_shape[160], dest_shape[160];
        tg_shape_string(file_shape, sizeof file_shape, e->rank, e->shape);
        tg_shape_string(dest_shape, sizeof dest_shape, t->rank, t->shape);
        return tg_error_report(TG_ERR_SHAPE, fn, "'%s': tensor '%s' has shape %s in the file, destination has %s",
                               ck->path, e->name, file_shape, dest_shape);
    }
    if (t->numel > 0 && !t->data)
        return tg_error_report(TG_ERR_ARGUMENT, fn, "destination for '%s' has no data", e->name);
    char value[48];
    int64_t bad = tgi_checkpoint_first_unrepresentable(e->dtype, ck->data + e->begin, t->numel, t->dtype, value,
                                                       sizeof value);
    if (bad >= 0)
        return tg_error_report(TG_ERR_DTYPE, fn,
                               "'%s': tensor '%s' is %s in the file and its element %lld (%s) has no %s value%s",
                               ck->path, e->name, e->dtype, (long long)bad, value,
                               t->dtype == TG_F32   ? "exact or finite F32"
                               : t->dtype == TG_F64 ? "exact F64"
                                                    : t->dtype == TG_I64 ? "I64" : "I32",
                               t->dtype == TG_F32 ? " (a float64 destination may hold it)" : "");
    return TG_OK;
}

static tg_status read_into(const char *fn, const tg_checkpoint *ck, int n, const char *const *names,
                           tg_tensor *const *tensors)
{
    if (!ck || n < 0 || (n > 0 && (!names || !tensors)))
        return tg_error_report(TG_ERR_ARGUMENT, fn, "%s (n %d)",
                               !ck ? "checkpoint is NULL" : n < 0 ? "n must be >= 0" : !names ? "names is NULL"
                                                                                       : "tensors is NULL",
                               n);
    /* First everything is checked, then everything is written. */
    for (int i = 0; i < n; ++i) {
        const tg_checkpoint_entry *e = names[i] ? tg_checkpoint_find(ck, names[i]) : NULL;
        if (!e)
            return tg_error_report(TG_ERR_ARGUMENT, fn, "'%s': no tensor named '%s' (the file holds %d)", ck->path,
                                   names[i] ? names[i] : "(null)", ck->count);
        tg_status status = check_destination(fn, ck, e, tensors[i]);
        if (status) return status;
    }
    for (int i = 0; i < n; ++i) {
        const tg_checkpoint_entry *e = tg_checkpoint_find(ck, names[i]);
        tg_tensor *t = tensors[i];
        if (strcmp(dtype_code(t->dtype), e->dtype) == 0) /* bit for bit, NaN payloads too */
            copy_little_endian(t->data, ck->data + e->begin, t->numel, tg_dtype_size(t->dtype));
        else
            tgi_checkpoint_convert(t->data, t->dtype, ck->data + e->begin, e->dtype, t->numel);
        tgi_tensor_changed(t);
    }
    return TG_OK;
}

tg_status tg_checkpoint_read_into(const tg_checkpoint *ck, int n, const char *const *names,
                                  tg_tensor *const *tensors)
{
    return read_into("tg_checkpoint_read_into", ck, n, names, tensors);
}

tg_status tg_checkpoint_load_into(const char *path, int n, const char *const *names, tg_tensor *const *tensors)
{
    static const char *fn = "tg_checkpoint_load_into";
    tg_checkpoint *ck = open_checkpoint(fn, path);
    if (!ck) return tg_last_error() ? tg_last_error() : TG_ERR_IO;
    tg_status status = read_into(fn, ck, n, names, tensors);
    tg_checkpoint_close(ck);
    return status;
}

tg_tensor *tg_checkpoint_read_tensor(const tg_checkpoint *ck, const char *name)
{
    static const char *fn = "tg_checkpoint_read_tensor";
    if (!checkpoint_given(fn, ck, "name", name)) return NULL;
    const tg_checkpoint_entry *e = tg_checkpoint_find(ck, name);
    if (!e) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "'%s': no tensor named '%s' (the file holds %d)", ck->path, name,
                        ck->count);
        return NULL;
    }
    int dtype = tgi_checkpoint_natural_dtype(e->dtype);
    if (dtype < 0) {
        tg_error_report(TG_ERR_DTYPE, fn, "'%s': tensor '%s' has unknown dtype %s", ck->path, name, e->dtype);
        return NULL;
    }
    tg_tensor *t = tg_empty((tg_dtype)dtype, e->rank, e->shape);
    if (!t) return NULL;
    tg_tensor *destination[1] = {t};
    if (read_into(fn, ck, 1, &name, destination) != TG_OK) {
        tg_free(t);
        return NULL;
    }
    return t;
}
