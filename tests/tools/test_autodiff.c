/* tests/tools/test_autodiff.c — tg_vjp, tg_jvp, tg_hvp, tg_jacobian and
 * tg_hessian against closed forms (a quadratic form's Hessian A + A^T,
 * logistic regression's X^T S X / m, a linear map's Jacobian), against
 * central finite differences (of f for JVPs, of the gradient for HVPs and
 * Hessians), and JVP against VJP by transposition, <u, J v> = <J^T u, v>,
 * on randomly generated graphs. */
#include <math.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* ---- helpers ---- */

static tg_tensor *random_tensor(tg_rng *rng, int rank, const int64_t *shape) {
    return tg_rand_normal(rng, TG_F64, rank, shape, 0.0, 1.0);
}

static double dot(const tg_tensor *a, const tg_tensor *b) {
    cr_assert_eq(a->numel, b->numel);
    double sum = 0;
    for (int64_t k = 0; k < a->numel; k++) sum += tg_get_flat(a, k) * tg_get_flat(b, k);
    return sum;
}

static void assert_close(double got, double want, double tolerance, const char *what, int64_t index) {
    cr_assert(fabs(got - want) <= tolerance * (1 + fabs(want)), "%s[%lld]: got %.12g, want %.12g", what,
              (long long)index, got, want);
}

/* ---- functions under test ---- */

/* x^T A x for x (d,1) and A (d,d) in ctx. */
static tg_tensor *quadratic_form(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    return tg_matmul(tg_transpose(x[0]), tg_matmul(ctx, x[0]));
}

/* Logistic regression's mean cross-entropy, -mean(y log p + (1-y) log(1-p)),
 * p = sigmoid(X w); X (m,d) and y (m,1) in ctx. */
typedef struct logistic {
    tg_tensor *X, *y;
} logistic;
static tg_tensor *logistic_loss(tg_tensor *const *w, int n, void *ctx) {
    (void)n;
    logistic *data = ctx;
    tg_tensor *p = tg_sigmoid(tg_matmul(data->X, w[0]));
    tg_tensor *one_minus_y = tg_add_scalar(tg_neg(data->y), 1.0);
    tg_tensor *log_q = tg_log(tg_add_scalar(tg_neg(p), 1.0));
    return tg_neg(tg_mean(tg_add(tg_mul(data->y, tg_log(p)), tg_mul(one_minus_y, log_q))));
}

/* A non-linear function of two inputs with a (2,3) output. */
static tg_tensor *two_inputs(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    (void)ctx;
    tg_tensor *h = tg_tanh(tg_matmul(x[0], x[1]));  /* (2,4)@(4,3) */
    return tg_mul(tg_sigmoid(h), tg_softmax(tg_matmul(x[0], x[1]), 1));
}

/* A scalar of two inputs with non-zero mixed second derivatives. */
static tg_tensor *scalar_two_inputs(tg_tensor *const *x, int n, void *ctx) {
    return tg_sum(tg_mul(two_inputs(x, n, ctx), tg_exp(tg_mul_scalar(tg_sum(x[1]), 0.1))));
}

/* ---- closed forms ---- */

Test(autodiff, hessian_of_a_quadratic_form_is_a_plus_a_transpose) {
    tg_rng rng = tg_rng_seeded(1);
    tg_tensor *A = random_tensor(&rng, 2, (int64_t[]){4, 4});
    tg_tensor *x = random_tensor(&rng, 2, (int64_t[]){4, 1});
    tg_tensor *H;
    cr_assert_eq(tg_hessian(quadratic_form, A, 1, &x, &H), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(H->rank, 2);
    cr_assert_eq(H->shape[0], 4);
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 4; j++)
            assert_close(tg_get(H, (int64_t[]){i, j}),
                         tg_get(A, (int64_t[]){i, j}) + tg_get(A, (int64_t[]){j, i}), 1e-12, "H", i * 4 + j);
    tg_free(H);
    tg_free(x);
    tg_free(A);
}

