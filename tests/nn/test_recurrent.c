/* Tests of the LSTM and GRU of nn/recurrent.c against PyTorch's nn.LSTM and
 * nn.GRU given the same weights (float64): the outputs and the gradients of
 * a loss with respect to the input, the initial state and every weight.
 * Skipped, with the reason, without /usr/bin/python3 and torch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

#define PYTHON "/usr/bin/python3"
enum { STEPS = 4, BATCH = 2, IN = 3, HIDDEN = 5, N_TENSORS = 7 };

static bool have_torch(void) {
    return access(PYTHON, X_OK) == 0 && system(PYTHON " -c 'import torch' >/dev/null 2>&1") == 0;
}

static void write_tensor(FILE *f, const char *name, const tg_tensor *t) {
    fprintf(f, "%s = torch.tensor([", name);
    for (int64_t i = 0; i < t->numel; i++) fprintf(f, "%.17g,", tg_get_flat(t, i));
    fprintf(f, "], dtype=torch.float64).reshape([");
    for (int d = 0; d < t->rank; d++) fprintf(f, "%lld,", (long long)t->shape[d]);
    fprintf(f, "]).requires_grad_()\n");
}

/* Inputs x, h0, c0 (unused by the GRU), w_ih, w_hh, b_ih, b_hh, random. */
static void make_inputs(tg_rng *rng, int gates, tg_tensor **t) {
    const int64_t shapes[N_TENSORS][3] = {{STEPS, BATCH, IN}, {BATCH, HIDDEN}, {BATCH, HIDDEN}, {gates * HIDDEN, IN},
                                          {gates * HIDDEN, HIDDEN}, {gates * HIDDEN}, {gates * HIDDEN}};
    const int ranks[N_TENSORS] = {3, 2, 2, 2, 2, 1, 1};
    for (int k = 0; k < N_TENSORS; k++) {
        t[k] = tg_rand_uniform(rng, TG_F64, ranks[k], shapes[k], -0.8, 0.8);
        tg_set_requires_grad(t[k], true);
    }
}

/* Runs `script` (which prints the loss, then each listed tensor's gradient)
 * and compares with ours. */
static void compare(const char *what, const char *path, tg_tensor *loss, tg_tensor **t, const int *used, int n_used) {
    char command[256];
    snprintf(command, sizeof command, PYTHON " %s 2>&1", path);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    double want;
    cr_assert_eq(fscanf(p, "%lf", &want), 1, "%s: torch printed no loss", what);
    cr_assert(fabs(want - tg_item(loss)) <= 1e-10 * fmax(1, fabs(want)), "%s: loss %.17g, torch %.17g", what,
              tg_item(loss), want);
    for (int u = 0; u < n_used; u++) {
        const tg_tensor *g = tg_grad(t[used[u]]);
        cr_assert_not_null(g);
        for (int64_t i = 0; i < g->numel; i++) {
            cr_assert_eq(fscanf(p, "%lf", &want), 1, "%s: too few gradient entries", what);
            cr_assert(fabs(tg_get_flat(g, i) - want) <= 1e-10 * fmax(1, fabs(want)),
                      "%s: gradient of input %d [%lld]: %.17g, torch %.17g", what, used[u], (long long)i,
                      tg_get_flat(g, i), want);
        }
    }
    pclose(p);
}

static const char *const names[N_TENSORS] = {"x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"};

static FILE *start_script(char *path, tg_tensor **t) {
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import torch\n");
    for (int k = 0; k < N_TENSORS; k++) write_tensor(f, names[k], t[k]);
    return f;
}

Test(nn_recurrent_torch, lstm_matches_torch_nn_lstm) {
    if (!have_torch()) cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch' failed)");
    tg_rng rng = tg_rng_seeded(11);
    tg_tensor *t[N_TENSORS];
    make_inputs(&rng, 4, t);
    tg_tensor *h_last, *c_last;
    tg_tensor *out = tg_lstm(t[0], t[1], t[2], t[3], t[4], t[5], t[6], &h_last, &c_last);
    cr_assert_not_null(out, "%s", tg_last_error_message());
    tg_tensor *loss = tg_add(tg_sum(tg_tanh(tg_mul(out, out))), tg_add(tg_sum(c_last), tg_sum(tg_mul_scalar(h_last, 0.5))));
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    char path[] = "/tmp/tg_lstm_XXXXXX";
    FILE *f = start_script(path, t);
    fprintf(f, "m = torch.nn.LSTM(%d, %d).double()\n"
               "with torch.no_grad():\n"
               "    m.weight_ih_l0.copy_(w_ih); m.weight_hh_l0.copy_(w_hh); m.bias_ih_l0.copy_(b_ih); m.bias_hh_l0.copy_(b_hh)\n"
               "out, (h, c) = m(x, (h0.unsqueeze(0), c0.unsqueeze(0)))\n"
               "loss = torch.tanh(out * out).sum() + c.sum() + (0.5 * h).sum()\n"
               "loss.backward()\n"
               "print(repr(loss.item()))\n"
               "for g in (x.grad, h0.grad, c0.grad, m.weight_ih_l0.grad, m.weight_hh_l0.grad, m.bias_ih_l0.grad, m.bias_hh_l0.grad):\n"
               "    print(' '.join(repr(v) for v in g.flatten().tolist()))\n",
            IN, HIDDEN);
    fclose(f);
    compare("lstm", path, loss, t, (const int[]){0, 1, 2, 3, 4, 5, 6}, 7);
    unlink(path);
    for (int k = 0; k < N_TENSORS; k++) tg_free(t[k]);
    reset_tape();
}

