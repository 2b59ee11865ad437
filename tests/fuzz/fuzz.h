/* tests/fuzz/fuzz.h — what every harness shares.
 *
 * Each fuzz_<loader>.c defines LLVMFuzzerTestOneInput, libFuzzer's entry
 * point. Built with clang -fsanitize=fuzzer it is driven by libFuzzer; built
 * with replay_main.c (any compiler) it is run once per file of the corpus
 * directories, which is how the regression corpus runs in `meson test`.
 * A harness must free everything it allocates (LeakSanitizer watches) and
 * must not abort on a refused input: errors are returned, not fatal. */
#ifndef TAPEGRAD_TESTS_FUZZ_H
#define TAPEGRAD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "tapegrad/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every input may be refused; that is a returned error, never an abort. */
static inline void fuzz_return_errors(void)
{
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_clear_error();
}

/* Output limit for decompression in the harnesses: large enough for every
 * path of the decoder (a 4 KB input can only declare about 4 MB, so the
 * limit's refusal is reached too), small enough to keep the fuzzer fast
 * (with 16 MB gzip ran at 3,000 inputs/s, mostly inflating long matches). */
#define FUZZ_MAX_OUTPUT ((size_t)1 << 20)

#endif
