/* ops/attention.c — scaled dot-product attention, fused and composed.
 *
 *   S = scale Q K^T + mask (+ -inf above the diagonal when causal)
 *   P = softmax(S) along the key axis        out = P V
 *
 * q (..., T, d), k (..., S, d), v (..., S, dv) -> (..., T, dv), the leading
 * (batch, head) axes equal in all three, as PyTorch's
 * F.scaled_dot_product_attention. The causal mask keeps key j for query i
 * when j <= i (PyTorch's tril(ones(T, S)), aligned at the top left).
 *
 * The fused forward never forms the (T, S) matrix: each thread takes a block
 * of query rows of one (batch, head), walks the keys block by block, and
 * keeps a running maximum m and sum l per row (the online softmax of
 * FlashAttention), rescaling its partial output by e^(m_old - m_new). The
 * partial output lives in the op's output itself, so the only scratch is a
 * stack tile of QUERY_BLOCK x KEY_BLOCK scores; products of tiles go through
 * the packed GEMM, reading q, k and v of each head in place.
 *
 * The backward rule recomputes P with ops (the composed form's first half)
 * and applies softmax's rule:
 *   dV = P^T G   dP = G V^T   dS = P (dP - sum_j dP P)   dQ = scale dS K
 *   dK = scale dS^T Q   dmask = dS summed to the mask's shape
 * so it is differentiable again; it holds one (T, S) matrix per head. */
#include <math.h>
#include <string.h>

#include "ops/kernels/vmath.h"
#include "ops/op_internal.h"
#include "ops/strided.h"
#include "tapegrad/kernels.h"

#define QUERY_BLOCK 64
#define KEY_BLOCK 64
#define TG_ATTR_CAUSAL 1

/* Strides (elements, 0 along broadcast axes) of the mask seen at the shape
 * of the scores (lead..., T, S); `lead_shape` splits a flat (batch, head)
 * index into coordinates. */
typedef struct attention_job {
    const tg_tensor *q, *k, *v, *mask;
    tg_tensor *out;
    int n_lead;
    int64_t lead_shape[TG_MAX_RANK];
    int64_t mask_lead_stride[TG_MAX_RANK];
    int64_t mask_row_stride, mask_col_stride;
    int64_t t, s, d, dv, query_blocks;
    double scale;
    bool causal;
} attention_job;

/* Offset of batch-head `bh`'s (T, S) slab of the mask. */
static int64_t mask_offset(const attention_job *job, int64_t bh) {
    int64_t offset = 0;
    for (int a = job->n_lead - 1; a >= 0; a--) {
        offset += (bh % job->lead_shape[a]) * job->mask_lead_stride[a];
        bh /= job->lead_shape[a];
    }
    return offset;
}

