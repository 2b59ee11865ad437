/* core/arena.h — the bump allocator behind every tape (internal).
 *
 * Memory comes in chunks that are kept across resets: after the first
 * training step, the same sequence of requests walks the same chunks, so a
 * step asks the system for nothing. */
#ifndef TG_CORE_ARENA_H
#define TG_CORE_ARENA_H

#include <stddef.h>

typedef struct tg_arena_chunk {
    struct tg_arena_chunk *next;
    size_t capacity;
    size_t used;
    unsigned char *memory;
} tg_arena_chunk;

typedef struct tg_arena {
    tg_arena_chunk *first;
    tg_arena_chunk *current;
    size_t bytes_in_use;
    size_t bytes_reserved;
    size_t peak_bytes;
    size_t system_allocs;
} tg_arena;

#define TG_ARENA_ALIGN 64 /* a cache line; also what AVX-512 loads want */

/* `size` bytes aligned to TG_ARENA_ALIGN, or NULL if the system refuses. */
void *tg_arena_alloc(tg_arena *arena, size_t size);
/* Forgets every allocation; keeps the chunks. */
void tg_arena_reset(tg_arena *arena);
/* Returns every chunk to the system. */
void tg_arena_release(tg_arena *arena);

#endif
