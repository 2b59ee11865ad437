/* tapegrad/data.h — data sets: reading files, holding samples, mini-batches.
 *
 * The pieces, in the order data flows through them:
 *   files       tg_read_file / tg_gunzip (a built-in inflate: no zlib needed),
 *               IDX (the MNIST format), CSV tables of numbers, MNIST itself;
 *   tg_dataset  samples in memory: features as uint8 (with a scale, e.g.
 *               1/255, so MNIST stays at one byte per pixel) or float/double,
 *               labels as class indices or float targets;
 *   tg_scaler   per-feature standardization or min-max scaling, fitted on a
 *               training set and attached to any data set (applied when a
 *               batch is filled, so uint8 storage stays uint8);
 *   batches     tg_dataset_fill_batch copies chosen rows into tensors the
 *               caller already owns; tg_batches walks an epoch in a seeded
 *               shuffled order with tensors allocated once, so a training step
 *               allocates nothing;
 *   generators  circles, moons and spirals, seeded through a tg_rng.
 *
 * Randomness always comes from a tg_rng the caller owns (random.h): the same
 * seed gives the same shuffles, splits and generated points on every machine.
 * Errors are reported through error.h; functions return NULL or a non-zero
 * tg_status.
 */
#ifndef TAPEGRAD_DATA_H
#define TAPEGRAD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "random.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Files
 * ====================================================================== */

/* Reads the whole file `path` into a new buffer (*out, freed by the caller
 * with free(); *out_size bytes). A file starting with the gzip magic bytes is
 * decompressed (CRC32 and length verified). Neither the file nor its
 * decompressed contents may exceed `max_bytes`. Errors: TG_ERR_ARGUMENT (NULL
 * pointers), TG_ERR_IO (cannot open or read), TG_ERR_FORMAT (too large,
 * corrupt gzip), TG_ERR_MEMORY. On error *out is NULL. */
tg_status tg_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size);

/* Decompresses gzip data (RFC 1952, DEFLATE data per RFC 1951) held in
 * memory: one member, or several one after another (as `cat a.gz b.gz`
 * makes), whose contents are concatenated as gzip -d does. The output (*out,
 * freed by the caller with free()) is at most `max_out` bytes. Every read and
 * write is bounds-checked; a truncated, corrupt (CRC32 or length mismatch per
 * member) or oversized stream, and bytes after the last member that start no
 * member ("trailing garbage"), are refused with TG_ERR_FORMAT and *out is
 * NULL. */
tg_status tg_gunzip(const void *in, size_t in_size, size_t max_out, uint8_t **out, size_t *out_size);

/* ---- IDX (the MNIST file format) ---- */
typedef enum tg_idx_type {
    TG_IDX_U8 = 0x08,
    TG_IDX_I8 = 0x09,
    TG_IDX_I16 = 0x0B,
    TG_IDX_I32 = 0x0C,
    TG_IDX_F32 = 0x0D,
    TG_IDX_F64 = 0x0E
} tg_idx_type;

/* An IDX array in memory: `count` = product of dims elements, row-major, in
 * the host's byte order. */
typedef struct tg_idx {
    tg_idx_type type;
    int rank;                    /* 1..TG_MAX_RANK */
    int64_t dims[TG_MAX_RANK];
    int64_t count;
    void *data;
} tg_idx;

/* Bytes per element of an IDX type, 0 for an unknown code. */
size_t tg_idx_type_size(tg_idx_type type);

/* Loads an IDX file, gzip-compressed or not. `max_bytes` limits the file and
 * the decompressed size (0 selects 1 GiB). The header must be consistent with
 * the data: the product of dims times the element size must equal the bytes
 * that follow it exactly. Returns a new tg_idx (free with tg_idx_free), or
 * NULL: TG_ERR_IO, TG_ERR_FORMAT (message names the file and the problem),
 * TG_ERR_MEMORY. */
tg_idx *tg_idx_load(const char *path, size_t max_bytes);
/* Releases an IDX array and its data. NULL is ignored. */
void tg_idx_free(tg_idx *idx);
/* Writes an uncompressed IDX file: `rank` dims (each 0..2^32-1) and their
 * product of elements of `type` from `data` (host byte order). Errors:
 * TG_ERR_ARGUMENT, TG_ERR_IO. */
tg_status tg_idx_save(const char *path, tg_idx_type type, int rank, const int64_t *dims, const void *data);

