/* tests/fuzz/fuzz_gzip.c — the gzip/DEFLATE decoder (data/inflate.c). */
#include <stdlib.h>

#include "data/internal.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_return_errors();
    uint8_t *out = NULL;
    size_t out_size = 0;
    const char *why = NULL;
    tg_status status = tgi_gunzip(data, size, FUZZ_MAX_OUTPUT, &out, &out_size, &why);
    /* On success the trailer's length and CRC32 matched: the output is exactly
     * out_size bytes within the limit, and on failure there is no output. */
    if (status == TG_OK && (out_size > FUZZ_MAX_OUTPUT || (out_size > 0 && !out))) abort();
    if (status != TG_OK && (out || !why)) abort();
    free(out);
    return 0;
}
