/* examples/newton.c — Newton's method against gradient descent on a small
 * logistic regression, with the second derivatives from the tape.
 *
 *   loss(w) = mean BCE(sigmoid(X w), y) + (lambda / 2) |w|^2
 *
 * over 500 points with 5 correlated features and an intercept (lambda
 * 1e-3 keeps the minimum finite and the Hessian positive definite). Three
 * methods run to the same stopping rule, |grad| < 1e-8:
 *   Newton      w <- w - H^-1 g, H from tg_hessian (6 x 6), solved by
 *               Cholesky; converges quadratically in a handful of steps.
 *   Newton-CG   the same step from conjugate gradients on H p = g, where H p
 *               comes from tg_hvp: never forms H (as for large models).
 *   GD          w <- w - g / L with L = 0.25 lambda_max(X^T X / m) + lambda,
 *               the safe step for this loss; needs thousands of steps.
 *
 *   build/examples/newton
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

enum { M = 500, D = 6, MAX_GD_STEPS = 200000 };
static const double LAMBDA = 1e-3, TOLERANCE = 1e-8;

typedef struct problem {
    tg_tensor *X, *y; /* (M, D) with a column of ones, and (M, 1) labels */
} problem;

static tg_tensor *loss_fn(tg_tensor *const *w, int n, void *ctx) {
    (void)n;
    problem *p = ctx;
    tg_tensor *data_term = tg_bce_with_logits_loss(tg_matmul(p->X, w[0]), p->y);
    return tg_add(data_term, tg_mul_scalar(tg_sum(tg_mul(w[0], w[0])), 0.5 * LAMBDA));
}

/* Features x1..x5 ~ N(0, 1) with x2 = x1 + 0.3 noise and x4 = 2 x3 + 0.5
 * noise (an ill-conditioned problem, as real features often are), an
 * intercept; labels drawn from the model with w_true. */
static problem make_problem(tg_rng *rng) {
    static const double w_true[D] = {1.0, -2.0, 0.5, 1.5, -1.0, 0.3};
    problem p = {tg_zeros(TG_F64, 2, (int64_t[]){M, D}), tg_zeros(TG_F64, 2, (int64_t[]){M, 1})};
    double *X = tg_data_f64(p.X), *y = tg_data_f64(p.y);
    for (int i = 0; i < M; i++) {
        double *row = X + i * D;
        row[0] = tg_rng_normal(rng);
        row[1] = row[0] + 0.3 * tg_rng_normal(rng);
        row[2] = tg_rng_normal(rng);
        row[3] = 2 * row[2] + 0.5 * tg_rng_normal(rng);
        row[4] = tg_rng_normal(rng);
        row[5] = 1.0;
        double z = 0;
        for (int k = 0; k < D; k++) z += row[k] * w_true[k];
        y[i] = tg_rng_uniform(rng) < 1 / (1 + exp(-z)) ? 1.0 : 0.0;
    }
    return p;
}

static double norm(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s);
}

/* loss and gradient at w (D values). */
static double loss_and_gradient(problem *p, const double *w, double *g) {
    tg_tensor *wt = tg_from_doubles(TG_F64, 2, (int64_t[]){D, 1}, w), *value, *grad;
    tg_vjp(loss_fn, p, 1, &wt, NULL, &value, &grad);
    tg_copy_to_doubles(grad, g);
    double loss = tg_item(value);
    tg_free(grad);
    tg_free(value);
    tg_free(wt);
    return loss;
}

/* Solves A x = b for symmetric positive definite A (n x n) by Cholesky. */
static bool cholesky_solve(int n, const double *A, const double *b, double *x) {
    double L[D * D] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = A[i * n + j];
            for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
            if (i == j) {
                if (s <= 0) return false;
                L[i * n + i] = sqrt(s);
            } else {
                L[i * n + j] = s / L[j * n + j];
            }
        }
    double z[D];
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++) s -= L[i * n + k] * z[k];
        z[i] = s / L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = z[i];
        for (int k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
        x[i] = s / L[i * n + i];
    }
    return true;
}

static int newton(problem *p, double *w) {
    printf("Newton (tg_hessian + Cholesky):\n");
    for (int it = 0;; it++) {
        double g[D], step[D];
        double loss = loss_and_gradient(p, w, g);
        printf("  iteration %2d  loss %.12f  |grad| %.3e\n", it, loss, norm(g, D));
        if (norm(g, D) < TOLERANCE) return it;
        tg_tensor *wt = tg_from_doubles(TG_F64, 2, (int64_t[]){D, 1}, w), *H;
        tg_hessian(loss_fn, p, 1, &wt, &H);
        bool solved = cholesky_solve(D, tg_const_data_f64(H), g, step);
        tg_free(H);
        tg_free(wt);
        if (!solved) {
            fprintf(stderr, "newton: the Hessian is not positive definite\n");
            return -1;
        }
        for (int k = 0; k < D; k++) w[k] -= step[k];
    }
}

/* H v at w by tg_hvp. */
static void hessian_times(problem *p, const double *w, const double *v, double *out) {
    tg_tensor *wt = tg_from_doubles(TG_F64, 2, (int64_t[]){D, 1}, w);
    tg_tensor *vt = tg_from_doubles(TG_F64, 2, (int64_t[]){D, 1}, v), *hv;
    tg_hvp(loss_fn, p, 1, &wt, &vt, NULL, &hv);
    tg_copy_to_doubles(hv, out);
    tg_free(hv);
    tg_free(vt);
    tg_free(wt);
}

