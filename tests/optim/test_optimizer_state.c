/* tests/optim/test_optimizer_state.c — saving and loading an optimizer's
 * state: the file's layout, a bit-exact round trip, training that stops,
 * saves, loads and continues giving bitwise the parameters of training
 * straight through (every kind, both dtypes), and files that must be refused
 * without changing the optimizer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* ---- files ---- */

typedef struct workdir {
    char dir[64];
} workdir;

static workdir workdir_new(void) {
    workdir w;
    make_temp_dir(w.dir, sizeof w.dir);
    return w;
}

static const char *path_in(const workdir *w, const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", w->dir, name);
    return buf;
}

static void workdir_free(const workdir *w) { remove_temp_dir(w->dir); }

static bool same_file(const char *a, const char *b) {
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    bool same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- a small model: loss = sum(C tanh(W)) + 0.5 sum(b^2) + sum(cb b) ---- */

typedef struct model {
    tg_tensor *W, *b, *C, *cb;
    tg_tensor *params[2];
} model;

static model model_new(tg_dtype dtype) {
    model m;
    m.W = tg_from_doubles(dtype, 2, (const int64_t[]){2, 3}, (const double[]){0.3, -1.2, 0.8, 2.0, -0.5, 0.05});
    m.b = tg_from_doubles(dtype, 1, (const int64_t[]){3}, (const double[]){0.1, -0.3, 2});
    m.C = tg_from_doubles(dtype, 2, (const int64_t[]){2, 3}, (const double[]){1.5, -1, 0.25, -0.75, 2, 0.6});
    m.cb = tg_from_doubles(dtype, 1, (const int64_t[]){3}, (const double[]){-1, 0.5, 0.2});
    cr_assert(m.W && m.b && m.C && m.cb);
    tg_set_requires_grad(m.W, true);
    tg_set_requires_grad(m.b, true);
    m.params[0] = m.W;
    m.params[1] = m.b;
    return m;
}

static void model_free(model *m) {
    tg_free(m->W);
    tg_free(m->b);
    tg_free(m->C);
    tg_free(m->cb);
}

/* `steps` training steps; the schedule (may be NULL) sets the lr first. */
static void train(model *m, tg_optimizer *opt, const tg_lr_schedule *schedule, int steps) {
    for (int t = 0; t < steps; t++) {
        tg_optimizer_zero_grad(opt);
        tg_tensor *loss = tg_add(tg_sum(tg_mul(m->C, tg_tanh(m->W))),
                                 tg_add(tg_mul_scalar(tg_sum(tg_mul(m->b, m->b)), 0.5), tg_sum(tg_mul(m->cb, m->b))));
        cr_assert_eq(tg_backward(loss, NULL), TG_OK);
        if (schedule) cr_assert_eq(tg_lr_schedule_apply(schedule, opt), TG_OK);
        cr_assert_eq(tg_optimizer_step(opt), TG_OK);
        reset_tape();
    }
}

static bool same_bits(const tg_tensor *a, const tg_tensor *b) {
    return a->dtype == b->dtype && a->numel == b->numel &&
           memcmp(a->data, b->data, (size_t)a->numel * tg_dtype_size(a->dtype)) == 0;
}

/* One non-default configuration per kind, so that every piece of state is
 * exercised (RMSprop with momentum and centering, Adagrad with its decay). */
static tg_optimizer_config config_for(tg_optimizer_kind kind) {
    tg_optimizer_config c = tg_optimizer_defaults(kind);
    c.lr = 0.05;
    switch (kind) {
    case TG_OPT_SGD: c.weight_decay = 0.01; break;
    case TG_OPT_MOMENTUM: c.dampening = 0.1; break;
    case TG_OPT_NESTEROV: c.weight_decay = 0.02; break;
    case TG_OPT_ADAM: c.weight_decay = 0.01; break;
    case TG_OPT_ADAMW: c.beta2 = 0.99; break;
    case TG_OPT_RMSPROP:
        c.momentum = 0.5;
        c.centered = true;
        break;
    case TG_OPT_ADAGRAD:
        c.lr_decay = 0.1;
        c.initial_accumulator = 0.2;
        break;
    }
    return c;
}

/* ======================= the file ======================= */

Test(optim_state, the_file_is_a_safetensors_checkpoint_with_named_state) {
    workdir w = workdir_new();
    char path[128];
    path_in(&w, "adam.safetensors", path, sizeof path);
    model m = model_new(TG_F32);
    tg_optimizer *opt = tg_adam_new(2, m.params, 0.01);
    train(&m, opt, NULL, 3);
    cr_assert_eq(tg_optimizer_save(opt, path), TG_OK);

    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck);
    cr_assert_eq(tg_checkpoint_count(ck), 4);
    const char *names[4] = {"param.0.exp_avg", "param.0.exp_avg_sq", "param.1.exp_avg", "param.1.exp_avg_sq"};
    for (int k = 0; k < 4; k++) {
        const tg_checkpoint_entry *e = tg_checkpoint_find(ck, names[k]);
        cr_assert_not_null(e, "%s missing", names[k]);
        cr_assert_str_eq(e->dtype, "F32");
        cr_assert_eq(e->rank, k < 2 ? 2 : 1);
    }
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.format"), "1");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.kind"), "adam");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.params"), "2");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.step"), "3");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.lr"), "0.01");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.beta2"), "0.999");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.eps"), "1e-08");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.centered"), "false");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.param.0.shape"), "(2,3)");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.param.1.dtype"), "float32");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "tapegrad.optim.param.1.step"), "3");
    /* The stored exp_avg is the optimizer's, bit for bit. */
    tg_tensor *m0 = tg_checkpoint_read_tensor(ck, "param.0.exp_avg");
    cr_assert(same_bits(m0, tg_optimizer_state(opt, 0, "exp_avg")));
    tg_free(m0);
    tg_checkpoint_close(ck);
    tg_optimizer_free(opt);
    model_free(&m);
    workdir_free(&w);
}

