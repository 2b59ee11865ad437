/* tapegrad/progress.h — a progress reporter for training loops, and a
 * metrics log a user can plot.
 *
 *     tg_progress *p = tg_progress_new(stdout, "epoch 1", n_batches, TG_PROGRESS_AUTO);
 *     for (...) { ...; tg_progress_set_metric(p, "loss", loss); tg_progress_advance(p, 1); }
 *     tg_progress_finish(p, false);
 *
 * On a terminal it is one line redrawn in place (at most 10 times a second):
 *     epoch 1 [=========.............]  412/938  183.2 it/s  ETA 0:03  loss 0.2512
 * Elsewhere (a file, a pipe, CI logs) it writes plain lines, at most one per
 * interval (1 s by default), so a long loop is never silent and a short one
 * adds nothing:
 *     epoch 1 412/938 (44%)  183.2 it/s  ETA 0:03  loss 0.2512
 * With total 0 (unknown) the bar, percentage and ETA are left out.
 *
 * The metrics log writes one row per call, as CSV (a header row from the
 * first call's names) or JSON lines ({"step": 3, "loss": 0.25}), flushed
 * at once so a crashed run keeps its rows. NaN and infinities are written as
 * nan/inf in CSV and null in JSON. */
#ifndef TAPEGRAD_PROGRESS_H
#define TAPEGRAD_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_progress tg_progress;

typedef enum tg_progress_style {
    TG_PROGRESS_AUTO = 0,  /* a bar when `out` is a terminal, lines otherwise */
    TG_PROGRESS_BAR = 1,   /* one line redrawn with '\r'                      */
    TG_PROGRESS_LINES = 2, /* plain lines, at most one per interval           */
} tg_progress_style;

#define TG_PROGRESS_MAX_METRICS 8

/* A reporter writing to `out` (kept, not closed) for `total` >= 0 steps (0:
 * unknown), each report starting with `label` (copied; may be NULL). Free
 * it with tg_progress_finish. Errors (NULL): NULL out, total < 0, an
 * unknown style (TG_ERR_ARGUMENT), memory (TG_ERR_MEMORY). */
tg_progress *tg_progress_new(FILE *out, const char *label, int64_t total, tg_progress_style style);

/* The least time between two plain lines (default 1 s; 0 writes one per
 * advance). The bar is redrawn at most every min(0.1 s, seconds).
 * Errors: NULL p, seconds negative or not finite (TG_ERR_ARGUMENT). */
tg_status tg_progress_set_interval(tg_progress *p, double seconds);

/* Sets metric `name` (copied, up to 31 characters shown) to `value`; shown
 * in every later report, in the order first set. Errors: NULL p or name, a
 * ninth name (TG_ERR_ARGUMENT, at most TG_PROGRESS_MAX_METRICS). */
tg_status tg_progress_set_metric(tg_progress *p, const char *name, double value);

/* Advances by `steps` >= 0 and reports if one is due (the bar also on the
 * first and the last step). Errors: NULL p, negative steps, a write that
 * fails (TG_ERR_IO). */
tg_status tg_progress_advance(tg_progress *p, int64_t steps);

/* Ends the report and frees p. keep_line: the bar is drawn a last time and
 * left with a newline, or a last plain line is written (when the last
 * advance did not write one); otherwise the bar is erased (so the caller's
 * summary line takes its place) and no further line is written. NULL is
 * ignored. */
void tg_progress_finish(tg_progress *p, bool keep_line);

/* ---- metrics log ---- */

typedef struct tg_metrics_log tg_metrics_log;

typedef enum tg_metrics_format { TG_METRICS_CSV = 0, TG_METRICS_JSONL = 1 } tg_metrics_format;

/* Creates (truncates) the file at `path` for rows in `format`. Errors
 * (NULL): NULL path or unknown format (TG_ERR_ARGUMENT), the file cannot be
 * created (TG_ERR_IO, with the system's reason). */
tg_metrics_log *tg_metrics_log_open(const char *path, tg_metrics_format format);

/* Writes one row: `step`, then `n` >= 1 named values. In CSV every row must
 * have the first row's names in the same order (the header); JSON lines may
 * vary. Names are escaped as each format needs. Errors: NULL log, names or
 * values, n < 1, a NULL name, CSV names that differ from the header
 * (TG_ERR_ARGUMENT), a failed write (TG_ERR_IO). */
tg_status tg_metrics_log_write(tg_metrics_log *log, int64_t step, int n, const char *const *names,
                               const double *values);

/* Closes the file and frees the log. Returns TG_ERR_IO when the last
 * writes could not be completed. NULL is ignored (TG_OK). */
tg_status tg_metrics_log_close(tg_metrics_log *log);

#ifdef __cplusplus
}
#endif
#endif
