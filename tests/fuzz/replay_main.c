/* tests/fuzz/replay_main.c — a main() that runs a fuzz harness once per file,
 * for builds without libFuzzer (gcc, or clang without its fuzzer runtime).
 *
 * Usage: replay_<loader> <file or directory>...  Directories are read one
 * level deep, in name order (so a failure is reproducible); names starting
 * with '.' and README files are skipped. A crash, sanitizer report or abort
 * in the harness fails the run, exactly as it would under libFuzzer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

static int run_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t capacity = 4096, size = 0;
    uint8_t *data = malloc(capacity);
    size_t got;
    while (data && (got = fread(data + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) {
            uint8_t *grown = realloc(data, capacity *= 2);
            if (!grown) free(data);
            data = grown;
        }
    }
    fclose(file);
    if (!data) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return 1;
    }
    /* An exact-size copy, as libFuzzer passes it, so that ASan sees overreads. */
    uint8_t *exact = malloc(size ? size : 1);
    if (exact) memcpy(exact, data, size);
    free(data);
    if (!exact) return 1;
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of `dir`; returns the number of failures, counts runs in *runs. */
static int run_directory(const char *dir, int *runs)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0) continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        size_t length = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[count] = malloc(length))) break;
        snprintf(names[count++], length, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (count) qsort(names, count, sizeof *names, compare_names);
    int failures = 0;
    for (size_t i = 0; i < count; ++i) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            failures += run_file(names[i]);
            ++*runs;
        }
        free(names[i]);
    }
    free(names);
    return failures;
}

int main(int argc, char **argv)
{
    int failures = 0, runs = 0;
    for (int i = 1; i < argc; ++i) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            failures++;
        } else if (S_ISDIR(st.st_mode)) {
            failures += run_directory(argv[i], &runs);
        } else {
            failures += run_file(argv[i]);
            runs++;
        }
    }
    printf("replay: %d inputs run, %d could not be read\n", runs, failures);
    return failures ? 1 : 0;
}
