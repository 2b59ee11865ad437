/* nn/recurrent.c — LSTM and GRU cells and their sequence runners, composed
 * of ops in PyTorch's layout (nn.LSTM / nn.GRU): w_ih (G H, I), w_hh (G H, H),
 * b_ih and b_hh (G H), with G = 4 gates i, f, g, o for the LSTM and G = 3
 * gates r, z, n for the GRU, stacked in that order along the rows.
 *
 *   LSTM: i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b_ih + h W_hh^T + b_hh
 *         c' = f c + i g,   h' = o tanh(c')
 *   GRU:  r, z = sigmoid(x W_i^T + b_i + h W_h^T + b_h) (their rows)
 *         n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),   h' = (1 - z) n + z h
 */
#include <stdlib.h>

#include "tapegrad/error.h"
#include "tapegrad/tensor.h"
#include "tapegrad/nn.h"
#include "tapegrad/op.h" /* TG_MAX_INPUTS, concat's limit */
#include "tapegrad/ops.h"

/* Checks the cell's operands: x (B, I), h (B, H), weights as above for
 * `gates` gates. Reports under `function`. */
static tg_status check_cell(const char *function, int gates, tg_tensor *x, tg_tensor *h, tg_tensor *w_ih,
                            tg_tensor *w_hh, tg_tensor *b_ih, tg_tensor *b_hh) {
    tg_tensor *all[6] = {x, h, w_ih, w_hh, b_ih, b_hh};
    static const char *const names[6] = {"x", "h", "w_ih", "w_hh", "b_ih", "b_hh"};
    for (int k = 0; k < 6; k++)
        if (tg_tensor_check(function, names[k], all[k]) != TG_OK) return tg_last_error();
    for (int k = 1; k < 6; k++)
        if (all[k]->dtype != x->dtype)
            return tg_error_report(TG_ERR_DTYPE, function, "%s is %s but x is %s", names[k],
                                   tg_dtype_name(all[k]->dtype), tg_dtype_name(x->dtype));
    int64_t hidden = h->rank == 2 ? h->shape[1] : -1, batch = x->rank == 2 ? x->shape[0] : -1;
    int64_t in = x->rank == 2 ? x->shape[1] : -1;
    bool fits = x->rank == 2 && h->rank == 2 && h->shape[0] == batch && w_ih->rank == 2 &&
                w_ih->shape[0] == gates * hidden && w_ih->shape[1] == in && w_hh->rank == 2 &&
                w_hh->shape[0] == gates * hidden && w_hh->shape[1] == hidden && b_ih->rank == 1 &&
                b_ih->shape[0] == gates * hidden && b_hh->rank == 1 && b_hh->shape[0] == gates * hidden;
    if (!fits) {
        char s[6][128];
        for (int k = 0; k < 6; k++) tg_shape_string(s[k], sizeof s[k], all[k]->rank, all[k]->shape);
        return tg_error_report(TG_ERR_SHAPE, function,
                               "shapes x %s, h %s, w_ih %s, w_hh %s, b_ih %s, b_hh %s do not fit x (B,I), h (B,H), "
                               "w_ih (%dH,I), w_hh (%dH,H), biases (%dH)",
                               s[0], s[1], s[2], s[3], s[4], s[5], gates, gates, gates);
    }
    return TG_OK;
}

/* x W^T + b: (B, G H). */
static tg_tensor *affine(tg_tensor *x, tg_tensor *w, tg_tensor *b) { return tg_add(tg_matmul_t(x, false, w, true), b); }

/* Gate k of `gates` stacked along axis 1, each `hidden` wide. */
static tg_tensor *gate(tg_tensor *stacked, int k, int64_t hidden) {
    return tg_slice(stacked, 1, k * hidden, (k + 1) * hidden);
}

