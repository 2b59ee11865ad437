/* data/csv.c — tables of numbers from CSV files.
 *
 * Two passes over the file held in memory: the first counts the rows and
 * checks every row's field count (so the data set is allocated once, at its
 * final size, and never larger than the file justifies), the second parses
 * every field. Any field that is not a finite number, and any row with a
 * different number of fields, is reported with its file, line and column.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "data/internal.h"

#define CSV_LIMIT ((size_t)1 << 30)
#define FIELD_MAX TG_CSV_FIELD_MAX

static const char *fn = "tg_csv_load";

typedef struct line_cursor {
    const char *text;
    size_t size;
    size_t pos;
    int64_t number; /* 1-based number of the line last returned */
} line_cursor;

/* Returns the next line (without '\n' or '\r\n') in *begin and *length; false at the end. */
static bool next_line(line_cursor *c, const char **begin, size_t *length)
{
    if (c->pos >= c->size) return false;
    const char *start = c->text + c->pos;
    const char *newline = memchr(start, '\n', c->size - c->pos);
    size_t len = newline ? (size_t)(newline - start) : c->size - c->pos;
    c->pos += len + (newline ? 1 : 0);
    c->number++;
    if (len > 0 && start[len - 1] == '\r') len--;
    *begin = start;
    *length = len;
    return true;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

static int64_t count_fields(const char *s, size_t n, char delimiter)
{
    int64_t fields = 1;
    for (size_t i = 0; i < n; ++i) fields += s[i] == delimiter;
    return fields;
}

typedef enum field_status { FIELD_NUMBER, FIELD_NOT_A_NUMBER, FIELD_TOO_LONG } field_status;

/* Parses field text [s, s+n) as a finite number. The text is copied to be
 * NUL-terminated for strtod (the file is not), on the stack up to
 * FIELD_MAX characters: a longer field is refused as such. */
static field_status parse_number(const char *s, size_t n, double *value, size_t *length)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
    *length = n;
    if (n > FIELD_MAX) return FIELD_TOO_LONG;
    if (n == 0) return FIELD_NOT_A_NUMBER;
    char buffer[FIELD_MAX + 1];
    memcpy(buffer, s, n);
    buffer[n] = '\0';
    char *end = NULL;
    errno = 0;
    *value = strtod(buffer, &end);
    return end == buffer + n && isfinite(*value) ? FIELD_NUMBER : FIELD_NOT_A_NUMBER;
}

static void store_feature(tg_dataset *ds, int64_t at, double value)
{
    if (ds->store->kind == TG_FEATURES_F32)
        ((float *)ds->store->features)[at] = (float)value;
    else
        ((double *)ds->store->features)[at] = value;
}

/* Parses every data line into ds; returns false after reporting an error. */
static bool parse_rows(tg_dataset *ds, line_cursor *c, const char *path, char delimiter, int64_t columns,
                       int64_t label_column, tg_label_kind label_kind, int64_t max_classes)
{
    const char *line;
    size_t length;
    int64_t row = 0, max_class = 0;
    while (next_line(c, &line, &length)) {
        if (is_blank(line, length)) continue;
        /* Pass 1 checked this already; the field walk below relies on it. */
        int64_t fields = count_fields(line, length, delimiter);
        if (fields != columns) {
            tg_error_report(TG_ERR_FORMAT, fn, "%s:%lld: ragged row: %lld fields, expected %lld", path,
                            (long long)c->number, (long long)fields, (long long)columns);
            return false;
        }
        const char *field = line;
        int64_t feature = 0;
        for (int64_t col = 0; col < columns; ++col) {
            const char *end = memchr(field, delimiter, (size_t)(line + length - field));
            if (!end) end = line + length;
            double value;
            size_t field_length;
            field_status parsed = parse_number(field, (size_t)(end - field), &value, &field_length);
            if (parsed != FIELD_NUMBER) {
                int shown = (int)(end - field > 40 ? 40 : end - field);
                if (parsed == FIELD_TOO_LONG)
                    tg_error_report(TG_ERR_FORMAT, fn,
                                    "%s:%lld:%lld: field '%.*s...' is %zu characters long, over the %d allowed", path,
                                    (long long)c->number, (long long)col + 1, shown, field, field_length, FIELD_MAX);
                else
                    tg_error_report(TG_ERR_FORMAT, fn, "%s:%lld:%lld: '%.*s' is not a finite number", path,
                                    (long long)c->number, (long long)col + 1, shown, field);
                return false;
            }
            if (col != label_column && ds->store->kind == TG_FEATURES_F32 && !isfinite((float)value)) {
                /* Finite as a double but not as a float: stored, it would be an infinity. */
                int shown = (int)(end - field > 40 ? 40 : end - field);
                tg_error_report(TG_ERR_FORMAT, fn, "%s:%lld:%lld: '%.*s' is outside the float32 range", path,
                                (long long)c->number, (long long)col + 1, shown, field);
                return false;
            }
            if (col != label_column) {
                store_feature(ds, row * ds->feature_size + feature++, value);
            } else if (label_kind == TG_LABELS_CLASS) {
                if (value < 0 || value != floor(value)) {
                    tg_error_report(TG_ERR_FORMAT, fn, "%s:%lld:%lld: class label %g is not an integer >= 0",
                                    path, (long long)c->number, (long long)col + 1, value);
                    return false;
                }
                if (value >= max_classes) {
                    tg_error_report(TG_ERR_FORMAT, fn,
                                    "%s:%lld:%lld: class label %.17g is not below the %lld classes allowed "
                                    "(tg_csv_options.max_classes; default %d)",
                                    path, (long long)c->number, (long long)col + 1, value, (long long)max_classes,
                                    TG_CSV_DEFAULT_MAX_CLASSES);
                    return false;
                }
                ds->store->classes[row] = (int32_t)value;
                if ((int64_t)value > max_class) max_class = (int64_t)value;
            } else {
                ds->store->targets[row] = value;
            }
            field = end + 1;
        }
        row++;
    }
    if (label_kind == TG_LABELS_CLASS) ds->label_width = max_class + 1;
    return true;
}

