/* tapegrad/checkpoint.h — saving and loading named tensors (safetensors).
 *
 * The file format is Hugging Face's safetensors, so other tools read it:
 *   8 bytes     N, the header length, little-endian uint64
 *   N bytes     JSON: {"name": {"dtype": "F32", "shape": [2, 3],
 *                                "data_offsets": [begin, end]}, ...,
 *                      "__metadata__": {"key": "value", ...}}
 *               padded with spaces so that the data starts 8-byte aligned
 *   the rest    the tensors' bytes, little-endian, row-major; offsets are
 *               relative to the start of this section, which they tile
 *               exactly (no gaps, no overlaps).
 * In Python, without the safetensors package:
 *   n = int.from_bytes(f.read(8), "little"); h = json.loads(f.read(n))
 *   buf = f.read(); e = h["w"]; a = np.frombuffer(buf[e["data_offsets"][0]:
 *       e["data_offsets"][1]], "<f4").reshape(e["shape"])
 *
 * Safety: a save writes "<path>.tmp.<pid>.<n>", flushes and fsyncs it, then
 * renames it over `path`, so a crash or a failed write never destroys the
 * previous checkpoint. A process killed during a save leaves at most that
 * temporary file behind (never a damaged `path`); a later save uses a name of
 * its own and is not disturbed by it. Every successful save of `path` then
 * removes the temporary files of `path` whose writer is gone: the <pid> in
 * the name is not a living process (and not the saver itself), and no
 * process holds the write lock every writer keeps on its temporary file
 * until it exits. A file is removed only when both say so, so a save never
 * deletes the file of a writer still at work, even one in another PID
 * namespace sharing the directory; on a file system without locks stale files
 * are therefore kept. They may be deleted by hand at any time.
 * The metadata key "tapegrad.checksum" holds "fnv1a64-file:<16 hex digits>",
 * the FNV-1a 64 hash of the whole file as written with those 16 digits read
 * as '0' (header and data: a changed metadata value or name is caught, not
 * only changed data). Loading verifies it, catching torn or bit-flipped files;
 * a file whose checksum key is damaged is refused too. Files of earlier
 * versions hold "fnv1a64:<16 hex digits>", the hash of the data section
 * alone, and are verified that way. A file without the key (written by
 * another tool) is read unverified. Every size in the
 * header is checked against the file before use: truncated, oversized,
 * inconsistent or malformed files are refused with TG_ERR_FORMAT and a
 * message naming the file and the problem.
 */
#ifndef TAPEGRAD_CHECKPOINT_H
#define TAPEGRAD_CHECKPOINT_H

#include <stdint.h>

#include "error.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metadata key under which tapegrad stores the data checksum. */
#define TG_CHECKPOINT_CHECKSUM_KEY "tapegrad.checksum"

/* The largest JSON header tg_checkpoint_open accepts (100 MiB, the limit of
 * the reference implementation); tg_checkpoint_save refuses to write more. */
#define TG_CHECKPOINT_HEADER_LIMIT ((uint64_t)100 << 20)

/* Saves `n` >= 0 tensors under `names` (distinct, non-empty, not
 * "__metadata__") with `n_meta` >= 0 string metadata pairs (distinct keys,
 * not TG_CHECKPOINT_CHECKSUM_KEY), atomically replacing `path`. Tensors are
 * float32 ("F32"), float64 ("F64"), int64 ("I64") or int32 ("I32") of any rank, including rank 0 and empty
 * ones; their values are stored bit-exactly. What the reader would refuse is
 * refused before anything is written: among others a header (names, shapes
 * and metadata as JSON) over TG_CHECKPOINT_HEADER_LIMIT bytes. Errors:
 * TG_ERR_ARGUMENT (NULL or duplicate names, bad tensors, a header over the
 * limit), TG_ERR_SHAPE (a shape the reader refuses), TG_ERR_IO (the temporary
 * file cannot be created, written or renamed). On every error `path` is left
 * as it was. */
tg_status tg_checkpoint_save(const char *path, int n, const char *const *names, const tg_tensor *const *tensors,
                             int n_meta, const char *const *meta_keys, const char *const *meta_values);

