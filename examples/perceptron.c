/* examples/perceptron.c — seed 003: one sigmoid neuron, yhat = s(x . w + b),
 * trained by gradient descent on the mean squared error
 *
 *     C = 1/n sum_k (y_k - yhat_k)^2
 *
 * on a small linearly separable data set drawn with tg_rng. For the first
 * step it prints the tape's gradient next to the article's closed form, then
 * trains and prints the accuracy on the training points and on fresh ones.
 *
 *   build/examples/perceptron
 */
#include <math.h>
#include <stdio.h>

#include "tapegrad.h"

enum { TRAIN = 200, TEST = 200, FEATURES = 2, STEPS = 1000 };
static const double LEARNING_RATE = 2.0;

/* The rule the neuron has to find: class 1 where 1.5 x1 - 2 x2 + 0.5 > 0.
 * Points closer than MARGIN to that line are drawn again, so the two classes
 * are separated by a band of width 2 MARGIN. */
static const double TRUE_W[FEATURES] = {1.5, -2.0}, TRUE_B = 0.5, MARGIN = 0.1;

/* Draws `count` points uniform in [-2, 2]^2 and their labels: x (count, 2),
 * y (count, 1). */
static void make_points(tg_rng *rng, int count, tg_tensor **x, tg_tensor **y) {
    double xs[TRAIN > TEST ? TRAIN * FEATURES : TEST * FEATURES], ys[TRAIN > TEST ? TRAIN : TEST];
    double norm = sqrt(TRUE_W[0] * TRUE_W[0] + TRUE_W[1] * TRUE_W[1]);
    for (int k = 0; k < count; k++) {
        double x1, x2, distance;
        do {
            x1 = 4 * tg_rng_uniform(rng) - 2;
            x2 = 4 * tg_rng_uniform(rng) - 2;
            distance = (TRUE_W[0] * x1 + TRUE_W[1] * x2 + TRUE_B) / norm;
        } while (fabs(distance) < MARGIN);
        xs[FEATURES * k] = x1;
        xs[FEATURES * k + 1] = x2;
        ys[k] = distance > 0;
    }
    *x = tg_from_doubles(TG_F64, 2, (int64_t[]){count, FEATURES}, xs);
    *y = tg_from_doubles(TG_F64, 2, (int64_t[]){count, 1}, ys);
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* The article's gradient, written out by hand over the data, independently
 * of the tape (plain doubles, its own forward pass):
 *
 *     dC/dw_i = -2/n sum_k (y_k - yhat_k) s(z_k) (1 - s(z_k)) x_ki
 *     dC/db   = -2/n sum_k (y_k - yhat_k) s(z_k) (1 - s(z_k))
 *
 * Two corrections to the formula as the article prints it,
 *     dC/dw_i = 2/n x sum(y - yhat) x s(z) x (1 - s(z)) x x_i:
 *   - the sign: d/dyhat (y - yhat)^2 = -2 (y - yhat), and the article drops
 *     the minus. With its sign, "w <- w - lr dC/dw" would climb the cost;
 *   - the sum must enclose the whole product: every example k brings its own
 *     error, its own s'(z_k) and its own x_ki (the printed form factors the
 *     sum out, which is only right for n = 1).
 * Writes FEATURES weight gradients into grad_w and the bias gradient into
 * *grad_b. */
static void closed_form_gradient(const tg_tensor *x, const tg_tensor *y, const tg_tensor *w, const tg_tensor *b,
                                 double grad_w[FEATURES], double *grad_b) {
    const double *xs = tg_const_data_f64(x), *ys = tg_const_data_f64(y), *ws = tg_const_data_f64(w);
    int64_t n = x->shape[0];
    for (int i = 0; i < FEATURES; i++) grad_w[i] = 0;
    *grad_b = 0;
    for (int64_t k = 0; k < n; k++) {
        double z = tg_item(b);
        for (int i = 0; i < FEATURES; i++) z += xs[FEATURES * k + i] * ws[i];
        double yhat = sigmoid(z);
        double common = -2.0 / (double)n * (ys[k] - yhat) * yhat * (1 - yhat);
        for (int i = 0; i < FEATURES; i++) grad_w[i] += common * xs[FEATURES * k + i];
        *grad_b += common;
    }
}

