/* tests/core/test_seeds.c — the tape reproduces the closed-form results of
 * the four seed articles (../shared/seeds/). Every network here is built from
 * primitive ops only; the expected numbers come from the articles or from the
 * articles' closed-form formulas evaluated independently in plain C. */
#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* The article prints 5 significant digits: agree to half a unit of the last. */
static void assert_printed(double actual, double printed, double half_unit, const char *what) {
    cr_assert(fabs(actual - printed) <= half_unit, "%s: tape %.10g, article %.10g", what, actual, printed);
}

static double grad_at(const tg_tensor *t, int64_t i) { return tg_get_flat(tg_grad(t), i); }

/* Relative closeness with an absolute floor for values near zero. */
static void assert_close(double actual, double expected, double rel, const char *what) {
    double tol = rel * fmax(fabs(expected), 1e-3);
    cr_assert(fabs(actual - expected) <= tol, "%s: tape %.15g, expected %.15g (tol %.3g)", what, actual, expected, tol);
}

/* ---------------------------------------------------------------------------
 * Seed 002 (002_2a4271f74d52a17d.txt): the 2-3-3-1 network, ReLU hidden
 * layers, sigmoid output, E = 1/2 (y - yhat)^2 with y = 0.01.
 * Layout: n3 = w1 x1 + w4 x2 + b1, n4: w2, w5, b2, n5: w3, w6, b3;
 * n6 = w7 n3 + w10 n4 + w13 n5 + b4, n7: w8, w11, w14, b5, n8: w9, w12, w15, b6;
 * n9 = w16 n6 + w17 n7 + w18 n8 + b7. As matrices (row vector x):
 *   h1 = relu(x W1 + b1), W1[i][j] = w(1 + j + 3i)
 *   h2 = relu(h1 W2 + b2), W2[i][j] = w(7 + j + 3i)
 *   yhat = sigmoid(h2 W3 + b3), W3[i][0] = w(16 + i)
 * ------------------------------------------------------------------------- */

static const double seed2_w[19] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                   0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}; /* w[1..18] */
static const double seed2_b[8] = {0, 0.1, -0.4, 0.3, -0.5, 0.5, 0.6, -0.7};       /* b[1..7]  */
static const double seed2_x[2] = {0.23, 0.55};
static const double seed2_y = 0.01;

typedef struct seed2_net {
    tg_tensor *x, *y, *W1, *b1, *W2, *b2, *W3, *b3;
    tg_tensor *h1, *h2, *yhat, *error;
} seed2_net;

static seed2_net seed2_build(void) {
    seed2_net n;
    double W1[6], W2[9], W3[3];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) W1[i * 3 + j] = seed2_w[1 + j + 3 * i];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) W2[i * 3 + j] = seed2_w[7 + j + 3 * i];
    for (int i = 0; i < 3; i++) W3[i] = seed2_w[16 + i];
    n.x = make(TG_F64, 2, (int64_t[]){1, 2}, seed2_x);
    n.y = make(TG_F64, 0, NULL, &seed2_y);
    n.W1 = param(TG_F64, 2, (int64_t[]){2, 3}, W1);
    n.b1 = param(TG_F64, 1, (int64_t[]){3}, &seed2_b[1]);
    n.W2 = param(TG_F64, 2, (int64_t[]){3, 3}, W2);
    n.b2 = param(TG_F64, 1, (int64_t[]){3}, &seed2_b[4]);
    n.W3 = param(TG_F64, 2, (int64_t[]){3, 1}, W3);
    n.b3 = param(TG_F64, 1, (int64_t[]){1}, &seed2_b[7]);
    n.h1 = tg_relu(tg_add(tg_matmul(n.x, n.W1), n.b1));
    n.h2 = tg_relu(tg_add(tg_matmul(n.h1, n.W2), n.b2));
    n.yhat = tg_sigmoid(tg_add(tg_matmul(n.h2, n.W3), n.b3));
    n.error = tg_mul_scalar(tg_pow(tg_sub(n.y, tg_reshape(n.yhat, 0, NULL)), 2.0), 0.5);
    return n;
}

