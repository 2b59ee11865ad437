/* tests/data/helpers.h — temporary files and small utilities for the data
 * and checkpoint tests. Everything is static: each test file gets its copy. */
#ifndef TAPEGRAD_TESTS_DATA_HELPERS_H
#define TAPEGRAD_TESTS_DATA_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad/data.h"

/* A fresh directory under /tmp; its path is written into dir (>= 64 bytes). */
static inline void make_temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/tg_data_test_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* Removes a temporary directory and everything in it. */
static inline void remove_temp_dir(const char *dir)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    cr_assert_eq(system(command), 0);
}

static inline void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    cr_assert_not_null(file, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, size, file), size);
    cr_assert_eq(fclose(file), 0);
}

static inline void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* The whole file in a malloc'ed buffer (caller frees). */
static inline unsigned char *slurp(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    cr_assert_not_null(file, "cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)length + 1);
    cr_assert_eq(fread(data, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return data;
}

/* True when `program` can be run from the shell. */
static inline int have_program(const char *probe_command)
{
    return system(probe_command) == 0;
}

/* Asserts that the last error (return mode) mentions `function`. */
static inline void assert_error_from(const char *function)
{
    cr_assert_neq(tg_last_error(), TG_OK, "expected an error from %s", function);
    cr_assert_not_null(strstr(tg_last_error_message(), function), "message '%s' does not name %s",
                       tg_last_error_message(), function);
}

#endif
