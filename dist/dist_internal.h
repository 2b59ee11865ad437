/* dist/dist_internal.h — what the dist layer's files share: the library's
 * communicator and the checks and reports of dist.c. */
#ifndef TAPEGRAD_DIST_INTERNAL_H
#define TAPEGRAD_DIST_INTERNAL_H

#include <mpi.h>

#include "tapegrad/error.h"

/* The library's own communicator (a duplicate of MPI_COMM_WORLD that returns
 * error codes), this rank and the world size; valid while running. */
MPI_Comm tgi_dist_comm(void);
int tgi_dist_rank(void);
int tgi_dist_world_size(void);
/* TG_OK while running; otherwise reports `function` called before init or after finalize. */
tg_status tgi_dist_require_running(const char *function);
/* Reports a failed MPI call (TG_ERR_IO) with MPI's message and this rank. */
tg_status tgi_dist_mpi_failed(const char *function, const char *call, int code);

#endif
