/* data/internal.h — helpers shared by the files of data/ (not public API).
 *
 * Each helper takes the name of the public function it works for, so that an
 * error raised deep inside (say, a corrupt gzip stream met by tg_mnist_load)
 * is still reported under the function the user called.
 */
#ifndef TAPEGRAD_DATA_INTERNAL_H
#define TAPEGRAD_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tapegrad/data.h"
#include "tapegrad/error.h"

/* Keeps these helpers out of the shared library's exported symbols. */
#if defined(__GNUC__) || defined(__clang__)
#define TGI_INTERNAL __attribute__((visibility("hidden")))
#else
#define TGI_INTERNAL
#endif

/* Decompresses gzip data of one or more members (RFC 1952 around RFC 1951),
 * as tg_gunzip documents. On failure returns
 * TG_ERR_FORMAT or TG_ERR_MEMORY and sets *why to a static description; no
 * error is reported (the caller reports it with its own name and context).
 * On success *out (malloc'ed, caller frees) holds *out_size <= max_out bytes. */
TGI_INTERNAL tg_status tgi_gunzip(const uint8_t *in, size_t in_size, size_t max_out, uint8_t **out,
                                  size_t *out_size, const char **why);

/* Reads a whole file of at most max_bytes bytes; if it starts with the gzip
 * magic bytes it is decompressed (output limited to max_bytes as well).
 * Errors are reported under `function` and name the path. */
TGI_INTERNAL tg_status tgi_read_file(const char *function, const char *path, size_t max_bytes,
                                     uint8_t **out, size_t *out_size);

/* The part of tgi_read_file after the read: takes ownership of `raw` (malloc'ed,
 * raw_size bytes) and returns it, or its gunzipped contents when it starts
 * with the gzip magic bytes (output limited to max_bytes), in *out. `name`
 * (a path, or any label) names the input in messages reported under
 * `function`. Apart from files so that the fuzz harnesses can reach it. */
TGI_INTERNAL tg_status tgi_decode_bytes(const char *function, const char *name, uint8_t *raw, size_t raw_size,
                                        size_t max_bytes, uint8_t **out, size_t *out_size);

/* The IDX parser of tg_idx_load over bytes already in memory (after any
 * gunzip): takes ownership of `bytes` (malloc'ed; freed on failure, reused as
 * the array's data on success). Errors are reported under `function`, naming
 * `name`. */
TGI_INTERNAL tg_idx *tgi_idx_parse(const char *function, const char *name, uint8_t *bytes, size_t size);

/* The CSV parser of tg_csv_load over `size` bytes in memory (borrowed, not
 * NUL-terminated); `options` must be non-NULL. Errors are reported under
 * tg_csv_load, naming `name`. */
TGI_INTERNAL tg_dataset *tgi_csv_parse(const char *name, const uint8_t *bytes, size_t size,
                                       const tg_csv_options *options);

/* The parser of tg_tokens_load_llmc over `size` bytes in memory (borrowed):
 * llm.c's 256-int32 header and uint16 tokens, every field checked against
 * the size. Errors are reported under `function`, naming `name`. */
TGI_INTERNAL tg_tokens *tgi_llmc_parse(const char *function, const char *name, const uint8_t *bytes, size_t size);

/* a * b for non-negative sizes, false on overflow of int64_t. */
static inline int tgi_mul_ok(int64_t a, int64_t b, int64_t *result)
{
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *result = a * b;
    return 1;
}

#endif
