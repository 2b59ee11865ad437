/* tests/core/test_versions.c — in-place changes of tensors a recorded op
 * uses are refused by backward (version counters, tape.h), and a normal
 * training loop is never refused.
 *
 * The example throughout: x = 3, y = x * x. dy/dx = 2x = 6 at the recorded
 * x; after x is changed to 10 in place, an unchecked backward would use the
 * new value and give 20. Every test below changes x through one public entry
 * point between the forward pass and backward, and expects
 * "tg_backward: input 0 (float64 ()) of mul (tape node 0) was modified in
 * place after it was recorded (version 0 -> 1)" with x's gradient untouched. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

/* x = 3 (float64 scalar) requiring a gradient, and y = x * x recorded. */
static tg_tensor *scalar_param(double value)
{
    tg_tensor *x = tg_scalar(TG_F64, value);
    cr_assert_not_null(x);
    cr_assert_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

/* backward of y is refused with the message naming mul's input 0, both
 * versions, and x keeps no gradient. */
static void expect_mul_input_refused(tg_tensor *y, tg_tensor *x, const char *versions)
{
    cr_assert_eq(tg_backward(y, NULL), TG_ERR_TAPE, "backward accepted a changed input: %s",
                 tg_status_name(tg_last_error()));
    const char *message = tg_last_error_message();
    cr_assert_not_null(strstr(message, "tg_backward"), "%s", message);
    cr_assert_not_null(strstr(message, "input 0"), "%s", message);
    cr_assert_not_null(strstr(message, "of mul"), "%s", message);
    cr_assert_not_null(strstr(message, "modified in place after it was recorded"), "%s", message);
    cr_assert_not_null(strstr(message, versions), "message '%s' lacks '%s'", message, versions);
    cr_assert_null(tg_grad(x), "no gradient may be written by a refused pass");
    tg_clear_error();
}

Test(versions, an_unchanged_input_gives_the_recorded_gradient)
{
    tg_tensor *x = scalar_param(3);
    cr_assert_eq(tg_backward(tg_mul(x, x), NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(tg_grad(x)), 6.0); /* 2 * 3 */
    reset_tape();
    tg_free(x);
}

Test(versions, a_change_before_recording_is_used)
{
    tg_tensor *x = scalar_param(3);
    cr_assert_eq(tg_set(x, NULL, 10), TG_OK);
    cr_assert_eq(tg_backward(tg_mul(x, x), NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(tg_grad(x)), 20.0); /* 2 * 10: recorded after the change */
    reset_tape();
    tg_free(x);
}

Test(versions, tg_set_after_recording_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(x->version, 0);
    cr_assert_eq(tg_set(x, NULL, 10), TG_OK);
    cr_assert_eq(x->version, 1);
    expect_mul_input_refused(y, x, "(version 0 -> 1)");
    reset_tape();
    tg_free(x);
}

Test(versions, tg_set_flat_after_recording_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_set_flat(x, 0, 10), TG_OK);
    cr_assert_eq(tg_set_flat(x, 0, 3), TG_OK); /* the old value again: still two changes */
    expect_mul_input_refused(y, x, "(version 0 -> 2)");
    reset_tape();
    tg_free(x);
}

Test(versions, tg_copy_into_after_recording_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *ten = tg_scalar(TG_F32, 10);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_copy_into(x, ten), TG_OK);
    expect_mul_input_refused(y, x, "(version 0 -> 1)");
    reset_tape();
    tg_free(ten);
    tg_free(x);
}

Test(versions, a_write_through_the_data_accessor_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);
    tg_data_f64(x)[0] = 10; /* the call counts as the change */
    expect_mul_input_refused(y, x, "(version 0 -> 1)");
    reset_tape();
    tg_free(x);
}

Test(versions, the_float32_accessor_counts_too, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = tg_scalar(TG_F32, 3);
    cr_assert_eq(tg_set_requires_grad(x, true), TG_OK);
    tg_tensor *y = tg_mul(x, x);
    tg_data_f32(x)[0] = 10;
    cr_assert_eq(tg_backward(y, NULL), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "input 0 (float32 ()) of mul"), "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(x);
}

/* Reading through the read-only views counts no change: a prediction read
 * between forward and backward leaves backward free (dy/dx = 2x = 6 at x = 3,
 * y = 9; float32 and float64). */
