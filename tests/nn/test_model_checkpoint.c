/* tests/nn/test_model_checkpoint.c — sequential models: the MLP builder's
 * structure, parameter names and count, forward through the layers, a
 * gradcheck through a whole model, training mode, saving and loading
 * (bit-exact round trip; mismatched models refused with nothing written),
 * and the errors of model building. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/nn/old_layout_fixture.h"
#include "tests/test_helpers.h"

/* ---- temporary files: one directory per test, removed at the end ---- */

typedef struct temp_dir {
    char path[64];
    char files[4][128];
    int n_files;
} temp_dir;

static void temp_dir_open(temp_dir *d) {
    make_temp_dir(d->path, sizeof d->path);
    d->n_files = 0;
}

/* A path inside the directory, remembered for removal. */
static const char *temp_file(temp_dir *d, const char *name) {
    cr_assert_lt(d->n_files, 4);
    char dir_path[sizeof d->path]; /* a copy: source and destination share *d */
    memcpy(dir_path, d->path, sizeof dir_path);
    char *path = d->files[d->n_files++];
    snprintf(path, sizeof d->files[0], "%s/%s", dir_path, name);
    return path;
}

static void temp_dir_close(temp_dir *d) {
    for (int i = 0; i < d->n_files; i++) unlink(d->files[i]); /* some may not exist */
    cr_assert_eq(rmdir(d->path), 0, "%s not empty?", d->path);
}

/* ---- the MLP builder ---- */

static const int64_t sizes_246641[] = {2, 4, 6, 6, 4, 1};

Test(nn_model, mlp_2_4_6_6_4_1_has_the_expected_layers_and_117_parameters) {
    tg_rng rng = tg_rng_seeded(1);
    tg_model *model = tg_mlp_new(&rng, TG_F32, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
    cr_assert_not_null(model);
    /* dense, relu, dense, relu, dense, relu, dense, relu, dense, sigmoid */
    cr_assert_eq(tg_model_num_layers(model), 10);
    for (int i = 0; i < 10; i++) {
        const char *want = i % 2 == 0 ? "dense" : i == 9 ? "sigmoid" : "relu";
        cr_assert_str_eq(tg_module_kind(tg_model_layer(model, i)), want, "layer %d", i);
    }
    cr_assert_eq(tg_model_num_params(model), 10);
    /* 2*4+4 + 4*6+6 + 6*6+6 + 6*4+4 + 4*1+1 */
    cr_assert_eq(tg_model_param_count(model), 117);
    const char *names[10] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                             "4.bias",   "6.weight", "6.bias", "8.weight", "8.bias"};
    tg_tensor *params[16];
    cr_assert_eq(tg_model_params(model, params, 16), 10);
    for (int p = 0; p < 10; p++) {
        char name[32];
        tg_tensor *t = tg_model_param(model, p, name, sizeof name);
        cr_assert_str_eq(name, names[p]);
        cr_assert_eq(t, params[p], "same order in both listings");
        int layer = p / 2;
        int64_t in = sizes_246641[layer], out = sizes_246641[layer + 1];
        if (p % 2 == 0)
            cr_assert(t->rank == 2 && t->shape[0] == in && t->shape[1] == out, "%s shape", name);
        else
            cr_assert(t->rank == 1 && t->shape[0] == out, "%s shape", name);
        cr_assert(t->dtype == TG_F32 && t->requires_grad && !t->tape);
    }
    cr_assert_eq(tg_model_params(model, params, 3), 3, "truncated to max");
    tg_model_free(model);
}

/* He uniform bounds sqrt(6/in) on the ReLU layers, Glorot sqrt(6/(in+out))
 * on the last (it feeds the output, not a ReLU). */
Test(nn_model, mlp_initializes_relu_layers_with_he_and_the_last_with_glorot) {
    tg_rng rng = tg_rng_seeded(2);
    const int64_t sizes[] = {64, 256, 10};
    tg_model *model = tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_RELU, -1);
    cr_assert_eq(tg_model_num_layers(model), 3, "dense, relu, dense: logits, no output activation");
    cr_assert_str_eq(tg_module_kind(tg_model_layer(model, 2)), "dense");
    double he = sqrt(6.0 / 64), glorot = sqrt(6.0 / 266);
    const tg_tensor *w0 = tg_module_param(tg_model_layer(model, 0), "weight"), *w2 = tg_module_param(tg_model_layer(model, 2), "weight");
    double max0 = 0, max2 = 0;
    for (int64_t i = 0; i < w0->numel; i++) max0 = fmax(max0, fabs(tg_get_flat(w0, i)));
    for (int64_t i = 0; i < w2->numel; i++) max2 = fmax(max2, fabs(tg_get_flat(w2, i)));
    cr_assert(max0 <= he && max0 > 0.99 * he, "first layer max |w| %g, He bound %g", max0, he);
    cr_assert(max2 <= glorot && max2 > 0.98 * glorot, "last layer max |w| %g, Glorot bound %g", max2, glorot);
    tg_model_free(model);
}

