/* gemm_pair — tapegrad's GEMM and OpenBLAS's on one product, on one thread,
 * in one process, samples taking turns, for comparison only (OpenBLAS is
 * never a dependency of tapegrad). Prints bench_gemm's line for each side,
 * after the side's name, medians of SAMPLES samples:
 *   tapegrad dtype 1 op m n k gflops
 *   openblas dtype 1 op m n k gflops
 *
 * Why one process: this machine's slow phases move a whole run by 20-30%, so
 * two programs timed one after the other can land in different phases, and
 * each side's best of several runs then compares two different draws. Here
 * sample i of one side runs right after sample i of the other (the order
 * alternating), so both sides see the same phases and the ratio of the
 * medians is the ratio of the code. One thread only: the two libraries'
 * thread pools would compete for the cores.
 *
 * With --batch N each side computes N such products, stored one after the
 * other: tapegrad in one tg_gemm_batch_* call, OpenBLAS in a loop of N calls;
 * the lines then end in "xN" after k (flops counted for the whole batch).
 *
 * Usage: OPENBLAS_NUM_THREADS=1 gemm_pair [--quick] [--batch N] --only DTYPE:OP:MxNxK
 * Built by bench/peers/run_openblas.sh, against the tapegrad it compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "../tapegrad_product.h"
#include "openblas_product.h"
#include "tapegrad/threads.h"

enum { SAMPLES = 11 };

void openblas_set_num_threads(int threads); /* OpenBLAS's, not in every cblas.h */

/* One timed unit of a side: one product, or a batch (batch > 0). */
static void run_side(bool tapegrad, int batch, bool f64, const bench_shape *s, const void *a, const void *b, void *c)
{
    if (batch > 0)
        (tapegrad ? tapegrad_batch_product : openblas_batch_product)(f64, s, batch, a, b, c);
    else
        (tapegrad ? tapegrad_product : openblas_product)(f64, s, a, b, c);
}

int main(int argc, char **argv)
{
    double sample_flops = 2e9;
    bench_product p;
    bool have_product = false;
    int batch = 0; /* 0: one product, no batch call */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            sample_flops = 2e8;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
            batch = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && bench_parse_product(argv[i + 1], &p)) {
            have_product = true;
            i++;
        } else {
            have_product = false;
            break;
        }
    }
    if (!have_product) {
        fprintf(stderr, "usage: gemm_pair [--quick] [--batch N] --only DTYPE:OP:MxNxK\n");
        return 2;
    }
    tg_set_num_threads(1);
    openblas_set_num_threads(1);
    srand(1);
    size_t items = batch > 0 ? (size_t)batch : 1;
    void *a = bench_random_matrix("gemm_pair", p.f64, items * (size_t)p.m * (size_t)p.k);
    void *b = bench_random_matrix("gemm_pair", p.f64, items * (size_t)p.k * (size_t)p.n);
    void *c = bench_random_matrix("gemm_pair", p.f64, items * (size_t)p.m * (size_t)p.n);
    const bench_shape shape = {p.op, p.m, p.n, p.k};
    double flops = 2.0 * p.m * p.n * p.k * (double)items;
    int reps = (int)(sample_flops / flops) + 1;
    run_side(true, batch, p.f64, &shape, a, b, c); /* warm-up: buffers, caches */
    run_side(false, batch, p.f64, &shape, a, b, c);
    double ours[SAMPLES], peer[SAMPLES];
    for (int sample = 0; sample < SAMPLES; sample++)
        for (int turn = 0; turn < 2; turn++) {
            bool tapegrad_turn = (turn == 0) == (sample % 2 == 0);
            double t0 = now_seconds();
            for (int r = 0; r < reps; r++) run_side(tapegrad_turn, batch, p.f64, &shape, a, b, c);
            double gflops = flops * reps / (now_seconds() - t0) * 1e-9;
            if (tapegrad_turn) ours[sample] = gflops; else peer[sample] = gflops;
        }
    const char *dtype = p.f64 ? "f64" : "f32";
    char suffix[16] = "";
    if (batch > 0) snprintf(suffix, sizeof suffix, "x%d", batch);
    printf("tapegrad %s 1 %s %d %d %d%s %.1f\n", dtype, p.op, p.m, p.n, p.k, suffix, median(ours, SAMPLES));
    printf("openblas %s 1 %s %d %d %d%s %.1f\n", dtype, p.op, p.m, p.n, p.k, suffix, median(peer, SAMPLES));
    free(a), free(b), free(c);
    return 0;
}
