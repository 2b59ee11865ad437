/* tests/core/test_torch_oracle.c — PyTorch as an independent oracle: the same
 * expressions are differentiated by tapegrad and by torch.autograd (float64),
 * and every gradient entry must agree to 1e-10. Skipped, with the reason,
 * when Debian's python3 with torch is not installed (apt-get install
 * python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

#define PYTHON "/usr/bin/python3"
#define MAX_INPUTS 3

typedef struct oracle_case {
    const char *name;
    int n_inputs;
    int rank[MAX_INPUTS];
    int64_t shape[MAX_INPUTS][4];
    tg_tensor *(*apply)(tg_tensor **x);
    const char *torch; /* Python: inputs x0, x1, ...; sets `out` (a scalar) */
} oracle_case;

static tg_tensor *c_softmax_ce(tg_tensor **x) {
    /* The labels are fixed: one-hot rows for classes 1, 4, 0, 2. */
    static const double onehot[20] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    tg_tensor *labels = tg_from_doubles(TG_F64, 2, (int64_t[]){4, 5}, onehot);
    /* Backward keeps its inputs, so the constant must live on the tape: copy
     * it there (not recorded: it needs no gradient) and free the original. */
    tg_tensor *y = tg_mul_scalar(labels, 1.0);
    tg_free(labels);
    tg_tensor *picked = tg_mul(y, tg_log_softmax(x[0], 1));
    return tg_neg(tg_mean(tg_sum_axes(picked, 1, (int[]){1}, false)));
}
static tg_tensor *c_broadcast_mix(tg_tensor **x) {
    tg_tensor *a = x[0], *b = x[1];
    return tg_sum(tg_div(tg_exp(tg_mul(a, b)), tg_add_scalar(tg_abs(tg_sub(a, b)), 1.0)));
}
static tg_tensor *c_batched_matmul(tg_tensor **x) {
    return tg_mean(tg_pow(tg_tanh(tg_matmul(x[0], x[1])), 2.0));
}
static tg_tensor *c_matmul_transposes(tg_tensor **x) {
    tg_tensor *p = tg_matmul_t(x[0], true, x[1], false);  /* (3,4)^T (3,2) -> (4,2) */
    tg_tensor *q = tg_matmul_t(p, false, x[2], true);     /* (4,2) (5,2)^T -> (4,5) */
    return tg_sum(tg_sigmoid(q));
}
static tg_tensor *c_shape_ops(tg_tensor **x) {
    tg_tensor *p = tg_permute(x[0], (int[]){2, 0, 1});            /* (4,2,3) */
    tg_tensor *s = tg_slice(p, 2, 1, 3);                           /* (4,2,2) */
    tg_tensor *padded = tg_pad(s, 0, 1, 0);                        /* (5,2,2) */
    tg_tensor *joined = tg_concat(2, (tg_tensor *[]){padded, tg_mul_scalar(padded, 2.0)}, 1); /* (5,4,2) */
    tg_tensor *r = tg_reshape(joined, 2, (int64_t[]){10, -1});
    return tg_sum(tg_mul(r, tg_expand(tg_sum_to(r, 2, (int64_t[]){1, 4}), 2, (int64_t[]){10, 4})));
}
static tg_tensor *c_reductions(tg_tensor **x) {
    tg_tensor *m = tg_max_axis(x[0], 1, true);                        /* (3,1) */
    tg_tensor *c = tg_clamp(x[0], -0.7, 0.9);
    tg_tensor *mean = tg_mean_axes(tg_mul(c, m), 1, (int[]){0}, false); /* (5) */
    return tg_add(tg_sum(tg_sqrt(tg_add_scalar(tg_mul(mean, mean), 0.5))), tg_max(x[0]));
}
static tg_tensor *c_softmax_log(tg_tensor **x) {
    tg_tensor *s = tg_softmax(x[0], 0);
    return tg_sum(tg_mul(tg_log(tg_add_scalar(s, 0.1)), tg_relu(x[1])));
}
/* Attention over (batch 2, heads 2), T = 3 queries, S = 5 keys, d = 4,
 * dv = 3: causal with the default scale; then a constant additive mask
 * (0.1 (i - j), and -inf at (0,4) and (1,3)) with scale 0.5. torch 1.13 has
 * no F.scaled_dot_product_attention: the torch side is the formula. */
