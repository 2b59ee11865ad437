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

#define TG_TAPE_DATA_CHUNK ((size_t)1 << 20)

tg_tape *tg_tape_new(void) {
    tg_tape *tape = calloc(1, sizeof *tape);
    if (!tape) {
        tg_error_report(TG_ERR_MEMORY, "tg_tape_new", "cannot allocate a tape");
        return NULL;
    }
    tgi_arena_init(&tape->arena, TG_TAPE_DATA_CHUNK, false);
    for (int i = 0; i <= TG_TAPE_MAX_STALE_WINDOW; i++) tgi_arena_init(&tape->lanes[i], TG_TAPE_STRUCT_CHUNK, true);
    tape->n_lanes = TG_TAPE_STALE_WINDOW + 1;
    tape->structs = &tape->lanes[0];
    atomic_init(&tape->current_on, 0);
    return tape;
}

static void tape_destroy(tg_tape *tape) {
    tgi_arena_release(&tape->arena);
    for (int i = 0; i < tape->n_lanes; i++) tgi_arena_release(&tape->lanes[i]);
    free(tape->nodes);
    free(tape);
}

static _Thread_local tg_tape *current_tape TG_FAST_TLS;

void tg_tape_free(tg_tape *tape) {
    if (!tape) return;
    if (tape->is_default) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_free",
                        "the tape is a thread's default tape, freed when its thread ends "
                        "(tg_tape_reset releases its tensors)");
        return;
    }
    int here = current_tape == tape;
    int elsewhere = atomic_load(&tape->current_on) - here;
    if (elsewhere > 0) {
        tg_error_report(TG_ERR_TAPE, "tg_tape_free",
                        "the tape is the current tape of %d other thread%s (tg_tape_use(NULL) there first)", elsewhere,
                        elsewhere == 1 ? "" : "s");
        return;
    }
    if (here) current_tape = NULL; /* back to this thread's default tape */
    tape_destroy(tape);
}

void tg_tape_reset(tg_tape *tape) {
    if (!tape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_reset", "tape is NULL");
        return;
    }
    size_t data_used = tgi_arena_bytes_in_use(&tape->arena), struct_used = tgi_arena_bytes_in_use(tape->structs);
    if (data_used + struct_used > tape->peak_bytes) tape->peak_bytes = data_used + struct_used;
    size_t data_expected = tgi_step_peaks_add(&tape->data_peaks, data_used);
    size_t struct_expected = tgi_step_peaks_add(&tape->struct_peaks, struct_used);
    tgi_arena_reset(&tape->arena, data_expected);
    /* The next lane holds the structs of n_lanes - 1 resets ago, the oldest. */
    tape->lane = (tape->lane + 1) % tape->n_lanes;
    tape->structs = &tape->lanes[tape->lane];
    tgi_arena_reset(tape->structs, struct_expected);
    /* Lanes not used yet get their memory now, so that the next steps ask
     * the system for nothing. A used lane is only touched when its turn
     * comes: it holds tensors of the window. */
    for (int i = 0; i < tape->n_lanes; i++)
        if (!tape->lanes[i].first && struct_expected > 0) tgi_arena_reset(&tape->lanes[i], struct_expected);
    tape->n_nodes = 0;
    tape->grads_set = false;
    tape->generation++; /* every tensor made before now is stale */
}

int tg_tape_set_stale_window(tg_tape *tape, int resets) {
    if (!tape) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_set_stale_window", "tape is NULL");
        return -1;
    }
    if (resets < 0 || resets > TG_TAPE_MAX_STALE_WINDOW) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_tape_set_stale_window", "resets %d is outside 0..%d", resets,
                        TG_TAPE_MAX_STALE_WINDOW);
        return -1;
    }
    /* The lanes from newest (this generation's) to oldest; a wider window
     * appends empty lanes (used by the next resets, before the oldest lane
     * comes round), a narrower one releases the oldest lanes. */
    int old_n = tape->n_lanes, new_n = resets + 1;
    tg_arena by_age[TG_TAPE_MAX_STALE_WINDOW + 1];
    for (int j = 0; j < old_n; j++) by_age[j] = tape->lanes[(tape->lane - j + old_n) % old_n];
    for (int j = new_n; j < old_n; j++) {
        tape->retired_allocs += by_age[j].system_allocs;
        tgi_arena_release(&by_age[j]);
    }
    for (int j = old_n; j < new_n; j++) tgi_arena_init(&by_age[j], TG_TAPE_STRUCT_CHUNK, true);
    /* Stored oldest first, so that the lane after the current one is the oldest. */
    for (int i = 0; i < new_n; i++) tape->lanes[i] = by_age[new_n - 1 - i];
    for (int i = new_n; i <= TG_TAPE_MAX_STALE_WINDOW; i++) tgi_arena_init(&tape->lanes[i], TG_TAPE_STRUCT_CHUNK, true);
    tape->n_lanes = new_n;
    tape->lane = new_n - 1;
    tape->structs = &tape->lanes[tape->lane];
    return old_n - 1;
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
    /* Bytes in use only grow between resets, so the peak is the largest use
     * at a reset or now. */
    stats.bytes_in_use = tgi_arena_bytes_in_use(&tape->arena) + tgi_arena_bytes_in_use(tape->structs);
    stats.peak_bytes = tape->peak_bytes > stats.bytes_in_use ? tape->peak_bytes : stats.bytes_in_use;
    stats.bytes_reserved = tape->arena.bytes_reserved;
    stats.system_allocs = tape->arena.system_allocs + tape->node_list_allocs + tape->retired_allocs;
    for (int i = 0; i < tape->n_lanes; i++) {
        stats.bytes_reserved += tape->lanes[i].bytes_reserved;
        stats.system_allocs += tape->lanes[i].system_allocs;
    }
    stats.nodes = tape->n_nodes;
    return stats;
}


