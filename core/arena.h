/* core/arena.h — the bump allocator behind every tape (internal).
 *
 * Memory comes in chunks that are kept across resets: after the first
 * training step, the same sequence of requests walks the same chunks, so a
 * step asks the system for nothing.
 *
 * Requests choose their alignment: tensor data wants a cache line (SIMD
 * loads), but a node or the struct of a scalar tensor only needs 8 bytes, and
 * packing them densely is what keeps a graph of a million scalar ops small
 * enough to stay in cache. The common case (the current chunk has room) is
 * inline; tg_arena_alloc_slow moves on to the next chunk or asks the system. */
#ifndef TG_CORE_ARENA_H
#define TG_CORE_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_arena_chunk {
    struct tg_arena_chunk *next;
    size_t capacity;
    size_t used;
    unsigned char *memory; /* TG_ARENA_ALIGN-aligned */
} tg_arena_chunk;

typedef struct tg_arena {
    tg_arena_chunk *first;
    tg_arena_chunk *current;
    size_t bytes_in_use; /* handed out since the last reset, alignment padding included */
    size_t bytes_reserved;
    size_t peak_bytes;
    size_t system_allocs;
} tg_arena;

#define TG_ARENA_ALIGN 64 /* a cache line; also what AVX-512 loads want */

/* The out-of-line part of tg_arena_alloc_aligned: the current chunk is full
 * (or there is none yet). */
void *tg_arena_alloc_slow(tg_arena *arena, size_t size, size_t align);

/* `size` bytes aligned to `align` (a power of two <= TG_ARENA_ALIGN), or NULL
 * if the system refuses. */
static inline void *tg_arena_alloc_aligned(tg_arena *arena, size_t size, size_t align) {
    tg_arena_chunk *chunk = arena->current;
    if (chunk) {
        size_t start = (chunk->used + align - 1) & ~(align - 1);
        if (start <= chunk->capacity && size <= chunk->capacity - start) {
            arena->bytes_in_use += start + size - chunk->used;
            if (arena->bytes_in_use > arena->peak_bytes) arena->peak_bytes = arena->bytes_in_use;
            chunk->used = start + size;
            return chunk->memory + start;
        }
    }
    return tg_arena_alloc_slow(arena, size, align);
}

/* `size` bytes aligned to TG_ARENA_ALIGN, or NULL if the system refuses. */
static inline void *tg_arena_alloc(tg_arena *arena, size_t size) {
    return tg_arena_alloc_aligned(arena, size, TG_ARENA_ALIGN);
}

/* Forgets every allocation; keeps the chunks. */
void tg_arena_reset(tg_arena *arena);
/* Returns every chunk to the system. */
void tg_arena_release(tg_arena *arena);

#endif