static void seed2_free(seed2_net *n) {
    tg_tensor *all[] = {n->x, n->y, n->W1, n->b1, n->W2, n->b2, n->W3, n->b3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tg_free(all[i]);
    tg_tape_reset(tg_tape_current());
}

Test(seed002, forward_matches_the_article) {
    seed2_net n = seed2_build();
    /* The article's hidden values: n3 = 0.343, n4 = 0 (net -0.079), n5 = 0.699,
     * n6 = 0.0197, n7 = 1.1239, n8 = 1.3281, net9 = 1.4082. */
    const double h1[3] = {0.343, 0, 0.699}, h2[3] = {0.0197, 1.1239, 1.3281};
    for (int i = 0; i < 3; i++) cr_assert(fabs(tg_get_flat(n.h1, i) - h1[i]) < 5e-5, "hidden 1 [%d]", i);
    for (int i = 0; i < 3; i++) cr_assert(fabs(tg_get_flat(n.h2, i) - h2[i]) < 5e-5, "hidden 2 [%d]", i);
    assert_printed(tg_item(n.yhat), 0.80348, 5e-6, "yhat");
    assert_printed(tg_item(n.error), 0.31481, 5e-6, "E");
    seed2_free(&n);
}

Test(seed002, printed_gradients) {
    seed2_net n = seed2_build();
    cr_assert_eq(tg_backward(n.error, NULL), TG_OK);
    assert_printed(grad_at(n.W3, 0), 0.0024682, 5e-8, "dE/dw16");
    assert_printed(grad_at(n.b3, 0), 0.12529, 5e-6, "dE/db7");
    assert_printed(grad_at(n.W2, 0), 0.030082, 5e-7, "dE/dw7"); /* W2[0][0] = w7 */
    seed2_free(&n);
}

/* Every gradient of the network against the chain rule worked by hand (the
 * article's method, applied to all 25 parameters), in plain doubles. */
Test(seed002, every_gradient_matches_the_chain_rule) {
    seed2_net n = seed2_build();
    cr_assert_eq(tg_backward(n.error, NULL), TG_OK);

    double net1[3], out1[3], net2[3], out2[3];
    for (int j = 0; j < 3; j++) {
        net1[j] = seed2_w[1 + j] * seed2_x[0] + seed2_w[4 + j] * seed2_x[1] + seed2_b[1 + j];
        out1[j] = net1[j] > 0 ? net1[j] : 0;
    }
    for (int j = 0; j < 3; j++) {
        net2[j] = seed2_b[4 + j];
        for (int i = 0; i < 3; i++) net2[j] += seed2_w[7 + j + 3 * i] * out1[i];
        out2[j] = net2[j] > 0 ? net2[j] : 0;
    }
    double net9 = seed2_b[7];
    for (int i = 0; i < 3; i++) net9 += seed2_w[16 + i] * out2[i];
    double yhat = 1 / (1 + exp(-net9));
    double delta9 = (yhat - seed2_y) * yhat * (1 - yhat); /* dE/dnet9 */
    double delta2[3], delta1[3];
    for (int j = 0; j < 3; j++) delta2[j] = delta9 * seed2_w[16 + j] * (net2[j] > 0);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 3; j++) s += delta2[j] * seed2_w[7 + j + 3 * i];
        delta1[i] = s * (net1[i] > 0);
    }
    for (int i = 0; i < 3; i++) assert_close(grad_at(n.W3, i), delta9 * out2[i], 1e-12, "dW3");
    assert_close(grad_at(n.b3, 0), delta9, 1e-12, "db3");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) assert_close(grad_at(n.W2, i * 3 + j), delta2[j] * out1[i], 1e-12, "dW2");
    for (int j = 0; j < 3; j++) assert_close(grad_at(n.b2, j), delta2[j], 1e-12, "db2");
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) assert_close(grad_at(n.W1, i * 3 + j), delta1[j] * seed2_x[i], 1e-12, "dW1");
    for (int j = 0; j < 3; j++) assert_close(grad_at(n.b1, j), delta1[j], 1e-12, "db1");
    /* n4 is dead (net -0.079): nothing flows into w2, w5, b2. */
    cr_assert_eq(grad_at(n.W1, 1), 0.0);
    cr_assert_eq(grad_at(n.W1, 4), 0.0);
    cr_assert_eq(grad_at(n.b1, 1), 0.0);
    seed2_free(&n);
}

