/* tests/core/test_tape.c — the tape: recording, accumulation, seeds, grad
 * mode, detach, reset and memory, errors, deep graphs, gradients of
 * gradients. Expected values are worked by hand in the comments. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static tg_tensor *param1(double value) {
    tg_tensor *t = tg_scalar(TG_F64, value);
    tg_set_requires_grad(t, true);
    return t;
}

Test(tape, records_only_ops_that_need_gradients) {
    tg_tensor *x = param1(2.0), *c = tg_scalar(TG_F64, 3.0);
    size_t before = tg_tape_num_nodes(tg_tape_current());
    tg_tensor *constant_only = tg_mul(c, c);
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), before, "c*c needs no gradient: not recorded");
    cr_assert_not(constant_only->requires_grad);
    tg_tensor *y = tg_mul(x, c);
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), before + 1);
    cr_assert(y->requires_grad);
    cr_assert_eq(tg_item(y), 6.0);
    tg_free(x);
    tg_free(c);
    reset_tape();
}

/* A diamond: y = a*b + a, so dy/da = b + 1 = 4 and dy/db = a = 2. */
Test(tape, gradients_accumulate_over_shared_uses) {
    tg_tensor *a = param1(2.0), *b = param1(3.0);
    tg_tensor *y = tg_add(tg_mul(a, b), a);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(a)), 4.0);
    cr_assert_eq(tg_item(tg_grad(b)), 2.0);
    tg_free(a);
    tg_free(b);
    reset_tape();
}

/* y = (a*a) used twice: z = y*y = a^4, dz/da = 4a^3 = 32 at a = 2. */
Test(tape, intermediate_used_twice) {
    tg_tensor *a = param1(2.0);
    tg_tensor *y = tg_mul(a, a);
    tg_tensor *z = tg_mul(y, y);
    cr_assert_eq(tg_backward(z, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(a)), 32.0);
    tg_free(a);
    reset_tape();
}

Test(tape, parameter_gradients_accumulate_until_zero_grad) {
    tg_tensor *a = param1(2.0), *b = param1(3.0);
    tg_tensor *y = tg_mul(a, b);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(a)), 6.0, "two backward passes add up: 3 + 3");
    tg_zero_grad(a);
    tg_zero_grad(b);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    double first_a = tg_item(tg_grad(a)), first_b = tg_item(tg_grad(b));
    tg_zero_grad(a);
    tg_zero_grad(b);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(a)), first_a, "backward is idempotent after zero_grad");
    cr_assert_eq(tg_item(tg_grad(b)), first_b);
    cr_assert_eq(first_a, 3.0);
    cr_assert_eq(first_b, 2.0);
    tg_free(a);
    tg_free(b);
    reset_tape();
}

Test(tape, unused_input_gets_zero_gradient) {
    tg_tensor *a = param1(2.0), *unused = param1(5.0);
    tg_tensor *y = tg_mul(a, a);
    tg_tensor *grads[2];
    tg_tensor *wrt[2] = {a, unused};
    cr_assert_eq(tg_gradients(y, NULL, 2, wrt, grads, false), TG_OK);
    cr_assert_eq(tg_item(grads[0]), 4.0);
    cr_assert_eq(tg_item(grads[1]), 0.0);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_null(tg_grad(unused), "backward never touched the unused parameter");
    tg_free(a);
    tg_free(unused);
    reset_tape();
}

/* y = x * w elementwise with a seed v: d<v,y>/dx = v * w. */
Test(tape, non_scalar_output_takes_a_seed) {
    const double xv[3] = {1, 2, 3}, wv[3] = {4, 5, 6}, sv[3] = {1, 10, 100};
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){3}, xv);
    tg_tensor *w = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, wv);
    tg_tensor *seed = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, sv);
    tg_tensor *y = tg_mul(x, w);
    cr_assert_eq(tg_backward(y, seed), TG_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(tg_get_flat(tg_grad(x), i), sv[i] * wv[i]);
    return_mode();
    cr_assert_neq(tg_backward(y, NULL), TG_OK);
    assert_error(TG_ERR_SHAPE, "tg_backward", "(3)");
    tg_tensor *bad_seed = tg_zeros(TG_F64, 1, (int64_t[]){2});
    cr_assert_neq(tg_backward(y, bad_seed), TG_OK);
    assert_error(TG_ERR_SHAPE, "tg_backward", "(2)");
    abort_mode();
    tg_tensor *all[] = {x, w, seed, bad_seed};
    for (int i = 0; i < 4; i++) tg_free(all[i]);
    reset_tape();
}

