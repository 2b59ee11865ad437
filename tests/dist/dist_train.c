/* tests/dist/dist_train.c — the program the MPI tests run (run_dist_tests.sh):
 * a small classifier (2-32-32-3 tanh MLP on three spirals, SGD with
 * momentum) trained data-parallel with tapegrad/dist.h, so that runs on 1, 2
 * and 4 ranks can be compared, resumed and broken on purpose.
 *
 *   dist_train [--dtype f32|f64] [--steps N] [--global-batch G] [--bucket BYTES]
 *              [--out model.safetensors] [--save-every K --checkpoint PREFIX]
 *              [--resume PREFIX --resume-step S] [--kill-rank R --kill-at S]
 *              [--hidden-on-rank R:H]
 *   dist_train --compare A B TOL f32|f64   (no MPI: max |A-B| / max |B| per
 *                                           tensor <= TOL; TOL 0: bitwise)
 *   dist_train --check-load PREFIX f32|f64  (the checkpoint loads)
 *
 * Each rank starts from its own random weights (seed 100 + rank): the
 * broadcast from rank 0 is what makes them equal. Exit status 0 on success,
 * 1 on any error (printed with its rank). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"
#include "tapegrad/dist.h"

enum { HIDDEN = 32, MAX_PARAMS = 16 };

typedef struct options {
    tg_dtype dtype;
    int steps, save_every, resume_step, kill_rank, kill_at, odd_rank, odd_hidden;
    int64_t global_batch;
    size_t bucket_bytes;
    const char *out, *checkpoint, *resume;
} options;

static tg_dtype parse_dtype(const char *text) { return strcmp(text, "f64") == 0 ? TG_F64 : TG_F32; }

static options parse(int argc, char **argv) {
    options o = {TG_F32, 50, 0, 0, -1, -1, -1, 0, 64, 4096, NULL, NULL, NULL};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i], *value = argv[i + 1];
        if (!strcmp(flag, "--dtype")) o.dtype = parse_dtype(value);
        else if (!strcmp(flag, "--steps")) o.steps = atoi(value);
        else if (!strcmp(flag, "--global-batch")) o.global_batch = atoll(value);
        else if (!strcmp(flag, "--bucket")) o.bucket_bytes = (size_t)atoll(value);
        else if (!strcmp(flag, "--out")) o.out = value;
        else if (!strcmp(flag, "--save-every")) o.save_every = atoi(value);
        else if (!strcmp(flag, "--checkpoint")) o.checkpoint = value;
        else if (!strcmp(flag, "--resume")) o.resume = value;
        else if (!strcmp(flag, "--resume-step")) o.resume_step = atoi(value);
        else if (!strcmp(flag, "--kill-rank")) o.kill_rank = atoi(value);
        else if (!strcmp(flag, "--kill-at")) o.kill_at = atoi(value);
        else if (!strcmp(flag, "--hidden-on-rank")) sscanf(value, "%d:%d", &o.odd_rank, &o.odd_hidden);
        else {
            fprintf(stderr, "dist_train: unknown flag %s\n", flag);
            exit(1);
        }
    }
    return o;
}

static tg_model *make_model(tg_dtype dtype, uint64_t seed, int64_t hidden) {
    tg_rng rng = tg_rng_seeded(seed);
    int64_t sizes[4] = {2, hidden, hidden, 3};
    return tg_mlp_new(&rng, dtype, 4, sizes, TG_ACT_TANH, -1);
}

static tg_optimizer *make_optimizer(tg_model *model) {
    tg_tensor *params[MAX_PARAMS];
    int n = tg_model_params(model, params, MAX_PARAMS);
    tg_optimizer_config config = tg_optimizer_defaults(TG_OPT_MOMENTUM);
    config.lr = 0.05;
    return tg_optimizer_new(n, params, &config);
}

static void path_of(char *buf, size_t size, const char *prefix, const char *what) {
    snprintf(buf, size, "%s.%s.safetensors", prefix, what);
}

/* max |a - b| / max |b| over each tensor, or bitwise equality for tol 0. */
static int compare(const char *a_path, const char *b_path, double tol, tg_dtype dtype) {
    tg_model *a = make_model(dtype, 1, HIDDEN), *b = make_model(dtype, 1, HIDDEN);
    if (tg_model_load(a, a_path) != TG_OK || tg_model_load(b, b_path) != TG_OK) {
        fprintf(stderr, "compare: %s\n", tg_last_error_message());
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < tg_model_num_params(a); i++) {
        char name[64];
        tg_tensor *pa = tg_model_param(a, i, name, sizeof name), *pb = tg_model_param(b, i, NULL, 0);
        double diff = 0.0, scale = 0.0;
        for (int64_t j = 0; j < pa->numel; j++) {
            diff = fmax(diff, fabs(tg_get_flat(pa, j) - tg_get_flat(pb, j)));
            scale = fmax(scale, fabs(tg_get_flat(pb, j)));
        }
        bool same = tol == 0.0 ? memcmp(pa->data, pb->data, (size_t)pa->numel * tg_dtype_size(dtype)) == 0
                               : diff <= tol * scale;
        printf("%-10s max|a-b| %.3e  max|b| %.3e  rel %.3e  %s\n", name, diff, scale, diff / scale,
               same ? "ok" : "DIFFERENT");
        bad |= !same;
    }
    tg_model_free(a);
    tg_model_free(b);
    return bad;
}