Test(seed002, one_sgd_step_gives_the_articles_weights) {
    seed2_net n = seed2_build();
    cr_assert_eq(tg_backward(n.error, NULL), TG_OK);
    const double eta = 0.01;
    tg_tensor *params[] = {n.W1, n.b1, n.W2, n.b2, n.W3, n.b3};
    for (int p = 0; p < 6; p++) /* W <- W - eta dW, as the article writes it */
        for (int64_t i = 0; i < params[p]->numel; i++)
            tg_set_flat(params[p], i, tg_get_flat(params[p], i) - eta * grad_at(params[p], i));
    cr_assert(fabs(tg_get_flat(n.W3, 0) - 0.699975) < 5e-7, "w16 %.8f", tg_get_flat(n.W3, 0));
    cr_assert(fabs(tg_get_flat(n.W3, 1) - 0.798592) < 5e-7, "w17 %.8f", tg_get_flat(n.W3, 1));
    cr_assert(fabs(tg_get_flat(n.W3, 2) - 0.898336) < 5e-7, "w18 %.8f", tg_get_flat(n.W3, 2));
    cr_assert(fabs(tg_get_flat(n.b3, 0) - -0.701253) < 5e-7, "b7 %.8f", tg_get_flat(n.b3, 0));
    seed2_free(&n);
}

/* ---------------------------------------------------------------------------
 * Seeds 000 and 001: a 3-layer network, columns are examples (X is k x m),
 *   Z1 = W1 X + b1, A1 = f(Z1), Z2 = W2 A1 + b2, A2 = g(Z2),
 *   Z3 = W3 A2 + b3, A3 = sigmoid(Z3),
 *   cost = mean over examples of -(y log A3 + (1 - y) log(1 - A3)).
 * Closed forms: dZ3 = A3 - y, dW3 = dZ3 A2^T / m, db3 = sum(dZ3, 1) / m,
 *   dZ2 = W3^T dZ3 * g'(Z2), dW2 = dZ2 A1^T / m, db2 = sum(dZ2, 1) / m,
 *   dZ1 = W2^T dZ2 * f'(Z1), dW1 = dZ1 X^T / m, db1 = sum(dZ1, 1) / m.
 * (Seed 000 prints the loss as -y log A3 + (1-y) log(1-A3): a sign slip; its
 * gradients are those of the standard binary cross-entropy used here.)
 * f = ReLU; g = swish z sigmoid(z), as seed 000 suggests, both from ops.
 * ------------------------------------------------------------------------- */

typedef struct mat {
    int rows, cols;
    double *v;
} mat;

static mat mat_new(int rows, int cols) { return (mat){rows, cols, calloc((size_t)rows * (size_t)cols, sizeof(double))}; }
static double *at(mat a, int i, int j) { return &a.v[i * a.cols + j]; }
static mat mat_of(const tg_tensor *t) {
    mat a = mat_new((int)t->shape[0], t->rank > 1 ? (int)t->shape[1] : 1);
    tg_copy_to_doubles(t, a.v);
    return a;
}
/* a^T b when ta, a b^T when tb. */
static mat mat_mul(mat a, int ta, mat b, int tb) {
    int m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols;
    mat c = mat_new(m, n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) s += (ta ? *at(a, p, i) : *at(a, i, p)) * (tb ? *at(b, j, p) : *at(b, p, j));
            *at(c, i, j) = s;
        }
    return c;
}

static tg_tensor *swish(tg_tensor *z) { return tg_mul(z, tg_sigmoid(z)); }
static double swish_derivative(double z) {
    double s = 1 / (1 + exp(-z));
    return s + z * s * (1 - s);
}

static tg_tensor *random_param(tg_rng *rng, int rows, int cols, double scale) {
    tg_tensor *t = tg_rand_normal(rng, TG_F64, 2, (int64_t[]){rows, cols}, 0.0, scale);
    tg_set_requires_grad(t, true);
    return t;
}