Test(optim_state, save_then_load_restores_everything_bit_exactly) {
    workdir w = workdir_new();
    char path[128];
    path_in(&w, "state.safetensors", path, sizeof path);
    for (int kind = 0; kind < TG_OPT_KIND_COUNT; kind++) {
        model m = model_new(TG_F64);
        tg_optimizer_config c = config_for((tg_optimizer_kind)kind);
        tg_optimizer *trained = tg_optimizer_new(2, m.params, &c);
        train(&m, trained, NULL, 3);
        cr_assert_eq(tg_optimizer_set_lr(trained, 0.0123), TG_OK); /* as a schedule would */
        cr_assert_eq(tg_optimizer_save(trained, path), TG_OK);

        tg_optimizer *fresh = tg_optimizer_new(2, m.params, &c);
        cr_assert_eq(tg_optimizer_load(fresh, path), TG_OK, "%s", tg_last_error_message());
        cr_assert_eq(tg_optimizer_step_count(fresh), 3);
        tg_optimizer_config a, b;
        tg_optimizer_get_config(trained, &a);
        tg_optimizer_get_config(fresh, &b);
        cr_assert(a.kind == b.kind && a.lr == b.lr && a.momentum == b.momentum && a.dampening == b.dampening &&
                  a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps && a.weight_decay == b.weight_decay &&
                  a.rms_decay == b.rms_decay && a.centered == b.centered && a.lr_decay == b.lr_decay &&
                  a.initial_accumulator == b.initial_accumulator);
        cr_assert_eq(b.lr, 0.0123);
        const char *names[] = {"momentum_buffer", "exp_avg", "exp_avg_sq", "square_avg", "grad_avg", "sum"};
        tg_set_error_mode(TG_ERRORS_RETURN); /* not every kind keeps every name */
        for (int p = 0; p < 2; p++)
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
                const tg_tensor *x = tg_optimizer_state(trained, p, names[k]);
                const tg_tensor *y = tg_optimizer_state(fresh, p, names[k]);
                cr_assert((x == NULL) == (y == NULL));
                if (x) cr_assert(same_bits(x, y), "%s param %d %s differs", tg_optimizer_kind_name(c.kind), p, names[k]);
            }
        tg_set_error_mode(TG_ERRORS_ABORT);
        tg_clear_error();
        tg_optimizer_free(trained);
        tg_optimizer_free(fresh);
        model_free(&m);
    }
    workdir_free(&w);
}

/* ======================= resuming ======================= */

/* Six steps straight through against three, save (parameters and optimizer),
 * free everything, rebuild, load, three more: the parameters and the state
 * must agree bit for bit. A schedule (warm-up then cosine) drives the lr. */
