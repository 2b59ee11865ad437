/* examples/svg.c — the tiny SVG writer of svg.h. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

static void emit(svg_writer *w, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void emit(svg_writer *w, const char *format, ...) {
    if (!w->file || w->failed) return;
    va_list args;
    va_start(args, format);
    if (vfprintf(w->file, format, args) < 0) w->failed = true;
    va_end(args);
}

bool svg_begin(svg_writer *w, const char *path, double width, double height) {
    w->file = fopen(path, "w");
    w->width = width;
    w->height = height;
    w->failed = false;
    if (!w->file) {
        fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
        return false;
    }
    emit(w,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
         "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
         "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" fill=\"white\"/>\n",
         width, height, width, height, width, height);
    return true;
}

bool svg_end(svg_writer *w) {
    if (!w->file) return false;
    emit(w, "</svg>\n");
    bool ok = !w->failed && !ferror(w->file);
    if (fclose(w->file) != 0) ok = false;
    w->file = NULL;
    return ok;
}

void svg_rect(svg_writer *w, double x, double y, double width, double height, const char *fill) {
    emit(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", x, y, width, height, fill);
}

void svg_circle(svg_writer *w, double cx, double cy, double r, const char *fill, const char *stroke,
                double stroke_width) {
    emit(w, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%g\"/>\n", cx, cy, r,
         fill, stroke, stroke_width);
}

void svg_line(svg_writer *w, double x1, double y1, double x2, double y2, const char *stroke, double stroke_width) {
    emit(w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"%g\"/>\n", x1, y1, x2,
         y2, stroke, stroke_width);
}

void svg_polyline(svg_writer *w, int n, const double *x, const double *y, const char *stroke, double stroke_width) {
    emit(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" stroke-linejoin=\"round\" points=\"", stroke,
         stroke_width);
    for (int i = 0; i < n; i++) emit(w, "%s%.2f,%.2f", i ? " " : "", x[i], y[i]);
    emit(w, "\"/>\n");
}

void svg_text(svg_writer *w, double x, double y, double font_size, const char *anchor, double rotate,
              const char *format, ...) {
    char text[512];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    emit(w, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" text-anchor=\"%s\"", x, y, font_size, anchor);
    if (rotate != 0) emit(w, " transform=\"rotate(%g %.2f %.2f)\"", rotate, x, y);
    emit(w, ">");
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': emit(w, "&amp;"); break;
        case '<': emit(w, "&lt;"); break;
        case '>': emit(w, "&gt;"); break;
        default: emit(w, "%c", *c);
        }
    }
    emit(w, "</text>\n");
}

void svg_color_spectral(double t, double lightness, char out[8]) {
    /* The 11 colors of ColorBrewer's Spectral, from t = 0 to t = 1. */
    static const unsigned char stops[11][3] = {
        {158, 1, 66},    {213, 62, 79},   {244, 109, 67}, {253, 174, 97}, {254, 224, 139}, {255, 255, 191},
        {230, 245, 152}, {171, 221, 164}, {102, 194, 165}, {50, 136, 189}, {94, 79, 162}};
    if (!(t >= 0)) t = 0; /* also catches NaN */
    if (t > 1) t = 1;
    if (!(lightness >= 0)) lightness = 0;
    if (lightness > 1) lightness = 1;
    double position = t * 10;
    int k = position >= 10 ? 9 : (int)position;
    double f = position - k;
    int rgb[3];
    for (int c = 0; c < 3; c++) {
        double v = stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f;
        v += (255 - v) * lightness;
        rgb[c] = (int)lround(v);
    }
    snprintf(out, 8, "#%02x%02x%02x", rgb[0] & 0xff, rgb[1] & 0xff, rgb[2] & 0xff);
}

void svg_group_begin(svg_writer *w, const char *attributes) { emit(w, "<g %s>\n", attributes); }

void svg_group_end(svg_writer *w) { emit(w, "</g>\n"); }

double svg_axes_x(const svg_axes *a, double x) { return a->left + (x - a->x_min) / (a->x_max - a->x_min) * a->width; }

double svg_axes_y(const svg_axes *a, double y) {
    return a->top + a->height - (y - a->y_min) / (a->y_max - a->y_min) * a->height;
}

/* A round tick step (1, 2 or 5 times a power of ten) giving about `count`
 * intervals over `range`. */
static double nice_step(double range, int count) {
    double raw = range / count;
    double power = pow(10, floor(log10(raw)));
    double fraction = raw / power;
    double nice = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10;
    return nice * power;
}

static int decimals_for(double step) {
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d;
}

void svg_axes_draw(svg_writer *w, const svg_axes *a, const char *title, const char *x_label, const char *y_label) {
    const double tick = 5, font = 12;
    double bottom = a->top + a->height, right = a->left + a->width;
    double x_step = nice_step(a->x_max - a->x_min, 5), y_step = nice_step(a->y_max - a->y_min, 5);
    int x_decimals = decimals_for(x_step), y_decimals = decimals_for(y_step);
    /* Ticks at multiples of the step inside the range (a little slack for
     * rounding), with grid lines across the plot. */
    for (double v = ceil(a->x_min / x_step - 1e-9) * x_step; v <= a->x_max + 1e-9 * x_step; v += x_step) {
        double px = svg_axes_x(a, v);
        svg_line(w, px, a->top, px, bottom, "#e6e6e6", 1);
        svg_line(w, px, bottom, px, bottom + tick, "#333333", 1);
        svg_text(w, px, bottom + tick + font + 1, font, "middle", 0, "%.*f", x_decimals, fabs(v) < 1e-12 ? 0.0 : v);
    }
    for (double v = ceil(a->y_min / y_step - 1e-9) * y_step; v <= a->y_max + 1e-9 * y_step; v += y_step) {
        double py = svg_axes_y(a, v);
        svg_line(w, a->left, py, right, py, "#e6e6e6", 1);
        svg_line(w, a->left - tick, py, a->left, py, "#333333", 1);
        svg_text(w, a->left - tick - 3, py + font * 0.35, font, "end", 0, "%.*f", y_decimals,
                 fabs(v) < 1e-12 ? 0.0 : v);
    }
    emit(w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#333333\"/>\n", a->left,
         a->top, a->width, a->height);
    if (title) svg_text(w, a->left + a->width / 2, a->top - 10, font + 2, "middle", 0, "%s", title);
    if (x_label) svg_text(w, a->left + a->width / 2, bottom + tick + 2 * font + 10, font, "middle", 0, "%s", x_label);
    if (y_label) {
        double x = a->left - 48, y = a->top + a->height / 2;
        svg_text(w, x, y, font, "middle", -90, "%s", y_label);
    }
}

void svg_axes_polyline(svg_writer *w, const svg_axes *a, int n, const double *x, const double *y,
                       const char *stroke, double stroke_width) {
    emit(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" stroke-linejoin=\"round\" points=\"", stroke,
         stroke_width);
    for (int i = 0; i < n; i++) emit(w, "%s%.2f,%.2f", i ? " " : "", svg_axes_x(a, x[i]), svg_axes_y(a, y[i]));
    emit(w, "\"/>\n");
}

void svg_legend_line(svg_writer *w, double x, double y, const char *stroke, const char *label) {
    svg_line(w, x, y - 4, x + 24, y - 4, stroke, 2.5);
    svg_text(w, x + 30, y, 12, "start", 0, "%s", label);
}
