/* tests/nn/test_model_sharing.c — layers and parameters shared inside and
 * between models: the same layer twice in one model, one layer in two
 * models (freed in either order), a weight tied between two dense layers
 * (tg_layer_tie_param). Each shared tensor is listed once (under its first
 * name) for optimizers and checkpoints, receives the sum of its uses'
 * gradients (checked against the chain rule written out in plain C loops),
 * and is freed exactly once (ASan and LeakSanitizer watch the frees). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nn/nn_internal.h" /* holders and tied slots, to check ownership */
#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- plain C reference: row-major (r, c) matrices of doubles ---- */

/* out (n, m) = x (n, k) @ w (k, m) + b (m) */
static void affine(const double *x, const double *w, const double *b, int n, int k, int m, double *out) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < m; j++) {
            double s = b[j];
            for (int i = 0; i < k; i++) s += x[r * k + i] * w[i * m + j];
            out[r * m + j] = s;
        }
}

/* dW (k, m) += x^T (k, n) @ g (n, m); db (m) += column sums of g */
static void affine_param_grads(const double *x, const double *g, int n, int k, int m, double *dw, double *db) {
    for (int i = 0; i < k; i++)
        for (int j = 0; j < m; j++)
            for (int r = 0; r < n; r++) dw[i * m + j] += x[r * k + i] * g[r * m + j];
    for (int j = 0; j < m; j++)
        for (int r = 0; r < n; r++) db[j] += g[r * m + j];
}

/* dx (n, k) = g (n, m) @ w^T (m, k) */
static void affine_input_grad(const double *g, const double *w, int n, int k, int m, double *dx) {
    for (int r = 0; r < n; r++)
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int j = 0; j < m; j++) s += g[r * m + j] * w[i * m + j];
            dx[r * k + i] = s;
        }
}

static void copy_out(const tg_tensor *t, double *out) {
    for (int64_t i = 0; i < t->numel; i++) out[i] = tg_get_flat(t, i);
}

static void expect_close(const tg_tensor *t, const double *want, const char *what) {
    cr_assert_not_null(t, "%s: no tensor", what);
    for (int64_t i = 0; i < t->numel; i++) {
        double got = tg_get_flat(t, i);
        cr_assert(fabs(got - want[i]) <= 1e-12 * fmax(1.0, fabs(want[i])), "%s[%lld]: %.17g, want %.17g", what,
                  (long long)i, got, want[i]);
    }
}

enum { N = 4, D = 3 }; /* a batch of 4 rows of width 3; every dense layer is (3, 3) */

static const double x_values[N * D] = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -2.0, 1.0, 0.5, 0.1, 0.2, -0.3};
static const double c_values[N * D] = {1.0, -2.0, 0.5, 0.25, 3.0, -1.0, 2.0, 0.5, -0.5, -1.5, 1.0, 0.75};