static int check_load(const char *prefix, tg_dtype dtype) {
    char path[512];
    tg_model *model = make_model(dtype, 1, HIDDEN);
    tg_optimizer *opt = make_optimizer(model);
    path_of(path, sizeof path, prefix, "model");
    tg_status s = tg_model_load(model, path);
    path_of(path, sizeof path, prefix, "optimizer");
    if (s == TG_OK) s = tg_optimizer_load(opt, path);
    printf("%s: %s\n", prefix, s == TG_OK ? "loads" : tg_last_error_message());
    tg_optimizer_free(opt);
    tg_model_free(model);
    return s != TG_OK;
}

static tg_status save_checkpoint(const char *prefix, tg_model *model, tg_optimizer *opt) {
    char path[512];
    path_of(path, sizeof path, prefix, "model");
    tg_status s = tg_dist_save_model(model, path);
    path_of(path, sizeof path, prefix, "optimizer");
    return s == TG_OK ? tg_dist_save_optimizer(opt, path) : s;
}

static tg_status resume(const char *prefix, tg_model *model, tg_optimizer *opt) {
    char path[512];
    path_of(path, sizeof path, prefix, "model");
    tg_status s = tg_model_load(model, path);
    path_of(path, sizeof path, prefix, "optimizer");
    return s == TG_OK ? tg_optimizer_load(opt, path) : s;
}

/* One data-parallel step: this rank's slice, forward, backward (buckets
 * start reducing), averaged gradients, the optimizer's step. */
static tg_status train_step(tg_model *model, tg_optimizer *opt, tg_dist_reducer *reducer, tg_dist_batches *batches,
                            double *loss_value) {
    tg_tensor *x = NULL, *y = NULL;
    int64_t rows = tg_dist_batches_next(batches, &x, &y);
    if (rows == 0) rows = tg_dist_batches_next(batches, &x, &y); /* a new epoch */
    if (rows < 0) return tg_last_error();
    tg_optimizer_set_grads_to_none(opt);
    tg_tensor *loss = tg_cross_entropy_loss(tg_model_forward(model, x), y);
    tg_status s = tg_backward(loss, NULL);
    if (s == TG_OK) s = tg_dist_sync_grads(reducer);
    if (s == TG_OK) s = tg_optimizer_step(opt);
    if (s == TG_OK) *loss_value = tg_item(loss);
    tg_tape_reset(tg_tape_current());
    return s;
}

static int train(const options *o) {
    int rank = tg_dist_rank(), world = tg_dist_world_size();
    tg_rng data_rng = tg_rng_seeded(1);
    tg_dataset *data = tg_make_spirals(&data_rng, 1200, 3, 0.1);
    int64_t hidden = rank == o->odd_rank ? o->odd_hidden : HIDDEN;
    tg_model *model = make_model(o->dtype, 100 + (uint64_t)rank, hidden);
    tg_optimizer *opt = make_optimizer(model);
    tg_dist_reducer *reducer = NULL;
    tg_dist_batches *batches = NULL;
    tg_status s = data && model && opt ? TG_OK : tg_last_error();
    if (s == TG_OK) s = tg_dist_broadcast_model(model);
    if (s == TG_OK && o->resume) s = resume(o->resume, model, opt);
    if (s == TG_OK && !(reducer = tg_dist_reducer_new(model, o->bucket_bytes))) s = tg_last_error();
    if (s == TG_OK && !(batches = tg_dist_batches_new(data, o->global_batch, o->dtype, TG_ENCODE_INDEX, 3)))
        s = tg_last_error();
    if (s == TG_OK && o->resume) s = tg_dist_batches_seek(batches, o->resume_step);
    if (s == TG_OK)
        tg_dist_printf("%d ranks, %d buckets, global batch %lld\n", world, tg_dist_reducer_num_buckets(reducer),
                       (long long)o->global_batch);
    for (int step = o->resume ? o->resume_step : 0; s == TG_OK && step < o->steps; step++) {
        if (rank == o->kill_rank && step == o->kill_at) raise(SIGKILL);
        double loss = 0.0;
        s = train_step(model, opt, reducer, batches, &loss);
        double mean_loss = s == TG_OK ? tg_dist_average(loss) : 0.0;
        if (s == TG_OK && (step + 1) % 10 == 0) tg_dist_printf("step %d  loss %.6f\n", step + 1, mean_loss);
        if (s == TG_OK && o->save_every > 0 && (step + 1) % o->save_every == 0)
            s = save_checkpoint(o->checkpoint, model, opt);
    }
    if (s == TG_OK && o->out) s = tg_dist_save_model(model, o->out);
    if (s != TG_OK) fprintf(stderr, "rank %d: %s\n", rank, tg_last_error_message());
    tg_dist_batches_free(batches);
    tg_dist_reducer_free(reducer);
    tg_optimizer_free(opt);
    tg_model_free(model);
    tg_dataset_free(data);
    return s != TG_OK;
}

int main(int argc, char **argv) {
    tg_set_error_mode(TG_ERRORS_RETURN);
    if (argc == 6 && !strcmp(argv[1], "--compare")) return compare(argv[2], argv[3], atof(argv[4]), parse_dtype(argv[5]));
    if (argc == 4 && !strcmp(argv[1], "--check-load")) return check_load(argv[2], parse_dtype(argv[3]));
    if (tg_dist_init(&argc, &argv) != TG_OK) {
        fprintf(stderr, "%s\n", tg_last_error_message());
        return 1;
    }
    options o = parse(argc, argv);
    int failed = train(&o);
    tg_dist_finalize();
    return failed;
}
