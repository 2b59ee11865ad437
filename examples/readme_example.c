/* examples/readme_example.c — README.md's short example, word for word (the
 * test readme-example checks both): seed 002's 2-3-3-1 network, one forward
 * and backward pass and one SGD step. examples/worked_example.c goes on. */
#include <stdio.h>

#include "tapegrad.h"

static tg_tensor *param(int rows, int cols, const double *values)
{
    tg_tensor *t = tg_from_doubles(TG_F64, 2, (int64_t[]){rows, cols}, values);
    tg_set_requires_grad(t, true);
    return t;
}

int main(void)
{
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){1, 2}, (double[]){0.23, 0.55});
    tg_tensor *y = tg_scalar(TG_F64, 0.01);
    tg_tensor *W1 = param(2, 3, (double[]){0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
    tg_tensor *b1 = param(1, 3, (double[]){0.1, -0.4, 0.3});
    tg_tensor *W2 = param(3, 3, (double[]){0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
    tg_tensor *b2 = param(1, 3, (double[]){-0.5, 0.5, 0.6});
    tg_tensor *W3 = param(3, 1, (double[]){0.7, 0.8, 0.9}); /* w16 w17 w18 */
    tg_tensor *b3 = param(1, 1, (double[]){-0.7});          /* b7 */
    tg_tensor *params[] = {W1, b1, W2, b2, W3, b3};
    tg_optimizer *sgd = tg_sgd_new(6, params, 0.01);

    tg_tensor *h1   = tg_relu(tg_add(tg_matmul(x, W1), b1));
    tg_tensor *h2   = tg_relu(tg_add(tg_matmul(h1, W2), b2));
    tg_tensor *yhat = tg_sigmoid(tg_add(tg_matmul(h2, W3), b3));
    tg_tensor *E    = tg_mul_scalar(tg_pow(tg_sub(y, yhat), 2.0), 0.5);
    tg_backward(E, NULL);                 /* dE/dW3 is now in tg_grad(W3) */
    printf("yhat = %.5f  E = %.5f  dE/dw16 = %.7f\n", tg_item(yhat), tg_item(E), tg_get_flat(tg_grad(W3), 0));
    tg_optimizer_step(sgd);               /* W <- W - 0.01 dW             */
    printf("after one step: w16 = %.6f  b7 = %.6f\n", tg_get_flat(W3, 0), tg_get_flat(b3, 0));
    tg_tape_reset(tg_tape_current());     /* free this step's tensors     */

    tg_optimizer_free(sgd);
    for (int i = 0; i < 6; i++) tg_free(params[i]);
    tg_free(x);
    tg_free(y);
    return 0;
}
