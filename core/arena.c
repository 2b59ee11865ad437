/* core/arena.c — chunked bump allocation for tapes (the slow path, reset
 * and its chunk policy; the common case is inline in arena.h). */
#include "core/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

void tgi_arena_init(tg_arena *arena, size_t min_chunk, bool doubling) {
    *arena = (tg_arena){0};
    arena->min_chunk = min_chunk;
    arena->doubling = doubling;
}

static tg_arena_chunk *chunk_new(tg_arena *arena, size_t at_least) {
    size_t least = arena->min_chunk;
    if (arena->doubling && arena->bytes_reserved > least) least = arena->bytes_reserved;
    size_t capacity = at_least > least ? round_up(at_least, TG_ARENA_ALIGN) : least;
    tg_arena_chunk *chunk = malloc(sizeof *chunk);
    if (!chunk) return NULL;
    chunk->memory = aligned_alloc(TG_ARENA_ALIGN, capacity);
    if (!chunk->memory) {
        free(chunk);
        return NULL;
    }
    TG_ARENA_POISON(chunk->memory, capacity);
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

void *tgi_arena_alloc_slow(tg_arena *arena, size_t size, size_t align) {
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
    chunk->used = start + size;
    TG_ARENA_UNPOISON(chunk->memory + start, size);
    return chunk->memory + start;
}

size_t tgi_arena_bytes_in_use(const tg_arena *arena) {
    size_t used = 0;
    for (const tg_arena_chunk *c = arena->first; c; c = c->next) used += c->used;
    return used;
}

static void free_chunks(tg_arena *arena) {
    tg_arena_chunk *c = arena->first;
    while (c) {
        tg_arena_chunk *next = c->next;
        TG_ARENA_UNPOISON(c->memory, c->capacity);
        free(c->memory);
        free(c);
        c = next;
    }
    arena->first = arena->current = NULL;
    arena->bytes_reserved = 0;
}

/* The size of the one chunk that replaces a misfitting set: the expected
 * need plus an eighth (room for steps a little larger than recent ones, and
 * for alignment where the walk crossed chunk boundaries). */
static size_t fitted_size(const tg_arena *arena, size_t expected) {
    size_t fitted = expected <= SIZE_MAX / 2 ? round_up(expected + expected / 8, TG_ARENA_ALIGN) : expected;
    return fitted > arena->min_chunk ? fitted : arena->min_chunk;
}

void tgi_arena_reset(tg_arena *arena, size_t expected) {
    for (tg_arena_chunk *c = arena->first; c; c = c->next) {
        TG_ARENA_POISON(c->memory, c->used);
        c->used = 0;
    }
    arena->current = arena->first;
    size_t fitted = fitted_size(arena, expected);
    bool too_small = arena->bytes_reserved < expected;
    bool too_large = fitted <= SIZE_MAX / TG_ARENA_SLACK && arena->bytes_reserved > TG_ARENA_SLACK * fitted;
    if (!too_small && !too_large) return;
    free_chunks(arena);
    arena->first = arena->current = chunk_new(arena, fitted);
}

void tgi_arena_release(tg_arena *arena) { free_chunks(arena); }

size_t tgi_step_peaks_add(tg_step_peaks *peaks, size_t used) {
    peaks->used[peaks->next] = used;
    peaks->next = (peaks->next + 1) % TG_ARENA_RECENT_STEPS;
    size_t largest = 0;
    for (int i = 0; i < TG_ARENA_RECENT_STEPS; i++)
        if (peaks->used[i] > largest) largest = peaks->used[i];
    return largest;
}
