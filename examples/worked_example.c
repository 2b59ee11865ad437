/* examples/worked_example.c — seed 002's 2-3-3-1 network with the article's
 * numbers: prints each layer's outputs, the error, every gradient and the
 * weights after one SGD step, then trains on the one example for 1,000 steps
 * (the tape is reset every step: constant memory).
 *
 *   build/examples/worked_example
 */
#include <stdio.h>

#include "tapegrad.h"

static tg_tensor *param(int rows, int cols, const double *values) {
    tg_tensor *t = tg_from_doubles(TG_F64, 2, (int64_t[]){rows, cols}, values);
    tg_set_requires_grad(t, true);
    return t;
}

int main(void) {
    /* w1..w18 and b1..b7 from the article; column j of W1 feeds hidden unit j. */
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){1, 2}, (double[]){0.23, 0.55});
    tg_tensor *y = tg_scalar(TG_F64, 0.01);
    tg_tensor *W1 = param(2, 3, (double[]){0.1, 0.2, 0.3, /* w1 w2 w3 */ 0.4, 0.5, 0.6 /* w4 w5 w6 */});
    tg_tensor *b1 = param(1, 3, (double[]){0.1, -0.4, 0.3});
    tg_tensor *W2 = param(3, 3, (double[]){0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6}); /* w7..w15 */
    tg_tensor *b2 = param(1, 3, (double[]){-0.5, 0.5, 0.6});
    tg_tensor *W3 = param(3, 1, (double[]){0.7, 0.8, 0.9}); /* w16 w17 w18 */
    tg_tensor *b3 = param(1, 1, (double[]){-0.7});
    tg_tensor *params[] = {W1, b1, W2, b2, W3, b3};
    const char *names[] = {"W1", "b1", "W2", "b2", "W3", "b3"};
    tg_optimizer *sgd = tg_sgd_new(6, params, 0.01);

    for (int step = 0; step <= 1000; step++) {
        tg_tensor *h1 = tg_relu(tg_add(tg_matmul(x, W1), b1));
        tg_tensor *h2 = tg_relu(tg_add(tg_matmul(h1, W2), b2));
        tg_tensor *yhat = tg_sigmoid(tg_add(tg_matmul(h2, W3), b3));
        tg_tensor *error = tg_mul_scalar(tg_pow(tg_sub(y, yhat), 2.0), 0.5); /* E = 1/2 (y - yhat)^2 */
        tg_optimizer_zero_grad(sgd);
        tg_backward(error, NULL);
        if (step == 0) {
            printf("hidden layer 1 (n3 n4 n5): ");
            tg_print(h1);
            printf("hidden layer 2 (n6 n7 n8): ");
            tg_print(h2);
            printf("output yhat = %.6f   error E = %.6f\n\ngradients:\n", tg_item(yhat), tg_item(error));
            for (int i = 0; i < 6; i++) {
                printf("dE/d%s = ", names[i]);
                tg_print(tg_grad(params[i]));
            }
        }
        tg_optimizer_step(sgd);
        if (step == 0) {
            printf("\nafter one SGD step (eta = 0.01):\n");
            printf("w16 = %.6f  w17 = %.6f  w18 = %.6f  b7 = %.6f\n\n", tg_get_flat(W3, 0), tg_get_flat(W3, 1),
                   tg_get_flat(W3, 2), tg_get_flat(b3, 0));
        } else if (step % 200 == 0) {
            printf("step %4d  E = %.6f  yhat = %.6f\n", step, tg_item(error), tg_item(yhat));
        }
        tg_tape_reset(tg_tape_current());
    }
    tg_optimizer_free(sgd);
    for (int i = 0; i < 6; i++) tg_free(params[i]);
    tg_free(x);
    tg_free(y);
    return 0;
}
