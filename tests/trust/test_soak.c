/* tests/trust/test_soak.c — a long run stays in constant memory: 100,000
 * training steps of a tiny model (2-8-1 tanh MLP, Adam, batches of 8 from a
 * shuffled walker over 64 generated points) ask the system for nothing after
 * the first step, and the process does not grow.
 *
 * Two measures:
 *  - the tape's own count (tg_tape_get_stats): system allocations and bytes
 *    reserved are those of the first step, at every later step, exactly;
 *  - the process's resident set (/proc/self/statm, Linux), after a warm-up
 *    of 1,000 steps and at the end. It also sees what the tape does not
 *    (a malloc in a layer, the optimizer or the batch walker), but pages
 *    come and go for reasons of their own (stdio buffers, the allocator
 *    trimming, lazily touched stack), so growth of up to RSS_SLACK_PAGES
 *    (256 KiB) is tolerated. A leak of even 8 bytes per step would be 800 KB
 *    here (with malloc's overhead, more), beyond the tolerance; under ASan a
 *    malloc+free per step grows RSS too, through its quarantine.
 * The sizes keep the run at about 2 s under gcc -O2 and within the suite's
 * budget under ASan. */
#include <stdio.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

enum { SOAK_STEPS = 100000, WARMUP_STEPS = 1000, SAMPLES = 64, BATCH = 8, HIDDEN = 8, RSS_SLACK_PAGES = 64 };

/* Resident pages of this process, or -1 where /proc is not available. */
static long resident_pages(void)
{
    FILE *file = fopen("/proc/self/statm", "r");
    if (!file) return -1;
    long size = 0, resident = -1;
    if (fscanf(file, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(file);
    return resident;
}

typedef struct soak {
    tg_dataset *data;
    tg_batches *batches;
    tg_model *model;
    tg_optimizer *opt;
    tg_rng rng;
    tg_tape *tape;
} soak;

static double soak_step(soak *s)
{
    tg_tensor *x = NULL, *y = NULL;
    int64_t rows = tg_batches_next(s->batches, &x, &y);
    if (rows == 0) {
        tg_batches_shuffle(s->batches, &s->rng);
        rows = tg_batches_next(s->batches, &x, &y);
    }
    tg_optimizer_zero_grad(s->opt);
    tg_tensor *target = tg_reshape(y, 2, (const int64_t[]){rows, 1});
    tg_tensor *loss = tg_bce_with_logits_loss(tg_model_forward(s->model, x), target);
    double value = tg_item(loss);
    tg_backward(loss, NULL);
    tg_optimizer_step(s->opt);
    tg_tape_reset(s->tape);
    return value;
}

static int previous_threads;
static tg_tape *previous_tape;
static void restore(void)
{
    tg_set_num_threads(previous_threads);
    abort_mode();
}

Test(soak, a_hundred_thousand_training_steps_run_in_constant_memory, .fini = restore)
{
    previous_threads = tg_set_num_threads(1);
    soak s;
    s.rng = tg_rng_seeded(5);
    s.data = tg_make_moons(&s.rng, SAMPLES, 0.1);
    s.model = tg_mlp_new(&s.rng, TG_F32, 3, (const int64_t[]){2, HIDDEN, 1}, TG_ACT_TANH, -1);
    tg_tensor *params[4];
    int n_params = tg_model_params(s.model, params, 4);
    s.opt = tg_adam_new(n_params, params, 0.01);
    s.batches = tg_batches_new(s.data, BATCH, TG_F32, TG_ENCODE_INDEX);
    cr_assert(s.data && s.model && s.opt && s.batches, "%s", tg_last_error_message());
    cr_assert_eq(tg_batches_shuffle(s.batches, &s.rng), TG_OK);
    s.tape = tg_tape_new();
    previous_tape = tg_tape_use(s.tape);

    /* Errors would surface as NaN losses or NULL tensors; in return mode
     * they are counted below instead of aborting mid-loop. */
    tg_set_error_mode(TG_ERRORS_RETURN);
    double first_loss = soak_step(&s);
    tg_tape_stats first = tg_tape_get_stats(s.tape);
    cr_assert_gt(first.system_allocs, 0, "the first step grows the tape");

    long rss_before = -1;
    double loss = first_loss, warm_loss = 0;
    for (int step = 1; step < SOAK_STEPS; step++) {
        loss = soak_step(&s);
        tg_tape_stats stats = tg_tape_get_stats(s.tape);
        if (stats.system_allocs != first.system_allocs || stats.bytes_reserved != first.bytes_reserved)
            cr_assert_fail("step %d: %zu system allocations and %zu bytes reserved, after the first step %zu and "
                           "%zu",
                           step, stats.system_allocs, stats.bytes_reserved, first.system_allocs,
                           first.bytes_reserved);
        if (step == WARMUP_STEPS) {
            rss_before = resident_pages();
            warm_loss = loss;
        }
    }
    long rss_after = resident_pages();
    cr_assert_eq(tg_last_error(), TG_OK, "an error during the run: %s", tg_last_error_message());
    cr_assert_eq(tg_optimizer_step_count(s.opt), SOAK_STEPS);
    cr_assert(loss == loss && loss < first_loss, "the run trained: loss %g -> %g", first_loss, loss);

    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    cr_log_info("soak: %d steps, tape %zu system allocations / %zu bytes reserved throughout; RSS %ld KiB after "
                "%d steps, %ld KiB after %d (loss %.4g -> %.4g -> %.4g)",
                SOAK_STEPS, first.system_allocs, first.bytes_reserved, rss_before * page_kib, WARMUP_STEPS,
                rss_after * page_kib, SOAK_STEPS, first_loss, warm_loss, loss);
    printf("soak: RSS %ld KiB after %d steps, %ld KiB after %d steps (tolerance %d pages)\n", rss_before * page_kib,
           WARMUP_STEPS, rss_after * page_kib, SOAK_STEPS, RSS_SLACK_PAGES);
    if (rss_before >= 0 && rss_after >= 0)
        cr_assert_leq(rss_after, rss_before + RSS_SLACK_PAGES, "RSS grew from %ld to %ld pages over %d steps",
                      rss_before, rss_after, SOAK_STEPS - WARMUP_STEPS);

    tg_tape_use(previous_tape);
    tg_tape_free(s.tape);
    tg_batches_free(s.batches);
    tg_optimizer_free(s.opt);
    tg_model_free(s.model);
    tg_dataset_free(s.data);
}
