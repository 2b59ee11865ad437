/* io/checkpoint_internal.h — the io layer's internal header (not public
 * API): the checkpoint reader over bytes in memory (what tg_checkpoint_open
 * does after reading the file, so that the fuzz harness can reach the parser
 * without temporary files), stored dtypes, and atomic saves' temporary files. */
#ifndef TAPEGRAD_CHECKPOINT_INTERNAL_H
#define TAPEGRAD_CHECKPOINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* ---- stored dtypes (io/checkpoint_dtype.c) ---- */
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

/* ---- temporary files of atomic saves (io/checkpoint_temp.c) ---- */

/* Marks the temporary file open as `file` as being written, by a write lock
 * that the kernel drops when the writer exits or is killed. Best effort: on a
 * file system without locks the file simply looks live to other savers. */
void tgi_checkpoint_temp_mark_live(FILE *file);

/* Removes the temporary files "<path>.tmp.<pid>.<n>" that no living writer
 * owns: <pid> is not this process and no such process exists (kill(pid, 0)
 * fails with ESRCH), and no process holds the file's write lock. Either test
 * alone could be fooled (a pid of another PID namespace or host; a file
 * system without locks), so a file is removed only when both agree that its
 * writer is gone. Best effort: nothing is reported. */
void tgi_checkpoint_remove_stale_temps(const char *path);

#endif
