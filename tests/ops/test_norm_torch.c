/* tests/ops/test_norm_torch.c — layer, batch and group norm against
 * torch.nn.functional (float64): the value of a scalar built on each, every
 * input's gradient, and batch norm's running statistics after a training
 * step, all to 1e-10. Skipped, with the reason, when Debian's python3 with
 * torch is not installed (apt-get install python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ops/norm_internal.h"
#include "tapegrad.h"

#define PYTHON "/usr/bin/python3"
#define MAX_INPUTS 3
#define MAX_EXTRAS 2

typedef struct norm_oracle_case {
    const char *name;
    int n_inputs;
    int rank[MAX_INPUTS];
    int64_t shape[MAX_INPUTS][4];
    /* Builds the scalar from x (fused when `fused`); fills extras (persistent
     * tensors the caller frees) to compare after the call. */
    tg_tensor *(*apply)(tg_tensor **x, bool fused, tg_tensor **extras);
    int n_extras;
    const char *torch; /* Python: inputs x0, x1, ...; F = torch.nn.functional; sets `out` and `extras` */
} norm_oracle_case;

static tg_tensor *cube_sum(tg_tensor *y) { return tg_sum(tg_pow(y, 3.0)); }

static tg_tensor *c_layer_norm(tg_tensor **x, bool fused, tg_tensor **extras) {
    (void)extras;
    return cube_sum(fused ? tg_layer_norm(x[0], 2, x[1], x[2], 1e-5)
                          : tg_layer_norm_composed(x[0], 2, x[1], x[2], 1e-5));
}
static tg_tensor *c_layer_norm_plain(tg_tensor **x, bool fused, tg_tensor **extras) {
    (void)extras;
    return cube_sum(fused ? tg_layer_norm(x[0], 1, NULL, NULL, 1e-3)
                          : tg_layer_norm_composed(x[0], 1, NULL, NULL, 1e-3));
}

/* A training step from running (0.1, -0.2, 0.3), (1, 2, 0.5), then an
 * evaluation with the updated statistics. */
static tg_tensor *c_batch_norm_step(tg_tensor **x, bool fused, tg_tensor **extras) {
    tg_tensor *rm = extras[0] = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, (double[]){0.1, -0.2, 0.3});
    tg_tensor *rv = extras[1] = tg_from_doubles(TG_F64, 1, (int64_t[]){3}, (double[]){1, 2, 0.5});
    tg_tensor *(*bn)(tg_tensor *, tg_tensor *, tg_tensor *, tg_tensor *, tg_tensor *, bool, double, double) =
        fused ? tg_batch_norm : tg_batch_norm_composed;
    tg_tensor *train = bn(x[0], x[1], x[2], rm, rv, true, 0.1, 1e-5);
    tg_tensor *eval = bn(x[0], x[1], x[2], rm, rv, false, 0.1, 1e-5);
    return tg_add(cube_sum(train), tg_sum(tg_mul(eval, eval)));
}
static tg_tensor *c_batch_norm_2d(tg_tensor **x, bool fused, tg_tensor **extras) {
    (void)extras;
    return cube_sum(fused ? tg_batch_norm(x[0], x[1], NULL, NULL, NULL, true, 0.5, 1e-5)
                          : tg_batch_norm_composed(x[0], x[1], NULL, NULL, NULL, true, 0.5, 1e-5));
}
static tg_tensor *c_group_norm(tg_tensor **x, bool fused, tg_tensor **extras) {
    (void)extras;
    return cube_sum(fused ? tg_group_norm(x[0], 3, x[1], x[2], 1e-5)
                          : tg_group_norm_composed(x[0], 3, x[1], x[2], 1e-5));
}

static const norm_oracle_case cases[] = {
    {"layer_norm (3,4,5) over (4,5), affine", 3, {3, 2, 2}, {{3, 4, 5}, {4, 5}, {4, 5}}, c_layer_norm, 0,
     "out = F.layer_norm(x0, (4, 5), x1, x2, 1e-5).pow(3).sum()"},
    {"layer_norm (5,7), no affine, eps 1e-3", 1, {2}, {{5, 7}}, c_layer_norm_plain, 0,
     "out = F.layer_norm(x0, (7,), None, None, 1e-3).pow(3).sum()"},
    {"batch_norm (4,3,5,2) step and eval", 3, {4, 1, 1}, {{4, 3, 5, 2}, {3}, {3}}, c_batch_norm_step, 2,
     "rm = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)\n"
     "rv = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)\n"
     "train = F.batch_norm(x0, rm, rv, x1, x2, True, 0.1, 1e-5)\n"
     "ev = F.batch_norm(x0, rm, rv, x1, x2, False, 0.1, 1e-5)\n"
     "out = train.pow(3).sum() + (ev * ev).sum()\n"
     "extras = [rm, rv]"},
    {"batch_norm (6,4), weight only", 2, {2, 1}, {{6, 4}, {4}}, c_batch_norm_2d, 0,
     "out = F.batch_norm(x0, None, None, x1, None, True, 0.5, 1e-5).pow(3).sum()"},
    {"group_norm (2,6,3,3) in 3 groups", 3, {4, 1, 1}, {{2, 6, 3, 3}, {6}, {6}}, c_group_norm, 0,
     "out = F.group_norm(x0, 3, x1, x2, 1e-5).pow(3).sum()"},
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

static void expect_close_to(double got, double want, const char *name, const char *what, long long k) {
    cr_assert(fabs(got - want) <= 1e-10 * fmax(1, fabs(want)), "%s: %s[%lld]: tapegrad %.17g torch %.17g", name, what,
              k, got, want);
}

/* One case's inputs and tapegrad's results, fused and composed. */
typedef struct case_run {
    tg_tensor *x[MAX_INPUTS];
    double out[2];
    tg_tensor *grads[2][MAX_INPUTS], *extras[2][MAX_EXTRAS];
} case_run;

static void run_case(const norm_oracle_case *c, uint64_t seed, case_run *run) {
    tg_rng rng = tg_rng_seeded(seed);
    for (int i = 0; i < c->n_inputs; i++) {
        run->x[i] = tg_rand_uniform(&rng, TG_F64, c->rank[i], c->shape[i], -1.5, 1.5);
        tg_set_requires_grad(run->x[i], true);
    }
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < c->n_inputs; i++) tg_set_grad_to_none(run->x[i]);
        run->extras[v][0] = run->extras[v][1] = NULL;
        tg_tensor *out = c->apply(run->x, v == 0, run->extras[v]);
        cr_assert_not_null(out, "%s: %s", c->name, tg_last_error_message());
        cr_assert_eq(tg_backward(out, NULL), TG_OK, "%s: %s", c->name, tg_last_error_message());
        run->out[v] = tg_item(out);
        for (int i = 0; i < c->n_inputs; i++) run->grads[v][i] = tg_clone(tg_grad(run->x[i]));
        tg_tape_reset(tg_tape_current());
    }
}