static tg_tensor *c_attention_causal(tg_tensor **x) {
    return tg_sum(tg_tanh(tg_scaled_dot_product_attention(x[0], x[1], x[2], NULL, true, 0)));
}
static tg_tensor *c_attention_mask(tg_tensor **x) {
    double values[15];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) values[i * 5 + j] = 0.1 * (i - j);
    values[4] = values[8] = -INFINITY;
    tg_tensor *constant = tg_from_doubles(TG_F64, 2, (int64_t[]){3, 5}, values);
    tg_tensor *mask = tg_mul_scalar(constant, 1.0); /* on the tape, as c_softmax_ce's labels */
    tg_free(constant);
    return tg_sum(tg_tanh(tg_scaled_dot_product_attention(x[0], x[1], x[2], mask, false, 0.5)));
}
/* The activations with closed forms in torch: exact and tanh GELU, SiLU. */
static tg_tensor *c_gelu_forms(tg_tensor **x) {
    return tg_sum(tg_add(tg_mul(tg_gelu(x[0]), x[1]), tg_mul(tg_gelu_tanh(x[0]), tg_silu(x[1]))));
}

/* Constant indices on the tape (int64, through tg_to_dtype), kept for backward. */
static tg_tensor *tape_indices(int rank, const int64_t *shape, const double *values) {
    tg_tensor *p = tg_from_doubles(TG_F64, rank, shape, values);
    tg_tensor *i = tg_to_dtype(p, TG_I64);
    tg_free(p);
    return i;
}
static tg_tensor *c_indexing(tg_tensor **x) {
    tg_tensor *rows = tg_index_select(x[0], 0, tape_indices(1, (int64_t[]){5}, (double[]){3, 0, 3, 1, 3})); /* (5,4) */
    tg_tensor *g = tg_gather(x[0], 1, tape_indices(2, (int64_t[]){2, 3}, (double[]){0, 3, 3, 2, 1, 2}));    /* (2,3) */
    tg_tensor *e = tg_embedding(x[1], tape_indices(2, (int64_t[]){2, 2}, (double[]){2, 0, 2, 2}));        /* (2,2,3) */
    tg_tensor *added = tg_index_add(x[0], 1, tape_indices(1, (int64_t[]){3}, (double[]){1, 1, 0}), tg_slice(x[2], 1, 0, 3));
    tg_tensor *scattered = tg_scatter_add(x[2], 0, tape_indices(2, (int64_t[]){1, 4}, (double[]){1, 0, 3, 3}), tg_slice(x[0], 0, 0, 1));
    return tg_add(tg_add(tg_sum(tg_tanh(rows)), tg_sum(tg_mul(g, g))),
                  tg_add(tg_sum(tg_sigmoid(e)), tg_add(tg_sum(tg_exp(added)), tg_sum(tg_mul(scattered, scattered)))));
}

static tg_tensor *c_masks(tg_tensor **x) {
    tg_tensor *m = tg_gt(x[0], x[1]);                                   /* (3,4) vs (4): constant */
    tg_tensor *filled = tg_masked_fill(x[0], tg_le(x[1], tg_mul_scalar(x[1], 0.5)), -2.0);
    return tg_add(tg_sum(tg_add(tg_mul(m, tg_exp(x[0])), tg_mul(filled, filled))), tg_sum(tg_mul(x[1], x[1])));
}

static tg_tensor *c_cross_entropy_ex(tg_tensor **x) {
    tg_tensor *labels = tg_from_array(TG_I64, 1, (int64_t[]){5}, (int64_t[]){3, -100, 0, 3, 1});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 0.1;
    tg_tensor *smoothed = tg_cross_entropy_loss_ex(x[0], labels, &o);
    tg_tensor *l32 = tg_from_array(TG_I32, 1, (int64_t[]){5}, (int32_t[]){2, 2, 1, 0, 3});
    tg_tensor *plain = tg_cross_entropy_loss(x[0], l32);
    tg_free(labels), tg_free(l32); /* read during the calls only */
    return tg_add(smoothed, plain);
}

