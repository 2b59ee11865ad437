/* ops/matmul.c — the (batched, broadcasting) matrix product.
 *
 *   C = op(A) @ op(B)      op(X) = X, or X with its last two axes swapped
 *
 * The last two axes of each operand are the matrices; the leading axes are
 * batch axes and broadcast like NumPy ((2,1,3,4) @ (5,4,6) -> (2,5,3,6); a
 * 2-D operand is shared by every batch). The forward loops over the batch
 * with one batched GEMM call (kernels/gemm.h) when the batch walk is one
 * strided axis (else one GEMM call per batch entry), or one GEMM in all when
 * a shared right operand lets the batch fold into the rows.
 * Transposed operands are read in place by the GEMM's trans flags, never
 * copied. The backward is itself a pair of matmul_t calls (below), summed
 * back over broadcast batch axes by tgi_reduce_grad_to. */
#include <stdio.h>
#include <string.h>

#include "core/backward_internal.h"
#include "ops/kernels/gemm.h"
#include "ops/op_internal.h"
#include "ops/strided.h"

/* The matrix part of an operand as op() sees it. */
typedef struct matrix_dims {
    int64_t rows, cols; /* of op(X)                              */
    int64_t ld;         /* row stride of X as stored (its last size) */
} matrix_dims;

static matrix_dims dims_of(const tg_tensor *x, bool transposed) {
    int64_t r = x->shape[x->rank - 2], c = x->shape[x->rank - 1];
    matrix_dims d = {transposed ? c : r, transposed ? r : c, c};
    return d;
}

/* True when every batch axis of x has size 1 (or x has none): one matrix. */
static bool one_matrix(const tg_tensor *x) {
    for (int i = 0; i < x->rank - 2; i++)
        if (x->shape[i] != 1) return false;
    return true;
}

/* The operands of the batch walk. */
enum { BATCH_A, BATCH_B };

/* C = op(A) op(B) + beta C, beta 0 (a new product) or 1 (summed into C). */
static void gemm_beta(tg_dtype dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,
                      int64_t off_a, int64_t lda, const void *b, int64_t off_b, int64_t ldb, double beta, void *c,
                      int64_t off_c, int64_t ldc) {
    if (dtype == TG_F32)
        tg_gemm_f32(ta, tb, m, n, k, 1.0f, (const float *)a + off_a, lda, (const float *)b + off_b, ldb,
                    (float)beta, (float *)c + off_c, ldc);
    else
        tg_gemm_f64(ta, tb, m, n, k, 1.0, (const double *)a + off_a, lda, (const double *)b + off_b, ldb, beta,
                    (double *)c + off_c, ldc);
}

static void gemm(tg_dtype dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t off_a,
                 int64_t lda, const void *b, int64_t off_b, int64_t ldb, void *c, int64_t off_c, int64_t ldc) {
    gemm_beta(dtype, ta, tb, m, n, k, a, off_a, lda, b, off_b, ldb, 0.0, c, off_c, ldc);
}

static void matmul_forward(const tg_node *node) {
    const tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    tg_tensor *out = node->output;
    bool ta = node->attrs.flags & TG_ATTR_TRANSPOSE_A, tb = node->attrs.flags & TG_ATTR_TRANSPOSE_B;
    matrix_dims da = dims_of(a, ta), db = dims_of(b, tb);
    int64_t m = da.rows, k = da.cols, n = db.cols;
    if (k == 0) { /* an empty sum: zeros (and A, B, possibly empty, are never touched) */
        memset(out->data, 0, (size_t)out->numel * tg_dtype_size(out->dtype));
        return;
    }
    int batch_rank = out->rank - 2;
    int64_t batches = out->numel / (m * n); /* out->numel > 0 here, so m, n > 0 */

    /* B shared by the whole batch and A neither transposed nor broadcast: the
     * batch is just more rows of A, so (batches*m, k) @ B is one GEMM (the
     * usual x @ W of a linear layer, and the best case for the GEMM's blocking). */
    bool a_full = !ta && a->rank - 2 == batch_rank;
    for (int i = 0; a_full && i < batch_rank; i++) a_full = a->shape[i] == out->shape[i];
    if (a_full && one_matrix(b)) {
        gemm(out->dtype, false, tb, batches * m, n, k, a->data, 0, da.ld, b->data, 0, db.ld, out->data, 0, n);
        return;
    }

    /* One GEMM per batch entry, A and B read at their broadcast batch offsets. */
    tg_strided batch;
    tg_strided_init(&batch, batch_rank, out->shape);
    tg_strided_set_broadcast(&batch, BATCH_A, a->rank - 2, a->shape, a->strides);
    tg_strided_set_broadcast(&batch, BATCH_B, b->rank - 2, b->shape, b->strides);
    tg_strided_collapse(&batch);
    if (batch.rank <= 1) { /* one strided batch axis: one batched GEMM call */
        int64_t sa = batch.rank ? batch.stride[0][BATCH_A] : 0, sb = batch.rank ? batch.stride[0][BATCH_B] : 0;
        if (out->dtype == TG_F32)
            tg_gemm_batch_f32(ta, tb, m, n, k, 1.0f, a->data, da.ld, sa, b->data, db.ld, sb, 0.0f, out->data, n,
                              m * n, batches);
        else
            tg_gemm_batch_f64(ta, tb, m, n, k, 1.0, a->data, da.ld, sa, b->data, db.ld, sb, 0.0, out->data, n,
                              m * n, batches);
        return;
    }
    for (int64_t i = 0; i < batches; i++, tg_strided_step(&batch))
        gemm(out->dtype, ta, tb, m, n, k, a->data, batch.offset[BATCH_A], da.ld, b->data, batch.offset[BATCH_B], db.ld,
             out->data, i * m * n, n);
}

