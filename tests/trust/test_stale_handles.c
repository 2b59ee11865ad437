/* tests/trust/test_stale_handles.c — a tape tensor kept across resets is
 * refused, even after the tape has made new tensors of the same shape.
 *
 * The promise (tape.h): a tensor made up to the tape's stale window
 * (TG_TAPE_STALE_WINDOW resets by default, tg_tape_set_stale_window) before
 * the last reset is always reported as TG_ERR_TAPE "stale", because the
 * memory of its struct is not handed to a new tensor within that window.
 * Each test repeats the same ops after every reset, so that a tape which
 * reused the memory would put the new tensor exactly where the old one was. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

static const int64_t shape_2x3[] = {2, 3};

static tg_tensor *param_2x3(double first)
{
    double values[6];
    for (int i = 0; i < 6; i++) values[i] = first + i;
    return param(TG_F64, 2, shape_2x3, values);
}

/* The reproducer: h from step 0, a reset, then one new op whose
 * output has h's shape (a tape that rewinds puts it at h's address), then h
 * is used. It must be refused, not read the new tensor's values. */
Test(stale_handles, a_tensor_from_before_a_reset_is_refused_after_a_new_op_of_its_shape, .init = return_mode,
     .fini = abort_mode)
{
    tg_tensor *a = param_2x3(1), *b = param_2x3(10), *w = param_2x3(100);
    tg_tensor *h = tg_add(a, b); /* step 0 */
    cr_assert_not_null(h);
    reset_tape();
    tg_tensor *h2 = tg_mul(a, b); /* same shape, same op count: where h was */
    cr_assert_not_null(h2);
    cr_assert_eq(tg_get_flat(h2, 0), 1.0 * 10.0, "the new tensor is intact");
    cr_assert_null(tg_add(h, w), "a tensor from before the reset was accepted");
    assert_error(TG_ERR_TAPE, "tg_add", "stale");
    cr_assert(isnan(tg_get_flat(h, 0)));
    assert_error(TG_ERR_TAPE, "tg_get_flat", "stale");
    cr_assert_null(tg_data_f64(h));
    assert_error(TG_ERR_TAPE, "tg_data_f64", "stale");
    cr_assert_eq(tg_backward(tg_sum(h), NULL), TG_ERR_TAPE);
    assert_error(TG_ERR_TAPE, "tg_sum", "stale");
    /* The new tensor still reads its own values: 1*10, 2*11, ... */
    for (int i = 0; i < 6; i++) cr_assert_eq(tg_get_flat(h2, i), (1.0 + i) * (10.0 + i));
    reset_tape();
    tg_free(a), tg_free(b), tg_free(w);
}

/* The same with a different new op (a reduction: another size), and with
 * the stale tensor as the second input. */
Test(stale_handles, a_tensor_from_before_a_reset_is_refused_after_a_new_op_of_another_shape, .init = return_mode,
     .fini = abort_mode)
{
    tg_tensor *a = param_2x3(1), *w = param_2x3(100);
    tg_tensor *h = tg_exp(a);
    reset_tape();
    cr_assert_not_null(tg_sum(a));
    cr_assert_null(tg_mul(w, h));
    assert_error(TG_ERR_TAPE, "tg_mul", "b is a stale tensor");
    reset_tape();
    tg_free(a), tg_free(w);
}

/* A training loop that keeps `kept` (the loss of step 0) and runs the same
 * step `age` more times, resetting before each: kept is `age` resets old. */
static tg_tensor *loss_of(tg_tensor *x, tg_tensor *w)
{
    tg_tensor *h = tg_tanh(tg_matmul(x, w));
    return tg_sum(tg_mul(h, h));
}

static tg_tensor *keep_a_loss_for(tg_tape *tape, tg_tensor *x, tg_tensor *w, int age)
{
    tg_tensor *kept = loss_of(x, w);
    cr_assert_not_null(kept, "%s", tg_last_error_message());
    for (int step = 0; step < age; step++) {
        tg_tape_reset(tape);
        tg_tensor *loss = loss_of(x, w);
        cr_assert_eq(tg_backward(loss, NULL), TG_OK, "%s", tg_last_error_message());
    }
    return kept;
}

/* Every age from 1 to the window: the kept tensor is refused by an op, by
 * backward, and by the accessors. */
