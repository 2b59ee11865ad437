/* tests/core/test_gradients_unreached.c — tg_gradients gives zeros for a
 * tensor the output does not depend on, never a gradient an earlier pass
 * left in its .grad, and refuses a tensor of another tape.
 *
 * Each test first runs a pass that leaves a .grad on the tensor asked about,
 * so that returning a stale gradient would show. */
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static tg_tensor *scalar_param(double value)
{
    tg_tensor *x = tg_scalar(TG_F64, value);
    cr_assert_not_null(x);
    cr_assert_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

Test(gradients_unreached, a_tensor_recorded_after_the_output_gets_zeros)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);        /* node 0 */
    tg_tensor *z = tg_mul_scalar(y, 4); /* node 1, after y */
    /* First pass: dz/dz = 1 stays in z->grad, dz/dy = 4 in y->grad. */
    cr_assert_eq(tg_backward(z, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(z->grad), 1.0);
    /* y does not depend on z: dy/dz = 0; dy/dy = 1; dy/dx = 2x = 6. */
    tg_tensor *wrt[3] = {z, y, x}, *grads[3];
    cr_assert_eq(tg_gradients(y, NULL, 3, wrt, grads, false), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(grads[0]), 0.0, "dy/dz: got %g, the first pass's dz/dz was 1", tg_item(grads[0]));
    cr_assert_eq(tg_item(grads[1]), 1.0);
    cr_assert_eq(tg_item(grads[2]), 6.0);
    reset_tape();
    tg_free(x);
}

Test(gradients_unreached, a_persistent_tensor_with_an_old_gradient_gets_zeros)
{
    tg_tensor *x = scalar_param(3), *w = scalar_param(5);
    cr_assert_eq(tg_backward(tg_mul(w, w), NULL), TG_OK); /* w->grad = 10 */
    reset_tape();
    tg_tensor *wrt[2] = {w, x}, *grads[2];
    cr_assert_eq(tg_gradients(tg_mul(x, x), NULL, 2, wrt, grads, false), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(grads[0]), 0.0); /* x * x does not depend on w */
    cr_assert_eq(tg_item(grads[1]), 6.0);
    cr_assert_eq(tg_item(tg_grad(w)), 10.0, "tg_gradients accumulates into no .grad");
    reset_tape();
    tg_free(x);
    tg_free(w);
}

Test(gradients_unreached, a_tensor_of_another_tape_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tape *other = tg_tape_new();
    tg_tape *previous = tg_tape_use(other);
    tg_tensor *u = tg_mul(x, x); /* on the other tape */
    cr_assert_eq(tg_backward(u, NULL), TG_OK);
    cr_assert_eq(tg_item(u->grad), 1.0); /* left on u */
    tg_tape_use(previous);

    tg_tensor *y = tg_mul_scalar(x, 2); /* on this thread's default tape */
    tg_tensor *wrt[2] = {x, u}, *grads[2] = {NULL, NULL};
    cr_assert_eq(tg_gradients(y, NULL, 2, wrt, grads, false), TG_ERR_TAPE, "got %s",
                 tg_status_name(tg_last_error()));
    const char *message = tg_last_error_message();
    cr_assert_not_null(strstr(message, "tg_gradients"), "%s", message);
    cr_assert_not_null(strstr(message, "wrt[1] belongs to another tape than the output"), "%s", message);
    tg_clear_error();
    reset_tape();
    tg_tape_free(other);
    tg_free(x);
}
