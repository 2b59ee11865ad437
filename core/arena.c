/* core/arena.c — chunked bump allocation for tapes. */
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

void *tg_arena_alloc(tg_arena *arena, size_t size) {
    if (size > SIZE_MAX - TG_ARENA_ALIGN) return NULL;
    size_t need = round_up(size ? size : 1, TG_ARENA_ALIGN);
    if (!arena->current) {
        if (!arena->first && !(arena->first = chunk_new(arena, need))) return NULL;
        arena->current = arena->first;
    }
    tg_arena_chunk *chunk = arena->current;
    while (chunk->capacity - chunk->used < need) {
        /* Move on to the next kept chunk if it fits; otherwise insert a new
         * one here. Steps that repeat the same requests repeat this walk. */
        if (chunk->next && chunk->next->used == 0 && chunk->next->capacity >= need) {
            chunk = chunk->next;
            break;
        }
        tg_arena_chunk *fresh = chunk_new(arena, need);
        if (!fresh) return NULL;
        fresh->next = chunk->next;
        chunk->next = fresh;
        chunk = fresh;
        break;
    }
    arena->current = chunk;
    void *result = chunk->memory + chunk->used;
    chunk->used += need;
    arena->bytes_in_use += need;
    if (arena->bytes_in_use > arena->peak_bytes) arena->peak_bytes = arena->bytes_in_use;
    return result;
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
