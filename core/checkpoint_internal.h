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

/* ---- stored dtypes (core/checkpoint_dtype.c) ---- */
#if defined(__GNUC__) || defined(__clang__)
#define TGI_HIDDEN __attribute__((visibility("hidden")))
#else
#define TGI_HIDDEN
#endif

/* Whether elements of the safetensors dtype `dtype` ("F16", "I64", ...) can
 * be read into a tensor (values permitting): every dtype of the format can. */
TGI_HIDDEN bool tgi_checkpoint_dtype_readable(const char *dtype);
/* The tg_dtype tg_checkpoint_read_tensor makes for `dtype`: TG_F32 for F16,
 * BF16 and F32, TG_I64 for I64, TG_I32 for I32, TG_F64 for F64, the other
 * integers and BOOL; -1 for an unknown one. */
TGI_HIDDEN int tgi_checkpoint_natural_dtype(const char *dtype);
/* The index of the first of `count` stored elements at `src` that `dst`
 * cannot hold (an integer not exact in it, a finite F64 beyond F32's range,
 * for an integer dst anything but a whole number in its range),
 * its value written as text into `value_text`; -1 when all fit. */
TGI_HIDDEN int64_t tgi_checkpoint_first_unrepresentable(const char *dtype, const uint8_t *src, int64_t count,
                                                        tg_dtype dst, char *value_text, size_t value_size);
/* Converts `count` stored elements at `src` into `dst` of `dst_dtype`. */
TGI_HIDDEN void tgi_checkpoint_convert(void *dst, tg_dtype dst_dtype, const uint8_t *src, const char *dtype,
                                       int64_t count);

#endif