Test(nn_model, mlp_with_the_same_seed_is_the_same_model) {
    tg_rng r1 = tg_rng_seeded(3), r2 = tg_rng_seeded(3);
    tg_model *a = tg_mlp_new(&r1, TG_F32, 6, sizes_246641, TG_ACT_TANH, TG_ACT_SIGMOID);
    tg_model *b = tg_mlp_new(&r2, TG_F32, 6, sizes_246641, TG_ACT_TANH, TG_ACT_SIGMOID);
    for (int p = 0; p < tg_model_num_params(a); p++) {
        tg_tensor *ta = tg_model_param(a, p, NULL, 0), *tb = tg_model_param(b, p, NULL, 0);
        cr_assert_eq(memcmp(ta->data, tb->data, (size_t)ta->numel * sizeof(float)), 0, "param %d", p);
    }
    tg_model_free(a);
    tg_model_free(b);
}

/* The model's output is its layers applied in order, by hand. */
Test(nn_model, forward_applies_the_layers_in_order) {
    tg_rng rng = tg_rng_seeded(4);
    const int64_t sizes[] = {3, 5, 2};
    tg_model *model = tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_TANH, TG_ACT_SOFTMAX);
    tg_tensor *x = tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){4, 3}, 0, 1);
    tg_tensor *y = tg_model_forward(model, x);
    const tg_tensor *W1 = tg_module_param(tg_model_layer(model, 0), "weight"), *b1 = tg_module_param(tg_model_layer(model, 0), "bias");
    const tg_tensor *W2 = tg_module_param(tg_model_layer(model, 2), "weight"), *b2 = tg_module_param(tg_model_layer(model, 2), "bias");
    for (int r = 0; r < 4; r++) {
        double h[5], z[2];
        for (int j = 0; j < 5; j++) {
            h[j] = tg_get_flat(b1, j);
            for (int i = 0; i < 3; i++) h[j] += tg_get_flat(x, r * 3 + i) * tg_get_flat(W1, i * 5 + j);
            h[j] = tanh(h[j]);
        }
        for (int j = 0; j < 2; j++) {
            z[j] = tg_get_flat(b2, j);
            for (int i = 0; i < 5; i++) z[j] += h[i] * tg_get_flat(W2, i * 2 + j);
        }
        double m = fmax(z[0], z[1]), s = exp(z[0] - m) + exp(z[1] - m);
        for (int j = 0; j < 2; j++) {
            double want = exp(z[j] - m) / s;
            cr_assert(fabs(tg_get_flat(y, r * 2 + j) - want) < 1e-14, "y[%d][%d] %.17g vs %.17g", r, j,
                      tg_get_flat(y, r * 2 + j), want);
        }
    }
    tg_free(x);
    tg_model_free(model);
    reset_tape();
}

/* A whole model and loss under gradcheck, its parameters as the inputs. */
typedef struct model_ctx {
    tg_model *model;
    tg_tensor *x, *y;
} model_ctx;

static tg_tensor *model_loss(tg_tensor *const *in, int n, void *ctx) {
    (void)in;
    (void)n;
    model_ctx *c = ctx;
    return tg_mse_loss(tg_model_forward(c->model, c->x), c->y);
}

Test(nn_model, a_whole_mlp_passes_gradcheck) {
    tg_rng rng = tg_rng_seeded(5);
    const int64_t sizes[] = {3, 4, 2};
    model_ctx c = {tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_SILU, TG_ACT_TANH),
                   tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){5, 3}, 0, 1),
                   tg_rand_normal(&rng, TG_F64, 2, (int64_t[]){5, 2}, 0, 0.5)};
    tg_tensor *params[4];
    cr_assert_eq(tg_model_params(c.model, params, 4), 4);
    tg_gradcheck_options options = tg_gradcheck_defaults();
    options.atol = 1e-8;
    options.rtol = 1e-6;
    tg_gradcheck_result result;
    cr_assert_eq(tg_gradcheck(model_loss, &c, 4, params, &options, &result), TG_OK, "%s", tg_last_error_message());
    char text[512];
    cr_assert(result.passed, "%s", tg_gradcheck_describe(&result, text, sizeof text));
    cr_assert_eq(result.entries_checked, 12 + 4 + 8 + 2);
    tg_free(c.x);
    tg_free(c.y);
    tg_model_free(c.model);
}