/* The case's torch code, printing the value, every input's gradient and the
 * extras, one line each. */
static void write_case(FILE *f, const norm_oracle_case *c, const case_run *run) {
    fprintf(f, "extras = []\n");
    for (int i = 0; i < c->n_inputs; i++) {
        fprintf(f, "x%d = ", i);
        write_tensor(f, run->x[i]);
        fprintf(f, "\n");
    }
    fprintf(f, "%s\nout.backward()\nprint(repr(out.item()))\n", c->torch);
    for (int i = 0; i < c->n_inputs; i++)
        fprintf(f, "print(' '.join(repr(v) for v in x%d.grad.flatten().tolist()))\n", i);
    fprintf(f, "for e in extras: print(' '.join(repr(v) for v in e.flatten().tolist()))\n");
}

/* Reads one case's numbers and compares both variants with them. */
static void compare_case(FILE *p, const norm_oracle_case *c, const case_run *run) {
    int n_numbers = 1;
    for (int i = 0; i < c->n_inputs; i++) n_numbers += (int)run->x[i]->numel;
    for (int e = 0; e < c->n_extras; e++) n_numbers += (int)run->extras[0][e]->numel;
    double *want = malloc((size_t)n_numbers * sizeof *want);
    cr_assert_not_null(want);
    for (int k = 0; k < n_numbers; k++)
        cr_assert_eq(fscanf(p, "%lf", &want[k]), 1, "%s: torch gave too few numbers", c->name);
    for (int v = 0; v < 2; v++) {
        const char *variant = v == 0 ? "fused" : "composed";
        char what[64];
        int at = 0;
        snprintf(what, sizeof what, "%s value", variant);
        expect_close_to(run->out[v], want[at++], c->name, what, 0);
        for (int i = 0; i < c->n_inputs; i++) {
            snprintf(what, sizeof what, "%s d/dx%d", variant, i);
            for (int64_t k = 0; k < run->x[i]->numel; k++)
                expect_close_to(tg_get_flat(run->grads[v][i], k), want[at++], c->name, what, k);
        }
        for (int e = 0; e < c->n_extras; e++) {
            snprintf(what, sizeof what, "%s running statistic %d", variant, e);
            for (int64_t k = 0; k < run->extras[v][e]->numel; k++)
                expect_close_to(tg_get_flat(run->extras[v][e], k), want[at++], c->name, what, k);
        }
    }
    free(want);
}

static void free_run(case_run *run) {
    for (int i = 0; i < MAX_INPUTS; i++) {
        tg_free(run->x[i]);
        for (int v = 0; v < 2; v++) tg_free(run->grads[v][i]);
    }
    for (int v = 0; v < 2; v++)
        for (int e = 0; e < MAX_EXTRAS; e++) tg_free(run->extras[v][e]);
}

#define N_CASES (sizeof cases / sizeof cases[0])

/* All cases in one Python run (importing torch takes seconds). */
Test(norm_torch, norms_agree_with_torch_functional) {
    if (!have_torch())
        cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch' failed); apt-get install python3-torch");
    case_run runs[N_CASES] = {0};
    for (size_t i = 0; i < N_CASES; i++) run_case(&cases[i], 500 + i, &runs[i]);

    char script[] = "/tmp/tg_norm_oracle_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import torch\nF = torch.nn.functional\n");
    for (size_t i = 0; i < N_CASES; i++) write_case(f, &cases[i], &runs[i]);
    fclose(f);

    char command[256];
    snprintf(command, sizeof command, PYTHON " %s 2>&1", script);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    for (size_t i = 0; i < N_CASES; i++) compare_case(p, &cases[i], &runs[i]);
    pclose(p);
    unlink(script);
    for (size_t i = 0; i < N_CASES; i++) free_run(&runs[i]);
}
