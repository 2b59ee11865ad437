/* data/generators.c — small 2-D classification problems for seed experiments.
 *
 * Each generator writes sample i at position order[i] of a random
 * permutation, so classes come out interleaved (as scikit-learn's shuffle=True
 * does), and all randomness comes from the caller's tg_rng.
 */
#include <math.h>
#include <stdlib.h>

#include "tapegrad/data.h"

#define PI 3.14159265358979323846

typedef struct generated {
    tg_dataset *ds;
    double *xy;       /* n * 2 features */
    int32_t *classes;
    int64_t *order;
} generated;

static bool generated_begin(generated *g, const char *fn, tg_rng *rng, int64_t n, int classes, double noise)
{
    g->ds = NULL;
    g->order = NULL;
    if (!rng || n < 1 || classes < 2 || !(noise >= 0.0) || !isfinite(noise)) {
        tg_error_report(TG_ERR_ARGUMENT, fn,
                        "need rng, n >= 1 (got %lld), classes >= 2 (got %d) and finite noise >= 0 (got %g)%s",
                        (long long)n, classes, noise, rng ? "" : "; rng is NULL");
        return false;
    }
    const int64_t feature_shape[1] = {2};
    g->ds = tg_dataset_new(TG_FEATURES_F64, n, 1, feature_shape, TG_LABELS_CLASS, classes);
    if (!g->ds) return false;
    g->order = malloc((size_t)n * sizeof(int64_t));
    if (!g->order) {
        tg_dataset_free(g->ds);
        g->ds = NULL;
        tg_error_report(TG_ERR_MEMORY, fn, "out of memory for %lld samples", (long long)n);
        return false;
    }
    g->xy = tg_dataset_features_data(g->ds);
    g->classes = tg_dataset_classes_data(g->ds);
    tg_random_permutation(rng, n, g->order);
    return true;
}

static void generated_put(generated *g, tg_rng *rng, int64_t i, double x, double y, int cls, double noise)
{
    int64_t at = g->order[i];
    if (noise > 0.0) {
        x += noise * tg_rng_normal(rng);
        y += noise * tg_rng_normal(rng);
    }
    g->xy[2 * at] = x;
    g->xy[2 * at + 1] = y;
    g->classes[at] = cls;
}

static tg_dataset *generated_end(generated *g)
{
    free(g->order);
    return g->ds;
}

tg_dataset *tg_make_circles(tg_rng *rng, int64_t n, double noise, double factor)
{
    static const char *fn = "tg_make_circles";
    if (!(factor > 0.0 && factor < 1.0)) {
        tg_error_report(TG_ERR_ARGUMENT, fn, "factor %g must be in (0, 1)", factor);
        return NULL;
    }
    generated g;
    if (!generated_begin(&g, fn, rng, n, 2, noise)) return NULL;
    int64_t n_outer = n / 2, n_inner = n - n_outer;
    /* Angles as numpy's linspace(0, 2*pi, m, endpoint=False). */
    for (int64_t i = 0; i < n_outer; ++i) {
        double t = 2.0 * PI * (double)i / (double)n_outer;
        generated_put(&g, rng, i, cos(t), sin(t), 0, noise);
    }
    for (int64_t i = 0; i < n_inner; ++i) {
        double t = 2.0 * PI * (double)i / (double)n_inner;
        generated_put(&g, rng, n_outer + i, factor * cos(t), factor * sin(t), 1, noise);
    }
    return generated_end(&g);
}

/* numpy's linspace(0, pi, m) (endpoint included). */
static double half_turn(int64_t i, int64_t m)
{
    return m > 1 ? PI * (double)i / (double)(m - 1) : 0.0;
}

tg_dataset *tg_make_moons(tg_rng *rng, int64_t n, double noise)
{
    generated g;
    if (!generated_begin(&g, "tg_make_moons", rng, n, 2, noise)) return NULL;
    int64_t n_outer = n / 2, n_inner = n - n_outer;
    for (int64_t i = 0; i < n_outer; ++i) {
        double t = half_turn(i, n_outer);
        generated_put(&g, rng, i, cos(t), sin(t), 0, noise);
    }
    for (int64_t i = 0; i < n_inner; ++i) {
        double t = half_turn(i, n_inner);
        generated_put(&g, rng, n_outer + i, 1.0 - cos(t), 0.5 - sin(t), 1, noise);
    }
    return generated_end(&g);
}

tg_dataset *tg_make_spirals(tg_rng *rng, int64_t n, int classes, double noise)
{
    generated g;
    if (!generated_begin(&g, "tg_make_spirals", rng, n, classes, noise)) return NULL;
    int64_t i = 0;
    for (int k = 0; k < classes; ++k) {
        /* Arms get n / classes points each, the first n % classes one more. */
        int64_t m = n / classes + (k < n % classes ? 1 : 0);
        for (int64_t j = 0; j < m; ++j, ++i) {
            double r = m > 1 ? (double)j / (double)(m - 1) : 0.0;
            double angle = 4.0 * k + 4.0 * r + noise * tg_rng_normal(rng);
            generated_put(&g, rng, i, r * sin(angle), r * cos(angle), k, 0.0);
        }
    }
    return generated_end(&g);
}