/* loss = sum(c * y), y the model's output on x: dL/dy = c. */
static tg_tensor *weighted_sum_loss(tg_model *model, tg_tensor *x, tg_tensor *c) {
    tg_tensor *y = tg_model_forward(model, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    return tg_sum(tg_mul(c, y));
}

/* ---- the same layer twice in one model ---- */

/* dense, relu, the same dense: y = relu(x W + b) W + b. One weight and one
 * bias, listed once ("0.weight", "0.bias"); their gradients are the sums
 * over both uses:
 *   h = x W + b, a = relu(h), y = a W + b, dL/dy = c
 *   dW = a^T c + x^T dh, db = colsum(c) + colsum(dh), dh = (c W^T) [h > 0] */
Test(nn_sharing, the_same_layer_twice_in_one_model) {
    tg_rng rng = tg_rng_seeded(21);
    tg_layer *dense = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_init_tensor(tg_module_param(dense, "bias"), TG_INIT_CONSTANT, NULL, 0, 0, 0.1);
    tg_model *model = tg_model_new();
    cr_assert_eq(tg_model_add(model, dense), TG_OK);
    cr_assert_eq(tg_model_add(model, tg_activation_layer_new(TG_ACT_RELU)), TG_OK);
    cr_assert_eq(tg_model_add(model, dense), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_model_num_layers(model), 3);
    cr_assert_eq(tg_model_num_params(model), 2, "one weight and one bias");
    cr_assert_eq(tg_model_param_count(model), D * D + D);
    char name[32];
    cr_assert_eq(tg_model_param(model, 0, name, sizeof name), tg_module_param(dense, "weight"));
    cr_assert_str_eq(name, "0.weight");
    cr_assert_eq(tg_model_param(model, 1, name, sizeof name), tg_module_param(dense, "bias"));
    cr_assert_str_eq(name, "0.bias");
    tg_tensor *params[4];
    cr_assert_eq(tg_model_params(model, params, 4), 2);

    tg_tensor *x = make(TG_F64, 2, (int64_t[]){N, D}, x_values), *c = make(TG_F64, 2, (int64_t[]){N, D}, c_values);
    tg_tensor *loss = weighted_sum_loss(model, x, c);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK, "%s", tg_last_error_message());

    double w[D * D], b[D], h[N * D], a[N * D], y[N * D], dh[N * D], dw[D * D] = {0}, db[D] = {0};
    copy_out(tg_module_param(dense, "weight"), w);
    copy_out(tg_module_param(dense, "bias"), b);
    affine(x_values, w, b, N, D, D, h);
    for (int i = 0; i < N * D; i++) a[i] = h[i] > 0 ? h[i] : 0;
    affine(a, w, b, N, D, D, y);
    double want_loss = 0;
    for (int i = 0; i < N * D; i++) want_loss += c_values[i] * y[i];
    cr_assert(fabs(tg_item(loss) - want_loss) <= 1e-12 * fabs(want_loss), "loss %.17g vs %.17g", tg_item(loss),
              want_loss);
    affine_param_grads(a, c_values, N, D, D, dw, db);
    affine_input_grad(c_values, w, N, D, D, dh);
    for (int i = 0; i < N * D; i++) dh[i] *= h[i] > 0;
    affine_param_grads(x_values, dh, N, D, D, dw, db);
    expect_close(tg_grad(tg_module_param(dense, "weight")), dw, "dW");
    expect_close(tg_grad(tg_module_param(dense, "bias")), db, "db");

    tg_free(x);
    tg_free(c);
    reset_tape();
    tg_model_free(model); /* the dense layer is freed once */
}

/* ---- one layer in two models ---- */

static void run_model(tg_model *model, const tg_layer *dense) {
    tg_tensor *x = make(TG_F64, 2, (int64_t[]){N, D}, x_values);
    tg_tensor *y = tg_model_forward(model, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    double w[D * D], b[D], want[N * D];
    copy_out(tg_module_param(dense, "weight"), w);
    copy_out(tg_module_param(dense, "bias"), b);
    affine(x_values, w, b, N, D, D, want);
    expect_close(y, want, "y"); /* (each model is only the shared dense layer) */
    tg_free(x);
    reset_tape();
}

static void one_layer_in_two_models(bool free_first_model_first) {
    tg_rng rng = tg_rng_seeded(22);
    tg_layer *dense = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_model *first = tg_model_new(), *second = tg_model_new();
    cr_assert_eq(tg_model_add(first, dense), TG_OK);
    cr_assert_eq(tg_model_add(second, dense), TG_OK, "%s", tg_last_error_message());
    tg_model *freed = free_first_model_first ? first : second, *kept = free_first_model_first ? second : first;
    tg_model_free(freed);
    run_model(kept, dense); /* still alive: ASan would see a use after free */
    cr_assert_eq(tg_model_num_params(kept), 2);
    tg_model_free(kept);
}

Test(nn_sharing, one_layer_in_two_models_freed_first_then_second) { one_layer_in_two_models(true); }
Test(nn_sharing, one_layer_in_two_models_freed_second_then_first) { one_layer_in_two_models(false); }

/* ---- a weight tied between two dense layers ---- */

/* A (dense), tanh, B (dense) with B's weight tied to A's:
 *   h = x W + bA, a = tanh(h), y = a W + bB, L = sum(c y)
 *   dW = a^T c + x^T dh, dh = (c W^T)(1 - a^2), dbA = colsum(dh), dbB = colsum(c). */
typedef struct tied_model {
    tg_model *model;
    tg_layer *a, *b;
} tied_model;

static tied_model tied_model_new(uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tied_model t;
    t.a = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    t.b = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_HE_UNIFORM);
    for (int j = 0; j < D; j++) {
        tg_set_flat(tg_module_param(t.a, "bias"), j, 0.1 * (j + 1));
        tg_set_flat(tg_module_param(t.b, "bias"), j, -0.2 * (j + 1));
    }
    cr_assert_eq(tg_layer_tie_param(t.b, "weight", t.a, "weight"), TG_OK, "%s", tg_last_error_message());
    t.model = tg_model_new();
    cr_assert_eq(tg_model_add(t.model, t.a), TG_OK);
    cr_assert_eq(tg_model_add(t.model, tg_activation_layer_new(TG_ACT_TANH)), TG_OK);
    cr_assert_eq(tg_model_add(t.model, t.b), TG_OK);
    return t;
}