#define DEFINE_ATTENTION_KERNEL(T, SFX)                                                                     \
    /* One block of query rows [r0, r0 + rows) of batch-head bh. */                                        \
    TG_HOT_CLONES static void attention_block_##SFX(const attention_job *job, int64_t bh, int64_t r0, int64_t rows) {    \
        const int64_t t = job->t, s = job->s, d = job->d, dv = job->dv;                                     \
        const T *q = (const T *)job->q->data + (bh * t + r0) * d;                                           \
        const T *k = (const T *)job->k->data + bh * s * d;                                                  \
        const T *v = (const T *)job->v->data + bh * s * dv;                                                 \
        const T *mask = job->mask ? (const T *)job->mask->data + mask_offset(job, bh) : NULL;              \
        T *o = (T *)job->out->data + (bh * t + r0) * dv;                                                    \
        T tile[QUERY_BLOCK * KEY_BLOCK];                                                                    \
        double m[QUERY_BLOCK], l[QUERY_BLOCK];                                                              \
        for (int64_t i = 0; i < rows; i++) {                                                                \
            m[i] = -INFINITY, l[i] = 0.0;                                                                   \
            for (int64_t c = 0; c < dv; c++) o[i * dv + c] = 0;                                             \
        }                                                                                                   \
        /* Causal: keys past the block's last row are masked for every row. */                            \
        int64_t key_end = job->causal && r0 + rows < s ? r0 + rows : s;                                     \
        for (int64_t c0 = 0; c0 < key_end; c0 += KEY_BLOCK) {                                               \
            int64_t cols = key_end - c0 < KEY_BLOCK ? key_end - c0 : KEY_BLOCK;                             \
            tg_gemm_##SFX(false, true, rows, cols, d, (T)job->scale, q, d, k + c0 * d, d, 0, tile, cols);   \
            for (int64_t i = 0; i < rows; i++) {                                                            \
                T *row = tile + i * cols;                                                                   \
                if (mask)                                                                                   \
                    for (int64_t j = 0; j < cols; j++)                                                      \
                        row[j] += mask[(r0 + i) * job->mask_row_stride + (c0 + j) * job->mask_col_stride];  \
                if (job->causal)                                                                            \
                    for (int64_t j = r0 + i + 1 - c0 < 0 ? 0 : r0 + i + 1 - c0; j < cols; j++)              \
                        row[j] = (T)-INFINITY;                                                              \
                double m_new = m[i];                                                                        \
                for (int64_t j = 0; j < cols; j++)                                                          \
                    if ((double)row[j] > m_new || isnan(row[j])) m_new = row[j];                            \
                if (m_new == -INFINITY) { /* nothing unmasked yet: no weight */                            \
                    for (int64_t j = 0; j < cols; j++) row[j] = 0;                                          \
                    continue;                                                                               \
                }                                                                                           \
                double rescale = exp(m[i] - m_new), sum = 0.0;                                              \
                TG_FOR_SIMD(j, 0, cols, row[j] = (T)tg_vm_exp((double)row[j] - m_new));                     \
                for (int64_t j = 0; j < cols; j++) sum += (double)row[j];                                   \
                l[i] = l[i] * rescale + sum;                                                                \
                m[i] = m_new;                                                                               \
                if (rescale != 1.0)                                                                         \
                    for (int64_t c = 0; c < dv; c++) o[i * dv + c] = (T)(o[i * dv + c] * rescale);          \
            }                                                                                               \
            tg_gemm_##SFX(false, false, rows, dv, cols, 1, tile, cols, v + c0 * dv, dv, 1, o, dv);          \
        }                                                                                                   \
        /* A row with every key masked is NaN, as softmax of all -inf is. */                               \
        for (int64_t i = 0; i < rows; i++) {                                                                \
            double inv = l[i] > 0 ? 1.0 / l[i] : NAN;                                                       \
            for (int64_t c = 0; c < dv; c++) o[i * dv + c] = (T)(o[i * dv + c] * inv);                      \
        }                                                                                                   \
    }
DEFINE_ATTENTION_KERNEL(float, f32)
DEFINE_ATTENTION_KERNEL(double, f64)

/* Items are (batch-head, query block) pairs. */
static void attention_range(void *ctx, int64_t begin, int64_t end) {
    const attention_job *job = ctx;
    for (int64_t item = begin; item < end; item++) {
        int64_t bh = item / job->query_blocks, r0 = (item % job->query_blocks) * QUERY_BLOCK;
        int64_t rows = job->t - r0 < QUERY_BLOCK ? job->t - r0 : QUERY_BLOCK;
        if (job->out->dtype == TG_F32)
            attention_block_f32(job, bh, r0, rows);
        else
            attention_block_f64(job, bh, r0, rows);
    }
}