static void assert_matrix_close(const tg_tensor *grad, mat expected, double scale, const char *what) {
    cr_assert_eq(grad->numel, (int64_t)expected.rows * expected.cols, "%s: size", what);
    for (int64_t i = 0; i < grad->numel; i++) {
        double want = expected.v[i] * scale, got = tg_get_flat(grad, i);
        cr_assert(fabs(got - want) <= 1e-12 * fmax(fabs(want), 1e-2), "%s[%lld]: tape %.17g, closed form %.17g", what,
                  (long long)i, got, want);
    }
}

static void check_bce_network(uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    int k = 2 + (int)tg_rng_below(&rng, 6), h1 = 2 + (int)tg_rng_below(&rng, 7), h2 = 2 + (int)tg_rng_below(&rng, 7);
    int m = 3 + (int)tg_rng_below(&rng, 20);
    tg_tensor *X = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){k, m}, 0.0, 1.0);
    tg_tensor *y = tg_zeros(TG_F64, 2, (int64_t[]){1, m});
    for (int i = 0; i < m; i++) tg_set_flat(y, i, (double)tg_rng_below(&rng, 2));
    tg_tensor *W1 = random_param(&rng, h1, k, 0.8), *b1 = random_param(&rng, h1, 1, 0.3);
    tg_tensor *W2 = random_param(&rng, h2, h1, 0.8), *b2 = random_param(&rng, h2, 1, 0.3);
    tg_tensor *W3 = random_param(&rng, 1, h2, 0.8), *b3 = random_param(&rng, 1, 1, 0.3);

    tg_tensor *Z1 = tg_add(tg_matmul(W1, X), b1), *A1 = tg_relu(Z1);
    tg_tensor *Z2 = tg_add(tg_matmul(W2, A1), b2), *A2 = swish(Z2);
    tg_tensor *Z3 = tg_add(tg_matmul(W3, A2), b3), *A3 = tg_sigmoid(Z3);
    tg_tensor *one_minus_y = tg_add_scalar(tg_neg(y), 1.0);
    tg_tensor *one_minus_a = tg_add_scalar(tg_neg(A3), 1.0);
    tg_tensor *loss = tg_neg(tg_add(tg_mul(y, tg_log(A3)), tg_mul(one_minus_y, tg_log(one_minus_a))));
    tg_tensor *cost = tg_mean(loss);
    cr_assert_eq(tg_backward(cost, NULL), TG_OK);
    tg_tensor *dZ_tape[3];
    tg_tensor *wrt[3] = {Z1, Z2, Z3};
    cr_assert_eq(tg_gradients(cost, NULL, 3, wrt, dZ_tape, false), TG_OK);

    /* The closed forms, in plain doubles from the forward values. */
    mat mX = mat_of(X), mA1 = mat_of(A1), mA2 = mat_of(A2), mA3 = mat_of(A3), my = mat_of(y);
    mat mZ1 = mat_of(Z1), mZ2 = mat_of(Z2), mW2 = mat_of(W2), mW3 = mat_of(W3);
    mat dZ3 = mat_new(1, m);
    for (int i = 0; i < m; i++) dZ3.v[i] = mA3.v[i] - my.v[i];
    mat dW3 = mat_mul(dZ3, 0, mA2, 1);
    mat dZ2 = mat_mul(mW3, 1, dZ3, 0);
    for (int i = 0; i < h2 * m; i++) dZ2.v[i] *= swish_derivative(mZ2.v[i]);
    mat dW2 = mat_mul(dZ2, 0, mA1, 1);
    mat dZ1 = mat_mul(mW2, 1, dZ2, 0);
    for (int i = 0; i < h1 * m; i++) dZ1.v[i] *= mZ1.v[i] > 0 ? 1.0 : 0.0;
    mat dW1 = mat_mul(dZ1, 0, mX, 1);
    mat db[3] = {mat_new(h1, 1), mat_new(h2, 1), mat_new(1, 1)};
    mat dZ[3] = {dZ1, dZ2, dZ3};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < dZ[l].rows; i++)
            for (int j = 0; j < m; j++) db[l].v[i] += *at(dZ[l], i, j);

    double inv_m = 1.0 / m;
    assert_matrix_close(dZ_tape[2], dZ3, inv_m, "dZ3/m");
    assert_matrix_close(dZ_tape[1], dZ2, inv_m, "dZ2/m");
    assert_matrix_close(dZ_tape[0], dZ1, inv_m, "dZ1/m");
    assert_matrix_close(tg_grad(W3), dW3, inv_m, "dW3");
    assert_matrix_close(tg_grad(b3), db[2], inv_m, "db3");
    assert_matrix_close(tg_grad(W2), dW2, inv_m, "dW2");
    assert_matrix_close(tg_grad(b2), db[1], inv_m, "db2");
    assert_matrix_close(tg_grad(W1), dW1, inv_m, "dW1");
    assert_matrix_close(tg_grad(b1), db[0], inv_m, "db1");

    mat all[] = {mX, mA1, mA2, mA3, my, mZ1, mZ2, mW2, mW3, dZ1, dZ2, dZ3, dW1, dW2, dW3, db[0], db[1], db[2]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i].v);
    tg_tensor *tensors[] = {X, y, W1, b1, W2, b2, W3, b3};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) tg_free(tensors[i]);
    tg_tape_reset(tg_tape_current());
}

