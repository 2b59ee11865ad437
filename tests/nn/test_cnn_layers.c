/* tests/nn/test_cnn_layers.c — the layer modules over conv.h and norm.h:
 * Conv2d, MaxPool2d, AvgPool2d, Flatten, BatchNorm2d, LayerNorm, Dropout.
 * Their ops are tested where they are written (tests/ops, the gradcheck
 * table, the PyTorch oracle); here each layer's parameters, buffers, names
 * and forward are checked against values worked out by hand or in plain C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static void expect_layer_shape(const tg_tensor *t, int rank, const int64_t *shape, const char *what) {
    cr_assert_not_null(t, "%s: %s", what, tg_last_error_message());
    cr_assert_eq(t->rank, rank, "%s: rank %d", what, t->rank);
    for (int i = 0; i < rank; i++) cr_assert_eq(t->shape[i], shape[i], "%s: size %d", what, i);
}

/* y[o, i, j] = b[o] + sum_{c, u, v} x[c, 2i - 1 + u, 2j - 1 + v] w[o, c, u, v]
 * (stride 2, padding 1, zeros outside), written out in plain C. */
Test(nn_cnn_layers, conv2d_layer_holds_pytorchs_weight_and_computes_the_convolution) {
    tg_rng rng = tg_rng_seeded(1);
    tg_conv2d_opts opts = tg_conv2d_options(2, 1, 1, 1);
    tg_layer *conv = tg_conv2d_layer_new(&rng, TG_F64, 2, 3, 3, &opts, true, TG_INIT_HE_UNIFORM);
    cr_assert_not_null(conv, "%s", tg_last_error_message());
    cr_assert_str_eq(tg_module_kind(conv), "conv2d");
    tg_tensor *w = tg_module_param(conv, "weight"), *b = tg_module_param(conv, "bias");
    expect_layer_shape(w, 4, (int64_t[]){3, 2, 3, 3}, "weight (out, in, kh, kw)");
    expect_layer_shape(b, 1, (int64_t[]){3}, "bias");
    double bound = sqrt(6.0 / (2 * 9)); /* He uniform, fan_in = in * kh * kw */
    for (int64_t k = 0; k < w->numel; k++) cr_assert(fabs(tg_get_flat(w, k)) <= bound);
    for (int o = 0; o < 3; o++) tg_set_flat(b, o, 0.25 * (o + 1));
    double xs[2 * 4 * 4];
    for (int i = 0; i < 32; i++) xs[i] = (i % 5) - 2 + 0.125 * i;
    tg_tensor *x = tg_from_doubles(TG_F64, 4, (int64_t[]){1, 2, 4, 4}, xs);
    tg_tensor *y = tg_layer_forward(conv, x);
    expect_layer_shape(y, 4, (int64_t[]){1, 3, 2, 2}, "y");
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double s = tg_get_flat(b, o);
                for (int c = 0; c < 2; c++)
                    for (int u = 0; u < 3; u++)
                        for (int v = 0; v < 3; v++) {
                            int r = 2 * i - 1 + u, q = 2 * j - 1 + v;
                            if (r < 0 || r >= 4 || q < 0 || q >= 4) continue;
                            s += xs[c * 16 + r * 4 + q] * tg_get_flat(w, ((o * 2 + c) * 3 + u) * 3 + v);
                        }
                double got = tg_get_flat(y, (o * 2 + i) * 2 + j);
                cr_assert(fabs(got - s) <= 1e-13, "y[%d,%d,%d] %.17g, want %.17g", o, i, j, got, s);
            }
    tg_layer *no_bias = tg_conv2d_layer_new(&rng, TG_F64, 2, 4, 1, NULL, false, TG_INIT_GLOROT_NORMAL);
    cr_assert_eq(tg_module_num_params(no_bias), 1, "bias=False: the weight only");
    tg_free(x);
    tg_layer_free(conv);
    tg_layer_free(no_bias);
    reset_tape();
}

/* x = 0..15 as a 4x4 image: 2x2 windows hold {0,1,4,5}, {2,3,6,7}, ... */
Test(nn_cnn_layers, pooling_and_flatten_layers) {
    tg_tensor *x = tg_arange(TG_F64, 0, 16, 1);
    tg_tensor *image = tg_reshape(x, 4, (int64_t[]){1, 1, 4, 4});
    tg_layer *max_pool = tg_max_pool2d_layer_new(2, 0, 0), *avg_pool = tg_avg_pool2d_layer_new(2, 2, 0);
    tg_layer *flatten = tg_flatten_layer_new(1, -1);
    tg_tensor *m = tg_layer_forward(max_pool, image), *a = tg_layer_forward(avg_pool, image);
    expect_layer_shape(m, 4, (int64_t[]){1, 1, 2, 2}, "max");
    const double want_max[] = {5, 7, 13, 15}, want_avg[] = {2.5, 4.5, 10.5, 12.5};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(tg_get_flat(m, k), want_max[k]);
        cr_assert_eq(tg_get_flat(a, k), want_avg[k]);
    }
    tg_tensor *f = tg_layer_forward(flatten, m);
    expect_layer_shape(f, 2, (int64_t[]){1, 4}, "flatten (1, -1)");
    cr_assert(tg_module_num_params(max_pool) == 0 && tg_module_num_buffers(avg_pool) == 0);
    tg_free(x);
    tg_layer_free(max_pool);
    tg_layer_free(avg_pool);
    tg_layer_free(flatten);
    reset_tape();
}