static void attention_forward(const tg_node *node) {
    const tg_tensor *q = node->inputs[0], *k = node->inputs[1], *v = node->inputs[2];
    attention_job job = {.q = q, .k = k, .v = v, .mask = node->n_inputs > 3 ? node->inputs[3] : NULL,
                         .out = node->output, .n_lead = q->rank - 2, .scale = node->attrs.scalar[0],
                         .causal = (node->attrs.flags & TG_ATTR_CAUSAL) != 0};
    job.t = q->shape[q->rank - 2], job.d = q->shape[q->rank - 1];
    job.s = k->shape[k->rank - 2], job.dv = v->shape[v->rank - 1];
    int64_t heads = 1;
    for (int a = 0; a < job.n_lead; a++) heads *= job.lead_shape[a] = q->shape[a];
    if (job.mask) { /* aligned at the right with the scores (lead..., T, S) */
        const tg_tensor *mask = job.mask;
        int skip = q->rank - mask->rank;
        for (int a = 0; a < q->rank; a++) {
            int64_t stride = a < skip || mask->shape[a - skip] == 1 ? 0 : mask->strides[a - skip];
            if (a < job.n_lead)
                job.mask_lead_stride[a] = stride;
            else if (a == job.n_lead)
                job.mask_row_stride = stride;
            else
                job.mask_col_stride = stride;
        }
    }
    job.query_blocks = (job.t + QUERY_BLOCK - 1) / QUERY_BLOCK;
    if (heads * job.query_blocks == 0) return;
    double cost = (double)QUERY_BLOCK * (double)job.s * (double)(2 * job.d + 2 * job.dv + 20);
    tg_parallel_items(heads * job.query_blocks, cost, attention_range, &job);
}

/* The (T, S) additive causal bias, 0 on and below the diagonal and -inf
 * above, as a constant on `tape`. */
static tg_tensor *causal_bias(tg_tape *tape, tg_dtype dtype, int64_t t, int64_t s) {
    tg_tensor *bias = tgi_tape_new_tensor(tape, "tg_scaled_dot_product_attention", dtype, 2, (int64_t[]){t, s});
    if (!bias) return NULL;
    for (int64_t i = 0; i < t; i++)
        for (int64_t j = 0; j < s; j++) tg_store(bias, i * s + j, j <= i ? 0.0 : -INFINITY);
    return bias;
}

/* P = softmax(scale Q K^T + mask + causal bias) with ops. */
static tg_tensor *attention_weights(tg_tensor *q, tg_tensor *k, tg_tensor *mask, bool causal, double scale) {
    tg_tensor *scores = tg_mul_scalar(tg_matmul_t(q, false, k, true), scale);
    if (mask) scores = tg_add(scores, mask);
    if (causal && scores) {
        tg_tape *tape = scores->tape ? scores->tape : tg_tape_current();
        scores = tg_add(scores, causal_bias(tape, q->dtype, q->shape[q->rank - 2], k->shape[k->rank - 2]));
    }
    return tg_softmax(scores, -1);
}

static void attention_backward(const tg_node *node, tg_tensor *g, tg_tensor **grad_inputs) {
    tg_tensor *q = node->inputs[0], *k = node->inputs[1], *v = node->inputs[2];
    tg_tensor *mask = node->n_inputs > 3 ? node->inputs[3] : NULL;
    double scale = node->attrs.scalar[0];
    tg_tensor *p = attention_weights(q, k, mask, (node->attrs.flags & TG_ATTR_CAUSAL) != 0, scale);
    if (v->requires_grad) grad_inputs[2] = tg_matmul_t(p, true, g, false);
    if (!q->requires_grad && !k->requires_grad && !(mask && mask->requires_grad)) return;
    tg_tensor *grad_scores = tgi_softmax_grad(tg_matmul_t(g, false, v, true), p, p ? p->rank - 1 : 0);
    if (q->requires_grad) grad_inputs[0] = tg_mul_scalar(tg_matmul(grad_scores, k), scale);
    if (k->requires_grad) grad_inputs[1] = tg_mul_scalar(tg_matmul_t(grad_scores, true, q, false), scale);
    if (mask && mask->requires_grad) grad_inputs[3] = tgi_reduce_grad_to(grad_scores, mask);
}

const tg_op tg_op_attention = {"attention", -1, attention_forward, attention_backward};

/* Shapes, dtypes and scale, reported under tg_scaled_dot_product_attention;
 * *scale becomes the default 1/sqrt(d) when given as 0. */
