/* core/print.c — tg_print / tg_fprint: tensors shown the way numpy and
 * PyTorch show arrays.
 *
 *   tensor([[ 1.0000, -2.0000],
 *           [ 3.0000,  4.0000]], dtype=float32)
 *   tensor(3.5000, dtype=float64)
 *   tensor([], shape=(0,3), dtype=float32)
 *   tensor([1.0000e-05, 1.0000e+00], dtype=float64, requires_grad=True)
 *
 * The rules, taken from numpy's arrayprint.py and PyTorch's _tensor_str.py:
 *   - Every element is printed with 4 decimals ("%.4f"), or, when that would
 *     hide the values, in scientific notation ("%.4e") for the whole tensor.
 *     Scientific is chosen, as both libraries do, when among the finite
 *     non-zero magnitudes shown the largest is >= 1e8, or the smallest is
 *     < 1e-4, or the largest is more than 1000 times the smallest.
 *   - Elements are right-aligned to the widest one shown; nan, inf and -inf
 *     are spelled that way.
 *   - Tensors of more than 1000 elements are summarized: along each axis
 *     longer than 6 only the first and last 3 entries are shown, with "..."
 *     between them (numpy's threshold and edgeitems).
 *   - Rows continue under their opening bracket; consecutive blocks of a
 *     rank-3+ tensor are separated by rank-2-depth blank lines, as numpy does.
 *     A line longer than 80 columns (PyTorch's linewidth) wraps between
 *     elements, and the suffixes (", dtype=...", ", requires_grad=True") move
 *     to a line of their own when they would not fit.
 *   - An empty tensor shows its shape (except 1-D, where "[]" says it all).
 * The output ends with a newline, like Python's print(). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/tensor_internal.h"
#include "tapegrad/tensor.h"

#define PRINT_THRESHOLD 1000 /* summarize above this many elements    */
#define PRINT_EDGE_ITEMS 3   /* entries kept at each end of an axis   */
#define PRINT_LINE_WIDTH 80  /* columns before an element wraps       */
#define PRINT_PREFIX "tensor("
#define PRINT_PREFIX_LENGTH 7

typedef struct printer {
    FILE *out;
    const tg_tensor *t;
    bool summarize;
    bool integer; /* an integer dtype: exact integers, no decimals */
    /* gathered by the measuring pass over the shown elements */
    bool measuring;
    bool any_nonzero;
    double max_magnitude, min_magnitude; /* finite, non-zero */
    int fixed_width, scientific_width;
    /* chosen from the above */
    bool scientific;
    int width;
    int column; /* characters written on the current line */
} printer;

static int format_value(char *buf, size_t size, double v, bool scientific) {
    if (isnan(v)) return snprintf(buf, size, "nan");
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "inf" : "-inf");
    return snprintf(buf, size, scientific ? "%.4e" : "%.4f", v);
}

/* Element `at` as text: an integer exactly, a float in the chosen format. */
static int format_element(const printer *p, char *buf, size_t size, int64_t at) {
    if (p->integer) return snprintf(buf, size, "%lld", (long long)tg_load_index(p->t, at));
    return format_value(buf, size, tg_load(p->t, at), p->scientific);
}

static void emit(printer *p, const char *text) {
    fputs(text, p->out);
    const char *newline = strrchr(text, '\n');
    p->column = newline ? (int)strlen(newline + 1) : p->column + (int)strlen(text);
}

static void emit_newline_and_indent(printer *p, int newlines, int indent) {
    for (int i = 0; i < newlines; i++) fputc('\n', p->out);
    for (int i = 0; i < indent; i++) fputc(' ', p->out);
    p->column = indent;
}

static void measure_element(printer *p, double v) {
    char buf[64];
    int fixed = format_value(buf, sizeof buf, v, false);
    int scientific = format_value(buf, sizeof buf, v, true);
    if (fixed > p->fixed_width) p->fixed_width = fixed;
    if (scientific > p->scientific_width) p->scientific_width = scientific;
    double m = fabs(v);
    if (!isfinite(m) || m == 0.0) return;
    if (!p->any_nonzero || m > p->max_magnitude) p->max_magnitude = m;
    if (!p->any_nonzero || m < p->min_magnitude) p->min_magnitude = m;
    p->any_nonzero = true;
}

/* Writes `text` right-aligned in `width` columns, wrapping first if the line
 * would pass the line width (keeping one column for the "," or "]" after). */
