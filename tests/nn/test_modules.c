/* tests/nn/test_modules.c — nested modules: dotted names as PyTorch's
 * state_dict gives them, buffers saved and loaded with the parameters, a
 * weight tied inside a block (listed, saved and freed once), strict loading
 * with errors naming the tensor, train/eval reaching every descendant, and
 * forwards of several tensors. ASan and LeakSanitizer watch every free.
 *
 * The model, and its PyTorch twin (see test_torch_modules.c):
 *   Sequential(OrderedDict(
 *     features = Sequential(Linear(3, 4), Stat(4), ReLU()),
 *     body     = Body(4),        # x + b(relu(a(x))), b.weight is a.weight
 *     head     = Linear(4, 2)))
 * Stat: y = x * gain; a parameter "gain" (4), buffers "running_mean" (4) and
 * "num_batches_tracked" (), which training-mode forwards update. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/nn/module_fixture.h"
#include "tests/test_helpers.h"


static void expect_names(tg_module *model, bool buffers, int n, const char *const *names) {
    int have = buffers ? tg_module_num_buffers(model) : tg_module_num_params(model);
    cr_assert_eq(have, n, "%d %s, want %d", have, buffers ? "buffers" : "parameters", n);
    for (int i = 0; i < n; i++) {
        char name[64];
        tg_tensor *t = buffers ? tg_module_buffer_at(model, i, name, sizeof name)
                               : tg_module_param_at(model, i, name, sizeof name);
        cr_assert_not_null(t);
        cr_assert_str_eq(name, names[i], "entry %d", i);
        cr_assert_eq(t, buffers ? tg_module_buffer(model, name) : tg_module_param(model, name), "%s by path", name);
        cr_assert_eq(t->requires_grad, !buffers, "%s: requires_grad", name);
    }
}

/* The order is PyTorch's named_parameters() / named_buffers(): a module's
 * own, then its children's in the order they were added; the tied
 * body.b.weight is body.a.weight and appears once, under its first name. */
Test(nn_modules, nested_names_are_pytorchs_dotted_state_dict_names) {
    tg_module *model = fixture_model(1, TG_F64);
    const char *params[] = {"features.0.weight", "features.0.bias", "features.1.gain", "body.a.weight",
                            "body.a.bias",       "body.b.bias",     "head.weight",     "head.bias"};
    const char *buffers[] = {"features.1.running_mean", "features.1.num_batches_tracked"};
    expect_names(model, false, 8, params);
    expect_names(model, true, 2, buffers);
    cr_assert_eq(tg_module_param(model, "body.b.weight"), tg_module_param(model, "body.a.weight"), "tied");
    cr_assert_eq(tg_module_param_count(model), 3 * 4 + 4 + 4 + 16 + 4 + 4 + 4 * 2 + 2);
    cr_assert_str_eq(tg_module_kind(tg_module_find(model, "features.1")), "stat");
    cr_assert_null(tg_module_find(model, "features.7"), "no such child: NULL, not an error");
    tg_module_free(model);
}

/* body(x) = x + relu(x A + a) A + b, A tied: the user-written forward over
 * the block's struct, against the formula in plain C. */
Test(nn_modules, a_user_written_block_forward_computes_its_formula) {
    tg_module *model = fixture_model(2, TG_F64);
    tg_module *body = tg_module_find(model, "body");
    const tg_tensor *A = tg_module_param(body, "a.weight"), *a = tg_module_param(body, "a.bias");
    const tg_tensor *b = tg_module_param(body, "b.bias");
    double xs[2 * 4] = {0.5, -1, 2, 0.25, -0.5, 1.5, 0, -2};
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){2, 4}, xs);
    tg_tensor *y = tg_module_forward(body, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    for (int r = 0; r < 2; r++) {
        double h[4];
        for (int j = 0; j < 4; j++) {
            double s = tg_get_flat(a, j);
            for (int i = 0; i < 4; i++) s += xs[r * 4 + i] * tg_get_flat(A, i * 4 + j);
            h[j] = s > 0 ? s : 0;
        }
        for (int j = 0; j < 4; j++) {
            double s = xs[r * 4 + j] + tg_get_flat(b, j);
            for (int i = 0; i < 4; i++) s += h[i] * tg_get_flat(A, i * 4 + j);
            cr_assert(fabs(tg_get_flat(y, r * 4 + j) - s) <= 1e-14, "y[%d,%d] %.17g want %.17g", r, j,
                      tg_get_flat(y, r * 4 + j), s);
        }
    }
    tg_free(x);
    tg_module_free(model);
    reset_tape();
}

