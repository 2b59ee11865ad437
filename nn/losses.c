/* nn/losses.c — losses as compositions of ops; each returns a rank-0 tape
 * tensor, the mean over the elements (or, for cross-entropy, the samples). */
#include <math.h>

#include "tapegrad/tensor.h"
#include "nn/nn_internal.h"
#include "tapegrad/nn.h"
#include "tapegrad/ops.h"

/* A prediction and a target must agree exactly: a (n,1) prediction against
 * an (n) target would otherwise broadcast to (n,n) and average the wrong
 * thing without a word. */
static tg_status check_pair(const char *function, const char *name_a, const tg_tensor *a, const char *name_b,
                            const tg_tensor *b) {
    tg_status s = tg_tensor_check(function, name_a, a);
    if (s == TG_OK) s = tg_tensor_check(function, name_b, b);
    if (s != TG_OK) return s;
    if (a->tape && b->tape && a->tape != b->tape)
        return tg_error_report(TG_ERR_TAPE, function, "%s and %s belong to different tapes", name_a, name_b);
    if (a->dtype != b->dtype)
        return tg_error_report(TG_ERR_DTYPE, function, "dtypes differ: %s %s, %s %s (convert with tg_to_dtype)",
                               name_a, tg_dtype_name(a->dtype), name_b, tg_dtype_name(b->dtype));
    if (!tg_same_shape(a, b)) {
        char sa[160], sb[160];
        return tg_error_report(TG_ERR_SHAPE, function, "shapes differ: %s %s, %s %s (reshape one of them)", name_a,
                               tg_shape_string(sa, sizeof sa, a->rank, a->shape), name_b,
                               tg_shape_string(sb, sizeof sb, b->rank, b->shape));
    }
    if (a->numel == 0) return tg_error_report(TG_ERR_SHAPE, function, "the mean of zero elements is undefined");
    return TG_OK;
}

/* mean((pred - target)^2) */
tg_tensor *tg_mse_loss(tg_tensor *pred, tg_tensor *target) {
    if (check_pair("tg_mse_loss", "pred", pred, "target", target) != TG_OK) return NULL;
    tg_tensor *d = tg_sub(pred, target);
    return tg_mean(tg_mul(d, d));
}

/* max(log p, -100), the clamp of PyTorch's BCELoss: a p of exactly 0 (a
 * saturated sigmoid; float32's is exactly 1 for z > ~17) costs 100, not inf.
 * With the constant mask keep = [p != 0] (never recorded), it is
 *     keep * clamp(log(p + 1 - keep), -100, inf) - 100 (1 - keep),
 * so no op ever computes log 0. A plain clamp(log p, -100, 0) would put a
 * -inf on the tape (anomaly mode stops there) and its gradient would be
 * NaN: log's rule divides the clamp's zero gradient by p = 0. Here the
 * gradient is 1/p where log p > -100 and 0 where the clamp or the mask
 * holds the value; for p in (0, 1) the value and gradient are log p and 1/p
 * to the bit (the mask is 1 and the added 1 - keep is 0). hi is +inf, not
 * 0, so the gradient at p = 1 is 1, not the clamp's 0 at its bound. A NaN p
 * stays NaN (0 * NaN), and so does a negative one (log of it). */
static tg_tensor *log_clamped_at_minus_100(tg_tensor *p) {
    tg_tensor *keep = tg_add(tg_gt_scalar(p, 0.0), tg_lt_scalar(p, 0.0));
    tg_tensor *is_zero = tg_add_scalar(tg_neg(keep), 1.0);
    tg_tensor *log_p = tg_clamp(tg_log(tg_add(p, is_zero)), -100.0, INFINITY);
    return tg_sub(tg_mul(keep, log_p), tg_mul_scalar(is_zero, 100.0));
}

/* The first index of a p outside [0, 1] (NaN included), or -1. One pass,
 * cheaper than the loss itself: a p out of range is a wrong input (an
 * activation that is not a probability), whose loss would be NaN or
 * meaningless without a word. */
static int64_t first_outside_0_1(const tg_tensor *p) {
    if (p->dtype == TG_F32) {
        const float *v = p->data;
        for (int64_t i = 0; i < p->numel; i++)
            if (!(v[i] >= 0.0f && v[i] <= 1.0f)) return i;
    } else {
        const double *v = p->data;
        for (int64_t i = 0; i < p->numel; i++)
            if (!(v[i] >= 0.0 && v[i] <= 1.0)) return i;
    }
    return -1;
}