/* The gradients of L at the current parameters, in plain C. */
static void tied_reference_grads(const tied_model *t, double *dw, double *dba, double *dbb) {
    double w[D * D], ba[D], bb[D], h[N * D], a[N * D], dh[N * D];
    copy_out(tg_module_param(t->a, "weight"), w);
    copy_out(tg_module_param(t->a, "bias"), ba);
    copy_out(tg_module_param(t->b, "bias"), bb);
    affine(x_values, w, ba, N, D, D, h);
    for (int i = 0; i < N * D; i++) a[i] = tanh(h[i]);
    memset(dw, 0, D * D * sizeof *dw);
    memset(dba, 0, D * sizeof *dba);
    memset(dbb, 0, D * sizeof *dbb);
    affine_param_grads(a, c_values, N, D, D, dw, dbb);
    affine_input_grad(c_values, w, N, D, D, dh);
    for (int i = 0; i < N * D; i++) dh[i] *= 1 - a[i] * a[i];
    affine_param_grads(x_values, dh, N, D, D, dw, dba);
}

static void backward_through(tied_model *t) {
    tg_tensor *x = make(TG_F64, 2, (int64_t[]){N, D}, x_values), *c = make(TG_F64, 2, (int64_t[]){N, D}, c_values);
    cr_assert_eq(tg_backward(weighted_sum_loss(t->model, x, c), NULL), TG_OK, "%s", tg_last_error_message());
    tg_free(x);
    tg_free(c);
    reset_tape();
}

Test(nn_sharing, a_tied_weight_is_one_parameter_with_the_sum_of_both_gradients) {
    tied_model t = tied_model_new(23);
    cr_assert_eq(tg_module_param(t.b, "weight"), tg_module_param(t.a, "weight"), "one tensor");
    cr_assert_eq(tg_model_num_params(t.model), 3);
    const char *names[3] = {"0.weight", "0.bias", "2.bias"};
    tg_tensor *params[4];
    cr_assert_eq(tg_model_params(t.model, params, 4), 3);
    for (int p = 0; p < 3; p++) {
        char name[32];
        cr_assert_eq(tg_model_param(t.model, p, name, sizeof name), params[p]);
        cr_assert_str_eq(name, names[p]);
    }
    cr_assert_eq(params[0], tg_module_param(t.a, "weight"));
    cr_assert_eq(params[2], tg_module_param(t.b, "bias"));
    cr_assert_eq(tg_model_param_count(t.model), D * D + D + D);

    double dw[D * D], dba[D], dbb[D];
    tied_reference_grads(&t, dw, dba, dbb);
    backward_through(&t); /* into gradients that do not exist yet */
    expect_close(tg_grad(params[0]), dw, "dW");
    expect_close(tg_grad(params[1]), dba, "dbA");
    expect_close(tg_grad(params[2]), dbb, "dbB");
    for (int p = 0; p < 3; p++) tg_set_grad_to_none(params[p]);
    backward_through(&t); /* into gradients set to none: the second use adds */
    expect_close(tg_grad(params[0]), dw, "dW after set_grad_to_none");
    for (int p = 0; p < 3; p++) tg_zero_grad(params[p]);
    backward_through(&t); /* into zeroed gradients */
    expect_close(tg_grad(params[0]), dw, "dW after zero_grad");

    /* The optimizer takes the list as it is (it refuses a repeated tensor)
     * and updates the tied weight once: W - lr dW. */
    double w[D * D];
    copy_out(params[0], w);
    tg_optimizer *sgd = tg_sgd_new(3, params, 0.5);
    cr_assert_not_null(sgd, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_step(sgd), TG_OK);
    for (int i = 0; i < D * D; i++) w[i] -= 0.5 * dw[i];
    expect_close(tg_module_param(t.b, "weight"), w, "W after one step");
    tg_optimizer_free(sgd);
    tg_model_free(t.model); /* A is held by the model and by B: freed once, last */
}