static void emit_element(printer *p, const char *text, int width, bool first_in_row, int indent) {
    if (!first_in_row) {
        emit(p, ",");
        if (p->column + 1 + width + 1 > PRINT_LINE_WIDTH)
            emit_newline_and_indent(p, 1, indent);
        else
            emit(p, " ");
    }
    char padded[96];
    snprintf(padded, sizeof padded, "%*s", width, text);
    emit(p, padded);
}

/* One pass over the shown elements of axis `axis` starting at flat `offset`:
 * measuring (p->measuring) or writing. */
static void visit(printer *p, int axis, int64_t offset) {
    const tg_tensor *t = p->t;
    int64_t size = t->shape[axis];
    bool cut = p->summarize && size > 2 * PRINT_EDGE_ITEMS;
    bool innermost = axis == t->rank - 1;
    int indent = PRINT_PREFIX_LENGTH + axis + 1; /* column after this axis' "[" */
    if (!p->measuring) emit(p, "[");
    for (int64_t i = 0; i < size; i++) {
        if (cut && i == PRINT_EDGE_ITEMS) {
            if (!p->measuring) {
                if (innermost) {
                    emit_element(p, "...", 3, false, indent);
                } else {
                    emit(p, ",");
                    emit_newline_and_indent(p, t->rank - axis - 1, indent);
                    emit(p, "...");
                }
            }
            i = size - PRINT_EDGE_ITEMS - 1; /* the loop's i++ moves to the tail */
            continue;
        }
        int64_t at = offset + i * t->strides[axis];
        if (innermost) {
            if (p->measuring && p->integer) {
                char text[64];
                int width = format_element(p, text, sizeof text, at);
                if (width > p->fixed_width) p->fixed_width = width;
            } else if (p->measuring) {
                measure_element(p, tg_load(t, at));
            } else {
                char text[64];
                format_element(p, text, sizeof text, at);
                emit_element(p, text, p->width, i == 0, indent);
            }
        } else {
            if (!p->measuring && i > 0) {
                emit(p, ",");
                emit_newline_and_indent(p, t->rank - axis - 1, indent);
            }
            visit(p, axis + 1, at);
        }
    }
    if (!p->measuring) emit(p, "]");
}

static void choose_format(printer *p) {
    p->scientific = !p->integer && p->any_nonzero && (p->max_magnitude >= 1e8 || p->min_magnitude < 1e-4 ||
                                       p->max_magnitude / p->min_magnitude > 1e3);
    p->width = p->scientific ? p->scientific_width : p->fixed_width;
}

/* ", suffix", or on a new line under the first "[" when it would not fit. */
static void emit_suffix(printer *p, const char *suffix) {
    if (p->column + 2 + (int)strlen(suffix) > PRINT_LINE_WIDTH) {
        emit(p, ",");
        emit_newline_and_indent(p, 1, PRINT_PREFIX_LENGTH);
    } else {
        emit(p, ", ");
    }
    emit(p, suffix);
}

static void print_tensor(const char *function, FILE *out, const tg_tensor *t) {
    if (!out) {
        tg_error_report(TG_ERR_ARGUMENT, function, "out is NULL");
        return;
    }
    if (!t) {
        fputs("tensor(NULL)\n", out);
        return;
    }
    if (tg_tensor_check(function, "t", t) != TG_OK) {
        fputs("tensor(<stale>)\n", out);
        return;
    }
    printer p = {.out = out, .t = t, .summarize = t->numel > PRINT_THRESHOLD, .integer = tg_dtype_is_integer(t->dtype)};
    emit(&p, PRINT_PREFIX);
    if (t->numel == 0) {
        emit(&p, "[]");
        if (t->rank != 1) {
            char shape[160], suffix[176];
            snprintf(suffix, sizeof suffix, "shape=%s", tg_shape_string(shape, sizeof shape, t->rank, t->shape));
            emit_suffix(&p, suffix);
        }
    } else if (t->rank == 0) {
        char text[64];
        measure_element(&p, tg_load(t, 0));
        choose_format(&p);
        format_element(&p, text, sizeof text, 0);
        emit(&p, text);
    } else {
        p.measuring = true;
        visit(&p, 0, 0);
        p.measuring = false;
        choose_format(&p);
        visit(&p, 0, 0);
    }
    char dtype[32];
    snprintf(dtype, sizeof dtype, "dtype=%s", tg_dtype_name(t->dtype));
    emit_suffix(&p, dtype);
    if (t->requires_grad) emit_suffix(&p, "requires_grad=True");
    emit(&p, ")\n");
}

void tg_print(const tg_tensor *t) { print_tensor("tg_print", stdout, t); }

void tg_fprint(FILE *out, const tg_tensor *t) { print_tensor("tg_fprint", out, t); }
