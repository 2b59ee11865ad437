/* tests/core/test_torch_conv.c — convolution and pooling against PyTorch's
 * torch.nn.functional on the same data (float64): the forward values and the
 * gradients of every input (x, weight, bias) for a random output seed must
 * agree to 1e-10. Skipped, with the reason, when Debian's python3 with torch
 * is not installed (apt-get install python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"

#define PYTHON "/usr/bin/python3"
#define MAX_INPUTS 3

typedef struct conv_case {
    const char *name;
    int n_inputs;
    int rank[MAX_INPUTS];
    int64_t shape[MAX_INPUTS][4];
    tg_tensor *(*apply)(tg_tensor **x);
    const char *torch; /* Python: inputs x0, x1, ...; F is torch.nn.functional; sets `y` */
} conv_case;

static tg_tensor *c_conv2d_bias(tg_tensor **x) { return tg_conv2d(x[0], x[1], x[2], NULL); }
static tg_tensor *c_conv2d_lenet1(tg_tensor **x) {
    tg_conv2d_opts o = tg_conv2d_options(1, 2, 1, 1);
    return tg_conv2d(x[0], x[1], x[2], &o);
}
static tg_tensor *c_conv2d_strided_asymmetric(tg_tensor **x) {
    tg_conv2d_opts o = {2, 3, 1, 2, 0, 1, 1, 2, 1}; /* stride (2,3), pads t1 b2 l0 r1, dilation (1,2) */
    return tg_conv2d(x[0], x[1], x[2], &o);
}
static tg_tensor *c_conv2d_groups_dilated(tg_tensor **x) {
    tg_conv2d_opts o = tg_conv2d_options(1, 2, 2, 2);
    return tg_conv2d(x[0], x[1], NULL, &o);
}
static tg_tensor *c_conv2d_depthwise(tg_tensor **x) {
    tg_conv2d_opts o = tg_conv2d_options(2, 1, 1, 4);
    return tg_conv2d(x[0], x[1], x[2], &o);
}

static tg_tensor *c_conv1d(tg_tensor **x) {
    tg_conv1d_opts o = {2, 2, 1, 2, 2}; /* stride 2, pads 2 and 1, dilation 2, groups 2 */
    return tg_conv1d(x[0], x[1], x[2], &o);
}
static tg_tensor *c_conv_transpose2d(tg_tensor **x) {
    tg_conv_transpose2d_opts o = {2, 3, 1, 1, 2, 2, 1, 2, 1, 1, 1};
    return tg_conv_transpose2d(x[0], x[1], x[2], &o);
}
static tg_tensor *c_conv_transpose2d_groups_dilated(tg_tensor **x) {
    tg_conv_transpose2d_opts o = {1, 2, 0, 0, 1, 1, 0, 1, 2, 2, 2};
    return tg_conv_transpose2d(x[0], x[1], NULL, &o);
}
static tg_tensor *c_max_pool2d(tg_tensor **x) { return tg_max_pool2d(x[0], 3, 2, 1); }
static tg_tensor *c_max_pool2d_lenet(tg_tensor **x) { return tg_max_pool2d(x[0], 2, 2, 0); }
static tg_tensor *c_avg_pool2d(tg_tensor **x) { return tg_avg_pool2d(x[0], 3, 2, 1); }
static tg_tensor *c_adaptive_avg_pool2d(tg_tensor **x) { return tg_adaptive_avg_pool2d(x[0], 4, 3); }
static tg_tensor *c_global_avg_pool(tg_tensor **x) { return tg_flatten(tg_adaptive_avg_pool2d(x[0], 1, 1), 1, -1); }

