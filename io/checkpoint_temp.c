/* io/checkpoint_temp.c — cleaning up after checkpoint saves that were
 * killed between creating "<path>.tmp.<pid>.<n>" and renaming it (see
 * include/tapegrad/checkpoint.h, "Safety"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "io/checkpoint_internal.h"

void tgi_checkpoint_temp_mark_live(FILE *file)
{
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    (void)fcntl(fileno(file), F_SETLK, &lock);
}

/* The pid in "<pid>.<n>" (all decimal digits, nothing after), or 0. */
static pid_t temp_name_pid(const char *suffix)
{
    const char *dot = strchr(suffix, '.');
    if (!dot || dot == suffix || dot[1] == '\0' || dot - suffix > 18) return 0;
    for (const char *c = suffix; *c; c++)
        if (c != dot && (*c < '0' || *c > '9')) return 0;
    long long pid = strtoll(suffix, NULL, 10);
    /* pid <= 0 must never reach kill(): 0 and -1 address whole groups. */
    return pid > 0 && (pid_t)pid == pid ? (pid_t)pid : 0;
}

static bool writer_is_dead(pid_t pid) { return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH; }

/* Removes `file` (in the directory open as `dir_fd`) if nobody holds its
 * write lock. The lock taken to find out is ours until close. */
static void remove_if_unlocked(int dir_fd, const char *file)
{
    /* O_NONBLOCK: a FIFO planted under a temporary name must not hang us. */
    int fd = openat(dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return;
    struct stat st;
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fcntl(fd, F_SETLK, &lock) == 0)
        (void)unlinkat(dir_fd, file, 0);
    close(fd);
}

void tgi_checkpoint_remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_length = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(dir_length + 2);
    char *prefix = malloc(strlen(base) + 6);
    if (!dir || !prefix) goto done;
    if (slash) {
        memcpy(dir, path, dir_length ? dir_length : 1); /* "/x" lives in "/" */
        dir[dir_length ? dir_length : 1] = '\0';
    } else {
        strcpy(dir, ".");
    }
    strcpy(prefix, base);
    strcat(prefix, ".tmp.");
    size_t prefix_length = strlen(prefix);

    DIR *d = opendir(dir);
    if (!d) goto done;
    int dir_fd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, prefix_length) != 0) continue;
        pid_t pid = temp_name_pid(e->d_name + prefix_length);
        if (pid > 0 && writer_is_dead(pid)) remove_if_unlocked(dir_fd, e->d_name);
    }
    closedir(d);
done:
    free(dir);
    free(prefix);
}