static void check_refused_up_to(tg_tape *tape, int window)
{
    tg_tensor *x = param_2x3(0.5);
    tg_tensor *w = make(TG_F64, 2, (const int64_t[]){3, 2}, (const double[]){0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
    cr_assert_eq(tg_set_requires_grad(w, true), TG_OK);
    for (int age = 1; age <= window; age++) {
        tg_tensor *kept = keep_a_loss_for(tape, x, w, age);
        cr_assert_null(tg_mul_scalar(kept, 2.0), "a loss %d resets old was accepted (window %d)", age, window);
        assert_error(TG_ERR_TAPE, "tg_mul_scalar", "stale");
        cr_assert_eq(tg_backward(kept, NULL), TG_ERR_TAPE, "backward of a loss %d resets old", age);
        assert_error(TG_ERR_TAPE, "tg_backward", "stale");
        cr_assert(isnan(tg_item(kept)));
        assert_error(TG_ERR_TAPE, "tg_item", "stale");
        tg_tape_reset(tape);
    }
    tg_free(x), tg_free(w);
}

Test(stale_handles, tensors_one_to_the_default_window_of_resets_old_are_refused, .init = return_mode,
     .fini = abort_mode)
{
    cr_assert_eq(TG_TAPE_STALE_WINDOW, 4, "the documented default");
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    check_refused_up_to(tape, TG_TAPE_STALE_WINDOW);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

Test(stale_handles, the_default_tape_refuses_them_too, .init = return_mode, .fini = abort_mode)
{
    check_refused_up_to(tg_tape_current(), TG_TAPE_STALE_WINDOW);
}

/* A wider window, set on a tape that has already run steps (the window
 * grows from the next reset on), and a narrower one. */
Test(stale_handles, a_window_set_per_tape_is_kept, .init = return_mode, .fini = abort_mode)
{
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    check_refused_up_to(tape, 2);
    cr_assert_eq(tg_tape_set_stale_window(tape, 9), TG_TAPE_STALE_WINDOW, "returns the previous window");
    check_refused_up_to(tape, 9);
    cr_assert_eq(tg_tape_set_stale_window(tape, 1), 9);
    check_refused_up_to(tape, 1);
    cr_assert_eq(tg_tape_set_stale_window(tape, TG_TAPE_MAX_STALE_WINDOW), 1);
    check_refused_up_to(tape, TG_TAPE_MAX_STALE_WINDOW);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

/* Tensors of a step a window ago still hold their values and shapes (their
 * structs were not reused): the struct of every one of them is intact. */
Test(stale_handles, structs_of_the_window_are_not_reused)
{
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *x = param_2x3(1);
    enum { STEPS = TG_TAPE_STALE_WINDOW + 1 };
    tg_tensor *outputs[STEPS];
    for (int step = 0; step < STEPS; step++) {
        if (step > 0) tg_tape_reset(tape);
        outputs[step] = tg_sum(tg_mul_scalar(x, step + 1.0));
    }
    for (int i = 0; i < STEPS; i++)
        for (int j = i + 1; j < STEPS; j++)
            cr_assert_neq(outputs[i], outputs[j], "steps %d and %d share a tensor address", i, j);
    for (int step = 0; step < STEPS; step++) {
        cr_assert_eq(outputs[step]->rank, 0);
        cr_assert_eq(outputs[step]->tape, tape);
    }
    tg_free(x);
    tg_tape_use(previous);
    tg_tape_free(tape);
}

Test(stale_handles, the_generation_is_64_bits_and_does_not_wrap)
{
    tg_tensor t;
    cr_assert_eq(sizeof t.generation, 8, "a 32-bit generation wraps after 2^32 resets");
}

/* Under AddressSanitizer the arena poisons what a reset releases, so a raw
 * read of a stale tensor's data (bypassing every check) is caught. A child
 * process makes the read; it must die. Without ASan the read is undefined
 * and not tested. */
#if defined(__SANITIZE_ADDRESS__)
#define STALE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STALE_TEST_ASAN 1
#endif
#endif

Test(stale_handles, asan_catches_a_raw_read_of_released_tape_data)
{
#ifndef STALE_TEST_ASAN
    cr_skip_test("needs AddressSanitizer (build with -Db_sanitize=address)");
#else
    tg_tape *tape = tg_tape_new();
    tg_tape *previous = tg_tape_use(tape);
    tg_tensor *x = tg_zeros(TG_F32, 1, (const int64_t[]){1000});
    tg_tensor *y = tg_add_scalar(x, 1.0);
    cr_assert_eq(tg_data_f32(y)[999], 1.0f);
    const float *data = y->data;
    tg_tape_reset(tape);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        freopen("/dev/null", "w", stderr);
        volatile float read = data[999];
        (void)read;
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "the raw read of released data was not caught");
    tg_free(x);
    tg_tape_use(previous);
    tg_tape_free(tape);
#endif
}
