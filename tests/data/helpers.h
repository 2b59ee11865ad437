/* tests/data/helpers.h — the shared test helpers (tests/test_helpers.h:
 * temporary directories and files, slurp, error checks, ...) plus what only
 * the data and checkpoint tests use. Everything is static: each test file
 * gets its copy. */
#ifndef TAPEGRAD_TESTS_DATA_HELPERS_H
#define TAPEGRAD_TESTS_DATA_HELPERS_H

#include <stdlib.h>

#include "tapegrad/data.h"
#include "tests/test_helpers.h"

/* True when `program` can be run from the shell. */
static inline int have_program(const char *probe_command)
{
    return system(probe_command) == 0;
}

#endif
