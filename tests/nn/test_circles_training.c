/* tests/nn/test_circles_training.c — seed 001's network learns the circles:
 * the 2-4-6-6-4-1 ReLU/sigmoid MLP trained with binary cross-entropy reaches
 * >= 99% accuracy on held-out generated points, with the recipe of
 * examples/circles.c (repeated here in a few lines; keep the two in step):
 * make_circles(1000, noise 0.1, factor 0.3), 20% held out, batches of 32,
 * Adam lr 0.005, 100 epochs; hidden biases started at 0.1, output weights at
 * 0, and initial draws with a dead ReLU unit drawn again.
 *
 * The 99% bar is the task's; the article (seed 001) reports "almost 100%".
 * Measured over 1,000 seeds of data, split, initialization and order, this
 * recipe missed 99% twice (98.5%, 3 of 200 test points), never by a dead
 * network; from tg_mlp_new's plain initialization the whole network died in
 * 3.8% of the runs. A run takes about 0.1 s (a second or so under ASan). */
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

enum { SAMPLES = 1000, BATCH = 32, EPOCHS = 100 };
static const double NOISE = 0.1, FACTOR = 0.3, TEST_FRACTION = 0.2, LEARNING_RATE = 0.005;

static void setup(void) { tg_set_num_threads(1); }

static tg_tensor *as_column(tg_tensor *labels) { return tg_reshape(labels, 2, (int64_t[]){labels->shape[0], 1}); }

/* BCE on probabilities kept inside [1e-7, 1 - 1e-7], as Keras does. */
static tg_tensor *circles_loss(tg_tensor *prob, tg_tensor *labels) {
    return tg_bce_loss(tg_clamp(prob, 1e-7, 1 - 1e-7), as_column(labels));
}

/* Some unit of a ReLU layer is 0 for every row of x. */
static bool has_dead_unit(tg_model *model, tg_tensor *x) {
    bool dead = false, was_enabled = tg_set_grad_enabled(false);
    tg_tensor *h = x;
    for (int i = 0; i < tg_model_num_layers(model) && !dead; i++) {
        tg_layer *layer = tg_model_layer(model, i);
        h = tg_layer_forward(layer, h);
        if (strcmp(tg_module_kind(layer), "relu") != 0) continue;
        for (int64_t unit = 0; unit < h->shape[1] && !dead; unit++) {
            bool alive = false;
            for (int64_t row = 0; row < h->shape[0] && !alive; row++)
                alive = tg_get_flat(h, row * h->shape[1] + unit) > 0;
            dead = !alive;
        }
    }
    tg_set_grad_enabled(was_enabled);
    tg_tape_reset(tg_tape_current());
    return dead;
}

static tg_model *make_network(tg_rng *rng, tg_tensor *train_x) {
    const int64_t sizes[] = {2, 4, 6, 6, 4, 1};
    for (;;) {
        tg_model *model = tg_mlp_new(rng, TG_F64, 6, sizes, TG_ACT_RELU, TG_ACT_SIGMOID);
        cr_assert_not_null(model);
        int n_layers = tg_model_num_layers(model);
        for (int i = 0; i < n_layers; i++) {
            tg_layer *layer = tg_model_layer(model, i);
            if (strcmp(tg_module_kind(layer), "dense") != 0) continue;
            if (i < n_layers - 2) /* a hidden layer: bias 0.1 */
                tg_init_tensor(tg_module_param(layer, "bias"), TG_INIT_CONSTANT, NULL, 0, 0, 0.1);
            else /* the output layer: weights 0 */
                tg_init_tensor(tg_module_param(layer, "weight"), TG_INIT_ZEROS, NULL, 0, 0, 0);
        }
        if (!has_dead_unit(model, train_x)) return model;
        tg_model_free(model);
    }
}

static void dataset_tensors(const tg_dataset *ds, tg_tensor **x, tg_tensor **labels) {
    int64_t count = tg_dataset_count(ds);
    *x = tg_zeros(TG_F64, 2, (int64_t[]){count, 2});
    *labels = tg_zeros(TG_F64, 1, (int64_t[]){count});
    cr_assert_eq(tg_dataset_fill_range(ds, 0, count, *x, *labels, TG_ENCODE_INDEX), TG_OK);
}

typedef struct outcome {
    double last_epoch_loss, test_accuracy;
} outcome;

/* The whole recipe from one seed: data, split, network, training. */
static outcome train_circles(uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_dataset *circles = tg_make_circles(&rng, SAMPLES, NOISE, FACTOR), *train, *test;
    cr_assert_not_null(circles);
    cr_assert_eq(tg_dataset_split(circles, TEST_FRACTION, &rng, &train, &test), TG_OK);
    tg_tensor *train_x, *train_labels, *test_x, *test_labels;
    dataset_tensors(train, &train_x, &train_labels);
    dataset_tensors(test, &test_x, &test_labels);

    tg_model *model = make_network(&rng, train_x);
    tg_tensor *params[16];
    int n_params = tg_model_params(model, params, 16);
    tg_optimizer *adam = tg_adam_new(n_params, params, LEARNING_RATE);
    tg_batches *batches = tg_batches_new(train, BATCH, TG_F64, TG_ENCODE_INDEX);
    cr_assert(adam && batches);

    outcome result = {0};
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        tg_batches_shuffle(batches, &rng);
        double loss_sum = 0;
        int64_t rows, seen = 0;
        tg_tensor *x, *labels;
        while ((rows = tg_batches_next(batches, &x, &labels)) > 0) {
            tg_optimizer_zero_grad(adam);
            tg_tensor *loss = circles_loss(tg_model_forward(model, x), labels);
            cr_assert_eq(tg_backward(loss, NULL), TG_OK);
            cr_assert_eq(tg_optimizer_step(adam), TG_OK);
            loss_sum += tg_item(loss) * (double)rows;
            seen += rows;
            tg_tape_reset(tg_tape_current());
        }
        result.last_epoch_loss = loss_sum / (double)seen;
    }
    bool was_enabled = tg_set_grad_enabled(false);
    result.test_accuracy = tg_binary_accuracy(tg_model_forward(model, test_x), as_column(test_labels));
    tg_set_grad_enabled(was_enabled);
    tg_tape_reset(tg_tape_current());

    tg_batches_free(batches);
    tg_optimizer_free(adam);
    tg_model_free(model);
    tg_tensor *tensors[] = {train_x, train_labels, test_x, test_labels};
    for (int i = 0; i < 4; i++) tg_free(tensors[i]);
    tg_dataset_free(train);
    tg_dataset_free(test);
    tg_dataset_free(circles);
    return result;
}

/* The example's own seed. */
Test(nn_circles, example_recipe_reaches_99_percent_test_accuracy, .init = setup) {
    outcome o = train_circles(2018);
    cr_assert(o.test_accuracy >= 0.99, "test accuracy %.2f%% < 99%%", 100 * o.test_accuracy);
    cr_assert(o.last_epoch_loss < 0.05, "loss after %d epochs %g", EPOCHS, o.last_epoch_loss);
}

/* Not one lucky seed: three more, each from its own data and initialization. */
Test(nn_circles, other_seeds_reach_99_percent_too, .init = setup) {
    const uint64_t seeds[] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        outcome o = train_circles(seeds[i]);
        cr_assert(o.test_accuracy >= 0.99, "seed %llu: test accuracy %.2f%% < 99%%", (unsigned long long)seeds[i],
                  100 * o.test_accuracy);
    }
}