Test(nn_sharing, a_tied_model_saves_the_shared_weight_once_and_loads_back) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/tied.safetensors", dir);
    tied_model saved = tied_model_new(24), loaded = tied_model_new(25);
    cr_assert_eq(tg_model_save(saved.model, path), TG_OK, "%s", tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck);
    cr_assert_eq(tg_checkpoint_count(ck), 3);
    cr_assert_not_null(tg_checkpoint_find(ck, "0.weight"));
    cr_assert_not_null(tg_checkpoint_find(ck, "0.bias"));
    cr_assert_not_null(tg_checkpoint_find(ck, "2.bias"));
    tg_checkpoint_close(ck);
    cr_assert_eq(tg_model_load(loaded.model, path), TG_OK, "%s", tg_last_error_message());
    for (int p = 0; p < 3; p++) {
        const tg_tensor *want = tg_model_param(saved.model, p, NULL, 0), *got = tg_model_param(loaded.model, p, NULL, 0);
        cr_assert_eq(memcmp(got->data, want->data, (size_t)got->numel * sizeof(double)), 0, "parameter %d", p);
    }
    cr_assert_eq(tg_module_param(loaded.b, "weight"), tg_module_param(loaded.a, "weight"), "still tied after the load");
    /* An untied model of the same layers has a 2.weight the file lacks. */
    tg_rng rng = tg_rng_seeded(26);
    tg_model *untied = tg_model_new();
    tg_model_add(untied, tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM));
    tg_model_add(untied, tg_activation_layer_new(TG_ACT_TANH));
    tg_model_add(untied, tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM));
    tg_set_error_mode(TG_ERRORS_RETURN);
    cr_assert_eq(tg_model_load(untied, path), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_model_load", "2.weight");
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_model_free(untied);
    tg_model_free(saved.model);
    tg_model_free(loaded.model);
    unlink(path);
    remove_temp_dir(dir);
}

/* A source that no model holds belongs to the tied layer: it goes with it. */
Test(nn_sharing, a_tie_source_outside_the_model_goes_with_the_tied_layer) {
    tg_rng rng = tg_rng_seeded(27);
    tg_layer *source = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *tied = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    cr_assert_eq(tg_layer_tie_param(tied, "weight", source, "weight"), TG_OK);
    tg_model *model = tg_model_new();
    cr_assert_eq(tg_model_add(model, tied), TG_OK);
    cr_assert_eq(tg_model_num_params(model), 2, "the source's weight, the tied layer's bias");
    char name[32];
    cr_assert_eq(tg_model_param(model, 0, name, sizeof name), tg_module_param(source, "weight"));
    cr_assert_str_eq(name, "0.weight");
    /* The creator no longer owns the source: tg_layer_free refuses it. */
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_layer_free(source);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_free", "held 1 time");
    tg_layer_free(tied);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_free", "held 1 time");
    tg_set_error_mode(TG_ERRORS_ABORT);
    run_model(model, tied);
    tg_model_free(model); /* frees tied, then source (LeakSanitizer checks) */
}

/* A tie to a slot that is itself tied resolves to the tensor's owner. */
Test(nn_sharing, a_chain_of_ties_shares_one_tensor) {
    tg_rng rng = tg_rng_seeded(28);
    tg_layer *a = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *b = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *c = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    cr_assert_eq(tg_layer_tie_param(b, "weight", a, "weight"), TG_OK);
    cr_assert_eq(tg_layer_tie_param(c, "weight", b, "weight"), TG_OK);
    cr_assert_eq(tg_module_param(c, "weight"), tg_module_param(a, "weight"));
    cr_assert_eq(c->params[0].source, a, "held by the owner, not by b");
    cr_assert_eq(a->holders, 2);
    cr_assert_eq(tg_layer_tie_param(c, "weight", a, "weight"), TG_OK, "tying again is nothing");
    cr_assert_eq(a->holders, 2);
    tg_model *model = tg_model_new();
    tg_model_add(model, c);
    tg_model_add(model, b);
    tg_model_add(model, a);
    cr_assert_eq(tg_model_num_params(model), 4, "the weight once, three biases");
    char name[32];
    cr_assert_eq(tg_model_param(model, 0, name, sizeof name), tg_module_param(a, "weight"));
    cr_assert_str_eq(name, "0.weight", "the first name in layer order");
    tg_model_free(model);
}

