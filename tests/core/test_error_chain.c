/* tests/core/test_error_chain.c — in TG_ERRORS_RETURN mode (and under a
 * handler that returns) the first error of a chain of calls survives the
 * chain: later calls that only receive the resulting NULL do not overwrite
 * it, while an independent new error still replaces it (error.h). */
#include <math.h>
#include <signal.h>

#include <criterion/criterion.h>

#include "../test_helpers.h"
#include "tapegrad.h"

/* a (3,4) and b (5,2): a @ b fails with "inner dimensions differ". */
static tg_tensor *a, *b;

static void setup(void)
{
    return_mode();
    a = iota(TG_F64, 2, (int64_t[]){3, 4}, true);
    b = iota(TG_F64, 2, (int64_t[]){5, 2}, true);
}

static void teardown(void)
{
    reset_tape();
    tg_free(a);
    tg_free(b);
    abort_mode();
}

/* The pending error is tg_matmul's, with both shapes. */
static void assert_matmul_error_pending(void)
{
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE, "got %s: %s", tg_status_name(tg_last_error()),
                 tg_last_error_message());
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul: inner dimensions differ: (3,4) @ (5,2)");
}

TestSuite(error_chain, .init = setup, .fini = teardown);

Test(error_chain, two_ops_keep_the_first_error)
{
    cr_assert_null(tg_relu(tg_matmul(a, b)));
    assert_matmul_error_pending();
}

Test(error_chain, three_ops_and_backward_keep_the_first_error)
{
    tg_tensor *loss = tg_sum(tg_relu(tg_matmul(a, b)));
    cr_assert_null(loss);
    /* A tg_status call at the end of the chain returns the pending status. */
    cr_assert_eq(tg_backward(loss, NULL), TG_ERR_SHAPE);
    assert_matmul_error_pending();
}

Test(error_chain, a_loss_and_a_metric_keep_the_first_error)
{
    tg_tensor *target = iota(TG_F64, 2, (int64_t[]){3, 2}, false);
    cr_assert_null(tg_mse_loss(tg_sigmoid(tg_matmul(a, b)), target));
    cr_assert(isnan(tg_binary_accuracy(tg_matmul(a, b), target)));
    assert_matmul_error_pending();
    tg_free(target);
}

Test(error_chain, a_model_keeps_the_first_error_of_its_input)
{
    tg_model *model = tg_model_new();
    cr_assert_eq(tg_model_add(model, tg_activation_layer_new(TG_ACT_RELU)), TG_OK);
    cr_assert_null(tg_model_forward(model, tg_matmul(a, b)));
    assert_matmul_error_pending();
    tg_model_free(model);
}

/* A mistake of its own in a later call (shapes of non-NULL tensors) is a new
 * error, not the old one passed down: it is recorded. */
Test(error_chain, an_independent_error_replaces_the_pending_one)
{
    cr_assert_null(tg_matmul(a, b));
    cr_assert_null(tg_add(a, b));
    cr_assert_eq(tg_last_error(), TG_ERR_SHAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "tg_add"), "%s", tg_last_error_message());
    cr_assert_not_null(strstr(tg_last_error_message(), "(3,4)"), "%s", tg_last_error_message());
    cr_assert_not_null(strstr(tg_last_error_message(), "(5,2)"), "%s", tg_last_error_message());
}

/* Only NULL *tensors* are taken as passed down; a NULL model is new. */
Test(error_chain, a_null_non_tensor_argument_replaces_the_pending_one)
{
    cr_assert_null(tg_matmul(a, b));
    cr_assert_null(tg_model_forward(NULL, a));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_str_eq(tg_last_error_message(), "tg_model_forward: model is NULL");
}

Test(error_chain, after_clear_a_null_input_is_reported)
{
    cr_assert_null(tg_relu(tg_matmul(a, b)));
    tg_clear_error();
    cr_assert_null(tg_relu(NULL));
    cr_assert_eq(tg_last_error(), TG_ERR_ARGUMENT);
    cr_assert_str_eq(tg_last_error_message(), "tg_relu: x is NULL");
}

Test(error_chain, after_clear_a_new_error_is_recorded)
{
    cr_assert_null(tg_matmul(a, b));
    tg_clear_error();
    cr_assert_null(tg_matmul(b, a)); /* (5,2) @ (3,4) */
    cr_assert_str_eq(tg_last_error_message(), "tg_matmul: inner dimensions differ: (5,2) @ (3,4)");
}

/* A handler that returns sees the original error once, not a cascade. */
static int handler_calls;
static char handler_message[256];
static void count_calls(tg_status code, const char *message, void *user)
{
    (void)code;
    (void)user;
    handler_calls++;
    snprintf(handler_message, sizeof handler_message, "%s", message);
}

Test(error_chain, a_handler_is_called_once_for_a_chain)
{
    handler_calls = 0;
    tg_set_error_handler(count_calls, NULL);
    cr_assert_null(tg_sum(tg_relu(tg_matmul(a, b))));
    cr_assert_eq(handler_calls, 1);
    cr_assert_str_eq(handler_message, "tg_matmul: inner dimensions differ: (3,4) @ (5,2)");
    assert_matmul_error_pending();
    /* A new, independent error reaches the handler. */
    cr_assert_null(tg_add(a, b));
    cr_assert_eq(handler_calls, 2);
    cr_assert_not_null(strstr(handler_message, "tg_add"), "%s", handler_message);
}

/* Under TG_ERRORS_ABORT no failure returns, so a NULL input is the caller's
 * own bug even when an error was left pending from an earlier mode. */
Test(error_chain, in_abort_mode_a_null_input_aborts_despite_a_pending_error, .signal = SIGABRT)
{
    hide_expected_abort_message();
    cr_assert_null(tg_matmul(a, b));
    tg_set_error_mode(TG_ERRORS_ABORT); /* leaves the error pending */
    tg_relu(NULL);
}
