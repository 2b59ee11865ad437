/* tests/fuzz/fuzz_llmc.c — the parser of llm.c's token files
 * (tg_tokens_load_llmc after the file read), then the byte-level decoder and
 * a batch of windows on what it accepts. */
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tapegrad/random.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_return_errors();
    /* An exact-size heap copy, so that ASan catches a read one byte too far. */
    uint8_t *raw = malloc(size ? size : 1);
    if (!raw) return 0;
    memcpy(raw, data, size);
    tg_tokens *tokens = tgi_llmc_parse("fuzz_llmc", "input", raw, size);
    free(raw);
    if (!tokens) return 0;
    /* Accepted: exactly 1024 header bytes and two bytes a token, each a uint16. */
    int64_t count = tg_tokens_count(tokens);
    if (count < 0 || (size_t)count * 2 + 1024 != size) abort();
    const int32_t *ids = tg_tokens_data(tokens);
    for (int64_t i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] > 65535) abort();
    char text[64];
    int64_t n = count < 64 ? count : 64;
    tg_tokens_decode_bytes(tokens, 0, n, text); /* refuses ids above 255 */
    if (count >= 3) {
        tg_token_batches *b = tg_token_batches_new(tokens, 2, 2);
        tg_rng rng = tg_rng_seeded((uint64_t)count);
        tg_tensor *x, *y;
        if (!b || tg_token_batches_sample(b, &rng, &x, &y) != TG_OK) abort();
        tg_token_batches_free(b);
    }
    tg_tokens_free(tokens);
    return 0;
}
