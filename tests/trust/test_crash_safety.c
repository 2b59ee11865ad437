/* tests/trust/test_crash_safety.c — a process killed while it saves
 * checkpoints never leaves a damaged checkpoint behind.
 *
 * A child process saves checkpoints to one path in a loop, each with
 * distinct content (every value derived from the step number, which is also
 * stored as a tensor and in the metadata). The parent SIGKILLs it after a
 * random delay, many times over. After every kill the file at the path must
 * open and verify (checksum included), hold a step this child wrote (the
 * child reports its first completed save before the parent starts the
 * clock), and be internally consistent; steps only move forward from kill
 * to kill. The directory may hold nothing but the checkpoint and the
 * documented temporary file "<path>.tmp.<pid>.<n>" of the child just killed:
 * each child's first save (and the parent's save at the end) removes those
 * of the children killed before it, whose writers are gone, and is not
 * disturbed by them. After the final save no temporary file is left. The
 * number of kills that left a temporary file counts the kills that landed in
 * the middle of a save.
 *
 * The children stay simple (no Criterion calls, _exit only) so that the
 * test also runs under ASan. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* 16K floats: 64 KiB of data, so that a save spends a while writing, and
 * 200 stale temporary files would still be small. */
enum { VALUES = 16384, KILLS = 200 };
/* A kill comes 0 .. MAX_DELAY_US after the child's first completed save;
 * a save (write + fsync of file and directory) takes about that long on a
 * disk, so kills land before, during and after renames. */
enum { MAX_DELAY_US = 4000 };

/* The value at index i of the checkpoint of `step`: exact in float32. */
static float pattern(int64_t step, int64_t i) { return (float)((step * 31 + i) % 65536); }

static const char *const NAMES[] = {"weights", "step"};

/* Saves the checkpoint of `step` to `path`. */
static tg_status save_step(const char *path, int64_t step, tg_tensor *weights, tg_tensor *step_tensor)
{
    float *w = weights->data;
    for (int64_t i = 0; i < VALUES; i++) w[i] = pattern(step, i);
    ((double *)step_tensor->data)[0] = (double)step;
    char step_text[32];
    snprintf(step_text, sizeof step_text, "%lld", (long long)step);
    const tg_tensor *tensors[] = {weights, step_tensor};
    return tg_checkpoint_save(path, 2, NAMES, tensors, 1, (const char *[]){"step"},
                              (const char *const[]){step_text});
}

/* The child: saves steps first, first + 1, ... until killed; writes one
 * byte to `ready` after its first save has completed. Exits 1 if a save
 * fails (the parent treats any exit as a failure). */
static void child_main(const char *path, int64_t first, int ready)
{
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_tensor *weights = tg_zeros(TG_F32, 1, (const int64_t[]){VALUES});
    tg_tensor *step_tensor = tg_zeros(TG_F64, 0, NULL);
    if (!weights || !step_tensor) _exit(1);
    for (int64_t step = first;; step++) {
        if (save_step(path, step, weights, step_tensor) != TG_OK) _exit(1);
        if (step == first) {
            char byte = 1;
            if (write(ready, &byte, 1) != 1) _exit(1);
            close(ready);
        }
    }
}

/* Opens the checkpoint and checks it completely; returns its step. */
static int64_t verified_step(const char *path)
{
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck, "the checkpoint does not load after a kill: %s", tg_last_error_message());
    const char *text = tg_checkpoint_metadata(ck, "step");
    cr_assert_not_null(text);
    int64_t step = strtoll(text, NULL, 10);
    tg_tensor *step_tensor = tg_checkpoint_read_tensor(ck, "step");
    tg_tensor *weights = tg_checkpoint_read_tensor(ck, "weights");
    cr_assert(step_tensor && weights, "%s", tg_last_error_message());
    cr_assert_eq(((double *)step_tensor->data)[0], (double)step, "tensor and metadata disagree on the step");
    cr_assert_eq(weights->numel, VALUES);
    const float *w = weights->data;
    for (int64_t i = 0; i < VALUES; i++)
        cr_assert_eq(w[i], pattern(step, i), "step %lld: value %lld is %g, expected %g", (long long)step,
                     (long long)i, w[i], pattern(step, i));
    tg_free(step_tensor);
    tg_free(weights);
    tg_checkpoint_close(ck);
    return step;
}

/* Checks that `dir` holds `name` and otherwise only temporary files named
 * "<name>.tmp.<pid>.<n>" with pid one of the `n_pids` killed children, all
 * of them of `pid` (those of earlier children were cleaned up). Returns the
 * number of temporary files of `pid`. */
