/* nn/metrics.c — accuracy, read straight from the values (no tape, no
 * gradient). Errors return NaN. */
#include <math.h>

#include "tapegrad/error.h"
#include "nn/nn_internal.h"
#include "tapegrad/nn.h"

/* Index of the first maximum of row `row`; a NaN counts as the maximum (the
 * first NaN wins), as numpy.argmax and tg_argmax_mask decide. */
static int64_t row_argmax(const tg_tensor *scores, int64_t row) {
    int64_t classes = scores->shape[1], best = 0;
    double best_value = tg_get_flat(scores, row * classes);
    for (int64_t c = 1; c < classes && !isnan(best_value); c++) {
        double v = tg_get_flat(scores, row * classes + c);
        if (v > best_value || isnan(v)) {
            best = c;
            best_value = v;
        }
    }
    return best;
}

double tg_accuracy(const tg_tensor *scores, const tg_tensor *labels) {
    if (tgi_nn_check_labels("tg_accuracy", scores, "scores", labels) != TG_OK) return NAN;
    int64_t rows = scores->shape[0], correct = 0;
    for (int64_t row = 0; row < rows; row++) correct += row_argmax(scores, row) == (int64_t)tg_get_flat(labels, row);
    return (double)correct / (double)rows;
}

double tg_binary_accuracy(const tg_tensor *prob, const tg_tensor *target) {
    const char *function = "tg_binary_accuracy";
    if (!prob || !target) {
        tg_error_null_tensor(function, "%s is NULL", !prob ? "prob" : "target");
        return NAN;
    }
    if (!tg_same_shape(prob, target) || prob->numel == 0) {
        char sp[160], st[160];
        tg_error_report(TG_ERR_SHAPE, function, "prob %s and target %s must have one non-empty shape",
                        tg_shape_string(sp, sizeof sp, prob->rank, prob->shape),
                        tg_shape_string(st, sizeof st, target->rank, target->shape));
        return NAN;
    }
    int64_t correct = 0;
    for (int64_t i = 0; i < prob->numel; i++) {
        double y = tg_get_flat(target, i);
        if (y != 0.0 && y != 1.0) {
            tg_error_report(TG_ERR_ARGUMENT, function, "target %g at index %lld is not 0 or 1", y, (long long)i);
            return NAN;
        }
        correct += (tg_get_flat(prob, i) >= 0.5) == (y == 1.0);
    }
    return (double)correct / (double)prob->numel;
}