Test(versions, reading_through_the_const_views_is_not_a_change)
{
    tg_tensor *x64 = scalar_param(3);
    tg_tensor *y64 = tg_mul(x64, x64);
    cr_assert_eq(tg_const_data_f64(y64)[0], 9.0);
    cr_assert_eq(tg_const_data_f64(x64)[0], 3.0);
    cr_assert_eq(tg_backward(y64, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(tg_grad(x64)), 6.0);

    tg_tensor *x32 = tg_scalar(TG_F32, 3);
    cr_assert_eq(tg_set_requires_grad(x32, true), TG_OK);
    tg_tensor *y32 = tg_mul(x32, x32);
    cr_assert_eq(tg_const_data_f32(y32)[0], 9.0f);
    cr_assert_eq(tg_const_data_f32(x32)[0], 3.0f);
    cr_assert_eq(tg_backward(y32, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(tg_grad(x32)), 6.0);
    reset_tape();
    tg_free(x64);
    tg_free(x32);
}

Test(versions, an_optimizer_step_between_forward_and_backward_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    const double one = 1;
    set_grad(x, &one); /* a gradient, so that the step changes x */
    tg_optimizer *sgd = tg_sgd_new(1, &x, 0.5);
    cr_assert_not_null(sgd);
    uint64_t before = x->version;
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_optimizer_step(sgd), TG_OK);
    cr_assert_eq(tg_item(x), 2.5); /* 3 - 0.5 * 1 */
    cr_assert_eq(x->version, before + 1);
    tg_set_grad_to_none(x); /* what a refused pass writes would show here */
    char versions[64];
    snprintf(versions, sizeof versions, "(version %llu -> %llu)", (unsigned long long)before,
             (unsigned long long)before + 1);
    expect_mul_input_refused(y, x, versions);
    reset_tape();
    tg_optimizer_free(sgd);
    tg_free(x);
}

Test(versions, a_step_that_skips_a_parameter_does_not_count, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3); /* no gradient: the step leaves it alone */
    tg_optimizer *sgd = tg_sgd_new(1, &x, 0.5);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_optimizer_step(sgd), TG_OK);
    cr_assert_eq(tg_backward(y, NULL), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(tg_grad(x)), 6.0);
    reset_tape();
    tg_optimizer_free(sgd);
    tg_free(x);
}

/* x saved as 10 in a checkpoint, then loaded into x after y = x * x. */
static void save_ten(const char *path)
{
    tg_tensor *ten = tg_scalar(TG_F64, 10);
    const char *name = "x";
    cr_assert_eq(tg_checkpoint_save(path, 1, &name, (const tg_tensor *const *)&ten, 0, NULL, NULL), TG_OK, "%s",
                 tg_last_error_message());
    tg_free(ten);
}

Test(versions, loading_a_checkpoint_into_a_recorded_input_is_refused, .init = return_mode, .fini = abort_mode)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    save_ten(path);
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);
    const char *name = "x";
    cr_assert_eq(tg_checkpoint_load_into(path, 1, &name, &x), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_item(x), 10.0);
    expect_mul_input_refused(y, x, "(version 0 -> 1)");
    reset_tape();

    /* The same through an open checkpoint (tg_model_load reads this way). */
    y = tg_mul(x, x);
    tg_checkpoint *ck = tg_checkpoint_open(path);
    cr_assert_not_null(ck);
    cr_assert_eq(tg_checkpoint_read_into(ck, 1, &name, &x), TG_OK);
    tg_checkpoint_close(ck);
    expect_mul_input_refused(y, x, "(version 1 -> 2)");
    reset_tape();
    tg_free(x);
    remove_temp_dir(dir);
}

Test(versions, loading_a_model_after_its_forward_pass_is_refused, .init = return_mode, .fini = abort_mode)
{
    /* A 2 -> 1 dense layer; its saved parameters loaded back after the
     * forward pass: the same values, but a change. The walk reaches the
     * bias's add first (zeros, never changed before: version 0). */
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const int64_t sizes[2] = {2, 1}, shape[2] = {1, 2};
    tg_rng rng = tg_rng_seeded(1);
    tg_model *model = tg_mlp_new(&rng, TG_F64, 2, sizes, TG_ACT_TANH, -1);
    cr_assert_not_null(model);
    cr_assert_eq(tg_model_save(model, path), TG_OK, "%s", tg_last_error_message());
    tg_tensor *x = tg_ones(TG_F64, 2, shape);
    tg_tensor *loss = tg_sum(tg_model_forward(model, x));
    cr_assert_eq(tg_model_load(model, path), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(tg_backward(loss, NULL), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "input 1 (float64 (1)) of add (tape node 1) was modified in "
                                                       "place after it was recorded (version 0 -> 1)"),
                       "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(x);
    tg_model_free(model);
    remove_temp_dir(dir);
}

Test(versions, filling_a_batch_into_a_recorded_input_is_refused, .init = return_mode, .fini = abort_mode)
{
    /* Two samples of one feature, 3 and 10: x holds sample 0 when y = x * x
     * is recorded, then sample 1. */
    const int64_t one = 1, shape[2] = {1, 1};
    tg_dataset *ds = tg_dataset_new(TG_FEATURES_F64, 2, 1, &one, TG_LABELS_NONE, 0);
    cr_assert_not_null(ds, "%s", tg_last_error_message());
    double *features = tg_dataset_features_data(ds);
    features[0] = 3;
    features[1] = 10;
    tg_tensor *x = tg_zeros(TG_F64, 2, shape);
    cr_assert_eq(tg_set_requires_grad(x, true), TG_OK);
    cr_assert_eq(tg_dataset_fill_range(ds, 0, 1, x, NULL, TG_ENCODE_INDEX), TG_OK, "%s", tg_last_error_message());
    tg_tensor *y = tg_sum(tg_mul(x, x));
    cr_assert_eq(tg_dataset_fill_range(ds, 1, 1, x, NULL, TG_ENCODE_INDEX), TG_OK);
    cr_assert_eq(tg_backward(y, NULL), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "input 0 (float64 (1,1)) of mul (tape node 0) was modified in "
                                                       "place after it was recorded (version 1 -> 2)"),
                       "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(x);
    tg_dataset_free(ds);
}

Test(versions, a_change_through_a_detached_view_is_refused, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *view = tg_detach(x); /* shares x's data, so its version too */
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_set(view, NULL, 10), TG_OK);
    cr_assert_eq(tg_item(x), 10.0);
    expect_mul_input_refused(y, x, "(version 0 -> 1)");
    reset_tape();
    tg_free(x);
}