static void check_resume(tg_optimizer_kind kind, tg_dtype dtype, const workdir *w) {
    char params_path[128], state_path[128];
    path_in(w, "params.safetensors", params_path, sizeof params_path);
    path_in(w, "optim.safetensors", state_path, sizeof state_path);
    tg_optimizer_config c = config_for(kind);
    tg_lr_schedule schedule = tg_lr_with_warmup(tg_lr_cosine(0.05, 4, 0.001), 2, 0.1);
    const char *what = tg_optimizer_kind_name(kind);

    model straight = model_new(dtype);
    tg_optimizer *opt_straight = tg_optimizer_new(2, straight.params, &c);
    train(&straight, opt_straight, &schedule, 6);

    model first = model_new(dtype);
    tg_optimizer *opt_first = tg_optimizer_new(2, first.params, &c);
    train(&first, opt_first, &schedule, 3);
    const char *names[2] = {"W", "b"};
    cr_assert_eq(tg_checkpoint_save(params_path, 2, names, (const tg_tensor *const *)first.params, 0, NULL, NULL), TG_OK);
    cr_assert_eq(tg_optimizer_save(opt_first, state_path), TG_OK);
    tg_optimizer_free(opt_first);
    model_free(&first);

    model second = model_new(dtype); /* starts from the initial values again... */
    cr_assert_eq(tg_checkpoint_load_into(params_path, 2, names, second.params), TG_OK); /* ...until loaded */
    tg_optimizer *opt_second = tg_optimizer_new(2, second.params, &c);
    cr_assert_eq(tg_optimizer_load(opt_second, state_path), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_step_count(opt_second), 3);
    train(&second, opt_second, &schedule, 3);

    cr_assert(same_bits(second.W, straight.W), "%s %s: W differs after resuming", what, tg_dtype_name(dtype));
    cr_assert(same_bits(second.b, straight.b), "%s %s: b differs after resuming", what, tg_dtype_name(dtype));
    cr_assert_eq(tg_optimizer_step_count(opt_second), 6);
    cr_assert_eq(tg_optimizer_lr(opt_second), tg_optimizer_lr(opt_straight));
    /* The resumed state was saved the same way as the straight one's. */
    char again_a[128], again_b[128];
    cr_assert_eq(tg_optimizer_save(opt_straight, path_in(w, "a.safetensors", again_a, sizeof again_a)), TG_OK);
    cr_assert_eq(tg_optimizer_save(opt_second, path_in(w, "b.safetensors", again_b, sizeof again_b)), TG_OK);
    cr_assert(same_file(again_a, again_b), "%s %s: state differs after resuming", what, tg_dtype_name(dtype));

    tg_optimizer_free(opt_straight);
    tg_optimizer_free(opt_second);
    model_free(&straight);
    model_free(&second);
}

Test(optim_state, resuming_equals_training_straight_through_float64) {
    workdir w = workdir_new();
    for (int kind = 0; kind < TG_OPT_KIND_COUNT; kind++) check_resume((tg_optimizer_kind)kind, TG_F64, &w);
    workdir_free(&w);
}

Test(optim_state, resuming_equals_training_straight_through_float32) {
    workdir w = workdir_new();
    for (int kind = 0; kind < TG_OPT_KIND_COUNT; kind++) check_resume((tg_optimizer_kind)kind, TG_F32, &w);
    workdir_free(&w);
}

Test(optim_state, loading_restores_a_changed_lr_without_a_schedule) {
    /* AdamW's decay uses the lr: a run whose lr was lowered by hand resumes
     * with the lowered lr even though the new optimizer was built with the
     * original one. */
    workdir w = workdir_new();
    char path[128];
    path_in(&w, "adamw.safetensors", path, sizeof path);
    tg_optimizer_config c = config_for(TG_OPT_ADAMW);
    model straight = model_new(TG_F64), resumed = model_new(TG_F64);
    tg_optimizer *a = tg_optimizer_new(2, straight.params, &c), *b = tg_optimizer_new(2, resumed.params, &c);
    train(&straight, a, NULL, 2);
    train(&resumed, b, NULL, 2);
    tg_optimizer_set_lr(a, 0.01);
    tg_optimizer_set_lr(b, 0.01);
    train(&straight, a, NULL, 2);
    cr_assert_eq(tg_optimizer_save(b, path), TG_OK);
    tg_optimizer_free(b);
    b = tg_optimizer_new(2, resumed.params, &c);
    cr_assert_eq(tg_optimizer_lr(b), 0.05);
    cr_assert_eq(tg_optimizer_load(b, path), TG_OK);
    cr_assert_eq(tg_optimizer_lr(b), 0.01);
    train(&resumed, b, NULL, 2);
    cr_assert(same_bits(straight.W, resumed.W) && same_bits(straight.b, resumed.b));
    tg_optimizer_free(a);
    tg_optimizer_free(b);
    model_free(&straight);
    model_free(&resumed);
    workdir_free(&w);
}