/* mean(-(y log p + (1 - y) log(1 - p))), op for op as the seed articles
 * write it, so that after p = sigmoid(z) the tape gives their closed form
 * dL/dz = (p - y) / m; each log is clamped at -100 (above). */
tg_tensor *tg_bce_loss(tg_tensor *prob, tg_tensor *target) {
    if (check_pair("tg_bce_loss", "prob", prob, "target", target) != TG_OK) return NULL;
    int64_t bad = first_outside_0_1(prob);
    if (bad >= 0) {
        double p = tg_get_flat(prob, bad);
        char shape[160];
        /* NaN and Inf are numeric trouble upstream, a finite p outside
         * [0, 1] is a wrong kind of input (logits, not probabilities). */
        tg_error_report(isfinite(p) ? TG_ERR_ARGUMENT : TG_ERR_NUMERIC, "tg_bce_loss",
                        "prob must be in [0, 1], got %g at index %lld of %s%s", isnan(p) ? NAN : p, /* not "-nan" */
                        (long long)bad,
                        tg_shape_string(shape, sizeof shape, prob->rank, prob->shape),
                        isfinite(p) ? " (logits? use tg_bce_with_logits_loss)" : "");
        return NULL;
    }
    tg_tensor *one_minus_y = tg_add_scalar(tg_neg(target), 1.0);
    tg_tensor *one_minus_p = tg_add_scalar(tg_neg(prob), 1.0);
    tg_tensor *log_likelihood = tg_add(tg_mul(target, log_clamped_at_minus_100(prob)),
                                       tg_mul(one_minus_y, log_clamped_at_minus_100(one_minus_p)));
    return tg_mean(tg_neg(log_likelihood));
}

/* Zeros of x's shape and dtype on the tape: a mask that is never 1 (x > +inf
 * is false for every x, NaN included; masks are never recorded). The
 * "otherwise 0" of a tg_where. */
static tg_tensor *tape_zeros_like(tg_tensor *x) { return tg_gt_scalar(x, INFINITY); }

/* 1 where w is exactly 0 (either sign), else 0; 0 for a NaN w, so a NaN
 * weight still reaches the loss. |w| < the smallest subnormal means w = 0
 * (float32 rounds that bound up to its own smallest subnormal). */
static tg_tensor *is_exactly_zero(tg_tensor *w) {
    const double smallest = 4.9406564584124654e-324;
    return tg_mul(tg_lt_scalar(w, smallest), tg_gt_scalar(w, -smallest));
}

/* w * f, or exactly 0 where the weight w is exactly 0, whatever f is there:
 * a term that does not count is selected away, not multiplied by 0 (f may be
 * +inf, and 0 * inf = NaN). */
static tg_tensor *weighted_term(tg_tensor *w, tg_tensor *f) {
    return tg_where(is_exactly_zero(w), tape_zeros_like(f), tg_mul(w, f));
}

/* mean(y softplus(-z) + (1 - y) softplus(z)): -(y log s + (1 - y) log(1 - s))
 * with s = sigmoid(z), since log s = -softplus(-z) and log(1 - s) =
 * -softplus(z). softplus never exponentiates a positive number, so z = +-1000
 * gives a finite loss and the gradient (sigmoid(z) - y) / m. Each term is
 * selected away where its weight is exactly 0, so an infinite logit whose
 * label agrees (z = -inf with y = 0, +inf with 1) costs 0 with gradient 0;
 * softplus(z) - z y would give -inf * 0 and inf - inf there, both NaN. */
tg_tensor *tg_bce_with_logits_loss(tg_tensor *logits, tg_tensor *target) {
    if (check_pair("tg_bce_with_logits_loss", "logits", logits, "target", target) != TG_OK) return NULL;
    tg_tensor *one_minus_y = tg_add_scalar(tg_neg(target), 1.0);
    tg_tensor *when_one = weighted_term(target, tg_softplus(tg_neg(logits)));
    tg_tensor *when_zero = weighted_term(one_minus_y, tg_softplus(logits));
    return tg_mean(tg_add(when_one, when_zero));
}

/* The labels as a one-hot tensor of logits' shape, on the tape.
 *
 * It has to live as long as the tape: the where that reads it keeps a
 * reference for its backward rule (d/dlog_probs = where(one_hot, g, 0)), so
 * a persistent tensor made and freed here would dangle, and one kept would
 * leak. So it is made on the tape: zeros (tape_zeros_like), whose label
 * entries are then set to 1 before any op reads it. It dies with the tape's
 * reset, like every other tensor of the loss, and costs no allocation from
 * the system once the tape has grown. */
