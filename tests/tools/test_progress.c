/* tests/tools/test_progress.c — the progress reporter's bar and lines, its
 * rate limit, and the metrics log's CSV and JSON lines, read back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

typedef struct capture {
    char *text;
    size_t size;
    FILE *file;
} capture;

static void capture_open(capture *c) {
    c->text = NULL;
    c->size = 0;
    c->file = open_memstream(&c->text, &c->size);
    cr_assert_not_null(c->file);
}

static char *capture_close(capture *c) {
    fclose(c->file);
    return c->text;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle)) n++;
    return n;
}

/* Plain lines, one per advance with interval 0: step/total, percentage,
 * rate, ETA and the metrics in the order first set. */
Test(progress, plain_lines_show_step_total_rate_eta_and_metrics) {
    capture c;
    capture_open(&c);
    tg_progress *p = tg_progress_new(c.file, "epoch 1", 4, TG_PROGRESS_LINES);
    cr_assert_not_null(p);
    cr_assert_eq(tg_progress_set_interval(p, 0), TG_OK);
    for (int i = 1; i <= 4; i++) {
        tg_progress_set_metric(p, "loss", 1.0 / i);
        tg_progress_set_metric(p, "acc", 0.5);
        cr_assert_eq(tg_progress_advance(p, 1), TG_OK);
    }
    tg_progress_finish(p, true); /* the last advance wrote its line: nothing more */
    char *text = capture_close(&c);
    cr_assert_eq(count(text, "\n"), 4, "%s", text);
    cr_assert_eq(count(text, "\r"), 0);
    cr_assert_not_null(strstr(text, "epoch 1 1/4 (25%)"), "%s", text);
    cr_assert_not_null(strstr(text, "epoch 1 4/4 (100%)"), "%s", text);
    cr_assert_not_null(strstr(text, "loss 0.3333  acc 0.5\n"), "%s", text);
    cr_assert_eq(count(text, " it/s  ETA "), 4, "%s", text);
    cr_assert_not_null(strstr(text, "ETA 0:00"), "%s", text);
    free(text);
}

/* The default interval (1 s) writes nothing for a loop shorter than that;
 * finish(keep_line) then writes the one final line. */
Test(progress, plain_lines_are_rate_limited) {
    capture c;
    capture_open(&c);
    tg_progress *p = tg_progress_new(c.file, "fast", 1000, TG_PROGRESS_LINES);
    for (int i = 0; i < 1000; i++) tg_progress_advance(p, 1);
    fflush(c.file);
    cr_assert_eq(c.size, 0, "wrote '%s' within a second", c.text);
    tg_progress_finish(p, true);
    char *text = capture_close(&c);
    cr_assert_eq(count(text, "\n"), 1, "%s", text);
    cr_assert_not_null(strstr(text, "fast 1000/1000 (100%)"), "%s", text);
    free(text);
}

/* The bar: drawn on the first and the last step (whatever the interval),
 * in place with '\r', erased by finish(false). */
Test(progress, the_bar_redraws_in_place_and_is_erased) {
    capture c;
    capture_open(&c);
    tg_progress *p = tg_progress_new(c.file, "train", 10, TG_PROGRESS_BAR);
    tg_progress_set_interval(p, 1000);
    for (int i = 0; i < 10; i++) tg_progress_advance(p, 1);
    tg_progress_finish(p, false);
    char *text = capture_close(&c);
    cr_assert_eq(count(text, "\n"), 0, "%s", text);
    /* 1 of 10 steps fills floor(24 / 10) = 2 of the 24 cells */
    cr_assert_not_null(strstr(text, "\rtrain [==......................] 1/10  "), "%s", text);
    cr_assert_not_null(strstr(text, "\rtrain [========================] 10/10"), "%s", text);
    /* ends with the line blanked and the cursor back at its start */
    size_t n = strlen(text);
    cr_assert_eq(text[n - 1], '\r');
    free(text);
}

/* Unknown total: no bar fraction, no percentage, no ETA. */
Test(progress, an_unknown_total_shows_the_count_only) {
    capture c;
    capture_open(&c);
    tg_progress *p = tg_progress_new(c.file, "scan", 0, TG_PROGRESS_LINES);
    tg_progress_set_interval(p, 0);
    tg_progress_advance(p, 7);
    tg_progress_finish(p, false);
    char *text = capture_close(&c);
    cr_assert_eq(strncmp(text, "scan 7  ", 8), 0, "%s", text);
    cr_assert_null(strstr(text, "ETA"), "%s", text);
    cr_assert_null(strstr(text, "%"), "%s", text);
    free(text);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(metrics_log, csv_has_a_header_and_full_precision_rows) {
    char path[] = "/tmp/tapegrad_metrics_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    tg_metrics_log *log = tg_metrics_log_open(path, TG_METRICS_CSV);
    cr_assert_not_null(log);
    const char *names[] = {"loss", "test, acc"};
    cr_assert_eq(tg_metrics_log_write(log, 1, 2, names, (double[]){0.1, 0.5}), TG_OK);
    cr_assert_eq(tg_metrics_log_write(log, 2, 2, names, (double[]){NAN, 1.0 / 3}), TG_OK);
    cr_assert_eq(tg_metrics_log_close(log), TG_OK);
    cr_assert_str_eq(read_file(path), "step,loss,\"test, acc\"\n"
                                      "1,0.10000000000000001,0.5\n"
                                      "2,nan,0.33333333333333331\n");
    remove(path);
}

Test(metrics_log, jsonl_writes_one_object_per_row) {
    char path[] = "/tmp/tapegrad_metrics_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    tg_metrics_log *log = tg_metrics_log_open(path, TG_METRICS_JSONL);
    cr_assert_not_null(log);
    cr_assert_eq(tg_metrics_log_write(log, 3, 2, (const char *[]){"loss", "say \"x\""}, (double[]){0.25, INFINITY}),
                 TG_OK);
    cr_assert_eq(tg_metrics_log_write(log, 4, 1, (const char *[]){"lr"}, (double[]){1e-3}), TG_OK);
    cr_assert_eq(tg_metrics_log_close(log), TG_OK);
    cr_assert_str_eq(read_file(path), "{\"step\": 3, \"loss\": 0.25, \"say \\\"x\\\"\": null}\n"
                                      "{\"step\": 4, \"lr\": 0.001}\n");
    remove(path);
}