static tg_status check_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *mask, double *scale) {
    const char *function = "tg_scaled_dot_product_attention";
    if (tg_tensor_check(function, "q", q) != TG_OK || tg_tensor_check(function, "k", k) != TG_OK ||
        tg_tensor_check(function, "v", v) != TG_OK || (mask && tg_tensor_check(function, "mask", mask) != TG_OK))
        return tg_last_error();
    if (k->dtype != q->dtype || v->dtype != q->dtype || (mask && mask->dtype != q->dtype))
        return tg_error_report(TG_ERR_DTYPE, function, "dtypes differ: q %s, k %s, v %s, mask %s",
                               tg_dtype_name(q->dtype), tg_dtype_name(k->dtype), tg_dtype_name(v->dtype),
                               mask ? tg_dtype_name(mask->dtype) : "none");
    char qs[128], ks[128], vs[128];
    tg_shape_string(qs, sizeof qs, q->rank, q->shape);
    tg_shape_string(ks, sizeof ks, k->rank, k->shape);
    tg_shape_string(vs, sizeof vs, v->rank, v->shape);
    int r = q->rank;
    bool same_lead = k->rank == r && v->rank == r;
    for (int a = 0; same_lead && a < r - 2; a++) same_lead = k->shape[a] == q->shape[a] && v->shape[a] == q->shape[a];
    if (r < 2 || !same_lead || k->shape[r - 1] != q->shape[r - 1] || v->shape[r - 2] != k->shape[r - 2])
        return tg_error_report(TG_ERR_SHAPE, function,
                               "shapes q %s, k %s, v %s do not fit (..., T, d), (..., S, d), (..., S, dv) "
                               "with equal leading axes",
                               qs, ks, vs);
    if (q->shape[r - 1] == 0 || k->shape[r - 2] == 0)
        return tg_error_report(TG_ERR_SHAPE, function, "q %s, k %s: head size d and key count S must be >= 1", qs,
                               ks);
    if (mask) {
        int64_t scores[TG_MAX_RANK], joint[TG_MAX_RANK];
        for (int a = 0; a < r - 1; a++) scores[a] = q->shape[a];
        scores[r - 1] = k->shape[r - 2];
        int joint_rank = 0;
        bool fits = mask->rank <= r &&
                    tg_try_broadcast_shape(mask->rank, mask->shape, r, scores, &joint_rank, joint) &&
                    memcmp(joint, scores, sizeof(int64_t) * (size_t)r) == 0;
        if (!fits) {
            char ms[128], ss[128];
            tg_shape_string(ms, sizeof ms, mask->rank, mask->shape);
            tg_shape_string(ss, sizeof ss, r, scores);
            return tg_error_report(TG_ERR_SHAPE, function, "mask %s does not broadcast to the scores' shape %s", ms,
                                   ss);
        }
    }
    if (!isfinite(*scale))
        return tg_error_report(TG_ERR_ARGUMENT, function, "scale must be finite (0 for 1/sqrt(d)), got %g", *scale);
    if (*scale == 0) *scale = 1.0 / sqrt((double)q->shape[r - 1]);
    return TG_OK;
}

tg_tensor *tg_scaled_dot_product_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *mask,
                                           bool is_causal, double scale) {
    if (check_attention(q, k, v, mask, &scale) != TG_OK) return NULL;
    tg_op_attrs attrs = tgi_no_attrs;
    attrs.scalar[0] = scale;
    attrs.flags = is_causal ? TG_ATTR_CAUSAL : 0;
    int64_t shape[TG_MAX_RANK];
    memcpy(shape, q->shape, sizeof(int64_t) * (size_t)q->rank);
    shape[q->rank - 1] = v->shape[v->rank - 1];
    tg_tensor *inputs[4] = {q, k, v, mask};
    return tg_op_apply(&tg_op_attention, inputs, mask ? 4 : 3, &attrs, q->dtype, q->rank, shape);
}

tg_tensor *tgi_attention_composed(tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *mask, bool is_causal,
                                 double scale) {
    if (check_attention(q, k, v, mask, &scale) != TG_OK) return NULL;
    return tg_matmul(attention_weights(q, k, mask, is_causal, scale), v);
}
