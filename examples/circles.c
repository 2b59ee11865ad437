/* examples/circles.c — seed 001: two concentric circles told apart by a
 * 2-4-6-6-4-1 network (ReLU hidden layers, a sigmoid output) trained with
 * binary cross-entropy, as the article's Keras model:
 *
 *     Dense(4, relu) Dense(6, relu) Dense(6, relu) Dense(4, relu) Dense(1, sigmoid)
 *
 * Prints a line per epoch (loss, accuracy, examples/s; a progress bar too
 * when stdout is a terminal, tg_progress), then writes two figures like the
 * article's and the numbers behind the second:
 *   circles_boundary.svg  the decision regions (probability of the inner
 *                         class on a grid) with the points on top (figure 3)
 *   circles_training.svg  loss and accuracy per epoch (figure 7)
 *   circles_metrics.csv   those per-epoch numbers (tg_metrics_log)
 * into the current directory, or into the directory given as argv[1].
 * Exit status 1 if the test accuracy stays below 99%.
 *
 *   build/examples/circles [output-directory]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svg.h"
#include "tapegrad.h"

/* The data as in the article's notebook (SkalskiP/ILearnDeepLearning.py,
 * "Binary classification visualizations.ipynb": make_circles(n_samples=1000,
 * factor=.3, noise=.10), Keras's default batches of 32): 1,000 points with
 * noise 0.1 around circles of radius 1 (class 0) and 0.3 (class 1). The
 * notebook held out 10% and trained with Adamax for 50 epochs; here 20% are
 * held out (a finer measure of accuracy) and Adam, lr 0.005, runs 100 epochs.
 * tests/nn/test_circles_training.c repeats this recipe: keep the two in step. */
enum { SAMPLES = 1000, BATCH = 32, EPOCHS = 100 };
static const double NOISE = 0.1, FACTOR = 0.3, TEST_FRACTION = 0.2;
static const double LEARNING_RATE = 0.005;
static const double TARGET_ACCURACY = 0.99;
static const uint64_t SEED = 2018;

/* ---- the network ---- */

/* True when some unit of some ReLU layer is 0 for every row of x: a "dead"
 * unit, which passes no gradient back and so never comes alive again. */
static bool has_dead_unit(tg_model *model, tg_tensor *x) {
    bool dead = false, was_enabled = tg_set_grad_enabled(false);
    tg_tensor *h = x;
    for (int i = 0; i < tg_model_num_layers(model) && !dead; i++) {
        tg_layer *layer = tg_model_layer(model, i);
        h = tg_layer_forward(layer, h);
        if (strcmp(tg_module_kind(layer), "relu") != 0) continue;
        int64_t rows = h->shape[0], units = h->shape[1];
        for (int64_t unit = 0; unit < units && !dead; unit++) {
            bool alive = false;
            for (int64_t row = 0; row < rows && !alive; row++) alive = tg_get_flat(h, row * units + unit) > 0;
            dead = !alive;
        }
    }
    tg_set_grad_enabled(was_enabled);
    tg_tape_reset(tg_tape_current());
    return dead;
}

/* The article's 2-4-6-6-4-1 network from tg_mlp_new (He-uniform weights,
 * zero biases), with three changes. So narrow a ReLU network easily loses a
 * whole layer (typically the last hidden one, of 4 units) to dead units,
 * after which no gradient reaches anything below it; the three changes below
 * keep that from happening (the seed sweep is in bench/RESULTS.md).
 *   - Hidden biases start at 0.1 instead of 0, so that ReLUs start active
 *     (Goodfellow, Bengio and Courville, "Deep Learning", section 8.4).
 *   - The output layer's weights start at 0, so every first prediction is
 *     0.5 (loss log 2): the first steps do not shove the hidden layers
 *     around to correct random initial outputs.
 *   - A draw in which some hidden unit is still 0 on every training point
 *     is thrown away and drawn again (3.6 draws on average; a forward pass
 *     over 800 points is cheap). */
