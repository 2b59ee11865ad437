/* tests/trust/test_stale_temps.c — a successful save removes the temporary
 * files of `path` left by killed savers, and nothing else: not those of a
 * living writer (by its pid, or by the write lock it holds even when its pid
 * means nothing here, as for a writer in another PID namespace), not its own
 * process's, not files of other names (checkpoint.h, "Safety"). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static char dir[64], path[128];
/* The lock-holding children still alive: a failed check ends the test
 * before it ends them, so teardown does. */
static pid_t holders[2];
static int n_holders;

static void setup(void)
{
    return_mode();
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
}

static void end(pid_t pid);

static void teardown(void)
{
    for (int i = 0; i < n_holders; i++) end(holders[i]);
    n_holders = 0;
    remove_temp_dir(dir);
    abort_mode();
}

static void save(void)
{
    tg_tensor *w = tg_full(TG_F32, 1, (const int64_t[]){4}, 1.5);
    const char *names[] = {"w"};
    const tg_tensor *tensors[] = {w};
    cr_assert_eq(tg_checkpoint_save(path, 1, names, tensors, 0, NULL, NULL), TG_OK, "%s", tg_last_error_message());
    tg_free(w);
}

/* "<dir>/<name>" holding a few bytes; its full path is left in `out`. */
static const char *plant(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%.95s", dir, name); /* names are short; the bound keeps gcc sure of it */
    write_text(out, "partial");
    return out;
}

static bool exists(const char *file) { return access(file, F_OK) == 0; }

/* The pid of a process that has exited and been reaped: no process has it
 * (until the system reuses it, far beyond this test's few forks). */
static pid_t dead_pid(void)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    return pid;
}

/* A child that holds a write lock on `file` until killed, as a writer does
 * on its temporary file. Returns once the lock is held. */
static pid_t lock_holder(const char *file)
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(file, O_WRONLY);
        struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        char byte = fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0;
        if (write(ready[1], &byte, 1) != 1) _exit(1);
        for (;;) pause();
    }
    cr_assert_lt(n_holders, 2);
    holders[n_holders++] = pid;
    close(ready[1]);
    char byte = 0;
    ssize_t got;
    while ((got = read(ready[0], &byte, 1)) < 0 && errno == EINTR) {}
    close(ready[0]);
    cr_assert(got == 1 && byte == 1, "the child could not lock %s", file);
    return pid;
}

static void end(pid_t pid)
{
    for (int i = 0; i < n_holders; i++)
        if (holders[i] == pid) {
            holders[i] = holders[--n_holders];
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
}

TestSuite(stale_temps, .init = setup, .fini = teardown);

Test(stale_temps, a_save_removes_the_temporary_file_of_a_dead_writer)
{
    char name[64], file[192];
    snprintf(name, sizeof name, "ck.safetensors.tmp.%ld.7", (long)dead_pid());
    plant(file, sizeof file, name);
    save();
    cr_assert_not(exists(file), "%s was left behind", file);
}

Test(stale_temps, a_living_writer_keeps_its_temporary_file)
{
    pid_t writer = lock_holder(plant((char[192]){0}, 192, "unused")); /* a living process, lock or not */
    char name[64], file[192];
    snprintf(name, sizeof name, "ck.safetensors.tmp.%ld.1", (long)writer);
    plant(file, sizeof file, name);
    save();
    cr_assert(exists(file), "the file of living process %ld was removed", (long)writer);
    end(writer);
    save(); /* now its writer is gone */
    cr_assert_not(exists(file));
}

/* A pid that names no process here (a writer in another PID namespace) but
 * whose file is locked by a living process: kept. */
Test(stale_temps, a_locked_temporary_file_is_kept_whatever_its_pid_says)
{
    char name[64], file[192];
    snprintf(name, sizeof name, "ck.safetensors.tmp.%ld.2", (long)dead_pid());
    plant(file, sizeof file, name);
    pid_t holder = lock_holder(file);
    save();
    cr_assert(exists(file), "a locked temporary file was removed");
    end(holder);
    save();
    cr_assert_not(exists(file));
}

/* The saver's own pid may be another thread's save in progress. */
Test(stale_temps, files_of_this_process_and_of_other_names_are_kept)
{
    long gone = (long)dead_pid();
    char names[5][96], files[5][192];
    snprintf(names[0], sizeof names[0], "ck.safetensors.tmp.%ld.3", (long)getpid());
    snprintf(names[1], sizeof names[1], "other.safetensors.tmp.%ld.1", gone);
    snprintf(names[2], sizeof names[2], "ck.safetensors.tmp.%ld", gone);       /* no <n> */
    snprintf(names[3], sizeof names[3], "ck.safetensors.tmp.%ld.1.bak", gone); /* more after it */
    snprintf(names[4], sizeof names[4], "ck.safetensors.tmp.0.1");             /* kill(0) means the group */
    for (int i = 0; i < 5; i++) plant(files[i], sizeof files[i], names[i]);
    save();
    for (int i = 0; i < 5; i++) cr_assert(exists(files[i]), "'%s' was removed", names[i]);
}