/* One channel holding 1, 3, 5, 7: batch mean 4, biased variance 5,
 * unbiased 20/3. Training: y = (x - 4) / sqrt(5 + eps), running_mean =
 * 0.9 * 0 + 0.1 * 4, running_var = 0.9 * 1 + 0.1 * 20/3, one batch counted.
 * Eval: the running statistics, and nothing changes. */
Test(nn_cnn_layers, batch_norm2d_keeps_pytorchs_buffers_and_uses_them_in_eval) {
    const double eps = 1e-5;
    tg_layer *bn = tg_batch_norm2d_layer_new(TG_F64, 1, eps, 0.1);
    cr_assert_not_null(bn, "%s", tg_last_error_message());
    const char *params[] = {"weight", "bias"}, *buffers[] = {"running_mean", "running_var", "num_batches_tracked"};
    for (int i = 0; i < 2; i++) {
        char name[32];
        cr_assert_not_null(tg_module_param_at(bn, i, name, sizeof name));
        cr_assert_str_eq(name, params[i]);
    }
    for (int i = 0; i < 3; i++) {
        char name[32];
        cr_assert_not_null(tg_module_buffer_at(bn, i, name, sizeof name));
        cr_assert_str_eq(name, buffers[i]);
    }
    tg_tensor *x = tg_from_doubles(TG_F64, 4, (int64_t[]){2, 1, 1, 2}, (double[]){1, 3, 5, 7});
    tg_tensor *y = tg_layer_forward(bn, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    const double xs[] = {1, 3, 5, 7};
    for (int k = 0; k < 4; k++)
        cr_assert(fabs(tg_get_flat(y, k) - (xs[k] - 4) / sqrt(5 + eps)) <= 1e-12, "training y[%d]", k);
    double running_mean = 0.4, running_var = 0.9 + 0.1 * 20.0 / 3.0;
    cr_assert(fabs(tg_item(tg_module_buffer(bn, "running_mean")) - running_mean) <= 1e-15);
    cr_assert(fabs(tg_item(tg_module_buffer(bn, "running_var")) - running_var) <= 1e-15);
    cr_assert_eq(tg_item(tg_module_buffer(bn, "num_batches_tracked")), 1.0);
    tg_module_set_training(bn, false);
    y = tg_layer_forward(bn, x);
    for (int k = 0; k < 4; k++)
        cr_assert(fabs(tg_get_flat(y, k) - (xs[k] - running_mean) / sqrt(running_var + eps)) <= 1e-12, "eval y[%d]",
                  k);
    cr_assert(fabs(tg_item(tg_module_buffer(bn, "running_mean")) - running_mean) <= 1e-15, "eval: unchanged");
    cr_assert_eq(tg_item(tg_module_buffer(bn, "num_batches_tracked")), 1.0, "eval: not counted");
    tg_free(x);
    tg_layer_free(bn);
    reset_tape();
}

/* Row 1, 2, 3, 4: mean 2.5, biased variance 1.25. */
Test(nn_cnn_layers, layer_norm_layer_normalizes_the_last_axes) {
    const double eps = 1e-5;
    tg_layer *ln = tg_layer_norm_layer_new(TG_F64, 1, (int64_t[]){4}, eps, true);
    expect_layer_shape(tg_module_param(ln, "weight"), 1, (int64_t[]){4}, "weight");
    expect_layer_shape(tg_module_param(ln, "bias"), 1, (int64_t[]){4}, "bias");
    tg_tensor *x = tg_from_doubles(TG_F64, 2, (int64_t[]){1, 4}, (double[]){1, 2, 3, 4});
    tg_tensor *y = tg_layer_forward(ln, x);
    for (int k = 0; k < 4; k++)
        cr_assert(fabs(tg_get_flat(y, k) - (k + 1 - 2.5) / sqrt(1.25 + eps)) <= 1e-12, "y[%d]", k);
    tg_layer *plain = tg_layer_norm_layer_new(TG_F64, 1, (int64_t[]){4}, eps, false);
    cr_assert_eq(tg_module_num_params(plain), 0, "affine=False: no parameters");
    tg_free(x);
    tg_layer_free(ln);
    tg_layer_free(plain);
    reset_tape();
}

/* Each training call draws a new mask (the counter moves on); setting the
 * counter back draws the same one; eval mode is the identity. Kept
 * elements are x / (1 - p) = 2x, the others 0. */
Test(nn_cnn_layers, dropout_layer_keeps_its_counter) {
    tg_layer *drop = tg_dropout_layer_new(0.5, 42);
    tg_tensor *x = tg_ones(TG_F64, 1, (int64_t[]){256});
    cr_assert_eq(tg_dropout_layer_counter(drop), 0u);
    tg_tensor *first = tg_layer_forward(drop, x), *second = tg_layer_forward(drop, x);
    cr_assert_eq(tg_dropout_layer_counter(drop), 2u);
    int differ = 0, kept = 0;
    for (int k = 0; k < 256; k++) {
        double a = tg_get_flat(first, k);
        cr_assert(a == 0 || a == 2, "element %d: %g", k, a);
        kept += a == 2;
        differ += a != tg_get_flat(second, k);
    }
    cr_assert(kept > 64 && kept < 192, "about half kept: %d", kept);
    cr_assert(differ > 0, "a new mask for each call");
    cr_assert_eq(tg_dropout_layer_set_counter(drop, 0), TG_OK);
    tg_tensor *again = tg_layer_forward(drop, x);
    for (int k = 0; k < 256; k++) cr_assert_eq(tg_get_flat(again, k), tg_get_flat(first, k), "same counter, same mask");
    tg_module_set_training(drop, false);
    cr_assert_eq(tg_layer_forward(drop, x), x, "eval: x itself");
    tg_free(x);
    tg_layer_free(drop);
    reset_tape();
}