Test(nn_modules, train_and_eval_reach_every_descendant) {
    tg_module *model = fixture_model(3, TG_F64);
    const char *paths[] = {"features", "features.0", "features.1", "features.2", "body", "body.a", "body.b", "head"};
    tg_module_set_training(model, false);
    cr_assert(!tg_module_is_training(model));
    for (int i = 0; i < 8; i++) cr_assert(!tg_module_is_training(tg_module_find(model, paths[i])), "%s", paths[i]);
    /* Stat counts training-mode batches only, as BatchNorm's
     * num_batches_tracked. */
    tg_tensor *count = tg_module_buffer(model, "features.1.num_batches_tracked");
    tg_tensor *x = tg_zeros(TG_F64, 2, (int64_t[]){5, 3});
    cr_assert_not_null(tg_module_forward(model, x));
    cr_assert_eq(tg_item(count), 0.0, "eval: not counted");
    tg_module_set_training(tg_module_find(model, "features"), true);
    cr_assert(tg_module_is_training(tg_module_find(model, "features.1")) && !tg_module_is_training(model));
    tg_module_set_training(model, true);
    for (int i = 0; i < 8; i++) cr_assert(tg_module_is_training(tg_module_find(model, paths[i])), "%s", paths[i]);
    cr_assert_not_null(tg_module_forward(model, x));
    cr_assert_not_null(tg_module_forward(model, x));
    cr_assert_eq(tg_item(count), 2.0, "training: counted");
    /* A child added to a module in eval mode takes eval mode. */
    tg_module_set_training(model, false);
    tg_module *late = tg_module_add_child(tg_module_find(model, "body"), "late", tg_model_new());
    cr_assert(late && !tg_module_is_training(late));
    tg_free(x);
    tg_module_free(model);
    reset_tape();
}

/* Saving writes every parameter and buffer once under its name; loading
 * into a model of other values gives back exactly the saved ones, the tie
 * still one tensor. */