Test(autodiff, hvp_of_a_quadratic_form_is_a_plus_a_transpose_times_v) {
    tg_rng rng = tg_rng_seeded(2);
    tg_tensor *A = random_tensor(&rng, 2, (int64_t[]){5, 5});
    tg_tensor *x = random_tensor(&rng, 2, (int64_t[]){5, 1});
    tg_tensor *v = random_tensor(&rng, 2, (int64_t[]){5, 1});
    tg_tensor *hv, *value;
    cr_assert_eq(tg_hvp(quadratic_form, A, 1, &x, &v, &value, &hv), TG_OK, "%s", tg_last_error_message());
    double xAx = 0;
    for (int64_t i = 0; i < 5; i++) {
        double want = 0;
        for (int64_t j = 0; j < 5; j++) {
            double aij = tg_get(A, (int64_t[]){i, j}), aji = tg_get(A, (int64_t[]){j, i});
            want += (aij + aji) * tg_get_flat(v, j);
            xAx += tg_get_flat(x, i) * aij * tg_get_flat(x, j);
        }
        assert_close(tg_get_flat(hv, i), want, 1e-12, "Hv", i);
    }
    assert_close(tg_item(value), xAx, 1e-12, "value", 0);
    cr_assert_eq(hv->dtype, TG_F64);
    cr_assert_null(x->grad, "the input's .grad was touched");
    cr_assert(!x->requires_grad, "the input's requires_grad was left on");
    tg_free(value);
    tg_free(hv);
    tg_free(v);
    tg_free(x);
    tg_free(A);
}

/* The cross-entropy's Hessian in w is X^T S X / m with S = diag(p (1 - p)). */
Test(autodiff, logistic_regression_hessian_is_xt_s_x_over_m) {
    enum { M = 7, D = 3 };
    tg_rng rng = tg_rng_seeded(3);
    logistic data = {random_tensor(&rng, 2, (int64_t[]){M, D}), tg_zeros(TG_F64, 2, (int64_t[]){M, 1})};
    for (int i = 0; i < M; i++) tg_set_flat(data.y, i, i % 3 == 0 ? 1.0 : 0.0);
    tg_tensor *w = random_tensor(&rng, 2, (int64_t[]){D, 1});
    tg_tensor *H;
    cr_assert_eq(tg_hessian(logistic_loss, &data, 1, &w, &H), TG_OK, "%s", tg_last_error_message());
    double s[M];
    for (int i = 0; i < M; i++) {
        double z = 0;
        for (int k = 0; k < D; k++) z += tg_get(data.X, (int64_t[]){i, k}) * tg_get_flat(w, k);
        double p = 1 / (1 + exp(-z));
        s[i] = p * (1 - p);
    }
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double want = 0;
            for (int i = 0; i < M; i++)
                want += tg_get(data.X, (int64_t[]){i, a}) * s[i] * tg_get(data.X, (int64_t[]){i, b});
            assert_close(tg_get(H, (int64_t[]){a, b}), want / M, 1e-12, "H", a * D + b);
        }
    tg_free(H);
    tg_free(w);
    tg_free(data.y);
    tg_free(data.X);
}

static tg_tensor *linear_map(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    return tg_reshape(tg_matmul(ctx, x[0]), 2, (int64_t[]){2, 3});
}