Test(optim_state, per_parameter_weight_decay_is_saved_and_restored) {
    /* b's decay set to 0 (a parameter group) before the save: a fresh
     * optimizer, built with the config's 0.01 for both, gets 0 back for b
     * from the file and resumes bitwise. */
    workdir w = workdir_new();
    char path[128];
    path_in(&w, "groups.safetensors", path, sizeof path);
    tg_optimizer_config c = config_for(TG_OPT_ADAMW);
    model straight = model_new(TG_F64), resumed = model_new(TG_F64);
    tg_optimizer *a = tg_optimizer_new(2, straight.params, &c), *b = tg_optimizer_new(2, resumed.params, &c);
    cr_assert_eq(tg_optimizer_set_weight_decay(a, 1, 0.0), TG_OK);
    cr_assert_eq(tg_optimizer_set_weight_decay(b, 1, 0.0), TG_OK);
    train(&straight, a, NULL, 4);
    train(&resumed, b, NULL, 2);
    cr_assert_eq(tg_optimizer_save(b, path), TG_OK);
    tg_optimizer_free(b);
    b = tg_optimizer_new(2, resumed.params, &c);
    cr_assert_eq(tg_optimizer_weight_decay(b, 1), c.weight_decay);
    cr_assert_eq(tg_optimizer_load(b, path), TG_OK);
    cr_assert_eq(tg_optimizer_weight_decay(b, 0), c.weight_decay);
    cr_assert_eq(tg_optimizer_weight_decay(b, 1), 0.0);
    train(&resumed, b, NULL, 2);
    cr_assert(same_bits(straight.W, resumed.W) && same_bits(straight.b, resumed.b));
    tg_optimizer_free(a);
    tg_optimizer_free(b);
    model_free(&straight);
    model_free(&resumed);
    workdir_free(&w);
}

Test(optim_state, loading_takes_the_files_rmsprop_layout) {
    /* Saved with momentum and centering; loaded into a plain RMSprop, which
     * takes the file's hyperparameters and with them its extra state. */
    workdir w = workdir_new();
    char path[128];
    path_in(&w, "rms.safetensors", path, sizeof path);
    model m = model_new(TG_F64);
    tg_optimizer_config rich = config_for(TG_OPT_RMSPROP), plain = tg_optimizer_defaults(TG_OPT_RMSPROP);
    tg_optimizer *a = tg_optimizer_new(2, m.params, &rich), *b = tg_optimizer_new(2, m.params, &plain);
    train(&m, a, NULL, 2);
    cr_assert_eq(tg_optimizer_save(a, path), TG_OK);
    cr_assert_eq(tg_optimizer_load(b, path), TG_OK);
    tg_optimizer_config got;
    tg_optimizer_get_config(b, &got);
    cr_assert(got.momentum == 0.5 && got.centered && got.lr == 0.05);
    cr_assert(same_bits(tg_optimizer_state(a, 1, "grad_avg"), tg_optimizer_state(b, 1, "grad_avg")));
    cr_assert(same_bits(tg_optimizer_state(a, 0, "momentum_buffer"), tg_optimizer_state(b, 0, "momentum_buffer")));
    tg_optimizer_free(a);
    tg_optimizer_free(b);
    model_free(&m);
    workdir_free(&w);
}

/* ======================= refusals ======================= */

/* A trained Adam over the float64 model, its state saved in `before`. Each
 * refusal test loads a bad file into it and then checks, by saving again,
 * that nothing changed. */
typedef struct victim {
    workdir w;
    char before[128], after[128];
    model m;
    tg_optimizer *opt;
} victim;

static void victim_new(victim *v) {
    v->w = workdir_new();
    path_in(&v->w, "before.safetensors", v->before, sizeof v->before);
    path_in(&v->w, "after.safetensors", v->after, sizeof v->after);
    v->m = model_new(TG_F64);
    v->opt = tg_adam_new(2, v->m.params, 0.01);
    train(&v->m, v->opt, NULL, 2);
    cr_assert_eq(tg_optimizer_save(v->opt, v->before), TG_OK);
    tg_set_error_mode(TG_ERRORS_RETURN);
    tg_clear_error();
}