static const conv_case cases[] = {
    {"conv2d + bias", 3, {4, 4, 1}, {{2, 3, 7, 6}, {5, 3, 3, 2}, {5}}, c_conv2d_bias, "y = F.conv2d(x0, x1, x2)"},
    {"conv2d LeNet 1->6 5x5 pad 2", 3, {4, 4, 1}, {{3, 1, 12, 12}, {6, 1, 5, 5}, {6}}, c_conv2d_lenet1,
     "y = F.conv2d(x0, x1, x2, padding=2)"},
    {"conv2d stride (2,3), pads t1 b2 l0 r1, dilation (1,2)", 3, {4, 4, 1}, {{2, 3, 9, 11}, {4, 3, 3, 2}, {4}},
     c_conv2d_strided_asymmetric, "y = F.conv2d(F.pad(x0, (0, 1, 1, 2)), x1, x2, stride=(2, 3), dilation=(1, 2))"},
    {"conv2d groups 2, dilation 2, padding 2", 2, {4, 4}, {{2, 4, 7, 8}, {6, 2, 3, 3}}, c_conv2d_groups_dilated,
     "y = F.conv2d(x0, x1, None, padding=2, dilation=2, groups=2)"},
    {"conv2d depthwise x2, stride 2, padding 1", 3, {4, 4, 1}, {{2, 4, 9, 8}, {8, 1, 3, 3}, {8}}, c_conv2d_depthwise,
     "y = F.conv2d(x0, x1, x2, stride=2, padding=1, groups=4)"},
    {"conv1d stride 2, pads 2 and 1, dilation 2, groups 2", 3, {3, 3, 1}, {{2, 4, 13}, {6, 2, 3}, {6}}, c_conv1d,
     "y = F.conv1d(F.pad(x0, (2, 1)), x1, x2, stride=2, dilation=2, groups=2)"},
    {"conv_transpose2d stride (2,3), padding (1,2), output_padding (1,2)", 3, {4, 4, 1},
     {{2, 3, 4, 5}, {3, 5, 3, 4}, {5}}, c_conv_transpose2d,
     "y = F.conv_transpose2d(x0, x1, x2, stride=(2, 3), padding=(1, 2), output_padding=(1, 2))"},
    {"conv_transpose2d groups 2, dilation 2, output_padding (0,1)", 2, {4, 4}, {{2, 4, 5, 4}, {4, 3, 3, 2}},
     c_conv_transpose2d_groups_dilated,
     "y = F.conv_transpose2d(x0, x1, None, stride=(1, 2), padding=(0, 1), output_padding=(0, 1), groups=2, "
     "dilation=2)"},
    {"max_pool2d kernel 3, stride 2, padding 1", 1, {4}, {{2, 3, 9, 8}}, c_max_pool2d,
     "y = F.max_pool2d(x0, 3, 2, 1)"},
    {"max_pool2d 2x2 (LeNet)", 1, {4}, {{2, 3, 8, 7}}, c_max_pool2d_lenet, "y = F.max_pool2d(x0, 2)"},
    {"avg_pool2d kernel 3, stride 2, padding 1", 1, {4}, {{2, 3, 9, 8}}, c_avg_pool2d,
     "y = F.avg_pool2d(x0, 3, 2, 1)"},
    {"adaptive_avg_pool2d (7,5) to (4,3)", 1, {4}, {{2, 3, 7, 5}}, c_adaptive_avg_pool2d,
     "y = F.adaptive_avg_pool2d(x0, (4, 3))"},
    {"global average pool, flattened", 1, {4}, {{2, 3, 6, 5}}, c_global_avg_pool,
     "y = torch.flatten(F.adaptive_avg_pool2d(x0, 1), 1)"},
};

static bool have_torch(void) {
    if (access(PYTHON, X_OK) != 0) return false;
    return system(PYTHON " -c 'import torch' >/dev/null 2>&1") == 0;
}

static void write_tensor(FILE *f, const tg_tensor *t, bool requires_grad) {
    fprintf(f, "torch.tensor([");
    for (int64_t i = 0; i < t->numel; i++) fprintf(f, "%.17g,", tg_get_flat(t, i));
    fprintf(f, "], dtype=torch.float64).reshape([");
    for (int d = 0; d < t->rank; d++) fprintf(f, "%lld,", (long long)t->shape[d]);
    fprintf(f, "])%s", requires_grad ? ".requires_grad_()" : "");
}

static void expect_close(const conv_case *c, const char *what, int64_t k, double got, double want) {
    cr_assert(fabs(got - want) <= 1e-10 * fmax(1, fabs(want)), "%s: %s[%lld]: tapegrad %.17g torch %.17g", c->name,
              what, (long long)k, got, want);
}

/* One case as tapegrad ran it: the inputs, the output and its seed gradient. */
typedef struct case_run {
    tg_tensor *x[MAX_INPUTS], *y, *seed_grad;
} case_run;