Test(nn_model, set_training_reaches_every_layer_and_new_layers) {
    tg_rng rng = tg_rng_seeded(6);
    const int64_t sizes[] = {2, 3, 1};
    tg_model *model = tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_RELU, TG_ACT_SIGMOID);
    for (int i = 0; i < tg_model_num_layers(model); i++) cr_assert(tg_module_is_training(tg_model_layer(model, i)));
    tg_model_set_training(model, false);
    for (int i = 0; i < tg_model_num_layers(model); i++) cr_assert(!tg_module_is_training(tg_model_layer(model, i)), "layer %d", i);
    cr_assert_eq(tg_model_add(model, tg_activation_layer_new(TG_ACT_TANH)), TG_OK);
    cr_assert(!tg_module_is_training(tg_model_layer(model, 4)), "a layer added in eval mode is in eval mode");
    tg_model_set_training(model, true);
    for (int i = 0; i < tg_model_num_layers(model); i++) cr_assert(tg_module_is_training(tg_model_layer(model, i)));
    tg_model_free(model);
}

/* ---- saving and loading ---- */

static void assert_models_bit_equal(tg_model *a, tg_model *b, bool want_equal) {
    bool all_equal = true;
    for (int p = 0; p < tg_model_num_params(a); p++) {
        tg_tensor *ta = tg_model_param(a, p, NULL, 0), *tb = tg_model_param(b, p, NULL, 0);
        cr_assert(tg_same_shape(ta, tb) && ta->dtype == tb->dtype);
        bool equal = memcmp(ta->data, tb->data, (size_t)ta->numel * tg_dtype_size(ta->dtype)) == 0;
        if (want_equal) cr_assert(equal, "param %d differs", p);
        all_equal &= equal;
    }
    if (!want_equal) cr_assert(!all_equal, "the models were expected to differ");
}