Test(nn_recurrent_torch, gru_matches_torch_nn_gru) {
    if (!have_torch()) cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch' failed)");
    tg_rng rng = tg_rng_seeded(12);
    tg_tensor *t[N_TENSORS];
    make_inputs(&rng, 3, t);
    tg_tensor *out = tg_gru(t[0], t[1], t[3], t[4], t[5], t[6]);
    cr_assert_not_null(out, "%s", tg_last_error_message());
    tg_tensor *loss = tg_sum(tg_tanh(tg_mul(out, out)));
    cr_assert_eq(tg_backward(loss, NULL), TG_OK);
    char path[] = "/tmp/tg_gru_XXXXXX";
    FILE *f = start_script(path, t);
    fprintf(f, "m = torch.nn.GRU(%d, %d).double()\n"
               "with torch.no_grad():\n"
               "    m.weight_ih_l0.copy_(w_ih); m.weight_hh_l0.copy_(w_hh); m.bias_ih_l0.copy_(b_ih); m.bias_hh_l0.copy_(b_hh)\n"
               "out, h = m(x, h0.unsqueeze(0))\n"
               "loss = torch.tanh(out * out).sum()\n"
               "loss.backward()\n"
               "print(repr(loss.item()))\n"
               "for g in (x.grad, h0.grad, m.weight_ih_l0.grad, m.weight_hh_l0.grad, m.bias_ih_l0.grad, m.bias_hh_l0.grad):\n"
               "    print(' '.join(repr(v) for v in g.flatten().tolist()))\n",
            IN, HIDDEN);
    fclose(f);
    compare("gru", path, loss, t, (const int[]){0, 1, 3, 4, 5, 6}, 6);
    unlink(path);
    for (int k = 0; k < N_TENSORS; k++) tg_free(t[k]);
    reset_tape();
}

/* One LSTM step by hand: zero weights make every gate sigmoid(b) or tanh(b);
 * biases 0 give i = f = o = 1/2, g = 0, so c' = c / 2 and h' = tanh(c/2) / 2. */
Test(nn_recurrent, lstm_cell_with_zero_weights_halves_the_cell) {
    tg_tensor *x = tg_ones(TG_F64, 2, (int64_t[]){1, 2}), *h = tg_ones(TG_F64, 2, (int64_t[]){1, 1});
    tg_tensor *c = tg_full(TG_F64, 2, (int64_t[]){1, 1}, 0.8);
    tg_tensor *w_ih = tg_zeros(TG_F64, 2, (int64_t[]){4, 2}), *w_hh = tg_zeros(TG_F64, 2, (int64_t[]){4, 1});
    tg_tensor *b = tg_zeros(TG_F64, 1, (int64_t[]){4});
    tg_tensor *h1, *c1;
    cr_assert_eq(tg_lstm_cell(x, h, c, w_ih, w_hh, b, b, &h1, &c1), TG_OK);
    cr_assert_float_eq(tg_item(c1), 0.4, 1e-15);
    cr_assert_float_eq(tg_item(h1), 0.5 * tanh(0.4), 1e-15);
    tg_tensor *all[] = {x, h, c, w_ih, w_hh, b};
    for (int k = 0; k < 6; k++) tg_free(all[k]);
    reset_tape();
}

Test(nn_recurrent, mismatched_shapes_are_reported_by_the_function_called, .init = return_mode, .fini = abort_mode) {
    tg_tensor *x = tg_zeros(TG_F64, 3, (int64_t[]){2, 1, 3}), *h = tg_zeros(TG_F64, 2, (int64_t[]){1, 4});
    tg_tensor *w_ih = tg_zeros(TG_F64, 2, (int64_t[]){12, 3}), *w_hh = tg_zeros(TG_F64, 2, (int64_t[]){12, 5});
    tg_tensor *b = tg_zeros(TG_F64, 1, (int64_t[]){12});
    cr_assert_null(tg_gru(x, h, w_ih, w_hh, b, b));
    assert_error(TG_ERR_SHAPE, "tg_gru", "w_hh (12,5)");
    tg_tensor *all[] = {x, h, w_ih, w_hh, b};
    for (int k = 0; k < 5; k++) tg_free(all[k]);
    reset_tape();
}