static tg_tensor *tape_one_hot(tg_tensor *logits, const tg_tensor *labels) {
    tg_tensor *one_hot = tape_zeros_like(logits);
    if (!one_hot) return NULL;
    int64_t classes = logits->shape[1];
    for (int64_t row = 0; row < labels->numel; row++)
        tg_set_flat(one_hot, row * classes + (int64_t)tg_get_flat(labels, row), 1.0);
    return one_hot;
}

/* Labels must be exact class indices: a 2.5 or a -1 is a data bug, not
 * something to round. Shared with tg_accuracy (nn_internal.h). */
tg_status tgi_nn_check_labels(const char *function, const tg_tensor *scores, const char *scores_name,
                             const tg_tensor *labels) {
    char ss[160], sl[160];
    tg_status s = tg_tensor_check(function, scores_name, scores);
    if (s == TG_OK) s = tg_tensor_check(function, "labels", labels);
    if (s != TG_OK) return s;
    if (scores->rank != 2 || scores->shape[0] < 1 || scores->shape[1] < 1)
        return tg_error_report(TG_ERR_SHAPE, function, "%s must be (batch, classes) with both >= 1, got %s",
                               scores_name, tg_shape_string(ss, sizeof ss, scores->rank, scores->shape));
    if (labels->rank != 1 || labels->shape[0] != scores->shape[0])
        return tg_error_report(TG_ERR_SHAPE, function, "labels must have shape (%lld) for %s %s, got %s",
                               (long long)scores->shape[0], scores_name,
                               tg_shape_string(ss, sizeof ss, scores->rank, scores->shape),
                               tg_shape_string(sl, sizeof sl, labels->rank, labels->shape));
    int64_t classes = scores->shape[1];
    for (int64_t row = 0; row < labels->numel; row++) {
        double label = tg_get_flat(labels, row);
        if (!(label >= 0.0 && label < (double)classes && label == floor(label)))
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "label %g at row %lld is not a class index in 0..%lld", label, (long long)row,
                                   (long long)(classes - 1));
    }
    return TG_OK;
}

/* mean over rows of -log_softmax(logits)[label]: each row's label entry is
 * selected (where), not picked out by multiplying with the one-hot, so a
 * masked class (logit -inf, log-probability -inf) elsewhere in the row adds
 * nothing instead of 0 * -inf = NaN. Gradient at the logits:
 * (softmax(logits) - one_hot) / batch, exactly 0 at a -inf logit. */
tg_tensor *tg_cross_entropy_loss(tg_tensor *logits, const tg_tensor *labels) {
    if (tgi_nn_check_labels("tg_cross_entropy_loss", logits, "logits", labels) != TG_OK) return NULL;
    tg_tensor *log_probs = tg_log_softmax(logits, -1);
    tg_tensor *one_hot = tape_one_hot(logits, labels);
    tg_tensor *at_label = tg_where(one_hot, log_probs, tape_zeros_like(logits));
    tg_tensor *picked = tg_sum_axes(at_label, 1, (int[]){-1}, false);
    return tg_neg(tg_mean(picked));
}

tg_cross_entropy_options tg_cross_entropy_defaults(void) {
    tg_cross_entropy_options options = {-100, 0.0};
    return options;
}

/* The checks of tgi_nn_check_labels, where a row whose label is
 * `ignore_index` may hold any value; the number of other rows in *counted. */
static tg_status check_labels_ignoring(const char *function, const tg_tensor *logits, const tg_tensor *labels,
                                       int64_t ignore_index, int64_t *counted) {
    char sl[160], ss[160];
    tg_status s = tg_tensor_check(function, "logits", logits);
    if (s == TG_OK) s = tg_tensor_check(function, "labels", labels);
    if (s != TG_OK) return s;
    if (logits->rank != 2 || logits->shape[0] < 1 || logits->shape[1] < 1)
        return tg_error_report(TG_ERR_SHAPE, function, "logits must be (batch, classes) with both >= 1, got %s",
                               tg_shape_string(ss, sizeof ss, logits->rank, logits->shape));
    if (labels->rank != 1 || labels->shape[0] != logits->shape[0])
        return tg_error_report(TG_ERR_SHAPE, function, "labels must have shape (%lld) for logits %s, got %s",
                               (long long)logits->shape[0], tg_shape_string(ss, sizeof ss, logits->rank, logits->shape),
                               tg_shape_string(sl, sizeof sl, labels->rank, labels->shape));
    int64_t classes = logits->shape[1];
    *counted = 0;
    for (int64_t row = 0; row < labels->numel; row++) {
        double label = tg_get_flat(labels, row);
        if (label == (double)ignore_index) continue;
        if (!(label >= 0.0 && label < (double)classes && label == floor(label)))
            return tg_error_report(TG_ERR_ARGUMENT, function,
                                   "label %g at row %lld is not a class index in 0..%lld (nor ignore_index %lld)",
                                   label, (long long)row, (long long)(classes - 1), (long long)ignore_index);
        ++*counted;
    }
    return TG_OK;
}

