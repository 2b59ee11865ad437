/* tapegrad/float_mode.h — the thread's floating-point mode (x86: the MXCSR
 * register; rounding, exception masks, flush-to-zero), read and set cheaply.
 *
 * Two users. The thread pool gives every job the caller's mode, so a kernel
 * split over workers computes exactly as it would on the calling thread (a
 * thread's mode is its own; a worker would otherwise keep whatever it
 * inherited when it was created). And the optimizers flush subnormal numbers
 * to zero for the span of an update (tg_optimizer_step):
 *
 * Why flush: the optimizers' running averages decay geometrically (Adam's
 * first moment by beta1 = 0.9 per step), so the state of a weight whose
 * gradient is rarely nonzero — an MNIST border pixel's — sinks into the
 * subnormal range within a few hundred steps. On x86 every multiply that
 * reads or produces a subnormal takes a microcode assist of ~100 cycles.
 * A subnormal moment moves a weight by less than 1e-30 (optim.h).
 *
 * Other CPUs keep their default mode and these are no-ops (aarch64 handles
 * subnormals in hardware at full speed). */
#ifndef TAPEGRAD_FLOAT_MODE_H
#define TAPEGRAD_FLOAT_MODE_H

typedef unsigned tg_float_mode;

#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE__))
#include <xmmintrin.h>

/* MXCSR bits: flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
enum { TG_MXCSR_FTZ_DAZ = 0x8040 };

static inline tg_float_mode tg_float_mode_get(void) { return _mm_getcsr(); }
static inline void tg_float_mode_set(tg_float_mode mode) { _mm_setcsr(mode); }

/* Sets FTZ and DAZ; returns the mode to restore with tg_float_mode_set. */
static inline tg_float_mode tg_float_mode_flush_subnormals(void) {
    tg_float_mode saved = _mm_getcsr();
    _mm_setcsr(saved | TG_MXCSR_FTZ_DAZ);
    return saved;
}
#else
static inline tg_float_mode tg_float_mode_get(void) { return 0; }
static inline void tg_float_mode_set(tg_float_mode mode) { (void)mode; }
static inline tg_float_mode tg_float_mode_flush_subnormals(void) { return 0; }
#endif

#endif
