/* examples/mnist_cnn_models.h — the two CNNs of examples/mnist_cnn.c, as
 * nn.Sequential would number them (tests/nn/test_torch_cnn_layers.c
 * compares their state_dict names and shapes with PyTorch's):
 *
 * LeNet-5 style, 61,706 parameters:
 *   0 Conv2d(1, 6, 5, padding=2)  1 ReLU  2 MaxPool2d(2)
 *   3 Conv2d(6, 16, 5)            4 ReLU  5 MaxPool2d(2)   6 Flatten
 *   7 Linear(400, 120)  8 ReLU  9 Linear(120, 84)  10 ReLU  11 Linear(84, 10)
 * The variant, with batch norm and dropout:
 *   0 Conv2d(1, 32, 3, bias=False)   1 BatchNorm2d(32)  2 ReLU
 *   3 Conv2d(32, 64, 3, bias=False)  4 BatchNorm2d(64)  5 ReLU
 *   6 MaxPool2d(2)  7 Dropout(0.25)  8 Flatten
 *   9 Linear(9216, 128)  10 ReLU  11 Dropout(0.5)  12 Linear(128, 10)
 * (a convolution followed by batch norm needs no bias: the norm's shift
 * takes its place). Input: (N, 1, 28, 28). */
#ifndef TG_EXAMPLES_MNIST_CNN_MODELS_H
#define TG_EXAMPLES_MNIST_CNN_MODELS_H

#include "tapegrad.h"

static tg_model *lenet5_new(uint64_t seed, tg_dtype dtype) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_conv2d_opts pad2 = tg_conv2d_options(1, 2, 1, 1);
    tg_model *m = tg_model_new();
    tg_model_add(m, tg_conv2d_layer_new(&rng, dtype, 1, 6, 5, &pad2, true, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_max_pool2d_layer_new(2, 0, 0));
    tg_model_add(m, tg_conv2d_layer_new(&rng, dtype, 6, 16, 5, NULL, true, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_max_pool2d_layer_new(2, 0, 0));
    tg_model_add(m, tg_flatten_layer_new(1, -1));
    tg_model_add(m, tg_dense_new(&rng, dtype, 16 * 5 * 5, 120, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_dense_new(&rng, dtype, 120, 84, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_dense_new(&rng, dtype, 84, 10, TG_INIT_GLOROT_UNIFORM));
    return m;
}

static tg_model *cnn_variant_new(uint64_t seed, tg_dtype dtype) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_model *m = tg_model_new();
    tg_model_add(m, tg_conv2d_layer_new(&rng, dtype, 1, 32, 3, NULL, false, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_batch_norm2d_layer_new(dtype, 32, 1e-5, 0.1));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_conv2d_layer_new(&rng, dtype, 32, 64, 3, NULL, false, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_batch_norm2d_layer_new(dtype, 64, 1e-5, 0.1));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_max_pool2d_layer_new(2, 0, 0));
    tg_model_add(m, tg_dropout_layer_new(0.25, seed + 1));
    tg_model_add(m, tg_flatten_layer_new(1, -1));
    tg_model_add(m, tg_dense_new(&rng, dtype, 64 * 12 * 12, 128, TG_INIT_HE_UNIFORM));
    tg_model_add(m, tg_activation_layer_new(TG_ACT_RELU));
    tg_model_add(m, tg_dropout_layer_new(0.5, seed + 2));
    tg_model_add(m, tg_dense_new(&rng, dtype, 128, 10, TG_INIT_GLOROT_UNIFORM));
    return m;
}

#endif
