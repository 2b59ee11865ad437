/* tests/main.c — the test runner's main: Criterion's own, after a check of
 * the prerequisite named by $TG_TESTS_NEED, if any.
 *
 * Tests that need something outside the repository (the MNIST files,
 * PyTorch) are registered in tests/meson.build as meson tests of their own,
 * running this runner with TG_TESTS_NEED set and a filter selecting them.
 * When the prerequisite is missing the runner says why and exits with 77,
 * which meson counts as SKIP, so a missing prerequisite shows in meson's
 * summary instead of hiding inside a passing run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

/* meson's exit code for a skipped test. */
#define EXIT_SKIPPED 77

#define PYTHON "/usr/bin/python3"

/* Whether the MNIST files are found where the tests look (tg_mnist_find_dir);
 * if not, the reason goes into `reason`. */
static bool have_mnist(char *reason, size_t size)
{
    char dir[1024];
    tg_error_mode previous = tg_set_error_mode(TG_ERRORS_RETURN);
    bool found = tg_mnist_find_dir(dir, sizeof dir) == TG_OK;
    if (!found) snprintf(reason, size, "MNIST files not found: %s", tg_last_error_message());
    tg_clear_error();
    tg_set_error_mode(previous);
    return found;
}

/* Whether PyTorch and numpy can be imported by the system Python. */
static bool have_torch(char *reason, size_t size)
{
    if (access(PYTHON, X_OK) != 0) {
        snprintf(reason, size, "%s is not installed", PYTHON);
        return false;
    }
    if (system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        snprintf(reason, size, "PyTorch is not importable by %s (apt-get install python3-torch)", PYTHON);
        return false;
    }
    return true;
}

/* True when the prerequisite `need` ("mnist" or "torch") is met; otherwise
 * the reason is written. */
static bool prerequisite_met(const char *need, char *reason, size_t size)
{
    return strcmp(need, "mnist") == 0 ? have_mnist(reason, size) : have_torch(reason, size);
}

int main(int argc, char *argv[])
{
    const char *need = getenv("TG_TESTS_NEED");
    if (need && *need) {
        if (strcmp(need, "mnist") != 0 && strcmp(need, "torch") != 0) {
            fprintf(stderr, "TG_TESTS_NEED=%s: unknown prerequisite (known: mnist, torch)\n", need);
            return EXIT_FAILURE;
        }
        char reason[1400];
        if (!prerequisite_met(need, reason, sizeof reason)) {
            printf("SKIPPED: these tests need %s: %s\n", need, reason);
            return EXIT_SKIPPED;
        }
    }
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