/* Loading `path` fails with `code` and a message containing `fragment`, and
 * leaves the optimizer as it was. */
static void expect_refused(victim *v, const char *path, tg_status code, const char *fragment) {
    tg_clear_error();
    tg_status s = tg_optimizer_load(v->opt, path);
    cr_assert_eq(s, code, "expected %s, got %s: %s", tg_status_name(code), tg_status_name(s), tg_last_error_message());
    cr_assert(strstr(tg_last_error_message(), fragment), "message '%s' does not mention '%s'", tg_last_error_message(),
              fragment);
    cr_assert_eq(tg_optimizer_save(v->opt, v->after), TG_OK);
    cr_assert(same_file(v->before, v->after), "the refused load changed the optimizer (%s)", fragment);
}

static void victim_free(victim *v) {
    tg_set_error_mode(TG_ERRORS_ABORT);
    tg_clear_error();
    tg_optimizer_free(v->opt);
    model_free(&v->m);
    workdir_free(&v->w);
}

Test(optim_state, another_kind_is_refused) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "adamw.safetensors", path, sizeof path);
    tg_optimizer_config c = tg_optimizer_defaults(TG_OPT_ADAMW);
    tg_optimizer *other = tg_optimizer_new(2, v.m.params, &c);
    cr_assert_eq(tg_optimizer_save(other, path), TG_OK);
    expect_refused(&v, path, TG_ERR_ARGUMENT, "holds the state of a 'adamw' optimizer; this one is 'adam'");
    cr_assert(strstr(tg_last_error_message(), "tg_optimizer_load"));
    tg_optimizer_free(other);
    victim_free(&v);
}

Test(optim_state, other_parameters_are_refused) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "other.safetensors", path, sizeof path);
    /* (3,2) instead of (2,3) */
    tg_tensor *W = tg_zeros(TG_F64, 2, (const int64_t[]){3, 2}), *b = tg_zeros(TG_F64, 1, (const int64_t[]){3});
    tg_set_requires_grad(W, true);
    tg_set_requires_grad(b, true);
    tg_optimizer *other = tg_adam_new(2, (tg_tensor *[]){W, b}, 0.01);
    cr_assert_eq(tg_optimizer_save(other, path), TG_OK);
    expect_refused(&v, path, TG_ERR_SHAPE, "parameter 0 had shape (3,2); here it is (2,3)");
    tg_optimizer_free(other);
    /* one parameter instead of two */
    other = tg_adam_new(1, &b, 0.01);
    cr_assert_eq(tg_optimizer_save(other, path), TG_OK);
    expect_refused(&v, path, TG_ERR_ARGUMENT, "holds the state of 1 parameters; this optimizer has 2");
    tg_optimizer_free(other);
    tg_free(W);
    tg_free(b);
    /* float32 instead of float64 */
    model m32 = model_new(TG_F32);
    other = tg_adam_new(2, m32.params, 0.01);
    cr_assert_eq(tg_optimizer_save(other, path), TG_OK);
    expect_refused(&v, path, TG_ERR_DTYPE, "parameter 0 was float32; here it is float64");
    tg_optimizer_free(other);
    model_free(&m32);
    victim_free(&v);
}

Test(optim_state, damaged_and_foreign_files_are_refused) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "damaged.safetensors", path, sizeof path);
    size_t size;
    unsigned char *bytes = slurp(v.before, &size);
    /* a flipped bit in the last tensor's data: the checksum catches it */
    bytes[size - 3] ^= 0x10;
    write_bytes(path, bytes, size);
    expect_refused(&v, path, TG_ERR_FORMAT, "checksum");
    /* truncated */
    bytes[size - 3] ^= 0x10;
    write_bytes(path, bytes, size - 16);
    expect_refused(&v, path, TG_ERR_FORMAT, path);
    free(bytes);
    /* no such file */
    path_in(&v.w, "missing.safetensors", path, sizeof path);
    expect_refused(&v, path, TG_ERR_IO, "missing.safetensors");
    /* a model checkpoint, not an optimizer's */
    path_in(&v.w, "model.safetensors", path, sizeof path);
    const char *names[2] = {"W", "b"};
    cr_assert_eq(tg_checkpoint_save(path, 2, names, (const tg_tensor *const *)v.m.params, 0, NULL, NULL), TG_OK);
    expect_refused(&v, path, TG_ERR_FORMAT, "metadata 'tapegrad.optim.format' is missing (not an optimizer state file?)");
    victim_free(&v);
}