/* Tying a slot again lets go of the previous source (freed here: nothing
 * else held it). */
Test(nn_sharing, tying_again_releases_the_previous_source) {
    tg_rng rng = tg_rng_seeded(29);
    tg_layer *first = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *second = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *tied = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    cr_assert_eq(tg_layer_tie_param(tied, "weight", first, "weight"), TG_OK);
    cr_assert_eq(tg_layer_tie_param(tied, "weight", second, "weight"), TG_OK); /* first is freed */
    cr_assert_eq(tg_module_param(tied, "weight"), tg_module_param(second, "weight"));
    cr_assert_eq(second->holders, 1);
    tg_layer_free(tied); /* and second with it */
}

Test(nn_sharing, ties_that_cannot_be_made_are_refused_and_change_nothing) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(30);
    tg_layer *a = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *b = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *narrow = tg_dense_new(&rng, TG_F64, D, 2, TG_INIT_GLOROT_UNIFORM);
    tg_layer *single = tg_dense_new(&rng, TG_F32, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *other = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_layer *relu = tg_activation_layer_new(TG_ACT_RELU);
    tg_tensor *a_weight = tg_module_param(a, "weight"), *b_weight = tg_module_param(b, "weight");
    cr_assert_eq(tg_layer_tie_param(b, "weight", narrow, "weight"), TG_ERR_SHAPE);
    assert_error(TG_ERR_SHAPE, "tg_layer_tie_param", "(3,2)");
    cr_assert_eq(tg_layer_tie_param(b, "weight", single, "weight"), TG_ERR_DTYPE);
    assert_error(TG_ERR_DTYPE, "tg_layer_tie_param", "float32");
    cr_assert_eq(tg_layer_tie_param(b, "kernel", a, "weight"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_tie_param", "'weight', 'bias'");
    cr_assert_eq(tg_layer_tie_param(relu, "weight", a, "weight"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_tie_param", "has no parameter 'weight' (it has none)");
    cr_assert_eq(tg_layer_tie_param(NULL, "weight", a, "weight"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_tie_param", "layer is NULL");
    cr_assert(tg_module_param(a, "weight") == a_weight && tg_module_param(b, "weight") == b_weight && a->holders == 0 && b->holders == 0);
    /* b's weight is a's; a's bias then b's would make each hold the other. */
    cr_assert_eq(tg_layer_tie_param(b, "weight", a, "weight"), TG_OK);
    cr_assert_eq(tg_layer_tie_param(a, "bias", b, "bias"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_tie_param", "hold itself");
    /* a's weight lends itself to b: it cannot be tied elsewhere. */
    cr_assert_eq(tg_layer_tie_param(a, "weight", other, "weight"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_tie_param", "tie them to the source instead");
    cr_assert(tg_module_param(a, "weight") == a_weight && a->params[1].source == NULL && a->holders == 1);
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_layer_free(b); /* and a with it */
    tg_layer_free(narrow);
    tg_layer_free(single);
    tg_layer_free(other);
    tg_layer_free(relu);
}

/* A layer in a model is the model's: tg_layer_free refuses it, and the
 * model still runs it. */
Test(nn_sharing, freeing_a_layer_a_model_holds_is_refused) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(31);
    tg_layer *dense = tg_dense_new(&rng, TG_F64, D, D, TG_INIT_GLOROT_UNIFORM);
    tg_model *first = tg_model_new(), *second = tg_model_new();
    tg_model_add(first, dense);
    tg_model_add(second, dense);
    tg_layer_free(dense);
    assert_error(TG_ERR_ARGUMENT, "tg_layer_free", "held 2 times");
    run_model(first, dense);
    /* A refused add leaves a held layer alone (the other model keeps it). */
    cr_assert_eq(tg_model_add(NULL, dense), TG_ERR_ARGUMENT);
    tg_clear_error();
    run_model(second, dense);
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_model_free(first);
    tg_model_free(second);
}