/* ======================================================================
 * Data sets
 * ====================================================================== */

typedef enum tg_feature_storage {
    TG_FEATURES_U8,  /* one byte per value; value = byte * scale          */
    TG_FEATURES_F32,
    TG_FEATURES_F64
} tg_feature_storage;

typedef enum tg_label_kind {
    TG_LABELS_NONE,   /* features only                                   */
    TG_LABELS_CLASS,  /* one class index in [0, num_classes) per sample  */
    TG_LABELS_TARGET  /* `width` float (double) targets per sample       */
} tg_label_kind;

/* How class labels are written into a batch's label tensor. */
typedef enum tg_label_encoding {
    TG_ENCODE_INDEX,   /* y has shape (rows): the class index as a number   */
    TG_ENCODE_ONE_HOT  /* y has shape (rows, num_classes): 1 at the class   */
} tg_label_encoding;

typedef struct tg_dataset tg_dataset;

/* A new data set of `count` >= 0 samples, each a feature array of shape
 * `feature_shape` (feature_rank in 1..TG_MAX_RANK-1, sizes >= 1), stored as
 * `storage`, with labels of `label_kind`: `label_width` is the number of
 * classes (>= 1) for TG_LABELS_CLASS, the number of targets per sample (>= 1)
 * for TG_LABELS_TARGET, and ignored for TG_LABELS_NONE. Features and labels
 * start at zero; fill them through tg_dataset_features_data and friends. The
 * caller owns the result (tg_dataset_free). Errors: TG_ERR_ARGUMENT,
 * TG_ERR_MEMORY (also for sizes that overflow). */
tg_dataset *tg_dataset_new(tg_feature_storage storage, int64_t count, int feature_rank,
                           const int64_t *feature_shape, tg_label_kind label_kind, int64_t label_width);

/* Wraps two IDX arrays (e.g. MNIST images and labels) into a data set,
 * taking ownership of both: they are released whether or not the call
 * succeeds. `images` must be TG_IDX_U8 (its buffer becomes the feature
 * storage, no copy) with rank >= 2; the first dim counts samples. `labels`
 * must be TG_IDX_U8 of rank 1 with as many entries, each below `num_classes`.
 * Features read as byte * `scale` (e.g. 1.0/255). Errors: TG_ERR_ARGUMENT,
 * TG_ERR_FORMAT (counts differ, label out of range), TG_ERR_MEMORY. */
tg_dataset *tg_dataset_from_idx(tg_idx *images, tg_idx *labels, int64_t num_classes, double scale);

/* Releases a data set. Subsets share storage with their parent; the storage
 * is released with the last of them. NULL is ignored. Not thread-safe with
 * respect to other data sets sharing the same storage. */
void tg_dataset_free(tg_dataset *ds);

/* ---- shape and labels (all read-only; 0 / NULL on a NULL data set) ---- */
int64_t tg_dataset_count(const tg_dataset *ds);
/* Number of values per sample (product of the feature shape). */
int64_t tg_dataset_feature_size(const tg_dataset *ds);
/* The feature shape of one sample; returns its rank and writes the sizes. */
int tg_dataset_feature_shape(const tg_dataset *ds, int64_t shape[TG_MAX_RANK]);
tg_feature_storage tg_dataset_storage(const tg_dataset *ds);
tg_label_kind tg_dataset_label_kind(const tg_dataset *ds);
/* Number of classes (class labels) or targets per sample (targets), else 0. */
int64_t tg_dataset_label_width(const tg_dataset *ds);

/* ---- raw storage, for filling a new data set ----
 * Row-major arrays of count * feature_size elements of the storage type
 * (uint8_t, float or double), count class indices, or count * width targets.
 * NULL (with TG_ERR_ARGUMENT or TG_ERR_DTYPE) when the data set is a subset
 * (its rows are a view; write through the parent) or the kind differs.
 * Writing class indices outside [0, num_classes) makes batch filling fail. */
void *tg_dataset_features_data(tg_dataset *ds);
int32_t *tg_dataset_classes_data(tg_dataset *ds);
double *tg_dataset_targets_data(tg_dataset *ds);
/* Sets the factor applied to uint8 features (value = byte * scale); other
 * storages ignore it. Errors: TG_ERR_ARGUMENT for a non-finite scale. */
tg_status tg_dataset_set_scale(tg_dataset *ds, double scale);