/* Conjugate gradients for H x = g (H positive definite), from x = 0, until
 * |r| < 1e-10 |g|; returns the number of Hessian-vector products. */
static int conjugate_gradients(problem *p, const double *w, const double *g, double *x) {
    double r[D], d[D], hd[D];
    memcpy(r, g, sizeof r);
    memcpy(d, g, sizeof d);
    memset(x, 0, D * sizeof *x);
    double rr = 0;
    for (int k = 0; k < D; k++) rr += r[k] * r[k];
    int products = 0;
    for (int it = 0; it < 4 * D && sqrt(rr) > 1e-10 * norm(g, D); it++) {
        hessian_times(p, w, d, hd);
        products++;
        double dhd = 0;
        for (int k = 0; k < D; k++) dhd += d[k] * hd[k];
        double alpha = rr / dhd, rr_next = 0;
        for (int k = 0; k < D; k++) {
            x[k] += alpha * d[k];
            r[k] -= alpha * hd[k];
            rr_next += r[k] * r[k];
        }
        for (int k = 0; k < D; k++) d[k] = r[k] + rr_next / rr * d[k];
        rr = rr_next;
    }
    return products;
}

static int newton_cg(problem *p, double *w, int *total_products) {
    printf("Newton-CG (conjugate gradients on tg_hvp, H never formed):\n");
    *total_products = 0;
    for (int it = 0;; it++) {
        double g[D], step[D];
        double loss = loss_and_gradient(p, w, g);
        if (norm(g, D) < TOLERANCE || it == 50) {
            printf("  iteration %2d  loss %.12f  |grad| %.3e\n", it, loss, norm(g, D));
            return norm(g, D) < TOLERANCE ? it : -1;
        }
        int products = conjugate_gradients(p, w, g, step);
        *total_products += products;
        printf("  iteration %2d  loss %.12f  |grad| %.3e  (%d Hessian-vector products)\n", it, loss, norm(g, D),
               products);
        for (int k = 0; k < D; k++) w[k] -= step[k];
    }
}

/* L = 0.25 lambda_max(X^T X / m) + lambda, by power iteration on X^T X / m. */
static double smoothness(const problem *p) {
    const double *X = tg_const_data_f64(p->X);
    double A[D * D] = {0}, v[D], next[D];
    for (int i = 0; i < M; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) A[a * D + b] += X[i * D + a] * X[i * D + b] / M;
    for (int k = 0; k < D; k++) v[k] = 1.0;
    double lambda_max = 0;
    for (int it = 0; it < 500; it++) {
        for (int a = 0; a < D; a++) {
            next[a] = 0;
            for (int b = 0; b < D; b++) next[a] += A[a * D + b] * v[b];
        }
        lambda_max = norm(next, D);
        for (int k = 0; k < D; k++) v[k] = next[k] / lambda_max;
    }
    return 0.25 * lambda_max + LAMBDA;
}

static int gradient_descent(problem *p, double *w, double *final_loss) {
    const double L = smoothness(p);
    printf("gradient descent (step 1/L = %.4f):\n", 1 / L);
    tg_progress *progress = tg_progress_new(stdout, "  gradient descent", 0, TG_PROGRESS_AUTO);
    for (int it = 0; it <= MAX_GD_STEPS; it++) {
        double g[D];
        double loss = loss_and_gradient(p, w, g);
        if (it % 1000 == 0 || norm(g, D) < TOLERANCE) {
            tg_progress_set_metric(progress, "loss", loss);
            tg_progress_set_metric(progress, "|grad|", norm(g, D));
        }
        if (norm(g, D) < TOLERANCE) {
            tg_progress_finish(progress, false);
            *final_loss = loss;
            printf("  iteration %d  loss %.12f  |grad| %.3e\n", it, loss, norm(g, D));
            return it;
        }
        for (int k = 0; k < D; k++) w[k] -= g[k] / L;
        tg_progress_advance(progress, 1);
    }
    tg_progress_finish(progress, false);
    return -1;
}

int main(void) {
    tg_rng rng = tg_rng_seeded(7);
    problem p = make_problem(&rng);
    printf("logistic regression: %d points, %d weights (5 features, 2 correlated pairs, intercept), "
           "L2 %.0e, stop at |grad| < %.0e\n\n", M, D, LAMBDA, TOLERANCE);

    double w_newton[D] = {0}, w_cg[D] = {0}, w_gd[D] = {0}, gd_loss = 0;
    int newton_steps = newton(&p, w_newton);
    int products;
    int cg_steps = newton_cg(&p, w_cg, &products);
    int gd_steps = gradient_descent(&p, w_gd, &gd_loss);

    double gap_cg = 0, gap_gd = 0;
    for (int k = 0; k < D; k++) {
        gap_cg = fmax(gap_cg, fabs(w_cg[k] - w_newton[k]));
        gap_gd = fmax(gap_gd, fabs(w_gd[k] - w_newton[k]));
    }
    printf("\niterations to |grad| < %.0e: Newton %d, Newton-CG %d (%d Hessian-vector products), "
           "gradient descent %d\n", TOLERANCE, newton_steps, cg_steps, products, gd_steps);
    printf("w (Newton):");
    for (int k = 0; k < D; k++) printf(" %.6f", w_newton[k]);
    printf("\nlargest difference from Newton's w: Newton-CG %.2e, gradient descent %.2e\n", gap_cg, gap_gd);
    tg_free(p.X);
    tg_free(p.y);
    bool ok = newton_steps > 0 && newton_steps <= 10 && cg_steps > 0 && gd_steps > newton_steps;
    return ok ? 0 : 1;
}