Test(versions, a_changed_output_is_refused, .init = return_mode, .fini = abort_mode)
{
    /* exp's rule uses its output: d exp(x)/dx = exp(x). */
    tg_tensor *x = scalar_param(0);
    tg_tensor *y = tg_exp(x);
    cr_assert_eq(tg_set_flat(y, 0, 5), TG_OK);
    cr_assert_eq(tg_backward(y, NULL), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "the output (float64 ()) of exp (tape node 0) was modified in "
                                                       "place after it was recorded (version 0 -> 1)"),
                       "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(x);
}

Test(versions, tg_gradients_refuses_a_changed_input, .init = return_mode, .fini = abort_mode)
{
    tg_tensor *x = scalar_param(3);
    tg_tensor *y = tg_mul(x, x);
    cr_assert_eq(tg_set(x, NULL, 10), TG_OK);
    tg_tensor *grad = NULL;
    cr_assert_eq(tg_gradients(y, NULL, 1, &x, &grad, false), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_gradients: input 0 (float64 ()) of mul (tape node 0) was "
                                                       "modified in place after it was recorded (version 0 -> 1)"),
                       "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(x);
}

Test(versions, zeroing_a_gradient_an_op_used_is_refused, .init = return_mode, .fini = abort_mode)
{
    /* A gradient used as an op's input (as a gradient penalty would), then
     * zeroed in place before backward. */
    tg_tensor *w = scalar_param(2), *x = scalar_param(3);
    const double four = 4;
    set_grad(w, &four);
    tg_tensor *grad_w = (tg_tensor *)tg_grad(w);
    tg_tensor *y = tg_mul(x, grad_w);
    tg_zero_grad(w);
    cr_assert_eq(tg_backward(y, NULL), TG_ERR_TAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "input 1 (float64 ()) of mul"), "%s", tg_last_error_message());
    tg_clear_error();
    reset_tape();
    tg_free(w);
    tg_free(x);
}

/* ---- a normal training loop is never refused ---- */

/* Fits y = 2x - 1 on 8 points with a 1-8-1 tanh MLP and SGD, with the steps
 * of ARCHITECTURE.md: grads to none, forward (the loss read), backward, clip,
 * step, reset; odd steps accumulate two micro-batches before their step.
 * Every call must succeed, and the loss must fall. */
Test(versions, a_training_loop_is_never_refused, .init = return_mode, .fini = abort_mode)
{
    double xs[8], ys[8];
    for (int i = 0; i < 8; i++) {
        xs[i] = (i - 3.5) / 4;
        ys[i] = 2 * xs[i] - 1;
    }
    const int64_t shape[2] = {8, 1}, sizes[3] = {1, 8, 1};
    tg_tensor *x = make(TG_F64, 2, shape, xs), *y = make(TG_F64, 2, shape, ys);
    tg_rng rng = tg_rng_seeded(7);
    tg_model *model = tg_mlp_new(&rng, TG_F64, 3, sizes, TG_ACT_TANH, -1);
    cr_assert_not_null(model, "%s", tg_last_error_message());
    tg_tensor *params[4];
    int n = tg_model_params(model, params, 4);
    cr_assert_eq(n, 4);
    tg_optimizer *sgd = tg_sgd_new(n, params, 0.05);
    double first = NAN, loss = NAN;
    for (int step = 0; step < 300; step++) {
        tg_optimizer_set_grads_to_none(sgd);
        for (int micro = 0; micro < 1 + (step % 2); micro++) {
            tg_tensor *l = tg_mse_loss(tg_model_forward(model, x), y);
            loss = tg_item(l);
            cr_assert_eq(tg_backward(l, NULL), TG_OK, "step %d: %s", step, tg_last_error_message());
        }
        if (step == 0) first = loss;
        cr_assert_eq(tg_clip_grad_norm(n, params, 100.0, NULL), TG_OK, "%s", tg_last_error_message());
        cr_assert_eq(tg_optimizer_step(sgd), TG_OK, "%s", tg_last_error_message());
        reset_tape();
    }
    cr_assert_lt(loss, first / 10, "the loss went from %g to %g", first, loss);
    tg_optimizer_free(sgd);
    tg_model_free(model);
    tg_free(x);
    tg_free(y);
}
