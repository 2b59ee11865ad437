#!/bin/sh
# Times tapegrad's bench_mlp and its PyTorch peer (torch_mlp.py, a benchmark
# peer only, never a dependency) on the same MLPs in the same run, for 1 and 2
# threads, and prints both and the ratio of epoch times torch / tapegrad
# (above 1: tapegrad is faster). The two programs take turns for ROUNDS rounds
# (default 1), one tapegrad run after each torch run (one per OpenBLAS core
# type and torch setting), and each keeps its best median, so that a burst of
# load from elsewhere on the machine does not land on one side only.
#
# Usage: bench/peers/run_torch_mlp.sh [path/to/bench_mlp] [--quick|--full]
#        (default bench_mlp: build/bench/bench_mlp; MODEL=small|large|all)
# Needs /usr/bin/python3 with torch and numpy (Debian: python3-torch); skips
# without them. Torch's matrix products go through libblas.so.3: with
# libopenblas-dev installed that is OpenBLAS, otherwise the slow reference
# BLAS; the thread count is given to both torch and OpenBLAS, and OpenMP's
# idle threads sleep (OMP_WAIT_POLICY=PASSIVE) rather than spin, without
# which torch's OpenMP and OpenBLAS's threads fight over the cores (torch
# large on 2 threads: 46 ms per step spinning, 21 ms passive).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-build/bench/bench_mlp}
mode=${2:-}
model=${MODEL:-all}
python=${PYTHON:-/usr/bin/python3}
. "$here/torch_peer.sh"
torch_peer_check run_torch_mlp "$bench" "$python"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The OpenBLAS kernel family torch's products use (see openblas_core.sh),
# asked of a two-line program when a C compiler and OpenBLAS are at hand.
OPENBLAS_CORES=${OPENBLAS_CORES:-}
if [ -z "$OPENBLAS_CORES" ] && printf 'char *openblas_get_corename(void);\n#include <stdio.h>\nint main(void){puts(openblas_get_corename());return 0;}\n' |
        gcc -x c - -o "$work/corename" -lopenblas 2>/dev/null; then
    printf '#!/bin/sh\nexec "%s"\n' "$work/corename" >"$work/core"
    chmod +x "$work/core"
    . "$here/openblas_core.sh"
    openblas_pick_cores "$work/core"
fi
OPENBLAS_CORES=${OPENBLAS_CORES:-default}

# One tapegrad run right after each torch run, so both sides get as many
# runs, at the same moments. Each side keeps its best, and on a machine whose
# speed drifts by tens of percent, the best of more runs is lower: with one
# tapegrad run per round against one torch run per OpenBLAS core type and
# setting (8 per round on 2 threads with four core types), the comparison
# leaned toward torch.
tapegrad_turn() {
    "$bench" --model "$model" $mode "$1" >>"$work/tapegrad.txt"
}

rounds=${ROUNDS:-1}
round=0
while [ "$round" -lt "$rounds" ]; do
    for t in 1 2; do
        for core in $OPENBLAS_CORES; do
            # torch's plain setting: its pool and OpenBLAS both get t threads.
            OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
                OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
                "$python" "$here/torch_mlp.py" --model "$model" $mode "$t" >>"$work/torch.txt"
            tapegrad_turn "$t"
            # With 2 cores, torch is fastest leaving them to OpenBLAS: one
            # intra-op thread, two BLAS threads. The best of both is kept.
            if [ "$t" -gt 1 ]; then
                OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=$t \
                    OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} \
                    "$python" "$here/torch_mlp.py" --model "$model" $mode --intra-op-threads 1 "$t" \
                    >>"$work/torch.txt"
                tapegrad_turn "$t"
            fi
        done
    done
    round=$((round + 1))
done
grep -h '^# .*data:' "$work/tapegrad.txt" "$work/torch.txt" | sort -u

# Best (smallest) median per (model threads batch), then join in tapegrad's order.
awk '
    /^#/ { next }
    {
        key = $1 " " $2 " " $3
        if (FILENAME ~ /torch/) {
            peer_runs[key]++
            if (!(key in peer) || $5 < peer[key]) { peer[key] = $5; peer_acc[key] = $8 }
            next
        }
        our_runs[key]++
        if (!(key in ours)) { order[n++] = key; ours[key] = $5; us[key] = $4; acc[key] = $8 }
        if ($5 < ours[key]) { ours[key] = $5; us[key] = $4; acc[key] = $8 }
    }
    END {
        printf "%-6s %-3s %-5s %12s %14s %14s %9s %9s %9s\n", "model", "thr", "batch", "tg us/step", "tapegrad s/ep", "torch s/ep", "torch/tg", "tg acc%", "torch acc%"
        for (i = 0; i < n; i++) {
            split(order[i], f, " ")
            if (peer[order[i]] > 0)
                printf "%-6s %-3s %-5s %12.1f %14.3f %14.3f %9.2f %9s %9s\n", f[1], f[2], f[3], us[order[i]], ours[order[i]], peer[order[i]], peer[order[i]] / ours[order[i]], acc[order[i]], peer_acc[order[i]]
        }
        for (i = 0; i < n; i++)
            if (peer[order[i]] > 0)
                printf "# best of %d tapegrad and %d torch runs: %s\n", our_runs[order[i]], peer_runs[order[i]], order[i]
    }' "$work/torch.txt" "$work/tapegrad.txt"