Test(tape, no_grad_mode_records_nothing) {
    tg_tensor *x = param1(2.0);
    size_t before = tg_tape_num_nodes(tg_tape_current());
    bool previous = tg_set_grad_enabled(false);
    cr_assert(previous);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_item(y), 4.0, "values are still computed");
    cr_assert_not(y->requires_grad);
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), before);
    tg_set_grad_enabled(true);
    return_mode();
    cr_assert_neq(tg_backward(y, NULL), TG_OK);
    assert_error(TG_ERR_TAPE, "tg_backward", "does not require a gradient");
    abort_mode();
    tg_free(x);
    reset_tape();
}

/* y = detach(x*x) * x: the detached factor is a constant 4, so dy/dx = 4. */
Test(tape, detach_stops_the_gradient) {
    tg_tensor *x = param1(2.0);
    tg_tensor *square = tg_mul(x, x);
    tg_tensor *frozen = tg_detach(square);
    cr_assert_eq(tg_item(frozen), 4.0);
    cr_assert_not(frozen->requires_grad);
    tg_tensor *y = tg_mul(frozen, x);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(x)), 4.0);
    tg_free(x);
    reset_tape();
}

Test(tape, reset_frees_intermediates_and_keeps_parameters) {
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *w = param(TG_F64, 1, (int64_t[]){4}, (double[]){1, 2, 3, 4});
    size_t allocs_after_first = 0, in_use_after_first = 0;
    for (int step = 0; step < 200; step++) {
        tg_tensor *loss = tg_sum(tg_mul(tg_mul(w, w), w));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        tg_tape_stats stats = tg_tape_get_stats(tape);
        if (step == 0) {
            in_use_after_first = stats.bytes_in_use;
        } else {
            cr_assert_eq(stats.system_allocs, allocs_after_first, "step %d asked the system for memory", step);
            cr_assert_eq(stats.bytes_in_use, in_use_after_first, "step %d used a different amount", step);
        }
        tg_tape_reset(tape);
        if (step == 0) allocs_after_first = tg_tape_get_stats(tape).system_allocs; /* the first reset sizes the tape */
        cr_assert_eq(tg_tape_get_stats(tape).bytes_in_use, 0);
        cr_assert_eq(tg_tape_num_nodes(tape), 0);
    }
    /* 200 steps accumulated d/dw sum(w^3) = 3 w^2 each time. */
    for (int i = 0; i < 4; i++) {
        double wi = i + 1;
        cr_assert_eq(tg_get_flat(tg_grad(w), i), 200 * 3 * wi * wi);
    }
    cr_assert_eq(tg_get_flat(w, 2), 3.0, "parameters survive resets");
    tg_free(w);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

Test(tape, stale_tensor_is_refused) {
    tg_tensor *x = param1(2.0);
    tg_tensor *y = tg_mul(x, x);
    tg_tape_reset(tg_tape_current());
    return_mode();
    /* y's memory may already be reused; what can be checked is its generation. */
    cr_assert_null(tg_mul(y, x));
    assert_error(TG_ERR_TAPE, "tg_mul", "stale");
    abort_mode();
    tg_free(x);
    reset_tape();
}

Test(tape, mixing_tapes_is_refused) {
    tg_tape *other = tg_tape_new();
    tg_tensor *x = param1(2.0);
    tg_tensor *on_default = tg_mul(x, x);
    tg_tape *previous = tg_tape_use(other);
    tg_tensor *on_other = tg_mul(x, x);
    tg_tape_use(previous);
    return_mode();
    cr_assert_null(tg_add(on_default, on_other));
    assert_error(TG_ERR_TAPE, "tg_add", "different tapes");
    abort_mode();
    tg_free(x);
    tg_tape_free(other);
    reset_tape();
}

Test(tape, freeing_a_tape_tensor_is_refused) {
    tg_tensor *x = param1(2.0);
    tg_tensor *y = tg_mul(x, x);
    return_mode();
    tg_free(y);
    assert_error(TG_ERR_TAPE, "tg_free", NULL);
    abort_mode();
    tg_free(x);
    reset_tape();
}

Test(tape, errors_name_function_and_shapes) {
    tg_tensor *a = tg_zeros(TG_F64, 2, (int64_t[]){3, 4});
    tg_tensor *b = tg_zeros(TG_F64, 2, (int64_t[]){5, 2});
    tg_tensor *c = tg_zeros(TG_F32, 2, (int64_t[]){3, 4});
    tg_tensor *d = tg_zeros(TG_F64, 3, (int64_t[]){3, 1, 4});
    return_mode();
    cr_assert_null(tg_matmul(a, b));
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul: inner dimensions differ: (3,4) @ (5,2)");
    cr_assert_null(tg_add(a, c));
    assert_error(TG_ERR_DTYPE, "tg_add", "float32");
    cr_assert_null(tg_add(a, b));
    assert_error(TG_ERR_SHAPE, "tg_add", "(3,4) and (5,2)");
    cr_assert_null(tg_zeros(TG_F64, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}));
    assert_error(TG_ERR_SHAPE, "tg_zeros", "rank 9");
    cr_assert_null(tg_zeros(TG_F64, 2, (int64_t[]){-1, 3}));
    assert_error(TG_ERR_SHAPE, "tg_zeros", "negative size -1");
    cr_assert_null(tg_zeros(TG_F64, 3, (int64_t[]){INT64_MAX / 2, 4, 4}));
    assert_error(TG_ERR_MEMORY, "tg_zeros", "too many elements");
    cr_assert_null(tg_sum_axes(d, 1, (int[]){3}, false));
    assert_error(TG_ERR_AXIS, "tg_sum_axes", "axis 3");
    cr_assert(isnan(tg_item(a)));
    assert_error(TG_ERR_SHAPE, "tg_item", "(3,4)");
    cr_assert_null(tg_add(NULL, a), "a failed call's NULL result fails the next op too");
    assert_error(TG_ERR_ARGUMENT, "tg_add", "NULL");
    abort_mode();
    tg_free(a);
    tg_free(b);
    tg_free(c);
    tg_free(d);
    reset_tape();
}