Test(nn_modules, save_and_load_restore_parameters_and_buffers_exactly) {
    char dir[64], path[96];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    tg_module *saved = fixture_model(4, TG_F32), *loaded = fixture_model(5, TG_F32);
    tg_tensor *x = tg_from_doubles(TG_F32, 2, (int64_t[]){2, 3}, (double[]){1, -2, 0.5, 3, 0.25, -1});
    cr_assert_not_null(tg_module_forward(saved, x)); /* moves the buffers off their start */
    cr_assert_eq(tg_module_save(saved, path), TG_OK, "%s", tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_eq(tg_checkpoint_count(ck), 10, "8 parameters and 2 buffers");
    cr_assert_null(tg_checkpoint_find(ck, "body.b.weight"), "the tied weight once");
    const tg_checkpoint_entry *w = tg_checkpoint_find(ck, "features.0.weight");
    cr_assert(w && w->rank == 2 && w->shape[0] == 4 && w->shape[1] == 3, "(out, in), as nn.Linear");
    tg_checkpoint_close(ck);
    cr_assert_eq(tg_module_load(loaded, path), TG_OK, "%s", tg_last_error_message());
    for (int buffers = 0; buffers < 2; buffers++) {
        int n = buffers ? tg_module_num_buffers(saved) : tg_module_num_params(saved);
        for (int i = 0; i < n; i++) {
            char name[64];
            const tg_tensor *a = buffers ? tg_module_buffer_at(saved, i, name, sizeof name)
                                         : tg_module_param_at(saved, i, name, sizeof name);
            const tg_tensor *b = buffers ? tg_module_buffer(loaded, name) : tg_module_param(loaded, name);
            for (int64_t k = 0; k < a->numel; k++)
                cr_assert_eq(tg_get_flat(a, k), tg_get_flat(b, k), "%s[%lld]", name, (long long)k);
        }
    }
    cr_assert_eq(tg_item(tg_module_buffer(loaded, "features.1.num_batches_tracked")), 1.0);
    cr_assert_eq(tg_module_param(loaded, "body.b.weight"), tg_module_param(loaded, "body.a.weight"));
    tg_free(x);
    tg_module_free(saved);
    tg_module_free(loaded);
    remove_temp_dir(dir);
    reset_tape();
}

/* Writes the tensors of `from` except `drop` (NULL: none), with `extra`
 * (NULL: none; freed here) added under `extra_name`, to `path`, in
 * PyTorch's layout. */
static void write_variant(const char *from, const char *path, const char *drop, const char *extra_name,
                          tg_tensor *extra) {
    tg_checkpoint *ck = tg_checkpoint_open(from);
    cr_assert_not_null(ck);
    const char *names[16];
    tg_tensor *tensors[16];
    int n = 0;
    for (int i = 0; i < tg_checkpoint_count(ck); i++) {
        const char *name = tg_checkpoint_entry_at(ck, i)->name;
        if (drop && strcmp(name, drop) == 0) continue;
        names[n] = name;
        tensors[n++] = tg_checkpoint_read_tensor(ck, name);
    }
    if (extra) {
        names[n] = extra_name;
        tensors[n++] = extra;
    }
    const char *keys[] = {TG_MODEL_LAYOUT_KEY}, *values[] = {TG_MODEL_LAYOUT_PYTORCH};
    cr_assert_eq(tg_checkpoint_save(path, n, names, (const tg_tensor *const *)tensors, 1, keys, values), TG_OK);
    for (int i = 0; i < n; i++) tg_free(tensors[i]); /* extra too: handed over */
    tg_checkpoint_close(ck);
}

Test(nn_modules, loading_is_strict_and_names_the_tensor, .init = return_mode) {
    char dir[64], good[96], bad[96];
    make_temp_dir(dir, sizeof dir);
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    tg_module *model = fixture_model(6, TG_F64);
    cr_assert_eq(tg_module_save(model, good), TG_OK);
    double before = tg_get_flat(tg_module_param(model, "head.bias"), 0);

    write_variant(good, bad, "features.1.running_mean", NULL, NULL);
    cr_assert_eq(tg_module_load(model, bad), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_module_load", "has no buffer 'features.1.running_mean'");

    write_variant(good, bad, NULL, "features.1.running_var", tg_zeros(TG_F64, 1, (int64_t[]){4}));
    cr_assert_eq(tg_module_load(model, bad), TG_ERR_ARGUMENT);
    assert_error(TG_ERR_ARGUMENT, "tg_module_load", "holds 'features.1.running_var', which the model");

    write_variant(good, bad, "features.1.running_mean", "features.1.running_mean",
                  tg_zeros(TG_F64, 1, (int64_t[]){5}));
    cr_assert_eq(tg_module_load(model, bad), TG_ERR_SHAPE);
    assert_error(TG_ERR_SHAPE, "tg_module_load",
                 "buffer 'features.1.running_mean' has shape (4) in the model, (5) in the file");

    write_variant(good, bad, "head.weight", "head.weight", tg_zeros(TG_F64, 2, (int64_t[]){4, 2}));
    cr_assert_eq(tg_module_load(model, bad), TG_ERR_SHAPE);
    assert_error(TG_ERR_SHAPE, "tg_module_load", "parameter 'head.weight' has shape (2,4) in the model, (4,2)");

    cr_assert_eq(tg_get_flat(tg_module_param(model, "head.bias"), 0), before, "nothing written on error");
    tg_module_free(model);
    remove_temp_dir(dir);
}

/* A tied weight lives as long as its last user: freeing the module that
 * owns it first (it is held by the tied one) leaves the weight to the
 * other, and freeing that one frees both, once (ASan checks). */
Test(nn_modules, a_tied_owner_outlives_its_parent_until_the_tie_goes) {
    tg_rng rng = tg_rng_seeded(7);
    tg_module *left = tg_model_new(), *right = tg_model_new();
    tg_module *owner = tg_module_add_child(left, "emb", tg_dense_new(&rng, TG_F64, 4, 4, TG_INIT_GLOROT_UNIFORM));
    tg_module *user = tg_module_add_child(right, "head", tg_dense_new(&rng, TG_F64, 4, 4, TG_INIT_GLOROT_UNIFORM));
    cr_assert_eq(tg_module_tie_param(user, "weight", owner, "weight"), TG_OK);
    tg_tensor *weight = tg_module_param(owner, "weight");
    tg_module_free(left); /* owner stays: the tie holds it */
    cr_assert_eq(tg_module_param(right, "head.weight"), weight);
    tg_set_grad_enabled(true);
    tg_tensor *x = tg_ones(TG_F64, 2, (int64_t[]){1, 4});
    cr_assert_not_null(tg_module_forward(right, x));
    tg_free(x);
    tg_module_free(right);
    reset_tape();
}

/* ---- forwards of several tensors ---- */

/* (x, y) -> (x + y, x * y) */
static int sum_and_product(tg_module *self, int n_in, tg_tensor *const *in, int max_out, tg_tensor **out) {
    (void)self;
    if (n_in != 2 || max_out < 2) {
        tg_error_report(TG_ERR_ARGUMENT, "sum_and_product", "takes 2 inputs, got %d", n_in);
        return -1;
    }
    out[0] = tg_add(in[0], in[1]);
    out[1] = tg_mul(in[0], in[1]);
    return out[0] && out[1] ? 2 : -1;
}

/* (a, b) -> a - b */
static int difference(tg_module *self, int n_in, tg_tensor *const *in, int max_out, tg_tensor **out) {
    (void)self;
    (void)max_out;
    if (n_in != 2) {
        tg_error_report(TG_ERR_ARGUMENT, "difference", "takes 2 inputs, got %d", n_in);
        return -1;
    }
    out[0] = tg_sub(in[0], in[1]);
    return out[0] ? 1 : -1;
}

Test(nn_modules, a_sequence_passes_several_tensors_between_children, .init = return_mode) {
    tg_module *model = tg_model_new();
    tg_module *pair = tg_module_add_child(model, NULL, tg_module_new_n("sum_and_product", sum_and_product));
    tg_module_add_child(model, NULL, tg_module_new_n("difference", difference));
    tg_tensor *x = tg_scalar(TG_F64, 3), *y = tg_scalar(TG_F64, 5);
    tg_tensor *in[2] = {x, y}, *out[4];
    cr_assert_eq(tg_module_forward_n(pair, 2, in, 4, out), 2);
    cr_assert(tg_item(out[0]) == 8 && tg_item(out[1]) == 15);
    cr_assert_eq(tg_module_forward_n(model, 2, in, 4, out), 1);
    cr_assert_eq(tg_item(out[0]), 8 - 15.0, "(x + y) - x y");
    /* One in and one out is tg_module_forward's contract. */
    cr_assert_null(tg_module_forward(pair, x));
    assert_error(TG_ERR_ARGUMENT, "tg_module_forward", "takes 2 inputs, got 1");
    cr_assert_eq(tg_module_forward_n(model, 1, in, 4, out), -1);
    assert_error(TG_ERR_ARGUMENT, "tg_module_forward_n", "layer 0: sum_and_product: takes 2 inputs, got 1");
    tg_free(x);
    tg_free(y);
    tg_module_free(model);
    reset_tape();
}