/* Loads the tensors `names[0..n)` of the file into the existing persistent
 * tensors `tensors[0..n)` (e.g. a model's parameters), which must have
 * exactly the shape stored in the file. A stored dtype other than the
 * destination's is converted by this rule (as PyTorch's load_state_dict
 * copies):
 *   - F32 into F32, F64 into F64: bit for bit.
 *   - F16, BF16, F32 into F32 or F64, F64 into F64: exact (subnormals,
 *     infinities and signed zeros included; a NaN stays a NaN).
 *   - F64 into F32: rounded to nearest, ties to even (tiny values may round
 *     to subnormals or zero); a finite value that rounds beyond F32's
 *     largest (about 3.4e38) is refused, not made an infinity.
 *   - I8..I64, U8..U64, BOOL (0 or 1): only when every value is exactly
 *     representable (|x| <= 2^24 into F32, 2^53 into F64, or more bits with
 *     enough trailing zeros); integers are never rounded.
 *   - into an int64 / int32 destination: I64 into I64 and I32 into I32 bit
 *     for bit; any other dtype only when every value is a whole number in
 *     the destination's range (an I64 of 2^40 into I32, or 1.5, is refused).
 * All or nothing: the file and every name, shape and value conversion are
 * checked before the first tensor is written. Tensors in the file that are
 * not asked for are ignored. Each tensor written is changed in place (its
 * version + 1, tape.h). Errors: TG_ERR_IO, TG_ERR_FORMAT (malformed
 * file, checksum mismatch), TG_ERR_ARGUMENT (a name missing from the file),
 * TG_ERR_SHAPE (mismatch), TG_ERR_DTYPE (a value the rule refuses, named with
 * its index), TG_ERR_TAPE (a destination owned by a tape). */
tg_status tg_checkpoint_load_into(const char *path, int n, const char *const *names, tg_tensor *const *tensors);

/* ---- reading a checkpoint piece by piece ---- */

typedef struct tg_checkpoint tg_checkpoint;

/* One stored tensor, as described by the header. */
typedef struct tg_checkpoint_entry {
    const char *name;
    const char *dtype;          /* as in the file: "F32", "F64", "I64", ... */
    int rank;
    int64_t shape[TG_MAX_RANK];
    uint64_t begin, end;        /* byte range within the data section       */
} tg_checkpoint_entry;

/* Opens and fully validates a checkpoint (structure, sizes, checksum),
 * holding its contents in memory until tg_checkpoint_close. Tensors of every
 * safetensors dtype (F16, BF16, F32, F64, I8..I64, U8..U64, BOOL) are listed
 * and can be read, converted as tg_checkpoint_load_into says. Returns NULL
 * on error (TG_ERR_IO, TG_ERR_FORMAT, TG_ERR_MEMORY). */
tg_checkpoint *tg_checkpoint_open(const char *path);
/* Releases an open checkpoint; its entries and metadata strings die with it. */
void tg_checkpoint_close(tg_checkpoint *ck);
/* Number of tensors, and the i-th in file order. Errors (TG_ERR_ARGUMENT,
 * returning 0 / NULL): a NULL checkpoint, an index outside 0..count-1.
 * The same holds for a NULL checkpoint, name or key in the functions below. */
int tg_checkpoint_count(const tg_checkpoint *ck);
const tg_checkpoint_entry *tg_checkpoint_entry_at(const tg_checkpoint *ck, int i);
/* The entry named `name`, or NULL if there is none (not an error). */
const tg_checkpoint_entry *tg_checkpoint_find(const tg_checkpoint *ck, const char *name);
/* The metadata value of `key`, or NULL if absent. Valid until close. */
const char *tg_checkpoint_metadata(const tg_checkpoint *ck, const char *key);
/* As tg_checkpoint_load_into, from an open checkpoint. */
tg_status tg_checkpoint_read_into(const tg_checkpoint *ck, int n, const char *const *names,
                                  tg_tensor *const *tensors);
/* A new persistent tensor (caller frees with tg_free) holding the tensor
 * `name`: float32 for F16, BF16 and F32 (exact), int64 for I64 and int32 for
 * I32 (exact), float64 for F64 and for the other integers and BOOL. Errors:
 * TG_ERR_ARGUMENT (no such name), TG_ERR_DTYPE (an integer beyond 2^53 that
 * float64 cannot hold exactly). */
tg_tensor *tg_checkpoint_read_tensor(const tg_checkpoint *ck, const char *name);

#ifdef __cplusplus
}
#endif
#endif