static const oracle_case cases[] = {
    {"cross_entropy_ex", 1, {2}, {{5, 4}}, c_cross_entropy_ex,
     "F = torch.nn.functional\n"
     "out = F.cross_entropy(x0, torch.tensor([3, -100, 0, 3, 1]), label_smoothing=0.1) + "
     "F.cross_entropy(x0, torch.tensor([2, 2, 1, 0, 3], dtype=torch.int32).long())"},
    {"masks", 2, {2, 1}, {{3, 4}, {4}}, c_masks,
     "m = (x0 > x1).double()\n"
     "filled = x0.masked_fill(x1 <= x1 * 0.5, -2.0)\n"
     "out = (m * torch.exp(x0) + filled * filled).sum() + (x1 * x1).sum()"},
    {"indexing", 3, {2, 2, 2}, {{4, 4}, {3, 3}, {4, 4}}, c_indexing,
     "rows = torch.index_select(x0, 0, torch.tensor([3, 0, 3, 1, 3]))\n"
     "g = torch.gather(x0, 1, torch.tensor([[0, 3, 3], [2, 1, 2]]))\n"
     "e = torch.nn.functional.embedding(torch.tensor([[2, 0], [2, 2]]), x1)\n"
     "added = x0.index_add(1, torch.tensor([1, 1, 0]), x2[:, 0:3])\n"
     "scattered = x2.scatter_add(0, torch.tensor([[1, 0, 3, 3]]), x0[0:1])\n"
     "out = torch.tanh(rows).sum() + (g * g).sum() + torch.sigmoid(e).sum() + torch.exp(added).sum() + "
     "(scattered * scattered).sum()"},
    {"softmax_ce", 1, {2}, {{4, 5}}, c_softmax_ce,
     "y = torch.zeros(4, 5, dtype=torch.float64); y[[0,1,2,3],[1,4,0,2]] = 1\n"
     "out = -(y * torch.log_softmax(x0, 1)).sum(1).mean()"},
    {"broadcast_mix", 2, {3, 2}, {{3, 1, 4}, {2, 1}}, c_broadcast_mix,
     "out = (torch.exp(x0 * x1) / (torch.abs(x0 - x1) + 1)).sum()"},
    {"batched_matmul", 2, {4, 3}, {{2, 1, 2, 3}, {3, 3, 2}}, c_batched_matmul,
     "out = torch.tanh(x0 @ x1).pow(2).mean()"},
    {"matmul_transposes", 3, {2, 2, 2}, {{3, 4}, {3, 2}, {5, 2}}, c_matmul_transposes,
     "out = torch.sigmoid((x0.T @ x1) @ x2.T).sum()"},
    {"shape_ops", 1, {3}, {{2, 3, 4}}, c_shape_ops,
     "p = x0.permute(2, 0, 1)[:, :, 1:3]\n"
     "padded = torch.nn.functional.pad(p, (0, 0, 0, 0, 1, 0))\n"
     "r = torch.cat([padded, padded * 2], 1).reshape(10, -1)\n"
     "out = (r * r.sum(0, keepdim=True)).sum()"},
    {"reductions", 1, {2}, {{3, 5}}, c_reductions,
     "m = x0.max(1, keepdim=True).values\n"
     "mean = (torch.clamp(x0, -0.7, 0.9) * m).mean(0)\n"
     "out = torch.sqrt(mean * mean + 0.5).sum() + x0.max()"},
    {"softmax_log", 2, {2, 2}, {{3, 4}, {3, 4}}, c_softmax_log,
     "out = (torch.log(torch.softmax(x0, 0) + 0.1) * torch.relu(x1)).sum()"},
    {"gelu_forms_torch", 2, {2, 2}, {{3, 4}, {3, 4}}, c_gelu_forms,
     "F = torch.nn.functional\n"
     "out = (F.gelu(x0) * x1 + F.gelu(x0, approximate='tanh') * F.silu(x1)).sum()"},
    {"attention_causal_torch", 3, {4, 4, 4}, {{2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}}, c_attention_causal,
     "s = x0 @ x1.transpose(-2, -1) / 2.0\n"
     "s = s.masked_fill(~torch.ones(3, 5, dtype=torch.bool).tril(), float('-inf'))\n"
     "out = torch.tanh(torch.softmax(s, -1) @ x2).sum()"},
    {"attention_mask_torch", 3, {4, 4, 4}, {{2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}}, c_attention_mask,
     "i = torch.arange(3, dtype=torch.float64).reshape(3, 1); j = torch.arange(5, dtype=torch.float64)\n"
     "m = 0.1 * (i - j); m[0, 4] = float('-inf'); m[1, 3] = float('-inf')\n"
     "out = torch.tanh(torch.softmax(0.5 * (x0 @ x1.transpose(-2, -1)) + m, -1) @ x2).sum()"},
};

