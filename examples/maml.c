/* examples/maml.c — model-agnostic meta-learning (Finn, Abbeel and Levine,
 * "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks", ICML
 * 2017), on the paper's sinusoid regression: a task is y = A sin(x - phase)
 * with A uniform in [0.1, 5], phase uniform in [0, pi], x uniform in
 * [-5, 5]; a learner sees K = 10 points of a new task and takes one SGD
 * step (alpha = 0.01) on their mean squared error.
 *
 * The network is the paper's 1-40-40-1 with ReLUs, written as a function of
 * its weights so that adapted weights theta' = theta - alpha grad L_support
 * (theta) can be used in place of theta. Three ways to train theta, each
 * for the same number of meta-steps of 25 tasks with Adam (lr 0.001):
 *   MAML        minimise L_query(theta') through the inner step: the inner
 *               gradient is recorded (tg_gradients with create_graph), so
 *               the meta-gradient holds second derivatives;
 *   first-order the same with the inner gradient taken as a constant (FOMAML);
 *   pretrained  minimise L(theta) on all tasks' points together, the
 *               paper's "pretrained" baseline.
 * Each is then tested on 200 new tasks: the loss on 100 points of the task
 * before and after one step on its 10 support points. Writes maml.svg (one
 * test task: the true curve, the 10 points, and each model after one step)
 * into the current directory or argv[1]; argv[2] sets the meta-steps
 * (default 3000).
 *
 *   build/examples/maml [output-directory [meta-steps]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "tapegrad.h"

enum { K = 10, META_BATCH = 25, HIDDEN = 40, N_PARAMS = 6, TEST_TASKS = 200, EVAL_POINTS = 100 };
static const double INNER_LR = 0.01, META_LR = 0.001;
static const double PI = 3.14159265358979323846;

typedef enum method { MAML, FIRST_ORDER, PRETRAINED } method;
static const char *const method_names[] = {"MAML", "first-order MAML", "pretrained"};

typedef struct task {
    double amplitude, phase;
} task;

static task draw_task(tg_rng *rng) {
    return (task){0.1 + 4.9 * tg_rng_uniform(rng), PI * tg_rng_uniform(rng)};
}

/* x uniform in [-5, 5] into x (K,1) and the task's y into y (K,1). */
static void draw_points(tg_rng *rng, task t, tg_tensor *x, tg_tensor *y) {
    double *xs = tg_data_f64(x), *ys = tg_data_f64(y);
    for (int64_t i = 0; i < x->numel; i++) {
        xs[i] = -5 + 10 * tg_rng_uniform(rng);
        ys[i] = t.amplitude * sin(xs[i] - t.phase);
    }
}

/* ---- the network as a function of its weights ---- */

/* W1 (1,40) b1 (40) W2 (40,40) b2 (40) W3 (40,1) b3 (1): weights normal
 * with std 0.01 and zero biases, as the paper's code (cbfinn/maml) starts:
 * the first predictions are near 0 and the inner step's gradients small, so
 * that one step of 0.01 does not overshoot. */
static void init_params(tg_rng *rng, tg_tensor **theta) {
    const int64_t shapes[N_PARAMS][2] = {{1, HIDDEN}, {HIDDEN, 0}, {HIDDEN, HIDDEN}, {HIDDEN, 0}, {HIDDEN, 1}, {1, 0}};
    for (int i = 0; i < N_PARAMS; i++) {
        bool weight = i % 2 == 0;
        theta[i] = weight ? tg_rand_normal(rng, TG_F64, 2, shapes[i], 0.0, 0.01) : tg_zeros(TG_F64, 1, shapes[i]);
        tg_set_requires_grad(theta[i], true);
    }
}

static tg_tensor *net(tg_tensor *x, tg_tensor *const *w) {
    tg_tensor *h = tg_relu(tg_add(tg_matmul(x, w[0]), w[1]));
    h = tg_relu(tg_add(tg_matmul(h, w[2]), w[3]));
    return tg_add(tg_matmul(h, w[4]), w[5]);
}

/* theta' = theta - alpha grad L_support(theta). With create_graph the step
 * is recorded, so later gradients see through it (second order). */
static bool adapt(tg_tensor *const *theta, tg_tensor *x, tg_tensor *y, bool create_graph, tg_tensor **adapted) {
    tg_tensor *grads[N_PARAMS];
    if (tg_gradients(tg_mse_loss(net(x, theta), y), NULL, N_PARAMS, theta, grads, create_graph) != TG_OK)
        return false;
    for (int i = 0; i < N_PARAMS; i++) adapted[i] = tg_sub(theta[i], tg_mul_scalar(grads[i], INNER_LR));
    return true;
}

/* ---- meta-training ---- */

typedef struct batch_data {
    tg_tensor *x_support[META_BATCH], *y_support[META_BATCH], *x_query[META_BATCH], *y_query[META_BATCH];
} batch_data;

static void batch_alloc(batch_data *b) {
    for (int t = 0; t < META_BATCH; t++) {
        b->x_support[t] = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
        b->y_support[t] = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
        b->x_query[t] = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
        b->y_query[t] = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
    }
}

