/* core/version.c — the library's version (include/tapegrad/version.h). */
#include "tapegrad/version.h"

const char *tg_version(void) { return TG_VERSION_STRING; }