/* A chain of 1,000,000 ops: y = x + 1 + 1 + ... ; dy/dx = 1. Backward is a
 * loop, so this neither recurses nor overflows the stack. */
Test(tape, million_op_chain_backward_is_iterative) {
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *x = param1(0.5);
    tg_tensor *y = x;
    for (int i = 0; i < 1000000; i++) y = tg_add_scalar(y, 1.0);
    cr_assert_eq(tg_tape_num_nodes(tape), 1000000);
    cr_assert_eq(tg_item(y), 1000000.5);
    cr_assert_eq(tg_backward(y, NULL), TG_OK);
    cr_assert_eq(tg_item(tg_grad(x)), 1.0);
    tg_free(x);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

/* Gradients of gradients: f = x^3, f' = 3x^2 = 12, f'' = 6x = 12 at x = 2;
 * and for g = sin-free sigmoid(x): g'' = s(1-s)(1-2s). */
Test(tape, gradient_of_a_gradient) {
    tg_tensor *x = param1(2.0);
    tg_tensor *f = tg_pow(x, 3.0);
    tg_tensor *first;
    cr_assert_eq(tg_gradients(f, NULL, 1, &x, &first, true), TG_OK);
    cr_assert_eq(tg_item(first), 12.0);
    cr_assert(first->requires_grad, "create_graph records the backward pass");
    tg_tensor *second;
    cr_assert_eq(tg_gradients(first, NULL, 1, &x, &second, false), TG_OK);
    cr_assert(fabs(tg_item(second) - 12.0) < 1e-12, "f'' = %g", tg_item(second));

    tg_tensor *z = param1(0.3);
    tg_tensor *g = tg_sigmoid(z), *dg, *ddg;
    cr_assert_eq(tg_gradients(g, NULL, 1, &z, &dg, true), TG_OK);
    cr_assert_eq(tg_gradients(dg, NULL, 1, &z, &ddg, false), TG_OK);
    double s = 1 / (1 + exp(-0.3));
    cr_assert(fabs(tg_item(dg) - s * (1 - s)) < 1e-15);
    cr_assert(fabs(tg_item(ddg) - s * (1 - s) * (1 - 2 * s)) < 1e-15, "g'' = %.17g", tg_item(ddg));
    tg_free(x);
    tg_free(z);
    reset_tape();
}

/* A user-defined op is a record like any built-in: cube(x) = x^3 with its own
 * backward rule 3x^2 g, built from ops. */
static void cube_forward(const tg_node *node) {
    const double *x = node->inputs[0]->data;
    double *y = node->output->data;
    for (int64_t i = 0; i < node->output->numel; i++) y[i] = x[i] * x[i] * x[i];
}
static void cube_backward(const tg_node *node, tg_tensor *grad_output, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0];
    grad_inputs[0] = tg_mul(grad_output, tg_mul_scalar(tg_mul(x, x), 3.0));
}
static const tg_op cube_op = {"cube", 1, cube_forward, cube_backward};