static bool have_torch(void) {
    if (access(PYTHON, X_OK) != 0) return false;
    return system(PYTHON " -c 'import torch' >/dev/null 2>&1") == 0;
}

static void write_tensor(FILE *f, const tg_tensor *t) {
    fprintf(f, "torch.tensor([");
    for (int64_t i = 0; i < t->numel; i++) fprintf(f, "%.17g,", tg_get_flat(t, i));
    fprintf(f, "], dtype=torch.float64).reshape([");
    for (int d = 0; d < t->rank; d++) fprintf(f, "%lld,", (long long)t->shape[d]);
    fprintf(f, "]).requires_grad_()");
}

static void check_against_torch(const oracle_case *c, uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    tg_tensor *x[MAX_INPUTS];
    for (int i = 0; i < c->n_inputs; i++) {
        x[i] = tg_rand_uniform(&rng, TG_F64, c->rank[i], c->shape[i], -1.5, 1.5);
        tg_set_requires_grad(x[i], true);
    }
    tg_tensor *out = c->apply(x);
    cr_assert_not_null(out);
    cr_assert_eq(tg_backward(out, NULL), TG_OK);

    char script[] = "/tmp/tg_oracle_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import torch\n");
    for (int i = 0; i < c->n_inputs; i++) {
        fprintf(f, "x%d = ", i);
        write_tensor(f, x[i]);
        fprintf(f, "\n");
    }
    fprintf(f, "%s\nout.backward()\nprint(repr(out.item()))\n", c->torch);
    for (int i = 0; i < c->n_inputs; i++) fprintf(f, "print(' '.join(repr(v) for v in x%d.grad.flatten().tolist()))\n", i);
    fclose(f);

    char command[256];
    snprintf(command, sizeof command, PYTHON " %s 2>&1", script);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    double torch_out;
    cr_assert_eq(fscanf(p, "%lf", &torch_out), 1, "%s: torch printed no value", c->name);
    cr_assert(fabs(torch_out - tg_item(out)) <= 1e-10 * fmax(1, fabs(torch_out)), "%s: value tapegrad %.17g torch %.17g",
              c->name, tg_item(out), torch_out);
    for (int i = 0; i < c->n_inputs; i++)
        for (int64_t k = 0; k < x[i]->numel; k++) {
            double want;
            cr_assert_eq(fscanf(p, "%lf", &want), 1, "%s: torch gave too few gradient entries", c->name);
            double got = tg_get_flat(tg_grad(x[i]), k);
            cr_assert(fabs(got - want) <= 1e-10 * fmax(1, fabs(want)), "%s: d/dx%d[%lld]: tapegrad %.17g torch %.17g",
                      c->name, i, (long long)k, got, want);
        }
    pclose(p);
    unlink(script);
    for (int i = 0; i < c->n_inputs; i++) tg_free(x[i]);
    tg_tape_reset(tg_tape_current());
}

Test(torch_oracle, gradients_agree_with_torch_autograd) {
    if (!have_torch()) cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch' failed); apt-get install python3-torch");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_against_torch(&cases[i], 1000 * (i + 1));
}
