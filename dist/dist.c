/* dist/dist.c — data-parallel training over MPI: start and end, rank 0's
 * model everywhere, gradient averaging in buckets started from backward's
 * gradient-ready hook, scalar averaging, rank-0 printing and saving
 * (tapegrad/dist.h). Uses the public API only, plus MPI. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "dist/dist_internal.h"
#include "tapegrad/dist.h"
#include "tapegrad/tape.h"

/* ---- state ---- */

typedef enum dist_state { DIST_NEVER, DIST_RUNNING, DIST_FINALIZED } dist_state;
static dist_state state = DIST_NEVER;
static bool started_mpi; /* tg_dist_init called MPI_Init (so finalize ends it) */
static MPI_Comm comm = MPI_COMM_NULL;
static int my_rank, world_size = 1;

/* TG_OK when the library is running; else reports `function` called too early or late. */
static tg_status require_running(const char *function) {
    if (state == DIST_RUNNING) return TG_OK;
    return tg_error_report(TG_ERR_ARGUMENT, function, "called %s",
                           state == DIST_NEVER ? "before tg_dist_init" : "after tg_dist_finalize");
}

/* Reports a failed MPI call with MPI's message. */
static tg_status mpi_failed(const char *function, const char *call, int code) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int length = 0;
    MPI_Error_string(code, text, &length);
    return tg_error_report(TG_ERR_IO, function, "%s failed on rank %d: %s", call, my_rank, text);
}

MPI_Comm tgi_dist_comm(void) { return comm; }
int tgi_dist_rank(void) { return my_rank; }
int tgi_dist_world_size(void) { return world_size; }
tg_status tgi_dist_require_running(const char *function) { return require_running(function); }
tg_status tgi_dist_mpi_failed(const char *function, const char *call, int code) {
    return mpi_failed(function, call, code);
}

#define MPI_CHECK(function, call)                                                                                  \
    do {                                                                                                           \
        int mpi_code_ = (call);                                                                                    \
        if (mpi_code_ != MPI_SUCCESS) return mpi_failed(function, #call, mpi_code_);                               \
    } while (0)

/* ---- start, end, rank ---- */

tg_status tg_dist_init(int *argc, char ***argv) {
    if (state != DIST_NEVER)
        return tg_error_report(TG_ERR_ARGUMENT, "tg_dist_init",
                               state == DIST_RUNNING ? "called twice" : "called after tg_dist_finalize");
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        int code = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (code != MPI_SUCCESS) return mpi_failed("tg_dist_init", "MPI_Init_thread", code);
        started_mpi = true;
    }
    /* Errors come back as codes (reported through tg_error_report), not as
     * MPI's default abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_CHECK("tg_dist_init", MPI_Comm_dup(MPI_COMM_WORLD, &comm));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &my_rank);
    MPI_Comm_size(comm, &world_size);
    state = DIST_RUNNING;
    return TG_OK;
}

tg_status tg_dist_finalize(void) {
    tg_status s = require_running("tg_dist_finalize");
    if (s != TG_OK) return s;
    MPI_Comm_free(&comm);
    state = DIST_FINALIZED;
    if (started_mpi) MPI_Finalize();
    return TG_OK;
}

int tg_dist_rank(void) { return require_running("tg_dist_rank") == TG_OK ? my_rank : -1; }

int tg_dist_world_size(void) { return require_running("tg_dist_world_size") == TG_OK ? world_size : -1; }

tg_status tg_dist_barrier(void) {
    tg_status s = require_running("tg_dist_barrier");
    if (s != TG_OK) return s;
    MPI_CHECK("tg_dist_barrier", MPI_Barrier(comm));
    return TG_OK;
}

static MPI_Datatype mpi_type(tg_dtype dtype) { return dtype == TG_F32 ? MPI_FLOAT : MPI_DOUBLE; }

/* ---- rank 0's model everywhere ---- */

/* One line per parameter, "name dtype (shape)\n", into a malloc'ed string. */
static char *describe_model(tg_model *model) {
    int n = tg_model_num_params(model);
    size_t size = 1, used = 0;
    char *text = malloc(size);
    if (!text) return NULL;
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        char name[128] = "", shape[160] = "", line[400];
        tg_tensor *p = tg_model_param(model, i, name, sizeof name);
        if (!p) {
            free(text);
            return NULL;
        }
        tg_shape_string(shape, sizeof shape, p->rank, p->shape);
        int length = snprintf(line, sizeof line, "%s %s %s\n", name, tg_dtype_name(p->dtype), shape);
        char *grown = realloc(text, size + (size_t)length);
        if (!grown) {
            free(text);
            return NULL;
        }
        text = grown;
        memcpy(text + used, line, (size_t)length + 1);
        used += (size_t)length;
        size += (size_t)length;
    }
    return text;
}

/* Line `index` (from 0) of `text` into `out`, or "(none)" past its end. */
static void nth_line(const char *text, int index, char *out, size_t size) {
    for (int i = 0; i < index && text; i++) {
        text = strchr(text, '\n');
        if (text) text++;
    }
    if (!text || !*text) {
        snprintf(out, size, "(none)");
        return;
    }
    size_t length = strcspn(text, "\n");
    snprintf(out, size, "%.*s", (int)length, text);
}

