/* tools/progress.c — the training-loop progress reporter (progress.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tapegrad/progress.h"

#define NAME_SIZE 32
#define LABEL_SIZE 64
#define BAR_WIDTH 24
#define BAR_REDRAW_SECONDS 0.1

struct tg_progress {
    FILE *out;
    char label[LABEL_SIZE];
    int64_t total, step;
    bool bar;
    double interval, started, last_report;
    bool reported_this_step; /* the last advance wrote a report */
    int drawn_width;         /* characters of the bar line on screen */
    int n_metrics;
    char names[TG_PROGRESS_MAX_METRICS][NAME_SIZE];
    double values[TG_PROGRESS_MAX_METRICS];
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

tg_progress *tg_progress_new(FILE *out, const char *label, int64_t total, tg_progress_style style) {
    const char *function = "tg_progress_new";
    if (!out) {
        tg_error_report(TG_ERR_ARGUMENT, function, "out (the FILE to write) is NULL");
        return NULL;
    }
    if (total < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "total is %lld; need >= 0 (0: unknown)", (long long)total);
        return NULL;
    }
    if (style != TG_PROGRESS_AUTO && style != TG_PROGRESS_BAR && style != TG_PROGRESS_LINES) {
        tg_error_report(TG_ERR_ARGUMENT, function, "unknown style %d", (int)style);
        return NULL;
    }
    tg_progress *p = calloc(1, sizeof *p);
    if (!p) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a progress reporter");
        return NULL;
    }
    p->out = out;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->bar = style == TG_PROGRESS_BAR || (style == TG_PROGRESS_AUTO && isatty(fileno(out)));
    p->interval = 1.0;
    p->started = p->last_report = now_seconds();
    return p;
}

tg_status tg_progress_set_interval(tg_progress *p, double seconds) {
    if (!p) return tg_error_report(TG_ERR_ARGUMENT, "tg_progress_set_interval", "p is NULL");
    if (!(seconds >= 0) || !isfinite(seconds))
        return tg_error_report(TG_ERR_ARGUMENT, "tg_progress_set_interval",
                               "seconds is %g; need a finite value >= 0", seconds);
    p->interval = seconds;
    return TG_OK;
}

tg_status tg_progress_set_metric(tg_progress *p, const char *name, double value) {
    const char *function = "tg_progress_set_metric";
    if (!p || !name) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !p ? "p" : "name");
    for (int i = 0; i < p->n_metrics; i++)
        if (strncmp(p->names[i], name, NAME_SIZE - 1) == 0) {
            p->values[i] = value;
            return TG_OK;
        }
    if (p->n_metrics == TG_PROGRESS_MAX_METRICS)
        return tg_error_report(TG_ERR_ARGUMENT, function, "metric '%s' would be the %dth; at most %d are shown",
                               name, TG_PROGRESS_MAX_METRICS + 1, TG_PROGRESS_MAX_METRICS);
    snprintf(p->names[p->n_metrics], NAME_SIZE, "%s", name);
    p->values[p->n_metrics++] = value;
    return TG_OK;
}

/* "m:ss" or "h:mm:ss". */
static void format_duration(char *buf, size_t size, double seconds) {
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "?");
        return;
    }
    long long s = (long long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%lld:%02lld", s / 60, s % 60);
}

/* The report after the label and progress: rate, ETA and metrics. */
static int format_tail(const tg_progress *p, double now, char *buf, size_t size) {
    double elapsed = now - p->started;
    double rate = elapsed > 0 ? (double)p->step / elapsed : 0;
    int used = snprintf(buf, size, "  %.1f it/s", rate);
    if (p->total > 0 && (size_t)used < size) {
        char eta[32];
        format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - p->step) / rate : NAN);
        used += snprintf(buf + used, size - (size_t)used, "  ETA %s", eta);
    }
    for (int i = 0; i < p->n_metrics && (size_t)used < size; i++)
        used += snprintf(buf + used, size - (size_t)used, "  %s %.4g", p->names[i], p->values[i]);
    return used;
}

static void draw_bar(tg_progress *p, double now) {
    char line[512], tail[400];
    format_tail(p, now, tail, sizeof tail);
    int width;
    if (p->total > 0) {
        char bar[BAR_WIDTH + 1];
        int64_t filled = (p->step > p->total ? p->total : p->step) * BAR_WIDTH / p->total;
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '=' : '.';
        bar[BAR_WIDTH] = '\0';
        width = snprintf(line, sizeof line, "%s [%s] %lld/%lld%s", p->label, bar, (long long)p->step,
                         (long long)p->total, tail);
    } else {
        width = snprintf(line, sizeof line, "%s %lld%s", p->label, (long long)p->step, tail);
    }
    if (width > (int)sizeof line - 1) width = (int)sizeof line - 1;
    /* pad with spaces over what a longer earlier line left on screen */
    fprintf(p->out, "\r%s%*s", line, p->drawn_width > width ? p->drawn_width - width : 0, "");
    fflush(p->out);
    p->drawn_width = width;
}

static void write_line(tg_progress *p, double now) {
    char tail[400];
    format_tail(p, now, tail, sizeof tail);
    if (p->total > 0)
        fprintf(p->out, "%s %lld/%lld (%d%%)%s\n", p->label, (long long)p->step, (long long)p->total,
                (int)(100 * (p->step > p->total ? p->total : p->step) / p->total), tail);
    else
        fprintf(p->out, "%s %lld%s\n", p->label, (long long)p->step, tail);
    fflush(p->out);
}

tg_status tg_progress_advance(tg_progress *p, int64_t steps) {
    const char *function = "tg_progress_advance";
    if (!p) return tg_error_report(TG_ERR_ARGUMENT, function, "p is NULL");
    if (steps < 0) return tg_error_report(TG_ERR_ARGUMENT, function, "steps is %lld; need >= 0", (long long)steps);
    bool first = p->step == 0 && steps > 0;
    p->step += steps;
    double now = now_seconds(), since = now - p->last_report;
    bool due = p->bar ? first || p->step == p->total || since >= fmin(BAR_REDRAW_SECONDS, p->interval)
                      : since >= p->interval;
    p->reported_this_step = due;
    if (!due) return TG_OK;
    p->last_report = now;
    if (p->bar) draw_bar(p, now);
    else write_line(p, now);
    return ferror(p->out) ? tg_error_report(TG_ERR_IO, function, "writing the progress report failed") : TG_OK;
}

void tg_progress_finish(tg_progress *p, bool keep_line) {
    if (!p) return;
    double now = now_seconds();
    if (p->bar && keep_line) {
        draw_bar(p, now);
        fputc('\n', p->out);
    } else if (p->bar && p->drawn_width > 0) {
        fprintf(p->out, "\r%*s\r", p->drawn_width, "");
    } else if (!p->bar && keep_line && !p->reported_this_step) {
        write_line(p, now);
    }
    fflush(p->out);
    free(p);
}
