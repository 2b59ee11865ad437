/* ops/conv_internal.h — the window geometry shared by convolution and pooling,
 * and the im2col / col2im ops conv2d is built from (internal).
 *
 * A window of kh x kw taps starts at (oh*sh - pad_top, ow*sw - pad_left) and
 * steps by the dilation; taps outside the image read as zero (im2col) or are
 * skipped (pooling). out_h x out_w windows are taken, which fixes the padding
 * after the image: none is stored. */
#ifndef TG_OPS_CONV_INTERNAL_H
#define TG_OPS_CONV_INTERNAL_H

#include "ops/op_internal.h"

typedef struct tgi_window_geometry {
    int64_t kh, kw;             /* taps of a window            */
    int64_t sh, sw;             /* stride                      */
    int64_t dh, dw;             /* dilation                    */
    int64_t pad_top, pad_left;  /* where window (0, 0) starts  */
    int64_t out_h, out_w;       /* windows along each axis     */
} tgi_window_geometry;

/* The geometry in an op's attrs: ints[0..5) hold (kh,kw), (sh,sw), (dh,dw),
 * (pad_top,pad_left), (out_h,out_w), two 32-bit halves each (the callers
 * refuse sizes past INT32_MAX). */
static inline int64_t tgi_pack_pair(int64_t hi, int64_t lo) { return (int64_t)(((uint64_t)hi << 32) | (uint32_t)lo); }
static inline int64_t tgi_pair_hi(int64_t v) { return (int64_t)(int32_t)((uint64_t)v >> 32); }
static inline int64_t tgi_pair_lo(int64_t v) { return (int64_t)(int32_t)(uint32_t)v; }

static inline void tgi_window_to_attrs(const tgi_window_geometry *g, tg_op_attrs *attrs) {
    attrs->ints[0] = tgi_pack_pair(g->kh, g->kw);
    attrs->ints[1] = tgi_pack_pair(g->sh, g->sw);
    attrs->ints[2] = tgi_pack_pair(g->dh, g->dw);
    attrs->ints[3] = tgi_pack_pair(g->pad_top, g->pad_left);
    attrs->ints[4] = tgi_pack_pair(g->out_h, g->out_w);
    attrs->n_ints = 5;
}

static inline tgi_window_geometry tgi_window_from_attrs(const tg_op_attrs *attrs) {
    tgi_window_geometry g = {
        tgi_pair_hi(attrs->ints[0]), tgi_pair_lo(attrs->ints[0]), tgi_pair_hi(attrs->ints[1]),
        tgi_pair_lo(attrs->ints[1]), tgi_pair_hi(attrs->ints[2]), tgi_pair_lo(attrs->ints[2]),
        tgi_pair_hi(attrs->ints[3]), tgi_pair_lo(attrs->ints[3]), tgi_pair_hi(attrs->ints[4]),
        tgi_pair_lo(attrs->ints[4]),
    };
    return g;
}

/* x (N, C, H, W) unrolled: row (c, u, v) (c*kh*kw + u*kw + v), column
 * (n, oh, ow) holds x[n, c, oh*sh - pad_top + u*dh, ow*sw - pad_left + v*dw]
 * (0 outside the image). The rows are split into `groups` (dividing C):
 * the result is (C*kh*kw, N*out_h*out_w), or (groups, C/groups*kh*kw,
 * N*out_h*out_w) for groups > 1 (the same data). d: col2im. */
tg_tensor *tgi_im2col(tg_tensor *x, const tgi_window_geometry *geometry, int64_t groups);

/* The adjoint of tgi_im2col: cols (any shape with C*kh*kw * N*out_h*out_w
 * elements, in im2col's order) summed back into an (N, C, H, W) image, each
 * column entry added where im2col read it. d: im2col. */
tg_tensor *tgi_col2im(tg_tensor *cols, const tgi_window_geometry *geometry, const int64_t image_shape[4]);

/* Pooling's gradients as ops (pool.c), for the tests: g (N, C, out_h,
 * out_w) added at the arg-max of x's window, an image of x's shape; and g
 * divided by each window's size spread over it (fixed windows of the
 * geometry, or adaptive ones), an image of image_shape. */
tg_tensor *tgi_max_pool2d_grad(tg_tensor *g, tg_tensor *x, const tgi_window_geometry *geometry);
tg_tensor *tgi_avg_pool2d_grad(tg_tensor *g, const tgi_window_geometry *geometry, bool adaptive,
                              const int64_t image_shape[4]);

#endif
