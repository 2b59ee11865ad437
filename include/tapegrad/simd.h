/* tapegrad/simd.h — loops the compiler vectorizes, for contiguous kernels:
 * the library's ops and optimizer updates, and a user op's forward kernel.
 * Macros only (no functions): TG_FOR_SIMD and TG_HOT_CLONES. */
#ifndef TAPEGRAD_SIMD_H
#define TAPEGRAD_SIMD_H

#include <stdint.h>

/* for (i = begin; i < end; i++) BODY, as blocks of TG_SIMD_BLOCK iterations
 * and a tail. gcc -O2 (its "very cheap" vectorizer cost model) vectorizes
 * only loops whose trip count it knows, so the fixed-length blocks vectorize
 * where the plain loop would not; at -O3 and with clang both forms do. BODY
 * must index with `i` only, and the kernel's pointers should be `restrict`
 * (an op's output never overlaps its inputs). Check a kernel with
 * -fopt-info-vec-optimized. BODY is expanded twice (blocks, then the tail):
 * it must not `break` (that would leave only the current block and go on
 * with the next) nor define a label; `continue` skips to the next i, as in
 * a plain loop. */
#define TG_SIMD_BLOCK 8
#define TG_FOR_SIMD(i, begin, end, BODY)                                                  \
    do {                                                                                  \
        int64_t tg_base_ = (begin), tg_end_ = (end);                                      \
        for (; tg_base_ + TG_SIMD_BLOCK <= tg_end_; tg_base_ += TG_SIMD_BLOCK)             \
            for (int tg_k_ = 0; tg_k_ < TG_SIMD_BLOCK; tg_k_++) {                          \
                int64_t i = tg_base_ + tg_k_;                                             \
                BODY;                                                                     \
            }                                                                             \
        /* The tail (< 8) as a loop with two exits, which gcc leaves scalar: \
         * vectorized, it would be a ladder of 8-, 4- and 2-wide steps that a \
         * one-element op runs through. */                                               \
        for (int tg_k_ = 0; tg_k_ < TG_SIMD_BLOCK && tg_base_ + tg_k_ < tg_end_; tg_k_++) { \
            int64_t i = tg_base_ + tg_k_;                                                 \
            BODY;                                                                         \
        }                                                                                 \
    } while (0)

/* TG_HOT_CLONES before a hot loop's function: also compiled for AVX2 (the
 * x86-64-v3 level), the version used picked once when the library loads
 * (a GNU ifunc), as the GEMM picks its kernel at run time. The library's
 * baseline is x86-64 (SSE2, 4 floats a vector); AVX2 doubles that: Adam's
 * update went from 181 to 150 us per MNIST step. The arithmetic is the same
 * in both (meson.build sets -ffp-contract=off, so no FMA contraction), so
 * results do not depend on which version runs.
 * Such a function needs a name no other file uses for one: clang gives its
 * resolver a global symbol even when the function is static.
 * Not under ThreadSanitizer: the resolvers run while the library is being
 * relocated, before TSan's runtime is set up, and the program crashed before
 * main. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TG_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TG_UNDER_TSAN 1
#endif
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && !defined(TG_UNDER_TSAN)
#define TG_HOT_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TG_HOT_CLONES
#endif

#endif