static tg_model *make_network(tg_rng *rng, tg_tensor *train_x, int *draws) {
    const int64_t sizes[] = {2, 4, 6, 6, 4, 1};
    for (*draws = 1;; ++*draws) {
        tg_model *model = tg_mlp_new(rng, TG_F64, 6, sizes, TG_ACT_RELU, TG_ACT_SIGMOID);
        int n_layers = tg_model_num_layers(model);
        for (int i = 0; i < n_layers; i++) {
            tg_layer *layer = tg_model_layer(model, i);
            if (strcmp(tg_module_kind(layer), "dense") != 0) continue;
            if (i < n_layers - 2) /* a hidden layer: bias 0.1 */
                tg_init_tensor(tg_module_param(layer, "bias"), TG_INIT_CONSTANT, NULL, 0, 0, 0.1);
            else /* the output layer: weights 0 */
                tg_init_tensor(tg_module_param(layer, "weight"), TG_INIT_ZEROS, NULL, 0, 0, 0);
        }
        if (!has_dead_unit(model, train_x)) return model;
        tg_model_free(model);
    }
}

/* Class labels come out of a batch as a vector (rows); the network's output
 * is a column (rows, 1). Losses want equal shapes, so the labels become a
 * column too (a reshape on the tape, no copy of the caller's tensor). */
static tg_tensor *as_column(tg_tensor *labels) { return tg_reshape(labels, 2, (int64_t[]){labels->shape[0], 1}); }

/* The article's loss, J = 1/m sum -(y log yhat + (1 - y) log(1 - yhat)), on
 * the sigmoid's probabilities. They are first kept inside [1e-7, 1 - 1e-7],
 * as Keras does: once a float64 sigmoid rounds to exactly 1, log(1 - yhat)
 * would be -inf. */
static tg_tensor *circles_loss(tg_tensor *prob, tg_tensor *labels) {
    return tg_bce_loss(tg_clamp(prob, 1e-7, 1 - 1e-7), as_column(labels));
}

/* ---- evaluation ---- */

typedef struct evaluation {
    double loss, accuracy;
} evaluation;

static evaluation evaluate(tg_model *model, tg_tensor *x, tg_tensor *labels) {
    bool was_enabled = tg_set_grad_enabled(false);
    tg_tensor *prob = tg_model_forward(model, x);
    evaluation result = {tg_item(circles_loss(prob, labels)), tg_binary_accuracy(prob, as_column(labels))};
    tg_set_grad_enabled(was_enabled);
    tg_tape_reset(tg_tape_current());
    return result;
}