/* PyTorch's F.cross_entropy(logits, labels, ignore_index, label_smoothing)
 * with reduction "mean", composed of ops: per counted row
 * (1 - e) nll + (e / classes) sum_c -log_softmax(logits)[c], summed and
 * divided by the number of counted rows. Ignored rows are selected away
 * (where), so their logits get exactly 0 gradient. */
tg_tensor *tg_cross_entropy_loss_ex(tg_tensor *logits, const tg_tensor *labels,
                                    const tg_cross_entropy_options *options) {
    const char *function = "tg_cross_entropy_loss_ex";
    tg_cross_entropy_options o = options ? *options : tg_cross_entropy_defaults();
    if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "label_smoothing must be in [0, 1], got %g", o.label_smoothing);
        return NULL;
    }
    int64_t counted;
    if (check_labels_ignoring(function, logits, labels, o.ignore_index, &counted) != TG_OK) return NULL;
    int64_t batch = logits->shape[0], classes = logits->shape[1];
    tg_tensor *log_probs = tg_log_softmax(logits, -1);
    tg_tensor *zeros = tape_zeros_like(logits);
    tg_tensor *one_hot = tape_zeros_like(logits);
    tg_tensor *row_zeros = tg_sum_axes(zeros, 1, (int[]){-1}, false);
    tg_tensor *counted_rows = tg_sum_axes(zeros, 1, (int[]){-1}, false);
    if (!log_probs || !one_hot || !counted_rows) return NULL;
    for (int64_t row = 0; row < batch; row++) {
        double label = tg_get_flat(labels, row);
        if (label == (double)o.ignore_index) continue;
        tg_set_flat(one_hot, row * classes + (int64_t)label, 1.0);
        tg_set_flat(counted_rows, row, 1.0);
    }
    tg_tensor *nll = tg_neg(tg_sum_axes(tg_where(one_hot, log_probs, zeros), 1, (int[]){-1}, false));
    tg_tensor *per_row = nll;
    if (o.label_smoothing > 0.0) {
        tg_tensor *all_classes = tg_neg(tg_sum_axes(log_probs, 1, (int[]){-1}, false));
        tg_tensor *smooth = tg_where(counted_rows, all_classes, row_zeros);
        per_row = tg_add(tg_mul_scalar(nll, 1.0 - o.label_smoothing),
                         tg_mul_scalar(smooth, o.label_smoothing / (double)classes));
    }
    tg_tensor *total = tg_sum(per_row);
    if (counted == 0) return tg_div(total, tg_sum(row_zeros)); /* 0 / 0: NaN, as PyTorch */
    return tg_mul_scalar(total, 1.0 / (double)counted);
}

/* With c = clamp(d, -delta, delta): 0.5 c^2 + delta (|d| - |c|). Inside
 * (|d| <= delta) c = d and the second term is exactly 0; outside, c = +-delta
 * and it is delta (|d| - 0.5 delta). No branch mask, nothing squared but the
 * clamped c (no overflow for huge d), and the gradient is d inside and
 * delta sign(d) outside, continuous at |d| = delta. */
tg_tensor *tg_huber_loss(tg_tensor *pred, tg_tensor *target, double delta) {
    const char *function = "tg_huber_loss";
    if (!(delta > 0.0) || !isfinite(delta)) {
        tg_error_report(TG_ERR_ARGUMENT, function, "delta must be finite and > 0, got %g", delta);
        return NULL;
    }
    if (check_pair(function, "pred", pred, "target", target) != TG_OK) return NULL;
    tg_tensor *d = tg_sub(pred, target);
    tg_tensor *c = tg_clamp(d, -delta, delta);
    tg_tensor *quadratic = tg_mul_scalar(tg_mul(c, c), 0.5);
    tg_tensor *linear = tg_mul_scalar(tg_sub(tg_abs(d), tg_abs(c)), delta);
    return tg_mean(tg_add(quadratic, linear));
}
