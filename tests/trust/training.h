/* tests/trust/training.h — one small, complete training run for the trust
 * tests: generated circles or moons, an MLP from nn/ (2 -> H -> H -> 1,
 * tanh, logits), binary cross-entropy on logits, Adam, and seeded shuffled
 * mini-batches from tg_batches. The data come from `data_seed`; the initial
 * weights and then every epoch's shuffle from one tg_rng seeded by
 * `run_seed`. A trainer can save its whole run state (model, optimizer,
 * batch walker and rng; not the data, which the seed regenerates) and a
 * fresh trainer over the same data can load it.
 *
 * With H = 128 and batches of 128 the 128 x 128 products (2^21
 * multiply-adds) are just large enough for the GEMM to split them over two
 * threads, so runs with 2 threads do use the pool. */
#ifndef TAPEGRAD_TESTS_TRUST_TRAINING_H
#define TAPEGRAD_TESTS_TRUST_TRAINING_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

enum { TRAIN_SAMPLES = 512, TRAIN_BATCH = 128, TRAIN_MAX_PARAMS = 8 };

typedef struct trainer {
    tg_dataset *data;
    tg_batches *batches;
    tg_model *model;
    tg_optimizer *opt;
    tg_rng rng; /* after construction: drives the shuffles */
} trainer;

/* Builds a trainer: moons or circles from `data_seed`, hidden width
 * `hidden`, weights and shuffles from `run_seed`. */
static inline void trainer_init(trainer *t, uint64_t data_seed, uint64_t run_seed, bool moons, int64_t hidden)
{
    tg_rng data_rng = tg_rng_seeded(data_seed);
    t->data = moons ? tg_make_moons(&data_rng, TRAIN_SAMPLES, 0.1)
                    : tg_make_circles(&data_rng, TRAIN_SAMPLES, 0.1, 0.5);
    t->rng = tg_rng_seeded(run_seed);
    cr_assert_not_null(t->data, "%s", tg_last_error_message());
    const int64_t sizes[4] = {2, hidden, hidden, 1};
    t->model = tg_mlp_new(&t->rng, TG_F32, 4, sizes, TG_ACT_TANH, -1);
    cr_assert_not_null(t->model, "%s", tg_last_error_message());
    tg_tensor *params[TRAIN_MAX_PARAMS];
    int n = tg_model_params(t->model, params, TRAIN_MAX_PARAMS);
    t->opt = tg_adam_new(n, params, 0.01);
    cr_assert_not_null(t->opt, "%s", tg_last_error_message());
    t->batches = tg_batches_new(t->data, TRAIN_BATCH, TG_F32, TG_ENCODE_INDEX);
    cr_assert_not_null(t->batches, "%s", tg_last_error_message());
    cr_assert_eq(tg_batches_shuffle(t->batches, &t->rng), TG_OK);
}

static inline void trainer_free(trainer *t)
{
    tg_batches_free(t->batches);
    tg_optimizer_free(t->opt);
    tg_model_free(t->model);
    tg_dataset_free(t->data);
}

/* One step on the next batch (a new epoch in a new order when the last one
 * is used up), on this thread's current tape, which is reset at the end.
 * Returns the batch's loss. */