/* A whole data set as tensors: x (count, 2), labels (count). */
static void dataset_tensors(const tg_dataset *ds, tg_tensor **x, tg_tensor **labels) {
    int64_t count = tg_dataset_count(ds);
    *x = tg_zeros(TG_F64, 2, (int64_t[]){count, 2});
    *labels = tg_zeros(TG_F64, 1, (int64_t[]){count});
    tg_dataset_fill_range(ds, 0, count, *x, *labels, TG_ENCODE_INDEX);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- figures ---- */

typedef struct history {
    double epoch[EPOCHS];
    double train_loss[EPOCHS], test_loss[EPOCHS];
    double train_accuracy[EPOCHS], test_accuracy[EPOCHS];
} history;

static char *join_path(char *buf, size_t size, const char *dir, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

/* Figure 3: the probability of class 1 (the inner circle) on a grid of
 * GRID x GRID cells in the Spectral colors of the article's notebook (red
 * for 0, yellow at 0.5, blue for 1), the 0.5 contour in black, and the
 * points on top with black rims: training points small, test points larger,
 * misclassified test points ringed. */
static bool write_boundary_svg(const char *path, tg_model *model, const tg_tensor *train_x,
                               const tg_tensor *train_labels, tg_tensor *test_x, const tg_tensor *test_labels) {
    enum { GRID = 150, LEVELS = 32 };
    const double lo = -1.5, hi = 1.5, pale = 0.45;
    /* The network's probabilities at the cell centres, in one batch;
     * prob[row * GRID + col], row 0 at the bottom. */
    tg_tensor *grid = tg_zeros(TG_F64, 2, (int64_t[]){GRID * GRID, 2});
    double *g = tg_data_f64(grid);
    for (int row = 0; row < GRID; row++) {
        for (int col = 0; col < GRID; col++) {
            g[2 * (row * GRID + col)] = lo + (hi - lo) * (col + 0.5) / GRID;
            g[2 * (row * GRID + col) + 1] = lo + (hi - lo) * (row + 0.5) / GRID;
        }
    }
    static double prob[GRID * GRID];
    bool was_enabled = tg_set_grad_enabled(false);
    tg_copy_to_doubles(tg_model_forward(model, grid), prob);
    tg_tensor *test_prob = tg_clone(tg_model_forward(model, test_x));
    tg_set_grad_enabled(was_enabled);
    tg_tape_reset(tg_tape_current());
    tg_free(grid);

    svg_writer w;
    if (!svg_begin(&w, path, 640, 600)) {
        tg_free(test_prob);
        return false;
    }
    svg_axes axes = {.left = 60, .top = 40, .width = 480, .height = 480, .x_min = lo, .x_max = hi, .y_min = lo, .y_max = hi};
    double cell = axes.width / GRID;
    /* Background: probabilities rounded to LEVELS + 1 colors, and a run of
     * equal colors along a row drawn as one rectangle (a few thousand instead
     * of 22,500). Rectangles overlap by a quarter pixel so no seams show. */
    svg_group_begin(&w, "shape-rendering=\"crispEdges\"");
    for (int row = 0; row < GRID; row++) {
        int start = 0;
        for (int col = 1; col <= GRID; col++) {
            long level = lround(prob[row * GRID + start] * LEVELS);
            if (col < GRID && lround(prob[row * GRID + col] * LEVELS) == level) continue;
            char color[8];
            svg_color_spectral((double)level / LEVELS, pale, color);
            double top = axes.top + axes.height - (row + 1) * cell;
            svg_rect(&w, axes.left + start * cell, top, (col - start) * cell + 0.25, cell + 0.25, color);
            start = col;
        }
    }
    svg_group_end(&w);
    /* The decision boundary p = 0.5 by marching squares: in each square of
     * four neighbouring cell centres, the points where p - 0.5 changes sign
     * along an edge (linear interpolation), joined in pairs. */
    for (int row = 0; row + 1 < GRID; row++) {
        for (int col = 0; col + 1 < GRID; col++) {
            const int dr[4] = {0, 0, 1, 1}, dc[4] = {0, 1, 1, 0}; /* corners, counter-clockwise */
            double px[4], py[4];
            int crossings = 0;
            for (int k = 0; k < 4; k++) {
                int a = k, b = (k + 1) % 4;
                double va = prob[(row + dr[a]) * GRID + col + dc[a]] - 0.5;
                double vb = prob[(row + dr[b]) * GRID + col + dc[b]] - 0.5;
                if ((va < 0) == (vb < 0)) continue;
                double t = va / (va - vb);
                px[crossings] = col + 0.5 + dc[a] + t * (dc[b] - dc[a]);
                py[crossings] = row + 0.5 + dr[a] + t * (dr[b] - dr[a]);
                crossings++;
            }
            for (int k = 0; k + 1 < crossings; k += 2) {
                svg_line(&w, axes.left + px[k] * cell, axes.top + axes.height - py[k] * cell,
                         axes.left + px[k + 1] * cell, axes.top + axes.height - py[k + 1] * cell, "#222222", 1.5);
            }
        }
    }
    svg_axes_draw(&w, &axes, "Decision regions after training (2-4-6-6-4-1, ReLU and sigmoid)", "x1", "x2");
    /* The points, colored by class like the background's ends. */
    char fill[2][8];
    svg_color_spectral(0, 0, fill[0]);
    svg_color_spectral(1, 0, fill[1]);
    for (int64_t i = 0; i < train_x->shape[0]; i++) {
        int label = tg_get_flat(train_labels, i) > 0.5;
        svg_circle(&w, svg_axes_x(&axes, tg_get_flat(train_x, 2 * i)),
                   svg_axes_y(&axes, tg_get_flat(train_x, 2 * i + 1)), 2.8, fill[label], "black", 0.5);
    }
    int misclassified = 0;
    for (int64_t i = 0; i < test_x->shape[0]; i++) {
        int label = tg_get_flat(test_labels, i) > 0.5;
        double x = svg_axes_x(&axes, tg_get_flat(test_x, 2 * i)), y = svg_axes_y(&axes, tg_get_flat(test_x, 2 * i + 1));
        svg_circle(&w, x, y, 4.2, fill[label], "black", 1.4);
        if ((tg_get_flat(test_prob, i) >= 0.5) != label) {
            svg_circle(&w, x, y, 9, "none", "black", 1.8);
            misclassified++;
        }
    }
    tg_free(test_prob);
    /* A color bar for the background, and a legend for the marks. */
    double bar_left = 565, bar_width = 18;
    svg_group_begin(&w, "shape-rendering=\"crispEdges\"");
    for (int k = 0; k < 100; k++) {
        char color[8];
        svg_color_spectral((k + 0.5) / 100, pale, color);
        svg_rect(&w, bar_left, axes.top + axes.height * (1 - (k + 1) / 100.0), bar_width, axes.height / 100 + 0.25,
                 color);
    }
    svg_group_end(&w);
    for (int k = 0; k <= 4; k++) {
        double y = axes.top + axes.height * (1 - k / 4.0);
        svg_line(&w, bar_left + bar_width, y, bar_left + bar_width + 4, y, "#333333", 1);
        svg_text(&w, bar_left + bar_width + 6, y + 4, 11, "start", 0, "%.2f", k / 4.0);
    }
    svg_text(&w, bar_left + bar_width / 2, axes.top - 8, 11, "middle", 0, "P(inner)");
    double legend_y = axes.top + axes.height + 66;
    svg_circle(&w, 66, legend_y - 4, 2.8, fill[0], "black", 0.5);
    svg_circle(&w, 76, legend_y - 4, 2.8, fill[1], "black", 0.5);
    svg_text(&w, 86, legend_y, 12, "start", 0, "training points");
    svg_circle(&w, 200, legend_y - 4, 4.2, fill[0], "black", 1.4);
    svg_circle(&w, 213, legend_y - 4, 4.2, fill[1], "black", 1.4);
    svg_text(&w, 224, legend_y, 12, "start", 0, "test points");
    svg_circle(&w, 312, legend_y - 4, 9, "none", "black", 1.8);
    svg_text(&w, 327, legend_y, 12, "start", 0, "misclassified (%d)", misclassified);
    svg_line(&w, 460, legend_y - 4, 484, legend_y - 4, "#222222", 1.5);
    svg_text(&w, 490, legend_y, 12, "start", 0, "p = 0.5");
    return svg_end(&w);
}

/* Figure 7: loss and accuracy per epoch, side by side. */
static bool write_training_svg(const char *path, const history *h) {
    svg_writer w;
    if (!svg_begin(&w, path, 960, 420)) return false;
    const char *train_color = "#1f77b4", *test_color = "#ff7f0e";
    double max_loss = 0;
    for (int e = 0; e < EPOCHS; e++) max_loss = fmax(max_loss, fmax(h->train_loss[e], h->test_loss[e]));
    svg_axes loss_axes = {.left = 80, .top = 40, .width = 360, .height = 300,
                          .x_min = 0, .x_max = EPOCHS, .y_min = 0, .y_max = ceil(max_loss * 10) / 10};
    svg_axes_draw(&w, &loss_axes, "Loss (binary cross-entropy)", "epoch", "loss");
    svg_axes_polyline(&w, &loss_axes, EPOCHS, h->epoch, h->train_loss, train_color, 2);
    svg_axes_polyline(&w, &loss_axes, EPOCHS, h->epoch, h->test_loss, test_color, 2);
    svg_legend_line(&w, loss_axes.left + loss_axes.width - 150, loss_axes.top + 20, train_color, "training");
    svg_legend_line(&w, loss_axes.left + loss_axes.width - 150, loss_axes.top + 38, test_color, "test");

    double min_accuracy = 1;
    for (int e = 0; e < EPOCHS; e++) min_accuracy = fmin(min_accuracy, fmin(h->train_accuracy[e], h->test_accuracy[e]));
    svg_axes accuracy_axes = {.left = 570, .top = 40, .width = 360, .height = 300,
                              .x_min = 0, .x_max = EPOCHS, .y_min = floor(min_accuracy * 10) / 10, .y_max = 1};
    svg_axes_draw(&w, &accuracy_axes, "Accuracy", "epoch", "accuracy");
    svg_axes_polyline(&w, &accuracy_axes, EPOCHS, h->epoch, h->train_accuracy, train_color, 2);
    svg_axes_polyline(&w, &accuracy_axes, EPOCHS, h->epoch, h->test_accuracy, test_color, 2);
    svg_legend_line(&w, accuracy_axes.left + accuracy_axes.width - 150, accuracy_axes.top + accuracy_axes.height - 36,
                    train_color, "training");
    svg_legend_line(&w, accuracy_axes.left + accuracy_axes.width - 150, accuracy_axes.top + accuracy_axes.height - 18,
                    test_color, "test");
    svg_text(&w, 480, 405, 11, "middle", 0,
             "training: mean over the epoch's mini-batches while learning; test: after the epoch");
    return svg_end(&w);
}

int main(int argc, char **argv) {
    const char *out_dir = argc > 1 ? argv[1] : ".";
    tg_rng rng = tg_rng_seeded(SEED);

    tg_dataset *circles = tg_make_circles(&rng, SAMPLES, NOISE, FACTOR), *train, *test;
    tg_dataset_split(circles, TEST_FRACTION, &rng, &train, &test);
    tg_tensor *train_x, *train_labels, *test_x, *test_labels;
    dataset_tensors(train, &train_x, &train_labels);
    dataset_tensors(test, &test_x, &test_labels);
    printf("circles: %lld training and %lld test points (noise %.2f, inner radius %.1f)\n",
           (long long)tg_dataset_count(train), (long long)tg_dataset_count(test), NOISE, FACTOR);

    int draws;
    tg_model *model = make_network(&rng, train_x, &draws);
    tg_tensor *one_point = tg_zeros(TG_F64, 2, (int64_t[]){1, 2});
    tg_model_summary(stdout, model, one_point);
    tg_free(one_point);
    tg_tensor *params[16];
    int n_params = tg_model_params(model, params, 16);
    tg_optimizer *optimizer = tg_adam_new(n_params, params, LEARNING_RATE);
    printf("network 2-4-6-6-4-1 (ReLU, sigmoid output), %lld parameters: initial draw %d (%d had a dead unit)\n",
           (long long)tg_model_param_count(model), draws, draws - 1);
    printf("Adam, lr %g, batches of %d, %d epochs\n\n", LEARNING_RATE, BATCH, EPOCHS);

    tg_batches *batches = tg_batches_new(train, BATCH, TG_F64, TG_ENCODE_INDEX);
    int64_t per_epoch = tg_batches_per_epoch(batches);
    static history h;
    char path[4096];
    tg_metrics_log *metrics = tg_metrics_log_open(join_path(path, sizeof path, out_dir, "circles_metrics.csv"),
                                                  TG_METRICS_CSV);
    const char *metric_names[] = {"loss", "accuracy", "test_loss", "test_accuracy"};
    double started = seconds_now();
    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        tg_batches_shuffle(batches, &rng);
        double epoch_started = seconds_now(), loss_sum = 0, correct = 0;
        int64_t seen = 0, rows;
        tg_tensor *x, *labels;
        char label[32];
        snprintf(label, sizeof label, "epoch %3d/%d", epoch, EPOCHS);
        tg_progress *progress = tg_progress_new(stdout, label, per_epoch, TG_PROGRESS_AUTO);
        while ((rows = tg_batches_next(batches, &x, &labels)) > 0) {
            tg_optimizer_zero_grad(optimizer);
            tg_tensor *prob = tg_model_forward(model, x);
            tg_tensor *loss = circles_loss(prob, labels);
            tg_backward(loss, NULL);
            tg_optimizer_step(optimizer);
            loss_sum += tg_item(loss) * (double)rows;
            correct += tg_binary_accuracy(prob, as_column(labels)) * (double)rows;
            seen += rows;
            tg_tape_reset(tg_tape_current());
            tg_progress_set_metric(progress, "loss", loss_sum / (double)seen);
            tg_progress_advance(progress, 1);
        }
        tg_progress_finish(progress, false);
        double rate = (double)seen / (seconds_now() - epoch_started);
        evaluation on_test = evaluate(model, test_x, test_labels);
        h.epoch[epoch - 1] = epoch;
        h.train_loss[epoch - 1] = loss_sum / (double)seen;
        h.train_accuracy[epoch - 1] = correct / (double)seen;
        h.test_loss[epoch - 1] = on_test.loss;
        h.test_accuracy[epoch - 1] = on_test.accuracy;
        printf("epoch %3d/%d  loss %.5f  accuracy %6.2f%%  test loss %.5f  test accuracy %6.2f%%  %8.0f examples/s\n",
               epoch, EPOCHS, h.train_loss[epoch - 1], 100 * h.train_accuracy[epoch - 1], on_test.loss,
               100 * on_test.accuracy, rate);
        double row[] = {h.train_loss[epoch - 1], h.train_accuracy[epoch - 1], on_test.loss, on_test.accuracy};
        if (metrics) tg_metrics_log_write(metrics, epoch, 4, metric_names, row);
    }
    bool written_metrics = metrics && tg_metrics_log_close(metrics) == TG_OK;
    double elapsed = seconds_now() - started;

    evaluation on_train = evaluate(model, train_x, train_labels), on_test = evaluate(model, test_x, test_labels);
    printf("\nafter %d epochs (%.2f s): training accuracy %.2f%%, test accuracy %.2f%% (target %.0f%%)\n", EPOCHS,
           elapsed, 100 * on_train.accuracy, 100 * on_test.accuracy, 100 * TARGET_ACCURACY);

    if (written_metrics) printf("wrote %s/circles_metrics.csv\n", out_dir);
    bool written = write_boundary_svg(join_path(path, sizeof path, out_dir, "circles_boundary.svg"), model, train_x,
                                      train_labels, test_x, test_labels);
    if (written) printf("wrote %s\n", path);
    bool written_training = write_training_svg(join_path(path, sizeof path, out_dir, "circles_training.svg"), &h);
    if (written_training) printf("wrote %s\n", path);

    tg_batches_free(batches);
    tg_optimizer_free(optimizer);
    tg_model_free(model);
    tg_free(train_x);
    tg_free(train_labels);
    tg_free(test_x);
    tg_free(test_labels);
    tg_dataset_free(train);
    tg_dataset_free(test);
    tg_dataset_free(circles);

    if (on_test.accuracy < TARGET_ACCURACY) {
        fprintf(stderr, "circles: test accuracy %.2f%% is below the target %.0f%%\n", 100 * on_test.accuracy,
                100 * TARGET_ACCURACY);
        return 1;
    }
    return written && written_training && written_metrics ? 0 : 1;
}