static int check_directory(const char *dir, const char *name, const pid_t *pids, int n_pids, pid_t pid)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.tmp.", name);
    bool have_checkpoint = false;
    int of_pid = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (strcmp(e->d_name, name) == 0) {
            have_checkpoint = true;
            continue;
        }
        long long file_pid = -1;
        unsigned long number = 0;
        char extra = 0;
        bool documented = strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
                          sscanf(e->d_name + strlen(prefix), "%lld.%lu%c", &file_pid, &number, &extra) == 2;
        cr_assert(documented, "unexpected file '%s' next to the checkpoint", e->d_name);
        bool killed = false;
        for (int i = 0; i < n_pids; i++) killed |= pids[i] == (pid_t)file_pid;
        cr_assert(killed, "temporary file '%s' is not from a killed child", e->d_name);
        cr_assert_eq((pid_t)file_pid, pid, "stale temporary file '%s' of an earlier child was not removed by a "
                     "later successful save", e->d_name);
        of_pid += (pid_t)file_pid == pid;
    }
    closedir(d);
    cr_assert(have_checkpoint, "the checkpoint itself is gone");
    return of_pid;
}

/* Number of entries in `dir` besides "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void sleep_microseconds(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

Test(crash_safety, a_checkpoint_survives_its_writer_being_killed_at_random_moments, .init = return_mode,
     .fini = abort_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    /* The parent's own first checkpoint, so that the path exists before
     * the first child starts. */
    tg_tensor *weights = tg_zeros(TG_F32, 1, (const int64_t[]){VALUES});
    tg_tensor *step_tensor = tg_zeros(TG_F64, 0, NULL);
    cr_assert_eq(save_step(path, 0, weights, step_tensor), TG_OK, "%s", tg_last_error_message());

    pid_t pids[KILLS];
    tg_rng rng = tg_rng_seeded(2024);
    int64_t last_step = 0;
    int torn = 0;
    for (int kill_number = 0; kill_number < KILLS; kill_number++) {
        /* Each child counts from its own range, so the step names the child. */
        int64_t first = (int64_t)(kill_number + 1) * 1000000;
        int pipe_fds[2];
        cr_assert_eq(pipe(pipe_fds), 0);
        fflush(NULL); /* nothing buffered is written twice */
        pid_t pid = fork();
        cr_assert_geq(pid, 0, "fork failed");
        if (pid == 0) {
            close(pipe_fds[0]);
            child_main(path, first, pipe_fds[1]);
        }
        pids[kill_number] = pid;
        close(pipe_fds[1]);
        char byte = 0;
        ssize_t got;
        while ((got = read(pipe_fds[0], &byte, 1)) < 0 && errno == EINTR) {}
        close(pipe_fds[0]);
        cr_assert_eq(got, 1, "child %d ended before its first save", kill_number);

        sleep_microseconds((long)tg_rng_below(&rng, MAX_DELAY_US + 1));
        cr_assert_eq(kill(pid, SIGKILL), 0);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "child %d was not killed but ended by itself (status %d): a save failed", kill_number, status);

        int64_t step = verified_step(path);
        cr_assert_geq(step, first, "kill %d: the checkpoint holds step %lld, from before this child's first save",
                      kill_number, (long long)step);
        cr_assert_geq(step, last_step, "steps went backwards");
        last_step = step;
        int stale = check_directory(dir, "ck.safetensors", pids, kill_number + 1, pid);
        cr_assert_leq(stale, 1, "a child leaves at most the one temporary file it was writing");
        torn += stale;
    }

    /* The stale file does not disturb a later save, which removes it and
     * leaves no temporary file of its own: only the checkpoint is left. */
    cr_assert_eq(save_step(path, 1, weights, step_tensor), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(verified_step(path), 1);
    cr_assert_eq(check_directory(dir, "ck.safetensors", pids, KILLS, getpid()), 0);
    cr_assert_eq(count_entries(dir), 1, "after the final save the directory holds more than the checkpoint");
    cr_log_info("crash safety: %d of %d kills survived (checkpoint loaded and verified every time); %d kills "
                "landed during a save and left its temporary file",
                KILLS, KILLS, torn);
    printf("crash safety: %d/%d kill iterations survived, %d interrupted a save\n", KILLS, KILLS, torn);
    tg_free(weights);
    tg_free(step_tensor);
    remove_temp_dir(dir);
}