/* f(x) = reshape(A x) has the Jacobian A, laid out as (2,3) ++ (4,1). */
Test(autodiff, jacobian_of_a_linear_map_is_its_matrix) {
    tg_rng rng = tg_rng_seeded(4);
    tg_tensor *A = random_tensor(&rng, 2, (int64_t[]){6, 4});
    tg_tensor *x = random_tensor(&rng, 2, (int64_t[]){4, 1});
    tg_tensor *J;
    cr_assert_eq(tg_jacobian(linear_map, A, 1, &x, &J), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(J->rank, 4);
    int64_t want_shape[4] = {2, 3, 4, 1};
    for (int i = 0; i < 4; i++) cr_assert_eq(J->shape[i], want_shape[i]);
    for (int64_t k = 0; k < 24; k++) assert_close(tg_get_flat(J, k), tg_get_flat(A, k), 0, "J", k);
    tg_free(J);
    tg_free(x);
    tg_free(A);
}

/* ---- finite differences ---- */

/* The gradient of scalar f at x (persistent, caller frees). */
static tg_tensor **gradient_at(tg_autodiff_fn f, void *ctx, int n, tg_tensor **x) {
    tg_tensor **g = calloc((size_t)n, sizeof *g);
    cr_assert_eq(tg_vjp(f, ctx, n, x, NULL, NULL, g), TG_OK, "%s", tg_last_error_message());
    return g;
}

static void free_n(int n, tg_tensor **list) {
    for (int i = 0; i < n; i++) tg_free(list[i]);
    free(list);
}

/* Column (input i, entry k) of the Hessian from central differences of the
 * gradient: (g(x + eps e_k) - g(x - eps e_k)) / 2 eps, against tg_hessian. */
Test(autodiff, hessian_matches_finite_differences_of_the_gradient) {
    tg_rng rng = tg_rng_seeded(5);
    tg_tensor *x[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    const int64_t total = 8 + 12;
    tg_tensor *H;
    cr_assert_eq(tg_hessian(scalar_two_inputs, NULL, 2, x, &H), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(H->shape[0], total);
    const double eps = 1e-5;
    int64_t column = 0;
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++, column++) {
            double original = tg_get_flat(x[i], k);
            tg_set_flat(x[i], k, original + eps);
            tg_tensor **plus = gradient_at(scalar_two_inputs, NULL, 2, x);
            tg_set_flat(x[i], k, original - eps);
            tg_tensor **minus = gradient_at(scalar_two_inputs, NULL, 2, x);
            tg_set_flat(x[i], k, original);
            int64_t row = 0;
            for (int j = 0; j < 2; j++)
                for (int64_t r = 0; r < x[j]->numel; r++, row++) {
                    double numeric = (tg_get_flat(plus[j], r) - tg_get_flat(minus[j], r)) / (2 * eps);
                    assert_close(tg_get(H, (int64_t[]){row, column}), numeric, 1e-7, "H", row * total + column);
                }
            free_n(2, plus);
            free_n(2, minus);
        }
    /* and it is symmetric */
    for (int64_t a = 0; a < total; a++)
        for (int64_t b = 0; b < a; b++)
            assert_close(tg_get(H, (int64_t[]){a, b}), tg_get(H, (int64_t[]){b, a}), 1e-12, "H - H^T", a * total + b);
    tg_free(H);
    tg_free(x[0]);
    tg_free(x[1]);
}

/* H v from tg_hvp against (g(x + eps v) - g(x - eps v)) / 2 eps. */
Test(autodiff, hvp_matches_finite_differences_of_the_gradient) {
    tg_rng rng = tg_rng_seeded(6);
    tg_tensor *x[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    tg_tensor *v[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    tg_tensor *hv[2];
    cr_assert_eq(tg_hvp(scalar_two_inputs, NULL, 2, x, v, NULL, hv), TG_OK, "%s", tg_last_error_message());
    const double eps = 1e-5;
    tg_tensor *original[2] = {tg_clone(x[0]), tg_clone(x[1])};
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++)
            tg_set_flat(x[i], k, tg_get_flat(original[i], k) + eps * tg_get_flat(v[i], k));
    tg_tensor **plus = gradient_at(scalar_two_inputs, NULL, 2, x);
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++)
            tg_set_flat(x[i], k, tg_get_flat(original[i], k) - eps * tg_get_flat(v[i], k));
    tg_tensor **minus = gradient_at(scalar_two_inputs, NULL, 2, x);
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++)
            assert_close(tg_get_flat(hv[i], k), (tg_get_flat(plus[i], k) - tg_get_flat(minus[i], k)) / (2 * eps),
                         1e-7, i ? "Hv[1]" : "Hv[0]", k);
    free_n(2, plus);
    free_n(2, minus);
    for (int i = 0; i < 2; i++) {
        tg_free(hv[i]);
        tg_free(v[i]);
        tg_free(x[i]);
        tg_free(original[i]);
    }
}

/* J v from tg_jvp against (f(x + eps v) - f(x - eps v)) / 2 eps. */
Test(autodiff, jvp_matches_finite_differences) {
    tg_rng rng = tg_rng_seeded(7);
    tg_tensor *x[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    tg_tensor *v[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    tg_tensor *jv, *value;
    cr_assert_eq(tg_jvp(two_inputs, NULL, 2, x, v, &value, &jv), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(jv->rank, 2);
    cr_assert_eq(jv->shape[0], 2);
    cr_assert_eq(jv->shape[1], 3);
    const double eps = 1e-6;
    tg_tensor *original[2] = {tg_clone(x[0]), tg_clone(x[1])};
    tg_tensor *plus, *minus, *unused[2];
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++)
            tg_set_flat(x[i], k, tg_get_flat(original[i], k) + eps * tg_get_flat(v[i], k));
    cr_assert_eq(tg_jvp(two_inputs, NULL, 2, x, v, &plus, &unused[0]), TG_OK);
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++)
            tg_set_flat(x[i], k, tg_get_flat(original[i], k) - eps * tg_get_flat(v[i], k));
    cr_assert_eq(tg_jvp(two_inputs, NULL, 2, x, v, &minus, &unused[1]), TG_OK);
    for (int64_t k = 0; k < 6; k++)
        assert_close(tg_get_flat(jv, k), (tg_get_flat(plus, k) - tg_get_flat(minus, k)) / (2 * eps), 1e-7, "Jv", k);
    tg_free(plus);
    tg_free(minus);
    tg_free(unused[0]);
    tg_free(unused[1]);
    tg_free(jv);
    tg_free(value);
    for (int i = 0; i < 2; i++) {
        tg_free(v[i]);
        tg_free(x[i]);
        tg_free(original[i]);
    }
}

/* ---- random graphs: <u, J v> = <J^T u, v> ---- */

/* A random program over inputs x0 (3,4) and x1 (4): each step applies one
 * op, picked by the seed, to earlier values (shapes stay (3,4)). */
static tg_tensor *random_graph(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    tg_rng rng = tg_rng_seeded(*(uint64_t *)ctx);
    enum { STEPS = 10 };
    tg_tensor *pool[STEPS + 2] = {x[0], tg_add(x[0], x[1])};
    int size = 2;
    for (int step = 0; step < STEPS; step++) {
        tg_tensor *a = pool[tg_rng_below(&rng, (uint64_t)size)], *b = pool[tg_rng_below(&rng, (uint64_t)size)];
        tg_tensor *r;
        switch (tg_rng_below(&rng, 8)) {
        case 0: r = tg_mul(a, b); break;
        case 1: r = tg_tanh(tg_add(a, b)); break;
        case 2: r = tg_sigmoid(tg_sub(a, x[1])); break;
        case 3: r = tg_softmax(a, 1); break;
        case 4: r = tg_matmul(a, tg_reshape(tg_mul_scalar(b, 0.3), 2, (int64_t[]){4, 3})); /* (3,3) */
            r = tg_matmul(r, a);
            break;
        case 5: r = tg_mul(a, tg_sum_axes(b, 1, (int[]){1}, true)); break;
        case 6: r = tg_exp(tg_mul_scalar(tg_tanh(a), 0.5)); break;
        default: r = tg_div(a, tg_add_scalar(tg_mul(b, b), 1.0)); break;
        }
        pool[size++] = r;
    }
    return tg_add(pool[size - 1], tg_mul_scalar(pool[size - 2], 0.5));
}

Test(autodiff, jvp_is_the_transpose_of_vjp_on_random_graphs) {
    for (uint64_t graph = 1; graph <= 12; graph++) {
        tg_rng rng = tg_rng_seeded(100 + graph);
        tg_tensor *x[2] = {random_tensor(&rng, 2, (int64_t[]){3, 4}), random_tensor(&rng, 1, (int64_t[]){4})};
        tg_tensor *v[2] = {random_tensor(&rng, 2, (int64_t[]){3, 4}), random_tensor(&rng, 1, (int64_t[]){4})};
        tg_tensor *u = random_tensor(&rng, 2, (int64_t[]){3, 4});
        tg_tensor *jv, *jtu[2];
        cr_assert_eq(tg_jvp(random_graph, &graph, 2, x, v, NULL, &jv), TG_OK, "%s", tg_last_error_message());
        cr_assert_eq(tg_vjp(random_graph, &graph, 2, x, u, NULL, jtu), TG_OK, "%s", tg_last_error_message());
        double left = dot(u, jv), right = dot(jtu[0], v[0]) + dot(jtu[1], v[1]);
        cr_assert(fabs(left - right) <= 1e-10 * (1 + fabs(left)), "graph %llu: <u, Jv> = %.15g, <J^T u, v> = %.15g",
                  (unsigned long long)graph, left, right);
        /* and J v against central differences */
        const double eps = 1e-6;
        tg_tensor *original[2] = {tg_clone(x[0]), tg_clone(x[1])};
        tg_tensor *plus, *minus, *unused[2];
        for (int i = 0; i < 2; i++)
            for (int64_t k = 0; k < x[i]->numel; k++)
                tg_set_flat(x[i], k, tg_get_flat(original[i], k) + eps * tg_get_flat(v[i], k));
        cr_assert_eq(tg_vjp(random_graph, &graph, 2, x, u, &plus, unused), TG_OK);
        tg_free(unused[0]);
        tg_free(unused[1]);
        for (int i = 0; i < 2; i++)
            for (int64_t k = 0; k < x[i]->numel; k++)
                tg_set_flat(x[i], k, tg_get_flat(original[i], k) - eps * tg_get_flat(v[i], k));
        cr_assert_eq(tg_vjp(random_graph, &graph, 2, x, u, &minus, unused), TG_OK);
        for (int64_t k = 0; k < jv->numel; k++)
            assert_close(tg_get_flat(jv, k), (tg_get_flat(plus, k) - tg_get_flat(minus, k)) / (2 * eps), 1e-6, "Jv",
                         k);
        tg_free(unused[0]);
        tg_free(unused[1]);
        tg_free(plus);
        tg_free(minus);
        tg_free(jv);
        for (int i = 0; i < 2; i++) {
            tg_free(jtu[i]);
            tg_free(v[i]);
            tg_free(x[i]);
            tg_free(original[i]);
        }
        tg_free(u);
    }
}

/* ---- the Jacobian's rows and columns are VJPs and JVPs ---- */

Test(autodiff, jacobian_columns_are_jvps_of_unit_tangents) {
    tg_rng rng = tg_rng_seeded(8);
    tg_tensor *x[2] = {random_tensor(&rng, 2, (int64_t[]){2, 4}), random_tensor(&rng, 2, (int64_t[]){4, 3})};
    tg_tensor *J[2];
    cr_assert_eq(tg_jacobian(two_inputs, NULL, 2, x, J), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(J[1]->rank, 4); /* (2,3) ++ (4,3) */
    tg_tensor *e[2] = {tg_zeros(TG_F64, 2, (int64_t[]){2, 4}), tg_zeros(TG_F64, 2, (int64_t[]){4, 3})};
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->numel; k++) {
            tg_set_flat(e[i], k, 1.0);
            tg_tensor *column;
            cr_assert_eq(tg_jvp(two_inputs, NULL, 2, x, e, NULL, &column), TG_OK);
            for (int64_t j = 0; j < 6; j++)
                assert_close(tg_get_flat(J[i], j * x[i]->numel + k), tg_get_flat(column, j), 1e-12, "J", k);
            tg_free(column);
            tg_set_flat(e[i], k, 0.0);
        }
    for (int i = 0; i < 2; i++) {
        tg_free(e[i]);
        tg_free(J[i]);
        tg_free(x[i]);
    }
}

/* ---- dtypes, constants, and the caller's state ---- */

static tg_tensor *cube_sum(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return tg_sum(tg_pow(x[0], 3.0));
}

/* float32 inputs give float32 products: d/dx sum(x^3) = 3x^2, H v = 6 x v. */
Test(autodiff, float32_inputs_give_float32_results) {
    tg_tensor *x = tg_from_doubles(TG_F32, 1, (int64_t[]){3}, (double[]){1, -2, 0.5});
    tg_tensor *v = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, (double[]){1, 1, 2});
    tg_tensor *g, *hv;
    cr_assert_eq(tg_vjp(cube_sum, NULL, 1, &x, NULL, NULL, &g), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_hvp(cube_sum, NULL, 1, &x, &v, NULL, &hv), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(g->dtype, TG_F32);
    cr_assert_eq(hv->dtype, TG_F32);
    double want_g[3] = {3, 12, 0.75}, want_hv[3] = {6, -12, 6};
    for (int k = 0; k < 3; k++) {
        assert_close(tg_get_flat(g, k), want_g[k], 1e-6, "g", k);
        assert_close(tg_get_flat(hv, k), want_hv[k], 1e-6, "Hv", k);
    }
    tg_free(hv);
    tg_free(g);
    tg_free(v);
    tg_free(x);
}

static tg_tensor *ignores_second(tg_tensor *const *x, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return tg_sum(tg_mul(x[0], x[0]));
}

/* An input f does not use has zero products; the caller's tape is unchanged. */
Test(autodiff, unused_inputs_get_zeros_and_the_current_tape_is_untouched) {
    tg_tensor *x[2] = {tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){1, 2}),
                       tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){3, 4})};
    size_t nodes_before = tg_tape_num_nodes(tg_tape_current());
    tg_tensor *H, *g[2], *jv;
    cr_assert_eq(tg_hessian(ignores_second, NULL, 2, x, &H), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_vjp(ignores_second, NULL, 2, x, NULL, NULL, g), TG_OK);
    cr_assert_eq(tg_jvp(ignores_second, NULL, 2, x, (tg_tensor *[]){x[1], x[0]}, NULL, &jv), TG_OK);
    double want_H[16] = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < 16; k++) assert_close(tg_get_flat(H, k), want_H[k], 0, "H", k);
    assert_close(tg_get_flat(g[1], 0), 0, 0, "g[1]", 0);
    assert_close(tg_item(jv), 2 * (1 * 3 + 2 * 4), 1e-12, "Jv", 0); /* <2x, t0> with t0 = (3,4) */
    cr_assert_eq(tg_tape_num_nodes(tg_tape_current()), nodes_before);
    tg_free(jv);
    tg_free(g[0]);
    tg_free(g[1]);
    tg_free(H);
    tg_free(x[0]);
    tg_free(x[1]);
}

/* A constant f: no node is recorded; products and Hessians are zeros. */
static tg_tensor *constant(tg_tensor *const *x, int n, void *ctx) {
    (void)x;
    (void)n;
    return tg_mul_scalar(ctx, 2.0);
}
Test(autodiff, a_constant_function_has_zero_derivatives) {
    tg_tensor *c = tg_from_doubles(TG_F64, 0, NULL, (double[]){5});
    tg_tensor *x = tg_from_doubles(TG_F64, 1, (int64_t[]){2}, (double[]){1, 2});
    tg_tensor *H, *jv, *value;
    cr_assert_eq(tg_hessian(constant, c, 1, &x, &H), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_jvp(constant, c, 1, &x, &x, &value, &jv), TG_OK, "%s", tg_last_error_message());
    for (int k = 0; k < 4; k++) assert_close(tg_get_flat(H, k), 0, 0, "H", k);
    assert_close(tg_item(jv), 0, 0, "Jv", 0);
    assert_close(tg_item(value), 10, 0, "value", 0);
    tg_free(value);
    tg_free(jv);
    tg_free(H);
    tg_free(x);
    tg_free(c);
}