static inline double trainer_step(trainer *t)
{
    tg_tensor *x = NULL, *y = NULL;
    int64_t rows = tg_batches_next(t->batches, &x, &y);
    if (rows == 0) {
        cr_assert_eq(tg_batches_shuffle(t->batches, &t->rng), TG_OK);
        rows = tg_batches_next(t->batches, &x, &y);
    }
    cr_assert_gt(rows, 0, "%s", tg_last_error_message());
    tg_optimizer_zero_grad(t->opt);
    tg_tensor *logits = tg_model_forward(t->model, x);
    tg_tensor *loss = tg_bce_with_logits_loss(logits, tg_reshape(y, 2, (const int64_t[]){rows, 1}));
    cr_assert_not_null(loss, "%s", tg_last_error_message());
    double value = tg_item(loss);
    cr_assert_eq(tg_backward(loss, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_step(t->opt), TG_OK);
    tg_tape_reset(tg_tape_current());
    return value;
}

static inline void trainer_paths(const char *dir, char model[256], char opt[256], char run[256])
{
    snprintf(model, 256, "%s/model.safetensors", dir);
    snprintf(opt, 256, "%s/optimizer.safetensors", dir);
    snprintf(run, 256, "%s/run.safetensors", dir);
}

/* Saves everything a resumed run needs into `dir`: the parameters, Adam's
 * state, and the data order: the epoch's order (a float64 tensor, exact for
 * indices below 2^53), the position in it, and the rng's four words (as
 * hex metadata) that will draw the next epochs' orders. */
static inline void trainer_save(const trainer *t, const char *dir)
{
    char model[256], opt[256], run[256];
    trainer_paths(dir, model, opt, run);
    cr_assert_eq(tg_model_save(t->model, model), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_save(t->opt, opt), TG_OK, "%s", tg_last_error_message());
    int64_t order[TRAIN_SAMPLES];
    cr_assert_eq(tg_batches_get_order(t->batches, order), TG_OK);
    tg_tensor *order_tensor = tg_zeros(TG_F64, 1, (const int64_t[]){TRAIN_SAMPLES});
    for (int i = 0; i < TRAIN_SAMPLES; i++) ((double *)order_tensor->data)[i] = (double)order[i];
    char rng_text[80], position[32];
    snprintf(rng_text, sizeof rng_text, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, t->rng.state[0],
             t->rng.state[1], t->rng.state[2], t->rng.state[3]);
    snprintf(position, sizeof position, "%lld", (long long)tg_batches_position(t->batches));
    const tg_tensor *tensors[1] = {order_tensor};
    cr_assert_eq(tg_checkpoint_save(run, 1, (const char *[]){"order"}, tensors, 2,
                                    (const char *[]){"rng", "position"}, (const char *const[]){rng_text, position}),
                 TG_OK, "%s", tg_last_error_message());
    tg_free(order_tensor);
}

/* Loads what trainer_save wrote into a trainer built with the same
 * arguments (trainer_init), replacing its weights, optimizer state, data
 * order and rng. */
static inline void trainer_load(trainer *t, const char *dir)
{
    char model[256], opt[256], run[256];
    trainer_paths(dir, model, opt, run);
    cr_assert_eq(tg_model_load(t->model, model), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_load(t->opt, opt), TG_OK, "%s", tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(run);
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    tg_tensor *order_tensor = tg_checkpoint_read_tensor(ck, "order");
    cr_assert(order_tensor && order_tensor->numel == TRAIN_SAMPLES);
    int64_t order[TRAIN_SAMPLES];
    for (int i = 0; i < TRAIN_SAMPLES; i++) order[i] = (int64_t)((double *)order_tensor->data)[i];
    const char *rng_text = tg_checkpoint_metadata(ck, "rng");
    cr_assert(rng_text && strlen(rng_text) == 64);
    for (int w = 0; w < 4; w++) {
        char word[17];
        memcpy(word, rng_text + 16 * w, 16);
        word[16] = '\0';
        t->rng.state[w] = (uint64_t)strtoull(word, NULL, 16);
    }
    int64_t position = strtoll(tg_checkpoint_metadata(ck, "position"), NULL, 10);
    cr_assert_eq(tg_batches_restore(t->batches, order, position), TG_OK, "%s", tg_last_error_message());
    tg_free(order_tensor);
    tg_checkpoint_close(ck);
}

/* Every parameter of the two models is bitwise the same. */
static inline void expect_same_parameters(tg_model *a, tg_model *b, const char *what)
{
    cr_assert_eq(tg_model_num_params(a), tg_model_num_params(b));
    for (int i = 0; i < tg_model_num_params(a); i++) {
        char name[64];
        const tg_tensor *pa = tg_model_param(a, i, name, sizeof name), *pb = tg_model_param(b, i, name, sizeof name);
        cr_assert_eq(pa->numel, pb->numel);
        cr_assert_eq(memcmp(pa->data, pb->data, (size_t)pa->numel * tg_dtype_size(pa->dtype)), 0,
                     "%s: parameter %s differs", what, name);
    }
}

#endif