static void batch_free(batch_data *b) {
    for (int t = 0; t < META_BATCH; t++) {
        tg_free(b->x_support[t]);
        tg_free(b->y_support[t]);
        tg_free(b->x_query[t]);
        tg_free(b->y_query[t]);
    }
}

/* The loss of one task under `m`: the query loss after adapting on the
 * support points (MAML, first order), or the loss on all 2K points. */
static tg_tensor *task_loss(method m, tg_tensor *const *theta, const batch_data *b, int t) {
    if (m == PRETRAINED)
        return tg_add(tg_mse_loss(net(b->x_support[t], theta), b->y_support[t]),
                      tg_mse_loss(net(b->x_query[t], theta), b->y_query[t]));
    tg_tensor *adapted[N_PARAMS];
    if (!adapt(theta, b->x_support[t], b->y_support[t], m == MAML, adapted)) return NULL;
    return tg_mse_loss(net(b->x_query[t], adapted), b->y_query[t]);
}

static void meta_train(method m, tg_tensor **theta, int steps, uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_optimizer *adam = tg_adam_new(N_PARAMS, theta, META_LR);
    batch_data b;
    batch_alloc(&b);
    char label[64];
    snprintf(label, sizeof label, "  %-16s", method_names[m]);
    tg_progress *progress = tg_progress_new(stdout, label, steps, TG_PROGRESS_AUTO);
    double recent = 0;
    for (int step = 1; step <= steps; step++) {
        for (int t = 0; t < META_BATCH; t++) {
            task task = draw_task(&rng);
            draw_points(&rng, task, b.x_support[t], b.y_support[t]);
            draw_points(&rng, task, b.x_query[t], b.y_query[t]);
        }
        tg_optimizer_set_grads_to_none(adam);
        tg_tensor *meta_loss = NULL;
        for (int t = 0; t < META_BATCH; t++) {
            tg_tensor *loss = task_loss(m, theta, &b, t);
            meta_loss = meta_loss ? tg_add(meta_loss, loss) : loss;
        }
        meta_loss = tg_mul_scalar(meta_loss, 1.0 / META_BATCH);
        tg_backward(meta_loss, NULL);
        tg_optimizer_step(adam);
        recent = step == 1 ? tg_item(meta_loss) : 0.98 * recent + 0.02 * tg_item(meta_loss);
        tg_tape_reset(tg_tape_current());
        tg_progress_set_metric(progress, "loss", recent);
        tg_progress_advance(progress, 1);
    }
    tg_progress_finish(progress, true);
    batch_free(&b);
    tg_optimizer_free(adam);
}

/* ---- testing: one step on K points, loss on a grid ---- */

typedef struct test_result {
    double before, after_one, after_ten; /* mean MSE over the test tasks */
} test_result;

static tg_tensor *grid(void) {
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){EVAL_POINTS, 1});
    for (int i = 0; i < EVAL_POINTS; i++) tg_set_flat(x, i, -5 + 10.0 * i / (EVAL_POINTS - 1));
    return x;
}

static tg_tensor *truth_on(task t, const tg_tensor *x) {
    tg_tensor *y = tg_zeros(TG_F64, 2, x->shape);
    for (int64_t i = 0; i < x->numel; i++) tg_set_flat(y, i, t.amplitude * sin(tg_get_flat(x, i) - t.phase));
    return y;
}

static double mse_now(tg_tensor *const *w, tg_tensor *x, tg_tensor *y) {
    bool was = tg_set_grad_enabled(false);
    double loss = tg_item(tg_mse_loss(net(x, w), y));
    tg_set_grad_enabled(was);
    return loss;
}

/* `steps` plain SGD steps from theta on (x, y); persistent copies in out. */
static void fine_tune(tg_tensor *const *theta, tg_tensor *x, tg_tensor *y, int steps, tg_tensor **out) {
    for (int i = 0; i < N_PARAMS; i++) {
        out[i] = tg_clone(theta[i]);
        tg_set_requires_grad(out[i], true);
    }
    for (int s = 0; s < steps; s++) {
        tg_tensor *adapted[N_PARAMS];
        adapt(out, x, y, false, adapted);
        for (int i = 0; i < N_PARAMS; i++) tg_copy_into(out[i], adapted[i]);
        tg_tape_reset(tg_tape_current());
    }
}

static void free_params(tg_tensor **w) {
    for (int i = 0; i < N_PARAMS; i++) tg_free(w[i]);
}

static test_result test(tg_tensor *const *theta, uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){K, 1}), *y = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
    tg_tensor *xs = grid();
    test_result r = {0, 0, 0};
    for (int t = 0; t < TEST_TASKS; t++) {
        task task = draw_task(&rng);
        draw_points(&rng, task, x, y);
        tg_tensor *ys = truth_on(task, xs), *one[N_PARAMS], *ten[N_PARAMS];
        fine_tune(theta, x, y, 1, one);
        fine_tune(theta, x, y, 10, ten);
        r.before += mse_now(theta, xs, ys) / TEST_TASKS;
        r.after_one += mse_now(one, xs, ys) / TEST_TASKS;
        r.after_ten += mse_now(ten, xs, ys) / TEST_TASKS;
        tg_tape_reset(tg_tape_current());
        free_params(one);
        free_params(ten);
        tg_free(ys);
    }
    tg_free(xs);
    tg_free(x);
    tg_free(y);
    return r;
}

