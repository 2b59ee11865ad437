/* tests/core/test_grad_ready_hook.c — tg_set_grad_ready_hook: tg_backward
 * calls the hook once per reached leaf, after the leaf's last contribution,
 * in reverse topological order; never for an unreached leaf, never under
 * tg_gradients, and not after the hook is removed.
 *
 * The graph, recorded in this order, with a = 2, b = 3, c = 7, d = 5:
 *   q = c*c (not on the loss's path), u = a*a, v = u*b, w = v + d, z = w*a.
 * By hand: dz/da = 3a^2 b + d = 41 (17 from z = w*a, then 24 through u),
 * dz/db = a^3 = 8, dz/dd = a = 2. The first uses are a: u, b: v, d: w, so
 * the hook must see d, then b, then a, each with its final gradient. */
#include <math.h>
#include <pthread.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

typedef struct ready_log {
    int n;
    tg_tensor *leaves[8];
    double grads[8];
} ready_log;

static void log_ready(tg_tensor *leaf, void *ctx)
{
    ready_log *log = ctx;
    cr_assert_lt(log->n, 8);
    log->leaves[log->n] = leaf;
    log->grads[log->n] = leaf->grad ? tg_get_flat(leaf->grad, 0) : NAN;
    log->n++;
}

static tg_tensor *scalar_param(double value)
{
    tg_tensor *p = tg_scalar(TG_F64, value);
    cr_assert_not_null(p);
    cr_assert_eq(tg_set_requires_grad(p, true), TG_OK);
    return p;
}

typedef struct graph {
    tg_tensor *a, *b, *c, *d;
} graph;

static graph make_params(void)
{
    return (graph){scalar_param(2.0), scalar_param(3.0), scalar_param(7.0), scalar_param(5.0)};
}

static tg_tensor *record_z(graph *g)
{
    tg_tensor *q = tg_mul(g->c, g->c);
    cr_assert_not_null(q);
    tg_tensor *u = tg_mul(g->a, g->a);
    tg_tensor *v = tg_mul(u, g->b);
    tg_tensor *w = tg_add(v, g->d);
    return tg_mul(w, g->a);
}

static void free_params(graph *g)
{
    tg_tensor *all[4] = {g->a, g->b, g->c, g->d};
    for (int i = 0; i < 4; i++) tg_free(all[i]);
}

Test(grad_ready_hook, once_per_leaf_after_last_contribution_in_reverse_order, .init = return_mode, .fini = reset_tape)
{
    graph g = make_params();
    ready_log log = {0};
    tg_set_grad_ready_hook(log_ready, &log);
    tg_status s = tg_backward(record_z(&g), NULL);
    tg_set_grad_ready_hook(NULL, NULL);
    cr_assert_eq(s, TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(log.n, 3, "the hook ran %d times; expected once for each of d, b, a (not for c)", log.n);
    tg_tensor *order[3] = {g.d, g.b, g.a};
    double final[3] = {2.0, 8.0, 41.0};
    const char *names[3] = {"d", "b", "a"};
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(log.leaves[k], order[k], "call %d is not for %s", k, names[k]);
        cr_assert_eq(log.grads[k], final[k], "%s's grad in the hook is %g; its final value is %g", names[k],
                     log.grads[k], final[k]);
    }
    cr_assert_eq(tg_get_flat(tg_grad(g.a), 0), 41.0);
    free_params(&g);
}

Test(grad_ready_hook, fires_again_on_each_backward, .init = return_mode, .fini = reset_tape)
{
    graph g = make_params();
    ready_log log = {0};
    tg_set_grad_ready_hook(log_ready, &log);
    cr_assert_eq(tg_backward(record_z(&g), NULL), TG_OK, "%s", tg_last_error_message());
    reset_tape();
    cr_assert_eq(tg_backward(record_z(&g), NULL), TG_OK, "%s", tg_last_error_message());
    tg_set_grad_ready_hook(NULL, NULL);
    cr_assert_eq(log.n, 6);
    cr_assert_eq(log.leaves[5], g.a);
    cr_assert_eq(log.grads[5], 82.0, "a's grad accumulates over both passes: 2 x 41, got %g", log.grads[5]);
    free_params(&g);
}

Test(grad_ready_hook, not_called_by_tg_gradients_nor_once_removed, .init = return_mode, .fini = reset_tape)
{
    graph g = make_params();
    ready_log log = {0};
    tg_set_grad_ready_hook(log_ready, &log);
    tg_tensor *wrt[2] = {g.a, g.b}, *grads[2];
    cr_assert_eq(tg_gradients(record_z(&g), NULL, 2, wrt, grads, false), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_get_flat(grads[0], 0), 41.0);
    cr_assert_eq(log.n, 0, "tg_gradients called the hook %d times", log.n);
    tg_set_grad_ready_hook(NULL, NULL);
    cr_assert_eq(tg_backward(record_z(&g), NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(log.n, 0, "a removed hook was called %d times", log.n);
    free_params(&g);
}

Test(grad_ready_hook, a_leaf_differentiated_by_itself, .init = return_mode, .fini = reset_tape)
{
    tg_tensor *p = scalar_param(4.0);
    ready_log log = {0};
    tg_set_grad_ready_hook(log_ready, &log);
    cr_assert_eq(tg_backward(p, NULL), TG_OK, "%s", tg_last_error_message());
    tg_set_grad_ready_hook(NULL, NULL);
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.leaves[0], p);
    cr_assert_eq(log.grads[0], 1.0);
    tg_free(p);
}

/* Each thread has its own hook: one set on another thread is not called. */
static void *backward_without_hook(void *arg)
{
    graph *g = arg;
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_backward(record_z(g), NULL);
    tg_tape_reset(tg_tape_current());
    return NULL;
}

Test(grad_ready_hook, per_thread, .init = return_mode, .fini = reset_tape)
{
    graph g = make_params();
    ready_log log = {0};
    tg_set_grad_ready_hook(log_ready, &log);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, backward_without_hook, &g), 0);
    pthread_join(thread, NULL);
    tg_set_grad_ready_hook(NULL, NULL);
    cr_assert_eq(log.n, 0, "a hook set on the main thread ran %d times for another thread's backward", log.n);
    cr_assert_eq(tg_get_flat(tg_grad(g.a), 0), 41.0);
    free_params(&g);
}
