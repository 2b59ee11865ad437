/* data/scaler.c — per-feature standardization and min-max scaling.
 *
 * A scaler is fitted on the training set only and then attached to every
 * set (train, validation, test), so that no statistic of held-out data leaks
 * into training. It is applied when batches are filled, which keeps uint8
 * storage (MNIST) at one byte per value.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "data/dataset_internal.h"

void tg_scaler_free(tg_scaler *scaler)
{
    if (!scaler) return;
    free(scaler->shift);
    free(scaler->factor);
    free(scaler);
}

static tg_scaler *scaler_new(const char *fn, const tg_dataset *train)
{
    if (!train || train->count < 1) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "need a data set with at least one sample, got %s",
                        !train ? "NULL" : "0 samples");
        return NULL;
    }
    tg_scaler *scaler = calloc(1, sizeof *scaler);
    size_t n = (size_t)train->feature_size;
    if (scaler) {
        scaler->size = train->feature_size;
        scaler->shift = calloc(n, sizeof(double));
        scaler->factor = calloc(n, sizeof(double));
    }
    if (!scaler || !scaler->shift || !scaler->factor) {
        tg_scaler_free(scaler);
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %zu features", n);
        return NULL;
    }
    return scaler;
}

tg_scaler *tg_scaler_fit_standard(const tg_dataset *train)
{
    tg_scaler *scaler = scaler_new("tg_scaler_fit_standard", train);
    if (!scaler) return NULL;
    const int64_t n = train->count, width = train->feature_size;
    /* Two passes (mean, then squared deviations): exact enough for any data
     * a feature column holds, unlike the one-pass sum of squares. Rows are the
     * outer loop so that storage is read in order. */
    /* A feature is constant when every value equals the first row's; its
     * computed mean may differ from that value in the last bit, and dividing
     * the rounding noise by a std of 1e-17 would blow it up to order 1. */
    bool *constant = malloc((size_t)width * sizeof(bool) + 1);
    if (!constant) {
        tg_scaler_free(scaler);
        tg_error_report(TG_ERR_MEMORY, "tg_scaler_fit_standard", "out of memory");
        return NULL;
    }
    int64_t first_row = tgi_store_row(train, 0);
    for (int64_t f = 0; f < width; ++f) constant[f] = true;
    for (int64_t i = 0; i < n; ++i) {
        int64_t row = tgi_store_row(train, i);
        for (int64_t f = 0; f < width; ++f) {
            double v = tgi_base_value(train, row, f);
            scaler->shift[f] += v;
            if (v != tgi_base_value(train, first_row, f)) constant[f] = false;
        }
    }
    for (int64_t f = 0; f < width; ++f)
        scaler->shift[f] = constant[f] ? tgi_base_value(train, first_row, f) : scaler->shift[f] / (double)n;
    for (int64_t i = 0; i < n; ++i) {
        int64_t row = tgi_store_row(train, i);
        for (int64_t f = 0; f < width; ++f) {
            double d = tgi_base_value(train, row, f) - scaler->shift[f];
            scaler->factor[f] += d * d;
        }
    }
    for (int64_t f = 0; f < width; ++f) {
        double std = sqrt(scaler->factor[f] / (double)n);
        /* A constant feature carries no information; scaling it by 1 keeps it
         * at exactly 0 after centering instead of dividing by zero. */
        scaler->factor[f] = constant[f] || !(std > 0.0) ? 1.0 : 1.0 / std;
    }
    free(constant);
    return scaler;
}

tg_scaler *tg_scaler_fit_minmax(const tg_dataset *train, double lo, double hi)
{
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi)) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_scaler_fit_minmax", "need finite lo < hi, got [%g, %g]", lo, hi);
        return NULL;
    }
    tg_scaler *scaler = scaler_new("tg_scaler_fit_minmax", train);
    if (!scaler) return NULL;
    const int64_t n = train->count, width = train->feature_size;
    double *max = scaler->factor; /* holds the maxima until the factors are known */
    for (int64_t f = 0; f < width; ++f) {
        scaler->shift[f] = INFINITY;
        max[f] = -INFINITY;
    }
    for (int64_t i = 0; i < n; ++i) {
        int64_t row = tgi_store_row(train, i);
        for (int64_t f = 0; f < width; ++f) {
            double v = tgi_base_value(train, row, f);
            if (v < scaler->shift[f]) scaler->shift[f] = v;
            if (v > max[f]) max[f] = v;
        }
    }
    /* (v - min) * (hi - lo) / (max - min) lands in [0, hi - lo]; folding lo
     * into the shift keeps the map a single (v - shift) * factor. */
    for (int64_t f = 0; f < width; ++f) {
        double range = max[f] - scaler->shift[f];
        double factor = range > 0.0 ? (hi - lo) / range : 1.0;
        scaler->shift[f] -= lo / factor;
        scaler->factor[f] = factor;
    }
    return scaler;
}

static void report_bad_feature(const char *fn, const tg_scaler *scaler, int64_t feature)
{
    if (!scaler)
        tg_error_report(TG_ERR_ARGUMENT, fn, "scaler is NULL");
    else
        tg_error_report(TG_ERR_ARGUMENT, fn, "feature %lld outside 0..%lld", (long long)feature,
                        (long long)scaler->size - 1);
}

double tg_scaler_shift(const tg_scaler *scaler, int64_t feature)
{
    if (!scaler || feature < 0 || feature >= scaler->size) {
        report_bad_feature("tg_scaler_shift", scaler, feature);
        return NAN;
    }
    return scaler->shift[feature];
}

double tg_scaler_factor(const tg_scaler *scaler, int64_t feature)
{
    if (!scaler || feature < 0 || feature >= scaler->size) {
        report_bad_feature("tg_scaler_factor", scaler, feature);
        return NAN;
    }
    return scaler->factor[feature];
}