/* ---- hand-made files: the documented layout, with one thing wrong ---- */

/* Writes an Adam state for the victim's two parameters as optim.h documents
 * it, with metadata `bad_key` set to `bad_value` (or left out when
 * bad_value is NULL), and without tensor `drop` (NULL: keep all). */
static void write_adam_file_replacing(const char *path, const victim *v, const char *bad_key, const char *bad_value,
                                      const char *drop, const char *replaced, const tg_tensor *replacement);
static void write_adam_file(const char *path, const victim *v, const char *bad_key, const char *bad_value,
                            const char *drop) {
    write_adam_file_replacing(path, v, bad_key, bad_value, drop, NULL, NULL);
}

/* write_adam_file, with state tensor `replaced` (if not NULL) saved from
 * `replacement` instead of the victim's. */
static void write_adam_file_replacing(const char *path, const victim *v, const char *bad_key, const char *bad_value,
                                      const char *drop, const char *replaced, const tg_tensor *replacement) {
    const char *keys[] = {"format", "kind", "params", "step", "lr", "momentum", "dampening", "beta1", "beta2", "eps",
                          "weight_decay", "rms_decay", "lr_decay", "initial_accumulator", "centered",
                          "param.0.shape", "param.0.dtype", "param.0.step", "param.1.shape", "param.1.dtype",
                          "param.1.step"};
    const char *values[] = {"1", "adam", "2", "2", "0.01", "0", "0", "0.9", "0.999", "1e-08", "0", "0.99", "0", "0",
                            "false", "(2,3)", "float64", "2", "(3)", "float64", "2"};
    enum { N_META = sizeof keys / sizeof keys[0] };
    char full[N_META][64];
    const char *meta_keys[N_META], *meta_values[N_META];
    int n_meta = 0;
    for (int k = 0; k < N_META; k++) {
        const char *value = values[k];
        if (bad_key && strcmp(keys[k], bad_key) == 0) {
            if (!bad_value) continue;
            value = bad_value;
        }
        snprintf(full[n_meta], sizeof full[n_meta], "tapegrad.optim.%s", keys[k]);
        meta_keys[n_meta] = full[n_meta];
        meta_values[n_meta++] = value;
    }
    const char *all_names[4] = {"param.0.exp_avg", "param.0.exp_avg_sq", "param.1.exp_avg", "param.1.exp_avg_sq"};
    const char *names[4];
    const tg_tensor *tensors[4];
    int n = 0;
    for (int k = 0; k < 4; k++) {
        if (drop && strcmp(all_names[k], drop) == 0) continue;
        names[n] = all_names[k];
        tensors[n++] = replaced && strcmp(all_names[k], replaced) == 0
                           ? replacement
                           : tg_optimizer_state(v->opt, k / 2, k % 2 ? "exp_avg_sq" : "exp_avg");
    }
    cr_assert_eq(tg_checkpoint_save(path, n, names, tensors, n_meta, meta_keys, meta_values), TG_OK);
}

Test(optim_state, the_documented_layout_loads) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "hand.safetensors", path, sizeof path);
    write_adam_file(path, &v, NULL, NULL, NULL);
    cr_assert_eq(tg_optimizer_load(v.opt, path), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_save(v.opt, v.after), TG_OK);
    cr_assert(same_file(v.before, v.after));
    victim_free(&v);
}

Test(optim_state, bad_metadata_is_refused) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "bad.safetensors", path, sizeof path);
    struct {
        const char *key, *value, *fragment;
        tg_status code;
    } cases[] = {
        {"format", "2", "optimizer state format '2', expected '1'", TG_ERR_FORMAT},
        {"beta1", "abc", "metadata 'tapegrad.optim.beta1' is 'abc', not a number", TG_ERR_FORMAT},
        {"beta1", "1.5", "beta1 must be finite and in [0, 1), got 1.5", TG_ERR_FORMAT},
        {"lr", "-1", "learning rate must be finite and >= 0, got -1", TG_ERR_FORMAT},
        {"eps", NULL, "metadata 'tapegrad.optim.eps' is missing", TG_ERR_FORMAT},
        {"step", "-3", "metadata 'tapegrad.optim.step' is '-3', not a count", TG_ERR_FORMAT},
        {"param.1.step", "7", "metadata 'tapegrad.optim.param.1.step' is '7', not a count in [0, 2]", TG_ERR_FORMAT},
        {"centered", "maybe", "not true or false", TG_ERR_FORMAT},
        {"kind", "lion", "holds the state of a 'lion' optimizer", TG_ERR_ARGUMENT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_adam_file(path, &v, cases[k].key, cases[k].value, NULL);
        expect_refused(&v, path, cases[k].code, cases[k].fragment);
    }
    victim_free(&v);
}