/* The options tg_csv_load accepts (a NULL path aside). */
static bool options_ok(const tg_csv_options *opt)
{
    char delimiter = opt->delimiter ? opt->delimiter : ',';
    bool has_label = opt->label_column != TG_CSV_NO_LABEL;
    return delimiter != '\n' && delimiter != '\r' && delimiter != '"' && opt->max_classes >= 0 &&
           (opt->storage == TG_FEATURES_F32 || opt->storage == TG_FEATURES_F64) &&
           (!has_label || opt->label_kind == TG_LABELS_CLASS || opt->label_kind == TG_LABELS_TARGET);
}

tg_dataset *tg_csv_load(const char *path, const tg_csv_options *options)
{
    const tg_csv_options defaults = {',', false, -1, TG_LABELS_CLASS, TG_FEATURES_F64, TG_CSV_DEFAULT_MAX_CLASSES};
    const tg_csv_options *opt = options ? options : &defaults;
    if (!path || !options_ok(opt)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "NULL path, or bad delimiter, storage, label kind or max_classes");
        return NULL;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (tgi_read_file(fn, path, CSV_LIMIT, &bytes, &size)) return NULL;
    tg_dataset *ds = tgi_csv_parse(path, bytes, size, opt);
    free(bytes);
    return ds;
}

tg_dataset *tgi_csv_parse(const char *path, const uint8_t *bytes, size_t size, const tg_csv_options *opt)
{
    if (!options_ok(opt)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "bad delimiter, storage, label kind or max_classes");
        return NULL;
    }
    /* A UTF-8 byte order mark (spreadsheets write one) is no part of the data. */
    if (size >= 3 && bytes[0] == 0xef && bytes[1] == 0xbb && bytes[2] == 0xbf) {
        bytes += 3;
        size -= 3;
    }
    char delimiter = opt->delimiter ? opt->delimiter : ',';
    bool has_label = opt->label_column != TG_CSV_NO_LABEL;

    /* Pass 1: the number of columns (header or first row) and of data rows.
     * Every row's field count is checked here, before anything is allocated:
     * the allocation is rows x columns, so a long first line followed by many
     * short ones would otherwise ask for far more memory than the file holds. */
    line_cursor c = {(const char *)bytes, size, 0, 0};
    const char *line;
    size_t length;
    int64_t columns = 0, rows = 0;
    bool header_pending = opt->has_header;
    while (next_line(&c, &line, &length)) {
        if (is_blank(line, length)) continue;
        int64_t fields = count_fields(line, length, delimiter);
        if (columns == 0) {
            columns = fields;
        } else if (fields != columns) {
            tg_error_report(TG_ERR_FORMAT, fn, "%s:%lld: ragged row: %lld fields, expected %lld", path,
                            (long long)c.number, (long long)fields, (long long)columns);
            return NULL;
        }
        if (header_pending) header_pending = false;
        else rows++;
    }
    tg_dataset *ds = NULL;
    int64_t label_column = has_label ? (opt->label_column < 0 ? columns + opt->label_column : opt->label_column)
                                     : -1;
    if (columns == 0) {
        tg_error_report(TG_ERR_FORMAT, fn, "%s: no data (empty file)", path);
    } else if (has_label && (label_column < 0 || label_column >= columns)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "%s: label column %d outside the %lld columns", path,
                        opt->label_column, (long long)columns);
    } else if (columns - (has_label ? 1 : 0) < 1) {
        tg_error_report(TG_ERR_FORMAT, fn, "%s: no feature columns besides the label", path);
    } else {
        const int64_t feature_shape[1] = {columns - (has_label ? 1 : 0)};
        ds = tg_dataset_new(opt->storage, rows, 1, feature_shape, has_label ? opt->label_kind : TG_LABELS_NONE,
                            1);
    }
    if (ds) {
        /* Pass 2: skip the header, then parse. */
        line_cursor parse = {(const char *)bytes, size, 0, 0};
        if (opt->has_header) {
            while (next_line(&parse, &line, &length) && is_blank(line, length)) {}
        }
        if (!parse_rows(ds, &parse, path, delimiter, columns, label_column,
                        has_label ? opt->label_kind : TG_LABELS_NONE,
                        opt->max_classes ? opt->max_classes : TG_CSV_DEFAULT_MAX_CLASSES)) {
            tg_dataset_free(ds);
            ds = NULL;
        }
    }
    return ds;
}
