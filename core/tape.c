/* core/tape.c — tapes: creation, the per-thread current tape, reset, stats,
 * grad mode, detach. (Recording is core/op_apply.c; backward is
 * core/backward.c.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tape_internal.h"
#include "core/tensor_internal.h"

tg_tape *tg_tape_new(void) {
    tg_tape *tape = calloc(1, sizeof *tape);
    if (!tape) tg_error_report(TG_ERR_MEMORY, "tg_tape_new", "cannot allocate a tape");
    return tape;
}

void tg_tape_free(tg_tape *tape) {
    if (!tape) return;
    tg_arena_release(&tape->arena);
    free(tape->nodes);
    free(tape);
}

void tg_tape_reset(tg_tape *tape) {
    if (!tape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_reset", "tape is NULL");
        return;
    }
    tg_arena_reset(&tape->arena);
    tape->n_nodes = 0;
    tape->grads_set = false;
    tape->generation++; /* every tensor made before now is stale */
}

size_t tg_tape_num_nodes(const tg_tape *tape) {
    if (!tape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_num_nodes", "tape is NULL");
        return 0;
    }
    return tape->n_nodes;
}

tg_tape_stats tg_tape_get_stats(const tg_tape *tape) {
    tg_tape_stats stats = {0};
    if (!tape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_get_stats", "tape is NULL");
        return stats;
    }
    stats.bytes_in_use = tape->arena.bytes_in_use;
    stats.bytes_reserved = tape->arena.bytes_reserved;
    stats.peak_bytes = tape->arena.peak_bytes;
    stats.system_allocs = tape->arena.system_allocs + tape->node_list_allocs;
    stats.nodes = tape->n_nodes;
    return stats;
}


tg_status tg_tape_grow_node_list(tg_tape *tape) {
    size_t capacity = tape->node_capacity ? tape->node_capacity * 2 : 256;
    tg_node **grown = realloc(tape->nodes, capacity * sizeof *grown);
    if (!grown) return tg_error_report(TG_ERR_MEMORY, "tg_tape_append", "cannot grow the tape to %zu nodes", capacity);
    tape->nodes = grown;
    tape->node_capacity = capacity;
    tape->node_list_allocs++;
    return TG_OK;
}

tg_tensor *tg_tape_new_tensor(tg_tape *tape, const char *function, tg_dtype dtype, int rank,
                              const int64_t *shape) {
    int64_t numel = tg_quick_numel(dtype, rank, shape);
    if (numel < 0 && tg_shape_validate(function, rank, shape, dtype, &numel) != TG_OK) return NULL;
    tg_tensor *t = tg_tape_new_tensor_counted(tape, dtype, rank, shape, numel);
    if (!t) tg_tape_report_no_memory(function, rank, shape);
    return t;
}

void tg_tape_report_no_memory(const char *function, int rank, const int64_t *shape) {
    char text[160];
    tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a tensor of shape %s",
                    tg_shape_string(text, sizeof text, rank, shape));
}

/* ---- the current tape of each thread ----
 * A thread's default tape is made on first use and freed when the thread
 * exits (the key's destructor), or at process exit for the main thread. */

static pthread_key_t default_tape_key;
static pthread_once_t default_tape_once = PTHREAD_ONCE_INIT;
static _Thread_local tg_tape *current_tape TG_FAST_TLS;
static _Thread_local tg_tape *default_tape;
static tg_tape *main_default_tape;

static void free_thread_tape(void *tape) { tg_tape_free(tape); }
static void free_main_tape(void) { tg_tape_free(main_default_tape); }
static void make_key(void) {
    pthread_key_create(&default_tape_key, free_thread_tape);
    atexit(free_main_tape);
}

static tg_tape *thread_default_tape(void) {
    if (!default_tape) {
        pthread_once(&default_tape_once, make_key);
        default_tape = tg_tape_new();
        if (!default_tape) return NULL;
        /* The first thread to ask is taken as the main thread: exit() frees
         * its tape; every other thread's tape goes with the thread. */
        static atomic_int have_main;
        int expected = 0;
        if (atomic_compare_exchange_strong(&have_main, &expected, 1))
            main_default_tape = default_tape;
        else
            pthread_setspecific(default_tape_key, default_tape);
    }
    return default_tape;
}

tg_tape *tg_tape_current(void) { return current_tape ? current_tape : thread_default_tape(); }

tg_tape *tg_tape_use(tg_tape *tape) {
    tg_tape *previous = tg_tape_current();
    current_tape = tape;
    return previous;
}

/* ---- grad mode (per thread) ---- */

_Thread_local bool tg_grad_disabled TG_FAST_TLS;

bool tg_set_grad_enabled(bool enabled) {
    bool previous = !tg_grad_disabled;
    tg_grad_disabled = !enabled;
    return previous;
}

bool tg_is_grad_enabled(void) { return !tg_grad_disabled; }

tg_tensor *tg_detach(tg_tensor *t) {
    if (tg_tensor_check("tg_detach", "t", t) != TG_OK) return NULL;
    tg_tape *tape = t->tape ? t->tape : tg_tape_current();
    if (!tape) return NULL;
    tg_tensor *view = tg_arena_alloc(&tape->arena, sizeof *view);
    if (!view) {
        tg_error_report(TG_ERR_MEMORY, "tg_detach", "cannot allocate a tensor");
        return NULL;
    }
    *view = *t;
    view->grad = NULL;
    view->grad_spare = NULL;
    view->node = NULL;
    view->requires_grad = false;
    view->owns_data = false;
    view->tape = tape;
    view->generation = tape->generation;
    view->view_base = tg_version_holder(t); /* one data, one version counter */
    return view;
}