/* One feature value of sample `row` (after scale and scaler), NaN with
 * TG_ERR_ARGUMENT for indices out of range. */
double tg_dataset_feature(const tg_dataset *ds, int64_t row, int64_t feature);
/* Class of sample `row`, -1 with an error if out of range or not class data. */
int64_t tg_dataset_class(const tg_dataset *ds, int64_t row);
/* Target `k` of sample `row`, NaN with an error if out of range. */
double tg_dataset_target(const tg_dataset *ds, int64_t row, int64_t k);

/* ---- subsets, shuffles, splits ---- */

/* Fills `order` with a uniformly random permutation of 0..count-1 (the
 * Fisher-Yates shuffle driven by `rng`). Errors: TG_ERR_ARGUMENT. */
tg_status tg_random_permutation(tg_rng *rng, int64_t count, int64_t *order);

/* A data set of the `count` samples `rows[0..count)` of `ds` (repeats
 * allowed), sharing its storage (no copy of features), with `ds`'s scale and
 * scaler. The caller frees it with tg_dataset_free, in any order relative to
 * `ds`. Errors: TG_ERR_ARGUMENT (a row out of range), TG_ERR_MEMORY. */
tg_dataset *tg_dataset_subset(const tg_dataset *ds, const int64_t *rows, int64_t count);

/* Splits `ds` at random into a training and a validation subset (views, as
 * tg_dataset_subset): the validation set receives round(fraction * count)
 * samples, fraction in [0, 1]. Both outputs are owned by the caller; on error
 * both are NULL. The same rng state gives the same split. */
tg_status tg_dataset_split(const tg_dataset *ds, double validation_fraction, tg_rng *rng,
                           tg_dataset **train, tg_dataset **validation);

/* ---- batches ---- */

/* Copies samples `rows[0..count)` of `ds` into caller-owned persistent
 * tensors: `x` (float32 or float64) must have shape[0] == count and
 * count * feature_size elements (e.g. (count, 784) or (count, 28, 28)); `y`
 * (may be NULL to skip labels) gets the labels: for classes, shape (count)
 * with TG_ENCODE_INDEX or (count, num_classes) with TG_ENCODE_ONE_HOT; for
 * targets, shape[0] == count and count * width elements. Nothing is
 * allocated; x and y are changed in place (version + 1 each, tape.h), so a
 * backward through ops recorded on the previous batch is refused. Errors: TG_ERR_ARGUMENT (row out of range, label out of range,
 * NULL), TG_ERR_SHAPE (tensor sizes), TG_ERR_TAPE (tape tensor). */
tg_status tg_dataset_fill_batch(const tg_dataset *ds, const int64_t *rows, int64_t count, tg_tensor *x,
                                tg_tensor *y, tg_label_encoding encoding);

/* Like tg_dataset_fill_batch for the consecutive rows first..first+count-1. */
tg_status tg_dataset_fill_range(const tg_dataset *ds, int64_t first, int64_t count, tg_tensor *x,
                                tg_tensor *y, tg_label_encoding encoding);

/* An epoch walker: holds an order of the samples and tensors for a full batch
 * (batch_size, feature_size) and, when count % batch_size != 0, for the final
 * partial batch, all allocated once by tg_batches_new. */
typedef struct tg_batches tg_batches;

/* A walker over `ds` (which must outlive it) in batches of `batch_size` >= 1
 * rows, x tensors of `dtype` shaped (rows, feature_size) and label tensors
 * encoded as `encoding` (no label tensor for TG_LABELS_NONE). The order
 * starts sequential; call tg_batches_shuffle before each epoch to shuffle.
 * Free with tg_batches_free. Errors: TG_ERR_ARGUMENT, TG_ERR_MEMORY. */
tg_batches *tg_batches_new(const tg_dataset *ds, int64_t batch_size, tg_dtype dtype,
                           tg_label_encoding encoding);
/* Starts a new epoch in a fresh random order drawn from `rng` (Fisher-Yates);
 * NULL restarts in sequential order. */
tg_status tg_batches_shuffle(tg_batches *b, tg_rng *rng);
/* Fills the next batch and points *x and *y (NULL without labels) at the
 * walker's tensors, which stay owned by the walker and are overwritten by
 * the next call (an in-place change, tape.h). Returns the batch's number of
 * rows (batch_size, or fewer for the final partial batch), 0 at the end of
 * the epoch (the next call starts the same order again; shuffle first for a
 * new one), -1 on error. */