/* The first line where `a` and `b` differ. */
static int first_different_line(const char *a, const char *b) {
    int line = 0;
    for (size_t i = 0; a[i] == b[i]; i++)
        if (a[i] == '\n') line++;
    return line;
}

/* Every rank's description, compared with rank 0's; the same verdict on all ranks. */
static tg_status check_same_models(const char *function, const char *mine) {
    int length = (int)strlen(mine) + 1;
    int *lengths = malloc((size_t)world_size * sizeof(int)), *offsets = malloc((size_t)world_size * sizeof(int));
    char *all = NULL;
    tg_status s = TG_OK;
    if (!lengths || !offsets) {
        s = tg_error_report(TG_ERR_MEMORY, function, "no memory for %d ranks' descriptions", world_size);
        goto done;
    }
    int code = MPI_Allgather(&length, 1, MPI_INT, lengths, 1, MPI_INT, comm);
    if (code != MPI_SUCCESS) {
        s = mpi_failed(function, "MPI_Allgather", code);
        goto done;
    }
    int total = 0;
    for (int r = 0; r < world_size; r++) {
        offsets[r] = total;
        total += lengths[r];
    }
    if (!(all = malloc((size_t)total))) {
        s = tg_error_report(TG_ERR_MEMORY, function, "no memory for %d bytes of descriptions", total);
        goto done;
    }
    code = MPI_Allgatherv(mine, length, MPI_CHAR, all, lengths, offsets, MPI_CHAR, comm);
    if (code != MPI_SUCCESS) {
        s = mpi_failed(function, "MPI_Allgatherv", code);
        goto done;
    }
    for (int r = 1; r < world_size; r++) {
        const char *theirs = all + offsets[r];
        if (strcmp(theirs, all) == 0) continue;
        int line = first_different_line(theirs, all);
        char on_r[400], on_0[400];
        nth_line(theirs, line, on_r, sizeof on_r);
        nth_line(all, line, on_0, sizeof on_0);
        s = tg_error_report(TG_ERR_SHAPE, function,
                            "the ranks' models differ: parameter %d is '%s' on rank %d but '%s' on rank 0 "
                            "(every rank must build the same architecture)",
                            line, on_r, r, on_0);
        break;
    }
done:
    free(all);
    free(lengths);
    free(offsets);
    return s;
}

tg_status tg_dist_broadcast_model(tg_model *model) {
    const char *function = "tg_dist_broadcast_model";
    tg_status s = require_running(function);
    if (s != TG_OK) return s;
    if (!model) return tg_error_report(TG_ERR_ARGUMENT, function, "model is NULL");
    char *mine = describe_model(model);
    if (!mine) return tg_error_report(TG_ERR_MEMORY, function, "no memory to describe the model");
    s = check_same_models(function, mine);
    free(mine);
    if (s != TG_OK) return s;
    for (int i = 0; i < tg_model_num_params(model); i++) {
        tg_tensor *p = tg_model_param(model, i, NULL, 0);
        MPI_CHECK(function, MPI_Bcast(p->data, (int)p->numel, mpi_type(p->dtype), 0, comm));
        tg_tensor_changed(p);
    }
    return TG_OK;
}

/* ---- scalars, printing, saving ---- */

double tg_dist_average(double value) {
    if (require_running("tg_dist_average") != TG_OK) return NAN;
    double sum = 0.0;
    int code = MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, comm);
    if (code != MPI_SUCCESS) {
        mpi_failed("tg_dist_average", "MPI_Allreduce", code);
        return NAN;
    }
    return sum / world_size;
}

int tg_dist_printf(const char *format, ...) {
    if (require_running("tg_dist_printf") != TG_OK) return -1;
    if (!format) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_dist_printf", "format is NULL");
        return -1;
    }
    if (my_rank != 0) return 0;
    va_list args;
    va_start(args, format);
    int written = vprintf(format, args);
    va_end(args);
    fflush(stdout);
    return written;
}

/* Rank 0 runs save(); its status and message reach every rank (the
 * broadcast is also the barrier: the others wait for rank 0's result). */
static tg_status save_on_rank0(const char *function, tg_status (*save)(const void *, const char *),
                               const void *object, const char *path) {
    tg_status s = require_running(function);
    if (s != TG_OK) return s;
    if (!object || !path) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", path ? "object" : "path");
    struct {
        int status;
        char message[480];
    } result = {0, ""};
    if (my_rank == 0) {
        result.status = (int)save(object, path);
        if (result.status != TG_OK) snprintf(result.message, sizeof result.message, "%s", tg_last_error_message());
    }
    MPI_CHECK(function, MPI_Bcast(&result, (int)sizeof result, MPI_BYTE, 0, comm));
    if (result.status == TG_OK) return TG_OK;
    if (my_rank == 0) return (tg_status)result.status; /* already reported by the save */
    return tg_error_report((tg_status)result.status, function, "rank 0 could not save '%s': %s", path,
                           result.message);
}

static tg_status save_model(const void *model, const char *path) { return tg_model_save(model, path); }
static tg_status save_optimizer(const void *opt, const char *path) { return tg_optimizer_save(opt, path); }

tg_status tg_dist_save_model(const tg_model *model, const char *path) {
    return save_on_rank0("tg_dist_save_model", save_model, model, path);
}

tg_status tg_dist_save_optimizer(const tg_optimizer *opt, const char *path) {
    return save_on_rank0("tg_dist_save_optimizer", save_optimizer, opt, path);
}