Test(optim_state, missing_state_tensor_is_refused_after_the_metadata_passed) {
    /* The metadata is all fine: the failure comes while reading the tensors,
     * after the fresh state was allocated; the optimizer must still be as it was. */
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "partial.safetensors", path, sizeof path);
    write_adam_file(path, &v, NULL, NULL, "param.1.exp_avg_sq");
    expect_refused(&v, path, TG_ERR_ARGUMENT, "param.1.exp_avg_sq");
    victim_free(&v);
}

Test(optim_state, null_arguments_are_refused) {
    victim v;
    victim_new(&v);
    cr_assert_eq(tg_optimizer_load(NULL, v.before), TG_ERR_ARGUMENT);
    cr_assert_eq(tg_optimizer_load(v.opt, NULL), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_optimizer_load: path is NULL"));
    cr_assert_eq(tg_optimizer_save(NULL, v.after), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "tg_optimizer_save: optimizer is NULL"));
    cr_assert_eq(tg_optimizer_save(v.opt, "/nonexistent-dir/x.safetensors"), TG_ERR_IO);
    victim_free(&v);
}

/* ---- values the update rule cannot take (issue 21, item 6) ---- */

Test(optim_state, step_counts_beyond_the_limit_are_refused) {
    /* step = INT64_MAX loaded, and the next tg_optimizer_step overflowed the
     * count (UBSan) and wrote NaN weights (Adam's 1 - beta^t with t < 0). */
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "steps.safetensors", path, sizeof path);
    const char *max = "9223372036854775807";
    struct {
        const char *key, *value, *fragment;
    } cases[] = {
        {"step", max, "metadata 'tapegrad.optim.step' is '9223372036854775807', not a count in [0, 9007199254740992]"},
        {"step", "9007199254740993", "'tapegrad.optim.step' is '9007199254740993', not a count in [0, 9007199254740992]"},
        {"step", "-1", "'tapegrad.optim.step' is '-1', not a count"},
        {"step", "99999999999999999999", "'tapegrad.optim.step' is '99999999999999999999', not a count"},
        {"param.0.step", "-2", "'tapegrad.optim.param.0.step' is '-2', not a count in [0, 2]"},
        {"param.0.step", max, "'tapegrad.optim.param.0.step' is '9223372036854775807', not a count in [0, 2]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_adam_file(path, &v, cases[k].key, cases[k].value, NULL);
        expect_refused(&v, path, TG_ERR_FORMAT, cases[k].fragment);
    }
    victim_free(&v);
}

Test(optim_state, the_step_limit_loads_and_stops_the_next_step) {
    /* A count of exactly TG_OPTIM_MAX_STEPS (2^53) loads; the next step is
     * refused and changes no weight. */
    victim v;
    victim_new(&v);
    cr_assert_eq(TG_OPTIM_MAX_STEPS, (int64_t)9007199254740992);
    char path[128];
    path_in(&v.w, "limit.safetensors", path, sizeof path);
    write_adam_file(path, &v, "step", "9007199254740992", NULL);
    cr_assert_eq(tg_optimizer_load(v.opt, path), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_step_count(v.opt), TG_OPTIM_MAX_STEPS);
    double before = tg_get_flat(v.m.params[0], 0);
    tg_optimizer_zero_grad(v.opt);
    tg_tensor *loss = tg_add(tg_sum(tg_mul(v.m.W, v.m.W)), tg_sum(tg_mul(v.m.b, v.m.b)));
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    reset_tape();
    cr_assert_eq(tg_optimizer_step(v.opt), TG_ERR_ARGUMENT);
    cr_assert(strstr(tg_last_error_message(), "step count 9007199254740992 has reached the limit"), "%s",
              tg_last_error_message());
    cr_assert_eq(tg_get_flat(v.m.params[0], 0), before);
    victim_free(&v);
}

