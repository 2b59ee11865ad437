/* tests/trust/test_reproducibility.c — a training run is a function of its
 * seed and thread count: two runs give bitwise the same loss at every step,
 * and a run that stops, saves everything, frees everything, loads into fresh
 * objects and continues ends bitwise where the uninterrupted run ends.
 *
 * The run is tests/trust/training.h's (MLP 2-128-128-1 with Adam on
 * circles or moons, shuffled batches of 128). The thread pool splits work
 * statically (threads.h), so the same thread count must give the same bits;
 * different thread counts are not compared. */
#include <string.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"
#include "tests/trust/training.h"

enum { STEPS = 200, STOP_AT = 123 }; /* 123 = 30 epochs and 3 batches: mid-epoch */

static int previous_threads;
static void restore_threads(void) { tg_set_num_threads(previous_threads); }

/* Trains `steps` steps from `seed`, writing each loss into losses[]. */
static void train(uint64_t seed, bool moons, int steps, double *losses)
{
    trainer t;
    trainer_init(&t, seed, seed, moons, 128);
    for (int s = 0; s < steps; s++) losses[s] = trainer_step(&t);
    trainer_free(&t);
}

static void check_two_runs_agree(int threads, bool moons)
{
    previous_threads = tg_set_num_threads(threads);
    static double first[STEPS], second[STEPS], other_seed[STEPS];
    train(7, moons, STEPS, first);
    train(7, moons, STEPS, second);
    for (int s = 0; s < STEPS; s++)
        cr_assert_eq(memcmp(&first[s], &second[s], sizeof first[s]), 0,
                     "%d thread(s), step %d: loss %.9g in one run, %.9g in the other", threads, s, first[s],
                     second[s]);
    /* The comparison means something: the run learns, and depends on the seed. */
    cr_assert_lt(second[STEPS - 1], 0.5 * second[0], "the loss falls: %g -> %g", second[0], second[STEPS - 1]);
    train(8, moons, 1, other_seed);
    cr_assert_neq(other_seed[0], first[0], "another seed gives another first loss");
    cr_log_info("reproducibility (%d thread(s), %s): %d losses bitwise equal, %.6g -> %.6g", threads,
                moons ? "moons" : "circles", STEPS, first[0], first[STEPS - 1]);
}

Test(reproducibility, the_same_seed_gives_bitwise_the_same_losses_on_one_thread, .fini = restore_threads)
{
    check_two_runs_agree(1, true);
}

Test(reproducibility, the_same_seed_gives_bitwise_the_same_losses_on_two_threads, .fini = restore_threads)
{
    check_two_runs_agree(2, false);
}

/* Trains STOP_AT steps, saves, frees everything, loads into a fresh
 * trainer built from the same seed, trains the remaining steps; compares
 * with STEPS straight steps: every later loss and every final parameter. */
static void check_resume(int threads, bool moons)
{
    previous_threads = tg_set_num_threads(threads);
    char dir[64];
    make_temp_dir(dir, sizeof dir);

    trainer straight;
    trainer_init(&straight, 21, 21, moons, 128);
    static double straight_losses[STEPS];
    for (int s = 0; s < STEPS; s++) straight_losses[s] = trainer_step(&straight);

    trainer before;
    trainer_init(&before, 21, 21, moons, 128);
    for (int s = 0; s < STOP_AT; s++) trainer_step(&before);
    trainer_save(&before, dir);
    trainer_free(&before);

    /* A fresh trainer over the same data but with another run seed: the
     * weights, Adam's state, the data order and the rng must all come from
     * the files, none from a lucky identical construction. */
    trainer resumed;
    trainer_init(&resumed, 21, 999, moons, 128);
    trainer_load(&resumed, dir);
    for (int s = STOP_AT; s < STEPS; s++) {
        double loss = trainer_step(&resumed);
        cr_assert_eq(memcmp(&loss, &straight_losses[s], sizeof loss), 0,
                     "%d thread(s), step %d after resuming at %d: loss %.9g, straight run %.9g", threads, s, STOP_AT,
                     loss, straight_losses[s]);
    }
    expect_same_parameters(resumed.model, straight.model, "resumed vs straight");
    cr_assert_eq(tg_optimizer_step_count(resumed.opt), STEPS);
    cr_log_info("reproducibility (%d thread(s)): resumed at step %d of %d, parameters bitwise equal", threads,
                STOP_AT, STEPS);
    trainer_free(&resumed);
    trainer_free(&straight);
    remove_temp_dir(dir);
}

Test(reproducibility, a_resumed_run_ends_bitwise_where_the_straight_run_ends_on_one_thread,
     .fini = restore_threads)
{
    check_resume(1, false);
}

Test(reproducibility, a_resumed_run_ends_bitwise_where_the_straight_run_ends_on_two_threads,
     .fini = restore_threads)
{
    check_resume(2, true);
}
