/* data/idx.c — the IDX format of MNIST (LeCun): a 4-byte magic
 * (0, 0, element type, rank), `rank` big-endian uint32 sizes, then the
 * elements in row-major order, big-endian.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tapegrad/data.h"

#define DEFAULT_LIMIT ((size_t)1 << 30)

size_t tg_idx_type_size(tg_idx_type type)
{
    switch (type) {
    case TG_IDX_U8:
    case TG_IDX_I8: return 1;
    case TG_IDX_I16: return 2;
    case TG_IDX_I32:
    case TG_IDX_F32: return 4;
    case TG_IDX_F64: return 8;
    }
    return 0;
}

static uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

/* IDX stores elements big-endian; convert in place between it and the host. */
static void swap_elements(uint8_t *data, int64_t count, size_t element_size)
{
    if (element_size == 1 || !host_is_little_endian()) return;
    for (int64_t i = 0; i < count; ++i) {
        uint8_t *e = data + (size_t)i * element_size;
        for (size_t a = 0, b = element_size - 1; a < b; ++a, --b) {
            uint8_t t = e[a];
            e[a] = e[b];
            e[b] = t;
        }
    }
}

tg_idx *tg_idx_load(const char *path, size_t max_bytes)
{
    static const char *fn = "tg_idx_load";
    if (!path) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "path is NULL");
        return NULL;
    }
    if (max_bytes == 0) max_bytes = DEFAULT_LIMIT;
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (tgi_read_file(fn, path, max_bytes, &bytes, &size)) return NULL;
    return tgi_idx_parse(fn, path, bytes, size);
}

tg_idx *tgi_idx_parse(const char *fn, const char *path, uint8_t *bytes, size_t size)
{
    const char *why = NULL;
    tg_idx header = {0};
    size_t element_size = 0, offset = 0;
    if (size < 4) {
        why = "too short for an IDX header";
    } else if (bytes[0] != 0 || bytes[1] != 0) {
        why = "bad magic number (first two bytes must be zero)";
    } else if ((element_size = tg_idx_type_size((tg_idx_type)bytes[2])) == 0) {
        why = "unknown element type code";
    } else if (bytes[3] < 1 || bytes[3] > TG_MAX_RANK) {
        why = "rank outside 1..8";
    } else if (size - 4 < (size_t)bytes[3] * 4) {
        why = "header is truncated";
    }
    if (why) {
        free(bytes);
        tg_error_report(TG_ERR_FORMAT, fn, "'%s': %s", path, why);
        return NULL;
    }
    header.type = (tg_idx_type)bytes[2];
    header.rank = bytes[3];
    header.count = 1;
    offset = 4 + (size_t)header.rank * 4;
    for (int i = 0; i < header.rank; ++i) {
        header.dims[i] = read_be32(bytes + 4 + 4 * i);
        if (!tgi_mul_ok(header.count, header.dims[i], &header.count)) header.count = INT64_MAX;
    }
    int64_t payload = 0;
    if (!tgi_mul_ok(header.count, (int64_t)element_size, &payload) || (uint64_t)payload != size - offset) {
        char shape[160];
        tg_shape_string(shape, sizeof shape, header.rank, header.dims);
        tg_error_report(TG_ERR_FORMAT, fn, "'%s': header declares shape %s of %zu-byte elements but %zu data bytes follow",
                        path, shape, element_size, size - offset);
        free(bytes);
        return NULL;
    }
    tg_idx *idx = malloc(sizeof *idx);
    if (!idx) {
        free(bytes);
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory");
        return NULL;
    }
    *idx = header;
    /* Move the payload to the start of the buffer instead of copying it into a
     * second one: MNIST's 47 MB must not exist twice. */
    memmove(bytes, bytes + offset, (size_t)payload);
    swap_elements(bytes, idx->count, element_size);
    idx->data = bytes;
    return idx;
}

void tg_idx_free(tg_idx *idx)
{
    if (!idx) return;
    free(idx->data);
    free(idx);
}

tg_status tg_idx_save(const char *path, tg_idx_type type, int rank, const int64_t *dims, const void *data)
{
    static const char *fn = "tg_idx_save";
    size_t element_size = tg_idx_type_size(type);
    if (!path || element_size == 0 || rank < 1 || rank > TG_MAX_RANK || !dims)
        return tg_error_report(TG_ERR_ARGUMENT, fn, "bad path, type (%d), rank (%d) or dims", (int)type, rank);
    int64_t count = 1;
    uint8_t header[4 + 4 * TG_MAX_RANK] = {0, 0, (uint8_t)type, (uint8_t)rank};
    for (int i = 0; i < rank; ++i) {
        if (dims[i] < 0 || dims[i] > UINT32_MAX || !tgi_mul_ok(count, dims[i], &count))
            return tg_error_report(TG_ERR_ARGUMENT, fn, "dimension %d (%lld) out of range", i, (long long)dims[i]);
        for (int b = 0; b < 4; ++b) header[4 + 4 * i + b] = (uint8_t)((uint64_t)dims[i] >> (24 - 8 * b));
    }
    if (count > 0 && !data) return tg_error_report(TG_ERR_ARGUMENT, fn, "data is NULL");
    FILE *file = fopen(path, "wb");
    if (!file) return tg_error_report(TG_ERR_IO, fn, "cannot create '%s'", path);
    int ok = fwrite(header, 1, 4 + 4 * (size_t)rank, file) == 4 + 4 * (size_t)rank;
    const uint8_t *bytes = data;
    uint8_t element[8];
    for (int64_t i = 0; ok && i < count; ++i) {
        memcpy(element, bytes + (size_t)i * element_size, element_size);
        swap_elements(element, 1, element_size);
        ok = fwrite(element, 1, element_size, file) == element_size;
    }
    if (fclose(file) != 0) ok = 0;
    if (!ok) return tg_error_report(TG_ERR_IO, fn, "write error on '%s'", path);
    return TG_OK;
}
