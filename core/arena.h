/* core/arena.h — the bump allocator behind every tape (internal).
 *
 * Memory comes in chunks that are kept across resets: after the first
 * training step, the same sequence of requests walks the same chunks, so a
 * step asks the system for nothing.
 *
 * Chunk policy (tgi_arena_reset): the owner passes the bytes a step is
 * expected to need (the tape passes the largest use of the last
 * TG_ARENA_RECENT_STEPS steps, tg_step_peaks). The chunks are replaced by one
 * chunk fitted to that need (need + 1/8, at least min_chunk) when they hold
 * less than the need, or more than TG_ARENA_SLACK times the fitted size.
 * Otherwise they are kept as they are. So steps of constant shape keep the
 * chunks the first step made (a walk in one step wastes less than one
 * request per chunk, which keeps it under the slack factor), and steps whose
 * sizes vary cannot pile up chunks: after a reset, an arena holds at most
 * TG_ARENA_SLACK x max(min_chunk, 9/8 x need). During a step the walk may
 * add chunks; they are merged at the next reset.
 *
 * Requests choose their alignment: tensor data wants a cache line (SIMD
 * loads), but a node or the struct of a scalar tensor only needs 8 bytes, and
 * packing them densely is what keeps a graph of a million scalar ops small
 * enough to stay in cache. The common case (the current chunk has room) is
 * inline; tgi_arena_alloc_slow moves on to the next chunk or asks the system.
 *
 * Under AddressSanitizer, memory the arena has not handed out since the last
 * reset is poisoned, so a raw read of a released tensor's data is reported. */
#ifndef TG_CORE_ARENA_H
#define TG_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define TG_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG_ARENA_ASAN 1
#endif
#endif
#ifdef TG_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define TG_ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TG_ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TG_ARENA_POISON(p, n) ((void)(p), (void)(n))
#define TG_ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct tg_arena_chunk {
    struct tg_arena_chunk *next;
    size_t capacity;
    size_t used; /* handed out since the last reset, alignment padding included */
    unsigned char *memory; /* TG_ARENA_ALIGN-aligned */
} tg_arena_chunk;

typedef struct tg_arena {
    tg_arena_chunk *first;
    tg_arena_chunk *current;
    size_t bytes_reserved;
    size_t system_allocs; /* counted since the arena was made, released chunks included */
    size_t min_chunk;     /* the smallest chunk asked of the system */
    bool doubling;        /* a new chunk is at least as large as all the others
                             together (for small requests only: see tgi_arena_init) */
} tg_arena;

#define TG_ARENA_ALIGN 64 /* a cache line; also what AVX-512 loads want */
#define TG_ARENA_SLACK 3  /* chunks holding more than this x the fitted size are merged */
#define TG_ARENA_RECENT_STEPS 16

/* An empty arena whose chunks will be at least `min_chunk` bytes. With
 * `doubling`, a chunk added while the arena grows is at least as large as
 * the ones before together, so a large step makes few chunks; only for
 * requests much smaller than min_chunk (then the walk wastes little, and
 * chunks made by one step stay within the slack factor). */
void tgi_arena_init(tg_arena *arena, size_t min_chunk, bool doubling);

/* The out-of-line part of tg_arena_alloc_aligned: the current chunk is full
 * (or there is none yet). */
void *tgi_arena_alloc_slow(tg_arena *arena, size_t size, size_t align);

/* `size` bytes aligned to `align` (a power of two <= TG_ARENA_ALIGN), or NULL
 * if the system refuses. */
static inline void *tg_arena_alloc_aligned(tg_arena *arena, size_t size, size_t align) {
    tg_arena_chunk *chunk = arena->current;
    if (chunk) {
        size_t start = (chunk->used + align - 1) & ~(align - 1);
        if (start <= chunk->capacity && size <= chunk->capacity - start) {
            chunk->used = start + size;
            TG_ARENA_UNPOISON(chunk->memory + start, size);
            return chunk->memory + start;
        }
    }
    return tgi_arena_alloc_slow(arena, size, align);
}

/* `size` bytes aligned to TG_ARENA_ALIGN, or NULL if the system refuses. */
static inline void *tg_arena_alloc(tg_arena *arena, size_t size) {
    return tg_arena_alloc_aligned(arena, size, TG_ARENA_ALIGN);
}

/* Bytes handed out since the last reset, alignment padding included. */
size_t tgi_arena_bytes_in_use(const tg_arena *arena);

/* Forgets every allocation and fits the chunks to `expected` bytes per step
 * (the policy above). May free and allocate chunks; if the system refuses,
 * the arena is left empty and grows again on demand. */
void tgi_arena_reset(tg_arena *arena, size_t expected);
/* Returns every chunk to the system. */
void tgi_arena_release(tg_arena *arena);

/* The bytes used by each of the last TG_ARENA_RECENT_STEPS steps. */
typedef struct tg_step_peaks {
    size_t used[TG_ARENA_RECENT_STEPS];
    unsigned next;
} tg_step_peaks;

/* Records one step's use; returns the largest of the recent steps. */
size_t tgi_step_peaks_add(tg_step_peaks *peaks, size_t used);

#endif