/* The neuron on a batch x (n, 2): s(x @ w + b), shape (n, 1). */
static tg_tensor *neuron(tg_tensor *x, tg_tensor *w, tg_tensor *b) { return tg_sigmoid(tg_add(tg_matmul(x, w), b)); }

static double accuracy_on(tg_tensor *x, tg_tensor *y, tg_tensor *w, tg_tensor *b) {
    bool was_enabled = tg_set_grad_enabled(false);
    double accuracy = tg_binary_accuracy(neuron(x, w, b), y);
    tg_set_grad_enabled(was_enabled);
    return accuracy;
}

int main(void) {
    tg_rng rng = tg_rng_seeded(3);
    tg_tensor *train_x, *train_y, *test_x, *test_y;
    make_points(&rng, TRAIN, &train_x, &train_y);
    make_points(&rng, TEST, &test_x, &test_y);

    /* w (2, 1) small random, b (1) zero: the parameters. */
    tg_tensor *w = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){FEATURES, 1}, 0.0, 0.5);
    tg_tensor *b = tg_zeros(TG_F64, 1, (int64_t[]){1});
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_tensor *params[] = {w, b};
    tg_optimizer *sgd = tg_sgd_new(2, params, LEARNING_RATE);

    printf("one sigmoid neuron, MSE, %d training points in 2-D (separable), gradient descent, lr %g\n\n", TRAIN,
           LEARNING_RATE);
    for (int step = 0; step <= STEPS; step++) {
        tg_optimizer_zero_grad(sgd);
        tg_tensor *yhat = neuron(train_x, w, b);
        tg_tensor *cost = tg_mse_loss(yhat, train_y);
        tg_backward(cost, NULL);
        if (step == 0) {
            double grad_w[FEATURES], grad_b;
            closed_form_gradient(train_x, train_y, w, b, grad_w, &grad_b);
            printf("step 0: w = (%.6f, %.6f), b = 0, C = %.6f\n", tg_get_flat(w, 0), tg_get_flat(w, 1),
                   tg_item(cost));
            printf("            %22s %22s %10s\n", "tape (tg_backward)", "closed form", "|diff|");
            for (int i = 0; i < FEATURES; i++) {
                double tape = tg_get_flat(tg_grad(w), i);
                printf("  dC/dw%d    %22.15e %22.15e %10.1e\n", i + 1, tape, grad_w[i], fabs(tape - grad_w[i]));
            }
            double tape_b = tg_get_flat(tg_grad(b), 0);
            printf("  dC/db     %22.15e %22.15e %10.1e\n", tape_b, grad_b, fabs(tape_b - grad_b));
            printf("  (the article's printed sign would give the negatives of these: an ascent direction)\n\n");
        }
        tg_optimizer_step(sgd);
        if (step % 100 == 0) {
            printf("step %4d  C = %.6f  training accuracy %6.2f%%\n", step, tg_item(cost),
                   100 * tg_binary_accuracy(yhat, train_y));
        }
        tg_tape_reset(tg_tape_current());
    }

    double train_accuracy = accuracy_on(train_x, train_y, w, b), test_accuracy = accuracy_on(test_x, test_y, w, b);
    tg_tape_reset(tg_tape_current());
    /* The learned boundary x . w + b = 0 against the true one: compare the
     * normalized coefficient vectors (w1, w2, b). */
    double learned[3] = {tg_get_flat(w, 0), tg_get_flat(w, 1), tg_get_flat(b, 0)};
    double truth[3] = {TRUE_W[0], TRUE_W[1], TRUE_B}, dot = 0, norm_learned = 0, norm_truth = 0;
    for (int i = 0; i < 3; i++) {
        dot += learned[i] * truth[i];
        norm_learned += learned[i] * learned[i];
        norm_truth += truth[i] * truth[i];
    }
    printf("\nlearned w = (%.4f, %.4f), b = %.4f; cosine to the true rule (1.5, -2, 0.5): %.4f\n", learned[0],
           learned[1], learned[2], dot / sqrt(norm_learned * norm_truth));
    printf("accuracy: training %.2f%%, %d fresh test points %.2f%%\n", 100 * train_accuracy, TEST, 100 * test_accuracy);

    tg_optimizer_free(sgd);
    tg_free(w);
    tg_free(b);
    tg_free(train_x);
    tg_free(train_y);
    tg_free(test_x);
    tg_free(test_y);
    return train_accuracy == 1.0 && test_accuracy >= 0.95 ? 0 : 1;
}
