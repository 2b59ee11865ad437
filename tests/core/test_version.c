/* tests/core/test_version.c — tg_version() and the TG_VERSION_* macros agree
 * with each other and with the version in meson.build, which
 * tests/meson.build passes in as TG_TEST_PROJECT_VERSION. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

Test(version, the_library_reports_the_project_version)
{
    cr_assert_str_eq(tg_version(), TG_TEST_PROJECT_VERSION);
}

Test(version, the_macros_spell_the_same_version)
{
    char spelled[64];
    snprintf(spelled, sizeof spelled, "%d.%d.%d", TG_VERSION_MAJOR, TG_VERSION_MINOR, TG_VERSION_PATCH);
    cr_assert_str_eq(spelled, TG_TEST_PROJECT_VERSION);
    cr_assert_str_eq(TG_VERSION_STRING, TG_TEST_PROJECT_VERSION);
}
