/* core/checkpoint_internal.h — the checkpoint reader over bytes in memory
 * (not public API): what tg_checkpoint_open does after reading the file, so
 * that the fuzz harness can reach the parser without temporary files. */
#ifndef TAPEGRAD_CHECKPOINT_INTERNAL_H
#define TAPEGRAD_CHECKPOINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapegrad/checkpoint.h"

/* Validates `size` bytes of a safetensors file and returns the open
 * checkpoint, or NULL after reporting TG_ERR_FORMAT / TG_ERR_MEMORY under
 * `function`, naming `path` (any label). Takes ownership of `file`
 * (malloc'ed): it is freed on failure and by tg_checkpoint_close otherwise.
 * `verify_checksum` false skips only the whole-file checksum, so that a
 * fuzzer's mutations are parsed instead of being refused by the hash. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((visibility("hidden")))
#endif
tg_checkpoint *tgi_checkpoint_open_bytes(const char *function, const char *path, uint8_t *file, size_t size,
                                         bool verify_checksum);

#endif
