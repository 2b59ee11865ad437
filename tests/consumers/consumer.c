/* tests/consumers/consumer.c — a program using tapegrad from outside, as a
 * user's would: built by tests/consumers/run.sh against the installed
 * library through pkg-config (shared and static) and by a meson project
 * that has tapegrad as a subproject (tests/consumers/subproject/).
 *
 * It checks a gradient it can work out by hand: for f(x) = sum(x^3 + 2x),
 * df/dx_i = 3 x_i^2 + 2, so at x = (1, 2, 3) the gradient is (5, 14, 29).
 * Exit status 0 when the gradient and the version agree, 1 otherwise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <tapegrad.h>

/* tapegrad's include path holds its public headers only. */
#if defined(__has_include)
#if __has_include("core/tensor_internal.h")
#error "tapegrad's internal headers are on the include path"
#endif
#endif

/* argc and argv unused on purpose: -Wextra would warn, so a build that
 * forced tapegrad's warning level and -Werror on this program would fail. */
int main(int argc, char **argv)
{
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, (double[]){1, 2, 3});
    tg_set_requires_grad(x, true);
    tg_tensor *f = tg_sum(tg_add(tg_pow(x, 3.0), tg_mul_scalar(x, 2.0)));
    tg_backward(f, NULL);

    const double expected[3] = {5, 14, 29};
    double gradient[3];
    tg_copy_to_doubles(tg_grad(x), gradient);
    int failures = 0;
    for (int i = 0; i < 3; i++)
        if (fabs(gradient[i] - expected[i]) > 1e-12) failures++;
    printf("tapegrad %s (headers %s): d/dx sum(x^3 + 2x) at x = (1, 2, 3) = (%g, %g, %g), expected (5, 14, 29)\n",
           tg_version(), TG_VERSION_STRING, gradient[0], gradient[1], gradient[2]);
    if (strcmp(tg_version(), TG_VERSION_STRING) != 0) failures++;

    tg_tape_reset(tg_tape_current());
    tg_free(x);
    printf("%s\n", failures == 0 ? "consumer: OK" : "consumer: FAILED");
    return failures == 0 ? 0 : 1;
}