/* True when a and b have the same rank and sizes. */
static bool same_shape(const tg_tensor *a, const tg_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

tg_status tg_lstm_cell(tg_tensor *x, tg_tensor *h, tg_tensor *c, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                       tg_tensor *b_hh, tg_tensor **h_out, tg_tensor **c_out) {
    const char *function = "tg_lstm_cell";
    if (!h_out || !c_out) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", h_out ? "c_out" : "h_out");
    *h_out = *c_out = NULL;
    if (check_cell(function, 4, x, h, w_ih, w_hh, b_ih, b_hh) != TG_OK) return tg_last_error();
    if (tg_tensor_check(function, "c", c) != TG_OK) return tg_last_error();
    if (c->dtype != x->dtype || !same_shape(c, h))
        return tg_error_report(TG_ERR_SHAPE, function, "c must have h's shape and dtype");
    int64_t hidden = h->shape[1];
    tg_tensor *z = tg_add(affine(x, w_ih, b_ih), affine(h, w_hh, b_hh));
    tg_tensor *i = tg_sigmoid(gate(z, 0, hidden)), *f = tg_sigmoid(gate(z, 1, hidden));
    tg_tensor *g = tg_tanh(gate(z, 2, hidden)), *o = tg_sigmoid(gate(z, 3, hidden));
    tg_tensor *c_next = tg_add(tg_mul(f, c), tg_mul(i, g));
    tg_tensor *h_next = tg_mul(o, tg_tanh(c_next));
    if (!h_next) return tg_last_error();
    *h_out = h_next;
    *c_out = c_next;
    return TG_OK;
}

tg_tensor *tg_gru_cell(tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                       tg_tensor *b_hh) {
    if (check_cell("tg_gru_cell", 3, x, h, w_ih, w_hh, b_ih, b_hh) != TG_OK) return NULL;
    int64_t hidden = h->shape[1];
    tg_tensor *zi = affine(x, w_ih, b_ih), *zh = affine(h, w_hh, b_hh);
    tg_tensor *r = tg_sigmoid(tg_add(gate(zi, 0, hidden), gate(zh, 0, hidden)));
    tg_tensor *z = tg_sigmoid(tg_add(gate(zi, 1, hidden), gate(zh, 1, hidden)));
    tg_tensor *n = tg_tanh(tg_add(gate(zi, 2, hidden), tg_mul(r, gate(zh, 2, hidden))));
    return tg_add(n, tg_mul(z, tg_sub(h, n))); /* (1 - z) n + z h */
}

/* x (T, B, I) seen one step at a time: step t as (B, I). */
static tg_tensor *step_input(tg_tensor *x, int64_t t) {
    tg_tensor *slice = tg_slice(x, 0, t, t + 1);
    return slice ? tg_reshape(slice, 2, (int64_t[]){x->shape[1], x->shape[2]}) : NULL;
}

/* The per-step outputs h_t (B, H) stacked into (T, B, H). */
static tg_tensor *stack_steps(int64_t steps, tg_tensor **hs) {
    for (int64_t t = 0; t < steps; t++)
        if (hs[t]) hs[t] = tg_reshape(hs[t], 3, (int64_t[]){1, hs[t]->shape[0], hs[t]->shape[1]});
    /* concat takes at most TG_MAX_INPUTS tensors at once: join in chunks. */
    tg_tensor *out = NULL;
    for (int64_t t0 = 0; t0 < steps; t0 += TG_MAX_INPUTS - 1) {
        tg_tensor *parts[TG_MAX_INPUTS];
        int n = 0;
        if (out) parts[n++] = out;
        for (int64_t t = t0; t < steps && t < t0 + TG_MAX_INPUTS - 1; t++) parts[n++] = hs[t];
        out = tg_concat(n, parts, 0);
    }
    return out;
}

static tg_status check_sequence(const char *function, tg_tensor *x) {
    if (tg_tensor_check(function, "x", x) != TG_OK) return tg_last_error();
    if (x->rank != 3 || x->shape[0] < 1) {
        char s[128];
        tg_shape_string(s, sizeof s, x->rank, x->shape);
        return tg_error_report(TG_ERR_SHAPE, function, "x %s must be (T, B, I) with T >= 1", s);
    }
    return TG_OK;
}

tg_tensor *tg_lstm(tg_tensor *x, tg_tensor *h0, tg_tensor *c0, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                   tg_tensor *b_hh, tg_tensor **h_last, tg_tensor **c_last) {
    const char *function = "tg_lstm";
    if (check_sequence(function, x) != TG_OK) return NULL;
    int64_t steps = x->shape[0];
    tg_tensor **hs = calloc((size_t)steps, sizeof *hs);
    if (!hs) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %lld steps", (long long)steps);
        return NULL;
    }
    tg_tensor *h = h0, *c = c0;
    tg_error_nested_begin(); /* a cell's error is reported as tg_lstm's */
    tg_status status = TG_OK;
    for (int64_t t = 0; t < steps && status == TG_OK; t++) {
        status = tg_lstm_cell(step_input(x, t), h, c, w_ih, w_hh, b_ih, b_hh, &h, &c);
        hs[t] = h;
    }
    tg_tensor *out = status == TG_OK ? stack_steps(steps, hs) : NULL;
    tg_error_nested_end();
    free(hs);
    if (!out) {
        tg_error_pass_up(function, "");
        return NULL;
    }
    if (h_last) *h_last = h;
    if (c_last) *c_last = c;
    return out;
}

tg_tensor *tg_gru(tg_tensor *x, tg_tensor *h0, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih, tg_tensor *b_hh) {
    const char *function = "tg_gru";
    if (check_sequence(function, x) != TG_OK) return NULL;
    int64_t steps = x->shape[0];
    tg_tensor **hs = calloc((size_t)steps, sizeof *hs);
    if (!hs) {
        tg_error_report(TG_ERR_MEMORY, function, "cannot allocate %lld steps", (long long)steps);
        return NULL;
    }
    tg_tensor *h = h0;
    tg_error_nested_begin(); /* a cell's error is reported as tg_gru's */
    for (int64_t t = 0; t < steps && h; t++) hs[t] = h = tg_gru_cell(step_input(x, t), h, w_ih, w_hh, b_ih, b_hh);
    tg_tensor *out = h ? stack_steps(steps, hs) : NULL;
    tg_error_nested_end();
    free(hs);
    if (!out) tg_error_pass_up(function, "");
    return out;
}