tg_status tgi_tape_grow_node_list(tg_tape *tape) {
    size_t capacity = tape->node_capacity ? tape->node_capacity * 2 : 256;
    tg_node **grown = realloc(tape->nodes, capacity * sizeof *grown);
    if (!grown) return tg_error_report(TG_ERR_MEMORY, "tg_tape_append", "cannot grow the tape to %zu nodes", capacity);
    tape->nodes = grown;
    tape->node_capacity = capacity;
    tape->node_list_allocs++;
    return TG_OK;
}

tg_tensor *tgi_tape_new_tensor(tg_tape *tape, const char *function, tg_dtype dtype, int rank,
                              const int64_t *shape) {
    int64_t numel = tg_quick_numel(dtype, rank, shape);
    if (numel < 0 && tg_shape_validate(function, rank, shape, dtype, &numel) != TG_OK) return NULL;
    tg_tensor *t = tg_tape_new_tensor_counted(tape, dtype, rank, shape, numel);
    if (!t) tgi_tape_report_no_memory(function, rank, shape);
    return t;
}

void tgi_tape_report_no_memory(const char *function, int rank, const int64_t *shape) {
    char text[160];
    tg_error_report(TG_ERR_MEMORY, function, "cannot allocate a tensor of shape %s",
                    tg_shape_string(text, sizeof text, rank, shape));
}

/* ---- the current tape of each thread ----
 * A thread's default tape is made on first use and freed when the thread
 * exits (the key's destructor), or at process exit for the main thread. */

static pthread_key_t default_tape_key;
static pthread_once_t default_tape_once = PTHREAD_ONCE_INIT;
static _Thread_local tg_tape *default_tape;

/* A thread ends: the tape it had made current is no longer current there,
 * and its default tape goes with it. */
static void end_thread(void *tape) {
    if (current_tape) atomic_fetch_sub(&current_tape->current_on, 1);
    current_tape = NULL;
    default_tape = NULL;
    tape_destroy(tape);
}
/* exit() runs no thread destructor for the thread that calls it (usually
 * the main thread): its default tape is freed here. */
static void end_process(void) {
    if (default_tape) tape_destroy(default_tape);
    default_tape = NULL;
}
static void make_key(void) {
    pthread_key_create(&default_tape_key, end_thread);
    atexit(end_process);
}

static tg_tape *thread_default_tape(void) {
    if (!default_tape) {
        pthread_once(&default_tape_once, make_key);
        default_tape = tg_tape_new();
        if (!default_tape) return NULL;
        default_tape->is_default = true;
        pthread_setspecific(default_tape_key, default_tape);
    }
    return default_tape;
}

tg_tape *tg_tape_current(void) { return current_tape ? current_tape : thread_default_tape(); }

tg_tape *tg_tape_use(tg_tape *tape) {
    tg_tape *previous = tg_tape_current();
    if (tape) atomic_fetch_add(&tape->current_on, 1);
    if (current_tape) atomic_fetch_sub(&current_tape->current_on, 1);
    current_tape = tape;
    return previous;
}

/* ---- grad mode (per thread) ---- */

_Thread_local bool tgi_grad_disabled TG_FAST_TLS;

bool tg_set_grad_enabled(bool enabled) {
    bool previous = !tgi_grad_disabled;
    tgi_grad_disabled = !enabled;
    return previous;
}

bool tg_is_grad_enabled(void) { return !tgi_grad_disabled; }

tg_tensor *tg_detach(tg_tensor *t) {
    if (tg_tensor_check("tg_detach", "t", t) != TG_OK) return NULL;
    tg_tape *tape = t->tape ? t->tape : tg_tape_current();
    if (!tape) return NULL;
    tg_tensor *view = tg_arena_alloc_aligned(tape->structs, sizeof *view, 8);
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