int64_t tg_batches_next(tg_batches *b, tg_tensor **x, tg_tensor **y);
/* Number of batches per epoch, the last one possibly partial. */
int64_t tg_batches_per_epoch(const tg_batches *b);
/* Saving and restoring a walker mid-epoch, so that a run resumed from a
 * checkpoint sees exactly the batches the uninterrupted run would have seen
 * (save the tg_rng that drives tg_batches_shuffle too: it is a plain struct).
 * tg_batches_position: rows handed out so far in this epoch, 0..count (count
 * once the last batch is out; the next tg_batches_next then returns 0), or -1
 * with TG_ERR_ARGUMENT for NULL. tg_batches_get_order: copies the epoch's
 * order, tg_dataset_count(ds) sample indices, into `order`. */
int64_t tg_batches_position(const tg_batches *b);
tg_status tg_batches_get_order(const tg_batches *b, int64_t *order);
/* Continues an epoch saved with the two functions above: `order` must be a
 * permutation of 0..count-1 and `position` in [0, count]. All or nothing:
 * on error the walker is unchanged. Errors: TG_ERR_ARGUMENT (NULL, not a
 * permutation, position out of range), TG_ERR_MEMORY. */
tg_status tg_batches_restore(tg_batches *b, const int64_t *order, int64_t position);
/* Releases the walker and its tensors (not the data set). NULL is ignored. */
void tg_batches_free(tg_batches *b);

/* ======================================================================
 * Feature scaling
 * ====================================================================== */

/* A per-feature affine map value -> (value - shift[f]) * factor[f]. */
typedef struct tg_scaler tg_scaler;

/* Standardization fitted on `train`: shift = mean, factor = 1/std (population
 * std over the samples; features with std 0 get factor 1, as in
 * scikit-learn). Computed on values after the data set's uint8 scale but
 * before any scaler already attached. Caller frees with tg_scaler_free.
 * Errors: TG_ERR_ARGUMENT (NULL, empty data set), TG_ERR_MEMORY. */
tg_scaler *tg_scaler_fit_standard(const tg_dataset *train);
/* Min-max scaling fitted on `train`: maps each feature's [min, max] onto
 * [lo, hi] (constant features map to lo). Requires lo < hi. */
tg_scaler *tg_scaler_fit_minmax(const tg_dataset *train, double lo, double hi);
/* Attaches a copy of `scaler` to `ds` (replacing any previous one; NULL
 * removes it). Subsets made later inherit it. Errors: TG_ERR_SHAPE if the
 * scaler was fitted on a different feature size. */
tg_status tg_dataset_set_scaler(tg_dataset *ds, const tg_scaler *scaler);
/* The scaler's shift or factor for feature f, NaN if out of range. */
double tg_scaler_shift(const tg_scaler *scaler, int64_t feature);
double tg_scaler_factor(const tg_scaler *scaler, int64_t feature);
/* Releases a scaler (data sets keep their own copies). NULL is ignored. */
void tg_scaler_free(tg_scaler *scaler);

/* ======================================================================
 * CSV tables of numbers
 * ====================================================================== */

typedef struct tg_csv_options {
    char delimiter;          /* ',' if 0                                          */
    bool has_header;         /* skip the first line (its field count must match)  */
    int label_column;        /* column of the label, counted from 0; negative
                                counts from the end (-1 = last); TG_CSV_NO_LABEL
                                for none                                          */
    tg_label_kind label_kind;/* TG_LABELS_CLASS (integers >= 0) or TG_LABELS_TARGET;
                                ignored with TG_CSV_NO_LABEL                      */
    tg_feature_storage storage; /* TG_FEATURES_F32 or TG_FEATURES_F64             */
    int32_t max_classes;     /* class labels must be below this; 0 means
                                TG_CSV_DEFAULT_MAX_CLASSES                        */
} tg_csv_options;

#define TG_CSV_NO_LABEL INT32_MIN
/* The default bound on class labels: one-hot batches are rows x classes, so
 * one stray label (2147483646) would ask for gigabytes. Raise it through
 * tg_csv_options.max_classes for data sets with more classes. */
#define TG_CSV_DEFAULT_MAX_CLASSES 65536
/* The longest field, in characters (surrounding spaces and quotes aside). */
#define TG_CSV_FIELD_MAX 4096

