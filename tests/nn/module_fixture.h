/* tests/nn/module_fixture.h — the nested model of test_modules.c and
 * test_torch_modules.c, built from user-written modules:
 *   features = sequential(dense(3, 4), stat(4), relu)
 *   body     = x + b(relu(a(x))), a, b dense(4, 4), b.weight tied to a.weight
 *   head     = dense(4, 2)
 * stat: y = x * gain, with buffers running_mean (4) and num_batches_tracked
 * (), updated by training-mode forwards only (mean 0.9 old + 0.1 batch mean,
 * count + 1), as BatchNorm keeps its statistics. */
#ifndef TG_TESTS_NN_MODULE_FIXTURE_H
#define TG_TESTS_NN_MODULE_FIXTURE_H

#include <stdlib.h>

#include "tapegrad.h"

static tg_tensor *stat_forward(tg_module *self, tg_tensor *x) {
    if (tg_module_is_training(self)) {
        tg_tensor *mean = tg_module_buffer(self, "running_mean"), *count = tg_module_buffer(self, "num_batches_tracked");
        int64_t rows = x->shape[0], cols = x->shape[1];
        for (int64_t j = 0; j < cols; j++) {
            double s = 0;
            for (int64_t r = 0; r < rows; r++) s += tg_get_flat(x, r * cols + j);
            tg_set_flat(mean, j, 0.9 * tg_get_flat(mean, j) + 0.1 * s / (double)rows);
        }
        tg_set_flat(count, 0, tg_item(count) + 1);
    }
    return tg_mul(x, tg_module_param(self, "gain"));
}

static tg_module *stat_new(tg_dtype dtype, int64_t n) {
    tg_module *m = tg_module_new("stat", stat_forward);
    tg_module_add_param(m, "gain", tg_full(dtype, 1, &n, 1.5));
    tg_module_add_buffer(m, "running_mean", tg_zeros(dtype, 1, &n));
    tg_module_add_buffer(m, "num_batches_tracked", tg_zeros(dtype, 0, NULL));
    return m;
}

/* The block's struct: pointers to its children, for its forward. */
typedef struct body_block {
    tg_module *a, *b;
} body_block;

static tg_tensor *body_forward(tg_module *self, tg_tensor *x) {
    body_block *body = tg_module_state(self);
    tg_tensor *h = tg_relu(tg_module_forward(body->a, x));
    return tg_add(x, tg_module_forward(body->b, h));
}

static tg_module *body_new(tg_rng *rng, tg_dtype dtype, int64_t n) {
    tg_module *m = tg_module_new("body", body_forward);
    body_block *body = calloc(1, sizeof *body);
    tg_module_set_state(m, body, free);
    body->a = tg_module_add_child(m, "a", tg_dense_new(rng, dtype, n, n, TG_INIT_GLOROT_UNIFORM));
    body->b = tg_module_add_child(m, "b", tg_dense_new(rng, dtype, n, n, TG_INIT_GLOROT_UNIFORM));
    tg_module_tie_param(body->b, "weight", body->a, "weight");
    return m;
}

/* Biases get non-zero values so that a load that misses one shows. */
static tg_module *fixture_model(uint64_t seed, tg_dtype dtype) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_module *model = tg_model_new();
    tg_module *features = tg_module_add_child(model, "features", tg_model_new());
    tg_model_add(features, tg_dense_new(&rng, dtype, 3, 4, TG_INIT_GLOROT_UNIFORM));
    tg_model_add(features, stat_new(dtype, 4));
    tg_model_add(features, tg_activation_layer_new(TG_ACT_RELU));
    tg_module_add_child(model, "body", body_new(&rng, dtype, 4));
    tg_module_add_child(model, "head", tg_dense_new(&rng, dtype, 4, 2, TG_INIT_GLOROT_UNIFORM));
    int n = tg_module_num_params(model);
    for (int i = 0; i < n; i++) {
        char name[64];
        tg_tensor *p = tg_module_param_at(model, i, name, sizeof name);
        if (p->rank == 1)
            for (int64_t k = 0; k < p->numel; k++) tg_set_flat(p, k, tg_rng_uniform(&rng) - 0.5);
    }
    return model;
}

#endif
