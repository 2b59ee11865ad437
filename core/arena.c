/* core/arena.c — chunked bump allocation for tapes (the slow path; the
 * common case is inline in arena.h). */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define TG_ARENA_MIN_CHUNK ((size_t)1 << 20)

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static tg_arena_chunk *chunk_new(tg_arena *arena, size_t at_least) {
    size_t capacity = at_least > TG_ARENA_MIN_CHUNK ? round_up(at_least, TG_ARENA_ALIGN) : TG_ARENA_MIN_CHUNK;
    tg_arena_chunk *chunk = malloc(sizeof *chunk);
    if (!chunk) return NULL;
    chunk->memory = aligned_alloc(TG_ARENA_ALIGN, capacity);
    if (!chunk->memory) {
        free(chunk);
        return NULL;
    }
    chunk->capacity = capacity;
    chunk->used = 0;
    chunk->next = NULL;
    arena->bytes_reserved += capacity;
    arena->system_allocs += 2;
    return chunk;
}

/* True when `size` bytes aligned to `align` fit in what is left of `chunk`. */
static int fits(const tg_arena_chunk *chunk, size_t size, size_t align) {
    size_t start = (chunk->used + align - 1) & ~(align - 1);
    return start <= chunk->capacity && size <= chunk->capacity - start;
}

void *tg_arena_alloc_slow(tg_arena *arena, size_t size, size_t align) {
    if (size > SIZE_MAX / 2) return NULL;
    if (!arena->current) {
        if (!arena->first && !(arena->first = chunk_new(arena, size))) return NULL;
        arena->current = arena->first;
    }
    tg_arena_chunk *chunk = arena->current;
    if (!fits(chunk, size, align)) {
        /* Move on to the next kept chunk if it fits; otherwise insert a new
         * one here. Steps that repeat the same requests repeat this walk.
         * A fresh chunk starts aligned, so `size` bytes always fit in it. */
        if (chunk->next && chunk->next->used == 0 && chunk->next->capacity >= size) {
            chunk = chunk->next;
        } else {
            tg_arena_chunk *fresh = chunk_new(arena, size);
            if (!fresh) return NULL;
            fresh->next = chunk->next;
            chunk->next = fresh;
            chunk = fresh;
        }
        arena->current = chunk;
    }
    size_t start = (chunk->used + align - 1) & ~(align - 1);
    arena->bytes_in_use += start + size - chunk->used;
    if (arena->bytes_in_use > arena->peak_bytes) arena->peak_bytes = arena->bytes_in_use;
    chunk->used = start + size;
    return chunk->memory + start;
}

void tg_arena_reset(tg_arena *arena) {
    for (tg_arena_chunk *c = arena->first; c; c = c->next) c->used = 0;
    arena->current = arena->first;
    arena->bytes_in_use = 0;
}

void tg_arena_release(tg_arena *arena) {
    tg_arena_chunk *c = arena->first;
    while (c) {
        tg_arena_chunk *next = c->next;
        free(c->memory);
        free(c);
        c = next;
    }
    arena->first = arena->current = NULL;
    arena->bytes_in_use = arena->bytes_reserved = 0;
}