/* Reads a table of numbers (optionally gzip-compressed; at most 1 GiB): one
 * sample per non-empty line, every line with the same number of fields,
 * fields separated by `delimiter`, surrounding spaces and double quotes
 * allowed, '\r\n' line ends accepted, a UTF-8 byte order mark at the start
 * skipped. A field holds at most TG_CSV_FIELD_MAX characters. All columns but
 * the label column become features (shape (columns-1), or (columns) without a
 * label). Class labels must be integers in [0, max_classes) (default
 * TG_CSV_DEFAULT_MAX_CLASSES); the number of classes is the largest + 1.
 * `options` NULL means: ',' delimiter, no header, last column a class label,
 * float64 storage, the default class bound. Returns a new data set or NULL:
 * TG_ERR_IO, TG_ERR_FORMAT with "file:line:column" and the bad text for a
 * field that is no finite number, too long, or a class label out of range, or
 * a row of the wrong length; TG_ERR_ARGUMENT for bad options (max_classes < 0
 * among them); TG_ERR_MEMORY. */
tg_dataset *tg_csv_load(const char *path, const tg_csv_options *options);

/* ======================================================================
 * MNIST
 * ====================================================================== */

/* Finds a directory holding the MNIST files (train-images-idx3-ubyte, with
 * or without .gz). Candidates, first match wins: $TG_MNIST_DIR,
 * $TG_SHARED_DIR/data/mnist, <source root>/../shared/data/mnist,
 * <source root>/data/mnist (where data/fetch-mnist.sh puts them), then
 * ./data/mnist and ../shared/data/mnist relative to the working directory.
 * Writes the path into buf (NUL-terminated) and returns TG_OK, or
 * TG_ERR_IO when none holds the files (the message lists the places tried
 * and suggests data/fetch-mnist.sh), TG_ERR_ARGUMENT when buf is too small. */
tg_status tg_mnist_find_dir(char *buf, size_t size);

/* Loads the MNIST split `split` ("train": 60000 samples, "t10k": 10000) from
 * `dir` (NULL: tg_mnist_find_dir) as a data set of uint8 features of shape
 * (28, 28) read as byte / 255, and 10 classes. About 47 MB for train. The
 * caller frees it with tg_dataset_free. Errors: TG_ERR_ARGUMENT (unknown
 * split), TG_ERR_IO (files missing), TG_ERR_FORMAT (corrupt files, counts
 * differ, a label above 9, images not 28x28). */
tg_dataset *tg_mnist_load(const char *dir, const char *split);

/* ======================================================================
 * Token streams, for language models
 * ====================================================================== */

/* A sequence of token ids (int32, >= 0) in memory, from text (one token per
 * byte), from llm.c's token files, or from an array. Free with
 * tg_tokens_free. */
typedef struct tg_tokens tg_tokens;

/* The dtype of the token tensors that tg_token_batches fills: token ids are
 * stored as floats (exact up to 2^24, far above GPT-2's 50,257) until the
 * library has an integer dtype; then this becomes that dtype. */
#define TG_TOKEN_DTYPE TG_F32

/* Byte-level tokenizer: token i is byte i of `text` (0..255), so the
 * vocabulary has 256 entries and decoding is exact for any bytes (UTF-8
 * included). `size` may be 0 (text may then be NULL). Errors:
 * TG_ERR_ARGUMENT (NULL text with size > 0), TG_ERR_MEMORY. */
tg_tokens *tg_tokens_from_bytes(const void *text, size_t size);
/* The whole file `path` (at most max_bytes; gzip is decompressed) through the
 * byte-level tokenizer. Errors as tg_read_file. */
tg_tokens *tg_tokens_read_text(const char *path, size_t max_bytes);
/* A copy of `count` >= 0 ids; each must be >= 0 (TG_ERR_ARGUMENT naming the
 * first that is not). */
tg_tokens *tg_tokens_from_array(const int32_t *ids, int64_t count);
/* Writes the bytes of byte-level tokens [first, first + count) into `out`
 * (count bytes, not NUL-terminated). Errors: TG_ERR_ARGUMENT for NULL
 * pointers, a range outside the stream, or a token above 255 (named with
 * its position). */
tg_status tg_tokens_decode_bytes(const tg_tokens *tokens, int64_t first, int64_t count, char *out);

