/* core/checkpoint_temp.h — the temporary files of atomic checkpoint saves
 * (internal; not installed). */
#ifndef TG_CORE_CHECKPOINT_TEMP_H
#define TG_CORE_CHECKPOINT_TEMP_H

#include <stdio.h>

/* Marks the temporary file open as `file` as being written, by a write lock
 * that the kernel drops when the writer exits or is killed. Best effort: on a
 * file system without locks the file simply looks live to other savers. */
void tg_checkpoint_temp_mark_live(FILE *file);

/* Removes the temporary files "<path>.tmp.<pid>.<n>" that no living writer
 * owns: <pid> is not this process and no such process exists (kill(pid, 0)
 * fails with ESRCH), and no process holds the file's write lock. Either test
 * alone could be fooled (a pid of another PID namespace or host; a file
 * system without locks), so a file is removed only when both agree that its
 * writer is gone. Best effort: nothing is reported. */
void tg_checkpoint_remove_stale_temps(const char *path);

#endif