/* acc += op(x) op(y), or acc = op(x) op(y) when it holds no gradient yet
 * (overwrite), for matrices (rank 2, no batch axes). */
static void matmul_t_into(tg_tensor *acc, bool overwrite, const tg_tensor *x, bool tx, const tg_tensor *y, bool ty) {
    matrix_dims dx = dims_of(x, tx), dy = dims_of(y, ty);
    gemm_beta(acc->dtype, tx, ty, dx.rows, dy.cols, dx.cols, x->data, 0, dx.ld, y->data, 0, dy.ld, overwrite ? 0.0 : 1.0,
              acc->data, 0, dy.cols);
}

/* With A' = op(A), B' = op(B) and C = A' B', the gradients of the matrices as
 * used are dA' = G B'^T and dB' = A'^T G; a transposed operand takes the
 * transpose of its gradient ((X Y)^T = Y^T X^T):
 *   C = A B:      dA = G B^T  = mt(G,F,B,T)    dB = A^T G  = mt(A,T,G,F)
 *   C = A^T B:    dA = B G^T  = mt(B,F,G,T)    dB = A G    = mt(A,F,G,F)
 *   C = A B^T:    dA = G B    = mt(G,F,B,F)    dB = G^T A  = mt(G,T,A,F)
 *   C = A^T B^T:  dA = B^T G^T = mt(B,T,G,T)   dB = G^T A^T = mt(G,T,A,T)
 * Each product comes out with the broadcast batch shape; tgi_reduce_grad_to
 * sums it back to the operand's own batch shape. */
static void matmul_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *a = node->inputs[0], *b = node->inputs[1];
    bool ta = node->attrs.flags & TG_ATTR_TRANSPOSE_A, tb = node->attrs.flags & TG_ATTR_TRANSPOSE_B;
    /* A weight's gradient goes straight into its .grad when the pass allows
     * it (core/backward_internal.h); the same products as below. */
    bool matrices = a->rank == 2 && b->rank == 2;
    bool overwrite = false;
    if (a->requires_grad) {
        tg_tensor *acc = matrices ? tgi_backward_accumulator(node, 0, &overwrite) : NULL;
        if (acc && ta)
            matmul_t_into(acc, overwrite, b, tb, g, true);
        else if (acc)
            matmul_t_into(acc, overwrite, g, false, b, !tb);
        else
            grad_inputs[0] = tgi_reduce_grad_to(ta ? tg_matmul_t(b, tb, g, true) : tg_matmul_t(g, false, b, !tb), a);
    }
    if (b->requires_grad) {
        tg_tensor *acc = matrices ? tgi_backward_accumulator(node, 1, &overwrite) : NULL;
        if (acc && tb)
            matmul_t_into(acc, overwrite, g, true, a, ta);
        else if (acc)
            matmul_t_into(acc, overwrite, a, !ta, g, false);
        else
            grad_inputs[1] = tgi_reduce_grad_to(tb ? tg_matmul_t(g, true, a, ta) : tg_matmul_t(a, !ta, g, false), b);
    }
}

const tg_op tg_op_matmul = {"matmul", 2, matmul_forward, matmul_backward};

/* "(3,4)" or, for a transposed operand, "(4,3)^T" (the shape as given). */
static const char *operand_string(char *buf, size_t size, const tg_tensor *x, bool transposed) {
    tg_shape_string(buf, size, x->rank, x->shape);
    if (transposed) {
        size_t used = strlen(buf);
        if (used < size) snprintf(buf + used, size - used, "^T");
    }
    return buf;
}

static tg_tensor *apply_matmul(const char *function, tg_tensor *a, bool ta, tg_tensor *b, bool tb) {
    if (tg_check_binary(function, a, b) != TG_OK) return NULL;
    char sa[176], sb[176];
    operand_string(sa, sizeof sa, a, ta);
    operand_string(sb, sizeof sb, b, tb);
    if (a->rank < 2 || b->rank < 2) {
        tg_error_report(TG_ERR_SHAPE, function,
                        "operands must have rank >= 2, got %s @ %s (reshape a vector to (1,k) or (k,1))", sa, sb);
        return NULL;
    }
    matrix_dims da = dims_of(a, ta), db = dims_of(b, tb);
    if (da.cols != db.rows) {
        tg_error_report(TG_ERR_SHAPE, function, "inner dimensions differ: %s @ %s", sa, sb);
        return NULL;
    }
    /* The batch axes broadcast; the output is batch shape + (m, n). */
    int batch_rank;
    int64_t shape[TG_MAX_RANK];
    if (!tg_try_broadcast_shape(a->rank - 2, a->shape, b->rank - 2, b->shape, &batch_rank, shape)) {
        tg_error_report(TG_ERR_SHAPE, function, "batch dimensions do not broadcast: %s @ %s", sa, sb);
        return NULL;
    }
    shape[batch_rank] = da.rows;
    shape[batch_rank + 1] = db.cols;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.flags = (ta ? TG_ATTR_TRANSPOSE_A : 0) | (tb ? TG_ATTR_TRANSPOSE_B : 0);
    tg_tensor *inputs[2] = {a, b};
    return tg_op_apply(&tg_op_matmul, inputs, 2, &attrs, a->dtype, batch_rank + 2, shape);
}

tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b) { return apply_matmul("tg_matmul", a, false, b, false); }

tg_tensor *tg_matmul_t(tg_tensor *a, bool transpose_a, tg_tensor *b, bool transpose_b) {
    return apply_matmul("tg_matmul_t", a, transpose_a, b, transpose_b);
}