Test(tape, user_defined_op_records_and_differentiates) {
    tg_tensor *x = param(TG_F64, 1, (int64_t[]){2}, (double[]){2.0, -1.0});
    tg_tensor *y = tg_op_apply(&cube_op, &x, 1, NULL, TG_F64, 1, (int64_t[]){2});
    cr_assert_eq(tg_get_flat(y, 0), 8.0);
    cr_assert_eq(tg_get_flat(y, 1), -1.0);
    cr_assert_eq(y->node->op, &cube_op);
    cr_assert_eq(tg_backward(tg_sum(y), NULL), TG_OK);
    cr_assert_eq(tg_get_flat(tg_grad(x), 0), 12.0);
    cr_assert_eq(tg_get_flat(tg_grad(x), 1), 3.0);
    tg_free(x);
    reset_tape();
}

/* Two tapes on two threads would be tested with the thread suite; here: an
 * explicit tape receives ops on persistent inputs once made current. */
Test(tape, ops_on_persistent_inputs_go_to_the_current_tape) {
    tg_tape *tape = tg_tape_new();
    tg_tensor *x = param1(2.0);
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(y->tape, tape);
    tg_tape_use(previous);
    tg_tensor *z = tg_mul(y, x); /* follows its tape input, not the current tape */
    cr_assert_eq(z->tape, tape);
    tg_free(x);
    tg_tape_free(tape);
}

/* ---- freeing a tape that a thread uses ---- */

/* Freeing this thread's current tape puts the thread back on its default
 * tape: the next op runs there (before, the current tape pointed at freed
 * memory). */
Test(tape, freeing_the_current_tape_returns_the_thread_to_its_default_tape) {
    tg_tape *default_tape = tg_tape_current();
    tg_tape *tape = tg_tape_new();
    tg_tape_use(tape);
    tg_tensor *x = param1(3.0);
    cr_assert_eq(tg_mul(x, x)->tape, tape);
    tg_tape_free(tape);
    cr_assert_eq(tg_tape_current(), default_tape);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_not_null(y);
    cr_assert_eq(y->tape, default_tape);
    cr_assert_eq(tg_item(y), 9.0);
    tg_free(x);
    reset_tape();
}

/* A thread's default tape is freed when the thread ends; freeing it by hand
 * is refused and leaves it usable. */
Test(tape, freeing_a_default_tape_is_refused, .init = return_mode, .fini = abort_mode) {
    tg_tape *default_tape = tg_tape_current();
    tg_tape_free(default_tape);
    assert_error(TG_ERR_ARGUMENT, "tg_tape_free", "default tape");
    cr_assert_eq(tg_tape_current(), default_tape);
    tg_tensor *x = param1(2.0);
    cr_assert_eq(tg_item(tg_mul(x, x)), 4.0);
    tg_free(x);
    reset_tape();
}

typedef struct tape_user {
    tg_tape *tape;
    pthread_barrier_t *barrier;
    bool give_back; /* tg_tape_use(NULL) before ending */
} tape_user;

/* Makes `tape` current, waits at the barrier twice (the main thread acts in
 * between), then gives the tape back or ends with it still current. */
static void *use_tape_then_wait(void *arg) {
    tape_user *u = arg;
    tg_tape_use(u->tape);
    pthread_barrier_wait(u->barrier);
    pthread_barrier_wait(u->barrier);
    if (u->give_back) tg_tape_use(NULL);
    return NULL;
}

/* A tape current on another thread cannot be freed (that thread's next op
 * would use freed memory): refused, and allowed once that thread has moved
 * to another tape, or has ended. */
static void check_free_while_current_elsewhere(bool give_back) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    tape_user user = {tg_tape_new(), &barrier, give_back};
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, use_tape_then_wait, &user), 0);
    pthread_barrier_wait(&barrier);
    tg_tape_free(user.tape);
    assert_error(TG_ERR_TAPE, "tg_tape_free", "current tape of 1 other thread");
    cr_assert_eq(tg_tape_num_nodes(user.tape), 0, "the refused tape is still usable");
    pthread_barrier_wait(&barrier);
    cr_assert_eq(pthread_join(thread, NULL), 0);
    tg_tape_free(user.tape);
    cr_assert_eq(tg_last_error(), TG_OK, "%s", tg_last_error_message());
    pthread_barrier_destroy(&barrier);
}

Test(tape, freeing_a_tape_current_on_another_thread_is_refused, .init = return_mode, .fini = abort_mode) {
    check_free_while_current_elsewhere(true);
}

Test(tape, a_tape_current_on_a_thread_that_ended_can_be_freed, .init = return_mode, .fini = abort_mode) {
    check_free_while_current_elsewhere(false);
}
