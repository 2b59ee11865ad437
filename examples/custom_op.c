/* examples/custom_op.c — a user-defined op whose forward kernel runs on the
 * library's own kernels.
 *
 * The op is PyTorch's "linear": y = x W^T + b, with the weight stored
 * (out_features, in_features). Built-in ops already express it,
 * tg_add(tg_matmul_t(x, false, w, true), b), in two nodes; as one op it takes
 * one node, and its forward is one GEMM (tapegrad/kernels.h): the bias is
 * copied into the output's rows first (split over the thread pool with
 * tg_parallel_items, tapegrad/threads.h), then tg_gemm adds x W^T to it
 * (beta = 1), reading W transposed in place. The backward rule is written
 * with ops, as every rule is (op.h), so gradients of gradients still work:
 *
 *   dx = g W        dW = g^T x        db = sum of g over the batch
 *
 * The program gradchecks the op in float64 (every Jacobian entry, and the
 * second derivative through the rule) and compares it with the two-op
 * version in float32 on MNIST-sized shapes (a batch of 64, 784 -> 256).
 *
 *   build/examples/custom_op
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tapegrad.h"

/* ---- forward: out = b (each row), then out += x W^T ---- */

typedef struct bias_rows {
    const tg_tensor *bias;
    tg_tensor *out;
} bias_rows;

/* Copies the bias into rows [begin, end) of the output. */
static void copy_bias_rows(void *ctx, int64_t begin, int64_t end) {
    const bias_rows *job = ctx;
    int64_t n = job->bias->numel;
    size_t elem = job->out->dtype == TG_F64 ? sizeof(double) : sizeof(float);
    for (int64_t r = begin; r < end; r++)
        memcpy((char *)job->out->data + (size_t)(r * n) * elem, job->bias->data, (size_t)n * elem);
}

static void linear_forward(const tg_node *node) {
    const tg_tensor *x = node->inputs[0], *w = node->inputs[1];
    tg_tensor *out = node->output;
    int64_t batch = x->shape[0], in = x->shape[1], features = w->shape[0];
    bias_rows job = {node->inputs[2], out};
    tg_parallel_items(batch, (double)features, copy_bias_rows, &job); /* cost: a row's copies */
    if (out->dtype == TG_F64)
        tg_gemm_f64(false, true, batch, features, in, 1.0, x->data, in, w->data, in, 1.0, out->data, features);
    else
        tg_gemm_f32(false, true, batch, features, in, 1.0f, x->data, in, w->data, in, 1.0f, out->data, features);
}

/* ---- backward, from ops ---- */
static void linear_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->inputs[2];
    if (x->requires_grad) grad_inputs[0] = tg_matmul(g, w);
    if (w->requires_grad) grad_inputs[1] = tg_matmul_t(g, true, x, false);
    if (b->requires_grad) grad_inputs[2] = tg_sum_axes(g, 1, (int[]){0}, false);
}

static const tg_op linear_op = {"linear", 3, linear_forward, linear_backward};

/* The public function: check the arguments, then let tg_op_apply allocate,
 * run and record. The kernel reads the data as row-major arrays, which is how
 * tensors are stored (tensor.h). */
static tg_tensor *linear(tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    const char *function = "linear";
    if (!x || !w || !b) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", !x ? "x" : !w ? "w" : "b");
        return NULL;
    }
    if (x->dtype != w->dtype || x->dtype != b->dtype) {
        tg_error_report(TG_ERR_DTYPE, function, "x, w and b must share a dtype: %s, %s, %s", tg_dtype_name(x->dtype),
                        tg_dtype_name(w->dtype), tg_dtype_name(b->dtype));
        return NULL;
    }
    if (x->rank != 2 || w->rank != 2 || b->rank != 1 || x->shape[1] != w->shape[1] || b->shape[0] != w->shape[0]) {
        char sx[160], sw[160], sb[160];
        tg_error_report(TG_ERR_SHAPE, function, "x %s, w %s, b %s: want (batch, in), (out, in), (out)",
                        tg_shape_string(sx, sizeof sx, x->rank, x->shape),
                        tg_shape_string(sw, sizeof sw, w->rank, w->shape),
                        tg_shape_string(sb, sizeof sb, b->rank, b->shape));
        return NULL;
    }
    int64_t shape[2] = {x->shape[0], w->shape[0]};
    tg_tensor *inputs[3] = {x, w, b};
    return tg_op_apply(&linear_op, inputs, 3, NULL, x->dtype, 2, shape);
}