/* Runs the case in tapegrad and appends its torch version to the script. */
static void run_case(const conv_case *c, uint64_t seed, case_run *run, FILE *f) {
    tg_rng rng = tg_rng_seeded(seed);
    for (int i = 0; i < c->n_inputs; i++) {
        run->x[i] = tg_rand_uniform(&rng, TG_F64, c->rank[i], c->shape[i], -1.5, 1.5);
        tg_set_requires_grad(run->x[i], true);
    }
    run->y = c->apply(run->x);
    cr_assert_not_null(run->y, "%s: %s", c->name, tg_last_error_message());
    run->seed_grad = tg_rand_uniform(&rng, TG_F64, run->y->rank, run->y->shape, -1, 1);
    cr_assert_eq(tg_backward(run->y, run->seed_grad), TG_OK, "%s: %s", c->name, tg_last_error_message());
    for (int i = 0; i < c->n_inputs; i++) {
        fprintf(f, "x%d = ", i);
        write_tensor(f, run->x[i], true);
        fprintf(f, "\n");
    }
    fprintf(f, "g = ");
    write_tensor(f, run->seed_grad, false);
    fprintf(f, "\n%s\nprint(list(y.shape))\nprint(' '.join(repr(v) for v in y.flatten().tolist()))\ny.backward(g)\n",
            c->torch);
    for (int i = 0; i < c->n_inputs; i++) fprintf(f, "print(' '.join(repr(v) for v in x%d.grad.flatten().tolist()))\n", i);
}

/* Reads the case's shape line, output and gradients from torch and compares. */
static void compare_case(const conv_case *c, const case_run *run, FILE *p) {
    const tg_tensor *y = run->y;
    char shape_line[256] = "", want_shape[256];
    cr_assert_eq(fscanf(p, " "), 0);
    cr_assert_not_null(fgets(shape_line, sizeof shape_line, p), "%s: torch printed nothing", c->name);
    int used = snprintf(want_shape, sizeof want_shape, "[");
    for (int d = 0; d < y->rank; d++)
        used += snprintf(want_shape + used, sizeof want_shape - (size_t)used, "%s%lld", d ? ", " : "",
                         (long long)y->shape[d]);
    snprintf(want_shape + used, sizeof want_shape - (size_t)used, "]\n");
    cr_assert_str_eq(shape_line, want_shape, "%s: torch's shape %s, tapegrad's %s", c->name, shape_line, want_shape);
    for (int64_t k = 0; k < y->numel; k++) {
        double want;
        cr_assert_eq(fscanf(p, "%lf", &want), 1, "%s: torch gave too few output entries", c->name);
        expect_close(c, "y", k, tg_get_flat(y, k), want);
    }
    for (int i = 0; i < c->n_inputs; i++)
        for (int64_t k = 0; k < run->x[i]->numel; k++) {
            double want;
            cr_assert_eq(fscanf(p, "%lf", &want), 1, "%s: torch gave too few gradient entries", c->name);
            char what[16];
            snprintf(what, sizeof what, "d/dx%d", i);
            expect_close(c, what, k, tg_get_flat(tg_grad(run->x[i]), k), want);
        }
}

#define N_CASES (sizeof cases / sizeof cases[0])

/* Every case in one Python run (starting torch takes seconds). */
Test(torch_conv, forward_and_gradients_agree_with_torch_functional) {
    if (!have_torch()) cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch' failed); apt-get install python3-torch");
    char script[] = "/tmp/tg_torch_conv_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import torch\nimport torch.nn.functional as F\n");
    case_run runs[N_CASES];
    for (size_t i = 0; i < N_CASES; i++) run_case(&cases[i], 5000 + 10 * i, &runs[i], f);
    fclose(f);

    char command[256];
    snprintf(command, sizeof command, PYTHON " %s 2>&1", script);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    for (size_t i = 0; i < N_CASES; i++) compare_case(&cases[i], &runs[i], p);
    pclose(p);
    unlink(script);
    for (size_t i = 0; i < N_CASES; i++) {
        for (int k = 0; k < cases[i].n_inputs; k++) tg_free(runs[i].x[k]);
        tg_free(runs[i].seed_grad);
    }
    tg_tape_reset(tg_tape_current());
}
