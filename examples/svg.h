/* examples/svg.h — a tiny SVG writer shared by the examples that draw figures.
 *
 * Not part of the library: a few primitives (rectangles, circles, lines,
 * polylines, text) written straight to a file, plus "axes" that map data
 * coordinates to pixels and draw a frame with round-numbered ticks, grid
 * lines and labels. Coordinates are pixels, y pointing down, unless a
 * function takes an svg_axes. Colors are any SVG color string ("#1f77b4",
 * "none", "white").
 *
 *     svg_writer w;
 *     if (!svg_begin(&w, "plot.svg", 640, 480)) ...;
 *     svg_axes a = {.left = 60, .top = 30, .width = 540, .height = 380,
 *                   .x_min = 0, .x_max = 10, .y_min = 0, .y_max = 1};
 *     svg_axes_draw(&w, &a, "title", "epoch", "loss");
 *     svg_axes_polyline(&w, &a, n, xs, ys, "#1f77b4", 2);
 *     if (!svg_end(&w)) ...;   // false if any write failed
 */
#ifndef EXAMPLES_SVG_H
#define EXAMPLES_SVG_H

#include <stdbool.h>
#include <stdio.h>

typedef struct svg_writer {
    FILE *file;
    double width, height;
    bool failed; /* a write failed; svg_end reports it */
} svg_writer;

/* Creates `path` and writes the SVG header for a width x height canvas with
 * a white background. Prints the reason and returns false if the file cannot
 * be created. */
bool svg_begin(svg_writer *w, const char *path, double width, double height);
/* Writes the closing tag and closes the file; false if anything failed. */
bool svg_end(svg_writer *w);

void svg_rect(svg_writer *w, double x, double y, double width, double height, const char *fill);
/* A circle; stroke may be "none". */
void svg_circle(svg_writer *w, double cx, double cy, double r, const char *fill, const char *stroke,
                double stroke_width);
void svg_line(svg_writer *w, double x1, double y1, double x2, double y2, const char *stroke, double stroke_width);
/* n points (x[i], y[i]) joined by straight lines. */
void svg_polyline(svg_writer *w, int n, const double *x, const double *y, const char *stroke, double stroke_width);
/* Text at (x, y) (the baseline); anchor is "start", "middle" or "end";
 * rotate (degrees, about (x, y)) is 0 for horizontal text. The text is a
 * printf format; &, < and > are escaped. */
void svg_text(svg_writer *w, double x, double y, double font_size, const char *anchor, double rotate,
              const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* Writes "#rrggbb" for t in [0, 1] (clamped) on ColorBrewer's "Spectral"
 * scale, matplotlib's cm.Spectral: dark red (0) - orange - pale yellow (0.5)
 * - green - violet blue (1). `lightness` in [0, 1] mixes the color with white
 * (0: full color), for pale backgrounds. */
void svg_color_spectral(double t, double lightness, char out[8]);

/* Groups what follows under the given attributes (e.g.
 * "shape-rendering=\"crispEdges\""), until svg_group_end. */
void svg_group_begin(svg_writer *w, const char *attributes);
void svg_group_end(svg_writer *w);

/* A rectangle of the canvas (pixels) showing data in [x_min, x_max] x
 * [y_min, y_max]. */
typedef struct svg_axes {
    double left, top, width, height;
    double x_min, x_max, y_min, y_max;
} svg_axes;

/* Data coordinates to canvas pixels. */
double svg_axes_x(const svg_axes *a, double x);
double svg_axes_y(const svg_axes *a, double y);
/* Draws the frame, about 5 round-numbered ticks per axis (1, 2 or 5 times a
 * power of ten) with light grid lines, a title above and the axis labels.
 * Any text may be NULL. */
void svg_axes_draw(svg_writer *w, const svg_axes *a, const char *title, const char *x_label, const char *y_label);
/* A polyline in data coordinates (not clipped: keep data in range). */
void svg_axes_polyline(svg_writer *w, const svg_axes *a, int n, const double *x, const double *y,
                       const char *stroke, double stroke_width);
/* A legend entry: a short line of `stroke` and its label, at canvas (x, y). */
void svg_legend_line(svg_writer *w, double x, double y, const char *stroke, const char *label);

#endif