Test(nn_model, save_then_load_into_a_fresh_model_is_bit_exact) {
    temp_dir dir;
    temp_dir_open(&dir);
    tg_dtype dtypes[2] = {TG_F32, TG_F64};
    for (int d = 0; d < 2; d++) {
        const char *path = temp_file(&dir, d == 0 ? "f32.safetensors" : "f64.safetensors");
        tg_rng r1 = tg_rng_seeded(7), r2 = tg_rng_seeded(8);
        tg_model *saved = tg_mlp_new(&r1, dtypes[d], 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
        tg_model *fresh = tg_mlp_new(&r2, dtypes[d], 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
        /* Non-zero biases too, with bits that a text round trip would lose. */
        for (int p = 1; p < 10; p += 2)
            tg_init_tensor(tg_model_param(saved, p, NULL, 0), TG_INIT_HE_NORMAL, &r1, 3, 3, 0);
        assert_models_bit_equal(saved, fresh, false);
        cr_assert_eq(tg_model_save(saved, path), TG_OK, "%s", tg_last_error_message());
        cr_assert_eq(tg_model_load(fresh, path), TG_OK, "%s", tg_last_error_message());
        assert_models_bit_equal(saved, fresh, true);
        /* The file is ordinary safetensors with the model's names in it, and
         * PyTorch's layout: 6.weight, (in 6, out 4) here, is (4, 6) there. */
        tg_checkpoint *ck = tg_checkpoint_open(path);
        cr_assert_eq(tg_checkpoint_count(ck), 10);
        const tg_checkpoint_entry *e = tg_checkpoint_find(ck, "6.weight");
        cr_assert(e && e->rank == 2 && e->shape[0] == 4 && e->shape[1] == 6);
        cr_assert_str_eq(e->dtype, dtypes[d] == TG_F32 ? "F32" : "F64");
        tg_checkpoint_close(ck);
        tg_model_free(saved);
        tg_model_free(fresh);
    }
    temp_dir_close(&dir);
}

/* A refused load writes nothing: every parameter keeps its bits. */
static void assert_load_refused(tg_model *model, const char *path, tg_status code, const char *function,
                                const char *fragment) {
    int n = tg_model_num_params(model);
    tg_tensor **before = calloc((size_t)n, sizeof *before);
    for (int p = 0; p < n; p++) before[p] = tg_clone(tg_model_param(model, p, NULL, 0));
    cr_assert_eq(tg_model_load(model, path), code, "load: %s", tg_last_error_message());
    assert_error(code, function, fragment);
    for (int p = 0; p < n; p++) {
        tg_tensor *t = tg_model_param(model, p, NULL, 0);
        cr_assert_eq(memcmp(t->data, before[p]->data, (size_t)t->numel * tg_dtype_size(t->dtype)), 0,
                     "param %d was written by a refused load", p);
        tg_free(before[p]);
    }
    free(before);
}

Test(nn_model, loading_into_a_mismatched_model_is_refused_cleanly) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "model.safetensors");
    tg_rng rng = tg_rng_seeded(10);
    tg_model *saved = tg_mlp_new(&rng, TG_F64, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
    cr_assert_eq(tg_model_save(saved, path), TG_OK);

    /* Another width: 4.weight is (6,6) in the file, (6,5) here. */
    const int64_t wider[] = {2, 4, 6, 5, 4, 1};
    tg_model *m = tg_mlp_new(&rng, TG_F64, 6, wider, TG_ACT_RELU, TG_ACT_SIGMOID);
    assert_load_refused(m, path, TG_ERR_SHAPE, "tg_model_load", "4.weight");
    tg_model_free(m);
    /* Deeper: 10.weight is not in the file. */
    const int64_t deeper[] = {2, 4, 6, 6, 4, 1, 1};
    m = tg_mlp_new(&rng, TG_F64, 7, deeper, TG_ACT_RELU, TG_ACT_SIGMOID);
    assert_load_refused(m, path, TG_ERR_ARGUMENT, "tg_model_load", "10.weight");
    tg_model_free(m);
    /* Shallower, with every tensor it asks for present and matching: the
     * file's 8.weight belongs to another architecture. */
    const int64_t shallower[] = {2, 4, 6, 6, 4};
    m = tg_mlp_new(&rng, TG_F64, 5, shallower, TG_ACT_RELU, TG_ACT_SIGMOID);
    assert_load_refused(m, path, TG_ERR_ARGUMENT, "tg_model_load", "holds '8.");
    tg_model_free(m);
    /* No such file; a file that is not a checkpoint. */
    m = tg_mlp_new(&rng, TG_F64, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
    assert_load_refused(m, temp_file(&dir, "missing.safetensors"), TG_ERR_IO, "tg_model_load", "missing.safetensors");
    const char *junk = temp_file(&dir, "junk.safetensors");
    FILE *f = fopen(junk, "wb");
    cr_assert_not_null(f);
    fputs("this is not a checkpoint", f);
    fclose(f);
    assert_load_refused(m, junk, TG_ERR_FORMAT, "tg_model_load", "junk.safetensors");
    /* And the right model still loads. */
    cr_assert_eq(tg_model_load(m, path), TG_OK);
    assert_models_bit_equal(saved, m, true);
    tg_model_free(m);
    tg_model_free(saved);
    temp_dir_close(&dir);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

Test(nn_model, save_to_an_impossible_path_fails_without_a_file) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(11);
    const int64_t sizes[] = {2, 1};
    tg_model *model = tg_mlp_new(&rng, TG_F64, 2, sizes, TG_ACT_RELU, -1);
    cr_assert_eq(tg_model_save(model, "/nonexistent-dir-tg/model.safetensors"), TG_ERR_IO);
    tg_clear_error();
    cr_assert_eq(tg_model_save(NULL, "/tmp/x"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_model_save", "model");
    cr_assert_eq(tg_model_load(NULL, "/tmp/x"), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_model_load", "model");
    tg_model_free(model);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- building models by hand, and the errors ---- */

Test(nn_model, a_model_built_by_hand_names_params_by_layer_index) {
    tg_rng rng = tg_rng_seeded(12);
    tg_model *model = tg_model_new();
    cr_assert_eq(tg_model_num_params(model), 0);
    cr_assert_eq(tg_model_param_count(model), 0);
    tg_tensor *x = tg_ones(TG_F64, 2, (int64_t[]){1, 3});
    tg_tensor *same = tg_model_forward(model, x);
    cr_assert_eq(same, x, "an empty model is the identity");
    cr_assert_eq(tg_model_add(model, tg_activation_layer_new(TG_ACT_TANH)), TG_OK);
    cr_assert_eq(tg_model_add(model, tg_dense_new(&rng, TG_F64, 3, 2, TG_INIT_GLOROT_UNIFORM)), TG_OK);
    char name[8]; /* too small for long names: truncated, always terminated */
    cr_assert_not_null(tg_model_param(model, 1, name, sizeof name));
    cr_assert_str_eq(name, "1.bias");
    char big[32];
    tg_model_param(model, 0, big, sizeof big);
    cr_assert_str_eq(big, "1.weight");
    cr_assert_eq(tg_model_param_count(model), 8);
    for (int i = 0; i < 20; i++) /* the layer list grows */
        cr_assert_eq(tg_model_add(model, tg_activation_layer_new(TG_ACT_RELU)), TG_OK);
    cr_assert_eq(tg_model_num_layers(model), 22);
    tg_free(x);
    tg_model_free(model);
    reset_tape();
}

static tg_tensor *identity_forward(tg_module *self, tg_tensor *x) {
    (void)self;
    return x;
}

Test(nn_model, model_building_errors) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(13);
    tg_model *model = tg_model_new();
    cr_assert_eq(tg_model_add(model, NULL), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_model_add", "layer is NULL");
    /* A malformed parameter name is refused, and the tensor handed over is
     * freed (LeakSanitizer checks). */
    tg_module *bad = tg_module_new("bad", identity_forward);
    cr_assert_null(tg_module_add_param(bad, "a.b", tg_zeros(TG_F64, 1, (int64_t[]){2})));
    assert_error(TG_ERR_ARGUMENT, "tg_module_add_param", "'a.b' has a '.'");
    cr_assert_null(tg_module_add_param(bad, "", tg_zeros(TG_F64, 1, (int64_t[]){2})));
    assert_error(TG_ERR_ARGUMENT, "tg_module_add_param", "empty");
    cr_assert_not_null(tg_module_add_param(bad, "w", tg_zeros(TG_F64, 1, (int64_t[]){2})));
    cr_assert_null(tg_module_add_buffer(bad, "w", tg_zeros(TG_F64, 1, (int64_t[]){2})));
    assert_error(TG_ERR_ARGUMENT, "tg_module_add_buffer", "already has something named 'w'");
    tg_module_free(bad);
    /* Into no model: still freed. */
    cr_assert_eq(tg_model_add(NULL, tg_activation_layer_new(TG_ACT_RELU)), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_model_add", "model is NULL");
    cr_assert_eq(tg_model_num_layers(model), 0);
    cr_assert_null(tg_model_layer(model, 0));
    assert_error(TG_ERR_ARGUMENT, "tg_model_layer", "no layer 0");
    cr_assert_null(tg_model_param(model, -1, NULL, 0));
    assert_error(TG_ERR_ARGUMENT, "tg_model_param", "no parameter -1");
    cr_assert_null(tg_model_forward(NULL, NULL));
    assert_error(TG_ERR_ARGUMENT, "tg_model_forward", NULL);
    tg_model_free(model);
    tg_model_free(NULL);

    const int64_t one[] = {3}, zero[] = {3, 0, 1};
    cr_assert_null(tg_mlp_new(&rng, TG_F64, 1, one, TG_ACT_RELU, -1));
    assert_error(TG_ERR_ARGUMENT, "tg_mlp_new", "at least 2 sizes");
    cr_assert_null(tg_mlp_new(&rng, TG_F64, 3, zero, TG_ACT_RELU, -1));
    assert_error(TG_ERR_ARGUMENT, "tg_mlp_new", "sizes[1] = 0");
    cr_assert_null(tg_mlp_new(&rng, TG_F64, 6, sizes_246641, (tg_activation)50, -1));
    assert_error(TG_ERR_ARGUMENT, "tg_mlp_new", "hidden 50");
    cr_assert_null(tg_mlp_new(&rng, TG_F64, 6, sizes_246641, TG_ACT_RELU, 50));
    assert_error(TG_ERR_ARGUMENT, "tg_mlp_new", "output 50");
    cr_assert_null(tg_mlp_new(NULL, TG_F64, 6, sizes_246641, TG_ACT_RELU, -1));
    assert_error(TG_ERR_ARGUMENT, "tg_mlp_new", "rng");
    cr_assert_null(tg_mlp_new(&rng, (tg_dtype)5, 6, sizes_246641, TG_ACT_RELU, -1)); /* refused before building */
    assert_error(TG_ERR_DTYPE, "tg_mlp_new", NULL);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* A model's input of the wrong width stops at the first dense layer. */
Test(nn_model, a_wrong_input_width_is_reported_at_the_first_dense_layer) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_rng rng = tg_rng_seeded(14);
    tg_model *model = tg_mlp_new(&rng, TG_F64, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){8, 3});
    cr_assert_null(tg_model_forward(model, x));
    assert_error(TG_ERR_SHAPE, "tg_model_forward", "layer 0: dense layer: weight (2,4) expects x of shape (batch, 2)");
    tg_free(x);
    tg_model_free(model);
    reset_tape();
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- the file layout: PyTorch's, and the layout of earlier versions ---- */

/* 3 -> 4 -> 4 -> 2 with tanh: a non-square and a square dense layer, with
 * non-zero biases. Dense layers at 0, 2, 4, as nn.Sequential numbers them. */
static const int64_t sizes_3442[] = {3, 4, 4, 2};

static tg_model *mlp_3442(uint64_t seed, tg_dtype dtype) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_model *model = tg_mlp_new(&rng, dtype, 4, sizes_3442, TG_ACT_TANH, -1);
    for (int p = 1; p < 6; p += 2) tg_init_tensor(tg_model_param(model, p, NULL, 0), TG_INIT_HE_NORMAL, &rng, 3, 3, 0);
    return model;
}

Test(nn_model, dense_weights_are_saved_as_pytorchs_out_in_with_a_layout_key) {
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "model.safetensors");
    tg_model *model = mlp_3442(21, TG_F64);
    cr_assert_eq(tg_model_save(model, path), TG_OK, "%s", tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck);
    cr_assert_str_eq(tg_checkpoint_metadata(ck, TG_MODEL_LAYOUT_KEY), "pytorch");
    for (int layer = 0; layer < 3; layer++) {
        char name[16];
        snprintf(name, sizeof name, "%d.weight", 2 * layer);
        tg_tensor *w = tg_model_param(model, 2 * layer, NULL, 0); /* (in, out) */
        tg_tensor *stored = tg_checkpoint_read_tensor(ck, name);
        int64_t in = sizes_3442[layer], out = sizes_3442[layer + 1];
        cr_assert(stored && stored->rank == 2 && stored->shape[0] == out && stored->shape[1] == in, "%s", name);
        for (int64_t o = 0; o < out; o++)
            for (int64_t i = 0; i < in; i++)
                cr_assert_eq(tg_get_flat(stored, o * in + i), tg_get_flat(w, i * out + o), "%s[%lld][%lld]", name,
                             (long long)o, (long long)i);
        tg_free(stored);
    }
    tg_checkpoint_close(ck);
    tg_model_free(model);
    temp_dir_close(&dir);
}

/* Before the layout key, tg_model_save wrote each parameter as it is in
 * memory (dense weights (in, out)) through tg_checkpoint_save without
 * metadata: such a file, made here the same way, loads in that layout (the
 * square layer too, which a wrong guess would load transposed). */
Test(nn_model, a_file_of_the_earlier_in_out_layout_loads_as_it_was_saved) {
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "old.safetensors");
    tg_model *saved = mlp_3442(22, TG_F32);
    const char *names[6] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
    tg_tensor *params[6];
    cr_assert_eq(tg_model_params(saved, params, 6), 6);
    cr_assert_eq(tg_checkpoint_save(path, 6, names, (const tg_tensor *const *)params, 0, NULL, NULL), TG_OK);
    tg_model *fresh = mlp_3442(23, TG_F32);
    assert_models_bit_equal(saved, fresh, false);
    cr_assert_eq(tg_model_load(fresh, path), TG_OK, "%s", tg_last_error_message());
    assert_models_bit_equal(saved, fresh, true);
    tg_model_free(saved);
    tg_model_free(fresh);
    temp_dir_close(&dir);
}

/* The same, from a file the earlier tapegrad itself wrote (its bytes are in
 * old_layout_fixture.h, with the values they hold). */
Test(nn_model, a_file_written_by_the_earlier_tapegrad_loads_with_its_values) {
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "309f8d4.safetensors");
    write_bytes(path, old_layout_3442_safetensors, old_layout_3442_safetensors_len);
    tg_model *model = mlp_3442(30, TG_F32);
    cr_assert_eq(tg_model_load(model, path), TG_OK, "%s", tg_last_error_message());
    for (int p = 0; p < 6; p++) {
        tg_tensor *t = tg_model_param(model, p, NULL, 0);
        for (int64_t k = 0; k < t->numel; k++)
            cr_assert_eq(tg_get_flat(t, k), ((k % 5) - 2) / 8.0 + p / 16.0, "param %d [%lld]", p, (long long)k);
    }
    tg_model_free(model);
    temp_dir_close(&dir);
}

Test(nn_model, an_unknown_layout_is_refused_with_nothing_written) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "future.safetensors");
    tg_model *saved = mlp_3442(24, TG_F32);
    const char *names[6] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
    tg_tensor *params[6];
    tg_model_params(saved, params, 6);
    const char *keys[1] = {TG_MODEL_LAYOUT_KEY}, *values[1] = {"jax"};
    cr_assert_eq(tg_checkpoint_save(path, 6, names, (const tg_tensor *const *)params, 1, keys, values), TG_OK);
    tg_model *fresh = mlp_3442(25, TG_F32);
    assert_load_refused(fresh, path, TG_ERR_FORMAT, "tg_model_load", "tapegrad.layout = 'jax'");
    tg_model_free(saved);
    tg_model_free(fresh);
    temp_dir_close(&dir);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* A file another tool wrote (no tapegrad checksum, no layout key) is read in
 * PyTorch's layout. nn.Linear(2, 3): weight (3, 2) = [[1, 2], [3, 4], [5, 6]],
 * bias [0.5, -1, 0.25]; for x = (1, -2), y = W x + b by hand:
 * (1 - 4 + 0.5, 3 - 8 - 1, 5 - 12 + 0.25) = (-2.5, -6, -6.75). */
Test(nn_model, a_pytorch_layout_file_from_another_tool_gives_the_hand_computed_output, .init = return_mode) {
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "torch.safetensors");
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                       "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[12,36]}}";
    const float data[9] = {0.5f, -1.0f, 0.25f, 1, 2, 3, 4, 5, 6};
    size_t n = strlen(json);
    unsigned char *raw = calloc(8 + n + sizeof data, 1);
    for (int b = 0; b < 8; b++) raw[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(raw + 8, json, n);
    memcpy(raw + 8 + n, data, sizeof data); /* little-endian host */
    write_bytes(path, raw, 8 + n + sizeof data);
    free(raw);
    tg_rng rng = tg_rng_seeded(26);
    const int64_t sizes[] = {2, 3};
    tg_model *model = tg_mlp_new(&rng, TG_F32, 2, sizes, TG_ACT_RELU, -1);
    cr_assert_eq(tg_model_load(model, path), TG_OK, "%s", tg_last_error_message());
    tg_tensor *x = tg_from_doubles(TG_F32, 2, (int64_t[]){1, 2}, (const double[]){1, -2});
    tg_tensor *y = tg_model_forward(model, x);
    const double want[3] = {-2.5, -6, -6.75};
    for (int k = 0; k < 3; k++) cr_assert_eq(tg_get_flat(y, k), want[k], "y[%d] = %g", k, tg_get_flat(y, k));
    tg_free(x);
    tg_model_free(model);
    reset_tape();
    temp_dir_close(&dir);
}

/* A float64 file loads into a float32 model, each value rounded to the
 * nearest float (as (float) rounds a double); a value beyond float's range
 * is refused and the model keeps every bit. */
Test(nn_model, a_float64_file_loads_into_a_float32_model_rounded) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "f64.safetensors");
    tg_model *wide = mlp_3442(27, TG_F64);
    cr_assert_eq(tg_model_save(wide, path), TG_OK);
    tg_model *narrow = mlp_3442(28, TG_F32);
    cr_assert_eq(tg_model_load(narrow, path), TG_OK, "%s", tg_last_error_message());
    for (int p = 0; p < 6; p++) {
        tg_tensor *a = tg_model_param(wide, p, NULL, 0), *b = tg_model_param(narrow, p, NULL, 0);
        for (int64_t k = 0; k < a->numel; k++)
            cr_assert_eq(((float *)b->data)[k], (float)((double *)a->data)[k], "param %d [%lld]", p, (long long)k);
    }
    ((double *)tg_model_param(wide, 4, NULL, 0)->data)[3] = 1e300;
    cr_assert_eq(tg_model_save(wide, path), TG_OK);
    tg_model *other = mlp_3442(29, TG_F32);
    assert_load_refused(other, path, TG_ERR_DTYPE, "tg_model_load", "1.0000000000000001e+300");
    tg_model_free(wide);
    tg_model_free(narrow);
    tg_model_free(other);
    temp_dir_close(&dir);
    tg_set_error_mode(TG_ERRORS_ABORT);
}

