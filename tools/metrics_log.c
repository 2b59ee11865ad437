/* tools/metrics_log.c — rows of named metrics as CSV or JSON lines
 * (progress.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/progress.h"

struct tg_metrics_log {
    FILE *file;
    tg_metrics_format format;
    char *path;
    int n_columns;  /* CSV: the header's names, set by the first row */
    char **columns;
};

tg_metrics_log *tg_metrics_log_open(const char *path, tg_metrics_format format) {
    const char *function = "tg_metrics_log_open";
    if (!path) {
        tg_error_report(TG_ERR_ARGUMENT, function, "path is NULL");
        return NULL;
    }
    if (format != TG_METRICS_CSV && format != TG_METRICS_JSONL) {
        tg_error_report(TG_ERR_ARGUMENT, function, "unknown format %d (TG_METRICS_CSV or TG_METRICS_JSONL)",
                        (int)format);
        return NULL;
    }
    tg_metrics_log *log = calloc(1, sizeof *log);
    char *copy = log ? malloc(strlen(path) + 1) : NULL;
    if (!log || !copy) {
        free(log);
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a metrics log");
        return NULL;
    }
    log->file = fopen(path, "w");
    if (!log->file) {
        tg_error_report(TG_ERR_IO, function, "cannot create '%s': %s", path, strerror(errno));
        free(copy);
        free(log);
        return NULL;
    }
    strcpy(copy, path);
    log->path = copy;
    log->format = format;
    return log;
}

/* A CSV field: quoted (with doubled quotes) when it holds a comma, a quote
 * or a line break. */
static void write_csv_field(FILE *f, const char *text) {
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

static void write_json_string(FILE *f, const char *text) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c == '\n') fputs("\\n", f);
        else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

static tg_status remember_header(tg_metrics_log *log, int n, const char *const *names) {
    log->columns = calloc((size_t)n, sizeof *log->columns);
    if (!log->columns) return tg_error_report(TG_ERR_MEMORY, "tg_metrics_log_write", "cannot keep %d names", n);
    for (int i = 0; i < n; i++) {
        log->columns[i] = malloc(strlen(names[i]) + 1);
        if (!log->columns[i]) {
            for (int k = 0; k < i; k++) free(log->columns[k]);
            free(log->columns);
            log->columns = NULL;
            return tg_error_report(TG_ERR_MEMORY, "tg_metrics_log_write", "cannot keep a name");
        }
        strcpy(log->columns[i], names[i]);
    }
    log->n_columns = n;
    fputs("step", log->file);
    for (int i = 0; i < n; i++) {
        fputc(',', log->file);
        write_csv_field(log->file, names[i]);
    }
    fputc('\n', log->file);
    return TG_OK;
}

static tg_status check_csv_names(const tg_metrics_log *log, int n, const char *const *names) {
    if (n != log->n_columns)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_metrics_log_write",
                               "a CSV row needs the header's %d values, got %d", log->n_columns, n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], log->columns[i]) != 0)
            return tg_error_report(TG_ERR_ARGUMENT, "tg_metrics_log_write",
                                   "value %d is named '%s' but the CSV header's column is '%s'", i, names[i],
                                   log->columns[i]);
    return TG_OK;
}

tg_status tg_metrics_log_write(tg_metrics_log *log, int64_t step, int n, const char *const *names,
                               const double *values) {
    const char *function = "tg_metrics_log_write";
    if (!log || !names || !values)
        return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !log ? "log" : !names ? "names" : "values");
    if (n < 1) return tg_error_report(TG_ERR_ARGUMENT, function, "n is %d; need >= 1 value", n);
    for (int i = 0; i < n; i++)
        if (!names[i]) return tg_error_report(TG_ERR_ARGUMENT, function, "names[%d] is NULL", i);
    FILE *f = log->file;
    tg_status s = TG_OK;
    if (log->format == TG_METRICS_CSV) {
        s = log->columns ? check_csv_names(log, n, names) : remember_header(log, n, names);
        if (s != TG_OK) return s;
        fprintf(f, "%lld", (long long)step);
        for (int i = 0; i < n; i++) fprintf(f, ",%.17g", values[i]);
        fputc('\n', f);
    } else {
        fprintf(f, "{\"step\": %lld", (long long)step);
        for (int i = 0; i < n; i++) {
            fputs(", ", f);
            write_json_string(f, names[i]);
            if (isfinite(values[i])) fprintf(f, ": %.17g", values[i]);
            else fputs(": null", f);
        }
        fputs("}\n", f);
    }
    if (fflush(f) != 0 || ferror(f))
        return tg_error_report(TG_ERR_IO, function, "writing '%s' failed: %s", log->path, strerror(errno));
    return TG_OK;
}

tg_status tg_metrics_log_close(tg_metrics_log *log) {
    if (!log) return TG_OK;
    bool failed = ferror(log->file) != 0;
    failed |= fclose(log->file) != 0;
    tg_status s = failed ? tg_error_report(TG_ERR_IO, "tg_metrics_log_close", "closing '%s' failed", log->path)
                         : TG_OK;
    for (int i = 0; i < log->n_columns; i++) free(log->columns[i]);
    free(log->columns);
    free(log->path);
    free(log);
    return s;
}