Test(seed000_001, bce_network_gradients_equal_the_closed_forms) {
    for (uint64_t seed = 1; seed <= 20; seed++) check_bce_network(seed);
}

/* ---------------------------------------------------------------------------
 * Seed 003 (003_38b2ce8347e7e4bc.txt): one sigmoid neuron, yhat = s(w.x + b),
 * cost C = 1/n sum (y - yhat)^2. The article prints
 *   dC/dw_i = 2/n sum(y - yhat) s(z)(1 - s(z)) x_i,
 * which has the sign of the update direction, not of the derivative: the
 * derivative is dC/dw_i = -2/n sum_k (y_k - yhat_k) s'(z_k) x_ki (and the
 * same without x for b). The tape must give that, to 1e-12.
 * ------------------------------------------------------------------------- */
Test(seed003, sigmoid_neuron_mse_gradients) {
    tg_rng rng = tg_rng_seeded(3);
    for (int trial = 0; trial < 10; trial++) {
        int n = 2 + (int)tg_rng_below(&rng, 30), d = 1 + (int)tg_rng_below(&rng, 5);
        tg_tensor *X = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){n, d}, 0.0, 1.0);
        tg_tensor *y = tg_zeros(TG_F64, 2, (int64_t[]){n, 1});
        for (int i = 0; i < n; i++) tg_set_flat(y, i, (double)tg_rng_below(&rng, 2));
        tg_tensor *w = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){d, 1}, 0.0, 1.0);
        tg_tensor *b = tg_scalar(TG_F64, tg_rng_normal(&rng));
        tg_set_requires_grad(w, true);
        tg_set_requires_grad(b, true);
        tg_tensor *yhat = tg_sigmoid(tg_add(tg_matmul(X, w), b));
        tg_tensor *cost = tg_mean(tg_pow(tg_sub(y, yhat), 2.0));
        cr_assert_eq(tg_backward(cost, NULL), TG_OK);

        double db = 0, dw[8] = {0};
        for (int k = 0; k < n; k++) {
            double z = tg_get_flat(b, 0);
            for (int i = 0; i < d; i++) z += tg_get_flat(X, k * d + i) * tg_get_flat(w, i);
            double s = 1 / (1 + exp(-z));
            double common = -2.0 / n * (tg_get_flat(y, k) - s) * s * (1 - s);
            db += common;
            for (int i = 0; i < d; i++) dw[i] += common * tg_get_flat(X, k * d + i);
        }
        for (int i = 0; i < d; i++) assert_close(grad_at(w, i), dw[i], 1e-12, "dC/dw_i");
        assert_close(grad_at(b, 0), db, 1e-12, "dC/db");
        tg_tensor *all[] = {X, y, w, b};
        for (int i = 0; i < 4; i++) tg_free(all[i]);
        tg_tape_reset(tg_tape_current());
    }
}