/* llm.c's token files (karpathy/llm.c, dev/data): a header of 256 int32
 * little-endian (header[0] = 20240520, the magic; header[1] = 1, the
 * version; header[2] = the token count), then that many uint16 tokens,
 * little-endian, and nothing after them. Errors: TG_ERR_IO (cannot open or
 * read), TG_ERR_FORMAT naming the path and what is wrong (shorter than the
 * header, wrong magic or version, a negative count, a size that does not
 * match the count; more than max_bytes), TG_ERR_MEMORY. */
tg_tokens *tg_tokens_load_llmc(const char *path, size_t max_bytes);
/* Writes `tokens` in that format (every id must be <= 65535, else
 * TG_ERR_ARGUMENT; TG_ERR_IO when the file cannot be written). */
tg_status tg_tokens_save_llmc(const tg_tokens *tokens, const char *path);

/* The number of tokens, and a read-only view of them (valid until
 * tg_tokens_free). NULL gives -1 / NULL with TG_ERR_ARGUMENT. */
int64_t tg_tokens_count(const tg_tokens *tokens);
const int32_t *tg_tokens_data(const tg_tokens *tokens);
/* Splits the stream in two contiguous parts: *train gets the first
 * count - n_val tokens and *validation the last n_val = round(count *
 * validation_fraction); both are new streams (free each). A contiguous
 * split keeps windows of one part from overlapping the other. Errors:
 * TG_ERR_ARGUMENT for NULL pointers or a fraction outside [0, 1] (both
 * outputs are then NULL), TG_ERR_MEMORY. */
tg_status tg_tokens_split(const tg_tokens *tokens, double validation_fraction, tg_tokens **train,
                          tg_tokens **validation);
/* Releases the stream. NULL is ignored. */
void tg_tokens_free(tg_tokens *tokens);

/* Batches of windows of a token stream for next-token prediction: for a
 * start i, x = tokens[i : i + context] and y = tokens[i + 1 : i + context + 1],
 * rows of two (batch_size, context) tensors of TG_TOKEN_DTYPE owned by the
 * walker, allocated once by tg_token_batches_new and overwritten by each fill
 * (an in-place change, tape.h). The stream must outlive the walker. */
typedef struct tg_token_batches tg_token_batches;

/* Needs batch_size >= 1, context >= 1 and at least context + 1 tokens.
 * Errors: TG_ERR_ARGUMENT (naming the sizes), TG_ERR_MEMORY. */
tg_token_batches *tg_token_batches_new(const tg_tokens *tokens, int64_t batch_size, int64_t context);
/* Fills the batch with windows at starts drawn uniformly from
 * [0, count - context - 1] by `rng` (one draw per row, so a seed gives the
 * same batches on every machine) and points *x and *y at the tensors.
 * Errors: TG_ERR_ARGUMENT for NULL pointers. */
tg_status tg_token_batches_sample(tg_token_batches *b, tg_rng *rng, tg_tensor **x, tg_tensor **y);
/* The same at given starts (batch_size of them, each in [0, count - context
 * - 1], else TG_ERR_ARGUMENT naming it): for a fixed evaluation set. */
tg_status tg_token_batches_fill(tg_token_batches *b, const int64_t *starts, tg_tensor **x, tg_tensor **y);
/* Releases the walker and its tensors (not the stream). NULL is ignored. */
void tg_token_batches_free(tg_token_batches *b);

/* ======================================================================
 * Generated data sets (two float64 features, class labels)
 * ====================================================================== */

/* Two concentric circles like scikit-learn's make_circles: n/2 points
 * (rounded down) evenly spaced on the unit circle (class 0), the rest on a
 * circle of radius `factor` in (0, 1) (class 1), Gaussian noise of std
 * `noise` >= 0 added to each coordinate, samples in random order. */
tg_dataset *tg_make_circles(tg_rng *rng, int64_t n, double noise, double factor);
/* Two interleaving half circles like scikit-learn's make_moons: class 0 on
 * (cos t, sin t), class 1 on (1 - cos t, 0.5 - sin t), t in [0, pi]. */
tg_dataset *tg_make_moons(tg_rng *rng, int64_t n, double noise);
/* `classes` >= 2 interleaved spiral arms (as in CS231n): arm k has points at
 * radius r in [0, 1] and angle 4k + 4r (+ Gaussian noise of std `noise` on
 * the angle), at (r sin a, r cos a); n samples split as evenly as possible. */
tg_dataset *tg_make_spirals(tg_rng *rng, int64_t n, int classes, double noise);

#ifdef __cplusplus
}
#endif
#endif