/* ---- errors are reported under the function the caller called ----
 * tg_model_load, tg_model_save and tg_model_forward call other public
 * functions (the checkpoint reader and writer, each layer); a failure there
 * is reported once, in the mode in force, under the outer function's name:
 * the message starts with it, and the checkpoint functions the caller never
 * called are not named. A handler sees exactly that one report. */

typedef struct seen_reports {
    int count;
    char first[1024];
} seen_reports;

static void record_report(tg_status code, const char *message, void *user) {
    (void)code;
    seen_reports *seen = user;
    if (seen->count++ == 0) snprintf(seen->first, sizeof seen->first, "%s", message);
}

static void expect_one_report_starting(seen_reports *seen, const char *prefix, const char *fragment,
                                       const char *absent) {
    cr_assert_eq(seen->count, 1, "the handler saw %d reports, the first '%s'", seen->count, seen->first);
    cr_assert_eq(strncmp(seen->first, prefix, strlen(prefix)), 0, "report '%s' does not start with '%s'",
                 seen->first, prefix);
    cr_assert_not_null(strstr(seen->first, fragment), "report '%s' does not mention '%s'", seen->first, fragment);
    if (absent) cr_assert_null(strstr(seen->first, absent), "report '%s' names %s", seen->first, absent);
    cr_assert_eq(strncmp(tg_last_error_message(), prefix, strlen(prefix)), 0, "last error '%s'",
                 tg_last_error_message());
    seen->count = 0;
    seen->first[0] = '\0';
    tg_clear_error();
}