Test(optim_state, hyperparameters_out_of_range_are_refused) {
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "hyper.safetensors", path, sizeof path);
    struct {
        const char *key, *value, *fragment;
    } cases[] = {
        {"lr", "nan", "learning rate must be finite and >= 0, got nan"},
        {"lr", "inf", "learning rate must be finite and >= 0, got inf"},
        {"lr", "1e400", "metadata 'tapegrad.optim.lr' is '1e400', not a number"},
        {"beta1", "-0.5", "beta1 must be finite and in [0, 1), got -0.5"},
        {"beta2", "1", "beta2 must be finite and in [0, 1), got 1"},
        {"eps", "-1e-8", "eps must be finite and in [0, inf), got -1e-08"},
        {"eps", "inf", "eps must be finite and in [0, inf), got inf"},
        {"weight_decay", "-0.1", "weight_decay must be finite and in [0, inf), got -0.1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_adam_file(path, &v, cases[k].key, cases[k].value, NULL);
        expect_refused(&v, path, TG_ERR_FORMAT, cases[k].fragment);
    }
    victim_free(&v);
}

Test(optim_state, moments_the_update_cannot_take_are_refused) {
    /* A NaN or infinite moment, or a negative mean of squares (whose square
     * root the update takes), would turn the weights into NaN. */
    victim v;
    victim_new(&v);
    char path[128];
    path_in(&v.w, "moments.safetensors", path, sizeof path);
    /* Parameter 0 is (2,3), parameter 1 is (3): the last element of each
     * state tensor is the bad one, the others are 0. */
    struct {
        const char *name;
        double value;
        const char *must;
    } cases[] = {
        {"param.0.exp_avg", NAN, "it must be finite"},
        {"param.1.exp_avg", -INFINITY, "it must be finite"},
        {"param.0.exp_avg_sq", -1.0, "it must be finite and >= 0"},
        {"param.1.exp_avg_sq", INFINITY, "it must be finite and >= 0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bool first = cases[k].name[6] == '0';
        tg_tensor *bad = first ? tg_zeros(TG_F64, 2, (const int64_t[]){2, 3}) : tg_zeros(TG_F64, 1, (const int64_t[]){3});
        int64_t last = bad->numel - 1;
        tg_set_flat(bad, last, cases[k].value);
        write_adam_file_replacing(path, &v, NULL, NULL, NULL, cases[k].name, bad);
        char fragment[160];
        snprintf(fragment, sizeof fragment, "state tensor '%s' holds %g at element %lld; %s", cases[k].name,
                 cases[k].value, (long long)last, cases[k].must);
        expect_refused(&v, path, TG_ERR_FORMAT, fragment);
        tg_free(bad);
    }
    victim_free(&v);
}

/* ---- errors are reported under the function the caller called ---- */

typedef struct report_log {
    int count;
    char first[512];
} report_log;

static void log_report(tg_status code, const char *message, void *user) {
    (void)code;
    report_log *log = user;
    if (log->count++ == 0) snprintf(log->first, sizeof log->first, "%s", message);
}

/* tg_optimizer_load and _save call the checkpoint reader and writer; a
 * failure there is reported once, to the handler, under the function the
 * caller called, not first under tg_checkpoint_open or tg_checkpoint_save. */
Test(optim_state, load_and_save_errors_are_reported_once_under_their_own_names) {
    model m = model_new(TG_F64);
    tg_optimizer *opt = tg_adam_new(2, m.params, 0.01);
    cr_assert_not_null(opt);
    report_log log = {0};
    tg_set_error_handler(log_report, &log);
    cr_assert_eq(tg_optimizer_load(opt, "/nonexistent-dir-tg/state.safetensors"), TG_ERR_IO);
    cr_assert_eq(log.count, 1, "the handler was called %d times", log.count);
    cr_assert_eq(strncmp(log.first, "tg_optimizer_load: ", 19), 0, "%s", log.first);
    cr_assert_null(strstr(log.first, "tg_checkpoint"), "%s", log.first);
    cr_assert_not_null(strstr(log.first, "nonexistent-dir-tg"), "%s", log.first);

    log = (report_log){0};
    cr_assert_eq(tg_optimizer_save(opt, "/nonexistent-dir-tg/state.safetensors"), TG_ERR_IO);
    cr_assert_eq(log.count, 1, "the handler was called %d times", log.count);
    cr_assert_eq(strncmp(log.first, "tg_optimizer_save: ", 19), 0, "%s", log.first);
    cr_assert_null(strstr(log.first, "tg_checkpoint"), "%s", log.first);
    tg_set_error_handler(NULL, NULL);
    tg_optimizer_free(opt);
    model_free(&m);
}
