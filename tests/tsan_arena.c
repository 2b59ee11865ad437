/* tests/tsan_arena.c — linked into the test runner only under
 * ThreadSanitizer (-Db_sanitize=thread; tests/meson.build).
 *
 * Criterion's sandbox (BoxFort) maps its shared arena with MAP_FIXED at a
 * base it draws with rand_r() from [0x200000000000, 0x600000000000). Nearly
 * all of that range is TSan's shadow or reserved memory, so the runner could
 * not start ("Could not initialize inheritable arena"). This rand_r, which
 * the runner's library binds to (the executable's symbols come first), draws
 * only bases in 0x560000000000-0x564000000000, inside the range TSan leaves
 * to the program (0x550000000000-0x568000000000). Neither the library nor the
 * tests call rand_r. */
#include <stdlib.h>

int rand_r(unsigned int *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    /* BoxFort's base is 0x200000000000 + (r & 0x3fffff) * 2^24. */
    return 0x360000 + (int)((*seed >> 16) & 0x3ff);
}
