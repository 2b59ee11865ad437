/* core/error_internal.h — error helpers for the library's own files
 * (internal; not installed). */
#ifndef TG_CORE_ERROR_INTERNAL_H
#define TG_CORE_ERROR_INTERNAL_H

#include "tapegrad/error.h"

/* A callee (a layer, the checkpoint reader) reported under its own name;
 * reports it again, same status, under `function`, the public function the
 * caller called, so that the message starts with that name and keeps the
 * detail: "tg_model_load: tg_checkpoint_open: cannot open 'x': ...".
 * `context` (may be "") goes between the two. Returns the status, TG_OK if
 * no error is pending. A custom handler sees both reports. */
tg_status tg_error_pass_up(const char *function, const char *context);

#endif