/* The same function from built-in ops, for comparison. */
static tg_tensor *linear_from_ops(tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    return tg_add(tg_matmul_t(x, false, w, true), b);
}

/* ---- checks ---- */

static tg_tensor *check_linear(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    return linear(in[0], in[1], in[2]);
}

/* The gradient with respect to x of sum(linear(x, w, b)^2), kept on the tape
 * (create_graph), so that gradcheck differentiates the backward rule itself. */
static tg_tensor *check_linear_second(tg_tensor *const *in, int n, void *ctx) {
    (void)n, (void)ctx;
    tg_tensor *y = linear(in[0], in[1], in[2]), *grad = NULL;
    if (tg_gradients(tg_sum(tg_mul(y, y)), NULL, 1, (tg_tensor **)&in[0], &grad, true) != TG_OK) return NULL;
    return grad;
}

static bool report(const char *what, tg_gradcheck_fn f, tg_tensor *const *inputs) {
    tg_gradcheck_result result;
    char line[256];
    if (tg_gradcheck(f, NULL, 3, inputs, NULL, &result) != TG_OK) {
        printf("  %-30s could not run: %s\n", what, tg_last_error_message());
        return false;
    }
    printf("  %-30s %s\n", what, tg_gradcheck_describe(&result, line, sizeof line));
    return result.passed;
}

int main(void) {
    tg_rng rng = tg_rng_seeded(7);
    bool ok = true;

    printf("gradcheck of the linear op, float64 (tape against central differences):\n");
    tg_tensor *in[3] = {tg_gradcheck_input(&rng, 2, (int64_t[]){5, 7}, -1, 1, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 2, (int64_t[]){4, 7}, -1, 1, 0, NULL, 0),
                        tg_gradcheck_input(&rng, 1, (int64_t[]){4}, -1, 1, 0, NULL, 0)};
    ok &= report("every Jacobian entry", check_linear, in);
    ok &= report("2nd derivative (d/dx of dL/dx)", check_linear_second, in);
    for (int i = 0; i < 3; i++) tg_free(in[i]);

    /* MNIST-sized: a batch of 64 through a 784 -> 256 layer, float32. */
    const int64_t batch = 64, n_in = 784, n_out = 256;
    tg_tensor *x = tg_rand_uniform(&rng, TG_F32, 2, (int64_t[]){batch, n_in}, 0, 1);
    tg_tensor *w = tg_rand_uniform(&rng, TG_F32, 2, (int64_t[]){n_out, n_in}, -0.05, 0.05);
    tg_tensor *b = tg_rand_uniform(&rng, TG_F32, 1, (int64_t[]){n_out}, -0.1, 0.1);
    tg_set_requires_grad(w, true), tg_set_requires_grad(b, true);

    tg_tape *tape = tg_tape_current();
    tg_tensor *y_op = linear(x, w, b);
    size_t nodes_op = tg_tape_num_nodes(tape);
    tg_tensor *y_ops = linear_from_ops(x, w, b);
    size_t nodes_ops = tg_tape_num_nodes(tape) - nodes_op;
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < y_op->numel; i++) {
        worst = fmax(worst, fabs(tg_get_flat(y_op, i) - tg_get_flat(y_ops, i)));
        scale = fmax(scale, fabs(tg_get_flat(y_ops, i)));
    }
    tg_tape_reset(tape);
    printf("\n(64, 784) x (256, 784)^T + b, float32: op vs built-in ops, largest difference %.1e (of values up to "
           "%.1f; the bias enters the sum first), %zu node vs %zu\n",
           worst, scale, nodes_op, nodes_ops);
    ok &= worst <= 1e-5 * scale;

    tg_free(x), tg_free(w), tg_free(b);
    printf("\n%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
}
