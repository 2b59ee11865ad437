/* core/fast_tls.h — TG_FAST_TLS, for the thread-locals read on every op
 * (internal; not installed). */
#ifndef TG_CORE_FAST_TLS_H
#define TG_CORE_FAST_TLS_H

/* For thread-locals read by every op (the current tape, grad mode, anomaly
 * mode): the initial-exec model makes them plain %fs-relative loads instead
 * of calls to __tls_get_addr from the shared library. */
#if defined(__GNUC__) || defined(__clang__)
#define TG_FAST_TLS __attribute__((tls_model("initial-exec")))
#else
#define TG_FAST_TLS
#endif

#endif
