/* data/read_file.c — reading a whole file, transparently gunzipping it.
 *
 * Data files (IDX, CSV) are small enough to hold in memory, and reading them
 * whole makes every later parse a bounds-checked walk over one buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tapegrad/data.h"

static tg_status read_raw(const char *function, const char *path, size_t max_bytes, uint8_t **out,
                          size_t *out_size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return tg_error_report(TG_ERR_IO, function, "cannot open '%s': %s", path, strerror(errno));
    long length = -1;
    if (fseek(file, 0, SEEK_END) == 0) length = ftell(file);
    if (length < 0 || fseek(file, 0, SEEK_SET) != 0) {
        fclose(file);
        return tg_error_report(TG_ERR_IO, function, "cannot determine the size of '%s'", path);
    }
    if ((unsigned long)length > max_bytes) {
        fclose(file);
        return tg_error_report(TG_ERR_FORMAT, function, "'%s' is %ld bytes, more than the limit of %zu",
                               path, length, max_bytes);
    }
    size_t size = (size_t)length;
    uint8_t *buffer = malloc(size ? size : 1);
    if (!buffer) {
        fclose(file);
        return tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %zu bytes for '%s'", size, path);
    }
    size_t got = fread(buffer, 1, size, file);
    int read_error = ferror(file);
    fclose(file);
    if (got != size || read_error) {
        free(buffer);
        return tg_error_report(TG_ERR_IO, function, "read error on '%s' (%zu of %zu bytes)", path, got, size);
    }
    *out = buffer;
    *out_size = size;
    return TG_OK;
}

tg_status tgi_decode_bytes(const char *function, const char *name, uint8_t *raw, size_t raw_size,
                           size_t max_bytes, uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    if (raw_size < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *out = raw;
        *out_size = raw_size;
        return TG_OK;
    }
    const char *why = NULL;
    tg_status status = tgi_gunzip(raw, raw_size, max_bytes, out, out_size, &why);
    free(raw);
    if (status) return tg_error_report(status, function, "'%s': gzip: %s", name, why);
    return TG_OK;
}

tg_status tgi_read_file(const char *function, const char *path, size_t max_bytes, uint8_t **out,
                        size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    uint8_t *raw = NULL;
    size_t raw_size = 0;
    tg_status status = read_raw(function, path, max_bytes, &raw, &raw_size);
    if (status) return status;
    return tgi_decode_bytes(function, path, raw, raw_size, max_bytes, out, out_size);
}

tg_status tg_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size)
{
    if (!path || !out || !out_size)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_read_file", "%s is NULL",
                               !path ? "path" : !out ? "out" : "out_size");
    return tgi_read_file("tg_read_file", path, max_bytes, out, out_size);
}