Test(nn_model, load_and_save_errors_are_reported_under_their_own_names) {
    temp_dir dir;
    temp_dir_open(&dir);
    const char *path = temp_file(&dir, "model.safetensors");
    tg_rng rng = tg_rng_seeded(15);
    tg_model *saved = tg_mlp_new(&rng, TG_F64, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);
    cr_assert_eq(tg_model_save(saved, path), TG_OK);
    const int64_t wider[] = {2, 4, 6, 5, 4, 1};
    tg_model *wide = tg_mlp_new(&rng, TG_F64, 6, wider, TG_ACT_RELU, TG_ACT_SIGMOID);
    tg_model *narrow32 = tg_mlp_new(&rng, TG_F32, 6, sizes_246641, TG_ACT_RELU, TG_ACT_SIGMOID);

    seen_reports seen = {0};
    tg_set_error_handler(record_report, &seen);
    cr_assert_eq(tg_model_load(wide, path), TG_ERR_SHAPE);
    expect_one_report_starting(&seen, "tg_model_load: ", "4.weight", "tg_checkpoint");
    /* float64 values load into a float32 model rounded, unless one is
     * beyond float32's range (checkpoint.h): 1e300 is. */
    const char *huge_path = temp_file(&dir, "huge.safetensors");
    tg_set_flat(tg_model_param(saved, 0, NULL, 0), 0, 1e300);
    tg_set_error_mode(TG_ERRORS_ABORT);
    cr_assert_eq(tg_model_save(saved, huge_path), TG_OK);
    tg_set_error_handler(record_report, &seen);
    cr_assert_eq(tg_model_load(narrow32, huge_path), TG_ERR_DTYPE);
    expect_one_report_starting(&seen, "tg_model_load: ", "F64", "tg_checkpoint");
    cr_assert_eq(tg_model_load(wide, temp_file(&dir, "missing.safetensors")), TG_ERR_IO);
    expect_one_report_starting(&seen, "tg_model_load: ", "missing.safetensors", "tg_checkpoint");
    cr_assert_eq(tg_model_save(wide, "/nonexistent-dir-tg/model.safetensors"), TG_ERR_IO);
    expect_one_report_starting(&seen, "tg_model_save: ", "nonexistent-dir-tg", "tg_checkpoint");
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){8, 3});
    cr_assert_null(tg_model_forward(wide, x));
    expect_one_report_starting(&seen, "tg_model_forward: layer 0: ", "(batch, 2)", NULL);
    tg_set_error_mode(TG_ERRORS_ABORT);

    /* The same messages in the error-returning mode. */
    tg_set_error_mode(TG_ERRORS_RETURN);
    cr_assert_eq(tg_model_load(wide, path), TG_ERR_SHAPE);
    cr_assert_eq(strncmp(tg_last_error_message(), "tg_model_load: ", 15), 0, "%s", tg_last_error_message());
    cr_assert_null(strstr(tg_last_error_message(), "tg_checkpoint"), "%s", tg_last_error_message());
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_free(x);
    tg_model_free(saved);
    tg_model_free(wide);
    tg_model_free(narrow32);
    reset_tape();
    temp_dir_close(&dir);
}