/* ---- the figure ---- */

static void predictions(tg_tensor *const *w, tg_tensor *xs, double *out) {
    bool was = tg_set_grad_enabled(false);
    tg_copy_to_doubles(net(xs, w), out);
    tg_set_grad_enabled(was);
    tg_tape_reset(tg_tape_current());
}

static bool write_figure(const char *path, tg_tensor *thetas[3][N_PARAMS]) {
    static const char *const colors[] = {"#d62728", "#1f77b4", "#2ca02c"};
    tg_rng rng = tg_rng_seeded(99);
    task t = {3.0, 1.0};
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){K, 1}), *y = tg_zeros(TG_F64, 2, (int64_t[]){K, 1});
    draw_points(&rng, t, x, y);
    tg_tensor *xs = grid(), *ys = truth_on(t, xs);
    double gx[EVAL_POINTS], gy[EVAL_POINTS], curve[EVAL_POINTS];
    tg_copy_to_doubles(xs, gx);
    tg_copy_to_doubles(ys, gy);

    svg_writer w;
    bool ok = svg_begin(&w, path, 720, 460);
    if (ok) {
        svg_axes a = {.left = 60, .top = 40, .width = 620, .height = 360, .x_min = -5, .x_max = 5, .y_min = -5,
                      .y_max = 5};
        svg_axes_draw(&w, &a, "One gradient step on 10 points of y = 3 sin(x - 1)", "x", "y");
        svg_axes_polyline(&w, &a, EVAL_POINTS, gx, gy, "black", 2.5);
        for (int m = 0; m < 3; m++) {
            tg_tensor *one[N_PARAMS];
            fine_tune(thetas[m], x, y, 1, one);
            predictions(one, xs, curve);
            svg_axes_polyline(&w, &a, EVAL_POINTS, gx, curve, colors[m], 2);
            free_params(one);
        }
        for (int i = 0; i < K; i++)
            svg_circle(&w, svg_axes_x(&a, tg_get_flat(x, i)), svg_axes_y(&a, tg_get_flat(y, i)), 5, "#ff7f0e",
                       "black", 1);
        svg_legend_line(&w, a.left + 20, a.top + 20, "black", "true function");
        for (int m = 0; m < 3; m++) {
            char legend[64];
            snprintf(legend, sizeof legend, "%s, after 1 step", method_names[m]);
            svg_legend_line(&w, a.left + 20, a.top + 38 + 18 * m, colors[m], legend);
        }
        ok = svg_end(&w);
    }
    tg_free(ys);
    tg_free(xs);
    tg_free(x);
    tg_free(y);
    return ok;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    int steps = argc > 2 ? atoi(argv[2]) : 3000;
    if (steps < 1) {
        fprintf(stderr, "maml: meta-steps must be >= 1, got '%s'\n", argv[2]);
        return 2;
    }
    printf("sinusoid regression: A in [0.1, 5], phase in [0, pi], K = %d shots, 1-40-40-1 ReLU network,\n"
           "one inner SGD step (alpha %.2g), %d meta-steps of %d tasks, Adam lr %g\n\n",
           K, INNER_LR, steps, META_BATCH, META_LR);
    tg_tensor *thetas[3][N_PARAMS];
    for (int m = 0; m < 3; m++) {
        tg_rng init = tg_rng_seeded(1); /* the same starting weights for all three */
        init_params(&init, thetas[m]);
        meta_train((method)m, thetas[m], steps, 1000 + (uint64_t)m);
    }
    printf("\nmean squared error on %d new tasks (100 points on [-5, 5]), after adapting on %d points:\n",
           TEST_TASKS, K);
    printf("  %-18s %12s %12s %12s\n", "", "no step", "1 step", "10 steps");
    test_result results[3];
    for (int m = 0; m < 3; m++) {
        results[m] = test(thetas[m], 77);
        printf("  %-18s %12.4f %12.4f %12.4f\n", method_names[m], results[m].before, results[m].after_one,
               results[m].after_ten);
    }
    printf("one-step loss: MAML %.3f vs pretrained %.3f (%.1fx lower); first-order %.3f\n", results[MAML].after_one,
           results[PRETRAINED].after_one, results[PRETRAINED].after_one / results[MAML].after_one,
           results[FIRST_ORDER].after_one);

    char path[1024];
    snprintf(path, sizeof path, "%s/maml.svg", dir);
    bool written = write_figure(path, thetas);
    if (written) printf("wrote %s\n", path);
    for (int m = 0; m < 3; m++) free_params(thetas[m]);
    return written && results[MAML].after_one < results[PRETRAINED].after_one ? 0 : 1;
}
